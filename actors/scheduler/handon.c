/* handon.c - requests on their way to CREATED and SCHED (see handon.h). */
#include "actors/scheduler/handon.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { AT_CREATED, AT_SCHED } stage;

typedef struct item {
    struct item *next;
    char build_id[64];
    sw_msg *request;      /* retained */
    stage at;             /* the publish waited for */
    void *created;        /* the CREATED event, packed (NULL: EVENTS had it) */
    size_t created_len;
    void *job;            /* the Job, packed */
    size_t job_len;
    char subject[160];    /* the job's SCHED subject */
    char created_subject[160]; /* CREATED's EVENTS subject */
    int64_t deadline_ms;  /* monotonic: of the publish waited for */
} item;

typedef struct ack {
    char *msg_id;
    int error;
    char *why;
} ack;

struct sw_handon {
    sw_actor *self;
    sw_handon_options opts;
    sw_handon_hooks hooks;
    sw_publisher *pub;
    item *items;
    size_t n;
};

static const char *who(const sw_handon *h)
{
    return sw_actor_name(h->self);
}

static void ack_free(void *p)
{
    ack *a = p;
    free(a->msg_id);
    free(a->why);
    free(a);
}

/* On a bus thread: the answer goes to the actor as mail. */
static void on_done(void *closure, const char *msg_id, int error, const char *why,
                    bool duplicate)
{
    sw_handon *h = closure;
    ack *a = sw_calloc(1, sizeof(*a));
    (void)duplicate; /* a duplicate is stored all the same */
    a->msg_id = sw_strdup(msg_id);
    a->error = error;
    a->why = why != NULL ? sw_strdup(why) : NULL;
    sw_actor_post(h->self, h->opts.ack_tag, a, ack_free);
}

int sw_handon_create(sw_handon **out, sw_actor *self, const sw_handon_options *opts,
                     const sw_handon_hooks *hooks)
{
    sw_handon *h = sw_calloc(1, sizeof(*h));
    int error;
    h->self = self;
    h->opts = *opts;
    h->hooks = *hooks;
    if ((error = sw_publisher_create(&h->pub, sw_actor_bus(self), on_done, h)) < 0) {
        free(h);
        return error;
    }
    *out = h;
    return 0;
}

static void item_free(item *it)
{
    sw_msg_release(&it->request);
    free(it->created);
    free(it->job);
    free(it);
}

/* Takes it off the list (it must be on it). */
static void unlink_item(sw_handon *h, item *it)
{
    item **pp = &h->items;
    while (*pp != it) {
        pp = &(*pp)->next;
    }
    *pp = it->next;
    h->n--;
    if (h->n == 0 && sw_publisher_pending(h->pub) > 0) {
        sw_publisher_forget(h->pub); /* acks no one waits for any more */
    }
}

/* The request comes again after delay_ms; the hand-on ends. */
static void give_back(sw_handon *h, item *it, int64_t delay_ms)
{
    unlink_item(h, it);
    sw_msg_nak(it->request, delay_ms);
    item_free(it);
}

void sw_handon_destroy(sw_handon **h_p)
{
    sw_handon *h = h_p != NULL ? *h_p : NULL;
    if (h == NULL) {
        return;
    }
    sw_publisher_destroy(&h->pub); /* on_done is not called after this */
    while (h->items != NULL) {
        item *it = h->items;
        h->items = it->next;
        sw_msg_nak(it->request, 0);
        item_free(it);
    }
    free(h);
    *h_p = NULL;
}

/* Sends what it waits for: CREATED, or the job. false: nothing could be sent
 * (the request was given back). */
static bool send(sw_handon *h, item *it)
{
    char msg_id[96];
    int error;
    if (it->at == AT_CREATED) {
        snprintf(msg_id, sizeof(msg_id), "%s.created", it->build_id);
        error = sw_publisher_send(h->pub, it->created_subject, it->created, it->created_len,
                                  msg_id);
    } else {
        snprintf(msg_id, sizeof(msg_id), "%s.sched", it->build_id);
        error = sw_publisher_send(h->pub, it->subject, it->job, it->job_len, msg_id);
    }
    if (error < 0) {
        sw_warn(who(h), "build %s: %s; its request comes again in 1 s", it->build_id,
                sw_error_last());
        give_back(h, it, 1000);
        return false;
    }
    it->deadline_ms = sw_clock_mono_ms() + h->opts.timeout_ms;
    return true;
}

static item *find(sw_handon *h, const char *build_id)
{
    for (item *it = h->items; it != NULL; it = it->next) {
        if (strcmp(it->build_id, build_id) == 0) {
            return it;
        }
    }
    return NULL;
}

void sw_handon_start(sw_handon *h, sw_msg *request, const char *build_id,
                     const Slipway__BuildEvent *ev, const Slipway__Job *job,
                     const char *sched_subject)
{
    item *it = find(h, build_id);
    if (it != NULL) {
        /* redelivered while on its way: this delivery is the one to answer */
        sw_msg_release(&it->request);
        it->request = sw_msg_retain(request);
        return;
    }
    it = sw_calloc(1, sizeof(*it));
    snprintf(it->build_id, sizeof(it->build_id), "%s", build_id);
    snprintf(it->subject, sizeof(it->subject), "%s", sched_subject);
    it->request = sw_msg_retain(request);
    it->job = sw_wire_pack(&job->base, &it->job_len);
    if (ev != NULL) {
        it->created = sw_wire_pack(&ev->base, &it->created_len);
        sw_subject(it->created_subject, sizeof(it->created_subject), "sw.events", ev->tenant,
                   build_id);
        it->at = AT_CREATED;
    } else {
        it->at = AT_SCHED;
    }
    it->next = h->items;
    h->items = it;
    h->n++;
    (void)send(h, it);
}

void sw_handon_on_ack(sw_handon *h, const sw_mail *mail)
{
    const ack *a = mail->payload;
    char build_id[64];
    const char *dot = strrchr(a->msg_id, '.');
    size_t len = dot != NULL ? (size_t)(dot - a->msg_id) : 0;
    stage at;
    item *it;

    if (dot == NULL || len >= sizeof(build_id)) {
        return;
    }
    memcpy(build_id, a->msg_id, len);
    build_id[len] = '\0';
    at = strcmp(dot + 1, "created") == 0 ? AT_CREATED : AT_SCHED;
    if ((it = find(h, build_id)) == NULL || it->at != at) {
        sw_debug(who(h), "late ack of %s ignored", a->msg_id);
        return;
    }
    if (at == AT_SCHED && h->hooks.sched != NULL) {
        h->hooks.sched(h->hooks.ctx, a->error, a->why);
    }
    if (a->error == SW_EFULL && at == AT_SCHED) {
        /* not lost, not acked: the request waits in REQUESTS (hooks.sched
         * logged the episode) */
        sw_debug(who(h), "build %s: SCHED full; its request comes again in %lld ms", build_id,
                 (long long)h->opts.full_retry_ms);
        give_back(h, it, h->opts.full_retry_ms);
        return;
    }
    if (a->error < 0) {
        sw_warn(who(h), "build %s: %s not stored: %s; its request comes again in 1 s", build_id,
                at == AT_CREATED ? "CREATED" : "its job", a->why ? a->why : "refused");
        give_back(h, it, 1000);
        return;
    }
    if (at == AT_CREATED) {
        Slipway__BuildEvent *ev =
            slipway__build_event__unpack(NULL, it->created_len, it->created);
        if (ev != NULL && h->hooks.created != NULL) {
            h->hooks.created(h->hooks.ctx, ev);
        }
        slipway__build_event__free_unpacked(ev, NULL);
        it->at = AT_SCHED;
        (void)send(h, it);
        return;
    }
    sw_debug(who(h), "build %s handed on to %s", build_id, it->subject);
    unlink_item(h, it);
    sw_msg_ack(it->request);
    item_free(it);
}

int64_t sw_handon_expire(sw_handon *h)
{
    int64_t now = sw_clock_mono_ms(), next = -1;
    for (item *it = h->items, *after; it != NULL; it = after) {
        after = it->next;
        if (now >= it->deadline_ms) {
            sw_warn(who(h), "build %s: no JetStream ack for its %s within %lld ms; its request "
                    "comes again in 1 s", it->build_id, it->at == AT_CREATED ? "CREATED" : "job",
                    (long long)h->opts.timeout_ms);
            give_back(h, it, 1000);
        } else if (next < 0 || it->deadline_ms - now < next) {
            next = it->deadline_ms - now;
        }
    }
    return next;
}

size_t sw_handon_pending(const sw_handon *h)
{
    return h->n;
}
