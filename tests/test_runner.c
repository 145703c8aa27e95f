/* test_runner.c - whole builds: fetch, pipeline, steps, results, and the log they leave. */
#include "actors/builder/runner.h"
#include "runtime/core/error.h"
#include "slipway.pb-c.h"
#include "support.h"

#include <check.h>
#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Everything the sink saw, in order, as text: "S:..." SYSTEM, "O:" stdout, "E:" stderr,
 * "start:N:name", "finish:N:name:code:reason". */
typedef struct events {
    char *ev[512];
    size_t n;
    int ticks;
} events;

static void push(events *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void push(events *e, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
    va_end(ap);
    if (e->n < 512) {
        e->ev[e->n++] = s;
    } else {
        free(s);
    }
}

static void on_line(void *ud, int stream, const char *text, size_t len)
{
    const char *tag = stream == SLIPWAY__LOG_STREAM__SYSTEM   ? "S"
                      : stream == SLIPWAY__LOG_STREAM__STDOUT ? "O"
                      : stream == SLIPWAY__LOG_STREAM__STDERR ? "E"
                                                              : "?";
    push(ud, "%s:%.*s", tag, (int)len, text);
}

static void on_tick(void *ud)
{
    ((events *)ud)->ticks++;
}

static void on_started(void *ud, unsigned index, const char *name)
{
    push(ud, "start:%u:%s", index, name);
}

static void on_finished(void *ud, unsigned index, const char *name, int code, int64_t ms,
                        const char *reason)
{
    ck_assert_int_ge(ms, 0);
    push(ud, "finish:%u:%s:%d:%s", index, name, code, reason);
}

static void events_free(events *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->ev[i]);
    }
    memset(e, 0, sizeof(*e));
}

/* Index of the first event starting with prefix at or after from, or -1. */
static int find(const events *e, size_t from, const char *prefix)
{
    for (size_t i = from; i < e->n; i++) {
        if (strncmp(e->ev[i], prefix, strlen(prefix)) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void dump(const events *e)
{
    for (size_t i = 0; i < e->n; i++) {
        fprintf(stderr, "  [%zu] %s\n", i, e->ev[i]);
    }
}

static char *root;
static char origin[512], workspace[512], mirrors[512];
static char head_sha[41];

static void setup(void)
{
    root = sw_test_tmpdir("sw-runner");
    snprintf(origin, sizeof(origin), "%s/src.git", root);
    /* a parent that does not exist yet: the runner makes it */
    snprintf(workspace, sizeof(workspace), "%s/ws/demo/app/0", root);
    snprintf(mirrors, sizeof(mirrors), "%s/mirrors", root);
    setenv("GIT_AUTHOR_NAME", "t", 1);
    setenv("GIT_AUTHOR_EMAIL", "t@example.org", 1);
    setenv("GIT_COMMITTER_NAME", "t", 1);
    setenv("GIT_COMMITTER_EMAIL", "t@example.org", 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("HOME", root, 1);
}

static void teardown(void)
{
    sw_test_rmtree(root);
    free(root);
    root = NULL;
}

/* A bare repository at origin whose main holds hello.txt and, unless yml is NULL,
 * a .slipway.yml with that text. */
static void make_repo(const char *yml)
{
    char cmd[2048], path[600];
    snprintf(cmd, sizeof(cmd), "cd %s && git init -q -b main work && echo hello > work/hello.txt",
             root);
    ck_assert_int_eq(system(cmd), 0);
    if (yml != NULL) {
        snprintf(path, sizeof(path), "%s/work/.slipway.yml", root);
        sw_test_write_file(path, yml);
    }
    snprintf(cmd, sizeof(cmd),
             "cd %s/work && git add -A && git commit -q -m c && "
             "git init -q --bare -b main ../src.git && git push -q ../src.git main",
             root);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "git -C %s/work rev-parse HEAD", root);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(fgets(head_sha, sizeof(head_sha), p));
    pclose(p);
}

static sw_run_spec spec_default(void)
{
    sw_run_spec spec = {0};
    spec.build_id = "b-1";
    spec.clone_url = origin;
    spec.ref = "main";
    spec.workspace = workspace;
    spec.mirror_dir = mirrors;
    spec.memory_bytes = 256ull << 20;
    spec.pids = 128;
    spec.timeout_ms = 60000;
    return spec;
}

static int run_build(const sw_run_spec *spec, events *e, sw_run_result *res)
{
    sw_run_sink sink = {e, on_line, on_tick, on_started, on_finished};
    int rc = sw_run_job(spec, &sink, res);
    /* kept for the next build, or made for this one if it failed early */
    ck_assert_msg(res->sha[0] == '\0' || access(spec->workspace, F_OK) == 0,
                  "workspace %s is gone", spec->workspace);
    return rc;
}

START_TEST(test_two_steps_succeed)
{
    make_repo("env: {WHO: world}\n"
              "steps:\n"
              "  - name: greet\n"
              "    run: echo hello $WHO; cat hello.txt\n"
              "  - name: check\n"
              "    commands:\n"
              "      - echo \"build $SLIPWAY_BUILD_ID at $SLIPWAY_COMMIT\"\n"
              "      - echo to-stderr >&2\n");
    sw_run_spec spec = spec_default();
    sw_run_result res;
    events e = {0};
    ck_assert_int_eq(run_build(&spec, &e, &res), 0);
    if (res.state != SLIPWAY__BUILD_STATE__SUCCEEDED) {
        dump(&e);
    }
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__SUCCEEDED);
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_str_eq(res.sha, head_sha);

    char want[1024];
    int i = 0;
    snprintf(want, sizeof(want), "S:fetching %s main", origin);
    ck_assert_int_eq(find(&e, 0, want), 0);
    snprintf(want, sizeof(want), "S:checked out %s", head_sha);
    ck_assert_int_gt(i = find(&e, (size_t)i, want), 0);
    ck_assert_int_gt(i = find(&e, (size_t)i, "start:0:greet"), 0);
    ck_assert_int_gt(i = find(&e, (size_t)i, "S:step 1/2 greet"), 0);
    ck_assert_int_gt(i = find(&e, (size_t)i, "O:hello world"), 0);
    ck_assert_int_gt(i = find(&e, (size_t)i, "O:hello"), 0);
    ck_assert_int_gt(i = find(&e, (size_t)i, "finish:0:greet:0:exit code 0"), 0);
    ck_assert_int_gt(i = find(&e, (size_t)i, "start:1:check"), 0);
    ck_assert_int_gt(i = find(&e, (size_t)i, "S:step 2/2 check"), 0);
    snprintf(want, sizeof(want), "O:build b-1 at %s", head_sha);
    ck_assert_int_gt(find(&e, (size_t)i, want), 0);
    ck_assert_int_gt(find(&e, (size_t)i, "E:to-stderr"), 0);
    ck_assert_int_gt(i = find(&e, (size_t)i, "finish:1:check:0:"), 0);
    ck_assert_int_eq(find(&e, (size_t)i, "S:build succeeded"), (int)e.n - 1);
    events_free(&e);
}
END_TEST

START_TEST(test_failing_step_stops_the_build)
{
    make_repo("steps:\n"
              "  - name: test\n"
              "    run: echo testing; exit 3\n"
              "  - name: never\n"
              "    run: echo should-not-run\n");
    sw_run_spec spec = spec_default();
    sw_run_result res;
    events e = {0};
    ck_assert_int_eq(run_build(&spec, &e, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__FAILED);
    ck_assert_int_eq(res.exit_code, 3);
    ck_assert_str_eq(res.reason, "step test failed: exit code 3");
    ck_assert_int_gt(find(&e, 0, "O:testing"), 0);
    ck_assert_int_gt(find(&e, 0, "finish:0:test:3:exit code 3"), 0);
    ck_assert_int_lt(find(&e, 0, "start:1"), 0);
    ck_assert_int_lt(find(&e, 0, "O:should-not-run"), 0);
    ck_assert_str_eq(e.ev[e.n - 1], "S:build failed: step test failed: exit code 3");
    events_free(&e);
}
END_TEST

START_TEST(test_missing_pipeline)
{
    make_repo(NULL);
    sw_run_spec spec = spec_default();
    sw_run_result res;
    events e = {0};
    ck_assert_int_eq(run_build(&spec, &e, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__ERRORED);
    char want[1024];
    snprintf(want, sizeof(want), "no .slipway.yml in the repository at %s", head_sha);
    ck_assert_str_eq(res.reason, want);
    snprintf(want, sizeof(want), "S:build errored: no .slipway.yml in the repository at %s",
             head_sha);
    ck_assert_int_eq(find(&e, 0, want), (int)e.n - 1);
    events_free(&e);
}
END_TEST

START_TEST(test_malformed_pipeline)
{
    make_repo("steps:\n"
              "  - name: a\n"
              "    runn: echo x\n");
    sw_run_spec spec = spec_default();
    sw_run_result res;
    events e = {0};
    ck_assert_int_eq(run_build(&spec, &e, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__ERRORED);
    ck_assert_msg(strncmp(res.reason, ".slipway.yml:3:5: unknown key 'runn'", 36) == 0, "%s",
                  res.reason);
    ck_assert_int_gt(find(&e, 0, "S:build errored: .slipway.yml:3:5: unknown key 'runn'"), 0);
    ck_assert_int_lt(find(&e, 0, "start:"), 0);
    events_free(&e);
}
END_TEST

START_TEST(test_unreachable_repository)
{
    sw_run_spec spec = spec_default();
    char url[600];
    snprintf(url, sizeof(url), "%s/nothing-here.git", root);
    spec.clone_url = url;
    sw_run_result res;
    events e = {0};
    ck_assert_int_eq(run_build(&spec, &e, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__ERRORED);
    ck_assert_msg(strstr(res.reason, "fetch failed: cannot reach repository") != NULL, "%s",
                  res.reason);
    ck_assert_str_eq(res.sha, "");
    ck_assert_int_gt(find(&e, 0, "S:build errored: fetch failed"), 0);
    events_free(&e);
}
END_TEST

START_TEST(test_step_timeout)
{
    make_repo("steps:\n"
              "  - name: slow\n"
              "    run: sleep 30\n"
              "    timeout: 1s\n");
    sw_run_spec spec = spec_default();
    sw_run_result res;
    events e = {0};
    ck_assert_int_eq(run_build(&spec, &e, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__TIMED_OUT);
    ck_assert_str_eq(res.reason, "step slow timed out after 1s");
    ck_assert_int_gt(e.ticks, 5);
    events_free(&e);
}
END_TEST

START_TEST(test_build_timeout)
{
    make_repo("timeout: 1s\n"
              "steps:\n"
              "  - name: slow\n"
              "    run: sleep 30\n");
    sw_run_spec spec = spec_default();
    sw_run_result res;
    events e = {0};
    ck_assert_int_eq(run_build(&spec, &e, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__TIMED_OUT);
    ck_assert_str_eq(res.reason, "build timed out after 1s (in step slow)");
    events_free(&e);
}
END_TEST

START_TEST(test_out_of_memory)
{
    make_repo("steps:\n"
              "  - name: hog\n"
              "    run: tail /dev/zero\n"
              "    memory: 1G\n");
    sw_run_spec spec = spec_default();
    spec.memory_bytes = 64ull << 20; /* the tier's limit wins over the step's */
    sw_run_result res;
    events e = {0};
    ck_assert_int_eq(run_build(&spec, &e, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__FAILED);
    ck_assert_str_eq(res.reason, "step hog killed: out of memory (limit 64 MiB)");
    events_free(&e);
}
END_TEST

START_TEST(test_cancel_before_steps)
{
    make_repo("steps:\n  - name: a\n    run: echo a\n");
    volatile int cancel = 1;
    sw_run_spec spec = spec_default();
    spec.cancel = &cancel;
    sw_run_result res;
    events e = {0};
    ck_assert_int_eq(run_build(&spec, &e, &res), 0);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__CANCELLED);
    ck_assert_int_lt(find(&e, 0, "O:a"), 0);
    events_free(&e);
}
END_TEST

START_TEST(test_no_mirror_refused)
{
    make_repo("steps:\n  - name: a\n    run: echo a\n");
    sw_run_spec spec = spec_default();
    spec.mirror_dir = NULL;
    sw_run_result res;
    events e = {0};
    sw_run_sink sink = {&e, on_line, on_tick, on_started, on_finished};
    ck_assert_int_eq(sw_run_job(&spec, &sink, &res), SW_EINVALID);
    ck_assert_int_eq(res.state, SLIPWAY__BUILD_STATE__ERRORED);
    ck_assert_msg(strstr(res.reason, "mirror") != NULL, "%s", res.reason);
    ck_assert_int_eq(access(workspace, F_OK), -1); /* nothing made */
    events_free(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runner");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_two_steps_succeed);
    tcase_add_test(tc, test_failing_step_stops_the_build);
    tcase_add_test(tc, test_missing_pipeline);
    tcase_add_test(tc, test_malformed_pipeline);
    tcase_add_test(tc, test_unreachable_repository);
    tcase_add_test(tc, test_step_timeout);
    tcase_add_test(tc, test_build_timeout);
    tcase_add_test(tc, test_out_of_memory);
    tcase_add_test(tc, test_cancel_before_steps);
    tcase_add_test(tc, test_no_mirror_refused);
    suite_add_tcase(s, tc);
    int status = sw_test_run(s);
    git_libgit2_shutdown();
    return status;
}
