/*
 * The column-wise payload (format 0x02): every TracesData comes back byte
 * for byte, what the transform cannot take is stored as 0x01, and corrupt
 * payloads are refused without harm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "tracecols.h"
#include "../../pb_write.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"

#define MAX (1u << 24)

/* Encodes src with encode_traces; checks the format and the exact round trip. */
static void check_round_trip(const void *src, size_t n, int want_format)
{
    struct opg_codec *c = opg_codec_create(1), *c2 = opg_codec_create(1);
    struct opg_buf enc = OPG_BUF_INIT, enc2 = OPG_BUF_INIT, dec = OPG_BUF_INIT;

    assert_int_equal(opg_codec_encode_traces(c, src, n, &enc), 0);
    assert_int_equal((unsigned char)enc.data[0], want_format);
    assert_int_equal(opg_codec_decode(c, enc.data, enc.len, MAX, &dec), 0);
    assert_int_equal(dec.len, n);
    if (n)
        assert_memory_equal(dec.data, src, n);
    /* deterministic: a fresh codec, and the same one again, write the same bytes */
    assert_int_equal(opg_codec_encode_traces(c2, src, n, &enc2), 0);
    assert_int_equal(enc2.len, enc.len);
    assert_memory_equal(enc2.data, enc.data, enc.len);
    opg_buf_reset(&enc2);
    assert_int_equal(opg_codec_encode_traces(c, src, n, &enc2), 0);
    assert_int_equal(enc2.len, enc.len);
    assert_memory_equal(enc2.data, enc.data, enc.len);
    /* the caller's bound holds, and a bound of exactly n is enough */
    assert_int_equal(opg_codec_decode(c, enc.data, enc.len, n, &dec), 0);
    assert_int_equal(dec.len, n);
    if (n)
        assert_int_equal(opg_codec_decode(c, enc.data, enc.len, n - 1, &dec), -1);
    opg_buf_release(&enc);
    opg_buf_release(&enc2);
    opg_buf_release(&dec);
    opg_codec_destroy(c);
    opg_codec_destroy(c2);
}

/* ---- attributes by hand (tests/pb_write.h), for the messages protobuf-c would not write ---- */

static void w_kv_int(struct opg_buf *b, unsigned field, const char *k, int64_t v)
{
    struct opg_buf kv = OPG_BUF_INIT, any = OPG_BUF_INIT;

    pbw_tag(&any, 3, 0);
    pbw_varint(&any, (uint64_t)v);
    pbw_str(&kv, 1, k);
    pbw_msg(&kv, 2, &any);
    pbw_msg(b, field, &kv);
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/*
 * A request shaped like bench/loadgen's reference workload: traces of a root
 * and children, parents listed after their children, ten attributes of
 * realistic kinds (repeated words, UUIDs, hex, numbers in paths, ports).
 */
static void loadgen_like(struct opg_buf *out, uint64_t seed, int n_spans)
{
    static const char *methods[] = {"GET", "POST", "PUT"};
    static const char *routes[] = {"/api/v1/orders/{orderId}", "/api/v1/search", "/healthz"};
    struct opg_buf rs = OPG_BUF_INIT, res = OPG_BUF_INIT, ss = OPG_BUF_INIT, scope = OPG_BUF_INIT;
    uint8_t trace[16], root[8];
    uint64_t t0 = 1700000000000000000ull + seed * 1000;

    pbw_kv_str(&res, 1, "service.name", "checkout");
    pbw_kv_str(&res, 1, "deployment.environment.name", "bench");
    pbw_msg(&rs, 1, &res);
    pbw_str(&scope, 1, "loadgen");
    pbw_str(&scope, 2, "1.0");
    pbw_msg(&ss, 1, &scope);
    for (int i = 0; i < n_spans; i++) {
        struct opg_buf sp = OPG_BUF_INIT;
        uint8_t id[8];
        char v[64];
        uint64_t r = rnd(&seed), u = rnd(&seed);
        bool is_root = i % 10 == 9;

        if (i % 10 == 0) {
            for (int k = 0; k < 16; k++)
                trace[k] = (uint8_t)rnd(&seed);
            for (int k = 0; k < 8; k++)
                root[k] = (uint8_t)rnd(&seed);
        }
        for (int k = 0; k < 8; k++)
            id[k] = is_root ? root[k] : (uint8_t)rnd(&seed);
        pbw_bytes(&sp, 1, trace, 16);
        pbw_bytes(&sp, 2, id, 8);
        if (is_root)
            pbw_bytes(&sp, 4, "", 0);
        else
            pbw_bytes(&sp, 4, root, 8); /* the root comes later: a forward reference */
        pbw_str(&sp, 5, is_root ? "GET /api/v1/orders" : "SELECT orders");
        pbw_tag(&sp, 6, 0);
        pbw_varint(&sp, is_root ? 2 : 3);
        pbw_fixed64(&sp, 7, t0 + (uint64_t)i * 1000000 + r % 1000);
        pbw_fixed64(&sp, 8, t0 + (uint64_t)i * 1000000 + r % 1000 + r % 50000000);
        pbw_kv_str(&sp, 9, "http.request.method", methods[r % 3]);
        snprintf(v, sizeof(v), "/api/v1/orders/%llu", (unsigned long long)(r % 1000000));
        pbw_kv_str(&sp, 9, "url.path", v);
        pbw_kv_str(&sp, 9, "http.route", routes[u % 3]);
        snprintf(v, sizeof(v), "%08llx-%04llx-4%03llx-%04llx-%012llx",
                 (unsigned long long)(u >> 32), (unsigned long long)(u >> 16 & 0xffff),
                 (unsigned long long)(u & 0xfff), (unsigned long long)(0x8000 | (r >> 48 & 0x3fff)),
                 (unsigned long long)(r & 0xffffffffffffull));
        pbw_kv_str(&sp, 9, "user.id", v);
        w_kv_int(&sp, 9, "net.peer.port", 32768 + (int64_t)(r % 28000));
        snprintf(v, sizeof(v), "cart:%012llx", (unsigned long long)(u & 0xffffffffffffull));
        pbw_kv_str(&sp, 9, "cache.key", v);
        snprintf(v, sizeof(v), "%016llx%016llx", (unsigned long long)r, (unsigned long long)u);
        pbw_kv_str(&sp, 9, "request.hash", v);
        pbw_kv_str(&sp, 9, "region", (r & 1) ? "eu-west-1" : "us-east-1");
        if (i % 7 == 0) {
            struct opg_buf st = OPG_BUF_INIT;

            pbw_str(&st, 2, "db call failed");
            pbw_tag(&st, 3, 0);
            pbw_varint(&st, 2);
            pbw_msg(&sp, 15, &st);
        }
        pbw_tag(&sp, 16, 5);
        opg_buf_add(&sp, "\x01\x01\x00\x00", 4);
        pbw_msg(&ss, 2, &sp);
    }
    pbw_msg(&rs, 2, &ss);
    pbw_msg(out, 1, &rs);
}

static void loadgen_bodies(void **state)
{
    struct opg_buf b = OPG_BUF_INIT;

    for (uint64_t seed = 1; seed <= 20; seed++) {
        opg_buf_reset(&b);
        loadgen_like(&b, seed, seed == 1 ? 1 : (int)(seed * 10));
        check_round_trip(b.data, b.len, OPG_CODEC_TRACECOLS);
    }
    /*
     * a small last resource after large ones: the decoder's guess of its
     * length's size is too big until it is done, right at the bound
     */
    opg_buf_add(&b, "\x0a\x02\x12\x00", 4);
    check_round_trip(b.data, b.len, OPG_CODEC_TRACECOLS);
    opg_buf_release(&b);
}

/* The column-wise form must actually be smaller, or it is not worth its code. */
static void smaller_than_zstd_alone(void **state)
{
    struct opg_codec *c = opg_codec_create(1);
    struct opg_buf b = OPG_BUF_INIT, z = OPG_BUF_INIT, cols = OPG_BUF_INIT;

    loadgen_like(&b, 7, 100);
    assert_int_equal(opg_codec_encode(c, b.data, b.len, &z), 0);
    assert_int_equal(opg_codec_encode_traces(c, b.data, b.len, &cols), 0);
    assert_true(cols.len * 100 < z.len * 85);
    opg_buf_release(&b);
    opg_buf_release(&z);
    opg_buf_release(&cols);
    opg_codec_destroy(c);
}

/* ---- real SDK payloads ---- */

static void sdk_samples(void **state)
{
    DIR *d = opendir(OPG_SAMPLES_DIR "/proto");
    struct dirent *e;
    int seen = 0;

    assert_non_null(d);
    while ((e = readdir(d))) {
        char path[512];
        char *data = malloc(1 << 20);
        FILE *f;
        size_t n;

        if (!strstr(e->d_name, "traces") || !strstr(e->d_name, ".pb")) {
            free(data);
            continue;
        }
        snprintf(path, sizeof(path), "%s/proto/%s", OPG_SAMPLES_DIR, e->d_name);
        f = fopen(path, "rb");
        assert_non_null(f);
        n = fread(data, 1, 1 << 20, f);
        fclose(f);
        check_round_trip(data, n, OPG_CODEC_TRACECOLS);
        free(data);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 1);
}

/* ---- everything the schema has, written by protobuf-c ---- */

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

static void full_schema(void **state)
{
    AnyValue s = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT, i = s, dbl = s, bo = s, by = s,
             arr = s, kvl = s, nested = s;
    AnyValue *arr_vals[] = {&s, &i, &dbl, &nested};
    Opentelemetry__Proto__Common__V1__ArrayValue av =
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    Opentelemetry__Proto__Common__V1__ArrayValue inner =
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    AnyValue *inner_vals[] = {&by, &bo};
    KeyValue ks = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT, ki = ks, kd = ks, kb = ks,
             kby = ks, ka = ks, kk = ks, kempty = ks;
    KeyValue *kvl_vals[] = {&ks, &ki};
    Opentelemetry__Proto__Common__V1__KeyValueList kl =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    KeyValue *attrs[] = {&ks, &ki, &kd, &kb, &kby, &ka, &kk, &kempty};
    Opentelemetry__Proto__Trace__V1__Span__Event ev =
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    Opentelemetry__Proto__Trace__V1__Span__Event *evs[] = {&ev, &ev};
    Opentelemetry__Proto__Trace__V1__Span__Link ln =
        OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    Opentelemetry__Proto__Trace__V1__Span__Link *lns[] = {&ln};
    Opentelemetry__Proto__Trace__V1__Status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    Opentelemetry__Proto__Trace__V1__Span sp = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT,
                                          sp2 = sp, sp3 = sp;
    Opentelemetry__Proto__Trace__V1__Span *sps[] = {&sp, &sp2, &sp3};
    Opentelemetry__Proto__Common__V1__InstrumentationScope sc =
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *sss[] = {&ss, &ss};
    Opentelemetry__Proto__Resource__V1__Resource res =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rss[] = {&rs, &rs};
    Opentelemetry__Proto__Trace__V1__TracesData td =
        OPENTELEMETRY__PROTO__TRACE__V1__TRACES_DATA__INIT;
    uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t sid[8] = {1, 1, 2, 3, 5, 8, 13, 21}, sid2[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    uint8_t odd_tid[5] = {1, 2, 3, 0, 5};
    uint8_t *packed;
    size_t n;

    s.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    s.string_value = (ProtobufCBinaryData){6, (uint8_t *)"a\0b\xff\x01z"};
    i.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    i.int_value = -42;
    dbl.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    dbl.double_value = -0.0;
    bo.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    bo.bool_value = 1;
    by.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
    by.bytes_value = (ProtobufCBinaryData){3, (uint8_t *)"\x00\x01\x02"};
    inner.n_values = 2;
    inner.values = inner_vals;
    nested.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    nested.array_value = &inner;
    av.n_values = 4;
    av.values = arr_vals;
    arr.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
    arr.array_value = &av;
    kl.n_values = 2;
    kl.values = kvl_vals;
    kvl.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    kvl.kvlist_value = &kl;
    ks.key = "s";
    ks.value = &s;
    ki.key = "i";
    ki.value = &i;
    kd.key = "d";
    kd.value = &dbl;
    kb.key = "b";
    kb.value = &bo;
    kby.key = "by";
    kby.value = &by;
    ka.key = "a";
    ka.value = &arr;
    kk.key = "kv";
    kk.value = &kvl;
    kempty.key = "";
    ev.time_unix_nano = 5;
    ev.name = "exception";
    ev.n_attributes = 3;
    ev.attributes = attrs;
    ev.dropped_attributes_count = 2;
    ln.trace_id = (ProtobufCBinaryData){16, tid};
    ln.span_id = (ProtobufCBinaryData){8, sid};
    ln.trace_state = "k=v";
    ln.n_attributes = 1;
    ln.attributes = attrs;
    ln.flags = 257;
    st.message = "boom";
    st.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    sp.trace_id = (ProtobufCBinaryData){16, tid};
    sp.span_id = (ProtobufCBinaryData){8, sid};
    sp.parent_span_id = (ProtobufCBinaryData){8, sid2};
    sp.trace_state = "a=b";
    sp.name = "GET /";
    sp.kind = 2;
    sp.flags = 257;
    sp.start_time_unix_nano = 100;
    sp.end_time_unix_nano = 50; /* ends before it starts */
    sp.n_attributes = 8;
    sp.attributes = attrs;
    sp.dropped_attributes_count = 1;
    sp.n_events = 2;
    sp.events = evs;
    sp.dropped_events_count = 3;
    sp.n_links = 1;
    sp.links = lns;
    sp.dropped_links_count = 4;
    sp.status = &st;
    sp2.trace_id = (ProtobufCBinaryData){5, odd_tid}; /* not 16 bytes */
    sp2.span_id = (ProtobufCBinaryData){8, sid2};
    sp2.parent_span_id = (ProtobufCBinaryData){8, sid};
    sp2.name = "child";
    sp2.start_time_unix_nano = UINT64_MAX;
    sp2.end_time_unix_nano = 0;
    sp3.name = "no ids at all";
    sc.name = "lib";
    sc.version = "2";
    sc.n_attributes = 1;
    sc.attributes = attrs;
    sc.dropped_attributes_count = 9;
    ss.scope = &sc;
    ss.n_spans = 3;
    ss.spans = sps;
    ss.schema_url = "https://opentelemetry.io/schemas/1.4.0";
    res.n_attributes = 7;
    res.attributes = attrs;
    rs.resource = &res;
    rs.n_scope_spans = 2;
    rs.scope_spans = sss;
    rs.schema_url = "s";
    td.n_resource_spans = 2;
    td.resource_spans = rss;

    n = opentelemetry__proto__trace__v1__traces_data__get_packed_size(&td);
    packed = malloc(n);
    opentelemetry__proto__trace__v1__traces_data__pack(&td, packed);
    check_round_trip(packed, n, OPG_CODEC_TRACECOLS);
    free(packed);
}

/* ---- what protobuf-c would not write ---- */

static void empty_and_tiny(void **state)
{
    check_round_trip("", 0, OPG_CODEC_TRACECOLS);
    check_round_trip("\x0a\x00", 2, OPG_CODEC_TRACECOLS);                 /* empty ResourceSpans */
    check_round_trip("\x0a\x02\x12\x00", 4, OPG_CODEC_TRACECOLS);         /* empty ScopeSpans */
    check_round_trip("\x0a\x04\x12\x02\x12\x00", 6, OPG_CODEC_TRACECOLS); /* empty Span */
}

static void unknown_and_odd_fields(void **state)
{
    struct opg_buf b = OPG_BUF_INIT, sp = OPG_BUF_INIT, ss = OPG_BUF_INIT, rs = OPG_BUF_INIT;
    struct opg_buf any = OPG_BUF_INIT, kv = OPG_BUF_INIT;

    /* a span with fields out of order, repeated, of wrong wire types, unknown */
    pbw_fixed64(&sp, 8, 2000);
    pbw_str(&sp, 5, "name");
    pbw_fixed64(&sp, 7, 1000);
    pbw_bytes(&sp, 2, "12345678", 8);
    pbw_bytes(&sp, 2, "123", 3); /* a second span ID, not 8 bytes */
    pbw_bytes(&sp, 1, "0123456789abcdef", 16);
    pbw_bytes(&sp, 4, "12345678", 8); /* parent: its own span ID */
    pbw_bytes(&sp, 4, "abc", 3);      /* parent not among the span IDs */
    pbw_tag(&sp, 7, 0);               /* start time as a varint */
    pbw_varint(&sp, 77);
    pbw_tag(&sp, 5, 0); /* name as a varint */
    pbw_varint(&sp, 1);
    pbw_tag(&sp, 99, 0); /* unknown fields of each wire type */
    pbw_varint(&sp, UINT64_MAX);
    pbw_fixed64(&sp, 100, 3);
    pbw_tag(&sp, 101, 5);
    opg_buf_add(&sp, "\x01\x02\x03\x04", 4);
    pbw_str(&sp, 102, "unknown bytes");
    pbw_tag(&sp, 536870911, 2); /* the largest field number */
    pbw_varint(&sp, 1);
    opg_buf_addch(&sp, 'x');
    pbw_tag(&sp, 103, 2); /* packed repeated varints */
    pbw_varint(&sp, 3);
    opg_buf_add(&sp, "\x01\x02\x03", 3);
    /* an attribute whose value comes before its key, and one with two keys */
    pbw_str(&any, 1, "v1");
    pbw_msg(&kv, 2, &any);
    pbw_str(&kv, 1, "k1");
    pbw_msg(&sp, 9, &kv);
    pbw_str(&any, 1, "v2");
    pbw_str(&kv, 1, "k1");
    pbw_str(&kv, 1, "k2");
    pbw_msg(&kv, 2, &any);
    pbw_msg(&sp, 9, &kv);
    /* a value that is an AnyValue of unknown fields only */
    pbw_tag(&any, 50, 0);
    pbw_varint(&any, 5);
    pbw_str(&kv, 1, "k3");
    pbw_msg(&kv, 2, &any);
    pbw_msg(&sp, 9, &kv);
    /* UUID and hex text in other cases, which must not be packed */
    pbw_kv_str(&sp, 9, "u", "0123ABCD-0000-4000-8000-000000000000");
    pbw_kv_str(&sp, 9, "u", "0123abcd-0000-4000-8000-000000000000");
    pbw_kv_str(&sp, 9, "u", "0123abcd-0000-4000-8000-00000000000g");
    pbw_kv_str(&sp, 9, "h", "0123456789abcdef0123");
    pbw_kv_str(&sp, 9, "h", "0123456789ABCDEF0123");
    pbw_kv_str(&sp, 9, "h", "0123456789abcdef012");
    pbw_msg(&ss, 2, &sp);
    pbw_bytes(&ss, 2, "", 0);
    pbw_msg(&rs, 2, &ss);
    pbw_tag(&rs, 4, 0);
    pbw_varint(&rs, 1);
    pbw_msg(&b, 1, &rs);
    pbw_str(&b, 2, "unknown top-level field");
    check_round_trip(b.data, b.len, OPG_CODEC_TRACECOLS);
    opg_buf_release(&b);
}

static void overlong_varints(void **state)
{
    /* tag, length and value varints with needless continuation bytes */
    static const char span_tag[] = "\x0a\x0a\x12\x08\x92\x00\x03\x31\x32\x33\x30\x01";
    static const char len_[] = "\x0a\x0b\x12\x09\x12\x05\x2a\x82\x00\x61\x62\x30\x01";
    static const char val[] = "\x0a\x0a\x12\x08\x12\x06\x30\x81\x80\x80\x80\x00";
    static const char top[] = "\x8a\x00\x00";
    static const char ten[] =
        "\x0a\x0f\x12\x0d\x12\x0b\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";

    check_round_trip(span_tag, sizeof(span_tag) - 1, OPG_CODEC_TRACECOLS);
    check_round_trip(len_, sizeof(len_) - 1, OPG_CODEC_TRACECOLS);
    check_round_trip(val, sizeof(val) - 1, OPG_CODEC_TRACECOLS);
    check_round_trip(top, sizeof(top) - 1, OPG_CODEC_TRACECOLS);
    check_round_trip(ten, sizeof(ten) - 1, OPG_CODEC_TRACECOLS);
}

/* Nesting past the transform's depth is kept as bytes, and still comes back. */
static void deep_nesting(void **state)
{
    struct opg_buf any = OPG_BUF_INIT, b = OPG_BUF_INIT, kv = OPG_BUF_INIT, sp = OPG_BUF_INIT;
    struct opg_buf ss = OPG_BUF_INIT, rs = OPG_BUF_INIT;

    pbw_str(&any, 1, "leaf");
    for (int i = 0; i < 100; i++) {
        struct opg_buf arr = OPG_BUF_INIT, outer = OPG_BUF_INIT;

        pbw_msg(&arr, 1, &any);
        pbw_msg(&outer, 5, &arr);
        any = outer;
    }
    pbw_str(&kv, 1, "deep");
    pbw_msg(&kv, 2, &any);
    pbw_msg(&sp, 9, &kv);
    pbw_msg(&ss, 2, &sp);
    pbw_msg(&rs, 2, &ss);
    pbw_msg(&b, 1, &rs);
    check_round_trip(b.data, b.len, OPG_CODEC_TRACECOLS);
    opg_buf_release(&b);
}

/* A KeyValue of key k and the AnyValue bytes any[0..n). */
static void w_kv_any(struct opg_buf *b, unsigned field, const char *k, const void *any, size_t n)
{
    struct opg_buf kv = OPG_BUF_INIT;

    pbw_str(&kv, 1, k);
    pbw_bytes(&kv, 2, any, n);
    pbw_msg(b, field, &kv);
}

/*
 * Attributes of the usual shape (key, then a string or an int) take a
 * shorter path than the others: both kinds, and the edges between them,
 * in every place attributes go.
 */
static void attribute_shapes(void **state)
{
    struct opg_buf b = OPG_BUF_INIT, rs = OPG_BUF_INIT, ss = OPG_BUF_INIT, res = OPG_BUF_INIT;
    struct opg_buf scope = OPG_BUF_INIT, ev = OPG_BUF_INIT, link = OPG_BUF_INIT;
    struct opg_buf kv = OPG_BUF_INIT, any = OPG_BUF_INIT, list = OPG_BUF_INIT;
    char key[300], val[300], name[32];

    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    memset(val, 'v', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    pbw_kv_str(&res, 1, "service.name", "svc");
    w_kv_int(&res, 1, "pid", 42);
    pbw_msg(&rs, 1, &res);
    pbw_str(&scope, 1, "lib");
    pbw_kv_str(&scope, 3, "scope.attr", "x");
    pbw_msg(&ss, 1, &scope);
    for (int i = 0; i < 300; i++) {
        struct opg_buf sp = OPG_BUF_INIT;

        pbw_bytes(&sp, 1, "0123456789abcdef", 16);
        snprintf(name, sizeof(name), "%016x", i * 7919);
        pbw_bytes(&sp, 2, name, 8);
        /* more distinct strings than a column's first table holds, repeated later */
        snprintf(name, sizeof(name), "/orders/%d", i % 150);
        pbw_kv_str(&sp, 9, "url.path", name);
        pbw_kv_str(&sp, 9, "route", i % 2 ? "/a" : "/b");
        /* a key of each value kind, in turn */
        if (i % 3 == 0)
            pbw_kv_str(&sp, 9, "mixed", "text");
        else if (i % 3 == 1)
            w_kv_int(&sp, 9, "mixed", -i);
        else
            w_kv_any(&sp, 9, "mixed", "\x21\x00\x00\x00\x00\x00\x00\xf0\x3f", 9); /* 1.0 */
        /* lengths of two bytes, empty strings, extreme ints */
        pbw_kv_str(&sp, 9, key, val);
        pbw_kv_str(&sp, 9, "", "");
        w_kv_int(&sp, 9, "min", INT64_MIN);
        w_kv_int(&sp, 9, "zero", 0);
        /* more keys than get columns of their own */
        snprintf(name, sizeof(name), "key.%d", i);
        pbw_kv_str(&sp, 9, name, "0123abcd-0000-4000-8000-000000000000");
        /* near misses of the usual shape */
        w_kv_any(&sp, 9, "bool", "\x10\x01", 2);
        w_kv_any(&sp, 9, "empty", "", 0);
        w_kv_any(&sp, 9, "extra", "\x0a\x01x\x18\x01", 5);
        w_kv_any(&sp, 9, "longint", "\x18\x81\x00", 3);            /* overlong varint */
        pbw_bytes(&sp, 9, "\x0a\x01k", 3);                         /* a key only */
        pbw_bytes(&sp, 9, "\x0a\x81\x00k\x12\x02\x18\x01", 8);     /* overlong key length */
        pbw_bytes(&sp, 9, "\x0a\x01k\x12\x02\x18\x01\x20\x01", 9); /* a field after the value */
        pbw_str(&kv, 1, "kvlist");
        pbw_kv_str(&list, 1, "inner", "s");
        w_kv_int(&list, 1, "n", 1);
        pbw_msg(&any, 6, &list);
        pbw_msg(&kv, 2, &any);
        pbw_msg(&sp, 9, &kv);
        pbw_fixed64(&ev, 1, 5);
        pbw_str(&ev, 2, "event");
        pbw_kv_str(&ev, 3, "event.attr", "e");
        pbw_msg(&sp, 11, &ev);
        pbw_bytes(&link, 1, "0123456789abcdef", 16);
        w_kv_int(&link, 4, "link.attr", 7);
        pbw_msg(&sp, 13, &link);
        pbw_msg(&ss, 2, &sp);
    }
    pbw_msg(&rs, 2, &ss);
    pbw_msg(&b, 1, &rs);
    check_round_trip(b.data, b.len, OPG_CODEC_TRACECOLS);
    opg_buf_release(&b);
}

/* Attributes in kvlists nested past the transform's depth come back too. */
static void deep_kvlists(void **state)
{
    struct opg_buf any = OPG_BUF_INIT, b = OPG_BUF_INIT, kv = OPG_BUF_INIT, sp = OPG_BUF_INIT;
    struct opg_buf ss = OPG_BUF_INIT, rs = OPG_BUF_INIT;

    pbw_str(&any, 1, "leaf");
    for (int i = 0; i < 40; i++) {
        struct opg_buf list = OPG_BUF_INIT, outer = OPG_BUF_INIT, inner = OPG_BUF_INIT;

        pbw_str(&inner, 1, "k");
        pbw_msg(&inner, 2, &any);
        pbw_msg(&list, 1, &inner);
        pbw_kv_str(&list, 1, "s", "v");
        w_kv_int(&list, 1, "i", i);
        pbw_msg(&outer, 6, &list);
        any = outer;
    }
    pbw_str(&kv, 1, "deep");
    pbw_msg(&kv, 2, &any);
    pbw_msg(&sp, 9, &kv);
    pbw_msg(&ss, 2, &sp);
    pbw_msg(&rs, 2, &ss);
    pbw_msg(&b, 1, &rs);
    check_round_trip(b.data, b.len, OPG_CODEC_TRACECOLS);
    opg_buf_release(&b);
}

/* ---- stored as 0x01 ---- */

static void falls_back(void **state)
{
    char junk[1000];
    uint64_t s = 3;
    struct opg_buf b = OPG_BUF_INIT;

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)rnd(&s);
    check_round_trip(junk, sizeof(junk), OPG_CODEC_ZSTD);
    check_round_trip("\x0a\x05\x12\x03", 4, OPG_CODEC_ZSTD); /* truncated */
    check_round_trip("\x0b\x0c", 2, OPG_CODEC_ZSTD);         /* a group */
    check_round_trip("\x0a\x02\x12\x05", 4, OPG_CODEC_ZSTD); /* a span past its parent's end */
    /* a well-formed body whose span holds a malformed attribute */
    pbw_bytes(&b, 1, "\x12\x06\x12\x04\x4a\x02\x0a\x05", 8);
    check_round_trip(b.data, b.len, OPG_CODEC_ZSTD);
    opg_buf_release(&b);
}

/* ---- corrupt payloads ---- */

static void refuses_corrupt(void **state)
{
    struct opg_codec *c = opg_codec_create(1);
    struct opg_tracecols *t = opg_tracecols_create();
    struct opg_buf body = OPG_BUF_INIT, enc = OPG_BUF_INIT, cols = OPG_BUF_INIT, dec = OPG_BUF_INIT;
    size_t refused = 0;

    loadgen_like(&body, 11, 30);
    assert_int_equal(opg_codec_encode_traces(c, body.data, body.len, &enc), 0);
    assert_int_equal((unsigned char)enc.data[0], OPG_CODEC_TRACECOLS);
    /* every truncation of the payload */
    for (size_t n = 0; n < enc.len; n++)
        assert_int_equal(opg_codec_decode(c, enc.data, n, MAX, &dec), -1);
    /* every truncation of the column-wise form itself */
    assert_int_equal(opg_tracecols_encode(t, body.data, body.len, &cols), 0);
    for (size_t n = 0; n < cols.len; n++)
        assert_int_equal(opg_tracecols_decode(t, cols.data, n, MAX, &dec), -1);
    /*
     * flipped bytes: no crash and a bounded result; a flip in an ID or a
     * string gives another valid message, one in the structure a refusal
     */
    for (size_t i = 0; i < cols.len; i++) {
        cols.data[i] ^= 0x5a;
        if (opg_tracecols_decode(t, cols.data, cols.len, MAX, &dec) < 0)
            refused++;
        else
            assert_true(dec.len <= MAX);
        cols.data[i] ^= 0x5a;
    }
    assert_true(refused > 0);
    for (size_t i = 1; i < enc.len; i++) {
        enc.data[i] ^= 0x01;
        if (opg_codec_decode(c, enc.data, enc.len, body.len, &dec) == 0)
            assert_true(dec.len <= body.len);
        enc.data[i] ^= 0x01;
    }
    /* a forged directory: more streams than bytes, lengths past the end */
    assert_int_equal(opg_tracecols_decode(t, "\x7f\x00\x00", 3, MAX, &dec), -1);
    assert_int_equal(opg_tracecols_decode(t, "\x04\x00\x00\x00\xff\x7f", 6, MAX, &dec), -1);
    /* it still works after all that */
    assert_int_equal(opg_tracecols_decode(t, cols.data, cols.len, MAX, &dec), 0);
    assert_int_equal(dec.len, body.len);
    assert_memory_equal(dec.data, body.data, body.len);
    opg_buf_release(&body);
    opg_buf_release(&enc);
    opg_buf_release(&cols);
    opg_buf_release(&dec);
    opg_tracecols_destroy(t);
    opg_codec_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loadgen_bodies),   cmocka_unit_test(smaller_than_zstd_alone),
        cmocka_unit_test(sdk_samples),      cmocka_unit_test(full_schema),
        cmocka_unit_test(empty_and_tiny),   cmocka_unit_test(unknown_and_odd_fields),
        cmocka_unit_test(overlong_varints), cmocka_unit_test(deep_nesting),
        cmocka_unit_test(attribute_shapes), cmocka_unit_test(deep_kvlists),
        cmocka_unit_test(falls_back),       cmocka_unit_test(refuses_corrupt),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
