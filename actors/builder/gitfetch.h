/*
 * gitfetch.h - fetch one commit of a repository into a fresh working tree (libgit2).
 *
 * Without a mirror cache (opts->mirror_dir NULL): a repository is initialised at dest
 * with an "origin" remote, the one ref asked for is fetched from the url, the commit
 * is resolved and checked out (forced, detached HEAD).
 *
 * With a mirror cache (opts->mirror_dir set): the ref is fetched into the builder's
 * bare mirror of the url first (only what the mirror lacks), the commit is resolved
 * there, then copied with its history into dest's own .git (no alternates: dest can
 * be mounted alone) and checked out. See mirror.h for the cache's layout and locking.
 */
#ifndef SW_GITFETCH_H
#define SW_GITFETCH_H

#include <stdint.h>

/* What one fetch did (all zero when nothing was fetched). */
typedef struct sw_gitfetch_stats {
    unsigned received_objects; /* objects received from the url (into the mirror, if any) */
    uint64_t received_bytes;   /* their size on the wire */
    int mirror_created;        /* the mirror was made (or remade, if broken) by this fetch */
    int64_t lock_wait_ms;      /* waited for another fetch of the same mirror */
    int64_t fetch_ms;          /* from the url: connect, negotiate, download (lock held) */
    int64_t checkout_ms;       /* into dest: objects from the mirror, working tree */
    int repacked;              /* the mirror's packs lacked the commit (objects another
                                * tool wrote loose): its history was packed anew */
} sw_gitfetch_stats;

typedef struct sw_gitfetch_opts {
    volatile int *cancel; /* optional: non-zero stops the transfer (SW_ESTOPPED) */
    int64_t deadline_ms;  /* optional: sw_clock_mono_ms() past which it stops (SW_ETIMEDOUT) */
    void *ud;
    void (*tick)(void *ud);   /* optional: called from libgit2's progress callbacks, and
                               * every 20 ms while waiting for a mirror's lock */
    const char *mirror_dir;   /* optional: the builder's cache of bare mirrors (made 0700 if
                               * missing); NULL: no cache, fetch from the url into dest */
    const char *username;     /* optional: user for http(s) basic auth; default
                               * "x-access-token" when a token is given */
    const char *token;        /* optional: password/token for http(s) basic auth, given only
                               * when the server asks; never logged nor written anywhere */
    sw_gitfetch_stats *stats; /* optional out: filled in whatever the outcome */
} sw_gitfetch_opts;

/* Fetches ref from url into a repository at dest and checks out the commit.
 *   url: anything libgit2 reads: git://host:port/repo.git, a path, file://, https://
 *        (a password in the url is kept out of dest's .git/config and of messages)
 *   ref: "main" (a branch, else a tag of that name), "refs/heads/x", "refs/tags/v1",
 *        "refs/pull/2/head", or NULL/"" for the remote's HEAD
 *   sha: NULL/"" for the commit ref points at; else a commit (full or abbreviated hex)
 *        that must be on ref; with no ref, anywhere in the repository (every branch and
 *        tag is fetched, then, for a full sha, the commit itself if the server allows it)
 *   dest: a directory that is empty or does not exist (with a mirror, dest is left
 *         untouched when the commit cannot be found or the url cannot be reached)
 * Writes the checked-out commit's 40-hex id (NUL-terminated) to sha_out.
 * Errors: SW_EIO when the repository cannot be reached or read (libgit2's message
 * included: "cannot reach repository <url>: ..."), SW_ENOTFOUND for an unknown ref or
 * sha ("no <sha> in the repository at <url>"), SW_EINVALID for a malformed sha,
 * SW_ESTOPPED when cancelled, SW_ETIMEDOUT past the deadline. */
int sw_gitfetch(const char *url, const char *ref, const char *sha, const char *dest,
                char sha_out[41]);

/* As sw_gitfetch, with the options above (opts may be NULL: no cache, no credentials). */
int sw_gitfetch_ext(const char *url, const char *ref, const char *sha, const char *dest,
                    const sw_gitfetch_opts *opts, char sha_out[41]);

#endif
