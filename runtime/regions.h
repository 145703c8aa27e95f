/*
 * regions.h - which region a source host is in: slipway.yaml's `regions:`
 * first, then the shipped table (sw_regions_builtin).
 *
 *     default_region: cn          # projects and clusters without region:
 *     regions:                    # region: host patterns, checked before the shipped ones
 *       cn: [registry.example.cn, "*.corp.example"]
 *       overseas: [ghcr.io]
 *
 * A pattern is a host ("pypi.org"), a host and port ("127.0.0.1:5000"), or
 * "*." and a domain, which matches every host under it and the domain itself.
 * A pattern without a port matches the host on any port. Case does not matter.
 * Unknown hosts are in no region (NULL): they count for nothing.
 */
#ifndef SW_REGIONS_H
#define SW_REGIONS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sw_config sw_config;

typedef struct sw_region_rule {
    const char *pattern;
    const char *region;
} sw_region_rule;

/* The shipped table ("cn" and "overseas"); n_out gets its length. */
const sw_region_rule *sw_regions_builtin(size_t *n_out);

/* Whether host (with or without a port) matches pattern. */
bool sw_region_match(const char *pattern, const char *host);

/* The region of host by cfg's rules (NULL cfg: the shipped table only), or
 * NULL when no rule names it. */
const char *sw_region_of(const sw_config *cfg, const char *host);

#endif
