/* web.c - the web actor (see web.h). */
#include "actors/web/web.h"

#include "actors/web/metrics.h"
#include "actors/web/server.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <stdlib.h>

typedef struct web {
    sw_web_server *server;
    sw_web_metrics *metrics;
} web;

static int render_metrics(void *closure, char **text_out, size_t *len_out)
{
    return sw_web_metrics_render(closure, text_out, len_out);
}

static int web_init(sw_actor *self, void **state_out, void *arg)
{
    const sw_actor_ctx *ctx = arg;
    web *w = sw_calloc(1, sizeof(*w));
    int error;

    if (ctx->cfg->web_listen == NULL) {
        free(w);
        return sw_error_set(SW_EINVALID, "the web actor needs web.listen (HOST:PORT) in %s",
                            ctx->cfg->path);
    }
    if ((error = sw_web_metrics_create(&w->metrics, sw_actor_bus(self), ctx->cfg)) < 0 ||
        (error = sw_web_server_start(&w->server, ctx->cfg, sw_actor_bus(self), render_metrics,
                                     w->metrics)) < 0) {
        sw_web_metrics_destroy(&w->metrics);
        free(w);
        return error;
    }
    sw_info(sw_actor_name(self), "web pages on http://%s/builds", ctx->cfg->web_listen);
    *state_out = w;
    return 0;
}

static void web_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    (void)self;
    (void)state;
    (void)mail;
}

static int web_reconfigure(sw_actor *self, void *state, const sw_config *cfg)
{
    web *w = state;
    (void)self;
    sw_web_server_reconfigure(w->server, cfg);
    sw_web_metrics_reconfigure(w->metrics, cfg);
    return 0;
}

static void web_stop(sw_actor *self, void *state)
{
    web *w = state;
    (void)self;
    sw_web_server_stop(&w->server);
    sw_web_metrics_destroy(&w->metrics);
    free(w);
}

const sw_actor_impl sw_web_impl = {
    .kind = "web",
    .init = web_init,
    .handle = web_handle,
    .stop = web_stop,
    .reconfigure = web_reconfigure,
};
