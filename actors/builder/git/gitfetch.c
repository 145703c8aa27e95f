/*
 * gitfetch.c - one commit into a fresh working tree with libgit2 (see gitfetch.h).
 *
 * DESIGN
 * Resolve, then check out. Resolving is one connection to the url: list its refs,
 * pick the one asked for, fetch only it (no tag following), find the commit. Without a
 * mirror it fetches straight into dest, branches landing in refs/remotes/origin/<name>,
 * tags in refs/tags/<name>, anything else under refs/slipway/, so a build that runs git
 * sees familiar names. With a mirror it fetches into the mirror under the remote's own
 * names (so negotiation sends only what is new), holding the mirror's lock; the ref's
 * tip and the commit are read there, still under the lock, and kept as object ids.
 *
 * Then the lock is released and the mirror's packs are copied into dest's own object
 * store (see sw_mirror_copy_into; no ref of the mirror is read after the lock is gone:
 * the ids are enough). Reading without the lock is safe because a fetch only adds to a
 * mirror: libgit2 writes a new pack to a temporary file and renames its index, then the
 * pack, into place before it moves any ref; existing packs are never rewritten or
 * removed (no gc, no prune), and a pack whose .pack is not there yet is skipped. Every
 * object this build needs was in a complete pack before its own fetch released the
 * lock. Only a mirror found broken is removed (under the lock), and a build reading it
 * then fails as it would have anyway.
 */
#include "actors/builder/git/gitfetch.h"

#include "actors/builder/git/mirror.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <assert.h>
#include <git2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STOP_NONE, STOP_CANCEL, STOP_DEADLINE };

/* One call's state, the payload of every libgit2 callback. */
typedef struct fetch_ctx {
    const sw_gitfetch_opts *opts; /* may be NULL */
    const char *url;              /* as given: what libgit2 connects to */
    char *shown;                  /* url without a password: for messages and configs */
    int stopped;
    int auth_asked;   /* the server asked for credentials */
    int auth_given;   /* and was given them (per connection) */
    int auth_refused; /* and asked again: they were refused */
    sw_gitfetch_stats stats;
} fetch_ctx;

/* What resolving found. */
typedef struct resolved {
    char src[512];      /* the remote ref fetched; "" when none (a bare sha) */
    char dst[600];      /* where it was stored */
    git_oid tip;        /* what dst points at (a tag object for an annotated tag) */
    git_oid tip_commit; /* the commit tip peels to */
    git_oid commit;     /* the commit to check out: tip_commit or one of its ancestors */
} resolved;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libgit2(void)
{
    git_libgit2_init();
}

static const char *git_message(void)
{
    const git_error *e = git_error_last();
    return e != NULL && e->message != NULL ? e->message : "unknown libgit2 error";
}

static int check_stop(fetch_ctx *c)
{
    const sw_gitfetch_opts *o = c->opts;
    if (o == NULL) {
        return 0;
    }
    if (o->tick != NULL) {
        o->tick(o->ud);
    }
    if (o->cancel != NULL && *o->cancel) {
        c->stopped = STOP_CANCEL;
    } else if (o->deadline_ms > 0 && sw_clock_mono_ms() >= o->deadline_ms) {
        c->stopped = STOP_DEADLINE;
    }
    return c->stopped ? -1 : 0;
}

static int should_stop(void *payload)
{
    return check_stop(payload) != 0;
}

static int on_transfer(const git_indexer_progress *stats, void *payload)
{
    (void)stats;
    return check_stop(payload);
}

static int on_sideband(const char *str, int len, void *payload)
{
    (void)str;
    (void)len;
    return check_stop(payload);
}

/* Basic auth with the configured token, once per connection: asked again, the server
 * refused it, and repeating it would only make it ask again. */
static int on_credentials(git_credential **out, const char *url, const char *user_from_url,
                          unsigned int allowed, void *payload)
{
    fetch_ctx *c = payload;
    const char *token = c->opts != NULL ? c->opts->token : NULL;
    const char *user = c->opts != NULL ? c->opts->username : NULL;
    (void)url;
    (void)user_from_url;

    c->auth_asked = 1;
    if (token == NULL || token[0] == '\0' || !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
        return GIT_PASSTHROUGH;
    }
    if (c->auth_given) {
        c->auth_refused = 1;
        git_error_set_str(GIT_ERROR_NET, "the credentials were refused");
        return GIT_EUSER;
    }
    c->auth_given = 1;
    return git_credential_userpass_plaintext_new(out, user && user[0] ? user : "x-access-token",
                                                 token);
}

static git_remote_callbacks remote_callbacks(fetch_ctx *c)
{
    git_remote_callbacks cb = GIT_REMOTE_CALLBACKS_INIT;
    cb.transfer_progress = on_transfer;
    cb.sideband_progress = on_sideband;
    cb.credentials = on_credentials;
    cb.payload = c;
    return cb;
}

static int stopped_error(const fetch_ctx *c)
{
    if (c->stopped == STOP_CANCEL) {
        return sw_error_set(SW_ESTOPPED, "fetching %s: cancelled", c->shown);
    }
    return sw_error_set(SW_ETIMEDOUT, "fetching %s: timed out", c->shown);
}

/* The error of a failed connection or transfer: stopped, refused, or libgit2's word. */
static int transfer_error(const fetch_ctx *c, const char *doing)
{
    if (c->stopped) {
        return stopped_error(c);
    }
    if (c->auth_refused) {
        return sw_error_set(
            SW_EIO, "%s %s: the credentials (user %s) were refused", doing, c->shown,
            c->opts->username && c->opts->username[0] ? c->opts->username : "x-access-token");
    }
    if (c->auth_asked && (c->opts == NULL || c->opts->token == NULL || !c->opts->token[0])) {
        return sw_error_set(SW_EIO, "%s %s: it asks for credentials and no token is configured",
                            doing, c->shown);
    }
    return sw_error_set(SW_EIO, "%s %s: %s", doing, c->shown, git_message());
}

/* url with the password of its userinfo left out: "https://u:p@h/r" -> "https://u@h/r". */
static char *shown_url(const char *url)
{
    const char *scheme = strstr(url, "://");
    char *out = NULL;
    if (scheme != NULL) {
        const char *auth = scheme + 3;
        const char *at = memrchr(auth, '@', strcspn(auth, "/?#"));
        const char *colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon != NULL) {
            if (asprintf(&out, "%.*s%s", (int)(colon - url), url, at) < 0) {
                abort();
            }
            return out;
        }
    }
    return sw_strdup(url);
}

static int is_hex(const char *s)
{
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

/* The remote ref to fetch for ref, from the advertised list; NULL when there is none. */
static const char *pick_ref(const git_remote_head **heads, size_t n, const char *ref, char *buf,
                            size_t size)
{
    const char *candidates[3] = {NULL, NULL, NULL};
    char heads_name[512], tags_name[512];

    if (ref == NULL || ref[0] == '\0' || strcmp(ref, "HEAD") == 0) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(heads[i]->name, "HEAD") == 0) {
                snprintf(buf, size, "%s",
                         heads[i]->symref_target ? heads[i]->symref_target : "HEAD");
                return buf;
            }
        }
        return NULL;
    }
    if (strncmp(ref, "refs/", 5) == 0) {
        candidates[0] = ref;
    } else {
        snprintf(heads_name, sizeof(heads_name), "refs/heads/%s", ref);
        snprintf(tags_name, sizeof(tags_name), "refs/tags/%s", ref);
        candidates[0] = heads_name;
        candidates[1] = tags_name;
    }
    for (int c = 0; candidates[c] != NULL; c++) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(heads[i]->name, candidates[c]) == 0) {
                snprintf(buf, size, "%s", candidates[c]);
                return buf;
            }
        }
    }
    return NULL;
}

/* Where a fetched remote ref is stored: a mirror keeps the remote's name, a working
 * repository the familiar one. */
static void store_name(int mirror, const char *src, char *buf, size_t size)
{
    if (mirror && strncmp(src, "refs/", 5) == 0) {
        snprintf(buf, size, "%s", src);
    } else if (mirror) {
        snprintf(buf, size, "refs/slipway/%s", src);
    } else if (strncmp(src, "refs/heads/", 11) == 0) {
        snprintf(buf, size, "refs/remotes/origin/%s", src + 11);
    } else if (strncmp(src, "refs/tags/", 10) == 0) {
        snprintf(buf, size, "%s", src);
    } else if (strncmp(src, "refs/", 5) == 0) {
        snprintf(buf, size, "refs/slipway/%s", src + 5);
    } else {
        snprintf(buf, size, "refs/remotes/origin/%s", src);
    }
}

/* The commit named by sha (full or abbreviated), if it was fetched; GIT_ENOTFOUND if not. */
static int lookup_sha(git_oid *out, git_repository *repo, const char *sha, const char *url)
{
    size_t len = strlen(sha);
    git_commit *commit = NULL;
    git_oid oid;
    int rc;

    if (len < 4 || len > GIT_OID_HEXSZ || !is_hex(sha)) {
        return sw_error_set(SW_EINVALID, "'%s' is not a commit id (4 to 40 hex digits)", sha);
    }
    if (git_oid_fromstrn(&oid, sha, len) < 0) {
        return sw_error_set(SW_EINVALID, "'%s' is not a commit id: %s", sha, git_message());
    }
    rc = git_commit_lookup_prefix(&commit, repo, &oid, len);
    if (rc == 0) {
        git_oid_cpy(out, git_commit_id(commit));
        git_commit_free(commit);
        return 0;
    }
    if (rc == GIT_ENOTFOUND) {
        return GIT_ENOTFOUND;
    }
    if (rc == GIT_EAMBIGUOUS) {
        return sw_error_set(SW_EINVALID, "commit id %s is ambiguous in %s", sha, url);
    }
    return sw_error_set(SW_ENOTFOUND, "commit %s in %s: %s", sha, url, git_message());
}

static int fetch_specs(fetch_ctx *c, git_remote *remote, char **specs, size_t n)
{
    git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
    git_strarray refspecs = {specs, n};
    fo.callbacks = remote_callbacks(c);
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.update_fetchhead = 0;
    fo.prune = GIT_FETCH_NO_PRUNE;
    c->auth_given = 0;
    /* a reflog message of our own: libgit2's default names the url, password and all */
    int rc = git_remote_fetch(remote, &refspecs, &fo, "fetch");
    const git_indexer_progress *st = git_remote_stats(remote);
    c->stats.received_objects += st->received_objects;
    c->stats.received_bytes += st->received_bytes;
    return rc;
}

/* Fetches what ref and sha need from the url into repo (a mirror or dest), finds the
 * commit; see gitfetch.h for the rules. */
static int resolve(resolved *out, fetch_ctx *c, git_repository *repo, int mirror, const char *ref,
                   const char *sha)
{
    git_remote *remote = NULL;
    git_remote_create_options remote_opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
    git_remote_callbacks callbacks = remote_callbacks(c);
    git_reference *fetched = NULL;
    git_object *peeled = NULL;
    const git_remote_head **heads = NULL;
    size_t nheads = 0;
    char spec[1200];
    char *specs[2] = {spec, NULL};
    size_t nspecs = 1;
    int have_sha = sha != NULL && sha[0] != '\0';
    int have_ref = ref != NULL && ref[0] != '\0';
    int error = -1, rc;

    memset(out, 0, sizeof(*out));
    /* anonymous: the url (which may carry a password) is not written to any config.
     * insteadOf rewriting is skipped: the builder has no user config to honour, and
     * libgit2 1.5's glob lookup for it leaks pcre2 match data on every call */
    remote_opts.repository = repo;
    remote_opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
    if (git_remote_create_with_opts(&remote, c->url, &remote_opts) < 0) {
        error = sw_error_set(SW_EINVALID, "bad repository url '%s': %s", c->shown, git_message());
        goto cleanup;
    }
    c->auth_given = 0;
    if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, NULL, NULL) < 0) {
        error = transfer_error(c, "cannot reach repository");
        goto cleanup;
    }
    if (git_remote_ls(&heads, &nheads, remote) < 0) {
        error = sw_error_set(SW_EIO, "cannot list the refs of %s: %s", c->shown, git_message());
        goto cleanup;
    }

    if (!have_ref && have_sha) {
        /* a bare commit id: take every branch and tag, the commit is in one of them */
        specs[0] = mirror ? "+refs/heads/*:refs/heads/*" : "+refs/heads/*:refs/remotes/origin/*";
        specs[1] = "+refs/tags/*:refs/tags/*";
        nspecs = 2;
    } else {
        if (pick_ref(heads, nheads, ref, out->src, sizeof(out->src)) == NULL) {
            if (!have_ref) {
                error = sw_error_set(SW_ENOTFOUND, "repository %s has no HEAD (is it empty?)",
                                     c->shown);
            } else if (strncmp(ref, "refs/", 5) == 0) {
                error = sw_error_set(SW_ENOTFOUND, "no ref '%s' in %s", ref, c->shown);
            } else {
                error = sw_error_set(SW_ENOTFOUND, "no branch or tag '%s' in %s", ref, c->shown);
            }
            goto cleanup;
        }
        store_name(mirror, out->src, out->dst, sizeof(out->dst));
        snprintf(spec, sizeof(spec), "+%s:%s", out->src, out->dst);
    }
    if (fetch_specs(c, remote, specs, nspecs) < 0) {
        error = c->stopped || c->auth_asked
                    ? transfer_error(c, "cannot reach repository")
                    : sw_error_set(SW_EIO, "cannot fetch %s from %s: %s", have_ref ? ref : "HEAD",
                                   c->shown, git_message());
        goto cleanup;
    }

    if (out->dst[0] != '\0') {
        if (git_reference_lookup(&fetched, repo, out->dst) < 0 ||
            git_reference_peel(&peeled, fetched, GIT_OBJECT_COMMIT) < 0) {
            error = sw_error_set(SW_ENOTFOUND, "%s in %s does not name a commit: %s", out->src,
                                 c->shown, git_message());
            goto cleanup;
        }
        git_oid_cpy(&out->tip, git_reference_target(fetched));
        git_oid_cpy(&out->tip_commit, git_object_id(peeled));
        git_oid_cpy(&out->commit, git_object_id(peeled));
    }
    if (!have_sha) {
        error = 0;
        goto cleanup;
    }
    rc = lookup_sha(&out->commit, repo, sha, c->shown);
    if (rc == GIT_ENOTFOUND && !have_ref && strlen(sha) == GIT_OID_HEXSZ) {
        /* on no branch or tag: on another ref (a pull request's), or gone from all of
         * them; servers that allow it give a commit asked for by id */
        snprintf(spec, sizeof(spec), "+%s:refs/slipway/commits/%s", sha, sha);
        specs[0] = spec;
        if (fetch_specs(c, remote, specs, 1) < 0) {
            if (c->stopped) {
                error = stopped_error(c);
            } else {
                error = sw_error_set(SW_ENOTFOUND,
                                     "no %s in the repository at %s (asked for "
                                     "by id: %s)",
                                     sha, c->shown, git_message());
            }
            goto cleanup;
        }
        rc = lookup_sha(&out->commit, repo, sha, c->shown);
    }
    if (rc == GIT_ENOTFOUND) {
        error = sw_error_set(SW_ENOTFOUND, "no %s in the repository at %s", sha, c->shown);
        goto cleanup;
    }
    if (rc < 0) {
        error = rc;
        goto cleanup;
    }
    /* the commit must be on the ref (some transports bring more than asked for, and a
     * mirror has every ref fetched before) */
    if (peeled != NULL && !git_oid_equal(git_object_id(peeled), &out->commit) &&
        git_graph_descendant_of(repo, git_object_id(peeled), &out->commit) != 1) {
        error = sw_error_set(SW_ENOTFOUND, "no %s on %s in the repository at %s", sha, out->src,
                             c->shown);
        goto cleanup;
    }
    error = 0;

cleanup:
    git_object_free(peeled);
    git_reference_free(fetched);
    git_remote_free(remote);
    return error;
}

int sw_gitfetch_init_repo(git_repository **out, const char *dir, const char *shown_url)
{
    git_remote *origin = NULL;
    git_remote_create_options opts = GIT_REMOTE_CREATE_OPTIONS_INIT;

    pthread_once(&init_once, init_libgit2);
    *out = NULL;
    if (git_repository_init(out, dir, 0) < 0) {
        return sw_error_set(SW_EIO, "cannot create a repository at %s: %s", dir, git_message());
    }
    opts.repository = *out;
    opts.name = "origin";
    opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
    if (git_remote_create_with_opts(&origin, shown_url, &opts) < 0) {
        int error = sw_error_set(SW_EINVALID, "bad repository url '%s': %s", shown_url,
                                 git_message());
        git_repository_free(*out);
        *out = NULL;
        return error;
    }
    git_remote_free(origin);
    return 0;
}

/* Gives dest the objects from the mirror and stores the ref as a fetch would have. */
static int copy_from_mirror(fetch_ctx *c, git_repository *dest, sw_mirror *m, const resolved *r)
{
    git_reference *ref = NULL;
    char local[600];
    int have_tip = r->dst[0] != '\0';
    int error;

    error =
        sw_mirror_copy_into(m, dest, &r->commit, have_tip ? &r->tip : NULL,
                            have_tip ? &r->tip_commit : NULL, &c->stats.repacked, should_stop, c);
    if (error < 0) {
        return c->stopped ? stopped_error(c) : error;
    }
    if (have_tip) {
        store_name(0, r->src, local, sizeof(local));
        if (git_reference_create(&ref, dest, local, &r->tip, 1, NULL) < 0) {
            error = sw_error_set(SW_EIO, "cannot store %s in %s: %s", local,
                                 git_repository_path(dest), git_message());
        }
        git_reference_free(ref);
    }
    return error;
}

static void on_checkout_progress(const char *path, size_t completed, size_t total, void *payload)
{
    (void)path;
    (void)completed;
    *(unsigned *)payload = (unsigned)total;
}

/* Checks id out into repo's working tree, forced, from baseline (the commit the tree holds
 * now; NULL: an empty tree), and detaches HEAD at it. *written: the files it wrote or
 * removed. */
static int checkout(git_repository *repo, const git_oid *id, const git_oid *baseline,
                    unsigned *written)
{
    git_commit *commit = NULL, *base = NULL;
    git_tree *base_tree = NULL;
    git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
    const char *dest = git_repository_workdir(repo);
    int error = 0;

    *written = 0;
    opts.checkout_strategy = GIT_CHECKOUT_FORCE;
    opts.progress_cb = on_checkout_progress;
    opts.progress_payload = written;
    if (baseline != NULL &&
        (git_commit_lookup(&base, repo, baseline) < 0 || git_commit_tree(&base_tree, base) < 0)) {
        error = sw_error_set(SW_EIO, "the commit %s checked out in %s cannot be read: %s",
                             git_oid_tostr_s(baseline), dest, git_message());
        goto cleanup;
    }
    opts.baseline = base_tree;
    if (git_commit_lookup(&commit, repo, id) < 0 ||
        git_checkout_tree(repo, (const git_object *)commit, &opts) < 0 ||
        git_repository_set_head_detached(repo, id) < 0) {
        error = sw_error_set(SW_EIO, "cannot check out %s into %s: %s", git_oid_tostr_s(id), dest,
                             git_message());
    }

cleanup:
    git_tree_free(base_tree);
    git_commit_free(base);
    git_commit_free(commit);
    return error;
}

static int fetch_direct(fetch_ctx *c, const char *ref, const char *sha, const char *dest,
                        git_oid *out)
{
    git_repository *repo = NULL;
    resolved r;
    unsigned written;
    int64_t t0 = sw_clock_mono_ms();
    int error;

    if ((error = sw_gitfetch_init_repo(&repo, dest, c->shown)) == 0 &&
        (error = resolve(&r, c, repo, 0, ref, sha)) == 0) {
        c->stats.fetch_ms = sw_clock_mono_ms() - t0;
        t0 = sw_clock_mono_ms();
        error = checkout(repo, &r.commit, NULL, &written);
        c->stats.checkout_ms = sw_clock_mono_ms() - t0;
        c->stats.checkout_files = written;
        git_oid_cpy(out, &r.commit);
    }
    git_repository_free(repo);
    return error;
}

/* --- a commit resolved in the mirror ------------------------------------------- */

struct sw_gitfetch_resolved {
    fetch_ctx c;
    sw_mirror *m; /* unlocked: read by object id only */
    resolved r;
    char sha[41];
};

/* Errors pass up unchanged, but never with the token in them (libgit2's included). */
static int scrub(const fetch_ctx *c, int error)
{
    const sw_gitfetch_opts *o = c->opts;
    if (error < 0 && o != NULL && o->token != NULL && o->token[0] != '\0' &&
        strstr(sw_error_last(), o->token) != NULL) {
        error = sw_error_set(error, "fetching %s failed (the message held the token)", c->shown);
    }
    if (o != NULL && o->stats != NULL) {
        *o->stats = c->stats;
    }
    return error;
}

int sw_gitfetch_resolve(sw_gitfetch_resolved **out, const char *url, const char *ref,
                        const char *sha, const sw_gitfetch_opts *opts)
{
    sw_gitfetch_resolved *g = sw_calloc(1, sizeof(*g));
    fetch_ctx *c = &g->c;
    int64_t t0;
    int error;

    assert(opts != NULL && opts->mirror_dir != NULL && opts->mirror_dir[0] != '\0');
    pthread_once(&init_once, init_libgit2);
    *out = NULL;
    c->opts = opts;
    c->url = url;
    c->shown = shown_url(url);
    error = sw_mirror_open(&g->m, opts->mirror_dir, c->url, c->shown, should_stop, c);
    if (error < 0) {
        error = c->stopped ? stopped_error(c) : error;
        goto cleanup;
    }
    c->stats.lock_wait_ms = sw_mirror_wait_ms(g->m);
    c->stats.mirror_created = sw_mirror_created(g->m);
    t0 = sw_clock_mono_ms();
    error = resolve(&g->r, c, sw_mirror_repo(g->m), 1, ref, sha);
    c->stats.fetch_ms = sw_clock_mono_ms() - t0;
    if (error < 0) {
        if (sw_mirror_created(g->m) && c->stats.received_objects == 0) {
            sw_mirror_discard(g->m); /* e.g. a url that cannot be reached: no empty mirror */
        }
        goto cleanup;
    }
    sw_mirror_unlock(g->m);
    git_oid_tostr(g->sha, sizeof(g->sha), &g->r.commit);

cleanup:
    error = scrub(c, error);
    if (error < 0) {
        sw_gitfetch_destroy(&g);
    }
    *out = g;
    return error;
}

const char *sw_gitfetch_sha(const sw_gitfetch_resolved *g)
{
    return g->sha;
}

const git_oid *sw_gitfetch_commit(const sw_gitfetch_resolved *g)
{
    return &g->r.commit;
}

const char *sw_gitfetch_url(const sw_gitfetch_resolved *g)
{
    return g->c.shown;
}

int sw_gitfetch_read(const sw_gitfetch_resolved *g, const char *path, size_t max, char **out,
                     size_t *len)
{
    git_repository *repo = sw_mirror_repo(g->m);
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    git_tree_entry *entry = NULL;
    git_blob *blob = NULL;
    int error = -1, rc;

    *out = NULL;
    *len = 0;
    if (git_commit_lookup(&commit, repo, &g->r.commit) < 0 || git_commit_tree(&tree, commit) < 0) {
        error = sw_error_set(SW_EIO, "cannot read commit %s of %s: %s", g->sha, g->c.shown,
                             git_message());
        goto cleanup;
    }
    if ((rc = git_tree_entry_bypath(&entry, tree, path)) == GIT_ENOTFOUND) {
        error = sw_error_set(SW_ENOTFOUND, "%s: no such file at %s", path, g->sha);
        goto cleanup;
    } else if (rc < 0) {
        error = sw_error_set(SW_EIO, "cannot read %s at %s: %s", path, g->sha, git_message());
        goto cleanup;
    }
    if (git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK) {
        error = sw_error_set(SW_EINVALID, "%s is a symbolic link at %s; it must be a file", path,
                             g->sha);
        goto cleanup;
    }
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
        error = sw_error_set(SW_EINVALID, "%s is not a file at %s", path, g->sha);
        goto cleanup;
    }
    if (git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) < 0) {
        error = sw_error_set(SW_EIO, "cannot read %s at %s: %s", path, g->sha, git_message());
        goto cleanup;
    }
    if ((uint64_t)git_blob_rawsize(blob) > max) {
        error = sw_error_set(SW_EINVALID, "%s: larger than %zu bytes", path, max);
        goto cleanup;
    }
    *len = (size_t)git_blob_rawsize(blob);
    *out = sw_calloc(1, *len + 1);
    memcpy(*out, git_blob_rawcontent(blob), *len);
    error = 0;

cleanup:
    git_blob_free(blob);
    git_tree_entry_free(entry);
    git_tree_free(tree);
    git_commit_free(commit);
    return error;
}

bool sw_gitfetch_has(const sw_gitfetch_resolved *g, const char *path)
{
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    git_tree_entry *entry = NULL;
    bool has = git_commit_lookup(&commit, sw_mirror_repo(g->m), &g->r.commit) == 0 &&
               git_commit_tree(&tree, commit) == 0 &&
               git_tree_entry_bypath(&entry, tree, path) == 0 &&
               git_tree_entry_type(entry) == GIT_OBJECT_BLOB;
    git_error_clear();
    git_tree_entry_free(entry);
    git_tree_free(tree);
    git_commit_free(commit);
    return has;
}

int sw_gitfetch_checkout(sw_gitfetch_resolved *g, git_repository *dest, const git_oid *baseline)
{
    fetch_ctx *c = &g->c;
    unsigned written = 0;
    int64_t t0 = sw_clock_mono_ms();
    int error;

    c->stats.repacked = 0;
    if ((error = copy_from_mirror(c, dest, g->m, &g->r)) == 0) {
        error = checkout(dest, &g->r.commit, baseline, &written);
    }
    c->stats.checkout_ms = sw_clock_mono_ms() - t0;
    c->stats.checkout_files = written;
    return scrub(c, error);
}

void sw_gitfetch_destroy(sw_gitfetch_resolved **g_p)
{
    sw_gitfetch_resolved *g;
    if (g_p == NULL || (g = *g_p) == NULL) {
        return;
    }
    sw_mirror_destroy(&g->m);
    free(g->c.shown);
    free(g);
    *g_p = NULL;
}

/* --- one call: a fresh dest ------------------------------------------------------ */

static int fetch_mirrored(const char *url, const char *ref, const char *sha, const char *dest,
                          const sw_gitfetch_opts *opts, git_oid *out)
{
    sw_gitfetch_resolved *g = NULL;
    git_repository *repo = NULL;
    int error;

    if ((error = sw_gitfetch_resolve(&g, url, ref, sha, opts)) < 0) {
        return error;
    }
    if ((error = sw_gitfetch_init_repo(&repo, dest, g->c.shown)) == 0 &&
        (error = sw_gitfetch_checkout(g, repo, NULL)) == 0) {
        git_oid_cpy(out, &g->r.commit);
    }
    error = scrub(&g->c, error);
    git_repository_free(repo);
    sw_gitfetch_destroy(&g);
    return error;
}

int sw_gitfetch_has_ref(const char *url, const char *ref, const sw_gitfetch_opts *opts)
{
    fetch_ctx c = {.opts = opts, .url = url, .shown = shown_url(url)};
    git_remote *remote = NULL;
    git_remote_create_options remote_opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
    git_remote_callbacks callbacks = remote_callbacks(&c);
    const git_remote_head **heads = NULL;
    size_t nheads = 0;
    char src[512];
    int error;

    pthread_once(&init_once, init_libgit2);
    remote_opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF; /* no repository: detached */
    if (git_remote_create_with_opts(&remote, url, &remote_opts) < 0) {
        error = sw_error_set(SW_EINVALID, "bad repository url '%s': %s", c.shown, git_message());
    } else if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, NULL, NULL) < 0) {
        error = transfer_error(&c, "cannot reach repository");
    } else if (git_remote_ls(&heads, &nheads, remote) < 0) {
        error = sw_error_set(SW_EIO, "cannot list the refs of %s: %s", c.shown, git_message());
    } else if (pick_ref(heads, nheads, ref, src, sizeof(src)) != NULL) {
        error = 0;
    } else if (ref == NULL || ref[0] == '\0') {
        error = sw_error_set(SW_ENOTFOUND, "repository %s has no HEAD (is it empty?)", c.shown);
    } else if (strncmp(ref, "refs/", 5) == 0) {
        error = sw_error_set(SW_ENOTFOUND, "no ref '%s' in %s", ref, c.shown);
    } else {
        error = sw_error_set(SW_ENOTFOUND, "no branch or tag '%s' in %s", ref, c.shown);
    }
    git_remote_free(remote);
    error = scrub(&c, error);
    free(c.shown);
    return error;
}

int sw_gitfetch_ext(const char *url, const char *ref, const char *sha, const char *dest,
                    const sw_gitfetch_opts *opts, char sha_out[41])
{
    git_oid id;
    int error;

    pthread_once(&init_once, init_libgit2);
    sha_out[0] = '\0';
    if (opts != NULL && opts->mirror_dir != NULL && opts->mirror_dir[0] != '\0') {
        error = fetch_mirrored(url, ref, sha, dest, opts, &id);
    } else {
        fetch_ctx c = {.opts = opts, .url = url, .shown = shown_url(url)};
        error = scrub(&c, fetch_direct(&c, ref, sha, dest, &id));
        free(c.shown);
    }
    if (error == 0) {
        git_oid_tostr(sha_out, 41, &id);
    }
    return error;
}

int sw_gitfetch(const char *url, const char *ref, const char *sha, const char *dest,
                char sha_out[41])
{
    return sw_gitfetch_ext(url, ref, sha, dest, NULL, sha_out);
}
