/*
 * Search parameter parsing: Jaeger's tags JSON and tag=key:value forms, the
 * tags that become column filters, API v3's camelCase and snake_case names,
 * and the duration forms Jaeger clients send.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "params.h"
#include "search.h"

static void test_tags_json(void **state)
{
    struct opg_search_query q;
    char err[256] = "";

    opg_search_query_init(&q);
    assert_int_equal(
        opg_search_query_parse_tags(&q, "{\"http.status_code\":\"500\",\"customer\":\"a:b\"}", err,
                                    sizeof(err)),
        0);
    assert_int_equal(q.n_tags, 2);
    assert_string_equal(q.tags[0].key, "http.status_code");
    assert_string_equal(q.tags[0].value, "500");
    assert_string_equal(q.tags[1].value, "a:b");
    assert_int_equal(q.status, -1);
    /* bare numbers and booleans mean their text */
    assert_int_equal(opg_search_query_parse_tags(&q, "{\"n\":42,\"b\":false}", err, sizeof(err)),
                     0);
    assert_string_equal(q.tags[2].value, "42");
    assert_string_equal(q.tags[3].value, "false");
    opg_search_query_release(&q);
}

static void test_tags_json_refused(void **state)
{
    static const char *const bad[] = {
        "notjson",
        "[1,2]",
        "\"x\"",
        "{\"a\":{}}",
        "{\"a\":[1]}",
        "{\"a\":null}",
        "{\"\":\"x\"}",
        "{\"a\":\"1\",\"a\":\"2\"}",
        "{\"span.kind\":\"sideways\"}",
        "{\"otel.status_code\":\"MEH\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct opg_search_query q;
        char err[256] = "";

        opg_search_query_init(&q);
        if (opg_search_query_parse_tags(&q, bad[i], err, sizeof(err)) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_true(strlen(err) > 5);
        opg_search_query_release(&q);
    }
}

static void test_too_many_tags(void **state)
{
    struct opg_search_query q;
    char err[256] = "", key[16];

    opg_search_query_init(&q);
    for (int i = 0; i < OPG_SEARCH_MAX_TAGS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(opg_search_query_add_tag(&q, key, "v", err, sizeof(err)), 0);
    }
    assert_int_equal(opg_search_query_add_tag(&q, "one.more", "v", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "at most"));
    opg_search_query_release(&q);
}

static void test_column_tags(void **state)
{
    struct opg_search_query q;
    char err[256] = "";

    opg_search_query_init(&q);
    assert_int_equal(opg_search_query_add_tag(&q, "error", "true", err, sizeof(err)), 0);
    assert_int_equal(q.status, 2);
    assert_false(q.status_not);
    assert_int_equal(opg_search_query_add_tag(&q, "error", "false", err, sizeof(err)), 0);
    assert_int_equal(q.status, 2);
    assert_true(q.status_not);
    assert_int_equal(opg_search_query_add_tag(&q, "otel.status_code", "OK", err, sizeof(err)), 0);
    assert_int_equal(q.status, 1);
    assert_false(q.status_not);
    assert_int_equal(opg_search_query_add_tag(&q, "span.kind", "client", err, sizeof(err)), 0);
    assert_int_equal(q.kind, 3);
    /* none of them is left for the payload matcher */
    assert_int_equal(q.n_tags, 0);
    /* "error" with another value is an ordinary attribute */
    assert_int_equal(opg_search_query_add_tag(&q, "error", "timeout", err, sizeof(err)), 0);
    assert_int_equal(q.n_tags, 1);
    opg_search_query_release(&q);
}

static void test_tag_pairs(void **state)
{
    struct opg_search_query q;
    char err[256] = "";

    opg_search_query_init(&q);
    assert_int_equal(opg_search_query_parse_tag_pair(&q, "url:http://x/y", err, sizeof(err)), 0);
    assert_string_equal(q.tags[0].key, "url");
    assert_string_equal(q.tags[0].value, "http://x/y");
    assert_int_equal(opg_search_query_parse_tag_pair(&q, "nocolon", err, sizeof(err)), -1);
    assert_int_equal(opg_search_query_parse_tag_pair(&q, ":value", err, sizeof(err)), -1);
    opg_search_query_release(&q);
}

struct fake_params {
    const char *const *kv; /* name, value, ..., NULL */
};

static const char *fake_get(void *cls, const char *name)
{
    const struct fake_params *p = cls;

    for (size_t i = 0; p->kv[i]; i += 2)
        if (!strcmp(p->kv[i], name))
            return p->kv[i + 1];
    return NULL;
}

static void test_v3_names(void **state)
{
    static const char *const service[] = {"query.serviceName", "query.service_name", NULL};
    static const char *const depth[] = {"query.searchDepth", "query.search_depth",
                                        "query.num_traces", NULL};
    const char *const snake[] = {"query.service_name", "svc", "query.num_traces", "7", NULL};
    const char *const both[] = {"query.service_name",
                                "old",
                                "query.serviceName",
                                "new",
                                "query.searchDepth",
                                "",
                                "query.search_depth",
                                "9",
                                NULL};
    struct fake_params p = {snake};
    const char *used = NULL;

    assert_string_equal(opg_search_param(fake_get, &p, service, &used), "svc");
    assert_string_equal(used, "query.service_name");
    assert_string_equal(opg_search_param(fake_get, &p, depth, &used), "7");
    assert_string_equal(used, "query.num_traces");
    p.kv = both;
    /* the canonical camelCase name wins; an empty value counts as absent */
    assert_string_equal(opg_search_param(fake_get, &p, service, NULL), "new");
    assert_string_equal(opg_search_param(fake_get, &p, depth, NULL), "9");
    p.kv = (const char *const[]){NULL};
    assert_null(opg_search_param(fake_get, &p, service, NULL));
}

static void test_durations(void **state)
{
    int64_t ns = 0;

    assert_int_equal(opg_parse_duration_ns("100ms", &ns), 0);
    assert_int_equal(ns, 100000000);
    assert_int_equal(opg_parse_duration_ns("1.5s", &ns), 0);
    assert_int_equal(ns, 1500000000);
    assert_int_equal(opg_parse_duration_ns("250us", &ns), 0);
    assert_int_equal(ns, 250000);
    assert_int_equal(opg_parse_duration_ns("2m", &ns), 0);
    assert_int_equal(ns, 120000000000LL);
    assert_int_equal(opg_parse_duration_ns("1500", &ns), 0); /* plain: microseconds */
    assert_int_equal(ns, 1500000);
    assert_int_equal(opg_parse_duration_ns("fast", &ns), -1);
    assert_int_equal(opg_parse_duration_ns("-1s", &ns), -1);
    assert_int_equal(opg_parse_duration_ns("1parsec", &ns), -1);
    assert_int_equal(opg_parse_duration_ns("", &ns), -1);
}

static void test_kind_names(void **state)
{
    assert_string_equal(opg_search_kind_name(2), "server");
    assert_string_equal(opg_search_kind_name(0), "");
    assert_null(opg_search_kind_name(9));
    assert_int_equal(opg_search_kind_from_name("consumer"), 5);
    assert_int_equal(opg_search_kind_from_name("SERVER"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_json),     cmocka_unit_test(test_tags_json_refused),
        cmocka_unit_test(test_too_many_tags), cmocka_unit_test(test_column_tags),
        cmocka_unit_test(test_tag_pairs),     cmocka_unit_test(test_v3_names),
        cmocka_unit_test(test_durations),     cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
