#include "dicts.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "batch.h"
#include "log.h"

/*
 * Every dictionary starts with these 8 bytes: never zstd's dictionary
 * magic, so zstd always takes our bytes as raw content.
 */
#define DICT_MAGIC     "otelpgD1"
#define DICT_MAGIC_LEN 8
/* A dictionary's size at most: zstd level 1 looks back 2^19 bytes, far more. */
#define DICT_MAX (64 * 1024)
/* Forms smaller than this teach little; larger ones would fill a dictionary alone. */
#define SAMPLE_MIN 1024
#define SAMPLE_MAX (32 * 1024)
/* Once there is a dictionary, one form in this many is a sample. */
#define SAMPLE_EVERY 64
/*
 * A dictionary made of samples is replaced after this long (traffic
 * changes); dictionaries are never deleted, so not much more often.
 */
#define ROTATE_NS (86400LL * 1000000000LL)
/* Dictionaries the registry keeps when no one uses them (readers' cache). */
#define CACHE_MAX 64

struct opg_dict {
    uint64_t id;
    uint8_t *bytes;
    size_t len;
    int level; /* of cdict; cdict is NULL for dictionaries loaded to decode */
    ZSTD_CDict *cdict;
    _Atomic(ZSTD_DDict *) ddict; /* made on first use */
    atomic_int refs;
    atomic_bool stored; /* its block_dicts row is known to be committed */
    bool from_one;      /* made of a single form: the first of a process */
    int64_t made_ns;
    uint64_t used; /* the registry's tick when last found */
    struct opg_dict *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct opg_dict *all; /* what the registry holds, a reference each */
static size_t n_all;
static struct opg_dict *current; /* the encoders' (in all) */
static atomic_bool have_current;
static uint64_t tick;
static struct opg_buf pool = OPG_BUF_INIT; /* samples for the next dictionary */
static atomic_uint_fast64_t n_forms;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static char *conninfo; /* under load_lock, as conn */
static PGconn *conn;

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint64_t opg_dict_id(const struct opg_dict *d)
{
    return d->id;
}

static void dict_free(struct opg_dict *d)
{
    ZSTD_freeCDict(d->cdict);
    ZSTD_freeDDict(atomic_load(&d->ddict));
    free(d->bytes);
    free(d);
}

void opg_dict_release(struct opg_dict *d)
{
    if (d && atomic_fetch_sub(&d->refs, 1) == 1)
        dict_free(d);
}

/* A dictionary of bytes[0..len), which start with DICT_MAGIC; takes bytes. */
static struct opg_dict *dict_new(uint8_t *bytes, size_t len, uint64_t id)
{
    struct opg_dict *d = opg_xcalloc(1, sizeof(*d));

    d->id = id;
    d->bytes = bytes;
    d->len = len;
    d->made_ns = now_ns();
    atomic_init(&d->refs, 1);
    return d;
}

/*
 * Puts d (with its one reference) in the registry, where it gets a second
 * one; returns d, or the entry of that name already there (d is then
 * dropped). Under lock. Evicts the least recently found unused entry past
 * CACHE_MAX.
 */
static struct opg_dict *registry_add(struct opg_dict *d)
{
    struct opg_dict **victim = NULL;

    for (struct opg_dict *e = all; e; e = e->next) {
        if (e->id == d->id) {
            atomic_fetch_add(&e->refs, 1);
            e->used = ++tick;
            opg_dict_release(d);
            return e;
        }
    }
    atomic_fetch_add(&d->refs, 1);
    d->used = ++tick;
    d->next = all;
    all = d;
    if (++n_all <= CACHE_MAX)
        return d;
    for (struct opg_dict **pe = &all; *pe; pe = &(*pe)->next) {
        struct opg_dict *e = *pe;

        if (e != current && e != d && atomic_load(&e->refs) == 1 &&
            (!victim || e->used < (*victim)->used))
            victim = pe;
    }
    if (victim) {
        struct opg_dict *e = *victim;

        *victim = e->next;
        n_all--;
        opg_dict_release(e);
    }
    return d;
}

/* Loads dictionary id from block_dicts; NULL if absent or unreachable. */
static struct opg_dict *load(uint64_t id)
{
    char idtext[24];
    const char *values[1] = {idtext};
    PGresult *res;
    struct opg_dict *d = NULL;

    pthread_mutex_lock(&load_lock);
    if (!conninfo)
        goto out;
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        conn = PQconnectdb(conninfo);
        if (PQstatus(conn) != CONNECTION_OK) {
            OPG_LOG_EVERY(10, OPG_LOG_WARN, "dictionaries: cannot connect: %s",
                          PQerrorMessage(conn));
            PQfinish(conn);
            conn = NULL;
            goto out;
        }
    }
    snprintf(idtext, sizeof(idtext), "%" PRId64, (int64_t)id);
    res = PQexecParams(conn, "SELECT content FROM block_dicts WHERE id = $1", 1, NULL, values, NULL,
                       NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "dictionaries: loading %016" PRIx64 ": %s", id,
                      PQerrorMessage(conn));
    } else if (PQntuples(res) == 1) {
        size_t len = (size_t)PQgetlength(res, 0, 0);
        const char *v = PQgetvalue(res, 0, 0);

        if (len >= DICT_MAGIC_LEN && opg_hash64_wide(v, len) == id) {
            uint8_t *bytes = opg_xmalloc(len);

            memcpy(bytes, v, len);
            d = dict_new(bytes, len, id);
        } else {
            OPG_LOG_EVERY(10, OPG_LOG_WARN,
                          "dictionaries: block_dicts row %016" PRIx64 " does not match its name",
                          id);
        }
    }
    PQclear(res);
out:
    pthread_mutex_unlock(&load_lock);
    return d;
}

struct opg_dict *opg_dict_find(uint64_t id)
{
    struct opg_dict *d;

    pthread_mutex_lock(&lock);
    for (d = all; d; d = d->next) {
        if (d->id == id) {
            atomic_fetch_add(&d->refs, 1);
            d->used = ++tick;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    if (d || !(d = load(id)))
        return d;
    pthread_mutex_lock(&lock);
    d = registry_add(d);
    pthread_mutex_unlock(&lock);
    return d;
}

void opg_dicts_set_database(const char *info)
{
    pthread_mutex_lock(&load_lock);
    free(conninfo);
    conninfo = info ? opg_xstrdup(info) : NULL;
    PQfinish(conn);
    conn = NULL;
    pthread_mutex_unlock(&load_lock);
}

struct opg_dict *opg_dict_current(int level)
{
    struct opg_dict *d = NULL;

    if (!atomic_load_explicit(&have_current, memory_order_relaxed))
        return NULL;
    pthread_mutex_lock(&lock);
    if (current && current->level == level) {
        d = current;
        atomic_fetch_add(&d->refs, 1);
    }
    pthread_mutex_unlock(&lock);
    return d;
}

/* Makes the encoders' dictionary of p[0..n) (samples); under lock. */
static void make_current(const void *p, size_t n, int level, bool from_one)
{
    uint8_t *bytes = opg_xmalloc(DICT_MAGIC_LEN + n);
    struct opg_dict *d;
    uint64_t id;

    memcpy(bytes, DICT_MAGIC, DICT_MAGIC_LEN);
    memcpy(bytes + DICT_MAGIC_LEN, p, n);
    id = opg_hash64_wide(bytes, DICT_MAGIC_LEN + n);
    d = dict_new(bytes, DICT_MAGIC_LEN + n, id);
    d->level = level;
    d->from_one = from_one;
    d->cdict = ZSTD_createCDict(bytes, d->len, level);
    if (!d->cdict || !id) {
        opg_dict_release(d);
        return;
    }
    d = registry_add(d);
    if (!d->cdict) { /* the same bytes were loaded to decode before */
        opg_dict_release(d);
        return;
    }
    if (current)
        opg_dict_release(current);
    current = d; /* the reference registry_add gave */
    atomic_store(&have_current, true);
    opg_debug("dictionaries: now %016" PRIx64 " (%zu bytes%s)", id, d->len,
              from_one ? ", one form" : "");
}

void opg_dict_sample(const void *p, size_t n, int level)
{
    if (n < SAMPLE_MIN || n > SAMPLE_MAX)
        return;
    if (atomic_load_explicit(&have_current, memory_order_relaxed) &&
        atomic_fetch_add_explicit(&n_forms, 1, memory_order_relaxed) % SAMPLE_EVERY)
        return;
    pthread_mutex_lock(&lock);
    if (!current || current->level != level) {
        /* the first dictionary: one form, so that blocks gain at once */
        make_current(p, n, level, true);
    } else {
        if (pool.len + n > DICT_MAX - DICT_MAGIC_LEN) {
            /* a full pool: the next dictionary if it is due, else start over (keep it recent) */
            if (current->from_one || now_ns() - current->made_ns >= ROTATE_NS)
                make_current(pool.data, pool.len, level, false);
            opg_buf_reset(&pool);
        }
        opg_buf_add(&pool, p, n);
    }
    pthread_mutex_unlock(&lock);
}

const void *opg_dict_cdict(const struct opg_dict *d)
{
    return d->cdict;
}

const void *opg_dict_ddict(struct opg_dict *d)
{
    ZSTD_DDict *dd = atomic_load(&d->ddict), *expected = NULL;

    if (dd)
        return dd;
    dd = ZSTD_createDDict(d->bytes, d->len);
    if (!dd)
        return NULL;
    if (!atomic_compare_exchange_strong(&d->ddict, &expected, dd)) {
        ZSTD_freeDDict(dd); /* another thread made it first */
        dd = expected;
    }
    return dd;
}

/*
 * The block_dicts rows of b: calls fn with each one's name. A row is the
 * binary COPY tuple opg_batch_add_dict wrote.
 */
static void each_row(const struct opg_batch *b, void (*fn)(uint64_t id, void *ctx), void *ctx)
{
    const uint8_t *p = (const uint8_t *)b->rows[OPG_STREAM_DICTS].data;
    const uint8_t *end = p + b->rows[OPG_STREAM_DICTS].len;

    /* field count (2 bytes), id (length 8 and 8 bytes), content (length and bytes) */
    while (end - p >= 2 + 4 + 8 + 4) {
        uint64_t id = 0;
        uint32_t len;

        for (int i = 0; i < 8; i++)
            id = id << 8 | p[6 + i];
        len = (uint32_t)p[14] << 24 | (uint32_t)p[15] << 16 | (uint32_t)p[16] << 8 | p[17];
        if ((size_t)(end - p) - 18 < len)
            return;
        fn(id, ctx);
        p += 18 + len;
    }
}

static void is_it(uint64_t id, void *ctx)
{
    uint64_t *want = ctx;

    if (*want == id)
        *want = 0;
}

void opg_batch_add_dict(struct opg_batch *b, const struct opg_dict *d)
{
    uint64_t want;
    struct opg_buf *r;

    if (!d || atomic_load(&((struct opg_dict *)d)->stored))
        return;
    want = d->id;
    each_row(b, is_it, &want);
    if (!want)
        return;
    r = opg_batch_row(b, OPG_STREAM_DICTS, 2);
    opg_copy_int8(r, (int64_t)d->id);
    opg_copy_bytes(r, d->bytes, d->len);
}

static void mark_stored(uint64_t id, void *ctx)
{
    (void)ctx;
    for (struct opg_dict *d = all; d; d = d->next)
        if (d->id == id)
            atomic_store(&d->stored, true);
}

void opg_dicts_committed(const struct opg_batch *b)
{
    if (!b->rows[OPG_STREAM_DICTS].len)
        return;
    pthread_mutex_lock(&lock);
    each_row(b, mark_stored, NULL);
    pthread_mutex_unlock(&lock);
}

void opg_dicts_reset(void)
{
    pthread_mutex_lock(&lock);
    if (current)
        opg_dict_release(current);
    current = NULL;
    atomic_store(&have_current, false);
    for (struct opg_dict **pe = &all; *pe;) {
        struct opg_dict *e = *pe;

        if (atomic_load(&e->refs) == 1) {
            *pe = e->next;
            n_all--;
            opg_dict_release(e);
        } else {
            pe = &e->next;
        }
    }
    opg_buf_reset(&pool);
    atomic_store(&n_forms, 0);
    pthread_mutex_unlock(&lock);
}
