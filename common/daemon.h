/*
 * What both daemons do around their real work: read the configuration
 * table, check the settings every daemon has (log level, database), install
 * the signal handlers, and wait for SIGTERM or SIGINT.
 */
#ifndef OPG_DAEMON_H
#define OPG_DAEMON_H

#include "config.h"

/*
 * Loads cfg from opts (see opg_config_load), then checks and applies
 * log_level and db, which the caller reads back from cfg after the load
 * through the two offsets. Returns -1 to go on, or the exit code to return
 * from main (0 after --help, 2 for a bad setting).
 */
int opg_daemon_init(const struct opg_option *opts, void *cfg, size_t log_level_offset,
                    size_t db_offset, int argc, char **argv, const char *prog, const char *summary);

/* True once SIGTERM or SIGINT has arrived. */
int opg_daemon_signalled(void);

/* Sleeps until SIGTERM or SIGINT; returns the signal. */
int opg_daemon_wait(void);

#endif
