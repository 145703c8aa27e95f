/*
 * pool.c - an autoscaled cluster's builders as the autoscaler knows them (see
 * pool.h).
 */
#include "actors/autoscaler/pool.h"

#include "runtime/core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sw_member *sw_pool_find(sw_pool *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->m[i].name, name) == 0) {
            return &p->m[i];
        }
    }
    return NULL;
}

sw_member *sw_pool_add(sw_pool *p, const char *name)
{
    sw_member *m;
    p->m = sw_realloc(p->m, (p->n + 1) * sizeof(*p->m));
    m = &p->m[p->n++];
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    return m;
}

void sw_pool_remove(sw_pool *p, sw_member *m)
{
    size_t i = (size_t)(m - p->m);
    memmove(&p->m[i], &p->m[i + 1], (p->n - i - 1) * sizeof(*p->m));
    p->n--;
}

void sw_pool_free(sw_pool *p)
{
    free(p->m);
    p->m = NULL;
    p->n = 0;
    if (p->seen != NULL) {
        slipway__pool_status__free_unpacked(p->seen, NULL);
        p->seen = NULL;
    }
}

static bool fresh(const sw_member *m, int64_t now_ms, int64_t lapse_ms)
{
    return m->hb_ms > 0 && now_ms - m->hb_ms <= lapse_ms;
}

size_t sw_pool_view(const sw_pool *p, int64_t now_ms, int64_t lapse_ms, sw_pool_member *out,
                    size_t *index)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        const sw_member *m = &p->m[i];
        if (m->gone) {
            continue;
        }
        if (m->destroying) {
            /* a scale-in under way until it is gone: the next one waits */
            out[k] = (sw_pool_member){.name = m->name, .heartbeat = true, .draining = true,
                                      .by_us = m->drain_asked, .managed = true};
            index[k++] = i;
            continue;
        }
        out[k] = (sw_pool_member){
            .name = m->name,
            .slots = m->slots,
            .busy = m->busy,
            .heartbeat = fresh(m, now_ms, lapse_ms),
            .starting = m->starting,
            .draining = m->draining || m->drain_asked,
            .by_us = m->by_us || m->drain_asked,
            .managed = m->managed,
            .idle_since_ms = m->idle_since_ms,
        };
        index[k++] = i;
    }
    return k;
}

const char *sw_member_state(const sw_member *m, int64_t now_ms, int64_t lapse_ms)
{
    if (m->gone) {
        return "gone";
    }
    if (m->destroying) {
        return "destroying";
    }
    if (m->starting) {
        return "starting";
    }
    if (!fresh(m, now_ms, lapse_ms)) {
        return "silent";
    }
    if (m->drained) {
        return "drained";
    }
    if (m->draining || m->drain_asked) {
        return "draining";
    }
    return m->busy > 0 ? "busy" : "ready";
}
