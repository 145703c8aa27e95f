/*
 * normalize_internal.h - what normalize.c shares with the per-forge readers
 * (normalize_github.c, normalize_gitlab.c, normalize_bitbucket.c). Not part of
 * the webhook's face: only the normalize*.c files include it.
 *
 * The readers pick fields out of the parsed body with these helpers and hand
 * them to sw_hook_push / sw_hook_pr, which check them (ref format, sha as hex)
 * and fill the event. A field the event needs goes through sw_hook_req_*: when
 * it is missing or of the wrong type, that is SW_EINVALID with a message naming
 * the field's path. An optional field goes through sw_hook_opt_*: missing or
 * of the wrong type, it is NULL.
 */
#ifndef SW_WEBHOOK_NORMALIZE_INTERNAL_H
#define SW_WEBHOOK_NORMALIZE_INTERNAL_H

#include "actors/webhook/normalize.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value at a dotted path ("pull_request.head.sha") below obj; NULL when a
 * step is missing or not an object. Borrowed. */
json_t *sw_hook_get(json_t *obj, const char *path);

/* The string at path, or NULL when it is missing or not a string. Borrowed. */
const char *sw_hook_opt_str(json_t *obj, const char *path);

/* The string at path, or NULL when it is missing, not a string, or not a sha
 * (7 to 64 hex digits). */
const char *sw_hook_opt_sha(json_t *obj, const char *path);

/* The string / object / array / positive 32-bit integer at path. Missing or of
 * another type: SW_EINVALID, the message saying "<what>: <path> ...". */
int sw_hook_req_str(const char **out, json_t *obj, const char *path, const char *what);
int sw_hook_req_obj(json_t **out, json_t *obj, const char *path, const char *what);
int sw_hook_req_array(json_t **out, json_t *obj, const char *path, const char *what);
int sw_hook_req_u32(uint32_t *out, json_t *obj, const char *path, const char *what);

/* The element of the array commits whose key id_key equals sha; NULL when none
 * (or commits is not an array). Borrowed. */
json_t *sw_hook_find_commit(json_t *commits, const char *id_key, const char *sha);

/* True when sha is all zeros (a forge's "no commit": a created or deleted ref). */
bool sw_hook_is_zero_sha(const char *sha);

/* Copies s into buf (size n), cut to fit, every byte that is not printable
 * ASCII replaced by '?': for names from a header or body put in a reason.
 * NULL gives "(none)". Returns buf. */
const char *sw_hook_printable(char *buf, size_t n, const char *s);

/* A copy of s (caller frees), or NULL when s is NULL. */
char *sw_hook_strdup_or_null(const char *s);

/* Sets the repository's name (required: non-empty, no spaces or control
 * characters) and its clone URLs (either may be NULL). */
int sw_hook_set_repository(sw_hook_event *ev, const char *name, const char *clone_url,
                           const char *ssh_url, const char *what);

/* Kind IGNORED with reason (printf-style). Returns 0. */
int sw_hook_ignore(sw_hook_event *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A ping: kind PING with a reason. Returns 0. */
int sw_hook_ping(sw_hook_event *ev);

/* What a push needs; the reader fills it from the body. */
typedef struct sw_hook_push_fields {
    const char *ref;     /* refs/heads/x or refs/tags/x */
    const char *sha;     /* the commit to build; NULL: the ref was deleted */
    const char *before;  /* the previous sha when the payload has one, else NULL */
    const char *author;  /* the head commit's author, or NULL */
    const char *message; /* the head commit's full message, or NULL */
} sw_hook_push_fields;

/*
 * A push (or, sha NULL, the deletion) of a branch or tag. Fills kind (PUSH,
 * TAG or DELETE; IGNORED for a ref that is neither), ref, branch or tag,
 * before, sha, author, message (first line) and skip_ci. An invalid ref or
 * sha is SW_EINVALID.
 */
int sw_hook_push(sw_hook_event *ev, const sw_hook_push_fields *f, const char *what);

/* What a pull / merge request build needs; the reader fills it from the body. */
typedef struct sw_hook_pr_fields {
    const char *action;  /* the forge's action, kept as is */
    uint32_t number;     /* PR number (GitLab: iid) */
    const char *ref;     /* the ref the head commit is fetched through */
    const char *branch;  /* the source (head) branch */
    const char *sha;     /* the head commit */
    const char *before;  /* the previous head when the payload has one, else NULL */
    const char *author;  /* see sw_hook_event.author */
    const char *message; /* the head commit's full message when the payload has one */
    const char *title;
} sw_hook_pr_fields;

/* Kind PR from f, with message (first line) and skip_ci as for a push; an
 * invalid ref or sha is SW_EINVALID. */
int sw_hook_pr(sw_hook_event *ev, const sw_hook_pr_fields *f, const char *what);

/* The readers, one per payload family. event may be NULL (no event header). */
int sw_hook_github(sw_hook_event *ev, sw_forge_type forge, const char *event, json_t *root);
int sw_hook_gitlab(sw_hook_event *ev, const char *event, json_t *root);
int sw_hook_bitbucket(sw_hook_event *ev, const char *event, json_t *root);

#endif
