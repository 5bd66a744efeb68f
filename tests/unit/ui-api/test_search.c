/*
 * Search parameter parsing: Jaeger's tags JSON and tag=key:value forms, the
 * tags that become column filters, API v3's camelCase and snake_case names,
 * and the duration forms Jaeger clients send. Then what search reads from
 * span blocks without a database: the wire-format scan of a block (against
 * protobuf-c's unpacking), tags on a scanned span, a trace's summary across
 * blocks and the dependency join, each span ID counted once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "params.h"
/* The scan and the joins are static: the file is included to reach them. */
#include "../../../storage/search.c"

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

/* ---------------------------------------------------------------- blocks */

typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;

/* A block to build: resources of spans, packed and compressed as the collector does. */
struct test_block {
    otlp_req_t req;
    otlp_rs_t rs[4], *rsp[4];
    otlp_resource_t res[4];
    otlp_ss_t ss[4], *ssp[4];
    otlp_scope_t scope;
    kv_t kv[8], *kvp[8];
    any_t any[8];
    otlp_span_t spans[16], *spanp[16];
    Opentelemetry__Proto__Trace__V1__Status status[16];
    size_t n_kv;
    struct opg_buf payload;
};

static void tb_init(struct test_block *t)
{
    memset(t, 0, sizeof(*t));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&t->req);
    opentelemetry__proto__common__v1__instrumentation_scope__init(&t->scope);
    t->scope.name = "lib";
    t->scope.version = "1.0";
    t->req.resource_spans = t->rsp;
}

static kv_t *tb_kv(struct test_block *t, const char *key, const char *str, int64_t num)
{
    kv_t *kv = &t->kv[t->n_kv];
    any_t *v = &t->any[t->n_kv];

    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(v);
    kv->key = (char *)key;
    kv->value = v;
    if (str) {
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value.data = (uint8_t *)str;
        v->string_value.len = strlen(str);
    } else {
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        v->int_value = num;
    }
    t->kvp[t->n_kv++] = kv;
    return kv;
}

/* Adds a resource of service (with attribute env=prod) and one scope; returns its index. */
static size_t tb_resource(struct test_block *t, const char *service)
{
    size_t i = t->req.n_resource_spans++;

    opentelemetry__proto__trace__v1__resource_spans__init(&t->rs[i]);
    opentelemetry__proto__resource__v1__resource__init(&t->res[i]);
    opentelemetry__proto__trace__v1__scope_spans__init(&t->ss[i]);
    t->res[i].attributes = &t->kvp[t->n_kv];
    tb_kv(t, "service.name", service, 0);
    tb_kv(t, "env", "prod", 0);
    t->res[i].n_attributes = 2;
    t->rs[i].resource = &t->res[i];
    t->rs[i].scope_spans = &t->ssp[i];
    t->rs[i].n_scope_spans = 1;
    t->ss[i].scope = &t->scope;
    t->ss[i].spans = &t->spanp[0];
    t->ssp[i] = &t->ss[i];
    t->rsp[i] = &t->rs[i];
    return i;
}

/* Adds span (trace byte tr, span byte sp, parent byte pa or 0) to resource r; spans of one
 * resource must be added together. */
static otlp_span_t *tb_span(struct test_block *t, size_t r, uint8_t tr, uint8_t sp, uint8_t pa,
                            const char *name, int code)
{
    static uint8_t ids[256][16];
    size_t k = 0;
    otlp_span_t *s;

    for (size_t i = 0; i < t->req.n_resource_spans; i++)
        k += t->ss[i].n_spans;
    if (!t->ss[r].n_spans)
        t->ss[r].spans = &t->spanp[k];
    s = &t->spans[k];
    opentelemetry__proto__trace__v1__span__init(s);
    for (int b = 0; b < 256; b++)
        memset(ids[b], b, 16);
    s->trace_id = (ProtobufCBinaryData){16, ids[tr]};
    s->span_id = (ProtobufCBinaryData){8, ids[sp]};
    if (pa)
        s->parent_span_id = (ProtobufCBinaryData){8, ids[pa]};
    s->name = (char *)name;
    s->kind = 2;
    s->start_time_unix_nano = 1000;
    s->end_time_unix_nano = 3000;
    if (code) {
        opentelemetry__proto__trace__v1__status__init(&t->status[k]);
        t->status[k].code = code;
        s->status = &t->status[k];
    }
    t->spanp[k] = s;
    t->ss[r].n_spans++;
    return s;
}

static void tb_pack(struct test_block *t, struct opg_codec *codec)
{
    size_t n =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &t->req);
    uint8_t *raw = malloc(n ? n : 1);

    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&t->req, raw);
    opg_buf_reset(&t->payload);
    assert_int_equal(opg_codec_encode(codec, raw, n, &t->payload), 0);
    free(raw);
}

static const uint8_t *id16(uint8_t b)
{
    static uint8_t ids[256][16];

    memset(ids[b], b, 16);
    return ids[b];
}

static void test_block_scan(void **state)
{
    struct opg_codec *codec = opg_codec_create(1);
    struct test_block t;
    struct block_cache c;
    struct block *b;
    struct block_span *e;
    struct opg_search_tag tag;
    struct opg_buf tmp = OPG_BUF_INIT;
    otlp_span_t *s;
    size_t n, r;

    tb_init(&t);
    r = tb_resource(&t, "svc-a");
    s = tb_span(&t, r, 1, 0xa1, 0, "GET /", 2);
    s->attributes = &t.kvp[t.n_kv];
    tb_kv(&t, "http.code", NULL, 500);
    s->n_attributes = 1;
    s = tb_span(&t, r, 2, 0xa2, 0x99, "bad \xff name", 0);
    s->kind = 70000; /* an open enum */
    s->start_time_unix_nano = UINT64_MAX - 5;
    s->end_time_unix_nano = UINT64_MAX;
    r = tb_resource(&t, "b\xff"
                        "c");
    s = tb_span(&t, r, 1, 0xa3, 0xa1, "child", 1);
    s->start_time_unix_nano = 5000;
    s->end_time_unix_nano = 4000; /* before the start */
    tb_pack(&t, codec);

    cache_init(&c, NULL, codec, CACHE_BLOCKS);
    b = cache_decode(&c, (struct block_key){7, 20000}, (const uint8_t *)t.payload.data,
                     t.payload.len, 3);
    assert_int_equal(b->n, 3);

    e = block_trace(b, id16(1), &n);
    assert_int_equal(n, 2);
    /* in block order within the trace */
    assert_memory_equal(e[0].span_id, id16(0xa1), 8);
    assert_null(e[0].parent_id);
    assert_int_equal(e[0].start_ns, 1000);
    assert_int_equal(e[0].duration_ns, 2000);
    assert_int_equal(e[0].kind, 2);
    assert_int_equal(e[0].status, 2);
    assert_true(text_is(e[0].name, e[0].name_len, "GET /", &tmp));
    assert_int_equal(e[0].origin->service.len, 5);
    assert_memory_equal(e[0].origin->service.data, "svc-a", 5);
    assert_memory_equal(e[1].parent_id, id16(0xa1), 8);
    assert_int_equal(e[1].status, 1);
    assert_int_equal(e[1].duration_ns, 0);
    /* as the text column holds an invalid service name */
    assert_int_equal(e[1].origin->service.len, 5);
    assert_memory_equal(e[1].origin->service.data,
                        "b\xef\xbf\xbd"
                        "c",
                        5);

    e = block_trace(b, id16(2), &n);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].start_ns, INT64_MAX);
    assert_int_equal(e[0].duration_ns, 0);
    assert_int_equal(e[0].kind, 70000);
    assert_true(text_is(e[0].name, e[0].name_len, "bad \xef\xbf\xbd name", &tmp));
    assert_false(text_is(e[0].name, e[0].name_len, "bad name", &tmp));
    block_trace(b, id16(3), &n);
    assert_int_equal(n, 0);

    /* tags: the span's own (an int as text), its resource's, its scope's */
    e = block_trace(b, id16(1), &n);
    tag = (struct opg_search_tag){"http.code", "500"};
    assert_true(span_has_tag(cache_span(&e[0]), e[0].origin->resource, e[0].origin->scope, &tag));
    assert_false(span_has_tag(cache_span(&e[1]), e[1].origin->resource, e[1].origin->scope, &tag));
    tag = (struct opg_search_tag){"env", "prod"};
    assert_true(span_has_tag(cache_span(&e[1]), e[1].origin->resource, e[1].origin->scope, &tag));
    tag = (struct opg_search_tag){"otel.scope.version", "1.0"};
    assert_true(span_has_tag(cache_span(&e[1]), e[1].origin->resource, e[1].origin->scope, &tag));

    /* the cache drops the least recently used block when full */
    for (int64_t id = 8; id < 8 + CACHE_BLOCKS; id++) {
        assert_non_null(cache_decode(&c, (struct block_key){id, 20000},
                                     (const uint8_t *)t.payload.data, t.payload.len, 3));
        if (id == 8 + CACHE_BLOCKS / 2)
            assert_non_null(cache_find(&c, (struct block_key){7, 20000})); /* used again */
    }
    assert_int_equal(c.n, CACHE_BLOCKS);
    assert_non_null(cache_find(&c, (struct block_key){7, 20000}));
    assert_null(cache_find(&c, (struct block_key){8, 20000}));
    assert_non_null(cache_find(&c, (struct block_key){9, 20000}));
    assert_null(cache_find(&c, (struct block_key){7, 20001}));

    cache_release(&c);
    opg_buf_release(&tmp);
    opg_buf_release(&t.payload);
    opg_codec_destroy(codec);
}

/* Every span of an SDK's export, scanned, says what protobuf-c unpacks. */
static void test_block_scan_sample(void **state)
{
    char path[512];
    struct block_cache c;
    struct block b = {0};
    otlp_req_t *req;
    uint8_t *raw;
    size_t total = 0, found = 0;
    long n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/proto/001_v1_traces.pb", OPG_SAMPLES_DIR);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    raw = malloc((size_t)n);
    assert_int_equal(fread(raw, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
        NULL, (size_t)n, raw);
    assert_non_null(req);
    for (size_t i = 0; i < req->n_resource_spans; i++)
        for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
            total += req->resource_spans[i]->scope_spans[j]->n_spans;

    cache_init(&c, NULL, NULL, CACHE_BLOCKS);
    b.arena = opg_arena_create(0);
    assert_int_equal(index_block(&c, &b, raw, (size_t)n, total), 0);
    assert_int_equal(b.n, total);
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        otlp_rs_t *rs = req->resource_spans[i];
        ProtobufCBinaryData svc = opg_resource_service(rs->resource);
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            for (size_t k = 0; k < rs->scope_spans[j]->n_spans; k++) {
                otlp_span_t *s = rs->scope_spans[j]->spans[k];
                size_t m;
                struct block_span *e = block_trace(&b, s->trace_id.data, &m);

                for (; m && memcmp(e->span_id, s->span_id.data, 8); e++, m--)
                    ;
                assert_true(m > 0);
                found++;
                assert_int_equal(e->start_ns, (int64_t)s->start_time_unix_nano);
                assert_int_equal(e->duration_ns,
                                 (int64_t)(s->end_time_unix_nano - s->start_time_unix_nano));
                assert_int_equal(e->kind, s->kind);
                assert_int_equal(e->status, s->status ? s->status->code : 0);
                assert_int_equal(e->name_len, strlen(s->name));
                assert_memory_equal(e->name, s->name, e->name_len);
                assert_int_equal(!e->parent_id, !s->parent_span_id.len);
                assert_int_equal(e->origin->service.len, svc.len);
                assert_memory_equal(e->origin->service.data, svc.data, svc.len);
                assert_string_equal(e->origin->scope->name, rs->scope_spans[j]->scope->name);
                assert_int_equal(cache_span(e)->n_attributes, s->n_attributes);
            }
        }
    }
    assert_int_equal(found, total);

    /* cut short anywhere, the block is refused whole, never read past its end */
    for (long cut = 1; cut < n; cut++) {
        struct block part = {.arena = opg_arena_create(0)};
        uint8_t *copy = malloc((size_t)cut);

        memcpy(copy, raw, (size_t)cut);
        if (index_block(&c, &part, copy, (size_t)cut, total) == 0)
            assert_true(part.n <= total);
        opg_arena_destroy(part.arena);
        free(copy);
    }
    opg_arena_destroy(b.arena);
    cache_release(&c);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
    free(raw);
}

static void test_unreadable_blocks(void **state)
{
    struct opg_codec *codec = opg_codec_create(1);
    struct block_cache c;
    struct opg_buf payload = OPG_BUF_INIT;
    static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};

    cache_init(&c, NULL, codec, CACHE_BLOCKS);
    /* missing, not a payload, a payload of junk: cached empty */
    assert_int_equal(cache_decode(&c, (struct block_key){1, 1}, NULL, 0, 0)->n, 0);
    assert_int_equal(cache_decode(&c, (struct block_key){2, 1}, junk, sizeof(junk), 9)->n, 0);
    assert_int_equal(opg_codec_encode(codec, junk, sizeof(junk), &payload), 0);
    assert_int_equal(
        cache_decode(&c, (struct block_key){3, 1}, (const uint8_t *)payload.data, payload.len, 9)
            ->n,
        0);
    assert_int_equal(c.n, 3);
    cache_release(&c);
    opg_buf_release(&payload);
    opg_codec_destroy(codec);
}

/*
 * Trace 1 in two blocks (as two services export it): fe's root and client
 * span, co's server span; co's span again in the second block (stored
 * twice), pay's error span under it and an orphan.
 */
static void two_blocks(struct test_block *t1, struct test_block *t2, struct opg_codec *codec)
{
    size_t r;

    tb_init(t1);
    r = tb_resource(t1, "fe");
    tb_span(t1, r, 1, 0x10, 0, "GET /", 0);
    tb_span(t1, r, 1, 0x11, 0x10, "call", 0);
    r = tb_resource(t1, "co");
    tb_span(t1, r, 1, 0x12, 0x11, "POST /co", 0);
    tb_pack(t1, codec);
    tb_init(t2);
    r = tb_resource(t2, "co");
    tb_span(t2, r, 1, 0x12, 0x11, "POST /co", 0);
    r = tb_resource(t2, "pay");
    tb_span(t2, r, 1, 0x13, 0x12, "Charge", 2);
    tb_span(t2, r, 1, 0x14, 0x77, "late", 0)->start_time_unix_nano = 900; /* before the window */
    tb_span(t2, r, 2, 0x15, 0x13, "other trace", 0);
    tb_pack(t2, codec);
}

static void test_summary_across_blocks(void **state)
{
    struct opg_codec *codec = opg_codec_create(1);
    struct test_block t1, t2;
    struct block_cache c;
    struct opg_trace_summary s = {0};
    struct summary_acc acc = {0};

    two_blocks(&t1, &t2, codec);
    cache_init(&c, NULL, codec, CACHE_BLOCKS);
    memcpy(s.trace_id, id16(1), 16);
    summary_read(&s, &acc,
                 cache_decode(&c, (struct block_key){1, 1}, (const uint8_t *)t1.payload.data,
                              t1.payload.len, 3));
    summary_read(&s, &acc,
                 cache_decode(&c, (struct block_key){2, 1}, (const uint8_t *)t2.payload.data,
                              t2.payload.len, 4));
    summary_finish(&s, &acc);
    assert_int_equal(s.span_count, 5);
    assert_int_equal(s.error_count, 1);
    assert_int_equal(s.orphan_count, 1);
    assert_int_equal(s.n_services, 3);
    assert_string_equal(s.services[0].name, "co");
    assert_int_equal(s.services[0].span_count, 1);
    assert_string_equal(s.services[1].name, "fe");
    assert_int_equal(s.services[1].span_count, 2);
    assert_string_equal(s.services[2].name, "pay");
    assert_int_equal(s.services[2].span_count, 2);
    assert_int_equal(s.services[2].error_count, 1);

    for (size_t i = 0; i < s.n_services; i++)
        free(s.services[i].name);
    free(s.services);
    free(acc.spans.slots);
    free(acc.parents);
    cache_release(&c);
    opg_buf_release(&t1.payload);
    opg_buf_release(&t2.payload);
    opg_codec_destroy(codec);
}

static void test_dependencies_join(void **state)
{
    struct opg_codec *codec = opg_codec_create(1);
    struct test_block t1, t2;
    struct block_cache c;
    struct deps d = {.start_ns = 1000, .end_ns = 2000};
    struct opg_dependency *out = NULL;
    size_t n = 0;

    two_blocks(&t1, &t2, codec);
    cache_init(&c, NULL, codec, CACHE_BLOCKS);
    /* newest block first; the graph does not depend on the order */
    deps_add_block(&d, cache_decode(&c, (struct block_key){2, 1}, (const uint8_t *)t2.payload.data,
                                    t2.payload.len, 4));
    deps_add_block(&d, cache_decode(&c, (struct block_key){1, 1}, (const uint8_t *)t1.payload.data,
                                    t1.payload.len, 3));
    assert_int_equal(d.n, 6); /* co's span once */
    deps_graph(&d, &out, &n);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].parent, "co");
    assert_string_equal(out[0].child, "pay");
    assert_int_equal(out[0].call_count, 1);
    assert_int_equal(out[0].error_count, 1);
    assert_string_equal(out[1].parent, "fe");
    assert_string_equal(out[1].child, "co");
    assert_int_equal(out[1].call_count, 1);
    assert_int_equal(out[1].error_count, 0);
    opg_search_dependencies_free(out, n);
    deps_release(&d);
    cache_release(&c);
    opg_buf_release(&t1.payload);
    opg_buf_release(&t2.payload);
    opg_codec_destroy(codec);
}

/* Which queries the part columns answer alone (no block opened), and values stay parameters. */
static void test_columns_and_sql(void **state)
{
    struct opg_search_query q;
    struct opg_buf sql = OPG_BUF_INIT;
    const char *params[16];
    char text[16][32], err[256];
    int np;

    opg_search_query_init(&q);
    assert_true(columns_answer(&q));
    q.service = "svc";
    assert_true(columns_answer(&q));
    q.kind = 2;
    assert_false(columns_answer(&q)); /* both must hold for one span */
    q.service = NULL;
    assert_true(columns_answer(&q));
    q.kind = -1;
    assert_int_equal(opg_search_query_add_tag(&q, "error", "false", err, sizeof(err)), 0);
    assert_true(columns_answer(&q));
    assert_int_equal(opg_search_query_add_tag(&q, "otel.status_code", "OK", err, sizeof(err)), 0);
    assert_false(columns_answer(&q)); /* the columns count errors only */
    q.status = -1;
    q.span_dur_min_ns = 5;
    assert_true(columns_answer(&q));
    q.span_dur_max_ns = 10;
    assert_false(columns_answer(&q));
    q.span_dur_min_ns = q.span_dur_max_ns = -1;
    q.operation = "op";
    assert_false(columns_answer(&q)); /* a bloom filter */
    q.operation = NULL;
    assert_int_equal(opg_search_query_add_tag(&q, "k", "v", err, sizeof(err)), 0);
    assert_false(columns_answer(&q));

    q.service = "x' OR '1'='1";
    q.operation = "op";
    q.kind = 3;
    assert_int_equal(opg_search_query_add_tag(&q, "error", "true", err, sizeof(err)), 0);
    build_sql(&q, &sql, params, text, &np);
    assert_null(strstr(sql.data, "OR '1'"));
    assert_null(strstr(sql.data, "'op'"));
    assert_non_null(strstr(sql.data, "error_count > 0"));
    assert_non_null(strstr(sql.data, "ORDER BY start_ns DESC"));
    assert_int_equal(np, 7);
    assert_string_equal(params[4], q.service);
    opg_buf_release(&sql);
    opg_search_query_release(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_json),         cmocka_unit_test(test_tags_json_refused),
        cmocka_unit_test(test_too_many_tags),     cmocka_unit_test(test_column_tags),
        cmocka_unit_test(test_tag_pairs),         cmocka_unit_test(test_v3_names),
        cmocka_unit_test(test_durations),         cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_block_scan),        cmocka_unit_test(test_block_scan_sample),
        cmocka_unit_test(test_unreadable_blocks), cmocka_unit_test(test_summary_across_blocks),
        cmocka_unit_test(test_dependencies_join), cmocka_unit_test(test_columns_and_sql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
