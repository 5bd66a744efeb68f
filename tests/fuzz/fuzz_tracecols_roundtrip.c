/*
 * Fuzz target: any bytes given to the span block encoder come back exactly,
 * whether it chose the column-wise form (0x02) or fell back to 0x01, and
 * the payload depends on the bytes alone (block IDs and the collision check
 * rely on that). The same with dictionaries (format 0x03): the fuzzer's
 * inputs make them, and every block must come back with the one it names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct opg_codec *codec, *fresh, *dicts;
    struct opg_buf p = OPG_BUF_INIT, p2 = OPG_BUF_INIT, out = OPG_BUF_INIT;

    if (!codec)
        codec = opg_codec_create(1);
    if (opg_codec_encode_traces(codec, data, size, &p) < 0)
        __builtin_trap();
    if (opg_codec_decode(codec, p.data, p.len, size, &out) < 0)
        __builtin_trap();
    if (out.len != size || (size && memcmp(out.data, data, size) != 0))
        __builtin_trap();
    /* a codec that has seen nothing before writes the same payload */
    fresh = opg_codec_create(1);
    if (opg_codec_encode_traces(fresh, data, size, &p2) < 0 || p2.len != p.len ||
        memcmp(p2.data, p.data, p.len) != 0)
        __builtin_trap();
    opg_codec_destroy(fresh);
    if (!dicts) {
        dicts = opg_codec_create(1);
        opg_codec_use_dicts(dicts, true, 1);
    }
    opg_buf_reset(&p);
    if (opg_codec_encode_traces(dicts, data, size, &p) < 0 ||
        opg_codec_decode(codec, p.data, p.len, size, &out) < 0 || out.len != size ||
        (size && memcmp(out.data, data, size) != 0))
        __builtin_trap();
    opg_buf_release(&p);
    opg_buf_release(&p2);
    opg_buf_release(&out);
    return 0;
}
