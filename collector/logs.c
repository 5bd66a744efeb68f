#include "logs.h"
#include "decode.h"
#include "log_rows.h"
#include "otlp_json.h"

#include <microhttpd.h>
#include <stdio.h>

static int json_decode(const char *body, size_t len, struct opg_arena *arena, int max_depth,
                       void **out, char *err, size_t errlen)
{
    return opg_otlp_json_decode_logs(
        body, len, arena, max_depth,
        (Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest **)out, err, errlen);
}

int opg_logs_decode(const struct collector *col, const char *body, size_t len, bool json,
                    struct opg_batch *batch, char *err, size_t errlen)
{
    struct opg_arena *arena = NULL;
    ProtobufCMessage *msg = NULL;
    struct opg_ingest_opts opts = opg_ingest_opts_now(col);
    struct opg_codec *codec;
    int ret;

    ret = opg_decode_export(
        col, &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
        json_decode, body, len, json, &arena, &msg, err, errlen);
    if (ret)
        goto out_destroy_arena;
    codec = opg_codec_thread((int)col->cfg.zstd_level);
    if (!codec ||
        opg_logs_encode(batch,
                        (Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *)msg,
                        codec, &opts) < 0) {
        snprintf(err, errlen, "internal error while encoding log records");
        ret = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
out_destroy_arena:
    opg_arena_destroy(arena);
    return ret;
}

void opg_logs_write_response(bool json, size_t rejected, const char *msg, struct opg_buf *out)
{
    if (json) {
        struct opg_jw w;
        opg_jw_init(&w, out);
        opg_jw_obj_begin(&w);
        if (rejected) {
            opg_jw_key(&w, "partialSuccess");
            opg_jw_obj_begin(&w);
            opg_jw_key(&w, "rejectedLogRecords");
            opg_jw_int_str(&w, (int64_t)rejected);
            opg_jw_kstr(&w, "errorMessage", msg);
            opg_jw_obj_end(&w);
        }
        opg_jw_obj_end(&w);
        return;
    }
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
    size_t n;

    if (rejected) {
        ps.rejected_log_records = (int64_t)rejected;
        ps.error_message = (char *)msg;
        resp.partial_success = &ps;
    }
    n = opentelemetry__proto__collector__logs__v1__export_logs_service_response__get_packed_size(
        &resp);
    opg_buf_grow(out, n);
    opentelemetry__proto__collector__logs__v1__export_logs_service_response__pack(
        &resp, (uint8_t *)out->data + out->len);
    out->len += n;
}
