#include "batch.h"
#include "mum.h"
#include "utf8.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ORIGIN_COLUMNS      3
#define CORRELATION_COLUMNS 5
#define SERVICE_NAME_KEY    "service.name"

/*
 * Hashes of origins and operations known to be committed: a small open-
 * addressing set shared by every thread of the process, emptied when it
 * fills (the rows are then written once more, harmlessly).
 */
#define KNOWN_SLOTS 8192
static struct {
    pthread_mutex_t lock;
    uint64_t slot[KNOWN_SLOTS];
    size_t n;
} known = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

static bool known_has(uint64_t h)
{
    bool found = false;

    h = h ? h : 1;
    pthread_mutex_lock(&known.lock);
    for (size_t i = h % KNOWN_SLOTS; known.slot[i]; i = (i + 1) % KNOWN_SLOTS) {
        if (known.slot[i] == h) {
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&known.lock);
    return found;
}

static void known_add_locked(uint64_t h)
{
    size_t i;

    h = h ? h : 1;
    if (known.n >= KNOWN_SLOTS * 3 / 4) {
        memset(known.slot, 0, sizeof(known.slot));
        known.n = 0;
    }
    for (i = h % KNOWN_SLOTS; known.slot[i]; i = (i + 1) % KNOWN_SLOTS)
        if (known.slot[i] == h)
            return;
    known.slot[i] = h;
    known.n++;
}

/* Origins and operations share the set: mark which is which. */
#define KNOWN_ORIGIN(id) ((uint64_t)(id) ^ 0x6f726967696e0000ULL)

void opg_batch_remember_committed(const struct opg_batch *b)
{
    pthread_mutex_lock(&known.lock);
    for (size_t i = 0; i < b->n_origins_added; i++)
        known_add_locked(KNOWN_ORIGIN(b->origins_added[i]));
    for (size_t i = 0; i < b->n_ops; i++)
        known_add_locked(b->ops[i]);
    pthread_mutex_unlock(&known.lock);
}

bool opg_batch_operation_known(uint64_t h)
{
    return known_has(h);
}

void opg_batch_init(struct opg_batch *b, enum opg_signal signal)
{
    memset(b, 0, sizeof(*b));
    b->signal = signal;
}

void opg_batch_release(struct opg_batch *b)
{
    for (int i = 0; i < OPG_STREAM_COUNT; i++)
        opg_buf_release(&b->rows[i]);
}

size_t opg_batch_bytes(const struct opg_batch *b)
{
    size_t n = sizeof(*b);

    for (int i = 0; i < OPG_STREAM_COUNT; i++)
        n += b->rows[i].len;
    return n;
}

/*
 * Layout (little endian, fixed): u8 signal, u8 stream count, u16 days,
 * u64 items, then the days (i32 each), then per stream u64 rows, u64 bytes
 * and the bytes. What was rejected is not kept: it was answered already.
 */
#define SERIAL_VERSION_STREAMS OPG_STREAM_COUNT
/* Spools written before spans went into blocks have only the first eight;
 * before block dictionaries (migration 016), eleven. */
#define SERIAL_OLD_STREAMS    8
#define SERIAL_BLOCKS_STREAMS 11

static void put(struct opg_buf *out, const void *p, size_t n)
{
    opg_buf_add(out, p, n);
}

void opg_batch_serialize(const struct opg_batch *b, struct opg_buf *out)
{
    uint8_t sig = (uint8_t)b->signal, nstreams = SERIAL_VERSION_STREAMS;
    uint16_t ndays = (uint16_t)b->n_days;
    uint64_t items = b->n_items;

    put(out, &sig, 1);
    put(out, &nstreams, 1);
    put(out, &ndays, 2);
    put(out, &items, 8);
    put(out, b->days, sizeof(int32_t) * (size_t)b->n_days);
    for (int s = 0; s < OPG_STREAM_COUNT; s++) {
        uint64_t rows = b->n_rows[s], len = b->rows[s].len;
        put(out, &rows, 8);
        put(out, &len, 8);
        put(out, b->rows[s].data, b->rows[s].len);
    }
}

static int take(const uint8_t **p, size_t *left, void *dst, size_t n)
{
    if (*left < n)
        return -1;
    memcpy(dst, *p, n);
    *p += n;
    *left -= n;
    return 0;
}

int opg_batch_deserialize(struct opg_batch *b, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint8_t sig, nstreams;
    uint16_t ndays;
    uint64_t items;

    if (take(&p, &n, &sig, 1) < 0 || take(&p, &n, &nstreams, 1) < 0 ||
        take(&p, &n, &ndays, 2) < 0 || take(&p, &n, &items, 8) < 0 || sig > OPG_SIGNAL_METRICS ||
        (nstreams != SERIAL_VERSION_STREAMS && nstreams != SERIAL_OLD_STREAMS &&
         nstreams != SERIAL_BLOCKS_STREAMS) ||
        ndays > OPG_MAX_DAYS_PER_BATCH)
        return -1;
    b->signal = (enum opg_signal)sig;
    b->n_items = items;
    b->n_days = ndays;
    if (take(&p, &n, b->days, sizeof(int32_t) * ndays) < 0)
        return -1;
    for (int s = 0; s < nstreams; s++) {
        uint64_t rows, len;
        if (take(&p, &n, &rows, 8) < 0 || take(&p, &n, &len, 8) < 0 || len > n)
            return -1;
        b->n_rows[s] = rows;
        opg_buf_reset(&b->rows[s]);
        opg_buf_add(&b->rows[s], p, len);
        p += len;
        n -= len;
    }
    return n == 0 ? 0 : -1;
}

void opg_batch_reject(struct opg_batch *b, const char *why)
{
    if (!b->rejected)
        snprintf(b->reject_msg, sizeof(b->reject_msg), "%s", why);
    b->rejected++;
}

int32_t opg_ingest_day(uint64_t time_ns, const struct opg_ingest_opts *o)
{
    int64_t t = (int64_t)time_ns;

    if (time_ns > (uint64_t)INT64_MAX || t < o->now_ns - o->accept_past_ns ||
        t > o->now_ns + o->accept_future_ns)
        t = o->now_ns;
    return (int32_t)(t / OPG_NS_PER_DAY);
}

int32_t opg_batch_day(struct opg_batch *b, uint64_t time_ns, const struct opg_ingest_opts *o)
{
    int32_t day = opg_ingest_day(time_ns, o);

    for (int i = b->n_days - 1; i >= 0; i--)
        if (b->days[i] == day)
            return day;
    if (b->n_days < OPG_MAX_DAYS_PER_BATCH)
        b->days[b->n_days++] = day;
    return day;
}

/* ---- binary COPY tuples ----------------------------------------------------- */

struct opg_buf *opg_batch_row(struct opg_batch *b, enum opg_stream s, int ncols)
{
    opg_buf_add_be16(&b->rows[s], (uint16_t)ncols);
    b->n_rows[s]++;
    return &b->rows[s];
}

void opg_copy_int8(struct opg_buf *r, int64_t v)
{
    opg_buf_add_be32(r, 8);
    opg_buf_add_be64(r, (uint64_t)v);
}

void opg_copy_int4(struct opg_buf *r, int32_t v)
{
    opg_buf_add_be32(r, 4);
    opg_buf_add_be32(r, (uint32_t)v);
}

void opg_copy_int2(struct opg_buf *r, int16_t v)
{
    opg_buf_add_be32(r, 2);
    opg_buf_add_be16(r, (uint16_t)v);
}

void opg_copy_bool(struct opg_buf *r, bool v)
{
    opg_buf_add_be32(r, 1);
    opg_buf_addch(r, v ? 1 : 0);
}

void opg_copy_float8(struct opg_buf *r, double v)
{
    uint64_t bits;

    memcpy(&bits, &v, sizeof(bits));
    opg_buf_add_be32(r, 8);
    opg_buf_add_be64(r, bits);
}

void opg_copy_null(struct opg_buf *r)
{
    opg_buf_add_be32(r, 0xffffffffu);
}

void opg_copy_bytes(struct opg_buf *r, const void *p, size_t n)
{
    opg_buf_add_be32(r, (uint32_t)n);
    opg_buf_add(r, p, n);
}

size_t opg_copy_begin_field(struct opg_buf *r)
{
    size_t at = r->len;

    opg_buf_add_be32(r, 0);
    return at;
}

void opg_copy_end_field(struct opg_buf *r, size_t at)
{
    uint32_t len = (uint32_t)(r->len - at - 4);
    unsigned char *lp = (unsigned char *)r->data + at;

    lp[0] = (unsigned char)(len >> 24);
    lp[1] = (unsigned char)(len >> 16);
    lp[2] = (unsigned char)(len >> 8);
    lp[3] = (unsigned char)len;
}

bool opg_text_clean(const char *s, size_t n)
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

void opg_copy_text(struct opg_buf *r, const char *s, size_t n)
{
    size_t at;

    if (!s)
        s = "";
    if (opg_text_clean(s, n)) {
        opg_copy_bytes(r, s, n);
        return;
    }
    at = opg_copy_begin_field(r);
    opg_text_sanitize(r, s, n);
    opg_copy_end_field(r, at);
}

void opg_copy_jsonb(struct opg_buf *r, const char *json, size_t n)
{
    opg_buf_add_be32(r, (uint32_t)n + 1);
    opg_buf_addch(r, 1); /* jsonb binary format version */
    opg_buf_add(r, json, n);
}

int opg_copy_payload(struct opg_buf *r, struct opg_codec *codec, const ProtobufCMessage *msg,
                     struct opg_buf *scratch)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    size_t at;

    opg_buf_reset(scratch);
    opg_buf_grow(scratch, n);
    protobuf_c_message_pack(msg, (uint8_t *)scratch->data);
    scratch->len = n;
    at = opg_copy_begin_field(r);
    if (opg_codec_encode(codec, scratch->data, n, r) < 0)
        return -1;
    opg_copy_end_field(r, at);
    return 0;
}

/* ---- hashes ------------------------------------------------------------------------ */

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

static uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

/* One multiply-rotate lane over 8-byte words (MurmurHash3's mixing). */
static uint64_t lane(const uint8_t *p, size_t n, uint64_t seed)
{
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h = seed ^ (n * c2);
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t k;
        memcpy(&k, p + i, 8);
        k *= c1;
        k = rotl64(k, 31);
        k *= c2;
        h ^= k;
        h = rotl64(h, 27) * 5 + 0x52dce729;
    }
    if (i < n) {
        uint64_t k = 0;
        memcpy(&k, p + i, n - i);
        k *= c1;
        k = rotl64(k, 31);
        k *= c2;
        h ^= k;
    }
    return fmix64(h ^ n);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

static const uint64_t fast_keys[5] = {0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL,
                                      0x8ebc6af09c88c6e3ULL, 0x589965cc75374cc3ULL,
                                      0x1d8e4e27c47d124fULL};

/* One 64-byte stripe into the four lanes s[0..4), 16 bytes each. */
static inline void fast_stripe(uint64_t s[4], const uint8_t *p)
{
    const uint64_t *k = fast_keys;

    s[0] = opg_mum(rd64(p) ^ k[0], rd64(p + 8) ^ s[0]);
    s[1] = opg_mum(rd64(p + 16) ^ k[1], rd64(p + 24) ^ s[1]);
    s[2] = opg_mum(rd64(p + 32) ^ k[2], rd64(p + 40) ^ s[2]);
    s[3] = opg_mum(rd64(p + 48) ^ k[3], rd64(p + 56) ^ s[3]);
}

/*
 * Four independent lanes each fold 16 bytes per 64x64->128-bit multiply,
 * so that the CPU overlaps their multiplies where one serial chain would
 * wait on each (opg_hash64_wide): ~3x faster on a request body.
 */
uint64_t opg_hash64_fast(const void *data, size_t n)
{
    const uint8_t *p = data;
    const uint64_t *k = fast_keys;
    uint64_t s[4] = {k[0], k[1], k[2], k[3]};
    uint8_t tail[64] = {0};
    size_t i = 0;

    for (; n - i >= 64; i += 64)
        fast_stripe(s, p + i);
    /* the last bytes, zero-padded to a stripe; the length tells the padding apart */
    if (n > i) {
        memcpy(tail, p + i, n - i);
        fast_stripe(s, tail);
    }
    return opg_mum(opg_mum(s[0] ^ k[4], s[1] ^ n) ^ k[0], opg_mum(s[2] ^ k[4], s[3] ^ k[1]) ^ n);
}

uint64_t opg_hash64_wide(const void *p, size_t n)
{
    return lane(p, n, 0x9e3779b97f4a7c15ULL);
}

void opg_hash128(const void *p, size_t n, uint8_t out[16])
{
    uint64_t a = lane(p, n, 0x9e3779b97f4a7c15ULL);
    uint64_t b = lane(p, n, 0xc2b2ae3d27d4eb4fULL);

    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

/* ---- shared by the signals --------------------------------------------------- */

ProtobufCBinaryData opg_resource_service(const Opentelemetry__Proto__Resource__V1__Resource *r)
{
    static const ProtobufCBinaryData none = {0, (uint8_t *)""};
    const ProtobufCBinaryData *s =
        r ? opg_otlp_attr_str(r->attributes, r->n_attributes, SERVICE_NAME_KEY) : NULL;

    return s ? *s : none;
}

int opg_batch_add_origin(struct opg_batch *b,
                         Opentelemetry__Proto__Resource__V1__Resource *resource,
                         const char *resource_schema_url,
                         Opentelemetry__Proto__Common__V1__InstrumentationScope *scope,
                         const char *scope_schema_url, struct opg_codec *codec,
                         struct opg_buf *scratch, int64_t *id)
{
    Opentelemetry__Proto__Trace__V1__ResourceSpans o =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans sc =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *scp = &sc;
    ProtobufCBinaryData service = opg_resource_service(resource);
    struct opg_buf *r;
    size_t n, at;

    o.resource = resource;
    o.schema_url = (char *)(resource_schema_url ? resource_schema_url : "");
    sc.scope = scope;
    sc.schema_url = (char *)(scope_schema_url ? scope_schema_url : "");
    o.n_scope_spans = 1;
    o.scope_spans = &scp;

    n = protobuf_c_message_get_packed_size(&o.base);
    opg_buf_reset(scratch);
    opg_buf_grow(scratch, n);
    protobuf_c_message_pack(&o.base, (uint8_t *)scratch->data);
    scratch->len = n;
    *id = (int64_t)opg_hash64(scratch->data, n);
    if (known_has(KNOWN_ORIGIN(*id)))
        return 0; /* committed already: the row is there */
    if (b->n_origins_added < OPG_MAX_OPS_PER_BATCH)
        b->origins_added[b->n_origins_added++] = *id;

    r = opg_batch_row(b, OPG_STREAM_ORIGINS, ORIGIN_COLUMNS);
    opg_copy_int8(r, *id);
    opg_copy_text(r, (const char *)service.data, service.len);
    at = opg_copy_begin_field(r);
    if (opg_codec_encode(codec, scratch->data, n, r) < 0)
        return -1;
    opg_copy_end_field(r, at);
    return 0;
}

/* The correlation ID an attribute holds, as text in buf; false if none. */
static bool corr_value(const struct opg_ingest_opts *o,
                       const Opentelemetry__Proto__Common__V1__KeyValue *kv, char *buf,
                       size_t bufsize, size_t *len)
{
    const Opentelemetry__Proto__Common__V1__AnyValue *v = kv->value;
    bool listed = false;

    if (!kv->key || !v)
        return false;
    /* the first byte first: called for every attribute of every span and record */
    for (size_t i = 0; i < o->n_corr_keys && !listed; i++)
        listed = kv->key[0] == o->corr_keys[i][0] && !strcmp(kv->key, o->corr_keys[i]);
    if (!listed)
        return false;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        if (v->string_value.len == 0 || v->string_value.len > (size_t)o->max_corr_len ||
            v->string_value.len >= bufsize)
            return false;
        memcpy(buf, v->string_value.data, v->string_value.len);
        *len = v->string_value.len;
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        *len = (size_t)snprintf(buf, bufsize, "%lld", (long long)v->int_value);
        return true;
    default:
        return false;
    }
}

/* Whether this request already has the row (checked by hash; a collision
 * only costs the database one duplicate to drop). Remembers it if not. */
static bool corr_already_added(struct opg_batch *b, const char *id, size_t len, int kind,
                               const uint8_t *ref, size_t ref_len, int32_t day)
{
    uint64_t h = opg_hash64(id, len) * 31 ^ opg_hash64(ref, ref_len) ^ (uint64_t)kind << 56 ^
                 (uint64_t)(uint32_t)day;
    size_t i;

    if (!h)
        h = 1;
    if (b->n_corr_seen >= OPG_CORR_SEEN_SLOTS * 3 / 4)
        return false;
    for (i = h % OPG_CORR_SEEN_SLOTS; b->corr_seen[i]; i = (i + 1) % OPG_CORR_SEEN_SLOTS)
        if (b->corr_seen[i] == h)
            return true;
    b->corr_seen[i] = h;
    b->n_corr_seen++;
    return false;
}

uint64_t opg_corr_hash(const char *id, size_t len)
{
    uint64_t h = opg_hash64_wide(id, len);

    return h ? h : 1;
}

/*
 * Adds the rows of the correlation IDs among attrs and res's attributes.
 * With part_corr, the first ID goes into *part_corr instead when it is 0,
 * and the ID *part_corr names gets no row (the part carries it).
 */
static void add_correlations(struct opg_batch *b, const struct opg_ingest_opts *o,
                             Opentelemetry__Proto__Common__V1__KeyValue *const *attrs,
                             size_t n_attrs,
                             const Opentelemetry__Proto__Resource__V1__Resource *res, int kind,
                             const uint8_t *ref, size_t ref_len, int64_t time_ns, int32_t day,
                             uint64_t *part_corr)
{
    /* a handful of IDs at most: remember them to add each once */
    enum { MAX_IDS = 8 };
    char seen[MAX_IDS][257];
    size_t seen_len[MAX_IDS];
    int n_seen = 0;

    for (int pass = 0; pass < 2; pass++) {
        Opentelemetry__Proto__Common__V1__KeyValue *const *list =
            pass == 0 ? attrs : (res ? res->attributes : NULL);
        size_t n = pass == 0 ? n_attrs : (res ? res->n_attributes : 0);

        for (size_t i = 0; i < n && n_seen < MAX_IDS; i++) {
            size_t len;
            bool dup = false;
            struct opg_buf *r;

            if (!corr_value(o, list[i], seen[n_seen], sizeof(seen[0]), &len))
                continue;
            for (int k = 0; k < n_seen && !dup; k++)
                dup = seen_len[k] == len && !memcmp(seen[k], seen[n_seen], len);
            if (dup)
                continue;
            seen_len[n_seen] = len;
            if (part_corr) {
                uint64_t h = opg_corr_hash(seen[n_seen], len);

                if (!*part_corr)
                    *part_corr = h;
                if (*part_corr == h) {
                    n_seen++;
                    continue;
                }
            }
            if (corr_already_added(b, seen[n_seen], len, kind, ref, ref_len, day)) {
                n_seen++;
                continue;
            }
            r = opg_batch_row(b, OPG_STREAM_CORRELATIONS, CORRELATION_COLUMNS);
            opg_copy_text(r, seen[n_seen], len);
            opg_copy_int4(r, day);
            opg_copy_int2(r, (int16_t)kind);
            opg_copy_bytes(r, ref, ref_len);
            opg_copy_int8(r, time_ns);
            n_seen++;
        }
    }
}

void opg_batch_add_correlations(struct opg_batch *b, const struct opg_ingest_opts *o,
                                Opentelemetry__Proto__Common__V1__KeyValue *const *attrs,
                                size_t n_attrs,
                                const Opentelemetry__Proto__Resource__V1__Resource *res, int kind,
                                const uint8_t *ref, size_t ref_len, int64_t time_ns, int32_t day)
{
    add_correlations(b, o, attrs, n_attrs, res, kind, ref, ref_len, time_ns, day, NULL);
}

void opg_batch_add_part_correlations(struct opg_batch *b, const struct opg_ingest_opts *o,
                                     Opentelemetry__Proto__Common__V1__KeyValue *const *attrs,
                                     size_t n_attrs,
                                     const Opentelemetry__Proto__Resource__V1__Resource *res,
                                     const uint8_t *trace_id, int64_t time_ns, int32_t day,
                                     uint64_t *part_corr)
{
    add_correlations(b, o, attrs, n_attrs, res, OPG_CORR_TRACE, trace_id, 16, time_ns, day,
                     part_corr);
}
