#include "logs_api.h"
#include "codec.h"
#include "hex.h"
#include "http.h"
#include "jsonw.h"
#include "log.h"
#include "log_rows.h"
#include "params.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Log records returned for one trace at most (the newest are kept). */
#define TRACE_LOGS_MAX     10000
#define LOGS_DEFAULT_LIMIT 100
#define LOGS_MAX_LIMIT     1000
/* The window searched when start is not given. */
#define LOGS_DEFAULT_RANGE_NS (3600LL * 1000000000LL)
/* Candidate rows decoded per request for attr.<key> filters at most. */
#define LOGS_MAX_SCAN 50000
/* A cursor: time_ns (16 hex digits) then record_id (32 hex digits). */
#define CURSOR_LEN 48

static enum MHD_Result respond_db_error(struct MHD_Connection *c, unsigned status, const char *what,
                                        const char *err)
{
    OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: %s: %s", what, err);
    return opg_http_respond_error(c, status, err[0] ? err : what);
}

enum MHD_Result opg_api_trace_logs(struct api *api, struct MHD_Connection *c, const char *trace_id)
{
    uint8_t id[16];
    char err[256] = "";
    struct opg_codec *codec = opg_codec_thread(1);
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    bool truncated = false;
    PGconn *conn;
    int rc;

    if (opg_api_parse_trace_id(trace_id, id) < 0)
        return opg_http_respond_error(
            c, MHD_HTTP_BAD_REQUEST,
            "malformed trace ID: expected 1 to 32 hex digits, not all zero");
    conn = opg_pg_pool_get(api->pool, err, sizeof(err));
    if (!conn || !codec) {
        if (conn)
            opg_pg_pool_put(api->pool, conn);
        return respond_db_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no database connection", err);
    }
    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "logs");
    rc = opg_logs_write_for(conn, codec, (const uint8_t(*)[16])id, 1, NULL, 0, 0, INT64_MAX,
                            TRACE_LOGS_MAX, &w, &truncated, err, sizeof(err));
    opg_pg_pool_put(api->pool, conn);
    if (rc < 0) {
        opg_buf_release(&b);
        return respond_db_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "reading a trace's logs", err);
    }
    opg_jw_kbool(&w, "truncated", truncated);
    opg_jw_obj_end(&w);
    return opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
}

/* "17", or a severity's short name in any case: its first severity_number. */
static int parse_severity(const char *s, int *out)
{
    static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    long long n;
    char *end;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcasecmp(s, names[i])) {
            *out = 1 + 4 * (int)i;
            return 0;
        }
    }
    if (*s < '0' || *s > '9')
        return -1;
    n = strtoll(s, &end, 10);
    if (*end || n < 1 || n > 24)
        return -1;
    *out = (int)n;
    return 0;
}

static int parse_cursor(const char *s, int64_t *time_ns, uint8_t record_id[16])
{
    uint8_t t[8];
    uint64_t v = 0;

    /* only what write_cursor writes: lowercase hex of the exact length */
    if (strlen(s) != CURSOR_LEN)
        return -1;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return -1;
    if (opg_hex_decode(t, 8, s, 16) < 0 || opg_hex_decode(record_id, 16, s + 16, 32) < 0)
        return -1;
    for (int i = 0; i < 8; i++)
        v = v << 8 | t[i];
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *time_ns = (int64_t)v;
    return 0;
}

static void write_cursor(struct opg_jw *w, int64_t time_ns, const uint8_t record_id[16])
{
    char text[CURSOR_LEN + 1];
    uint8_t t[8];

    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)((uint64_t)time_ns >> (56 - 8 * i));
    opg_hex_encode(text, t, 8);
    opg_hex_encode(text + 16, record_id, 16);
    opg_jw_str(w, text, CURSOR_LEN);
}

/*
 * Fills q from the request's parameters. Returns 0, or -1 with err set to
 * what a client should read in the 400. attrs (OPG_MAX_ATTR_FILTERS) and
 * trace_id back the pointers q keeps.
 */
static int parse_search(struct MHD_Connection *c, struct opg_log_search *q,
                        struct opg_attr_filter *filters, struct opg_log_attr *attrs,
                        uint8_t trace_id[16], char *err, size_t errlen)
{
    const char *v;
    long long limit = LOGS_DEFAULT_LIMIT;
    int64_t start = 0, end = opg_now_wall_ns();
    int rc_start, rc_end;
    size_t n_attrs = 0;
    int rc;

    memset(q, 0, sizeof(*q));
    q->max_scan = LOGS_MAX_SCAN;

    q->service = opg_param(c, "service", err, errlen);
    if (err[0])
        return -1;
    if (q->service && !opg_utf8_valid(q->service, strlen(q->service))) {
        snprintf(err, errlen, "parameter service: not valid UTF-8");
        return -1;
    }

    v = opg_param(c, "severity", err, errlen);
    if (err[0])
        return -1;
    if (v && parse_severity(v, &q->min_severity) < 0) {
        snprintf(err, errlen,
                 "parameter severity: expected a severity number from 1 to 24 or one of TRACE, "
                 "DEBUG, INFO, WARN, ERROR, FATAL, got '%.64s'",
                 v);
        return -1;
    }

    rc = opg_param_trace_id(c, "traceId", trace_id, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 0)
        q->trace_id = trace_id;

    rc_start = opg_param_time_ns(c, "start", &start, err, errlen);
    if (rc_start < 0)
        return -1;
    rc_end = opg_param_time_ns(c, "end", &end, err, errlen);
    if (rc_end < 0)
        return -1;
    if (rc_start == OPG_PARAM_ABSENT)
        start = end > LOGS_DEFAULT_RANGE_NS ? end - LOGS_DEFAULT_RANGE_NS : 0;
    if (start > end) {
        snprintf(err, errlen, "parameter start is after end");
        return -1;
    }
    q->start_ns = start;
    q->end_ns = end;

    v = opg_param(c, "q", err, errlen);
    if (err[0])
        return -1;
    if (v && !opg_utf8_valid(v, strlen(v))) {
        snprintf(err, errlen, "parameter q: not valid UTF-8");
        return -1;
    }
    q->body_contains = v && *v ? v : NULL;

    if (opg_param_attrs(c, filters, &n_attrs, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < n_attrs; i++) {
        attrs[i].key = filters[i].key;
        attrs[i].value = filters[i].value;
    }
    q->attrs = attrs;
    q->n_attrs = n_attrs;

    if (opg_param_int(c, "limit", 1, LOGS_MAX_LIMIT, &limit, err, errlen) < 0)
        return -1;
    q->limit = (size_t)limit;

    v = opg_param(c, "cursor", err, errlen);
    if (err[0])
        return -1;
    if (v) {
        if (parse_cursor(v, &q->after_time_ns, q->after_record_id) < 0) {
            snprintf(err, errlen, "parameter cursor: not a cursor this API returned");
            return -1;
        }
        q->after = true;
    }
    return 0;
}

enum MHD_Result opg_api_logs(struct api *api, struct MHD_Connection *c)
{
    struct opg_log_search q;
    struct opg_attr_filter filters[OPG_MAX_ATTR_FILTERS];
    struct opg_log_attr attrs[OPG_MAX_ATTR_FILTERS];
    uint8_t trace_id[16];
    struct opg_log_page page;
    char err[256] = "";
    struct opg_codec *codec = opg_codec_thread(1);
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    PGconn *conn;
    int rc;

    if (parse_search(c, &q, filters, attrs, trace_id, err, sizeof(err)) < 0)
        return opg_http_respond_error(c, MHD_HTTP_BAD_REQUEST, err);
    conn = opg_pg_pool_get(api->pool, err, sizeof(err));
    if (!conn || !codec) {
        if (conn)
            opg_pg_pool_put(api->pool, conn);
        return respond_db_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no database connection", err);
    }
    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "logs");
    rc = opg_logs_search(conn, codec, &q, &w, &page, err, sizeof(err));
    opg_pg_pool_put(api->pool, conn);
    if (rc < 0) {
        opg_buf_release(&b);
        return respond_db_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "searching logs", err);
    }
    opg_jw_key(&w, "nextCursor");
    if (page.more)
        write_cursor(&w, page.next_time_ns, page.next_record_id);
    else
        opg_jw_null(&w);
    opg_jw_kbool(&w, "scanLimitReached", page.scan_limit_reached);
    opg_jw_obj_end(&w);
    return opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
}
