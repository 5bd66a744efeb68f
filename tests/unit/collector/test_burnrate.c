/*
 * Error budget burn rules (the SRE workbook's multi-window, multi-burn-rate
 * alerts) on synthetic traffic, with a simulated clock of 1-minute buckets:
 * a fast burn fires once the 1 h window agrees with the 5 min one; a slow
 * burn fires the 6 h / 30 min rule only; a burn that stops resolves as soon
 * as the short window drops; error ratios within the budget never fire.
 *
 * detector.c is compiled into this test directly (see test_detector.c).
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

#define MINUTE_MS 60000LL
#define MINUTE_NS (MINUTE_MS * 1000000LL)
#define RING      (24 * 60) /* buckets kept: more than the longest window */

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

struct sim {
    struct opg_detector_config cfg, step_cfg;
    double calls[RING], errors[RING];
    long minutes;
    struct opg_alert_track track[2];
    int fired[2], resolved[2];
    int64_t now;
};

static void sim_init(struct sim *s)
{
    memset(s, 0, sizeof(*s));
    opg_detector_config_defaults(&s->cfg);
    s->cfg.slo_target = 0.999;
    /* what alerts.c does: the two windows are the hysteresis */
    s->step_cfg = s->cfg;
    s->step_cfg.pending_ms = 0;
    s->step_cfg.resolve_ms = 0;
    s->now = 1700000000LL * 1000000000LL;
}

/* Calls and errors of the last ms of simulated time. */
static void sum(const struct sim *s, long long ms, double *calls, double *errors)
{
    long n = (long)(ms / MINUTE_MS);

    *calls = *errors = 0;
    for (long i = 0; i < n && i < s->minutes; i++) {
        long k = (s->minutes - 1 - i) % RING;
        *calls += s->calls[k];
        *errors += s->errors[k];
    }
}

/* One minute of traffic (about rate calls, each an error with probability p), then both rules. */
static void minute(struct sim *s, double rate, double p)
{
    long k = s->minutes % RING;
    double calls = floor(rate + sqrt(rate) * normal() + 0.5), errors = 0;

    if (calls < 0)
        calls = 0;
    for (int i = 0; i < (int)calls; i++)
        errors += uniform() < p;
    s->calls[k] = calls;
    s->errors[k] = errors;
    s->minutes++;
    s->now += MINUTE_NS;
    for (int i = 0; i < 2; i++) {
        enum opg_detector_rule rule = i ? OPG_RULE_BURN_SLOW : OPG_RULE_BURN_FAST;
        struct opg_burn_counts c;
        struct opg_detector_verdict v;
        enum opg_alert_event ev;

        sum(s, s->cfg.burn[i].long_ms, &c.calls_long, &c.errors_long);
        sum(s, s->cfg.burn[i].short_ms, &c.calls_short, &c.errors_short);
        opg_detector_burn(&s->cfg, rule, &c, s->track[i].state == OPG_ALERT_FIRING, &v);
        ev = opg_detector_step(&s->step_cfg, &s->track[i], v.breach, s->now);
        s->fired[i] += ev == OPG_EVENT_FIRED;
        s->resolved[i] += ev == OPG_EVENT_RESOLVED;
    }
}

static void healthy(struct sim *s, int minutes)
{
    for (int k = 0; k < minutes; k++)
        minute(s, 200, 0.0005);
}

static void test_fast_burn_fires_and_resolves_on_the_short_window(void **state)
{
    struct sim s;
    int fired_at = -1, resolved_at = -1;

    sim_init(&s);
    healthy(&s, 6 * 60);
    assert_int_equal(s.fired[0] + s.fired[1], 0);
    /* 20 % errors at a 99.9 % SLO: a burn rate of 200 */
    for (int k = 0; k < 8; k++) {
        minute(&s, 200, 0.20);
        if (fired_at < 0 && s.fired[0])
            fired_at = k;
    }
    /*
     * The 5 min window passes 14.4 in the first minute; the 1 h one needs
     * about 173 errors in 12000 calls (minute 5). So it fires within the
     * short window, once the long one agrees, and not before.
     */
    assert_true(fired_at >= 2 && fired_at <= 4);
    assert_int_equal(s.track[0].state, OPG_ALERT_FIRING);
    for (int k = 0; k < 30; k++) {
        minute(&s, 200, 0.0005);
        if (resolved_at < 0 && s.resolved[0])
            resolved_at = k;
        /* it resolves on the short window, while the 1 h one still burns above 14.4 */
        if (k == resolved_at) {
            double calls, errors;
            sum(&s, s.cfg.burn[0].long_ms, &calls, &errors);
            assert_true(errors / calls / 0.001 > s.cfg.burn[0].factor);
        }
    }
    /* the bad minutes leave the 5 min window after 5 good ones */
    assert_true(resolved_at >= 3 && resolved_at <= 4);
    assert_int_equal(s.fired[0], 1);
    assert_int_equal(s.resolved[0], 1);
    assert_int_equal(s.fired[1], 0);
}

static void test_slow_burn_fires_the_slow_rule_only(void **state)
{
    struct sim s;
    int fired_at = -1;

    sim_init(&s);
    healthy(&s, 6 * 60);
    /*
     * 1 % errors: a burn rate of 10, between 6 and 14.4. (At 0.7 %, a burn
     * rate of 7, the 30 min window dips under 6 now and then: the alert
     * resolves and fires again, as the rule says.)
     */
    for (int k = 0; k < 8 * 60; k++) {
        minute(&s, 200, 0.01);
        if (fired_at < 0 && s.fired[1])
            fired_at = k;
    }
    assert_int_equal(s.fired[0], 0);
    assert_int_equal(s.fired[1], 1);
    /* the 6 h window agrees after roughly 3.5 h of it */
    assert_true(fired_at > 2 * 60 && fired_at < 5 * 60);
    assert_int_equal(s.track[1].state, OPG_ALERT_FIRING);
    healthy(&s, 60);
    assert_int_equal(s.track[1].state, OPG_ALERT_OK);
    assert_int_equal(s.resolved[1], 1);
}

static void test_short_spike_resolves(void **state)
{
    struct sim s;

    sim_init(&s);
    healthy(&s, 6 * 60);
    /* one bad minute: 40 errors are not 2 % of the hour's budget */
    minute(&s, 200, 0.20);
    healthy(&s, 10);
    assert_int_equal(s.fired[0] + s.fired[1], 0);
    /* three minutes of half the calls failing: it pages, and ends when the errors stop */
    for (int k = 0; k < 3; k++)
        minute(&s, 200, 0.5);
    assert_int_equal(s.fired[0], 1);
    healthy(&s, 6);
    assert_int_equal(s.track[0].state, OPG_ALERT_OK);
    assert_int_equal(s.resolved[0], 1);
    healthy(&s, 120);
    assert_int_equal(s.fired[0], 1);
}

static void test_within_budget_never_fires(void **state)
{
    static const double rates[] = {30, 200, 3000};
    static const double errs[] = {0.0, 0.001, 0.004};

    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 3; j++) {
            struct sim s;

            sim_init(&s);
            /*
             * Six hours of the same traffic first: a service younger than the
             * long window is judged on fewer calls, and a noisy 0.4 % can pass
             * 0.6 % there (the rules have no notion of a window's coverage).
             */
            for (int k = 0; k < 6 * 60; k++)
                minute(&s, rates[i], errs[j]);
            memset(s.fired, 0, sizeof(s.fired));
            memset(s.track, 0, sizeof(s.track));
            /* three days, with a daily cycle of traffic */
            for (int k = 0; k < 3 * 24 * 60; k++)
                minute(&s, rates[i] * (1 + 0.5 * sin(2 * M_PI * k / 1440.0)), errs[j]);
            assert_int_equal(s.fired[0] + s.fired[1], 0);
        }
    }
}

static void test_small_samples_and_disabled(void **state)
{
    struct opg_detector_config cfg;
    struct opg_detector_verdict v;
    struct opg_burn_counts c = {2, 1, 2, 1}; /* 1 error out of 2 requests */

    opg_detector_config_defaults(&cfg);
    /* off by default */
    c = (struct opg_burn_counts){12000, 2400, 1000, 200};
    opg_detector_burn(&cfg, OPG_RULE_BURN_FAST, &c, false, &v);
    assert_false(v.judged);
    assert_false(v.breach);
    cfg.slo_target = 0.999;
    opg_detector_burn(&cfg, OPG_RULE_BURN_FAST, &c, false, &v);
    assert_true(v.breach);
    assert_true(fabs(v.observed - 200) < 1e-6 && fabs(v.score - 200) < 1e-6);
    assert_true(fabs(v.expected - 14.4) < 1e-9);
    c = (struct opg_burn_counts){2, 1, 2, 1};
    opg_detector_burn(&cfg, OPG_RULE_BURN_FAST, &c, false, &v);
    assert_false(v.judged);
    assert_false(v.breach);
    /* 4 errors of 100: a burn rate of 40, but under --alert-min-errors */
    c = (struct opg_burn_counts){1000, 40, 100, 4};
    opg_detector_burn(&cfg, OPG_RULE_BURN_FAST, &c, false, &v);
    assert_true(v.judged);
    assert_false(v.breach);
    /* the long window alone starts nothing; once firing, the short one alone keeps it */
    c = (struct opg_burn_counts){12000, 12, 1000, 100};
    opg_detector_burn(&cfg, OPG_RULE_BURN_FAST, &c, false, &v);
    assert_false(v.breach);
    opg_detector_burn(&cfg, OPG_RULE_BURN_FAST, &c, true, &v);
    assert_true(v.breach);
    /* the other rules' judge says nothing about burn rules */
    opg_detector_judge(&cfg, OPG_RULE_BURN_SLOW, NULL, 0, &(struct opg_detector_window){0}, &v);
    assert_false(v.judged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_burn_fires_and_resolves_on_the_short_window),
        cmocka_unit_test(test_slow_burn_fires_the_slow_rule_only),
        cmocka_unit_test(test_short_spike_resolves),
        cmocka_unit_test(test_within_budget_never_fires),
        cmocka_unit_test(test_small_samples_and_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
