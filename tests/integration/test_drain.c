/*
 * test_drain.c - builders drained by command and by SIGTERM, builds handed back
 * on a second SIGTERM, and builders holding back under pressure.
 *
 * The scheduler, dispatcher and logsink run in one slipwayd and each builder in
 * its own (sw_harness_start_more), so a test can signal one builder's process
 * alone. Builds are counted by a witness of the test's own (FINISHED events by
 * msg-id), and "not taken" is read from the JOBS consumer on the server. The
 * drain tests switch the PSI thresholds off, so a loaded test host cannot hold
 * a builder back and blur what is measured.
 */
#include "harness.h"
#include "support.h"
#include "witness.h"

#include "bus/bus.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* about 10 s */
#define PIPELINE                                                                                  \
    "steps:\n"                                                                                    \
    "  - name: long\n"                                                                            \
    "    run: |\n"                                                                                \
    "      for i in $(seq 1 20); do echo tick $i; sleep 0.5; done\n"

#define NO_PSI "    pressure: {cpu: off, memory: off, io: off}\n"
#define LAPSE_MS 5000
#define BUILD_MS 90000

static sw_harness *start_with(const char *cluster_extra, const char *yaml_extra)
{
    sw_harness_options opts = {
        .yaml_extra = yaml_extra,
        .builders = 2,
        .slots = 2,
        .heartbeat_interval = "250ms",
        .heartbeat_lapse = "5s",
        .cluster_extra = cluster_extra,
    };
    sw_harness *h = sw_harness_create(&opts);
    sw_harness_repo_pipeline(h, "demo", PIPELINE);
    sw_harness_start(h, "scheduler", "dispatcher", "logsink", NULL);
    return h;
}

static sw_harness *start(const char *cluster_extra)
{
    return start_with(cluster_extra, NULL);
}

static long long wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* builder's line of `slipway builders` (owned), or NULL. */
static char *builders_line(sw_harness *h, const char *builder)
{
    sw_harness_result res;
    char *line = NULL;
    size_t n = strlen(builder);
    sw_harness_cli(h, &res, 10000, "builders", NULL);
    ck_assert_msg(res.status == 0, "slipway builders exited %d: %s", res.status, res.err);
    for (char *l = res.out; l != NULL && *l != '\0';) {
        char *end = strchr(l, '\n');
        if (strncmp(l, builder, n) == 0 && l[n] == ' ') {
            line = strndup(l, end ? (size_t)(end - l) : strlen(l));
            break;
        }
        l = end ? end + 1 : NULL;
    }
    sw_harness_result_finish(&res);
    return line;
}

/* The STATE column (the fifth) of a `slipway builders` line. */
static void state_of(const char *line, char *out, size_t n)
{
    char f[5][64] = {{0}};
    out[0] = '\0';
    if (line != NULL && sscanf(line, "%63s %63s %63s %63s %63s", f[0], f[1], f[2], f[3], f[4]) == 5) {
        snprintf(out, n, "%s", f[4]);
    }
}

/* Waits until `slipway builders` shows builder in state; returns its line (owned). */
static char *await_state(sw_harness *h, const char *builder, const char *state, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    for (;;) {
        char *line = builders_line(h, builder);
        char now[64];
        state_of(line, now, sizeof(now));
        if (strcmp(now, state) == 0) {
            return line;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline,
                      "slipway builders did not show %s %s within %d ms; its line: %s", builder,
                      state, timeout_ms, line ? line : "(none)");
        free(line);
        usleep(100 * 1000);
    }
}

static void expect_field(sw_harness *h, const char *id, const char *key, const char *want)
{
    char *v = sw_harness_show_field(h, id, key, NULL);
    ck_assert_msg(v != NULL && strcmp(v, want) == 0, "build %s: %s is '%s', not '%s'", id, key,
                  v ? v : "(none)", want);
    free(v);
}

/* Waits for build id to succeed on builder at attempt, and the witness to count
 * exactly one FINISHED of it. */
static void expect_succeeded(sw_harness *h, sw_witness *w, const char *id, const char *builder,
                             unsigned attempt)
{
    char want_attempt[16];
    char *state = sw_harness_await_final(h, id, BUILD_MS);
    ck_assert_msg(strcmp(state, "succeeded") == 0, "build %s ended %s", id, state);
    free(state);
    expect_field(h, id, "builder", builder);
    snprintf(want_attempt, sizeof(want_attempt), "%u", attempt);
    expect_field(h, id, "attempt", want_attempt);
    ck_assert_int_eq(sw_witness_finished(w, id, 3000), 1);
    ck_assert_uint_eq(sw_witness_finished_attempt(w, id), attempt);
}

/* Waits until builder's log says its pull paused after it began draining: a
 * fetch under way when it was asked has ended, so no job can reach it now
 * (one that came in that fetch would be handed back at once, costing it a
 * delivery, and the attempts counted below would be off by one). */
static void await_paused(sw_harness *h, const char *builder)
{
    char *path = sw_asprintf("%s/%s.log", sw_harness_dir(h), builder);
    long long deadline = sw_harness_now_ms() + 5000;
    for (;;) {
        char *log = sw_test_read_file(path, NULL);
        const char *d = log ? strstr(log, "draining (asked by") : NULL;
        bool paused = d != NULL && strstr(d, "pull paused") != NULL;
        ck_assert_msg(paused || sw_harness_now_ms() < deadline,
                      "%s's pull did not pause within 5 s of draining; its log:\n%s", builder,
                      log ? log : "");
        free(log);
        if (paused) {
            break;
        }
        usleep(20 * 1000);
    }
    free(path);
}

/* Submits a build and waits until its log shows it running on builder. */
static char *submit_running_on(sw_harness *h, const char *builder)
{
    char *id = sw_harness_submit(h, "demo", NULL);
    char needle[128];
    sw_harness_proc *logs = sw_harness_spawn(h, "logs", "-f", id, NULL);
    snprintf(needle, sizeof(needle), "attempt 1 on builder %s", builder);
    ck_assert_msg(sw_harness_proc_await(logs, needle, 30000) &&
                      sw_harness_proc_await(logs, "tick 2", 30000),
                  "build %s did not start on %s:\n%s", id, builder, sw_harness_proc_output(logs));
    kill(-sw_harness_proc_pid(logs), SIGKILL);
    sw_harness_result res;
    sw_harness_proc_finish(&logs, &res, 5000);
    sw_harness_result_finish(&res);
    return id;
}

START_TEST(test_drain_finishes_takes_nothing_new_undrain_resumes_exit)
{
    sw_harness *h = start(NO_PSI);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    sw_harness_result res;
    int b1 = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *a = submit_running_on(h, "builder-1");
    int b2 = sw_harness_start_more(h, "builder-2", "builder:builder-2", NULL);

    /* unknown builder: 6 */
    sw_harness_cli(h, &res, 10000, "drain", "no-such-builder", NULL);
    ck_assert_msg(res.status == 6, "drain of an unknown builder exited %d: %s", res.status,
                  res.err);
    sw_harness_result_finish(&res);

    /* drain builder-1 while a runs; the same command again answers the same */
    sw_harness_cli(h, &res, 10000, "drain", "builder-1", NULL);
    ck_assert_msg(res.status == 0 && strstr(res.out, "builder-1: draining, 1 running") != NULL,
                  "drain exited %d: %s%s", res.status, res.out, res.err);
    char *first = strdup(res.out);
    sw_harness_result_finish(&res);
    sw_harness_cli(h, &res, 10000, "drain", "builder-1", NULL);
    ck_assert_int_eq(res.status, 0);
    ck_assert_str_eq(res.out, first);
    free(first);
    sw_harness_result_finish(&res);
    free(await_state(h, "builder-1", "draining", 5000));
    await_paused(h, "builder-1");

    /* --wait past --timeout: 10, and the build goes on */
    sw_harness_cli(h, &res, 10000, "drain", "builder-1", "--wait", "--timeout", "1s", NULL);
    ck_assert_msg(res.status == 10, "drain --wait --timeout 1s exited %d: %s%s", res.status,
                  res.out, res.err);
    sw_harness_result_finish(&res);

    /* builder-1 has a free slot but takes nothing: b goes to builder-2 */
    char *b = submit_running_on(h, "builder-2");
    expect_succeeded(h, w, a, "builder-1", 1);
    free(await_state(h, "builder-1", "drained", 5000));

    /* undrain builder-1, drain builder-2 (free slot, b running): c goes to builder-1 */
    sw_harness_cli(h, &res, 10000, "undrain", "builder-1", NULL);
    ck_assert_msg(res.status == 0 && strstr(res.out, "builder-1: up") != NULL,
                  "undrain exited %d: %s%s", res.status, res.out, res.err);
    sw_harness_result_finish(&res);
    sw_harness_cli(h, &res, 10000, "drain", "builder-2", NULL);
    ck_assert_int_eq(res.status, 0);
    sw_harness_result_finish(&res);
    await_paused(h, "builder-2");
    char *c = submit_running_on(h, "builder-1");

    /* both drained with --wait --exit: each returns once drained, each process exits 0 */
    sw_harness_cli(h, &res, BUILD_MS, "drain", "builder-1", "--wait", "--exit", NULL);
    ck_assert_msg(res.status == 0 && strstr(res.out, "builder-1: drained") != NULL,
                  "drain --wait --exit exited %d: %s%s", res.status, res.out, res.err);
    sw_harness_result_finish(&res);
    ck_assert_int_eq(sw_harness_await_exit(h, b1, 10000), 0);
    sw_harness_cli(h, &res, BUILD_MS, "drain", "builder-2", "--wait", "--exit", NULL);
    ck_assert_msg(res.status == 0, "drain builder-2 exited %d: %s%s", res.status, res.out,
                  res.err);
    sw_harness_result_finish(&res);
    ck_assert_int_eq(sw_harness_await_exit(h, b2, 10000), 0);

    expect_succeeded(h, w, b, "builder-2", 1);
    expect_succeeded(h, w, c, "builder-1", 1);
    free(a);
    free(b);
    free(c);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_sigterm_drains_then_exits)
{
    sw_harness *h = start(NO_PSI);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    int b1 = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *a = submit_running_on(h, "builder-1");
    sw_harness_start_more(h, "builder-2", "builder:builder-2", NULL);

    sw_harness_signal(h, b1, SIGTERM); /* its process alone: the step goes on */
    free(await_state(h, "builder-1", "draining", 5000));
    await_paused(h, "builder-1");
    char *b = submit_running_on(h, "builder-2"); /* builder-1's free slot takes nothing */

    long long t0 = sw_harness_now_ms();
    ck_assert_int_eq(sw_harness_await_exit(h, b1, BUILD_MS), 0);
    fprintf(stderr, "drain: builder-1 exited 0 %lld ms after b started elsewhere\n",
            sw_harness_now_ms() - t0);
    expect_succeeded(h, w, a, "builder-1", 1);
    expect_succeeded(h, w, b, "builder-2", 1);
    free(a);
    free(b);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_second_sigterm_hands_the_build_back)
{
    sw_harness *h = start(NO_PSI);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    int b1 = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *a = submit_running_on(h, "builder-1");
    sw_harness_start_more(h, "builder-2", "builder:builder-2", NULL);

    sw_harness_signal(h, b1, SIGTERM);
    free(await_state(h, "builder-1", "draining", 5000));
    long long t0 = wall_ms();
    sw_harness_signal(h, b1, SIGTERM);
    ck_assert_int_eq(sw_harness_await_exit(h, b1, 10000), 0);

    /* attempt 2 starts on builder-2 at once, not after the lapse */
    long long deadline = sw_harness_now_ms() + 10000;
    char *attempt = NULL;
    for (;;) {
        free(attempt);
        attempt = sw_harness_show_field(h, a, "attempt", NULL);
        if (attempt != NULL && strcmp(attempt, "2") == 0) {
            break;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline,
                      "no attempt 2 of %s 10 s after the second SIGTERM (attempt %s)", a,
                      attempt ? attempt : "?");
        usleep(50 * 1000);
    }
    free(attempt);
    long long handback_ms = sw_harness_show_ms(h, a, "started_ms") - t0;
    fprintf(stderr,
            "drain hand-back: second SIGTERM -> attempt 2 STARTED on builder-2 in %lld ms "
            "(heartbeat lapse %d ms)\n",
            handback_ms, LAPSE_MS);
    ck_assert_msg(handback_ms < LAPSE_MS / 2, "hand-back took %lld ms", handback_ms);
    expect_succeeded(h, w, a, "builder-2", 2);
    free(a);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_drain_grace_hands_the_build_back)
{
    sw_harness *h = start_with(NO_PSI, "drain_grace: 2s\n");
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    int b1 = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *a = submit_running_on(h, "builder-1");
    sw_harness_start_more(h, "builder-2", "builder:builder-2", NULL);

    long long t0 = sw_harness_now_ms();
    sw_harness_signal(h, b1, SIGTERM);
    ck_assert_int_eq(sw_harness_await_exit(h, b1, 10000), 0);
    long long took = sw_harness_now_ms() - t0;
    /* the grace, then at once: not the build's remaining ~8 s */
    ck_assert_msg(took >= 2000 && took < 5000, "builder-1 exited %lld ms after SIGTERM", took);
    char *path = sw_asprintf("%s/builder-1.log", sw_harness_dir(h));
    char *log = sw_test_read_file(path, NULL);
    ck_assert_msg(log != NULL && strstr(log, "drain_grace passed") != NULL, "log:\n%s", log);
    free(log);
    free(path);
    expect_succeeded(h, w, a, "builder-2", 2);
    free(a);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

/* The JOBS consumer's own counts, from the server. */
static void jobs_pending(sw_harness *h, uint64_t *pending, uint64_t *ack_pending)
{
    sw_bus *bus = NULL;
    char durable[96];
    sw_bus_options o = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000};
    sw_harness_as_operator(&o);
    ck_assert_msg(sw_bus_connect(&bus, &o) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_bus_consumer_pending(bus, SW_STREAM_JOBS,
                                          sw_durable_cluster(durable, sizeof(durable),
                                                             "local-free"),
                                          pending, ack_pending) == 0,
                  "%s", sw_error_last());
    sw_bus_destroy(&bus);
}

START_TEST(test_pressure_holds_back_until_lifted)
{
    /* more free memory than any test host has: this builder must hold back */
    sw_harness *h = start("    pressure: {cpu: off, memory: off, io: off, min_memory_free: 100000G}\n");
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    uint64_t pending = 0, ack_pending = 0;
    sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);

    char *line = await_state(h, "builder-1", "holding", 5000);
    ck_assert_msg(strstr(line, "memory available") != NULL && strstr(line, "< 100000.0G"),
                  "no hold reason: %s", line);
    fprintf(stderr, "pressure: %s\n", line);
    free(line);

    char *a = sw_harness_submit(h, "demo", NULL);
    long long deadline = sw_harness_now_ms() + 15000;
    while (jobs_pending(h, &pending, &ack_pending), pending == 0) {
        ck_assert_msg(sw_harness_now_ms() < deadline, "the job never reached JOBS");
        usleep(100 * 1000);
    }
    /* the builder re-checks at 250, 500 and 1000 ms intervals meanwhile */
    usleep(3000 * 1000);
    jobs_pending(h, &pending, &ack_pending);
    ck_assert_msg(pending == 1 && ack_pending == 0,
                  "JOBS: %llu pending, %llu delivered and unacked: the held-back builder took it",
                  (unsigned long long)pending, (unsigned long long)ack_pending);
    expect_field(h, a, "builder", "");

    /* lifted: a builder of a config without that floor takes it */
    sw_harness_options lifted = {.cluster_extra = NO_PSI};
    sw_harness_rewrite_config(h, &lifted);
    sw_harness_start_more(h, "builder-2", "builder:builder-2", NULL);
    expect_succeeded(h, w, a, "builder-2", 1);
    line = await_state(h, "builder-1", "holding", 5000);
    free(line);
    free(a);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("drain");
    TCase *tc = tcase_create("drain");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_drain_finishes_takes_nothing_new_undrain_resumes_exit);
    tcase_add_test(tc, test_sigterm_drains_then_exits);
    tcase_add_test(tc, test_second_sigterm_hands_the_build_back);
    tcase_add_test(tc, test_drain_grace_hands_the_build_back);
    tcase_add_test(tc, test_pressure_holds_back_until_lifted);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
