/* actor.c - the actor host (see actor.h). */
#include "runtime/actor.h"
#include "runtime/core/mem.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A reconfigure on its way: shared by the mail and the thread that waits for
 * it (sw_actor_reconfigure), each holding a reference. */
typedef struct reconf {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    bool done;
    int result;
    char msg[512];
    const sw_config *cfg; /* retained until the mail is handled or dropped */
} reconf;

typedef struct mail_item {
    struct mail_item *next;
    sw_mail mail;
    void (*payload_free)(void *);
    const ProtobufCMessageDescriptor *type;
    bool stop;
    reconf *reconf;
} mail_item;

/* One subscription, follow or puller; its closure routes bus messages to mail. */
typedef struct source {
    struct source *next;
    sw_actor *actor;
    int tag;
    const ProtobufCMessageDescriptor *type;
    sw_sub *sub;
    sw_puller *puller;
} source;

struct sw_actor {
    const sw_actor_impl *impl;
    char *name;
    sw_bus *bus;
    void *arg;
    void *state;
    pthread_t thread;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    mail_item *head, *tail;
    bool woken;
    int init_done; /* 0 running, 1 ok, -1 failed */
    int init_error;
    char init_msg[512];

    pthread_mutex_t src_lock;
    source *sources;
};

static void enqueue(sw_actor *actor, mail_item *item)
{
    pthread_mutex_lock(&actor->lock);
    if (actor->tail) {
        actor->tail->next = item;
    } else {
        actor->head = item;
    }
    actor->tail = item;
    pthread_cond_signal(&actor->cond);
    pthread_mutex_unlock(&actor->lock);
}

static void reconf_unref(reconf *rc)
{
    pthread_mutex_lock(&rc->lock);
    int left = --rc->refs;
    pthread_mutex_unlock(&rc->lock);
    if (left == 0) {
        sw_config_release(&rc->cfg);
        pthread_mutex_destroy(&rc->lock);
        pthread_cond_destroy(&rc->cond);
        free(rc);
    }
}

/* The reconfigure's outcome, for the thread that waits for it. */
static void reconf_done(reconf *rc, int result, const char *msg)
{
    pthread_mutex_lock(&rc->lock);
    if (!rc->done) {
        rc->done = true;
        rc->result = result;
        snprintf(rc->msg, sizeof(rc->msg), "%s", msg);
    }
    pthread_cond_broadcast(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
}

static void item_free(mail_item *item)
{
    if (item->reconf) {
        reconf_done(item->reconf, SW_ESTOPPED, "the actor stopped first");
        sw_config_release(&item->reconf->cfg);
        reconf_unref(item->reconf);
    }
    if (item->mail.pb) {
        protobuf_c_message_free_unpacked(item->mail.pb, NULL);
    }
    sw_msg_release(&item->mail.msg);
    if (item->payload_free && item->mail.payload) {
        item->payload_free(item->mail.payload);
    }
    free(item);
}

static void on_bus_msg(sw_msg *msg, void *closure)
{
    source *src = closure;
    mail_item *item = sw_calloc(1, sizeof(*item));
    item->mail.tag = src->tag;
    item->mail.msg = msg;
    item->type = src->type;
    enqueue(src->actor, item);
}

static void handle_item(sw_actor *actor, mail_item *item)
{
    if (item->reconf != NULL) {
        int result = 0;
        sw_error_clear();
        if (actor->impl->reconfigure != NULL) {
            result = actor->impl->reconfigure(actor, actor->state, item->reconf->cfg);
        }
        reconf_done(item->reconf, result, result < 0 ? sw_error_last() : "");
        return;
    }
    if (item->type != NULL && item->mail.msg != NULL) {
        item->mail.pb = protobuf_c_message_unpack(item->type, NULL, sw_msg_len(item->mail.msg),
                                                  sw_msg_data(item->mail.msg));
        if (item->mail.pb == NULL) {
            sw_warn(actor->name, "dropping a message on %s: it is not a valid %s (%zu bytes)",
                    sw_msg_subject(item->mail.msg), item->type->name, sw_msg_len(item->mail.msg));
            if (sw_msg_stream_seq(item->mail.msg) != 0) {
                sw_msg_term(item->mail.msg);
            }
            return;
        }
    }
    actor->impl->handle(actor, actor->state, &item->mail);
}

static void *actor_main(void *arg)
{
    sw_actor *actor = arg;
    int64_t next_tick = 0;
    int error;
    char thread_name[16]; /* the kernel keeps 15 characters: top -H and perf show them */

    snprintf(thread_name, sizeof(thread_name), "%s", actor->name);
    pthread_setname_np(pthread_self(), thread_name);

    sw_error_clear();
    error = actor->impl->init(actor, &actor->state, actor->arg);
    pthread_mutex_lock(&actor->lock);
    actor->init_done = error == 0 ? 1 : -1;
    actor->init_error = error;
    snprintf(actor->init_msg, sizeof(actor->init_msg), "%s", sw_error_last());
    pthread_cond_broadcast(&actor->cond);
    pthread_mutex_unlock(&actor->lock);
    if (error != 0) {
        return NULL;
    }

    for (;;) {
        mail_item *item = NULL;
        bool tick_due = false;

        pthread_mutex_lock(&actor->lock);
        while (actor->head == NULL && !actor->woken) {
            if (actor->impl->tick == NULL || next_tick < 0) {
                pthread_cond_wait(&actor->cond, &actor->lock);
                continue;
            }
            int64_t wait_ms = next_tick - sw_clock_mono_ms();
            if (wait_ms <= 0) {
                break;
            }
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (wait_ms % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&actor->cond, &actor->lock, &ts);
        }
        if (actor->head != NULL) {
            item = actor->head;
            actor->head = item->next;
            if (actor->head == NULL) {
                actor->tail = NULL;
            }
        }
        if (actor->woken || (actor->impl->tick && next_tick >= 0 &&
                             sw_clock_mono_ms() >= next_tick)) {
            tick_due = true;
            actor->woken = false;
        }
        pthread_mutex_unlock(&actor->lock);

        if (item != NULL) {
            if (item->stop) {
                free(item);
                break;
            }
            handle_item(actor, item);
            item_free(item);
            if (actor->impl->idle != NULL) {
                pthread_mutex_lock(&actor->lock);
                bool empty = actor->head == NULL;
                pthread_mutex_unlock(&actor->lock);
                if (empty) {
                    actor->impl->idle(actor, actor->state);
                }
            }
        }
        if (tick_due && actor->impl->tick) {
            int64_t ms = actor->impl->tick(actor, actor->state);
            next_tick = ms < 0 ? -1 : sw_clock_mono_ms() + ms;
        }
    }
    if (actor->impl->stop) {
        actor->impl->stop(actor, actor->state);
    }
    actor->state = NULL;
    return NULL;
}

int sw_actor_start(sw_actor **out, const sw_actor_impl *impl, const char *name, sw_bus *bus,
                   void *arg)
{
    sw_actor *actor = sw_calloc(1, sizeof(*actor));
    pthread_condattr_t attr;
    int error;

    actor->impl = impl;
    actor->name = strdup(name ? name : impl->kind);
    actor->bus = bus;
    actor->arg = arg;
    pthread_mutex_init(&actor->lock, NULL);
    pthread_mutex_init(&actor->src_lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&actor->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (actor->name == NULL) {
        abort();
    }
    if (pthread_create(&actor->thread, NULL, actor_main, actor) != 0) {
        error = sw_error_set(SW_ERROR, "%s: cannot start a thread", actor->name);
        goto fail;
    }
    pthread_mutex_lock(&actor->lock);
    while (actor->init_done == 0) {
        pthread_cond_wait(&actor->cond, &actor->lock);
    }
    pthread_mutex_unlock(&actor->lock);
    if (actor->init_done < 0) {
        pthread_join(actor->thread, NULL);
        error = sw_error_set(actor->init_error, "%s: %s", actor->name, actor->init_msg);
        goto fail;
    }
    *out = actor;
    return 0;

fail:
    {
        sw_actor *tmp = actor;
        /* the thread never ran or has exited: only sources made by init remain */
        while (tmp->sources) {
            source *s = tmp->sources;
            tmp->sources = s->next;
            sw_sub_destroy(&s->sub);
            sw_puller_destroy(&s->puller);
            free(s);
        }
        while (tmp->head) {
            mail_item *item = tmp->head;
            tmp->head = item->next;
            item_free(item);
        }
        pthread_mutex_destroy(&tmp->lock);
        pthread_mutex_destroy(&tmp->src_lock);
        pthread_cond_destroy(&tmp->cond);
        free(tmp->name);
        free(tmp);
    }
    return error;
}

void sw_actor_quiesce(sw_actor *actor)
{
    if (actor == NULL) {
        return;
    }
    pthread_mutex_lock(&actor->src_lock);
    for (source *s = actor->sources; s != NULL; s = s->next) {
        sw_puller_stop(s->puller);
    }
    pthread_mutex_unlock(&actor->src_lock);
}

void sw_actor_destroy(sw_actor **actor_p)
{
    sw_actor *actor;
    if (actor_p == NULL || (actor = *actor_p) == NULL) {
        return;
    }
    /* no new mail from the bus once this loop is done */
    pthread_mutex_lock(&actor->src_lock);
    source *sources = actor->sources;
    actor->sources = NULL;
    pthread_mutex_unlock(&actor->src_lock);
    while (sources) {
        source *s = sources;
        sources = s->next;
        sw_sub_destroy(&s->sub);
        sw_puller_destroy(&s->puller);
        free(s);
    }
    mail_item *stop = sw_calloc(1, sizeof(*stop));
    stop->stop = true;
    enqueue(actor, stop);
    pthread_join(actor->thread, NULL);
    while (actor->head) {
        mail_item *item = actor->head;
        actor->head = item->next;
        item_free(item);
    }
    pthread_mutex_destroy(&actor->lock);
    pthread_mutex_destroy(&actor->src_lock);
    pthread_cond_destroy(&actor->cond);
    free(actor->name);
    free(actor);
    *actor_p = NULL;
}

const char *sw_actor_name(const sw_actor *actor)
{
    return actor->name;
}

sw_bus *sw_actor_bus(const sw_actor *actor)
{
    return actor->bus;
}

static source *source_new(sw_actor *actor, int tag, const ProtobufCMessageDescriptor *type)
{
    source *src = sw_calloc(1, sizeof(*src));
    src->actor = actor;
    src->tag = tag;
    src->type = type;
    return src;
}

static void source_add(sw_actor *actor, source *src)
{
    pthread_mutex_lock(&actor->src_lock);
    src->next = actor->sources;
    actor->sources = src;
    pthread_mutex_unlock(&actor->src_lock);
}

int sw_actor_subscribe(sw_actor *actor, int tag, const char *subject, const char *queue,
                       const ProtobufCMessageDescriptor *type)
{
    source *src = source_new(actor, tag, type);
    int error = sw_bus_subscribe(&src->sub, actor->bus, subject, queue, on_bus_msg, src);
    if (error < 0) {
        free(src);
        return error;
    }
    source_add(actor, src);
    return 0;
}

int sw_actor_follow(sw_actor *actor, int tag, const char *stream, const char *filter,
                    uint64_t start_seq, const ProtobufCMessageDescriptor *type)
{
    source *src = source_new(actor, tag, type);
    int error = sw_bus_follow(&src->sub, actor->bus, stream, filter, start_seq, on_bus_msg, src);
    if (error < 0) {
        free(src);
        return error;
    }
    source_add(actor, src);
    return 0;
}

int sw_actor_pull(sw_actor *actor, int tag, const char *stream, const char *durable,
                  int max_inflight, const ProtobufCMessageDescriptor *type)
{
    source *src = source_new(actor, tag, type);
    int error = sw_puller_start(&src->puller, actor->bus, stream, durable, max_inflight,
                                on_bus_msg, src);
    if (error < 0) {
        free(src);
        return error;
    }
    source_add(actor, src);
    return 0;
}

/* Calls set(puller, value) on the actor's pulls with tag. */
static int pull_set(sw_actor *actor, int tag, void (*set)(sw_puller *, int), int value)
{
    int error = SW_ENOTFOUND;
    pthread_mutex_lock(&actor->src_lock);
    for (source *s = actor->sources; s != NULL; s = s->next) {
        if (s->puller != NULL && s->tag == tag) {
            set(s->puller, value);
            error = 0;
        }
    }
    pthread_mutex_unlock(&actor->src_lock);
    if (error < 0) {
        return sw_error_set(SW_ENOTFOUND, "%s: no pull with tag %d", actor->name, tag);
    }
    return 0;
}

int sw_actor_pull_limit(sw_actor *actor, int tag, int max_inflight)
{
    return pull_set(actor, tag, sw_puller_set_limit, max_inflight);
}

int sw_actor_pull_pace(sw_actor *actor, int tag, int pace_ms)
{
    return pull_set(actor, tag, sw_puller_set_pace, pace_ms);
}

void sw_actor_post(sw_actor *actor, int tag, void *payload, void (*payload_free)(void *))
{
    mail_item *item = sw_calloc(1, sizeof(*item));
    item->mail.tag = tag;
    item->mail.payload = payload;
    item->payload_free = payload_free;
    enqueue(actor, item);
}

int sw_actor_reconfigure(sw_actor *actor, const sw_config *cfg, int timeout_ms)
{
    reconf *rc = sw_calloc(1, sizeof(*rc));
    mail_item *item = sw_calloc(1, sizeof(*item));
    pthread_condattr_t attr;
    struct timespec until;
    int result;

    pthread_mutex_init(&rc->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&rc->cond, &attr);
    pthread_condattr_destroy(&attr);
    rc->refs = 2; /* the mail's and ours */
    rc->cfg = sw_config_retain(cfg);
    item->reconf = rc;
    enqueue(actor, item);

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&rc->lock);
    while (!rc->done && pthread_cond_timedwait(&rc->cond, &rc->lock, &until) != ETIMEDOUT) {
    }
    if (!rc->done) {
        result = sw_error_set(SW_ETIMEDOUT, "%s has not come to the new configuration in %d ms",
                              actor->name, timeout_ms);
    } else if ((result = rc->result) < 0) {
        sw_error_set(result, "%s", rc->msg);
    }
    pthread_mutex_unlock(&rc->lock);
    reconf_unref(rc);
    return result;
}

void sw_actor_wake(sw_actor *actor)
{
    pthread_mutex_lock(&actor->lock);
    actor->woken = true;
    pthread_cond_signal(&actor->cond);
    pthread_mutex_unlock(&actor->lock);
}
