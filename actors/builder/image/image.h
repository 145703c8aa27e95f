/*
 * image.h - image builds and pushes through the Docker Engine API (docker_api.h).
 *
 * DESIGN
 * A build sends the context as a tar (context_tar.h: .dockerignore applied, no
 * symlink followed) to POST /build with the classic builder: tags, Dockerfile,
 * build args, the network of RUN instructions (none unless asked; never the
 * host's nor another container's) and their memory (no swap) and CPU limits;
 * intermediate containers are always removed (rm, forcerm); pull=0, nocache=0.
 * The engine's JSON progress stream, one object per line however the reads cut
 * it, becomes log lines: the builder's output ("Step 2/4 : RUN ...", what RUN
 * prints, " ---> 1a2b3c") on stdout, split into lines; an "error" on stderr and
 * as the result's reason; layer download progress is left out. The image id is
 * the stream's {"aux":{"ID":...}}.
 *
 * A timeout or a cancel (polled with the tick, every 50 ms) drops the connection,
 * which makes the engine cancel the build, and removes the RUN container the
 * stream last named (" ---> Running in <id>"), so nothing of the build still
 * runs when sw_image_build_run returns.
 *
 * A push is POST /images/{name}/push?tag= with an X-Registry-Auth header (the
 * engine requires one; "{}" when there are no credentials). Its stream becomes a
 * few lines: "pushing <ref>", one per layer when it is done ("layer 1a2b3c:
 * pushed", "... already exists", "... mounted from x/y"), "digest: sha256:...".
 */
#ifndef SW_IMAGE_H
#define SW_IMAGE_H

#include "actors/builder/exec/docker_api.h"
#include "actors/builder/exec/sandbox.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sw_image_build {
    const char *context_dir;    /* inside the workspace (see sw_context_resolve) */
    const char *dockerfile;     /* relative to the context; NULL: "Dockerfile" */
    const sw_sandbox_env *args; /* build args (--build-arg) */
    size_t nargs;
    const char *const *tags; /* full references: "127.0.0.1:5000/acme/web:<sha>",
                              * NULL-terminated; may be NULL (untagged image) */
    const char *network;     /* for RUN instructions: NULL/"none" (default),
                              * "bridge", a network's name; "host" and
                              * "container:*" are refused */
    uint64_t memory_bytes;   /* each RUN container's memory (no swap); 0: none */
    uint32_t cpu_millis;     /* each RUN container's CPU; 1000 = one CPU; 0: none */
    uint64_t timeout_ms;     /* the whole build; 0: none */
    volatile int *cancel;    /* optional; non-zero: stop, result KILLED_CANCEL */

    /* Callbacks, all optional, on the calling thread: text NUL-terminated and
     * borrowed, stream SLIPWAY__LOG_STREAM__STDOUT / __STDERR. line gets whole
     * lines; one longer than SW_SANDBOX_MAX_LINE comes as several lines of that
     * size. piece, when set, is called instead of line, with the sandbox's
     * convention: line_ends false for such a piece that more pieces follow (what a
     * mask needs to see a secret cut in two). */
    void *ud;
    void (*line)(void *ud, int stream, const char *text, size_t len);
    void (*tick)(void *ud); /* about every 50 ms while the build runs */
    void (*piece)(void *ud, int stream, const char *text, size_t len, bool line_ends);
} sw_image_build;

/* Builds an image and fills *out like sw_sandbox_run: exit_code 0 and reason
 * "built sha256:..." with the id in image_id on success; exit_code 1 and the
 * builder's own message as the reason when the build failed ("The command
 * '/bin/sh -c make' returned a non-zero code: 2", "dockerfile parse error ...");
 * killed_by TIMEOUT or CANCEL (exit_code 137, reason "killed: timed out after
 * 10m" / "killed: cancelled"). image_id is "" unless it succeeded.
 * Returns 0 when the build ran (whatever its result), negative when it could not
 * be started, with the reason in sw_error_last(): SW_ENOTFOUND no context or no
 * Dockerfile; SW_EINVALID a refused network, a bad .dockerignore, a special file
 * or a Dockerfile outside the context; SW_EIO the engine cannot be reached. */
int sw_image_build_run(sw_docker *d, const sw_image_build *b, char image_id[80],
                       sw_sandbox_result *out);

/* Pushes ref ("127.0.0.1:5000/acme/web:tag"; no tag: "latest") to its registry,
 * with no credentials. Writes "sha256:<64 hex>" to digest. Returns 0, or
 * negative with the reason in sw_error_last(): SW_ENOTFOUND no such local image,
 * SW_ERROR the push failed ("push of <ref> failed: <the engine's message>"),
 * SW_EINVALID a malformed ref, SW_EIO the engine cannot be reached. line (may be
 * NULL) gets the lines above, stdout, and the error on stderr, as whole lines
 * (like sw_image_build's line). */
int sw_image_push(sw_docker *d, const char *ref, void *ud,
                  void (*line)(void *ud, int stream, const char *text, size_t len),
                  char digest[80]);

/* The id ("sha256:...") of the local image ref into id. SW_ENOTFOUND if none. */
int sw_image_id(sw_docker *d, const char *ref, char id[80]);

/* Removes the local image ref (force: also when tagged more than once or used by
 * a stopped container). Returns 0, also when there was none; negative else. */
int sw_image_remove(sw_docker *d, const char *ref);

#endif
