/*
 * A batch: the rows one export request becomes, ready for the writer.
 *
 * Encoders (spans.c, logs.c, metrics.c) run on the HTTP threads and append
 * binary COPY tuples to the batch's streams, one stream per staging table.
 * The writer streams each into its staging table and merges it into the
 * real tables in a fixed order (writer.c), so every signal shares one queue,
 * one transaction and one idempotent merge.
 */
#ifndef OPG_BATCH_H
#define OPG_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "codec.h"
#include "otlp.h"

#define OPG_NS_PER_DAY         (86400LL * 1000000000LL)
#define OPG_MAX_DAYS_PER_BATCH 512
/* Past this many distinct operations in one request, duplicates are left to
 * the database to drop. */
#define OPG_MAX_OPS_PER_BATCH 64
/* Distinct (correlation ID, ref, day) rows remembered per request; past
 * three quarters of this, duplicates are left to the database to drop. */
#define OPG_CORR_SEEN_SLOTS 1024

/*
 * The streams, in the order the writer merges them: what others refer to
 * (origins, series) first. Each names a staging table of migrations/.
 */
enum opg_stream {
    OPG_STREAM_ORIGINS,      /* origins_stage: id, service, body */
    OPG_STREAM_SERIES,       /* series_stage: see 002_logs_metrics.sql */
    OPG_STREAM_SPANS,        /* spans_stage: the columns of spans */
    OPG_STREAM_LOGS,         /* logs_stage: the columns of logs */
    OPG_STREAM_POINTS,       /* points_stage: the columns of metric_points */
    OPG_STREAM_EXEMPLARS,    /* exemplars_stage: the columns of exemplars */
    OPG_STREAM_CORRELATIONS, /* the columns of correlations (not staged: writer.c) */
    OPG_STREAM_OPERATIONS,   /* service, name, kind (not staged) */
    /* spans in blocks (migration 013): the parts and RED rows of the blocks
     * really inserted are written with them (writer.c) */
    OPG_STREAM_PARTS,  /* the columns of trace_parts (services joined by U+001F) */
    OPG_STREAM_RED,    /* block_id and the columns of red */
    OPG_STREAM_BLOCKS, /* the columns of span_blocks */
    OPG_STREAM_DICTS,  /* block_dicts rows the blocks need (dicts.h) */
    OPG_STREAM_COUNT
};

/* What correlations.kind says ref is. */
#define OPG_CORR_TRACE 1 /* ref = a trace ID: the trace carries the correlation ID */
#define OPG_CORR_LOG   2 /* ref = a log record_id: a log without a trace carries it */

/* How encoders file items into days, and which attributes correlate. */
struct opg_ingest_opts {
    int64_t now_ns;
    int64_t accept_past_ns;       /* times older than now - this go to today's partition */
    int64_t accept_future_ns;     /* times later than now + this go to today's partition */
    const char *const *corr_keys; /* attribute keys whose values are correlation IDs */
    size_t n_corr_keys;
    int max_corr_len; /* longer values are not indexed */
    /* The request as received, when it came as protobuf (else NULL): a block
     * that holds the whole request stores these bytes instead of packing
     * the decoded request again. */
    const uint8_t *raw_body;
    size_t raw_len;
};

struct opg_batch {
    enum opg_signal signal;
    struct opg_buf rows[OPG_STREAM_COUNT]; /* binary COPY tuples, no header */
    size_t n_rows[OPG_STREAM_COUNT];
    size_t n_items;                       /* spans, log records or data points accepted */
    size_t rejected;                      /* items refused (partial success) */
    char reject_msg[200];                 /* why the first one was refused */
    int32_t days[OPG_MAX_DAYS_PER_BATCH]; /* distinct days the rows fall in */
    int n_days;
    uint64_t ops[OPG_MAX_OPS_PER_BATCH]; /* hashes of the operations rows added */
    size_t n_ops;
    /* hashes of the correlations rows added (open addressing; 0 = free): the
     * spans of a trace mostly carry the same ID, and one row per trace will do */
    uint64_t corr_seen[OPG_CORR_SEEN_SLOTS];
    size_t n_corr_seen;
    /* origins written by this batch, remembered once it is committed */
    int64_t origins_added[OPG_MAX_OPS_PER_BATCH];
    size_t n_origins_added;
};

void opg_batch_init(struct opg_batch *b, enum opg_signal signal);
void opg_batch_release(struct opg_batch *b);
/* Bytes held, for the writer's queue bound. */
size_t opg_batch_bytes(const struct opg_batch *b);

/*
 * A batch as bytes, for the spool: appended to out. opg_batch_deserialize
 * fills a freshly initialised batch from such bytes and refuses (-1) any
 * that do not parse exactly.
 */
void opg_batch_serialize(const struct opg_batch *b, struct opg_buf *out);
int opg_batch_deserialize(struct opg_batch *b, const void *p, size_t n);

/*
 * Origins and operations are written once and then referred to: after a
 * batch is committed, the writer calls this so that later batches of this
 * process leave those rows out (a bounded cache; what it forgets is simply
 * written again, and dropped by the database as a duplicate).
 */
void opg_batch_remember_committed(const struct opg_batch *b);
/* Whether the operations row of hash h is known to be committed. */
bool opg_batch_operation_known(uint64_t h);

/* Counts one refused item, keeping the first reason. */
void opg_batch_reject(struct opg_batch *b, const char *why);

/*
 * The partition day of a time: its UTC day if within the accepted window,
 * else the day it arrived. Records the day in b.
 */
int32_t opg_batch_day(struct opg_batch *b, uint64_t time_ns, const struct opg_ingest_opts *o);
/* That day alone, recorded nowhere. */
int32_t opg_ingest_day(uint64_t time_ns, const struct opg_ingest_opts *o);

/* ---- binary COPY tuples ----------------------------------------------------- */

/* Starts a tuple of ncols fields in stream s (and counts the row). */
struct opg_buf *opg_batch_row(struct opg_batch *b, enum opg_stream s, int ncols);
void opg_copy_int8(struct opg_buf *r, int64_t v);
void opg_copy_int4(struct opg_buf *r, int32_t v);
void opg_copy_int2(struct opg_buf *r, int16_t v);
void opg_copy_bool(struct opg_buf *r, bool v);
void opg_copy_float8(struct opg_buf *r, double v);
void opg_copy_null(struct opg_buf *r);
void opg_copy_bytes(struct opg_buf *r, const void *p, size_t n);
/* Text: made valid UTF-8 without NULs (a text column refuses anything else). */
void opg_copy_text(struct opg_buf *r, const char *s, size_t n);
/* jsonb in binary COPY: a version byte, then JSON text. */
void opg_copy_jsonb(struct opg_buf *r, const char *json, size_t n);
/* A codec payload (format byte + zstd) of a protobuf message. */
int opg_copy_payload(struct opg_buf *r, struct opg_codec *codec, const ProtobufCMessage *msg,
                     struct opg_buf *scratch);
/* Marks where a length-prefixed field starts, to be closed by opg_copy_end_field. */
size_t opg_copy_begin_field(struct opg_buf *r);
void opg_copy_end_field(struct opg_buf *r, size_t at);

/* ---- shared by the signals --------------------------------------------------- */

/*
 * Adds the origin row for a resource + scope pair and returns its ID: the
 * 64-bit hash of the encoded origin (a ResourceSpans holding the resource,
 * its schema URL and one ScopeSpans with the scope and its schema URL; logs
 * and metrics share the wire layout). service is the resource's service.name.
 */
int opg_batch_add_origin(struct opg_batch *b,
                         Opentelemetry__Proto__Resource__V1__Resource *resource,
                         const char *resource_schema_url,
                         Opentelemetry__Proto__Common__V1__InstrumentationScope *scope,
                         const char *scope_schema_url, struct opg_codec *codec,
                         struct opg_buf *scratch, int64_t *id);

/* The resource's service.name as (ptr, len); "" when absent. */
ProtobufCBinaryData opg_resource_service(const Opentelemetry__Proto__Resource__V1__Resource *r);

/*
 * Adds a correlations row for every configured key found among attrs (and
 * among resource attributes, when res is not NULL): kind and ref say what
 * carries the ID (see OPG_CORR_*), time_ns and day when it was seen. String
 * and integer values count; an ID is added once per call.
 */
void opg_batch_add_correlations(struct opg_batch *b, const struct opg_ingest_opts *o,
                                Opentelemetry__Proto__Common__V1__KeyValue *const *attrs,
                                size_t n_attrs,
                                const Opentelemetry__Proto__Resource__V1__Resource *res, int kind,
                                const uint8_t *ref, size_t ref_len, int64_t time_ns, int32_t day);

/*
 * The same for a span of a trace part (kind OPG_CORR_TRACE, ref the 16-byte
 * trace ID): the first ID found becomes the part's, *part_corr (its
 * opg_corr_hash), when the part has none yet (0); the part's ID gets no
 * correlations row (migration 014), any other ID does.
 */
void opg_batch_add_part_correlations(struct opg_batch *b, const struct opg_ingest_opts *o,
                                     Opentelemetry__Proto__Common__V1__KeyValue *const *attrs,
                                     size_t n_attrs,
                                     const Opentelemetry__Proto__Resource__V1__Resource *res,
                                     const uint8_t *trace_id, int64_t time_ns, int32_t day,
                                     uint64_t *part_corr);

/*
 * trace_parts.corr_hash of a correlation ID (its text as stored in
 * correlations.corr_id): 64 bits, never 0. Stored: never change it.
 */
uint64_t opg_corr_hash(const char *id, size_t len);

/* Appends s[0..n) made fit for a text column: invalid UTF-8 and NUL become U+FFFD. */
void opg_text_sanitize(struct opg_buf *out, const char *s, size_t n);
bool opg_text_clean(const char *s, size_t n);

/* 64-bit FNV-1a, and a 128-bit hash (two independent 64-bit lanes) for record IDs. */
uint64_t opg_hash64(const void *p, size_t n);
void opg_hash128(const void *p, size_t n, uint8_t out[16]);
/* 64 bits, 8 bytes at a time; its values are stored (trace_parts.corr_hash,
 * block_dicts.id): they must never change. */
uint64_t opg_hash64_wide(const void *p, size_t n);
/*
 * 64 bits, 64 bytes at a time in four lanes: block IDs (every byte of every
 * request) and the check of a 0x03 payload, stored too: never to change.
 */
uint64_t opg_hash64_fast(const void *p, size_t n);

#endif
