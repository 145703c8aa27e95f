/*
 * provider_process.c - builders as slipwayd processes on this host (see
 * provider.h): what the tests and the demo use.
 *
 * create starts `slipwayd -c <config> builder:<name>` (the same slipwayd
 * binary, or $SLIPWAY_SLIPWAYD) in the autoscaler's process group, so Ctrl-C
 * in a terminal stops them with it, and writes
 * <data_dir>/autoscale/<cluster>/<name>.pid ("<pid> <start time>"): that file
 * is how list knows its builders after the autoscaler restarted (the start
 * time guards against a reused pid). A builder outlives the autoscaler: a
 * restarted one adopts it. destroy sends SIGTERM (a drained builder has exited
 * already), SIGKILL after DESTROY_GRACE_MS (or at once to a stopped process),
 * and waits for it to be gone.
 */
#include "actors/autoscaler/provider.h"

#include "runtime/core/error.h"
#include "runtime/core/fs.h"
#include "runtime/core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DESTROY_GRACE_MS 5000
#define GONE_WAIT_MS 5000

typedef struct proc_state {
    char dir[2048];
    char slipwayd[PATH_MAX];
} proc_state;

/* The process's start time (field 22 of /proc/<pid>/stat) and its state
 * letter; -1 when there is no such process. */
static long long proc_start(pid_t pid, char *state_out)
{
    char path[64], buf[1024];
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command may hold spaces */
    if (p == NULL) {
        return -1;
    }
    char state = ' ';
    unsigned long long start = 0;
    /* after ") ": state(3) then fields 4..21, start time is 22 */
    if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
                      "%*d %llu",
               &state, &start) != 2) {
        return -1;
    }
    if (state_out) {
        *state_out = state;
    }
    return (long long)start;
}

/* Alive and the same process that was started (not a reused pid, not a
 * zombie: a child of ours that ended is reaped here). */
static bool alive(pid_t pid, long long start, char *state_out)
{
    char state = '?';
    (void)waitpid(pid, NULL, WNOHANG); /* ECHILD when it is not our child: fine */
    long long now = proc_start(pid, &state);
    if (state_out) {
        *state_out = state;
    }
    return now >= 0 && now == start && state != 'Z' && state != 'X';
}

static void pid_path(const sw_provider *p, const char *name, char *out, size_t n)
{
    const proc_state *st = p->impl;
    snprintf(out, n, "%s/%s.pid", st->dir, name);
}

static int read_pid(const sw_provider *p, const char *name, pid_t *pid, long long *start)
{
    char path[PATH_MAX];
    FILE *f;
    int ipid = 0, ok;
    pid_path(p, name, path, sizeof(path));
    if ((f = fopen(path, "r")) == NULL) {
        return SW_ENOTFOUND;
    }
    ok = fscanf(f, "%d %lld", &ipid, start) == 2 && ipid > 1;
    fclose(f);
    *pid = ipid;
    return ok ? 0 : SW_EINVALID;
}

static int write_pid(const sw_provider *p, const char *name, pid_t pid, long long start)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    FILE *f;
    pid_path(p, name, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if ((f = fopen(tmp, "w")) == NULL) {
        return sw_error_set(SW_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    fprintf(f, "%d %lld\n", (int)pid, start);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return sw_error_set(SW_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

static int proc_create(sw_provider *p, const char *name)
{
    proc_state *st = p->impl;
    char target[160];
    char *argv[] = {st->slipwayd, "-c", p->config_path, target, NULL};
    int fds[2], child_errno = 0;
    sigset_t none;
    pid_t pid;

    snprintf(target, sizeof(target), "builder:%s", name);
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return sw_error_set(SW_EIO, "create %s: pipe: %s", name, strerror(errno));
    }
    sigemptyset(&none);
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return sw_error_set(SW_EIO, "create %s: fork: %s", name, strerror(e));
    }
    if (pid == 0) {
        /* only async-signal-safe calls from here to exec */
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(fds[1], 3) == 3 && fcntl(3, F_SETFD, FD_CLOEXEC) == 0) {
            close_range(4, ~0U, 0);
            execv(argv[0], argv);
        }
        int e = errno;
        if (write(3, &e, sizeof(e)) < 0) {
            /* nothing left to tell */
        }
        _exit(127);
    }
    close(fds[1]);
    /* EOF: exec succeeded (the pipe closed on exec); else the child's errno */
    ssize_t got;
    do {
        got = read(fds[0], &child_errno, sizeof(child_errno));
    } while (got < 0 && errno == EINTR);
    close(fds[0]);
    if (got == (ssize_t)sizeof(child_errno)) {
        waitpid(pid, NULL, 0);
        return sw_error_set(SW_EIO, "create %s: cannot run %s: %s", name, st->slipwayd,
                            strerror(child_errno));
    }
    long long start = proc_start(pid, NULL);
    if (start < 0 || write_pid(p, name, pid, start) < 0) {
        int error = start < 0 ? sw_error_set(SW_EIO, "create %s: pid %d ended at once", name,
                                             (int)pid)
                              : sw_error_last_code();
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return error;
    }
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to ms for the process to be gone; true when it is. */
static bool wait_gone(pid_t pid, long long start, int ms)
{
    for (int waited = 0; waited <= ms; waited += 20) {
        if (!alive(pid, start, NULL)) {
            return true;
        }
        sleep_ms(20);
    }
    return false;
}

static int proc_destroy(sw_provider *p, const char *name)
{
    char path[PATH_MAX], state = '?';
    pid_t pid;
    long long start;
    int error = read_pid(p, name, &pid, &start);

    pid_path(p, name, path, sizeof(path));
    if (error == SW_ENOTFOUND) {
        return 0; /* nothing of it left */
    }
    if (error == 0 && alive(pid, start, &state)) {
        if (state != 'T' && state != 't') {
            kill(pid, SIGTERM);
        }
        if (!wait_gone(pid, start, state == 'T' || state == 't' ? 0 : DESTROY_GRACE_MS)) {
            kill(pid, SIGKILL);
            if (!wait_gone(pid, start, GONE_WAIT_MS)) {
                return sw_error_set(SW_EIO, "destroy %s: pid %d survives SIGKILL", name,
                                    (int)pid);
            }
        }
    }
    unlink(path);
    return 0;
}

static int proc_list(sw_provider *p, char ***names_out, size_t *n_out)
{
    proc_state *st = p->impl;
    DIR *d = opendir(st->dir);
    struct dirent *e;
    size_t cap = 0;

    if (d == NULL) {
        return errno == ENOENT ? 0 : sw_error_set(SW_EIO, "cannot read %s: %s", st->dir,
                                                   strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char name[128], path[PATH_MAX];
        pid_t pid;
        long long start;
        if (len < 5 || len - 4 >= sizeof(name) || strcmp(e->d_name + len - 4, ".pid") != 0) {
            continue;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(len - 4), e->d_name);
        if (read_pid(p, name, &pid, &start) == 0 && alive(pid, start, NULL)) {
            if (*n_out == cap) {
                cap = cap ? cap * 2 : 8;
                *names_out = sw_realloc(*names_out, cap * sizeof(char *));
            }
            (*names_out)[(*n_out)++] = sw_strdup(name);
        } else {
            pid_path(p, name, path, sizeof(path));
            unlink(path); /* it ended: nothing to destroy */
        }
    }
    closedir(d);
    return 0;
}

static void proc_close(sw_provider *p)
{
    free(p->impl);
    p->impl = NULL;
}

static const sw_provider_ops process_ops = {
    .kind = "process",
    .create = proc_create,
    .destroy = proc_destroy,
    .list = proc_list,
    .close = proc_close,
};

int sw_provider_process_init(sw_provider *p)
{
    proc_state *st = sw_calloc(1, sizeof(*st));
    const char *bin = getenv("SLIPWAY_SLIPWAYD");
    ssize_t n;
    int error;

    p->ops = &process_ops;
    p->impl = st;
    snprintf(st->dir, sizeof(st->dir), "%s/autoscale/%s", p->data_dir, p->cluster);
    if (bin != NULL && bin[0] != '\0') {
        snprintf(st->slipwayd, sizeof(st->slipwayd), "%s", bin);
    } else if ((n = readlink("/proc/self/exe", st->slipwayd, sizeof(st->slipwayd) - 1)) > 0) {
        st->slipwayd[n] = '\0';
    } else {
        return sw_error_set(SW_EIO, "provider process: cannot find slipwayd: %s",
                            strerror(errno));
    }
    if ((error = sw_fs_mkdir_p(st->dir)) < 0) {
        return error;
    }
    return 0;
}
