/*
 * Span blocks compressed with dictionaries (format 0x03, storage/dicts.h):
 * the first block of a process makes the first dictionary, later blocks
 * use it and get smaller, a block comes back byte for byte only with its
 * own dictionary, and a batch carries a dictionary's row until it is known
 * to be committed. (That a reader in another process loads it from
 * block_dicts is tested end to end: tests/e2e/restart.test.mjs.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "codec.h"
#include "dicts.h"
#include "../../pb_write.h"

#define MAX (1u << 24)

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ z >> 27) * 0x94d049bb133111ebull;
    return z ^ z >> 31;
}

/* A TracesData of n spans with the strings real traffic repeats from block to block. */
static void body(struct opg_buf *out, uint64_t seed, int n)
{
    static const char *routes[] = {"/api/v1/orders/{orderId}", "/api/v1/products/{productId}",
                                   "/api/v1/users/{userId}/cart", "/api/v1/checkout"};
    struct opg_buf rs = OPG_BUF_INIT, res = OPG_BUF_INIT, ss = OPG_BUF_INIT;
    struct opg_buf svc = OPG_BUF_INIT, any = OPG_BUF_INIT;
    char v[64];

    pbw_str(&svc, 1, "service.name");
    pbw_str(&any, 1, "checkout-service");
    pbw_msg(&svc, 2, &any);
    pbw_msg(&res, 1, &svc);
    pbw_msg(&rs, 1, &res);
    for (int i = 0; i < n; i++) {
        struct opg_buf sp = OPG_BUF_INIT;
        uint64_t r = next(&seed), id = next(&seed);

        pbw_bytes(&sp, 1, &r, 8);
        pbw_bytes(&sp, 2, &id, 8);
        pbw_str(&sp, 5, routes[r % 4]);
        pbw_fixed64(&sp, 7, 1700000000000000000ull + (uint64_t)i * 1000);
        pbw_fixed64(&sp, 8, 1700000000000000000ull + (uint64_t)i * 1000 + r % 100000);
        pbw_kv_str(&sp, 9, "http.route", routes[r % 4]);
        pbw_kv_str(&sp, 9, "server.address",
                   (r & 8) ? "orders.prod.svc.cluster.local" : "api.example.com");
        snprintf(v, sizeof(v), "/api/v1/orders/%llu", (unsigned long long)(r % 100000));
        pbw_kv_str(&sp, 9, "url.path", v);
        pbw_kv_str(&sp, 9, "k8s.pod.name",
                   (r & 16) ? "checkout-7f9c6d5b8-x2k4q" : "checkout-7f9c6d5b8-h8m2z");
        pbw_msg(&ss, 2, &sp);
    }
    pbw_msg(&rs, 2, &ss);
    pbw_msg(out, 1, &rs);
}

static uint64_t dict_of(const struct opg_buf *payload)
{
    uint64_t id = 0;

    for (int i = 8; i >= 1; i--)
        id = id << 8 | (uint8_t)payload->data[i];
    return id;
}

static void smaller_with_a_dictionary(void **state)
{
    struct opg_codec *enc = opg_codec_create(1), *plain = opg_codec_create(1);
    struct opg_codec *dec = opg_codec_create(1);
    struct opg_buf b = OPG_BUF_INIT, first = OPG_BUF_INIT, p = OPG_BUF_INIT, p2 = OPG_BUF_INIT;
    struct opg_buf out = OPG_BUF_INIT;

    opg_dicts_reset();
    opg_codec_use_dicts(enc, true, -1); /* the collector's default */
    body(&b, 1, 100);
    assert_int_equal(opg_codec_encode_traces(enc, b.data, b.len, &first), 0);
    assert_int_equal((uint8_t)first.data[0], OPG_CODEC_TRACECOLS_DICT);
    assert_int_equal(dict_of(&first), 0); /* none yet: this block makes the first */
    assert_null(opg_codec_last_dict(enc));
    assert_int_equal(opg_codec_decode(dec, first.data, first.len, MAX, &out), 0);
    assert_int_equal(out.len, b.len);
    assert_memory_equal(out.data, b.data, b.len);

    opg_buf_reset(&b);
    body(&b, 2, 100);
    assert_int_equal(opg_codec_encode_traces(enc, b.data, b.len, &p), 0);
    assert_non_null(opg_codec_last_dict(enc));
    assert_int_equal(dict_of(&p), opg_dict_id(opg_codec_last_dict(enc)));
    assert_int_equal(opg_codec_encode_traces(plain, b.data, b.len, &p2), 0);
    assert_int_equal((uint8_t)p2.data[0], OPG_CODEC_TRACECOLS);
    /* the header costs 16 bytes; the dictionary saves more (random IDs are most of this body) */
    assert_true(p.len * 100 < p2.len * 95);
    assert_int_equal(opg_codec_decode(dec, p.data, p.len, MAX, &out), 0);
    assert_int_equal(out.len, b.len);
    assert_memory_equal(out.data, b.data, b.len);

    /* the check: a payload decoded with the wrong contents is refused */
    p.data[10] ^= 1;
    assert_int_equal(opg_codec_decode(dec, p.data, p.len, MAX, &out), -1);
    p.data[10] ^= 1;
    /* an unknown dictionary, and no database to load it from */
    p.data[1] ^= 1;
    assert_int_equal(opg_codec_decode(dec, p.data, p.len, MAX, &out), -1);
    p.data[1] ^= 1;
    /* bound, and truncation */
    assert_int_equal(opg_codec_decode(dec, p.data, p.len, b.len - 1, &out), -1);
    for (size_t n = 0; n < p.len; n += 97)
        assert_int_equal(opg_codec_decode(dec, p.data, n, MAX, &out), -1);

    opg_codec_destroy(enc);
    opg_codec_destroy(plain);
    opg_codec_destroy(dec);
    opg_buf_release(&b);
    opg_buf_release(&first);
    opg_buf_release(&p);
    opg_buf_release(&p2);
    opg_buf_release(&out);
}

/* Dictionaries made of samples replace the first one; old blocks still decode. */
static void samples_make_the_next(void **state)
{
    struct opg_codec *enc = opg_codec_create(1), *dec = opg_codec_create(1);
    struct opg_buf b = OPG_BUF_INIT, first = OPG_BUF_INIT, p = OPG_BUF_INIT, out = OPG_BUF_INIT;
    uint64_t first_dict = 0, last_dict = 0;

    opg_dicts_reset();
    opg_codec_use_dicts(enc, true, 1);
    /* one block in 64 is a sample; 64 KB of them make the next dictionary */
    for (uint64_t seed = 1; seed <= 20000 && (seed < 3 || last_dict == first_dict); seed++) {
        opg_buf_reset(&b);
        opg_buf_reset(&p);
        body(&b, seed, 20);
        assert_int_equal(opg_codec_encode_traces(enc, b.data, b.len, &p), 0);
        if (seed == 2) {
            first_dict = dict_of(&p);
            opg_buf_add(&first, p.data, p.len);
        }
        last_dict = dict_of(&p);
    }
    assert_true(first_dict != 0);
    assert_true(last_dict != 0 && last_dict != first_dict);
    opg_codec_destroy(enc); /* the first dictionary is still known to the process */
    opg_buf_reset(&b);
    body(&b, 2, 20);
    assert_int_equal(opg_codec_decode(dec, first.data, first.len, MAX, &out), 0);
    assert_int_equal(out.len, b.len);
    assert_memory_equal(out.data, b.data, b.len);
    opg_codec_destroy(dec);
    opg_buf_release(&b);
    opg_buf_release(&first);
    opg_buf_release(&p);
    opg_buf_release(&out);
}

static void batches_carry_the_row_until_committed(void **state)
{
    struct opg_codec *enc = opg_codec_create(1);
    struct opg_buf b = OPG_BUF_INIT, p = OPG_BUF_INIT;
    struct opg_batch one, two, three;
    const struct opg_dict *d;

    opg_dicts_reset();
    opg_codec_use_dicts(enc, true, 1);
    body(&b, 1, 100);
    assert_int_equal(opg_codec_encode_traces(enc, b.data, b.len, &p), 0);
    assert_int_equal(opg_codec_encode_traces(enc, b.data, b.len, &p), 0);
    d = opg_codec_last_dict(enc);
    assert_non_null(d);

    opg_batch_init(&one, OPG_SIGNAL_TRACES);
    opg_batch_add_dict(&one, d);
    opg_batch_add_dict(&one, d); /* once per batch */
    assert_int_equal(one.n_rows[OPG_STREAM_DICTS], 1);
    opg_batch_init(&two, OPG_SIGNAL_TRACES);
    opg_batch_add_dict(&two, d); /* not committed yet: every batch has it */
    assert_int_equal(two.n_rows[OPG_STREAM_DICTS], 1);

    opg_dicts_committed(&one);
    opg_batch_init(&three, OPG_SIGNAL_TRACES);
    opg_batch_add_dict(&three, d);
    assert_int_equal(three.n_rows[OPG_STREAM_DICTS], 0);

    opg_batch_release(&one);
    opg_batch_release(&two);
    opg_batch_release(&three);
    opg_codec_destroy(enc);
    opg_buf_release(&b);
    opg_buf_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smaller_with_a_dictionary),
        cmocka_unit_test(samples_make_the_next),
        cmocka_unit_test(batches_carry_the_row_until_committed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
