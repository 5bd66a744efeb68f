/*
 * A service's PostgreSQL: a small pool of connections (one per serving
 * thread at most), its own schema created by numbered migrations recorded
 * in <schema>.migrations, and queries run under a CLIENT span.
 */
#ifndef SVC_DB_H
#define SVC_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

struct svc_db;

/* conninfo: libpq string or URL (borrowed, must outlive the pool). */
struct svc_db *svc_db_create(const char *conninfo, const char *app_name, int size);
void svc_db_destroy(struct svc_db *db);

/*
 * Borrows a connection (connecting if needed), waiting for a free one at
 * most a few seconds. NULL if none could be had; the reason is in
 * svc_db_last_error().
 */
PGconn *svc_db_get(struct svc_db *db);
/* Returns a borrowed connection; a broken one is closed and made anew later. */
void svc_db_put(struct svc_db *db, PGconn *c);
const char *svc_db_last_error(struct svc_db *db);

/*
 * Runs sql with text parameters under a CLIENT span named span_name.
 * Returns the result (caller PQclear()s it), or NULL on failure (the span
 * says why). "OK" means PGRES_COMMAND_OK or PGRES_TUPLES_OK.
 */
PGresult *svc_db_exec(PGconn *c, const char *span_name, const char *sql, int n,
                      const char *const *params);
/* Plain statements without a span (BEGIN, COMMIT, ROLLBACK). 0 or -1. */
int svc_db_cmd(PGconn *c, const char *sql);

/*
 * Creates schema and applies steps[i] as migration i+1 unless already
 * recorded, all in one transaction under an advisory lock (several
 * instances may start at once). Returns 0 or -1 after logging why.
 */
int svc_db_migrate(struct svc_db *db, const char *schema, const char *const *steps, int n);

/* SELECT 1 on a pooled connection; false with the reason in detail. */
bool svc_db_ping(struct svc_db *db, char *detail, size_t len);

#endif
