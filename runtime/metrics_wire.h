/*
 * metrics_wire.h - a metrics registry as a MetricsReport on the bus.
 *
 * Every slipwayd publishes its process registry on sw.metrics.<instance>
 * (runtime/wire.h) every SW_METRICS_PUBLISH_MS and once more, final, at stop;
 * the web actor's aggregator (actors/web/metrics.h) merges the reports.
 */
#ifndef SW_METRICS_WIRE_H
#define SW_METRICS_WIRE_H

#include "bus/bus.h"
#include "runtime/metrics.h"
#include "slipway.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_METRICS_PUBLISH_MS 5000

/* This process's instance name, "<host>:<pid>", into buf. */
const char *sw_metrics_instance(char *buf, size_t n);

/* The registry as a report; free it with sw_metrics_report_free. */
Slipway__MetricsReport *sw_metrics_report(sw_metrics *m, const char *instance, int64_t started_ms,
                                          bool final);
void sw_metrics_report_free(Slipway__MetricsReport **r_p);

/* Adds the families of r (bytes from the bus: a family or series of a bad
 * shape is left out) into m; gauges only when with_gauges. */
void sw_metrics_merge_report(sw_metrics *m, const Slipway__MetricsReport *r, bool with_gauges);

/* Publishes m's report on sw.metrics.<instance> (core NATS). The subject's
 * token is instance with '.', '*', '>' and blanks made '_'. */
int sw_metrics_publish(sw_bus *bus, sw_metrics *m, const char *instance, int64_t started_ms,
                       bool final);

#endif
