/* quotas.c - the gateway's view of max_queued (see quotas.h). */
#include "actors/webhook/quotas.h"

#include "runtime/core/mem.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *tenant;
    uint32_t queued; /* the scheduler's figure plus what was accepted since */
    uint32_t max_queued;
    int64_t heard_ms;
} entry;

struct sw_quotas {
    entry *entries;
    size_t n;
};

sw_quotas *sw_quotas_create(void)
{
    return sw_calloc(1, sizeof(sw_quotas));
}

void sw_quotas_destroy(sw_quotas **q_p)
{
    if (q_p == NULL || *q_p == NULL) {
        return;
    }
    for (size_t i = 0; i < (*q_p)->n; i++) {
        free((*q_p)->entries[i].tenant);
    }
    free((*q_p)->entries);
    free(*q_p);
    *q_p = NULL;
}

static entry *find(const sw_quotas *q, const char *tenant)
{
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(q->entries[i].tenant, tenant) == 0) {
            return &q->entries[i];
        }
    }
    return NULL;
}

void sw_quotas_note(sw_quotas *q, const char *tenant, uint32_t queued, uint32_t max_queued,
                    int64_t now_ms)
{
    entry *e = find(q, tenant);
    if (e == NULL) {
        q->entries = sw_realloc(q->entries, (q->n + 1) * sizeof(*q->entries));
        e = &q->entries[q->n++];
        e->tenant = sw_strdup(tenant);
    }
    e->queued = queued;
    e->max_queued = max_queued;
    e->heard_ms = now_ms;
}

void sw_quotas_accepted(sw_quotas *q, const char *tenant)
{
    entry *e = find(q, tenant);
    if (e != NULL && e->queued < UINT32_MAX) {
        e->queued++;
    }
}

bool sw_quotas_over(const sw_quotas *q, const char *tenant, int64_t now_ms,
                    uint32_t *queued_out, uint32_t *max_out)
{
    const entry *e = find(q, tenant);
    if (e == NULL || e->max_queued == 0 || now_ms - e->heard_ms > SW_QUOTAS_FRESH_MS) {
        return false;
    }
    if (queued_out != NULL) {
        *queued_out = e->queued;
    }
    if (max_out != NULL) {
        *max_out = e->max_queued;
    }
    return e->queued >= e->max_queued;
}
