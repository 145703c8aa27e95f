/*
 * test_fairshare.c - plans end to end: fair share between the tenants of a
 * tier, and max_queued refusing what is over it.
 *
 * Fair share: tenant demo queues 200 builds of `sleep 0.5` on a tier with one
 * 2-slot builder, then tenant beta submits one; beta's build starts within
 * about one build's time, not after demo's 200 (the figure is printed).
 * SLIPWAY_FAIRSHARE_OFF=1 runs the same with `lookahead: off` (every job
 * placed at once, FIFO) and only prints the figure, for comparison.
 *
 * Quotas: with max_queued 2, a webhook delivery past it is answered 429 with
 * Retry-After and enqueues nothing, and `slipway submit` exits 11 saying why.
 */
#include "harness.h"
#include "witness.h"

#include "actors/webhook/signature.h"
#include "bus/bus.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include "support.h"

#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SLEEP_PIPELINE "steps:\n  - name: nap\n    run: sleep 0.5\n"
#define LONG_PIPELINE "steps:\n  - name: long\n    run: sleep 60\n"
#define BACKLOG 200

static sw_bus *connect_bus(sw_harness *h)
{
    sw_bus *bus = NULL;
    sw_bus_options o = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000};
    sw_harness_as_operator(&o);
    ck_assert_msg(sw_bus_connect(&bus, &o) == 0, "%s", sw_error_last());
    return bus;
}

/* Stores n build requests of project (tenant) in REQUESTS, as submit does. */
static void queue_builds(sw_bus *bus, const char *tenant, const char *project, int n)
{
    char subject[160], id[64];
    sw_subject(subject, sizeof(subject), "sw.req", tenant, NULL);
    for (int i = 0; i < n; i++) {
        Slipway__BuildRequest br = SLIPWAY__BUILD_REQUEST__INIT;
        snprintf(id, sizeof(id), "test-%s-%d", project, i);
        br.request_id = id;
        br.tenant = (char *)tenant;
        br.project = (char *)project;
        br.forge = "cli";
        br.ref = "";
        br.sha = "";
        br.author = "test";
        br.requested_at_ms = sw_clock_wall_ms();
        ck_assert_msg(sw_wire_js_publish(bus, subject, &br.base, id, NULL) == 0, "%s",
                      sw_error_last());
    }
}

/* Waits (bounded) until the record of build has a started_ms; returns it. */
static long long await_started(sw_harness *h, const char *build, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    for (;;) {
        long long started = sw_harness_show_ms(h, build, "started_ms");
        if (started > 0) {
            return started;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline, "build %s did not start within %d ms",
                      build, timeout_ms);
        usleep(50 * 1000);
    }
}

/* How many of tenant's builds the scheduler has recorded (slipway builds). */
static int count_builds(sw_harness *h, const char *tenant)
{
    sw_harness_result res;
    int n = 0;
    sw_harness_cli(h, &res, 30000, "builds", "--tenant", tenant, "--limit", "500", NULL);
    ck_assert_msg(res.status == 0, "slipway builds: %s", res.err);
    for (const char *p = res.out; (p = strchr(p, '\n')) != NULL; p++) {
        n++;
    }
    sw_harness_result_finish(&res);
    return n > 0 ? n - 1 : 0; /* the header line */
}

START_TEST(test_one_build_does_not_wait_behind_another_tenants_backlog)
{
    bool off = getenv("SLIPWAY_FAIRSHARE_OFF") != NULL;
    sw_harness_options o = {.slots = 2, .builders = 1, .tenants = "beta",
                            .tier_extra = off ? "    lookahead: off\n" : NULL,
                            .cluster_extra = "    pressure: {cpu: off, memory: off, io: off}\n"};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "a", SLEEP_PIPELINE);
    sw_harness_repo_pipeline(h, "b", SLEEP_PIPELINE);
    sw_harness_repo_tenant(h, "b", "beta");
    sw_harness_start(h, NULL);
    sw_bus *bus = connect_bus(h);

    /* one build of each first: the git mirrors are warm, so the figure below
     * is queueing, not a first clone */
    char *warm_a = sw_harness_submit(h, "a", NULL), *warm_b = sw_harness_submit(h, "b", NULL);
    free(sw_harness_await_final(h, warm_a, 60000));
    free(sw_harness_await_final(h, warm_b, 60000));

    long long t0 = sw_harness_now_ms();
    queue_builds(bus, "demo", "a", BACKLOG);
    /* awaited: the scheduler took every request (REQUESTS empty) and has
     * recorded them, and demo's builds are running */
    sw_witness_expect_messages(h, "REQUESTS", 0, 60000);
    long long deadline = sw_harness_now_ms() + 60000;
    while (count_builds(h, "demo") < BACKLOG + 1) {
        ck_assert_msg(sw_harness_now_ms() < deadline, "the scheduler did not record %d builds",
                      BACKLOG);
        usleep(100 * 1000);
    }
    fprintf(stderr, "fairshare: %d builds of demo queued in %lld ms\n", BACKLOG,
            sw_harness_now_ms() - t0);

    char *b = sw_harness_submit(h, "b", NULL);
    long long created = sw_harness_show_ms(h, b, "created_ms");
    long long started = await_started(h, b, off ? 300000 : 60000);
    if (created <= 0) {
        created = sw_harness_show_ms(h, b, "created_ms");
    }
    long long wait_ms = started - created;
    fprintf(stderr,
            "fairshare: beta's one build started %lld ms after it was created, behind %d "
            "builds of demo (lookahead %s; one build here takes about 500 ms on 2 slots)\n",
            wait_ms, BACKLOG, off ? "off" : "2");
    if (!off) {
        ck_assert_msg(wait_ms < 5000, "beta waited %lld ms behind demo's backlog", wait_ms);
    }
    free(b);
    free(warm_a);
    free(warm_b);
    sw_bus_destroy(&bus);
    sw_harness_destroy(&h);
}
END_TEST

/* --- quotas ---------------------------------------------------------------- */

typedef struct reply {
    long status;
    char *body;
    char retry_after[32];
} reply;

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    reply *r = arg;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        size_t k = 0;
        for (size_t i = 12; i < len && k + 1 < sizeof(r->retry_after); i++) {
            if (data[i] >= '0' && data[i] <= '9') {
                r->retry_after[k++] = data[i];
            }
        }
        r->retry_after[k] = '\0';
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    reply *r = arg;
    size_t old = r->body ? strlen(r->body) : 0;
    r->body = sw_realloc(r->body, old + size * n + 1);
    memcpy(r->body + old, data, size * n);
    r->body[old + size * n] = '\0';
    return size * n;
}

/* A signed GitHub push of main of demo/<project>, delivery id delivery. */
static reply deliver_push(sw_harness *h, const char *project, const char *sha,
                          const char *delivery)
{
    char *body = sw_asprintf(
        "{\"ref\":\"refs/heads/main\",\"before\":\"%040d\",\"after\":\"%s\","
        "\"created\":false,\"deleted\":false,"
        "\"repository\":{\"full_name\":\"demo/%s\"},\"pusher\":{\"name\":\"tester\"},"
        "\"head_commit\":{\"id\":\"%s\",\"message\":\"over quota\",\"author\":{\"name\":\"T\"}},"
        "\"commits\":[]}",
        0, sha, project, sha);
    char sig[72], *url = sw_asprintf("%s/hooks/github/%s", sw_harness_webhook_url(h), project);
    sw_signature_make(sig, SW_HARNESS_SECRET, body, strlen(body), 1);
    char *h_sig = sw_asprintf("X-Hub-Signature-256: %s", sig);
    char *h_delivery = sw_asprintf("X-GitHub-Delivery: %s", delivery);
    struct curl_slist *hs = NULL;
    hs = curl_slist_append(hs, "Content-Type: application/json");
    hs = curl_slist_append(hs, "X-GitHub-Event: push");
    hs = curl_slist_append(hs, h_sig);
    hs = curl_slist_append(hs, h_delivery);
    hs = curl_slist_append(hs, "Expect:");
    reply r = {0};
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    free(h_sig);
    free(h_delivery);
    free(url);
    free(body);
    if (r.body == NULL) {
        r.body = sw_strdup("");
    }
    return r;
}

/* The project lookup's count of the tenant's waiting builds. */
static uint32_t waiting(sw_bus *bus, const char *project)
{
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    req.project = (char *)project;
    ck_assert_msg(sw_wire_request(bus, SW_API_PROJECT, &req.base, &slipway__api_reply__descriptor,
                                  5000, (ProtobufCMessage **)&reply) == 0,
                  "%s", sw_error_last());
    ck_assert_ptr_nonnull(reply->project);
    uint32_t n = reply->project->queued;
    ck_assert_uint_eq(reply->project->max_queued, 2);
    slipway__api_reply__free_unpacked(reply, NULL);
    return n;
}

static void await_waiting(sw_bus *bus, const char *project, uint32_t want)
{
    long long deadline = sw_harness_now_ms() + 30000;
    uint32_t n;
    while ((n = waiting(bus, project)) != want) {
        ck_assert_msg(sw_harness_now_ms() < deadline, "%u builds waiting after 30 s, not %u", n,
                      want);
        usleep(50 * 1000);
    }
}

typedef struct heard {
    const char *tenant;
    uint32_t want;
    volatile int got;
} heard;

static void on_quota(sw_msg *msg, void *closure)
{
    heard *w = closure;
    Slipway__Quota *q = slipway__quota__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    if (q != NULL && strcmp(q->tenant, w->tenant) == 0 && q->queued == w->want) {
        __atomic_store_n(&w->got, 1, __ATOMIC_SEQ_CST);
    }
    slipway__quota__free_unpacked(q, NULL);
    sw_msg_release(&msg);
}

/* Waits (at most 10 s) for a Quota of tenant saying want waiting. */
static void await_announced(sw_harness *h, const char *tenant, uint32_t want)
{
    sw_bus *bus = connect_bus(h);
    sw_sub *sub = NULL;
    heard w = {tenant, want, 0};
    char subject[160];
    sw_subject(subject, sizeof(subject), SW_QUOTA, tenant, NULL);
    ck_assert_int_eq(sw_bus_subscribe(&sub, bus, subject, NULL, on_quota, &w), 0);
    long long deadline = sw_harness_now_ms() + 10000;
    while (!__atomic_load_n(&w.got, __ATOMIC_SEQ_CST)) {
        ck_assert_msg(sw_harness_now_ms() < deadline, "no Quota of %s saying %u in 10 s", tenant,
                      want);
        usleep(20 * 1000);
    }
    sw_sub_destroy(&sub);
    sw_bus_destroy(&bus);
}

START_TEST(test_over_max_queued_is_refused_and_nothing_enqueued)
{
    sw_harness_options o = {.slots = 1, .builders = 1, .tier_extra = "    max_queued: 2\n"};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "app", LONG_PIPELINE);
    sw_harness_start(h, NULL);
    sw_bus *bus = connect_bus(h);
    char *sha = sw_harness_repo_sha(h, "app", "main");

    /* one running (not waiting), two waiting: at the bound */
    char *running = sw_harness_submit(h, "app", NULL);
    await_started(h, running, 60000);
    char *w1 = sw_harness_submit(h, "app", NULL), *w2 = sw_harness_submit(h, "app", NULL);
    await_waiting(bus, "app", 2);
    /* awaited: an announcement of the 2 (the scheduler sends one at least
     * every second), which the gateway hears as we do */
    await_announced(h, "demo", 2);
    reply r = deliver_push(h, "app", sha, "over-1");
    ck_assert_msg(r.status == 429, "%ld %s", r.status, r.body);
    ck_assert_msg(strcmp(r.retry_after, "30") == 0, "Retry-After '%s', not 30", r.retry_after);
    ck_assert_msg(strstr(r.body, "\"reason\":\"over_quota\"") != NULL, "%s", r.body);
    ck_assert_msg(strstr(r.body, "max_queued is 2") != NULL, "%s", r.body);
    fprintf(stderr, "quota: webhook answered %ld, Retry-After %s: %s\n", r.status, r.retry_after,
            r.body);
    free(r.body);

    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "submit", "--project", "app", NULL);
    fprintf(stderr, "quota: slipway submit exited %d: %s", res.status, res.err);
    ck_assert_int_eq(res.status, 12);
    ck_assert_msg(strstr(res.err, "max_queued") != NULL && strstr(res.err, "not stored") != NULL,
                  "%s", res.err);
    ck_assert_str_eq(res.out, "");
    sw_harness_result_finish(&res);

    /* nothing was enqueued: REQUESTS empty, still 3 builds, still 2 waiting */
    ck_assert_uint_eq(sw_witness_messages(h, "REQUESTS"), 0);
    ck_assert_int_eq(count_builds(h, "demo"), 3);
    ck_assert_uint_eq(waiting(bus, "app"), 2);

    /* once one is cancelled there is room again */
    sw_harness_cli(h, &res, 30000, "cancel", w2, NULL);
    ck_assert_int_eq(res.status, 0);
    sw_harness_result_finish(&res);
    await_waiting(bus, "app", 1);
    char *again = sw_harness_submit(h, "app", NULL);
    free(again);

    free(running);
    free(w1);
    free(w2);
    free(sha);
    sw_bus_destroy(&bus);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("fairshare");
    TCase *tc = tcase_create("fairshare");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_one_build_does_not_wait_behind_another_tenants_backlog);
    tcase_add_test(tc, test_over_max_queued_is_refused_and_nothing_enqueued);
    suite_add_tcase(s, tc);
    int failed = sw_test_run(s);
    curl_global_cleanup();
    return failed;
}
