#include "spool.h"
#include "log.h"
#include "stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define RECORD_MAGIC  0x5347504fu /* "OPGS" */
#define HEADER_LEN    12          /* magic, length, CRC-32: three little-endian u32 */
#define MAX_RECORD    (1u << 30)
#define FEED_RETRY_MS 20

/* One segment file. Records are appended by the appender, read by the feeder. */
struct segment {
    uint64_t seq;
    int fd;           /* the appender's descriptor (the active segment only) */
    uint64_t durable; /* bytes known to be on disk */
    uint64_t read;    /* bytes the feeder has consumed */
    bool sealed;      /* no more appends */
    bool fully_read;  /* the feeder is past its end (or skipped a torn tail) */
    uint64_t fed;     /* records handed to the writer */
    uint64_t done;    /* of those, finished (committed or dead) */
    struct segment *next;
};

struct pending {
    struct pending *next;
    struct opg_buf bytes; /* the serialized batch */
    opg_spool_done_fn *done;
    void *ctx;
};

struct opg_spool {
    struct opg_spool_config cfg;
    struct opg_writer *writer;
    int dirfd;
    pthread_mutex_t lock;
    pthread_cond_t work;    /* appender: pending appends; feeder: new durable bytes */
    pthread_cond_t settled; /* close: a record finished */
    struct pending *head, *tail;
    size_t pending_bytes;
    struct segment *segs, *active; /* oldest first; active is the last */
    uint64_t disk_bytes;
    bool stopping;     /* no new appends */
    bool stop_feeding; /* the feeder stops */
    pthread_t appender, feeder;
};

static struct opg_metric m_bytes =
    OPG_METRIC_INIT("otelpg_spool_bytes", NULL, OPG_GAUGE, "Bytes of spool segments on disk.");
static struct opg_metric m_segments =
    OPG_METRIC_INIT("otelpg_spool_segments", NULL, OPG_GAUGE, "Spool segment files on disk.");
static struct opg_metric m_appended = OPG_METRIC_INIT(
    "otelpg_spool_appended_records_total", NULL, OPG_COUNTER, "Batches made durable in the spool.");
static struct opg_metric m_fed = OPG_METRIC_INIT(
    "otelpg_spool_fed_records_total", NULL, OPG_COUNTER,
    "Spooled batches handed to the PostgreSQL writer (replays after a restart included).");
static struct opg_metric m_torn = OPG_METRIC_INIT(
    "otelpg_spool_torn_records_total", NULL, OPG_COUNTER,
    "Records found torn or corrupt (never acknowledged: a crash hit their write); skipped.");
static struct opg_metric m_dead =
    OPG_METRIC_INIT("otelpg_spool_dead_records_total", NULL, OPG_COUNTER,
                    "Spooled batches PostgreSQL refused for their data; dropped after logging.");
static struct opg_metric m_full = OPG_METRIC_INIT("otelpg_spool_refused_total", NULL, OPG_COUNTER,
                                                  "Appends refused: the disk budget was used up.");
static struct opg_metric m_io_errors = OPG_METRIC_INIT(
    "otelpg_spool_io_errors_total", NULL, OPG_COUNTER, "Failed spool writes or fsyncs.");
static struct opg_histogram h_fsync =
    OPG_HISTOGRAM_INIT("otelpg_spool_fsync_seconds", NULL, "Time of one group write + fdatasync.");

static void register_metrics(void)
{
    static bool done;

    if (done)
        return;
    done = true;
    opg_stats_register(&m_bytes);
    opg_stats_register(&m_segments);
    opg_stats_register(&m_appended);
    opg_stats_register(&m_fed);
    opg_stats_register(&m_torn);
    opg_stats_register(&m_dead);
    opg_stats_register(&m_full);
    opg_stats_register(&m_io_errors);
    opg_stats_register_histogram(&h_fsync);
}

static void seg_name(char *out, size_t n, uint64_t seq)
{
    snprintf(out, n, "%020" PRIu64 ".seg", seq);
}

/* Under the lock. */
static void update_gauges(struct opg_spool *s)
{
    int64_t n = 0;

    for (struct segment *g = s->segs; g; g = g->next)
        n++;
    opg_stats_set(&m_bytes, (int64_t)s->disk_bytes);
    opg_stats_set(&m_segments, n);
}

/* Under the lock: deletes seg if everything in it is committed and it can
 * take no more records. */
static void maybe_delete(struct opg_spool *s, struct segment *seg)
{
    char name[32];
    struct segment **pp;

    if (!seg->sealed || !seg->fully_read || seg->done != seg->fed)
        return;
    seg_name(name, sizeof(name), seg->seq);
    if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
        opg_warn("spool: cannot delete %s: %s", name, strerror(errno));
    for (pp = &s->segs; *pp != seg; pp = &(*pp)->next)
        ;
    *pp = seg->next;
    s->disk_bytes -= seg->durable;
    if (seg->fd >= 0)
        close(seg->fd);
    free(seg);
    update_gauges(s);
    pthread_cond_broadcast(&s->settled);
}

/* Under the lock: a new active segment after the last one. */
static int new_segment(struct opg_spool *s)
{
    struct segment *g = opg_xcalloc(1, sizeof(*g));
    char name[32];

    g->seq = s->active ? s->active->seq + 1 : 1;
    seg_name(name, sizeof(name), g->seq);
    g->fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (g->fd < 0) {
        opg_error("spool: cannot create %s: %s", name, strerror(errno));
        free(g);
        return -1;
    }
    /* the new name must survive a crash too */
    fsync(s->dirfd);
    if (s->active) {
        s->active->sealed = true;
        if (s->active->fd >= 0)
            close(s->active->fd);
        s->active->fd = -1;
        s->active->next = g;
        maybe_delete(s, s->active);
    } else {
        s->segs = g;
    }
    s->active = g;
    update_gauges(s);
    return 0;
}

/* ---- the appender ------------------------------------------------------------ */

int opg_spool_append(struct opg_spool *s, struct opg_batch *batch, opg_spool_done_fn *done,
                     void *ctx)
{
    struct pending *p = opg_xcalloc(1, sizeof(*p));

    opg_batch_serialize(batch, &p->bytes);
    pthread_mutex_lock(&s->lock);
    if (s->stopping || s->disk_bytes + s->pending_bytes + p->bytes.len > s->cfg.max_bytes) {
        if (!s->stopping)
            opg_stats_add(&m_full, 1);
        pthread_mutex_unlock(&s->lock);
        opg_buf_release(&p->bytes);
        free(p);
        return -1;
    }
    p->done = done;
    p->ctx = ctx;
    s->pending_bytes += p->bytes.len;
    if (s->tail)
        s->tail->next = p;
    else
        s->head = p;
    s->tail = p;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    opg_batch_release(batch);
    opg_batch_init(batch, batch->signal);
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/*
 * Writes a group of records to the active segment and makes them durable
 * with one fdatasync. On failure the segment is cut back to its last durable
 * length, so that it never holds a record that was not acknowledged as
 * written... except a torn one after a crash, which replay skips.
 */
static int write_group(struct opg_spool *s, struct pending *group, struct segment **seg)
{
    int64_t t0 = opg_now_mono_ns();
    struct segment *g;
    uint64_t written = 0;

    pthread_mutex_lock(&s->lock);
    if (s->active->durable >= s->cfg.segment_bytes && new_segment(s) < 0) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    g = s->active;
    pthread_mutex_unlock(&s->lock);

    for (struct pending *p = group; p; p = p->next) {
        uint8_t hdr[HEADER_LEN];

        put_u32le(hdr, RECORD_MAGIC);
        put_u32le(hdr + 4, (uint32_t)p->bytes.len);
        put_u32le(hdr + 8, (uint32_t)crc32(0L, (const Bytef *)p->bytes.data, (uInt)p->bytes.len));
        if (write_all(g->fd, hdr, HEADER_LEN) < 0 ||
            write_all(g->fd, p->bytes.data, p->bytes.len) < 0)
            goto out_undo;
        written += HEADER_LEN + p->bytes.len;
    }
    if (fdatasync(g->fd) < 0)
        goto out_undo;
    opg_stats_observe_ns(&h_fsync, opg_now_mono_ns() - t0);
    pthread_mutex_lock(&s->lock);
    g->durable += written;
    s->disk_bytes += written;
    update_gauges(s);
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    *seg = g;
    return 0;

out_undo:
    opg_stats_add(&m_io_errors, 1);
    OPG_LOG_EVERY(10, OPG_LOG_ERROR, "spool: writing segment %" PRIu64 ": %s", g->seq,
                  strerror(errno));
    if (ftruncate(g->fd, (off_t)g->durable) < 0 || lseek(g->fd, (off_t)g->durable, SEEK_SET) < 0)
        opg_error("spool: cannot cut segment %" PRIu64 " back: %s", g->seq, strerror(errno));
    return -1;
}

static void *appender_main(void *arg)
{
    struct opg_spool *s = arg;

    for (;;) {
        struct pending *group, *next;
        struct segment *seg = NULL;
        size_t bytes = 0;
        int status, n = 0;

        pthread_mutex_lock(&s->lock);
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work, &s->lock);
        group = s->head;
        if (!group) {
            pthread_mutex_unlock(&s->lock);
            break; /* stopping and nothing left to write */
        }
        s->head = s->tail = NULL;
        for (struct pending *p = group; p; p = p->next)
            bytes += p->bytes.len;
        pthread_mutex_unlock(&s->lock);

        status = write_group(s, group, &seg);

        pthread_mutex_lock(&s->lock);
        s->pending_bytes -= bytes;
        pthread_mutex_unlock(&s->lock);
        for (struct pending *p = group; p; p = next) {
            next = p->next;
            p->done(p->ctx, status);
            opg_buf_release(&p->bytes);
            free(p);
            n++;
        }
        if (status == 0)
            opg_stats_add(&m_appended, n);
    }
    return NULL;
}

/* ---- the feeder ---------------------------------------------------------------- */

struct feed_ref {
    struct opg_spool *spool;
    struct segment *seg;
};

static void feed_done(void *ctx, int status)
{
    struct feed_ref *ref = ctx;
    struct opg_spool *s = ref->spool;

    if (status != 0) {
        bool stopping;

        /* The writer gives up on a batch when PostgreSQL refuses its data, or
         * at shutdown with the database gone: then the feeder has stopped and
         * the record stays in its segment, uncounted, for the next start. */
        pthread_mutex_lock(&s->lock);
        stopping = s->stop_feeding;
        pthread_mutex_unlock(&s->lock);
        if (stopping) {
            free(ref);
            return;
        }
        opg_stats_add(&m_dead, 1);
        opg_error("spool: PostgreSQL refused a spooled batch's data; dropping it");
    }
    pthread_mutex_lock(&s->lock);
    ref->seg->done++;
    maybe_delete(s, ref->seg);
    pthread_cond_broadcast(&s->settled);
    pthread_mutex_unlock(&s->lock);
    free(ref);
}

static int read_exact(int fd, void *buf, size_t n, uint64_t off)
{
    char *c = buf;

    while (n) {
        ssize_t r = pread(fd, c, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Reads the record at seg->read (the caller saw durable bytes there) into
 * batch. Returns 0, or -1 for a torn or corrupt record (the rest of the
 * segment is then skipped).
 */
static int read_record(struct opg_spool *s, struct segment *seg, uint64_t durable,
                       struct opg_batch *batch, uint64_t *len)
{
    char name[32];
    uint8_t hdr[HEADER_LEN];
    struct opg_buf payload = OPG_BUF_INIT;
    uint32_t n;
    int fd, ret = -1;

    seg_name(name, sizeof(name), seg->seq);
    fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (durable - seg->read < HEADER_LEN || read_exact(fd, hdr, HEADER_LEN, seg->read) < 0 ||
        get_u32le(hdr) != RECORD_MAGIC)
        goto out_close;
    n = get_u32le(hdr + 4);
    if (n > MAX_RECORD || durable - seg->read - HEADER_LEN < n)
        goto out_close;
    opg_buf_grow(&payload, n);
    if (read_exact(fd, payload.data, n, seg->read + HEADER_LEN) < 0 ||
        (uint32_t)crc32(0L, (const Bytef *)payload.data, n) != get_u32le(hdr + 8))
        goto out_close;
    opg_batch_init(batch, OPG_SIGNAL_TRACES);
    if (opg_batch_deserialize(batch, payload.data, n) < 0) {
        opg_batch_release(batch);
        goto out_close;
    }
    *len = HEADER_LEN + (uint64_t)n;
    ret = 0;
out_close:
    opg_buf_release(&payload);
    close(fd);
    return ret;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *feeder_main(void *arg)
{
    struct opg_spool *s = arg;

    pthread_mutex_lock(&s->lock);
    while (!s->stop_feeding) {
        struct segment *seg;
        struct opg_batch batch;
        uint64_t durable, len = 0;

        for (seg = s->segs; seg && seg->fully_read; seg = seg->next)
            ;
        if (!seg || (seg->read >= seg->durable && !seg->sealed)) {
            pthread_cond_wait(&s->work, &s->lock);
            continue;
        }
        if (seg->read >= seg->durable) { /* sealed and all read */
            seg->fully_read = true;
            maybe_delete(s, seg);
            continue;
        }
        durable = seg->durable;
        pthread_mutex_unlock(&s->lock);

        if (read_record(s, seg, durable, &batch, &len) < 0) {
            opg_stats_add(&m_torn, 1);
            opg_warn("spool: torn or corrupt record in segment %" PRIu64 " at byte %" PRIu64
                     "; skipping the rest of the segment",
                     seg->seq, seg->read);
            pthread_mutex_lock(&s->lock);
            seg->read = seg->durable;
            if (seg->sealed) {
                seg->fully_read = true;
                maybe_delete(s, seg);
            } else {
                /* the active segment: later records go to a new one */
                new_segment(s);
            }
            continue;
        }
        for (;;) {
            struct feed_ref *ref = opg_xcalloc(1, sizeof(*ref));
            bool stop;

            ref->spool = s;
            ref->seg = seg;
            pthread_mutex_lock(&s->lock);
            seg->fed++;
            pthread_mutex_unlock(&s->lock);
            if (opg_writer_submit(s->writer, &batch, feed_done, ref) == 0)
                break;
            pthread_mutex_lock(&s->lock);
            seg->fed--;
            stop = s->stop_feeding;
            pthread_mutex_unlock(&s->lock);
            free(ref);
            if (stop) {
                opg_batch_release(&batch);
                pthread_mutex_lock(&s->lock);
                goto out;
            }
            sleep_ms(FEED_RETRY_MS); /* the writer's queue is full */
        }
        opg_batch_release(&batch);
        opg_stats_add(&m_fed, 1);
        pthread_mutex_lock(&s->lock);
        seg->read += len;
    }
out:
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- open, close ------------------------------------------------------------------ */

static int seq_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Takes the segments left by an earlier run, oldest first, for replay. */
static int load_segments(struct opg_spool *s)
{
    DIR *d = fdopendir(dup(s->dirfd));
    struct dirent *e;
    uint64_t *seqs = NULL;
    size_t n = 0, cap = 0;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        uint64_t seq;
        char tail[8];
        if (sscanf(e->d_name, "%20" SCNu64 "%7s", &seq, tail) != 2 || strcmp(tail, ".seg"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            seqs = opg_xrealloc(seqs, cap * sizeof(*seqs));
        }
        seqs[n++] = seq;
    }
    closedir(d);
    if (n)
        qsort(seqs, n, sizeof(*seqs), seq_cmp);
    for (size_t i = 0; i < n; i++) {
        struct segment *g = opg_xcalloc(1, sizeof(*g));
        char name[32];
        struct stat st;

        g->seq = seqs[i];
        g->fd = -1;
        g->sealed = true;
        seg_name(name, sizeof(name), g->seq);
        if (fstatat(s->dirfd, name, &st, 0) == 0)
            g->durable = (uint64_t)st.st_size;
        s->disk_bytes += g->durable;
        if (s->active)
            s->active->next = g;
        else
            s->segs = g;
        s->active = g;
    }
    if (n)
        opg_info("spool: %zu segment(s), %" PRIu64 " bytes left by an earlier run; replaying", n,
                 s->disk_bytes);
    free(seqs);
    return 0;
}

struct opg_spool *opg_spool_open(const struct opg_spool_config *cfg, struct opg_writer *writer)
{
    struct opg_spool *s = opg_xcalloc(1, sizeof(*s));

    register_metrics();
    s->cfg = *cfg;
    s->writer = writer;
    if (mkdir(cfg->dir, 0700) < 0 && errno != EEXIST) {
        opg_error("spool: cannot create %s: %s", cfg->dir, strerror(errno));
        goto out_free;
    }
    s->dirfd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        opg_error("spool: cannot open %s: %s", cfg->dir, strerror(errno));
        goto out_free;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->settled, NULL);
    if (load_segments(s) < 0 || new_segment(s) < 0)
        goto out_close;
    if (pthread_create(&s->appender, NULL, appender_main, s) != 0)
        goto out_close;
    if (pthread_create(&s->feeder, NULL, feeder_main, s) != 0) {
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_broadcast(&s->work);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->appender, NULL);
        goto out_close;
    }
    return s;

out_close:
    close(s->dirfd);
out_free:
    free(s);
    return NULL;
}

size_t opg_spool_bytes(struct opg_spool *s)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = (size_t)s->disk_bytes;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Under the lock. */
static bool caught_up(struct opg_spool *s)
{
    for (struct segment *g = s->segs; g; g = g->next)
        if (g->read < g->durable || g->done != g->fed)
            return false;
    return true;
}

bool opg_spool_caught_up(struct opg_spool *s)
{
    bool r;

    pthread_mutex_lock(&s->lock);
    r = caught_up(s);
    pthread_mutex_unlock(&s->lock);
    return r;
}

void opg_spool_close(struct opg_spool *s, long long drain_ms)
{
    int64_t deadline = opg_now_mono_ns() + drain_ms * 1000000LL;

    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->appender, NULL); /* everything queued is written and answered */

    pthread_mutex_lock(&s->lock);
    while (!caught_up(s) && opg_now_mono_ns() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->settled, &s->lock, &ts);
    }
    if (!caught_up(s))
        opg_warn("spool: stopping with %" PRIu64 " bytes not yet in PostgreSQL; they are kept "
                 "on disk and replayed at the next start",
                 s->disk_bytes);
    s->stop_feeding = true;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->feeder, NULL);
}

void opg_spool_destroy(struct opg_spool *s)
{
    struct segment *g, *next;

    if (!s)
        return;
    for (g = s->segs; g; g = next) {
        next = g->next;
        if (g->fd >= 0)
            close(g->fd);
        free(g);
    }
    close(s->dirfd);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->settled);
    free(s);
}
