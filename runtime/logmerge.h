/*
 * logmerge.h - one build's log put together from the archive and the LOGS
 * stream, each chunk shown once, superseded attempts fenced.
 *
 * DESIGN
 * Chunks are numbered per attempt (seq from 1). A chunk at or below the highest
 * seq already taken for its attempt is a repeat (the archive and the stream
 * overlap, deliveries repeat), so the two sources can be read one after the
 * other harmlessly. Once a chunk of attempt N is taken, late chunks of any
 * earlier attempt (a builder that lost the job) are dropped. The scheduler's
 * verdict (SW_ATTEMPT_VERDICT, attempt 0 in older logs) is always taken.
 * `slipway logs` and the web page's live stream both read through it.
 */
#ifndef SW_LOGMERGE_H
#define SW_LOGMERGE_H

#include "slipway.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

#define SW_LOGMERGE_ATTEMPTS 128 /* attempts past this share the last slot */
#define SW_LOGMERGE_SLOTS (SW_LOGMERGE_ATTEMPTS + 1) /* + the verdict's */

typedef struct sw_logmerge {
    /* per attempt slot: the attempt it holds, the highest seq taken, whether
     * its eof was taken */
    uint32_t slot_attempt[SW_LOGMERGE_SLOTS];
    uint64_t max_seq[SW_LOGMERGE_SLOTS];
    bool eof[SW_LOGMERGE_SLOTS];
    uint32_t top_attempt; /* the highest attempt taken; attempt 0 never counts */
} sw_logmerge;

/* Zeroes m: nothing taken. */
void sw_logmerge_init(sw_logmerge *m);

/* True when chunk is new and belongs to the log (the caller shows it); m then
 * remembers it. False for a repeat or a superseded attempt's chunk. */
bool sw_logmerge_take(sw_logmerge *m, const Slipway__LogChunk *chunk);

/* True when chunk follows on from what was taken of its attempt with no gap
 * (or would be dropped anyway): a live chunk that does not must wait for the
 * archive to fill the gap. */
bool sw_logmerge_continues(const sw_logmerge *m, const Slipway__LogChunk *chunk);

/* True when the log of a build whose current attempt is attempt is complete:
 * that attempt's eof, or the verdict, was taken (attempt 0: nothing to wait for). */
bool sw_logmerge_complete(const sw_logmerge *m, uint32_t attempt);

#endif
