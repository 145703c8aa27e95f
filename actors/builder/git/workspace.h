/*
 * workspace.h - a builder's workspace of one project on one of its slots, kept between
 * the project's builds so that a build writes only what changed (used by the runner).
 *
 *     <root>/<tenant>/<project>/<slot>/   one slot's workspace of one project (0700)
 *         src/     the checkout and its .git: what the steps get, read-write
 *         index    the index as Slipway's last checkout left it (out of the steps' reach)
 *         state    the url, the commit checked out and the packs of src/.git (inode,
 *                  size, ctime); written once a checkout has finished
 *         empty/   the workspace of a `clone: false` build (made empty, removed after)
 *
 * root is the builder's <work_dir>/ws. The tenant's and the project's names are written
 * with every byte but [A-Za-z0-9_-] as %XX: two projects, of one tenant or of two, never
 * share a workspace, and no name reaches outside root. The slot is the builder's: one
 * build at a time has it, so nothing here is locked.
 *
 * DESIGN
 * All that a build's steps can reach (src/ and its .git) is untrusted when the next
 * build comes; index and state are outside it. Reusing src/ goes:
 *  - state is read, then removed: a build that dies before its checkout is done
 *    (cancelled, crashed, killed) leaves none, and the next one makes src/ anew;
 *  - src/.git keeps only the packs state lists, as they were (same inode, size and
 *    ctime: a write or a chmod moves the ctime, which no step can set back); every
 *    other file of .git goes (config, HEAD, refs, hooks, info, loose objects, packs a
 *    step made) and the repository is made again around the packs. Objects are named
 *    by their hash, which libgit2 checks on every read;
 *  - the index is copied back from index, and every file under src/ that it does not
 *    list, or that is not as the last checkout wrote it (inode, ctime, mtime, size,
 *    type), is removed: untracked and ignored files alike (whatever .gitignore says),
 *    files a step changed, a directory where a file was, a link where a directory was.
 *    The walk never follows a symbolic link;
 *  - the checkout (sw_gitfetch_checkout, from the commit held) then writes only what
 *    differs between that commit and the new one, and what the walk removed.
 * Anything unexpected on the way (no state, another url, no .git, an index that does
 * not read, a pack changed or gone, a file the clean cannot remove) makes src/ anew:
 * removed, and a fresh repository. What resists removal (a container's root-owned
 * files when the builder is not root) is moved aside to src.gone-<time>-<n>, which later
 * opens try to remove again, so the project's builds go on.
 */
#ifndef SW_WORKSPACE_H
#define SW_WORKSPACE_H

#include <git2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_workspace sw_workspace;

/* Writes "<root>/<tenant>/<project>/<slot>" (names encoded as above) to buf.
 * SW_EINVALID when it does not fit. */
int sw_workspace_path(char *buf, size_t size, const char *root, const char *tenant,
                      const char *project, unsigned slot);

/* Opens the workspace at dir (made, with its parents, when missing) for a checkout of
 * url (without its password, as sw_gitfetch_url gives it): src/ reused as DESIGN says,
 * or made anew when it cannot be or when fresh is true. Fails only when src/ cannot be
 * made at all (SW_EIO, with the path). *out is the caller's (sw_workspace_close). */
int sw_workspace_open(sw_workspace **out, const char *dir, const char *url, bool fresh);

/* The repository of src/, to check out into. Borrowed until close. */
git_repository *sw_workspace_repo(const sw_workspace *ws);

/* src/: where the checkout is. Borrowed. */
const char *sw_workspace_src(const sw_workspace *ws);

/* The commit src/ holds (the checkout's baseline); NULL when it was made anew. */
const git_oid *sw_workspace_baseline(const sw_workspace *ws);

/* Why src/ was made anew ("no workspace yet", "clean: fresh", "its .git is gone", ...);
 * "" when it was reused. Borrowed. */
const char *sw_workspace_why(const sw_workspace *ws);

/* Entries the clean removed from src/ (an untracked directory counts once). */
unsigned sw_workspace_removed(const sw_workspace *ws);

/* Makes src/ anew, for why (e.g. a checkout into the reused one failed). */
int sw_workspace_remake(sw_workspace *ws, const char *why);

/* After a finished checkout of commit: keeps the index and writes state, so the next
 * build can reuse src/. */
int sw_workspace_keep(sw_workspace *ws, const git_oid *commit);

/* Closes the repository and frees; src/ stays. Accepts NULL; nulls the pointer. */
void sw_workspace_close(sw_workspace **ws_p);

/* Makes dir/empty anew, empty (and dir, when missing); its path in *out (the caller's). */
int sw_workspace_empty(char **out, const char *dir);

/* How long a project's workspace is kept unused, and how many projects a slot keeps. */
typedef struct sw_workspace_bounds {
    int64_t keep_unused_ms;
    unsigned max_per_slot;
} sw_workspace_bounds;

/* Removes workspaces under root that bounds do not keep: those whose last checkout is
 * older than keep_unused_ms, those with no finished checkout, and beyond max_per_slot
 * on one slot the least recently used. slot >= 0: only that slot's (a build about to
 * start on it: in_use, its own workspace, counts but stays); slot < 0: every slot's,
 * and what is not a workspace of slots 0..slots-1 (the builder starting: nothing runs).
 * Goes on past what it cannot remove; *removed (may be NULL) counts what went.
 * Returns the first error. */
int sw_workspace_sweep(const char *root, int slot, unsigned slots,
                       const sw_workspace_bounds *bounds, const char *in_use, unsigned *removed);

#endif
