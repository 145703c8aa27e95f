/*
 * runner.c - one build from the mirror to the result (see runner.h).
 *
 * DESIGN
 * Straight-line: gitfetch resolves the commit in the builder's mirror -> the pipeline
 * is read from the commit there -> the project's workspace on this slot is reused or
 * made anew (workspace.h; `clean: fresh` makes it anew) and the commit checked out into
 * it, or with `clone: false` an empty workspace is made -> each step on its executor
 * (steps.c) -> result. Reading the pipeline before the checkout is what lets clone: and
 * clean: decide the checkout; it also means a link named .slipway.yml is refused rather
 * than followed. A checkout into a reused workspace that fails (a pack a step broke, an
 * object gone) is tried once more into one made anew.
 * The build's deadline starts when sw_run_job is called; each step gets the smaller
 * of its own timeout and what is left of the build's. Every outcome is told twice:
 * in the result struct (for the build event) and as a SYSTEM line (for the log).
 */
#include "actors/builder/runner.h"

#include "actors/builder/git/gitfetch.h"
#include "actors/builder/pipeline.h"
#include "actors/builder/profile/profile_event.h"
#include "actors/builder/exec/sandbox.h"
#include "actors/builder/steps.h"
#include "actors/builder/git/workspace.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/fs.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "slipway.pb-c.h"

#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "runner"
#define PIPELINE_FILE ".slipway.yml"

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

/* The pipeline of the commit, read from the mirror: 0, SW_ENOTFOUND (no file), or the
 * error of a file that cannot be read or parsed (message set). */
static int read_pipeline(sw_pipeline **out, const sw_gitfetch_resolved *src)
{
    char *text = NULL;
    size_t len = 0;
    int error = sw_gitfetch_read(src, PIPELINE_FILE, SW_PIPELINE_MAX_BYTES, &text, &len);
    if (error == 0) {
        error = sw_pipeline_parse(out, text, len, PIPELINE_FILE);
    }
    free(text);
    return error;
}

/* The result of a fetch or checkout that failed with rc. */
static void fetch_failed(const sw_run_spec *spec, sw_run_result *out, int rc,
                         uint64_t build_timeout_ms)
{
    char what[64];
    if (rc == SW_ESTOPPED) {
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__CANCELLED, 0, "cancelled while fetching");
    } else if (rc == SW_ETIMEDOUT) {
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__TIMED_OUT, 0,
                        "build timed out after %s (while fetching)",
                        sw_sandbox_format_duration(what, sizeof(what), build_timeout_ms));
    } else {
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "fetch failed: %s",
                        sw_error_last());
    }
}

/* Brings the project's workspace to the commit (*ws: the caller's). 0, or the error of
 * the checkout, with out's result set. */
static int check_out(const sw_run_spec *spec, const sw_run_sink *sink, sw_gitfetch_resolved *src,
                     bool fresh, const sw_gitfetch_stats *stats, sw_workspace **ws,
                     sw_run_result *out, uint64_t build_timeout_ms)
{
    int64_t t0 = sw_clock_mono_ms();
    int rc;

    if ((rc = sw_workspace_open(ws, spec->workspace, sw_gitfetch_url(src), fresh)) < 0) {
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "internal error: %s",
                        sw_error_last());
        return rc;
    }
    rc = sw_gitfetch_checkout(src, sw_workspace_repo(*ws), sw_workspace_baseline(*ws));
    if (rc < 0 && rc != SW_ESTOPPED && rc != SW_ETIMEDOUT && sw_workspace_baseline(*ws) != NULL) {
        sw_steps_say(spec, sink, "workspace: the checkout into the kept one failed (%s); "
                                 "making it anew", sw_error_last());
        if ((rc = sw_workspace_remake(*ws, "the checkout into it failed")) == 0) {
            rc = sw_gitfetch_checkout(src, sw_workspace_repo(*ws), NULL);
        }
    }
    if (rc < 0) {
        fetch_failed(spec, out, rc, build_timeout_ms);
        return rc;
    }
    if (sw_workspace_keep(*ws, sw_gitfetch_commit(src)) < 0) {
        /* the build goes on; the next one makes the workspace anew */
        sw_steps_say(spec, sink, "workspace not kept for the next build: %s", sw_error_last());
    }
    out->checkout_ms = sw_clock_mono_ms() - t0;
    out->workspace_reused = sw_workspace_baseline(*ws) != NULL;
    out->files_written = stats->checkout_files;
    out->files_removed = sw_workspace_removed(*ws);
    if (out->workspace_reused) {
        sw_steps_say(spec, sink,
                     "checked out %s in the kept workspace: %u files written, %u removed "
                     "(fetch %lld ms, checkout %lld ms)",
                     out->sha, out->files_written, out->files_removed,
                     (long long)out->fetch_ms, (long long)out->checkout_ms);
    } else {
        sw_steps_say(spec, sink,
                     "checked out %s in a new workspace (%s): %u files written "
                     "(fetch %lld ms, checkout %lld ms)",
                     out->sha, sw_workspace_why(*ws), out->files_written,
                     (long long)out->fetch_ms, (long long)out->checkout_ms);
    }
    return 0;
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
    sw_gitfetch_stats stats = {0};
    sw_gitfetch_resolved *src = NULL;
    sw_workspace *ws = NULL;
    char *empty = NULL;
    const char *workdir = NULL;
    char pipeline_error[512];
    int error = 0, rc;

    memset(out, 0, sizeof(*out));
    if (spec->mirror_dir == NULL || spec->mirror_dir[0] == '\0') {
        error = sw_error_set(SW_EINVALID, "the runner needs a git mirror cache (mirror_dir)");
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "internal error: %s",
                        sw_error_last());
        goto cleanup;
    }

    sw_steps_say(spec, sink, "fetching %s %s", spec->clone_url, ref);
    fetch_opts.cancel = spec->cancel;
    fetch_opts.deadline_ms = deadline == INT64_MAX ? 0 : deadline;
    fetch_opts.ud = sink->ud;
    fetch_opts.tick = sink->tick;
    fetch_opts.mirror_dir = spec->mirror_dir;
    fetch_opts.token = spec->git_token;
    fetch_opts.stats = &stats;
    rc = sw_gitfetch_resolve(&src, spec->clone_url, spec->ref, spec->sha, &fetch_opts);
    out->fetch_ms = stats.fetch_ms + stats.lock_wait_ms;
    if (rc < 0) {
        fetch_failed(spec, out, rc, build_timeout_ms);
        goto cleanup;
    }
    snprintf(out->sha, sizeof(out->sha), "%s", sw_gitfetch_sha(src));

    rc = read_pipeline(&pipeline, src);
    /* said after the checkout, which sets messages of its own */
    snprintf(pipeline_error, sizeof(pipeline_error), "%s", rc < 0 ? sw_error_last() : "");
    if (rc == SW_ENOTFOUND && spec->docker != NULL && sw_gitfetch_has(src, "Dockerfile")) {
        sw_steps_say(spec, sink, "no %s: building the repository's Dockerfile", PIPELINE_FILE);
        pipeline = sw_pipeline_dockerfile_only();
        rc = 0;
    }
    if (rc == 0 && pipeline->depth > 0) {
        /* libgit2 fetches shallow from 1.7 on; the mirror and the kept workspace make a
         * full history cost what is new anyway */
        sw_steps_say(spec, sink,
                     "depth: %u ignored: this builder's libgit2 (%d.%d.%d) cannot fetch a "
                     "shallow history (1.7 can); the whole history is checked out",
                     pipeline->depth, LIBGIT2_VER_MAJOR, LIBGIT2_VER_MINOR, LIBGIT2_VER_REVISION);
    }
    if (rc == 0 && !pipeline->clone) {
        int erc = sw_workspace_empty(&empty, spec->workspace);
        if (erc < 0) {
            error = erc;
            sw_pipeline_destroy(&pipeline);
            sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "internal error: %s",
                            sw_error_last());
            goto cleanup;
        }
        workdir = empty;
        sw_steps_say(spec, sink, "clone: false: %s not checked out; the steps get an empty "
                                 "workspace", out->sha);
    } else {
        /* a pipeline that does not parse still gets its checkout: the profile below reads
         * it, and routing learns from it whatever the pipeline's fate */
        bool fresh = rc == 0 && pipeline->clean == SW_PIPELINE_CLEAN_FRESH;
        int crc = check_out(spec, sink, src, fresh, &stats, &ws, out, build_timeout_ms);
        if (crc < 0) {
            /* a workspace that cannot be made is the engine's failure; a checkout that
             * fails, the build's (as a fetch that fails) */
            error = ws == NULL ? crc : 0;
            goto cleanup;
        }
        workdir = sw_workspace_src(ws);
    }
    if (sink->checked_out != NULL) {
        sink->checked_out(sink->ud, out->sha);
    }

    /* read before anything runs, whatever the pipeline's fate: routing learns from it */
    sw_profile_scan(&out->profile, workdir, rc == 0 ? pipeline : NULL);
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
        sw_steps_result(spec, out, SLIPWAY__BUILD_STATE__ERRORED, 0, "%s", pipeline_error);
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
        sw_step_run run = {spec, sink, pipeline, workdir, out, deadline, build_timeout_ms};
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
    sw_workspace_close(&ws);
    if (empty != NULL && sw_fs_rmtree(empty) < 0) {
        sw_warn(WHO, "empty workspace not fully removed: %s", sw_error_last());
    }
    free(empty);
    sw_gitfetch_destroy(&src);
    return error;
}
