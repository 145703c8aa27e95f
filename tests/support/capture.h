/*
 * capture.h - what an executor hands over, kept for a test to look at: the
 * lines (or pieces) with their streams and line ends, and how regular the
 * ticks were. For the tests of the shell and docker executors.
 *
 *     sw_capture c = {0};
 *     spec.ud = &c; spec.line = sw_capture_line; spec.tick = sw_capture_tick;
 *     ... run ...
 *     ck_assert_int_ge(sw_capture_find(&c, SLIPWAY__LOG_STREAM__STDOUT, "hello"), 0);
 *     sw_capture_free(&c);
 */
#ifndef SW_TEST_CAPTURE_H
#define SW_TEST_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_CAPTURE_MAX 512

typedef struct sw_capture {
    char *text[SW_CAPTURE_MAX];
    int stream[SW_CAPTURE_MAX];
    bool ends[SW_CAPTURE_MAX];
    size_t n;                       /* kept; later ones are dropped */
    int ticks;
    int64_t last_tick, max_tick_gap; /* ms */
} sw_capture;

/* A line callback (ud: the sw_capture). Fails the test when len is not the text's length. */
void sw_capture_line(void *ud, int stream, const char *text, size_t len, bool line_ends);

/* A tick callback (ud: the sw_capture): counts ticks and the largest gap between them. */
void sw_capture_tick(void *ud);

/* Frees the kept text and zeroes *c. */
void sw_capture_free(sw_capture *c);

/* Index of the first line on stream (0: any) containing needle, or -1. */
int sw_capture_find(const sw_capture *c, int stream, const char *needle);

/* Index of the first line on stream (0: any) equal to text, or -1. */
int sw_capture_index(const sw_capture *c, int stream, const char *text);

#endif
