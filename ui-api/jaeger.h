/*
 * The Jaeger HTTP API JSON shapes (the ones Jaeger UI and Grafana's Jaeger
 * data source read), written from OTLP spans with the OTel → Jaeger mapping.
 */
#ifndef OPG_JAEGER_H
#define OPG_JAEGER_H

#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"
#include "otlp.h"

/*
 * Writes one trace object:
 *   {"traceID":"<32 hex>","spans":[...],"processes":{"p1":{...},...},"warnings":null}
 * from its spans grouped by resource (rs[0..n), borrowed). Each ResourceSpans
 * becomes a process ("p1", "p2", ... in order of appearance; identical
 * resources share one); every span of every ScopeSpans becomes a Jaeger span.
 */
void opg_jaeger_write_trace(struct opg_jw *w, const uint8_t trace_id[16],
                            Opentelemetry__Proto__Trace__V1__ResourceSpans *const *rs, size_t n);

#endif
