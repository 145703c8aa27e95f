/*
 * claim.h - the fence on a build's attempts (stream CLAIMS, see Claim in
 * slipway.proto).
 *
 * DESIGN
 * JetStream matches acks by stream sequence, not by delivery, so a builder
 * that froze past the lapse and wakes up could ack away the job its successor
 * runs. The fence is one subject per build, sw.claims.<build>, written only by
 * compare-and-set on the subject's last sequence: a delivery takes the build
 * by writing a claim after the last one it read; it stays the owner for as
 * long as the last claim is its own (same stream sequence); it ends the build
 * by writing a final claim after its own. Exactly one final claim can follow a
 * given claim, so whoever writes it (the attempt's builder, or the scheduler
 * giving up) decides the outcome and everyone else learns it by reading.
 * Only the owner may ack, nak or extend the job, publish its log and result.
 */
#ifndef SW_CLAIM_H
#define SW_CLAIM_H

#include "bus/bus.h"
#include "slipway.pb-c.h"

#include <stdint.h>

/* The last claim on build_id: *claim_out (caller frees with
 * slipway__claim__free_unpacked) and its stream sequence *seq_out. With no
 * claim yet: 0, *claim_out NULL, *seq_out 0. */
int sw_claim_read(sw_bus *bus, const char *build_id, Slipway__Claim **claim_out,
                  uint64_t *seq_out);

/* Writes claim if the build's last claim is still at expect_seq (0: none);
 * *seq_out gets the new claim's sequence. SW_ECONFLICT when another claim got
 * there first. */
int sw_claim_write(sw_bus *bus, const Slipway__Claim *claim, uint64_t expect_seq,
                   uint64_t *seq_out);

/* The msg-id its decider gives the FINISHED event of a build decided by the
 * final claim c: "<build>.<attempt>.finished" for an attempt's own result,
 * "<build>.gave-up" for the scheduler's verdict. */
const char *sw_claim_result_msg_id(char *buf, size_t n, const Slipway__Claim *c);

/* Publishes FINISHED again from the final claim c, with its decider's msg-id
 * (so a duplicate when the decider's got through): for when the decider may
 * have died between its claim and its event. */
int sw_claim_tell_result(sw_bus *bus, const char *tenant, const Slipway__Claim *c);

/* "attempt 3 on builder-2", "the scheduler's verdict" ... for log lines. */
const char *sw_claim_describe(char *buf, size_t n, const Slipway__Claim *claim);

#endif
