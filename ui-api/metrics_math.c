#include "metrics_math.h"
#include "buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

long opg_mm_step_of(const struct opg_mm_grid *g, int64_t t)
{
    int64_t i;

    if (t < g->start_ns || g->step_ns <= 0)
        return -1;
    i = (t - g->start_ns) / g->step_ns;
    return (uint64_t)i < g->n ? (long)i : -1;
}

bool opg_mm_is_reset(const struct opg_mm_sample *prev, const struct opg_mm_sample *cur)
{
    return cur->start_ns != prev->start_ns || cur->v < prev->v;
}

void opg_mm_reduce(const struct opg_mm_grid *g, enum opg_mm_mode mode,
                   const struct opg_mm_sample *s, size_t n, double *out, bool *has)
{
    const struct opg_mm_sample *prev = NULL;
    double step_s = (double)g->step_ns / 1e9;

    for (size_t i = 0; i < g->n; i++) {
        out[i] = 0;
        has[i] = false;
    }
    for (size_t i = 0; i < n; i++) {
        long b = opg_mm_step_of(g, s[i].time_ns);
        double inc = NAN;

        if (!isfinite(s[i].v))
            continue;
        switch (mode) {
        case OPG_MM_LAST:
            inc = s[i].v;
            if (b >= 0)
                out[b] = 0; /* replaced, not added */
            break;
        case OPG_MM_DELTA_RATE:
            inc = s[i].v;
            break;
        case OPG_MM_CUMULATIVE_RATE:
            if (prev)
                inc = opg_mm_is_reset(prev, &s[i]) ? s[i].v : s[i].v - prev->v;
            else if (s[i].start_ns >= g->from_ns)
                inc = s[i].v; /* the stream began inside what was read */
            prev = &s[i];
            break;
        }
        if (b >= 0 && !isnan(inc)) {
            out[b] += inc;
            has[b] = true;
        }
    }
    if (mode == OPG_MM_LAST)
        return;
    for (size_t i = 0; i < g->n; i++)
        if (has[i])
            out[i] /= step_s;
}

static double clamp_known(double v, double min, double max)
{
    if (!isnan(min) && v < min)
        v = min;
    if (!isnan(max) && v > max)
        v = max;
    return v;
}

double opg_mm_hist_quantile(double q, const double *bounds, size_t n_bounds, const double *counts,
                            size_t n_counts, double min, double max)
{
    double total = 0, rank, cum = 0;

    if (n_counts != n_bounds + 1 || !(q >= 0 && q <= 1))
        return NAN;
    for (size_t i = 0; i < n_counts; i++)
        if (counts[i] > 0)
            total += counts[i];
    if (!(total > 0))
        return NAN;
    rank = q * total;
    for (size_t i = 0; i < n_counts; i++) {
        double c = counts[i] > 0 ? counts[i] : 0, lo, hi;

        if (c == 0 || cum + c < rank) {
            cum += c;
            continue;
        }
        if (i == 0)
            lo = !isnan(min) ? min : (n_bounds && bounds[0] > 0 ? 0 : bounds[0]);
        else
            lo = bounds[i - 1];
        hi = i < n_bounds ? bounds[i] : (!isnan(max) ? max : lo);
        if (n_bounds == 0 && (isnan(min) || isnan(max)))
            return NAN; /* one bucket open at both ends says nothing */
        /* The values lie within [min, max]: narrow the bucket to them. */
        if (!isnan(min) && min > lo)
            lo = min;
        if (!isnan(max) && max < hi)
            hi = max;
        if (lo > hi)
            lo = hi;
        return clamp_known(lo + (hi - lo) * (rank - cum) / c, min, max);
    }
    return NAN;
}

/* ---- exponential histograms ------------------------------------------------------ */

/* Floor of v / 2^d, for any d >= 0. */
static int64_t shr(int64_t v, int d)
{
    if (d >= 63)
        return v < 0 ? -1 : 0;
    return v >= 0 ? v >> d : -((-v + ((int64_t)1 << d) - 1) >> d);
}

void opg_mm_expo_release(struct opg_mm_expo *h)
{
    free(h->counts);
    memset(h, 0, sizeof(*h));
}

/* Rewrites h at a coarser scale (no-op for a finer or equal one). */
static void expo_downscale(struct opg_mm_expo *h, int32_t scale)
{
    int d;
    int64_t lo, hi;
    double *c;

    if (scale >= h->scale)
        return;
    d = h->scale - scale > 63 ? 63 : (int)(h->scale - scale);
    h->scale = scale;
    if (!h->n)
        return;
    lo = shr(h->offset, d);
    hi = shr(h->offset + (int64_t)h->n - 1, d);
    c = opg_xcalloc((size_t)(hi - lo + 1), sizeof(*c));
    for (size_t i = 0; i < h->n; i++)
        c[shr(h->offset + (int64_t)i, d) - lo] += h->counts[i];
    free(h->counts);
    h->counts = c;
    h->offset = lo;
    h->n = (size_t)(hi - lo + 1);
}

/* Grows h (already at its final scale) to cover indexes [lo, hi]. */
static void expo_cover(struct opg_mm_expo *h, int64_t lo, int64_t hi)
{
    int64_t nlo, nhi;
    double *c;

    if (!h->n) {
        h->counts = opg_xcalloc((size_t)(hi - lo + 1), sizeof(*c));
        h->offset = lo;
        h->n = (size_t)(hi - lo + 1);
        return;
    }
    nlo = lo < h->offset ? lo : h->offset;
    nhi = hi > h->offset + (int64_t)h->n - 1 ? hi : h->offset + (int64_t)h->n - 1;
    if (nlo == h->offset && nhi == h->offset + (int64_t)h->n - 1)
        return;
    c = opg_xcalloc((size_t)(nhi - nlo + 1), sizeof(*c));
    memcpy(c + (h->offset - nlo), h->counts, h->n * sizeof(*c));
    free(h->counts);
    h->counts = c;
    h->offset = nlo;
    h->n = (size_t)(nhi - nlo + 1);
}

void opg_mm_expo_merge(struct opg_mm_expo *dst, const struct opg_mm_expo *src, double sign)
{
    int32_t scale;
    int64_t lo = 0, hi = -1;

    if (!src->used)
        return;
    if (!dst->used) {
        dst->used = true;
        dst->scale = src->scale;
    }
    scale = src->scale < dst->scale ? src->scale : dst->scale;
    /* Coarser until both fit in the bound; each step halves the span. */
    for (;;) {
        bool any = false;
        if (dst->n) {
            int d = dst->scale - scale > 63 ? 63 : (int)(dst->scale - scale);
            lo = shr(dst->offset, d);
            hi = shr(dst->offset + (int64_t)dst->n - 1, d);
            any = true;
        }
        if (src->n) {
            int d = src->scale - scale > 63 ? 63 : (int)(src->scale - scale);
            int64_t slo = shr(src->offset, d), shi = shr(src->offset + (int64_t)src->n - 1, d);
            lo = any && lo < slo ? lo : slo;
            hi = any && hi > shi ? hi : shi;
            any = true;
        }
        if (!any || hi - lo + 1 <= OPG_MM_EXPO_MAX_BUCKETS)
            break;
        scale--;
    }
    expo_downscale(dst, scale);
    dst->zero += sign * src->zero;
    if (!src->n)
        return;
    expo_cover(dst, lo, hi);
    {
        int d = src->scale - scale > 63 ? 63 : (int)(src->scale - scale);
        for (size_t i = 0; i < src->n; i++)
            dst->counts[shr(src->offset + (int64_t)i, d) - dst->offset] += sign * src->counts[i];
    }
}

void opg_mm_expo_add(struct opg_mm_expo *h, int32_t scale, int32_t offset, const uint64_t *counts,
                     size_t n, uint64_t zero, double sign)
{
    struct opg_mm_expo src = {.used = true, .scale = scale, .zero = (double)zero};
    size_t first = 0, last = n;

    /* Empty buckets at the ends widen the span for nothing. */
    while (first < last && !counts[first])
        first++;
    while (last > first && !counts[last - 1])
        last--;
    if (last > first) {
        src.offset = (int64_t)offset + (int64_t)first;
        src.n = last - first;
        src.counts = opg_xmalloc(src.n * sizeof(*src.counts));
        for (size_t i = 0; i < src.n; i++)
            src.counts[i] = (double)counts[first + i];
    }
    opg_mm_expo_merge(h, &src, sign);
    free(src.counts);
}

bool opg_mm_expo_negative(const struct opg_mm_expo *h)
{
    if (h->zero < 0)
        return true;
    for (size_t i = 0; i < h->n; i++)
        if (h->counts[i] < 0)
            return true;
    return false;
}

double opg_mm_expo_quantile(double q, const struct opg_mm_expo *h, double min, double max)
{
    double total = h->zero > 0 ? h->zero : 0, rank, cum;

    if (!(q >= 0 && q <= 1))
        return NAN;
    for (size_t i = 0; i < h->n; i++)
        if (h->counts[i] > 0)
            total += h->counts[i];
    if (!(total > 0))
        return NAN;
    rank = q * total;
    cum = h->zero > 0 ? h->zero : 0;
    if (cum > 0 && rank <= cum)
        return clamp_known(0, min, max);
    for (size_t i = 0; i < h->n; i++) {
        double c = h->counts[i] > 0 ? h->counts[i] : 0;
        double k = (double)(h->offset + (int64_t)i), lo, hi;

        if (c == 0 || cum + c < rank) {
            cum += c;
            continue;
        }
        lo = exp2(ldexp(k, -h->scale));
        hi = exp2(ldexp(k + 1, -h->scale));
        if (isinf(hi) && !isnan(max))
            hi = max;
        return clamp_known(lo + (hi - lo) * (rank - cum) / c, min, max);
    }
    return NAN;
}
