#include "svc_faults.h"

#include "inst_log.h"
#include "inst_span.h"
#include "svc_backoff.h"

#include "log.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

static void describe(struct svc_faults *f, struct svc_request *r)
{
    struct opg_jw w;

    opg_buf_reset(&r->resp);
    opg_jw_init(&w, &r->resp);
    opg_jw_obj_begin(&w);
    opg_jw_key(&w, "errorRate");
    opg_jw_double(&w, atomic_load(&f->error_permille) / 1000.0);
    opg_jw_kint(&w, "latencyMs", atomic_load(&f->latency_ms));
    opg_jw_kbool(&w, "down", atomic_load(&f->down));
    opg_jw_obj_end(&w);
    r->status = 200;
}

void svc_faults_admin(struct svc_faults *f, struct svc_request *r, const char *admin_token)
{
    json_t *j, *v;
    json_error_t err;

    r->route = "/admin/faults";
    if (!svc_bearer_is(r, admin_token)) {
        svc_reply_error(r, 401, "unauthorized", "the admin endpoints need the admin bearer token");
        r->extra_name = "WWW-Authenticate";
        strcpy(r->extra_value, "Bearer");
        return;
    }
    if (strcmp(r->method, "GET") == 0) {
        describe(f, r);
        return;
    }
    if (strcmp(r->method, "POST") != 0) {
        svc_reply_error(r, 405, "method_not_allowed", "use GET or POST");
        return;
    }
    j = json_loadb(r->body.data, r->body.len, 0, &err);
    if (!json_is_object(j)) {
        json_decref(j);
        svc_reply_error(r, 400, "bad_json", "the body must be a JSON object");
        return;
    }
    if ((v = json_object_get(j, "errorRate")) && json_is_number(v)) {
        double rate = json_number_value(v);
        atomic_store(&f->error_permille, rate < 0 ? 0 : rate > 1 ? 1000 : (int)(rate * 1000));
    }
    if ((v = json_object_get(j, "latencyMs")) && json_is_integer(v)) {
        json_int_t ms = json_integer_value(v);
        atomic_store(&f->latency_ms, ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms);
    }
    if ((v = json_object_get(j, "down")) && json_is_boolean(v))
        atomic_store(&f->down, json_is_true(v));
    json_decref(j);
    inst_warn("faults.changed", "faults set: error rate %.3f, latency %d ms, down %s",
              atomic_load(&f->error_permille) / 1000.0, atomic_load(&f->latency_ms),
              atomic_load(&f->down) ? "yes" : "no");
    describe(f, r);
}

bool svc_faults_apply(struct svc_faults *f, struct svc_request *r)
{
    static __thread uint64_t rng;
    int ms = atomic_load(&f->latency_ms), permille = atomic_load(&f->error_permille);

    if (!rng)
        rng = (uint64_t)opg_now_mono_ns() | 1;
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
        inst_span_add_event(inst_span_current(), "fault.latency", "fault", "added latency");
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&f->down)) {
        svc_reply_error(r, 503, "unavailable", "the service is down (injected fault)");
        inst_span_set_bool(inst_span_current(), "fault.injected", true);
        return true;
    }
    if (permille > 0 && (int)(svc_rand_next(&rng) % 1000) < permille) {
        svc_reply_error(r, 503, "injected_error", "injected failure (fault error rate)");
        inst_span_set_bool(inst_span_current(), "fault.injected", true);
        return true;
    }
    return false;
}

bool svc_faults_health(struct opg_jw *w, struct svc_db *db, struct svc_faults *f)
{
    char detail[256];
    bool db_ok = svc_db_ping(db, detail, sizeof(detail));
    bool down = atomic_load(&f->down);

    opg_jw_key(w, "postgresql");
    opg_jw_obj_begin(w);
    opg_jw_kbool(w, "ok", db_ok);
    opg_jw_kstr(w, "detail", detail);
    opg_jw_obj_end(w);
    opg_jw_key(w, "faults");
    opg_jw_obj_begin(w);
    opg_jw_kbool(w, "ok", !down);
    opg_jw_kstr(w, "detail", down ? "down (injected fault)" : "");
    opg_jw_obj_end(w);
    return db_ok && !down;
}
