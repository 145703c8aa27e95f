/*
 * docker_frames.h - the Docker engine's multiplexed output stream, turned into
 * log lines. A pure function of the bytes fed to it: no I/O, no engine.
 *
 * DESIGN
 * With Tty=false the engine sends a container's stdout and stderr on one
 * stream as frames: an 8-byte header [stream, 0, 0, 0, size as big-endian
 * 32 bits] then size bytes of payload. Frames and the lines in them can be cut
 * anywhere across reads, so the demultiplexer keeps a partial header and, per
 * stream, a partial line. Lines are handed over as sandbox.c does: without
 * their '\n', NUL-terminated, and a line longer than SW_SANDBOX_MAX_LINE in
 * pieces of that size (line_ends false but on the last one); what is left at the
 * end of the stream ends its line. Stream bytes: 0 (stdin, never sent with Tty=false) and
 * 1 are stdout, 2 is stderr, 3 (the engine's own error, newer engines) goes
 * to stderr. Anything else means the bytes are not a multiplexed stream: the
 * demultiplexer says so once and drops the rest.
 */
#ifndef SW_DOCKER_FRAMES_H
#define SW_DOCKER_FRAMES_H

#include "actors/builder/exec/sandbox.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* stream is SLIPWAY__LOG_STREAM__STDOUT or __STDERR; text is borrowed for the call;
 * line_ends is false for a piece of a longer line that more pieces follow (the
 * same as sw_sandbox_spec.line). */
typedef void (*sw_docker_line_fn)(void *ud, int stream, const char *text, size_t len,
                                  bool line_ends);

typedef struct sw_docker_partial {
    size_t len;
    char buf[SW_SANDBOX_MAX_LINE + 1];
} sw_docker_partial;

/* json-file entries are at most 16 KiB (the engine cuts longer lines): room for one */
#define SW_DOCKER_LAST_FRAME (32 * 1024)

typedef struct sw_docker_demux {
    unsigned char head[8];
    size_t head_len;          /* bytes of the current header seen so far */
    uint32_t left;            /* payload bytes of the current frame still to come */
    int out;                  /* where the current frame goes: 0 stdout, 1 stderr */
    int broken;               /* a header made no sense: everything after is dropped */
    sw_docker_line_fn line;
    void *ud;
    sw_docker_partial partial[2]; /* stdout, stderr */
    /* the frame being fed or last fed, to compare with a re-read of the log's end */
    int last_kind;            /* its stream byte; -1: none yet */
    size_t last_len;          /* its payload length (may exceed what last holds) */
    char last[SW_DOCKER_LAST_FRAME];
} sw_docker_demux;

/* Resets m (about 32 KiB: embed it or put it on the heap, not on a small stack). */
void sw_docker_demux_init(sw_docker_demux *m, sw_docker_line_fn line, void *ud);

/* Feeds the next len bytes of the stream. Returns 0, or SW_EINVALID (with the
 * reason in sw_error_last()) the first time a header is not a frame header;
 * after that every call returns SW_EINVALID and drops its bytes. */
int sw_docker_demux_feed(sw_docker_demux *m, const void *data, size_t len);

/* The last whole frame fed: its stream byte and payload (borrowed until the next
 * feed). False when there is none, the bytes so far end inside a frame, or its
 * payload was longer than SW_DOCKER_LAST_FRAME. */
bool sw_docker_demux_last_frame(const sw_docker_demux *m, int *kind, const char **data,
                                size_t *len);

/* The frame at *offset of a whole multiplexed buffer (an answer read to its end):
 * its stream byte and payload (pointing into buf); advances *offset past it.
 * False at the end of buf, or when what is left is not a whole frame. */
bool sw_docker_frame_next(const void *buf, size_t len, size_t *offset, int *kind,
                          const char **data, size_t *data_len);

/* At the end of the stream: hands over what is left of a line on each stream
 * (stdout first). Returns 1 when the stream ended inside a frame (cut short), else 0. */
int sw_docker_demux_finish(sw_docker_demux *m);

#endif
