/*
 * scheduler.h - the scheduler actor: turns requests into builds and keeps
 * every build's record.
 *
 * Reads:
 *   REQUESTS  sw.req.<tenant>         BuildRequest (durable "scheduler", pulled)
 *   EVENTS    sw.events.>             BuildEvent   (ordered, from the view's last sequence)
 *   core      sw.hb.>                 Heartbeat
 *   core      sw.api.builds|build|project|builders   ApiRequest -> ApiReply
 *   core      sw.api.projects         ApiRequest -> ApiReply (projects: the running config's)
 * Writes:
 *   EVENTS    sw.events.<tenant>.<build>  CREATED, LOST (msg-id <build>.created, ...)
 *   SCHED     sw.sched.<tier>             Job (msg-id <build>.sched)
 *   core      sw.quota.<tenant>           Quota: waiting builds against max_queued (quota.h)
 *
 * The project lookup (sw.api.project) also carries its tenant's waiting
 * builds and max_queued, which `slipway submit` checks before it publishes.
 *
 * A request names a build deterministically (sw_wire_build_id), so a request
 * delivered twice makes one build. When SCHED is at its bound (queues.sched)
 * the request is nak'ed back to REQUESTS and offered again 2 s later (its build
 * stays queued; the next try only hands the job on), logged once per episode.
 * When a builder's heartbeats stop for longer
 * than heartbeat_lapse, its running builds are marked rescheduling; JetStream
 * redelivers their jobs to another builder.
 *
 * A reload (SIGHUP) swaps the config on the actor's thread: projects, tenants
 * and tiers' limits apply from the next request.
 */
#ifndef SW_SCHEDULER_H
#define SW_SCHEDULER_H

#include "actors/actors.h"

#endif
