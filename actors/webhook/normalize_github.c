/*
 * normalize_github.c - GitHub and Gitea (Forgejo) deliveries. Gitea's payloads
 * copy GitHub's shapes (repository.full_name/clone_url/ssh_url, ref, after,
 * head_commit, pull_request.head), so one reader serves both; where they
 * differ it says so.
 *
 * Events: "ping" (GitHub), "push" (branch and tag pushes, deletes),
 * "pull_request" (built for opened, reopened, synchronize / Gitea's
 * synchronized), Gitea's "delete" (a ref deleted) and "create" (ignored: the
 * push that comes with it is built). Anything else is IGNORED. Gitea's
 * deprecated body field "secret" is never read.
 */
#include "actors/webhook/normalize_internal.h"

#include "runtime/core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *forge_label(sw_forge_type forge)
{
    return forge == SW_FORGE_GITEA ? "Gitea" : "GitHub";
}

static int read_repository(sw_hook_event *ev, json_t *root, const char *what)
{
    const char *name;
    int error = sw_hook_req_str(&name, root, "repository.full_name", what);

    if (error < 0) {
        return error;
    }
    return sw_hook_set_repository(ev, name, sw_hook_opt_str(root, "repository.clone_url"),
                                  sw_hook_opt_str(root, "repository.ssh_url"), what);
}

/* GitHub's pusher has a name, Gitea's a login (and a full_name). */
static const char *pusher_of(json_t *root)
{
    const char *login = sw_hook_opt_str(root, "pusher.login");
    return login != NULL ? login : sw_hook_opt_str(root, "pusher.name");
}

static int read_push(sw_hook_event *ev, json_t *root, const char *what)
{
    sw_hook_push_fields f = {0};
    const char *after;
    json_t *head;
    int error;

    if ((error = sw_hook_req_str(&f.ref, root, "ref", what)) < 0 ||
        (error = sw_hook_req_str(&after, root, "after", what)) < 0 ||
        (error = read_repository(ev, root, what)) < 0) {
        return error;
    }
    f.before = sw_hook_opt_sha(root, "before");
    if (!json_is_true(json_object_get(root, "deleted")) && !sw_hook_is_zero_sha(after)) {
        f.sha = after;
        /* head_commit is the commit pushed (for an annotated tag, after is the
         * tag object's sha and head_commit still the commit); without it (old
         * Gitea) the element of commits[] whose id is after. */
        head = json_object_get(root, "head_commit");
        if (!json_is_object(head)) {
            head = sw_hook_find_commit(json_object_get(root, "commits"), "id", after);
        }
        f.author = sw_hook_opt_str(head, "author.name");
        f.message = sw_hook_opt_str(head, "message");
    }
    ev->pusher = sw_hook_strdup_or_null(pusher_of(root));
    return sw_hook_push(ev, &f, what);
}

static bool builds_pr(const char *action)
{
    static const char *const build[] = {"opened", "reopened", "synchronize", "synchronized"};
    size_t i;

    for (i = 0; i < sizeof(build) / sizeof(build[0]); i++) {
        if (strcmp(action, build[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int read_pull_request(sw_hook_event *ev, json_t *root, const char *what)
{
    sw_hook_pr_fields f = {0};
    char ref[48];
    char shown[64];
    int error;

    if ((error = sw_hook_req_str(&f.action, root, "action", what)) < 0) {
        return error;
    }
    if (!builds_pr(f.action)) {
        ev->action = sw_hook_strdup_or_null(f.action);
        return sw_hook_ignore(ev, "%s action \"%s\" starts no build", what,
                              sw_hook_printable(shown, sizeof(shown), f.action));
    }
    if (json_object_get(root, "number") != NULL) {
        error = sw_hook_req_u32(&f.number, root, "number", what);
    } else {
        error = sw_hook_req_u32(&f.number, root, "pull_request.number", what);
    }
    if (error < 0 || (error = sw_hook_req_str(&f.sha, root, "pull_request.head.sha", what)) < 0 ||
        (error = sw_hook_req_str(&f.branch, root, "pull_request.head.ref", what)) < 0 ||
        (error = read_repository(ev, root, what)) < 0) {
        return error;
    }
    /* The base repository serves the head commit, a fork's too, under this ref. */
    snprintf(ref, sizeof(ref), "refs/pull/%u/head", (unsigned)f.number);
    f.ref = ref;
    f.before = sw_hook_opt_sha(root, "before"); /* GitHub synchronize */
    f.author = sw_hook_opt_str(root, "pull_request.user.login");
    f.title = sw_hook_opt_str(root, "pull_request.title");
    ev->pusher = sw_hook_strdup_or_null(sw_hook_opt_str(root, "sender.login"));
    return sw_hook_pr(ev, &f, what);
}

static int read_ping(sw_hook_event *ev, json_t *root, const char *what)
{
    const char *name = sw_hook_opt_str(root, "repository.full_name");
    int error;

    /* An organization's hook pings without a repository. */
    if (name != NULL && (error = read_repository(ev, root, what)) < 0) {
        return error;
    }
    ev->pusher = sw_hook_strdup_or_null(sw_hook_opt_str(root, "sender.login"));
    return sw_hook_ping(ev);
}

/* Gitea's "delete": ref is the short name, ref_type "branch" or "tag". */
static int read_gitea_delete(sw_hook_event *ev, json_t *root, const char *what)
{
    sw_hook_push_fields f = {0};
    const char *name, *type;
    char shown[64];
    char *ref;
    int error;

    if ((error = sw_hook_req_str(&name, root, "ref", what)) < 0 ||
        (error = sw_hook_req_str(&type, root, "ref_type", what)) < 0 ||
        (error = read_repository(ev, root, what)) < 0) {
        return error;
    }
    if (strcmp(type, "branch") != 0 && strcmp(type, "tag") != 0) {
        return sw_hook_ignore(ev, "%s of a %s: neither a branch nor a tag", what,
                              sw_hook_printable(shown, sizeof(shown), type));
    }
    if (strncmp(name, "refs/", 5) == 0) {
        ref = sw_hook_strdup_or_null(name);
    } else {
        ref = sw_asprintf("refs/%s/%s", strcmp(type, "tag") == 0 ? "tags" : "heads", name);
    }
    f.ref = ref;
    f.before = sw_hook_opt_sha(root, "sha");
    ev->pusher = sw_hook_strdup_or_null(sw_hook_opt_str(root, "sender.login"));
    error = sw_hook_push(ev, &f, what);
    free(ref);
    return error;
}

int sw_hook_github(sw_hook_event *ev, sw_forge_type forge, const char *event, json_t *root)
{
    const char *forge_name = forge_label(forge);
    char what[80];
    char shown[64];

    if (event == NULL) {
        return sw_hook_ignore(ev, "%s delivery without an event header", forge_name);
    }
    snprintf(what, sizeof(what), "%s %s", forge_name,
             sw_hook_printable(shown, sizeof(shown), event));
    if (strcmp(event, "push") == 0) {
        return read_push(ev, root, what);
    }
    /* Gitea's X-Gitea-Event-Type value for new commits, should a caller pass it. */
    if (strcmp(event, "pull_request") == 0 ||
        (forge == SW_FORGE_GITEA && strcmp(event, "pull_request_sync") == 0)) {
        return read_pull_request(ev, root, what);
    }
    if (strcmp(event, "ping") == 0) {
        return read_ping(ev, root, what);
    }
    if (forge == SW_FORGE_GITEA && strcmp(event, "delete") == 0) {
        return read_gitea_delete(ev, root, what);
    }
    if (strcmp(event, "create") == 0) {
        return sw_hook_ignore(ev, "%s event \"create\" starts no build (its push does)",
                              forge_name);
    }
    return sw_hook_ignore(ev, "%s event \"%s\" starts no build", forge_name, shown);
}
