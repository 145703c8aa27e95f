/* http.c - HTTP POSTs on a worker thread with libcurl's multi interface (see http.h). */
#include "actors/notifier/http.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sw_http {
    sw_actor *actor;
    int tag;
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t idle;     /* signalled when a request finished */
    sw_http_request *queued; /* submitted, not yet added to multi (under lock) */
    sw_http_request *done;   /* finished, newest first (under lock) */
    size_t pending;          /* submitted and not yet done (under lock) */
    bool stop;               /* under lock */
    sw_http_request *active; /* added to multi (worker thread only) */
};

sw_http_request *sw_http_request_new(void)
{
    return sw_calloc(1, sizeof(sw_http_request));
}

void sw_http_request_free(void *p)
{
    sw_http_request *req = p;
    if (req == NULL) {
        return;
    }
    free(req->key);
    free(req->url);
    free(req->body);
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i]);
    }
    free(req);
}

bool sw_http_retryable(const sw_http_request *req)
{
    return req->curl_code != 0 || req->status >= 500 || req->status == 429;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *closure)
{
    sw_http_request *req = closure;
    size_t n = size * nmemb;
    size_t room = SW_HTTP_MAX_RESPONSE - req->response_len;
    size_t keep = n < room ? n : room;
    memcpy(req->response + req->response_len, data, keep);
    req->response_len += keep;
    req->response[req->response_len] = '\0';
    return n; /* the rest is read and dropped */
}

/* What an easy handle carries (CURLOPT_PRIVATE): its request and header list. */
typedef struct easy_data {
    sw_http_request *req;
    struct curl_slist *headers;
} easy_data;

/* Puts a finished request on the done list; pokes the actor when the list was empty. */
static void deliver(sw_http *h, sw_http_request *req)
{
    pthread_mutex_lock(&h->lock);
    bool poke = h->done == NULL;
    req->next_ = h->done;
    h->done = req;
    h->pending--;
    pthread_cond_broadcast(&h->idle);
    pthread_mutex_unlock(&h->lock);
    if (poke) {
        sw_actor_post(h->actor, h->tag, NULL, NULL);
    }
}

/* Makes req's easy handle and adds it to the multi handle. */
static bool start(sw_http *h, sw_http_request *req)
{
    CURL *easy = curl_easy_init();
    easy_data *d;
    if (easy == NULL) {
        return false;
    }
    d = sw_calloc(1, sizeof(*d));
    d->req = req;
    for (size_t i = 0; i < req->nheaders; i++) {
        struct curl_slist *l = curl_slist_append(d->headers, req->headers[i]);
        if (l == NULL) {
            abort();
        }
        d->headers = l;
    }
    /* no "Expect: 100-continue" round trip for a large body */
    struct curl_slist *l = curl_slist_append(d->headers, "Expect:");
    if (l == NULL) {
        abort();
    }
    d->headers = l;
    curl_easy_setopt(easy, CURLOPT_URL, req->url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)(req->body ? strlen(req->body) : 0));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, d);
    req->error[0] = '\0';
    if (curl_multi_add_handle(h->multi, easy) != CURLM_OK) {
        curl_slist_free_all(d->headers);
        free(d);
        curl_easy_cleanup(easy);
        return false;
    }
    req->easy_ = easy;
    req->next_ = h->active;
    h->active = req;
    return true;
}

/* Takes req's easy handle out of the multi and off the active list. */
static void finish(sw_http *h, sw_http_request *req)
{
    CURL *easy = req->easy_;
    easy_data *d = NULL;
    for (sw_http_request **p = &h->active; *p != NULL; p = &(*p)->next_) {
        if (*p == req) {
            *p = req->next_;
            break;
        }
    }
    req->next_ = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&d);
    curl_multi_remove_handle(h->multi, easy);
    curl_easy_cleanup(easy);
    req->easy_ = NULL;
    if (d != NULL) {
        curl_slist_free_all(d->headers);
        free(d);
    }
}

static void collect_done(sw_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        easy_data *d = NULL;
        if (m->msg != CURLMSG_DONE) {
            continue;
        }
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
        sw_http_request *req = d->req;
        req->curl_code = (int)m->data.result;
        if (req->curl_code == CURLE_OK) {
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &req->status);
        } else if (req->error[0] == '\0') {
            snprintf(req->error, sizeof(req->error), "%s", curl_easy_strerror(m->data.result));
        }
        finish(h, req);
        deliver(h, req);
    }
}

static void *worker_main(void *arg)
{
    sw_http *h = arg;
    for (;;) {
        sw_http_request *incoming;
        int running = 0;
        pthread_mutex_lock(&h->lock);
        bool stop = h->stop;
        incoming = h->queued;
        h->queued = NULL;
        pthread_mutex_unlock(&h->lock);
        if (stop) {
            /* put them back for destroy to free */
            pthread_mutex_lock(&h->lock);
            while (incoming != NULL) {
                sw_http_request *next = incoming->next_;
                incoming->next_ = h->queued;
                h->queued = incoming;
                incoming = next;
            }
            pthread_mutex_unlock(&h->lock);
            break;
        }
        /* the queue holds them newest first: start the oldest first */
        sw_http_request *ordered = NULL;
        while (incoming != NULL) {
            sw_http_request *next = incoming->next_;
            incoming->next_ = ordered;
            ordered = incoming;
            incoming = next;
        }
        while (ordered != NULL) {
            sw_http_request *req = ordered;
            ordered = req->next_;
            req->next_ = NULL;
            if (!start(h, req)) {
                req->curl_code = CURLE_FAILED_INIT;
                snprintf(req->error, sizeof(req->error), "cannot start a request");
                deliver(h, req);
            }
        }
        curl_multi_perform(h->multi, &running);
        collect_done(h);
        /* sleeps until a socket is ready, a curl timer is due, or a wakeup */
        curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
    }
    while (h->active != NULL) {
        sw_http_request *req = h->active;
        finish(h, req);
        sw_http_request_free(req);
    }
    return NULL;
}

int sw_http_create(sw_http **out, sw_actor *actor, int tag)
{
    sw_http *h;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return sw_error_set(SW_ERROR, "cannot initialise libcurl");
    }
    h = sw_calloc(1, sizeof(*h));
    h->actor = actor;
    h->tag = tag;
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        free(h);
        curl_global_cleanup();
        return sw_error_set(SW_ERROR, "cannot make a libcurl multi handle");
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->idle, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&h->thread, NULL, worker_main, h) != 0) {
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->idle);
        curl_multi_cleanup(h->multi);
        free(h);
        curl_global_cleanup();
        return sw_error_set(SW_ERROR, "cannot start the HTTP worker thread");
    }
    *out = h;
    return 0;
}

void sw_http_submit(sw_http *h, sw_http_request **req_p)
{
    sw_http_request *req = *req_p;
    *req_p = NULL;
    pthread_mutex_lock(&h->lock);
    req->next_ = h->queued;
    h->queued = req;
    h->pending++;
    pthread_mutex_unlock(&h->lock);
    curl_multi_wakeup(h->multi);
}

sw_http_request *sw_http_take(sw_http *h)
{
    sw_http_request *list, *ordered = NULL;
    pthread_mutex_lock(&h->lock);
    list = h->done;
    h->done = NULL;
    pthread_mutex_unlock(&h->lock);
    while (list != NULL) { /* newest first -> oldest first */
        sw_http_request *next = list->next_;
        list->next_ = ordered;
        ordered = list;
        list = next;
    }
    return ordered;
}

bool sw_http_drain(sw_http *h, int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&h->lock);
    while (h->pending > 0) {
        if (pthread_cond_timedwait(&h->idle, &h->lock, &ts) != 0) {
            break;
        }
    }
    bool idle = h->pending == 0;
    pthread_mutex_unlock(&h->lock);
    return idle;
}

void sw_http_destroy(sw_http **http_p)
{
    sw_http *h;
    if (http_p == NULL || (h = *http_p) == NULL) {
        return;
    }
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_mutex_unlock(&h->lock);
    curl_multi_wakeup(h->multi);
    pthread_join(h->thread, NULL);
    while (h->queued != NULL) {
        sw_http_request *req = h->queued;
        h->queued = req->next_;
        sw_http_request_free(req);
    }
    while (h->done != NULL) {
        sw_http_request *req = h->done;
        h->done = req->next_;
        sw_http_request_free(req);
    }
    curl_multi_cleanup(h->multi);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->idle);
    free(h);
    curl_global_cleanup();
    *http_p = NULL;
}
