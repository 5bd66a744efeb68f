/*
 * The OTLP/HTTP endpoint: request bodies in, answers out, following the
 * libmicrohttpd handler contract (state on the first call, body chunks on the
 * next ones, the answer once the upload is complete, cleanup in the
 * completion callback).
 */
#include "ack.h"
#include "collector.h"
#include "http.h"
#include "jsonw.h"
#include "dicts.h"
#include "log.h"
#include "otlp.h"
#include "stats.h"
#include "logs.h"
#include "metrics.h"
#include "signals.h"
#include "traces.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define INFLATE_CHUNK (64 * 1024)
/* Bytes of a body's buffer reserved from its Content-Length, at most. */
#define BODY_PRESIZE_MAX (1u << 20)

/* A refused body is read and dropped (keeping the connection) while it is at
 * most this many times the size limit; beyond, the connection is closed. */
#define DRAIN_FACTOR            4
#define GRPC_INVALID_ARGUMENT   3
#define GRPC_RESOURCE_EXHAUSTED 8
#define GRPC_UNAVAILABLE        14

enum req_state {
    REQ_RECEIVING,  /* reading the body */
    REQ_DISCARDING, /* the answer is decided (an error); the rest of the body is dropped */
    REQ_WAITING,    /* suspended until the writer has committed the data */
    REQ_ANSWERED,   /* status and body are ready to send */
};

struct ingest_req {
    struct collector *col;
    struct MHD_Connection *conn;
    enum req_state state;
    const struct opg_signal_route *route;
    bool json;
    bool compressed;
    bool inflate_done;
    z_stream zs;
    bool zs_live;
    struct opg_buf body;
    size_t discarded;    /* bytes dropped after the answer was decided */
    struct opg_ack *ack; /* while the data is queued; our reference */
    /* the answer */
    unsigned status;
    char message[256];
    size_t rejected;
    char reject_msg[200];
    int64_t received_ns;
};

static const struct opg_signal_route routes[] = {
    {"/v1/traces", OPG_SIGNAL_TRACES, opg_traces_decode, opg_traces_write_response},
    {"/v1/logs", OPG_SIGNAL_LOGS, opg_logs_decode, opg_logs_write_response},
    {"/v1/metrics", OPG_SIGNAL_METRICS, opg_metrics_decode, opg_metrics_write_response},
};

const struct opg_signal_route *opg_signal_route(enum opg_signal signal)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].signal == signal)
            return &routes[i];
    return NULL;
}

const struct opg_signal_route *opg_signal_route_by_path(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (!strcmp(path, routes[i].path))
            return &routes[i];
    return NULL;
}

int opg_ingest_submit(struct collector *col, struct opg_batch *batch, opg_write_done_fn *done,
                      void *ctx)
{
    if (col->cfg.discard) {
        /* as if committed: later batches need not carry the dictionaries and the
         * operations again, as with storage */
        opg_batch_remember_committed(batch);
        opg_dicts_committed(batch);
        opg_batch_release(batch);
        done(ctx, 0);
        return 0;
    }
    if (col->spool)
        return opg_spool_append(col->spool, batch, done, ctx);
    return opg_writer_submit(col->writer, batch, done, ctx);
}

enum reject_reason {
    R_DECODE,
    R_TOO_LARGE,
    R_MEDIA_TYPE,
    R_ENCODING,
    R_METHOD,
    R_NOT_FOUND,
    R_QUEUE_FULL,
    R_WRITE_FAILED,
    R_ACK_TIMEOUT,
    R_UNAUTHORIZED,
    R_COUNT
};

static struct opg_metric m_rejected[R_COUNT] = {
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"decode\"", OPG_COUNTER,
                    "Requests answered with an error, by reason."),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"too_large\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"media_type\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"encoding\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"method\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"not_found\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"queue_full\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"write_failed\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"ack_timeout\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"unauthorized\"", OPG_COUNTER, ""),
};
/* Per-signal counters, indexed by enum opg_signal. */
#define SIGNAL_METRICS(name, help)                                                                 \
    {                                                                                              \
        OPG_METRIC_INIT(name, "signal=\"traces\",transport=\"http\"", OPG_COUNTER, help),          \
            OPG_METRIC_INIT(name, "signal=\"logs\",transport=\"http\"", OPG_COUNTER, ""),          \
            OPG_METRIC_INIT(name, "signal=\"metrics\",transport=\"http\"", OPG_COUNTER, ""),       \
    }
static struct opg_metric m_requests[3] =
    SIGNAL_METRICS("otelpg_received_requests_total", "Export requests received.");
static struct opg_metric m_items[3] = SIGNAL_METRICS(
    "otelpg_received_items_total", "Items (spans, log records, data points) accepted for storage.");
static struct opg_metric m_items_rejected[3] = SIGNAL_METRICS(
    "otelpg_rejected_items_total", "Items refused inside accepted requests (partial success).");
static struct opg_metric m_bytes[3] =
    SIGNAL_METRICS("otelpg_received_bytes_total", "Request body bytes after decompression.");
static struct opg_histogram h_ack[3] = {
    OPG_HISTOGRAM_INIT("otelpg_export_duration_seconds", "signal=\"traces\"",
                       "Time from a complete request body to its answer (decode, queue, commit)."),
    OPG_HISTOGRAM_INIT("otelpg_export_duration_seconds", "signal=\"logs\"", ""),
    OPG_HISTOGRAM_INIT("otelpg_export_duration_seconds", "signal=\"metrics\"", ""),
};

void opg_ingest_register_metrics(void)
{
    for (int i = 0; i < R_COUNT; i++)
        opg_stats_register(&m_rejected[i]);
    for (int i = 0; i < 3; i++) {
        opg_stats_register(&m_requests[i]);
        opg_stats_register(&m_items[i]);
        opg_stats_register(&m_items_rejected[i]);
        opg_stats_register(&m_bytes[i]);
        opg_stats_register_histogram(&h_ack[i]);
    }
}

/* ---- answers --------------------------------------------------------------- */

static int grpc_code_for(unsigned status)
{
    switch (status) {
    case MHD_HTTP_CONTENT_TOO_LARGE:
    case MHD_HTTP_TOO_MANY_REQUESTS:
        return GRPC_RESOURCE_EXHAUSTED;
    case MHD_HTTP_SERVICE_UNAVAILABLE:
        return GRPC_UNAVAILABLE;
    default:
        return GRPC_INVALID_ARGUMENT;
    }
}

/* A google.rpc.Status body, in the request's encoding (JSON when unknown). */
static enum MHD_Result answer_status(struct MHD_Connection *conn, unsigned status, bool json,
                                     const char *message, long long retry_after_ms)
{
    struct opg_buf b = OPG_BUF_INIT;
    char retry[24];
    const char *hdr = NULL;

    if (json) {
        struct opg_jw w;
        opg_jw_init(&w, &b);
        opg_jw_obj_begin(&w);
        opg_jw_kint(&w, "code", grpc_code_for(status));
        opg_jw_kstr(&w, "message", message);
        opg_jw_obj_end(&w);
    } else {
        Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
        size_t n;
        st.code = grpc_code_for(status);
        st.message = (char *)message;
        n = google__rpc__status__get_packed_size(&st);
        opg_buf_grow(&b, n);
        google__rpc__status__pack(&st, (uint8_t *)b.data);
        b.len = n;
    }
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE || status == MHD_HTTP_TOO_MANY_REQUESTS) {
        snprintf(retry, sizeof(retry), "%lld", (retry_after_ms + 999) / 1000);
        hdr = MHD_HTTP_HEADER_RETRY_AFTER;
    } else if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        snprintf(retry, sizeof(retry), "POST");
        hdr = MHD_HTTP_HEADER_ALLOW;
    }
    return opg_http_respond_buf_hdr(
        conn, status, json ? "application/json" : "application/x-protobuf", &b, hdr, retry);
}

static void decide(struct ingest_req *req, unsigned status, enum reject_reason why, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* Fixes the (error) answer of a request and counts it. */
static void decide(struct ingest_req *req, unsigned status, enum reject_reason why, const char *fmt,
                   ...)
{
    va_list ap;

    req->status = status;
    va_start(ap, fmt);
    vsnprintf(req->message, sizeof(req->message), fmt, ap);
    va_end(ap);
    opg_stats_add(&m_rejected[why], 1);
    OPG_LOG_EVERY(10, OPG_LOG_INFO, "ingest: %u %s", status, req->message);
}

static enum MHD_Result answer(struct ingest_req *req)
{
    struct opg_buf b = OPG_BUF_INIT;

    if (req->route)
        opg_stats_observe_ns(&h_ack[req->route->signal], opg_now_mono_ns() - req->received_ns);
    if (req->status != MHD_HTTP_OK)
        return answer_status(req->conn, req->status, req->json, req->message,
                             req->col->cfg.retry_after_ms);
    req->route->write_response(req->json, req->rejected, req->reject_msg, &b);
    return opg_http_respond_buf(req->conn, MHD_HTTP_OK,
                                req->json ? "application/json" : "application/x-protobuf", &b);
}

/* ---- the request's headers ------------------------------------------------- */

/* "application/x-protobuf; charset=..." → protobuf; returns -1 for other types. */
static int media_type(struct MHD_Connection *conn, bool *json)
{
    const char *ct =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n;

    if (!ct)
        return -1;
    n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == strlen("application/x-protobuf") && !strncasecmp(ct, "application/x-protobuf", n)) {
        *json = false;
        return 0;
    }
    if (n == strlen("application/json") && !strncasecmp(ct, "application/json", n)) {
        *json = true;
        return 0;
    }
    return -1;
}

/* identity → 0, gzip/deflate → 1, anything else → -1 */
static int content_encoding(struct MHD_Connection *conn)
{
    const char *ce =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);

    if (!ce || !*ce || !strcasecmp(ce, "identity"))
        return 0;
    if (!strcasecmp(ce, "gzip") || !strcasecmp(ce, "x-gzip") || !strcasecmp(ce, "deflate"))
        return 1;
    return -1;
}

/* ---- the body ---------------------------------------------------------------- */

static void too_large(struct ingest_req *req)
{
    decide(req, MHD_HTTP_CONTENT_TOO_LARGE, R_TOO_LARGE,
           "request body exceeds the limit of %lld bytes (after decompression)",
           req->col->cfg.max_body_size);
    req->state = REQ_DISCARDING;
    opg_buf_release(&req->body);
}

/* Inflates a chunk into the body, never past the limit: a compression bomb
 * stops at limit + 1 bytes. */
static void inflate_chunk(struct ingest_req *req, const char *data, size_t n)
{
    size_t limit = (size_t)req->col->cfg.max_body_size;

    if (!req->zs_live) {
        memset(&req->zs, 0, sizeof(req->zs));
        if (inflateInit2(&req->zs, 15 + 32) != Z_OK) { /* 15+32: gzip or zlib header */
            decide(req, MHD_HTTP_INTERNAL_SERVER_ERROR, R_DECODE, "cannot start inflating");
            req->state = REQ_DISCARDING;
            return;
        }
        req->zs_live = true;
    }
    req->zs.next_in = (Bytef *)data;
    req->zs.avail_in = (uInt)n;
    while (req->zs.avail_in > 0) {
        int rc;
        size_t room;

        if (req->inflate_done) {
            /* another gzip member follows (concatenated members are valid gzip) */
            if (inflateReset(&req->zs) != Z_OK)
                break;
            req->inflate_done = false;
        }
        room = limit + 1 - req->body.len;
        if (room > INFLATE_CHUNK)
            room = INFLATE_CHUNK;
        opg_buf_grow(&req->body, room);
        req->zs.next_out = (Bytef *)req->body.data + req->body.len;
        req->zs.avail_out = (uInt)room;
        rc = inflate(&req->zs, Z_NO_FLUSH);
        req->body.len += room - req->zs.avail_out;
        if (req->body.len > limit) {
            too_large(req);
            return;
        }
        if (rc == Z_STREAM_END) {
            req->inflate_done = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            decide(req, MHD_HTTP_BAD_REQUEST, R_DECODE, "invalid %s body: %s", "compressed",
                   req->zs.msg ? req->zs.msg : "corrupt data");
            req->state = REQ_DISCARDING;
            return;
        } else if (rc == Z_BUF_ERROR && req->zs.avail_out != 0) {
            break; /* needs more input */
        }
    }
}

/* Returns false when the connection should be dropped: a body being
 * discarded has gone on far past the limit. */
static bool take_chunk(struct ingest_req *req, const char *data, size_t n)
{
    if (req->state == REQ_DISCARDING) {
        req->discarded += n;
        return req->discarded / DRAIN_FACTOR <= (size_t)req->col->cfg.max_body_size;
    }
    if (req->state != REQ_RECEIVING)
        return true;
    if (req->compressed) {
        inflate_chunk(req, data, n);
        return true;
    }
    if (req->body.len + n > (size_t)req->col->cfg.max_body_size) {
        too_large(req);
        return true;
    }
    opg_buf_add(&req->body, data, n);
    return true;
}

/* ---- handing the body on ------------------------------------------------------ */

/* The writer (or the spool) is done with a request's data: committed, or on disk. */
static void write_done(void *ctx, int status)
{
    struct opg_ack *ack = ctx;

    opg_ack_complete(ack, status);
    opg_ack_release(ack);
}

void opg_ingest_ack_answer(void *ctx, enum opg_ack_outcome outcome)
{
    struct ingest_req *req = ctx;

    switch (outcome) {
    case OPG_ACK_STORED:
        break;
    case OPG_ACK_FAILED:
        decide(req, MHD_HTTP_SERVICE_UNAVAILABLE, R_WRITE_FAILED,
               "the data could not be stored; retry later");
        break;
    case OPG_ACK_TIMEOUT:
        /* The data stays queued and will be written; a retry is deduplicated. */
        decide(req, MHD_HTTP_SERVICE_UNAVAILABLE, R_ACK_TIMEOUT,
               "the database is slow or unavailable; retry later");
        break;
    case OPG_ACK_REFUSED:
        if (atomic_load(&req->col->stopping))
            decide(req, MHD_HTTP_SERVICE_UNAVAILABLE, R_QUEUE_FULL,
                   "the collector is shutting down; retry later");
        else
            decide(req, MHD_HTTP_SERVICE_UNAVAILABLE, R_QUEUE_FULL,
                   "the write queue is full; retry later");
        break;
    }
    req->state = REQ_ANSWERED;
    MHD_resume_connection(req->conn);
}

/* Decodes and queues the body; returns true if the connection was suspended. */
static bool process(struct ingest_req *req)
{
    struct collector *col = req->col;
    const struct opg_signal_route *route = req->route;
    struct opg_batch batch;
    char err[256];
    int status;

    if (req->zs_live && !req->inflate_done) {
        decide(req, MHD_HTTP_BAD_REQUEST, R_DECODE, "truncated compressed body");
        return false;
    }
    opg_stats_add(&m_requests[route->signal], 1);
    opg_stats_add(&m_bytes[route->signal], (int64_t)req->body.len);
    opg_batch_init(&batch, route->signal);
    status = route->decode(col, req->body.data, req->body.len, req->json, &batch, err, sizeof(err));
    opg_buf_release(&req->body);
    if (status != 0) {
        decide(req, (unsigned)status, status == MHD_HTTP_CONTENT_TOO_LARGE ? R_TOO_LARGE : R_DECODE,
               "%s", err);
        goto out;
    }
    if (batch.n_items + batch.rejected > (size_t)col->cfg.max_items) {
        decide(req, MHD_HTTP_CONTENT_TOO_LARGE, R_TOO_LARGE,
               "the request holds %zu items, more than the limit of %lld",
               batch.n_items + batch.rejected, col->cfg.max_items);
        goto out;
    }
    req->status = MHD_HTTP_OK;
    req->rejected = batch.rejected;
    snprintf(req->reject_msg, sizeof(req->reject_msg), "%s", batch.reject_msg);
    opg_stats_add(&m_items[route->signal], (int64_t)batch.n_items);
    opg_stats_add(&m_items_rejected[route->signal], (int64_t)batch.rejected);
    if (batch.n_items == 0)
        goto out;

    /* Suspend before queueing: the writer may finish before submit returns. */
    req->state = REQ_WAITING;
    MHD_suspend_connection(req->conn);
    req->ack = opg_ack_create(col->acks, req);
    if (opg_ingest_submit(col, &batch, write_done, req->ack) == 0)
        return true;
    /* refused: the write's reference is ours to drop */
    opg_ack_cancel(req->ack, OPG_ACK_REFUSED);
    opg_ack_release(req->ack);
    opg_batch_release(&batch);
    return true;
out:
    opg_batch_release(&batch);
    return false;
}

/* ---- the libmicrohttpd callbacks ---------------------------------------------- */

static struct ingest_req *new_req(struct collector *col, struct MHD_Connection *conn,
                                  void **req_cls)
{
    struct ingest_req *req = opg_xcalloc(1, sizeof(*req));

    req->col = col;
    req->conn = conn;
    req->state = REQ_RECEIVING;
    req->received_ns = opg_now_mono_ns();
    *req_cls = req;
    return req;
}

/*
 * Refuses a request by its headers but answers only once its body has been
 * read (and dropped), so that a keep-alive connection survives the error:
 * exporters reuse their connections.
 */
static enum MHD_Result refuse_after_body(struct collector *col, struct MHD_Connection *conn,
                                         void **req_cls, unsigned status, enum reject_reason why,
                                         bool json, const char *message)
{
    struct ingest_req *req = new_req(col, conn, req_cls);

    req->json = json;
    decide(req, status, why, "%s", message);
    req->state = REQ_DISCARDING;
    return MHD_YES;
}

static enum MHD_Result first_call(struct collector *col, struct MHD_Connection *conn,
                                  const char *url, const char *method, void **req_cls)
{
    const struct opg_signal_route *route = opg_signal_route_by_path(url);
    struct ingest_req *req;
    const char *cl;
    bool json = false;
    int enc;

    if (!route) {
        bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
        if (get && !strcmp(url, "/health"))
            return opg_http_health(conn, "otelpg-collector");
        if (get && !strcmp(url, "/ready") && col->cfg.discard) {
            struct opg_http_component c[1] = {
                {"discard", true, "benchmark mode: nothing is stored"}};
            return opg_http_ready(conn, c, 1);
        }
        if (get && !strcmp(url, "/ready")) {
            struct opg_http_component c[4] = {{"postgresql", false, ""},
                                              {"database_budget", true, ""},
                                              {"alerting", true, ""},
                                              {"spool", true, ""}};
            char budget[200];
            c[0].ok = opg_pg_monitor_ok(col->monitor, c[0].detail, sizeof(c[0].detail));
            /* reported, not enforced: over its budget, the collector still takes data */
            if (!opg_maintenance_budget_ok(col->maintenance, budget, sizeof(budget)))
                snprintf(c[1].detail, sizeof(c[1].detail), "over budget: %s", budget);
            else
                snprintf(c[1].detail, sizeof(c[1].detail), "%s", budget);
            c[2].ok = opg_alerts_status(col->alerts, c[2].detail, sizeof(c[2].detail));
            if (col->spool) {
                size_t used = opg_spool_bytes(col->spool);
                c[3].ok = used < (size_t)col->cfg.spool_max_size;
                snprintf(c[3].detail, sizeof(c[3].detail), "%zu of %lld bytes used; %s", used,
                         col->cfg.spool_max_size,
                         opg_spool_caught_up(col->spool) ? "all in PostgreSQL"
                                                         : "replaying into PostgreSQL");
            }
            return opg_http_ready(conn, c, col->spool ? 4 : 3);
        }
        if (get && !strcmp(url, "/metrics"))
            return opg_http_metrics(conn);
        return refuse_after_body(col, conn, req_cls, MHD_HTTP_NOT_FOUND, R_NOT_FOUND, true,
                                 "no such endpoint");
    }
    if (!opg_http_authorized(conn, col->cfg.ingest_token)) {
        opg_stats_add(&m_rejected[R_UNAUTHORIZED], 1);
        return opg_http_respond_unauthorized(conn);
    }
    if (strcmp(method, "POST") != 0)
        return refuse_after_body(col, conn, req_cls, MHD_HTTP_METHOD_NOT_ALLOWED, R_METHOD, true,
                                 "this endpoint takes POST");
    if (media_type(conn, &json) < 0)
        return refuse_after_body(col, conn, req_cls, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, R_MEDIA_TYPE,
                                 true,
                                 "Content-Type must be application/x-protobuf or application/json");
    enc = content_encoding(conn);
    if (enc < 0)
        return refuse_after_body(col, conn, req_cls, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, R_ENCODING,
                                 json, "Content-Encoding must be gzip, deflate or identity");
    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!enc && cl && strtoull(cl, NULL, 10) > (unsigned long long)col->cfg.max_body_size) {
        /* Far too large: answer now, and libmicrohttpd closes the connection
         * rather than read it all. Moderately too large: drop the body as it
         * comes and answer after it, so the connection can be reused. */
        if (strtoull(cl, NULL, 10) / DRAIN_FACTOR > (unsigned long long)col->cfg.max_body_size) {
            opg_stats_add(&m_rejected[R_TOO_LARGE], 1);
            return answer_status(conn, MHD_HTTP_CONTENT_TOO_LARGE, json,
                                 "request body exceeds the size limit", 0);
        }
        req = new_req(col, conn, req_cls);
        req->json = json;
        too_large(req);
        return MHD_YES;
    }
    req = new_req(col, conn, req_cls);
    req->route = route;
    req->json = json;
    req->compressed = enc == 1;
    /* the body's room at once rather than by doubling and copying (up to a
     * bound: a client's Content-Length alone does not reserve memory) */
    if (!enc && cl) {
        unsigned long long n = strtoull(cl, NULL, 10);
        opg_buf_grow(&req->body, n < BODY_PRESIZE_MAX ? (size_t)n : BODY_PRESIZE_MAX);
    }
    return MHD_YES;
}

enum MHD_Result opg_ingest_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **req_cls)
{
    struct collector *col = cls;
    struct ingest_req *req = *req_cls;

    if (!req)
        return first_call(col, conn, url, method, req_cls);
    if (*upload_data_size) {
        bool keep = take_chunk(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    switch (req->state) {
    case REQ_RECEIVING:
        req->received_ns = opg_now_mono_ns();
        if (process(req))
            return MHD_YES; /* suspended: called again once resumed */
        return answer(req);
    case REQ_WAITING:
        return MHD_YES; /* not expected: resumed only once answered */
    case REQ_DISCARDING:
    case REQ_ANSWERED:
        return answer(req);
    }
    return MHD_NO;
}

void opg_ingest_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                          enum MHD_RequestTerminationCode toe)
{
    struct ingest_req *req = *req_cls;

    if (!req)
        return;
    opg_ack_release(req->ack);
    if (req->zs_live)
        inflateEnd(&req->zs);
    opg_buf_release(&req->body);
    free(req);
    *req_cls = NULL;
}
