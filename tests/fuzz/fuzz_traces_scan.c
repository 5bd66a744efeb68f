/*
 * Fuzz target: the traces fast path against the full path (tests/scan_diff.h).
 * Any body the fast path takes must be taken by opg_pb_check_wire and
 * protobuf-c's unpack too, and encode to the same rows; otherwise abort. The
 * first byte picks tighter limits now and then, so that the limit checks of
 * the scan are fuzzed as well.
 */
#include <stdlib.h>

#include "../scan_diff.h"

static const char *const keys[] = {"correlation.id", "order.id", "service.name"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct opg_codec *codec;
    struct opg_ingest_opts o = {
        1795280642000000000LL, 7 * OPG_NS_PER_DAY, OPG_NS_PER_DAY, keys, 3, 256};
    struct opg_scan_limits lim;
    char why[256];
    uint8_t pick;

    if (size < 1)
        return 0;
    if (!codec)
        codec = opg_codec_create(1);
    pick = data[0];
    data++;
    size--;
    lim = (struct opg_scan_limits){8 + 2 * 32, 1024, 4u << 20, 16 * size + (1u << 20)};
    switch (pick & 7) {
    case 1:
        lim.max_attrs = pick >> 3;
        break;
    case 2:
        lim.max_len = pick >> 3;
        break;
    case 3:
        lim.max_depth = pick >> 3;
        break;
    case 4:
        lim.max_memory = size * (pick >> 3);
        break;
    default:
        break;
    }
    if (scan_diff(data, size, &lim, &o, codec, why, sizeof(why)) == SCAN_DIFF_MISMATCH) {
        fprintf(stderr, "fast and full paths differ: %s\n", why);
        abort();
    }
    return 0;
}
