/*
 * buf.h - a growing byte string, always NUL-terminated.
 *
 *   sw_buf b = {0};
 *   sw_buf_printf(&b, "%d builds", n);
 *   ... b.data, b.len ...
 *   sw_buf_free(&b);          (or take b.data: it is the caller's)
 */
#ifndef SW_BUF_H
#define SW_BUF_H

#include <stddef.h>

typedef struct sw_buf {
    char *data; /* NULL until something is added */
    size_t len, cap;
} sw_buf;

void sw_buf_add(sw_buf *b, const void *data, size_t n);
void sw_buf_puts(sw_buf *b, const char *s);
void sw_buf_printf(sw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Drops the first n bytes (all when n >= len). */
void sw_buf_consume(sw_buf *b, size_t n);

/* Frees and zeroes. */
void sw_buf_free(sw_buf *b);

#endif
