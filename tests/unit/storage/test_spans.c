/*
 * Spans in blocks: every span encoded for COPY must decode back to exactly
 * the span that was received, whatever odd values it carries, and the
 * trace parts must sum the spans up.
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
#include "spans.h"

typedef Opentelemetry__Proto__Trace__V1__Span span_t;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req_t;

static const char *const corr_keys[] = {"correlation.id", "order.id"};
static const struct opg_ingest_opts window = {
    .now_ns = 1795280642000000000LL, /* the samples' day */
    .accept_past_ns = 7 * OPG_NS_PER_DAY,
    .accept_future_ns = OPG_NS_PER_DAY,
    .corr_keys = corr_keys,
    .n_corr_keys = 2,
    .max_corr_len = 256,
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

struct block_row {
    int64_t id;
    int32_t day, span_count;
    const unsigned char *payload;
    size_t len;
};

/* Parses the tuples of the blocks stream; returns how many. */
static size_t parse_blocks(const struct opg_batch *b, struct block_row *rows, size_t max)
{
    const unsigned char *p = (const unsigned char *)b->rows[OPG_STREAM_BLOCKS].data;
    const unsigned char *end = p + b->rows[OPG_STREAM_BLOCKS].len;
    size_t n = 0;

    while (p < end && n < max) {
        struct block_row *r = &rows[n++];

        assert_int_equal(p[0] << 8 | p[1], 4);
        p += 2;
        r->id = field_int(&p);
        r->day = (int32_t)field_int(&p);
        r->span_count = (int32_t)field_int(&p);
        r->payload = field_bytes(&p, &r->len);
    }
    assert_ptr_equal(p, end);
    return n;
}

struct part_row {
    int64_t start_ns, end_ns, block_id, longest_ns;
    uint64_t name_bloom;
    int32_t day, span_count, error_count;
    int kinds;
    const unsigned char *trace_id, *services, *root_service;
    size_t services_len, root_service_len;
    uint64_t corr_hash; /* 0: NULL */
};

static size_t parse_parts(const struct opg_batch *b, struct part_row *rows, size_t max)
{
    const unsigned char *p = (const unsigned char *)b->rows[OPG_STREAM_PARTS].data;
    const unsigned char *end = p + b->rows[OPG_STREAM_PARTS].len;
    size_t n = 0, len;

    while (p < end && n < max) {
        struct part_row *r = &rows[n++];

        assert_int_equal(p[0] << 8 | p[1], 14);
        p += 2;
        r->start_ns = field_int(&p);
        r->end_ns = field_int(&p);
        r->block_id = field_int(&p);
        r->name_bloom = (uint64_t)field_int(&p);
        r->longest_ns = field_int(&p);
        r->day = (int32_t)field_int(&p);
        r->span_count = (int32_t)field_int(&p);
        r->error_count = (int32_t)field_int(&p);
        r->kinds = (int)field_int(&p);
        r->trace_id = field_bytes(&p, &len);
        assert_int_equal(len, 16);
        r->services = field_bytes(&p, &r->services_len);
        r->root_service = field_bytes(&p, &r->root_service_len);
        field_bytes(&p, &len); /* root name */
        if (p[0] == 0xff)      /* a NULL: length -1 */
            p += 4;
        else
            r->corr_hash = (uint64_t)field_int(&p);
    }
    assert_ptr_equal(p, end);
    return n;
}

static void assert_same_span(const span_t *a, const span_t *b)
{
    size_t na = protobuf_c_message_get_packed_size(&a->base);
    size_t nb = protobuf_c_message_get_packed_size(&b->base);
    uint8_t *pa = malloc(na), *pb = malloc(nb);

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
    return opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
        NULL, (size_t)n, *buf);
}

/* Encodes req, decodes every block, and checks each span against the
 * original (blocks keep request order). Returns the spans stored. */
static size_t check_round_trip(req_t *req, struct opg_batch *b)
{
    struct opg_codec *c = opg_codec_create(1);
    struct opg_arena *a = opg_arena_create(0);
    struct opg_buf scratch = OPG_BUF_INIT;
    struct block_row blocks[8];
    span_t *back[64];
    size_t n_back = 0, n, k = 0;

    opg_batch_init(b, OPG_SIGNAL_TRACES);
    assert_int_equal(opg_spans_encode(b, req, c, &window), 0);
    n = parse_blocks(b, blocks, 8);
    for (size_t i = 0; i < n; i++) {
        req_t *r = opg_block_decode(a, c, blocks[i].payload, blocks[i].len, &scratch);
        size_t in_block = 0;

        assert_non_null(r);
        for (size_t x = 0; x < r->n_resource_spans; x++)
            for (size_t y = 0; y < r->resource_spans[x]->n_scope_spans; y++)
                for (size_t z = 0; z < r->resource_spans[x]->scope_spans[y]->n_spans; z++) {
                    assert_true(n_back < 64);
                    back[n_back++] = r->resource_spans[x]->scope_spans[y]->spans[z];
                    in_block++;
                }
        assert_int_equal(in_block, blocks[i].span_count);
    }
    assert_int_equal(n_back, b->n_items);
    for (size_t i = 0; i < req->n_resource_spans; i++)
        for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
            for (size_t s = 0; s < req->resource_spans[i]->scope_spans[j]->n_spans; s++) {
                span_t *orig = req->resource_spans[i]->scope_spans[j]->spans[s];
                if (orig->trace_id.len != 16 || orig->span_id.len != 8)
                    continue; /* rejected, as the reject tests check */
                assert_true(k < n_back);
                assert_same_span(orig, back[k++]);
            }
    assert_int_equal(k, n_back);
    opg_buf_release(&scratch);
    opg_arena_destroy(a);
    opg_codec_destroy(c);
    return n_back;
}

static void sdk_sample_round_trips(void **state)
{
    uint8_t *buf;
    req_t *req = load_sample("001_v1_traces.pb", &buf);
    struct opg_batch b;
    struct block_row blocks[2];
    struct part_row parts[4];

    assert_non_null(req);
    assert_int_equal(check_round_trip(req, &b), 3);
    assert_int_equal(b.rejected, 0);
    assert_int_equal(b.n_days, 1);
    /* one block; one part per trace, whose counts add up to the spans */
    assert_int_equal(parse_blocks(&b, blocks, 2), 1);
    assert_int_equal(blocks[0].day, (int32_t)(1795280641608000000LL / OPG_NS_PER_DAY));
    size_t n_parts = parse_parts(&b, parts, 4), spans = 0;
    assert_true(n_parts >= 1);
    for (size_t i = 0; i < n_parts; i++) {
        assert_int_equal(parts[i].block_id, blocks[0].id);
        assert_int_equal(parts[i].day, blocks[0].day);
        assert_true(parts[i].start_ns <= parts[i].end_ns);
        spans += (size_t)parts[i].span_count;
    }
    assert_int_equal(spans, 3);
    opg_batch_release(&b);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
    free(buf);
}

/* A request with one span whose fields the caller sets up. */
struct one_span {
    req_t req;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs, *rsp;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss, *ssp;
    span_t span, *spanp;
    Opentelemetry__Proto__Trace__V1__Status status;
    uint8_t tid[16], sid[8], pid[8];
};

static void one_span_init(struct one_span *o)
{
    memset(o, 0, sizeof(*o));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&o->req);
    opentelemetry__proto__trace__v1__resource_spans__init(&o->rs);
    opentelemetry__proto__trace__v1__scope_spans__init(&o->ss);
    opentelemetry__proto__trace__v1__span__init(&o->span);
    opentelemetry__proto__trace__v1__status__init(&o->status);
    memset(o->tid, 0xab, 16);
    memset(o->sid, 0xcd, 8);
    memset(o->pid, 0xef, 8);
    o->rsp = &o->rs;
    o->ssp = &o->ss;
    o->spanp = &o->span;
    o->req.n_resource_spans = 1;
    o->req.resource_spans = &o->rsp;
    o->rs.n_scope_spans = 1;
    o->rs.scope_spans = &o->ssp;
    o->ss.n_spans = 1;
    o->ss.spans = &o->spanp;
    o->span.trace_id.data = o->tid;
    o->span.trace_id.len = 16;
    o->span.span_id.data = o->sid;
    o->span.span_id.len = 8;
    o->span.name = "op";
    o->span.start_time_unix_nano = 1795280642000000000ULL;
    o->span.end_time_unix_nano = 1795280642000000500ULL;
}

static void odd_values_round_trip(void **state)
{
    struct one_span o;
    struct opg_batch b;
    struct part_row parts[1];
    struct block_row blocks[1];

    /* a name that is not valid UTF-8 and holds a NUL-free odd byte */
    one_span_init(&o);
    o.span.name = "bad \xff\xfe name";
    check_round_trip(&o.req, &b);
    opg_batch_release(&b);

    /* kind and status code outside the smallint columns (open enums) */
    one_span_init(&o);
    o.span.kind = 70000;
    o.status.code = 99999;
    o.status.message = "custom";
    o.span.status = &o.status;
    check_round_trip(&o.req, &b);
    opg_batch_release(&b);

    /* end before start, and a start past what int64 holds */
    one_span_init(&o);
    o.span.end_time_unix_nano = o.span.start_time_unix_nano - 10;
    check_round_trip(&o.req, &b);
    opg_batch_release(&b);
    one_span_init(&o);
    o.span.start_time_unix_nano = UINT64_MAX - 5;
    o.span.end_time_unix_nano = UINT64_MAX;
    check_round_trip(&o.req, &b);
    parse_blocks(&b, blocks, 1);
    parse_parts(&b, parts, 1);
    /* filed under the day it arrived, not an absurd one; times kept within int64 */
    assert_int_equal(blocks[0].day, (int32_t)(window.now_ns / OPG_NS_PER_DAY));
    assert_int_equal(parts[0].day, blocks[0].day);
    assert_int_equal(parts[0].start_ns, INT64_MAX);
    assert_int_equal(parts[0].end_ns, INT64_MAX);
    opg_batch_release(&b);

    /* zero times, a parent, and an error status with a message */
    one_span_init(&o);
    o.span.start_time_unix_nano = 0;
    o.span.end_time_unix_nano = 0;
    o.span.parent_span_id.data = o.pid;
    o.span.parent_span_id.len = 8;
    o.status.code = 2;
    o.status.message = "failed";
    o.span.status = &o.status;
    check_round_trip(&o.req, &b);
    parse_parts(&b, parts, 1);
    assert_int_equal(parts[0].error_count, 1);
    assert_int_equal(parts[0].span_count, 1);
    assert_null(parts[0].root_service); /* it has a parent: not the root */
    assert_int_equal(parts[0].name_bloom, opg_span_name_bloom("op", 2));
    opg_batch_release(&b);
}

static void invalid_ids_are_rejected(void **state)
{
    struct one_span o;
    struct opg_batch b;
    struct opg_codec *c = opg_codec_create(1);
    uint8_t zero[16] = {0};

    one_span_init(&o);
    o.span.trace_id.len = 15;
    opg_batch_init(&b, OPG_SIGNAL_TRACES);
    assert_int_equal(opg_spans_encode(&b, &o.req, c, &window), 0);
    assert_int_equal(b.n_items, 0);
    assert_int_equal(b.rejected, 1);
    assert_non_null(strstr(b.reject_msg, "trace_id"));
    opg_batch_release(&b);

    one_span_init(&o);
    o.span.span_id.data = zero;
    opg_batch_init(&b, OPG_SIGNAL_TRACES);
    assert_int_equal(opg_spans_encode(&b, &o.req, c, &window), 0);
    assert_int_equal(b.rejected, 1);
    assert_non_null(strstr(b.reject_msg, "span_id"));
    opg_batch_release(&b);

    one_span_init(&o);
    o.span.parent_span_id.data = o.pid;
    o.span.parent_span_id.len = 3;
    opg_batch_init(&b, OPG_SIGNAL_TRACES);
    assert_int_equal(opg_spans_encode(&b, &o.req, c, &window), 0);
    assert_int_equal(b.rejected, 1);
    assert_int_equal(b.n_rows[OPG_STREAM_BLOCKS], 0); /* nothing stored */
    assert_int_equal(b.n_rows[OPG_STREAM_PARTS], 0);
    opg_batch_release(&b);
    opg_codec_destroy(c);
}

static void correlation_ids_are_extracted(void **state)
{
    struct one_span o;
    struct opg_batch b;
    struct opg_codec *c = opg_codec_create(1);
    Opentelemetry__Proto__Common__V1__KeyValue kv[3], *kvp[3] = {&kv[0], &kv[1], &kv[2]};
    Opentelemetry__Proto__Common__V1__AnyValue v[3];
    Opentelemetry__Proto__Resource__V1__Resource res;
    struct part_row part = {0};
    const unsigned char *p;

    for (int i = 0; i < 3; i++) {
        opentelemetry__proto__common__v1__key_value__init(&kv[i]);
        opentelemetry__proto__common__v1__any_value__init(&v[i]);
        kv[i].value = &v[i];
    }
    kv[0].key = "correlation.id";
    v[0].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v[0].string_value.data = (uint8_t *)"req-1";
    v[0].string_value.len = 5;
    kv[1].key = "order.id"; /* an integer value counts too */
    v[1].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    v[1].int_value = 42;
    kv[2].key = "correlation.id"; /* the same ID on the resource is added once */
    v[2].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    v[2].string_value = v[0].string_value;

    one_span_init(&o);
    o.span.attributes = kvp;
    o.span.n_attributes = 2;
    opentelemetry__proto__resource__v1__resource__init(&res);
    res.attributes = &kvp[2];
    res.n_attributes = 1;
    o.rs.resource = &res;
    opg_batch_init(&b, OPG_SIGNAL_TRACES);
    assert_int_equal(opg_spans_encode(&b, &o.req, c, &window), 0);
    /* the first ID is the part's: its hash in trace_parts.corr_hash, no row */
    assert_int_equal(parse_parts(&b, &part, 1), 1);
    assert_true(part.corr_hash == opg_corr_hash("req-1", 5));
    assert_int_equal(b.n_rows[OPG_STREAM_CORRELATIONS], 1);
    /* the other: text "42", day, kind 1, the trace ID, the start */
    p = (const unsigned char *)b.rows[OPG_STREAM_CORRELATIONS].data;
    assert_int_equal(p[0] << 8 | p[1], 5);
    p += 2;
    assert_int_equal(rd32(&p), 2);
    assert_memory_equal(p, "42", 2);
    p += 2;
    field_int(&p);
    assert_int_equal(field_int(&p), OPG_CORR_TRACE);
    assert_int_equal(rd32(&p), 16);
    assert_memory_equal(p, o.tid, 16);
    p += 16;
    assert_int_equal(field_int(&p), (int64_t)o.span.start_time_unix_nano);
    opg_batch_release(&b);
    opg_codec_destroy(c);
}

static void text_sanitize(void **state)
{
    struct opg_buf b = OPG_BUF_INIT;

    opg_text_sanitize(&b, "a\0b\xc3\xa9\xff", 6);
    assert_int_equal(b.len, 1 + 3 + 1 + 2 + 3);
    assert_memory_equal(b.data,
                        "a\xef\xbf\xbd"
                        "b\xc3\xa9\xef\xbf\xbd",
                        b.len);
    opg_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sdk_sample_round_trips),
        cmocka_unit_test(odd_values_round_trip),
        cmocka_unit_test(invalid_ids_are_rejected),
        cmocka_unit_test(correlation_ids_are_extracted),
        cmocka_unit_test(text_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
