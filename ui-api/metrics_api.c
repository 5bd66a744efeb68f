#include "metrics_api.h"
#include "pgutil.h"
#include "codec.h"
#include "http.h"
#include "jsonw.h"
#include "log.h"
#include "metric_rows.h"
#include "metrics_math.h"
#include "params.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on one query's work; beyond them the answer says "truncated". */
#define MAX_LIST_METRICS 10000
#define MAX_SERIES       1000
#define MAX_POINTS       100000
#define MAX_STEPS        10000
#define TARGET_STEPS     120
#define DEFAULT_RANGE_NS (3600LL * 1000000000LL)
#define MIN_STEP_NS      1000000000LL
/* Distinct summary quantiles reported per series. */
#define MAX_QUANTILES 16
/* Decoded histogram points of one series. */
#define SERIES_ARENA_LIMIT (256u << 20)

typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint otlp_hist_t;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint otlp_exp_t;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint otlp_summary_t;

static const double hist_quantiles[] = {0.5, 0.9, 0.95, 0.99};
#define N_HIST_QUANTILES 4

static double be_double(const char *p)
{
    uint64_t bits = (uint64_t)opg_pg_int8(p);
    double d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}

static enum MHD_Result db_error(struct MHD_Connection *c, const char *what, PGconn *conn)
{
    char msg[300];

    snprintf(msg, sizeof(msg), "%s: %s", what, conn ? PQerrorMessage(conn) : "no connection");
    msg[strcspn(msg, "\n")] = '\0';
    OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: %s", msg);
    return opg_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
}

/* ---- GET /api/metrics ------------------------------------------------------------ */

enum MHD_Result opg_api_metrics_list(struct api *api, struct MHD_Connection *c)
{
    static const char sql[] =
        "SELECT name, kind, unit, max(description), bool_or(monotonic), max(temporality),"
        " count(*) FROM metric_series WHERE ($1::text IS NULL OR service = $1)"
        " GROUP BY name, kind, unit ORDER BY name, kind, unit LIMIT $2";
    char err[256] = "", lim[16];
    const char *params[2];
    const char *service;
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    PGconn *conn;
    PGresult *res;
    int rows;

    service = opg_param(c, "service", err, sizeof(err));
    if (err[0])
        return opg_http_respond_error(c, MHD_HTTP_BAD_REQUEST, err);
    conn = opg_pg_pool_get(api->pool, err, sizeof(err));
    if (!conn) {
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: %s", err);
        return opg_http_respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, err);
    }
    snprintf(lim, sizeof(lim), "%d", MAX_LIST_METRICS + 1);
    params[0] = service;
    params[1] = lim;
    res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        enum MHD_Result ret = db_error(c, "listing metrics", conn);
        PQclear(res);
        opg_pg_pool_put(api->pool, conn);
        return ret;
    }
    opg_pg_pool_put(api->pool, conn);

    rows = PQntuples(res);
    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "metrics");
    opg_jw_arr_begin(&w);
    for (int r = 0; r < rows && r < MAX_LIST_METRICS; r++) {
        int kind = atoi(PQgetvalue(res, r, 1));
        opg_jw_obj_begin(&w);
        opg_jw_kstr(&w, "name", PQgetvalue(res, r, 0));
        opg_jw_kstr(&w, "kind", opg_metric_kind_name(kind));
        opg_jw_kstr(&w, "unit", PQgetvalue(res, r, 2));
        opg_jw_kstr(&w, "description", PQgetvalue(res, r, 3));
        opg_jw_kbool(&w, "monotonic", PQgetvalue(res, r, 4)[0] == 't');
        opg_jw_kstr(&w, "temporality", opg_metric_temporality_name(atoi(PQgetvalue(res, r, 5))));
        opg_jw_kint(&w, "series", atoll(PQgetvalue(res, r, 6)));
        opg_jw_obj_end(&w);
    }
    opg_jw_arr_end(&w);
    opg_jw_kbool(&w, "truncated", rows > MAX_LIST_METRICS);
    opg_jw_obj_end(&w);
    PQclear(res);
    return opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
}

/* ---- GET /api/metrics/query: parameters ------------------------------------------ */

struct query {
    const char *name;
    const char *service; /* NULL: any */
    struct opg_attr_filter attrs[OPG_MAX_ATTR_FILTERS];
    size_t n_attrs;
    struct opg_mm_grid grid;
};

/* The smallest round step that keeps span within TARGET_STEPS steps. */
static int64_t default_step(int64_t span_ns)
{
    static const int64_t nice_s[] = {1,   2,   5,    10,   15,   30,    60,    120,   300,
                                     600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400};
    int64_t want = span_ns / TARGET_STEPS + (span_ns % TARGET_STEPS != 0);

    for (size_t i = 0; i < sizeof(nice_s) / sizeof(nice_s[0]); i++)
        if (nice_s[i] * 1000000000LL >= want)
            return nice_s[i] * 1000000000LL;
    return (want + 86400000000000LL - 1) / 86400000000000LL * 86400000000000LL;
}

/*
 * step: a duration ("60s", "5m"), or a plain number of seconds as Prometheus
 * takes it (params.h reads plain numbers as microseconds, Jaeger's unit for
 * durations, which nobody means for a chart step).
 */
static int parse_step(struct MHD_Connection *c, int64_t *out, char *err, size_t errlen)
{
    const char *v = opg_param(c, "step", err, errlen);
    char *end;
    double secs;

    if (!v)
        return err[0] ? -1 : OPG_PARAM_ABSENT;
    secs = strtod(v, &end);
    if (end != v && !*end && !isspace((unsigned char)*v)) {
        if (!(secs >= 0 && secs <= 9.2e9)) {
            snprintf(err, errlen, "parameter step: out of range, got '%.64s'", v);
            return -1;
        }
        *out = (int64_t)(secs * 1e9);
        return 0;
    }
    if (opg_parse_duration_ns(v, out) < 0) {
        snprintf(err, errlen,
                 "parameter step: expected seconds or a duration like 60s or 5m, got '%.64s'", v);
        return -1;
    }
    return 0;
}

static int parse_query(struct MHD_Connection *c, struct query *q, char *err, size_t errlen)
{
    int64_t start = 0, end = 0, step = 0;
    int rs, re, rstep;

    memset(q, 0, sizeof(*q));
    q->name = opg_param(c, "name", err, errlen);
    if (err[0])
        return -1;
    if (!q->name || !q->name[0]) {
        snprintf(err, errlen, "parameter name is required");
        return -1;
    }
    q->service = opg_param(c, "service", err, errlen);
    if (err[0] || opg_param_attrs(c, q->attrs, &q->n_attrs, err, errlen) < 0)
        return -1;
    rs = opg_param_time_ns(c, "start", &start, err, errlen);
    re = opg_param_time_ns(c, "end", &end, err, errlen);
    rstep = parse_step(c, &step, err, errlen);
    if (rs < 0 || re < 0 || rstep < 0)
        return -1;
    if (re == OPG_PARAM_ABSENT)
        end = opg_now_wall_ns();
    if (rs == OPG_PARAM_ABSENT)
        start = end - DEFAULT_RANGE_NS;
    if (start >= end) {
        snprintf(err, errlen, "start must be before end");
        return -1;
    }
    if (rstep == OPG_PARAM_ABSENT)
        step = default_step(end - start);
    if (step < MIN_STEP_NS) {
        snprintf(err, errlen, "parameter step: at least 1s");
        return -1;
    }
    /* Steps start at multiples of the step, so charts do not shift as time passes. */
    q->grid.step_ns = step;
    q->grid.start_ns = start - ((start % step) + step) % step;
    if ((end - q->grid.start_ns) / step >= MAX_STEPS) {
        snprintf(err, errlen, "start to end spans more than %d steps: use a larger step",
                 MAX_STEPS);
        return -1;
    }
    q->grid.n = (size_t)((end - q->grid.start_ns + step - 1) / step);
    q->grid.from_ns = q->grid.start_ns - step;
    return 0;
}

/* The attribute filters as one JSON object of strings, for jsonb_each_text. */
static char *filters_json(const struct query *q)
{
    json_t *o = json_object();
    char *s;

    for (size_t i = 0; i < q->n_attrs; i++)
        json_object_set_new(o, q->attrs[i].key, json_string(q->attrs[i].value));
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* ---- GET /api/metrics/query: computing one series -------------------------------- */

struct series {
    int64_t id;
    int kind, temporality;
    bool monotonic;
    int row; /* in the series result */
};

/* Scratch shared by the series of one query: grid-sized arrays, reused. */
struct work {
    const struct opg_mm_grid *g;
    struct opg_codec *codec;
    struct opg_buf scratch;
    struct opg_mm_sample *samples;
    double *out;
    bool *has;
    double qkey[MAX_QUANTILES];
    size_t n_qkeys;
    double *qout; /* MAX_QUANTILES x g->n */
    bool *qhas;
};

static void work_init(struct work *wk, const struct opg_mm_grid *g, struct opg_codec *codec)
{
    memset(wk, 0, sizeof(*wk));
    wk->g = g;
    wk->codec = codec;
    wk->out = opg_xcalloc(g->n, sizeof(*wk->out));
    wk->has = opg_xcalloc(g->n, sizeof(*wk->has));
    wk->qout = opg_xcalloc(MAX_QUANTILES * g->n, sizeof(*wk->qout));
    wk->qhas = opg_xcalloc(MAX_QUANTILES * g->n, sizeof(*wk->qhas));
}

static void work_release(struct work *wk)
{
    opg_buf_release(&wk->scratch);
    free(wk->samples);
    free(wk->out);
    free(wk->has);
    free(wk->qout);
    free(wk->qhas);
}

/* Which quantile slot q has, adding it if there is room; -1 if none. */
static int qslot(struct work *wk, double q)
{
    for (size_t i = 0; i < wk->n_qkeys; i++)
        if (wk->qkey[i] == q)
            return (int)i;
    if (wk->n_qkeys == MAX_QUANTILES || !(q >= 0 && q <= 1))
        return -1;
    wk->qkey[wk->n_qkeys] = q;
    return (int)wk->n_qkeys++;
}

static void qset(struct work *wk, int slot, long step, double v)
{
    if (slot < 0 || isnan(v))
        return;
    wk->qout[(size_t)slot * wk->g->n + (size_t)step] = v;
    wk->qhas[(size_t)slot * wk->g->n + (size_t)step] = true;
}

/* One step's merged histogram, explicit or exponential. */
struct step_hist {
    long step; /* -1: nothing yet */
    size_t n_counts;
    const double *bounds; /* borrowed from a decoded point */
    size_t n_bounds;
    double *counts;
    struct opg_mm_expo expo;
    double min, max;
};

static void step_flush(struct work *wk, struct step_hist *h, int kind)
{
    if (h->step >= 0) {
        for (int k = 0; k < N_HIST_QUANTILES; k++) {
            double q = hist_quantiles[k];
            double v = kind == OPG_METRIC_HISTOGRAM
                           ? opg_mm_hist_quantile(q, h->bounds, h->n_bounds, h->counts, h->n_counts,
                                                  h->min, h->max)
                           : opg_mm_expo_quantile(q, &h->expo, h->min, h->max);
            qset(wk, qslot(wk, q), h->step, v);
        }
    }
    free(h->counts);
    opg_mm_expo_release(&h->expo);
    memset(h, 0, sizeof(*h));
    h->step = -1;
    h->min = h->max = NAN;
}

static bool same_layout(const otlp_hist_t *a, const otlp_hist_t *b)
{
    return a->n_bucket_counts == b->n_bucket_counts &&
           a->n_explicit_bounds == b->n_explicit_bounds &&
           !memcmp(a->explicit_bounds, b->explicit_bounds,
                   a->n_explicit_bounds * sizeof(*a->explicit_bounds));
}

/* Merges min and max of a point into the step's: unknown once any point lacks them. */
static void step_minmax(struct step_hist *h, bool first, bool has_min, double min, bool has_max,
                        double max)
{
    if (first) {
        h->min = has_min ? min : NAN;
        h->max = has_max ? max : NAN;
        return;
    }
    h->min = has_min && !isnan(h->min) ? fmin(h->min, min) : NAN;
    h->max = has_max && !isnan(h->max) ? fmax(h->max, max) : NAN;
}

/*
 * The increase an explicit-bucket point adds: itself for delta points, the
 * difference from the previous point for cumulative ones (itself after a
 * reset). false when it adds nothing known (the first point of a stream
 * that began before what was read).
 */
static bool hist_increase(const otlp_hist_t *prev, const otlp_hist_t *p, bool delta,
                          int64_t from_ns, double *inc)
{
    bool reset = false;

    if (!delta && !prev && (int64_t)p->start_time_unix_nano < from_ns)
        return false;
    if (!delta && prev && prev->start_time_unix_nano == p->start_time_unix_nano &&
        same_layout(prev, p)) {
        for (size_t i = 0; i < p->n_bucket_counts && !reset; i++)
            reset = p->bucket_counts[i] < prev->bucket_counts[i];
        if (!reset) {
            for (size_t i = 0; i < p->n_bucket_counts; i++)
                inc[i] = (double)(p->bucket_counts[i] - prev->bucket_counts[i]);
            return true;
        }
    }
    for (size_t i = 0; i < p->n_bucket_counts; i++)
        inc[i] = (double)p->bucket_counts[i];
    return true;
}

static void hist_point(struct work *wk, struct step_hist *h, const otlp_hist_t *prev,
                       const otlp_hist_t *p, bool delta, double *inc)
{
    long b = opg_mm_step_of(wk->g, (int64_t)p->time_unix_nano);
    bool first;

    if (!hist_increase(prev, p, delta, wk->g->from_ns, inc) || b < 0)
        return;
    if (b != h->step) {
        step_flush(wk, h, OPG_METRIC_HISTOGRAM);
        h->step = b;
        h->n_counts = p->n_bucket_counts;
        h->bounds = p->explicit_bounds;
        h->n_bounds = p->n_explicit_bounds;
        h->counts = opg_xcalloc(h->n_counts ? h->n_counts : 1, sizeof(*h->counts));
        first = true;
    } else {
        /* a layout change inside one step: the step keeps its first layout */
        if (h->n_counts != p->n_bucket_counts || h->n_bounds != p->n_explicit_bounds ||
            memcmp(h->bounds, p->explicit_bounds, h->n_bounds * sizeof(*h->bounds)))
            return;
        first = false;
    }
    for (size_t i = 0; i < h->n_counts; i++)
        h->counts[i] += inc[i];
    step_minmax(h, first, p->min_present_case != 0, p->min, p->max_present_case != 0, p->max);
}

static void expo_load(struct opg_mm_expo *e, const otlp_exp_t *p)
{
    opg_mm_expo_add(e, p->scale, p->positive ? p->positive->offset : 0,
                    p->positive ? p->positive->bucket_counts : NULL,
                    p->positive ? p->positive->n_bucket_counts : 0, p->zero_count, 1);
}

static void expo_point(struct work *wk, struct step_hist *h, const otlp_exp_t *prev,
                       const otlp_exp_t *p, bool delta)
{
    long b = opg_mm_step_of(wk->g, (int64_t)p->time_unix_nano);
    struct opg_mm_expo inc = {0};
    bool first = false;

    if (b < 0 || (!delta && !prev && (int64_t)p->start_time_unix_nano < wk->g->from_ns))
        return;
    expo_load(&inc, p);
    if (!delta && prev && prev->start_time_unix_nano == p->start_time_unix_nano) {
        struct opg_mm_expo before = {0};
        expo_load(&before, prev);
        opg_mm_expo_merge(&inc, &before, -1);
        opg_mm_expo_release(&before);
        if (opg_mm_expo_negative(&inc)) { /* a reset: the new point counts whole */
            opg_mm_expo_release(&inc);
            expo_load(&inc, p);
        }
    }
    if (b != h->step) {
        step_flush(wk, h, OPG_METRIC_EXP_HISTOGRAM);
        h->step = b;
        first = true;
    }
    opg_mm_expo_merge(&h->expo, &inc, 1);
    step_minmax(h, first, p->min_present_case != 0, p->min, p->max_present_case != 0, p->max);
    opg_mm_expo_release(&inc);
}

static void summary_point(struct work *wk, const otlp_summary_t *p)
{
    long b = opg_mm_step_of(wk->g, (int64_t)p->time_unix_nano);

    if (b < 0)
        return;
    for (size_t i = 0; i < p->n_quantile_values; i++)
        qset(wk, qslot(wk, p->quantile_values[i]->quantile), b, p->quantile_values[i]->value);
}

/* Percentiles of a histogram or summary series from the payloads of rows [from, to). */
static void series_percentiles(struct work *wk, const struct series *s, PGresult *pts, int from,
                               int to)
{
    struct opg_arena *arena = opg_arena_create(SERIES_ARENA_LIMIT);
    bool delta = s->temporality == OPG_TEMPORALITY_DELTA;
    struct step_hist h = {.step = -1, .min = NAN, .max = NAN};
    ProtobufCMessage *prev = NULL;
    double *inc = NULL;
    size_t inc_cap = 0;

    for (int r = from; r < to; r++) {
        ProtobufCMessage *p;

        if (PQgetisnull(pts, r, 5))
            continue;
        p = opg_metrics_decode_point(arena, wk->codec, s->kind,
                                     (const uint8_t *)PQgetvalue(pts, r, 5),
                                     (size_t)PQgetlength(pts, r, 5), &wk->scratch);
        if (!p)
            continue; /* corrupt or past the arena bound: left out */
        if (s->kind == OPG_METRIC_HISTOGRAM) {
            const otlp_hist_t *hp = (const otlp_hist_t *)p;
            if (hp->n_bucket_counts > inc_cap) {
                inc_cap = hp->n_bucket_counts;
                inc = opg_xrealloc(inc, inc_cap * sizeof(*inc));
            }
            hist_point(wk, &h, (const otlp_hist_t *)prev, hp, delta, inc);
        } else if (s->kind == OPG_METRIC_EXP_HISTOGRAM) {
            expo_point(wk, &h, (const otlp_exp_t *)prev, (const otlp_exp_t *)p, delta);
        } else {
            summary_point(wk, (const otlp_summary_t *)p);
        }
        prev = p;
    }
    step_flush(wk, &h, s->kind);
    free(inc);
    opg_arena_destroy(arena);
}

static enum opg_mm_mode series_mode(const struct series *s)
{
    switch (s->kind) {
    case OPG_METRIC_SUM:
        if (s->temporality == OPG_TEMPORALITY_DELTA)
            return OPG_MM_DELTA_RATE;
        if (s->temporality == OPG_TEMPORALITY_CUMULATIVE && s->monotonic)
            return OPG_MM_CUMULATIVE_RATE;
        return OPG_MM_LAST;
    case OPG_METRIC_HISTOGRAM:
    case OPG_METRIC_EXP_HISTOGRAM:
        return s->temporality == OPG_TEMPORALITY_DELTA ? OPG_MM_DELTA_RATE : OPG_MM_CUMULATIVE_RATE;
    case OPG_METRIC_SUMMARY:
        return OPG_MM_CUMULATIVE_RATE; /* of the count: summaries are cumulative */
    }
    return OPG_MM_LAST;
}

static void write_steps(struct opg_jw *w, const struct opg_mm_grid *g, const double *v,
                        const bool *has)
{
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < g->n; i++) {
        if (!has[i])
            continue;
        opg_jw_arr_begin(w);
        opg_jw_int(w, (g->start_ns + (int64_t)i * g->step_ns) / 1000000);
        opg_jw_double(w, v[i]);
        opg_jw_arr_end(w);
    }
    opg_jw_arr_end(w);
}

/* Writes one series with its points, rows [from, to) of pts (time order). */
static void write_series(struct opg_jw *w, struct work *wk, const struct series *s,
                         PGresult *series_res, PGresult *pts, int from, int to)
{
    size_t n = 0;

    wk->samples = opg_xrealloc(wk->samples, (size_t)(to - from + 1) * sizeof(*wk->samples));
    for (int r = from; r < to; r++) {
        int col = s->kind == OPG_METRIC_GAUGE || s->kind == OPG_METRIC_SUM ? 3 : 4;
        if (PQgetisnull(pts, r, col))
            continue;
        wk->samples[n].time_ns = opg_pg_int8(PQgetvalue(pts, r, 1));
        wk->samples[n].start_ns = opg_pg_int8(PQgetvalue(pts, r, 2));
        wk->samples[n].v = col == 3 ? be_double(PQgetvalue(pts, r, 3))
                                    : (double)opg_pg_int8(PQgetvalue(pts, r, 4));
        n++;
    }
    opg_mm_reduce(wk->g, series_mode(s), wk->samples, n, wk->out, wk->has);

    opg_jw_obj_begin(w);
    opg_jw_kstr(w, "service", PQgetvalue(series_res, s->row, 5));
    opg_jw_key(w, "attributes");
    opg_jw_raw(w, PQgetvalue(series_res, s->row, 6), (size_t)PQgetlength(series_res, s->row, 6));
    opg_jw_key(w, "values");
    write_steps(w, wk->g, wk->out, wk->has);
    if (s->kind >= OPG_METRIC_HISTOGRAM) {
        memset(wk->qhas, 0, MAX_QUANTILES * wk->g->n * sizeof(*wk->qhas));
        wk->n_qkeys = 0;
        if (s->kind != OPG_METRIC_SUMMARY)
            for (int k = 0; k < N_HIST_QUANTILES; k++)
                qslot(wk, hist_quantiles[k]); /* every key present, even when empty */
        series_percentiles(wk, s, pts, from, to);
        opg_jw_key(w, "percentiles");
        opg_jw_obj_begin(w);
        for (size_t k = 0; k < wk->n_qkeys; k++) {
            char key[32];
            snprintf(key, sizeof(key), "%g", wk->qkey[k]);
            opg_jw_key(w, key);
            write_steps(w, wk->g, wk->qout + k * wk->g->n, wk->qhas + k * wk->g->n);
        }
        opg_jw_obj_end(w);
    }
    opg_jw_obj_end(w);
}

/* ---- GET /api/metrics/query -------------------------------------------------------- */

static PGresult *fetch_series(PGconn *conn, const struct query *q)
{
    static const char sql[] =
        "SELECT id, kind, temporality, monotonic, unit, service, attributes::text, description"
        " FROM metric_series s WHERE name = $1 AND ($2::text IS NULL OR service = $2)"
        " AND NOT EXISTS (SELECT 1 FROM jsonb_each_text($3::jsonb) f"
        "   WHERE s.attributes->>f.key IS DISTINCT FROM f.value)"
        " ORDER BY kind, unit, id LIMIT $4";
    char *filters = filters_json(q);
    char lim[16];
    const char *params[4];
    PGresult *res;

    snprintf(lim, sizeof(lim), "%d", MAX_SERIES + 1);
    params[0] = q->name;
    params[1] = q->service;
    params[2] = filters ? filters : "{}";
    params[3] = lim;
    res = PQexecParams(conn, sql, 4, NULL, params, NULL, NULL, 0);
    free(filters);
    return res;
}

static PGresult *fetch_points(PGconn *conn, const struct query *q, const struct series *s, size_t n,
                              bool payloads)
{
    static const char sql[] =
        "SELECT series_id, time_ns, start_ns, value, count, CASE WHEN $4 THEN payload END"
        " FROM metric_points WHERE series_id = ANY($1::bigint[])"
        " AND time_ns >= $2 AND time_ns < $3 ORDER BY series_id, time_ns LIMIT $5";
    struct opg_buf ids = OPG_BUF_INIT;
    char from[24], to[24], lim[16];
    const char *params[5];
    PGresult *res;

    opg_buf_addch(&ids, '{');
    for (size_t i = 0; i < n; i++)
        opg_buf_addf(&ids, "%s%lld", i ? "," : "", (long long)s[i].id);
    opg_buf_addch(&ids, '}');
    snprintf(from, sizeof(from), "%lld", (long long)q->grid.from_ns);
    snprintf(to, sizeof(to), "%lld",
             (long long)(q->grid.start_ns + (int64_t)q->grid.n * q->grid.step_ns));
    snprintf(lim, sizeof(lim), "%d", MAX_POINTS + 1);
    params[0] = ids.data;
    params[1] = from;
    params[2] = to;
    params[3] = payloads ? "true" : "false";
    params[4] = lim;
    res = PQexecParams(conn, sql, 5, NULL, params, NULL, NULL, 1);
    opg_buf_release(&ids);
    return res;
}

enum MHD_Result opg_api_metrics_query(struct api *api, struct MHD_Connection *c)
{
    char err[256] = "";
    struct query q;
    struct opg_codec *codec = opg_codec_thread(1);
    PGconn *conn = NULL;
    PGresult *sres = NULL, *pres = NULL;
    struct series *series = NULL;
    size_t n_series = 0;
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    struct work wk;
    bool truncated = false;
    int kind = 0, rows, p = 0;
    enum MHD_Result ret;

    if (parse_query(c, &q, err, sizeof(err)) < 0)
        return opg_http_respond_error(c, MHD_HTTP_BAD_REQUEST, err);
    conn = opg_pg_pool_get(api->pool, err, sizeof(err));
    if (!conn || !codec) {
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: %s", err[0] ? err : "no codec");
        ret = opg_http_respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, err[0] ? err : "no codec");
        goto out_put_conn;
    }
    sres = fetch_series(conn, &q);
    if (PQresultStatus(sres) != PGRES_TUPLES_OK) {
        ret = db_error(c, "reading metric series", conn);
        goto out_clear;
    }
    rows = PQntuples(sres);
    if (rows > MAX_SERIES) {
        truncated = true;
        rows = MAX_SERIES;
    }
    series = opg_xcalloc(rows ? (size_t)rows : 1, sizeof(*series));
    /* One name may have been sent with several kinds or units: the first wins. */
    for (int r = 0; r < rows; r++) {
        struct series *s = &series[n_series];
        if (r > 0 && (atoi(PQgetvalue(sres, r, 1)) != kind ||
                      strcmp(PQgetvalue(sres, r, 4), PQgetvalue(sres, 0, 4))))
            continue;
        s->id = atoll(PQgetvalue(sres, r, 0));
        s->kind = kind = atoi(PQgetvalue(sres, r, 1));
        s->temporality = atoi(PQgetvalue(sres, r, 2));
        s->monotonic = PQgetvalue(sres, r, 3)[0] == 't';
        s->row = r;
        n_series++;
    }
    if (n_series) {
        pres = fetch_points(conn, &q, series, n_series, kind >= OPG_METRIC_HISTOGRAM);
        if (PQresultStatus(pres) != PGRES_TUPLES_OK) {
            ret = db_error(c, "reading metric points", conn);
            goto out_clear;
        }
    }
    opg_pg_pool_put(api->pool, conn);
    conn = NULL;

    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "name", q.name);
    opg_jw_key(&w, "kind");
    if (n_series)
        opg_jw_cstr(&w, opg_metric_kind_name(kind));
    else
        opg_jw_null(&w);
    opg_jw_kstr(&w, "unit", n_series ? PQgetvalue(sres, 0, 4) : "");
    opg_jw_kstr(&w, "description", n_series ? PQgetvalue(sres, 0, 7) : "");
    opg_jw_key(&w, "step");
    opg_jw_double(&w, (double)q.grid.step_ns / 1e9);
    opg_jw_key(&w, "series");
    opg_jw_arr_begin(&w);
    work_init(&wk, &q.grid, codec);
    rows = pres ? PQntuples(pres) : 0;
    if (rows > MAX_POINTS) {
        truncated = true;
        rows = MAX_POINTS;
    }
    /* Both lists are ordered by series ID: walk them together. */
    for (size_t i = 0; i < n_series; i++) {
        int from;
        while (p < rows && opg_pg_int8(PQgetvalue(pres, p, 0)) < series[i].id)
            p++;
        from = p;
        while (p < rows && opg_pg_int8(PQgetvalue(pres, p, 0)) == series[i].id)
            p++;
        write_series(&w, &wk, &series[i], sres, pres, from, p);
    }
    work_release(&wk);
    opg_jw_arr_end(&w);
    opg_jw_kbool(&w, "truncated", truncated);
    opg_jw_obj_end(&w);
    ret = opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
out_clear:
    PQclear(pres);
    PQclear(sres);
    free(series);
out_put_conn:
    if (conn)
        opg_pg_pool_put(api->pool, conn);
    return ret;
}
