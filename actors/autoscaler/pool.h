/*
 * pool.h - what the autoscaler knows of one autoscaled cluster's builders:
 * their heartbeats, the ones it asked the provider for, the ones it drains.
 * Owned by the autoscaler actor's thread.
 */
#ifndef SW_AUTOSCALE_POOL_H
#define SW_AUTOSCALE_POOL_H

#include "actors/autoscaler/decide.h"
#include "actors/autoscaler/lease.h"
#include "slipway.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sw_member {
    char name[72];
    char incarnation[40];
    uint32_t slots, busy;
    bool draining, drained, by_us; /* as its last heartbeat says */
    int64_t hb_ms;                 /* mono: its last heartbeat; 0: none yet */
    int64_t idle_since_ms;         /* mono: busy has been 0 since */
    bool managed;                  /* the provider made it */
    bool starting;                 /* asked for, no heartbeat yet */
    int64_t created_ms;            /* mono: when it was asked for (or adopted) */
    bool drain_asked;              /* the autoscaler asked it to drain and exit */
    bool destroying;               /* a destroy call is under way */
    int64_t destroy_after_ms;      /* mono: retry a failed destroy no sooner */
    bool gone;                     /* destroyed: ignore its incarnation's late heartbeats */
    int64_t gone_ms;
} sw_member;

typedef struct sw_pool {
    char cluster[72];
    const sw_cluster *cfg;         /* in the actor's config */
    sw_lease lease;
    bool leading;
    int64_t lead_ms;               /* mono: since when */
    bool listed, listing;          /* the provider's list arrived since leading / is asked */
    int64_t list_after_ms;
    sw_member *m;
    size_t n;
    sw_backlog backlog;
    int64_t backlog_ms;            /* mono: last read */
    bool backlog_wanted;           /* a job arrived: read again now */
    sw_scale_memory memory;
    sw_scale_plan plan;            /* the last evaluation */
    uint32_t failures;             /* creates or starts failed in a row */
    int64_t retry_at_ms;           /* mono: no create before */
    char halted[320];              /* why it stopped creating ("" when it did not) */
    Slipway__ScaleDecision last;   /* strings point into the buffers below */
    char last_action[16], last_reason[400], last_builder[72], last_by[128];
    int64_t status_ms;             /* mono: last PoolStatus sent */
    Slipway__PoolStatus *seen;     /* following: the leader's last status (owned) */
} sw_pool;

sw_member *sw_pool_find(sw_pool *p, const char *name);
sw_member *sw_pool_add(sw_pool *p, const char *name);
void sw_pool_remove(sw_pool *p, sw_member *m);
void sw_pool_free(sw_pool *p);

/* The members as the decision sees them (heartbeat fresh within lapse_ms);
 * out has room for p->n entries. Returns how many were written; index[i] is
 * the member of out[i]. */
size_t sw_pool_view(const sw_pool *p, int64_t now_ms, int64_t lapse_ms, sw_pool_member *out,
                    size_t *index);

/* One word for a member's state: starting, ready, busy, draining, drained,
 * silent, destroying. */
const char *sw_member_state(const sw_member *m, int64_t now_ms, int64_t lapse_ms);

#endif
