#include "traces.h"
#include "log.h"
#include "otlp_json.h"

#include <microhttpd.h>
#include <stdio.h>

/* Decoded structures may take this many times the body's size, plus a floor,
 * before the request is refused: a few bytes of protobuf can stand for a
 * large empty message, and this keeps such bodies from expanding unbounded. */
#define DECODE_MEMORY_RATIO 16
#define DECODE_MEMORY_FLOOR (1u << 20)

int opg_traces_decode(const struct collector_config *cfg, const char *body, size_t len, bool json,
                      struct opg_span_batch *batch, char *err, size_t errlen)
{
    struct opg_arena *arena = opg_arena_create(DECODE_MEMORY_RATIO * len + DECODE_MEMORY_FLOOR);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req = NULL;
    struct opg_span_window win;
    struct opg_codec *codec;
    int ret = MHD_HTTP_BAD_REQUEST;

    if (json) {
        int rc = opg_otlp_json_decode_traces(body ? body : "{}", body ? len : 2, arena,
                                             (int)cfg->max_anyvalue_depth, &req, err, errlen);
        if (rc == OPG_DECODE_TOO_BIG) {
            ret = MHD_HTTP_CONTENT_TOO_LARGE;
            goto out;
        }
        if (rc != OPG_DECODE_OK)
            goto out;
    } else {
        ProtobufCAllocator al = opg_arena_pb_allocator(arena);
        /* request > resource spans > scope spans > span > key-value > any
         * value: six levels before attribute values nest */
        if (opg_pb_check_depth(
                &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
                (const uint8_t *)(body ? body : ""), len,
                6 + 2 * (int)cfg->max_anyvalue_depth) < 0) {
            snprintf(err, errlen, "attribute values nest deeper than %lld levels",
                     cfg->max_anyvalue_depth);
            goto out;
        }
        req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            &al, len, (const uint8_t *)(body ? body : ""));
        if (!req) {
            if (opg_arena_exhausted(arena)) {
                snprintf(err, errlen, "the request decodes to more memory than allowed");
                ret = MHD_HTTP_CONTENT_TOO_LARGE;
            } else {
                snprintf(err, errlen,
                         "cannot decode the body as an ExportTraceServiceRequest "
                         "protobuf message");
            }
            goto out;
        }
    }
    codec = opg_codec_thread((int)cfg->zstd_level);
    win.now_ns = opg_now_wall_ns();
    win.accept_past_ns = cfg->accept_past_ms * 1000000LL;
    win.accept_future_ns = cfg->accept_future_ms * 1000000LL;
    if (!codec || opg_spans_encode(batch, req, codec, &win) < 0) {
        snprintf(err, errlen, "internal error while encoding spans");
        ret = MHD_HTTP_INTERNAL_SERVER_ERROR;
        goto out;
    }
    ret = 0;
out:
    opg_arena_destroy(arena);
    return ret;
}

void opg_traces_write_response(bool json, size_t rejected, const char *msg, struct opg_buf *out)
{
    if (json) {
        struct opg_jw w;
        opg_jw_init(&w, out);
        opg_jw_obj_begin(&w);
        if (rejected) {
            opg_jw_key(&w, "partialSuccess");
            opg_jw_obj_begin(&w);
            opg_jw_key(&w, "rejectedSpans");
            opg_jw_int_str(&w, (int64_t)rejected);
            opg_jw_kstr(&w, "errorMessage", msg);
            opg_jw_obj_end(&w);
        }
        opg_jw_obj_end(&w);
        return;
    }
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    size_t n;

    if (rejected) {
        ps.rejected_spans = (int64_t)rejected;
        ps.error_message = (char *)msg;
        resp.partial_success = &ps;
    }
    n = opentelemetry__proto__collector__trace__v1__export_trace_service_response__get_packed_size(
        &resp);
    opg_buf_grow(out, n);
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(
        &resp, (uint8_t *)out->data + out->len);
    out->len += n;
}
