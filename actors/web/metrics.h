/*
 * metrics.h - the web actor's /metrics: every slipwayd's registry summed, and
 * what the bus and the scheduler say at scrape time, in the Prometheus text
 * format 0.0.4.
 *
 * Reads: sw.metrics.* (core: MetricsReport, every 5 s from each slipwayd,
 *        runtime/metrics_wire.h); at render, the JOBS consumer cluster-<name>
 *        of each cluster (consumer info) and sw.api.builders (request:
 *        ApiRequest -> ApiReply, the scheduler answers).
 * Writes: nothing.
 *
 * DESIGN
 * The aggregator keeps the latest report of each instance ("<host>:<pid>").
 * A render sums every series over the instances: no instance label, so a
 * scrape's size does not grow with the number of processes (the source of a
 * figure is in each process's own report on the bus). A sum must not go back
 * when a process goes: an instance that stops (its final report), restarts
 * (a new start time under the same name) or is silent for
 * SW_WEB_METRICS_EXPIRE_MS is retired: its gauges leave the sum, its
 * counters and histograms stay in it with their last values, so counters
 * only grow while this aggregator lives (a retired instance that speaks
 * again, same start time, is live again and not counted twice). Past
 * SW_WEB_METRICS_RETIRED retired instances the oldest are folded into one
 * sum. A restart of the web actor itself starts from the live instances'
 * figures: a counter reset, which Prometheus' rate() takes in its stride.
 *
 * Added at each render (never cached): slipway_queue_depth{cluster} (jobs
 * not yet delivered, JOBS), slipway_queue_unacked{cluster} (delivered, not
 * acked), slipway_builders{cluster,state} (up, holding, draining, drained,
 * silent), slipway_slots{cluster} and slipway_slots_busy{cluster} (of the
 * builders not silent), slipway_metrics_instances (live), slipway_up (1 when
 * NATS is connected and the scheduler answered) and
 * slipway_scrape_errors_total{what} (queue_depth, builders).
 *
 * Thread-safe: render may run on several HTTP threads at once, alongside the
 * bus's callback. Render waits for the scheduler at most
 * SW_WEB_METRICS_ASK_MS.
 */
#ifndef SW_WEB_METRICS_H
#define SW_WEB_METRICS_H

#include "bus/bus.h"
#include "runtime/config.h"

#include <stddef.h>

#define SW_WEB_METRICS_EXPIRE_MS 60000
#define SW_WEB_METRICS_RETIRED 256
#define SW_WEB_METRICS_ASK_MS 2000

typedef struct sw_web_metrics sw_web_metrics;

/* Subscribes to sw.metrics.* on bus (borrowed: it outlives the aggregator);
 * cfg gives the clusters (a reference is kept). */
int sw_web_metrics_create(sw_web_metrics **out, sw_bus *bus, const sw_config *cfg);

/* Unsubscribes and frees; accepts NULL, nulls the pointer. */
void sw_web_metrics_destroy(sw_web_metrics **m_p);

/* A config reloaded: its clusters from the next render on. */
void sw_web_metrics_reconfigure(sw_web_metrics *m, const sw_config *cfg);

/* The text for GET /metrics (Content-Type: text/plain; version=0.0.4).
 * *text_out is the caller's (free), NUL-terminated; *len_out its length
 * without the NUL. 0, or an error when nothing could be rendered. */
int sw_web_metrics_render(sw_web_metrics *m, char **text_out, size_t *len_out);

#endif
