#include "otlp_scan.h"
#include "buf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * Reading rules, chosen so that what is accepted here unpacks the same with
 * protobuf-c 1.4 (protobuf-c.c: parse_tag_and_wiretype, the scan loop of
 * protobuf_c_message_unpack, parse_required_member):
 * - a tag takes at most 5 bytes and is not field 0; a length prefix at most
 *   5 bytes and below 2^32;
 *   a varint at most 10; wire types 3, 4, 6 and 7 are declined;
 * - a known field must come with its own wire type (unpack refuses most
 *   others, and reads a bool from any: declined either way);
 * - a singular message given twice is merged by unpack, and the members of
 *   a oneof replace each other: both declined, as is a repeated singular
 *   field of a span, whose last value would win;
 * - memory: unpack allocates each message (its struct), its repeated
 *   arrays, strings (length + 1), bytes, unknown fields (a 24-byte record
 *   and a copy) and, past 16 fields in one message, "scanned member" slabs
 *   of 32-byte records (1 KiB, 2 KiB, ...), each rounded up to 16 by the
 *   arena and never freed. The scan adds up a bound on that and declines a
 *   body whose bound is over the limit.
 */

#define SCANNED_MEMBER_SIZE 32 /* protobuf-c asserts sizeof(ScannedMember) <= 32 */
#define MESSAGE_SLACK       64 /* rounding of a message's repeated and unknown arrays */
#define UNKNOWN_FIELD_COST  40 /* its record and the rounding of its copy */

typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_any_t;

enum kv_use {
    KV_CHECK,    /* checked only */
    KV_SPAN,     /* a span's attribute: correlation keys */
    KV_RESOURCE, /* a resource's attribute: correlation keys and service.name */
};

struct scanner {
    const struct opg_scan_limits *lim;
    const char *const *keys;
    size_t n_keys;
    size_t *key_len;
    uint8_t key_first[32]; /* bitmap of the keys' first bytes (0 for "") */
    struct opg_arena *arena;
    struct opg_trace_scan *out;
    size_t mem; /* bound on what unpack would allocate */
};

struct field {
    uint32_t num;
    unsigned wt;
    uint64_t v;       /* wire types 0, 1, 5 */
    const uint8_t *p; /* wire type 2: the payload */
    size_t n;
    size_t enc; /* bytes of the value as encoded (prefix included) */
};

/* What a KeyValue held, for the uses above. */
struct kv_info {
    const uint8_t *key;
    size_t key_len;
    bool has_value;
    uint32_t vcase;
    const uint8_t *str;
    size_t str_len;
    int64_t i;
};

static size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* Bytes of scanned-member slabs unpack allocates for a message of m fields. */
static size_t slab_bytes(unsigned m)
{
    size_t bytes = 0, cap = 16;

    for (unsigned s = 1; cap < m; s++) {
        bytes += (size_t)SCANNED_MEMBER_SIZE << (s + 4);
        cap += (size_t)16 << s;
    }
    return bytes;
}

static void message_cost(struct scanner *S, size_t size, unsigned fields, size_t repeated)
{
    S->mem += align16(size) + slab_bytes(fields) + 8 * repeated + MESSAGE_SLACK;
}

/* next_field for any encoding: 1 with the next field in f, -1 to decline. */
/*
 * A varint of at most max_bytes bytes at *pat (protobuf-c refuses longer
 * ones: 10 for a value, 5 for a length); -1 if longer or cut short.
 */
static inline int read_varint(const uint8_t **pat, const uint8_t *end, int max_bytes, uint64_t *out)
{
    const uint8_t *at = *pat;
    uint64_t v = 0;

    for (int i = 0; i < max_bytes; i++) {
        uint8_t b;

        if (at == end)
            return -1;
        b = *at++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            *pat = at;
            return 0;
        }
    }
    return -1;
}

static int next_field_slow(const uint8_t **pat, const uint8_t *end, struct field *f)
{
    const uint8_t *at = *pat, *start;
    uint32_t tag;
    uint8_t b;

    b = *at++;
    f->wt = b & 7;
    tag = (uint32_t)(b & 0x7f) >> 3;
    if (b & 0x80) {
        unsigned shift = 4;
        int i;

        for (i = 1; i < 5; i++) {
            if (at == end)
                return -1;
            b = *at++;
            tag |= (uint32_t)(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80))
                break;
        }
        if (i == 5)
            return -1;
    }
    if (!tag)
        return -1; /* unpack refuses field number 0 */
    f->num = tag;
    start = at;
    switch (f->wt) {
    case 0:
        if (read_varint(&at, end, 10, &f->v) < 0)
            return -1;
        break;
    case 1:
        if (end - at < 8)
            return -1;
        memcpy(&f->v, at, 8);
        at += 8;
        break;
    case 5: {
        uint32_t v;

        if (end - at < 4)
            return -1;
        memcpy(&v, at, 4);
        f->v = v;
        at += 4;
        break;
    }
    case 2: {
        uint64_t n;

        if (read_varint(&at, end, 5, &n) < 0)
            return -1;
        if (n >> 32 || n > (uint64_t)(end - at))
            return -1;
        f->p = at;
        f->n = (size_t)n;
        at += n;
        break;
    }
    default:
        return -1;
    }
    f->enc = (size_t)(at - start);
    *pat = at;
    return 1;
}

/*
 * Returns 1 with the next field in f, 0 at end, -1 to decline. Inline for
 * what nearly every field is: a one-byte tag, and a one- or two-byte length
 * or a fixed64 or a one-byte varint after it.
 */
static inline int next_field(const uint8_t **pat, const uint8_t *end, struct field *f)
{
    const uint8_t *at = *pat;
    uint8_t b;

    if (at == end)
        return 0;
    b = at[0];
    if (b >= 8 && b < 0x80 && end - at >= 2) {
        f->num = b >> 3;
        f->wt = b & 7;
        if (f->wt == 2 && at[1] < 0x80) {
            size_t n = at[1];
            if (n > (size_t)(end - at - 2))
                return -1;
            f->p = at + 2;
            f->n = n;
            f->enc = n + 1;
            *pat = at + 2 + n;
            return 1;
        }
        if (f->wt == 2 && end - at >= 3 && at[2] < 0x80) { /* a span's length, mostly */
            size_t n = (size_t)(at[1] & 0x7f) | (size_t)at[2] << 7;
            if (n > (size_t)(end - at - 3))
                return -1;
            f->p = at + 3;
            f->n = n;
            f->enc = n + 2;
            *pat = at + 3 + n;
            return 1;
        }
        if (f->wt == 0 && at[1] < 0x80) {
            f->v = at[1];
            f->enc = 1;
            *pat = at + 2;
            return 1;
        }
        if (f->wt == 1 && end - at >= 9) {
            memcpy(&f->v, at + 1, 8);
            f->enc = 8;
            *pat = at + 9;
            return 1;
        }
    }
    return next_field_slow(pat, end, f);
}

/* A field the message does not know: unpack keeps a copy. */
static void unknown_field(struct scanner *S, const struct field *f)
{
    S->mem += UNKNOWN_FIELD_COST + f->enc;
}

/* A known string or bytes field: its length limit, and unpack's copy. */
static int string_field(struct scanner *S, const struct field *f)
{
    if (f->wt != 2 || f->n > S->lim->max_len)
        return -1;
    S->mem += align16(f->n + 1);
    return 0;
}

/* Entering a submessage one level below depth, as opg_pb_check_wire counts. */
static int enter(struct scanner *S, const struct field *f, int depth)
{
    return f->wt == 2 && depth < S->lim->max_depth ? 0 : -1;
}

static int scan_any(struct scanner *S, const uint8_t *at, const uint8_t *end, int depth,
                    struct kv_info *kv);

/* Whether a KeyValue at depth may not hold its value (one level below). */
static bool vl_too_deep(const struct scanner *S, int depth)
{
    return depth >= S->lim->max_depth;
}

static bool key_is(const struct kv_info *kv, const char *want, size_t want_len)
{
    /* protobuf-c's key is a C string: it ends at the first NUL */
    return kv->key_len >= want_len && !memcmp(kv->key, want, want_len) &&
           (kv->key_len == want_len || !kv->key[want_len]);
}

static int push_corr(struct scanner *S, const char *key, const struct kv_info *kv, bool resource)
{
    otlp_kv_t ***list = resource ? &S->out->res_corr : &S->out->span_corr;
    size_t *n = resource ? &S->out->n_res_corr : &S->out->n_span_corr;
    size_t *cap = resource ? &S->out->res_corr_cap : &S->out->span_corr_cap;
    otlp_kv_t *c = opg_arena_alloc(S->arena, sizeof(*c));
    otlp_any_t *v = opg_arena_alloc(S->arena, sizeof(*v));

    if (!c || !v)
        return -1;
    opentelemetry__proto__common__v1__key_value__init(c);
    opentelemetry__proto__common__v1__any_value__init(v);
    c->key = (char *)key;
    c->value = v;
    v->value_case = (Opentelemetry__Proto__Common__V1__AnyValue__ValueCase)kv->vcase;
    if (kv->vcase == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE) {
        v->string_value.data = (uint8_t *)kv->str;
        v->string_value.len = kv->str_len;
    } else {
        v->int_value = kv->i;
    }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *list = opg_xrealloc(*list, *cap * sizeof(**list));
    }
    (*list)[(*n)++] = c;
    return 0;
}

/* The correlation keys kv's key is (string and integer values only). */
static int note_kv(struct scanner *S, const struct kv_info *kv, bool resource)
{
    uint8_t first = kv->key_len ? kv->key[0] : 0;

    if (!kv->has_value ||
        (kv->vcase != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
         kv->vcase != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE))
        return 0;
    if (!(S->key_first[first >> 3] & (1u << (first & 7))))
        return 0;
    for (size_t i = 0; i < S->n_keys; i++)
        if ((uint8_t)S->keys[i][0] == first && key_is(kv, S->keys[i], S->key_len[i]))
            return push_corr(S, S->keys[i], kv, resource);
    return 0;
}

static int scan_kv(struct scanner *S, const uint8_t *at, const uint8_t *end, int depth,
                   struct kv_info *kv)
{
    struct field f;
    unsigned m = 0;
    bool has_key = false;
    int r;

    kv->key = (const uint8_t *)"";
    kv->key_len = 0;
    kv->has_value = false;
    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        switch (f.num) {
        case 1:
            if (has_key || string_field(S, &f) < 0)
                return -1;
            has_key = true;
            kv->key = f.p;
            kv->key_len = f.n;
            break;
        case 2:
            if (kv->has_value || enter(S, &f, depth) < 0 ||
                scan_any(S, f.p, f.p + f.n, depth + 1, kv) < 0)
                return -1;
            kv->has_value = true;
            break;
        default:
            unknown_field(S, &f);
        }
    }
    message_cost(S, sizeof(otlp_kv_t), m, 0);
    return r;
}

/*
 * The usual KeyValue of a message at depth: a key, then a value holding one
 * string, integer, bool or double, every length in one byte. Read without
 * the general loop; false if p[0..n) is anything else, for scan_kv to read.
 */
static bool kv_usual(struct scanner *S, const uint8_t *p, size_t n, int depth, struct kv_info *kv)
{
    const uint8_t *v;
    size_t kl, vl;

    if (n < 4 || p[0] != 0x0a || p[1] >= 0x80 || (size_t)p[1] + 4 > n)
        return false;
    kl = p[1];
    v = p + 2 + kl;
    if (v[0] != 0x12 || v[1] >= 0x80 || (size_t)v[1] + 4 + kl != n || vl_too_deep(S, depth))
        return false;
    vl = v[1];
    v += 2;
    if (kl > S->lim->max_len || !vl)
        return false;
    switch (v[0]) {
    case 0x0a: /* string_value */
        if (vl < 2 || v[1] >= 0x80 || (size_t)v[1] + 2 != vl || v[1] > S->lim->max_len)
            return false;
        kv->vcase = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        kv->str = v + 2;
        kv->str_len = v[1];
        S->mem += align16(kv->str_len + 1);
        break;
    case 0x10:   /* bool_value */
    case 0x18: { /* int_value */
        uint64_t x = 0;
        size_t i;

        if (vl < 2 || vl > 11)
            return false;
        for (i = 1; i < vl - 1; i++)
            if (!(v[i] & 0x80))
                return false;
        if (v[vl - 1] & 0x80)
            return false;
        for (i = 1; i < vl; i++)
            x |= (uint64_t)(v[i] & 0x7f) << (7 * (i - 1));
        kv->vcase = v[0] >> 3;
        kv->i = (int64_t)x;
        break;
    }
    case 0x21: /* double_value */
        if (vl != 9)
            return false;
        kv->vcase = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        break;
    default:
        return false;
    }
    kv->key = p + 2;
    kv->key_len = kl;
    kv->has_value = true;
    S->mem += align16(sizeof(otlp_kv_t)) + align16(sizeof(otlp_any_t)) + 2 * MESSAGE_SLACK +
              align16(kl + 1);
    return true;
}

/* A list of attributes (KeyValue) of a message at depth: field f, entry *count. */
static int attribute(struct scanner *S, const struct field *f, int depth, size_t *count,
                     enum kv_use use, struct opg_scan_resource *res)
{
    struct kv_info kv;

    if (++*count > S->lim->max_attrs || enter(S, f, depth) < 0)
        return -1;
    if (!kv_usual(S, f->p, f->n, depth + 1, &kv) &&
        scan_kv(S, f->p, f->p + f->n, depth + 1, &kv) < 0)
        return -1;
    if (use != KV_CHECK && S->n_keys && note_kv(S, &kv, use == KV_RESOURCE) < 0)
        return -1;
    if (use == KV_RESOURCE && !res->service.data && kv.has_value &&
        kv.vcase == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
        key_is(&kv, "service.name", 12)) {
        res->service.data = (uint8_t *)kv.str;
        res->service.len = kv.str_len;
    }
    return 0;
}

/*
 * attribute() for a span's attribute, quicker for what nearly every one is:
 * within the limits (attribute()'s checks), of kv_usual's shape, and with
 * a key that is not a correlation key (note_kv's first test). The most
 * common, a key and a string value, is read here; other usual ones by
 * kv_usual; anything else goes to attribute(), which reads it from the
 * start.
 */
static int span_attribute(struct scanner *S, const struct field *f, int depth, size_t *count)
{
    const struct opg_scan_limits *lim = S->lim;
    const uint8_t *p = f->p, *v;
    size_t n = f->n, kl, sl;
    uint8_t first;
    struct kv_info kv;

    if (f->wt != 2 || *count >= lim->max_attrs || depth + 1 >= lim->max_depth)
        return attribute(S, f, depth, count, KV_SPAN, NULL);
    /* p: 0a KL key 12 VL 0a SL string, VL = SL + 2 */
    if (n >= 6 && p[0] == 0x0a && p[1] < 0x80 && (size_t)p[1] + 6 <= n &&
        (v = p + 2 + p[1], sl = v[3], v[0] == 0x12) && v[1] < 0x80 && v[2] == 0x0a && sl < 0x80 &&
        v[1] == sl + 2 && p[1] + 6 + sl == n && p[1] <= lim->max_len && sl <= lim->max_len) {
        kl = p[1];
        ++*count;
        S->mem += align16(sizeof(otlp_kv_t)) + align16(sizeof(otlp_any_t)) + 2 * MESSAGE_SLACK +
                  align16(kl + 1) + align16(sl + 1);
        first = kl ? p[2] : 0;
        if (!S->n_keys || !(S->key_first[first >> 3] & (1u << (first & 7))))
            return 0;
        kv.key = p + 2;
        kv.key_len = kl;
        kv.has_value = true;
        kv.vcase = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        kv.str = v + 4;
        kv.str_len = sl;
        return note_kv(S, &kv, false);
    }
    if (!kv_usual(S, p, n, depth + 1, &kv))
        return attribute(S, f, depth, count, KV_SPAN, NULL);
    ++*count;
    first = kv.key_len ? kv.key[0] : 0;
    if (!S->n_keys || !(S->key_first[first >> 3] & (1u << (first & 7))))
        return 0;
    return note_kv(S, &kv, false);
}

static int scan_array(struct scanner *S, const uint8_t *at, const uint8_t *end, int depth)
{
    struct field f;
    struct kv_info unused;
    unsigned m = 0;
    size_t count = 0;
    int r;

    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        if (f.num != 1) {
            unknown_field(S, &f);
            continue;
        }
        if (++count > S->lim->max_attrs || enter(S, &f, depth) < 0 ||
            scan_any(S, f.p, f.p + f.n, depth + 1, &unused) < 0)
            return -1;
    }
    message_cost(S, sizeof(Opentelemetry__Proto__Common__V1__ArrayValue), m, count);
    return r;
}

static int scan_kvlist(struct scanner *S, const uint8_t *at, const uint8_t *end, int depth)
{
    struct field f;
    unsigned m = 0;
    size_t count = 0;
    int r;

    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        if (f.num != 1)
            unknown_field(S, &f);
        else if (attribute(S, &f, depth, &count, KV_CHECK, NULL) < 0)
            return -1;
    }
    message_cost(S, sizeof(Opentelemetry__Proto__Common__V1__KeyValueList), m, count);
    return r;
}

/* An AnyValue: its case and, for strings and integers, its value into kv. */
static int scan_any(struct scanner *S, const uint8_t *at, const uint8_t *end, int depth,
                    struct kv_info *kv)
{
    struct field f;
    unsigned m = 0;
    int r;

    kv->vcase = 0;
    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        if (f.num >= 1 && f.num <= 7 && kv->vcase)
            return -1; /* a oneof's members replace each other */
        switch (f.num) {
        case 1: /* string_value (bytes in our proto) */
        case 7: /* bytes_value */
            if (string_field(S, &f) < 0)
                return -1;
            kv->str = f.p;
            kv->str_len = f.n;
            break;
        case 2: /* bool_value */
        case 3: /* int_value */
            if (f.wt != 0)
                return -1;
            kv->i = (int64_t)f.v;
            break;
        case 4: /* double_value */
            if (f.wt != 1)
                return -1;
            break;
        case 5:
            if (enter(S, &f, depth) < 0 || scan_array(S, f.p, f.p + f.n, depth + 1) < 0)
                return -1;
            break;
        case 6:
            if (enter(S, &f, depth) < 0 || scan_kvlist(S, f.p, f.p + f.n, depth + 1) < 0)
                return -1;
            break;
        default:
            unknown_field(S, &f);
            continue;
        }
        kv->vcase = f.num;
    }
    message_cost(S, sizeof(otlp_any_t), m, 0);
    return r;
}

/* Event, Link, InstrumentationScope and EntityRef: checked, nothing kept. */
enum other {
    OTHER_EVENT,
    OTHER_LINK,
    OTHER_SCOPE,
    OTHER_ENTITY_REF,
};

static int scan_other(struct scanner *S, enum other type, const uint8_t *at, const uint8_t *end,
                      int depth)
{
    /* per field number: its wire type, 'S' for string or bytes, 'A' for
     * attributes, 'R' for a repeated string, 0 unknown */
    static const char *const layout[] = {
        [OTHER_EVENT] = "\0"
                        "1"
                        "S"
                        "A"
                        "0",
        [OTHER_LINK] = "\0"
                       "S"
                       "S"
                       "S"
                       "A"
                       "0"
                       "5",
        [OTHER_SCOPE] = "\0"
                        "S"
                        "S"
                        "A"
                        "0",
        [OTHER_ENTITY_REF] = "\0"
                             "S"
                             "S"
                             "R"
                             "R",
    };
    static const size_t layout_len[] = {5, 7, 5, 5};
    static const size_t sizes[] = {
        sizeof(Opentelemetry__Proto__Trace__V1__Span__Event),
        sizeof(Opentelemetry__Proto__Trace__V1__Span__Link),
        sizeof(Opentelemetry__Proto__Common__V1__InstrumentationScope),
        sizeof(Opentelemetry__Proto__Common__V1__EntityRef),
    };
    struct field f;
    unsigned m = 0;
    size_t count = 0, repeated = 0;
    int r;

    while ((r = next_field(&at, end, &f)) > 0) {
        char kind = f.num < layout_len[type] ? layout[type][f.num] : 0;

        m++;
        switch (kind) {
        case 0:
            unknown_field(S, &f);
            break;
        case '0':
            if (f.wt != 0)
                return -1;
            break;
        case '1':
            if (f.wt != 1)
                return -1;
            break;
        case '5':
            if (f.wt != 5)
                return -1;
            break;
        case 'R':
            repeated++;
            /* fall through */
        case 'S':
            if (string_field(S, &f) < 0)
                return -1;
            break;
        case 'A':
            repeated++;
            if (attribute(S, &f, depth, &count, KV_CHECK, NULL) < 0)
                return -1;
            break;
        }
    }
    message_cost(S, sizes[type], m, repeated);
    return r;
}

static int scan_status(struct scanner *S, const uint8_t *at, const uint8_t *end, int32_t *code)
{
    struct field f;
    unsigned m = 0;
    int r;

    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        if (f.num == 2) {
            if (string_field(S, &f) < 0)
                return -1;
        } else if (f.num == 3) {
            if (f.wt != 0)
                return -1;
            *code = (int32_t)(uint32_t)f.v; /* an enum: int32, its low 32 bits */
        } else {
            unknown_field(S, &f);
        }
    }
    message_cost(S, sizeof(Opentelemetry__Proto__Trace__V1__Status), m, 0);
    return r;
}

/* The span's fields that are not repeated: all of 1 to 16 but 9, 11 and 13. */
#define SPAN_SINGULAR 0x1d5feu

static int scan_span(struct scanner *S, const uint8_t *at, const uint8_t *end, int depth,
                     uint32_t resource)
{
    struct opg_scan_span *sp;
    struct field f;
    const uint8_t *name = NULL;
    size_t name_len = 0, count = 0, repeated = 0;
    unsigned m = 0;
    uint32_t seen = 0;
    int r;

    if (S->out->n_spans == S->out->spans_cap) {
        S->out->spans_cap = S->out->spans_cap ? 2 * S->out->spans_cap : 128;
        S->out->spans = opg_xrealloc(S->out->spans, S->out->spans_cap * sizeof(*sp));
    }
    sp = &S->out->spans[S->out->n_spans++];
    memset(sp, 0, sizeof(*sp));
    sp->resource = resource;
    sp->corr_at = (uint32_t)S->out->n_span_corr;
    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        if (f.num <= 16) {
            uint32_t bit = 1u << f.num & SPAN_SINGULAR;

            if (seen & bit)
                return -1; /* the last would win: not worth following */
            seen |= bit;
        }
        switch (f.num) {
        case 1:
            if (string_field(S, &f) < 0)
                return -1;
            sp->trace_id = f.p;
            sp->trace_id_len = f.n;
            break;
        case 2:
            if (string_field(S, &f) < 0)
                return -1;
            sp->span_id = f.p;
            sp->span_id_len = f.n;
            break;
        case 3:
            if (string_field(S, &f) < 0)
                return -1;
            break;
        case 4:
            if (string_field(S, &f) < 0)
                return -1;
            sp->parent_span_id_len = f.n;
            break;
        case 5:
            if (string_field(S, &f) < 0)
                return -1;
            name = f.p;
            name_len = f.n;
            break;
        case 6:
            if (f.wt != 0)
                return -1;
            sp->kind = (int32_t)(uint32_t)f.v;
            break;
        case 7:
        case 8:
            if (f.wt != 1)
                return -1;
            if (f.num == 7)
                sp->start_time_unix_nano = f.v;
            else
                sp->end_time_unix_nano = f.v;
            break;
        case 9:
            /* attributes come in a run: the usual next one is read here, as
             * next_field would, without the loop's tests */
            for (;;) {
                repeated++;
                if (span_attribute(S, &f, depth, &count) < 0)
                    return -1;
                if (end - at < 2 || at[0] != 0x4a || at[1] >= 0x80 || at[1] > end - at - 2)
                    break;
                m++;
                f.p = at + 2;
                f.n = at[1];
                f.enc = f.n + 1;
                at += 2 + f.n;
            }
            break;
        case 10:
        case 12:
        case 14:
            if (f.wt != 0)
                return -1;
            break;
        case 11:
        case 13:
            repeated++;
            if (enter(S, &f, depth) < 0 || scan_other(S, f.num == 11 ? OTHER_EVENT : OTHER_LINK,
                                                      f.p, f.p + f.n, depth + 1) < 0)
                return -1;
            break;
        case 15:
            if (enter(S, &f, depth) < 0 || scan_status(S, f.p, f.p + f.n, &sp->status_code) < 0)
                return -1;
            break;
        case 16:
            if (f.wt != 5)
                return -1;
            break;
        default:
            unknown_field(S, &f);
        }
    }
    if (r < 0)
        return -1;
    /* sp may have moved: the attributes do not grow the span array */
    sp->n_corr = (uint32_t)(S->out->n_span_corr - sp->corr_at);
    if (name) {
        char *c = opg_arena_alloc(S->arena, name_len + 1);
        if (!c)
            return -1;
        memcpy(c, name, name_len);
        c[name_len] = '\0';
        sp->name = c;
    } else {
        sp->name = "";
    }
    message_cost(S, sizeof(Opentelemetry__Proto__Trace__V1__Span), m, repeated);
    return 0;
}

static int scan_scope_spans(struct scanner *S, const uint8_t *at, const uint8_t *end, int depth,
                            uint32_t resource)
{
    struct field f;
    unsigned m = 0;
    size_t repeated = 0;
    bool scope = false;
    int r;

    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        switch (f.num) {
        case 1:
            if (scope || enter(S, &f, depth) < 0 ||
                scan_other(S, OTHER_SCOPE, f.p, f.p + f.n, depth + 1) < 0)
                return -1;
            scope = true;
            break;
        case 2:
            repeated++;
            if (enter(S, &f, depth) < 0 || scan_span(S, f.p, f.p + f.n, depth + 1, resource) < 0)
                return -1;
            break;
        case 3:
            if (string_field(S, &f) < 0)
                return -1;
            break;
        default:
            unknown_field(S, &f);
        }
    }
    message_cost(S, sizeof(Opentelemetry__Proto__Trace__V1__ScopeSpans), m, repeated);
    return r;
}

static int scan_resource(struct scanner *S, const uint8_t *at, const uint8_t *end, int depth,
                         struct opg_scan_resource *res)
{
    struct field f;
    unsigned m = 0;
    size_t count = 0, repeated = 0;
    int r;

    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        switch (f.num) {
        case 1:
            repeated++;
            if (attribute(S, &f, depth, &count, KV_RESOURCE, res) < 0)
                return -1;
            break;
        case 2:
            if (f.wt != 0)
                return -1;
            break;
        case 3:
            repeated++;
            if (enter(S, &f, depth) < 0 ||
                scan_other(S, OTHER_ENTITY_REF, f.p, f.p + f.n, depth + 1) < 0)
                return -1;
            break;
        default:
            unknown_field(S, &f);
        }
    }
    message_cost(S, sizeof(Opentelemetry__Proto__Resource__V1__Resource), m, repeated);
    return r;
}

static int scan_resource_spans(struct scanner *S, const uint8_t *at, const uint8_t *end, int depth)
{
    struct opg_trace_scan *out = S->out;
    struct opg_scan_resource *res;
    uint32_t index = (uint32_t)out->n_resources;
    struct field f;
    unsigned m = 0;
    size_t repeated = 0;
    bool resource = false;
    int r;

    if (out->n_resources == out->resources_cap) {
        out->resources_cap = out->resources_cap ? 2 * out->resources_cap : 8;
        out->resources = opg_xrealloc(out->resources, out->resources_cap * sizeof(*res));
    }
    res = &out->resources[out->n_resources++];
    memset(res, 0, sizeof(*res));
    res->corr_at = (uint32_t)out->n_res_corr;
    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        switch (f.num) {
        case 1:
            if (resource || enter(S, &f, depth) < 0 ||
                scan_resource(S, f.p, f.p + f.n, depth + 1, &out->resources[index]) < 0)
                return -1;
            resource = true;
            break;
        case 2:
            repeated++;
            if (enter(S, &f, depth) < 0 ||
                scan_scope_spans(S, f.p, f.p + f.n, depth + 1, index) < 0)
                return -1;
            break;
        case 3:
            if (string_field(S, &f) < 0)
                return -1;
            break;
        default:
            unknown_field(S, &f);
        }
    }
    if (r < 0)
        return -1;
    res = &out->resources[index];
    res->n_corr = (uint32_t)(out->n_res_corr - res->corr_at);
    if (!res->service.data)
        res->service.data = (uint8_t *)"";
    message_cost(S, sizeof(Opentelemetry__Proto__Trace__V1__ResourceSpans), m, repeated);
    return 0;
}

int opg_trace_scan_read(struct opg_trace_scan *s, const uint8_t *body, size_t len,
                        const struct opg_scan_limits *lim, const char *const *corr_keys,
                        size_t n_corr_keys, struct opg_arena *arena)
{
    struct scanner S = {lim, corr_keys, n_corr_keys, NULL, {0}, arena, s, 0};
    const uint8_t *at = body, *end = body + len;
    struct field f;
    unsigned m = 0;
    size_t repeated = 0;
    int r, ret = -1;

    S.key_len = opg_xcalloc(n_corr_keys ? n_corr_keys : 1, sizeof(*S.key_len));
    for (size_t i = 0; i < n_corr_keys; i++) {
        uint8_t first = (uint8_t)corr_keys[i][0];
        S.key_len[i] = strlen(corr_keys[i]);
        S.key_first[first >> 3] |= (uint8_t)(1u << (first & 7));
    }
    while ((r = next_field(&at, end, &f)) > 0) {
        m++;
        if (f.num != 1) {
            unknown_field(&S, &f);
            continue;
        }
        repeated++;
        if (enter(&S, &f, 0) < 0 || scan_resource_spans(&S, f.p, f.p + f.n, 1) < 0)
            goto out_free_keys;
    }
    if (r < 0)
        goto out_free_keys;
    message_cost(&S, sizeof(Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest),
                 m, repeated);
    if (S.mem > lim->max_memory)
        goto out_free_keys;
    for (size_t i = 0; i < s->n_resources; i++) {
        struct opg_scan_resource *res = &s->resources[i];

        opentelemetry__proto__resource__v1__resource__init(&res->corr);
        res->corr.n_attributes = res->n_corr;
        res->corr.attributes = res->n_corr ? s->res_corr + res->corr_at : NULL;
    }
    ret = 0;
out_free_keys:
    free(S.key_len);
    return ret;
}

void opg_trace_scan_release(struct opg_trace_scan *s)
{
    if (!s)
        return;
    free(s->spans);
    free(s->resources);
    free(s->span_corr);
    free(s->res_corr);
    memset(s, 0, sizeof(*s));
}
