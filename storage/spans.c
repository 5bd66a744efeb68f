#include "spans.h"
#include "utf8.h"

#include <stdio.h>
#include <string.h>

#define SPAN_COLUMNS     12
#define ORIGIN_COLUMNS   3
#define SERVICE_NAME_KEY "service.name"
/* A stored payload never decodes to more than this (a span is bounded by the
 * request size limit long before). */
#define MAX_DECODED_PAYLOAD (64u << 20)

typedef Opentelemetry__Proto__Trace__V1__Span otlp_span_t;

void opg_span_batch_init(struct opg_span_batch *b)
{
    memset(b, 0, sizeof(*b));
}

void opg_span_batch_release(struct opg_span_batch *b)
{
    opg_buf_release(&b->span_rows);
    opg_buf_release(&b->origin_rows);
}

uint64_t opg_hash64(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static bool text_clean(const char *s, size_t n)
{
    return !memchr(s, '\0', n) && opg_utf8_valid(s, n);
}

void opg_text_sanitize(struct opg_buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t k = p[i] ? opg_utf8_seq_len(p + i, n - i) : 0;
        if (k) {
            opg_buf_add(out, p + i, k);
            i += k;
        } else {
            opg_buf_add(out, "\xef\xbf\xbd", 3);
            i++;
        }
    }
}

/* Binary COPY fields: a big-endian length, then the bytes (-1 for NULL). */
static void field_int8(struct opg_buf *b, int64_t v)
{
    opg_buf_add_be32(b, 8);
    opg_buf_add_be64(b, (uint64_t)v);
}

static void field_int4(struct opg_buf *b, int32_t v)
{
    opg_buf_add_be32(b, 4);
    opg_buf_add_be32(b, (uint32_t)v);
}

static void field_int2(struct opg_buf *b, int16_t v)
{
    opg_buf_add_be32(b, 2);
    opg_buf_add_be16(b, (uint16_t)v);
}

static void field_bytes(struct opg_buf *b, const void *p, size_t n)
{
    opg_buf_add_be32(b, (uint32_t)n);
    opg_buf_add(b, p, n);
}

static void field_null(struct opg_buf *b)
{
    opg_buf_add_be32(b, 0xffffffffu);
}

static void field_text(struct opg_buf *b, const char *s, size_t n)
{
    size_t at;

    if (text_clean(s, n)) {
        field_bytes(b, s, n);
        return;
    }
    at = b->len;
    opg_buf_add_be32(b, 0);
    opg_text_sanitize(b, s, n);
    {
        uint32_t len = (uint32_t)(b->len - at - 4);
        unsigned char *lp = (unsigned char *)b->data + at;
        lp[0] = (unsigned char)(len >> 24);
        lp[1] = (unsigned char)(len >> 16);
        lp[2] = (unsigned char)(len >> 8);
        lp[3] = (unsigned char)len;
    }
}

/* Appends a length-prefixed codec payload of msg; returns 0 or -1. */
static int field_payload(struct opg_buf *b, struct opg_codec *codec, const ProtobufCMessage *msg,
                         struct opg_buf *scratch)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    size_t at = b->len;
    uint32_t len;
    unsigned char *lp;

    opg_buf_reset(scratch);
    opg_buf_grow(scratch, n);
    protobuf_c_message_pack(msg, (uint8_t *)scratch->data);
    scratch->len = n;
    opg_buf_add_be32(b, 0);
    if (opg_codec_encode(codec, scratch->data, n, b) < 0)
        return -1;
    len = (uint32_t)(b->len - at - 4);
    lp = (unsigned char *)b->data + at;
    lp[0] = (unsigned char)(len >> 24);
    lp[1] = (unsigned char)(len >> 16);
    lp[2] = (unsigned char)(len >> 8);
    lp[3] = (unsigned char)len;
    return 0;
}

static int32_t span_day(uint64_t start, const struct opg_span_window *win)
{
    int64_t s = (int64_t)start;

    if (start > (uint64_t)INT64_MAX || s < win->now_ns - win->accept_past_ns ||
        s > win->now_ns + win->accept_future_ns)
        s = win->now_ns;
    return (int32_t)(s / OPG_NS_PER_DAY);
}

static void note_day(struct opg_span_batch *b, int32_t day)
{
    for (int i = b->n_days - 1; i >= 0; i--)
        if (b->days[i] == day)
            return;
    if (b->n_days < OPG_MAX_DAYS_PER_BATCH)
        b->days[b->n_days++] = day;
}

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

static void reject(struct opg_span_batch *b, const char *why, size_t n)
{
    if (!b->rejected)
        snprintf(b->reject_msg, sizeof(b->reject_msg), "%s", why);
    b->rejected += n;
}

/*
 * Encodes the origin of one ResourceSpans x ScopeSpans pair and returns its
 * ID. Pairs repeat within a request only when a client splits one scope, so
 * the tuple is simply written again; the writer keeps one per ID.
 */
static int encode_origin(struct opg_span_batch *b,
                         const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs,
                         const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss,
                         const ProtobufCBinaryData *service, struct opg_codec *codec,
                         struct opg_buf *scratch, int64_t *id)
{
    Opentelemetry__Proto__Trace__V1__ResourceSpans o =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans sc =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *scp = &sc;
    size_t n;

    o.resource = rs->resource;
    o.schema_url = rs->schema_url;
    sc.scope = ss->scope;
    sc.schema_url = ss->schema_url;
    o.n_scope_spans = 1;
    o.scope_spans = &scp;

    n = protobuf_c_message_get_packed_size(&o.base);
    opg_buf_reset(scratch);
    opg_buf_grow(scratch, n);
    protobuf_c_message_pack(&o.base, (uint8_t *)scratch->data);
    scratch->len = n;
    *id = (int64_t)opg_hash64(scratch->data, n);

    opg_buf_add_be16(&b->origin_rows, ORIGIN_COLUMNS);
    field_int8(&b->origin_rows, *id);
    field_text(&b->origin_rows, (const char *)service->data, service->len);
    {
        size_t at = b->origin_rows.len;
        uint32_t len;
        unsigned char *lp;

        opg_buf_add_be32(&b->origin_rows, 0);
        if (opg_codec_encode(codec, scratch->data, n, &b->origin_rows) < 0)
            return -1;
        len = (uint32_t)(b->origin_rows.len - at - 4);
        lp = (unsigned char *)b->origin_rows.data + at;
        lp[0] = (unsigned char)(len >> 24);
        lp[1] = (unsigned char)(len >> 16);
        lp[2] = (unsigned char)(len >> 8);
        lp[3] = (unsigned char)len;
    }
    b->n_origins++;
    return 0;
}

/*
 * The payload keeps what the columns do not hold exactly: a name that had to
 * be sanitised for its text column, and enum values outside smallint.
 */
static int encode_span(struct opg_span_batch *b, const otlp_span_t *s, int64_t origin_id,
                       const ProtobufCBinaryData *service, struct opg_codec *codec,
                       const struct opg_span_window *win, struct opg_buf *scratch)
{
    otlp_span_t rest = *s;
    Opentelemetry__Proto__Trace__V1__Status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    int code = s->status ? (int)s->status->code : 0;
    bool kind_fits = s->kind >= 0 && s->kind <= INT16_MAX;
    bool code_fits = code >= 0 && code <= INT16_MAX;
    const char *name = s->name ? s->name : "";
    bool name_fits = text_clean(name, strlen(name));
    int32_t day = span_day(s->start_time_unix_nano, win);
    struct opg_buf *r = &b->span_rows;

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

    opg_buf_add_be16(r, SPAN_COLUMNS);
    field_int8(r, (int64_t)start);
    field_int8(r, (int64_t)(end - start));
    field_int8(r, origin_id);
    field_int4(r, day);
    field_int2(r, kind_fits ? (int16_t)s->kind : 0);
    field_int2(r, code_fits ? (int16_t)code : 0);
    field_bytes(r, s->trace_id.data, s->trace_id.len);
    field_bytes(r, s->span_id.data, s->span_id.len);
    if (s->parent_span_id.len)
        field_bytes(r, s->parent_span_id.data, s->parent_span_id.len);
    else
        field_null(r);
    field_text(r, (const char *)service->data, service->len);
    field_text(r, name, strlen(name));
    if (field_payload(r, codec, &rest.base, scratch) < 0)
        return -1;
    note_day(b, day);
    b->n_spans++;
    return 0;
}

int opg_spans_encode(
    struct opg_span_batch *b,
    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req,
    struct opg_codec *codec, const struct opg_span_window *win)
{
    struct opg_buf scratch = OPG_BUF_INIT;
    int ret = -1;

    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        static const ProtobufCBinaryData no_service = {0, (uint8_t *)""};
        const ProtobufCBinaryData *service = NULL;

        if (rs->resource)
            service = opg_otlp_attr_str(rs->resource->attributes, rs->resource->n_attributes,
                                        SERVICE_NAME_KEY);
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[j];
            int64_t origin_id = 0;
            bool have_origin = false;

            for (size_t k = 0; k < ss->n_spans; k++) {
                const char *why = span_invalid(ss->spans[k]);

                if (why) {
                    reject(b, why, 1);
                    continue;
                }
                if (!have_origin) {
                    if (encode_origin(b, rs, ss, service ? service : &no_service, codec, &scratch,
                                      &origin_id) < 0)
                        goto out;
                    have_origin = true;
                }
                if (encode_span(b, ss->spans[k], origin_id, service ? service : &no_service, codec,
                                win, &scratch) < 0)
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
