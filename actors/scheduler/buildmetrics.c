/* buildmetrics.c - the scheduler view's figures (see buildmetrics.h). */
#include "actors/scheduler/buildmetrics.h"

#include "runtime/buildstate.h"
#include "runtime/metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

static sw_metric *builds, *finished, *queue_wait, *duration;

static void register_once(void)
{
    sw_metrics *m = sw_metrics_process();
    builds = sw_metrics_gauge(m, "slipway_builds",
                              "Builds in each state that is not final, as the scheduler's view "
                              "has them now.",
                              (const char *[]){"tier", "state", NULL});
    finished = sw_metrics_counter(m, "slipway_builds_finished_total",
                                  "Builds the scheduler's view saw end, by final state.",
                                  (const char *[]){"tier", "result", NULL});
    queue_wait = sw_metrics_histogram(m, "slipway_queue_wait_seconds",
                                      "From created to started, of each build that ended "
                                      "having started.",
                                      (const char *[]){"tier", NULL}, sw_metrics_seconds_buckets,
                                      sw_metrics_seconds_nbuckets);
    duration = sw_metrics_histogram(m, "slipway_build_duration_seconds",
                                    "From started to finished, by final state.",
                                    (const char *[]){"tier", "result", NULL},
                                    sw_metrics_seconds_buckets, sw_metrics_seconds_nbuckets);
}

void sw_buildmetrics_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
}

static const char *tier_of(const char *tier)
{
    return tier != NULL && tier[0] != '\0' ? tier : "none";
}

/* The states the gauge counts. */
static const int counted[] = {SLIPWAY__BUILD_STATE__RECEIVED, SLIPWAY__BUILD_STATE__QUEUED,
                              SLIPWAY__BUILD_STATE__DISPATCHED, SLIPWAY__BUILD_STATE__RUNNING,
                              SLIPWAY__BUILD_STATE__RESCHEDULING};

static bool is_counted(int state)
{
    for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]); i++) {
        if (counted[i] == state) {
            return true;
        }
    }
    return false;
}

void sw_buildmetrics_reset(void)
{
    sw_buildmetrics_register();
    sw_metric_zero(builds);
}

void sw_buildmetrics_moved(const char *from_tier, int from, const char *to_tier, int to)
{
    sw_buildmetrics_register();
    if (from == to && strcmp(tier_of(from_tier), tier_of(to_tier)) == 0) {
        return;
    }
    if (is_counted(from)) {
        sw_metric_add(builds, (const char *[]){tier_of(from_tier), sw_state_name(from)}, -1);
    }
    if (is_counted(to)) {
        sw_metric_add(builds, (const char *[]){tier_of(to_tier), sw_state_name(to)}, 1);
    }
}

void sw_buildmetrics_finished(const Slipway__BuildRecord *rec)
{
    const char *tier = tier_of(rec->tier);
    const char *result = sw_state_name(rec->state);
    sw_buildmetrics_register();
    sw_metric_add(finished, (const char *[]){tier, result}, 1);
    if (rec->started_ms <= 0) {
        return; /* cancelled or given up before it ran */
    }
    if (rec->created_ms > 0 && rec->started_ms >= rec->created_ms) {
        sw_metric_observe(queue_wait, (const char *[]){tier},
                          (double)(rec->started_ms - rec->created_ms) / 1000.0);
    }
    if (rec->finished_ms >= rec->started_ms) {
        sw_metric_observe(duration, (const char *[]){tier, result},
                          (double)(rec->finished_ms - rec->started_ms) / 1000.0);
    }
}
