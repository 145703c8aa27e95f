/*
 * quotas.h - what the gateway last heard of each tenant's max_queued
 * (Quota on sw.quota.<tenant>, from the scheduler), so a delivery over it is
 * refused (429) before anything is published.
 *
 * A figure older than SW_QUOTAS_FRESH_MS is not held against a tenant (the
 * scheduler is away: the gateway takes deliveries as it did before plans).
 * Each delivery accepted since the last figure counts as one more waiting,
 * so a burst faster than the announcements stops at the bound too.
 */
#ifndef SW_QUOTAS_H
#define SW_QUOTAS_H

#include <stdbool.h>
#include <stdint.h>

#define SW_QUOTAS_FRESH_MS 5000

typedef struct sw_quotas sw_quotas;

sw_quotas *sw_quotas_create(void);
void sw_quotas_destroy(sw_quotas **q_p); /* accepts NULL; nulls the pointer */

/* The scheduler's figure for tenant, heard at now_ms (monotonic). */
void sw_quotas_note(sw_quotas *q, const char *tenant, uint32_t queued, uint32_t max_queued,
                    int64_t now_ms);

/* One more delivery of tenant accepted. */
void sw_quotas_accepted(sw_quotas *q, const char *tenant);

/* True when tenant has max_queued builds waiting by a fresh figure; *queued_out
 * and *max_out (may be NULL) get the figures. */
bool sw_quotas_over(const sw_quotas *q, const char *tenant, int64_t now_ms,
                    uint32_t *queued_out, uint32_t *max_out);

#endif
