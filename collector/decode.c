#include "decode.h"
#include "log.h"
#include "codec.h"
#include "jsonw.h"
#include "otlp_json.h"
#include "otlp_scan.h"
#include "spans.h"

#include <microhttpd.h>
#include <stdio.h>

/* Decoded structures may take this many times the body's size, plus a floor,
 * before the request is refused: a few bytes of protobuf can stand for a
 * large empty message, and this keeps such bodies from expanding unbounded. */
#define DECODE_MEMORY_RATIO 16
#define DECODE_MEMORY_FLOOR (1u << 20)
/* Export request > resource > scope > item > key-value > any value: the
 * levels before attribute values start nesting (a metric point sits one
 * deeper, a histogram exemplar two). */
#define DEPTH_BEFORE_VALUES 8

/*
 * No decoded string is longer than the body it came from (protobuf, or
 * JSON whose escapes only shrink): within a body no longer than the limit,
 * the lengths need no checking.
 */
static int check_limits(const struct collector *col, const ProtobufCMessage *msg, size_t body_len,
                        char *err, size_t errlen)
{
    size_t max_len = (size_t)col->cfg.max_attribute_length;

    if (body_len <= max_len)
        max_len = OPG_PB_NO_LENGTH_LIMIT;
    if (opg_pb_check_limits(msg, (size_t)col->cfg.max_attributes, max_len, err, errlen) < 0)
        return MHD_HTTP_CONTENT_TOO_LARGE;
    return 0;
}

int opg_decode_export(const struct collector *col, const ProtobufCMessageDescriptor *desc,
                      opg_json_decode_fn *json_decode, const char *body, size_t len, bool json,
                      struct opg_arena **arena, ProtobufCMessage **msg, char *err, size_t errlen)
{
    int depth = (int)col->cfg.max_anyvalue_depth;

    *arena = opg_arena_create(DECODE_MEMORY_RATIO * len + DECODE_MEMORY_FLOOR);
    *msg = NULL;
    if (!body) {
        body = json ? "{}" : "";
        len = json ? 2 : 0;
    }
    if (json) {
        int rc = json_decode(body, len, *arena, depth, (void **)msg, err, errlen);
        if (rc == OPG_DECODE_TOO_BIG)
            return MHD_HTTP_CONTENT_TOO_LARGE;
        if (rc != OPG_DECODE_OK)
            return MHD_HTTP_BAD_REQUEST;
        return check_limits(col, *msg, len, err, errlen);
    }
    /* protobuf-c's unpack recurses once per nesting level: check first, and
     * the other limits in the same pass over the wire */
    switch (opg_pb_check_wire(desc, (const uint8_t *)body, len, DEPTH_BEFORE_VALUES + 2 * depth,
                              (size_t)col->cfg.max_attributes,
                              (size_t)col->cfg.max_attribute_length, err, errlen)) {
    case OPG_PB_TOO_DEEP:
        snprintf(err, errlen, "attribute values nest deeper than %d levels", depth);
        return MHD_HTTP_BAD_REQUEST;
    case OPG_PB_TOO_LARGE:
        return MHD_HTTP_CONTENT_TOO_LARGE;
    default:
        break;
    }
    {
        ProtobufCAllocator al = opg_arena_pb_allocator(*arena);
        *msg = protobuf_c_message_unpack(desc, &al, len, (const uint8_t *)body);
    }
    if (*msg)
        return 0;
    if (opg_arena_exhausted(*arena)) {
        snprintf(err, errlen, "the request decodes to more memory than allowed");
        return MHD_HTTP_CONTENT_TOO_LARGE;
    }
    snprintf(err, errlen, "cannot decode the body as a protobuf %s", desc->short_name);
    return MHD_HTTP_BAD_REQUEST;
}

int opg_decode_traces_scan(const struct collector *col, const char *body, size_t len,
                           struct opg_batch *batch, char *err, size_t errlen)
{
    struct opg_scan_limits lim = {
        .max_depth = DEPTH_BEFORE_VALUES + 2 * (int)col->cfg.max_anyvalue_depth,
        .max_attrs = (size_t)col->cfg.max_attributes,
        .max_len = (size_t)col->cfg.max_attribute_length,
        .max_memory = DECODE_MEMORY_RATIO * len + DECODE_MEMORY_FLOOR,
    };
    struct opg_ingest_opts opts = opg_ingest_opts_now(col);
    struct opg_trace_scan scan = {0};
    struct opg_arena *arena = opg_arena_create(0);
    struct opg_codec *codec;
    int ret = OPG_DECODE_DECLINED;

    if (!body)
        body = "";
    if (opg_trace_scan_read(&scan, (const uint8_t *)body, len, &lim, opts.corr_keys,
                            opts.n_corr_keys, arena) < 0)
        goto out_release;
    opts.raw_body = (const uint8_t *)body;
    opts.raw_len = len;
    codec = opg_codec_thread((int)col->cfg.zstd_level);
    if (codec)
        opg_codec_use_dicts(codec, col->cfg.zstd_dicts, (int)col->cfg.zstd_block_level);
    ret = codec ? opg_spans_encode_scan(batch, &scan, codec, &opts) : -1;
    if (ret < 0) {
        snprintf(err, errlen, "internal error while encoding the request");
        ret = MHD_HTTP_INTERNAL_SERVER_ERROR;
    } else if (ret == 1) {
        ret = OPG_DECODE_DECLINED;
    }
out_release:
    opg_trace_scan_release(&scan);
    opg_arena_destroy(arena);
    return ret;
}

struct opg_ingest_opts opg_ingest_opts_now(const struct collector *col)
{
    /* A day the retention would drop is not a day to file data under: such
     * items go to the day they arrived, like any time outside the window
     * (and the writer never races the maintenance thread's DROP). */
    long long past_ms = col->cfg.accept_past_ms;
    if (col->cfg.retention_ms > 0 && past_ms > col->cfg.retention_ms - 86400000LL)
        past_ms = col->cfg.retention_ms > 86400000LL ? col->cfg.retention_ms - 86400000LL : 0;
    struct opg_ingest_opts o = {
        .now_ns = opg_now_wall_ns(),
        .accept_past_ns = past_ms * 1000000LL,
        .accept_future_ns = col->cfg.accept_future_ms * 1000000LL,
        .corr_keys = (const char *const *)col->corr_keys,
        .n_corr_keys = col->n_corr_keys,
        .max_corr_len = 256,
    };
    return o;
}

int opg_decode_signal(const struct collector *col, const ProtobufCMessageDescriptor *desc,
                      opg_json_decode_fn *json_decode, opg_signal_encode_fn *encode,
                      const char *body, size_t len, bool json, struct opg_batch *batch, char *err,
                      size_t errlen)
{
    struct opg_arena *arena = NULL;
    ProtobufCMessage *msg = NULL;
    struct opg_ingest_opts opts = opg_ingest_opts_now(col);
    struct opg_codec *codec;
    int ret;

    ret = opg_decode_export(col, desc, json_decode, body, len, json, &arena, &msg, err, errlen);
    if (ret)
        goto out_destroy_arena;
    if (!json) {
        opts.raw_body = (const uint8_t *)body;
        opts.raw_len = len;
    }
    codec = opg_codec_thread((int)col->cfg.zstd_level);
    if (codec)
        opg_codec_use_dicts(codec, col->cfg.zstd_dicts, (int)col->cfg.zstd_block_level);
    if (!codec || encode(batch, msg, codec, &opts) < 0) {
        snprintf(err, errlen, "internal error while encoding the request");
        ret = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
out_destroy_arena:
    opg_arena_destroy(arena);
    return ret;
}

void opg_write_export_response(bool json, const char *rejected_key, size_t rejected,
                               const char *msg, struct opg_buf *out)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    size_t n;

    if (json) {
        struct opg_jw w;

        opg_jw_init(&w, out);
        opg_jw_obj_begin(&w);
        if (rejected) {
            opg_jw_key(&w, "partialSuccess");
            opg_jw_obj_begin(&w);
            opg_jw_key(&w, rejected_key);
            opg_jw_int_str(&w, (int64_t)rejected);
            opg_jw_kstr(&w, "errorMessage", msg);
            opg_jw_obj_end(&w);
        }
        opg_jw_obj_end(&w);
        return;
    }
    if (rejected) {
        ps.rejected_spans = (int64_t)rejected;
        ps.error_message = (char *)msg;
        resp.partial_success = &ps;
    }
    n = protobuf_c_message_get_packed_size(&resp.base);
    opg_buf_grow(out, n);
    protobuf_c_message_pack(&resp.base, (uint8_t *)out->data + out->len);
    out->len += n;
}
