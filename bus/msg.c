/*
 * msg.c - sw_msg: a refcounted natsMsg with its JetStream metadata, and the
 * ack family.
 *
 * DESIGN
 * cnats acks through msg->sub (the natsSubscription that received the message),
 * so a puller's message keeps its puller core (and with it the subscription)
 * alive until the last release; that release also gives the puller slot back.
 * Messages of an ordered consumer (follow) need no ack: the ack family is a
 * no-op for them, and never touches their subscription, which may already be
 * gone. Core messages cannot be acked (SW_EINVALID).
 */
#include "bus/internal.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <stdlib.h>

struct sw_msg {
    atomic_int refs;
    natsMsg *nm;
    sw_msg_kind kind;
    sw_puller_core *owner; /* SW_MSG_PULL only */
    uint64_t stream_seq;
    uint64_t delivered;
    int64_t timestamp_ms;
};

sw_msg *sw_msg_wrap(natsMsg *nm, sw_msg_kind kind, sw_puller_core *owner)
{
    sw_msg *msg = sw_calloc(1, sizeof(*msg));
    jsMsgMetaData *meta = NULL;

    atomic_init(&msg->refs, 1);
    msg->nm = nm;
    msg->kind = kind;
    msg->owner = owner;
    if (kind != SW_MSG_CORE && kind != SW_MSG_STORED && natsMsg_GetMetaData(&meta, nm) == NATS_OK) {
        msg->stream_seq = meta->Sequence.Stream;
        msg->delivered = meta->NumDelivered;
        msg->timestamp_ms = meta->Timestamp / 1000000;
        jsMsgMetaData_Destroy(meta);
    }
    return msg;
}

sw_msg *sw_msg_wrap_stored(natsMsg *nm)
{
    sw_msg *msg = sw_msg_wrap(nm, SW_MSG_STORED, NULL);
    msg->stream_seq = natsMsg_GetSequence(nm);
    msg->timestamp_ms = natsMsg_GetTime(nm) / 1000000;
    return msg;
}

const char *sw_msg_subject(const sw_msg *msg)
{
    return natsMsg_GetSubject(msg->nm);
}

const void *sw_msg_data(const sw_msg *msg)
{
    return natsMsg_GetData(msg->nm);
}

size_t sw_msg_len(const sw_msg *msg)
{
    int len = natsMsg_GetDataLength(msg->nm);
    return len > 0 ? (size_t)len : 0;
}

const char *sw_msg_reply(const sw_msg *msg)
{
    const char *reply = natsMsg_GetReply(msg->nm);
    return reply != NULL && reply[0] != '\0' ? reply : NULL;
}

const char *sw_msg_header(const sw_msg *msg, const char *key)
{
    const char *value = NULL;
    /* cnats takes a non-const msg but only reads (headers are parsed lazily). */
    if (natsMsgHeader_Get(msg->nm, key, &value) != NATS_OK) {
        return NULL;
    }
    return value;
}

uint64_t sw_msg_stream_seq(const sw_msg *msg)
{
    return msg->stream_seq;
}

uint64_t sw_msg_delivered(const sw_msg *msg)
{
    return msg->delivered;
}

int64_t sw_msg_timestamp_ms(const sw_msg *msg)
{
    return msg->timestamp_ms;
}

/* 1 when the ack family should go to the server, 0 when it is a no-op, or an
 * error for a message that cannot be acked. */
static int ackable(const sw_msg *msg, const char *what)
{
    switch (msg->kind) {
    case SW_MSG_PULL:
        return 1;
    case SW_MSG_ORDERED:
    case SW_MSG_STORED:
        return 0;
    default:
        return sw_error_set(SW_EINVALID, "cannot %s a core NATS message (on %s)", what,
                            sw_msg_subject(msg));
    }
}

int sw_msg_ack(sw_msg *msg)
{
    int rc = ackable(msg, "ack");
    natsStatus s;
    if (rc <= 0) {
        return rc;
    }
    s = natsMsg_Ack(msg->nm, NULL);
    if (s != NATS_OK) {
        return sw_bus_fail(s, 0, "cannot ack message %llu on %s",
                           (unsigned long long)msg->stream_seq, sw_msg_subject(msg));
    }
    return 0;
}

int sw_msg_ack_sync(sw_msg *msg, int timeout_ms)
{
    int rc = ackable(msg, "ack");
    jsOptions o;
    jsErrCode jerr = 0;
    natsStatus s;
    if (rc <= 0) {
        return rc;
    }
    jsOptions_Init(&o);
    o.Wait = timeout_ms > 0 ? timeout_ms : 0;
    s = natsMsg_AckSync(msg->nm, &o, &jerr);
    if (s != NATS_OK) {
        return sw_bus_fail(s, jerr, "cannot ack message %llu on %s",
                           (unsigned long long)msg->stream_seq, sw_msg_subject(msg));
    }
    return 0;
}

int sw_msg_in_progress(sw_msg *msg)
{
    int rc = ackable(msg, "mark in progress");
    natsStatus s;
    if (rc <= 0) {
        return rc;
    }
    s = natsMsg_InProgress(msg->nm, NULL);
    if (s != NATS_OK) {
        return sw_bus_fail(s, 0, "cannot mark message %llu on %s in progress",
                           (unsigned long long)msg->stream_seq, sw_msg_subject(msg));
    }
    return 0;
}

int sw_msg_nak(sw_msg *msg, int64_t delay_ms)
{
    int rc = ackable(msg, "nak");
    natsStatus s;
    if (rc <= 0) {
        return rc;
    }
    if (delay_ms > 0) {
        s = natsMsg_NakWithDelay(msg->nm, delay_ms, NULL);
    } else {
        s = natsMsg_Nak(msg->nm, NULL);
    }
    if (s != NATS_OK) {
        return sw_bus_fail(s, 0, "cannot nak message %llu on %s",
                           (unsigned long long)msg->stream_seq, sw_msg_subject(msg));
    }
    return 0;
}

int sw_msg_term(sw_msg *msg)
{
    int rc = ackable(msg, "terminate");
    natsStatus s;
    if (rc <= 0) {
        return rc;
    }
    s = natsMsg_Term(msg->nm, NULL);
    if (s != NATS_OK) {
        return sw_bus_fail(s, 0, "cannot terminate message %llu on %s",
                           (unsigned long long)msg->stream_seq, sw_msg_subject(msg));
    }
    return 0;
}

sw_msg *sw_msg_retain(sw_msg *msg)
{
    if (msg != NULL) {
        atomic_fetch_add(&msg->refs, 1);
    }
    return msg;
}

void sw_msg_release(sw_msg **msg_p)
{
    sw_msg *msg = msg_p != NULL ? *msg_p : NULL;
    if (msg == NULL) {
        return;
    }
    *msg_p = NULL;
    if (atomic_fetch_sub(&msg->refs, 1) != 1) {
        return;
    }
    natsMsg_Destroy(msg->nm);
    if (msg->owner != NULL) {
        sw_puller_core_msg_done(msg->owner);
    }
    free(msg);
}
