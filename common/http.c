#include "http.h"
#include "config.h"
#include "hex.h"
#include "jsonw.h"
#include "log.h"
#include "stats.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/*
 * Percent-decodes the path and query arguments in place, as libmicrohttpd
 * would, except that %00 stays as it is: a decoded NUL would end the C string
 * and silently cut a parameter (a trace ID "abc%00" must not read as "abc").
 */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *r = s, *w = s;

    while (*r) {
        int hi, lo;
        if (r[0] == '%' && (hi = opg_hex_digit(r[1])) >= 0 && (lo = opg_hex_digit(r[2])) >= 0 &&
            (hi | lo)) {
            *w++ = (char)(hi << 4 | lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* A whole small file as a C string (for PEM); NULL if unreadable. */
static char *read_file(const char *path)
{
    struct opg_buf b = OPG_BUF_INIT;
    char chunk[4096];
    FILE *f = fopen(path, "r");
    size_t got;

    if (!f)
        return NULL;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1u << 20))
        opg_buf_add(&b, chunk, got);
    fclose(f);
    return opg_buf_detach(&b, NULL);
}

struct MHD_Daemon *opg_http_start(const struct opg_http_config *cfg,
                                  MHD_AccessHandlerCallback handler, void *handler_cls,
                                  MHD_RequestCompletedCallback completed, void *completed_cls)
{
    char host[256];
    uint16_t port;
    struct addrinfo hints = {0}, *ai = NULL;
    struct MHD_Daemon *d;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    char portstr[8];
    struct MHD_OptionItem opts[3];
    char *cert = NULL, *key = NULL;
    int rc, n = 0;

    if (opg_split_hostport(cfg->listen, host, sizeof(host), &port) < 0) {
        opg_error("listen address '%s' is not host:port", cfg->listen);
        return NULL;
    }
    snprintf(portstr, sizeof(portstr), "%u", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0) {
        opg_error("listen address '%s': %s", cfg->listen, gai_strerror(rc));
        return NULL;
    }
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (cfg->suspend_resume)
        flags |= MHD_ALLOW_SUSPEND_RESUME;
    if (cfg->tls_cert && cfg->tls_cert[0]) {
        /* libmicrohttpd keeps pointing at the PEM text: it lives as long as
         * the process */
        if (!cfg->tls_key || !cfg->tls_key[0] || !(cert = read_file(cfg->tls_cert)) ||
            !(key = read_file(cfg->tls_key))) {
            opg_error("TLS needs a readable certificate and key (PEM): --tls-cert %s --tls-key %s",
                      cfg->tls_cert, cfg->tls_key ? cfg->tls_key : "");
            freeaddrinfo(ai);
            return NULL;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            opg_error("this libmicrohttpd was built without TLS");
            freeaddrinfo(ai);
            return NULL;
        }
        flags |= MHD_USE_TLS;
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    d = MHD_start_daemon(
        flags, port, NULL, NULL, handler, handler_cls, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
        cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->connection_memory, MHD_OPTION_NOTIFY_COMPLETED,
        completed, completed_cls, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_ARRAY,
        opts, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d)
        opg_error("cannot listen on %s (address in use, or not permitted?)", cfg->listen);
    return d;
}

enum MHD_Result opg_http_respond_buf_hdr(struct MHD_Connection *c, unsigned status,
                                         const char *ctype, struct opg_buf *body, const char *name,
                                         const char *value)
{
    size_t len;
    char *data = opg_buf_detach(body, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, data, &free);
    enum MHD_Result ret;

    if (!r) {
        free(data);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (name)
        MHD_add_response_header(r, name, value);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result opg_http_respond_buf(struct MHD_Connection *c, unsigned status, const char *ctype,
                                     struct opg_buf *body)
{
    return opg_http_respond_buf_hdr(c, status, ctype, body, NULL, NULL);
}

enum MHD_Result opg_http_respond(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const void *body, size_t len)
{
    struct opg_buf b = OPG_BUF_INIT;

    opg_buf_add(&b, body, len);
    return opg_http_respond_buf(c, status, ctype, &b);
}

enum MHD_Result opg_http_respond_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;

    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "error");
    opg_jw_obj_begin(&w);
    opg_jw_kint(&w, "httpCode", status);
    opg_jw_kstr(&w, "message", msg);
    opg_jw_obj_end(&w);
    opg_jw_obj_end(&w);
    return opg_http_respond_buf(c, status, "application/json", &b);
}

enum MHD_Result opg_http_health(struct MHD_Connection *c, const char *daemon_name)
{
    struct opg_buf b = OPG_BUF_INIT;

    opg_buf_addf(&b, "{\"status\":\"ok\",\"service\":\"%s\"}", daemon_name);
    return opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
}

enum MHD_Result opg_http_ready(struct MHD_Connection *c, const struct opg_http_component *comps,
                               size_t n)
{
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    const struct opg_http_component *bad = NULL;

    for (size_t i = 0; i < n && !bad; i++)
        if (!comps[i].ok)
            bad = &comps[i];
    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "status", bad ? "unavailable" : "ready");
    if (bad)
        opg_jw_kstr(&w, "reason", bad->detail);
    opg_jw_key(&w, "components");
    opg_jw_obj_begin(&w);
    for (size_t i = 0; i < n; i++) {
        opg_jw_key(&w, comps[i].name);
        opg_jw_obj_begin(&w);
        opg_jw_kstr(&w, "status", comps[i].ok ? "ok" : "unavailable");
        if (comps[i].detail[0])
            opg_jw_kstr(&w, "detail", comps[i].detail);
        opg_jw_obj_end(&w);
    }
    opg_jw_obj_end(&w);
    opg_jw_obj_end(&w);
    return opg_http_respond_buf(c, bad ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
                                "application/json", &b);
}

enum MHD_Result opg_http_metrics(struct MHD_Connection *c)
{
    struct opg_buf b = OPG_BUF_INIT;

    opg_stats_render(&b);
    return opg_http_respond_buf(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b);
}

bool opg_http_header_is(struct MHD_Connection *c, const char *name, const char *value)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v && !strcasecmp(v, value);
}

/* Compares all of both strings whatever they hold, so that the time taken
 * does not tell how much of a guessed token was right. */
static bool equal_const_time(const char *a, size_t an, const char *b, size_t bn)
{
    unsigned char diff = (unsigned char)(an != bn);
    size_t n = an > bn ? an : bn;

    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < an ? (unsigned char)a[i] : 0;
        unsigned char y = i < bn ? (unsigned char)b[i] : 0;
        diff |= x ^ y;
    }
    return diff == 0;
}

bool opg_http_authorized(struct MHD_Connection *c, const char *token)
{
    const char *h;

    if (!token || !*token)
        return true;
    h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    return equal_const_time(h, strlen(h), token, strlen(token));
}

enum MHD_Result opg_http_respond_unauthorized(struct MHD_Connection *c)
{
    struct opg_buf b = OPG_BUF_INIT;

    opg_buf_addstr(&b, "{\"error\":{\"httpCode\":401,\"message\":\"a valid bearer token is "
                       "required (Authorization: Bearer <token>)\"}}");
    return opg_http_respond_buf_hdr(c, MHD_HTTP_UNAUTHORIZED, "application/json", &b,
                                    MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
}
