#include "detector.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* History windows looked at, at most (alerts.c bounds its config below this). */
#define MAX_HISTORY 2048
/* 1.4826 x MAD estimates the standard deviation of normally distributed values. */
#define MAD_TO_SIGMA 1.4826
/* A latency quantile read from buckets 19% wide moves by a bucket on no change at all. */
#define LATENCY_SIGMA_FLOOR 0.10

void opg_detector_config_defaults(struct opg_detector_config *cfg)
{
    cfg->min_calls = 20;
    cfg->min_errors = 5;
    cfg->min_error_increase = 0.05;
    cfg->z = 4;
    cfg->latency_factor = 1.5;
    cfg->min_latency_increase_ms = 50;
    cfg->quantile = 0.95;
    cfg->no_traffic_min = 10;
    cfg->min_history = 5;
    cfg->pending_ms = 60000;
    cfg->resolve_ms = 120000;
    cfg->slo_target = 0;
    cfg->burn_min_calls = 100;
    cfg->burn[0].factor = 14.4;
    cfg->burn[0].long_ms = 3600000;
    cfg->burn[0].short_ms = 300000;
    cfg->burn[1].factor = 6;
    cfg->burn[1].long_ms = 6 * 3600000LL;
    cfg->burn[1].short_ms = 1800000;
}

double opg_detector_bucket_upper_ms(int b)
{
    return pow(2.0, (b + 1) / 4.0) / 1000.0;
}

int opg_detector_bucket_of_ns(int64_t duration_ns)
{
    double us = (double)(duration_ns < 1000 ? 1000 : duration_ns) / 1000.0;
    int b = (int)floor(4 * log(us) / log(2.0));

    return b > OPG_LATENCY_BUCKETS - 1 ? OPG_LATENCY_BUCKETS - 1 : b;
}

double opg_detector_quantile_ms(const double *hist, int n, double q)
{
    double total = 0, target, cum = 0;

    for (int b = 0; b < n; b++)
        total += hist[b];
    if (total <= 0)
        return -1;
    target = q * total;
    for (int b = 0; b < n; b++) {
        if (hist[b] > 0 && cum + hist[b] >= target) {
            /* interpolated in log space within the bucket, as its bounds are */
            double frac = (target - cum) / hist[b];
            return pow(2.0, (b + frac) / 4.0) / 1000.0;
        }
        cum += hist[b];
    }
    return opg_detector_bucket_upper_ms(n - 1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Median of v[0..n) (reorders v). */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median and MAD of v[0..n) (reorders v). */
static void median_mad(double *v, size_t n, double *med, double *mad)
{
    *med = median(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = fabs(v[i] - *med);
    *mad = median(v, n);
}

void opg_detector_judge(const struct opg_detector_config *cfg, enum opg_detector_rule rule,
                        const struct opg_detector_window *hist, size_t n,
                        const struct opg_detector_window *cur, struct opg_detector_verdict *out)
{
    double v[MAX_HISTORY];
    size_t k = 0;
    double med, mad, sigma;

    memset(out, 0, sizeof(*out));
    out->samples = cur->calls;
    if (n > MAX_HISTORY) {
        hist += n - MAX_HISTORY;
        n = MAX_HISTORY;
    }
    for (size_t i = 0; i < n; i++) {
        const struct opg_detector_window *w = &hist[i];

        if (w->excluded[rule])
            continue;
        if (rule == OPG_RULE_ERROR_RATE && w->calls >= cfg->min_calls)
            v[k++] = w->errors / w->calls;
        else if (rule == OPG_RULE_LATENCY && w->calls >= cfg->min_calls && w->latency_ms >= 0)
            v[k++] = w->latency_ms;
        else if (rule == OPG_RULE_NO_TRAFFIC)
            v[k++] = w->calls;
    }
    if (k < (size_t)cfg->min_history || !k)
        return;
    median_mad(v, k, &med, &mad);
    out->expected = med;

    switch (rule) {
    case OPG_RULE_ERROR_RATE: {
        double p0, p;

        if (cur->calls < cfg->min_calls)
            return;
        p = cur->errors / cur->calls;
        /* the noise of this window's own sample under the baseline rate */
        p0 = med > 1 / cur->calls ? med : 1 / cur->calls;
        sigma = sqrt(p0 * (1 - p0) / cur->calls);
        if (MAD_TO_SIGMA * mad > sigma)
            sigma = MAD_TO_SIGMA * mad;
        out->judged = true;
        out->observed = p;
        out->score = (p - med) / sigma;
        out->breach = cur->errors >= cfg->min_errors && p - med >= cfg->min_error_increase &&
                      out->score >= cfg->z;
        break;
    }
    case OPG_RULE_LATENCY:
        if (cur->calls < cfg->min_calls || cur->latency_ms < 0 || med <= 0)
            return;
        sigma = MAD_TO_SIGMA * mad;
        if (sigma < LATENCY_SIGMA_FLOOR * med)
            sigma = LATENCY_SIGMA_FLOOR * med;
        out->judged = true;
        out->observed = cur->latency_ms;
        out->score = (cur->latency_ms - med) / sigma;
        out->breach = cur->latency_ms >= cfg->latency_factor * med &&
                      cur->latency_ms - med >= cfg->min_latency_increase_ms && out->score >= cfg->z;
        break;
    case OPG_RULE_NO_TRAFFIC:
        if (med < cfg->no_traffic_min)
            return;
        out->judged = true;
        out->observed = cur->calls;
        sigma = MAD_TO_SIGMA * mad > sqrt(med) ? MAD_TO_SIGMA * mad : sqrt(med);
        out->score = (med - cur->calls) / sigma;
        out->breach = cur->calls == 0;
        break;
    default:
        break;
    }
}

void opg_detector_burn(const struct opg_detector_config *cfg, enum opg_detector_rule rule,
                       const struct opg_burn_counts *c, bool active,
                       struct opg_detector_verdict *out)
{
    double budget = 1 - cfg->slo_target, factor, burn_long, burn_short;

    memset(out, 0, sizeof(*out));
    out->samples = c->calls_short;
    if (rule != OPG_RULE_BURN_FAST && rule != OPG_RULE_BURN_SLOW)
        return;
    if (cfg->slo_target <= 0 || budget <= 0)
        return;
    factor = cfg->burn[rule == OPG_RULE_BURN_SLOW].factor;
    out->expected = factor;
    if (c->calls_short < cfg->burn_min_calls)
        return;
    burn_short = c->errors_short / c->calls_short / budget;
    burn_long = c->calls_long > 0 ? c->errors_long / c->calls_long / budget : 0;
    out->judged = true;
    out->observed = burn_short;
    out->score = burn_long;
    out->breach = burn_short > factor && c->errors_short >= cfg->min_errors;
    /* the long window only decides the start: a burn that has stopped is over at once */
    if (!active)
        out->breach = out->breach && c->calls_long >= cfg->burn_min_calls && burn_long > factor;
}

enum opg_alert_event opg_detector_step(const struct opg_detector_config *cfg,
                                       struct opg_alert_track *t, bool breach, int64_t now_ns)
{
    switch (t->state) {
    case OPG_ALERT_OK:
        if (!breach)
            return OPG_EVENT_NONE;
        t->state = OPG_ALERT_PENDING;
        t->since_ns = now_ns;
        t->ok_since_ns = 0;
        if (cfg->pending_ms > 0)
            return OPG_EVENT_PENDING;
        t->state = OPG_ALERT_FIRING;
        return OPG_EVENT_FIRED;
    case OPG_ALERT_PENDING:
        if (!breach) {
            t->state = OPG_ALERT_OK;
            return OPG_EVENT_CANCELLED;
        }
        if (now_ns - t->since_ns >= cfg->pending_ms * 1000000LL) {
            t->state = OPG_ALERT_FIRING;
            t->since_ns = now_ns;
            return OPG_EVENT_FIRED;
        }
        return OPG_EVENT_NONE;
    case OPG_ALERT_FIRING:
        if (breach) {
            t->ok_since_ns = 0;
            return OPG_EVENT_NONE;
        }
        if (!t->ok_since_ns)
            t->ok_since_ns = now_ns;
        if (now_ns - t->ok_since_ns >= cfg->resolve_ms * 1000000LL) {
            t->state = OPG_ALERT_OK;
            t->ok_since_ns = 0;
            return OPG_EVENT_RESOLVED;
        }
        return OPG_EVENT_NONE;
    }
    return OPG_EVENT_NONE;
}
