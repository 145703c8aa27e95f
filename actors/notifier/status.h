/*
 * status.h - commit statuses: which one a build asks for, and the HTTP request
 * that sets it on each forge. Pure functions: no I/O, no clock.
 *
 * A build's status is a function of its folded record (runtime/buildstate.h):
 * its kind comes from the state, and its attempt fences it, so the status of a
 * superseded attempt is never mistaken for the current one.
 *
 *   record state                     kind           github   gitlab   gitea    bitbucket(-server)
 *   received, queued, dispatched     QUEUED         pending  pending  pending  INPROGRESS
 *   running                          RUNNING        pending  running  pending  INPROGRESS
 *   rescheduling                     RESCHEDULING   pending  running* pending  INPROGRESS
 *   succeeded                        SUCCEEDED      success  success  success  SUCCESSFUL
 *   failed                           FAILED         failure  failed   failure  FAILED
 *   errored, timed_out               ERRORED        error    failed   error    FAILED
 *   cancelled                        CANCELLED      error    canceled error    STOPPED (server:
 * FAILED)
 *
 * (*) GitLab's commit statuses are a state machine that refuses running ->
 * pending, pending -> pending and running -> running with a 400 ("Cannot
 * transition status via :enqueue from :running"), so on GitLab a status is only
 * sent when the GitLab state changes (sw_status_same) and a rescheduled build
 * stays "running" there until its result.
 */
#ifndef SW_NOTIFIER_STATUS_H
#define SW_NOTIFIER_STATUS_H

#include "runtime/config.h"
#include "slipway.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Forge limits: GitHub refuses a description over 140 characters (422). */
#define SW_STATUS_DESCRIPTION_MAX 140

typedef enum sw_status_kind {
    SW_STATUS_NONE = 0, /* no status (nothing sent yet, or a record before CREATED) */
    SW_STATUS_QUEUED,
    SW_STATUS_RUNNING,
    SW_STATUS_RESCHEDULING,
    SW_STATUS_SUCCEEDED,
    SW_STATUS_FAILED,
    SW_STATUS_ERRORED,
    SW_STATUS_CANCELLED,
} sw_status_kind;

/* A status's identity: what is compared to decide whether to send. */
typedef struct sw_status {
    sw_status_kind kind;
    uint32_t attempt;
} sw_status;

/* The status rec asks for. */
sw_status sw_status_of(const Slipway__BuildRecord *rec);

/* True when, on forge, sending b after a would change nothing (or, on GitLab,
 * would be refused): same kind and, for running and rescheduling, same attempt;
 * on GitLab, the same GitLab state. */
bool sw_status_same(sw_forge_type forge, sw_status a, sw_status b);

/* True for succeeded, failed, errored and cancelled. */
bool sw_status_is_final(sw_status_kind kind);

/* The forge's word for kind ("pending", "INPROGRESS", ...); NULL for NONE. */
const char *sw_status_forge_state(sw_forge_type forge, sw_status_kind kind);

/* A short name for kind, for logs: "queued", "running", "success", ... */
const char *sw_status_kind_name(sw_status_kind kind);

/* Writes the description of rec's status into buf (n bytes; 4 * 141 is always
 * enough): "queued", "running on b1 (attempt 2)", "succeeded in 12s", "failed at
 * step 'test' (exit 1)", "errored: <reason>", ... At most
 * SW_STATUS_DESCRIPTION_MAX characters of valid UTF-8 (bytes from the bus that
 * are not are replaced, control characters become spaces; a cut ends in "…").
 * Returns buf. */
const char *sw_status_describe(char *buf, size_t n, const Slipway__BuildRecord *rec);

/* Copies src into buf (n bytes) as valid UTF-8 of at most max_chars characters
 * (see sw_status_describe). Returns buf. */
const char *sw_status_clean_text(char *buf, size_t n, const char *src, size_t max_chars);

#define SW_STATUS_MAX_HEADERS 8

/* One HTTP POST; every string is owned by the request. */
typedef struct sw_status_request {
    char *url;
    char *headers[SW_STATUS_MAX_HEADERS]; /* "Name: value" */
    size_t nheaders;
    char *body; /* JSON */
} sw_status_request;

/* Fills *out with the request that sets a commit status on forge:
 *   github            POST {api}/repos/{owner}/{repo}/statuses/{sha}
 *   gitlab            POST {api}/projects/{url-encoded repo or numeric id}/statuses/{sha}
 *   gitea             POST {api}/repos/{owner}/{repo}/statuses/{sha}
 *   bitbucket         POST {api}/2.0/repositories/{workspace}/{repo}/commit/{sha}/statuses/build
 *   bitbucket-server  POST {api}/rest/build-status/1.0/commits/{sha}
 * description must be valid UTF-8 (sw_status_describe makes it so). SW_EINVALID
 * (with a message) when forge has no token, api_url or repo, the repo is not
 * owner/name where the forge wants it, the sha is not 7 to 64 hex digits, or
 * kind is NONE. Free with sw_status_request_finish. */
int sw_status_request_make(sw_status_request *out, const sw_forge_config *forge, const char *sha,
                           sw_status_kind kind, const char *description, const char *target_url);

/* Frees what a request owns and zeroes it; safe on a zeroed request. */
void sw_status_request_finish(sw_status_request *req);

/* The link to a build: {public_url}/builds/{build_id, percent-encoded}; caller frees. */
char *sw_status_target_url(const char *public_url, const char *build_id);

/* The same link signed with link_key until now_s + ttl_ms (runtime/buildlink.h):
 * {public_url}/builds/{build_id}?exp=...&sig=...; link_key NULL: the unsigned
 * link. Caller frees. */
char *sw_status_signed_url(const char *public_url, const char *build_id, const char *link_key,
                           uint64_t ttl_ms, int64_t now_s);

#endif
