/* claim.c - the fence on a build's attempts (see claim.h). */
#include "runtime/claim.h"

#include "runtime/core/error.h"
#include "runtime/wire.h"

#include <stdbool.h>
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

static bool is_verdict(const Slipway__Claim *c)
{
    return strcmp(c->builder, "scheduler") == 0;
}

const char *sw_claim_result_msg_id(char *buf, size_t n, const Slipway__Claim *c)
{
    if (is_verdict(c)) {
        snprintf(buf, n, "%s.gave-up", c->build_id);
    } else {
        snprintf(buf, n, "%s.%u.finished", c->build_id, c->attempt);
    }
    return buf;
}

int sw_claim_tell_result(sw_bus *bus, const char *tenant, const Slipway__Claim *c)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    char subject[160], msg_id[128];
    ev.build_id = c->build_id;
    ev.tenant = (char *)tenant;
    ev.kind = SLIPWAY__EVENT_KIND__FINISHED;
    ev.attempt = c->attempt;
    ev.builder = is_verdict(c) ? "" : c->builder;
    ev.state = c->state;
    ev.reason = c->reason;
    ev.exit_code = c->exit_code;
    ev.at_ms = c->at_ms;
    sw_subject(subject, sizeof(subject), "sw.events", tenant, c->build_id);
    return sw_wire_js_publish(bus, subject, &ev.base, sw_claim_result_msg_id(msg_id, sizeof(msg_id), c),
                              NULL);
}
