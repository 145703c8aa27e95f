/*
 * creds.h - a NATS credentials file: who a process is on the bus.
 *
 * slipway-admin nats-config writes one per user (mode 0600), e.g.
 *
 *     # Slipway NATS credentials: role builder
 *     user: builder
 *     password: 3q8v...
 *     inbox: _INBOX_builder
 *
 * and tenant users also carry `tenant: NAME` (their CLI then follows logs
 * through the tenant's own subjects). Blank lines and # comments are ignored;
 * an unknown key is an error naming the file and line. The nats-server config
 * holds only the password's bcrypt hash.
 *
 * A path may also name a directory of such files, <dir>/<role>.creds:
 * slipwayd then connects once per role of the actors it runs
 * (sw_creds_for_role).
 */
#ifndef SW_CREDS_H
#define SW_CREDS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sw_creds {
    char *path;
    char *user;
    char *password;
    char *inbox;  /* reply-subject prefix, NULL: the default _INBOX */
    char *tenant; /* NULL: a service or operator user */
} sw_creds;

/* Reads path. Errors (SW_ENOTFOUND, SW_EINVALID) name the file and, for a bad
 * line, its number. A file that group or others may read draws a warning. */
int sw_creds_load(sw_creds *out, const char *path);

/* Whether path is a directory (of per-role files). */
bool sw_creds_is_dir(const char *path);

/* <dir>/<role>.creds into buf; buf. */
const char *sw_creds_role_path(char *buf, size_t n, const char *dir, const char *role);

/* Writes c to path (mode 0600, via a temporary file and rename); c->path unused. */
int sw_creds_write(const sw_creds *c, const char *path, const char *comment);

void sw_creds_clear(sw_creds *c);

#endif
