#include "maintenance.h"
#include "buf.h"
#include "log.h"
#include "pgutil.h"
#include "stats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_DAY (86400LL * 1000000000LL)

struct opg_maintenance {
    struct opg_maintenance_config cfg;
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    long long db_bytes; /* -1 until measured */
};

static struct opg_metric m_db_bytes = OPG_METRIC_INIT(
    "otelpg_database_bytes", NULL, OPG_GAUGE, "Size of the database on disk (pg_database_size).");
static struct opg_metric m_db_budget = OPG_METRIC_INIT(
    "otelpg_database_budget_bytes", NULL, OPG_GAUGE, "The database's disk budget (0: none).");
static struct opg_metric m_dropped =
    OPG_METRIC_INIT("otelpg_retention_dropped_partitions_total", NULL, OPG_COUNTER,
                    "Day partitions dropped because they were older than the retention.");
static struct opg_metric m_runs = OPG_METRIC_INIT("otelpg_maintenance_runs_total", NULL,
                                                  OPG_COUNTER, "Maintenance passes completed.");
static struct opg_metric m_folded =
    OPG_METRIC_INIT("otelpg_red_folded_rows_total", NULL, OPG_COUNTER,
                    "Pending RED rows folded into the red table by this collector.");

/* how often the RED rows the writers append are folded into red (migration 018) */
#define FOLD_INTERVAL_MS 1000

static long long query_ll(PGconn *conn, const char *sql, const char *arg, bool *ok)
{
    const char *params[1] = {arg};
    PGresult *res = PQexecParams(conn, sql, arg ? 1 : 0, NULL, arg ? params : NULL, NULL, NULL, 0);
    long long v = 0;

    *ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (*ok && !PQgetisnull(res, 0, 0))
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else if (!*ok)
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "maintenance: %s", PQerrorMessage(conn));
    PQclear(res);
    return v;
}

static void run_once(struct opg_maintenance *m, PGconn *conn)
{
    long long today = opg_now_wall_ns() / NS_PER_DAY;
    char arg[24];
    bool ok, all_ok = true;
    long long size;

    for (int d = 0; d < 2; d++) {
        snprintf(arg, sizeof(arg), "%lld", today + d);
        query_ll(conn, "SELECT 0 FROM otelpg_ensure_day($1::integer)", arg, &ok);
        all_ok &= ok;
    }
    if (m->cfg.retention_ms > 0) {
        long long keep_days = (m->cfg.retention_ms + 86400000LL - 1) / 86400000LL;
        long long n;

        snprintf(arg, sizeof(arg), "%lld", today - keep_days);
        n = query_ll(conn, "SELECT otelpg_drop_days_before($1::integer)", arg, &ok);
        all_ok &= ok;
        if (ok && n > 0) {
            opg_stats_add(&m_dropped, n);
            opg_info("retention: dropped %lld day partition(s) older than %lld day(s)", n,
                     keep_days);
        }
    }
    size = query_ll(conn, "SELECT pg_database_size(current_database())", NULL, &ok);
    all_ok &= ok;
    if (ok) {
        pthread_mutex_lock(&m->lock);
        m->db_bytes = size;
        pthread_mutex_unlock(&m->lock);
        opg_stats_set(&m_db_bytes, size);
        if (m->cfg.db_budget && size > m->cfg.db_budget)
            OPG_LOG_EVERY(3600, OPG_LOG_WARN,
                          "the database holds %lld bytes, over its budget of %lld: shorten "
                          "--retention or give it more disk",
                          size, m->cfg.db_budget);
    }
    if (all_ok)
        opg_stats_add(&m_runs, 1);
}

/*
 * red_pending is a queue: every row is deleted within a second or two. It is
 * vacuumed after each fold that moved rows, so that the space of the rows
 * folded is reused at once instead of the file growing until autovacuum's
 * next turn (a minute at the least).
 */
static void fold_red(PGconn *conn)
{
    bool ok;
    long long n = query_ll(conn, "SELECT otelpg_red_fold()", NULL, &ok);
    PGresult *res;

    if (!ok || n == 0)
        return;
    opg_stats_add(&m_folded, n);
    res = PQexec(conn, "VACUUM red_pending");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "maintenance: VACUUM red_pending: %s",
                      PQerrorMessage(conn));
    PQclear(res);
}

static void *maintenance_main(void *arg)
{
    struct opg_maintenance *m = arg;
    PGconn *conn = NULL;
    int64_t next_run = 0; /* monotonic ns */

    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        struct timespec ts;

        pthread_mutex_unlock(&m->lock);
        if (!conn || PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = opg_pg_connect(m->cfg.conninfo, "otelpg-collector maintenance");
        }
        if (PQstatus(conn) == CONNECTION_OK) {
            if (opg_now_mono_ns() >= next_run) {
                run_once(m, conn);
                next_run = opg_now_mono_ns() + m->cfg.interval_ms * 1000000LL;
            }
            fold_red(conn);
        }
        pthread_mutex_lock(&m->lock);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += FOLD_INTERVAL_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        if (!m->stopping)
            pthread_cond_timedwait(&m->wake, &m->lock, &ts);
    }
    pthread_mutex_unlock(&m->lock);
    PQfinish(conn);
    return NULL;
}

struct opg_maintenance *opg_maintenance_start(const struct opg_maintenance_config *cfg)
{
    struct opg_maintenance *m = opg_xcalloc(1, sizeof(*m));
    static bool registered;

    if (!registered) {
        registered = true;
        opg_stats_register(&m_db_bytes);
        opg_stats_register(&m_db_budget);
        opg_stats_register(&m_dropped);
        opg_stats_register(&m_runs);
        opg_stats_register(&m_folded);
    }
    m->cfg = *cfg;
    m->db_bytes = -1;
    opg_stats_set(&m_db_budget, cfg->db_budget);
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    if (pthread_create(&m->tid, NULL, maintenance_main, m) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

bool opg_maintenance_budget_ok(struct opg_maintenance *m, char *detail, size_t n)
{
    long long size;

    pthread_mutex_lock(&m->lock);
    size = m->db_bytes;
    pthread_mutex_unlock(&m->lock);
    if (size < 0) {
        snprintf(detail, n, "not measured yet");
        return true;
    }
    if (!m->cfg.db_budget) {
        snprintf(detail, n, "%lld bytes (no budget set)", size);
        return true;
    }
    snprintf(detail, n, "%lld of %lld bytes", size, m->cfg.db_budget);
    return size <= m->cfg.db_budget;
}

void opg_maintenance_stop(struct opg_maintenance *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->tid, NULL);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->wake);
    free(m);
}
