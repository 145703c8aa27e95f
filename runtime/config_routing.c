/* config_routing.c - `default_region:`, `regions:` and `routing:` (see config_routing.h). */
#include "runtime/config_routing.h"

#include "runtime/core/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 1024

static int check_region_name(const sw_yaml_doc *doc, const sw_yaml_node *node, const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64) {
        return sw_yaml_error(doc, node, "a region name must be 1 to 64 characters");
    }
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
            return sw_yaml_error(doc, node,
                                 "region '%s' may hold only letters, digits, '-' and '_'", name);
        }
    }
    return 0;
}

/* A host, host:port or *.domain: letters, digits, '.', '-', ':', '[', ']'. */
static int check_pattern(const sw_yaml_doc *doc, const sw_yaml_node *node, const char *pattern)
{
    const char *p = strncmp(pattern, "*.", 2) == 0 ? pattern + 2 : pattern;
    if (*p == '\0' || strlen(pattern) > 253) {
        return sw_yaml_error(doc, node, "'%s' is not a host pattern (a host, host:port or "
                                        "*.domain)", pattern);
    }
    for (; *p; p++) {
        if (!isalnum((unsigned char)*p) && strchr(".-:[]_", *p) == NULL) {
            return sw_yaml_error(doc, node,
                                 "'%s' is not a host pattern (a host, host:port or *.domain)",
                                 pattern);
        }
    }
    return 0;
}

static int read_regions(sw_config *cfg, const sw_yaml_doc *doc, const sw_yaml_node *m)
{
    int error;
    if (m == NULL) {
        return 0;
    }
    if (m->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, m, "'regions' must map region names to lists of host patterns");
    }
    for (size_t i = 0; i < m->nitems; i++) {
        const sw_yaml_node *list = m->items[i];
        if ((error = check_region_name(doc, list, list->key)) < 0) {
            return error;
        }
        if (list->type != SW_YAML_SEQ) {
            return sw_yaml_error(doc, list, "regions.%s must be a list of host patterns",
                                 list->key);
        }
        for (size_t j = 0; j < list->nitems; j++) {
            char *pattern = NULL;
            if ((error = sw_yaml_string(doc, list->items[j], &pattern)) < 0 ||
                (error = check_pattern(doc, list->items[j], pattern)) < 0) {
                free(pattern);
                return error;
            }
            if (cfg->nregion_rules == MAX_RULES) {
                free(pattern);
                return sw_yaml_error(doc, list->items[j], "more than %d host patterns",
                                     MAX_RULES);
            }
            cfg->region_rules = sw_realloc(cfg->region_rules,
                                           (cfg->nregion_rules + 1) * sizeof(*cfg->region_rules));
            cfg->region_rules[cfg->nregion_rules].pattern = pattern;
            cfg->region_rules[cfg->nregion_rules].region = sw_strdup(list->key);
            cfg->nregion_rules++;
        }
    }
    return 0;
}

int sw_config_read_routing(sw_config *cfg, const sw_yaml_doc *doc)
{
    static const char *const keys[] = {"learn", "half_life", NULL};
    const sw_yaml_node *routing = sw_yaml_get(doc->root, "routing");
    const sw_yaml_node *dr = sw_yaml_get(doc->root, "default_region");
    int learn = 1, error;
    uint64_t half_life = 3;

    if ((error = sw_yaml_string(doc, dr, &cfg->default_region)) < 0 ||
        (cfg->default_region != NULL &&
         (error = check_region_name(doc, dr, cfg->default_region)) < 0) ||
        (error = read_regions(cfg, doc, sw_yaml_get(doc->root, "regions"))) < 0 ||
        (error = sw_yaml_check_keys(doc, routing, keys)) < 0 ||
        (error = sw_yaml_bool(doc, sw_yaml_get(routing, "learn"), &learn)) < 0 ||
        (error = sw_yaml_uint(doc, sw_yaml_get(routing, "half_life"), 1000, &half_life)) < 0) {
        return error;
    }
    if (half_life < 1) {
        return sw_yaml_error(doc, sw_yaml_get(routing, "half_life"),
                             "routing.half_life must be at least 1 build");
    }
    if (cfg->default_region == NULL) {
        cfg->default_region = sw_strdup("default");
    }
    cfg->routing_learn = learn != 0;
    cfg->routing_half_life = (uint32_t)half_life;
    return 0;
}

void sw_config_free_routing(sw_config *cfg)
{
    for (size_t i = 0; i < cfg->nregion_rules; i++) {
        free((char *)cfg->region_rules[i].pattern);
        free((char *)cfg->region_rules[i].region);
    }
    free(cfg->region_rules);
    free(cfg->default_region);
}
