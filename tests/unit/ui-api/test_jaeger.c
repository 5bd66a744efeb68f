/*
 * Jaeger trace JSON tests: the JS SDK trace sample as Jaeger UI / Grafana
 * would read it, and hand-built spans for the mapping's corners.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jaeger.h"

static json_t *write_trace(const uint8_t trace_id[16],
                           Opentelemetry__Proto__Trace__V1__ResourceSpans *const *rs, size_t n)
{
    struct opg_buf out = OPG_BUF_INIT;
    struct opg_jw w;
    json_error_t err;
    json_t *j;

    opg_jw_init(&w, &out);
    opg_jaeger_write_trace(&w, trace_id, rs, n);
    j = json_loadb(out.data, out.len, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("not valid JSON (%s at %d): %.*s", err.text, err.position, (int)out.len, out.data);
    opg_buf_release(&out);
    return j;
}

static void hex(char *out, const ProtobufCBinaryData *b)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < b->len; i++) {
        out[2 * i] = digits[b->data[i] >> 4];
        out[2 * i + 1] = digits[b->data[i] & 15];
    }
    out[2 * b->len] = '\0';
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    if (!s)
        fail_msg("no string \"%s\"", key);
    return s;
}

static json_t *find_by(json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *x;

    json_array_foreach(arr, i, x)
    {
        const char *s = json_string_value(json_object_get(x, key));

        if (s && !strcmp(s, value))
            return x;
    }
    return NULL;
}

/* The tag with this key, checked to have this type; NULL if absent. */
static json_t *tag(json_t *tags, const char *key, const char *type)
{
    json_t *t = find_by(tags, "key", key);

    if (t && type)
        assert_string_equal(str(t, "type"), type);
    return t;
}

static void assert_str_tag(json_t *tags, const char *key, const char *value)
{
    json_t *t = tag(tags, key, "string");

    if (!t)
        fail_msg("no tag %s", key);
    assert_string_equal(str(t, "value"), value);
}

static Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *load_sample(void)
{
    FILE *f = fopen(OPG_SAMPLES_DIR "/proto/001_v1_traces.pb", "rb");
    static uint8_t pb[1 << 16];
    size_t n;

    assert_non_null(f);
    n = fread(pb, 1, sizeof(pb), f);
    fclose(f);
    assert_true(n > 0 && n < sizeof(pb));
    return opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, n,
                                                                                            pb);
}

static const Opentelemetry__Proto__Trace__V1__Span *
sample_span(const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req,
            const char *name)
{
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = req->resource_spans[0]->scope_spans[0];

    for (size_t i = 0; i < ss->n_spans; i++)
        if (!strcmp(ss->spans[i]->name, name))
            return ss->spans[i];
    fail_msg("no span %s in the sample", name);
    return NULL;
}

static void assert_times(json_t *js, const Opentelemetry__Proto__Trace__V1__Span *s)
{
    /* Jaeger's microseconds, truncated, as JSON numbers. */
    assert_true(json_is_integer(json_object_get(js, "startTime")));
    assert_int_equal(json_integer_value(json_object_get(js, "startTime")),
                     s->start_time_unix_nano / 1000);
    assert_int_equal(json_integer_value(json_object_get(js, "duration")),
                     (s->end_time_unix_nano - s->start_time_unix_nano) / 1000);
}

static void test_sample_trace(void **state)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = load_sample();
    const Opentelemetry__Proto__Trace__V1__Span *get_s, *select_s, *other_s;
    char want[33], want2[33];
    json_t *j, *spans, *get, *sel, *other, *refs, *tags, *logs, *procs, *p1;
    size_t i;
    json_t *x;

    assert_non_null(req);
    get_s = sample_span(req, "GET /orders/{id}");
    select_s = sample_span(req, "SELECT orders");
    other_s = sample_span(req, "other-trace-span");
    j = write_trace(select_s->trace_id.data, req->resource_spans, req->n_resource_spans);

    hex(want, &select_s->trace_id);
    assert_string_equal(str(j, "traceID"), want);
    assert_true(json_is_null(json_object_get(j, "warnings")));
    spans = json_object_get(j, "spans");
    /* Every span given becomes a Jaeger span; picking the trace's spans is the caller's job. */
    assert_int_equal(json_array_size(spans), 3);
    json_array_foreach(spans, i, x)
    {
        assert_string_equal(str(x, "processID"), "p1");
        assert_true(json_is_null(json_object_get(x, "warnings")));
        assert_true(json_is_array(json_object_get(x, "references")));
        assert_true(json_is_array(json_object_get(x, "logs")));
        /* W3C "sampled" in the low byte of the sample's flags (257) is Jaeger's sampled flag. */
        assert_int_equal(json_integer_value(json_object_get(x, "flags")), 1);
    }
    get = find_by(spans, "operationName", "GET /orders/{id}");
    sel = find_by(spans, "operationName", "SELECT orders");
    other = find_by(spans, "operationName", "other-trace-span");
    assert_non_null(get);
    assert_non_null(sel);
    assert_non_null(other);

    /* SELECT orders: CHILD_OF its parent first, then FOLLOWS_FROM the link. */
    hex(want, &select_s->span_id);
    assert_string_equal(str(sel, "spanID"), want);
    hex(want, &select_s->trace_id);
    assert_string_equal(str(sel, "traceID"), want);
    refs = json_object_get(sel, "references");
    assert_int_equal(json_array_size(refs), 2);
    assert_string_equal(str(json_array_get(refs, 0), "refType"), "CHILD_OF");
    assert_string_equal(str(json_array_get(refs, 0), "traceID"), want);
    assert_string_equal(str(json_array_get(refs, 0), "spanID"), str(get, "spanID"));
    assert_string_equal(str(json_array_get(refs, 1), "refType"), "FOLLOWS_FROM");
    hex(want2, &other_s->trace_id);
    assert_string_equal(str(json_array_get(refs, 1), "traceID"), want2);
    assert_string_equal(str(json_array_get(refs, 1), "spanID"), str(other, "spanID"));
    assert_int_equal(json_array_size(json_object_get(get, "references")), 0);
    assert_times(sel, select_s);
    assert_times(get, get_s);
    assert_times(other, other_s);

    /* SELECT orders: kind client, status ERROR with its message. */
    tags = json_object_get(sel, "tags");
    assert_str_tag(tags, "span.kind", "client");
    assert_str_tag(tags, "otel.status_code", "ERROR");
    assert_true(json_is_true(json_object_get(tag(tags, "error", "bool"), "value")));
    assert_str_tag(tags, "otel.status_description", "db call failed");
    assert_str_tag(tags, "db.system.name", "postgresql");
    assert_str_tag(tags, "otel.scope.name", "research-scope");
    assert_str_tag(tags, "otel.scope.version", "1.2.3");
    logs = json_object_get(sel, "logs");
    assert_int_equal(json_array_size(logs), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(logs, 0), "timestamp")),
                     select_s->events[0]->time_unix_nano / 1000);
    assert_str_tag(json_object_get(json_array_get(logs, 0), "fields"), "event", "exception");
    assert_str_tag(json_object_get(json_array_get(logs, 0), "fields"), "exception.message",
                   "connection reset by peer");

    /* GET /orders/{id}: every attribute type, status OK, no error tag. */
    tags = json_object_get(get, "tags");
    assert_str_tag(tags, "http.request.method", "GET");
    x = tag(tags, "http.response.status_code", "int64");
    assert_non_null(x);
    assert_true(json_is_integer(json_object_get(x, "value")));
    assert_int_equal(json_integer_value(json_object_get(x, "value")), 200);
    x = tag(tags, "ratio", "float64");
    assert_non_null(x);
    assert_true(json_real_value(json_object_get(x, "value")) == 0.25);
    x = tag(tags, "cached", "bool");
    assert_non_null(x);
    assert_true(json_is_false(json_object_get(x, "value")));
    assert_str_tag(tags, "tags", "[\"a\",\"b\"]");
    assert_str_tag(tags, "ints", "[1,2,3]");
    assert_str_tag(tags, "span.kind", "server");
    assert_str_tag(tags, "otel.status_code", "OK");
    assert_null(tag(tags, "error", NULL));
    assert_null(tag(tags, "otel.status_description", NULL));
    logs = json_object_get(get, "logs");
    assert_int_equal(json_array_size(logs), 1);
    /* The event name comes first, then the event's attributes. */
    x = json_object_get(json_array_get(logs, 0), "fields");
    assert_string_equal(str(json_array_get(x, 0), "key"), "event");
    assert_string_equal(str(json_array_get(x, 0), "value"), "cache.miss");
    assert_str_tag(x, "cache.key", "orders:42");
    assert_int_equal(json_integer_value(json_object_get(tag(x, "attempt", "int64"), "value")), 1);

    /* other-trace-span: internal, status unset. */
    tags = json_object_get(other, "tags");
    assert_str_tag(tags, "span.kind", "internal");
    assert_null(tag(tags, "otel.status_code", NULL));
    assert_null(tag(tags, "error", NULL));

    procs = json_object_get(j, "processes");
    assert_int_equal(json_object_size(procs), 1);
    p1 = json_object_get(procs, "p1");
    assert_string_equal(str(p1, "serviceName"), "otlp-research");
    tags = json_object_get(p1, "tags");
    assert_int_equal(json_array_size(tags), 2);
    assert_str_tag(tags, "service.version", "0.1.0");
    assert_str_tag(tags, "deployment.environment.name", "test");
    assert_null(tag(tags, "service.name", NULL));

    json_decref(j);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
}

/* ---- hand-built spans ---- */

static uint8_t trace_id[16] = {0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static uint8_t span_a[8] = {0, 0, 0, 0, 0, 0, 0, 0xa};
static uint8_t span_b[8] = {0, 0, 0, 0, 0, 0, 0, 0xb};
static uint8_t span_c[8] = {0, 0, 0, 0, 0, 0, 0, 0xc};

static void init_span(Opentelemetry__Proto__Trace__V1__Span *s, const char *name, uint8_t *sid)
{
    Opentelemetry__Proto__Trace__V1__Span init = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;

    *s = init;
    s->trace_id = (ProtobufCBinaryData){16, trace_id};
    s->span_id = (ProtobufCBinaryData){8, sid};
    s->name = (char *)name;
    s->start_time_unix_nano = UINT64_C(1700000000123456789);
    s->end_time_unix_nano = UINT64_C(1700000000123999999);
}

static void init_str_value(Opentelemetry__Proto__Common__V1__AnyValue *v, const char *s)
{
    Opentelemetry__Proto__Common__V1__AnyValue init =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;

    *v = init;
    v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v->string_value.data = (uint8_t *)s;
    v->string_value.len = strlen(s);
}

static void init_kv(Opentelemetry__Proto__Common__V1__KeyValue *kv, const char *key,
                    Opentelemetry__Proto__Common__V1__AnyValue *v)
{
    Opentelemetry__Proto__Common__V1__KeyValue init =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;

    *kv = init;
    kv->key = (char *)key;
    kv->value = v;
}

/* One ResourceSpans holding spans[0..n) in one scope, over resource r (may be NULL). */
struct rs_holder {
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp[1];
};

static void init_rs(struct rs_holder *h, Opentelemetry__Proto__Resource__V1__Resource *r,
                    Opentelemetry__Proto__Trace__V1__Span **spans, size_t n)
{
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs_init =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss_init =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;

    h->rs = rs_init;
    h->ss = ss_init;
    h->ss.spans = spans;
    h->ss.n_spans = n;
    h->ssp[0] = &h->ss;
    h->rs.resource = r;
    h->rs.scope_spans = h->ssp;
    h->rs.n_scope_spans = 1;
}

static void test_identical_resources_share_a_process(void **state)
{
    Opentelemetry__Proto__Common__V1__AnyValue svc, ver, other_svc;
    Opentelemetry__Proto__Common__V1__KeyValue kv[5];
    Opentelemetry__Proto__Common__V1__KeyValue *attrs1[2] = {&kv[0], &kv[1]};
    Opentelemetry__Proto__Common__V1__KeyValue *attrs2[2] = {&kv[2], &kv[3]};
    Opentelemetry__Proto__Common__V1__KeyValue *attrs3[1] = {&kv[4]};
    Opentelemetry__Proto__Resource__V1__Resource r1 =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Resource__V1__Resource r2 =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Resource__V1__Resource r3 =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Trace__V1__Span a, b, c;
    Opentelemetry__Proto__Trace__V1__Span *sa[1] = {&a}, *sb[1] = {&b}, *sc[1] = {&c};
    struct rs_holder h[4];
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs[4] = {&h[0].rs, &h[1].rs, &h[2].rs,
                                                             &h[3].rs};
    json_t *j, *spans, *procs;

    init_str_value(&svc, "orders");
    init_str_value(&ver, "2.0");
    init_str_value(&other_svc, "payments");
    /* Two resources with equal attributes in distinct structs, and a third one. */
    init_kv(&kv[0], "service.name", &svc);
    init_kv(&kv[1], "service.version", &ver);
    init_kv(&kv[2], "service.name", &svc);
    init_kv(&kv[3], "service.version", &ver);
    init_kv(&kv[4], "service.name", &other_svc);
    r1.attributes = attrs1;
    r1.n_attributes = 2;
    r2.attributes = attrs2;
    r2.n_attributes = 2;
    r3.attributes = attrs3;
    r3.n_attributes = 1;
    init_span(&a, "a", span_a);
    init_span(&b, "b", span_b);
    init_span(&c, "c", span_c);
    init_rs(&h[0], &r1, sa, 1);
    init_rs(&h[1], &r3, NULL, 0); /* no spans: no process */
    init_rs(&h[2], &r3, sc, 1);
    init_rs(&h[3], &r2, sb, 1);

    j = write_trace(trace_id, rs, 4);
    spans = json_object_get(j, "spans");
    assert_int_equal(json_array_size(spans), 3);
    assert_string_equal(str(find_by(spans, "operationName", "a"), "processID"), "p1");
    assert_string_equal(str(find_by(spans, "operationName", "c"), "processID"), "p2");
    assert_string_equal(str(find_by(spans, "operationName", "b"), "processID"), "p1");
    procs = json_object_get(j, "processes");
    assert_int_equal(json_object_size(procs), 2);
    assert_string_equal(str(json_object_get(procs, "p1"), "serviceName"), "orders");
    assert_str_tag(json_object_get(json_object_get(procs, "p1"), "tags"), "service.version", "2.0");
    assert_string_equal(str(json_object_get(procs, "p2"), "serviceName"), "payments");
    assert_int_equal(json_array_size(json_object_get(json_object_get(procs, "p2"), "tags")), 0);
    assert_string_equal(str(j, "traceID"), "0a0102030405060708090a0b0c0d0e0f");
    json_decref(j);
}

static void test_bare_span(void **state)
{
    Opentelemetry__Proto__Trace__V1__Span a;
    Opentelemetry__Proto__Trace__V1__Span *sa[1] = {&a};
    struct rs_holder h;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs[1] = {&h.rs};
    json_t *j, *s, *p;

    /* No resource, status, kind, scope, parent or flags. */
    init_span(&a, "bare", span_a);
    a.end_time_unix_nano = a.start_time_unix_nano - 5; /* clock skew: duration 0, not huge */
    init_rs(&h, NULL, sa, 1);
    j = write_trace(trace_id, rs, 1);
    s = json_array_get(json_object_get(j, "spans"), 0);
    assert_string_equal(str(s, "spanID"), "000000000000000a");
    assert_null(json_object_get(s, "flags"));
    assert_int_equal(json_array_size(json_object_get(s, "references")), 0);
    assert_int_equal(json_array_size(json_object_get(s, "tags")), 0);
    assert_int_equal(json_array_size(json_object_get(s, "logs")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "startTime")), 1700000000123456);
    assert_int_equal(json_integer_value(json_object_get(s, "duration")), 0);
    p = json_object_get(json_object_get(j, "processes"), "p1");
    assert_string_equal(str(p, "serviceName"), "unknown_service");
    assert_int_equal(json_array_size(json_object_get(p, "tags")), 0);
    json_decref(j);
}

static void test_tag_value_types(void **state)
{
    uint8_t bytes[] = {0, 0, 0x30, 0x39};
    Opentelemetry__Proto__Common__V1__AnyValue v[9], inner;
    Opentelemetry__Proto__Common__V1__KeyValue kv[9], inner_kv;
    Opentelemetry__Proto__Common__V1__KeyValue *attrs[9], *inner_attrs[1] = {&inner_kv};
    Opentelemetry__Proto__Common__V1__AnyValue *elems[2] = {&inner, &v[4]};
    Opentelemetry__Proto__Common__V1__ArrayValue arr =
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__KeyValueList list =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    Opentelemetry__Proto__Common__V1__AnyValue empty =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    Opentelemetry__Proto__Trace__V1__Span a;
    Opentelemetry__Proto__Trace__V1__Span *sa[1] = {&a};
    struct rs_holder h;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs[1] = {&h.rs};
    json_t *j, *tags, *t;

    for (int i = 0; i < 9; i++) {
        v[i] = empty;
        attrs[i] = &kv[i];
    }
    v[0].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    v[0].bytes_value = (ProtobufCBinaryData){sizeof(bytes), bytes};
    init_kv(&kv[0], "blob", &v[0]);
    v[1].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v[1].int_value = INT64_C(9223372036854775222);
    init_kv(&kv[1], "big", &v[1]);
    v[2].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v[2].int_value = -((INT64_C(1) << 53) - 1);
    init_kv(&kv[2], "safe", &v[2]);
    v[3].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    v[3].double_value = NAN;
    init_kv(&kv[3], "nan", &v[3]);
    init_str_value(&v[4], "bad \xff utf-8");
    init_kv(&kv[4], "\xfe key", &v[4]);
    init_str_value(&inner, "x");
    init_kv(&inner_kv, "k", &inner);
    list.values = inner_attrs;
    list.n_values = 1;
    v[5].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    v[5].kvlist_value = &list;
    init_kv(&kv[5], "map", &v[5]);
    arr.values = elems;
    arr.n_values = 2;
    v[6].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    v[6].array_value = &arr;
    init_kv(&kv[6], "mixed", &v[6]);
    init_kv(&kv[7], "novalue", &v[7]);
    init_kv(&kv[8], "null", NULL);

    init_span(&a, "types", span_a);
    a.attributes = attrs;
    a.n_attributes = 9;
    init_rs(&h, NULL, sa, 1);
    j = write_trace(trace_id, rs, 1);
    tags = json_object_get(json_array_get(json_object_get(j, "spans"), 0), "tags");

    t = tag(tags, "blob", "binary");
    assert_non_null(t);
    assert_string_equal(str(t, "value"), "AAAwOQ==");
    /* Beyond 2^53 Jaeger writes int64 as a string so JavaScript does not round it. */
    t = tag(tags, "big", "int64");
    assert_non_null(t);
    assert_string_equal(str(t, "value"), "9223372036854775222");
    t = tag(tags, "safe", "int64");
    assert_non_null(t);
    assert_int_equal(json_integer_value(json_object_get(t, "value")), -((INT64_C(1) << 53) - 1));
    t = tag(tags, "nan", "float64");
    assert_non_null(t);
    assert_string_equal(str(t, "value"), "NaN");
    t = tag(tags, "\xef\xbf\xbd key", "string");
    assert_non_null(t);
    assert_string_equal(str(t, "value"), "bad \xef\xbf\xbd utf-8");
    assert_str_tag(tags, "map", "{\"k\":\"x\"}");
    assert_str_tag(tags, "mixed", "[\"x\",\"bad \xef\xbf\xbd utf-8\"]");
    assert_str_tag(tags, "novalue", "");
    assert_str_tag(tags, "null", "");
    json_decref(j);
}

static void test_mapping_corners(void **state)
{
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    Opentelemetry__Proto__Trace__V1__Status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    Opentelemetry__Proto__Common__V1__AnyValue ev_val, ref_val;
    Opentelemetry__Proto__Common__V1__KeyValue ev_kv, ref_kv;
    Opentelemetry__Proto__Common__V1__KeyValue *ev_attrs[1] = {&ev_kv}, *ref_attrs[1] = {&ref_kv};
    Opentelemetry__Proto__Trace__V1__Span__Event ev =
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    Opentelemetry__Proto__Trace__V1__Span__Event *evs[1] = {&ev};
    Opentelemetry__Proto__Trace__V1__Span__Link l_parent =
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    Opentelemetry__Proto__Trace__V1__Span__Link l_child =
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    Opentelemetry__Proto__Trace__V1__Span__Link *links[2] = {&l_parent, &l_child};
    Opentelemetry__Proto__Trace__V1__Span a;
    Opentelemetry__Proto__Trace__V1__Span *sa[1] = {&a};
    struct rs_holder h;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs[1] = {&h.rs};
    json_t *j, *s, *tags, *refs, *fields;

    init_span(&a, "corners", span_a);
    a.kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER;
    a.trace_state = "vendor=1";
    a.parent_span_id = (ProtobufCBinaryData){8, span_b};
    /* UNSET with a message: the description tag still comes through, no error tag. */
    st.message = "note";
    a.status = &st;
    scope.name = "lib";
    /* An event that names itself in an "event" attribute keeps that one only. */
    init_str_value(&ev_val, "custom");
    init_kv(&ev_kv, "event", &ev_val);
    ev.name = "ignored";
    ev.time_unix_nano = 1999;
    ev.attributes = ev_attrs;
    ev.n_attributes = 1;
    a.events = evs;
    a.n_events = 1;
    /*
     * A link to the parent is not repeated, and the parent stays CHILD_OF
     * (the span tree depends on it); a link marked child_of is CHILD_OF.
     */
    l_parent.trace_id = a.trace_id;
    l_parent.span_id = a.parent_span_id;
    init_str_value(&ref_val, "child_of");
    init_kv(&ref_kv, "opentracing.ref_type", &ref_val);
    l_child.trace_id = a.trace_id;
    l_child.span_id = (ProtobufCBinaryData){8, span_c};
    l_child.attributes = ref_attrs;
    l_child.n_attributes = 1;
    a.links = links;
    a.n_links = 2;
    a.flags = 0x300; /* remote bits only: not sampled, no Jaeger flags */

    init_rs(&h, NULL, sa, 1);
    h.ss.scope = &scope;
    j = write_trace(trace_id, rs, 1);
    s = json_array_get(json_object_get(j, "spans"), 0);
    assert_null(json_object_get(s, "flags"));
    tags = json_object_get(s, "tags");
    assert_str_tag(tags, "span.kind", "producer");
    assert_str_tag(tags, "w3c.tracestate", "vendor=1");
    assert_str_tag(tags, "otel.scope.name", "lib");
    assert_null(tag(tags, "otel.scope.version", NULL));
    assert_null(tag(tags, "otel.status_code", NULL));
    assert_null(tag(tags, "error", NULL));
    assert_str_tag(tags, "otel.status_description", "note");
    /* The translator's tag order: scope first, status after the kind. */
    assert_string_equal(str(json_array_get(tags, 0), "key"), "otel.scope.name");
    assert_string_equal(str(json_array_get(tags, 1), "key"), "span.kind");

    refs = json_object_get(s, "references");
    assert_int_equal(json_array_size(refs), 2);
    assert_string_equal(str(json_array_get(refs, 0), "refType"), "CHILD_OF");
    assert_string_equal(str(json_array_get(refs, 0), "spanID"), "000000000000000b");
    assert_string_equal(str(json_array_get(refs, 1), "refType"), "CHILD_OF");
    assert_string_equal(str(json_array_get(refs, 1), "spanID"), "000000000000000c");

    fields = json_object_get(json_array_get(json_object_get(s, "logs"), 0), "fields");
    assert_int_equal(json_array_size(fields), 1);
    assert_str_tag(fields, "event", "custom");
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(s, "logs"), 0), "timestamp")),
                     1);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_trace),
        cmocka_unit_test(test_identical_resources_share_a_process),
        cmocka_unit_test(test_bare_span),
        cmocka_unit_test(test_tag_value_types),
        cmocka_unit_test(test_mapping_corners),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
