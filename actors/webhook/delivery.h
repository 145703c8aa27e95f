/*
 * delivery.h - one authenticated delivery that asks for a build, shared by
 * the HTTP thread that received it (and waits for its answer) and the webhook
 * actor (which answers it). Reference counted; the first answer counts.
 */
#ifndef SW_WEBHOOK_DELIVERY_H
#define SW_WEBHOOK_DELIVERY_H

#include "actors/webhook/normalize.h"
#include "runtime/config.h"

#include <stdint.h>

typedef struct sw_delivery_sync sw_delivery_sync;

/* One authenticated delivery that asks for a build. Shared by the HTTP thread
 * and the owner: each holds a reference (sw_delivery_unref). */
typedef struct sw_delivery {
    const sw_config *cfg;   /* retained (may be NULL): the config project belongs to */
    const sw_project *project;
    const char *route;      /* github, gitlab, gitea, bitbucket */
    char *delivery_id;      /* the forge's delivery id (or body-<sha256> when it sent none) */
    char *request_id;       /* "<route>:<delivery id>": the Nats-Msg-Id and build request id */
    sw_hook_event event;
    int64_t received_ms;    /* monotonic */
    sw_delivery_sync *sync; /* private */
} sw_delivery;

/* A delivery with one reference and no answer yet. */
sw_delivery *sw_delivery_new(void);

/* The answer for d: HTTP status and a JSON body. Only the first answer counts;
 * later ones are ignored. Any thread. */
void sw_delivery_answer(sw_delivery *d, int status, const char *json);

/* The same, asking the client to come back after retry_after_s seconds
 * (the Retry-After header of a 503; 0: the gateway's default). */
void sw_delivery_answer_retry(sw_delivery *d, int status, const char *json,
                              unsigned retry_after_s);

/* Takes one more reference. */
sw_delivery *sw_delivery_ref(sw_delivery *d);

/* Drops a reference; the last one frees d. Accepts NULL. */
void sw_delivery_unref(sw_delivery *d);

/* {"status": status, key: value, ...}: a small JSON answer (NULL-terminated
 * key/value pairs, values may be NULL to skip). Caller frees. */
char *sw_delivery_json(const char *status, ...);

/* Waits for the answer until deadline_ms (monotonic); past it, answers 503
 * itself. Returns with an answer set (sw_delivery_status / sw_delivery_body). */
void sw_delivery_await(sw_delivery *d, int64_t deadline_ms);

int sw_delivery_status(const sw_delivery *d);
const char *sw_delivery_body(const sw_delivery *d);
unsigned sw_delivery_retry_after(const sw_delivery *d); /* 0: the default */

#endif
