/*
 * publisher.c - asynchronous JetStream publishing (see bus.h).
 *
 * One jsCtx per publisher, so its ack handler knows whose message it holds.
 * The publisher is reference counted: one reference for the handle and one
 * for every message cnats holds, because cnats may run the ack handler on its
 * own thread after the handle is gone. Every message leaves cnats exactly once,
 * through the ack handler or through js_PublishAsyncGetPendingList, and drops
 * its reference there; done is called under the lock and never after destroy.
 */
#include "bus/internal.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <limits.h>
#include <stdlib.h>

#define MAX_PENDING 4096

struct sw_publisher {
    pthread_mutex_t lock;
    sw_bus *bus;
    jsCtx *js;
    sw_publish_done_cb done;
    void *closure;
    size_t refs;     /* the handle + messages held by cnats */
    bool closed;
};

static void unref_locked(sw_publisher *pub, size_t n, bool *free_out)
{
    pub->refs -= n;
    *free_out = pub->refs == 0;
}

static void release(sw_publisher *pub, size_t n)
{
    bool free_it;
    pthread_mutex_lock(&pub->lock);
    unref_locked(pub, n, &free_it);
    pthread_mutex_unlock(&pub->lock);
    if (free_it) {
        pthread_mutex_destroy(&pub->lock);
        free(pub);
    }
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    sw_publisher *pub = closure;
    const char *id = NULL;
    (void)js;

    natsMsgHeader_Get(msg, "Nats-Msg-Id", &id);
    pthread_mutex_lock(&pub->lock);
    if (!pub->closed && id != NULL) {
        if (pa != NULL) {
            pub->done(pub->closure, id, 0, NULL, pa->Duplicate);
        } else {
            char why[256];
            natsStatus s = pae != NULL ? pae->Err : NATS_ERR;
            int code = sw_bus_code_text(s, pae != NULL ? pae->ErrCode : 0,
                                        pae != NULL ? pae->ErrText : NULL);
            snprintf(why, sizeof(why), "%s%s%s",
                     s == NATS_NO_RESPONDERS ? "no JetStream stream takes this subject"
                                             : natsStatus_GetText(s),
                     pae != NULL && pae->ErrText != NULL ? ": " : "",
                     pae != NULL && pae->ErrText != NULL ? pae->ErrText : "");
            /* SW_EFULL: a bounded stream refused it (try later) */
            pub->done(pub->closure, id, code < 0 ? code : SW_EBUS, why, false);
        }
    }
    /* no longer pending from the moment done has run (one lock for both, or
     * sw_publisher_pending could still count a message already answered) */
    bool free_it;
    unref_locked(pub, 1, &free_it);
    pthread_mutex_unlock(&pub->lock);
    natsMsg_Destroy(msg);
    if (free_it) {
        pthread_mutex_destroy(&pub->lock);
        free(pub);
    }
}

int sw_publisher_create(sw_publisher **out, sw_bus *bus, sw_publish_done_cb done, void *closure)
{
    sw_publisher *pub = sw_calloc(1, sizeof(*pub));
    jsOptions jo;
    natsStatus s;

    *out = NULL;
    pthread_mutex_init(&pub->lock, NULL);
    pub->bus = bus;
    pub->done = done;
    pub->closure = closure;
    pub->refs = 1;
    jsOptions_Init(&jo);
    jo.Wait = bus->request_timeout_ms;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = pub;
    jo.PublishAsync.MaxPending = MAX_PENDING;
    jo.PublishAsync.StallWait = 50;
    s = natsConnection_JetStream(&pub->js, bus->nc, &jo);
    if (s != NATS_OK) {
        pthread_mutex_destroy(&pub->lock);
        free(pub);
        return sw_bus_fail(s, 0, "cannot set up a JetStream publisher on %s", bus->url);
    }
    *out = pub;
    return 0;
}

int sw_publisher_send(sw_publisher *pub, const char *subject, const void *data, size_t len,
                      const char *msg_id)
{
    natsMsg *msg = NULL;
    jsPubOptions po;
    natsStatus s;

    if (len > INT_MAX || msg_id == NULL || msg_id[0] == '\0') {
        return sw_error_set(SW_EINVALID, "cannot publish on %s: %s", subject,
                            len > INT_MAX ? "message too large" : "no message id");
    }
    if (!sw_bus_connected(pub->bus)) {
        return sw_error_set(SW_EBUS, "cannot publish on %s to JetStream: not connected to NATS "
                            "at %s (reconnecting)", subject, pub->bus->url);
    }
    s = natsMsg_Create(&msg, subject, NULL, data, (int)len);
    if (s != NATS_OK) {
        return sw_bus_fail(s, 0, "cannot publish on %s", subject);
    }
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    pthread_mutex_lock(&pub->lock);
    pub->refs++;
    pthread_mutex_unlock(&pub->lock);
    s = js_PublishMsgAsync(pub->js, &msg, &po);
    if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        release(pub, 1);
        if (s == NATS_TIMEOUT) {
            return sw_error_set(SW_EBUS, "cannot publish on %s: %d messages already wait for "
                                "their acks", subject, MAX_PENDING);
        }
        return sw_bus_fail_as(SW_EBUS, s, 0, "cannot publish on %s to JetStream", subject);
    }
    return 0;
}

size_t sw_publisher_pending(sw_publisher *pub)
{
    size_t n;
    pthread_mutex_lock(&pub->lock);
    n = pub->refs - 1;
    pthread_mutex_unlock(&pub->lock);
    return n;
}

void sw_publisher_forget(sw_publisher *pub)
{
    natsMsgList list = {0};
    /* cnats 3.4.1 crashes here when nothing was ever published (no pending
     * map yet): ask only when something is pending. */
    if (sw_publisher_pending(pub) == 0 ||
        js_PublishAsyncGetPendingList(&list, pub->js) != NATS_OK) {
        return;
    }
    size_t n = (size_t)list.Count;
    natsMsgList_Destroy(&list);
    if (n > 0) {
        release(pub, n);
    }
}

void sw_publisher_destroy(sw_publisher **pub_p)
{
    sw_publisher *pub = pub_p != NULL ? *pub_p : NULL;
    if (pub == NULL) {
        return;
    }
    *pub_p = NULL;
    pthread_mutex_lock(&pub->lock);
    pub->closed = true;
    pthread_mutex_unlock(&pub->lock);
    sw_publisher_forget(pub);
    jsCtx_Destroy(pub->js);
    release(pub, 1);
}
