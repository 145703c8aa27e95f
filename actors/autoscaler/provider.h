/*
 * provider.h - where an autoscaled cluster's builders come from and go to.
 *
 * A provider creates a builder under a name the autoscaler chose
 * (<name_prefix><id>: `slipwayd -c FILE builder:<name>` finds its settings in
 * the cluster's `autoscale:` with no help from the autoscaler), destroys one
 * (only ever one that reported drained, or that stopped heartbeating), and
 * lists the builders it made that still exist, so that an autoscaler that
 * restarts adopts them and never touches a builder it did not make.
 *
 * Every call blocks (a command, a process) and runs on a provider thread of the
 * autoscaler, never on the actor's own thread; a provider object is used by
 * one thread at a time. Errors set the calling thread's message (what failed,
 * e.g. "create x: exit status 3: <its stderr's last line>").
 *
 * Kinds: process (provider_process.c), exec (provider_exec.c).
 */
#ifndef SW_AUTOSCALE_PROVIDER_H
#define SW_AUTOSCALE_PROVIDER_H

#include "runtime/config.h"

#include <stddef.h>

typedef struct sw_provider sw_provider;

typedef struct sw_provider_ops {
    const char *kind;
    int (*create)(sw_provider *p, const char *name);
    int (*destroy)(sw_provider *p, const char *name);
    int (*list)(sw_provider *p, char ***names_out, size_t *n_out);
    void (*close)(sw_provider *p);
} sw_provider_ops;

/* What every provider knows; copied out of the config, which may be reloaded. */
struct sw_provider {
    const sw_provider_ops *ops;
    char *config_path;   /* the slipway.yaml its builders read */
    char *cluster;
    char *data_dir;      /* the autoscaler's state: <data_dir>/autoscale/<cluster> */
    unsigned slots;
    char *create_cmd, *destroy_cmd, *list_cmd; /* exec */
    uint64_t timeout_ms;                       /* exec: per command */
    void *impl;          /* the kind's own state */
};

/* Opens the provider of cluster (which has autoscale). */
int sw_provider_open(sw_provider **out, const sw_config *cfg, const sw_cluster *cluster);

/* Makes a builder named name and returns once it is on its way (not once it
 * heartbeats). */
int sw_provider_create(sw_provider *p, const char *name);

/* Removes the builder named name; a name that no longer exists is not an
 * error. */
int sw_provider_destroy(sw_provider *p, const char *name);

/* The builders it made that exist now; the caller frees the array with
 * sw_provider_free_names. */
int sw_provider_list(sw_provider *p, char ***names_out, size_t *n_out);
void sw_provider_free_names(char **names, size_t n);

/* Accepts NULL; nulls the pointer. */
void sw_provider_close(sw_provider **p_p);

/* The kinds, for provider.c. */
int sw_provider_process_init(sw_provider *p);
int sw_provider_exec_init(sw_provider *p);

#endif
