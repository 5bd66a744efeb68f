/*
 * Spans in blocks: the encoding the collector hands to the writer, and the
 * decoding the query API uses to rebuild the spans exactly as received.
 *
 * A request becomes rows of a batch (batch.h): its spans are cut into
 * blocks (one day's spans, at most OPG_BLOCK_MAX_SPANS and 64 services per
 * block), each packed as one OTLP TracesData message and compressed as a
 * whole; a trace_parts row per trace and block sums up that trace's spans
 * in the block for queries (migration 013); RED rows, correlation IDs and
 * operations are added as before. Encoding runs on the HTTP threads, so the
 * writer threads only stream bytes into PostgreSQL.
 */
#ifndef OPG_SPANS_H
#define OPG_SPANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "batch.h"
#include "buf.h"
#include "codec.h"
#include "otlp.h"
#include "otlp_scan.h"

/*
 * Message nesting a stored block is read with at most: far above what the
 * collector accepts (6 + 2 x --max-anyvalue-depth), low enough for
 * protobuf-c's recursive unpack.
 */
#define OPG_BLOCK_MAX_DEPTH 300

/* Spans per block at most: what reading one trace out of a block may cost. */
#define OPG_BLOCK_MAX_SPANS 2048

/*
 * Validates and encodes every span of req into b (which must be freshly
 * initialised). Spans with invalid IDs are counted in b->rejected and left
 * out; the rest are encoded. Returns 0, or -1 if encoding failed (the batch
 * must then be discarded).
 */
int opg_spans_encode(
    struct opg_batch *b,
    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req,
    struct opg_codec *codec, const struct opg_ingest_opts *o);

/*
 * opg_spans_encode for a request read by opg_trace_scan_read, when the
 * request is stored as one block of its raw body (o->raw_body): the rows are
 * the same, byte for byte. Returns 0, -1 as opg_spans_encode, or 1 if the
 * request needs the full unpack (spans with invalid IDs, more than one day,
 * more than a block holds, no raw body), with b left untouched.
 */
int opg_spans_encode_scan(struct opg_batch *b, const struct opg_trace_scan *sc,
                          struct opg_codec *codec, const struct opg_ingest_opts *o);

/*
 * trace_parts.name_bloom: two bits of 64 per span name. A search for an
 * operation reads only parts whose bloom has the name's bits.
 */
uint64_t opg_span_name_bloom(const char *name, size_t len);

/*
 * Decodes a span_blocks payload: a TracesData message, read here as the
 * request type (same wire format), allocated from arena. scratch is reused
 * between calls. NULL if the payload is corrupt or the arena is exhausted.
 */
Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *
opg_block_decode(struct opg_arena *arena, struct opg_codec *codec, const uint8_t *payload,
                 size_t len, struct opg_buf *scratch);

/*
 * A set of span IDs as 64-bit values (open addressing; 0 marks a free slot,
 * an all-zero span ID is never stored): the readers count each span once
 * when a span was stored in two blocks. Zero-initialise; free with
 * opg_span_ids_release.
 */
struct opg_span_ids {
    uint64_t *slots;
    size_t cap; /* a power of two */
    size_t n;
};

/* Adds v (not 0); true if it was not there yet. */
bool opg_span_ids_add(struct opg_span_ids *s, uint64_t v);
bool opg_span_ids_has(const struct opg_span_ids *s, uint64_t v);
void opg_span_ids_release(struct opg_span_ids *s);

/* ---- spans as rows: the storage before migration 013, still read ---------- */

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

#endif
