/*
 * fairshare.h - which tenant's job a dispatcher places next: round robin
 * across the tenants of a tier that have a job waiting and are under their
 * max_running. Pure: no bus, no clock, no config.
 *
 * DESIGN
 * Every job costs the same here (one slot), so deficit round robin with a
 * quantum of one job is plain round robin: a cursor walks the lanes (one per
 * tenant, in the order the dispatcher first saw them) and the next placement
 * goes to the first lane at or after it that can go, which moves the cursor
 * past that lane. A tenant with one job waiting therefore waits for at most
 * one job of every other tenant, however many those have queued.
 */
#ifndef SW_FAIRSHARE_H
#define SW_FAIRSHARE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_fair_lane {
    size_t ready;         /* jobs of this tenant the cluster at hand could take */
    uint32_t running;     /* of this tenant: placed and not ended */
    uint32_t max_running; /* 0: no bound */
} sw_fair_lane;

/* The index of the lane to place from next, or -1 when no lane has a ready
 * job under its max_running. *cursor (kept by the caller between calls,
 * any value) is moved past the lane chosen. */
int sw_fair_next(const sw_fair_lane *lanes, size_t n, size_t *cursor);

#endif
