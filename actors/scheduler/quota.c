/* quota.c - max_queued announcements (see quota.h). */
#include "actors/scheduler/quota.h"

#include "runtime/core/clock.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

uint32_t sw_quota_max_queued(const sw_config *cfg, const char *tenant)
{
    const sw_tenant *t = sw_config_tenant(cfg, tenant);
    const sw_tier *tier = t != NULL ? sw_config_tier(cfg, t->tier) : NULL;
    return tier != NULL ? tier->max_queued : 0;
}

int sw_quota_announce(sw_bus *bus, const char *tenant, uint32_t queued, uint32_t max_queued)
{
    Slipway__Quota q = SLIPWAY__QUOTA__INIT;
    char subject[160];
    q.tenant = (char *)tenant;
    q.queued = queued;
    q.max_queued = max_queued;
    q.at_ms = sw_clock_wall_ms();
    sw_subject(subject, sizeof(subject), SW_QUOTA, tenant, NULL);
    return sw_wire_publish(bus, subject, &q.base);
}
