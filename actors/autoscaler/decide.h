/*
 * decide.h - the autoscaler's decision for one pool: a pure function of what
 * it sees (the builders, the cluster's backlog, the time) and of what it
 * remembers (since when the pressure has been low). No I/O, so it is tested
 * on tables (tests/test_autoscale_decide.c).
 *
 * THE RULE
 * Demand D = queued + running: the cluster consumer's num_pending, and its
 * num_ack_pending less what draining builders still run (their capacity is
 * leaving); never less than what the ready builders say they run.
 * P = D / ready slots (what `slipway pools` shows).
 *
 * Scale-out (at once): builders still starting count as present and empty
 * (HPA's rule: capacity on its way is not asked for twice). The pool needs
 * D / target slots, and D + min_idle x slots so that min_idle builders stay
 * idle. Within the dead band (|P/target - 1| <= dead_band) the target part
 * asks for no move. Missing backlog figures count as no queue.
 *
 * Scale-in (damped): starting builders count as full. P is low when the pool
 * could lose its best candidate and still hold the need, and P/target is below
 * 1 - dead_band. Only after P stayed low for scale_in_after does it drain one
 * builder: only one the provider made (managed), never while another of its
 * drains is under way, idle ones first (longest idle first), else the least
 * busy. Without backlog figures it never scales in.
 *
 * desired is clamped to [min, max]; min and max count every builder of the
 * cluster, listed under `builders:` or made by the provider. A scale-out first
 * re-activates builders the autoscaler itself was draining, then creates.
 */
#ifndef SW_AUTOSCALE_DECIDE_H
#define SW_AUTOSCALE_DECIDE_H

#include "runtime/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_SCALE_MAX_UNDRAIN 16

typedef struct sw_pool_member {
    const char *name;
    uint32_t slots;
    uint32_t busy;
    bool heartbeat;        /* a heartbeat within the lapse */
    bool starting;         /* created, no heartbeat yet (heartbeat false) */
    bool draining;         /* its heartbeat says draining (or drained) */
    bool by_us;            /* draining because the autoscaler asked: it may undrain it */
    bool managed;          /* the provider made it: the autoscaler may drain it */
    int64_t idle_since_ms; /* when busy last became 0 (read when busy == 0) */
} sw_pool_member;

typedef struct sw_backlog {
    bool known;            /* figures read recently */
    uint64_t pending;      /* num_pending: queued, not yet delivered */
    uint64_t ack_pending;  /* num_ack_pending: delivered, not yet acked */
    uint64_t waiting;      /* num_waiting: pulls waiting (idle capacity) */
} sw_backlog;

/* What the decision remembers between calls; zero it to start. */
typedef struct sw_scale_memory {
    int64_t low_since_ms;  /* 0: P is not low */
} sw_scale_memory;

typedef enum sw_scale_action {
    SW_SCALE_HOLD = 0,     /* nothing to do (reason says why) */
    SW_SCALE_OUT,          /* undrain[] then create */
    SW_SCALE_IN,           /* drain members[drain] */
} sw_scale_action;

typedef struct sw_scale_plan {
    sw_scale_action action;
    uint32_t ready, starting, draining; /* builders */
    uint32_t current;      /* ready + starting */
    uint32_t ready_slots;
    uint64_t queued, running;
    double pressure;       /* P; a large number when D > 0 and no slot is ready */
    uint32_t desired;      /* builders (ready + starting) wanted */
    uint32_t create;       /* new builders to ask the provider for */
    size_t undrain[SW_SCALE_MAX_UNDRAIN]; /* members to re-activate */
    size_t nundrain;
    long drain;            /* member to drain; -1: none */
    char reason[256];
} sw_scale_plan;

void sw_scale_decide(const sw_autoscale *as, const sw_pool_member *members, size_t n,
                     const sw_backlog *backlog, int64_t now_ms, sw_scale_memory *memory,
                     sw_scale_plan *plan);

/* "scale_out", "scale_in", "hold". */
const char *sw_scale_action_name(sw_scale_action action);

#endif
