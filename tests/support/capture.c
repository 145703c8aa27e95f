/* capture.c - an executor's output kept for tests (see capture.h). */
#include "capture.h"

#include "runtime/core/clock.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

void sw_capture_line(void *ud, int stream, const char *text, size_t len, bool line_ends)
{
    sw_capture *c = ud;
    ck_assert_uint_eq(strlen(text), len);
    if (c->n < SW_CAPTURE_MAX) {
        c->text[c->n] = strndup(text, len);
        c->stream[c->n] = stream;
        c->ends[c->n] = line_ends;
        c->n++;
    }
}

void sw_capture_tick(void *ud)
{
    sw_capture *c = ud;
    int64_t now = sw_clock_mono_ms();
    if (c->last_tick != 0 && now - c->last_tick > c->max_tick_gap) {
        c->max_tick_gap = now - c->last_tick;
    }
    c->last_tick = now;
    c->ticks++;
}

void sw_capture_free(sw_capture *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->text[i]);
    }
    memset(c, 0, sizeof(*c));
}

int sw_capture_find(const sw_capture *c, int stream, const char *needle)
{
    for (size_t i = 0; i < c->n; i++) {
        if ((stream == 0 || c->stream[i] == stream) && strstr(c->text[i], needle) != NULL) {
            return (int)i;
        }
    }
    return -1;
}

int sw_capture_index(const sw_capture *c, int stream, const char *text)
{
    for (size_t i = 0; i < c->n; i++) {
        if ((stream == 0 || c->stream[i] == stream) && strcmp(c->text[i], text) == 0) {
            return (int)i;
        }
    }
    return -1;
}
