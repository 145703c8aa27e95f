/*
 * webserver.h - the build pages' own listener, when web.listen is set:
 * GET /builds/<id> (webpage.h) and GET /healthz there, nothing else; the
 * webhook listener then answers 404 for /builds/. Owned by the webhook actor.
 */
#ifndef SW_WEBHOOK_WEBSERVER_H
#define SW_WEBHOOK_WEBSERVER_H

#include "bus/bus.h"
#include "runtime/config.h"

typedef struct sw_webserver sw_webserver;

/* Listens on cfg->web_listen (cfg is retained). */
int sw_webserver_start(sw_webserver **out, const sw_config *cfg, sw_bus *bus);

/* Requests that begin from now on are checked against cfg (retained; the
 * listen address stays). Any thread. */
void sw_webserver_reconfigure(sw_webserver *ws, const sw_config *cfg);

/* Stops listening and waits for every connection. Accepts NULL; nulls the
 * pointer. */
void sw_webserver_stop(sw_webserver **ws_p);

#endif
