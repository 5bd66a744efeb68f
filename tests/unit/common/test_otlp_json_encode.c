/*
 * OTLP/JSON encoder tests: real JS SDK payloads (protobuf) encoded and
 * compared field by field with what the same SDK sends as OTLP/JSON, plus
 * hand-built messages for the corners the samples do not reach.
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

#include "otlp_json.h"

/* An AnyValue string (bytes, as declared in common.proto) from a C string. */
static ProtobufCBinaryData sv(const char *s)
{
    ProtobufCBinaryData b = {strlen(s), (uint8_t *)s};
    return b;
}

#define SAMPLE(name) OPG_SAMPLES_DIR "/" name

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long n;

    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* Parses what the encoder wrote; a parse failure is a test failure. */
static json_t *parse(const struct opg_buf *b)
{
    json_error_t err;
    json_t *j = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, &err);

    if (!j)
        fail_msg("encoder output is not valid JSON (%s at %d): %.*s", err.text, err.position,
                 (int)b->len, b->data);
    return j;
}

static json_t *load_sample_json(const char *path, const char *key)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    json_t *v;

    if (!root)
        fail_msg("%s: %s", path, err.text);
    v = json_incref(json_object_get(root, key));
    assert_non_null(v);
    json_decref(root);
    return v;
}

/* The proto3 default of a JSON value, as the JS SDK writes defaults out explicitly. */
static bool is_default(const json_t *v)
{
    const char *k;
    json_t *x;

    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return true;
    case JSON_INTEGER:
        return json_integer_value(v) == 0;
    case JSON_REAL:
        return json_real_value(v) == 0.0;
    case JSON_STRING:
        return json_string_length(v) == 0;
    case JSON_ARRAY:
        return json_array_size(v) == 0;
    case JSON_OBJECT:
        json_object_foreach((json_t *)v, k, x)
        {
            if (!is_default(x))
                return false;
        }
        return true;
    default:
        return false;
    }
}

static bool is_id_key(const char *k)
{
    return !strcmp(k, "traceId") || !strcmp(k, "spanId") || !strcmp(k, "parentSpanId");
}

static bool is_time_key(const char *k)
{
    size_t n = strlen(k);

    return n >= 12 && (!strcmp(k + n - 12, "TimeUnixNano") || !strcmp(k, "timeUnixNano"));
}

static bool all_of(const char *s, const char *set)
{
    return *s && strspn(s, set) == strlen(s);
}

/*
 * Compares ours (our encoder) with theirs (the JS SDK's JSON) semantically:
 * int64s as strings or numbers, defaults written or omitted. IDs and
 * timestamps differ between the two recordings, so here they are only
 * checked for form; test_*_ids_and_times check their values against the
 * protobuf input. Returns the number of differences, each printed.
 */
static int compare(const json_t *ours, const json_t *theirs, const char *path)
{
    char sub[512];
    const char *k;
    json_t *v;
    int bad = 0;

    if (json_is_object(theirs)) {
        if (!json_is_object(ours)) {
            printf("%s: not an object\n", path);
            return 1;
        }
        json_object_foreach((json_t *)theirs, k, v)
        {
            json_t *o = json_object_get(ours, k);

            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            if (!o) {
                if (!is_default(v)) {
                    printf("%s: missing\n", sub);
                    bad++;
                }
            } else if (is_id_key(k)) {
                if (!json_is_string(o) || !json_is_string(v) ||
                    json_string_length(o) != json_string_length(v) ||
                    !all_of(json_string_value(o), "0123456789abcdef")) {
                    printf("%s: not a lowercase hex ID like the sample's\n", sub);
                    bad++;
                }
            } else if (is_time_key(k)) {
                if (!json_is_string(o) || !all_of(json_string_value(o), "0123456789")) {
                    printf("%s: not a decimal string\n", sub);
                    bad++;
                }
            } else {
                bad += compare(o, v, sub);
            }
        }
        json_object_foreach((json_t *)ours, k, v)
        {
            if (!json_object_get(theirs, k) && !is_default(v)) {
                printf("%s.%s: not in the sample\n", path, k);
                bad++;
            }
        }
        return bad;
    }
    if (json_is_array(theirs)) {
        if (!json_is_array(ours) || json_array_size(ours) != json_array_size(theirs)) {
            printf("%s: array length differs\n", path);
            return 1;
        }
        for (size_t i = 0; i < json_array_size(theirs); i++) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            bad += compare(json_array_get(ours, i), json_array_get(theirs, i), sub);
        }
        return bad;
    }
    if (json_is_integer(theirs) && json_is_string(ours)) {
        /* The protobuf JSON mapping's int64-as-string against the JS SDK's number. */
        char *end;
        long long x = strtoll(json_string_value(ours), &end, 10);

        if (*end || x != json_integer_value(theirs)) {
            printf("%s: %s != %lld\n", path, json_string_value(ours),
                   (long long)json_integer_value(theirs));
            return 1;
        }
        return 0;
    }
    if (json_is_number(theirs) && json_is_number(ours)) {
        if (json_number_value(ours) != json_number_value(theirs)) {
            printf("%s: %.17g != %.17g\n", path, json_number_value(ours),
                   json_number_value(theirs));
            return 1;
        }
        return 0;
    }
    if (!json_equal((json_t *)ours, (json_t *)theirs)) {
        printf("%s: values differ\n", path);
        return 1;
    }
    return 0;
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

static void assert_id(const json_t *obj, const char *key, const ProtobufCBinaryData *b)
{
    char want[2 * 32 + 1];

    assert_true(b->len <= 32);
    hex(want, b);
    assert_non_null(json_object_get(obj, key));
    assert_string_equal(json_string_value(json_object_get(obj, key)), want);
}

static void assert_u64_str(const json_t *obj, const char *key, uint64_t v)
{
    char want[32];

    snprintf(want, sizeof(want), "%" PRIu64, v);
    assert_non_null(json_object_get(obj, key));
    assert_string_equal(json_string_value(json_object_get(obj, key)), want);
}

/* Walks a path of object keys and array indexes: get(j, "a", "#0", "b", NULL). */
static json_t *get(json_t *j, ...)
{
    va_list ap;
    const char *p;

    va_start(ap, j);
    while (j && (p = va_arg(ap, const char *)))
        j = p[0] == '#' ? json_array_get(j, strtoul(p + 1, NULL, 10)) : json_object_get(j, p);
    va_end(ap);
    return j;
}

/* ---- the real samples ---- */

static Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *load_traces(void)
{
    size_t len;
    uint8_t *pb = read_all(SAMPLE("proto/001_v1_traces.pb"), &len);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len,
                                                                                         pb);

    free(pb);
    assert_non_null(req);
    return req;
}

static void test_traces_match_json_sample(void **state)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = load_traces();
    struct opg_buf out = OPG_BUF_INIT;
    struct opg_jw w;
    json_t *ours, *theirs;

    opg_jw_init(&w, &out);
    opg_otlp_json_encode_resource_spans(&w, req->resource_spans, req->n_resource_spans);
    ours = parse(&out);
    theirs = load_sample_json(SAMPLE("json/001_v1_traces.json"), "resourceSpans");
    assert_int_equal(compare(ours, theirs, "resourceSpans"), 0);

    /* Always-written span fields, even where their value is the default. */
    json_t *other = get(ours, "#0", "scopeSpans", "#0", "spans", "#0", NULL);
    assert_string_equal(json_string_value(json_object_get(other, "name")), "other-trace-span");
    assert_non_null(json_object_get(other, "kind"));
    assert_true(json_is_object(json_object_get(other, "status")));
    assert_int_equal(json_object_size(json_object_get(other, "status")), 0);
    assert_null(json_object_get(other, "droppedAttributesCount"));

    json_decref(ours);
    json_decref(theirs);
    opg_buf_release(&out);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
}

static void test_trace_ids_and_times(void **state)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = load_traces();
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = req->resource_spans[0]->scope_spans[0];
    struct opg_buf out = OPG_BUF_INIT;
    struct opg_jw w;
    json_t *ours, *spans;

    opg_jw_init(&w, &out);
    opg_otlp_json_encode_resource_spans(&w, req->resource_spans, req->n_resource_spans);
    ours = parse(&out);
    spans = get(ours, "#0", "scopeSpans", "#0", "spans", NULL);
    assert_int_equal(json_array_size(spans), ss->n_spans);
    for (size_t i = 0; i < ss->n_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__Span *s = ss->spans[i];
        json_t *js = json_array_get(spans, i);

        assert_id(js, "traceId", &s->trace_id);
        assert_id(js, "spanId", &s->span_id);
        if (s->parent_span_id.len)
            assert_id(js, "parentSpanId", &s->parent_span_id);
        else
            assert_null(json_object_get(js, "parentSpanId"));
        assert_u64_str(js, "startTimeUnixNano", s->start_time_unix_nano);
        assert_u64_str(js, "endTimeUnixNano", s->end_time_unix_nano);
        for (size_t e = 0; e < s->n_events; e++)
            assert_u64_str(json_array_get(json_object_get(js, "events"), e), "timeUnixNano",
                           s->events[e]->time_unix_nano);
        for (size_t l = 0; l < s->n_links; l++) {
            json_t *jl = json_array_get(json_object_get(js, "links"), l);

            assert_id(jl, "traceId", &s->links[l]->trace_id);
            assert_id(jl, "spanId", &s->links[l]->span_id);
        }
    }
    /* The sample's shape: SELECT orders is the child of GET /orders/{id}. */
    assert_string_equal(json_string_value(get(spans, "#1", "parentSpanId", NULL)),
                        json_string_value(get(spans, "#2", "spanId", NULL)));
    assert_string_equal(json_string_value(get(spans, "#1", "links", "#0", "spanId", NULL)),
                        json_string_value(get(spans, "#0", "spanId", NULL)));

    json_decref(ours);
    opg_buf_release(&out);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
}

static void test_logs_match_json_sample(void **state)
{
    size_t len;
    uint8_t *pb = read_all(SAMPLE("proto/002_v1_logs.pb"), &len);
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
        opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(NULL, len,
                                                                                       pb);
    Opentelemetry__Proto__Logs__V1__ScopeLogs *sl;
    struct opg_buf out = OPG_BUF_INIT;
    struct opg_jw w;
    json_t *ours, *theirs, *recs;

    free(pb);
    assert_non_null(req);
    opg_jw_init(&w, &out);
    opg_otlp_json_encode_resource_logs(&w, req->resource_logs, req->n_resource_logs);
    ours = parse(&out);
    theirs = load_sample_json(SAMPLE("json/002_v1_logs.json"), "resourceLogs");
    assert_int_equal(compare(ours, theirs, "resourceLogs"), 0);

    sl = req->resource_logs[0]->scope_logs[0];
    recs = get(ours, "#0", "scopeLogs", "#0", "logRecords", NULL);
    assert_int_equal(json_array_size(recs), 3);
    for (size_t i = 0; i < sl->n_log_records; i++) {
        const Opentelemetry__Proto__Logs__V1__LogRecord *r = sl->log_records[i];
        json_t *jr = json_array_get(recs, i);

        assert_u64_str(jr, "timeUnixNano", r->time_unix_nano);
        assert_u64_str(jr, "observedTimeUnixNano", r->observed_time_unix_nano);
        if (r->trace_id.len) {
            assert_id(jr, "traceId", &r->trace_id);
            assert_id(jr, "spanId", &r->span_id);
        } else {
            assert_null(json_object_get(jr, "traceId"));
        }
    }
    assert_string_equal(json_string_value(get(recs, "#2", "eventName", NULL)), "order.placed");
    assert_string_equal(json_string_value(get(recs, "#1", "body", "kvlistValue", "values", "#1",
                                              "value", "intValue", NULL)),
                        "7");

    json_decref(ours);
    json_decref(theirs);
    opg_buf_release(&out);
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(req,
                                                                                          NULL);
}

static void check_metrics_sample(const char *pb_path, const char *json_path)
{
    size_t len;
    uint8_t *pb = read_all(pb_path, &len);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            NULL, len, pb);
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm;
    struct opg_buf out = OPG_BUF_INIT;
    struct opg_jw w;
    json_t *ours, *theirs, *metrics;

    free(pb);
    assert_non_null(req);
    opg_jw_init(&w, &out);
    opg_otlp_json_encode_resource_metrics(&w, req->resource_metrics, req->n_resource_metrics);
    ours = parse(&out);
    theirs = load_sample_json(json_path, "resourceMetrics");
    assert_int_equal(compare(ours, theirs, "resourceMetrics"), 0);

    sm = req->resource_metrics[0]->scope_metrics[0];
    metrics = get(ours, "#0", "scopeMetrics", "#0", "metrics", NULL);
    assert_int_equal(json_array_size(metrics), sm->n_metrics);
    /* orders.processed: a monotonic cumulative sum of doubles. */
    assert_true(json_is_true(get(metrics, "#0", "sum", "isMonotonic", NULL)));
    assert_int_equal(json_integer_value(get(metrics, "#0", "sum", "aggregationTemporality", NULL)),
                     2);
    assert_u64_str(get(metrics, "#0", "sum", "dataPoints", "#0", NULL), "timeUnixNano",
                   sm->metrics[0]->sum->data_points[0]->time_unix_nano);
    /* queue.depth: not monotonic, so the default is omitted. */
    assert_null(get(metrics, "#2", "sum", "isMonotonic", NULL));
    /* The histogram: 64-bit counts as strings, bounds as numbers. */
    json_t *hp = get(metrics, "#1", "histogram", "dataPoints", "#0", NULL);
    assert_string_equal(json_string_value(json_object_get(hp, "count")), "5");
    assert_string_equal(json_string_value(get(hp, "bucketCounts", "#1", NULL)), "5");
    assert_true(json_is_number(get(hp, "explicitBounds", "#1", NULL)));
    assert_true(json_real_value(json_object_get(hp, "min")) == 0.004);
    assert_u64_str(hp, "startTimeUnixNano",
                   sm->metrics[1]->histogram->data_points[0]->start_time_unix_nano);

    json_decref(ours);
    json_decref(theirs);
    opg_buf_release(&out);
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        req, NULL);
}

static void test_metrics_match_json_sample(void **state)
{
    check_metrics_sample(SAMPLE("proto/003_v1_metrics.pb"), SAMPLE("json/003_v1_metrics.json"));
    check_metrics_sample(SAMPLE("proto/004_v1_metrics.pb"), SAMPLE("json/004_v1_metrics.json"));
}

/* ---- hand-built messages ---- */

/* Encodes one value with fn and returns it parsed (the caller json_decref()s it). */
static struct opg_buf enc_buf = OPG_BUF_INIT;
static struct opg_jw enc_w;

static struct opg_jw *enc_begin(void)
{
    opg_buf_reset(&enc_buf);
    opg_jw_init(&enc_w, &enc_buf);
    return &enc_w;
}

static json_t *enc_end(void)
{
    json_t *j = parse(&enc_buf);

    opg_buf_release(&enc_buf);
    return j;
}

#define ENCODE(fn, msg) (fn(enc_begin(), msg), enc_end())

static void encode_one_resource_spans(struct opg_jw *w,
                                      Opentelemetry__Proto__Trace__V1__ResourceSpans *const *rs)
{
    opg_otlp_json_encode_resource_spans(w, rs, 1);
}

static void test_any_value_kinds(void **state)
{
    Opentelemetry__Proto__Common__V1__AnyValue v =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__AnyValue s =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__AnyValue *elems[1] = {&s};
    Opentelemetry__Proto__Common__V1__ArrayValue arr =
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__KeyValue kv =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__KeyValue *kvs[1] = {&kv};
    Opentelemetry__Proto__Common__V1__KeyValueList list =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    uint8_t bytes[] = {0x00, 0xff, 0x10};
    json_t *j;

    /* No value set: exactly {}. */
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_true(json_is_object(j) && json_object_size(j) == 0);
    json_decref(j);

    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v.int_value = INT64_MIN;
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_int_equal(json_object_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(j, "intValue")), "-9223372036854775808");
    json_decref(j);

    /* A set oneof member is written even at its default. */
    v.int_value = 0;
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_string_equal(json_string_value(json_object_get(j, "intValue")), "0");
    json_decref(j);

    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    v.bool_value = 0;
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_true(json_is_false(json_object_get(j, "boolValue")));
    json_decref(j);

    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    v.double_value = NAN;
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_string_equal(json_string_value(json_object_get(j, "doubleValue")), "NaN");
    json_decref(j);
    v.double_value = -INFINITY;
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_string_equal(json_string_value(json_object_get(j, "doubleValue")), "-Infinity");
    json_decref(j);
    v.double_value = 0.1;
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_true(json_real_value(json_object_get(j, "doubleValue")) == 0.1);
    json_decref(j);

    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    v.bytes_value.data = bytes;
    v.bytes_value.len = sizeof(bytes);
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_string_equal(json_string_value(json_object_get(j, "bytesValue")), "AP8Q");
    json_decref(j);

    s.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    s.string_value = sv("x");
    arr.n_values = 1;
    arr.values = elems;
    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    v.array_value = &arr;
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_string_equal(
        json_string_value(get(j, "arrayValue", "values", "#0", "stringValue", NULL)), "x");
    json_decref(j);

    kv.key = "k";
    kv.value = &s;
    list.n_values = 1;
    list.values = kvs;
    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    v.kvlist_value = &list;
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_string_equal(json_string_value(get(j, "kvlistValue", "values", "#0", "key", NULL)), "k");
    assert_string_equal(
        json_string_value(get(j, "kvlistValue", "values", "#0", "value", "stringValue", NULL)),
        "x");
    json_decref(j);

    /* An empty array is still an array value, not "no value". */
    arr.n_values = 0;
    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    j = ENCODE(opg_otlp_json_encode_any_value, &v);
    assert_true(json_is_object(json_object_get(j, "arrayValue")));
    json_decref(j);
}

static void test_bad_strings_stay_valid_json(void **state)
{
    Opentelemetry__Proto__Common__V1__AnyValue v[3] = {
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT,
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT,
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT};
    Opentelemetry__Proto__Common__V1__KeyValue kv[3] = {
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT,
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT,
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT};
    Opentelemetry__Proto__Common__V1__KeyValue *attrs[3] = {&kv[0], &kv[1], &kv[2]};
    Opentelemetry__Proto__Trace__V1__Span span = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    json_t *j;

    v[0].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v[0].string_value = sv("bad \xff\xfe utf-8, truncated \xe2\x82");
    v[1].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v[1].string_value = sv("");
    v[2].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v[2].string_value = sv("quote \" backslash \\ newline \n nul-ish \x01 euro \xe2\x82\xac");
    kv[0].key = "\xc3\x28";
    kv[0].value = &v[0];
    kv[1].key = "";
    kv[1].value = &v[1];
    kv[2].key = "ctl";
    kv[2].value = &v[2];
    span.name = "\xed\xa0\x80 surrogate";
    span.attributes = attrs;
    span.n_attributes = 3;

    j = ENCODE(opg_otlp_json_encode_span, &span);
    assert_string_equal(json_string_value(get(j, "attributes", "#0", "value", "stringValue", NULL)),
                        "bad \xef\xbf\xbd\xef\xbf\xbd utf-8, truncated \xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(get(j, "attributes", "#1", "key", NULL)), "");
    assert_string_equal(json_string_value(get(j, "attributes", "#1", "value", "stringValue", NULL)),
                        "");
    assert_string_equal(json_string_value(get(j, "attributes", "#2", "value", "stringValue", NULL)),
                        (const char *)v[2].string_value.data);
    json_decref(j);
}

static void test_empty_span_has_reader_fields(void **state)
{
    Opentelemetry__Proto__Trace__V1__Span span = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    const char *want[] = {"traceId",           "spanId",          "name",  "kind",
                          "startTimeUnixNano", "endTimeUnixNano", "status"};
    json_t *j = ENCODE(opg_otlp_json_encode_span, &span);

    assert_int_equal(json_object_size(j), 7);
    for (size_t i = 0; i < 7; i++)
        assert_non_null(json_object_get(j, want[i]));
    assert_string_equal(json_string_value(json_object_get(j, "startTimeUnixNano")), "0");
    assert_int_equal(json_integer_value(json_object_get(j, "kind")), 0);
    assert_int_equal(json_object_size(json_object_get(j, "status")), 0);
    json_decref(j);
}

static void test_span_all_fields(void **state)
{
    uint8_t tid[16] = {0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff};
    uint8_t sid[8] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1};
    uint8_t pid[8] = {0, 0, 0, 0, 0, 0, 0, 2};
    Opentelemetry__Proto__Trace__V1__Status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    Opentelemetry__Proto__Trace__V1__Span__Event ev =
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    Opentelemetry__Proto__Trace__V1__Span__Event *evs[1] = {&ev};
    Opentelemetry__Proto__Trace__V1__Span__Link ln =
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    Opentelemetry__Proto__Trace__V1__Span__Link *lns[1] = {&ln};
    Opentelemetry__Proto__Trace__V1__Span s = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    json_t *j;

    s.trace_id = (ProtobufCBinaryData){16, tid};
    s.span_id = (ProtobufCBinaryData){8, sid};
    s.parent_span_id = (ProtobufCBinaryData){8, pid};
    s.trace_state = "k=v";
    s.flags = 0x301;
    s.name = "op";
    s.kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER;
    s.start_time_unix_nano = UINT64_MAX;
    s.end_time_unix_nano = 1;
    s.dropped_attributes_count = 1;
    s.dropped_events_count = 2;
    s.dropped_links_count = 3;
    ev.time_unix_nano = 5;
    ev.name = "ev";
    ev.dropped_attributes_count = 4;
    s.events = evs;
    s.n_events = 1;
    ln.trace_id = s.trace_id;
    ln.span_id = s.parent_span_id;
    ln.trace_state = "a=b";
    ln.flags = 256;
    s.links = lns;
    s.n_links = 1;
    st.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    st.message = "boom";
    s.status = &st;

    j = ENCODE(opg_otlp_json_encode_span, &s);
    assert_string_equal(json_string_value(json_object_get(j, "traceId")),
                        "ab0102030405060708090a0b0c0d0eff");
    assert_string_equal(json_string_value(json_object_get(j, "spanId")), "deadbeef00000001");
    assert_string_equal(json_string_value(json_object_get(j, "parentSpanId")), "0000000000000002");
    assert_string_equal(json_string_value(json_object_get(j, "traceState")), "k=v");
    assert_int_equal(json_integer_value(json_object_get(j, "flags")), 0x301);
    assert_int_equal(json_integer_value(json_object_get(j, "kind")), 5);
    assert_string_equal(json_string_value(json_object_get(j, "startTimeUnixNano")),
                        "18446744073709551615");
    assert_int_equal(json_integer_value(json_object_get(j, "droppedAttributesCount")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "droppedEventsCount")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "droppedLinksCount")), 3);
    assert_string_equal(json_string_value(get(j, "events", "#0", "timeUnixNano", NULL)), "5");
    assert_string_equal(json_string_value(get(j, "events", "#0", "name", NULL)), "ev");
    assert_int_equal(json_integer_value(get(j, "events", "#0", "droppedAttributesCount", NULL)), 4);
    assert_string_equal(json_string_value(get(j, "links", "#0", "spanId", NULL)),
                        "0000000000000002");
    assert_string_equal(json_string_value(get(j, "links", "#0", "traceState", NULL)), "a=b");
    assert_int_equal(json_integer_value(get(j, "links", "#0", "flags", NULL)), 256);
    assert_int_equal(json_integer_value(get(j, "status", "code", NULL)), 2);
    assert_string_equal(json_string_value(get(j, "status", "message", NULL)), "boom");
    json_decref(j);
}

static void test_log_record_fields(void **state)
{
    uint8_t tid[16] = {[15] = 1};
    uint8_t sid[8] = {[0] = 0xf0};
    Opentelemetry__Proto__Logs__V1__LogRecord r = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    json_t *j;

    /* Nothing set: nothing written (a log record has no always-written fields). */
    j = ENCODE(opg_otlp_json_encode_log_record, &r);
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);

    r.time_unix_nano = 1;
    r.observed_time_unix_nano = 2;
    r.severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_FATAL4;
    r.severity_text = "FATAL";
    r.dropped_attributes_count = 7;
    r.flags = 1;
    r.trace_id = (ProtobufCBinaryData){16, tid};
    r.span_id = (ProtobufCBinaryData){8, sid};
    r.event_name = "e";
    j = ENCODE(opg_otlp_json_encode_log_record, &r);
    assert_string_equal(json_string_value(json_object_get(j, "timeUnixNano")), "1");
    assert_string_equal(json_string_value(json_object_get(j, "observedTimeUnixNano")), "2");
    assert_int_equal(json_integer_value(json_object_get(j, "severityNumber")), 24);
    assert_string_equal(json_string_value(json_object_get(j, "severityText")), "FATAL");
    assert_int_equal(json_integer_value(json_object_get(j, "droppedAttributesCount")), 7);
    assert_int_equal(json_integer_value(json_object_get(j, "flags")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "traceId")),
                        "00000000000000000000000000000001");
    assert_string_equal(json_string_value(json_object_get(j, "spanId")), "f000000000000000");
    assert_string_equal(json_string_value(json_object_get(j, "eventName")), "e");
    assert_null(json_object_get(j, "body"));
    json_decref(j);
}

static void test_resource_and_scope(void **state)
{
    char *ids[] = {"service.name", "service.instance.id"};
    char *descs[] = {"service.version"};
    Opentelemetry__Proto__Common__V1__EntityRef ref =
        OPENTELEMETRY__PROTO__COMMON__V1__ENTITY_REF__INIT;
    Opentelemetry__Proto__Common__V1__EntityRef *refs[1] = {&ref};
    Opentelemetry__Proto__Resource__V1__Resource res =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Common__V1__InstrumentationScope sc =
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *sss[1] = {&ss};
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rss[1] = {&rs};
    json_t *j;

    ref.schema_url = "https://s";
    ref.type = "service";
    ref.id_keys = ids;
    ref.n_id_keys = 2;
    ref.description_keys = descs;
    ref.n_description_keys = 1;
    res.entity_refs = refs;
    res.n_entity_refs = 1;
    res.dropped_attributes_count = 3;
    sc.name = "lib";
    sc.dropped_attributes_count = 1;
    ss.scope = &sc;
    ss.schema_url = "https://scope";
    rs.resource = &res;
    rs.scope_spans = sss;
    rs.n_scope_spans = 1;
    rs.schema_url = "https://res";

    j = ENCODE(encode_one_resource_spans, rss);
    assert_int_equal(json_integer_value(get(j, "#0", "resource", "droppedAttributesCount", NULL)),
                     3);
    assert_string_equal(
        json_string_value(get(j, "#0", "resource", "entityRefs", "#0", "idKeys", "#1", NULL)),
        "service.instance.id");
    assert_string_equal(json_string_value(get(j, "#0", "resource", "entityRefs", "#0",
                                              "descriptionKeys", "#0", NULL)),
                        "service.version");
    assert_string_equal(
        json_string_value(get(j, "#0", "resource", "entityRefs", "#0", "type", NULL)), "service");
    assert_string_equal(json_string_value(get(j, "#0", "scopeSpans", "#0", "scope", "name", NULL)),
                        "lib");
    assert_null(get(j, "#0", "scopeSpans", "#0", "scope", "version", NULL));
    assert_null(get(j, "#0", "scopeSpans", "#0", "spans", NULL));
    assert_string_equal(json_string_value(get(j, "#0", "scopeSpans", "#0", "schemaUrl", NULL)),
                        "https://scope");
    assert_string_equal(json_string_value(get(j, "#0", "schemaUrl", NULL)), "https://res");
    json_decref(j);
}

static void test_metric_kinds(void **state)
{
    uint8_t tid[16] = {[0] = 0x12};
    uint8_t sid[8] = {[7] = 0x34};
    uint64_t pos_counts[] = {1, UINT64_MAX};
    double bounds[] = {-1.5, 0, 1e300};
    uint64_t counts[] = {0, 1, 2, 3};
    Opentelemetry__Proto__Metrics__V1__Exemplar ex =
        OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__INIT;
    Opentelemetry__Proto__Metrics__V1__Exemplar *exs[1] = {&ex};
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint np =
        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint np2 =
        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *nps[2] = {&np, &np2};
    Opentelemetry__Proto__Metrics__V1__Gauge gauge = OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint hp =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *hps[1] = {&hp};
    Opentelemetry__Proto__Metrics__V1__Histogram hist =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets pos =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__BUCKETS__INIT;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets neg =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__BUCKETS__INIT;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint ep =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *eps[1] = {&ep};
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogram ehist =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM__INIT;
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile q0 =
        OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__VALUE_AT_QUANTILE__INIT;
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile q1 =
        OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__VALUE_AT_QUANTILE__INIT;
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile *qs[2] = {&q0, &q1};
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint sp =
        OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__INIT;
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint *sps[1] = {&sp};
    Opentelemetry__Proto__Metrics__V1__Summary summary =
        OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY__INIT;
    Opentelemetry__Proto__Metrics__V1__Metric m = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    json_t *j, *p;

    /* Gauge: asInt 0 is written (the oneof is set), a point with no value has neither. */
    ex.value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT;
    ex.as_int = -5;
    ex.time_unix_nano = 9;
    ex.trace_id = (ProtobufCBinaryData){16, tid};
    ex.span_id = (ProtobufCBinaryData){8, sid};
    np.value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    np.as_int = 0;
    np.exemplars = exs;
    np.n_exemplars = 1;
    np.flags = 1;
    gauge.data_points = nps;
    gauge.n_data_points = 2;
    m.name = "g";
    m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m.gauge = &gauge;
    j = ENCODE(opg_otlp_json_encode_metric, &m);
    p = get(j, "gauge", "dataPoints", "#0", NULL);
    assert_string_equal(json_string_value(json_object_get(p, "asInt")), "0");
    assert_int_equal(json_integer_value(json_object_get(p, "flags")), 1);
    assert_string_equal(json_string_value(get(p, "exemplars", "#0", "asInt", NULL)), "-5");
    assert_string_equal(json_string_value(get(p, "exemplars", "#0", "timeUnixNano", NULL)), "9");
    assert_string_equal(json_string_value(get(p, "exemplars", "#0", "traceId", NULL)),
                        "12000000000000000000000000000000");
    assert_string_equal(json_string_value(get(p, "exemplars", "#0", "spanId", NULL)),
                        "0000000000000034");
    p = get(j, "gauge", "dataPoints", "#1", NULL);
    assert_int_equal(json_object_size(p), 0);
    assert_null(json_object_get(j, "description"));
    json_decref(j);

    /* Histogram: sum present at 0 is written, absent min/max are not. */
    hp.count = 6;
    hp.bucket_counts = counts;
    hp.n_bucket_counts = 4;
    hp.explicit_bounds = bounds;
    hp.n_explicit_bounds = 3;
    hp.sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
    hp.sum = 0;
    hp.max_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
    hp.max = 2.5;
    hist.data_points = hps;
    hist.n_data_points = 1;
    hist.aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA;
    m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    m.histogram = &hist;
    m.unit = "ms";
    j = ENCODE(opg_otlp_json_encode_metric, &m);
    p = get(j, "histogram", "dataPoints", "#0", NULL);
    assert_int_equal(json_integer_value(get(j, "histogram", "aggregationTemporality", NULL)), 1);
    assert_string_equal(json_string_value(json_object_get(j, "unit")), "ms");
    assert_string_equal(json_string_value(json_object_get(p, "count")), "6");
    assert_true(json_number_value(json_object_get(p, "sum")) == 0);
    assert_null(json_object_get(p, "min"));
    assert_true(json_number_value(json_object_get(p, "max")) == 2.5);
    assert_int_equal(json_array_size(json_object_get(p, "bucketCounts")), 4);
    assert_string_equal(json_string_value(get(p, "bucketCounts", "#0", NULL)), "0");
    assert_true(json_number_value(get(p, "explicitBounds", "#0", NULL)) == -1.5);
    assert_true(json_number_value(get(p, "explicitBounds", "#2", NULL)) == 1e300);
    json_decref(j);

    /* Exponential histogram. */
    pos.offset = -3;
    pos.bucket_counts = pos_counts;
    pos.n_bucket_counts = 2;
    ep.count = 10;
    ep.scale = -2;
    ep.zero_count = 4;
    ep.zero_threshold = 1e-9;
    ep.positive = &pos;
    ep.negative = &neg;
    ep.min_present_case =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
    ep.min = -INFINITY;
    ehist.data_points = eps;
    ehist.n_data_points = 1;
    ehist.aggregation_temporality =
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
    m.exponential_histogram = &ehist;
    j = ENCODE(opg_otlp_json_encode_metric, &m);
    p = get(j, "exponentialHistogram", "dataPoints", "#0", NULL);
    assert_int_equal(
        json_integer_value(get(j, "exponentialHistogram", "aggregationTemporality", NULL)), 2);
    assert_int_equal(json_integer_value(json_object_get(p, "scale")), -2);
    assert_string_equal(json_string_value(json_object_get(p, "zeroCount")), "4");
    assert_true(json_real_value(json_object_get(p, "zeroThreshold")) == 1e-9);
    assert_int_equal(json_integer_value(get(p, "positive", "offset", NULL)), -3);
    assert_string_equal(json_string_value(get(p, "positive", "bucketCounts", "#1", NULL)),
                        "18446744073709551615");
    assert_int_equal(json_object_size(get(p, "negative", NULL)), 0);
    assert_string_equal(json_string_value(json_object_get(p, "min")), "-Infinity");
    assert_null(json_object_get(p, "sum"));
    json_decref(j);

    /* Summary. */
    q0.quantile = 0;
    q0.value = 1;
    q1.quantile = 0.99;
    q1.value = 7.5;
    sp.count = 3;
    sp.sum = 9.5;
    sp.quantile_values = qs;
    sp.n_quantile_values = 2;
    summary.data_points = sps;
    summary.n_data_points = 1;
    m.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
    m.summary = &summary;
    j = ENCODE(opg_otlp_json_encode_metric, &m);
    p = get(j, "summary", "dataPoints", "#0", NULL);
    assert_string_equal(json_string_value(json_object_get(p, "count")), "3");
    assert_true(json_number_value(json_object_get(p, "sum")) == 9.5);
    assert_null(get(p, "quantileValues", "#0", "quantile", NULL));
    assert_true(json_number_value(get(p, "quantileValues", "#0", "value", NULL)) == 1);
    assert_true(json_number_value(get(p, "quantileValues", "#1", "quantile", NULL)) == 0.99);
    json_decref(j);
}

/* AnyValues nested deeper than the writer can track still give valid JSON. */
static void test_deep_nesting_stays_valid(void **state)
{
    enum { DEPTH = 300 };
    Opentelemetry__Proto__Common__V1__AnyValue *vals = calloc(DEPTH, sizeof(*vals));
    Opentelemetry__Proto__Common__V1__ArrayValue *arrs = calloc(DEPTH, sizeof(*arrs));
    Opentelemetry__Proto__Common__V1__AnyValue **ptrs = calloc(DEPTH, sizeof(*ptrs));
    json_t *j;

    for (int i = 0; i < DEPTH; i++) {
        Opentelemetry__Proto__Common__V1__AnyValue v =
            OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        Opentelemetry__Proto__Common__V1__ArrayValue a =
            OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;

        vals[i] = v;
        arrs[i] = a;
        ptrs[i] = &vals[i];
    }
    for (int i = 0; i < DEPTH - 1; i++) {
        vals[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        vals[i].array_value = &arrs[i];
        arrs[i].values = &ptrs[i + 1];
        arrs[i].n_values = 1;
    }
    vals[DEPTH - 1].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    vals[DEPTH - 1].string_value = sv("leaf");
    j = ENCODE(opg_otlp_json_encode_any_value, &vals[0]);
    assert_non_null(json_object_get(j, "arrayValue"));
    json_decref(j);
    free(ptrs);
    free(arrs);
    free(vals);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traces_match_json_sample),
        cmocka_unit_test(test_trace_ids_and_times),
        cmocka_unit_test(test_logs_match_json_sample),
        cmocka_unit_test(test_metrics_match_json_sample),
        cmocka_unit_test(test_any_value_kinds),
        cmocka_unit_test(test_bad_strings_stay_valid_json),
        cmocka_unit_test(test_empty_span_has_reader_fields),
        cmocka_unit_test(test_span_all_fields),
        cmocka_unit_test(test_log_record_fields),
        cmocka_unit_test(test_resource_and_scope),
        cmocka_unit_test(test_metric_kinds),
        cmocka_unit_test(test_deep_nesting_stays_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
