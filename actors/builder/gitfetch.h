/*
 * gitfetch.h - fetch one commit of a repository into a fresh working tree (libgit2).
 *
 * A repository is initialised at dest with an "origin" remote, the one ref asked for
 * is fetched, the commit is resolved and checked out (forced, detached HEAD).
 * (A per-builder mirror cache will sit in front of this; see the issue log.)
 */
#ifndef SW_GITFETCH_H
#define SW_GITFETCH_H

#include <stdint.h>

typedef struct sw_gitfetch_opts {
    volatile int *cancel;   /* optional: non-zero stops the transfer (SW_ESTOPPED) */
    int64_t deadline_ms;    /* optional: sw_clock_mono_ms() past which it stops (SW_ETIMEDOUT) */
    void *ud;
    void (*tick)(void *ud); /* optional: called from libgit2's progress callbacks */
} sw_gitfetch_opts;

/* Fetches ref from url into a repository at dest and checks out the commit.
 *   url: anything libgit2 reads: git://host:port/repo.git, a path, file://, https://
 *   ref: "main" (a branch, else a tag of that name), "refs/heads/x", "refs/tags/v1",
 *        "refs/pull/2/head", or NULL/"" for the remote's HEAD
 *   sha: NULL/"" for the commit ref points at; else a commit (full or abbreviated hex)
 *        that must be in what was fetched
 *   dest: a directory that is empty or does not exist
 * Writes the checked-out commit's 40-hex id (NUL-terminated) to sha_out.
 * Errors: SW_EIO when the repository cannot be reached or read (libgit2's message
 * included), SW_ENOTFOUND for an unknown ref or sha, SW_EINVALID for a malformed sha. */
int sw_gitfetch(const char *url, const char *ref, const char *sha, const char *dest,
                char sha_out[41]);

/* As sw_gitfetch, with cancellation, a deadline and progress ticks (opts may be NULL). */
int sw_gitfetch_ext(const char *url, const char *ref, const char *sha, const char *dest,
                    const sw_gitfetch_opts *opts, char sha_out[41]);

#endif
