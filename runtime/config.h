/*
 * config.h - slipway.yaml: NATS, directories, timeouts, tiers, tenants,
 * projects, clusters and builders. Loaded once; read-only afterwards, so any
 * thread may read it.
 *
 * Every error names the file, line and column of what is wrong.
 */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_tier {
    char *name;
    uint64_t memory_bytes;
    uint32_t pids;
    uint32_t cpu_millis;
    uint64_t timeout_ms;
} sw_tier;

typedef struct sw_tenant {
    char *name;
    char *tier;
} sw_tenant;

typedef struct sw_project {
    char *name;
    char *tenant;
    char *repository;   /* clone URL */
    char *default_ref;
    char *region;
} sw_project;

typedef struct sw_cluster {
    char *name;
    char *tier;
    char *region;
    char *executor;     /* "shell" */
} sw_cluster;

typedef struct sw_builder_config {
    char *name;
    char *cluster;
    uint32_t slots;
} sw_builder_config;

typedef struct sw_config {
    char *path;
    char *nats_url;
    char *data_dir;
    char *work_dir;
    uint64_t heartbeat_interval_ms;
    uint64_t heartbeat_lapse_ms;
    uint32_t max_deliveries;
    uint64_t logs_max_age_ms;
    uint64_t logs_max_bytes;
    uint64_t events_max_age_ms;
    sw_tier *tiers;
    size_t ntiers;
    sw_tenant *tenants;
    size_t ntenants;
    sw_project *projects;
    size_t nprojects;
    sw_cluster *clusters;
    size_t nclusters;
    sw_builder_config *builders;
    size_t nbuilders;
} sw_config;

/* Parses config text; name is used in messages. Checks references (a project's
 * tenant exists, a tenant's tier exists, ...). */
int sw_config_parse(sw_config **out, const char *text, size_t len, const char *name);

/* Reads and parses a file. */
int sw_config_load(sw_config **out, const char *path);

void sw_config_destroy(sw_config **cfg_p);

/* Look-ups by name; NULL when absent. Borrowed. */
const sw_tier *sw_config_tier(const sw_config *cfg, const char *name);
const sw_tenant *sw_config_tenant(const sw_config *cfg, const char *name);
const sw_project *sw_config_project(const sw_config *cfg, const char *name);
const sw_cluster *sw_config_cluster(const sw_config *cfg, const char *name);
const sw_builder_config *sw_config_builder(const sw_config *cfg, const char *name);

/* The tier of a project (through its tenant). */
const sw_tier *sw_config_project_tier(const sw_config *cfg, const sw_project *project);

#endif
