/*
 * Counters and gauges for /metrics, in the Prometheus text format.
 *
 * A metric is a static struct registered once at start-up; updating it is one
 * atomic add, so hot paths may count freely. Series of one family share the
 * name and differ by their label text, e.g. `signal="traces",reason="decode"`.
 */
#ifndef OPG_STATS_H
#define OPG_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "buf.h"

enum opg_metric_type { OPG_COUNTER, OPG_GAUGE };

struct opg_metric {
    const char *name;   /* e.g. "otelpg_received_items_total" */
    const char *labels; /* e.g. "signal=\"traces\"" or NULL */
    const char *help;
    enum opg_metric_type type;
    _Atomic int64_t value;
    struct opg_metric *next; /* registry link */
};

#define OPG_METRIC_INIT(name, labels, type, help)                                                  \
    {                                                                                              \
        name, labels, help, type, 0, NULL                                                          \
    }

/* Adds m to the registry (once; not thread-safe: call before serving). */
void opg_stats_register(struct opg_metric *m);
static inline void opg_stats_add(struct opg_metric *m, int64_t n)
{
    atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}
static inline void opg_stats_set(struct opg_metric *m, int64_t v)
{
    atomic_store_explicit(&m->value, v, memory_order_relaxed);
}
static inline int64_t opg_stats_get(struct opg_metric *m)
{
    return atomic_load_explicit(&m->value, memory_order_relaxed);
}

/*
 * A latency histogram with fixed bucket bounds in seconds.
 * Buckets are cumulative when rendered, as Prometheus expects.
 */
#define OPG_HIST_BUCKETS 14
struct opg_histogram {
    const char *name;
    const char *labels;
    const char *help;
    _Atomic int64_t buckets[OPG_HIST_BUCKETS + 1]; /* last is +Inf */
    _Atomic int64_t count;
    _Atomic int64_t sum_us;
    struct opg_histogram *next;
};

#define OPG_HISTOGRAM_INIT(name, labels, help)                                                     \
    {                                                                                              \
        name, labels, help, {0}, 0, 0, NULL                                                        \
    }

void opg_stats_register_histogram(struct opg_histogram *h);
void opg_stats_observe_ns(struct opg_histogram *h, int64_t ns);

/* Renders every registered metric in the Prometheus text exposition format. */
void opg_stats_render(struct opg_buf *out);

#endif
