#include "alerts_api.h"
#include "buf.h"
#include "http.h"
#include "jsonw.h"
#include "log.h"
#include "params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_LIMIT 100
#define MAX_LIMIT     1000

static void put_time(struct opg_jw *w, const char *key, const char *ns_text)
{
    long long ns;
    time_t s;
    struct tm tm;
    char out[48];

    opg_jw_key(w, key);
    if (!ns_text[0]) {
        opg_jw_null(w);
        return;
    }
    ns = atoll(ns_text);
    s = (time_t)(ns / 1000000000LL);
    gmtime_r(&s, &tm);
    snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ns / 1000000 % 1000));
    opg_jw_cstr(w, out);
}

static void put_number(struct opg_jw *w, const char *key, const char *text)
{
    opg_jw_key(w, key);
    if (text[0])
        opg_jw_double(w, atof(text));
    else
        opg_jw_null(w);
}

enum MHD_Result opg_api_alerts(struct api *api, struct MHD_Connection *c)
{
    static const char sql[] =
        "SELECT id, fingerprint, rule, service, operation, state, started_ns, fired_ns,"
        " resolved_ns, last_eval_ns, window_ns, expected, observed, score, samples,"
        " peak_observed, labels::text, annotations::text, labels->>'alertname',"
        " labels->>'severity', annotations->>'summary', annotations->>'search_url'"
        " FROM alerts WHERE ($1::text IS NULL OR state = $1)"
        " ORDER BY CASE state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END,"
        " coalesce(resolved_ns, fired_ns, started_ns) DESC LIMIT $2::integer";
    char err[256] = "", lim[16];
    const char *p[2];
    const char *state;
    long long limit = DEFAULT_LIMIT;
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    PGconn *conn;
    PGresult *res;
    int n;

    state = opg_param(c, "state", err, sizeof(err));
    if (!err[0] && state && strcmp(state, "firing") && strcmp(state, "pending") &&
        strcmp(state, "resolved"))
        snprintf(err, sizeof(err), "state: firing, pending or resolved");
    if (!err[0])
        opg_param_int(c, "limit", 1, MAX_LIMIT, &limit, err, sizeof(err));
    if (err[0])
        return opg_http_respond_error(c, MHD_HTTP_BAD_REQUEST, err);
    conn = opg_pg_pool_get(api->pool, err, sizeof(err));
    if (!conn)
        return opg_http_respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, err);
    snprintf(lim, sizeof(lim), "%lld", limit);
    p[0] = state;
    p[1] = lim;
    res = PQexecParams(conn, sql, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        enum MHD_Result ret;

        snprintf(err, sizeof(err), "reading alerts: %s", PQerrorMessage(conn));
        err[strcspn(err, "\n")] = '\0';
        OPG_LOG_EVERY(10, OPG_LOG_WARN, "api: %s", err);
        PQclear(res);
        opg_pg_pool_put(api->pool, conn);
        ret = opg_http_respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, err);
        return ret;
    }
    opg_pg_pool_put(api->pool, conn);
    n = PQntuples(res);
    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "alerts");
    opg_jw_arr_begin(&w);
    for (int r = 0; r < n; r++) {
        const char *op = PQgetvalue(res, r, 4);

        opg_jw_obj_begin(&w);
        opg_jw_kint(&w, "id", atoll(PQgetvalue(res, r, 0)));
        opg_jw_kstr(&w, "name", PQgetvalue(res, r, 18));
        opg_jw_kstr(&w, "state", PQgetvalue(res, r, 5));
        opg_jw_kstr(&w, "severity", PQgetvalue(res, r, 19));
        opg_jw_kstr(&w, "rule", PQgetvalue(res, r, 2));
        opg_jw_kstr(&w, "service", PQgetvalue(res, r, 3));
        if (op[0])
            opg_jw_kstr(&w, "operation", op);
        opg_jw_kstr(&w, "fingerprint", PQgetvalue(res, r, 1));
        opg_jw_kstr(&w, "summary", PQgetvalue(res, r, 20));
        put_time(&w, "since", PQgetvalue(res, r, 6));
        put_time(&w, "firedAt", PQgetvalue(res, r, 7));
        put_time(&w, "resolvedAt", PQgetvalue(res, r, 8));
        put_time(&w, "lastEvaluated", PQgetvalue(res, r, 9));
        opg_jw_kint(&w, "windowSeconds", atoll(PQgetvalue(res, r, 10)) / 1000000000LL);
        put_number(&w, "expected", PQgetvalue(res, r, 11));
        put_number(&w, "observed", PQgetvalue(res, r, 12));
        put_number(&w, "peak", PQgetvalue(res, r, 15));
        put_number(&w, "score", PQgetvalue(res, r, 13));
        put_number(&w, "samples", PQgetvalue(res, r, 14));
        opg_jw_kstr(&w, "search", PQgetvalue(res, r, 21));
        opg_jw_key(&w, "labels");
        opg_jw_raw(&w, PQgetvalue(res, r, 16), strlen(PQgetvalue(res, r, 16)));
        opg_jw_key(&w, "annotations");
        opg_jw_raw(&w, PQgetvalue(res, r, 17), strlen(PQgetvalue(res, r, 17)));
        opg_jw_obj_end(&w);
    }
    opg_jw_arr_end(&w);
    opg_jw_obj_end(&w);
    PQclear(res);
    return opg_http_respond_buf(c, MHD_HTTP_OK, "application/json", &b);
}
