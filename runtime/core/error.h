/*
 * error.h - Slipway's error codes and the per-thread last-error message.
 *
 * Functions that can fail return int: 0 on success or a negative SW_E* code.
 * The message is set once, where the failure happens (sw_error_set), and read
 * by callers (sw_error_last). Errors pass upward unchanged.
 */
#ifndef SW_ERROR_H
#define SW_ERROR_H

typedef enum {
    SW_OK = 0,
    SW_ERROR = -1,      /* generic failure */
    SW_ENOTFOUND = -2,  /* no such thing */
    SW_EEXISTS = -3,    /* already there */
    SW_ETIMEDOUT = -4,  /* gave up waiting */
    SW_EBUS = -5,       /* NATS / JetStream failure */
    SW_EINVALID = -6,   /* bad input: a file, a message, an argument */
    SW_EIO = -7,        /* file system or process failure */
    SW_ESTOPPED = -8,   /* the object is shutting down */
    SW_EDUPLICATE = -9, /* seen before; nothing was done */
    SW_ECONFLICT = -10, /* someone else changed it first (a compare-and-set lost) */
    SW_EFULL = -11,     /* a bounded queue or stream is full: try again later */
    SW_EDENIED = -12,   /* not allowed: bad credentials, or a subject they do not cover */
} sw_error_code;

/* Sets the calling thread's last error message (printf-style) and returns code. */
int sw_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last error message; never NULL. Borrowed. */
const char *sw_error_last(void);

/* The code of the calling thread's last error (0 when none). */
int sw_error_last_code(void);

/* Forgets the calling thread's last error. */
void sw_error_clear(void);

/* A short name for a code: "not found", "timed out", ... */
const char *sw_error_name(int code);

#endif
