/*
 * Finding traces: see search.h.
 */
#include "search.h"
#include "pgutil.h"
#include "arena.h"
#include "batch.h"
#include "buf.h"
#include "hex.h"
#include "otlp.h"
#include "spans.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

typedef Opentelemetry__Proto__Trace__V1__Span otlp_span_t;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otlp_rs_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue otlp_kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_value_t;

/* Rows fetched from the search cursor at a time. */
#define FETCH_ROWS "1000"
/* Decoded bytes of one fetched batch of candidate spans, and of the origins. */
#define BATCH_ARENA_LIMIT  (512u << 20)
#define ORIGIN_ARENA_LIMIT (64u << 20)
#define STATUS_ERROR       OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR

static void set_err(char *err, size_t n, const char *what, PGconn *conn)
{
    snprintf(err, n, "%s: %s", what, conn ? PQerrorMessage(conn) : "");
    err[strcspn(err, "\n")] = '\0';
}

/* The UTC day a time falls in, as the partitions number them. */
static int64_t day_of(int64_t ns)
{
    return ns >= 0 ? ns / OPG_NS_PER_DAY : -((-ns + OPG_NS_PER_DAY - 1) / OPG_NS_PER_DAY);
}

/* ---------------------------------------------------------------- the query */

void opg_search_query_init(struct opg_search_query *q)
{
    memset(q, 0, sizeof(*q));
    q->span_dur_min_ns = q->span_dur_max_ns = -1;
    q->trace_dur_min_ns = q->trace_dur_max_ns = -1;
    q->status = -1;
    q->kind = -1;
}

void opg_search_query_release(struct opg_search_query *q)
{
    for (size_t i = 0; i < q->n_tags; i++) {
        free(q->tags[i].key);
        free(q->tags[i].value);
    }
    q->n_tags = 0;
}

const char *opg_search_kind_name(int kind)
{
    static const char *const names[] = {"", "internal", "server", "client", "producer", "consumer"};

    return kind >= 0 && kind <= 5 ? names[kind] : NULL;
}

int opg_search_kind_from_name(const char *name)
{
    for (int k = 0; k <= 5; k++)
        if (!strcmp(opg_search_kind_name(k), name))
            return k;
    return -1;
}

int opg_search_query_add_tag(struct opg_search_query *q, const char *key, const char *value,
                             char *err, size_t errlen)
{
    if (!*key || strlen(key) > OPG_SEARCH_MAX_TAG_LEN || strlen(value) > OPG_SEARCH_MAX_TAG_LEN) {
        snprintf(err, errlen, "a tag key has 1 to %d characters, a value at most %d",
                 OPG_SEARCH_MAX_TAG_LEN, OPG_SEARCH_MAX_TAG_LEN);
        return -1;
    }
    /*
     * Jaeger derives these tags from the span's status and kind; here they
     * are plain columns, so they filter in SQL and cost no decompression.
     */
    if (!strcmp(key, "error") && (!strcmp(value, "true") || !strcmp(value, "false"))) {
        q->status = STATUS_ERROR;
        q->status_not = !strcmp(value, "false");
        return 0;
    }
    if (!strcmp(key, "otel.status_code")) {
        int code = opg_otlp_status_code_from_name(value);
        if (code < 0) {
            static const char *const names[] = {"UNSET", "OK", "ERROR"};
            for (int i = 0; i < 3; i++)
                if (!strcmp(value, names[i]))
                    code = i;
        }
        if (code < 0) {
            snprintf(err, errlen, "tag otel.status_code: expected UNSET, OK or ERROR, got '%.64s'",
                     value);
            return -1;
        }
        q->status = code;
        q->status_not = false;
        return 0;
    }
    if (!strcmp(key, "span.kind")) {
        int kind = opg_search_kind_from_name(value);
        if (kind <= 0) {
            snprintf(err, errlen,
                     "tag span.kind: expected server, client, producer, consumer or internal, got "
                     "'%.64s'",
                     value);
            return -1;
        }
        q->kind = kind;
        return 0;
    }
    if (q->n_tags == OPG_SEARCH_MAX_TAGS) {
        snprintf(err, errlen, "at most %d tags", OPG_SEARCH_MAX_TAGS);
        return -1;
    }
    q->tags[q->n_tags].key = opg_xstrdup(key);
    q->tags[q->n_tags].value = opg_xstrdup(value);
    q->n_tags++;
    return 0;
}

int opg_search_query_parse_tags(struct opg_search_query *q, const char *json, char *err,
                                size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *v;
    int ret = -1;

    if (!root) {
        snprintf(err, errlen, "expected a JSON object of strings: %s", jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "expected a JSON object of strings like {\"error\":\"true\"}");
        goto out_free_root;
    }
    json_object_foreach(root, key, v)
    {
        char num[64];
        const char *text;

        /* Jaeger wants strings; a bare number or boolean can only mean its text. */
        if (json_is_string(v)) {
            text = json_string_value(v);
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            text = num;
        } else if (json_is_real(v)) {
            snprintf(num, sizeof(num), "%.17g", json_real_value(v));
            text = num;
        } else if (json_is_boolean(v)) {
            text = json_is_true(v) ? "true" : "false";
        } else {
            snprintf(err, errlen, "tag '%.64s': expected a string value", key);
            goto out_free_root;
        }
        if (strlen(text) != (json_is_string(v) ? json_string_length(v) : strlen(text))) {
            snprintf(err, errlen, "tag '%.64s': the value holds a NUL character", key);
            goto out_free_root;
        }
        if (opg_search_query_add_tag(q, key, text, err, errlen) < 0)
            goto out_free_root;
    }
    ret = 0;
out_free_root:
    json_decref(root);
    return ret;
}

int opg_search_query_parse_tag_pair(struct opg_search_query *q, const char *pair, char *err,
                                    size_t errlen)
{
    const char *colon = strchr(pair, ':');
    char key[OPG_SEARCH_MAX_TAG_LEN + 1];
    size_t n;

    if (!colon || colon == pair) {
        snprintf(err, errlen, "malformed 'tag' parameter, expecting key:value, got '%.64s'", pair);
        return -1;
    }
    n = (size_t)(colon - pair);
    if (n > OPG_SEARCH_MAX_TAG_LEN) {
        snprintf(err, errlen, "a tag key has at most %d characters", OPG_SEARCH_MAX_TAG_LEN);
        return -1;
    }
    memcpy(key, pair, n);
    key[n] = '\0';
    return opg_search_query_add_tag(q, key, colon + 1, err, errlen);
}

const char *opg_search_param(opg_search_param_fn get, void *cls, const char *const *names,
                             const char **used)
{
    for (size_t i = 0; names[i]; i++) {
        const char *v = get(cls, names[i]);
        if (v && *v) {
            if (used)
                *used = names[i];
            return v;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- matching tags */

static bool value_is(const otlp_value_t *v, const char *want)
{
    char *end;

    if (!v)
        return false;
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        return strlen(want) == v->string_value.len &&
               !memcmp(v->string_value.data, want, v->string_value.len);
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        return !strcmp(want, v->bool_value ? "true" : "false");
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: {
        long long n;
        errno = 0;
        n = strtoll(want, &end, 10);
        return *want && !*end && !errno && n == v->int_value;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE: {
        /* Compared as numbers: "1.5" and "1.50" both mean the stored 1.5. */
        double d = strtod(want, &end);
        return *want && !*end && d == v->double_value;
    }
    default:
        return false;
    }
}

static bool attrs_have(otlp_kv_t *const *kv, size_t n, const struct opg_search_tag *t)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i]->key && !strcmp(kv[i]->key, t->key) && value_is(kv[i]->value, t->value))
            return true;
    return false;
}

/* Where Jaeger looks for a tag: the span's tags and logs, its process, and the
 * tags the OTLP translation adds (scope, status message). */
static bool span_has_tag(const otlp_span_t *s, const otlp_rs_t *origin,
                         const struct opg_search_tag *t)
{
    const Opentelemetry__Proto__Common__V1__InstrumentationScope *scope =
        origin && origin->n_scope_spans ? origin->scope_spans[0]->scope : NULL;

    if (attrs_have(s->attributes, s->n_attributes, t))
        return true;
    for (size_t i = 0; i < s->n_events; i++)
        if (attrs_have(s->events[i]->attributes, s->events[i]->n_attributes, t))
            return true;
    if (origin && origin->resource &&
        attrs_have(origin->resource->attributes, origin->resource->n_attributes, t))
        return true;
    if (scope && scope->name && !strcmp(t->key, "otel.scope.name"))
        return !strcmp(scope->name, t->value);
    if (scope && scope->version && !strcmp(t->key, "otel.scope.version"))
        return !strcmp(scope->version, t->value);
    if (s->status && s->status->message && !strcmp(t->key, "otel.status_description"))
        return !strcmp(s->status->message, t->value);
    return false;
}

/* ---------------------------------------------------------------- trace ID sets */

struct idset {
    uint8_t (*slots)[16];
    bool *used;
    size_t cap; /* a power of two */
    size_t n;
};

static void idset_release(struct idset *s)
{
    free(s->slots);
    free(s->used);
    memset(s, 0, sizeof(*s));
}

static size_t idset_slot(const struct idset *s, const uint8_t id[16])
{
    uint64_t h;

    /* Trace IDs are random already; mixing guards against patterned ones. */
    memcpy(&h, id + 8, sizeof(h));
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return (size_t)h & (s->cap - 1);
}

static bool idset_has(const struct idset *s, const uint8_t id[16])
{
    if (!s->cap)
        return false;
    for (size_t i = idset_slot(s, id); s->used[i]; i = (i + 1) & (s->cap - 1))
        if (!memcmp(s->slots[i], id, 16))
            return true;
    return false;
}

/* Adds id; true if it was not there yet. */
static bool idset_add(struct idset *s, const uint8_t id[16])
{
    size_t i;

    if ((s->n + 1) * 2 > s->cap) {
        struct idset bigger = {0};
        bigger.cap = s->cap ? s->cap * 2 : 256;
        bigger.slots = opg_xcalloc(bigger.cap, 16);
        bigger.used = opg_xcalloc(bigger.cap, sizeof(bool));
        for (size_t k = 0; k < s->cap; k++)
            if (s->used[k])
                idset_add(&bigger, s->slots[k]);
        idset_release(s);
        *s = bigger;
    }
    for (i = idset_slot(s, id); s->used[i]; i = (i + 1) & (s->cap - 1))
        if (!memcmp(s->slots[i], id, 16))
            return false;
    s->used[i] = true;
    memcpy(s->slots[i], id, 16);
    s->n++;
    return true;
}

/* ids as a PostgreSQL bytea[] literal: {"\\x0123...",...} */
static void ids_literal(struct opg_buf *b, const uint8_t (*ids)[16], size_t n)
{
    char hex[33];

    opg_buf_addch(b, '{');
    for (size_t i = 0; i < n; i++) {
        opg_hex_encode(hex, ids[i], 16);
        opg_buf_addf(b, "%s\"\\\\x%s\"", i ? "," : "", hex);
    }
    opg_buf_addch(b, '}');
}

/* ---------------------------------------------------------------- the search */

struct origin_entry {
    int64_t id;
    otlp_rs_t *rs; /* NULL if missing or corrupt: then no resource tag matches */
};

struct search {
    PGconn *conn;
    struct opg_codec *codec;
    const struct opg_search_query *q;
    struct opg_search_result *out;
    struct idset seen;      /* traces decided (found, or refused by the trace duration) */
    uint8_t (*pending)[16]; /* found in this batch, waiting for the trace duration check */
    size_t n_pending;
    struct origin_entry *origins;
    size_t n_origins;
    struct opg_arena *origin_arena;
    struct opg_buf scratch;
    char *err;
    size_t errlen;
};

static int param_add(const char **params, char (*text)[32], int *n, int64_t v)
{
    snprintf(text[*n], sizeof(text[0]), "%lld", (long long)v);
    params[*n] = text[*n];
    return ++*n;
}

/*
 * The candidate query. Values always travel as parameters; only which
 * filters are present shapes the text.
 */
static void build_sql(const struct opg_search_query *q, struct opg_buf *sql, const char **params,
                      char (*text)[32], int *np)
{
    bool by_service = q->service && *q->service;
    bool tags = q->n_tags > 0;
    struct opg_buf filters = OPG_BUF_INIT;
    int p;

    *np = 0;
    if (q->operation && *q->operation) {
        params[*np] = q->operation;
        opg_buf_addf(&filters, " AND s.name = $%d", ++*np);
    }
    if (q->kind >= 0) {
        p = param_add(params, text, np, q->kind);
        opg_buf_addf(&filters, " AND s.kind = $%d::smallint", p);
    }
    if (q->status >= 0) {
        p = param_add(params, text, np, q->status);
        opg_buf_addf(&filters, " AND s.status %s $%d::smallint", q->status_not ? "<>" : "=", p);
    }
    if (q->span_dur_min_ns >= 0) {
        p = param_add(params, text, np, q->span_dur_min_ns);
        opg_buf_addf(&filters, " AND s.duration_ns >= $%d::bigint", p);
    }
    if (q->span_dur_max_ns >= 0) {
        p = param_add(params, text, np, q->span_dur_max_ns);
        opg_buf_addf(&filters, " AND s.duration_ns <= $%d::bigint", p);
    }
    param_add(params, text, np, q->start_min_ns);
    param_add(params, text, np, q->start_max_ns);
    param_add(params, text, np, day_of(q->start_min_ns));
    p = param_add(params, text, np, day_of(q->start_max_ns));

    opg_buf_addstr(sql, "DECLARE opg_search NO SCROLL CURSOR FOR ");
    if (by_service) {
        /* (service, start_ns) index, walked backwards: newest first, no sort. */
        params[*np] = q->service;
        opg_buf_addf(sql,
                     "SELECT s.trace_id%s FROM spans s WHERE s.service = $%d"
                     " AND s.start_ns BETWEEN $%d::bigint AND $%d::bigint"
                     " AND s.day BETWEEN $%d::integer AND $%d::integer%s"
                     " ORDER BY s.start_ns DESC",
                     tags ? ", s.origin_id, s.payload" : "", ++*np, p - 3, p - 2, p - 1, p,
                     filters.data ? filters.data : "");
    } else if (tags) {
        /* traces(start_ns) newest first; each trace's candidate spans by its ID. */
        opg_buf_addf(sql,
                     "SELECT t.trace_id, s.origin_id, s.payload FROM traces t"
                     " CROSS JOIN LATERAL (SELECT s.origin_id, s.payload FROM spans s"
                     " WHERE s.trace_id = t.trace_id AND s.day = t.day%s) s"
                     " WHERE t.start_ns BETWEEN $%d::bigint AND $%d::bigint"
                     " AND t.day BETWEEN $%d::integer AND $%d::integer"
                     " ORDER BY t.start_ns DESC",
                     filters.data ? filters.data : "", p - 3, p - 2, p - 1, p);
    } else {
        opg_buf_addf(sql,
                     "SELECT t.trace_id FROM traces t"
                     " WHERE t.start_ns BETWEEN $%d::bigint AND $%d::bigint"
                     " AND t.day BETWEEN $%d::integer AND $%d::integer",
                     p - 3, p - 2, p - 1, p);
        if (filters.len)
            opg_buf_addf(sql,
                         " AND EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id"
                         " AND s.day = t.day%s)",
                         filters.data);
        opg_buf_addstr(sql, " ORDER BY t.start_ns DESC");
    }
    opg_buf_release(&filters);
}

static const otlp_rs_t *origin_get(struct search *s, int64_t id)
{
    const char *params[1];
    char text[24];
    PGresult *res;
    struct origin_entry *e;

    for (size_t i = 0; i < s->n_origins; i++)
        if (s->origins[i].id == id)
            return s->origins[i].rs;
    snprintf(text, sizeof(text), "%lld", (long long)id);
    params[0] = text;
    res = PQexecParams(s->conn, "SELECT body FROM origins WHERE id = $1::bigint", 1, NULL, params,
                       NULL, NULL, 1);
    s->origins = opg_xrealloc(s->origins, (s->n_origins + 1) * sizeof(*s->origins));
    e = &s->origins[s->n_origins++];
    e->id = id;
    e->rs = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        e->rs = opg_origin_decode(s->origin_arena, s->codec, (const uint8_t *)PQgetvalue(res, 0, 0),
                                  (size_t)PQgetlength(res, 0, 0), &s->scratch);
    PQclear(res);
    return e->rs;
}

/* True if the candidate row r matches every tag of the query. */
static bool row_matches(struct search *s, PGresult *res, int r, struct opg_arena *arena)
{
    struct opg_span_row row = {
        .trace_id = (const uint8_t *)PQgetvalue(res, r, 0),
        .trace_id_len = 16,
        .span_id = (const uint8_t *)"",
        .name = "",
        .payload = (const uint8_t *)PQgetvalue(res, r, 2),
        .payload_len = (size_t)PQgetlength(res, r, 2),
    };
    const otlp_rs_t *origin = origin_get(s, opg_pg_int8(PQgetvalue(res, r, 1)));
    otlp_span_t *span = opg_spans_decode(arena, s->codec, &row, &s->scratch);

    /* A corrupt payload matches nothing: one bad row must not fail every search. */
    if (!span)
        return false;
    for (size_t i = 0; i < s->q->n_tags; i++)
        if (!span_has_tag(span, origin, &s->q->tags[i]))
            return false;
    return true;
}

static void result_add(struct opg_search_result *out, const uint8_t id[16])
{
    out->ids = opg_xrealloc(out->ids, (out->n + 1) * sizeof(*out->ids));
    memcpy(out->ids[out->n++], id, 16);
}

/* Moves the pending traces whose whole duration is within bounds to the result. */
static int check_trace_durations(struct search *s)
{
    const struct opg_search_query *q = s->q;
    struct opg_buf ids = OPG_BUF_INIT;
    struct idset ok = {0};
    char min_s[24], max_s[24];
    const char *params[3] = {NULL, min_s, max_s};
    PGresult *res;
    int ret = -1;

    if (!s->n_pending)
        return 0;
    ids_literal(&ids, (const uint8_t(*)[16])s->pending, s->n_pending);
    params[0] = ids.data;
    snprintf(min_s, sizeof(min_s), "%lld", (long long)q->trace_dur_min_ns);
    snprintf(max_s, sizeof(max_s), "%lld", (long long)q->trace_dur_max_ns);
    res = PQexecParams(s->conn,
                       "SELECT trace_id FROM traces WHERE trace_id = ANY($1::bytea[])"
                       " GROUP BY trace_id"
                       " HAVING max(end_ns) - min(start_ns) >= $2::bigint"
                       " AND ($3::bigint < 0 OR max(end_ns) - min(start_ns) <= $3::bigint)",
                       3, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(s->err, s->errlen, "checking trace durations", s->conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++)
        if (PQgetlength(res, r, 0) == 16)
            idset_add(&ok, (const uint8_t *)PQgetvalue(res, r, 0));
    for (size_t i = 0; i < s->n_pending && s->out->n < q->limit; i++)
        if (idset_has(&ok, s->pending[i]))
            result_add(s->out, s->pending[i]);
    s->n_pending = 0;
    ret = 0;
out:
    PQclear(res);
    idset_release(&ok);
    opg_buf_release(&ids);
    return ret;
}

/* Examines one fetched batch; *done once the search is over. */
static int process_batch(struct search *s, PGresult *res, bool *done)
{
    const struct opg_search_query *q = s->q;
    bool check_duration = q->trace_dur_min_ns >= 0 || q->trace_dur_max_ns >= 0;
    struct opg_arena *arena = q->n_tags ? opg_arena_create(BATCH_ARENA_LIMIT) : NULL;
    int rows = PQntuples(res);
    int ret = 0;

    for (int r = 0; r < rows && !*done; r++) {
        const uint8_t *id = (const uint8_t *)PQgetvalue(res, r, 0);

        if (s->out->scanned == q->max_candidates) {
            s->out->cut = true;
            *done = true;
            break;
        }
        s->out->scanned++;
        /* Cheap test first: most rows of a busy service belong to traces already decided. */
        if (PQgetlength(res, r, 0) != 16 || idset_has(&s->seen, id))
            continue;
        /* A span that does not match leaves its trace undecided: another may match. */
        if (q->n_tags && !row_matches(s, res, r, arena))
            continue;
        idset_add(&s->seen, id);
        if (check_duration) {
            s->pending = opg_xrealloc(s->pending, (s->n_pending + 1) * sizeof(*s->pending));
            memcpy(s->pending[s->n_pending++], id, 16);
        } else {
            result_add(s->out, id);
            *done = s->out->n == q->limit;
        }
    }
    opg_arena_destroy(arena);
    if (check_duration && check_trace_durations(s) < 0)
        ret = -1;
    if (s->out->n == q->limit)
        *done = true;
    return ret;
}

int opg_search_find(PGconn *conn, struct opg_codec *codec, const struct opg_search_query *q,
                    struct opg_search_result *out, char *err, size_t errlen)
{
    struct search s = {
        .conn = conn, .codec = codec, .q = q, .out = out, .err = err, .errlen = errlen};
    struct opg_buf sql = OPG_BUF_INIT;
    const char *params[16];
    char text[16][32];
    int np = 0;
    PGresult *res = NULL;
    bool done = false;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (!q->limit)
        return 0;
    s.origin_arena = opg_arena_create(ORIGIN_ARENA_LIMIT);
    build_sql(q, &sql, params, text, &np);
    res = PQexec(conn, "BEGIN READ ONLY");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "starting the search", conn);
        goto out_rollback;
    }
    PQclear(res);
    res = PQexecParams(conn, sql.data, np, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "searching", conn);
        goto out_rollback;
    }
    while (!done) {
        PQclear(res);
        res = PQexecParams(conn, "FETCH " FETCH_ROWS " FROM opg_search", 0, NULL, NULL, NULL, NULL,
                           1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            set_err(err, errlen, "searching", conn);
            goto out_rollback;
        }
        if (PQntuples(res) == 0)
            break;
        if (process_batch(&s, res, &done) < 0)
            goto out_rollback;
    }
    ret = 0;
out_rollback:
    /* Read-only: ending with a rollback also closes the cursor, whatever happened. */
    PQclear(res);
    PQclear(PQexec(conn, "ROLLBACK"));
    opg_buf_release(&sql);
    opg_buf_release(&s.scratch);
    opg_arena_destroy(s.origin_arena);
    free(s.origins);
    free(s.pending);
    idset_release(&s.seen);
    return ret;
}

void opg_search_result_release(struct opg_search_result *r)
{
    free(r->ids);
    memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------- summaries */

static char *dup_value(PGresult *res, int r, int c)
{
    char *s;
    size_t n;

    if (PQgetisnull(res, r, c))
        return NULL;
    n = (size_t)PQgetlength(res, r, c);
    s = opg_xmalloc(n + 1);
    memcpy(s, PQgetvalue(res, r, c), n);
    s[n] = '\0';
    return s;
}

static struct opg_trace_summary *summary_for(struct opg_trace_summary *s, size_t n, const char *id,
                                             int len)
{
    if (len != 16)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!memcmp(s[i].trace_id, id, 16))
            return &s[i];
    return NULL;
}

int opg_search_summaries(PGconn *conn, const uint8_t (*ids)[16], size_t n,
                         struct opg_trace_summary **out, char *err, size_t errlen)
{
    struct opg_trace_summary *s = opg_xcalloc(n ? n : 1, sizeof(*s));
    struct opg_buf lit = OPG_BUF_INIT;
    char d1[16], d2[16];
    const char *params[3] = {NULL, d1, d2};
    int32_t min_day = INT32_MAX, max_day = INT32_MIN;
    PGresult *res = NULL;
    int ret = -1;

    *out = s;
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        memcpy(s[i].trace_id, ids[i], 16);
    ids_literal(&lit, ids, n);
    params[0] = lit.data;
    res = PQexecParams(conn,
                       "SELECT trace_id, min(start_ns), max(end_ns), sum(span_count),"
                       " sum(error_count), min(root_service), min(root_name), min(day), max(day)"
                       " FROM traces WHERE trace_id = ANY($1::bytea[]) GROUP BY trace_id",
                       1, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading trace summaries", conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        struct opg_trace_summary *t =
            summary_for(s, n, PQgetvalue(res, r, 0), PQgetlength(res, r, 0));
        if (!t)
            continue;
        t->found = true;
        t->start_ns = opg_pg_int8(PQgetvalue(res, r, 1));
        t->end_ns = opg_pg_int8(PQgetvalue(res, r, 2));
        t->span_count = opg_pg_int8(PQgetvalue(res, r, 3));
        t->error_count = opg_pg_int8(PQgetvalue(res, r, 4));
        t->root_service = dup_value(res, r, 5);
        t->root_name = dup_value(res, r, 6);
        if (opg_pg_int4(PQgetvalue(res, r, 7)) < min_day)
            min_day = opg_pg_int4(PQgetvalue(res, r, 7));
        if (opg_pg_int4(PQgetvalue(res, r, 8)) > max_day)
            max_day = opg_pg_int4(PQgetvalue(res, r, 8));
    }
    PQclear(res);
    res = NULL;
    if (min_day > max_day) {
        ret = 0;
        goto out;
    }
    snprintf(d1, sizeof(d1), "%d", (int)min_day);
    snprintf(d2, sizeof(d2), "%d", (int)max_day);

    /* Spans and errors per service; rows come sorted by trace, then service. */
    res = PQexecParams(conn,
                       "SELECT trace_id, service, count(*), count(*) FILTER (WHERE status = 2)"
                       " FROM spans WHERE trace_id = ANY($1::bytea[])"
                       " AND day BETWEEN $2::integer AND $3::integer"
                       " GROUP BY 1, 2 ORDER BY 1, 2",
                       3, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "reading trace services", conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        struct opg_trace_summary *t =
            summary_for(s, n, PQgetvalue(res, r, 0), PQgetlength(res, r, 0));
        struct opg_service_summary *svc;
        if (!t)
            continue;
        t->services = opg_xrealloc(t->services, (t->n_services + 1) * sizeof(*t->services));
        svc = &t->services[t->n_services++];
        svc->name = dup_value(res, r, 1);
        svc->span_count = opg_pg_int8(PQgetvalue(res, r, 2));
        svc->error_count = opg_pg_int8(PQgetvalue(res, r, 3));
    }
    PQclear(res);

    /* Orphans: a parent that is not stored (yet), looked up by the unique index. */
    res = PQexecParams(conn,
                       "SELECT c.trace_id, count(*) FROM spans c"
                       " WHERE c.trace_id = ANY($1::bytea[])"
                       " AND c.day BETWEEN $2::integer AND $3::integer"
                       " AND c.parent_span_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM spans p"
                       " WHERE p.trace_id = c.trace_id AND p.span_id = c.parent_span_id"
                       " AND p.day BETWEEN $2::integer AND $3::integer)"
                       " GROUP BY 1",
                       3, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "counting orphan spans", conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        struct opg_trace_summary *t =
            summary_for(s, n, PQgetvalue(res, r, 0), PQgetlength(res, r, 0));
        if (t)
            t->orphan_count = opg_pg_int8(PQgetvalue(res, r, 1));
    }
    ret = 0;
out:
    PQclear(res);
    opg_buf_release(&lit);
    return ret;
}

void opg_search_summaries_free(struct opg_trace_summary *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++) {
        free(s[i].root_service);
        free(s[i].root_name);
        for (size_t j = 0; j < s[i].n_services; j++)
            free(s[i].services[j].name);
        free(s[i].services);
    }
    free(s);
}

/* ---------------------------------------------------------------- listings */

int opg_search_services(PGconn *conn, void (*fn)(void *cls, const char *service), void *cls,
                        char *err, size_t errlen)
{
    /* operations is kept at ingest and small: listing it never touches spans. */
    PGresult *res = PQexec(conn, "SELECT DISTINCT service FROM operations WHERE service <> ''"
                                 " ORDER BY 1");
    int ret = -1;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "listing services", conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++)
        fn(cls, PQgetvalue(res, r, 0));
    ret = 0;
out:
    PQclear(res);
    return ret;
}

int opg_search_operations(PGconn *conn, const char *service, int kind,
                          void (*fn)(void *cls, const char *name, int kind), void *cls, char *err,
                          size_t errlen)
{
    char kind_s[16];
    const char *params[2] = {service, kind_s};
    PGresult *res;
    int ret = -1;

    snprintf(kind_s, sizeof(kind_s), "%d", kind);
    res = PQexecParams(conn,
                       "SELECT name, kind FROM operations"
                       " WHERE ($1::text IS NULL OR service = $1::text)"
                       " AND ($2::integer < 0 OR kind = $2::integer)"
                       " ORDER BY name, kind",
                       2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "listing operations", conn);
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++)
        fn(cls, PQgetvalue(res, r, 0), atoi(PQgetvalue(res, r, 1)));
    ret = 0;
out:
    PQclear(res);
    return ret;
}

/* ---------------------------------------------------------------- dependencies */

/*
 * Where the most recent max_spans spans of [start_ns, end_ns] begin, from the
 * per-trace span counts walked down the traces(start_ns) index: the graph is
 * then computed over that shorter, recent window. *cut says it is shorter.
 */
static int recent_window(PGconn *conn, const char *const *params, size_t max_spans,
                         int64_t *start_ns, bool *cut, char *err, size_t errlen)
{
    char max_s[24];
    const char *p[5] = {params[0], params[1], params[2], params[3], max_s};
    PGresult *res;
    int ret = -1;

    snprintf(max_s, sizeof(max_s), "%zu", max_spans);
    res = PQexecParams(conn,
                       "SELECT min(start_ns) FILTER (WHERE acc <= $5::bigint),"
                       " coalesce(bool_or(acc > $5::bigint), false)"
                       " FROM (SELECT start_ns, sum(span_count) OVER (ORDER BY start_ns DESC"
                       "  ROWS UNBOUNDED PRECEDING) AS acc FROM traces"
                       "  WHERE start_ns BETWEEN $1::bigint AND $2::bigint"
                       "  AND day BETWEEN $3::integer AND $4::integer) x",
                       5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "sizing the dependency window", conn);
        goto out;
    }
    *cut = PQgetvalue(res, 0, 1)[0] == 't';
    if (*cut)
        *start_ns = PQgetisnull(res, 0, 0) ? INT64_MAX : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    ret = 0;
out:
    PQclear(res);
    return ret;
}

int opg_search_dependencies(PGconn *conn, int64_t start_ns, int64_t end_ns, size_t max_spans,
                            struct opg_dependency **out, size_t *n, bool *cut, char *err,
                            size_t errlen)
{
    char text[4][32];
    const char *params[4] = {text[0], text[1], text[2], text[3]};
    PGresult *res = NULL;
    int ret = -1;

    *out = NULL;
    *n = 0;
    *cut = false;
    snprintf(text[0], sizeof(text[0]), "%lld", (long long)start_ns);
    snprintf(text[1], sizeof(text[1]), "%lld", (long long)end_ns);
    snprintf(text[2], sizeof(text[2]), "%lld", (long long)day_of(start_ns));
    snprintf(text[3], sizeof(text[3]), "%lld", (long long)day_of(end_ns));
    /*
     * One statement joins every child span of the window to its parent. A
     * hash join over the window is several times faster than an index
     * lookup per span, given the memory: the window is bounded to
     * max_spans spans, and so is what the hash holds.
     */
    res = PQexec(conn, "BEGIN READ ONLY; SET LOCAL work_mem = '" OPG_SEARCH_DEPS_WORK_MEM "';"
                       " SET LOCAL jit = off");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        set_err(err, errlen, "starting the dependency query", conn);
        goto out_rollback;
    }
    PQclear(res);
    res = NULL;
    if (recent_window(conn, params, max_spans, &start_ns, cut, err, errlen) < 0)
        goto out_rollback;
    if (*cut) {
        snprintf(text[0], sizeof(text[0]), "%lld", (long long)start_ns);
        snprintf(text[2], sizeof(text[2]), "%lld", (long long)day_of(start_ns));
    }
    /* A parent may have started the day before its child. */
    res = PQexecParams(conn,
                       "SELECT p.service, c.service, count(*),"
                       " count(*) FILTER (WHERE c.status = 2)"
                       " FROM spans c JOIN spans p ON p.trace_id = c.trace_id"
                       " AND p.span_id = c.parent_span_id"
                       " AND p.day BETWEEN $3::integer - 1 AND $4::integer"
                       " WHERE c.start_ns BETWEEN $1::bigint AND $2::bigint"
                       " AND c.day BETWEEN $3::integer AND $4::integer"
                       " AND p.service <> c.service"
                       " GROUP BY 1, 2 ORDER BY 1, 2",
                       4, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_err(err, errlen, "computing dependencies", conn);
        goto out_rollback;
    }
    *out = opg_xcalloc((size_t)PQntuples(res) + 1, sizeof(**out));
    for (int r = 0; r < PQntuples(res); r++) {
        (*out)[*n].parent = dup_value(res, r, 0);
        (*out)[*n].child = dup_value(res, r, 1);
        (*out)[*n].call_count = opg_pg_int8(PQgetvalue(res, r, 2));
        (*out)[*n].error_count = opg_pg_int8(PQgetvalue(res, r, 3));
        (*n)++;
    }
    ret = 0;
out_rollback:
    PQclear(res);
    PQclear(PQexec(conn, "ROLLBACK"));
    return ret;
}

void opg_search_dependencies_free(struct opg_dependency *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++) {
        free(d[i].parent);
        free(d[i].child);
    }
    free(d);
}
