#include "jsonw.h"
#include "hex.h"
#include "utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void opg_jw_init(struct opg_jw *w, struct opg_buf *out)
{
    w->out = out;
    w->depth = 0;
    w->first[0] = true;
    w->after_key = false;
}

/* Called before every value and key: writes the comma that separates it. */
static void sep(struct opg_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        opg_buf_addch(w->out, ',');
    w->first[w->depth] = false;
}

static void open(struct opg_jw *w, char c)
{
    sep(w);
    opg_buf_addch(w->out, c);
    if (w->depth < OPG_JSONW_MAX_DEPTH - 1)
        w->depth++;
    w->first[w->depth] = true;
}

static void close_(struct opg_jw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    opg_buf_addch(w->out, c);
}

void opg_jw_obj_begin(struct opg_jw *w)
{
    open(w, '{');
}

void opg_jw_obj_end(struct opg_jw *w)
{
    close_(w, '}');
}

void opg_jw_arr_begin(struct opg_jw *w)
{
    open(w, '[');
}

void opg_jw_arr_end(struct opg_jw *w)
{
    close_(w, ']');
}

static void put_escaped(struct opg_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;

    opg_buf_grow(b, n + 2);
    opg_buf_addch(b, '"');
    while (i < n) {
        unsigned char c = p[i];
        size_t k;

        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            run++;
            continue;
        }
        if (run)
            opg_buf_add(b, p + i - run, run);
        run = 0;
        if (c < 0x80) {
            switch (c) {
            case '"':
                opg_buf_add(b, "\\\"", 2);
                break;
            case '\\':
                opg_buf_add(b, "\\\\", 2);
                break;
            case '\n':
                opg_buf_add(b, "\\n", 2);
                break;
            case '\r':
                opg_buf_add(b, "\\r", 2);
                break;
            case '\t':
                opg_buf_add(b, "\\t", 2);
                break;
            default:
                opg_buf_addf(b, "\\u%04x", c);
            }
            i++;
            continue;
        }
        k = opg_utf8_seq_len(p + i, n - i);
        if (k) {
            opg_buf_add(b, p + i, k);
            i += k;
        } else {
            opg_buf_add(b, "\xef\xbf\xbd", 3); /* U+FFFD */
            i++;
        }
    }
    if (run)
        opg_buf_add(b, p + i - run, run);
    opg_buf_addch(b, '"');
}

void opg_jw_keyn(struct opg_jw *w, const char *key, size_t n)
{
    sep(w);
    put_escaped(w->out, key, n);
    opg_buf_addch(w->out, ':');
    w->after_key = true;
}

void opg_jw_key(struct opg_jw *w, const char *key)
{
    opg_jw_keyn(w, key, strlen(key));
}

void opg_jw_str(struct opg_jw *w, const char *s, size_t n)
{
    sep(w);
    put_escaped(w->out, s ? s : "", s ? n : 0);
}

void opg_jw_cstr(struct opg_jw *w, const char *s)
{
    opg_jw_str(w, s, s ? strlen(s) : 0);
}

void opg_jw_int(struct opg_jw *w, int64_t v)
{
    sep(w);
    opg_buf_addf(w->out, "%" PRId64, v);
}

void opg_jw_uint(struct opg_jw *w, uint64_t v)
{
    sep(w);
    opg_buf_addf(w->out, "%" PRIu64, v);
}

void opg_jw_int_str(struct opg_jw *w, int64_t v)
{
    sep(w);
    opg_buf_addf(w->out, "\"%" PRId64 "\"", v);
}

void opg_jw_uint_str(struct opg_jw *w, uint64_t v)
{
    sep(w);
    opg_buf_addf(w->out, "\"%" PRIu64 "\"", v);
}

void opg_jw_double(struct opg_jw *w, double v)
{
    sep(w);
    if (isnan(v))
        opg_buf_addstr(w->out, "\"NaN\"");
    else if (isinf(v))
        opg_buf_addstr(w->out, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        opg_buf_add_double(w->out, v);
}

void opg_jw_bool(struct opg_jw *w, bool v)
{
    sep(w);
    opg_buf_addstr(w->out, v ? "true" : "false");
}

void opg_jw_null(struct opg_jw *w)
{
    sep(w);
    opg_buf_addstr(w->out, "null");
}

void opg_jw_hex(struct opg_jw *w, const uint8_t *p, size_t n)
{
    sep(w);
    opg_buf_grow(w->out, 2 * n + 3);
    opg_buf_addch(w->out, '"');
    opg_hex_encode(w->out->data + w->out->len, p, n);
    w->out->len += 2 * n;
    opg_buf_addch(w->out, '"');
}

void opg_jw_base64(struct opg_jw *w, const uint8_t *p, size_t n)
{
    size_t m = opg_base64_len(n);

    sep(w);
    opg_buf_grow(w->out, m + 3);
    opg_buf_addch(w->out, '"');
    opg_base64_encode(w->out->data + w->out->len, p, n);
    w->out->len += m;
    opg_buf_addch(w->out, '"');
}

void opg_jw_raw(struct opg_jw *w, const char *json, size_t n)
{
    sep(w);
    opg_buf_add(w->out, json, n);
}
