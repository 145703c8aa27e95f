/*
 * config_autoscale.h - a cluster's `autoscale:` mapping (see sw_autoscale in
 * config.h); for config.c only.
 */
#ifndef SW_CONFIG_AUTOSCALE_H
#define SW_CONFIG_AUTOSCALE_H

#include "runtime/config.h"
#include "runtime/core/yaml.h"

/* Reads node (NULL: *out stays NULL) for the cluster named cluster. */
int sw_config_read_autoscale(const sw_yaml_doc *doc, const sw_yaml_node *node,
                             const char *cluster, sw_autoscale **out);

void sw_config_free_autoscale(sw_autoscale *as);

/* True when name is prefix followed by 1 to 32 of [a-z0-9]. */
bool sw_config_generated_name(const char *prefix, const char *name);

#endif
