/*
 * routes.h - the dispatcher's routing memory, kept in LMDB: one mix
 * (route.h) per project and per branch of a project.
 *
 * DESIGN
 * Like the scheduler's view, it is a fold of EVENTS: the FINISHED events that
 * carry a source profile are learned into the mix of their project and of
 * their branch, in one transaction with the stream sequence applied. Deleting
 * the directory and restarting the dispatcher rebuilds it from EVENTS; an
 * event at or below the remembered sequence is skipped, and a build learned
 * already is not learned again, so replays are harmless. The sequence of
 * events that teach nothing is written every so often, not each time.
 * What is learned goes into one open transaction that sw_routes_flush commits
 * (the dispatcher flushes when its mailbox is empty; at most 512 events): a
 * batch lost in a crash or a failed commit is learned again from EVENTS at
 * the next start. Lookups see the open batch.
 */
#ifndef SW_ROUTES_H
#define SW_ROUTES_H

#include "slipway.pb-c.h"

#include <stdint.h>

typedef struct sw_routes sw_routes;

/* Opens (creating) the store in directory dir. */
int sw_routes_open(sw_routes **out, const char *dir);

/* Writes the sequence applied and closes. Accepts NULL; nulls the pointer. */
void sw_routes_destroy(sw_routes **routes_p);

/* Commits what was learned since the last flush (0 when nothing was). */
int sw_routes_flush(sw_routes *routes);

/* The last EVENTS sequence applied (0: none). */
uint64_t sw_routes_seq(const sw_routes *routes);

/* Applies the event read at EVENTS sequence seq. Returns 1 when it taught
 * something, 0 when not, or an error. */
int sw_routes_apply(sw_routes *routes, const Slipway__BuildEvent *ev, uint64_t seq,
                    uint32_t half_life);

/* The mix to route a build of project on branch by: the branch's when it has
 * learned a build, else the project's. *out is NULL when neither has (else
 * free with slipway__route_mix__free_unpacked). */
int sw_routes_mix(sw_routes *routes, const char *project, const char *branch,
                  Slipway__RouteMix **out);

#endif
