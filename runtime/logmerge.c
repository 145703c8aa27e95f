/* logmerge.c - a build's log from two sources, each chunk once (see logmerge.h). */
#include "runtime/logmerge.h"

#include "runtime/wire.h"

#include <string.h>

#define VERDICT_SLOT SW_LOGMERGE_ATTEMPTS

void sw_logmerge_init(sw_logmerge *m)
{
    memset(m, 0, sizeof(*m));
}

/* Attempts up to SW_LOGMERGE_ATTEMPTS-2 have their own slot, later ones share
 * the last (the fence lets only the newest of them through), and the verdict
 * has VERDICT_SLOT. */
static uint32_t slot_of(uint32_t attempt)
{
    if (attempt == SW_ATTEMPT_VERDICT) {
        return VERDICT_SLOT;
    }
    return attempt < SW_LOGMERGE_ATTEMPTS ? attempt : SW_LOGMERGE_ATTEMPTS - 1;
}

bool sw_logmerge_take(sw_logmerge *m, const Slipway__LogChunk *chunk)
{
    uint32_t a = slot_of(chunk->attempt);
    if (chunk->attempt != 0 && chunk->attempt < m->top_attempt) {
        return false; /* a superseded attempt's late lines (or an attempt after the verdict) */
    }
    if (m->slot_attempt[a] != chunk->attempt) {
        /* a shared slot taken over by a newer attempt */
        m->slot_attempt[a] = chunk->attempt;
        m->max_seq[a] = 0;
        m->eof[a] = false;
    }
    if (chunk->seq <= m->max_seq[a]) {
        return false; /* taken already, from the other source or an earlier delivery */
    }
    m->max_seq[a] = chunk->seq;
    if (chunk->attempt > m->top_attempt) {
        m->top_attempt = chunk->attempt;
    }
    if (chunk->eof) {
        m->eof[a] = true;
    }
    return true;
}

bool sw_logmerge_continues(const sw_logmerge *m, const Slipway__LogChunk *chunk)
{
    uint32_t a = slot_of(chunk->attempt);
    if (chunk->attempt != 0 && chunk->attempt < m->top_attempt) {
        return true;
    }
    if (m->slot_attempt[a] != chunk->attempt) {
        return chunk->seq <= 1;
    }
    return chunk->seq <= m->max_seq[a] + 1;
}

bool sw_logmerge_complete(const sw_logmerge *m, uint32_t attempt)
{
    uint32_t a = slot_of(attempt);
    /* the verdict (SW_ATTEMPT_VERDICT; attempt 0 in older logs) is the scheduler's
     * own last word, e.g. after the last delivery was lost */
    return attempt == 0 || (m->eof[a] && m->slot_attempt[a] == attempt) || m->eof[0] ||
           m->eof[VERDICT_SLOT];
}
