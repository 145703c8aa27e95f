/*
 * docker_config.h - what a step's container is: the body of POST
 * /containers/create, from the step's spec. Pure: no engine, so the isolation
 * settings can be read and tested as data.
 */
#ifndef SW_DOCKER_CONFIG_H
#define SW_DOCKER_CONFIG_H

#include "actors/builder/exec/docker.h"

#include <jansson.h>

/* Builds the create body for spec and step into *out (caller decrefs):
 * Entrypoint /bin/sh -c, Cmd [script]; Env HOME=/workspace, CI=true, SLIPWAY=1,
 * then spec's (a later key replaces an earlier one; PATH stays the image's);
 * WorkingDir /workspace; Hostname slipway; step's labels; no TTY, no stdin.
 * HostConfig: workspace (an existing absolute directory) bind-mounted
 * read-write at /workspace and nothing else; Memory = MemorySwap; PidsLimit;
 * NanoCpus; NetworkMode (none by default); Privileged false; SecurityOpt
 * no-new-privileges; CapDrop (docker_config.c says which and why); AutoRemove
 * false; no restart; LogConfig json-file (readable by /logs).
 * Returns 0, or SW_EINVALID with the reason: network "host" or "container:*",
 * a bad environment variable name, text that is not UTF-8. */
int sw_docker_config(json_t **out, const sw_sandbox_spec *spec, const sw_docker_step *step,
                     const char *workspace);

#endif
