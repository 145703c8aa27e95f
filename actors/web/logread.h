/*
 * logread.h - a build's archived log, page by page from the logsink
 * (sw.api.logs), through a logmerge (runtime/logmerge.h): each chunk once,
 * superseded attempts left out.
 */
#ifndef SW_WEB_LOGREAD_H
#define SW_WEB_LOGREAD_H

#include "bus/bus.h"
#include "runtime/logmerge.h"
#include "slipway.pb-c.h"

/* Called with each chunk merged takes, in the log's order; chunk is borrowed
 * for the call. Returning false stops the read. */
typedef bool (*sw_logread_fn)(void *closure, const Slipway__LogChunk *chunk);

/* Reads build_id's archive from its beginning. 0 when it was read to its end
 * (or fn stopped it), SW_E* when the logsink did not answer (what was read so
 * far was given to fn). */
int sw_logread(sw_bus *bus, const char *build_id, int timeout_ms, sw_logmerge *merged,
               sw_logread_fn fn, void *closure);

#endif
