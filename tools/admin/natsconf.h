/*
 * natsconf.h - the nats-server configuration of a Slipway: accounts, users and
 * their permissions, from slipway.yaml (slipway-admin nats-config).
 *
 * Layout of the output directory:
 *   nats-server.conf        accounts { SLIPWAY, T_<tenant>... } with bcrypt hashes
 *   service/<role>.creds    one user per actor role (slipwayd --creds DIR/service)
 *   operator.creds          the operator's CLI: every subject, every tenant
 *   tenants/<tenant>.creds  a tenant's CLI: its own builds, logs and events only
 * Credentials files are mode 0600; an existing one keeps its password unless
 * it is named in rotate, so running it again changes only what changed.
 */
#ifndef SW_NATSCONF_H
#define SW_NATSCONF_H

#include "runtime/config.h"

#include <stddef.h>

typedef struct sw_natsconf_options {
    const char *out_dir;
    const char *listen;      /* host:port for `listen:`; NULL: from nats.url */
    const char *store_dir;   /* JetStream store; NULL: <out_dir>/jetstream */
    const char *http;        /* host:port of the monitoring port; NULL: none */
    const char *conf_path;   /* the server config; NULL: <out_dir>/nats-server.conf */
    /* one node of a cluster (all NULL: a single server, no cluster block) */
    const char *server_name;    /* `server_name:` (JetStream in a cluster needs one) */
    const char *cluster_name;   /* cluster.name */
    const char *cluster_listen; /* cluster.listen, host:port of the routes */
    const char *routes;         /* cluster.routes, comma-separated nats://host:port */
    int bcrypt_cost;         /* 4..31; 0: 11 */
    const char *const *rotate; /* user names ("builder", "operator", "tenant:acme") */
    size_t nrotate;
} sw_natsconf_options;

/* Writes everything; prints one line per file written to stdout. */
int sw_natsconf_write(const sw_config *cfg, const sw_natsconf_options *opts);

#endif
