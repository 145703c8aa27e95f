/*
 * sub.c - callback subscriptions: core NATS (sw_bus_subscribe) and ordered
 * JetStream consumers (sw_bus_follow), and their safe teardown.
 *
 * DESIGN
 * Each natsSubscription with a callback gets its own cnats dispatcher thread
 * (we never enable the global delivery pool), so callbacks of one sw_sub never
 * overlap and run on that thread.
 *
 * sw_sub_destroy must guarantee that no callback runs after it returns, but
 * natsSubscription_Unsubscribe only stops delivery: a callback may be running
 * right now, or be about to start with a message already dequeued. cnats calls
 * the subscription's "on complete" callback on the dispatcher thread once the
 * subscription is closed and the last message callback has returned. So the
 * sw_sub registers on_complete at creation, and destroy unsubscribes and then
 * waits (condition variable) until on_complete has run. The same happens when
 * the connection closes first: cnats closes every subscription and on_complete
 * runs then.
 *
 * Destroying a sw_sub from inside its own callback cannot wait for that callback
 * to return; a thread-local marks "inside the callback of sub X", and destroy
 * then returns without waiting (no further callback starts, since the
 * dispatcher calls on_complete next). The sw_sub is refcounted (the handle and
 * the pending on_complete) so that whichever comes last frees it.
 *
 * Unsubscribing an ordered consumer would also delete its JetStream consumer
 * with a request that waits for its answer: while the connection is down, or
 * while a cluster that lost a node settles, that is the whole request timeout
 * (5 s) per follow, and a slipwayd stopping four follows then missed its
 * supervisor's 20 s (test_cluster, after a kill -9 of the JOBS leader). So
 * destroy always lets go of the subscription without the delete
 * (natsSubscription_Destroy): interest goes at once, and the server drops the
 * ephemeral consumer itself a few seconds after nobody listens to it.
 *
 * cnats remakes an ordered consumer by itself (after a reconnect, missed
 * heartbeats or a gap in its delivery sequence) from the stream sequence after
 * the last message it received -- which is 0 while it has received none: a
 * follow started at start_seq > 1 that has seen nothing yet when its node dies
 * is remade from sequence 1 and would hand the callback the stream's whole
 * history again (cnats 3.4.1, js.c jsSub_resetOrderedConsumer; found by
 * test_cluster's follower test). So the sw_sub keeps the sequence it wants
 * next (start_seq, then the last message delivered + 1) and leaves out
 * anything before it: a follow resumes at the last delivered sequence + 1,
 * never earlier. (It is never later: messages cnats has received but not yet
 * handed over stay queued across a remake.) Where the filter is the stream's
 * only subject (EVENTS' sw.events.> for every actor) sequences come without
 * gaps, and a gap after the first message is logged as an error: it is a
 * message lost to the follow (none has been seen in tests; see README).
 */
#include "bus/internal.h"

#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sw_sub {
    atomic_int refs; /* the handle, and on_complete until it has run */
    natsSubscription *ns;
    sw_bus_msg_cb cb;
    void *closure;
    sw_msg_kind kind;
    char *subject;
    uint64_t next_seq; /* ordered: the stream sequence the follow wants next */
    uint64_t dropped;  /* ordered: messages before next_seq left out */
    bool whole_stream; /* ordered: the filter is the stream's one subject, so its
                        * sequences come without gaps */
    bool delivered;    /* ordered: a message has been handed to the callback */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool complete; /* on_complete ran: no callback runs any more */
};

static _Thread_local sw_sub *current_sub; /* the sub whose callback runs on this thread */

static void sub_unref(sw_sub *sub)
{
    if (atomic_fetch_sub(&sub->refs, 1) != 1) {
        return;
    }
    natsSubscription_Destroy(sub->ns);
    pthread_cond_destroy(&sub->cv);
    pthread_mutex_destroy(&sub->mu);
    free(sub->subject);
    free(sub);
}

static void on_msg(natsConnection *nc, natsSubscription *ns, natsMsg *nm, void *closure)
{
    sw_sub *sub = closure;
    sw_sub *outer = current_sub;
    sw_msg *msg = sw_msg_wrap(nm, sub->kind, NULL);
    (void)nc;
    (void)ns;
    if (sub->kind == SW_MSG_ORDERED) {
        /* callbacks of one natsSubscription never overlap: no lock needed */
        uint64_t seq = sw_msg_stream_seq(msg);
        if (seq < sub->next_seq) {
            /* delivered already, or before the start: a remade consumer's replay */
            if (sub->dropped++ == 0) {
                sw_warn("bus", "follow of %s: the remade ordered consumer went back to "
                        "sequence %llu; left out up to %llu", sub->subject,
                        (unsigned long long)seq, (unsigned long long)sub->next_seq - 1);
            }
            sw_msg_release(&msg);
            return;
        }
        if (sub->whole_stream && sub->delivered && seq > sub->next_seq) {
            sw_err("bus", "follow of %s: stream sequences %llu..%llu never came", sub->subject,
                     (unsigned long long)sub->next_seq, (unsigned long long)seq - 1);
        }
        sub->next_seq = seq + 1;
        sub->delivered = true;
    }
    current_sub = sub;
    sub->cb(msg, sub->closure);
    current_sub = outer;
}

static void on_complete(void *closure)
{
    sw_sub *sub = closure;
    pthread_mutex_lock(&sub->mu);
    sub->complete = true;
    pthread_cond_broadcast(&sub->cv);
    pthread_mutex_unlock(&sub->mu);
    sub_unref(sub);
}

static sw_sub *sub_new(const char *subject, sw_msg_kind kind, sw_bus_msg_cb cb, void *closure)
{
    sw_sub *sub = sw_calloc(1, sizeof(*sub));
    pthread_condattr_t ca;

    atomic_init(&sub->refs, 1);
    sub->cb = cb;
    sub->closure = closure;
    sub->kind = kind;
    sub->subject = sw_strdup(subject);
    pthread_mutex_init(&sub->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sub->cv, &ca);
    pthread_condattr_destroy(&ca);
    return sub;
}

/* Finishes set-up once sub->ns exists: on_complete and unlimited pending. On
 * failure the subscription is closed; the sw_sub is then leaked on purpose,
 * since a callback may still be using it and nothing will tell us when it ends. */
static int sub_arm(sw_sub *sub)
{
    natsStatus s;

    atomic_fetch_add(&sub->refs, 1); /* for on_complete */
    s = natsSubscription_SetOnCompleteCB(sub->ns, on_complete, sub);
    if (s == NATS_OK) {
        s = natsSubscription_SetPendingLimits(sub->ns, -1, -1);
        if (s != NATS_OK) {
            int code = sw_bus_fail(s, 0, "cannot lift pending limits on %s", sub->subject);
            sw_sub *handle = sub;
            sw_sub_destroy(&handle);
            return code;
        }
        return 0;
    }
    sw_bus_fail(s, 0, "cannot watch subscription on %s", sub->subject);
    natsSubscription_Unsubscribe(sub->ns);
    return sw_error_last_code();
}

int sw_bus_subscribe(sw_sub **out, sw_bus *bus, const char *subject, const char *queue,
                     sw_bus_msg_cb cb, void *closure)
{
    sw_sub *sub = sub_new(subject, SW_MSG_CORE, cb, closure);
    natsStatus s;
    int error = -1;

    *out = NULL;
    if (queue != NULL) {
        s = natsConnection_QueueSubscribe(&sub->ns, bus->nc, subject, queue, on_msg, sub);
    } else {
        s = natsConnection_Subscribe(&sub->ns, bus->nc, subject, on_msg, sub);
    }
    if (s != NATS_OK) {
        error = sw_bus_fail(s, 0, "cannot subscribe to %s", subject);
        sub_unref(sub);
        goto cleanup;
    }
    if ((error = sub_arm(sub)) < 0) {
        goto cleanup;
    }
    *out = sub;
    error = 0;

cleanup:
    return error;
}

/* True when filter is the only subject of stream (false when it cannot tell). */
static bool is_whole_stream(sw_bus *bus, const char *stream, const char *filter)
{
    jsStreamInfo *si = NULL;
    bool whole = false;

    if (js_GetStreamInfo(&si, bus->js, stream, NULL, NULL) == NATS_OK) {
        whole = si->Config->SubjectsLen == 1 && strcmp(si->Config->Subjects[0], filter) == 0;
    }
    jsStreamInfo_Destroy(si);
    return whole;
}

int sw_bus_follow(sw_sub **out, sw_bus *bus, const char *stream, const char *filter_subject,
                  uint64_t start_seq, sw_bus_msg_cb cb, void *closure)
{
    sw_sub *sub = NULL;
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsStatus s;
    int error = -1;

    *out = NULL;
    sub = sub_new(filter_subject, SW_MSG_ORDERED, cb, closure);
    sub->next_seq = start_seq > 1 ? start_seq : 1;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Ordered = true;
    if (start_seq > 1) {
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = start_seq;
    } else {
        so.Config.DeliverPolicy = js_DeliverAll;
    }
    sub->whole_stream = is_whole_stream(bus, stream, filter_subject);
    s = js_Subscribe(&sub->ns, bus->js, filter_subject, on_msg, sub, NULL, &so, &jerr);
    if (s != NATS_OK) {
        error = sw_bus_fail(s, jerr, "cannot follow %s on stream %s", filter_subject, stream);
        sub_unref(sub);
        goto cleanup;
    }
    if ((error = sub_arm(sub)) < 0) {
        goto cleanup;
    }
    *out = sub;
    error = 0;

cleanup:
    return error;
}

void sw_sub_destroy(sw_sub **sub_p)
{
    sw_sub *sub = sub_p != NULL ? *sub_p : NULL;
    natsStatus s;

    if (sub == NULL) {
        return;
    }
    *sub_p = NULL;
    if (sub->kind == SW_MSG_ORDERED) {
        /* unsubscribes without deleting the consumer (see DESIGN); on_complete follows */
        natsSubscription_Destroy(sub->ns);
        sub->ns = NULL;
    } else {
        s = natsSubscription_Unsubscribe(sub->ns);
        if (s != NATS_OK && s != NATS_CONNECTION_CLOSED && s != NATS_INVALID_SUBSCRIPTION) {
            sw_warn("bus", "unsubscribing from %s: %s", sub->subject, natsStatus_GetText(s));
        }
    }
    if (current_sub != sub) {
        pthread_mutex_lock(&sub->mu);
        while (!sub->complete) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += 5;
            if (pthread_cond_timedwait(&sub->cv, &sub->mu, &until) == ETIMEDOUT &&
                !sub->complete) {
                sw_warn("bus", "still waiting for the callback on %s to return", sub->subject);
            }
        }
        pthread_mutex_unlock(&sub->mu);
    }
    sub_unref(sub);
}
