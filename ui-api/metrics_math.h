/*
 * The arithmetic of metric queries, apart from the database so that it can be
 * tested alone: time steps, rates from cumulative and delta points, and
 * percentiles from explicit and exponential histogram buckets.
 */
#ifndef OPG_METRICS_MATH_H
#define OPG_METRICS_MATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Steps: step i covers [start_ns + i*step_ns, start_ns + (i+1)*step_ns). */
struct opg_mm_grid {
    int64_t start_ns;
    int64_t step_ns;
    size_t n;
    /* The earliest time points were read from: a cumulative stream whose
     * start time is at or after it began inside the window and counts from 0. */
    int64_t from_ns;
};

/* The step t falls in, or -1 outside the grid. */
long opg_mm_step_of(const struct opg_mm_grid *g, int64_t t);

/* One point of a stream, in time order: a gauge or sum value, or a count. */
struct opg_mm_sample {
    int64_t time_ns;
    int64_t start_ns;
    double v;
};

enum opg_mm_mode {
    OPG_MM_LAST,            /* the last value in each step */
    OPG_MM_CUMULATIVE_RATE, /* per-second increase of a cumulative counter */
    OPG_MM_DELTA_RATE,      /* per-second sum of delta values */
};

/*
 * Reduces s[0..n) (sorted by time) to one value per step of g: out[i] and
 * has[i] (false where the step has no value), both with g->n entries owned by
 * the caller. For rates, the increase between two consecutive points counts
 * in the later point's step; a reset (the value drops, or the start time
 * changes) counts the new value whole, so a rate is never negative.
 * Non-finite values are skipped.
 */
void opg_mm_reduce(const struct opg_mm_grid *g, enum opg_mm_mode mode,
                   const struct opg_mm_sample *s, size_t n, double *out, bool *has);

/* True if cur restarts the cumulative stream prev belongs to. */
bool opg_mm_is_reset(const struct opg_mm_sample *prev, const struct opg_mm_sample *cur);

/*
 * The q-quantile (0..1) of an explicit-bucket histogram: counts[i] values in
 * (bounds[i-1], bounds[i]], the first bucket open below and the last above
 * (n_counts == n_bounds + 1). Linear interpolation within the bucket, narrowed
 * to [min, max] when those are known (pass NAN otherwise); otherwise the open
 * ends are 0 (below a positive first bound) and the last finite bound. NAN
 * if the histogram is empty or malformed.
 */
double opg_mm_hist_quantile(double q, const double *bounds, size_t n_bounds, const double *counts,
                            size_t n_counts, double min, double max);

/*
 * An exponential histogram being merged: positive buckets only (the query
 * ignores negative values), counts[i] for index offset + i at scale, where
 * bucket index k covers (base^k, base^(k+1)] and base = 2^(2^-scale).
 * Merging downscales to the coarser scale, and further if the buckets would
 * span more than OPG_MM_EXPO_MAX_BUCKETS, so hostile offsets stay bounded.
 */
#define OPG_MM_EXPO_MAX_BUCKETS 4096
struct opg_mm_expo {
    bool used;
    int32_t scale;
    int64_t offset;
    size_t n;
    double *counts; /* owned: opg_mm_expo_release */
    double zero;    /* values in the zero bucket */
};

void opg_mm_expo_release(struct opg_mm_expo *h);
/* Adds sign times the buckets (scale, offset, counts[0..n)) and zero count to h. */
void opg_mm_expo_add(struct opg_mm_expo *h, int32_t scale, int32_t offset, const uint64_t *counts,
                     size_t n, uint64_t zero, double sign);
/* Adds sign times src to dst (src borrowed, unchanged). */
void opg_mm_expo_merge(struct opg_mm_expo *dst, const struct opg_mm_expo *src, double sign);
/* True if a bucket or the zero count is negative (a difference across a reset). */
bool opg_mm_expo_negative(const struct opg_mm_expo *h);
/* The q-quantile, as opg_mm_hist_quantile; the zero bucket counts as 0. */
double opg_mm_expo_quantile(double q, const struct opg_mm_expo *h, double min, double max);

#endif
