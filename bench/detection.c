/*
 * Detection-quality benchmark: replays synthetic RED series with known
 * incidents through the collector's detector (collector/detector.c, compiled
 * in) with its default thresholds, 1-minute windows, and prints precision,
 * recall and detection delay per incident kind.
 *
 *   bench/detection.sh [--series N] [--windows N] [--seed N]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector/detector.c"

#define WINDOW_NS (60LL * 1000000000LL)
#define HISTORY   30

static uint64_t rng;
static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static double normal(void)
{
    return sqrt(-2 * log(uniform() + 1e-300)) * cos(2 * M_PI * uniform());
}

enum kind { NONE, ERRORS_BIG, ERRORS_SMALL, LATENCY, OUTAGE, N_KINDS };
static const char *const kind_names[] = {"", "error rate x10 (>= +10 points)",
                                         "error rate +3 points (below the bound)", "p95 latency x3",
                                         "traffic stops"};

struct stats {
    int incidents, detected;
    double delay_sum;
    int delays[64];
};

int main(int argc, char **argv)
{
    int n_series = 300, n_windows = 3000;
    unsigned long long seed = 42;
    struct stats st[N_KINDS] = {0};
    long alerts = 0, true_alerts = 0;
    struct opg_detector_config cfg;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--series"))
            n_series = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--windows"))
            n_windows = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[i + 1], NULL, 10);
    }
    rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    opg_detector_config_defaults(&cfg);

    for (int s = 0; s < n_series; s++) {
        struct opg_detector_window win[HISTORY + 1];
        struct opg_alert_track track[OPG_RULE_COUNT] = {0};
        /* each series its own shape: traffic 20..2000/min, base errors 0..3 %, 20..300 ms */
        double rate = 20 * pow(100, uniform()), base_err = 0.03 * uniform(),
               median = 20 + 280 * uniform();
        enum kind inc = NONE;
        int inc_start = 0, inc_end = -1, next_inc = 200 + (int)(400 * uniform());
        bool inc_detected = false;
        int64_t now = 0;

        memset(win, 0, sizeof(win));
        for (int k = 0; k < n_windows; k++) {
            struct opg_detector_window w = {0};
            double hist[OPG_LATENCY_BUCKETS] = {0}, err = base_err, med = median, r;

            if (inc == NONE && k == next_inc) {
                inc = (enum kind)(1 + (int)(uniform() * 4));
                inc_start = k;
                inc_end = k + 3 + (int)(uniform() * 20);
                inc_detected = false;
                st[inc].incidents++;
            }
            if (inc == ERRORS_BIG)
                err = fmax(10 * base_err, base_err + 0.10);
            else if (inc == ERRORS_SMALL)
                err = base_err + 0.03;
            else if (inc == LATENCY)
                med = 3 * median;
            r = inc == OUTAGE ? 0 : rate * (1 + 0.3 * sin(2 * M_PI * k / 1440.0));
            w.calls = fmax(0, floor(r + sqrt(r) * normal() + 0.5));
            for (int i = 0; i < (int)w.calls; i++) {
                if (uniform() < err)
                    w.errors++;
                hist[opg_detector_bucket_of_ns((int64_t)(med * exp(0.4 * normal()) * 1e6))]++;
            }
            w.latency_ms = opg_detector_quantile_ms(hist, OPG_LATENCY_BUCKETS, cfg.quantile);
            memmove(&win[0], &win[1], HISTORY * sizeof(win[0]));
            win[HISTORY] = w;
            now += WINDOW_NS;
            for (int rule = 0; rule < OPG_RULE_COUNT; rule++) {
                struct opg_detector_verdict v;

                opg_detector_judge(&cfg, rule, win, HISTORY, &win[HISTORY], &v);
                if (opg_detector_step(&cfg, &track[rule], v.breach, now) == OPG_EVENT_FIRED) {
                    bool during = inc != NONE || (k <= inc_end + 2 && k >= inc_start);
                    alerts++;
                    if (during) {
                        true_alerts++;
                        if (inc != NONE && !inc_detected) {
                            int d = k - inc_start + 1;
                            inc_detected = true;
                            st[inc].detected++;
                            st[inc].delay_sum += d;
                            st[inc].delays[d < 63 ? d : 63]++;
                        }
                    }
                }
                win[HISTORY].excluded[rule] = track[rule].state != OPG_ALERT_OK;
            }
            if (inc != NONE && k == inc_end) {
                inc = NONE;
                next_inc = k + 150 + (int)(400 * uniform());
            }
        }
    }
    printf("detection benchmark: %d series x %d one-minute windows (%.1f series-days), seed %llu\n",
           n_series, n_windows, n_series * n_windows / 1440.0, seed);
    printf("defaults: min calls %.0f, min errors %.0f, +%.0f points, z %.0f, latency x%.1f and "
           "+%.0f ms, pending %lld s, resolve %lld s, history %d windows\n",
           cfg.min_calls, cfg.min_errors, 100 * cfg.min_error_increase, cfg.z, cfg.latency_factor,
           cfg.min_latency_increase_ms, cfg.pending_ms / 1000, cfg.resolve_ms / 1000, HISTORY);
    printf("%-40s %9s %9s %8s %12s\n", "incident", "incidents", "detected", "recall",
           "delay (min)");
    for (int k = 1; k < N_KINDS; k++) {
        printf("%-40s %9d %9d %7.1f%% %12.2f\n", kind_names[k], st[k].incidents, st[k].detected,
               st[k].incidents ? 100.0 * st[k].detected / st[k].incidents : 0,
               st[k].detected ? st[k].delay_sum / st[k].detected : 0);
    }
    {
        int inc = 0, det = 0;
        for (int k = 1; k < N_KINDS; k++)
            if (k != ERRORS_SMALL) {
                inc += st[k].incidents;
                det += st[k].detected;
            }
        printf("alerts fired: %ld, during an incident: %ld -> precision %.2f%%\n", alerts,
               true_alerts, alerts ? 100.0 * true_alerts / alerts : 100.0);
        printf("recall on incidents above the bounds: %.2f%%\n", inc ? 100.0 * det / inc : 0);
        printf("RESULT precision=%.4f recall=%.4f\n", alerts ? (double)true_alerts / alerts : 1.0,
               inc ? (double)det / inc : 0);
    }
    return 0;
}
