/* test_status.c - commit statuses: which one a build asks for, its description,
 * and the request that sets it on each forge (URL, headers, JSON body). */
#include "actors/notifier/status.h"
#include "runtime/buildstate.h"
#include "runtime/core/error.h"

#include "support.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define LINK "https://ci.example/builds/b1"

/* --- helpers --------------------------------------------------------------- */

static Slipway__BuildRecord record(int state, unsigned attempt)
{
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    rec.build_id = "b1";
    rec.tenant = "acme";
    rec.project = "web";
    rec.sha = SHA;
    rec.state = state;
    rec.attempt = attempt;
    return rec;
}

static sw_forge_config forge(sw_forge_type type, const char *repo)
{
    sw_forge_config f = {0};
    f.type = type;
    f.repo = (char *)repo;
    f.token = "tok";
    f.api_url = "https://forge.example/api";
    f.context = "slipway";
    return f;
}

static const char *header(const sw_status_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strncasecmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':') {
            return req->headers[i] + n + 2;
        }
    }
    return NULL;
}

/* The request for kind on f; the body is parsed into *body (caller decrefs). */
static sw_status_request make(const sw_forge_config *f, sw_status_kind kind, json_t **body)
{
    sw_status_request req;
    json_error_t jerr;
    ck_assert_msg(sw_status_request_make(&req, f, SHA, kind, "a description", LINK) == 0, "%s",
                  sw_error_last());
    *body = json_loads(req.body, 0, &jerr);
    ck_assert_msg(*body != NULL, "body is not JSON: %s", req.body);
    return req;
}

static const char *str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_string(v), "no string '%s'", key);
    return json_string_value(v);
}

static bool valid_utf8(const char *s)
{
    json_t *j = json_string(s); /* jansson refuses strings that are not UTF-8 */
    json_decref(j);
    return j != NULL;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        n += (*p & 0xc0) != 0x80;
    }
    return n;
}

/* --- which status ---------------------------------------------------------- */

START_TEST(test_state_maps_to_kind)
{
    static const struct {
        int state;
        sw_status_kind kind;
    } cases[] = {
        {SLIPWAY__BUILD_STATE__UNKNOWN, SW_STATUS_NONE},
        {SLIPWAY__BUILD_STATE__RECEIVED, SW_STATUS_QUEUED},
        {SLIPWAY__BUILD_STATE__QUEUED, SW_STATUS_QUEUED},
        {SLIPWAY__BUILD_STATE__DISPATCHED, SW_STATUS_QUEUED},
        {SLIPWAY__BUILD_STATE__RUNNING, SW_STATUS_RUNNING},
        {SLIPWAY__BUILD_STATE__RESCHEDULING, SW_STATUS_RESCHEDULING},
        {SLIPWAY__BUILD_STATE__SUCCEEDED, SW_STATUS_SUCCEEDED},
        {SLIPWAY__BUILD_STATE__FAILED, SW_STATUS_FAILED},
        {SLIPWAY__BUILD_STATE__ERRORED, SW_STATUS_ERRORED},
        {SLIPWAY__BUILD_STATE__TIMED_OUT, SW_STATUS_ERRORED},
        {SLIPWAY__BUILD_STATE__CANCELLED, SW_STATUS_CANCELLED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Slipway__BuildRecord rec = record(cases[i].state, 2);
        sw_status s = sw_status_of(&rec);
        ck_assert_msg(s.kind == cases[i].kind, "state %s", sw_state_name(cases[i].state));
    }
}
END_TEST

START_TEST(test_forge_state_table)
{
    static const struct {
        sw_forge_type forge;
        const char *want[8]; /* by kind, from QUEUED */
    } cases[] = {
        {SW_FORGE_GITHUB,
         {"pending", "pending", "pending", "success", "failure", "error", "error"}},
        {SW_FORGE_GITLAB,
         {"pending", "running", "running", "success", "failed", "failed", "canceled"}},
        {SW_FORGE_GITEA, {"pending", "pending", "pending", "success", "failure", "error", "error"}},
        {SW_FORGE_BITBUCKET,
         {"INPROGRESS", "INPROGRESS", "INPROGRESS", "SUCCESSFUL", "FAILED", "FAILED", "STOPPED"}},
        {SW_FORGE_BITBUCKET_SERVER,
         {"INPROGRESS", "INPROGRESS", "INPROGRESS", "SUCCESSFUL", "FAILED", "FAILED", "FAILED"}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_ptr_null(sw_status_forge_state(cases[i].forge, SW_STATUS_NONE));
        for (int k = SW_STATUS_QUEUED; k <= SW_STATUS_CANCELLED; k++) {
            const char *got = sw_status_forge_state(cases[i].forge, (sw_status_kind)k);
            ck_assert_msg(got != NULL && strcmp(got, cases[i].want[k - 1]) == 0, "%s kind %d: %s",
                          sw_forge_name(cases[i].forge), k, got);
        }
    }
    ck_assert_ptr_null(sw_status_forge_state(SW_FORGE_NONE, SW_STATUS_QUEUED));
}
END_TEST

START_TEST(test_same_status_is_fenced_on_attempt)
{
    sw_status run1 = {SW_STATUS_RUNNING, 1}, run2 = {SW_STATUS_RUNNING, 2};
    sw_status resched1 = {SW_STATUS_RESCHEDULING, 1}, ok2 = {SW_STATUS_SUCCEEDED, 2};
    sw_status queued = {SW_STATUS_QUEUED, 0}, none = {SW_STATUS_NONE, 0};
    ck_assert(sw_status_same(SW_FORGE_GITHUB, run1, run1));
    ck_assert(!sw_status_same(SW_FORGE_GITHUB, run1, run2));
    ck_assert(!sw_status_same(SW_FORGE_GITHUB, run1, resched1)); /* pending both, new text */
    ck_assert(!sw_status_same(SW_FORGE_GITHUB, none, queued));
    ck_assert(sw_status_same(SW_FORGE_BITBUCKET, ok2, ok2));
    /* GitLab refuses running -> running and running -> pending: one per GitLab state */
    ck_assert(sw_status_same(SW_FORGE_GITLAB, run1, run2));
    ck_assert(sw_status_same(SW_FORGE_GITLAB, run1, resched1));
    ck_assert(!sw_status_same(SW_FORGE_GITLAB, queued, run1));
    ck_assert(!sw_status_same(SW_FORGE_GITLAB, none, queued));
    ck_assert(sw_status_same(SW_FORGE_GITLAB, none, none));
}
END_TEST

/* --- descriptions ---------------------------------------------------------- */

static const char *describe(char *buf, size_t n, const Slipway__BuildRecord *rec)
{
    return sw_status_describe(buf, n, rec);
}

START_TEST(test_descriptions)
{
    char buf[600];
    Slipway__BuildRecord rec = record(SLIPWAY__BUILD_STATE__QUEUED, 0);
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "queued");

    rec = record(SLIPWAY__BUILD_STATE__RUNNING, 1);
    rec.builder = "b1";
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "running on b1");
    rec.attempt = 2;
    rec.builder = "b2";
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "running on b2 (attempt 2)");

    rec = record(SLIPWAY__BUILD_STATE__RESCHEDULING, 1);
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "rescheduling: builder lost");

    rec = record(SLIPWAY__BUILD_STATE__SUCCEEDED, 1);
    rec.created_ms = 1000;
    rec.started_ms = 3000;
    rec.finished_ms = 15400;
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "succeeded in 12s");
    rec.finished_ms = 3000 + 125000;
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "succeeded in 2m 5s");
    rec.finished_ms = 3000 + 3600000 + 180000;
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "succeeded in 1h 3m");

    rec = record(SLIPWAY__BUILD_STATE__FAILED, 1);
    rec.step = "test";
    rec.exit_code = 1;
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "failed at step 'test' (exit 1)");

    rec = record(SLIPWAY__BUILD_STATE__ERRORED, 3);
    rec.reason = "gave up after 3 attempts: builder lost";
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec),
                     "errored: gave up after 3 attempts: builder lost");

    rec = record(SLIPWAY__BUILD_STATE__TIMED_OUT, 1);
    rec.step = "build";
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "timed out at step 'build'");

    rec = record(SLIPWAY__BUILD_STATE__CANCELLED, 1);
    ck_assert_str_eq(describe(buf, sizeof(buf), &rec), "cancelled");
}
END_TEST

START_TEST(test_description_is_cut_to_140_characters)
{
    char reason[1000], buf[600];
    Slipway__BuildRecord rec = record(SLIPWAY__BUILD_STATE__ERRORED, 1);
    /* "é" is two bytes: 300 of them are 300 characters, 600 bytes */
    for (int i = 0; i < 300; i++) {
        memcpy(reason + 2 * i, "\xc3\xa9", 2);
    }
    reason[600] = '\0';
    rec.reason = reason;
    describe(buf, sizeof(buf), &rec);
    ck_assert(valid_utf8(buf));
    ck_assert_uint_eq(utf8_chars(buf), SW_STATUS_DESCRIPTION_MAX);
    ck_assert(strncmp(buf, "errored: \xc3\xa9", 11) == 0);
    ck_assert_str_eq(buf + strlen(buf) - 3, "\xe2\x80\xa6"); /* ends in "…" */

    /* exactly 140 characters are kept whole */
    char exact[200];
    memset(exact, 'x', 140);
    exact[140] = '\0';
    sw_status_clean_text(buf, sizeof(buf), exact, SW_STATUS_DESCRIPTION_MAX);
    ck_assert_str_eq(buf, exact);
    exact[140] = 'y';
    exact[141] = '\0';
    sw_status_clean_text(buf, sizeof(buf), exact, SW_STATUS_DESCRIPTION_MAX);
    ck_assert_uint_eq(utf8_chars(buf), 140);
    ck_assert(strstr(buf, "y") == NULL);
}
END_TEST

START_TEST(test_description_repairs_bytes_from_the_bus)
{
    char buf[600];
    Slipway__BuildRecord rec = record(SLIPWAY__BUILD_STATE__FAILED, 1);
    /* a step name with a stray byte, a cut sequence, an overlong '/', a newline */
    rec.step = "te\xffst\xe2\x82 \xc0\xaf\nok";
    rec.exit_code = 2;
    describe(buf, sizeof(buf), &rec);
    ck_assert(valid_utf8(buf));
    ck_assert_str_eq(buf, "failed at step 'te?st?? ?? ok' (exit 2)");

    /* a buffer too small still gives valid, terminated UTF-8 */
    char small[8];
    sw_status_clean_text(small, sizeof(small), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 140);
    ck_assert(valid_utf8(small));
    ck_assert_uint_le(strlen(small), 7);
}
END_TEST

/* --- requests, per forge --------------------------------------------------- */

START_TEST(test_github_request)
{
    sw_forge_config f = forge(SW_FORGE_GITHUB, "acme/web");
    json_t *body;
    sw_status_request req = make(&f, SW_STATUS_RUNNING, &body);
    ck_assert_str_eq(req.url, "https://forge.example/api/repos/acme/web/statuses/" SHA);
    ck_assert_str_eq(header(&req, "Authorization"), "Bearer tok");
    ck_assert_str_eq(header(&req, "Accept"), "application/vnd.github+json");
    ck_assert_str_eq(header(&req, "User-Agent"), "slipway");
    ck_assert_str_eq(header(&req, "Content-Type"), "application/json");
    ck_assert_str_eq(str(body, "state"), "pending"); /* GitHub has no running */
    ck_assert_str_eq(str(body, "target_url"), LINK);
    ck_assert_str_eq(str(body, "description"), "a description");
    ck_assert_str_eq(str(body, "context"), "slipway");
    ck_assert_uint_eq(json_object_size(body), 4);
    json_decref(body);
    sw_status_request_finish(&req);
    sw_status_request_finish(&req); /* safe twice */
}
END_TEST

START_TEST(test_gitlab_request)
{
    sw_forge_config f = forge(SW_FORGE_GITLAB, "group/sub group/project");
    json_t *body;
    sw_status_request req = make(&f, SW_STATUS_CANCELLED, &body);
    ck_assert_str_eq(
        req.url, "https://forge.example/api/projects/group%2Fsub%20group%2Fproject/statuses/" SHA);
    ck_assert_str_eq(header(&req, "PRIVATE-TOKEN"), "tok");
    ck_assert_ptr_null(header(&req, "Authorization"));
    ck_assert_str_eq(header(&req, "User-Agent"), "slipway");
    ck_assert_str_eq(str(body, "state"), "canceled");
    ck_assert_str_eq(str(body, "target_url"), LINK);
    ck_assert_str_eq(str(body, "description"), "a description");
    ck_assert_str_eq(str(body, "name"), "slipway");
    json_decref(body);
    sw_status_request_finish(&req);

    /* a numeric project id goes as it is */
    f.repo = "4242";
    req = make(&f, SW_STATUS_RUNNING, &body);
    ck_assert_str_eq(req.url, "https://forge.example/api/projects/4242/statuses/" SHA);
    ck_assert_str_eq(str(body, "state"), "running");
    json_decref(body);
    sw_status_request_finish(&req);
}
END_TEST

START_TEST(test_gitea_request)
{
    sw_forge_config f = forge(SW_FORGE_GITEA, "acme/web");
    json_t *body;
    sw_status_request req = make(&f, SW_STATUS_FAILED, &body);
    ck_assert_str_eq(req.url, "https://forge.example/api/repos/acme/web/statuses/" SHA);
    ck_assert_str_eq(header(&req, "Authorization"), "token tok");
    ck_assert_str_eq(str(body, "state"), "failure");
    ck_assert_str_eq(str(body, "context"), "slipway");
    ck_assert_str_eq(str(body, "target_url"), LINK);
    json_decref(body);
    sw_status_request_finish(&req);
    req = make(&f, SW_STATUS_RUNNING, &body);
    ck_assert_str_eq(str(body, "state"), "pending");
    json_decref(body);
    sw_status_request_finish(&req);
}
END_TEST

START_TEST(test_bitbucket_request)
{
    sw_forge_config f = forge(SW_FORGE_BITBUCKET, "team/web");
    json_t *body;
    sw_status_request req = make(&f, SW_STATUS_CANCELLED, &body);
    ck_assert_str_eq(req.url, "https://forge.example/api/2.0/repositories/team/web/commit/" SHA
                              "/statuses/build");
    ck_assert_str_eq(header(&req, "Authorization"), "Bearer tok");
    ck_assert_str_eq(str(body, "key"), "slipway");
    ck_assert_str_eq(str(body, "state"), "STOPPED");
    ck_assert_str_eq(str(body, "url"), LINK);
    ck_assert_str_eq(str(body, "name"), "slipway");
    ck_assert_str_eq(str(body, "description"), "a description");
    json_decref(body);
    sw_status_request_finish(&req);
}
END_TEST

START_TEST(test_bitbucket_server_request)
{
    sw_forge_config f = forge(SW_FORGE_BITBUCKET_SERVER, "PROJ/web");
    json_t *body;
    sw_status_request req = make(&f, SW_STATUS_RUNNING, &body);
    ck_assert_str_eq(req.url, "https://forge.example/api/rest/build-status/1.0/commits/" SHA);
    ck_assert_str_eq(header(&req, "Authorization"), "Bearer tok");
    ck_assert_str_eq(str(body, "state"), "INPROGRESS");
    ck_assert_str_eq(str(body, "key"), "slipway");
    ck_assert_str_eq(str(body, "url"), LINK);
    json_decref(body);
    sw_status_request_finish(&req);
    req = make(&f, SW_STATUS_CANCELLED, &body);
    ck_assert_str_eq(str(body, "state"), "FAILED"); /* no STOPPED on the 1.0 API */
    json_decref(body);
    sw_status_request_finish(&req);
}
END_TEST

START_TEST(test_json_escapes_what_it_must)
{
    sw_forge_config f = forge(SW_FORGE_GITHUB, "acme/web");
    sw_status_request req;
    json_error_t jerr;
    ck_assert_int_eq(sw_status_request_make(&req, &f, SHA, SW_STATUS_FAILED,
                                            "failed at step 'say \"hi\"\\' (exit 1)", LINK),
                     0);
    json_t *body = json_loads(req.body, 0, &jerr);
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(str(body, "description"), "failed at step 'say \"hi\"\\' (exit 1)");
    json_decref(body);
    sw_status_request_finish(&req);
}
END_TEST

START_TEST(test_bad_input_is_refused)
{
    sw_forge_config f = forge(SW_FORGE_GITHUB, "acme/web");
    sw_status_request req;
    /* a sha from the bus that is not one: never spliced into a URL */
    ck_assert_int_eq(sw_status_request_make(&req, &f, "../../x", SW_STATUS_QUEUED, "d", LINK),
                     SW_EINVALID);
    ck_assert_int_eq(sw_status_request_make(&req, &f, "", SW_STATUS_QUEUED, "d", LINK),
                     SW_EINVALID);
    ck_assert_int_eq(sw_status_request_make(&req, &f, SHA, SW_STATUS_NONE, "d", LINK), SW_EINVALID);
    ck_assert_ptr_null(req.url);
    f.repo = "just-a-name";
    ck_assert_int_eq(sw_status_request_make(&req, &f, SHA, SW_STATUS_QUEUED, "d", LINK),
                     SW_EINVALID);
    f.repo = "acme/../x";
    ck_assert_int_eq(sw_status_request_make(&req, &f, SHA, SW_STATUS_QUEUED, "d", LINK),
                     SW_EINVALID);
    f = forge(SW_FORGE_GITHUB, "acme/web");
    f.token = NULL;
    ck_assert_int_eq(sw_status_request_make(&req, &f, SHA, SW_STATUS_QUEUED, "d", LINK),
                     SW_EINVALID);
    f.token = "tok\r\nX-Injected: 1";
    ck_assert_int_eq(sw_status_request_make(&req, &f, SHA, SW_STATUS_QUEUED, "d", LINK),
                     SW_EINVALID);
    /* a description that is not UTF-8 (callers clean it first) */
    f = forge(SW_FORGE_GITHUB, "acme/web");
    ck_assert_int_eq(sw_status_request_make(&req, &f, SHA, SW_STATUS_QUEUED, "\xff", LINK),
                     SW_EINVALID);
}
END_TEST

START_TEST(test_target_url_encodes_the_build_id)
{
    char *url = sw_status_target_url("https://ci.example", "abcdefgh2345");
    ck_assert_str_eq(url, "https://ci.example/builds/abcdefgh2345");
    free(url);
    url = sw_status_target_url("https://ci.example", "a/b?c");
    ck_assert_str_eq(url, "https://ci.example/builds/a%2Fb%3Fc");
    free(url);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("status");
    TCase *which = tcase_create("which");
    tcase_add_test(which, test_state_maps_to_kind);
    tcase_add_test(which, test_forge_state_table);
    tcase_add_test(which, test_same_status_is_fenced_on_attempt);
    suite_add_tcase(s, which);
    TCase *text = tcase_create("description");
    tcase_add_test(text, test_descriptions);
    tcase_add_test(text, test_description_is_cut_to_140_characters);
    tcase_add_test(text, test_description_repairs_bytes_from_the_bus);
    suite_add_tcase(s, text);
    TCase *reqs = tcase_create("request");
    tcase_add_test(reqs, test_github_request);
    tcase_add_test(reqs, test_gitlab_request);
    tcase_add_test(reqs, test_gitea_request);
    tcase_add_test(reqs, test_bitbucket_request);
    tcase_add_test(reqs, test_bitbucket_server_request);
    tcase_add_test(reqs, test_json_escapes_what_it_must);
    tcase_add_test(reqs, test_bad_input_is_refused);
    tcase_add_test(reqs, test_target_url_encodes_the_build_id);
    suite_add_tcase(s, reqs);
    return sw_test_run(s);
}
