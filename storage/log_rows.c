#include "log_rows.h"
#include "pgutil.h"
#include "otlp_json.h"
#include "spans.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COLUMNS 10
/* A stored payload never decodes to more than this (a record is bounded by
 * the request size limit long before). */
#define MAX_DECODED_PAYLOAD (64u << 20)
/* Everything one read decodes (records and origins) lives in one arena. */
#define READ_ARENA_LIMIT (1u << 30)
/* Candidate rows fetched per round trip while attribute filters scan. */
#define SEARCH_CHUNK 1000

#define BYTEAOID      17
#define INT8OID       20
#define BYTEAARRAYOID 1001

/* The columns every reader selects, in this order. */
#define ROW_COLUMNS "time_ns, origin_id, record_id, service, payload"

typedef Opentelemetry__Proto__Logs__V1__LogRecord otlp_log_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue otlp_value_t;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans otlp_origin_t;

/* ---- encoding ---------------------------------------------------------------- */

static const char *record_invalid(const otlp_log_t *r)
{
    if (r->trace_id.len != 0 && r->trace_id.len != OPG_TRACE_ID_LEN)
        return "invalid trace_id (must be empty or 16 bytes)";
    if (r->span_id.len != 0 && r->span_id.len != OPG_SPAN_ID_LEN)
        return "invalid span_id (must be empty or 8 bytes)";
    return NULL;
}

/* The longest prefix of valid UTF-8 s[0..n) that fits max bytes and ends
 * on a character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/*
 * The body column's text into out (valid UTF-8 without NULs, at most
 * OPG_LOG_BODY_TEXT_MAX bytes): a string body as it is, anything else as its
 * OTLP/JSON, so that a search finds the keys and values of structured bodies
 * too. False when the record has no body.
 */
static bool body_text(const otlp_value_t *v, struct opg_buf *out)
{
    opg_buf_reset(out);
    if (!v || v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET)
        return false;
    if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE) {
        /* Sanitising never shrinks text, and a character is at most 4 bytes:
         * the first MAX + 4 input bytes give every byte the cut can keep. */
        size_t n = v->string_value.len;
        if (n > OPG_LOG_BODY_TEXT_MAX + 4)
            n = OPG_LOG_BODY_TEXT_MAX + 4;
        opg_text_sanitize(out, (const char *)v->string_value.data, n);
    } else {
        struct opg_jw w;
        opg_jw_init(&w, out);
        opg_otlp_json_encode_any_value(&w, v);
    }
    out->len = utf8_cut(out->data, out->len, OPG_LOG_BODY_TEXT_MAX);
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int encode_record(struct opg_batch *b, const otlp_log_t *rec, int64_t origin_id,
                         const Opentelemetry__Proto__Resource__V1__Resource *resource,
                         ProtobufCBinaryData service, struct opg_codec *codec,
                         const struct opg_ingest_opts *o, struct opg_buf *packed,
                         struct opg_buf *text)
{
    uint64_t t = rec->time_unix_nano ? rec->time_unix_nano : rec->observed_time_unix_nano;
    int sev = rec->severity_number;
    bool has_trace =
        rec->trace_id.len == OPG_TRACE_ID_LEN && !all_zero(rec->trace_id.data, rec->trace_id.len);
    bool has_span =
        rec->span_id.len == OPG_SPAN_ID_LEN && !all_zero(rec->span_id.data, rec->span_id.len);
    size_t n = protobuf_c_message_get_packed_size(&rec->base);
    uint8_t record_id[16];
    int64_t time_ns;
    int32_t day;
    struct opg_buf *r;
    size_t at;

    /* A record with no time at all is filed under its arrival; its payload
     * still says it had none. */
    if (!t)
        t = (uint64_t)o->now_ns;
    time_ns = t > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)t;
    day = opg_batch_day(b, t, o);

    /* The origin ID, then the record: the bytes record_id hashes, and after
     * the first 8 the bytes the payload compresses (packed once for both). */
    opg_buf_reset(packed);
    opg_buf_add_be64(packed, (uint64_t)origin_id);
    opg_buf_grow(packed, n);
    protobuf_c_message_pack(&rec->base, (uint8_t *)packed->data + 8);
    packed->len = 8 + n;
    opg_hash128(packed->data, packed->len, record_id);

    r = opg_batch_row(b, OPG_STREAM_LOGS, LOG_COLUMNS);
    opg_copy_int8(r, time_ns);
    opg_copy_int8(r, origin_id);
    opg_copy_int4(r, day);
    opg_copy_int2(r, sev >= INT16_MIN && sev <= INT16_MAX ? (int16_t)sev : 0);
    opg_copy_bytes(r, record_id, sizeof(record_id));
    if (has_trace)
        opg_copy_bytes(r, rec->trace_id.data, rec->trace_id.len);
    else
        opg_copy_null(r);
    if (has_span)
        opg_copy_bytes(r, rec->span_id.data, rec->span_id.len);
    else
        opg_copy_null(r);
    opg_copy_text(r, (const char *)service.data, service.len);
    if (body_text(rec->body, text))
        opg_copy_text(r, text->data, text->len);
    else
        opg_copy_null(r);
    at = opg_copy_begin_field(r);
    if (opg_codec_encode(codec, packed->data + 8, n, r) < 0)
        return -1;
    opg_copy_end_field(r, at);

    if (has_trace)
        opg_batch_add_correlations(b, o, rec->attributes, rec->n_attributes, resource,
                                   OPG_CORR_TRACE, rec->trace_id.data, rec->trace_id.len, time_ns,
                                   day);
    else
        opg_batch_add_correlations(b, o, rec->attributes, rec->n_attributes, resource, OPG_CORR_LOG,
                                   record_id, sizeof(record_id), time_ns, day);
    b->n_items++;
    return 0;
}

int opg_logs_encode(struct opg_batch *b,
                    const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req,
                    struct opg_codec *codec, const struct opg_ingest_opts *o)
{
    struct opg_buf packed = OPG_BUF_INIT, text = OPG_BUF_INIT;
    int ret = -1;

    for (size_t i = 0; i < req->n_resource_logs; i++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        /* looked up once per resource, not once per record */
        ProtobufCBinaryData service = opg_resource_service(rl->resource);

        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            int64_t origin_id = 0;
            bool have_origin = false;

            for (size_t k = 0; k < sl->n_log_records; k++) {
                const char *why = record_invalid(sl->log_records[k]);

                if (why) {
                    opg_batch_reject(b, why);
                    continue;
                }
                if (!have_origin) {
                    if (opg_batch_add_origin(b, rl->resource, rl->schema_url, sl->scope,
                                             sl->schema_url, codec, &packed, &origin_id) < 0)
                        goto out_release;
                    have_origin = true;
                }
                if (encode_record(b, sl->log_records[k], origin_id, rl->resource, service, codec, o,
                                  &packed, &text) < 0)
                    goto out_release;
            }
        }
    }
    ret = 0;
out_release:
    opg_buf_release(&packed);
    opg_buf_release(&text);
    return ret;
}

otlp_log_t *opg_log_rows_decode(struct opg_arena *arena, struct opg_codec *codec,
                                const uint8_t *payload, size_t len, struct opg_buf *scratch)
{
    ProtobufCAllocator al = opg_arena_pb_allocator(arena);

    if (opg_codec_decode(codec, payload, len, MAX_DECODED_PAYLOAD, scratch) < 0)
        return NULL;
    return opentelemetry__proto__logs__v1__log_record__unpack(&al, scratch->len,
                                                              (const uint8_t *)scratch->data);
}

/* ---- reading ----------------------------------------------------------------- */

static void set_pg_err(char *err, size_t n, const char *what, PGconn *conn)
{
    snprintf(err, n, "%s: %s", what, PQerrorMessage(conn));
    err[strcspn(err, "\n")] = '\0';
}

/* One fetched row (columns ROW_COLUMNS); pointers borrowed from the PGresult. */
struct log_row {
    int64_t time_ns;
    int64_t origin_id;
    const uint8_t *record_id;
    const char *service;
    size_t service_len;
    const uint8_t *payload;
    size_t payload_len;
};

static int get_row(const PGresult *res, int r, struct log_row *row)
{
    if (PQgetlength(res, r, 0) != 8 || PQgetlength(res, r, 1) != 8 || PQgetlength(res, r, 2) != 16)
        return -1;
    row->time_ns = opg_pg_int8(PQgetvalue(res, r, 0));
    row->origin_id = opg_pg_int8(PQgetvalue(res, r, 1));
    row->record_id = (const uint8_t *)PQgetvalue(res, r, 2);
    row->service = PQgetvalue(res, r, 3);
    row->service_len = (size_t)PQgetlength(res, r, 3);
    row->payload = (const uint8_t *)PQgetvalue(res, r, 4);
    row->payload_len = (size_t)PQgetlength(res, r, 4);
    return 0;
}

/* The origins a read has met so far, decoded into the read's arena. */
struct origin_cache {
    struct origin_slot {
        int64_t id;
        otlp_origin_t *rs;
    } * slots;
    size_t n, cap;
};

static struct origin_slot *origin_slot(const struct origin_cache *oc, int64_t id)
{
    for (size_t i = 0; i < oc->n; i++)
        if (oc->slots[i].id == id)
            return &oc->slots[i];
    return NULL;
}

/* A loaded origin (origins_load has run for its rows). */
static const otlp_origin_t *origin_find(const struct origin_cache *oc, int64_t id)
{
    return origin_slot(oc, id)->rs;
}

/*
 * Loads into oc the origins of the rows of res marked in want (all rows when
 * want is NULL) that it does not hold yet.
 */
static int origins_load(PGconn *conn, struct opg_codec *codec, struct opg_arena *arena,
                        struct origin_cache *oc, const PGresult *res, int rows, const bool *want,
                        char *err, size_t errlen)
{
    struct opg_buf ids = OPG_BUF_INIT, scratch = OPG_BUF_INIT;
    PGresult *ores = NULL;
    const char *params[1];
    size_t first_new = oc->n;
    int ret = -1;

    for (int r = 0; r < rows; r++) {
        int64_t id;
        if (want && !want[r])
            continue;
        id = opg_pg_int8(PQgetvalue(res, r, 1));
        if (origin_slot(oc, id))
            continue;
        if (oc->n == oc->cap) {
            oc->cap = oc->cap ? 2 * oc->cap : 16;
            oc->slots = opg_xrealloc(oc->slots, oc->cap * sizeof(*oc->slots));
        }
        oc->slots[oc->n].id = id;
        oc->slots[oc->n].rs = NULL;
        oc->n++;
    }
    if (oc->n == first_new) {
        ret = 0;
        goto out_clear;
    }
    opg_buf_addch(&ids, '{');
    for (size_t i = first_new; i < oc->n; i++)
        opg_buf_addf(&ids, "%s%lld", i > first_new ? "," : "", (long long)oc->slots[i].id);
    opg_buf_addch(&ids, '}');
    params[0] = ids.data;
    ores = PQexecParams(conn, "SELECT id, body FROM origins WHERE id = ANY($1::bigint[])", 1, NULL,
                        params, NULL, NULL, 1);
    if (PQresultStatus(ores) != PGRES_TUPLES_OK) {
        set_pg_err(err, errlen, "reading origins", conn);
        goto out_clear;
    }
    for (int r = 0; r < PQntuples(ores); r++) {
        int64_t id = opg_pg_int8(PQgetvalue(ores, r, 0));
        for (size_t i = first_new; i < oc->n; i++) {
            if (oc->slots[i].id != id)
                continue;
            oc->slots[i].rs =
                opg_origin_decode(arena, codec, (const uint8_t *)PQgetvalue(ores, r, 1),
                                  (size_t)PQgetlength(ores, r, 1), &scratch);
            if (!oc->slots[i].rs) {
                snprintf(err, errlen, "origin %lld is corrupt", (long long)id);
                goto out_clear;
            }
        }
    }
    for (size_t i = first_new; i < oc->n; i++) {
        if (!oc->slots[i].rs) {
            snprintf(err, errlen, "origin %lld is missing", (long long)oc->slots[i].id);
            goto out_clear;
        }
    }
    ret = 0;
out_clear:
    if (ret < 0)
        oc->n = first_new; /* nothing half-loaded stays in the cache */
    PQclear(ores);
    opg_buf_release(&ids);
    opg_buf_release(&scratch);
    return ret;
}

static void write_entry(struct opg_jw *w, const struct log_row *row, const otlp_origin_t *origin,
                        const otlp_log_t *rec)
{
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = origin->scope_spans[0];

    opg_jw_obj_begin(w);
    opg_jw_key(w, "service");
    opg_jw_str(w, row->service, row->service_len);
    opg_jw_key(w, "resource");
    opg_otlp_json_encode_resource(w, origin->resource);
    if (origin->schema_url && origin->schema_url[0])
        opg_jw_kstr(w, "resourceSchemaUrl", origin->schema_url);
    opg_jw_key(w, "scope");
    opg_otlp_json_encode_scope(w, ss->scope);
    if (ss->schema_url && ss->schema_url[0])
        opg_jw_kstr(w, "scopeSchemaUrl", ss->schema_url);
    opg_jw_key(w, "record");
    opg_otlp_json_encode_log_record(w, rec);
    opg_jw_obj_end(w);
}

/* A bytea[] parameter in PostgreSQL's binary array format. */
static void bytea_array(struct opg_buf *out, const uint8_t (*ids)[16], size_t n)
{
    opg_buf_add_be32(out, n ? 1 : 0); /* dimensions */
    opg_buf_add_be32(out, 0);         /* no NULLs */
    opg_buf_add_be32(out, BYTEAOID);
    if (n) {
        opg_buf_add_be32(out, (uint32_t)n);
        opg_buf_add_be32(out, 1); /* lower bound */
    }
    for (size_t i = 0; i < n; i++) {
        opg_buf_add_be32(out, 16);
        opg_buf_add(out, ids[i], 16);
    }
}

int opg_logs_write_for(PGconn *conn, struct opg_codec *codec, const uint8_t (*trace_ids)[16],
                       size_t n_traces, const uint8_t (*record_ids)[16], size_t n_records,
                       int64_t start_ns, int64_t end_ns, size_t limit, struct opg_jw *w,
                       bool *truncated, char *err, size_t errlen)
{
    static const Oid types[5] = {BYTEAARRAYOID, BYTEAARRAYOID, INT8OID, INT8OID, INT8OID};
    static const int formats[5] = {1, 1, 1, 1, 1};
    struct opg_buf traces = OPG_BUF_INIT, records = OPG_BUF_INIT, nums = OPG_BUF_INIT;
    struct opg_buf scratch = OPG_BUF_INIT;
    struct opg_arena *arena = opg_arena_create(READ_ARENA_LIMIT);
    struct origin_cache oc = {0};
    otlp_log_t **recs = NULL;
    PGresult *res = NULL;
    const char *values[5];
    int lengths[5];
    int64_t lim = limit >= (size_t)INT64_MAX ? INT64_MAX - 1 : (int64_t)limit;
    int ret = -1, rows;

    *truncated = false;
    bytea_array(&traces, trace_ids, n_traces);
    bytea_array(&records, record_ids, n_records);
    opg_buf_add_be64(&nums, (uint64_t)start_ns);
    opg_buf_add_be64(&nums, (uint64_t)end_ns);
    opg_buf_add_be64(&nums, (uint64_t)(lim + 1));
    values[0] = traces.data;
    lengths[0] = (int)traces.len;
    values[1] = records.data;
    lengths[1] = (int)records.len;
    for (int i = 0; i < 3; i++) {
        values[2 + i] = nums.data + 8 * i;
        lengths[2 + i] = 8;
    }
    /* One more than asked, to know whether the answer is cut. The IS NOT NULL
     * lets the planner use the partial index logs_trace. The IDs are always
     * the selective part: "time_ns + 0" keeps the planner from also walking
     * logs_time, which it did on a day not yet analysed (30 ms instead of
     * 0.1 for 300,000 records). */
    res = PQexecParams(conn,
                       "SELECT " ROW_COLUMNS " FROM logs"
                       " WHERE ((trace_id IS NOT NULL AND trace_id = ANY($1))"
                       " OR record_id = ANY($2)) AND time_ns + 0 >= $3 AND time_ns + 0 <= $4"
                       " ORDER BY time_ns + 0 DESC, record_id DESC LIMIT $5",
                       5, types, values, lengths, formats, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_pg_err(err, errlen, "reading logs", conn);
        goto out_release;
    }
    rows = PQntuples(res);
    if (rows > lim) {
        *truncated = true;
        rows = (int)lim;
    }
    recs = opg_xcalloc((size_t)rows + 1, sizeof(*recs));
    for (int r = 0; r < rows; r++) {
        struct log_row row;
        if (get_row(res, r, &row) < 0 ||
            !(recs[r] =
                  opg_log_rows_decode(arena, codec, row.payload, row.payload_len, &scratch))) {
            snprintf(err, errlen, "a stored log record is corrupt");
            goto out_release;
        }
    }
    if (origins_load(conn, codec, arena, &oc, res, rows, NULL, err, errlen) < 0)
        goto out_release;
    /* newest first from the index, written oldest first */
    opg_jw_arr_begin(w);
    for (int r = rows - 1; r >= 0; r--) {
        struct log_row row;
        get_row(res, r, &row);
        write_entry(w, &row, origin_find(&oc, row.origin_id), recs[r]);
    }
    opg_jw_arr_end(w);
    ret = 0;
out_release:
    PQclear(res);
    free(recs);
    free(oc.slots);
    opg_arena_destroy(arena);
    opg_buf_release(&traces);
    opg_buf_release(&records);
    opg_buf_release(&nums);
    opg_buf_release(&scratch);
    return ret;
}

/* ---- search ------------------------------------------------------------------ */

/* An attribute value as the text a filter compares with; false if it has none. */
static bool value_text(const otlp_value_t *v, char *buf, size_t size, const char **s, size_t *n)
{
    switch (v ? v->value_case : OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        *s = (const char *)v->string_value.data;
        *n = v->string_value.len;
        return true;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        *n = (size_t)snprintf(buf, size, "%lld", (long long)v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        *n = (size_t)snprintf(buf, size, "%s", v->bool_value ? "true" : "false");
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        /* the shortest text that reads back as the value, as JSON writers print it */
        for (int prec = 1; prec <= 17; prec++) {
            *n = (size_t)snprintf(buf, size, "%.*g", prec, v->double_value);
            if (strtod(buf, NULL) == v->double_value)
                break;
        }
        break;
    default:
        return false;
    }
    *s = buf;
    return true;
}

static bool record_matches(const otlp_log_t *rec, const struct opg_log_attr *attrs, size_t n)
{
    for (size_t f = 0; f < n; f++) {
        size_t want_len = strlen(attrs[f].value);
        bool found = false;

        for (size_t i = 0; i < rec->n_attributes && !found; i++) {
            const Opentelemetry__Proto__Common__V1__KeyValue *kv = rec->attributes[i];
            char buf[40];
            const char *s;
            size_t len;

            if (kv->key && !strcmp(kv->key, attrs[f].key) &&
                value_text(kv->value, buf, sizeof(buf), &s, &len))
                found = len == want_len && !memcmp(s, attrs[f].value, len);
        }
        if (!found)
            return false;
    }
    return true;
}

/* Where the next fetch starts: strictly below (time_ns, record_id). */
struct search_cursor {
    bool after;
    int64_t time_ns;
    uint8_t record_id[16];
};

static void cursor_set(struct search_cursor *c, const struct log_row *row)
{
    c->after = true;
    c->time_ns = row->time_ns;
    memcpy(c->record_id, row->record_id, sizeof(c->record_id));
}

#define SEARCH_MAX_PARAMS 10

/* The next fetch rows newest first below c, with the SQL-side filters of q. */
static PGresult *search_fetch(PGconn *conn, const struct opg_log_search *q,
                              const struct search_cursor *c, size_t fetch)
{
    struct opg_buf sql = OPG_BUF_INIT, pattern = OPG_BUF_INIT;
    const char *values[SEARCH_MAX_PARAMS];
    int lengths[SEARCH_MAX_PARAMS] = {0};
    int formats[SEARCH_MAX_PARAMS] = {0};
    char nums[5][24];
    int n = 0;
    int64_t end = q->end_ns;
    PGresult *res;

    if (c->after && c->time_ns < end)
        end = c->time_ns;
    snprintf(nums[0], sizeof(nums[0]), "%lld", (long long)q->start_ns);
    snprintf(nums[1], sizeof(nums[1]), "%lld", (long long)end);
    values[n++] = nums[0];
    values[n++] = nums[1];
    opg_buf_addstr(&sql, "SELECT " ROW_COLUMNS " FROM logs"
                         " WHERE time_ns >= $1::bigint AND time_ns <= $2::bigint");
    if (q->service) {
        values[n++] = q->service;
        opg_buf_addf(&sql, " AND service = $%d::text", n);
    }
    if (q->min_severity > 0) {
        snprintf(nums[2], sizeof(nums[2]), "%d", q->min_severity);
        values[n++] = nums[2];
        opg_buf_addf(&sql, " AND severity >= $%d::smallint", n);
    }
    if (q->trace_id) {
        values[n] = (const char *)q->trace_id;
        lengths[n] = 16;
        formats[n++] = 1;
        opg_buf_addf(&sql, " AND trace_id = $%d::bytea", n);
    }
    if (q->body_contains) {
        /* the user's text is matched literally: LIKE's wildcards are escaped */
        opg_buf_addch(&pattern, '%');
        for (const char *p = q->body_contains; *p; p++) {
            if (*p == '%' || *p == '_' || *p == '\\')
                opg_buf_addch(&pattern, '\\');
            opg_buf_addch(&pattern, *p);
        }
        opg_buf_addch(&pattern, '%');
        values[n++] = pattern.data;
        opg_buf_addf(&sql, " AND body ILIKE $%d::text ESCAPE '\\'", n);
    }
    if (c->after) {
        snprintf(nums[3], sizeof(nums[3]), "%lld", (long long)c->time_ns);
        values[n++] = nums[3];
        values[n] = (const char *)c->record_id;
        lengths[n] = 16;
        formats[n++] = 1;
        opg_buf_addf(&sql, " AND (time_ns, record_id) < ($%d::bigint, $%d::bytea)", n - 1, n);
    }
    snprintf(nums[4], sizeof(nums[4]), "%zu", fetch);
    values[n++] = nums[4];
    opg_buf_addf(&sql, " ORDER BY time_ns DESC, record_id DESC LIMIT $%d::bigint", n);
    res = PQexecParams(conn, sql.data, n, NULL, values, lengths, formats, 1);
    opg_buf_release(&sql);
    opg_buf_release(&pattern);
    return res;
}

int opg_logs_search(PGconn *conn, struct opg_codec *codec, const struct opg_log_search *q,
                    struct opg_jw *w, struct opg_log_page *page, char *err, size_t errlen)
{
    /* origins live for the whole search, records for one chunk */
    struct opg_arena *arena = opg_arena_create(READ_ARENA_LIMIT);
    struct opg_arena *chunk = NULL;
    struct opg_buf scratch = OPG_BUF_INIT;
    struct origin_cache oc = {0};
    struct search_cursor c = {q->after, q->after_time_ns, {0}};
    otlp_log_t **recs = NULL;
    bool *emit = NULL;
    PGresult *res = NULL;
    size_t scanned = 0;
    int ret = -1;
    bool done = false;

    memset(page, 0, sizeof(*page));
    memcpy(c.record_id, q->after_record_id, sizeof(c.record_id));
    opg_jw_arr_begin(w);
    if (q->start_ns > q->end_ns || q->limit == 0)
        done = true;
    while (!done) {
        /* Without attribute filters every row is a match: one more than a page
         * says whether another follows. With them, scan in bounded chunks. */
        size_t fetch = q->n_attrs ? q->max_scan - scanned : q->limit + 1;
        size_t will_emit = page->n;
        int rows;

        if (q->n_attrs && fetch > SEARCH_CHUNK)
            fetch = SEARCH_CHUNK;
        res = search_fetch(conn, q, &c, fetch);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            set_pg_err(err, errlen, "searching logs", conn);
            goto out_release;
        }
        rows = PQntuples(res);
        opg_arena_destroy(chunk);
        chunk = opg_arena_create(READ_ARENA_LIMIT);
        free(recs);
        free(emit);
        recs = opg_xcalloc((size_t)rows + 1, sizeof(*recs));
        emit = opg_xcalloc((size_t)rows + 1, sizeof(*emit));
        for (int r = 0; r < rows && !done; r++) {
            struct log_row row;

            if (get_row(res, r, &row) < 0 ||
                !(recs[r] =
                      opg_log_rows_decode(chunk, codec, row.payload, row.payload_len, &scratch))) {
                snprintf(err, errlen, "a stored log record is corrupt");
                goto out_release;
            }
            if (!record_matches(recs[r], q->attrs, q->n_attrs)) {
                scanned++;
                cursor_set(&c, &row);
                continue;
            }
            if (will_emit == q->limit) {
                /* one match past a full page: the next page starts after the last entry */
                page->more = true;
                done = true;
                break;
            }
            scanned++;
            emit[r] = true;
            will_emit++;
            cursor_set(&c, &row);
            page->next_time_ns = row.time_ns;
            memcpy(page->next_record_id, row.record_id, 16);
        }
        if (origins_load(conn, codec, arena, &oc, res, rows, emit, err, errlen) < 0)
            goto out_release;
        for (int r = 0; r < rows; r++) {
            struct log_row row;
            if (!emit[r])
                continue;
            get_row(res, r, &row);
            write_entry(w, &row, origin_find(&oc, row.origin_id), recs[r]);
            page->n++;
        }
        if (!done && (size_t)rows < fetch)
            done = true; /* nothing older matches the SQL filters */
        if (!done && q->n_attrs && scanned >= q->max_scan) {
            /* resume where the scan stopped, which may be past the last entry */
            page->scan_limit_reached = true;
            page->more = true;
            if (page->n < q->limit) {
                page->next_time_ns = c.time_ns;
                memcpy(page->next_record_id, c.record_id, 16);
            }
            done = true;
        }
        PQclear(res);
        res = NULL;
    }
    opg_jw_arr_end(w);
    ret = 0;
out_release:
    PQclear(res);
    free(recs);
    free(emit);
    free(oc.slots);
    opg_arena_destroy(chunk);
    opg_arena_destroy(arena);
    opg_buf_release(&scratch);
    return ret;
}
