/*
 * lease.h - who decides for a cluster: a lease on a JetStream stream.
 *
 * WHY A LEASE ON A STREAM
 * The lease is the last message on sw.lease.autoscaler.<cluster> in the stream
 * LEASES, whose max_age is the lease (`autoscale_lease`, 10 s). Taking it is a
 * publish that expects the subject to hold nothing
 * (Nats-Expected-Last-Subject-Sequence 0); renewing it is one that expects the
 * holder's own last sequence. Both are decided by the server, once, for
 * everyone: two autoscalers cannot both win. The server expires a lease that
 * was not renewed within max_age, so a holder that died, froze or was cut off
 * loses it without any host's clock deciding. This is what a JetStream KV's
 * create/update do underneath (a KV bucket is such a stream); the stream is
 * used directly because the claims already use the same compare-and-set
 * (runtime/claim.h) and the bus exposes nothing of KV.
 *
 * A holder that cannot renew stops acting once two thirds of the lease have
 * passed since its last renewal (by its own monotonic clock), before the
 * server can give the lease to another: at most one acts at a time. Call
 * sw_lease_step every third of the lease or more often.
 */
#ifndef SW_AUTOSCALE_LEASE_H
#define SW_AUTOSCALE_LEASE_H

#include "bus/bus.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sw_lease {
    char subject[160];
    char holder[128];     /* this instance */
    char other[128];      /* the holder seen last when it is not us ("" when unknown) */
    int64_t ttl_ms;
    bool held;
    uint64_t seq;         /* our lease message's stream sequence */
    int64_t renewed_ms;   /* mono: when it was last taken or renewed */
    int64_t next_ms;      /* mono: when sw_lease_step wants to run again */
} sw_lease;

void sw_lease_init(sw_lease *l, const char *subject, const char *holder, int64_t ttl_ms);

/* Takes, renews or checks the lease (a JetStream round trip); returns whether
 * it is held now. *changed_out (may be NULL) says it was won or lost by this
 * step. */
bool sw_lease_step(sw_lease *l, sw_bus *bus, int64_t now_ms, bool *changed_out);

/* Gives the lease up (deletes our message), so another takes it at once. */
void sw_lease_release(sw_lease *l, sw_bus *bus);

#endif
