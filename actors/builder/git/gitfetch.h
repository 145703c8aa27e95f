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
 *
 * In two calls (what the runner does): sw_gitfetch_resolve fetches into the mirror and
 * finds the commit, whose files can then be read from the mirror (sw_gitfetch_read: the
 * pipeline, before anything is checked out) and which sw_gitfetch_checkout checks out
 * into a repository the caller made: a fresh one, or a workspace kept from an earlier
 * build (workspace.h), which then gets only the mirror's packs it lacks and has only
 * the files that differ from its baseline written.
 */
#ifndef SW_GITFETCH_H
#define SW_GITFETCH_H

#include <git2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one fetch did (all zero when nothing was fetched). */
typedef struct sw_gitfetch_stats {
    unsigned received_objects; /* objects received from the url (into the mirror, if any) */
    uint64_t received_bytes;   /* their size on the wire */
    int mirror_created;        /* the mirror was made (or remade, if broken) by this fetch */
    int64_t lock_wait_ms;      /* waited for another fetch of the same mirror */
    int64_t fetch_ms;          /* from the url: connect, negotiate, download (lock held) */
    int64_t checkout_ms;       /* into dest: objects from the mirror, working tree */
    unsigned checkout_files;   /* files the checkout wrote or removed */
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

/* Whether url has ref, by the rules of sw_gitfetch ("main": a branch, else a tag),
 * from the refs the server lists: nothing is fetched or written. 0 when it has,
 * SW_ENOTFOUND ("no branch or tag 'x' in <url>") when the listing lacks it, and the
 * errors of sw_gitfetch when it cannot be listed. opts may be NULL. */
int sw_gitfetch_has_ref(const char *url, const char *ref, const sw_gitfetch_opts *opts);

/* A commit resolved in the mirror cache, opened for reading and checking out. */
typedef struct sw_gitfetch_resolved sw_gitfetch_resolved;

/* Fetches ref (and sha) from url into the mirror under opts->mirror_dir (required) and
 * finds the commit, by the rules and with the errors of sw_gitfetch; touches no working
 * tree. opts is borrowed until sw_gitfetch_destroy (its stats are filled after this call
 * and after each checkout). *out is the caller's. */
int sw_gitfetch_resolve(sw_gitfetch_resolved **out, const char *url, const char *ref,
                        const char *sha, const sw_gitfetch_opts *opts);

/* The commit: 40 hex digits, and as an id. Borrowed. */
const char *sw_gitfetch_sha(const sw_gitfetch_resolved *g);
const git_oid *sw_gitfetch_commit(const sw_gitfetch_resolved *g);

/* The url without its password: what a workspace's origin names. Borrowed. */
const char *sw_gitfetch_url(const sw_gitfetch_resolved *g);

/* The file at path in the commit's tree, read from the mirror: *out (the caller's,
 * NUL-terminated) and *len. SW_ENOTFOUND when the tree has no such entry, SW_EINVALID
 * when it is a symbolic link, a directory or larger than max bytes. */
int sw_gitfetch_read(const sw_gitfetch_resolved *g, const char *path, size_t max, char **out,
                     size_t *len);

/* Whether the commit's tree has a file (or a link) at path. */
bool sw_gitfetch_has(const sw_gitfetch_resolved *g, const char *path);

/* Checks the commit out into dest's working tree (forced, HEAD detached at it), after
 * giving dest the mirror's packs it does not hold yet (sw_mirror_copy_into) and storing
 * the ref as a fetch would have. baseline is the commit dest's index and working tree
 * hold (a kept workspace), NULL for an empty one: only files that differ from it are
 * written. dest is borrowed. */
int sw_gitfetch_checkout(sw_gitfetch_resolved *g, git_repository *dest, const git_oid *baseline);

/* Frees; accepts NULL, nulls the pointer. */
void sw_gitfetch_destroy(sw_gitfetch_resolved **g_p);

/* A new repository at dir (made if missing) whose remote "origin" names shown_url
 * (a url without its password). *out is the caller's. */
int sw_gitfetch_init_repo(git_repository **out, const char *dir, const char *shown_url);

#endif
