/*
 * steps.h - one step of a build, on its executor: a script under bubblewrap
 * (sandbox.h) or in a container (docker.h), or an image build and push
 * (image.h). Every line on its way to the sink goes through the build's
 * secret mask. Used by the runner only.
 */
#ifndef SW_STEPS_H
#define SW_STEPS_H

#include "actors/builder/pipeline.h"
#include "actors/builder/runner.h"

#include <stdint.h>

typedef struct sw_step_run {
    const sw_run_spec *spec;
    const sw_run_sink *sink;
    const sw_pipeline *pipeline;
    const char *workdir;        /* where the steps run: the checkout, or an empty directory */
    sw_run_result *out;         /* out->sha is the commit; the step writes its result */
    int64_t deadline;           /* sw_clock_mono_ms() of the build's end; INT64_MAX: none */
    uint64_t build_timeout_ms;
    char attempt[12];           /* SLIPWAY_ATTEMPT's value, filled by the steps */
} sw_step_run;

typedef struct sw_step_outcome {
    int done;   /* the build ends with this step (out->state says how) */
    int error;  /* an engine failure (negative SW_E*), 0 otherwise */
} sw_step_outcome;

/* Runs step index of the pipeline and reports it (step_started/finished). */
sw_step_outcome sw_steps_run(sw_step_run *r, unsigned index);

/* A SYSTEM line in the build's log, masked. */
void sw_steps_say(const sw_run_spec *spec, const sw_run_sink *sink, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the build's result; the reason is masked. */
void sw_steps_result(const sw_run_spec *spec, sw_run_result *out, int state, int exit_code,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
