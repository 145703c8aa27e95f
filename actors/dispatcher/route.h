/*
 * route.h - where a build goes: the region most of its project's recent
 * sources are in (a decayed count), unless the project pins its region.
 *
 * DESIGN
 * A mix (Slipway__RouteMix) is a fold of the source profiles of a project's
 * finished builds, newest weighing most: each build multiplies what is there
 * by 0.5^(1/half_life), then adds 1 for each source it lists. Hosts are kept,
 * not regions, so a change to `regions:` applies to what was learned already.
 *
 * The decision, in order:
 *   1. the project's `region:` (job->region_pinned) always wins;
 *   2. routing.learn off, or nothing learned yet: the project's region (the
 *      config's default_region);
 *   3. the region with the largest weight of sources (unknown hosts count for
 *      nothing; a tie keeps the project's region if it is in the tie, else
 *      the first by name) when a cluster of the tier is there;
 *   4. else the project's region, saying why.
 * Every decision carries its reason, for the PLACED event and `slipway show`.
 */
#ifndef SW_ROUTE_H
#define SW_ROUTE_H

#include "runtime/config.h"
#include "slipway.pb-c.h"

#include <stdbool.h>

/* Kept per mix: the heaviest hosts, and the ids of the builds learned last. */
#define SW_ROUTE_MAX_HOSTS 64
#define SW_ROUTE_RECENT 16

/* The factor a build leaves the builds before it with: 0.5^(1/half_life). */
double sw_route_decay(uint32_t half_life);

/* Learns the profile of build_id into mix. A build in mix->recent is not
 * learned again (a FINISHED told twice); returns whether it was learned. */
bool sw_route_learn(Slipway__RouteMix *mix, const char *build_id,
                    const Slipway__SourceProfile *profile, uint32_t half_life);

typedef struct sw_route {
    const char *region; /* job's, or a cluster's of cfg: valid while both are */
    bool learned;       /* chosen by the mix, not by the pin or the default */
    char reason[512];   /* "region overseas: 9 of 11 sources (pypi.org x6, ...) ..." */
} sw_route;

/* Where job (of tier) goes by cfg and mix (NULL: nothing learned). */
void sw_route_decide(const sw_config *cfg, const char *tier, const Slipway__Job *job,
                     const Slipway__RouteMix *mix, sw_route *out);

#endif
