/*
 * intake.h - the gateway's HTTP side (libmicrohttpd): routes, limits,
 * authenticity and normalization, on libmicrohttpd's threads.
 *
 * Routes: POST /hooks/<forge>/<project> where forge is github, gitlab, gitea
 * (or forgejo) or bitbucket (Cloud and Server); GET /healthz (200 while NATS
 * is connected, else 503; JSON with the refusals for a full queue so far);
 * GET /metrics (the counters below, Prometheus text format); GET /builds/<id>,
 * the page commit statuses link to, with its key check (webpage.h), unless
 * web.listen gives the pages a listener of their own (then 404 here).
 * Error answers name no file, setting or internal detail; that goes to the log.
 *
 * Order of checks, each answered at once and with nothing enqueued:
 *   unknown route 404, wrong method 405, unknown project or a project of
 *   another forge 404, content type other than application/json 415,
 *   Content-Length over the limit 413 (before reading the body; a chunked body
 *   is no longer kept once it passes the limit and gets 413 when it ends; one
 *   going on 64 MiB past the limit is cut off), bad or missing
 *   signature 401, malformed JSON 400; ping 200; an event that makes no build
 *   202 with the reason.
 *
 * A delivery that makes a build is handed to the owner (the webhook actor)
 * through cb, and its connection's thread waits for the owner's answer
 * (sw_delivery_answer), at most publish_timeout plus a margin; it answers 503
 * itself if none came. One thread per connection, at most MAX_CONNECTIONS;
 * the bodies held at once are bounded by 4 times the body limit (503 past it).
 */
#ifndef SW_WEBHOOK_INTAKE_H
#define SW_WEBHOOK_INTAKE_H

#include "actors/webhook/delivery.h"
#include "bus/bus.h"
#include "runtime/config.h"

#include <stdint.h>

typedef struct sw_intake sw_intake;

/* What the owner answered deliveries that asked for a build, counted for
 * /metrics and /healthz. */
typedef enum {
    SW_INTAKE_ACCEPTED,    /* 202: stored as a new build request */
    SW_INTAKE_DUPLICATE,   /* 202: accepted before, nothing new */
    SW_INTAKE_QUEUE_FULL,  /* 503: REQUESTS is at its bound; nothing stored */
    SW_INTAKE_UNAVAILABLE, /* 503: NATS unreachable, silent or refusing */
    SW_INTAKE_OVER_QUOTA,  /* 429: the tenant has its plan's max_queued waiting; nothing stored */
    SW_INTAKE_NCOUNTERS
} sw_intake_counter;
/* Called on an HTTP thread; the callee owns one reference to d and must
 * answer it (sw_delivery_answer) and drop it (sw_delivery_unref). */
typedef void (*sw_intake_cb)(void *closure, sw_delivery *d);

/* Listens on cfg->webhook_listen (cfg is retained). bus is only asked whether
 * it is connected (for /healthz). */
int sw_intake_start(sw_intake **out, const sw_config *cfg, sw_bus *bus, sw_intake_cb cb,
                    void *closure);

/* Requests that begin from now on are checked against cfg (retained; the
 * listen address stays). A request in flight, and the delivery it hands on
 * (delivery.h: d->cfg), keeps the config it began with. Any thread. */
void sw_intake_reconfigure(sw_intake *in, const sw_config *cfg);

/* Counts one answer (any thread). */
void sw_intake_count(sw_intake *in, sw_intake_counter which);

/* The count so far. */
uint64_t sw_intake_counted(sw_intake *in, sw_intake_counter which);

/* Stops listening and waits for every connection to finish. Deliveries still
 * waiting for an answer get 503. Accepts NULL; nulls the pointer. */
void sw_intake_stop(sw_intake **intake_p);

#endif
