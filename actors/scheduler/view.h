/*
 * view.h - the scheduler's view of every build, kept in LMDB.
 *
 * DESIGN
 * The view is a fold of the EVENTS stream (sw_build_apply) and remembers the
 * stream sequence it has applied up to, in the same transaction as the record.
 * Deleting the directory and restarting the scheduler rebuilds it from EVENTS;
 * an event at or below the remembered sequence is skipped, so replays are
 * harmless.
 *
 * Events are applied into one open write transaction (a batch, at most
 * SW_VIEW_BATCH events) that sw_view_flush commits: the scheduler flushes when
 * its mailbox is empty, so a burst of events costs one commit (two syncs)
 * instead of one each. Reads see the open batch. Nothing is acknowledged on
 * the strength of the view: EVENTS holds every event, so a batch lost in a
 * crash is applied again from the committed sequence at the next start. A
 * batch whose commit fails is applied again event by event.
 */
#ifndef SW_VIEW_H
#define SW_VIEW_H

#include "slipway.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sw_view sw_view;

/* Opens (creating) the view in directory dir. */
int sw_view_open(sw_view **out, const char *dir);
void sw_view_destroy(sw_view **view_p);

/* The last EVENTS sequence applied (0: none). */
uint64_t sw_view_seq(sw_view *view);

/* The builds of tenant that wait: received, queued, placed or to be placed
 * again, not started and not ended (what max_queued bounds). */
uint32_t sw_view_waiting(sw_view *view, const char *tenant);

/* Applies an event read at stream sequence seq. Returns SW_APPLY_CHANGED,
 * SW_APPLY_IGNORED (stale, duplicate, or seq already applied) or an error. */
int sw_view_apply(sw_view *view, const Slipway__BuildEvent *ev, uint64_t seq);

/* Commits the open batch (0 when there is none). On failure its events are
 * applied again one transaction each (see DESIGN) and the error returned. */
int sw_view_flush(sw_view *view);

/* The record of build_id (caller frees with slipway__build_record__free_unpacked);
 * SW_ENOTFOUND when there is none. */
int sw_view_get(sw_view *view, const char *build_id, Slipway__BuildRecord **out);

/* Up to limit records, newest first, of one tenant (or all when tenant is NULL
 * or ""). *out is an array the caller frees with sw_view_list_free. */
int sw_view_list(sw_view *view, const char *tenant, size_t limit, Slipway__BuildRecord ***out,
                 size_t *n_out);
void sw_view_list_free(Slipway__BuildRecord **list, size_t n);

/* What sw_view_find looks for; NULL, "" and 0 match anything. */
typedef struct sw_view_query {
    const char *tenant;
    const char *project;
    const char *ref;    /* either form: "main" matches refs/heads/main (sw_ref_display) */
    int state;          /* a BuildState */
    const char *cursor; /* a next_cursor of an earlier call: the builds older than its */
    size_t limit;       /* at most this many records (> 0) */
    size_t scan;        /* at most this many records read (0: no bound) */
} sw_view_query;

#define SW_VIEW_CURSOR_MAX 96

/* The records matching q, newest first (freed with sw_view_list_free). When it
 * stopped at q->limit matches or q->scan records read and older records remain,
 * next (SW_VIEW_CURSOR_MAX bytes) is the cursor of the rest, else "". A page
 * can have fewer than limit records and a cursor: ask again. SW_EINVALID for
 * a cursor that is not one. */
int sw_view_find(sw_view *view, const sw_view_query *q, Slipway__BuildRecord ***out,
                 size_t *n_out, char *next);

/* The builds of project in lane (sw_build_lane) that have not ended, oldest
 * first; free with sw_view_list_free. */
int sw_view_lane(sw_view *view, const char *project, const char *lane,
                 Slipway__BuildRecord ***out, size_t *n_out);

#endif
