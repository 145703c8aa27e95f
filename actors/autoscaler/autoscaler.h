/*
 * autoscaler.h - the autoscaler actor: grows each autoscaled cluster's pool of
 * builders with its queue, and shrinks it only by drain.
 *
 * Reads:
 *   core      sw.hb.<cluster>.*        Heartbeat (slots, busy, draining, drained_by)
 *   core      sw.jobs.<cluster>        a job was queued: read the backlog now
 *   JetStream consumer info of JOBS/cluster-<cluster> (num_pending, num_ack_pending,
 *             num_waiting), at once after a job and each second
 *   core      sw.scale.pool.*          PoolStatus of the instances that lead
 *   core      sw.api.pools             ApiRequest -> ApiReply.pools (queue "autoscaler")
 * Writes:
 *   LEASES    sw.lease.autoscaler.<cluster>  Lease: one instance decides per cluster
 *             (lease.h says how and why)
 *   SCALING   sw.scale.decision.<cluster>    ScaleDecision: every action, with its reason
 *   core      sw.scale.pool.<cluster>        PoolStatus, each second while it leads
 *   core      sw.ctl.drain.<builder>         DrainRequest (drain with exit; undrain)
 *   the provider (provider.h): create, destroy, list, on threads of their own (ops.h)
 *
 * The decision itself is decide.h. Around it: a builder asked for counts as
 * starting until its first heartbeat, and one that does not heartbeat within
 * start_timeout failed (it is destroyed); a create that fails is retried
 * after backoff (doubled each time, to backoff_max); max_failures in a row and
 * it stops creating and says so in the log, in a `halt` decision and in
 * `slipway pools`, until a reload (SIGHUP). Scale-in is a drain with exit; the
 * provider destroys the builder only once it reported drained (or after it
 * stopped heartbeating: it is gone already and its jobs run again elsewhere).
 * Taking the lead, it first lists the provider's builders and adopts them;
 * it never drains or destroys a builder the provider did not make.
 */
#ifndef SW_AUTOSCALER_H
#define SW_AUTOSCALER_H

#include "actors/actors.h"

#endif
