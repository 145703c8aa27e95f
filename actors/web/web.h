/*
 * web.h - the web actor: the pages people look at (web.listen).
 *
 * Reads: sw.api.build, sw.api.builds, sw.api.project(s) (scheduler),
 * sw.api.logs (logsink), EVENTS and LOGS (ordered consumers, one pair per
 * open build page), and later sw.metrics.* for /metrics.
 * Writes: sw.ctl.cancel.<build> (requests) and sw.req.<tenant> (retries).
 * Owns nothing durable; it runs only where web.listen is set.
 *
 * The actor's own thread only starts, reconfigures and stops the listener:
 * every request is answered on its connection's thread (server.c, site.h),
 * which asks the other actors over NATS like any client.
 */
#ifndef SW_WEB_WEB_H
#define SW_WEB_WEB_H

#include "actors/actors.h"

#endif
