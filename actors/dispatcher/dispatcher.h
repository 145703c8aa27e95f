/*
 * dispatcher.h - the dispatcher actor, one per tier: places each job of its
 * tier on the queue of a cluster of that tier in the project's region.
 *
 * Reads:   SCHED  sw.sched.<tier>    Job (durable "dispatch-<tier>", pulled)
 * Writes:  JOBS   sw.jobs.<cluster>  Job (msg-id <build>.job)
 *          EVENTS sw.events.<tenant>.<build>  PLACED, or FINISHED errored when
 *                 no cluster of the tier serves the region
 *
 * Several clusters of a tier in one region share its jobs in turn. When JOBS
 * is at its bound (queues.jobs) a job is nak'ed back to SCHED and offered
 * again 2 s later: not lost, not acked, logged once per episode.
 */
#ifndef SW_DISPATCHER_H
#define SW_DISPATCHER_H

#include "actors/actors.h"
#include "runtime/config.h"

/* The cluster for a job of tier in region: the turn-th of those that match
 * (turn taken modulo their number), or NULL when none does. */
const sw_cluster *sw_dispatcher_pick(const sw_config *cfg, const char *tier, const char *region,
                                     unsigned turn);

#endif
