#include "stats.h"

#include <string.h>

static struct opg_metric *metrics;
static struct opg_histogram *histograms;

/* seconds: 0.5ms .. 10s */
static const double bounds[OPG_HIST_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};

void opg_stats_register(struct opg_metric *m)
{
    struct opg_metric **p = &metrics;

    /* keep families together: insert after the last metric of the same name */
    for (struct opg_metric *it = metrics; it; it = it->next)
        if (!strcmp(it->name, m->name))
            p = &it->next;
    if (p == &metrics)
        while (*p)
            p = &(*p)->next;
    m->next = *p;
    *p = m;
}

void opg_stats_register_histogram(struct opg_histogram *h)
{
    h->next = histograms;
    histograms = h;
}

void opg_stats_observe_ns(struct opg_histogram *h, int64_t ns)
{
    double s = (double)ns / 1e9;
    int i = 0;

    while (i < OPG_HIST_BUCKETS && s > bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, ns / 1000, memory_order_relaxed);
}

void opg_stats_render(struct opg_buf *out)
{
    const char *last = NULL;

    for (struct opg_metric *m = metrics; m; m = m->next) {
        if (!last || strcmp(last, m->name)) {
            opg_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                         m->type == OPG_COUNTER ? "counter" : "gauge");
            last = m->name;
        }
        if (m->labels && *m->labels)
            opg_buf_addf(out, "%s{%s} %lld\n", m->name, m->labels,
                         (long long)atomic_load(&m->value));
        else
            opg_buf_addf(out, "%s %lld\n", m->name, (long long)atomic_load(&m->value));
    }
    for (struct opg_histogram *h = histograms; h; h = h->next) {
        const char *sep = h->labels && *h->labels ? "," : "";
        const char *lab = h->labels ? h->labels : "";
        long long cum = 0;

        opg_buf_addf(out, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
        for (int i = 0; i <= OPG_HIST_BUCKETS; i++) {
            cum += atomic_load(&h->buckets[i]);
            if (i < OPG_HIST_BUCKETS)
                opg_buf_addf(out, "%s_bucket{%s%sle=\"%g\"} %lld\n", h->name, lab, sep, bounds[i],
                             cum);
            else
                opg_buf_addf(out, "%s_bucket{%s%sle=\"+Inf\"} %lld\n", h->name, lab, sep, cum);
        }
        opg_buf_addf(out, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %lld\n", h->name, *lab ? "{" : "", lab,
                     *lab ? "}" : "", (double)atomic_load(&h->sum_us) / 1e6, h->name,
                     *lab ? "{" : "", lab, *lab ? "}" : "", (long long)atomic_load(&h->count));
    }
}
