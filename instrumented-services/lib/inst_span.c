#include "inst_span.h"

#include "inst_export.h"

#include "buf.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread struct inst_span *current;
static __thread char scope_corr[INST_CORR_MAX + 1];
static __thread char scope_order[INST_CORR_MAX + 1];
static __thread char scope_tracestate[INST_TRACESTATE_MAX];

static char *dup_bounded(const char *s)
{
    size_t n = s ? strnlen(s, INST_STR_MAX) : 0;
    char *p = opg_xmalloc(n + 1);

    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

struct inst_span *inst_span_start(const char *name, enum inst_span_kind kind,
                                  const struct inst_trace_ctx *parent)
{
    struct inst_span *s = opg_xcalloc(1, sizeof(*s));

    if (!parent && current)
        parent = &current->ctx;
    if (parent && parent->valid) {
        memcpy(s->ctx.trace_id, parent->trace_id, 16);
        memcpy(s->parent_span_id, parent->span_id, 8);
        s->ctx.flags = parent->flags;
        snprintf(s->ctx.tracestate, sizeof(s->ctx.tracestate), "%s", parent->tracestate);
        s->has_parent = true;
    } else {
        inst_random_id(s->ctx.trace_id, 16);
        s->ctx.flags = 1;
    }
    inst_random_id(s->ctx.span_id, 8);
    s->ctx.valid = true;
    s->name = dup_bounded(name);
    s->kind = kind;
    s->start_ns = opg_now_wall_ns();
    s->prev = current;
    current = s;
    return s;
}

struct inst_span *inst_span_current(void)
{
    return current;
}

void inst_span_set_name(struct inst_span *s, const char *name)
{
    if (!s)
        return;
    free(s->name);
    s->name = dup_bounded(name);
}

/* The slot for key: the existing one (replaced) or a new one; NULL if full. */
static struct inst_attr *attr_slot(struct inst_span *s, const char *key)
{
    struct inst_attr *a;

    for (int i = 0; i < s->n_attrs; i++) {
        a = &s->attrs[i];
        if (strcmp(a->key, key) == 0) {
            if (a->type == INST_ATTR_STR)
                free(a->s);
            return a;
        }
    }
    if (s->n_attrs == INST_SPAN_MAX_ATTRS) {
        s->dropped_attrs++;
        return NULL;
    }
    a = &s->attrs[s->n_attrs++];
    a->key = dup_bounded(key);
    return a;
}

void inst_span_set_str(struct inst_span *s, const char *key, const char *value)
{
    struct inst_attr *a = s ? attr_slot(s, key) : NULL;

    if (!a)
        return;
    a->type = INST_ATTR_STR;
    a->s = dup_bounded(value);
}

void inst_span_set_int(struct inst_span *s, const char *key, int64_t value)
{
    struct inst_attr *a = s ? attr_slot(s, key) : NULL;

    if (!a)
        return;
    a->type = INST_ATTR_INT;
    a->i = value;
}

void inst_span_set_double(struct inst_span *s, const char *key, double value)
{
    struct inst_attr *a = s ? attr_slot(s, key) : NULL;

    if (!a)
        return;
    a->type = INST_ATTR_DOUBLE;
    a->d = value;
}

void inst_span_set_bool(struct inst_span *s, const char *key, bool value)
{
    struct inst_attr *a = s ? attr_slot(s, key) : NULL;

    if (!a)
        return;
    a->type = INST_ATTR_BOOL;
    a->b = value;
}

void inst_span_add_event(struct inst_span *s, const char *name, const char *key, const char *value)
{
    struct inst_span_event *e;

    if (!s)
        return;
    if (s->n_events == INST_SPAN_MAX_EVENTS) {
        s->dropped_events++;
        return;
    }
    e = &s->events[s->n_events++];
    e->name = dup_bounded(name);
    e->time_ns = opg_now_wall_ns();
    e->key = key ? dup_bounded(key) : NULL;
    e->value = key ? dup_bounded(value) : NULL;
}

void inst_span_add_link(struct inst_span *s, const struct inst_trace_ctx *to)
{
    if (s && to && to->valid && s->n_links < INST_SPAN_MAX_LINKS)
        s->links[s->n_links++] = *to;
}

void inst_span_set_error(struct inst_span *s, const char *msg)
{
    if (!s)
        return;
    s->error = true;
    free(s->status_msg);
    s->status_msg = dup_bounded(msg);
}

void inst_span_free(struct inst_span *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_attrs; i++) {
        free(s->attrs[i].key);
        if (s->attrs[i].type == INST_ATTR_STR)
            free(s->attrs[i].s);
    }
    for (int i = 0; i < s->n_events; i++) {
        free(s->events[i].name);
        free(s->events[i].key);
        free(s->events[i].value);
    }
    free(s->name);
    free(s->status_msg);
    free(s);
}

void inst_span_end(struct inst_span *s)
{
    if (!s)
        return;
    s->end_ns = opg_now_wall_ns();
    /* the scope is read at the end: the order ID is often learnt mid-span */
    if (scope_corr[0])
        inst_span_set_str(s, "correlation.id", scope_corr);
    if (scope_order[0])
        inst_span_set_str(s, "order.id", scope_order);
    if (current == s)
        current = s->prev;
    s->prev = NULL;
    inst_export_span(s);
}

void inst_span_current_traceparent(char out[INST_TRACEPARENT_LEN + 1])
{
    if (current)
        inst_traceparent_format(&current->ctx, out);
    else
        out[0] = '\0';
}

static void set_scope(char *dst, size_t n, const char *v)
{
    snprintf(dst, n, "%s", v ? v : "");
}

void inst_scope_set_correlation(const char *id)
{
    set_scope(scope_corr, sizeof(scope_corr), id);
}

void inst_scope_set_order(const char *id)
{
    set_scope(scope_order, sizeof(scope_order), id);
}

void inst_scope_set_tracestate(const char *ts)
{
    set_scope(scope_tracestate, sizeof(scope_tracestate), ts);
}

const char *inst_scope_correlation(void)
{
    return scope_corr;
}

const char *inst_scope_order(void)
{
    return scope_order;
}

const char *inst_scope_tracestate(void)
{
    return scope_tracestate;
}

void inst_scope_reset(void)
{
    scope_corr[0] = scope_order[0] = scope_tracestate[0] = '\0';
}
