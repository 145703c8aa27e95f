/*
 * test_bounds.c - waits for NATS are bounded.
 *
 * `slipway logs -f` gives up (status 7) after --nats-wait without NATS and says
 * why, once; an outage shorter than that costs it no line. slipwayd waiting for
 * NATS at start stops at once on SIGTERM or SIGINT, as after any clean stop.
 */
#include "harness.h"
#include "support.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NLINES 24
/* About 6 s of output, one numbered line every 250 ms. */
#define PIPELINE                                                                                  \
    "steps:\n"                                                                                    \
    "  - name: count\n"                                                                           \
    "    run: |\n"                                                                                \
    "      for i in $(seq 1 24); do echo \"count line $i\"; sleep 0.25; done\n"

static int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static sw_harness *start(void)
{
    sw_harness_options opts = {0};
    sw_harness *h = sw_harness_create(&opts);
    sw_harness_repo_pipeline(h, "demo", PIPELINE);
    sw_harness_start(h, NULL);
    return h;
}

START_TEST(test_logs_follow_gives_up_after_nats_wait)
{
    sw_harness *h = start();
    char *id = sw_harness_submit(h, "demo", NULL);
    sw_harness_proc *logs = sw_harness_spawn(h, "--nats-wait", "2s", "logs", "-f", id, NULL);
    ck_assert_msg(sw_harness_proc_await(logs, "count line 2", 30000),
                  "the build's second line never came:\n%s", sw_harness_proc_output(logs));

    long long stopped_at = sw_harness_now_ms();
    sw_harness_nats_stop(h);
    sw_harness_result res;
    sw_harness_proc_finish(&logs, &res, 2000 + 3000);
    long long took = sw_harness_now_ms() - stopped_at;
    fprintf(stderr, "bounds: logs -f gave up %lld ms after nats-server was stopped\n", took);

    ck_assert_msg(res.status == 7, "logs -f exited %d, not 7, %lld ms after NATS went:\n%s",
                  res.status, took, res.err);
    ck_assert_msg(took >= 2000, "gave up after %lld ms, before --nats-wait 2s", took);
    ck_assert_msg(strstr(res.err, "no NATS at nats://127.0.0.1:") != NULL &&
                      strstr(res.err, "for 2s; giving up") != NULL &&
                      strstr(res.err, "slipway logs -f") != NULL,
                  "stderr does not say what happened and what to do:\n%s", res.err);
    ck_assert_msg(occurrences(res.err, "Missed Server Heartbeat") <= 1,
                  "heartbeat noise:\n%s", res.err);
    ck_assert_msg(occurrences(res.err, "lost NATS") == 1, "not one line about the loss:\n%s",
                  res.err);

    /* as the message says, the build went on */
    sw_harness_nats_restart(h);
    char *state = sw_harness_await_final(h, id, 60000);
    ck_assert_str_eq(state, "succeeded");

    free(state);
    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_logs_follow_survives_a_short_outage_and_misses_nothing)
{
    sw_harness *h = start();
    char *id = sw_harness_submit(h, "demo", NULL);
    sw_harness_proc *logs = sw_harness_spawn(h, "--nats-wait", "20s", "logs", "-f", id, NULL);
    ck_assert_msg(sw_harness_proc_await(logs, "count line 3", 30000),
                  "the build's third line never came:\n%s", sw_harness_proc_output(logs));

    sw_harness_nats_stop(h);
    ck_assert_msg(sw_harness_proc_await_stderr(logs, "lost NATS", 5000),
                  "logs -f did not notice NATS going away within 5 s");
    sw_harness_nats_restart(h);

    sw_harness_result res;
    sw_harness_proc_finish(&logs, &res, 60000);
    ck_assert_msg(res.status == 0, "logs -f exited %d, not 0:\n%s\n%s", res.status, res.out,
                  res.err);
    /* every line the step printed, once, in order */
    const char *at = res.out;
    for (int i = 1; i <= NLINES; i++) {
        char line[64];
        snprintf(line, sizeof(line), "count line %d\n", i);
        const char *found = strstr(at, line);
        ck_assert_msg(found != NULL, "'count line %d' missing or out of order:\n%s", i, res.out);
        ck_assert_msg(occurrences(res.out, line) == 1, "'count line %d' printed %d times:\n%s",
                      i, occurrences(res.out, line), res.out);
        at = found + strlen(line);
    }
    ck_assert_msg(strstr(res.err, "NATS is back") != NULL, "no word of NATS coming back:\n%s",
                  res.err);
    ck_assert_msg(strstr(res.err, "giving up") == NULL, "gave up:\n%s", res.err);
    ck_assert_msg(occurrences(res.err, "Missed Server Heartbeat") <= 1,
                  "heartbeat noise:\n%s", res.err);

    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

/* slipwayd waits for a NATS that is not there (the harness's, stopped: a closed
 * loopback port) for about a second, then gets sig. */
static void stop_while_waiting_for_nats(int sig)
{
    sw_harness_options opts = {0};
    sw_harness *h = sw_harness_create(&opts);
    sw_harness_repo_pipeline(h, "demo", PIPELINE);
    sw_harness_nats_stop(h);
    sw_harness_proc *d = sw_harness_spawn_slipwayd(h, NULL);
    ck_assert_msg(sw_harness_proc_await(d, "connecting to", 10000),
                  "slipwayd did not start connecting:\n%s", sw_harness_proc_output(d));

    usleep(1000 * 1000); /* the scenario: a daemon that has been waiting for a while */
    siginfo_t info = {0};
    ck_assert_int_eq(waitid(P_PID, (id_t)sw_harness_proc_pid(d), &info,
                            WEXITED | WNOHANG | WNOWAIT),
                     0);
    ck_assert_msg(info.si_pid == 0, "slipwayd did not wait for NATS:\n%s",
                  sw_harness_proc_output(d));

    long long sent_at = sw_harness_now_ms();
    ck_assert_int_eq(kill(sw_harness_proc_pid(d), sig), 0);
    sw_harness_result res;
    sw_harness_proc_finish(&d, &res, 5000);
    long long took = sw_harness_now_ms() - sent_at;
    fprintf(stderr, "bounds: slipwayd stopped %lld ms after signal %d\n", took, sig);

    ck_assert_msg(res.status == 0, "slipwayd exited %d after signal %d, not 0:\n%s", res.status,
                  sig, res.out);
    ck_assert_msg(took < 1000, "slipwayd took %lld ms to stop", took);
    ck_assert_msg(strstr(res.out, "while waiting for NATS") != NULL &&
                      strstr(res.out, "stopped") != NULL,
                  "its log does not say it stopped:\n%s", res.out);

    sw_harness_result_finish(&res);
    sw_harness_destroy(&h);
}

START_TEST(test_slipwayd_sigterm_while_waiting_for_nats)
{
    stop_while_waiting_for_nats(SIGTERM);
}
END_TEST

START_TEST(test_slipwayd_sigint_while_waiting_for_nats)
{
    stop_while_waiting_for_nats(SIGINT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bounds");
    TCase *tc = tcase_create("bounded waits");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_logs_follow_gives_up_after_nats_wait);
    tcase_add_test(tc, test_logs_follow_survives_a_short_outage_and_misses_nothing);
    tcase_add_test(tc, test_slipwayd_sigterm_while_waiting_for_nats);
    tcase_add_test(tc, test_slipwayd_sigint_while_waiting_for_nats);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
