/* test_normalize.c - webhook payloads of every forge into the fields of a build:
 * the published fixtures against their hand-read expectations, the actions that
 * start no build, [skip ci], and bodies that are refused. */
#include "actors/webhook/normalize.h"
#include "runtime/core/error.h"

#include "support.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each fixture with the forge and the event header it arrives with (MANIFEST.md). */
static const struct fixture {
    const char *path;
    sw_forge_type forge;
    const char *event;
} fixtures[] = {
    {"github/push.json", SW_FORGE_GITHUB, "push"},
    {"github/push-new-branch.json", SW_FORGE_GITHUB, "push"},
    {"github/push-tag.json", SW_FORGE_GITHUB, "push"},
    {"github/push-tag-delete.json", SW_FORGE_GITHUB, "push"},
    {"github/push-branch-delete.json", SW_FORGE_GITHUB, "push"},
    {"github/push-organization.json", SW_FORGE_GITHUB, "push"},
    {"github/pull_request-opened.json", SW_FORGE_GITHUB, "pull_request"},
    {"github/pull_request-synchronize.json", SW_FORGE_GITHUB, "pull_request"},
    {"github/ping.json", SW_FORGE_GITHUB, "ping"},
    {"gitlab/push.json", SW_FORGE_GITLAB, "Push Hook"},
    {"gitlab/tag_push.json", SW_FORGE_GITLAB, "Tag Push Hook"},
    {"gitlab/merge_request.json", SW_FORGE_GITLAB, "Merge Request Hook"},
    {"gitea/push.json", SW_FORGE_GITEA, "push"},
    {"gitea/push-new-branch.json", SW_FORGE_GITEA, "push"},
    {"gitea/pull_request.json", SW_FORGE_GITEA, "pull_request"},
    {"bitbucket/repo_push.json", SW_FORGE_BITBUCKET, "repo:push"},
    {"bitbucket/repo_push-real.json", SW_FORGE_BITBUCKET, "repo:push"},
    {"bitbucket-server/repo_refs_changed.json", SW_FORGE_BITBUCKET_SERVER, "repo:refs_changed"},
    {"bitbucket-server/repo_refs_changed-delete.json", SW_FORGE_BITBUCKET_SERVER,
     "repo:refs_changed"},
};
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

/* Keys of expected.json that sw_hook_event does not carry (the base branch and
 * sha, the head repository, ...): not compared. Any other key must be. */
static const char *const not_modelled[] = {
    "head_repo",      "head_clone_http", "base_branch", "base_sha",     "after",
    "ref_is_derived", "repo_is_derived", "pusher_name", "organization", "hook_id",
};

static const struct fixture *find_fixture(const char *path)
{
    for (size_t i = 0; i < N_FIXTURES; i++) {
        if (strcmp(fixtures[i].path, path) == 0) {
            return &fixtures[i];
        }
    }
    return NULL;
}

static char *fixture_path(const char *name)
{
    const char *src = getenv("SLIPWAY_SOURCE_DIR");
    char *path = NULL;
    ck_assert_msg(src != NULL, "SLIPWAY_SOURCE_DIR is not set");
    ck_assert_int_ne(asprintf(&path, "%s/tests/fixtures/webhooks/%s", src, name), -1);
    return path;
}

static char *read_fixture(const char *name, size_t *len)
{
    char *path = fixture_path(name);
    char *text = sw_test_read_file(path, len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    free(path);
    return text;
}

static json_t *load_fixture_json(const char *name)
{
    char *path = fixture_path(name);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    ck_assert_msg(root != NULL, "%s: %s", path, jerr.text);
    free(path);
    return root;
}

/* Normalizes fixture name as it arrives (its forge and event header); must succeed. */
static void normalize_fixture(sw_hook_event *ev, const char *name)
{
    const struct fixture *f = find_fixture(name);
    size_t len;
    char *body;
    int rc;

    ck_assert_msg(f != NULL, "%s is not in the fixture table", name);
    body = read_fixture(name, &len);
    rc = sw_hook_normalize(ev, f->forge, f->event, body, len);
    ck_assert_msg(rc == 0, "%s: %d %s", name, rc, sw_error_last());
    free(body);
}

/* Normalizes a JSON value (serialized compactly); returns the code. */
static int normalize_json(sw_hook_event *ev, sw_forge_type forge, const char *event, json_t *v)
{
    char *body = json_dumps(v, JSON_COMPACT);
    int rc;
    ck_assert_ptr_nonnull(body);
    rc = sw_hook_normalize(ev, forge, event, body, strlen(body));
    free(body);
    return rc;
}

/* A fixture edited in memory: set the string at a dotted path to value (a
 * number steps into an array). */
static void set_string(json_t *root, const char *path, const char *value)
{
    char *copy = strdup(path);
    char *key = copy, *dot;
    json_t *obj = root;

    while ((dot = strchr(key, '.')) != NULL) {
        *dot = '\0';
        obj = json_is_array(obj) ? json_array_get(obj, strtoul(key, NULL, 10))
                                 : json_object_get(obj, key);
        ck_assert_msg(obj != NULL, "no %s in %s", key, path);
        key = dot + 1;
    }
    ck_assert_int_eq(json_object_set_new(obj, key, json_string(value)), 0);
    free(copy);
}

/* Compares one string field: expected null or absent means NULL. */
static void check_field(const char *fixture, const char *key, json_t *expected, const char *got)
{
    json_t *want = json_object_get(expected, key);
    if (want == NULL || json_is_null(want)) {
        ck_assert_msg(got == NULL, "%s: %s: expected null, got \"%s\"", fixture, key, got);
        return;
    }
    ck_assert_msg(json_is_string(want), "%s: %s is not a string in expected.json", fixture, key);
    ck_assert_msg(got != NULL, "%s: %s: expected \"%s\", got null", fixture, key,
                  json_string_value(want));
    ck_assert_msg(strcmp(got, json_string_value(want)) == 0, "%s: %s: expected \"%s\", got \"%s\"",
                  fixture, key, json_string_value(want), got);
}

static bool is_compared(const char *key)
{
    static const char *const compared[] = {
        "kind",   "repo",   "clone_http", "clone_ssh",          "ref",    "branch", "tag",   "sha",
        "before", "pusher", "author",     "message_first_line", "action", "number", "title",
    };
    for (size_t i = 0; i < sizeof(compared) / sizeof(compared[0]); i++) {
        if (strcmp(key, compared[i]) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(not_modelled) / sizeof(not_modelled[0]); i++) {
        if (strcmp(key, not_modelled[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void check_fixture(const char *name, json_t *want)
{
    sw_hook_event ev;
    const char *key;
    json_t *v;
    char *http = NULL, *ssh = NULL;

    json_object_foreach(want, key, v)
    {
        ck_assert_msg(is_compared(key), "%s: expected.json has \"%s\", which no check reads", name,
                      key);
    }
    normalize_fixture(&ev, name);

    ck_assert_str_eq(sw_hook_kind_name(ev.kind), json_string_value(json_object_get(want, "kind")));
    check_field(name, "repo", want, ev.repository);
    if (strncmp(name, "bitbucket/", 10) == 0) {
        /* Bitbucket Cloud payloads carry no clone URL (null in expected.json):
         * Slipway derives them from the full name, as MANIFEST.md describes. */
        ck_assert_msg(json_is_null(json_object_get(want, "clone_http")), "%s", name);
        ck_assert_int_ne(asprintf(&http, "https://bitbucket.org/%s.git", ev.repository), -1);
        ck_assert_int_ne(asprintf(&ssh, "git@bitbucket.org:%s.git", ev.repository), -1);
        ck_assert_str_eq(ev.clone_url, http);
        ck_assert_str_eq(ev.ssh_url, ssh);
        free(http);
        free(ssh);
    } else {
        check_field(name, "clone_http", want, ev.clone_url);
        check_field(name, "clone_ssh", want, ev.ssh_url);
    }
    check_field(name, "ref", want, ev.ref);
    check_field(name, "branch", want, ev.branch);
    check_field(name, "tag", want, ev.tag);
    check_field(name, "sha", want, ev.sha);
    check_field(name, "before", want, ev.before);
    check_field(name, "pusher", want, ev.pusher);
    check_field(name, "author", want, ev.author);
    check_field(name, "message_first_line", want, ev.message);
    check_field(name, "action", want, ev.action);
    check_field(name, "title", want, ev.title);
    v = json_object_get(want, "number");
    ck_assert_msg(ev.pr_number == (v ? json_integer_value(v) : 0), "%s: number %u", name,
                  ev.pr_number);
    ck_assert_msg(!ev.skip_ci, "%s: skip_ci", name);
    if (ev.kind == SW_HOOK_DELETE) {
        ck_assert_ptr_nonnull(ev.reason);
    }
    sw_hook_event_clear(&ev);
}

START_TEST(test_every_fixture_gives_its_expected_fields)
{
    json_t *expected = load_fixture_json("expected.json");
    const char *name;
    json_t *want;
    size_t entries = 0, checked = 0;

    json_object_foreach(expected, name, want)
    {
        if (name[0] == '_') {
            continue; /* "_comment" */
        }
        entries++;
        check_fixture(name, want);
        checked++;
    }
    ck_assert_uint_eq(checked, entries);
    ck_assert_uint_eq(checked, N_FIXTURES); /* a fixture missing from either side fails */
    json_decref(expected);
}
END_TEST

START_TEST(test_gitea_secret_is_never_copied)
{
    static const char secret[] = "3gEsCfjlV2ugRwgpU#w1*WaW*wa4NXgGmpCfkbG3";
    sw_hook_event ev;
    normalize_fixture(&ev, "gitea/push.json");
    const char *fields[] = {ev.action, ev.repository, ev.clone_url, ev.ssh_url, ev.ref,
                            ev.sha,    ev.before,     ev.branch,    ev.tag,     ev.pusher,
                            ev.author, ev.message,    ev.title,     ev.reason};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        ck_assert(fields[i] == NULL || strstr(fields[i], secret) == NULL);
    }
    sw_hook_event_clear(&ev);
}
END_TEST

/* The head commit's message asks for no build: the push is read, skip_ci set. */
static void assert_skip_ci(const char *fixture, const char *message_path, const char *message,
                           const char *first_line)
{
    const struct fixture *f = find_fixture(fixture);
    json_t *root = load_fixture_json(fixture);
    sw_hook_event ev;

    set_string(root, message_path, message);
    ck_assert_int_eq(normalize_json(&ev, f->forge, f->event, root), 0);
    ck_assert_msg(ev.skip_ci, "%s: %s", fixture, message);
    ck_assert_ptr_nonnull(ev.reason);
    ck_assert_ptr_nonnull(strstr(ev.reason, "skip ci"));
    ck_assert_str_eq(ev.message, first_line);
    ck_assert_ptr_nonnull(ev.sha); /* still a push: the gateway decides what skip_ci means */
    sw_hook_event_clear(&ev);
    json_decref(root);
}

START_TEST(test_skip_ci_in_the_head_commit_message)
{
    assert_skip_ci("github/push.json", "head_commit.message", "Fix the docs\n\n[skip ci]",
                   "Fix the docs");
    assert_skip_ci("github/push.json", "head_commit.message", "[CI SKIP] typo", "[CI SKIP] typo");
    assert_skip_ci("gitea/push-new-branch.json", "head_commit.message", "wip [ci skip]\r\n",
                   "wip [ci skip]");
    assert_skip_ci("bitbucket/repo_push.json", "push.changes.0.new.target.message", "x\n[skip ci]",
                   "x");
}
END_TEST

/* GitLab: only the head commit (the last of commits[]) counts. */
START_TEST(test_skip_ci_reads_the_gitlab_head_commit)
{
    json_t *root = load_fixture_json("gitlab/push.json");
    json_t *commits = json_object_get(root, "commits");
    sw_hook_event ev;

    json_object_set_new(json_array_get(commits, 0), "message", json_string("old [skip ci]"));
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_GITLAB, "Push Hook", root), 0);
    ck_assert(!ev.skip_ci);
    sw_hook_event_clear(&ev);

    json_object_set_new(json_array_get(commits, 1), "message", json_string("new\n[Skip CI]"));
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_GITLAB, "Push Hook", root), 0);
    ck_assert(ev.skip_ci);
    ck_assert_str_eq(ev.message, "new");
    sw_hook_event_clear(&ev);
    json_decref(root);
}
END_TEST

START_TEST(test_skip_ci_in_a_merge_request)
{
    assert_skip_ci("gitlab/merge_request.json", "object_attributes.last_commit.message",
                   "Docs only [skip ci]", "Docs only [skip ci]");
}
END_TEST

/* Normalizes root (edited), expects IGNORED with a reason containing what. */
static void assert_ignored(sw_forge_type forge, const char *event, json_t *root, const char *what)
{
    sw_hook_event ev;
    ck_assert_msg(normalize_json(&ev, forge, event, root) == 0, "%s", sw_error_last());
    ck_assert_str_eq(sw_hook_kind_name(ev.kind), "ignored");
    ck_assert_ptr_nonnull(ev.reason);
    ck_assert_msg(strstr(ev.reason, what) != NULL, "expected '%s' in '%s'", what, ev.reason);
    ck_assert_ptr_null(ev.sha);
    sw_hook_event_clear(&ev);
}

START_TEST(test_pull_request_closed_is_ignored)
{
    json_t *root = load_fixture_json("github/pull_request-opened.json");
    set_string(root, "action", "closed");
    assert_ignored(SW_FORGE_GITHUB, "pull_request", root, "closed");
    set_string(root, "action", "labeled");
    assert_ignored(SW_FORGE_GITHUB, "pull_request", root, "labeled");
    json_decref(root);

    root = load_fixture_json("gitea/pull_request.json");
    set_string(root, "action", "closed");
    assert_ignored(SW_FORGE_GITEA, "pull_request", root, "closed");
    json_decref(root);
}
END_TEST

START_TEST(test_unknown_events_are_ignored_with_their_name)
{
    json_t *root = json_pack("{s:s, s:{s:i}}", "action", "opened", "issue", "number", 1);
    assert_ignored(SW_FORGE_GITHUB, "issues", root, "issues");
    assert_ignored(SW_FORGE_GITEA, "issues", root, "issues");
    assert_ignored(SW_FORGE_GITLAB, "Note Hook", root, "Note Hook");
    assert_ignored(SW_FORGE_BITBUCKET, "repo:fork", root, "repo:fork");
    assert_ignored(SW_FORGE_BITBUCKET, "pullrequest:fulfilled", root, "pullrequest:fulfilled");
    assert_ignored(SW_FORGE_GITHUB, "weird\nevent", root, "weird?event"); /* printable only */
    json_decref(root);
}
END_TEST

START_TEST(test_no_event_header)
{
    sw_hook_event ev;
    json_t *root = load_fixture_json("github/push.json");
    assert_ignored(SW_FORGE_GITHUB, NULL, root, "event header");
    assert_ignored(SW_FORGE_BITBUCKET, NULL, root, "X-Event-Key");
    json_decref(root);

    /* GitLab: object_kind decides. */
    root = load_fixture_json("gitlab/tag_push.json");
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_GITLAB, NULL, root), 0);
    ck_assert_str_eq(sw_hook_kind_name(ev.kind), "tag");
    ck_assert_str_eq(ev.tag, "v1.0.0");
    sw_hook_event_clear(&ev);
    json_decref(root);
}
END_TEST

START_TEST(test_gitlab_merge_request_update)
{
    json_t *root = load_fixture_json("gitlab/merge_request.json");
    sw_hook_event ev;

    set_string(root, "object_attributes.action", "update");
    assert_ignored(SW_FORGE_GITLAB, "Merge Request Hook", root, "without new commits");

    /* New commits: oldrev is the previous head. */
    set_string(root, "object_attributes.oldrev", "95790bf891e76fee5e1747ab589903a6a1f80f22");
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_GITLAB, "Merge Request Hook", root), 0);
    ck_assert_str_eq(sw_hook_kind_name(ev.kind), "pr");
    ck_assert_str_eq(ev.action, "update");
    ck_assert_str_eq(ev.before, "95790bf891e76fee5e1747ab589903a6a1f80f22");
    ck_assert_str_eq(ev.ref, "refs/merge-requests/1/head");
    sw_hook_event_clear(&ev);

    set_string(root, "object_attributes.action", "merge");
    assert_ignored(SW_FORGE_GITLAB, "Merge Request Hook", root, "merge");
    json_decref(root);
}
END_TEST

START_TEST(test_bitbucket_builds_the_first_change_that_is_not_a_delete)
{
    json_t *root = load_fixture_json("bitbucket/repo_push.json");
    json_t *changes = json_object_get(json_object_get(root, "push"), "changes");
    json_t *del = json_deep_copy(json_array_get(changes, 0));
    sw_hook_event ev;

    json_object_set_new(json_object_get(del, "old"), "name", json_string("gone"));
    json_object_set_new(del, "new", json_null());
    json_array_insert_new(changes, 0, del);
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_BITBUCKET, "repo:push", root), 0);
    ck_assert_str_eq(sw_hook_kind_name(ev.kind), "push");
    ck_assert_str_eq(ev.branch, "name-of-branch");
    ck_assert_str_eq(ev.sha, "709d658dc5b6d6afcd46049c2f332ee3f515a67d");
    sw_hook_event_clear(&ev);

    /* Only deletes: the first one is reported. */
    json_array_remove(changes, 1);
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_BITBUCKET, "repo:push", root), 0);
    ck_assert_str_eq(sw_hook_kind_name(ev.kind), "delete");
    ck_assert_str_eq(ev.ref, "refs/heads/gone");
    ck_assert_ptr_null(ev.sha);
    sw_hook_event_clear(&ev);
    json_decref(root);
}
END_TEST

START_TEST(test_pings)
{
    sw_hook_event ev;
    json_t *root = json_pack("{s:b}", "test", 1);
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_BITBUCKET_SERVER, "diagnostics:ping", root), 0);
    ck_assert_str_eq(sw_hook_kind_name(ev.kind), "ping");
    sw_hook_event_clear(&ev);
    json_decref(root);
}
END_TEST

/* Events without a published fixture, from hand-built payloads. */
START_TEST(test_events_without_fixtures)
{
    static const char sha[] = "48e773f892a831faa47c0a160d1b7f0cd369ae2a";
    sw_hook_event ev;
    json_t *root;

    /* Gitea "delete": the short ref name and its type. */
    root = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s}}", "ref", "feature/x", "ref_type", "branch",
                     "sha", sha, "repository", "full_name", "o/r", "sender", "login", "me");
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_GITEA, "delete", root), 0);
    ck_assert_str_eq(sw_hook_kind_name(ev.kind), "delete");
    ck_assert_str_eq(ev.ref, "refs/heads/feature/x");
    ck_assert_str_eq(ev.branch, "feature/x");
    ck_assert_ptr_null(ev.sha);
    sw_hook_event_clear(&ev);
    assert_ignored(SW_FORGE_GITEA, "create", root, "create");
    json_decref(root);

    /* Bitbucket Cloud pullrequest:created from a fork: cloned from the fork. */
    root = json_pack("{s:{s:s}, s:{s:s}, s:{s:i, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}}", "actor",
                     "display_name", "Ann", "repository", "full_name", "team/app", "pullrequest",
                     "id", 7, "title", "Fix", "source", "branch", "name", "fix", "commit", "hash",
                     "48e773f892a8", "repository", "full_name", "ann/app");
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_BITBUCKET, "pullrequest:created", root), 0);
    ck_assert_str_eq(sw_hook_kind_name(ev.kind), "pr");
    ck_assert_uint_eq(ev.pr_number, 7);
    ck_assert_str_eq(ev.repository, "team/app");
    ck_assert_str_eq(ev.clone_url, "https://bitbucket.org/ann/app.git");
    ck_assert_str_eq(ev.ref, "refs/heads/fix");
    ck_assert_str_eq(ev.sha, "48e773f892a8");
    sw_hook_event_clear(&ev);
    json_decref(root);

    /* Bitbucket Server pr:from_ref_updated. */
    root = json_pack("{s:{s:s}, s:{s:i, s:s, s:{s:s, s:s, s:s}, s:{s:{s:s, s:{s:s}}}}}", "actor",
                     "name", "ann", "pullRequest", "id", 9, "title", "Fix", "fromRef", "id",
                     "refs/heads/fix", "displayId", "fix", "latestCommit", sha, "toRef",
                     "repository", "slug", "app", "project", "key", "PRJ");
    ck_assert_int_eq(normalize_json(&ev, SW_FORGE_BITBUCKET_SERVER, "pr:from_ref_updated", root),
                     0);
    ck_assert_str_eq(sw_hook_kind_name(ev.kind), "pr");
    ck_assert_str_eq(ev.repository, "PRJ/app");
    ck_assert_str_eq(ev.ref, "refs/heads/fix");
    ck_assert_str_eq(ev.branch, "fix");
    ck_assert_str_eq(ev.sha, sha);
    ck_assert_str_eq(ev.pusher, "ann");
    sw_hook_event_clear(&ev);
    json_decref(root);
}
END_TEST

/* body (len bytes) must be refused with SW_EINVALID, the message containing what. */
static void assert_invalid(sw_forge_type forge, const char *event, const char *body, size_t len,
                           const char *what)
{
    sw_hook_event ev;
    int rc;

    memset(&ev, 0x5a, sizeof(ev)); /* whatever the caller had there */
    rc = sw_hook_normalize(&ev, forge, event, body, len);
    ck_assert_msg(rc == SW_EINVALID, "expected SW_EINVALID, got %d (%s)", rc, sw_error_last());
    ck_assert_msg(strstr(sw_error_last(), what) != NULL, "expected '%s' in '%s'", what,
                  sw_error_last());
    ck_assert_ptr_null(ev.repository); /* nothing to free after an error */
    ck_assert_ptr_null(ev.reason);
    sw_hook_event_clear(&ev);
}

static void assert_invalid_json(sw_forge_type forge, const char *event, json_t *root,
                                const char *what)
{
    char *body = json_dumps(root, JSON_COMPACT);
    assert_invalid(forge, event, body, strlen(body), what);
    free(body);
}

START_TEST(test_bodies_that_are_not_a_json_object)
{
    static const char malformed[] = "{\"ref\": \"refs/heads/x\", after: 1}";
    static const char array[] = "[{\"ref\": \"refs/heads/x\"}]";
    static const char dup[] = "{\"ref\": \"refs/heads/a\", \"ref\": \"refs/heads/b\"}";
    size_t len;
    char *body = read_fixture("github/push.json", &len);

    assert_invalid(SW_FORGE_GITHUB, "push", malformed, strlen(malformed), "not JSON");
    assert_invalid(SW_FORGE_GITHUB, "push", body, len / 2, "not JSON"); /* truncated */
    assert_invalid(SW_FORGE_GITHUB, "push", array, strlen(array), "not an object");
    assert_invalid(SW_FORGE_GITHUB, "push", "", 0, "empty");
    assert_invalid(SW_FORGE_GITHUB, "push", dup, strlen(dup), "not JSON");
    /* The body is read by its length, not up to a NUL. */
    assert_invalid(SW_FORGE_GITHUB, "push", "{}garbage", 3, "not JSON");
    free(body);
}
END_TEST

START_TEST(test_fields_missing_or_of_the_wrong_type)
{
    json_t *root = load_fixture_json("github/push.json");
    json_object_set_new(root, "ref", json_integer(42));
    assert_invalid_json(SW_FORGE_GITHUB, "push", root, "ref is not a string");
    json_object_set_new(root, "ref", json_string("refs/heads/master"));
    json_object_del(root, "after");
    assert_invalid_json(SW_FORGE_GITHUB, "push", root, "after is missing");
    json_object_set_new(root, "after", json_string("not-a-sha"));
    assert_invalid_json(SW_FORGE_GITHUB, "push", root, "not a hex sha");
    json_object_set_new(root, "after", json_string("fd489864e7642b48eaad6e3f155c10e46810ec72"));
    json_object_set_new(root, "ref", json_string("refs/heads/a..b"));
    assert_invalid_json(SW_FORGE_GITHUB, "push", root, "not a valid ref");
    json_object_set_new(root, "ref", json_string("refs/heads/master"));
    json_object_set_new(root, "repository", json_string("binkkatal/sample_app"));
    assert_invalid_json(SW_FORGE_GITHUB, "push", root, "repository.full_name");
    json_decref(root);

    root = load_fixture_json("github/pull_request-opened.json");
    json_object_set_new(root, "number", json_integer(-1));
    assert_invalid_json(SW_FORGE_GITHUB, "pull_request", root, "number");
    json_object_set_new(root, "number", json_string("2"));
    assert_invalid_json(SW_FORGE_GITHUB, "pull_request", root, "number is not an integer");
    json_object_set_new(root, "number", json_integer(2));
    set_string(root, "pull_request.head.ref", "a..b");
    assert_invalid_json(SW_FORGE_GITHUB, "pull_request", root, "not a valid ref");
    json_decref(root);

    root = load_fixture_json("bitbucket-server/repo_refs_changed.json");
    json_object_set_new(root, "changes", json_object());
    assert_invalid_json(SW_FORGE_BITBUCKET_SERVER, "repo:refs_changed", root,
                        "changes is not an array");
    json_decref(root);

    root = load_fixture_json("bitbucket/repo_push.json");
    set_string(root, "repository.full_name", "team/repo@evil.example");
    assert_invalid_json(SW_FORGE_BITBUCKET, "repo:push", root, "full_name");
    json_decref(root);
}
END_TEST

START_TEST(test_kind_names_and_clear)
{
    sw_hook_event ev = {0};
    ck_assert_str_eq(sw_hook_kind_name(SW_HOOK_IGNORED), "ignored");
    ck_assert_str_eq(sw_hook_kind_name(SW_HOOK_PUSH), "push");
    ck_assert_str_eq(sw_hook_kind_name(SW_HOOK_TAG), "tag");
    ck_assert_str_eq(sw_hook_kind_name(SW_HOOK_PR), "pr");
    ck_assert_str_eq(sw_hook_kind_name(SW_HOOK_PING), "ping");
    ck_assert_str_eq(sw_hook_kind_name(SW_HOOK_DELETE), "delete");
    sw_hook_event_clear(&ev);
    sw_hook_event_clear(&ev);
    sw_hook_event_clear(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("normalize");
    TCase *fixtures_tc = tcase_create("fixtures");
    tcase_add_test(fixtures_tc, test_every_fixture_gives_its_expected_fields);
    tcase_add_test(fixtures_tc, test_gitea_secret_is_never_copied);
    suite_add_tcase(s, fixtures_tc);
    TCase *builds = tcase_create("builds");
    tcase_add_test(builds, test_skip_ci_in_the_head_commit_message);
    tcase_add_test(builds, test_skip_ci_reads_the_gitlab_head_commit);
    tcase_add_test(builds, test_skip_ci_in_a_merge_request);
    tcase_add_test(builds, test_pull_request_closed_is_ignored);
    tcase_add_test(builds, test_unknown_events_are_ignored_with_their_name);
    tcase_add_test(builds, test_no_event_header);
    tcase_add_test(builds, test_gitlab_merge_request_update);
    tcase_add_test(builds, test_bitbucket_builds_the_first_change_that_is_not_a_delete);
    tcase_add_test(builds, test_pings);
    tcase_add_test(builds, test_events_without_fixtures);
    tcase_add_test(builds, test_kind_names_and_clear);
    suite_add_tcase(s, builds);
    TCase *bad = tcase_create("bad");
    tcase_add_test(bad, test_bodies_that_are_not_a_json_object);
    tcase_add_test(bad, test_fields_missing_or_of_the_wrong_type);
    suite_add_tcase(s, bad);
    return sw_test_run(s);
}
