/* test_sandbox.c - the shell executor: output lines, exit codes, isolation, limits,
 * timeouts, cancel, nothing left behind, and steps started by slipway-sandbox-init
 * (never a fork of this process, none of its fds). */
#include "actors/builder/exec/sandbox.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "slipway.pb-c.h"
#include "capture.h"
#include "support.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef sw_capture captured;

static char *workspace;

static void setup(void)
{
    workspace = sw_test_tmpdir("sw-sandbox");
}

static void teardown(void)
{
    sw_test_rmtree(workspace);
    free(workspace);
    workspace = NULL;
}

static sw_sandbox_spec spec_for(const char *script, captured *c)
{
    sw_sandbox_spec spec = {0};
    spec.script = script;
    spec.workspace = workspace;
    spec.timeout_ms = 20000;
    spec.ud = c;
    spec.line = sw_capture_line;
    spec.tick = sw_capture_tick;
    return spec;
}

/* No child of ours is left, and the step's cgroup is gone. */
static void assert_nothing_left(const sw_sandbox_result *res)
{
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
    if (res->cgroup[0] != '\0') {
        ck_assert_msg(access(res->cgroup, F_OK) != 0, "cgroup %s is still there", res->cgroup);
    }
}

START_TEST(test_lines_on_their_streams)
{
    captured c = {0};
    sw_sandbox_spec spec = spec_for("echo out1; echo err1 >&2; echo out2; printf partial", &c);
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_int_eq(res.killed_by, SW_SANDBOX_KILLED_NONE);
    ck_assert_str_eq(res.reason, "exit code 0");
    ck_assert_uint_eq(c.n, 4);
    int o1 = sw_capture_find(&c, SLIPWAY__LOG_STREAM__STDOUT, "out1");
    int o2 = sw_capture_find(&c, SLIPWAY__LOG_STREAM__STDOUT, "out2");
    ck_assert_int_ge(o1, 0);
    ck_assert_int_gt(o2, o1);
    ck_assert_str_eq(c.text[o1], "out1");
    ck_assert_int_ge(sw_capture_find(&c, SLIPWAY__LOG_STREAM__STDERR, "err1"), 0);
    int p = sw_capture_find(&c, SLIPWAY__LOG_STREAM__STDOUT, "partial");
    ck_assert_int_ge(p, 0);
    ck_assert_str_eq(c.text[p], "partial");
    assert_nothing_left(&res);
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_long_line_cut_into_pieces)
{
    captured c = {0};
    /* 40000 x's then a newline: pieces of 16384, 16384, 7232 */
    sw_sandbox_spec spec = spec_for("head -c 40000 /dev/zero | tr '\\0' x; echo; echo end", &c);
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    ck_assert_uint_eq(c.n, 4);
    ck_assert_uint_eq(strlen(c.text[0]), SW_SANDBOX_MAX_LINE);
    ck_assert_uint_eq(strlen(c.text[1]), SW_SANDBOX_MAX_LINE);
    ck_assert_uint_eq(strlen(c.text[2]), 40000 - 2 * SW_SANDBOX_MAX_LINE);
    ck_assert_str_eq(c.text[3], "end");
    /* the first two pieces say that more of their line follows */
    ck_assert(!c.ends[0]);
    ck_assert(!c.ends[1]);
    ck_assert(c.ends[2]);
    ck_assert(c.ends[3]);
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_exit_code_reported)
{
    captured c = {0};
    sw_sandbox_spec spec = spec_for("echo before; exit 3", &c);
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    ck_assert_int_eq(res.exit_code, 3);
    ck_assert_int_eq(res.killed_by, SW_SANDBOX_KILLED_NONE);
    ck_assert_str_eq(res.reason, "exit code 3");
    assert_nothing_left(&res);
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_environment)
{
    captured c = {0};
    sw_sandbox_env env[] = {{"A", "1"}, {"B", "two words"}, {"A", "override"}};
    sw_sandbox_spec spec = spec_for("echo \"A=$A B=$B CI=$CI SLIPWAY=$SLIPWAY HOME=$HOME "
                                    "PWD=$(pwd) HOST=$(hostname) LEAK=${SW_TEST_LEAK:-none}\"",
                                    &c);
    spec.env = env;
    spec.nenv = 3;
    setenv("SW_TEST_LEAK", "leaked", 1);
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    unsetenv("SW_TEST_LEAK");
    char *ws = realpath(workspace, NULL);
    char expect[1024];
    snprintf(expect, sizeof(expect),
             "A=override B=two words CI=true SLIPWAY=1 HOME=%s PWD=%s HOST=slipway LEAK=none", ws,
             ws);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_str_eq(c.text[0], expect);
    free(ws);
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_workspace_writable_root_not)
{
    captured c = {0};
    sw_sandbox_spec spec = spec_for("touch made-here && echo ws-ok; "
                                    "touch /etc/slipway-x 2>/dev/null && echo etc-writable; "
                                    "touch /tmp/t && echo tmp-ok; exit 0",
                                    &c);
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    ck_assert_int_ge(sw_capture_find(&c, 0, "ws-ok"), 0);
    ck_assert_int_ge(sw_capture_find(&c, 0, "tmp-ok"), 0);
    ck_assert_int_lt(sw_capture_find(&c, 0, "etc-writable"), 0);
    ck_assert_int_ne(access("/etc/slipway-x", F_OK), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/made-here", workspace);
    ck_assert_int_eq(access(path, F_OK), 0);
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_network_unshared)
{
    captured c = {0};
    /* a port listening on the host's loopback cannot be reached from inside */
    int port = sw_test_free_port();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);

    char script[512];
    /* /proc/net/dev lists the namespace's interfaces: only lo (bwrap sets lo up) */
    snprintf(script, sizeof(script),
             "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; "
             "if command -v bash >/dev/null; then "
             "bash -c 'echo x >/dev/tcp/127.0.0.1/%d' 2>/dev/null && echo reached || echo refused; "
             "else echo refused; fi",
             port);
    sw_sandbox_spec spec = spec_for(script, &c);
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    close(fd);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_str_eq(c.text[0], "lo");
    ck_assert_str_eq(c.text[1], "refused");
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_out_of_memory)
{
    captured c = {0};
    if (sw_sandbox_cgroup_mode_get() == SW_SANDBOX_CGROUP_NONE) {
        /* RLIMIT_AS fallback: still stopped, but reported as a plain failure */
        fprintf(stderr, "no cgroups here: OOM reporting not checked\n");
        return;
    }
    sw_sandbox_spec spec = spec_for("echo start; tail /dev/zero; echo survived", &c);
    spec.memory_bytes = 64ull << 20;
    sw_sandbox_result res;
    int64_t t0 = sw_clock_mono_ms();
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    ck_assert_int_lt(sw_clock_mono_ms() - t0, 15000);
    ck_assert_int_eq(res.killed_by, SW_SANDBOX_KILLED_OOM);
    ck_assert_str_eq(res.reason, "killed: out of memory (limit 64 MiB)");
    ck_assert_int_ge(sw_capture_find(&c, 0, "start"), 0);
    assert_nothing_left(&res);
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_pids_limit_holds_fork_bomb)
{
    captured c = {0};
    if (sw_sandbox_cgroup_mode_get() == SW_SANDBOX_CGROUP_NONE) {
        return;
    }
    sw_sandbox_spec spec = spec_for("i=0; while [ $i -lt 200 ]; do sleep 2 & i=$((i+1)); done; "
                                    "wait; echo done",
                                    &c);
    spec.pids = 32;
    spec.timeout_ms = 20000;
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    ck_assert_int_ne(res.killed_by, SW_SANDBOX_KILLED_TIMEOUT);
    ck_assert_msg(sw_capture_find(&c, SLIPWAY__LOG_STREAM__STDERR, "fork") >= 0,
                  "no fork failure seen (%zu lines)", c.n);
    assert_nothing_left(&res);
    /* we are fine: we can still start processes */
    ck_assert_int_eq(system("true"), 0);
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_timeout_kills_the_tree)
{
    captured c = {0};
    sw_sandbox_spec spec = spec_for("sleep 30 & sleep 30; echo never", &c);
    spec.timeout_ms = 1000;
    sw_sandbox_result res;
    int64_t t0 = sw_clock_mono_ms();
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    int64_t took = sw_clock_mono_ms() - t0;
    ck_assert_int_ge(took, 900);
    ck_assert_int_lt(took, 2500);
    ck_assert_int_eq(res.killed_by, SW_SANDBOX_KILLED_TIMEOUT);
    ck_assert_str_eq(res.reason, "killed: timed out after 1s");
    ck_assert_int_lt(sw_capture_find(&c, 0, "never"), 0);
    /* ticks came at least every 100 ms */
    ck_assert_int_ge(c.ticks, 8);
    ck_assert_int_le(c.max_tick_gap, 100);
    assert_nothing_left(&res);
    sw_capture_free(&c);
}
END_TEST

static void *cancel_later(void *arg)
{
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    *(volatile int *)arg = 1;
    return NULL;
}

START_TEST(test_cancel)
{
    captured c = {0};
    volatile int cancel = 0;
    pthread_t th;
    sw_sandbox_spec spec = spec_for("echo running; sleep 30", &c);
    spec.cancel = &cancel;
    sw_sandbox_result res;
    ck_assert_int_eq(pthread_create(&th, NULL, cancel_later, (void *)&cancel), 0);
    int64_t t0 = sw_clock_mono_ms();
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    ck_assert_int_lt(sw_clock_mono_ms() - t0, 2000);
    pthread_join(th, NULL);
    ck_assert_int_eq(res.killed_by, SW_SANDBOX_KILLED_CANCEL);
    ck_assert_str_eq(res.reason, "killed: cancelled");
    ck_assert_int_ge(sw_capture_find(&c, 0, "running"), 0);
    assert_nothing_left(&res);
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_no_cgroup_left_in_parent)
{
    captured c = {0};
    sw_sandbox_spec spec = spec_for("true", &c);
    spec.memory_bytes = 32ull << 20;
    spec.pids = 16;
    spec.cpu_millis = 500;
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    if (res.cgroup[0] == '\0') {
        return;
    }
    /* no step-<our pid>-* directory remains next to it */
    char *parent = strdup(res.cgroup);
    *strrchr(parent, '/') = '\0';
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "step-%ld-", (long)getpid());
    DIR *d = opendir(parent);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        ck_assert_msg(strncmp(e->d_name, prefix, strlen(prefix)) != 0, "left behind: %s/%s",
                      parent, e->d_name);
    }
    closedir(d);
    free(parent);
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_leftover_step_cgroup_is_taken_over)
{
    /* A builder that died by SIGKILL leaves its empty step cgroups behind; a
     * later builder with the same pid must not fail on their names. */
    captured c = {0};
    sw_sandbox_spec spec = spec_for("true", &c);
    spec.memory_bytes = 32ull << 20;
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    if (res.cgroup[0] == '\0') {
        sw_capture_free(&c);
        return; /* no cgroups on this host */
    }
    char *parent = strdup(res.cgroup);
    *strrchr(parent, '/') = '\0';
    long pid;
    unsigned k;
    ck_assert_int_eq(sscanf(strrchr(res.cgroup, '/') + 1, "step-%ld-%u", &pid, &k), 2);
    ck_assert_int_eq(pid, (long)getpid());
    char dirs[20][PATH_MAX];
    for (unsigned i = 0; i < 20; i++) { /* the next names this process will use */
        snprintf(dirs[i], sizeof(dirs[i]), "%s/step-%ld-%u", parent, pid, k + 1 + i);
        ck_assert_msg(mkdir(dirs[i], 0755) == 0, "%s: %s", dirs[i], strerror(errno));
    }
    int rc = sw_sandbox_run(&spec, &res);
    for (unsigned i = 0; i < 20; i++) {
        rmdir(dirs[i]);
    }
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    ck_assert_int_eq(res.exit_code, 0);
    assert_nothing_left(&res);
    free(parent);
    sw_capture_free(&c);
}
END_TEST

/* Children of this process seen on ticks, by the base name of their program. */
typedef struct watched {
    captured c; /* first: spec.line gets the same ud */
    int init_seen, other_seen;
    char other[PATH_MAX];
} watched;

static void watch_children(void *ud)
{
    watched *w = ud;
    DIR *d = opendir("/proc");
    struct dirent *e;
    sw_capture_tick(&w->c);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX], exe[PATH_MAX], stat[512];
        int ppid = 0;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = '\0';
        const char *p = strrchr(stat, ')');
        if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid != (int)getpid()) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/exe", e->d_name);
        ssize_t len = readlink(path, exe, sizeof(exe) - 1);
        if (len <= 0) {
            continue; /* it has just gone */
        }
        exe[len] = '\0';
        const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
        if (strcmp(base, "slipway-sandbox-init") == 0) {
            w->init_seen++;
        } else {
            w->other_seen++;
            memcpy(w->other, exe, (size_t)len + 1);
        }
    }
    closedir(d);
}

START_TEST(test_step_is_not_a_fork_of_this_process)
{
    /* posix_spawn of slipway-sandbox-init: the only child this process ever has
     * is that program, never a copy of itself */
    watched w;
    memset(&w, 0, sizeof(w));
    sw_sandbox_spec spec = spec_for("sleep 0.5; echo done", &w.c);
    spec.ud = &w;
    spec.tick = watch_children;
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_int_ge(sw_capture_find(&w.c, 0, "done"), 0);
    ck_assert_int_gt(w.init_seen, 0);
    ck_assert_msg(w.other_seen == 0, "a child of ours ran %s", w.other);
    assert_nothing_left(&res);
    sw_capture_free(&w.c);
}
END_TEST

START_TEST(test_no_fd_of_ours_reaches_the_step)
{
    /* not close-on-exec, as a library on another thread might open one */
    int leaky = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(leaky, 0);
    captured c = {0};
    sw_sandbox_spec spec = spec_for("ls /proc/$$/fd", &c);
    sw_sandbox_result res;
    ck_assert_int_eq(sw_sandbox_run(&spec, &res), 0);
    close(leaky);
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_uint_eq(c.n, 3);
    ck_assert_str_eq(c.text[0], "0");
    ck_assert_str_eq(c.text[1], "1");
    ck_assert_str_eq(c.text[2], "2");
    sw_capture_free(&c);
}
END_TEST

START_TEST(test_missing_init_says_what_to_do)
{
    const char *was = getenv("SLIPWAY_SANDBOX_INIT");
    char *saved = was ? strdup(was) : NULL;
    captured c = {0};
    sw_sandbox_spec spec = spec_for("echo never", &c);
    sw_sandbox_result res;
    setenv("SLIPWAY_SANDBOX_INIT", "/nonexistent/slipway-sandbox-init", 1);
    int rc = sw_sandbox_run(&spec, &res);
    if (saved != NULL) {
        setenv("SLIPWAY_SANDBOX_INIT", saved, 1);
    } else {
        unsetenv("SLIPWAY_SANDBOX_INIT");
    }
    free(saved);
    ck_assert_int_eq(rc, SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "SLIPWAY_SANDBOX_INIT=/nonexistent/slipway-sandbox-init") !=
                      NULL &&
                      strstr(sw_error_last(), "No such file") != NULL,
                  "%s", sw_error_last());
    ck_assert_uint_eq(c.n, 0);
    assert_nothing_left(&res);
}
END_TEST

/* Runs slipway-sandbox-init with argv[1..] (NULL-terminated), its status pipe
 * on fd 3; fills report (zeroes when nothing was written) and returns its
 * exit status. */
static int run_init(int report[2], const char *const *args)
{
    const char *init = getenv("SLIPWAY_SANDBOX_INIT");
    ck_assert_msg(init != NULL, "SLIPWAY_SANDBOX_INIT is not set (run through meson test)");
    const char *argv[16] = {init};
    for (int i = 0; args[i] != NULL; i++) {
        argv[i + 1] = args[i];
    }
    int fds[2], status;
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (dup2(fds[1], 3) < 0) {
            _exit(126);
        }
        execv(init, (char *const *)argv);
        _exit(126);
    }
    close(fds[1]);
    report[0] = report[1] = 0;
    ssize_t got = read(fds[0], report, 2 * sizeof(int));
    ck_assert(got == 0 || got == 2 * sizeof(int));
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_init_refuses_what_is_not_its_protocol)
{
    char parent[32], marker[PATH_MAX + 16];
    int report[2];
    snprintf(parent, sizeof(parent), "%ld", (long)getpid());
    snprintf(marker, sizeof(marker), "%s/ran", workspace);

    /* no "--", no program after it, a limit that is no number */
    const char *no_sep[] = {parent, "0", "/bin/touch", marker, NULL};
    ck_assert_int_eq(run_init(report, no_sep), 127);
    ck_assert_int_eq(report[0], 1); /* SW_SANDBOX_INIT_FAIL_ARGS */
    ck_assert_int_eq(report[1], EINVAL);
    const char *nothing_after[] = {parent, "0", "--", NULL};
    ck_assert_int_eq(run_init(report, nothing_after), 127);
    ck_assert_int_eq(report[0], 1);
    const char *bad_limit[] = {parent, "64M", "--", "/bin/touch", marker, NULL};
    ck_assert_int_eq(run_init(report, bad_limit), 127);
    ck_assert_int_eq(report[0], 1);

    /* a cgroup it cannot join */
    const char *no_cgroup[] = {parent, "0", "/nonexistent/cgroup.procs", "--", "/bin/touch",
                               marker, NULL};
    ck_assert_int_eq(run_init(report, no_cgroup), 127);
    ck_assert_int_eq(report[0], 2); /* SW_SANDBOX_INIT_FAIL_CGROUP */
    ck_assert_int_eq(report[1], ENOENT);

    /* a program it cannot execute */
    const char *no_program[] = {parent, "0", "--", "/nonexistent/bwrap", NULL};
    ck_assert_int_eq(run_init(report, no_program), 127);
    ck_assert_int_eq(report[0], 5); /* SW_SANDBOX_INIT_FAIL_EXEC */
    ck_assert_int_eq(report[1], ENOENT);

    /* started by someone other than the parent it names: it runs nothing */
    const char *other_parent[] = {"1", "0", "--", "/bin/touch", marker, NULL};
    ck_assert_int_eq(run_init(report, other_parent), 127);
    ck_assert_int_eq(report[0], 0);
    ck_assert_int_ne(access(marker, F_OK), 0);

    /* and as it should be: it runs the program and exits as it did */
    const char *good[] = {parent, "0", "--", "/bin/sh", "-c", "touch \"$0\"; exit 7", marker,
                          NULL};
    ck_assert_int_eq(run_init(report, good), 7);
    ck_assert_int_eq(report[0], 0);
    ck_assert_int_eq(access(marker, F_OK), 0);
}
END_TEST

START_TEST(test_formatting)
{
    char buf[64];
    ck_assert_str_eq(sw_sandbox_format_bytes(buf, sizeof(buf), 64ull << 20), "64 MiB");
    ck_assert_str_eq(sw_sandbox_format_bytes(buf, sizeof(buf), 3ull << 30), "3 GiB");
    ck_assert_str_eq(sw_sandbox_format_bytes(buf, sizeof(buf), 1536ull << 20), "1.5 GiB");
    ck_assert_str_eq(sw_sandbox_format_bytes(buf, sizeof(buf), 100), "100 bytes");
    ck_assert_str_eq(sw_sandbox_format_duration(buf, sizeof(buf), 2000), "2s");
    ck_assert_str_eq(sw_sandbox_format_duration(buf, sizeof(buf), 500), "500ms");
    ck_assert_str_eq(sw_sandbox_format_duration(buf, sizeof(buf), 600000), "10m");
    ck_assert_str_eq(sw_sandbox_format_duration(buf, sizeof(buf), 90000), "1m30s");
    ck_assert_str_eq(sw_sandbox_format_duration(buf, sizeof(buf), 3600000), "1h");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sandbox");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lines_on_their_streams);
    tcase_add_test(tc, test_long_line_cut_into_pieces);
    tcase_add_test(tc, test_exit_code_reported);
    tcase_add_test(tc, test_environment);
    tcase_add_test(tc, test_workspace_writable_root_not);
    tcase_add_test(tc, test_network_unshared);
    tcase_add_test(tc, test_out_of_memory);
    tcase_add_test(tc, test_pids_limit_holds_fork_bomb);
    tcase_add_test(tc, test_timeout_kills_the_tree);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_no_cgroup_left_in_parent);
    tcase_add_test(tc, test_leftover_step_cgroup_is_taken_over);
    tcase_add_test(tc, test_step_is_not_a_fork_of_this_process);
    tcase_add_test(tc, test_no_fd_of_ours_reaches_the_step);
    tcase_add_test(tc, test_missing_init_says_what_to_do);
    tcase_add_test(tc, test_init_refuses_what_is_not_its_protocol);
    tcase_add_test(tc, test_formatting);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
