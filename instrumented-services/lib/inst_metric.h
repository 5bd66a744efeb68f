/*
 * Metrics for OTLP: counters (cumulative monotonic sums), gauges and
 * histograms (explicit buckets in seconds, with exemplars pointing at the
 * span that was current when a value was recorded).
 *
 * A series is a metric name plus its attributes; series are created on first
 * use in a bounded table (values past it are dropped and counted). The
 * exporter collects every series at each metric interval; a histogram keeps
 * the exemplars recorded since the last collection (a bounded number), so
 * that each request's exemplar reaches the collector once.
 */
#ifndef INST_METRIC_H
#define INST_METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define INST_METRIC_MAX_ATTRS     4
#define INST_METRIC_MAX_EXEMPLARS 16
#define INST_HIST_BOUNDS          12

struct inst_kv {
    const char *key;
    const char *value;
};

/* Sizes the series table; call once before recording (default 512). */
void inst_metric_init(int max_series);
void inst_counter_add(const char *name, const char *unit, const struct inst_kv *attrs, int n,
                      int64_t delta);
void inst_gauge_set(const char *name, const char *unit, const struct inst_kv *attrs, int n,
                    double value);
/* Records value (seconds for durations) with an exemplar of the current span. */
void inst_histogram_record(const char *name, const char *unit, const struct inst_kv *attrs, int n,
                           double value);
/* Series refused because the table was full. */
uint64_t inst_metric_dropped(void);

/*
 * Builds one OTLP Metric message per metric name from every series, in a
 * (allocated from the arena; NULL on exhaustion), and forgets the exemplars
 * it took. Returns the number of metrics in *out.
 */
struct Opentelemetry__Proto__Metrics__V1__Metric;
size_t inst_metric_collect(struct opg_arena *a, int64_t start_ns,
                           struct Opentelemetry__Proto__Metrics__V1__Metric ***out);

#endif
