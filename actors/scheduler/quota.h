/*
 * quota.h - max_queued: a tenant's waiting builds against its tier's bound,
 * announced by the scheduler on core NATS for the webhook gateway.
 *
 * Writes: sw.quota.<tenant>  Quota (core; when the count changes and every
 *         second for each tenant whose tier has a max_queued)
 *
 * The count is the scheduler's view (sw_view_waiting): builds it has created
 * that have not started or ended. A request still in REQUESTS is not in it,
 * so submissions racing within the scheduler's pull can pass the bound by
 * those few (see README, "Plans").
 */
#ifndef SW_QUOTA_H
#define SW_QUOTA_H

#include "bus/bus.h"
#include "runtime/config.h"

#include <stdint.h>


/* The max_queued of tenant's tier (0: no bound, or no such tenant). */
uint32_t sw_quota_max_queued(const sw_config *cfg, const char *tenant);

/* Publishes tenant's Quota (core NATS). */
int sw_quota_announce(sw_bus *bus, const char *tenant, uint32_t queued, uint32_t max_queued);

#endif
