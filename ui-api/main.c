/*
 * otelpg-api: serves stored telemetry back (OTLP/JSON and Jaeger JSON).
 */
#include "api.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "dicts.h"
#include "log.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CFG(field) offsetof(struct api_config, field)

static const struct opg_option options[] = {
    {"db", "OTELPG_DB", OPG_OPT_STR, "postgresql:///otelpg", 0, 0, CFG(db),
     "PostgreSQL connection string or URL"},
    {"listen", "OTELPG_API_LISTEN", OPG_OPT_STR, "127.0.0.1:16686", 0, 0, CFG(listen),
     "query API listen address, host:port"},
    {"log-level", "OTELPG_LOG_LEVEL", OPG_OPT_STR, "info", 0, 0, CFG(log_level),
     "debug, info, warn or error"},
    {"http-threads", "OTELPG_API_THREADS", OPG_OPT_INT, "4", 1, 256, CFG(http_threads),
     "threads serving queries (each may hold one PostgreSQL connection)"},
    {"max-connections", "OTELPG_API_MAX_CONNECTIONS", OPG_OPT_INT, "256", 1, 65536,
     CFG(max_connections), "concurrent client connections"},
    {"connection-timeout", "OTELPG_API_CONNECTION_TIMEOUT", OPG_OPT_DURATION, "30s", 1000, 3600000,
     CFG(connection_timeout_ms), "idle time after which a connection is closed"},
    {"max-trace-spans", "OTELPG_MAX_TRACE_SPANS", OPG_OPT_INT, "200000", 1, 10000000,
     CFG(max_trace_spans), "spans returned for one trace at most (the earliest are kept)"},
    {"tls-cert", "OTELPG_API_TLS_CERT", OPG_OPT_STR, "", 0, 0, CFG(tls_cert),
     "PEM certificate (chain): with --tls-key, the API is served over TLS"},
    {"tls-key", "OTELPG_API_TLS_KEY", OPG_OPT_STR, "", 0, 0, CFG(tls_key), "PEM private key"},
    {"max-header-size", "OTELPG_API_MAX_HEADER_SIZE", OPG_OPT_SIZE, "32k", 4096, 1 << 20,
     CFG(max_header_size), "memory for one connection's request line and headers"},
    {"query-token", "OTELPG_QUERY_TOKEN", OPG_OPT_STR, "", 0, 0, CFG(query_token),
     "if set, the API and the page require Authorization: Bearer <token> (401 otherwise)"},
    {"query-timeout", "OTELPG_QUERY_TIMEOUT", OPG_OPT_DURATION, "30s", 100, 3600000,
     CFG(query_timeout_ms), "a database query taking longer is cancelled (the answer is an error)"},
    {"search-max-spans", "OTELPG_SEARCH_MAX_SPANS", OPG_OPT_INT, "200000", 100, 100000000,
     CFG(search_max_spans),
     "candidates one trace search examines at most: trace parts walked, plus the spans checked "
     "inside them (then it says so)"},
    {"dependencies-max-spans", "OTELPG_DEPENDENCIES_MAX_SPANS", OPG_OPT_INT, "1000000", 1000,
     20000000, CFG(dependencies_max_spans),
     "spans one dependency graph joins to their parents at most (the most recent; it says so; "
     "about 50 bytes of memory each)"},
    OPG_OPT_END,
};

int main(int argc, char **argv)
{
    struct api api;
    struct opg_http_config http;
    struct MHD_Daemon *d;
    int rc, sig;

    memset(&api, 0, sizeof(api));
    rc = opg_daemon_init(options, &api.cfg, CFG(log_level), CFG(db), argc, argv, "otelpg-api",
                         "Serves traces stored by otelpg-collector: OTLP/JSON "
                         "(/api/v3/traces/{id}) and the Jaeger HTTP API (/api/traces/{id}).");
    if (rc >= 0)
        return rc;

    opg_api_register_metrics();
    api.pool = opg_pg_pool_create(api.cfg.db, "otelpg-api", (int)api.cfg.http_threads,
                                  api.cfg.query_timeout_ms);
    api.monitor = opg_pg_monitor_create(api.cfg.db, "otelpg-api", 1000);
    if (!api.monitor)
        return 1;
    /* span blocks name their zstd dictionaries; the first use of one loads it */
    opg_dicts_set_database(api.cfg.db);
    http.listen = api.cfg.listen;
    http.threads = (int)api.cfg.http_threads;
    http.max_connections = (unsigned)api.cfg.max_connections;
    http.connection_timeout_s = (unsigned)((api.cfg.connection_timeout_ms + 999) / 1000);
    http.connection_memory = (size_t)api.cfg.max_header_size;
    http.suspend_resume = false;
    http.tls_cert = api.cfg.tls_cert;
    http.tls_key = api.cfg.tls_key;
    d = opg_http_start(&http, opg_api_handler, &api, NULL, NULL);
    if (!d) {
        /* join the monitor before exiting: a thread still inside libpq at
         * exit makes libkrb5's destructors abort */
        opg_pg_monitor_destroy(api.monitor);
        opg_pg_pool_destroy(api.pool);
        return 1;
    }
    opg_info("otelpg-api listening on http://%s", api.cfg.listen);
    sig = opg_daemon_wait();
    opg_info("signal %d: stopping", sig);
    MHD_stop_daemon(d);
    opg_pg_monitor_destroy(api.monitor);
    opg_pg_pool_destroy(api.pool);
    opg_info("stopped");
    return 0;
}
