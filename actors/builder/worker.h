/*
 * worker.h - one job of a builder, run on its own thread.
 *
 * DESIGN
 * The builder actor never blocks: for each job it starts a worker, which runs
 * the build (runner.h) and publishes as it goes, straight to the bus (which is
 * thread-safe): the attempt's STARTED, CHECKED_OUT, STEP_* and FINISHED events on
 * sw.events.<tenant>.<build>, and its log lines in LogChunks on
 * sw.logs.<tenant>.<build>, batched (at most 64 lines, 32 KiB or 100 ms a
 * chunk), numbered from 1 per attempt and published with msg-id
 * <build>.<attempt>.log.<seq>, so a retried publish is stored once. The last
 * chunk has eof and the attempt's result, and is published before FINISHED.
 * When the worker is done it posts mail (done_tag, payload = the worker) to
 * its actor, which then frees the slot.
 *
 * The worker alone touches the job's message (ack, nak, in progress), and only
 * while its attempt owns the build (runtime/claim.h): it takes the build with a
 * claim before it runs, reads the fence every heartbeat interval (and before
 * publishing after any pause) and ends the build with a final claim. A worker
 * that finds itself superseded stops its step at once, publishes nothing more
 * and says so once in the builder's own log. Publishes are retried for as long
 * as the attempt owns the build: through a NATS outage and while LOGS is full,
 * where the worker (and so the step's output) waits.
 *
 * Its build runs in the slot's workspace of the project (workspace.h), kept for
 * the project's next build on that slot. Before it runs, the worker removes the
 * slot's workspaces of other projects that the configuration's `workspaces:`
 * bounds do not keep (unused for keep_unused, or past max_per_slot), saying so in
 * the builder's log, never in the build's (they are other projects').
 */
#ifndef SW_WORKER_H
#define SW_WORKER_H

#include "bus/bus.h"
#include "actors/builder/exec/docker_api.h"
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
    const char *work_dir;   /* workspaces go below it: ws/<tenant>/<project>/<slot> */
    unsigned slot;          /* the builder's slot the job runs in (0..slots-1): it has the
                             * slot's workspaces to itself while it runs */
    unsigned slots;         /* the builder's */
    const sw_config *cfg;   /* the project's secrets, image name, git token; the registry;
                             * the worker retains it until sw_worker_destroy */
    sw_docker *docker;      /* the docker executor's engine; NULL: the shell executor */
    bool simulate;          /* the simulate executor (simulate.h): nothing fetched or run */
    const char *mirror_dir; /* the builder's git mirrors */
    const Slipway__Job *job; /* copied */
    uint32_t attempt;        /* JetStream's delivery count; the claim may raise it */
    sw_msg *msg;             /* the job's message, valid until sw_worker_destroy */
    const char *incarnation; /* this builder process's */
} sw_worker_spec;

int sw_worker_start(sw_worker **out, const sw_worker_spec *spec);

/* Asks the build to stop. With shutdown set, the worker reports no result (the
 * job is to run again elsewhere); otherwise the build ends cancelled. */
void sw_worker_cancel(sw_worker *worker, bool shutdown);

/* A cancel of the build (sw.ctl.cancel): stops its step now (docker: the
 * container is killed and removed; shell: the sandbox's processes) and, when
 * its attempt still owns the build, ends it cancelled with reason (who and
 * why) as its log's last line. The scheduler decides a cancel by its own claim
 * too: whichever claim comes first stands. Any thread; the first reason wins. */
void sw_worker_stop_build(sw_worker *worker, const char *reason);

/* Joins the thread and frees. Accepts NULL; nulls the pointer. */
void sw_worker_destroy(sw_worker **worker_p);

const char *sw_worker_build_id(const sw_worker *worker);
uint32_t sw_worker_attempt(const sw_worker *worker);

#endif
