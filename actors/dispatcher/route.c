/* route.c - where a build goes (see route.h). */
#include "actors/dispatcher/route.h"

#include "runtime/core/mem.h"
#include "runtime/regions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A host whose weight falls below this is forgotten. */
#define MIN_WEIGHT 0.01

double sw_route_decay(uint32_t half_life)
{
    return pow(0.5, 1.0 / (half_life > 0 ? half_life : 1));
}

static bool recent_has(const Slipway__RouteMix *mix, const char *build_id)
{
    for (size_t i = 0; i < mix->n_recent; i++) {
        if (strcmp(mix->recent[i], build_id) == 0) {
            return true;
        }
    }
    return false;
}

static void recent_push(Slipway__RouteMix *mix, const char *build_id)
{
    if (mix->n_recent == SW_ROUTE_RECENT) {
        free(mix->recent[0]);
        memmove(mix->recent, mix->recent + 1, (mix->n_recent - 1) * sizeof(*mix->recent));
        mix->n_recent--;
    } else {
        mix->recent = sw_realloc(mix->recent, (mix->n_recent + 1) * sizeof(*mix->recent));
    }
    mix->recent[mix->n_recent++] = sw_strdup(build_id);
}

static Slipway__RouteHost *host_of(Slipway__RouteMix *mix, const char *host)
{
    for (size_t i = 0; i < mix->n_hosts; i++) {
        if (strcmp(mix->hosts[i]->host, host) == 0) {
            return mix->hosts[i];
        }
    }
    Slipway__RouteHost *h = sw_calloc(1, sizeof(*h));
    slipway__route_host__init(h);
    h->host = sw_strdup(host);
    mix->hosts = sw_realloc(mix->hosts, (mix->n_hosts + 1) * sizeof(*mix->hosts));
    mix->hosts[mix->n_hosts++] = h;
    return h;
}

static int heavier_first(const void *a, const void *b)
{
    const Slipway__RouteHost *x = *(Slipway__RouteHost *const *)a;
    const Slipway__RouteHost *y = *(Slipway__RouteHost *const *)b;
    if (x->weight != y->weight) {
        return x->weight > y->weight ? -1 : 1;
    }
    return strcmp(x->host, y->host);
}

bool sw_route_learn(Slipway__RouteMix *mix, const char *build_id,
                    const Slipway__SourceProfile *profile, uint32_t half_life)
{
    double k = sw_route_decay(half_life);

    if (build_id == NULL || build_id[0] == '\0' || recent_has(mix, build_id)) {
        return false;
    }
    for (size_t i = 0; i < mix->n_hosts; i++) {
        mix->hosts[i]->weight *= k;
    }
    mix->builds = mix->builds * k + 1;
    mix->learned++;
    for (size_t i = 0; profile != NULL && i < profile->n_sources; i++) {
        const char *host = profile->sources[i]->host;
        if (host != NULL && host[0] != '\0') {
            host_of(mix, host)->weight += 1;
        }
    }
    if (mix->n_hosts > 1) { /* qsort of NULL, even of none, is undefined */
        qsort(mix->hosts, mix->n_hosts, sizeof(*mix->hosts), heavier_first);
    }
    while (mix->n_hosts > 0 && (mix->n_hosts > SW_ROUTE_MAX_HOSTS ||
                                mix->hosts[mix->n_hosts - 1]->weight < MIN_WEIGHT)) {
        slipway__route_host__free_unpacked(mix->hosts[--mix->n_hosts], NULL);
    }
    recent_push(mix, build_id);
    return true;
}

/* --- the decision ---------------------------------------------------------- */

typedef struct tally {
    const char *region;
    double weight;
} tally;

/* A weight as a count when it is one: "6", else "5.7". */
static const char *fmt_weight(char *buf, size_t n, double w)
{
    if (fabs(w - round(w)) < 0.05) {
        snprintf(buf, n, "%.0f", round(w));
    } else {
        snprintf(buf, n, "%.1f", w);
    }
    return buf;
}

static const sw_cluster *cluster_in(const sw_config *cfg, const char *tier, const char *region)
{
    for (size_t i = 0; i < cfg->nclusters; i++) {
        if (strcmp(cfg->clusters[i].tier, tier) == 0 &&
            strcmp(cfg->clusters[i].region, region) == 0) {
            return &cfg->clusters[i];
        }
    }
    return NULL;
}

/* Sums mix's weights per region into t (at most cap regions); *total gets all
 * of them, the unknown hosts' too. Returns how many regions t holds. */
static size_t tally_mix(const sw_config *cfg, const Slipway__RouteMix *mix, tally *t, size_t cap,
                        double *total)
{
    size_t n = 0;
    *total = 0;
    for (size_t i = 0; i < mix->n_hosts; i++) {
        const char *region = sw_region_of(cfg, mix->hosts[i]->host);
        *total += mix->hosts[i]->weight;
        if (region == NULL) {
            continue;
        }
        size_t j = 0;
        while (j < n && strcmp(t[j].region, region) != 0) {
            j++;
        }
        if (j == n) {
            if (n == cap) {
                continue;
            }
            t[n].region = region;
            t[n].weight = 0;
            n++;
        }
        t[j].weight += mix->hosts[i]->weight;
    }
    return n;
}

/* The heaviest region; a tie keeps home if it is in it, else the first by name. */
static const tally *top_of(const tally *t, size_t n, const char *home)
{
    const tally *top = NULL;
    for (size_t i = 0; i < n; i++) {
        if (t[i].weight <= 0) {
            continue;
        }
        if (top == NULL || t[i].weight > top->weight + 1e-9) {
            top = &t[i];
        } else if (fabs(t[i].weight - top->weight) <= 1e-9 && strcmp(top->region, home) != 0 &&
                   (strcmp(t[i].region, home) == 0 || strcmp(t[i].region, top->region) < 0)) {
            top = &t[i];
        }
    }
    return top;
}

/* "pypi.org ×6, docker.io ×3" for region's hosts, heaviest first (mix is kept sorted). */
static void hosts_of(const sw_config *cfg, const Slipway__RouteMix *mix, const char *region,
                     char *buf, size_t n)
{
    size_t used = 0, shown = 0, more = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < mix->n_hosts; i++) {
        const char *r = sw_region_of(cfg, mix->hosts[i]->host);
        char w[32];
        if (r == NULL || strcmp(r, region) != 0) {
            continue;
        }
        if (shown == 4) {
            more++;
            continue;
        }
        int k = snprintf(buf + used, n - used, "%s%s ×%s", shown ? ", " : "",
                         mix->hosts[i]->host, fmt_weight(w, sizeof(w), mix->hosts[i]->weight));
        if (k < 0 || (size_t)k >= n - used) {
            break;
        }
        used += (size_t)k;
        shown++;
    }
    if (more > 0 && used < n) {
        snprintf(buf + used, n - used, ", %zu more", more);
    }
}

void sw_route_decide(const sw_config *cfg, const char *tier, const Slipway__Job *job,
                     const Slipway__RouteMix *mix, sw_route *out)
{
    tally t[16];
    double total;
    char a[32], b[32], hosts[256];

    out->region = job->region;
    out->learned = false;
    if (job->region_pinned) {
        snprintf(out->reason, sizeof(out->reason), "region %s: set by project %s's region:",
                 job->region, job->project);
        return;
    }
    if (!cfg->routing_learn) {
        snprintf(out->reason, sizeof(out->reason),
                 "region %s: the default region (routing.learn is off)", job->region);
        return;
    }
    if (mix == NULL || mix->learned == 0) {
        snprintf(out->reason, sizeof(out->reason),
                 "region %s: the default region (no build of %s has told its sources yet)",
                 job->region, job->project);
        return;
    }
    size_t n = tally_mix(cfg, mix, t, sizeof(t) / sizeof(t[0]), &total);
    const tally *top = top_of(t, n, job->region);
    if (top == NULL) {
        snprintf(out->reason, sizeof(out->reason),
                 "region %s: the default region (none of the sources of %s's last %u builds "
                 "is in a known region)",
                 job->region, job->project, mix->learned);
        return;
    }
    hosts_of(cfg, mix, top->region, hosts, sizeof(hosts));
    const sw_cluster *c = cluster_in(cfg, tier, top->region);
    if (c == NULL) {
        snprintf(out->reason, sizeof(out->reason),
                 "region %s: most sources are in %s (%s of %s: %s), where tier %s has no "
                 "cluster",
                 job->region, top->region, fmt_weight(a, sizeof(a), top->weight),
                 fmt_weight(b, sizeof(b), total), hosts, tier);
        return;
    }
    out->region = c->region;
    out->learned = true;
    snprintf(out->reason, sizeof(out->reason),
             "region %s: %s of %s sources (%s) over %u build%s, newest weighing most",
             c->region, fmt_weight(a, sizeof(a), top->weight), fmt_weight(b, sizeof(b), total),
             hosts, mix->learned, mix->learned == 1 ? "" : "s");
}
