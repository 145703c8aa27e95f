/*
 * test_queues.c - bounded work queues end to end: a real nats-server, git
 * daemon, slipwayd and slipway CLI.
 *
 * With SCHED bound to one message and no dispatcher running, the scheduler
 * meets a full SCHED: requests stay in REQUESTS (nak'ed, not acked, not lost)
 * until REQUESTS is full too, and `slipway submit` then exits 8 with nothing
 * stored. With JOBS bound to one message and no builder running, the
 * dispatcher meets a full JOBS: jobs stay in SCHED. Either way, once the rest
 * of Slipway runs every accepted build finishes, each exactly once, and the
 * full stream was warned about once per episode.
 */
#include "harness.h"
#include "witness.h"

#include "bus/bus.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "slipway.pb-c.h"

#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIPELINE "steps:\n  - name: hello\n    run: echo hello from a bounded queue\n"
#define CLI_QUEUE_FULL 8 /* tools/cli/cli.h */

/* How many times needle occurs in text. */
static int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

/* The log of the extra slipwayd called name (owned). */
static char *more_log(sw_harness *h, const char *name)
{
    char *path = sw_asprintf("%s/%s.log", sw_harness_dir(h), name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no log %s", path);
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(getdelim(&text, &len, '\0', f) >= 0, 1);
    fclose(f);
    free(path);
    return text;
}

/* Every build of ids finishes succeeded, each with exactly one FINISHED event. */
static void expect_each_finished_once(sw_harness *h, char **ids, int n)
{
    for (int i = 0; i < n; i++) {
        char *state = sw_harness_await_final(h, ids[i], 90000);
        ck_assert_msg(strcmp(state, "succeeded") == 0, "build %s ended %s", ids[i], state);
        free(state);
    }
    for (int i = 0; i < n; i++) {
        int f = sw_witness_finished_in_events(h, ids[i]);
        ck_assert_msg(f == 1, "build %s has %d FINISHED events", ids[i], f);
    }
}

START_TEST(test_full_sched_holds_requests_and_submit_exits_8)
{
    sw_harness_options o = {.yaml_extra = "queues:\n  requests: 2\n  sched: 1\n"};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, "scheduler", NULL); /* no dispatcher: SCHED is not consumed */
    char *ids[3];

    /* the first request's job fills SCHED; the next two wait in REQUESTS */
    ids[0] = sw_harness_submit(h, "app", NULL);
    sw_witness_expect_messages(h, "SCHED", 1, 10000);
    ids[1] = sw_harness_submit(h, "app", NULL);
    ids[2] = sw_harness_submit(h, "app", NULL);
    ck_assert_uint_eq(sw_witness_messages(h, "REQUESTS"), 2);

    /* REQUESTS is full too: submit exits 8, and nothing is stored */
    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "submit", "--project", "app", NULL);
    ck_assert_msg(res.status == CLI_QUEUE_FULL, "submit exited %d: %s%s", res.status, res.out,
                  res.err);
    ck_assert_msg(strstr(res.err, "queue is full") != NULL, "stderr: %s", res.err);
    ck_assert_msg(strstr(res.err, "try again later") != NULL, "stderr: %s", res.err);
    ck_assert_str_eq(res.out, "");
    sw_harness_result_finish(&res);
    ck_assert_uint_eq(sw_witness_messages(h, "REQUESTS"), 2);
    ck_assert_uint_eq(sw_witness_messages(h, "SCHED"), 1);

    /* the held requests are offered again every 2 s: a few rounds, and the
     * full SCHED is warned about once */
    sleep(5);
    ck_assert_uint_eq(sw_witness_messages(h, "REQUESTS"), 2);
    char *log = sw_harness_slipwayd_log(h);
    ck_assert_msg(occurrences(log, "stream SCHED is full") == 1,
                  "the full SCHED is in the log %d times, not once",
                  occurrences(log, "stream SCHED is full"));
    free(log);

    /* dispatcher and builder start: everything drains, each build once */
    sw_harness_start_more(h, "rest", "dispatcher", "builder", "logsink", NULL);
    expect_each_finished_once(h, ids, 3);
    sw_witness_expect_messages(h, "REQUESTS", 0, 10000);
    sw_witness_expect_messages(h, "SCHED", 0, 10000);
    log = sw_harness_slipwayd_log(h);
    ck_assert_msg(strstr(log, "stream SCHED has room again") != NULL,
                  "the end of the episode is not in the log");
    free(log);

    /* and submit works again */
    char *more = sw_harness_submit(h, "app", NULL);
    expect_each_finished_once(h, &more, 1);
    free(more);
    for (int i = 0; i < 3; i++) {
        free(ids[i]);
    }
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_full_jobs_holds_jobs_in_sched)
{
    sw_harness_options o = {.yaml_extra = "queues:\n  jobs: 1\n", .slots = 1};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, "scheduler", "dispatcher", NULL); /* no builder: JOBS is not consumed */
    char *ids[4];

    for (int i = 0; i < 4; i++) {
        ids[i] = sw_harness_submit(h, "app", NULL);
    }
    /* one job in JOBS, the other three held in SCHED, none lost */
    sw_witness_expect_messages(h, "JOBS", 1, 10000);
    sw_witness_expect_messages(h, "SCHED", 3, 10000);
    sleep(5);
    ck_assert_uint_eq(sw_witness_messages(h, "JOBS"), 1);
    ck_assert_uint_eq(sw_witness_messages(h, "SCHED"), 3);
    char *log = sw_harness_slipwayd_log(h);
    ck_assert_msg(occurrences(log, "stream JOBS is full") == 1,
                  "the full JOBS is in the log %d times, not once",
                  occurrences(log, "stream JOBS is full"));
    free(log);

    /* a builder with one slot: JOBS refills as it takes jobs, until all ran */
    sw_harness_start_more(h, "builder", "builder", "logsink", NULL);
    expect_each_finished_once(h, ids, 4);
    sw_witness_expect_messages(h, "SCHED", 0, 10000);
    sw_witness_expect_messages(h, "JOBS", 0, 10000);
    log = sw_harness_slipwayd_log(h);
    ck_assert_msg(strstr(log, "stream JOBS has room again") != NULL,
                  "the end of the episode is not in the log");
    free(log);
    char *blog = more_log(h, "builder");
    ck_assert_msg(occurrences(blog, "ERROR") == 0, "the builder logged errors:\n%s", blog);
    free(blog);
    for (int i = 0; i < 4; i++) {
        free(ids[i]);
    }
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("queues");
    TCase *tc = tcase_create("queues");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_full_sched_holds_requests_and_submit_exits_8);
    tcase_add_test(tc, test_full_jobs_holds_jobs_in_sched);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
