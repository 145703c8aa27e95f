/*
 * provider_exec.c - builders made by the operator's own commands (see provider.h).
 *
 *   autoscale:
 *     provider: exec
 *     exec: {create: CMD, destroy: CMD, list: CMD, timeout: 1m}
 *
 * Each call runs `/bin/sh -c CMD slipway-<verb> [BUILDER]` ($0 is slipway-create,
 * slipway-destroy or slipway-list, $1 the builder's name; list has no $1) with
 * the process's environment plus SLIPWAY_CLUSTER, SLIPWAY_BUILDER (create and
 * destroy), SLIPWAY_CONFIG (absolute when it can be), SLIPWAY_SLOTS and
 * SLIPWAY_SLIPWAYD (this slipwayd, or SLIPWAY_SLIPWAYD when already set).
 * stdin is /dev/null. A non-zero exit is SW_EIO with the last non-empty line
 * of the command's stderr in the message; list must print a JSON array of
 * names or of objects with a "name" (SW_EINVALID otherwise). The examples in
 * tools/autoscale/ do this with systemd and with kubectl.
 *
 * DESIGN
 * The call runs on a provider thread of a multithreaded slipwayd that blocks
 * every signal in every thread, so: argv and envp are built before fork and
 * the child makes only async-signal-safe calls until execve; it resets signal
 * dispositions (SIGPIPE above all, which slipwayd ignores) and the mask, and
 * closes every inherited fd above 2 (another thread may have opened one
 * without O_CLOEXEC). The command leads its own process group, so a timeout
 * reaches everything it started: SIGTERM to the group, SIGKILL 2 s later if
 * anything in it still lives. The parent waits only for its own child's pid
 * (never waitpid(-1), which would steal other threads' children), woken by a
 * pidfd where the kernel has them. A command that exits on time but leaves
 * something behind (a daemon it started) is not killed: it is the command's;
 * its pipes are read for at most DRAIN_MS more.
 */
#include "actors/autoscaler/provider.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define WHO "autoscaler"
#define SHELL "/bin/sh"
#define TICK_MS 20             /* without a pidfd: how often the child is looked at */
#define KILL_GRACE_MS 2000     /* SIGTERM, then this long, then SIGKILL */
#define KILL_WAIT_MS 1000      /* after SIGKILL, how long to wait for the group to go */
#define DRAIN_MS 1000          /* after the command exits, how long its pipes are read */
#define STDOUT_MAX (8u << 20)  /* list's output beyond this is an error */
#define STDERR_KEEP (8u << 10) /* only stderr's tail is kept */

extern char **environ;

typedef struct exec_impl {
    char *slipwayd; /* absolute path of the slipwayd binary */
    char *config;   /* p->config_path, absolute when it exists */
} exec_impl;

/* ---- output buffers ---------------------------------------------------------------- */

typedef struct out_buf {
    char *data;
    size_t len, cap, max;
    bool keep_tail; /* beyond max: drop the oldest bytes instead of the newest */
    bool overflow;
} out_buf;

static void out_append(out_buf *b, const char *src, size_t n)
{
    if (b->len + n > b->max) {
        b->overflow = true;
        if (!b->keep_tail) {
            n = b->max - b->len;
        } else if (n >= b->max) {
            src += n - b->max;
            n = b->max;
            b->len = 0;
        } else {
            size_t drop = b->len + n - b->max;
            memmove(b->data, b->data + drop, b->len - drop);
            b->len -= drop;
        }
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        b->data = sw_realloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* The last line of b with something other than white space in it, trimmed, or "". */
static const char *last_line(out_buf *b, char *buf, size_t size)
{
    size_t end = b->len, start;
    while (end > 0 && isspace((unsigned char)b->data[end - 1])) {
        end--;
    }
    start = end;
    while (start > 0 && b->data[start - 1] != '\n') {
        start--;
    }
    while (start < end && isspace((unsigned char)b->data[start])) {
        start++;
    }
    snprintf(buf, size, "%.*s", (int)(end - start), end > start ? b->data + start : "");
    return buf;
}

/* ---- the child --------------------------------------------------------------------- */

/* In the forked child: only async-signal-safe calls from here to execve. */
static void child(char *const argv[], char *const envp[], int null_fd, int out_fd, int err_fd)
{
    static const char cannot[] = "slipway: cannot execute " SHELL "\n";
    struct sigaction dfl;
    sigset_t none;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            sigaction(sig, &dfl, NULL); /* glibc's own signals refuse: harmless */
        }
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
        _exit(126);
    }
    if (close_range(3, ~0U, 0) != 0) {
        struct rlimit rl;
        rlim_t max = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
        for (int fd = 3; fd < (int)max; fd++) {
            close(fd);
        }
    }
    execve(SHELL, argv, envp);
    if (write(2, cannot, sizeof(cannot) - 1) < 0) {
        /* nothing more to do */
    }
    _exit(127);
}

/* ---- the parent -------------------------------------------------------------------- */

/* fd, moved above 2 if it is one of stdio's (a process started with one of them
 * closed), so that the child's dup2 onto 0, 1 and 2 cannot clobber it. */
static int above_stdio(int fd)
{
    int moved;
    if (fd < 0 || fd > 2) {
        return fd;
    }
    moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return moved;
}

/* Whether anything but zombies is left in process group pgid. A zombie that
 * nobody reaps (an init that does not) keeps the group in existence but
 * cannot run, so it does not count. */
static bool group_alive(pid_t pgid)
{
    DIR *d;
    struct dirent *e;
    bool alive = false;

    if (kill(-pgid, 0) != 0 && errno == ESRCH) {
        return false;
    }
    if ((d = opendir("/proc")) == NULL) {
        return true;
    }
    while (!alive && (e = readdir(d)) != NULL) {
        char path[300], stat[512], state;
        int pgrp, fd;
        ssize_t n;
        const char *paren;
        if (!isdigit((unsigned char)e->d_name[0])) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            continue;
        }
        n = read(fd, stat, sizeof(stat) - 1);
        close(fd);
        if (n <= 0) {
            continue;
        }
        stat[n] = '\0';
        /* pid (comm) state ppid pgrp ...; comm may hold anything, ')' too */
        if ((paren = strrchr(stat, ')')) != NULL &&
            sscanf(paren + 1, " %c %*d %d", &state, &pgrp) == 2 && pgrp == pgid && state != 'Z' &&
            state != 'X') {
            alive = true;
        }
    }
    closedir(d);
    return alive;
}

static void format_ms(char *buf, size_t size, uint64_t ms)
{
    if (ms % 1000 == 0) {
        snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
    } else {
        snprintf(buf, size, "%llums", (unsigned long long)ms);
    }
}

/* The environment of a command: this process's, with ours in place of any
 * SLIPWAY_* of the same names. Caller frees with free_strv. */
static char **build_envp(const sw_provider *p, const exec_impl *impl, const char *name)
{
    static const char *const ours[] = {"SLIPWAY_CLUSTER=", "SLIPWAY_BUILDER=",  "SLIPWAY_CONFIG=",
                                       "SLIPWAY_SLOTS=",   "SLIPWAY_SLIPWAYD=", NULL};
    size_t n = 0, k = 0;
    char **envp;

    while (environ != NULL && environ[n] != NULL) {
        n++;
    }
    envp = sw_calloc(n + 6, sizeof(*envp));
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; ours[j] != NULL && !replaced; j++) {
            replaced = strncmp(environ[i], ours[j], strlen(ours[j])) == 0;
        }
        if (!replaced) {
            envp[k++] = sw_strdup(environ[i]);
        }
    }
    envp[k++] = sw_asprintf("SLIPWAY_CLUSTER=%s", p->cluster);
    if (name != NULL) {
        envp[k++] = sw_asprintf("SLIPWAY_BUILDER=%s", name);
    }
    envp[k++] = sw_asprintf("SLIPWAY_CONFIG=%s", impl->config);
    envp[k++] = sw_asprintf("SLIPWAY_SLOTS=%u", p->slots);
    envp[k++] = sw_asprintf("SLIPWAY_SLIPWAYD=%s", impl->slipwayd);
    envp[k] = NULL;
    return envp;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
        free(v[i]);
    }
    free(v);
}

/* Reads what is there on *fd into b; at EOF or on an error, closes it and sets -1. */
static void read_some(int *fd, out_buf *b)
{
    char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof(chunk));
    if (n > 0) {
        out_append(b, chunk, (size_t)n);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

/*
 * Runs cmd as verb (for name, NULL for list) and waits for it, up to
 * p->timeout_ms (0: no limit). what is "exec create NAME" or "exec list", the
 * head of every message. On success, *out holds stdout (caller frees
 * out->data). Returns 0, SW_EIO (could not run, non-zero exit, a signal) or
 * SW_ETIMEDOUT.
 */
static int run(sw_provider *p, const char *verb, const char *name, const char *cmd,
               const char *what, out_buf *out)
{
    exec_impl *impl = p->impl;
    char argv0[32], tail[512], limit[32];
    char *argv[6] = {SHELL, "-c", (char *)cmd, argv0, (char *)name, NULL};
    char **envp = build_envp(p, impl, name);
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, null_fd = -1, pidfd = -1;
    out_buf err = {.max = STDERR_KEEP, .keep_tail = true};
    int status = 0, error = -1;
    pid_t pid = -1;
    bool reaped = false;
    int signalled = 0; /* 0, SIGTERM or SIGKILL: what the group was last sent */
    int64_t now, deadline, signalled_at = 0, exited_at = 0;

    snprintf(argv0, sizeof(argv0), "slipway-%s", verb);
    format_ms(limit, sizeof(limit), p->timeout_ms);
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
        (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        error = sw_error_set(SW_EIO, "%s: cannot make pipes: %s", what, strerror(errno));
        goto cleanup;
    }
    out_pipe[0] = above_stdio(out_pipe[0]);
    out_pipe[1] = above_stdio(out_pipe[1]);
    err_pipe[0] = above_stdio(err_pipe[0]);
    err_pipe[1] = above_stdio(err_pipe[1]);
    null_fd = above_stdio(null_fd);
    if (out_pipe[0] < 0 || out_pipe[1] < 0 || err_pipe[0] < 0 || err_pipe[1] < 0 || null_fd < 0) {
        error = sw_error_set(SW_EIO, "%s: cannot make pipes: %s", what, strerror(errno));
        goto cleanup;
    }

    now = sw_clock_mono_ms();
    deadline = p->timeout_ms > 0 ? now + (int64_t)p->timeout_ms : INT64_MAX;
    pid = fork();
    if (pid < 0) {
        error = sw_error_set(SW_EIO, "%s: cannot fork: %s", what, strerror(errno));
        goto cleanup;
    }
    if (pid == 0) {
        child(argv, envp, null_fd, out_pipe[1], err_pipe[1]);
    }
    setpgid(pid, pid); /* the child does it too; whichever is first */
    close(out_pipe[1]);
    close(err_pipe[1]);
    close(null_fd);
    out_pipe[1] = err_pipe[1] = null_fd = -1;
    pidfd = pidfd_open(pid, 0);

    for (;;) {
        struct pollfd fds[3];
        nfds_t nfds = 0;
        int64_t wake;

        now = sw_clock_mono_ms();
        if (!reaped) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid || (w < 0 && errno != EINTR)) {
                reaped = true;
                exited_at = now;
            }
        }
        if (!reaped && signalled == 0 && now >= deadline) {
            sw_warn(WHO, "%s: timed out after %s: sending SIGTERM to its process group", what,
                    limit);
            kill(-pid, SIGTERM);
            signalled = SIGTERM;
            signalled_at = now;
        }
        if (signalled != 0 && reaped && !group_alive(pid)) {
            break;
        }
        if (signalled == SIGTERM && now >= signalled_at + KILL_GRACE_MS) {
            sw_warn(WHO, "%s: still running %d s after SIGTERM: sending SIGKILL", what,
                    KILL_GRACE_MS / 1000);
            kill(-pid, SIGKILL);
            signalled = SIGKILL;
            signalled_at = now;
        }
        if (signalled == SIGKILL && reaped && now >= signalled_at + KILL_WAIT_MS) {
            sw_warn(WHO, "%s: something in its process group outlives SIGKILL", what);
            break;
        }
        if (signalled == 0 && reaped &&
            ((out_pipe[0] < 0 && err_pipe[0] < 0) || now >= exited_at + DRAIN_MS)) {
            break;
        }

        if (out_pipe[0] >= 0) {
            fds[nfds++] = (struct pollfd){.fd = out_pipe[0], .events = POLLIN};
        }
        if (err_pipe[0] >= 0) {
            fds[nfds++] = (struct pollfd){.fd = err_pipe[0], .events = POLLIN};
        }
        if (!reaped && pidfd >= 0) {
            fds[nfds++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        }
        if (signalled != 0 || (!reaped && pidfd < 0)) {
            wake = now + TICK_MS;
        } else if (reaped) {
            wake = exited_at + DRAIN_MS;
        } else {
            wake = deadline;
        }
        int64_t wait_ms = wake > now ? wake - now : 0;
        if (poll(fds, nfds, wait_ms > INT_MAX ? INT_MAX : (int)wait_ms) < 0 && errno != EINTR) {
            error = sw_error_set(SW_EIO, "%s: poll: %s", what, strerror(errno));
            goto cleanup;
        }
        for (nfds_t i = 0; i < nfds; i++) {
            if (fds[i].revents == 0) {
                continue;
            }
            if (fds[i].fd == out_pipe[0]) {
                read_some(&out_pipe[0], out);
            } else if (fds[i].fd == err_pipe[0]) {
                read_some(&err_pipe[0], &err);
            }
        }
    }
    pid = -1;

    if (err.data != NULL) {
        last_line(&err, tail, sizeof(tail));
    } else {
        tail[0] = '\0';
    }
    if (signalled != 0) {
        error = sw_error_set(SW_ETIMEDOUT, "%s: '%s' timed out after %s (killed)%s%s", what, cmd,
                             limit, tail[0] ? ": " : "", tail);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        error = 0;
    } else if (WIFEXITED(status)) {
        error = sw_error_set(SW_EIO, "%s: exit status %d%s%s", what, WEXITSTATUS(status),
                             tail[0] ? ": " : "", tail);
    } else if (WIFSIGNALED(status)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(status));
        error = sw_error_set(SW_EIO, "%s: killed by signal %d (SIG%s)%s%s", what, WTERMSIG(status),
                             abbrev ? abbrev : "?", tail[0] ? ": " : "", tail);
    } else {
        error = sw_error_set(SW_EIO, "%s: lost track of its process", what);
    }

cleanup:
    if (pid > 0) {
        /* left early (poll failed): do not leave it running unwatched */
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (pidfd >= 0) {
        close(pidfd);
    }
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0) {
            close(out_pipe[i]);
        }
        if (err_pipe[i] >= 0) {
            close(err_pipe[i]);
        }
    }
    if (null_fd >= 0) {
        close(null_fd);
    }
    free(err.data);
    free_strv(envp);
    return error;
}

/* ---- the operations ---------------------------------------------------------------- */

static int exec_create(sw_provider *p, const char *name)
{
    out_buf out = {.max = STDERR_KEEP, .keep_tail = true};
    char *what = sw_asprintf("exec create %s", name);
    int error = run(p, "create", name, p->create_cmd, what, &out);
    free(out.data);
    free(what);
    return error;
}

static int exec_destroy(sw_provider *p, const char *name)
{
    out_buf out = {.max = STDERR_KEEP, .keep_tail = true};
    char *what = sw_asprintf("exec destroy %s", name);
    int error = run(p, "destroy", name, p->destroy_cmd, what, &out);
    free(out.data);
    free(what);
    return error;
}

/* The names in list's output (a JSON array of names or of {"name": ...}). */
static int parse_names(const char *text, size_t len, char ***names_out, size_t *n_out)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    char **names = NULL;
    size_t n = 0, i;
    json_t *item;
    int error = -1;

    if (root == NULL) {
        error = sw_error_set(SW_EINVALID,
                             "exec list: its output is not JSON (a list of builder names, "
                             "[\"a\", \"b\"], was expected): line %d column %d: %s",
                             jerr.line, jerr.column, jerr.text);
        goto cleanup;
    }
    if (!json_is_array(root)) {
        error =
            sw_error_set(SW_EINVALID, "exec list: its output must be a JSON array of builder names "
                                      "([\"a\", \"b\"] or [{\"name\": \"a\"}, ...])");
        goto cleanup;
    }
    names = sw_calloc(json_array_size(root) + 1, sizeof(*names));
    json_array_foreach(root, i, item)
    {
        json_t *s = json_is_object(item) ? json_object_get(item, "name") : item;
        if (!json_is_string(s) || json_string_length(s) == 0) {
            error = sw_error_set(SW_EINVALID,
                                 "exec list: item %zu of its output is neither a name nor an "
                                 "object with a \"name\" string",
                                 i + 1);
            goto cleanup;
        }
        names[n++] = sw_strdup(json_string_value(s));
    }
    *names_out = names;
    *n_out = n;
    names = NULL;
    error = 0;

cleanup:
    if (names != NULL) {
        sw_provider_free_names(names, n);
    }
    json_decref(root);
    return error;
}

static int exec_list(sw_provider *p, char ***names_out, size_t *n_out)
{
    out_buf out = {.max = STDOUT_MAX};
    int error = run(p, "list", NULL, p->list_cmd, "exec list", &out);
    if (error < 0) {
        goto cleanup;
    }
    if (out.overflow) {
        error =
            sw_error_set(SW_EINVALID, "exec list: its output is larger than %u bytes", STDOUT_MAX);
        goto cleanup;
    }
    error = parse_names(out.data ? out.data : "", out.len, names_out, n_out);

cleanup:
    free(out.data);
    return error;
}

static void exec_close(sw_provider *p)
{
    exec_impl *impl = p->impl;
    if (impl != NULL) {
        free(impl->slipwayd);
        free(impl->config);
        free(impl);
        p->impl = NULL;
    }
}

static const sw_provider_ops exec_ops = {
    .kind = "exec",
    .create = exec_create,
    .destroy = exec_destroy,
    .list = exec_list,
    .close = exec_close,
};

/* The slipwayd that commands should start: SLIPWAY_SLIPWAYD when set (a test,
 * or an operator's wrapper), else this process's own binary. */
static char *find_slipwayd(void)
{
    const char *env = getenv("SLIPWAY_SLIPWAYD");
    char buf[PATH_MAX];
    ssize_t n;
    if (env != NULL && env[0] != '\0') {
        return sw_strdup(env);
    }
    if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) <= 0) {
        return NULL;
    }
    buf[n] = '\0';
    return sw_strdup(buf);
}

int sw_provider_exec_init(sw_provider *p)
{
    exec_impl *impl;
    char *abs;

    if (p->create_cmd == NULL || p->destroy_cmd == NULL || p->list_cmd == NULL) {
        return sw_error_set(SW_EINVALID,
                            "cluster %s: provider exec needs create, destroy and "
                            "list commands",
                            p->cluster);
    }
    impl = sw_calloc(1, sizeof(*impl));
    p->impl = impl;
    p->ops = &exec_ops;
    if ((impl->slipwayd = find_slipwayd()) == NULL) {
        return sw_error_set(SW_EIO,
                            "cluster %s: cannot find the slipwayd binary "
                            "(/proc/self/exe): %s",
                            p->cluster, strerror(errno));
    }
    /* commands may run elsewhere (systemd, a pod): a relative path would not do */
    abs = p->config_path != NULL ? realpath(p->config_path, NULL) : NULL;
    impl->config = abs != NULL ? abs : sw_strdup(p->config_path);
    return 0;
}
