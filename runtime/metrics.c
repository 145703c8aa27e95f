/*
 * metrics.c - the registry of counters, gauges and histograms (see metrics.h).
 *
 * A family keeps its series in an array searched by label values: a family
 * has a handful of series (tiers x states, forges x codes), at most
 * max_series, so a linear search costs less than a hash would.
 */
#include "runtime/metrics.h"

#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double sw_metrics_seconds_buckets[] = {0.1, 0.25, 0.5, 1,    2.5,  5,    10,   30,   60,
                                             120, 300,  600, 1200, 1800, 3600, 7200, 10800};
const size_t sw_metrics_seconds_nbuckets =
    sizeof(sw_metrics_seconds_buckets) / sizeof(sw_metrics_seconds_buckets[0]);

typedef struct series {
    char **values;
    double value;
    uint64_t *buckets; /* nbounds + 1 */
    double sum;
    uint64_t count;
} series;

struct sw_metric {
    sw_metrics *owner;
    char *name;
    char *help;
    sw_metric_type type;
    char *labels[SW_METRICS_MAX_LABELS];
    size_t nlabels;
    double bounds[SW_METRICS_MAX_BUCKETS];
    size_t nbounds;
    series *series;
    size_t nseries, cap;
    uint64_t dropped;
};

struct sw_metrics {
    pthread_mutex_t lock;
    size_t max_series;
    sw_metric **families;
    size_t nfamilies, cap;
};

int sw_metrics_create(sw_metrics **out, size_t max_series)
{
    sw_metrics *m = sw_calloc(1, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    m->max_series = max_series > 0 ? max_series : SW_METRICS_MAX_SERIES;
    *out = m;
    return 0;
}

static void family_free(sw_metric *f)
{
    for (size_t i = 0; i < f->nseries; i++) {
        for (size_t k = 0; k < f->nlabels; k++) {
            free(f->series[i].values[k]);
        }
        free(f->series[i].values);
        free(f->series[i].buckets);
    }
    for (size_t k = 0; k < f->nlabels; k++) {
        free(f->labels[k]);
    }
    free(f->series);
    free(f->name);
    free(f->help);
    free(f);
}

void sw_metrics_destroy(sw_metrics **m_p)
{
    sw_metrics *m = m_p != NULL ? *m_p : NULL;
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->nfamilies; i++) {
        family_free(m->families[i]);
    }
    free(m->families);
    pthread_mutex_destroy(&m->lock);
    free(m);
    *m_p = NULL;
}

static sw_metrics *process_registry;
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static void process_make(void)
{
    sw_metrics_create(&process_registry, SW_METRICS_MAX_SERIES);
}

sw_metrics *sw_metrics_process(void)
{
    pthread_once(&process_once, process_make);
    return process_registry;
}

/* --- families ------------------------------------------------------------ */

static bool name_ok(const char *s, bool colon)
{
    if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9')) {
        return false;
    }
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (colon && c == ':');
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool shape_ok(const sw_metric_shape *s)
{
    if (!name_ok(s->name, true) || s->nlabels > SW_METRICS_MAX_LABELS ||
        s->nbounds > SW_METRICS_MAX_BUCKETS || s->type > SW_METRIC_HISTOGRAM ||
        (s->type != SW_METRIC_HISTOGRAM && s->nbounds > 0)) {
        return false;
    }
    for (size_t k = 0; k < s->nlabels; k++) {
        if (!name_ok(s->labels[k], false) || strncmp(s->labels[k], "__", 2) == 0 ||
            (s->type == SW_METRIC_HISTOGRAM && strcmp(s->labels[k], "le") == 0)) {
            return false;
        }
    }
    for (size_t b = 0; b < s->nbounds; b++) {
        if (!isfinite(s->bounds[b]) || (b > 0 && s->bounds[b] <= s->bounds[b - 1])) {
            return false;
        }
    }
    return true;
}

static bool same_shape(const sw_metric *f, const sw_metric_shape *s)
{
    if (f->type != s->type || f->nlabels != s->nlabels || f->nbounds != s->nbounds) {
        return false;
    }
    for (size_t k = 0; k < s->nlabels; k++) {
        if (strcmp(f->labels[k], s->labels[k]) != 0) {
            return false;
        }
    }
    for (size_t b = 0; b < s->nbounds; b++) {
        if (f->bounds[b] != s->bounds[b]) {
            return false;
        }
    }
    return true;
}

sw_metric *sw_metrics_family(sw_metrics *m, const sw_metric_shape *shape)
{
    sw_metric *f = NULL;
    if (!shape_ok(shape)) {
        sw_warn("metrics", "family '%s' not registered: bad name, labels or buckets",
                shape->name != NULL ? shape->name : "(null)");
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfamilies; i++) {
        if (strcmp(m->families[i]->name, shape->name) == 0) {
            f = same_shape(m->families[i], shape) ? m->families[i] : NULL;
            pthread_mutex_unlock(&m->lock);
            if (f == NULL) {
                sw_warn("metrics", "family '%s' registered again with another shape: ignored",
                        shape->name);
            }
            return f;
        }
    }
    f = sw_calloc(1, sizeof(*f));
    f->owner = m;
    f->name = sw_strdup(shape->name);
    f->help = sw_strdup(shape->help);
    f->type = shape->type;
    f->nlabels = shape->nlabels;
    for (size_t k = 0; k < shape->nlabels; k++) {
        f->labels[k] = sw_strdup(shape->labels[k]);
    }
    f->nbounds = shape->nbounds;
    for (size_t b = 0; b < shape->nbounds; b++) {
        f->bounds[b] = shape->bounds[b];
    }
    if (m->nfamilies == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->families = sw_realloc(m->families, m->cap * sizeof(*m->families));
    }
    m->families[m->nfamilies++] = f;
    pthread_mutex_unlock(&m->lock);
    return f;
}

static size_t count_labels(const char *const *labels)
{
    size_t n = 0;
    while (labels != NULL && labels[n] != NULL) {
        n++;
    }
    return n;
}

static sw_metric *register_family(sw_metrics *m, const char *name, const char *help,
                                  sw_metric_type type, const char *const *labels,
                                  const double *bounds, size_t nbounds)
{
    sw_metric_shape s = {.name = name,
                         .help = help,
                         .type = type,
                         .labels = labels,
                         .nlabels = count_labels(labels),
                         .bounds = bounds,
                         .nbounds = nbounds};
    return sw_metrics_family(m, &s);
}

sw_metric *sw_metrics_counter(sw_metrics *m, const char *name, const char *help,
                              const char *const *labels)
{
    return register_family(m, name, help, SW_METRIC_COUNTER, labels, NULL, 0);
}

sw_metric *sw_metrics_gauge(sw_metrics *m, const char *name, const char *help,
                            const char *const *labels)
{
    return register_family(m, name, help, SW_METRIC_GAUGE, labels, NULL, 0);
}

sw_metric *sw_metrics_histogram(sw_metrics *m, const char *name, const char *help,
                                const char *const *labels, const double *bounds, size_t nbounds)
{
    return register_family(m, name, help, SW_METRIC_HISTOGRAM, labels, bounds, nbounds);
}

/* --- series -------------------------------------------------------------- */

/* The series of values, made when absent and the bound allows; NULL when
 * dropped. Called locked. */
static series *series_of(sw_metric *f, const char *const *values, bool make)
{
    for (size_t i = 0; i < f->nseries; i++) {
        size_t k = 0;
        while (k < f->nlabels && strcmp(f->series[i].values[k], values[k] ? values[k] : "") == 0) {
            k++;
        }
        if (k == f->nlabels) {
            return &f->series[i];
        }
    }
    if (!make) {
        return NULL;
    }
    if (f->nseries >= f->owner->max_series) {
        f->dropped++;
        return NULL;
    }
    if (f->nseries == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->series = sw_realloc(f->series, f->cap * sizeof(*f->series));
    }
    series *s = &f->series[f->nseries++];
    memset(s, 0, sizeof(*s));
    s->values = sw_calloc(f->nlabels, sizeof(char *));
    for (size_t k = 0; k < f->nlabels; k++) {
        s->values[k] = sw_strdup(values[k]);
    }
    if (f->type == SW_METRIC_HISTOGRAM) {
        s->buckets = sw_calloc(f->nbounds + 1, sizeof(uint64_t));
    }
    return s;
}

static void update(sw_metric *f, const char *const *values, sw_metric_type type, double v, int how)
{
    static const char *const none[1] = {NULL};
    if (f == NULL || isnan(v)) {
        return;
    }
    if (f->type != type && !(how == 0 && type == SW_METRIC_COUNTER && f->type == SW_METRIC_GAUGE)) {
        return;
    }
    if (f->type == SW_METRIC_COUNTER && v < 0) {
        return;
    }
    assert(f->nlabels == 0 || values != NULL);
    pthread_mutex_lock(&f->owner->lock);
    series *s = series_of(f, values != NULL ? values : none, true);
    if (s != NULL) {
        if (how == 0) {
            s->value += v;
        } else if (how == 1) {
            s->value = v;
        } else {
            size_t b = 0;
            while (b < f->nbounds && v > f->bounds[b]) {
                b++;
            }
            s->buckets[b]++;
            s->sum += v;
            s->count++;
        }
    }
    pthread_mutex_unlock(&f->owner->lock);
}

void sw_metric_add(sw_metric *f, const char *const *values, double v)
{
    update(f, values, SW_METRIC_COUNTER, v, 0);
}

void sw_metric_set(sw_metric *f, const char *const *values, double v)
{
    update(f, values, SW_METRIC_GAUGE, v, 1);
}

void sw_metric_observe(sw_metric *f, const char *const *values, double v)
{
    update(f, values, SW_METRIC_HISTOGRAM, v, 2);
}

void sw_metric_zero(sw_metric *f)
{
    if (f == NULL) {
        return;
    }
    pthread_mutex_lock(&f->owner->lock);
    for (size_t i = 0; i < f->nseries; i++) {
        series *s = &f->series[i];
        s->value = 0;
        s->sum = 0;
        s->count = 0;
        if (s->buckets != NULL) {
            memset(s->buckets, 0, (f->nbounds + 1) * sizeof(uint64_t));
        }
    }
    pthread_mutex_unlock(&f->owner->lock);
}

double sw_metric_value(sw_metric *f, const char *const *values)
{
    static const char *const none[1] = {NULL};
    double v = 0;
    if (f == NULL) {
        return 0;
    }
    pthread_mutex_lock(&f->owner->lock);
    series *s = series_of(f, values != NULL ? values : none, false);
    if (s != NULL) {
        v = f->type == SW_METRIC_HISTOGRAM ? (double)s->count : s->value;
    }
    pthread_mutex_unlock(&f->owner->lock);
    return v;
}

void sw_metric_merge(sw_metric *f, const sw_metric_series *in)
{
    if (f == NULL) {
        return;
    }
    pthread_mutex_lock(&f->owner->lock);
    series *s = series_of(f, in->values, true);
    if (s != NULL) {
        s->value += in->value;
        if (f->type == SW_METRIC_HISTOGRAM && in->buckets != NULL) {
            for (size_t b = 0; b <= f->nbounds; b++) {
                s->buckets[b] += in->buckets[b];
            }
            s->sum += in->sum;
            s->count += in->count;
        }
    }
    pthread_mutex_unlock(&f->owner->lock);
}

void sw_metric_add_dropped(sw_metric *f, uint64_t dropped)
{
    if (f != NULL) {
        pthread_mutex_lock(&f->owner->lock);
        f->dropped += dropped;
        pthread_mutex_unlock(&f->owner->lock);
    }
}

void sw_metrics_walk(sw_metrics *m, void (*family)(void *, const sw_metric_shape *),
                     void (*each)(void *, const sw_metric_series *), void *closure)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfamilies; i++) {
        const sw_metric *f = m->families[i];
        sw_metric_shape shape = {.name = f->name,
                                 .help = f->help,
                                 .type = f->type,
                                 .labels = (const char *const *)f->labels,
                                 .nlabels = f->nlabels,
                                 .bounds = f->bounds,
                                 .nbounds = f->nbounds,
                                 .dropped = f->dropped};
        family(closure, &shape);
        for (size_t j = 0; j < f->nseries; j++) {
            const series *s = &f->series[j];
            sw_metric_series out = {.values = (const char *const *)s->values,
                                    .value = s->value,
                                    .buckets = s->buckets,
                                    .sum = s->sum,
                                    .count = s->count};
            each(closure, &out);
        }
    }
    pthread_mutex_unlock(&m->lock);
}

/* --- the text format ----------------------------------------------------- */

typedef struct text {
    char *buf;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        assert(n >= 0);
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n + 1;
        t->buf = sw_realloc(t->buf, t->cap);
    }
}

/* Label values: \ " and newline escaped; HELP: \ and newline. */
static void put_escaped(text *t, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\') {
            put(t, "\\\\");
        } else if (*s == '\n') {
            put(t, "\\n");
        } else if (*s == '"' && quote) {
            put(t, "\\\"");
        } else {
            put(t, "%c", *s);
        }
    }
}

static void put_number(text *t, double v)
{
    if (isnan(v)) {
        put(t, "NaN");
    } else if (isinf(v)) {
        put(t, v > 0 ? "+Inf" : "-Inf");
    } else {
        put(t, "%.15g", v);
    }
}

/* name{labels[,le="bound"]} value */
static void put_sample(text *t, const sw_metric *f, const series *s, const char *suffix,
                       const char *le, double v)
{
    put(t, "%s%s", f->name, suffix);
    if (f->nlabels > 0 || le != NULL) {
        put(t, "{");
        for (size_t k = 0; k < f->nlabels; k++) {
            put(t, "%s%s=\"", k ? "," : "", f->labels[k]);
            put_escaped(t, s->values[k], true);
            put(t, "\"");
        }
        if (le != NULL) {
            put(t, "%sle=\"%s\"", f->nlabels ? "," : "", le);
        }
        put(t, "}");
    }
    put(t, " ");
    put_number(t, v);
    put(t, "\n");
}

static void put_family(text *t, const sw_metric *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    put(t, "# HELP %s ", f->name);
    put_escaped(t, f->help, false);
    put(t, "\n# TYPE %s %s\n", f->name, types[f->type]);
    for (size_t i = 0; i < f->nseries; i++) {
        const series *s = &f->series[i];
        if (f->type != SW_METRIC_HISTOGRAM) {
            put_sample(t, f, s, "", NULL, s->value);
            continue;
        }
        uint64_t cumulative = 0;
        for (size_t b = 0; b < f->nbounds; b++) {
            char le[64];
            cumulative += s->buckets[b];
            snprintf(le, sizeof(le), "%.15g", f->bounds[b]);
            put_sample(t, f, s, "_bucket", le, (double)cumulative);
        }
        put_sample(t, f, s, "_bucket", "+Inf", (double)s->count);
        put_sample(t, f, s, "_sum", NULL, s->sum);
        put_sample(t, f, s, "_count", NULL, (double)s->count);
    }
}

int sw_metrics_render(sw_metrics *m, char **text_out, size_t *len_out)
{
    text t = {.buf = sw_calloc(1, 4096), .cap = 4096};
    bool dropped = false;

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfamilies; i++) {
        put_family(&t, m->families[i]);
        dropped = dropped || m->families[i]->dropped > 0;
    }
    if (dropped) {
        put(&t, "# HELP slipway_metrics_series_dropped_total Updates dropped because their "
                "family had its bound of series.\n"
                "# TYPE slipway_metrics_series_dropped_total counter\n");
        for (size_t i = 0; i < m->nfamilies; i++) {
            if (m->families[i]->dropped > 0) {
                put(&t, "slipway_metrics_series_dropped_total{family=\"%s\"} %llu\n",
                    m->families[i]->name, (unsigned long long)m->families[i]->dropped);
            }
        }
    }
    pthread_mutex_unlock(&m->lock);
    *text_out = t.buf;
    if (len_out != NULL) {
        *len_out = t.len;
    }
    return 0;
}
