/*
 * harness.c - a whole Slipway in a temp dir for the end-to-end tests (see harness.h).
 *
 * DESIGN
 * Child processes are forked here with their stdout/stderr on pipes or a log
 * file. Each child makes itself a process-group leader and asks for SIGKILL when
 * the test process dies (a failing Check test leaves with _exit, skipping every
 * teardown), so a failure never leaves a slipwayd or git daemon behind. Pipes are
 * read with poll() against a deadline; nothing here sleeps to hope something
 * happened, it polls a condition until a deadline.
 */
#include "harness.h"

#include "runtime/core/mem.h"

#include "busybox.h"
#include "natsd.h"
#include "runtime/creds.h"
#include "runtime/core/error.h"
#include "runtime/roles.h"
#include "runtime/wire.h"
#include "support.h"

#include <jansson.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 32
#define MAX_REPOS 16
#define MAX_MORE 4
#define SW_HARNESS_MAX_NODES 3
#define CLUSTER_TIMEOUT_MS 30000
#define CLI_TIMEOUT_MS 30000
#define READY_TIMEOUT_MS 60000
#define STOP_TIMEOUT_MS 20000

struct sw_harness {
    char *dir;
    char *build_dir;
    sw_natsd *natsd;
    sw_natsd *nodes[SW_HARNESS_MAX_NODES]; /* a cluster: nodes[0] is natsd */
    int http_ports[SW_HARNESS_MAX_NODES];
    int nnodes;
    char *nats_url;
    char *nats_dir;     /* slipway-admin nats-config's output */
    char *creds_buf;    /* sw_harness_creds's answer */
    char *repo_tenant[MAX_REPOS]; /* NULL: demo */
    char *repo_region[MAX_REPOS]; /* NULL: "local" (see unpinned) */
    bool unpinned[MAX_REPOS];     /* no region: at all */
    bool refusals_expected;       /* a test that provokes its roles' refusals */
    pid_t gitd_pid;
    int git_port;
    pid_t slipwayd_pid;
    char *slipwayd_log;
    sw_harness_options opts;
    char *repos[MAX_REPOS];
    int nrepos;
    pid_t more_pids[MAX_MORE]; /* extra slipwayd processes */
    char *more_names[MAX_MORE];        /* and how they were started */
    char *more_args[MAX_MORE][MAX_ARGS];
    int nmore;
    int webhook_port;
    char *webhook_url;
    const char *default_image; /* docker: the steps' image */
};

/* The operator's NATS user of the last harness created (sw_harness_as_operator). */
static char *operator_user, *operator_password;

static const char *docker_socket(void)
{
    const char *s = getenv("SLIPWAY_DOCKER_SOCKET");
    return s != NULL && s[0] != '\0' ? s : "/var/run/docker.sock";
}

struct sw_harness_proc {
    pid_t pid;
    int out_fd;
    int err_fd;
    char *out;
    size_t out_len, out_cap;
    char *err;
    size_t err_len, err_cap;
    int status; /* valid once exited */
    bool exited;
};

/* --- small helpers ----------------------------------------------------------- */

long long sw_harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 4096;
        while (*len + n + 1 > ncap) {
            ncap *= 2;
        }
        *buf = realloc(*buf, ncap);
        ck_assert_ptr_nonnull(*buf);
        *cap = ncap;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* The last max_bytes of text, for failure messages. Borrowed from text. */
static const char *tail_of(const char *text, size_t max_bytes)
{
    size_t len = text ? strlen(text) : 0;
    if (text == NULL) {
        return "";
    }
    return len > max_bytes ? text + len - max_bytes : text;
}

/* Collects a NULL-terminated variadic list of strings into argv after prefix. */
static int collect_args(const char **argv, int n, va_list ap)
{
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        ck_assert_msg(n < MAX_ARGS - 1, "too many arguments");
        argv[n++] = a;
    }
    argv[n] = NULL;
    return n;
}

/* --- processes --------------------------------------------------------------- */

/* Forks and execs argv[0] (searched in PATH when it has no '/') in its own
 * process group, dying with us; stdin is /dev/null, stdout/stderr go to out_fd
 * and err_fd. Only async-signal-safe calls between fork and exec. */
static pid_t spawn(const char *const *argv, const char *cwd, int out_fd, int err_fd)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
            _exit(127);
        }
        if (cwd != NULL && chdir(cwd) != 0) {
            _exit(127);
        }
        close_range(3, ~0U, 0);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], (char *const *)argv);
        static const char msg[] = "harness: exec failed\n";
        ssize_t ignored = write(2, msg, sizeof(msg) - 1);
        (void)ignored;
        _exit(127);
    }
    setpgid(pid, pid); /* also from here, so the group exists when we kill it */
    return pid;
}

static int decode_status(int status)
{
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return -1;
}

/* Signals the group of pid with sig, waits for pid at most timeout_ms;
 * then SIGKILLs the group. Returns the exit status (-1 when killed by a signal). */
static int stop_group(pid_t pid, int sig, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    int status = 0;
    kill(-pid, sig);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            kill(-pid, SIGKILL); /* whatever it left in its group */
            return decode_status(status);
        }
        if (r == -1 && errno != EINTR) {
            return -1;
        }
        if (sw_harness_now_ms() >= deadline) {
            fprintf(stderr, "harness: pid %d ignored signal %d for %d ms: killing its group\n",
                    (int)pid, sig, timeout_ms);
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        pause_ms(20);
    }
}

static sw_harness_proc *proc_start(const char *const *argv, const char *cwd)
{
    int out[2], err[2];
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
    sw_harness_proc *p = calloc(1, sizeof(*p));
    ck_assert_ptr_nonnull(p);
    p->pid = spawn(argv, cwd, out[1], err[1]);
    close(out[1]);
    close(err[1]);
    p->out_fd = out[0];
    p->err_fd = err[0];
    append(&p->out, &p->out_len, &p->out_cap, "", 0);
    append(&p->err, &p->err_len, &p->err_cap, "", 0);
    return p;
}

/* Reads what is available on the process's pipes, waiting at most timeout_ms for
 * something. Returns the bytes read (0 when nothing came), -1 once both pipes
 * are closed. */
static long proc_pump(sw_harness_proc *p, int timeout_ms)
{
    struct pollfd fds[2];
    int n = 0;
    long total = 0;
    if (p->out_fd >= 0) {
        fds[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
    }
    if (p->err_fd >= 0) {
        fds[n++] = (struct pollfd){.fd = p->err_fd, .events = POLLIN};
    }
    if (n == 0) {
        return -1;
    }
    int r = poll(fds, (nfds_t)n, timeout_ms < 0 ? 0 : timeout_ms);
    if (r < 0) {
        ck_assert_int_eq(errno, EINTR);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (fds[i].revents == 0) {
            continue;
        }
        char buf[8192];
        ssize_t got = read(fds[i].fd, buf, sizeof(buf));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        bool is_out = fds[i].fd == p->out_fd;
        if (got <= 0) {
            close(fds[i].fd);
            if (is_out) {
                p->out_fd = -1;
            } else {
                p->err_fd = -1;
            }
        } else if (is_out) {
            append(&p->out, &p->out_len, &p->out_cap, buf, (size_t)got);
            total += got;
        } else {
            append(&p->err, &p->err_len, &p->err_cap, buf, (size_t)got);
            total += got;
        }
    }
    if (p->out_fd < 0 && p->err_fd < 0) {
        return total > 0 ? total : -1;
    }
    return total;
}

static void proc_free(sw_harness_proc *p)
{
    if (p->out_fd >= 0) {
        close(p->out_fd);
    }
    if (p->err_fd >= 0) {
        close(p->err_fd);
    }
    free(p->out);
    free(p->err);
    free(p);
}

/* Pumps until *text (stdout or stderr, which pumping may move) holds needle. */
static bool proc_await_in(sw_harness_proc *p, char *const *text, const char *needle,
                          int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    for (;;) {
        if (strstr(*text, needle) != NULL) {
            return true;
        }
        long long left = deadline - sw_harness_now_ms();
        if (left <= 0) {
            return false;
        }
        if (proc_pump(p, (int)(left > 100 ? 100 : left)) < 0) {
            return strstr(*text, needle) != NULL;
        }
    }
}

bool sw_harness_proc_await(sw_harness_proc *p, const char *needle, int timeout_ms)
{
    return proc_await_in(p, &p->out, needle, timeout_ms);
}

bool sw_harness_proc_await_stderr(sw_harness_proc *p, const char *needle, int timeout_ms)
{
    return proc_await_in(p, &p->err, needle, timeout_ms);
}

int sw_harness_proc_pid(const sw_harness_proc *p)
{
    return (int)p->pid;
}

const char *sw_harness_proc_output(const sw_harness_proc *p)
{
    return p->out;
}

/* Reaps p if it has exited; then kills what it left in its group. */
static bool proc_reap(sw_harness_proc *p)
{
    int status = 0;
    if (!p->exited && waitpid(p->pid, &status, WNOHANG) == p->pid) {
        p->exited = true;
        p->status = decode_status(status);
        kill(-p->pid, SIGKILL);
    }
    return p->exited;
}

void sw_harness_proc_finish(sw_harness_proc **p_p, sw_harness_result *res, int timeout_ms)
{
    sw_harness_proc *p = *p_p;
    long long deadline = sw_harness_now_ms() + timeout_ms;
    *p_p = NULL;
    /* Read until it exits (or the deadline). */
    while (!proc_reap(p)) {
        long long left = deadline - sw_harness_now_ms();
        if (left <= 0) {
            int status;
            fprintf(stderr, "harness: pid %d still running after %d ms: killed\n", (int)p->pid,
                    timeout_ms);
            kill(-p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            p->exited = true;
            p->status = -1;
            break;
        }
        if (proc_pump(p, (int)(left > 50 ? 50 : left)) < 0) {
            pause_ms(5); /* pipes closed, not yet exited */
        }
    }
    /* Then what it left in the pipes, until they close (its group is dead). */
    long long drain_deadline = sw_harness_now_ms() + 2000;
    while (proc_pump(p, 50) >= 0 && sw_harness_now_ms() < drain_deadline) {
    }
    res->status = p->status;
    res->out = p->out;
    res->err = p->err;
    p->out = NULL;
    p->err = NULL;
    proc_free(p);
}

void sw_harness_result_finish(sw_harness_result *res)
{
    free(res->out);
    free(res->err);
    res->out = NULL;
    res->err = NULL;
}

/* Runs argv to completion in cwd; fails the test unless it exits 0. */
static void run_ok(const char *const *argv, const char *cwd)
{
    sw_harness_proc *p = proc_start(argv, cwd);
    sw_harness_result res;
    sw_harness_proc_finish(&p, &res, CLI_TIMEOUT_MS);
    ck_assert_msg(res.status == 0, "%s %s exited %d: %s", argv[0], argv[1] ? argv[1] : "",
                  res.status, tail_of(res.err, 1000));
    sw_harness_result_finish(&res);
}

/* --- servers ----------------------------------------------------------------- */

static bool port_accepts(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    bool ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

/* The git-daemon program itself. `git daemon` would run it as a child of the
 * git wrapper, out of reach of PR_SET_PDEATHSIG. Caller frees. */
static char *git_daemon_path(void)
{
    const char *argv[] = {"git", "--exec-path", NULL};
    sw_harness_proc *p = proc_start(argv, NULL);
    sw_harness_result res;
    sw_harness_proc_finish(&p, &res, CLI_TIMEOUT_MS);
    ck_assert_msg(res.status == 0, "git --exec-path exited %d: %s", res.status, res.err);
    res.out[strcspn(res.out, "\n")] = '\0';
    char *path = sw_asprintf("%s/git-daemon", res.out);
    sw_harness_result_finish(&res);
    ck_assert_msg(access(path, X_OK) == 0, "%s not found (is git installed?)", path);
    return path;
}

/* Starts git daemon on a free port; retries with another port if it loses a race. */
static void start_git_daemon(sw_harness *h)
{
    char *prog = git_daemon_path();
    char *base = sw_asprintf("--base-path=%s/git", h->dir);
    char *log_path = sw_asprintf("%s/git-daemon.log", h->dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = sw_test_free_port();
        char *port_arg = sw_asprintf("--port=%d", port);
        const char *argv[] = {
            prog,          "--export-all",         base, "--listen=127.0.0.1", port_arg,
            "--reuseaddr", "--informative-errors", NULL};
        int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        ck_assert_int_ge(log_fd, 0);
        pid_t pid = spawn(argv, NULL, log_fd, log_fd);
        close(log_fd);
        free(port_arg);
        long long deadline = sw_harness_now_ms() + 10000;
        bool up = false;
        bool died = false;
        while (sw_harness_now_ms() < deadline) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                died = true;
                break;
            }
            if (port_accepts(port)) {
                up = true;
                break;
            }
            pause_ms(20);
        }
        if (up) {
            h->gitd_pid = pid;
            h->git_port = port;
            free(prog);
            free(base);
            free(log_path);
            return;
        }
        if (!died) {
            stop_group(pid, SIGKILL, 1000);
        }
    }
    char *log = sw_test_read_file(log_path, NULL);
    ck_abort_msg("git daemon did not start; its log: %s", tail_of(log, 2000));
}

/* h->opts = *opts (if given), with the defaults for zero fields. */
static void set_options(sw_harness *h, const sw_harness_options *opts)
{
    if (opts != NULL) {
        h->opts = *opts;
    }
    if (h->opts.tier_memory == NULL) {
        h->opts.tier_memory = "256M";
    }
    if (h->opts.tier_timeout == NULL) {
        h->opts.tier_timeout = "10m";
    }
    if (h->opts.builders == 0) {
        h->opts.builders = 1;
    }
    if (h->opts.heartbeat_interval == NULL) {
        h->opts.heartbeat_interval = "1s";
    }
    if (h->opts.heartbeat_lapse == NULL) {
        h->opts.heartbeat_lapse = "5s";
    }
    if (h->opts.max_deliveries == 0) {
        h->opts.max_deliveries = 3;
    }
    if (h->opts.slots == 0) {
        h->opts.slots = 2;
    }
    if (h->opts.forge == NULL) {
        h->opts.forge = "github";
    }
    if (h->opts.webhook_max_body == NULL) {
        h->opts.webhook_max_body = "25MiB";
    }
    if (h->opts.executor == NULL) {
        h->opts.executor = "shell";
    }
    if (h->opts.webhook_secret == NULL) {
        h->opts.webhook_secret = SW_HARNESS_SECRET;
    }
    /* tools/test --cluster: the suites again on a cluster, where a test did not
     * choose (bench_auth's open server has no cluster) */
    const char *nodes = getenv("SLIPWAY_TEST_NATS_NODES");
    if (h->opts.nats_nodes == 0 && !h->opts.open_nats && nodes != NULL && nodes[0] != '\0') {
        h->opts.nats_nodes = atoi(nodes);
    }
}

static void write_nats_config(sw_harness *h);

/* opts.nats_nodes servers n1..nN, each with a config slipway-admin wrote for
 * it (the same accounts and users; its own store, monitoring port, cluster
 * address, routes to all). Sets nodes, natsd (n1) and nats_url (the list). */
static int start_cluster(sw_harness *h)
{
    int route_ports[SW_HARNESS_MAX_NODES];
    char routes[512] = "";
    size_t len = 0;
    int rc = 0;

    ck_assert_msg(h->opts.nats_nodes <= SW_HARNESS_MAX_NODES && !h->opts.open_nats,
                  "nats_nodes: at most %d, with authorization", SW_HARNESS_MAX_NODES);
    for (int i = 0; i < h->opts.nats_nodes; i++) {
        route_ports[i] = sw_test_free_port();
        h->http_ports[i] = sw_test_free_port();
        len += (size_t)snprintf(routes + len, sizeof(routes) - len, "%snats://127.0.0.1:%d",
                                i ? "," : "", route_ports[i]);
    }
    for (int i = 0; i < h->opts.nats_nodes && rc == 0; i++) {
        char *cmd = sw_asprintf("'%s/tools/slipway-admin' nats-config -c '%s/nats-plan.yaml' "
                                "-o '%s' --bcrypt-cost 4 --conf '%s/n%d.conf' "
                                "--store '%s/n%d-js' --http 127.0.0.1:%d --server-name n%d "
                                "--cluster-name sw-test --cluster-listen 127.0.0.1:%d "
                                "--routes %s >>'%s/nats-config.log' 2>&1",
                                h->build_dir, h->dir, h->nats_dir, h->nats_dir, i + 1,
                                h->dir, i + 1, h->http_ports[i], i + 1, route_ports[i], routes,
                                h->dir);
        ck_assert_msg(system(cmd) == 0, "slipway-admin nats-config for n%d failed", i + 1);
        free(cmd);
        char *conf = sw_asprintf("%s/n%d.conf", h->nats_dir, i + 1);
        rc = sw_natsd_start_conf(&h->nodes[i], conf);
        free(conf);
        if (rc == 0) {
            h->nnodes = i + 1;
        }
    }
    h->natsd = h->nodes[0];
    h->nats_url = sw_strdup("");
    for (int i = 0; i < h->nnodes; i++) {
        char *next = sw_asprintf("%s%s%s", h->nats_url, i ? "," : "", sw_natsd_url(h->nodes[i]));
        free(h->nats_url);
        h->nats_url = next;
    }
    return rc;
}

/* Waits until every node's /jsz names a JetStream meta leader of them all. */
static void await_meta_leader(sw_harness *h)
{
    long long deadline = sw_harness_now_ms() + CLUSTER_TIMEOUT_MS;
    char size[32];
    char *jsz = NULL;

    snprintf(size, sizeof(size), "\"cluster_size\": %d", h->nnodes);
    for (int i = 0; i < h->nnodes; i++) {
        for (;;) {
            free(jsz);
            jsz = NULL;
            if (sw_natsd_monitor(h->http_ports[i], "/jsz", &jsz) == 0 &&
                strstr(jsz, "\"leader\": \"n") != NULL && strstr(jsz, size) != NULL) {
                break;
            }
            ck_assert_msg(sw_harness_now_ms() < deadline,
                          "no JetStream meta leader of %d seen by n%d within %d ms: %s",
                          h->nnodes, i + 1, CLUSTER_TIMEOUT_MS, jsz ? jsz : sw_error_last());
            usleep(50 * 1000);
        }
    }
    free(jsz);
}

sw_harness *sw_harness_create(const sw_harness_options *opts)
{
    sw_harness *h = calloc(1, sizeof(*h));
    ck_assert_ptr_nonnull(h);
    const char *build_dir = getenv("SLIPWAY_BUILD_DIR");
    ck_assert_msg(build_dir != NULL && build_dir[0] != '\0',
                  "SLIPWAY_BUILD_DIR is not set (run through meson test)");
    h->build_dir = sw_strdup(build_dir);
    set_options(h, opts);
    h->default_image = strcmp(h->opts.executor, "docker") == 0 ? sw_test_busybox_image()
                                                                 : "slipway/busybox";
    h->webhook_port = sw_test_free_port();
    h->webhook_url = sw_asprintf("http://127.0.0.1:%d", h->webhook_port);
    h->dir = sw_test_tmpdir("slipway-e2e");
    fprintf(stderr, "harness: %s (logs; kept if the test fails)\n", h->dir);
    char *git_dir = sw_asprintf("%s/git", h->dir);
    ck_assert_int_eq(mkdir(git_dir, 0755), 0);
    free(git_dir);

    /* The server's directory goes inside ours: one place to look, one to remove. */
    const char *tmpdir = getenv("TMPDIR");
    char *saved_tmpdir = tmpdir ? sw_strdup(tmpdir) : NULL;
    ck_assert_int_eq(setenv("TMPDIR", h->dir, 1), 0);
    write_nats_config(h);
    char *conf = sw_asprintf("%s/nats-server.conf", h->nats_dir);
    int rc = h->opts.nats_nodes > 1 ? start_cluster(h)
             : h->opts.open_nats    ? sw_natsd_start(&h->natsd)
                                    : sw_natsd_start_conf(&h->natsd, conf);
    free(conf);
    if (saved_tmpdir != NULL) {
        setenv("TMPDIR", saved_tmpdir, 1);
    } else {
        unsetenv("TMPDIR");
    }
    free(saved_tmpdir);
    ck_assert_msg(rc == 0, "nats-server did not start: %s", sw_error_last());
    if (h->nnodes == 0) {
        h->nodes[0] = h->natsd;
        h->nnodes = 1;
        h->nats_url = sw_strdup(sw_natsd_url(h->natsd));
    } else {
        await_meta_leader(h);
    }
    sw_creds op;
    ck_assert_msg(sw_creds_load(&op, sw_harness_creds(h, "operator")) == 0, "%s",
                  sw_error_last());
    free(operator_user);
    free(operator_password);
    operator_user = h->opts.open_nats ? NULL : sw_strdup(op.user);
    operator_password = h->opts.open_nats ? NULL : sw_strdup(op.password);
    sw_creds_clear(&op);
    start_git_daemon(h);
    return h;
}

void sw_harness_as_operator(sw_bus_options *o)
{
    o->user = operator_user;
    o->password = operator_password;
}

const char *sw_harness_creds(const sw_harness *h, const char *who)
{
    sw_harness *m = (sw_harness *)h;
    free(m->creds_buf);
    if (strcmp(who, "operator") == 0) {
        m->creds_buf = sw_asprintf("%s/operator.creds", h->nats_dir);
    } else if (strncmp(who, "tenant:", 7) == 0) {
        m->creds_buf = sw_asprintf("%s/tenants/%s.creds", h->nats_dir, who + 7);
    } else {
        m->creds_buf = sw_asprintf("%s/service/%s.creds", h->nats_dir, who);
    }
    return m->creds_buf;
}

void sw_harness_repo_tenant(sw_harness *h, const char *repo, const char *tenant)
{
    for (int i = 0; i < h->nrepos; i++) {
        if (strcmp(h->repos[i], repo) == 0) {
            free(h->repo_tenant[i]);
        free(h->repo_region[i]);
            h->repo_tenant[i] = sw_strdup(tenant);
            return;
        }
    }
    ck_abort_msg("no repository '%s' in the harness", repo);
}

void sw_harness_repo_region(sw_harness *h, const char *repo, const char *region)
{
    for (int i = 0; i < h->nrepos; i++) {
        if (strcmp(h->repos[i], repo) == 0) {
            free(h->repo_region[i]);
            h->repo_region[i] = region != NULL ? sw_strdup(region) : NULL;
            h->unpinned[i] = region == NULL;
            return;
        }
    }
    ck_abort_msg("no repository '%s' in the harness", repo);
}

/* The tenants: entries of slipway.yaml (demo and opts.tenants). */
static void write_tenants(FILE *f, const sw_harness *h)
{
    fprintf(f, "tenants:\n  - name: demo\n    tier: free\n    read_token: %s\n",
            SW_HARNESS_READ_TOKEN);
    if (h->opts.tenants != NULL) {
        char *list = sw_strdup(h->opts.tenants), *save = NULL;
        for (char *t = strtok_r(list, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
            fprintf(f, "  - name: %s\n    tier: free\n", t);
        }
        free(list);
    }
}

/* Writes the accounts and credentials of the harness's tenants with
 * slipway-admin (bcrypt cost 4: tests connect often) into <dir>/nats. */
static void write_nats_config(sw_harness *h)
{
    char *plan = sw_asprintf("%s/nats-plan.yaml", h->dir);
    FILE *f = fopen(plan, "w");
    ck_assert_msg(f != NULL, "cannot write %s", plan);
    fprintf(f, "data_dir: %s/data\ntiers:\n  - name: free\n", h->dir);
    write_tenants(f, h);
    fprintf(f, "clusters:\n  - name: local-free\n    tier: free\n    region: local\n");
    ck_assert_int_eq(fclose(f), 0);
    h->nats_dir = sw_asprintf("%s/nats", h->dir);
    h->http_ports[0] = sw_test_free_port(); /* a cluster's nodes choose their own */
    char *cmd = sw_asprintf("'%s/tools/slipway-admin' nats-config -c '%s' -o '%s' "
                            "--bcrypt-cost 4 --http 127.0.0.1:%d >'%s/nats-config.log' 2>&1",
                            h->build_dir, plan, h->nats_dir, h->http_ports[0], h->dir);
    int rc = system(cmd);
    char *log = sw_asprintf("%s/nats-config.log", h->dir);
    char *text = sw_test_read_file(log, NULL);
    ck_assert_msg(rc == 0, "slipway-admin nats-config failed (%d): %s", rc, text ? text : "");
    free(text);
    free(log);
    free(cmd);
    free(plan);
}

const char *sw_harness_nats_url(const sw_harness *h)
{
    return h->nats_url;
}

const char *sw_harness_dir(const sw_harness *h)
{
    return h->dir;
}

/* --- repositories -------------------------------------------------------------- */

#define GIT_ID                                                                                     \
    "-c", "user.name=Slipway Test", "-c", "user.email=test@slipway.invalid", "-c",                 \
        "commit.gpgsign=false", "-c", "init.defaultBranch=main"

static void mkdirs_for(const char *path)
{
    char *copy = sw_strdup(path);
    for (char *s = strchr(copy + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(copy, 0755) != 0) {
            ck_assert_msg(errno == EEXIST, "mkdir %s: %s", copy, strerror(errno));
        }
        *s = '/';
    }
    free(copy);
}

void sw_harness_repo_branch(sw_harness *h, const char *repo, const char *branch,
                            const sw_harness_file *files)
{
    char *bare = sw_asprintf("%s/git/%s.git", h->dir, repo);
    struct stat st;
    if (stat(bare, &st) != 0) {
        const char *init[] = {"git", GIT_ID, "init", "-q", "--bare", bare, NULL};
        run_ok(init, NULL);
        const char *head[] = {"git", "-C", bare, "symbolic-ref", "HEAD", "refs/heads/main", NULL};
        run_ok(head, NULL);
        ck_assert_int_lt(h->nrepos, MAX_REPOS);
        h->repos[h->nrepos++] = sw_strdup(repo);
    }

    char *tree = sw_asprintf("%s/tree-%s-%s", h->dir, repo, branch);
    sw_test_rmtree(tree);
    const char *init[] = {"git", GIT_ID, "init", "-q", tree, NULL};
    run_ok(init, NULL);
    for (const sw_harness_file *f = files; f->path != NULL; f++) {
        char *path = sw_asprintf("%s/%s", tree, f->path);
        mkdirs_for(path);
        sw_test_write_file(path, f->content);
        free(path);
    }
    char *message = sw_asprintf("test: %s", branch);
    char *refspec = sw_asprintf("+HEAD:refs/heads/%s", branch);
    const char *add[] = {"git", "add", "-A", NULL};
    const char *commit[] = {"git", GIT_ID, "commit", "-q", "-m", message, NULL};
    const char *push[] = {"git", "push", "-q", bare, refspec, NULL};
    run_ok(add, tree);
    run_ok(commit, tree);
    run_ok(push, tree);
    sw_test_rmtree(tree);
    free(refspec);
    free(message);
    free(tree);
    free(bare);
}

void sw_harness_repo_pipeline(sw_harness *h, const char *repo, const char *pipeline)
{
    const sw_harness_file files[] = {
        {".slipway.yml", pipeline},
        {NULL, NULL},
    };
    sw_harness_repo_branch(h, repo, "main", files);
}

/* --- slipwayd -------------------------------------------------------------------- */

static char *write_config(sw_harness *h)
{
    char *path = sw_asprintf("%s/slipway.yaml", h->dir);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    /* a cluster's URLs as a YAML list: [nats://..., nats://..., ...] */
    char *url = sw_strdup(h->nnodes > 1 ? "[" : "");
    for (const char *u = h->nats_url; *u != '\0'; u++) {
        char *next = sw_asprintf("%s%s", url, *u == ',' ? ", " : (char[]){*u, '\0'});
        free(url);
        url = next;
    }
    if (h->nnodes > 1) {
        char *next = sw_asprintf("%s]", url);
        free(url);
        url = next;
    }
    fprintf(f,
            "nats:\n"
            "  url: %s\n"
            "  replicas: %d\n"
            "  %s: %s/service\n"
            "data_dir: %s/data\n"
            "work_dir: %s/work\n"
            "timeouts:\n"
            "  heartbeat_interval: %s\n"
            "  heartbeat_lapse: %s\n"
            "  max_deliveries: %d\n"
            "tiers:\n"
            "  - name: free\n"
            "    memory: %s\n"
            "    pids: 256\n"
            "    cpu_millis: 1000\n"
            "    timeout: %s\n"
            "    log_limit: %s\n"
            "%s"
            "webhook:\n"
            "  listen: 127.0.0.1:%d\n"
            "  max_body: %s\n"
            "notifier:\n"
            "  attempts: 3\n"
            "  backoff: 100ms\n"
            "  timeout: 2s\n"
            "docker:\n"
            "  socket: %s\n"
            "  default_image: %s\n",
            url, h->nnodes > 1 ? h->nnodes : 1, h->opts.open_nats ? "# creds" : "creds",
            h->nats_dir, h->dir, h->dir,
            h->opts.heartbeat_interval,
            h->opts.heartbeat_lapse,
            h->opts.max_deliveries, h->opts.tier_memory, h->opts.tier_timeout,
            h->opts.tier_log_limit ? h->opts.tier_log_limit : "100M",
            h->opts.tier_extra ? h->opts.tier_extra : "", h->webhook_port,
            h->opts.webhook_max_body, docker_socket(), h->default_image);
    free(url);
    if (getenv("SLIPWAY_REGISTRY") != NULL && getenv("SLIPWAY_REGISTRY")[0] != '\0') {
        fprintf(f, "  registry: %s\n", getenv("SLIPWAY_REGISTRY"));
    }
    write_tenants(f, h);
    if (h->nrepos > 0) {
        fprintf(f, "projects:\n");
    }
    for (int i = 0; i < h->nrepos; i++) {
        fprintf(f,
                "  - name: %s\n"
                "    tenant: %s\n"
                "    repository: git://127.0.0.1:%d/%s.git\n"
                "    default_ref: main\n"
                "%s%s%s"
                "    forge:\n"
                "      type: %s\n"
                "      repo: demo/%s\n"
                "      secret: \"%s\"\n",
                h->repos[i], h->repo_tenant[i] ? h->repo_tenant[i] : "demo", h->git_port,
                h->repos[i], h->unpinned[i] ? "" : "    region: ",
                h->unpinned[i] ? "" : h->repo_region[i] ? h->repo_region[i] : "local",
                h->unpinned[i] ? "" : "\n", h->opts.forge, h->repos[i],
                h->opts.webhook_secret);
        if (h->opts.secret != NULL) {
            fprintf(f,
                    "    secrets:\n"
                    "      DEPLOY_TOKEN: \"%s\"\n",
                    h->opts.secret);
        }
        if (h->opts.forge_api_url != NULL) {
            fprintf(f,
                    "      token: %s\n"
                    "      api_url: %s\n",
                    SW_HARNESS_TOKEN, h->opts.forge_api_url);
        }
        if (h->opts.cancel_superseded) {
            fprintf(f, "    cancel_superseded: true\n");
        }
    }
    if (h->opts.yaml_extra != NULL) {
        fputs(h->opts.yaml_extra, f);
    }
    fprintf(f,
            "clusters:\n"
            "  - name: local-free\n"
            "    tier: free\n"
            "    region: local\n"
            "    executor: %s\n"
            "%s%s"
            "builders:\n%s",
            h->opts.executor, h->opts.cluster_extra ? h->opts.cluster_extra : "",
            h->opts.clusters_extra ? h->opts.clusters_extra : "",
            h->opts.builders_extra ? h->opts.builders_extra : "");
    for (int i = 1; i <= h->opts.builders; i++) {
        fprintf(f,
                "  - name: builder-%d\n"
                "    cluster: local-free\n"
                "    slots: %d\n",
                i, h->opts.slots);
    }
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

const char *sw_harness_webhook_url(const sw_harness *h)
{
    return h->webhook_url;
}

void sw_harness_nats_stop(sw_harness *h)
{
    for (int i = 0; i < h->nnodes; i++) {
        sw_natsd_stop(h->nodes[i]);
    }
}

int sw_harness_nats_nodes(const sw_harness *h)
{
    return h->nnodes;
}

int sw_harness_nats_http_port(const sw_harness *h, int node)
{
    ck_assert_msg(node >= 0 && node < h->nnodes && h->http_ports[node] != 0,
                  "no monitoring port for node %d", node);
    return h->http_ports[node];
}

void sw_harness_nats_kill_node(sw_harness *h, int node)
{
    ck_assert(node >= 0 && node < h->nnodes);
    sw_natsd_kill(h->nodes[node]);
}

void sw_harness_nats_restart_node(sw_harness *h, int node)
{
    ck_assert(node >= 0 && node < h->nnodes);
    ck_assert_msg(sw_natsd_restart(h->nodes[node]) == 0, "n%d did not restart: %s", node + 1,
                  sw_error_last());
}

/* After every node of a cluster restarted: waits until each of Slipway's
 * streams that exists answers (has a leader again), as on one server it does
 * once the server is up. */
static void await_stream_leaders(sw_harness *h)
{
    static const char *const streams[] = {SW_STREAM_REQUESTS, SW_STREAM_SCHED,  SW_STREAM_JOBS,
                                          SW_STREAM_EVENTS,   SW_STREAM_LOGS,   SW_STREAM_CLAIMS,
                                          SW_STREAM_ADVISORIES, SW_STREAM_SCALING,
                                          SW_STREAM_LEASES};
    long long deadline = sw_harness_now_ms() + CLUSTER_TIMEOUT_MS;
    sw_bus_options o = {.url = h->nats_url, .name = "harness", .connect_wait_ms = 5000};
    sw_bus *bus = NULL;

    sw_harness_as_operator(&o);
    ck_assert_msg(sw_bus_connect(&bus, &o) == 0, "harness cannot connect: %s", sw_error_last());
    for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
        uint64_t n;
        int error;
        while ((error = sw_bus_stream_count(bus, streams[i], &n)) < 0 && error != SW_ENOTFOUND) {
            ck_assert_msg(sw_harness_now_ms() < deadline,
                          "stream %s has no leader %d ms after the cluster restarted: %s",
                          streams[i], CLUSTER_TIMEOUT_MS, sw_error_last());
            usleep(100 * 1000);
        }
    }
    sw_bus_destroy(&bus);
}

void sw_harness_nats_restart(sw_harness *h)
{
    sw_harness_nats_stop(h);
    for (int i = 0; i < h->nnodes; i++) {
        ck_assert_msg(sw_natsd_restart(h->nodes[i]) == 0, "nats-server n%d did not restart: %s",
                      i + 1, sw_error_last());
    }
    if (h->nnodes > 1) {
        await_meta_leader(h);
        await_stream_leaders(h);
    }
}

char *sw_harness_repo_sha(sw_harness *h, const char *repo, const char *branch)
{
    char *cmd = sw_asprintf("git --git-dir='%s/git/%s.git' rev-parse --verify -q "
                            "'refs/heads/%s'",
                            h->dir, repo, branch);
    FILE *p = popen(cmd, "r");
    char line[128] = "";
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof(line), p));
    ck_assert_int_eq(pclose(p), 0);
    line[strcspn(line, "\n")] = '\0';
    ck_assert_uint_eq(strlen(line), 40);
    free(cmd);
    return sw_strdup(line);
}

char *sw_harness_slipwayd_log(const sw_harness *h)
{
    char *log = h->slipwayd_log ? sw_test_read_file(h->slipwayd_log, NULL) : NULL;
    return log ? log : sw_strdup("");
}

/* Starts slipwayd with argv's actors, logging to log_path, and waits for its
 * ready line. Returns its pid. */
static pid_t start_daemon(sw_harness *h, const char *log_path, va_list ap)
{
    char *config = sw_asprintf("%s/slipway.yaml", h->dir);
    char *prog = sw_asprintf("%s/tools/slipwayd", h->build_dir);
    ck_assert_msg(access(prog, X_OK) == 0, "%s is not built", prog);
    const char *argv[MAX_ARGS] = {prog, "-c", config};
    collect_args(argv, 3, ap);

    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    ck_assert_int_ge(log_fd, 0);
    pid_t pid = spawn(argv, h->dir, log_fd, log_fd);
    close(log_fd);
    free(prog);
    free(config);

    long long deadline = sw_harness_now_ms() + READY_TIMEOUT_MS;
    for (;;) {
        char *log = sw_test_read_file(log_path, NULL);
        bool ready = log != NULL && strstr(log, "slipwayd: ready") != NULL;
        int status;
        if (!ready && waitpid(pid, &status, WNOHANG) == pid) {
            ck_abort_msg("slipwayd exited (%d) before it was ready; its log:\n%s",
                         decode_status(status), tail_of(log ? log : "", 3000));
        }
        if (!ready && sw_harness_now_ms() >= deadline) {
            ck_abort_msg("slipwayd not ready after %d ms; its log:\n%s", READY_TIMEOUT_MS,
                         tail_of(log ? log : "", 3000));
        }
        free(log);
        if (ready) {
            return pid;
        }
        pause_ms(50);
    }
}

void sw_harness_write_config(sw_harness *h, const sw_harness_options *opts)
{
    set_options(h, opts);
    free(write_config(h));
}

void sw_harness_signal_slipwayd(sw_harness *h, int sig)
{
    ck_assert_msg(h->slipwayd_pid != 0, "slipwayd is not running");
    ck_assert_int_eq(kill(h->slipwayd_pid, sig), 0);
}

size_t sw_harness_log_size(const sw_harness *h)
{
    struct stat st;
    return h->slipwayd_log != NULL && stat(h->slipwayd_log, &st) == 0 ? (size_t)st.st_size : 0;
}

char *sw_harness_await_log(sw_harness *h, size_t from, const char *needle, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    for (;;) {
        char *log = sw_harness_slipwayd_log(h);
        const char *since = strlen(log) > from ? log + from : "";
        const char *hit = strstr(since, needle);
        if (hit != NULL) {
            const char *end = strchr(hit, '\n');
            const char *start = hit;
            while (start > since && start[-1] != '\n') {
                start--;
            }
            char *line = strndup(start, end ? (size_t)(end - start) : strlen(start));
            ck_assert_ptr_nonnull(line);
            free(log);
            return line;
        }
        if (sw_harness_now_ms() >= deadline) {
            ck_abort_msg("slipwayd's log has no '%s' after %d ms; it ends:\n%s", needle,
                         timeout_ms, tail_of(since, 3000));
        }
        free(log);
        pause_ms(50);
    }
}

/* Actors that only the scheduler's NATS user may set up JetStream for (see
 * runtime/roles.h): a first slipwayd without the scheduler would wait for
 * it, so the streams are made first, as a deploy would (slipwayd --setup). */
static void setup_streams(sw_harness *h, va_list ap)
{
    va_list copy;
    const char *a;
    bool scheduler = true;
    va_copy(copy, ap);
    if ((a = va_arg(copy, const char *)) != NULL) {
        scheduler = false;
        for (; a != NULL && !scheduler; a = va_arg(copy, const char *)) {
            scheduler = strcmp(a, "scheduler") == 0;
        }
    }
    va_end(copy);
    if (scheduler) {
        return;
    }
    char *prog = sw_asprintf("%s/tools/slipwayd", h->build_dir);
    char *config = sw_asprintf("%s/slipway.yaml", h->dir);
    const char *argv[] = {prog, "-c", config, "--setup", NULL};
    sw_harness_proc *p = proc_start(argv, h->dir);
    sw_harness_result res;
    sw_harness_proc_finish(&p, &res, READY_TIMEOUT_MS);
    ck_assert_msg(res.status == 0, "slipwayd --setup exited %d: %s%s", res.status, res.out,
                  res.err);
    sw_harness_result_finish(&res);
    free(config);
    free(prog);
}

void sw_harness_start(sw_harness *h, ...)
{
    ck_assert_msg(h->slipwayd_pid == 0, "slipwayd already started");
    free(write_config(h));
    {
        va_list ap;
        va_start(ap, h);
        setup_streams(h, ap);
        va_end(ap);
    }
    free(h->slipwayd_log);
    h->slipwayd_log = sw_asprintf("%s/slipwayd.log", h->dir);
    va_list ap;
    va_start(ap, h);
    h->slipwayd_pid = start_daemon(h, h->slipwayd_log, ap);
    va_end(ap);
}

int sw_harness_start_more(sw_harness *h, const char *name, ...)
{
    ck_assert_msg(h->slipwayd_pid != 0, "start the first slipwayd with sw_harness_start");
    ck_assert_int_lt(h->nmore, MAX_MORE);
    char *log_path = sw_asprintf("%s/%s.log", h->dir, name);
    va_list ap, copy;
    va_start(ap, name);
    va_copy(copy, ap);
    const char *a;
    int n = 0;
    h->more_names[h->nmore] = strdup(name);
    while ((a = va_arg(copy, const char *)) != NULL && n < MAX_ARGS - 1) {
        h->more_args[h->nmore][n++] = strdup(a);
    }
    va_end(copy);
    h->more_pids[h->nmore] = start_daemon(h, log_path, ap);
    va_end(ap);
    free(log_path);
    return h->nmore++;
}

sw_harness_proc *sw_harness_spawn_slipwayd(sw_harness *h, ...)
{
    free(write_config(h));
    char *config = sw_asprintf("%s/slipway.yaml", h->dir);
    char *prog = sw_asprintf("%s/tools/slipwayd", h->build_dir);
    ck_assert_msg(access(prog, X_OK) == 0, "%s is not built", prog);
    const char *argv[MAX_ARGS] = {prog, "-c", config};
    va_list ap;
    va_start(ap, h);
    collect_args(argv, 3, ap);
    va_end(ap);

    int out[2];
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    sw_harness_proc *p = calloc(1, sizeof(*p));
    ck_assert_ptr_nonnull(p);
    p->pid = spawn(argv, h->dir, out[1], out[1]);
    close(out[1]);
    p->out_fd = out[0];
    p->err_fd = -1;
    append(&p->out, &p->out_len, &p->out_cap, "", 0);
    append(&p->err, &p->err_len, &p->err_cap, "", 0);
    free(prog);
    free(config);
    return p;
}

static pid_t start_daemon_args(sw_harness *h, const char *log_path, ...)
{
    va_list ap;
    va_start(ap, log_path);
    pid_t pid = start_daemon(h, log_path, ap);
    va_end(ap);
    return pid;
}

void sw_harness_restart_more(sw_harness *h, int index)
{
    ck_assert(index >= 0 && index < h->nmore);
    if (h->more_pids[index] != 0) {
        stop_group(h->more_pids[index], SIGKILL, STOP_TIMEOUT_MS);
        h->more_pids[index] = 0;
    }
    /* the log goes on in a file of its own per run, so the first run's stays */
    static int runs;
    char *log_path = sw_asprintf("%s/%s.%d.log", h->dir, h->more_names[index], ++runs);
    char **a = h->more_args[index];
    ck_assert_msg(a[4] == NULL, "restart_more takes at most 4 arguments");
    h->more_pids[index] = start_daemon_args(h, log_path, a[0], a[1], a[2], a[3], (char *)NULL);
    free(log_path);
}

void sw_harness_signal(sw_harness *h, int index, int sig)
{
    ck_assert(index >= 0 && index < h->nmore && h->more_pids[index] != 0);
    ck_assert_int_eq(kill(h->more_pids[index], sig), 0);
}

int sw_harness_slipwayd_pid(const sw_harness *h)
{
    return (int)h->slipwayd_pid;
}

int sw_harness_more_pid(const sw_harness *h, int index)
{
    return index >= 0 && index < h->nmore ? (int)h->more_pids[index] : 0;
}

void sw_harness_kill(sw_harness *h, int index)
{
    ck_assert(index >= 0 && index < h->nmore && h->more_pids[index] != 0);
    stop_group(h->more_pids[index], SIGKILL, STOP_TIMEOUT_MS);
    h->more_pids[index] = 0;
}

int sw_harness_stop_signal(sw_harness *h, int sig)
{
    if (h->slipwayd_pid == 0) {
        return 0;
    }
    int status = stop_group(h->slipwayd_pid, sig, STOP_TIMEOUT_MS);
    h->slipwayd_pid = 0;
    return status;
}

/* SIGINT, not SIGTERM: SIGTERM would wait for running builds to finish (drain). */
int sw_harness_stop(sw_harness *h)
{
    return sw_harness_stop_signal(h, SIGINT);
}

int sw_harness_await_exit(sw_harness *h, int index, int timeout_ms)
{
    ck_assert(index >= 0 && index < h->nmore && h->more_pids[index] != 0);
    long long deadline = sw_harness_now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(h->more_pids[index], &status, WNOHANG);
        if (r == h->more_pids[index]) {
            kill(-h->more_pids[index], SIGKILL); /* whatever it left in its group */
            h->more_pids[index] = 0;
            return decode_status(status);
        }
        ck_assert_msg(sw_harness_now_ms() < deadline, "%s (pid %d) still running after %d ms",
                      h->more_names[index], (int)h->more_pids[index], timeout_ms);
        pause_ms(20);
    }
}

void sw_harness_rewrite_config(sw_harness *h, const sw_harness_options *opts)
{
    sw_harness_options keep = h->opts;
    h->opts = *opts;
    /* the defaults sw_harness_create filled in stay */
#define KEEP(f)                                                                                    \
    if (h->opts.f == 0) {                                                                          \
        h->opts.f = keep.f;                                                                        \
    }
    KEEP(tier_memory) KEEP(tier_timeout) KEEP(slots) KEEP(builders) KEEP(heartbeat_interval)
    KEEP(heartbeat_lapse) KEEP(max_deliveries) KEEP(forge) KEEP(webhook_max_body) KEEP(executor)
#undef KEEP
    free(write_config(h));
}

/* The first line of nats-server's log where it refused one of Slipway's own
 * users (a role's permissions that miss a subject its actor uses); NULL. */
static char *node_refusal(const sw_natsd *n)
{
    char *log = n ? sw_test_read_file(sw_natsd_log(n), NULL) : NULL, *found = NULL;
    size_t nroles;
    const sw_role *roles = sw_roles(&nroles);
    for (char *line = log; line != NULL && *line != '\0' && found == NULL;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *one = strndup(line, len);
        for (size_t i = 0; one != NULL && i < nroles && strstr(one, "Violation"); i++) {
            char user[64];
            snprintf(user, sizeof(user), "User \"%s\"", roles[i].name);
            if (strstr(one, user) != NULL) {
                found = sw_strdup(one);
                break;
            }
        }
        free(one);
        line = end ? end + 1 : NULL;
    }
    free(log);
    return found;
}

/* The same over every node of a cluster. */
static char *service_refusal(const sw_harness *h)
{
    char *found = node_refusal(h->natsd);
    for (int i = 1; found == NULL && i < h->nnodes; i++) {
        found = node_refusal(h->nodes[i]);
    }
    return found;
}

void sw_harness_expect_refusals(sw_harness *h)
{
    h->refusals_expected = true;
}

void sw_harness_destroy(sw_harness **h_p)
{
    sw_harness *h = *h_p;
    if (h == NULL) {
        return;
    }
    *h_p = NULL;
    int stop_status = 0;
    if (h->slipwayd_pid != 0) {
        stop_status = sw_harness_stop(h);
        if (stop_status != 0) {
            char *log = sw_harness_slipwayd_log(h);
            fprintf(stderr, "harness: slipwayd exited %d on SIGINT; its log ends:\n%s\n",
                    stop_status, tail_of(log, 3000));
            free(log);
        }
    }
    for (int i = 0; i < h->nmore; i++) {
        if (h->more_pids[i] != 0) {
            kill(h->more_pids[i], SIGCONT); /* a test that failed may have left it stopped */
            stop_group(h->more_pids[i], SIGINT, STOP_TIMEOUT_MS);
        }
        free(h->more_names[i]);
        for (int k = 0; k < MAX_ARGS && h->more_args[i][k] != NULL; k++) {
            free(h->more_args[i][k]);
        }
    }
    if (h->gitd_pid != 0) {
        stop_group(h->gitd_pid, SIGTERM, 5000);
    }
    char *refused = h->refusals_expected ? NULL : service_refusal(h);
    for (int i = 1; i < h->nnodes; i++) {
        sw_natsd_destroy(&h->nodes[i]);
    }
    sw_natsd_destroy(&h->natsd);
    free(h->webhook_url);
    const char *keep = getenv("SLIPWAY_KEEP_TMP");
    if (keep != NULL && keep[0] != '\0') {
        fprintf(stderr, "harness: keeping %s\n", h->dir);
    } else {
        sw_test_rmtree(h->dir);
    }
    for (int i = 0; i < h->nrepos; i++) {
        free(h->repos[i]);
    }
    free(h->slipwayd_log);
    free(h->nats_url);
    free(h->nats_dir);
    free(h->creds_buf);
    for (int i = 0; i < MAX_REPOS; i++) {
        free(h->repo_tenant[i]);
    }
    free(h->build_dir);
    free(h->dir);
    free(h);
    /* A slipwayd that did not stop cleanly (a crash, a sanitizer's report at
     * exit) fails the test, after everything is cleaned up. */
    ck_assert_msg(stop_status == 0, "slipwayd exited %d on SIGINT (its log is above)",
                  stop_status);
    if (refused != NULL) {
        char line[1024];
        snprintf(line, sizeof(line), "%s", refused);
        free(refused);
        ck_abort_msg("nats-server refused one of Slipway's own users (a role in "
                     "runtime/roles.c misses a subject its actor uses):\n%s", line);
    }
}

/* --- the CLI ------------------------------------------------------------------------ */

static sw_harness_proc *cli_start_as(sw_harness *h, const char *creds, va_list ap)
{
    char *prog = sw_asprintf("%s/tools/slipway", h->build_dir);
    char *file = sw_strdup(creds);
    ck_assert_msg(access(prog, X_OK) == 0, "%s is not built", prog);
    const char *argv[MAX_ARGS] = {prog, "--nats", h->nats_url, "--creds", file};
    if (h->opts.open_nats) {
        argv[3] = argv[4] = NULL;
    }
    collect_args(argv, h->opts.open_nats ? 3 : 5, ap);
    sw_harness_proc *p = proc_start(argv, h->dir);
    free(file);
    free(prog);
    return p;
}

static sw_harness_proc *cli_start(sw_harness *h, va_list ap)
{
    return cli_start_as(h, sw_harness_creds(h, "operator"), ap);
}

void sw_harness_cli_as(sw_harness *h, const char *creds, sw_harness_result *res,
                       int timeout_ms, ...)
{
    va_list ap;
    va_start(ap, timeout_ms);
    sw_harness_proc *p = cli_start_as(h, creds, ap);
    va_end(ap);
    sw_harness_proc_finish(&p, res, timeout_ms);
}

void sw_harness_cli(sw_harness *h, sw_harness_result *res, int timeout_ms, ...)
{
    va_list ap;
    va_start(ap, timeout_ms);
    sw_harness_proc *p = cli_start(h, ap);
    va_end(ap);
    sw_harness_proc_finish(&p, res, timeout_ms);
}

sw_harness_proc *sw_harness_spawn_program(sw_harness *h, const char *const *argv)
{
    return proc_start(argv, sw_harness_dir(h));
}

sw_harness_proc *sw_harness_spawn(sw_harness *h, ...)
{
    va_list ap;
    va_start(ap, h);
    sw_harness_proc *p = cli_start(h, ap);
    va_end(ap);
    return p;
}

static char *trimmed(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) {
        n--;
    }
    char *d = strndup(s, n);
    ck_assert_ptr_nonnull(d);
    return d;
}

char *sw_harness_submit(sw_harness *h, const char *project, const char *ref)
{
    sw_harness_result res;
    if (ref != NULL) {
        sw_harness_cli(h, &res, CLI_TIMEOUT_MS, "submit", "--project", project, "--ref", ref, NULL);
    } else {
        sw_harness_cli(h, &res, CLI_TIMEOUT_MS, "submit", "--project", project, NULL);
    }
    ck_assert_msg(res.status == 0, "slipway submit --project %s exited %d; stderr: %s", project,
                  res.status, tail_of(res.err, 1000));
    char *id = trimmed(res.out);
    ck_assert_msg(id[0] != '\0' && strpbrk(id, " \t\n") == NULL,
                  "slipway submit printed '%s', not one build id", res.out);
    sw_harness_result_finish(&res);
    return id;
}

char *sw_harness_show_field(sw_harness *h, const char *build_id, const char *key, int *status_out)
{
    sw_harness_result res;
    sw_harness_cli(h, &res, CLI_TIMEOUT_MS, "show", build_id, NULL);
    if (status_out != NULL) {
        *status_out = res.status;
    }
    char *value = NULL;
    size_t klen = strlen(key);
    for (char *line = res.out; line != NULL && *line != '\0';) {
        char *end = strchr(line, '\n');
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            char *v =
                strndup(line + klen + 1, end ? (size_t)(end - line - klen - 1) : strlen(line));
            ck_assert_ptr_nonnull(v);
            value = trimmed(v);
            free(v);
            break;
        }
        line = end ? end + 1 : NULL;
    }
    sw_harness_result_finish(&res);
    return value;
}

long long sw_harness_show_ms(sw_harness *h, const char *build_id, const char *key)
{
    sw_harness_result res;
    long long ms = 0;
    sw_harness_cli(h, &res, CLI_TIMEOUT_MS, "show", "--json", build_id, NULL);
    json_t *o = res.out != NULL ? json_loads(res.out, 0, NULL) : NULL;
    if (o != NULL && json_is_integer(json_object_get(o, key))) {
        ms = (long long)json_integer_value(json_object_get(o, key));
    }
    json_decref(o);
    sw_harness_result_finish(&res);
    return ms;
}

static bool is_final(const char *state)
{
    static const char *const finals[] = {"succeeded", "failed",    "errored",
                                         "timed_out", "cancelled", NULL};
    for (int i = 0; state != NULL && finals[i] != NULL; i++) {
        if (strcmp(state, finals[i]) == 0) {
            return true;
        }
    }
    return false;
}

char *sw_harness_await_final(sw_harness *h, const char *build_id, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    char *state = NULL;
    for (;;) {
        free(state);
        state = sw_harness_show_field(h, build_id, "state", NULL);
        if (is_final(state)) {
            return state;
        }
        if (sw_harness_now_ms() >= deadline) {
            char *log = sw_harness_slipwayd_log(h);
            ck_abort_msg("build %s still '%s' after %d ms; slipwayd log ends:\n%s", build_id,
                         state ? state : "(no state)", timeout_ms, tail_of(log, 3000));
        }
        pause_ms(100);
    }
}

int sw_harness_count_processes(const char *marker)
{
    DIR *proc = opendir("/proc");
    struct dirent *de;
    int n = 0;
    ck_assert_ptr_nonnull(proc);
    while ((de = readdir(proc)) != NULL) {
        char path[300], buf[4096];
        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        ssize_t len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        for (ssize_t i = 0; i < len; i++) {
            if (buf[i] == '\0') {
                buf[i] = ' ';
            }
        }
        if (len > 0) {
            buf[len] = '\0';
            if (strstr(buf, marker) != NULL) {
                n++;
                if (getenv("SLIPWAY_TEST_SHOW_PROCESSES")) {
                    fprintf(stderr, "harness: process %s: %.300s\n", de->d_name, buf);
                }
            }
        }
    }
    closedir(proc);
    return n;
}

bool sw_harness_await_no_processes(const char *marker, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    while (sw_harness_now_ms() < deadline) {
        if (sw_harness_count_processes(marker) == 0) {
            return true;
        }
        usleep(20 * 1000);
    }
    return sw_harness_count_processes(marker) == 0;
}
