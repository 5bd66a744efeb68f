#include "spans.h"

#include <stdio.h>
#include <string.h>

#define SPAN_COLUMNS 12
/* A stored payload never decodes to more than this (a span is bounded by the
 * request size limit long before). */
#define MAX_DECODED_PAYLOAD (64u << 20)

typedef Opentelemetry__Proto__Trace__V1__Span otlp_span_t;

static const char *span_invalid(const otlp_span_t *s)
{
    if (!opg_otlp_id_valid(s->trace_id.data, s->trace_id.len, OPG_TRACE_ID_LEN))
        return "invalid trace_id (must be 16 bytes, not all zero)";
    if (!opg_otlp_id_valid(s->span_id.data, s->span_id.len, OPG_SPAN_ID_LEN))
        return "invalid span_id (must be 8 bytes, not all zero)";
    if (s->parent_span_id.len != 0 && s->parent_span_id.len != OPG_SPAN_ID_LEN)
        return "invalid parent_span_id (must be empty or 8 bytes)";
    return NULL;
}

/*
 * Adds the (service, operation, kind) triple for the operations listing,
 * once per request (the spans of a request mostly share a few triples):
 * each is checked against the hashes of those already added.
 */
static void note_operation(struct opg_batch *b, const ProtobufCBinaryData *service,
                           const char *name, int16_t kind)
{
    struct opg_buf *r;
    uint64_t h;
    char key[8];

    memcpy(key, &kind, sizeof(kind));
    h = opg_hash64(service->data, service->len) ^ (opg_hash64(name, strlen(name)) * 31) ^
        opg_hash64(key, sizeof(kind));
    for (size_t i = 0; i < b->n_ops; i++)
        if (b->ops[i] == h)
            return;
    if (b->n_ops < OPG_MAX_OPS_PER_BATCH)
        b->ops[b->n_ops++] = h;
    if (opg_batch_operation_known(h))
        return; /* committed already */
    r = opg_batch_row(b, OPG_STREAM_OPERATIONS, 3);
    opg_copy_text(r, (const char *)service->data, service->len);
    opg_copy_text(r, name, strlen(name));
    opg_copy_int2(r, kind);
}

/*
 * The payload keeps what the columns do not hold exactly: a name that had to
 * be sanitised for its text column, and enum values outside smallint.
 */
static int encode_span(struct opg_batch *b, const otlp_span_t *s, int64_t origin_id,
                       const Opentelemetry__Proto__Resource__V1__Resource *resource,
                       ProtobufCBinaryData service, struct opg_codec *codec,
                       const struct opg_ingest_opts *o, struct opg_buf *scratch)
{
    otlp_span_t rest = *s;
    Opentelemetry__Proto__Trace__V1__Status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    int code = s->status ? (int)s->status->code : 0;
    bool kind_fits = s->kind >= 0 && s->kind <= INT16_MAX;
    bool code_fits = code >= 0 && code <= INT16_MAX;
    const char *name = s->name ? s->name : "";
    bool name_fits = opg_text_clean(name, strlen(name));
    int32_t day = opg_batch_day(b, s->start_time_unix_nano, o);
    struct opg_buf *r;

    rest.trace_id.len = 0;
    rest.span_id.len = 0;
    rest.parent_span_id.len = 0;
    rest.start_time_unix_nano = 0;
    rest.end_time_unix_nano = 0;
    if (kind_fits)
        rest.kind = 0;
    if (name_fits)
        rest.name = (char *)"";
    rest.status = NULL;
    if (s->status) {
        st = *s->status;
        if (code_fits)
            st.code = 0;
        rest.status = &st; /* kept even when empty: its presence is part of the span */
    }

    /* The columns hold start and duration within int64 so that SQL can add
     * them; a span whose times do not fit (end before start, or past 2262)
     * keeps its exact times in the payload instead. */
    uint64_t start = s->start_time_unix_nano, end = s->end_time_unix_nano;
    bool times_fit = start <= (uint64_t)INT64_MAX && end >= start && end <= (uint64_t)INT64_MAX;
    if (!times_fit) {
        rest.start_time_unix_nano = start;
        rest.end_time_unix_nano = end;
        if (start > (uint64_t)INT64_MAX)
            start = (uint64_t)INT64_MAX;
        end = start;
    }

    r = opg_batch_row(b, OPG_STREAM_SPANS, SPAN_COLUMNS);
    opg_copy_int8(r, (int64_t)start);
    opg_copy_int8(r, (int64_t)(end - start));
    opg_copy_int8(r, origin_id);
    opg_copy_int4(r, day);
    opg_copy_int2(r, kind_fits ? (int16_t)s->kind : 0);
    opg_copy_int2(r, code_fits ? (int16_t)code : 0);
    opg_copy_bytes(r, s->trace_id.data, s->trace_id.len);
    opg_copy_bytes(r, s->span_id.data, s->span_id.len);
    if (s->parent_span_id.len)
        opg_copy_bytes(r, s->parent_span_id.data, s->parent_span_id.len);
    else
        opg_copy_null(r);
    opg_copy_text(r, (const char *)service.data, service.len);
    opg_copy_text(r, name, strlen(name));
    if (opg_copy_payload(r, codec, &rest.base, scratch) < 0)
        return -1;
    opg_batch_add_correlations(b, o, s->attributes, s->n_attributes, resource, OPG_CORR_TRACE,
                               s->trace_id.data, s->trace_id.len, (int64_t)start, day);
    note_operation(b, &service, name, kind_fits ? (int16_t)s->kind : 0);
    b->n_items++;
    return 0;
}

int opg_spans_encode(
    struct opg_batch *b,
    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req,
    struct opg_codec *codec, const struct opg_ingest_opts *o)
{
    struct opg_buf scratch = OPG_BUF_INIT;
    int ret = -1;

    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        /* looked up once per resource, not once per span */
        ProtobufCBinaryData service = opg_resource_service(rs->resource);

        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[j];
            int64_t origin_id = 0;
            bool have_origin = false;

            for (size_t k = 0; k < ss->n_spans; k++) {
                const char *why = span_invalid(ss->spans[k]);

                if (why) {
                    opg_batch_reject(b, why);
                    continue;
                }
                if (!have_origin) {
                    if (opg_batch_add_origin(b, rs->resource, rs->schema_url, ss->scope,
                                             ss->schema_url, codec, &scratch, &origin_id) < 0)
                        goto out;
                    have_origin = true;
                }
                if (encode_span(b, ss->spans[k], origin_id, rs->resource, service, codec, o,
                                &scratch) < 0)
                    goto out;
            }
        }
    }
    ret = 0;
out:
    opg_buf_release(&scratch);
    return ret;
}

static uint8_t *arena_copy(struct opg_arena *a, const void *p, size_t n)
{
    uint8_t *d = opg_arena_alloc(a, n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

otlp_span_t *opg_spans_decode(struct opg_arena *arena, struct opg_codec *codec,
                              const struct opg_span_row *row, struct opg_buf *scratch)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(arena);
    otlp_span_t *s;

    if (opg_codec_decode(codec, row->payload, row->payload_len, MAX_DECODED_PAYLOAD, scratch) < 0)
        return NULL;
    s = opentelemetry__proto__trace__v1__span__unpack(&al, scratch->len,
                                                      (const uint8_t *)scratch->data);
    if (!s)
        return NULL;
    s->trace_id.data = arena_copy(arena, row->trace_id, row->trace_id_len);
    s->trace_id.len = row->trace_id_len;
    s->span_id.data = arena_copy(arena, row->span_id, row->span_id_len);
    s->span_id.len = row->span_id_len;
    if (row->parent_span_id) {
        s->parent_span_id.data = arena_copy(arena, row->parent_span_id, row->parent_span_id_len);
        s->parent_span_id.len = row->parent_span_id_len;
    }
    if (!s->start_time_unix_nano && !s->end_time_unix_nano) {
        s->start_time_unix_nano = (uint64_t)row->start_ns;
        s->end_time_unix_nano = (uint64_t)row->start_ns + (uint64_t)row->duration_ns;
    }
    if (!s->kind)
        s->kind = row->kind;
    if (!s->name || !s->name[0])
        s->name = opg_arena_strndup(arena, row->name, row->name_len);
    if (row->status) {
        if (!s->status) {
            s->status = opg_arena_alloc(arena, sizeof(*s->status));
            if (!s->status)
                return NULL;
            opentelemetry__proto__trace__v1__status__init(s->status);
        }
        if (!s->status->code)
            s->status->code = row->status;
    }
    if (!s->trace_id.data || !s->span_id.data || !s->name)
        return NULL;
    return s;
}

Opentelemetry__Proto__Trace__V1__ResourceSpans *
opg_origin_decode(struct opg_arena *arena, struct opg_codec *codec, const uint8_t *payload,
                  size_t len, struct opg_buf *scratch)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(arena);
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs;

    if (opg_codec_decode(codec, payload, len, MAX_DECODED_PAYLOAD, scratch) < 0)
        return NULL;
    rs = opentelemetry__proto__trace__v1__resource_spans__unpack(&al, scratch->len,
                                                                 (const uint8_t *)scratch->data);
    if (!rs || rs->n_scope_spans != 1)
        return NULL;
    return rs;
}
