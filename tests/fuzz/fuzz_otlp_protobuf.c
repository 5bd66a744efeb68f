/*
 * Fuzz target: an OTLP/HTTP protobuf body, as the collector takes it. The
 * first byte picks the signal; the rest goes through the nesting check,
 * protobuf-c's unpack into a bounded arena, and the signal's encoder into
 * batch rows, exactly as in collector/decode.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "batch.h"
#include "codec.h"
#include "log_rows.h"
#include "metric_rows.h"
#include "spans.h"

static const char *const keys[] = {"correlation.id", "order.id"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct opg_codec *codec;
    const ProtobufCMessageDescriptor *desc;
    struct opg_ingest_opts o = {
        1795280642000000000LL, 7 * OPG_NS_PER_DAY, OPG_NS_PER_DAY, keys, 2, 256};
    struct opg_arena *arena;
    ProtobufCAllocator al;
    ProtobufCMessage *msg;
    struct opg_batch b;
    int signal;

    if (size < 1)
        return 0;
    if (!codec)
        codec = opg_codec_create(1);
    signal = data[0] % 3;
    data++;
    size--;
    desc =
        signal == 0
            ? &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor
        : signal == 1
            ? &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor
            : &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
    if (opg_pb_check_depth(desc, data, size, 8 + 2 * 32) < 0)
        return 0;
    arena = opg_arena_create(16 * size + (1u << 20));
    al = opg_arena_pb_allocator(arena);
    msg = protobuf_c_message_unpack(desc, &al, size, data);
    if (msg) {
        opg_batch_init(&b, (enum opg_signal)signal);
        if (signal == 0)
            opg_spans_encode(&b, (void *)msg, codec, &o);
        else if (signal == 1)
            opg_logs_encode(&b, (void *)msg, codec, &o);
        else
            opg_metrics_encode(&b, (void *)msg, codec, &o);
        opg_batch_release(&b);
    }
    opg_arena_destroy(arena);
    return 0;
}
