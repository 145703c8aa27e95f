/*
 * test_webhook.c - the webhook gateway end to end: a real nats-server, git
 * daemon and slipwayd, deliveries sent over HTTP with libcurl.
 *
 * A signed push makes exactly one build, also when the same delivery comes
 * again a second later and again after nats-server and the gateway restarted;
 * with nats-server down the answer is 503 within 2 s and the same delivery
 * makes its one build once NATS is back; bad input is answered and enqueues
 * nothing.
 */
#include "harness.h"
#include "witness.h"

#include "actors/webhook/signature.h"
#include "bus/bus.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "slipway.pb-c.h"

#include "recorder.h"
#include "support.h"

#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PIPELINE "steps:\n  - name: hello\n    run: echo hello from the webhook\n"

typedef struct reply {
    long status;
    char *body;
    size_t len;
    long long ms;
    char retry_after[32]; /* the Retry-After header's value, "" when none */
} reply;

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    reply *r = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1;
        size_t vlen = len - (sizeof(name) - 1);
        while (vlen > 0 && *v == ' ') {
            v++;
            vlen--;
        }
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n')) {
            vlen--;
        }
        snprintf(r->retry_after, sizeof(r->retry_after), "%.*s", (int)vlen, v);
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    reply *r = arg;
    r->body = sw_realloc(r->body, r->len + size * n + 1);
    memcpy(r->body + r->len, data, size * n);
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

typedef struct source {
    const char *data;
    size_t len, off;
} source;

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    source *s = arg;
    size_t k = s->len - s->off < size * n ? s->len - s->off : size * n;
    memcpy(buf, s->data + s->off, k);
    s->off += k;
    return k;
}

/* POSTs body to url with the NULL-terminated headers; chunked sends it
 * without a Content-Length. */
static reply post(const char *url, const char *const *headers, const char *body, size_t len,
                  bool chunked)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hs = NULL;
    reply r = {0};
    source src = {body, len, 0};
    ck_assert_ptr_nonnull(c);
    for (; headers != NULL && *headers != NULL; headers++) {
        hs = curl_slist_append(hs, *headers);
    }
    hs = curl_slist_append(hs, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (chunked) {
        hs = curl_slist_append(hs, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &src);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    long long t0 = sw_harness_now_ms();
    CURLcode rc = curl_easy_perform(c);
    r.ms = sw_harness_now_ms() - t0;
    if (rc == CURLE_OK || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    }
    if (r.status == 0) {
        ck_abort_msg("POST %s: %s", url, curl_easy_strerror(rc));
    }
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    if (r.body == NULL) {
        r.body = sw_strdup("");
    }
    return r;
}

/* GETs url with one more header (NULL: none). */
static reply get_with(const char *url, const char *header)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hs = header != NULL ? curl_slist_append(NULL, header) : NULL;
    reply r = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    if (r.body == NULL) {
        r.body = sw_strdup("");
    }
    return r;
}

static reply get(const char *url)
{
    return get_with(url, NULL);
}

#define BEARER "Authorization: Bearer " SW_HARNESS_READ_TOKEN

/* A GitHub push of sha to main of demo/<project>. */
static char *push_payload(const char *project, const char *sha, const char *message)
{
    return sw_asprintf(
        "{\"ref\":\"refs/heads/main\",\"before\":\"%040d\",\"after\":\"%s\","
        "\"created\":false,\"deleted\":false,"
        "\"repository\":{\"full_name\":\"demo/%s\",\"clone_url\":\"https://example.com/demo/%s.git\","
        "\"ssh_url\":\"git@example.com:demo/%s.git\"},"
        "\"pusher\":{\"name\":\"tester\"},\"sender\":{\"login\":\"tester\"},"
        "\"head_commit\":{\"id\":\"%s\",\"message\":\"%s\",\"author\":{\"name\":\"Tester\"}},"
        "\"commits\":[{\"id\":\"%s\",\"message\":\"%s\",\"author\":{\"name\":\"Tester\"}}]}",
        0, sha, project, project, project, sha, message, sha, message);
}

/* Sends a signed GitHub delivery of body with event and delivery id. */
static reply deliver(sw_harness *h, const char *project, const char *event,
                     const char *delivery, const char *body, size_t len)
{
    char sig[72], *url = sw_asprintf("%s/hooks/github/%s", sw_harness_webhook_url(h), project);
    char *h_sig, *h_event, *h_delivery;
    sw_signature_make(sig, SW_HARNESS_SECRET, body, len, 1);
    h_sig = sw_asprintf("X-Hub-Signature-256: %s", sig);
    h_event = sw_asprintf("X-GitHub-Event: %s", event);
    h_delivery = sw_asprintf("X-GitHub-Delivery: %s", delivery);
    const char *headers[] = {"Content-Type: application/json", h_sig, h_event, h_delivery, NULL};
    reply r = post(url, headers, body, len, false);
    free(h_sig);
    free(h_event);
    free(h_delivery);
    free(url);
    return r;
}

/* The value of "key":"..." in a JSON answer (owned), NULL when absent. */
static char *json_field(const char *json, const char *key)
{
    char *pat = sw_asprintf("\"%s\":\"", key);
    const char *p = strstr(json, pat);
    char *out = NULL;
    if (p != NULL) {
        p += strlen(pat);
        out = strndup(p, strcspn(p, "\""));
    }
    free(pat);
    return out;
}

/* How many builds `slipway builds` lists for project. */
static int count_builds(sw_harness *h, const char *project)
{
    sw_harness_result res;
    int n = 0;
    sw_harness_cli(h, &res, 30000, "builds", NULL);
    ck_assert_msg(res.status == 0, "slipway builds: %s", res.err);
    for (const char *p = res.out; (p = strstr(p, project)) != NULL; p += strlen(project)) {
        n++;
    }
    sw_harness_result_finish(&res);
    return n;
}

/* Waits until /healthz says NATS is connected. */
static void await_healthy(sw_harness *h)
{
    char *url = sw_asprintf("%s/healthz", sw_harness_webhook_url(h));
    long long deadline = sw_harness_now_ms() + 30000;
    for (;;) {
        reply r = get(url);
        bool ok = r.status == 200;
        free(r.body);
        if (ok) {
            break;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline, "the gateway did not reconnect to NATS");
        usleep(50 * 1000);
    }
    free(url);
}

START_TEST(test_push_makes_one_build_and_redeliveries_none)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, NULL);
    char *sha = sw_harness_repo_sha(h, "app", "main");
    char *body = push_payload("app", sha, "Add the pipeline\\n\\nwith a body");

    reply r = deliver(h, "app", "push", "d-0001", body, strlen(body));
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    char *status = json_field(r.body, "status"), *build = json_field(r.body, "build");
    ck_assert_str_eq(status, "accepted");
    ck_assert_ptr_nonnull(build);
    free(status);
    free(r.body);

    char *state = sw_harness_await_final(h, build, 60000);
    ck_assert_str_eq(state, "succeeded");
    free(state);
    char *got_sha = sw_harness_show_field(h, build, "sha", NULL);
    ck_assert_ptr_nonnull(got_sha);
    ck_assert_str_eq(got_sha, sha);
    free(got_sha);
    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "logs", build, NULL);
    ck_assert_int_eq(res.status, 0);
    ck_assert_ptr_nonnull(strstr(res.out, "hello from the webhook"));
    sw_harness_result_finish(&res);

    /* the page a commit status links to, on the webhook's listener: with
     * the tenant's read token, and not without */
    char *page_url = sw_asprintf("%s/builds/%s", sw_harness_webhook_url(h), build);
    r = get_with(page_url, BEARER);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "succeeded"));
    ck_assert_ptr_nonnull(strstr(r.body, "hello from the webhook"));
    free(r.body);
    r = get(page_url);
    ck_assert_msg(r.status == 401, "%ld %s", r.status, r.body);
    ck_assert_msg(strstr(r.body, build) == NULL && strstr(r.body, "hello") == NULL, "%s", r.body);
    free(r.body);
    free(page_url);
    page_url = sw_asprintf("%s/builds/aaaaaaaaaaaa", sw_harness_webhook_url(h));
    r = get_with(page_url, BEARER);
    ck_assert_msg(r.status == 404, "%ld %s", r.status, r.body);
    free(r.body);
    free(page_url);

    /* the same delivery a second later: the same build, nothing new */
    sleep(1);
    r = deliver(h, "app", "push", "d-0001", body, strlen(body));
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    status = json_field(r.body, "status");
    char *build2 = json_field(r.body, "build");
    ck_assert_str_eq(status, "duplicate");
    ck_assert_str_eq(build2, build);
    free(status);
    free(build2);
    free(r.body);

    /* again after nats-server and the gateway restarted: JetStream's duplicate
     * window has forgotten the id (the work queue dropped the acked request);
     * the gateway's record has not */
    ck_assert_int_eq(sw_harness_stop(h), 0);
    sw_harness_nats_restart(h);
    sw_harness_start(h, NULL);
    r = deliver(h, "app", "push", "d-0001", body, strlen(body));
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    status = json_field(r.body, "status");
    ck_assert_str_eq(status, "duplicate");
    free(status);
    free(r.body);
    ck_assert_int_eq(count_builds(h, "app"), 1);

    /* a new delivery of the same commit is a new build */
    r = deliver(h, "app", "push", "d-0002", body, strlen(body));
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    build2 = json_field(r.body, "build");
    ck_assert_str_ne(build2, build);
    state = sw_harness_await_final(h, build2, 60000);
    ck_assert_str_eq(state, "succeeded");
    ck_assert_int_eq(count_builds(h, "app"), 2);
    free(state);
    free(build2);
    free(r.body);
    free(build);
    free(body);
    free(sha);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_nats_down_is_503_then_the_same_delivery_builds_once)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, NULL);
    char *sha = sw_harness_repo_sha(h, "app", "main");
    char *body = push_payload("app", sha, "while NATS is down");

    sw_harness_nats_stop(h);
    reply r = deliver(h, "app", "push", "d-down", body, strlen(body));
    ck_assert_msg(r.status == 503, "%ld %s", r.status, r.body);
    ck_assert_msg(r.ms < 2000, "503 came after %lld ms", r.ms);
    free(r.body);

    sw_harness_nats_restart(h);
    await_healthy(h);
    /* connected is not yet accepting on a cluster: every node restarted, so
     * REQUESTS elects a leader after the gateway is back, and till then the
     * answer is 503 "send it again" -- which the test does, as a forge's
     * redelivery would (on one node JetStream is there with the connection) */
    long long until = sw_harness_now_ms() + 30000;
    r = deliver(h, "app", "push", "d-down", body, strlen(body));
    while (r.status == 503 && sw_harness_nats_nodes(h) > 1 && sw_harness_now_ms() < until) {
        free(r.body);
        usleep(250 * 1000);
        r = deliver(h, "app", "push", "d-down", body, strlen(body));
    }
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    char *status = json_field(r.body, "status"), *build = json_field(r.body, "build");
    ck_assert_str_eq(status, "accepted");
    char *state = sw_harness_await_final(h, build, 60000);
    ck_assert_str_eq(state, "succeeded");
    ck_assert_int_eq(count_builds(h, "app"), 1);
    free(state);
    free(status);
    free(build);
    free(r.body);
    free(body);
    free(sha);
    sw_harness_destroy(&h);
}
END_TEST

/* Messages in REQUESTS: with only the gateway running, every accepted
 * delivery stays there. */
static uint64_t requests_stored(sw_harness *h)
{
    sw_bus *bus = NULL;
    sw_bus_options o = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000};
    sw_harness_as_operator(&o);
    uint64_t n = 0;
    ck_assert_msg(sw_bus_connect(&bus, &o) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_bus_stream_count(bus, "REQUESTS", &n) == 0, "%s", sw_error_last());
    sw_bus_destroy(&bus);
    return n;
}

static void expect(sw_harness *h, reply r, long status, const char *needle)
{
    ck_assert_msg(r.status == status, "expected %ld, got %ld: %s", status, r.status, r.body);
    ck_assert_msg(needle == NULL || strstr(r.body, needle) != NULL, "'%s' not in %s", needle,
                  r.body);
    free(r.body);
    (void)h;
}

START_TEST(test_bad_input_is_answered_and_nothing_enqueued)
{
    sw_harness_options o = {.webhook_max_body = "1MiB"};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, "webhook", NULL);
    const char *base = sw_harness_webhook_url(h);
    char *sha = sw_harness_repo_sha(h, "app", "main");
    char *body = push_payload("app", sha, "fine");
    size_t len = strlen(body);
    char sig[72];
    sw_signature_make(sig, SW_HARNESS_SECRET, body, len, 1);
    char *h_sig = sw_asprintf("X-Hub-Signature-256: %s", sig);
    char *url = sw_asprintf("%s/hooks/github/app", base);
    char *other = sw_asprintf("%s/hooks/github/nope", base);
    char *gitlab = sw_asprintf("%s/hooks/gitlab/app", base);
    const char *json = "Content-Type: application/json";
    const char *ev = "X-GitHub-Event: push", *id = "X-GitHub-Delivery: bad-1";

    /* unknown project, project of another forge */
    const char *signed_headers[] = {json, h_sig, ev, id, NULL};
    /* unknown project, project of another forge: the same answer, naming no
     * file or setting of the server */
    reply unknown = post(other, signed_headers, body, len, false);
    reply wrong_forge = post(gitlab, signed_headers, body, len, false);
    ck_assert_msg(strstr(unknown.body, sw_harness_dir(h)) == NULL, "%s", unknown.body);
    ck_assert_msg(strstr(unknown.body, ".yaml") == NULL, "%s", unknown.body);
    ck_assert_str_eq(unknown.body, wrong_forge.body);
    expect(h, unknown, 404, "unknown project");
    expect(h, wrong_forge, 404, "unknown project");

    /* signatures: missing, sha1 only, one byte of the body changed, non-hex, short */
    const char *unsigned_headers[] = {json, ev, id, NULL};
    expect(h, post(url, unsigned_headers, body, len, false), 401, "X-Hub-Signature-256");
    const char *sha1_headers[] = {json, ev, id,
                                  "X-Hub-Signature: sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
                                  NULL};
    expect(h, post(url, sha1_headers, body, len, false), 401, NULL);
    char *changed = sw_strdup(body);
    changed[len / 2] ^= 1;
    expect(h, post(url, signed_headers, changed, len, false), 401, "signature mismatch");
    char *bad_hex = sw_strdup(h_sig);
    bad_hex[strlen(bad_hex) - 1] = 'z';
    const char *hex_headers[] = {json, bad_hex, ev, id, NULL};
    expect(h, post(url, hex_headers, body, len, false), 401, "hex");
    char *short_sig = strndup(h_sig, strlen(h_sig) - 2);
    const char *short_headers[] = {json, short_sig, ev, id, NULL};
    expect(h, post(url, short_headers, body, len, false), 401, "hex");

    /* content type */
    const char *form_headers[] = {"Content-Type: application/x-www-form-urlencoded", h_sig, ev,
                                  id, NULL};
    expect(h, post(url, form_headers, body, len, false), 415, "application/json");
    /* a header that is not UTF-8 is quoted back as valid JSON */
    const char *odd_headers[] = {"Content-Type: text/\xff\xfe\x01", h_sig, ev, id, NULL};
    expect(h, post(url, odd_headers, body, len, false), 415, "text/???");

    /* malformed, truncated and non-JSON bodies, signed */
    const char *bodies[] = {"{\"ref\": ", "not json at all", "[1,2,3]", ""};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        reply r = deliver(h, "app", "push", "bad-2", bodies[i], strlen(bodies[i]));
        expect(h, r, 400, NULL);
    }
    reply r = deliver(h, "app", "push", "bad-3", body, len / 2);
    expect(h, r, 400, NULL);

    /* too large: announced, and chunked (no Content-Length) */
    size_t big_len = (1u << 20) + 1;
    char *big = malloc(big_len);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    expect(h, post(url, signed_headers, big, big_len, false), 413, "limit");
    expect(h, post(url, signed_headers, big, big_len, true), 413, "limit");

    /* ping, unknown event, delete, [skip ci]: answered, no build */
    const char *ping = "{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1,"
                       "\"repository\":{\"full_name\":\"demo/app\"},\"sender\":{\"login\":\"x\"}}";
    expect(h, deliver(h, "app", "ping", "p-1", ping, strlen(ping)), 200, "pong");
    expect(h, deliver(h, "app", "issues", "i-1", ping, strlen(ping)), 202, "ignored");
    char *skip = push_payload("app", sha, "docs only [skip ci]");
    expect(h, deliver(h, "app", "push", "s-1", skip, strlen(skip)), 202, "ignored");
    char *del = sw_asprintf("{\"ref\":\"refs/heads/old\",\"before\":\"%s\",\"after\":\"%040d\","
                            "\"created\":false,\"deleted\":true,\"head_commit\":null,"
                            "\"commits\":[],\"repository\":{\"full_name\":\"demo/app\"},"
                            "\"pusher\":{\"name\":\"x\"}}",
                            sha, 0);
    expect(h, deliver(h, "app", "push", "del-1", del, strlen(del)), 202, "ignored");

    /* wrong method and route, health */
    reply g = get(url);
    expect(h, g, 405, "POST");
    char *health = sw_asprintf("%s/healthz", base);
    expect(h, get(health), 200, "connected");

    ck_assert_int_eq(requests_stored(h), 0);

    /* and the good one is taken */
    expect(h, post(url, signed_headers, body, len, false), 202, "accepted");
    ck_assert_int_eq(requests_stored(h), 1);

    free(health);
    free(del);
    free(skip);
    free(big);
    free(short_sig);
    free(bad_hex);
    free(changed);
    free(gitlab);
    free(other);
    free(url);
    free(h_sig);
    free(body);
    free(sha);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_a_push_sets_commit_statuses_on_the_forge)
{
    /* the whole way: webhook -> build -> statuses at the (recorded) forge API */
    sw_recorder *rec = NULL;
    ck_assert_int_eq(sw_recorder_start(&rec), 0);
    sw_harness_options o = {.forge_api_url = sw_recorder_url(rec)};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, NULL);
    char *sha = sw_harness_repo_sha(h, "app", "main");
    char *body = push_payload("app", sha, "statuses please");
    char *path = sw_asprintf("/repos/demo/app/statuses/%s", sha);

    sw_recorder_answer(rec, 1, 500, 0); /* the first status is refused once */
    reply r = deliver(h, "app", "push", "st-1", body, strlen(body));
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    char *build = json_field(r.body, "build");
    char *state = sw_harness_await_final(h, build, 60000);
    ck_assert_str_eq(state, "succeeded");

    /* wait for the success status, then read them all in order */
    const sw_recorded *last = NULL;
    long long deadline = sw_harness_now_ms() + 30000;
    for (size_t n = 1; last == NULL || strstr(last->body, "\"success\"") == NULL; n++) {
        ck_assert_msg(sw_recorder_wait(rec, n, (int)(deadline - sw_harness_now_ms())),
                      "only %zu statuses reached the forge", sw_recorder_count(rec));
        last = sw_recorder_get(rec, n - 1);
    }
    size_t n = sw_recorder_count(rec);
    ck_assert_uint_ge(n, 2);
    const sw_recorded *first = sw_recorder_get(rec, 0);
    ck_assert_int_eq(first->status, 500);
    ck_assert_ptr_nonnull(strstr(first->body, "\"pending\""));
    for (size_t i = 0; i < n; i++) {
        const sw_recorded *q = sw_recorder_get(rec, i);
        ck_assert_str_eq(q->method, "POST");
        ck_assert_str_eq(q->url, path);
        ck_assert_str_eq(sw_recorded_header(q, "Authorization"), "Bearer " SW_HARNESS_TOKEN);
        ck_assert_msg(strstr(q->body, build) != NULL, "no link to the build in %s", q->body);
        /* nothing after the final status */
        ck_assert_msg(i + 1 == n || strstr(q->body, "\"success\"") == NULL,
                      "a status after success: %s", sw_recorder_get(rec, i + 1)->body);
    }
    ck_assert_int_eq(sw_recorder_get(rec, 1)->status, 201); /* the retry */

    free(state);
    free(build);
    free(r.body);
    free(path);
    free(body);
    free(sha);
    sw_harness_destroy(&h);
    sw_recorder_destroy(&rec);
}
END_TEST

/* The reply to a GET of base/builds/<id><query> with header (NULL: none). */
static reply page(const char *base, const char *id, const char *query, const char *header)
{
    char *url = sw_asprintf("%s/builds/%s%s", base, id, query ? query : "");
    reply r = get_with(url, header);
    free(url);
    return r;
}

/* r shows nothing of build: its id, its state, its log. */
static void assert_nothing_of(reply r, const char *build)
{
    ck_assert_msg(strstr(r.body, build) == NULL && strstr(r.body, "succeeded") == NULL &&
                      strstr(r.body, "hello from the webhook") == NULL,
                  "the answer shows the build: %s", r.body);
}

START_TEST(test_build_pages_need_a_key_on_their_own_listener)
{
    sw_recorder *rec = NULL;
    ck_assert_int_eq(sw_recorder_start(&rec), 0);
    int web_port = sw_test_free_port();
    char *key_dir = sw_test_tmpdir("sw-linkkey");
    char *key_path = sw_asprintf("%s/link-key", key_dir);
    sw_test_write_file(key_path, "a-link-key-of-some-length\n");
    char *extra = sw_asprintf("web:\n"
                              "  listen: 127.0.0.1:%d\n"
                              "  read_token: operator-token-0123456789\n"
                              "  link_key: file:%s\n"
                              "  link_ttl: 1h\n",
                              web_port, key_path);
    sw_harness_options o = {.forge_api_url = sw_recorder_url(rec), .yaml_extra = extra};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, NULL);
    char *web = sw_asprintf("http://127.0.0.1:%d", web_port);
    char *sha = sw_harness_repo_sha(h, "app", "main");
    char *body = push_payload("app", sha, "pages please");

    reply r = deliver(h, "app", "push", "pg-1", body, strlen(body));
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    char *build = json_field(r.body, "build");
    free(r.body);
    char *state = sw_harness_await_final(h, build, 60000);
    ck_assert_str_eq(state, "succeeded");

    /* not on the webhook's listener any more, not even with the key */
    r = page(sw_harness_webhook_url(h), build, NULL, BEARER);
    ck_assert_msg(r.status == 404, "%ld %s", r.status, r.body);
    assert_nothing_of(r, build);
    free(r.body);

    /* no key: 401, nothing of the build */
    r = page(web, build, NULL, NULL);
    ck_assert_msg(r.status == 401, "%ld %s", r.status, r.body);
    assert_nothing_of(r, build);
    free(r.body);

    /* a wrong key: 404, word for word the answer for an id that is no build */
    reply none = page(web, "aaaaaaaaaaaa", NULL, BEARER);
    ck_assert_msg(none.status == 404, "%ld %s", none.status, none.body);
    const char *wrong[] = {"Authorization: Bearer not-the-token", "Authorization: Basic eDp5", NULL};
    for (size_t i = 0; i < 3; i++) {
        r = i < 2 ? page(web, build, NULL, wrong[i]) : page(web, build, "?token=nope", NULL);
        ck_assert_msg(r.status == 404, "%ld %s", r.status, r.body);
        ck_assert_str_eq(r.body, none.body);
        free(r.body);
    }
    free(none.body);

    /* the tenant's token (header, or a cookie the page set from ?token=) and the
     * operator's: the page, and its log */
    const char *keys[] = {BEARER, "Cookie: slipway_token=" SW_HARNESS_READ_TOKEN,
                          "Cookie: slipway_token=operator-token-0123456789"};
    for (size_t i = 0; i < 3; i++) {
        r = page(web, build, NULL, keys[i]);
        ck_assert_msg(r.status == 200, "%zu: %ld %s", i, r.status, r.body);
        ck_assert_ptr_nonnull(strstr(r.body, "succeeded"));
        free(r.body);
        r = page(web, build, "/log.txt", keys[i]);
        ck_assert_msg(r.status == 200, "%zu: %ld %s", i, r.status, r.body);
        ck_assert_ptr_nonnull(strstr(r.body, "hello from the webhook"));
        free(r.body);
    }
    /* ?token= that opens builds: kept in the cookie, the browser sent on without it */
    r = page(web, build, "?token=" SW_HARNESS_READ_TOKEN, NULL);
    ck_assert_msg(r.status == 303, "%ld %s", r.status, r.body);
    free(r.body);

    /* the signed link of the commit statuses opens the page on its own, and its log */
    ck_assert(sw_recorder_wait(rec, 1, 30000));
    char *target = json_field(sw_recorder_get(rec, 0)->body, "target_url");
    ck_assert_ptr_nonnull(target);
    char *prefix = sw_asprintf("%s/builds/%s?exp=", web, build);
    ck_assert_msg(strncmp(target, prefix, strlen(prefix)) == 0, "%s", target);
    r = get(target);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "succeeded"));
    free(r.body);
    char *log_link = sw_asprintf("%s/builds/%s/log.txt%s", web, build, strchr(target, '?'));
    r = get(log_link);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "hello from the webhook"));
    free(r.body);
    free(log_link);
    /* ...and not another build's page, nor with its signature changed */
    char *other = sw_asprintf("%s/builds/aaaaaaaaaaaa%s", web, strchr(target, '?'));
    r = get(other);
    ck_assert_msg(r.status == 404, "%ld %s", r.status, r.body);
    free(r.body);
    char last = target[strlen(target) - 1];
    target[strlen(target) - 1] = last == '0' ? '1' : '0';
    r = get(target);
    ck_assert_msg(r.status == 404, "%ld %s", r.status, r.body);
    assert_nothing_of(r, build);
    free(r.body);

    free(other);
    free(prefix);
    free(target);
    free(state);
    free(build);
    free(body);
    free(sha);
    free(web);
    sw_harness_destroy(&h);
    sw_recorder_destroy(&rec);
    sw_test_rmtree(key_dir);
    free(key_dir);
    free(key_path);
    free(extra);
}
END_TEST

/* --- a full request queue ------------------------------------------------ */

/* The value of a counter line of /metrics ("" when absent; owned). */
static char *metric(sw_harness *h, const char *line_start)
{
    char *url = sw_asprintf("%s/metrics", sw_harness_webhook_url(h));
    reply r = get(url);
    ck_assert_msg(r.status == 200, "GET /metrics: %ld %s", r.status, r.body);
    const char *p = strstr(r.body, line_start);
    char *v = p != NULL ? strndup(p + strlen(line_start), strcspn(p + strlen(line_start), "\n"))
                        : sw_strdup("");
    free(r.body);
    free(url);
    return v;
}

START_TEST(test_full_request_queue_is_503_and_the_retry_builds_once)
{
    sw_harness_options o = {.yaml_extra = "queues:\n  requests: 2\n"};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, "webhook", NULL); /* nothing consumes REQUESTS yet */
    char *sha = sw_harness_repo_sha(h, "app", "main");
    char *body = push_payload("app", sha, "into a full queue");
    char *builds[3];

    /* fill REQUESTS to its bound of 2 */
    for (int i = 0; i < 2; i++) {
        char id[16];
        snprintf(id, sizeof(id), "q-%d", i);
        reply r = deliver(h, "app", "push", id, body, strlen(body));
        ck_assert_msg(r.status == 202, "%s: %ld %s", id, r.status, r.body);
        char *status = json_field(r.body, "status");
        ck_assert_str_eq(status, "accepted");
        builds[i] = json_field(r.body, "build");
        free(status);
        free(r.body);
    }
    ck_assert_uint_eq(sw_witness_messages(h, "REQUESTS"), 2);

    /* the third is refused: 503, Retry-After, the reason; nothing stored, and
     * nothing remembered: the same delivery again is refused again, not a
     * "duplicate" */
    for (int attempt = 0; attempt < 2; attempt++) {
        reply r = deliver(h, "app", "push", "q-full", body, strlen(body));
        ck_assert_msg(r.status == 503, "attempt %d: %ld %s", attempt, r.status, r.body);
        ck_assert_msg(strcmp(r.retry_after, "30") == 0, "Retry-After '%s', not 30",
                      r.retry_after);
        char *reason = json_field(r.body, "reason"), *status = json_field(r.body, "status");
        ck_assert_msg(reason != NULL && strcmp(reason, "queue_full") == 0, "%s", r.body);
        ck_assert_str_eq(status, "error");
        ck_assert_msg(strstr(r.body, "queue is full") != NULL, "%s", r.body);
        ck_assert_msg(r.ms < 2000, "the 503 took %lld ms", r.ms);
        free(reason);
        free(status);
        free(r.body);
        ck_assert_uint_eq(sw_witness_messages(h, "REQUESTS"), 2);
    }
    char *refused = metric(h, "slipway_webhook_answers_total{answer=\"queue_full\"} ");
    ck_assert_str_eq(refused, "2");
    free(refused);
    char *accepted = metric(h, "slipway_webhook_answers_total{answer=\"accepted\"} ");
    ck_assert_str_eq(accepted, "2");
    free(accepted);
    char *health = sw_asprintf("%s/healthz", sw_harness_webhook_url(h));
    expect(h, get(health), 200, "\"queue_full_refusals\":2");
    free(health);
    char *log = sw_harness_slipwayd_log(h);
    const char *first = strstr(log, "is full: refusing deliveries");
    ck_assert_msg(first != NULL, "no warning about the full queue in the log");
    ck_assert_msg(strstr(first + 1, "is full: refusing deliveries") == NULL,
                  "the full queue is warned about more than once in one episode");
    free(log);

    /* the rest of Slipway starts and drains the queue */
    sw_harness_start_more(h, "rest", "scheduler", "dispatcher", "builder", "logsink", NULL);
    for (int i = 0; i < 2; i++) {
        char *state = sw_harness_await_final(h, builds[i], 60000);
        ck_assert_msg(strcmp(state, "succeeded") == 0, "build %s %s", builds[i], state);
        free(state);
    }
    sw_witness_expect_messages(h, "REQUESTS", 0, 10000);

    /* the forge's retry of the refused delivery is a new delivery to us */
    reply r = deliver(h, "app", "push", "q-full", body, strlen(body));
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    char *status = json_field(r.body, "status");
    ck_assert_str_eq(status, "accepted");
    builds[2] = json_field(r.body, "build");
    free(status);
    free(r.body);
    char *state = sw_harness_await_final(h, builds[2], 60000);
    ck_assert_str_eq(state, "succeeded");
    free(state);
    log = sw_harness_slipwayd_log(h);
    ck_assert_msg(strstr(log, "has room again: 2 deliveries were refused") != NULL,
                  "the end of the episode is not in the log");
    free(log);

    /* every accepted build finished, each exactly once */
    ck_assert_int_eq(count_builds(h, "app"), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(sw_witness_finished_in_events(h, builds[i]) == 1, "build %s finished %d times",
                      builds[i], sw_witness_finished_in_events(h, builds[i]));
        free(builds[i]);
    }
    free(body);
    free(sha);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("webhook");
    TCase *tc = tcase_create("webhook");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_push_makes_one_build_and_redeliveries_none);
    tcase_add_test(tc, test_nats_down_is_503_then_the_same_delivery_builds_once);
    tcase_add_test(tc, test_bad_input_is_answered_and_nothing_enqueued);
    tcase_add_test(tc, test_a_push_sets_commit_statuses_on_the_forge);
    tcase_add_test(tc, test_build_pages_need_a_key_on_their_own_listener);
    tcase_add_test(tc, test_full_request_queue_is_503_and_the_retry_builds_once);
    suite_add_tcase(s, tc);
    int rc = sw_test_run(s);
    curl_global_cleanup();
    return rc;
}
