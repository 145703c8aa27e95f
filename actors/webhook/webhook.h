/*
 * webhook.h - the webhook gateway actor: forge deliveries in, one BuildRequest
 * per delivery out.
 *
 * Reads: HTTP on cfg->webhook_listen (actors/webhook/intake.h); core sw.quota.<tenant>
 *        (Quota: a tenant at its max_queued gets 429, see quotas.h).
 * Writes: BuildRequest on sw.req.<tenant> (stream REQUESTS), Nats-Msg-Id and
 * request id "<forge>:<delivery id>".
 * Keeps: the delivery record (deliveries.h) under <data_dir>/webhook.
 *
 * A delivery is answered 202 only after JetStream acknowledged its request;
 * 503 when NATS cannot be reached or does not acknowledge within
 * webhook.publish_timeout, so the forge sends it again. When REQUESTS is at
 * its bound (queues.requests / queues.max_bytes) the server refuses the
 * request: 503 with Retry-After webhook.full_retry_after and "reason":
 * "queue_full", nothing stored and nothing remembered, so the retry is taken
 * like a new delivery; counted on /metrics and /healthz. A delivery id already
 * in the record is answered 202 "duplicate" and makes nothing.
 */
#ifndef SW_WEBHOOK_H
#define SW_WEBHOOK_H

#include "runtime/actor.h"

extern const sw_actor_impl sw_webhook_impl;

#endif
