/*
 * pools.c - `slipway pools`: each autoscaled cluster's pool as the autoscaler
 * that leads it sees it, and its last decision with the reason.
 */
#include "tools/cli/cli.h"

#include "runtime/wire.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *pressure(char *buf, size_t n, double p)
{
    if (p >= 1e9) {
        snprintf(buf, n, "inf");
    } else {
        snprintf(buf, n, "%.2f", p);
    }
    return buf;
}

int cli_pools(cli *c, int argc, char **argv)
{
    static const char text[] =
        "usage: slipway pools\n\n"
        "Each autoscaled cluster (autoscale: in slipway.yaml) as the autoscaler leading it\n"
        "sees it: READY builders (heartbeating, not draining), STARTING (asked of the\n"
        "provider, no heartbeat yet), DRAINING, DESIRED, P = (running + queued) / ready\n"
        "slots, the queue (QUEUED, RUNNING), and the last decision with its reason. Watch\n"
        "it scale with `watch -n1 slipway pools`.\n";
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    Slipway__ApiReply *reply = NULL;
    char age[32], pbuf[32];
    int status = cli_no_options(argc, argv, text, 0);

    if (status >= 0) {
        return status;
    }
    if ((status = cli_api(c, SW_API_POOLS, &req, &reply)) != CLI_OK) {
        return status;
    }
    if (reply->n_pools == 0) {
        printf("no cluster is autoscaled (give a cluster autoscale: in slipway.yaml)\n");
    }
    for (size_t i = 0; i < reply->n_pools; i++) {
        const Slipway__PoolStatus *p = reply->pools[i];
        if (i == 0) {
            printf("%-14s  %-8s  %-7s  %-5s  %-8s  %-8s  %-7s  %-6s  %-6s  %-7s  %s\n",
                   "CLUSTER", "PROVIDER", "MIN-MAX", "READY", "STARTING", "DRAINING",
                   "DESIRED", "P", "QUEUED", "RUNNING", "LEADER");
        }
        char range[24];
        snprintf(range, sizeof(range), "%u-%u", p->min, p->max);
        printf("%-14s  %-8s  %-7s  %-5u  %-8u  %-8u  %-7u  %-6s  %-6llu  %-7llu  %s\n",
               p->cluster, p->provider, range, p->ready, p->starting, p->draining, p->desired,
               pressure(pbuf, sizeof(pbuf), p->pressure), (unsigned long long)p->queued,
               (unsigned long long)p->running,
               p->leader[0] ? p->leader : "none (no autoscaler holds its lease yet)");
        if (p->last != NULL && p->last->action[0]) {
            printf("  last: %s %s, from %u to %u: %s\n", p->last->action,
                   cli_age(age, sizeof(age), p->last->at_ms), p->last->from, p->last->to,
                   p->last->reason);
        }
        if (p->halted[0]) {
            printf("  HALTED: %s\n", p->halted);
        }
        printf("  builders:%s", p->n_builders ? "" : " none");
        for (size_t j = 0; j < p->n_builders; j++) {
            printf("%s %s", j ? "," : "", p->builders[j]);
        }
        printf("\n");
    }
    slipway__api_reply__free_unpacked(reply, NULL);
    return CLI_OK;
}
