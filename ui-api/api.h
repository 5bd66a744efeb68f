/*
 * otelpg-api: the query API (OTLP/JSON and Jaeger shapes), health and
 * metrics, over libmicrohttpd. Queries run on the HTTP threads with a
 * connection from a pool as large as the thread pool: a query is the work.
 */
#ifndef OPG_API_H
#define OPG_API_H

#include <microhttpd.h>

#include "pgutil.h"

struct api_config {
    const char *db;
    const char *listen;
    const char *log_level;
    long long http_threads;
    long long max_connections;
    long long connection_timeout_ms;
    long long max_trace_spans;
    long long query_timeout_ms;
    const char *query_token;
    long long max_header_size;
    const char *tls_cert;
    const char *tls_key;
    long long search_max_spans;
    long long dependencies_max_spans;
};

struct api {
    struct api_config cfg;
    struct opg_pg_pool *pool;
    struct opg_pg_monitor *monitor;
};

enum MHD_Result opg_api_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_cls);
void opg_api_register_metrics(void);

/* Jaeger's error envelope: {"data":null,...,"errors":[{"code":status,"msg":msg}]}. */
enum MHD_Result opg_api_jaeger_error(struct MHD_Connection *c, unsigned status, const char *msg);

/*
 * Parses a trace ID as Jaeger does: 1 to 32 hex digits, either case, padded
 * on the left with zeros to 16 bytes. Returns 0, or -1 (also for all zeros).
 */
int opg_api_parse_trace_id(const char *s, uint8_t out[16]);

#endif
