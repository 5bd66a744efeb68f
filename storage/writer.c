#include "writer.h"
#include "dicts.h"
#include "log.h"
#include "stats.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000

struct write_item {
    struct write_item *next;
    struct opg_batch batch;
    opg_write_done_fn *done;
    void *ctx;
    size_t bytes;
    int64_t queued_ns;
};

/* parameters of the spans statement: blocks 4, parts 14, RED 10, correlations 5,
 * operations 3, dictionaries 2 (array_streams below) */
#define N_ARRAY_PARAMS (4 + 14 + 10 + 5 + 3 + 2)

struct writer_thread {
    struct opg_writer *w;
    pthread_t tid;
    PGconn *conn;
    struct opg_buf cols[N_ARRAY_PARAMS]; /* the statement's arrays, kept between statements */
    int32_t days[64];                    /* partitions known to exist (a small cache) */
    int n_days;
    int txns_since_truncate;
};

struct opg_writer {
    struct opg_writer_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct write_item *head, *tail;
    size_t queued_bytes;
    size_t queued_items;
    bool stopping;
    bool drained;
    int64_t drain_deadline_ns; /* once stopping: give up on the database after this */
    struct writer_thread *threads;
};

static struct opg_metric m_stored[3] = {
    OPG_METRIC_INIT("otelpg_stored_items_total", "signal=\"traces\"", OPG_COUNTER,
                    "Items committed to PostgreSQL."),
    OPG_METRIC_INIT("otelpg_stored_items_total", "signal=\"logs\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_stored_items_total", "signal=\"metrics\"", OPG_COUNTER, ""),
};
static struct opg_metric m_failed[3] = {
    OPG_METRIC_INIT("otelpg_write_failed_items_total", "signal=\"traces\"", OPG_COUNTER,
                    "Items that could not be stored (their request was answered with an error)."),
    OPG_METRIC_INIT("otelpg_write_failed_items_total", "signal=\"logs\"", OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_write_failed_items_total", "signal=\"metrics\"", OPG_COUNTER, ""),
};
static struct opg_metric m_txns = OPG_METRIC_INIT("otelpg_write_transactions_total", NULL,
                                                  OPG_COUNTER, "Write transactions committed.");
static struct opg_metric m_careful =
    OPG_METRIC_INIT("otelpg_write_careful_total", NULL, OPG_COUNTER,
                    "Transactions written again with the careful spans statement, because the "
                    "fast one met a block stored already (a replay, a retry, an ID collision).");
static struct opg_metric m_db_errors = OPG_METRIC_INIT(
    "otelpg_db_errors_total", "component=\"writer\"", OPG_COUNTER, "Failed database operations.");
static struct opg_metric m_queue_bytes =
    OPG_METRIC_INIT("otelpg_queue_bytes", NULL, OPG_GAUGE, "Encoded bytes waiting to be written.");
static struct opg_metric m_queue_items =
    OPG_METRIC_INIT("otelpg_queue_batches", NULL, OPG_GAUGE, "Requests waiting to be written.");
static struct opg_metric m_batch_items = OPG_METRIC_INIT(
    "otelpg_write_batch_items_total", NULL, OPG_COUNTER,
    "Requests written, summed over transactions (divide by transactions for the batch size).");
static struct opg_histogram h_write = OPG_HISTOGRAM_INIT(
    "otelpg_write_duration_seconds", NULL, "Time from BEGIN to COMMIT of a write transaction.");
static struct opg_histogram h_queue_wait = OPG_HISTOGRAM_INIT(
    "otelpg_queue_wait_seconds", NULL, "Time a request waited in the queue before its commit.");

static void register_metrics(void)
{
    static bool done;

    if (done)
        return;
    done = true;
    for (int i = 0; i < 3; i++)
        opg_stats_register(&m_stored[i]);
    for (int i = 0; i < 3; i++)
        opg_stats_register(&m_failed[i]);
    opg_stats_register(&m_txns);
    opg_stats_register(&m_batch_items);
    opg_stats_register(&m_db_errors);
    opg_stats_register(&m_careful);
    opg_stats_register(&m_queue_bytes);
    opg_stats_register(&m_queue_items);
    opg_stats_register_histogram(&h_write);
    opg_stats_register_histogram(&h_queue_wait);
}

/* ---- the queue ---------------------------------------------------------- */

int opg_writer_submit(struct opg_writer *w, struct opg_batch *batch, opg_write_done_fn *done,
                      void *ctx)
{
    size_t bytes = opg_batch_bytes(batch) + sizeof(struct write_item);
    struct write_item *it;

    pthread_mutex_lock(&w->lock);
    if (w->stopping || (w->queued_items && w->queued_bytes + bytes > w->cfg.queue_max_bytes)) {
        pthread_mutex_unlock(&w->lock);
        return -1;
    }
    it = opg_xcalloc(1, sizeof(*it));
    it->batch = *batch;
    opg_batch_init(batch, batch->signal);
    it->done = done;
    it->ctx = ctx;
    it->bytes = bytes;
    it->queued_ns = opg_now_mono_ns();
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    w->queued_bytes += bytes;
    w->queued_items++;
    opg_stats_set(&m_queue_bytes, (int64_t)w->queued_bytes);
    opg_stats_set(&m_queue_items, (int64_t)w->queued_items);
    pthread_cond_signal(&w->nonempty);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

size_t opg_writer_queued_bytes(struct opg_writer *w)
{
    size_t n;

    pthread_mutex_lock(&w->lock);
    n = w->queued_bytes;
    pthread_mutex_unlock(&w->lock);
    return n;
}

/* Takes up to txn_max_bytes of batches (at least one); NULL once stopped and empty. */
static struct write_item *take(struct opg_writer *w)
{
    struct write_item *first, *last;
    size_t bytes;

    pthread_mutex_lock(&w->lock);
    while (!w->head && !w->stopping)
        pthread_cond_wait(&w->nonempty, &w->lock);
    first = w->head;
    if (!first) {
        pthread_mutex_unlock(&w->lock);
        return NULL;
    }
    last = first;
    bytes = first->bytes;
    w->queued_items--;
    while (last->next && bytes + last->next->bytes <= w->cfg.txn_max_bytes) {
        last = last->next;
        bytes += last->bytes;
        w->queued_items--;
    }
    w->head = last->next;
    if (!w->head)
        w->tail = NULL;
    last->next = NULL;
    w->queued_bytes -= bytes;
    opg_stats_set(&m_queue_bytes, (int64_t)w->queued_bytes);
    opg_stats_set(&m_queue_items, (int64_t)w->queued_items);
    pthread_mutex_unlock(&w->lock);
    return first;
}

static void finish(struct write_item *it, int status)
{
    opg_batch_release(&it->batch);
    it->done(it->ctx, status);
    free(it);
}

/* ---- the database side ---------------------------------------------------- */

static const char COPY_HEADER[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
#define COPY_HEADER_LEN 19

/*
 * One entry per batch stream (batch.h), in merge order: a session-private
 * staging table that COPY fills, and the statement that moves its rows into
 * the real tables. Every merge is idempotent (ON CONFLICT DO NOTHING, or a
 * summary merged from the rows really inserted), so a replayed or retried
 * request stores nothing twice. Rows are ordered by key where two writers
 * could lock the same rows, so that they lock them in one order.
 */
struct stream_sql {
    const char *stage;
    const char *create;
    const char *merge;
};

static const struct stream_sql streams[OPG_STREAM_COUNT] = {
    [OPG_STREAM_ORIGINS] =
        {"origins_stage", "(id bigint, service text, body bytea)",
         "INSERT INTO origins (id, service, body)"
         " SELECT DISTINCT ON (id) id, service, body FROM origins_stage ORDER BY id"
         " ON CONFLICT (id) DO NOTHING"},
    [OPG_STREAM_SERIES] =
        {"series_stage",
         "(id bigint, origin_id bigint, kind smallint, temporality smallint, monotonic boolean,"
         " name text, unit text, description text, service text, attributes jsonb, body bytea)",
         "INSERT INTO metric_series (id, origin_id, kind, temporality, monotonic, name, unit,"
         "   description, service, attributes, body)"
         " SELECT DISTINCT ON (id) * FROM series_stage ORDER BY id"
         " ON CONFLICT (id) DO NOTHING"},
    [OPG_STREAM_SPANS] =
        {"spans_stage", "(LIKE spans)",
         "WITH ins AS ("
         " INSERT INTO spans SELECT * FROM spans_stage ON CONFLICT DO NOTHING"
         " RETURNING day, trace_id, parent_span_id, start_ns, duration_ns, kind, status, service,"
         "   name),"
         /* RED metrics (migration 011) of server and consumer spans, from the rows really
          * inserted: 10 s buckets, latency buckets of 2^(1/4) over microseconds */
         " red_rows AS ("
         " INSERT INTO red (bucket_ns, day, service, operation, kind, latency_bucket,"
         "   calls, errors, duration_sum)"
         " SELECT start_ns / 10000000000 * 10000000000 AS b, day, service, name, kind,"
         "   least(127, floor(4 * ln(greatest(duration_ns, 1000)::float8 / 1000) / ln(2::float8)))"
         "     ::smallint AS lb,"
         "   count(*), count(*) FILTER (WHERE status = 2), sum(greatest(duration_ns, 0)::float8)"
         " FROM ins WHERE kind IN (2, 5)"
         " GROUP BY b, service, name, kind, lb, day ORDER BY b, service, name, kind, lb, day"
         " ON CONFLICT (bucket_ns, service, operation, kind, latency_bucket, day) DO UPDATE SET"
         "   calls = red.calls + excluded.calls, errors = red.errors + excluded.errors,"
         "   duration_sum = red.duration_sum + excluded.duration_sum)"
         " INSERT INTO traces (start_ns, end_ns, day, span_count, error_count, trace_id,"
         "   root_service, root_name)"
         " SELECT min(start_ns), max(start_ns + duration_ns), day, count(*),"
         "   count(*) FILTER (WHERE status = 2), trace_id,"
         "   min(service) FILTER (WHERE parent_span_id IS NULL),"
         "   min(name) FILTER (WHERE parent_span_id IS NULL)"
         " FROM ins GROUP BY trace_id, day ORDER BY trace_id, day"
         " ON CONFLICT (trace_id, day) DO UPDATE SET"
         "   start_ns = least(traces.start_ns, excluded.start_ns),"
         "   end_ns = greatest(traces.end_ns, excluded.end_ns),"
         "   span_count = traces.span_count + excluded.span_count,"
         "   error_count = traces.error_count + excluded.error_count,"
         "   root_service = coalesce(traces.root_service, excluded.root_service),"
         "   root_name = coalesce(traces.root_name, excluded.root_name)"},
    [OPG_STREAM_LOGS] = {"logs_stage", "(LIKE logs)",
                         "INSERT INTO logs SELECT * FROM logs_stage ON CONFLICT DO NOTHING"},
    [OPG_STREAM_POINTS] = {"points_stage", "(LIKE metric_points)",
                           "INSERT INTO metric_points SELECT * FROM points_stage"
                           " ON CONFLICT DO NOTHING"},
    [OPG_STREAM_EXEMPLARS] = {"exemplars_stage", "(LIKE exemplars)",
                              "INSERT INTO exemplars SELECT * FROM exemplars_stage"
                              " ON CONFLICT DO NOTHING"},
    /* The rest are not staged: see array_streams below. */
};

enum db_result {
    DB_OK,
    DB_RETRY,    /* connection lost, deadlock, out of resources: try again as is */
    DB_BAD_DATA, /* the data itself was refused: isolate the culprit */
    DB_REPLAY    /* the fast spans statement met a stored block: use the careful one */
};

static enum db_result classify(PGconn *conn, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (PQstatus(conn) != CONNECTION_OK || !state)
        return DB_RETRY;
    /* 08 connection, 40 transaction rollback (deadlock), 53 resources,
     * 57 operator intervention (shutdown), 58 system error */
    if (!strncmp(state, "08", 2) || !strncmp(state, "40", 2) || !strncmp(state, "53", 2) ||
        !strncmp(state, "57", 2) || !strncmp(state, "58", 2))
        return DB_RETRY;
    return DB_BAD_DATA;
}

static enum db_result exec_cmd(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    enum db_result r = DB_OK;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = classify(conn, res);
        opg_stats_add(&m_db_errors, 1);
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "writer: %s: %s", what, PQerrorMessage(conn));
    }
    PQclear(res);
    return r;
}

static enum db_result copy_in(PGconn *conn, enum opg_stream stream, struct write_item *items)
{
    const char *table = streams[stream].stage;
    char sql[96];
    PGresult *res;
    enum db_result r = DB_OK;
    static const char trailer[2] = {'\xff', '\xff'};

    snprintf(sql, sizeof(sql), "COPY %s FROM STDIN (FORMAT binary)", table);
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        r = classify(conn, res);
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "writer: %s: %s", sql, PQerrorMessage(conn));
        PQclear(res);
        return r;
    }
    PQclear(res);
    int ok = PQputCopyData(conn, COPY_HEADER, COPY_HEADER_LEN) == 1;
    for (struct write_item *it = items; ok && it; it = it->next) {
        struct opg_buf *b = &it->batch.rows[stream];
        if (b->len)
            ok = PQputCopyData(conn, b->data, (int)b->len) == 1;
    }
    if (ok)
        ok = PQputCopyData(conn, trailer, 2) == 1;
    PQputCopyEnd(conn, ok ? NULL : "otelpg: aborted");
    while ((res = PQgetResult(conn))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && r == DB_OK) {
            r = classify(conn, res);
            OPG_LOG_EVERY(10, OPG_LOG_WARN, "writer: COPY %s: %s", table, PQerrorMessage(conn));
        }
        PQclear(res);
    }
    if (!ok && r == DB_OK)
        r = DB_RETRY;
    return r;
}

/* Gives the staging tables' dead rows back (a failure only logs: the next
 * truncation tries again). */
static void truncate_stages(struct writer_thread *t)
{
    struct opg_buf sql = OPG_BUF_INIT;

    opg_buf_addstr(&sql, "TRUNCATE ");
    for (int s = 0, n = 0; s < OPG_STREAM_COUNT; s++)
        if (streams[s].stage)
            opg_buf_addf(&sql, "%s%s", n++ ? ", " : "", streams[s].stage);
    exec_cmd(t->conn, sql.data, "truncating the staging tables");
    opg_buf_release(&sql);
}

static bool day_known(struct writer_thread *t, int32_t day)
{
    for (int i = 0; i < t->n_days; i++)
        if (t->days[i] == day)
            return true;
    return false;
}

static enum db_result ensure_days(struct writer_thread *t, struct write_item *items)
{
    for (struct write_item *it = items; it; it = it->next) {
        for (int i = 0; i < it->batch.n_days; i++) {
            int32_t day = it->batch.days[i];
            char v[16];
            const char *params[1] = {v};
            PGresult *res;

            if (day_known(t, day))
                continue;
            snprintf(v, sizeof(v), "%d", (int)day);
            res = PQexecParams(t->conn, "SELECT otelpg_ensure_day($1::integer)", 1, NULL, params,
                               NULL, NULL, 0);
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                enum db_result r = classify(t->conn, res);
                opg_stats_add(&m_db_errors, 1);
                OPG_LOG_EVERY(10, OPG_LOG_WARN, "writer: creating partitions for day %d: %s",
                              (int)day, PQerrorMessage(t->conn));
                PQclear(res);
                return r;
            }
            PQclear(res);
            if (t->n_days == (int)(sizeof(t->days) / sizeof(t->days[0])))
                t->n_days = 0; /* forget everything: re-checking is cheap */
            t->days[t->n_days++] = day;
        }
    }
    return DB_OK;
}

/* ---- the streams written by one statement of array parameters ------------------ */

/*
 * Spans, their parts and RED rows, correlation IDs and operations go in one
 * statement whose parameters are arrays, one per column (binary, built from
 * the COPY tuples: an array element is encoded exactly like a COPY field).
 * No staging table, no COPY round trips: a request of spans is one
 * statement, and with nothing else in the transaction, one round trip.
 * Every insert is idempotent: blocks ON CONFLICT DO NOTHING, and the parts
 * and RED rows of the blocks really inserted only, so a replayed request
 * counts nothing twice.
 */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_FLOAT8 = 701
};

#define MAX_ARRAY_COLS 14

static const struct array_stream {
    enum opg_stream stream;
    int ncols;
    uint32_t oids[MAX_ARRAY_COLS];
} array_streams[] = {
    {OPG_STREAM_BLOCKS, 4, {OID_INT8, OID_INT4, OID_INT4, OID_BYTEA}},
    {OPG_STREAM_PARTS,
     14,
     {OID_INT8, OID_INT8, OID_INT8, OID_INT8, OID_INT8, OID_INT4, OID_INT4, OID_INT4, OID_INT2,
      OID_BYTEA, OID_TEXT, OID_TEXT, OID_TEXT, OID_INT8}},
    {OPG_STREAM_RED,
     10,
     {OID_INT8, OID_INT8, OID_INT4, OID_TEXT, OID_TEXT, OID_INT2, OID_INT2, OID_INT8, OID_INT8,
      OID_FLOAT8}},
    {OPG_STREAM_CORRELATIONS, 5, {OID_TEXT, OID_INT4, OID_INT2, OID_BYTEA, OID_INT8}},
    {OPG_STREAM_OPERATIONS, 3, {OID_TEXT, OID_TEXT, OID_INT2}},
    {OPG_STREAM_DICTS, 2, {OID_INT8, OID_BYTEA}},
};
#define N_ARRAY_STREAMS (sizeof(array_streams) / sizeof(array_streams[0]))

/*
 * The spans statement, in two forms with the same parameters (blocks $1-$4,
 * parts $5-$18, RED $19-$28; correlations, operations and dictionaries
 * $29-$38 in ARRAY_MERGE_MORE).
 *
 * The fast form assumes that every block is new, as nearly every one is: it
 * inserts the blocks ON CONFLICT DO NOTHING and the parts and RED rows of all
 * of them, and its final SELECT raises OPG01 (otelpg_expect_stored,
 * migration 018) when fewer blocks went in than were sent, which undoes the
 * whole statement. The careful form then writes parts and RED only for the
 * blocks really inserted. The join that takes costs its executor set-up and
 * hash tables on every statement: ~14 % of the writer backend's instructions
 * per request under callgrind, which the fast form saves.
 *
 * RED rows go to red_pending as one row of arrays (no index, no conflict
 * test); the maintenance thread folds them into red (migration 018).
 */
static const char ARRAY_MERGE_HEAD[] =
    /* cut: the payload's whole TOAST chunks stay in payload, the rest is the tail
     * (migration 015; otelpg.toast_chunk is set when the session starts) */
    "WITH k AS ("
    " SELECT coalesce(nullif(current_setting('otelpg.toast_chunk', true), '')::integer, 0) AS c),"
    " u AS ("
    " SELECT u.*, CASE WHEN k.c > 0 THEN length(u.payload) / k.c * k.c ELSE length(u.payload)"
    "   END AS cut"
    " FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::bytea[])"
    "   AS u(id, day, span_count, payload), k),";

/* both forms insert the blocks alike (their RETURNING differs) */
#define BLOCKS_INSERT                                                                              \
    " INSERT INTO span_blocks (id, day, span_count, payload, tail)"                                \
    " SELECT id, day, span_count, substring(payload FROM 1 FOR cut),"                              \
    "   nullif(substring(payload FROM cut + 1), ''::bytea) FROM u"
#define PARTS_COLUMNS                                                                              \
    " INSERT INTO trace_parts (start_ns, end_ns, block_id, name_bloom, longest_ns, day,"           \
    "   span_count, error_count, kinds, trace_id, services, root_service, root_name, corr_hash)"
#define PARTS_UNNEST                                                                               \
    " FROM unnest($5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],"           \
    "   $10::integer[], $11::integer[], $12::integer[], $13::smallint[], $14::bytea[],"            \
    "   $15::text[], $16::text[], $17::text[], $18::bigint[])"                                     \
    "   AS u(s, e, b, nb, l, d, c, ec, k, t, sv, rs, rn, ch)"
#define RED_COLUMNS                                                                                \
    " INSERT INTO red_pending (bucket_ns, day, service, operation, kind, latency_bucket,"          \
    "   calls, errors, duration_sum)"

static const char ARRAY_MERGE_FAST[] =
    " b AS (" BLOCKS_INSERT " ON CONFLICT DO NOTHING RETURNING 1),"
    " p AS (" PARTS_COLUMNS " SELECT u.s, u.e, u.b, u.nb, u.l, u.d, u.c, u.ec, u.k, u.t, u.sv, "
    "u.rs, u.rn, u.ch" PARTS_UNNEST "),"
    /* RED metrics (migration 011) of server and consumer spans, aggregated per block by
     * the collector: 10 s buckets, latency buckets of 2^(1/4) over microseconds */
    " r AS (" RED_COLUMNS
    " SELECT $20::bigint[], $21::integer[], $22::text[], $23::text[], $24::smallint[],"
    "   $25::smallint[], $26::bigint[], $27::bigint[], $28::float8[]"
    " WHERE cardinality($19::bigint[]) > 0)";

static const char ARRAY_MERGE_FAST_END[] =
    " SELECT otelpg_expect_stored(count(*), cardinality($1::bigint[])) FROM b";

static const char ARRAY_MERGE_CAREFUL[] =
    " b AS (" BLOCKS_INSERT " ON CONFLICT DO NOTHING RETURNING id, day),"
    /* A block that was not inserted is a replay of one stored already — unless the stored
     * one differs (otelpg_block_check: its contents, whatever the dictionary; migration
     * 016): two blocks whose 64-bit IDs collide. The second is then stored under
     * its ID xor a constant (a replay of it finds that one). Not caught: a collision
     * between two blocks of the same statement, which the snapshot does not show. */
    " alt AS ("
    " INSERT INTO span_blocks (id, day, span_count, payload, tail)"
    " SELECT u.id # 6614235551224981909, u.day, u.span_count, substring(u.payload FROM 1 FOR "
    "u.cut),"
    "   nullif(substring(u.payload FROM u.cut + 1), ''::bytea) FROM u"
    " WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.id = u.id AND b.day = u.day)"
    "   AND EXISTS (SELECT 1 FROM span_blocks s"
    "     WHERE s.id = u.id AND s.day = u.day"
    "     AND otelpg_block_check(s.payload || coalesce(s.tail, ''::bytea))"
    "       <> otelpg_block_check(u.payload))"
    " ON CONFLICT DO NOTHING RETURNING id # 6614235551224981909 AS orig, id, day),"
    " ins AS (SELECT id AS orig, id, day FROM b UNION ALL SELECT orig, id, day FROM alt),"
    /* DISTINCT: one block sent twice in one statement (a retry queued beside its
     * original, or a request repeating its spans) is inserted once, and its parts and
     * RED rows (one per trace, one per key, in a block) must be too */
    " p AS (" PARTS_COLUMNS
    " SELECT DISTINCT ON (u.b, u.d, u.t) u.s, u.e, ins.id, u.nb, u.l, u.d, u.c, u.ec, u.k, u.t,"
    " u.sv, u.rs, u.rn, u.ch" PARTS_UNNEST " JOIN ins ON ins.orig = u.b AND ins.day = u.d),"
    " r AS (" RED_COLUMNS
    " SELECT array_agg(u.bk), array_agg(u.d), array_agg(u.sv), array_agg(u.op), array_agg(u.k),"
    "   array_agg(u.lb), array_agg(u.c), array_agg(u.er), array_agg(u.ds)"
    " FROM (SELECT DISTINCT * FROM unnest($19::bigint[], $20::bigint[], $21::integer[],"
    "   $22::text[], $23::text[], $24::smallint[], $25::smallint[], $26::bigint[], $27::bigint[],"
    "   $28::float8[]) AS v(b, bk, d, sv, op, k, lb, c, er, ds)) u"
    " JOIN ins ON ins.orig = u.b AND ins.day = u.d HAVING count(*) > 0)";

static const char ARRAY_MERGE_CAREFUL_END[] = " SELECT 1";

/*
 * Correlations, operations and dictionaries (parameters 29-38). Most
 * statements have none, and every data-modifying CTE costs its executor
 * set-up even when it has nothing to do: each form is also prepared without
 * them (the "lean" statements).
 */
static const char ARRAY_MERGE_MORE[] =
    ", c AS ("
    " INSERT INTO correlations (corr_id, day, kind, ref, time_ns)"
    " SELECT DISTINCT ON (corr_id, kind, ref, day) * FROM unnest($29::text[], $30::integer[],"
    "   $31::smallint[], $32::bytea[], $33::bigint[]) AS u(corr_id, day, kind, ref, time_ns)"
    " ORDER BY corr_id, kind, ref, day, time_ns ON CONFLICT DO NOTHING),"
    /* the dictionaries the blocks need (dicts.h), until they are known to be stored */
    " dct AS ("
    " INSERT INTO block_dicts (id, content)"
    " SELECT DISTINCT ON (id) * FROM unnest($37::bigint[], $38::bytea[]) AS u(id, content)"
    " ON CONFLICT DO NOTHING),"
    " o AS ("
    " INSERT INTO operations (service, name, kind)"
    " SELECT DISTINCT * FROM unnest($34::text[], $35::text[], $36::smallint[])"
    "   AS u(service, name, kind) ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING)";

/* the parameters of a lean statement: blocks, parts and RED */
#define N_LEAN_PARAMS (4 + 14 + 10)

/* the prepared statements, by [careful][lean] */
static const char *const merge_names[2][2] = {
    {"opg_spans_fast", "opg_spans_fast_lean"},
    {"opg_spans_careful", "opg_spans_careful_lean"},
};

static bool is_array_stream(int s)
{
    for (size_t i = 0; i < N_ARRAY_STREAMS; i++)
        if ((int)array_streams[i].stream == s)
            return true;
    return false;
}

static uint32_t rd_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32_at(struct opg_buf *b, size_t at, uint32_t v)
{
    unsigned char *p = (unsigned char *)b->data + at;

    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/*
 * Splits the COPY tuples of stream a of every item into one binary array
 * per column (cols[0..a->ncols)). Returns -1 if a tuple does not have the
 * stream's shape (a bug: encoders and this table disagree).
 */
static int build_arrays(const struct array_stream *a, struct write_item *items,
                        struct opg_buf *cols)
{
    uint32_t n = 0;
    bool nulls[MAX_ARRAY_COLS] = {false};

    for (int c = 0; c < a->ncols; c++) {
        opg_buf_reset(&cols[c]);
        /* ndim, has-nulls, element type, then the one dimension: length, lower bound */
        opg_buf_add_be32(&cols[c], 1);
        opg_buf_add_be32(&cols[c], 0);
        opg_buf_add_be32(&cols[c], a->oids[c]);
        opg_buf_add_be32(&cols[c], 0);
        opg_buf_add_be32(&cols[c], 1);
    }
    for (struct write_item *it = items; it; it = it->next) {
        const struct opg_buf *rows = &it->batch.rows[a->stream];
        const unsigned char *p = (const unsigned char *)rows->data, *end = p + rows->len;

        while (p < end) {
            if (end - p < 2 || (p[0] << 8 | p[1]) != a->ncols)
                return -1;
            p += 2;
            for (int c = 0; c < a->ncols; c++) {
                uint32_t len;

                if (end - p < 4)
                    return -1;
                len = rd_be32(p);
                if (len == 0xffffffffu) {
                    nulls[c] = true;
                    opg_buf_add(&cols[c], p, 4);
                    p += 4;
                    continue;
                }
                if ((size_t)(end - p) < 4 + (size_t)len)
                    return -1;
                opg_buf_add(&cols[c], p, 4 + (size_t)len);
                p += 4 + len;
            }
            n++;
        }
    }
    for (int c = 0; c < a->ncols; c++) {
        put_be32_at(&cols[c], 4, nulls[c]);
        put_be32_at(&cols[c], 12, n);
    }
    return 0;
}

#define COLS_KEEP_BYTES (256 * 1024)

static enum db_result write_arrays(struct writer_thread *t, struct write_item *items, bool careful)
{
    struct opg_buf *cols = t->cols;
    const char *values[N_ARRAY_PARAMS];
    int lengths[N_ARRAY_PARAMS], formats[N_ARRAY_PARAMS];
    int np = 0;
    bool lean = true;
    enum db_result r = DB_OK;
    PGresult *res;
    const char *state;

    for (struct write_item *it = items; it && lean; it = it->next)
        lean = !it->batch.n_rows[OPG_STREAM_CORRELATIONS] &&
               !it->batch.n_rows[OPG_STREAM_OPERATIONS] && !it->batch.n_rows[OPG_STREAM_DICTS];
    for (size_t i = 0; i < N_ARRAY_STREAMS && !(lean && np == N_LEAN_PARAMS); i++) {
        if (build_arrays(&array_streams[i], items, &cols[np]) < 0) {
            opg_error("writer: a batch has malformed rows in stream %d",
                      (int)array_streams[i].stream);
            r = DB_BAD_DATA;
            goto out;
        }
        np += array_streams[i].ncols;
    }
    for (int i = 0; i < np; i++) {
        values[i] = cols[i].data;
        lengths[i] = (int)cols[i].len;
        formats[i] = 1;
    }
    res = PQexecPrepared(t->conn, merge_names[careful][lean], np, values, lengths, formats, 1);
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && !careful && state && !strcmp(state, "OPG01")) {
        r = DB_REPLAY; /* not an error: the careful statement follows */
    } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = classify(t->conn, res);
        opg_stats_add(&m_db_errors, 1);
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "writer: writing spans: %s", PQerrorMessage(t->conn));
    }
    PQclear(res);
out:
    /* kept for the next statement (no growing from empty every time), unless big */
    for (int i = 0; i < N_ARRAY_PARAMS; i++)
        if (cols[i].cap > COLS_KEEP_BYTES)
            opg_buf_release(&cols[i]);
    return r;
}

/*
 * Staging tables keep their rows across commits: an ON COMMIT DELETE ROWS
 * table is truncated at every commit of a transaction that touched any
 * temporary table, and truncating costs ~0.2 ms a table, more than writing
 * a request. The rows are deleted instead (a few hundred), and the tables
 * truncated once every TRUNCATE_EVERY transactions, outside the hot path.
 */
#define TRUNCATE_EVERY 256

/*
 * Writes items in one transaction, with the fast spans statement unless
 * careful. The spans statement goes first: when the fast one meets a stored
 * block (DB_REPLAY) nothing else has been written yet.
 */
static enum db_result write_items_as(struct writer_thread *t, struct write_item *items,
                                     bool careful)
{
    int64_t t0 = opg_now_mono_ns();
    struct opg_buf cleanup = OPG_BUF_INIT;
    bool staged = false, arrays = false;
    enum db_result r;

    for (struct write_item *it = items; it; it = it->next)
        for (int s = 0; s < OPG_STREAM_COUNT; s++)
            if (it->batch.n_rows[s]) {
                if (is_array_stream(s))
                    arrays = true;
                else
                    staged = true;
            }
    if ((r = ensure_days(t, items)) != DB_OK)
        return r;
    if (!staged) {
        /* one statement: its own transaction */
        if (arrays && (r = write_arrays(t, items, careful)) != DB_OK)
            return r;
        goto committed;
    }
    if ((r = exec_cmd(t->conn, "BEGIN", "BEGIN")) != DB_OK)
        return r;
    if (arrays && (r = write_arrays(t, items, careful)) != DB_OK)
        goto out_rollback;
    for (int s = 0; s < OPG_STREAM_COUNT; s++) {
        bool any = false;

        if (is_array_stream(s))
            continue;
        for (struct write_item *it = items; it && !any; it = it->next)
            any = it->batch.n_rows[s] > 0;
        if (!any)
            continue;
        opg_buf_addf(&cleanup, "DELETE FROM %s;", streams[s].stage);
        if ((r = copy_in(t->conn, (enum opg_stream)s, items)) != DB_OK ||
            (streams[s].merge &&
             (r = exec_cmd(t->conn, streams[s].merge, streams[s].stage)) != DB_OK))
            goto out_rollback;
    }
    if (cleanup.len &&
        (r = exec_cmd(t->conn, cleanup.data, "emptying the staging tables")) != DB_OK)
        goto out_rollback;
    if ((r = exec_cmd(t->conn, "COMMIT", "COMMIT")) != DB_OK)
        goto out_rollback;
    if (++t->txns_since_truncate >= TRUNCATE_EVERY) {
        truncate_stages(t);
        t->txns_since_truncate = 0;
    }
committed:
    opg_stats_observe_ns(&h_write, opg_now_mono_ns() - t0);
    opg_stats_add(&m_txns, 1);
    opg_buf_release(&cleanup);
    return DB_OK;
out_rollback:
    opg_buf_release(&cleanup);
    if (PQstatus(t->conn) == CONNECTION_OK)
        exec_cmd(t->conn, "ROLLBACK", "ROLLBACK");
    return r;
}

static enum db_result write_items(struct writer_thread *t, struct write_item *items)
{
    enum db_result r = write_items_as(t, items, false);

    if (r == DB_REPLAY) {
        opg_stats_add(&m_careful, 1);
        r = write_items_as(t, items, true);
    }
    return r;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool gave_up(struct opg_writer *w)
{
    bool r;

    pthread_mutex_lock(&w->lock);
    r = w->stopping && opg_now_mono_ns() > w->drain_deadline_ns;
    pthread_mutex_unlock(&w->lock);
    return r;
}

static int connect_db_once(struct writer_thread *t)
{
    PQfinish(t->conn);
    t->conn = PQconnectdb(t->w->cfg.conninfo);
    if (PQstatus(t->conn) != CONNECTION_OK) {
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "writer: cannot connect to PostgreSQL: %s",
                      PQerrorMessage(t->conn));
        opg_stats_add(&m_db_errors, 1);
        return -1;
    }
    if (exec_cmd(t->conn, "SET client_min_messages = warning", "preparing the session") != DB_OK)
        return -1;
    for (int s = 0; s < OPG_STREAM_COUNT; s++) {
        char sql[512];

        if (!streams[s].stage)
            continue;
        snprintf(sql, sizeof(sql), "CREATE TEMP TABLE IF NOT EXISTS %s %s", streams[s].stage,
                 streams[s].create);
        if (exec_cmd(t->conn, sql, "creating a staging table") != DB_OK)
            return -1;
    }
    /* The size of a TOAST chunk, for the statement to cut payloads at (no cut when
     * it cannot be read: blocks are then stored whole, as before migration 015). */
    exec_cmd(t->conn,
             "SELECT set_config('otelpg.toast_chunk', max_toast_chunk_size::text, false)"
             " FROM pg_control_init()",
             "reading the TOAST chunk size");
    for (int i = 0; i < 4; i++) {
        bool careful = i / 2, lean = i % 2;
        struct opg_buf sql = OPG_BUF_INIT;
        PGresult *res;
        bool ok;

        opg_buf_addstr(&sql, ARRAY_MERGE_HEAD);
        opg_buf_addstr(&sql, careful ? ARRAY_MERGE_CAREFUL : ARRAY_MERGE_FAST);
        if (!lean)
            opg_buf_addstr(&sql, ARRAY_MERGE_MORE);
        opg_buf_addstr(&sql, careful ? ARRAY_MERGE_CAREFUL_END : ARRAY_MERGE_FAST_END);
        res = PQprepare(t->conn, merge_names[careful][lean], sql.data, 0, NULL);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            opg_stats_add(&m_db_errors, 1);
            OPG_LOG_EVERY(10, OPG_LOG_WARN, "writer: preparing the spans statement: %s",
                          PQerrorMessage(t->conn));
        }
        PQclear(res);
        opg_buf_release(&sql);
        if (!ok)
            return -1;
    }
    t->n_days = 0;
    return 0;
}

/* A session that could not be prepared is closed, so that the next attempt
 * starts from a new connection. */
static int connect_db(struct writer_thread *t)
{
    if (connect_db_once(t) == 0)
        return 0;
    PQfinish(t->conn);
    t->conn = NULL;
    return -1;
}

static void complete(struct write_item *items, int status)
{
    int64_t now = opg_now_mono_ns();
    size_t n = 0;

    while (items) {
        struct write_item *next = items->next;
        int sig = (int)items->batch.signal;

        opg_stats_add(status == 0 ? &m_stored[sig] : &m_failed[sig], (int64_t)items->batch.n_items);
        if (status == 0) {
            opg_batch_remember_committed(&items->batch);
            opg_dicts_committed(&items->batch);
        }
        n++;
        opg_stats_observe_ns(&h_queue_wait, now - items->queued_ns);
        finish(items, status);
        items = next;
    }
    if (status == 0)
        opg_stats_add(&m_batch_items, (int64_t)n);
}

/*
 * Writes items, retrying while the database is unreachable. When the data
 * itself is refused, each request is retried alone so that one bad request
 * fails by itself and the others are stored.
 */
static void write_with_retry(struct writer_thread *t, struct write_item *items)
{
    long backoff = RETRY_MIN_MS;

    for (;;) {
        enum db_result r;

        if (!t->conn || PQstatus(t->conn) != CONNECTION_OK) {
            if (connect_db(t) < 0)
                goto wait;
        }
        r = write_items(t, items);
        if (r == DB_OK) {
            complete(items, 0);
            return;
        }
        if (r == DB_BAD_DATA) {
            if (!items->next) {
                opg_error("writer: PostgreSQL refused a request's data; it is answered with "
                          "an error");
                complete(items, -1);
                return;
            }
            while (items) {
                struct write_item *next = items->next;
                items->next = NULL;
                write_with_retry(t, items);
                items = next;
            }
            return;
        }
    wait:
        if (gave_up(t->w)) {
            opg_error("writer: stopping with the database unreachable; failing the rest");
            complete(items, -1);
            return;
        }
        sleep_ms(backoff + rand() % (backoff / 2 + 1));
        backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
    }
}

static void *writer_main(void *arg)
{
    struct writer_thread *t = arg;
    struct write_item *items;

    while ((items = take(t->w)))
        write_with_retry(t, items);
    PQfinish(t->conn);
    t->conn = NULL;
    for (int i = 0; i < N_ARRAY_PARAMS; i++)
        opg_buf_release(&t->cols[i]);
    return NULL;
}

struct opg_writer *opg_writer_create(const struct opg_writer_config *cfg)
{
    struct opg_writer *w = opg_xcalloc(1, sizeof(*w));

    register_metrics();
    w->cfg = *cfg;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->nonempty, NULL);
    w->threads = opg_xcalloc((size_t)cfg->threads, sizeof(*w->threads));
    for (int i = 0; i < cfg->threads; i++) {
        w->threads[i].w = w;
        if (pthread_create(&w->threads[i].tid, NULL, writer_main, &w->threads[i]) != 0) {
            opg_error("writer: cannot start thread %d", i);
            w->cfg.threads = i;
            opg_writer_destroy(w);
            return NULL;
        }
    }
    return w;
}

void opg_writer_drain(struct opg_writer *w, long long drain_ms)
{
    struct write_item *left;

    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    if (w->drained) {
        pthread_mutex_unlock(&w->lock);
        return;
    }
    w->stopping = true;
    w->drain_deadline_ns = opg_now_mono_ns() + drain_ms * 1000000LL;
    pthread_cond_broadcast(&w->nonempty);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->cfg.threads; i++)
        pthread_join(w->threads[i].tid, NULL);
    /* what no thread took (none started): fail it */
    pthread_mutex_lock(&w->lock);
    left = w->head;
    w->head = w->tail = NULL;
    w->drained = true;
    pthread_mutex_unlock(&w->lock);
    if (left)
        complete(left, -1);
}

void opg_writer_destroy(struct opg_writer *w)
{
    if (!w)
        return;
    opg_writer_drain(w, 0);
    free(w->threads);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->nonempty);
    free(w);
}
