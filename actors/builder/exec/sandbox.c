/*
 * sandbox.c - the shell executor: bubblewrap plus a per-step cgroup (see sandbox.h).
 */
#include "actors/builder/exec/sandbox.h"
#include "actors/builder/exec/sandbox_init.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "slipway.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WHO "sandbox"
#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define POLL_MS 50        /* loop period: ticks, cancel and deadline checks */
#define DRAIN_MS 2000     /* after the step exits, how long to wait for its pipes' EOF */
#define CPU_PERIOD_US 100000
#define KILL_GRACE_MS 500 /* after killing the step, how long the outer bwrap has to exit */

/* ---- cgroup probing (once per process) ---------------------------------------- */

enum { CG_MEMORY, CG_PIDS, CG_CPU, CG_COUNT };
static const char *const cg_names[CG_COUNT] = {"memory", "pids", "cpu"};

static struct {
    sw_sandbox_cgroup_mode mode;
    char *base[CG_COUNT];   /* v1: <controller mount>/<our cg>/slipway; v2: all the same */
} cg;
static pthread_once_t cg_once = PTHREAD_ONCE_INIT;
static pthread_once_t fallback_warn_once = PTHREAD_ONCE_INIT;
static atomic_uint step_counter;

/* Writes text to dir/file; -1 with errno on failure. */
static int write_file(const char *dir, const char *file, const char *text)
{
    char path[PATH_MAX];
    int fd, rc = 0;
    size_t len = strlen(text);

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    if (write(fd, text, len) != (ssize_t)len) {
        rc = -1;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Reads dir/file (up to size-1 bytes) into buf; -1 when it cannot. */
static int read_file(const char *dir, const char *file, char *buf, size_t size)
{
    char path[PATH_MAX];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0) {
        return -1;
    }
    buf[n] = '\0';
    return 0;
}

static int file_exists(const char *dir, const char *file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

/* The value after "key " on a line of a "key value" file (memory.events, oom_control). */
static long long keyed_value(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *p = text;
    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            return atoll(p + klen + 1);
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return -1;
}

static int has_word(const char *list, const char *word, const char *seps)
{
    char *copy = sw_strdup(list), *save = NULL;
    int found = 0;
    for (char *tok = strtok_r(copy, seps, &save); tok; tok = strtok_r(NULL, seps, &save)) {
        if (strcmp(tok, word) == 0) {
            found = 1;
            break;
        }
    }
    free(copy);
    return found;
}

/* Our cgroup path for a v1 controller (or v2 when controller is NULL), from /proc/self/cgroup. */
static char *own_cgroup(const char *controller)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[4096];
    char *result = NULL;

    if (f == NULL) {
        return NULL;
    }
    while (result == NULL && fgets(line, sizeof(line), f) != NULL) {
        /* "hierarchy-id:controller,list:/path"; v2 is "0::/path" */
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL) {
            continue;
        }
        *c1 = '\0';
        *c2 = '\0';
        const char *controllers = c1 + 1, *path = c2 + 1;
        int match = controller == NULL ? (strcmp(line, "0") == 0 && controllers[0] == '\0')
                                       : has_word(controllers, controller, ",");
        if (match) {
            result = sw_strdup(path);
        }
    }
    fclose(f);
    return result;
}

/* Mount point and root of the cgroup (v1, with controller) or cgroup2 (controller NULL) fs. */
static int cgroup_mount(const char *controller, char *mnt, size_t mnt_size, char *root,
                        size_t root_size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    int found = 0;

    if (f == NULL) {
        return 0;
    }
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *fields[6] = {0}, *save = NULL, *sep = strstr(line, " - ");
        int n = 0;
        if (sep == NULL) {
            continue;
        }
        *sep = '\0';
        char *rest = sep + 3;
        for (char *tok = strtok_r(line, " ", &save); tok && n < 6; tok = strtok_r(NULL, " ", &save)) {
            fields[n++] = tok;
        }
        char *fstype = strtok_r(rest, " ", &save);
        (void)strtok_r(NULL, " ", &save); /* source */
        char *opts = strtok_r(NULL, " \n", &save);
        if (n < 5 || fstype == NULL || opts == NULL) {
            continue;
        }
        if (controller == NULL ? strcmp(fstype, "cgroup2") == 0
                               : (strcmp(fstype, "cgroup") == 0 && has_word(opts, controller, ","))) {
            snprintf(mnt, mnt_size, "%s", fields[4]);
            snprintf(root, root_size, "%s", fields[3]);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* <mount>/<our cgroup> for a controller, or NULL. */
static char *own_cgroup_dir(const char *controller)
{
    char mnt[PATH_MAX], root[PATH_MAX];
    char *path = NULL, *dir = NULL;
    struct stat st;

    if (!cgroup_mount(controller, mnt, sizeof(mnt), root, sizeof(root))) {
        return NULL;
    }
    if ((path = own_cgroup(controller)) == NULL) {
        return NULL;
    }
    const char *rel = path;
    size_t rlen = strlen(root);
    if (strcmp(root, "/") != 0 && strncmp(path, root, rlen) == 0 &&
        (path[rlen] == '/' || path[rlen] == '\0')) {
        rel = path + rlen;
    }
    while (rel[0] == '/') {
        rel++;
    }
    dir = rel[0] ? sw_asprintf("%s/%s", mnt, rel) : sw_strdup(mnt);
    free(path);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* Removes the step cgroups that builders which died without cleaning up left
 * in base (step-<pid>-<n> whose pid is gone): an empty cgroup is removed by
 * rmdir, one with processes still in it stays. */
static void sweep_base(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;
    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        long pid;
        if (sscanf(e->d_name, "step-%ld-", &pid) != 1 || pid == (long)getpid()) {
            continue;
        }
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
            continue; /* its builder lives (or is not ours to judge) */
        }
        char *dir = sw_asprintf("%s/%s", base, e->d_name);
        if (rmdir(dir) == 0) {
            sw_debug(WHO, "removed %s, left by a builder that died", dir);
        }
        free(dir);
    }
    closedir(d);
}

static char *make_base(const char *own)
{
    char *base = sw_asprintf("%s/slipway", own);
    if ((mkdir(base, 0755) != 0 && errno != EEXIST) || access(base, W_OK) != 0) {
        free(base);
        return NULL;
    }
    sweep_base(base);
    return base;
}

/* Makes the cgroup dir. One of the same name can be a leftover of a builder
 * that had this process's pid and died without cleaning up: an empty one is
 * taken over (removed and made again). */
static int make_step_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0) {
        return 0;
    }
    if (errno == EEXIST && rmdir(dir) == 0 && mkdir(dir, 0755) == 0) {
        sw_debug(WHO, "took over %s, left by a builder that died", dir);
        return 0;
    }
    return -1;
}

/* cgroup v2: enables controllers for our children. A non-root cgroup with processes in
 * it cannot hand out controllers ("no internal processes"), so on EBUSY our processes
 * move into a leaf, <our cg>/slipwayd, first. */
static int v2_enable(const char *own, const char *controller)
{
    char word[32];
    snprintf(word, sizeof(word), "+%s", controller);
    if (write_file(own, "cgroup.subtree_control", word) == 0) {
        return 0;
    }
    if (errno != EBUSY) {
        return -1;
    }
    char *leaf = sw_asprintf("%s/slipwayd", own);
    char procs[65536];
    if (mkdir(leaf, 0755) != 0 && errno != EEXIST) {
        free(leaf);
        return -1;
    }
    if (read_file(own, "cgroup.procs", procs, sizeof(procs)) == 0) {
        for (char *p = procs, *end; *p; p = end) {
            long pid = strtol(p, &end, 10);
            if (end == p) {
                break;
            }
            char text[32];
            snprintf(text, sizeof(text), "%ld", pid);
            (void)write_file(leaf, "cgroup.procs", text); /* kernel threads etc. may refuse */
        }
    }
    sw_warn(WHO, "moved this process into %s so that %s can hand out controllers", leaf, own);
    free(leaf);
    return write_file(own, "cgroup.subtree_control", word);
}

static void probe_v2(void)
{
    char *own = own_cgroup_dir(NULL);
    char controllers[512];
    char *base = NULL;

    if (own == NULL || read_file(own, "cgroup.controllers", controllers, sizeof(controllers)) != 0 ||
        !has_word(controllers, "memory", " \n")) {
        goto cleanup;
    }
    for (int i = 0; i < CG_COUNT; i++) {
        if (has_word(controllers, cg_names[i], " \n") && v2_enable(own, cg_names[i]) != 0) {
            sw_warn(WHO, "cannot enable the %s controller in %s: %s", cg_names[i], own,
                    strerror(errno));
        }
    }
    if ((base = make_base(own)) == NULL) {
        goto cleanup;
    }
    for (int i = 0; i < CG_COUNT; i++) {
        if (has_word(controllers, cg_names[i], " \n")) {
            char word[32];
            snprintf(word, sizeof(word), "+%s", cg_names[i]);
            (void)write_file(base, "cgroup.subtree_control", word);
        }
    }
    for (int i = 0; i < CG_COUNT; i++) {
        cg.base[i] = sw_strdup(base);
    }
    cg.mode = SW_SANDBOX_CGROUP_V2;

cleanup:
    free(base);
    free(own);
}

static void probe(void)
{
    char mnt[PATH_MAX], root[PATH_MAX];

    if (cgroup_mount(NULL, mnt, sizeof(mnt), root, sizeof(root))) {
        probe_v2();
        if (cg.mode == SW_SANDBOX_CGROUP_V2) {
            sw_info(WHO, "cgroup v2 step limits under %s", cg.base[CG_MEMORY]);
            return;
        }
    }
    for (int i = 0; i < CG_COUNT; i++) {
        char *own = own_cgroup_dir(cg_names[i]);
        if (own != NULL) {
            cg.base[i] = make_base(own);
            free(own);
        }
    }
    if (cg.base[CG_MEMORY] != NULL || cg.base[CG_PIDS] != NULL) {
        cg.mode = SW_SANDBOX_CGROUP_V1;
        sw_info(WHO, "cgroup v1 step limits: memory %s, pids %s, cpu %s",
                cg.base[CG_MEMORY] ? cg.base[CG_MEMORY] : "(none)",
                cg.base[CG_PIDS] ? cg.base[CG_PIDS] : "(none)",
                cg.base[CG_CPU] ? cg.base[CG_CPU] : "(none)");
    }
}

void sw_sandbox_describe(sw_sandbox_result *out, uint64_t timeout_ms, uint64_t memory_bytes)
{
    char what[64];
    switch (out->killed_by) {
    case SW_SANDBOX_KILLED_NONE:
        snprintf(out->reason, sizeof(out->reason), "exit code %d", out->exit_code);
        break;
    case SW_SANDBOX_KILLED_TIMEOUT:
        snprintf(out->reason, sizeof(out->reason), "killed: timed out after %s",
                 sw_sandbox_format_duration(what, sizeof(what), timeout_ms));
        break;
    case SW_SANDBOX_KILLED_OOM:
        snprintf(out->reason, sizeof(out->reason), "killed: out of memory (limit %s)",
                 sw_sandbox_format_bytes(what, sizeof(what), memory_bytes));
        break;
    case SW_SANDBOX_KILLED_CANCEL:
        snprintf(out->reason, sizeof(out->reason), "killed: cancelled");
        break;
    case SW_SANDBOX_KILLED_SIGNAL: {
        int sig = out->exit_code - 128;
        const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
        snprintf(out->reason, sizeof(out->reason), "killed by signal %d%s%s", sig,
                 abbrev ? " SIG" : "", abbrev ? abbrev : "");
        break;
    }
    }
}

sw_sandbox_cgroup_mode sw_sandbox_cgroup_mode_get(void)
{
    pthread_once(&cg_once, probe);
    return cg.mode;
}

static void warn_fallback(void)
{
    sw_warn(WHO, "no writable cgroup controller: step memory is limited by RLIMIT_AS only, "
                 "pids and CPU are not limited");
}

/* ---- one step's cgroup --------------------------------------------------------- */

typedef struct step_cgroup {
    int v2;
    char *dir[CG_COUNT];   /* v2: only dir[0] */
    char *primary;         /* borrowed: where to list and kill the step's processes */
} step_cgroup;

/* SIGKILLs every process in the step's cgroup but spare (0: none). */
static void step_cgroup_kill(const step_cgroup *scg, pid_t spare)
{
    char procs[65536];
    if (scg->primary == NULL) {
        return;
    }
    if (spare == 0 && scg->v2 && write_file(scg->primary, "cgroup.kill", "1") == 0) {
        return;
    }
    if (read_file(scg->primary, "cgroup.procs", procs, sizeof(procs)) != 0) {
        return;
    }
    for (char *p = procs, *end; *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p) {
            break;
        }
        if (pid > 0 && pid != spare) {
            kill((pid_t)pid, SIGKILL);
        }
    }
}

static int step_cgroup_empty(const step_cgroup *scg)
{
    char procs[64];
    if (scg->primary == NULL || read_file(scg->primary, "cgroup.procs", procs, sizeof(procs)) != 0) {
        return 1;
    }
    return procs[0] == '\0';
}

/* Kills what is left, waits (up to ~5 s) for it to go, removes the directories. */
static void step_cgroup_remove(step_cgroup *scg)
{
    for (int tries = 0; tries < 500 && !step_cgroup_empty(scg); tries++) {
        step_cgroup_kill(scg, 0);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < CG_COUNT; i++) {
        if (scg->dir[i] == NULL) {
            continue;
        }
        for (int tries = 0; tries < 100 && rmdir(scg->dir[i]) != 0 && errno == EBUSY; tries++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (access(scg->dir[i], F_OK) == 0) {
            sw_err(WHO, "cannot remove cgroup %s: %s", scg->dir[i], strerror(errno));
        }
        free(scg->dir[i]);
        scg->dir[i] = NULL;
    }
    scg->primary = NULL;
}

/* Creates the step's cgroup(s) and writes the limits. 0, or -1 when nothing could be made. */
static int step_cgroup_create(step_cgroup *scg, const sw_sandbox_spec *spec)
{
    char name[64], text[64];
    int error = -1;

    memset(scg, 0, sizeof(*scg));
    if (sw_sandbox_cgroup_mode_get() == SW_SANDBOX_CGROUP_NONE) {
        return -1;
    }
    snprintf(name, sizeof(name), "step-%ld-%u", (long)getpid(),
             atomic_fetch_add(&step_counter, 1));
    scg->v2 = cg.mode == SW_SANDBOX_CGROUP_V2;
    for (int i = 0; i < (scg->v2 ? 1 : CG_COUNT); i++) {
        if (cg.base[i] == NULL) {
            continue;
        }
        char *dir = sw_asprintf("%s/%s", cg.base[i], name);
        if (make_step_dir(dir) != 0) {
            sw_error_set(SW_EIO, "cannot create cgroup %s: %s", dir, strerror(errno));
            free(dir);
            goto cleanup;
        }
        scg->dir[i] = dir;
    }
    scg->primary = scg->dir[CG_MEMORY] ? scg->dir[CG_MEMORY] : scg->dir[CG_PIDS];
    if (scg->primary == NULL) {
        goto cleanup;
    }

    const char *mem = scg->v2 ? scg->dir[0] : scg->dir[CG_MEMORY];
    const char *pids = scg->v2 ? scg->dir[0] : scg->dir[CG_PIDS];
    const char *cpu = scg->v2 ? scg->dir[0] : scg->dir[CG_CPU];
    if (spec->memory_bytes > 0 && mem != NULL) {
        snprintf(text, sizeof(text), "%llu", (unsigned long long)spec->memory_bytes);
        if (write_file(mem, scg->v2 ? "memory.max" : "memory.limit_in_bytes", text) != 0) {
            sw_error_set(SW_EIO, "cannot set the memory limit in %s: %s", mem, strerror(errno));
            goto cleanup;
        }
        /* no swapping past the limit; absent when swap accounting is off */
        if (scg->v2 && file_exists(mem, "memory.swap.max")) {
            (void)write_file(mem, "memory.swap.max", "0");
        } else if (!scg->v2 && file_exists(mem, "memory.memsw.limit_in_bytes")) {
            (void)write_file(mem, "memory.memsw.limit_in_bytes", text);
        }
    }
    if (spec->pids > 0 && pids != NULL) {
        snprintf(text, sizeof(text), "%u", spec->pids);
        if (write_file(pids, "pids.max", text) != 0) {
            sw_error_set(SW_EIO, "cannot set the pid limit in %s: %s", pids, strerror(errno));
            goto cleanup;
        }
    }
    if (spec->cpu_millis > 0 && cpu != NULL) {
        unsigned long long quota = (unsigned long long)spec->cpu_millis * CPU_PERIOD_US / 1000;
        if (quota < 1000) {
            quota = 1000;
        }
        if (scg->v2) {
            snprintf(text, sizeof(text), "%llu %u", quota, CPU_PERIOD_US);
            (void)write_file(cpu, "cpu.max", text);
        } else {
            snprintf(text, sizeof(text), "%u", CPU_PERIOD_US);
            (void)write_file(cpu, "cpu.cfs_period_us", text);
            snprintf(text, sizeof(text), "%llu", quota);
            (void)write_file(cpu, "cpu.cfs_quota_us", text);
        }
    }
    error = 0;

cleanup:
    if (error != 0) {
        step_cgroup_remove(scg);
    }
    return error;
}

/* Did the kernel's OOM killer act in the step's cgroup? */
static int step_cgroup_oom(const step_cgroup *scg, int status)
{
    char text[1024];
    const char *mem = scg->v2 ? scg->dir[0] : scg->dir[CG_MEMORY];
    if (mem == NULL) {
        return 0;
    }
    if (scg->v2) {
        return read_file(mem, "memory.events", text, sizeof(text)) == 0 &&
               keyed_value(text, "oom_kill") > 0;
    }
    if (read_file(mem, "memory.oom_control", text, sizeof(text)) == 0 &&
        keyed_value(text, "oom_kill") > 0) {
        return 1;
    }
    /* older kernels have no oom_kill counter: the limit was hit and something died of SIGKILL */
    int sigkill = (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
                  (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL);
    return sigkill && read_file(mem, "memory.failcnt", text, sizeof(text)) == 0 && atoll(text) > 0;
}

/* ---- formatting ------------------------------------------------------------------ */

const char *sw_sandbox_format_bytes(char *buf, size_t size, uint64_t bytes)
{
    static const char *const units[] = {"GiB", "MiB", "KiB"};
    static const int shifts[] = {30, 20, 10};
    for (int i = 0; i < 3; i++) {
        uint64_t unit = 1ull << shifts[i];
        if (bytes >= unit) {
            if (bytes % unit == 0) {
                snprintf(buf, size, "%llu %s", (unsigned long long)(bytes / unit), units[i]);
            } else {
                snprintf(buf, size, "%.1f %s", (double)bytes / (double)unit, units[i]);
            }
            return buf;
        }
    }
    snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
    return buf;
}

const char *sw_sandbox_format_duration(char *buf, size_t size, uint64_t ms)
{
    if (ms % 1000 != 0) {
        snprintf(buf, size, "%llums", (unsigned long long)ms);
    } else if (ms % 3600000 == 0) {
        snprintf(buf, size, "%lluh", (unsigned long long)(ms / 3600000));
    } else if (ms % 60000 == 0) {
        snprintf(buf, size, "%llum", (unsigned long long)(ms / 60000));
    } else if (ms > 60000) {
        snprintf(buf, size, "%llum%llus", (unsigned long long)(ms / 60000),
                 (unsigned long long)(ms % 60000 / 1000));
    } else {
        snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
    }
    return buf;
}

/* ---- output ---------------------------------------------------------------------- */

typedef struct out_stream {
    int fd;                 /* -1 at EOF */
    int stream;             /* SLIPWAY__LOG_STREAM__* */
    size_t len;
    char buf[SW_SANDBOX_MAX_LINE + 1];
} out_stream;

static void emit(const sw_sandbox_spec *spec, out_stream *os, size_t start, size_t len,
                 bool line_ends)
{
    char saved = os->buf[start + len];
    os->buf[start + len] = '\0';
    if (spec->line != NULL) {
        spec->line(spec->ud, os->stream, os->buf + start, len, line_ends);
    }
    os->buf[start + len] = saved;
}

/* Hands over every complete line, and 16 KiB pieces of longer ones; keeps the rest
 * unless flush (EOF), when a trailing partial line goes too. */
static void split_lines(const sw_sandbox_spec *spec, out_stream *os, int flush)
{
    size_t start = 0;
    while (start < os->len) {
        char *nl = memchr(os->buf + start, '\n', os->len - start);
        size_t n;
        if (nl != NULL) {
            n = (size_t)(nl - (os->buf + start));
            emit(spec, os, start, n, true);
            start += n + 1;
        } else if (flush || os->len - start >= SW_SANDBOX_MAX_LINE) {
            n = os->len - start;
            emit(spec, os, start, n, flush); /* the end of the output ends the line */
            start += n;
        } else {
            break;
        }
    }
    memmove(os->buf, os->buf + start, os->len - start);
    os->len -= start;
}

static void read_stream(const sw_sandbox_spec *spec, out_stream *os)
{
    ssize_t n = read(os->fd, os->buf + os->len, SW_SANDBOX_MAX_LINE - os->len);
    if (n > 0) {
        os->len += (size_t)n;
        split_lines(spec, os, 0);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(os->fd);
        os->fd = -1;
        split_lines(spec, os, 1);
    }
}

/* ---- the start ------------------------------------------------------------------- */

static char *find_bwrap(void)
{
    const char *path = getenv("PATH");
    char *copy, *save = NULL;
    char *found = NULL;

    copy = sw_strdup(path && *path ? path : "/usr/bin:/bin");
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *candidate = sw_asprintf("%s/bwrap", dir);
        if (access(candidate, X_OK) == 0) {
            found = candidate;
        } else {
            free(candidate);
        }
    }
    free(copy);
    return found;
}

typedef struct argv_builder {
    char **v;
    size_t n, cap;
} argv_builder;

static void arg(argv_builder *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = sw_realloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = sw_strdup(s);
    a->v[a->n] = NULL;
}

static void argv_free(argv_builder *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i]);
    }
    free(a->v);
}

static void build_argv(argv_builder *a, const char *bwrap, const char *ws,
                       const sw_sandbox_spec *spec)
{
    static const char *const fixed[] = {
        "--ro-bind", "/", "/", "--tmpfs", "/tmp", NULL};
    static const char *const ns[] = {
        "--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-net", "--unshare-ipc",
        "--unshare-uts", "--hostname", "slipway", "--die-with-parent", "--new-session",
        "--clearenv", NULL};

    arg(a, bwrap);
    for (int i = 0; fixed[i]; i++) {
        arg(a, fixed[i]);
    }
    arg(a, "--bind");
    arg(a, ws);
    arg(a, ws);
    for (int i = 0; ns[i]; i++) {
        arg(a, ns[i]);
    }
    const char *base_env[][2] = {{"PATH", SANDBOX_PATH}, {"HOME", ws}, {"CI", "true"},
                                 {"SLIPWAY", "1"}};
    for (size_t i = 0; i < sizeof(base_env) / sizeof(base_env[0]); i++) {
        arg(a, "--setenv");
        arg(a, base_env[i][0]);
        arg(a, base_env[i][1]);
    }
    for (size_t i = 0; i < spec->nenv; i++) {
        arg(a, "--setenv");
        arg(a, spec->env[i].key);
        arg(a, spec->env[i].value);
    }
    arg(a, "--chdir");
    arg(a, ws);
    arg(a, "/bin/sh");
    arg(a, "-c");
    arg(a, spec->script);
}

/* slipway-sandbox-init (owned): $SLIPWAY_SANDBOX_INIT when set, else the one
 * beside this program (/proc/self/exe: a build dir's tools/, or the bin dir of
 * an install that put both there), else the installed one in SW_LIBEXECDIR.
 * NULL, with the error set, when there is none. */
static char *find_init(void)
{
    const char *named = getenv(SW_SANDBOX_INIT_ENV);
    char self[PATH_MAX], *beside = NULL, *installed = NULL;
    ssize_t n;

    if (named != NULL && named[0] != '\0') {
        if (access(named, X_OK) == 0) {
            return sw_strdup(named);
        }
        sw_error_set(SW_ENOTFOUND, "%s=%s (the program that starts every step): %s",
                     SW_SANDBOX_INIT_ENV, named, strerror(errno));
        return NULL;
    }
    if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            beside = sw_asprintf("%s/%s", self, SW_SANDBOX_INIT_NAME);
            if (access(beside, X_OK) == 0) {
                return beside;
            }
        }
    }
    installed = sw_asprintf("%s/%s", SW_LIBEXECDIR, SW_SANDBOX_INIT_NAME);
    if (access(installed, X_OK) == 0) {
        free(beside);
        return installed;
    }
    sw_error_set(SW_ENOTFOUND,
                 "%s (the program that starts every step) is neither at %s nor at %s: build "
                 "it (ninja -C build), install it (meson install), or name it in $%s",
                 SW_SANDBOX_INIT_NAME, beside ? beside : "(beside this program)", installed,
                 SW_SANDBOX_INIT_ENV);
    free(beside);
    free(installed);
    return NULL;
}

/* posix_spawn's dup2s go to fds 0-3: a source among those could be overwritten
 * before it is copied, so it moves up first (still close-on-exec). */
static int lift_fd(int *fd)
{
    if (*fd > SW_SANDBOX_INIT_STATUS_FD) {
        return 0;
    }
    int high = fcntl(*fd, F_DUPFD_CLOEXEC, SW_SANDBOX_INIT_STATUS_FD + 1);
    if (high < 0) {
        return -1;
    }
    close(*fd);
    *fd = high;
    return 0;
}

/* Starts argv (slipway-sandbox-init and its arguments) without forking this
 * process: posix_spawn, in a process group of its own, every signal at its
 * default and none blocked, with null_fd, out_fd, err_fd and status_fd as its
 * fds 0-3 and no other fd (each of ours is close-on-exec; the rest are closed
 * in the child before the exec). 0 and *pid, or an errno value. */
static int spawn_init(pid_t *pid, char *const argv[], int null_fd, int out_fd, int err_fd,
                      int status_fd)
{
    static char *const envp[] = {"PATH=" SANDBOX_PATH, NULL};
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t all, none;
    int rc;

    sigfillset(&all);
    sigemptyset(&none);
    if ((rc = posix_spawn_file_actions_init(&actions)) != 0) {
        return rc;
    }
    if ((rc = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return rc;
    }
    if ((rc = posix_spawn_file_actions_adddup2(&actions, null_fd, 0)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&actions, out_fd, 1)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&actions, err_fd, 2)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&actions, status_fd,
                                               SW_SANDBOX_INIT_STATUS_FD)) == 0 &&
        (rc = posix_spawn_file_actions_addclosefrom_np(&actions,
                                                       SW_SANDBOX_INIT_STATUS_FD + 1)) == 0 &&
        (rc = posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
        (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
        (rc = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
        (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                                  POSIX_SPAWN_SETPGROUP)) == 0) {
        rc = posix_spawn(pid, argv[0], &actions, &attr, argv, envp);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

/* ---- the run --------------------------------------------------------------------- */

/* Kills the step. With a cgroup, everything in it but our child, the reaper above
 * bwrap, which then collects them all and exits by itself. Without a cgroup, the
 * process group (reaper and outer bwrap; the namespace dies with them through
 * --die-with-parent, its init left to the host's pid 1 to reap). */
static void kill_tree(pid_t pid, const step_cgroup *scg, int have_cgroup)
{
    if (have_cgroup) {
        step_cgroup_kill(scg, pid);
    } else {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
}

int sw_sandbox_run(const sw_sandbox_spec *spec, sw_sandbox_result *out)
{
    static const char *const fail_what[] = {
        "",
        "read its arguments",
        "join the step's cgroup",
        "set RLIMIT_AS",
        "become bwrap's reaper",
        "execute bwrap",
    };
    argv_builder argv = {0};
    step_cgroup scg;
    char *bwrap = NULL, *init = NULL, *ws = NULL;
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, status_pipe[2] = {-1, -1};
    int null_fd = -1, pidfd = -1, status = 0, have_cgroup = 0;
    out_stream *streams = NULL;
    uint64_t rlimit_as = 0;
    pid_t pid = -1;
    int error = -1;

    memset(out, 0, sizeof(*out));
    memset(&scg, 0, sizeof(scg));

    if ((bwrap = find_bwrap()) == NULL) {
        error = sw_error_set(SW_ENOTFOUND, "bwrap (bubblewrap) is not installed or not in PATH");
        goto cleanup;
    }
    if ((init = find_init()) == NULL) {
        error = sw_error_last_code();
        goto cleanup;
    }
    if ((ws = realpath(spec->workspace, NULL)) == NULL) {
        error = sw_error_set(SW_EIO, "workspace %s: %s", spec->workspace, strerror(errno));
        goto cleanup;
    }
    if (step_cgroup_create(&scg, spec) == 0) {
        have_cgroup = 1;
        snprintf(out->cgroup, sizeof(out->cgroup), "%s", scg.primary);
    } else if (sw_sandbox_cgroup_mode_get() != SW_SANDBOX_CGROUP_NONE) {
        error = sw_error_last_code() < 0 ? sw_error_last_code() : SW_EIO;
        goto cleanup;
    } else {
        pthread_once(&fallback_warn_once, warn_fallback);
        rlimit_as = spec->memory_bytes;
    }

    /* slipway-sandbox-init PARENT_PID RLIMIT_AS [CGROUP_PROCS ...] -- BWRAP ARGS... */
    char number[32];
    arg(&argv, init);
    snprintf(number, sizeof(number), "%ld", (long)getpid());
    arg(&argv, number);
    snprintf(number, sizeof(number), "%llu", (unsigned long long)rlimit_as);
    arg(&argv, number);
    for (int i = 0; have_cgroup && i < CG_COUNT; i++) {
        if (scg.dir[i] != NULL) {
            char *procs = sw_asprintf("%s/cgroup.procs", scg.dir[i]);
            arg(&argv, procs);
            free(procs);
        }
    }
    arg(&argv, "--");
    build_argv(&argv, bwrap, ws, spec);

    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
        pipe2(status_pipe, O_CLOEXEC) != 0 ||
        (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 || lift_fd(&out_pipe[1]) != 0 ||
        lift_fd(&err_pipe[1]) != 0 || lift_fd(&status_pipe[1]) != 0 || lift_fd(&null_fd) != 0) {
        error = sw_error_set(SW_EIO, "cannot make pipes: %s", strerror(errno));
        goto cleanup;
    }
    int64_t started = sw_clock_mono_ms();
    int rc = spawn_init(&pid, argv.v, null_fd, out_pipe[1], err_pipe[1], status_pipe[1]);
    if (rc != 0) {
        pid = -1;
        error = sw_error_set(SW_EIO, "cannot start %s: %s", init, strerror(rc));
        goto cleanup;
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    close(status_pipe[1]);
    close(null_fd);
    out_pipe[1] = err_pipe[1] = status_pipe[1] = null_fd = -1;
    /* readable once the init has exited, so the loop below need not wait out a
     * period for it after the step's output ended (-1 before Linux 5.3: it does) */
    pidfd = pidfd_open(pid, 0);

    int fail[2];
    ssize_t got;
    do {
        got = read(status_pipe[0], fail, sizeof(fail));
    } while (got < 0 && errno == EINTR);
    if (got == (ssize_t)sizeof(fail)) {
        waitpid(pid, &status, 0);
        pid = -1;
        int step = fail[0] >= 1 && fail[0] <= SW_SANDBOX_INIT_FAIL_EXEC ? fail[0]
                                                                        : SW_SANDBOX_INIT_FAIL_EXEC;
        error = sw_error_set(SW_EIO, "the step could not start: %s could not %s: %s",
                             SW_SANDBOX_INIT_NAME, fail_what[step], strerror(fail[1]));
        goto cleanup;
    }

    streams = sw_calloc(2, sizeof(*streams));
    streams[0].fd = out_pipe[0];
    streams[0].stream = SLIPWAY__LOG_STREAM__STDOUT;
    streams[1].fd = err_pipe[0];
    streams[1].stream = SLIPWAY__LOG_STREAM__STDERR;
    out_pipe[0] = err_pipe[0] = -1;

    int64_t deadline = spec->timeout_ms > 0 ? started + (int64_t)spec->timeout_ms : INT64_MAX;
    int64_t last_tick = started, exited_at = 0, killed_at = 0;
    int exited = 0;
    for (;;) {
        int64_t now = sw_clock_mono_ms();
        if (!exited && out->killed_by == SW_SANDBOX_KILLED_NONE) {
            if (spec->cancel != NULL && *spec->cancel) {
                out->killed_by = SW_SANDBOX_KILLED_CANCEL;
                kill_tree(pid, &scg, have_cgroup);
                killed_at = now;
            } else if (now >= deadline) {
                out->killed_by = SW_SANDBOX_KILLED_TIMEOUT;
                kill_tree(pid, &scg, have_cgroup);
                killed_at = now;
            }
        }
        if (!exited && killed_at != 0 && now - killed_at >= KILL_GRACE_MS) {
            /* whatever is left (or appeared since), the outer bwrap included */
            step_cgroup_kill(&scg, 0);
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed_at = now;
        }
        if (!exited) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                exited = 1;
                exited_at = now;
                out->duration_ms = now - started;
                pid = -1;
                if (pidfd >= 0) {
                    close(pidfd);
                    pidfd = -1;
                }
                /* the step is over: nothing of it may linger and hold the pipes */
                if (have_cgroup) {
                    step_cgroup_kill(&scg, 0);
                }
            }
        }
        if (exited && streams[0].fd < 0 && streams[1].fd < 0) {
            break;
        }
        if (exited && now - exited_at > DRAIN_MS) {
            sw_warn(WHO, "step output still open %d ms after the step ended; closing it",
                    DRAIN_MS);
            break;
        }
        if (spec->tick != NULL && now - last_tick >= POLL_MS) {
            spec->tick(spec->ud);
            last_tick = now;
        }

        struct pollfd pfd[3];
        int nfds = 0, map[3];
        for (int i = 0; i < 2; i++) {
            if (streams[i].fd >= 0) {
                pfd[nfds].fd = streams[i].fd;
                pfd[nfds].events = POLLIN;
                pfd[nfds].revents = 0;
                map[nfds++] = i;
            }
        }
        if (pidfd >= 0) {
            pfd[nfds].fd = pidfd;
            pfd[nfds].events = POLLIN;
            pfd[nfds].revents = 0;
            map[nfds++] = -1; /* waitpid at the top of the loop */
        }
        int wait_ms = POLL_MS;
        if (!exited && out->killed_by == SW_SANDBOX_KILLED_NONE && deadline - now < wait_ms) {
            wait_ms = deadline - now > 0 ? (int)(deadline - now) : 0;
        }
        if (nfds == 0) {
            struct timespec ts = {0, (long)wait_ms * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        int ready = poll(pfd, (nfds_t)nfds, wait_ms);
        if (ready < 0 && errno != EINTR) {
            error = sw_error_set(SW_EIO, "poll: %s", strerror(errno));
            goto cleanup;
        }
        for (int i = 0; i < nfds && ready > 0; i++) {
            if (pfd[i].revents != 0 && map[i] >= 0) {
                read_stream(spec, &streams[map[i]]);
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        if (streams[i].fd >= 0) {
            split_lines(spec, &streams[i], 1);
        }
    }

    out->exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
                                       : (WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1);
    if (out->killed_by == SW_SANDBOX_KILLED_NONE && have_cgroup && step_cgroup_oom(&scg, status)) {
        out->killed_by = SW_SANDBOX_KILLED_OOM;
    }
    if (out->killed_by == SW_SANDBOX_KILLED_NONE && WIFSIGNALED(status)) {
        out->killed_by = SW_SANDBOX_KILLED_SIGNAL;
    }
    sw_sandbox_describe(out, spec->timeout_ms, spec->memory_bytes);
    error = 0;

cleanup:
    if (pid > 0) {
        step_cgroup_kill(&scg, 0);
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    if (streams != NULL) {
        for (int i = 0; i < 2; i++) {
            if (streams[i].fd >= 0) {
                close(streams[i].fd);
            }
        }
        free(streams);
    }
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0) {
            close(out_pipe[i]);
        }
        if (err_pipe[i] >= 0) {
            close(err_pipe[i]);
        }
        if (status_pipe[i] >= 0) {
            close(status_pipe[i]);
        }
    }
    if (null_fd >= 0) {
        close(null_fd);
    }
    if (pidfd >= 0) {
        close(pidfd);
    }
    if (have_cgroup) {
        step_cgroup_remove(&scg);
    }
    argv_free(&argv);
    free(bwrap);
    free(init);
    free(ws);
    return error;
}
