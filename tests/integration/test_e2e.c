/*
 * test_e2e.c - Slipway end to end: a real nats-server, a real git daemon, the
 * slipwayd and slipway programs of this build, talking as users do.
 *
 * Each test starts its own harness (tests/integration/harness.h), waits for
 * conditions with deadlines, and looks only at what a user sees: the CLI's
 * output and exit codes (and, for the log archive, the LOGS stream).
 */
#include "harness.h"
#include "support.h"

#include "bus/bus.h"
#include "runtime/core/error.h"

#include <check.h>
#include <signal.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define BUILD_TIMEOUT_MS 90000
#define CLI_TIMEOUT_MS 30000

/* --- helpers ------------------------------------------------------------------ */

/* True when text has a line equal to line (the pipeline's own output, not one of
 * Slipway's "[slipway] " lines); searches from *pos and moves *pos past it. */
static bool next_line_is_found(const char *text, const char *line, const char **pos)
{
    size_t n = strlen(line);
    for (const char *s = *pos; s != NULL && *s != '\0';) {
        const char *end = strchr(s, '\n');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len > 0 && s[len - 1] == '\r') {
            len--;
        }
        if (len == n && strncmp(s, line, n) == 0) {
            *pos = end ? end + 1 : s + len;
            return true;
        }
        s = end ? end + 1 : NULL;
    }
    return false;
}

/* Asserts text holds the given lines (NULL-terminated), as whole lines, in order. */
static void assert_lines_in_order(const char *text, const char *const *lines)
{
    const char *pos = text;
    for (int i = 0; lines[i] != NULL; i++) {
        ck_assert_msg(next_line_is_found(text, lines[i], &pos),
                      "line '%s' missing (or out of order) in output:\n%s", lines[i], text);
    }
}

static bool contains_nocase(const char *text, const char *needle)
{
    return text != NULL && strcasestr(text, needle) != NULL;
}

static bool matches(const char *text, const char *pattern)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0);
    bool ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* Runs `slipway logs -f ID` to its end; fills *res. */
static void follow_to_end(sw_harness *h, const char *id, sw_harness_result *res)
{
    sw_harness_cli(h, res, BUILD_TIMEOUT_MS, "logs", "-f", id, NULL);
}

static void assert_state(sw_harness *h, const char *id, const char *expected)
{
    char *state = sw_harness_await_final(h, id, BUILD_TIMEOUT_MS);
    ck_assert_msg(strcmp(state, expected) == 0, "build %s is %s, expected %s", id, state, expected);
    free(state);
}

/* --- tests ---------------------------------------------------------------------- */

static const char *const two_steps_pipeline =
    "steps:\n"
    "  - name: first\n"
    "    run: |\n"
    "      echo \"alpha one\"\n"
    "      echo \"alpha two\"\n"
    "  - name: second\n"
    "    commands: [\"echo beta one\", \"echo beta two\"]\n"
    "    timeout: 60s\n";

static const char *const two_steps_lines[] = {"alpha one", "alpha two", "beta one", "beta two",
                                              NULL};

START_TEST(test_build_succeeds_with_its_lines_in_order)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", two_steps_pipeline);
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "app", NULL);
    sw_harness_result res;
    follow_to_end(h, id, &res);
    ck_assert_msg(res.status == 0, "logs -f %s exited %d; stdout:\n%s\nstderr:\n%s", id, res.status,
                  res.out, res.err);
    assert_lines_in_order(res.out, two_steps_lines);
    assert_state(h, id, "succeeded");

    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_logs_follow_streams_while_the_build_runs)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "ticks",
                             "steps:\n"
                             "  - name: ticks\n"
                             "    run: |\n"
                             "      for i in 1 2 3 4 5; do\n"
                             "        echo \"tick $i\"\n"
                             "        sleep 0.5\n"
                             "      done\n");
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "ticks", NULL);
    sw_harness_proc *follow = sw_harness_spawn(h, "logs", "-f", id, NULL);
    ck_assert_msg(sw_harness_proc_await(follow, "tick 1\n", BUILD_TIMEOUT_MS),
                  "logs -f never printed 'tick 1'; it printed:\n%s",
                  sw_harness_proc_output(follow));
    /* The first tick is out; the build has 2 s of ticking left. */
    char *state = sw_harness_show_field(h, id, "state", NULL);
    ck_assert_msg(state != NULL && strcmp(state, "succeeded") != 0 &&
                      strcmp(state, "failed") != 0 && strcmp(state, "errored") != 0,
                  "when logs -f printed 'tick 1' the build was already '%s' "
                  "(lines are not streamed live); logs -f so far:\n%s",
                  state ? state : "(no state)", sw_harness_proc_output(follow));
    ck_assert_msg(strstr(sw_harness_proc_output(follow), "tick 5") == NULL,
                  "'tick 5' came with 'tick 1': lines are not streamed live");

    sw_harness_result res;
    sw_harness_proc_finish(&follow, &res, BUILD_TIMEOUT_MS);
    ck_assert_msg(res.status == 0, "logs -f exited %d; stderr: %s", res.status, res.err);
    const char *const ticks[] = {"tick 1", "tick 2", "tick 3", "tick 4", "tick 5", NULL};
    assert_lines_in_order(res.out, ticks);

    sw_harness_result_finish(&res);
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

/* The logsink's durable consumer on LOGS has handled everything (nothing pending,
 * nothing waiting for an ack): the archive has all that the stream had. */
static void await_logsink_caught_up(sw_bus *bus)
{
    long long deadline = sw_harness_now_ms() + 30000;
    uint64_t pending = 0, ack_pending = 0;
    int rc = 0;
    for (;;) {
        rc = sw_bus_consumer_pending(bus, "LOGS", "logsink", &pending, &ack_pending);
        if (rc == 0 && pending == 0 && ack_pending == 0) {
            return;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline,
                      "logsink consumer on LOGS not caught up after 30 s: rc %d (%s), "
                      "pending %llu, ack pending %llu",
                      rc, rc ? sw_error_last() : "", (unsigned long long)pending,
                      (unsigned long long)ack_pending);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

START_TEST(test_logs_come_from_the_archive_after_the_stream_is_purged)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", two_steps_pipeline);
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "app", NULL);
    sw_harness_result res;
    follow_to_end(h, id, &res);
    ck_assert_msg(res.status == 0, "logs -f exited %d; stderr: %s", res.status, res.err);
    sw_harness_result_finish(&res);

    sw_bus *bus = NULL;
    sw_bus_options opts = {
        .url = sw_harness_nats_url(h), .name = "e2e-test", .connect_wait_ms = 5000};
    sw_harness_as_operator(&opts);
    ck_assert_msg(sw_bus_connect(&bus, &opts) == 0, "connect: %s", sw_error_last());
    await_logsink_caught_up(bus);
    ck_assert_msg(sw_bus_stream_purge(bus, "LOGS", NULL) == 0, "purge: %s", sw_error_last());
    uint64_t count = 1;
    ck_assert_int_eq(sw_bus_stream_count(bus, "LOGS", &count), 0);
    ck_assert_msg(count == 0, "LOGS still holds %llu messages", (unsigned long long)count);
    sw_bus_destroy(&bus);

    sw_harness_cli(h, &res, CLI_TIMEOUT_MS, "logs", id, NULL);
    ck_assert_msg(res.status == 0, "logs %s exited %d; stderr: %s", id, res.status, res.err);
    assert_lines_in_order(res.out, two_steps_lines);

    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_failing_step_fails_the_build)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app",
                             "steps:\n"
                             "  - name: fails\n"
                             "    run: |\n"
                             "      echo \"about to fail\"\n"
                             "      exit 3\n"
                             "  - name: never\n"
                             "    run: echo \"never printed\"\n");
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "app", NULL);
    sw_harness_result res;
    follow_to_end(h, id, &res);
    ck_assert_msg(res.status == 1, "logs -f exited %d, expected 1; stdout:\n%s\nstderr:\n%s",
                  res.status, res.out, res.err);
    const char *const lines[] = {"about to fail", NULL};
    assert_lines_in_order(res.out, lines);
    ck_assert_msg(strstr(res.out, "exit code 3") != NULL, "no 'exit code 3' in the log:\n%s",
                  res.out);
    ck_assert_msg(strstr(res.out, "never printed") == NULL,
                  "the step after the failing one ran:\n%s", res.out);
    assert_state(h, id, "failed");
    char *code = sw_harness_show_field(h, id, "exit_code", NULL);
    ck_assert_msg(code != NULL && strcmp(code, "3") == 0, "show says exit_code: %s",
                  code ? code : "(none)");

    free(code);
    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_missing_pipeline_errors_the_build)
{
    sw_harness *h = sw_harness_create(NULL);
    const sw_harness_file files[] = {{"README.md", "no pipeline here\n"}, {NULL, NULL}};
    sw_harness_repo_branch(h, "bare", "main", files);
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "bare", NULL);
    sw_harness_result res;
    follow_to_end(h, id, &res);
    ck_assert_msg(res.status == 3, "logs -f exited %d, expected 3; stdout:\n%s\nstderr:\n%s",
                  res.status, res.out, res.err);
    ck_assert_msg(matches(res.out, "^\\[slipway\\] .*\\.slipway\\.yml"),
                  "no [slipway] line naming .slipway.yml in the log:\n%s", res.out);
    assert_state(h, id, "errored");

    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_malformed_pipeline_errors_with_its_position)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app",
                             "steps:\n"
                             "  - name: bad\n"
                             "    run: [echo \"unclosed\"\n");
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "app", NULL);
    sw_harness_result res;
    follow_to_end(h, id, &res);
    ck_assert_msg(res.status == 3, "logs -f exited %d, expected 3; stdout:\n%s\nstderr:\n%s",
                  res.status, res.out, res.err);
    ck_assert_msg(matches(res.out, "\\.slipway\\.yml:[0-9]+:[0-9]+"),
                  "no .slipway.yml:LINE:COL in the log:\n%s", res.out);
    assert_state(h, id, "errored");

    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_step_over_its_memory_limit_is_killed)
{
    sw_harness_options opts = {.tier_memory = "64M"};
    sw_harness *h = sw_harness_create(&opts);
    /* tail buffers /dev/zero (no newline) without end. The ulimit only guards this
     * machine should no limit be applied: it is far above 64M. */
    sw_harness_repo_pipeline(h, "hog",
                             "steps:\n"
                             "  - name: hog\n"
                             "    run: |\n"
                             "      ulimit -v 2097152 2>/dev/null || true\n"
                             "      echo \"eating memory\"\n"
                             "      tail /dev/zero\n");
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "hog", NULL);
    sw_harness_result res;
    follow_to_end(h, id, &res);
    ck_assert_msg(res.status != 0 && res.status != 7 && res.status != -1,
                  "logs -f exited %d; stdout:\n%s\nstderr:\n%s", res.status, res.out, res.err);
    char *state = sw_harness_await_final(h, id, BUILD_TIMEOUT_MS);
    char *reason = sw_harness_show_field(h, id, "reason", NULL);
    ck_assert_msg(contains_nocase(res.out, "out of memory") ||
                      contains_nocase(reason, "out of memory"),
                  "neither the log nor show's reason says out of memory (state %s, reason "
                  "'%s'); log:\n%s",
                  state, reason ? reason : "(none)", res.out);
    ck_assert_msg(strcmp(state, "succeeded") != 0, "the build succeeded");

    free(reason);
    free(state);
    sw_harness_result_finish(&res);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

/* Each build prints when its step begins and ends (ns since the epoch, the same
 * clock for all: one machine). With slots: 2 the three 1.5 s steps would overlap. */
#define SLOTS_BUILDS 3

static long long marker_value(const char *log, const char *marker)
{
    size_t n = strlen(marker);
    for (const char *s = strstr(log, marker); s != NULL; s = strstr(s + 1, marker)) {
        if (s[n] >= '0' && s[n] <= '9') {
            return strtoll(s + n, NULL, 10);
        }
    }
    return -1;
}

START_TEST(test_builder_never_takes_more_jobs_than_its_slots)
{
    sw_harness_options opts = {.slots = 1};
    sw_harness *h = sw_harness_create(&opts);
    sw_harness_repo_pipeline(h, "slow",
                             "steps:\n"
                             "  - name: slow\n"
                             "    run: |\n"
                             "      echo \"SLOT-BEGIN $(date +%s%N)\"\n"
                             "      sleep 1.5\n"
                             "      echo \"SLOT-END $(date +%s%N)\"\n");
    sw_harness_start(h, NULL);

    char *ids[SLOTS_BUILDS];
    for (int i = 0; i < SLOTS_BUILDS; i++) {
        ids[i] = sw_harness_submit(h, "slow", NULL);
    }
    long long begin[SLOTS_BUILDS], end[SLOTS_BUILDS];
    for (int i = 0; i < SLOTS_BUILDS; i++) {
        sw_harness_result res;
        follow_to_end(h, ids[i], &res);
        ck_assert_msg(res.status == 0, "build %s: logs -f exited %d; stdout:\n%s\nstderr:\n%s",
                      ids[i], res.status, res.out, res.err);
        begin[i] = marker_value(res.out, "SLOT-BEGIN ");
        end[i] = marker_value(res.out, "SLOT-END ");
        ck_assert_msg(begin[i] > 0 && end[i] >= begin[i],
                      "build %s: no SLOT-BEGIN/SLOT-END times in its log (begin %lld, end "
                      "%lld):\n%s\nstderr:\n%s",
                      ids[i], begin[i], end[i], res.out, res.err);
        sw_harness_result_finish(&res);
    }
    for (int i = 0; i < SLOTS_BUILDS; i++) {
        for (int j = i + 1; j < SLOTS_BUILDS; j++) {
            bool overlap = begin[i] < end[j] && begin[j] < end[i];
            ck_assert_msg(!overlap,
                          "with slots: 1, builds %s [%lld, %lld] and %s [%lld, %lld] ran at "
                          "the same time",
                          ids[i], begin[i], end[i], ids[j], begin[j], end[j]);
        }
    }

    for (int i = 0; i < SLOTS_BUILDS; i++) {
        free(ids[i]);
    }
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_unknown_project_and_build_are_not_found)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", two_steps_pipeline);
    sw_harness_start(h, NULL);

    sw_harness_result res;
    sw_harness_cli(h, &res, CLI_TIMEOUT_MS, "submit", "--project", "nope", NULL);
    ck_assert_msg(res.status == 6, "submit --project nope exited %d, expected 6", res.status);
    ck_assert_msg(strstr(res.err, "nope") != NULL || strstr(res.out, "nope") != NULL,
                  "the message does not name the project: stdout '%s' stderr '%s'", res.out,
                  res.err);
    sw_harness_result_finish(&res);

    sw_harness_cli(h, &res, CLI_TIMEOUT_MS, "show", "nosuchbuild", NULL);
    ck_assert_msg(res.status == 6, "show nosuchbuild exited %d, expected 6; stderr: %s", res.status,
                  res.err);
    sw_harness_result_finish(&res);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_slipwayd_stops_cleanly_on_sigterm)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "app", two_steps_pipeline);
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "app", NULL);
    sw_harness_result res;
    follow_to_end(h, id, &res);
    ck_assert_int_eq(res.status, 0);
    sw_harness_result_finish(&res);

    int status = sw_harness_stop_signal(h, SIGTERM); /* nothing runs: no drain to wait for */
    char *log = sw_harness_slipwayd_log(h);
    ck_assert_msg(status == 0, "slipwayd exited %d on SIGTERM; its log ends:\n%s", status,
                  strlen(log) > 3000 ? log + strlen(log) - 3000 : log);

    free(log);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

/* Each build checks that the one before left nothing, then leaves a file. */
static const char *const leaving_pipeline =
    "steps:\n"
    "  - name: check\n"
    "    run: |\n"
    "      test ! -e left.txt || { echo 'LEFT by the build before'; exit 1; }\n"
    "      echo left > left.txt\n";

/* Builds app and returns its log (owned), which must say `says`. */
static char *build_saying(sw_harness *h, const char *says)
{
    char *id = sw_harness_submit(h, "app", NULL);
    sw_harness_result res;
    follow_to_end(h, id, &res);
    ck_assert_msg(res.status == 0, "logs -f %s exited %d:\n%s", id, res.status, res.out);
    assert_state(h, id, "succeeded");
    ck_assert_msg(strstr(res.out, says) != NULL, "no '%s' in:\n%s", says, res.out);
    char *out = res.out;
    res.out = NULL;
    sw_harness_result_finish(&res);
    free(id);
    return out;
}

/* The builder keeps a project's workspace on its slot: the second build reuses it
 * (and what the first left is gone), and so does a build after slipwayd restarted. */
START_TEST(test_workspace_is_kept_between_builds)
{
    sw_harness_options o = {.slots = 1};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "app", leaving_pipeline);
    sw_harness_start(h, NULL);

    free(build_saying(h, "in a new workspace (no workspace yet)"));
    free(build_saying(h, "in the kept workspace: 0 files written, 1 removed"));
    char path[4096];
    snprintf(path, sizeof(path), "%s/work/builder-1/ws/demo/app/0/src/.slipway.yml",
             sw_harness_dir(h));
    ck_assert_msg(access(path, F_OK) == 0, "no %s", path);

    ck_assert_int_eq(sw_harness_stop(h), 0);
    sw_harness_start(h, NULL);
    free(build_saying(h, "in the kept workspace: 0 files written, 1 removed"));
    sw_harness_destroy(&h);
}
END_TEST

static Suite *e2e_suite(void)
{
    Suite *s = suite_create("e2e");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"succeeds", test_build_succeeds_with_its_lines_in_order},
        {"streams", test_logs_follow_streams_while_the_build_runs},
        {"archive", test_logs_come_from_the_archive_after_the_stream_is_purged},
        {"fails", test_failing_step_fails_the_build},
        {"no_pipeline", test_missing_pipeline_errors_the_build},
        {"bad_pipeline", test_malformed_pipeline_errors_with_its_position},
        {"oom", test_step_over_its_memory_limit_is_killed},
        {"slots", test_builder_never_takes_more_jobs_than_its_slots},
        {"not_found", test_unknown_project_and_build_are_not_found},
        {"sigterm", test_slipwayd_stops_cleanly_on_sigterm},
        {"workspace", test_workspace_is_kept_between_builds},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 180);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    return sw_test_run(e2e_suite());
}
