#include "pgutil.h"
#include "buf.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t opg_pg_int8(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | u[i];
    return (int64_t)v;
}

int32_t opg_pg_int4(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (int32_t)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3]);
}

int16_t opg_pg_int2(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (int16_t)(u[0] << 8 | u[1]);
}

PGconn *opg_pg_connect(const char *conninfo, const char *application_name)
{
    /* With expand_dbname, "dbname" carries the whole connection string and
     * the later keywords fill in what it does not say. */
    const char *keys[] = {"dbname", "fallback_application_name", "connect_timeout", NULL};
    const char *vals[] = {conninfo, application_name, "5", NULL};

    return PQconnectdbParams(keys, vals, 1);
}

struct opg_pg_monitor {
    char *conninfo;
    char *app;
    int interval_ms;
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    bool ok;
    char reason[256];
};

static void *monitor_main(void *arg)
{
    struct opg_pg_monitor *m = arg;
    PGconn *conn = NULL;

    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        char reason[256] = "";
        bool ok = false;

        pthread_mutex_unlock(&m->lock);
        if (!conn || PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = opg_pg_connect(m->conninfo, m->app);
        }
        if (PQstatus(conn) == CONNECTION_OK) {
            PGresult *res = PQexec(conn, "SELECT 1");
            ok = PQresultStatus(res) == PGRES_TUPLES_OK;
            if (!ok)
                snprintf(reason, sizeof(reason), "PostgreSQL: %s", PQerrorMessage(conn));
            PQclear(res);
        } else {
            snprintf(reason, sizeof(reason), "PostgreSQL unreachable: %s", PQerrorMessage(conn));
        }
        /* libpq messages end with a newline */
        reason[strcspn(reason, "\n")] = '\0';

        pthread_mutex_lock(&m->lock);
        if (ok != m->ok)
            opg_log(ok ? OPG_LOG_INFO : OPG_LOG_WARN, "database %s%s", ok ? "reachable" : "",
                    ok ? "" : reason);
        m->ok = ok;
        snprintf(m->reason, sizeof(m->reason), "%s", reason);
        if (!m->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += m->interval_ms / 1000;
            ts.tv_nsec += (long)(m->interval_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&m->wake, &m->lock, &ts);
        }
    }
    pthread_mutex_unlock(&m->lock);
    PQfinish(conn);
    return NULL;
}

struct opg_pg_monitor *opg_pg_monitor_create(const char *conninfo, const char *application_name,
                                             int interval_ms)
{
    struct opg_pg_monitor *m = opg_xcalloc(1, sizeof(*m));

    m->conninfo = opg_xstrdup(conninfo);
    m->app = opg_xstrdup(application_name);
    m->interval_ms = interval_ms;
    m->ok = true; /* so that the first failure is logged */
    snprintf(m->reason, sizeof(m->reason), "not checked yet");
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    if (pthread_create(&m->tid, NULL, monitor_main, m) != 0) {
        free(m->conninfo);
        free(m->app);
        free(m);
        return NULL;
    }
    return m;
}

bool opg_pg_monitor_ok(struct opg_pg_monitor *m, char *reason, size_t n)
{
    bool ok;

    pthread_mutex_lock(&m->lock);
    ok = m->ok;
    snprintf(reason, n, "%s", m->reason);
    pthread_mutex_unlock(&m->lock);
    return ok;
}

void opg_pg_monitor_destroy(struct opg_pg_monitor *m)
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
    free(m->conninfo);
    free(m->app);
    free(m);
}

struct opg_pg_pool {
    long long statement_timeout_ms;
    char *conninfo;
    char *app;
    int size;
    PGconn **idle; /* NULL slots are not connected yet */
    bool *busy;
    pthread_mutex_t lock;
    pthread_cond_t freed;
};

struct opg_pg_pool *opg_pg_pool_create(const char *conninfo, const char *application_name, int size,
                                       long long statement_timeout_ms)
{
    struct opg_pg_pool *p = opg_xcalloc(1, sizeof(*p));

    p->conninfo = opg_xstrdup(conninfo);
    p->app = opg_xstrdup(application_name);
    p->size = size;
    p->statement_timeout_ms = statement_timeout_ms;
    p->idle = opg_xcalloc((size_t)size, sizeof(*p->idle));
    p->busy = opg_xcalloc((size_t)size, sizeof(*p->busy));
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    return p;
}

PGconn *opg_pg_pool_get(struct opg_pg_pool *p, char *err, size_t errlen)
{
    PGconn *conn;
    int slot = -1;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        for (int i = 0; i < p->size; i++) {
            if (!p->busy[i]) {
                slot = i;
                break;
            }
        }
        if (slot >= 0)
            break;
        pthread_cond_wait(&p->freed, &p->lock);
    }
    p->busy[slot] = true;
    conn = p->idle[slot];
    p->idle[slot] = NULL;
    pthread_mutex_unlock(&p->lock);

    if (conn && PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        conn = NULL;
    }
    if (!conn) {
        conn = opg_pg_connect(p->conninfo, p->app);
        if (PQstatus(conn) == CONNECTION_OK && p->statement_timeout_ms > 0) {
            char sql[64];
            PGresult *res;

            snprintf(sql, sizeof(sql), "SET statement_timeout = %lld", p->statement_timeout_ms);
            res = PQexec(conn, sql);
            PQclear(res);
        }
        if (PQstatus(conn) != CONNECTION_OK) {
            snprintf(err, errlen, "PostgreSQL unreachable: %s", PQerrorMessage(conn));
            err[strcspn(err, "\n")] = '\0';
            PQfinish(conn);
            pthread_mutex_lock(&p->lock);
            p->busy[slot] = false;
            pthread_cond_signal(&p->freed);
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
    }
    /* remember the slot in the connection's place: the pool finds it back */
    pthread_mutex_lock(&p->lock);
    p->idle[slot] = conn;
    pthread_mutex_unlock(&p->lock);
    return conn;
}

void opg_pg_pool_put(struct opg_pg_pool *p, PGconn *conn)
{
    if (!conn)
        return;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->size; i++) {
        if (p->idle[i] == conn && p->busy[i]) {
            if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE) {
                PQfinish(conn);
                p->idle[i] = NULL;
            }
            p->busy[i] = false;
            break;
        }
    }
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

void opg_pg_pool_destroy(struct opg_pg_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->size; i++)
        PQfinish(p->idle[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p->idle);
    free(p->busy);
    free(p->conninfo);
    free(p->app);
    free(p);
}
