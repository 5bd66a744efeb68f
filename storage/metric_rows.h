/*
 * Metrics as rows: the encoding the collector hands to the writer, the
 * decoding the query API uses to rebuild points and series exactly as
 * received, and the exemplar look-up by trace that other signals use.
 *
 * A request becomes rows of a batch (batch.h): one origin per resource +
 * scope (shared with spans and logs), one series per distinct metric stream
 * (origin, name, kind, unit, temporality, monotonic, point attributes), one
 * point per data point, and one exemplar per exemplar that names a trace.
 */
#ifndef OPG_METRIC_ROWS_H
#define OPG_METRIC_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "arena.h"
#include "batch.h"
#include "buf.h"
#include "codec.h"
#include "jsonw.h"
#include "otlp.h"

/* metric_series.kind */
enum opg_metric_kind {
    OPG_METRIC_NONE = 0,
    OPG_METRIC_GAUGE = 1,
    OPG_METRIC_SUM = 2,
    OPG_METRIC_HISTOGRAM = 3,
    OPG_METRIC_EXP_HISTOGRAM = 4,
    OPG_METRIC_SUMMARY = 5,
};

/* metric_series.temporality (AggregationTemporality's values) */
#define OPG_TEMPORALITY_UNSPECIFIED 0
#define OPG_TEMPORALITY_DELTA       1
#define OPG_TEMPORALITY_CUMULATIVE  2

/* "gauge", "sum", "histogram", "exponential_histogram", "summary"; "unknown" otherwise. */
const char *opg_metric_kind_name(int kind);
/* "unspecified", "delta", "cumulative"; "unknown" otherwise. */
const char *opg_metric_temporality_name(int temporality);

/*
 * Encodes every data point of req into b (freshly initialised): the origin,
 * series, point and exemplar rows described above. Points of a metric with
 * no name or no data kind are counted in b->rejected and left out; odd
 * values (NaN, empty names of attributes, huge bucket arrays) are stored as
 * received. b->n_items counts the points stored. req and codec are borrowed.
 * Returns 0, or -1 if encoding failed (the batch must then be discarded).
 */
int opg_metrics_encode(
    struct opg_batch *b,
    const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req,
    struct opg_codec *codec, const struct opg_ingest_opts *o);

/*
 * The series ID of a data point with attributes attrs[0..n) in a metric of
 * the given identity: the 64-bit hash of a canonical encoding, attributes
 * sorted by key, so the same stream always gets the same ID. All borrowed.
 */
int64_t opg_metrics_series_id(int64_t origin_id, int kind, int temporality, bool monotonic,
                              const char *name, const char *unit,
                              Opentelemetry__Proto__Common__V1__KeyValue *const *attrs, size_t n);

/*
 * Appends attrs as one JSON object {"key": value} to out, as the series'
 * attributes column holds them: strings as strings, integers and doubles as
 * numbers (non-finite doubles as "NaN"/"Infinity" strings), booleans, bytes
 * as base64, arrays and kvlists as their OTLP JSON. The text is always
 * accepted by jsonb (\u0000 becomes U+FFFD). attrs is borrowed.
 */
void opg_metrics_attrs_json(struct opg_buf *out,
                            Opentelemetry__Proto__Common__V1__KeyValue *const *attrs, size_t n);

/*
 * A data point rebuilt from its payload (a metric_points.payload of a series
 * of the given kind), allocated from arena; scratch is reused between calls.
 * Returns the point (a NumberDataPoint for gauges and sums, a
 * HistogramDataPoint, ExponentialHistogramDataPoint or SummaryDataPoint),
 * or NULL if the payload is corrupt, the kind unknown or the arena full.
 */
ProtobufCMessage *opg_metrics_decode_point(struct opg_arena *arena, struct opg_codec *codec,
                                           int kind, const uint8_t *payload, size_t len,
                                           struct opg_buf *scratch);

/*
 * A series rebuilt from its body (metric_series.body): a Metric with name,
 * description, unit, metadata and its kind's message holding exactly one
 * data point, which carries the series' attributes and nothing else.
 * Allocated from arena; NULL if corrupt.
 */
Opentelemetry__Proto__Metrics__V1__Metric *
opg_metrics_decode_series(struct opg_arena *arena, struct opg_codec *codec, const uint8_t *body,
                          size_t len, struct opg_buf *scratch);

/*
 * Writes point (of a series of the given kind, as opg_metrics_decode_point
 * returns it) as its OTLP/JSON object to w. Both borrowed.
 */
void opg_metrics_write_point_json(struct opg_jw *w, int kind, const ProtobufCMessage *point);

/*
 * Writes ONE JSON array value to w: the exemplars that point at one of the
 * traces trace_ids[0..n_traces), newest first, at most limit of them
 * (*truncated set when there were more), each as
 *   {"name","kind","unit","service","attributes":{...},
 *    "exemplar":{"timeUnixNano":"...","value":N,"traceId":"hex","spanId":"hex"},
 *    "point":<OTLP JSON of the data point it came with, or null>}
 * conn, codec and trace_ids are borrowed. Returns 0, or -1 with err filled
 * (w then holds a partial value and must be discarded).
 */
int opg_metrics_write_exemplars_for(PGconn *conn, struct opg_codec *codec,
                                    const uint8_t (*trace_ids)[16], size_t n_traces, size_t limit,
                                    struct opg_jw *w, bool *truncated, char *err, size_t errlen);

#endif
