#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die_oom(size_t n)
{
    fprintf(stderr, "otelpg: out of memory allocating %zu bytes\n", n);
    abort();
}

void *opg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die_oom(n);
    return p;
}

void *opg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die_oom(n * size);
    return p;
}

void *opg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die_oom(n);
    return q;
}

char *opg_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = opg_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

void opg_buf_init(struct opg_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void opg_buf_release(struct opg_buf *b)
{
    free(b->data);
    opg_buf_init(b);
}

void opg_buf_grow(struct opg_buf *b, size_t n)
{
    size_t need = b->len + n + 1;
    size_t cap;

    if (need <= b->cap)
        return;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap < (SIZE_MAX / 2) ? cap * 2 : need;
    b->data = opg_xrealloc(b->data, cap);
    b->cap = cap;
}

void opg_buf_reset(struct opg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void opg_buf_add(struct opg_buf *b, const void *p, size_t n)
{
    opg_buf_grow(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void opg_buf_addstr(struct opg_buf *b, const char *s)
{
    opg_buf_add(b, s, strlen(s));
}

void opg_buf_addch(struct opg_buf *b, char c)
{
    opg_buf_grow(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void opg_buf_vaddf(struct opg_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    opg_buf_grow(b, 64);
    va_copy(cp, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        opg_buf_grow(b, (size_t)n);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void opg_buf_addf(struct opg_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    opg_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

void opg_buf_add_be16(struct opg_buf *b, uint16_t v)
{
    unsigned char p[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    opg_buf_add(b, p, 2);
}

void opg_buf_add_be32(struct opg_buf *b, uint32_t v)
{
    unsigned char p[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    opg_buf_add(b, p, 4);
}

void opg_buf_add_be64(struct opg_buf *b, uint64_t v)
{
    opg_buf_add_be32(b, (uint32_t)(v >> 32));
    opg_buf_add_be32(b, (uint32_t)v);
}

char *opg_buf_detach(struct opg_buf *b, size_t *len)
{
    char *p;

    if (!b->data)
        opg_buf_grow(b, 0);
    p = b->data;
    if (len)
        *len = b->len;
    opg_buf_init(b);
    return p;
}

void opg_buf_add_double(struct opg_buf *b, double v)
{
    char tmp[32];

    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    opg_buf_addstr(b, tmp);
}
