/*
 * docker_output.h - a step container's output as lines: followed live from
 * GET /containers/{id}/logs?follow=1, then completed from the log once the
 * container has stopped. Used by the Docker executor (docker.c).
 *
 * DESIGN
 * The container's log (json-file) holds its output from the first byte, so a
 * follow started after the start misses nothing at the beginning. At the end,
 * Docker 20.10's follow can stop short of the last entry (the engine's final
 * flush of a line without '\n'); sw_docker_output_finish reads what it missed
 * from the complete log (see catch_up in docker_output.c). Bytes reach the
 * demultiplexer (docker_frames.h) in small slices with should_stop polled
 * between them, so a slow line callback holds off neither ticks nor a stop.
 */
#ifndef SW_DOCKER_OUTPUT_H
#define SW_DOCKER_OUTPUT_H

#include "actors/builder/exec/docker_api.h"
#include "actors/builder/exec/sandbox.h"

#include <stdbool.h>

typedef struct sw_docker_output sw_docker_output;

/* For container id (copied) on d; lines go to spec->line (spec is borrowed for the
 * object's life). should_stop is polled while following (true cuts the follow);
 * tick is called while reading after it. Both get ud. */
void sw_docker_output_create(sw_docker_output **out, sw_docker *d, const char *id,
                             const sw_sandbox_spec *spec, bool (*should_stop)(void *ud),
                             void (*tick)(void *ud), void *ud);

/* Follows the output until the container stops (the log ends) or should_stop says so. */
void sw_docker_output_follow(sw_docker_output *o);

/* Once the container has stopped: delivers what the follow missed, then what is
 * left of a line on each stream. killed: the step was killed (the follow was
 * cut); its missed output is then read only up to a bound, to keep the removal
 * prompt. */
void sw_docker_output_finish(sw_docker_output *o, bool killed);

void sw_docker_output_destroy(sw_docker_output **o_p);

#endif
