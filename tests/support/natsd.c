/* natsd.c - a real nats-server for tests (see natsd.h). */
#include "natsd.h"

#include "support.h"

#include "runtime/core/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 10000
#define POLL_MS 20
#define STOP_TIMEOUT_MS 5000

struct sw_natsd {
    pid_t pid; /* 0 when not running */
    int port;
    char *dir;
    char *store;
    char *log;
    char *url;
    char *conf; /* NULL: no -c */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static char *path_join(const char *dir, const char *name)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0) {
        abort();
    }
    return path;
}

static int accepts_tcp(int port)
{
    struct sockaddr_in addr;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok;
    if (fd < 0) {
        return 0;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

/* The last ~1 KiB of the server log, for error messages (static buffer). */
static const char *log_tail(const sw_natsd *n)
{
    static char tail[1024];
    size_t len = 0;
    char *text = sw_test_read_file(n->log, &len);
    tail[0] = '\0';
    if (text != NULL) {
        const char *start = len > sizeof(tail) - 1 ? text + len - (sizeof(tail) - 1) : text;
        snprintf(tail, sizeof(tail), "%s", start);
        free(text);
    }
    return tail;
}

static int spawn(sw_natsd *n)
{
    char port[16];
    pid_t parent = getpid();
    long long deadline;
    pid_t pid;

    snprintf(port, sizeof(port), "%d", n->port);
    pid = fork();
    if (pid < 0) {
        return sw_error_set(SW_EIO, "cannot fork for nats-server: %s", strerror(errno));
    }
    if (pid == 0) {
        int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(127);
        }
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        if (n->conf != NULL) {
            /* JetStream and its store are the config's */
            execlp("nats-server", "nats-server", "-c", n->conf, "-a", "127.0.0.1", "-p", port,
                   (char *)NULL);
        } else {
            execlp("nats-server", "nats-server", "-js", "-a", "127.0.0.1", "-p", port, "-sd",
                   n->store, (char *)NULL);
        }
        fprintf(stderr, "cannot run nats-server: %s\n", strerror(errno));
        _exit(127);
    }
    n->pid = pid;
    deadline = now_ms() + START_TIMEOUT_MS;
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            n->pid = 0;
            return sw_error_set(SW_EIO, "nats-server on port %d exited at start (status %d): %s",
                                n->port, status, log_tail(n));
        }
        if (accepts_tcp(n->port)) {
            return 0;
        }
        if (now_ms() >= deadline) {
            sw_natsd_stop(n);
            return sw_error_set(SW_EIO, "nats-server did not accept connections on port %d "
                                "within %d ms: %s", n->port, START_TIMEOUT_MS, log_tail(n));
        }
        sleep_ms(POLL_MS);
    }
}

int sw_natsd_start(sw_natsd **out)
{
    return sw_natsd_start_conf(out, NULL);
}

int sw_natsd_start_conf(sw_natsd **out, const char *conf)
{
    sw_natsd *n = calloc(1, sizeof(*n));
    int error;

    *out = NULL;
    if (n == NULL) {
        abort();
    }
    if (conf != NULL && (n->conf = strdup(conf)) == NULL) {
        abort();
    }
    n->dir = sw_test_tmpdir("sw-natsd");
    n->port = sw_test_free_port();
    n->store = path_join(n->dir, "js");
    n->log = path_join(n->dir, "nats-server.log");
    if (asprintf(&n->url, "nats://127.0.0.1:%d", n->port) < 0) {
        abort();
    }
    if ((error = spawn(n)) < 0) {
        sw_natsd_destroy(&n);
        return error;
    }
    *out = n;
    return 0;
}

const char *sw_natsd_url(const sw_natsd *n)
{
    return n->url;
}

int sw_natsd_port(const sw_natsd *n)
{
    return n->port;
}

const char *sw_natsd_log(const sw_natsd *n)
{
    return n->log;
}

void sw_natsd_stop(sw_natsd *n)
{
    long long deadline;
    if (n == NULL || n->pid == 0) {
        return;
    }
    kill(n->pid, SIGTERM);
    deadline = now_ms() + STOP_TIMEOUT_MS;
    for (;;) {
        pid_t r = waitpid(n->pid, NULL, WNOHANG);
        if (r == n->pid || (r < 0 && errno != EINTR)) {
            break;
        }
        if (now_ms() >= deadline) {
            kill(n->pid, SIGKILL);
            waitpid(n->pid, NULL, 0);
            break;
        }
        sleep_ms(POLL_MS);
    }
    n->pid = 0;
}

void sw_natsd_kill(sw_natsd *n)
{
    if (n == NULL || n->pid == 0) {
        return;
    }
    kill(n->pid, SIGKILL);
    while (waitpid(n->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    n->pid = 0;
}

int sw_natsd_monitor(int http_port, const char *path, char **body_out)
{
    struct sockaddr_in addr;
    struct timeval tv = {5, 0};
    char *reply = NULL;
    size_t len = 0, cap = 0;
    char req[512];
    int fd, n;

    *body_out = NULL;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        return sw_error_set(SW_EIO, "socket: %s", strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)http_port);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        close(fd);
        return sw_error_set(SW_EIO, "monitoring port %d: %s", http_port, strerror(errno));
    }
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return sw_error_set(SW_EIO, "monitoring port %d: cannot send", http_port);
    }
    for (;;) {
        if (cap - len < 4097) {
            cap = cap ? cap * 2 : 65536;
            if ((reply = realloc(reply, cap)) == NULL) {
                abort();
            }
        }
        ssize_t r = read(fd, reply + len, cap - len - 1);
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
    }
    close(fd);
    if (reply == NULL) {
        return sw_error_set(SW_EIO, "monitoring port %d: no answer to %s", http_port, path);
    }
    reply[len] = '\0';
    char *body = strstr(reply, "\r\n\r\n");
    if (strncmp(reply, "HTTP/1.", 7) != 0 || strncmp(reply + 8, " 200", 4) != 0 || body == NULL) {
        sw_error_set(SW_EIO, "monitoring port %d: %s answered %.40s", http_port, path, reply);
        free(reply);
        return -1;
    }
    *body_out = strdup(body + 4);
    free(reply);
    if (*body_out == NULL) {
        abort();
    }
    return 0;
}

int sw_natsd_restart(sw_natsd *n)
{
    if (n->pid != 0) {
        return 0;
    }
    return spawn(n);
}

void sw_natsd_destroy(sw_natsd **n_p)
{
    sw_natsd *n = n_p != NULL ? *n_p : NULL;
    if (n == NULL) {
        return;
    }
    *n_p = NULL;
    sw_natsd_stop(n);
    sw_test_rmtree(n->dir);
    free(n->dir);
    free(n->store);
    free(n->log);
    free(n->url);
    free(n->conf);
    free(n);
}
