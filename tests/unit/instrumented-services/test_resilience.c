/*
 * The resilience primitives: the circuit breaker's state machine, backoff
 * with full jitter, and the token bucket, driven by a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "svc_backoff.h"
#include "svc_breaker.h"
#include "svc_bucket.h"

#define MS 1000000LL

struct changes {
    int n;
    enum svc_breaker_state from[16], to[16];
};

static void record_change(struct svc_breaker *b, enum svc_breaker_state from,
                          enum svc_breaker_state to, void *cls)
{
    struct changes *c = cls;

    c->from[c->n] = from;
    c->to[c->n] = to;
    c->n++;
}

static void breaker_opens_after_threshold(void **state)
{
    struct svc_breaker b;
    struct changes ch = {0};

    svc_breaker_init(&b, "peer", 3, 1000, record_change, &ch);
    for (int i = 0; i < 2; i++) {
        assert_true(svc_breaker_allow(&b, 0));
        svc_breaker_record(&b, false, 0);
    }
    /* a success resets the count: failures must be consecutive */
    svc_breaker_record(&b, true, 0);
    for (int i = 0; i < 2; i++)
        svc_breaker_record(&b, false, 0);
    assert_int_equal(svc_breaker_get(&b), SVC_BREAKER_CLOSED);
    svc_breaker_record(&b, false, 10 * MS);
    assert_int_equal(svc_breaker_get(&b), SVC_BREAKER_OPEN);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.from[0], SVC_BREAKER_CLOSED);
    assert_int_equal(ch.to[0], SVC_BREAKER_OPEN);
    /* open: refused until open_ms has passed */
    assert_false(svc_breaker_allow(&b, 500 * MS));
    assert_false(svc_breaker_allow(&b, 1009 * MS));
    svc_breaker_release(&b);
}

static void half_open_probe_closes_or_reopens(void **state)
{
    struct svc_breaker b;
    struct changes ch = {0};

    svc_breaker_init(&b, "peer", 1, 1000, record_change, &ch);
    svc_breaker_record(&b, false, 0);
    assert_int_equal(svc_breaker_get(&b), SVC_BREAKER_OPEN);
    /* after open_ms: one probe only */
    assert_true(svc_breaker_allow(&b, 1000 * MS));
    assert_int_equal(svc_breaker_get(&b), SVC_BREAKER_HALF_OPEN);
    assert_false(svc_breaker_allow(&b, 1001 * MS));
    /* the probe fails: open again, for another full period */
    svc_breaker_record(&b, false, 1100 * MS);
    assert_int_equal(svc_breaker_get(&b), SVC_BREAKER_OPEN);
    assert_false(svc_breaker_allow(&b, 2000 * MS));
    assert_true(svc_breaker_allow(&b, 2100 * MS));
    svc_breaker_record(&b, true, 2150 * MS);
    assert_int_equal(svc_breaker_get(&b), SVC_BREAKER_CLOSED);
    assert_true(svc_breaker_allow(&b, 2151 * MS));
    assert_true(svc_breaker_allow(&b, 2152 * MS));
    assert_int_equal(ch.n, 5);
    assert_int_equal(ch.to[1], SVC_BREAKER_HALF_OPEN);
    assert_int_equal(ch.to[2], SVC_BREAKER_OPEN);
    assert_int_equal(ch.to[3], SVC_BREAKER_HALF_OPEN);
    assert_int_equal(ch.to[4], SVC_BREAKER_CLOSED);
    assert_string_equal(svc_breaker_state_name(SVC_BREAKER_HALF_OPEN), "half_open");
    svc_breaker_release(&b);
}

static void backoff_grows_caps_and_jitters(void **state)
{
    struct svc_backoff b = {.base_ms = 50, .max_ms = 1000};
    uint64_t rng = 42;
    int64_t seen_max = 0, seen_min = 1 << 30;

    assert_int_equal(svc_backoff_cap_ms(&b, 0), 50);
    assert_int_equal(svc_backoff_cap_ms(&b, 1), 100);
    assert_int_equal(svc_backoff_cap_ms(&b, 3), 400);
    assert_int_equal(svc_backoff_cap_ms(&b, 5), 1000);
    assert_int_equal(svc_backoff_cap_ms(&b, 1000), 1000); /* no overflow */
    for (int i = 0; i < 2000; i++) {
        int64_t d = svc_backoff_delay_ms(&b, 2, &rng);
        assert_true(d >= 0 && d <= 200);
        if (d > seen_max)
            seen_max = d;
        if (d < seen_min)
            seen_min = d;
    }
    /* jitter: the delays spread over the range rather than sitting at the cap */
    assert_true(seen_max > 180);
    assert_true(seen_min < 20);
}

static void bucket_limits_and_refills(void **state)
{
    struct svc_bucket b;
    int64_t t = 1000 * MS;
    int ok = 0;

    svc_bucket_init(&b, 10, 5, t);
    for (int i = 0; i < 20; i++)
        ok += svc_bucket_take(&b, t);
    assert_int_equal(ok, 5); /* the burst */
    assert_true(svc_bucket_wait_ms(&b) > 0 && svc_bucket_wait_ms(&b) <= 101);
    assert_false(svc_bucket_take(&b, t + 50 * MS));
    assert_true(svc_bucket_take(&b, t + 100 * MS)); /* 10/s: one token per 100 ms */
    assert_false(svc_bucket_take(&b, t + 150 * MS));
    /* a long pause refills to the burst, no further */
    ok = 0;
    for (int i = 0; i < 20; i++)
        ok += svc_bucket_take(&b, t + 60000 * MS);
    assert_int_equal(ok, 5);
    /* a clock going backwards gives nothing */
    assert_false(svc_bucket_take(&b, t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(breaker_opens_after_threshold),
        cmocka_unit_test(half_open_probe_closes_or_reopens),
        cmocka_unit_test(backoff_grows_caps_and_jitters),
        cmocka_unit_test(bucket_limits_and_refills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
