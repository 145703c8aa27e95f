/*
 * autoscaler.c - the autoscaler actor (see autoscaler.h).
 */
#include "actors/autoscaler/autoscaler.h"

#include "actors/autoscaler/decide.h"
#include "actors/autoscaler/lease.h"
#include "actors/autoscaler/ops.h"
#include "actors/autoscaler/pool.h"
#include "runtime/core/clock.h"
#include "runtime/config_autoscale.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

enum { TAG_HEARTBEAT = 1, TAG_JOB_QUEUED, TAG_POOL_STATUS, TAG_API_POOLS, TAG_OP_DONE };

#define TICK_MS 250
#define BACKLOG_EVERY_MS 1000
#define BACKLOG_SOON_MS 50     /* after a job was queued: coalesces a burst */
#define BACKLOG_STALE_MS 3000  /* older figures are missing figures */
#define STATUS_EVERY_MS 1000
#define DRAIN_ASK_MS 2000
#define FORGET_AFTER_LAPSES 5  /* a silent builder not ours leaves the table */

typedef struct autoscaler {
    const sw_config *cfg; /* retained */
    sw_actor *self;
    sw_bus *bus;
    char holder[128];     /* host:pid:random, in leases and decisions */
    sw_pool *pools;
    size_t npools;
    sw_ops *ops;
} autoscaler;

static const char *who(const autoscaler *s)
{
    return sw_actor_name(s->self);
}

static int64_t lapse(const autoscaler *s)
{
    return (int64_t)s->cfg->heartbeat_lapse_ms;
}

static const sw_autoscale *policy(const sw_pool *p)
{
    return p->cfg->autoscale;
}

static sw_pool *pool_named(autoscaler *s, const char *cluster)
{
    for (size_t i = 0; i < s->npools; i++) {
        if (strcmp(s->pools[i].cluster, cluster) == 0) {
            return &s->pools[i];
        }
    }
    return NULL;
}

/* --- decisions and status ------------------------------------------------ */

static void send_status(autoscaler *s, sw_pool *p, int64_t now);

/* Records an action: in the log, as a ScaleDecision on the bus, in the pool's
 * status. */
static void decided(autoscaler *s, sw_pool *p, const char *action, uint32_t from, uint32_t to,
                    const char *builder, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void decided(autoscaler *s, sw_pool *p, const char *action, uint32_t from, uint32_t to,
                    const char *builder, const char *fmt, ...)
{
    Slipway__ScaleDecision *d = &p->last;
    char subject[160];
    va_list ap;

    slipway__scale_decision__init(d);
    snprintf(p->last_action, sizeof(p->last_action), "%s", action);
    snprintf(p->last_builder, sizeof(p->last_builder), "%s", builder ? builder : "");
    snprintf(p->last_by, sizeof(p->last_by), "%s", s->holder);
    va_start(ap, fmt);
    vsnprintf(p->last_reason, sizeof(p->last_reason), fmt, ap);
    va_end(ap);
    d->cluster = p->cluster;
    d->action = p->last_action;
    d->from = from;
    d->to = to;
    d->reason = p->last_reason;
    d->builder = p->last_builder;
    d->at_ms = sw_clock_wall_ms();
    d->by = p->last_by;
    {
        char moved[48] = "";
        bool bad = strcmp(action, "halt") == 0 || strcmp(action, "retry") == 0;
        if (strcmp(action, "scale_out") == 0 || strcmp(action, "scale_in") == 0) {
            snprintf(moved, sizeof(moved), " from %u to %u", from, to);
        }
        sw_log(bad ? SW_LOG_WARN : SW_LOG_INFO, who(s), "%s cluster=%s%s: %s", action,
               p->cluster, moved, p->last_reason);
    }
    sw_subject(subject, sizeof(subject), SW_SCALE_DECISION, p->cluster, NULL);
    if (sw_wire_publish(s->bus, subject, &d->base) < 0) {
        sw_warn(who(s), "cannot publish the decision: %s", sw_error_last());
    }
    send_status(s, p, sw_clock_mono_ms());
}

/* The pool as this instance sees it; strings are freed by free_status. */
static Slipway__PoolStatus *make_status(autoscaler *s, sw_pool *p, int64_t now)
{
    Slipway__PoolStatus *st = sw_calloc(1, sizeof(*st));
    const sw_autoscale *as = policy(p);
    slipway__pool_status__init(st);
    st->cluster = sw_strdup(p->cluster);
    st->provider = sw_strdup(as->provider == SW_PROVIDER_EXEC ? "exec" : "process");
    st->min = as->min;
    st->max = as->max;
    st->target = as->target;
    st->ready = p->plan.ready;
    st->starting = p->plan.starting;
    st->draining = p->plan.draining;
    st->desired = p->plan.desired;
    st->pressure = p->plan.pressure;
    st->queued = p->backlog.pending;
    st->running = p->backlog.ack_pending;
    st->waiting = p->backlog.waiting;
    st->slots = p->plan.ready_slots;
    st->leader = sw_strdup(s->holder);
    st->at_ms = sw_clock_wall_ms();
    st->halted = sw_strdup(p->halted);
    st->failures = p->failures;
    if (p->last.action != NULL) {
        st->last = sw_calloc(1, sizeof(*st->last));
        slipway__scale_decision__init(st->last);
        st->last->cluster = sw_strdup(p->cluster);
        st->last->action = sw_strdup(p->last.action);
        st->last->from = p->last.from;
        st->last->to = p->last.to;
        st->last->reason = sw_strdup(p->last.reason);
        st->last->builder = sw_strdup(p->last.builder);
        st->last->at_ms = p->last.at_ms;
        st->last->by = sw_strdup(p->last.by);
    }
    st->builders = sw_calloc(p->n + 1, sizeof(char *));
    for (size_t i = 0; i < p->n; i++) {
        const sw_member *m = &p->m[i];
        if (m->gone) {
            continue;
        }
        st->builders[st->n_builders++] =
            sw_asprintf("%s %s%s", m->name, sw_member_state(m, now, lapse(s)),
                        m->managed ? "" : " (not the provider's)");
    }
    return st;
}

static void free_status(Slipway__PoolStatus *st)
{
    /* every string and sub-message above is heap memory of its own */
    slipway__pool_status__free_unpacked(st, NULL);
}

static void send_status(autoscaler *s, sw_pool *p, int64_t now)
{
    char subject[160];
    if (!p->leading) {
        return;
    }
    Slipway__PoolStatus *st = make_status(s, p, now);
    sw_subject(subject, sizeof(subject), SW_SCALE_POOL, p->cluster, NULL);
    (void)sw_wire_publish(s->bus, subject, &st->base);
    free_status(st);
    p->status_ms = now;
}

/* --- actions --------------------------------------------------------------- */

static void new_name(const sw_pool *p, char *out, size_t n)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    unsigned char r[6];
    char id[7];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        uint64_t t = (uint64_t)sw_clock_mono_us() ^ (uint64_t)getpid() << 20;
        memcpy(r, &t, sizeof(r));
    }
    for (size_t i = 0; i < sizeof(r); i++) {
        id[i] = digits[r[i] % 36];
    }
    id[6] = '\0';
    snprintf(out, n, "%s%s", policy(p)->name_prefix, id);
}

static void destroy(autoscaler *s, sw_pool *p, sw_member *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void destroy(autoscaler *s, sw_pool *p, sw_member *m, const char *fmt, ...)
{
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    m->destroying = true;
    decided(s, p, "destroy", p->plan.current, p->plan.desired, m->name, "%s: %s", m->name, why);
    sw_ops_start(s->ops, s->cfg, p->cluster, SW_OP_DESTROY, m->name);
}

/* A create or a start failed: back off, and stop after max_failures. */
static void failed(autoscaler *s, sw_pool *p, const char *builder, const char *what)
{
    const sw_autoscale *as = policy(p);
    uint64_t delay = as->backoff_ms;
    int64_t now = sw_clock_mono_ms();

    p->failures++;
    for (uint32_t i = 1; i < p->failures && delay < as->backoff_max_ms; i++) {
        delay *= 2;
    }
    if (delay > as->backoff_max_ms) {
        delay = as->backoff_max_ms;
    }
    p->retry_at_ms = now + (int64_t)delay;
    if (p->failures >= as->max_failures) {
        snprintf(p->halted, sizeof(p->halted),
                 "%u creates or starts failed in a row (last: %s); creating no more builders "
                 "until the provider is fixed and slipwayd reloads (SIGHUP)",
                 p->failures, what);
        decided(s, p, "halt", p->plan.current, p->plan.current, builder, "%s", p->halted);
    } else {
        decided(s, p, "retry", p->plan.current, p->plan.desired, builder,
                "%s; trying again in %llums (failure %u of at most %u)", what,
                (unsigned long long)delay, p->failures, as->max_failures);
    }
}

static int ask_drain(autoscaler *s, const char *builder, bool drain, Slipway__BuilderInfo *out)
{
    Slipway__DrainRequest req = SLIPWAY__DRAIN_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    char subject[160], by[160];
    int error;

    snprintf(by, sizeof(by), "autoscaler %s", s->holder);
    req.builder = (char *)builder;
    req.drain = drain;
    req.exit = drain;
    req.by = by;
    sw_subject(subject, sizeof(subject), SW_CTL_DRAIN, builder, NULL);
    if ((error = sw_wire_request(s->bus, subject, &req.base, &slipway__api_reply__descriptor,
                                 DRAIN_ASK_MS, &reply)) < 0) {
        return error;
    }
    const Slipway__ApiReply *r = (const Slipway__ApiReply *)reply;
    if (r->code < 0) {
        error = sw_error_set(r->code, "%s", r->error);
    } else if (r->n_builders >= 1 && out != NULL) {
        out->drained = r->builders[0]->drained;
        out->draining = r->builders[0]->draining;
        out->busy = r->builders[0]->busy;
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    return error;
}

static void scale_out(autoscaler *s, sw_pool *p, const size_t *index, int64_t now)
{
    const sw_scale_plan *plan = &p->plan;
    uint32_t undrained = 0, created = 0;
    char names[512] = "";

    for (size_t i = 0; i < plan->nundrain; i++) {
        sw_member *m = &p->m[index[plan->undrain[i]]];
        if (ask_drain(s, m->name, false, NULL) == 0) {
            m->drain_asked = m->draining = m->drained = m->by_us = false;
            undrained++;
            strncat(names, names[0] ? ", " : "", sizeof(names) - strlen(names) - 1);
            strncat(names, m->name, sizeof(names) - strlen(names) - 1);
        } else {
            sw_warn(who(s), "cannot re-activate %s: %s", m->name, sw_error_last());
        }
    }
    if (plan->create > 0 && p->halted[0] == '\0' && now >= p->retry_at_ms) {
        for (uint32_t i = 0; i < plan->create; i++) {
            char name[72];
            new_name(p, name, sizeof(name));
            sw_member *m = sw_pool_add(p, name);
            m->managed = m->starting = true;
            m->created_ms = now;
            m->slots = policy(p)->slots;
            sw_ops_start(s->ops, s->cfg, p->cluster, SW_OP_CREATE, name);
            created++;
            if (i < 4) {
                strncat(names, names[0] ? ", " : "", sizeof(names) - strlen(names) - 1);
                strncat(names, name, sizeof(names) - strlen(names) - 1);
            }
        }
    }
    if (undrained + created > 0) {
        decided(s, p, "scale_out", plan->current, plan->current + undrained + created,
                created == 1 && undrained == 0 ? names : "", "%s; %u re-activated, %u created%s%s",
                plan->reason, undrained, created, names[0] ? ": " : "", names);
    }
}

static void scale_in(autoscaler *s, sw_pool *p, sw_member *m)
{
    Slipway__BuilderInfo info = SLIPWAY__BUILDER_INFO__INIT;
    if (ask_drain(s, m->name, true, &info) < 0) {
        sw_warn(who(s), "cannot ask %s to drain: %s; trying later", m->name, sw_error_last());
        return;
    }
    m->drain_asked = true;
    m->draining = true;
    m->by_us = true;
    decided(s, p, "scale_in", p->plan.current, p->plan.current - 1, m->name,
            "%s; draining %s (%u running)", p->plan.reason, m->name, info.busy);
    if (info.drained) {
        m->drained = true;
        destroy(s, p, m, "drained");
    }
}

/* Decides and acts, when this instance leads the pool and knows its builders. */
static void evaluate(autoscaler *s, sw_pool *p, int64_t now)
{
    sw_pool_member *view;
    size_t *index, n;

    if (!p->leading || !p->listed ||
        now - p->lead_ms < (int64_t)s->cfg->heartbeat_interval_ms * 3 / 2) {
        return; /* the builders that run have not all been heard from yet */
    }
    view = sw_calloc(p->n + 1, sizeof(*view));
    index = sw_calloc(p->n + 1, sizeof(*index));
    n = sw_pool_view(p, now, lapse(s), view, index);
    if (now - p->backlog_ms > BACKLOG_STALE_MS) {
        p->backlog.known = false;
    }
    sw_scale_decide(policy(p), view, n, &p->backlog, now, &p->memory, &p->plan);
    if (p->plan.action == SW_SCALE_OUT) {
        scale_out(s, p, index, now);
    } else if (p->plan.action == SW_SCALE_IN) {
        scale_in(s, p, &p->m[index[p->plan.drain]]);
    }
    free(view);
    free(index);
}

/* --- the pool's clocks ------------------------------------------------------ */

static void take_or_keep_lease(autoscaler *s, sw_pool *p, int64_t now)
{
    bool changed = false;
    if (now < p->lease.next_ms) {
        return;
    }
    p->leading = sw_lease_step(&p->lease, s->bus, now, &changed);
    if (!changed) {
        return;
    }
    if (p->leading) {
        p->lead_ms = now;
        p->listed = false;
        p->listing = false;
        p->list_after_ms = 0;
        memset(&p->memory, 0, sizeof(p->memory));
        decided(s, p, "lead", 0, 0, NULL, "%s decides for cluster %s (lease %llus)", s->holder,
                p->cluster, (unsigned long long)(s->cfg->autoscale_lease_ms / 1000));
    } else {
        sw_warn(who(s), "cluster %s: lost the lease%s%s: no longer acting", p->cluster,
                p->lease.other[0] ? " to " : "", p->lease.other);
    }
}

static void read_backlog(autoscaler *s, sw_pool *p, int64_t now)
{
    sw_consumer_counts c;
    char durable[96];
    if (!(p->backlog_wanted && now - p->backlog_ms >= BACKLOG_SOON_MS) &&
        now - p->backlog_ms < BACKLOG_EVERY_MS) {
        return;
    }
    p->backlog_wanted = false;
    sw_durable_cluster(durable, sizeof(durable), p->cluster);
    if (sw_bus_consumer_state(s->bus, SW_STREAM_JOBS, durable, &c) == 0) {
        p->backlog = (sw_backlog){.known = true, .pending = c.pending,
                                  .ack_pending = c.ack_pending, .waiting = c.waiting};
        p->backlog_ms = now;
    } else if (now - p->backlog_ms > BACKLOG_STALE_MS) {
        p->backlog.known = false;
    }
}

/* Builders that stopped heartbeating, never started, or drained. */
static void check_members(autoscaler *s, sw_pool *p, int64_t now)
{
    const sw_autoscale *as = policy(p);
    for (size_t i = 0; i < p->n;) {
        sw_member *m = &p->m[i];
        bool silent = m->hb_ms > 0 && now - m->hb_ms > lapse(s);
        if (m->gone) {
            if (now - m->gone_ms > 3 * lapse(s)) {
                sw_pool_remove(p, m);
                continue;
            }
        } else if (!m->managed) {
            if (silent && now - m->hb_ms > FORGET_AFTER_LAPSES * lapse(s)) {
                sw_pool_remove(p, m);
                continue;
            }
        } else if (m->destroying || now < m->destroy_after_ms || !p->leading) {
            /* under way, or waiting to try again */
        } else if (m->starting && now - m->created_ms > (int64_t)as->start_timeout_ms) {
            char what[200];
            snprintf(what, sizeof(what), "%s sent no heartbeat within start_timeout %llus",
                     m->name, (unsigned long long)(as->start_timeout_ms / 1000));
            m->starting = false;
            destroy(s, p, m, "it never started");
            failed(s, p, m->name, what);
        } else if (m->drain_asked && (m->drained || silent)) {
            destroy(s, p, m, m->drained ? "drained" : "drained and gone");
        } else if (silent) {
            destroy(s, p, m, "no heartbeat for %llds: lost (its jobs run again elsewhere)",
                    (long long)((now - m->hb_ms) / 1000));
        }
        i++;
    }
}

/* --- mail -------------------------------------------------------------------- */

static void on_heartbeat(autoscaler *s, const sw_mail *mail)
{
    const Slipway__Heartbeat *hb = (const Slipway__Heartbeat *)mail->pb;
    sw_pool *p = pool_named(s, hb->cluster);
    int64_t now = sw_clock_mono_ms();
    sw_member *m;

    if (p == NULL || hb->builder[0] == '\0') {
        return;
    }
    if ((m = sw_pool_find(p, hb->builder)) == NULL) {
        m = sw_pool_add(p, hb->builder);
    } else if (m->gone) {
        if (strcmp(m->incarnation, hb->incarnation) == 0) {
            return; /* a late heartbeat of one destroyed */
        }
        m->gone = false;
    }
    if (m->starting) {
        m->starting = false;
        sw_info(who(s), "%s is up, %lld ms after it was asked for", m->name,
                (long long)(now - m->created_ms));
        if (p->halted[0] == '\0') {
            p->failures = 0;
        }
    }
    snprintf(m->incarnation, sizeof(m->incarnation), "%s", hb->incarnation);
    m->slots = hb->slots;
    if (hb->busy == 0 && (m->busy > 0 || m->idle_since_ms == 0)) {
        m->idle_since_ms = now;
    }
    m->busy = hb->busy;
    m->draining = hb->draining || hb->drained;
    m->drained = hb->drained;
    m->by_us = m->draining && strncmp(hb->drained_by, "autoscaler", 10) == 0;
    if (!m->draining) {
        m->drain_asked = false; /* undrained, by us or by someone */
    }
    m->hb_ms = now;
    if (p->leading && m->managed && m->drain_asked && m->drained && !m->destroying) {
        destroy(s, p, m, "drained");
    }
    evaluate(s, p, now);
}

static void on_op_done(autoscaler *s, const sw_mail *mail)
{
    const sw_op_result *r = mail->payload;
    sw_pool *p = pool_named(s, r->cluster);
    sw_member *m = p ? sw_pool_find(p, r->builder) : NULL;
    int64_t now = sw_clock_mono_ms();

    if (p == NULL) {
        return;
    }
    if (r->kind == SW_OP_LIST) {
        p->listing = false;
        if (r->error < 0) {
            p->list_after_ms = now + 2000;
            sw_warn(who(s), "cluster %s: cannot list the provider's builders (%s); not acting "
                            "until it can", p->cluster, r->message);
            return;
        }
        for (size_t i = 0; i < r->nnames; i++) {
            if (!sw_config_generated_name(policy(p)->name_prefix, r->names[i])) {
                continue;
            }
            if ((m = sw_pool_find(p, r->names[i])) == NULL) {
                m = sw_pool_add(p, r->names[i]);
                m->starting = true; /* alive, not heard from yet */
                m->created_ms = now;
                m->slots = policy(p)->slots;
            }
            m->managed = true;
        }
        p->listed = true;
        sw_info(who(s), "cluster %s: the provider has %zu builders; adopted", p->cluster,
                r->nnames);
        return;
    }
    if (r->kind == SW_OP_CREATE) {
        if (r->error == 0) {
            sw_info(who(s), "created %s in %lld ms", r->builder, (long long)r->took_ms);
            return;
        }
        if (m != NULL && m->starting) {
            m->starting = false;
            if (p->leading) {
                destroy(s, p, m, "its create failed (anything half-made goes)");
            } else {
                sw_pool_remove(p, m);
            }
        }
        failed(s, p, r->builder, r->message);
        return;
    }
    if (m == NULL) {
        return;
    }
    m->destroying = false;
    if (r->error < 0) {
        m->destroy_after_ms = now + (int64_t)policy(p)->backoff_ms * 4;
        sw_warn(who(s), "destroy %s failed: %s; trying again", r->builder, r->message);
        return;
    }
    sw_info(who(s), "destroyed %s in %lld ms", r->builder, (long long)r->took_ms);
    m->gone = true;
    m->gone_ms = now;
}

static void on_pool_status(autoscaler *s, const sw_mail *mail)
{
    const Slipway__PoolStatus *st = (const Slipway__PoolStatus *)mail->pb;
    sw_pool *p = pool_named(s, st->cluster);
    size_t len;
    if (p == NULL || p->leading || strcmp(st->leader, s->holder) == 0) {
        return;
    }
    if (p->seen != NULL) {
        slipway__pool_status__free_unpacked(p->seen, NULL);
    }
    void *buf = sw_wire_pack(&st->base, &len);
    p->seen = slipway__pool_status__unpack(NULL, len, buf);
    free(buf);
}

/* sw.api.pools: one status per autoscaled cluster: its own when it leads, the
 * leader's last one otherwise. */
static void on_api_pools(autoscaler *s, const sw_mail *mail)
{
    Slipway__ApiReply reply = SLIPWAY__API_REPLY__INIT;
    Slipway__PoolStatus **pools = sw_calloc(s->npools + 1, sizeof(*pools));
    bool *own = sw_calloc(s->npools + 1, sizeof(*own));
    int64_t now = sw_clock_mono_ms();

    for (size_t i = 0; i < s->npools; i++) {
        sw_pool *p = &s->pools[i];
        if (p->leading || p->seen == NULL) {
            pools[i] = make_status(s, p, now);
            own[i] = true;
            if (!p->leading) {
                free(pools[i]->leader);
                pools[i]->leader = sw_strdup(p->lease.other);
            }
        } else {
            pools[i] = p->seen;
        }
    }
    reply.pools = pools;
    reply.n_pools = s->npools;
    if (sw_wire_respond(s->bus, mail->msg, &reply.base) < 0) {
        sw_warn(who(s), "cannot answer %s: %s", SW_API_POOLS, sw_error_last());
    }
    for (size_t i = 0; i < s->npools; i++) {
        if (own[i]) {
            free_status(pools[i]);
        }
    }
    free(pools);
    free(own);
}

static void autoscaler_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    autoscaler *s = state;
    switch (mail->tag) {
    case TAG_HEARTBEAT:
        on_heartbeat(s, mail);
        break;
    case TAG_JOB_QUEUED: {
        /* sw.jobs.<cluster>: read the backlog at once */
        const char *subject = sw_msg_subject(mail->msg);
        sw_pool *p = pool_named(s, subject + strlen("sw.jobs."));
        if (p != NULL && p->leading) {
            p->backlog_wanted = true;
            sw_actor_wake(self);
        }
        break;
    }
    case TAG_POOL_STATUS:
        on_pool_status(s, mail);
        break;
    case TAG_API_POOLS:
        on_api_pools(s, mail);
        break;
    case TAG_OP_DONE:
        on_op_done(s, mail);
        break;
    }
}

static int64_t autoscaler_tick(sw_actor *self, void *state)
{
    autoscaler *s = state;
    int64_t now = sw_clock_mono_ms(), wait = TICK_MS;
    (void)self;

    sw_ops_reap(s->ops);
    for (size_t i = 0; i < s->npools; i++) {
        sw_pool *p = &s->pools[i];
        take_or_keep_lease(s, p, now);
        if (!p->leading) {
            continue;
        }
        if (!p->listed && !p->listing && now >= p->list_after_ms) {
            p->listing = true;
            sw_ops_start(s->ops, s->cfg, p->cluster, SW_OP_LIST, NULL);
        }
        read_backlog(s, p, now);
        check_members(s, p, now);
        evaluate(s, p, now);
        if (now - p->status_ms >= STATUS_EVERY_MS) {
            send_status(s, p, now);
        }
        if (p->backlog_wanted) {
            wait = BACKLOG_SOON_MS;
        }
    }
    return wait;
}

/* --- life ---------------------------------------------------------------------- */

static void make_pools(autoscaler *s, const sw_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->nclusters; i++) {
        n += cfg->clusters[i].autoscale != NULL;
    }
    s->pools = sw_calloc(n + 1, sizeof(*s->pools));
    for (size_t i = 0; i < cfg->nclusters; i++) {
        const sw_cluster *c = &cfg->clusters[i];
        char subject[160];
        if (c->autoscale == NULL) {
            continue;
        }
        sw_pool *p = &s->pools[s->npools++];
        snprintf(p->cluster, sizeof(p->cluster), "%s", c->name);
        p->cfg = c;
        sw_subject(subject, sizeof(subject), SW_LEASE_AUTOSCALER, c->name, NULL);
        sw_lease_init(&p->lease, subject, s->holder, (int64_t)cfg->autoscale_lease_ms);
    }
}

static void autoscaler_stop(sw_actor *self, void *state);

static int autoscaler_init(sw_actor *self, void **state_out, void *arg)
{
    const sw_actor_ctx *ctx = arg;
    autoscaler *s = sw_calloc(1, sizeof(*s));
    char host[64] = "host";
    unsigned short r = 0;
    int error = 0;

    s->cfg = sw_config_retain(ctx->cfg);
    s->self = self;
    s->bus = sw_actor_bus(self);
    gethostname(host, sizeof(host) - 1);
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        r = (unsigned short)sw_clock_mono_us();
    }
    snprintf(s->holder, sizeof(s->holder), "%s:%d:%04x", host, (int)getpid(), r);
    s->ops = sw_ops_new(self, TAG_OP_DONE);
    make_pools(s, s->cfg);
    *state_out = s;
    if ((error = sw_actor_subscribe(self, TAG_HEARTBEAT, "sw.hb.>", NULL,
                                    &slipway__heartbeat__descriptor)) < 0 ||
        (error = sw_actor_subscribe(self, TAG_JOB_QUEUED, "sw.jobs.*", NULL, NULL)) < 0 ||
        (error = sw_actor_subscribe(self, TAG_POOL_STATUS, SW_SCALE_POOL ".*", NULL,
                                    &slipway__pool_status__descriptor)) < 0 ||
        (error = sw_actor_subscribe(self, TAG_API_POOLS, SW_API_POOLS, "autoscaler", NULL)) <
            0) {
        autoscaler_stop(self, s);
        *state_out = NULL;
        return error;
    }
    sw_info(who(s), "%zu autoscaled cluster%s; instance %s", s->npools,
            s->npools == 1 ? "" : "s", s->holder);
    return 0;
}

static void autoscaler_stop(sw_actor *self, void *state)
{
    autoscaler *s = state;
    (void)self;
    if (s == NULL) {
        return;
    }
    if (sw_ops_running(s->ops) > 0) {
        sw_info(who(s), "waiting for %zu provider calls", sw_ops_running(s->ops));
    }
    sw_ops_finish(&s->ops);
    for (size_t i = 0; i < s->npools; i++) {
        /* builders stay: the next autoscaler adopts them */
        sw_lease_release(&s->pools[i].lease, s->bus);
        sw_pool_free(&s->pools[i]);
    }
    free(s->pools);
    sw_config_release(&s->cfg);
    free(s);
}

/* A reload: pools keep what they know; a cluster no longer autoscaled is let
 * go (its builders stay), a new one starts; failures are forgotten, so a
 * halted pool tries again. */
static int autoscaler_reconfigure(sw_actor *self, void *state, const sw_config *cfg)
{
    autoscaler *s = state;
    sw_pool *old = s->pools;
    size_t nold = s->npools;
    (void)self;

    s->pools = NULL;
    s->npools = 0;
    make_pools(s, cfg);
    for (size_t i = 0; i < s->npools; i++) {
        sw_pool *p = &s->pools[i];
        for (size_t j = 0; j < nold; j++) {
            if (old[j].cfg != NULL && strcmp(old[j].cluster, p->cluster) == 0) {
                const sw_cluster *c = p->cfg;
                sw_lease lease = p->lease;
                *p = old[j];
                p->cfg = c;
                p->lease.ttl_ms = lease.ttl_ms;
                p->failures = 0;
                p->halted[0] = '\0';
                p->retry_at_ms = 0;
                old[j].cfg = NULL; /* moved */
                old[j].m = NULL;
                old[j].seen = NULL;
                break;
            }
        }
    }
    for (size_t j = 0; j < nold; j++) {
        if (old[j].cfg != NULL) {
            sw_info(who(s), "cluster %s is no longer autoscaled: its builders stay as they are",
                    old[j].cluster);
            sw_lease_release(&old[j].lease, s->bus);
        }
        sw_pool_free(&old[j]);
    }
    free(old);
    sw_config_release(&s->cfg);
    s->cfg = sw_config_retain(cfg);
    /* decisions point into the pools: fix the moved ones */
    for (size_t i = 0; i < s->npools; i++) {
        sw_pool *p = &s->pools[i];
        if (p->last.action != NULL) {
            p->last.cluster = p->cluster;
            p->last.action = p->last_action;
            p->last.reason = p->last_reason;
            p->last.builder = p->last_builder;
            p->last.by = p->last_by;
        }
    }
    return 0;
}

const sw_actor_impl sw_autoscaler_impl = {
    .kind = "autoscaler",
    .init = autoscaler_init,
    .handle = autoscaler_handle,
    .tick = autoscaler_tick,
    .stop = autoscaler_stop,
    .reconfigure = autoscaler_reconfigure,
};
