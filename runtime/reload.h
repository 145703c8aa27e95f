/*
 * reload.h - what a reloaded slipway.yaml changes, compared with the running one.
 *
 * DESIGN
 * A reload (SIGHUP) hands a new config to every actor. Some settings are used
 * only when the process starts: the NATS url, data_dir and work_dir, the
 * webhook's listen address, the docker socket, the heartbeat timeouts and the
 * stream bounds (queues, retention), which shape the streams and consumers
 * made at start. For those sw_reload_compare keeps the running value in the
 * new config, so every actor goes on with what the process really runs on,
 * and says which key changed ("webhook.listen changed: takes effect at the
 * next restart"). The set of tiers, clusters and builders (each hosted by an
 * actor of its own) and a builder's cluster and slots or a cluster's executor
 * cannot be kept that way; they are reported the same, and the actors that
 * host them keep what they started with (a builder whose own entry changed
 * keeps its whole config). Everything else applies: projects, tenants,
 * secrets, tiers' limits, webhook and notifier settings, the registry.
 *
 * Pure: no I/O, no clock, no logging.
 */
#ifndef SW_RELOAD_H
#define SW_RELOAD_H

#include "runtime/config.h"

#include <stddef.h>

typedef struct sw_reload {
    /* what changed, in one line: "3 projects (+new-proj), 1 tenant, 1 tier
     * (~free), 1 cluster, 1 builder; webhook settings changed" */
    char *summary;
    /* one line per setting that needs a restart, naming its key */
    char **restart;
    size_t nrestart;
} sw_reload;

/* Compares next (just loaded, not yet shared) with running; fills *out and
 * gives next the running value of every setting that needs a restart. */
void sw_reload_compare(sw_reload *out, sw_config *next, const sw_config *running);

/* Frees what *r holds. */
void sw_reload_finish(sw_reload *r);

#endif
