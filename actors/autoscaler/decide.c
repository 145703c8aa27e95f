/*
 * decide.c - the autoscaler's decision for one pool (see decide.h).
 */
#include "actors/autoscaler/decide.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NO_CAPACITY 1e9 /* P when there is demand and no ready slot */

typedef struct tally {
    uint32_t ready, starting, draining;
    uint64_t ready_slots, starting_slots, busy_ready, busy_draining;
    bool draining_by_us;
    const char *draining_name;
} tally;

static void count(tally *t, const sw_pool_member *m, size_t n)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        if (m[i].starting && !m[i].heartbeat) {
            t->starting++;
            t->starting_slots += m[i].slots;
        } else if (m[i].heartbeat && m[i].draining) {
            t->draining++;
            t->busy_draining += m[i].busy;
            if (m[i].by_us && m[i].managed && !t->draining_by_us) {
                t->draining_by_us = true;
                t->draining_name = m[i].name;
            }
        } else if (m[i].heartbeat) {
            t->ready++;
            t->ready_slots += m[i].slots;
            t->busy_ready += m[i].busy;
        }
        /* neither: silent past the lapse, so no capacity at all */
    }
}

/* The builder a scale-in drains: a ready one the provider made, idle ones
 * first (the longest idle first), else the least busy; -1 when none. */
static long candidate(const sw_pool_member *m, size_t n)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (!m[i].heartbeat || m[i].draining || !m[i].managed) {
            continue;
        }
        if (best < 0 || m[i].busy < m[best].busy ||
            (m[i].busy == m[best].busy && m[i].busy == 0 &&
             m[i].idle_since_ms < m[best].idle_since_ms)) {
            best = (long)i;
        }
    }
    return best;
}

/* How many ready managed builders could go, one by one in candidate order,
 * keeping capacity >= need and at least min builders. */
static uint32_t removable(const sw_pool_member *m, size_t n, uint64_t capacity, double need,
                          uint32_t current, uint32_t min)
{
    uint32_t k = 0;
    uint64_t slots[256];
    size_t ns = 0;
    for (size_t i = 0; i < n && ns < 256; i++) {
        if (m[i].heartbeat && !m[i].draining && m[i].managed) {
            slots[ns++] = m[i].slots;
        }
    }
    for (size_t i = 0; i < ns; i++) {
        if (current - k <= min || (double)(capacity - slots[i]) < need) {
            break;
        }
        capacity -= slots[i];
        k++;
    }
    return k;
}

static void out_reason(sw_scale_plan *plan, const sw_autoscale *as, const char *why)
{
    snprintf(plan->reason, sizeof(plan->reason),
             "backlog %llu, running %llu, P=%.2f over %u ready slots (target %.2f)%s%s",
             (unsigned long long)plan->queued, (unsigned long long)plan->running,
             plan->pressure >= NO_CAPACITY ? INFINITY : plan->pressure, plan->ready_slots,
             as->target, why[0] ? "; " : "", why);
}

static void scale_out(const sw_autoscale *as, const sw_pool_member *m, size_t n,
                      sw_scale_plan *plan, uint32_t add, const char *why)
{
    plan->action = SW_SCALE_OUT;
    plan->desired = plan->current + add;
    for (size_t i = 0; i < n && plan->nundrain < add && plan->nundrain < SW_SCALE_MAX_UNDRAIN;
         i++) {
        if (m[i].heartbeat && m[i].draining && m[i].by_us && m[i].managed) {
            plan->undrain[plan->nundrain++] = i;
        }
    }
    plan->create = add - (uint32_t)plan->nundrain;
    out_reason(plan, as, why);
}

void sw_scale_decide(const sw_autoscale *as, const sw_pool_member *m, size_t n,
                     const sw_backlog *backlog, int64_t now_ms, sw_scale_memory *memory,
                     sw_scale_plan *plan)
{
    tally t;
    double demand, slots = as->slots, need_out, need_in, p_out, p_in;
    uint64_t capacity;
    uint32_t add = 0;
    long cand;
    bool low;
    const char *why = "";

    memset(plan, 0, sizeof(*plan));
    plan->drain = -1;
    count(&t, m, n);
    plan->ready = t.ready;
    plan->starting = t.starting;
    plan->draining = t.draining;
    plan->current = t.ready + t.starting;
    plan->ready_slots = (uint32_t)t.ready_slots;
    if (backlog->known) {
        plan->queued = backlog->pending;
        plan->running = backlog->ack_pending > t.busy_draining
                            ? backlog->ack_pending - t.busy_draining
                            : 0;
    }
    if (plan->running < t.busy_ready) {
        /* the figures are older than a heartbeat that says a job was taken:
         * it moved from queued to running, it is not both */
        uint64_t moved = t.busy_ready - plan->running;
        plan->queued = plan->queued > moved ? plan->queued - moved : 0;
        plan->running = t.busy_ready;
    }
    demand = (double)(plan->queued + plan->running);
    plan->pressure = t.ready_slots > 0 ? demand / (double)t.ready_slots
                     : demand > 0      ? NO_CAPACITY
                                       : 0;

    /* scale-out: starting builders are present and empty */
    capacity = t.ready_slots + t.starting_slots;
    p_out = capacity > 0 ? demand / (double)capacity : (demand > 0 ? NO_CAPACITY : 0);
    need_out = demand / as->target;
    if (need_out > (double)capacity &&
        !(capacity > 0 && fabs(p_out / as->target - 1) <= as->dead_band)) {
        add = (uint32_t)ceil((need_out - (double)capacity) / slots - 1e-9);
    }
    if (demand + as->min_idle * slots > (double)capacity) {
        uint32_t idle_add =
            (uint32_t)ceil((demand + as->min_idle * slots - (double)capacity) / slots - 1e-9);
        if (idle_add > add) {
            add = idle_add;
            why = "keeping min_idle free";
        }
    }
    if (plan->current + add < as->min) {
        add = as->min - plan->current;
        why = "below min";
    }
    if (plan->current + add > as->max) {
        add = plan->current >= as->max ? 0 : as->max - plan->current;
    }
    if (add > 0) {
        memory->low_since_ms = 0;
        scale_out(as, m, n, plan, add, why);
        return;
    }

    /* scale-in: starting builders are full */
    plan->desired = plan->current;
    if (plan->current > as->max) {
        plan->desired = as->max;
    }
    demand += (double)t.starting_slots;
    need_in = demand / as->target;
    if (demand + as->min_idle * slots > need_in) {
        need_in = demand + as->min_idle * slots;
    }
    p_in = capacity > 0 ? demand / (double)capacity : 0;
    cand = candidate(m, n);
    if (!backlog->known) {
        memory->low_since_ms = 0;
        out_reason(plan, as, "hold (no backlog figures: no scale-in)");
        return;
    }
    /* low_since is when P went low, also while above max (where a drain does
     * not wait for it), so a pool back at max waits its whole window */
    low = cand >= 0 && plan->current > as->min &&
          (double)(capacity - m[cand].slots) >= need_in && p_in / as->target < 1 - as->dead_band;
    if (!low) {
        memory->low_since_ms = 0;
    } else if (memory->low_since_ms == 0) {
        memory->low_since_ms = now_ms;
    }
    if (plan->current <= as->max) {
        if (!low) {
            out_reason(plan, as, "hold");
            return;
        }
        plan->desired =
            plan->current - removable(m, n, capacity, need_in, plan->current, as->min);
    }
    if (t.draining_by_us) {
        char why_hold[128];
        snprintf(why_hold, sizeof(why_hold), "hold (waiting for %s to drain)", t.draining_name);
        out_reason(plan, as, why_hold);
        return;
    }
    if (plan->current <= as->max &&
        now_ms - memory->low_since_ms < (int64_t)as->scale_in_after_ms) {
        char why_hold[128];
        snprintf(why_hold, sizeof(why_hold), "hold (P low for %llds of the %llds before a scale-in)",
                 (long long)((now_ms - memory->low_since_ms) / 1000),
                 (long long)(as->scale_in_after_ms / 1000));
        out_reason(plan, as, why_hold);
        return;
    }
    if (cand < 0) {
        out_reason(plan, as, "hold (above max, but no builder of the provider's to drain)");
        return;
    }
    plan->action = SW_SCALE_IN;
    plan->drain = cand;
    if (plan->current <= as->max) {
        plan->desired = plan->current - 1; /* above max it stays max */
    }
    {
        char why_in[160];
        if (plan->current > as->max) {
            snprintf(why_in, sizeof(why_in), "above max %u", as->max);
        } else if (m[cand].busy == 0) {
            snprintf(why_in, sizeof(why_in), "P low for %llds; %s idle %llds",
                     (long long)((now_ms - memory->low_since_ms) / 1000), m[cand].name,
                     (long long)((now_ms - m[cand].idle_since_ms) / 1000));
        } else {
            snprintf(why_in, sizeof(why_in), "P low for %llds; %s the least busy (%u running)",
                     (long long)((now_ms - memory->low_since_ms) / 1000), m[cand].name,
                     m[cand].busy);
        }
        out_reason(plan, as, why_in);
    }
}

const char *sw_scale_action_name(sw_scale_action action)
{
    return action == SW_SCALE_OUT ? "scale_out" : action == SW_SCALE_IN ? "scale_in" : "hold";
}
