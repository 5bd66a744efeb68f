#include "alerts.h"
#include "buf.h"
#include "detector.h"
#include "jsonw.h"
#include "log.h"
#include "pgutil.h"
#include "stats.h"
#include "webhook.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_DAY (86400LL * 1000000000LL)
#define BUCKET_NS  10000000000LL /* the RED buckets of migration 011 */
/* Any number unique to otelpg: one detector per database holds it. */
#define DETECTOR_LOCK_KEY "7013370012"

static const char *const rule_names[OPG_RULE_COUNT] = {"error_rate", "latency", "no_traffic",
                                                       "burn_fast", "burn_slow"};
static const char *const alert_names[OPG_RULE_COUNT] = {"HighErrorRate", "HighLatency", "NoTraffic",
                                                        "ErrorBudgetBurn", "ErrorBudgetBurn"};

static bool is_burn(int rule)
{
    return rule == OPG_RULE_BURN_FAST || rule == OPG_RULE_BURN_SLOW;
}

/* Both burn rules page, as in the SRE workbook; a latency anomaly only warns. */
static const char *severity_of(int rule)
{
    return rule == OPG_RULE_LATENCY ? "warning" : "critical";
}

/* One evaluated series: a service+operation, or a whole service (operation NULL). */
struct series {
    char *service;
    char *operation;
    struct opg_detector_window *win; /* history + 1 */
    struct opg_burn_counts burn[2];  /* whole services only: server spans, OPG_RULE_BURN_* */
};

/* An open (pending or firing) alert, or a recently resolved one (for exclusions). */
struct open_alert {
    long long id;
    char fingerprint[17];
    int rule;
    char *service, *operation;
    int state; /* enum opg_alert_state; OK = resolved */
    int64_t started_ns, fired_ns, resolved_ns, ok_since_ns;
    double peak;
    bool visited;
};

struct opg_alerts {
    const struct opg_alerts_config *cfg;
    const char *conninfo;
    struct opg_detector_config dcfg;
    char **urls;
    size_t n_urls;
    struct opg_webhook_sender *sender;
    pthread_t tid;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    /* for /ready, under lock */
    bool leader, db_ok;
    int64_t last_run_ns;
    long long firing;
};

static struct opg_metric m_runs = OPG_METRIC_INIT("otelpg_alert_detector_runs_total", NULL,
                                                  OPG_COUNTER, "Detector evaluations completed.");
static struct opg_metric m_run_errors =
    OPG_METRIC_INIT("otelpg_alert_detector_errors_total", NULL, OPG_COUNTER,
                    "Detector evaluations that failed (database errors).");
static struct opg_metric m_firing =
    OPG_METRIC_INIT("otelpg_alerts_firing", NULL, OPG_GAUGE, "Alerts firing now.");
static struct opg_metric m_fired = OPG_METRIC_INIT(
    "otelpg_alert_transitions_total", "to=\"firing\"", OPG_COUNTER, "Alert state changes.");
static struct opg_metric m_resolved =
    OPG_METRIC_INIT("otelpg_alert_transitions_total", "to=\"resolved\"", OPG_COUNTER, "");
static struct opg_metric m_notifications =
    OPG_METRIC_INIT("otelpg_alert_notifications_total", NULL, OPG_COUNTER,
                    "Notifications queued for webhook delivery (one per target).");
static struct opg_metric m_series_cut =
    OPG_METRIC_INIT("otelpg_alert_series_dropped_total", NULL, OPG_COUNTER,
                    "Series not evaluated because of --alert-max-series.");
static struct opg_histogram h_eval = OPG_HISTOGRAM_INIT("otelpg_alert_detector_duration_seconds",
                                                        NULL, "Time of one detector evaluation.");

/* ---- helpers -------------------------------------------------------------------------- */

static void fingerprint(int rule, const char *service, const char *operation, char out[17])
{
    uint64_t h = 1469598103934665603ULL;
    const char *parts[3] = {rule_names[rule], service, operation ? operation : ""};

    for (int i = 0; i < 3; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* separator: no two splits hash alike */
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static void rfc3339(int64_t ns, char out[48])
{
    time_t s = (time_t)(ns / 1000000000LL);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ns / 1000000 % 1000));
}

static void url_escape(struct opg_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            opg_buf_addch(b, (char)*p);
        else
            opg_buf_addf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

/* The page's trace search showing examples of the incident (ui-api/web/app.js routes). */
static void search_link(const struct opg_alerts *a, struct opg_buf *b, int rule,
                        const char *service, const char *operation, double expected,
                        int64_t from_ns, int64_t to_ns)
{
    opg_buf_addstr(b, a->cfg->external_url);
    opg_buf_addstr(b, "/#/search?service=");
    url_escape(b, service);
    if (operation && *operation) {
        opg_buf_addstr(b, "&operation=");
        url_escape(b, operation);
    }
    if (rule == OPG_RULE_ERROR_RATE || is_burn(rule))
        opg_buf_addstr(b, "&errors=1");
    else if (rule == OPG_RULE_LATENCY && expected > 0)
        opg_buf_addf(b, "&minDuration=%.0fms", ceil(expected));
    opg_buf_addf(b, "&range=custom&from=%lld&to=%lld", (long long)(from_ns / 1000000),
                 (long long)(to_ns / 1000000));
}

static const char *fmt_value(int rule, double v, char *out, size_t n)
{
    if (rule == OPG_RULE_ERROR_RATE)
        snprintf(out, n, "%.1f%%", 100 * v);
    else if (rule == OPG_RULE_LATENCY)
        snprintf(out, n, "%.1f ms", v);
    else if (is_burn(rule))
        snprintf(out, n, "%.1fx", v);
    else
        snprintf(out, n, "%.0f calls", v);
    return out;
}

/* A window's length as in the config: "1h", "5m", "90s". */
static const char *fmt_ms(long long ms, char *out, size_t n)
{
    if (ms % 3600000 == 0)
        snprintf(out, n, "%lldh", ms / 3600000);
    else if (ms % 60000 == 0)
        snprintf(out, n, "%lldm", ms / 60000);
    else
        snprintf(out, n, "%llds", ms / 1000);
    return out;
}

/* "1h/5m": the long and short windows of a burn rule. */
static const char *burn_windows(const struct opg_alerts *a, int rule, char *out, size_t n)
{
    char l[24], sh[24];
    int i = rule == OPG_RULE_BURN_SLOW;

    snprintf(out, n, "%s/%s", fmt_ms(a->dcfg.burn[i].long_ms, l, sizeof(l)),
             fmt_ms(a->dcfg.burn[i].short_ms, sh, sizeof(sh)));
    return out;
}

/* ---- reading the windows --------------------------------------------------------------- */

struct eval {
    struct opg_alerts *a;
    PGconn *conn;
    int64_t now_ns, end_ns, window_ns, start_ns;
    int nwin; /* history + 1 */
    struct series *series;
    size_t n_series, cap_series;
    struct open_alert *open;
    size_t n_open;
};

static struct series *add_series(struct eval *e, const char *service, const char *operation)
{
    struct series *s;

    if (e->n_series == e->cap_series) {
        e->cap_series = e->cap_series ? 2 * e->cap_series : 64;
        e->series = opg_xrealloc(e->series, e->cap_series * sizeof(*e->series));
    }
    s = &e->series[e->n_series++];
    s->service = opg_xstrdup(service);
    s->operation = operation ? opg_xstrdup(operation) : NULL;
    s->win = opg_xcalloc((size_t)e->nwin, sizeof(*s->win));
    for (int i = 0; i < e->nwin; i++)
        s->win[i].latency_ms = -1;
    return s;
}

static void eval_release(struct eval *e)
{
    for (size_t i = 0; i < e->n_series; i++) {
        free(e->series[i].service);
        free(e->series[i].operation);
        free(e->series[i].win);
    }
    free(e->series);
    for (size_t i = 0; i < e->n_open; i++) {
        free(e->open[i].service);
        free(e->open[i].operation);
    }
    free(e->open);
}

/*
 * Reads the RED rows of the evaluated range into per-series windows: one
 * series per service+operation (errors and latency) and one per service
 * (traffic). Rows come ordered, so one histogram is accumulated at a time.
 */
static int read_windows(struct eval *e)
{
    char p_start[24], p_end[24], p_win[24], p_d0[16], p_d1[16];
    const char *p[5] = {p_start, p_end, p_win, p_d0, p_d1};
    double hist[OPG_LATENCY_BUCKETS];
    /* indexes, not pointers: add_series() moves the array */
    size_t op = SIZE_MAX, svc = SIZE_MAX;
    int cur_w = -1;
    bool cut = false;
    PGresult *res;

#define OP  (&e->series[op])
#define SVC (&e->series[svc])
    snprintf(p_start, sizeof(p_start), "%lld", (long long)e->start_ns);
    snprintf(p_end, sizeof(p_end), "%lld", (long long)e->end_ns);
    snprintf(p_win, sizeof(p_win), "%lld", (long long)e->window_ns);
    snprintf(p_d0, sizeof(p_d0), "%lld", (long long)(e->start_ns / NS_PER_DAY));
    snprintf(p_d1, sizeof(p_d1), "%lld", (long long)(e->end_ns / NS_PER_DAY));
    res = PQexecParams(
        e->conn,
        "SELECT service, operation, ((bucket_ns - $1::bigint) / $3::bigint)::int,"
        " latency_bucket, sum(calls)::float8, sum(errors)::float8 FROM red_all"
        " WHERE bucket_ns >= $1::bigint AND bucket_ns < $2::bigint"
        " AND day BETWEEN $4::integer AND $5::integer"
        " GROUP BY 1, 2, 3, 4 ORDER BY service COLLATE \"C\", operation COLLATE \"C\", 3, 4",
        5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "alerts: reading RED metrics: %s", PQerrorMessage(e->conn));
        PQclear(res);
        return -1;
    }
    for (int r = 0, n = PQntuples(res); r < n; r++) {
        const char *service = PQgetvalue(res, r, 0), *operation = PQgetvalue(res, r, 1);
        int w = atoi(PQgetvalue(res, r, 2)), lb = atoi(PQgetvalue(res, r, 3));
        double calls = atof(PQgetvalue(res, r, 4)), errors = atof(PQgetvalue(res, r, 5));
        bool new_series =
            op == SIZE_MAX || strcmp(OP->service, service) || strcmp(OP->operation, operation);

        if (w < 0 || w >= e->nwin || lb < 0 || lb >= OPG_LATENCY_BUCKETS)
            continue;
        if (new_series || w != cur_w) {
            if (op != SIZE_MAX && cur_w >= 0)
                OP->win[cur_w].latency_ms =
                    opg_detector_quantile_ms(hist, OPG_LATENCY_BUCKETS, e->a->dcfg.quantile);
            memset(hist, 0, sizeof(hist));
            cur_w = w;
            if (new_series) {
                if (e->n_series + 2 > (size_t)e->a->cfg->max_series) {
                    cut = true;
                    op = SIZE_MAX;
                    break;
                }
                if (svc == SIZE_MAX || strcmp(SVC->service, service)) {
                    add_series(e, service, NULL);
                    svc = e->n_series - 1;
                }
                add_series(e, service, operation);
                op = e->n_series - 1;
            }
        }
        hist[lb] += calls;
        OP->win[w].calls += calls;
        OP->win[w].errors += errors;
        SVC->win[w].calls += calls;
        SVC->win[w].errors += errors;
    }
    if (op != SIZE_MAX && cur_w >= 0)
        OP->win[cur_w].latency_ms =
            opg_detector_quantile_ms(hist, OPG_LATENCY_BUCKETS, e->a->dcfg.quantile);
#undef OP
#undef SVC
    if (cut) {
        opg_stats_add(&m_series_cut, 1);
        OPG_LOG_EVERY(3600, OPG_LOG_WARN,
                      "alerts: more than --alert-max-series=%lld series; the rest is not watched",
                      e->a->cfg->max_series);
    }
    PQclear(res);
    return 0;
}

static struct series *find_service(struct eval *e, const char *service)
{
    for (size_t i = 0; i < e->n_series; i++)
        if (!e->series[i].operation && !strcmp(e->series[i].service, service))
            return &e->series[i];
    return NULL;
}

/*
 * Reads the calls and errors of each service's server spans over the burn
 * rules' four windows, all ending where the detector's windows end. One
 * pass over the longest window, summed by FILTER: this is the costliest
 * query of an evaluation (6 h of RED rows by default), which is one reason
 * the rules are off unless --slo-target is set.
 */
static int read_burn(struct eval *e)
{
    const struct opg_detector_config *d = &e->a->dcfg;
    long long longest =
        d->burn[0].long_ms > d->burn[1].long_ms ? d->burn[0].long_ms : d->burn[1].long_ms;
    char s[8][24];
    const char *p[8] = {s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]};
    int64_t from = e->end_ns - longest * 1000000LL;
    PGresult *res;

    snprintf(s[0], sizeof(s[0]), "%lld", (long long)from);
    snprintf(s[1], sizeof(s[1]), "%lld", (long long)e->end_ns);
    snprintf(s[2], sizeof(s[2]), "%lld", (long long)(from / NS_PER_DAY));
    snprintf(s[3], sizeof(s[3]), "%lld", (long long)(e->end_ns / NS_PER_DAY));
    snprintf(s[4], sizeof(s[4]), "%lld", (long long)(e->end_ns - d->burn[0].short_ms * 1000000LL));
    snprintf(s[5], sizeof(s[5]), "%lld", (long long)(e->end_ns - d->burn[1].long_ms * 1000000LL));
    snprintf(s[6], sizeof(s[6]), "%lld", (long long)(e->end_ns - d->burn[1].short_ms * 1000000LL));
    snprintf(s[7], sizeof(s[7]), "%lld", (long long)(e->end_ns - d->burn[0].long_ms * 1000000LL));
    res = PQexecParams(
        e->conn,
        "SELECT service,"
        " coalesce(sum(calls) FILTER (WHERE bucket_ns >= $8::bigint), 0)::float8,"
        " coalesce(sum(errors) FILTER (WHERE bucket_ns >= $8::bigint), 0)::float8,"
        " coalesce(sum(calls) FILTER (WHERE bucket_ns >= $5::bigint), 0)::float8,"
        " coalesce(sum(errors) FILTER (WHERE bucket_ns >= $5::bigint), 0)::float8,"
        " coalesce(sum(calls) FILTER (WHERE bucket_ns >= $6::bigint), 0)::float8,"
        " coalesce(sum(errors) FILTER (WHERE bucket_ns >= $6::bigint), 0)::float8,"
        " coalesce(sum(calls) FILTER (WHERE bucket_ns >= $7::bigint), 0)::float8,"
        " coalesce(sum(errors) FILTER (WHERE bucket_ns >= $7::bigint), 0)::float8"
        " FROM red_all WHERE kind = 2 AND bucket_ns >= $1::bigint AND bucket_ns < $2::bigint"
        " AND day BETWEEN $3::integer AND $4::integer GROUP BY service",
        8, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "alerts: reading error budgets: %s",
                      PQerrorMessage(e->conn));
        PQclear(res);
        return -1;
    }
    for (int r = 0, n = PQntuples(res); r < n; r++) {
        const char *service = PQgetvalue(res, r, 0);
        struct series *sv = find_service(e, service);
        double v[8];

        if (!sv) {
            if (e->n_series + 1 > (size_t)e->a->cfg->max_series)
                continue;
            sv = add_series(e, service, NULL);
        }
        for (int k = 0; k < 8; k++)
            v[k] = atof(PQgetvalue(res, r, k + 1));
        sv->burn[0] = (struct opg_burn_counts){v[0], v[1], v[2], v[3]};
        sv->burn[1] = (struct opg_burn_counts){v[4], v[5], v[6], v[7]};
    }
    PQclear(res);
    return 0;
}

static int read_open_alerts(struct eval *e)
{
    char p_start[24];
    const char *p[1] = {p_start};
    PGresult *res;
    int n;

    snprintf(p_start, sizeof(p_start), "%lld", (long long)e->start_ns);
    res = PQexecParams(e->conn,
                       "SELECT id, fingerprint, rule, service, operation, state, started_ns,"
                       " coalesce(fired_ns, 0), coalesce(resolved_ns, 0), coalesce(ok_since_ns, 0),"
                       " coalesce(peak_observed, 0)"
                       " FROM alerts WHERE state <> 'resolved' OR resolved_ns >= $1::bigint",
                       1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "alerts: reading alerts: %s", PQerrorMessage(e->conn));
        PQclear(res);
        return -1;
    }
    n = PQntuples(res);
    e->open = opg_xcalloc((size_t)n + 1, sizeof(*e->open));
    for (int r = 0; r < n; r++) {
        struct open_alert *o = &e->open[e->n_open];
        const char *state = PQgetvalue(res, r, 5);
        int rule = -1;

        for (int k = 0; k < OPG_RULE_COUNT; k++)
            if (!strcmp(PQgetvalue(res, r, 2), rule_names[k]))
                rule = k;
        if (rule < 0)
            continue;
        o->id = atoll(PQgetvalue(res, r, 0));
        snprintf(o->fingerprint, sizeof(o->fingerprint), "%s", PQgetvalue(res, r, 1));
        o->rule = rule;
        o->service = opg_xstrdup(PQgetvalue(res, r, 3));
        o->operation = opg_xstrdup(PQgetvalue(res, r, 4));
        o->state = !strcmp(state, "pending")  ? OPG_ALERT_PENDING
                   : !strcmp(state, "firing") ? OPG_ALERT_FIRING
                                              : OPG_ALERT_OK;
        o->started_ns = atoll(PQgetvalue(res, r, 6));
        o->fired_ns = atoll(PQgetvalue(res, r, 7));
        o->resolved_ns = atoll(PQgetvalue(res, r, 8));
        o->ok_since_ns = atoll(PQgetvalue(res, r, 9));
        o->peak = atof(PQgetvalue(res, r, 10));
        e->n_open++;
    }
    PQclear(res);
    return 0;
}

/* Marks the windows of s during which an alert of rule was pending or firing. */
static void mark_exclusions(struct eval *e, struct series *s)
{
    for (size_t i = 0; i < e->n_open; i++) {
        struct open_alert *o = &e->open[i];

        if (strcmp(o->service, s->service) ||
            strcmp(o->operation, s->operation ? s->operation : ""))
            continue;
        for (int w = 0; w < e->nwin; w++) {
            int64_t ws = e->start_ns + w * e->window_ns, we = ws + e->window_ns;
            if (o->started_ns < we && (!o->resolved_ns || o->resolved_ns > ws))
                s->win[w].excluded[o->rule] = true;
        }
    }
}

static struct open_alert *find_open(struct eval *e, const char *fp)
{
    for (size_t i = 0; i < e->n_open; i++)
        if (e->open[i].state != OPG_ALERT_OK && !strcmp(e->open[i].fingerprint, fp))
            return &e->open[i];
    return NULL;
}

/* ---- writing alert state ---------------------------------------------------------------- */

static void write_labels(const struct opg_alerts *a, struct opg_buf *b, int rule,
                         const char *service, const char *operation)
{
    struct opg_jw w;
    char win[64];

    opg_jw_init(&w, b);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "alertname", alert_names[rule]);
    opg_jw_kstr(&w, "service", service);
    if (operation)
        opg_jw_kstr(&w, "operation", operation);
    opg_jw_kstr(&w, "rule", rule_names[rule]);
    opg_jw_kstr(&w, "severity", severity_of(rule));
    if (is_burn(rule))
        opg_jw_kstr(&w, "window", burn_windows(a, rule, win, sizeof(win)));
    opg_jw_obj_end(&w);
}

static void write_annotations(struct eval *e, struct opg_buf *b, int rule, const char *service,
                              const char *operation, const struct opg_detector_verdict *v,
                              int64_t started_ns)
{
    char exp[48], obs[48], num[64], what[600], win[64];
    const struct opg_detector_config *d = &e->a->dcfg;
    int bi = rule == OPG_RULE_BURN_SLOW;
    struct opg_buf link = OPG_BUF_INIT;
    struct opg_jw w;
    const char *subject = operation ? operation : "";

    fmt_value(rule, v->expected, exp, sizeof(exp));
    fmt_value(rule, v->observed, obs, sizeof(obs));
    if (rule == OPG_RULE_ERROR_RATE)
        snprintf(what, sizeof(what), "Error rate of %s %s is %s (expected %s)", service, subject,
                 obs, exp);
    else if (rule == OPG_RULE_LATENCY)
        snprintf(what, sizeof(what), "p%.0f latency of %s %s is %s (expected %s)",
                 100 * e->a->dcfg.quantile, service, subject, obs, exp);
    else if (is_burn(rule))
        snprintf(what, sizeof(what),
                 "%s burns its error budget (SLO %.6g%%) %.1fx over %s and %.1fx over %s"
                 " (alert above %.4gx)",
                 service, 100 * d->slo_target, v->score, fmt_ms(d->burn[bi].long_ms, exp, 24),
                 v->observed, fmt_ms(d->burn[bi].short_ms, obs, 24), d->burn[bi].factor);
    else
        snprintf(what, sizeof(what), "%s receives no calls (expected about %s per window)", service,
                 exp);
    search_link(e->a, &link, rule, service, operation, v->expected, started_ns - e->window_ns,
                e->now_ns);
    opg_jw_init(&w, b);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "summary", what);
    snprintf(num, sizeof(num), "%.6g", v->expected);
    opg_jw_kstr(&w, "expected", num);
    snprintf(num, sizeof(num), "%.6g", v->observed);
    opg_jw_kstr(&w, "observed", num);
    snprintf(num, sizeof(num), "%.2f", v->score);
    opg_jw_kstr(&w, "score", num);
    if (is_burn(rule)) {
        opg_jw_kstr(&w, "window", burn_windows(e->a, rule, win, sizeof(win)));
        snprintf(num, sizeof(num), "%.4g", v->score);
        opg_jw_kstr(&w, "burn_rate_long", num);
        snprintf(num, sizeof(num), "%.4g", v->observed);
        opg_jw_kstr(&w, "burn_rate_short", num);
        snprintf(num, sizeof(num), "%.4g", d->burn[bi].factor);
        opg_jw_kstr(&w, "burn_rate_threshold", num);
        snprintf(num, sizeof(num), "%.6g", d->slo_target);
        opg_jw_kstr(&w, "slo_target", num);
    } else {
        snprintf(num, sizeof(num), "%llds", (long long)(e->window_ns / 1000000000LL));
        opg_jw_kstr(&w, "window", num);
    }
    snprintf(num, sizeof(num), "%.0f", v->samples);
    opg_jw_kstr(&w, "samples", num);
    opg_jw_key(&w, "search_url");
    opg_jw_str(&w, link.data ? link.data : "", link.len);
    opg_jw_obj_end(&w);
    opg_buf_release(&link);
}

static int exec_params(struct eval *e, const char *sql, int n, const char *const *p)
{
    PGresult *res = PQexecParams(e->conn, sql, n, NULL, p, NULL, NULL, 0);
    int rc =
        PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;

    if (rc < 0)
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "alerts: %s", PQerrorMessage(e->conn));
    PQclear(res);
    return rc;
}

/* Judges one series for one rule and stores what changed. */
static int judge(struct eval *e, struct series *s, int rule)
{
    struct opg_detector_verdict v;
    struct opg_alert_track t = {OPG_ALERT_OK, 0, 0};
    struct open_alert *o;
    enum opg_alert_event ev;
    char fp[17];
    char s_now[24], s_win[24], s_exp[32], s_obs[32], s_score[32], s_samples[32], s_ok[24],
        s_peak[32], s_id[24];
    struct opg_buf labels = OPG_BUF_INIT, ann = OPG_BUF_INIT;
    int rc = 0;

    struct opg_detector_config burn_cfg = e->a->dcfg;
    const struct opg_detector_config *cfg = &e->a->dcfg;
    int64_t window_ns = e->window_ns;

    fingerprint(rule, s->service, s->operation, fp);
    o = find_open(e, fp);
    if (is_burn(rule)) {
        int i = rule == OPG_RULE_BURN_SLOW;

        opg_detector_burn(cfg, rule, &s->burn[i], o && o->state == OPG_ALERT_FIRING, &v);
        /* the two windows are the hysteresis: no pending period, no resolve delay */
        burn_cfg.pending_ms = 0;
        burn_cfg.resolve_ms = 0;
        cfg = &burn_cfg;
        window_ns = e->a->dcfg.burn[i].long_ms * 1000000LL;
    } else {
        opg_detector_judge(cfg, rule, s->win, (size_t)e->nwin - 1, &s->win[e->nwin - 1], &v);
    }
    if (!o && !v.breach)
        return 0;
    if (o) {
        o->visited = true;
        t.state = o->state;
        t.since_ns = o->state == OPG_ALERT_FIRING ? o->fired_ns : o->started_ns;
        t.ok_since_ns = o->ok_since_ns;
    }
    ev = opg_detector_step(cfg, &t, v.breach, e->now_ns);
    snprintf(s_now, sizeof(s_now), "%lld", (long long)e->now_ns);
    snprintf(s_win, sizeof(s_win), "%lld", (long long)window_ns);
    snprintf(s_exp, sizeof(s_exp), "%.9g", v.expected);
    snprintf(s_obs, sizeof(s_obs), "%.9g", v.observed);
    snprintf(s_score, sizeof(s_score), "%.4g", isfinite(v.score) ? v.score : 0.0);
    snprintf(s_samples, sizeof(s_samples), "%.0f", v.samples);
    snprintf(s_ok, sizeof(s_ok), "%lld", (long long)t.ok_since_ns);
    write_labels(e->a, &labels, rule, s->service, s->operation);
    write_annotations(e, &ann, rule, s->service, s->operation, &v, o ? o->started_ns : e->now_ns);
    if (!o) {
        const char *p[13] = {fp,
                             rule_names[rule],
                             s->service,
                             s->operation ? s->operation : "",
                             ev == OPG_EVENT_FIRED ? "firing" : "pending",
                             s_now,
                             s_win,
                             s_exp,
                             s_obs,
                             s_score,
                             s_samples,
                             labels.data,
                             ann.data};
        rc = exec_params(e,
                         "INSERT INTO alerts (fingerprint, rule, service, operation, state,"
                         " started_ns, fired_ns, last_eval_ns, window_ns, expected, observed,"
                         " score, samples, peak_observed, labels, annotations)"
                         " VALUES ($1, $2, $3, $4, $5, $6::bigint,"
                         " CASE WHEN $5 = 'firing' THEN $6::bigint END, $6::bigint, $7::bigint,"
                         " $8::float8, $9::float8, $10::float8, $11::bigint, $9::float8,"
                         " $12::jsonb, $13::jsonb)",
                         13, p);
        if (ev == OPG_EVENT_FIRED)
            opg_stats_add(&m_fired, 1);
        goto out;
    }
    snprintf(s_id, sizeof(s_id), "%lld", o->id);
    if (ev == OPG_EVENT_CANCELLED) {
        const char *p[1] = {s_id};
        rc = exec_params(e, "DELETE FROM alerts WHERE id = $1::bigint", 1, p);
        goto out;
    }
    snprintf(s_peak, sizeof(s_peak), "%.9g",
             v.judged && v.observed > o->peak && rule != OPG_RULE_NO_TRAFFIC ? v.observed
                                                                             : o->peak);
    {
        const char *state = ev == OPG_EVENT_RESOLVED      ? "resolved"
                            : t.state == OPG_ALERT_FIRING ? "firing"
                                                          : "pending";
        const char *p[12] = {s_id,    state,     s_now, s_win,  s_exp,       s_obs,
                             s_score, s_samples, s_ok,  s_peak, labels.data, ann.data};
        /* a window without a verdict keeps the last judged values */
        rc = exec_params(e,
                         "UPDATE alerts SET state = $2, last_eval_ns = $3::bigint,"
                         " window_ns = $4::bigint,"
                         " fired_ns = CASE WHEN $2 = 'firing' THEN coalesce(fired_ns, $3::bigint)"
                         "   ELSE fired_ns END,"
                         " resolved_ns = CASE WHEN $2 = 'resolved' THEN $3::bigint END,"
                         " ok_since_ns = nullif($9::bigint, 0),"
                         " expected = $5::float8, observed = $6::float8, score = $7::float8,"
                         " samples = $8::bigint, peak_observed = $10::float8,"
                         " labels = $11::jsonb, annotations = $12::jsonb"
                         " WHERE id = $1::bigint",
                         12, p);
        if (ev == OPG_EVENT_FIRED)
            opg_stats_add(&m_fired, 1);
        if (ev == OPG_EVENT_RESOLVED)
            opg_stats_add(&m_resolved, 1);
    }
out:
    opg_buf_release(&labels);
    opg_buf_release(&ann);
    return rc;
}

/* Open alerts whose series has no data at all any more: judged without a breach. */
static int judge_unvisited(struct eval *e)
{
    for (size_t i = 0; i < e->n_open; i++) {
        struct open_alert *o = &e->open[i];
        struct series *s;

        if (o->visited || o->state == OPG_ALERT_OK)
            continue;
        s = add_series(e, o->service,
                       o->rule == OPG_RULE_NO_TRAFFIC || is_burn(o->rule) ? NULL : o->operation);
        mark_exclusions(e, s);
        if (judge(e, s, o->rule) < 0)
            return -1;
    }
    return 0;
}

/* ---- notifications ------------------------------------------------------------------------ */

struct note_alert {
    long long id;
    const char *fingerprint, *state, *labels, *annotations, *service, *operation, *rule;
    int64_t fired_ns, resolved_ns;
};

static void write_payload(struct eval *e, struct opg_buf *b, const char *group_key,
                          const char *service, const struct note_alert *al, size_t n)
{
    struct opg_jw w;
    char t1[48], t2[48];
    bool any_firing = false;
    size_t written = 0;
    bool same_rule = true, same_op = true;

    for (size_t i = 0; i < n; i++) {
        any_firing |= !strcmp(al[i].state, "firing");
        same_rule &= !strcmp(al[i].rule, al[0].rule);
        same_op &= !strcmp(al[i].operation, al[0].operation);
    }
    opg_jw_init(&w, b);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "receiver", "otelpg");
    opg_jw_kstr(&w, "status", any_firing ? "firing" : "resolved");
    opg_jw_key(&w, "alerts");
    opg_jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        const char *link = NULL;
        json_t *ann;

        /* leave room for the rest of the message */
        if (written && b->len + 4096 > (size_t)e->a->cfg->webhook_max_body)
            break;
        opg_jw_obj_begin(&w);
        opg_jw_kstr(&w, "status", al[i].state);
        opg_jw_key(&w, "labels");
        opg_jw_raw(&w, al[i].labels, strlen(al[i].labels));
        opg_jw_key(&w, "annotations");
        opg_jw_raw(&w, al[i].annotations, strlen(al[i].annotations));
        rfc3339(al[i].fired_ns, t1);
        opg_jw_kstr(&w, "startsAt", t1);
        if (!strcmp(al[i].state, "resolved"))
            rfc3339(al[i].resolved_ns, t2);
        else
            snprintf(t2, sizeof(t2), "0001-01-01T00:00:00Z");
        opg_jw_kstr(&w, "endsAt", t2);
        ann = json_loads(al[i].annotations, 0, NULL);
        if (ann && json_is_string(json_object_get(ann, "search_url")))
            link = json_string_value(json_object_get(ann, "search_url"));
        opg_jw_kstr(&w, "generatorURL", link ? link : "");
        json_decref(ann);
        opg_jw_kstr(&w, "fingerprint", al[i].fingerprint);
        opg_jw_obj_end(&w);
        written++;
    }
    opg_jw_arr_end(&w);
    opg_jw_key(&w, "groupLabels");
    opg_jw_obj_begin(&w);
    if (service)
        opg_jw_kstr(&w, "service", service);
    opg_jw_obj_end(&w);
    /* labels every alert of the message shares */
    opg_jw_key(&w, "commonLabels");
    opg_jw_obj_begin(&w);
    if (same_rule) {
        for (int k = 0; k < OPG_RULE_COUNT; k++)
            if (!strcmp(al[0].rule, rule_names[k])) {
                opg_jw_kstr(&w, "alertname", alert_names[k]);
                opg_jw_kstr(&w, "severity", severity_of(k));
            }
        opg_jw_kstr(&w, "rule", al[0].rule);
    }
    if (service)
        opg_jw_kstr(&w, "service", service);
    if (same_op && al[0].operation[0])
        opg_jw_kstr(&w, "operation", al[0].operation);
    opg_jw_obj_end(&w);
    opg_jw_key(&w, "commonAnnotations");
    if (n == 1)
        opg_jw_raw(&w, al[0].annotations, strlen(al[0].annotations));
    else {
        opg_jw_obj_begin(&w);
        opg_jw_obj_end(&w);
    }
    opg_jw_kstr(&w, "externalURL", e->a->cfg->external_url);
    opg_jw_kstr(&w, "version", "4");
    opg_jw_kstr(&w, "groupKey", group_key);
    opg_jw_kint(&w, "truncatedAlerts", (int64_t)(n - written));
    opg_jw_obj_end(&w);
}

/*
 * One group's notification, if one is due (Alertmanager's rules): a new
 * group waits group_wait; a changed one is notified at most every
 * group_interval; an unchanged one still firing again after repeat_interval.
 */
static int notify_group(struct eval *e, const char *service, const struct note_alert *al, size_t n,
                        bool *sent)
{
    const struct opg_alerts_config *cfg = e->a->cfg;
    struct opg_buf key = OPG_BUF_INIT, digest = OPG_BUF_INIT, glabels = OPG_BUF_INIT,
                   body = OPG_BUF_INIT, ids = OPG_BUF_INIT;
    char s_now[24], s_msg[64];
    const char *p[4];
    PGresult *res = NULL;
    bool any_firing = false, due;
    int rc = -1;
    uint64_t h = 1469598103934665603ULL;
    struct opg_jw w;

    *sent = false;
    opg_jw_init(&w, &glabels);
    opg_jw_obj_begin(&w);
    if (service)
        opg_jw_kstr(&w, "service", service);
    opg_jw_obj_end(&w);
    /* Alertmanager's form: {}:{service="checkout"} */
    opg_buf_addstr(&key, "{}:{");
    if (service) {
        opg_buf_addstr(&key, "service=\"");
        for (const char *c = service; *c; c++) {
            if (*c == '"' || *c == '\\')
                opg_buf_addch(&key, '\\');
            opg_buf_addch(&key, *c);
        }
        opg_buf_addch(&key, '"');
    }
    opg_buf_addstr(&key, "}");
    for (size_t i = 0; i < n; i++) {
        opg_buf_addf(&digest, "%s:%s;", al[i].fingerprint, al[i].state);
        opg_buf_addf(&ids, "%s%lld", i ? "," : "{", al[i].id);
        any_firing |= !strcmp(al[i].state, "firing");
    }
    opg_buf_addstr(&ids, "}");
    snprintf(s_now, sizeof(s_now), "%lld", (long long)e->now_ns);
    p[0] = key.data;
    p[1] = glabels.data;
    p[2] = s_now;
    res = PQexecParams(e->conn,
                       "INSERT INTO alert_groups (group_key, group_labels, created_ns)"
                       " VALUES ($1, $2::jsonb, $3::bigint) ON CONFLICT (group_key) DO UPDATE"
                       " SET group_key = excluded.group_key"
                       " RETURNING created_ns, coalesce(last_sent_ns, 0), coalesce(digest, '')",
                       3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "alerts: alert_groups: %s", PQerrorMessage(e->conn));
        goto out;
    }
    {
        int64_t created = atoll(PQgetvalue(res, 0, 0)), last = atoll(PQgetvalue(res, 0, 1));
        bool changed = strcmp(PQgetvalue(res, 0, 2), digest.data) != 0;

        if (!last)
            due = e->now_ns >= created + cfg->group_wait_ms * 1000000LL;
        else
            due = (changed && e->now_ns >= last + cfg->group_interval_ms * 1000000LL) ||
                  (any_firing && e->now_ns >= last + cfg->repeat_interval_ms * 1000000LL);
    }
    if (!due) {
        rc = 0;
        goto out;
    }
    write_payload(e, &body, key.data, service, al, n);
    for (size_t u = 0; u < e->a->n_urls; u++) {
        for (const char *c = key.data; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        snprintf(s_msg, sizeof(s_msg), "msg_%016llx%llx%zu", (unsigned long long)h,
                 (unsigned long long)e->now_ns, u);
        p[0] = s_msg;
        p[1] = e->a->urls[u];
        p[2] = body.data;
        p[3] = s_now;
        if (exec_params(e,
                        "INSERT INTO webhook_outbox (msg_id, url, body, created_ns,"
                        " next_attempt_ns) VALUES ($1, $2, $3, $4::bigint, $4::bigint)",
                        4, p) < 0)
            goto out;
        opg_stats_add(&m_notifications, 1);
    }
    p[0] = ids.data;
    if (exec_params(e, "UPDATE alerts SET notified = state WHERE id = ANY($1::bigint[])", 1, p) < 0)
        goto out;
    p[0] = key.data;
    p[1] = s_now;
    p[2] = digest.data;
    /* a group whose alerts have all been notified resolved is done */
    if (exec_params(e,
                    any_firing ? "UPDATE alert_groups SET last_sent_ns = $2::bigint, digest = $3"
                                 " WHERE group_key = $1"
                               : "DELETE FROM alert_groups WHERE group_key = $1"
                                 " AND $2::text IS NOT NULL AND $3::text IS NOT NULL",
                    3, p) < 0)
        goto out;
    *sent = true;
    rc = 0;
out:
    PQclear(res);
    opg_buf_release(&key);
    opg_buf_release(&digest);
    opg_buf_release(&glabels);
    opg_buf_release(&body);
    opg_buf_release(&ids);
    return rc;
}

static int notify(struct eval *e, bool *queued)
{
    bool by_service = !strcmp(e->a->cfg->group_by, "service");
    struct note_alert *al = NULL;
    PGresult *res;
    int n, rc = 0, start = 0;

    *queued = false;
    if (!e->a->n_urls)
        return 0;
    res = PQexec(e->conn, "SELECT id, fingerprint, state, labels::text, annotations::text,"
                          " service, operation, rule, coalesce(fired_ns, started_ns),"
                          " coalesce(resolved_ns, 0) FROM alerts"
                          " WHERE state = 'firing' OR (state = 'resolved' AND notified = 'firing')"
                          " ORDER BY service COLLATE \"C\", fingerprint");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "alerts: %s", PQerrorMessage(e->conn));
        PQclear(res);
        return -1;
    }
    n = PQntuples(res);
    al = opg_xcalloc((size_t)n + 1, sizeof(*al));
    for (int r = 0; r < n; r++) {
        al[r].id = atoll(PQgetvalue(res, r, 0));
        al[r].fingerprint = PQgetvalue(res, r, 1);
        al[r].state = PQgetvalue(res, r, 2);
        al[r].labels = PQgetvalue(res, r, 3);
        al[r].annotations = PQgetvalue(res, r, 4);
        al[r].service = PQgetvalue(res, r, 5);
        al[r].operation = PQgetvalue(res, r, 6);
        al[r].rule = PQgetvalue(res, r, 7);
        al[r].fired_ns = atoll(PQgetvalue(res, r, 8));
        al[r].resolved_ns = atoll(PQgetvalue(res, r, 9));
    }
    for (int r = 1; r <= n && rc == 0; r++) {
        bool sent;

        if (r < n && (!by_service || !strcmp(al[r].service, al[start].service)))
            continue;
        rc = notify_group(e, by_service ? al[start].service : NULL, &al[start], (size_t)(r - start),
                          &sent);
        *queued |= sent;
        start = r;
    }
    /* groups left with nothing to say (their alerts resolved before anyone was told) */
    if (rc == 0)
        rc = exec_params(e,
                         "DELETE FROM alert_groups g WHERE NOT EXISTS (SELECT 1 FROM alerts a"
                         " WHERE (a.state = 'firing' OR (a.state = 'resolved'"
                         "   AND a.notified = 'firing'))"
                         " AND (NOT g.group_labels ? 'service'"
                         "   OR g.group_labels->>'service' = a.service))",
                         0, NULL);
    free(al);
    PQclear(res);
    return rc;
}

/* ---- one evaluation ------------------------------------------------------------------------ */

static int run_once(struct opg_alerts *a, PGconn *conn)
{
    const struct opg_alerts_config *cfg = a->cfg;
    struct eval e = {a, conn};
    PGresult *res;
    bool queued = false;
    char cutoff[24];
    const char *p[1] = {cutoff};
    int rc = -1;

    e.now_ns = opg_now_wall_ns();
    e.window_ns = (cfg->window_ms * 1000000LL + BUCKET_NS - 1) / BUCKET_NS * BUCKET_NS;
    e.end_ns = (e.now_ns - cfg->settle_ms * 1000000LL) / BUCKET_NS * BUCKET_NS;
    e.nwin = (int)cfg->history + 1;
    e.start_ns = e.end_ns - e.nwin * e.window_ns;
    res = PQexec(conn, "BEGIN");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto out_clear;
    PQclear(res);
    if (read_windows(&e) < 0 || (a->dcfg.slo_target > 0 && read_burn(&e) < 0) ||
        read_open_alerts(&e) < 0)
        goto out_rollback;
    for (size_t i = 0, n = e.n_series; i < n; i++) {
        struct series *s = &e.series[i];

        mark_exclusions(&e, s);
        if (!s->operation) {
            if (judge(&e, s, OPG_RULE_NO_TRAFFIC) < 0)
                goto out_rollback;
            if (a->dcfg.slo_target > 0 &&
                (judge(&e, s, OPG_RULE_BURN_FAST) < 0 || judge(&e, s, OPG_RULE_BURN_SLOW) < 0))
                goto out_rollback;
        } else if (judge(&e, s, OPG_RULE_ERROR_RATE) < 0 || judge(&e, s, OPG_RULE_LATENCY) < 0) {
            goto out_rollback;
        }
    }
    if (judge_unvisited(&e) < 0 || notify(&e, &queued) < 0)
        goto out_rollback;
    snprintf(cutoff, sizeof(cutoff), "%lld", (long long)(e.now_ns - cfg->keep_ms * 1000000LL));
    if (exec_params(&e, "DELETE FROM alerts WHERE state = 'resolved' AND resolved_ns < $1::bigint",
                    1, p) < 0 ||
        exec_params(&e,
                    "DELETE FROM webhook_outbox WHERE delivered_ns < $1::bigint"
                    " OR failed_ns < $1::bigint",
                    1, p) < 0)
        goto out_rollback;
    res = PQexec(conn, "SELECT count(*) FROM alerts WHERE state = 'firing'");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        goto out_clear_rollback;
    pthread_mutex_lock(&a->lock);
    a->firing = atoll(PQgetvalue(res, 0, 0));
    pthread_mutex_unlock(&a->lock);
    opg_stats_set(&m_firing, atoll(PQgetvalue(res, 0, 0)));
    PQclear(res);
    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        goto out_clear;
    rc = 0;
    if (queued)
        opg_webhook_sender_kick(a->sender);
    goto out_clear;
out_clear_rollback:
    PQclear(res);
out_rollback:
    res = PQexec(conn, "ROLLBACK");
out_clear:
    if (rc < 0)
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "alerts: evaluation failed: %s", PQerrorMessage(conn));
    PQclear(res);
    eval_release(&e);
    return rc;
}

static void *detector_main(void *arg)
{
    struct opg_alerts *a = arg;
    PGconn *conn = NULL;
    bool leader = false;

    pthread_mutex_lock(&a->lock);
    while (!a->stopping) {
        struct timespec ts;
        int64_t t0 = opg_now_mono_ns();
        bool ok = false;

        pthread_mutex_unlock(&a->lock);
        if (!conn || PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = opg_pg_connect(a->conninfo, "otelpg-collector alerts");
            leader = false;
        }
        if (PQstatus(conn) == CONNECTION_OK && !leader) {
            /* a session lock: held while this connection lives */
            PGresult *res = PQexec(conn, "SELECT pg_try_advisory_lock(" DETECTOR_LOCK_KEY ")");
            leader = PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
            PQclear(res);
        }
        if (leader) {
            ok = run_once(a, conn) == 0;
            opg_stats_add(ok ? &m_runs : &m_run_errors, 1);
            opg_stats_observe_ns(&h_eval, opg_now_mono_ns() - t0);
        }
        pthread_mutex_lock(&a->lock);
        a->db_ok = PQstatus(conn) == CONNECTION_OK;
        a->leader = leader;
        if (ok)
            a->last_run_ns = opg_now_wall_ns();
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(a->cfg->interval_ms / 1000);
        ts.tv_nsec += (long)(a->cfg->interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!a->stopping)
            pthread_cond_timedwait(&a->wake, &a->lock, &ts);
    }
    pthread_mutex_unlock(&a->lock);
    PQfinish(conn);
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static void split_urls(struct opg_alerts *a, const char *list)
{
    const char *p = list;

    while (*p) {
        size_t n = strcspn(p, ",");
        const char *s = p;

        while (n && *s == ' ') {
            s++;
            n--;
        }
        while (n && s[n - 1] == ' ')
            n--;
        if (n) {
            a->urls = opg_xrealloc(a->urls, (a->n_urls + 1) * sizeof(char *));
            a->urls[a->n_urls] = opg_xcalloc(1, n + 1);
            memcpy(a->urls[a->n_urls++], s, n);
        }
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
}

/* A decimal setting in (lo, hi); -1 (logged) if it is not one. */
static int parse_fraction(const char *name, const char *text, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(text, &end);

    if (end == text || *end || !isfinite(v) || v <= lo || v >= hi) {
        opg_error("--%s: \"%s\" is not a number between %g and %g", name, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* The error budget burn rules' settings, into a->dcfg. */
static int parse_burn(struct opg_alerts *a)
{
    const struct opg_alerts_config *cfg = a->cfg;
    struct opg_detector_config *d = &a->dcfg;

    d->slo_target = 0;
    if (strcmp(cfg->slo_target, "0") &&
        parse_fraction("slo-target", cfg->slo_target, 0, 1, &d->slo_target) < 0)
        return -1;
    d->burn_min_calls = (double)cfg->slo_min_calls;
    d->burn[0].long_ms = cfg->slo_fast_long_ms;
    d->burn[0].short_ms = cfg->slo_fast_short_ms;
    d->burn[1].long_ms = cfg->slo_slow_long_ms;
    d->burn[1].short_ms = cfg->slo_slow_short_ms;
    if (parse_fraction("slo-fast-burn", cfg->slo_fast_burn, 0, 1e6, &d->burn[0].factor) < 0 ||
        parse_fraction("slo-slow-burn", cfg->slo_slow_burn, 0, 1e6, &d->burn[1].factor) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (d->burn[i].short_ms >= d->burn[i].long_ms) {
            opg_error("--slo-%s-short must be shorter than --slo-%s-long", i ? "slow" : "fast",
                      i ? "slow" : "fast");
            return -1;
        }
    }
    return 0;
}

struct opg_alerts *opg_alerts_start(const struct opg_alerts_config *cfg, const char *conninfo)
{
    struct opg_alerts *a = opg_xcalloc(1, sizeof(*a));
    static bool registered;

    if (!registered) {
        registered = true;
        opg_stats_register(&m_runs);
        opg_stats_register(&m_run_errors);
        opg_stats_register(&m_firing);
        opg_stats_register(&m_fired);
        opg_stats_register(&m_resolved);
        opg_stats_register(&m_notifications);
        opg_stats_register(&m_series_cut);
        opg_stats_register_histogram(&h_eval);
    }
    a->cfg = cfg;
    a->conninfo = conninfo;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    opg_detector_config_defaults(&a->dcfg);
    a->dcfg.min_calls = (double)cfg->min_calls;
    a->dcfg.min_errors = (double)cfg->min_errors;
    a->dcfg.min_error_increase = (double)cfg->min_error_increase_pct / 100;
    a->dcfg.z = (double)cfg->z;
    a->dcfg.latency_factor = (double)cfg->latency_factor_pct / 100;
    a->dcfg.min_latency_increase_ms = (double)cfg->min_latency_increase_ms;
    a->dcfg.quantile = (double)cfg->quantile_pct / 100;
    a->dcfg.no_traffic_min = (double)cfg->no_traffic_min;
    a->dcfg.min_history = (int)cfg->min_history;
    a->dcfg.pending_ms = cfg->pending_ms;
    a->dcfg.resolve_ms = cfg->resolve_ms;
    if (parse_burn(a) < 0)
        goto out_destroy;
    if (cfg->min_history > cfg->history) {
        opg_error("--alert-min-history (%lld) is more than --alert-history (%lld)",
                  cfg->min_history, cfg->history);
        goto out_destroy;
    }
    if (strcmp(cfg->group_by, "service") && cfg->group_by[0]) {
        opg_error("--alert-group-by: \"service\" or \"\", not \"%s\"", cfg->group_by);
        goto out_destroy;
    }
    split_urls(a, cfg->webhook_urls);
    for (size_t i = 0; i < a->n_urls; i++) {
        if (strncmp(a->urls[i], "http://", 7) && strncmp(a->urls[i], "https://", 8)) {
            opg_error("--webhook-url: \"%s\" is not an http:// or https:// URL", a->urls[i]);
            goto out_destroy;
        }
    }
    if (a->n_urls) {
        a->sender = opg_webhook_sender_start(cfg, conninfo, a->urls, a->n_urls);
        if (!a->sender)
            goto out_destroy;
    }
    if (pthread_create(&a->tid, NULL, detector_main, a) != 0)
        goto out_destroy;
    a->started = true;
    return a;
out_destroy:
    opg_alerts_stop(a);
    return NULL;
}

bool opg_alerts_status(struct opg_alerts *a, char *detail, size_t n)
{
    long long backlog = a->sender ? opg_webhook_sender_backlog(a->sender) : -1;
    char queued[64] = "";

    if (backlog >= 0)
        snprintf(queued, sizeof(queued), ", %lld notification(s) queued", backlog);
    pthread_mutex_lock(&a->lock);
    if (!a->db_ok)
        snprintf(detail, n, "waiting for PostgreSQL");
    else if (!a->leader)
        snprintf(detail, n, "standby: another collector evaluates%s", queued);
    else if (!a->last_run_ns)
        snprintf(detail, n, "evaluating; no run completed yet%s", queued);
    else
        snprintf(detail, n, "evaluating every %lld ms; last run %lld ms ago; %lld firing%s%s",
                 a->cfg->interval_ms, (long long)((opg_now_wall_ns() - a->last_run_ns) / 1000000),
                 a->firing, a->n_urls ? "" : "; no --webhook-url", queued);
    pthread_mutex_unlock(&a->lock);
    return true;
}

void opg_alerts_stop(struct opg_alerts *a)
{
    if (!a)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->lock);
        a->stopping = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->tid, NULL);
    }
    opg_webhook_sender_stop(a->sender);
    for (size_t i = 0; i < a->n_urls; i++)
        free(a->urls[i]);
    free(a->urls);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->wake);
    free(a);
}
