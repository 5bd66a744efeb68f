/*
 * OTLP/JSON decoder: real SDK payloads decode to exactly what protobuf
 * decoding of the same data gives, and hostile or malformed bodies get a
 * clear error instead of a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "arena.h"
#include "otlp_json.h"

/* AnyValue strings are bytes (they may hold NULs): compare length and bytes. */
#define assert_sv_equal(sv, want)                                                                  \
    do {                                                                                           \
        assert_int_equal((sv).len, strlen(want));                                                  \
        assert_memory_equal((sv).len ? (const char *)(sv).data : "", want, strlen(want));          \
    } while (0)

#define MAX_DEPTH 8

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static int setup(void **state)
{
    *state = opg_arena_create(0);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    opg_arena_destroy(*state);
    return 0;
}

static int
decode_traces(void **state, const char *json,
              Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest **out,
              char *err, size_t errlen)
{
    return opg_otlp_json_decode_traces(json, strlen(json), *state, MAX_DEPTH, out, err, errlen);
}

/* The first span of the first scope of the first resource. */
static Opentelemetry__Proto__Trace__V1__Span *
first_span(Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req)
{
    assert_int_equal(req->n_resource_spans, 1);
    assert_int_equal(req->resource_spans[0]->n_scope_spans, 1);
    assert_true(req->resource_spans[0]->scope_spans[0]->n_spans >= 1);
    return req->resource_spans[0]->scope_spans[0]->spans[0];
}

/* Decodes {"resourceSpans":[{"scopeSpans":[{"spans":[<span>]}]}]} and expects OK. */
static Opentelemetry__Proto__Trace__V1__Span *decode_span(void **state, const char *span)
{
    char body[8192];
    char err[256] = "";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;
    int rc;

    snprintf(body, sizeof(body), "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[%s]}]}]}", span);
    rc = decode_traces(state, body, &req, err, sizeof(err));
    if (rc != OPG_DECODE_OK)
        print_error("decode failed: %s\n", err);
    assert_int_equal(rc, OPG_DECODE_OK);
    return first_span(req);
}

/* Decodes a one-span body that must fail, and returns the error text. */
static const char *decode_span_fails(void **state, const char *span, int expect)
{
    static char err[256];
    char body[8192];
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;

    snprintf(body, sizeof(body), "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[%s]}]}]}", span);
    err[0] = '\0';
    assert_int_equal(decode_traces(state, body, &req, err, sizeof(err)), expect);
    assert_null(req);
    assert_true(err[0] != '\0');
    return err;
}

/* The value of the first attribute of a one-span body with that attribute value. */
static Opentelemetry__Proto__Common__V1__AnyValue *decode_attr(void **state, const char *value)
{
    char span[4096];
    Opentelemetry__Proto__Trace__V1__Span *s;

    snprintf(span, sizeof(span), "{\"attributes\":[{\"key\":\"k\",\"value\":%s}]}", value);
    s = decode_span(state, span);
    assert_int_equal(s->n_attributes, 1);
    assert_string_equal(s->attributes[0]->key, "k");
    assert_non_null(s->attributes[0]->value);
    return s->attributes[0]->value;
}

/*
 * The JSON and protobuf samples were recorded in two runs of the same program,
 * so they hold the same data except for IDs and timestamps. Zero those in
 * place (keeping the ID lengths) so that everything else can be compared
 * byte for byte; the tests check the JSON IDs and timestamps separately.
 */
static void blank_run_specific(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    char *base = (char *)m;

    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        size_t len = strlen(f->name);

        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage **sub = *(ProtobufCMessage ***)(base + f->offset);

            for (size_t k = 0; k < n; k++)
                blank_run_specific(sub[k]);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            ProtobufCMessage *sub = *(ProtobufCMessage **)(base + f->offset);

            if (sub)
                blank_run_specific(sub);
        } else if (f->type == PROTOBUF_C_TYPE_BYTES && len >= 3 &&
                   !strcmp(f->name + len - 3, "_id")) {
            ProtobufCBinaryData *b = (ProtobufCBinaryData *)(base + f->offset);

            if (b->len)
                memset(b->data, 0, b->len);
        } else if (f->type == PROTOBUF_C_TYPE_FIXED64 && len >= 14 &&
                   !strcmp(f->name + len - 14, "time_unix_nano")) {
            *(uint64_t *)(base + f->offset) = 0;
        }
    }
}

static void assert_packed_equal(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t na = protobuf_c_message_get_packed_size(a);
    size_t nb = protobuf_c_message_get_packed_size(b);
    uint8_t *pa = malloc(na + 1);
    uint8_t *pb = malloc(nb + 1);

    assert_non_null(pa);
    assert_non_null(pb);
    assert_int_equal(protobuf_c_message_pack(a, pa), na);
    assert_int_equal(protobuf_c_message_pack(b, pb), nb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

/* ---- real payloads: JSON and protobuf encodings of the same data ---- */

static void test_sample_traces_match_protobuf(void **state)
{
    size_t jlen, plen;
    char *json = read_file(OPG_SAMPLES_DIR "/json/001_v1_traces.json", &jlen);
    char *pb = read_file(OPG_SAMPLES_DIR "/proto/001_v1_traces.pb", &plen);
    char err[256] = "";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *want;
    Opentelemetry__Proto__Trace__V1__Span *span;
    static const uint8_t trace_id[16] = {0x92, 0x68, 0xf0, 0x55, 0x53, 0x56, 0xdb, 0x5a,
                                         0x46, 0xa6, 0xe1, 0x0f, 0x85, 0x17, 0x97, 0x21};

    assert_int_equal(
        opg_otlp_json_decode_traces(json, jlen, *state, MAX_DEPTH, &req, err, sizeof(err)),
        OPG_DECODE_OK);
    want = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
        NULL, plen, (const uint8_t *)pb);
    assert_non_null(want);
    /* IDs and timestamps are as the JSON spells them... */
    span = req->resource_spans[0]->scope_spans[0]->spans[0];
    assert_int_equal(span->trace_id.len, 16);
    assert_memory_equal(span->trace_id.data, trace_id, 16);
    assert_true(span->start_time_unix_nano == UINT64_C(1795280642639000000));
    assert_true(span->end_time_unix_nano == UINT64_C(1795280642639180071));
    assert_int_equal(req->resource_spans[0]->scope_spans[0]->spans[1]->parent_span_id.len, 8);
    assert_int_equal(req->resource_spans[0]->scope_spans[0]->spans[2]->parent_span_id.len, 0);
    assert_true(req->resource_spans[0]->scope_spans[0]->spans[1]->events[0]->time_unix_nano ==
                UINT64_C(1795280642640139832));
    /* ...and everything else is what protobuf decoding gives. */
    blank_run_specific(&req->base);
    blank_run_specific(&want->base);
    assert_packed_equal(&req->base, &want->base);
    assert_int_equal(req->resource_spans[0]->scope_spans[0]->n_spans, 3);
    assert_int_equal(span->flags, 257);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(want,
                                                                                            NULL);
    free(json);
    free(pb);
}

static void test_sample_logs_match_protobuf(void **state)
{
    size_t jlen, plen;
    char *json = read_file(OPG_SAMPLES_DIR "/json/002_v1_logs.json", &jlen);
    char *pb = read_file(OPG_SAMPLES_DIR "/proto/002_v1_logs.pb", &plen);
    char err[256] = "";
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req = NULL;
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *want;
    Opentelemetry__Proto__Logs__V1__LogRecord *rec;

    assert_int_equal(
        opg_otlp_json_decode_logs(json, jlen, *state, MAX_DEPTH, &req, err, sizeof(err)),
        OPG_DECODE_OK);
    want = opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
        NULL, plen, (const uint8_t *)pb);
    assert_non_null(want);
    rec = req->resource_logs[0]->scope_logs[0]->log_records[0];
    assert_int_equal(rec->trace_id.len, 16);
    assert_int_equal(rec->trace_id.data[0], 0xa5);
    assert_int_equal(rec->span_id.len, 8);
    assert_true(rec->time_unix_nano == UINT64_C(1795280642641000000));
    blank_run_specific(&req->base);
    blank_run_specific(&want->base);
    assert_packed_equal(&req->base, &want->base);
    assert_int_equal(req->resource_logs[0]->scope_logs[0]->n_log_records, 3);
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(want,
                                                                                          NULL);
    free(json);
    free(pb);
}

static void check_metrics_sample(void **state, const char *json_path, const char *pb_path)
{
    size_t jlen, plen;
    char *json = read_file(json_path, &jlen);
    char *pb = read_file(pb_path, &plen);
    char err[256] = "";
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req = NULL;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *want;

    assert_int_equal(
        opg_otlp_json_decode_metrics(json, jlen, *state, MAX_DEPTH, &req, err, sizeof(err)),
        OPG_DECODE_OK);
    want = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
        NULL, plen, (const uint8_t *)pb);
    assert_non_null(want);
    assert_true(req->resource_metrics[0]
                    ->scope_metrics[0]
                    ->metrics[0]
                    ->sum->data_points[0]
                    ->start_time_unix_nano == UINT64_C(1795280642642000000));
    blank_run_specific(&req->base);
    blank_run_specific(&want->base);
    assert_packed_equal(&req->base, &want->base);
    assert_int_equal(req->resource_metrics[0]->scope_metrics[0]->n_metrics, 4);
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        want, NULL);
    free(json);
    free(pb);
}

static void test_sample_metrics_match_protobuf(void **state)
{
    check_metrics_sample(state, OPG_SAMPLES_DIR "/json/003_v1_metrics.json",
                         OPG_SAMPLES_DIR "/proto/003_v1_metrics.pb");
    check_metrics_sample(state, OPG_SAMPLES_DIR "/json/004_v1_metrics.json",
                         OPG_SAMPLES_DIR "/proto/004_v1_metrics.pb");
}

/* ---- malformed bodies ---- */

static void test_top_level_not_object(void **state)
{
    static const char *const bodies[] = {"[]", "42", "\"resourceSpans\"", "null", "true"};
    char err[256];

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
            (Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *)1;

        err[0] = '\0';
        assert_int_equal(decode_traces(state, bodies[i], &req, err, sizeof(err)),
                         OPG_DECODE_INVALID);
        assert_null(req);
        assert_true(err[0] != '\0');
    }
}

static void test_truncated_json(void **state)
{
    size_t len;
    char *json = read_file(OPG_SAMPLES_DIR "/json/001_v1_traces.json", &len);
    char err[256] = "";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;

    assert_int_equal(
        opg_otlp_json_decode_traces(json, len / 2, *state, MAX_DEPTH, &req, err, sizeof(err)),
        OPG_DECODE_INVALID);
    assert_null(req);
    assert_non_null(strstr(err, "invalid JSON"));
    assert_int_equal(
        opg_otlp_json_decode_traces(json, 0, *state, MAX_DEPTH, &req, err, sizeof(err)),
        OPG_DECODE_INVALID);
    free(json);
}

static void test_wrong_types_name_the_path(void **state)
{
    char err[256] = "";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;

    assert_int_equal(decode_traces(state, "{\"resourceSpans\":{}}", &req, err, sizeof(err)),
                     OPG_DECODE_INVALID);
    assert_string_equal(err, "resourceSpans: not an array");
    assert_int_equal(
        decode_traces(state, "{\"resourceSpans\":[{\"resource\":\"x\"}]}", &req, err, sizeof(err)),
        OPG_DECODE_INVALID);
    assert_string_equal(err, "resourceSpans[0].resource: not an object");
    assert_int_equal(decode_traces(state,
                                   "{\"resourceSpans\":[{},{\"scopeSpans\":[{\"spans\":\"x\"}]}]}",
                                   &req, err, sizeof(err)),
                     OPG_DECODE_INVALID);
    assert_string_equal(err, "resourceSpans[1].scopeSpans[0].spans: not an array");

    assert_string_equal(
        decode_span_fails(state, "{},{\"startTimeUnixNano\":1.5}", OPG_DECODE_INVALID),
        "resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano: not an integer");
    assert_string_equal(decode_span_fails(state, "{\"name\":7}", OPG_DECODE_INVALID),
                        "resourceSpans[0].scopeSpans[0].spans[0].name: not a string");
    assert_string_equal(
        decode_span_fails(state, "{\"attributes\":[{\"key\":\"a\",\"value\":{\"intValue\":true}}]}",
                          OPG_DECODE_INVALID),
        "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue: not an integer");
    assert_string_equal(decode_span_fails(state, "{\"traceId\":12}", OPG_DECODE_INVALID),
                        "resourceSpans[0].scopeSpans[0].spans[0].traceId: not a hex string");
    assert_string_equal(decode_span_fails(state, "{\"events\":[null]}", OPG_DECODE_INVALID),
                        "resourceSpans[0].scopeSpans[0].spans[0].events[0]: not an object");
    assert_string_equal(
        decode_span_fails(state, "{\"status\":{\"code\":\"BOGUS\"}}", OPG_DECODE_INVALID),
        "resourceSpans[0].scopeSpans[0].spans[0].status.code: unknown enum name");
    /* A NULL err is allowed. */
    assert_int_equal(decode_traces(state, "[]", &req, NULL, 0), OPG_DECODE_INVALID);
}

static void test_invalid_utf8(void **state)
{
    char err[256] = "";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;

    assert_int_equal(decode_traces(state,
                                   "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":"
                                   "\"bad \xc3\x28 utf8\"}]}]}]}",
                                   &req, err, sizeof(err)),
                     OPG_DECODE_INVALID);
    assert_null(req);
    assert_non_null(strstr(err, "invalid JSON"));
}

static void test_deeply_nested_json(void **state)
{
    const size_t depth = 100000;
    size_t prefix = strlen("{\"resourceSpans\":");
    char *body = malloc(prefix + 2 * depth + 2);
    char err[256] = "";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;

    assert_non_null(body);
    memcpy(body, "{\"resourceSpans\":", prefix);
    memset(body + prefix, '[', depth);
    memset(body + prefix + depth, ']', depth);
    body[prefix + 2 * depth] = '}';
    assert_int_equal(opg_otlp_json_decode_traces(body, prefix + 2 * depth + 1, *state, MAX_DEPTH,
                                                 &req, err, sizeof(err)),
                     OPG_DECODE_INVALID);
    assert_null(req);
    free(body);
}

/* An AnyValue of `levels` kvlists nested around a string, into out[n]. */
static void nest_kvlists(char *out, size_t n, int levels)
{
    static const char open[] = "{\"kvlistValue\":{\"values\":[{\"key\":\"n\",\"value\":";
    static const char close[] = "}]}}";

    out[0] = '\0';
    assert_true(levels * (sizeof(open) + sizeof(close)) + 32 < n);
    for (int i = 0; i < levels; i++)
        strcat(out, open);
    strcat(out, "{\"stringValue\":\"leaf\"}");
    for (int i = 0; i < levels; i++)
        strcat(out, close);
}

static void test_kvlist_past_max_depth(void **state)
{
    char value[2048];
    char span[2560];
    char err[256] = "";

    /* MAX_DEPTH nested kvlists are fine... */
    nest_kvlists(value, sizeof(value), MAX_DEPTH);
    assert_int_equal(decode_attr(state, value)->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);

    /* ...one more level (here an array) is refused, and the error says so
     * even though the path is longer than err. */
    strcpy(span, "{\"attributes\":[{\"key\":\"k\",\"value\":{\"arrayValue\":{\"values\":[");
    strcat(span, value);
    strcat(span, "]}}}]}");
    strcpy(err, decode_span_fails(state, span, OPG_DECODE_INVALID));
    assert_non_null(strstr(err, "depth"));
    assert_non_null(strstr(err, "resourceSpans[0].scopeSpans[0].spans[0].attributes[0]"));
    assert_non_null(strstr(err, "..."));

    /* The log body counts like an attribute value. */
    {
        char body[4096];
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req = NULL;

        snprintf(body, sizeof(body),
                 "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":%s}]}]}]}", value);
        assert_int_equal(opg_otlp_json_decode_logs(body, strlen(body), *state, MAX_DEPTH - 1, &req,
                                                   err, sizeof(err)),
                         OPG_DECODE_INVALID);
        assert_non_null(strstr(err, "depth"));
        assert_int_equal(opg_otlp_json_decode_logs(body, strlen(body), *state, MAX_DEPTH, &req, err,
                                                   sizeof(err)),
                         OPG_DECODE_OK);
    }
}

static void test_tiny_arena_is_too_big(void **state)
{
    size_t len;
    char *json = read_file(OPG_SAMPLES_DIR "/json/001_v1_traces.json", &len);
    struct opg_arena *tiny = opg_arena_create(1024);
    char err[256] = "";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;

    assert_int_equal(
        opg_otlp_json_decode_traces(json, len, tiny, MAX_DEPTH, &req, err, sizeof(err)),
        OPG_DECODE_TOO_BIG);
    assert_null(req);
    assert_non_null(strstr(err, "memory limit"));
    opg_arena_destroy(tiny);
    free(json);
}

/* ---- field mapping ---- */

static void test_empty_object(void **state)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *logs = NULL;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *metrics = NULL;

    assert_int_equal(decode_traces(state, "{}", &req, NULL, 0), OPG_DECODE_OK);
    assert_non_null(req);
    assert_int_equal(req->n_resource_spans, 0);
    assert_int_equal(opg_otlp_json_decode_logs("{}", 2, *state, MAX_DEPTH, &logs, NULL, 0),
                     OPG_DECODE_OK);
    assert_int_equal(logs->n_resource_logs, 0);
    assert_int_equal(opg_otlp_json_decode_metrics(" {} ", 4, *state, MAX_DEPTH, &metrics, NULL, 0),
                     OPG_DECODE_OK);
    assert_int_equal(metrics->n_resource_metrics, 0);
    /* null means default, for lists too. */
    assert_int_equal(decode_traces(state, "{\"resourceSpans\":null}", &req, NULL, 0),
                     OPG_DECODE_OK);
    assert_int_equal(req->n_resource_spans, 0);
}

static void test_ids(void **state)
{
    static const uint8_t trace_id[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                         0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
    static const uint8_t span_id[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74};
    Opentelemetry__Proto__Trace__V1__Span *s;

    s = decode_span(state, "{\"traceId\":\"5B8EFFF798038103D269B633813FC60C\","
                           "\"spanId\":\"eee19b7ec3c1b174\",\"parentSpanId\":\"\"}");
    assert_int_equal(s->trace_id.len, 16);
    assert_memory_equal(s->trace_id.data, trace_id, 16);
    assert_int_equal(s->span_id.len, 8);
    assert_memory_equal(s->span_id.data, span_id, 8);
    assert_int_equal(s->parent_span_id.len, 0);

    /* Malformed IDs: 1-byte {0}, so validation drops this span only. */
    s = decode_span(state, "{\"traceId\":\"5b8efff798038103d269b633813fc6\","
                           "\"spanId\":\"zze19b7ec3c1b174\",\"parentSpanId\":\"W+GbfsPBsXQ=\","
                           "\"links\":[{\"traceId\":\"abc\",\"spanId\":\"eee19b7ec3c1b17400\"}]}");
    assert_int_equal(s->trace_id.len, 1);
    assert_int_equal(s->trace_id.data[0], 0);
    assert_int_equal(s->span_id.len, 1);
    assert_int_equal(s->parent_span_id.len, 1);
    assert_int_equal(s->links[0]->trace_id.len, 1);
    assert_int_equal(s->links[0]->span_id.len, 1);
}

static void test_64bit_strings_and_numbers(void **state)
{
    Opentelemetry__Proto__Trace__V1__Span *s;
    Opentelemetry__Proto__Common__V1__AnyValue *v;

    s = decode_span(state, "{\"startTimeUnixNano\":\"1795280642639000000\","
                           "\"endTimeUnixNano\":1795280642639180071}");
    assert_true(s->start_time_unix_nano == UINT64_C(1795280642639000000));
    assert_true(s->end_time_unix_nano == UINT64_C(1795280642639180071));

    s = decode_span(state, "{\"startTimeUnixNano\":\"18446744073709551615\","
                           "\"endTimeUnixNano\":1e3}");
    assert_true(s->start_time_unix_nano == UINT64_MAX);
    assert_true(s->end_time_unix_nano == 1000);

    s = decode_span(state, "{\"startTimeUnixNano\":\"1e3\",\"endTimeUnixNano\":\"0\"}");
    assert_true(s->start_time_unix_nano == 1000);
    assert_true(s->end_time_unix_nano == 0);

    v = decode_attr(state, "{\"intValue\":\"-9223372036854775808\"}");
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    assert_true(v->int_value == INT64_MIN);
    v = decode_attr(state, "{\"intValue\":9223372036854775807}");
    assert_true(v->int_value == INT64_MAX);
    v = decode_attr(state, "{\"intValue\":-42}");
    assert_true(v->int_value == -42);

    assert_non_null(
        strstr(decode_span_fails(state, "{\"startTimeUnixNano\":\"18446744073709551616\"}",
                                 OPG_DECODE_INVALID),
               "startTimeUnixNano: out of range"));
    assert_non_null(
        strstr(decode_span_fails(state, "{\"startTimeUnixNano\":-1}", OPG_DECODE_INVALID),
               "startTimeUnixNano: out of range"));
    assert_non_null(
        strstr(decode_span_fails(state, "{\"startTimeUnixNano\":\"-1\"}", OPG_DECODE_INVALID),
               "out of range"));
    assert_non_null(
        strstr(decode_span_fails(state, "{\"endTimeUnixNano\":\"12abc\"}", OPG_DECODE_INVALID),
               "endTimeUnixNano: not an integer"));
    assert_non_null(
        strstr(decode_span_fails(state, "{\"endTimeUnixNano\":\" 12\"}", OPG_DECODE_INVALID),
               "not an integer"));
    assert_non_null(
        strstr(decode_span_fails(state, "{\"endTimeUnixNano\":\"\"}", OPG_DECODE_INVALID),
               "not an integer"));
    assert_non_null(strstr(decode_span_fails(state,
                                             "{\"attributes\":[{\"key\":\"a\",\"value\":{"
                                             "\"intValue\":\"9223372036854775808\"}}]}",
                                             OPG_DECODE_INVALID),
                           "intValue: out of range"));
    /* 32-bit fields are range-checked too. */
    s = decode_span(state, "{\"flags\":\"4294967295\",\"droppedAttributesCount\":3}");
    assert_int_equal(s->flags, UINT32_MAX);
    assert_int_equal(s->dropped_attributes_count, 3);
    assert_non_null(strstr(decode_span_fails(state, "{\"flags\":4294967296}", OPG_DECODE_INVALID),
                           "flags: out of range"));
    /* jansson itself refuses integer literals beyond int64. */
    decode_span_fails(state, "{\"startTimeUnixNano\":18446744073709551615}", OPG_DECODE_INVALID);
}

static void test_enum_names_and_numbers(void **state)
{
    Opentelemetry__Proto__Trace__V1__Span *s;
    char body[512];
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *logs = NULL;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *metrics = NULL;

    s = decode_span(state, "{\"kind\":\"SPAN_KIND_SERVER\",\"status\":{\"code\":"
                           "\"STATUS_CODE_ERROR\",\"message\":\"boom\"}}");
    assert_int_equal(s->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
    assert_int_equal(s->status->code,
                     OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    assert_string_equal(s->status->message, "boom");
    /* Open enums: unknown numbers are kept. */
    s = decode_span(state, "{\"kind\":42,\"status\":{\"code\":2}}");
    assert_int_equal(s->kind, 42);
    assert_int_equal(s->status->code, 2);
    assert_non_null(
        strstr(decode_span_fails(state, "{\"kind\":\"SPAN_KIND_NOPE\"}", OPG_DECODE_INVALID),
               "kind: unknown enum name"));
    assert_non_null(
        strstr(decode_span_fails(state, "{\"kind\":1.5}", OPG_DECODE_INVALID), "kind:"));

    snprintf(body, sizeof(body), "%s",
             "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"severityNumber\":"
             "\"SEVERITY_NUMBER_WARN\",\"severityText\":\"WARN\"}]}]}]}");
    assert_int_equal(
        opg_otlp_json_decode_logs(body, strlen(body), *state, MAX_DEPTH, &logs, NULL, 0),
        OPG_DECODE_OK);
    assert_int_equal(logs->resource_logs[0]->scope_logs[0]->log_records[0]->severity_number, 13);

    snprintf(body, sizeof(body), "%s",
             "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"sum\":{"
             "\"aggregationTemporality\":\"AGGREGATION_TEMPORALITY_DELTA\"}}]}]}]}");
    assert_int_equal(
        opg_otlp_json_decode_metrics(body, strlen(body), *state, MAX_DEPTH, &metrics, NULL, 0),
        OPG_DECODE_OK);
    assert_int_equal(
        metrics->resource_metrics[0]->scope_metrics[0]->metrics[0]->sum->aggregation_temporality,
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA);
}

static void test_any_values(void **state)
{
    Opentelemetry__Proto__Common__V1__AnyValue *v;

    v = decode_attr(state, "{}");
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET);
    v = decode_attr(state, "{\"stringValue\":\"\"}");
    assert_int_equal(v->value_case,
                     OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
    assert_sv_equal(v->string_value, "");
    v = decode_attr(state, "{\"boolValue\":false}");
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    assert_false(v->bool_value);
    v = decode_attr(state, "{\"doubleValue\":\"NaN\"}");
    assert_true(isnan(v->double_value));
    v = decode_attr(state, "{\"doubleValue\":\"-Infinity\"}");
    assert_true(isinf(v->double_value) && v->double_value < 0);
    v = decode_attr(state, "{\"doubleValue\":\"2.5e1\"}");
    assert_true(v->double_value == 25.0);
    v = decode_attr(state, "{\"doubleValue\":3}");
    assert_true(v->double_value == 3.0);
    v = decode_attr(state, "{\"bytesValue\":\"AP8=\"}");
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
    assert_int_equal(v->bytes_value.len, 2);
    assert_int_equal(v->bytes_value.data[0], 0x00);
    assert_int_equal(v->bytes_value.data[1], 0xff);
    v = decode_attr(state, "{\"bytesValue\":\"_-8\"}"); /* URL-safe, unpadded */
    assert_int_equal(v->bytes_value.len, 2);
    assert_int_equal(v->bytes_value.data[0], 0xff);
    assert_int_equal(v->bytes_value.data[1], 0xef);
    v = decode_attr(state, "{\"arrayValue\":{\"values\":[{\"intValue\":1},{\"stringValue\":\"x\"},"
                           "{}]}}");
    assert_int_equal(v->array_value->n_values, 3);
    assert_true(v->array_value->values[0]->int_value == 1);
    assert_sv_equal(v->array_value->values[1]->string_value, "x");
    v = decode_attr(state, "{\"arrayValue\":{}}");
    assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
    assert_int_equal(v->array_value->n_values, 0);
    /* A null member does not count as set. */
    v = decode_attr(state, "{\"stringValue\":null,\"intValue\":\"7\"}");
    assert_true(v->int_value == 7);

    assert_non_null(
        strstr(decode_span_fails(state,
                                 "{\"attributes\":[{\"key\":\"a\",\"value\":{\"stringValue\":\"x\","
                                 "\"intValue\":1}}]}",
                                 OPG_DECODE_INVALID),
               "attributes[0].value: both stringValue and intValue are set"));
    assert_non_null(strstr(decode_span_fails(state,
                                             "{\"attributes\":[{\"key\":\"a\",\"value\":{"
                                             "\"bytesValue\":\"***\"}}]}",
                                             OPG_DECODE_INVALID),
                           "bytesValue: not valid base64"));
    assert_non_null(strstr(decode_span_fails(state,
                                             "{\"attributes\":[{\"key\":\"a\",\"value\":{"
                                             "\"doubleValue\":\"inf\"}}]}",
                                             OPG_DECODE_INVALID),
                           "doubleValue: not a number"));
    assert_non_null(strstr(decode_span_fails(state,
                                             "{\"attributes\":[{\"key\":\"a\",\"value\":{"
                                             "\"boolValue\":\"true\"}}]}",
                                             OPG_DECODE_INVALID),
                           "boolValue: not a boolean"));
}

static void test_unknown_keys_ignored(void **state)
{
    Opentelemetry__Proto__Trace__V1__Span *s;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;
    const char *body =
        "{\"extra\":[1,2,{\"x\":null}],\"resourceSpans\":[{\"resource\":{\"attributes\":[],"
        "\"futureField\":{\"a\":1}},\"weird\":true,\"scopeSpans\":[{\"scope\":{\"name\":\"s\","
        "\"unknown\":\"u\"},\"spans\":[{\"name\":\"n\",\"kind\":2,\"newThing\":[[[]]],"
        "\"status\":{\"code\":1,\"other\":0}}]}]}]}";

    assert_int_equal(decode_traces(state, body, &req, NULL, 0), OPG_DECODE_OK);
    s = first_span(req);
    assert_string_equal(s->name, "n");
    assert_int_equal(s->kind, 2);
    assert_int_equal(s->status->code, 1);
    assert_string_equal(req->resource_spans[0]->scope_spans[0]->scope->name, "s");
    /* Absent fields keep the protobuf defaults. */
    assert_string_equal(s->trace_state, "");
    assert_null(req->resource_spans[0]->scope_spans[0]->scope->attributes);
}

static void test_snake_case_names(void **state)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;
    Opentelemetry__Proto__Trace__V1__Span *s;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs;
    const char *body =
        "{\"resource_spans\":[{\"resource\":{\"dropped_attributes_count\":2,\"entity_refs\":[{"
        "\"schema_url\":\"u\",\"type\":\"service\",\"id_keys\":[\"service.name\"],"
        "\"description_keys\":[\"a\",\"b\"]}]},\"schema_url\":\"https://x\",\"scope_spans\":[{"
        "\"spans\":[{\"trace_id\":\"5b8efff798038103d269b633813fc60c\",\"span_id\":"
        "\"eee19b7ec3c1b174\",\"parent_span_id\":\"eee19b7ec3c1b175\",\"trace_state\":\"k=v\","
        "\"start_time_unix_nano\":\"5\",\"end_time_unix_nano\":6,\"dropped_events_count\":1,"
        "\"dropped_links_count\":2,\"attributes\":[{\"key\":\"a\",\"value\":{\"string_value\":"
        "\"s\"}},{\"key\":\"b\",\"value\":{\"kvlist_value\":{\"values\":[{\"key\":\"c\","
        "\"value\":{\"int_value\":\"3\"}}]}}}],\"events\":[{\"time_unix_nano\":\"9\",\"name\":"
        "\"e\",\"dropped_attributes_count\":4}]}]}]}]}";

    assert_int_equal(decode_traces(state, body, &req, NULL, 0), OPG_DECODE_OK);
    s = first_span(req);
    rs = req->resource_spans[0];
    assert_string_equal(rs->schema_url, "https://x");
    assert_int_equal(rs->resource->dropped_attributes_count, 2);
    assert_int_equal(rs->resource->n_entity_refs, 1);
    assert_string_equal(rs->resource->entity_refs[0]->schema_url, "u");
    assert_string_equal(rs->resource->entity_refs[0]->id_keys[0], "service.name");
    assert_int_equal(rs->resource->entity_refs[0]->n_description_keys, 2);
    assert_int_equal(s->trace_id.len, 16);
    assert_int_equal(s->span_id.len, 8);
    assert_int_equal(s->parent_span_id.len, 8);
    assert_string_equal(s->trace_state, "k=v");
    assert_true(s->start_time_unix_nano == 5 && s->end_time_unix_nano == 6);
    assert_int_equal(s->dropped_events_count, 1);
    assert_int_equal(s->dropped_links_count, 2);
    assert_sv_equal(s->attributes[0]->value->string_value, "s");
    assert_true(s->attributes[1]->value->kvlist_value->values[0]->value->int_value == 3);
    assert_true(s->events[0]->time_unix_nano == 9);
    assert_int_equal(s->events[0]->dropped_attributes_count, 4);
}

static void test_log_record_fields(void **state)
{
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req = NULL;
    Opentelemetry__Proto__Logs__V1__LogRecord *r;
    const char *body =
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"scope\":{\"name\":\"sc\"},\"schemaUrl\":\"s\","
        "\"logRecords\":[{\"timeUnixNano\":\"1\",\"observedTimeUnixNano\":2,\"severityNumber\":"
        "17,\"severityText\":\"ERROR\",\"body\":{\"stringValue\":\"hi\"},\"attributes\":[{\"key\":"
        "\"a\",\"value\":{\"boolValue\":true}}],\"droppedAttributesCount\":1,\"flags\":1,"
        "\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"xx\",\"eventName\":"
        "\"order.placed\"}]}]}]}";

    assert_int_equal(
        opg_otlp_json_decode_logs(body, strlen(body), *state, MAX_DEPTH, &req, NULL, 0),
        OPG_DECODE_OK);
    r = req->resource_logs[0]->scope_logs[0]->log_records[0];
    assert_true(r->time_unix_nano == 1 && r->observed_time_unix_nano == 2);
    assert_int_equal(r->severity_number, 17);
    assert_string_equal(r->severity_text, "ERROR");
    assert_sv_equal(r->body->string_value, "hi");
    assert_true(r->attributes[0]->value->bool_value);
    assert_int_equal(r->dropped_attributes_count, 1);
    assert_int_equal(r->flags, 1);
    assert_int_equal(r->trace_id.len, 16);
    assert_int_equal(r->span_id.len, 1);
    assert_string_equal(r->event_name, "order.placed");
}

static void test_metric_points(void **state)
{
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req = NULL;
    Opentelemetry__Proto__Metrics__V1__Metric **m;
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *h;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *e;
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint *sp;
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *np;
    char err[256] = "";
    const char *body =
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"g\",\"unit\":\"1\",\"description\":\"d\",\"metadata\":[{\"key\":\"m\","
        "\"value\":{\"stringValue\":\"v\"}}],\"gauge\":{\"dataPoints\":[{\"asInt\":\"-5\","
        "\"timeUnixNano\":\"7\",\"flags\":1,\"exemplars\":[{\"asDouble\":1.5,\"timeUnixNano\":3,"
        "\"spanId\":\"eee19b7ec3c1b174\",\"traceId\":\"5b8efff798038103d269b633813fc60c\","
        "\"filteredAttributes\":[{\"key\":\"f\",\"value\":{\"intValue\":1}}]}]},"
        "{\"asDouble\":\"Infinity\"}]}},"
        "{\"name\":\"h\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{\"count\":"
        "\"3\",\"sum\":0,\"min\":\"-1.5\",\"bucketCounts\":[\"1\",2,0],\"explicitBounds\":[1,"
        "\"2.5\"]}]}},"
        "{\"name\":\"e\",\"exponentialHistogram\":{\"aggregationTemporality\":1,\"dataPoints\":["
        "{\"count\":4,\"scale\":-3,\"zeroCount\":\"1\",\"zeroThreshold\":0.001,\"positive\":{"
        "\"offset\":-2,\"bucketCounts\":[1,\"2\"]},\"negative\":{},\"max\":9}]}},"
        "{\"name\":\"s\",\"summary\":{\"dataPoints\":[{\"count\":2,\"sum\":3.5,\"quantileValues\":"
        "[{\"quantile\":0.5,\"value\":1},{\"quantile\":1,\"value\":2.5}]}]}},"
        "{\"name\":\"empty\"}"
        "]}]}]}";

    assert_int_equal(
        opg_otlp_json_decode_metrics(body, strlen(body), *state, MAX_DEPTH, &req, err, sizeof(err)),
        OPG_DECODE_OK);
    m = req->resource_metrics[0]->scope_metrics[0]->metrics;
    assert_int_equal(req->resource_metrics[0]->scope_metrics[0]->n_metrics, 5);

    assert_int_equal(m[0]->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
    assert_string_equal(m[0]->metadata[0]->key, "m");
    np = m[0]->gauge->data_points[0];
    assert_int_equal(np->value_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT);
    assert_true(np->as_int == -5);
    assert_true(np->exemplars[0]->as_double == 1.5);
    assert_int_equal(np->exemplars[0]->span_id.len, 8);
    assert_int_equal(np->exemplars[0]->trace_id.len, 16);
    assert_int_equal(np->exemplars[0]->n_filtered_attributes, 1);
    assert_true(isinf(m[0]->gauge->data_points[1]->as_double));

    assert_int_equal(m[1]->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
    h = m[1]->histogram->data_points[0];
    assert_true(h->count == 3);
    /* sum 0 is present; max is not. */
    assert_int_equal(h->sum_present_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM);
    assert_true(h->sum == 0);
    assert_true(h->min == -1.5);
    assert_int_equal(h->max_present_case,
                     OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT__NOT_SET);
    assert_int_equal(h->n_bucket_counts, 3);
    assert_true(h->bucket_counts[0] == 1 && h->bucket_counts[1] == 2);
    assert_int_equal(h->n_explicit_bounds, 2);
    assert_true(h->explicit_bounds[1] == 2.5);

    e = m[2]->exponential_histogram->data_points[0];
    assert_int_equal(e->scale, -3);
    assert_true(e->zero_count == 1);
    assert_true(e->zero_threshold == 0.001);
    assert_int_equal(e->positive->offset, -2);
    assert_true(e->positive->bucket_counts[1] == 2);
    assert_non_null(e->negative);
    assert_int_equal(e->negative->n_bucket_counts, 0);
    assert_int_equal(
        e->max_present_case,
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX);
    assert_true(e->max == 9);
    assert_int_equal(
        e->sum_present_case,
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM_PRESENT__NOT_SET);

    sp = m[3]->summary->data_points[0];
    assert_true(sp->count == 2 && sp->sum == 3.5);
    assert_int_equal(sp->n_quantile_values, 2);
    assert_true(sp->quantile_values[1]->value == 2.5);

    assert_int_equal(m[4]->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA__NOT_SET);
}

static void test_metric_errors(void **state)
{
    static const struct {
        const char *metric;
        const char *want;
    } cases[] = {
        {"{\"gauge\":{},\"sum\":{}}", "metrics[0]: both gauge and sum are set"},
        {"{\"gauge\":{\"dataPoints\":[{\"asInt\":1,\"asDouble\":2}]}}",
         "gauge.dataPoints[0]: both asDouble and asInt are set"},
        {"{\"histogram\":{\"dataPoints\":[{\"bucketCounts\":[1,-2]}]}}",
         "histogram.dataPoints[0].bucketCounts[1]: out of range"},
        {"{\"histogram\":{\"dataPoints\":[{\"explicitBounds\":[true]}]}}",
         "explicitBounds[0]: not a number"},
        {"{\"exponentialHistogram\":{\"dataPoints\":[{\"scale\":2147483648}]}}",
         "scale: out of range"},
        {"{\"sum\":{\"isMonotonic\":1}}", "sum.isMonotonic: not a boolean"},
    };
    char body[512];
    char err[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req = NULL;

        snprintf(body, sizeof(body),
                 "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[%s]}]}]}",
                 cases[i].metric);
        err[0] = '\0';
        assert_int_equal(opg_otlp_json_decode_metrics(body, strlen(body), *state, MAX_DEPTH, &req,
                                                      err, sizeof(err)),
                         OPG_DECODE_INVALID);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
    }
}

static void string_value_keeps_nul(void **state)
{
    static const char body[] =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
        "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\",\"name\":\"n\","
        "\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"a\\u0000b\"}}]}]}]}]}";
    struct opg_arena *a = opg_arena_create(0);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r = NULL;
    char err[256];

    assert_int_equal(
        opg_otlp_json_decode_traces(body, sizeof(body) - 1, a, 8, &r, err, sizeof(err)),
        OPG_DECODE_OK);
    ProtobufCBinaryData *v =
        &r->resource_spans[0]->scope_spans[0]->spans[0]->attributes[0]->value->string_value;
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->data, "a\0b", 3);
    opg_arena_destroy(a);
}

static void nul_in_a_name_is_refused(void **state)
{
    static const char body[] = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
                               "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":"
                               "\"0102030405060708\",\"name\":\"a\\u0000b\"}]}]}]}";
    struct opg_arena *a = opg_arena_create(0);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r = NULL;
    char err[256];

    assert_int_equal(
        opg_otlp_json_decode_traces(body, sizeof(body) - 1, a, 8, &r, err, sizeof(err)),
        OPG_DECODE_INVALID);
    assert_non_null(strstr(err, "NUL"));
    opg_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(string_value_keeps_nul),
        cmocka_unit_test(nul_in_a_name_is_refused),
        cmocka_unit_test_setup_teardown(test_sample_traces_match_protobuf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample_logs_match_protobuf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample_metrics_match_protobuf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_level_not_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types_name_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deeply_nested_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kvlist_past_max_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tiny_arena_is_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_64bit_strings_and_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_names_and_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snake_case_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_record_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
