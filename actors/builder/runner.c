/*
 * runner.c - one build from workspace to result (see runner.h).
 *
 * DESIGN
 * Straight-line: workspace -> gitfetch -> pipeline -> sandbox per step -> result.
 * The build's deadline starts when sw_run_job is called; each step gets the smaller
 * of its own timeout and what is left of the build's. Every outcome is told twice:
 * in the result struct (for the build event) and as a SYSTEM line (for the log).
 */
#include "actors/builder/runner.h"

#include "actors/builder/gitfetch.h"
#include "actors/builder/pipeline.h"
#include "actors/builder/sandbox.h"
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

#define WHO "runner"
#define PIPELINE_FILE ".slipway.yml"

static void sys_line(const sw_run_sink *sink, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sys_line(const sw_run_sink *sink, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    int n;

    if (sink->line == NULL) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    sink->line(sink->ud, SLIPWAY__LOG_STREAM__SYSTEM, text,
               (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

static void set_result(sw_run_result *out, int state, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_result(sw_run_result *out, int state, int exit_code, const char *fmt, ...)
{
    va_list ap;
    out->state = state;
    out->exit_code = exit_code;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

static void remove_workspace(const char *path)
{
    if (sw_fs_rmtree(path) < 0) {
        sw_warn(WHO, "workspace not fully removed: %s", sw_error_last());
    }
}

static uint64_t min_limit(uint64_t a, uint64_t b)
{
    if (a == 0) {
        return b;
    }
    if (b == 0) {
        return a;
    }
    return a < b ? a : b;
}

/* The step's environment: Slipway's variables, then the pipeline's, then the step's. */
static sw_sandbox_env *step_env(const sw_run_spec *spec, const char *sha, const sw_pipeline *p,
                                const sw_pipeline_step *step, size_t *n_out)
{
    size_t n = 0, cap = 3 + p->nenv + step->nenv;
    sw_sandbox_env *env = sw_calloc(cap, sizeof(*env));
    env[n++] = (sw_sandbox_env){"SLIPWAY_BUILD_ID", spec->build_id ? spec->build_id : ""};
    env[n++] = (sw_sandbox_env){"SLIPWAY_COMMIT", sha};
    env[n++] = (sw_sandbox_env){"SLIPWAY_REF", spec->ref ? spec->ref : ""};
    for (size_t i = 0; i < p->nenv; i++) {
        env[n++] = (sw_sandbox_env){p->env[i].key, p->env[i].value};
    }
    for (size_t i = 0; i < step->nenv; i++) {
        env[n++] = (sw_sandbox_env){step->env[i].key, step->env[i].value};
    }
    *n_out = n;
    return env;
}

typedef struct step_outcome {
    int done;   /* the build ends with this step */
    int error;  /* engine failure (negative) */
} step_outcome;

static step_outcome run_step(const sw_run_spec *spec, const sw_run_sink *sink,
                             const sw_pipeline *p, unsigned index, int64_t deadline,
                             uint64_t build_timeout_ms, sw_run_result *out)
{
    const sw_pipeline_step *step = &p->steps[index];
    sw_sandbox_spec sb = {0};
    sw_sandbox_result res;
    step_outcome oc = {0, 0};
    char what[64];
    uint64_t remaining = 0;

    if (deadline != INT64_MAX) {
        int64_t left = deadline - sw_clock_mono_ms();
        if (left <= 0) {
            set_result(out, SLIPWAY__BUILD_STATE__TIMED_OUT, 0, "build timed out after %s",
                       sw_sandbox_format_duration(what, sizeof(what), build_timeout_ms));
            oc.done = 1;
            return oc;
        }
        remaining = (uint64_t)left;
    }
    if (sink->step_started != NULL) {
        sink->step_started(sink->ud, index, step->name);
    }
    sys_line(sink, "step %u/%zu %s", index + 1, p->nsteps, step->name);

    sb.script = step->script;
    sb.workspace = spec->workspace;
    sb.env = step_env(spec, out->sha, p, step, &sb.nenv);
    sb.memory_bytes = min_limit(step->memory_bytes, spec->memory_bytes);
    sb.pids = spec->pids;
    sb.cpu_millis = spec->cpu_millis;
    sb.timeout_ms = min_limit(step->timeout_ms, remaining);
    sb.cancel = spec->cancel;
    sb.ud = sink->ud;
    sb.line = sink->line;
    sb.tick = sink->tick;

    int rc = sw_sandbox_run(&sb, &res);
    free((void *)sb.env);
    if (rc < 0) {
        set_result(out, SLIPWAY__BUILD_STATE__ERRORED, 0, "step %s could not run: %s",
                   step->name, sw_error_last());
        if (sink->step_finished != NULL) {
            sink->step_finished(sink->ud, index, step->name, -1, 0, out->reason);
        }
        oc.done = 1;
        oc.error = rc;
        return oc;
    }
    if (sink->step_finished != NULL) {
        sink->step_finished(sink->ud, index, step->name, res.exit_code, res.duration_ms,
                            res.reason);
    }
    switch (res.killed_by) {
    case SW_SANDBOX_KILLED_NONE:
        if (res.exit_code == 0) {
            return oc;
        }
        set_result(out, SLIPWAY__BUILD_STATE__FAILED, res.exit_code, "step %s failed: %s",
                   step->name, res.reason);
        break;
    case SW_SANDBOX_KILLED_SIGNAL:
        set_result(out, SLIPWAY__BUILD_STATE__FAILED, res.exit_code, "step %s failed: %s",
                   step->name, res.reason);
        break;
    case SW_SANDBOX_KILLED_OOM:
        set_result(out, SLIPWAY__BUILD_STATE__FAILED, res.exit_code, "step %s %s", step->name,
                   res.reason);
        break;
    case SW_SANDBOX_KILLED_TIMEOUT:
        if (step->timeout_ms != 0 && step->timeout_ms == sb.timeout_ms) {
            set_result(out, SLIPWAY__BUILD_STATE__TIMED_OUT, res.exit_code,
                       "step %s timed out after %s", step->name,
                       sw_sandbox_format_duration(what, sizeof(what), step->timeout_ms));
        } else {
            set_result(out, SLIPWAY__BUILD_STATE__TIMED_OUT, res.exit_code,
                       "build timed out after %s (in step %s)",
                       sw_sandbox_format_duration(what, sizeof(what), build_timeout_ms),
                       step->name);
        }
        break;
    case SW_SANDBOX_KILLED_CANCEL:
        set_result(out, SLIPWAY__BUILD_STATE__CANCELLED, res.exit_code,
                   "cancelled during step %s", step->name);
        break;
    }
    oc.done = 1;
    return oc;
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
        set_result(out, SLIPWAY__BUILD_STATE__ERRORED, 0, "internal error: %s", sw_error_last());
        goto cleanup;
    }
    if (mkdir(spec->workspace, 0700) != 0) {
        error = sw_error_set(errno == EEXIST ? SW_EEXISTS : SW_EIO, "workspace %s: %s",
                             spec->workspace, strerror(errno));
        set_result(out, SLIPWAY__BUILD_STATE__ERRORED, 0, "internal error: %s", sw_error_last());
        goto cleanup;
    }
    made_workspace = 1;

    sys_line(sink, "fetching %s %s", spec->clone_url, ref);
    fetch_opts.cancel = spec->cancel;
    fetch_opts.deadline_ms = deadline == INT64_MAX ? 0 : deadline;
    fetch_opts.ud = sink->ud;
    fetch_opts.tick = sink->tick;
    int rc = sw_gitfetch_ext(spec->clone_url, spec->ref, spec->sha, spec->workspace, &fetch_opts,
                             out->sha);
    if (rc == SW_ESTOPPED) {
        set_result(out, SLIPWAY__BUILD_STATE__CANCELLED, 0, "cancelled while fetching");
        goto cleanup;
    } else if (rc == SW_ETIMEDOUT) {
        char what[64];
        set_result(out, SLIPWAY__BUILD_STATE__TIMED_OUT, 0, "build timed out after %s (while fetching)",
                   sw_sandbox_format_duration(what, sizeof(what), build_timeout_ms));
        goto cleanup;
    } else if (rc < 0) {
        set_result(out, SLIPWAY__BUILD_STATE__ERRORED, 0, "fetch failed: %s", sw_error_last());
        goto cleanup;
    }
    sys_line(sink, "checked out %s", out->sha);

    if (asprintf(&path, "%s/%s", spec->workspace, PIPELINE_FILE) < 0) {
        abort();
    }
    rc = sw_pipeline_load_named(&pipeline, path, PIPELINE_FILE);
    if (rc == SW_ENOTFOUND) {
        set_result(out, SLIPWAY__BUILD_STATE__ERRORED, 0, "no %s in the repository at %s",
                   PIPELINE_FILE, out->sha);
        goto cleanup;
    } else if (rc < 0) {
        set_result(out, SLIPWAY__BUILD_STATE__ERRORED, 0, "%s", sw_error_last());
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
            set_result(out, SLIPWAY__BUILD_STATE__CANCELLED, 0, "cancelled before step %s",
                       pipeline->steps[i].name);
            break;
        }
        step_outcome oc = run_step(spec, sink, pipeline, i, deadline, build_timeout_ms, out);
        if (oc.error < 0) {
            error = oc.error;
        }
        if (oc.done) {
            break;
        }
    }

cleanup:
    if (out->state == SLIPWAY__BUILD_STATE__SUCCEEDED) {
        sys_line(sink, "build succeeded: %s", out->reason);
    } else {
        sys_line(sink, "build %s: %s", state_word(out->state), out->reason);
    }
    sw_pipeline_destroy(&pipeline);
    free(path);
    if (made_workspace) {
        remove_workspace(spec->workspace);
    }
    return error;
}
