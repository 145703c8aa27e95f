/*
 * actor.h - the actor host: one thread, one mailbox and one timer per actor.
 *
 * DESIGN
 * An actor is a const table of functions (sw_actor_impl) and the state its init
 * returns. Everything the actor does happens on its own thread: init, every
 * handle (one mail at a time, never overlapping), tick and stop. Mail comes from
 * the bus (subscriptions, followed streams, pulled jobs, each given a tag by the
 * actor) or from the actor's own workers (sw_actor_post), so slow work runs on a
 * worker and comes back as mail. Handlers must not block on the network.
 *
 * The runtime owns a mail, its bus message and its unpacked protobuf while the
 * handler runs and frees them after; an actor that keeps a bus message (to ack
 * it later) calls sw_msg_retain. A bus message whose bytes do not unpack is
 * logged and terminated, never handed to the actor.
 *
 * A reloaded configuration comes as mail too (sw_actor_reconfigure): the
 * actor's reconfigure runs on its thread between two mails, so it swaps its
 * pointers into the config with nothing else running; mail queued before it
 * is handled with the old config, mail after it with the new one.
 *
 * Start returns when init has finished. Stop unsubscribes everything, lets the
 * actor handle the mail already queued, then runs the actor's stop on its thread
 * and joins it; mail posted while it stops is dropped (its payloads freed; a
 * JetStream message among it is redelivered later: delivery is at least once).
 */
#ifndef SW_ACTOR_H
#define SW_ACTOR_H

#include "bus/bus.h"
#include "runtime/config.h"

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

typedef struct sw_actor sw_actor;

typedef struct sw_mail {
    int tag;                /* the subscription's tag or the work mail's kind */
    sw_msg *msg;            /* bus message, NULL for work mail; borrowed */
    ProtobufCMessage *pb;   /* msg's data unpacked when the subscription named a type */
    void *payload;          /* work mail's payload; borrowed */
} sw_mail;

typedef struct sw_actor_impl {
    const char *kind;
    /* Makes the state (*state_out) and subscriptions; non-zero fails the start. */
    int (*init)(sw_actor *self, void **state_out, void *arg);
    void (*handle)(sw_actor *self, void *state, const sw_mail *mail);
    /* Optional: called when due; returns ms until it wants the next call (<0: idle). */
    int64_t (*tick)(sw_actor *self, void *state);
    /* Frees the state. */
    void (*stop)(sw_actor *self, void *state);
    /* Optional: slipway.yaml was reloaded. cfg is borrowed for the call: the
     * actor retains what it keeps and releases what it held. Returns 0 when it
     * took cfg, or an error (message set) when it keeps what it had. */
    int (*reconfigure)(sw_actor *self, void *state, const sw_config *cfg);
    /* Optional: the mailbox has just become empty after one or more mails (an
     * actor that batches work, such as a store's commit, finishes it here). */
    void (*idle)(sw_actor *self, void *state);
} sw_actor_impl;

/* Starts the actor named name on its own thread and waits for its init. */
int sw_actor_start(sw_actor **out, const sw_actor_impl *impl, const char *name, sw_bus *bus,
                   void *arg);

/* Stops and joins the actor (see DESIGN). Accepts NULL; nulls the pointer. */
void sw_actor_destroy(sw_actor **actor_p);

/* Its pulls fetch no more, without waiting (sw_puller_stop). A host that stops
 * many actors quiesces them all first, so that their fetches under way end
 * together rather than one destroy after another. Accepts NULL. */
void sw_actor_quiesce(sw_actor *actor);

const char *sw_actor_name(const sw_actor *actor);
sw_bus *sw_actor_bus(const sw_actor *actor);

/* Mail with tag for every core message on subject (queue group may be NULL).
 * type: unpack the data as this protobuf type, or NULL for raw bytes. */
int sw_actor_subscribe(sw_actor *actor, int tag, const char *subject, const char *queue,
                       const ProtobufCMessageDescriptor *type);

/* Mail with tag for every message of stream on filter from start_seq on (history, then live). */
int sw_actor_follow(sw_actor *actor, int tag, const char *stream, const char *filter,
                    uint64_t start_seq, const ProtobufCMessageDescriptor *type);

/* Mail with tag for messages pulled from a durable consumer, at most max_inflight
 * unreleased at a time (see sw_puller_start). */
int sw_actor_pull(sw_actor *actor, int tag, const char *stream, const char *durable,
                  int max_inflight, const ProtobufCMessageDescriptor *type);

/* Changes the max_inflight of the actor's pull with tag (sw_puller_set_limit):
 * 0 stops it fetching until raised again. SW_ENOTFOUND: no pull has that tag. */
int sw_actor_pull_limit(sw_actor *actor, int tag, int max_inflight);

/* Sets the pace of the actor's pull with tag (sw_puller_set_pace). */
int sw_actor_pull_pace(sw_actor *actor, int tag, int pace_ms);

/* From any thread: queues work mail; payload_free (may be NULL) frees the payload
 * after the handler ran, or when the actor stops before handling it. */
void sw_actor_post(sw_actor *actor, int tag, void *payload, void (*payload_free)(void *));

/* From any thread: hands cfg to the actor's reconfigure as mail (cfg is
 * retained until then) and waits up to timeout_ms for it to run. Returns 0
 * when the actor took cfg (an actor without reconfigure takes nothing), the
 * actor's error when it keeps its config, SW_ETIMEDOUT when it has not come
 * to the mail yet (it will, in order), SW_ESTOPPED when it stopped first. */
int sw_actor_reconfigure(sw_actor *actor, const sw_config *cfg, int timeout_ms);

/* From any thread: asks for a tick as soon as possible. */
void sw_actor_wake(sw_actor *actor);

#endif
