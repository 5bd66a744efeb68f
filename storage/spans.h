/*
 * Spans as rows: the encoding the collector hands to the writer, and the
 * decoding the query API uses to rebuild the spans exactly as received.
 *
 * A request becomes binary COPY tuples for two staging tables (see
 * writer.c): one tuple per span, and one per distinct resource + scope
 * ("origin"). Encoding runs on the HTTP threads, so the writer threads only
 * stream bytes into PostgreSQL.
 */
#ifndef OPG_SPANS_H
#define OPG_SPANS_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "codec.h"
#include "otlp.h"

#define OPG_NS_PER_DAY         (86400LL * 1000000000LL)
#define OPG_MAX_DAYS_PER_BATCH 512

/* Where a span's day comes from (see migrations/001_traces.sql). */
struct opg_span_window {
    int64_t now_ns;
    int64_t accept_past_ns;   /* starts older than now - this go to today's partition */
    int64_t accept_future_ns; /* starts later than now + this go to today's partition */
};

/* The rows of one request. Owned by whoever holds it; release frees them. */
struct opg_span_batch {
    struct opg_buf span_rows;   /* binary COPY tuples for spans_stage */
    struct opg_buf origin_rows; /* binary COPY tuples for origins_stage */
    size_t n_spans;
    size_t n_origins;
    int32_t days[OPG_MAX_DAYS_PER_BATCH]; /* distinct days of the spans */
    int n_days;
    size_t rejected;      /* spans refused (invalid IDs) */
    char reject_msg[200]; /* why the first one was refused */
};

void opg_span_batch_init(struct opg_span_batch *b);
void opg_span_batch_release(struct opg_span_batch *b);

/*
 * Validates and encodes every span of req into b (which must be freshly
 * initialised). Spans with invalid IDs are counted in b->rejected and left
 * out; the rest are encoded. Returns 0, or -1 if encoding failed (the batch
 * must then be discarded).
 */
int opg_spans_encode(
    struct opg_span_batch *b,
    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req,
    struct opg_codec *codec, const struct opg_span_window *win);

/* A stored span row, as the reader fetches it (all pointers borrowed). */
struct opg_span_row {
    int64_t start_ns;
    int64_t duration_ns;
    int64_t origin_id;
    int kind;
    int status;
    const uint8_t *trace_id;
    size_t trace_id_len;
    const uint8_t *span_id;
    size_t span_id_len;
    const uint8_t *parent_span_id; /* NULL for a root span */
    size_t parent_span_id_len;
    const char *name;
    size_t name_len;
    const uint8_t *payload;
    size_t payload_len;
};

/*
 * Rebuilds the Span a row was made from, allocated from arena. scratch is
 * reused between calls. Returns NULL if the payload is corrupt or the arena
 * is exhausted.
 */
Opentelemetry__Proto__Trace__V1__Span *opg_spans_decode(struct opg_arena *arena,
                                                        struct opg_codec *codec,
                                                        const struct opg_span_row *row,
                                                        struct opg_buf *scratch);

/*
 * Rebuilds an origin: a ResourceSpans holding the resource, its schema URL and
 * one ScopeSpans with the scope and its schema URL (no spans yet; n_spans 0
 * and spans NULL, for the caller to fill). NULL if corrupt.
 */
Opentelemetry__Proto__Trace__V1__ResourceSpans *
opg_origin_decode(struct opg_arena *arena, struct opg_codec *codec, const uint8_t *payload,
                  size_t len, struct opg_buf *scratch);

/* Appends s[0..n) made fit for a text column: invalid UTF-8 and NUL become U+FFFD. */
void opg_text_sanitize(struct opg_buf *out, const char *s, size_t n);

/* FNV-1a, 64 bits. */
uint64_t opg_hash64(const void *p, size_t n);

#endif
