/*
 * config_autoscale.c - a cluster's `autoscale:` (see sw_autoscale).
 *
 *   autoscale:
 *     provider: process          # or exec (with exec: {create, destroy, list})
 *     min: 0
 *     max: 8
 *     target: 0.8                # the pressure aimed at
 *     dead_band: 0.1
 *     min_idle: 0
 *     scale_in_after: 5m
 *     slots: 1
 */
#include "runtime/config_autoscale.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sw_config_generated_name(const char *prefix, const char *name)
{
    size_t plen = strlen(prefix), n = 0;
    if (strncmp(name, prefix, plen) != 0) {
        return false;
    }
    for (const char *p = name + plen; *p; p++, n++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
            return false;
        }
    }
    return n >= 1 && n <= 32;
}

/* A fraction written as 0.8 or 80%. */
static int read_fraction(const sw_yaml_doc *doc, const sw_yaml_node *node, double lo, double hi,
                         double *out)
{
    char *end;
    double v;
    if (node == NULL) {
        return 0;
    }
    if (node->type != SW_YAML_SCALAR) {
        return sw_yaml_error(doc, node, "'%s' must be a number", node->key ? node->key : "?");
    }
    v = strtod(node->value, &end);
    if (end != node->value && strcmp(end, "%") == 0) {
        v /= 100;
    } else if (end == node->value || *end != '\0') {
        return sw_yaml_error(doc, node, "'%s' must be a number such as 0.8 or 80%%, not '%s'",
                             node->key ? node->key : "?", node->value);
    }
    if (!(v >= lo && v <= hi)) {
        return sw_yaml_error(doc, node, "'%s' must be from %g to %g", node->key ? node->key : "?",
                             lo, hi);
    }
    *out = v;
    return 0;
}

static int read_u32(const sw_yaml_doc *doc, const sw_yaml_node *map, const char *key,
                    uint64_t max, uint32_t *out)
{
    uint64_t v = *out;
    int error = sw_yaml_uint(doc, sw_yaml_get(map, key), max, &v);
    *out = (uint32_t)v;
    return error;
}

/* node: the `exec:` mapping, or NULL when there is none (then the error is at
 * provider, the line that asks for it). */
static int read_exec(sw_autoscale *as, const sw_yaml_doc *doc, const sw_yaml_node *node,
                     const sw_yaml_node *provider)
{
    static const char *const keys[] = {"create", "destroy", "list", "timeout", NULL};
    int error;
    if (node == NULL || node->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, node ? node : provider,
                             "provider exec needs 'exec:' with create, destroy and list commands");
    }
    if ((error = sw_yaml_check_keys(doc, node, keys)) < 0 ||
        (error = sw_yaml_string(doc, sw_yaml_get(node, "create"), &as->exec_create)) < 0 ||
        (error = sw_yaml_string(doc, sw_yaml_get(node, "destroy"), &as->exec_destroy)) < 0 ||
        (error = sw_yaml_string(doc, sw_yaml_get(node, "list"), &as->exec_list)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(node, "timeout"),
                                     &as->exec_timeout_ms)) < 0) {
        return error;
    }
    if (as->exec_create == NULL || as->exec_destroy == NULL || as->exec_list == NULL) {
        return sw_yaml_error(doc, node, "exec needs all three of create, destroy and list");
    }
    return 0;
}

static int read_policy(sw_autoscale *as, const sw_yaml_doc *doc, const sw_yaml_node *node,
                       const char *cluster)
{
    static const char *const keys[] = {"provider",       "min",           "max",
                                       "target",         "dead_band",     "min_idle",
                                       "scale_in_after", "start_timeout", "max_failures",
                                       "backoff",        "backoff_max",   "slots",
                                       "name_prefix",    "exec",          NULL};
    const sw_yaml_node *provider = sw_yaml_get(node, "provider");
    const sw_yaml_node *max = sw_yaml_get(node, "max");
    int error;

    if ((error = sw_yaml_check_keys(doc, node, keys)) < 0) {
        return error;
    }
    if (provider == NULL || provider->type != SW_YAML_SCALAR) {
        return sw_yaml_error(doc, provider ? provider : node,
                             "autoscale needs 'provider' (process or exec)");
    }
    if (strcmp(provider->value, "process") == 0) {
        as->provider = SW_PROVIDER_PROCESS;
    } else if (strcmp(provider->value, "exec") == 0) {
        as->provider = SW_PROVIDER_EXEC;
    } else {
        return sw_yaml_error(doc, provider, "unknown provider '%s' (process or exec)",
                             provider->value);
    }
    if (max == NULL) {
        return sw_yaml_error(doc, node, "autoscale needs 'max' (the most builders it may run)");
    }
    if ((error = read_u32(doc, node, "min", 10000, &as->min)) < 0 ||
        (error = read_u32(doc, node, "max", 10000, &as->max)) < 0 ||
        (error = read_u32(doc, node, "min_idle", 10000, &as->min_idle)) < 0 ||
        (error = read_u32(doc, node, "max_failures", 1000, &as->max_failures)) < 0 ||
        (error = read_u32(doc, node, "slots", 256, &as->slots)) < 0 ||
        (error = read_fraction(doc, sw_yaml_get(node, "target"), 0.05, 1, &as->target)) < 0 ||
        (error = read_fraction(doc, sw_yaml_get(node, "dead_band"), 0, 0.5, &as->dead_band)) <
            0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(node, "scale_in_after"),
                                     &as->scale_in_after_ms)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(node, "start_timeout"),
                                     &as->start_timeout_ms)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(node, "backoff"), &as->backoff_ms)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(node, "backoff_max"),
                                     &as->backoff_max_ms)) < 0 ||
        (error = sw_yaml_string(doc, sw_yaml_get(node, "name_prefix"), &as->name_prefix)) < 0) {
        return error;
    }
    if (as->max < 1 || as->min > as->max) {
        return sw_yaml_error(doc, max, "autoscale needs 1 <= max and min <= max (min %u, max %u)",
                             as->min, as->max);
    }
    if (as->slots < 1 || as->max_failures < 1 || as->start_timeout_ms < 1000 ||
        as->backoff_ms < 1 || as->backoff_max_ms < as->backoff_ms) {
        return sw_yaml_error(doc, node, "autoscale needs slots >= 1, max_failures >= 1, "
                                        "start_timeout >= 1s and backoff <= backoff_max");
    }
    if (as->name_prefix == NULL && asprintf(&as->name_prefix, "%s-auto-", cluster) < 0) {
        abort();
    }
    if (strlen(as->name_prefix) > 31 || as->name_prefix[0] == '\0' ||
        strspn(as->name_prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
            strlen(as->name_prefix)) {
        /* a default one (from a long cluster name) is blamed on the autoscale: block */
        const sw_yaml_node *at = sw_yaml_get(node, "name_prefix");
        return sw_yaml_error(doc, at ? at : node,
                             "name_prefix '%s' must be 1 to 31 letters, digits, '-' or '_'%s",
                             as->name_prefix, at ? "" : " (set one: the default is too long)");
    }
    if (as->provider == SW_PROVIDER_EXEC) {
        return read_exec(as, doc, sw_yaml_get(node, "exec"), provider);
    }
    if (sw_yaml_get(node, "exec") != NULL) {
        return sw_yaml_error(doc, sw_yaml_get(node, "exec"), "'exec' is for provider exec");
    }
    return 0;
}

int sw_config_read_autoscale(const sw_yaml_doc *doc, const sw_yaml_node *node,
                             const char *cluster, sw_autoscale **out)
{
    sw_autoscale *as;
    int error;
    *out = NULL;
    if (node == NULL) {
        return 0;
    }
    if (node->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, node, "'autoscale' must be a mapping (provider, min, max, ...)");
    }
    as = sw_calloc(1, sizeof(*as));
    as->target = 0.8;
    as->dead_band = 0.1;
    as->scale_in_after_ms = 5 * 60 * 1000;
    as->start_timeout_ms = 2 * 60 * 1000;
    as->max_failures = 3;
    as->backoff_ms = 1000;
    as->backoff_max_ms = 60 * 1000;
    as->slots = 1;
    as->exec_timeout_ms = 60 * 1000;
    if ((error = read_policy(as, doc, node, cluster)) < 0) {
        sw_config_free_autoscale(as);
        return error;
    }
    *out = as;
    return 0;
}

void sw_config_free_autoscale(sw_autoscale *as)
{
    if (as == NULL) {
        return;
    }
    free(as->name_prefix);
    free(as->exec_create);
    free(as->exec_destroy);
    free(as->exec_list);
    free(as);
}
