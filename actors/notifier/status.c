/* status.c - commit statuses and the requests that set them (see status.h). */
#include "actors/notifier/status.h"

#include "runtime/buildlink.h"
#include "runtime/buildstate.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- which status --------------------------------------------------------- */

sw_status sw_status_of(const Slipway__BuildRecord *rec)
{
    sw_status s = {SW_STATUS_NONE, rec->attempt};
    switch (rec->state) {
    case SLIPWAY__BUILD_STATE__RECEIVED:
    case SLIPWAY__BUILD_STATE__QUEUED:
    case SLIPWAY__BUILD_STATE__DISPATCHED:
        s.kind = SW_STATUS_QUEUED;
        break;
    case SLIPWAY__BUILD_STATE__RUNNING:
        s.kind = SW_STATUS_RUNNING;
        break;
    case SLIPWAY__BUILD_STATE__RESCHEDULING:
        s.kind = SW_STATUS_RESCHEDULING;
        break;
    case SLIPWAY__BUILD_STATE__SUCCEEDED:
        s.kind = SW_STATUS_SUCCEEDED;
        break;
    case SLIPWAY__BUILD_STATE__FAILED:
        s.kind = SW_STATUS_FAILED;
        break;
    case SLIPWAY__BUILD_STATE__ERRORED:
    case SLIPWAY__BUILD_STATE__TIMED_OUT:
        s.kind = SW_STATUS_ERRORED;
        break;
    case SLIPWAY__BUILD_STATE__CANCELLED:
        s.kind = SW_STATUS_CANCELLED;
        break;
    default:
        s.attempt = 0;
        break;
    }
    return s;
}

bool sw_status_is_final(sw_status_kind kind)
{
    return kind == SW_STATUS_SUCCEEDED || kind == SW_STATUS_FAILED || kind == SW_STATUS_ERRORED ||
           kind == SW_STATUS_CANCELLED;
}

#define NKINDS (SW_STATUS_CANCELLED + 1)

static const char *const kind_names[NKINDS] = {
    [SW_STATUS_NONE] = "none",         [SW_STATUS_QUEUED] = "queued",
    [SW_STATUS_RUNNING] = "running",   [SW_STATUS_RESCHEDULING] = "rescheduling",
    [SW_STATUS_SUCCEEDED] = "success", [SW_STATUS_FAILED] = "failure",
    [SW_STATUS_ERRORED] = "error",     [SW_STATUS_CANCELLED] = "cancelled",
};

/* Per forge, per kind (see the table in status.h). */
static const char *const forge_states[][NKINDS] = {
    [SW_FORGE_GITHUB] = {NULL, "pending", "pending", "pending", "success", "failure", "error",
                         "error"},
    [SW_FORGE_GITLAB] = {NULL, "pending", "running", "running", "success", "failed", "failed",
                         "canceled"},
    [SW_FORGE_GITEA] = {NULL, "pending", "pending", "pending", "success", "failure", "error",
                        "error"},
    [SW_FORGE_BITBUCKET] = {NULL, "INPROGRESS", "INPROGRESS", "INPROGRESS", "SUCCESSFUL", "FAILED",
                            "FAILED", "STOPPED"},
    [SW_FORGE_BITBUCKET_SERVER] = {NULL, "INPROGRESS", "INPROGRESS", "INPROGRESS", "SUCCESSFUL",
                                   "FAILED", "FAILED", "FAILED"},
};

const char *sw_status_kind_name(sw_status_kind kind)
{
    return (unsigned)kind < NKINDS ? kind_names[kind] : "none";
}

const char *sw_status_forge_state(sw_forge_type forge, sw_status_kind kind)
{
    if (forge <= SW_FORGE_NONE || forge > SW_FORGE_BITBUCKET_SERVER || (unsigned)kind >= NKINDS) {
        return NULL;
    }
    return forge_states[forge][kind];
}

bool sw_status_same(sw_forge_type forge, sw_status a, sw_status b)
{
    if (forge == SW_FORGE_GITLAB) {
        const char *sa = sw_status_forge_state(forge, a.kind);
        const char *sb = sw_status_forge_state(forge, b.kind);
        return sa == sb || (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
    }
    if (a.kind != b.kind) {
        return false;
    }
    if (a.kind == SW_STATUS_RUNNING || a.kind == SW_STATUS_RESCHEDULING) {
        return a.attempt == b.attempt;
    }
    return true;
}

/* --- the description ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    size_t len;
    unsigned min, cp;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0; /* also stops at the NUL */
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0; /* overlong, out of range, or a surrogate */
    }
    return len;
}

/* The next character of *s, cleaned: a valid UTF-8 sequence as it is, a control
 * character as ' ', a byte that is not UTF-8 as '?'. Sets *piece and returns its
 * length, 0 at the end. */
static size_t next_char(const unsigned char **s, const unsigned char **piece)
{
    static const unsigned char space = ' ', question = '?';
    size_t len;
    if (**s == '\0') {
        return 0;
    }
    len = utf8_seq(*s);
    if (len == 0) {
        *piece = &question;
        len = 1;
    } else if (len == 1 && (**s < 0x20 || **s == 0x7f)) {
        *piece = &space;
    } else {
        *piece = *s;
    }
    *s += len;
    return len;
}

const char *sw_status_clean_text(char *buf, size_t n, const char *src, size_t max_chars)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026, one character */
    const size_t elen = sizeof(ellipsis) - 1;
    const unsigned char *s = (const unsigned char *)(src ? src : ""), *piece;
    size_t len, bytes = 0, chars = 0, out = 0;

    if (n == 0) {
        return buf;
    }
    /* does all of it fit? */
    while ((len = next_char(&s, &piece)) > 0) {
        bytes += len;
        chars++;
    }
    bool whole = chars <= max_chars && bytes + 1 <= n;
    s = (const unsigned char *)(src ? src : "");
    chars = 0;
    while ((len = next_char(&s, &piece)) > 0) {
        if (!whole && (chars + 1 >= max_chars || out + len + elen + 1 > n)) {
            break; /* keep room for the ellipsis */
        }
        memcpy(buf + out, piece, len);
        out += len;
        chars++;
    }
    if (!whole && max_chars > 0 && out + elen + 1 <= n) {
        memcpy(buf + out, ellipsis, elen);
        out += elen;
    }
    buf[out] = '\0';
    return buf;
}

/* "12s", "2m 5s", "1h 3m" */
static void format_duration(char *buf, size_t n, int64_t ms)
{
    int64_t s = ms / 1000;
    if (s < 60) {
        snprintf(buf, n, "%llds", (long long)s);
    } else if (s < 3600) {
        snprintf(buf, n, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
    } else {
        snprintf(buf, n, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    }
}

static bool set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

const char *sw_status_describe(char *buf, size_t n, const Slipway__BuildRecord *rec)
{
    char raw[1024], dur[32];
    int64_t since = rec->started_ms > 0 ? rec->started_ms : rec->created_ms;

    switch (sw_status_of(rec).kind) {
    case SW_STATUS_QUEUED:
        snprintf(raw, sizeof(raw), "queued");
        break;
    case SW_STATUS_RUNNING:
        if (!set(rec->builder)) {
            snprintf(raw, sizeof(raw), "running");
        } else if (rec->attempt > 1) {
            snprintf(raw, sizeof(raw), "running on %s (attempt %u)", rec->builder, rec->attempt);
        } else {
            snprintf(raw, sizeof(raw), "running on %s", rec->builder);
        }
        break;
    case SW_STATUS_RESCHEDULING:
        snprintf(raw, sizeof(raw), "rescheduling: builder lost");
        break;
    case SW_STATUS_SUCCEEDED:
        if (since > 0 && rec->finished_ms >= since) {
            format_duration(dur, sizeof(dur), rec->finished_ms - since);
            snprintf(raw, sizeof(raw), "succeeded in %s", dur);
        } else {
            snprintf(raw, sizeof(raw), "succeeded");
        }
        break;
    case SW_STATUS_FAILED:
        if (set(rec->step)) {
            snprintf(raw, sizeof(raw), "failed at step '%s' (exit %d)", rec->step, rec->exit_code);
        } else {
            snprintf(raw, sizeof(raw), "failed (exit %d)", rec->exit_code);
        }
        break;
    case SW_STATUS_ERRORED:
        if (rec->state == SLIPWAY__BUILD_STATE__TIMED_OUT) {
            if (set(rec->step)) {
                snprintf(raw, sizeof(raw), "timed out at step '%s'", rec->step);
            } else {
                snprintf(raw, sizeof(raw), "timed out");
            }
        } else if (set(rec->reason)) {
            snprintf(raw, sizeof(raw), "errored: %s", rec->reason);
        } else {
            snprintf(raw, sizeof(raw), "errored");
        }
        break;
    case SW_STATUS_CANCELLED:
        snprintf(raw, sizeof(raw), "cancelled");
        break;
    default:
        raw[0] = '\0';
        break;
    }
    /* snprintf may have cut raw inside a character: clean_text repairs that too */
    return sw_status_clean_text(buf, n, raw, SW_STATUS_DESCRIPTION_MAX);
}

/* --- the request ---------------------------------------------------------- */

/* Appends s percent-encoded (RFC 3986 unreserved characters stay; '/' too when
 * keep_slash) to a heap string. */
static char *append_encoded(char *dst, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(dst), n = strlen(s);
    char *out = sw_realloc(dst, len + 3 * n + 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out[len++] = (char)c;
        } else {
            out[len++] = '%';
            out[len++] = hex[c >> 4];
            out[len++] = hex[c & 15];
        }
    }
    out[len] = '\0';
    return out;
}

static char *append(char *dst, const char *s)
{
    size_t len = strlen(dst), n = strlen(s);
    char *out = sw_realloc(dst, len + n + 1);
    memcpy(out + len, s, n + 1);
    return out;
}

char *sw_status_target_url(const char *public_url, const char *build_id)
{
    char *url = sw_asprintf("%s/builds/", public_url ? public_url : "");
    return append_encoded(url, build_id ? build_id : "", false);
}

char *sw_status_signed_url(const char *public_url, const char *build_id, const char *link_key,
                           uint64_t ttl_ms, int64_t now_s)
{
    char *url = sw_status_target_url(public_url, build_id);
    if (link_key == NULL) {
        return url;
    }
    char *query = sw_buildlink_query(link_key, build_id ? build_id : "",
                                     now_s + (int64_t)(ttl_ms / 1000));
    char *signed_url = sw_asprintf("%s?%s", url, query);
    free(query);
    free(url);
    return signed_url;
}

static bool is_sha(const char *sha)
{
    size_t n = sha ? strlen(sha) : 0;
    if (n < 7 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = sha[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

/* "owner/name": two non-empty parts, no "." or ".." part */
static bool is_owner_name(const char *repo)
{
    const char *slash = strchr(repo, '/');
    if (slash == NULL || slash == repo || slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
        return false;
    }
    size_t first = (size_t)(slash - repo);
    const char *second = slash + 1;
    if ((first == 1 && repo[0] == '.') || (first == 2 && repo[0] == '.' && repo[1] == '.')) {
        return false;
    }
    return strcmp(second, ".") != 0 && strcmp(second, "..") != 0;
}

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return true;
        }
    }
    return false;
}

static void add_header(sw_status_request *req, char *header)
{
    if (req->nheaders >= SW_STATUS_MAX_HEADERS) {
        abort(); /* a programming error: the table below outgrew the array */
    }
    req->headers[req->nheaders++] = header;
}

static char *make_url(const sw_forge_config *forge, const char *sha)
{
    char *url = sw_strdup(forge->api_url);
    switch (forge->type) {
    case SW_FORGE_GITHUB:
    case SW_FORGE_GITEA:
        url = append(url, "/repos/");
        url = append_encoded(url, forge->repo, true);
        url = append(url, "/statuses/");
        url = append(url, sha);
        break;
    case SW_FORGE_GITLAB:
        url = append(url, "/projects/");
        url = append_encoded(url, forge->repo, false); /* group/project -> group%2Fproject */
        url = append(url, "/statuses/");
        url = append(url, sha);
        break;
    case SW_FORGE_BITBUCKET:
        url = append(url, "/2.0/repositories/");
        url = append_encoded(url, forge->repo, true);
        url = append(url, "/commit/");
        url = append(url, sha);
        url = append(url, "/statuses/build");
        break;
    case SW_FORGE_BITBUCKET_SERVER:
        url = append(url, "/rest/build-status/1.0/commits/");
        url = append(url, sha);
        break;
    default:
        break;
    }
    return url;
}

static char *make_body(const sw_forge_config *forge, const char *state, const char *description,
                       const char *target_url)
{
    json_t *body;
    switch (forge->type) {
    case SW_FORGE_GITLAB:
        body = json_pack("{s:s, s:s, s:s, s:s}", "state", state, "target_url", target_url,
                         "description", description, "name", forge->context);
        break;
    case SW_FORGE_BITBUCKET:
    case SW_FORGE_BITBUCKET_SERVER:
        body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "key", forge->context, "state", state, "url",
                         target_url, "name", forge->context, "description", description);
        break;
    default: /* github, gitea */
        body = json_pack("{s:s, s:s, s:s, s:s}", "state", state, "target_url", target_url,
                         "description", description, "context", forge->context);
        break;
    }
    if (body == NULL) {
        return NULL; /* a string that is not UTF-8 */
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        abort();
    }
    /* hand out memory from our allocator, so callers free() it like the rest */
    char *out = sw_strdup(text);
    free(text);
    return out;
}

int sw_status_request_make(sw_status_request *out, const sw_forge_config *forge, const char *sha,
                           sw_status_kind kind, const char *description, const char *target_url)
{
    const char *state = sw_status_forge_state(forge->type, kind);
    const char *forge_name = sw_forge_name(forge->type);

    memset(out, 0, sizeof(*out));
    if (state == NULL) {
        return sw_error_set(SW_EINVALID, "no %s commit status for '%s'", forge_name,
                            sw_status_kind_name(kind));
    }
    if (forge->token == NULL || forge->token[0] == '\0' || has_control(forge->token)) {
        return sw_error_set(SW_EINVALID, "the %s forge has no usable token", forge_name);
    }
    if (forge->api_url == NULL || forge->api_url[0] == '\0' || forge->repo == NULL ||
        forge->repo[0] == '\0') {
        return sw_error_set(SW_EINVALID, "the %s forge needs api_url and repo", forge_name);
    }
    if ((forge->type == SW_FORGE_GITHUB || forge->type == SW_FORGE_GITEA ||
         forge->type == SW_FORGE_BITBUCKET) &&
        !is_owner_name(forge->repo)) {
        return sw_error_set(SW_EINVALID, "%s repo '%s' is not owner/name", forge_name, forge->repo);
    }
    if (!is_sha(sha)) {
        return sw_error_set(SW_EINVALID, "'%s' is not a commit sha", sha ? sha : "");
    }
    char *body =
        make_body(forge, state, description ? description : "", target_url ? target_url : "");
    if (body == NULL) {
        return sw_error_set(SW_EINVALID, "a commit status that is not valid UTF-8");
    }
    out->body = body;
    out->url = make_url(forge, sha);
    switch (forge->type) {
    case SW_FORGE_GITHUB:
        add_header(out, sw_asprintf("Authorization: Bearer %s", forge->token));
        add_header(out, sw_strdup("Accept: application/vnd.github+json"));
        add_header(out, sw_strdup("X-GitHub-Api-Version: 2022-11-28"));
        break;
    case SW_FORGE_GITLAB:
        add_header(out, sw_asprintf("PRIVATE-TOKEN: %s", forge->token));
        add_header(out, sw_strdup("Accept: application/json"));
        break;
    case SW_FORGE_GITEA:
        add_header(out, sw_asprintf("Authorization: token %s", forge->token));
        add_header(out, sw_strdup("Accept: application/json"));
        break;
    default: /* bitbucket, bitbucket-server */
        add_header(out, sw_asprintf("Authorization: Bearer %s", forge->token));
        add_header(out, sw_strdup("Accept: application/json"));
        break;
    }
    add_header(out, sw_strdup("Content-Type: application/json"));
    add_header(out, sw_strdup("User-Agent: slipway"));
    return 0;
}

void sw_status_request_finish(sw_status_request *req)
{
    if (req == NULL) {
        return;
    }
    free(req->url);
    free(req->body);
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i]);
    }
    memset(req, 0, sizeof(*req));
}
