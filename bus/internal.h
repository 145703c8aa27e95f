/*
 * internal.h - what the files of bus/ share; never included outside bus/.
 * This is where nats.h enters the project.
 */
#ifndef SW_BUS_INTERNAL_H
#define SW_BUS_INTERNAL_H

#include "bus/bus.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>

struct sw_bus {
    natsConnection *nc;
    jsCtx *js;
    char *url;              /* as given, for error messages */
    int request_timeout_ms; /* JetStream API and publish-ack wait */
};

/* Shared state of a puller (bus/puller.c). Refcounted: the handle, the pull
 * thread and every unreleased message hold a reference, because a message's
 * ack goes through the natsSubscription that fetched it. */
typedef struct sw_puller_core sw_puller_core;

/* Called by sw_msg_release when a puller's message is freed: gives the slot back
 * and drops the message's reference on the core. */
void sw_puller_core_msg_done(sw_puller_core *core);

typedef enum {
    SW_MSG_CORE,    /* core NATS (subscription, request reply): no acks */
    SW_MSG_PULL,    /* from a puller: ack family goes to the server */
    SW_MSG_ORDERED, /* from an ordered consumer (follow): acks are no-ops */
    SW_MSG_STORED,  /* read from a stream by sequence or subject: acks are no-ops */
} sw_msg_kind;

/* Wraps nm (takes ownership) into a new sw_msg with one reference. For
 * SW_MSG_PULL, owner is the puller core whose slot the message occupies (the
 * caller has already counted the slot and a reference for it). */
sw_msg *sw_msg_wrap(natsMsg *nm, sw_msg_kind kind, sw_puller_core *owner);

/* Wraps a message that js_GetMsg / js_GetLastMsg returned (takes ownership). */
sw_msg *sw_msg_wrap_stored(natsMsg *nm);

/* Sets the thread's error from a failed cnats call and returns the SW_E* code:
 * "<what>: <cnats text> (<detail>)". jerr is the JetStream error code or 0. */
int sw_bus_fail(natsStatus s, jsErrCode jerr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, with the code chosen by the caller. */
int sw_bus_fail_as(int code, natsStatus s, jsErrCode jerr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* cnats' text for the calling thread's last error, without its source position;
 * "" when none. Borrowed. */
const char *sw_bus_last_detail(void);

/* The SW_E* code for a cnats status (and JetStream error code, 0 if none),
 * the server's text taken from the calling thread's last cnats error. */
int sw_bus_code(natsStatus s, jsErrCode jerr);

/* The same with the server's text given (NULL: none), for answers that carry
 * their own text, as an asynchronous publish ack does (jsPubAckErr.ErrText):
 * cnats' thread-local last error is another thread's there. */
int sw_bus_code_text(natsStatus s, jsErrCode jerr, const char *detail);

/* Milliseconds to nanoseconds, for cnats consumer/stream durations. */
static inline int64_t sw_bus_ms_to_ns(int64_t ms)
{
    return ms * 1000000LL;
}

#endif
