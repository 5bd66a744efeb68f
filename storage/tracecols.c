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
 * in the raw stream), or KV_STR / KV_INT (an attribute of the usual shape,
 * key and string or int value, whose KeyValue and AnyValue then have no
 * structure entries of their own). The lengths of submessages are not
 * stored: the decoder knows them once it has rebuilt their contents.
 *
 * Field values go by kind:
 *  - submessages: nothing but their own fields;
 *  - strings: a control varint (LITERAL, UUID, HEX, or DICT + i: the i-th
 *    distinct string of this column) and, for a new string, its bytes;
 *    the encoder finds repeats through a hash table per column, after
 *    trying the entries after and at the last one used;
 *    attribute values in UUID or lowercase hex text are stored as binary;
 *  - span trace IDs: SAME_TRACE when equal to the previous span's;
 *  - span IDs: 8 bytes in one stream, which parent IDs refer to by index;
 *  - times: zigzag varint deltas to the current span's start time;
 *  - anything else, known or not, by wire type: varints, fixed 8 or 4
 *    bytes, length-prefixed bytes.
 *
 * Speed: the encoder runs on the collector's HTTP threads for every
 * request, so the per-field paths avoid calls (HOT helpers), hashing
 * (stream pointers are cached per context and field) and reallocation.
 */
#include "tracecols.h"
#include "mum.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

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

/* For the helpers of the per-field paths, which gcc would otherwise call. */
#define HOT static inline __attribute__((always_inline))

/*
 * Structure stream entries; a tag is always >= 8 (field numbers start at
 * 1). KV_STR and KV_INT stand for the tag of the context's KeyValue field
 * (a span's attributes...) and a whole KeyValue of the usual shape: its
 * key, then an AnyValue of a string or an int, every length canonical.
 * Such a KeyValue has no entries of its own.
 */
#define S_END    0
#define S_RAW    1
#define S_KV_STR 2
#define S_KV_INT 3

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
 * context (0: not looked up yet), and the encoder's vctl the control
 * stream of its string values (NULL: not looked up yet).
 */
struct dict_entry {
    const uint8_t *p;
    uint32_t len;
    uint32_t form;
    uint32_t ctx;
    struct stream *vctl;
};

/* The key of a KeyValue: entry i of its column's dictionary. */
struct key_ref {
    struct stream *ctl; /* NULL: no key yet */
    uint32_t i;
};

struct stream {
    struct opg_buf buf;   /* encoder: what was written */
    struct stream **slot; /* the context cache entry naming it, cleared by reset */
    const uint8_t *p;     /* decoder: what is to be read */
    size_t len, pos;
    uint32_t n_dict, last; /* last: the entry used last, a guess of the next */
    /*
     * encoder: the column's strings by hash, open addressing; a slot is
     * the call's stamp << 32 | dictionary index (another call's is empty)
     */
    uint64_t *find;
    size_t find_cap;
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

/*
 * An attribute of the usual shape with a string value (S_KV_STR) met
 * before in this call: its bytes and context, and where its key and value
 * are in their columns' dictionaries.
 */
struct kv_seen {
    const uint8_t *p;
    uint32_t n, ctx, hash;
    uint32_t ki, vi;
    struct stream *kctl, *vctl;
};

/* An encoder's parent ID, coded once all span IDs are known. */
struct parent {
    uint64_t at; /* span IDs seen before it */
    const uint8_t *p;
    size_t len;
};

/*
 * A context's streams by field number and slot (role and wire type), so
 * that the common fields find theirs without hashing. reset() empties the
 * entries of the streams of the last call, through their slot pointers.
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
    struct stream *s[CACHE_FIELDS][SLOT_N];
};

struct opg_tracecols {
    struct ctx_cache *cache[C_KEYED + MAX_KEYED];
    uint16_t kinds[C_KEYED + 1][CACHE_FIELDS][8]; /* schema_kind: child << 8 | kind */
    uint8_t kv_tag[C_KEYED + 1];                  /* the tag of a context's KeyValues, or 0 */
    uint8_t kv_ctx[C_KEYED + 1];                  /* their context */
    struct stream **s;
    size_t n_s, cap_s;
    size_t n_stored;        /* decoder: streams in the form */
    struct table streams;   /* stream name -> index */
    struct table keys;      /* attribute key -> context */
    uint32_t gen;           /* encoder: this call's stamp in the columns' find tables */
    uint8_t hex[256];       /* lowercase hex digit values, 0xff for other bytes */
    uint8_t digits[256][2]; /* a byte in lowercase hex */
    uint64_t *sids;         /* encoder: span IDs by hash, slots as in a column's find table */
    size_t sids_cap;
    struct kv_seen *kvs; /* encoder: this call's S_KV_STR attributes, see enc_kv */
    size_t n_kvs, kvs_cap;
    uint64_t *kv_find; /* encoder: their indexes by hash, slots as in a column's find table */
    size_t kv_find_cap;
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
    size_t limit; /* decoder: max + slack, or SIZE_MAX */
    uint8_t len_width[C_KEYED + 1]; /* decoder: guess of a submessage's length size */
};

/*
 * A random key of the process in every hash of the tables below: their
 * values never leave the process, and without it a request crafted to
 * collide (the strings of one column, say) would make each probe walk
 * all the entries before it.
 */
static uint64_t hash_key;

static void hash_key_make(void)
{
    if (getrandom(&hash_key, sizeof(hash_key), 0) != (ssize_t)sizeof(hash_key)) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        hash_key = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid() << 32;
    }
}

static uint64_t hash_bytes(uint64_t k, const uint8_t *p, size_t n)
{
    uint64_t h = (k + n) * 0x9e3779b97f4a7c15ull ^ hash_key;
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
    s->slot = NULL;
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

HOT enum slot slot_of(unsigned wt, enum role r)
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
HOT struct stream *stream_of(struct opg_tracecols *t, uint32_t ctx, uint64_t field, unsigned wt,
                             enum role r)
{
    struct ctx_cache *c;
    struct stream **s;

    if (field >= CACHE_FIELDS)
        return stream_get(t, stream_name(ctx, field, wt, r));
    c = t->cache[ctx];
    if (!c)
        c = t->cache[ctx] = opg_xcalloc(1, sizeof(*c));
    s = &c->s[field][slot_of(wt, r)];
    if (!*s && (*s = stream_get(t, stream_name(ctx, field, wt, r))))
        (*s)->slot = s;
    return *s;
}

static void reset(struct opg_tracecols *t)
{
    for (size_t i = 0; i < t->n_s; i++) {
        if (t->s[i]->slot) {
            *t->s[i]->slot = NULL;
            t->s[i]->slot = NULL;
        }
    }
    t->n_s = 0;
    t->n_stored = 0;
    table_reset(&t->streams);
    table_reset(&t->keys);
    if (++t->gen == 0) { /* wrapped: old stamps could look current */
        for (size_t i = 0; i < t->cap_s; i++)
            if (t->s[i] && t->s[i]->find)
                memset(t->s[i]->find, 0, t->s[i]->find_cap * sizeof(*t->s[i]->find));
        if (t->sids)
            memset(t->sids, 0, t->sids_cap * sizeof(*t->sids));
        if (t->kv_find)
            memset(t->kv_find, 0, t->kv_find_cap * sizeof(*t->kv_find));
        t->gen = 1;
    }
    t->n_keyed = 0;
    t->n_kvs = 0;
    t->have_trace_id = false;
    t->start = 0;
    t->n_sid = 0;
    t->n_parents = 0;
    t->out = NULL;
    for (size_t i = 0; i < F_N; i++)
        stream_new(t);
}

static void fill_kinds(struct opg_tracecols *t);

struct opg_tracecols *opg_tracecols_create(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct opg_tracecols *t = opg_xcalloc(1, sizeof(struct opg_tracecols));

    pthread_once(&once, hash_key_make);
    fill_kinds(t);
    memset(t->hex, 0xff, sizeof(t->hex));
    for (unsigned i = 0; i < 16; i++) {
        t->hex[(uint8_t) "0123456789abcdef"[i]] = (uint8_t)i;
        for (unsigned j = 0; j < 16; j++) {
            t->digits[i << 4 | j][0] = (uint8_t) "0123456789abcdef"[i];
            t->digits[i << 4 | j][1] = (uint8_t) "0123456789abcdef"[j];
        }
    }
    return t;
}

void opg_tracecols_destroy(struct opg_tracecols *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap_s; i++) {
        if (t->s[i]) {
            opg_buf_release(&t->s[i]->buf);
            free(t->s[i]->dict);
            free(t->s[i]->find);
            free(t->s[i]);
        }
    }
    free(t->s);
    table_release(&t->streams);
    table_release(&t->keys);
    free(t->sids);
    free(t->kvs);
    free(t->kv_find);
    free(t->parents);
    for (size_t i = 0; i < C_KEYED + MAX_KEYED; i++)
        free(t->cache[i]);
    free(t);
}

HOT bool is_kv(uint32_t ctx)
{
    return ctx >= C_KV_RESOURCE && ctx <= C_KV_LIST;
}

/*
 * What field `field` of a message in context ctx is, and for a submessage
 * its context. A wire type other than the schema's makes it an unknown
 * field, kept by wire type.
 */
static enum kind schema_kind(uint32_t ctx, uint64_t field, unsigned wt, uint32_t *child)
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

/* schema_kind, from the table for the usual field numbers. */
HOT enum kind field_kind(const struct opg_tracecols *t, uint32_t ctx, uint64_t field, unsigned wt,
                         uint32_t *child)
{
    uint16_t k;

    if (field >= CACHE_FIELDS)
        return schema_kind(ctx, field, wt, child);
    k = t->kinds[ctx < C_KEYED ? ctx : C_KEYED][field][wt & 7];
    *child = k >> 8;
    return (enum kind)(k & 0xff);
}

static void fill_kinds(struct opg_tracecols *t)
{
    for (uint32_t ctx = 0; ctx <= C_KEYED; ctx++) {
        for (unsigned f = 0; f < CACHE_FIELDS; f++) {
            for (unsigned wt = 0; wt < 8; wt++) {
                uint32_t child;
                enum kind k = schema_kind(ctx, f, wt, &child);

                t->kinds[ctx][f][wt] = (uint16_t)(child << 8 | k);
                if (wt == 2 && k == K_MESSAGE && is_kv(child)) {
                    t->kv_tag[ctx] = (uint8_t)(f << 3 | wt);
                    t->kv_ctx[ctx] = (uint8_t)child;
                }
            }
        }
    }
}

/*
 * The context of the values of attribute key k: its own while there are
 * few keys, the same whichever KeyValue column the key is in.
 */
static uint32_t key_context_slow(struct opg_tracecols *t, struct dict_entry *e)
{
    uint64_t h;
    int64_t c;

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

HOT uint32_t key_context(struct opg_tracecols *t, struct key_ref k)
{
    struct dict_entry *e = &k.ctl->dict[k.i];

    return e->ctx ? e->ctx : key_context_slow(t, e);
}

HOT void dict_add(struct stream *ctl, const uint8_t *p, size_t len, unsigned form)
{
    if (ctl->n_dict == ctl->dict_cap) {
        ctl->dict_cap = ctl->dict_cap ? 2 * ctl->dict_cap : 16;
        ctl->dict = opg_xrealloc(ctl->dict, ctl->dict_cap * sizeof(*ctl->dict));
    }
    ctl->dict[ctl->n_dict] = (struct dict_entry){p, (uint32_t)len, form, 0, NULL};
    ctl->last = ctl->n_dict++;
}

/* p[0..n) to o, without a call for the short strings most are. */
HOT void copy_short(uint8_t *o, const uint8_t *p, size_t n)
{
    if (n >= 8 && n <= 16) {
        memcpy(o, p, 8);
        memcpy(o + n - 8, p + n - 8, 8);
    } else if (n > 16 && n <= 32) {
        memcpy(o, p, 16);
        memcpy(o + n - 16, p + n - 16, 16);
    } else if (n >= 4 && n < 8) {
        memcpy(o, p, 4);
        memcpy(o + n - 4, p + n - 4, 4);
    } else {
        memcpy(o, p, n);
    }
}

/* p[0..n) == q[0..n), without a call for the short strings most are. */
HOT bool same_bytes(const uint8_t *p, const uint8_t *q, size_t n)
{
    uint64_t a, b, c, d;
    uint32_t x, y, u, v;

    if (n > 32) {
        /* the first bytes tell most unequal strings of a length apart (UUIDs...) */
        memcpy(&a, p, 8);
        memcpy(&b, q, 8);
        return a == b && !memcmp(p + 8, q + 8, n - 8);
    }
    if (n > 16) {
        memcpy(&a, p, 8);
        memcpy(&b, q, 8);
        memcpy(&c, p + 8, 8);
        memcpy(&d, q + 8, 8);
        if ((a ^ b) | (c ^ d))
            return false;
        p += n - 16;
        q += n - 16;
        n = 16;
    }
    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, q, 8);
        memcpy(&c, p + n - 8, 8);
        memcpy(&d, q + n - 8, 8);
        return !((a ^ b) | (c ^ d));
    }
    if (n >= 4) {
        memcpy(&x, p, 4);
        memcpy(&y, q, 4);
        memcpy(&u, p + n - 4, 4);
        memcpy(&v, q + n - 4, 4);
        return !((x ^ y) | (u ^ v));
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i])
            return false;
    return true;
}

HOT bool dict_is(const struct stream *ctl, uint32_t i, const uint8_t *p, size_t len)
{
    return i < ctl->n_dict && ctl->dict[i].len == len && same_bytes(ctl->dict[i].p, p, len);
}

/*
 * A hash of p[0..n) for the find tables (a column's, the attributes'):
 * 16 bytes per multiply, for attributes of some 40 bytes are hashed whole.
 */
HOT uint32_t hash_str(const uint8_t *p, size_t n)
{
    const uint64_t k1 = 0xa0761d6478bd642full, k2 = 0xe7037ed1a0b428dbull;
    uint64_t h = n * 0x9e3779b97f4a7c15ull ^ hash_key, a = 0, b = 0;
    uint32_t x, y;

    if (n > 16) {
        const uint8_t *last = p + n - 16;

        for (; p < last; p += 16) {
            memcpy(&a, p, 8);
            memcpy(&b, p + 8, 8);
            h = opg_mum(a ^ k1, b ^ h);
        }
        /* the last 16 bytes, some hashed already */
        memcpy(&a, last, 8);
        memcpy(&b, last + 8, 8);
    } else if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        a = x;
        b = y;
    } else if (n) {
        a = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
    }
    h = opg_mum(a ^ k1, b ^ h ^ k2);
    return (uint32_t)(h ^ h >> 32);
}

/* The slot of p[0..len) in ctl's find table (an empty one: not in yet). */
HOT uint64_t *find_slot(const struct opg_tracecols *t, struct stream *ctl, uint32_t h,
                        const uint8_t *p, size_t len)
{
    size_t mask = ctl->find_cap - 1;

    for (size_t j = h & mask;; j = (j + 1) & mask) {
        uint64_t *e = &ctl->find[j];

        if (*e >> 32 != t->gen || dict_is(ctl, (uint32_t)*e, p, len))
            return e;
    }
}

/* Doubles ctl's find table. */
static void find_grow(struct opg_tracecols *t, struct stream *ctl)
{
    ctl->find_cap = ctl->find_cap ? 2 * ctl->find_cap : 64;
    free(ctl->find);
    ctl->find = opg_xcalloc(ctl->find_cap, sizeof(*ctl->find));
    for (uint32_t i = 0; i < ctl->n_dict; i++) {
        const struct dict_entry *e = &ctl->dict[i];

        *find_slot(t, ctl, hash_str(e->p, e->len), e->p, e->len) = (uint64_t)t->gen << 32 | i;
    }
}

static uint64_t zigzag(uint64_t d)
{
    return d << 1 ^ (uint64_t)((int64_t)d >> 63);
}

static uint64_t unzigzag(uint64_t z)
{
    return z >> 1 ^ (0 - (z & 1));
}

HOT uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&v, p, 8);
#else
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
#endif
    return v;
}

HOT void put_le64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

HOT size_t varint_size(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

HOT size_t varint_put(uint8_t *p, uint64_t v)
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
HOT void room(struct opg_buf *b, size_t n)
{
    if (b->cap - b->len <= n)
        opg_buf_grow(b, n);
}

HOT void add_varint(struct opg_buf *b, uint64_t v)
{
    room(b, MAX_VARINT);
    b->len += varint_put((uint8_t *)b->data + b->len, v);
}

HOT void add_bytes(struct opg_buf *b, const void *p, size_t n)
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
HOT size_t get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v, bool *canon)
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

HOT struct stream *enc_stream(struct opg_tracecols *t, uint32_t ctx, uint64_t field, unsigned wt,
                              enum role r)
{
    return stream_of(t, ctx, field, wt, r);
}

/* Lowercase hex text p[0..n) packed into o (n even); false, with o garbage, if it is not. */
HOT bool pack_hex(const struct opg_tracecols *t, uint8_t *o, const uint8_t *p, size_t n)
{
    unsigned bad = 0;

    for (size_t i = 0; i < n; i += 2) {
        unsigned hi = t->hex[p[i]], lo = t->hex[p[i + 1]];

        bad |= hi | lo;
        *o++ = (uint8_t)(hi << 4 | lo);
    }
    return bad < 16;
}

/* A UUID in lowercase text packed into o[0..16). */
static bool pack_uuid(const struct opg_tracecols *t, uint8_t *o, const uint8_t *p)
{
    uint8_t hex[32];

    if (p[8] != '-' || p[13] != '-' || p[18] != '-' || p[23] != '-')
        return false;
    memcpy(hex, p, 8);
    memcpy(hex + 8, p + 9, 4);
    memcpy(hex + 12, p + 14, 4);
    memcpy(hex + 16, p + 19, 4);
    memcpy(hex + 20, p + 24, 12);
    return pack_hex(t, o, hex, 32);
}

/* Long enough to gain from packing; short strings stay text for zstd. */
static bool is_hex(const struct opg_tracecols *t, const uint8_t *p, size_t len)
{
    unsigned bad = 0;

    if (len < 16 || len % 2 || t->hex[p[0]] > 15)
        return false;
    for (size_t i = 0; i < len; i++)
        bad |= t->hex[p[i]];
    return bad < 16;
}

/* A new string of column ctl: its control value and bytes. */
static __attribute__((noinline)) void enc_new_string(struct opg_tracecols *t, struct stream *ctl,
                                                     uint32_t ctx, uint64_t field, bool pack,
                                                     const uint8_t *p, size_t len)
{
    struct stream *s;
    uint8_t uuid[UUID_BIN];

    if (pack && len == UUID_TEXT && pack_uuid(t, uuid, p)) {
        add_varint(&ctl->buf, STR_UUID);
        add_bytes(&enc_stream(t, ctx, field, 2, R_UUID)->buf, uuid, UUID_BIN);
    } else if (pack && is_hex(t, p, len)) {
        add_varint(&ctl->buf, STR_HEX);
        s = enc_stream(t, ctx, field, 2, R_HEX);
        add_varint(&s->buf, len / 2);
        room(&s->buf, len / 2);
        pack_hex(t, (uint8_t *)s->buf.data + s->buf.len, p, len);
        s->buf.len += len / 2;
    } else {
        add_varint(&ctl->buf, STR_LITERAL);
        s = enc_stream(t, ctx, field, 2, R_VAL);
        add_varint(&s->buf, len);
        room(&s->buf, len);
        copy_short((uint8_t *)s->buf.data + s->buf.len, p, len);
        s->buf.len += len;
    }
}

/*
 * Writes a string of column (ctx, field), whose control stream is ctl;
 * returns where it is in the column's dictionary. Columns often repeat in
 * order (the keys of each span), so the entries after and at the last one
 * used are tried before the column's find table.
 */
HOT struct key_ref enc_string_in(struct opg_tracecols *t, struct stream *ctl, uint32_t ctx,
                                 uint64_t field, bool pack, const uint8_t *p, size_t len)
{
    uint32_t i = ctl->last + 1;
    uint64_t *slot;

    if (!dict_is(ctl, i, p, len) && !dict_is(ctl, i = ctl->last, p, len)) {
        if (ctl->n_dict + 1 > ctl->find_cap / 2)
            find_grow(t, ctl);
        slot = find_slot(t, ctl, hash_str(p, len), p, len);
        i = (uint32_t)*slot;
        if (*slot >> 32 != t->gen) {
            i = ctl->n_dict;
            *slot = (uint64_t)t->gen << 32 | i;
            dict_add(ctl, p, len, STR_LITERAL);
            enc_new_string(t, ctl, ctx, field, pack, p, len);
            return (struct key_ref){ctl, i};
        }
    }
    ctl->last = i;
    add_varint(&ctl->buf, STR_DICT + (uint64_t)i);
    return (struct key_ref){ctl, i};
}

HOT struct key_ref enc_string(struct opg_tracecols *t, uint32_t ctx, uint64_t field, bool pack,
                              const uint8_t *p, size_t len)
{
    return enc_string_in(t, enc_stream(t, ctx, field, 2, R_CTL), ctx, field, pack, p, len);
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

/* The slot of span ID p[0..8) in t->sids: its first index, or an empty slot. */
HOT uint64_t *sid_slot(const struct opg_tracecols *t, const uint8_t *sid, const uint8_t *p)
{
    size_t mask = t->sids_cap - 1;
    uint64_t v = le64(p);

    for (size_t j = ((v ^ hash_key) * 0x9e3779b97f4a7c15ull) >> 32 & mask;; j = (j + 1) & mask) {
        uint64_t *e = &t->sids[j];

        if (*e >> 32 != t->gen || le64(sid + 8 * (uint32_t)*e) == v)
            return e;
    }
}

/*
 * Parent IDs, once every span ID is known: parents usually come after
 * their children in a request (SDKs export spans as they end).
 */
static void enc_parents(struct opg_tracecols *t)
{
    const uint8_t *sid = (const uint8_t *)t->s[F_SID]->buf.data;
    struct opg_buf *ctl = &t->s[F_PARENT]->buf, *lit = &t->s[F_PLIT]->buf;

    if (!t->n_parents)
        return;
    if (t->sids_cap < 2 * t->n_sid + 2) {
        while (t->sids_cap < 2 * t->n_sid + 2)
            t->sids_cap = t->sids_cap ? 2 * t->sids_cap : 256;
        free(t->sids);
        t->sids = opg_xcalloc(t->sids_cap, sizeof(*t->sids));
    }
    for (uint64_t i = 0; i < t->n_sid; i++) {
        uint64_t *e = sid_slot(t, sid, sid + 8 * i);

        if (*e >> 32 != t->gen)
            *e = (uint64_t)t->gen << 32 | i;
    }
    for (size_t i = 0; i < t->n_parents; i++) {
        const struct parent *pa = &t->parents[i];
        const uint64_t *e;

        if (pa->len == 0) {
            add_varint(ctl, PARENT_EMPTY);
        } else if (pa->len == 8 && (e = sid_slot(t, sid, pa->p), *e >> 32 == t->gen)) {
            add_varint(ctl, PARENT_REF + zigzag((uint32_t)*e - pa->at));
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

/* A canonical varint at p[0..end): its size, or 0. */
HOT size_t get_canon(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    bool canon;
    size_t k = get_varint(p, end, v, &canon);

    return canon ? k : 0;
}

/* The slot of KeyValue p[0..n) of context ctx in t->kv_find (an empty one: not seen yet). */
HOT uint64_t *kv_slot(const struct opg_tracecols *t, uint32_t h, uint32_t ctx, const uint8_t *p,
                      size_t n)
{
    size_t mask = t->kv_find_cap - 1;

    for (size_t j = h & mask;; j = (j + 1) & mask) {
        uint64_t *e = &t->kv_find[j];
        const struct kv_seen *kv;

        if (*e >> 32 != t->gen)
            return e;
        kv = &t->kvs[(uint32_t)*e];
        if (kv->hash == h && kv->ctx == ctx && kv->n == n && same_bytes(kv->p, p, n))
            return e;
    }
}

/* Room for one more entry in t->kvs and t->kv_find. */
static void kv_room(struct opg_tracecols *t)
{
    if (t->n_kvs == t->kvs_cap) {
        t->kvs_cap = t->kvs_cap ? 2 * t->kvs_cap : 64;
        t->kvs = opg_xrealloc(t->kvs, t->kvs_cap * sizeof(*t->kvs));
    }
    if (2 * (t->n_kvs + 1) > t->kv_find_cap) {
        t->kv_find_cap = t->kv_find_cap ? 2 * t->kv_find_cap : 128;
        free(t->kv_find);
        t->kv_find = opg_xcalloc(t->kv_find_cap, sizeof(*t->kv_find));
        for (uint32_t i = 0; i < t->n_kvs; i++) {
            const struct kv_seen *kv = &t->kvs[i];

            *kv_slot(t, kv->hash, kv->ctx, kv->p, kv->n) = (uint64_t)t->gen << 32 | i;
        }
    }
}

/*
 * The KeyValue p[0..n) in KeyValue context ctx, when it has the usual
 * shape (see S_KV_STR): its structure entry in st, of the enclosing
 * message, the key and the value in their columns. Returns false, having
 * written nothing, for other shapes.
 *
 * Most attributes of a request repeat one met before (the same key and
 * value): those of a string value are remembered whole, and a repeat
 * writes the same dictionary references as enc_string would, without
 * reading the KeyValue again or looking up its key and value.
 */
HOT bool enc_kv(struct opg_tracecols *t, uint32_t ctx, struct opg_buf *st, const uint8_t *p,
                size_t n)
{
    const uint8_t *end = p + n, *key, *v, *kv_p = p;
    uint64_t klen, alen, x;
    size_t k;
    struct key_ref r, vr;
    struct dict_entry *e;
    struct kv_seen *seen;
    uint32_t vctx, h = hash_str(p, n) ^ ctx;
    uint64_t *slot;

    kv_room(t);
    slot = kv_slot(t, h, ctx, p, n);
    if (*slot >> 32 == t->gen) {
        seen = &t->kvs[(uint32_t)*slot];
        add_varint(st, S_KV_STR);
        seen->kctl->last = seen->ki;
        add_varint(&seen->kctl->buf, STR_DICT + (uint64_t)seen->ki);
        seen->vctl->last = seen->vi;
        add_varint(&seen->vctl->buf, STR_DICT + (uint64_t)seen->vi);
        return true;
    }

    if (n < 4 || p[0] != 0x0a || !(k = get_canon(p + 1, end, &klen)) ||
        klen > (uint64_t)(end - p - 1 - (ptrdiff_t)k))
        return false;
    key = p + 1 + k;
    p = key + klen;
    if (end - p < 4 || p[0] != 0x12 || !(k = get_canon(p + 1, end, &alen)) ||
        alen != (uint64_t)(end - p - 1 - (ptrdiff_t)k))
        return false;
    v = p + 1 + k;
    if (v[0] == 0x0a) {
        if (!(k = get_canon(v + 1, end, &x)) || x != (uint64_t)(end - v - 1 - (ptrdiff_t)k))
            return false;
        add_varint(st, S_KV_STR);
        r = enc_string(t, ctx, 1, false, key, klen);
        e = &r.ctl->dict[r.i];
        if (!e->vctl) /* the stream is made here, as enc_string would */
            e->vctl = enc_stream(t, key_context(t, r), 1, 2, R_CTL);
        vr = enc_string_in(t, e->vctl, e->ctx, 1, true, v + 1 + k, x);
        *slot = (uint64_t)t->gen << 32 | t->n_kvs;
        t->kvs[t->n_kvs++] = (struct kv_seen){kv_p, (uint32_t)n, ctx, h, r.i, vr.i, r.ctl, vr.ctl};
        return true;
    }
    if (v[0] == 0x18) {
        if (!(k = get_canon(v + 1, end, &x)) || v + 1 + k != end)
            return false;
        add_varint(st, S_KV_INT);
        r = enc_string(t, ctx, 1, false, key, klen);
        vctx = key_context(t, r);
        add_varint(&enc_stream(t, vctx, 3, 0, R_VAL)->buf, x);
        return true;
    }
    return false;
}

/* One field: its tag is in the structure stream already. */
static int enc_field(struct opg_tracecols *t, uint32_t ctx, uint64_t tag, const uint8_t *v,
                     uint64_t x, size_t len, int depth, struct key_ref *key)
{
    uint64_t field = tag >> 3;
    unsigned wt = tag & 7;
    uint32_t child;
    enum kind k = field_kind(t, ctx, field, wt, &child);
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
    uint32_t row = ctx < C_KEYED ? ctx : C_KEYED;
    uint64_t kv_tag = depth + 2 < MAX_DEPTH ? t->kv_tag[row] : 0;

    while (p < end) {
        const uint8_t *field = p, *v;
        uint64_t tag, x = 0, len = 0;
        bool canon, c2 = true;
        size_t k;

        /* the usual field: a one-byte tag and length */
        if (p[0] >= 8 && p[0] < 0x80 && (p[0] & 7) == 2 && end - p >= 2 && p[1] < 0x80 &&
            p[1] <= end - p - 2) {
            tag = p[0];
            len = p[1];
            v = p + 2;
            p = v + len;
            goto known;
        }
        k = get_varint(p, end, &tag, &canon);
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
    known:
        if (tag == kv_tag && enc_kv(t, t->kv_ctx[row], &st->buf, v, (size_t)len))
            continue;
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

HOT int rd_varint(struct stream *s, uint64_t *v)
{
    bool canon;
    size_t k;

    if (!s)
        return -1;
    if (s->pos < s->len && s->p[s->pos] < 0x80) {
        *v = s->p[s->pos++];
        return 0;
    }
    k = get_varint(s->p + s->pos, s->p + s->len, v, &canon);
    if (!k)
        return -1;
    s->pos += k;
    return 0;
}

HOT const uint8_t *rd_bytes(struct stream *s, uint64_t n)
{
    const uint8_t *p;

    if (!s || n > s->len - s->pos)
        return NULL;
    p = s->p + s->pos;
    s->pos += n;
    return p;
}

HOT struct stream *dec_stream(struct opg_tracecols *t, uint32_t ctx, uint64_t field, unsigned wt,
                              enum role r)
{
    return stream_of(t, ctx, field, wt, r);
}

static void set_slack(struct opg_tracecols *t, size_t slack)
{
    t->slack = slack;
    t->limit = t->max > SIZE_MAX - slack ? SIZE_MAX : t->max + slack;
}

/* Room for n more output bytes, within the caller's bound. */
HOT uint8_t *out_room(struct opg_tracecols *t, uint64_t n)
{
    if (n > t->limit - t->out->len)
        return NULL;
    room(t->out, (size_t)n);
    return (uint8_t *)t->out->data + t->out->len;
}

HOT int out_add(struct opg_tracecols *t, const void *p, uint64_t n)
{
    uint8_t *o = out_room(t, n);

    if (!o)
        return -1;
    memcpy(o, p, (size_t)n);
    t->out->len += (size_t)n;
    return 0;
}

HOT int out_varint(struct opg_tracecols *t, uint64_t v)
{
    uint8_t *o = out_room(t, varint_size(v));

    if (!o)
        return -1;
    t->out->len += varint_put(o, v);
    return 0;
}

/* A length-prefixed value of n bytes read from s. */
static int out_lp(struct opg_tracecols *t, struct stream *s, uint64_t n)
{
    const uint8_t *p = rd_bytes(s, n);

    if (!p || out_varint(t, n) < 0)
        return -1;
    return out_add(t, p, n);
}

/* The text of dictionary entry e: its size, then e written at o with its length. */
HOT size_t entry_size(const struct dict_entry *e)
{
    return e->form == STR_LITERAL ? e->len : e->form == STR_UUID ? UUID_TEXT : 2 * (size_t)e->len;
}

HOT uint8_t *put_entry(const struct opg_tracecols *t, uint8_t *o, const struct dict_entry *e,
                       size_t size)
{
    o += varint_put(o, size);
    if (e->form == STR_LITERAL) {
        copy_short(o, e->p, e->len);
        return o + e->len;
    }
    if (e->form == STR_UUID) {
        static const uint8_t group[UUID_BIN] = {0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0};

        for (size_t i = 0; i < UUID_BIN; i++) {
            *o = '-';
            o += group[i];
            memcpy(o, t->digits[e->p[i]], 2);
            o += 2;
        }
        return o;
    }
    for (size_t i = 0; i < e->len; i++) {
        memcpy(o, t->digits[e->p[i]], 2);
        o += 2;
    }
    return o;
}

/*
 * Reads a string of column (ctx, field): its dictionary entry, valid until
 * the column's next new string, or NULL.
 */
HOT const struct dict_entry *dec_entry(struct opg_tracecols *t, uint32_t ctx, uint64_t field,
                                       bool pack, struct key_ref *where)
{
    struct stream *ctl = dec_stream(t, ctx, field, 2, R_CTL), *s;
    const uint8_t *p;
    uint64_t c, len = UUID_BIN;

    if (rd_varint(ctl, &c) < 0)
        return NULL;
    if (c >= STR_DICT) {
        if (c - STR_DICT >= ctl->n_dict)
            return NULL;
        *where = (struct key_ref){ctl, (uint32_t)(c - STR_DICT)};
        return &ctl->dict[c - STR_DICT];
    }
    if (c != STR_LITERAL && !pack)
        return NULL;
    s = dec_stream(t, ctx, field, 2, c == STR_LITERAL ? R_VAL : c == STR_UUID ? R_UUID : R_HEX);
    if (c != STR_UUID && rd_varint(s, &len) < 0)
        return NULL;
    p = rd_bytes(s, len);
    if (!p || len > UINT32_MAX)
        return NULL;
    *where = (struct key_ref){ctl, ctl->n_dict};
    dict_add(ctl, p, len, (unsigned)c);
    return &ctl->dict[ctl->n_dict - 1];
}

static int dec_string(struct opg_tracecols *t, uint32_t ctx, uint64_t field, bool pack,
                      struct key_ref *where)
{
    const struct dict_entry *e = dec_entry(t, ctx, field, pack, where);
    size_t len;
    uint8_t *o;

    if (!e)
        return -1;
    len = entry_size(e);
    if (!(o = out_room(t, varint_size(len) + len)))
        return -1;
    t->out->len = (size_t)(put_entry(t, o, e, len) - (uint8_t *)t->out->data);
    return 0;
}

/* A KeyValue field of context ctx written as one structure entry sym (see enc_kv). */
static int dec_kv(struct opg_tracecols *t, uint32_t ctx, uint64_t sym, int depth)
{
    const struct dict_entry *ke, *ve = NULL;
    struct key_ref kr, vr;
    uint32_t vctx;
    uint64_t x = 0;
    size_t klen, vlen, alen, len;
    uint8_t *o, tag = t->kv_tag[ctx < C_KEYED ? ctx : C_KEYED];

    if (!tag || depth + 2 >= MAX_DEPTH)
        return -1;
    ctx = t->kv_ctx[ctx < C_KEYED ? ctx : C_KEYED];
    if (!dec_entry(t, ctx, 1, false, &kr))
        return -1;
    vctx = key_context(t, kr);
    if (sym == S_KV_STR) {
        if (!(ve = dec_entry(t, vctx, 1, true, &vr)))
            return -1;
        vlen = entry_size(ve);
        alen = 1 + varint_size(vlen) + vlen;
    } else if (rd_varint(dec_stream(t, vctx, 3, 0, R_VAL), &x) < 0) {
        return -1;
    } else {
        alen = 1 + varint_size(x);
    }
    ke = &kr.ctl->dict[kr.i];
    klen = entry_size(ke);
    len = 1 + varint_size(klen) + klen + 1 + varint_size(alen) + alen;
    if (!(o = out_room(t, 1 + varint_size(len) + len)))
        return -1;
    *o++ = tag;
    o += varint_put(o, len);
    *o++ = 0x0a;
    o = put_entry(t, o, ke, klen);
    *o++ = 0x12;
    o += varint_put(o, alen);
    if (ve) {
        *o++ = 0x0a;
        o = put_entry(t, o, ve, vlen);
    } else {
        *o++ = 0x18;
        o += varint_put(o, x);
    }
    t->out->len = (size_t)(o - (uint8_t *)t->out->data);
    return 0;
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
    set_slack(t, t->slack + guess - 1);
    if (!out_room(t, guess))
        return -1;
    t->out->len += guess;
    if (dec_message(t, child, depth + 1) < 0)
        return -1;
    set_slack(t, t->slack - (guess - 1));
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
    k = field_kind(t, ctx, field, wt, &child);
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
        if (tag == S_KV_STR || tag == S_KV_INT) {
            if (dec_kv(t, ctx, tag, depth) < 0)
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
    set_slack(t, 0);
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
