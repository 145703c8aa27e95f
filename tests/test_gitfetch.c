/* test_gitfetch.c - fetching one commit by branch, tag, sha, pull ref and remote HEAD,
 * from a path and from a real `git daemon`; and the errors. */
#include "actors/builder/gitfetch.h"
#include "runtime/error.h"
#include "support.h"

#include <arpa/inet.h>
#include <check.h>
#include <git2.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *root;          /* tmp dir holding the origin repo and the fetch targets */
static char origin[512];    /* root/src.git: a bare repository */
static char first_sha[41], second_sha[41], fail_sha[41];
static int dest_counter;

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static void capture(char out[41], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void capture(char out[41], const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(out, 41, p));
    pclose(p);
    ck_assert_uint_eq(strlen(out), 40);
}

/* Two commits on main, a branch `fail` with a third, an annotated tag v1 on the first,
 * and a pull ref; pushed to a bare repository. */
static void setup(void)
{
    root = sw_test_tmpdir("sw-gitfetch");
    snprintf(origin, sizeof(origin), "%s/src.git", root);
    setenv("GIT_AUTHOR_NAME", "t", 1);
    setenv("GIT_AUTHOR_EMAIL", "t@example.org", 1);
    setenv("GIT_COMMITTER_NAME", "t", 1);
    setenv("GIT_COMMITTER_EMAIL", "t@example.org", 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("HOME", root, 1);
    run("cd %s && git init -q -b main work && cd work && "
        "echo one > file.txt && git add file.txt && git commit -q -m one && "
        "git tag -a v1 -m 'version 1' && "
        "echo two > file.txt && git commit -q -am two && "
        "git checkout -q -b fail && echo three > file.txt && git commit -q -am three && "
        "git checkout -q main && "
        "git init -q --bare -b main ../src.git && git push -q ../src.git main fail v1 && "
        "git push -q ../src.git fail:refs/pull/2/head",
        root);
    capture(first_sha, "git -C %s/work rev-parse main~1", root);
    capture(second_sha, "git -C %s/work rev-parse main", root);
    capture(fail_sha, "git -C %s/work rev-parse fail", root);
    dest_counter = 0;
}

static void teardown(void)
{
    sw_test_rmtree(root);
    free(root);
    root = NULL;
}

static char *new_dest(void)
{
    char *dest = NULL;
    ck_assert_int_ne(asprintf(&dest, "%s/dest%d", root, dest_counter++), -1);
    return dest;
}

/* The first line of file.txt in dest. */
static void assert_content(const char *dest, const char *expect)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/file.txt", dest);
    char *text = sw_test_read_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    text[strcspn(text, "\n")] = '\0';
    ck_assert_str_eq(text, expect);
    free(text);
}

static void fetch_ok(const char *url, const char *ref, const char *sha, const char *want_sha,
                     const char *want_content)
{
    char *dest = new_dest();
    char got[41] = "";
    ck_assert_msg(sw_gitfetch(url, ref, sha, dest, got) == 0, "%s", sw_error_last());
    ck_assert_str_eq(got, want_sha);
    assert_content(dest, want_content);
    /* HEAD is detached at the commit */
    char head[41];
    capture(head, "git -C %s rev-parse HEAD", dest);
    ck_assert_str_eq(head, want_sha);
    free(dest);
}

START_TEST(test_by_branch)
{
    fetch_ok(origin, "main", NULL, second_sha, "two");
    fetch_ok(origin, "fail", "", fail_sha, "three");
    fetch_ok(origin, "refs/heads/main", NULL, second_sha, "two");
}
END_TEST

START_TEST(test_by_tag_and_pull_ref)
{
    fetch_ok(origin, "v1", NULL, first_sha, "one");
    fetch_ok(origin, "refs/tags/v1", NULL, first_sha, "one");
    fetch_ok(origin, "refs/pull/2/head", NULL, fail_sha, "three");
}
END_TEST

START_TEST(test_remote_head)
{
    fetch_ok(origin, NULL, NULL, second_sha, "two");
    fetch_ok(origin, "", NULL, second_sha, "two");
}
END_TEST

START_TEST(test_by_sha)
{
    fetch_ok(origin, "main", first_sha, first_sha, "one");
    char abbrev[9];
    snprintf(abbrev, sizeof(abbrev), "%.8s", first_sha);
    fetch_ok(origin, "main", abbrev, first_sha, "one");
    /* no ref: every branch is fetched */
    fetch_ok(origin, NULL, fail_sha, fail_sha, "three");
}
END_TEST

START_TEST(test_unknown_ref_and_sha)
{
    char *dest = new_dest();
    char got[41];
    ck_assert_int_eq(sw_gitfetch(origin, "nope", NULL, dest, got), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "no branch or tag 'nope'") != NULL, "%s",
                  sw_error_last());
    free(dest);

    dest = new_dest();
    ck_assert_int_eq(sw_gitfetch(origin, "refs/pull/9/head", NULL, dest, got), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), "no ref 'refs/pull/9/head'") != NULL, "%s",
                  sw_error_last());
    free(dest);

    dest = new_dest();
    /* fail's commit is not reachable from main */
    ck_assert_int_eq(sw_gitfetch(origin, "main", fail_sha, dest, got), SW_ENOTFOUND);
    ck_assert_msg(strstr(sw_error_last(), fail_sha) != NULL, "%s", sw_error_last());
    free(dest);

    dest = new_dest();
    ck_assert_int_eq(sw_gitfetch(origin, "main", "0123456789012345678901234567890123456789",
                                 dest, got),
                     SW_ENOTFOUND);
    free(dest);

    dest = new_dest();
    ck_assert_int_eq(sw_gitfetch(origin, "main", "not-a-sha", dest, got), SW_EINVALID);
    free(dest);
}
END_TEST

START_TEST(test_unreachable_repository)
{
    char *dest = new_dest();
    char got[41];
    char url[600];
    snprintf(url, sizeof(url), "%s/does-not-exist.git", root);
    ck_assert_int_eq(sw_gitfetch(url, "main", NULL, dest, got), SW_EIO);
    ck_assert_msg(strstr(sw_error_last(), "cannot reach repository") != NULL, "%s",
                  sw_error_last());
    free(dest);

    dest = new_dest();
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/src.git", sw_test_free_port());
    ck_assert_int_eq(sw_gitfetch(url, "main", NULL, dest, got), SW_EIO);
    ck_assert_msg(strstr(sw_error_last(), "cannot reach repository") != NULL, "%s",
                  sw_error_last());
    free(dest);
}
END_TEST

static int port_open(int port)
{
    struct sockaddr_in addr = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

START_TEST(test_git_daemon)
{
    int port = sw_test_free_port();
    char base[600], port_arg[64];
    snprintf(base, sizeof(base), "--base-path=%s", root);
    snprintf(port_arg, sizeof(port_arg), "--port=%d", port);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execlp("git", "git", "daemon", "--export-all", base, "--listen=127.0.0.1", port_arg,
               "--reuseaddr", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && !port_open(port); i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char url[128];
    snprintf(url, sizeof(url), "git://127.0.0.1:%d/src.git", port);
    fetch_ok(url, "main", NULL, second_sha, "two");
    fetch_ok(url, "v1", NULL, first_sha, "one");
    fetch_ok(url, "main", first_sha, first_sha, "one");
    fetch_ok(url, NULL, NULL, second_sha, "two");

    char *dest = new_dest();
    char got[41];
    ck_assert_int_eq(sw_gitfetch(url, "nope", NULL, dest, got), SW_ENOTFOUND);
    free(dest);

    kill(pid, SIGTERM);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gitfetch");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_by_branch);
    tcase_add_test(tc, test_by_tag_and_pull_ref);
    tcase_add_test(tc, test_remote_head);
    tcase_add_test(tc, test_by_sha);
    tcase_add_test(tc, test_unknown_ref_and_sha);
    tcase_add_test(tc, test_unreachable_repository);
    tcase_add_test(tc, test_git_daemon);
    suite_add_tcase(s, tc);
    int status = sw_test_run(s);
    git_libgit2_shutdown();
    return status;
}
