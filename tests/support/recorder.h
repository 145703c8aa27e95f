/*
 * recorder.h - a local HTTP endpoint for tests that records every request it
 * is sent, in arrival order, and answers as the test planned.
 *
 *     sw_recorder *rec = NULL;
 *     ck_assert_int_eq(sw_recorder_start(&rec), 0);
 *     ... point a client at sw_recorder_url(rec) ("http://127.0.0.1:PORT") ...
 *     sw_recorder_answer(rec, 2, 500, 0);       // the next 2 requests get a 500
 *     ck_assert(sw_recorder_wait(rec, 3, 10000)); // 3 requests came within 10 s
 *     const sw_recorded *r = sw_recorder_get(rec, 2);
 *     ck_assert_str_eq(r->url, "/repos/acme/web/statuses/abc123");
 *     ck_assert_str_eq(sw_recorded_header(r, "authorization"), "Bearer t");
 *     sw_recorder_destroy(&rec);
 *
 * Every request is answered 201 with the body "{}" unless a plan says
 * otherwise. Plans are used up in the order they were made, one request each.
 * A request is recorded when its body has arrived, before it is answered (so
 * sw_recorder_wait also sees a request that is being delayed or held).
 * Thread-safe; the server runs one thread per connection on 127.0.0.1.
 */
#ifndef SW_TEST_RECORDER_H
#define SW_TEST_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_recorder sw_recorder;

/* One request as it came. */
typedef struct sw_recorded {
    char *method; /* "POST" */
    char *url;    /* the path as sent, not decoded: "/projects/group%2Fweb/statuses/abc" */
    char *body;   /* NUL-terminated (body_len bytes before the NUL) */
    size_t body_len;
    char **names; /* header names and values, as sent */
    char **values;
    size_t nheaders;
    int status;    /* the status it was (or will be) answered with */
    int64_t at_ms; /* when it was recorded (sw_clock_mono_ms) */
} sw_recorded;

/* Starts a server on a free port of 127.0.0.1; *out is owned by the caller. */
int sw_recorder_start(sw_recorder **out);

/* "http://127.0.0.1:PORT"; borrowed, valid until destroy. */
const char *sw_recorder_url(const sw_recorder *r);

/* Plans the next n requests not yet planned for: each is answered with status
 * after delay_ms; delay_ms < 0 holds each until sw_recorder_release. */
void sw_recorder_answer(sw_recorder *r, int n, int status, int delay_ms);

/* As sw_recorder_answer, and each of those answers carries the header name: value
 * (e.g. "WWW-Authenticate", "Basic realm=\"x\""); both are copied. */
void sw_recorder_answer_header(sw_recorder *r, int n, int status, int delay_ms, const char *name,
                               const char *value);

/* Lets the requests held so far be answered (later ones are held again). */
void sw_recorder_release(sw_recorder *r);

/* Requests recorded so far. */
size_t sw_recorder_count(sw_recorder *r);

/* Waits until at least n requests were recorded; false when timeout_ms passed first. */
bool sw_recorder_wait(sw_recorder *r, size_t n, int timeout_ms);

/* The i-th request (from 0); borrowed, valid until destroy; NULL past the end. */
const sw_recorded *sw_recorder_get(sw_recorder *r, size_t i);

/* The value of a header (name compared without case); NULL when absent. */
const char *sw_recorded_header(const sw_recorded *req, const char *name);

/* Stops the server (held and delayed requests are cut short), frees
 * everything. Accepts NULL; nulls the pointer. */
void sw_recorder_destroy(sw_recorder **r_p);

#endif
