/*
 * config_web.h - who may see build pages, and where they are served: the
 * top-level `web:` mapping and the tenants' `read_token` (see sw_config and
 * sw_tenant in config.h). For config.c only.
 */
#ifndef SW_CONFIG_WEB_H
#define SW_CONFIG_WEB_H

#include "runtime/config.h"
#include "runtime/core/yaml.h"

#define SW_WEB_TAIL_LINES 5000

/* Reads `web:` (node may be NULL) into cfg; after the webhook settings, whose
 * default public_url it moves to web.listen when that is set. */
int sw_config_read_web(sw_config *cfg, const sw_yaml_doc *doc, const sw_yaml_node *node);

/* Reads a tenant's `read_token` (a value or a reference) from its entry m. */
int sw_config_read_tenant_token(sw_tenant *t, const sw_yaml_doc *doc, const sw_yaml_node *m);

/* Frees what the two above read. */
void sw_config_free_web(sw_config *cfg);

#endif
