/*
 * The 128-bit product of a and b, its two halves xored (wyhash's "mum"):
 * one multiply that mixes every bit of both inputs into the result. The
 * hashes of the block IDs (storage/batch.c) and of the column encoder's
 * tables (storage/tracecols.c) are built on it.
 */
#ifndef OPG_MUM_H
#define OPG_MUM_H

#include <stdint.h>

static inline uint64_t opg_mum(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 r = (unsigned __int128)a * b;

    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t ha = a >> 32, hb = b >> 32, la = (uint32_t)a, lb = (uint32_t)b;
    uint64_t hi, lo, rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb;
    uint64_t t = rl + (rm0 << 32), c = t < rl;

    lo = t + (rm1 << 32);
    c += lo < t;
    hi = rh + (rm0 >> 32) + (rm1 >> 32) + c;
    return lo ^ hi;
#endif
}

#endif
