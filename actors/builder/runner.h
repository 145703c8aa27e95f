/*
 * runner.h - one build, start to end: fetch into the mirror, read .slipway.yml from the
 * commit, bring the project's kept workspace to the commit (workspace.h), run the steps
 * in the sandbox, report. The workspace stays for the project's next build.
 *
 * Called on a worker thread by the builder actor; blocks for the whole build and
 * talks back only through the sink's callbacks, all on that same thread.
 */
#ifndef SW_RUNNER_H
#define SW_RUNNER_H

#include "actors/builder/exec/docker_api.h"
#include "actors/builder/mask.h"
#include "actors/builder/profile/profile.h"
#include "runtime/config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sw_run_sink {
    void *ud;
    /* one line of output; stream is SLIPWAY__LOG_STREAM__STDOUT/STDERR, or SYSTEM for
     * Slipway's own lines. text is NUL-terminated and borrowed for the call. */
    void (*line)(void *ud, int stream, const char *text, size_t len);
    void (*tick)(void *ud);  /* at least every 100 ms while a step runs (also during fetch) */
    /* index is 0-based */
    void (*step_started)(void *ud, unsigned index, const char *name);
    void (*step_finished)(void *ud, unsigned index, const char *name, int exit_code,
                          int64_t duration_ms, const char *reason);
    /* the commit is fetched and checked out (or, with `clone: false`, fetched):
     * sha is its 40 hex digits, borrowed for the call; before any step */
    void (*checked_out)(void *ud, const char *sha);
} sw_run_sink;

typedef struct sw_run_spec {
    const char *build_id, *clone_url, *ref, *sha;
    const char *workspace;   /* this slot's workspace of the project (workspace.h: made when
                              * missing, kept at the end); the steps run in its src/, or
                              * in its empty/ with `clone: false` */
    uint64_t memory_bytes;   /* tier limits; 0 = none */
    uint32_t pids;
    uint32_t cpu_millis;
    uint64_t timeout_ms;     /* the whole build, fetch included; 0 = none */
    volatile int *cancel;    /* optional; set non-zero from any thread to cancel */

    /* Where steps run: NULL the shell executor (bubblewrap); else containers
     * on this Docker engine, where image build steps can run too. */
    sw_docker *docker;
    const char *default_image; /* docker: for steps that name none */
    const char *registry;      /* docker: HOST[:PORT] built images are pushed to; NULL: kept */
    const char *image_repo;    /* the project's image name, "<tenant>/<project>" */
    const char *builder;       /* for container names and labels */
    uint32_t attempt;

    const sw_secret *secrets;  /* given to every step as environment variables */
    size_t nsecrets;
    const sw_mask *mask;       /* masks them in every line; NULL: nothing to mask */

    const char *mirror_dir;    /* the builder's git mirror cache (required: the pipeline is
                                * read from the commit there before any checkout) */
    const char *git_token;     /* for https repositories that ask; NULL: none */
} sw_run_spec;

typedef struct sw_run_result {
    int state;               /* SLIPWAY__BUILD_STATE__SUCCEEDED/FAILED/ERRORED/TIMED_OUT/CANCELLED */
    int exit_code;           /* of the step that ended the build; 0 otherwise */
    char reason[256];        /* human, e.g. "step test failed: exit code 3" */
    char sha[41];            /* the commit built, "" when the fetch failed */
    char image[320];         /* the image pushed ("registry/name:<sha>"), "" when none */
    char digest[80];         /* its digest, "sha256:..." */
    sw_profile profile;      /* what the build fetches from (the caller clears it) */
    /* the checkout, as the runner timed it (all 0 when there was none) */
    int64_t fetch_ms;        /* into the mirror, lock wait included */
    int64_t checkout_ms;     /* the workspace: its clean, the packs it lacked, the files */
    int workspace_reused;    /* 1: the workspace of an earlier build; 0: made anew */
    unsigned files_written;  /* by the checkout (written or removed) */
    unsigned files_removed;  /* by the clean (untracked, ignored, changed by a step) */
} sw_run_result;

/* Runs the build described by spec, reporting through sink (any callback may be NULL)
 * and filling *out. Returns 0 when the run happened, whatever the build's result;
 * negative only for the engine's own failures (no mirror cache given, the workspace
 * cannot be made, the sandbox cannot start), with out->state ERRORED and out->reason
 * set. */
int sw_run_job(const sw_run_spec *spec, const sw_run_sink *sink, sw_run_result *out);

#endif
