/*
 * W3C Trace Context: traceparent parsing rejects every malformed form the
 * spec lists and formats back what it read; baggage lookup finds the entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "inst_context.h"
#include "inst_span.h"

#define GOOD "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void parses_and_formats_back(void **state)
{
    struct inst_trace_ctx c;
    char out[INST_TRACEPARENT_LEN + 1];

    assert_int_equal(inst_traceparent_parse(GOOD, &c), 0);
    assert_true(c.valid);
    assert_int_equal(c.trace_id[0], 0x4b);
    assert_int_equal(c.trace_id[15], 0x36);
    assert_int_equal(c.span_id[0], 0x00);
    assert_int_equal(c.span_id[7], 0xb7);
    assert_int_equal(c.flags, 1);
    inst_traceparent_format(&c, out);
    assert_string_equal(out, GOOD);
}

static void rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    /* short */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* v00 too long */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* version ff */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   /* zero trace */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   /* zero span */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",   /* not hex */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  /* future: no dash */
    };
    struct inst_trace_ctx c;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(inst_traceparent_parse(bad[i], &c), -1);
        assert_false(c.valid);
    }
    assert_int_equal(inst_traceparent_parse(NULL, &c), -1);
}

static void accepts_future_versions(void **state)
{
    struct inst_trace_ctx c;

    assert_int_equal(
        inst_traceparent_parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra", &c),
        0);
    assert_int_equal(c.flags, 0);
}

static void baggage_lookup(void **state)
{
    char v[65];

    assert_int_equal(
        inst_baggage_get("a=1, correlation.id = ord-7 ;p=1,b=2", "correlation.id", v, sizeof(v)),
        0);
    assert_string_equal(v, "ord-7");
    assert_int_equal(inst_baggage_get("k=hello%20world", "k", v, sizeof(v)), 0);
    assert_string_equal(v, "hello world");
    assert_int_equal(inst_baggage_get("correlation.idx=1", "correlation.id", v, sizeof(v)), -1);
    assert_int_equal(inst_baggage_get(NULL, "k", v, sizeof(v)), -1);
}

static void correlation_ids(void **state)
{
    char id[INST_CORR_MAX + 1];

    assert_true(inst_correlation_id_valid("ord-1234_a.b:c"));
    assert_false(inst_correlation_id_valid(""));
    assert_false(inst_correlation_id_valid("has space"));
    assert_false(inst_correlation_id_valid("x\"y"));
    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    assert_true(inst_correlation_id_valid(id));
    inst_new_correlation_id(id, sizeof(id));
    assert_true(inst_correlation_id_valid(id));
    assert_int_equal(strlen(id), 26);
}

static void spans_nest_and_inherit_the_trace(void **state)
{
    struct inst_trace_ctx remote;
    struct inst_span *server, *child;

    assert_int_equal(inst_traceparent_parse(GOOD, &remote), 0);
    server = inst_span_start("server", INST_SPAN_SERVER, &remote);
    assert_memory_equal(server->ctx.trace_id, remote.trace_id, 16);
    assert_memory_equal(server->parent_span_id, remote.span_id, 8);
    child = inst_span_start("child", INST_SPAN_CLIENT, NULL);
    assert_ptr_equal(inst_span_current(), child);
    assert_memory_equal(child->ctx.trace_id, remote.trace_id, 16);
    assert_memory_equal(child->parent_span_id, server->ctx.span_id, 8);
    inst_span_end(child); /* no exporter started: freed */
    assert_ptr_equal(inst_span_current(), server);
    inst_span_end(server);
    assert_null(inst_span_current());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_formats_back),
        cmocka_unit_test(rejects_malformed),
        cmocka_unit_test(accepts_future_versions),
        cmocka_unit_test(baggage_lookup),
        cmocka_unit_test(correlation_ids),
        cmocka_unit_test(spans_nest_and_inherit_the_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
