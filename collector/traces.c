#include "traces.h"
#include "decode.h"
#include "spans.h"
#include "otlp_json.h"

static int json_decode(const char *body, size_t len, struct opg_arena *arena, int max_depth,
                       void **out, char *err, size_t errlen)
{
    return opg_otlp_json_decode_traces(
        body, len, arena, max_depth,
        (Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest **)out, err, errlen);
}

static int encode(struct opg_batch *b, const ProtobufCMessage *req, struct opg_codec *codec,
                  const struct opg_ingest_opts *o)
{
    return opg_spans_encode(
        b, (const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *)req,
        codec, o);
}

int opg_traces_decode(const struct collector *col, const char *body, size_t len, bool json,
                      struct opg_batch *batch, char *err, size_t errlen)
{
    if (!json) {
        int ret = opg_decode_traces_scan(col, body, len, batch, err, errlen);
        if (ret != OPG_DECODE_DECLINED)
            return ret;
    }
    return opg_decode_signal(
        col, &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
        json_decode, encode, body, len, json, batch, err, errlen);
}

void opg_traces_write_response(bool json, size_t rejected, const char *msg, struct opg_buf *out)
{
    opg_write_export_response(json, "rejectedSpans", rejected, msg, out);
}
