/*
 * Fuzz target: an OTLP/JSON body. The first byte picks the signal; the rest
 * goes through the JSON decoder into a bounded arena, and the decoded
 * message is encoded back to JSON (the API's path for stored data).
 */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "otlp_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct opg_arena *arena;
    struct opg_buf out = OPG_BUF_INIT;
    struct opg_jw w;
    char err[256];
    void *msg = NULL;
    int signal, rc;

    if (size < 1)
        return 0;
    signal = data[0] % 3;
    data++;
    size--;
    arena = opg_arena_create(16 * size + (1u << 20));
    opg_jw_init(&w, &out);
    if (signal == 0) {
        rc = opg_otlp_json_decode_traces((const char *)data, size, arena, 32, (void *)&msg, err,
                                         sizeof(err));
        if (rc == OPG_DECODE_OK) {
            Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r = msg;
            opg_otlp_json_encode_resource_spans(&w, r->resource_spans, r->n_resource_spans);
        }
    } else if (signal == 1) {
        rc = opg_otlp_json_decode_logs((const char *)data, size, arena, 32, (void *)&msg, err,
                                       sizeof(err));
        if (rc == OPG_DECODE_OK) {
            Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *r = msg;
            opg_otlp_json_encode_resource_logs(&w, r->resource_logs, r->n_resource_logs);
        }
    } else {
        rc = opg_otlp_json_decode_metrics((const char *)data, size, arena, 32, (void *)&msg, err,
                                          sizeof(err));
        if (rc == OPG_DECODE_OK) {
            Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *r = msg;
            opg_otlp_json_encode_resource_metrics(&w, r->resource_metrics, r->n_resource_metrics);
        }
    }
    opg_buf_release(&out);
    opg_arena_destroy(arena);
    return 0;
}
