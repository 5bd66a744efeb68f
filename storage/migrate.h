/*
 * Schema migrations: numbered SQL files in storage/migrations, compiled into
 * the binary, applied in order and recorded in otelpg_migrations. A file is
 * never edited once it has landed; a change is a new file.
 */
#ifndef OPG_MIGRATE_H
#define OPG_MIGRATE_H

#include <libpq-fe.h>

struct opg_migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct opg_migration opg_migrations[];
extern const int opg_migrations_count;

/*
 * Brings the schema up to date. Safe to run twice and from two processes at
 * once: it holds a session advisory lock while it works, and each migration
 * is applied in its own transaction together with its record.
 * Returns 0, or -1 with the reason logged.
 */
int opg_migrate(PGconn *conn);

#endif
