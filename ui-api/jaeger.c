/*
 * Jaeger JSON: see jaeger.h.
 *
 * The mapping follows the OTel → Jaeger translator of the OpenTelemetry
 * Collector (pkg/translator/jaeger in opentelemetry-collector-contrib, which
 * Jaeger itself uses for OTLP) and the value encoding of Jaeger's UI model
 * (internal/uimodel/converter/v1/json/from_domain.go in jaegertracing/jaeger).
 */
#include "jaeger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* What the OTel SDK calls a service that did not name itself. */
#define JAEGER_NO_SERVICE_NAME "unknown_service"

/*
 * Jaeger's UI model writes int64 tags as JSON numbers only inside
 * JavaScript's safe-integer range, and as decimal strings outside it, since
 * the UI would otherwise round them.
 */
#define JS_MAX_SAFE_INTEGER ((INT64_C(1) << 53) - 1)

static void write_tag_str(struct opg_jw *w, const char *key, const char *value)
{
    opg_jw_obj_begin(w);
    opg_jw_kstr(w, "key", key);
    opg_jw_kstr(w, "type", "string");
    opg_jw_kstr(w, "value", value);
    opg_jw_obj_end(w);
}

static void write_tag_bool(struct opg_jw *w, const char *key, bool value)
{
    opg_jw_obj_begin(w);
    opg_jw_kstr(w, "key", key);
    opg_jw_kstr(w, "type", "bool");
    opg_jw_kbool(w, "value", value);
    opg_jw_obj_end(w);
}

/*
 * The plain-JSON form of an array or kvlist value (pcommon's Value.AsString,
 * which the translator uses): arrays as arrays, kvlists as objects, scalars
 * as themselves, bytes as base64, no value as null.
 */
static void write_raw_value(struct opg_jw *w, const Opentelemetry__Proto__Common__V1__AnyValue *v)
{
    /* Past the writer's depth limit its commas go wrong; stop early instead. */
    if (!v || w->depth + 2 >= OPG_JSONW_MAX_DEPTH) {
        opg_jw_null(w);
        return;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        opg_jw_str(w, (const char *)v->string_value.data, v->string_value.len);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        opg_jw_bool(w, v->bool_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        opg_jw_int(w, v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        opg_jw_double(w, v->double_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        opg_jw_base64(w, v->bytes_value.data, v->bytes_value.len);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        opg_jw_arr_begin(w);
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++)
            write_raw_value(w, v->array_value->values[i]);
        opg_jw_arr_end(w);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        opg_jw_obj_begin(w);
        for (size_t i = 0; v->kvlist_value && i < v->kvlist_value->n_values; i++) {
            opg_jw_key(w, v->kvlist_value->values[i]->key ? v->kvlist_value->values[i]->key : "");
            write_raw_value(w, v->kvlist_value->values[i]->value);
        }
        opg_jw_obj_end(w);
        break;
    default:
        opg_jw_null(w);
    }
}

static void write_tag(struct opg_jw *w, const Opentelemetry__Proto__Common__V1__KeyValue *kv)
{
    const Opentelemetry__Proto__Common__V1__AnyValue *v = kv->value;
    int vc = v ? (int)v->value_case : 0;

    opg_jw_obj_begin(w);
    opg_jw_kstr(w, "key", kv->key);
    switch (vc) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        opg_jw_kstr(w, "type", "bool");
        opg_jw_kbool(w, "value", v->bool_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        opg_jw_kstr(w, "type", "int64");
        opg_jw_key(w, "value");
        if (v->int_value > JS_MAX_SAFE_INTEGER || v->int_value < -JS_MAX_SAFE_INTEGER)
            opg_jw_int_str(w, v->int_value);
        else
            opg_jw_int(w, v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        opg_jw_kstr(w, "type", "float64");
        opg_jw_key(w, "value");
        opg_jw_double(w, v->double_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        opg_jw_kstr(w, "type", "binary");
        opg_jw_key(w, "value");
        opg_jw_base64(w, v->bytes_value.data, v->bytes_value.len);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        /* Jaeger tags are flat: structured values travel as their JSON text. */
        struct opg_buf text = OPG_BUF_INIT;
        struct opg_jw tw;

        opg_jw_init(&tw, &text);
        write_raw_value(&tw, v);
        opg_jw_kstr(w, "type", "string");
        opg_jw_key(w, "value");
        opg_jw_str(w, text.data, text.len);
        opg_buf_release(&text);
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        opg_jw_kstr(w, "type", "string");
        opg_jw_key(w, "value");
        opg_jw_str(w, (const char *)v->string_value.data, v->string_value.len);
        break;
    default:
        /* An attribute without a value: the translator's empty string tag. */
        opg_jw_kstr(w, "type", "string");
        opg_jw_kstr(w, "value", "");
    }
    opg_jw_obj_end(w);
}

static bool is_zero_id(const ProtobufCBinaryData *id)
{
    for (size_t i = 0; i < id->len; i++)
        if (id->data[i])
            return false;
    return true;
}

static bool same_bytes(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
    return a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len));
}

/* A link says CHILD_OF only through the OpenTracing attribute that carries it. */
static const char *link_ref_type(const Opentelemetry__Proto__Trace__V1__Span__Link *l)
{
    const ProtobufCBinaryData *t =
        opg_otlp_attr_str(l->attributes, l->n_attributes, "opentracing.ref_type");

    return t && t->len == 8 && !memcmp(t->data, "child_of", 8) ? "CHILD_OF" : "FOLLOWS_FROM";
}

static void write_ref(struct opg_jw *w, const char *type, const ProtobufCBinaryData *trace_id,
                      const ProtobufCBinaryData *span_id)
{
    opg_jw_obj_begin(w);
    opg_jw_kstr(w, "refType", type);
    opg_jw_key(w, "traceID");
    opg_jw_hex(w, trace_id->data, trace_id->len);
    opg_jw_key(w, "spanID");
    opg_jw_hex(w, span_id->data, span_id->len);
    opg_jw_obj_end(w);
}

/*
 * The parent comes first, always as CHILD_OF (readers build the span tree
 * from it), then the links. A link to the parent itself is not repeated.
 * The collector-contrib translator instead lets such a link turn the parent
 * reference into FOLLOWS_FROM, which breaks the tree in Jaeger UI; the OTLP
 * parent is a child-of relation whatever else links to it.
 */
static void write_references(struct opg_jw *w, const Opentelemetry__Proto__Trace__V1__Span *s)
{
    bool has_parent = s->parent_span_id.len && !is_zero_id(&s->parent_span_id);

    opg_jw_key(w, "references");
    opg_jw_arr_begin(w);
    if (has_parent)
        write_ref(w, "CHILD_OF", &s->trace_id, &s->parent_span_id);
    for (size_t i = 0; i < s->n_links; i++) {
        const Opentelemetry__Proto__Trace__V1__Span__Link *l = s->links[i];

        if (has_parent && same_bytes(&l->trace_id, &s->trace_id) &&
            same_bytes(&l->span_id, &s->parent_span_id))
            continue;
        write_ref(w, link_ref_type(l), &l->trace_id, &l->span_id);
    }
    opg_jw_arr_end(w);
}

static const char *span_kind_name(int kind)
{
    switch (kind) {
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL:
        return "internal";
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER:
        return "server";
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT:
        return "client";
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER:
        return "producer";
    case OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER:
        return "consumer";
    default:
        return NULL;
    }
}

/* In the translator's order: scope, attributes, kind, status, trace state. */
static void write_Opentelemetry__Proto__Trace__V1__Spanags(
    struct opg_jw *w, const Opentelemetry__Proto__Trace__V1__Span *s,
    const Opentelemetry__Proto__Common__V1__InstrumentationScope *scope)
{
    const char *kind = span_kind_name(s->kind);
    int code = s->status ? (int)s->status->code : 0;

    opg_jw_key(w, "tags");
    opg_jw_arr_begin(w);
    if (scope && scope->name && *scope->name)
        write_tag_str(w, "otel.scope.name", scope->name);
    if (scope && scope->version && *scope->version)
        write_tag_str(w, "otel.scope.version", scope->version);
    for (size_t i = 0; i < s->n_attributes; i++)
        write_tag(w, s->attributes[i]);
    if (kind)
        write_tag_str(w, "span.kind", kind);
    if (code == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK)
        write_tag_str(w, "otel.status_code", "OK");
    if (code == OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR) {
        write_tag_str(w, "otel.status_code", "ERROR");
        write_tag_bool(w, "error", true);
    }
    if (s->status && s->status->message && *s->status->message)
        write_tag_str(w, "otel.status_description", s->status->message);
    if (s->trace_state && *s->trace_state)
        write_tag_str(w, "w3c.tracestate", s->trace_state);
    opg_jw_arr_end(w);
}

/* Events become logs; the name goes in an "event" field unless an attribute has that key. */
static void write_logs(struct opg_jw *w, const Opentelemetry__Proto__Trace__V1__Span *s)
{
    opg_jw_key(w, "logs");
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < s->n_events; i++) {
        const Opentelemetry__Proto__Trace__V1__Span__Event *e = s->events[i];
        bool has_event_attr = false;

        for (size_t j = 0; j < e->n_attributes; j++)
            if (e->attributes[j]->key && !strcmp(e->attributes[j]->key, "event"))
                has_event_attr = true;
        opg_jw_obj_begin(w);
        opg_jw_key(w, "timestamp");
        opg_jw_uint(w, e->time_unix_nano / 1000);
        opg_jw_key(w, "fields");
        opg_jw_arr_begin(w);
        if (e->name && *e->name && !has_event_attr)
            write_tag_str(w, "event", e->name);
        for (size_t j = 0; j < e->n_attributes; j++)
            write_tag(w, e->attributes[j]);
        opg_jw_arr_end(w);
        opg_jw_obj_end(w);
    }
    opg_jw_arr_end(w);
}

static void write_span(struct opg_jw *w, const Opentelemetry__Proto__Trace__V1__Span *s,
                       const Opentelemetry__Proto__Common__V1__InstrumentationScope *scope,
                       const char *process_id)
{
    /* Jaeger's times are whole microseconds; like Jaeger, truncate and never go negative. */
    uint64_t duration_ns = s->end_time_unix_nano > s->start_time_unix_nano
                               ? s->end_time_unix_nano - s->start_time_unix_nano
                               : 0;
    /* Jaeger's flag bit 1 is "sampled", as is W3C trace-flags bit 1 in the low byte. */
    uint32_t flags = s->flags & 0xff;

    opg_jw_obj_begin(w);
    opg_jw_key(w, "traceID");
    opg_jw_hex(w, s->trace_id.data, s->trace_id.len);
    opg_jw_key(w, "spanID");
    opg_jw_hex(w, s->span_id.data, s->span_id.len);
    if (flags) {
        opg_jw_key(w, "flags");
        opg_jw_uint(w, flags);
    }
    opg_jw_kstr(w, "operationName", s->name);
    write_references(w, s);
    opg_jw_key(w, "startTime");
    opg_jw_uint(w, s->start_time_unix_nano / 1000);
    opg_jw_key(w, "duration");
    opg_jw_uint(w, duration_ns / 1000);
    write_Opentelemetry__Proto__Trace__V1__Spanags(w, s, scope);
    write_logs(w, s);
    opg_jw_kstr(w, "processID", process_id);
    opg_jw_key(w, "warnings");
    opg_jw_null(w);
    opg_jw_obj_end(w);
}

/* {"serviceName":..,"tags":[resource attributes but service.name]} */
static void write_process(struct opg_jw *w, const Opentelemetry__Proto__Resource__V1__Resource *r)
{
    Opentelemetry__Proto__Common__V1__KeyValue *const *attrs = r ? r->attributes : NULL;
    size_t n = r ? r->n_attributes : 0;
    const ProtobufCBinaryData *service = opg_otlp_attr_str(attrs, n, "service.name");

    opg_jw_obj_begin(w);
    opg_jw_key(w, "serviceName");
    if (service)
        opg_jw_str(w, (const char *)service->data, service->len);
    else
        opg_jw_cstr(w, JAEGER_NO_SERVICE_NAME);
    opg_jw_key(w, "tags");
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        if (!attrs[i]->key || strcmp(attrs[i]->key, "service.name"))
            write_tag(w, attrs[i]);
    opg_jw_arr_end(w);
    opg_jw_obj_end(w);
}

static bool has_spans(const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs)
{
    for (size_t i = 0; i < rs->n_scope_spans; i++)
        if (rs->scope_spans[i]->n_spans)
            return true;
    return false;
}

/* FNV-1a: only to skip most byte comparisons between rendered processes. */
static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

struct process {
    struct opg_buf json; /* the rendered process object */
    uint64_t hash;
};

void opg_jaeger_write_trace(struct opg_jw *w, const uint8_t trace_id[16],
                            Opentelemetry__Proto__Trace__V1__ResourceSpans *const *rs, size_t n)
{
    /*
     * Two processes are the same when they render to the same JSON (Jaeger
     * dedups on the whole Process too), so each resource is rendered once,
     * up front, and kept for the "processes" map.
     */
    struct process *procs = opg_xcalloc(n, sizeof(*procs));
    size_t *pid = opg_xcalloc(n, sizeof(*pid)); /* 1-based index into procs */
    size_t nprocs = 0;
    char id[32];

    for (size_t i = 0; i < n; i++) {
        struct process *p = &procs[nprocs];
        struct opg_jw pw;

        if (!has_spans(rs[i]))
            continue;
        opg_buf_init(&p->json);
        opg_jw_init(&pw, &p->json);
        write_process(&pw, rs[i]->resource);
        p->hash = hash_bytes(p->json.data, p->json.len);
        for (size_t k = 0; k < nprocs; k++) {
            if (procs[k].hash == p->hash && procs[k].json.len == p->json.len &&
                !memcmp(procs[k].json.data, p->json.data, p->json.len)) {
                pid[i] = k + 1;
                break;
            }
        }
        if (pid[i]) {
            opg_buf_release(&p->json);
            continue;
        }
        pid[i] = ++nprocs;
    }

    opg_jw_obj_begin(w);
    opg_jw_key(w, "traceID");
    opg_jw_hex(w, trace_id, OPG_TRACE_ID_LEN);
    opg_jw_key(w, "spans");
    opg_jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        if (!pid[i])
            continue;
        snprintf(id, sizeof(id), "p%zu", pid[i]);
        for (size_t j = 0; j < rs[i]->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs[i]->scope_spans[j];

            for (size_t k = 0; k < ss->n_spans; k++)
                write_span(w, ss->spans[k], ss->scope, id);
        }
    }
    opg_jw_arr_end(w);
    opg_jw_key(w, "processes");
    opg_jw_obj_begin(w);
    for (size_t k = 0; k < nprocs; k++) {
        snprintf(id, sizeof(id), "p%zu", k + 1);
        opg_jw_key(w, id);
        opg_jw_raw(w, procs[k].json.data, procs[k].json.len);
        opg_buf_release(&procs[k].json);
    }
    opg_jw_obj_end(w);
    opg_jw_key(w, "warnings");
    opg_jw_null(w);
    opg_jw_obj_end(w);

    free(pid);
    free(procs);
}
