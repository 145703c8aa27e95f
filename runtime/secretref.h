/*
 * secretref.h - a secret given by reference: `file:/abs/path` (the file's
 * contents) or `env:NAME` (an environment variable of slipwayd), so that
 * slipway.yaml can be committed without its secrets. Any other value is the
 * secret itself (inline).
 *
 * A reference is resolved when the config is read (at start and at each
 * reload), so a rotated file or a new environment takes effect with SIGHUP
 * (environment: a restart).
 */
#ifndef SW_SECRETREF_H
#define SW_SECRETREF_H

#include <stdbool.h>

/* Files longer than this are refused: a secret is not a data set. */
#define SW_SECRETREF_MAX_FILE (64u << 10)

/* True when value is a file: or env: reference (not an inline secret). */
bool sw_secretref_is_ref(const char *value);

/* The secret value names: a copy of value when inline; the file's contents
 * with one trailing newline ("\n" or "\r\n") stripped; the variable's value.
 * *out is the caller's. Errors (SW_EINVALID, SW_EIO) name key and the
 * reference: a relative path, an unreadable, oversized or NUL-holding file,
 * an unset or badly named variable. */
int sw_secretref_resolve(char **out, const char *key, const char *value);

#endif
