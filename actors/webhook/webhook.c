/*
 * webhook.c - the webhook actor (see webhook.h).
 *
 * The HTTP threads (intake.c) do what needs no state: routing, limits,
 * signatures, normalization. Everything with state happens here, on the
 * actor's thread: the delivery record, the publish and its ack, the answer.
 * The publish is asynchronous (bus publisher); its ack comes back as mail, so
 * the handler never waits on the network. The tick answers 503 to deliveries
 * whose ack did not come in time and prunes old delivery ids.
 */
#include "actors/webhook/webhook.h"

#include "actors/actors.h"
#include "actors/webhook/deliveries.h"
#include "actors/webhook/intake.h"
#include "actors/webhook/quotas.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAIL_DELIVERY = 1, MAIL_ACK, MAIL_QUOTA };

#define PRUNE_EVERY_MS (10 * 60 * 1000)
#define PRUNE_BATCH 10000

typedef struct pending {
    sw_delivery *d;
    int64_t deadline_ms;
    char build_id[13];
    struct pending *next;
} pending;

typedef struct webhook {
    sw_actor *self;
    const sw_config *cfg;
    sw_intake *intake;
    sw_deliveries *record;
    sw_publisher *pub;
    pending *pending;
    sw_quotas *quotas; /* max_queued, as the scheduler last said */
    int64_t next_prune_ms;
    /* an episode of a full REQUESTS: from the first refusal to the next accept */
    bool full;
    int64_t full_since_ms;  /* monotonic */
    uint64_t full_refused;  /* deliveries refused in this episode */
} webhook;

/* Mail from an HTTP thread. handled tells the mail's free function whether
 * the actor saw it: a delivery dropped by a stopping actor gets 503 there. */
typedef struct delivery_mail {
    sw_delivery *d;
    bool handled;
} delivery_mail;

typedef struct ack_mail {
    char *msg_id;
    int error;
    char *why;
    bool duplicate;
} ack_mail;

static void free_delivery_mail(void *p)
{
    delivery_mail *m = p;
    if (!m->handled) {
        char *json = sw_delivery_json("error", "error",
                                    "the gateway is shutting down; send the delivery again", NULL);
        sw_delivery_answer(m->d, 503, json);
        free(json);
    }
    sw_delivery_unref(m->d);
    free(m);
}

static void free_ack_mail(void *p)
{
    ack_mail *m = p;
    free(m->msg_id);
    free(m->why);
    free(m);
}

/* On an HTTP thread. */
static void on_delivery(void *closure, sw_delivery *d)
{
    webhook *w = closure;
    delivery_mail *m = sw_calloc(1, sizeof(*m));
    m->d = d;
    sw_actor_post(w->self, MAIL_DELIVERY, m, free_delivery_mail);
}

/* On a bus thread. */
static void on_ack(void *closure, const char *msg_id, int error, const char *why, bool duplicate)
{
    webhook *w = closure;
    ack_mail *m = sw_calloc(1, sizeof(*m));
    m->msg_id = sw_strdup(msg_id);
    m->error = error;
    m->why = why ? sw_strdup(why) : NULL;
    m->duplicate = duplicate;
    sw_actor_post(w->self, MAIL_ACK, m, free_ack_mail);
}

static void answer(sw_delivery *d, int status, const char *json)
{
    sw_delivery_answer(d, status, json);
}

/* msg goes to the forge: no internal detail in it; detail (NULL: none) goes
 * to the log only. */
static void answer_error_detail(webhook *w, sw_delivery *d, int status, const char *msg,
                                const char *detail)
{
    if (status == 503) {
        sw_intake_count(w->intake, SW_INTAKE_UNAVAILABLE);
    }
    sw_info(sw_actor_name(w->self), "%s %s: %d: %s%s%s", d->project->name, d->request_id, status,
            msg, detail ? ": " : "", detail ? detail : "");
    char *json = sw_delivery_json("error", "error", msg, "request_id", d->request_id, NULL);
    answer(d, status, json);
    free(json);
}

static void answer_error(webhook *w, sw_delivery *d, int status, const char *msg)
{
    answer_error_detail(w, d, status, msg, NULL);
}

/* 503 for a delivery REQUESTS had no room for: nothing was stored, nothing
 * remembered, so the forge's next try is a new delivery to us. Logged once per
 * episode at warn (and per delivery at info), counted for /metrics. */
static void answer_full(webhook *w, sw_delivery *d, const char *why)
{
    unsigned after = (unsigned)((w->cfg->webhook_full_retry_after_ms + 999) / 1000);
    char after_s[16], msg[512];

    sw_intake_count(w->intake, SW_INTAKE_QUEUE_FULL);
    if (!w->full) {
        w->full = true;
        w->full_since_ms = sw_clock_mono_ms();
        w->full_refused = 0;
        sw_warn(sw_actor_name(w->self),
                "the build request queue (stream %s) is full: refusing deliveries with 503, "
                "Retry-After %u s, until it has room (%s)",
                SW_STREAM_REQUESTS, after, why);
    }
    w->full_refused++;
    snprintf(after_s, sizeof(after_s), "%u", after);
    snprintf(msg, sizeof(msg),
             "the build queue is full; the delivery was not taken: send it again in %u s", after);
    sw_info(sw_actor_name(w->self), "%s %s: 503: queue full (%s)", d->project->name,
            d->request_id, why);
    char *json = sw_delivery_json("error", "reason", "queue_full", "error", msg, "request_id",
                                  d->request_id, "retry_after", after_s, NULL);
    sw_delivery_answer_retry(d, 503, json, after);
    free(json);
}

/* 429 for a delivery of a tenant that has its plan's max_queued builds
 * waiting: nothing stored, nothing remembered, so the forge's retry (after
 * Retry-After, full_retry_after) is taken as new. */
static void answer_over_quota(webhook *w, sw_delivery *d, uint32_t queued, uint32_t max)
{
    unsigned after = (unsigned)((w->cfg->webhook_full_retry_after_ms + 999) / 1000);
    char after_s[16], msg[512];

    sw_intake_count(w->intake, SW_INTAKE_OVER_QUOTA);
    snprintf(after_s, sizeof(after_s), "%u", after);
    snprintf(msg, sizeof(msg),
             "tenant %s has %u builds waiting, its plan's max_queued is %u; the delivery was "
             "not taken: send it again in %u s",
             d->project->tenant, queued, max, after);
    sw_info(sw_actor_name(w->self), "%s %s: 429: over quota (%u of %u waiting)",
            d->project->name, d->request_id, queued, max);
    char *json = sw_delivery_json("error", "reason", "over_quota", "error", msg, "request_id",
                                  d->request_id, "retry_after", after_s, NULL);
    sw_delivery_answer_retry(d, 429, json, after);
    free(json);
}

static void answer_accepted(webhook *w, sw_delivery *d, const char *build_id, bool duplicate)
{
    char ms[32];
    sw_intake_count(w->intake, duplicate ? SW_INTAKE_DUPLICATE : SW_INTAKE_ACCEPTED);
    snprintf(ms, sizeof(ms), "%lld", (long long)(sw_clock_mono_ms() - d->received_ms));
    sw_info(sw_actor_name(w->self), "%s %s: 202 %s build %s (%s ms)", d->project->name,
            d->request_id, duplicate ? "duplicate of" : "accepted as", build_id, ms);
    char *json = sw_delivery_json(duplicate ? "duplicate" : "accepted", "request_id", d->request_id,
                                "build", build_id, "project", d->project->name,
                                duplicate ? "message" : NULL,
                                "this delivery was accepted before: no new build", NULL);
    answer(d, 202, json);
    free(json);
}

static int publish(webhook *w, sw_delivery *d)
{
    const sw_hook_event *ev = &d->event;
    Slipway__BuildRequest br = SLIPWAY__BUILD_REQUEST__INIT;
    char subject[160];
    size_t len;
    int error;

    br.request_id = d->request_id;
    br.tenant = d->project->tenant;
    br.project = d->project->name;
    br.forge = (char *)d->route;
    br.delivery_id = d->delivery_id;
    /* clone_url stays empty: builders fetch the project's configured repository,
     * never a URL a payload names. */
    br.repository = ev->repository ? ev->repository : "";
    br.ref = ev->ref ? ev->ref : "";
    br.sha = ev->sha ? ev->sha : "";
    br.branch = ev->branch ? ev->branch : "";
    br.tag = ev->tag ? ev->tag : "";
    br.pr_number = ev->pr_number;
    br.author = ev->author ? ev->author : (ev->pusher ? ev->pusher : "");
    br.message = ev->message ? ev->message : (ev->title ? ev->title : "");
    br.requested_at_ms = sw_clock_wall_ms();
    void *data = sw_wire_pack(&br.base, &len);
    sw_subject(subject, sizeof(subject), "sw.req", d->project->tenant, NULL);
    error = sw_publisher_send(w->pub, subject, data, len, d->request_id);
    free(data);
    return error;
}

static void on_delivery_mail(webhook *w, delivery_mail *m)
{
    sw_delivery *d = m->d;
    char build_id[13];
    int seen;

    m->handled = true;
    sw_wire_build_id(build_id, d->project->tenant, d->request_id);
    seen = sw_deliveries_seen(w->record, d->request_id, NULL);
    if (seen < 0) {
        sw_warn(sw_actor_name(w->self), "%s", sw_error_last());
        answer_error(w, d, 500, "the gateway cannot read its delivery record; see its log");
        return;
    }
    if (seen == 1) {
        answer_accepted(w, d, build_id, true);
        return;
    }
    uint32_t queued = 0, max = 0;
    if (sw_quotas_over(w->quotas, d->project->tenant, sw_clock_mono_ms(), &queued, &max)) {
        answer_over_quota(w, d, queued, max);
        return;
    }
    if (publish(w, d) < 0) {
        answer_error_detail(w, d, 503,
                            "the build queue cannot be reached now; the delivery was not taken, "
                            "send it again",
                            sw_error_last());
        return;
    }
    pending *p = sw_calloc(1, sizeof(*p));
    p->d = sw_delivery_ref(d);
    p->deadline_ms = sw_clock_mono_ms() + (int64_t)w->cfg->webhook_publish_timeout_ms;
    memcpy(p->build_id, build_id, sizeof(build_id));
    p->next = w->pending;
    w->pending = p;
    sw_actor_wake(w->self);
}

static void on_ack_mail(webhook *w, const ack_mail *m)
{
    pending **pp = &w->pending, *found = NULL;
    /* the oldest delivery with this id: the list is newest first */
    for (; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->d->request_id, m->msg_id) == 0) {
            found = *pp;
        }
    }
    if (found == NULL) {
        sw_debug(sw_actor_name(w->self), "late ack for %s ignored", m->msg_id);
        return;
    }
    for (pp = &w->pending; *pp != found; pp = &(*pp)->next) {
    }
    *pp = found->next;
    if (m->error == SW_EFULL) {
        answer_full(w, found->d, m->why ? m->why : "the stream is at its bound");
    } else if (m->error < 0) {
        answer_error_detail(w, found->d, 503,
                            "the build queue refused the build request; send it again",
                            m->why ? m->why : "no reason given");
    } else {
        if (w->full && !m->duplicate) {
            w->full = false;
            sw_info(sw_actor_name(w->self),
                    "the build request queue has room again: %llu deliveries were refused in "
                    "the %lld s it was full",
                    (unsigned long long)w->full_refused,
                    (long long)((sw_clock_mono_ms() - w->full_since_ms) / 1000));
        }
        if (sw_deliveries_remember(w->record, found->d->request_id, sw_clock_wall_ms()) < 0) {
            /* The request is stored; the scheduler's own de-duplication by
             * request id still keeps a redelivery to one build. */
            sw_warn(sw_actor_name(w->self), "%s", sw_error_last());
        }
        if (!m->duplicate) {
            sw_quotas_accepted(w->quotas, found->d->project->tenant);
        }
        answer_accepted(w, found->d, found->build_id, m->duplicate);
    }
    sw_delivery_unref(found->d);
    free(found);
}

static void handle(sw_actor *self, void *state, const sw_mail *mail)
{
    webhook *w = state;
    (void)self;
    switch (mail->tag) {
    case MAIL_DELIVERY:
        on_delivery_mail(w, mail->payload);
        break;
    case MAIL_ACK:
        on_ack_mail(w, mail->payload);
        break;
    case MAIL_QUOTA: {
        const Slipway__Quota *q = (const Slipway__Quota *)mail->pb;
        sw_quotas_note(w->quotas, q->tenant, q->queued, q->max_queued, sw_clock_mono_ms());
        break;
    }
    default:
        break;
    }
}

static int64_t tick(sw_actor *self, void *state)
{
    webhook *w = state;
    int64_t now = sw_clock_mono_ms(), next = now + PRUNE_EVERY_MS;
    pending **pp = &w->pending;

    while (*pp != NULL) {
        pending *p = *pp;
        if (p->deadline_ms <= now) {
            char detail[128];
            *pp = p->next;
            snprintf(detail, sizeof(detail), "no JetStream ack within %llu ms",
                     (unsigned long long)w->cfg->webhook_publish_timeout_ms);
            answer_error_detail(w, p->d, 503,
                                "the build queue did not answer in time; send the delivery again",
                                detail);
            sw_delivery_unref(p->d);
            free(p);
            continue;
        }
        if (p->deadline_ms < next) {
            next = p->deadline_ms;
        }
        pp = &p->next;
    }
    if (w->pending == NULL && sw_publisher_pending(w->pub) > 0) {
        sw_publisher_forget(w->pub); /* acks no one waits for any more */
    }
    if (now >= w->next_prune_ms) {
        int64_t before = sw_clock_wall_ms() - (int64_t)w->cfg->webhook_remember_ms;
        int n = sw_deliveries_prune(w->record, before, PRUNE_BATCH);
        if (n < 0) {
            sw_warn(sw_actor_name(self), "%s", sw_error_last());
        } else if (n > 0) {
            sw_info(sw_actor_name(self), "forgot %d delivery ids older than the retention", n);
        }
        w->next_prune_ms = now + (n == PRUNE_BATCH ? 1000 : PRUNE_EVERY_MS);
        if (w->next_prune_ms < next) {
            next = w->next_prune_ms;
        }
    }
    return next - now;
}

/* Says which forge projects will have their webhooks refused. */
static void warn_unsigned(webhook *w)
{
    for (size_t i = 0; i < w->cfg->nprojects; i++) {
        const sw_project *p = &w->cfg->projects[i];
        if (p->forge.type != SW_FORGE_NONE && p->forge.secret == NULL) {
            sw_warn(sw_actor_name(w->self),
                    "project %s has no forge.secret: its webhooks will be refused (401)",
                    p->name);
        }
    }
}

static int init(sw_actor *self, void **state_out, void *arg)
{
    const sw_actor_ctx *ctx = arg;
    webhook *w = sw_calloc(1, sizeof(*w));
    char *dir = sw_asprintf("%s/webhook", ctx->cfg->data_dir);
    int error;

    w->self = self;
    w->cfg = sw_config_retain(ctx->cfg);
    w->quotas = sw_quotas_create();
    if ((error = sw_actor_subscribe(self, MAIL_QUOTA, SW_QUOTA ".*", NULL,
                                    &slipway__quota__descriptor)) < 0 ||
        (error = sw_deliveries_open(&w->record, dir)) < 0 ||
        (error = sw_publisher_create(&w->pub, sw_actor_bus(self), on_ack, w)) < 0 ||
        (error = sw_intake_start(&w->intake, w->cfg, sw_actor_bus(self), on_delivery, w)) < 0) {
        sw_intake_stop(&w->intake);
        sw_publisher_destroy(&w->pub);
        sw_deliveries_close(&w->record);
        sw_config_release(&w->cfg);
        sw_quotas_destroy(&w->quotas);
        free(dir);
        free(w);
        return error;
    }
    free(dir);
    warn_unsigned(w);
    sw_info(sw_actor_name(self), "listening on http://%s/hooks/<forge>/<project>",
            w->cfg->webhook_listen);
    if (w->cfg->web_listen == NULL) {
        sw_info(sw_actor_name(self), "build pages (plain text) on http://%s/builds/<id>",
                w->cfg->webhook_listen);
    }
    *state_out = w;
    return 0;
}

static void stop(sw_actor *self, void *state)
{
    webhook *w = state;
    (void)self;
    while (w->pending != NULL) {
        pending *p = w->pending;
        w->pending = p->next;
        answer_error(w, p->d, 503, "the gateway is shutting down; send the delivery again");
        sw_delivery_unref(p->d);
        free(p);
    }
    sw_intake_stop(&w->intake);
    sw_publisher_destroy(&w->pub);
    sw_deliveries_close(&w->record);
    sw_config_release(&w->cfg);
    sw_quotas_destroy(&w->quotas);
    free(w);
}

/* slipway.yaml was reloaded: projects and their secrets, the body limit and
 * the timeouts apply to requests that begin from now on (the listen address
 * is kept: runtime/reload.h); a delivery in flight keeps the config its
 * request began with (its project is in it). */
static int reconfigure(sw_actor *self, void *state, const sw_config *cfg)
{
    webhook *w = state;
    (void)self;
    sw_intake_reconfigure(w->intake, cfg);
    sw_config_release(&w->cfg);
    w->cfg = sw_config_retain(cfg);
    warn_unsigned(w);
    return 0;
}

const sw_actor_impl sw_webhook_impl = {
    .kind = "webhook",
    .init = init,
    .handle = handle,
    .tick = tick,
    .stop = stop,
    .reconfigure = reconfigure,
};
