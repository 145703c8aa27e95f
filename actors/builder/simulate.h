/*
 * simulate.h - the `simulate` executor: a build that fetches nothing and runs
 * nothing, for measuring the control plane by itself (tests/integration/
 * bench_control.c).
 *
 * DESIGN
 * Everything around the build is the real builder's: the pull from the
 * cluster's queue when a slot is free, the claim, STARTED, the log chunks, the
 * fence, FINISHED and the ack are the worker's own code (worker.c); only
 * sw_run_job is replaced. The simulated build tells what a build of one step
 * tells: STEP_STARTED, a few lines (flushed as one chunk when the step ends),
 * STEP_FINISHED, then the worker's last chunk (eof) and FINISHED. It succeeds at
 * once, or is cancelled when asked before it begins. A cluster says
 * `executor: simulate`; nothing of a project's repository is read.
 */
#ifndef SW_SIMULATE_H
#define SW_SIMULATE_H

#include "actors/builder/runner.h"

/* Like sw_run_job, without a fetch, a workspace or a step: fills *out (state
 * succeeded, reason, sha = the job's or empty) and reports through sink. 0. */
int sw_simulate_run(const sw_run_spec *spec, const sw_run_sink *sink, sw_run_result *out);

#endif
