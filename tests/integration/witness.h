/*
 * witness.h - an independent count of what reached the bus, for fault tests:
 * a raw NATS connection of the test's own (not Slipway's view) that follows
 * EVENTS and keys every FINISHED event by its Nats-Msg-Id, and reads streams'
 * own message counts.
 */
#ifndef SW_TEST_WITNESS_H
#define SW_TEST_WITNESS_H

#include <stdint.h>

typedef struct sw_witness sw_witness;

/* Connects to url and follows EVENTS from its first message. */
sw_witness *sw_witness_create(const char *url);
void sw_witness_destroy(sw_witness **w_p);

/* FINISHED events of build_id seen so far, each msg-id counted once; waits up
 * to settle_ms for the follow to catch up first. */
int sw_witness_finished(sw_witness *w, const char *build_id, int settle_ms);

/* The same for STARTED events: how many attempts of build_id began. */
int sw_witness_started(sw_witness *w, const char *build_id, int settle_ms);

/* The attempt of build_id's first FINISHED event (0: none). */
uint32_t sw_witness_finished_attempt(sw_witness *w, const char *build_id);

/* Messages in stream now (the server's own count). */
uint64_t sw_witness_stream_count(sw_witness *w, const char *stream);

/* Waits up to timeout_ms for stream to hold exactly n messages; returns the
 * last count seen. */
uint64_t sw_witness_await_count(sw_witness *w, const char *stream, uint64_t n, int timeout_ms);

/* Without a witness, from what the streams hold now (each call connects on
 * its own): messages in stream; waiting up to ms for it to hold want (fails
 * the test, saying what it held); FINISHED events of build in EVENTS, read
 * by sequence. */
struct sw_harness;
uint64_t sw_witness_messages(struct sw_harness *h, const char *stream);
void sw_witness_expect_messages(struct sw_harness *h, const char *stream, uint64_t want, int ms);
int sw_witness_finished_in_events(struct sw_harness *h, const char *build);
/* Calls fn with each event of build in EVENTS now, in stream order. */
struct Slipway__BuildEvent;
void sw_witness_each_event(struct sw_harness *h, const char *build,
                           void (*fn)(const struct Slipway__BuildEvent *ev, void *ud), void *ud);

/* Calls fn with each autoscaler decision in SCALING now, in stream order. */
struct Slipway__ScaleDecision;
void sw_witness_each_decision(struct sw_harness *h,
                              void (*fn)(const struct Slipway__ScaleDecision *d, void *ud),
                              void *ud);

/* A tally of EVENTS read by sequence (a connection of its own): for each
 * build, its FINISHED events and the attempts its STARTED events name. Each
 * update reads what was added since the last one; a read that fails (a node
 * is down, JetStream is electing) stops the update there, and the next one
 * goes on from that sequence. */
typedef struct sw_witness_tally sw_witness_tally;
sw_witness_tally *sw_witness_tally_create(struct sw_harness *h);
void sw_witness_tally_destroy(sw_witness_tally **t_p);
/* Reads EVENTS up to its last message now; 0, or -1 when a read failed. */
int sw_witness_tally_update(sw_witness_tally *t);
/* FINISHED events of build; STARTED events of build (every attempt, and any
 * duplicate of one); distinct attempts among them; the attempt of its first
 * FINISHED (0: none). */
int sw_witness_tally_finished(const sw_witness_tally *t, const char *build);
int sw_witness_tally_started(const sw_witness_tally *t, const char *build);
int sw_witness_tally_attempts(const sw_witness_tally *t, const char *build);
uint32_t sw_witness_tally_finished_attempt(const sw_witness_tally *t, const char *build);
/* The BuildState of build's first FINISHED (0: none). */
int sw_witness_tally_finished_state(const sw_witness_tally *t, const char *build);
/* The next sequence the tally would read. */
uint64_t sw_witness_tally_next_seq(const sw_witness_tally *t);

#endif
