#include "codec.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <zstd.h>

struct opg_codec {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    int level;
};

struct opg_codec *opg_codec_create(int level)
{
    struct opg_codec *c = opg_xcalloc(1, sizeof(*c));

    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    c->level = level;
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
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    free(c);
}

int opg_codec_encode(struct opg_codec *c, const void *src, size_t n, struct opg_buf *out)
{
    size_t bound = ZSTD_compressBound(n);
    size_t got;

    opg_buf_grow(out, bound + 1);
    out->data[out->len] = OPG_CODEC_ZSTD;
    got = ZSTD_compressCCtx(c->cctx, out->data + out->len + 1, bound, src, n, c->level);
    if (ZSTD_isError(got))
        return -1;
    out->len += got + 1;
    out->data[out->len] = '\0';
    return 0;
}

int opg_codec_decode(struct opg_codec *c, const void *p, size_t n, size_t max, struct opg_buf *out)
{
    const uint8_t *b = p;
    unsigned long long size;
    size_t got;

    opg_buf_reset(out);
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
