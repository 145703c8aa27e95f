/*
 * record.h - what the notifier remembers across restarts, in LMDB: per build,
 * its record folded from EVENTS and the last status settled on the forge; and
 * the EVENTS sequence folded so far.
 *
 * A write is committed (durable) when the call returns 0. Used from the
 * notifier's actor thread only.
 */
#ifndef SW_NOTIFIER_RECORD_H
#define SW_NOTIFIER_RECORD_H

#include "actors/notifier/status.h"
#include "slipway.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sw_records sw_records;

/* One build as the notifier knows it. */
typedef struct sw_record {
    Slipway__BuildRecord rec; /* the fold (sw_build_apply); strings owned */
    sw_status settled;        /* the last status sent, or given up on; NONE at first */
    uint32_t log_seq;         /* the last seq of the notifier's own log chunks */
    int64_t touched_ms;       /* wall clock of the last change */
} sw_record;

/* A zeroed record (rec initialised). */
void sw_record_init(sw_record *r);

/* Frees what r owns and re-initialises it. */
void sw_record_clear(sw_record *r);

/* Opens (creating) the store in dir. */
int sw_records_open(sw_records **out, const char *dir);

/* Closes; accepts NULL; nulls the pointer. */
void sw_records_destroy(sw_records **store_p);

/* The EVENTS sequence saved last (0: none). */
uint64_t sw_records_seq(const sw_records *store);

/* Reads build_id's record into *out (which the caller clears). SW_ENOTFOUND
 * when there is none; a stored value that does not decode is reported as
 * SW_EINVALID. */
int sw_records_get(sw_records *store, const char *build_id, sw_record *out);

/* Stores r under r->rec.build_id and, when seq is not 0, seq as the sequence
 * folded so far, in one transaction. */
int sw_records_put(sw_records *store, const sw_record *r, uint64_t seq);

/* Saves seq alone. */
int sw_records_set_seq(sw_records *store, uint64_t seq);

/* Calls fn on every stored record, in build id order, in one write
 * transaction; a record for which fn returns true is deleted. A value that
 * does not decode is deleted. fn may not use the store. */
int sw_records_scan(sw_records *store, bool (*fn)(const sw_record *r, void *closure),
                    void *closure);

#endif
