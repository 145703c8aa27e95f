/*
 * pipeline.h - the build's pipeline file, .slipway.yml, read into a plain struct.
 *
 *     timeout: 10m            # optional, the whole build
 *     image: slipway/busybox  # optional, the steps' image (docker executor)
 *     env: {KEY: value}       # optional, for all steps
 *     clone: true             # optional: false checks nothing out, the steps get an
 *                             # empty workspace (the pipeline is read from the commit)
 *     clean: untracked        # optional: what goes between builds: untracked (default:
 *                             # every untracked and ignored file; unchanged tracked files
 *                             # are not written again) or fresh (the whole workspace)
 *     depth: 1                # optional, >= 1: a shallow checkout where libgit2 can make
 *                             # one (1.7); accepted and ignored before that (runner.c)
 *     steps:                  # required, 1..64
 *       - name: build         # required, unique
 *         image: busybox      # optional (docker executor; the shell executor ignores it)
 *         run: |              # either run (a script) ...
 *           make
 *         commands: [make]    # ... or commands (a list, run as a `set -e` script)
 *         env: {A: "1"}
 *         timeout: 60s
 *         memory: 128M        # capped by the tier's limit
 *         network: none       # docker executor: none (default) or bridge; never host
 *       - name: image         # an image build (docker executor):
 *         build:
 *           context: .        # inside the repository (default .)
 *           dockerfile: Dockerfile  # inside the context (default Dockerfile)
 *           args: {VERSION: "1"}
 *           tags: [latest]    # besides the commit's sha and its branch or tag
 *           push: true        # to the configured registry (default true)
 *
 * A repository without .slipway.yml but with a Dockerfile builds that image
 * (sw_pipeline_dockerfile_only).
 *
 * Every mistake is reported as "FILE:line:col: what is wrong" (SW_EINVALID).
 */
#ifndef SW_PIPELINE_H
#define SW_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#define SW_PIPELINE_MAX_STEPS 64
#define SW_PIPELINE_MAX_BYTES (1u << 20) /* the largest pipeline file read */

typedef struct sw_pipeline_env {
    char *key;
    char *value;
} sw_pipeline_env;

typedef struct sw_pipeline_build {
    char *context;          /* relative to the workspace, no '..'; "." by default */
    char *dockerfile;       /* relative to the context; "Dockerfile" by default */
    sw_pipeline_env *args;  /* build args */
    size_t nargs;
    char **tags;            /* extra tags */
    size_t ntags;
    int push;               /* 1: push to the registry (default) */
} sw_pipeline_build;

typedef struct sw_pipeline_step {
    char *name;             /* unique within the pipeline */
    char *image;            /* NULL when not given */
    char *network;          /* NULL when not given (none) */
    char *script;           /* for /bin/sh -c: `run` as written, or "set -e\n" + commands;
                             * NULL for a build step */
    sw_pipeline_build *build; /* an image build step; NULL otherwise */
    sw_pipeline_env *env;   /* in file order */
    size_t nenv;
    uint64_t timeout_ms;    /* 0 when not given */
    uint64_t memory_bytes;  /* 0 when not given */
    int line, col;          /* where the step starts in the file */
    int image_line;         /* the line of its `image:` key; 0 when not given */
} sw_pipeline_step;

/* `clean:`: what of a project's workspace is removed between its builds. */
typedef enum sw_pipeline_clean {
    SW_PIPELINE_CLEAN_UNTRACKED = 0, /* all but the tracked files (the default) */
    SW_PIPELINE_CLEAN_FRESH,         /* everything: the workspace is made anew */
} sw_pipeline_clean;

typedef struct sw_pipeline {
    uint64_t timeout_ms;    /* 0 when not given */
    int clone;              /* 1 (default): the commit is checked out; 0: an empty workspace */
    sw_pipeline_clean clean;
    uint32_t depth;         /* 0 when not given: the whole history */
    char *image;            /* the steps' default image; NULL when not given */
    int image_line;         /* the line of the `image:` key; 0 when not given */
    sw_pipeline_env *env;
    size_t nenv;
    sw_pipeline_step *steps;
    size_t nsteps;          /* 1..SW_PIPELINE_MAX_STEPS */
} sw_pipeline;

/* Parses len bytes of text; name is the file name used in error messages.
 * On success *out is the caller's (sw_pipeline_destroy). */
int sw_pipeline_parse(sw_pipeline **out, const char *text, size_t len, const char *name);

/* Reads and parses the file at path, naming it path in messages.
 * SW_ENOTFOUND when there is no such file, SW_EIO when it cannot be read. */
int sw_pipeline_load(sw_pipeline **out, const char *path);

/* As sw_pipeline_load, but messages name the file `name` (e.g. ".slipway.yml"
 * rather than the workspace's full path). */
int sw_pipeline_load_named(sw_pipeline **out, const char *path, const char *name);

/* The pipeline of a repository that has a Dockerfile and no .slipway.yml: one
 * step, "image", building ./Dockerfile and pushing it. */
sw_pipeline *sw_pipeline_dockerfile_only(void);

/* Frees the pipeline; accepts NULL and *NULL, nulls the pointer. */
void sw_pipeline_destroy(sw_pipeline **pipeline_p);

#endif
