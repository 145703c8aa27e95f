/* docker_api.c - the Docker Engine API over its unix socket (see docker_api.h). */
#include "actors/builder/exec/docker_api.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLLECTED (1u << 20)

struct sw_docker {
    char *socket;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct call {
    const sw_docker_req *req;
    CURL *h;
    int stream;     /* the answer goes to on_data: -1 not known yet, 0 no, 1 yes */
    char *buf;
    size_t len, cap;
    bool stopped;
} call;

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
    call *c = arg;
    size_t len = size * n;
    if (c->stream < 0) {
        long status = 0;
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
        c->stream = c->req->on_data != NULL && (!c->req->success_only || status / 100 == 2);
    }
    if (c->stream) {
        if (!c->req->on_data(c->req->ud, data, len)) {
            c->stopped = true;
            return 0; /* aborts the transfer */
        }
        return len;
    }
    size_t keep = c->len + len > MAX_COLLECTED ? MAX_COLLECTED - c->len : len;
    if (c->len + keep + 1 > c->cap) {
        c->cap = (c->len + keep + 1) * 2;
        c->buf = sw_realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, data, keep);
    c->len += keep;
    c->buf[c->len] = '\0';
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    FILE *f = arg;
    return fread(buf, 1, size * n, f);
}

/* Drives one transfer with a multi handle, so that the caller's should_stop is
 * polled every SW_DOCKER_POLL_MS however quiet the engine is (an easy perform's
 * progress callback runs only about once a second on an idle connection). It is
 * also polled between bursts of data, so a chatty stream does not starve it. */
static CURLcode perform(CURL *h, call *c)
{
    CURLM *m = curl_multi_init();
    CURLcode rc = CURLE_OK;
    int running = 1;

    if (m == NULL || curl_multi_add_handle(m, h) != CURLM_OK) {
        if (m != NULL) {
            curl_multi_cleanup(m);
        }
        return CURLE_OUT_OF_MEMORY;
    }
    int64_t next_poll = sw_clock_mono_ms() + SW_DOCKER_POLL_MS;
    while (running) {
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            rc = CURLE_RECV_ERROR;
            break;
        }
        if (!running || c->stopped) {
            break;
        }
        int64_t now = sw_clock_mono_ms();
        if (now >= next_poll) {
            if (c->req->should_stop != NULL && c->req->should_stop(c->req->ud)) {
                c->stopped = true;
                break;
            }
            next_poll = now + SW_DOCKER_POLL_MS;
        }
        if (curl_multi_poll(m, NULL, 0, (int)(next_poll - now), NULL) != CURLM_OK) {
            rc = CURLE_RECV_ERROR;
            break;
        }
    }
    if (!c->stopped && rc == CURLE_OK) {
        CURLMsg *msg;
        int left;
        rc = CURLE_RECV_ERROR; /* unless the transfer reports how it ended */
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == h) {
                rc = msg->data.result;
            }
        }
    }
    curl_multi_remove_handle(m, h);
    curl_multi_cleanup(m);
    return rc;
}

int sw_docker_call(sw_docker *d, const sw_docker_req *req, char **body_out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hs = NULL;
    call c = {.req = req, .h = h, .stream = -1};
    char url[2048], ct[160];
    long status = 0;
    CURLcode rc;

    if (body_out != NULL) {
        *body_out = NULL;
    }
    if (h == NULL) {
        return sw_error_set(SW_EIO, "cannot make an HTTP handle for the Docker engine");
    }
    snprintf(url, sizeof(url), "http://docker/%s%s", SW_DOCKER_API, req->path);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, d->socket);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    if (req->timeout_ms > 0) {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    }
    if (req->body != NULL || req->body_file != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s",
                 req->content_type ? req->content_type : "application/json");
        hs = curl_slist_append(hs, ct);
    }
    hs = curl_slist_append(hs, "Expect:");
    for (const char *const *p = req->headers; p != NULL && *p != NULL; p++) {
        hs = curl_slist_append(hs, *p);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    if (req->body_file != NULL) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, req->body_file);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method); /* UPLOAD means PUT */
    } else if (req->body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }

    rc = perform(h, &c);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);

    int result;
    if (c.stopped) {
        result = sw_error_set(SW_ESTOPPED, "%s %s: stopped", req->method, req->path);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        result = sw_error_set(SW_ETIMEDOUT, "%s %s: the Docker engine did not answer in time",
                              req->method, req->path);
    } else if (rc != CURLE_OK) {
        result = sw_error_set(SW_EIO, "%s %s: cannot talk to the Docker engine at %s: %s",
                              req->method, req->path, d->socket, curl_easy_strerror(rc));
    } else {
        result = (int)status;
    }
    if (body_out != NULL && result > 0) {
        *body_out = c.buf ? c.buf : sw_strdup("");
        c.buf = NULL;
    }
    free(c.buf);
    return result;
}

const char *sw_docker_error_text(char *buf, size_t n, const char *body)
{
    json_t *o = body ? json_loads(body, 0, NULL) : NULL;
    const char *msg = o ? json_string_value(json_object_get(o, "message")) : NULL;
    snprintf(buf, n, "%s", msg ? msg : (body && body[0] ? body : "no reason given"));
    json_decref(o);
    size_t len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        buf[--len] = '\0';
    }
    return buf;
}

int sw_docker_open(sw_docker **out, const char *socket_path)
{
    const char *env = getenv("SLIPWAY_DOCKER_SOCKET");
    sw_docker *d = sw_calloc(1, sizeof(*d));
    char *body = NULL;

    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    d->socket = sw_strdup(socket_path ? socket_path
                                      : (env && env[0] ? env : SW_DOCKER_DEFAULT_SOCKET));
    sw_docker_req req = {.method = "GET", .path = "/_ping", .timeout_ms = 5000};
    int status = sw_docker_call(d, &req, &body);
    free(body);
    if (status != 200) {
        int error = sw_error_set(SW_EIO,
                                 "the Docker engine at %s does not answer (is dockerd running? "
                                 "tools/up and tools/test start one)",
                                 d->socket);
        sw_docker_close(&d);
        return error;
    }
    *out = d;
    return 0;
}

void sw_docker_close(sw_docker **d_p)
{
    if (d_p == NULL || *d_p == NULL) {
        return;
    }
    free((*d_p)->socket);
    free(*d_p);
    *d_p = NULL;
}

const char *sw_docker_socket(const sw_docker *d)
{
    return d->socket;
}

char *sw_docker_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = sw_calloc(3 * n + 1, 1), *p = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            *p++ = (char)ch;
        } else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        }
    }
    *p = '\0';
    return out;
}
