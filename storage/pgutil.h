/*
 * PostgreSQL helpers shared by the daemons: connecting with sane defaults,
 * a reachability monitor for /ready, and a small connection pool.
 */
#ifndef OPG_PGUTIL_H
#define OPG_PGUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* Integers of a binary-format result column (PostgreSQL sends them big-endian). */
int64_t opg_pg_int8(const char *p);
int32_t opg_pg_int4(const char *p);
int16_t opg_pg_int2(const char *p);

/*
 * Connects with conninfo (a libpq connection string or URL), a connect
 * timeout of 5 s and application_name set. Returns a connection that may be
 * CONNECTION_BAD (check PQstatus); never NULL.
 */
PGconn *opg_pg_connect(const char *conninfo, const char *application_name);

/*
 * Pings PostgreSQL from its own thread every interval_ms, so that /ready
 * answers from memory and never waits on the database.
 */
struct opg_pg_monitor;
struct opg_pg_monitor *opg_pg_monitor_create(const char *conninfo, const char *application_name,
                                             int interval_ms);
/* True if the last ping succeeded; otherwise reason holds why. */
bool opg_pg_monitor_ok(struct opg_pg_monitor *m, char *reason, size_t n);
void opg_pg_monitor_destroy(struct opg_pg_monitor *m);

/*
 * A fixed pool of connections, opened on first use and reopened when broken.
 * Every statement on them is cancelled after statement_timeout_ms (0: never),
 * so that no query a client can shape runs unbounded.
 */
struct opg_pg_pool;
struct opg_pg_pool *opg_pg_pool_create(const char *conninfo, const char *application_name, int size,
                                       long long statement_timeout_ms);
/* Waits for a free connection; NULL (with err) if it cannot connect. */
PGconn *opg_pg_pool_get(struct opg_pg_pool *p, char *err, size_t errlen);
/* Returns a connection taken with opg_pg_pool_get. */
void opg_pg_pool_put(struct opg_pg_pool *p, PGconn *conn);
void opg_pg_pool_destroy(struct opg_pg_pool *p);

#endif
