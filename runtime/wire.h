/*
 * wire.h - protobuf messages on the bus: pack and publish, request and unpack.
 * Subjects and stream names live here too, so no actor spells them itself.
 */
#ifndef SW_WIRE_H
#define SW_WIRE_H

#include "bus/bus.h"
#include "runtime/config.h"

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#define SW_STREAM_REQUESTS "REQUESTS"
#define SW_STREAM_SCHED "SCHED"
#define SW_STREAM_JOBS "JOBS"
#define SW_STREAM_EVENTS "EVENTS"
#define SW_STREAM_LOGS "LOGS"
#define SW_STREAM_CLAIMS "CLAIMS"         /* sw.claims.<build>: see Claim in slipway.proto */
#define SW_STREAM_ADVISORIES "ADVISORIES" /* JetStream's MAX_DELIVERIES advisories */
#define SW_STREAM_SCALING "SCALING"       /* sw.scale.decision.<cluster>: ScaleDecision */
#define SW_STREAM_LEASES "LEASES"         /* sw.lease.<role>.<what>: Lease, max age = lease */
#define SW_ADVISORY_MAX_DELIVERIES "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"

/* The attempt number of the scheduler's verdict on a build (e.g. "gave up
 * after 3 attempts"): after every real attempt, so its log chunk is the last
 * of the build's log in the archive's (attempt, seq) order too. */
#define SW_ATTEMPT_VERDICT UINT32_MAX
/* ... and its seq: the notifier's own log lines share that attempt (seq 1, 2,
 * ...), so the verdict takes a seq none of them reaches and stays last. */
#define SW_VERDICT_SEQ ((uint64_t)1 << 62)

#define SW_API_BUILDS "sw.api.builds"
#define SW_API_BUILD "sw.api.build"
#define SW_API_PROJECT "sw.api.project"
#define SW_API_BUILDERS "sw.api.builders"
#define SW_API_LOGS "sw.api.logs"
#define SW_API_PROJECTS "sw.api.projects" /* every project of the running config */
/* control (core NATS, request/reply, ApiReply): CancelRequest, DrainRequest */
#define SW_CTL_CANCEL "sw.ctl.cancel"     /* .<build> */
/* A tenant's requests, as its account's imports map them (tools/admin):
 * sw.api.<x> arrives as sw.tapi.<tenant>.<x>, sw.ctl.cancel.<build> as
 * sw.tctl.<tenant>.cancel.<build>. Answerers scope the answer to that tenant. */
#define SW_TAPI "sw.tapi"
#define SW_TCTL "sw.tctl"
#define SW_CTL_DRAIN "sw.ctl.drain"       /* .<builder> */
#define SW_API_POOLS "sw.api.pools"       /* the autoscalers answer (queue "autoscaler") */
#define SW_SCALE_DECISION "sw.scale.decision" /* .<cluster>, stored in SCALING */
#define SW_SCALE_POOL "sw.scale.pool"     /* .<cluster>, core: PoolStatus */
#define SW_LEASE_AUTOSCALER "sw.lease.autoscaler" /* .<cluster> */
#define SW_QUOTA "sw.quota"               /* .<tenant>, core: Quota (scheduler -> webhook) */
#define SW_METRICS "sw.metrics"           /* .<instance>, core: MetricsReport, every 5 s */
#define SW_METRICS_ALL "sw.metrics.*"     /* what the web actor subscribes to */

/* Subject builders: write into buf (size n) and return buf.
 * sw.req.<tenant>, sw.sched.<tier>, sw.jobs.<cluster>, sw.events.<tenant>.<build>,
 * sw.logs.<tenant>.<build>, sw.hb.<cluster>.<builder> */
const char *sw_subject(char *buf, size_t n, const char *prefix, const char *a, const char *b);

/* Packs msg into a heap buffer (caller frees); *len_out gets its size. */
void *sw_wire_pack(const ProtobufCMessage *msg, size_t *len_out);

/* Core publish of a protobuf message. */
int sw_wire_publish(sw_bus *bus, const char *subject, const ProtobufCMessage *msg);

/* JetStream publish of a protobuf message, waiting for the stream's ack. */
int sw_wire_js_publish(sw_bus *bus, const char *subject, const ProtobufCMessage *msg,
                       const char *msg_id, bool *duplicate_out);

/* Answers a request with a protobuf message. */
int sw_wire_respond(sw_bus *bus, const sw_msg *request, const ProtobufCMessage *msg);

/* Sends req on subject and unpacks the answer as reply_type into *reply_out
 * (caller frees with protobuf_c_message_free_unpacked). */
int sw_wire_request(sw_bus *bus, const char *subject, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *reply_type, int timeout_ms,
                    ProtobufCMessage **reply_out);

/* Creates or updates every stream and the durable consumers the config implies:
 * REQUESTS/scheduler, SCHED/dispatch-<tier>, JOBS/cluster-<cluster>, LOGS/logsink. */
int sw_wire_setup_streams(sw_bus *bus, const sw_config *cfg);

/* For a process whose NATS user may not set them up (runtime/roles.h): waits
 * until every durable consumer sw_wire_setup_streams makes exists (the
 * scheduler made them), saying once what it waits for. 0, or SW_ESTOPPED when
 * cancel(closure) said so (polled every 250 ms), or the bus's error when it is
 * other than "not there yet". */
int sw_wire_await_streams(sw_bus *bus, const sw_config *cfg, bool (*cancel)(void *),
                          void *closure);

/* The tenant a request came in through: "acme" for sw.tapi.acme.builds,
 * sw.tctl.acme.cancel.X or sw.req.acme; NULL for an operator's sw.api.* and
 * sw.ctl.* (or any other subject). Copied into buf. */
const char *sw_wire_request_tenant(const char *subject, char *buf, size_t n);

/* The last token of subject ("X" of sw.ctl.cancel.X). */
const char *sw_wire_last_token(const char *subject);

/* Durable names. */
const char *sw_durable_dispatch(char *buf, size_t n, const char *tier);
const char *sw_durable_cluster(char *buf, size_t n, const char *cluster);
#define SW_DURABLE_SCHEDULER "scheduler"
#define SW_DURABLE_LOGSINK "logsink"
#define SW_DURABLE_ADVISORIES "scheduler-advisories"

/* A build id made from the tenant and request id: the same request always
 * names the same build (12 characters of [a-z2-7]). */
void sw_wire_build_id(char out[13], const char *tenant, const char *request_id);

#endif
