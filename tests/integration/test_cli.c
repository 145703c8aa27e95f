/*
 * test_cli.c - what `slipway` prints: show, builds and --json of a recorded set
 * of builds compared byte for byte to tests/golden/, the paging of builds past
 * the scheduler's 500 an answer, logs --timestamps and --step (of a log put
 * into LOGS and archived by a real logsink), submit of a ref the repository
 * lacks, lint and --version.
 *
 * The builds are a fixture of BuildEvents with fixed at_ms published into
 * EVENTS, folded by a real scheduler; TZ=UTC and SLIPWAY_NOW_MS fix the clock
 * the CLI reads, so "so far" durations are fixed too. SLIPWAY_UPDATE_GOLDEN=1
 * writes the golden files instead of comparing (then read them, and commit).
 */
#include "harness.h"
#include "support.h"

#include "bus/bus.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1796291400000LL /* 2026-12-03 09:50:00 UTC */
#define NOW (T0 + 600000)  /* what the CLI takes for now: 10 minutes later */
#define CLI_MS 30000
#define APPLY_MS 30000

#define SHA1 "4f3c2b1a09f8e7d6c5b4a3928170f6e5d4c3b2a1"
#define SHA2 "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"

static sw_bus *connect_bus(sw_harness *h)
{
    sw_bus *bus = NULL;
    sw_bus_options o = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000};
    sw_harness_as_operator(&o);
    ck_assert_msg(sw_bus_connect(&bus, &o) == 0, "%s", sw_error_last());
    return bus;
}

static void publish(sw_bus *bus, Slipway__BuildEvent *ev)
{
    static int n;
    char subject[160], msg_id[64];
    sw_subject(subject, sizeof(subject), "sw.events", ev->tenant, ev->build_id);
    snprintf(msg_id, sizeof(msg_id), "fixture-%d", ++n);
    ck_assert_msg(sw_wire_js_publish(bus, subject, &ev->base, msg_id, NULL) == 0, "%s",
                  sw_error_last());
}

static Slipway__BuildEvent event(const char *build, int kind, unsigned attempt, long long at)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.build_id = (char *)build;
    ev.tenant = "demo";
    ev.kind = kind;
    ev.attempt = attempt;
    ev.at_ms = T0 + at;
    return ev;
}

/* CREATED of build: project, ref, sha ("" when a branch's is not known), the
 * request's forge, pr and retry_of. */
static void created(sw_bus *bus, const char *build, const char *project, const char *ref,
                    const char *sha, const char *forge, unsigned pr, const char *retry_of,
                    long long at)
{
    Slipway__Job job = SLIPWAY__JOB__INIT;
    Slipway__BuildRequest req = SLIPWAY__BUILD_REQUEST__INIT;
    Slipway__BuildEvent ev = event(build, SLIPWAY__EVENT_KIND__CREATED, 0, at);
    char request_id[64];
    snprintf(request_id, sizeof(request_id), "%s:%s", forge, build);
    job.build_id = (char *)build;
    job.tenant = "demo";
    job.project = (char *)project;
    job.tier = "free";
    job.ref = (char *)ref;
    job.sha = (char *)sha;
    req.request_id = request_id;
    req.tenant = "demo";
    req.project = (char *)project;
    req.ref = (char *)ref;
    req.forge = (char *)forge;
    req.author = "ada";
    req.pr_number = pr;
    req.retry_of = (char *)retry_of;
    ev.job = &job;
    ev.request = &req;
    publish(bus, &ev);
}

static void placed(sw_bus *bus, const char *build, long long at)
{
    Slipway__BuildEvent ev = event(build, SLIPWAY__EVENT_KIND__PLACED, 0, at);
    ev.cluster = "local-free";
    ev.region = "local";
    ev.reason = "pinned by the project's region";
    publish(bus, &ev);
}

static void started(sw_bus *bus, const char *build, long long at, const char *sha)
{
    Slipway__BuildEvent ev = event(build, SLIPWAY__EVENT_KIND__STARTED, 1, at);
    ev.builder = "builder-1";
    ev.cluster = "local-free";
    publish(bus, &ev);
    if (sha != NULL) {
        Slipway__BuildEvent co = event(build, SLIPWAY__EVENT_KIND__CHECKED_OUT, 1, at + 1500);
        co.builder = "builder-1";
        co.sha = (char *)sha;
        publish(bus, &co);
    }
}

static void step(sw_bus *bus, const char *build, const char *name, long long at)
{
    Slipway__BuildEvent ev = event(build, SLIPWAY__EVENT_KIND__STEP_STARTED, 1, at);
    ev.builder = "builder-1";
    ev.step = (char *)name;
    publish(bus, &ev);
}

static void finished(sw_bus *bus, const char *build, unsigned attempt, int state,
                     const char *step_name, int exit_code, const char *reason, const char *sha,
                     long long at)
{
    Slipway__BuildEvent ev = event(build, SLIPWAY__EVENT_KIND__FINISHED, attempt, at);
    ev.builder = attempt ? "builder-1" : "";
    ev.state = state;
    ev.step = (char *)step_name;
    ev.exit_code = exit_code;
    ev.reason = (char *)reason;
    ev.sha = (char *)sha;
    publish(bus, &ev);
}

/* The recorded set: one build of each kind people look at. The last event
 * published is gold00000007's CREATED: once show finds it, the scheduler has
 * folded everything before it (EVENTS is applied in order). */
static void record_fixture(sw_bus *bus)
{
    /* a push of main that succeeded: its sha known from its checkout on */
    created(bus, "gold00000001", "web", "refs/heads/main", "", "github", 0, "", 0);
    placed(bus, "gold00000001", 400);
    started(bus, "gold00000001", 2000, SHA1);
    step(bus, "gold00000001", "test", 4000);
    finished(bus, "gold00000001", 1, SLIPWAY__BUILD_STATE__SUCCEEDED, "test", 0,
             "", SHA1, 74000);
    /* slipway submit --ref main (the bare name) whose step failed */
    created(bus, "gold00000002", "web", "main", SHA2, "cli", 0, "", 100000);
    placed(bus, "gold00000002", 100300);
    started(bus, "gold00000002", 101000, SHA2);
    step(bus, "gold00000002", "test", 103000);
    finished(bus, "gold00000002", 1, SLIPWAY__BUILD_STATE__FAILED, "test", 2,
             "step test exited 2", SHA2, 3725000 + 100000);
    /* a pull request that errored before any step: no exit code */
    created(bus, "gold00000003", "web", "refs/pull/7/head", "", "github", 7, "", 200000);
    placed(bus, "gold00000003", 200200);
    started(bus, "gold00000003", 201000, SHA1);
    finished(bus, "gold00000003", 1, SLIPWAY__BUILD_STATE__ERRORED, "", 0,
             "no .slipway.yml in the repository at " SHA1, SHA1, 203500);
    /* a tag's build cancelled while it waited: no builder, no exit code */
    created(bus, "gold00000004", "web", "refs/tags/v1.2", "", "github", 0, "", 300000);
    finished(bus, "gold00000004", 0, SLIPWAY__BUILD_STATE__CANCELLED, "", 0,
             "cancelled by ada@host: wrong commit", "", 312000);
    /* a retry of gold00000002, running: durations so far */
    created(bus, "gold00000005", "web", "main", SHA2, "cli", 0, "gold00000002", 400000);
    placed(bus, "gold00000005", 400100);
    started(bus, "gold00000005", 401000, SHA2);
    step(bus, "gold00000005", "test", 402000);
    /* a step that ran out of time */
    created(bus, "gold00000006", "api", "refs/heads/slow", "", "github", 0, "", 450000);
    placed(bus, "gold00000006", 450500);
    started(bus, "gold00000006", 451000, SHA2);
    step(bus, "gold00000006", "soak", 452000);
    finished(bus, "gold00000006", 1, SLIPWAY__BUILD_STATE__TIMED_OUT, "soak", 137,
             "step soak timed out after 1m", SHA2, 512400);
    /* waiting for a builder */
    created(bus, "gold00000007", "api", "refs/heads/main", "", "cli", 0, "", 590000);
}

static char *golden_path(const char *name)
{
    const char *src = getenv("SLIPWAY_SOURCE_DIR");
    char *path = NULL;
    ck_assert_msg(src != NULL, "SLIPWAY_SOURCE_DIR is not set (meson test sets it)");
    ck_assert_int_gt(asprintf(&path, "%s/tests/golden/%s", src, name), 0);
    return path;
}

/* The command's stdout is golden/name, byte for byte, and it exits want. */
static void expect_golden(sw_harness *h, const char *name, int want, ...)
{
    const char *argv[16] = {0};
    int argc = 0;
    va_list ap;
    va_start(ap, want);
    while (argc < 15 && (argv[argc] = va_arg(ap, const char *)) != NULL) {
        argc++;
    }
    va_end(ap);
    argv[argc] = NULL;

    sw_harness_result res;
    sw_harness_cli(h, &res, CLI_MS, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5],
                   argv[6], NULL);
    char *path = golden_path(name);
    if (getenv("SLIPWAY_UPDATE_GOLDEN") != NULL) {
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(res.out, f);
        fclose(f);
    }
    char *want_out = sw_test_read_file(path, NULL);
    ck_assert_msg(want_out != NULL, "no %s (SLIPWAY_UPDATE_GOLDEN=1 writes it)", path);
    ck_assert_msg(strcmp(res.out, want_out) == 0,
                  "slipway %s %s ... differs from %s:\n--- got ---\n%s--- want ---\n%s"
                  "(stderr: %s)",
                  argv[0], argv[1] ? argv[1] : "", path, res.out, want_out, res.err);
    ck_assert_msg(res.status == want, "slipway %s %s exited %d, not %d (stderr: %s)", argv[0],
                  argv[1] ? argv[1] : "", res.status, want, res.err);
    free(want_out);
    free(path);
    sw_harness_result_finish(&res);
}

static sw_harness *start_scheduler_and(const char *more)
{
    ck_assert_int_eq(setenv("TZ", "UTC", 1), 0);
    char now[32];
    snprintf(now, sizeof(now), "%lld", NOW);
    ck_assert_int_eq(setenv("SLIPWAY_NOW_MS", now, 1), 0);
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_start(h, "scheduler", more, NULL);
    return h;
}

static sw_harness *start_scheduler(void)
{
    return start_scheduler_and(NULL);
}

/* Until show finds build (bounded). */
static void await_recorded(sw_harness *h, const char *build)
{
    long long deadline = sw_harness_now_ms() + APPLY_MS;
    for (;;) {
        int status = 0;
        char *state = sw_harness_show_field(h, build, "state", &status);
        bool found = state != NULL;
        free(state);
        if (found) {
            return;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline, "the scheduler has no %s after %d ms",
                      build, APPLY_MS);
        usleep(50 * 1000);
    }
}

START_TEST(test_golden_outputs)
{
    sw_harness *h = start_scheduler();
    sw_bus *bus = connect_bus(h);
    record_fixture(bus);
    await_recorded(h, "gold00000007");

    /* show: exits with the build's result, as logs -f; 0 while it has not ended */
    expect_golden(h, "show-succeeded.txt", 0, "show", "gold00000001", NULL);
    expect_golden(h, "show-failed.txt", 1, "show", "gold00000002", NULL);
    expect_golden(h, "show-errored.txt", 3, "show", "gold00000003", NULL);
    expect_golden(h, "show-cancelled.txt", 5, "show", "gold00000004", NULL);
    expect_golden(h, "show-running.txt", 0, "show", "gold00000005", NULL);
    expect_golden(h, "show-timed-out.txt", 4, "show", "gold00000006", NULL);
    expect_golden(h, "show-queued.txt", 0, "show", "gold00000007", NULL);
    expect_golden(h, "show-succeeded.json", 0, "show", "--json", "gold00000001", NULL);
    expect_golden(h, "show-running.json", 0, "show", "--json", "gold00000005", NULL);

    expect_golden(h, "builds.txt", 0, "builds", NULL);
    expect_golden(h, "builds.json", 0, "builds", "--json", "--limit", "3", NULL);
    /* filters, applied by the scheduler: either form of a ref matches */
    expect_golden(h, "builds-ref-main.txt", 0, "builds", "--ref", "main", NULL);
    expect_golden(h, "builds-ref-main.txt", 0, "builds", "--ref", "refs/heads/main", NULL);
    expect_golden(h, "builds-project-api.txt", 0, "builds", "--project", "api", NULL);
    expect_golden(h, "builds-failed-web.txt", 0, "builds", "--state", "failed", "--project",
                  "web", NULL);

    sw_harness_result res;
    sw_harness_cli(h, &res, CLI_MS, "builds", "--state", "nosuch", NULL);
    ck_assert_int_eq(res.status, 2);
    ck_assert_ptr_nonnull(strstr(res.err, "slipway builds: no state 'nosuch'"));
    sw_harness_result_finish(&res);
    sw_harness_cli(h, &res, CLI_MS, "builds", "--x", NULL);
    ck_assert_int_eq(res.status, 2);
    ck_assert_ptr_nonnull(strstr(res.err, "slipway builds: unrecognized option '--x'"));
    sw_harness_result_finish(&res);

    sw_bus_destroy(&bus);
    sw_harness_destroy(&h);
}
END_TEST

/* Count of lines of out that hold needle. */
static int lines_with(const char *out, const char *needle)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

START_TEST(test_builds_past_a_page_are_paged)
{
    enum { BUILDS = 620 };
    sw_harness *h = start_scheduler();
    sw_bus *bus = connect_bus(h);
    char id[16], last[16] = "";
    for (int i = 0; i < BUILDS; i++) {
        snprintf(id, sizeof(id), "page%08d", i);
        created(bus, id, "many", "refs/heads/main", "", "cli", 0, "", i);
        snprintf(last, sizeof(last), "%s", id);
    }
    await_recorded(h, last);

    sw_harness_result res;
    /* more than one answer's 500: every one asked for comes, none twice */
    sw_harness_cli(h, &res, CLI_MS, "builds", "--project", "many", "--limit", "600", NULL);
    ck_assert_msg(res.status == 0, "builds: %s", res.err);
    ck_assert_int_eq(lines_with(res.out, "\npage"), 600);
    ck_assert_ptr_nonnull(strstr(res.out, "page00000619")); /* newest first */
    ck_assert_ptr_nonnull(strstr(res.out, "page00000020"));
    ck_assert_ptr_null(strstr(res.out, "page00000019"));
    sw_harness_result_finish(&res);
    /* a limit past what there is: all of them, and the JSON says the same */
    sw_harness_cli(h, &res, CLI_MS, "builds", "--limit", "5000", "--json", NULL);
    ck_assert_msg(res.status == 0, "builds: %s", res.err);
    ck_assert_int_eq(lines_with(res.out, "\"id\": \"page"), BUILDS);
    sw_harness_result_finish(&res);

    sw_bus_destroy(&bus);
    sw_harness_destroy(&h);
}
END_TEST

/* One chunk of gold00000008's log, attempt 1: lines of (stream, text), at T0 + at + i. */
static void log_chunk(sw_bus *bus, uint64_t seq, bool eof, long long at, int n,
                      const int *streams, const char *const *texts)
{
    Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
    Slipway__LogLine lines[8], *ptrs[8];
    char msg_id[64];
    ck_assert_int_le(n, 8);
    for (int i = 0; i < n; i++) {
        slipway__log_line__init(&lines[i]);
        lines[i].stream = streams[i];
        lines[i].text = (char *)texts[i];
        lines[i].at_ms = T0 + at + i * 250;
        ptrs[i] = &lines[i];
    }
    chunk.build_id = "gold00000008";
    chunk.tenant = "demo";
    chunk.attempt = 1;
    chunk.seq = seq;
    chunk.lines = ptrs;
    chunk.n_lines = (size_t)n;
    chunk.eof = eof;
    chunk.state = eof ? SLIPWAY__BUILD_STATE__SUCCEEDED : 0;
    snprintf(msg_id, sizeof(msg_id), "gold00000008.1.%llu", (unsigned long long)seq);
    ck_assert_msg(sw_wire_js_publish(bus, "sw.logs.demo.gold00000008", &chunk.base, msg_id, NULL) ==
                      0,
                  "%s", sw_error_last());
}

START_TEST(test_logs_timestamps_and_step)
{
    enum { SYS = SLIPWAY__LOG_STREAM__SYSTEM, OUT = SLIPWAY__LOG_STREAM__STDOUT };
    sw_harness *h = start_scheduler_and("logsink");
    sw_bus *bus = connect_bus(h);
    created(bus, "gold00000008", "web", "refs/heads/main", "", "cli", 0, "", 0);
    started(bus, "gold00000008", 1000, SHA1);
    log_chunk(bus, 1, false, 1000, 4, (const int[]){SYS, SYS, SYS, OUT},
              (const char *const[]){"fetching git://x/web.git main", "step 1/2 build",
                                    "$ make", "built"});
    log_chunk(bus, 2, false, 5000, 4, (const int[]){SYS, SYS, OUT, OUT},
              (const char *const[]){"step 2/2 test", "$ make test", "ok 1", "ok 2"});
    log_chunk(bus, 3, true, 9000, 1, (const int[]){SYS},
              (const char *const[]){"build succeeded"});
    finished(bus, "gold00000008", 1, SLIPWAY__BUILD_STATE__SUCCEEDED, "test", 0, "", SHA1,
             9500);

    /* until the logsink has archived the last chunk (bounded) */
    long long deadline = sw_harness_now_ms() + APPLY_MS;
    for (;;) {
        sw_harness_result res;
        sw_harness_cli(h, &res, CLI_MS, "logs", "gold00000008", NULL);
        bool all = res.status == 0 && strstr(res.out, "build succeeded") != NULL;
        sw_harness_result_finish(&res);
        if (all) {
            break;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline, "the log was not archived in %d ms",
                      APPLY_MS);
        usleep(50 * 1000);
    }
    expect_golden(h, "logs-timestamps.txt", 0, "logs", "--timestamps", "gold00000008", NULL);
    expect_golden(h, "logs-step-build.txt", 0, "logs", "--step", "build", "gold00000008", NULL);
    expect_golden(h, "logs-step-test.txt", 0, "logs", "-t", "--step", "test", "gold00000008",
                  NULL);

    sw_harness_result res;
    sw_harness_cli(h, &res, CLI_MS, "logs", "--step", "deploy", "gold00000008", NULL);
    ck_assert_int_eq(res.status, 6);
    ck_assert_str_eq(res.out, "");
    ck_assert_ptr_nonnull(strstr(res.err, "has no step 'deploy'"));
    sw_harness_result_finish(&res);

    sw_bus_destroy(&bus);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_submit_of_a_missing_ref_fails_at_once)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "demo", "steps:\n  - name: only\n    run: 'true'\n");
    sw_harness_start(h, "scheduler", NULL); /* no builder: the CLI's own check answers */
    sw_harness_result res;
    static const char *const missing[] = {"nosuchbranch", "refs/heads/nosuchbranch"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        long long t0 = sw_harness_now_ms();
        sw_harness_cli(h, &res, CLI_MS, "submit", "--project", "demo", "--ref", missing[i], NULL);
        long long took = sw_harness_now_ms() - t0;
        ck_assert_msg(res.status == 6, "submit --ref %s exited %d: %s", missing[i], res.status,
                      res.err);
        ck_assert_msg(strstr(res.err, "nosuchbranch does not exist in the repository of "
                                      "project demo") != NULL,
                      "submit says: %s", res.err);
        ck_assert_str_eq(res.out, ""); /* no build id: nothing was stored */
        ck_assert_msg(took < 3000, "submit --ref %s took %lld ms", missing[i], took);
        sw_harness_result_finish(&res);
    }
    /* what exists goes through, as a branch's name or its full ref */
    char *id = sw_harness_submit(h, "demo", "main");
    free(id);
    id = sw_harness_submit(h, "demo", "refs/heads/main");
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_builders_json)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_start(h, NULL); /* builder-1 among the actors */
    long long deadline = sw_harness_now_ms() + APPLY_MS;
    json_t *builders = NULL;
    for (;;) { /* until the scheduler has heard builder-1's heartbeat (bounded) */
        sw_harness_result res;
        sw_harness_cli(h, &res, CLI_MS, "builders", "--json", NULL);
        ck_assert_msg(res.status == 0, "builders --json: %s", res.err);
        builders = json_loads(res.out, 0, NULL);
        ck_assert_msg(json_is_array(builders), "builders --json printed: %s", res.out);
        sw_harness_result_finish(&res);
        if (json_array_size(builders) > 0) {
            break;
        }
        json_decref(builders);
        ck_assert_msg(sw_harness_now_ms() < deadline, "no builder in %d ms", APPLY_MS);
        usleep(100 * 1000);
    }
    json_t *b = json_array_get(builders, 0);
    ck_assert_str_eq(json_string_value(json_object_get(b, "name")), "builder-1");
    ck_assert_str_eq(json_string_value(json_object_get(b, "state")), "up");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "slots")), 2);
    ck_assert(json_is_array(json_object_get(b, "builds")));
    ck_assert(json_integer_value(json_object_get(b, "last_seen_ms")) > 0);
    const char *seen = json_string_value(json_object_get(b, "last_seen"));
    ck_assert_msg(seen != NULL && strlen(seen) == 24 && seen[10] == 'T' && seen[23] == 'Z',
                  "last_seen is '%s', not ISO-8601", seen ? seen : "(null)");
    json_decref(builders);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_sha_is_known_while_the_build_runs)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "demo", "steps:\n  - name: wait\n    run: sleep 60\n");
    char *head = sw_harness_repo_sha(h, "demo", "main");
    sw_harness_start(h, NULL);
    char *id = sw_harness_submit(h, "demo", "main"); /* a branch: no sha in the request */
    long long deadline = sw_harness_now_ms() + APPLY_MS;
    for (;;) { /* CHECKED_OUT: the record has the commit before the step ends */
        char *state = sw_harness_show_field(h, id, "state", NULL);
        char *sha = sw_harness_show_field(h, id, "sha", NULL);
        bool known = sha != NULL && sha[0] != '\0';
        ck_assert_msg(!known || strcmp(sha, head) == 0, "sha %s, the branch is at %s", sha, head);
        ck_assert_msg(state == NULL || strcmp(state, "succeeded") != 0, "the step did not wait");
        bool running = state != NULL && strcmp(state, "running") == 0;
        free(state);
        free(sha);
        if (known && running) {
            break;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline, "no sha in %s's record in %d ms", id,
                      APPLY_MS);
        usleep(50 * 1000);
    }
    sw_harness_result res;
    sw_harness_cli(h, &res, CLI_MS, "cancel", id, NULL);
    ck_assert_msg(res.status == 0, "cancel: %s", res.err);
    sw_harness_result_finish(&res);
    free(id);
    free(head);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_lint)
{
    char *dir = sw_test_tmpdir("sw-lint");
    char good[4096], bad[4096];
    snprintf(good, sizeof(good), "%s/.slipway.yml", dir);
    snprintf(bad, sizeof(bad), "%s/bad.yml", dir);
    sw_test_write_file(good, "steps:\n"
                             "  - name: test\n"
                             "    run: make test\n");
    sw_test_write_file(bad, "steps:\n"
                            "  - name: test\n"
                            "    run: make test\n"
                            "  - name: test\n"
                            "    run: make again\n");
    sw_harness *h = sw_harness_create(NULL); /* lint needs no NATS; the harness runs the CLI */
    sw_harness_result res;
    sw_harness_cli(h, &res, CLI_MS, "lint", good, NULL);
    ck_assert_msg(res.status == 0, "lint of a good file exited %d: %s", res.status, res.err);
    ck_assert_ptr_nonnull(strstr(res.out, ": ok, 1 step"));
    sw_harness_result_finish(&res);

    sw_harness_cli(h, &res, CLI_MS, "lint", bad, NULL);
    ck_assert_msg(res.status == 1, "lint of a bad file exited %d", res.status);
    /* the parser's own message: the file, the line of the second "test", what is wrong */
    char where[4200];
    snprintf(where, sizeof(where), "%s:4:", bad);
    ck_assert_msg(strstr(res.err, where) != NULL && strstr(res.err, "test") != NULL,
                  "lint says: %s", res.err);
    sw_harness_result_finish(&res);

    snprintf(bad, sizeof(bad), "%s/none.yml", dir);
    sw_harness_cli(h, &res, CLI_MS, "lint", bad, NULL);
    ck_assert_int_eq(res.status, 6);
    sw_harness_result_finish(&res);
    sw_harness_destroy(&h);
    sw_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_version)
{
    static const char *const programs[] = {"slipway", "slipwayd", "slipway-admin"};
    const char *build = getenv("SLIPWAY_BUILD_DIR");
    ck_assert_ptr_nonnull(build);
    for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
        char cmd[4096], out[256] = "", want[64];
        snprintf(cmd, sizeof(cmd), "%s/tools/%s --version", build, programs[i]);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        size_t n = fread(out, 1, sizeof(out) - 1, p);
        out[n] = '\0';
        ck_assert_int_eq(pclose(p), 0);
        snprintf(want, sizeof(want), "%s %s\n", programs[i], SW_VERSION);
        ck_assert_str_eq(out, want);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_golden_outputs);
    tcase_add_test(tc, test_builds_past_a_page_are_paged);
    tcase_add_test(tc, test_logs_timestamps_and_step);
    tcase_add_test(tc, test_submit_of_a_missing_ref_fails_at_once);
    tcase_add_test(tc, test_builders_json);
    tcase_add_test(tc, test_sha_is_known_while_the_build_runs);
    tcase_add_test(tc, test_lint);
    tcase_add_test(tc, test_version);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
