/*
 * OTLP/JSON: the protobuf JSON mapping with OTLP's exceptions (trace and span
 * IDs as hex, enums as integers), in both directions.
 *
 * Decoding fills the protobuf-c structs that protobuf decoding fills, so both
 * encodings share one pipeline. Encoding writes through opg_jw, streaming.
 */
#ifndef OPG_OTLP_JSON_H
#define OPG_OTLP_JSON_H

#include <stddef.h>

#include "arena.h"
#include "jsonw.h"
#include "otlp.h"

/* Decoder results. */
#define OPG_DECODE_OK      0
#define OPG_DECODE_INVALID (-1) /* not valid OTLP JSON: answer 400 */
#define OPG_DECODE_TOO_BIG (-2) /* the arena limit was reached: answer 413 */

/*
 * Decode an OTLP/JSON Export*ServiceRequest body.
 *
 * body[0..len) need not be NUL-terminated. Every struct and string of *out is
 * allocated from arena and lives as long as it; *out is the protobuf-c message
 * initialised with its _INIT macro, so it can be packed or walked like one
 * that protobuf_c_message_unpack() produced. max_depth bounds the nesting of
 * AnyValue arrays and kvlists (deeper input is OPG_DECODE_INVALID).
 * On failure, err (errlen bytes, may be NULL) holds a one-line reason such as
 * "resourceSpans[0].scopeSpans[1].spans[3].startTimeUnixNano: not an integer".
 *
 * IDs: a hex traceId/spanId/parentSpanId that is not valid hex of the right
 * length decodes to a 1-byte ID so that per-span validation rejects that span
 * alone (partial success) instead of the whole request. "" decodes to empty.
 */
int opg_otlp_json_decode_traces(
    const char *body, size_t len, struct opg_arena *arena, int max_depth,
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest **out, char *err,
    size_t errlen);
int opg_otlp_json_decode_logs(
    const char *body, size_t len, struct opg_arena *arena, int max_depth,
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest **out, char *err,
    size_t errlen);
int opg_otlp_json_decode_metrics(
    const char *body, size_t len, struct opg_arena *arena, int max_depth,
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest **out, char *err,
    size_t errlen);

/*
 * Encoders: each writes one JSON value (an object or array) to w.
 * 64-bit integers are written as JSON strings (the protobuf JSON mapping),
 * IDs as lowercase hex, bytes as base64, enums as integers, and fields with
 * their default value are omitted except where noted.
 */
void opg_otlp_json_encode_any_value(struct opg_jw *w,
                                    const Opentelemetry__Proto__Common__V1__AnyValue *v);
/* [ {"key":..,"value":{..}}, ... ] */
void opg_otlp_json_encode_attributes(struct opg_jw *w,
                                     Opentelemetry__Proto__Common__V1__KeyValue *const *kv,
                                     size_t n);
void opg_otlp_json_encode_resource(struct opg_jw *w,
                                   const Opentelemetry__Proto__Resource__V1__Resource *r);
void opg_otlp_json_encode_scope(struct opg_jw *w,
                                const Opentelemetry__Proto__Common__V1__InstrumentationScope *s);
void opg_otlp_json_encode_span(struct opg_jw *w, const Opentelemetry__Proto__Trace__V1__Span *s);
void opg_otlp_json_encode_log_record(struct opg_jw *w,
                                     const Opentelemetry__Proto__Logs__V1__LogRecord *r);
void opg_otlp_json_encode_metric(struct opg_jw *w,
                                 const Opentelemetry__Proto__Metrics__V1__Metric *m);
/* [ResourceSpans...], [ResourceLogs...], [ResourceMetrics...] arrays. */
void opg_otlp_json_encode_resource_spans(struct opg_jw *w,
                                         Opentelemetry__Proto__Trace__V1__ResourceSpans *const *rs,
                                         size_t n);
void opg_otlp_json_encode_resource_logs(struct opg_jw *w,
                                        Opentelemetry__Proto__Logs__V1__ResourceLogs *const *rl,
                                        size_t n);
void opg_otlp_json_encode_resource_metrics(
    struct opg_jw *w, Opentelemetry__Proto__Metrics__V1__ResourceMetrics *const *rm, size_t n);

#endif
