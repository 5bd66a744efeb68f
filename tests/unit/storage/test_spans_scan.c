/*
 * The traces fast path (common/otlp_scan.c + opg_spans_encode_scan) against
 * the full path (opg_pb_check_wire + protobuf-c's unpack + opg_spans_encode):
 * whatever body the fast path takes, the full path takes too and makes the
 * same rows, byte for byte (tests/scan_diff.h). Bodies: the SDK sample,
 * bodies of bench/loadgen (tests/data/loadgen_*.pb, and every file of
 * $OPG_SCAN_BODIES when set), generated requests of every shape, odd
 * encodings, and random mutations of all of these.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../pb_write.h"
#include "../../scan_diff.h"
#include "buf.h"

static const char *const corr_keys[] = {"correlation.id", "order.id", "request.id"};
static const struct opg_ingest_opts window = {
    .now_ns = 1795280642000000000LL, /* the samples' day */
    .accept_past_ns = 7 * OPG_NS_PER_DAY,
    .accept_future_ns = OPG_NS_PER_DAY,
    .corr_keys = corr_keys,
    .n_corr_keys = 3,
    .max_corr_len = 256,
};
/* the collector's defaults (collector/decode.c, collector/main.c) */
static struct opg_scan_limits limits_for(size_t len)
{
    struct opg_scan_limits l = {8 + 2 * 32, 1024, 4u << 20, 16 * len + (1u << 20)};
    return l;
}

static struct opg_codec *codec;
static size_t n_same, n_declined;

static enum scan_diff_result check_with(const uint8_t *body, size_t len,
                                        const struct opg_scan_limits *lim)
{
    char why[256];
    enum scan_diff_result r = scan_diff(body, len, lim, &window, codec, why, sizeof(why));

    if (r == SCAN_DIFF_MISMATCH) {
        FILE *f = fopen("scan_diff_mismatch.pb", "wb");
        if (f) {
            fwrite(body, 1, len, f);
            fclose(f);
        }
        fail_msg("fast and full paths differ (body in scan_diff_mismatch.pb): %s", why);
    }
    if (r == SCAN_DIFF_SAME)
        n_same++;
    else
        n_declined++;
    return r;
}

static enum scan_diff_result check(const uint8_t *body, size_t len)
{
    if (!body) /* an empty opg_buf: as the collector passes an empty body */
        body = (const uint8_t *)"";
    struct opg_scan_limits lim = limits_for(len);
    return check_with(body, len, &lim);
}

/* ---- a protobuf writer that can write anything ------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static void put_u64(struct opg_buf *b, unsigned num, unsigned wt, uint64_t v)
{
    pbw_tag(b, num, wt);
    if (wt == 0)
        pbw_varint(b, v);
    else
        pbw_fixed(b, v, wt == 1 ? 8 : 4);
}

/* odd: how often (in 1000) to write something unusual */
static unsigned odd;

static bool oddly(void)
{
    return below(1000) < odd;
}

static void put_unknown(struct opg_buf *b)
{
    unsigned num = 17 + below(2000);

    switch (below(4)) {
    case 0:
        put_u64(b, num, 0, rnd());
        break;
    case 1:
        put_u64(b, num, 1, rnd());
        break;
    case 2:
        put_u64(b, num, 5, rnd());
        break;
    default:
        pbw_str(b, num, "unknown field");
    }
}

static void gen_any(struct opg_buf *b, int depth);

static const char *const keys[] = {
    "service.name", "correlation.id", "order.id", "request.id", "http.method",
    "http.route",   "user.id",        "",         "corr",       "order.idx",
};

static void gen_kv(struct opg_buf *b, int depth, bool want_service)
{
    struct opg_buf v = OPG_BUF_INIT;

    if (oddly()) {
        /* a key with a NUL inside: protobuf-c's char * ends there */
        static const char nul_key[] = "correlation.id\0tail";
        static const char nul_svc[] = "service.name\0x";
        if (below(2))
            pbw_bytes(b, 1, nul_key, sizeof(nul_key) - 1);
        else
            pbw_bytes(b, 1, nul_svc, sizeof(nul_svc) - 1);
    } else if (want_service) {
        pbw_str(b, 1, "service.name");
    } else if (!oddly()) {
        pbw_str(b, 1, keys[below(sizeof(keys) / sizeof(keys[0]))]);
    }
    if (oddly())
        put_unknown(b);
    if (!oddly()) {
        gen_any(&v, depth + 1);
        pbw_msg(b, 2, &v);
    }
    if (oddly()) { /* the value twice: merged by protobuf-c */
        gen_any(&v, depth + 1);
        pbw_msg(b, 2, &v);
    }
    if (oddly())
        pbw_str(b, 1, "order.id"); /* the key twice: the last wins */
}

static void gen_any(struct opg_buf *b, int depth)
{
    struct opg_buf c = OPG_BUF_INIT;
    static const char *const values[] = {"ord-1",
                                         "ord-2",
                                         "",
                                         "GET",
                                         "frontend",
                                         "checkout",
                                         "a very long correlation value that goes on and on "
                                         "and on and on and on and on and on and on and on and "
                                         "on and on and on and on and on and on and on and on "
                                         "and on and on and on and on and on and on and on!!"};
    unsigned members = oddly() ? 2 : 1;

    for (unsigned m = 0; m < members; m++) {
        switch (below(depth > 6 ? 6 : 9)) {
        case 0:
        case 1:
        case 2:
            pbw_str(b, 1, values[below(sizeof(values) / sizeof(values[0]))]);
            break;
        case 3:
            put_u64(b, 3, 0, below(4) ? below(100000) : rnd());
            break;
        case 4:
            put_u64(b, 2, oddly() ? 2 : 0, below(2));
            break;
        case 5:
            if (below(2)) {
                put_u64(b, 4, 1, rnd());
            } else {
                static const uint8_t bytes[] = {0, 1, 2, 0xff};
                pbw_bytes(b, 7, bytes, sizeof(bytes));
            }
            break;
        case 6:
        case 7: {
            unsigned n = below(4);
            for (unsigned i = 0; i < n; i++) {
                struct opg_buf v = OPG_BUF_INIT;
                gen_any(&v, depth + 2);
                pbw_msg(&c, 1, &v);
            }
            pbw_msg(b, 5, &c);
            break;
        }
        default: {
            unsigned n = below(4);
            for (unsigned i = 0; i < n; i++) {
                struct opg_buf v = OPG_BUF_INIT;
                gen_kv(&v, depth + 2, false);
                pbw_msg(&c, 1, &v);
            }
            pbw_msg(b, 6, &c);
        }
        }
    }
    if (oddly())
        put_unknown(b);
}

static void gen_attrs(struct opg_buf *b, unsigned num, unsigned max, int depth)
{
    unsigned n = below(max + 1);

    for (unsigned i = 0; i < n; i++) {
        struct opg_buf kv = OPG_BUF_INIT;
        gen_kv(&kv, depth + 1, false);
        pbw_msg(b, num, &kv);
    }
}

static uint8_t trace_ids[6][16];
/* how many days apart the spans may start (0: all on the window's day) */
static unsigned day_spread;

static void gen_id(struct opg_buf *b, unsigned num, const uint8_t *id, size_t len)
{
    static const uint8_t zeros[16];

    if (oddly()) {
        switch (below(3)) {
        case 0:
            pbw_bytes(b, num, zeros, len);
            return;
        case 1:
            pbw_bytes(b, num, id, len - 1);
            return;
        default:
            return; /* absent */
        }
    }
    pbw_bytes(b, num, id, len);
}

static void gen_span(struct opg_buf *b)
{
    static const char *const names[] = {"GET /orders/{id}", "SELECT orders", "",
                                        "publish",          "consume",       "checkout"};
    const uint8_t *tid = trace_ids[below(6)];
    uint8_t sid[8], pid[8];
    uint64_t start = (uint64_t)window.now_ns - rnd() % 3600000000000ULL;
    unsigned order = below(2);

    for (int i = 0; i < 8; i++) {
        sid[i] = (uint8_t)rnd();
        pid[i] = (uint8_t)rnd();
    }
    sid[0] |= 1;
    if (day_spread)
        start += (uint64_t)below(day_spread + 1) * (uint64_t)OPG_NS_PER_DAY;
    if (oddly())
        start = below(2) ? UINT64_MAX - below(5) : 0;
    if (order)
        put_u64(b, 7, 1, start);
    gen_id(b, 1, tid, 16);
    gen_id(b, 2, sid, 8);
    if (below(3))
        pbw_bytes(b, 4, pid, oddly() ? 3 : 8);
    if (!oddly()) {
        if (oddly()) {
            static const char nul_name[] = "GET\0hidden";
            pbw_bytes(b, 5, nul_name, sizeof(nul_name) - 1);
        } else {
            pbw_str(b, 5, names[below(sizeof(names) / sizeof(names[0]))]);
        }
    }
    if (below(4))
        put_u64(b, 6, 0, oddly() ? (below(2) ? (uint64_t)-1 : 70000 + rnd() % 100) : below(6));
    if (!order)
        put_u64(b, 7, 1, start);
    put_u64(b, 8, 1, oddly() ? start - 5 : start + rnd() % 2000000000ULL);
    gen_attrs(b, 9, 12, 3);
    if (below(3)) {
        unsigned n = below(3);
        for (unsigned i = 0; i < n; i++) {
            struct opg_buf e = OPG_BUF_INIT;
            put_u64(&e, 1, 1, start + 10);
            pbw_str(&e, 2, "exception");
            gen_attrs(&e, 3, 3, 4);
            put_u64(&e, 4, 0, below(3));
            pbw_msg(b, 11, &e);
        }
    }
    if (below(4) == 0) {
        struct opg_buf l = OPG_BUF_INIT;
        pbw_bytes(&l, 1, trace_ids[below(6)], 16);
        pbw_bytes(&l, 2, sid, 8);
        pbw_str(&l, 3, "k=v");
        gen_attrs(&l, 4, 2, 4);
        put_u64(&l, 6, 5, 257);
        pbw_msg(b, 13, &l);
    }
    if (below(2)) {
        struct opg_buf st = OPG_BUF_INIT;
        if (below(2))
            pbw_str(&st, 2, "db call failed");
        put_u64(&st, 3, 0, oddly() ? 7 : below(3));
        pbw_msg(b, 15, &st);
        if (oddly()) { /* the status twice: merged by protobuf-c */
            put_u64(&st, 3, 0, 2);
            pbw_msg(b, 15, &st);
        }
    }
    if (below(2))
        put_u64(b, 16, 5, 257);
    if (below(4) == 0) {
        put_u64(b, 10, 0, 1);
        put_u64(b, 12, 0, 2);
        put_u64(b, 14, 0, 3);
        pbw_str(b, 3, "vendor=1");
    }
    if (oddly())
        put_unknown(b);
    if (oddly())
        put_u64(b, 6, 0, 3); /* kind twice */
    if (oddly())
        put_u64(b, 6, 2, 1); /* a known field, the wrong wire type */
}

static void gen_request(struct opg_buf *b, unsigned max_rs, unsigned max_spans)
{
    unsigned n_rs = below(max_rs + 1);

    for (unsigned r = 0; r < n_rs; r++) {
        struct opg_buf rs = OPG_BUF_INIT, res = OPG_BUF_INIT;
        unsigned n_ss = below(3) + (below(8) == 0 ? 0 : 1);

        if (below(8)) {
            struct opg_buf kv = OPG_BUF_INIT;
            if (below(4) == 0) { /* not a string first: the next one counts */
                pbw_str(&kv, 1, "service.name");
                struct opg_buf v = OPG_BUF_INIT;
                put_u64(&v, 3, 0, 42);
                pbw_msg(&kv, 2, &v);
                pbw_msg(&res, 1, &kv);
            }
            gen_attrs(&res, 1, 3, 2);
            pbw_str(&kv, 1, "service.name");
            {
                struct opg_buf v = OPG_BUF_INIT;
                static const char *const svcs[] = {"frontend", "orders", "", "payment"};
                pbw_str(&v, 1, svcs[below(4)]);
                pbw_msg(&kv, 2, &v);
            }
            pbw_msg(&res, 1, &kv);
            gen_attrs(&res, 1, 3, 2);
            if (below(4) == 0)
                put_u64(&res, 2, 0, 1);
            if (oddly()) {
                struct opg_buf e = OPG_BUF_INIT;
                pbw_str(&e, 1, "https://schema");
                pbw_str(&e, 2, "service");
                pbw_str(&e, 3, "service.name");
                pbw_str(&e, 3, "service.namespace");
                pbw_msg(&res, 3, &e);
            }
        }
        if (below(2))
            pbw_str(&rs, 3, "https://opentelemetry.io/schemas/1.24.0");
        for (unsigned s = 0; s < n_ss; s++) {
            struct opg_buf ss = OPG_BUF_INIT;
            unsigned n = below(max_spans + 1);
            if (below(2)) {
                struct opg_buf sc = OPG_BUF_INIT;
                pbw_str(&sc, 1, "otel.js");
                pbw_str(&sc, 2, "1.0");
                gen_attrs(&sc, 3, 2, 3);
                pbw_msg(&ss, 1, &sc);
            }
            for (unsigned i = 0; i < n; i++) {
                struct opg_buf sp = OPG_BUF_INIT;
                gen_span(&sp);
                pbw_msg(&ss, 2, &sp);
            }
            if (oddly())
                put_unknown(&ss);
            pbw_msg(&rs, 2, &ss);
        }
        /* the resource before or after its spans: both are valid */
        if (res.len || below(2))
            pbw_msg(&rs, 1, &res);
        opg_buf_release(&res);
        if (oddly())
            put_unknown(&rs);
        pbw_msg(b, 1, &rs);
    }
    if (oddly())
        put_unknown(b);
}

static void mutate_and_check(const uint8_t *body, size_t len, unsigned times)
{
    uint8_t *m;

    if (!len)
        return;
    m = malloc(len + 16);
    for (unsigned t = 0; t < times; t++) {
        size_t n = len;
        memcpy(m, body, len);
        for (unsigned k = 1 + below(3); k-- && n;) {
            size_t at = below((unsigned)n);
            switch (below(4)) {
            case 0:
                m[at] ^= (uint8_t)(1u << below(8));
                break;
            case 1:
                m[at] = (uint8_t)rnd();
                break;
            case 2:
                n = at;
                break;
            default:
                m[at] = below(2) ? 0x80 : 0x00;
            }
        }
        check(m, n);
    }
    free(m);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

/* ---- the tests ---------------------------------------------------------------- */

static void test_sdk_sample(void **state)
{
    size_t len;
    uint8_t *body = read_file(OPG_SAMPLES_DIR "/proto/001_v1_traces.pb", &len);

    assert_non_null(body);
    assert_int_equal(check(body, len), SCAN_DIFF_SAME);
    mutate_and_check(body, len, 3000);
    free(body);
}

/* Rows of stream s the fast path makes of body (which it must take). */
/* Rows (or, with bytes, encoded bytes) of stream s made by the fast path,
 * looking for the first n_keys correlation keys. */
static size_t fast_stream(const uint8_t *body, size_t len, enum opg_stream s, size_t n_keys,
                          bool bytes)
{
    struct opg_scan_limits lim = limits_for(len);
    struct opg_trace_scan scan = {0};
    struct opg_arena *arena = opg_arena_create(0);
    struct opg_ingest_opts raw = window;
    struct opg_batch b;
    size_t n;

    opg_batch_init(&b, OPG_SIGNAL_TRACES);
    raw.raw_body = body;
    raw.raw_len = len;
    raw.n_corr_keys = n_keys;
    assert_int_equal(opg_trace_scan_read(&scan, body, len, &lim, corr_keys, n_keys, arena), 0);
    assert_int_equal(opg_spans_encode_scan(&b, &scan, codec, &raw), 0);
    n = bytes ? b.rows[s].len : b.n_rows[s];
    opg_batch_release(&b);
    opg_trace_scan_release(&scan);
    opg_arena_destroy(arena);
    return n;
}

static size_t fast_rows(const uint8_t *body, size_t len, enum opg_stream s)
{
    return fast_stream(body, len, s, 3, false);
}

static void test_loadgen_bodies(void **state)
{
    static const char *const files[] = {"loadgen_realistic.pb", "loadgen_random.pb"};
    const char *dir = getenv("OPG_SCAN_BODIES");
    char path[4096];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        uint8_t *body;

        snprintf(path, sizeof(path), "%s/%s", OPG_TEST_DATA_DIR, files[i]);
        body = read_file(path, &len);
        assert_non_null(body);
        assert_int_equal(check(body, len), SCAN_DIFF_SAME);
        /* what the comparison covers: blocks, parts, RED, correlations */
        assert_int_equal(fast_rows(body, len, OPG_STREAM_BLOCKS), 1);
        assert_true(fast_rows(body, len, OPG_STREAM_PARTS) > 0);
        assert_true(fast_rows(body, len, OPG_STREAM_RED) > 0);
        /* a trace's one correlation ID is its parts' corr_hash (8 bytes, not a NULL) */
        assert_true(fast_stream(body, len, OPG_STREAM_PARTS, 3, true) >
                    fast_stream(body, len, OPG_STREAM_PARTS, 0, true));
        mutate_and_check(body, len, 300);
        free(body);
    }
    if (dir) {
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;

        assert_non_null(d);
        while ((e = readdir(d))) {
            size_t len;
            uint8_t *body;

            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            body = read_file(path, &len);
            assert_non_null(body);
            assert_int_equal(check(body, len), SCAN_DIFF_SAME);
            free(body);
            n++;
        }
        closedir(d);
        print_message("%zu bodies of %s: same rows\n", n, dir);
    }
}

/* Well-formed requests of one day and valid IDs: the fast path takes every one. */
static void test_generated_clean(void **state)
{
    odd = 0;
    day_spread = 0;
    for (int i = 0; i < 3000; i++) {
        struct opg_buf b = OPG_BUF_INIT;
        gen_request(&b, 4, 12);
        assert_int_equal(check((const uint8_t *)b.data, b.len), SCAN_DIFF_SAME);
        opg_buf_release(&b);
    }
}

/* Odd encodings, invalid IDs, several days: whatever the fast path takes is right. */
static void test_generated_odd(void **state)
{
    size_t same = n_same, declined = n_declined;

    for (int i = 0; i < 6000; i++) {
        struct opg_buf b = OPG_BUF_INIT;
        odd = (unsigned)(i % 4) * 20;
        day_spread = i % 7 == 0 ? 3 : 0;
        gen_request(&b, 4, 8);
        check((const uint8_t *)b.data, b.len);
        if (i % 10 == 0)
            mutate_and_check((const uint8_t *)b.data, b.len, 5);
        opg_buf_release(&b);
    }
    print_message("odd bodies: %zu taken by the fast path, %zu declined\n", n_same - same,
                  n_declined - declined);
    /* both outcomes must occur, or this test shows nothing */
    assert_true(n_same - same > 1000);
    assert_true(n_declined - declined > 1000);
}

/* Tight limits: a body over one is declined, and the full path refuses it. */
static void test_limits(void **state)
{
    odd = 0;
    day_spread = 0;
    for (int i = 0; i < 2000; i++) {
        struct opg_buf b = OPG_BUF_INIT;
        struct opg_scan_limits lim;

        gen_request(&b, 3, 6);
        lim = limits_for(b.len);
        switch (i % 4) {
        case 0:
            lim.max_attrs = below(6);
            break;
        case 1:
            lim.max_len = below(40);
            break;
        case 2:
            lim.max_depth = (int)below(12);
            break;
        default:
            lim.max_memory = b.len * below(12);
        }
        check_with((const uint8_t *)(b.data ? b.data : ""), b.len, &lim);
        opg_buf_release(&b);
    }
}

static void test_special_cases(void **state)
{
    struct opg_buf b = OPG_BUF_INIT;
    static const uint8_t group[] = {0x0b, 0x0c}; /* a group: protobuf-c refuses it */
    static const uint8_t long_tag[] = {0xf8, 0xff, 0xff, 0xff, 0x7f, 0x00};
    static const uint8_t truncated[] = {0x0a, 0x05, 0x12};

    /* empty bodies: nothing at all */
    assert_int_equal(check((const uint8_t *)"", 0), SCAN_DIFF_SAME);
    pbw_bytes(&b, 1, "", 0);
    assert_int_equal(check((const uint8_t *)b.data, b.len), SCAN_DIFF_SAME);
    opg_buf_release(&b);
    assert_int_equal(check(group, sizeof(group)), SCAN_DIFF_DECLINED);
    assert_int_equal(check(truncated, sizeof(truncated)), SCAN_DIFF_DECLINED);
    check(long_tag, sizeof(long_tag));

    /* more spans than a block holds, and more services than a block names */
    odd = 0;
    day_spread = 0;
    {
        struct opg_buf ss = OPG_BUF_INIT, rs = OPG_BUF_INIT;
        for (int i = 0; i < OPG_BLOCK_MAX_SPANS + 1; i++) {
            struct opg_buf sp = OPG_BUF_INIT;
            gen_span(&sp);
            pbw_msg(&ss, 2, &sp);
        }
        pbw_msg(&rs, 2, &ss);
        pbw_msg(&b, 1, &rs);
        assert_int_equal(check((const uint8_t *)b.data, b.len), SCAN_DIFF_DECLINED);
        opg_buf_release(&b);
    }
    for (int i = 0; i < 65; i++) {
        struct opg_buf ss = OPG_BUF_INIT, rs = OPG_BUF_INIT, sp = OPG_BUF_INIT;
        gen_span(&sp);
        pbw_msg(&ss, 2, &sp);
        pbw_msg(&rs, 2, &ss);
        pbw_msg(&b, 1, &rs);
    }
    assert_int_equal(check((const uint8_t *)b.data, b.len), SCAN_DIFF_DECLINED);
    opg_buf_release(&b);
}

static int setup(void **state)
{
    codec = opg_codec_create(1);
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 16; k++)
            trace_ids[i][k] = (uint8_t)(rnd() | 1);
    return 0;
}

static int teardown(void **state)
{
    opg_codec_destroy(codec);
    print_message("in all: %zu bodies taken by the fast path, %zu declined\n", n_same, n_declined);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdk_sample),      cmocka_unit_test(test_loadgen_bodies),
        cmocka_unit_test(test_generated_clean), cmocka_unit_test(test_generated_odd),
        cmocka_unit_test(test_limits),          cmocka_unit_test(test_special_cases),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
