/*
 * docker_pull.h - pulling an image onto the Docker engine (POST /images/create),
 * for an executor step whose image the engine does not have, or a base image.
 */
#ifndef SW_DOCKER_PULL_H
#define SW_DOCKER_PULL_H

#include "actors/builder/exec/docker_api.h"

/* Pulls ref ("name", "name:tag", "registry:5000/name:tag", "name@sha256:...";
 * a name alone means :latest, never every tag). The engine answers with a
 * stream of progress objects, where a failure is an {"error": ...} line even
 * under HTTP 200. should_stop (may be NULL) is polled as sw_docker_call does;
 * true ends the pull with SW_ESTOPPED. Returns 0, SW_ESTOPPED, or SW_ENOTFOUND
 * / the call's error with "image REF is not on the engine and cannot be
 * pulled: <the engine's reason>" in sw_error_last(). Blocks; thread-safe. */
int sw_docker_pull(sw_docker *d, const char *ref, bool (*should_stop)(void *ud), void *ud);

#endif
