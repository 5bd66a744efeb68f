#include "codec.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <zstd.h>

#include "batch.h"
#include "dicts.h"
#include "tracecols.h"

/* Format 0x03: format byte, dictionary name, check, then the frame. */
#define DICT_HEADER (1 + 8 + 8)

struct opg_codec {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    int level;
    struct opg_tracecols *cols;
    struct opg_buf scratch; /* a column-wise form, before or after zstd */
    bool dicts;             /* encode span blocks as 0x03 */
    int dict_level;         /* at this zstd level */
    struct opg_dict *enc;   /* the dictionary of the last block encoded */
    struct opg_dict *dec;   /* the last one decoding needed (they repeat) */
};

struct opg_codec *opg_codec_create(int level)
{
    struct opg_codec *c = opg_xcalloc(1, sizeof(*c));

    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    c->level = level;
    c->cols = opg_tracecols_create();
    opg_buf_init(&c->scratch);
    if (!c->cctx || !c->dctx) {
        opg_codec_destroy(c);
        return NULL;
    }
    return c;
}

void opg_codec_destroy(struct opg_codec *c)
{
    if (!c)
        return;
    opg_dict_release(c->enc);
    opg_dict_release(c->dec);
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    opg_tracecols_destroy(c->cols);
    opg_buf_release(&c->scratch);
    free(c);
}

/* Appends format byte and a zstd frame of src[0..n) to out. */
static int compress(struct opg_codec *c, int format, const void *src, size_t n, struct opg_buf *out)
{
    size_t bound = ZSTD_compressBound(n);
    size_t got;

    opg_buf_grow(out, bound + 1);
    out->data[out->len] = (char)format;
    got = ZSTD_compressCCtx(c->cctx, out->data + out->len + 1, bound, src, n, c->level);
    if (ZSTD_isError(got))
        return -1;
    out->len += got + 1;
    out->data[out->len] = '\0';
    return 0;
}

int opg_codec_encode(struct opg_codec *c, const void *src, size_t n, struct opg_buf *out)
{
    return compress(c, OPG_CODEC_ZSTD, src, n, out);
}

void opg_codec_use_dicts(struct opg_codec *c, bool on, int level)
{
    c->dicts = on;
    c->dict_level = level;
}

const struct opg_dict *opg_codec_last_dict(const struct opg_codec *c)
{
    return c->enc;
}

static void put_le64(char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (char)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Format 0x03 of the column-wise form in c->scratch, with the current dictionary if any. */
static int compress_dict(struct opg_codec *c, struct opg_buf *out)
{
    const char *src = c->scratch.data;
    size_t n = c->scratch.len, bound = ZSTD_compressBound(n), got;
    struct opg_dict *d = opg_dict_current(c->dict_level);
    char *h;

    opg_buf_grow(out, DICT_HEADER + bound);
    h = out->data + out->len;
    h[0] = OPG_CODEC_TRACECOLS_DICT;
    put_le64(h + 1, d ? opg_dict_id(d) : 0);
    put_le64(h + 9, opg_hash64_fast(src, n));
    if (d)
        got = ZSTD_compress_usingCDict(c->cctx, h + DICT_HEADER, bound, src, n, opg_dict_cdict(d));
    else
        got = ZSTD_compressCCtx(c->cctx, h + DICT_HEADER, bound, src, n, c->dict_level);
    if (ZSTD_isError(got)) {
        opg_dict_release(d);
        return -1;
    }
    out->len += DICT_HEADER + got;
    out->data[out->len] = '\0';
    c->enc = d;
    opg_dict_sample(src, n, c->dict_level);
    return 0;
}

int opg_codec_encode_traces(struct opg_codec *c, const void *src, size_t n, struct opg_buf *out)
{
    opg_dict_release(c->enc);
    c->enc = NULL;
    opg_buf_reset(&c->scratch);
    if (opg_tracecols_encode(c->cols, src, n, &c->scratch) < 0)
        return compress(c, OPG_CODEC_ZSTD, src, n, out);
    if (c->dicts)
        return compress_dict(c, out);
    return compress(c, OPG_CODEC_TRACECOLS, c->scratch.data, c->scratch.len, out);
}

/*
 * Replaces out's contents with the zstd frame p[0..n), of at most max
 * bytes. The buffer grows with what the frame really holds, not with the
 * size its header claims: a forged header costs no memory.
 */
static int decompress_bounded(struct opg_codec *c, const ZSTD_DDict *ddict, const uint8_t *p,
                              size_t n, size_t max, struct opg_buf *out)
{
    ZSTD_inBuffer in = {p, n, 0};
    ZSTD_outBuffer o;
    unsigned long long size = ZSTD_getFrameContentSize(p, n);
    size_t r;

    opg_buf_reset(out);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > max)
        return -1;
    opg_buf_grow(out, size < 65536 ? (size_t)size : 65536);
    o = (ZSTD_outBuffer){out->data, out->cap - 1 < size ? out->cap - 1 : (size_t)size, 0};
    ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_only);
    if (ZSTD_isError(ZSTD_DCtx_refDDict(c->dctx, ddict))) /* NULL: none */
        return -1;
    for (;;) {
        size_t in_was = in.pos, out_was = o.pos;

        r = ZSTD_decompressStream(c->dctx, &o, &in);
        if (ZSTD_isError(r))
            return -1;
        if (r == 0)
            break;
        if (o.pos == o.size && o.size < size) {
            out->len = o.pos;
            opg_buf_grow(out, o.size);
            o.dst = out->data;
            o.size = out->cap - 1 < size ? out->cap - 1 : (size_t)size;
        } else if (in.pos == in_was && o.pos == out_was) {
            return -1; /* truncated, or more than the header said */
        }
    }
    if (o.pos != size || in.pos != n)
        return -1;
    out->len = o.pos;
    out->data[out->len] = '\0';
    return 0;
}

/* Format 0x03: finds the dictionary, and checks what comes out against the check. */
static int decode_dict(struct opg_codec *c, const uint8_t *b, size_t n, size_t max,
                       struct opg_buf *out)
{
    size_t bound = max < (SIZE_MAX - 1024) / 2 ? OPG_TRACECOLS_MAX_SIZE(max) : SIZE_MAX;
    uint64_t id = get_le64(b + 1);
    const void *ddict = NULL;

    if (id) {
        if (!c->dec || opg_dict_id(c->dec) != id) {
            opg_dict_release(c->dec);
            c->dec = opg_dict_find(id);
        }
        if (!c->dec || !(ddict = opg_dict_ddict(c->dec)))
            return -1;
    }
    if (decompress_bounded(c, ddict, b + DICT_HEADER, n - DICT_HEADER, bound, &c->scratch) < 0 ||
        opg_hash64_fast(c->scratch.data, c->scratch.len) != get_le64(b + 9))
        return -1;
    return opg_tracecols_decode(c->cols, c->scratch.data, c->scratch.len, max, out);
}

int opg_codec_decode(struct opg_codec *c, const void *p, size_t n, size_t max, struct opg_buf *out)
{
    const uint8_t *b = p;
    unsigned long long size;
    size_t got;

    opg_buf_reset(out);
    if (n >= 1 && b[0] == OPG_CODEC_TRACECOLS) {
        size_t bound = max < (SIZE_MAX - 1024) / 2 ? OPG_TRACECOLS_MAX_SIZE(max) : SIZE_MAX;

        if (decompress_bounded(c, NULL, b + 1, n - 1, bound, &c->scratch) < 0)
            return -1;
        return opg_tracecols_decode(c->cols, c->scratch.data, c->scratch.len, max, out);
    }
    if (n >= DICT_HEADER && b[0] == OPG_CODEC_TRACECOLS_DICT)
        return decode_dict(c, b, n, max, out);
    if (n < 1 || b[0] != OPG_CODEC_ZSTD)
        return -1;
    size = ZSTD_getFrameContentSize(b + 1, n - 1);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > max)
        return -1;
    opg_buf_grow(out, (size_t)size);
    got = ZSTD_decompressDCtx(c->dctx, out->data, (size_t)size, b + 1, n - 1);
    if (ZSTD_isError(got) || got != size)
        return -1;
    out->len = got;
    out->data[got] = '\0';
    return 0;
}

static pthread_key_t codec_key;
static pthread_once_t codec_once = PTHREAD_ONCE_INIT;

static void codec_free(void *p)
{
    opg_codec_destroy(p);
}

static void codec_key_make(void)
{
    pthread_key_create(&codec_key, codec_free);
}

struct opg_codec *opg_codec_thread(int level)
{
    struct opg_codec *c;

    pthread_once(&codec_once, codec_key_make);
    c = pthread_getspecific(codec_key);
    if (!c) {
        c = opg_codec_create(level);
        pthread_setspecific(codec_key, c);
    }
    return c;
}
