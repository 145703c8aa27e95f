/*
 * roles.h - who may do what on NATS: one user per actor role, in Slipway's
 * service account (slipway-admin nats-config writes them into the server's
 * config; slipwayd connects as the role of each actor it runs).
 *
 * Each role lists the subjects it publishes and subscribes to, with the
 * JetStream API subjects of just the streams and consumers it uses, so a
 * builder cannot publish a build request and a gateway cannot pull a job.
 * Answers to requests are publish permissions on the requesters' inboxes
 * (roles.c: REPLIES), but for the builder, the role trusted least, whose
 * `responses` (allow_responses) lets it answer only requests it received, each
 * once and within 5 s (so nats-server keeps a few seconds of its deliveries'
 * reply subjects, not two minutes).
 *
 * Only the scheduler creates and updates the streams and their durable
 * consumers (sw_wire_setup_streams); the others wait until they exist.
 * Tenants are not roles: each has an account of its own (tools/admin).
 */
#ifndef SW_ROLES_H
#define SW_ROLES_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sw_role {
    const char *name;
    const char *const *publish;   /* NULL-terminated */
    const char *const *subscribe; /* NULL-terminated */
    bool responses;               /* answers what it received (allow_responses, 5 s) */
    bool setup;                   /* creates the streams (sw_wire_setup_streams) */
} sw_role;

/* Every role, in a fixed order. */
const sw_role *sw_roles(size_t *n);

/* By name ("builder"); NULL when there is none. */
const sw_role *sw_role_named(const char *name);

/* The role an actor kind runs as: "webhook" is "gateway", the others their own
 * name. NULL for an unknown kind. */
const char *sw_role_of_actor(const char *kind);

#endif
