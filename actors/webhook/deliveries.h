/*
 * deliveries.h - the gateway's own record of the deliveries it has turned into
 * build requests, so that a delivery redelivered days later (GitHub allows 3)
 * never makes a second build, whatever JetStream's duplicate window and
 * restarts have forgotten. LMDB under <data_dir>/webhook; one writer (the
 * webhook actor's thread).
 *
 * A request id ("<forge>:<delivery id>") is remembered with the time it was
 * accepted and forgotten by sw_deliveries_prune once older than the
 * configured retention.
 */
#ifndef SW_WEBHOOK_DELIVERIES_H
#define SW_WEBHOOK_DELIVERIES_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_deliveries sw_deliveries;

int sw_deliveries_open(sw_deliveries **out, const char *dir);
void sw_deliveries_close(sw_deliveries **d_p);

/* 1 when request_id is remembered (*at_ms_out, may be NULL, gets when), 0 when not. */
int sw_deliveries_seen(sw_deliveries *d, const char *request_id, int64_t *at_ms_out);

/* Remembers request_id as accepted at at_ms (again: keeps the first time). */
int sw_deliveries_remember(sw_deliveries *d, const char *request_id, int64_t at_ms);

/* Forgets at most max ids accepted before before_ms; returns how many. */
int sw_deliveries_prune(sw_deliveries *d, int64_t before_ms, size_t max);

/* How many ids are remembered. */
size_t sw_deliveries_count(sw_deliveries *d);

#endif
