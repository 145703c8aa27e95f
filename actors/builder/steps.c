/*
 * steps.c - one step of a build on its executor (see steps.h).
 *
 * Output of every step passes a filter on its way to the sink: one mask
 * stream per output stream, so a secret is replaced by *** also when the
 * executor hands a long line over in pieces.
 */
#include "actors/builder/steps.h"

#include "actors/builder/image/context_tar.h"
#include "actors/builder/exec/docker.h"
#include "actors/builder/image/image.h"
#include "actors/builder/exec/sandbox.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "slipway.pb-c.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TAGS 16

/* --- masked output ----------------------------------------------------------- */

void sw_steps_say(const sw_run_spec *spec, const sw_run_sink *sink, const char *fmt, ...)
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
    if (spec->mask != NULL) {
        sw_mask_text(spec->mask, text);
    }
    sink->line(sink->ud, SLIPWAY__LOG_STREAM__SYSTEM, text, strlen(text));
}

void sw_steps_result(const sw_run_spec *spec, sw_run_result *out, int state, int exit_code,
                     const char *fmt, ...)
{
    va_list ap;
    out->state = state;
    out->exit_code = exit_code;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
    if (spec->mask != NULL) {
        sw_mask_text(spec->mask, out->reason);
    }
}

typedef struct filter {
    const sw_run_sink *sink;
    sw_mask_stream *out, *err; /* NULL when there is nothing to mask */
} filter;

static void filter_open(filter *f, const sw_run_spec *spec, const sw_run_sink *sink)
{
    f->sink = sink;
    f->out = f->err = NULL;
    if (spec->mask != NULL && sw_mask_count(spec->mask) > 0) {
        f->out = sw_mask_stream_create(spec->mask);
        f->err = sw_mask_stream_create(spec->mask);
    }
}

static void filter_piece(void *ud, int stream, const char *text, size_t len, bool line_ends)
{
    filter *f = ud;
    sw_mask_stream *ms = stream == SLIPWAY__LOG_STREAM__STDERR ? f->err : f->out;
    const char *masked = text;
    size_t n = len;

    if (f->sink->line == NULL) {
        return;
    }
    if (ms != NULL && !sw_mask_stream_feed(ms, text, len, line_ends, &masked, &n)) {
        return; /* held back: it may be the start of a secret */
    }
    f->sink->line(f->sink->ud, stream, masked, n);
}

static void filter_line(void *ud, int stream, const char *text, size_t len, bool line_ends)
{
    filter_piece(ud, stream, text, len, line_ends);
}

/* For callers that hand over whole lines only (image builds, pushes). */
static void filter_whole_line(void *ud, int stream, const char *text, size_t len)
{
    filter_piece(ud, stream, text, len, true);
}

static void filter_tick(void *ud)
{
    filter *f = ud;
    if (f->sink->tick != NULL) {
        f->sink->tick(f->sink->ud);
    }
}

/* Hands over what is held back and frees. */
static void filter_close(filter *f)
{
    const char *text;
    size_t n;
    sw_mask_stream *streams[2] = {f->out, f->err};
    int ids[2] = {SLIPWAY__LOG_STREAM__STDOUT, SLIPWAY__LOG_STREAM__STDERR};
    for (int i = 0; i < 2; i++) {
        if (streams[i] != NULL && sw_mask_stream_flush(streams[i], &text, &n) &&
            f->sink->line != NULL) {
            f->sink->line(f->sink->ud, ids[i], text, n);
        }
    }
    sw_mask_stream_destroy(&f->out);
    sw_mask_stream_destroy(&f->err);
}

/* --- the step's environment ---------------------------------------------------- */

/* Slipway's variables, the secrets, then the pipeline's, then the step's (later wins). */
static sw_sandbox_env *step_env(sw_step_run *r, const sw_pipeline_step *step, size_t *n_out)
{
    const sw_run_spec *spec = r->spec;
    const sw_pipeline *p = r->pipeline;
    size_t n = 0, cap = 4 + spec->nsecrets + p->nenv + step->nenv;
    sw_sandbox_env *env = sw_calloc(cap, sizeof(*env));
    snprintf(r->attempt, sizeof(r->attempt), "%u", spec->attempt);
    env[n++] = (sw_sandbox_env){"SLIPWAY_ATTEMPT", r->attempt};
    env[n++] = (sw_sandbox_env){"SLIPWAY_BUILD_ID", spec->build_id ? spec->build_id : ""};
    env[n++] = (sw_sandbox_env){"SLIPWAY_COMMIT", r->out->sha};
    env[n++] = (sw_sandbox_env){"SLIPWAY_REF", spec->ref ? spec->ref : ""};
    for (size_t i = 0; i < spec->nsecrets; i++) {
        env[n++] = (sw_sandbox_env){spec->secrets[i].name, spec->secrets[i].value};
    }
    for (size_t i = 0; i < p->nenv; i++) {
        env[n++] = (sw_sandbox_env){p->env[i].key, p->env[i].value};
    }
    for (size_t i = 0; i < step->nenv; i++) {
        env[n++] = (sw_sandbox_env){step->env[i].key, step->env[i].value};
    }
    *n_out = n;
    return env;
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

/* --- image tags ------------------------------------------------------------------ */

/* A tag made of name: [A-Za-z0-9_.-], at most 128, not starting with '.' or '-'. */
static void tag_of(char *out, size_t size, const char *prefix, const char *name)
{
    size_t n = (size_t)snprintf(out, size, "%s", prefix);
    for (const char *c = name; *c && n + 1 < size && n < 128; c++) {
        out[n++] = (isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-') ? *c
                                                                                     : '-';
    }
    out[n] = '\0';
    if (out[0] == '.' || out[0] == '-') {
        out[0] = '_';
    }
}

/* The tag the build's ref gives: the branch, the tag, pr-N, mr-N; "" when none. */
static void ref_tag(char *out, size_t size, const char *ref)
{
    unsigned n;
    out[0] = '\0';
    if (ref == NULL || ref[0] == '\0') {
        return;
    }
    if (strncmp(ref, "refs/heads/", 11) == 0) {
        tag_of(out, size, "", ref + 11);
    } else if (strncmp(ref, "refs/tags/", 10) == 0) {
        tag_of(out, size, "", ref + 10);
    } else if (sscanf(ref, "refs/pull/%u/head", &n) == 1) {
        snprintf(out, size, "pr-%u", n);
    } else if (sscanf(ref, "refs/merge-requests/%u/head", &n) == 1) {
        snprintf(out, size, "mr-%u", n);
    } else if (strncmp(ref, "refs/", 5) != 0) {
        tag_of(out, size, "", ref);
    }
}

/* The references the image gets: <repo>:<sha>, <repo>:<ref's tag>, <repo>:<extra>,
 * with the registry in front when there is one. */
static size_t image_refs(const sw_step_run *r, const sw_pipeline_build *b,
                         char refs[MAX_TAGS][320])
{
    const sw_run_spec *spec = r->spec;
    char base[256], tag[160], ref[320];
    size_t n = 0;

    snprintf(base, sizeof(base), "%s%s%s", spec->registry ? spec->registry : "",
             spec->registry ? "/" : "", spec->image_repo ? spec->image_repo : "slipway/build");
    snprintf(refs[n++], sizeof(refs[0]), "%s:%s", base, r->out->sha);
    ref_tag(tag, sizeof(tag), spec->ref);
    if (tag[0] != '\0') {
        snprintf(refs[n++], sizeof(refs[0]), "%s:%s", base, tag);
    }
    for (size_t i = 0; i < b->ntags && n < MAX_TAGS; i++) {
        bool seen = false;
        snprintf(ref, sizeof(ref), "%s:%s", base, b->tags[i]);
        for (size_t j = 0; j < n; j++) {
            seen = seen || strcmp(refs[j], ref) == 0;
        }
        if (!seen) {
            memcpy(refs[n++], ref, sizeof(ref));
        }
    }
    return n;
}

/* --- the step ------------------------------------------------------------------ */

static void report_finished(const sw_step_run *r, unsigned index, int exit_code,
                            int64_t duration_ms, const char *reason)
{
    const sw_run_sink *sink = r->sink;
    if (sink->step_finished != NULL) {
        sink->step_finished(sink->ud, index, r->pipeline->steps[index].name, exit_code,
                            duration_ms, reason);
    }
}

/* The build's result from a step that was killed or failed. */
static void result_of(const sw_step_run *r, const sw_pipeline_step *step, uint64_t timeout_ms,
                      const sw_sandbox_result *res)
{
    const sw_run_spec *spec = r->spec;
    char what[64];
    switch (res->killed_by) {
    case SW_SANDBOX_KILLED_NONE:
    case SW_SANDBOX_KILLED_SIGNAL:
        sw_steps_result(spec, r->out, SLIPWAY__BUILD_STATE__FAILED, res->exit_code,
                        "step %s failed: %s", step->name, res->reason);
        break;
    case SW_SANDBOX_KILLED_OOM:
        sw_steps_result(spec, r->out, SLIPWAY__BUILD_STATE__FAILED, res->exit_code, "step %s %s",
                        step->name, res->reason);
        break;
    case SW_SANDBOX_KILLED_TIMEOUT:
        if (step->timeout_ms != 0 && step->timeout_ms == timeout_ms) {
            sw_steps_result(spec, r->out, SLIPWAY__BUILD_STATE__TIMED_OUT, res->exit_code,
                            "step %s timed out after %s", step->name,
                            sw_sandbox_format_duration(what, sizeof(what), step->timeout_ms));
        } else {
            sw_steps_result(spec, r->out, SLIPWAY__BUILD_STATE__TIMED_OUT, res->exit_code,
                            "build timed out after %s (in step %s)",
                            sw_sandbox_format_duration(what, sizeof(what), r->build_timeout_ms),
                            step->name);
        }
        break;
    case SW_SANDBOX_KILLED_CANCEL:
        sw_steps_result(spec, r->out, SLIPWAY__BUILD_STATE__CANCELLED, res->exit_code,
                        "cancelled during step %s", step->name);
        break;
    }
}

/* Builds the image and pushes its tags; fills res like a script step would. */
static int build_image(const sw_step_run *r, const sw_pipeline_step *step, filter *f,
                       uint64_t timeout_ms, sw_sandbox_result *res)
{
    const sw_run_spec *spec = r->spec;
    const sw_pipeline_build *b = step->build;
    char refs[MAX_TAGS][320], image_id[80] = "", digest[80] = "";
    const char *tags[MAX_TAGS + 1] = {0};
    size_t nrefs = image_refs(r, b, refs), nargs;
    char *context = NULL;
    int rc;

    /* a symlink in the repository must not take the context out of the workspace */
    if ((rc = sw_context_resolve(&context, r->workdir, b->context)) < 0) {
        return rc;
    }

    for (size_t i = 0; i < nrefs; i++) {
        tags[i] = refs[i];
    }
    sw_sandbox_env *args = sw_calloc(b->nargs ? b->nargs : 1, sizeof(*args));
    for (nargs = 0; nargs < b->nargs; nargs++) {
        args[nargs] = (sw_sandbox_env){b->args[nargs].key, b->args[nargs].value};
    }
    sw_image_build ib = {
        .context_dir = context,
        .dockerfile = b->dockerfile,
        .args = args,
        .nargs = nargs,
        .tags = tags,
        .network = step->network,
        .memory_bytes = spec->memory_bytes,
        .cpu_millis = spec->cpu_millis,
        .timeout_ms = timeout_ms,
        .cancel = spec->cancel,
        .ud = f,
        .piece = filter_piece,
        .tick = filter_tick,
    };
    sw_steps_say(spec, r->sink, "building %s from %s/%s", refs[0], b->context, b->dockerfile);
    rc = sw_image_build_run(spec->docker, &ib, image_id, res);
    free(args);
    free(context);
    if (rc < 0 || res->killed_by != SW_SANDBOX_KILLED_NONE || res->exit_code != 0) {
        return rc;
    }
    sw_steps_say(spec, r->sink, "built image %s", image_id);
    if (!b->push) {
        sw_steps_say(spec, r->sink, "not pushed (build.push is false)");
        return 0;
    }
    if (spec->registry == NULL) {
        sw_steps_say(spec, r->sink, "not pushed: no registry in the builder's configuration "
                                    "(docker.registry)");
        return 0;
    }
    for (size_t i = 0; i < nrefs; i++) {
        char d[80] = "";
        if (spec->cancel != NULL && *spec->cancel) {
            res->killed_by = SW_SANDBOX_KILLED_CANCEL;
            snprintf(res->reason, sizeof(res->reason), "killed: cancelled");
            return 0;
        }
        if (sw_image_push(spec->docker, refs[i], f, filter_whole_line, d) < 0) {
            res->exit_code = 1;
            snprintf(res->reason, sizeof(res->reason), "%s", sw_error_last());
            return 0;
        }
        if (i == 0) {
            snprintf(digest, sizeof(digest), "%s", d);
        }
    }
    snprintf(r->out->image, sizeof(r->out->image), "%s", refs[0]);
    snprintf(r->out->digest, sizeof(r->out->digest), "%s", digest);
    sw_steps_say(spec, r->sink, "pushed %s@%s", refs[0], digest);
    return 0;
}

sw_step_outcome sw_steps_run(sw_step_run *r, unsigned index)
{
    const sw_run_spec *spec = r->spec;
    const sw_pipeline_step *step = &r->pipeline->steps[index];
    sw_step_outcome oc = {0, 0};
    sw_sandbox_result res;
    filter f;
    char what[64], name[128], label_build[96], label_builder[96];
    uint64_t remaining = 0;
    int rc;

    if (r->deadline != INT64_MAX) {
        int64_t left = r->deadline - sw_clock_mono_ms();
        if (left <= 0) {
            sw_steps_result(spec, r->out, SLIPWAY__BUILD_STATE__TIMED_OUT, 0,
                            "build timed out after %s",
                            sw_sandbox_format_duration(what, sizeof(what), r->build_timeout_ms));
            oc.done = 1;
            return oc;
        }
        remaining = (uint64_t)left;
    }
    if (r->sink->step_started != NULL) {
        r->sink->step_started(r->sink->ud, index, step->name);
    }
    sw_steps_say(spec, r->sink, "step %u/%zu %s", index + 1, r->pipeline->nsteps, step->name);

    uint64_t timeout_ms = min_limit(step->timeout_ms, remaining);
    memset(&res, 0, sizeof(res));
    filter_open(&f, spec, r->sink);
    if (step->build != NULL && spec->docker == NULL) {
        rc = sw_error_set(SW_EINVALID, "image builds need a cluster whose executor is docker "
                                       "(this builder's is shell)");
    } else if (step->build != NULL) {
        rc = build_image(r, step, &f, timeout_ms, &res);
    } else {
        sw_sandbox_spec sb = {0};
        sb.script = step->script;
        sb.workspace = r->workdir;
        sb.env = step_env(r, step, &sb.nenv);
        sb.memory_bytes = min_limit(step->memory_bytes, spec->memory_bytes);
        sb.pids = spec->pids;
        sb.cpu_millis = spec->cpu_millis;
        sb.timeout_ms = timeout_ms;
        sb.cancel = spec->cancel;
        sb.ud = &f;
        sb.line = filter_line;
        sb.tick = filter_tick;
        if (spec->docker == NULL) {
            rc = sw_sandbox_run(&sb, &res);
        } else {
            snprintf(name, sizeof(name), "slipway-%s-%u-%u", spec->build_id ? spec->build_id : "x",
                     spec->attempt, index);
            snprintf(label_build, sizeof(label_build), "slipway.build=%s",
                     spec->build_id ? spec->build_id : "");
            snprintf(label_builder, sizeof(label_builder), "slipway.builder=%s",
                     spec->builder ? spec->builder : "");
            const char *labels[] = {label_build, label_builder, NULL};
            sw_docker_step ds = {
                .image = step->image ? step->image
                         : r->pipeline->image ? r->pipeline->image
                                              : spec->default_image,
                .network = step->network,
                .name = name,
                .labels = labels,
            };
            if (ds.image == NULL) {
                rc = sw_error_set(SW_EINVALID, "step %s names no image and there is no "
                                               "default (docker.default_image)", step->name);
            } else {
                rc = sw_docker_run(spec->docker, &sb, &ds, &res);
                char host[256];
                if (res.pulled && sw_image_registry(ds.image, host, sizeof(host)) != NULL) {
                    sw_profile_add(&r->out->profile, host, "pull", ds.image, "engine", 0);
                }
            }
        }
        free((void *)sb.env);
    }
    filter_close(&f);

    if (rc < 0) {
        sw_steps_result(spec, r->out, SLIPWAY__BUILD_STATE__ERRORED, 0,
                        "step %s could not run: %s", step->name, sw_error_last());
        report_finished(r, index, -1, 0, r->out->reason);
        oc.done = 1;
        oc.error = rc == SW_EINVALID ? 0 : rc;
        return oc;
    }
    if (spec->mask != NULL) {
        sw_mask_text(spec->mask, res.reason);
    }
    report_finished(r, index, res.exit_code, res.duration_ms, res.reason);
    if (res.killed_by == SW_SANDBOX_KILLED_NONE && res.exit_code == 0) {
        return oc;
    }
    result_of(r, step, timeout_ms, &res);
    oc.done = 1;
    return oc;
}
