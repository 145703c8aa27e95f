/*
 * config_routing.h - where builds go: `default_region:`, `regions:` and
 * `routing:` (see sw_config in config.h and regions.h). For config.c only.
 *
 *   default_region: cn        # projects and clusters without region: (default "default")
 *   regions:                  # region: host patterns, before the shipped table
 *     cn: [registry.example.cn]
 *   routing:
 *     learn: true             # false: a project's region: or default_region, nothing learned
 *     half_life: 3            # builds after which what one build fetched counts half
 */
#ifndef SW_CONFIG_ROUTING_H
#define SW_CONFIG_ROUTING_H

#include "runtime/config.h"
#include "runtime/core/yaml.h"

/* Reads the three (before projects and clusters, which take default_region). */
int sw_config_read_routing(sw_config *cfg, const sw_yaml_doc *doc);

void sw_config_free_routing(sw_config *cfg);

#endif
