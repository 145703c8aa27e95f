/*
 * handon.h - requests on their way to becoming builds, published without
 * waiting: the build's CREATED event to EVENTS, then its job to SCHED.
 *
 * DESIGN
 * The scheduler's handler must not wait on the network, so a request's two
 * JetStream publishes go through an sw_publisher and their acks come back as
 * mail (the tag given at create). A hand-on holds its request message (one of
 * the puller's slots, so at most that many are in flight) until SCHED has
 * stored the job: then the request is acked. CREATED is published first and
 * SCHED only once EVENTS holds CREATED, so no build is ever placed before its
 * first event; `created` is told (the scheduler applies the event to its view)
 * between the two. A refused or unanswered publish (deadline) naks the
 * request: it comes again, and the same msg-ids make the second try's
 * publishes duplicates of whatever the first one stored.
 */
#ifndef SW_HANDON_H
#define SW_HANDON_H

#include "runtime/actor.h"
#include "slipway.pb-c.h"

#include <stdint.h>

typedef struct sw_handon sw_handon;

typedef struct sw_handon_hooks {
    void *ctx;
    /* EVENTS stored ev (a CREATED), before its job goes to SCHED. */
    void (*created)(void *ctx, const Slipway__BuildEvent *ev);
    /* SCHED's answer to a job: 0, or SW_EFULL with the server's reason. */
    void (*sched)(void *ctx, int error, const char *why);
} sw_handon_hooks;

typedef struct sw_handon_options {
    int ack_tag;          /* the mail tag of the publish acks */
    int64_t timeout_ms;   /* a publish unanswered this long naks its request */
    int64_t full_retry_ms; /* SCHED full: the request comes again after this */
} sw_handon_options;

int sw_handon_create(sw_handon **out, sw_actor *self, const sw_handon_options *opts,
                     const sw_handon_hooks *hooks);

/* Naks every request still on its way (it comes again) and frees. Accepts NULL. */
void sw_handon_destroy(sw_handon **h_p);

/* Starts the hand-on of request (retained until it ends) as build ev->build_id:
 * publishes ev (CREATED), or when ev is NULL (EVENTS has it already) the job
 * at once, to sched_subject. The request is nak'ed at once when nothing can
 * be sent (not connected). A request for a build already on its way takes
 * the place of the earlier delivery. */
void sw_handon_start(sw_handon *h, sw_msg *request, const char *build_id,
                     const Slipway__BuildEvent *ev, const Slipway__Job *job,
                     const char *sched_subject);

/* A mail with the ack tag (its payload). */
void sw_handon_on_ack(sw_handon *h, const sw_mail *mail);

/* Naks the requests whose publish has not been answered in time; returns the
 * ms until the next deadline (-1: none pending). */
int64_t sw_handon_expire(sw_handon *h);

/* Requests on their way. */
size_t sw_handon_pending(const sw_handon *h);

#endif
