/* The payload codec: round trips, and refusal of anything it did not write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "codec.h"

static void round_trip(void **state)
{
    struct opg_codec *c = opg_codec_create(1);
    struct opg_buf enc = OPG_BUF_INIT, dec = OPG_BUF_INIT;
    char src[4096];

    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (char)(i % 7 == 0 ? '\0' : 'a' + i % 13); /* NULs must survive */
    assert_int_equal(opg_codec_encode(c, src, sizeof(src), &enc), 0);
    assert_int_equal((unsigned char)enc.data[0], OPG_CODEC_ZSTD);
    assert_true(enc.len < sizeof(src) / 4); /* it does compress */
    assert_int_equal(opg_codec_decode(c, enc.data, enc.len, 1 << 20, &dec), 0);
    assert_int_equal(dec.len, sizeof(src));
    assert_memory_equal(dec.data, src, sizeof(src));
    opg_buf_release(&enc);
    opg_buf_release(&dec);
    opg_codec_destroy(c);
}

static void empty_input(void **state)
{
    struct opg_codec *c = opg_codec_create(1);
    struct opg_buf enc = OPG_BUF_INIT, dec = OPG_BUF_INIT;

    assert_int_equal(opg_codec_encode(c, "", 0, &enc), 0);
    assert_int_equal(opg_codec_decode(c, enc.data, enc.len, 16, &dec), 0);
    assert_int_equal(dec.len, 0);
    opg_buf_release(&enc);
    opg_buf_release(&dec);
    opg_codec_destroy(c);
}

static void refuses_bad_payloads(void **state)
{
    struct opg_codec *c = opg_codec_create(1);
    struct opg_buf enc = OPG_BUF_INIT, dec = OPG_BUF_INIT;
    char src[1000];

    memset(src, 'x', sizeof(src));
    assert_int_equal(opg_codec_encode(c, src, sizeof(src), &enc), 0);
    /* over the caller's size bound */
    assert_int_equal(opg_codec_decode(c, enc.data, enc.len, 999, &dec), -1);
    /* unknown format byte */
    enc.data[0] = 0x7f;
    assert_int_equal(opg_codec_decode(c, enc.data, enc.len, 1 << 20, &dec), -1);
    enc.data[0] = OPG_CODEC_ZSTD;
    /* truncated frame */
    assert_int_equal(opg_codec_decode(c, enc.data, enc.len - 3, 1 << 20, &dec), -1);
    /* empty and garbage */
    assert_int_equal(opg_codec_decode(c, "", 0, 1 << 20, &dec), -1);
    assert_int_equal(opg_codec_decode(c, "\x01garbage", 8, 1 << 20, &dec), -1);
    opg_buf_release(&enc);
    opg_buf_release(&dec);
    opg_codec_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(empty_input),
        cmocka_unit_test(refuses_bad_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
