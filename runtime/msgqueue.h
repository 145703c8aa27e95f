/*
 * msgqueue.h - bus messages handed from the bus's threads to one reader
 * thread, in order, each with a kind (which subscription brought it).
 * `slipway logs -f` and the web page's stream read their two ordered
 * consumers through one.
 */
#ifndef SW_MSGQUEUE_H
#define SW_MSGQUEUE_H

#include "bus/bus.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct sw_msgq sw_msgq;

typedef struct sw_msgq_item {
    int kind;
    sw_msg *msg; /* the reader's: sw_msg_release */
} sw_msgq_item;

/* A queue of at most max messages (0: no bound). */
sw_msgq *sw_msgq_create(size_t max);

/* Queues msg (taken). False when the queue was full: msg is released and the
 * queue remembers it overflowed. Any thread. */
bool sw_msgq_push(sw_msgq *q, int kind, sw_msg *msg);

/* The oldest message, waiting up to timeout_ms (0: not at all); false when
 * none came. */
bool sw_msgq_pop(sw_msgq *q, int timeout_ms, sw_msgq_item *out);

/* True once a push found the queue full. */
bool sw_msgq_overflowed(sw_msgq *q);

/* Releases what is queued and frees. Accepts NULL; nulls the pointer. No push
 * may run during or after it. */
void sw_msgq_destroy(sw_msgq **q_p);

#endif
