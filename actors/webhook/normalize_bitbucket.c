/*
 * normalize_bitbucket.c - Bitbucket Cloud and Bitbucket Server / Data Center
 * deliveries. Both name the event in X-Event-Key, with keys that do not
 * overlap, so the key alone says whose payload it is:
 *
 *   Cloud:  repo:push, pullrequest:created, pullrequest:updated
 *   Server: repo:refs_changed, pr:opened, pr:from_ref_updated
 *   both:   diagnostics:ping
 *
 * A push carries a list of changes, one per ref. Slipway builds one: the first
 * change that does not delete its ref (later changes of the same delivery are
 * not built); when every change is a delete, the first delete is reported.
 *
 * Cloud payloads carry no clone URL: it is derived from the repository's
 * full_name (https://bitbucket.org/<full_name>.git, git@bitbucket.org:...).
 * Server names a repository <project.key>/<slug> and lists its clone URLs in
 * repository.links.clone by name ("http", "ssh").
 *
 * Bitbucket has no pull request refs: a PR builds the source branch,
 * refs/heads/<branch>, cloned from the source repository (a fork's, when the
 * PR comes from one). Cloud's pullrequest:updated also fires for edits that
 * bring no new commits; those build again (its payload cannot tell them apart).
 */
#include "actors/webhook/normalize_internal.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <stdlib.h>
#include <string.h>

/* ---- Bitbucket Cloud ---- */

/* True when full_name is <workspace>/<slug> in the characters Bitbucket
 * allows, so that it can go into a URL as is. */
static bool is_cloud_full_name(const char *s)
{
    size_t slashes = 0;
    size_t n = strlen(s);
    size_t i;

    if (n < 3 || n > 256 || s[0] == '/' || s[n - 1] == '/') {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '/') {
            slashes++;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.')) {
            return false;
        }
    }
    return slashes == 1;
}

/* Sets repository to name and the clone URLs derived from clone_from. */
static int set_cloud_repository(sw_hook_event *ev, const char *name, const char *clone_from,
                                const char *what)
{
    char *http, *ssh;
    int error;

    if (!is_cloud_full_name(clone_from)) {
        return sw_error_set(SW_EINVALID, "%s: repository full_name is not <workspace>/<slug>",
                            what);
    }
    http = sw_asprintf("https://bitbucket.org/%s.git", clone_from);
    ssh = sw_asprintf("git@bitbucket.org:%s.git", clone_from);
    error = sw_hook_set_repository(ev, name, http, ssh, what);
    free(http);
    free(ssh);
    return error;
}

/* A commit's author: user.display_name, the older display_name, or raw
 * ("Name <email>") when the author has no Bitbucket account. */
static const char *cloud_author(json_t *commit)
{
    const char *name = sw_hook_opt_str(commit, "author.user.display_name");

    if (name == NULL) {
        name = sw_hook_opt_str(commit, "author.display_name");
    }
    return name != NULL ? name : sw_hook_opt_str(commit, "author.raw");
}

/* refs/heads/<name> or refs/tags/<name> for a Cloud ref state ("new" or
 * "old"); NULL for another type (a Mercurial bookmark). Caller frees. */
static int cloud_ref(char **out, json_t *state, const char *what)
{
    const char *type, *name;
    int error;

    *out = NULL;
    if ((error = sw_hook_req_str(&type, state, "type", what)) < 0 ||
        (error = sw_hook_req_str(&name, state, "name", what)) < 0) {
        return error;
    }
    if (strcmp(type, "branch") == 0) {
        *out = sw_asprintf("refs/heads/%s", name);
    } else if (strcmp(type, "tag") == 0) {
        *out = sw_asprintf("refs/tags/%s", name);
    }
    return 0;
}

static int cloud_push(sw_hook_event *ev, json_t *root, const char *what)
{
    sw_hook_push_fields f = {0};
    json_t *changes, *change = NULL, *state, *c;
    const char *name;
    char *ref = NULL;
    size_t i;
    int error;

    if ((error = sw_hook_req_str(&name, root, "repository.full_name", what)) < 0 ||
        (error = sw_hook_req_array(&changes, root, "push.changes", what)) < 0 ||
        (error = set_cloud_repository(ev, name, name, what)) < 0) {
        return error;
    }
    json_array_foreach(changes, i, c)
    {
        if (json_is_object(json_object_get(c, "new"))) {
            change = c;
            break;
        }
    }
    if (change != NULL) {
        state = json_object_get(change, "new");
        if ((error = sw_hook_req_str(&f.sha, state, "target.hash", what)) < 0) {
            return error;
        }
        f.author = cloud_author(json_object_get(state, "target"));
        f.message = sw_hook_opt_str(state, "target.message");
    } else if (json_array_size(changes) > 0) {
        change = json_array_get(changes, 0); /* every change deletes its ref */
        if ((error = sw_hook_req_obj(&state, change, "old", what)) < 0) {
            return error;
        }
    } else {
        return sw_hook_ignore(ev, "%s without changes", what);
    }
    f.before = sw_hook_opt_sha(change, "old.target.hash");
    if ((error = cloud_ref(&ref, state, what)) < 0) {
        return error;
    }
    if (ref == NULL) {
        return sw_hook_ignore(ev, "%s of a ref that is neither a branch nor a tag", what);
    }
    f.ref = ref;
    ev->pusher = sw_hook_strdup_or_null(sw_hook_opt_str(root, "actor.display_name"));
    error = sw_hook_push(ev, &f, what);
    free(ref);
    return error;
}

static int cloud_pull_request(sw_hook_event *ev, json_t *root, const char *action, const char *what)
{
    sw_hook_pr_fields f = {0};
    const char *name, *source;
    char *ref;
    int error;

    if ((error = sw_hook_req_str(&name, root, "repository.full_name", what)) < 0 ||
        (error = sw_hook_req_u32(&f.number, root, "pullrequest.id", what)) < 0 ||
        (error = sw_hook_req_str(&f.branch, root, "pullrequest.source.branch.name", what)) < 0 ||
        (error = sw_hook_req_str(&f.sha, root, "pullrequest.source.commit.hash", what)) < 0) {
        return error;
    }
    source = sw_hook_opt_str(root, "pullrequest.source.repository.full_name");
    if ((error = set_cloud_repository(ev, name, source ? source : name, what)) < 0) {
        return error;
    }
    ref = sw_asprintf("refs/heads/%s", f.branch);
    f.ref = ref;
    f.action = action;
    f.author = sw_hook_opt_str(root, "pullrequest.author.display_name");
    f.title = sw_hook_opt_str(root, "pullrequest.title");
    ev->pusher = sw_hook_strdup_or_null(sw_hook_opt_str(root, "actor.display_name"));
    error = sw_hook_pr(ev, &f, what);
    free(ref);
    return error;
}

/* ---- Bitbucket Server / Data Center ---- */

/* The href of the clone link named name ("http", "ssh") of a repository. */
static const char *server_clone_link(json_t *repo, const char *name)
{
    json_t *links = sw_hook_get(repo, "links.clone");
    json_t *link;
    size_t i;

    json_array_foreach(links, i, link)
    {
        const char *n = sw_hook_opt_str(link, "name");
        if (n != NULL && strcmp(n, name) == 0) {
            return sw_hook_opt_str(link, "href");
        }
    }
    return NULL;
}

/* Sets repository to <project.key>/<slug> of repo, the clone URLs from
 * clone_from's links (a fork's, for a PR from one). */
static int set_server_repository(sw_hook_event *ev, json_t *repo, json_t *clone_from,
                                 const char *what)
{
    const char *key, *slug;
    char *name;
    int error;

    if ((error = sw_hook_req_str(&key, repo, "project.key", what)) < 0 ||
        (error = sw_hook_req_str(&slug, repo, "slug", what)) < 0) {
        return error;
    }
    name = sw_asprintf("%s/%s", key, slug);
    error = sw_hook_set_repository(ev, name, server_clone_link(clone_from, "http"),
                                   server_clone_link(clone_from, "ssh"), what);
    free(name);
    return error;
}

static bool server_deletes(json_t *change)
{
    const char *type = sw_hook_opt_str(change, "type");
    return (type != NULL && strcmp(type, "DELETE") == 0) ||
           sw_hook_is_zero_sha(sw_hook_opt_str(change, "toHash"));
}

static int server_push(sw_hook_event *ev, json_t *root, const char *what)
{
    sw_hook_push_fields f = {0};
    json_t *repo, *changes, *change = NULL, *c;
    size_t i;
    int error;

    if ((error = sw_hook_req_obj(&repo, root, "repository", what)) < 0 ||
        (error = sw_hook_req_array(&changes, root, "changes", what)) < 0 ||
        (error = set_server_repository(ev, repo, repo, what)) < 0) {
        return error;
    }
    json_array_foreach(changes, i, c)
    {
        if (json_is_object(c) && !server_deletes(c)) {
            change = c;
            break;
        }
    }
    if (change != NULL) {
        if ((error = sw_hook_req_str(&f.sha, change, "toHash", what)) < 0) {
            return error;
        }
    } else if (json_array_size(changes) > 0) {
        change = json_array_get(changes, 0); /* every change deletes its ref */
    } else {
        return sw_hook_ignore(ev, "%s without changes", what);
    }
    /* ref.id, or refId in older payloads. */
    f.ref = sw_hook_opt_str(change, "ref.id");
    if (f.ref == NULL && (error = sw_hook_req_str(&f.ref, change, "refId", what)) < 0) {
        return error;
    }
    f.before = sw_hook_opt_sha(change, "fromHash");
    ev->pusher = sw_hook_strdup_or_null(sw_hook_opt_str(root, "actor.name"));
    return sw_hook_push(ev, &f, what); /* repo:refs_changed has no commit author or message */
}

static int server_pull_request(sw_hook_event *ev, json_t *root, const char *action,
                               const char *what)
{
    static const char heads[] = "refs/heads/";
    sw_hook_pr_fields f = {0};
    json_t *to_repo, *from_repo;
    int error;

    if ((error = sw_hook_req_u32(&f.number, root, "pullRequest.id", what)) < 0 ||
        (error = sw_hook_req_str(&f.ref, root, "pullRequest.fromRef.id", what)) < 0 ||
        (error = sw_hook_req_str(&f.sha, root, "pullRequest.fromRef.latestCommit", what)) < 0 ||
        (error = sw_hook_req_obj(&to_repo, root, "pullRequest.toRef.repository", what)) < 0) {
        return error;
    }
    from_repo = sw_hook_get(root, "pullRequest.fromRef.repository");
    if ((error = set_server_repository(ev, to_repo, from_repo ? from_repo : to_repo, what)) < 0) {
        return error;
    }
    f.branch = sw_hook_opt_str(root, "pullRequest.fromRef.displayId");
    if (f.branch == NULL && strncmp(f.ref, heads, sizeof(heads) - 1) == 0) {
        f.branch = f.ref + sizeof(heads) - 1;
    }
    f.action = action;
    f.author = sw_hook_opt_str(root, "pullRequest.author.user.name");
    f.title = sw_hook_opt_str(root, "pullRequest.title");
    ev->pusher = sw_hook_strdup_or_null(sw_hook_opt_str(root, "actor.name"));
    return sw_hook_pr(ev, &f, what);
}

int sw_hook_bitbucket(sw_hook_event *ev, const char *event, json_t *root)
{
    char shown[64];

    if (event == NULL) {
        return sw_hook_ignore(ev, "Bitbucket delivery without an X-Event-Key header");
    }
    if (strcmp(event, "diagnostics:ping") == 0) {
        return sw_hook_ping(ev);
    }
    if (strcmp(event, "repo:push") == 0) {
        return cloud_push(ev, root, "Bitbucket repo:push");
    }
    if (strcmp(event, "pullrequest:created") == 0) {
        return cloud_pull_request(ev, root, "created", "Bitbucket pullrequest:created");
    }
    if (strcmp(event, "pullrequest:updated") == 0) {
        return cloud_pull_request(ev, root, "updated", "Bitbucket pullrequest:updated");
    }
    if (strcmp(event, "repo:refs_changed") == 0) {
        return server_push(ev, root, "Bitbucket Server repo:refs_changed");
    }
    if (strcmp(event, "pr:opened") == 0) {
        return server_pull_request(ev, root, "opened", "Bitbucket Server pr:opened");
    }
    if (strcmp(event, "pr:from_ref_updated") == 0) {
        return server_pull_request(ev, root, "from_ref_updated",
                                   "Bitbucket Server pr:from_ref_updated");
    }
    return sw_hook_ignore(ev, "Bitbucket event \"%s\" starts no build",
                          sw_hook_printable(shown, sizeof(shown), event));
}
