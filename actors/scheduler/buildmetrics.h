/*
 * buildmetrics.h - the scheduler view's figures in the process's metrics
 * registry (runtime/metrics.h).
 *
 *   slipway_builds{tier,state}                  gauge: builds in each state that
 *                                               is not final, now (counted from
 *                                               the whole view when it opens)
 *   slipway_builds_finished_total{tier,result}  counter: builds the view saw end
 *   slipway_queue_wait_seconds{tier}            histogram: created -> started, of
 *                                               each build that ended having started
 *   slipway_build_duration_seconds{tier,result} histogram: started -> finished
 *
 * The view (view.c) calls these as it folds an event: moved when a build's
 * state changes, finished once when a build that was not final becomes final
 * (a repeated or stale event changes nothing, so counts nothing). An empty
 * tier is "none". result is the final state's name (succeeded, failed, ...).
 */
#ifndef SW_BUILDMETRICS_H
#define SW_BUILDMETRICS_H

#include "slipway.pb-c.h"

/* Registers the families (once per process; again is harmless). */
void sw_buildmetrics_register(void);

/* Every slipway_builds series back to 0 (before the view counts again). */
void sw_buildmetrics_reset(void);

/* A build left state from, of tier from_tier (0: it was new), for state to,
 * of to_tier: the record's tier before and after the event (CREATED names it;
 * the view refuses anything before it). Final states are not in the gauge. */
void sw_buildmetrics_moved(const char *from_tier, int from, const char *to_tier, int to);

/* rec has just become final: the counter and both histograms. */
void sw_buildmetrics_finished(const Slipway__BuildRecord *rec);

#endif
