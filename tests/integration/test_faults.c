/*
 * test_faults.c - the faults that once lost or stuck builds, injected the way
 * an operator meets them: a builder frozen (SIGSTOP) past its lapse and woken
 * (SIGCONT) while its successor runs; a poison job whose builder a supervisor
 * restarts at once, or that stays down.
 *
 * Core actors run in one slipwayd, each builder in its own. Heartbeats are
 * fast (250 ms, lapse 2 s). Results are counted by a witness of the test's own
 * (witness.h): FINISHED events by msg-id, and JOBS' own message count.
 */
#include "harness.h"
#include "support.h"
#include "witness.h"

#include "runtime/wire.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each line says which attempt printed it. */
#define LONG_PIPELINE                                                                             \
    "steps:\n"                                                                                    \
    "  - name: long\n"                                                                            \
    "    run: |\n"                                                                                \
    "      for i in $(seq 1 16); do echo \"tick $i of attempt $SLIPWAY_ATTEMPT\"; sleep 0.5; "     \
    "done\n"

#define QUICK_PIPELINE                                                                            \
    "steps:\n"                                                                                    \
    "  - name: quick\n"                                                                           \
    "    run: echo quick and done\n"

#define OUTAGE_PIPELINE                                                                           \
    "steps:\n"                                                                                    \
    "  - name: through\n"                                                                         \
    "    run: |\n"                                                                                \
    "      echo before the outage\n"                                                             \
    "      sleep 2\n"                                                                             \
    "      for i in $(seq 1 500); do echo \"during the outage $i\"; done\n"

static sw_harness *start(int max_deliveries)
{
    sw_harness_options opts = {
        .builders = 2,
        .slots = 1,
        .heartbeat_interval = "250ms",
        .heartbeat_lapse = "2s",
        .max_deliveries = max_deliveries,
    };
    sw_harness *h = sw_harness_create(&opts);
    sw_harness_repo_pipeline(h, "demo", LONG_PIPELINE);
    sw_harness_repo_pipeline(h, "quick", QUICK_PIPELINE);
    sw_harness_repo_pipeline(h, "outage", OUTAGE_PIPELINE);
    sw_harness_start(h, "scheduler", "dispatcher", "logsink", NULL);
    return h;
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

/* The log of builder `name` (all of it, of every run) contains needle, within timeout_ms. */
static bool await_builder_log(sw_harness *h, const char *name, const char *needle,
                              int timeout_ms)
{
    char path[4096];
    long long deadline = sw_harness_now_ms() + timeout_ms;
    snprintf(path, sizeof(path), "%s/%s.log", sw_harness_dir(h), name);
    for (;;) {
        char *log = sw_test_read_file(path, NULL);
        bool found = log != NULL && strstr(log, needle) != NULL;
        free(log);
        if (found || sw_harness_now_ms() >= deadline) {
            return found;
        }
        usleep(50 * 1000);
    }
}

/* Waits until no step of builder `name` runs any more: a shell step's bwrap names its
 * workspace, under the builder's work_dir, on its command line. */
static bool await_no_step_of(sw_harness *h, const char *name, int timeout_ms)
{
    char marker[4096];
    snprintf(marker, sizeof(marker), "%s/work/%s/ws/", sw_harness_dir(h), name);
    return sw_harness_await_no_processes(marker, timeout_ms);
}

/* No line of attempt `stale` comes after the first line of attempt `later`. */
static void assert_no_stale_lines(const char *log, int stale, int later)
{
    char first_later[64], stale_line[64];
    snprintf(first_later, sizeof(first_later), "attempt %d on builder", later);
    snprintf(stale_line, sizeof(stale_line), "of attempt %d\n", stale);
    const char *from = strstr(log, first_later);
    ck_assert_msg(from != NULL, "no attempt %d in the log:\n%s", later, log);
    ck_assert_msg(strstr(from, stale_line) == NULL,
                  "a line of attempt %d after attempt %d started:\n%s", stale, later, log);
}

START_TEST(test_frozen_builder_wakes_up_superseded)
{
    sw_harness *h = start(3);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    int b1 = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *id = sw_harness_submit(h, "demo", NULL);
    sw_harness_proc *follow = sw_harness_spawn(h, "logs", "-f", id, NULL);

    ck_assert_msg(sw_harness_proc_await(follow, "tick 2 of attempt 1", 30000),
                  "attempt 1 never ran:\n%s", sw_harness_proc_output(follow));
    int b2 = sw_harness_start_more(h, "builder-2", "builder:builder-2", NULL);

    /* builder-1 freezes; its step goes on under bwrap, as on a frozen host */
    sw_harness_signal(h, b1, SIGSTOP);
    ck_assert_msg(sw_harness_proc_await(follow, "tick 1 of attempt 2", 20000),
                  "attempt 2 did not start within the lapse:\n%s", sw_harness_proc_output(follow));
    ck_assert_msg(strstr(sw_harness_proc_output(follow), "attempt 2 on builder builder-2") != NULL,
                  "attempt 2 is not on builder-2:\n%s", sw_harness_proc_output(follow));

    /* it wakes up: it must find itself superseded and stop its step at once */
    sw_harness_signal(h, b1, SIGCONT);
    long long woke = sw_harness_now_ms();
    ck_assert_msg(await_builder_log(h, "builder-1", "attempt 1 superseded by attempt 2 on builder-2",
                                    5000),
                  "the woken builder does not say it was superseded");
    long long said = sw_harness_now_ms() - woke;
    ck_assert_msg(await_no_step_of(h, "builder-1", 5000),
                  "the superseded attempt's step still runs on builder-1");
    printf("faults: woken builder said superseded %lld ms after SIGCONT, its step gone after "
           "%lld ms\n", said, sw_harness_now_ms() - woke);

    /* attempt 2's builder dies: the job must still be there to run again */
    ck_assert_msg(sw_harness_proc_await(follow, "tick 3 of attempt 2", 20000),
                  "attempt 2 stopped:\n%s", sw_harness_proc_output(follow));
    sw_harness_kill(h, b2);
    long long killed = sw_harness_now_ms();
    ck_assert_msg(sw_harness_proc_await(follow, "tick 1 of attempt 3", 30000),
                  "attempt 3 never ran:\n%s", sw_harness_proc_output(follow));
    printf("faults: attempt 3 started %lld ms after attempt 2's builder was killed (lapse 2 s)\n",
           sw_harness_now_ms() - killed);

    sw_harness_result res;
    sw_harness_proc_finish(&follow, &res, 90000);
    ck_assert_msg(res.status == 0, "logs -f exited %d:\n%s\n%s", res.status, res.out, res.err);
    ck_assert_msg(strstr(res.out, "attempt 3 on builder builder-1") != NULL,
                  "attempt 3 did not run on builder-1:\n%s", res.out);
    ck_assert_msg(strstr(res.out, "tick 16 of attempt 3") != NULL, "attempt 3 did not finish:\n%s",
                  res.out);
    assert_no_stale_lines(res.out, 1, 2);
    ck_assert_int_eq(count_of(res.out, "build succeeded"), 1);

    /* the archive says the same */
    sw_harness_result logs;
    sw_harness_cli(h, &logs, 30000, "logs", id, NULL);
    ck_assert_int_eq(logs.status, 0);
    assert_no_stale_lines(logs.out, 1, 2);
    ck_assert_int_eq(count_of(logs.out, "build succeeded"), 1);
    ck_assert_ptr_nonnull(strstr(logs.out, "tick 16 of attempt 3"));

    /* one result, attempt 3's; the job left JOBS */
    ck_assert_int_eq(sw_witness_finished(w, id, 3000), 1);
    ck_assert_uint_eq(sw_witness_finished_attempt(w, id), 3);
    ck_assert_uint_eq(sw_witness_await_count(w, SW_STREAM_JOBS, 0, 5000), 0);
    char *state = sw_harness_show_field(h, id, "state", NULL);
    char *attempt = sw_harness_show_field(h, id, "attempt", NULL);
    ck_assert_str_eq(state, "succeeded");
    ck_assert_str_eq(attempt, "3");

    free(state);
    free(attempt);
    sw_harness_result_finish(&logs);
    sw_harness_result_finish(&res);
    free(id);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

/* The last line the log prints (stdout), without its newline. */
static const char *last_line(char *out)
{
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '\n') {
        out[--n] = '\0';
    }
    char *nl = strrchr(out, '\n');
    return nl ? nl + 1 : out;
}

/* A poison job: every attempt's builder dies (SIGKILL) as soon as it starts
 * the build; with restart, a supervisor starts it again at once. */
static void poison(bool restart)
{
    enum { MAX = 3 };
    sw_harness *h = start(MAX);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    int b1 = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *id = sw_harness_submit(h, "demo", NULL);
    sw_harness_proc *follow = sw_harness_spawn(h, "logs", "-f", id, NULL);

    long long last_kill = 0;
    for (int a = 1; a <= MAX; a++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "tick 1 of attempt %d", a);
        ck_assert_msg(sw_harness_proc_await(follow, needle, 30000), "attempt %d never ran:\n%s",
                      a, sw_harness_proc_output(follow));
        last_kill = sw_harness_now_ms();
        if (restart || a < MAX) {
            sw_harness_restart_more(h, b1);
        } else {
            sw_harness_kill(h, b1);
        }
    }

    sw_harness_result res;
    sw_harness_proc_finish(&follow, &res, 60000);
    printf("faults: poison job (builder %s) errored %lld ms after its last attempt's builder "
           "was killed\n", restart ? "restarted at once" : "staying down",
           sw_harness_now_ms() - last_kill);
    ck_assert_msg(res.status == 3, "logs -f exited %d, not 3 (errored):\n%s\n%s", res.status,
                  res.out, res.err);
    ck_assert_ptr_null(strstr(res.out, "of attempt 4"));
    char reason[64];
    snprintf(reason, sizeof(reason), "[slipway] gave up after %d attempts", MAX);
    sw_harness_result logs;
    sw_harness_cli(h, &logs, 30000, "logs", id, NULL);
    ck_assert_int_eq(logs.status, 0);
    const char *last = last_line(logs.out);
    ck_assert_msg(strncmp(last, reason, strlen(reason)) == 0,
                  "the archived log does not end with the reason; its last line: '%s'", last);
    last = last_line(res.out);
    ck_assert_msg(strncmp(last, reason, strlen(reason)) == 0,
                  "logs -f does not end with the reason; its last line: '%s'", last);

    char *state = sw_harness_show_field(h, id, "state", NULL);
    char *attempt = sw_harness_show_field(h, id, "attempt", NULL);
    ck_assert_str_eq(state, "errored");
    ck_assert_str_eq(attempt, "3");
    ck_assert_int_eq(sw_witness_finished(w, id, 3000), 1);
    ck_assert_uint_eq(sw_witness_await_count(w, SW_STREAM_JOBS, 0, 10000), 0);

    /* the cluster goes on building */
    if (!restart) {
        sw_harness_restart_more(h, b1);
    }
    char *next = sw_harness_submit(h, "quick", NULL);
    char *next_state = sw_harness_await_final(h, next, 60000);
    ck_assert_str_eq(next_state, "succeeded");
    ck_assert_int_eq(sw_witness_finished(w, next, 3000), 1);

    free(next_state);
    free(next);
    free(state);
    free(attempt);
    sw_harness_result_finish(&logs);
    sw_harness_result_finish(&res);
    free(id);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}

START_TEST(test_poison_job_with_builder_restarted_at_once)
{
    poison(true);
}
END_TEST

START_TEST(test_poison_job_with_builder_staying_down)
{
    poison(false);
}
END_TEST

/* How long NATS stays away: SLIPWAY_TEST_OUTAGE_S, default 180 s (3 minutes,
 * well past the old 33 s give-up, the lapse and every ack wait). */
static int outage_s(void)
{
    const char *v = getenv("SLIPWAY_TEST_OUTAGE_S");
    return v != NULL && atoi(v) > 0 ? atoi(v) : 180;
}

START_TEST(test_result_made_during_an_outage_arrives_after_it)
{
    sw_harness *h = start(3);
    int b1 = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *id = sw_harness_submit(h, "outage", NULL);
    sw_harness_proc *follow = sw_harness_spawn(h, "logs", "-f", id, NULL);
    ck_assert_msg(sw_harness_proc_await(follow, "before the outage", 30000),
                  "the build never started:\n%s", sw_harness_proc_output(follow));
    sw_harness_result res;
    sw_harness_proc_finish(&follow, &res, 1); /* followers are not what this is about */
    sw_harness_result_finish(&res);

    sw_harness_nats_stop(h);
    long long stopped = sw_harness_now_ms();
    /* the build ends while NATS is away: its step goes with its end */
    ck_assert_msg(await_no_step_of(h, "builder-1", 30000),
                  "the build did not end during the outage");
    long long left = outage_s() * 1000LL - (sw_harness_now_ms() - stopped);
    if (left > 0) {
        usleep((useconds_t)left * 1000); /* the outage itself: what the test is about */
    }
    sw_harness_nats_restart(h);
    printf("faults: NATS away for %lld s\n", (sw_harness_now_ms() - stopped) / 1000);

    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    long long back = sw_harness_now_ms();
    char *state = sw_harness_await_final(h, id, 60000);
    ck_assert_str_eq(state, "succeeded");
    printf("faults: the result made during the outage arrived %lld ms after NATS was back\n",
           sw_harness_now_ms() - back);
    char *attempt = sw_harness_show_field(h, id, "attempt", NULL);
    ck_assert_str_eq(attempt, "1"); /* no re-run */
    ck_assert_int_eq(sw_witness_finished(w, id, 3000), 1);
    ck_assert_uint_eq(sw_witness_await_count(w, SW_STREAM_JOBS, 0, 10000), 0);

    sw_harness_result logs;
    sw_harness_cli(h, &logs, 30000, "logs", id, NULL);
    ck_assert_int_eq(logs.status, 0);
    ck_assert_ptr_nonnull(strstr(logs.out, "before the outage\n"));
    for (int i = 1; i <= 500; i++) {
        char line[64];
        snprintf(line, sizeof(line), "\nduring the outage %d\n", i);
        ck_assert_msg(strstr(logs.out, line) != NULL, "line %d of the outage is lost:\n%s", i,
                      logs.out);
    }
    ck_assert_ptr_null(strstr(logs.out, "attempt 2"));
    ck_assert_int_eq(count_of(logs.out, "build succeeded"), 1);
    ck_assert_msg(!await_builder_log(h, "builder-1", "superseded", 0), "the attempt was superseded");
    (void)b1;

    sw_harness_result_finish(&logs);
    free(state);
    free(attempt);
    free(id);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_frozen_builder_wakes_up_superseded);
    tcase_add_test(tc, test_poison_job_with_builder_restarted_at_once);
    tcase_add_test(tc, test_poison_job_with_builder_staying_down);
    suite_add_tcase(s, tc);
    TCase *outage = tcase_create("outage");
    tcase_set_timeout(outage, outage_s() + 180);
    tcase_add_test(outage, test_result_made_during_an_outage_arrives_after_it);
    suite_add_tcase(s, outage);
    return sw_test_run(s);
}
