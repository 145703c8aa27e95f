/*
 * buildpage.h - GET /builds/<id> on the gateway: the page a commit status
 * links to. Plain text: the build's record (from the scheduler, sw.api.build)
 * and its log as archived (from the logsink, sw.api.logs), at most
 * SW_BUILDPAGE_MAX_LOG bytes of it.
 */
#ifndef SW_WEBHOOK_BUILDPAGE_H
#define SW_WEBHOOK_BUILDPAGE_H

#include "bus/bus.h"

#include <stdbool.h>

#define SW_BUILDPAGE_MAX_LOG (4u << 20)

/* The whole body of a 404: for an id that is no build and for a build the
 * caller may not see alike. */
#define SW_BUILDPAGE_NOT_FOUND "no such build\n"

/* Whether the caller may see a build of tenant (asked once its record is in). */
typedef bool (*sw_buildpage_allow_cb)(void *closure, const char *tenant);

/* Renders the page of build_id into *text_out (caller frees) and returns the
 * HTTP status: 200, 404 (no such build, or allow said no: the same body,
 * SW_BUILDPAGE_NOT_FOUND), 503 (the scheduler cannot be asked). allow NULL:
 * anyone may. */
int sw_buildpage_render(sw_bus *bus, const char *build_id, int timeout_ms,
                        sw_buildpage_allow_cb allow, void *closure, char **text_out);

#endif
