/*
 * Log records as rows: every record encoded for COPY must decode back to
 * exactly the record that was received, and its columns must hold what
 * searches rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "batch.h"
#include "log_rows.h"
#include "utf8.h"

typedef Opentelemetry__Proto__Logs__V1__LogRecord rec_t;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest req_t;

#define SAMPLE_TIME 1795280642641000000LL

static const char *const corr_keys[] = {"correlation.id", "order.id"};
static const struct opg_ingest_opts window = {
    .now_ns = 1795280642000000000LL, /* the samples' day */
    .accept_past_ns = 7 * OPG_NS_PER_DAY,
    .accept_future_ns = OPG_NS_PER_DAY,
    .corr_keys = corr_keys,
    .n_corr_keys = 2,
    .max_corr_len = 256,
};

/* One tuple of the logs stream; pointers into the batch. */
struct log_tuple {
    int64_t time_ns;
    int64_t origin_id;
    int32_t day;
    int severity;
    const unsigned char *record_id, *trace_id, *span_id, *service, *body, *payload;
    size_t record_id_len, trace_id_len, span_id_len, service_len, body_len, payload_len;
};

/* One tuple of the correlations stream. */
struct corr_tuple {
    const unsigned char *id, *ref;
    size_t id_len, ref_len;
    int32_t day;
    int kind;
    int64_t time_ns;
};

static uint32_t rd32(const unsigned char **p)
{
    uint32_t v =
        (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 | (uint32_t)(*p)[2] << 8 | (*p)[3];
    *p += 4;
    return v;
}

static int64_t field_int(const unsigned char **p)
{
    uint32_t n = rd32(p);
    uint64_t v = 0;

    for (uint32_t i = 0; i < n; i++)
        v = v << 8 | (*p)[i];
    *p += n;
    if (n == 2)
        return (int16_t)v;
    if (n == 4)
        return (int32_t)v;
    return (int64_t)v;
}

static const unsigned char *field_bytes(const unsigned char **p, size_t *len)
{
    uint32_t n = rd32(p);
    const unsigned char *d = *p;

    if (n == 0xffffffffu) {
        *len = 0;
        return NULL;
    }
    *p += n;
    *len = n;
    return d;
}

static size_t parse_logs(const struct opg_batch *b, struct log_tuple *rows, size_t max)
{
    const unsigned char *p = (const unsigned char *)b->rows[OPG_STREAM_LOGS].data;
    const unsigned char *end = p + b->rows[OPG_STREAM_LOGS].len;
    size_t n = 0;

    while (p < end && n < max) {
        struct log_tuple *r = &rows[n++];

        assert_int_equal(p[0] << 8 | p[1], 10); /* the columns of table logs */
        p += 2;
        r->time_ns = field_int(&p);
        r->origin_id = field_int(&p);
        r->day = (int32_t)field_int(&p);
        r->severity = (int)field_int(&p);
        r->record_id = field_bytes(&p, &r->record_id_len);
        r->trace_id = field_bytes(&p, &r->trace_id_len);
        r->span_id = field_bytes(&p, &r->span_id_len);
        r->service = field_bytes(&p, &r->service_len);
        r->body = field_bytes(&p, &r->body_len);
        r->payload = field_bytes(&p, &r->payload_len);
        assert_int_equal(r->record_id_len, 16);
        assert_non_null(r->payload);
    }
    assert_ptr_equal(p, end);
    assert_int_equal(n, b->n_rows[OPG_STREAM_LOGS]);
    return n;
}

static size_t parse_corrs(const struct opg_batch *b, struct corr_tuple *rows, size_t max)
{
    const unsigned char *p = (const unsigned char *)b->rows[OPG_STREAM_CORRELATIONS].data;
    const unsigned char *end = p + b->rows[OPG_STREAM_CORRELATIONS].len;
    size_t n = 0;

    while (p < end && n < max) {
        struct corr_tuple *r = &rows[n++];

        assert_int_equal(p[0] << 8 | p[1], 5);
        p += 2;
        r->id = field_bytes(&p, &r->id_len);
        r->day = (int32_t)field_int(&p);
        r->kind = (int)field_int(&p);
        r->ref = field_bytes(&p, &r->ref_len);
        r->time_ns = field_int(&p);
    }
    assert_ptr_equal(p, end);
    return n;
}

static void assert_same_record(const rec_t *a, const rec_t *b)
{
    size_t na = protobuf_c_message_get_packed_size(&a->base);
    size_t nb = protobuf_c_message_get_packed_size(&b->base);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);

    protobuf_c_message_pack(&a->base, pa);
    protobuf_c_message_pack(&b->base, pb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

static req_t *load_sample(const char *name, uint8_t **buf)
{
    char path[512];
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/proto/%s", OPG_SAMPLES_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    *buf = malloc((size_t)n);
    assert_int_equal(fread(*buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
        NULL, (size_t)n, *buf);
}

/* Encodes req into b and checks that every stored row decodes to its record
 * (rows follow request order). Returns the rows made. */
static size_t encode_and_round_trip(const req_t *req, struct opg_batch *b, struct log_tuple *rows,
                                    size_t max)
{
    struct opg_codec *c = opg_codec_create(1);
    struct opg_arena *a = opg_arena_create(0);
    struct opg_buf scratch = OPG_BUF_INIT;
    size_t n, k = 0;

    opg_batch_init(b, OPG_SIGNAL_LOGS);
    assert_int_equal(opg_logs_encode(b, req, c, &window), 0);
    n = parse_logs(b, rows, max);
    assert_int_equal(n, b->n_items);
    for (size_t i = 0; i < req->n_resource_logs; i++)
        for (size_t j = 0; j < req->resource_logs[i]->n_scope_logs; j++)
            for (size_t s = 0; s < req->resource_logs[i]->scope_logs[j]->n_log_records; s++) {
                rec_t *orig = req->resource_logs[i]->scope_logs[j]->log_records[s];
                rec_t *back;
                if ((orig->trace_id.len != 0 && orig->trace_id.len != 16) ||
                    (orig->span_id.len != 0 && orig->span_id.len != 8))
                    continue; /* rejected, as the reject tests check */
                assert_true(k < n);
                back = opg_log_rows_decode(a, c, rows[k].payload, rows[k].payload_len, &scratch);
                k++;
                assert_non_null(back);
                assert_same_record(orig, back);
            }
    assert_int_equal(k, n);
    opg_buf_release(&scratch);
    opg_arena_destroy(a);
    opg_codec_destroy(c);
    return n;
}

static void sdk_sample_round_trips(void **state)
{
    uint8_t *buf;
    req_t *req = load_sample("002_v1_logs.pb", &buf);
    struct opg_batch b;
    struct log_tuple rows[8];
    struct corr_tuple corrs[8];
    const char *body0 = "query failed: connection reset";
    rec_t **recs;

    assert_non_null(req);
    assert_int_equal(req->n_resource_logs, 1);
    assert_int_equal(req->resource_logs[0]->n_scope_logs, 1);
    recs = req->resource_logs[0]->scope_logs[0]->log_records;
    assert_int_equal(encode_and_round_trip(req, &b, rows, 8), 3);
    assert_int_equal(b.rejected, 0);
    assert_int_equal(b.n_rows[OPG_STREAM_ORIGINS], 1);
    assert_int_equal(b.n_days, 1);
    for (int i = 0; i < 3; i++) {
        assert_true(recs[i]->time_unix_nano != 0);
        assert_int_equal(rows[i].time_ns, (int64_t)recs[i]->time_unix_nano);
        assert_int_equal(rows[i].day, (int32_t)(rows[i].time_ns / OPG_NS_PER_DAY));
        assert_int_equal(rows[i].origin_id, rows[0].origin_id);
        assert_int_equal(rows[i].service_len, strlen("otlp-research"));
        assert_memory_equal(rows[i].service, "otlp-research", rows[i].service_len);
    }
    /* an ERROR with a string body in trace a548..., span af5c... */
    assert_int_equal(rows[0].severity, 17);
    assert_int_equal(rows[0].trace_id_len, 16);
    assert_memory_equal(rows[0].trace_id, recs[0]->trace_id.data, 16);
    assert_int_equal(rows[0].span_id_len, 8);
    assert_memory_equal(rows[0].span_id, recs[0]->span_id.data, 8);
    assert_int_equal(rows[0].body_len, strlen(body0));
    assert_memory_equal(rows[0].body, body0, rows[0].body_len);
    /* an INFO with a kvlist body and no trace context */
    assert_int_equal(rows[1].severity, 9);
    assert_null(rows[1].trace_id);
    assert_null(rows[1].span_id);
    assert_non_null(rows[1].body);
    assert_true(rows[1].body_len > 0 && rows[1].body[0] == '{');
    assert_non_null(memmem(rows[1].body, rows[1].body_len, "\"structured\"", 12));
    assert_non_null(memmem(rows[1].body, rows[1].body_len, "\"nested\"", 8));
    /* an INFO2 event in the same trace */
    assert_int_equal(rows[2].severity, 10);
    assert_memory_equal(rows[2].trace_id, rows[0].trace_id, 16);
    assert_memory_not_equal(rows[2].span_id, rows[0].span_id, 8);
    assert_int_equal(rows[2].body_len, strlen("event body"));
    /* three different records, three different IDs */
    assert_memory_not_equal(rows[0].record_id, rows[1].record_id, 16);
    assert_memory_not_equal(rows[0].record_id, rows[2].record_id, 16);
    assert_memory_not_equal(rows[1].record_id, rows[2].record_id, 16);

    /* order.id (an int, 42) on the first record: the trace carries it */
    assert_int_equal(parse_corrs(&b, corrs, 8), 1);
    assert_int_equal(corrs[0].id_len, 2);
    assert_memory_equal(corrs[0].id, "42", 2);
    assert_int_equal(corrs[0].kind, OPG_CORR_TRACE);
    assert_int_equal(corrs[0].ref_len, 16);
    assert_memory_equal(corrs[0].ref, rows[0].trace_id, 16);
    assert_int_equal(corrs[0].time_ns, rows[0].time_ns);
    assert_int_equal(corrs[0].day, rows[0].day);

    opg_batch_release(&b);
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(req,
                                                                                          NULL);
    free(buf);
}

/* A request with up to two records the caller sets up. */
struct two_recs {
    req_t req;
    Opentelemetry__Proto__Logs__V1__ResourceLogs rl, *rlp;
    Opentelemetry__Proto__Logs__V1__ScopeLogs sl, *slp;
    rec_t rec[2], *recp[2];
    Opentelemetry__Proto__Common__V1__AnyValue body[2];
    uint8_t tid[16], sid[8];
};

static void two_recs_init(struct two_recs *o, size_t n)
{
    memset(o, 0, sizeof(*o));
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(&o->req);
    opentelemetry__proto__logs__v1__resource_logs__init(&o->rl);
    opentelemetry__proto__logs__v1__scope_logs__init(&o->sl);
    memset(o->tid, 0xab, 16);
    memset(o->sid, 0xcd, 8);
    o->rlp = &o->rl;
    o->slp = &o->sl;
    o->req.n_resource_logs = 1;
    o->req.resource_logs = &o->rlp;
    o->rl.n_scope_logs = 1;
    o->rl.scope_logs = &o->slp;
    o->sl.n_log_records = n;
    o->sl.log_records = o->recp;
    for (int i = 0; i < 2; i++) {
        opentelemetry__proto__logs__v1__log_record__init(&o->rec[i]);
        opentelemetry__proto__common__v1__any_value__init(&o->body[i]);
        o->recp[i] = &o->rec[i];
        o->body[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        o->body[i].string_value.data = (uint8_t *)"hello";
        o->body[i].string_value.len = 5;
        o->rec[i].body = &o->body[i];
        o->rec[i].time_unix_nano = (uint64_t)SAMPLE_TIME;
        o->rec[i].severity_number = 9;
        o->rec[i].trace_id.data = o->tid;
        o->rec[i].trace_id.len = 16;
        o->rec[i].span_id.data = o->sid;
        o->rec[i].span_id.len = 8;
    }
}

static void invalid_ids_are_rejected(void **state)
{
    struct two_recs o;
    struct opg_batch b;
    struct log_tuple rows[2];

    two_recs_init(&o, 1);
    o.rec[0].trace_id.len = 15;
    encode_and_round_trip(&o.req, &b, rows, 2);
    assert_int_equal(b.n_items, 0);
    assert_int_equal(b.rejected, 1);
    assert_non_null(strstr(b.reject_msg, "trace_id"));
    assert_int_equal(b.n_rows[OPG_STREAM_ORIGINS], 0); /* nothing stored, no origin either */
    opg_batch_release(&b);

    /* the good record of the two is kept */
    two_recs_init(&o, 2);
    o.rec[0].span_id.len = 3;
    assert_int_equal(encode_and_round_trip(&o.req, &b, rows, 2), 1);
    assert_int_equal(b.rejected, 1);
    assert_non_null(strstr(b.reject_msg, "span_id"));
    assert_int_equal(b.n_rows[OPG_STREAM_ORIGINS], 1);
    opg_batch_release(&b);

    /* empty IDs, and an all-zero trace ID, mean "no trace": accepted */
    two_recs_init(&o, 2);
    o.rec[0].trace_id.len = 0;
    o.rec[0].span_id.len = 0;
    memset(o.tid, 0, 16);
    assert_int_equal(encode_and_round_trip(&o.req, &b, rows, 2), 2);
    assert_int_equal(b.rejected, 0);
    assert_null(rows[0].trace_id);
    assert_null(rows[0].span_id);
    assert_null(rows[1].trace_id);
    assert_int_equal(rows[1].span_id_len, 8);
    opg_batch_release(&b);
}

static void same_record_same_id(void **state)
{
    struct two_recs o;
    struct opg_batch b;
    struct log_tuple rows[2];
    uint8_t first[16];
    Opentelemetry__Proto__Resource__V1__Resource res;
    Opentelemetry__Proto__Common__V1__KeyValue kv, *kvp = &kv;
    Opentelemetry__Proto__Common__V1__AnyValue v;

    /* the same record twice: one ID, so PostgreSQL stores it once */
    two_recs_init(&o, 2);
    assert_int_equal(encode_and_round_trip(&o.req, &b, rows, 2), 2);
    assert_memory_equal(rows[0].record_id, rows[1].record_id, 16);
    memcpy(first, rows[0].record_id, 16);
    opg_batch_release(&b);

    /* and the same ID in another request */
    assert_int_equal(encode_and_round_trip(&o.req, &b, rows, 2), 2);
    assert_memory_equal(rows[0].record_id, first, 16);
    opg_batch_release(&b);

    /* one byte of the body differs: another record */
    two_recs_init(&o, 2);
    o.body[1].string_value.data = (uint8_t *)"hellO";
    assert_int_equal(encode_and_round_trip(&o.req, &b, rows, 2), 2);
    assert_memory_equal(rows[0].record_id, first, 16);
    assert_memory_not_equal(rows[0].record_id, rows[1].record_id, 16);
    opg_batch_release(&b);

    /* the same record from another service: another record */
    two_recs_init(&o, 1);
    opentelemetry__proto__resource__v1__resource__init(&res);
    opentelemetry__proto__common__v1__key_value__init(&kv);
    opentelemetry__proto__common__v1__any_value__init(&v);
    kv.key = "service.name";
    kv.value = &v;
    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v.string_value.data = (uint8_t *)"checkout";
    v.string_value.len = 8;
    res.attributes = &kvp;
    res.n_attributes = 1;
    o.rl.resource = &res;
    assert_int_equal(encode_and_round_trip(&o.req, &b, rows, 2), 1);
    assert_memory_not_equal(rows[0].record_id, first, 16);
    assert_int_equal(rows[0].service_len, 8);
    assert_memory_equal(rows[0].service, "checkout", 8);
    opg_batch_release(&b);
}

static void time_falls_back(void **state)
{
    struct two_recs o;
    struct opg_batch b;
    struct log_tuple rows[2];

    /* no time: the observed time */
    two_recs_init(&o, 2);
    o.rec[0].time_unix_nano = 0;
    o.rec[0].observed_time_unix_nano = (uint64_t)SAMPLE_TIME + 5;
    /* neither: the arrival, while the payload keeps both zero */
    o.rec[1].time_unix_nano = 0;
    encode_and_round_trip(&o.req, &b, rows, 2);
    assert_int_equal(rows[0].time_ns, SAMPLE_TIME + 5);
    assert_int_equal(rows[1].time_ns, window.now_ns);
    assert_int_equal(rows[1].day, (int32_t)(window.now_ns / OPG_NS_PER_DAY));
    opg_batch_release(&b);

    /* a time far outside the window: filed under today, the time column exact */
    two_recs_init(&o, 1);
    o.rec[0].time_unix_nano = 1000;
    encode_and_round_trip(&o.req, &b, rows, 2);
    assert_int_equal(rows[0].time_ns, 1000);
    assert_int_equal(rows[0].day, (int32_t)(window.now_ns / OPG_NS_PER_DAY));
    opg_batch_release(&b);

    /* past what int64 holds: the column clamps, the payload stays exact */
    two_recs_init(&o, 1);
    o.rec[0].time_unix_nano = UINT64_MAX;
    encode_and_round_trip(&o.req, &b, rows, 2);
    assert_int_equal(rows[0].time_ns, INT64_MAX);
    opg_batch_release(&b);
}

static void structured_body_is_json(void **state)
{
    struct two_recs o;
    struct opg_batch b;
    struct log_tuple rows[2];
    Opentelemetry__Proto__Common__V1__KeyValueList list;
    Opentelemetry__Proto__Common__V1__KeyValue kv, *kvp = &kv;
    Opentelemetry__Proto__Common__V1__AnyValue v;
    const char *want =
        "{\"kvlistValue\":{\"values\":[{\"key\":\"n\",\"value\":{\"intValue\":\"7\"}}]}}";

    two_recs_init(&o, 2);
    opentelemetry__proto__common__v1__key_value_list__init(&list);
    opentelemetry__proto__common__v1__key_value__init(&kv);
    opentelemetry__proto__common__v1__any_value__init(&v);
    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v.int_value = 7;
    kv.key = "n";
    kv.value = &v;
    list.values = &kvp;
    list.n_values = 1;
    o.body[0].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    o.body[0].kvlist_value = &list;
    o.rec[1].body = NULL; /* no body: NULL */
    encode_and_round_trip(&o.req, &b, rows, 2);
    assert_int_equal(rows[0].body_len, strlen(want));
    assert_memory_equal(rows[0].body, want, rows[0].body_len);
    assert_null(rows[1].body);
    opg_batch_release(&b);
}

static void long_body_is_cut_on_a_character(void **state)
{
    struct two_recs o;
    struct opg_batch b;
    struct log_tuple rows[2];
    size_t n = 1 + 2 * 3000;
    char *text = malloc(n);

    /* "a" then 3000 two-byte "é": byte 4096 is the second half of one */
    text[0] = 'a';
    for (size_t i = 1; i < n; i += 2)
        memcpy(text + i, "\xc3\xa9", 2);
    two_recs_init(&o, 2);
    o.body[0].string_value.data = (uint8_t *)text;
    o.body[0].string_value.len = n;
    /* a short body with a byte that is not UTF-8: sanitised in the column only */
    o.body[1].string_value.data = (uint8_t *)"a\xff";
    o.body[1].string_value.len = 2;
    encode_and_round_trip(&o.req, &b, rows, 2);
    assert_int_equal(rows[0].body_len, 4095);
    assert_true(opg_utf8_valid((const char *)rows[0].body, rows[0].body_len));
    assert_memory_equal(rows[0].body, text, 4095);
    assert_int_equal(rows[1].body_len, 4);
    assert_memory_equal(rows[1].body, "a\xef\xbf\xbd", 4);
    opg_batch_release(&b);

    /* exactly at the limit: kept whole */
    two_recs_init(&o, 1);
    memset(text, 'x', 4096);
    o.body[0].string_value.data = (uint8_t *)text;
    o.body[0].string_value.len = 4096;
    encode_and_round_trip(&o.req, &b, rows, 2);
    assert_int_equal(rows[0].body_len, 4096);
    opg_batch_release(&b);
    free(text);
}

static void severity_outside_smallint(void **state)
{
    struct two_recs o;
    struct opg_batch b;
    struct log_tuple rows[2];

    two_recs_init(&o, 2);
    o.rec[0].severity_number = 70000;
    o.rec[1].severity_number = 24;
    encode_and_round_trip(&o.req, &b, rows, 2);
    assert_int_equal(rows[0].severity, 0);
    assert_int_equal(rows[1].severity, 24);
    opg_batch_release(&b);
}

static void correlations_point_at_trace_or_record(void **state)
{
    struct two_recs o;
    struct opg_batch b;
    struct log_tuple rows[2];
    struct corr_tuple corrs[4];
    Opentelemetry__Proto__Common__V1__KeyValue kv, *kvp = &kv;
    Opentelemetry__Proto__Common__V1__AnyValue v;

    opentelemetry__proto__common__v1__key_value__init(&kv);
    opentelemetry__proto__common__v1__any_value__init(&v);
    kv.key = "correlation.id";
    kv.value = &v;
    v.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v.string_value.data = (uint8_t *)"req-7";
    v.string_value.len = 5;

    two_recs_init(&o, 2);
    o.rec[1].body = &o.body[0];    /* differ from record 0 only in... */
    o.rec[1].severity_number = 13; /* ...severity */
    o.rec[0].attributes = &kvp;
    o.rec[0].n_attributes = 1;
    o.rec[1].attributes = &kvp;
    o.rec[1].n_attributes = 1;
    o.rec[1].trace_id.len = 0; /* no trace: the record itself is the reference */
    o.rec[1].observed_time_unix_nano = (uint64_t)SAMPLE_TIME + 9;
    o.rec[1].time_unix_nano = 0;
    encode_and_round_trip(&o.req, &b, rows, 2);
    assert_int_equal(parse_corrs(&b, corrs, 4), 2);
    assert_int_equal(corrs[0].kind, OPG_CORR_TRACE);
    assert_int_equal(corrs[0].ref_len, 16);
    assert_memory_equal(corrs[0].ref, o.tid, 16);
    assert_int_equal(corrs[0].time_ns, SAMPLE_TIME);
    assert_int_equal(corrs[1].kind, OPG_CORR_LOG);
    assert_int_equal(corrs[1].id_len, 5);
    assert_memory_equal(corrs[1].id, "req-7", 5);
    assert_int_equal(corrs[1].ref_len, 16);
    assert_memory_equal(corrs[1].ref, rows[1].record_id, 16);
    assert_int_equal(corrs[1].time_ns, SAMPLE_TIME + 9);
    assert_int_equal(corrs[1].day, rows[1].day);
    opg_batch_release(&b);
}

static void corrupt_payload_is_refused(void **state)
{
    struct opg_codec *c = opg_codec_create(1);
    struct opg_arena *a = opg_arena_create(0);
    struct opg_buf scratch = OPG_BUF_INIT;
    const uint8_t junk[] = {OPG_CODEC_ZSTD, 1, 2, 3, 4};

    assert_null(opg_log_rows_decode(a, c, junk, sizeof(junk), &scratch));
    assert_null(opg_log_rows_decode(a, c, junk, 0, &scratch));
    opg_buf_release(&scratch);
    opg_arena_destroy(a);
    opg_codec_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sdk_sample_round_trips),
        cmocka_unit_test(invalid_ids_are_rejected),
        cmocka_unit_test(same_record_same_id),
        cmocka_unit_test(time_falls_back),
        cmocka_unit_test(structured_body_is_json),
        cmocka_unit_test(long_body_is_cut_on_a_character),
        cmocka_unit_test(severity_outside_smallint),
        cmocka_unit_test(correlations_point_at_trace_or_record),
        cmocka_unit_test(corrupt_payload_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
