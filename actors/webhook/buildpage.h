/*
 * buildpage.h - GET /builds/<id> on the gateway: the page a commit status
 * links to. Plain text: the build's record (from the scheduler, sw.api.build)
 * and its log as archived (from the logsink, sw.api.logs), at most
 * SW_BUILDPAGE_MAX_LOG bytes of it.
 */
#ifndef SW_WEBHOOK_BUILDPAGE_H
#define SW_WEBHOOK_BUILDPAGE_H

#include "bus/bus.h"

#define SW_BUILDPAGE_MAX_LOG (4u << 20)

/* Renders the page of build_id into *text_out (caller frees) and returns the
 * HTTP status: 200, 404 (no such build), 503 (the scheduler cannot be asked). */
int sw_buildpage_render(sw_bus *bus, const char *build_id, int timeout_ms, char **text_out);

#endif
