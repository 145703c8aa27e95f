/*
 * config.c - slipway.yaml read into sw_config (see config.h).
 *
 * Names of tiers, tenants, projects, clusters and builders become NATS subject
 * tokens, so they are limited to [A-Za-z0-9_-].
 */
#include "runtime/config.h"
#include "runtime/config_autoscale.h"
#include "runtime/config_secret.h"
#include "runtime/config_routing.h"
#include "runtime/config_web.h"
#include "runtime/core/mem.h"

#include "runtime/core/error.h"
#include "runtime/core/yaml.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a required or optional token-like name. */
static int read_name(const sw_yaml_doc *doc, const sw_yaml_node *map, const char *key,
                     int required, char **out)
{
    const sw_yaml_node *node = sw_yaml_get(map, key);
    int error;
    if (node == NULL) {
        if (required) {
            return sw_yaml_error(doc, map, "missing '%s'", key);
        }
        return 0;
    }
    if ((error = sw_yaml_string(doc, node, out)) < 0) {
        return error;
    }
    if ((*out)[0] == '\0' || strlen(*out) > 64) {
        return sw_yaml_error(doc, node, "'%s' must be 1 to 64 characters", key);
    }
    for (const char *p = *out; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_')) {
            return sw_yaml_error(doc, node,
                                 "'%s' may hold only letters, digits, '-' and '_', not '%s'", key,
                                 *out);
        }
    }
    return 0;
}

static int read_string(const sw_yaml_doc *doc, const sw_yaml_node *map, const char *key,
                       int required, char **out)
{
    const sw_yaml_node *node = sw_yaml_get(map, key);
    if (node == NULL && required) {
        return sw_yaml_error(doc, map, "missing '%s'", key);
    }
    return sw_yaml_string(doc, node, out);
}

/* The list under key: must be a sequence of mappings. */
static int read_list(const sw_yaml_doc *doc, const sw_yaml_node *root, const char *key,
                     int required, const sw_yaml_node **out)
{
    const sw_yaml_node *list = sw_yaml_get(root, key);
    *out = NULL;
    if (list == NULL) {
        return required ? sw_yaml_error(doc, root, "missing '%s' (a list)", key) : 0;
    }
    if (list->type != SW_YAML_SEQ) {
        return sw_yaml_error(doc, list, "'%s' must be a list", key);
    }
    for (size_t i = 0; i < list->nitems; i++) {
        if (list->items[i]->type != SW_YAML_MAP) {
            return sw_yaml_error(doc, list->items[i], "each entry of '%s' must be a mapping", key);
        }
    }
    *out = list;
    return 0;
}

/* Refuses a name that an earlier entry of the same list already has. */
static int check_unique(const sw_yaml_doc *doc, const sw_yaml_node *entry, const char *what,
                        const char *name, const char *const *names, size_t n, size_t stride)
{
    for (size_t i = 0; i < n; i++) {
        const char *other = *(const char *const *)((const char *)names + i * stride);
        if (strcmp(other, name) == 0) {
            return sw_yaml_error(doc, sw_yaml_get(entry, "name"), "%s '%s' is listed twice",
                                 what, name);
        }
    }
    return 0;
}

#define UNIQUE(doc, entry, what, array, count)                                                     \
    check_unique((doc), (entry), (what), (array)[(count) - 1].name,                               \
                 (const char *const *)&(array)[0].name, (count) - 1, sizeof((array)[0]))

/* An unsigned key of at most max into *out (kept when absent); `off` is 0
 * when off_ok. */
static int read_count(const sw_yaml_doc *doc, const sw_yaml_node *m, const char *key,
                      uint64_t max, bool off_ok, uint32_t *out)
{
    const sw_yaml_node *node = sw_yaml_get(m, key);
    uint64_t v = *out;
    int error;
    if (off_ok && node != NULL && node->type == SW_YAML_SCALAR &&
        strcmp(node->value, "off") == 0) {
        *out = 0;
        return 0;
    }
    if ((error = sw_yaml_uint(doc, node, max, &v)) < 0) {
        return error;
    }
    *out = (uint32_t)v;
    return 0;
}

/* A tier's plan: max_running, max_queued (per tenant), lookahead, hold. */
static int read_plan(const sw_yaml_doc *doc, const sw_yaml_node *m, sw_tier *t)
{
    int error;
    if ((error = read_count(doc, m, "max_running", 1 << 20, false, &t->max_running)) < 0 ||
        (error = read_count(doc, m, "max_queued", 1 << 24, false, &t->max_queued)) < 0 ||
        (error = read_count(doc, m, "lookahead", 1 << 16, true, &t->lookahead)) < 0 ||
        (error = read_count(doc, m, "hold", 1 << 20, false, &t->hold)) < 0) {
        return error;
    }
    if (t->hold < 1) {
        return sw_yaml_error(doc, sw_yaml_get(m, "hold"), "hold must be at least 1");
    }
    return 0;
}

static int read_tiers(sw_config *cfg, const sw_yaml_doc *doc)
{
    static const char *const keys[] = {"name",        "memory",     "pids",      "cpu_millis",
                                       "timeout",     "log_limit",  "max_running",
                                       "max_queued",  "lookahead",  "hold",      NULL};
    const sw_yaml_node *list;
    int error;
    if ((error = read_list(doc, doc->root, "tiers", 1, &list)) < 0) {
        return error;
    }
    cfg->tiers = sw_calloc(list->nitems, sizeof(*cfg->tiers));
    for (size_t i = 0; i < list->nitems; i++) {
        const sw_yaml_node *m = list->items[i];
        sw_tier *t = &cfg->tiers[cfg->ntiers++];
        uint64_t v;
        t->memory_bytes = 512ull << 20;
        t->pids = 512;
        t->cpu_millis = 1000;
        t->timeout_ms = 30 * 60 * 1000;
        t->log_max_bytes = 100ull * 1000 * 1000;
        t->lookahead = 2;
        t->hold = 10000;
        if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
            (error = read_plan(doc, m, t)) < 0 ||
            (error = read_name(doc, m, "name", 1, &t->name)) < 0 ||
            (error = sw_yaml_size(doc, sw_yaml_get(m, "memory"), &t->memory_bytes)) < 0 ||
            (error = sw_yaml_size(doc, sw_yaml_get(m, "log_limit"), &t->log_max_bytes)) < 0 ||
            (error = sw_yaml_duration_ms(doc, sw_yaml_get(m, "timeout"), &t->timeout_ms)) < 0) {
            return error;
        }
        v = t->pids;
        if ((error = sw_yaml_uint(doc, sw_yaml_get(m, "pids"), 1 << 22, &v)) < 0) {
            return error;
        }
        t->pids = (uint32_t)v;
        v = t->cpu_millis;
        if ((error = sw_yaml_uint(doc, sw_yaml_get(m, "cpu_millis"), 1 << 20, &v)) < 0) {
            return error;
        }
        t->cpu_millis = (uint32_t)v;
        if ((error = UNIQUE(doc, m, "tier", cfg->tiers, cfg->ntiers)) < 0) {
            return error;
        }
        if (t->memory_bytes < (4ull << 20)) {
            return sw_yaml_error(doc, sw_yaml_get(m, "memory"), "memory must be at least 4M");
        }
        if (t->log_max_bytes < 4096) {
            return sw_yaml_error(doc, sw_yaml_get(m, "log_limit"),
                                 "log_limit must be at least 4K");
        }
    }
    return 0;
}

static int read_tenants(sw_config *cfg, const sw_yaml_doc *doc)
{
    static const char *const keys[] = {"name", "tier", "read_token", "control_token", NULL};
    const sw_yaml_node *list;
    int error;
    if ((error = read_list(doc, doc->root, "tenants", 1, &list)) < 0) {
        return error;
    }
    cfg->tenants = sw_calloc(list->nitems, sizeof(*cfg->tenants));
    for (size_t i = 0; i < list->nitems; i++) {
        const sw_yaml_node *m = list->items[i];
        sw_tenant *t = &cfg->tenants[cfg->ntenants++];
        if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
            (error = read_name(doc, m, "name", 1, &t->name)) < 0 ||
            (error = read_name(doc, m, "tier", 1, &t->tier)) < 0 ||
            (error = sw_config_read_tenant_token(t, doc, m)) < 0 ||
            (error = UNIQUE(doc, m, "tenant", cfg->tenants, cfg->ntenants)) < 0) {
            return error;
        }
        if (sw_config_tier(cfg, t->tier) == NULL) {
            return sw_yaml_error(doc, sw_yaml_get(m, "tier"), "no tier named '%s'", t->tier);
        }
    }
    return 0;
}

static const char *const forge_names[] = {
    [SW_FORGE_NONE] = "none",           [SW_FORGE_GITHUB] = "github",
    [SW_FORGE_GITLAB] = "gitlab",       [SW_FORGE_GITEA] = "gitea",
    [SW_FORGE_BITBUCKET] = "bitbucket", [SW_FORGE_BITBUCKET_SERVER] = "bitbucket-server",
};

const char *sw_forge_name(sw_forge_type type)
{
    return (unsigned)type < sizeof(forge_names) / sizeof(forge_names[0]) ? forge_names[type]
                                                                         : "none";
}

sw_forge_type sw_forge_parse(const char *name)
{
    if (name == NULL) {
        return SW_FORGE_NONE;
    }
    if (strcmp(name, "forgejo") == 0) {
        return SW_FORGE_GITEA;
    }
    for (size_t i = 1; i < sizeof(forge_names) / sizeof(forge_names[0]); i++) {
        if (strcmp(name, forge_names[i]) == 0) {
            return (sw_forge_type)i;
        }
    }
    return SW_FORGE_NONE;
}

/* A project's `forge:` mapping. */
static int read_forge(sw_forge_config *f, const sw_yaml_doc *doc, const sw_yaml_node *m)
{
    static const char *const keys[] = {"type", "repo", "secret", "token", "api_url", "context",
                                       NULL};
    static const char *const default_api[] = {
        [SW_FORGE_GITHUB] = "https://api.github.com",
        [SW_FORGE_GITLAB] = "https://gitlab.com/api/v4",
        [SW_FORGE_BITBUCKET] = "https://api.bitbucket.org",
    };
    char *type = NULL;
    int error;

    if (m == NULL) {
        return 0;
    }
    if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
        (error = read_string(doc, m, "type", 1, &type)) < 0) {
        return error;
    }
    f->type = sw_forge_parse(type);
    free(type);
    if (f->type == SW_FORGE_NONE) {
        return sw_yaml_error(doc, sw_yaml_get(m, "type"),
                             "unknown forge type (github, gitlab, gitea, forgejo, bitbucket, "
                             "bitbucket-server)");
    }
    if ((error = read_string(doc, m, "repo", 0, &f->repo)) < 0 ||
        (error = sw_config_read_secret(doc, sw_yaml_get(m, "secret"), "forge.secret",
                                       &f->secret)) < 0 ||
        (error = sw_config_read_secret(doc, sw_yaml_get(m, "token"), "forge.token",
                                       &f->token)) < 0 ||
        (error = read_string(doc, m, "api_url", 0, &f->api_url)) < 0 ||
        (error = read_string(doc, m, "context", 0, &f->context)) < 0) {
        return error;
    }
    if (f->secret != NULL && f->secret[0] == '\0') {
        return sw_yaml_error(doc, sw_yaml_get(m, "secret"),
                             "an empty secret would accept anyone's webhook: leave 'secret' out "
                             "to accept unsigned ones");
    }
    if (f->api_url == NULL && (size_t)f->type < sizeof(default_api) / sizeof(default_api[0]) &&
        default_api[f->type] != NULL) {
        f->api_url = sw_strdup(default_api[f->type]);
    }
    if (f->token != NULL && (f->api_url == NULL || f->repo == NULL)) {
        return sw_yaml_error(doc, m,
                             "a forge with a 'token' needs 'repo'%s to send commit statuses",
                             f->api_url == NULL ? " and 'api_url'" : "");
    }
    if (f->api_url != NULL) {
        size_t n = strlen(f->api_url);
        while (n > 0 && f->api_url[n - 1] == '/') {
            f->api_url[--n] = '\0';
        }
    }
    if (f->context == NULL) {
        f->context = sw_strdup("slipway");
    }
    return 0;
}

/* Names the runner sets itself: a secret may not take their place. */
static int reserved_env_name(const char *name)
{
    return strcmp(name, "CI") == 0 || strcmp(name, "HOME") == 0 || strcmp(name, "PATH") == 0 ||
           strcmp(name, "SLIPWAY") == 0 || strncmp(name, "SLIPWAY_", 8) == 0;
}

static int env_name_ok(const char *name)
{
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_')) {
        return 0;
    }
    for (const char *c = name + 1; *c; c++) {
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_')) {
            return 0;
        }
    }
    return 1;
}

/* The length of the longest line of value (a trailing '\r' does not count): the
 * masker masks each line of a multi-line value on its own. */
static size_t longest_line(const char *value)
{
    size_t best = 0;
    while (*value) {
        size_t n = strcspn(value, "\n");
        size_t len = n > 0 && value[n - 1] == '\r' ? n - 1 : n;
        best = len > best ? len : best;
        value += n + (value[n] == '\n');
    }
    return best;
}

/* A project's `secrets:` mapping of NAME: value. */
static int read_secrets(sw_project *p, const sw_yaml_doc *doc, const sw_yaml_node *m)
{
    int error;

    if (m == NULL) {
        return 0;
    }
    if (m->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, m, "'secrets' must be a mapping of NAME: value");
    }
    p->secrets = sw_calloc(m->nitems, sizeof(*p->secrets));
    for (size_t i = 0; i < m->nitems; i++) {
        const sw_yaml_node *v = m->items[i];
        sw_yaml_node at_key = {.line = v->key_line, .col = v->key_col};
        sw_secret *s = &p->secrets[p->nsecrets++];
        s->name = sw_strdup(v->key);
        if (!env_name_ok(s->name)) {
            return sw_yaml_error(doc, &at_key,
                                 "secret name '%s' is not an environment variable name "
                                 "([A-Za-z_][A-Za-z0-9_]*)",
                                 s->name);
        }
        if (reserved_env_name(s->name)) {
            return sw_yaml_error(doc, &at_key,
                                 "secret name '%s' is reserved: the runner sets CI, HOME, PATH, "
                                 "SLIPWAY and SLIPWAY_*",
                                 s->name);
        }
        if ((error = sw_config_read_secret(doc, v, s->name, &s->value)) < 0) {
            return error;
        }
        if (longest_line(s->value) < 4) {
            return sw_yaml_error(doc, v,
                                 "secret '%s' must be at least 4 characters long (a shorter one "
                                 "would turn ordinary text into *** all over the log)",
                                 s->name);
        }
    }
    return 0;
}

static int read_projects(sw_config *cfg, const sw_yaml_doc *doc)
{
    static const char *const keys[] = {"name",   "tenant", "repository", "default_ref",
                                       "region", "forge",  "secrets", "image", "git_token",
                                       "cancel_superseded", NULL};
    const sw_yaml_node *list;
    int error;
    if ((error = read_list(doc, doc->root, "projects", 0, &list)) < 0 || list == NULL) {
        return error;
    }
    cfg->projects = sw_calloc(list->nitems, sizeof(*cfg->projects));
    for (size_t i = 0; i < list->nitems; i++) {
        const sw_yaml_node *m = list->items[i];
        sw_project *p = &cfg->projects[cfg->nprojects++];
        if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
            (error = read_name(doc, m, "name", 1, &p->name)) < 0 ||
            (error = read_name(doc, m, "tenant", 1, &p->tenant)) < 0 ||
            (error = read_string(doc, m, "repository", 1, &p->repository)) < 0 ||
            (error = read_string(doc, m, "default_ref", 0, &p->default_ref)) < 0 ||
            (error = read_name(doc, m, "region", 0, &p->region)) < 0 ||
            (error = read_forge(&p->forge, doc, sw_yaml_get(m, "forge"))) < 0 ||
            (error = read_secrets(p, doc, sw_yaml_get(m, "secrets"))) < 0 ||
            (error = read_string(doc, m, "image", 0, &p->image)) < 0 ||
            (error = sw_config_read_secret(doc, sw_yaml_get(m, "git_token"), "git_token",
                                           &p->git_token)) < 0) {
            return error;
        }
        const sw_yaml_node *cs = sw_yaml_get(m, "cancel_superseded");
        int flag = 0;
        if (cs != NULL && (error = sw_yaml_bool(doc, cs, &flag)) < 0) {
            return error;
        }
        p->cancel_superseded = flag != 0;
        if (p->default_ref == NULL) {
            p->default_ref = sw_strdup("main");
        }
        if (p->image == NULL) {
            p->image = sw_asprintf("%s/%s", p->tenant, p->name);
        }
        for (const char *c = p->image; *c; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '/' ||
                  *c == '-' || *c == '_' || *c == '.')) {
                return sw_yaml_error(doc, sw_yaml_get(m, "image") ? sw_yaml_get(m, "image") : m,
                                     "the image name '%s' may hold only lowercase letters, "
                                     "digits and '/', '-', '_', '.'%s",
                                     p->image,
                                     sw_yaml_get(m, "image") ? ""
                                                             : " (it comes from the tenant and "
                                                               "project names: set 'image')");
            }
        }
        p->region_pinned = p->region != NULL;
        if (p->region == NULL) {
            p->region = sw_strdup(cfg->default_region);
        }
        if (sw_config_tenant(cfg, p->tenant) == NULL) {
            return sw_yaml_error(doc, sw_yaml_get(m, "tenant"), "no tenant named '%s'",
                                 p->tenant);
        }
        if ((error = UNIQUE(doc, m, "project", cfg->projects, cfg->nprojects)) < 0) {
            return error;
        }
    }
    return 0;
}

/* A PSI threshold: a percentage 0 to 100, or `off` (stored as -1). */
static int read_percent(const sw_yaml_doc *doc, const sw_yaml_node *node, double *out)
{
    uint64_t v;
    int error;
    if (node == NULL) {
        return 0;
    }
    if (node->type == SW_YAML_SCALAR && strcmp(node->value, "off") == 0) {
        *out = -1;
        return 0;
    }
    if ((error = sw_yaml_uint(doc, node, 100, &v)) < 0) {
        return sw_yaml_error(doc, node, "'%s' is a percentage from 0 to 100, or off",
                             node->key ? node->key : "pressure");
    }
    *out = (double)v;
    return 0;
}

/* A free-space floor: a size, or `off` / 0. */
static int read_floor(const sw_yaml_doc *doc, const sw_yaml_node *node, uint64_t *out)
{
    if (node != NULL && node->type == SW_YAML_SCALAR && strcmp(node->value, "off") == 0) {
        *out = 0;
        return 0;
    }
    return sw_yaml_size(doc, node, out);
}

/* A cluster's `pressure:` (see sw_pressure_limits); absent keys keep the defaults. */
static int read_pressure(sw_pressure_limits *p, const sw_yaml_doc *doc, const sw_yaml_node *m)
{
    static const char *const keys[] = {"cpu", "memory", "io", "min_memory_free",
                                       "min_disk_free", NULL};
    int error;

    p->cpu = 95;
    p->memory = 50;
    p->io = 95;
    p->min_memory_free = 256ull << 20;
    p->min_disk_free = 1ull << 30;
    if (m == NULL) {
        return 0;
    }
    if (m->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, m, "'pressure' must be a mapping (cpu, memory, io, "
                                     "min_memory_free, min_disk_free)");
    }
    if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
        (error = read_percent(doc, sw_yaml_get(m, "cpu"), &p->cpu)) < 0 ||
        (error = read_percent(doc, sw_yaml_get(m, "memory"), &p->memory)) < 0 ||
        (error = read_percent(doc, sw_yaml_get(m, "io"), &p->io)) < 0 ||
        (error = read_floor(doc, sw_yaml_get(m, "min_memory_free"), &p->min_memory_free)) < 0 ||
        (error = read_floor(doc, sw_yaml_get(m, "min_disk_free"), &p->min_disk_free)) < 0) {
        return error;
    }
    return 0;
}

static int read_clusters(sw_config *cfg, const sw_yaml_doc *doc)
{
    static const char *const keys[] = {"name",     "tier",      "region", "executor",
                                       "pressure", "autoscale", NULL};
    const sw_yaml_node *list;
    int error;
    if ((error = read_list(doc, doc->root, "clusters", 1, &list)) < 0) {
        return error;
    }
    cfg->clusters = sw_calloc(list->nitems, sizeof(*cfg->clusters));
    for (size_t i = 0; i < list->nitems; i++) {
        const sw_yaml_node *m = list->items[i];
        sw_cluster *c = &cfg->clusters[cfg->nclusters++];
        if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
            (error = read_name(doc, m, "name", 1, &c->name)) < 0 ||
            (error = read_name(doc, m, "tier", 1, &c->tier)) < 0 ||
            (error = read_name(doc, m, "region", 0, &c->region)) < 0 ||
            (error = read_name(doc, m, "executor", 0, &c->executor)) < 0 ||
            (error = read_pressure(&c->pressure, doc, sw_yaml_get(m, "pressure"))) < 0 ||
            (error = UNIQUE(doc, m, "cluster", cfg->clusters, cfg->nclusters)) < 0 ||
            (error = sw_config_read_autoscale(doc, sw_yaml_get(m, "autoscale"), c->name,
                                              &c->autoscale)) < 0) {
            return error;
        }
        if (c->region == NULL) {
            c->region = sw_strdup(cfg->default_region);
        }
        if (c->executor == NULL) {
            c->executor = sw_strdup("shell");
        }
        if (strcmp(c->executor, "shell") != 0 && strcmp(c->executor, "docker") != 0 &&
            strcmp(c->executor, "simulate") != 0) {
            return sw_yaml_error(doc, sw_yaml_get(m, "executor"),
                                 "unknown executor '%s' (shell, docker, or simulate: builds "
                                 "that run nothing, for measuring)", c->executor);
        }
        if (sw_config_tier(cfg, c->tier) == NULL) {
            return sw_yaml_error(doc, sw_yaml_get(m, "tier"), "no tier named '%s'", c->tier);
        }
    }
    return 0;
}

static int read_builders(sw_config *cfg, const sw_yaml_doc *doc)
{
    static const char *const keys[] = {"name", "cluster", "slots", NULL};
    const sw_yaml_node *list;
    int error;
    if ((error = read_list(doc, doc->root, "builders", 0, &list)) < 0 || list == NULL) {
        return error;
    }
    cfg->builders = sw_calloc(list->nitems, sizeof(*cfg->builders));
    for (size_t i = 0; i < list->nitems; i++) {
        const sw_yaml_node *m = list->items[i];
        sw_builder_config *b = &cfg->builders[cfg->nbuilders++];
        uint64_t slots = 1;
        if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
            (error = read_name(doc, m, "name", 1, &b->name)) < 0 ||
            (error = read_name(doc, m, "cluster", 1, &b->cluster)) < 0 ||
            (error = sw_yaml_uint(doc, sw_yaml_get(m, "slots"), 256, &slots)) < 0 ||
            (error = UNIQUE(doc, m, "builder", cfg->builders, cfg->nbuilders)) < 0) {
            return error;
        }
        if (slots == 0) {
            return sw_yaml_error(doc, sw_yaml_get(m, "slots"), "slots must be at least 1");
        }
        b->slots = (uint32_t)slots;
        if (sw_config_cluster(cfg, b->cluster) == NULL) {
            return sw_yaml_error(doc, sw_yaml_get(m, "cluster"), "no cluster named '%s'",
                                 b->cluster);
        }
    }
    return 0;
}

static int read_webhook(sw_config *cfg, const sw_yaml_doc *doc, const sw_yaml_node *m)
{
    static const char *const keys[] = {"listen", "max_body", "remember", "publish_timeout",
                                       "public_url", "full_retry_after", NULL};
    int error;

    cfg->webhook_max_body = 25ull << 20;
    cfg->webhook_remember_ms = 7ull * 24 * 3600 * 1000;
    cfg->webhook_publish_timeout_ms = 2000;
    cfg->webhook_full_retry_after_ms = 30000;
    if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
        (error = read_string(doc, m, "listen", 0, &cfg->webhook_listen)) < 0 ||
        (error = sw_yaml_size(doc, sw_yaml_get(m, "max_body"), &cfg->webhook_max_body)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(m, "remember"),
                                     &cfg->webhook_remember_ms)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(m, "publish_timeout"),
                                     &cfg->webhook_publish_timeout_ms)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(m, "full_retry_after"),
                                     &cfg->webhook_full_retry_after_ms)) < 0 ||
        (error = read_string(doc, m, "public_url", 0, &cfg->public_url)) < 0) {
        return error;
    }
    if (cfg->webhook_listen == NULL) {
        cfg->webhook_listen = sw_strdup("127.0.0.1:8080");
    }
    if (strrchr(cfg->webhook_listen, ':') == NULL) {
        return sw_yaml_error(doc, sw_yaml_get(m, "listen"), "'listen' must be HOST:PORT, not '%s'",
                             cfg->webhook_listen);
    }
    if (cfg->webhook_max_body == 0 || cfg->webhook_publish_timeout_ms == 0) {
        return sw_yaml_error(doc, m, "'max_body' and 'publish_timeout' must be above zero");
    }
    /* Retry-After is whole seconds: at least one, at most a day */
    if (cfg->webhook_full_retry_after_ms < 1000 ||
        cfg->webhook_full_retry_after_ms > 24ull * 3600 * 1000) {
        return sw_yaml_error(doc, sw_yaml_get(m, "full_retry_after"),
                             "'full_retry_after' must be between 1s and 24h");
    }
    /* The payload normalizer refuses bodies over 32 MiB (forges send at most
     * 25 MB: GitHub's cap). */
    if (cfg->webhook_max_body > (32ull << 20)) {
        return sw_yaml_error(doc, sw_yaml_get(m, "max_body"),
                             "'max_body' can be at most 32MiB (GitHub sends at most 25 MB)");
    }
    if (cfg->public_url == NULL) {
        cfg->public_url = sw_asprintf("http://%s", cfg->webhook_listen);
    }
    size_t n = strlen(cfg->public_url);
    while (n > 0 && cfg->public_url[n - 1] == '/') {
        cfg->public_url[--n] = '\0';
    }
    return 0;
}

static int read_notifier(sw_config *cfg, const sw_yaml_doc *doc, const sw_yaml_node *m)
{
    static const char *const keys[] = {"attempts", "timeout", "backoff", NULL};
    uint64_t attempts = 6;
    int error;

    cfg->notify_timeout_ms = 10000;
    cfg->notify_backoff_ms = 1000;
    if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
        (error = sw_yaml_uint(doc, sw_yaml_get(m, "attempts"), 100, &attempts)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(m, "timeout"), &cfg->notify_timeout_ms)) <
            0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(m, "backoff"), &cfg->notify_backoff_ms)) <
            0) {
        return error;
    }
    if (attempts == 0 || cfg->notify_timeout_ms == 0) {
        return sw_yaml_error(doc, m, "'attempts' and 'timeout' must be above zero");
    }
    cfg->notify_attempts = (uint32_t)attempts;
    return 0;
}

static int read_docker(sw_config *cfg, const sw_yaml_doc *doc, const sw_yaml_node *m)
{
    static const char *const keys[] = {"socket", "registry", "default_image", NULL};
    int error;
    if ((error = sw_yaml_check_keys(doc, m, keys)) < 0 ||
        (error = read_string(doc, m, "socket", 0, &cfg->docker_socket)) < 0 ||
        (error = read_string(doc, m, "registry", 0, &cfg->docker_registry)) < 0 ||
        (error = read_string(doc, m, "default_image", 0, &cfg->docker_default_image)) < 0) {
        return error;
    }
    if (cfg->docker_socket == NULL) {
        cfg->docker_socket = sw_strdup("/var/run/docker.sock");
    }
    if (cfg->docker_default_image == NULL) {
        cfg->docker_default_image = sw_strdup("slipway/busybox");
    }
    if (cfg->docker_registry != NULL) {
        size_t n = strlen(cfg->docker_registry);
        while (n > 0 && cfg->docker_registry[n - 1] == '/') {
            cfg->docker_registry[--n] = '\0';
        }
        if (n == 0 || strchr(cfg->docker_registry, ' ') != NULL ||
            strstr(cfg->docker_registry, "://") != NULL) {
            return sw_yaml_error(doc, sw_yaml_get(m, "registry"),
                                 "'registry' is HOST[:PORT][/PATH], e.g. 127.0.0.1:5000, not '%s'",
                                 cfg->docker_registry);
        }
    }
    return 0;
}

/* workspaces: how long a builder keeps a project's workspace unused, and how many
 * projects' workspaces one slot keeps (actors/builder/git/workspace.h). */
static int read_workspaces(sw_config *cfg, const sw_yaml_doc *doc, const sw_yaml_node *ws)
{
    static const char *const keys[] = {"keep_unused", "max_per_slot", NULL};
    uint64_t max = 8;
    int error;

    cfg->workspace_keep_unused_ms = 24ull * 3600 * 1000;
    if ((error = sw_yaml_check_keys(doc, ws, keys)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(ws, "keep_unused"),
                                     &cfg->workspace_keep_unused_ms)) < 0 ||
        (error = sw_yaml_uint(doc, sw_yaml_get(ws, "max_per_slot"), 10000, &max)) < 0) {
        return error;
    }
    if (max < 1) {
        return sw_yaml_error(doc, sw_yaml_get(ws, "max_per_slot"),
                             "workspaces.max_per_slot must be at least 1 (the build's own)");
    }
    cfg->workspace_max_per_slot = (uint32_t)max;
    return 0;
}

/* queues: the bounds of the work-queue streams; a publish past one is refused. */
static int read_queues(sw_config *cfg, const sw_yaml_doc *doc, const sw_yaml_node *queues)
{
    static const char *const keys[] = {"requests", "sched", "jobs", "max_bytes", NULL};
    const char *const names[] = {"requests", "sched", "jobs"};
    uint64_t *fields[] = {&cfg->queue_requests_max, &cfg->queue_sched_max, &cfg->queue_jobs_max};
    int error;

    cfg->queue_max_bytes = 1ull << 30;
    if ((error = sw_yaml_check_keys(doc, queues, keys)) < 0 ||
        (error = sw_yaml_size(doc, sw_yaml_get(queues, "max_bytes"), &cfg->queue_max_bytes)) < 0) {
        return error;
    }
    for (size_t i = 0; i < 3; i++) {
        uint64_t v = 100000;
        if ((error = sw_yaml_uint(doc, sw_yaml_get(queues, names[i]), 1ull << 40, &v)) < 0) {
            return error;
        }
        if (v < 1) {
            return sw_yaml_error(doc, sw_yaml_get(queues, names[i]),
                                 "queues.%s must be at least 1", names[i]);
        }
        *fields[i] = v;
    }
    return 0;
}

/* nats.url: one URL, several separated by commas, or a list of them; kept as
 * one comma-separated string (what sw_bus_options.url takes). Each URL is cut
 * of surrounding blanks; an empty one, or one with a blank inside, is refused. */
static int read_nats_url(sw_config *cfg, const sw_yaml_doc *doc, const sw_yaml_node *nats)
{
    const sw_yaml_node *node = sw_yaml_get(nats, "url");
    const sw_yaml_node *const *items = &node;
    size_t nitems = 1, len = 0;
    char *joined = NULL;
    int error = 0;

    if (node == NULL) {
        cfg->nats_url = sw_strdup("nats://127.0.0.1:4222");
        return 0;
    }
    if (node->type == SW_YAML_SEQ) {
        if (node->nitems == 0) {
            return sw_yaml_error(doc, node, "nats.url is an empty list");
        }
        items = (const sw_yaml_node *const *)node->items;
        nitems = node->nitems;
    }
    for (size_t i = 0; i < nitems && error == 0; i++) {
        char *text = NULL;
        if ((error = sw_yaml_string(doc, items[i], &text)) < 0) {
            break;
        }
        for (char *tok = text, *end; error == 0 && tok != NULL; tok = end) {
            if ((end = strchr(tok, ',')) != NULL) {
                *end++ = '\0';
            }
            while (*tok == ' ' || *tok == '\t') {
                tok++;
            }
            size_t n = strlen(tok);
            while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t')) {
                tok[--n] = '\0';
            }
            if (n == 0) {
                error = sw_yaml_error(doc, items[i], "nats.url names an empty URL");
            } else if (strpbrk(tok, " \t") != NULL) {
                error = sw_yaml_error(doc, items[i], "nats.url: '%s' has a blank inside", tok);
            } else {
                joined = sw_realloc(joined, len + n + 2);
                if (len > 0) {
                    joined[len++] = ',';
                }
                memcpy(joined + len, tok, n + 1);
                len += n;
            }
        }
        free(text);
    }
    if (error < 0) {
        free(joined);
        return error;
    }
    cfg->nats_url = joined;
    return 0;
}

static int read_top(sw_config *cfg, const sw_yaml_doc *doc)
{
    static const char *const keys[] = {"nats",     "data_dir", "work_dir", "timeouts",
                                       "retention", "webhook",  "notifier", "docker", "tiers",
                                       "tenants",  "projects", "clusters", "builders",
                                       "queues",   "drain_grace", "autoscale_lease", "web",
                                       "default_region", "regions", "routing", "workspaces",
                                       NULL};
    static const char *const nats_keys[] = {"url", "creds", "replicas", NULL};
    static const char *const timeout_keys[] = {"heartbeat_interval", "heartbeat_lapse",
                                               "max_deliveries", NULL};
    static const char *const retention_keys[] = {"logs_max_age", "logs_max_bytes",
                                                 "logs_build_max_chunks", "events_max_age",
                                                 NULL};
    const sw_yaml_node *nats, *timeouts, *retention;
    uint64_t v;
    int error;

    if (doc->root == NULL || doc->root->type != SW_YAML_MAP) {
        return sw_yaml_error(doc, doc->root, "the file must be a mapping of settings");
    }
    if ((error = sw_yaml_check_keys(doc, doc->root, keys)) < 0) {
        return error;
    }
    nats = sw_yaml_get(doc->root, "nats");
    if ((error = sw_yaml_check_keys(doc, nats, nats_keys)) < 0 ||
        (error = read_nats_url(cfg, doc, nats)) < 0 ||
        (error = read_string(doc, nats, "creds", 0, &cfg->nats_creds)) < 0 ||
        (error = read_string(doc, doc->root, "data_dir", 1, &cfg->data_dir)) < 0 ||
        (error = read_string(doc, doc->root, "work_dir", 0, &cfg->work_dir)) < 0) {
        return error;
    }
    v = 1;
    if ((error = sw_yaml_uint(doc, sw_yaml_get(nats, "replicas"), 5, &v)) < 0) {
        return error;
    }
    if (v < 1) {
        return sw_yaml_error(doc, sw_yaml_get(nats, "replicas"),
                             "nats.replicas must be 1 to 5 (JetStream keeps at most 5 copies)");
    }
    cfg->nats_replicas = (uint32_t)v;
    if (cfg->work_dir == NULL) {
        if (asprintf(&cfg->work_dir, "%s/work", cfg->data_dir) < 0) {
            abort();
        }
    }

    timeouts = sw_yaml_get(doc->root, "timeouts");
    cfg->heartbeat_interval_ms = 1000;
    cfg->heartbeat_lapse_ms = 10000;
    v = 3;
    if ((error = sw_yaml_check_keys(doc, timeouts, timeout_keys)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(timeouts, "heartbeat_interval"),
                                     &cfg->heartbeat_interval_ms)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(timeouts, "heartbeat_lapse"),
                                     &cfg->heartbeat_lapse_ms)) < 0 ||
        (error = sw_yaml_uint(doc, sw_yaml_get(timeouts, "max_deliveries"), 100, &v)) < 0) {
        return error;
    }
    cfg->max_deliveries = (uint32_t)v;
    if (cfg->heartbeat_interval_ms < 50 || cfg->max_deliveries < 1) {
        return sw_yaml_error(doc, timeouts,
                             "heartbeat_interval must be at least 50ms and max_deliveries at "
                             "least 1");
    }
    if (cfg->heartbeat_lapse_ms < 2 * cfg->heartbeat_interval_ms) {
        return sw_yaml_error(doc, sw_yaml_get(timeouts, "heartbeat_lapse"),
                             "heartbeat_lapse must be at least twice heartbeat_interval");
    }

    cfg->drain_grace_ms = 10ull * 60 * 1000;
    cfg->autoscale_lease_ms = 10000;
    if ((error = sw_yaml_duration_ms(doc, sw_yaml_get(doc->root, "drain_grace"),
                                     &cfg->drain_grace_ms)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(doc->root, "autoscale_lease"),
                                     &cfg->autoscale_lease_ms)) < 0) {
        return error;
    }

    retention = sw_yaml_get(doc->root, "retention");
    cfg->logs_max_age_ms = 7ull * 24 * 3600 * 1000;
    cfg->logs_max_bytes = 1ull << 30;
    cfg->events_max_age_ms = 30ull * 24 * 3600 * 1000;
    v = 2048;
    if ((error = sw_yaml_uint(doc, sw_yaml_get(retention, "logs_build_max_chunks"), 1u << 30,
                              &v)) < 0) {
        return error;
    }
    cfg->logs_build_max_chunks = v < 16 ? 16 : v;
    if ((error = sw_yaml_check_keys(doc, retention, retention_keys)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(retention, "logs_max_age"),
                                     &cfg->logs_max_age_ms)) < 0 ||
        (error = sw_yaml_size(doc, sw_yaml_get(retention, "logs_max_bytes"),
                              &cfg->logs_max_bytes)) < 0 ||
        (error = sw_yaml_duration_ms(doc, sw_yaml_get(retention, "events_max_age"),
                                     &cfg->events_max_age_ms)) < 0) {
        return error;
    }

    if ((error = read_queues(cfg, doc, sw_yaml_get(doc->root, "queues"))) < 0 ||
        (error = read_workspaces(cfg, doc, sw_yaml_get(doc->root, "workspaces"))) < 0 ||
        (error = read_docker(cfg, doc, sw_yaml_get(doc->root, "docker"))) < 0 ||
        (error = read_webhook(cfg, doc, sw_yaml_get(doc->root, "webhook"))) < 0 ||
        (error = sw_config_read_web(cfg, doc, sw_yaml_get(doc->root, "web"))) < 0 ||
        (error = read_notifier(cfg, doc, sw_yaml_get(doc->root, "notifier"))) < 0) {
        return error;
    }

    if ((error = sw_config_read_routing(cfg, doc)) < 0 ||
        (error = read_tiers(cfg, doc)) < 0 || (error = read_tenants(cfg, doc)) < 0 ||
        (error = read_projects(cfg, doc)) < 0 || (error = read_clusters(cfg, doc)) < 0 ||
        (error = read_builders(cfg, doc)) < 0) {
        return error;
    }
    return 0;
}

/* Builds a config from a parsed document; takes ownership of the document. */
static int from_doc(sw_config **out, sw_yaml_doc *doc)
{
    sw_config *cfg = sw_calloc(1, sizeof(*cfg));
    int error;

    cfg->refs_ = 1;
    cfg->path = sw_strdup(doc->name);
    error = read_top(cfg, doc);
    if (error == 0) {
        cfg->inline_secrets = sw_config_inline_secrets(doc);
    }
    sw_yaml_destroy(&doc);
    if (error < 0) {
        sw_config_destroy(&cfg);
        return error;
    }
    *out = cfg;
    return 0;
}

int sw_config_parse(sw_config **out, const char *text, size_t len, const char *name)
{
    sw_yaml_doc *doc = NULL;
    int error = sw_yaml_parse(&doc, text, len, name ? name : "<config>");
    return error < 0 ? error : from_doc(out, doc);
}

int sw_config_load(sw_config **out, const char *path)
{
    sw_yaml_doc *doc = NULL;
    int error = sw_yaml_load(&doc, path);
    return error < 0 ? error : from_doc(out, doc);
}

const sw_config *sw_config_retain(const sw_config *cfg)
{
    if (cfg != NULL) {
        /* a config that parse or load did not make (one on the stack) has none */
        assert(__atomic_load_n(&cfg->refs_, __ATOMIC_RELAXED) > 0);
        __atomic_add_fetch(&((sw_config *)cfg)->refs_, 1, __ATOMIC_RELAXED);
    }
    return cfg;
}

static void config_free(sw_config *cfg);

void sw_config_release(const sw_config **cfg_p)
{
    sw_config *cfg;
    if (cfg_p == NULL || (cfg = (sw_config *)*cfg_p) == NULL) {
        return;
    }
    *cfg_p = NULL;
    assert(__atomic_load_n(&cfg->refs_, __ATOMIC_RELAXED) > 0);
    /* acq_rel: every reader's last look happens before the free */
    if (__atomic_sub_fetch(&cfg->refs_, 1, __ATOMIC_ACQ_REL) == 0) {
        config_free(cfg);
    }
}

void sw_config_destroy(sw_config **cfg_p)
{
    if (cfg_p != NULL) {
        const sw_config *cfg = *cfg_p;
        *cfg_p = NULL;
        sw_config_release(&cfg);
    }
}

static void config_free(sw_config *cfg)
{
    sw_config_free_web(cfg);
    sw_config_free_routing(cfg);
    free(cfg->inline_secrets);
    for (size_t i = 0; i < cfg->ntiers; i++) {
        free(cfg->tiers[i].name);
    }
    for (size_t i = 0; i < cfg->ntenants; i++) {
        free(cfg->tenants[i].name);
        free(cfg->tenants[i].tier);
    }
    for (size_t i = 0; i < cfg->nprojects; i++) {
        free(cfg->projects[i].name);
        free(cfg->projects[i].tenant);
        free(cfg->projects[i].repository);
        free(cfg->projects[i].default_ref);
        free(cfg->projects[i].region);
        free(cfg->projects[i].forge.repo);
        free(cfg->projects[i].forge.secret);
        free(cfg->projects[i].forge.token);
        free(cfg->projects[i].forge.api_url);
        free(cfg->projects[i].forge.context);
        for (size_t j = 0; j < cfg->projects[i].nsecrets; j++) {
            free(cfg->projects[i].secrets[j].name);
            free(cfg->projects[i].secrets[j].value);
        }
        free(cfg->projects[i].secrets);
        free(cfg->projects[i].image);
        free(cfg->projects[i].git_token);
    }
    for (size_t i = 0; i < cfg->nclusters; i++) {
        free(cfg->clusters[i].name);
        free(cfg->clusters[i].tier);
        free(cfg->clusters[i].region);
        free(cfg->clusters[i].executor);
        sw_config_free_autoscale(cfg->clusters[i].autoscale);
    }
    for (size_t i = 0; i < cfg->nbuilders; i++) {
        free(cfg->builders[i].name);
        free(cfg->builders[i].cluster);
    }
    free(cfg->tiers);
    free(cfg->tenants);
    free(cfg->projects);
    free(cfg->clusters);
    free(cfg->builders);
    free(cfg->path);
    free(cfg->nats_url);
    free(cfg->nats_creds);
    free(cfg->data_dir);
    free(cfg->work_dir);
    free(cfg->webhook_listen);
    free(cfg->public_url);
    free(cfg->docker_socket);
    free(cfg->docker_registry);
    free(cfg->docker_default_image);
    free(cfg);
}

#define FIND(array, count, key)                                                                    \
    do {                                                                                           \
        if (key == NULL) {                                                                         \
            return NULL;                                                                           \
        }                                                                                          \
        for (size_t i_ = 0; i_ < (count); i_++) {                                                  \
            if (strcmp((array)[i_].name, key) == 0) {                                              \
                return &(array)[i_];                                                               \
            }                                                                                      \
        }                                                                                          \
        return NULL;                                                                               \
    } while (0)

const sw_tier *sw_config_tier(const sw_config *cfg, const char *name)
{
    FIND(cfg->tiers, cfg->ntiers, name);
}

const sw_tenant *sw_config_tenant(const sw_config *cfg, const char *name)
{
    FIND(cfg->tenants, cfg->ntenants, name);
}

const sw_project *sw_config_project(const sw_config *cfg, const char *name)
{
    FIND(cfg->projects, cfg->nprojects, name);
}

const sw_cluster *sw_config_cluster(const sw_config *cfg, const char *name)
{
    FIND(cfg->clusters, cfg->nclusters, name);
}

const sw_builder_config *sw_config_builder(const sw_config *cfg, const char *name)
{
    FIND(cfg->builders, cfg->nbuilders, name);
}

const sw_cluster *sw_config_autoscaled_cluster(const sw_config *cfg, const char *name)
{
    for (size_t i = 0; name != NULL && i < cfg->nclusters; i++) {
        const sw_autoscale *as = cfg->clusters[i].autoscale;
        if (as != NULL && sw_config_generated_name(as->name_prefix, name)) {
            return &cfg->clusters[i];
        }
    }
    return NULL;
}

int sw_config_builder_resolve(const sw_config *cfg, const char *name, sw_builder_config *out)
{
    const sw_builder_config *listed = sw_config_builder(cfg, name);
    const sw_cluster *c;
    if (listed != NULL) {
        *out = *listed;
        return 0;
    }
    if ((c = sw_config_autoscaled_cluster(cfg, name)) == NULL) {
        return sw_error_set(SW_ENOTFOUND, "no builder named '%s' in %s (neither under "
                                          "builders: nor an autoscaled cluster's name)",
                            name, cfg->path);
    }
    out->name = (char *)name;
    out->cluster = c->name;
    out->slots = c->autoscale->slots;
    return 0;
}

const sw_tier *sw_config_project_tier(const sw_config *cfg, const sw_project *project)
{
    const sw_tenant *tenant = sw_config_tenant(cfg, project->tenant);
    return tenant ? sw_config_tier(cfg, tenant->tier) : NULL;
}
