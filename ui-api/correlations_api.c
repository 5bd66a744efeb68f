/*
 * GET /api/correlations/{id}: everything about one request, across signals.
 *
 * The ID is looked up in the correlation index filled at ingest (never in
 * payloads): the traces that carry it, newest first, and the log records
 * that carry it without a trace. Then, for those: every span of each trace,
 * every log record of those traces or carrying the ID, and the metric
 * exemplars that point at those traces. A 32-hex ID is also taken as a trace
 * ID. Every part is bounded and says when it was cut.
 */
#include "correlations_api.h"
#include "codec.h"
#include "hex.h"
#include "http.h"
#include "jsonw.h"
#include "log.h"
#include "log_rows.h"
#include "metric_rows.h"
#include "otlp_json.h"
#include "params.h"
#include "reader.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TRACES 100
#define MAX_TRACES     1000
#define DEFAULT_LOGS   1000
#define MAX_LOGS       10000
#define MAX_METRICS    1000
#define MAX_ID_LEN     256
/* Spans returned per trace inside a correlation answer. */
#define MAX_SPANS_PER_TRACE 10000

static struct opg_histogram h_corr = OPG_HISTOGRAM_INIT(
    "otelpg_api_duration_seconds", "route=\"correlation\"", "Time to answer a correlation lookup.");

void opg_api_correlations_register_metrics(void)
{
    opg_stats_register_histogram(&h_corr);
}

struct refs {
    uint8_t (*ids)[16];
    size_t n;
    bool truncated;
};

static void refs_release(struct refs *r)
{
    free(r->ids);
    memset(r, 0, sizeof(*r));
}

static bool refs_has(const struct refs *r, const uint8_t id[16])
{
    for (size_t i = 0; i < r->n; i++)
        if (!memcmp(r->ids[i], id, 16))
            return true;
    return false;
}

/* (ref, time) rows of one index, newest first: PQgetvalue(res, i, 0 and 1), binary. */
static int64_t row_time(const PGresult *res, int r)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, r, 1);
    uint64_t v = 0;

    if (PQgetlength(res, r, 1) != 8)
        return INT64_MIN;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

/*
 * The refs of one kind that carry corr_id, newest first, at most limit
 * distinct ones. Traces carry it in their parts (trace_parts.corr_hash,
 * migration 014) and, for a part's further IDs, in correlations; log
 * records in correlations only. Each index is walked newest first for more
 * rows than needed (a trace may have a part per block and a row per day),
 * and the two are merged here. Two statements, not one: a statement that
 * locks trace_parts and then correlations can deadlock with the writer's
 * otelpg_ensure_day(), which creates their partitions in the other order.
 */
static int load_refs(PGconn *conn, const char *corr_id, int kind, int64_t start_ns, int64_t end_ns,
                     size_t limit, struct refs *out, char *err, size_t errlen)
{
    char kind_s[4], start_s[24], end_s[24], lim_s[24], hash_s[24];
    const char *params[5] = {corr_id, kind_s, start_s, end_s, lim_s};
    size_t cap = limit * (kind == OPG_CORR_TRACE ? 8 : 2) + 1;
    PGresult *res[2] = {NULL, NULL};
    int rows[2] = {0, 0}, at[2] = {0, 0};
    int ret = -1;

    snprintf(kind_s, sizeof(kind_s), "%d", kind);
    snprintf(start_s, sizeof(start_s), "%lld", (long long)start_ns);
    snprintf(end_s, sizeof(end_s), "%lld", (long long)end_ns);
    snprintf(lim_s, sizeof(lim_s), "%zu", cap);
    snprintf(hash_s, sizeof(hash_s), "%lld",
             (long long)(int64_t)opg_corr_hash(corr_id, strlen(corr_id)));
    res[0] = PQexecParams(conn,
                          "SELECT ref, time_ns FROM correlations WHERE corr_id = $1"
                          " AND kind = $2::smallint AND time_ns BETWEEN $3::bigint AND $4::bigint"
                          " ORDER BY time_ns DESC LIMIT $5::bigint",
                          5, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res[0]) != PGRES_TUPLES_OK)
        goto out_error;
    if (kind == OPG_CORR_TRACE) {
        const char *part_params[4] = {hash_s, start_s, end_s, lim_s};

        res[1] = PQexecParams(conn,
                              "SELECT trace_id, start_ns FROM trace_parts"
                              " WHERE corr_hash = $1::bigint"
                              " AND start_ns BETWEEN $2::bigint AND $3::bigint"
                              " ORDER BY start_ns DESC LIMIT $4::bigint",
                              4, NULL, part_params, NULL, NULL, 1);
        if (PQresultStatus(res[1]) != PGRES_TUPLES_OK)
            goto out_error;
    }
    for (int i = 0; i < 2; i++) {
        rows[i] = res[i] ? PQntuples(res[i]) : 0;
        if ((size_t)rows[i] == cap)
            out->truncated = true;
    }
    out->ids = opg_xcalloc((size_t)rows[0] + (size_t)rows[1] + 1, 16);
    while (at[0] < rows[0] || at[1] < rows[1]) {
        /* the newer of the two heads */
        int i = at[1] >= rows[1] ||
                        (at[0] < rows[0] && row_time(res[0], at[0]) >= row_time(res[1], at[1]))
                    ? 0
                    : 1;
        const uint8_t *ref = (const uint8_t *)PQgetvalue(res[i], at[i], 0);
        int len = PQgetlength(res[i], at[i], 0);

        at[i]++;
        if (len != 16 || refs_has(out, ref))
            continue;
        if (out->n == limit) {
            out->truncated = true;
            break;
        }
        memcpy(out->ids[out->n++], ref, 16);
    }
    ret = 0;
    goto out;
out_error:
    snprintf(err, errlen, "reading the correlation index: %s", PQerrorMessage(conn));
    err[strcspn(err, "\n")] = '\0';
out:
    PQclear(res[0]);
    PQclear(res[1]);
    return ret;
}

static void write_trace(struct opg_jw *w, const uint8_t id[16], const struct opg_trace *t)
{
    opg_jw_obj_begin(w);
    opg_jw_key(w, "traceID");
    opg_jw_hex(w, id, 16);
    opg_jw_key(w, "startTimeUnixNano");
    opg_jw_int_str(w, t->start_ns);
    opg_jw_key(w, "endTimeUnixNano");
    opg_jw_int_str(w, t->end_ns);
    opg_jw_key(w, "rootService");
    if (t->root_service[0])
        opg_jw_cstr(w, t->root_service);
    else
        opg_jw_null(w);
    opg_jw_key(w, "rootName");
    if (t->root_name[0])
        opg_jw_cstr(w, t->root_name);
    else
        opg_jw_null(w);
    opg_jw_kint(w, "spanCount", t->span_count);
    opg_jw_kint(w, "errorCount", t->error_count);
    opg_jw_kbool(w, "spansTruncated", t->truncated);
    opg_jw_key(w, "resourceSpans");
    opg_otlp_json_encode_resource_spans(w, t->rs, t->n_rs);
    opg_jw_obj_end(w);
}

/*
 * Writes "traces" and "tracesTruncated": the traces with stored spans. An ID
 * without spans still counts for the logs and exemplars: a log bridge stamps
 * the trace context even when head sampling dropped the trace's spans.
 */
static int write_traces(struct opg_jw *w, PGconn *conn, struct opg_codec *codec,
                        const struct refs *traces, char *err, size_t errlen)
{
    opg_jw_key(w, "traces");
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < traces->n; i++) {
        struct opg_trace t;
        int rc =
            opg_reader_get_trace(conn, codec, traces->ids[i], MAX_SPANS_PER_TRACE, &t, err, errlen);

        if (rc == OPG_READ_FOUND)
            write_trace(w, traces->ids[i], &t);
        opg_trace_release(&t);
        if (rc == OPG_READ_ERROR)
            return -1;
    }
    opg_jw_arr_end(w);
    opg_jw_kbool(w, "tracesTruncated", traces->truncated);
    return 0;
}

enum MHD_Result opg_api_correlation(struct api *api, struct MHD_Connection *c, const char *id)
{
    int64_t t0 = opg_now_mono_ns();
    int64_t start_ns = 0, end_ns = INT64_MAX;
    long long limit = DEFAULT_TRACES, log_limit = DEFAULT_LOGS;
    struct refs traces = {0}, records = {0};
    struct opg_codec *codec = opg_codec_thread(1);
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    char err[256] = "";
    bool logs_cut = false, metrics_cut = false;
    uint8_t as_trace[16];
    PGconn *conn = NULL;
    unsigned status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    enum MHD_Result ret;

    if (!*id || strlen(id) > MAX_ID_LEN) {
        snprintf(err, sizeof(err), "a correlation ID has 1 to %d characters", MAX_ID_LEN);
        return opg_http_respond_error(c, MHD_HTTP_BAD_REQUEST, err);
    }
    if (opg_param_time_ns(c, "start", &start_ns, err, sizeof(err)) < 0 ||
        opg_param_time_ns(c, "end", &end_ns, err, sizeof(err)) < 0 ||
        opg_param_int(c, "limit", 1, MAX_TRACES, &limit, err, sizeof(err)) < 0 ||
        opg_param_int(c, "logLimit", 1, MAX_LOGS, &log_limit, err, sizeof(err)) < 0)
        return opg_http_respond_error(c, MHD_HTTP_BAD_REQUEST, err);
    if (start_ns > end_ns)
        return opg_http_respond_error(c, MHD_HTTP_BAD_REQUEST, "start is after end");

    conn = opg_pg_pool_get(api->pool, err, sizeof(err));
    if (!conn || !codec) {
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
        goto out_error;
    }
    if (load_refs(conn, id, OPG_CORR_TRACE, start_ns, end_ns, (size_t)limit, &traces, err,
                  sizeof(err)) < 0 ||
        load_refs(conn, id, OPG_CORR_LOG, start_ns, end_ns, (size_t)log_limit, &records, err,
                  sizeof(err)) < 0)
        goto out_error;
    /* the key may be a trace ID itself */
    if (strlen(id) == 32 && opg_hex_decode(as_trace, 16, id, 32) == 0 &&
        !refs_has(&traces, as_trace)) {
        traces.ids = opg_xrealloc(traces.ids, (traces.n + 1) * 16);
        memmove(traces.ids[1], traces.ids[0], traces.n * 16);
        memcpy(traces.ids[0], as_trace, 16);
        traces.n++;
    }

    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "id", id);
    if (write_traces(&w, conn, codec, &traces, err, sizeof(err)) < 0)
        goto out_error;
    opg_jw_key(&w, "logs");
    if (opg_logs_write_for(conn, codec, (const uint8_t(*)[16])traces.ids, traces.n,
                           (const uint8_t(*)[16])records.ids, records.n, start_ns, end_ns,
                           (size_t)log_limit, &w, &logs_cut, err, sizeof(err)) < 0)
        goto out_error;
    opg_jw_kbool(&w, "logsTruncated", logs_cut || records.truncated);
    opg_jw_key(&w, "metrics");
    if (opg_metrics_write_exemplars_for(conn, codec, (const uint8_t(*)[16])traces.ids, traces.n,
                                        MAX_METRICS, &w, &metrics_cut, err, sizeof(err)) < 0)
        goto out_error;
    opg_jw_kbool(&w, "metricsTruncated", metrics_cut);
    opg_jw_obj_end(&w);

    opg_pg_pool_put(api->pool, conn);
    refs_release(&traces);
    refs_release(&records);
    ret = opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
    opg_stats_observe_ns(&h_corr, opg_now_mono_ns() - t0);
    return ret;

out_error:
    OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: correlation lookup: %s", err);
    opg_pg_pool_put(api->pool, conn);
    refs_release(&traces);
    refs_release(&records);
    opg_buf_release(&b);
    return opg_http_respond_error(c, status, err[0] ? err : "internal error");
}
