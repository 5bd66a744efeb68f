/*
 * What every order-domain service shares around its own work: the settings
 * every one has (listen address, telemetry export, outbound call policy),
 * start-up (configuration table, log level, signals, the exporter) and
 * shutdown.
 */
#ifndef SVC_APP_H
#define SVC_APP_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

struct svc_app_config {
    const char *listen;
    const char *log_level;
    const char *otlp_endpoint;
    const char *service_name;
    const char *admin_token;
    long long threads;
    long long max_body;
    long long queue_size;
    long long batch_size;
    long long delay_ms;
    long long metric_interval_ms;
    long long export_timeout_ms;
    long long call_timeout_ms;
    long long retries;
    long long backoff_base_ms;
    long long backoff_max_ms;
    long long breaker_threshold;
    long long breaker_open_ms;
};

/*
 * The option rows every service has, for a config struct `type` holding a
 * `struct svc_app_config app`. PFX names the service in its environment
 * variables (OTELPG_<PFX>_LISTEN); NAME is the default service.name.
 */
#define SVC_APP_OPT(type, f) offsetof(type, app.f)
#define SVC_APP_OPTIONS(type, PFX, NAME, LISTEN)                                                   \
    {"listen",                                                                                     \
     "OTELPG_" PFX "_LISTEN",                                                                      \
     OPG_OPT_STR,                                                                                  \
     LISTEN,                                                                                       \
     0,                                                                                            \
     0,                                                                                            \
     SVC_APP_OPT(type, listen),                                                                    \
     "listen address, host:port"},                                                                 \
        {"log-level",                                                                              \
         "OTELPG_LOG_LEVEL",                                                                       \
         OPG_OPT_STR,                                                                              \
         "info",                                                                                   \
         0,                                                                                        \
         0,                                                                                        \
         SVC_APP_OPT(type, log_level),                                                             \
         "debug, info, warn or error"},                                                            \
        {"otlp-endpoint",                                                                          \
         "OTEL_EXPORTER_OTLP_ENDPOINT",                                                            \
         OPG_OPT_STR,                                                                              \
         "http://127.0.0.1:4318",                                                                  \
         0,                                                                                        \
         0,                                                                                        \
         SVC_APP_OPT(type, otlp_endpoint),                                                         \
         "OTLP/HTTP base URL telemetry is sent to (\"\" sends nothing)"},                          \
        {"service-name",                                                                           \
         "OTEL_SERVICE_NAME",                                                                      \
         OPG_OPT_STR,                                                                              \
         NAME,                                                                                     \
         0,                                                                                        \
         0,                                                                                        \
         SVC_APP_OPT(type, service_name),                                                          \
         "service.name of everything this process emits"},                                         \
        {"admin-token",                                                                            \
         "OTELPG_ADMIN_TOKEN",                                                                     \
         OPG_OPT_STR,                                                                              \
         "otelpg-admin",                                                                           \
         0,                                                                                        \
         0,                                                                                        \
         SVC_APP_OPT(type, admin_token),                                                           \
         "bearer token for POST /admin/faults (\"\" disables the admin endpoints)"},               \
        {"http-threads",                                                                           \
         "OTELPG_" PFX "_THREADS",                                                                 \
         OPG_OPT_INT,                                                                              \
         "8",                                                                                      \
         1,                                                                                        \
         256,                                                                                      \
         SVC_APP_OPT(type, threads),                                                               \
         "threads serving requests"},                                                              \
        {"max-body",                                                                               \
         "OTELPG_SVC_MAX_BODY",                                                                    \
         OPG_OPT_SIZE,                                                                             \
         "64k",                                                                                    \
         1024,                                                                                     \
         16 << 20,                                                                                 \
         SVC_APP_OPT(type, max_body),                                                              \
         "largest request body accepted"},                                                         \
        {"export-queue",                                                                           \
         "OTEL_BSP_MAX_QUEUE_SIZE",                                                                \
         OPG_OPT_INT,                                                                              \
         "2048",                                                                                   \
         1,                                                                                        \
         1000000,                                                                                  \
         SVC_APP_OPT(type, queue_size),                                                            \
         "spans (and log records) waiting for export at most"},                                    \
        {"export-batch",                                                                           \
         "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",                                                         \
         OPG_OPT_INT,                                                                              \
         "512",                                                                                    \
         1,                                                                                        \
         100000,                                                                                   \
         SVC_APP_OPT(type, batch_size),                                                            \
         "items in one export request at most"},                                                   \
        {"export-delay",                                                                           \
         "OTEL_BSP_SCHEDULE_DELAY",                                                                \
         OPG_OPT_DURATION,                                                                         \
         "1000",                                                                                   \
         10,                                                                                       \
         600000,                                                                                   \
         SVC_APP_OPT(type, delay_ms),                                                              \
         "longest an item waits before it is exported"},                                           \
        {"metric-interval",                                                                        \
         "OTEL_METRIC_EXPORT_INTERVAL",                                                            \
         OPG_OPT_DURATION,                                                                         \
         "10000",                                                                                  \
         100,                                                                                      \
         3600000,                                                                                  \
         SVC_APP_OPT(type, metric_interval_ms),                                                    \
         "metrics are exported this often"},                                                       \
        {"export-timeout",                                                                         \
         "OTEL_EXPORTER_OTLP_TIMEOUT",                                                             \
         OPG_OPT_DURATION,                                                                         \
         "3000",                                                                                   \
         10,                                                                                       \
         600000,                                                                                   \
         SVC_APP_OPT(type, export_timeout_ms),                                                     \
         "one export request at most"},                                                            \
        {"call-timeout",                                                                           \
         "OTELPG_SVC_CALL_TIMEOUT",                                                                \
         OPG_OPT_DURATION,                                                                         \
         "2s",                                                                                     \
         10,                                                                                       \
         600000,                                                                                   \
         SVC_APP_OPT(type, call_timeout_ms),                                                       \
         "one call to another service at most"},                                                   \
        {"call-retries",                                                                           \
         "OTELPG_SVC_CALL_RETRIES",                                                                \
         OPG_OPT_INT,                                                                              \
         "2",                                                                                      \
         0,                                                                                        \
         10,                                                                                       \
         SVC_APP_OPT(type, retries),                                                               \
         "retries of an idempotent call that failed"},                                             \
        {"backoff-base",                                                                           \
         "OTELPG_SVC_BACKOFF_BASE",                                                                \
         OPG_OPT_DURATION,                                                                         \
         "50",                                                                                     \
         1,                                                                                        \
         60000,                                                                                    \
         SVC_APP_OPT(type, backoff_base_ms),                                                       \
         "backoff ceiling before the first retry"},                                                \
        {"backoff-max", "OTELPG_SVC_BACKOFF_MAX",          OPG_OPT_DURATION,         "1s", 1,      \
         600000,        SVC_APP_OPT(type, backoff_max_ms), "backoff ceiling at most"},             \
        {"breaker-threshold",                                                                      \
         "OTELPG_SVC_BREAKER_THRESHOLD",                                                           \
         OPG_OPT_INT,                                                                              \
         "5",                                                                                      \
         1,                                                                                        \
         1000,                                                                                     \
         SVC_APP_OPT(type, breaker_threshold),                                                     \
         "failures in a row that open a circuit breaker"},                                         \
    {                                                                                              \
        "breaker-open", "OTELPG_SVC_BREAKER_OPEN", OPG_OPT_DURATION, "5s", 10, 3600000,            \
            SVC_APP_OPT(type, breaker_open_ms), "how long an open breaker refuses calls"           \
    }

/*
 * Loads the configuration, applies the log level, installs the SIGTERM and
 * SIGINT handlers and starts the exporter. Returns -1 to go on, else the
 * exit code for main.
 */
int svc_app_init(const struct opg_option *opts, void *cfg, const struct svc_app_config *app,
                 int argc, char **argv, const char *prog, const char *summary);
/* True once SIGTERM or SIGINT has arrived. */
bool svc_app_stopping(void);
/* Sleeps until SIGTERM or SIGINT; returns the signal. */
int svc_app_wait(void);
/* Flushes and stops the exporter. */
void svc_app_shutdown(void);

#endif
