/*
 * otelpg-collector: OTLP (HTTP and gRPC) in, PostgreSQL out.
 *
 *   HTTP threads (libmicrohttpd)          writer threads
 *   body -> inflate -> decode -> encode -> [bounded queue] -> COPY -> COMMIT
 *   (or the gRPC loop, collector/grpc.c)                              |
 *   the connection is suspended until then  <------- resume ---------+
 *
 * The answer to an export is sent once its data is committed - or, with
 * --spool-dir, once it is fsynced in the spool (spool.h), which feeds the
 * writers - so a 2xx always means durable; a full queue or spool is answered
 * 503 with Retry-After at once. docs/ARCHITECTURE.md has the whole picture.
 */
#ifndef OPG_COLLECTOR_H
#define OPG_COLLECTOR_H

#include <stdatomic.h>
#include <stdbool.h>

#include <microhttpd.h>

#include "ack.h"
#include "alerts.h"
#include "grpc.h"
#include "maintenance.h"
#include "spool.h"
#include "pgutil.h"
#include "writer.h"

struct collector_config {
    const char *db;
    const char *listen;
    const char *listen_grpc; /* "": no OTLP/gRPC */
    const char *log_level;
    long long http_threads;
    long long writer_threads;
    long long max_body_size;
    long long max_connections;
    long long connection_timeout_ms;
    long long max_header_size;
    long long queue_size;
    long long txn_size;
    long long accept_past_ms;
    long long accept_future_ms;
    long long max_anyvalue_depth;
    long long max_items;
    long long max_attributes;
    long long max_attribute_length;
    long long retry_after_ms;
    long long ack_timeout_ms;
    long long shutdown_timeout_ms;
    long long zstd_level;
    int zstd_dicts; /* span blocks compressed with dictionaries (storage/dicts.h) */
    long long zstd_block_level;
    const char *correlation_keys;
    const char *ingest_token;
    const char *tls_cert;
    const char *tls_key;
    long long retention_ms;
    long long db_budget;
    long long maintenance_interval_ms;
    int discard; /* benchmarks: acknowledge and drop (no database) */
    const char *spool_dir;
    long long spool_max_size;
    long long spool_segment_size;
    struct opg_alerts_config alerts;
};

struct collector {
    struct collector_config cfg;
    struct opg_writer *writer;
    struct opg_acks *acks;
    struct opg_spool *spool; /* NULL: acknowledge on commit instead */
    struct opg_maintenance *maintenance;
    struct opg_alerts *alerts; /* the detector and webhook sender (alerts.h) */
    char **corr_keys;          /* --correlation-keys, split */
    size_t n_corr_keys;
    struct opg_pg_monitor *monitor;
    struct MHD_Daemon *httpd;
    struct opg_grpc *grpc;      /* NULL: no OTLP/gRPC listener */
    struct opg_acks *grpc_acks; /* the gRPC calls' acks (answered by grpc.c) */
    atomic_bool stopping;
};

/* The libmicrohttpd callbacks of the OTLP/HTTP endpoint (ingest.c). */
enum MHD_Result opg_ingest_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **req_cls);
void opg_ingest_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                          enum MHD_RequestTerminationCode toe);
void opg_ingest_register_metrics(void);
/* Answers a request waiting for its data to be stored (the acks' callback). */
void opg_ingest_ack_answer(void *req, enum opg_ack_outcome outcome);

#endif
