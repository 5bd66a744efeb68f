#include "webhook.h"
#include "buf.h"
#include "log.h"
#include "pgutil.h"
#include "stats.h"

#include <curl/curl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* How long the sender sleeps with nothing due, unless kicked. */
#define IDLE_POLL_MS    1000
#define BACKOFF_BASE_MS 1000
/* Bytes of an answer kept for the log. */
#define ERROR_TEXT_MAX 200

struct opg_webhook_sender {
    const struct opg_alerts_config *cfg;
    const char *conninfo;
    char *const *urls;
    size_t n_urls;
    uint8_t key[OPG_WEBHOOK_MAX_KEY];
    int key_len; /* 0: unsigned */
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping, kicked;
    long long backlog;
};

static struct opg_metric m_delivered =
    OPG_METRIC_INIT("otelpg_webhook_deliveries_total", "result=\"delivered\"", OPG_COUNTER,
                    "Webhook delivery attempts, by result.");
static struct opg_metric m_retried =
    OPG_METRIC_INIT("otelpg_webhook_deliveries_total", "result=\"retry\"", OPG_COUNTER, "");
static struct opg_metric m_failed =
    OPG_METRIC_INIT("otelpg_webhook_deliveries_total", "result=\"failed\"", OPG_COUNTER, "");
static struct opg_metric m_failures =
    OPG_METRIC_INIT("otelpg_webhook_failures_total", NULL, OPG_COUNTER,
                    "Notifications given up (4xx other than 408/429, too many attempts, or a "
                    "target no longer configured).");
static struct opg_metric m_backlog = OPG_METRIC_INIT("otelpg_webhook_backlog", NULL, OPG_GAUGE,
                                                     "Notifications waiting to be delivered.");
static struct opg_histogram h_delivery = OPG_HISTOGRAM_INIT(
    "otelpg_webhook_duration_seconds", NULL, "Time of one webhook delivery attempt.");

int opg_webhook_parse_secret(const char *secret, uint8_t key[OPG_WEBHOOK_MAX_KEY])
{
    gnutls_datum_t in, out = {NULL, 0};
    int n = -1;

    if (strncmp(secret, "whsec_", 6) != 0) {
        size_t len = strlen(secret);
        if (!len || len > OPG_WEBHOOK_MAX_KEY)
            return -1;
        memcpy(key, secret, len);
        return (int)len;
    }
    in.data = (unsigned char *)secret + 6;
    in.size = (unsigned)strlen(secret + 6);
    if (gnutls_base64_decode2(&in, &out) < 0)
        return -1;
    if (out.size && out.size <= OPG_WEBHOOK_MAX_KEY) {
        memcpy(key, out.data, out.size);
        n = (int)out.size;
    }
    gnutls_free(out.data);
    return n;
}

int opg_webhook_sign(const uint8_t *key, size_t key_len, const char *msg_id, long long timestamp,
                     const char *body, size_t body_len, char *out, size_t out_len)
{
    struct opg_buf signed_text = OPG_BUF_INIT;
    uint8_t mac[32];
    gnutls_datum_t raw = {mac, sizeof(mac)}, b64 = {NULL, 0};
    int rc = -1;

    opg_buf_addf(&signed_text, "%s.%lld.", msg_id, timestamp);
    opg_buf_add(&signed_text, body, body_len);
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, key_len, signed_text.data, signed_text.len, mac) <
        0)
        goto out_free_text;
    if (gnutls_base64_encode2(&raw, &b64) < 0)
        goto out_free_text;
    if ((size_t)snprintf(out, out_len, "v1,%.*s", (int)b64.size, (const char *)b64.data) < out_len)
        rc = 0;
    gnutls_free(b64.data);
out_free_text:
    opg_buf_release(&signed_text);
    return rc;
}

long long opg_webhook_backoff_ms(int attempts, const char *retry_after, long long max_ms)
{
    long long ms;

    if (retry_after && *retry_after) {
        char *end;
        long long s = strtoll(retry_after, &end, 10);

        if (end != retry_after && *end == '\0' && s >= 0) {
            ms = s * 1000;
        } else {
            time_t when = curl_getdate(retry_after, NULL);
            ms = when > 0 ? ((long long)when - (long long)time(NULL)) * 1000 : -1;
        }
        if (ms >= 0)
            return ms > max_ms ? max_ms : ms;
    }
    ms = BACKOFF_BASE_MS;
    for (int i = 1; i < attempts && ms < max_ms; i++)
        ms *= 2;
    if (ms > max_ms)
        ms = max_ms;
    /* jitter: between half and all of it, so that receivers back from an outage
     * are not hit by every sender at once */
    return ms / 2 + rand() % (ms / 2 + 1);
}

/* ---- one attempt ------------------------------------------------------------------- */

struct answer {
    char retry_after[64];
};

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;

    if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
        size_t i = 12, j = 0;
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        while (i < len && p[i] != '\r' && p[i] != '\n' && j + 1 < sizeof(a->retry_after))
            a->retry_after[j++] = p[i++];
        a->retry_after[j] = '\0';
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    return size * n; /* the answer's body is not used */
}

enum attempt_result { SENT, RETRY, GIVE_UP };

/* POSTs body to url; on RETRY, *delay_ms says when to try again. */
static enum attempt_result post(struct opg_webhook_sender *s, const char *url, const char *msg_id,
                                const char *body, int attempts, long long *delay_ms, char *err,
                                size_t errlen)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct answer ans = {""};
    char line[256], sig[128];
    long status = 0;
    long long now_s = (long long)time(NULL);
    int64_t t0 = opg_now_mono_ns();
    enum attempt_result r = RETRY;
    CURLcode cc;

    *delay_ms = 0;
    if (!curl) {
        snprintf(err, errlen, "curl_easy_init failed");
        goto out;
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "User-Agent: otelpg-collector");
    snprintf(line, sizeof(line), "webhook-id: %s", msg_id);
    hdrs = curl_slist_append(hdrs, line);
    snprintf(line, sizeof(line), "webhook-timestamp: %lld", now_s);
    hdrs = curl_slist_append(hdrs, line);
    if (s->key_len > 0 && opg_webhook_sign(s->key, (size_t)s->key_len, msg_id, now_s, body,
                                           strlen(body), sig, sizeof(sig)) == 0) {
        snprintf(line, sizeof(line), "webhook-signature: %s", sig);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)s->cfg->webhook_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ans);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    cc = curl_easy_perform(curl);
    opg_stats_observe_ns(&h_delivery, opg_now_mono_ns() - t0);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
        goto out_backoff;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
        r = SENT;
        goto out;
    }
    snprintf(err, errlen, "HTTP %ld", status);
    if (status != 408 && status != 429 && status < 500) {
        r = GIVE_UP;
        goto out;
    }
out_backoff:
    *delay_ms = opg_webhook_backoff_ms(attempts, ans.retry_after, s->cfg->webhook_max_backoff_ms);
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return r;
}

/* ---- the thread ---------------------------------------------------------------------- */

static bool configured(struct opg_webhook_sender *s, const char *url)
{
    for (size_t i = 0; i < s->n_urls; i++)
        if (!strcmp(s->urls[i], url))
            return true;
    return false;
}

static bool exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    if (!ok)
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "webhook: %s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

/*
 * Sends the oldest due notification. Returns 1 if it handled one, 0 if none
 * was due, -1 on a database error.
 */
static int send_one(struct opg_webhook_sender *s, PGconn *conn)
{
    char now[24], next[24], id_text[24], attempts_text[16], err[ERROR_TEXT_MAX] = "";
    const char *p[4];
    PGresult *res = NULL, *upd;
    long long delay_ms = 0;
    int attempts, rc = -1;
    enum attempt_result r;
    const char *url, *body, *msg_id;

    if (!exec_ok(conn, "BEGIN"))
        return -1;
    snprintf(now, sizeof(now), "%lld", (long long)opg_now_wall_ns());
    p[0] = now;
    res = PQexecParams(conn,
                       "SELECT id, msg_id, url, body, attempts,"
                       " (SELECT count(*) FROM webhook_outbox"
                       "  WHERE delivered_ns IS NULL AND failed_ns IS NULL)"
                       " FROM webhook_outbox WHERE delivered_ns IS NULL AND failed_ns IS NULL"
                       " AND next_attempt_ns <= $1::bigint ORDER BY id LIMIT 1"
                       " FOR UPDATE SKIP LOCKED",
                       1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "webhook: reading the outbox: %s", PQerrorMessage(conn));
        goto out_rollback;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        res = PQexec(conn, "SELECT count(*) FROM webhook_outbox"
                           " WHERE delivered_ns IS NULL AND failed_ns IS NULL");
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            pthread_mutex_lock(&s->lock);
            s->backlog = atoll(PQgetvalue(res, 0, 0));
            pthread_mutex_unlock(&s->lock);
            opg_stats_set(&m_backlog, atoll(PQgetvalue(res, 0, 0)));
        }
        rc = exec_ok(conn, "COMMIT") ? 0 : -1;
        goto out;
    }
    pthread_mutex_lock(&s->lock);
    s->backlog = atoll(PQgetvalue(res, 0, 5));
    pthread_mutex_unlock(&s->lock);
    opg_stats_set(&m_backlog, atoll(PQgetvalue(res, 0, 5)));
    msg_id = PQgetvalue(res, 0, 1);
    url = PQgetvalue(res, 0, 2);
    body = PQgetvalue(res, 0, 3);
    attempts = atoi(PQgetvalue(res, 0, 4)) + 1;
    if (!configured(s, url)) {
        r = GIVE_UP;
        snprintf(err, sizeof(err), "the target is no longer configured (--webhook-url)");
    } else {
        /* the row stays locked meanwhile: no other collector sends it */
        r = post(s, url, msg_id, body, attempts, &delay_ms, err, sizeof(err));
    }
    if (r == RETRY && attempts >= s->cfg->webhook_max_attempts)
        r = GIVE_UP;
    snprintf(now, sizeof(now), "%lld", (long long)opg_now_wall_ns());
    snprintf(next, sizeof(next), "%lld", (long long)opg_now_wall_ns() + delay_ms * 1000000LL);
    snprintf(id_text, sizeof(id_text), "%s", PQgetvalue(res, 0, 0));
    snprintf(attempts_text, sizeof(attempts_text), "%d", attempts);
    p[0] = id_text;
    p[1] = attempts_text;
    p[2] = r == RETRY ? next : now;
    p[3] = err;
    if (r == SENT) {
        opg_stats_add(&m_delivered, 1);
        upd = PQexecParams(conn,
                           "UPDATE webhook_outbox SET attempts = $2::integer,"
                           " delivered_ns = $3::bigint, last_error = NULL WHERE id = $1::bigint",
                           3, NULL, p, NULL, NULL, 0);
    } else if (r == RETRY) {
        opg_stats_add(&m_retried, 1);
        OPG_LOG_EVERY(30, OPG_LOG_WARN, "webhook: %s: %s; retrying in %lld ms", url, err, delay_ms);
        upd = PQexecParams(conn,
                           "UPDATE webhook_outbox SET attempts = $2::integer,"
                           " next_attempt_ns = $3::bigint, last_error = $4 WHERE id = $1::bigint",
                           4, NULL, p, NULL, NULL, 0);
    } else {
        opg_stats_add(&m_failed, 1);
        opg_stats_add(&m_failures, 1);
        OPG_LOG_EVERY(30, OPG_LOG_WARN, "webhook: %s: %s after %d attempt(s); given up", url, err,
                      attempts);
        upd = PQexecParams(conn,
                           "UPDATE webhook_outbox SET attempts = $2::integer,"
                           " failed_ns = $3::bigint, last_error = $4 WHERE id = $1::bigint",
                           4, NULL, p, NULL, NULL, 0);
    }
    if (PQresultStatus(upd) != PGRES_COMMAND_OK) {
        OPG_LOG_EVERY(60, OPG_LOG_WARN, "webhook: updating the outbox: %s", PQerrorMessage(conn));
        PQclear(upd);
        goto out_rollback;
    }
    PQclear(upd);
    rc = exec_ok(conn, "COMMIT") ? 1 : -1;
    goto out;
out_rollback:
    if (PQstatus(conn) == CONNECTION_OK)
        exec_ok(conn, "ROLLBACK");
out:
    PQclear(res);
    return rc;
}

static void *sender_main(void *arg)
{
    struct opg_webhook_sender *s = arg;
    PGconn *conn = NULL;

    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        int r = -1;
        struct timespec ts;

        s->kicked = false;
        pthread_mutex_unlock(&s->lock);
        if (!conn || PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = opg_pg_connect(s->conninfo, "otelpg-collector webhooks");
        }
        if (PQstatus(conn) == CONNECTION_OK)
            r = send_one(s, conn);
        pthread_mutex_lock(&s->lock);
        if (r == 1 || s->stopping || s->kicked)
            continue;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (r < 0 ? 5 * IDLE_POLL_MS : IDLE_POLL_MS) % 1000 * 1000000L;
        ts.tv_sec += (r < 0 ? 5 * IDLE_POLL_MS : IDLE_POLL_MS) / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
    PQfinish(conn);
    return NULL;
}

struct opg_webhook_sender *opg_webhook_sender_start(const struct opg_alerts_config *cfg,
                                                    const char *conninfo, char *const *urls,
                                                    size_t n_urls)
{
    struct opg_webhook_sender *s = opg_xcalloc(1, sizeof(*s));
    static bool registered;

    if (!registered) {
        registered = true;
        opg_stats_register(&m_delivered);
        opg_stats_register(&m_retried);
        opg_stats_register(&m_failed);
        opg_stats_register(&m_failures);
        opg_stats_register(&m_backlog);
        opg_stats_register_histogram(&h_delivery);
    }
    s->cfg = cfg;
    s->conninfo = conninfo;
    s->urls = urls;
    s->n_urls = n_urls;
    s->backlog = -1;
    if (cfg->webhook_secret[0]) {
        s->key_len = opg_webhook_parse_secret(cfg->webhook_secret, s->key);
        if (s->key_len < 0) {
            opg_error("--webhook-secret: not valid (\"whsec_\" + base64, or 1 to %d bytes)",
                      OPG_WEBHOOK_MAX_KEY);
            free(s);
            return NULL;
        }
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->tid, NULL, sender_main, s) != 0) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->wake);
        free(s);
        return NULL;
    }
    return s;
}

void opg_webhook_sender_kick(struct opg_webhook_sender *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->kicked = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

long long opg_webhook_sender_backlog(struct opg_webhook_sender *s)
{
    long long n;

    pthread_mutex_lock(&s->lock);
    n = s->backlog;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void opg_webhook_sender_stop(struct opg_webhook_sender *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->tid, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}
