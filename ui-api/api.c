#include "api.h"
#include "alerts_api.h"
#include "red_api.h"
#include "codec.h"
#include "correlations_api.h"
#include "logs_api.h"
#include "metrics_api.h"
#include "search_api.h"
#include "web.h"
#include "hex.h"
#include "http.h"
#include "jaeger.h"
#include "jsonw.h"
#include "log.h"
#include "otlp_json.h"
#include "reader.h"
#include "stats.h"

#include <stdio.h>
#include <string.h>

enum api_route { ROUTE_V3_TRACE, ROUTE_JAEGER_TRACE, ROUTE_COUNT };

static struct opg_metric m_requests[ROUTE_COUNT] = {
    OPG_METRIC_INIT("otelpg_api_requests_total", "route=\"/api/v3/traces/{id}\"", OPG_COUNTER,
                    "Query API requests, by route."),
    OPG_METRIC_INIT("otelpg_api_requests_total", "route=\"/api/traces/{id}\"", OPG_COUNTER, ""),
};
static struct opg_metric m_bad_requests =
    OPG_METRIC_INIT("otelpg_api_bad_requests_total", NULL, OPG_COUNTER,
                    "Query API requests refused for their parameters (400, 404 route, 405).");
static struct opg_metric m_db_errors = OPG_METRIC_INIT(
    "otelpg_db_errors_total", "component=\"api\"", OPG_COUNTER, "Failed database operations.");
static struct opg_histogram h_trace = OPG_HISTOGRAM_INIT(
    "otelpg_api_duration_seconds", "route=\"trace\"", "Time to answer a trace lookup.");

void opg_api_register_metrics(void)
{
    for (int i = 0; i < ROUTE_COUNT; i++)
        opg_stats_register(&m_requests[i]);
    opg_stats_register(&m_bad_requests);
    opg_stats_register(&m_db_errors);
    opg_stats_register_histogram(&h_trace);
    opg_api_correlations_register_metrics();
    opg_api_search_register_metrics();
}

int opg_api_parse_trace_id(const char *s, uint8_t out[16])
{
    char padded[33];
    size_t n = strlen(s);

    if (n == 0 || n > 32)
        return -1;
    memset(padded, '0', 32 - n);
    memcpy(padded + 32 - n, s, n);
    padded[32] = '\0';
    if (opg_hex_decode(out, 16, padded, 32) < 0)
        return -1;
    return opg_otlp_id_valid(out, 16, 16) ? 0 : -1;
}

enum MHD_Result opg_api_jaeger_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;

    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "data");
    opg_jw_null(&w);
    opg_jw_kint(&w, "total", 0);
    opg_jw_kint(&w, "limit", 0);
    opg_jw_kint(&w, "offset", 0);
    opg_jw_key(&w, "errors");
    opg_jw_arr_begin(&w);
    opg_jw_obj_begin(&w);
    opg_jw_kint(&w, "code", status);
    opg_jw_kstr(&w, "msg", msg);
    opg_jw_obj_end(&w);
    opg_jw_arr_end(&w);
    opg_jw_obj_end(&w);
    return opg_http_respond_buf(c, status, "application/json", &b);
}

static enum MHD_Result route_error(struct MHD_Connection *c, enum api_route r, unsigned status,
                                   const char *msg)
{
    if (r == ROUTE_JAEGER_TRACE)
        return opg_api_jaeger_error(c, status, msg);
    return opg_http_respond_error(c, status, msg);
}

static enum MHD_Result get_trace(struct api *api, struct MHD_Connection *c, enum api_route r,
                                 const char *id_text)
{
    int64_t t0 = opg_now_mono_ns();
    uint8_t id[16];
    char err[256] = "";
    struct opg_trace trace;
    struct opg_codec *codec = opg_codec_thread(1);
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    PGconn *conn;
    int rc;
    enum MHD_Result ret;

    opg_stats_add(&m_requests[r], 1);
    if (opg_api_parse_trace_id(id_text, id) < 0) {
        opg_stats_add(&m_bad_requests, 1);
        return route_error(c, r, MHD_HTTP_BAD_REQUEST,
                           "malformed trace ID: expected 1 to 32 hex digits, not all zero");
    }
    conn = opg_pg_pool_get(api->pool, err, sizeof(err));
    if (!conn || !codec) {
        opg_stats_add(&m_db_errors, 1);
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: %s", err);
        return route_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, err[0] ? err : "no codec");
    }
    rc = opg_reader_get_trace(conn, codec, id, (size_t)api->cfg.max_trace_spans, &trace, err,
                              sizeof(err));
    opg_pg_pool_put(api->pool, conn);
    if (rc == OPG_READ_NOT_FOUND) {
        opg_trace_release(&trace);
        return route_error(c, r, MHD_HTTP_NOT_FOUND, "trace not found");
    }
    if (rc != OPG_READ_FOUND) {
        opg_stats_add(&m_db_errors, 1);
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: reading a trace: %s", err);
        opg_trace_release(&trace);
        return route_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
    }

    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    if (r == ROUTE_V3_TRACE) {
        opg_jw_key(&w, "result");
        opg_jw_obj_begin(&w);
        opg_jw_key(&w, "resourceSpans");
        opg_otlp_json_encode_resource_spans(&w, trace.rs, trace.n_rs);
        opg_jw_obj_end(&w);
    } else {
        opg_jw_key(&w, "data");
        opg_jw_arr_begin(&w);
        opg_jaeger_write_trace(&w, id, trace.rs, trace.n_rs);
        opg_jw_arr_end(&w);
        opg_jw_kint(&w, "total", 0);
        opg_jw_kint(&w, "limit", 0);
        opg_jw_kint(&w, "offset", 0);
        opg_jw_key(&w, "errors");
        opg_jw_null(&w);
    }
    if (trace.truncated) {
        opg_jw_key(&w, "warnings");
        opg_jw_arr_begin(&w);
        opg_jw_cstr(&w, "the trace has more spans than max-trace-spans; the earliest were kept");
        opg_jw_arr_end(&w);
    }
    opg_jw_obj_end(&w);
    opg_trace_release(&trace);
    ret = opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
    opg_stats_observe_ns(&h_trace, opg_now_mono_ns() - t0);
    return ret;
}

static bool has_prefix(const char *s, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);

    if (strncmp(s, prefix, n) != 0)
        return false;
    *rest = s + n;
    return true;
}

enum MHD_Result opg_api_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_cls)
{
    struct api *api = cls;
    const char *rest = NULL;
    enum MHD_Result ret;

    /* No route takes a body: answer on the first call. */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        struct opg_buf b = OPG_BUF_INIT;
        opg_stats_add(&m_bad_requests, 1);
        opg_buf_addstr(&b, "{\"error\":{\"httpCode\":405,\"message\":\"only GET is supported\"}}");
        return opg_http_respond_buf_hdr(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", &b,
                                        MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    if (!strcmp(url, "/health"))
        return opg_http_health(conn, "otelpg-api");
    if (!strcmp(url, "/ready")) {
        struct opg_http_component comp = {"postgresql", false, ""};
        comp.ok = opg_pg_monitor_ok(api->monitor, comp.detail, sizeof(comp.detail));
        return opg_http_ready(conn, &comp, 1);
    }
    if (!strcmp(url, "/metrics"))
        return opg_http_metrics(conn);
    /* the page's own files hold no data: they load without a token, and the
     * page then sends one with its API calls */
    if (opg_api_web_dispatch(api, conn, url, &ret))
        return ret;
    if (!opg_http_authorized(conn, api->cfg.query_token)) {
        opg_stats_add(&m_bad_requests, 1);
        return opg_http_respond_unauthorized(conn);
    }
    if (opg_api_search_dispatch(api, conn, url, &ret))
        return ret;
    if (has_prefix(url, "/api/traces/", &rest) && *rest) {
        const char *slash = strchr(rest, '/');
        if (slash && !strcmp(slash, "/logs")) {
            char id[40];
            size_t n = (size_t)(slash - rest);
            if (n >= sizeof(id))
                n = sizeof(id) - 1; /* too long either way: the ID parser refuses it */
            memcpy(id, rest, n);
            id[n] = '\0';
            return opg_api_trace_logs(api, conn, id);
        }
    }
    if (!strcmp(url, "/api/logs"))
        return opg_api_logs(api, conn);
    if (!strcmp(url, "/api/metrics"))
        return opg_api_metrics_list(api, conn);
    if (!strcmp(url, "/api/metrics/query"))
        return opg_api_metrics_query(api, conn);
    if (opg_api_red_dispatch(api, conn, url, &ret))
        return ret;
    if (!strcmp(url, "/api/alerts"))
        return opg_api_alerts(api, conn);
    if (has_prefix(url, "/api/correlations/", &rest) && *rest && !strchr(rest, '/'))
        return opg_api_correlation(api, conn, rest);
    if (has_prefix(url, "/api/v3/traces/", &rest) && *rest && !strchr(rest, '/'))
        return get_trace(api, conn, ROUTE_V3_TRACE, rest);
    if (has_prefix(url, "/api/traces/", &rest) && *rest && !strchr(rest, '/'))
        return get_trace(api, conn, ROUTE_JAEGER_TRACE, rest);
    opg_stats_add(&m_bad_requests, 1);
    return opg_http_respond_error(conn, MHD_HTTP_NOT_FOUND, "no such endpoint");
}
