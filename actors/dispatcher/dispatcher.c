/* dispatcher.c - the dispatcher actor (see dispatcher.h). */
#include "actors/dispatcher/dispatcher.h"

#include "runtime/clock.h"
#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_JOB = 1 };

/* JOBS full: a job goes back to SCHED (nak) and comes again after this */
#define FULL_RETRY_MS 2000

typedef struct dispatcher {
    const sw_config *cfg;
    const char *tier;
    sw_actor *self;
    sw_bus *bus;
    unsigned turn;
    /* an episode of a full JOBS: from the first refusal to the next placement */
    bool jobs_full;
    int64_t full_since_ms;  /* monotonic */
    uint64_t full_refused;  /* placements refused in this episode */
} dispatcher;

const sw_cluster *sw_dispatcher_pick(const sw_config *cfg, const char *tier, const char *region,
                                     unsigned turn)
{
    size_t matching = 0;
    for (size_t i = 0; i < cfg->nclusters; i++) {
        if (strcmp(cfg->clusters[i].tier, tier) == 0 &&
            strcmp(cfg->clusters[i].region, region) == 0) {
            matching++;
        }
    }
    if (matching == 0) {
        return NULL;
    }
    size_t want = turn % matching;
    for (size_t i = 0; i < cfg->nclusters; i++) {
        if (strcmp(cfg->clusters[i].tier, tier) == 0 &&
            strcmp(cfg->clusters[i].region, region) == 0 && want-- == 0) {
            return &cfg->clusters[i];
        }
    }
    return NULL;
}

static int publish_event(dispatcher *d, Slipway__BuildEvent *ev, const char *suffix)
{
    char subject[160], msg_id[64];
    sw_subject(subject, sizeof(subject), "sw.events", ev->tenant, ev->build_id);
    snprintf(msg_id, sizeof(msg_id), "%s.%s", ev->build_id, suffix);
    return sw_wire_js_publish(d->bus, subject, &ev->base, msg_id, NULL);
}

/* Logs a full JOBS once per episode (warn at its start, info at its end). */
static void note_jobs_full(dispatcher *d, bool full)
{
    if (full && !d->jobs_full) {
        d->jobs_full = true;
        d->full_since_ms = sw_clock_mono_ms();
        d->full_refused = 0;
        sw_warn(sw_actor_name(d->self),
                "stream %s is full: jobs of tier %s wait in %s and are offered again every %d "
                "ms until it has room (%s)",
                SW_STREAM_JOBS, d->tier, SW_STREAM_SCHED, FULL_RETRY_MS, sw_error_last());
    } else if (!full && d->jobs_full) {
        d->jobs_full = false;
        sw_info(sw_actor_name(d->self),
                "stream %s has room again after %lld ms (%llu placements refused meanwhile)",
                SW_STREAM_JOBS, (long long)(sw_clock_mono_ms() - d->full_since_ms),
                (unsigned long long)d->full_refused);
    }
    if (full) {
        d->full_refused++;
    }
}

static void on_job(dispatcher *d, const sw_mail *mail)
{
    Slipway__Job *job = (Slipway__Job *)mail->pb;
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    const sw_cluster *cluster;
    char subject[160], msg_id[64], reason[256];

    ev.build_id = job->build_id;
    ev.tenant = job->tenant;
    ev.at_ms = sw_clock_wall_ms();
    cluster = sw_dispatcher_pick(d->cfg, d->tier, job->region, d->turn++);
    if (cluster == NULL) {
        snprintf(reason, sizeof(reason), "no build cluster of tier %s serves region %s", d->tier,
                 job->region);
        ev.kind = SLIPWAY__EVENT_KIND__FINISHED;
        ev.state = SLIPWAY__BUILD_STATE__ERRORED;
        ev.reason = reason;
        if (publish_event(d, &ev, "finished") < 0) {
            sw_warn(sw_actor_name(d->self), "build %s: %s; will retry", job->build_id,
                    sw_error_last());
            sw_msg_nak(mail->msg, 1000);
            return;
        }
        sw_warn(sw_actor_name(d->self), "build %s errored: %s", job->build_id, reason);
        sw_msg_ack(mail->msg);
        return;
    }

    char *unpacked_cluster = job->cluster; /* the runtime frees what it unpacked */
    job->cluster = (char *)cluster->name;
    sw_subject(subject, sizeof(subject), "sw.jobs", cluster->name, NULL);
    snprintf(msg_id, sizeof(msg_id), "%s.job", job->build_id);
    ev.kind = SLIPWAY__EVENT_KIND__PLACED;
    ev.state = SLIPWAY__BUILD_STATE__DISPATCHED;
    ev.cluster = (char *)cluster->name;
    int error = sw_wire_js_publish(d->bus, subject, &job->base, msg_id, NULL);
    job->cluster = unpacked_cluster;
    if (error == 0 || error == SW_EFULL) {
        note_jobs_full(d, error == SW_EFULL);
    }
    if (error == SW_EFULL) {
        /* not lost, not acked: the job stays in SCHED */
        sw_debug(sw_actor_name(d->self), "build %s: %s full; offered again in %d ms",
                 job->build_id, SW_STREAM_JOBS, FULL_RETRY_MS);
        d->turn--; /* the same cluster's turn next time */
        sw_msg_nak(mail->msg, FULL_RETRY_MS);
        return;
    }
    if (error < 0 || publish_event(d, &ev, "placed") < 0) {
        sw_warn(sw_actor_name(d->self), "build %s: %s; will retry", job->build_id,
                sw_error_last());
        sw_msg_nak(mail->msg, 1000);
        return;
    }
    sw_debug(sw_actor_name(d->self), "build %s placed on cluster %s", job->build_id,
             cluster->name);
    sw_msg_ack(mail->msg);
}

static int dispatcher_init(sw_actor *self, void **state_out, void *arg)
{
    const sw_actor_ctx *ctx = arg;
    dispatcher *d;
    char durable[96];
    int error;

    if (sw_config_tier(ctx->cfg, ctx->target) == NULL) {
        return sw_error_set(SW_ENOTFOUND, "no tier named '%s' in %s", ctx->target,
                            ctx->cfg->path);
    }
    d = sw_calloc(1, sizeof(*d));
    d->cfg = sw_config_retain(ctx->cfg);
    d->tier = ctx->target;
    d->self = self;
    d->bus = sw_actor_bus(self);
    *state_out = d;
    error = sw_actor_pull(self, TAG_JOB, SW_STREAM_SCHED,
                          sw_durable_dispatch(durable, sizeof(durable), d->tier), 8,
                          &slipway__job__descriptor);
    if (error < 0) {
        sw_config_release(&d->cfg);
        free(d);
        *state_out = NULL;
    }
    return error;
}

/* slipway.yaml was reloaded: the clusters of the new one take the next jobs.
 * A dispatcher whose tier is gone from it keeps placing the jobs already in
 * SCHED on the clusters it knew, until the next restart stops it. */
static int dispatcher_reconfigure(sw_actor *self, void *state, const sw_config *cfg)
{
    dispatcher *d = state;
    (void)self;
    if (sw_config_tier(cfg, d->tier) == NULL) {
        return sw_error_set(SW_ENOTFOUND,
                            "%s has no tier '%s' any more: its dispatcher keeps its clusters "
                            "until the next restart",
                            cfg->path, d->tier);
    }
    sw_config_release(&d->cfg);
    d->cfg = sw_config_retain(cfg);
    return 0;
}

static void dispatcher_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    if (mail->tag == TAG_JOB) {
        on_job(state, mail);
    }
}

static void dispatcher_stop(sw_actor *self, void *state)
{
    dispatcher *d = state;
    if (d != NULL) {
        sw_config_release(&d->cfg);
        free(d);
    }
}

const sw_actor_impl sw_dispatcher_impl = {
    .kind = "dispatcher",
    .init = dispatcher_init,
    .handle = dispatcher_handle,
    .stop = dispatcher_stop,
    .reconfigure = dispatcher_reconfigure,
};
