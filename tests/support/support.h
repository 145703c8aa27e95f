/* support.h - small helpers shared by the test suites. */
#ifndef SW_TEST_SUPPORT_H
#define SW_TEST_SUPPORT_H

#include <check.h>
#include <stddef.h>

/* Makes a fresh directory under $TMPDIR (or /tmp) and returns its path (caller frees). */
char *sw_test_tmpdir(const char *prefix);

/* Removes a directory tree (like rm -rf). */
void sw_test_rmtree(const char *path);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int sw_test_free_port(void);

/* Writes text to path (creating or truncating it); aborts the test on failure. */
void sw_test_write_file(const char *path, const char *text);

/* Reads a whole file; caller frees; NULL when it cannot be read. */
char *sw_test_read_file(const char *path, size_t *len_out);

/* Runs every test of s and frees it: EXIT_SUCCESS when all passed. */
int sw_test_run(Suite *s);

#endif
