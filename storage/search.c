/*
 * Finding traces: see search.h.
 */
#include "search.h"
#include "pgutil.h"
#include "arena.h"
#include "batch.h"
#include "buf.h"
#include "hex.h"
#include "otlp.h"
#include "spans.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/*
 * The parts of the traces whose IDs are in $1 (a bytea[]): through the index
 * on 8 bytes of the ID (migration 014), then exactly.
 */
#define TRACE_IDS_ARE_ANY_OF_1                                                                     \
    "otelpg_trace_key(trace_id) = ANY(ARRAY(SELECT otelpg_trace_key(x)"                            \
    " FROM unnest($1::bytea[]) AS x)) AND trace_id = ANY($1::bytea[])"

typedef Opentelemetry__Proto__Trace__V1__Span otlp_span_t;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otlp_rs_t;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans otlp_ss_t;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest otlp_req_t;
typedef Opentelemetry__Proto__Resource__V1__Resource otlp_resource_t;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope otlp_scope_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_value_t;

/* Trace parts fetched from the search cursor at a time. */
#define FETCH_ROWS "1000"
/* Trace parts fetched from the dependency cursor at a time (no block is opened for most). */
#define DEPS_FETCH_ROWS "10000"
#define STATUS_ERROR    OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR

static void set_err(char *err, size_t n, const char *what, PGconn *conn)
{
    snprintf(err, n, "%s: %s", what, conn ? PQerrorMessage(conn) : "");
    err[strcspn(err, "\n")] = '\0';
}

/* The UTC day a time falls in, as the partitions number them. */
static int64_t day_of(int64_t ns)
{
    return ns >= 0 ? ns / OPG_NS_PER_DAY : -((-ns + OPG_NS_PER_DAY - 1) / OPG_NS_PER_DAY);
}

/* ---------------------------------------------------------------- the query */

void opg_search_query_init(struct opg_search_query *q)
{
    memset(q, 0, sizeof(*q));
    q->span_dur_min_ns = q->span_dur_max_ns = -1;
    q->trace_dur_min_ns = q->trace_dur_max_ns = -1;
    q->status = -1;
    q->kind = -1;
}

void opg_search_query_release(struct opg_search_query *q)
{
    for (size_t i = 0; i < q->n_tags; i++) {
        free(q->tags[i].key);
        free(q->tags[i].value);
    }
    q->n_tags = 0;
}

const char *opg_search_kind_name(int kind)
{
    static const char *const names[] = {"", "internal", "server", "client", "producer", "consumer"};

    return kind >= 0 && kind <= 5 ? names[kind] : NULL;
}

int opg_search_kind_from_name(const char *name)
{
    for (int k = 0; k <= 5; k++)
        if (!strcmp(opg_search_kind_name(k), name))
            return k;
    return -1;
}

int opg_search_query_add_tag(struct opg_search_query *q, const char *key, const char *value,
                             char *err, size_t errlen)
{
    if (!*key || strlen(key) > OPG_SEARCH_MAX_TAG_LEN || strlen(value) > OPG_SEARCH_MAX_TAG_LEN) {
        snprintf(err, errlen, "a tag key has 1 to %d characters, a value at most %d",
                 OPG_SEARCH_MAX_TAG_LEN, OPG_SEARCH_MAX_TAG_LEN);
        return -1;
    }
    /*
     * Jaeger derives these tags from the span's status and kind; here they
     * are plain columns, so they filter in SQL and cost no decompression.
     */
    if (!strcmp(key, "error") && (!strcmp(value, "true") || !strcmp(value, "false"))) {
        q->status = STATUS_ERROR;
        q->status_not = !strcmp(value, "false");
        return 0;
    }
    if (!strcmp(key, "otel.status_code")) {
        int code = opg_otlp_status_code_from_name(value);
        if (code < 0) {
            static const char *const names[] = {"UNSET", "OK", "ERROR"};
            for (int i = 0; i < 3; i++)
                if (!strcmp(value, names[i]))
                    code = i;
        }
        if (code < 0) {
            snprintf(err, errlen, "tag otel.status_code: expected UNSET, OK or ERROR, got '%.64s'",
                     value);
            return -1;
        }
        q->status = code;
        q->status_not = false;
        return 0;
    }
    if (!strcmp(key, "span.kind")) {
        int kind = opg_search_kind_from_name(value);
        if (kind <= 0) {
            snprintf(err, errlen,
                     "tag span.kind: expected server, client, producer, consumer or internal, got "
                     "'%.64s'",
                     value);
            return -1;
        }
        q->kind = kind;
        return 0;
    }
    if (q->n_tags == OPG_SEARCH_MAX_TAGS) {
        snprintf(err, errlen, "at most %d tags", OPG_SEARCH_MAX_TAGS);
        return -1;
    }
    q->tags[q->n_tags].key = opg_xstrdup(key);
    q->tags[q->n_tags].value = opg_xstrdup(value);
    q->n_tags++;
    return 0;
}

int opg_search_query_parse_tags(struct opg_search_query *q, const char *json, char *err,
                                size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *v;
    int ret = -1;

    if (!root) {
        snprintf(err, errlen, "expected a JSON object of strings: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "expected a JSON object of strings like {\"error\":\"true\"}");
        goto out_free_root;
    }
    json_object_foreach(root, key, v)
    {
        char num[64];
        const char *text;

        /* Jaeger wants strings; a bare number or boolean can only mean its text. */
        if (json_is_string(v)) {
            text = json_string_value(v);
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            text = num;
        } else if (json_is_real(v)) {
            snprintf(num, sizeof(num), "%.17g", json_real_value(v));
            text = num;
        } else if (json_is_boolean(v)) {
            text = json_is_true(v) ? "true" : "false";
        } else {
            snprintf(err, errlen, "tag '%.64s': expected a string value", key);
            goto out_free_root;
        }
        if (strlen(text) != (json_is_string(v) ? json_string_length(v) : strlen(text))) {
            snprintf(err, errlen, "tag '%.64s': the value holds a NUL character", key);
            goto out_free_root;
        }
        if (opg_search_query_add_tag(q, key, text, err, errlen) < 0)
            goto out_free_root;
    }
    ret = 0;
out_free_root:
    json_decref(root);
    return ret;
}

int opg_search_query_parse_tag_pair(struct opg_search_query *q, const char *pair, char *err,
                                    size_t errlen)
{
    const char *colon = strchr(pair, ':');
    char key[OPG_SEARCH_MAX_TAG_LEN + 1];
    size_t n;

    if (!colon || colon == pair) {
        snprintf(err, errlen, "malformed 'tag' parameter, expecting key:value, got '%.64s'", pair);
        return -1;
    }
    n = (size_t)(colon - pair);
    if (n > OPG_SEARCH_MAX_TAG_LEN) {
        snprintf(err, errlen, "a tag key has at most %d characters", OPG_SEARCH_MAX_TAG_LEN);
        return -1;
    }
    memcpy(key, pair, n);
    key[n] = '\0';
    return opg_search_query_add_tag(q, key, colon + 1, err, errlen);
}

const char *opg_search_param(opg_search_param_fn get, void *cls, const char *const *names,
                             const char **used)
{
    for (size_t i = 0; names[i]; i++) {
        const char *v = get(cls, names[i]);
        if (v && *v) {
            if (used)
                *used = names[i];
            return v;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- matching spans */

static bool value_is(const otlp_value_t *v, const char *want)
{
    char *end;

    if (!v)
        return false;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        return strlen(want) == v->string_value.len &&
               !memcmp(v->string_value.data, want, v->string_value.len);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        return !strcmp(want, v->bool_value ? "true" : "false");
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: {
        long long n;
        errno = 0;
        n = strtoll(want, &end, 10);
        return *want && !*end && !errno && n == v->int_value;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE: {
        /* Compared as numbers: "1.5" and "1.50" both mean the stored 1.5. */
        double d = strtod(want, &end);
        return *want && !*end && d == v->double_value;
    }
    default:
        return false;
    }
}

static bool attrs_have(otlp_kv_t *const *kv, size_t n, const struct opg_search_tag *t)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i]->key && !strcmp(kv[i]->key, t->key) && value_is(kv[i]->value, t->value))
            return true;
    return false;
}

/* Where Jaeger looks for a tag: the span's tags and logs, its process, and the
 * tags the OTLP translation adds (scope, status message). */
static bool span_has_tag(const otlp_span_t *s, const otlp_resource_t *resource,
                         const otlp_scope_t *scope, const struct opg_search_tag *t)
{
    if (attrs_have(s->attributes, s->n_attributes, t))
        return true;
    for (size_t i = 0; i < s->n_events; i++)
        if (attrs_have(s->events[i]->attributes, s->events[i]->n_attributes, t))
            return true;
    if (resource && attrs_have(resource->attributes, resource->n_attributes, t))
        return true;
    if (scope && scope->name && !strcmp(t->key, "otel.scope.name"))
        return !strcmp(scope->name, t->value);
    if (scope && scope->version && !strcmp(t->key, "otel.scope.version"))
        return !strcmp(scope->version, t->value);
    if (s->status && s->status->message && !strcmp(t->key, "otel.status_description"))
        return !strcmp(s->status->message, t->value);
    return false;
}

/*
 * True if s[0..n) is want as a text column holds s: the collector stores
 * invalid UTF-8 and NUL as U+FFFD there, and the listings show that form.
 */
static bool text_is(const char *s, size_t n, const char *want, struct opg_buf *tmp)
{
    size_t wn = strlen(want);

    if (n == wn && !memcmp(s, want, n))
        return true;
    if (opg_text_clean(s, n))
        return false;
    opg_buf_reset(tmp);
    opg_text_sanitize(tmp, s, n);
    return tmp->len == wn && !memcmp(tmp->data, want, wn);
}

/* ---------------------------------------------------------------- ID sets */

struct idset {
    uint8_t (*slots)[16];
    bool *used;
    size_t cap; /* a power of two */
    size_t n;
};

static void idset_release(struct idset *s)
{
    free(s->slots);
    free(s->used);
    memset(s, 0, sizeof(*s));
}

static size_t idset_slot(const struct idset *s, const uint8_t id[16])
{
    uint64_t h;

    /* Trace IDs are random already; mixing guards against patterned ones. */
    memcpy(&h, id + 8, sizeof(h));
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return (size_t)h & (s->cap - 1);
}

static bool idset_has(const struct idset *s, const uint8_t id[16])
{
    if (!s->cap)
        return false;
    for (size_t i = idset_slot(s, id); s->used[i]; i = (i + 1) & (s->cap - 1))
        if (!memcmp(s->slots[i], id, 16))
            return true;
    return false;
}

/* Adds id; true if it was not there yet. */
static bool idset_add(struct idset *s, const uint8_t id[16])
{
    size_t i;

    if ((s->n + 1) * 2 > s->cap) {
        struct idset bigger = {0};
        bigger.cap = s->cap ? s->cap * 2 : 256;
        bigger.slots = opg_xcalloc(bigger.cap, 16);
        bigger.used = opg_xcalloc(bigger.cap, sizeof(bool));
        for (size_t k = 0; k < s->cap; k++)
            if (s->used[k])
                idset_add(&bigger, s->slots[k]);
        idset_release(s);
        *s = bigger;
    }
    for (i = idset_slot(s, id); s->used[i]; i = (i + 1) & (s->cap - 1))
        if (!memcmp(s->slots[i], id, 16))
            return false;
    s->used[i] = true;
    memcpy(s->slots[i], id, 16);
    s->n++;
    return true;
}

/* ids as a PostgreSQL bytea[] literal: {"\\x0123...",...} */
static void ids_literal(struct opg_buf *b, const uint8_t (*ids)[16], size_t n)
{
    char hex[33];

    opg_buf_addch(b, '{');
    for (size_t i = 0; i < n; i++) {
        opg_hex_encode(hex, ids[i], 16);
        opg_buf_addf(b, "%s\"\\\\x%s\"", i ? "," : "", hex);
    }
    opg_buf_addch(b, '}');
}

/* ---------------------------------------------------------------- blocks */

/*
 * Blocks are read through a cache. Parts walked by start time come from the
 * blocks of that time, as many as there were exporters sending then, their
 * parts interleaved; so a block is fetched and decompressed once while the
 * walk is among its parts, and fetched together with the next blocks the
 * walk will need (2, then 4, ... up to FETCH_BLOCKS per query, so that a
 * search that ends early fetches little). Each block has its own arena; the
 * least recently used is dropped once the cache holds CACHE_BLOCKS blocks or
 * CACHE_BYTES: memory stays bounded however far a walk goes, at the price
 * of reading a block again should the walk come back to it.
 *
 * A block is not unpacked whole: protobuf-c would allocate every attribute
 * of every span, most of it for spans of other traces. It is scanned in its
 * wire format instead, for what parts, summaries and the graph need of
 * each span (IDs, name, kind, times, status, its resource's service), and a
 * span is unpacked only when its attributes are matched against tags.
 */
#define CACHE_BLOCKS 256
#define CACHE_BYTES  (64u << 20)
/* What a block's arena holds beyond what it hands out, at most: its first chunk. */
#define BLOCK_OVERHEAD (64u << 10)
/* What one block may decompress to (it holds one request's spans at most). */
#define CACHE_ARENA_LIMIT (1u << 30)
#define FETCH_BLOCKS      16

struct block_key {
    int64_t id;
    int32_t day;
};

static bool key_eq(struct block_key a, struct block_key b)
{
    return a.id == b.id && a.day == b.day;
}

/* A resource and scope of a block, unpacked (they are few). */
struct block_origin {
    struct opg_arena *arena;         /* the block's */
    const otlp_resource_t *resource; /* NULL if absent or unreadable */
    const otlp_scope_t *scope;       /* likewise */
    ProtobufCBinaryData service;     /* service.name as the text columns hold it */
};

/* A span of a block: what its wire format says, pointing into the block's bytes. */
struct block_span {
    const uint8_t *trace_id;  /* 16 bytes */
    const uint8_t *span_id;   /* 8 bytes, or NULL */
    const uint8_t *parent_id; /* 8 bytes, or NULL for a root span */
    const char *name;         /* name_len bytes, not NUL-terminated */
    size_t name_len;
    const uint8_t *msg; /* the Span message */
    size_t msg_len;
    otlp_span_t *span; /* unpacked from msg on demand */
    const struct block_origin *origin;
    int64_t start_ns, duration_ns; /* as trace_parts counts them */
    int32_t kind, status;
    uint32_t at; /* place in the block, so that sorting is stable */
};

struct block {
    struct block_key key;
    struct opg_arena *arena;  /* the block's bytes, spans, origins and unpacked spans */
    struct block_span *spans; /* sorted by trace ID */
    size_t n;                 /* 0 for a missing or unreadable block */
    uint64_t used;            /* the cache's clock when last looked up */
};

struct block_cache {
    PGconn *conn;
    struct opg_codec *codec;
    struct block *blocks;
    size_t n, max;
    uint64_t clock;
    PGresult *fetched; /* id, day, payload, span_count of the blocks fetched last */
    size_t ahead;      /* blocks the next fetch asks for */
    struct opg_buf scratch, tmp;
};

/* ---- the protobuf wire format, as far as the scan needs it */

struct pb {
    const uint8_t *p, *end;
    bool bad;
};

struct pb_field {
    uint32_t num;
    int type;            /* 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
    uint64_t v;          /* varint and fixed values */
    const uint8_t *data; /* length-delimited: len bytes */
    size_t len;
};

static struct pb pb_of(const uint8_t *p, size_t n)
{
    return (struct pb){p, p + n, false};
}

static bool pb_varint(struct pb *b, uint64_t *v)
{
    uint64_t x = 0;

    for (int shift = 0; shift < 64 && b->p < b->end; shift += 7) {
        uint8_t c = *b->p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static uint64_t pb_le(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The next field of b; false at the end, or with b->bad set when malformed. */
static bool pb_next(struct pb *b, struct pb_field *f)
{
    uint64_t key, len;

    if (b->bad || b->p >= b->end)
        return false;
    if (!pb_varint(b, &key))
        goto bad;
    f->num = (uint32_t)(key >> 3);
    f->type = (int)(key & 7);
    switch (f->type) {
    case 0:
        if (!pb_varint(b, &f->v))
            goto bad;
        return true;
    case 1:
    case 5:
        len = f->type == 1 ? 8 : 4;
        if ((size_t)(b->end - b->p) < len)
            goto bad;
        f->v = pb_le(b->p, (int)len);
        b->p += len;
        return true;
    case 2:
        if (!pb_varint(b, &len) || len > (uint64_t)(b->end - b->p))
            goto bad;
        f->data = b->p;
        f->len = (size_t)len;
        b->p += len;
        return true;
    default: /* groups: not in OTLP */
        goto bad;
    }
bad:
    b->bad = true;
    return false;
}

/* Field num of message p[0..n), length-delimited (the last, as protobuf merges), or false. */
static bool pb_find(const uint8_t *p, size_t n, uint32_t num, const uint8_t **data, size_t *len)
{
    struct pb b = pb_of(p, n);
    struct pb_field f;
    bool found = false;

    while (pb_next(&b, &f)) {
        if (f.num == num && f.type == 2) {
            *data = f.data;
            *len = f.len;
            found = true;
        }
    }
    return found && !b.bad;
}

/* Span fields (opentelemetry/proto/trace/v1/trace.proto). */
enum {
    SPAN_TRACE_ID = 1,
    SPAN_SPAN_ID = 2,
    SPAN_PARENT_SPAN_ID = 4,
    SPAN_NAME = 5,
    SPAN_KIND = 6,
    SPAN_START = 7,
    SPAN_END = 8,
    SPAN_STATUS = 15,
    STATUS_CODE = 3,
};

/* Reads span message p[0..n) into e. False if it is malformed or has no valid trace ID. */
static bool scan_span(const uint8_t *p, size_t n, struct block_span *e)
{
    struct pb b = pb_of(p, n), st;
    struct pb_field f, g;
    uint64_t start = 0, end = 0;

    memset(e, 0, sizeof(*e));
    e->msg = p;
    e->msg_len = n;
    e->name = "";
    while (pb_next(&b, &f)) {
        switch (f.num) {
        case SPAN_TRACE_ID:
            if (f.type == 2)
                e->trace_id = f.len == OPG_TRACE_ID_LEN ? f.data : NULL;
            break;
        case SPAN_SPAN_ID:
            if (f.type == 2)
                e->span_id = f.len == OPG_SPAN_ID_LEN ? f.data : NULL;
            break;
        case SPAN_PARENT_SPAN_ID:
            if (f.type == 2)
                e->parent_id = f.len == OPG_SPAN_ID_LEN ? f.data : NULL;
            break;
        case SPAN_NAME:
            if (f.type == 2) {
                e->name = (const char *)f.data;
                e->name_len = f.len;
            }
            break;
        case SPAN_KIND:
            if (f.type == 0)
                e->kind = (int32_t)f.v;
            break;
        case SPAN_START:
            if (f.type == 1)
                start = f.v;
            break;
        case SPAN_END:
            if (f.type == 1)
                end = f.v;
            break;
        case SPAN_STATUS:
            if (f.type != 2)
                break;
            st = pb_of(f.data, f.len);
            while (pb_next(&st, &g))
                if (g.num == STATUS_CODE && g.type == 0)
                    e->status = (int32_t)g.v;
            if (st.bad)
                return false;
            break;
        }
    }
    /* Times kept within int64 as the collector keeps them for SQL. */
    if (start > (uint64_t)INT64_MAX)
        start = (uint64_t)INT64_MAX;
    e->start_ns = (int64_t)start;
    e->duration_ns = end < start || end > (uint64_t)INT64_MAX ? 0 : (int64_t)(end - start);
    return !b.bad && e->trace_id;
}

/* ---- the cache */

/* max: blocks kept at most (CACHE_BLOCKS when a walk may come back to them). */
static void cache_init(struct block_cache *c, PGconn *conn, struct opg_codec *codec, size_t max)
{
    memset(c, 0, sizeof(*c));
    c->conn = conn;
    c->codec = codec;
    c->max = max;
    c->blocks = opg_xcalloc(max, sizeof(*c->blocks));
    c->ahead = 2;
}

/* Accepts a zeroed cache. */
static void cache_release(struct block_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        opg_arena_destroy(c->blocks[i].arena);
    free(c->blocks);
    PQclear(c->fetched);
    opg_buf_release(&c->scratch);
    opg_buf_release(&c->tmp);
    memset(c, 0, sizeof(*c));
}

/* Makes room for one more block: a block pointer taken before is invalid after. */
static void cache_evict(struct block_cache *c)
{
    for (;;) {
        size_t bytes = 0, lru = 0;

        for (size_t i = 0; i < c->n; i++) {
            bytes += opg_arena_used(c->blocks[i].arena) + BLOCK_OVERHEAD;
            if (c->blocks[i].used < c->blocks[lru].used)
                lru = i;
        }
        if (c->n < c->max && bytes < CACHE_BYTES)
            return;
        opg_arena_destroy(c->blocks[lru].arena);
        c->blocks[lru] = c->blocks[--c->n];
    }
}

static struct block *cache_find(struct block_cache *c, struct block_key key)
{
    for (size_t i = c->n; i-- > 0;) {
        if (key_eq(c->blocks[i].key, key)) {
            c->blocks[i].used = ++c->clock;
            return &c->blocks[i];
        }
    }
    return NULL;
}

static int cmp_block_span(const void *a, const void *b)
{
    const struct block_span *x = a, *y = b;
    int c = memcmp(x->trace_id, y->trace_id, OPG_TRACE_ID_LEN);

    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* The resource and scope of one ScopeSpans of resource rs (p[0..n)). -1 if out of memory. */
static int scan_origin(struct block *b, struct block_origin *o, const otlp_resource_t *rs,
                       ProtobufCBinaryData service, const uint8_t *p, size_t n)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(b->arena);
    const uint8_t *scope;
    size_t len;

    o->arena = b->arena;
    o->resource = rs;
    o->service = service;
    o->scope = NULL;
    if (pb_find(p, n, 1, &scope, &len))
        o->scope = opentelemetry__proto__common__v1__instrumentation_scope__unpack(&al, len, scope);
    return opg_arena_exhausted(b->arena) ? -1 : 0;
}

/* service.name of rs, as the text columns hold it. */
static int origin_service(struct block_cache *c, struct block *b, const otlp_resource_t *rs,
                          ProtobufCBinaryData *out)
{
    *out = opg_resource_service(rs);
    if (opg_text_clean((const char *)out->data, out->len))
        return 0;
    opg_buf_reset(&c->tmp);
    opg_text_sanitize(&c->tmp, (const char *)out->data, out->len);
    out->data = (uint8_t *)opg_arena_strndup(b->arena, c->tmp.data, c->tmp.len);
    out->len = c->tmp.len;
    return out->data ? 0 : -1;
}

/*
 * Lists the spans of the TracesData in bytes[0..n) in b, sorted by trace:
 * cap of them at most (span_blocks.span_count). -1 if the block is
 * malformed or the arena is full.
 */
static int index_block(struct block_cache *c, struct block *b, const uint8_t *bytes, size_t n,
                       size_t cap)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(b->arena);
    struct pb top = pb_of(bytes, n), rs, ss;
    struct pb_field f, g, h;

    /* the resources and spans unpacked from it must not recurse without bound */
    if (opg_pb_check_depth(
            &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
            bytes, n, OPG_BLOCK_MAX_DEPTH) < 0)
        return -1;
    b->spans = opg_arena_alloc(b->arena, (cap ? cap : 1) * sizeof(*b->spans));
    if (!b->spans)
        return -1;
    while (pb_next(&top, &f)) {
        const otlp_resource_t *resource = NULL;
        ProtobufCBinaryData service;
        const uint8_t *p;
        size_t len;

        if (f.num != 1 || f.type != 2)
            continue;
        if (pb_find(f.data, f.len, 1, &p, &len))
            resource = opentelemetry__proto__resource__v1__resource__unpack(&al, len, p);
        if (origin_service(c, b, resource, &service) < 0)
            return -1;
        rs = pb_of(f.data, f.len);
        while (pb_next(&rs, &g)) {
            struct block_origin *o;

            if (g.num != 2 || g.type != 2)
                continue;
            o = opg_arena_alloc(b->arena, sizeof(*o));
            if (!o || scan_origin(b, o, resource, service, g.data, g.len) < 0)
                return -1;
            ss = pb_of(g.data, g.len);
            while (pb_next(&ss, &h)) {
                struct block_span *e;

                if (h.num != 2 || h.type != 2)
                    continue;
                if (b->n == cap)
                    return -1; /* more spans than the row says */
                e = &b->spans[b->n];
                if (!scan_span(h.data, h.len, e))
                    continue;
                e->origin = o;
                e->at = (uint32_t)b->n++;
            }
            if (ss.bad)
                return -1;
        }
        if (rs.bad)
            return -1;
    }
    if (top.bad)
        return -1;
    qsort(b->spans, b->n, sizeof(*b->spans), cmp_block_span);
    return 0;
}

/*
 * Decompresses payload (NULL: the block is missing) into the cache. A block
 * that cannot be read is cached empty: its spans match nothing, as a corrupt
 * row matched nothing before, rather than failing every search that meets
 * it.
 */
static struct block *cache_decode(struct block_cache *c, struct block_key key,
                                  const uint8_t *payload, size_t len, size_t n_spans)
{
    struct block *b;
    uint8_t *bytes;

    cache_evict(c);
    b = &c->blocks[c->n++];
    *b = (struct block){.key = key, .used = ++c->clock};
    b->arena = opg_arena_create(CACHE_ARENA_LIMIT);
    if (!payload || opg_codec_decode(c->codec, payload, len, CACHE_ARENA_LIMIT, &c->scratch) < 0)
        return b;
    bytes = opg_arena_alloc(b->arena, c->scratch.len ? c->scratch.len : 1);
    if (!bytes)
        return b;
    memcpy(bytes, c->scratch.data, c->scratch.len);
    if (index_block(c, b, bytes, c->scratch.len, n_spans) < 0)
        b->n = 0;
    return b;
}

/* The unpacked span of e (for its attributes and events), or NULL if it is unreadable. */
static const otlp_span_t *cache_span(struct block_span *e)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(e->origin->arena);

    if (!e->span)
        e->span = opentelemetry__proto__trace__v1__span__unpack(&al, e->msg_len, e->msg);
    return e->span;
}

/* The fetched row of block key (its payload and span count), or -1. */
static int fetched_find(const struct block_cache *c, struct block_key key)
{
    for (int r = 0; c->fetched && r < PQntuples(c->fetched); r++)
        if (opg_pg_int8(PQgetvalue(c->fetched, r, 0)) == key.id &&
            opg_pg_int4(PQgetvalue(c->fetched, r, 1)) == key.day)
            return r;
    return -1;
}

static struct block *cache_decode_row(struct block_cache *c, struct block_key key, int r)
{
    int32_t n_spans;

    if (r < 0)
        return cache_decode(c, key, NULL, 0, 0);
    n_spans = opg_pg_int4(PQgetvalue(c->fetched, r, 3));
    return cache_decode(c, key, (const uint8_t *)PQgetvalue(c->fetched, r, 2),
                        (size_t)PQgetlength(c->fetched, r, 2), n_spans > 0 ? (size_t)n_spans : 0);
}

/* The block if it is in the cache, or fetched already (then decompressed now); NULL if it
 * must be loaded. Valid until the next call on the cache. */
static struct block *cache_lookup(struct block_cache *c, struct block_key key)
{
    struct block *b = cache_find(c, key);
    int r;

    if (b)
        return b;
    r = fetched_find(c, key);
    return r < 0 ? NULL : cache_decode_row(c, key, r);
}

/*
 * Fetches block key, and with it blocks of ahead[0..n_ahead) (those the
 * walk will need next, in order; repeats and decoded ones are left out),
 * then returns key's block as cache_lookup does. NULL with err if the
 * database failed.
 */
static struct block *cache_load(struct block_cache *c, struct block_key key,
                                const struct block_key *ahead, size_t n_ahead, char *err,
                                size_t errlen)
{
    struct opg_buf ids = OPG_BUF_INIT, days = OPG_BUF_INIT;
    struct block_key want[FETCH_BLOCKS];
    const char *params[2];
    size_t n = 0;
    struct block *b = NULL;

    want[n++] = key;
    for (size_t i = 0; i < n_ahead && n < c->ahead; i++) {
        size_t k = 0;
        while (k < n && !key_eq(want[k], ahead[i]))
            k++;
        if (k == n && !cache_find(c, ahead[i]))
            want[n++] = ahead[i];
    }
    opg_buf_addch(&ids, '{');
    opg_buf_addch(&days, '{');
    for (size_t i = 0; i < n; i++) {
        opg_buf_addf(&ids, "%s%lld", i ? "," : "", (long long)want[i].id);
        opg_buf_addf(&days, "%s%d", i ? "," : "", (int)want[i].day);
    }
    opg_buf_addch(&ids, '}');
    opg_buf_addch(&days, '}');
    params[0] = ids.data;
    params[1] = days.data;
    PQclear(c->fetched);
    c->fetched = PQexecParams(
        c->conn,
        "SELECT id, day, payload || coalesce(tail, ''::bytea), span_count FROM span_blocks"
        " WHERE id = ANY($1::bigint[]) AND day = ANY($2::integer[])",
        2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(c->fetched) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading span blocks", c->conn);
        PQclear(c->fetched);
        c->fetched = NULL;
        goto out;
    }
    if (c->ahead < FETCH_BLOCKS)
        c->ahead *= 2;
    /* Not there: a part whose block is gone (a retention race); it holds nothing. */
    b = cache_decode_row(c, key, fetched_find(c, key));
out:
    opg_buf_release(&ids);
    opg_buf_release(&days);
    return b;
}

/* The spans of trace id in b: the first of them, and *n. */
static struct block_span *block_trace(const struct block *b, const uint8_t id[16], size_t *n)
{
    size_t lo = 0, hi = b->n, end;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(b->spans[mid].trace_id, id, OPG_TRACE_ID_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (end = lo; end < b->n && !memcmp(b->spans[end].trace_id, id, OPG_TRACE_ID_LEN); end++)
        ;
    *n = end - lo;
    return b->spans + lo;
}

static struct block_key row_key(PGresult *res, int r, int col)
{
    return (struct block_key){opg_pg_int8(PQgetvalue(res, r, col)),
                              opg_pg_int4(PQgetvalue(res, r, col + 1))};
}

/* ---------------------------------------------------------------- the search */

struct search {
    PGconn *conn;
    const struct opg_search_query *q;
    struct opg_search_result *out;
    struct idset seen;      /* traces decided (found, or refused by the trace duration) */
    uint8_t (*pending)[16]; /* found in this batch, waiting for the trace duration check */
    size_t n_pending;
    bool by_spans; /* the parts' columns cannot answer the query: their spans are checked */
    size_t service_len;
    struct block_cache cache;
    struct opg_buf tmp;
    char *err;
    size_t errlen;
};

static int param_add(const char **params, char (*text)[32], int *n, int64_t v)
{
    snprintf(text[*n], sizeof(text[0]), "%lld", (long long)v);
    params[*n] = text[*n];
    return ++*n;
}

static bool has(const char *s)
{
    return s && *s;
}

/*
 * True if the columns of a trace part answer q exactly, so that no block
 * need be opened: at most one of service, kind, status ERROR (or not) and
 * minimum span duration. Two of them must hold for one span, which only
 * the spans can tell; an operation is a bloom filter, not an answer.
 */
static bool columns_answer(const struct opg_search_query *q)
{
    int conditions =
        has(q->service) + (q->kind >= 0) + (q->status >= 0) + (q->span_dur_min_ns >= 0);

    if (q->n_tags || has(q->operation) || q->span_dur_max_ns >= 0)
        return false;
    if (q->status >= 0 && q->status != STATUS_ERROR)
        return false; /* OK or UNSET: the columns count errors only */
    return conditions <= 1;
}

/*
 * The candidate query: trace parts newest first, down the start index, with
 * what the part's columns can rule out. Values always travel as parameters;
 * only which filters are present shapes the text.
 */
static void build_sql(const struct opg_search_query *q, struct opg_buf *sql, const char **params,
                      char (*text)[32], int *np)
{
    int p;

    *np = 0;
    param_add(params, text, np, q->start_min_ns);
    param_add(params, text, np, q->start_max_ns);
    param_add(params, text, np, day_of(q->start_min_ns));
    param_add(params, text, np, day_of(q->start_max_ns));
    opg_buf_addstr(sql, "DECLARE opg_search NO SCROLL CURSOR FOR"
                        " SELECT trace_id, block_id, day FROM trace_parts"
                        " WHERE start_ns BETWEEN $1::bigint AND $2::bigint"
                        " AND day BETWEEN $3::integer AND $4::integer");
    if (has(q->service)) {
        params[*np] = q->service;
        /* services: the names joined by U+001F, which became '_' in a name */
        p = ++*np;
        opg_buf_addf(sql,
                     " AND strpos(E'\\x1f' || services || E'\\x1f',"
                     " E'\\x1f' || replace($%d::text, E'\\x1f', '_') || E'\\x1f') > 0",
                     p);
    }
    /* The bloom holds the names as sent; a name with U+FFFD may stand for invalid UTF-8. */
    if (has(q->operation) && !strstr(q->operation, "\xef\xbf\xbd")) {
        p = param_add(params, text, np,
                      (int64_t)opg_span_name_bloom(q->operation, strlen(q->operation)));
        opg_buf_addf(sql, " AND name_bloom & $%d::bigint = $%d::bigint", p, p);
    }
    if (q->kind >= 0 && q->kind <= 5) {
        p = param_add(params, text, np, 1 << q->kind);
        opg_buf_addf(sql, " AND kinds & $%d::smallint <> 0", p);
    }
    if (q->status == STATUS_ERROR && !q->status_not)
        opg_buf_addstr(sql, " AND error_count > 0");
    else if (q->status >= 0 && (q->status == STATUS_ERROR) == q->status_not)
        opg_buf_addstr(sql, " AND error_count < span_count"); /* some span is not in error */
    if (q->span_dur_min_ns >= 0) {
        p = param_add(params, text, np, q->span_dur_min_ns);
        opg_buf_addf(sql, " AND longest_ns >= $%d::bigint", p);
    }
    opg_buf_addstr(sql, " ORDER BY start_ns DESC");
}

/*
 * True if span e meets every span condition of the query but the tags: what
 * the columns of a span row answered before blocks (one span must meet all).
 */
static bool span_is_candidate(struct search *s, const struct block_span *e)
{
    const struct opg_search_query *q = s->q;
    const ProtobufCBinaryData *service = &e->origin->service;

    if (has(q->service) &&
        (service->len != s->service_len || memcmp(service->data, q->service, s->service_len)))
        return false;
    if (e->start_ns < q->start_min_ns || e->start_ns > q->start_max_ns)
        return false;
    if (has(q->operation) && !text_is(e->name, e->name_len, q->operation, &s->tmp))
        return false;
    if (q->kind >= 0 && e->kind != q->kind)
        return false;
    if (q->status >= 0 && (e->status == q->status) == q->status_not)
        return false;
    if (q->span_dur_min_ns >= 0 && e->duration_ns < q->span_dur_min_ns)
        return false;
    if (q->span_dur_max_ns >= 0 && e->duration_ns > q->span_dur_max_ns)
        return false;
    return true;
}

/* True if span e has every tag of the query; a span that cannot be unpacked has none. */
static bool span_has_tags(struct search *s, struct block_span *e)
{
    const otlp_span_t *sp = s->q->n_tags ? cache_span(e) : NULL;

    for (size_t i = 0; i < s->q->n_tags; i++)
        if (!sp || !span_has_tag(sp, e->origin->resource, e->origin->scope, &s->q->tags[i]))
            return false;
    return true;
}

/*
 * Checks the spans of the part in row r of res against the query: *match if
 * one meets it; *done if the candidate bound ran out first. As a span row
 * did before, each span that meets the conditions but the tags counts as a
 * candidate (the first one is the part's own count): so a tag search
 * reaches as many spans as it did. Returns 0, or -1 with err.
 */
static int part_matches(struct search *s, PGresult *res, int r, bool *match, bool *done)
{
    struct block_key key = row_key(res, r, 1);
    struct block_span *e;
    struct block *b;
    size_t n;

    *match = false;
    b = cache_lookup(&s->cache, key);
    if (!b) {
        /* The blocks of the next undecided parts, in walk order, come along. */
        struct block_key ahead[FETCH_BLOCKS];
        size_t n_ahead = 0;

        for (int k = r + 1; k < PQntuples(res) && n_ahead < FETCH_BLOCKS; k++) {
            struct block_key next = row_key(res, k, 1);
            size_t i = 0;

            if (PQgetlength(res, k, 0) != 16 ||
                idset_has(&s->seen, (const uint8_t *)PQgetvalue(res, k, 0)) || key_eq(next, key) ||
                cache_find(&s->cache, next))
                continue;
            while (i < n_ahead && !key_eq(ahead[i], next))
                i++;
            if (i == n_ahead)
                ahead[n_ahead++] = next;
        }
        b = cache_load(&s->cache, key, ahead, n_ahead, s->err, s->errlen);
        if (!b)
            return -1;
    }
    e = block_trace(b, (const uint8_t *)PQgetvalue(res, r, 0), &n);
    for (size_t i = 0, candidates = 0; i < n; i++) {
        if (!span_is_candidate(s, &e[i]))
            continue;
        if (candidates++) {
            if (s->out->scanned == s->q->max_candidates) {
                s->out->cut = true;
                *done = true;
                return 0;
            }
            s->out->scanned++;
        }
        if (span_has_tags(s, &e[i])) {
            *match = true;
            return 0;
        }
    }
    return 0;
}

static void result_add(struct opg_search_result *out, const uint8_t id[16])
{
    out->ids = opg_xrealloc(out->ids, (out->n + 1) * sizeof(*out->ids));
    memcpy(out->ids[out->n++], id, 16);
}

/* Moves the pending traces whose whole duration (over all their parts) is within bounds to
 * the result. */
static int check_trace_durations(struct search *s)
{
    const struct opg_search_query *q = s->q;
    struct opg_buf ids = OPG_BUF_INIT;
    struct idset ok = {0};
    char min_s[24], max_s[24];
    const char *params[3] = {NULL, min_s, max_s};
    PGresult *res;
    int ret = -1;

    if (!s->n_pending)
        return 0;
    ids_literal(&ids, (const uint8_t(*)[16])s->pending, s->n_pending);
    params[0] = ids.data;
    snprintf(min_s, sizeof(min_s), "%lld", (long long)q->trace_dur_min_ns);
    snprintf(max_s, sizeof(max_s), "%lld", (long long)q->trace_dur_max_ns);
    res = PQexecParams(s->conn,
                       "SELECT trace_id FROM trace_parts WHERE " TRACE_IDS_ARE_ANY_OF_1
                       " GROUP BY trace_id"
                       " HAVING max(end_ns) - min(start_ns) >= $2::bigint"
                       " AND ($3::bigint < 0 OR max(end_ns) - min(start_ns) <= $3::bigint)",
                       3, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(s->err, s->errlen, "checking trace durations", s->conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++)
        if (PQgetlength(res, r, 0) == 16)
            idset_add(&ok, (const uint8_t *)PQgetvalue(res, r, 0));
    for (size_t i = 0; i < s->n_pending && s->out->n < q->limit; i++)
        if (idset_has(&ok, s->pending[i]))
            result_add(s->out, s->pending[i]);
    s->n_pending = 0;
    ret = 0;
out:
    PQclear(res);
    idset_release(&ok);
    opg_buf_release(&ids);
    return ret;
}

/* Examines one fetched batch of parts; *done once the search is over. */
static int process_batch(struct search *s, PGresult *res, bool *done)
{
    const struct opg_search_query *q = s->q;
    bool check_duration = q->trace_dur_min_ns >= 0 || q->trace_dur_max_ns >= 0;
    int rows = PQntuples(res);

    for (int r = 0; r < rows && !*done; r++) {
        const uint8_t *id = (const uint8_t *)PQgetvalue(res, r, 0);
        bool match = true;

        if (s->out->scanned == q->max_candidates) {
            s->out->cut = true;
            *done = true;
            break;
        }
        s->out->scanned++;
        /* Cheap test first: a trace's parts often follow each other. */
        if (PQgetlength(res, r, 0) != 16 || idset_has(&s->seen, id))
            continue;
        /* A part that does not match leaves its trace undecided: another may match. */
        if (s->by_spans && part_matches(s, res, r, &match, done) < 0)
            return -1;
        if (!match)
            continue;
        idset_add(&s->seen, id);
        if (check_duration) {
            s->pending = opg_xrealloc(s->pending, (s->n_pending + 1) * sizeof(*s->pending));
            memcpy(s->pending[s->n_pending++], id, 16);
        } else {
            result_add(s->out, id);
            *done = s->out->n == q->limit;
        }
    }
    if (check_duration && check_trace_durations(s) < 0)
        return -1;
    if (s->out->n == q->limit)
        *done = true;
    return 0;
}

int opg_search_find(PGconn *conn, struct opg_codec *codec, const struct opg_search_query *q,
                    struct opg_search_result *out, char *err, size_t errlen)
{
    struct search s = {.conn = conn,
                       .q = q,
                       .out = out,
                       .by_spans = !columns_answer(q),
                       .service_len = has(q->service) ? strlen(q->service) : 0,
                       .err = err,
                       .errlen = errlen};
    struct opg_buf sql = OPG_BUF_INIT;
    const char *params[16];
    char text[16][32];
    int np = 0;
    PGresult *res = NULL;
    bool done = false;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (!q->limit)
        return 0;
    cache_init(&s.cache, conn, codec, CACHE_BLOCKS);
    build_sql(q, &sql, params, text, &np);
    res = PQexec(conn, "BEGIN READ ONLY");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "starting the search", conn);
        goto out_rollback;
    }
    PQclear(res);
    res = PQexecParams(conn, sql.data, np, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "searching", conn);
        goto out_rollback;
    }
    while (!done) {
        PQclear(res);
        res = PQexecParams(conn, "FETCH " FETCH_ROWS " FROM opg_search", 0, NULL, NULL, NULL, NULL,
                           1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            set_err(err, errlen, "searching", conn);
            goto out_rollback;
        }
        if (PQntuples(res) == 0)
            break;
        if (process_batch(&s, res, &done) < 0)
            goto out_rollback;
    }
    ret = 0;
out_rollback:
    /* Read-only: ending with a rollback also closes the cursor, whatever happened. */
    PQclear(res);
    PQclear(PQexec(conn, "ROLLBACK"));
    opg_buf_release(&sql);
    opg_buf_release(&s.tmp);
    cache_release(&s.cache);
    free(s.pending);
    idset_release(&s.seen);
    return ret;
}

void opg_search_result_release(struct opg_search_result *r)
{
    free(r->ids);
    memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------- summaries */

/*
 * Spans one call reads at most (16 bytes each while it runs). Summaries are
 * asked for a page of search results, so this is reached only by traces of
 * hundreds of thousands of spans: a trace that would go past it is summed
 * up from its parts alone (counts as stored, no per-service counts, no
 * orphans) rather than read.
 */
#define SUMMARY_MAX_SPANS 4000000

static char *dup_value(PGresult *res, int r, int c)
{
    char *s;
    size_t n;

    if (PQgetisnull(res, r, c))
        return NULL;
    n = (size_t)PQgetlength(res, r, c);
    s = opg_xmalloc(n + 1);
    memcpy(s, PQgetvalue(res, r, c), n);
    s[n] = '\0';
    return s;
}

/* What reading a trace's spans adds up. */
struct summary_acc {
    struct opg_span_ids spans; /* each span counted once */
    uint64_t *parents;         /* parent span IDs, one per span that has one */
    size_t n_parents, cap_parents;
    int64_t errors;
    int64_t part_spans; /* the parts' span counts: what reading the trace costs */
    bool read;
};

/* A part of a trace being summed up: the block it is in, and the trace's place in ids. */
struct summary_part {
    struct block_key key;
    size_t trace;
};

/* A trace ID and its place in ids, sorted by ID to find a row's trace. */
struct id_place {
    uint8_t id[16];
    size_t i;
};

static int cmp_id_place(const void *a, const void *b)
{
    const struct id_place *x = a, *y = b;
    int c = memcmp(x->id, y->id, 16);

    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The place in ids of the trace id[0..len) (its first place if it is there twice), or -1. */
static ptrdiff_t id_place_find(const struct id_place *p, size_t n, const char *id, int len)
{
    size_t lo = 0, hi = n;

    if (len != 16)
        return -1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(p[mid].id, id, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && !memcmp(p[lo].id, id, 16) ? (ptrdiff_t)p[lo].i : -1;
}

static int cmp_summary_part(const void *a, const void *b)
{
    const struct summary_part *x = a, *y = b;

    if (x->key.day != y->key.day)
        return x->key.day < y->key.day ? -1 : 1;
    if (x->key.id != y->key.id)
        return x->key.id < y->key.id ? -1 : 1;
    return (x->trace > y->trace) - (x->trace < y->trace);
}

static int cmp_service_summary(const void *a, const void *b)
{
    return strcmp(((const struct opg_service_summary *)a)->name,
                  ((const struct opg_service_summary *)b)->name);
}

/* Counts the spans of t found in block b, each span ID once. */
static void summary_read(struct opg_trace_summary *t, struct summary_acc *acc,
                         const struct block *b)
{
    size_t n;
    const struct block_span *e = block_trace(b, t->trace_id, &n);

    for (size_t i = 0; i < n; i++) {
        const ProtobufCBinaryData *name = &e[i].origin->service;
        struct opg_service_summary *svc = NULL;
        bool error = e[i].status == STATUS_ERROR;
        uint64_t id;

        if (!e[i].span_id)
            continue;
        memcpy(&id, e[i].span_id, sizeof(id));
        if (!id || !opg_span_ids_add(&acc->spans, id))
            continue;
        acc->errors += error;
        for (size_t k = 0; k < t->n_services && !svc; k++)
            if (strlen(t->services[k].name) == name->len &&
                !memcmp(t->services[k].name, name->data, name->len))
                svc = &t->services[k];
        if (!svc) {
            t->services = opg_xrealloc(t->services, (t->n_services + 1) * sizeof(*t->services));
            svc = &t->services[t->n_services++];
            svc->name = opg_xmalloc(name->len + 1);
            memcpy(svc->name, name->data, name->len);
            svc->name[name->len] = '\0';
            svc->span_count = svc->error_count = 0;
        }
        svc->span_count++;
        svc->error_count += error;
        if (e[i].parent_id) {
            if (acc->n_parents == acc->cap_parents) {
                acc->cap_parents = acc->cap_parents ? acc->cap_parents * 2 : 64;
                acc->parents = opg_xrealloc(acc->parents, acc->cap_parents * sizeof(*acc->parents));
            }
            memcpy(&acc->parents[acc->n_parents++], e[i].parent_id, sizeof(uint64_t));
        }
    }
}

/* The summary's counts from the spans read, when there were any. */
static void summary_finish(struct opg_trace_summary *t, const struct summary_acc *acc)
{
    if (!acc->spans.n)
        return;
    t->span_count = (int64_t)acc->spans.n;
    t->error_count = acc->errors;
    t->orphan_count = 0;
    for (size_t i = 0; i < acc->n_parents; i++)
        t->orphan_count += !opg_span_ids_has(&acc->spans, acc->parents[i]);
    qsort(t->services, t->n_services, sizeof(*t->services), cmp_service_summary);
}

int opg_search_summaries(PGconn *conn, const uint8_t (*ids)[16], size_t n,
                         struct opg_trace_summary **out, char *err, size_t errlen)
{
    struct opg_trace_summary *s = opg_xcalloc(n ? n : 1, sizeof(*s));
    struct summary_acc *acc = NULL;
    struct summary_part *parts = NULL;
    struct id_place *places = NULL;
    struct block_cache cache = {0};
    struct opg_buf lit = OPG_BUF_INIT;
    struct opg_codec *codec;
    const char *params[1];
    size_t n_parts = 0, kept = 0;
    int64_t budget = SUMMARY_MAX_SPANS;
    PGresult *res = NULL;
    int ret = -1;

    *out = s;
    if (!n)
        return 0;
    codec = opg_codec_thread(1);
    if (!codec) {
        snprintf(err, errlen, "reading trace summaries: no codec");
        return -1;
    }
    acc = opg_xcalloc(n, sizeof(*acc));
    places = opg_xcalloc(n, sizeof(*places));
    for (size_t i = 0; i < n; i++) {
        memcpy(s[i].trace_id, ids[i], 16);
        memcpy(places[i].id, ids[i], 16);
        places[i].i = i;
    }
    qsort(places, n, sizeof(*places), cmp_id_place);
    ids_literal(&lit, ids, n);
    params[0] = lit.data;
    /* Sorted so that the first part holding a root names it, as a lookup by ID does. */
    res = PQexecParams(conn,
                       "SELECT trace_id, block_id, day, start_ns, end_ns, span_count, error_count,"
                       " root_service, root_name FROM trace_parts"
                       " WHERE " TRACE_IDS_ARE_ANY_OF_1 " ORDER BY root_service, root_name",
                       1, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading trace summaries", conn);
        goto out;
    }
    parts = opg_xcalloc((size_t)PQntuples(res) + 1, sizeof(*parts));
    for (int r = 0; r < PQntuples(res); r++) {
        ptrdiff_t i = id_place_find(places, n, PQgetvalue(res, r, 0), PQgetlength(res, r, 0));
        struct opg_trace_summary *t;
        int64_t start, end;

        if (i < 0)
            continue;
        t = &s[i];
        start = opg_pg_int8(PQgetvalue(res, r, 3));
        end = opg_pg_int8(PQgetvalue(res, r, 4));
        if (!t->found) {
            t->found = true;
            t->start_ns = start;
            t->end_ns = end;
        }
        if (start < t->start_ns)
            t->start_ns = start;
        if (end > t->end_ns)
            t->end_ns = end;
        t->span_count += opg_pg_int4(PQgetvalue(res, r, 5));
        t->error_count += opg_pg_int4(PQgetvalue(res, r, 6));
        if (!t->root_service && !PQgetisnull(res, r, 7)) {
            t->root_service = dup_value(res, r, 7);
            t->root_name = dup_value(res, r, 8);
        }
        acc[i].part_spans += opg_pg_int4(PQgetvalue(res, r, 5));
        parts[n_parts++] = (struct summary_part){row_key(res, r, 1), (size_t)i};
    }
    PQclear(res);
    res = NULL;

    /*
     * Per-service counts and orphans need the spans: each trace's blocks are
     * read and its spans picked out, as a lookup by ID does, so a trace of N
     * spans costs decoding at least N spans. Bounded by SUMMARY_MAX_SPANS.
     */
    for (size_t i = 0; i < n; i++) {
        if (s[i].found && acc[i].part_spans <= budget) {
            acc[i].read = true;
            budget -= acc[i].part_spans;
        }
    }
    for (size_t i = 0; i < n_parts; i++)
        if (acc[parts[i].trace].read)
            parts[kept++] = parts[i];
    qsort(parts, kept, sizeof(*parts), cmp_summary_part);
    cache_init(&cache, conn, codec, 1); /* the parts are sorted by block: each is read once */
    for (size_t i = 0; i < kept;) {
        struct block *b = cache_lookup(&cache, parts[i].key);
        size_t j;

        if (!b) {
            struct block_key ahead[FETCH_BLOCKS];
            size_t n_ahead = 0;

            for (j = i + 1; j < kept && n_ahead < FETCH_BLOCKS; j++)
                if (!key_eq(parts[j].key, parts[j - 1].key))
                    ahead[n_ahead++] = parts[j].key;
            b = cache_load(&cache, parts[i].key, ahead, n_ahead, err, errlen);
            if (!b)
                goto out;
        }
        for (j = i; j < kept && key_eq(parts[j].key, parts[i].key); j++)
            summary_read(&s[parts[j].trace], &acc[parts[j].trace], b);
        i = j;
    }
    for (size_t i = 0; i < n; i++)
        summary_finish(&s[i], &acc[i]);
    ret = 0;
out:
    PQclear(res);
    cache_release(&cache);
    opg_buf_release(&lit);
    for (size_t i = 0; acc && i < n; i++) {
        opg_span_ids_release(&acc[i].spans);
        free(acc[i].parents);
    }
    free(acc);
    free(parts);
    free(places);
    return ret;
}

void opg_search_summaries_free(struct opg_trace_summary *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++) {
        free(s[i].root_service);
        free(s[i].root_name);
        for (size_t j = 0; j < s[i].n_services; j++)
            free(s[i].services[j].name);
        free(s[i].services);
    }
    free(s);
}

/* ---------------------------------------------------------------- listings */

int opg_search_services(PGconn *conn, void (*fn)(void *cls, const char *service), void *cls,
                        char *err, size_t errlen)
{
    /* operations is kept at ingest and small: listing it never touches spans. */
    PGresult *res = PQexec(conn, "SELECT DISTINCT service FROM operations WHERE service <> ''"
                                 " ORDER BY 1");
    int ret = -1;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "listing services", conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++)
        fn(cls, PQgetvalue(res, r, 0));
    ret = 0;
out:
    PQclear(res);
    return ret;
}

int opg_search_operations(PGconn *conn, const char *service, int kind,
                          void (*fn)(void *cls, const char *name, int kind), void *cls, char *err,
                          size_t errlen)
{
    char kind_s[16];
    const char *params[2] = {service, kind_s};
    PGresult *res;
    int ret = -1;

    snprintf(kind_s, sizeof(kind_s), "%d", kind);
    res = PQexecParams(conn,
                       "SELECT name, kind FROM operations"
                       " WHERE ($1::text IS NULL OR service = $1::text)"
                       " AND ($2::integer < 0 OR kind = $2::integer)"
                       " ORDER BY name, kind",
                       2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "listing operations", conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++)
        fn(cls, PQgetvalue(res, r, 0), atoi(PQgetvalue(res, r, 1)));
    ret = 0;
out:
    PQclear(res);
    return ret;
}

/* ---------------------------------------------------------------- dependencies */

/*
 * The graph is joined here, not in SQL: spans are only in blocks. The blocks
 * of the window are read newest first (in the order the parts' start index
 * meets them) until max_spans spans are held; each span is kept once as a
 * small record (40 bytes, plus 8 of index), then every span that started in
 * the window is joined to its parent by (trace ID, span ID).
 */
#define DEP_CHILD      1 /* started in the window: a call, if its parent is another service's */
#define DEP_HAS_PARENT 2
#define DEP_ERROR      4

struct dep_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8];
    uint32_t service; /* into deps.names */
    uint8_t flags;
};

struct dep_name {
    char *name; /* owned */
    size_t len;
};

struct dep_edge {
    uint64_t key; /* parent service << 32 | child service, + 1; 0: a free slot */
    int64_t calls, errors;
};

struct deps {
    int64_t start_ns, end_ns;
    struct dep_span *spans;
    size_t n, cap;
    uint32_t *slots; /* index into spans + 1; 0: free */
    size_t n_slots;  /* a power of two, at least twice n */
    struct dep_name *names;
    size_t n_names;
    uint32_t *name_slots; /* index into names + 1 */
    size_t n_name_slots;
    struct dep_edge *edges;
    size_t n_edges, n_edge_slots;
};

static void deps_release(struct deps *d)
{
    for (size_t i = 0; i < d->n_names; i++)
        free(d->names[i].name);
    free(d->names);
    free(d->name_slots);
    free(d->spans);
    free(d->slots);
    free(d->edges);
    memset(d, 0, sizeof(*d));
}

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

static size_t dep_slot(const struct deps *d, const uint8_t trace_id[16], const uint8_t span_id[8])
{
    uint64_t a, b, c;

    memcpy(&a, trace_id, 8);
    memcpy(&b, trace_id + 8, 8);
    memcpy(&c, span_id, 8);
    return (size_t)mix64(a ^ mix64(b ^ mix64(c))) & (d->n_slots - 1);
}

/* The record of span (trace_id, span_id), or NULL. */
static const struct dep_span *deps_find(const struct deps *d, const uint8_t trace_id[16],
                                        const uint8_t span_id[8])
{
    if (!d->n_slots)
        return NULL;
    for (size_t i = dep_slot(d, trace_id, span_id); d->slots[i]; i = (i + 1) & (d->n_slots - 1)) {
        const struct dep_span *x = &d->spans[d->slots[i] - 1];
        if (!memcmp(x->span_id, span_id, 8) && !memcmp(x->trace_id, trace_id, 16))
            return x;
    }
    return NULL;
}

static void deps_index(struct deps *d, size_t k)
{
    size_t i = dep_slot(d, d->spans[k].trace_id, d->spans[k].span_id);

    while (d->slots[i])
        i = (i + 1) & (d->n_slots - 1);
    d->slots[i] = (uint32_t)(k + 1);
}

/* The number of service name[0..len), added if new. */
static uint32_t deps_service(struct deps *d, const uint8_t *name, size_t len)
{
    size_t i;

    if ((d->n_names + 1) * 2 > d->n_name_slots) {
        free(d->name_slots);
        d->n_name_slots = d->n_name_slots ? d->n_name_slots * 2 : 64;
        d->name_slots = opg_xcalloc(d->n_name_slots, sizeof(*d->name_slots));
        for (size_t k = 0; k < d->n_names; k++) {
            i = opg_hash64(d->names[k].name, d->names[k].len) & (d->n_name_slots - 1);
            while (d->name_slots[i])
                i = (i + 1) & (d->n_name_slots - 1);
            d->name_slots[i] = (uint32_t)(k + 1);
        }
    }
    for (i = opg_hash64(name, len) & (d->n_name_slots - 1); d->name_slots[i];
         i = (i + 1) & (d->n_name_slots - 1)) {
        const struct dep_name *x = &d->names[d->name_slots[i] - 1];
        if (x->len == len && !memcmp(x->name, name, len))
            return d->name_slots[i] - 1;
    }
    d->names = opg_xrealloc(d->names, (d->n_names + 1) * sizeof(*d->names));
    d->names[d->n_names].name = opg_xmalloc(len + 1);
    memcpy(d->names[d->n_names].name, name, len);
    d->names[d->n_names].name[len] = '\0';
    d->names[d->n_names].len = len;
    d->name_slots[i] = (uint32_t)(d->n_names + 1);
    return (uint32_t)d->n_names++;
}

/* Keeps every span of block b not kept yet. */
static void deps_add_block(struct deps *d, const struct block *b)
{
    const struct block_origin *last = NULL;
    uint32_t service = 0;

    for (size_t i = 0; i < b->n; i++) {
        const struct block_span *e = &b->spans[i];
        struct dep_span *x;

        if (!e->span_id || deps_find(d, e->trace_id, e->span_id))
            continue;
        if ((d->n + 1) * 2 > d->n_slots) {
            free(d->slots);
            d->n_slots = d->n_slots ? d->n_slots * 2 : 4096;
            d->slots = opg_xcalloc(d->n_slots, sizeof(*d->slots));
            for (size_t k = 0; k < d->n; k++)
                deps_index(d, k);
        }
        if (d->n == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 4096;
            d->spans = opg_xrealloc(d->spans, d->cap * sizeof(*d->spans));
        }
        if (e->origin != last) {
            last = e->origin;
            service = deps_service(d, last->service.data, last->service.len);
        }
        x = &d->spans[d->n];
        memset(x, 0, sizeof(*x));
        memcpy(x->trace_id, e->trace_id, 16);
        memcpy(x->span_id, e->span_id, 8);
        x->service = service;
        if (e->start_ns >= d->start_ns && e->start_ns <= d->end_ns)
            x->flags |= DEP_CHILD;
        if (e->parent_id) {
            memcpy(x->parent_id, e->parent_id, 8);
            x->flags |= DEP_HAS_PARENT;
        }
        if (e->status == STATUS_ERROR)
            x->flags |= DEP_ERROR;
        deps_index(d, d->n++);
    }
}

static void deps_edge_add(struct deps *d, uint32_t parent, uint32_t child, bool error)
{
    uint64_t key = ((uint64_t)parent << 32 | child) + 1;
    size_t i;

    if ((d->n_edges + 1) * 2 > d->n_edge_slots) {
        struct dep_edge *old = d->edges;
        size_t n_old = d->n_edge_slots;

        d->n_edge_slots = n_old ? n_old * 2 : 64;
        d->edges = opg_xcalloc(d->n_edge_slots, sizeof(*d->edges));
        for (size_t k = 0; k < n_old; k++) {
            if (!old[k].key)
                continue;
            for (i = mix64(old[k].key) & (d->n_edge_slots - 1); d->edges[i].key;
                 i = (i + 1) & (d->n_edge_slots - 1))
                ;
            d->edges[i] = old[k];
        }
        free(old);
    }
    for (i = mix64(key) & (d->n_edge_slots - 1); d->edges[i].key && d->edges[i].key != key;
         i = (i + 1) & (d->n_edge_slots - 1))
        ;
    if (!d->edges[i].key) {
        d->edges[i].key = key;
        d->n_edges++;
    }
    d->edges[i].calls++;
    d->edges[i].errors += error;
}

static int cmp_dependency(const void *a, const void *b)
{
    const struct opg_dependency *x = a, *y = b;
    int c = strcmp(x->parent, y->parent);

    return c ? c : strcmp(x->child, y->child);
}

/* Joins every child to its parent; *out as opg_search_dependencies gives it. */
static void deps_graph(struct deps *d, struct opg_dependency **out, size_t *n)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct dep_span *c = &d->spans[i], *p;

        if ((c->flags & (DEP_CHILD | DEP_HAS_PARENT)) != (DEP_CHILD | DEP_HAS_PARENT))
            continue;
        p = deps_find(d, c->trace_id, c->parent_id);
        if (p && p->service != c->service)
            deps_edge_add(d, p->service, c->service, c->flags & DEP_ERROR);
    }
    *out = opg_xcalloc(d->n_edges + 1, sizeof(**out));
    for (size_t i = 0; i < d->n_edge_slots; i++) {
        const struct dep_edge *e = &d->edges[i];
        struct opg_dependency *x;

        if (!e->key)
            continue;
        x = &(*out)[(*n)++];
        x->parent = opg_xstrdup(d->names[(e->key - 1) >> 32].name);
        x->child = opg_xstrdup(d->names[(uint32_t)(e->key - 1)].name);
        x->call_count = e->calls;
        x->error_count = e->errors;
    }
    qsort(*out, *n, sizeof(**out), cmp_dependency);
}

int opg_search_dependencies(PGconn *conn, int64_t start_ns, int64_t end_ns, size_t max_spans,
                            struct opg_dependency **out, size_t *n, bool *cut, char *err,
                            size_t errlen)
{
    struct deps d = {.start_ns = start_ns, .end_ns = end_ns};
    struct block_cache cache = {0};
    struct idset blocks = {0};
    struct block_key *queue = NULL;
    size_t n_queue = 0, at = 0;
    struct opg_codec *codec = opg_codec_thread(1);
    char text[4][32];
    const char *params[4] = {text[0], text[1], text[2], text[3]};
    PGresult *res = NULL;
    int ret = -1;

    *out = NULL;
    *n = 0;
    *cut = false;
    if (!codec) {
        snprintf(err, errlen, "computing dependencies: no codec");
        return -1;
    }
    snprintf(text[0], sizeof(text[0]), "%lld", (long long)start_ns);
    snprintf(text[1], sizeof(text[1]), "%lld", (long long)end_ns);
    snprintf(text[2], sizeof(text[2]), "%lld", (long long)day_of(start_ns));
    snprintf(text[3], sizeof(text[3]), "%lld", (long long)day_of(end_ns));
    cache_init(&cache, conn, codec, 1); /* each block is read once */
    res = PQexec(conn, "BEGIN READ ONLY");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "starting the dependency query", conn);
        goto out_rollback;
    }
    PQclear(res);
    res = PQexecParams(conn,
                       "DECLARE opg_deps NO SCROLL CURSOR FOR SELECT block_id, day FROM trace_parts"
                       " WHERE start_ns BETWEEN $1::bigint AND $2::bigint"
                       " AND day BETWEEN $3::integer AND $4::integer ORDER BY start_ns DESC",
                       4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "computing dependencies", conn);
        goto out_rollback;
    }
    for (;;) {
        PQclear(res);
        res = PQexecParams(conn, "FETCH " DEPS_FETCH_ROWS " FROM opg_deps", 0, NULL, NULL, NULL,
                           NULL, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            set_err(err, errlen, "computing dependencies", conn);
            goto out_rollback;
        }
        if (PQntuples(res) == 0)
            break;
        /* The blocks in the order the walk meets them, each once. */
        queue = opg_xrealloc(queue, (size_t)PQntuples(res) * sizeof(*queue));
        n_queue = at = 0;
        for (int r = 0; r < PQntuples(res); r++) {
            struct block_key key = row_key(res, r, 0);
            uint8_t packed[16] = {0};

            memcpy(packed, &key.day, sizeof(key.day));
            memcpy(packed + 8, &key.id, sizeof(key.id));
            if (idset_add(&blocks, packed))
                queue[n_queue++] = key;
        }
        for (; at < n_queue && d.n < max_spans; at++) {
            struct block *b = cache_lookup(&cache, queue[at]);
            if (!b)
                b = cache_load(&cache, queue[at], queue + at + 1, n_queue - at - 1, err, errlen);
            if (!b)
                goto out_rollback;
            deps_add_block(&d, b);
        }
        /* Past the bound, parts of blocks read already cost nothing; a new block is a cut. */
        if (at < n_queue) {
            *cut = true;
            break;
        }
    }
    deps_graph(&d, out, n);
    ret = 0;
out_rollback:
    PQclear(res);
    PQclear(PQexec(conn, "ROLLBACK"));
    cache_release(&cache);
    idset_release(&blocks);
    free(queue);
    deps_release(&d);
    return ret;
}

void opg_search_dependencies_free(struct opg_dependency *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++) {
        free(d[i].parent);
        free(d[i].child);
    }
    free(d);
}
