/*
 * dispatcher.h - the dispatcher actor, one per tier: places each job of its
 * tier on the queue of a cluster of that tier in the project's region.
 *
 * Reads:   SCHED  sw.sched.<tier>    Job (durable "dispatch-<tier>", pulled)
 *          EVENTS sw.events.>        FINISHED with a source profile (followed)
 * Writes:  JOBS   sw.jobs.<cluster>  Job (msg-id <build>.job)
 *          EVENTS sw.events.<tenant>.<build>  PLACED, or FINISHED errored when
 *                 no cluster of the tier serves the region
 *
 * Several clusters of a tier in one region share its jobs in turn. When JOBS
 * is at its bound (queues.jobs) a job is nak'ed back to SCHED and offered
 * again 2 s later: not lost, not acked, logged once per episode.
 *
 * Fair share (the tier's lookahead > 0, the default): jobs are held per
 * tenant, their SCHED messages unacked and marked in progress, up to the
 * tier's `hold`; a job is placed on a cluster only while the cluster's queue
 * has fewer than lookahead jobs no builder has taken (JOBS consumer's
 * num_pending, read by the tick), the tenant picked by round robin
 * (fairshare.h) among those under max_running (their placed jobs, looked up
 * in JOBS by sequence until gone). The SCHED message is acked after the job is
 * in JOBS and PLACED recorded; a redelivery places the same msg-id again,
 * which JOBS takes as a duplicate. Stop naks every held job back at once.
 *
 * Routing (route.h, routes.h): the region a job goes to is decided when it
 * arrives, by its project's pin or by what its project's (or branch's) recent
 * builds fetched, learned from the FINISHED events of EVENTS (followed from
 * the sequence its store remembers); PLACED carries the region and why.
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
