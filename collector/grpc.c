/*
 * The OTLP/gRPC endpoint (see grpc.h).
 *
 * Ownership, all on the loop thread unless said otherwise: the server owns
 * its connections, a connection owns its calls (one per HTTP/2 stream) and
 * its nghttp2 and GnuTLS sessions. A call waiting for its data to be stored
 * owns one reference to an ack and one to a `pending`, the small object the
 * ack answers; the other pending reference travels with the answer through
 * the mailbox. A call that goes away first (the client reset the stream or
 * closed the connection) unhooks itself from its pending, so a late answer
 * finds no call and is dropped.
 */
#include "grpc.h"
#include "collector.h"
#include "config.h"
#include "log.h"
#include "signals.h"
#include "stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define GRPC_OK                 0
#define GRPC_INVALID_ARGUMENT   3
#define GRPC_RESOURCE_EXHAUSTED 8
#define GRPC_UNIMPLEMENTED      12
#define GRPC_INTERNAL           13
#define GRPC_UNAVAILABLE        14
#define GRPC_UNAUTHENTICATED    16

/* HTTP/2 streams one connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS). */
#define MAX_STREAMS 100
/* gRPC's message prefix: a compressed flag and a big-endian u32 length. */
#define FRAME_HEADER 5
#define READ_CHUNK   (16 * 1024)
#define SWEEP_NS     (1000LL * 1000 * 1000)
/* After the last answers at shutdown, how long connections get to flush them. */
#define FLUSH_GRACE_NS (300LL * 1000 * 1000)

enum reason {
    R_DECODE,
    R_TOO_LARGE,
    R_MEDIA_TYPE,
    R_ENCODING,
    R_NOT_FOUND,
    R_QUEUE_FULL,
    R_WRITE_FAILED,
    R_ACK_TIMEOUT,
    R_UNAUTHORIZED,
    R_COUNT
};

static struct opg_metric m_rejected[R_COUNT] = {
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"decode\",transport=\"grpc\"",
                    OPG_COUNTER, "Requests answered with an error, by reason."),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"too_large\",transport=\"grpc\"",
                    OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"media_type\",transport=\"grpc\"",
                    OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"encoding\",transport=\"grpc\"",
                    OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"not_found\",transport=\"grpc\"",
                    OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"queue_full\",transport=\"grpc\"",
                    OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"write_failed\",transport=\"grpc\"",
                    OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"ack_timeout\",transport=\"grpc\"",
                    OPG_COUNTER, ""),
    OPG_METRIC_INIT("otelpg_rejected_requests_total", "reason=\"unauthorized\",transport=\"grpc\"",
                    OPG_COUNTER, ""),
};
#define SIGNAL_METRICS(name)                                                                       \
    {                                                                                              \
        OPG_METRIC_INIT(name, "signal=\"traces\",transport=\"grpc\"", OPG_COUNTER, ""),            \
            OPG_METRIC_INIT(name, "signal=\"logs\",transport=\"grpc\"", OPG_COUNTER, ""),          \
            OPG_METRIC_INIT(name, "signal=\"metrics\",transport=\"grpc\"", OPG_COUNTER, ""),       \
    }
static struct opg_metric m_requests[3] = SIGNAL_METRICS("otelpg_received_requests_total");
static struct opg_metric m_items[3] = SIGNAL_METRICS("otelpg_received_items_total");
static struct opg_metric m_items_rejected[3] = SIGNAL_METRICS("otelpg_rejected_items_total");
static struct opg_metric m_bytes[3] = SIGNAL_METRICS("otelpg_received_bytes_total");
static struct opg_metric m_connections =
    OPG_METRIC_INIT("otelpg_grpc_connections", NULL, OPG_GAUGE, "Open OTLP/gRPC connections.");

void opg_grpc_register_metrics(void)
{
    for (int i = 0; i < R_COUNT; i++)
        opg_stats_register(&m_rejected[i]);
    for (int i = 0; i < 3; i++) {
        opg_stats_register(&m_requests[i]);
        opg_stats_register(&m_items[i]);
        opg_stats_register(&m_items_rejected[i]);
        opg_stats_register(&m_bytes[i]);
    }
    opg_stats_register(&m_connections);
}

/* ---- types -------------------------------------------------------------------- */

struct grpc_call;

struct grpc_pending {
    atomic_int refs;
    struct opg_grpc *g;
    struct grpc_call *call; /* loop thread only; NULL once the call is gone */
    enum opg_ack_outcome outcome;
    struct grpc_pending *next; /* in the mailbox */
};

enum encoding { ENC_IDENTITY, ENC_COMPRESSED, ENC_UNKNOWN };

struct grpc_call {
    struct grpc_conn *conn;
    int32_t stream_id;
    struct grpc_call *prev, *next;
    /* from the request headers */
    char path[128];
    bool post;
    bool grpc_ctype;
    enum encoding encoding;
    bool authorized;
    const struct opg_signal_route *route;
    /* the message as framed on the wire, bounded by the server's wire_limit */
    struct opg_buf msg;
    bool decided;   /* the (error) answer is fixed: further data is dropped */
    bool responded; /* the answer is submitted to nghttp2 */
    int code;
    char message[256];
    bool retry; /* attach a RetryInfo to the error */
    size_t rejected;
    char reject_msg[200];
    /* while the data is being stored */
    struct opg_ack *ack;
    struct grpc_pending *pending;
    /* the response message, framed, sent by the data provider */
    struct opg_buf out;
    size_t out_off;
};

struct grpc_conn {
    struct opg_grpc *g;
    int fd;
    nghttp2_session *h2;
    gnutls_session_t tls; /* NULL for h2c */
    bool handshaking;
    bool dead; /* closed at the end of the current event */
    bool want_out;
    struct grpc_call *calls;
    size_t n_waiting;   /* calls waiting for their ack */
    struct opg_buf out; /* bytes nghttp2 produced that the socket did not take yet */
    size_t out_off;
    int64_t last_active_ns;
    struct grpc_conn *prev, *next;
};

struct opg_grpc {
    struct collector *col;
    int lfd, epfd, evfd;
    pthread_t thread;
    bool thread_live;
    size_t wire_limit;
    gnutls_certificate_credentials_t cred; /* NULL for h2c */
    struct grpc_conn *conns;
    size_t n_conns;
    size_t n_waiting; /* over every connection */
    /* control from the main thread */
    atomic_bool quiesce;
    atomic_bool stop;
    _Atomic int64_t stop_deadline_ns;
    /* the mailbox: answers from the ack threads */
    pthread_mutex_t mu;
    struct grpc_pending *mail_head, *mail_tail;
    bool mail_closed; /* the loop is gone: answers are dropped */
};

static void call_free(struct grpc_call *c);

/* ---- small helpers ------------------------------------------------------------ */

static void pending_release(struct grpc_pending *p)
{
    if (p && atomic_fetch_sub(&p->refs, 1) == 1)
        free(p);
}

static void wake(struct opg_grpc *g)
{
    uint64_t one = 1;
    ssize_t rc = write(g->evfd, &one, sizeof(one));
    (void)rc; /* EAGAIN: the counter is already non-zero, the loop wakes anyway */
}

/* grpc-message is percent-encoded: printable ASCII except '%' goes as is. */
static void percent_encode(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s && o + 4 < outlen; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch <= 0x7e && ch != '%') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

static void pb_varint(struct opg_buf *b, uint64_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        opg_buf_addch(b, (char)(v ? byte | 0x80 : byte));
    } while (v);
}

static void pb_bytes(struct opg_buf *b, unsigned field, const void *p, size_t n)
{
    pb_varint(b, field << 3 | 2);
    pb_varint(b, n);
    opg_buf_add(b, p, n);
}

/*
 * google.rpc.Status{code, message, details: [Any(google.rpc.RetryInfo)]},
 * base64 (unpadded, as gRPC's -bin metadata allows) into out.
 */
static void retry_details(int code, const char *message, long long retry_ms, struct opg_buf *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char type_url[] = "type.googleapis.com/google.rpc.RetryInfo";
    struct opg_buf dur = OPG_BUF_INIT, info = OPG_BUF_INIT, any = OPG_BUF_INIT, st = OPG_BUF_INIT;
    const unsigned char *s;

    pb_varint(&dur, 1 << 3);
    pb_varint(&dur, (uint64_t)(retry_ms / 1000));
    if (retry_ms % 1000) {
        pb_varint(&dur, 2 << 3);
        pb_varint(&dur, (uint64_t)(retry_ms % 1000) * 1000000);
    }
    pb_bytes(&info, 1, dur.data, dur.len);
    pb_bytes(&any, 1, type_url, sizeof(type_url) - 1);
    pb_bytes(&any, 2, info.data, info.len);
    pb_varint(&st, 1 << 3);
    pb_varint(&st, (uint64_t)code);
    pb_bytes(&st, 2, message, strlen(message));
    pb_bytes(&st, 3, any.data, any.len);
    s = (const unsigned char *)st.data;
    for (size_t i = 0; i < st.len; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        size_t left = st.len - i;
        if (left > 1)
            v |= (uint32_t)s[i + 1] << 8;
        if (left > 2)
            v |= s[i + 2];
        opg_buf_addch(out, b64[v >> 18 & 63]);
        opg_buf_addch(out, b64[v >> 12 & 63]);
        if (left > 1)
            opg_buf_addch(out, b64[v >> 6 & 63]);
        if (left > 2)
            opg_buf_addch(out, b64[v & 63]);
    }
    opg_buf_release(&dur);
    opg_buf_release(&info);
    opg_buf_release(&any);
    opg_buf_release(&st);
}

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

/* ---- answers ------------------------------------------------------------------ */

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE             \
    }
#define ACCEPT_ENCODING "identity,gzip,deflate"

static void decide(struct grpc_call *c, int code, enum reason why, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fixes the (error) answer of a call and counts it. */
static void decide(struct grpc_call *c, int code, enum reason why, const char *fmt, ...)
{
    va_list ap;

    c->decided = true;
    c->code = code;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
    opg_stats_add(&m_rejected[why], 1);
    opg_buf_release(&c->msg);
    OPG_LOG_EVERY(10, OPG_LOG_INFO, "grpc: status %d %s", code, c->message);
}

/* The status as a Trailers-Only response (HEADERS with END_STREAM). */
static void respond_status(struct grpc_call *c, unsigned http_status)
{
    struct opg_grpc *g = c->conn->g;
    char code[16], msg[800], hs[8];
    struct opg_buf details = OPG_BUF_INIT;
    nghttp2_nv nva[7];
    size_t n = 0;

    if (c->responded)
        return;
    c->responded = true;
    snprintf(hs, sizeof(hs), "%u", http_status);
    snprintf(code, sizeof(code), "%d", c->code);
    percent_encode(c->message, msg, sizeof(msg));
    nva[n++] = (nghttp2_nv)NV(":status", hs);
    nva[n++] = (nghttp2_nv)NV("content-type", "application/grpc");
    nva[n++] = (nghttp2_nv)NV("grpc-accept-encoding", ACCEPT_ENCODING);
    nva[n++] = (nghttp2_nv)NV("grpc-status", code);
    nva[n++] = (nghttp2_nv)NV("grpc-message", msg);
    if (c->retry) {
        retry_details(c->code, c->message, g->col->cfg.retry_after_ms, &details);
        opg_buf_addch(&details, '\0');
        nva[n++] = (nghttp2_nv)NV("grpc-status-details-bin", details.data);
    }
    nghttp2_submit_response(c->conn->h2, c->stream_id, nva, n, NULL);
    opg_buf_release(&details);
}

static ssize_t read_response(nghttp2_session *h2, int32_t stream_id, uint8_t *buf, size_t length,
                             uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    struct grpc_call *c = source->ptr;
    size_t n = c->out.len - c->out_off;

    if (n > length)
        n = length;
    memcpy(buf, c->out.data + c->out_off, n);
    c->out_off += n;
    if (c->out_off == c->out.len) {
        nghttp2_nv trailers[2] = {NV("grpc-status", "0"), NV("grpc-message", "")};
        /* the status goes in trailers, which end the stream */
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        if (nghttp2_submit_trailer(h2, stream_id, trailers, 2) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return (ssize_t)n;
}

/* OK: headers, the Export*ServiceResponse (with its partial success), trailers. */
static void respond_ok(struct grpc_call *c)
{
    struct opg_buf resp = OPG_BUF_INIT;
    nghttp2_nv nva[3] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                         NV("grpc-accept-encoding", ACCEPT_ENCODING)};
    nghttp2_data_provider dp;

    if (c->responded)
        return;
    c->responded = true;
    c->route->write_response(false, c->rejected, c->reject_msg, &resp);
    opg_buf_reset(&c->out);
    opg_buf_addch(&c->out, 0);
    opg_buf_add_be32(&c->out, (uint32_t)resp.len);
    opg_buf_add(&c->out, resp.data, resp.len);
    c->out_off = 0;
    opg_buf_release(&resp);
    dp.source.ptr = c;
    dp.read_callback = read_response;
    nghttp2_submit_response(c->conn->h2, c->stream_id, nva, 3, &dp);
}

static void respond(struct grpc_call *c)
{
    if (c->decided)
        respond_status(c, 200);
    else
        respond_ok(c);
}

/* ---- the message ---------------------------------------------------------------- */

/* Inflates a gzip or zlib message into body, never past limit + 1 bytes. */
static int inflate_message(const char *in, size_t n, size_t limit, struct opg_buf *body,
                           bool *too_large)
{
    z_stream zs;
    int rc = -1, zrc = Z_OK;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* 15+32: gzip or zlib header */
        return -1;
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    while (zrc != Z_STREAM_END) {
        size_t room = limit + 1 - body->len;
        if (room > 64 * 1024)
            room = 64 * 1024;
        opg_buf_grow(body, room);
        zs.next_out = (Bytef *)body->data + body->len;
        zs.avail_out = (uInt)room;
        zrc = inflate(&zs, Z_NO_FLUSH);
        body->len += room - zs.avail_out;
        if (body->len > limit) {
            *too_large = true;
            goto out_end;
        }
        if (zrc == Z_STREAM_END && zs.avail_in > 0 && inflateReset(&zs) == Z_OK)
            zrc = Z_OK; /* another gzip member follows */
        else if (zrc != Z_OK && zrc != Z_STREAM_END)
            goto out_end; /* corrupt, or truncated (Z_BUF_ERROR with no input left) */
    }
    rc = 0;
out_end:
    inflateEnd(&zs);
    return rc;
}

/* The writer (or the spool) is done with a call's data. */
static void write_done(void *ctx, int status)
{
    struct opg_ack *ack = ctx;

    opg_ack_complete(ack, status);
    opg_ack_release(ack);
}

/*
 * The whole request is in: unframes, inflates, decodes and submits the
 * message. Either the answer is fixed (responded at once) or the call waits
 * for its ack.
 */
static void call_process(struct grpc_call *c)
{
    struct opg_grpc *g = c->conn->g;
    struct collector *col = g->col;
    const struct opg_signal_route *route = c->route;
    size_t limit = (size_t)col->cfg.max_body_size;
    struct opg_buf inflated = OPG_BUF_INIT;
    struct opg_batch batch;
    const char *body;
    size_t len;
    uint32_t prefix;
    char err[256];
    int status;

    opg_batch_init(&batch, route->signal);
    if (c->msg.len < FRAME_HEADER) {
        decide(c, GRPC_INTERNAL, R_DECODE, "the request holds no complete gRPC message");
        goto out_respond;
    }
    prefix = (uint32_t)(unsigned char)c->msg.data[1] << 24 |
             (uint32_t)(unsigned char)c->msg.data[2] << 16 |
             (uint32_t)(unsigned char)c->msg.data[3] << 8 | (unsigned char)c->msg.data[4];
    if ((size_t)prefix != c->msg.len - FRAME_HEADER) {
        decide(c, GRPC_INTERNAL, R_DECODE,
               "the message prefix announces %u bytes but %zu follow (one message per call)",
               prefix, c->msg.len - FRAME_HEADER);
        goto out_respond;
    }
    if ((unsigned char)c->msg.data[0] > 1) {
        decide(c, GRPC_INTERNAL, R_DECODE, "invalid compressed flag %u",
               (unsigned char)c->msg.data[0]);
        goto out_respond;
    }
    body = c->msg.data + FRAME_HEADER;
    len = prefix;
    if (c->msg.data[0] == 1) {
        bool too_large = false;
        if (c->encoding != ENC_COMPRESSED) {
            decide(c, GRPC_INTERNAL, R_ENCODING,
                   "the message is flagged compressed but no grpc-encoding was sent");
            goto out_respond;
        }
        if (inflate_message(body, len, limit, &inflated, &too_large) < 0) {
            if (too_large)
                decide(c, GRPC_RESOURCE_EXHAUSTED, R_TOO_LARGE,
                       "message exceeds the limit of %lld bytes (after decompression)",
                       col->cfg.max_body_size);
            else
                decide(c, GRPC_INTERNAL, R_DECODE, "the compressed message is corrupt");
            goto out_respond;
        }
        body = inflated.data;
        len = inflated.len;
    } else if (len > limit) {
        decide(c, GRPC_RESOURCE_EXHAUSTED, R_TOO_LARGE, "message exceeds the limit of %lld bytes",
               col->cfg.max_body_size);
        goto out_respond;
    }

    opg_stats_add(&m_requests[route->signal], 1);
    opg_stats_add(&m_bytes[route->signal], (int64_t)len);
    status = route->decode(col, body ? body : "", len, false, &batch, err, sizeof(err));
    opg_buf_release(&inflated);
    opg_buf_release(&c->msg);
    if (status != 0) {
        if (status == 413)
            decide(c, GRPC_RESOURCE_EXHAUSTED, R_TOO_LARGE, "%s", err);
        else
            decide(c, GRPC_INVALID_ARGUMENT, R_DECODE, "%s", err);
        goto out_respond;
    }
    if (batch.n_items + batch.rejected > (size_t)col->cfg.max_items) {
        decide(c, GRPC_RESOURCE_EXHAUSTED, R_TOO_LARGE,
               "the request holds %zu items, more than the limit of %lld",
               batch.n_items + batch.rejected, col->cfg.max_items);
        goto out_respond;
    }
    c->rejected = batch.rejected;
    snprintf(c->reject_msg, sizeof(c->reject_msg), "%s", batch.reject_msg);
    opg_stats_add(&m_items[route->signal], (int64_t)batch.n_items);
    opg_stats_add(&m_items_rejected[route->signal], (int64_t)batch.rejected);
    if (batch.n_items == 0)
        goto out_respond;

    /* the answer always comes through the mailbox, even a refusal: it is
     * sent from the loop, never from inside an nghttp2 callback's caller */
    c->pending = opg_xcalloc(1, sizeof(*c->pending));
    atomic_init(&c->pending->refs, 2); /* the call's, and the answer's */
    c->pending->g = g;
    c->pending->call = c;
    c->ack = opg_ack_create(col->grpc_acks, c->pending);
    c->conn->n_waiting++;
    g->n_waiting++;
    if (opg_ingest_submit(col, &batch, write_done, c->ack) != 0) {
        /* refused: the write's reference is ours to drop */
        opg_ack_cancel(c->ack, OPG_ACK_REFUSED);
        opg_ack_release(c->ack);
        opg_batch_release(&batch);
    }
    return;
out_respond:
    opg_buf_release(&inflated);
    opg_batch_release(&batch);
    respond(c);
}

/* An ack's answer, back on the loop thread. */
static void call_answer(struct grpc_call *c, enum opg_ack_outcome outcome)
{
    struct collector *col = c->conn->g->col;

    c->conn->n_waiting--;
    c->conn->g->n_waiting--;
    pending_release(c->pending);
    c->pending = NULL;
    switch (outcome) {
    case OPG_ACK_STORED:
        break;
    case OPG_ACK_FAILED:
        decide(c, GRPC_UNAVAILABLE, R_WRITE_FAILED, "the data could not be stored; retry later");
        c->retry = true;
        break;
    case OPG_ACK_TIMEOUT:
        /* The data stays queued and will be written; a retry is deduplicated. */
        decide(c, GRPC_UNAVAILABLE, R_ACK_TIMEOUT,
               "the database is slow or unavailable; retry later");
        c->retry = true;
        break;
    case OPG_ACK_REFUSED:
        if (atomic_load(&col->stopping))
            decide(c, GRPC_UNAVAILABLE, R_QUEUE_FULL,
                   "the collector is shutting down; retry later");
        else
            decide(c, GRPC_RESOURCE_EXHAUSTED, R_QUEUE_FULL,
                   "the write queue is full; retry later");
        c->retry = true;
        break;
    }
    respond(c);
}

void opg_grpc_ack_answer(void *ctx, enum opg_ack_outcome outcome)
{
    struct grpc_pending *p = ctx;
    struct opg_grpc *g = p->g;
    bool closed;

    p->outcome = outcome;
    pthread_mutex_lock(&g->mu);
    closed = g->mail_closed;
    if (!closed) {
        p->next = NULL;
        if (g->mail_tail)
            g->mail_tail->next = p;
        else
            g->mail_head = p;
        g->mail_tail = p;
        wake(g);
    }
    pthread_mutex_unlock(&g->mu);
    if (closed)
        pending_release(p);
}

/* ---- nghttp2 callbacks ---------------------------------------------------------- */

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *user_data)
{
    struct grpc_conn *conn = user_data;
    struct grpc_call *c;

    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    c = opg_xcalloc(1, sizeof(*c));
    c->conn = conn;
    c->stream_id = frame->hd.stream_id;
    c->encoding = ENC_IDENTITY;
    c->authorized = !conn->g->col->cfg.ingest_token || !conn->g->col->cfg.ingest_token[0];
    c->next = conn->calls;
    if (conn->calls)
        conn->calls->prev = c;
    conn->calls = c;
    nghttp2_session_set_stream_user_data(h2, c->stream_id, c);
    return 0;
}

static bool value_is(const uint8_t *v, size_t n, const char *s)
{
    return n == strlen(s) && !strncasecmp((const char *)v, s, n);
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    struct grpc_call *c = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    const char *token;

    if (!c || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (value_is(name, namelen, ":path")) {
        size_t n = valuelen < sizeof(c->path) - 1 ? valuelen : sizeof(c->path) - 1;
        memcpy(c->path, value, n);
        c->path[n] = '\0';
    } else if (value_is(name, namelen, ":method")) {
        c->post = value_is(value, valuelen, "POST");
    } else if (value_is(name, namelen, "content-type")) {
        size_t n = 0;
        while (n < valuelen && value[n] != ';' && value[n] != ' ')
            n++;
        c->grpc_ctype =
            value_is(value, n, "application/grpc") || value_is(value, n, "application/grpc+proto");
    } else if (value_is(name, namelen, "grpc-encoding")) {
        if (value_is(value, valuelen, "identity"))
            c->encoding = ENC_IDENTITY;
        else if (value_is(value, valuelen, "gzip") || value_is(value, valuelen, "deflate"))
            c->encoding = ENC_COMPRESSED;
        else
            c->encoding = ENC_UNKNOWN;
    } else if (value_is(name, namelen, "authorization")) {
        token = c->conn->g->col->cfg.ingest_token;
        if (token && token[0] && valuelen > 7 && !strncasecmp((const char *)value, "Bearer ", 7)) {
            size_t off = 7;
            while (off < valuelen && value[off] == ' ')
                off++;
            c->authorized =
                equal_const_time((const char *)value + off, valuelen - off, token, strlen(token));
        }
    }
    return 0;
}

/* The request headers are complete: refuse at once what cannot be served. */
static void call_check_headers(struct grpc_call *c)
{
    static const struct {
        const char *path;
        enum opg_signal signal;
    } methods[] = {
        {"/opentelemetry.proto.collector.trace.v1.TraceService/Export", OPG_SIGNAL_TRACES},
        {"/opentelemetry.proto.collector.logs.v1.LogsService/Export", OPG_SIGNAL_LOGS},
        {"/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", OPG_SIGNAL_METRICS},
    };

    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (!strcmp(c->path, methods[i].path))
            c->route = opg_signal_route(methods[i].signal);
    if (!c->grpc_ctype) {
        decide(c, GRPC_INVALID_ARGUMENT, R_MEDIA_TYPE,
               "content-type must be application/grpc or application/grpc+proto");
        respond_status(c, 415);
    } else if (!c->post || !c->route) {
        decide(c, GRPC_UNIMPLEMENTED, R_NOT_FOUND, "unknown method %s", c->path);
    } else if (!c->authorized) {
        decide(c, GRPC_UNAUTHENTICATED, R_UNAUTHORIZED,
               "a valid bearer token is required (authorization: Bearer <token>)");
    } else if (c->encoding == ENC_UNKNOWN) {
        decide(c, GRPC_UNIMPLEMENTED, R_ENCODING,
               "grpc-encoding must be gzip, deflate or identity");
    }
    if (c->decided)
        respond(c);
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *user_data)
{
    struct grpc_call *c = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);

    if (!c)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        call_check_headers(c);
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        if (c->decided)
            respond(c);
        else
            call_process(c);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user_data)
{
    struct grpc_call *c = nghttp2_session_get_stream_user_data(h2, stream_id);
    struct opg_grpc *g = ((struct grpc_conn *)user_data)->g;

    if (!c || c->decided)
        return 0; /* dropped: the answer is fixed (flow control is still credited) */
    if (c->msg.len + len > g->wire_limit) {
        decide(c, GRPC_RESOURCE_EXHAUSTED, R_TOO_LARGE, "message exceeds the limit of %lld bytes",
               g->col->cfg.max_body_size);
        respond(c);
        return 0;
    }
    opg_buf_add(&c->msg, data, len);
    /* an uncompressed message announcing more than the limit is refused now */
    if (c->msg.len >= FRAME_HEADER && c->msg.data[0] == 0) {
        uint32_t prefix = (uint32_t)(unsigned char)c->msg.data[1] << 24 |
                          (uint32_t)(unsigned char)c->msg.data[2] << 16 |
                          (uint32_t)(unsigned char)c->msg.data[3] << 8 |
                          (unsigned char)c->msg.data[4];
        if (prefix > (uint32_t)g->col->cfg.max_body_size) {
            decide(c, GRPC_RESOURCE_EXHAUSTED, R_TOO_LARGE,
                   "message of %u bytes exceeds the limit of %lld bytes", prefix,
                   g->col->cfg.max_body_size);
            respond(c);
        }
    }
    return 0;
}

/* Answered before the client finished sending: reset the rest of its request,
 * as gRPC servers do, so that it stops sending. */
static int on_frame_send(nghttp2_session *h2, const nghttp2_frame *frame, void *user_data)
{
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        nghttp2_session_get_stream_remote_close(h2, frame->hd.stream_id) == 0)
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    struct grpc_call *c = nghttp2_session_get_stream_user_data(h2, stream_id);

    if (c) {
        nghttp2_session_set_stream_user_data(h2, stream_id, NULL);
        call_free(c);
    }
    return 0;
}

/* Frees a call whatever its state; a pending answer will find it gone. */
static void call_free(struct grpc_call *c)
{
    struct grpc_conn *conn = c->conn;

    if (c->pending) {
        conn->n_waiting--;
        conn->g->n_waiting--;
        c->pending->call = NULL;
        pending_release(c->pending);
    }
    opg_ack_release(c->ack);
    if (c->prev)
        c->prev->next = c->next;
    else
        conn->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    opg_buf_release(&c->msg);
    opg_buf_release(&c->out);
    free(c);
}

/* ---- connections ------------------------------------------------------------------ */

static void conn_set_events(struct grpc_conn *conn, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = conn};

    if (conn->want_out == want_out)
        return;
    conn->want_out = want_out;
    epoll_ctl(conn->g->epfd, EPOLL_CTL_MOD, conn->fd, &ev);
}

/* Writes what is possible; -1 if the connection failed. */
static ssize_t conn_write(struct grpc_conn *conn, const void *p, size_t n)
{
    ssize_t w;

    if (conn->tls) {
        w = gnutls_record_send(conn->tls, p, n);
        if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
            return 0;
        return w < 0 ? -1 : w;
    }
    w = send(conn->fd, p, n, MSG_NOSIGNAL);
    if (w < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    return w;
}

/* Sends what nghttp2 has to send, as far as the socket takes it. */
static void conn_flush(struct grpc_conn *conn)
{
    if (conn->dead || conn->handshaking)
        return;
    for (;;) {
        const uint8_t *data;
        ssize_t n, w;

        if (conn->out_off < conn->out.len) {
            w = conn_write(conn, conn->out.data + conn->out_off, conn->out.len - conn->out_off);
            if (w < 0)
                goto out_dead;
            conn->out_off += (size_t)w;
            if (conn->out_off < conn->out.len) {
                conn_set_events(conn, true);
                return;
            }
            opg_buf_reset(&conn->out);
            conn->out_off = 0;
        }
        n = nghttp2_session_mem_send(conn->h2, &data);
        if (n < 0)
            goto out_dead;
        if (n == 0)
            break;
        w = conn_write(conn, data, (size_t)n);
        if (w < 0)
            goto out_dead;
        if (w < n)
            opg_buf_add(&conn->out, data + w, (size_t)(n - w));
        conn->last_active_ns = opg_now_mono_ns();
    }
    conn_set_events(conn, false);
    if (!nghttp2_session_want_read(conn->h2) && !nghttp2_session_want_write(conn->h2))
        conn->dead = true;
    return;
out_dead:
    conn->dead = true;
}

static void conn_close(struct grpc_conn *conn)
{
    struct opg_grpc *g = conn->g;

    /* the session first: its streams point at the calls */
    nghttp2_session_del(conn->h2);
    while (conn->calls)
        call_free(conn->calls);
    if (conn->tls)
        gnutls_deinit(conn->tls);
    epoll_ctl(g->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
    close(conn->fd);
    opg_buf_release(&conn->out);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        g->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    g->n_conns--;
    opg_stats_set(&m_connections, (int64_t)g->n_conns);
    free(conn);
}

static int conn_handshake(struct grpc_conn *conn)
{
    gnutls_datum_t proto;
    int rc = gnutls_handshake(conn->tls);

    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
        conn_set_events(conn, gnutls_record_get_direction(conn->tls) == 1);
        return 0;
    }
    if (rc < 0) {
        OPG_LOG_EVERY(10, OPG_LOG_INFO, "grpc: TLS handshake failed: %s", gnutls_strerror(rc));
        return -1;
    }
    if (gnutls_alpn_get_selected_protocol(conn->tls, &proto) != 0 || proto.size != 2 ||
        memcmp(proto.data, "h2", 2) != 0) {
        OPG_LOG_EVERY(10, OPG_LOG_INFO, "grpc: TLS client did not negotiate ALPN h2");
        return -1;
    }
    conn->handshaking = false;
    conn_set_events(conn, false);
    return 0;
}

static void conn_on_event(struct grpc_conn *conn, uint32_t events)
{
    uint8_t buf[READ_CHUNK];

    if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
        conn->dead = true;
        return;
    }
    conn->last_active_ns = opg_now_mono_ns();
    if (conn->handshaking) {
        if (conn_handshake(conn) < 0) {
            conn->dead = true;
            return;
        }
        if (conn->handshaking)
            return;
    }
    for (;;) {
        ssize_t n;

        if (conn->tls) {
            n = gnutls_record_recv(conn->tls, buf, sizeof(buf));
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                break;
        } else {
            n = recv(conn->fd, buf, sizeof(buf), 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                break;
        }
        if (n <= 0) {
            conn->dead = true; /* closed by the client, or failed */
            break;
        }
        if (nghttp2_session_mem_recv(conn->h2, buf, (size_t)n) < 0) {
            /* a protocol error: nghttp2 has queued a GOAWAY; send it and close */
            conn_flush(conn);
            conn->dead = true;
            break;
        }
    }
    conn_flush(conn);
}

static void accept_all(struct opg_grpc *g)
{
    for (;;) {
        struct grpc_conn *conn;
        nghttp2_session_callbacks *cbs;
        nghttp2_settings_entry settings[3] = {
            {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS},
            {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
            {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)g->col->cfg.max_header_size},
        };
        struct epoll_event ev = {.events = EPOLLIN};
        int one = 1;
        int fd = accept4(g->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0)
            return; /* EAGAIN, or a transient error (EMFILE...): try again on the next event */
        if (g->n_conns >= (size_t)g->col->cfg.max_connections) {
            OPG_LOG_EVERY(10, OPG_LOG_WARN, "grpc: --max-connections (%lld) reached",
                          g->col->cfg.max_connections);
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn = opg_xcalloc(1, sizeof(*conn));
        conn->g = g;
        conn->fd = fd;
        conn->last_active_ns = opg_now_mono_ns();
        nghttp2_session_callbacks_new(&cbs);
        nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
        nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
        nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
        nghttp2_session_server_new(&conn->h2, cbs, conn);
        nghttp2_session_callbacks_del(cbs);
        nghttp2_submit_settings(conn->h2, NGHTTP2_FLAG_NONE, settings, 3);
        /* the connection's window, so that many streams can send at once */
        nghttp2_session_set_local_window_size(conn->h2, NGHTTP2_FLAG_NONE, 0, 16 << 20);
        if (g->cred) {
            static const gnutls_datum_t h2 = {(unsigned char *)"h2", 2};
            gnutls_init(&conn->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK);
            gnutls_set_default_priority(conn->tls);
            gnutls_credentials_set(conn->tls, GNUTLS_CRD_CERTIFICATE, g->cred);
            gnutls_alpn_set_protocols(conn->tls, &h2, 1, 0);
            gnutls_transport_set_int(conn->tls, fd);
            conn->handshaking = true;
        }
        conn->next = g->conns;
        if (g->conns)
            g->conns->prev = conn;
        g->conns = conn;
        g->n_conns++;
        opg_stats_set(&m_connections, (int64_t)g->n_conns);
        ev.data.ptr = conn;
        epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev);
    }
}

/* ---- the loop ------------------------------------------------------------------------ */

static void deliver_mail(struct opg_grpc *g)
{
    struct grpc_pending *p;
    uint64_t count;
    ssize_t rc = read(g->evfd, &count, sizeof(count));

    (void)rc;
    pthread_mutex_lock(&g->mu);
    p = g->mail_head;
    g->mail_head = g->mail_tail = NULL;
    pthread_mutex_unlock(&g->mu);
    while (p) {
        struct grpc_pending *next = p->next;
        if (p->call) {
            struct grpc_conn *conn = p->call->conn;
            call_answer(p->call, p->outcome);
            conn_flush(conn);
        }
        pending_release(p);
        p = next;
    }
}

static void sweep(struct opg_grpc *g, int64_t now)
{
    int64_t idle_ns = g->col->cfg.connection_timeout_ms * 1000000LL;

    for (struct grpc_conn *conn = g->conns; conn; conn = conn->next) {
        /* a call waiting for its ack is not idleness */
        if (!conn->dead && conn->n_waiting == 0 && now - conn->last_active_ns > idle_ns) {
            nghttp2_session_terminate_session(conn->h2, NGHTTP2_NO_ERROR);
            conn_flush(conn);
            conn->dead = true;
        }
    }
}

static void close_dead(struct opg_grpc *g)
{
    struct grpc_conn *conn = g->conns;

    while (conn) {
        struct grpc_conn *next = conn->next;
        if (conn->dead)
            conn_close(conn);
        conn = next;
    }
}

/* Shutdown: whatever still waits is answered UNAVAILABLE. */
static void answer_all_unavailable(struct opg_grpc *g)
{
    for (struct grpc_conn *conn = g->conns; conn; conn = conn->next) {
        for (struct grpc_call *c = conn->calls; c; c = c->next) {
            if (c->pending) {
                c->pending->call = NULL;
                call_answer(c, OPG_ACK_REFUSED);
            }
        }
        conn_flush(conn);
    }
}

static void *loop_main(void *arg)
{
    struct opg_grpc *g = arg;
    struct epoll_event evs[64];
    int64_t last_sweep = opg_now_mono_ns(), flush_until = 0;
    bool goaway_sent = false;

    for (;;) {
        int n = epoll_wait(g->epfd, evs, 64, 100);
        int64_t now;

        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &g->lfd)
                accept_all(g);
            else if (evs[i].data.ptr == &g->evfd)
                deliver_mail(g);
            else
                conn_on_event(evs[i].data.ptr, evs[i].events);
        }
        close_dead(g);
        now = opg_now_mono_ns();
        if (atomic_load(&g->quiesce) && g->lfd >= 0) {
            epoll_ctl(g->epfd, EPOLL_CTL_DEL, g->lfd, NULL);
            close(g->lfd);
            g->lfd = -1;
        }
        if (now - last_sweep > SWEEP_NS) {
            sweep(g, now);
            close_dead(g);
            last_sweep = now;
        }
        if (!atomic_load(&g->stop))
            continue;
        if (!goaway_sent) {
            /* in-flight streams finish; clients open new ones elsewhere */
            for (struct grpc_conn *conn = g->conns; conn; conn = conn->next) {
                nghttp2_submit_goaway(conn->h2, NGHTTP2_FLAG_NONE,
                                      nghttp2_session_get_last_proc_stream_id(conn->h2),
                                      NGHTTP2_NO_ERROR, NULL, 0);
                conn_flush(conn);
            }
            goaway_sent = true;
        }
        if (!flush_until && (g->n_waiting == 0 || now >= atomic_load(&g->stop_deadline_ns))) {
            answer_all_unavailable(g);
            flush_until = now + FLUSH_GRACE_NS;
        }
        if (flush_until) {
            bool flushed = true;
            for (struct grpc_conn *conn = g->conns; conn; conn = conn->next)
                if (conn->out_off < conn->out.len || nghttp2_session_want_write(conn->h2))
                    flushed = false;
            if (flushed || now >= flush_until)
                break;
        }
    }
    while (g->conns)
        conn_close(g->conns);
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static int listen_on(const char *addr)
{
    char host[256], portstr[8];
    uint16_t port;
    struct addrinfo hints = {0}, *ai = NULL;
    int fd = -1, one = 1, rc;

    if (opg_split_hostport(addr, host, sizeof(host), &port) < 0) {
        opg_error("gRPC listen address '%s' is not host:port", addr);
        return -1;
    }
    snprintf(portstr, sizeof(portstr), "%u", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0) {
        opg_error("gRPC listen address '%s': %s", addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto out_fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 256) < 0)
        goto out_fail;
    freeaddrinfo(ai);
    return fd;
out_fail:
    opg_error("cannot listen for gRPC on %s: %s", addr, strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return -1;
}

struct opg_grpc *opg_grpc_start(struct collector *col)
{
    struct opg_grpc *g = opg_xcalloc(1, sizeof(*g));
    struct epoll_event ev = {.events = EPOLLIN};
    size_t limit = (size_t)col->cfg.max_body_size;
    int rc;

    g->col = col;
    g->lfd = g->epfd = g->evfd = -1;
    pthread_mutex_init(&g->mu, NULL);
    /* what a compressed message may take on the wire: a little more than
     * the limit, since incompressible data grows slightly */
    g->wire_limit = FRAME_HEADER + limit + limit / 16 + 1024;
    if (col->cfg.tls_cert && col->cfg.tls_cert[0]) {
        gnutls_certificate_allocate_credentials(&g->cred);
        rc = gnutls_certificate_set_x509_key_file(g->cred, col->cfg.tls_cert, col->cfg.tls_key,
                                                  GNUTLS_X509_FMT_PEM);
        if (rc < 0) {
            opg_error("gRPC TLS: cannot load --tls-cert %s / --tls-key %s: %s", col->cfg.tls_cert,
                      col->cfg.tls_key, gnutls_strerror(rc));
            goto out_destroy;
        }
    }
    g->lfd = listen_on(col->cfg.listen_grpc);
    g->epfd = epoll_create1(EPOLL_CLOEXEC);
    g->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (g->lfd < 0 || g->epfd < 0 || g->evfd < 0)
        goto out_destroy;
    ev.data.ptr = &g->lfd;
    epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->lfd, &ev);
    ev.data.ptr = &g->evfd;
    epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->evfd, &ev);
    if (pthread_create(&g->thread, NULL, loop_main, g) != 0) {
        opg_error("cannot start the gRPC thread");
        goto out_destroy;
    }
    g->thread_live = true;
    return g;
out_destroy:
    opg_grpc_destroy(g);
    return NULL;
}

void opg_grpc_quiesce(struct opg_grpc *g)
{
    if (!g)
        return;
    atomic_store(&g->quiesce, true);
    wake(g);
}

void opg_grpc_stop(struct opg_grpc *g, long long timeout_ms)
{
    struct grpc_pending *p;

    if (!g || !g->thread_live)
        return;
    atomic_store(&g->stop_deadline_ns, opg_now_mono_ns() + timeout_ms * 1000000LL);
    atomic_store(&g->quiesce, true);
    atomic_store(&g->stop, true);
    wake(g);
    pthread_join(g->thread, NULL);
    g->thread_live = false;
    pthread_mutex_lock(&g->mu);
    g->mail_closed = true;
    p = g->mail_head;
    g->mail_head = g->mail_tail = NULL;
    pthread_mutex_unlock(&g->mu);
    while (p) {
        struct grpc_pending *next = p->next;
        pending_release(p);
        p = next;
    }
}

void opg_grpc_destroy(struct opg_grpc *g)
{
    if (!g)
        return;
    opg_grpc_stop(g, 0);
    if (g->lfd >= 0)
        close(g->lfd);
    if (g->epfd >= 0)
        close(g->epfd);
    if (g->evfd >= 0)
        close(g->evfd);
    if (g->cred)
        gnutls_certificate_free_credentials(g->cred);
    pthread_mutex_destroy(&g->mu);
    free(g);
}
