/*
 * sandbox_init.c - slipway-sandbox-init: a step's first process, started by
 * sw_sandbox_run with posix_spawn; joins the step's cgroup and runs bwrap
 * below itself as its reaper (see sandbox_init.h for the protocol).
 *
 * A program of its own so that slipwayd never forks: it links only libc and
 * does nothing but system calls, so its start is an exec of a small binary
 * and its one fork copies almost nothing.
 */
#include "actors/builder/exec/sandbox_init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Tells sw_sandbox_run what failed (step, errno) on the status pipe, exits 127. */
static void fail(int step)
{
    int report[2] = {step, errno};
    if (write(SW_SANDBOX_INIT_STATUS_FD, report, sizeof(report)) < 0) {
        /* nothing more to do: the parent sees exit code 127 */
    }
    _exit(127);
}

/* A decimal number of 0 to max, or -1. */
static long long number(const char *s, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return s[0] != '\0' && *end == '\0' && errno == 0 && v >= 0 && v <= max ? v : -1;
}

/* Decimal into buf (at least 24 bytes); its length. */
static size_t format_pid(char *buf, pid_t pid)
{
    char tmp[24];
    size_t n = 0, len = 0;
    do {
        tmp[n++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid > 0);
    while (n > 0) {
        buf[len++] = tmp[--n];
    }
    buf[len] = '\0';
    return len;
}

static void join_cgroup(const char *procs)
{
    char pid[24];
    size_t len = format_pid(pid, getpid());
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, pid, len) != (ssize_t)len) {
        fail(SW_SANDBOX_INIT_FAIL_CGROUP);
    }
    close(fd);
}

/* Waits for every child (bwrap, and the namespace's init once bwrap's outer
 * process is gone) and exits as bwrap did. */
static void reap(pid_t bwrap)
{
    int status, bwrap_status = 0;
    for (;;) {
        pid_t w = waitpid(-1, &status, 0);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            break; /* ECHILD: nothing is left */
        }
        if (w == bwrap) {
            bwrap_status = status;
        }
    }
    if (WIFSIGNALED(bwrap_status)) {
        signal(WTERMSIG(bwrap_status), SIG_DFL);
        kill(getpid(), WTERMSIG(bwrap_status));
    }
    _exit(WIFEXITED(bwrap_status) ? WEXITSTATUS(bwrap_status) : 127);
}

int main(int argc, char **argv)
{
    static char *const envp[] = {"PATH=" SANDBOX_PATH, NULL};
    int sep = 0;

    /* The status pipe must be ours; anything else that came along (an fd some
     * thread of the daemon opened without O_CLOEXEC) goes before bwrap sees it. */
    if (fcntl(SW_SANDBOX_INIT_STATUS_FD, F_GETFD) < 0) {
        _exit(127);
    }
    close_range(SW_SANDBOX_INIT_STATUS_FD + 1, ~0U, 0);
    for (int i = 3; i < argc && sep == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            sep = i;
        }
    }
    long long parent = argc > 2 ? number(argv[1], INT_MAX) : -1;
    long long rlimit_as = argc > 2 ? number(argv[2], LLONG_MAX) : -1;
    if (parent <= 0 || rlimit_as < 0 || sep == 0 || sep + 1 >= argc) {
        errno = EINVAL;
        fail(SW_SANDBOX_INIT_FAIL_ARGS);
    }

    /* A builder host that dies (even SIGKILL) takes its steps with it: the job
     * runs again elsewhere, and an orphaned step must not go on beside it.
     * bwrap's --die-with-parent then ends the sandbox when this reaper dies. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != (pid_t)parent) {
        _exit(127);
    }
    for (int i = 3; i < sep; i++) {
        join_cgroup(argv[i]);
    }
    if (rlimit_as > 0) {
        struct rlimit rl = {(rlim_t)rlimit_as, (rlim_t)rlimit_as};
        if (setrlimit(RLIMIT_AS, &rl) != 0) {
            fail(SW_SANDBOX_INIT_FAIL_RLIMIT);
        }
    }
    /* bwrap's exec closes the status pipe: the parent's "it started" */
    if (fcntl(SW_SANDBOX_INIT_STATUS_FD, F_SETFD, FD_CLOEXEC) != 0 ||
        prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        fail(SW_SANDBOX_INIT_FAIL_REAPER);
    }
    pid_t bwrap = fork();
    if (bwrap < 0) {
        fail(SW_SANDBOX_INIT_FAIL_REAPER);
    }
    if (bwrap == 0) {
        execve(argv[sep + 1], argv + sep + 1, envp);
        fail(SW_SANDBOX_INIT_FAIL_EXEC);
    }
    close(SW_SANDBOX_INIT_STATUS_FD);
    close(0);
    close(1);
    close(2);
    reap(bwrap);
    return 127;
}
