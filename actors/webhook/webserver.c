/* webserver.c - the build pages' own listener (see webserver.h). */
#include "actors/webhook/webserver.h"

#include "runtime/httplisten.h"
#include "actors/webhook/webpage.h"
#include "runtime/core/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONNECTIONS 64

struct sw_webserver {
    struct MHD_Daemon *daemon;
    pthread_mutex_t cfg_lock; /* taking cfg (load and retain) against a swap */
    const sw_config *cfg;
    sw_bus *bus;
};

static enum MHD_Result answer(struct MHD_Connection *c, unsigned int status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    sw_webserver *ws = cls;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (*upload_data_size > 0) {
        *upload_data_size = 0; /* a body nobody asked for: let it go by */
        return MHD_YES;
    }
    if (get && strcmp(url, "/healthz") == 0) {
        return answer(c, MHD_HTTP_OK, sw_bus_connected(ws->bus) ? "ok\n" : "nats disconnected\n");
    }
    if (!get || strncmp(url, "/builds/", 8) != 0) {
        return answer(c, MHD_HTTP_NOT_FOUND, "not found: build pages are GET /builds/<id>\n");
    }
    pthread_mutex_lock(&ws->cfg_lock);
    const sw_config *cfg = sw_config_retain(ws->cfg);
    pthread_mutex_unlock(&ws->cfg_lock);
    enum MHD_Result ret = sw_webpage_answer(c, cfg, ws->bus, url + 8);
    sw_config_release(&cfg);
    return ret;
}

int sw_webserver_start(sw_webserver **out, const sw_config *cfg, sw_bus *bus)
{
    sw_webserver *ws = sw_calloc(1, sizeof(*ws));
    int error;

    *out = NULL;
    pthread_mutex_init(&ws->cfg_lock, NULL);
    ws->cfg = sw_config_retain(cfg);
    ws->bus = bus;
    if ((error = sw_listen_start(&ws->daemon, "web.listen", cfg->web_listen, MAX_CONNECTIONS,
                                 on_request, ws, NULL, NULL)) < 0) {
        sw_config_release(&ws->cfg);
        pthread_mutex_destroy(&ws->cfg_lock);
        free(ws);
        return error;
    }
    *out = ws;
    return 0;
}

void sw_webserver_reconfigure(sw_webserver *ws, const sw_config *cfg)
{
    const sw_config *old;
    pthread_mutex_lock(&ws->cfg_lock);
    old = ws->cfg;
    ws->cfg = sw_config_retain(cfg);
    pthread_mutex_unlock(&ws->cfg_lock);
    sw_config_release(&old);
}

void sw_webserver_stop(sw_webserver **ws_p)
{
    sw_webserver *ws = ws_p != NULL ? *ws_p : NULL;
    if (ws == NULL) {
        return;
    }
    *ws_p = NULL;
    MHD_stop_daemon(ws->daemon);
    sw_config_release(&ws->cfg);
    pthread_mutex_destroy(&ws->cfg_lock);
    free(ws);
}
