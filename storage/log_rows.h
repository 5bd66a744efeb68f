/*
 * Log records as rows: the encoding the collector hands to the writer, the
 * decoding that rebuilds a record exactly as received, and the readers the
 * query API uses.
 *
 * A request becomes rows of a batch (batch.h): one per valid log record in
 * stream OPG_STREAM_LOGS (the columns of table logs, in order), one per
 * distinct resource + scope ("origin", shared with spans), and one per
 * correlation ID a record or its resource carries. The payload is the whole
 * LogRecord, nothing cleared: the columns only serve search.
 *
 * A log "entry", as the readers write it, is the JSON object
 *   {"service":"...","resource":{..},"resourceSchemaUrl":"..","scope":{..},
 *    "scopeSchemaUrl":"..","record":{..}}
 * with the resource, scope and record in OTLP/JSON (otlp_json.h) and the
 * schema URLs only when not empty.
 */
#ifndef OPG_LOG_ROWS_H
#define OPG_LOG_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "arena.h"
#include "batch.h"
#include "buf.h"
#include "codec.h"
#include "jsonw.h"
#include "otlp.h"

/* The body column holds at most this many bytes of the body's text. */
#define OPG_LOG_BODY_TEXT_MAX 4096

/*
 * Validates and encodes every log record of req into b (freshly initialised,
 * signal OPG_SIGNAL_LOGS). A record whose trace_id is neither empty nor 16
 * bytes, or whose span_id is neither empty nor 8 bytes, is counted in
 * b->rejected and left out. req is borrowed. Returns 0, or -1 if encoding
 * failed (the batch must then be discarded).
 */
int opg_logs_encode(struct opg_batch *b,
                    const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req,
                    struct opg_codec *codec, const struct opg_ingest_opts *o);

/*
 * Rebuilds the LogRecord a row's payload was made from, allocated from arena
 * (which owns it). scratch is reused between calls. Returns NULL if the
 * payload is corrupt or the arena is exhausted.
 */
Opentelemetry__Proto__Logs__V1__LogRecord *opg_log_rows_decode(struct opg_arena *arena,
                                                               struct opg_codec *codec,
                                                               const uint8_t *payload, size_t len,
                                                               struct opg_buf *scratch);

/*
 * Writes ONE JSON array value to w: the entries (see above) of the log
 * records whose trace_id is one of trace_ids OR whose record_id is one of
 * record_ids, with time_ns in [start_ns, end_ns] (0 and INT64_MAX for no
 * bound), in ascending time order. When more than limit match, the newest
 * limit are written and *truncated set (else cleared). The ID arrays are
 * borrowed; either may be empty. Uses indexes logs_trace and logs_record.
 * Returns 0, or -1 with err filled; w may then hold a partial value, and the
 * caller discards its buffer.
 */
int opg_logs_write_for(PGconn *conn, struct opg_codec *codec, const uint8_t (*trace_ids)[16],
                       size_t n_traces, const uint8_t (*record_ids)[16], size_t n_records,
                       int64_t start_ns, int64_t end_ns, size_t limit, struct opg_jw *w,
                       bool *truncated, char *err, size_t errlen);

/* A record attribute that must equal value, compared as text (see opg_logs_search). */
struct opg_log_attr {
    const char *key;   /* borrowed */
    const char *value; /* borrowed */
};

/* What opg_logs_search looks for. Every pointer is borrowed. */
struct opg_log_search {
    const char *service;       /* exact service.name, or NULL for any */
    int min_severity;          /* severity_number at least this; 0 for any */
    const uint8_t *trace_id;   /* 16 bytes, or NULL for any */
    int64_t start_ns, end_ns;  /* time_ns within [start_ns, end_ns] */
    const char *body_contains; /* case-insensitive substring of the body text, or NULL */
    const struct opg_log_attr *attrs;
    size_t n_attrs;
    size_t limit;    /* entries per page, at least 1 */
    size_t max_scan; /* candidate rows decoded for the attribute filters, at most */
    /* Keyset pagination: only entries strictly older than (time_ns, record_id). */
    bool after;
    int64_t after_time_ns;
    uint8_t after_record_id[16];
};

/* Where a page of opg_logs_search ended. */
struct opg_log_page {
    size_t n;  /* entries written */
    bool more; /* there may be more: continue after next_* */
    int64_t next_time_ns;
    uint8_t next_record_id[16];
    bool scan_limit_reached; /* stopped after max_scan candidates; next_* resumes there */
};

/*
 * Writes ONE JSON array value to w: the newest entries matching q, newest
 * first (ties by record_id, descending), at most q->limit, and fills page.
 * Service, severity, trace ID, time and body text are filtered in SQL;
 * attribute filters are applied to the decoded records, with strings
 * compared as they are, integers, doubles and booleans as their text
 * ("42", "1.5", "true") and other values never matching. Returns 0, or -1
 * with err filled (w may then hold a partial value).
 */
int opg_logs_search(PGconn *conn, struct opg_codec *codec, const struct opg_log_search *q,
                    struct opg_jw *w, struct opg_log_page *page, char *err, size_t errlen);

#endif
