/*
 * The column-wise form of a TracesData message (see tracecols.h).
 *
 * Layout: varint stream count, a varint length per stream, then the
 * streams one after the other, in the order the encoder first wrote to
 * them. Streams are named by (context, field number, wire type, role); the
 * decoder walks the message the same way the encoder did and so meets
 * every stream at the same moment, which gives it the same number: names
 * are never stored.
 *
 * A context is a message type in a place (the KeyValues of a span are not
 * those of a resource), or the AnyValue of one attribute key: the values
 * of "http.route" get columns of their own.
 *
 * Each context has a structure stream, one varint per field: the field's
 * tag, or END (the message ends), or RAW (a field kept verbatim, its bytes
 * in the raw stream). The lengths of submessages are not stored: the
 * decoder knows them once it has rebuilt their contents.
 *
 * Field values go by kind:
 *  - submessages: nothing but their own fields;
 *  - strings: a control varint (LITERAL, UUID, HEX, or DICT + i: the i-th
 *    distinct string of this column) and, for a new string, its bytes;
 *    attribute values in UUID or lowercase hex text are stored as binary;
 *  - span trace IDs: SAME_TRACE when equal to the previous span's;
 *  - span IDs: 8 bytes in one stream, which parent IDs refer to by index;
 *  - times: zigzag varint deltas to the current span's start time;
 *  - anything else, known or not, by wire type: varints, fixed 8 or 4
 *    bytes, length-prefixed bytes.
 */
#include "tracecols.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Submessage nesting the transform follows; deeper ones are kept as bytes.
 * Far above what OTLP needs (attribute values nested a dozen deep).
 */
#define MAX_DEPTH 32
/* Attribute keys with columns of their own; later keys share one column. */
#define MAX_KEYED 256
/* Streams a form may have: bounds the decoder's tables (real blocks use < 200). */
#define MAX_STREAMS 4096
#define MAX_VARINT  10

/* Structure stream entries; a tag is always >= 8 (field numbers start at 1). */
#define S_END 0
#define S_RAW 1

/* String control values. */
#define STR_LITERAL 0
#define STR_UUID    1
#define STR_HEX     2
#define STR_DICT    3

/* Parent ID control values; REF + zigzag(index - span IDs seen so far). */
#define PARENT_EMPTY   0
#define PARENT_LITERAL 1
#define PARENT_REF     2

#define TRACE_SAME 0 /* else the trace ID's length + 1 */
#define SPAN_ID_8  0 /* else the span ID's length + 1 */

#define UUID_TEXT 36
#define UUID_BIN  16

/* Contexts. Attribute keys get C_KEYED + i; those are AnyValues. */
enum ctx {
    C_TRACES,
    C_RESOURCE_SPANS,
    C_RESOURCE,
    C_SCOPE_SPANS,
    C_SCOPE,
    C_SPAN,
    C_EVENT,
    C_LINK,
    C_STATUS,
    C_KV_RESOURCE,
    C_KV_SCOPE,
    C_KV_SPAN,
    C_KV_EVENT,
    C_KV_LINK,
    C_KV_LIST,
    C_ANY,
    C_ARRAY,
    C_KVLIST,
    C_KEYED,
};

enum kind {
    K_VARINT,
    K_FIXED64,
    K_FIXED32,
    K_BYTES,
    K_MESSAGE,
    K_STRING, /* dictionary coded */
    K_VALUE,  /* dictionary coded, UUID and hex text packed */
    K_TRACE_ID,
    K_SPAN_ID,
    K_PARENT_ID,
    K_START,
    K_END,
    K_TIME,
};

/* Stream roles: one field of one context can have several streams. */
enum role {
    R_STRUCT,
    R_VAL,
    R_CTL,
    R_UUID,
    R_HEX,
};

/* Streams every form has, at these indexes, whether used or not. */
enum fixed_stream {
    F_RAW,    /* fields kept verbatim: varint length, bytes */
    F_SID,    /* 8-byte span IDs */
    F_PARENT, /* parent ID controls */
    F_PLIT,   /* parent IDs not found among the span IDs: varint length, bytes */
    F_N,
};

/*
 * A string of a column's dictionary, as stored (form STR_*: the text, or
 * its binary for UUID and HEX). For attribute keys, ctx caches the key's
 * context (0: not looked up yet).
 */
struct dict_entry {
    const uint8_t *p;
    uint32_t len;
    uint32_t form;
    uint32_t ctx;
};

/* The key of a KeyValue: entry i of its column's dictionary. */
struct key_ref {
    struct stream *ctl; /* NULL: no key yet */
    uint32_t i;
};

struct stream {
    struct opg_buf buf; /* encoder: what was written */
    const uint8_t *p;   /* decoder: what is to be read */
    size_t len, pos;
    uint32_t n_dict, last; /* last: the entry used last, a guess of the next */
    struct dict_entry *dict;
    size_t dict_cap;
};

/*
 * Open addressing hash table from (k, bytes) to a number. Entries of an
 * earlier call are told apart by their generation, so reuse is free.
 */
struct entry {
    uint64_t hash;
    uint64_t k;
    const uint8_t *p;
    uint32_t len;
    uint32_t val;
    uint32_t gen;
};

struct table {
    struct entry *e;
    size_t cap, n;
    uint32_t gen;
};

/* An encoder's parent ID, coded once all span IDs are known. */
struct parent {
    uint64_t at; /* span IDs seen before it */
    const uint8_t *p;
    size_t len;
};

/*
 * A context's streams by field number and slot (role and wire type), so
 * that the common fields find theirs without hashing. Valid for the call
 * whose generation it has.
 */
#define CACHE_FIELDS 16
enum slot {
    SLOT_STRUCT,
    SLOT_VARINT,
    SLOT_FIXED64,
    SLOT_BYTES,
    SLOT_FIXED32,
    SLOT_CTL,
    SLOT_UUID,
    SLOT_HEX,
    SLOT_N
};

struct ctx_cache {
    uint32_t gen;
    struct stream *s[CACHE_FIELDS][SLOT_N];
};

struct opg_tracecols {
    struct ctx_cache *cache[C_KEYED + MAX_KEYED];
    uint32_t gen;
    struct stream **s;
    size_t n_s, cap_s;
    size_t n_stored;      /* decoder: streams in the form */
    struct table streams; /* stream name -> index */
    struct table keys;    /* attribute key -> context */
    struct table dict;    /* encoder: (stream, string) -> dictionary index */
    struct table sids;    /* encoder: span ID -> first index */
    uint32_t n_keyed;

    /* per block */
    uint8_t trace_id[16];
    bool have_trace_id;
    uint64_t start;
    uint64_t n_sid;

    struct parent *parents; /* encoder */
    size_t n_parents, cap_parents;

    struct opg_buf *out; /* decoder */
    size_t max;
    size_t slack; /* decoder: length bytes reserved that may not stay (see dec_submessage) */
    uint8_t len_width[C_KEYED + 1]; /* decoder: guess of a submessage's length size */
};

static uint64_t hash_bytes(uint64_t k, const uint8_t *p, size_t n)
{
    uint64_t h = (k + n) * 0x9e3779b97f4a7c15ull;
    uint64_t v;

    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    if (n) {
        v = 0;
        memcpy(&v, p, n);
        h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
    }
    h ^= h >> 29;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 32);
}

static void table_reset(struct table *t)
{
    t->n = 0;
    if (++t->gen == 0) { /* wrapped: old stamps could look current */
        memset(t->e, 0, t->cap * sizeof(*t->e));
        t->gen = 1;
    }
}

static struct entry *table_slot(struct table *t, uint64_t hash, uint64_t k, const uint8_t *p,
                                size_t len)
{
    size_t mask = t->cap - 1;

    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct entry *e = &t->e[i];

        if (e->gen != t->gen)
            return e;
        if (e->hash == hash && e->k == k && e->len == len && (!len || !memcmp(e->p, p, len)))
            return e;
    }
}

static void table_grow(struct table *t)
{
    struct table old = *t;

    t->cap = old.cap ? old.cap * 2 : 256;
    t->e = opg_xcalloc(t->cap, sizeof(*t->e));
    t->gen = 1;
    for (size_t i = 0; i < old.cap; i++) {
        struct entry *e = &old.e[i];

        if (e->gen == old.gen) {
            struct entry *d = table_slot(t, e->hash, e->k, e->p, e->len);

            *d = *e;
            d->gen = t->gen;
        }
    }
    free(old.e);
}

/* The value of (k, p[0..len)), or -1 when absent. */
static int64_t table_find(struct table *t, uint64_t hash, uint64_t k, const uint8_t *p, size_t len)
{
    struct entry *e;

    if (!t->cap)
        return -1;
    e = table_slot(t, hash, k, p, len);
    return e->gen == t->gen ? (int64_t)e->val : -1;
}

/* Adds (k, p[0..len)) -> val; the key must be absent. p is borrowed. */
static void table_add(struct table *t, uint64_t hash, uint64_t k, const uint8_t *p, size_t len,
                      uint32_t val)
{
    struct entry *e;

    if ((t->n + 1) * 2 > t->cap)
        table_grow(t);
    e = table_slot(t, hash, k, p, len);
    *e = (struct entry){hash, k, p, (uint32_t)len, val, t->gen};
    t->n++;
}

static void table_release(struct table *t)
{
    free(t->e);
}

static uint64_t stream_name(uint32_t ctx, uint64_t field, unsigned wt, enum role r)
{
    /* field < 2^29 for every tag the encoder accepts; the decoder only needs determinism */
    return (uint64_t)ctx << 40 ^ (field & 0x1fffffffu) << 8 ^ (uint64_t)wt << 4 ^ r;
}

/* A new empty stream; the stream objects are kept for the next call. */
static struct stream *stream_new(struct opg_tracecols *t)
{
    struct stream *s;

    if (t->n_s == t->cap_s) {
        t->cap_s = t->cap_s ? 2 * t->cap_s : 64;
        t->s = opg_xrealloc(t->s, t->cap_s * sizeof(*t->s));
        for (size_t i = t->n_s; i < t->cap_s; i++)
            t->s[i] = NULL;
    }
    if (!t->s[t->n_s])
        t->s[t->n_s] = opg_xcalloc(1, sizeof(struct stream));
    s = t->s[t->n_s++];
    opg_buf_reset(&s->buf);
    s->p = NULL;
    s->len = s->pos = 0;
    s->n_dict = s->last = 0;
    return s;
}

/*
 * The stream named name, numbered on first use. The decoder's streams were
 * made by dec_directory; it gets NULL for a stream the form does not have.
 */
static struct stream *stream_get(struct opg_tracecols *t, uint64_t name)
{
    uint64_t h = hash_bytes(name, NULL, 0);
    int64_t i = table_find(&t->streams, h, name, NULL, 0);

    if (i >= 0)
        return t->s[i];
    if (t->out && t->n_s >= t->n_stored)
        return NULL;
    table_add(&t->streams, h, name, NULL, 0, (uint32_t)t->n_s);
    return t->out ? t->s[t->n_s++] : stream_new(t);
}

static inline enum slot slot_of(unsigned wt, enum role r)
{
    static const enum slot by_wt[8] = {SLOT_VARINT, SLOT_FIXED64, SLOT_BYTES, SLOT_BYTES,
                                       SLOT_BYTES,  SLOT_FIXED32, SLOT_BYTES, SLOT_BYTES};

    switch (r) {
    case R_STRUCT:
        return SLOT_STRUCT;
    case R_CTL:
        return SLOT_CTL;
    case R_UUID:
        return SLOT_UUID;
    case R_HEX:
        return SLOT_HEX;
    case R_VAL:
        break;
    }
    return by_wt[wt & 7];
}

/* The stream of (ctx, field, wt, role): stream_get, through the context's cache. */
static inline struct stream *stream_of(struct opg_tracecols *t, uint32_t ctx, uint64_t field,
                                       unsigned wt, enum role r)
{
    struct ctx_cache *c;
    struct stream **s;

    if (field >= CACHE_FIELDS)
        return stream_get(t, stream_name(ctx, field, wt, r));
    c = t->cache[ctx];
    if (!c)
        c = t->cache[ctx] = opg_xcalloc(1, sizeof(*c));
    if (c->gen != t->gen) {
        memset(c->s, 0, sizeof(c->s));
        c->gen = t->gen;
    }
    s = &c->s[field][slot_of(wt, r)];
    if (!*s)
        *s = stream_get(t, stream_name(ctx, field, wt, r));
    return *s;
}

static void reset(struct opg_tracecols *t)
{
    if (++t->gen == 0) { /* wrapped: a cache could look current */
        for (size_t i = 0; i < C_KEYED + MAX_KEYED; i++)
            if (t->cache[i])
                t->cache[i]->gen = 0;
        t->gen = 1;
    }
    t->n_s = 0;
    t->n_stored = 0;
    table_reset(&t->streams);
    table_reset(&t->keys);
    table_reset(&t->dict);
    table_reset(&t->sids);
    t->n_keyed = 0;
    t->have_trace_id = false;
    t->start = 0;
    t->n_sid = 0;
    t->n_parents = 0;
    t->out = NULL;
    for (size_t i = 0; i < F_N; i++)
        stream_new(t);
}

struct opg_tracecols *opg_tracecols_create(void)
{
    return opg_xcalloc(1, sizeof(struct opg_tracecols));
}

void opg_tracecols_destroy(struct opg_tracecols *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap_s; i++) {
        if (t->s[i]) {
            opg_buf_release(&t->s[i]->buf);
            free(t->s[i]->dict);
            free(t->s[i]);
        }
    }
    free(t->s);
    table_release(&t->streams);
    table_release(&t->keys);
    table_release(&t->dict);
    table_release(&t->sids);
    free(t->parents);
    for (size_t i = 0; i < C_KEYED + MAX_KEYED; i++)
        free(t->cache[i]);
    free(t);
}

static bool is_kv(uint32_t ctx)
{
    return ctx >= C_KV_RESOURCE && ctx <= C_KV_LIST;
}

/*
 * What field `field` of a message in context ctx is, and for a submessage
 * its context. A wire type other than the schema's makes it an unknown
 * field, kept by wire type.
 */
static inline enum kind field_kind(uint32_t ctx, uint64_t field, unsigned wt, uint32_t *child)
{
    enum kind k = K_BYTES;
    uint32_t c = 0;

#define MSG(ctx_) (k = K_MESSAGE, c = (ctx_))
    switch (ctx >= C_KEYED ? C_ANY : ctx) {
    case C_TRACES:
        if (field == 1)
            MSG(C_RESOURCE_SPANS);
        break;
    case C_RESOURCE_SPANS:
        if (field == 1)
            MSG(C_RESOURCE);
        else if (field == 2)
            MSG(C_SCOPE_SPANS);
        else if (field == 3)
            k = K_STRING;
        break;
    case C_RESOURCE:
        if (field == 1)
            MSG(C_KV_RESOURCE);
        break;
    case C_SCOPE_SPANS:
        if (field == 1)
            MSG(C_SCOPE);
        else if (field == 2)
            MSG(C_SPAN);
        else if (field == 3)
            k = K_STRING;
        break;
    case C_SCOPE:
        if (field == 1 || field == 2)
            k = K_STRING;
        else if (field == 3)
            MSG(C_KV_SCOPE);
        break;
    case C_SPAN:
        switch (field) {
        case 1:
            k = K_TRACE_ID;
            break;
        case 2:
            k = K_SPAN_ID;
            break;
        case 3:
            k = K_STRING;
            break;
        case 4:
            k = K_PARENT_ID;
            break;
        case 5:
            k = K_STRING;
            break;
        case 7:
            k = K_START;
            break;
        case 8:
            k = K_END;
            break;
        case 9:
            MSG(C_KV_SPAN);
            break;
        case 11:
            MSG(C_EVENT);
            break;
        case 13:
            MSG(C_LINK);
            break;
        case 15:
            MSG(C_STATUS);
            break;
        }
        break;
    case C_EVENT:
        if (field == 1)
            k = K_TIME;
        else if (field == 2)
            k = K_STRING;
        else if (field == 3)
            MSG(C_KV_EVENT);
        break;
    case C_LINK:
        if (field == 3)
            k = K_STRING;
        else if (field == 4)
            MSG(C_KV_LINK);
        break;
    case C_STATUS:
        if (field == 2)
            k = K_STRING;
        break;
    case C_KV_RESOURCE:
    case C_KV_SCOPE:
    case C_KV_SPAN:
    case C_KV_EVENT:
    case C_KV_LINK:
    case C_KV_LIST:
        if (field == 1)
            k = K_STRING;
        else if (field == 2)
            MSG(C_ANY); /* the caller picks the key's context */
        break;
    case C_ANY:
        if (field == 1)
            k = K_VALUE;
        else if (field == 5)
            MSG(C_ARRAY);
        else if (field == 6)
            MSG(C_KVLIST);
        break;
    case C_ARRAY:
        if (field == 1)
            MSG(C_ANY);
        break;
    case C_KVLIST:
        if (field == 1)
            MSG(C_KV_LIST);
        break;
    }
#undef MSG
    *child = c;
    if (k == K_START || k == K_END || k == K_TIME)
        return wt == 1 ? k : (wt == 0 ? K_VARINT : wt == 5 ? K_FIXED32 : K_BYTES);
    if (wt == 2)
        return k;
    return wt == 0 ? K_VARINT : wt == 1 ? K_FIXED64 : K_FIXED32;
}

/*
 * The context of the values of attribute key k: its own while there are
 * few keys, the same whichever KeyValue column the key is in.
 */
static uint32_t key_context(struct opg_tracecols *t, struct key_ref k)
{
    struct dict_entry *e = &k.ctl->dict[k.i];
    uint64_t h;
    int64_t c;

    if (e->ctx)
        return e->ctx;
    h = hash_bytes(0, e->p, e->len);
    c = table_find(&t->keys, h, 0, e->p, e->len);
    if (c < 0 && t->n_keyed == MAX_KEYED)
        c = C_ANY;
    if (c < 0) {
        c = C_KEYED + t->n_keyed++;
        table_add(&t->keys, h, 0, e->p, e->len, (uint32_t)c);
    }
    e->ctx = (uint32_t)c;
    return e->ctx;
}

static void dict_add(struct stream *ctl, const uint8_t *p, size_t len, unsigned form)
{
    if (ctl->n_dict == ctl->dict_cap) {
        ctl->dict_cap = ctl->dict_cap ? 2 * ctl->dict_cap : 16;
        ctl->dict = opg_xrealloc(ctl->dict, ctl->dict_cap * sizeof(*ctl->dict));
    }
    ctl->dict[ctl->n_dict] = (struct dict_entry){p, (uint32_t)len, form, 0};
    ctl->last = ctl->n_dict++;
}

static bool dict_is(const struct stream *ctl, uint32_t i, const uint8_t *p, size_t len)
{
    return i < ctl->n_dict && ctl->dict[i].len == len && !memcmp(ctl->dict[i].p, p, len);
}

/*
 * The dictionary index of p[0..len) in column ctl, or -1. Columns often
 * repeat in order (the keys of each span), so the entry after the last
 * one used is tried before the hash table.
 */
static int64_t dict_find(struct opg_tracecols *t, struct stream *ctl, const uint8_t *p, size_t len,
                         uint64_t *hash)
{
    int64_t i;

    if (dict_is(ctl, ctl->last + 1, p, len))
        i = ctl->last + 1;
    else if (dict_is(ctl, ctl->last, p, len))
        i = ctl->last;
    else {
        *hash = hash_bytes((uintptr_t)ctl, p, len);
        i = table_find(&t->dict, *hash, (uintptr_t)ctl, p, len);
    }
    if (i >= 0)
        ctl->last = (uint32_t)i;
    return i;
}

static uint64_t zigzag(uint64_t d)
{
    return d << 1 ^ (uint64_t)((int64_t)d >> 63);
}

static uint64_t unzigzag(uint64_t z)
{
    return z >> 1 ^ (0 - (z & 1));
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline size_t varint_size(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline size_t varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* opg_buf_grow's work, done inline when there is room already (the usual case). */
static inline void room(struct opg_buf *b, size_t n)
{
    if (b->cap - b->len <= n)
        opg_buf_grow(b, n);
}

static inline void add_varint(struct opg_buf *b, uint64_t v)
{
    room(b, MAX_VARINT);
    b->len += varint_put((uint8_t *)b->data + b->len, v);
}

static inline void add_bytes(struct opg_buf *b, const void *p, size_t n)
{
    room(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

/*
 * Reads a varint of at most 10 bytes at p[0..end). Returns its size, or 0
 * when malformed. *canon tells whether writing *v back gives the same bytes.
 */
static inline size_t get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v, bool *canon)
{
    uint64_t r = 0;

    if (p < end && *p < 0x80) {
        *v = *p;
        *canon = true;
        return 1;
    }
    for (size_t i = 0; i < MAX_VARINT && p + i < end; i++) {
        r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (p[i] < 0x80) {
            *v = r;
            *canon = varint_size(r) == i + 1 && !(i == 9 && p[i] > 1);
            return i + 1;
        }
    }
    return 0;
}

/* ---- encoder ---- */

static struct stream *enc_stream(struct opg_tracecols *t, uint32_t ctx, uint64_t field, unsigned wt,
                                 enum role r)
{
    return stream_of(t, ctx, field, wt, r);
}

static bool is_lower_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static unsigned hex_val(uint8_t c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

static bool is_uuid(const uint8_t *p, size_t len)
{
    if (len != UUID_TEXT)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? p[i] != '-' : !is_lower_hex(p[i]))
            return false;
    }
    return true;
}

/* Long enough to gain from packing; short strings stay text for zstd. */
static bool is_hex(const uint8_t *p, size_t len)
{
    if (len < 16 || len % 2)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_lower_hex(p[i]))
            return false;
    return true;
}

static void add_hex_packed(struct opg_buf *b, const uint8_t *p, size_t len)
{
    room(b, len / 2);
    for (size_t i = 0, j = 0; i < len; i += 2) {
        if (p[i] == '-')
            i++;
        b->data[b->len + j++] = (char)(hex_val(p[i]) << 4 | hex_val(p[i + 1]));
    }
}

/* Returns where the string is in its column's dictionary. */
static struct key_ref enc_string(struct opg_tracecols *t, uint32_t ctx, uint64_t field, bool pack,
                                 const uint8_t *p, size_t len)
{
    struct stream *ctl = enc_stream(t, ctx, field, 2, R_CTL);
    struct stream *s;
    uint64_t h = 0;
    int64_t i = dict_find(t, ctl, p, len, &h);

    if (i >= 0) {
        add_varint(&ctl->buf, STR_DICT + (uint64_t)i);
        return (struct key_ref){ctl, (uint32_t)i};
    }
    if (!h)
        h = hash_bytes((uintptr_t)ctl, p, len);
    table_add(&t->dict, h, (uintptr_t)ctl, p, len, ctl->n_dict);
    dict_add(ctl, p, len, STR_LITERAL);
    if (pack && is_uuid(p, len)) {
        add_varint(&ctl->buf, STR_UUID);
        s = enc_stream(t, ctx, field, 2, R_UUID);
        add_hex_packed(&s->buf, p, len);
        s->buf.len += UUID_BIN;
    } else if (pack && is_hex(p, len)) {
        add_varint(&ctl->buf, STR_HEX);
        s = enc_stream(t, ctx, field, 2, R_HEX);
        add_varint(&s->buf, len / 2);
        add_hex_packed(&s->buf, p, len);
        s->buf.len += len / 2;
    } else {
        add_varint(&ctl->buf, STR_LITERAL);
        s = enc_stream(t, ctx, field, 2, R_VAL);
        add_varint(&s->buf, len);
        add_bytes(&s->buf, p, len);
    }
    return (struct key_ref){ctl, ctl->n_dict - 1};
}

static void enc_trace_id(struct opg_tracecols *t, const uint8_t *p, size_t len)
{
    struct stream *ctl = enc_stream(t, C_SPAN, 1, 2, R_CTL);

    if (len == 16 && t->have_trace_id && !memcmp(p, t->trace_id, 16)) {
        add_varint(&ctl->buf, TRACE_SAME);
        return;
    }
    add_varint(&ctl->buf, len + 1);
    add_bytes(&enc_stream(t, C_SPAN, 1, 2, R_VAL)->buf, p, len);
    if (len == 16) {
        memcpy(t->trace_id, p, 16);
        t->have_trace_id = true;
    }
}

static void enc_span_id(struct opg_tracecols *t, const uint8_t *p, size_t len)
{
    struct stream *ctl = enc_stream(t, C_SPAN, 2, 2, R_CTL);

    if (len == 8) {
        add_varint(&ctl->buf, SPAN_ID_8);
        add_bytes(&t->s[F_SID]->buf, p, 8);
        t->n_sid++;
        return;
    }
    add_varint(&ctl->buf, len + 1);
    add_bytes(&enc_stream(t, C_SPAN, 2, 2, R_VAL)->buf, p, len);
}

static void enc_parent_id(struct opg_tracecols *t, const uint8_t *p, size_t len)
{
    if (t->n_parents == t->cap_parents) {
        t->cap_parents = t->cap_parents ? 2 * t->cap_parents : 256;
        t->parents = opg_xrealloc(t->parents, t->cap_parents * sizeof(*t->parents));
    }
    t->parents[t->n_parents++] = (struct parent){t->n_sid, p, len};
}

/*
 * Parent IDs, once every span ID is known: parents usually come after
 * their children in a request (SDKs export spans as they end).
 */
static void enc_parents(struct opg_tracecols *t)
{
    const uint8_t *sid = (const uint8_t *)t->s[F_SID]->buf.data;
    struct opg_buf *ctl = &t->s[F_PARENT]->buf, *lit = &t->s[F_PLIT]->buf;

    for (uint64_t i = 0; i < t->n_sid; i++) {
        uint64_t h = hash_bytes(0, sid + 8 * i, 8);

        if (table_find(&t->sids, h, 0, sid + 8 * i, 8) < 0)
            table_add(&t->sids, h, 0, sid + 8 * i, 8, (uint32_t)i);
    }
    for (size_t i = 0; i < t->n_parents; i++) {
        const struct parent *pa = &t->parents[i];
        int64_t j = -1;

        if (pa->len == 0) {
            add_varint(ctl, PARENT_EMPTY);
            continue;
        }
        if (pa->len == 8)
            j = table_find(&t->sids, hash_bytes(0, pa->p, 8), 0, pa->p, 8);
        if (j >= 0) {
            add_varint(ctl, PARENT_REF + zigzag((uint64_t)j - pa->at));
        } else {
            add_varint(ctl, PARENT_LITERAL);
            add_varint(lit, pa->len);
            add_bytes(lit, pa->p, pa->len);
        }
    }
}

static void enc_time(struct opg_tracecols *t, uint32_t ctx, uint64_t field, enum kind k,
                     const uint8_t *p)
{
    uint64_t v = le64(p);

    add_varint(&enc_stream(t, ctx, field, 1, R_VAL)->buf, zigzag(v - t->start));
    if (k == K_START)
        t->start = v;
}

static int enc_message(struct opg_tracecols *t, uint32_t ctx, const uint8_t *p, size_t n,
                       int depth);

/* One field: its tag is in the structure stream already. */
static int enc_field(struct opg_tracecols *t, uint32_t ctx, uint64_t tag, const uint8_t *v,
                     uint64_t x, size_t len, int depth, struct key_ref *key)
{
    uint64_t field = tag >> 3;
    unsigned wt = tag & 7;
    uint32_t child;
    enum kind k = field_kind(ctx, field, wt, &child);
    struct stream *s;

    if (k == K_MESSAGE && depth + 1 >= MAX_DEPTH)
        k = K_BYTES;
    switch (k) {
    case K_MESSAGE:
        if (is_kv(ctx) && key->ctl)
            child = key_context(t, *key);
        return enc_message(t, child, v, len, depth + 1);
    case K_STRING:
    case K_VALUE: {
        struct key_ref r = enc_string(t, ctx, field, k == K_VALUE, v, len);

        if (is_kv(ctx))
            *key = r;
        return 0;
    }
    case K_TRACE_ID:
        enc_trace_id(t, v, len);
        return 0;
    case K_SPAN_ID:
        enc_span_id(t, v, len);
        return 0;
    case K_PARENT_ID:
        enc_parent_id(t, v, len);
        return 0;
    case K_START:
    case K_END:
    case K_TIME:
        enc_time(t, ctx, field, k, v);
        return 0;
    case K_VARINT:
        add_varint(&enc_stream(t, ctx, field, wt, R_VAL)->buf, x);
        return 0;
    case K_FIXED64:
    case K_FIXED32:
        add_bytes(&enc_stream(t, ctx, field, wt, R_VAL)->buf, v, k == K_FIXED64 ? 8 : 4);
        return 0;
    case K_BYTES:
        s = enc_stream(t, ctx, field, wt, R_VAL);
        add_varint(&s->buf, len);
        add_bytes(&s->buf, v, len);
        return 0;
    }
    return -1;
}

static int enc_message(struct opg_tracecols *t, uint32_t ctx, const uint8_t *p, size_t n, int depth)
{
    struct stream *st = enc_stream(t, ctx, 0, 0, R_STRUCT);
    const uint8_t *end = p + n;
    struct key_ref key = {NULL, 0};

    while (p < end) {
        const uint8_t *field = p, *v;
        uint64_t tag, x = 0, len = 0;
        bool canon, c2 = true;
        size_t k = get_varint(p, end, &tag, &canon);

        if (!k)
            return -1;
        p += k;
        v = p;
        switch (tag & 7) {
        case 0:
            k = get_varint(p, end, &x, &c2);
            if (!k)
                return -1;
            p += k;
            break;
        case 1:
            if (end - p < 8)
                return -1;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return -1;
            p += 4;
            break;
        case 2:
            k = get_varint(p, end, &len, &c2);
            if (!k || len > (uint64_t)(end - p) - k || len > UINT32_MAX)
                return -1;
            v = p + k;
            p = v + len;
            break;
        default:
            return -1; /* groups and reserved wire types */
        }
        if (!canon || !c2 || tag < 8 || tag > UINT32_MAX) {
            /* kept verbatim: a varint written back would come out shorter */
            add_varint(&st->buf, S_RAW);
            add_varint(&t->s[F_RAW]->buf, (uint64_t)(p - field));
            add_bytes(&t->s[F_RAW]->buf, field, (size_t)(p - field));
            continue;
        }
        add_varint(&st->buf, tag);
        if (enc_field(t, ctx, tag, v, x, (size_t)len, depth, &key) < 0)
            return -1;
    }
    add_varint(&st->buf, S_END);
    return 0;
}

int opg_tracecols_encode(struct opg_tracecols *t, const void *src, size_t n, struct opg_buf *out)
{
    size_t total;

    reset(t);
    if (enc_message(t, C_TRACES, src, n, 0) < 0)
        return -1;
    enc_parents(t);
    if (t->n_s > MAX_STREAMS)
        return -1;
    total = varint_size(t->n_s);
    for (size_t i = 0; i < t->n_s; i++)
        total += varint_size(t->s[i]->buf.len) + t->s[i]->buf.len;
    if (total > OPG_TRACECOLS_MAX_SIZE(n))
        return -1;
    opg_buf_grow(out, total);
    add_varint(out, t->n_s);
    for (size_t i = 0; i < t->n_s; i++)
        add_varint(out, t->s[i]->buf.len);
    for (size_t i = 0; i < t->n_s; i++)
        if (t->s[i]->buf.len)
            opg_buf_add(out, t->s[i]->buf.data, t->s[i]->buf.len);
    out->data[out->len] = '\0';
    return 0;
}

/* ---- decoder ---- */

static inline int rd_varint(struct stream *s, uint64_t *v)
{
    bool canon;
    size_t k;

    if (!s)
        return -1;
    k = get_varint(s->p + s->pos, s->p + s->len, v, &canon);
    if (!k)
        return -1;
    s->pos += k;
    return 0;
}

static const uint8_t *rd_bytes(struct stream *s, uint64_t n)
{
    const uint8_t *p;

    if (!s || n > s->len - s->pos)
        return NULL;
    p = s->p + s->pos;
    s->pos += n;
    return p;
}

static struct stream *dec_stream(struct opg_tracecols *t, uint32_t ctx, uint64_t field, unsigned wt,
                                 enum role r)
{
    return stream_of(t, ctx, field, wt, r);
}

/* Room for n more output bytes, within the caller's bound. */
static inline uint8_t *out_room(struct opg_tracecols *t, uint64_t n)
{
    size_t limit = t->max > SIZE_MAX - t->slack ? SIZE_MAX : t->max + t->slack;

    if (n > limit - t->out->len)
        return NULL;
    room(t->out, (size_t)n);
    return (uint8_t *)t->out->data + t->out->len;
}

static inline int out_add(struct opg_tracecols *t, const void *p, uint64_t n)
{
    uint8_t *o = out_room(t, n);

    if (!o)
        return -1;
    memcpy(o, p, (size_t)n);
    t->out->len += (size_t)n;
    return 0;
}

static inline int out_varint(struct opg_tracecols *t, uint64_t v)
{
    uint8_t tmp[MAX_VARINT];

    return out_add(t, tmp, varint_put(tmp, v));
}

/* A length-prefixed value of n bytes read from s. */
static int out_lp(struct opg_tracecols *t, struct stream *s, uint64_t n)
{
    const uint8_t *p = rd_bytes(s, n);

    if (!p || out_varint(t, n) < 0)
        return -1;
    return out_add(t, p, n);
}

static int out_unhex(struct opg_tracecols *t, const uint8_t *p, size_t n, bool uuid)
{
    static const char digits[] = "0123456789abcdef";
    size_t len = uuid ? UUID_TEXT : 2 * n;
    uint8_t *o;

    if (out_varint(t, len) < 0 || !(o = out_room(t, len)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (uuid && (i == 4 || i == 6 || i == 8 || i == 10))
            *o++ = '-';
        *o++ = (uint8_t)digits[p[i] >> 4];
        *o++ = (uint8_t)digits[p[i] & 15];
    }
    t->out->len += len;
    return 0;
}

static int out_dict_entry(struct opg_tracecols *t, const struct dict_entry *e)
{
    if (e->form == STR_LITERAL) {
        if (out_varint(t, e->len) < 0)
            return -1;
        return out_add(t, e->p, e->len);
    }
    return out_unhex(t, e->p, e->len, e->form == STR_UUID);
}

static int dec_string(struct opg_tracecols *t, uint32_t ctx, uint64_t field, bool pack,
                      struct key_ref *where)
{
    struct stream *ctl = dec_stream(t, ctx, field, 2, R_CTL), *s;
    struct dict_entry e;
    uint64_t c, len = UUID_BIN;

    if (rd_varint(ctl, &c) < 0)
        return -1;
    if (c >= STR_DICT) {
        if (c - STR_DICT >= ctl->n_dict)
            return -1;
        e = ctl->dict[c - STR_DICT];
        *where = (struct key_ref){ctl, (uint32_t)(c - STR_DICT)};
    } else if (c == STR_LITERAL || pack) {
        s = dec_stream(t, ctx, field, 2, c == STR_LITERAL ? R_VAL : c == STR_UUID ? R_UUID : R_HEX);
        if (c != STR_UUID && rd_varint(s, &len) < 0)
            return -1;
        e = (struct dict_entry){rd_bytes(s, len), (uint32_t)len, (uint32_t)c, 0};
        if (!e.p || len > UINT32_MAX)
            return -1;
        *where = (struct key_ref){ctl, ctl->n_dict};
        dict_add(ctl, e.p, len, e.form);
    } else {
        return -1;
    }
    return out_dict_entry(t, &e);
}

static int dec_trace_id(struct opg_tracecols *t)
{
    uint64_t c;
    const uint8_t *p;

    if (rd_varint(dec_stream(t, C_SPAN, 1, 2, R_CTL), &c) < 0)
        return -1;
    if (c == TRACE_SAME) {
        if (!t->have_trace_id)
            return -1;
        return out_varint(t, 16) < 0 ? -1 : out_add(t, t->trace_id, 16);
    }
    p = rd_bytes(dec_stream(t, C_SPAN, 1, 2, R_VAL), c - 1);
    if (!p || out_varint(t, c - 1) < 0 || out_add(t, p, c - 1) < 0)
        return -1;
    if (c - 1 == 16) {
        memcpy(t->trace_id, p, 16);
        t->have_trace_id = true;
    }
    return 0;
}

static int dec_span_id(struct opg_tracecols *t)
{
    uint64_t c;

    if (rd_varint(dec_stream(t, C_SPAN, 2, 2, R_CTL), &c) < 0)
        return -1;
    if (c == SPAN_ID_8) {
        t->n_sid++;
        return out_lp(t, t->s[F_SID], 8);
    }
    return out_lp(t, dec_stream(t, C_SPAN, 2, 2, R_VAL), c - 1);
}

static int dec_parent_id(struct opg_tracecols *t)
{
    const struct stream *sid = t->s[F_SID];
    uint64_t c, len, j;

    if (rd_varint(t->s[F_PARENT], &c) < 0)
        return -1;
    if (c == PARENT_EMPTY)
        return out_varint(t, 0);
    if (c == PARENT_LITERAL)
        return rd_varint(t->s[F_PLIT], &len) < 0 ? -1 : out_lp(t, t->s[F_PLIT], len);
    j = t->n_sid + unzigzag(c - PARENT_REF);
    if (j >= sid->len / 8 || out_varint(t, 8) < 0)
        return -1;
    return out_add(t, sid->p + 8 * j, 8);
}

static int dec_time(struct opg_tracecols *t, uint32_t ctx, uint64_t field, enum kind k)
{
    uint64_t z, v;
    uint8_t b[8];

    if (rd_varint(dec_stream(t, ctx, field, 1, R_VAL), &z) < 0)
        return -1;
    v = t->start + unzigzag(z);
    if (k == K_START)
        t->start = v;
    put_le64(b, v);
    return out_add(t, b, 8);
}

static int dec_message(struct opg_tracecols *t, uint32_t ctx, int depth);

/*
 * A submessage: its contents are rebuilt after a guess of its length's
 * size, then moved if the guess was wrong (rarely: the guess is the size
 * the last one in this context had).
 */
static int dec_submessage(struct opg_tracecols *t, uint32_t child, int depth)
{
    uint8_t *w = &t->len_width[child < C_KEYED ? child : C_KEYED];
    size_t guess = *w ? *w : 1, at = t->out->len, len, need;

    /*
     * Bytes of the guess past the one every length needs may go again: they
     * must not make a message that fits in max exactly look too long.
     */
    t->slack += guess - 1;
    if (!out_room(t, guess))
        return -1;
    t->out->len += guess;
    if (dec_message(t, child, depth + 1) < 0)
        return -1;
    t->slack -= guess - 1;
    len = t->out->len - at - guess;
    need = varint_size(len);
    if (need != guess) {
        if (need > guess && !out_room(t, need - guess))
            return -1;
        memmove(t->out->data + at + need, t->out->data + at + guess, len);
        t->out->len = at + need + len;
        *w = (uint8_t)need;
    }
    if (t->out->len > t->max && t->out->len - t->max > t->slack)
        return -1; /* over max + the slack of the messages around this one */
    varint_put((uint8_t *)t->out->data + at, len);
    return 0;
}

static int dec_field(struct opg_tracecols *t, uint32_t ctx, uint64_t tag, int depth,
                     struct key_ref *key)
{
    uint64_t field = tag >> 3, x;
    unsigned wt = tag & 7;
    uint32_t child;
    enum kind k;
    struct stream *s;

    if (wt != 0 && wt != 1 && wt != 2 && wt != 5)
        return -1;
    k = field_kind(ctx, field, wt, &child);
    if (k == K_MESSAGE && depth + 1 >= MAX_DEPTH)
        k = K_BYTES;
    switch (k) {
    case K_MESSAGE:
        if (is_kv(ctx) && key->ctl)
            child = key_context(t, *key);
        return dec_submessage(t, child, depth);
    case K_STRING:
    case K_VALUE: {
        struct key_ref r;

        if (dec_string(t, ctx, field, k == K_VALUE, &r) < 0)
            return -1;
        if (is_kv(ctx))
            *key = r;
        return 0;
    }
    case K_TRACE_ID:
        return dec_trace_id(t);
    case K_SPAN_ID:
        return dec_span_id(t);
    case K_PARENT_ID:
        return dec_parent_id(t);
    case K_START:
    case K_END:
    case K_TIME:
        return dec_time(t, ctx, field, k);
    case K_VARINT:
        if (rd_varint(dec_stream(t, ctx, field, wt, R_VAL), &x) < 0)
            return -1;
        return out_varint(t, x);
    case K_FIXED64:
    case K_FIXED32: {
        const uint8_t *p = rd_bytes(dec_stream(t, ctx, field, wt, R_VAL), k == K_FIXED64 ? 8 : 4);

        return p ? out_add(t, p, k == K_FIXED64 ? 8 : 4) : -1;
    }
    case K_BYTES:
        s = dec_stream(t, ctx, field, wt, R_VAL);
        return rd_varint(s, &x) < 0 ? -1 : out_lp(t, s, x);
    }
    return -1;
}

static int dec_message(struct opg_tracecols *t, uint32_t ctx, int depth)
{
    struct stream *st = dec_stream(t, ctx, 0, 0, R_STRUCT);
    struct key_ref key = {NULL, 0};
    uint64_t tag, len;

    for (;;) {
        if (rd_varint(st, &tag) < 0)
            return -1;
        if (tag == S_END)
            return 0;
        if (tag == S_RAW) {
            if (rd_varint(t->s[F_RAW], &len) < 0)
                return -1;
            const uint8_t *p = rd_bytes(t->s[F_RAW], len);

            if (!p || out_add(t, p, len) < 0)
                return -1;
            continue;
        }
        if (tag < 8 || out_varint(t, tag) < 0 || dec_field(t, ctx, tag, depth, &key) < 0)
            return -1;
    }
}

/* Reads the stream directory; every stream's bytes must be accounted for. */
static int dec_directory(struct opg_tracecols *t, const uint8_t *p, size_t n)
{
    struct stream dir = {.p = p, .len = n};
    uint64_t count, len, at;

    if (rd_varint(&dir, &count) < 0 || count < F_N || count > n || count > MAX_STREAMS)
        return -1;
    t->n_s = 0;
    for (uint64_t i = 0; i < count; i++) {
        struct stream *s = stream_new(t);

        if (rd_varint(&dir, &len) < 0)
            return -1;
        s->len = (size_t)len;
        if (len > n)
            return -1;
    }
    at = dir.pos;
    for (uint64_t i = 0; i < count; i++) {
        struct stream *s = t->s[i];

        if (s->len > n - at)
            return -1;
        s->p = p + at;
        at += s->len;
    }
    if (at != n || t->s[F_SID]->len % 8)
        return -1;
    t->n_stored = (size_t)count;
    t->n_s = F_N; /* the others are numbered as the walk meets them */
    return 0;
}

int opg_tracecols_decode(struct opg_tracecols *t, const void *p, size_t n, size_t max,
                         struct opg_buf *out)
{
    opg_buf_reset(out);
    opg_buf_grow(out, 0);
    reset(t);
    if (dec_directory(t, p, n) < 0)
        return -1;
    t->out = out;
    t->max = max;
    t->slack = 0;
    memset(t->len_width, 0, sizeof(t->len_width));
    if (dec_message(t, C_TRACES, 0) < 0)
        return -1;
    /* a form with bytes left over was not written by the encoder */
    if (t->n_s != t->n_stored)
        return -1;
    for (size_t i = 0; i < t->n_s; i++)
        if (i != F_SID && t->s[i]->pos != t->s[i]->len)
            return -1;
    if (t->s[F_SID]->pos != t->s[F_SID]->len)
        return -1;
    out->data[out->len] = '\0';
    return 0;
}
