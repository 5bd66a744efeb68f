#include "svc_client.h"

#include "inst_log.h"
#include "inst_metric.h"
#include "inst_span.h"

#include "log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void on_breaker_change(struct svc_breaker *b, enum svc_breaker_state from,
                              enum svc_breaker_state to, void *cls)
{
    struct svc_peer *p = cls;
    struct inst_kv attrs[2] = {{"peer.service", p->name}, {"state", svc_breaker_state_name(to)}};

    opg_stats_set(&p->m_state, to);
    opg_stats_add(&p->m_transitions, 1);
    inst_counter_add("circuit_breaker.transitions", "{transition}", attrs, 2, 1);
    inst_gauge_set("circuit_breaker.state", "1", attrs, 1, (double)to);
    inst_span_add_event(inst_span_current(), "circuit_breaker.state_change", "transition",
                        to == SVC_BREAKER_OPEN        ? "open"
                        : to == SVC_BREAKER_HALF_OPEN ? "half_open"
                                                      : "closed");
    inst_logf(to == SVC_BREAKER_OPEN ? INST_WARN : INST_INFO, "circuit_breaker.state_change",
              "circuit breaker for %s: %s -> %s", p->name, svc_breaker_state_name(from),
              svc_breaker_state_name(to));
}

void svc_peer_init(struct svc_peer *p, const char *name, const char *base_url,
                   const struct svc_peer_config *cfg)
{
    struct inst_kv attr = {"peer.service", name};

    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->base_url, sizeof(p->base_url), "%s", base_url);
    /* a trailing slash would double in base_url + "/path" */
    for (size_t n = strlen(p->base_url); n && p->base_url[n - 1] == '/'; n--)
        p->base_url[n - 1] = '\0';
    p->timeout_ms = cfg->timeout_ms;
    p->retries = (int)cfg->retries;
    p->backoff.base_ms = cfg->backoff_base_ms;
    p->backoff.max_ms = cfg->backoff_max_ms;
    svc_breaker_init(&p->breaker, p->name, (int)cfg->breaker_threshold, cfg->breaker_open_ms,
                     on_breaker_change, p);
    snprintf(p->labels, sizeof(p->labels), "peer=\"%s\"", p->name);
    p->m_state = (struct opg_metric)OPG_METRIC_INIT(
        "svc_circuit_breaker_state", p->labels, OPG_GAUGE,
        "circuit breaker state per peer: 0 closed, 1 open, 2 half-open");
    p->m_transitions =
        (struct opg_metric)OPG_METRIC_INIT("svc_circuit_breaker_transitions_total", p->labels,
                                           OPG_COUNTER, "circuit breaker state changes per peer");
    opg_stats_register(&p->m_state);
    opg_stats_register(&p->m_transitions);
    inst_gauge_set("circuit_breaker.state", "1", &attr, 1, 0);
}

void svc_peer_release(struct svc_peer *p)
{
    if (p)
        svc_breaker_release(&p->breaker);
}

static size_t collect(char *ptr, size_t size, size_t n, void *cls)
{
    struct opg_buf *b = cls;

    /* replies are small JSON; a runaway peer is cut off at 1 MiB */
    if (b->len + size * n > (1u << 20))
        return 0;
    opg_buf_add(b, ptr, size * n);
    return size * n;
}

/* One HTTP exchange under the current (client) span. Returns the CURLcode. */
static CURLcode attempt(struct svc_peer *p, const char *method, const char *url, const char *body,
                        const char *token, struct svc_reply *reply)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char tp[INST_TRACEPARENT_LEN + 1], line[INST_TRACESTATE_MAX + 32];
    const char *ts = inst_scope_tracestate(), *corr = inst_scope_correlation();
    CURLcode rc = CURLE_FAILED_INIT;

    if (!curl)
        return rc;
    inst_span_current_traceparent(tp);
    snprintf(line, sizeof(line), "traceparent: %s", tp);
    hdrs = curl_slist_append(hdrs, line);
    if (ts[0]) {
        snprintf(line, sizeof(line), "tracestate: %s", ts);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (corr[0]) {
        snprintf(line, sizeof(line), "X-Correlation-ID: %s", corr);
        hdrs = curl_slist_append(hdrs, line);
        snprintf(line, sizeof(line), "baggage: correlation.id=%s", corr);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, line);
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    opg_buf_reset(&reply->body);
    reply->status = 0;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)p->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply->body);
    rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return rc;
}

static bool retryable(CURLcode rc, long status)
{
    return rc != CURLE_OK || status == 502 || status == 503 || status == 504;
}

static int call(struct svc_peer *p, const char *method, const char *path, const char *route,
                const char *body, bool idempotent, const char *token, struct svc_reply *reply)
{
    static __thread uint64_t rng;
    char url[512], name[160];
    int result = SVC_CALL_FAILED;
    int max_attempts = idempotent ? p->retries + 1 : 1;
    struct inst_kv attrs[3];
    char status_text[8];

    if (!rng)
        rng = (uint64_t)opg_now_mono_ns() | 1;
    snprintf(url, sizeof(url), "%s%s", p->base_url, path);
    snprintf(name, sizeof(name), "%s %s", method, route);
    if (!reply->body.data)
        opg_buf_init(&reply->body);
    for (int i = 0; i < max_attempts; i++) {
        struct inst_span *span;
        int64_t t0;
        CURLcode rc;
        bool failure;

        if (i > 0) {
            int64_t ms = svc_backoff_delay_ms(&p->backoff, i - 1, &rng);
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
            inst_span_add_event(inst_span_current(), "retry.backoff", "peer.service", p->name);
            nanosleep(&ts, NULL);
        }
        span = inst_span_start(name, INST_SPAN_CLIENT, NULL);
        inst_span_set_str(span, "peer.service", p->name);
        inst_span_set_str(span, "http.request.method", method);
        inst_span_set_str(span, "url.full", url);
        if (i > 0)
            inst_span_set_int(span, "http.request.resend_count", i);
        if (!svc_breaker_allow(&p->breaker, opg_now_mono_ns())) {
            inst_span_set_str(span, "circuit_breaker.state", "open");
            inst_span_set_error(span, "circuit breaker open: call not attempted");
            inst_span_end(span);
            result = SVC_CALL_BREAKER_OPEN;
            break;
        }
        inst_span_set_str(span, "circuit_breaker.state",
                          svc_breaker_state_name(svc_breaker_get(&p->breaker)));
        t0 = opg_now_mono_ns();
        rc = attempt(p, method, url, body, token, reply);
        failure = rc != CURLE_OK || reply->status >= 500;
        svc_breaker_record(&p->breaker, !failure, opg_now_mono_ns());
        snprintf(status_text, sizeof(status_text), "%ld", reply->status);
        attrs[0] = (struct inst_kv){"peer.service", p->name};
        attrs[1] = (struct inst_kv){"http.route", route};
        attrs[2] = (struct inst_kv){"http.response.status_code", status_text};
        inst_histogram_record("http.client.request.duration", "s", attrs, 3,
                              (double)(opg_now_mono_ns() - t0) / 1e9);
        if (rc != CURLE_OK) {
            inst_span_set_str(span, "error.type", curl_easy_strerror(rc));
            inst_span_set_error(span, curl_easy_strerror(rc));
        } else {
            inst_span_set_int(span, "http.response.status_code", reply->status);
            if (reply->status >= 500)
                inst_span_set_error(span, "peer answered with a server error");
        }
        inst_span_end(span);
        if (rc == CURLE_OK &&
            !(idempotent && retryable(rc, reply->status) && i + 1 < max_attempts)) {
            result = SVC_CALL_OK;
            break;
        }
        if (!retryable(rc, reply->status))
            break;
        inst_warn("call.retry", "%s %s failed (%s), attempt %d of %d", method, url,
                  rc != CURLE_OK ? curl_easy_strerror(rc) : "server error", i + 1, max_attempts);
    }
    return result;
}

int svc_call(struct svc_peer *p, const char *method, const char *path, const char *route,
             const char *body, bool idempotent, struct svc_reply *reply)
{
    return call(p, method, path, route, body, idempotent, NULL, reply);
}

int svc_call_auth(struct svc_peer *p, const char *method, const char *path, const char *route,
                  const char *body, const char *token, struct svc_reply *reply)
{
    return call(p, method, path, route, body, false, token, reply);
}
