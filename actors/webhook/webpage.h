/*
 * webpage.h - GET /builds/<id> over HTTP: the key check of pageauth.h, then
 * the page of buildpage.h, on the intake's listener when web.listen is not
 * set (when it is, the web actor, actors/web, has the pages there).
 */
#ifndef SW_WEBHOOK_WEBPAGE_H
#define SW_WEBHOOK_WEBPAGE_H

#include "bus/bus.h"
#include "runtime/config.h"

#include <microhttpd.h>

/* Answers c, a GET or HEAD of /builds/<id> (id: the path past "/builds/"),
 * under cfg (borrowed for the call): 401 without a key, 404 when the key does
 * not open the build or there is none, 200 with the page, 503 when the
 * scheduler cannot be asked. Any HTTP thread. */
enum MHD_Result sw_webpage_answer(struct MHD_Connection *c, const sw_config *cfg, sw_bus *bus,
                                  const char *id);

#endif
