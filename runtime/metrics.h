/*
 * metrics.h - a registry of counters, gauges and histograms, rendered in the
 * Prometheus text format 0.0.4.
 *
 * DESIGN
 * A family has a name, a help line, a type and a fixed list of label names
 * given when it is registered; each update gives the label values (as many
 * as the family has names, in that order) and so picks one series. A family
 * holds at most the registry's max_series series: an update that would make
 * one more is dropped and counted, and the render shows the count as
 * slipway_metrics_series_dropped_total{family}. Registering a name again
 * returns the same family when type, labels (and buckets) match; otherwise
 * NULL, and updates of NULL do nothing (a mistake is logged, never
 * fatal to a service).
 *
 * One mutex guards a registry: every call may come from any thread. Each
 * process has one registry, sw_metrics_process(), shared by the actors it
 * hosts; tools/slipwayd.c publishes it (runtime/metrics_wire.h). Label
 * values never name a tenant, repository, project or branch: those are
 * unbounded and belong in the build records, not here.
 */
#ifndef SW_METRICS_H
#define SW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_METRICS_MAX_SERIES 256 /* the process registry's bound per family */
#define SW_METRICS_MAX_LABELS 4
#define SW_METRICS_MAX_BUCKETS 32

typedef struct sw_metrics sw_metrics;
typedef struct sw_metric sw_metric; /* a family; lives as long as its registry */

typedef enum sw_metric_type {
    SW_METRIC_COUNTER = 0,
    SW_METRIC_GAUGE = 1,
    SW_METRIC_HISTOGRAM = 2,
} sw_metric_type;

/* The buckets of the build-time histograms: 0.1 s to 3 h. */
extern const double sw_metrics_seconds_buckets[];
extern const size_t sw_metrics_seconds_nbuckets;

int sw_metrics_create(sw_metrics **out, size_t max_series);
void sw_metrics_destroy(sw_metrics **m_p);

/* The process's registry, made on first use; never destroyed. */
sw_metrics *sw_metrics_process(void);

/* Registers (or finds) a family. labels: NULL-terminated names (NULL: none),
 * at most SW_METRICS_MAX_LABELS, each [a-zA-Z_][a-zA-Z0-9_]* and not "le";
 * name [a-zA-Z_:][a-zA-Z0-9_:]*. bounds (histograms only): ascending upper
 * bounds, +Inf implied, at most SW_METRICS_MAX_BUCKETS. NULL on a bad name,
 * or when the name is taken by a family of another shape. */
sw_metric *sw_metrics_counter(sw_metrics *m, const char *name, const char *help,
                              const char *const *labels);
sw_metric *sw_metrics_gauge(sw_metrics *m, const char *name, const char *help,
                            const char *const *labels);
sw_metric *sw_metrics_histogram(sw_metrics *m, const char *name, const char *help,
                                const char *const *labels, const double *bounds, size_t nbounds);

/* Updates of the series whose label values are values (one per label name;
 * NULL when the family has none). add: counters (v >= 0) and gauges; set:
 * gauges; observe: histograms. A NULL family, a wrong type or a negative
 * counter increment does nothing. */
void sw_metric_add(sw_metric *f, const char *const *values, double v);
void sw_metric_set(sw_metric *f, const char *const *values, double v);
void sw_metric_observe(sw_metric *f, const char *const *values, double v);

/* Every series of f back to 0 (kept, so a gauge reads 0 rather than vanish). */
void sw_metric_zero(sw_metric *f);

/* A series' value (counters, gauges) or count (histograms); 0 when absent. */
double sw_metric_value(sw_metric *f, const char *const *values);

/* The text format 0.0.4 of every family (those without a series too: HELP
 * and TYPE only), in the order registered. *text_out is the caller's (free);
 * NUL-terminated, *len_out without the NUL (len_out may be NULL). */
int sw_metrics_render(sw_metrics *m, char **text_out, size_t *len_out);

/* --- for runtime/metrics_wire.c (the registry as a protobuf message) ------ */

/* One series as the registry keeps it. buckets: nbounds + 1 counts, each of
 * its own bucket (not cumulative), the last +Inf's. */
typedef struct sw_metric_series {
    const char *const *values;
    double value;
    const uint64_t *buckets;
    double sum;
    uint64_t count;
} sw_metric_series;

typedef struct sw_metric_shape {
    const char *name;
    const char *help;
    sw_metric_type type;
    const char *const *labels; /* nlabels names */
    size_t nlabels;
    const double *bounds;
    size_t nbounds;
    uint64_t dropped;
} sw_metric_shape;

/* Calls family(closure, shape) for each family, then series(closure, s) for
 * each of its series, with the registry locked: the callbacks copy what they
 * keep and call nothing of the registry. */
void sw_metrics_walk(sw_metrics *m, void (*family)(void *, const sw_metric_shape *),
                     void (*series)(void *, const sw_metric_series *), void *closure);

/* Finds or makes the family of shape (NULL when the name has another shape)
 * and adds to it: s's value, its buckets, sum and count (gauges too are
 * added, so a sum over processes is their total), and dropped. */
sw_metric *sw_metrics_family(sw_metrics *m, const sw_metric_shape *shape);
void sw_metric_merge(sw_metric *f, const sw_metric_series *s);
void sw_metric_add_dropped(sw_metric *f, uint64_t dropped);

#endif
