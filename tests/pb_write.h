/*
 * A protobuf wire writer for tests: the messages protobuf-c would not write
 * (unknown fields, odd orders, overlong or truncated encodings) are built
 * by hand with these.
 */
#ifndef OPG_TESTS_PB_WRITE_H
#define OPG_TESTS_PB_WRITE_H

#include <stdint.h>
#include <string.h>

#include "buf.h"

static inline void pbw_varint(struct opg_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        opg_buf_addch(b, (char)(v | 0x80));
        v >>= 7;
    }
    opg_buf_addch(b, (char)v);
}

static inline void pbw_tag(struct opg_buf *b, unsigned field, unsigned wt)
{
    pbw_varint(b, (uint64_t)field << 3 | wt);
}

static inline void pbw_bytes(struct opg_buf *b, unsigned field, const void *p, size_t n)
{
    pbw_tag(b, field, 2);
    pbw_varint(b, n);
    opg_buf_add(b, p, n);
}

static inline void pbw_str(struct opg_buf *b, unsigned field, const char *s)
{
    pbw_bytes(b, field, s, strlen(s));
}

/* Writes child as field's submessage and releases it. */
static inline void pbw_msg(struct opg_buf *b, unsigned field, struct opg_buf *child)
{
    pbw_bytes(b, field, child->data, child->len);
    opg_buf_release(child);
}

/* Little endian, whatever the host. */
static inline void pbw_fixed(struct opg_buf *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        opg_buf_addch(b, (char)(v >> (8 * i)));
}

static inline void pbw_fixed64(struct opg_buf *b, unsigned field, uint64_t v)
{
    pbw_tag(b, field, 1);
    pbw_fixed(b, v, 8);
}

/* A KeyValue of a string value (key, then AnyValue.string_value) as field `field`. */
static inline void pbw_kv_str(struct opg_buf *b, unsigned field, const char *k, const char *v)
{
    struct opg_buf kv = OPG_BUF_INIT, any = OPG_BUF_INIT;

    pbw_str(&any, 1, v);
    pbw_str(&kv, 1, k);
    pbw_msg(&kv, 2, &any);
    pbw_msg(b, field, &kv);
}

#endif
