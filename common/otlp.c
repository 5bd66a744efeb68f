#include "otlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *opg_signal_name(enum opg_signal s)
{
    switch (s) {
    case OPG_SIGNAL_TRACES:
        return "traces";
    case OPG_SIGNAL_LOGS:
        return "logs";
    case OPG_SIGNAL_METRICS:
        return "metrics";
    }
    return "unknown";
}

bool opg_otlp_id_valid(const uint8_t *id, size_t n, size_t len)
{
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (id[i])
            return true;
    return false;
}

const ProtobufCBinaryData *
opg_otlp_attr_str(Opentelemetry__Proto__Common__V1__KeyValue *const *attrs, size_t n,
                  const char *key)
{
    for (size_t i = 0; i < n; i++) {
        const Opentelemetry__Proto__Common__V1__KeyValue *kv = attrs[i];
        if (kv->key && !strcmp(kv->key, key) && kv->value &&
            kv->value->value_case ==
                OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
            return &kv->value->string_value;
    }
    return NULL;
}

static int lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (names[i] && !strcmp(s, names[i]))
            return i;
    return -1;
}

int opg_otlp_span_kind_from_name(const char *s)
{
    static const char *const names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                        "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                        "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
    return lookup(s, names, 6);
}

int opg_otlp_status_code_from_name(const char *s)
{
    static const char *const names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};
    return lookup(s, names, 3);
}

int opg_otlp_severity_from_name(const char *s)
{
    static const char *const names[] = {
        "SEVERITY_NUMBER_UNSPECIFIED", "SEVERITY_NUMBER_TRACE",  "SEVERITY_NUMBER_TRACE2",
        "SEVERITY_NUMBER_TRACE3",      "SEVERITY_NUMBER_TRACE4", "SEVERITY_NUMBER_DEBUG",
        "SEVERITY_NUMBER_DEBUG2",      "SEVERITY_NUMBER_DEBUG3", "SEVERITY_NUMBER_DEBUG4",
        "SEVERITY_NUMBER_INFO",        "SEVERITY_NUMBER_INFO2",  "SEVERITY_NUMBER_INFO3",
        "SEVERITY_NUMBER_INFO4",       "SEVERITY_NUMBER_WARN",   "SEVERITY_NUMBER_WARN2",
        "SEVERITY_NUMBER_WARN3",       "SEVERITY_NUMBER_WARN4",  "SEVERITY_NUMBER_ERROR",
        "SEVERITY_NUMBER_ERROR2",      "SEVERITY_NUMBER_ERROR3", "SEVERITY_NUMBER_ERROR4",
        "SEVERITY_NUMBER_FATAL",       "SEVERITY_NUMBER_FATAL2", "SEVERITY_NUMBER_FATAL3",
        "SEVERITY_NUMBER_FATAL4"};
    return lookup(s, names, 25);
}

int opg_otlp_temporality_from_name(const char *s)
{
    static const char *const names[] = {"AGGREGATION_TEMPORALITY_UNSPECIFIED",
                                        "AGGREGATION_TEMPORALITY_DELTA",
                                        "AGGREGATION_TEMPORALITY_CUMULATIVE"};
    return lookup(s, names, 3);
}

static int read_varint(const uint8_t *p, size_t len, size_t *at, uint64_t *v)
{
    uint64_t r = 0;

    for (int shift = 0; shift < 64 && *at < len; shift += 7) {
        uint8_t b = p[(*at)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* An attribute list on the wire: a repeated KeyValue (attributes,
 * filtered_attributes, metadata, kvlist values) or AnyValue (array values). */
static bool wire_attribute_list(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
           (f->descriptor == &opentelemetry__proto__common__v1__key_value__descriptor ||
            f->descriptor == &opentelemetry__proto__common__v1__any_value__descriptor);
}

int opg_pb_check_wire(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                      int max_depth, size_t max_attrs, size_t max_len, char *err, size_t errlen)
{
    struct level {
        const ProtobufCMessageDescriptor *desc;
        size_t end;
        size_t attrs; /* entries of its attribute list so far */
    } * stack;
    int depth = 0, ret = 0;
    size_t at = 0;

    stack = malloc(sizeof(*stack) * ((size_t)max_depth + 1));
    if (!stack)
        return OPG_PB_TOO_DEEP;
    stack[0] = (struct level){desc, len, 0};
    while (depth >= 0) {
        uint64_t key, n;
        const ProtobufCFieldDescriptor *f;

        if (at >= stack[depth].end) {
            depth--;
            continue;
        }
        if (read_varint(data, stack[depth].end, &at, &key) < 0)
            break; /* malformed: unpack will say so */
        switch (key & 7) {
        case 0:
            if (read_varint(data, stack[depth].end, &at, &n) < 0)
                goto out;
            break;
        case 1:
            at += 8;
            break;
        case 5:
            at += 4;
            break;
        case 2:
            if (read_varint(data, stack[depth].end, &at, &n) < 0 || n > stack[depth].end - at)
                goto out;
            f = protobuf_c_message_descriptor_get_field(stack[depth].desc, (unsigned)(key >> 3));
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (wire_attribute_list(f) && ++stack[depth].attrs > max_attrs) {
                    snprintf(err, errlen, "%s has more entries than the limit of %zu", f->name,
                             max_attrs);
                    ret = OPG_PB_TOO_LARGE;
                    goto out;
                }
                if (depth == max_depth) {
                    snprintf(err, errlen, "messages nest deeper than %d levels", max_depth);
                    ret = OPG_PB_TOO_DEEP;
                    goto out;
                }
                depth++;
                stack[depth] = (struct level){f->descriptor, at + n, 0};
                continue;
            }
            if (f && (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES) &&
                n > max_len) {
                snprintf(err, errlen, "a %s value is longer than the limit of %zu bytes", f->name,
                         max_len);
                ret = OPG_PB_TOO_LARGE;
                goto out;
            }
            at += n;
            break;
        default:
            goto out; /* groups and bad wire types: unpack refuses them */
        }
    }
out:
    free(stack);
    return ret;
}

int opg_pb_check_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                       int max_depth)
{
    char err[8];

    return opg_pb_check_wire(desc, data, len, max_depth, SIZE_MAX, SIZE_MAX, err, sizeof(err)) ==
                   OPG_PB_TOO_DEEP
               ? -1
               : 0;
}

static bool is_attribute_list(const char *name)
{
    return !strcmp(name, "attributes") || !strcmp(name, "filtered_attributes") ||
           !strcmp(name, "metadata") || !strcmp(name, "values");
}

int opg_pb_check_limits(const ProtobufCMessage *m, size_t max_attrs, size_t max_len, char *err,
                        size_t errlen)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;

        /* a oneof member is only there when its case says so */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                ProtobufCMessage *const *items =
                    *(ProtobufCMessage *const *const *)(base + f->offset);
                if (n > max_attrs && is_attribute_list(f->name)) {
                    snprintf(err, errlen, "%s has %zu entries, more than the limit of %zu", f->name,
                             n, max_attrs);
                    return -1;
                }
                for (size_t k = 0; k < n; k++)
                    if (items[k] &&
                        opg_pb_check_limits(items[k], max_attrs, max_len, err, errlen) < 0)
                        return -1;
            } else if (f->type == PROTOBUF_C_TYPE_STRING) {
                char *const *items = *(char *const *const *)(base + f->offset);
                for (size_t k = 0; max_len != OPG_PB_NO_LENGTH_LIMIT && k < n; k++)
                    if (items[k] && strlen(items[k]) > max_len)
                        goto too_long;
            }
            continue;
        }
        switch (f->type) {
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);
            if (sub && opg_pb_check_limits(sub, max_attrs, max_len, err, errlen) < 0)
                return -1;
            break;
        }
        case PROTOBUF_C_TYPE_STRING: {
            const char *s = *(const char *const *)(base + f->offset);
            if (max_len != OPG_PB_NO_LENGTH_LIMIT && s && strlen(s) > max_len)
                goto too_long;
            break;
        }
        case PROTOBUF_C_TYPE_BYTES:
            if (((const ProtobufCBinaryData *)(base + f->offset))->len > max_len)
                goto too_long;
            break;
        default:
            break;
        }
        continue;
    too_long:
        snprintf(err, errlen, "a %s value is longer than the limit of %zu bytes", f->name, max_len);
        return -1;
    }
    return 0;
}
