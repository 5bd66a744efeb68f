/*
 * Finding traces over HTTP: Jaeger's query API, in the JSON shapes Jaeger UI
 * and Grafana's Jaeger data source read.
 *
 * v1 (cmd/query/app/http_handler.go, query_parser.go in jaegertracing/jaeger):
 *   GET /api/services                      {"data":["svc",...],"total":N,...}
 *   GET /api/services/{service}/operations {"data":["op",...],"total":N,...}
 *   GET /api/operations?service=&spanKind= {"data":[{"name","spanKind"}],"total":N,...}
 *   GET /api/traces?service=&operation=&tags=&tag=&minDuration=&maxDuration=
 *                   &start=&end=&limit=   {"data":[trace,...],"total":0,...}
 *   GET /api/dependencies?endTs=&lookback= {"data":[{"parent","child","callCount"}],...}
 * every answer in the envelope {"data":..,"total":..,"limit":0,"offset":0,"errors":null},
 * errors as {"data":null,...,"errors":[{"code":400,"msg":".."}]}.
 *
 * v3 (cmd/query/app/apiv3/http_gateway.go): OTLP JSON
 *   GET /api/v3/services                   {"services":[...]}
 *   GET /api/v3/operations?service=&spanKind= {"operations":[{"name","spanKind"}]}
 *   GET /api/v3/traces?query.*             {"result":{"resourceSpans":[...]}}; none: 404
 *   GET /api/v3/trace-summaries?query.*    {"summaries":[...]}
 * errors as {"error":{"httpCode":400,"message":".."}}. Parameters by their
 * camelCase names (query.serviceName) or the older snake_case ones
 * (query.service_name).
 *
 * Ours in both: searches without a service, and minTraceDuration /
 * maxTraceDuration (query.traceDurationMin/Max) on the whole trace. When a
 * bound cut an answer, a top-level "warnings" array says so.
 */
#include "search_api.h"
#include "codec.h"
#include "http.h"
#include "jaeger.h"
#include "jsonw.h"
#include "log.h"
#include "otlp_json.h"
#include "params.h"
#include "reader.h"
#include "search.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Jaeger UI asks for 20; Jaeger's API v3 defaults to 100. */
#define V1_DEFAULT_LIMIT 20
#define V3_DEFAULT_LIMIT 100
#define MAX_LIMIT        1500
/* Without start/end a search looks back this far (Jaeger UI's default). */
#define DEFAULT_LOOKBACK_NS (3600LL * 1000000000LL)
/* Jaeger's default for /api/dependencies: a day. */
#define DEFAULT_DEPS_LOOKBACK_MS (24LL * 3600 * 1000)
/* A tags JSON object may be longer than other parameters. */
#define MAX_TAGS_PARAM_LEN (OPG_SEARCH_MAX_TAGS * 256)

enum route {
    R_SERVICES,
    R_SERVICE_OPS,
    R_OPERATIONS,
    R_TRACES,
    R_DEPS,
    R_V3_SERVICES,
    R_V3_OPERATIONS,
    R_V3_TRACES,
    R_V3_SUMMARIES,
    R_COUNT
};

#define ROUTE_METRIC(route)                                                                        \
    OPG_METRIC_INIT("otelpg_api_search_requests_total", "route=\"" route "\"", OPG_COUNTER,        \
                    "Search API requests, by route.")
static struct opg_metric m_requests[R_COUNT] = {
    ROUTE_METRIC("/api/services"),           ROUTE_METRIC("/api/services/{service}/operations"),
    ROUTE_METRIC("/api/operations"),         ROUTE_METRIC("/api/traces"),
    ROUTE_METRIC("/api/dependencies"),       ROUTE_METRIC("/api/v3/services"),
    ROUTE_METRIC("/api/v3/operations"),      ROUTE_METRIC("/api/v3/traces"),
    ROUTE_METRIC("/api/v3/trace-summaries"),
};
static struct opg_metric m_bad =
    OPG_METRIC_INIT("otelpg_api_search_bad_requests_total", NULL, OPG_COUNTER,
                    "Search API requests refused for their parameters.");
static struct opg_metric m_cut =
    OPG_METRIC_INIT("otelpg_api_search_truncated_total", NULL, OPG_COUNTER,
                    "Searches and dependency graphs that reached their bound of examined spans.");
static struct opg_metric m_db_errors =
    OPG_METRIC_INIT("otelpg_api_search_db_errors_total", NULL, OPG_COUNTER,
                    "Search API requests that failed in the database.");
static struct opg_histogram h_search = OPG_HISTOGRAM_INIT(
    "otelpg_api_duration_seconds", "route=\"search\"", "Time to answer a trace search.");
static struct opg_histogram h_deps = OPG_HISTOGRAM_INIT(
    "otelpg_api_duration_seconds", "route=\"dependencies\"", "Time to answer a dependency graph.");

void opg_api_search_register_metrics(void)
{
    for (int i = 0; i < R_COUNT; i++)
        opg_stats_register(&m_requests[i]);
    opg_stats_register(&m_bad);
    opg_stats_register(&m_cut);
    opg_stats_register(&m_db_errors);
    opg_stats_register_histogram(&h_search);
    opg_stats_register_histogram(&h_deps);
}

static bool is_v3(enum route r)
{
    return r >= R_V3_SERVICES;
}

/* ---------------------------------------------------------------- envelopes */

static void v1_begin(struct opg_jw *w)
{
    opg_jw_obj_begin(w);
    opg_jw_key(w, "data");
}

/* Closes the v1 envelope; warnings (may be NULL) are ours, not Jaeger's. */
static void v1_end(struct opg_jw *w, long long total, const char *warning)
{
    opg_jw_kint(w, "total", total);
    opg_jw_kint(w, "limit", 0);
    opg_jw_kint(w, "offset", 0);
    opg_jw_key(w, "errors");
    opg_jw_null(w);
    if (warning) {
        opg_jw_key(w, "warnings");
        opg_jw_arr_begin(w);
        opg_jw_cstr(w, warning);
        opg_jw_arr_end(w);
    }
    opg_jw_obj_end(w);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, enum route r, unsigned status,
                                     const char *msg)
{
    if (status == MHD_HTTP_BAD_REQUEST)
        opg_stats_add(&m_bad, 1);
    else if (status != MHD_HTTP_NOT_FOUND)
        opg_stats_add(&m_db_errors, 1);
    if (is_v3(r))
        return opg_http_respond_error(c, status, msg);
    return opg_api_jaeger_error(c, status, msg);
}

/* Takes a pooled connection and this thread's codec; on failure answers 503 itself. */
static PGconn *take_conn(struct api *api, struct MHD_Connection *c, enum route r,
                         struct opg_codec **codec, enum MHD_Result *ret)
{
    char err[256] = "";
    PGconn *conn;

    *codec = opg_codec_thread(1);
    if (!*codec) {
        *ret = respond_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "no codec");
        return NULL;
    }
    conn = opg_pg_pool_get(api->pool, err, sizeof(err));
    if (!conn) {
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: %s", err);
        *ret = respond_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, err);
    }
    return conn;
}

/* Logs a database failure (rate-limited) and answers 500 with it. */
static enum MHD_Result db_failed(struct MHD_Connection *c, enum route r, const char *err)
{
    OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: search: %s", err);
    return respond_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, err[0] ? err : "internal error");
}

/* ---------------------------------------------------------------- parameters */

static const char *mhd_param(void *cls, const char *name)
{
    return MHD_lookup_connection_value(cls, MHD_GET_ARGUMENT_KIND, name);
}

/* The names each search parameter goes by, in v1 and in v3 (camelCase first). */
struct param_names {
    const char *const *service,
        *const *operation, *const *tags, *const *start, *const *end, *const *dur_min,
                                                                         *const *dur_max,
                                                                             *const *tdur_min,
                                                                                 *const *tdur_max,
                                                                                     *const *limit;
    long long default_limit;
};

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})
static const struct param_names v1_names = {
    NAMES("service"),
    NAMES("operation"),
    NAMES("tags"),
    NAMES("start"),
    NAMES("end"),
    NAMES("minDuration"),
    NAMES("maxDuration"),
    NAMES("minTraceDuration"),
    NAMES("maxTraceDuration"),
    NAMES("limit"),
    V1_DEFAULT_LIMIT,
};
static const struct param_names v3_names = {
    NAMES("query.serviceName", "query.service_name"),
    NAMES("query.operationName", "query.operation_name"),
    NAMES("query.attributes"),
    NAMES("query.startTimeMin", "query.start_time_min"),
    NAMES("query.startTimeMax", "query.start_time_max"),
    NAMES("query.durationMin", "query.duration_min"),
    NAMES("query.durationMax", "query.duration_max"),
    NAMES("query.traceDurationMin", "query.trace_duration_min"),
    NAMES("query.traceDurationMax", "query.trace_duration_max"),
    NAMES("query.searchDepth", "query.search_depth", "query.num_traces"),
    V3_DEFAULT_LIMIT,
};

static const char *param(struct MHD_Connection *c, const char *const *names, const char **used,
                         size_t max_len, char *err, size_t errlen)
{
    const char *name = names[0];
    const char *v = opg_search_param(mhd_param, c, names, &name);

    if (used)
        *used = name;
    if (v && strlen(v) > max_len) {
        snprintf(err, errlen, "parameter %s is longer than %zu characters", name, max_len);
        return NULL;
    }
    return v;
}

/* 0 (out set), OPG_PARAM_ABSENT, or -1 with err. */
static int param_duration(struct MHD_Connection *c, const char *const *names, int64_t *out,
                          char *err, size_t errlen)
{
    const char *name;
    const char *v = param(c, names, &name, OPG_PARAM_MAX_LEN, err, errlen);

    if (!v)
        return err[0] ? -1 : OPG_PARAM_ABSENT;
    if (opg_parse_duration_ns(v, out) < 0) {
        snprintf(err, errlen, "parameter %s: expected a duration like 100ms or 1.5s, got '%.64s'",
                 name, v);
        return -1;
    }
    return 0;
}

static int param_time(struct MHD_Connection *c, const char *const *names, int64_t *out, char *err,
                      size_t errlen)
{
    const char *name;
    const char *v = param(c, names, &name, OPG_PARAM_MAX_LEN, err, errlen);

    if (!v)
        return err[0] ? -1 : OPG_PARAM_ABSENT;
    if (opg_parse_time_ns(v, out) < 0) {
        snprintf(err, errlen,
                 "parameter %s: expected Unix microseconds or an RFC 3339 time, got '%.64s'", name,
                 v);
        return -1;
    }
    return 0;
}

struct tag_walk {
    struct opg_search_query *q;
    char *err;
    size_t errlen;
    int failed;
};

static enum MHD_Result tag_pair_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct tag_walk *t = cls;

    (void)kind;
    if (strcmp(key, "tag") != 0 || !value || !*value)
        return MHD_YES;
    if (opg_search_query_parse_tag_pair(t->q, value, t->err, t->errlen) < 0) {
        t->failed = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

/*
 * Fills q from the request. *capped is set when the limit asked for was above
 * MAX_LIMIT. Returns 0, or -1 with err (a 400).
 */
static int parse_search(struct MHD_Connection *c, const struct param_names *n, bool v1,
                        size_t max_candidates, struct opg_search_query *q, bool *capped, char *err,
                        size_t errlen)
{
    const char *tags, *limit_s, *name;
    int64_t now = opg_now_wall_ns();
    int rs, re;

    opg_search_query_init(q);
    q->max_candidates = max_candidates;
    q->service = param(c, n->service, NULL, OPG_PARAM_MAX_LEN, err, errlen);
    if (err[0])
        return -1;
    q->operation = param(c, n->operation, NULL, OPG_PARAM_MAX_LEN, err, errlen);
    if (err[0])
        return -1;

    rs = param_time(c, n->start, &q->start_min_ns, err, errlen);
    re = param_time(c, n->end, &q->start_max_ns, err, errlen);
    if (rs < 0 || re < 0)
        return -1;
    if (re == OPG_PARAM_ABSENT)
        q->start_max_ns = now;
    if (rs == OPG_PARAM_ABSENT)
        q->start_min_ns =
            q->start_max_ns > DEFAULT_LOOKBACK_NS ? q->start_max_ns - DEFAULT_LOOKBACK_NS : 0;
    if (q->start_min_ns > q->start_max_ns) {
        snprintf(err, errlen, "parameter %s is after %s", n->start[0], n->end[0]);
        return -1;
    }

    if (param_duration(c, n->dur_min, &q->span_dur_min_ns, err, errlen) < 0 ||
        param_duration(c, n->dur_max, &q->span_dur_max_ns, err, errlen) < 0 ||
        param_duration(c, n->tdur_min, &q->trace_dur_min_ns, err, errlen) < 0 ||
        param_duration(c, n->tdur_max, &q->trace_dur_max_ns, err, errlen) < 0)
        return -1;
    if (q->span_dur_max_ns >= 0 && q->span_dur_min_ns > q->span_dur_max_ns) {
        snprintf(err, errlen, "'%s' should be greater than '%s'", n->dur_max[0], n->dur_min[0]);
        return -1;
    }
    if (q->trace_dur_max_ns >= 0 && q->trace_dur_min_ns > q->trace_dur_max_ns) {
        snprintf(err, errlen, "'%s' should be greater than '%s'", n->tdur_max[0], n->tdur_min[0]);
        return -1;
    }

    q->limit = (size_t)n->default_limit;
    limit_s = param(c, n->limit, &name, OPG_PARAM_MAX_LEN, err, errlen);
    if (err[0])
        return -1;
    if (limit_s) {
        char *end;
        long long v = strtoll(limit_s, &end, 10);
        if (*end || v < 0) {
            snprintf(err, errlen, "parameter %s: expected a non-negative integer, got '%.64s'",
                     name, limit_s);
            return -1;
        }
        /* Jaeger takes 0 as "the default". */
        if (v > MAX_LIMIT)
            *capped = true;
        q->limit = v == 0 ? (size_t)n->default_limit : (size_t)(v > MAX_LIMIT ? MAX_LIMIT : v);
    }

    tags = param(c, n->tags, &name, MAX_TAGS_PARAM_LEN, err, errlen);
    if (err[0])
        return -1;
    if (tags && opg_search_query_parse_tags(q, tags, err, errlen) < 0) {
        char inner[200];
        snprintf(inner, sizeof(inner), "%s", err);
        snprintf(err, errlen, "malformed parameter %s: %s", name, inner);
        return -1;
    }
    if (v1) {
        struct tag_walk t = {q, err, errlen, 0};
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, tag_pair_cb, &t);
        if (t.failed)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- OTLP JSON, spliced */

/*
 * The elements of a resourceSpans array, without the brackets, so that the
 * traces of a search share one array. Mirrors the encoder's shape.
 */
static void write_resource_spans(struct opg_jw *w,
                                 Opentelemetry__Proto__Trace__V1__ResourceSpans *const *rs,
                                 size_t n)
{
    for (size_t i = 0; i < n; i++) {
        opg_jw_obj_begin(w);
        if (rs[i]->resource) {
            opg_jw_key(w, "resource");
            opg_otlp_json_encode_resource(w, rs[i]->resource);
        }
        opg_jw_key(w, "scopeSpans");
        opg_jw_arr_begin(w);
        for (size_t j = 0; j < rs[i]->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs[i]->scope_spans[j];
            opg_jw_obj_begin(w);
            if (ss->scope) {
                opg_jw_key(w, "scope");
                opg_otlp_json_encode_scope(w, ss->scope);
            }
            opg_jw_key(w, "spans");
            opg_jw_arr_begin(w);
            for (size_t k = 0; k < ss->n_spans; k++)
                opg_otlp_json_encode_span(w, ss->spans[k]);
            opg_jw_arr_end(w);
            if (ss->schema_url && *ss->schema_url)
                opg_jw_kstr(w, "schemaUrl", ss->schema_url);
            opg_jw_obj_end(w);
        }
        opg_jw_arr_end(w);
        if (rs[i]->schema_url && *rs[i]->schema_url)
            opg_jw_kstr(w, "schemaUrl", rs[i]->schema_url);
        opg_jw_obj_end(w);
    }
}

/* ---------------------------------------------------------------- /api/traces, /api/v3/traces */

static void write_warnings(struct opg_jw *w, const struct opg_search_result *res, bool capped,
                           bool spans_cut, size_t max_candidates)
{
    char msg[256];

    if (!res->cut && !capped && !spans_cut)
        return;
    opg_jw_key(w, "warnings");
    opg_jw_arr_begin(w);
    if (res->cut) {
        snprintf(msg, sizeof(msg),
                 "the search examined its bound of %zu candidates (search-max-spans: trace parts, "
                 "and spans checked in them) before finding the traces asked for: narrow the time "
                 "range or add a service or operation",
                 max_candidates);
        opg_jw_cstr(w, msg);
    }
    if (capped) {
        snprintf(msg, sizeof(msg), "the limit was lowered to %d traces", MAX_LIMIT);
        opg_jw_cstr(w, msg);
    }
    if (spans_cut)
        opg_jw_cstr(w, "a trace has more spans than max-trace-spans; the earliest were kept");
    opg_jw_arr_end(w);
}

static enum MHD_Result search_traces(struct api *api, struct MHD_Connection *c, enum route r)
{
    int64_t t0 = opg_now_mono_ns();
    struct opg_search_query q;
    struct opg_search_result res = {0};
    struct opg_codec *codec;
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    char err[256] = "";
    bool capped = false, spans_cut = false;
    size_t written = 0;
    PGconn *conn = NULL;
    enum MHD_Result ret;

    if (parse_search(c, is_v3(r) ? &v3_names : &v1_names, !is_v3(r),
                     (size_t)api->cfg.search_max_spans, &q, &capped, err, sizeof(err)) < 0) {
        ret = respond_error(c, r, MHD_HTTP_BAD_REQUEST, err);
        goto out_release_query;
    }
    conn = take_conn(api, c, r, &codec, &ret);
    if (!conn)
        goto out_release_query;
    if (opg_search_find(conn, codec, &q, &res, err, sizeof(err)) < 0) {
        ret = db_failed(c, r, err);
        goto out_put_conn;
    }
    if (res.cut)
        opg_stats_add(&m_cut, 1);

    /* Each trace is read, written into the one answer buffer, and freed before the next. */
    opg_jw_init(&w, &b);
    if (is_v3(r)) {
        opg_jw_obj_begin(&w);
        opg_jw_key(&w, "result");
        opg_jw_obj_begin(&w);
        opg_jw_key(&w, "resourceSpans");
        opg_jw_arr_begin(&w);
    } else {
        v1_begin(&w);
        opg_jw_arr_begin(&w);
    }
    for (size_t i = 0; i < res.n; i++) {
        struct opg_trace t;
        int rc = opg_reader_get_trace(conn, codec, res.ids[i], (size_t)api->cfg.max_trace_spans, &t,
                                      err, sizeof(err));

        if (rc == OPG_READ_FOUND) {
            if (is_v3(r))
                write_resource_spans(&w, t.rs, t.n_rs);
            else
                opg_jaeger_write_trace(&w, res.ids[i], t.rs, t.n_rs);
            spans_cut |= t.truncated;
            written++;
        }
        opg_trace_release(&t);
        if (rc == OPG_READ_ERROR) {
            opg_buf_release(&b);
            ret = db_failed(c, r, err);
            goto out_put_conn;
        }
    }
    opg_pg_pool_put(api->pool, conn);
    conn = NULL;
    if (is_v3(r) && !written) {
        /* Jaeger's API v3 answers an empty search so. */
        opg_buf_release(&b);
        ret = respond_error(c, r, MHD_HTTP_NOT_FOUND, "No traces found");
        goto out_release_query;
    }
    if (is_v3(r)) {
        opg_jw_arr_end(&w);
        opg_jw_obj_end(&w);
        write_warnings(&w, &res, capped, spans_cut, q.max_candidates);
        opg_jw_obj_end(&w);
    } else {
        opg_jw_arr_end(&w);
        opg_jw_kint(&w, "total", 0);
        opg_jw_kint(&w, "limit", 0);
        opg_jw_kint(&w, "offset", 0);
        opg_jw_key(&w, "errors");
        opg_jw_null(&w);
        write_warnings(&w, &res, capped, spans_cut, q.max_candidates);
        opg_jw_obj_end(&w);
    }
    ret = opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
    opg_stats_observe_ns(&h_search, opg_now_mono_ns() - t0);
out_put_conn:
    if (conn)
        opg_pg_pool_put(api->pool, conn);
out_release_query:
    opg_search_result_release(&res);
    opg_search_query_release(&q);
    return ret;
}

/* ---------------------------------------------------------------- /api/v3/trace-summaries */

static void write_summary(struct opg_jw *w, const struct opg_trace_summary *s)
{
    opg_jw_obj_begin(w);
    opg_jw_key(w, "traceId");
    opg_jw_hex(w, s->trace_id, 16);
    opg_jw_kstr(w, "rootServiceName", s->root_service ? s->root_service : "");
    opg_jw_kstr(w, "rootOperationName", s->root_name ? s->root_name : "");
    /* fixed64 in the proto: a decimal string in its JSON mapping */
    opg_jw_key(w, "minStartTimeUnixNano");
    opg_jw_int_str(w, s->start_ns);
    opg_jw_key(w, "maxEndTimeUnixNano");
    opg_jw_int_str(w, s->end_ns);
    opg_jw_kint(w, "spanCount", s->span_count);
    opg_jw_kint(w, "errorSpanCount", s->error_count);
    opg_jw_kint(w, "orphanSpanCount", s->orphan_count);
    opg_jw_key(w, "services");
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < s->n_services; i++) {
        opg_jw_obj_begin(w);
        opg_jw_kstr(w, "name", s->services[i].name);
        opg_jw_kint(w, "spanCount", s->services[i].span_count);
        opg_jw_kint(w, "errorSpanCount", s->services[i].error_count);
        opg_jw_obj_end(w);
    }
    opg_jw_arr_end(w);
    opg_jw_obj_end(w);
}

static enum MHD_Result trace_summaries(struct api *api, struct MHD_Connection *c, enum route r)
{
    int64_t t0 = opg_now_mono_ns();
    struct opg_search_query q;
    struct opg_search_result res = {0};
    struct opg_trace_summary *sums = NULL;
    struct opg_codec *codec;
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    char err[256] = "";
    bool capped = false;
    PGconn *conn = NULL;
    enum MHD_Result ret;

    if (parse_search(c, &v3_names, false, (size_t)api->cfg.search_max_spans, &q, &capped, err,
                     sizeof(err)) < 0) {
        ret = respond_error(c, r, MHD_HTTP_BAD_REQUEST, err);
        goto out_release_query;
    }
    conn = take_conn(api, c, r, &codec, &ret);
    if (!conn)
        goto out_release_query;
    if (opg_search_find(conn, codec, &q, &res, err, sizeof(err)) < 0 ||
        opg_search_summaries(conn, (const uint8_t(*)[16])res.ids, res.n, &sums, err, sizeof(err)) <
            0) {
        ret = db_failed(c, r, err);
        goto out_put_conn;
    }
    if (res.cut)
        opg_stats_add(&m_cut, 1);
    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "summaries");
    opg_jw_arr_begin(&w);
    for (size_t i = 0; i < res.n; i++)
        if (sums[i].found)
            write_summary(&w, &sums[i]);
    opg_jw_arr_end(&w);
    write_warnings(&w, &res, capped, false, q.max_candidates);
    opg_jw_obj_end(&w);
    ret = opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
    opg_stats_observe_ns(&h_search, opg_now_mono_ns() - t0);
out_put_conn:
    opg_pg_pool_put(api->pool, conn);
out_release_query:
    opg_search_summaries_free(sums, res.n);
    opg_search_result_release(&res);
    opg_search_query_release(&q);
    return ret;
}

/* ---------------------------------------------------------------- services and operations */

struct listing {
    struct opg_jw *w;
    enum route r;
    long long count;
    char last[1024]; /* the previous entry, to skip repeats */
};

static void add_service(void *cls, const char *service)
{
    struct listing *l = cls;

    opg_jw_cstr(l->w, service);
    l->count++;
}

static void add_operation(void *cls, const char *name, int kind)
{
    struct listing *l = cls;
    const char *kind_name = opg_search_kind_name(kind);
    char key[sizeof(l->last)];

    if (!kind_name)
        kind_name = "";
    /* Jaeger's API v3 names an unspecified kind "internal". */
    if (l->r == R_V3_OPERATIONS && !*kind_name)
        kind_name = "internal";
    /* The legacy route lists names only, so a name with several kinds is listed once. */
    snprintf(key, sizeof(key), "%s%c%s", name, 0x1f, l->r == R_SERVICE_OPS ? "" : kind_name);
    if (l->count && !strcmp(key, l->last))
        return;
    snprintf(l->last, sizeof(l->last), "%s", key);
    l->count++;
    if (l->r == R_SERVICE_OPS) {
        opg_jw_cstr(l->w, name);
        return;
    }
    opg_jw_obj_begin(l->w);
    opg_jw_kstr(l->w, "name", name);
    opg_jw_kstr(l->w, "spanKind", kind_name);
    opg_jw_obj_end(l->w);
}

static int parse_kind(struct MHD_Connection *c, int *kind, char *err, size_t errlen)
{
    const char *name;
    const char *v = param(c, NAMES("spanKind", "span_kind"), &name, OPG_PARAM_MAX_LEN, err, errlen);

    *kind = -1;
    if (err[0])
        return -1;
    if (!v)
        return 0;
    *kind = opg_search_kind_from_name(v);
    if (*kind < 0)
        *kind = opg_otlp_span_kind_from_name(v); /* SPAN_KIND_SERVER, as OTLP names it */
    if (*kind < 0) {
        snprintf(err, errlen,
                 "parameter %s: expected server, client, producer, consumer or internal, got "
                 "'%.64s'",
                 name, v);
        return -1;
    }
    return 0;
}

static enum MHD_Result list(struct api *api, struct MHD_Connection *c, enum route r,
                            const char *service)
{
    struct listing l = {.r = r};
    struct opg_codec *codec;
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    char err[256] = "";
    int kind = -1, rc;
    PGconn *conn;
    enum MHD_Result ret;

    if (r == R_OPERATIONS || r == R_V3_OPERATIONS) {
        service = param(c, NAMES("service"), NULL, OPG_PARAM_MAX_LEN, err, sizeof(err));
        if (!err[0] && !service && r == R_OPERATIONS)
            snprintf(err, sizeof(err), "parameter 'service' is required");
        if (err[0] || parse_kind(c, &kind, err, sizeof(err)) < 0)
            return respond_error(c, r, MHD_HTTP_BAD_REQUEST, err);
    }
    conn = take_conn(api, c, r, &codec, &ret);
    if (!conn)
        return ret;
    l.w = &w;
    opg_jw_init(&w, &b);
    if (is_v3(r)) {
        opg_jw_obj_begin(&w);
        opg_jw_key(&w, r == R_V3_SERVICES ? "services" : "operations");
    } else {
        v1_begin(&w);
    }
    opg_jw_arr_begin(&w);
    if (r == R_SERVICES || r == R_V3_SERVICES)
        rc = opg_search_services(conn, add_service, &l, err, sizeof(err));
    else
        rc = opg_search_operations(conn, service, kind, add_operation, &l, err, sizeof(err));
    opg_pg_pool_put(api->pool, conn);
    if (rc < 0) {
        opg_buf_release(&b);
        return db_failed(c, r, err);
    }
    opg_jw_arr_end(&w);
    if (is_v3(r))
        opg_jw_obj_end(&w);
    else
        v1_end(&w, l.count, NULL);
    return opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
}

/* ---------------------------------------------------------------- /api/dependencies */

static int param_ms(struct MHD_Connection *c, const char *name, long long *out, char *err,
                    size_t errlen)
{
    int rc = opg_param_int(c, name, 0, INT64_MAX / 1000000, out, err, errlen);

    if (rc < 0)
        snprintf(err, errlen, "unable to parse param '%s': expected milliseconds", name);
    return rc;
}

static enum MHD_Result dependencies(struct api *api, struct MHD_Connection *c)
{
    int64_t t0 = opg_now_mono_ns();
    long long end_ms = opg_now_wall_ns() / 1000000, lookback_ms = DEFAULT_DEPS_LOOKBACK_MS;
    struct opg_dependency *deps = NULL;
    struct opg_codec *codec;
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    char err[256] = "", warning[200];
    const char *service;
    size_t n = 0, shown = 0;
    bool cut = false;
    int64_t start_ns, end_ns;
    PGconn *conn;
    enum MHD_Result ret;

    service = param(c, NAMES("service"), NULL, OPG_PARAM_MAX_LEN, err, sizeof(err));
    if (err[0] || param_ms(c, "endTs", &end_ms, err, sizeof(err)) < 0 ||
        param_ms(c, "lookback", &lookback_ms, err, sizeof(err)) < 0)
        return respond_error(c, R_DEPS, MHD_HTTP_BAD_REQUEST, err);
    if (lookback_ms == 0)
        lookback_ms = DEFAULT_DEPS_LOOKBACK_MS; /* as Jaeger takes it */
    end_ns = (int64_t)end_ms * 1000000;
    start_ns = lookback_ms > end_ms ? 0 : (int64_t)(end_ms - lookback_ms) * 1000000;

    conn = take_conn(api, c, R_DEPS, &codec, &ret);
    if (!conn)
        return ret;
    if (opg_search_dependencies(conn, start_ns, end_ns, (size_t)api->cfg.dependencies_max_spans,
                                &deps, &n, &cut, err, sizeof(err)) < 0) {
        opg_pg_pool_put(api->pool, conn);
        return db_failed(c, R_DEPS, err);
    }
    opg_pg_pool_put(api->pool, conn);
    if (cut)
        opg_stats_add(&m_cut, 1);

    opg_jw_init(&w, &b);
    v1_begin(&w);
    opg_jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        if (service && strcmp(deps[i].parent, service) && strcmp(deps[i].child, service))
            continue;
        opg_jw_obj_begin(&w);
        opg_jw_kstr(&w, "parent", deps[i].parent);
        opg_jw_kstr(&w, "child", deps[i].child);
        opg_jw_kint(&w, "callCount", deps[i].call_count);
        opg_jw_kint(&w, "errorCount", deps[i].error_count);
        opg_jw_obj_end(&w);
        shown++;
    }
    opg_jw_arr_end(&w);
    snprintf(warning, sizeof(warning),
             "the graph covers only the most recent %lld spans of the window "
             "(dependencies-max-spans); older calls are not counted",
             api->cfg.dependencies_max_spans);
    /* Jaeger leaves total at 0 here. */
    v1_end(&w, 0, cut ? warning : NULL);
    opg_search_dependencies_free(deps, n);
    ret = opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
    opg_stats_observe_ns(&h_deps, opg_now_mono_ns() - t0);
    return ret;
}

/* ---------------------------------------------------------------- routing */

bool opg_api_search_dispatch(struct api *api, struct MHD_Connection *c, const char *url,
                             enum MHD_Result *ret)
{
    static const struct {
        const char *path;
        enum route r;
    } exact[] = {
        {"/api/services", R_SERVICES},       {"/api/operations", R_OPERATIONS},
        {"/api/traces", R_TRACES},           {"/api/dependencies", R_DEPS},
        {"/api/v3/services", R_V3_SERVICES}, {"/api/v3/operations", R_V3_OPERATIONS},
        {"/api/v3/traces", R_V3_TRACES},     {"/api/v3/trace-summaries", R_V3_SUMMARIES},
    };
    static const char prefix[] = "/api/services/", suffix[] = "/operations";
    size_t len = strlen(url);

    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        enum route r = exact[i].r;
        if (strcmp(url, exact[i].path) != 0)
            continue;
        opg_stats_add(&m_requests[r], 1);
        if (r == R_TRACES || r == R_V3_TRACES)
            *ret = search_traces(api, c, r);
        else if (r == R_V3_SUMMARIES)
            *ret = trace_summaries(api, c, r);
        else if (r == R_DEPS)
            *ret = dependencies(api, c);
        else
            *ret = list(api, c, r, NULL);
        return true;
    }
    /* The path arrives unescaped, so a service name may hold '/': take all in between. */
    if (len > sizeof(prefix) - 1 + sizeof(suffix) - 1 &&
        !strncmp(url, prefix, sizeof(prefix) - 1) &&
        !strcmp(url + len - (sizeof(suffix) - 1), suffix)) {
        size_t n = len - (sizeof(prefix) - 1) - (sizeof(suffix) - 1);
        char service[OPG_PARAM_MAX_LEN + 1];

        opg_stats_add(&m_requests[R_SERVICE_OPS], 1);
        if (n > OPG_PARAM_MAX_LEN) {
            *ret = respond_error(c, R_SERVICE_OPS, MHD_HTTP_BAD_REQUEST, "service name too long");
            return true;
        }
        memcpy(service, url + sizeof(prefix) - 1, n);
        service[n] = '\0';
        *ret = list(api, c, R_SERVICE_OPS, service);
        return true;
    }
    return false;
}
