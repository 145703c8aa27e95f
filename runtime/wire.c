/* wire.c - protobuf messages on the bus (see wire.h). */
#include "runtime/wire.h"

#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *sw_subject(char *buf, size_t n, const char *prefix, const char *a, const char *b)
{
    if (b != NULL) {
        snprintf(buf, n, "%s.%s.%s", prefix, a, b);
    } else {
        snprintf(buf, n, "%s.%s", prefix, a);
    }
    return buf;
}

void *sw_wire_pack(const ProtobufCMessage *msg, size_t *len_out)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = sw_calloc(len, 1);
    *len_out = protobuf_c_message_pack(msg, buf);
    return buf;
}

int sw_wire_publish(sw_bus *bus, const char *subject, const ProtobufCMessage *msg)
{
    size_t len;
    void *buf = sw_wire_pack(msg, &len);
    int error = sw_bus_publish(bus, subject, buf, len);
    free(buf);
    return error;
}

int sw_wire_js_publish(sw_bus *bus, const char *subject, const ProtobufCMessage *msg,
                       const char *msg_id, bool *duplicate_out)
{
    size_t len;
    void *buf = sw_wire_pack(msg, &len);
    int error = sw_bus_js_publish(bus, subject, buf, len, msg_id, NULL, duplicate_out);
    free(buf);
    return error;
}

int sw_wire_respond(sw_bus *bus, const sw_msg *request, const ProtobufCMessage *msg)
{
    size_t len;
    void *buf = sw_wire_pack(msg, &len);
    int error = sw_bus_respond(bus, request, buf, len);
    free(buf);
    return error;
}

int sw_wire_request(sw_bus *bus, const char *subject, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *reply_type, int timeout_ms,
                    ProtobufCMessage **reply_out)
{
    size_t len;
    void *buf = sw_wire_pack(req, &len);
    sw_msg *reply = NULL;
    int error = sw_bus_request(bus, subject, buf, len, timeout_ms, &reply);
    free(buf);
    if (error < 0) {
        return error;
    }
    *reply_out = protobuf_c_message_unpack(reply_type, NULL, sw_msg_len(reply), sw_msg_data(reply));
    sw_msg_release(&reply);
    if (*reply_out == NULL) {
        return sw_error_set(SW_EINVALID, "the answer on %s is not a valid %s", subject,
                            reply_type->name);
    }
    return 0;
}

const char *sw_durable_dispatch(char *buf, size_t n, const char *tier)
{
    snprintf(buf, n, "dispatch-%s", tier);
    return buf;
}

const char *sw_durable_cluster(char *buf, size_t n, const char *cluster)
{
    snprintf(buf, n, "cluster-%s", cluster);
    return buf;
}

/* LOGS of an earlier version (limits retention, discard old) cannot be updated
 * to this one's: the server refuses to change a stream's retention. It is
 * made again when everything in it was archived; else the error says what to do. */
static int remake_logs(sw_bus *bus, const sw_stream_config *cfg)
{
    char why[512];
    uint64_t pending = 0, ack_pending = 0;
    int error;

    snprintf(why, sizeof(why), "%s", sw_error_last());
    if (sw_bus_consumer_pending(bus, SW_STREAM_LOGS, SW_DURABLE_LOGSINK, &pending,
                                &ack_pending) < 0 ||
        pending + ack_pending > 0) {
        return sw_error_set(SW_EBUS, "%s; stream LOGS is of an earlier Slipway and holds %llu "
                            "chunks its logsink has not archived: run the logsink until they are "
                            "(or purge LOGS), then start again",
                            why, (unsigned long long)(pending + ack_pending));
    }
    sw_warn("wire", "stream LOGS is of an earlier Slipway (%s); every chunk in it was archived, "
            "so it is made again", why);
    if ((error = sw_bus_stream_remove(bus, SW_STREAM_LOGS)) < 0) {
        return error;
    }
    return sw_bus_stream_ensure(bus, cfg);
}

int sw_wire_setup_streams(sw_bus *bus, const sw_config *cfg)
{
    static const char *const req_subjects[] = {"sw.req.>"};
    static const char *const sched_subjects[] = {"sw.sched.>"};
    static const char *const jobs_subjects[] = {"sw.jobs.>"};
    static const char *const events_subjects[] = {"sw.events.>"};
    static const char *const logs_subjects[] = {"sw.logs.>"};
    static const char *const claims_subjects[] = {"sw.claims.>"};
    /* Only MAX_DELIVERIES: "$JS.EVENT.ADVISORY.>" would also keep an API audit
     * advisory for every JetStream API call (each claim read makes one). */
    static const char *const advisory_subjects[] = {SW_ADVISORY_MAX_DELIVERIES ".>"};
    static const char *const scaling_subjects[] = {SW_SCALE_DECISION ".>"};
    static const char *const lease_subjects[] = {"sw.lease.>"};
    const sw_stream_config streams[] = {
        /* bounded work queues: a publish past a bound is refused (SW_EFULL) */
        {.name = SW_STREAM_REQUESTS, .subjects = req_subjects, .nsubjects = 1,
         .retention = SW_RETAIN_WORKQUEUE, .duplicate_window_ms = 3600 * 1000,
         .max_msgs = (int64_t)cfg->queue_requests_max,
         .max_bytes = (int64_t)cfg->queue_max_bytes, .discard_new = true},
        {.name = SW_STREAM_SCHED, .subjects = sched_subjects, .nsubjects = 1,
         .retention = SW_RETAIN_WORKQUEUE, .duplicate_window_ms = 600 * 1000,
         .max_msgs = (int64_t)cfg->queue_sched_max,
         .max_bytes = (int64_t)cfg->queue_max_bytes, .discard_new = true},
        {.name = SW_STREAM_JOBS, .subjects = jobs_subjects, .nsubjects = 1,
         .retention = SW_RETAIN_WORKQUEUE, .duplicate_window_ms = 600 * 1000,
         .max_msgs = (int64_t)cfg->queue_jobs_max,
         .max_bytes = (int64_t)cfg->queue_max_bytes, .discard_new = true},
        {.name = SW_STREAM_EVENTS, .subjects = events_subjects, .nsubjects = 1,
         .retention = SW_RETAIN_LIMITS, .max_age_ms = (int64_t)cfg->events_max_age_ms,
         .duplicate_window_ms = 600 * 1000},
        /* A chunk stays until the logsink (the one durable consumer) acked it,
         * after archiving; followers (ordered consumers) need no ack. Full:
         * publishes are refused and the builder waits, its step's output with
         * it; never is a chunk discarded unarchived. One build may hold at
         * most logs_build_max_chunks of it, so a chatty build cannot stall
         * the others. */
        {.name = SW_STREAM_LOGS, .subjects = logs_subjects, .nsubjects = 1,
         .retention = SW_RETAIN_INTEREST, .max_age_ms = (int64_t)cfg->logs_max_age_ms,
         .max_bytes = (int64_t)cfg->logs_max_bytes, .duplicate_window_ms = 120 * 1000,
         .max_msgs_per_subject = (int64_t)cfg->logs_build_max_chunks, .discard_new = true,
         .discard_new_per_subject = true},
        {.name = SW_STREAM_CLAIMS, .subjects = claims_subjects, .nsubjects = 1,
         .retention = SW_RETAIN_LIMITS, .max_age_ms = (int64_t)cfg->events_max_age_ms,
         .max_msgs_per_subject = 1},
        {.name = SW_STREAM_ADVISORIES, .subjects = advisory_subjects, .nsubjects = 1,
         .retention = SW_RETAIN_WORKQUEUE, .max_age_ms = (int64_t)cfg->events_max_age_ms},
        /* the autoscalers' decisions: the last 1000 of each cluster, a week */
        {.name = SW_STREAM_SCALING, .subjects = scaling_subjects, .nsubjects = 1,
         .retention = SW_RETAIN_LIMITS, .max_age_ms = 7ll * 24 * 3600 * 1000,
         .max_msgs_per_subject = 1000},
        /* a lease is its last message, gone (the server expires it) when not
         * renewed within the lease: see actors/autoscaler/lease.h */
        {.name = SW_STREAM_LEASES, .subjects = lease_subjects, .nsubjects = 1,
         .retention = SW_RETAIN_LIMITS, .max_age_ms = (int64_t)cfg->autoscale_lease_ms,
         .max_msgs_per_subject = 1},
    };
    char durable[96], filter[128];
    int error;

    for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
        /* nats.replicas copies of every stream; consumers (replicas 0) inherit it */
        sw_stream_config sc = streams[i];
        sc.replicas = cfg->nats_replicas > 1 ? (int)cfg->nats_replicas : 1;
        if ((error = sw_bus_stream_ensure(bus, &sc)) < 0 &&
            (strcmp(sc.name, SW_STREAM_LOGS) != 0 || (error = remake_logs(bus, &sc)) < 0)) {
            return error;
        }
    }
    sw_consumer_config c = {.stream = SW_STREAM_REQUESTS, .durable = SW_DURABLE_SCHEDULER,
                            .ack_wait_ms = 30000};
    if ((error = sw_bus_consumer_ensure(bus, &c)) < 0) {
        return error;
    }
    c = (sw_consumer_config){.stream = SW_STREAM_LOGS, .durable = SW_DURABLE_LOGSINK,
                             .ack_wait_ms = 30000};
    if ((error = sw_bus_consumer_ensure(bus, &c)) < 0) {
        return error;
    }
    c = (sw_consumer_config){.stream = SW_STREAM_ADVISORIES, .durable = SW_DURABLE_ADVISORIES,
                             .ack_wait_ms = 30000};
    if ((error = sw_bus_consumer_ensure(bus, &c)) < 0) {
        return error;
    }
    for (size_t i = 0; i < cfg->ntiers; i++) {
        c = (sw_consumer_config){
            .stream = SW_STREAM_SCHED,
            .durable = sw_durable_dispatch(durable, sizeof(durable), cfg->tiers[i].name),
            .filter_subject = sw_subject(filter, sizeof(filter), "sw.sched", cfg->tiers[i].name,
                                         NULL),
            /* the dispatcher holds up to `hold` jobs unacked (in progress) */
            .ack_wait_ms = 30000, .max_ack_pending = (int)cfg->tiers[i].hold};
        if ((error = sw_bus_consumer_ensure(bus, &c)) < 0) {
            return error;
        }
    }
    for (size_t i = 0; i < cfg->nclusters; i++) {
        c = (sw_consumer_config){
            .stream = SW_STREAM_JOBS,
            .durable = sw_durable_cluster(durable, sizeof(durable), cfg->clusters[i].name),
            .filter_subject = sw_subject(filter, sizeof(filter), "sw.jobs",
                                         cfg->clusters[i].name, NULL),
            .ack_wait_ms = (int64_t)cfg->heartbeat_lapse_ms,
            .max_deliver = (int)cfg->max_deliveries};
        if ((error = sw_bus_consumer_ensure(bus, &c)) < 0) {
            return error;
        }
    }
    return 0;
}

int sw_wire_await_streams(sw_bus *bus, const sw_config *cfg, bool (*cancel)(void *),
                          void *closure)
{
    char durable[96];
    bool said = false;
    size_t n = 3 + cfg->ntiers + cfg->nclusters;

    for (size_t i = 0; i < n;) {
        const char *stream, *name;
        sw_consumer_counts counts;
        if (i == 0) {
            stream = SW_STREAM_REQUESTS, name = SW_DURABLE_SCHEDULER;
        } else if (i == 1) {
            stream = SW_STREAM_LOGS, name = SW_DURABLE_LOGSINK;
        } else if (i == 2) {
            stream = SW_STREAM_ADVISORIES, name = SW_DURABLE_ADVISORIES;
        } else if (i < 3 + cfg->ntiers) {
            stream = SW_STREAM_SCHED;
            name = sw_durable_dispatch(durable, sizeof(durable), cfg->tiers[i - 3].name);
        } else {
            stream = SW_STREAM_JOBS;
            name = sw_durable_cluster(durable, sizeof(durable),
                                      cfg->clusters[i - 3 - cfg->ntiers].name);
        }
        int error = sw_bus_consumer_state(bus, stream, name, &counts);
        if (error == 0) {
            i++;
            continue;
        }
        if (error != SW_ENOTFOUND && error != SW_ETIMEDOUT) {
            return error;
        }
        if (!said) {
            sw_info("wire", "waiting for the scheduler to set up JetStream (no consumer %s on "
                    "%s yet)", name, stream);
            said = true;
        }
        for (int t = 0; t < 5; t++) {
            if (cancel != NULL && cancel(closure)) {
                return sw_error_set(SW_ESTOPPED, "stopped waiting for JetStream set-up");
            }
            struct timespec ts = {0, 50 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    if (said) {
        sw_info("wire", "JetStream is set up");
    }
    return 0;
}

const char *sw_wire_request_tenant(const char *subject, char *buf, size_t n)
{
    static const char *const prefixes[] = {SW_TAPI ".", SW_TCTL ".", "sw.req."};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t plen = strlen(prefixes[i]);
        if (strncmp(subject, prefixes[i], plen) == 0) {
            const char *t = subject + plen;
            size_t len = strcspn(t, ".");
            if (len == 0 || len >= n) {
                return NULL;
            }
            memcpy(buf, t, len);
            buf[len] = '\0';
            return buf;
        }
    }
    return NULL;
}

const char *sw_wire_last_token(const char *subject)
{
    const char *dot = strrchr(subject, '.');
    return dot != NULL ? dot + 1 : subject;
}

void sw_wire_build_id(char out[13], const char *tenant, const char *request_id)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    uint64_t bits = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(ctx, tenant, strlen(tenant)) || !EVP_DigestUpdate(ctx, "", 1) ||
        !EVP_DigestUpdate(ctx, request_id, strlen(request_id)) ||
        !EVP_DigestFinal_ex(ctx, digest, &dlen)) {
        abort();
    }
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 8; i++) {
        bits = (bits << 8) | digest[i];
    }
    for (int i = 0; i < 12; i++) {
        out[i] = alphabet[(bits >> (59 - 5 * i)) & 31];
    }
    out[12] = '\0';
}
