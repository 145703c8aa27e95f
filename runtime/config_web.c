/*
 * config_web.c - `web:` and the tenants' read tokens (see config_web.h).
 *
 *   web:
 *     listen: 127.0.0.1:8081   # build pages here, not on webhook.listen
 *     read_token: env:SW_READ  # sees every build page
 *     link_key: file:/etc/slipway/link-key   # signs commit-status links
 *     link_ttl: 7d             # a signed link is good for this long
 *     control_token: env:SW_CONTROL  # also cancels and retries, any build
 *     tail_lines: 5000         # a build page shows this many of the log's last lines
 *     assets: /usr/share/slipway/web   # slipway.js and slipway.css (default: the source's)
 * A tenant's `read_token` sees its builds' pages, its `control_token` also
 * cancels and retries them there.
 */
#include "runtime/config_web.h"

#include "runtime/config_secret.h"
#include "runtime/core/mem.h"

#include <stdlib.h>
#include <string.h>

/* Shorter keys are too easy to guess; a link key is an HMAC key. */
#define MIN_KEY 16

static int check_key(const sw_yaml_doc *doc, const sw_yaml_node *node, const char *key,
                     const char *value)
{
    if (value != NULL && strlen(value) < MIN_KEY) {
        return sw_yaml_error(doc, node, "'%s' must be at least %d characters long", key,
                             MIN_KEY);
    }
    return 0;
}

int sw_config_read_web(sw_config *cfg, const sw_yaml_doc *doc, const sw_yaml_node *m)
{
    static const char *const keys[] = {"listen",     "read_token", "link_key", "link_ttl",
                                       "control_token", "tail_lines", "assets",  NULL};
    uint64_t tail = SW_WEB_TAIL_LINES;
    int error;

    cfg->web_link_ttl_ms = 7ull * 24 * 3600 * 1000;
    if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
        (error = sw_yaml_string(doc, sw_yaml_get(m, "listen"), &cfg->web_listen)) < 0 ||
        (error = sw_config_read_secret(doc, sw_yaml_get(m, "read_token"), "web.read_token",
                                       &cfg->web_read_token)) < 0 ||
        (error = sw_config_read_secret(doc, sw_yaml_get(m, "link_key"), "web.link_key",
                                       &cfg->web_link_key)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(m, "link_ttl"), &cfg->web_link_ttl_ms)) <
            0 ||
        (error = check_key(doc, sw_yaml_get(m, "read_token"), "read_token",
                           cfg->web_read_token)) < 0 ||
        (error = check_key(doc, sw_yaml_get(m, "link_key"), "link_key", cfg->web_link_key)) <
            0 ||
        (error = sw_config_read_secret(doc, sw_yaml_get(m, "control_token"),
                                       "web.control_token", &cfg->web_control_token)) < 0 ||
        (error = check_key(doc, sw_yaml_get(m, "control_token"), "control_token",
                           cfg->web_control_token)) < 0 ||
        (error = sw_yaml_uint(doc, sw_yaml_get(m, "tail_lines"), 1000000, &tail)) < 0 ||
        (error = sw_yaml_string(doc, sw_yaml_get(m, "assets"), &cfg->web_assets)) < 0) {
        return error;
    }
    if (tail < 10) {
        return sw_yaml_error(doc, sw_yaml_get(m, "tail_lines"),
                             "'tail_lines' must be between 10 and 1000000");
    }
    cfg->web_tail_lines = (uint32_t)tail;
    if (cfg->web_link_ttl_ms < 1000) {
        return sw_yaml_error(doc, sw_yaml_get(m, "link_ttl"), "'link_ttl' must be at least 1s");
    }
    if (cfg->web_listen != NULL) {
        if (strrchr(cfg->web_listen, ':') == NULL) {
            return sw_yaml_error(doc, sw_yaml_get(m, "listen"),
                                 "'listen' must be HOST:PORT, not '%s'", cfg->web_listen);
        }
        if (cfg->webhook_listen != NULL && strcmp(cfg->web_listen, cfg->webhook_listen) == 0) {
            return sw_yaml_error(doc, sw_yaml_get(m, "listen"),
                                 "web.listen is webhook.listen: leave it out to serve the build "
                                 "pages on the webhook's listener");
        }
        /* the links in commit statuses point where the pages are */
        const sw_yaml_node *webhook = sw_yaml_get(doc->root, "webhook");
        if (sw_yaml_get(webhook, "public_url") == NULL) {
            free(cfg->public_url);
            cfg->public_url = sw_asprintf("http://%s", cfg->web_listen);
        }
    }
    return 0;
}

int sw_config_read_tenant_token(sw_tenant *t, const sw_yaml_doc *doc, const sw_yaml_node *m)
{
    const sw_yaml_node *node = sw_yaml_get(m, "read_token");
    const sw_yaml_node *control = sw_yaml_get(m, "control_token");
    int error;
    if ((error = sw_config_read_secret(doc, node, "read_token", &t->read_token)) < 0 ||
        (error = check_key(doc, node, "read_token", t->read_token)) < 0 ||
        (error = sw_config_read_secret(doc, control, "control_token", &t->control_token)) < 0) {
        return error;
    }
    return check_key(doc, control, "control_token", t->control_token);
}

void sw_config_free_web(sw_config *cfg)
{
    for (size_t i = 0; i < cfg->ntenants; i++) {
        free(cfg->tenants[i].read_token);
        free(cfg->tenants[i].control_token);
    }
    free(cfg->web_control_token);
    free(cfg->web_assets);
    free(cfg->web_listen);
    free(cfg->web_read_token);
    free(cfg->web_link_key);
}
