/*
 * docker.h - the Docker executor: one step in a container, through the Engine
 * API (docker_api.h), with the same contract as the shell executor (sandbox.h).
 *
 * DESIGN
 * A step is a fresh container of the step's image: `/bin/sh -c SCRIPT`
 * (Entrypoint /bin/sh -c, so an image's own entrypoint never runs), the
 * workspace bind-mounted at /workspace (WorkingDir and $HOME), the step's
 * environment after HOME, CI=true and SLIPWAY=1 (PATH is the image's), no
 * network unless asked (never the host's or another container's), Memory =
 * MemorySwap (no swap), PidsLimit, NanoCpus, no-new-privileges, and a few
 * capabilities dropped (docker.c says which and why). Nothing else of the host
 * is mounted. An image that is not on the engine is pulled first.
 *
 * Output comes from GET /containers/{id}/logs?follow=1 after the start
 * (docker_output.h): the container's log (json-file, set per container so that
 * it is readable whatever the daemon's default driver) holds everything from
 * its first byte, so nothing is lost between start and follow, and the call is
 * a plain HTTP stream that ends when the container stops. What the follow
 * misses at the end (Docker 20.10 sometimes drops a last line without '\n')
 * is read from the log after the exit, before the container is removed. The
 * exit code comes from POST /wait, OOM from the inspect's State.OOMKilled
 * (docker.c says why that is enough). A timeout or a cancel (checked with the
 * tick every 25 ms, also between slices of a burst of output) kills the
 * container (POST /kill); in every case the container is removed (DELETE
 * ?force=1&v=1) before sw_docker_run returns. The step's timeout counts from
 * the call, so pulling and creating count against it as they do against the
 * build's time.
 */
#ifndef SW_DOCKER_H
#define SW_DOCKER_H

#include "actors/builder/exec/docker_api.h"
#include "actors/builder/exec/sandbox.h"

/* Where the step's workspace appears in its container. */
#define SW_DOCKER_WORKSPACE "/workspace"

typedef struct sw_docker_step {
    const char *image;          /* required: "slipway/busybox", "127.0.0.1:5000/x/y:tag" */
    const char *network;        /* NULL or "none": no network; "bridge", a network name:
                                 * as asked; "host" and "container:*" are refused */
    const char *name;           /* container name, unique per step; NULL: the engine's */
    const char *const *labels;  /* "key=value", NULL-terminated; may be NULL */
} sw_docker_step;

/* Runs one step in a container and fills *out exactly as sw_sandbox_run does
 * (exit_code, killed_by, duration_ms, reason; out->cgroup stays ""). spec's
 * line and tick callbacks are called on the calling thread, tick at least
 * every 100 ms from the call to its return. Returns 0 when the step ran
 * (whatever its result; also when it timed out or was cancelled while its
 * image was being pulled), negative when it could not be started (engine
 * unreachable, image missing and not pullable, bad network mode, no
 * workspace), with the reason in sw_error_last(). The container is gone when
 * it returns. Blocks; thread-safe. */
int sw_docker_run(sw_docker *d, const sw_sandbox_spec *spec, const sw_docker_step *step,
                  sw_sandbox_result *out);

/* Removes (force) every container, running or not, that carries label
 * ("key=value", e.g. "slipway.builder=builder-1"): what a builder that died
 * left behind. Returns how many were removed, or a negative SW_E* code. */
int sw_docker_remove_labeled(sw_docker *d, const char *label);

#endif
