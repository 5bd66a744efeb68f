#include "svc_app.h"

#include "inst_export.h"
#include "inst_log.h"
#include "inst_metric.h"

#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

bool svc_app_stopping(void)
{
    return got_signal != 0;
}

int svc_app_wait(void)
{
    while (!got_signal)
        pause();
    return got_signal;
}

int svc_app_init(const struct opg_option *opts, void *cfg, const struct svc_app_config *app,
                 int argc, char **argv, const char *prog, const char *summary)
{
    struct inst_export_config ec;
    enum opg_log_level ol;
    enum inst_level il;
    struct sigaction sa;
    int rc;

    rc = opg_config_load(opts, cfg, argc, argv, prog, summary);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (opg_log_parse_level(app->log_level, &ol) < 0 ||
        inst_log_parse_level(app->log_level, &il) < 0) {
        fprintf(stderr, "%s: unknown log level '%s'\n", prog, app->log_level);
        return 2;
    }
    opg_log_set_level(ol);
    inst_log_set_level(il);
    opg_config_log(opts, cfg);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* a peer that hangs up mid-response is an error to handle, not a death */
    signal(SIGPIPE, SIG_IGN);
    inst_metric_init(512);
    ec.service_name = app->service_name;
    ec.service_version = "1.0.0";
    ec.endpoint = app->otlp_endpoint;
    ec.queue_size = app->queue_size;
    ec.batch_size = app->batch_size;
    ec.delay_ms = app->delay_ms;
    ec.metric_interval_ms = app->metric_interval_ms;
    ec.timeout_ms = app->export_timeout_ms;
    if (inst_export_start(&ec) < 0) {
        fprintf(stderr, "%s: cannot start the telemetry exporter\n", prog);
        return 1;
    }
    return -1;
}

void svc_app_shutdown(void)
{
    inst_export_stop();
}
