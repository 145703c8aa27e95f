/*
 * test_provider_exec.c - the exec provider, driven through the examples in
 * tools/autoscale/ against the fake systemctl and kubectl of
 * tests/fixtures/autoscale/ (first in PATH), and through inline commands for
 * what every command gets: its arguments, environment, a clean start, errors
 * and a timeout that leaves nothing running.
 */
#include "actors/autoscaler/provider.h"
#include "runtime/core/clock.h"
#include "runtime/config.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include "support.h"

#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp, *state_dir, *log_path, *out_path, *config_path;
static const sw_config *cfg;
static sw_provider *prov;

static const char *source_dir(void)
{
    const char *s = getenv("SLIPWAY_SOURCE_DIR");
    ck_assert_msg(s != NULL, "SLIPWAY_SOURCE_DIR is not set (run through meson test)");
    return s;
}

static void setup(void)
{
    static char *path_at_start;
    char *path;

    if (path_at_start == NULL) {
        path_at_start = sw_strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    }
    tmp = sw_test_tmpdir("sw-provider-exec");
    state_dir = sw_asprintf("%s/state", tmp);
    log_path = sw_asprintf("%s/log", tmp);
    out_path = sw_asprintf("%s/out", tmp);
    config_path = sw_asprintf("%s/slipway.yaml", tmp);
    ck_assert_int_eq(mkdir(state_dir, 0755), 0);
    sw_test_write_file(log_path, "");
    path = sw_asprintf("%s/tests/fixtures/autoscale:%s", source_dir(), path_at_start);
    setenv("PATH", path, 1);
    free(path);
    setenv("FAKE_STATE", state_dir, 1);
    setenv("FAKE_LOG", log_path, 1);
    setenv("TEST_OUT", out_path, 1);
    setenv("SLIPWAY_SLIPWAYD", "/opt/slipway/bin/slipwayd", 1);
    unsetenv("FAKE_FAIL");
}

static void teardown(void)
{
    sw_provider_close(&prov);
    sw_config_release(&cfg);
    sw_test_rmtree(tmp);
    free(tmp);
    free(state_dir);
    free(log_path);
    free(out_path);
    free(config_path);
}

/* A YAML single-quoted scalar of s. */
static char *yaml_quote(const char *s)
{
    char *q = sw_calloc(1, 2 * strlen(s) + 3), *w = q;
    *w++ = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            *w++ = '\'';
        }
        *w++ = *s;
    }
    *w = '\'';
    return q;
}

/* Opens prov, cluster demo's exec provider with these commands; a command
 * beginning with "@" is the example script tools/autoscale/<rest>. */
static void open_provider(const char *create, const char *destroy, const char *list,
                          const char *timeout)
{
    const char *cmds[3] = {create, destroy, list};
    char *quoted[3], *text;
    sw_config *parsed = NULL;

    for (int i = 0; i < 3; i++) {
        char *cmd = cmds[i][0] == '@'
                        ? sw_asprintf("%s/tools/autoscale/%s", source_dir(), cmds[i] + 1)
                        : sw_strdup(cmds[i]);
        quoted[i] = yaml_quote(cmd);
        free(cmd);
    }
    text = sw_asprintf("data_dir: %s\n"
                       "tiers:\n"
                       "  - name: free\n"
                       "tenants:\n"
                       "  - name: demo\n"
                       "    tier: free\n"
                       "projects:\n"
                       "  - name: demo\n"
                       "    tenant: demo\n"
                       "    repository: git://127.0.0.1:9418/demo.git\n"
                       "clusters:\n"
                       "  - name: demo\n"
                       "    tier: free\n"
                       "    autoscale:\n"
                       "      provider: exec\n"
                       "      max: 4\n"
                       "      slots: 2\n"
                       "      exec:\n"
                       "        create: %s\n"
                       "        destroy: %s\n"
                       "        list: %s\n"
                       "        timeout: %s\n",
                       tmp, quoted[0], quoted[1], quoted[2], timeout);
    sw_test_write_file(config_path, text);
    ck_assert_msg(sw_config_parse(&parsed, text, strlen(text), config_path) == 0, "%s",
                  sw_error_last());
    cfg = parsed;
    ck_assert_msg(sw_provider_open(&prov, cfg, sw_config_cluster(cfg, "demo")) == 0, "%s",
                  sw_error_last());
    for (int i = 0; i < 3; i++) {
        free(quoted[i]);
    }
    free(text);
}

static void open_example(const char *kind)
{
    char *c = sw_asprintf("@%s/create", kind), *d = sw_asprintf("@%s/destroy", kind),
         *l = sw_asprintf("@%s/list", kind);
    open_provider(c, d, l, "10s");
    free(c);
    free(d);
    free(l);
}

static char *read_text(const char *path)
{
    char *s = sw_test_read_file(path, NULL);
    ck_assert_msg(s != NULL, "cannot read %s", path);
    return s;
}

static void assert_file_is(const char *path, const char *want)
{
    char *got = read_text(path);
    ck_assert_msg(strcmp(got, want) == 0, "%s:\n--- got\n%s--- want\n%s", path, got, want);
    free(got);
}

/* list must give exactly want (a NULL-ended array), in that order. */
static void assert_list_is(const char *const *want)
{
    char **names = NULL;
    size_t n = 0, i;
    ck_assert_msg(sw_provider_list(prov, &names, &n) == 0, "%s", sw_error_last());
    for (i = 0; want[i] != NULL; i++) {
        ck_assert_msg(i < n, "list gave %zu names, not %s", n, want[i]);
        ck_assert_str_eq(names[i], want[i]);
    }
    ck_assert_uint_eq(n, i);
    sw_provider_free_names(names, n);
}

static void assert_error(int rc, int code, const char *want)
{
    ck_assert_msg(rc == code, "expected %s, got %d (%s)", sw_error_name(code), rc, sw_error_last());
    ck_assert_msg(strcmp(sw_error_last(), want) == 0, "got '%s', want '%s'", sw_error_last(), want);
}

static void assert_error_has(int rc, int code, const char *what)
{
    ck_assert_msg(rc == code, "expected %s, got %d (%s)", sw_error_name(code), rc, sw_error_last());
    ck_assert_msg(strstr(sw_error_last(), what) != NULL, "expected '%s' in '%s'", what,
                  sw_error_last());
}

/* ---- the systemd example ----------------------------------------------------------- */

START_TEST(test_systemd_create_list_destroy)
{
    open_example("systemd");
    ck_assert_msg(sw_provider_create(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    ck_assert_msg(sw_provider_create(prov, "demo-auto-2b") == 0, "%s", sw_error_last());
    assert_list_is((const char *[]){"demo-auto-1a", "demo-auto-2b", NULL});
    ck_assert_msg(sw_provider_destroy(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    assert_list_is((const char *[]){"demo-auto-2b", NULL});

    assert_file_is(log_path, "systemctl start slipway-builder@demo-auto-1a.service\n"
                             "systemctl start slipway-builder@demo-auto-2b.service\n"
                             "systemctl list-units --all --plain --no-legend slipway-builder@*\n"
                             "systemctl stop slipway-builder@demo-auto-1a.service\n"
                             "systemctl reset-failed slipway-builder@demo-auto-1a.service\n"
                             "systemctl list-units --all --plain --no-legend slipway-builder@*\n");
}
END_TEST

START_TEST(test_systemd_list_keeps_failed_units_and_leaves_out_others)
{
    char *failed = sw_asprintf("%s/slipway-builder@demo-auto-3c.service", state_dir);
    open_example("systemd");
    sw_test_write_file(failed, "loaded failed failed\n"); /* listed after a '●' */
    ck_assert_int_eq(sw_provider_create(prov, "demo-auto-1a"), 0);
    assert_list_is((const char *[]){"demo-auto-1a", "demo-auto-3c", NULL});
    /* destroy forgets the failure, so that it is gone from list */
    ck_assert_msg(sw_provider_destroy(prov, "demo-auto-3c") == 0, "%s", sw_error_last());
    assert_list_is((const char *[]){"demo-auto-1a", NULL});
    free(failed);
}
END_TEST

START_TEST(test_systemd_destroy_of_a_builder_not_there_is_no_error)
{
    open_example("systemd");
    ck_assert_msg(sw_provider_destroy(prov, "demo-auto-9z") == 0, "%s", sw_error_last());
    assert_list_is((const char *[]){NULL});
}
END_TEST

START_TEST(test_systemd_with_the_name_as_an_argument)
{
    /* `create "$1"` in exec: works as well as the bare path */
    open_provider("@systemd/create \"$1\"", "@systemd/destroy \"$1\"", "@systemd/list", "10s");
    ck_assert_msg(sw_provider_create(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    assert_list_is((const char *[]){"demo-auto-1a", NULL});
    ck_assert_msg(sw_provider_destroy(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    assert_list_is((const char *[]){NULL});
}
END_TEST

/* ---- the kubectl example ----------------------------------------------------------- */

START_TEST(test_kubectl_create_list_destroy)
{
    char *log;
    open_example("kubectl");
    ck_assert_msg(sw_provider_create(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    assert_list_is((const char *[]){"demo-auto-1a", NULL});
    ck_assert_msg(sw_provider_destroy(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    assert_list_is((const char *[]){NULL});

    log = read_text(log_path);
    ck_assert_msg(strncmp(log, "kubectl apply -f -\napiVersion: v1\nkind: Pod\n", 44) == 0, "%s",
                  log);
    ck_assert_ptr_nonnull(strstr(log, "\nmetadata:\n  name: demo-auto-1a\n  labels:\n"
                                      "    slipway.pool: \"demo\"\n"));
    ck_assert_ptr_nonnull(strstr(log, "image: \"slipway/builder\"\n"));
    ck_assert_ptr_nonnull(strstr(log,
                                 "command: [\"slipwayd\", \"-c\", "
                                 "\"/etc/slipway/slipway.yaml\", \"builder:demo-auto-1a\"]\n"));
    ck_assert_ptr_nonnull(strstr(log,
                                 "\nkubectl get pods -l slipway.pool=demo -o "
                                 "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}\n"
                                 "kubectl delete pod demo-auto-1a --ignore-not-found "
                                 "--wait=false\n"
                                 "kubectl get pods -l slipway.pool=demo -o "
                                 "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}\n"));
    free(log);
}
END_TEST

START_TEST(test_kubectl_image_and_namespace_from_the_environment)
{
    char *log;
    setenv("SLIPWAY_BUILDER_IMAGE", "registry.example.com/slipway:1.2", 1);
    setenv("SLIPWAY_NAMESPACE", "ci", 1);
    open_example("kubectl");
    ck_assert_msg(sw_provider_create(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    unsetenv("SLIPWAY_BUILDER_IMAGE");
    unsetenv("SLIPWAY_NAMESPACE");
    log = read_text(log_path);
    ck_assert_msg(strncmp(log, "kubectl --namespace=ci apply -f -\n", 34) == 0, "%s", log);
    ck_assert_ptr_nonnull(strstr(log, "image: \"registry.example.com/slipway:1.2\"\n"));
    free(log);
}
END_TEST

START_TEST(test_kubectl_list_is_only_its_pool)
{
    char *other = sw_asprintf("%s/other-auto-1a", state_dir);
    open_example("kubectl");
    sw_test_write_file(other, "other\n");
    ck_assert_int_eq(sw_provider_create(prov, "demo-auto-1a"), 0);
    assert_list_is((const char *[]){"demo-auto-1a", NULL});
    free(other);
}
END_TEST

START_TEST(test_kubectl_destroy_of_a_builder_not_there_is_no_error)
{
    open_example("kubectl");
    ck_assert_msg(sw_provider_destroy(prov, "demo-auto-9z") == 0, "%s", sw_error_last());
}
END_TEST

/* ---- failures ---------------------------------------------------------------------- */

START_TEST(test_failing_create_says_why)
{
    setenv("FAKE_FAIL", "create", 1);
    open_example("systemd");
    assert_error(sw_provider_create(prov, "demo-auto-1a"), SW_EIO,
                 "exec create demo-auto-1a: exit status 1: Failed to start "
                 "slipway-builder@demo-auto-1a.service: quota exceeded (fake)");
    sw_provider_close(&prov);
    sw_config_release(&cfg);

    open_example("kubectl");
    assert_error(sw_provider_create(prov, "demo-auto-1a"), SW_EIO,
                 "exec create demo-auto-1a: exit status 1: Error from server (Forbidden): "
                 "pods: quota exceeded (fake)");
}
END_TEST

START_TEST(test_failing_destroy_and_list_say_why)
{
    open_example("kubectl");
    setenv("FAKE_FAIL", "destroy", 1);
    assert_error_has(sw_provider_destroy(prov, "demo-auto-1a"), SW_EIO,
                     "exec destroy demo-auto-1a: exit status 1: Error from server");
    setenv("FAKE_FAIL", "list", 1);
    assert_error_has(sw_provider_list(prov, &(char **){NULL}, &(size_t){0}), SW_EIO,
                     "exec list: exit status 1: Error from server");
}
END_TEST

START_TEST(test_exit_status_and_signal_without_stderr)
{
    open_provider("exit 3", "kill -USR2 $$", "echo []", "10s");
    assert_error(sw_provider_create(prov, "demo-auto-1a"), SW_EIO,
                 "exec create demo-auto-1a: exit status 3");
    assert_error(sw_provider_destroy(prov, "demo-auto-1a"), SW_EIO,
                 "exec destroy demo-auto-1a: killed by signal 12 (SIGUSR2)");
}
END_TEST

START_TEST(test_stderr_gives_its_last_non_empty_line)
{
    open_provider("printf 'first\\n  last one  \\n\\n \\n' >&2; exit 2", "true", "echo []", "10s");
    assert_error(sw_provider_create(prov, "demo-auto-1a"), SW_EIO,
                 "exec create demo-auto-1a: exit status 2: last one");
}
END_TEST

START_TEST(test_list_that_is_not_a_list_of_names)
{
    static const char *const bad[] = {
        "echo '[\"a\", '",          "true",
        "echo '{\"name\": \"a\"}'", "echo '[\"a\", 1]'",
        "echo '[{\"id\": \"a\"}]'", "echo '[\"\"]'",
    };
    static const char *const why[] = {
        "exec list: its output is not JSON",
        "exec list: its output is not JSON",
        "must be a JSON array",
        "item 2 of its output is neither",
        "item 1 of its output is neither",
        "item 1 of its output is neither",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char **names = NULL;
        size_t n = 0;
        open_provider("true", "true", bad[i], "10s");
        assert_error_has(sw_provider_list(prov, &names, &n), SW_EINVALID, why[i]);
        ck_assert_ptr_null(names);
        ck_assert_uint_eq(n, 0);
        sw_provider_close(&prov);
        sw_config_release(&cfg);
    }
}
END_TEST

START_TEST(test_list_of_objects_with_names)
{
    open_provider("true", "true",
                  "echo '[{\"name\": \"demo-auto-1a\", \"state\": \"running\"}, \"other\"]'",
                  "10s");
    /* all of them: the autoscaler keeps those of its own form */
    assert_list_is((const char *[]){"demo-auto-1a", "other", NULL});
}
END_TEST

/* ---- what a command gets ----------------------------------------------------------- */

START_TEST(test_arguments_and_environment)
{
    char *want;
    open_provider("printf '%s\\n' \"$0\" \"$1\" \"$#\" \"$SLIPWAY_CLUSTER\" \"$SLIPWAY_BUILDER\" "
                  "\"$SLIPWAY_CONFIG\" \"$SLIPWAY_SLOTS\" \"$SLIPWAY_SLIPWAYD\" >\"$TEST_OUT\"",
                  "true",
                  "printf '%s\\n' \"$0\" \"$#\" \"${SLIPWAY_BUILDER-unset}\" \"$SLIPWAY_CLUSTER\" "
                  ">\"$TEST_OUT\"; echo []",
                  "10s");
    ck_assert_msg(sw_provider_create(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    want = sw_asprintf("slipway-create\ndemo-auto-1a\n1\ndemo\ndemo-auto-1a\n%s\n2\n"
                       "/opt/slipway/bin/slipwayd\n",
                       config_path);
    assert_file_is(out_path, want);
    free(want);

    /* list has no $1 and no SLIPWAY_BUILDER, even when this process has one */
    setenv("SLIPWAY_BUILDER", "stale", 1);
    assert_list_is((const char *[]){NULL});
    unsetenv("SLIPWAY_BUILDER");
    assert_file_is(out_path, "slipway-list\n0\nunset\ndemo\n");
}
END_TEST

START_TEST(test_slipwayd_is_this_binary_unless_set)
{
    char self[PATH_MAX], *want;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    unsetenv("SLIPWAY_SLIPWAYD");
    open_provider("printf '%s\\n' \"$SLIPWAY_SLIPWAYD\" >\"$TEST_OUT\"", "true", "echo []", "10s");
    ck_assert_msg(sw_provider_create(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    want = sw_asprintf("%s\n", self);
    assert_file_is(out_path, want);
    free(want);
}
END_TEST

/* How slipwayd calls it: on a thread other than main, with every signal
 * blocked and SIGPIPE ignored, and fds open without O_CLOEXEC. */
static void *create_on_a_thread(void *arg)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    *(int *)arg = sw_provider_create(prov, "demo-auto-1a");
    return NULL;
}

START_TEST(test_command_starts_clean)
{
    int fd = open("/dev/null", O_RDONLY), rc = -1, stdin_pipe[2], saved_stdin;
    pthread_t t;
    char *cmd;

    ck_assert_int_gt(fd, 2);
    /* this process's stdin a pipe, which the command must not get */
    ck_assert_int_eq(pipe(stdin_pipe), 0);
    saved_stdin = dup(0);
    dup2(stdin_pipe[0], 0);
    signal(SIGPIPE, SIG_IGN);
    /* the shell's own mask and dispositions, read by builtins before it forks
     * anything (dash blocks signals around its forks and clears its children's) */
    cmd =
        sw_asprintf("{ while read -r key value; do case $key in SigBlk:|SigIgn:) "
                    "echo \"$key $value\";; esac; done </proc/$$/status; "
                    "readlink /proc/$$/fd/0; test -e /proc/$$/fd/%d && echo fd %d inherited; true; "
                    "} >\"$TEST_OUT\"",
                    fd, fd);
    open_provider(cmd, "true", "echo []", "10s");
    ck_assert_int_eq(pthread_create(&t, NULL, create_on_a_thread, &rc), 0);
    pthread_join(t, NULL);
    signal(SIGPIPE, SIG_DFL);
    dup2(saved_stdin, 0);
    close(saved_stdin);
    close(stdin_pipe[0]);
    close(stdin_pipe[1]);
    close(fd);
    ck_assert_msg(rc == 0, "%s", sw_error_last());
    assert_file_is(out_path, "SigBlk: 0000000000000000\nSigIgn: 0000000000000000\n/dev/null\n");
    free(cmd);
}
END_TEST

/* ---- timeouts ---------------------------------------------------------------------- */

/* Whether anything that is not a zombie is in process group pgid (zombies
 * count for nothing: here, pid 1 may not reap the orphans it adopts). */
static int group_has_live_process(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int live = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], *stat;
        const char *paren;
        char state;
        int pgrp;
        if (!isdigit((unsigned char)e->d_name[0])) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if ((stat = sw_test_read_file(path, NULL)) == NULL) {
            continue;
        }
        if ((paren = strrchr(stat, ')')) != NULL &&
            sscanf(paren + 1, " %c %*d %d", &state, &pgrp) == 2 && pgrp == pgid && state != 'Z') {
            live++;
        }
        free(stat);
    }
    closedir(d);
    return live;
}

static pid_t pid_in(const char *path)
{
    char *s = read_text(path);
    pid_t pid = (pid_t)atoi(s);
    free(s);
    ck_assert_int_gt(pid, 1);
    return pid;
}

START_TEST(test_hanging_command_is_killed_at_the_timeout)
{
    int64_t started, took;
    pid_t pgid;
    int rc;

    /* a child of its own, in the group: the shell, then sleep */
    open_provider("echo $$ >\"$TEST_OUT\"; sleep 30; true", "true", "echo []", "1s");
    started = sw_clock_mono_ms();
    rc = sw_provider_create(prov, "demo-auto-1a");
    took = sw_clock_mono_ms() - started;
    assert_error(rc, SW_ETIMEDOUT,
                 "exec create demo-auto-1a: 'echo $$ >\"$TEST_OUT\"; sleep 30; true' timed out "
                 "after 1s (killed)");
    ck_assert_msg(took >= 1000 && took < 3000, "took %lld ms", (long long)took);
    pgid = pid_in(out_path);
    ck_assert_int_eq(group_has_live_process(pgid), 0);
}
END_TEST

START_TEST(test_command_deaf_to_sigterm_gets_sigkill)
{
    int64_t started, took;
    pid_t pgid;
    int rc;

    /* SIGTERM ignored by the shell and so by sleep too: SIGKILL 2 s later */
    open_provider("trap '' TERM; echo $$ >\"$TEST_OUT\"; sleep 30; true", "true", "echo []", "1s");
    started = sw_clock_mono_ms();
    rc = sw_provider_create(prov, "demo-auto-1a");
    took = sw_clock_mono_ms() - started;
    assert_error_has(rc, SW_ETIMEDOUT, "timed out after 1s (killed)");
    ck_assert_msg(took >= 3000 && took < 4500, "took %lld ms", (long long)took);
    pgid = pid_in(out_path);
    ck_assert_int_eq(group_has_live_process(pgid), 0);
}
END_TEST

START_TEST(test_a_daemon_left_behind_does_not_hold_the_call)
{
    int64_t started, took;
    pid_t pid;

    /* started in the background with its own stdio: the command's business */
    open_provider("sleep 30 </dev/null >/dev/null 2>&1 & echo $! >\"$TEST_OUT\"", "true", "echo []",
                  "10s");
    started = sw_clock_mono_ms();
    ck_assert_msg(sw_provider_create(prov, "demo-auto-1a") == 0, "%s", sw_error_last());
    took = sw_clock_mono_ms() - started;
    ck_assert_msg(took < 1000, "took %lld ms", (long long)took);
    pid = pid_in(out_path);
    ck_assert_int_eq(kill(pid, 0), 0);
    kill(pid, SIGKILL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("provider_exec");
    TCase *systemd = tcase_create("systemd");
    tcase_add_checked_fixture(systemd, setup, teardown);
    tcase_add_test(systemd, test_systemd_create_list_destroy);
    tcase_add_test(systemd, test_systemd_list_keeps_failed_units_and_leaves_out_others);
    tcase_add_test(systemd, test_systemd_destroy_of_a_builder_not_there_is_no_error);
    tcase_add_test(systemd, test_systemd_with_the_name_as_an_argument);
    suite_add_tcase(s, systemd);
    TCase *kubectl = tcase_create("kubectl");
    tcase_add_checked_fixture(kubectl, setup, teardown);
    tcase_add_test(kubectl, test_kubectl_create_list_destroy);
    tcase_add_test(kubectl, test_kubectl_image_and_namespace_from_the_environment);
    tcase_add_test(kubectl, test_kubectl_list_is_only_its_pool);
    tcase_add_test(kubectl, test_kubectl_destroy_of_a_builder_not_there_is_no_error);
    suite_add_tcase(s, kubectl);
    TCase *errors = tcase_create("errors");
    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_add_test(errors, test_failing_create_says_why);
    tcase_add_test(errors, test_failing_destroy_and_list_say_why);
    tcase_add_test(errors, test_exit_status_and_signal_without_stderr);
    tcase_add_test(errors, test_stderr_gives_its_last_non_empty_line);
    tcase_add_test(errors, test_list_that_is_not_a_list_of_names);
    tcase_add_test(errors, test_list_of_objects_with_names);
    suite_add_tcase(s, errors);
    TCase *command = tcase_create("command");
    tcase_add_checked_fixture(command, setup, teardown);
    tcase_add_test(command, test_arguments_and_environment);
    tcase_add_test(command, test_slipwayd_is_this_binary_unless_set);
    tcase_add_test(command, test_command_starts_clean);
    suite_add_tcase(s, command);
    TCase *timeout = tcase_create("timeout");
    tcase_add_checked_fixture(timeout, setup, teardown);
    tcase_set_timeout(timeout, 30);
    tcase_add_test(timeout, test_hanging_command_is_killed_at_the_timeout);
    tcase_add_test(timeout, test_command_deaf_to_sigterm_gets_sigkill);
    tcase_add_test(timeout, test_a_daemon_left_behind_does_not_hold_the_call);
    suite_add_tcase(s, timeout);
    return sw_test_run(s);
}
