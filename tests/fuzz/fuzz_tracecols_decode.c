/*
 * Fuzz target: the column-wise span block form (storage/tracecols.h) as a
 * corrupt or hostile database could hand it back, both bare and as a whole
 * codec payload. Neither may crash, read out of bounds or write more than
 * the caller's bound.
 */
#include <stdint.h>
#include <stdlib.h>

#include "codec.h"
#include "tracecols.h"

#define MAX_OUT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct opg_codec *codec;
    static struct opg_tracecols *cols;
    struct opg_buf out = OPG_BUF_INIT;

    if (!codec) {
        codec = opg_codec_create(1);
        cols = opg_tracecols_create();
    }
    if (opg_tracecols_decode(cols, data, size, MAX_OUT, &out) == 0 && out.len > MAX_OUT)
        __builtin_trap();
    if (opg_codec_decode(codec, data, size, MAX_OUT, &out) == 0 && out.len > MAX_OUT)
        __builtin_trap();
    opg_buf_release(&out);
    return 0;
}
