#include "svc_db.h"

#include "inst_span.h"

#include "buf.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct svc_db {
    const char *conninfo;
    const char *app_name;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    PGconn **idle;
    int n_idle;
    int out; /* connections lent or being made */
    int size;
    char last_error[256];
};

struct svc_db *svc_db_create(const char *conninfo, const char *app_name, int size)
{
    struct svc_db *db = opg_xcalloc(1, sizeof(*db));

    db->conninfo = conninfo;
    db->app_name = app_name;
    db->size = size > 0 ? size : 1;
    db->idle = opg_xcalloc((size_t)db->size, sizeof(*db->idle));
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cond, NULL);
    return db;
}

void svc_db_destroy(struct svc_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->n_idle; i++)
        PQfinish(db->idle[i]);
    free(db->idle);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cond);
    free(db);
}

static PGconn *connect_one(struct svc_db *db)
{
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *vals[] = {db->conninfo, db->app_name, "3", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK) {
        pthread_mutex_lock(&db->mu);
        snprintf(db->last_error, sizeof(db->last_error), "%s", PQerrorMessage(c));
        pthread_mutex_unlock(&db->mu);
        PQfinish(c);
        return NULL;
    }
    /* a stuck query must not hold a request (and its caller's timeout) forever */
    r = PQexec(c, "SET statement_timeout = '5s'");
    PQclear(r);
    return c;
}

PGconn *svc_db_get(struct svc_db *db)
{
    struct timespec until;
    PGconn *c = NULL;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&db->mu);
    while (db->n_idle == 0 && db->out >= db->size)
        if (pthread_cond_timedwait(&db->cond, &db->mu, &until) != 0)
            break;
    if (db->n_idle > 0) {
        c = db->idle[--db->n_idle];
        db->out++;
    } else if (db->out < db->size) {
        db->out++;
    } else {
        snprintf(db->last_error, sizeof(db->last_error), "all %d connections busy", db->size);
        pthread_mutex_unlock(&db->mu);
        return NULL;
    }
    pthread_mutex_unlock(&db->mu);
    if (c && PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = NULL;
    }
    if (!c) {
        c = connect_one(db);
        if (!c) {
            pthread_mutex_lock(&db->mu);
            db->out--;
            pthread_cond_signal(&db->cond);
            pthread_mutex_unlock(&db->mu);
        }
    }
    return c;
}

void svc_db_put(struct svc_db *db, PGconn *c)
{
    if (!c)
        return;
    /* a connection left inside a transaction or broken is not lent again */
    if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
        PQfinish(c);
        c = NULL;
    }
    pthread_mutex_lock(&db->mu);
    db->out--;
    if (c)
        db->idle[db->n_idle++] = c;
    pthread_cond_signal(&db->cond);
    pthread_mutex_unlock(&db->mu);
}

const char *svc_db_last_error(struct svc_db *db)
{
    return db->last_error;
}

PGresult *svc_db_exec(PGconn *c, const char *span_name, const char *sql, int n,
                      const char *const *params)
{
    struct inst_span *span = inst_span_start(span_name, INST_SPAN_CLIENT, NULL);
    PGresult *r;
    ExecStatusType st;

    inst_span_set_str(span, "db.system", "postgresql");
    inst_span_set_str(span, "db.query.text", sql);
    r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        inst_span_set_error(span, PQresultErrorMessage(r));
        PQclear(r);
        r = NULL;
    } else {
        inst_span_set_int(span, "db.response.returned_rows", PQntuples(r));
    }
    inst_span_end(span);
    return r;
}

int svc_db_cmd(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;

    PQclear(r);
    return rc;
}

int svc_db_migrate(struct svc_db *db, const char *schema, const char *const *steps, int n)
{
    PGconn *c = svc_db_get(db);
    struct opg_buf sql = OPG_BUF_INIT;
    PGresult *r = NULL;
    char ver[16];
    const char *params[2] = {schema, ver};
    int rc = -1;

    if (!c) {
        opg_error("migrations of %s: cannot connect: %s", schema, svc_db_last_error(db));
        goto out;
    }
    if (svc_db_cmd(c, "BEGIN") < 0)
        goto out_rollback;
    r = PQexecParams(c, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, NULL, params, NULL, NULL,
                     0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        goto out_err;
    PQclear(r);
    /* schema names are our own constants, never input: quoting suffices */
    opg_buf_addf(&sql,
                 "CREATE SCHEMA IF NOT EXISTS \"%s\"; CREATE TABLE IF NOT EXISTS \"%s\".migrations"
                 " (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                 schema, schema);
    r = PQexec(c, sql.data);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        goto out_err;
    for (int i = 0; i < n; i++) {
        PQclear(r);
        opg_buf_reset(&sql);
        opg_buf_addf(&sql, "SELECT 1 FROM \"%s\".migrations WHERE version = $1", schema);
        snprintf(ver, sizeof(ver), "%d", i + 1);
        r = PQexecParams(c, sql.data, 1, NULL, params + 1, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            goto out_err;
        if (PQntuples(r) > 0)
            continue;
        PQclear(r);
        r = PQexec(c, steps[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            goto out_err;
        PQclear(r);
        opg_buf_reset(&sql);
        opg_buf_addf(&sql, "INSERT INTO \"%s\".migrations (version) VALUES ($1)", schema);
        r = PQexecParams(c, sql.data, 1, NULL, params + 1, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            goto out_err;
        opg_info("%s: migration %d applied", schema, i + 1);
    }
    if (svc_db_cmd(c, "COMMIT") == 0)
        rc = 0;
    goto out_rollback;
out_err:
    opg_error("migrations of %s: %s", schema, PQresultErrorMessage(r));
out_rollback:
    PQclear(r);
    if (rc < 0 && PQtransactionStatus(c) != PQTRANS_IDLE)
        svc_db_cmd(c, "ROLLBACK");
    svc_db_put(db, c);
out:
    opg_buf_release(&sql);
    return rc;
}

bool svc_db_ping(struct svc_db *db, char *detail, size_t len)
{
    PGconn *c = svc_db_get(db);
    PGresult *r;
    bool ok;

    if (!c) {
        snprintf(detail, len, "%s", svc_db_last_error(db));
        return false;
    }
    r = PQexec(c, "SELECT 1");
    ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    snprintf(detail, len, "%s", ok ? "" : PQerrorMessage(c));
    PQclear(r);
    svc_db_put(db, c);
    return ok;
}
