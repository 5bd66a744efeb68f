/*
 * The column-wise form's encoder writes an attribute that repeats one met
 * before in the same message (the same bytes in the same KeyValue context)
 * from the first one's dictionary references. The same bytes in another
 * context (a resource's, a scope's, a span's, an event's, a link's or a
 * kvlist's attributes) go to other columns: each must come back byte for
 * byte, however they interleave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tracecols.h"
#include "../../pb_write.h"

/* A kvlist attribute holding the attribute k = v. */
static void w_kv_list(struct opg_buf *b, unsigned field, const char *k, const char *v)
{
    struct opg_buf kv = OPG_BUF_INIT, any = OPG_BUF_INIT, list = OPG_BUF_INIT;

    pbw_kv_str(&list, 1, k, v);
    pbw_str(&kv, 1, "list");
    pbw_msg(&any, 6, &list);
    pbw_msg(&kv, 2, &any);
    pbw_msg(b, field, &kv);
}

/* Encodes src[0..n) and decodes it back: the same bytes, and the same form twice. */
static void check(struct opg_tracecols *t, const struct opg_buf *src)
{
    struct opg_buf enc = OPG_BUF_INIT, enc2 = OPG_BUF_INIT, dec = OPG_BUF_INIT;

    assert_int_equal(opg_tracecols_encode(t, src->data, src->len, &enc), 0);
    assert_int_equal(opg_tracecols_decode(t, enc.data, enc.len, src->len, &dec), 0);
    assert_int_equal(dec.len, src->len);
    assert_memory_equal(dec.data, src->data, src->len);
    assert_int_equal(opg_tracecols_encode(t, src->data, src->len, &enc2), 0);
    assert_int_equal(enc2.len, enc.len);
    assert_memory_equal(enc2.data, enc.data, enc.len);
    opg_buf_release(&enc);
    opg_buf_release(&enc2);
    opg_buf_release(&dec);
}

/* The same attribute bytes in every context, interleaved with other values of the key. */
static void same_bytes_in_every_context(void **state)
{
    static const char *values[] = {"GET", "POST", "GET", "a-longer-value-than-32-bytes-of-text",
                                   "GET", ""};
    struct opg_tracecols *t = opg_tracecols_create();
    struct opg_buf b = OPG_BUF_INIT;

    (void)state;
    for (int r = 0; r < 3; r++) {
        struct opg_buf rs = OPG_BUF_INIT, res = OPG_BUF_INIT, ss = OPG_BUF_INIT;
        struct opg_buf scope = OPG_BUF_INIT;

        pbw_kv_str(&res, 1, "http.method", values[r]);
        pbw_kv_str(&res, 1, "service.name", "svc");
        pbw_msg(&rs, 1, &res);
        pbw_str(&scope, 1, "lib");
        pbw_kv_str(&scope, 3, "http.method", "GET");
        pbw_msg(&ss, 1, &scope);
        for (int i = 0; i < 40; i++) {
            struct opg_buf sp = OPG_BUF_INIT, ev = OPG_BUF_INIT, link = OPG_BUF_INIT;
            char id[17];

            snprintf(id, sizeof(id), "%016x", r * 1000 + i);
            pbw_bytes(&sp, 1, "0123456789abcdef", 16);
            pbw_bytes(&sp, 2, id, 8);
            pbw_str(&sp, 5, i % 2 ? "op" : "other op");
            pbw_kv_str(&sp, 9, "http.method", values[i % 6]);
            pbw_kv_str(&sp, 9, "service.name", "svc");
            pbw_kv_str(&sp, 9, "http.method", values[(i + 1) % 6]);
            w_kv_list(&sp, 9, "http.method", values[i % 3]);
            pbw_fixed64(&ev, 1, (uint64_t)i);
            pbw_str(&ev, 2, "event");
            pbw_kv_str(&ev, 3, "http.method", values[i % 6]);
            pbw_kv_str(&ev, 3, "service.name", "svc");
            pbw_msg(&sp, 11, &ev);
            pbw_bytes(&link, 1, "0123456789abcdef", 16);
            pbw_bytes(&link, 2, id, 8);
            pbw_kv_str(&link, 4, "http.method", values[(i + 2) % 6]);
            pbw_msg(&sp, 13, &link);
            pbw_msg(&ss, 2, &sp);
        }
        pbw_msg(&rs, 2, &ss);
        pbw_msg(&b, 1, &rs);
        check(t, &b);
    }
    opg_buf_release(&b);
    opg_tracecols_destroy(t);
}

/* One encoder for many messages: what one message remembered must not leak into the next. */
static void messages_one_after_another(void **state)
{
    struct opg_tracecols *t = opg_tracecols_create();

    (void)state;
    for (int m = 0; m < 50; m++) {
        struct opg_buf b = OPG_BUF_INIT, rs = OPG_BUF_INIT, ss = OPG_BUF_INIT;

        for (int i = 0; i < 5 + m % 7; i++) {
            struct opg_buf sp = OPG_BUF_INIT;
            char v[32];

            pbw_bytes(&sp, 1, "fedcba9876543210", 16);
            pbw_bytes(&sp, 2, "abcdefgh", 8);
            snprintf(v, sizeof(v), "value-%d", (m + i) % 4);
            pbw_kv_str(&sp, 9, m % 2 ? "k1" : "k2", v);
            pbw_kv_str(&sp, 9, "k3", v);
            pbw_msg(&ss, 2, &sp);
        }
        pbw_msg(&rs, 2, &ss);
        pbw_msg(&b, 1, &rs);
        check(t, &b);
        opg_buf_release(&b);
    }
    opg_tracecols_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_bytes_in_every_context),
        cmocka_unit_test(messages_one_after_another),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
