/*
 * mirror.h - a builder's bare mirror of one repository, under a cache directory
 * (used by gitfetch.c; see gitfetch.h).
 *
 *     <dir>/<16 hex of sha256(url)>.git    the bare mirror; its config names the url
 *                                          (remote.origin.url, password removed)
 *     <dir>/<16 hex of sha256(url)>.lock   flock(2)ed by whoever fetches into it
 *
 * Whoever writes a mirror holds its lock: an exclusive flock(2) on a file of its own
 * open(2), so it excludes other threads of the process as well as other processes
 * sharing the cache. Readers do not lock (see gitfetch.c's DESIGN for why that is safe).
 */
#ifndef SW_MIRROR_H
#define SW_MIRROR_H

#include <git2.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_mirror sw_mirror;

/* Writes "<dir>/<16 hex of sha256(url)>" (add ".git" or ".lock") to buf. */
void sw_mirror_base(char *buf, size_t size, const char *dir, const char *url);

/* Takes the lock of url's mirror under dir, then opens the mirror, making it when it is
 * missing and remaking it when it cannot be opened (a crash half-way, garbage). Waiting
 * for the lock, stop(ud) is called every 20 ms: non-zero gives up (SW_ESTOPPED).
 * shown_url is what the mirror's config names. *out is owned by the caller. */
int sw_mirror_open(sw_mirror **out, const char *dir, const char *url, const char *shown_url,
                   int (*stop)(void *ud), void *ud);

/* The open mirror; borrowed, valid until destroy (after unlock: for reading only). */
git_repository *sw_mirror_repo(const sw_mirror *m);

/* The mirror's path, "<dir>/<hash>.git"; borrowed. */
const char *sw_mirror_path(const sw_mirror *m);

/* 1 when sw_mirror_open made (or remade) it. */
int sw_mirror_created(const sw_mirror *m);

/* How long sw_mirror_open waited for the lock. */
int64_t sw_mirror_wait_ms(const sw_mirror *m);

/* Gives dest the objects of commit and of tip (an annotated tag or a commit that
 * descends from commit; NULL when none; tip_commit what it peels to). The mirror's
 * packs that dest does not hold under the same name are copied whole (plain copies:
 * dest shares no file with the mirror, which may be mounted nowhere; a pack never
 * changes once written, so one of the same name is the same); if dest still lacks
 * commit or tip (objects that another tool wrote loose), a pack of their history is
 * built from the mirror instead and *repacked set to 1. stop(ud) is asked between
 * files: non-zero stops (SW_ESTOPPED). Needs no lock: it reads only complete packs and
 * objects by id. */
int sw_mirror_copy_into(sw_mirror *m, git_repository *dest, const git_oid *commit,
                        const git_oid *tip, const git_oid *tip_commit, int *repacked,
                        int (*stop)(void *ud), void *ud);

/* Removes the mirror made by this open (its first fetch brought nothing worth keeping).
 * Only with the lock held. */
void sw_mirror_discard(sw_mirror *m);

/* Releases the lock; the repository stays open for reading. Safe twice. */
void sw_mirror_unlock(sw_mirror *m);

/* Unlocks, closes, frees. Accepts NULL; nulls the pointer. */
void sw_mirror_destroy(sw_mirror **m_p);

#endif
