/*
 * gitfetch.c - one commit into a fresh working tree with libgit2 (see gitfetch.h).
 *
 * DESIGN
 * One connection: list the remote's refs, pick the one asked for, fetch only it
 * (no tag following), then resolve and check out. Branches land in
 * refs/remotes/origin/<name>, tags in refs/tags/<name>, anything else under
 * refs/slipway/, so a build that runs git sees familiar names. A mirror cache
 * will later replace the url with a local mirror; the flow stays the same.
 */
#include "actors/builder/gitfetch.h"

#include "runtime/clock.h"
#include "runtime/error.h"

#include <git2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STOP_NONE, STOP_CANCEL, STOP_DEADLINE };

typedef struct progress {
    const sw_gitfetch_opts *opts;
    int stopped;
} progress;

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

static int check_stop(progress *p)
{
    const sw_gitfetch_opts *o = p->opts;
    if (o == NULL) {
        return 0;
    }
    if (o->tick != NULL) {
        o->tick(o->ud);
    }
    if (o->cancel != NULL && *o->cancel) {
        p->stopped = STOP_CANCEL;
    } else if (o->deadline_ms > 0 && sw_clock_mono_ms() >= o->deadline_ms) {
        p->stopped = STOP_DEADLINE;
    }
    return p->stopped ? -1 : 0;
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

static int stopped_error(const progress *p, const char *url)
{
    if (p->stopped == STOP_CANCEL) {
        return sw_error_set(SW_ESTOPPED, "fetching %s: cancelled", url);
    }
    return sw_error_set(SW_ETIMEDOUT, "fetching %s: timed out", url);
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
static const char *pick_ref(const git_remote_head **heads, size_t n, const char *ref,
                            char *buf, size_t size)
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

/* Where a fetched remote ref is stored locally. */
static void local_name(const char *src, char *buf, size_t size)
{
    if (strncmp(src, "refs/heads/", 11) == 0) {
        snprintf(buf, size, "refs/remotes/origin/%s", src + 11);
    } else if (strncmp(src, "refs/tags/", 10) == 0) {
        snprintf(buf, size, "%s", src);
    } else if (strncmp(src, "refs/", 5) == 0) {
        snprintf(buf, size, "refs/slipway/%s", src + 5);
    } else {
        snprintf(buf, size, "refs/remotes/origin/%s", src);
    }
}

/* The commit named by sha (full or abbreviated), which must have been fetched. */
static int lookup_sha(git_commit **out, git_repository *repo, const char *sha, const char *url)
{
    size_t len = strlen(sha);
    git_oid oid;
    int rc;

    if (len < 4 || len > GIT_OID_HEXSZ || !is_hex(sha)) {
        return sw_error_set(SW_EINVALID, "'%s' is not a commit id (4 to 40 hex digits)", sha);
    }
    if (git_oid_fromstrn(&oid, sha, len) < 0) {
        return sw_error_set(SW_EINVALID, "'%s' is not a commit id: %s", sha, git_message());
    }
    rc = git_commit_lookup_prefix(out, repo, &oid, len);
    if (rc == GIT_ENOTFOUND) {
        return sw_error_set(SW_ENOTFOUND, "commit %s is not in %s", sha, url);
    }
    if (rc == GIT_EAMBIGUOUS) {
        return sw_error_set(SW_EINVALID, "commit id %s is ambiguous in %s", sha, url);
    }
    if (rc < 0) {
        return sw_error_set(SW_ENOTFOUND, "commit %s in %s: %s", sha, url, git_message());
    }
    return 0;
}

int sw_gitfetch_ext(const char *url, const char *ref, const char *sha, const char *dest,
                    const sw_gitfetch_opts *opts, char sha_out[41])
{
    git_repository *repo = NULL;
    git_remote *remote = NULL;
    git_reference *fetched = NULL;
    git_object *peeled = NULL;
    git_commit *commit = NULL;
    git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
    git_fetch_options fetch_opts = GIT_FETCH_OPTIONS_INIT;
    git_checkout_options checkout_opts = GIT_CHECKOUT_OPTIONS_INIT;
    git_remote_create_options remote_opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
    const git_remote_head **heads = NULL;
    size_t nheads = 0;
    progress prog = {opts, STOP_NONE};
    char src[512] = "", dst[600] = "", spec[1200];
    char *all_specs[2] = {"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"};
    char *one_spec[1] = {spec};
    git_strarray refspecs;
    int have_sha = sha != NULL && sha[0] != '\0';
    int have_ref = ref != NULL && ref[0] != '\0';
    int error = -1;

    pthread_once(&init_once, init_libgit2);
    sha_out[0] = '\0';
    callbacks.transfer_progress = on_transfer;
    callbacks.sideband_progress = on_sideband;
    callbacks.payload = &prog;

    if (git_repository_init(&repo, dest, 0) < 0) {
        error = sw_error_set(SW_EIO, "cannot create a repository at %s: %s", dest, git_message());
        goto cleanup;
    }
    /* insteadOf rewriting is skipped: the builder has no user config to honour, and
     * libgit2 1.5's glob lookup for it leaks pcre2 match data on every call */
    remote_opts.repository = repo;
    remote_opts.name = "origin";
    remote_opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
    if (git_remote_create_with_opts(&remote, url, &remote_opts) < 0) {
        error = sw_error_set(SW_EINVALID, "bad repository url '%s': %s", url, git_message());
        goto cleanup;
    }
    if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, NULL, NULL) < 0) {
        error = prog.stopped ? stopped_error(&prog, url)
                             : sw_error_set(SW_EIO, "cannot reach repository %s: %s", url,
                                            git_message());
        goto cleanup;
    }
    if (git_remote_ls(&heads, &nheads, remote) < 0) {
        error = sw_error_set(SW_EIO, "cannot list the refs of %s: %s", url, git_message());
        goto cleanup;
    }

    if (!have_ref && have_sha) {
        /* a bare commit id: take every branch and tag, the commit is in one of them */
        refspecs.strings = all_specs;
        refspecs.count = 2;
        dst[0] = '\0';
    } else {
        if (pick_ref(heads, nheads, ref, src, sizeof(src)) == NULL) {
            if (!have_ref) {
                error = sw_error_set(SW_ENOTFOUND, "repository %s has no HEAD (is it empty?)",
                                     url);
            } else if (strncmp(ref, "refs/", 5) == 0) {
                error = sw_error_set(SW_ENOTFOUND, "no ref '%s' in %s", ref, url);
            } else {
                error = sw_error_set(SW_ENOTFOUND, "no branch or tag '%s' in %s", ref, url);
            }
            goto cleanup;
        }
        local_name(src, dst, sizeof(dst));
        snprintf(spec, sizeof(spec), "+%s:%s", src, dst);
        refspecs.strings = one_spec;
        refspecs.count = 1;
    }

    fetch_opts.callbacks = callbacks;
    fetch_opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fetch_opts.update_fetchhead = 0;
    fetch_opts.prune = GIT_FETCH_NO_PRUNE;
    if (git_remote_fetch(remote, &refspecs, &fetch_opts, NULL) < 0) {
        error = prog.stopped ? stopped_error(&prog, url)
                             : sw_error_set(SW_EIO, "cannot fetch %s from %s: %s",
                                            have_ref ? ref : "HEAD", url, git_message());
        goto cleanup;
    }

    if (dst[0] != '\0') {
        if (git_reference_lookup(&fetched, repo, dst) < 0 ||
            git_reference_peel(&peeled, fetched, GIT_OBJECT_COMMIT) < 0) {
            error = sw_error_set(SW_ENOTFOUND, "%s in %s does not name a commit: %s", src, url,
                                 git_message());
            goto cleanup;
        }
    }
    if (have_sha) {
        if ((error = lookup_sha(&commit, repo, sha, url)) < 0) {
            goto cleanup;
        }
        /* the commit must be on the ref (some transports bring more than asked for) */
        if (peeled != NULL && !git_oid_equal(git_object_id(peeled), git_commit_id(commit)) &&
            git_graph_descendant_of(repo, git_object_id(peeled), git_commit_id(commit)) != 1) {
            error = sw_error_set(SW_ENOTFOUND, "commit %s is not in %s %s", sha, url, src);
            goto cleanup;
        }
    } else if (git_commit_lookup(&commit, repo, git_object_id(peeled)) < 0) {
        error = sw_error_set(SW_EIO, "cannot read commit of %s: %s", src, git_message());
        goto cleanup;
    }

    checkout_opts.checkout_strategy = GIT_CHECKOUT_FORCE;
    if (git_checkout_tree(repo, (const git_object *)commit, &checkout_opts) < 0 ||
        git_repository_set_head_detached(repo, git_commit_id(commit)) < 0) {
        error = sw_error_set(SW_EIO, "cannot check out %s into %s: %s",
                             git_oid_tostr_s(git_commit_id(commit)), dest, git_message());
        goto cleanup;
    }
    git_oid_tostr(sha_out, 41, git_commit_id(commit));
    error = 0;

cleanup:
    git_commit_free(commit);
    git_object_free(peeled);
    git_reference_free(fetched);
    git_remote_free(remote);
    git_repository_free(repo);
    return error;
}

int sw_gitfetch(const char *url, const char *ref, const char *sha, const char *dest,
                char sha_out[41])
{
    return sw_gitfetch_ext(url, ref, sha, dest, NULL, sha_out);
}
