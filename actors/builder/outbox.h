/*
 * outbox.h - what a worker could not publish yet: messages kept in order while
 * NATS is away, in memory up to a bound and then in a file.
 *
 * DESIGN
 * A build that finishes during an outage must not be run again: its log
 * chunks and events wait here, each with its subject and msg-id (so sending
 * one twice is stored once), and go out in the order they were made when the
 * bus is back. The first mem_max bytes stay in memory; past that every new
 * message is appended to the spill file (records: three 32-bit lengths, then
 * subject, msg-id and data), read back from where the last one was taken.
 * Used by one thread.
 */
#ifndef SW_OUTBOX_H
#define SW_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_outbox sw_outbox;

/* spill_path: the file used past mem_max bytes (made when needed, removed by
 * destroy). */
sw_outbox *sw_outbox_create(const char *spill_path, size_t mem_max);

/* Frees what is kept and removes the spill file. Accepts NULL; nulls the pointer. */
void sw_outbox_destroy(sw_outbox **box_p);

/* Keeps a copy of the message. SW_EIO when the spill file cannot be written. */
int sw_outbox_put(sw_outbox *box, const char *subject, const char *msg_id, const void *data,
                  size_t len);

/* The oldest message (borrowed until the next call); SW_ENOTFOUND when empty. */
int sw_outbox_peek(sw_outbox *box, const char **subject, const char **msg_id, const void **data,
                   size_t *len);

/* Forgets the oldest message (after it was sent). */
void sw_outbox_pop(sw_outbox *box);

bool sw_outbox_empty(const sw_outbox *box);

/* Messages and bytes kept, and how many of the bytes are in the file. */
size_t sw_outbox_count(const sw_outbox *box);
uint64_t sw_outbox_bytes(const sw_outbox *box);
uint64_t sw_outbox_spilled(const sw_outbox *box);

#endif
