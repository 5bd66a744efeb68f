#include "svc_server.h"

#include "inst_log.h"
#include "inst_metric.h"
#include "inst_export.h"
#include "inst_span.h"

#include "http.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct svc_server {
    struct MHD_Daemon *d;
    svc_route_fn route;
    svc_health_fn health;
    void *cls;
    long long max_body;
};

const char *svc_header(struct svc_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void svc_reply_error(struct svc_request *r, unsigned status, const char *code, const char *msg)
{
    struct opg_jw w;

    opg_buf_reset(&r->resp);
    opg_jw_init(&w, &r->resp);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "error");
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "code", code);
    opg_jw_kstr(&w, "message", msg);
    opg_jw_obj_end(&w);
    opg_jw_obj_end(&w);
    r->status = status;
}

bool svc_bearer_is(struct svc_request *r, const char *token)
{
    if (!token || !token[0])
        return false;
    return opg_http_authorized(r->conn, token);
}

static enum MHD_Result answer_health(struct svc_server *s, struct MHD_Connection *c)
{
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    bool ok = true;

    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "service", inst_export_service_name());
    opg_jw_key(&w, "dependencies");
    opg_jw_obj_begin(&w);
    if (s->health)
        ok = s->health(&w, s->cls);
    opg_jw_obj_end(&w);
    opg_jw_kstr(&w, "status", ok ? "ok" : "unavailable");
    opg_jw_obj_end(&w);
    return opg_http_respond_buf(c, ok ? 200 : 503, "application/json", &b);
}

/* The caller's context: traceparent (+ tracestate) and the correlation ID. */
static void extract(struct svc_request *r, struct inst_trace_ctx *parent, char *corr, size_t n)
{
    const char *tp = svc_header(r, "traceparent");
    const char *ts = svc_header(r, "tracestate");
    const char *cid = svc_header(r, "X-Correlation-ID");
    const char *bag = svc_header(r, "baggage");
    char from_bag[INST_CORR_MAX + 1];

    if (inst_traceparent_parse(tp, parent) == 0 && ts)
        snprintf(parent->tracestate, sizeof(parent->tracestate), "%s", ts);
    if (cid && inst_correlation_id_valid(cid))
        snprintf(corr, n, "%s", cid);
    else if (bag && inst_baggage_get(bag, "correlation.id", from_bag, sizeof(from_bag)) == 0 &&
             inst_correlation_id_valid(from_bag))
        snprintf(corr, n, "%s", from_bag);
    else
        inst_new_correlation_id(corr, n);
}

static enum MHD_Result serve(struct svc_server *s, struct svc_request *r)
{
    struct inst_trace_ctx parent;
    char corr[INST_CORR_MAX + 1], name[160], status_text[8];
    struct inst_span *span;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    struct inst_kv attrs[3];
    size_t len;
    char *data;
    double secs;

    extract(r, &parent, corr, sizeof(corr));
    inst_scope_set_correlation(corr);
    inst_scope_set_tracestate(parent.tracestate);
    span = inst_span_start(r->method, INST_SPAN_SERVER, parent.valid ? &parent : NULL);
    inst_span_set_str(span, "http.request.method", r->method);
    inst_span_set_str(span, "url.path", r->url);
    r->status = 500;
    r->route = NULL;
    if (r->too_large)
        svc_reply_error(r, 413, "body_too_large", "the request body is too large");
    else
        s->route(r, s->cls);
    if (!r->route)
        r->route = "unmatched";
    snprintf(name, sizeof(name), "%s %s", r->method, r->route);
    inst_span_set_name(span, name);
    inst_span_set_str(span, "http.route", r->route);
    inst_span_set_int(span, "http.response.status_code", r->status);
    if (r->status >= 500)
        inst_span_set_error(span, "server error");
    snprintf(status_text, sizeof(status_text), "%u", r->status);
    attrs[0] = (struct inst_kv){"http.route", r->route};
    attrs[1] = (struct inst_kv){"http.request.method", r->method};
    attrs[2] = (struct inst_kv){"http.response.status_code", status_text};
    secs = (double)(opg_now_mono_ns() - r->start_ns) / 1e9;
    /* recorded while the span is current, so the exemplar points at it */
    inst_histogram_record("http.server.request.duration", "s", attrs, 3, secs);
    inst_counter_add("http.server.requests", "{request}", attrs, 3, 1);
    inst_span_end(span);
    inst_scope_reset();

    data = opg_buf_detach(&r->resp, &len);
    resp = MHD_create_response_from_buffer_with_free_callback(len, data, &free);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "X-Correlation-ID", corr);
    if (r->extra_name)
        MHD_add_response_header(resp, r->extra_name, r->extra_value);
    ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct svc_server *s = cls;
    struct svc_request *r = *con_cls;

    if (!r) {
        r = opg_xcalloc(1, sizeof(*r));
        r->conn = c;
        r->method = method;
        r->url = url;
        r->start_ns = opg_now_mono_ns();
        opg_buf_init(&r->body);
        opg_buf_init(&r->resp);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->body.len + *upload_size > (size_t)s->max_body)
            r->too_large = true;
        else
            opg_buf_add(&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (!r->body.data)
        opg_buf_addstr(&r->body, "");
    if (strcmp(method, "GET") == 0 && strcmp(url, "/health") == 0)
        return answer_health(s, c);
    if (strcmp(method, "GET") == 0 && strcmp(url, "/metrics") == 0)
        return opg_http_metrics(c);
    return serve(s, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct svc_request *r = *con_cls;

    if (!r)
        return;
    opg_buf_release(&r->body);
    opg_buf_release(&r->resp);
    free(r);
    *con_cls = NULL;
}

struct svc_server *svc_server_start(const struct svc_server_config *cfg, svc_route_fn route,
                                    svc_health_fn health, void *cls)
{
    struct svc_server *s = opg_xcalloc(1, sizeof(*s));
    struct opg_http_config http = {0};

    s->route = route;
    s->health = health;
    s->cls = cls;
    s->max_body = cfg->max_body;
    http.listen = cfg->listen;
    http.threads = cfg->threads;
    http.max_connections = 1024;
    http.connection_timeout_s = 60;
    http.connection_memory = 64 * 1024;
    s->d = opg_http_start(&http, handler, s, completed, s);
    if (!s->d) {
        free(s);
        return NULL;
    }
    return s;
}

void svc_server_stop(struct svc_server *s)
{
    if (!s)
        return;
    /* joins the workers, each of which first finishes the request it runs */
    MHD_stop_daemon(s->d);
    free(s);
}
