/* buf.c - a growing byte string (see buf.h). */
#include "runtime/core/buf.h"

#include "runtime/core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(sw_buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap) {
        return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) {
        cap *= 2;
    }
    b->data = sw_realloc(b->data, cap);
    b->cap = cap;
}

void sw_buf_add(sw_buf *b, const void *data, size_t n)
{
    reserve(b, n);
    if (n > 0) {
        memcpy(b->data + b->len, data, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

void sw_buf_puts(sw_buf *b, const char *s)
{
    sw_buf_add(b, s, strlen(s));
}

void sw_buf_printf(sw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) {
        reserve(b, 0);
        b->data[b->len] = '\0';
        return;
    }
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sw_buf_consume(sw_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data != NULL) {
        b->data[b->len] = '\0';
    }
}

void sw_buf_free(sw_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
