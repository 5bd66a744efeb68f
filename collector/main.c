/*
 * otelpg-collector: receives OTLP over HTTP and stores it in PostgreSQL.
 */
#include "collector.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "stats.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFG(field) offsetof(struct collector_config, field)

static const struct opg_option options[] = {
    {"db", "OTELPG_DB", OPG_OPT_STR, "postgresql:///otelpg", 0, 0, CFG(db),
     "PostgreSQL connection string or URL"},
    {"listen", "OTELPG_COLLECTOR_LISTEN", OPG_OPT_STR, "127.0.0.1:4318", 0, 0, CFG(listen),
     "OTLP/HTTP listen address, host:port"},
    {"listen-grpc", "OTELPG_COLLECTOR_LISTEN_GRPC", OPG_OPT_STR, "127.0.0.1:4317", 0, 0,
     CFG(listen_grpc), "OTLP/gRPC listen address, host:port (empty: no gRPC)"},
    {"log-level", "OTELPG_LOG_LEVEL", OPG_OPT_STR, "info", 0, 0, CFG(log_level),
     "debug, info, warn or error"},
    {"http-threads", "OTELPG_HTTP_THREADS", OPG_OPT_INT, "2", 1, 256, CFG(http_threads),
     "threads that receive and decode requests"},
    {"writer-threads", "OTELPG_WRITER_THREADS", OPG_OPT_INT, "1", 1, 64, CFG(writer_threads),
     "threads (and PostgreSQL connections) that write; one merges every queued request "
     "into its transaction and contends with nobody for the summary rows (bench/RESULTS.md)"},
    {"max-body-size", "OTELPG_MAX_BODY_SIZE", OPG_OPT_SIZE, "16m", 1024, 1LL << 30,
     CFG(max_body_size), "largest request body, counted after decompression (413 above)"},
    {"max-connections", "OTELPG_MAX_CONNECTIONS", OPG_OPT_INT, "1024", 1, 65536,
     CFG(max_connections), "concurrent client connections"},
    {"connection-timeout", "OTELPG_CONNECTION_TIMEOUT", OPG_OPT_DURATION, "30s", 1000, 3600000,
     CFG(connection_timeout_ms), "idle time after which a client connection is closed"},
    {"max-header-size", "OTELPG_MAX_HEADER_SIZE", OPG_OPT_SIZE, "32k", 4096, 1 << 20,
     CFG(max_header_size), "memory for one connection's request line and headers"},
    {"queue-size", "OTELPG_QUEUE_SIZE", OPG_OPT_SIZE, "64m", 1 << 20, 16LL << 30, CFG(queue_size),
     "encoded bytes waiting for the writers (503 above)"},
    {"txn-size", "OTELPG_TXN_SIZE", OPG_OPT_SIZE, "8m", 64 << 10, 1LL << 30, CFG(txn_size),
     "encoded bytes written in one transaction, at most"},
    {"accept-past", "OTELPG_ACCEPT_PAST", OPG_OPT_DURATION, "7d", 0, 3650LL * 86400000,
     CFG(accept_past_ms),
     "items older than this (at most the retention less a day) are filed under the day they "
     "arrived"},
    {"accept-future", "OTELPG_ACCEPT_FUTURE", OPG_OPT_DURATION, "1d", 0, 30LL * 86400000,
     CFG(accept_future_ms), "spans that start further ahead are filed under the day they arrived"},
    {"max-anyvalue-depth", "OTELPG_MAX_ANYVALUE_DEPTH", OPG_OPT_INT, "32", 1, 100,
     CFG(max_anyvalue_depth), "nesting depth of attribute values accepted in OTLP/JSON"},
    {"max-items", "OTELPG_MAX_ITEMS", OPG_OPT_INT, "100000", 1, 100000000, CFG(max_items),
     "spans, log records or data points in one request, at most (413 above)"},
    {"max-attributes", "OTELPG_MAX_ATTRIBUTES", OPG_OPT_INT, "1024", 1, 1000000,
     CFG(max_attributes), "entries in one attribute list or kvlist, at most (413 above)"},
    {"max-attribute-length", "OTELPG_MAX_ATTRIBUTE_LENGTH", OPG_OPT_SIZE, "4m", 16, 1LL << 30,
     CFG(max_attribute_length), "bytes in one string or bytes value, at most (413 above)"},
    {"retry-after", "OTELPG_RETRY_AFTER", OPG_OPT_DURATION, "1s", 1000, 3600000,
     CFG(retry_after_ms), "Retry-After sent with 503 answers"},
    {"ack-timeout", "OTELPG_ACK_TIMEOUT", OPG_OPT_DURATION, "5s", 100, 3600000, CFG(ack_timeout_ms),
     "an export not committed by then is answered 503 (its data stays queued)"},
    {"shutdown-timeout", "OTELPG_SHUTDOWN_TIMEOUT", OPG_OPT_DURATION, "10s", 0, 3600000,
     CFG(shutdown_timeout_ms), "on SIGTERM, how long to wait for queued data to be written"},
    {"zstd-level", "OTELPG_ZSTD_LEVEL", OPG_OPT_INT, "1", -5, 19, CFG(zstd_level),
     "zstd level for stored payloads"},
    {"zstd-dicts", "OTELPG_ZSTD_DICTS", OPG_OPT_BOOL, "true", 0, 1, CFG(zstd_dicts),
     "compress span blocks with dictionaries made of recent blocks (a sixth fewer bytes)"},
    {"zstd-block-level", "OTELPG_ZSTD_BLOCK_LEVEL", OPG_OPT_INT, "-1", -7, 19,
     CFG(zstd_block_level),
     "zstd level for span blocks compressed with a dictionary (with one, the fast negative "
     "levels lose little)"},
    {"tls-cert", "OTELPG_TLS_CERT", OPG_OPT_STR, "", 0, 0, CFG(tls_cert),
     "PEM certificate (chain): with --tls-key, OTLP/HTTP is served over TLS"},
    {"tls-key", "OTELPG_TLS_KEY", OPG_OPT_STR, "", 0, 0, CFG(tls_key), "PEM private key"},
    {"ingest-token", "OTELPG_INGEST_TOKEN", OPG_OPT_STR, "", 0, 0, CFG(ingest_token),
     "if set, exports must carry Authorization: Bearer <token> (401 otherwise)"},
    {"retention", "OTELPG_RETENTION", OPG_OPT_DURATION, "7d", 0, 36500LL * 86400000,
     CFG(retention_ms), "days of data kept; older day partitions are dropped (0: keep all)"},
    {"db-budget", "OTELPG_DB_BUDGET", OPG_OPT_SIZE, "0", 0, 1LL << 56, CFG(db_budget),
     "disk budget of the database, watched and reported in /ready and /metrics (0: none)"},
    {"maintenance-interval", "OTELPG_MAINTENANCE_INTERVAL", OPG_OPT_DURATION, "1h", 1000, 86400000,
     CFG(maintenance_interval_ms),
     "how often partitions are created ahead, old days dropped and the size measured"},
    {"discard", "OTELPG_DISCARD", OPG_OPT_BOOL, "false", 0, 1, CFG(discard),
     "benchmarks only: decode, check and encode every request as for storage, then drop it "
     "and acknowledge it; no database is used and NOTHING IS STORED (bench/ingest.sh)"},
    {"spool-dir", "OTELPG_SPOOL_DIR", OPG_OPT_STR, "", 0, 0, CFG(spool_dir),
     "directory of the on-disk spool: exports are acknowledged once fsynced there and keep "
     "being accepted while PostgreSQL is down (empty: acknowledge after the commit)"},
    {"spool-max-size", "OTELPG_SPOOL_MAX_SIZE", OPG_OPT_SIZE, "1g", 1 << 20, 1LL << 50,
     CFG(spool_max_size), "disk budget of the spool (503 above)"},
    {"spool-segment-size", "OTELPG_SPOOL_SEGMENT_SIZE", OPG_OPT_SIZE, "64m", 64 << 10, 1LL << 32,
     CFG(spool_segment_size), "size at which a spool segment file is closed"},
    {"correlation-keys", "OTELPG_CORRELATION_KEYS", OPG_OPT_STR,
     "correlation.id,correlation_id,request.id,order.id", 0, 0, CFG(correlation_keys),
     "comma-separated attribute keys whose values are indexed as correlation IDs"},
    OPG_ALERTS_OPTIONS(CFG(alerts)),
    OPG_OPT_END,
};

static int migrate_with_retry(struct collector *col)
{
    long delay_ms = 200;

    while (!opg_daemon_signalled()) {
        PGconn *conn = opg_pg_connect(col->cfg.db, "otelpg-collector");
        int rc = -1;

        if (PQstatus(conn) == CONNECTION_OK)
            rc = opg_migrate(conn);
        else
            OPG_LOG_EVERY(10, OPG_LOG_WARN, "cannot connect to PostgreSQL to migrate: %s",
                          PQerrorMessage(conn));
        PQfinish(conn);
        if (rc == 0)
            return 0;
        usleep((useconds_t)delay_ms * 1000);
        delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
    }
    return -1;
}

/*
 * Stop accepting connections, let the writers commit what is queued
 * (answering the waiting clients; requests still arriving on open
 * connections are answered 503), then close. The writer is freed only after
 * the HTTP threads are gone, since they may still hand it data.
 */
static void drain_and_stop(struct collector *col)
{
    MHD_socket s = MHD_quiesce_daemon(col->httpd);

    if (s != MHD_INVALID_SOCKET)
        close(s);
    opg_grpc_quiesce(col->grpc);
    atomic_store(&col->stopping, true);
    /* the spool answers what it has queued and feeds the writer while it can */
    opg_spool_close(col->spool, col->cfg.shutdown_timeout_ms);
    opg_writer_drain(col->writer, col->cfg.shutdown_timeout_ms);
    /* give resumed connections a moment to send their answers */
    for (int i = 0; i < 50; i++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(col->httpd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0)
            break;
        usleep(20000);
    }
    /* the writer has answered what it could: the rest gets UNAVAILABLE */
    opg_grpc_stop(col->grpc, 1000);
    MHD_stop_daemon(col->httpd);
    col->httpd = NULL;
    opg_writer_destroy(col->writer);
    col->writer = NULL;
    opg_spool_destroy(col->spool);
    col->spool = NULL;
    opg_acks_destroy(col->acks);
    col->acks = NULL;
    opg_acks_destroy(col->grpc_acks);
    col->grpc_acks = NULL;
    /* no ack can fire any more */
    opg_grpc_destroy(col->grpc);
    col->grpc = NULL;
}

static void split_keys(struct collector *col)
{
    const char *p = col->cfg.correlation_keys;

    while (*p) {
        size_t n = strcspn(p, ",");
        while (n && (*p == ' ')) {
            p++;
            n--;
        }
        if (n) {
            col->corr_keys = opg_xrealloc(col->corr_keys, (col->n_corr_keys + 1) * sizeof(char *));
            col->corr_keys[col->n_corr_keys] = opg_xcalloc(1, n + 1);
            memcpy(col->corr_keys[col->n_corr_keys], p, n);
            while (n && col->corr_keys[col->n_corr_keys][n - 1] == ' ')
                col->corr_keys[col->n_corr_keys][--n] = '\0';
            col->n_corr_keys++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
}

/*
 * Stops what start-up got running, in reverse order (every stop accepts
 * NULL), so that no thread is still inside libpq when the process exits:
 * libkrb5's exit-time destructors abort if one is.
 */
static int fail_startup(struct collector *col)
{
    opg_grpc_destroy(col->grpc);
    if (col->httpd)
        MHD_stop_daemon(col->httpd);
    opg_spool_close(col->spool, 0);
    opg_writer_destroy(col->writer);
    opg_spool_destroy(col->spool);
    opg_alerts_stop(col->alerts);
    opg_maintenance_stop(col->maintenance);
    opg_acks_destroy(col->acks);
    opg_acks_destroy(col->grpc_acks);
    opg_pg_monitor_destroy(col->monitor);
    return 1;
}

int main(int argc, char **argv)
{
    struct collector col;
    struct opg_http_config http;
    struct opg_writer_config wcfg;
    int rc, sig;

    memset(&col, 0, sizeof(col));
    rc = opg_daemon_init(options, &col.cfg, CFG(log_level), CFG(db), argc, argv, "otelpg-collector",
                         "Receives OpenTelemetry traces over OTLP/HTTP (protobuf and JSON) and "
                         "stores them in PostgreSQL.");
    if (rc >= 0)
        return rc;

    split_keys(&col);
    opg_ingest_register_metrics();
    opg_grpc_register_metrics();
    col.acks = opg_acks_create(col.cfg.ack_timeout_ms, opg_ingest_ack_answer);
    col.grpc_acks = opg_acks_create(col.cfg.ack_timeout_ms, opg_grpc_ack_answer);
    if (!col.acks || !col.grpc_acks)
        return fail_startup(&col);
    if (col.cfg.discard) {
        opg_warn("--discard: every request is decoded and acknowledged, and then dropped: "
                 "nothing is stored");
        goto listen;
    }
    if (migrate_with_retry(&col) < 0)
        return fail_startup(&col);

    wcfg.conninfo = col.cfg.db;
    wcfg.threads = (int)col.cfg.writer_threads;
    wcfg.queue_max_bytes = (size_t)col.cfg.queue_size;
    wcfg.txn_max_bytes = (size_t)col.cfg.txn_size;
    col.writer = opg_writer_create(&wcfg);
    col.monitor = opg_pg_monitor_create(col.cfg.db, "otelpg-collector", 1000);
    if (!col.writer || !col.monitor)
        return fail_startup(&col);
    {
        struct opg_maintenance_config mcfg = {col.cfg.db, col.cfg.retention_ms, col.cfg.db_budget,
                                              col.cfg.maintenance_interval_ms};
        col.maintenance = opg_maintenance_start(&mcfg);
        if (!col.maintenance)
            return fail_startup(&col);
    }
    col.alerts = opg_alerts_start(&col.cfg.alerts, col.cfg.db);
    if (!col.alerts)
        return fail_startup(&col);
    if (col.cfg.spool_dir[0]) {
        struct opg_spool_config scfg = {col.cfg.spool_dir, (size_t)col.cfg.spool_max_size,
                                        (size_t)col.cfg.spool_segment_size};
        col.spool = opg_spool_open(&scfg, col.writer);
        if (!col.spool)
            return fail_startup(&col);
    }

listen:
    http.listen = col.cfg.listen;
    http.threads = (int)col.cfg.http_threads;
    http.max_connections = (unsigned)col.cfg.max_connections;
    http.connection_timeout_s = (unsigned)((col.cfg.connection_timeout_ms + 999) / 1000);
    http.connection_memory = (size_t)col.cfg.max_header_size;
    http.suspend_resume = true;
    http.tls_cert = col.cfg.tls_cert;
    http.tls_key = col.cfg.tls_key;
    col.httpd = opg_http_start(&http, opg_ingest_handler, &col, opg_ingest_completed, &col);
    if (!col.httpd)
        return fail_startup(&col);
    opg_info("otelpg-collector listening on http://%s (OTLP/HTTP: POST /v1/traces)",
             col.cfg.listen);
    if (col.cfg.listen_grpc[0]) {
        col.grpc = opg_grpc_start(&col);
        if (!col.grpc)
            return fail_startup(&col);
        opg_info("otelpg-collector listening on %s (OTLP/gRPC%s)", col.cfg.listen_grpc,
                 col.cfg.tls_cert[0] ? " over TLS" : "");
    }

    sig = opg_daemon_wait();
    opg_info("signal %d: draining and stopping", sig);
    drain_and_stop(&col);
    opg_pg_monitor_destroy(col.monitor);
    opg_maintenance_stop(col.maintenance);
    opg_alerts_stop(col.alerts);
    for (size_t i = 0; i < col.n_corr_keys; i++)
        free(col.corr_keys[i]);
    free(col.corr_keys);
    opg_info("stopped");
    return 0;
}
