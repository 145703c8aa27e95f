/* recorder.c - a local HTTP endpoint that records requests (see recorder.h). */
#include "recorder.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

#define DEFAULT_STATUS 201

typedef struct plan {
    struct plan *next;
    int left;
    int status;
    int delay_ms;
    char *header_name; /* an extra header of the answers, or NULL */
    char *header_value;
} plan;

struct sw_recorder {
    struct MHD_Daemon *daemon;
    char url[64];
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a request was recorded, released, or the server stops */
    sw_recorded **reqs;
    size_t n, cap;
    plan *plans; /* oldest first */
    uint64_t release_gen;
    bool stopping;
};

/* One request being read. */
typedef struct conn_ctx {
    sw_recorded *req;
    bool recorded; /* req moved into the recorder */
} conn_ctx;

static void recorded_free(sw_recorded *req)
{
    if (req == NULL) {
        return;
    }
    free(req->method);
    free(req->url);
    free(req->body);
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->names[i]);
        free(req->values[i]);
    }
    free(req->names);
    free(req->values);
    free(req);
}

static mhd_result add_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    sw_recorded *req = cls;
    req->names = sw_realloc(req->names, (req->nheaders + 1) * sizeof(char *));
    req->values = sw_realloc(req->values, (req->nheaders + 1) * sizeof(char *));
    req->names[req->nheaders] = sw_strdup(key);
    req->values[req->nheaders] = sw_strdup(value);
    req->nheaders++;
    return MHD_YES;
}

static void plan_free(plan *p)
{
    free(p->header_name);
    free(p->header_value);
    free(p);
}

/* Records req and takes the plan made for it (*header_name, *header_value: the caller
 * frees; NULL when none). */
static void record(sw_recorder *r, sw_recorded *req, int *delay_ms, char **header_name,
                   char **header_value)
{
    pthread_mutex_lock(&r->lock);
    req->status = DEFAULT_STATUS;
    *delay_ms = 0;
    *header_name = *header_value = NULL;
    if (r->plans != NULL) {
        plan *p = r->plans;
        req->status = p->status;
        *delay_ms = p->delay_ms;
        if (p->header_name != NULL) {
            *header_name = sw_strdup(p->header_name);
            *header_value = sw_strdup(p->header_value);
        }
        if (--p->left <= 0) {
            r->plans = p->next;
            plan_free(p);
        }
    }
    req->at_ms = sw_clock_mono_ms();
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->reqs = sw_realloc(r->reqs, r->cap * sizeof(*r->reqs));
    }
    r->reqs[r->n++] = req;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* Waits out a delay (or a hold, delay_ms < 0); false when the server stops. */
static bool wait_delay(sw_recorder *r, int delay_ms)
{
    struct timespec ts;
    bool go_on;
    pthread_mutex_lock(&r->lock);
    if (delay_ms < 0) {
        uint64_t gen = r->release_gen;
        while (!r->stopping && r->release_gen == gen) {
            pthread_cond_wait(&r->cond, &r->lock);
        }
    } else if (delay_ms > 0) {
        deadline_after(&ts, delay_ms);
        while (!r->stopping) {
            if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) != 0) {
                break;
            }
        }
    }
    go_on = !r->stopping;
    pthread_mutex_unlock(&r->lock);
    return go_on;
}

static mhd_result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **con_cls)
{
    sw_recorder *r = cls;
    conn_ctx *ctx = *con_cls;
    char *header_name, *header_value;
    int delay_ms;

    if (ctx == NULL) { /* the headers are in */
        ctx = sw_calloc(1, sizeof(*ctx));
        ctx->req = sw_calloc(1, sizeof(sw_recorded));
        ctx->req->method = sw_strdup(method);
        ctx->req->url = sw_strdup(url);
        ctx->req->body = sw_strdup("");
        MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header, ctx->req);
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_data_size > 0) { /* a piece of the body */
        sw_recorded *req = ctx->req;
        req->body = sw_realloc(req->body, req->body_len + *upload_data_size + 1);
        memcpy(req->body + req->body_len, upload_data, *upload_data_size);
        req->body_len += *upload_data_size;
        req->body[req->body_len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* all of it came: record, wait as planned, answer */
    sw_recorded *req = ctx->req;
    ctx->recorded = true;
    record(r, req, &delay_ms, &header_name, &header_value);
    if (!wait_delay(r, delay_ms)) {
        free(header_name);
        free(header_value);
        return MHD_NO; /* the server stops: drop the connection */
    }
    char body[96];
    if (req->status >= 200 && req->status < 300) {
        snprintf(body, sizeof(body), "{}");
    } else {
        snprintf(body, sizeof(body), "{\"message\":\"planned answer %d\"}", req->status);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        free(header_name);
        free(header_value);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (header_name != NULL) {
        MHD_add_response_header(resp, header_name, header_value);
    }
    free(header_name);
    free(header_value);
    mhd_result ret = MHD_queue_response(conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Keeps the request target as sent: %2F stays %2F. */
static size_t no_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    return strlen(s);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    conn_ctx *ctx = *con_cls;
    if (ctx == NULL) {
        return;
    }
    if (!ctx->recorded) {
        recorded_free(ctx->req);
    }
    free(ctx);
    *con_cls = NULL;
}

int sw_recorder_start(sw_recorder **out)
{
    sw_recorder *r = sw_calloc(1, sizeof(*r));
    struct sockaddr_in addr;
    pthread_condattr_t attr;

    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &attr);
    pthread_condattr_destroy(&attr);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = 0; /* any free port */
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                                 NULL, NULL, on_request, r, MHD_OPTION_SOCK_ADDR, &addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
                                 MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_END);
    if (r->daemon == NULL) {
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->cond);
        free(r);
        return sw_error_set(SW_ERROR, "recorder: cannot start an HTTP server on 127.0.0.1");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%u", info ? (unsigned)info->port : 0u);
    *out = r;
    return 0;
}

const char *sw_recorder_url(const sw_recorder *r)
{
    return r->url;
}

void sw_recorder_answer(sw_recorder *r, int n, int status, int delay_ms)
{
    sw_recorder_answer_header(r, n, status, delay_ms, NULL, NULL);
}

void sw_recorder_answer_header(sw_recorder *r, int n, int status, int delay_ms, const char *name,
                               const char *value)
{
    if (n <= 0) {
        return;
    }
    plan *p = sw_calloc(1, sizeof(*p));
    p->left = n;
    p->status = status;
    p->delay_ms = delay_ms;
    if (name != NULL) {
        p->header_name = sw_strdup(name);
        p->header_value = sw_strdup(value != NULL ? value : "");
    }
    pthread_mutex_lock(&r->lock);
    plan **tail = &r->plans;
    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = p;
    pthread_mutex_unlock(&r->lock);
}

void sw_recorder_release(sw_recorder *r)
{
    pthread_mutex_lock(&r->lock);
    r->release_gen++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

size_t sw_recorder_count(sw_recorder *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

bool sw_recorder_wait(sw_recorder *r, size_t n, int timeout_ms)
{
    struct timespec ts;
    deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&r->lock);
    while (r->n < n) {
        if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) != 0) {
            break;
        }
    }
    bool ok = r->n >= n;
    pthread_mutex_unlock(&r->lock);
    return ok;
}

const sw_recorded *sw_recorder_get(sw_recorder *r, size_t i)
{
    pthread_mutex_lock(&r->lock);
    const sw_recorded *req = i < r->n ? r->reqs[i] : NULL;
    pthread_mutex_unlock(&r->lock);
    return req;
}

const char *sw_recorded_header(const sw_recorded *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->names[i], name) == 0) {
            return req->values[i];
        }
    }
    return NULL;
}

void sw_recorder_destroy(sw_recorder **r_p)
{
    sw_recorder *r;
    if (r_p == NULL || (r = *r_p) == NULL) {
        return;
    }
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    MHD_stop_daemon(r->daemon);
    for (size_t i = 0; i < r->n; i++) {
        recorded_free(r->reqs[i]);
    }
    free(r->reqs);
    while (r->plans != NULL) {
        plan *p = r->plans;
        r->plans = p->next;
        plan_free(p);
    }
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
    *r_p = NULL;
}
