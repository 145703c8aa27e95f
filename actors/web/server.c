/* server.c - the web actor's listener and routes (see server.h). */
#include "actors/web/server.h"

#include "actors/web/site.h"
#include "runtime/core/clock.h"
#include "runtime/core/fs.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/httplisten.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONNECTIONS 256 /* streams included: one thread each */

#ifndef SW_WEB_ASSETS
#define SW_WEB_ASSETS "actors/web/assets"
#endif

struct sw_web_server {
    struct MHD_Daemon *daemon;
    pthread_mutex_t cfg_lock;
    const sw_config *cfg;
    sw_bus *bus;
    bool stopping;
    sw_web_metrics_fn metrics;
    void *metrics_closure;
};

static const sw_config *current(sw_web_server *ws)
{
    pthread_mutex_lock(&ws->cfg_lock);
    const sw_config *cfg = sw_config_retain(ws->cfg);
    pthread_mutex_unlock(&ws->cfg_lock);
    return cfg;
}

static enum MHD_Result asset(struct MHD_Connection *c, const sw_config *cfg, const char *name)
{
    static const struct {
        const char *name, *type;
    } assets[] = {{"slipway.js", "text/javascript; charset=utf-8"},
                  {"slipway.css", "text/css; charset=utf-8"}};
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
        if (strcmp(name, assets[i].name) != 0) {
            continue;
        }
        char *path = sw_asprintf("%s/%s", cfg->web_assets ? cfg->web_assets : SW_WEB_ASSETS,
                                 name);
        char *data = NULL;
        size_t len = 0;
        int error = sw_fs_read_file(path, &data, &len);
        if (error < 0) {
            sw_warn("web", "cannot read %s (web.assets): the page has no %s", path, name);
            free(path);
            return sw_http_text(c, MHD_HTTP_NOT_FOUND, "this asset is missing on the server\n");
        }
        free(path);
        return sw_http_send(c, MHD_HTTP_OK, assets[i].type, data, len);
    }
    return sw_http_text(c, MHD_HTTP_NOT_FOUND, "no such asset\n");
}

/* Adds each query argument but the token to the Location being built. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    sw_buf *b = cls;
    (void)kind;
    if (strcmp(key, "token") == 0) {
        return MHD_YES;
    }
    sw_buf_puts(b, strchr(b->data, '?') ? "&" : "?");
    sw_html_query(b, key);
    if (value != NULL) {
        sw_buf_puts(b, "=");
        sw_html_query(b, value);
    }
    return MHD_YES;
}

/* A page asked with ?token=: keep the token in a cookie and send the browser
 * to the same page without it (out of the address bar and the history). */
static enum MHD_Result keep_token(struct MHD_Connection *c, const char *url, const char *token)
{
    sw_buf location = {0};
    sw_buf_puts(&location, url);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &location);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"",
                                                             MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        sw_buf_free(&location);
        return MHD_NO;
    }
    char *cookie = sw_asprintf("%s=%s; Path=/; HttpOnly; SameSite=Strict", SW_WEB_COOKIE, token);
    MHD_add_response_header(r, "Set-Cookie", cookie);
    MHD_add_response_header(r, "Location", location.data);
    sw_buf_free(&location);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    free(cookie);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
    MHD_destroy_response(r);
    return ret;
}

static bool token_opens_anything(const sw_config *cfg, const sw_page_key *key)
{
    const char *tenant;
    return sw_pageauth_scope(cfg, key, &tenant) != SW_PAGE_SCOPE_NONE;
}

static bool safe_token(const char *t)
{
    for (; *t; t++) {
        if (*t <= ' ' || *t == ';' || *t == ',' || *t == '"' || *t == '\\' || *t >= 127) {
            return false;
        }
    }
    return true;
}

static enum MHD_Result metrics(sw_web_server *ws, struct MHD_Connection *c)
{
    char *text = NULL;
    size_t len = 0;
    if (ws->metrics == NULL) {
        return sw_http_text(c, MHD_HTTP_NOT_FOUND, "no metrics in this build\n");
    }
    if (ws->metrics(ws->metrics_closure, &text, &len) < 0) {
        return sw_http_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "metrics cannot be read now\n");
    }
    return sw_http_send(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* Routes /builds/<id>[/<what>]. */
static enum MHD_Result build_route(const sw_web_req *r, const char *method, const char *rest)
{
    char id[80];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *what = slash ? slash + 1 : "";
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    if (n == 0 || n >= sizeof(id)) {
        return sw_http_text(r->c, MHD_HTTP_NOT_FOUND, "no such build\n");
    }
    memcpy(id, rest, n);
    id[n] = '\0';
    if (get && what[0] == '\0') {
        return sw_web_build(r, id);
    }
    if (get && strcmp(what, "events") == 0) {
        return sw_web_events(r, id);
    }
    if (get && strcmp(what, "log.txt") == 0) {
        return sw_web_logtxt(r, id);
    }
    if (get && strcmp(what, "lines") == 0) {
        return sw_web_lines(r, id);
    }
    if (strcmp(method, "POST") == 0 && (strcmp(what, "cancel") == 0 || strcmp(what, "retry") == 0)) {
        return sw_web_control(r, id, what);
    }
    return sw_http_text(r->c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    sw_web_server *ws = cls;
    static int began;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    (void)version;
    (void)upload_data;

    if (*con_cls == NULL && !get) {
        *con_cls = &began; /* answer once the body (none is used) has gone by */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (get && strcmp(url, "/healthz") == 0) {
        bool up = sw_bus_connected(ws->bus);
        return sw_http_text(c, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                            up ? "ok\n" : "nats disconnected\n");
    }
    if (get && strcmp(url, "/metrics") == 0) {
        return metrics(ws, c);
    }
    const sw_config *cfg = current(ws);
    sw_web_req r = {.c = c, .cfg = cfg, .bus = ws->bus, .now_s = sw_clock_wall_ms() / 1000,
                    .stopping = &ws->stopping};
    enum MHD_Result ret;
    sw_http_key(c, &r.key);
    const char *build = strncmp(url, "/builds/", 8) == 0 ? url + 8 : NULL;
    bool page = get && (strcmp(url, "/") == 0 || strcmp(url, "/builds") == 0 ||
                        (build != NULL && strchr(build, '/') == NULL));
    if (get && strncmp(url, "/assets/", 8) == 0) {
        ret = asset(c, cfg, url + 8);
    } else if (page && r.key.token != NULL && safe_token(r.key.token) &&
               token_opens_anything(cfg, &r.key)) {
        ret = keep_token(c, url, r.key.token);
    } else if (get && (strcmp(url, "/") == 0 || strcmp(url, "/builds") == 0)) {
        ret = sw_web_list(&r);
    } else if (strncmp(url, "/builds/", 8) == 0) {
        ret = build_route(&r, method, url + 8);
    } else {
        ret = sw_http_text(c, MHD_HTTP_NOT_FOUND,
                           "not found: the builds are at /builds, a build at /builds/<id>\n");
    }
    sw_config_release(&cfg);
    return ret;
}

int sw_web_server_start(sw_web_server **out, const sw_config *cfg, sw_bus *bus,
                        sw_web_metrics_fn metrics_fn, void *metrics_closure)
{
    sw_web_server *ws = sw_calloc(1, sizeof(*ws));
    int error;

    *out = NULL;
    pthread_mutex_init(&ws->cfg_lock, NULL);
    ws->cfg = sw_config_retain(cfg);
    ws->bus = bus;
    ws->metrics = metrics_fn;
    ws->metrics_closure = metrics_closure;
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

void sw_web_server_reconfigure(sw_web_server *ws, const sw_config *cfg)
{
    const sw_config *old;
    pthread_mutex_lock(&ws->cfg_lock);
    old = ws->cfg;
    ws->cfg = sw_config_retain(cfg);
    pthread_mutex_unlock(&ws->cfg_lock);
    sw_config_release(&old);
}

void sw_web_server_stop(sw_web_server **ws_p)
{
    sw_web_server *ws = ws_p != NULL ? *ws_p : NULL;
    if (ws == NULL) {
        return;
    }
    *ws_p = NULL;
    __atomic_store_n(&ws->stopping, true, __ATOMIC_RELAXED); /* streams see it within 1 s */
    MHD_stop_daemon(ws->daemon);
    sw_config_release(&ws->cfg);
    pthread_mutex_destroy(&ws->cfg_lock);
    free(ws);
}
