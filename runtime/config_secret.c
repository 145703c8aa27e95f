/*
 * config_secret.c - secret-bearing values of slipway.yaml (see
 * config_secret.h) and the warning for a readable config that holds some
 * inline (config.h).
 */
#include "runtime/config_secret.h"

#include "runtime/config.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/secretref.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int sw_config_read_secret(const sw_yaml_doc *doc, const sw_yaml_node *node, const char *key,
                          char **out)
{
    char *text = NULL;
    int error;

    if (node == NULL) {
        return 0;
    }
    if ((error = sw_yaml_string(doc, node, &text)) < 0) {
        return error;
    }
    error = sw_secretref_resolve(out, key, text);
    free(text);
    if (error < 0) {
        return sw_yaml_error(doc, node, "%s", sw_error_last());
    }
    return 0;
}

/* Appends "<prefix><key>" to *list when node is an inline value. */
static void note(char **list, const sw_yaml_node *node, const char *prefix, const char *key)
{
    if (node == NULL || node->type != SW_YAML_SCALAR || sw_secretref_is_ref(node->value)) {
        return;
    }
    char *joined = sw_asprintf("%s%s%s%s", *list ? *list : "", *list ? ", " : "", prefix, key);
    free(*list);
    *list = joined;
}

/* The name of a list entry, for messages ("?" when it has none). */
static const char *entry_name(const sw_yaml_node *entry)
{
    const sw_yaml_node *n = sw_yaml_get(entry, "name");
    return n != NULL && n->type == SW_YAML_SCALAR ? n->value : "?";
}

static const sw_yaml_node *list_at(const sw_yaml_doc *doc, const char *key)
{
    const sw_yaml_node *l = doc->root != NULL ? sw_yaml_get(doc->root, key) : NULL;
    return l != NULL && l->type == SW_YAML_SEQ ? l : NULL;
}

char *sw_config_inline_secrets(const sw_yaml_doc *doc)
{
    const sw_yaml_node *projects = list_at(doc, "projects"), *tenants = list_at(doc, "tenants");
    char *list = NULL;

    for (size_t i = 0; projects != NULL && i < projects->nitems; i++) {
        const sw_yaml_node *p = projects->items[i], *forge = sw_yaml_get(p, "forge");
        const sw_yaml_node *secrets = sw_yaml_get(p, "secrets");
        char *prefix = sw_asprintf("projects[%s].", entry_name(p));
        note(&list, sw_yaml_get(forge, "secret"), prefix, "forge.secret");
        note(&list, sw_yaml_get(forge, "token"), prefix, "forge.token");
        note(&list, sw_yaml_get(p, "git_token"), prefix, "git_token");
        for (size_t j = 0; secrets != NULL && secrets->type == SW_YAML_MAP &&
                           j < secrets->nitems; j++) {
            char *key = sw_asprintf("secrets.%s", secrets->items[j]->key);
            note(&list, secrets->items[j], prefix, key);
            free(key);
        }
        free(prefix);
    }
    for (size_t i = 0; tenants != NULL && i < tenants->nitems; i++) {
        char *prefix = sw_asprintf("tenants[%s].", entry_name(tenants->items[i]));
        note(&list, sw_yaml_get(tenants->items[i], "read_token"), prefix, "read_token");
        free(prefix);
    }
    const sw_yaml_node *web = doc->root != NULL ? sw_yaml_get(doc->root, "web") : NULL;
    note(&list, sw_yaml_get(web, "read_token"), "web.", "read_token");
    note(&list, sw_yaml_get(web, "link_key"), "web.", "link_key");
    return list;
}

char *sw_config_exposure_warning(const sw_config *cfg)
{
    struct stat st;

    if (cfg->inline_secrets == NULL || cfg->path == NULL || stat(cfg->path, &st) != 0 ||
        (st.st_mode & (S_IRGRP | S_IROTH)) == 0) {
        return NULL;
    }
    return sw_asprintf("%s is readable by %s (mode %04o) and holds secrets inline: %s; "
                       "chmod 600 it, or give them as file:/path or env:NAME references",
                       cfg->path, (st.st_mode & S_IROTH) ? "everyone" : "its group",
                       (unsigned)(st.st_mode & 07777), cfg->inline_secrets);
}
