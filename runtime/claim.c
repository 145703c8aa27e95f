/* claim.c - the fence on a build's attempts (see claim.h). */
#include "runtime/claim.h"

#include "runtime/error.h"
#include "runtime/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sw_claim_read(sw_bus *bus, const char *build_id, Slipway__Claim **claim_out,
                  uint64_t *seq_out)
{
    char subject[160];
    sw_msg *msg = NULL;
    int error;

    *claim_out = NULL;
    *seq_out = 0;
    sw_subject(subject, sizeof(subject), "sw.claims", build_id, NULL);
    error = sw_bus_stream_last(bus, SW_STREAM_CLAIMS, subject, &msg);
    if (error == SW_ENOTFOUND) {
        return 0;
    }
    if (error < 0) {
        return error;
    }
    Slipway__Claim *c = slipway__claim__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    if (c == NULL) {
        error = sw_error_set(SW_EINVALID, "the claim on build %s (#%llu) does not unpack",
                             build_id, (unsigned long long)sw_msg_stream_seq(msg));
        sw_msg_release(&msg);
        return error;
    }
    *seq_out = sw_msg_stream_seq(msg);
    *claim_out = c;
    sw_msg_release(&msg);
    return 0;
}

int sw_claim_write(sw_bus *bus, const Slipway__Claim *claim, uint64_t expect_seq,
                   uint64_t *seq_out)
{
    char subject[160];
    size_t len;
    void *buf = sw_wire_pack(&claim->base, &len);
    sw_subject(subject, sizeof(subject), "sw.claims", claim->build_id, NULL);
    int error = sw_bus_js_publish_cas(bus, subject, buf, len, expect_seq, seq_out);
    free(buf);
    return error;
}

const char *sw_claim_describe(char *buf, size_t n, const Slipway__Claim *claim)
{
    if (claim == NULL) {
        snprintf(buf, n, "no claim");
    } else if (strcmp(claim->builder, "scheduler") == 0) {
        snprintf(buf, n, "the scheduler's verdict after attempt %u", claim->attempt);
    } else {
        snprintf(buf, n, "attempt %u on %s", claim->attempt, claim->builder);
    }
    return buf;
}
