#include "daemon.h"
#include "log.h"

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

int opg_daemon_init(const struct opg_option *opts, void *cfg, size_t log_level_offset,
                    size_t db_offset, int argc, char **argv, const char *prog, const char *summary)
{
    const char *level_name, *db;
    enum opg_log_level level;
    PQconninfoOption *parsed;
    char *msg = NULL;
    struct sigaction sa;
    int rc;

    rc = opg_config_load(opts, cfg, argc, argv, prog, summary);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    level_name = *(const char **)((char *)cfg + log_level_offset);
    db = *(const char **)((char *)cfg + db_offset);
    if (opg_log_parse_level(level_name, &level) < 0) {
        fprintf(stderr, "%s: unknown log level '%s'\n", prog, level_name);
        return 2;
    }
    /* a typo in the connection string fails now, not at the first write */
    parsed = PQconninfoParse(db, &msg);
    if (!parsed) {
        fprintf(stderr, "%s: --db: %s", prog, msg ? msg : "cannot parse the connection string\n");
        PQfreemem(msg);
        return 2;
    }
    PQconninfoFree(parsed);
    opg_log_set_level(level);
    opg_config_log(opts, cfg);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return -1;
}

int opg_daemon_signalled(void)
{
    return got_signal;
}

int opg_daemon_wait(void)
{
    while (!got_signal)
        pause();
    return got_signal;
}
