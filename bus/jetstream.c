/*
 * jetstream.c - JetStream set-up (streams, durable pull consumers), counts,
 * and JetStream publish.
 *
 * "Ensure" is add-then-update: the server accepts an add with the same config
 * as a no-op and refuses one with another config ("already in use" / "already
 * exists"), which we then turn into an update. Updates the server cannot do
 * (e.g. changing retention) fail with the server's reason.
 *
 * Durations in cnats stream and consumer configs are nanoseconds; this file is
 * where Slipway's milliseconds are converted.
 */
#include "bus/internal.h"

#include "runtime/core/error.h"
#include "runtime/core/log.h"

#include <limits.h>
#include <string.h>

/* JetStream error codes of a newer server than cnats 3.4.1's enum knows. */
#define JS_CONSUMER_ALREADY_EXISTS 10148

int sw_bus_stream_ensure(sw_bus *bus, const sw_stream_config *cfg)
{
    jsStreamConfig sc;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    jsStreamConfig_Init(&sc);
    sc.Name = cfg->name;
    sc.Subjects = (const char **)cfg->subjects;
    sc.SubjectsLen = cfg->nsubjects;
    sc.Retention = cfg->retention == SW_RETAIN_WORKQUEUE  ? js_WorkQueuePolicy
                   : cfg->retention == SW_RETAIN_INTEREST ? js_InterestPolicy
                                                          : js_LimitsPolicy;
    sc.Storage = js_FileStorage;
    sc.MaxAge = cfg->max_age_ms > 0 ? sw_bus_ms_to_ns(cfg->max_age_ms) : 0;
    sc.MaxBytes = cfg->max_bytes > 0 ? cfg->max_bytes : -1;
    sc.Duplicates = cfg->duplicate_window_ms > 0 ? sw_bus_ms_to_ns(cfg->duplicate_window_ms) : 0;
    sc.Replicas = cfg->replicas > 1 ? cfg->replicas : 1;
    sc.MaxMsgs = cfg->max_msgs > 0 ? cfg->max_msgs : -1;
    sc.MaxMsgsPerSubject = cfg->max_msgs_per_subject > 0 ? cfg->max_msgs_per_subject : -1;
    sc.Discard = cfg->discard_new ? js_DiscardNew : js_DiscardOld;
    sc.DiscardNewPerSubject = cfg->discard_new && cfg->discard_new_per_subject;

    s = js_AddStream(&si, bus->js, &sc, NULL, &jerr);
    if (s == NATS_ERR && jerr == JSStreamReplicasNotSupportedErr) {
        /* a single server checks this before whether the stream exists */
        return sw_bus_fail(s, jerr, "stream %s: the configuration asks for %lld replicas "
                           "(nats.replicas) and the server, not part of a cluster, keeps one",
                           cfg->name, (long long)sc.Replicas);
    }
    if (s == NATS_ERR && jerr == JSStreamNameExistErr) {
        int64_t had = sc.Replicas;
        jerr = 0;
        if (js_GetStreamInfo(&si, bus->js, cfg->name, NULL, &jerr) == NATS_OK) {
            had = si->Config->Replicas > 0 ? si->Config->Replicas : 1;
        }
        jsStreamInfo_Destroy(si);
        si = NULL;
        jerr = 0;
        s = js_UpdateStream(&si, bus->js, &sc, NULL, &jerr);
        if (s != NATS_OK && had != sc.Replicas) {
            return sw_bus_fail(s, jerr, "stream %s has %lld replicas, the configuration asks "
                               "for %lld (nats.replicas), and the server refused the change",
                               cfg->name, (long long)had, (long long)sc.Replicas);
        }
        if (s != NATS_OK) {
            return sw_bus_fail(s, jerr, "cannot update stream %s to the configured settings",
                               cfg->name);
        }
        if (had != sc.Replicas) {
            sw_info("bus", "stream %s had %lld replicas, now %lld", cfg->name, (long long)had,
                    (long long)sc.Replicas);
        }
    } else if (s != NATS_OK) {
        return sw_bus_fail(s, jerr, "cannot create stream %s", cfg->name);
    }
    jsStreamInfo_Destroy(si);
    return 0;
}

int sw_bus_stream_remove(sw_bus *bus, const char *stream)
{
    jsErrCode jerr = 0;
    natsStatus s = js_DeleteStream(bus->js, stream, NULL, &jerr);
    if (s != NATS_OK) {
        return sw_bus_fail(s, jerr, "cannot delete stream %s", stream);
    }
    return 0;
}

int sw_bus_stream_purge(sw_bus *bus, const char *stream, const char *subject)
{
    jsOptions o;
    jsErrCode jerr = 0;
    natsStatus s;

    jsOptions_Init(&o);
    o.Stream.Purge.Subject = subject;
    s = js_PurgeStream(bus->js, stream, &o, &jerr);
    if (s != NATS_OK) {
        return sw_bus_fail(s, jerr, "cannot purge stream %s%s%s", stream,
                           subject ? " of " : "", subject ? subject : "");
    }
    return 0;
}

int sw_bus_stream_count(sw_bus *bus, const char *stream, uint64_t *count_out)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, bus->js, stream, NULL, &jerr);

    if (s != NATS_OK) {
        return sw_bus_fail(s, jerr, "cannot read stream %s", stream);
    }
    *count_out = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return 0;
}

static void consumer_config(jsConsumerConfig *cc, const sw_consumer_config *cfg)
{
    jsConsumerConfig_Init(cc);
    cc->Durable = cfg->durable;
    cc->AckPolicy = js_AckExplicit;
    cc->DeliverPolicy = js_DeliverAll;
    cc->AckWait = sw_bus_ms_to_ns(cfg->ack_wait_ms);
    cc->MaxDeliver = cfg->max_deliver > 0 ? cfg->max_deliver : -1;
    cc->MaxAckPending = cfg->max_ack_pending > 0 ? cfg->max_ack_pending : 0;
    cc->FilterSubject = cfg->filter_subject;
}

static bool consumer_exists_error(natsStatus s, jsErrCode jerr)
{
    const char *detail = sw_bus_last_detail();
    if (s != NATS_ERR) {
        return false;
    }
    if (jerr == JSConsumerNameExistErr || jerr == JSConsumerExistingActiveErr ||
        (int)jerr == JS_CONSUMER_ALREADY_EXISTS) {
        return true;
    }
    return strstr(detail, "already") != NULL;
}

int sw_bus_consumer_ensure(sw_bus *bus, const sw_consumer_config *cfg)
{
    jsConsumerConfig cc;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    if (cfg->ack_wait_ms <= 0) {
        return sw_error_set(SW_EINVALID, "consumer %s on %s: ack_wait_ms must be positive",
                            cfg->durable, cfg->stream);
    }
    consumer_config(&cc, cfg);
    s = js_AddConsumer(&ci, bus->js, cfg->stream, &cc, NULL, &jerr);
    if (consumer_exists_error(s, jerr)) {
        jerr = 0;
        s = js_UpdateConsumer(&ci, bus->js, cfg->stream, &cc, NULL, &jerr);
        if (s != NATS_OK) {
            return sw_bus_fail(s, jerr, "cannot update consumer %s on stream %s", cfg->durable,
                               cfg->stream);
        }
    } else if (s != NATS_OK) {
        return sw_bus_fail(s, jerr, "cannot create consumer %s on stream %s", cfg->durable,
                           cfg->stream);
    }
    jsConsumerInfo_Destroy(ci);
    return 0;
}

int sw_bus_consumer_state(sw_bus *bus, const char *stream, const char *durable,
                          sw_consumer_counts *out)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, bus->js, stream, durable, NULL, &jerr);

    if (s != NATS_OK) {
        return sw_bus_fail(s, jerr, "cannot read consumer %s on stream %s", durable, stream);
    }
    out->pending = ci->NumPending;
    out->ack_pending = ci->NumAckPending > 0 ? (uint64_t)ci->NumAckPending : 0;
    out->waiting = ci->NumWaiting > 0 ? (uint64_t)ci->NumWaiting : 0;
    out->redelivered = ci->NumRedelivered > 0 ? (uint64_t)ci->NumRedelivered : 0;
    jsConsumerInfo_Destroy(ci);
    return 0;
}

int sw_bus_consumer_pending(sw_bus *bus, const char *stream, const char *durable,
                            uint64_t *pending_out, uint64_t *ack_pending_out)
{
    sw_consumer_counts c;
    int error = sw_bus_consumer_state(bus, stream, durable, &c);
    if (error == 0 && pending_out != NULL) {
        *pending_out = c.pending;
    }
    if (error == 0 && ack_pending_out != NULL) {
        *ack_pending_out = c.ack_pending;
    }
    return error;
}

static int js_publish(sw_bus *bus, const char *subject, const void *data, size_t len,
                      const char *msg_id, int64_t expect_last_seq, uint64_t *seq_out,
                      bool *duplicate_out)
{
    jsPubOptions po;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    if (len > INT_MAX) {
        return sw_error_set(SW_EINVALID, "message for %s too large (%zu bytes)", subject, len);
    }
    if (!sw_bus_connected(bus)) {
        return sw_error_set(SW_EBUS, "cannot publish on %s to JetStream: not connected to NATS "
                            "at %s (reconnecting)", subject, bus->url);
    }
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = bus->request_timeout_ms;
    if (expect_last_seq == 0) {
        po.ExpectNoMessage = true; /* Nats-Expected-Last-Subject-Sequence: 0 */
    } else if (expect_last_seq > 0) {
        po.ExpectLastSubjectSeq = (uint64_t)expect_last_seq;
    }
    s = js_Publish(&pa, bus->js, subject, data, (int)len, &po, &jerr);
    if (s == NATS_NO_RESPONDERS) {
        return sw_error_set(SW_EBUS,
                            "cannot publish on %s: no JetStream stream takes this subject "
                            "(is the stream created?)",
                            subject);
    }
    if (s == NATS_TIMEOUT) {
        return sw_error_set(SW_ETIMEDOUT, "JetStream did not acknowledge a message on %s within %d ms",
                            subject, bus->request_timeout_ms);
    }
    if (s != NATS_OK) {
        int code = sw_bus_code(s, jerr);
        if (code != SW_ECONFLICT && code != SW_EFULL) {
            code = SW_EBUS;
        }
        return sw_bus_fail_as(code, s, jerr, "cannot publish on %s to JetStream", subject);
    }
    if (seq_out != NULL) {
        *seq_out = pa->Sequence;
    }
    if (duplicate_out != NULL) {
        *duplicate_out = pa->Duplicate;
    }
    jsPubAck_Destroy(pa);
    return 0;
}

int sw_bus_js_publish(sw_bus *bus, const char *subject, const void *data, size_t len,
                      const char *msg_id, uint64_t *seq_out, bool *duplicate_out)
{
    return js_publish(bus, subject, data, len, msg_id, -1, seq_out, duplicate_out);
}

int sw_bus_js_publish_cas(sw_bus *bus, const char *subject, const void *data, size_t len,
                          uint64_t expect_last_seq, uint64_t *seq_out)
{
    return js_publish(bus, subject, data, len, NULL, (int64_t)expect_last_seq, seq_out, NULL);
}

static int get_msg(sw_bus *bus, const char *stream, uint64_t seq, const char *subject,
                   sw_msg **msg_out)
{
    natsMsg *nm = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    *msg_out = NULL;
    if (subject != NULL) {
        s = js_GetLastMsg(&nm, bus->js, stream, subject, NULL, &jerr);
    } else {
        s = js_GetMsg(&nm, bus->js, stream, seq, NULL, &jerr);
    }
    if (s != NATS_OK) {
        if (subject != NULL) {
            return sw_bus_fail(s, jerr, "cannot read the last message on %s in stream %s",
                               subject, stream);
        }
        return sw_bus_fail(s, jerr, "cannot read message %llu of stream %s",
                           (unsigned long long)seq, stream);
    }
    *msg_out = sw_msg_wrap_stored(nm);
    return 0;
}

int sw_bus_stream_get(sw_bus *bus, const char *stream, uint64_t seq, sw_msg **msg_out)
{
    return get_msg(bus, stream, seq, NULL, msg_out);
}

int sw_bus_stream_last(sw_bus *bus, const char *stream, const char *subject, sw_msg **msg_out)
{
    return get_msg(bus, stream, 0, subject, msg_out);
}

int sw_bus_stream_delete(sw_bus *bus, const char *stream, uint64_t seq)
{
    jsErrCode jerr = 0;
    natsStatus s = js_DeleteMsg(bus->js, stream, seq, NULL, &jerr);
    if (s != NATS_OK) {
        return sw_bus_fail(s, jerr, "cannot delete message %llu of stream %s",
                           (unsigned long long)seq, stream);
    }
    return 0;
}
