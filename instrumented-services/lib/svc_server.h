/*
 * The inbound side of every service: libmicrohttpd with the otelpg handler
 * contract (state on the first call, bounded body, answer once the upload is
 * done, free in the completion callback), and around each request a SERVER
 * span continued from the caller's traceparent, the correlation ID taken from
 * X-Correlation-ID or baggage (or made up) and returned in X-Correlation-ID,
 * and the per-route request count and duration metrics.
 *
 * GET /health and GET /metrics are answered by the framework, untraced.
 */
#ifndef SVC_SERVER_H
#define SVC_SERVER_H

#include <stdbool.h>

#include <microhttpd.h>

#include "buf.h"
#include "inst_context.h"
#include "jsonw.h"

struct svc_request {
    struct MHD_Connection *conn;
    const char *method; /* borrowed from libmicrohttpd */
    const char *url;
    struct opg_buf body; /* the request body, NUL-terminated */
    bool too_large;
    /* set by the handler */
    const char *route; /* low-cardinality name, e.g. "/orders/{id}"; a literal */
    unsigned status;
    struct opg_buf resp;    /* JSON */
    const char *extra_name; /* one extra response header (literals or owned by the handler) */
    char extra_value[64];
    int64_t start_ns;
};

/* The service's router: fills r->status, r->resp and r->route. */
typedef void (*svc_route_fn)(struct svc_request *r, void *cls);
/*
 * Writes the service's dependencies as members of the open /health object
 * ("name": {"ok": .., "detail": ..}); returns false if one it cannot serve
 * without is down (the answer is then 503).
 */
typedef bool (*svc_health_fn)(struct opg_jw *w, void *cls);

struct svc_server_config {
    const char *listen;
    int threads;
    long long max_body;
};

struct svc_server;

/* Starts serving; NULL after logging why. cls is passed to both callbacks. */
struct svc_server *svc_server_start(const struct svc_server_config *cfg, svc_route_fn route,
                                    svc_health_fn health, void *cls);
/* Stops accepting, lets running requests finish, frees. Accepts NULL. */
void svc_server_stop(struct svc_server *s);

/* A request header, or NULL. Borrowed from libmicrohttpd for the request. */
const char *svc_header(struct svc_request *r, const char *name);
/* r->status = status and {"error":{"code":code,"message":msg}}. */
void svc_reply_error(struct svc_request *r, unsigned status, const char *code, const char *msg);
/* True if the request carries Authorization: Bearer token (token "" refuses all). */
bool svc_bearer_is(struct svc_request *r, const char *token);

#endif
