/*
 * buildstate.h - a build's life as a fold over its events.
 *
 * received -> queued -> dispatched -> running(attempt n, builder b) ->
 * succeeded | failed | errored | cancelled | timed_out, with
 * running -> rescheduling -> running(attempt n+1) when a builder is lost.
 *
 * DESIGN
 * Delivery is at least once, so the same event can arrive twice and events of
 * an attempt that was superseded can arrive late. sw_build_apply is therefore
 * idempotent and fenced on the attempt: an event of an older attempt than the
 * record's never changes it, and the first final state is the only one that
 * counts. The scheduler's view and `slipway logs -f` both fold with it.
 */
#ifndef SW_BUILDSTATE_H
#define SW_BUILDSTATE_H

#include "slipway.pb-c.h"

#include <stdbool.h>

/* "queued", "running", "succeeded", ... ("unknown" for anything else). */
const char *sw_state_name(int state);

/* The state named name, or SLIPWAY__BUILD_STATE__UNKNOWN. */
int sw_state_parse(const char *name);

/* succeeded, failed, errored, cancelled or timed_out. */
bool sw_state_is_final(int state);

/* The lane a newer build of the same project supersedes (cancel_superseded):
 * "pr:<n>" for a pull/merge request, "branch:<name>" for a branch (from the
 * request's branch, or a refs/heads/ ref), "" for a tag or anything else,
 * which nothing supersedes. Written into buf (size n); returns buf. */
const char *sw_build_lane(char *buf, size_t n, const Slipway__BuildRecord *rec);

/* What a cancelled build says in its log and record: "cancelled by <by>: <why>",
 * "cancelled by <by>", or "cancelled: <why>" when by is empty. Returns buf. */
const char *sw_cancel_reason(char *buf, size_t n, const char *by, const char *why);

/* True when id can be a build id: 1 to 64 of [a-z0-9] (what sw_wire_build_id
 * makes, and nothing a subject or a path could be tricked with). */
bool sw_build_id_valid(const char *id);

/* Fills br (initialised) as a new run of rec: its tenant, project, ref, commit
 * (empty when it never fetched: the ref's head), branch, tag, pull request,
 * message, and retry_of = rec's id. Strings are borrowed from rec; the caller
 * sets request_id, forge and author. */
void sw_build_retry_request(Slipway__BuildRequest *br, const Slipway__BuildRecord *rec);

/* How the build came about: "push", "pr", "tag", "cli" or "retry". */
const char *sw_build_trigger(const Slipway__BuildRecord *rec);

/* A ref in the one form Slipway shows everywhere: a branch or a tag by its
 * name ("refs/heads/main" and "main" both show "main", "refs/tags/v1" shows
 * "v1"), anything else (refs/pull/2/head) as it is; NULL shows "". Points
 * into ref. */
const char *sw_ref_display(const char *ref);

/* The exit code `slipway logs -f` gives for a final state (0 succeeded, 1 failed,
 * 3 errored, 4 timed out, 5 cancelled). */
int sw_state_exit_code(int state);

typedef enum {
    SW_APPLY_IGNORED = 0, /* duplicate or stale: the record is unchanged */
    SW_APPLY_CHANGED = 1, /* the record changed */
} sw_apply_result;

/* Applies ev to rec (a record that starts zeroed, initialised with
 * slipway__build_record__init). Returns SW_APPLY_CHANGED or SW_APPLY_IGNORED,
 * or SW_EINVALID (with a message) for an event that can never be legal: no build
 * id, a FINISHED without a final state, a build id that is not rec's, any event
 * before CREATED. Strings copied into rec are owned by rec; free it with
 * sw_build_record_clear. */
int sw_build_apply(Slipway__BuildRecord *rec, const Slipway__BuildEvent *ev);

/* Frees the strings a record owns and zeroes it (re-initialised). */
void sw_build_record_clear(Slipway__BuildRecord *rec);

/* Deep copy of a record (strings duplicated). */
void sw_build_record_copy(Slipway__BuildRecord *dst, const Slipway__BuildRecord *src);

#endif
