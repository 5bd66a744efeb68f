/*
 * Alerting in the collector: a detector thread and a webhook sender thread,
 * each with its own PostgreSQL connection, never touching ingest.
 *
 *   detector (every --alert-interval, only while it holds the advisory lock):
 *     red table -> windows per series -> detector.c -> alerts table
 *     -> notification groups (group_wait / group_interval / repeat_interval)
 *     -> webhook_outbox, all in one transaction
 *   sender: webhook_outbox -> POST (libcurl, Standard Webhooks signature)
 *     -> delivered, or retried with backoff and jitter, or failed
 *
 * Alert state and the outbox live in PostgreSQL (migration 012): a restart
 * forgets nothing and enqueues nothing twice; several collectors share one
 * detector (pg_try_advisory_lock) and the sender rows (FOR UPDATE SKIP LOCKED).
 */
#ifndef OPG_COLLECTOR_ALERTS_H
#define OPG_COLLECTOR_ALERTS_H

#include <stdbool.h>
#include <stddef.h>

/* The collector's alerting settings (config entries, OPG_ALERTS_OPTIONS). */
struct opg_alerts_config {
    const char *webhook_urls; /* comma-separated; empty: no notifications */
    const char *webhook_secret;
    const char *external_url; /* the otelpg page, for links in notifications */
    const char *group_by;     /* "service" or "" (one group) */
    long long interval_ms;
    long long window_ms;
    long long settle_ms;
    long long history;
    long long min_history;
    long long pending_ms;
    long long resolve_ms;
    long long min_calls;
    long long min_errors;
    long long min_error_increase_pct;
    long long z;
    long long latency_factor_pct;
    long long min_latency_increase_ms;
    long long quantile_pct;
    long long no_traffic_min;
    long long max_series;
    long long keep_ms;
    long long group_wait_ms;
    long long group_interval_ms;
    long long repeat_interval_ms;
    long long webhook_timeout_ms;
    long long webhook_max_attempts;
    long long webhook_max_backoff_ms;
    long long webhook_max_body;
    const char *slo_target; /* "0.999"; "0": no error budget burn rules */
    long long slo_min_calls;
    const char *slo_fast_burn, *slo_slow_burn; /* burn rate factors, "14.4" */
    long long slo_fast_long_ms, slo_fast_short_ms;
    long long slo_slow_long_ms, slo_slow_short_ms;
};

#define OPG_ALERTS_CFG(base, f) ((base) + offsetof(struct opg_alerts_config, f))

/* The entries for the collector's config table; base = offsetof(its config, alerts). */
#define OPG_ALERTS_OPTIONS(base)                                                                   \
    {"webhook-url",                                                                                \
     "OTELPG_WEBHOOK_URL",                                                                         \
     OPG_OPT_STR,                                                                                  \
     "",                                                                                           \
     0,                                                                                            \
     0,                                                                                            \
     OPG_ALERTS_CFG(base, webhook_urls),                                                           \
     "Alertmanager-style webhook receivers, comma-separated (empty: alerts are only shown)"},      \
        {"webhook-secret",                                                                         \
         "OTELPG_WEBHOOK_SECRET",                                                                  \
         OPG_OPT_STR,                                                                              \
         "",                                                                                       \
         0,                                                                                        \
         0,                                                                                        \
         OPG_ALERTS_CFG(base, webhook_secret),                                                     \
         "signs webhooks (Standard Webhooks); \"whsec_<base64>\" or the key's text"},              \
        {"alerts-external-url",                                                                    \
         "OTELPG_ALERTS_EXTERNAL_URL",                                                             \
         OPG_OPT_STR,                                                                              \
         "",                                                                                       \
         0,                                                                                        \
         0,                                                                                        \
         OPG_ALERTS_CFG(base, external_url),                                                       \
         "base URL of the otelpg page, for the trace-search links in notifications"},              \
        {"alert-group-by",                                                                         \
         "OTELPG_ALERT_GROUP_BY",                                                                  \
         OPG_OPT_STR,                                                                              \
         "service",                                                                                \
         0,                                                                                        \
         0,                                                                                        \
         OPG_ALERTS_CFG(base, group_by),                                                           \
         "notify alerts grouped by service (\"service\") or all together (\"\")"},                 \
        {"alert-interval",                                                                         \
         "OTELPG_ALERT_INTERVAL",                                                                  \
         OPG_OPT_DURATION,                                                                         \
         "10s",                                                                                    \
         1000,                                                                                     \
         3600000,                                                                                  \
         OPG_ALERTS_CFG(base, interval_ms),                                                        \
         "how often the detector evaluates"},                                                      \
        {"alert-window",                                                                           \
         "OTELPG_ALERT_WINDOW",                                                                    \
         OPG_OPT_DURATION,                                                                         \
         "1m",                                                                                     \
         10000,                                                                                    \
         3600000,                                                                                  \
         OPG_ALERTS_CFG(base, window_ms),                                                          \
         "evaluated window (a multiple of the 10 s RED buckets)"},                                 \
        {"alert-settle",                                                                           \
         "OTELPG_ALERT_SETTLE",                                                                    \
         OPG_OPT_DURATION,                                                                         \
         "10s",                                                                                    \
         0,                                                                                        \
         600000,                                                                                   \
         OPG_ALERTS_CFG(base, settle_ms),                                                          \
         "time allowed for spans to arrive before judging"},                                       \
        {"alert-history",                                                                          \
         "OTELPG_ALERT_HISTORY",                                                                   \
         OPG_OPT_INT,                                                                              \
         "30",                                                                                     \
         3,                                                                                        \
         1000,                                                                                     \
         OPG_ALERTS_CFG(base, history),                                                            \
         "past windows the baseline is taken from"},                                               \
        {"alert-min-history",                                                                      \
         "OTELPG_ALERT_MIN_HISTORY",                                                               \
         OPG_OPT_INT,                                                                              \
         "5",                                                                                      \
         1,                                                                                        \
         1000,                                                                                     \
         OPG_ALERTS_CFG(base, min_history),                                                        \
         "past windows with traffic needed to judge"},                                             \
        {"alert-pending",                                                                          \
         "OTELPG_ALERT_PENDING",                                                                   \
         OPG_OPT_DURATION,                                                                         \
         "1m",                                                                                     \
         0,                                                                                        \
         86400000,                                                                                 \
         OPG_ALERTS_CFG(base, pending_ms),                                                         \
         "a breach must last this long to fire"},                                                  \
        {"alert-resolve",                                                                          \
         "OTELPG_ALERT_RESOLVE",                                                                   \
         OPG_OPT_DURATION,                                                                         \
         "2m",                                                                                     \
         0,                                                                                        \
         86400000,                                                                                 \
         OPG_ALERTS_CFG(base, resolve_ms),                                                         \
         "and be gone this long to resolve"},                                                      \
        {"alert-min-calls",                                                                        \
         "OTELPG_ALERT_MIN_CALLS",                                                                 \
         OPG_OPT_INT,                                                                              \
         "20",                                                                                     \
         1,                                                                                        \
         1000000000,                                                                               \
         OPG_ALERTS_CFG(base, min_calls),                                                          \
         "calls in a window below which it is not judged"},                                        \
        {"alert-min-errors",                                                                       \
         "OTELPG_ALERT_MIN_ERRORS",                                                                \
         OPG_OPT_INT,                                                                              \
         "5",                                                                                      \
         1,                                                                                        \
         1000000000,                                                                               \
         OPG_ALERTS_CFG(base, min_errors),                                                         \
         "errors in a window needed for an error alert"},                                          \
        {"alert-min-error-increase",                                                               \
         "OTELPG_ALERT_MIN_ERROR_INCREASE",                                                        \
         OPG_OPT_INT,                                                                              \
         "5",                                                                                      \
         1,                                                                                        \
         100,                                                                                      \
         OPG_ALERTS_CFG(base, min_error_increase_pct),                                             \
         "percentage points the error rate must rise over its baseline"},                          \
        {"alert-z",                                                                                \
         "OTELPG_ALERT_Z",                                                                         \
         OPG_OPT_INT,                                                                              \
         "4",                                                                                      \
         1,                                                                                        \
         100,                                                                                      \
         OPG_ALERTS_CFG(base, z),                                                                  \
         "robust z-score (deviations above the baseline) needed"},                                 \
        {"alert-latency-factor",                                                                   \
         "OTELPG_ALERT_LATENCY_FACTOR",                                                            \
         OPG_OPT_INT,                                                                              \
         "150",                                                                                    \
         101,                                                                                      \
         100000,                                                                                   \
         OPG_ALERTS_CFG(base, latency_factor_pct),                                                 \
         "latency alert: the quantile must reach this percentage of its baseline"},                \
        {"alert-min-latency-increase",                                                             \
         "OTELPG_ALERT_MIN_LATENCY_INCREASE",                                                      \
         OPG_OPT_DURATION,                                                                         \
         "50ms",                                                                                   \
         0,                                                                                        \
         3600000,                                                                                  \
         OPG_ALERTS_CFG(base, min_latency_increase_ms),                                            \
         "and rise at least this much"},                                                           \
        {"alert-quantile",                                                                         \
         "OTELPG_ALERT_QUANTILE",                                                                  \
         OPG_OPT_INT,                                                                              \
         "95",                                                                                     \
         50,                                                                                       \
         99,                                                                                       \
         OPG_ALERTS_CFG(base, quantile_pct),                                                       \
         "latency quantile watched, in percent"},                                                  \
        {"alert-no-traffic-min",                                                                   \
         "OTELPG_ALERT_NO_TRAFFIC_MIN",                                                            \
         OPG_OPT_INT,                                                                              \
         "10",                                                                                     \
         1,                                                                                        \
         1000000000,                                                                               \
         OPG_ALERTS_CFG(base, no_traffic_min),                                                     \
         "median calls per window a service needs before silence is an alert"},                    \
        {"alert-max-series",                                                                       \
         "OTELPG_ALERT_MAX_SERIES",                                                                \
         OPG_OPT_INT,                                                                              \
         "10000",                                                                                  \
         1,                                                                                        \
         10000000,                                                                                 \
         OPG_ALERTS_CFG(base, max_series),                                                         \
         "service+operation series evaluated, at most"},                                           \
        {"alert-keep",                                                                             \
         "OTELPG_ALERT_KEEP",                                                                      \
         OPG_OPT_DURATION,                                                                         \
         "7d",                                                                                     \
         3600000,                                                                                  \
         3650LL * 86400000,                                                                        \
         OPG_ALERTS_CFG(base, keep_ms),                                                            \
         "resolved alerts and sent notifications kept this long"},                                 \
        {"group-wait",                                                                             \
         "OTELPG_GROUP_WAIT",                                                                      \
         OPG_OPT_DURATION,                                                                         \
         "30s",                                                                                    \
         0,                                                                                        \
         86400000,                                                                                 \
         OPG_ALERTS_CFG(base, group_wait_ms),                                                      \
         "wait before a new group's first notification"},                                          \
        {"group-interval",                                                                         \
         "OTELPG_GROUP_INTERVAL",                                                                  \
         OPG_OPT_DURATION,                                                                         \
         "5m",                                                                                     \
         0,                                                                                        \
         86400000,                                                                                 \
         OPG_ALERTS_CFG(base, group_interval_ms),                                                  \
         "wait between notifications of a changed group"},                                         \
        {"repeat-interval",                                                                        \
         "OTELPG_REPEAT_INTERVAL",                                                                 \
         OPG_OPT_DURATION,                                                                         \
         "4h",                                                                                     \
         1000,                                                                                     \
         30LL * 86400000,                                                                          \
         OPG_ALERTS_CFG(base, repeat_interval_ms),                                                 \
         "re-notify a group still firing after this long"},                                        \
        {"webhook-timeout",                                                                        \
         "OTELPG_WEBHOOK_TIMEOUT",                                                                 \
         OPG_OPT_DURATION,                                                                         \
         "10s",                                                                                    \
         100,                                                                                      \
         600000,                                                                                   \
         OPG_ALERTS_CFG(base, webhook_timeout_ms),                                                 \
         "time allowed for one delivery attempt"},                                                 \
        {"webhook-max-attempts",                                                                   \
         "OTELPG_WEBHOOK_MAX_ATTEMPTS",                                                            \
         OPG_OPT_INT,                                                                              \
         "12",                                                                                     \
         1,                                                                                        \
         1000,                                                                                     \
         OPG_ALERTS_CFG(base, webhook_max_attempts),                                               \
         "attempts of one notification before it is given up"},                                    \
        {"webhook-max-backoff",                                                                    \
         "OTELPG_WEBHOOK_MAX_BACKOFF",                                                             \
         OPG_OPT_DURATION,                                                                         \
         "5m",                                                                                     \
         1000,                                                                                     \
         86400000,                                                                                 \
         OPG_ALERTS_CFG(base, webhook_max_backoff_ms),                                             \
         "longest wait between attempts (Retry-After is honoured up to this)"},                    \
        {"slo-target",                                                                             \
         "OTELPG_SLO_TARGET",                                                                      \
         OPG_OPT_STR,                                                                              \
         "0",                                                                                      \
         0,                                                                                        \
         0,                                                                                        \
         OPG_ALERTS_CFG(base, slo_target),                                                         \
         "availability SLO of each service's server spans, e.g. 0.999 (0: no error budget burn "   \
         "alerts)"},                                                                               \
        {"slo-min-calls",                                                                          \
         "OTELPG_SLO_MIN_CALLS",                                                                   \
         OPG_OPT_INT,                                                                              \
         "100",                                                                                    \
         1,                                                                                        \
         1000000000,                                                                               \
         OPG_ALERTS_CFG(base, slo_min_calls),                                                      \
         "calls in each burn-rate window before it is judged"},                                    \
        {"slo-fast-burn",                                                                          \
         "OTELPG_SLO_FAST_BURN",                                                                   \
         OPG_OPT_STR,                                                                              \
         "14.4",                                                                                   \
         0,                                                                                        \
         0,                                                                                        \
         OPG_ALERTS_CFG(base, slo_fast_burn),                                                      \
         "fast burn rule: burn rate (errors / budget) needed in both windows"},                    \
        {"slo-fast-long",                                                                          \
         "OTELPG_SLO_FAST_LONG",                                                                   \
         OPG_OPT_DURATION,                                                                         \
         "1h",                                                                                     \
         10000,                                                                                    \
         86400000,                                                                                 \
         OPG_ALERTS_CFG(base, slo_fast_long_ms),                                                   \
         "fast burn rule: long window"},                                                           \
        {"slo-fast-short",                                                                         \
         "OTELPG_SLO_FAST_SHORT",                                                                  \
         OPG_OPT_DURATION,                                                                         \
         "5m",                                                                                     \
         10000,                                                                                    \
         86400000,                                                                                 \
         OPG_ALERTS_CFG(base, slo_fast_short_ms),                                                  \
         "fast burn rule: short window (the alert resolves when it drops below)"},                 \
        {"slo-slow-burn",                                                                          \
         "OTELPG_SLO_SLOW_BURN",                                                                   \
         OPG_OPT_STR,                                                                              \
         "6",                                                                                      \
         0,                                                                                        \
         0,                                                                                        \
         OPG_ALERTS_CFG(base, slo_slow_burn),                                                      \
         "slow burn rule: burn rate needed in both windows"},                                      \
        {"slo-slow-long",                                                                          \
         "OTELPG_SLO_SLOW_LONG",                                                                   \
         OPG_OPT_DURATION,                                                                         \
         "6h",                                                                                     \
         10000,                                                                                    \
         86400000,                                                                                 \
         OPG_ALERTS_CFG(base, slo_slow_long_ms),                                                   \
         "slow burn rule: long window"},                                                           \
        {"slo-slow-short",                                                                         \
         "OTELPG_SLO_SLOW_SHORT",                                                                  \
         OPG_OPT_DURATION,                                                                         \
         "30m",                                                                                    \
         10000,                                                                                    \
         86400000,                                                                                 \
         OPG_ALERTS_CFG(base, slo_slow_short_ms),                                                  \
         "slow burn rule: short window"},                                                          \
    {                                                                                              \
        "webhook-max-alerts-bytes", "OTELPG_WEBHOOK_MAX_ALERTS_BYTES", OPG_OPT_SIZE, "256k", 4096, \
            64 << 20, OPG_ALERTS_CFG(base, webhook_max_body),                                      \
            "a notification's body, at most: alerts past it are left out (truncatedAlerts)"        \
    }

struct opg_alerts;

/*
 * Starts the detector and sender threads. cfg and conninfo are borrowed and
 * must outlive the object. NULL if a setting is invalid (logged) or a thread
 * cannot start.
 */
struct opg_alerts *opg_alerts_start(const struct opg_alerts_config *cfg, const char *conninfo);
/* For /ready: always true (alerting never makes the collector unready); detail says how it runs. */
bool opg_alerts_status(struct opg_alerts *a, char *detail, size_t n);
/* Stops both threads and frees a; accepts NULL. */
void opg_alerts_stop(struct opg_alerts *a);

#endif
