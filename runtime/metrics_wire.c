/* metrics_wire.c - a metrics registry as a MetricsReport (see metrics_wire.h). */
#include "runtime/metrics_wire.h"

#include "runtime/core/clock.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *sw_metrics_instance(char *buf, size_t n)
{
    char host[256] = "localhost";
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
        snprintf(host, sizeof(host), "localhost");
    }
    snprintf(buf, n, "%s:%ld", host, (long)getpid());
    return buf;
}

typedef struct building {
    Slipway__MetricsReport *r;
    Slipway__MetricFamily *f; /* the family being filled */
    size_t cap_series;
} building;

static char **copy_strings(const char *const *s, size_t n)
{
    char **out = sw_calloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        out[i] = sw_strdup(s[i]);
    }
    return out;
}

static void on_family(void *closure, const sw_metric_shape *shape)
{
    building *b = closure;
    Slipway__MetricFamily *f = sw_calloc(1, sizeof(*f));
    slipway__metric_family__init(f);
    f->name = sw_strdup(shape->name);
    f->help = sw_strdup(shape->help);
    f->type = (uint32_t)shape->type;
    f->n_labels = shape->nlabels;
    f->labels = copy_strings(shape->labels, shape->nlabels);
    f->n_bounds = shape->nbounds;
    f->bounds = sw_calloc(shape->nbounds, sizeof(double));
    memcpy(f->bounds, shape->bounds, shape->nbounds * sizeof(double));
    f->dropped = shape->dropped;
    b->r->families = sw_realloc(b->r->families, (b->r->n_families + 1) * sizeof(f));
    b->r->families[b->r->n_families++] = f;
    b->f = f;
    b->cap_series = 0;
}

static void on_series(void *closure, const sw_metric_series *in)
{
    building *b = closure;
    Slipway__MetricFamily *f = b->f;
    Slipway__MetricSeries *s = sw_calloc(1, sizeof(*s));
    slipway__metric_series__init(s);
    s->n_values = f->n_labels;
    s->values = copy_strings(in->values, f->n_labels);
    s->value = in->value;
    if (f->type == SW_METRIC_HISTOGRAM) {
        s->n_buckets = f->n_bounds + 1;
        s->buckets = sw_calloc(s->n_buckets, sizeof(uint64_t));
        memcpy(s->buckets, in->buckets, s->n_buckets * sizeof(uint64_t));
        s->sum = in->sum;
        s->count = in->count;
    }
    if (f->n_series == b->cap_series) {
        b->cap_series = b->cap_series ? b->cap_series * 2 : 8;
        f->series = sw_realloc(f->series, b->cap_series * sizeof(s));
    }
    f->series[f->n_series++] = s;
}

Slipway__MetricsReport *sw_metrics_report(sw_metrics *m, const char *instance, int64_t started_ms,
                                          bool final)
{
    building b = {.r = sw_calloc(1, sizeof(Slipway__MetricsReport))};
    slipway__metrics_report__init(b.r);
    b.r->instance = sw_strdup(instance);
    b.r->started_ms = started_ms;
    b.r->sent_ms = sw_clock_wall_ms();
    b.r->final = final;
    sw_metrics_walk(m, on_family, on_series, &b);
    return b.r;
}

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i]);
    }
    free(s);
}

void sw_metrics_report_free(Slipway__MetricsReport **r_p)
{
    Slipway__MetricsReport *r = r_p != NULL ? *r_p : NULL;
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n_families; i++) {
        Slipway__MetricFamily *f = r->families[i];
        for (size_t j = 0; j < f->n_series; j++) {
            free_strings(f->series[j]->values, f->series[j]->n_values);
            free(f->series[j]->buckets);
            free(f->series[j]);
        }
        free(f->series);
        free_strings(f->labels, f->n_labels);
        free(f->bounds);
        free(f->name);
        free(f->help);
        free(f);
    }
    free(r->families);
    free(r->instance);
    free(r);
    *r_p = NULL;
}

void sw_metrics_merge_report(sw_metrics *m, const Slipway__MetricsReport *r, bool with_gauges)
{
    for (size_t i = 0; i < r->n_families; i++) {
        const Slipway__MetricFamily *f = r->families[i];
        if (f->type > SW_METRIC_HISTOGRAM || (f->type == SW_METRIC_GAUGE && !with_gauges) ||
            f->n_labels > SW_METRICS_MAX_LABELS || f->n_bounds > SW_METRICS_MAX_BUCKETS) {
            continue;
        }
        sw_metric_shape shape = {.name = f->name,
                                 .help = f->help,
                                 .type = (sw_metric_type)f->type,
                                 .labels = (const char *const *)f->labels,
                                 .nlabels = f->n_labels,
                                 .bounds = f->bounds,
                                 .nbounds = f->n_bounds};
        sw_metric *into = sw_metrics_family(m, &shape);
        if (into == NULL) {
            continue;
        }
        sw_metric_add_dropped(into, f->dropped);
        for (size_t j = 0; j < f->n_series; j++) {
            const Slipway__MetricSeries *s = f->series[j];
            bool hist = f->type == SW_METRIC_HISTOGRAM;
            if (s->n_values != f->n_labels || (hist && s->n_buckets != f->n_bounds + 1)) {
                continue;
            }
            sw_metric_series in = {.values = (const char *const *)s->values,
                                   .value = s->value,
                                   .buckets = hist ? s->buckets : NULL,
                                   .sum = s->sum,
                                   .count = s->count};
            sw_metric_merge(into, &in);
        }
    }
}

int sw_metrics_publish(sw_bus *bus, sw_metrics *m, const char *instance, int64_t started_ms,
                       bool final)
{
    char token[256], subject[300];
    snprintf(token, sizeof(token), "%s", instance);
    for (char *c = token; *c; c++) {
        if (*c == '.' || *c == '*' || *c == '>' || *c == ' ' || *c == '\t') {
            *c = '_';
        }
    }
    sw_subject(subject, sizeof(subject), SW_METRICS, token, NULL);
    Slipway__MetricsReport *r = sw_metrics_report(m, instance, started_ms, final);
    int error = sw_wire_publish(bus, subject, &r->base);
    sw_metrics_report_free(&r);
    return error;
}
