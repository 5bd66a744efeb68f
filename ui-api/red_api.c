#include "red_api.h"
#include "buf.h"
#include "http.h"
#include "jsonw.h"
#include "log.h"
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BUCKET_NS        10000000000LL /* the RED buckets of migration 011 */
#define LATENCY_BUCKETS  128
#define MAX_SERVICES     100
#define MAX_STEPS        10000
#define MAX_SERIES       1000
#define DEFAULT_LOOKBACK (3600LL * 1000000000LL)
#define DEFAULT_STEP     (60LL * 1000000000LL)
#define NS_PER_DAY       (86400LL * 1000000000LL)

enum red_metric { RED_CALLS, RED_ERRORS, RED_LATENCIES };

static const char *const span_kinds[] = {"unspecified", "internal", "server",
                                         "client",      "producer", "consumer"};

/* {"a","b"}: a text[] literal, each element quoted and escaped. */
static void pg_array(struct opg_buf *b, const char *const *v, size_t n)
{
    opg_buf_addch(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            opg_buf_addch(b, ',');
        opg_buf_addch(b, '"');
        for (const char *p = v[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                opg_buf_addch(b, '\\');
            opg_buf_addch(b, *p);
        }
        opg_buf_addch(b, '"');
    }
    opg_buf_addch(b, '}');
    opg_buf_addch(b, '\0');
}

struct collect {
    const char *values[MAX_SERVICES];
    size_t n;
    bool too_many;
    const char *name;
};

static enum MHD_Result collect_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct collect *c = cls;

    if (strcmp(key, c->name) != 0 || !value)
        return MHD_YES;
    if (c->n == MAX_SERVICES || strlen(value) > OPG_PARAM_MAX_LEN) {
        c->too_many = true;
        return MHD_NO;
    }
    c->values[c->n++] = value;
    return MHD_YES;
}

/* Milliseconds, as Jaeger's metrics API takes them, or absent. 0, OPG_PARAM_ABSENT or -1. */
static int param_ms(struct MHD_Connection *c, const char *name, int64_t *out_ns, char *err,
                    size_t n)
{
    long long v;
    int rc = opg_param_int(c, name, 0, 1LL << 50, &v, err, n);

    if (rc == 0)
        *out_ns = v * 1000000LL;
    return rc;
}

static double quantile_ms(const double *hist, double q)
{
    double total = 0, target, cum = 0;

    for (int b = 0; b < LATENCY_BUCKETS; b++)
        total += hist[b];
    target = q * total;
    for (int b = 0; b < LATENCY_BUCKETS; b++) {
        if (hist[b] > 0 && cum + hist[b] >= target)
            return pow(2.0, (b + (target - cum) / hist[b]) / 4.0) / 1000.0;
        cum += hist[b];
    }
    return pow(2.0, LATENCY_BUCKETS / 4.0) / 1000.0;
}

static void rfc3339(int64_t ns, char out[48])
{
    time_t s = (time_t)(ns / 1000000000LL);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

struct point {
    double calls, errors;
};

static void emit_series(struct opg_jw *w, enum red_metric m, const char *service,
                        const char *operation, const struct point *pts, double *const *hists,
                        int nsteps, int64_t start_ns, int64_t step_ns, double quantile)
{
    char ts[48];

    opg_jw_obj_begin(w);
    opg_jw_key(w, "labels");
    opg_jw_arr_begin(w);
    opg_jw_obj_begin(w);
    opg_jw_kstr(w, "name", "service_name");
    opg_jw_kstr(w, "value", service);
    opg_jw_obj_end(w);
    if (operation) {
        opg_jw_obj_begin(w);
        opg_jw_kstr(w, "name", "operation");
        opg_jw_kstr(w, "value", operation);
        opg_jw_obj_end(w);
    }
    opg_jw_arr_end(w);
    opg_jw_key(w, "metricPoints");
    opg_jw_arr_begin(w);
    for (int i = 0; i < nsteps; i++) {
        double v;

        if (pts[i].calls <= 0)
            continue; /* no calls: no point, as a Prometheus query answers */
        if (m == RED_CALLS)
            v = pts[i].calls / ((double)step_ns / 1e9);
        else if (m == RED_ERRORS)
            v = pts[i].errors / pts[i].calls;
        else
            v = quantile_ms(hists[i], quantile);
        opg_jw_obj_begin(w);
        opg_jw_key(w, "gaugeValue");
        opg_jw_obj_begin(w);
        opg_jw_key(w, "doubleValue");
        opg_jw_double(w, v);
        opg_jw_obj_end(w);
        rfc3339(start_ns + (i + 1) * step_ns, ts);
        opg_jw_kstr(w, "timestamp", ts);
        opg_jw_obj_end(w);
    }
    opg_jw_arr_end(w);
    opg_jw_obj_end(w);
}

static enum MHD_Result red_query(struct api *api, struct MHD_Connection *c, enum red_metric m)
{
    static const char sql[] = "SELECT service, CASE WHEN $6::boolean THEN operation END,"
                              " ((bucket_ns - $3::bigint) / $5::bigint)::int, latency_bucket,"
                              " sum(calls)::float8, sum(errors)::float8 FROM red_all"
                              " WHERE service = ANY($1::text[]) AND kind = ANY($2::smallint[])"
                              " AND bucket_ns >= $3::bigint AND bucket_ns < $4::bigint"
                              " AND day BETWEEN $7::integer AND $8::integer"
                              " GROUP BY 1, 2, 3, 4 ORDER BY service COLLATE \"C\","
                              " (CASE WHEN $6::boolean THEN operation END) COLLATE \"C\", 3, 4";
    char err[256] = "", p_start[24], p_end[24], p_step[24], p_d0[16], p_d1[16];
    struct collect services = {.name = "service"}, kinds = {.name = "spanKind"};
    struct opg_buf svc_arr = OPG_BUF_INIT, kind_arr = OPG_BUF_INIT, out = OPG_BUF_INIT;
    const char *kind_vals[6];
    const char *p[8];
    int64_t end_ns = opg_now_wall_ns(), lookback_ns = DEFAULT_LOOKBACK, step_ns = DEFAULT_STEP,
            rate_ns = 0, start_ns;
    double quantile = 0.95;
    bool group_op = false;
    const char *v;
    int nsteps = 0, n_series = 0;
    struct point *pts = NULL;
    double **hists = NULL;
    PGconn *conn;
    PGresult *res = NULL;
    struct opg_jw w;
    unsigned status = MHD_HTTP_BAD_REQUEST;
    enum MHD_Result ret;

    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_value, &services);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_value, &kinds);
    if (services.too_many || kinds.too_many) {
        snprintf(err, sizeof(err), "at most %d services or span kinds", MAX_SERVICES);
        goto out_error;
    }
    if (!services.n) {
        snprintf(err, sizeof(err), "please provide at least one service name (service=)");
        goto out_error;
    }
    for (size_t i = 0; i < kinds.n; i++) {
        const char *k = kinds.values[i];
        int found = -1;

        if (!strncasecmp(k, "SPAN_KIND_", 10))
            k += 10;
        for (int j = 0; j < 6; j++)
            if (!strcasecmp(k, span_kinds[j]))
                found = j;
        if (found < 0) {
            snprintf(err, sizeof(err),
                     "unsupported spanKind: unspecified, internal, server, client, producer or "
                     "consumer");
            goto out_error;
        }
        static const char *const digits[] = {"0", "1", "2", "3", "4", "5"};
        kind_vals[i] = digits[found];
    }
    if (!kinds.n) {
        kind_vals[0] = "2"; /* server, as Jaeger defaults */
        kinds.n = 1;
    }
    if (param_ms(c, "endTs", &end_ns, err, sizeof(err)) < 0 ||
        param_ms(c, "lookback", &lookback_ns, err, sizeof(err)) < 0 ||
        param_ms(c, "step", &step_ns, err, sizeof(err)) < 0 ||
        param_ms(c, "ratePer", &rate_ns, err, sizeof(err)) < 0)
        goto out_error;
    v = opg_param(c, "groupByOperation", err, sizeof(err));
    if (err[0])
        goto out_error;
    if (v) {
        if (!strcmp(v, "true") || !strcmp(v, "1"))
            group_op = true;
        else if (strcmp(v, "false") && strcmp(v, "0")) {
            snprintf(err, sizeof(err), "groupByOperation: true or false");
            goto out_error;
        }
    }
    v = opg_param(c, "quantile", err, sizeof(err));
    if (err[0])
        goto out_error;
    if (m == RED_LATENCIES) {
        char *end = NULL;

        if (!v) {
            snprintf(err, sizeof(err), "please provide a quantile between 0 and 1");
            goto out_error;
        }
        quantile = strtod(v, &end);
        if (end == v || *end || !(quantile > 0 && quantile < 1)) {
            snprintf(err, sizeof(err), "quantile: a number between 0 and 1 (exclusive)");
            goto out_error;
        }
    }
    /* the stored buckets are 10 s: a step is a whole number of them */
    step_ns = (step_ns + BUCKET_NS - 1) / BUCKET_NS * BUCKET_NS;
    if (step_ns < BUCKET_NS)
        step_ns = BUCKET_NS;
    if (lookback_ns <= 0 || lookback_ns / step_ns > MAX_STEPS) {
        snprintf(err, sizeof(err), "lookback / step: 1 to %d points", MAX_STEPS);
        goto out_error;
    }
    end_ns = end_ns / BUCKET_NS * BUCKET_NS;
    nsteps = (int)((lookback_ns + step_ns - 1) / step_ns);
    start_ns = end_ns - (int64_t)nsteps * step_ns;

    pg_array(&svc_arr, services.values, services.n);
    pg_array(&kind_arr, kind_vals, kinds.n);
    snprintf(p_start, sizeof(p_start), "%lld", (long long)start_ns);
    snprintf(p_end, sizeof(p_end), "%lld", (long long)end_ns);
    snprintf(p_step, sizeof(p_step), "%lld", (long long)step_ns);
    snprintf(p_d0, sizeof(p_d0), "%lld", (long long)(start_ns / NS_PER_DAY));
    snprintf(p_d1, sizeof(p_d1), "%lld", (long long)(end_ns / NS_PER_DAY));
    p[0] = svc_arr.data;
    p[1] = kind_arr.data;
    p[2] = p_start;
    p[3] = p_end;
    p[4] = p_step;
    p[5] = group_op ? "true" : "false";
    p[6] = p_d0;
    p[7] = p_d1;
    conn = opg_pg_pool_get(api->pool, err, sizeof(err));
    if (!conn) {
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
        goto out_error;
    }
    res = PQexecParams(conn, sql, 8, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, sizeof(err), "reading RED metrics: %s", PQerrorMessage(conn));
        err[strcspn(err, "\n")] = '\0';
        opg_pg_pool_put(api->pool, conn);
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        goto out_error;
    }
    opg_pg_pool_put(api->pool, conn);

    pts = opg_xcalloc((size_t)nsteps, sizeof(*pts));
    if (m == RED_LATENCIES) {
        hists = opg_xcalloc((size_t)nsteps, sizeof(*hists));
        for (int i = 0; i < nsteps; i++)
            hists[i] = opg_xcalloc(LATENCY_BUCKETS, sizeof(double));
    }
    opg_jw_init(&w, &out);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "name",
                m == RED_CALLS    ? "service_call_rate"
                : m == RED_ERRORS ? "service_error_rate"
                                  : "service_latencies");
    opg_jw_kstr(&w, "type", "GAUGE");
    opg_jw_kstr(&w, "help",
                m == RED_CALLS    ? (group_op ? "calls/sec, grouped by service & operation"
                                              : "calls/sec, grouped by service")
                : m == RED_ERRORS ? (group_op ? "error rate, computed as a fraction of errors/sec "
                                                "over calls/sec, grouped by service & operation"
                                              : "error rate, computed as a fraction of errors/sec "
                                                "over calls/sec, grouped by service")
                                  : (group_op ? "latency in ms, grouped by service & operation"
                                              : "latency in ms, grouped by service"));
    opg_jw_key(&w, "metrics");
    opg_jw_arr_begin(&w);
    for (int r = 0, n = PQntuples(res); r < n && n_series < MAX_SERIES; r++) {
        int i = atoi(PQgetvalue(res, r, 2)), lb = atoi(PQgetvalue(res, r, 3));
        bool last;

        if (i >= 0 && i < nsteps) {
            pts[i].calls += atof(PQgetvalue(res, r, 4));
            pts[i].errors += atof(PQgetvalue(res, r, 5));
            if (hists && lb >= 0 && lb < LATENCY_BUCKETS)
                hists[i][lb] += atof(PQgetvalue(res, r, 4));
        }
        last = r + 1 == n || strcmp(PQgetvalue(res, r + 1, 0), PQgetvalue(res, r, 0)) ||
               strcmp(PQgetvalue(res, r + 1, 1), PQgetvalue(res, r, 1));
        if (!last)
            continue;
        emit_series(&w, m, PQgetvalue(res, r, 0), group_op ? PQgetvalue(res, r, 1) : NULL, pts,
                    hists, nsteps, start_ns, step_ns, quantile);
        n_series++;
        memset(pts, 0, (size_t)nsteps * sizeof(*pts));
        for (int k = 0; hists && k < nsteps; k++)
            memset(hists[k], 0, LATENCY_BUCKETS * sizeof(double));
    }
    opg_jw_arr_end(&w);
    opg_jw_obj_end(&w);
    (void)rate_ns; /* rates are per second over each step (the buckets' resolution) */
    ret = opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &out);
    goto out;
out_error:
    ret = opg_http_respond_error(c, status, err);
out:
    PQclear(res);
    free(pts);
    for (int k = 0; hists && k < nsteps; k++)
        free(hists[k]);
    free(hists);
    opg_buf_release(&svc_arr);
    opg_buf_release(&kind_arr);
    opg_buf_release(&out);
    return ret;
}

bool opg_api_red_dispatch(struct api *api, struct MHD_Connection *c, const char *url,
                          enum MHD_Result *ret)
{
    if (!strcmp(url, "/api/metrics/calls"))
        *ret = red_query(api, c, RED_CALLS);
    else if (!strcmp(url, "/api/metrics/errors"))
        *ret = red_query(api, c, RED_ERRORS);
    else if (!strcmp(url, "/api/metrics/latencies"))
        *ret = red_query(api, c, RED_LATENCIES);
    else
        return false;
    return true;
}
