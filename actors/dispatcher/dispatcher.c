/* dispatcher.c - the dispatcher actor (see dispatcher.h). */
#include "actors/dispatcher/dispatcher.h"

#include "actors/dispatcher/fairshare.h"
#include "actors/dispatcher/route.h"
#include "actors/dispatcher/routes.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_JOB = 1, TAG_EVENT };

/* JOBS full: a job goes back to SCHED (nak) and comes again after this */
#define FULL_RETRY_MS 2000
/* while jobs are held: how often cluster queues are looked at for room */
#define HOLD_TICK_MS 50
/* a held SCHED message is marked in progress this often (its ack_wait is 30 s) */
#define TOUCH_EVERY_MS 10000
/* placed jobs (for max_running) are looked up in JOBS this often */
#define RUNNING_CHECK_MS 250

/* A job held back from the cluster queues: its SCHED message stays unacked. */
typedef struct held {
    struct held *next;
    sw_msg *msg;        /* retained */
    Slipway__Job *job;  /* our own unpacked copy, its region the one routed to */
    int64_t touched_ms; /* monotonic: received or last marked in progress */
    char *why;          /* the route's reason, for PLACED */
} held;

/* A placed job still in JOBS (counted against its tenant's max_running). */
typedef struct placed {
    struct placed *next;
    char build_id[64];
    uint64_t jobs_seq;
} placed;

/* One tenant of the tier: its held jobs, oldest first, and its placed ones. */
typedef struct lane {
    char *tenant;
    held *head, *tail;
    size_t nheld;
    placed *placed;
    uint32_t running;
} lane;

typedef struct dispatcher {
    const sw_config *cfg;
    const char *tier;
    sw_actor *self;
    sw_bus *bus;
    sw_routes *routes;      /* what recent builds fetched, per project and branch */
    unsigned turn;
    /* an episode of a full JOBS: from the first refusal to the next placement */
    bool jobs_full;
    int64_t full_since_ms;  /* monotonic */
    uint64_t full_refused;  /* placements refused in this episode */
    /* fair share (tier lookahead > 0): jobs held per tenant, placed in turn */
    lane *lanes;
    size_t nlanes;
    size_t cursor;          /* sw_fair_next's */
    size_t nheld;
    int64_t touched_ms;     /* monotonic: the last in-progress round */
    int64_t checked_ms;     /* monotonic: the last look at placed jobs */
    int64_t retry_at_ms;    /* monotonic: after a refused placement, not before */
    bool kick;              /* a job came or a builder took one: fill when idle */
    sw_publisher *pub;      /* PLACED events, not waited for */
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

/* Ends a job no cluster of the tier serves (FINISHED errored): 0 when the
 * event is stored (ack the job), else an error (nak it, for a retry). */
static int refuse_region(dispatcher *d, const Slipway__Job *job)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    char reason[256];
    snprintf(reason, sizeof(reason), "no build cluster of tier %s serves region %s", d->tier,
             job->region);
    ev.build_id = job->build_id;
    ev.tenant = job->tenant;
    ev.at_ms = sw_clock_wall_ms();
    ev.kind = SLIPWAY__EVENT_KIND__FINISHED;
    ev.state = SLIPWAY__BUILD_STATE__ERRORED;
    ev.reason = reason;
    if (publish_event(d, &ev, "finished") < 0) {
        sw_warn(sw_actor_name(d->self), "build %s: %s; will retry", job->build_id,
                sw_error_last());
        return -1;
    }
    sw_warn(sw_actor_name(d->self), "build %s errored: %s", job->build_id, reason);
    return 0;
}

/* On a bus thread: EVENTS' answer to a PLACED. A lost one costs only the
 * record's "dispatched" state: the builder's STARTED moves the build on all
 * the same (buildstate.c takes a start that overtook its placement). */
static void on_placed_ack(void *closure, const char *msg_id, int error, const char *why,
                          bool duplicate)
{
    dispatcher *d = closure;
    (void)duplicate;
    if (error < 0) {
        sw_warn(sw_actor_name(d->self), "%s not stored in %s: %s (the build runs all the same)",
                msg_id, SW_STREAM_EVENTS, why ? why : "refused");
    }
}

/* Puts job on cluster's queue (msg-id <build>.job: a second placement of a
 * build within JOBS' duplicate window is the same message) and records
 * PLACED. *seq_out gets its JOBS sequence. SW_EFULL: JOBS is at its bound. */
static int place(dispatcher *d, Slipway__Job *job, const sw_cluster *cluster, const char *why,
                 uint64_t *seq_out)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    char subject[160], msg_id[64];
    size_t len;

    ev.build_id = job->build_id;
    ev.tenant = job->tenant;
    ev.at_ms = sw_clock_wall_ms();
    char *unpacked_cluster = job->cluster, *unpacked_region = job->region; /* theirs */
    job->cluster = (char *)cluster->name;
    job->region = (char *)cluster->region;
    void *data = sw_wire_pack(&job->base, &len);
    job->cluster = unpacked_cluster;
    job->region = unpacked_region;
    sw_subject(subject, sizeof(subject), "sw.jobs", cluster->name, NULL);
    snprintf(msg_id, sizeof(msg_id), "%s.job", job->build_id);
    ev.kind = SLIPWAY__EVENT_KIND__PLACED;
    ev.state = SLIPWAY__BUILD_STATE__DISPATCHED;
    ev.cluster = (char *)cluster->name;
    ev.region = (char *)cluster->region;
    ev.reason = (char *)why;
    int error = sw_bus_js_publish(d->bus, subject, data, len, msg_id, seq_out, NULL);
    free(data);
    if (error == 0 || error == SW_EFULL) {
        note_jobs_full(d, error == SW_EFULL);
    }
    if (error == SW_EFULL) {
        sw_debug(sw_actor_name(d->self), "build %s: %s full; offered again in %d ms",
                 job->build_id, SW_STREAM_JOBS, FULL_RETRY_MS);
        return error;
    }
    if (error == 0) {
        /* PLACED is not waited for (on_placed_ack); one that cannot even be
         * sent makes the placement come again (the job is then a duplicate) */
        char evsubject[160], evid[64];
        sw_subject(evsubject, sizeof(evsubject), "sw.events", ev.tenant, ev.build_id);
        snprintf(evid, sizeof(evid), "%s.placed", ev.build_id);
        data = sw_wire_pack(&ev.base, &len);
        error = sw_publisher_send(d->pub, evsubject, data, len, evid);
        free(data);
    }
    if (error < 0) {
        sw_warn(sw_actor_name(d->self), "build %s: %s; will retry", job->build_id,
                sw_error_last());
        return error;
    }
    sw_debug(sw_actor_name(d->self), "build %s placed on cluster %s: %s", job->build_id,
             cluster->name, why);
    return 0;
}

/* Where job goes (route.h), by what its project's builds fetched. */
static void route(dispatcher *d, const Slipway__Job *job, sw_route *out)
{
    Slipway__RouteMix *mix = NULL;
    if (sw_routes_mix(d->routes, job->project, job->branch, &mix) < 0) {
        sw_warn(sw_actor_name(d->self), "build %s: %s; routed as if nothing was learned",
                job->build_id, sw_error_last());
    }
    sw_route_decide(d->cfg, d->tier, job, mix, out);
    if (mix != NULL) {
        slipway__route_mix__free_unpacked(mix, NULL);
    }
}

/* lookahead 0 (`off`): every job is placed at once, in SCHED's order. */
static void place_at_once(dispatcher *d, const sw_mail *mail)
{
    Slipway__Job *job = (Slipway__Job *)mail->pb;
    sw_route r;
    route(d, job, &r);
    const sw_cluster *cluster = sw_dispatcher_pick(d->cfg, d->tier, r.region, d->turn++);
    uint64_t seq = 0;

    if (cluster == NULL) {
        if (refuse_region(d, job) < 0) {
            sw_msg_nak(mail->msg, 1000);
        } else {
            sw_msg_ack(mail->msg);
        }
        return;
    }
    int error = place(d, job, cluster, r.reason, &seq);
    if (error == SW_EFULL) {
        d->turn--; /* the same cluster's turn next time */
        sw_msg_nak(mail->msg, FULL_RETRY_MS); /* not lost, not acked: it stays in SCHED */
    } else if (error < 0) {
        sw_msg_nak(mail->msg, 1000);
    } else {
        sw_msg_ack(mail->msg);
    }
}

/* --- fair share: held jobs, placed in turn --------------------------------- */

static const sw_tier *tier_of(const dispatcher *d)
{
    return sw_config_tier(d->cfg, d->tier); /* reconfigure keeps a config that has it */
}

static lane *lane_of(dispatcher *d, const char *tenant)
{
    for (size_t i = 0; i < d->nlanes; i++) {
        if (strcmp(d->lanes[i].tenant, tenant) == 0) {
            return &d->lanes[i];
        }
    }
    d->lanes = sw_realloc(d->lanes, (d->nlanes + 1) * sizeof(*d->lanes));
    memset(&d->lanes[d->nlanes], 0, sizeof(*d->lanes));
    d->lanes[d->nlanes].tenant = sw_strdup(tenant);
    return &d->lanes[d->nlanes++];
}

static void held_free(held *h)
{
    sw_msg_release(&h->msg);
    slipway__job__free_unpacked(h->job, NULL);
    free(h->why);
    free(h);
}

/* Holds the job of mail in its tenant's lane (a redelivery of a job held or
 * placed already is taken as the same job, never a second one). */
static void hold(dispatcher *d, const sw_mail *mail)
{
    const Slipway__Job *in = (const Slipway__Job *)mail->pb;
    lane *l = lane_of(d, in->tenant);

    for (held *h = l->head; h != NULL; h = h->next) {
        if (strcmp(h->job->build_id, in->build_id) == 0) {
            /* redelivered while held: acks go by stream sequence, keep the newer */
            sw_msg_release(&h->msg);
            h->msg = sw_msg_retain(mail->msg);
            h->touched_ms = sw_clock_mono_ms();
            return;
        }
    }
    for (placed *p = l->placed; p != NULL; p = p->next) {
        if (strcmp(p->build_id, in->build_id) == 0) {
            sw_msg_ack(mail->msg); /* placed already; its ack was lost */
            return;
        }
    }
    sw_route r;
    route(d, in, &r);
    if (sw_dispatcher_pick(d->cfg, d->tier, r.region, 0) == NULL) {
        if (refuse_region(d, in) < 0) {
            sw_msg_nak(mail->msg, 1000);
        } else {
            sw_msg_ack(mail->msg);
        }
        return;
    }
    held *h = sw_calloc(1, sizeof(*h));
    h->job = slipway__job__unpack(NULL, sw_msg_len(mail->msg), sw_msg_data(mail->msg));
    if (h->job == NULL) { /* the runtime unpacked these very bytes */
        abort();
    }
    if (strcmp(h->job->region, r.region) != 0) { /* take() and fill() go by it */
        char *region = sw_strdup(r.region);
        if (h->job->region != protobuf_c_empty_string) {
            free(h->job->region);
        }
        h->job->region = region;
    }
    h->why = sw_strdup(r.reason);
    h->msg = sw_msg_retain(mail->msg);
    h->touched_ms = sw_clock_mono_ms();
    if (l->tail != NULL) {
        l->tail->next = h;
    } else {
        l->head = h;
    }
    l->tail = h;
    l->nheld++;
    d->nheld++;
    sw_actor_wake(d->self);
}

/* The first held job of l for region, unlinked (NULL: none). */
static held *take(dispatcher *d, lane *l, const char *region)
{
    for (held **pp = &l->head, *prev = NULL; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        held *h = *pp;
        if (strcmp(h->job->region, region) == 0) {
            *pp = h->next;
            if (l->tail == h) {
                l->tail = prev;
            }
            h->next = NULL;
            l->nheld--;
            d->nheld--;
            return h;
        }
    }
    return NULL;
}

/* Back at the head of its lane (a placement that did not go). */
static void put_back(dispatcher *d, lane *l, held *h)
{
    h->next = l->head;
    l->head = h;
    if (l->tail == NULL) {
        l->tail = h;
    }
    l->nheld++;
    d->nheld++;
}

static size_t ready_for(const lane *l, const char *region)
{
    size_t n = 0;
    for (const held *h = l->head; h != NULL; h = h->next) {
        n += strcmp(h->job->region, region) == 0;
    }
    return n;
}

/* How many jobs cluster's queue may hold that no builder has taken: the
 * tier's lookahead, or for an autoscaled pool what its builders could run at
 * most (the autoscaler grows the pool by that backlog). */
static uint64_t lookahead_of(const sw_tier *tier, const sw_cluster *cluster)
{
    uint64_t n = tier->lookahead;
    if (cluster->autoscale != NULL) {
        uint64_t pool = (uint64_t)cluster->autoscale->max * cluster->autoscale->slots;
        n = pool > n ? pool : n;
    }
    return n;
}

/* Places held jobs on cluster while its queue has room, one tenant at a time
 * in turn. Returns false when a placement was refused (try again later). */
static bool fill(dispatcher *d, const sw_tier *tier, const sw_cluster *cluster)
{
    sw_consumer_counts counts = {0};
    char durable[96];
    uint64_t want = tier->lookahead == 0 ? UINT64_MAX : lookahead_of(tier, cluster);

    if (sw_bus_consumer_state(d->bus, SW_STREAM_JOBS,
                              sw_durable_cluster(durable, sizeof(durable), cluster->name),
                              &counts) < 0) {
        sw_debug(sw_actor_name(d->self), "%s", sw_error_last());
        return false;
    }
    sw_fair_lane *lanes = sw_calloc(d->nlanes + 1, sizeof(*lanes));
    for (size_t i = 0; i < d->nlanes; i++) {
        lanes[i].ready = ready_for(&d->lanes[i], cluster->region);
        lanes[i].running = d->lanes[i].running;
        lanes[i].max_running = tier->max_running;
    }
    /* builders waiting for a job (their pull requests) take one at once: those
     * come on top of the lookahead, which bounds what waits untaken */
    if (want != UINT64_MAX) {
        want += counts.waiting;
    }
    bool ok = true;
    for (uint64_t queued = counts.pending; queued < want; queued++) {
        int i = sw_fair_next(lanes, d->nlanes, &d->cursor);
        if (i < 0) {
            break;
        }
        lane *l = &d->lanes[i];
        held *h = take(d, l, cluster->region);
        uint64_t seq = 0;
        int error = place(d, h->job, cluster, h->why, &seq);
        if (error < 0) {
            put_back(d, l, h);
            d->cursor = (size_t)i; /* its turn again */
            ok = false;
            break;
        }
        if (tier->max_running > 0) {
            placed *p = sw_calloc(1, sizeof(*p));
            snprintf(p->build_id, sizeof(p->build_id), "%s", h->job->build_id);
            p->jobs_seq = seq;
            p->next = l->placed;
            l->placed = p;
            l->running++;
            lanes[i].running++;
        }
        sw_msg_ack(h->msg);
        held_free(h);
        lanes[i].ready--;
    }
    free(lanes);
    return ok;
}

/* Forgets placed jobs JOBS no longer has (acked: the build ended, or removed
 * by the scheduler): their tenants may run more. */
static void check_placed(dispatcher *d)
{
    for (size_t i = 0; i < d->nlanes; i++) {
        lane *l = &d->lanes[i];
        for (placed **pp = &l->placed; *pp != NULL;) {
            placed *p = *pp;
            sw_msg *m = NULL;
            int error = sw_bus_stream_get(d->bus, SW_STREAM_JOBS, p->jobs_seq, &m);
            sw_msg_release(&m);
            if (error == SW_ENOTFOUND) {
                *pp = p->next;
                free(p);
                l->running--;
                continue;
            }
            pp = &p->next;
        }
    }
}

/* Marks held SCHED messages in progress before their ack_wait runs out. */
static void touch_held(dispatcher *d, int64_t now)
{
    for (size_t i = 0; i < d->nlanes; i++) {
        for (held *h = d->lanes[i].head; h != NULL; h = h->next) {
            if (now - h->touched_ms >= TOUCH_EVERY_MS) {
                sw_msg_in_progress(h->msg);
                h->touched_ms = now;
            }
        }
    }
}

static bool any_placed(const dispatcher *d)
{
    for (size_t i = 0; i < d->nlanes; i++) {
        if (d->lanes[i].placed != NULL) {
            return true;
        }
    }
    return false;
}

/* Fills every cluster of the tier, unless a refusal asked to wait. */
static void fill_all(dispatcher *d, int64_t now)
{
    const sw_tier *tier = tier_of(d);

    d->kick = false;
    if (d->nheld == 0 || now < d->retry_at_ms) {
        return;
    }
    for (size_t i = 0; i < d->cfg->nclusters; i++) {
        const sw_cluster *c = &d->cfg->clusters[i];
        if (strcmp(c->tier, d->tier) == 0 && !fill(d, tier, c)) {
            d->retry_at_ms = now + (d->jobs_full ? FULL_RETRY_MS : 1000);
            break;
        }
    }
}

static int64_t dispatcher_tick(sw_actor *self, void *state)
{
    dispatcher *d = state;
    int64_t now = sw_clock_mono_ms();
    (void)self;

    if (!sw_bus_connected(d->bus)) {
        sw_publisher_forget(d->pub); /* their acks will not come */
        return d->nheld > 0 || any_placed(d) ? 200 : -1;
    }
    if (now - d->touched_ms >= 1000) {
        d->touched_ms = now;
        touch_held(d, now);
    }
    if (now - d->checked_ms >= RUNNING_CHECK_MS && any_placed(d)) {
        d->checked_ms = now;
        check_placed(d);
    }
    fill_all(d, now);
    if (d->nheld > 0) {
        return HOLD_TICK_MS;
    }
    return any_placed(d) ? RUNNING_CHECK_MS : -1;
}

static void on_job(dispatcher *d, const sw_mail *mail)
{
    const sw_tier *tier = tier_of(d);
    if (tier->lookahead == 0 && d->nheld == 0) {
        place_at_once(d, mail);
    } else {
        hold(d, mail); /* placed when idle or by the tick (lookahead 0: all at once) */
        d->kick = true;
    }
}

/* A FINISHED event with a source profile teaches the routes (others only move
 * the sequence on). */
static void on_event(dispatcher *d, const sw_mail *mail)
{
    const Slipway__BuildEvent *ev = (const Slipway__BuildEvent *)mail->pb;
    uint64_t seq = sw_msg_stream_seq(mail->msg);
    int result = sw_routes_apply(d->routes, ev, seq, d->cfg->routing_half_life);
    if (ev->kind == SLIPWAY__EVENT_KIND__STARTED && d->nheld > 0) {
        d->kick = true; /* a builder took a job: its queue may have room */
    }
    if (result < 0) {
        sw_warn(sw_actor_name(d->self), "event #%llu not learned: %s", (unsigned long long)seq,
                sw_error_last());
    } else if (result > 0) {
        sw_info(sw_actor_name(d->self), "learned the sources of build %s (%zu, project %s%s%s)",
                ev->build_id, ev->profile->n_sources, ev->profile->project,
                ev->profile->branch[0] ? ", branch " : "", ev->profile->branch);
    }
}

static int dispatcher_init(sw_actor *self, void **state_out, void *arg)
{
    const sw_actor_ctx *ctx = arg;
    dispatcher *d;
    char durable[96], dir[4096];
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
    snprintf(dir, sizeof(dir), "%s/dispatcher-%s", d->cfg->data_dir, d->tier);
    if ((error = sw_routes_open(&d->routes, dir)) < 0 ||
        (error = sw_publisher_create(&d->pub, d->bus, on_placed_ack, d)) < 0) {
        sw_routes_destroy(&d->routes);
        sw_config_release(&d->cfg);
        free(d);
        return error;
    }
    sw_info(sw_actor_name(self), "routes at %s, learned up to event #%llu", dir,
            (unsigned long long)sw_routes_seq(d->routes));
    *state_out = d;
    if ((error = sw_actor_follow(self, TAG_EVENT, SW_STREAM_EVENTS, "sw.events.>",
                                 sw_routes_seq(d->routes) + 1,
                                 &slipway__build_event__descriptor)) == 0) {
        error = sw_actor_pull(self, TAG_JOB, SW_STREAM_SCHED,
                              sw_durable_dispatch(durable, sizeof(durable), d->tier),
                              (int)sw_config_tier(ctx->cfg, ctx->target)->hold,
                              &slipway__job__descriptor);
    }
    if (error < 0) {
        sw_publisher_destroy(&d->pub);
        sw_routes_destroy(&d->routes);
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

/* The mailbox is empty: what the routes learned is committed, and the queues
 * are topped up if a job came or one was taken since, rather than waiting for
 * the tick (one look at each queue per burst of mail). */
static void dispatcher_idle(sw_actor *self, void *state)
{
    dispatcher *d = state;
    (void)self;
    if (sw_routes_flush(d->routes) < 0) {
        sw_warn(sw_actor_name(d->self), "%s", sw_error_last());
    }
    if (d->kick && sw_bus_connected(d->bus)) {
        fill_all(d, sw_clock_mono_ms());
    }
}

static void dispatcher_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    if (mail->tag == TAG_JOB) {
        on_job(state, mail);
    } else if (mail->tag == TAG_EVENT) {
        on_event(state, mail);
    }
}

/* Held jobs go back to SCHED at once (nak) for the next dispatcher. */
static void dispatcher_stop(sw_actor *self, void *state)
{
    dispatcher *d = state;
    (void)self;
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->nlanes; i++) {
        lane *l = &d->lanes[i];
        while (l->head != NULL) {
            held *h = l->head;
            l->head = h->next;
            sw_msg_nak(h->msg, 0);
            held_free(h);
        }
        while (l->placed != NULL) {
            placed *p = l->placed;
            l->placed = p->next;
            free(p);
        }
        free(l->tenant);
    }
    free(d->lanes);
    sw_publisher_destroy(&d->pub);
    sw_routes_destroy(&d->routes);
    sw_config_release(&d->cfg);
    free(d);
}

const sw_actor_impl sw_dispatcher_impl = {
    .kind = "dispatcher",
    .init = dispatcher_init,
    .handle = dispatcher_handle,
    .tick = dispatcher_tick,
    .stop = dispatcher_stop,
    .reconfigure = dispatcher_reconfigure,
    .idle = dispatcher_idle,
};
