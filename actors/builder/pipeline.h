/*
 * pipeline.h - the build's pipeline file, .slipway.yml, read into a plain struct.
 *
 *     timeout: 10m            # optional, the whole build
 *     env: {KEY: value}       # optional, for all steps
 *     steps:                  # required, 1..64
 *       - name: build         # required, unique
 *         image: busybox      # optional (docker executor; the shell executor ignores it)
 *         run: |              # either run (a script) ...
 *           make
 *         commands: [make]    # ... or commands (a list, run as a `set -e` script)
 *         env: {A: "1"}
 *         timeout: 60s
 *         memory: 128M        # capped by the tier's limit
 *
 * Every mistake is reported as "FILE:line:col: what is wrong" (SW_EINVALID).
 */
#ifndef SW_PIPELINE_H
#define SW_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#define SW_PIPELINE_MAX_STEPS 64

typedef struct sw_pipeline_env {
    char *key;
    char *value;
} sw_pipeline_env;

typedef struct sw_pipeline_step {
    char *name;             /* unique within the pipeline */
    char *image;            /* NULL when not given */
    char *script;           /* for /bin/sh -c: `run` as written, or "set -e\n" + commands */
    sw_pipeline_env *env;   /* in file order */
    size_t nenv;
    uint64_t timeout_ms;    /* 0 when not given */
    uint64_t memory_bytes;  /* 0 when not given */
    int line, col;          /* where the step starts in the file */
} sw_pipeline_step;

typedef struct sw_pipeline {
    uint64_t timeout_ms;    /* 0 when not given */
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

/* Frees the pipeline; accepts NULL and *NULL, nulls the pointer. */
void sw_pipeline_destroy(sw_pipeline **pipeline_p);

#endif
