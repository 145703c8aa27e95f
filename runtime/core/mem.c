/* mem.c - allocation that aborts when memory runs out (see mem.h). */
#include "runtime/core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t size)
{
    fprintf(stderr, "slipway: out of memory (%zu bytes)\n", size);
    abort();
}

void *sw_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        out_of_memory(n * size);
    }
    return p;
}

void *sw_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (q == NULL) {
        out_of_memory(size);
    }
    return q;
}

char *sw_strdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (p == NULL) {
        out_of_memory(s ? strlen(s) + 1 : 1);
    }
    return p;
}

char *sw_asprintf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        out_of_memory(0);
    }
    return s;
}
