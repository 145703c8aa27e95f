/*
 * actors.h - every actor Slipway has, as the runtime sees them.
 *
 * Each is started with sw_actor_start(&a, &sw_<kind>_impl, name, bus, &ctx)
 * where ctx (an sw_actor_ctx) outlives the actor. The subjects each reads and
 * writes are listed in its own header.
 */
#ifndef SW_ACTORS_H
#define SW_ACTORS_H

#include "runtime/actor.h"
#include "runtime/config.h"

typedef struct sw_actor_ctx {
    const sw_config *cfg;
    const char *target; /* dispatcher: the tier; builder: the builder's name */
} sw_actor_ctx;

extern const sw_actor_impl sw_scheduler_impl;
extern const sw_actor_impl sw_dispatcher_impl;
extern const sw_actor_impl sw_builder_impl;
extern const sw_actor_impl sw_logsink_impl;
extern const sw_actor_impl sw_webhook_impl;
extern const sw_actor_impl sw_notifier_impl;
extern const sw_actor_impl sw_autoscaler_impl;
extern const sw_actor_impl sw_web_impl;

#endif
