/*
 * Fuzz target: a span block as the query API reads it from the database,
 * should it be corrupt — the search's wire scan (index_block), the unpack
 * of each span it found, the lookup by trace, and the reader's full decode.
 * The scanner's functions are static: the file is compiled in here, as the
 * unit test does.
 */
#include "../../storage/search.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct opg_codec *codec;
    struct block_cache c;
    struct block b = {.arena = opg_arena_create(1 << 26)};
    struct opg_arena *arena = opg_arena_create(1 << 26);
    struct opg_buf scratch = OPG_BUF_INIT, packed = OPG_BUF_INIT;

    if (!codec)
        codec = opg_codec_create(1);
    cache_init(&c, NULL, NULL, 4);
    if (index_block(&c, &b, data, size, 4096) == 0) {
        for (size_t i = 0; i < b.n; i++) {
            size_t n;
            struct block_span *e = block_trace(&b, b.spans[i].trace_id, &n);

            if (!e || n == 0)
                __builtin_trap(); /* a span listed must be found by its trace */
            cache_span(&b.spans[i]);
        }
    }
    /* the reader's path: the same bytes as a stored payload */
    if (opg_codec_encode(codec, data, size, &packed) == 0)
        opg_block_decode(arena, codec, (const uint8_t *)packed.data, packed.len, &scratch);
    opg_buf_release(&scratch);
    opg_buf_release(&packed);
    opg_arena_destroy(arena);
    opg_arena_destroy(b.arena);
    cache_release(&c);
    return 0;
}
