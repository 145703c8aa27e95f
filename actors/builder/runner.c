/*
 * runner.c - one build from workspace to result (see runner.h).
 *
 * DESIGN
 * Straight-line: workspace -> gitfetch (through the builder's mirror) -> pipeline
 * -> each step on its executor (steps.c) -> result.
 * The build's deadline starts when sw_run_job is called; each step gets the smaller
 * of its own timeout and what is left of the build's. Every outcome is told twice:
 * in the result struct (for the build event) and as a SYSTEM line (for the log).
 */
#include "actors/builder/runner.h"

#include "actors/builder/gitfetch.h"
#include "actors/builder/pipeline.h"
#include "actors/builder/profile_event.h"
#include "actors/builder/sandbox.h"
#include "actors/builder/steps.h"
#include "runtime/clock.h"
#include "runtime/error.h"
#include "runtime/fs.h"
#include "runtime/log.h"
#include "runtime/mem.h"
#include "slipway.pb-c.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHO "runner"
#define PIPELINE_FILE ".slipway.yml"

static void remove_workspace(const char *path)
{
    if (sw_fs_rmtree(path) < 0) {
        sw_warn(WHO, "workspace not fully removed: %s", sw_error_last());
    }
}

static const char *state_word(int state)
{
    switch (state) {
    case SLIPWAY__BUILD_STATE__SUCCEEDED:
        return "succeeded";
    case SLIPWAY__BUILD_STATE__FAILED:
        return "failed";
    case SLIPWAY__BUILD_STATE__TIMED_OUT:
        return "timed out";
    case SLIPWAY__BUILD_STATE__CANCELLED:
        return "cancelled";
    default:
        return "errored";
    }
}

int sw_run_job(const sw_run_spec *spec, const sw_run_sink *sink_in, sw_run_result *out)
{
    static const sw_run_sink no_sink = {0};
    const sw_run_sink *sink = sink_in ? sink_in : &no_sink;
    const char *ref = spec->ref && spec->ref[0] ? spec->ref : "HEAD";
    char dockerfile[4096];
    int64_t started = sw_clock_mono_ms();
    int64_t deadline = spec->timeout_ms > 0 ? started + (int64_t)spec->timeout_ms : INT64_MAX;
    uint64_t build_timeout_ms = spec->timeout_ms;
    sw_pipeline *pipeline = NULL;
    sw_gitfetch_opts fetch_opts = {0};
    char *path = NULL;
    int made_workspace = 0;
    int error = 0;

    memset(out, 0, sizeof(*out));
    if (sw_fs_mkdir_parents(spec->workspace) < 0) {
        error = sw_error_last_code();
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "internal error: %s", sw_error_last());
        goto cleanup;
    }
    if (mkdir(spec->workspace, 0700) != 0) {
        error = sw_error_set(errno == EEXIST ? SW_EEXISTS : SW_EIO, "workspace %s: %s",
                             spec->workspace, strerror(errno));
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "internal error: %s", sw_error_last());
        goto cleanup;
    }
    made_workspace = 1;

    sw_steps_say(spec, sink, "fetching %s %s", spec->clone_url, ref);
    fetch_opts.cancel = spec->cancel;
    fetch_opts.deadline_ms = deadline == INT64_MAX ? 0 : deadline;
    fetch_opts.ud = sink->ud;
    fetch_opts.tick = sink->tick;
    fetch_opts.mirror_dir = spec->mirror_dir;
    fetch_opts.token = spec->git_token;
    int rc = sw_gitfetch_ext(spec->clone_url, spec->ref, spec->sha, spec->workspace, &fetch_opts,
                             out->sha);
    if (rc == SW_ESTOPPED) {
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__CANCELLED, 0, "cancelled while fetching");
        goto cleanup;
    } else if (rc == SW_ETIMEDOUT) {
        char what[64];
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__TIMED_OUT, 0, "build timed out after %s (while fetching)",
                   sw_sandbox_format_duration(what, sizeof(what), build_timeout_ms));
        goto cleanup;
    } else if (rc < 0) {
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "fetch failed: %s", sw_error_last());
        goto cleanup;
    }
    sw_steps_say(spec, sink, "checked out %s", out->sha);

    if (asprintf(&path, "%s/%s", spec->workspace, PIPELINE_FILE) < 0) {
        abort();
    }
    rc = sw_pipeline_load_named(&pipeline, path, PIPELINE_FILE);
    snprintf(dockerfile, sizeof(dockerfile), "%s/Dockerfile", spec->workspace);
    if (rc == SW_ENOTFOUND && spec->docker != NULL && access(dockerfile, F_OK) == 0) {
        sw_steps_say(spec, sink, "no %s: building the repository's Dockerfile", PIPELINE_FILE);
        pipeline = sw_pipeline_dockerfile_only();
        rc = 0;
    }
    /* read before anything runs, whatever the pipeline's fate: routing learns from it */
    sw_profile_scan(&out->profile, spec->workspace, rc == 0 ? pipeline : NULL);
    if (out->profile.n > 0) {
        char summary[512];
        sw_steps_say(spec, sink, "sources: %s", sw_profile_summary(&out->profile, summary,
                                                                   sizeof(summary)));
    }
    if (rc == SW_ENOTFOUND) {
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "no %s in the repository at %s",
                   PIPELINE_FILE, out->sha);
        goto cleanup;
    } else if (rc < 0) {
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "%s", sw_error_last());
        goto cleanup;
    }
    if (pipeline->timeout_ms > 0 &&
        (build_timeout_ms == 0 || pipeline->timeout_ms < build_timeout_ms)) {
        build_timeout_ms = pipeline->timeout_ms;
        deadline = started + (int64_t)build_timeout_ms;
    }

    out->state = SLIPWAY__BUILD_STATE__SUCCEEDED;
    snprintf(out->reason, sizeof(out->reason), "all %zu steps succeeded", pipeline->nsteps);
    for (unsigned i = 0; i < pipeline->nsteps; i++) {
        if (spec->cancel != NULL && *spec->cancel) {
            sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__CANCELLED, 0, "cancelled before step %s",
                       pipeline->steps[i].name);
            break;
        }
        sw_step_run run = {spec, sink, pipeline, out, deadline, build_timeout_ms};
        sw_step_outcome oc = sw_steps_run(&run, i);
        if (oc.error < 0) {
            error = oc.error;
        }
        if (oc.done) {
            break;
        }
    }

cleanup:
    if (out->state == SLIPWAY__BUILD_STATE__SUCCEEDED) {
        sw_steps_say(spec, sink, "build succeeded: %s", out->reason);
    } else {
        sw_steps_say(spec, sink, "build %s: %s", state_word(out->state), out->reason);
    }
    sw_pipeline_destroy(&pipeline);
    free(path);
    if (made_workspace) {
        remove_workspace(spec->workspace);
    }
    return error;
}
