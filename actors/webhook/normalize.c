/*
 * normalize.c - a forge's webhook payload turned into the fields of a build
 * (see normalize.h): parsing, the dispatch to the forge's reader, and the
 * helpers the readers share (normalize_internal.h).
 *
 * DESIGN
 * The body is parsed once with jansson from its length (it is not
 * NUL-terminated), refusing duplicate keys: a body whose signature was checked
 * must not mean two things. Each forge's reader (normalize_github.c for GitHub
 * and Gitea, normalize_gitlab.c, normalize_bitbucket.c for Cloud and Server)
 * picks the fields it needs by path and hands them to sw_hook_push or
 * sw_hook_pr, which check what later reaches git (the ref's format, the sha as
 * hex) and fill the event, so every forge is held to the same rules. Strings
 * are copied out; nothing points into the parsed tree once it is freed.
 */
#include "actors/webhook/normalize_internal.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GitHub caps a delivery at 25 MB; anything larger is not a forge's webhook. */
#define HOOK_MAX_BODY (32u * 1024 * 1024)
/* The longest ref accepted (git has no limit; forges do, far below this). */
#define HOOK_MAX_REF 1024
/* The longest repository name accepted. */
#define HOOK_MAX_NAME 512
/* The message's first line is cut to this many bytes (at a character boundary). */
#define HOOK_MAX_LINE 1024

const char *sw_hook_kind_name(sw_hook_kind kind)
{
    switch (kind) {
    case SW_HOOK_PUSH:
        return "push";
    case SW_HOOK_TAG:
        return "tag";
    case SW_HOOK_PR:
        return "pr";
    case SW_HOOK_PING:
        return "ping";
    case SW_HOOK_DELETE:
        return "delete";
    case SW_HOOK_IGNORED:
        break;
    }
    return "ignored";
}

void sw_hook_event_clear(sw_hook_event *ev)
{
    if (ev == NULL) {
        return;
    }
    free(ev->action);
    free(ev->repository);
    free(ev->clone_url);
    free(ev->ssh_url);
    free(ev->ref);
    free(ev->sha);
    free(ev->before);
    free(ev->branch);
    free(ev->tag);
    free(ev->pusher);
    free(ev->author);
    free(ev->message);
    free(ev->title);
    free(ev->reason);
    memset(ev, 0, sizeof(*ev));
}

int sw_hook_normalize(sw_hook_event *out, sw_forge_type forge, const char *event, const char *body,
                      size_t len)
{
    json_error_t jerr;
    json_t *root;
    int error;

    assert(out != NULL);
    assert(body != NULL || len == 0);
    memset(out, 0, sizeof(*out));

    if (len == 0) {
        return sw_error_set(SW_EINVALID, "webhook: the body is empty");
    }
    if (len > HOOK_MAX_BODY) {
        return sw_error_set(SW_EINVALID, "webhook: the body is %zu bytes, more than %u", len,
                            HOOK_MAX_BODY);
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return sw_error_set(SW_EINVALID, "webhook: the body is not JSON: %s (line %d, column %d)",
                            jerr.text, jerr.line, jerr.column);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return sw_error_set(SW_EINVALID, "webhook: the body is JSON but not an object");
    }

    /* Bitbucket Server's push event key, whatever forge the project names. */
    if (event != NULL && strcmp(event, "repo:refs_changed") == 0) {
        forge = SW_FORGE_BITBUCKET_SERVER;
    }
    switch (forge) {
    case SW_FORGE_GITHUB:
    case SW_FORGE_GITEA:
        error = sw_hook_github(out, forge, event, root);
        break;
    case SW_FORGE_GITLAB:
        error = sw_hook_gitlab(out, event, root);
        break;
    case SW_FORGE_BITBUCKET:
    case SW_FORGE_BITBUCKET_SERVER:
        error = sw_hook_bitbucket(out, event, root);
        break;
    case SW_FORGE_NONE:
    default:
        error = sw_error_set(SW_EINVALID, "webhook: the project has no forge");
        break;
    }
    json_decref(root);
    if (error < 0) {
        sw_hook_event_clear(out);
    }
    return error;
}

/* ---- reading the parsed body ---- */

json_t *sw_hook_get(json_t *obj, const char *path)
{
    char key[64];

    while (obj != NULL) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);

        assert(n < sizeof(key)); /* paths are literals in the readers */
        if (!json_is_object(obj)) {
            return NULL;
        }
        memcpy(key, path, n);
        key[n] = '\0';
        obj = json_object_get(obj, key);
        if (dot == NULL) {
            return obj;
        }
        path = dot + 1;
    }
    return NULL;
}

const char *sw_hook_opt_str(json_t *obj, const char *path)
{
    json_t *v = sw_hook_get(obj, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* True when s is 7 to 64 hex digits: a full or abbreviated SHA-1 or SHA-256. */
static bool is_sha(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (n >= 64 ||
            !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return n >= 7;
}

const char *sw_hook_opt_sha(json_t *obj, const char *path)
{
    const char *s = sw_hook_opt_str(obj, path);
    return s != NULL && is_sha(s) ? s : NULL;
}

/* The type a path must have, for messages. */
static int wrong_type(json_t *v, const char *path, const char *what, const char *type)
{
    if (v == NULL) {
        return sw_error_set(SW_EINVALID, "%s: %s is missing", what, path);
    }
    return sw_error_set(SW_EINVALID, "%s: %s is not %s", what, path, type);
}

int sw_hook_req_str(const char **out, json_t *obj, const char *path, const char *what)
{
    json_t *v = sw_hook_get(obj, path);

    if (!json_is_string(v)) {
        return wrong_type(v, path, what, "a string");
    }
    *out = json_string_value(v);
    return 0;
}

int sw_hook_req_obj(json_t **out, json_t *obj, const char *path, const char *what)
{
    json_t *v = sw_hook_get(obj, path);

    if (!json_is_object(v)) {
        return wrong_type(v, path, what, "an object");
    }
    *out = v;
    return 0;
}

int sw_hook_req_array(json_t **out, json_t *obj, const char *path, const char *what)
{
    json_t *v = sw_hook_get(obj, path);

    if (!json_is_array(v)) {
        return wrong_type(v, path, what, "an array");
    }
    *out = v;
    return 0;
}

int sw_hook_req_u32(uint32_t *out, json_t *obj, const char *path, const char *what)
{
    json_t *v = sw_hook_get(obj, path);
    json_int_t n;

    if (!json_is_integer(v)) {
        return wrong_type(v, path, what, "an integer");
    }
    n = json_integer_value(v);
    if (n < 1 || n > (json_int_t)UINT32_MAX) {
        return sw_error_set(SW_EINVALID, "%s: %s is %lld, not a number from 1 to %u", what, path,
                            (long long)n, (unsigned)UINT32_MAX);
    }
    *out = (uint32_t)n;
    return 0;
}

json_t *sw_hook_find_commit(json_t *commits, const char *id_key, const char *sha)
{
    size_t i;
    json_t *c;

    if (sha == NULL) {
        return NULL;
    }
    json_array_foreach(commits, i, c)
    {
        json_t *id = json_object_get(c, id_key);
        if (json_is_string(id) && strcmp(json_string_value(id), sha) == 0) {
            return c;
        }
    }
    return NULL;
}

bool sw_hook_is_zero_sha(const char *sha)
{
    if (sha == NULL || *sha == '\0') {
        return false;
    }
    for (; *sha != '\0'; sha++) {
        if (*sha != '0') {
            return false;
        }
    }
    return true;
}

const char *sw_hook_printable(char *buf, size_t n, const char *s)
{
    size_t i;

    assert(n > 0);
    if (s == NULL) {
        s = "(none)";
    }
    for (i = 0; i + 1 < n && s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    buf[i] = '\0';
    return buf;
}

/* ---- filling the event ---- */

char *sw_hook_strdup_or_null(const char *s)
{
    return s != NULL ? sw_strdup(s) : NULL;
}

int sw_hook_set_repository(sw_hook_event *ev, const char *name, const char *clone_url,
                           const char *ssh_url, const char *what)
{
    size_t n = strlen(name);
    size_t i;

    if (n == 0 || n > HOOK_MAX_NAME) {
        return sw_error_set(SW_EINVALID, "%s: the repository name is empty or too long", what);
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c == 0x7f) {
            return sw_error_set(SW_EINVALID,
                                "%s: the repository name has a space or control character", what);
        }
    }
    free(ev->repository);
    free(ev->clone_url);
    free(ev->ssh_url);
    ev->repository = sw_strdup(name);
    ev->clone_url = sw_hook_strdup_or_null(clone_url);
    ev->ssh_url = sw_hook_strdup_or_null(ssh_url);
    return 0;
}

int sw_hook_ignore(sw_hook_event *ev, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    free(ev->reason);
    ev->reason = sw_strdup(reason);
    ev->kind = SW_HOOK_IGNORED;
    return 0;
}

int sw_hook_ping(sw_hook_event *ev)
{
    ev->kind = SW_HOOK_PING;
    free(ev->reason);
    ev->reason = sw_strdup("ping: the hook reaches Slipway");
    return 0;
}

/*
 * True when ref is a name git would take for a branch or tag (a subset of
 * git check-ref-format): starts with "refs/", no control characters, none of
 * " ~^:?*[\", no "..", "@{" or "//", no component starting with '.', and not
 * ending in '/', '.' or ".lock". The ref reaches git fetch; nothing looking
 * like an option or a range gets that far.
 */
static bool is_ref(const char *ref)
{
    size_t n = strlen(ref);
    size_t i;

    if (n <= 5 || n > HOOK_MAX_REF || strncmp(ref, "refs/", 5) != 0) {
        return false;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ref[i];
        if (c < 0x20 || c == 0x7f || strchr(" ~^:?*[\\", c) != NULL) {
            return false;
        }
        if (c == '.' && (ref[i + 1] == '.' || ref[i - 1] == '/')) {
            return false;
        }
        if ((c == '@' && ref[i + 1] == '{') || (c == '/' && ref[i + 1] == '/')) {
            return false;
        }
    }
    if (ref[n - 1] == '/' || ref[n - 1] == '.') {
        return false;
    }
    return !(n >= 5 && strcmp(ref + n - 5, ".lock") == 0);
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive: does s contain needle (lower case ASCII)? */
static bool contains_nocase(const char *s, const char *needle)
{
    size_t n = strlen(needle);

    for (; *s != '\0'; s++) {
        size_t i = 0;
        while (i < n && ascii_lower(s[i]) == needle[i]) {
            i++; /* stops at the end of s: needle has no NUL before n */
        }
        if (i == n) {
            return true;
        }
    }
    return false;
}

/* The first line of a commit message, trailing '\r' stripped, cut to
 * HOOK_MAX_LINE bytes without splitting a UTF-8 character. */
static char *first_line(const char *message)
{
    size_t n = strcspn(message, "\n");
    char *line;

    if (n > HOOK_MAX_LINE) {
        n = HOOK_MAX_LINE;
        while (n > 0 && ((unsigned char)message[n] & 0xc0) == 0x80) {
            n--; /* message[n] continues a character: cut before it */
        }
    }
    while (n > 0 && message[n - 1] == '\r') {
        n--;
    }
    line = sw_calloc(n + 1, 1);
    memcpy(line, message, n);
    return line;
}

/* The head commit's author and message; sets skip_ci when the message asks. */
static void set_commit(sw_hook_event *ev, const char *author, const char *message)
{
    ev->author = sw_hook_strdup_or_null(author);
    if (message == NULL) {
        return;
    }
    ev->message = first_line(message);
    if (contains_nocase(message, "[skip ci]") || contains_nocase(message, "[ci skip]")) {
        ev->skip_ci = true;
        free(ev->reason);
        ev->reason = sw_strdup("the head commit's message asks for no build ([skip ci])");
    }
}

static int set_sha(sw_hook_event *ev, const char *sha, const char *what)
{
    char shown[48];

    if (!is_sha(sha)) {
        return sw_error_set(SW_EINVALID, "%s: the commit \"%s\" is not a hex sha", what,
                            sw_hook_printable(shown, sizeof(shown), sha));
    }
    ev->sha = sw_strdup(sha);
    return 0;
}

static int invalid_ref(const char *ref, const char *what)
{
    char shown[80];
    return sw_error_set(SW_EINVALID, "%s: \"%s\" is not a valid ref", what,
                        sw_hook_printable(shown, sizeof(shown), ref));
}

int sw_hook_push(sw_hook_event *ev, const sw_hook_push_fields *f, const char *what)
{
    static const char heads[] = "refs/heads/", tags[] = "refs/tags/";
    char shown[80];
    bool is_tag;

    if (!is_ref(f->ref)) {
        return invalid_ref(f->ref, what);
    }
    if (strncmp(f->ref, heads, sizeof(heads) - 1) == 0) {
        is_tag = false;
        ev->branch = sw_strdup(f->ref + sizeof(heads) - 1);
    } else if (strncmp(f->ref, tags, sizeof(tags) - 1) == 0) {
        is_tag = true;
        ev->tag = sw_strdup(f->ref + sizeof(tags) - 1);
    } else {
        return sw_hook_ignore(ev, "%s to %s: neither a branch nor a tag", what,
                              sw_hook_printable(shown, sizeof(shown), f->ref));
    }
    ev->ref = sw_strdup(f->ref);
    ev->before = f->before != NULL && is_sha(f->before) ? sw_strdup(f->before) : NULL;

    if (f->sha == NULL) {
        ev->kind = SW_HOOK_DELETE;
        free(ev->reason);
        ev->reason =
            sw_asprintf("%s %s was deleted: nothing to build", is_tag ? "tag" : "branch",
                        sw_hook_printable(shown, sizeof(shown), is_tag ? ev->tag : ev->branch));
        return 0;
    }
    ev->kind = is_tag ? SW_HOOK_TAG : SW_HOOK_PUSH;
    set_commit(ev, f->author, f->message);
    return set_sha(ev, f->sha, what);
}

/* True when refs/heads/<branch> is a valid ref. */
static bool is_branch(const char *branch)
{
    char *ref = sw_asprintf("refs/heads/%s", branch);
    bool ok = is_ref(ref);
    free(ref);
    return ok;
}

int sw_hook_pr(sw_hook_event *ev, const sw_hook_pr_fields *f, const char *what)
{
    if (!is_ref(f->ref)) {
        return invalid_ref(f->ref, what);
    }
    if (f->branch != NULL && !is_branch(f->branch)) {
        return invalid_ref(f->branch, what);
    }
    ev->kind = SW_HOOK_PR;
    ev->action = sw_hook_strdup_or_null(f->action);
    ev->pr_number = f->number;
    ev->ref = sw_strdup(f->ref);
    ev->branch = sw_hook_strdup_or_null(f->branch);
    ev->before = f->before != NULL && is_sha(f->before) ? sw_strdup(f->before) : NULL;
    ev->title = sw_hook_strdup_or_null(f->title);
    set_commit(ev, f->author, f->message);
    return set_sha(ev, f->sha, what);
}
