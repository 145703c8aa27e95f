/*
 * worker.h - one job of a builder, run on its own thread.
 *
 * DESIGN
 * The builder actor never blocks: for each job it starts a worker, which runs
 * the build (runner.h) and publishes as it goes, straight to the bus (which is
 * thread-safe): the attempt's STARTED, STEP_* and FINISHED events on
 * sw.events.<tenant>.<build>, and its log lines in LogChunks on
 * sw.logs.<tenant>.<build>, batched (at most 64 lines, 32 KiB or 100 ms a
 * chunk), numbered from 1 per attempt and published with msg-id
 * <build>.<attempt>.log.<seq>, so a retried publish is stored once. The last
 * chunk has eof and the attempt's result, and is published before FINISHED.
 * When the worker is done it posts mail (done_tag, payload = the worker) to
 * its actor, which then acks the job and frees the slot.
 */
#ifndef SW_WORKER_H
#define SW_WORKER_H

#include "bus/bus.h"
#include "actors/builder/docker_api.h"
#include "runtime/actor.h"
#include "runtime/config.h"
#include "slipway.pb-c.h"

#include <stdbool.h>

typedef struct sw_worker sw_worker;

typedef struct sw_worker_spec {
    sw_bus *bus;
    sw_actor *actor;        /* gets the done mail */
    int done_tag;
    const char *builder;
    const char *cluster;
    const char *work_dir;   /* workspaces go below it */
    const sw_config *cfg;   /* the project's secrets, image name, git token; the registry */
    sw_docker *docker;      /* the docker executor's engine; NULL: the shell executor */
    const char *mirror_dir; /* the builder's git mirrors */
    const Slipway__Job *job; /* copied */
    uint32_t attempt;
} sw_worker_spec;

int sw_worker_start(sw_worker **out, const sw_worker_spec *spec);

/* Asks the build to stop. With shutdown set, the worker reports no result (the
 * job is to run again elsewhere); otherwise the build ends cancelled. */
void sw_worker_cancel(sw_worker *worker, bool shutdown);

/* Joins the thread and frees. Accepts NULL; nulls the pointer. */
void sw_worker_destroy(sw_worker **worker_p);

const char *sw_worker_build_id(const sw_worker *worker);
uint32_t sw_worker_attempt(const sw_worker *worker);

/* After the done mail: whether the result (FINISHED event) reached the bus. When
 * false the job must be run again (nak), not acked. */
bool sw_worker_reported(const sw_worker *worker);

#endif
