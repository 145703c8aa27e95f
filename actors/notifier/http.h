/*
 * http.h - HTTP POSTs off the actor's thread: a worker thread drives libcurl's
 * multi interface and hands every finished request back to the actor as mail.
 *
 * DESIGN
 * The actor never touches the network: sw_http_submit queues a request under a
 * lock and wakes the worker (curl_multi_wakeup); the worker adds it to its
 * multi handle, waits on every transfer's socket at once (curl_multi_poll), and
 * puts each finished request on a done list, poking the actor with an empty
 * mail (the tag given to sw_http_create) when the list was empty. The actor
 * takes the list (sw_http_take) when poked. Finished requests wait on the list
 * rather than in the mailbox so a stopping actor, whose late mail is dropped,
 * can still collect them (sw_http_drain, then sw_http_take). Many requests run
 * at once on one thread; none waits for another.
 */
#ifndef SW_NOTIFIER_HTTP_H
#define SW_NOTIFIER_HTTP_H

#include "runtime/actor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_HTTP_MAX_HEADERS 8
#define SW_HTTP_MAX_RESPONSE 2048 /* bytes of the answer kept, for messages */

typedef struct sw_http sw_http;

typedef struct sw_http_request {
    /* set by the caller; owned by the request */
    char *key; /* the caller's: which build it is for */
    char *url;
    char *headers[SW_HTTP_MAX_HEADERS]; /* "Name: value" */
    size_t nheaders;
    char *body;
    int64_t timeout_ms; /* the whole request, connecting included */
    /* set by the worker */
    int curl_code;                           /* 0: an answer came (see status) */
    long status;                             /* the HTTP status, 0 when none came */
    char error[256];                         /* curl's message when curl_code != 0 */
    char response[SW_HTTP_MAX_RESPONSE + 1]; /* the start of the answer's body */
    size_t response_len;
    void *easy_; /* the worker's */
    struct sw_http_request *next_;
} sw_http_request;

/* A request with every field zeroed; free with sw_http_request_free. */
sw_http_request *sw_http_request_new(void);

/* Frees a request and what it owns; accepts NULL. (void * for sw_actor_post.) */
void sw_http_request_free(void *req);

/* Starts the worker; actor gets a mail with tag (no payload) when requests are done. */
int sw_http_create(sw_http **out, sw_actor *actor, int tag);

/* From the actor's thread: takes ownership of *req_p and nulls it; the request
 * comes back through sw_http_take when it is done. */
void sw_http_submit(sw_http *http, sw_http_request **req_p);

/* The finished requests, oldest first, linked by next_ (caller frees each with
 * sw_http_request_free); NULL when none. */
sw_http_request *sw_http_take(sw_http *http);

/* Waits until every submitted request has finished, at most timeout_ms.
 * Returns true when none is left in flight. */
bool sw_http_drain(sw_http *http, int64_t timeout_ms);

/* Stops the worker, aborts what is in flight and frees every request it still
 * holds (finished or not). Accepts NULL; nulls the pointer. */
void sw_http_destroy(sw_http **http_p);

/* True when the outcome is worth another try: no answer (a timeout, a refused
 * or broken connection), a 5xx, or a 429. */
bool sw_http_retryable(const sw_http_request *req);

#endif
