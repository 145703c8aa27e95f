/*
 * server.h - the web actor's HTTP listener (web.listen): routes each request
 * to its page (site.h), serves the page's script and style (web.assets), sets
 * the token cookie, answers /healthz and /metrics.
 */
#ifndef SW_WEB_SERVER_H
#define SW_WEB_SERVER_H

#include "bus/bus.h"
#include "runtime/config.h"

#include <stddef.h>

typedef struct sw_web_server sw_web_server;

/* /metrics: renders the text into *text_out (caller frees); < 0 when it cannot. */
typedef int (*sw_web_metrics_fn)(void *closure, char **text_out, size_t *len_out);

/* Listens on cfg->web_listen (cfg retained). metrics may be NULL (/metrics 404). */
int sw_web_server_start(sw_web_server **out, const sw_config *cfg, sw_bus *bus,
                        sw_web_metrics_fn metrics, void *metrics_closure);

/* Requests that begin from now on see cfg (retained; the address stays). */
void sw_web_server_reconfigure(sw_web_server *ws, const sw_config *cfg);

/* Ends every stream, stops listening, waits for every connection. Accepts
 * NULL; nulls the pointer. */
void sw_web_server_stop(sw_web_server **ws_p);

#endif
