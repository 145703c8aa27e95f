/*
 * httplisten.h - a libmicrohttpd daemon on HOST:PORT (a name, an IPv4 address, or
 * an IPv6 one in brackets), one thread per connection: the webhook intake's
 * and the build pages' own listener (web.listen) are both started here.
 */
#ifndef SW_HTTPLISTEN_H
#define SW_HTTPLISTEN_H

#include <microhttpd.h>

/* Starts the daemon on listen; handler(cls, ...) answers requests, completed
 * (may be NULL) is called when each ends. what names the setting in errors
 * ("webhook.listen"). *out is the caller's (MHD_stop_daemon). */
int sw_listen_start(struct MHD_Daemon **out, const char *what, const char *listen,
                    unsigned int max_connections, MHD_AccessHandlerCallback handler, void *cls,
                    MHD_RequestCompletedCallback completed, void *completed_cls);

#endif
