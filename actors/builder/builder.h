/*
 * builder.h - the builder actor: pulls jobs of its cluster while it has a free
 * slot and runs each on a worker (worker.h).
 *
 * Reads:   JOBS  sw.jobs.<cluster>  Job (durable "cluster-<cluster>", shared by the
 *                cluster's builders, pulled only while a slot is free, the
 *                builder is not draining and its pressure is under its
 *                cluster's thresholds)
 *          core  sw.ctl.drain.<builder>  DrainRequest, answered with an ApiReply
 *                (builders[0]: this builder's state); the same request twice
 *                answers the same
 * Writes:  EVENTS, LOGS (by its workers, see worker.h)
 *          core  sw.hb.<cluster>.<builder>  Heartbeat, every heartbeat_interval
 *          and at once when draining, drained or holding_back changes; with it,
 *          an in-progress ack for every running job, so JetStream redelivers a
 *          job only when its builder has gone silent for heartbeat_lapse (the
 *          consumer's AckWait).
 *
 * DESIGN
 * What the pull may take is decided in one place (gate, in builder.c) and
 * applied with sw_actor_pull_limit: 0 while draining or holding back, slots
 * otherwise; the pull's pace (sw_actor_pull_pace) makes a busy builder wait
 * 200 ms x busy/slots before each fetch (no wait when the cluster checks no
 * threshold at all), and the pressure is read again right after a job is taken, so a builder pushed over by its new job pauses before
 * it fetches another.
 * Holding back re-checks the pressure (pressure.h) after 250 ms, doubling to
 * 5 s; under the thresholds it re-checks every second. A draining builder
 * whose last build ends is drained; told to exit, it then asks its host
 * process to stop (runtime/host.h), which drains any other builder it hosts.
 *
 * A job runs in the lowest free slot, and in that slot's workspace of its project
 * (<work_dir>/<builder>/ws/<tenant>/<project>/<slot>, workspace.h), kept for the
 * project's next build on the slot. At start the builder's work_dir loses what an
 * earlier run left but ws/, whose workspaces are swept by the config's
 * `workspaces:` bounds (and those of slots it no longer has).
 *
 * The attempt is the message's delivery count; every event and log chunk of the
 * job carries it, and only the current attempt counts (buildstate.h). On stop
 * running builds are killed and their jobs handed back (nak) to run elsewhere.
 */
#ifndef SW_BUILDER_H
#define SW_BUILDER_H

#include "actors/actors.h"

#endif
