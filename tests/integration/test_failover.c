/*
 * test_failover.c - builders die; builds do not.
 *
 * Each test runs the scheduler, dispatcher and logsink in one slipwayd and each
 * builder in its own, so a builder can be killed with SIGKILL the way a host
 * dies. Heartbeats are fast (250 ms, lapse 2 s) to keep the tests short.
 */
#include "harness.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The script's text is in its shell's command line, so the marker finds the
 * step's processes on the host wherever they run. */
#define MARKER "failover-marker-7f3a"
#define PIPELINE                                                                                  \
    "steps:\n"                                                                                    \
    "  - name: long\n"                                                                            \
    "    run: |\n"                                                                                \
    "      # " MARKER "\n"                                                                        \
    "      for i in 1 2 3 4 5 6 7 8; do echo tick $i; sleep 0.5; done\n"

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
    sw_harness_repo_pipeline(h, "demo", PIPELINE);
    sw_harness_start(h, "scheduler", "dispatcher", "logsink", NULL);
    return h;
}

START_TEST(test_killed_builder_job_runs_again_elsewhere_once)
{
    sw_harness *h = start(3);
    int first = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *id = sw_harness_submit(h, "demo", NULL);
    sw_harness_proc *logs = sw_harness_spawn(h, "logs", "-f", id, NULL);

    ck_assert_msg(sw_harness_proc_await(logs, "tick 2", 30000), "attempt 1 never ran:\n%s",
                  sw_harness_proc_output(logs));
    ck_assert_int_gt(sw_harness_count_processes(MARKER), 0);
    /* the second builder joins only now, so attempt 1 is surely on builder-1 */
    sw_harness_start_more(h, "builder-2", "builder:builder-2", NULL);
    sw_harness_kill(h, first);

    /* the dead host's step dies with it, well before the job's redelivery */
    ck_assert_msg(sw_harness_await_no_processes(MARKER, 1500),
                  "a step of the killed builder still runs");

    sw_harness_result res;
    sw_harness_proc_finish(&logs, &res, 60000);
    ck_assert_msg(res.status == 0, "logs -f exited %d:\n%s\n%s", res.status, res.out, res.err);
    ck_assert_ptr_nonnull(strstr(res.out, "attempt 1 on builder builder-1"));
    const char *second = strstr(res.out, "attempt 2 on builder builder-2");
    ck_assert_msg(second != NULL, "no second attempt on builder-2:\n%s", res.out);
    ck_assert_msg(strstr(second, "tick 8") != NULL, "attempt 2 did not finish:\n%s", res.out);
    ck_assert_ptr_null(strstr(res.out, "attempt 3"));

    char *state = sw_harness_show_field(h, id, "state", NULL);
    char *attempt = sw_harness_show_field(h, id, "attempt", NULL);
    char *builder = sw_harness_show_field(h, id, "builder", NULL);
    ck_assert_str_eq(state, "succeeded");
    ck_assert_str_eq(attempt, "2");
    ck_assert_str_eq(builder, "builder-2");

    free(state);
    free(attempt);
    free(builder);
    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_last_delivery_lost_errors_the_build_with_the_reason)
{
    sw_harness *h = start(1);
    int first = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *id = sw_harness_submit(h, "demo", NULL);
    sw_harness_proc *logs = sw_harness_spawn(h, "logs", "-f", id, NULL);

    ck_assert_msg(sw_harness_proc_await(logs, "tick 1", 30000), "the build never ran:\n%s",
                  sw_harness_proc_output(logs));
    sw_harness_kill(h, first);

    sw_harness_result res;
    sw_harness_proc_finish(&logs, &res, 30000);
    ck_assert_msg(res.status == 3, "logs -f exited %d, not 3 (errored):\n%s\n%s", res.status,
                  res.out, res.err);
    ck_assert_msg(strstr(res.out, "gave up after 1 attempts") != NULL, "no reason in the log:\n%s",
                  res.out);
    ck_assert_ptr_nonnull(strstr(res.out, "builder-1 stopped sending heartbeats"));

    char *state = sw_harness_show_field(h, id, "state", NULL);
    ck_assert_str_eq(state, "errored");
    free(state);
    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("failover");
    TCase *tc = tcase_create("builders die");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_killed_builder_job_runs_again_elsewhere_once);
    tcase_add_test(tc, test_last_delivery_lost_errors_the_build_with_the_reason);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
