/*
 * config_secret.h - the secret-bearing values of slipway.yaml (projects'
 * `secrets:`, `forge.secret`, `forge.token`, `git_token`, tenants'
 * `read_token`, `web.read_token`, `web.link_key`): read through file:/env:
 * references (runtime/secretref.h), and those given inline listed for the
 * start-up warning about a readable config (sw_config_exposure_warning in
 * config.h). For the config readers only.
 */
#ifndef SW_CONFIG_SECRET_H
#define SW_CONFIG_SECRET_H

#include "runtime/core/yaml.h"

/* Reads the scalar node (NULL: *out untouched, 0) as a secret: inline, or
 * resolved from its reference. key names it in errors, which are positioned
 * at node. */
int sw_config_read_secret(const sw_yaml_doc *doc, const sw_yaml_node *node, const char *key,
                          char **out);

/* The secret-bearing keys of doc that hold an inline value, joined by ", "
 * (e.g. "projects[demo].forge.secret, web.link_key"); NULL when none. Caller
 * frees. */
char *sw_config_inline_secrets(const sw_yaml_doc *doc);

#endif
