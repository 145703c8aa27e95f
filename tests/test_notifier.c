/* test_notifier.c - the notifier actor against a real nats-server and a local
 * HTTP recorder standing in for the forges: what it sends, in which order, how
 * it retries and gives up, fencing on the attempt, and restarts. Also its LMDB
 * store on its own.
 *
 * Each test gets a fresh nats-server, recorder and data directory. Events are
 * published to EVENTS as the scheduler and builders would. "No more requests"
 * is checked with a barrier: a fresh build's first status, which the actor can
 * only send after it handled every event published before it. */
#include "actors/notifier/notifier.h"
#include "actors/notifier/record.h"
#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/metrics.h"
#include "runtime/wire.h"

#include "natsd.h"
#include "recorder.h"
#include "support.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define SHA2 "89abcdef0123456789abcdef0123456789abcdef"
#define WAIT_MS 10000

static sw_natsd *srv;
static sw_bus *bus;
static sw_recorder *rec;
static char *dir;
static sw_config *cfg;
static sw_actor_ctx ctx;
static sw_actor *actor;
static int barriers;
static const char *request_timeout = "5s"; /* notifier.timeout in the config */

static void start_actor(void)
{
    ck_assert_msg(sw_actor_start(&actor, &sw_notifier_impl, "notifier", bus, &ctx) == 0, "%s",
                  sw_error_last());
}

static void setup(void)
{
    sw_bus_options opts = {.name = "test_notifier", .connect_wait_ms = 2000};
    char text[4096];
    const char *u;

    ck_assert_msg(sw_natsd_start(&srv) == 0, "%s", sw_error_last());
    opts.url = sw_natsd_url(srv);
    ck_assert_msg(sw_bus_connect(&bus, &opts) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_recorder_start(&rec) == 0, "%s", sw_error_last());
    u = sw_recorder_url(rec);
    dir = sw_test_tmpdir("sw-notifier");
    snprintf(text, sizeof(text),
             "data_dir: %s\n"
             "webhook:\n"
             "  public_url: https://ci.example/\n"
             "notifier:\n"
             "  attempts: 3\n"
             "  timeout: %s\n"
             "  backoff: 50ms\n"
             "tiers:\n"
             "  - name: free\n"
             "tenants:\n"
             "  - name: acme\n"
             "    tier: free\n"
             "projects:\n"
             "  - {name: gh, tenant: acme, repository: 'git://h/gh.git', forge: {type: github, "
             "repo: acme/web, token: gh-token, api_url: '%s/gh'}}\n"
             "  - {name: gl, tenant: acme, repository: 'git://h/gl.git', forge: {type: gitlab, "
             "repo: group/web, token: gl-token, api_url: '%s/gl/api/v4'}}\n"
             "  - {name: gt, tenant: acme, repository: 'git://h/gt.git', forge: {type: forgejo, "
             "repo: acme/web, token: gt-token, api_url: '%s/gt/api/v1'}}\n"
             "  - {name: bb, tenant: acme, repository: 'git://h/bb.git', forge: {type: "
             "bitbucket, repo: team/web, token: bb-token, api_url: '%s/bb', context: ci}}\n"
             "  - {name: bbs, tenant: acme, repository: 'git://h/bbs.git', forge: {type: "
             "bitbucket-server, repo: PROJ/web, token: bbs-token, api_url: '%s/bbs'}}\n"
             "  - {name: down, tenant: acme, repository: 'git://h/d.git', forge: {type: github, "
             "repo: acme/web, token: t, api_url: 'http://127.0.0.1:%d'}}\n"
             "  - {name: notoken, tenant: acme, repository: 'git://h/n.git', forge: {type: "
             "github, repo: acme/web, api_url: '%s/nt'}}\n"
             "  - {name: plain, tenant: acme, repository: 'git://h/p.git'}\n"
             "clusters:\n"
             "  - name: c1\n"
             "    tier: free\n",
             dir, request_timeout, u, u, u, u, u, sw_test_free_port(), u);
    ck_assert_msg(sw_config_parse(&cfg, text, strlen(text), "notifier.yaml") == 0, "%s",
                  sw_error_last());
    ck_assert_msg(sw_wire_setup_streams(bus, cfg) == 0, "%s", sw_error_last());
    ctx.cfg = cfg;
    ctx.target = NULL;
    barriers = 0;
    start_actor();
}

/* The same with a short request timeout. */
static void setup_short_timeout(void)
{
    request_timeout = "300ms";
    setup();
    request_timeout = "5s";
}

static void teardown(void)
{
    sw_actor_destroy(&actor);
    sw_recorder_destroy(&rec);
    sw_config_destroy(&cfg);
    sw_bus_destroy(&bus);
    sw_natsd_destroy(&srv);
    sw_test_rmtree(dir);
    free(dir);
    dir = NULL;
    sw_bus_shutdown(5000);
}

/* --- events ---------------------------------------------------------------- */

static void publish(Slipway__BuildEvent *ev)
{
    char subject[160];
    ev->tenant = "acme";
    ev->at_ms = sw_clock_wall_ms();
    sw_subject(subject, sizeof(subject), "sw.events", "acme", ev->build_id);
    ck_assert_msg(sw_wire_js_publish(bus, subject, &ev->base, NULL, NULL) == 0, "%s",
                  sw_error_last());
}

static void created(const char *build, const char *project, const char *sha)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    Slipway__Job job = SLIPWAY__JOB__INIT;
    Slipway__BuildRequest req = SLIPWAY__BUILD_REQUEST__INIT;
    job.build_id = (char *)build;
    job.tenant = "acme";
    job.project = (char *)project;
    job.tier = "free";
    job.ref = "refs/heads/main";
    job.sha = (char *)sha;
    req.request_id = (char *)build;
    req.tenant = "acme";
    req.project = (char *)project;
    req.sha = (char *)sha;
    ev.build_id = (char *)build;
    ev.kind = SLIPWAY__EVENT_KIND__CREATED;
    ev.job = &job;
    ev.request = &req;
    publish(&ev);
}

static void started(const char *build, unsigned attempt, const char *builder)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.build_id = (char *)build;
    ev.kind = SLIPWAY__EVENT_KIND__STARTED;
    ev.attempt = attempt;
    ev.builder = (char *)builder;
    ev.cluster = "c1";
    publish(&ev);
}

static void step(const char *build, unsigned attempt, const char *name, int kind)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.build_id = (char *)build;
    ev.kind = kind;
    ev.attempt = attempt;
    ev.step = (char *)name;
    publish(&ev);
}

static void lost(const char *build, unsigned attempt)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.build_id = (char *)build;
    ev.kind = SLIPWAY__EVENT_KIND__LOST;
    ev.attempt = attempt;
    ev.reason = "builder went silent";
    publish(&ev);
}

static void finished(const char *build, unsigned attempt, int state, int exit_code,
                     const char *failed_step, const char *sha)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.build_id = (char *)build;
    ev.kind = SLIPWAY__EVENT_KIND__FINISHED;
    ev.attempt = attempt;
    ev.state = state;
    ev.exit_code = exit_code;
    ev.step = (char *)failed_step;
    ev.sha = (char *)sha;
    publish(&ev);
}

/* --- requests -------------------------------------------------------------- */

/* Waits for the i-th request (from 0). */
static const sw_recorded *nth(size_t i)
{
    ck_assert_msg(sw_recorder_wait(rec, i + 1, WAIT_MS), "expected request %zu, %zu came", i + 1,
                  sw_recorder_count(rec));
    return sw_recorder_get(rec, i);
}

/* A string field of a request's JSON body ("" when absent); a static copy. */
static const char *field(const sw_recorded *r, const char *key)
{
    static char buf[8][512];
    static int turn;
    json_error_t jerr;
    json_t *body = json_loads(r->body, 0, &jerr);
    ck_assert_msg(body != NULL, "not JSON: %s", r->body);
    const char *v = json_string_value(json_object_get(body, key));
    char *out = buf[turn++ % 8];
    snprintf(out, sizeof(buf[0]), "%s", v ? v : "");
    json_decref(body);
    return out;
}

static const char *header(const sw_recorded *r, const char *name)
{
    const char *v = sw_recorded_header(r, name);
    return v ? v : "";
}

static bool is_for(const sw_recorded *r, const char *build)
{
    char link[128];
    snprintf(link, sizeof(link), "https://ci.example/builds/%s", build);
    return strstr(r->body, link) != NULL;
}

/* Sends a fresh build through and waits for its status: every event published
 * before it has been handled once it comes. Returns the index of its request
 * and asserts that it is the last one. */
static size_t barrier(void)
{
    char build[32];
    snprintf(build, sizeof(build), "barrier%d", ++barriers);
    created(build, "gh", SHA2);
    for (size_t i = 0;; i++) {
        const sw_recorded *r = nth(i);
        if (is_for(r, build)) {
            ck_assert_msg(sw_recorder_count(rec) == i + 1, "%zu requests came after the barrier's",
                          sw_recorder_count(rec) - i - 1);
            return i;
        }
    }
}

/* Asserts request r is the status state/description on a GitHub-shaped API. */
static void assert_github(const sw_recorded *r, const char *build, const char *state,
                          const char *description)
{
    char link[128];
    snprintf(link, sizeof(link), "https://ci.example/builds/%s", build);
    ck_assert_str_eq(r->method, "POST");
    ck_assert_str_eq(r->url, "/gh/repos/acme/web/statuses/" SHA);
    ck_assert_str_eq(header(r, "Authorization"), "Bearer gh-token");
    ck_assert_str_eq(header(r, "Accept"), "application/vnd.github+json");
    ck_assert_str_eq(header(r, "User-Agent"), "slipway");
    ck_assert_str_eq(header(r, "Content-Type"), "application/json");
    ck_assert_str_eq(field(r, "state"), state);
    ck_assert_str_eq(field(r, "target_url"), link);
    ck_assert_str_eq(field(r, "context"), "slipway");
    if (description != NULL) {
        ck_assert_str_eq(field(r, "description"), description);
    }
}

/* --- the build's log ------------------------------------------------------- */

typedef struct inbox {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    sw_msg *msgs[32];
    int n;
    sw_sub *sub;
} inbox;

static void on_log(sw_msg *msg, void *closure)
{
    inbox *in = closure;
    pthread_mutex_lock(&in->mu);
    if (in->n < 32) {
        in->msgs[in->n++] = msg;
        msg = NULL;
    }
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->mu);
    sw_msg_release(&msg);
}

static void follow_log(inbox *in, const char *build)
{
    char filter[128];
    memset(in, 0, sizeof(*in));
    pthread_mutex_init(&in->mu, NULL);
    pthread_cond_init(&in->cond, NULL);
    snprintf(filter, sizeof(filter), "sw.logs.acme.%s", build);
    ck_assert_msg(sw_bus_follow(&in->sub, bus, SW_STREAM_LOGS, filter, 1, on_log, in) == 0, "%s",
                  sw_error_last());
}

/* The i-th chunk of the followed log (caller frees), waiting for it. */
static Slipway__LogChunk *await_chunk(inbox *in, int i)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&in->mu);
    while (in->n <= i) {
        if (pthread_cond_timedwait(&in->cond, &in->mu, &ts) != 0) {
            break;
        }
    }
    sw_msg *msg = i < in->n ? in->msgs[i] : NULL;
    pthread_mutex_unlock(&in->mu);
    ck_assert_msg(msg != NULL, "no log chunk %d came", i + 1);
    Slipway__LogChunk *c = slipway__log_chunk__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    ck_assert_ptr_nonnull(c);
    return c;
}

static void inbox_finish(inbox *in)
{
    sw_sub_destroy(&in->sub);
    for (int i = 0; i < in->n; i++) {
        sw_msg_release(&in->msgs[i]);
    }
    pthread_mutex_destroy(&in->mu);
    pthread_cond_destroy(&in->cond);
}

/* Asserts chunk is the notifier's one SYSTEM line, and returns its text. */
static const char *notifier_line(const Slipway__LogChunk *c, const char *build, uint64_t seq)
{
    ck_assert_str_eq(c->build_id, build);
    ck_assert_str_eq(c->tenant, "acme");
    ck_assert_uint_eq(c->attempt, SW_NOTIFIER_LOG_ATTEMPT);
    ck_assert_uint_eq(c->seq, seq);
    ck_assert(!c->eof);
    ck_assert_uint_eq(c->n_lines, 1);
    ck_assert_int_eq(c->lines[0]->stream, SLIPWAY__LOG_STREAM__SYSTEM);
    return c->lines[0]->text;
}

/* --- tests ----------------------------------------------------------------- */

START_TEST(test_github_gets_each_status_in_order)
{
    created("a1", "gh", SHA);
    assert_github(nth(0), "a1", "pending", "queued");
    started("a1", 1, "b1");
    assert_github(nth(1), "a1", "pending", "running on b1");
    step("a1", 1, "test", SLIPWAY__EVENT_KIND__STEP_STARTED); /* no new status */
    finished("a1", 1, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, NULL, NULL);
    const sw_recorded *r = nth(2);
    assert_github(r, "a1", "success", NULL);
    ck_assert_msg(strncmp(field(r, "description"), "succeeded in ", 13) == 0, "%s",
                  field(r, "description"));
    ck_assert_uint_eq(barrier(), 3);
}
END_TEST

START_TEST(test_every_forge_gets_its_own_request)
{
    static const struct {
        const char *project, *url, *auth_name, *auth, *state_key, *name_key, *name;
        const char *states[3];
    } forges[] = {
        {"gl",
         "/gl/api/v4/projects/group%2Fweb/statuses/" SHA,
         "PRIVATE-TOKEN",
         "gl-token",
         "state",
         "name",
         "slipway",
         {"pending", "running", "failed"}},
        {"gt",
         "/gt/api/v1/repos/acme/web/statuses/" SHA,
         "Authorization",
         "token gt-token",
         "state",
         "context",
         "slipway",
         {"pending", "pending", "failure"}},
        {"bb",
         "/bb/2.0/repositories/team/web/commit/" SHA "/statuses/build",
         "Authorization",
         "Bearer bb-token",
         "state",
         "key",
         "ci",
         {"INPROGRESS", "INPROGRESS", "FAILED"}},
        {"bbs",
         "/bbs/rest/build-status/1.0/commits/" SHA,
         "Authorization",
         "Bearer bbs-token",
         "state",
         "key",
         "slipway",
         {"INPROGRESS", "INPROGRESS", "FAILED"}},
    };
    static const char *const descriptions[] = {"queued", "running on b1",
                                               "failed at step 'test' (exit 1)"};
    size_t next = 0;
    for (size_t f = 0; f < sizeof(forges) / sizeof(forges[0]); f++) {
        const char *build = forges[f].project;
        for (int s = 0; s < 3; s++) {
            if (s == 0) {
                created(build, forges[f].project, SHA);
            } else if (s == 1) {
                started(build, 1, "b1");
            } else {
                finished(build, 1, SLIPWAY__BUILD_STATE__FAILED, 1, "test", NULL);
            }
            const sw_recorded *r = nth(next++);
            char link[128];
            snprintf(link, sizeof(link), "https://ci.example/builds/%s", build);
            ck_assert_str_eq(r->method, "POST");
            ck_assert_str_eq(r->url, forges[f].url);
            ck_assert_str_eq(header(r, forges[f].auth_name), forges[f].auth);
            ck_assert_str_eq(header(r, "User-Agent"), "slipway");
            ck_assert_str_eq(field(r, forges[f].state_key), forges[f].states[s]);
            ck_assert_str_eq(field(r, forges[f].name_key), forges[f].name);
            ck_assert_str_eq(field(r, "description"), descriptions[s]);
            ck_assert_str_eq(field(r, forges[f].project[0] == 'b' ? "url" : "target_url"), link);
        }
    }
    ck_assert_uint_eq(barrier(), next);
}
END_TEST

START_TEST(test_newest_status_wins)
{
    /* everything at once: statuses may be skipped, never reordered, and the last is the result */
    static const char *const order[] = {"queued", "running on b1",
                                        "failed at step 'lint' (exit 2)"};
    created("a1", "gh", SHA);
    started("a1", 1, "b1");
    step("a1", 1, "lint", SLIPWAY__EVENT_KIND__STEP_STARTED);
    finished("a1", 1, SLIPWAY__BUILD_STATE__FAILED, 2, "lint", NULL);
    size_t i = 0, last = 0;
    for (;; i++) {
        const sw_recorded *r = nth(i);
        const char *d = field(r, "description");
        size_t k = 0;
        while (k < 3 && strcmp(order[k], d) != 0) {
            k++;
        }
        ck_assert_msg(k < 3, "unexpected description '%s'", d);
        ck_assert_msg(i == 0 || k > last, "'%s' came after '%s'", d, order[last]);
        last = k;
        if (k == 2) {
            assert_github(r, "a1", "failure", NULL);
            break;
        }
    }
    ck_assert_uint_eq(barrier(), i + 1);
}
END_TEST

START_TEST(test_5xx_and_429_are_retried_with_backoff)
{
    sw_recorder_answer(rec, 1, 500, 0);
    sw_recorder_answer(rec, 1, 429, 0);
    created("a1", "gh", SHA);
    const sw_recorded *r0 = nth(0), *r1 = nth(1), *r2 = nth(2);
    ck_assert_int_eq(r0->status, 500);
    ck_assert_int_eq(r1->status, 429);
    ck_assert_int_eq(r2->status, 201);
    assert_github(r0, "a1", "pending", "queued");
    ck_assert_str_eq(r1->body, r0->body);
    ck_assert_str_eq(r2->body, r0->body);
    /* backoff 50 ms, then 100 ms */
    ck_assert_int_ge(r1->at_ms - r0->at_ms, 50);
    ck_assert_int_ge(r2->at_ms - r1->at_ms, 100);
    /* once it is set, the next status follows */
    finished("a1", 1, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, NULL, NULL);
    assert_github(nth(3), "a1", "success", NULL);
    ck_assert_uint_eq(barrier(), 4);
}
END_TEST

/* A counter of the notifier's in the process registry (registering the same
 * family again returns it). */
static double counted(const char *name, const char *const *labels, const char *const *values)
{
    return sw_metric_value(sw_metrics_counter(sw_metrics_process(), name, "", labels), values);
}

START_TEST(test_gives_up_after_the_attempts_and_says_so_in_the_log)
{
    inbox log;
    /* the registry lives as long as the process (CK_FORK=no runs every case in
     * one): what this case adds */
    double give_ups = counted("slipway_notifier_give_ups_total", (const char *[]){"forge", NULL},
                              (const char *[]){"github"});
    double tries = counted("slipway_notifier_status_attempts_total",
                           (const char *[]){"forge", "result", NULL},
                           (const char *[]){"github", "http_5xx"});
    follow_log(&log, "a1");
    sw_recorder_answer(rec, 3, 503, 0);
    created("a1", "gh", SHA);
    ck_assert(sw_recorder_wait(rec, 3, WAIT_MS));
    Slipway__LogChunk *c = await_chunk(&log, 0);
    ck_assert_str_eq(notifier_line(c, "a1", 1),
                     "notifier: could not set the github commit status 'pending': HTTP 503 "
                     "after 3 tries");
    slipway__log_chunk__free_unpacked(c, NULL);
    /* the line comes after the give-up and its tries were counted */
    ck_assert_double_eq(counted("slipway_notifier_give_ups_total", (const char *[]){"forge", NULL},
                                (const char *[]){"github"}),
                        give_ups + 1);
    ck_assert_double_eq(counted("slipway_notifier_status_attempts_total",
                                (const char *[]){"forge", "result", NULL},
                                (const char *[]){"github", "http_5xx"}),
                        tries + 3);
    /* no fourth try; the next status is sent as usual */
    ck_assert_uint_eq(barrier(), 3);
    finished("a1", 1, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, NULL, NULL);
    assert_github(nth(4), "a1", "success", NULL);
    inbox_finish(&log);
}
END_TEST

START_TEST(test_4xx_is_not_retried)
{
    inbox log;
    follow_log(&log, "a1");
    sw_recorder_answer(rec, 1, 422, 0);
    created("a1", "gh", SHA);
    assert_github(nth(0), "a1", "pending", "queued");
    Slipway__LogChunk *c = await_chunk(&log, 0);
    ck_assert_str_eq(notifier_line(c, "a1", 1),
                     "notifier: could not set the github commit status 'pending': HTTP 422 "
                     "(not retried)");
    slipway__log_chunk__free_unpacked(c, NULL);
    started("a1", 1, "b1");
    assert_github(nth(1), "a1", "pending", "running on b1");
    ck_assert_uint_eq(barrier(), 2);
    inbox_finish(&log);
}
END_TEST

START_TEST(test_timeout_is_retried)
{
    /* the forge answers after 1.5 s; the notifier waits 300 ms a request */
    sw_recorder_answer(rec, 1, 201, 1500);
    created("a1", "gh", SHA);
    const sw_recorded *r0 = nth(0), *r1 = nth(1);
    ck_assert_str_eq(r1->body, r0->body);
    /* the retry came while the first was still unanswered: the notifier gave up
     * waiting (after its 300 ms and the 50 ms backoff, less the time to connect) */
    ck_assert_int_lt(r1->at_ms - r0->at_ms, 1500);
    ck_assert_int_ge(r1->at_ms - r0->at_ms, 200);
    ck_assert_uint_eq(barrier(), 2);
}
END_TEST

START_TEST(test_refused_connection_is_retried_then_given_up)
{
    inbox log;
    follow_log(&log, "d1");
    created("d1", "down", SHA);
    Slipway__LogChunk *c = await_chunk(&log, 0);
    const char *text = notifier_line(c, "d1", 1);
    ck_assert_msg(
        strncmp(text, "notifier: could not set the github commit status 'pending': ", 60) == 0,
        "%s", text);
    ck_assert_msg(strstr(text, "onnect") != NULL && strstr(text, "after 3 tries") != NULL, "%s",
                  text);
    slipway__log_chunk__free_unpacked(c, NULL);
    inbox_finish(&log);
}
END_TEST

START_TEST(test_superseded_attempt_is_never_sent_after_a_newer_one)
{
    created("a1", "gh", SHA);
    assert_github(nth(0), "a1", "pending", "queued");
    /* attempt 1's running status hangs at the forge, then fails */
    sw_recorder_answer(rec, 1, 500, -1);
    started("a1", 1, "b1");
    assert_github(nth(1), "a1", "pending", "running on b1");
    /* meanwhile its builder is lost and attempt 2 starts elsewhere */
    lost("a1", 1);
    started("a1", 2, "b2");
    ck_assert_uint_eq(barrier(), 2); /* the notifier has folded attempt 2 */
    sw_recorder_release(rec);
    /* the 500 is not retried: the build asks for attempt 2's status now */
    assert_github(nth(3), "a1", "pending", "running on b2 (attempt 2)");
    /* attempt 1's late result changes nothing */
    finished("a1", 1, SLIPWAY__BUILD_STATE__FAILED, 1, "test", NULL);
    finished("a1", 2, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, NULL, NULL);
    assert_github(nth(4), "a1", "success", NULL);
    ck_assert_uint_eq(barrier(), 5);
    for (size_t i = 3; i < 5; i++) {
        const sw_recorded *r = sw_recorder_get(rec, i);
        ck_assert_msg(strstr(r->body, "b1") == NULL && strstr(r->body, "failure") == NULL,
                      "attempt 1 after attempt 2: %s", r->body);
    }
}
END_TEST

START_TEST(test_restart_does_not_resend)
{
    created("a1", "gh", SHA);
    started("a1", 1, "b1");
    ck_assert(sw_recorder_wait(rec, 1, WAIT_MS));
    /* wait for the running status, whichever request it is */
    size_t i = 0;
    while (strcmp(field(nth(i), "description"), "running on b1") != 0) {
        i++;
    }
    sw_actor_destroy(&actor);
    start_actor();
    ck_assert_uint_eq(barrier(), i + 1);
    /* the restarted notifier still knows the build */
    finished("a1", 1, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, NULL, NULL);
    assert_github(nth(i + 2), "a1", "success", NULL);
    sw_actor_destroy(&actor);
    start_actor();
    ck_assert_uint_eq(barrier(), i + 3);
}
END_TEST

START_TEST(test_status_in_flight_at_stop_is_sent_after_restart)
{
    /* held: the notifier stops (after its 1 s grace) before the answer */
    sw_recorder_answer(rec, 1, 201, -1);
    created("a1", "gh", SHA);
    const sw_recorded *r0 = nth(0);
    sw_actor_destroy(&actor);
    sw_recorder_release(rec);
    start_actor();
    const sw_recorded *r1 = nth(1);
    assert_github(r1, "a1", "pending", "queued");
    ck_assert_str_eq(r1->body, r0->body);
    ck_assert_uint_eq(barrier(), 2);
}
END_TEST

START_TEST(test_project_without_token_gets_nothing)
{
    created("n1", "notoken", SHA);
    created("p1", "plain", SHA);
    created("u1", "no-such-project", SHA);
    started("n1", 1, "b1");
    started("p1", 1, "b1");
    finished("n1", 1, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, NULL, NULL);
    finished("p1", 1, SLIPWAY__BUILD_STATE__FAILED, 1, "x", NULL);
    ck_assert_uint_eq(barrier(), 0);
}
END_TEST

START_TEST(test_build_without_sha_waits_for_it)
{
    /* a CLI build without a sha: only its result can be reported, on the sha it built */
    created("c1", "gh", "");
    started("c1", 1, "b1");
    finished("c1", 1, SLIPWAY__BUILD_STATE__SUCCEEDED, 0, NULL, SHA2);
    const sw_recorded *r = nth(0);
    ck_assert_str_eq(r->url, "/gh/repos/acme/web/statuses/" SHA2);
    ck_assert_str_eq(field(r, "state"), "success");
    ck_assert(is_for(r, "c1"));
    /* one whose sha never comes gets nothing */
    created("c2", "gh", "");
    finished("c2", 0, SLIPWAY__BUILD_STATE__ERRORED, 0, NULL, NULL);
    ck_assert_uint_eq(barrier(), 1);
}
END_TEST

/* --- the store ------------------------------------------------------------- */

static char *store_dir;

static void store_setup(void)
{
    store_dir = sw_test_tmpdir("sw-notifier-store");
}

static void store_teardown(void)
{
    sw_test_rmtree(store_dir);
    free(store_dir);
    store_dir = NULL;
}

static void put(sw_records *s, const char *id, int state, int64_t touched, uint64_t seq)
{
    sw_record r;
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    Slipway__Job job = SLIPWAY__JOB__INIT;
    sw_record_init(&r);
    job.project = "gh";
    job.sha = SHA;
    ev.build_id = (char *)id;
    ev.tenant = "acme";
    ev.kind = SLIPWAY__EVENT_KIND__CREATED;
    ev.job = &job;
    ck_assert_int_eq(sw_build_apply(&r.rec, &ev), SW_APPLY_CHANGED);
    r.rec.state = state;
    r.settled.kind = SW_STATUS_RUNNING;
    r.settled.attempt = 2;
    r.log_seq = 7;
    r.touched_ms = touched;
    ck_assert_msg(sw_records_put(s, &r, seq) == 0, "%s", sw_error_last());
    sw_record_clear(&r);
}

START_TEST(test_store_round_trip_and_seq_survive_reopen)
{
    sw_records *s = NULL;
    sw_record r;
    ck_assert_msg(sw_records_open(&s, store_dir) == 0, "%s", sw_error_last());
    ck_assert_uint_eq(sw_records_seq(s), 0);
    put(s, "aaaa", SLIPWAY__BUILD_STATE__RUNNING, 1234, 41);
    put(s, "bbbb", SLIPWAY__BUILD_STATE__QUEUED, 99, 0); /* seq 0: unchanged */
    ck_assert_uint_eq(sw_records_seq(s), 41);
    sw_records_destroy(&s);
    ck_assert_ptr_null(s);
    ck_assert_msg(sw_records_open(&s, store_dir) == 0, "%s", sw_error_last());
    ck_assert_uint_eq(sw_records_seq(s), 41);
    sw_record_init(&r);
    ck_assert_int_eq(sw_records_get(s, "aaaa", &r), 0);
    ck_assert_str_eq(r.rec.build_id, "aaaa");
    ck_assert_str_eq(r.rec.project, "gh");
    ck_assert_str_eq(r.rec.sha, SHA);
    ck_assert_int_eq(r.rec.state, SLIPWAY__BUILD_STATE__RUNNING);
    ck_assert_int_eq(r.settled.kind, SW_STATUS_RUNNING);
    ck_assert_uint_eq(r.settled.attempt, 2);
    ck_assert_uint_eq(r.log_seq, 7);
    ck_assert_int_eq(r.touched_ms, 1234);
    sw_record_clear(&r);
    ck_assert_int_eq(sw_records_get(s, "aaa", &r), SW_ENOTFOUND);
    ck_assert_int_eq(sw_records_set_seq(s, 50), 0);
    ck_assert_uint_eq(sw_records_seq(s), 50);
    sw_records_destroy(&s);
    sw_records_destroy(&s); /* safe twice */
}
END_TEST

static bool drop_old(const sw_record *r, void *closure)
{
    int *seen = closure;
    (*seen)++;
    return r->touched_ms < 1000;
}

START_TEST(test_store_scan_deletes_what_it_is_told)
{
    sw_records *s = NULL;
    sw_record r;
    int seen = 0;
    ck_assert_msg(sw_records_open(&s, store_dir) == 0, "%s", sw_error_last());
    put(s, "old1", SLIPWAY__BUILD_STATE__SUCCEEDED, 10, 1);
    put(s, "new1", SLIPWAY__BUILD_STATE__SUCCEEDED, 5000, 2);
    put(s, "old2", SLIPWAY__BUILD_STATE__FAILED, 20, 3);
    put(s, "new2", SLIPWAY__BUILD_STATE__RUNNING, 6000, 4);
    ck_assert_int_eq(sw_records_scan(s, drop_old, &seen), 0);
    ck_assert_int_eq(seen, 4);
    sw_record_init(&r);
    ck_assert_int_eq(sw_records_get(s, "old1", &r), SW_ENOTFOUND);
    ck_assert_int_eq(sw_records_get(s, "old2", &r), SW_ENOTFOUND);
    ck_assert_int_eq(sw_records_get(s, "new1", &r), 0);
    sw_record_clear(&r);
    ck_assert_int_eq(sw_records_get(s, "new2", &r), 0);
    sw_record_clear(&r);
    seen = 0;
    ck_assert_int_eq(sw_records_scan(s, drop_old, &seen), 0);
    ck_assert_int_eq(seen, 2);
    sw_records_destroy(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("notifier");
    TCase *store = tcase_create("store");
    tcase_add_checked_fixture(store, store_setup, store_teardown);
    tcase_add_test(store, test_store_round_trip_and_seq_survive_reopen);
    tcase_add_test(store, test_store_scan_deletes_what_it_is_told);
    suite_add_tcase(s, store);

    TCase *tc = tcase_create("actor");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_github_gets_each_status_in_order);
    tcase_add_test(tc, test_every_forge_gets_its_own_request);
    tcase_add_test(tc, test_newest_status_wins);
    tcase_add_test(tc, test_5xx_and_429_are_retried_with_backoff);
    tcase_add_test(tc, test_gives_up_after_the_attempts_and_says_so_in_the_log);
    tcase_add_test(tc, test_4xx_is_not_retried);
    tcase_add_test(tc, test_refused_connection_is_retried_then_given_up);
    tcase_add_test(tc, test_superseded_attempt_is_never_sent_after_a_newer_one);
    tcase_add_test(tc, test_restart_does_not_resend);
    tcase_add_test(tc, test_status_in_flight_at_stop_is_sent_after_restart);
    tcase_add_test(tc, test_project_without_token_gets_nothing);
    tcase_add_test(tc, test_build_without_sha_waits_for_it);
    suite_add_tcase(s, tc);

    TCase *slow = tcase_create("timeout");
    tcase_add_checked_fixture(slow, setup_short_timeout, teardown);
    tcase_set_timeout(slow, 60);
    tcase_add_test(slow, test_timeout_is_retried);
    suite_add_tcase(s, slow);
    return sw_test_run(s);
}
