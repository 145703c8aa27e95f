/*
 * puller.c - a thread that pulls from an existing durable pull consumer and
 * hands each message to a callback, keeping at most max_inflight unreleased.
 *
 * DESIGN
 * One thread and one natsSubscription per puller (cnats refuses two concurrent
 * fetches on one subscription). The subscription binds to the durable
 * (jsSubOptions.Stream + Consumer), so cnats neither creates nor deletes the
 * consumer. The loop: wait until inflight < max_inflight (or stopping), Fetch
 * one message (batch 1 only: cnats 3.4.1 can overflow a heap buffer with more)
 * with a 500 ms timeout, count the slot, call the callback on this thread.
 * Timeouts are normal (and 3.4.1 may return a stale one at once); any other
 * error (disconnected, server restarting, consumer gone) waits 200 ms and tries
 * again, forever: the thread ends only when the puller is destroyed.
 *
 * The limit can change while the puller runs (sw_puller_set_limit; 0 pauses
 * it): the loop waits before its next fetch, and a message that arrives from
 * a fetch already under way when the limit was lowered is nak'ed at once (no
 * delay) for another puller, never handed out past the limit. That nak costs
 * the message one delivery, as any hand-back does. A pace (sw_puller_set_pace)
 * makes a busy puller wait before its next fetch: pace x inflight/max_inflight
 * ms, so its owner has that long to lower the limit before anything more is
 * fetched.
 *
 * A message's ack goes through the subscription that fetched it, and its
 * release gives a slot back, so the state shared with messages (the core) is
 * refcounted: the handle, the thread and each unreleased message hold a
 * reference; the last one unsubscribes nothing more and frees it.
 */
#include "bus/internal.h"

#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FETCH_TIMEOUT_MS 500
#define RETRY_WAIT_MS 200

struct sw_puller_core {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;     /* handle + thread + unreleased messages; under mu */
    int inflight; /* messages handed out and not released; under mu */
    int max_inflight; /* under mu; 0: paused */
    int pace_ms;      /* under mu; 0: none */
    bool stopping; /* under mu */
    natsSubscription *ns;
    sw_bus_msg_cb cb;
    void *closure;
    char *stream;
    char *durable;
    pthread_t thread;
};

struct sw_puller {
    sw_puller_core *core;
};

static void core_free(sw_puller_core *core)
{
    natsSubscription_Destroy(core->ns);
    pthread_cond_destroy(&core->cv);
    pthread_mutex_destroy(&core->mu);
    free(core->stream);
    free(core->durable);
    free(core);
}

/* Drops one reference; the caller holds core->mu, which this releases. */
static void core_unref_locked(sw_puller_core *core)
{
    bool last = --core->refs == 0;
    pthread_mutex_unlock(&core->mu);
    if (last) {
        core_free(core);
    }
}

void sw_puller_core_msg_done(sw_puller_core *core)
{
    pthread_mutex_lock(&core->mu);
    core->inflight--;
    pthread_cond_broadcast(&core->cv);
    core_unref_locked(core);
}

/* Waits up to ms unless stopping; returns false when stopping. Holds mu. */
static bool pause_locked(sw_puller_core *core, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!core->stopping) {
        if (pthread_cond_timedwait(&core->cv, &core->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    return !core->stopping;
}

/* Takes ownership of nm: hands it out, or naks it when the puller is stopping
 * or its limit was lowered while the fetch was under way. */
static void hand_out(sw_puller_core *core, natsMsg *nm)
{
    pthread_mutex_lock(&core->mu);
    if (core->stopping || core->inflight >= core->max_inflight) {
        bool stopping = core->stopping;
        pthread_mutex_unlock(&core->mu);
        if (!stopping) {
            sw_info("bus", "%s/%s: a message came after the limit was lowered: handed back",
                    core->stream, core->durable);
        }
        natsMsg_Nak(nm, NULL); /* let another puller have it now */
        natsMsg_Destroy(nm);
        return;
    }
    core->inflight++;
    core->refs++;
    pthread_mutex_unlock(&core->mu);
    core->cb(sw_msg_wrap(nm, SW_MSG_PULL, core), core->closure);
}

static void *pull_loop(void *arg)
{
    sw_puller_core *core = arg;
    bool failing = false;
    bool paused = false; /* limit 0 seen and said so */
    bool paced = false;  /* waited the pace before this fetch */

    for (;;) {
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus s;

        pthread_mutex_lock(&core->mu);
        if (!core->stopping && core->max_inflight == 0 && !paused) {
            /* no fetch is under way any more: nothing comes until the limit is raised */
            sw_info("bus", "%s/%s: pull paused", core->stream, core->durable);
            paused = true;
        }
        while (!core->stopping && core->inflight >= core->max_inflight) {
            pthread_cond_wait(&core->cv, &core->mu);
        }
        if (core->stopping) {
            pthread_mutex_unlock(&core->mu);
            break;
        }
        if (paused) {
            sw_info("bus", "%s/%s: pull resumed (limit %d)", core->stream, core->durable,
                    core->max_inflight);
            paused = false;
        }
        if (!paced && core->pace_ms > 0 && core->inflight > 0) {
            /* busy: wait a little before fetching more, then look at the limit again */
            bool go_on = pause_locked(core, core->pace_ms * core->inflight / core->max_inflight);
            pthread_mutex_unlock(&core->mu);
            paced = true;
            if (!go_on) {
                break;
            }
            continue;
        }
        paced = false;
        pthread_mutex_unlock(&core->mu);

        s = natsSubscription_Fetch(&list, core->ns, 1, FETCH_TIMEOUT_MS, &jerr);
        if (s == NATS_OK) {
            if (failing) {
                sw_info("bus", "pulling from %s/%s again", core->stream, core->durable);
                failing = false;
            }
            for (int i = 0; i < list.Count; i++) {
                natsMsg *nm = list.Msgs[i];
                list.Msgs[i] = NULL;
                hand_out(core, nm);
            }
            natsMsgList_Destroy(&list);
            continue;
        }
        natsMsgList_Destroy(&list);
        if (s == NATS_TIMEOUT) {
            continue;
        }
        if (!failing) {
            sw_warn("bus", "pulling from %s/%s: %s (%s); retrying every %d ms", core->stream,
                    core->durable, natsStatus_GetText(s), sw_bus_last_detail(), RETRY_WAIT_MS);
            failing = true;
        }
        pthread_mutex_lock(&core->mu);
        bool go_on = pause_locked(core, RETRY_WAIT_MS);
        pthread_mutex_unlock(&core->mu);
        if (!go_on) {
            break;
        }
    }
    /* Remove interest so no late answer to a pull request sits in the queue;
     * the subscription object lives on for the acks of unreleased messages. */
    natsSubscription_Unsubscribe(core->ns);
    pthread_mutex_lock(&core->mu);
    core_unref_locked(core);
    return NULL;
}

int sw_puller_start(sw_puller **out, sw_bus *bus, const char *stream, const char *durable,
                    int max_inflight, sw_bus_msg_cb cb, void *closure)
{
    sw_puller_core *core = NULL;
    sw_puller *puller = NULL;
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsStatus s;
    pthread_condattr_t ca;
    int error = -1;

    *out = NULL;
    if (max_inflight < 0) {
        return sw_error_set(SW_EINVALID, "puller on %s/%s: max_inflight must be at least 0",
                            stream, durable);
    }
    core = sw_calloc(1, sizeof(*core));
    pthread_mutex_init(&core->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&core->cv, &ca);
    pthread_condattr_destroy(&ca);
    core->refs = 1; /* the handle */
    core->max_inflight = max_inflight;
    core->cb = cb;
    core->closure = closure;
    core->stream = sw_strdup(stream);
    core->durable = sw_strdup(durable);

    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = durable;
    s = js_PullSubscribe(&core->ns, bus->js, NULL, durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        error = sw_bus_fail(s, jerr, "cannot pull from consumer %s on stream %s", durable,
                            stream);
        goto cleanup;
    }
    core->refs++; /* the thread */
    if (pthread_create(&core->thread, NULL, pull_loop, core) != 0) {
        core->refs--;
        error = sw_error_set(SW_ERROR, "cannot start the puller thread for %s/%s: %s", stream,
                             durable, strerror(errno));
        goto cleanup;
    }
    puller = sw_calloc(1, sizeof(*puller));
    puller->core = core;
    core = NULL;
    *out = puller;
    error = 0;

cleanup:
    if (core != NULL) {
        core_free(core);
    }
    return error;
}

void sw_puller_set_limit(sw_puller *puller, int max_inflight)
{
    pthread_mutex_lock(&puller->core->mu);
    puller->core->max_inflight = max_inflight < 0 ? 0 : max_inflight;
    pthread_cond_broadcast(&puller->core->cv);
    pthread_mutex_unlock(&puller->core->mu);
}

void sw_puller_set_pace(sw_puller *puller, int pace_ms)
{
    pthread_mutex_lock(&puller->core->mu);
    puller->core->pace_ms = pace_ms < 0 ? 0 : pace_ms;
    pthread_mutex_unlock(&puller->core->mu);
}

int sw_puller_inflight(sw_puller *puller)
{
    int n;
    pthread_mutex_lock(&puller->core->mu);
    n = puller->core->inflight;
    pthread_mutex_unlock(&puller->core->mu);
    return n;
}

void sw_puller_stop(sw_puller *puller)
{
    if (puller == NULL) {
        return;
    }
    pthread_mutex_lock(&puller->core->mu);
    puller->core->stopping = true;
    pthread_cond_broadcast(&puller->core->cv);
    pthread_mutex_unlock(&puller->core->mu);
}

void sw_puller_destroy(sw_puller **puller_p)
{
    sw_puller *puller = puller_p != NULL ? *puller_p : NULL;
    sw_puller_core *core;

    if (puller == NULL) {
        return;
    }
    *puller_p = NULL;
    core = puller->core;
    free(puller);

    pthread_mutex_lock(&core->mu);
    core->stopping = true;
    pthread_cond_broadcast(&core->cv);
    pthread_mutex_unlock(&core->mu);
    if (pthread_equal(pthread_self(), core->thread)) {
        /* Destroyed from its own callback: the loop ends when the callback returns. */
        pthread_detach(core->thread);
    } else {
        pthread_join(core->thread, NULL);
    }
    pthread_mutex_lock(&core->mu);
    core_unref_locked(core);
}
