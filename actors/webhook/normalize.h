/*
 * normalize.h - a forge's webhook payload turned into the fields of a build.
 *
 * Pure: no I/O, no globals; safe from any thread. The body is JSON already
 * authenticated by the caller (signature.h); nothing here trusts it further than
 * its shape: every field is type-checked, a missing optional field is NULL.
 *
 * What starts a build (kind PUSH, TAG or PR with skip_ci false):
 *   - a branch or tag push that does not delete the ref;
 *   - a pull/merge request opened, reopened or synchronized (new commits):
 *     the head commit is built through the forge's PR ref (refs/pull/N/head,
 *     GitLab refs/merge-requests/IID/head), pr_number kept.
 * PING answers 200; DELETE (ref deleted) and IGNORED answer 202 without a build,
 * with `reason` saying why.
 *
 * Per forge (the code is split by forge: normalize_github.c for GitHub and
 * Gitea, normalize_gitlab.c, normalize_bitbucket.c for Cloud and Server):
 *   - GitHub: push, pull_request (opened, reopened, synchronize), ping.
 *   - Gitea / Forgejo: push, pull_request (opened, reopened, synchronized),
 *     delete (DELETE); create is IGNORED (its push is built). No ping.
 *   - GitLab: Push Hook, Tag Push Hook, Merge Request Hook (open, reopen, and
 *     update only with object_attributes.oldrev, i.e. new commits).
 *   - Bitbucket Cloud: repo:push, pullrequest:created / :updated; Server:
 *     repo:refs_changed, pr:opened / :from_ref_updated; both diagnostics:ping.
 *     Bitbucket has no PR refs: a PR builds refs/heads/<source branch>, cloned
 *     from the source repository. A push builds the first change that does not
 *     delete its ref; its other changes are not built.
 *
 * What reaches git is checked: the ref must be a valid git ref name under
 * refs/ and the sha 7 to 64 hex digits, else SW_EINVALID. Duplicate keys in
 * the body are refused. Names from the body or the event header that go into
 * `reason` are cut short and reduced to printable ASCII. Gitea's deprecated
 * body field "secret" is never read.
 */
#ifndef SW_WEBHOOK_NORMALIZE_H
#define SW_WEBHOOK_NORMALIZE_H

#include "runtime/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sw_hook_kind {
    SW_HOOK_IGNORED = 0, /* an event or action that starts no build (reason says which) */
    SW_HOOK_PUSH,        /* branch push */
    SW_HOOK_TAG,         /* tag push */
    SW_HOOK_PR,          /* pull / merge request opened, reopened or synchronized */
    SW_HOOK_PING,        /* the forge checking the hook */
    SW_HOOK_DELETE,      /* a branch or tag deleted */
} sw_hook_kind;

typedef struct sw_hook_event {
    sw_hook_kind kind;
    char *action;      /* PR: the forge's action ("opened", "synchronize", "open", ...) */
    char *repository;  /* owner/name as the forge names it (Bitbucket Server: KEY/slug) */
    char *clone_url;   /* http(s) clone URL; Bitbucket Cloud: derived https://bitbucket.org/<repo>.git */
    char *ssh_url;
    char *ref;         /* refs/heads/x, refs/tags/v1, refs/pull/2/head, refs/merge-requests/1/head */
    char *sha;         /* the commit to build (NULL for delete, ping, ignored) */
    char *before;      /* push: the previous sha when the payload has one */
    char *branch;      /* push and delete of a branch; PR: the head (source) branch */
    char *tag;         /* push and delete of a tag */
    uint32_t pr_number;
    char *pusher;
    char *author;      /* head commit's author name; PR: the PR's author (login, Bitbucket
                        * Cloud display name), GitLab: last_commit's author name */
    char *message;     /* head commit message, first line, trailing '\r' stripped, at most
                        * 1024 bytes; NULL when the payload carries none (PRs except
                        * GitLab's, Bitbucket Server pushes, GitLab tag pushes) */
    char *title;       /* PR title */
    bool skip_ci;      /* the head commit message asks for no build ([skip ci] / [ci skip]) */
    char *reason;      /* IGNORED / DELETE / skip_ci: a sentence for the HTTP answer */
} sw_hook_event;

/*
 * Normalizes one delivery. event is the forge's event header value:
 * X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event (or X-Forgejo-Event), X-Event-Key
 * (Bitbucket; "repo:refs_changed" is read as Bitbucket Server whatever forge says).
 * NULL event: the forge's payload shape decides where it can (GitLab object_kind);
 * elsewhere the delivery is IGNORED ("without an event header").
 *
 * Returns 0 with *out filled (free with sw_hook_event_clear), or SW_EINVALID
 * with sw_error_last() saying what is wrong: empty, over 32 MiB, not JSON, not
 * an object, or a field the event needs missing, of the wrong type or invalid
 * (the caller answers 400). On error *out is zeroed. body need not be
 * NUL-terminated: exactly len bytes are read.
 */
int sw_hook_normalize(sw_hook_event *out, sw_forge_type forge, const char *event,
                      const char *body, size_t len);

/* Frees every string and zeroes *ev. Accepts a zeroed event. */
void sw_hook_event_clear(sw_hook_event *ev);

const char *sw_hook_kind_name(sw_hook_kind kind); /* "push", "tag", "pr", "ping", "delete", "ignored" */

#endif
