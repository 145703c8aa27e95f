/*
 * bus.h - Slipway's face of NATS and JetStream. The only code that includes
 * nats.h lives in bus/; callers see these types and SW_E* codes.
 *
 * DESIGN
 * One sw_bus is one NATS connection: it reconnects forever, sends as soon as
 * it can (no 1 ms flusher), and is safe to use from any thread. Callbacks
 * (sw_bus_msg_cb) run on threads owned by the bus and take ownership of the
 * message they are given; the runtime turns them into actor mail.
 *
 * A JetStream message (from a puller or a follow) can be acked, marked in
 * progress, nak'ed or terminated. A puller hands out at most max_inflight
 * messages at a time: a slot is a message that has not yet been released
 * (sw_msg_release). So a builder with N slots keeps at most N jobs.
 *
 * All durations in this header are milliseconds.
 */
#ifndef SW_BUS_H
#define SW_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_bus sw_bus;
typedef struct sw_msg sw_msg;
typedef struct sw_sub sw_sub;
typedef struct sw_puller sw_puller;

/* Called on a bus thread; the callee owns msg (release it with sw_msg_release). */
typedef void (*sw_bus_msg_cb)(sw_msg *msg, void *closure);

typedef struct sw_bus_options {
    const char *url;       /* nats://host:port[,nats://...] */
    const char *name;      /* connection name shown by the server */
    int connect_wait_ms;   /* how long the first connect may take; 0: one try */
    int request_timeout_ms; /* JetStream API and publish-ack wait; 0: 5000 */
    /* Credentials (runtime/creds.h); NULL: connect without (a server with no
     * authorization). inbox_prefix: the prefix of this connection's reply
     * subjects (a user allowed only its own inbox); NULL: "_INBOX". */
    const char *user, *password, *inbox_prefix;
    /* May be NULL. Polled (on the connecting thread, every 10 ms) while the first
     * connect waits: returning true abandons the wait (SW_ESTOPPED), e.g. on a
     * pending SIGTERM. */
    bool (*cancel)(void *closure);
    void *cancel_closure;
} sw_bus_options;

/* Connects. Fails with SW_EBUS (message names the URL) when the server cannot be
 * reached within connect_wait_ms, SW_ESTOPPED when opts->cancel said so.
 * Afterwards reconnects forever. */
int sw_bus_connect(sw_bus **out, const sw_bus_options *opts);

/* The server's last refusal of this connection's publish or subscription
 * ("Permissions Violation for Subscription to ..."), copied into buf; returns
 * how many refusals there were so far (0: none, buf ""). Any thread. */
unsigned sw_bus_refusals(sw_bus *bus, char *buf, size_t n);

/* Flushes, drains nothing, closes, frees. Accepts NULL; nulls the pointer. */
void sw_bus_destroy(sw_bus **bus_p);

/* Releases the NATS library's global state (its threads and memory) and waits
 * up to timeout_ms for them to end. Call once, at process exit, after every bus,
 * sub and puller is destroyed and every message released; for leak checkers
 * and tests. No bus may be used afterwards. */
void sw_bus_shutdown(int timeout_ms);

/* True while the connection is up (false while reconnecting). */
bool sw_bus_connected(sw_bus *bus);

/* How many times the connection came back after a loss: a follower that sees it
 * change knows it may have missed pushes and can resume where it was. */
uint64_t sw_bus_reconnects(sw_bus *bus);

/* Waits until everything published so far reached the server. */
int sw_bus_flush(sw_bus *bus, int timeout_ms);

/* --- JetStream set-up ---------------------------------------------------- */

/* limits: kept until a limit removes them; work queue: removed when acked;
 * interest: removed once every consumer of the stream has acked them. */
typedef enum { SW_RETAIN_LIMITS, SW_RETAIN_WORKQUEUE, SW_RETAIN_INTEREST } sw_retention;

typedef struct sw_stream_config {
    const char *name;
    const char *const *subjects;
    int nsubjects;
    sw_retention retention;
    int64_t max_age_ms;         /* 0: unlimited */
    int64_t max_bytes;          /* 0: unlimited */
    int64_t duplicate_window_ms; /* 0: server default (2 min) */
    int replicas;               /* 0 or 1: one */
    int64_t max_msgs;           /* 0: unlimited */
    int64_t max_msgs_per_subject; /* 0: unlimited */
    /* At a limit, refuse new messages (the publisher gets SW_EFULL) instead of
     * discarding the oldest; per_subject: also at max_msgs_per_subject. */
    bool discard_new;
    bool discard_new_per_subject;
} sw_stream_config;

/* Creates the stream, or updates it when it exists with another config. */
int sw_bus_stream_ensure(sw_bus *bus, const sw_stream_config *cfg);

/* Deletes the stream, its messages and its consumers. */
int sw_bus_stream_remove(sw_bus *bus, const char *stream);

/* Removes the stream's messages (all, or those on subject when not NULL). */
int sw_bus_stream_purge(sw_bus *bus, const char *stream, const char *subject);

/* Number of messages a stream holds now. */
int sw_bus_stream_count(sw_bus *bus, const char *stream, uint64_t *count_out);

/* The message at stream sequence seq (SW_ENOTFOUND when there is none), or the
 * last message on subject. *msg_out is the caller's (sw_msg_release); its
 * sw_msg_stream_seq is its sequence. Acks on it are no-ops. */
int sw_bus_stream_get(sw_bus *bus, const char *stream, uint64_t seq, sw_msg **msg_out);
int sw_bus_stream_last(sw_bus *bus, const char *stream, const char *subject, sw_msg **msg_out);

/* Removes the message at stream sequence seq (SW_ENOTFOUND when it is gone). */
int sw_bus_stream_delete(sw_bus *bus, const char *stream, uint64_t seq);

typedef struct sw_consumer_config {
    const char *stream;
    const char *durable;
    const char *filter_subject; /* NULL: all of the stream */
    int64_t ack_wait_ms;        /* redelivery after this long without ack / in-progress */
    int max_deliver;            /* 0: unlimited */
    int max_ack_pending;        /* 0: server default */
} sw_consumer_config;

/* Creates a durable pull consumer, or updates it when its config differs. */
int sw_bus_consumer_ensure(sw_bus *bus, const sw_consumer_config *cfg);

/* A durable consumer's figures, as the server keeps them. */
typedef struct sw_consumer_counts {
    uint64_t pending;     /* num_pending: not yet delivered */
    uint64_t ack_pending; /* num_ack_pending: delivered, not acked */
    uint64_t waiting;     /* num_waiting: pull requests waiting for a message */
    uint64_t redelivered; /* num_redelivered */
} sw_consumer_counts;

int sw_bus_consumer_state(sw_bus *bus, const char *stream, const char *durable,
                          sw_consumer_counts *out);

/* Pending (not yet delivered) and ack-pending counts of a durable consumer. */
int sw_bus_consumer_pending(sw_bus *bus, const char *stream, const char *durable,
                            uint64_t *pending_out, uint64_t *ack_pending_out);

/* --- Publishing ---------------------------------------------------------- */

/* Core NATS publish (not stored). */
int sw_bus_publish(sw_bus *bus, const char *subject, const void *data, size_t len);

/* JetStream publish; returns when the stream acknowledged it (or SW_ETIMEDOUT /
 * SW_EBUS). msg_id (may be NULL) is sent as Nats-Msg-Id; *duplicate_out (may be
 * NULL) is set when the server had already stored that id. */
int sw_bus_js_publish(sw_bus *bus, const char *subject, const void *data, size_t len,
                      const char *msg_id, uint64_t *seq_out, bool *duplicate_out);

/* The same, stored only if the last message on subject is at stream sequence
 * expect_last_seq (0: subject has none): a compare-and-set. SW_ECONFLICT when
 * another message got there first. Every JetStream publish fails with SW_EFULL
 * when a discard-new stream is at a limit. */
int sw_bus_js_publish_cas(sw_bus *bus, const char *subject, const void *data, size_t len,
                          uint64_t expect_last_seq, uint64_t *seq_out);

/* Asynchronous JetStream publishing: sends return at once and every message
 * sent is answered exactly once, either by done (on a bus thread: the stream
 * stored it, maybe as a duplicate of an earlier msg_id, or refused it) or by
 * being dropped in sw_publisher_forget / sw_publisher_destroy (no call). The
 * caller keeps its own deadline: an ack may never come (server gone). A
 * discard-new stream at a bound answers SW_EFULL, with the server's reason. */
typedef struct sw_publisher sw_publisher;
typedef void (*sw_publish_done_cb)(void *closure, const char *msg_id, int error,
                                   const char *why, bool duplicate);

int sw_publisher_create(sw_publisher **out, sw_bus *bus, sw_publish_done_cb done, void *closure);

/* Queues a publish with Nats-Msg-Id msg_id (required: it is how done names the
 * message). SW_EBUS at once when not connected. */
int sw_publisher_send(sw_publisher *pub, const char *subject, const void *data, size_t len,
                      const char *msg_id);

/* Messages sent whose answer has not come yet. */
size_t sw_publisher_pending(sw_publisher *pub);

/* Stops waiting for the acks of every pending message: they will never reach
 * done (a late ack is discarded by the library). */
void sw_publisher_forget(sw_publisher *pub);

/* Forgets what is pending and frees; done is never called once this returns.
 * Accepts NULL; nulls the pointer. */
void sw_publisher_destroy(sw_publisher **pub_p);

/* Request/reply: *reply_out is owned by the caller. SW_ETIMEDOUT when no
 * answer; SW_ENOTFOUND when no one listens on subject. */
int sw_bus_request(sw_bus *bus, const char *subject, const void *data, size_t len,
                   int timeout_ms, sw_msg **reply_out);

/* Answers a request message (uses its reply subject). */
int sw_bus_respond(sw_bus *bus, const sw_msg *request, const void *data, size_t len);

/* --- Receiving ----------------------------------------------------------- */

/* Core subscription; queue may be NULL. Pending limits are unlimited. */
int sw_bus_subscribe(sw_sub **out, sw_bus *bus, const char *subject, const char *queue,
                     sw_bus_msg_cb cb, void *closure);

/* Ordered consumer on stream (history, then live) for messages on filter_subject,
 * starting at stream sequence start_seq (0 or 1: the first). Messages need no ack.
 * Each message reaches cb once, in stream order: when cnats remakes the consumer
 * (reconnect, missed heartbeats) the follow goes on after the last message
 * delivered and leaves out anything the new consumer sends from before it
 * (see sub.c). When filter_subject is the stream's only subject, a gap in the
 * sequences after the first message is logged as an error. */
int sw_bus_follow(sw_sub **out, sw_bus *bus, const char *stream, const char *filter_subject,
                  uint64_t start_seq, sw_bus_msg_cb cb, void *closure);

/* Unsubscribes; no callback runs after it returns. Accepts NULL; nulls the pointer. */
void sw_sub_destroy(sw_sub **sub_p);

/* Starts a thread that pulls from an existing durable pull consumer, one message
 * per fetch, while fewer than max_inflight of its messages are unreleased
 * (0: paused until sw_puller_set_limit raises it).
 * Survives reconnects and server restarts; never blocks longer than ~1 s in a fetch. */
int sw_puller_start(sw_puller **out, sw_bus *bus, const char *stream, const char *durable,
                    int max_inflight, sw_bus_msg_cb cb, void *closure);

/* Asks the puller to fetch no more, without waiting: a fetch under way ends
 * within its timeout (500 ms), what it brings is still handed out; destroy
 * then joins. A host stopping many pullers asks them all first. */
void sw_puller_stop(sw_puller *puller);

/* Changes max_inflight from now on; 0 pauses the puller (see puller.c: a fetch
 * already under way when it is lowered gives its message back at once). */
void sw_puller_set_limit(sw_puller *puller, int max_inflight);

/* Before each fetch while some of its messages are unreleased, the puller waits
 * pace_ms x inflight / max_inflight (0: no wait; the default). */
void sw_puller_set_pace(sw_puller *puller, int pace_ms);

/* Messages handed out and not yet released. */
int sw_puller_inflight(sw_puller *puller);

/* Stops pulling (messages already handed out stay valid) and joins the thread. */
void sw_puller_destroy(sw_puller **puller_p);

/* --- Messages ------------------------------------------------------------ */

const char *sw_msg_subject(const sw_msg *msg);
const void *sw_msg_data(const sw_msg *msg);
size_t sw_msg_len(const sw_msg *msg);
const char *sw_msg_reply(const sw_msg *msg); /* NULL when none */
const char *sw_msg_header(const sw_msg *msg, const char *key); /* NULL when absent */

/* JetStream metadata; 0 for core messages. delivered counts from 1. */
uint64_t sw_msg_stream_seq(const sw_msg *msg);
uint64_t sw_msg_delivered(const sw_msg *msg);
int64_t sw_msg_timestamp_ms(const sw_msg *msg);

/* Acknowledgements for JetStream messages. ack_sync waits for the server. */
int sw_msg_ack(sw_msg *msg);
int sw_msg_ack_sync(sw_msg *msg, int timeout_ms);
int sw_msg_in_progress(sw_msg *msg);
int sw_msg_nak(sw_msg *msg, int64_t delay_ms);
int sw_msg_term(sw_msg *msg);

/* Reference counting: retain returns msg; the last release frees it and, for a
 * puller's message, gives its slot back. release accepts NULL; nulls the pointer. */
sw_msg *sw_msg_retain(sw_msg *msg);
void sw_msg_release(sw_msg **msg_p);

#endif
