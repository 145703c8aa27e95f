/*
 * mem.h - allocation that aborts when memory runs out (a service, not a
 * library: Redis zmalloc, CZMQ safe_malloc). Never returns NULL.
 */
#ifndef SW_MEM_H
#define SW_MEM_H

#include <stddef.h>

void *sw_calloc(size_t n, size_t size);   /* n == 0 still gives a unique pointer */
void *sw_realloc(void *p, size_t size);
char *sw_strdup(const char *s);           /* NULL gives "" */
char *sw_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
