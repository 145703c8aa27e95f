/*
 * config.h - slipway.yaml: NATS, directories, timeouts, tiers, tenants,
 * projects, clusters and builders. Read-only once loaded, so any thread may
 * read it.
 *
 * Every error names the file, line and column of what is wrong.
 *
 * OWNERSHIP
 * A config is reference counted, so a reload (SIGHUP, tools/slipwayd.c) can
 * hand a new one to the actors while whoever still reads the old one (a worker
 * running a build, an HTTP request in flight) keeps it: sw_config_parse and
 * sw_config_load give the caller the first reference; whoever keeps a config
 * beyond a call takes one of its own (sw_config_retain) and drops it when done
 * (sw_config_release); the last one frees it. sw_config_destroy is the
 * release of the first reference (its owner holds a mutable pointer). Both
 * may be called from any thread. Pointers into a config (a project, a tier)
 * are valid while a reference is held.
 */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include "runtime/regions.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sw_tier {
    char *name;
    uint64_t memory_bytes;
    uint32_t pids;
    uint32_t cpu_millis;
    uint64_t timeout_ms;
    uint64_t log_max_bytes; /* `log_limit`: a build's log past this is cut, visibly (100 MB) */
    /* plans: per tenant of the tier; 0: no bound */
    uint32_t max_running; /* builds placed on a cluster queue or running at once */
    uint32_t max_queued;  /* builds waiting (not started, not ended): past it, refused */
    /* fair share (actors/dispatcher/fairshare.h): jobs a cluster queue may hold
     * that no builder has taken yet (0, `off`: every job is placed at once, FIFO) */
    uint32_t lookahead;
    uint32_t hold; /* jobs the dispatcher holds back from SCHED to choose among */
} sw_tier;

typedef struct sw_tenant {
    char *name;
    char *tier;
    char *read_token; /* sees this tenant's build pages (runtime/config_web.c); NULL: none */
    char *control_token; /* also cancels and retries them from the page; NULL: none */
} sw_tenant;

/* Where a project lives on a forge: how its webhooks are checked and where
 * its commit statuses go. */
typedef enum sw_forge_type {
    SW_FORGE_NONE = 0,
    SW_FORGE_GITHUB,
    SW_FORGE_GITLAB,
    SW_FORGE_GITEA,            /* Gitea and Forgejo */
    SW_FORGE_BITBUCKET,        /* Bitbucket Cloud */
    SW_FORGE_BITBUCKET_SERVER, /* Bitbucket Server / Data Center */
} sw_forge_type;

typedef struct sw_forge_config {
    sw_forge_type type;
    char *repo;      /* owner/name as the forge names it (GitLab: path or numeric id) */
    char *secret;    /* webhook secret (GitLab: the X-Gitlab-Token value); NULL: unsigned */
    char *token;     /* API token for commit statuses; NULL: no statuses */
    char *api_url;   /* API base, e.g. https://api.github.com (no trailing '/') */
    char *context;   /* the status's name on the forge (default "slipway") */
} sw_forge_config;

/* A project's secret: given to its steps as an environment variable and masked as
 * *** wherever its value shows up in the build's log. Secrets are read from the
 * builder's own slipway.yaml and never sent over NATS. */
typedef struct sw_secret {
    char *name;   /* [A-Za-z_][A-Za-z0-9_]*, not CI, HOME, PATH, SLIPWAY or SLIPWAY_* */
    char *value;  /* at least 4 characters (a multi-line value: on one of its lines) */
} sw_secret;

typedef struct sw_project {
    char *name;
    char *tenant;
    char *repository;   /* clone URL: what builders fetch, whatever a webhook says */
    char *default_ref;
    char *region;       /* `region:`, else the config's default_region */
    bool region_pinned; /* `region:` was given: builds never go elsewhere */
    sw_forge_config forge; /* type SW_FORGE_NONE when the project has no forge */
    sw_secret *secrets;    /* `secrets:`, in file order; NULL when none */
    size_t nsecrets;
    char *image;        /* repository of its built images in the registry: "<tenant>/<name>" */
    char *git_token;    /* for an https repository that asks (user x-access-token); NULL: none */
    bool cancel_superseded; /* a newer build of a branch or PR cancels the older ones */
} sw_project;

/* A cluster's `pressure:` thresholds: a builder with a free slot takes the next
 * job only while its host (its own cgroup when it has one) is under every one.
 * PSI figures are "some avg10" percentages; a builder holds back above one. */
typedef struct sw_pressure_limits {
    double cpu;               /* default 95; < 0 (`off`): not checked */
    double memory;            /* default 50 */
    double io;                /* default 95 */
    uint64_t min_memory_free; /* MemAvailable below this holds back; default 256M; 0: off */
    uint64_t min_disk_free;   /* free bytes in work_dir below this; default 1G; 0: off */
} sw_pressure_limits;

/* A cluster's `autoscale:` (runtime/config_autoscale.c): the autoscaler keeps
 * between min and max builders of the cluster, named <name_prefix><id>, each
 * with `slots` slots, created and destroyed by the provider. */
typedef enum sw_provider_type {
    SW_PROVIDER_PROCESS = 1, /* slipwayd processes on the autoscaler's host */
    SW_PROVIDER_EXEC,        /* the operator's create/destroy/list commands */
} sw_provider_type;

typedef struct sw_autoscale {
    sw_provider_type provider;
    uint32_t min, max;          /* builders; max also bounds those starting at once */
    double target;              /* the pressure the pool aims at (default 0.8) */
    double dead_band;           /* no move while |P/target - 1| is within it (0.1) */
    uint32_t min_idle;          /* idle builders kept beyond the demand (warm buffer, 0) */
    uint64_t scale_in_after_ms; /* P stayed low this long before a scale-in (5 min) */
    uint64_t start_timeout_ms;  /* a builder silent this long after creation failed (2 min) */
    uint32_t max_failures;      /* failed creates/starts in a row before it stops trying (3) */
    uint64_t backoff_ms;        /* first retry after a failure, doubled each time (1 s) */
    uint64_t backoff_max_ms;    /* (1 min) */
    uint32_t slots;             /* of each builder it creates (1) */
    char *name_prefix;          /* "<cluster>-auto-" */
    /* exec: each run as `sh -c CMD slipway-<action> BUILDER` (see README) */
    char *exec_create, *exec_destroy, *exec_list;
    uint64_t exec_timeout_ms;   /* per command (1 min) */
} sw_autoscale;

typedef struct sw_cluster {
    char *name;
    char *tier;
    char *region;
    char *executor;     /* "shell" (bubblewrap), "docker" (containers), "simulate" (nothing) */
    sw_pressure_limits pressure;
    sw_autoscale *autoscale; /* NULL: only the builders listed under `builders:` */
} sw_cluster;

typedef struct sw_builder_config {
    char *name;
    char *cluster;
    uint32_t slots;
} sw_builder_config;

typedef struct sw_config {
    unsigned long refs_;           /* private: sw_config_retain / sw_config_release */
    char *path;
    char *nats_url;                /* `nats.url`: one URL or several, comma-separated */
    uint32_t nats_replicas;        /* `nats.replicas`: copies of each stream (1..5, default 1) */
    char *nats_creds;              /* `nats.creds`: a credentials file or a directory of them
                                    * (runtime/creds.h); NULL: none (a server without auth) */
    char *data_dir;
    char *work_dir;
    /* workspaces: a builder's kept workspaces (actors/builder/git/workspace.h) */
    uint64_t workspace_keep_unused_ms; /* a project's unused this long is removed (1 day) */
    uint32_t workspace_max_per_slot;   /* projects' workspaces one slot keeps (8) */
    uint64_t heartbeat_interval_ms;
    uint64_t heartbeat_lapse_ms;
    uint32_t max_deliveries;
    uint64_t drain_grace_ms;        /* SIGTERM: how long builds may finish (default 10 min) */
    uint64_t autoscale_lease_ms;    /* an autoscaler's lease on a cluster (`autoscale_lease`, 10 s) */
    uint64_t logs_max_age_ms;
    uint64_t logs_max_bytes;        /* LOGS: bytes not yet archived (discard new) */
    uint64_t logs_build_max_chunks; /* LOGS: chunks of one build not yet archived */
    uint64_t events_max_age_ms;
    /* queues: messages REQUESTS, SCHED and JOBS may hold (each, and in bytes) */
    uint64_t queue_requests_max, queue_sched_max, queue_jobs_max;
    uint64_t queue_max_bytes;
    /* webhook: */
    char *webhook_listen;          /* host:port, default 127.0.0.1:8080 */
    uint64_t webhook_max_body;     /* bytes, default 25 MiB */
    uint64_t webhook_remember_ms;  /* how long a delivery id is remembered, default 7 days */
    uint64_t webhook_publish_timeout_ms; /* JetStream ack wait before a 503, default 2 s */
    uint64_t webhook_full_retry_after_ms; /* Retry-After of a 503 for a full REQUESTS, 30 s */
    char *public_url;              /* base of build links, default http://<webhook_listen> */
    /* docker (clusters with executor docker): */
    char *docker_socket;           /* the engine's unix socket, default /var/run/docker.sock */
    char *docker_registry;         /* HOST[:PORT] built images are pushed to; NULL: not pushed */
    char *docker_default_image;    /* for steps without an image, default slipway/busybox */
    /* notifier: */
    uint32_t notify_attempts;      /* tries per status, default 6 */
    uint64_t notify_timeout_ms;    /* per HTTP request, default 10 s */
    uint64_t notify_backoff_ms;    /* first retry delay, doubled each time, default 1 s */
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
    /* web: the build pages (runtime/config_web.c) */
    char *web_listen;              /* host:port of their own listener; NULL: the webhook's */
    char *web_read_token;          /* sees every tenant's build pages; NULL: none */
    char *web_control_token;       /* also cancels and retries any build from its page */
    uint32_t web_tail_lines;       /* a build page shows the log's last this many lines, 5000 */
    char *web_assets;              /* the page's script and style; default: the source tree's */
    char *web_link_key;            /* signs the links in commit statuses; NULL: unsigned links */
    uint64_t web_link_ttl_ms;      /* how long a signed link is good for, default 7 days */
    /* routing (runtime/config_routing.c) */
    char *default_region;          /* of projects and clusters without region:, "default" */
    sw_region_rule *region_rules;  /* `regions:` in file order (owned strings) */
    size_t nregion_rules;
    bool routing_learn;            /* place by the sources of recent builds (default true) */
    uint32_t routing_half_life;    /* builds after which a build's sources count half (3) */
    /* secrets given inline (runtime/config_secret.c): ", "-joined keys; NULL: none */
    char *inline_secrets;
} sw_config;

/* Parses config text; name is used in messages. Checks references (a project's
 * tenant exists, a tenant's tier exists, ...). */
int sw_config_parse(sw_config **out, const char *text, size_t len, const char *name);

/* Reads and parses a file. */
int sw_config_load(sw_config **out, const char *path);

/* Takes one more reference to cfg (NULL: none); returns cfg. Any thread. */
const sw_config *sw_config_retain(const sw_config *cfg);

/* Drops one reference; the last one frees the config. Accepts NULL; nulls the
 * pointer. Any thread. */
void sw_config_release(const sw_config **cfg_p);

/* The same for the first reference, the one parse or load gave. */
void sw_config_destroy(sw_config **cfg_p);

/* Look-ups by name; NULL when absent. Borrowed. */
const sw_tier *sw_config_tier(const sw_config *cfg, const char *name);
const sw_tenant *sw_config_tenant(const sw_config *cfg, const char *name);
const sw_project *sw_config_project(const sw_config *cfg, const char *name);
const sw_cluster *sw_config_cluster(const sw_config *cfg, const char *name);
const sw_builder_config *sw_config_builder(const sw_config *cfg, const char *name);

/* A builder by name: one listed under `builders:`, or one an autoscaled
 * cluster creates (<name_prefix><id>, id of 1 to 32 [a-z0-9]), whose settings
 * come from its cluster's `autoscale:`. Fills *out with pointers borrowed from
 * cfg and from name; SW_ENOTFOUND when neither. */
int sw_config_builder_resolve(const sw_config *cfg, const char *name, sw_builder_config *out);

/* The autoscaled cluster whose generated builders' names name has, or NULL. */
const sw_cluster *sw_config_autoscaled_cluster(const sw_config *cfg, const char *name);

/* "github", "gitlab", "gitea", "bitbucket", "bitbucket-server" (or "none"), and back
 * (SW_FORGE_NONE for an unknown name; "forgejo" is gitea). */
const char *sw_forge_name(sw_forge_type type);
sw_forge_type sw_forge_parse(const char *name);

/* A warning for a config file that group or others may read and that holds
 * secrets inline (cfg->inline_secrets), naming them; NULL when there is
 * nothing to warn of. Caller frees. */
char *sw_config_exposure_warning(const sw_config *cfg);

/* The tier of a project (through its tenant). */
const sw_tier *sw_config_project_tier(const sw_config *cfg, const sw_project *project);

#endif
