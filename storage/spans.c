#include "spans.h"
#include "dicts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A stored payload never decodes to more than this (a span is bounded by the
 * request size limit long before). */
#define MAX_DECODED_PAYLOAD (64u << 20)
/* A block holds at most one request's spans, however large requests are made. */
#define MAX_DECODED_BLOCK (1u << 30)

typedef Opentelemetry__Proto__Trace__V1__Span otlp_span_t;

static const char *ids_invalid(const uint8_t *trace_id, size_t trace_id_len, const uint8_t *span_id,
                               size_t span_id_len, size_t parent_len)
{
    if (!opg_otlp_id_valid(trace_id, trace_id_len, OPG_TRACE_ID_LEN))
        return "invalid trace_id (must be 16 bytes, not all zero)";
    if (!opg_otlp_id_valid(span_id, span_id_len, OPG_SPAN_ID_LEN))
        return "invalid span_id (must be 8 bytes, not all zero)";
    if (parent_len != 0 && parent_len != OPG_SPAN_ID_LEN)
        return "invalid parent_span_id (must be empty or 8 bytes)";
    return NULL;
}

static const char *span_invalid(const otlp_span_t *s)
{
    return ids_invalid(s->trace_id.data, s->trace_id.len, s->span_id.data, s->span_id.len,
                       s->parent_span_id.len);
}

/*
 * Adds the (service, operation, kind) triple for the operations listing,
 * once per request (the spans of a request mostly share a few triples):
 * each is checked against the hashes of those already added.
 */
static void note_operation(struct opg_batch *b, const ProtobufCBinaryData *service,
                           uint64_t service_hash, const char *name, size_t name_len,
                           uint64_t name_hash, int16_t kind)
{
    struct opg_buf *r;
    uint64_t h;
    char key[8];

    memcpy(key, &kind, sizeof(kind));
    h = service_hash ^ (name_hash * 31) ^ opg_hash64(key, sizeof(kind));
    for (size_t i = 0; i < b->n_ops; i++)
        if (b->ops[i] == h)
            return;
    if (b->n_ops < OPG_MAX_OPS_PER_BATCH)
        b->ops[b->n_ops++] = h;
    if (opg_batch_operation_known(h))
        return; /* committed already */
    r = opg_batch_row(b, OPG_STREAM_OPERATIONS, 3);
    opg_copy_text(r, (const char *)service->data, service->len);
    opg_copy_text(r, name, name_len);
    opg_copy_int2(r, kind);
}

/* ---- spans into blocks ------------------------------------------------------ */

typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otlp_rs_t;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans otlp_ss_t;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest otlp_req_t;

static uint64_t name_bloom(uint64_t h)
{
    return (1ULL << (h & 63)) | (1ULL << ((h >> 6) & 63));
}

uint64_t opg_span_name_bloom(const char *name, size_t len)
{
    return name_bloom(opg_hash64(name, len));
}

/* The trace's spans in the block being built, summed up: a trace_parts row. */
struct part {
    uint8_t trace_id[16];
    bool used;
    int64_t start_ns, end_ns, longest_ns;
    uint64_t name_bloom;
    uint64_t services; /* bit i: the block's service i */
    int32_t span_count, error_count;
    uint16_t kinds;
    int root_service; /* index into the block's services, -1 until the root span */
    const char *root_name;
    uint64_t corr; /* opg_corr_hash of its first correlation ID; 0: none */
};

/* A RED row of the block: server and consumer spans by 10 s bucket,
 * service, operation, kind and latency bucket. */
struct red {
    bool used;
    uint64_t hash; /* of the fields below, for red_slot */
    int64_t bucket_ns;
    int service;
    const char *name;
    int16_t kind, latency_bucket;
    int64_t calls, errors;
    double duration_sum;
};

#define MAX_BLOCK_SERVICES 64

struct block {
    int32_t day;
    size_t n_spans;
    /* the block as an OTLP request whose parts point into the decoded one */
    otlp_req_t req;
    otlp_rs_t *rs;       /* the current ResourceSpans view, NULL before the first */
    otlp_ss_t *ss;       /* the current ScopeSpans view */
    size_t rs_at, ss_at; /* which of the request's they stand for */
    const uint8_t *raw;  /* the block is the whole request: these bytes are it */
    size_t raw_len;
    ProtobufCBinaryData services[MAX_BLOCK_SERVICES];
    uint64_t service_hash[MAX_BLOCK_SERVICES]; /* opg_hash64 of each, for note_operation */
    int n_services;
    /* open addressing, grown at half full: most blocks hold a few traces,
     * and clearing a table sized for every span cost more than the spans */
    struct part *parts;
    size_t parts_cap, n_parts; /* a power of two */
    struct red *red;
    size_t red_cap, n_red;
};

/* Where one span of the request goes. */
struct span_plan {
    int32_t day;
    bool ok;
};

#define BLOCK_TABLE_START 16

static void block_start(struct block *k, struct opg_arena *a, int32_t day, size_t n_rs)
{
    memset(k, 0, sizeof(*k));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&k->req);
    k->day = day;
    if (a) /* else the block can only be the raw body */
        k->req.resource_spans = opg_arena_alloc(a, n_rs * sizeof(*k->req.resource_spans));
    k->parts_cap = BLOCK_TABLE_START;
    k->parts = opg_xcalloc(k->parts_cap, sizeof(*k->parts));
    k->red_cap = BLOCK_TABLE_START;
    k->red = opg_xcalloc(k->red_cap, sizeof(*k->red));
}

static void block_release(struct block *k)
{
    free(k->parts);
    free(k->red);
    k->parts = NULL;
    k->red = NULL;
}

static int service_index(struct block *k, ProtobufCBinaryData svc)
{
    for (int i = 0; i < k->n_services; i++)
        if (k->services[i].len == svc.len && !memcmp(k->services[i].data, svc.data, svc.len))
            return i;
    if (k->n_services == MAX_BLOCK_SERVICES)
        return -1;
    k->services[k->n_services] = svc;
    k->service_hash[k->n_services] = opg_hash64(svc.data, svc.len);
    return k->n_services++;
}

/* The part of trace id in k->parts, or the free slot where it goes. */
static struct part *part_slot(const struct block *k, const uint8_t id[16])
{
    uint64_t h;

    memcpy(&h, id + 8, sizeof(h));
    for (size_t i = (size_t)h & (k->parts_cap - 1);; i = (i + 1) & (k->parts_cap - 1)) {
        struct part *p = &k->parts[i];

        if (!p->used || !memcmp(p->trace_id, id, 16))
            return p;
    }
}

static void parts_grow(struct block *k)
{
    struct part *old = k->parts;
    size_t old_cap = k->parts_cap;

    k->parts_cap *= 2;
    k->parts = opg_xcalloc(k->parts_cap, sizeof(*k->parts));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used)
            *part_slot(k, old[i].trace_id) = old[i];
    free(old);
}

static struct part *part_for(struct block *k, const uint8_t id[16])
{
    struct part *p = part_slot(k, id);

    if (p->used)
        return p;
    if ((k->n_parts + 1) * 2 > k->parts_cap) {
        parts_grow(k);
        p = part_slot(k, id);
    }
    k->n_parts++;
    p->used = true;
    memcpy(p->trace_id, id, 16);
    p->start_ns = INT64_MAX;
    p->end_ns = INT64_MIN;
    p->root_service = -1;
    return p;
}

static int latency_bucket(int64_t duration_ns)
{
    double us = (double)(duration_ns < 1000 ? 1000 : duration_ns) / 1000.0;
    int b = (int)floor(4.0 * log2(us));

    return b > 127 ? 127 : b;
}

/* The row of key in k->red, or the free slot where it goes. */
static struct red *red_slot(const struct block *k, const struct red *key)
{
    for (size_t i = (size_t)key->hash & (k->red_cap - 1);; i = (i + 1) & (k->red_cap - 1)) {
        struct red *r = &k->red[i];

        if (!r->used || (r->hash == key->hash && r->bucket_ns == key->bucket_ns &&
                         r->service == key->service && r->kind == key->kind &&
                         r->latency_bucket == key->latency_bucket && !strcmp(r->name, key->name)))
            return r;
    }
}

static void red_grow(struct block *k)
{
    struct red *old = k->red;
    size_t old_cap = k->red_cap;

    k->red_cap *= 2;
    k->red = opg_xcalloc(k->red_cap, sizeof(*k->red));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used)
            *red_slot(k, &old[i]) = old[i];
    free(old);
}

static void red_add(struct block *k, int64_t start_ns, int64_t duration_ns, int service,
                    const char *name, uint64_t name_hash, int16_t kind, bool error)
{
    int64_t bucket = start_ns / 10000000000LL * 10000000000LL;
    int16_t lb = (int16_t)latency_bucket(duration_ns);
    struct red key = {
        .used = true,
        .hash = name_hash ^ ((uint64_t)bucket * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)service << 32) ^
                ((uint64_t)kind << 8) ^ (uint64_t)lb,
        .bucket_ns = bucket,
        .service = service,
        .name = name,
        .kind = kind,
        .latency_bucket = lb,
    };
    struct red *r = red_slot(k, &key);

    if (!r->used) {
        if ((k->n_red + 1) * 2 > k->red_cap) {
            red_grow(k);
            r = red_slot(k, &key);
        }
        k->n_red++;
        *r = key;
    }
    r->calls++;
    r->errors += error;
    r->duration_sum += (double)duration_ns;
}

/* What a block needs of a span: from the unpacked request or the wire scan. */
struct span_fields {
    const uint8_t *trace_id; /* 16 bytes */
    const char *name;
    uint64_t start, end;
    int32_t kind, code;
    bool root;
    Opentelemetry__Proto__Common__V1__KeyValue *const *attrs;
    size_t n_attrs;
    const Opentelemetry__Proto__Resource__V1__Resource *res;
};

/* Adds span s (of the request's resource i, scope j) to block k's view of the request. */
static void block_view_add(struct block *k, struct opg_arena *a, const otlp_req_t *req, size_t i,
                           size_t j, const otlp_span_t *s)
{
    const otlp_rs_t *rs = req->resource_spans[i];
    const otlp_ss_t *ss = rs->scope_spans[j];

    if (!k->rs || k->rs_at != i) {
        k->rs = opg_arena_alloc(a, sizeof(*k->rs));
        *k->rs = *rs;
        k->rs->scope_spans = opg_arena_alloc(a, rs->n_scope_spans * sizeof(*k->rs->scope_spans));
        k->rs->n_scope_spans = 0;
        k->req.resource_spans[k->req.n_resource_spans++] = k->rs;
        k->rs_at = i;
        k->ss = NULL;
    }
    if (!k->ss || k->ss_at != j) {
        k->ss = opg_arena_alloc(a, sizeof(*k->ss));
        *k->ss = *ss;
        k->ss->spans = opg_arena_alloc(a, ss->n_spans * sizeof(*k->ss->spans));
        k->ss->n_spans = 0;
        k->rs->scope_spans[k->rs->n_scope_spans++] = k->ss;
        k->ss_at = j;
    }
    k->ss->spans[k->ss->n_spans++] = (otlp_span_t *)s;
}

/*
 * Adds span f to block k: its trace's part, its RED row, its correlation
 * IDs and its operation. The caller checked that the service fits.
 */
static void block_add(struct opg_batch *b, struct block *k, const struct span_fields *f,
                      int service, ProtobufCBinaryData svc, const struct opg_ingest_opts *o)
{
    int16_t kind = f->kind >= 0 && f->kind <= INT16_MAX ? (int16_t)f->kind : 0;
    const char *name = f->name ? f->name : "";
    size_t name_len = strlen(name);
    uint64_t name_hash = opg_hash64(name, name_len);
    struct part *p;

    k->n_spans++;

    /* Times kept within int64 so that SQL can compare them; the exact ones
     * are in the block. */
    uint64_t start = f->start, end = f->end;
    if (start > (uint64_t)INT64_MAX)
        start = (uint64_t)INT64_MAX;
    if (end < start || end > (uint64_t)INT64_MAX)
        end = start;
    int64_t duration = (int64_t)(end - start);

    p = part_for(k, f->trace_id);
    if ((int64_t)start < p->start_ns)
        p->start_ns = (int64_t)start;
    if ((int64_t)end > p->end_ns)
        p->end_ns = (int64_t)end;
    if (duration > p->longest_ns)
        p->longest_ns = duration;
    p->name_bloom |= name_bloom(name_hash);
    p->services |= 1ULL << service;
    p->span_count++;
    p->error_count += f->code == 2;
    if (kind <= 5)
        p->kinds |= (uint16_t)(1u << kind);
    if (f->root && p->root_service < 0) {
        p->root_service = service;
        p->root_name = name;
    }
    if (kind == 2 || kind == 5)
        red_add(k, (int64_t)start, duration, service, name, name_hash, kind, f->code == 2);
    opg_batch_add_part_correlations(b, o, f->attrs, f->n_attrs, f->res, f->trace_id, (int64_t)start,
                                    k->day, &p->corr);
    note_operation(b, &svc, k->service_hash[service], name, name_len, name_hash, kind);
    b->n_items++;
}

/*
 * trace_parts.services is one text of the names joined by U+001F (an array
 * costs ~24 bytes of header and 4 per name more, migration 014); a U+001F
 * inside a name becomes '_'.
 */
static void copy_services(struct opg_buf *r, const ProtobufCBinaryData *names, size_t n)
{
    size_t at = opg_copy_begin_field(r);

    for (size_t i = 0; i < n; i++) {
        size_t from;

        if (i)
            opg_buf_addch(r, 0x1f);
        from = r->len;
        if (opg_text_clean((const char *)names[i].data, names[i].len))
            opg_buf_add(r, names[i].data, names[i].len);
        else
            opg_text_sanitize(r, (const char *)names[i].data, names[i].len);
        for (size_t k = from; k < r->len; k++)
            if (r->data[k] == 0x1f)
                r->data[k] = '_';
    }
    opg_copy_end_field(r, at);
}

static int cmp_service(const void *a, const void *b)
{
    const ProtobufCBinaryData *x = *(const ProtobufCBinaryData *const *)a;
    const ProtobufCBinaryData *y = *(const ProtobufCBinaryData *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);

    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The 128-bit product of a and b, its halves xored (wyhash's "mum"). */
/* Packs, hashes and compresses block k and adds its rows. */
static int block_flush(struct opg_batch *b, struct block *k, struct opg_codec *codec,
                       struct opg_buf *scratch)
{
    const ProtobufCBinaryData *sorted[MAX_BLOCK_SERVICES];
    ProtobufCBinaryData names[MAX_BLOCK_SERVICES];
    const uint8_t *packed = k->raw;
    size_t n, at;
    int64_t id;
    struct opg_buf *r;

    if (!k->n_spans)
        return 0;
    if (!packed) {
        n = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &k->req);
        opg_buf_reset(scratch);
        opg_buf_grow(scratch, n);
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(
            &k->req, (uint8_t *)scratch->data);
        scratch->len = n;
        packed = (const uint8_t *)scratch->data;
    } else {
        n = k->raw_len;
    }
    id = (int64_t)opg_hash64_fast(packed, n);

    r = opg_batch_row(b, OPG_STREAM_BLOCKS, 4);
    opg_copy_int8(r, id);
    opg_copy_int4(r, k->day);
    opg_copy_int4(r, (int32_t)k->n_spans);
    at = opg_copy_begin_field(r);
    if (opg_codec_encode_traces(codec, packed, n, r) < 0)
        return -1;
    opg_copy_end_field(r, at);
    opg_batch_add_dict(b, opg_codec_last_dict(codec));

    /* a part's services, sorted by name: the block's services in name order */
    for (int i = 0; i < k->n_services; i++)
        sorted[i] = &k->services[i];
    qsort(sorted, (size_t)k->n_services, sizeof(*sorted), cmp_service);

    for (size_t i = 0; i < k->parts_cap; i++) {
        const struct part *p = &k->parts[i];
        size_t n_names = 0;

        if (!p->used)
            continue;
        for (int s = 0; s < k->n_services; s++)
            if (p->services & (1ULL << (sorted[s] - k->services)))
                names[n_names++] = *sorted[s];
        r = opg_batch_row(b, OPG_STREAM_PARTS, 14);
        opg_copy_int8(r, p->start_ns);
        opg_copy_int8(r, p->end_ns);
        opg_copy_int8(r, id);
        opg_copy_int8(r, (int64_t)p->name_bloom);
        opg_copy_int8(r, p->longest_ns);
        opg_copy_int4(r, k->day);
        opg_copy_int4(r, p->span_count);
        opg_copy_int4(r, p->error_count);
        opg_copy_int2(r, (int16_t)p->kinds);
        opg_copy_bytes(r, p->trace_id, 16);
        copy_services(r, names, n_names);
        if (p->root_service >= 0) {
            opg_copy_text(r, (const char *)k->services[p->root_service].data,
                          k->services[p->root_service].len);
            opg_copy_text(r, p->root_name, strlen(p->root_name));
        } else {
            opg_copy_null(r);
            opg_copy_null(r);
        }
        if (p->corr)
            opg_copy_int8(r, (int64_t)p->corr);
        else
            opg_copy_null(r);
    }
    for (size_t i = 0; i < k->red_cap; i++) {
        const struct red *d = &k->red[i];

        if (!d->used)
            continue;
        r = opg_batch_row(b, OPG_STREAM_RED, 10);
        opg_copy_int8(r, id);
        opg_copy_int8(r, d->bucket_ns);
        opg_copy_int4(r, k->day);
        opg_copy_text(r, (const char *)k->services[d->service].data, k->services[d->service].len);
        opg_copy_text(r, d->name, strlen(d->name));
        opg_copy_int2(r, d->kind);
        opg_copy_int2(r, d->latency_bucket);
        opg_copy_int8(r, d->calls);
        opg_copy_int8(r, d->errors);
        opg_copy_float8(r, d->duration_sum);
    }
    return 0;
}

int opg_spans_encode(struct opg_batch *b, const otlp_req_t *req, struct opg_codec *codec,
                     const struct opg_ingest_opts *o)
{
    struct opg_arena *a = opg_arena_create(SIZE_MAX);
    struct opg_buf scratch = OPG_BUF_INIT;
    struct span_plan *plan;
    ProtobufCBinaryData *svc;
    size_t total = 0, at;
    int32_t days[OPG_MAX_DAYS_PER_BATCH];
    int n_days = 0, ret = -1;
    struct block k = {0};

    for (size_t i = 0; i < req->n_resource_spans; i++)
        for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
            total += req->resource_spans[i]->scope_spans[j]->n_spans;
    plan = opg_xcalloc(total ? total : 1, sizeof(*plan));
    svc = opg_xcalloc(req->n_resource_spans ? req->n_resource_spans : 1, sizeof(*svc));

    /* which spans are valid, and the day each goes to */
    at = 0;
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const otlp_rs_t *rs = req->resource_spans[i];

        svc[i] = opg_resource_service(rs->resource); /* once per resource */
        if (!svc[i].data) /* protobuf-c's empty bytes: memcmp wants a pointer */
            svc[i].data = (uint8_t *)"";
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const otlp_ss_t *ss = rs->scope_spans[j];
            for (size_t s = 0; s < ss->n_spans; s++, at++) {
                const char *why = span_invalid(ss->spans[s]);
                int d;

                if (why) {
                    opg_batch_reject(b, why);
                    continue;
                }
                plan[at].ok = true;
                plan[at].day = opg_batch_day(b, ss->spans[s]->start_time_unix_nano, o);
                for (d = 0; d < n_days && days[d] != plan[at].day; d++)
                    ;
                if (d == n_days && n_days < OPG_MAX_DAYS_PER_BATCH)
                    days[n_days++] = plan[at].day;
            }
        }
    }

    /* One block for the whole request, as received: no repacking. */
    bool whole = o->raw_body && n_days == 1 && !b->rejected && total <= OPG_BLOCK_MAX_SPANS &&
                 req->n_resource_spans <= MAX_BLOCK_SERVICES;

    /* then the blocks of each day, in request order */
    for (int d = 0; d < n_days; d++) {
        block_start(&k, a, days[d], req->n_resource_spans);
        at = 0;
        for (size_t i = 0; i < req->n_resource_spans; i++) {
            const otlp_rs_t *rs = req->resource_spans[i];
            for (size_t j = 0; j < rs->n_scope_spans; j++) {
                const otlp_ss_t *ss = rs->scope_spans[j];
                for (size_t s = 0; s < ss->n_spans; s++, at++) {
                    int service;

                    if (!plan[at].ok || plan[at].day != days[d])
                        continue;
                    service = service_index(&k, svc[i]);
                    if (k.n_spans == OPG_BLOCK_MAX_SPANS || service < 0) {
                        if (block_flush(b, &k, codec, &scratch) < 0)
                            goto out;
                        block_release(&k);
                        block_start(&k, a, days[d], req->n_resource_spans);
                        service = service_index(&k, svc[i]);
                    }
                    const otlp_span_t *sp = ss->spans[s];
                    struct span_fields f = {
                        .trace_id = sp->trace_id.data,
                        .name = sp->name,
                        .start = sp->start_time_unix_nano,
                        .end = sp->end_time_unix_nano,
                        .kind = sp->kind,
                        .code = sp->status ? (int32_t)sp->status->code : 0,
                        .root = !sp->parent_span_id.len,
                        .attrs = sp->attributes,
                        .n_attrs = sp->n_attributes,
                        .res = rs->resource,
                    };
                    block_view_add(&k, a, req, i, j, sp);
                    block_add(b, &k, &f, service, svc[i], o);
                    if (whole) {
                        k.raw = o->raw_body;
                        k.raw_len = o->raw_len;
                    }
                }
            }
        }
        if (block_flush(b, &k, codec, &scratch) < 0)
            goto out;
        block_release(&k);
    }
    ret = 0;
out:
    block_release(&k);
    free(plan);
    free(svc);
    opg_buf_release(&scratch);
    opg_arena_destroy(a);
    return ret;
}

int opg_spans_encode_scan(struct opg_batch *b, const struct opg_trace_scan *sc,
                          struct opg_codec *codec, const struct opg_ingest_opts *o)
{
    struct opg_buf scratch = OPG_BUF_INIT;
    struct block k = {0};
    int32_t day;
    int ret = -1;

    if (!sc->n_spans)
        return 0;
    /* the rule of opg_spans_encode's "whole": one day, every span valid,
     * within a block's bounds */
    if (!o->raw_body || sc->n_spans > OPG_BLOCK_MAX_SPANS || sc->n_resources > MAX_BLOCK_SERVICES)
        return 1;
    day = opg_ingest_day(sc->spans[0].start_time_unix_nano, o);
    for (size_t i = 0; i < sc->n_spans; i++) {
        const struct opg_scan_span *sp = &sc->spans[i];

        if (ids_invalid(sp->trace_id, sp->trace_id_len, sp->span_id, sp->span_id_len,
                        sp->parent_span_id_len) ||
            opg_ingest_day(sp->start_time_unix_nano, o) != day)
            return 1;
    }

    opg_batch_day(b, sc->spans[0].start_time_unix_nano, o);
    block_start(&k, NULL, day, sc->n_resources);
    k.raw = o->raw_body;
    k.raw_len = o->raw_len;
    for (size_t i = 0; i < sc->n_spans; i++) {
        const struct opg_scan_span *sp = &sc->spans[i];
        const struct opg_scan_resource *res = &sc->resources[sp->resource];
        struct span_fields f = {
            .trace_id = sp->trace_id,
            .name = sp->name,
            .start = sp->start_time_unix_nano,
            .end = sp->end_time_unix_nano,
            .kind = sp->kind,
            .code = sp->status_code,
            .root = !sp->parent_span_id_len,
            .attrs = sp->n_corr ? sc->span_corr + sp->corr_at : NULL,
            .n_attrs = sp->n_corr,
            .res = &res->corr,
        };

        block_add(b, &k, &f, service_index(&k, res->service), res->service, o);
    }
    if (block_flush(b, &k, codec, &scratch) < 0)
        goto out;
    ret = 0;
out:
    block_release(&k);
    opg_buf_release(&scratch);
    return ret;
}

static uint8_t *arena_copy(struct opg_arena *a, const void *p, size_t n)
{
    uint8_t *d = opg_arena_alloc(a, n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

otlp_span_t *opg_spans_decode(struct opg_arena *arena, struct opg_codec *codec,
                              const struct opg_span_row *row, struct opg_buf *scratch)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(arena);
    otlp_span_t *s;

    if (opg_codec_decode(codec, row->payload, row->payload_len, MAX_DECODED_PAYLOAD, scratch) < 0)
        return NULL;
    s = opentelemetry__proto__trace__v1__span__unpack(&al, scratch->len,
                                                      (const uint8_t *)scratch->data);
    if (!s)
        return NULL;
    s->trace_id.data = arena_copy(arena, row->trace_id, row->trace_id_len);
    s->trace_id.len = row->trace_id_len;
    s->span_id.data = arena_copy(arena, row->span_id, row->span_id_len);
    s->span_id.len = row->span_id_len;
    if (row->parent_span_id) {
        s->parent_span_id.data = arena_copy(arena, row->parent_span_id, row->parent_span_id_len);
        s->parent_span_id.len = row->parent_span_id_len;
    }
    if (!s->start_time_unix_nano && !s->end_time_unix_nano) {
        s->start_time_unix_nano = (uint64_t)row->start_ns;
        s->end_time_unix_nano = (uint64_t)row->start_ns + (uint64_t)row->duration_ns;
    }
    if (!s->kind)
        s->kind = row->kind;
    if (!s->name || !s->name[0])
        s->name = opg_arena_strndup(arena, row->name, row->name_len);
    if (row->status) {
        if (!s->status) {
            s->status = opg_arena_alloc(arena, sizeof(*s->status));
            if (!s->status)
                return NULL;
            opentelemetry__proto__trace__v1__status__init(s->status);
        }
        if (!s->status->code)
            s->status->code = row->status;
    }
    if (!s->trace_id.data || !s->span_id.data || !s->name)
        return NULL;
    return s;
}

Opentelemetry__Proto__Trace__V1__ResourceSpans *
opg_origin_decode(struct opg_arena *arena, struct opg_codec *codec, const uint8_t *payload,
                  size_t len, struct opg_buf *scratch)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(arena);
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs;

    if (opg_codec_decode(codec, payload, len, MAX_DECODED_PAYLOAD, scratch) < 0)
        return NULL;
    rs = opentelemetry__proto__trace__v1__resource_spans__unpack(&al, scratch->len,
                                                                 (const uint8_t *)scratch->data);
    if (!rs || rs->n_scope_spans != 1)
        return NULL;
    return rs;
}

Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *
opg_block_decode(struct opg_arena *arena, struct opg_codec *codec, const uint8_t *payload,
                 size_t len, struct opg_buf *scratch)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(arena);

    if (opg_codec_decode(codec, payload, len, MAX_DECODED_BLOCK, scratch) < 0)
        return NULL;
    /* a corrupt row must not make protobuf-c's unpack recurse without bound */
    if (opg_pb_check_depth(
            &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
            (const uint8_t *)scratch->data, scratch->len, OPG_BLOCK_MAX_DEPTH) < 0)
        return NULL;
    return opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
        &al, scratch->len, (const uint8_t *)scratch->data);
}

/* ---- span ID sets ------------------------------------------------------------ */

static size_t span_ids_slot(const struct opg_span_ids *s, uint64_t v)
{
    return (size_t)((v * UINT64_C(0x9e3779b97f4a7c15)) >> 7) & (s->cap - 1);
}

bool opg_span_ids_has(const struct opg_span_ids *s, uint64_t v)
{
    if (!v || !s->cap)
        return false;
    for (size_t i = span_ids_slot(s, v); s->slots[i]; i = (i + 1) & (s->cap - 1))
        if (s->slots[i] == v)
            return true;
    return false;
}

bool opg_span_ids_add(struct opg_span_ids *s, uint64_t v)
{
    size_t i;

    if ((s->n + 1) * 2 > s->cap) {
        struct opg_span_ids bigger = {opg_xcalloc(s->cap ? s->cap * 2 : 64, sizeof(uint64_t)),
                                      s->cap ? s->cap * 2 : 64, 0};
        for (size_t k = 0; k < s->cap; k++)
            if (s->slots[k])
                opg_span_ids_add(&bigger, s->slots[k]);
        free(s->slots);
        *s = bigger;
    }
    for (i = span_ids_slot(s, v); s->slots[i]; i = (i + 1) & (s->cap - 1))
        if (s->slots[i] == v)
            return false;
    s->slots[i] = v;
    s->n++;
    return true;
}

void opg_span_ids_release(struct opg_span_ids *s)
{
    free(s->slots);
    memset(s, 0, sizeof(*s));
}
