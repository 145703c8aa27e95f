/*
 * normalize_gitlab.c - GitLab deliveries.
 *
 * The event is the X-Gitlab-Event header ("Push Hook", "Tag Push Hook",
 * "Merge Request Hook"); without one, or for a "System Hook", the body's
 * object_kind ("push", "tag_push", "merge_request") decides.
 *
 * Pushes build checkout_sha (the commit; for an annotated tag, after is the
 * tag object). The head commit is the element of commits[] with that id:
 * GitLab lists commits oldest first, so it is the last, not commits[0]. A tag
 * push has commits[] empty and so no author or message.
 *
 * Merge requests build on "open" and "reopen", and on "update" only when
 * object_attributes.oldrev is present (new commits; an update without it is an
 * edit of the title, labels, ...). The head commit is last_commit, fetched
 * from the target project as refs/merge-requests/<iid>/head.
 */
#include "actors/webhook/normalize_internal.h"

#include <stdio.h>
#include <string.h>

static int read_project(sw_hook_event *ev, json_t *root, const char *what)
{
    const char *name;
    int error = sw_hook_req_str(&name, root, "project.path_with_namespace", what);

    if (error < 0) {
        return error;
    }
    return sw_hook_set_repository(ev, name, sw_hook_opt_str(root, "project.git_http_url"),
                                  sw_hook_opt_str(root, "project.git_ssh_url"), what);
}

static int read_push(sw_hook_event *ev, json_t *root, const char *what)
{
    sw_hook_push_fields f = {0};
    const char *after;
    json_t *head;
    int error;

    if ((error = sw_hook_req_str(&f.ref, root, "ref", what)) < 0 ||
        (error = sw_hook_req_str(&after, root, "after", what)) < 0 ||
        (error = read_project(ev, root, what)) < 0) {
        return error;
    }
    f.before = sw_hook_opt_sha(root, "before");
    if (!sw_hook_is_zero_sha(after)) {
        f.sha = sw_hook_opt_str(root, "checkout_sha"); /* null when the ref was deleted */
        if (f.sha == NULL) {
            f.sha = after;
        }
        head = sw_hook_find_commit(json_object_get(root, "commits"), "id", f.sha);
        f.author = sw_hook_opt_str(head, "author.name");
        f.message = sw_hook_opt_str(head, "message");
    }
    /* user_username is missing from some payloads (the documented tag push):
     * then no pusher; user_name is a display name, not an account. */
    ev->pusher = sw_hook_strdup_or_null(sw_hook_opt_str(root, "user_username"));
    return sw_hook_push(ev, &f, what);
}

static int read_merge_request(sw_hook_event *ev, json_t *root, const char *what)
{
    sw_hook_pr_fields f = {0};
    char ref[64];
    char shown[64];
    json_t *attrs;
    bool builds;
    int error;

    if ((error = sw_hook_req_obj(&attrs, root, "object_attributes", what)) < 0 ||
        (error = sw_hook_req_str(&f.action, root, "object_attributes.action", what)) < 0) {
        return error;
    }
    f.before = sw_hook_opt_sha(attrs, "oldrev");
    builds = strcmp(f.action, "open") == 0 || strcmp(f.action, "reopen") == 0 ||
             (strcmp(f.action, "update") == 0 && f.before != NULL);
    if (!builds) {
        ev->action = sw_hook_strdup_or_null(f.action);
        if (strcmp(f.action, "update") == 0) {
            return sw_hook_ignore(ev, "%s action \"update\" without new commits starts no build",
                                  what);
        }
        return sw_hook_ignore(ev, "%s action \"%s\" starts no build", what,
                              sw_hook_printable(shown, sizeof(shown), f.action));
    }
    if ((error = sw_hook_req_u32(&f.number, attrs, "iid", what)) < 0 ||
        (error = sw_hook_req_str(&f.branch, attrs, "source_branch", what)) < 0 ||
        (error = sw_hook_req_str(&f.sha, attrs, "last_commit.id", what)) < 0 ||
        (error = read_project(ev, root, what)) < 0) {
        return error;
    }
    snprintf(ref, sizeof(ref), "refs/merge-requests/%u/head", (unsigned)f.number);
    f.ref = ref;
    f.author = sw_hook_opt_str(attrs, "last_commit.author.name");
    f.message = sw_hook_opt_str(attrs, "last_commit.message");
    f.title = sw_hook_opt_str(attrs, "title");
    ev->pusher = sw_hook_strdup_or_null(sw_hook_opt_str(root, "user.username"));
    return sw_hook_pr(ev, &f, what);
}

/* The object_kind an X-Gitlab-Event value stands for; NULL for any other. */
static const char *kind_of_header(const char *event)
{
    if (strcmp(event, "Push Hook") == 0) {
        return "push";
    }
    if (strcmp(event, "Tag Push Hook") == 0) {
        return "tag_push";
    }
    if (strcmp(event, "Merge Request Hook") == 0) {
        return "merge_request";
    }
    return NULL;
}

int sw_hook_gitlab(sw_hook_event *ev, const char *event, json_t *root)
{
    const char *kind;
    char shown[64];

    if (event != NULL && strcmp(event, "System Hook") != 0) {
        kind = kind_of_header(event);
        if (kind == NULL) {
            return sw_hook_ignore(ev, "GitLab event \"%s\" starts no build",
                                  sw_hook_printable(shown, sizeof(shown), event));
        }
    } else {
        kind = sw_hook_opt_str(root, "object_kind");
        if (kind == NULL) {
            return sw_hook_ignore(ev, "GitLab delivery without an event header or object_kind");
        }
    }
    if (strcmp(kind, "push") == 0 || strcmp(kind, "tag_push") == 0) {
        return read_push(ev, root, strcmp(kind, "push") == 0 ? "GitLab push" : "GitLab tag push");
    }
    if (strcmp(kind, "merge_request") == 0) {
        return read_merge_request(ev, root, "GitLab merge request");
    }
    return sw_hook_ignore(ev, "GitLab object_kind \"%s\" starts no build",
                          sw_hook_printable(shown, sizeof(shown), kind));
}
