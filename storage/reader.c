#include "reader.h"
#include "pgutil.h"
#include "buf.h"
#include "spans.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_ARENA_LIMIT (1u << 30)

typedef Opentelemetry__Proto__Trace__V1__Span otlp_span_t;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otlp_rs_t;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans otlp_ss_t;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest otlp_req_t;

void opg_trace_release(struct opg_trace *t)
{
    opg_arena_destroy(t->arena);
    memset(t, 0, sizeof(*t));
}

static void set_err(char *err, size_t n, const char *what, PGconn *conn)
{
    snprintf(err, n, "%s: %s", what, conn ? PQerrorMessage(conn) : "");
    err[strcspn(err, "\n")] = '\0';
}

/* Reads the trace's summary into out, and returns the days it has spans in
 * as a PostgreSQL array literal (NULL if the trace is unknown). */
static char *trace_summary(PGconn *conn, const uint8_t trace_id[16], struct opg_trace *out,
                           char *err, size_t errlen, int *status)
{
    const char *params[1] = {(const char *)trace_id};
    int lengths[1] = {16};
    int formats[1] = {1};
    PGresult *res = PQexecParams(conn,
                                 "SELECT array_agg(day), min(start_ns), max(end_ns),"
                                 " sum(span_count), sum(error_count), min(root_service),"
                                 " min(root_name) FROM traces WHERE trace_id = $1",
                                 1, NULL, params, lengths, formats, 0);
    char *days = NULL;

    *status = OPG_READ_ERROR;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading the trace summary", conn);
    } else if (PQgetisnull(res, 0, 0)) {
        *status = OPG_READ_NOT_FOUND;
    } else {
        days = opg_xstrdup(PQgetvalue(res, 0, 0));
        out->start_ns = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        out->end_ns = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        out->span_count = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        out->error_count = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
        snprintf(out->root_service, sizeof(out->root_service), "%s", PQgetvalue(res, 0, 5));
        snprintf(out->root_name, sizeof(out->root_name), "%s", PQgetvalue(res, 0, 6));
        *status = OPG_READ_FOUND;
    }
    PQclear(res);
    return days;
}

struct origin_slot {
    int64_t id;
    otlp_rs_t *rs;
    size_t n; /* spans counted, then filled */
};

static struct origin_slot *find_origin(struct origin_slot *o, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (o[i].id == id)
            return &o[i];
    return NULL;
}

static int load_origins(PGconn *conn, struct opg_codec *codec, struct opg_trace *out,
                        struct origin_slot *slots, size_t n_slots, char *err, size_t errlen)
{
    struct opg_buf ids = OPG_BUF_INIT, scratch = OPG_BUF_INIT;
    const char *params[1];
    PGresult *res;
    int ret = -1;

    opg_buf_addch(&ids, '{');
    for (size_t i = 0; i < n_slots; i++)
        opg_buf_addf(&ids, "%s%lld", i ? "," : "", (long long)slots[i].id);
    opg_buf_addch(&ids, '}');
    params[0] = ids.data;
    res = PQexecParams(conn, "SELECT id, body FROM origins WHERE id = ANY($1::bigint[])", 1, NULL,
                       params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading origins", conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        struct origin_slot *s = find_origin(slots, n_slots, opg_pg_int8(PQgetvalue(res, r, 0)));
        if (!s)
            continue;
        s->rs = opg_origin_decode(out->arena, codec, (const uint8_t *)PQgetvalue(res, r, 1),
                                  (size_t)PQgetlength(res, r, 1), &scratch);
        if (!s->rs) {
            snprintf(err, errlen, "origin %lld is corrupt", (long long)s->id);
            goto out;
        }
    }
    for (size_t i = 0; i < n_slots; i++) {
        if (!slots[i].rs) {
            snprintf(err, errlen, "origin %lld is missing", (long long)slots[i].id);
            goto out;
        }
    }
    ret = 0;
out:
    PQclear(res);
    opg_buf_release(&ids);
    opg_buf_release(&scratch);
    return ret;
}

/* The trace from the rows of the tables before migration 013. */
static int legacy_get_trace(PGconn *conn, struct opg_codec *codec, const uint8_t trace_id[16],
                            size_t max_spans, struct opg_trace *out, char *err, size_t errlen)
{
    const char *params[2];
    int lengths[2] = {16, 0};
    int formats[2] = {1, 0};
    PGresult *res = NULL;
    struct origin_slot *slots = NULL;
    size_t n_slots = 0;
    otlp_span_t **spans = NULL;
    int64_t *span_origin = NULL;
    struct opg_buf scratch = OPG_BUF_INIT;
    char *days;
    int status, rows;

    days = trace_summary(conn, trace_id, out, err, errlen, &status);
    if (status != OPG_READ_FOUND)
        return status;

    status = OPG_READ_ERROR;
    params[0] = (const char *)trace_id;
    params[1] = days;
    res = PQexecParams(conn,
                       "SELECT start_ns, duration_ns, origin_id, kind, status, span_id,"
                       " parent_span_id, name, payload FROM spans"
                       " WHERE trace_id = $1 AND day = ANY($2::integer[])"
                       " ORDER BY start_ns, span_id",
                       2, NULL, params, lengths, formats, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading spans", conn);
        goto out;
    }
    rows = PQntuples(res);
    if ((size_t)rows > max_spans) {
        out->truncated = true;
        rows = (int)max_spans;
    }
    if (rows == 0) {
        status = OPG_READ_NOT_FOUND;
        goto out;
    }
    spans = opg_xcalloc((size_t)rows, sizeof(*spans));
    span_origin = opg_xcalloc((size_t)rows, sizeof(*span_origin));
    slots = opg_xcalloc((size_t)rows, sizeof(*slots));
    for (int r = 0; r < rows; r++) {
        struct opg_span_row row = {
            .start_ns = opg_pg_int8(PQgetvalue(res, r, 0)),
            .duration_ns = opg_pg_int8(PQgetvalue(res, r, 1)),
            .origin_id = opg_pg_int8(PQgetvalue(res, r, 2)),
            .kind = opg_pg_int2(PQgetvalue(res, r, 3)),
            .status = opg_pg_int2(PQgetvalue(res, r, 4)),
            .trace_id = trace_id,
            .trace_id_len = 16,
            .span_id = (const uint8_t *)PQgetvalue(res, r, 5),
            .span_id_len = (size_t)PQgetlength(res, r, 5),
            .parent_span_id =
                PQgetisnull(res, r, 6) ? NULL : (const uint8_t *)PQgetvalue(res, r, 6),
            .parent_span_id_len = (size_t)PQgetlength(res, r, 6),
            .name = PQgetvalue(res, r, 7),
            .name_len = (size_t)PQgetlength(res, r, 7),
            .payload = (const uint8_t *)PQgetvalue(res, r, 8),
            .payload_len = (size_t)PQgetlength(res, r, 8),
        };
        struct origin_slot *s;

        spans[r] = opg_spans_decode(out->arena, codec, &row, &scratch);
        if (!spans[r]) {
            snprintf(err, errlen, "a stored span of this trace is corrupt");
            goto out;
        }
        span_origin[r] = row.origin_id;
        s = find_origin(slots, n_slots, row.origin_id);
        if (!s) {
            s = &slots[n_slots++];
            s->id = row.origin_id;
        }
        s->n++;
    }
    PQclear(res);
    res = NULL;

    if (load_origins(conn, codec, out, slots, n_slots, err, errlen) < 0)
        goto out;
    out->rs = opg_arena_alloc(out->arena, n_slots * sizeof(*out->rs));
    if (!out->rs)
        goto out_too_big;
    for (size_t i = 0; i < n_slots; i++) {
        Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = slots[i].rs->scope_spans[0];
        ss->spans = opg_arena_alloc(out->arena, slots[i].n * sizeof(*ss->spans));
        if (!ss->spans)
            goto out_too_big;
        ss->n_spans = 0;
        out->rs[i] = slots[i].rs;
    }
    out->n_rs = n_slots;
    for (int r = 0; r < rows; r++) {
        Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
            find_origin(slots, n_slots, span_origin[r])->rs->scope_spans[0];
        ss->spans[ss->n_spans++] = spans[r];
    }
    out->n_spans = (size_t)rows;
    status = OPG_READ_FOUND;
    goto out;
out_too_big:
    snprintf(err, errlen, "the trace is too large to load");
out:
    PQclear(res);
    free(days);
    free(spans);
    free(span_origin);
    free(slots);
    opg_buf_release(&scratch);
    return status;
}

/* ---- spans in blocks ---------------------------------------------------------- */

/* A span picked out of a block, and the resource + scope it came with. */
struct picked {
    otlp_span_t *span;
    const otlp_rs_t *rs;
    const otlp_ss_t *ss;
    uint64_t origin; /* hash of the packed resource and scope */
};

struct out_origin {
    uint64_t key;
    otlp_rs_t *rs;
    size_t n;
};

static int cmp_picked(const void *a, const void *b)
{
    const struct picked *x = a, *y = b;
    uint64_t sx = x->span->start_time_unix_nano, sy = y->span->start_time_unix_nano;

    if (sx != sy)
        return sx < sy ? -1 : 1;
    return memcmp(x->span->span_id.data, y->span->span_id.data, OPG_SPAN_ID_LEN);
}

static uint64_t origin_hash(const otlp_rs_t *rs, const otlp_ss_t *ss, struct opg_buf *tmp)
{
    otlp_rs_t r = *rs;
    otlp_ss_t s = *ss, *one[1] = {&s};
    size_t n;

    s.n_spans = 0;
    s.spans = NULL;
    r.n_scope_spans = 1;
    r.scope_spans = one;
    n = opentelemetry__proto__trace__v1__resource_spans__get_packed_size(&r);
    opg_buf_reset(tmp);
    opg_buf_grow(tmp, n);
    opentelemetry__proto__trace__v1__resource_spans__pack(&r, (uint8_t *)tmp->data);
    return opg_hash64(tmp->data, n);
}

/* Appends to *picked the spans of trace_id found in block req. */
static void pick_spans(const otlp_req_t *req, const uint8_t trace_id[16], struct opg_span_ids *seen,
                       struct picked **picked, size_t *n, size_t *cap, struct opg_buf *tmp)
{
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const otlp_rs_t *rs = req->resource_spans[i];
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const otlp_ss_t *ss = rs->scope_spans[j];
            uint64_t origin = 0;
            bool hashed = false;

            for (size_t k = 0; k < ss->n_spans; k++) {
                otlp_span_t *sp = ss->spans[k];

                uint64_t id = 0;

                if (sp->trace_id.len != 16 || memcmp(sp->trace_id.data, trace_id, 16) ||
                    sp->span_id.len != OPG_SPAN_ID_LEN)
                    continue;
                memcpy(&id, sp->span_id.data, sizeof(id));
                if (!id || !opg_span_ids_add(seen, id))
                    continue; /* a span stored twice is returned once */
                if (!hashed) {
                    origin = origin_hash(rs, ss, tmp);
                    hashed = true;
                }
                if (*n == *cap) {
                    *cap = *cap ? *cap * 2 : 64;
                    *picked = opg_xrealloc(*picked, *cap * sizeof(**picked));
                }
                (*picked)[(*n)++] = (struct picked){sp, rs, ss, origin};
            }
        }
    }
}

/* Groups the picked spans (sorted) by origin, in the order of their first span. */
static int group_spans(struct opg_trace *out, struct picked *picked, size_t n)
{
    struct out_origin *o = opg_xcalloc(n ? n : 1, sizeof(*o));
    size_t n_o = 0, i, x;
    int ret = -1;

    for (i = 0; i < n; i++) {
        for (x = 0; x < n_o && o[x].key != picked[i].origin; x++)
            ;
        if (x == n_o) {
            otlp_rs_t *rs = opg_arena_alloc(out->arena, sizeof(*rs));
            otlp_ss_t *ss = opg_arena_alloc(out->arena, sizeof(*ss));
            otlp_ss_t **one = opg_arena_alloc(out->arena, sizeof(*one));
            if (!rs || !ss || !one)
                goto out;
            *rs = *picked[i].rs;
            *ss = *picked[i].ss;
            ss->n_spans = 0;
            one[0] = ss;
            rs->scope_spans = one;
            rs->n_scope_spans = 1;
            o[n_o++] = (struct out_origin){picked[i].origin, rs, 0};
        }
        o[x].n++;
    }
    out->rs = opg_arena_alloc(out->arena, (n_o ? n_o : 1) * sizeof(*out->rs));
    if (!out->rs)
        goto out;
    for (x = 0; x < n_o; x++) {
        otlp_ss_t *ss = o[x].rs->scope_spans[0];
        ss->spans = opg_arena_alloc(out->arena, o[x].n * sizeof(*ss->spans));
        if (!ss->spans)
            goto out;
        out->rs[x] = o[x].rs;
    }
    out->n_rs = n_o;
    for (i = 0; i < n; i++) {
        for (x = 0; o[x].key != picked[i].origin; x++)
            ;
        otlp_ss_t *ss = o[x].rs->scope_spans[0];
        ss->spans[ss->n_spans++] = picked[i].span;
    }
    out->n_spans = n;
    ret = 0;
out:
    free(o);
    return ret;
}

static int blocks_get_trace(PGconn *conn, struct opg_codec *codec, const uint8_t trace_id[16],
                            size_t max_spans, struct opg_trace *out, char *err, size_t errlen)
{
    const char *params[2] = {(const char *)trace_id, NULL};
    int lengths[2] = {16, 0};
    int formats[2] = {1, 0};
    struct opg_buf ids = OPG_BUF_INIT, days = OPG_BUF_INIT, scratch = OPG_BUF_INIT,
                   tmp = OPG_BUF_INIT;
    struct opg_span_ids seen = {0};
    struct picked *picked = NULL;
    size_t n_picked = 0, cap = 0;
    int status = OPG_READ_ERROR;
    PGresult *res;

    res = PQexecParams(conn,
                       "SELECT block_id, day, start_ns, end_ns, root_service, root_name"
                       " FROM trace_parts WHERE otelpg_trace_key(trace_id) = otelpg_trace_key($1)"
                       " AND trace_id = $1 ORDER BY root_service, root_name",
                       1, NULL, params, lengths, formats, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading the trace's parts", conn);
        goto out;
    }
    if (PQntuples(res) == 0) {
        status = OPG_READ_NOT_FOUND;
        goto out;
    }
    out->start_ns = INT64_MAX;
    out->end_ns = INT64_MIN;
    opg_buf_addch(&ids, '{');
    opg_buf_addch(&days, '{');
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t start = opg_pg_int8(PQgetvalue(res, r, 2)),
                end = opg_pg_int8(PQgetvalue(res, r, 3));

        opg_buf_addf(&ids, "%s%lld", r ? "," : "", (long long)opg_pg_int8(PQgetvalue(res, r, 0)));
        opg_buf_addf(&days, "%s%d", r ? "," : "", (int)opg_pg_int4(PQgetvalue(res, r, 1)));
        if (start < out->start_ns)
            out->start_ns = start;
        if (end > out->end_ns)
            out->end_ns = end;
        if (!out->root_service[0] && !PQgetisnull(res, r, 4)) {
            snprintf(out->root_service, sizeof(out->root_service), "%.*s", PQgetlength(res, r, 4),
                     PQgetvalue(res, r, 4));
            snprintf(out->root_name, sizeof(out->root_name), "%.*s", PQgetlength(res, r, 5),
                     PQgetvalue(res, r, 5));
        }
    }
    opg_buf_addch(&ids, '}');
    opg_buf_addch(&days, '}');
    PQclear(res);

    params[0] = ids.data;
    params[1] = days.data;
    res = PQexecParams(conn,
                       "SELECT payload || coalesce(tail, ''::bytea) FROM span_blocks"
                       " WHERE id = ANY($1::bigint[]) AND day = ANY($2::integer[])",
                       2, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading the trace's blocks", conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        otlp_req_t *req =
            opg_block_decode(out->arena, codec, (const uint8_t *)PQgetvalue(res, r, 0),
                             (size_t)PQgetlength(res, r, 0), &scratch);
        if (!req) {
            snprintf(err, errlen, "a stored block of this trace is corrupt or too large");
            goto out;
        }
        pick_spans(req, trace_id, &seen, &picked, &n_picked, &cap, &tmp);
    }
    if (!n_picked) {
        status = OPG_READ_NOT_FOUND; /* parts without blocks: none here */
        goto out;
    }
    /* the summary counts what is really there, each span once */
    out->span_count = (int64_t)n_picked;
    for (size_t i = 0; i < n_picked; i++)
        out->error_count += picked[i].span->status && picked[i].span->status->code == 2;
    qsort(picked, n_picked, sizeof(*picked), cmp_picked);
    if (n_picked > max_spans) {
        out->truncated = true;
        n_picked = max_spans;
    }
    if (group_spans(out, picked, n_picked) < 0) {
        snprintf(err, errlen, "the trace is too large to load");
        goto out;
    }
    status = OPG_READ_FOUND;
out:
    PQclear(res);
    free(picked);
    opg_span_ids_release(&seen);
    opg_buf_release(&ids);
    opg_buf_release(&days);
    opg_buf_release(&scratch);
    opg_buf_release(&tmp);
    return status;
}

int opg_reader_get_trace(PGconn *conn, struct opg_codec *codec, const uint8_t trace_id[16],
                         size_t max_spans, struct opg_trace *out, char *err, size_t errlen)
{
    int status;

    memset(out, 0, sizeof(*out));
    out->arena = opg_arena_create(TRACE_ARENA_LIMIT);
    status = blocks_get_trace(conn, codec, trace_id, max_spans, out, err, errlen);
    if (status != OPG_READ_NOT_FOUND)
        return status;
    struct opg_arena *a = out->arena;
    memset(out, 0, sizeof(*out));
    out->arena = a;
    return legacy_get_trace(conn, codec, trace_id, max_spans, out, err, errlen);
}
