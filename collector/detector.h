/*
 * Anomaly detection on RED series, with no I/O: the judgement of one window
 * against its baseline, and the alert state machine. alerts.c feeds it from
 * PostgreSQL; the unit tests and bench/detection.c feed it synthetic series.
 *
 * Baseline: the median and the median absolute deviation (MAD) of the past
 * windows of the same series, skipping windows in which an alert of that
 * rule was pending or firing, so that an incident never becomes "normal".
 * Noise floor: a window's error rate is compared with the binomial standard
 * deviation of its own sample as well as with the MAD, so that 1 error out
 * of 2 requests is no evidence of anything.
 */
#ifndef OPG_COLLECTOR_DETECTOR_H
#define OPG_COLLECTOR_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum opg_detector_rule {
    OPG_RULE_ERROR_RATE, /* errors / calls went up */
    OPG_RULE_LATENCY,    /* the latency quantile went up */
    OPG_RULE_NO_TRAFFIC, /* a service that had traffic receives none */
    OPG_RULE_BURN_FAST,  /* error budget burn, long and short window (1 h and 5 min) */
    OPG_RULE_BURN_SLOW,  /* the same, over longer windows (6 h and 30 min) */
    OPG_RULE_COUNT
};

/* Thresholds: every one is a collector config entry (alerts.h). */
struct opg_detector_config {
    double min_calls;          /* calls in a window below which it is not judged */
    double min_errors;         /* errors in a window before an error alert */
    double min_error_increase; /* absolute increase of the error rate (0.05 = 5 points) */
    double z;                  /* robust z-score needed */
    double latency_factor;     /* observed quantile >= factor x baseline */
    double min_latency_increase_ms;
    double quantile;       /* 0.95: the latency quantile watched */
    double no_traffic_min; /* median calls per window before "no traffic" can fire */
    int min_history;       /* judged past windows needed for a baseline */
    long long pending_ms;  /* a breach must last this long before it fires */
    long long resolve_ms;  /* and be gone this long before it resolves */
    /*
     * Error budget burn (the SRE workbook's multi-window, multi-burn-rate
     * alerts): slo_target 0.999 leaves a budget of 0.1 % errors; 0 disables.
     * burn[0] is OPG_RULE_BURN_FAST, burn[1] OPG_RULE_BURN_SLOW.
     */
    double slo_target;
    double burn_min_calls; /* calls in each window before a burn rate is judged */
    struct {
        double factor;      /* burn rate needed in both windows (14.4: 2 % of 30 days in 1 h) */
        long long long_ms;  /* the window that proves the budget really goes */
        long long short_ms; /* the window that proves it still goes (and ends the alert) */
    } burn[2];
};

/* Default thresholds (used when no config says otherwise). */
void opg_detector_config_defaults(struct opg_detector_config *cfg);

#define OPG_LATENCY_BUCKETS 128

/* Upper bound, in ms, of latency bucket b (2^((b+1)/4) microseconds). */
double opg_detector_bucket_upper_ms(int b);
/* The bucket of a duration, as the spans merge computes it (migration 011). */
int opg_detector_bucket_of_ns(int64_t duration_ns);

/* One window of one series. */
struct opg_detector_window {
    double calls;
    double errors;
    double latency_ms;             /* the configured quantile; < 0 when no calls */
    bool excluded[OPG_RULE_COUNT]; /* an alert of that rule was active then */
};

/* The quantile q of a latency histogram (counts per bucket), in ms; -1 if empty. */
double opg_detector_quantile_ms(const double *hist, int n, double q);

struct opg_detector_verdict {
    bool judged; /* enough samples and history to say anything */
    bool breach;
    double expected; /* baseline: a rate, ms, or calls per window */
    double observed;
    double score;   /* robust z-score (how many deviations above the baseline) */
    double samples; /* calls in the judged window */
};

/*
 * Judges window cur of one series for one rule against its past windows
 * hist[0..n) (oldest first). Both are borrowed.
 */
void opg_detector_judge(const struct opg_detector_config *cfg, enum opg_detector_rule rule,
                        const struct opg_detector_window *hist, size_t n,
                        const struct opg_detector_window *cur, struct opg_detector_verdict *out);

/* Calls and errors of one service over a burn rule's two windows (summed by the caller). */
struct opg_burn_counts {
    double calls_long, errors_long;
    double calls_short, errors_short;
};

/*
 * Judges an error budget burn rule (OPG_RULE_BURN_FAST or _SLOW) on c, which
 * is borrowed. The burn rate of a window is its error ratio / (1 - slo_target).
 * A breach needs both windows above the rule's factor, each with at least
 * burn_min_calls calls and the short one with min_errors errors; once the
 * alert is active, only the short window is looked at, so the alert ends as
 * soon as the burn stops. In out: expected is the factor, observed the
 * short window's burn rate, score the long window's, samples the short
 * window's calls. Never judged when slo_target is 0.
 */
void opg_detector_burn(const struct opg_detector_config *cfg, enum opg_detector_rule rule,
                       const struct opg_burn_counts *c, bool active,
                       struct opg_detector_verdict *out);

enum opg_alert_state { OPG_ALERT_OK, OPG_ALERT_PENDING, OPG_ALERT_FIRING };

/* What an alert of one series and rule remembers between evaluations. */
struct opg_alert_track {
    enum opg_alert_state state;
    int64_t since_ns;    /* pending or firing since */
    int64_t ok_since_ns; /* firing, but without a breach since (0: breaching) */
};

enum opg_alert_event {
    OPG_EVENT_NONE,
    OPG_EVENT_PENDING,   /* a breach began */
    OPG_EVENT_CANCELLED, /* it ended before the pending period */
    OPG_EVENT_FIRED,
    OPG_EVENT_RESOLVED,
};

/*
 * Advances t by one evaluation at now_ns: a breach pending for pending_ms
 * fires; a firing alert resolves after resolve_ms without a breach (the
 * hysteresis: one good window does not end an incident). Returns the event.
 */
enum opg_alert_event opg_detector_step(const struct opg_detector_config *cfg,
                                       struct opg_alert_track *t, bool breach, int64_t now_ns);

#endif
