#include "inst_log.h"

#include "inst_export.h"
#include "inst_span.h"

#include "buf.h"
#include "hex.h"
#include "jsonw.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum inst_level min_level = INST_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void inst_log_set_level(enum inst_level level)
{
    min_level = level;
}

int inst_log_parse_level(const char *s, enum inst_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum inst_level)i;
            return 0;
        }
    return -1;
}

void inst_log_record_free(struct inst_log_record *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->event);
    free(r);
}

static void write_line(const struct inst_log_record *r)
{
    struct opg_buf b = OPG_BUF_INIT;
    struct opg_jw w;
    char ts[80], hex[33];
    struct tm tm;
    time_t secs = (time_t)(r->time_ns / 1000000000);

    gmtime_r(&secs, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(r->time_ns / 1000000 % 1000));
    opg_jw_init(&w, &b);
    opg_jw_obj_begin(&w);
    opg_jw_kstr(&w, "time", ts);
    opg_jw_kstr(&w, "level", level_names[r->level]);
    opg_jw_kstr(&w, "service", inst_export_service_name());
    opg_jw_kstr(&w, "event", r->event);
    opg_jw_kstr(&w, "msg", r->body);
    if (r->has_span) {
        opg_hex_encode(hex, r->trace_id, 16);
        opg_jw_kstr(&w, "trace_id", hex);
        opg_hex_encode(hex, r->span_id, 8);
        opg_jw_kstr(&w, "span_id", hex);
    }
    if (r->correlation_id[0])
        opg_jw_kstr(&w, "correlation.id", r->correlation_id);
    if (r->order_id[0])
        opg_jw_kstr(&w, "order.id", r->order_id);
    opg_jw_obj_end(&w);
    opg_buf_addch(&b, '\n');
    /* one write per line, so that lines of concurrent threads never interleave */
    if (write(STDERR_FILENO, b.data, b.len) < 0) {
        /* nowhere left to report it */
    }
    opg_buf_release(&b);
}

void inst_logf(enum inst_level level, const char *event, const char *fmt, ...)
{
    struct inst_log_record *r;
    struct inst_span *s = inst_span_current();
    struct opg_buf body = OPG_BUF_INIT;
    va_list ap;

    if (level < min_level)
        return;
    va_start(ap, fmt);
    opg_buf_vaddf(&body, fmt, ap);
    va_end(ap);
    r = opg_xcalloc(1, sizeof(*r));
    r->time_ns = opg_now_wall_ns();
    r->level = level;
    r->body = opg_buf_detach(&body, NULL);
    r->event = opg_xstrdup(event ? event : "");
    if (s) {
        memcpy(r->trace_id, s->ctx.trace_id, 16);
        memcpy(r->span_id, s->ctx.span_id, 8);
        r->has_span = true;
    }
    snprintf(r->correlation_id, sizeof(r->correlation_id), "%s", inst_scope_correlation());
    snprintf(r->order_id, sizeof(r->order_id), "%s", inst_scope_order());
    write_line(r);
    inst_export_log(r);
}
