/* reload.c - what a reloaded slipway.yaml changes (see reload.h). */
#include "runtime/reload.h"

#include "runtime/core/mem.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAKES_EFFECT "takes effect at the next restart"

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void add_restart(sw_reload *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_restart(sw_reload *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    r->restart = sw_realloc(r->restart, (r->nrestart + 1) * sizeof(*r->restart));
    r->restart[r->nrestart++] = sw_strdup(line);
}

/* Appends to a growing string. */
static void cat(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cat(char **s, const char *fmt, ...)
{
    char part[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(part, sizeof(part), fmt, ap);
    va_end(ap);
    char *joined = sw_asprintf("%s%s", *s ? *s : "", part);
    free(*s);
    *s = joined;
}

/* --- settings read only at start: kept at their running values --------------- */

static void keep_str(sw_reload *r, char **next, const char *running, const char *key)
{
    if (!same_str(*next, running)) {
        add_restart(r, "%s changed: " TAKES_EFFECT, key);
        free(*next);
        *next = running ? sw_strdup(running) : NULL;
    }
}

static void keep_u64(sw_reload *r, uint64_t *next, uint64_t running, const char *key)
{
    if (*next != running) {
        add_restart(r, "%s changed: " TAKES_EFFECT, key);
        *next = running;
    }
}

/* web.listen (runtime/config_web.c) is taken at start, like webhook.listen;
 * a public_url left to its default follows the address kept. */
static void keep_web_listen(sw_reload *r, sw_config *next, const sw_config *running)
{
    if (same_str(next->web_listen, running->web_listen)) {
        return;
    }
    char *dflt = sw_asprintf("http://%s",
                             next->web_listen ? next->web_listen : next->webhook_listen);
    if (same_str(next->public_url, dflt)) {
        free(next->public_url);
        next->public_url = sw_asprintf("http://%s", running->web_listen ? running->web_listen
                                                                         : running->webhook_listen);
    }
    free(dflt);
    keep_str(r, &next->web_listen, running->web_listen, "web.listen");
}

static void keep_start_settings(sw_reload *r, sw_config *next, const sw_config *running)
{
    uint64_t deliveries = next->max_deliveries;

    keep_str(r, &next->nats_url, running->nats_url, "nats.url");
    keep_str(r, &next->data_dir, running->data_dir, "data_dir");
    keep_str(r, &next->work_dir, running->work_dir, "work_dir");
    if (!same_str(next->webhook_listen, running->webhook_listen)) {
        /* a public_url left to its default follows the listen address kept */
        char *dflt = sw_asprintf("http://%s", next->webhook_listen);
        if (same_str(next->public_url, dflt)) {
            free(next->public_url);
            next->public_url = sw_asprintf("http://%s", running->webhook_listen);
        }
        free(dflt);
    }
    keep_str(r, &next->webhook_listen, running->webhook_listen, "webhook.listen");
    keep_web_listen(r, next, running);
    keep_str(r, &next->docker_socket, running->docker_socket, "docker.socket");
    keep_u64(r, &next->heartbeat_interval_ms, running->heartbeat_interval_ms,
             "timeouts.heartbeat_interval");
    keep_u64(r, &next->heartbeat_lapse_ms, running->heartbeat_lapse_ms,
             "timeouts.heartbeat_lapse");
    keep_u64(r, &deliveries, running->max_deliveries, "timeouts.max_deliveries");
    next->max_deliveries = (uint32_t)deliveries;
    uint64_t replicas = next->nats_replicas;
    keep_u64(r, &replicas, running->nats_replicas, "nats.replicas");
    next->nats_replicas = (uint32_t)replicas;
    keep_u64(r, &next->logs_max_age_ms, running->logs_max_age_ms, "retention.logs_max_age");
    keep_u64(r, &next->logs_max_bytes, running->logs_max_bytes, "retention.logs_max_bytes");
    keep_u64(r, &next->logs_build_max_chunks, running->logs_build_max_chunks,
             "retention.logs_build_max_chunks");
    keep_u64(r, &next->events_max_age_ms, running->events_max_age_ms,
             "retention.events_max_age");
    keep_u64(r, &next->queue_requests_max, running->queue_requests_max, "queues.requests");
    keep_u64(r, &next->queue_sched_max, running->queue_sched_max, "queues.sched");
    keep_u64(r, &next->queue_jobs_max, running->queue_jobs_max, "queues.jobs");
    keep_u64(r, &next->queue_max_bytes, running->queue_max_bytes, "queues.max_bytes");
}

/* --- what the actors host: reported, kept by the actors themselves ------------ */

static void hosted_shape(sw_reload *r, const sw_config *next, const sw_config *running)
{
    for (size_t i = 0; i < next->ntiers; i++) {
        if (sw_config_tier(running, next->tiers[i].name) == NULL) {
            add_restart(r, "tier '%s' added: its dispatcher starts at the next restart",
                        next->tiers[i].name);
        }
    }
    for (size_t i = 0; i < running->ntiers; i++) {
        if (sw_config_tier(next, running->tiers[i].name) == NULL) {
            add_restart(r, "tier '%s' removed: its dispatcher stops at the next restart",
                        running->tiers[i].name);
        }
    }
    for (size_t i = 0; i < next->nclusters; i++) {
        const sw_cluster *c = &next->clusters[i], *was = sw_config_cluster(running, c->name);
        if (was == NULL) {
            add_restart(r, "cluster '%s' added: " TAKES_EFFECT, c->name);
        } else if (!same_str(c->executor, was->executor)) {
            add_restart(r, "clusters[%s].executor changed: " TAKES_EFFECT, c->name);
        }
    }
    for (size_t i = 0; i < running->nclusters; i++) {
        if (sw_config_cluster(next, running->clusters[i].name) == NULL) {
            add_restart(r, "cluster '%s' removed: " TAKES_EFFECT, running->clusters[i].name);
        }
    }
    for (size_t i = 0; i < next->nbuilders; i++) {
        const sw_builder_config *b = &next->builders[i];
        const sw_builder_config *was = sw_config_builder(running, b->name);
        if (was == NULL) {
            add_restart(r, "builder '%s' added: " TAKES_EFFECT, b->name);
            continue;
        }
        if (!same_str(b->cluster, was->cluster)) {
            add_restart(r, "builders[%s].cluster changed: " TAKES_EFFECT, b->name);
        }
        if (b->slots != was->slots) {
            add_restart(r, "builders[%s].slots changed: " TAKES_EFFECT, b->name);
        }
    }
    for (size_t i = 0; i < running->nbuilders; i++) {
        if (sw_config_builder(next, running->builders[i].name) == NULL) {
            add_restart(r, "builder '%s' removed: " TAKES_EFFECT, running->builders[i].name);
        }
    }
}

/* --- the summary -------------------------------------------------------------- */

static bool same_forge(const sw_forge_config *a, const sw_forge_config *b)
{
    return a->type == b->type && same_str(a->repo, b->repo) && same_str(a->secret, b->secret) &&
           same_str(a->token, b->token) && same_str(a->api_url, b->api_url) &&
           same_str(a->context, b->context);
}

static bool same_project(const sw_project *a, const sw_project *b)
{
    if (!same_str(a->tenant, b->tenant) || !same_str(a->repository, b->repository) ||
        !same_str(a->default_ref, b->default_ref) || !same_str(a->region, b->region) ||
        !same_forge(&a->forge, &b->forge) || !same_str(a->image, b->image) ||
        !same_str(a->git_token, b->git_token) || a->nsecrets != b->nsecrets ||
        a->cancel_superseded != b->cancel_superseded) {
        return false;
    }
    for (size_t i = 0; i < a->nsecrets; i++) {
        if (!same_str(a->secrets[i].name, b->secrets[i].name) ||
            !same_str(a->secrets[i].value, b->secrets[i].value)) {
            return false;
        }
    }
    return true;
}

static bool same_tier(const sw_tier *a, const sw_tier *b)
{
    return a->memory_bytes == b->memory_bytes && a->pids == b->pids &&
           a->cpu_millis == b->cpu_millis && a->timeout_ms == b->timeout_ms &&
           a->log_max_bytes == b->log_max_bytes && a->max_running == b->max_running &&
           a->max_queued == b->max_queued && a->lookahead == b->lookahead && a->hold == b->hold;
}

static bool same_tenant(const sw_tenant *a, const sw_tenant *b)
{
    return same_str(a->tier, b->tier);
}

static bool same_cluster(const sw_cluster *a, const sw_cluster *b)
{
    return same_str(a->tier, b->tier) && same_str(a->region, b->region) &&
           same_str(a->executor, b->executor) && a->pressure.cpu == b->pressure.cpu &&
           a->pressure.memory == b->pressure.memory && a->pressure.io == b->pressure.io &&
           a->pressure.min_memory_free == b->pressure.min_memory_free &&
           a->pressure.min_disk_free == b->pressure.min_disk_free;
}

static bool same_builder(const sw_builder_config *a, const sw_builder_config *b)
{
    return same_str(a->cluster, b->cluster) && a->slots == b->slots;
}

/* One list of the summary: "3 projects (+a, -b, ~c)". The entries are arrays of
 * structs whose first member is the name; find looks one up in the other config. */
typedef const void *(*find_fn)(const sw_config *cfg, const char *name);
typedef bool (*same_fn)(const void *a, const void *b);

static void summarize(char **s, const char *what, const char *whats, const void *next_items,
                      size_t next_n, const void *run_items, size_t run_n, size_t stride,
                      const sw_config *next, const sw_config *running, find_fn find,
                      same_fn same)
{
    char *changes = NULL;
    for (size_t i = 0; i < next_n; i++) {
        const void *item = (const char *)next_items + i * stride;
        const char *name = *(char *const *)item;
        const void *was = find(running, name);
        if (was == NULL || !same(item, was)) {
            cat(&changes, "%s%c%s", changes ? ", " : "", was == NULL ? '+' : '~', name);
        }
    }
    for (size_t i = 0; i < run_n; i++) {
        const char *name = *(char *const *)((const char *)run_items + i * stride);
        if (find(next, name) == NULL) {
            cat(&changes, "%s-%s", changes ? ", " : "", name);
        }
    }
    cat(s, "%s%zu %s", *s ? ", " : "", next_n, next_n == 1 ? what : whats);
    if (changes != NULL) {
        cat(s, " (%s)", changes);
        free(changes);
    }
}

/* find_<kind> and same_<kind>_item: the look-up and comparison of one kind of entry */
#define ENTRY_FNS(kind)                                                                            \
    static const void *find_##kind(const sw_config *cfg, const char *name)                         \
    {                                                                                              \
        return sw_config_##kind(cfg, name);                                                        \
    }                                                                                              \
    static bool same_##kind##_item(const void *a, const void *b)                                   \
    {                                                                                              \
        return same_##kind(a, b);                                                                  \
    }

ENTRY_FNS(project)
ENTRY_FNS(tenant)
ENTRY_FNS(tier)
ENTRY_FNS(cluster)
ENTRY_FNS(builder)

static void summary(sw_reload *r, const sw_config *next, const sw_config *running)
{
    char *s = NULL;
    summarize(&s, "project", "projects", next->projects, next->nprojects, running->projects,
              running->nprojects, sizeof(sw_project), next, running, find_project,
              same_project_item);
    summarize(&s, "tenant", "tenants", next->tenants, next->ntenants, running->tenants,
              running->ntenants, sizeof(sw_tenant), next, running, find_tenant,
              same_tenant_item);
    summarize(&s, "tier", "tiers", next->tiers, next->ntiers, running->tiers, running->ntiers,
              sizeof(sw_tier), next, running, find_tier, same_tier_item);
    summarize(&s, "cluster", "clusters", next->clusters, next->nclusters, running->clusters,
              running->nclusters, sizeof(sw_cluster), next, running, find_cluster,
              same_cluster_item);
    summarize(&s, "builder", "builders", next->builders, next->nbuilders, running->builders,
              running->nbuilders, sizeof(sw_builder_config), next, running,
              find_builder, same_builder_item);
    if (next->webhook_max_body != running->webhook_max_body ||
        next->webhook_remember_ms != running->webhook_remember_ms ||
        next->webhook_publish_timeout_ms != running->webhook_publish_timeout_ms ||
        next->webhook_full_retry_after_ms != running->webhook_full_retry_after_ms ||
        !same_str(next->public_url, running->public_url)) {
        cat(&s, "; webhook settings changed");
    }
    if (next->drain_grace_ms != running->drain_grace_ms) {
        cat(&s, "; drain_grace changed");
    }
    if (next->notify_attempts != running->notify_attempts ||
        next->notify_timeout_ms != running->notify_timeout_ms ||
        next->notify_backoff_ms != running->notify_backoff_ms) {
        cat(&s, "; notifier settings changed");
    }
    if (!same_str(next->docker_registry, running->docker_registry) ||
        !same_str(next->docker_default_image, running->docker_default_image)) {
        cat(&s, "; docker settings changed");
    }
    r->summary = s;
}

void sw_reload_compare(sw_reload *out, sw_config *next, const sw_config *running)
{
    memset(out, 0, sizeof(*out));
    keep_start_settings(out, next, running);
    hosted_shape(out, next, running);
    summary(out, next, running);
}

void sw_reload_finish(sw_reload *r)
{
    for (size_t i = 0; i < r->nrestart; i++) {
        free(r->restart[i]);
    }
    free(r->restart);
    free(r->summary);
    memset(r, 0, sizeof(*r));
}
