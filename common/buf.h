/*
 * A growable byte buffer, in the spirit of git's strbuf.
 *
 * The buffer always keeps a NUL after its contents so that text can be used
 * as a C string; binary contents are fine too (use ->len). Growth failures
 * abort the process (see opg_xmalloc): every caller bounds what it appends.
 */
#ifndef OPG_BUF_H
#define OPG_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct opg_buf {
    char *data;
    size_t len;
    size_t cap;
};

#define OPG_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void opg_buf_init(struct opg_buf *b);
/* Frees the contents; the buffer may be reused after opg_buf_init(). */
void opg_buf_release(struct opg_buf *b);
/* Makes room for at least n more bytes. */
void opg_buf_grow(struct opg_buf *b, size_t n);
void opg_buf_reset(struct opg_buf *b);
void opg_buf_add(struct opg_buf *b, const void *p, size_t n);
void opg_buf_addstr(struct opg_buf *b, const char *s);
void opg_buf_addch(struct opg_buf *b, char c);
void opg_buf_addf(struct opg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void opg_buf_vaddf(struct opg_buf *b, const char *fmt, va_list ap);
/* The shortest %g text that reads back as exactly v (finite v only). */
void opg_buf_add_double(struct opg_buf *b, double v);
/* Big-endian integers, as PostgreSQL's binary COPY wants them. */
void opg_buf_add_be16(struct opg_buf *b, uint16_t v);
void opg_buf_add_be32(struct opg_buf *b, uint32_t v);
void opg_buf_add_be64(struct opg_buf *b, uint64_t v);
/*
 * Hands the contents to the caller, who frees them with free(); the buffer is
 * left empty. Never returns NULL (an empty buffer gives "").
 */
char *opg_buf_detach(struct opg_buf *b, size_t *len);

/* malloc/calloc/realloc/strdup that abort on failure. */
void *opg_xmalloc(size_t n);
void *opg_xcalloc(size_t n, size_t size);
void *opg_xrealloc(void *p, size_t n);
char *opg_xstrdup(const char *s);

#endif
