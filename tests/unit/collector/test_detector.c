/*
 * The detector on synthetic series: steady traffic with normal noise fires
 * nothing over a long simulated period; an incident fires after the pending
 * period and resolves after the hysteresis; small samples prove nothing.
 *
 * detector.c has no I/O and belongs to the collector executable, which unit
 * tests do not link: it is compiled into this test directly.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../collector/detector.c"

#define WINDOW_NS (60LL * 1000000000LL)
#define HISTORY   30

/* A deterministic PRNG (xorshift64*), so that the test cannot flake. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static double normal(void)
{
    double u = uniform(), v = uniform();
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}
static double poisson(double mean)
{
    double v = mean + sqrt(mean) * normal();
    return v < 0 ? 0 : floor(v + 0.5);
}

/* One window: calls ~ Poisson(rate), errors ~ Binomial(calls, p), latency lognormal. */
static void window(struct opg_detector_window *w, double rate, double p, double median_ms)
{
    double hist[OPG_LATENCY_BUCKETS] = {0};

    memset(w, 0, sizeof(*w));
    w->calls = poisson(rate);
    for (int i = 0; i < (int)w->calls; i++) {
        double ms = median_ms * exp(0.4 * normal());
        if (uniform() < p)
            w->errors++;
        hist[opg_detector_bucket_of_ns((int64_t)(ms * 1e6))]++;
    }
    w->latency_ms = opg_detector_quantile_ms(hist, OPG_LATENCY_BUCKETS, 0.95);
}

struct sim {
    struct opg_detector_config cfg;
    struct opg_detector_window win[HISTORY + 1];
    struct opg_alert_track track[OPG_RULE_COUNT];
    int fired[OPG_RULE_COUNT], resolved[OPG_RULE_COUNT];
    int64_t now;
};

/* Pushes w as the newest window and evaluates every rule on it. */
static void step(struct sim *s, const struct opg_detector_window *w)
{
    memmove(&s->win[0], &s->win[1], HISTORY * sizeof(s->win[0]));
    s->win[HISTORY] = *w;
    s->now += WINDOW_NS;
    for (int r = 0; r < OPG_RULE_COUNT; r++) {
        struct opg_detector_verdict v;
        enum opg_alert_event ev;

        opg_detector_judge(&s->cfg, r, s->win, HISTORY, &s->win[HISTORY], &v);
        ev = opg_detector_step(&s->cfg, &s->track[r], v.breach, s->now);
        s->fired[r] += ev == OPG_EVENT_FIRED;
        s->resolved[r] += ev == OPG_EVENT_RESOLVED;
        /* what alerts.c does: a window is excluded from the baseline while its alert is on */
        s->win[HISTORY].excluded[r] = s->track[r].state != OPG_ALERT_OK;
    }
}

static void sim_init(struct sim *s)
{
    memset(s, 0, sizeof(*s));
    opg_detector_config_defaults(&s->cfg);
    s->now = 1700000000LL * 1000000000LL;
}

static void test_steady_noise_fires_nothing(void **state)
{
    /* a week of 1-minute windows for several traffic shapes */
    static const double rates[] = {30, 200, 3000};
    static const double errs[] = {0.0, 0.01, 0.04};

    for (size_t i = 0; i < 3; i++) {
        struct sim s;
        struct opg_detector_window w;

        sim_init(&s);
        for (int k = 0; k < 7 * 24 * 60; k++) {
            /* a daily cycle of traffic: the baseline must follow it */
            double rate = rates[i] * (1 + 0.5 * sin(2 * M_PI * k / 1440.0));
            window(&w, rate, errs[i], 80);
            step(&s, &w);
        }
        for (int r = 0; r < OPG_RULE_COUNT; r++)
            assert_int_equal(s.fired[r], 0);
    }
}

static void test_incident_fires_and_resolves(void **state)
{
    struct sim s;
    struct opg_detector_window w;
    int fired_at = -1, resolved_at = -1;

    sim_init(&s);
    for (int k = 0; k < 60; k++) {
        window(&w, 200, 0.01, 80);
        step(&s, &w);
    }
    for (int k = 0; k < 20; k++) {
        window(&w, 200, 0.20, 80);
        step(&s, &w);
        if (fired_at < 0 && s.fired[OPG_RULE_ERROR_RATE])
            fired_at = k;
    }
    /* the incident kept out of the baseline: it still fires at its end */
    assert_int_equal(s.track[OPG_RULE_ERROR_RATE].state, OPG_ALERT_FIRING);
    for (int k = 0; k < 20; k++) {
        window(&w, 200, 0.01, 80);
        step(&s, &w);
        if (resolved_at < 0 && s.resolved[OPG_RULE_ERROR_RATE])
            resolved_at = k;
    }
    /* pending 1 min: it fires at the second bad window; resolve 2 min: the third good one */
    assert_int_equal(fired_at, 1);
    assert_int_equal(resolved_at, 2);
    assert_int_equal(s.fired[OPG_RULE_ERROR_RATE], 1);
    assert_int_equal(s.fired[OPG_RULE_LATENCY], 0);
    assert_int_equal(s.fired[OPG_RULE_NO_TRAFFIC], 0);
}

static void test_latency_and_no_traffic(void **state)
{
    struct sim s;
    struct opg_detector_window w;

    sim_init(&s);
    for (int k = 0; k < 40; k++) {
        window(&w, 100, 0.0, 80);
        step(&s, &w);
    }
    for (int k = 0; k < 5; k++) {
        window(&w, 100, 0.0, 400);
        step(&s, &w);
    }
    assert_int_equal(s.fired[OPG_RULE_LATENCY], 1);
    for (int k = 0; k < 5; k++) {
        memset(&w, 0, sizeof(w));
        w.latency_ms = -1;
        step(&s, &w);
    }
    assert_int_equal(s.fired[OPG_RULE_NO_TRAFFIC], 1);
}

static void test_small_samples_prove_nothing(void **state)
{
    struct opg_detector_config cfg;
    struct opg_detector_window hist[10], cur = {2, 1, 50, {false}};
    struct opg_detector_verdict v;

    opg_detector_config_defaults(&cfg);
    for (int i = 0; i < 10; i++)
        hist[i] = (struct opg_detector_window){100, 0, 50, {false}};
    /* 1 error out of 2 requests */
    opg_detector_judge(&cfg, OPG_RULE_ERROR_RATE, hist, 10, &cur, &v);
    assert_false(v.breach);
    /* 3 errors out of 30: 10 %, but under --alert-min-errors */
    cur = (struct opg_detector_window){30, 3, 50, {false}};
    opg_detector_judge(&cfg, OPG_RULE_ERROR_RATE, hist, 10, &cur, &v);
    assert_false(v.breach);
    /* 15 out of 30 is an incident */
    cur = (struct opg_detector_window){30, 15, 50, {false}};
    opg_detector_judge(&cfg, OPG_RULE_ERROR_RATE, hist, 10, &cur, &v);
    assert_true(v.breach);
    assert_true(v.score > cfg.z);
    /* not enough history: no verdict */
    opg_detector_judge(&cfg, OPG_RULE_ERROR_RATE, hist, 3, &cur, &v);
    assert_false(v.judged);
}

static void test_buckets(void **state)
{
    double hist[OPG_LATENCY_BUCKETS] = {0};

    /* the SQL of the spans merge: floor(4 * log2(max(ns, 1000) / 1000)), at most 127 */
    assert_int_equal(opg_detector_bucket_of_ns(0), 0);
    assert_int_equal(opg_detector_bucket_of_ns(1999), 3);
    assert_int_equal(opg_detector_bucket_of_ns(2000), 4);
    assert_int_equal(opg_detector_bucket_of_ns(1000000), 39);
    assert_int_equal(opg_detector_bucket_of_ns(INT64_MAX), 127);
    hist[opg_detector_bucket_of_ns(100000000)] = 100; /* 100 ms */
    assert_true(fabs(opg_detector_quantile_ms(hist, OPG_LATENCY_BUCKETS, 0.5) - 100) < 20);
    memset(hist, 0, sizeof(hist));
    assert_true(opg_detector_quantile_ms(hist, OPG_LATENCY_BUCKETS, 0.5) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_noise_fires_nothing),
        cmocka_unit_test(test_incident_fires_and_resolves),
        cmocka_unit_test(test_latency_and_no_traffic),
        cmocka_unit_test(test_small_samples_prove_nothing),
        cmocka_unit_test(test_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
