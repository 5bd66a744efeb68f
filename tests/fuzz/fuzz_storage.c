/*
 * Fuzz target: what the daemons read back from disk and from the database,
 * should it be corrupt: a spool record (batch deserialisation) and a stored
 * payload (codec decode, then span unpack).
 */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "batch.h"
#include "codec.h"
#include "spans.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct opg_codec *codec;
    struct opg_batch b;
    struct opg_buf scratch = OPG_BUF_INIT;
    struct opg_arena *arena = opg_arena_create(1 << 24);
    struct opg_span_row row = {0};
    static const uint8_t tid[16] = {1}, sid[8] = {2};

    if (!codec)
        codec = opg_codec_create(1);
    opg_batch_init(&b, OPG_SIGNAL_TRACES);
    opg_batch_deserialize(&b, data, size);
    opg_batch_release(&b);

    row.trace_id = tid;
    row.trace_id_len = 16;
    row.span_id = sid;
    row.span_id_len = 8;
    row.name = "n";
    row.name_len = 1;
    row.payload = data;
    row.payload_len = size;
    opg_spans_decode(arena, codec, &row, &scratch);
    opg_origin_decode(arena, codec, data, size, &scratch);
    opg_buf_release(&scratch);
    opg_arena_destroy(arena);
    return 0;
}
