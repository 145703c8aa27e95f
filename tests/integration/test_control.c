/*
 * test_control.c - cancel, retry and superseded builds, end to end.
 *
 * Real nats-server, git daemon and slipwayd; a builder that the test freezes
 * runs in its own slipwayd. A step's script holds a marker, so its processes
 * are found on the host (sandboxed or in a container); an independent witness
 * counts STARTED and FINISHED events by msg-id. Each cancel is timed from the
 * command to the record saying cancelled and to the step's processes being
 * gone; the figures are printed (SLIPWAY_TEST_CANCEL_ROUNDS rounds, default 10).
 */
#include "harness.h"
#include "recorder.h"
#include "support.h"
#include "witness.h"

#include "actors/builder/exec/docker_api.h"
#include "bus/bus.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARKER "control-marker-51c2"
#define LONG_PIPELINE                                                                             \
    "steps:\n"                                                                                    \
    "  - name: long\n"                                                                            \
    "    run: |\n"                                                                                \
    "      # " MARKER "\n"                                                                        \
    "      i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo tick $i; sleep 0.5; done\n"
#define QUICK_PIPELINE                                                                            \
    "steps:\n"                                                                                    \
    "  - name: quick\n"                                                                           \
    "    run: echo quick-done\n"
#define SHORT_PIPELINE                                                                            \
    "steps:\n"                                                                                    \
    "  - name: short\n"                                                                           \
    "    run: |\n"                                                                                \
    "      echo short-start; sleep 2; echo short-done\n"
#define BUILD_TIMEOUT_MS 90000

static char *field(sw_harness *h, const char *id, const char *key)
{
    char *v = sw_harness_show_field(h, id, key, NULL);
    return v ? v : strdup("");
}

/* Waits for `show` to say state; fails the test with what it said instead. */
static void await_state(sw_harness *h, const char *id, const char *want, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    char *state = NULL;
    for (;;) {
        free(state);
        state = field(h, id, "state");
        if (strcmp(state, want) == 0 || sw_harness_now_ms() >= deadline) {
            break;
        }
        usleep(20 * 1000);
    }
    ck_assert_msg(strcmp(state, want) == 0, "build %s is %s after %d ms, not %s", id, state,
                  timeout_ms, want);
    free(state);
}

static char *log_of(sw_harness *h, const char *id)
{
    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "logs", id, NULL);
    char *out = res.out;
    res.out = NULL;
    sw_harness_result_finish(&res);
    return out ? out : strdup("");
}

static int cancel(sw_harness *h, const char *id, const char *reason, char **err_out)
{
    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "cancel", id, "--reason", reason, NULL);
    int status = res.status;
    if (err_out != NULL) {
        *err_out = res.err;
        res.err = NULL;
    }
    sw_harness_result_finish(&res);
    return status;
}

/* --- a queued build, an ended one, a duplicate delivery --------------------- */

START_TEST(test_cancel_queued_build_never_runs)
{
    sw_harness_options o = {.builders = 1, .slots = 1};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "demo", LONG_PIPELINE);
    sw_harness_repo_pipeline(h, "quick", QUICK_PIPELINE);
    sw_harness_start(h, "scheduler", "dispatcher", "logsink", NULL); /* no builder yet */
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));

    char *id = sw_harness_submit(h, "demo", NULL);
    /* placed on the cluster's queue, where no builder takes it */
    sw_witness_expect_messages(h, SW_STREAM_JOBS, 1, 30000);
    char *err = NULL;
    ck_assert_int_eq(cancel(h, id, "not wanted", &err), 0);
    free(err);
    await_state(h, id, "cancelled", 10000);
    char *reason = field(h, id, "reason");
    ck_assert_msg(strstr(reason, "cancelled by ") && strstr(reason, ": not wanted"),
                  "reason: '%s'", reason);
    free(reason);

    /* a repeated cancel is answered the same way (idempotent) */
    ck_assert_int_eq(cancel(h, id, "again", NULL), 0);

    /* a builder comes: the job is dropped when pulled, never run */
    sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    sw_witness_expect_messages(h, SW_STREAM_JOBS, 0, 30000);

    /* a duplicate of its job (at-least-once) is dropped too */
    sw_bus *bus = NULL;
    sw_bus_options bo = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000};
    sw_harness_as_operator(&bo);
    ck_assert_int_eq(sw_bus_connect(&bus, &bo), 0);
    Slipway__Job job = SLIPWAY__JOB__INIT;
    job.build_id = id;
    job.tenant = "demo";
    job.project = "demo";
    job.tier = "free";
    job.region = "local";
    job.cluster = "local-free";
    job.ref = "main";
    ck_assert_int_eq(sw_wire_js_publish(bus, "sw.jobs.local-free", &job.base, "dup-job", NULL),
                     0);
    sw_witness_expect_messages(h, SW_STREAM_JOBS, 0, 30000);
    sw_bus_destroy(&bus);

    ck_assert_int_eq(sw_witness_started(w, id, 2000), 0);
    ck_assert_int_eq(sw_witness_finished(w, id, 500), 1);
    ck_assert_int_eq(sw_harness_count_processes(MARKER), 0);
    char *log = log_of(h, id);
    ck_assert_msg(strstr(log, "tick") == NULL, "the build ran:\n%s", log);
    ck_assert_msg(strstr(log, "not wanted") != NULL, "no reason in the log:\n%s", log);
    free(log);

    /* an ended build: a clear answer and its own exit code */
    char *done = sw_harness_submit(h, "quick", NULL);
    await_state(h, done, "succeeded", BUILD_TIMEOUT_MS);
    ck_assert_int_eq(cancel(h, done, "too late", &err), 9);
    ck_assert_msg(strstr(err, "already succeeded") != NULL, "stderr: %s", err);
    free(err);
    char *state = field(h, done, "state");
    ck_assert_str_eq(state, "succeeded");
    free(state);
    ck_assert_int_eq(cancel(h, "nosuchbuild1", "x", NULL), 6);

    free(done);
    free(id);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

/* --- running builds: the cancel's latency ---------------------------------- */

static int rounds(void)
{
    const char *env = getenv("SLIPWAY_TEST_CANCEL_ROUNDS");
    int n = env ? atoi(env) : 10;
    return n > 0 ? n : 10;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* Containers of build id the engine still has (running or not). */
static int containers_of(const char *id)
{
    sw_docker *d = NULL;
    char path[256], *body = NULL;
    ck_assert_msg(sw_docker_open(&d, NULL) == 0, "%s", sw_error_last());
    snprintf(path, sizeof(path),
             "/containers/json?all=true&filters=%%7B%%22label%%22%%3A%%5B%%22slipway.build%%3D%s"
             "%%22%%5D%%7D",
             id);
    sw_docker_req req = {.method = "GET", .path = path, .timeout_ms = 10000};
    int status = sw_docker_call(d, &req, &body);
    ck_assert_msg(status == 200, "docker: %d %s", status, body ? body : sw_error_last());
    int n = 0;
    for (const char *p = body; (p = strstr(p, "\"Id\"")) != NULL; p += 4) {
        n++;
    }
    free(body);
    sw_docker_close(&d);
    return n;
}

/* Runs rounds() builds of demo, cancels each once its step runs, and prints
 * the time from the command to the record saying cancelled and to the step's
 * processes (and containers) being gone. */
static void cancel_running_rounds(sw_harness *h, const char *what, bool docker)
{
    int n = rounds();
    long long *to_state = calloc((size_t)n, sizeof(long long));
    long long *to_gone = calloc((size_t)n, sizeof(long long));
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));

    for (int i = 0; i < n; i++) {
        char *id = sw_harness_submit(h, "demo", NULL);
        sw_harness_proc *logs = sw_harness_spawn(h, "logs", "-f", id, NULL);
        ck_assert_msg(sw_harness_proc_await(logs, "tick 2", BUILD_TIMEOUT_MS),
                      "build %s never ran:\n%s", id, sw_harness_proc_output(logs));
        ck_assert_int_gt(sw_harness_count_processes(MARKER), 0);
        if (docker) {
            ck_assert_int_eq(containers_of(id), 1);
        }
        long long t0 = sw_harness_now_ms();
        ck_assert_int_eq(cancel(h, id, "round", NULL), 0);
        await_state(h, id, "cancelled", 15000);
        to_state[i] = sw_harness_now_ms() - t0;
        ck_assert_msg(sw_harness_await_no_processes(MARKER, 15000),
                      "the step of %s still runs 15 s after its cancel", id);
        long long deadline = sw_harness_now_ms() + 15000;
        while (docker && containers_of(id) > 0 && sw_harness_now_ms() < deadline) {
            usleep(20 * 1000);
        }
        to_gone[i] = sw_harness_now_ms() - t0;
        if (docker) {
            ck_assert_msg(containers_of(id) == 0, "the container of %s is still there", id);
        }

        sw_harness_result res;
        sw_harness_proc_finish(&logs, &res, 30000);
        ck_assert_msg(res.status == 5, "logs -f exited %d, not 5 (cancelled):\n%s\n%s",
                      res.status, res.out, res.err);
        ck_assert_msg(strstr(res.out, "cancelled by ") != NULL, "who/why not in the log:\n%s",
                      res.out);
        sw_harness_result_finish(&res);
        ck_assert_int_eq(sw_witness_finished(w, id, 1000), 1);
        char *state = field(h, id, "state");
        ck_assert_str_eq(state, "cancelled");
        free(state);
        fprintf(stderr, "control: %s cancel %d/%d of %s: cancelled after %lld ms, step gone "
                "after %lld ms\n", what, i + 1, n, id, to_state[i], to_gone[i]);
        free(id);
    }
    qsort(to_state, (size_t)n, sizeof(long long), cmp_ll);
    qsort(to_gone, (size_t)n, sizeof(long long), cmp_ll);
    fprintf(stderr, "control: %s cancel over %d builds: to cancelled p50 %lld ms max %lld ms; "
            "to step gone p50 %lld ms max %lld ms\n", what, n, to_state[n / 2], to_state[n - 1],
            to_gone[n / 2], to_gone[n - 1]);
    free(to_state);
    free(to_gone);
    sw_witness_destroy(&w);
}

/* Entries of directory path (not . and ..). */
static int entries(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *de;
    int n = 0;
    ck_assert_msg(dir != NULL, "cannot open %s", path);
    while ((de = readdir(dir)) != NULL) {
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    }
    closedir(dir);
    return n;
}

START_TEST(test_cancel_running_shell_build)
{
    sw_harness_options o = {.builders = 1, .slots = 2};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "demo", LONG_PIPELINE);
    sw_harness_start(h, NULL);
    cancel_running_rounds(h, "shell", false);
    /* nothing of the builds is left in the builder's work_dir (no outbox, no build
     * directory) but ws/, the project's workspaces kept for its next builds */
    char path[4096], kept[4200];
    snprintf(path, sizeof(path), "%s/work/builder-1", sw_harness_dir(h));
    snprintf(kept, sizeof(kept), "%s/ws", path);
    int left = -1;
    for (long long deadline = sw_harness_now_ms() + 10000;
         (left = entries(path)) != 1 && sw_harness_now_ms() < deadline;) {
        usleep(50 * 1000);
    }
    ck_assert_msg(left == 1 && access(kept, F_OK) == 0, "%d entries left in %s", left, path);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_cancel_running_docker_build)
{
    sw_harness_options o = {.builders = 1, .slots = 2, .executor = "docker",
                            .tier_memory = "128M"};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "demo", LONG_PIPELINE);
    sw_harness_start(h, NULL);
    cancel_running_rounds(h, "docker", true);
    sw_harness_destroy(&h);
}
END_TEST

/* --- a cancel while the builder is cut off --------------------------------- */

START_TEST(test_cancel_while_builder_is_frozen)
{
    sw_harness_options o = {.builders = 1, .slots = 1, .heartbeat_interval = "250ms",
                            .heartbeat_lapse = "10s"};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "demo", LONG_PIPELINE);
    sw_harness_start(h, "scheduler", "dispatcher", "logsink", NULL);
    int b = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));

    char *id = sw_harness_submit(h, "demo", NULL);
    sw_harness_proc *logs = sw_harness_spawn(h, "logs", "-f", id, NULL);
    ck_assert_msg(sw_harness_proc_await(logs, "tick 2", BUILD_TIMEOUT_MS), "never ran:\n%s",
                  sw_harness_proc_output(logs));
    sw_harness_signal(h, b, SIGSTOP);

    /* the scheduler decides at once; the frozen builder cannot stop its step */
    ck_assert_int_eq(cancel(h, id, "while frozen", NULL), 0);
    await_state(h, id, "cancelled", 5000);
    ck_assert_int_gt(sw_harness_count_processes(MARKER), 0);

    /* back: it reads its fence, finds the build decided and stops the step */
    long long t0 = sw_harness_now_ms();
    sw_harness_signal(h, b, SIGCONT);
    ck_assert_msg(sw_harness_await_no_processes(MARKER, 10000),
                  "the step still runs 10 s after its builder woke up");
    fprintf(stderr, "control: frozen builder's step gone %lld ms after SIGCONT\n",
            sw_harness_now_ms() - t0);

    sw_harness_result res;
    sw_harness_proc_finish(&logs, &res, 30000);
    ck_assert_msg(res.status == 5, "logs -f exited %d:\n%s\n%s", res.status, res.out, res.err);
    ck_assert_ptr_nonnull(strstr(res.out, "while frozen"));
    sw_harness_result_finish(&res);
    ck_assert_int_eq(sw_witness_started(w, id, 1000), 1);
    ck_assert_int_eq(sw_witness_finished(w, id, 1000), 1);
    /* nothing of it is left in JOBS for a redelivery */
    sw_witness_expect_messages(h, SW_STREAM_JOBS, 0, 10000);
    char *state = field(h, id, "state");
    ck_assert_str_eq(state, "cancelled");
    free(state);
    free(id);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

/* --- the forge hears of it ------------------------------------------------- */

START_TEST(test_cancel_sets_the_forge_status)
{
    sw_recorder *forge = NULL;
    ck_assert_int_eq(sw_recorder_start(&forge), 0);
    sw_harness_options o = {.builders = 1, .slots = 1, .forge_api_url = sw_recorder_url(forge)};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "demo", LONG_PIPELINE);
    sw_harness_start(h, NULL);
    char *sha = sw_harness_repo_sha(h, "demo", "main");
    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "submit", "--project", "demo", "--sha", sha, NULL);
    ck_assert_msg(res.status == 0, "submit: %s", res.err);
    char id[64];
    ck_assert_int_eq(sscanf(res.out, "%63s", id), 1);
    sw_harness_result_finish(&res);
    sw_harness_proc *logs = sw_harness_spawn(h, "logs", "-f", id, NULL);
    ck_assert_msg(sw_harness_proc_await(logs, "tick 1", BUILD_TIMEOUT_MS), "never ran:\n%s",
                  sw_harness_proc_output(logs));
    ck_assert_int_eq(cancel(h, id, "forge", NULL), 0);
    sw_harness_proc_finish(&logs, &res, 30000);
    ck_assert_int_eq(res.status, 5);
    sw_harness_result_finish(&res);

    /* GitHub: state error, described as cancelled, for the commit built */
    bool seen = false;
    for (long long deadline = sw_harness_now_ms() + 30000; !seen && sw_harness_now_ms() < deadline;) {
        size_t n = sw_recorder_count(forge);
        for (size_t i = 0; i < n && !seen; i++) {
            const sw_recorded *r = sw_recorder_get(forge, i);
            seen = strstr(r->url, sha) != NULL && strstr(r->body, "\"state\":\"error\"") &&
                   strstr(r->body, "cancelled");
        }
        if (!seen) {
            sw_recorder_wait(forge, n + 1, 500);
        }
    }
    ck_assert_msg(seen, "no 'error: cancelled' status among %zu requests (last: %s)",
                  sw_recorder_count(forge),
                  sw_recorder_count(forge)
                      ? sw_recorder_get(forge, sw_recorder_count(forge) - 1)->body
                      : "none");
    free(sha);
    sw_harness_destroy(&h);
    sw_recorder_destroy(&forge);
}
END_TEST

/* --- retry ------------------------------------------------------------------ */

START_TEST(test_retry_builds_the_same_commit_again)
{
    sw_harness_options o = {.builders = 1, .slots = 2};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "quick", QUICK_PIPELINE);
    sw_harness_start(h, NULL);

    char *first = sw_harness_submit(h, "quick", NULL);
    await_state(h, first, "succeeded", BUILD_TIMEOUT_MS);
    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "retry", first, NULL);
    ck_assert_msg(res.status == 0, "retry exited %d: %s", res.status, res.err);
    char second[64];
    ck_assert_int_eq(sscanf(res.out, "%63s", second), 1);
    sw_harness_result_finish(&res);
    ck_assert_str_ne(second, first);
    await_state(h, second, "succeeded", BUILD_TIMEOUT_MS);

    char *retry_of = field(h, second, "retry_of");
    char *sha1 = field(h, first, "sha"), *sha2 = field(h, second, "sha");
    char *ref1 = field(h, first, "ref"), *ref2 = field(h, second, "ref");
    ck_assert_str_eq(retry_of, first);
    ck_assert_str_eq(sha2, sha1);
    ck_assert_str_eq(ref2, ref1);
    sw_harness_cli(h, &res, 30000, "builds", NULL);
    const char *line = strstr(res.out, second);
    ck_assert_ptr_nonnull(line);
    const char *eol = strchr(line, '\n');
    ck_assert_msg(strstr(line, first) != NULL && strstr(line, first) < eol,
                  "builds does not show what %s retries:\n%s", second, res.out);
    sw_harness_result_finish(&res);

    sw_harness_cli(h, &res, 30000, "retry", "nosuchbuild1", NULL);
    ck_assert_int_eq(res.status, 6);
    sw_harness_result_finish(&res);
    free(retry_of);
    free(sha1);
    free(sha2);
    free(ref1);
    free(ref2);
    free(first);
    sw_harness_destroy(&h);
}
END_TEST

/* --- superseded builds ------------------------------------------------------ */

START_TEST(test_newer_push_cancels_older_builds_of_its_branch)
{
    static const sw_harness_file files[] = {{".slipway.yml", SHORT_PIPELINE}, {NULL, NULL}};
    sw_harness_options o = {.builders = 1, .slots = 1, .cancel_superseded = true};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "demo", SHORT_PIPELINE);
    sw_harness_repo_branch(h, "demo", "a", files);
    sw_harness_repo_branch(h, "demo", "b", files);
    sw_harness_start(h, NULL);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));

    char *one = sw_harness_submit(h, "demo", "refs/heads/main");
    char *two = sw_harness_submit(h, "demo", "refs/heads/main");
    char *three = sw_harness_submit(h, "demo", "refs/heads/main");
    await_state(h, three, "succeeded", BUILD_TIMEOUT_MS);
    await_state(h, one, "cancelled", 5000);
    await_state(h, two, "cancelled", 5000);
    char *r1 = field(h, one, "reason"), *r2 = field(h, two, "reason");
    ck_assert_msg(strstr(r1, "superseded by build ") != NULL, "reason of %s: %s", one, r1);
    ck_assert_msg(strstr(r2, "superseded by build ") && strstr(r2, three),
                  "reason of %s: %s", two, r2);
    ck_assert_int_eq(sw_witness_finished(w, one, 1000), 1);
    ck_assert_int_eq(sw_witness_finished(w, two, 500), 1);
    ck_assert_int_eq(sw_witness_finished(w, three, 500), 1);

    /* two branches: nothing is cancelled */
    char *on_a = sw_harness_submit(h, "demo", "refs/heads/a");
    char *on_b = sw_harness_submit(h, "demo", "refs/heads/b");
    await_state(h, on_a, "succeeded", BUILD_TIMEOUT_MS);
    await_state(h, on_b, "succeeded", BUILD_TIMEOUT_MS);

    free(r1);
    free(r2);
    free(one);
    free(two);
    free(three);
    free(on_a);
    free(on_b);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_without_cancel_superseded_every_push_builds)
{
    sw_harness_options o = {.builders = 1, .slots = 2};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "demo", SHORT_PIPELINE);
    sw_harness_start(h, NULL);
    char *one = sw_harness_submit(h, "demo", "refs/heads/main");
    char *two = sw_harness_submit(h, "demo", "refs/heads/main");
    await_state(h, one, "succeeded", BUILD_TIMEOUT_MS);
    await_state(h, two, "succeeded", BUILD_TIMEOUT_MS);
    free(one);
    free(two);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("control");
    TCase *tc = tcase_create("cancel and retry");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_cancel_queued_build_never_runs);
    tcase_add_test(tc, test_cancel_running_shell_build);
    tcase_add_test(tc, test_cancel_running_docker_build);
    tcase_add_test(tc, test_cancel_while_builder_is_frozen);
    tcase_add_test(tc, test_cancel_sets_the_forge_status);
    tcase_add_test(tc, test_retry_builds_the_same_commit_again);
    tcase_add_test(tc, test_newer_push_cancels_older_builds_of_its_branch);
    tcase_add_test(tc, test_without_cancel_superseded_every_push_builds);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
