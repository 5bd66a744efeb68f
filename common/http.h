/*
 * What both daemons' HTTP servers share: starting libmicrohttpd on a
 * "host:port", answering with owned or copied bodies, JSON errors, and the
 * /health, /ready and /metrics endpoints.
 */
#ifndef OPG_HTTP_H
#define OPG_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "buf.h"

struct opg_http_config {
    const char *listen; /* "host:port" */
    int threads;
    unsigned max_connections;
    unsigned connection_timeout_s;
    size_t connection_memory; /* per connection: bounds request headers */
    bool suspend_resume;      /* the handler suspends connections */
    const char *tls_cert;     /* PEM file; with tls_key, serve HTTPS (NULL or "": plain HTTP) */
    const char *tls_key;
};

/*
 * Starts a daemon that calls handler for each request and completed once a
 * request is over. Returns NULL after logging why.
 */
struct MHD_Daemon *opg_http_start(const struct opg_http_config *cfg,
                                  MHD_AccessHandlerCallback handler, void *handler_cls,
                                  MHD_RequestCompletedCallback completed, void *completed_cls);

/* Queues a response with a copy of body. */
enum MHD_Result opg_http_respond(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const void *body, size_t len);
/* Queues a response that takes body's contents (the buffer is left empty). */
enum MHD_Result opg_http_respond_buf(struct MHD_Connection *c, unsigned status, const char *ctype,
                                     struct opg_buf *body);
/* Same, adding one extra header (name NULL for none). */
enum MHD_Result opg_http_respond_buf_hdr(struct MHD_Connection *c, unsigned status,
                                         const char *ctype, struct opg_buf *body, const char *name,
                                         const char *value);
/* {"error":{"httpCode":status,"message":msg}} */
enum MHD_Result opg_http_respond_error(struct MHD_Connection *c, unsigned status, const char *msg);

/* A component's health, for /ready. */
struct opg_http_component {
    const char *name;
    bool ok;
    char detail[256];
};

/* GET /health: always 200 while the process serves. */
enum MHD_Result opg_http_health(struct MHD_Connection *c, const char *daemon_name);
/*
 * GET /ready: 200 if every component is ok, else 503; the body lists each
 * component with its status, and the first failing one's detail as "reason".
 */
enum MHD_Result opg_http_ready(struct MHD_Connection *c, const struct opg_http_component *comps,
                               size_t n);
/* GET /metrics in the Prometheus text format. */
enum MHD_Result opg_http_metrics(struct MHD_Connection *c);

/*
 * True if the request carries "Authorization: Bearer <token>" (compared in
 * constant time), or if token is NULL or empty (authentication off).
 */
bool opg_http_authorized(struct MHD_Connection *c, const char *token);
/* 401 with WWW-Authenticate: Bearer and a JSON error body. */
enum MHD_Result opg_http_respond_unauthorized(struct MHD_Connection *c);

/* True if a request header equals value, ignoring case. */
bool opg_http_header_is(struct MHD_Connection *c, const char *name, const char *value);

#endif
