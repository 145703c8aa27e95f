/*
 * builder.h - the builder actor: pulls jobs of its cluster while it has a free
 * slot and runs each on a worker (worker.h).
 *
 * Reads:   JOBS  sw.jobs.<cluster>  Job (durable "cluster-<cluster>", shared by the
 *                cluster's builders, pulled only while a slot is free)
 * Writes:  EVENTS, LOGS (by its workers, see worker.h)
 *          core  sw.hb.<cluster>.<builder>  Heartbeat, every heartbeat_interval
 *          and, with it, an in-progress ack for every running job, so JetStream
 *          redelivers a job only when its builder has gone silent for
 *          heartbeat_lapse (the consumer's AckWait).
 *
 * The attempt is the message's delivery count; every event and log chunk of the
 * job carries it, and only the current attempt counts (buildstate.h). On stop
 * running builds are killed and their jobs handed back (nak) to run elsewhere.
 */
#ifndef SW_BUILDER_H
#define SW_BUILDER_H

#include "actors/actors.h"

#endif
