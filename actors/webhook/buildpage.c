/* buildpage.c - a build's page for commit-status links (see buildpage.h). */
#include "actors/webhook/buildpage.h"

#include "runtime/buildstate.h"
#include "runtime/core/buf.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the archived log, cut at SW_BUILDPAGE_MAX_LOG bytes. */
static void add_log(sw_buf *t, sw_bus *bus, const char *build_id, int timeout_ms)
{
    uint32_t after_attempt = 0;
    uint64_t after_seq = 0;
    size_t start = t->len;

    for (;;) {
        Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
        ProtobufCMessage *msg = NULL;
        req.build_id = (char *)build_id;
        req.after_attempt = after_attempt;
        req.after_seq = after_seq;
        if (sw_wire_request(bus, SW_API_LOGS, &req.base, &slipway__api_reply__descriptor,
                            timeout_ms, &msg) < 0) {
            sw_buf_printf(t, "[slipway] the log archive cannot be read now: %s\n", sw_error_last());
            return;
        }
        Slipway__ApiReply *reply = (Slipway__ApiReply *)msg;
        for (size_t i = 0; i < reply->n_chunks; i++) {
            const Slipway__LogChunk *chunk = reply->chunks[i];
            for (size_t j = 0; j < chunk->n_lines; j++) {
                const Slipway__LogLine *line = chunk->lines[j];
                sw_buf_printf(t, "%s%s\n", line->stream == SLIPWAY__LOG_STREAM__SYSTEM ? "[slipway] " : "",
                    line->text);
            }
            after_attempt = chunk->attempt;
            after_seq = chunk->seq;
        }
        bool more = reply->more && reply->n_chunks > 0;
        slipway__api_reply__free_unpacked(reply, NULL);
        if (t->len - start > SW_BUILDPAGE_MAX_LOG) {
            sw_buf_printf(t, "[slipway] (the log goes on: `slipway logs %s` shows all of it)\n", build_id);
            return;
        }
        if (!more) {
            return;
        }
    }
}

int sw_buildpage_render(sw_bus *bus, const char *build_id, int timeout_ms,
                        sw_buildpage_allow_cb allow, void *closure, char **text_out)
{
    Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
    ProtobufCMessage *msg = NULL;
    sw_buf t = {0};
    int status;

    if (!sw_build_id_valid(build_id)) {
        sw_buf_printf(&t, "%s", SW_BUILDPAGE_NOT_FOUND);
        *text_out = t.data;
        return 404;
    }
    req.build_id = (char *)build_id;
    if (sw_wire_request(bus, SW_API_BUILD, &req.base, &slipway__api_reply__descriptor, timeout_ms,
                        &msg) < 0) {
        sw_buf_printf(&t, "the scheduler cannot be asked now: %s\n", sw_error_last());
        *text_out = t.data;
        return 503;
    }
    Slipway__ApiReply *reply = (Slipway__ApiReply *)msg;
    if (reply->n_builds == 0 && reply->code != SW_ENOTFOUND && reply->error[0] != '\0') {
        sw_buf_printf(&t, "the scheduler cannot answer now: %s\n", reply->error);
        status = 503;
    } else if (reply->n_builds == 0 ||
               (allow != NULL && !allow(closure, reply->builds[0]->tenant))) {
        sw_buf_printf(&t, "%s", SW_BUILDPAGE_NOT_FOUND); /* the same, whichever it was */
        status = 404;
    } else {
        const Slipway__BuildRecord *r = reply->builds[0];
        sw_buf_printf(&t, "build %s of %s: %s\n", r->build_id, r->project, sw_state_name(r->state));
        sw_buf_printf(&t, "ref: %s\nsha: %s\n", r->ref, r->sha);
        if (r->message[0]) {
            sw_buf_printf(&t, "commit: %s\n", r->message);
        }
        if (r->author[0]) {
            sw_buf_printf(&t, "author: %s\n", r->author);
        }
        sw_buf_printf(&t, "attempt: %u on %s\n", r->attempt, r->builder[0] ? r->builder : "-");
        if (r->reason[0]) {
            sw_buf_printf(&t, "reason: %s\n", r->reason);
        }
        sw_buf_printf(&t, "request: %s\n\n", r->request_id);
        add_log(&t, bus, build_id, timeout_ms);
        status = 200;
    }
    slipway__api_reply__free_unpacked(reply, NULL);
    *text_out = t.data;
    return status;
}
