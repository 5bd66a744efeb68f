#include "migrate.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

#define MIGRATE_LOCK_KEY "7013370001"

static int exec_ok(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ret = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        opg_error("migrate: %s: %s", what, PQerrorMessage(conn));
        ret = -1;
    }
    PQclear(res);
    return ret;
}

/* Whether migration version is recorded as applied. -1 on error. */
static int is_applied(PGconn *conn, int version)
{
    char v[16];
    const char *params[1] = {v};
    PGresult *res;
    int ret = -1;

    snprintf(v, sizeof(v), "%d", version);
    res = PQexecParams(conn, "SELECT 1 FROM otelpg_migrations WHERE version = $1::integer", 1, NULL,
                       params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        ret = PQntuples(res) > 0;
    else
        opg_error("migrate: reading otelpg_migrations: %s", PQerrorMessage(conn));
    PQclear(res);
    return ret;
}

int opg_migrate(PGconn *conn)
{
    int ret = -1;

    if (exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "taking the lock") < 0)
        return -1;
    if (exec_ok(conn,
                "SET client_min_messages = warning;"
                "CREATE TABLE IF NOT EXISTS otelpg_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                "creating otelpg_migrations") < 0)
        goto out_unlock;
    for (int i = 0; i < opg_migrations_count; i++) {
        const struct opg_migration *m = &opg_migrations[i];
        const char *params[2];
        char version[16];
        PGresult *res;

        /* every migration not recorded yet, in order: one that lands with a
         * lower number than one applied already is still applied */
        int applied = is_applied(conn, m->version);
        if (applied < 0)
            goto out_unlock;
        if (applied)
            continue;
        if (exec_ok(conn, "BEGIN", "begin") < 0)
            goto out_unlock;
        if (exec_ok(conn, m->sql, m->name) < 0) {
            exec_ok(conn, "ROLLBACK", "rollback");
            goto out_unlock;
        }
        snprintf(version, sizeof(version), "%d", m->version);
        params[0] = version;
        params[1] = m->name;
        res = PQexecParams(conn, "INSERT INTO otelpg_migrations (version, name) VALUES ($1, $2)", 2,
                           NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            opg_error("migrate: recording %s: %s", m->name, PQerrorMessage(conn));
            PQclear(res);
            exec_ok(conn, "ROLLBACK", "rollback");
            goto out_unlock;
        }
        PQclear(res);
        if (exec_ok(conn, "COMMIT", "commit") < 0)
            goto out_unlock;
        opg_info("migrate: applied %s", m->name);
    }
    ret = 0;
out_unlock:
    exec_ok(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "releasing the lock");
    return ret;
}
