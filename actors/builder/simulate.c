/* simulate.c - a build that runs nothing (see simulate.h). */
#include "actors/builder/simulate.h"

#include "slipway.pb-c.h"

#include <stdio.h>
#include <string.h>

#define STEP "simulated"

static void say(const sw_run_sink *sink, int stream, const char *text)
{
    if (sink->line != NULL) {
        sink->line(sink->ud, stream, text, strlen(text));
    }
}

int sw_simulate_run(const sw_run_spec *spec, const sw_run_sink *sink, sw_run_result *out)
{
    static const char *const lines[] = {
        "simulated step: nothing fetched, nothing run",
        "line 2 of the simulated output",
        "line 3 of the simulated output",
    };
    memset(out, 0, sizeof(*out));
    snprintf(out->sha, sizeof(out->sha), "%s", spec->sha ? spec->sha : "");
    if (spec->cancel != NULL && *spec->cancel) {
        out->state = SLIPWAY__BUILD_STATE__CANCELLED;
        snprintf(out->reason, sizeof(out->reason), "cancelled before step %s", STEP);
        return 0;
    }
    say(sink, SLIPWAY__LOG_STREAM__SYSTEM, "simulate executor: the build runs nothing");
    if (sink->step_started != NULL) {
        sink->step_started(sink->ud, 0, STEP);
    }
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        say(sink, SLIPWAY__LOG_STREAM__STDOUT, lines[i]);
    }
    if (sink->step_finished != NULL) {
        sink->step_finished(sink->ud, 0, STEP, 0, 0, NULL);
    }
    out->state = SLIPWAY__BUILD_STATE__SUCCEEDED;
    snprintf(out->reason, sizeof(out->reason), "all 1 steps succeeded");
    say(sink, SLIPWAY__LOG_STREAM__SYSTEM, "build succeeded: all 1 steps succeeded");
    return 0;
}
