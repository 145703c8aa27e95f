/* logread.c - a build's archived log through a logmerge (see logread.h). */
#include "actors/web/logread.h"

#include "runtime/core/error.h"
#include "runtime/wire.h"

int sw_logread(sw_bus *bus, const char *build_id, int timeout_ms, sw_logmerge *merged,
               sw_logread_fn fn, void *closure)
{
    uint32_t after_attempt = 0;
    uint64_t after_seq = 0;

    for (;;) {
        Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
        ProtobufCMessage *msg = NULL;
        bool go_on = true;
        req.build_id = (char *)build_id;
        req.after_attempt = after_attempt;
        req.after_seq = after_seq;
        if (sw_wire_request(bus, SW_API_LOGS, &req.base, &slipway__api_reply__descriptor,
                            timeout_ms, &msg) < 0) {
            return sw_error_last_code();
        }
        Slipway__ApiReply *reply = (Slipway__ApiReply *)msg;
        if (reply->error != NULL && reply->error[0] != '\0') {
            int code = reply->code < 0 ? reply->code : SW_EBUS;
            sw_error_set(code, "the log archive: %s", reply->error);
            slipway__api_reply__free_unpacked(reply, NULL);
            return code;
        }
        for (size_t i = 0; i < reply->n_chunks && go_on; i++) {
            const Slipway__LogChunk *chunk = reply->chunks[i];
            after_attempt = chunk->attempt;
            after_seq = chunk->seq;
            if (sw_logmerge_take(merged, chunk)) {
                go_on = fn(closure, chunk);
            }
        }
        bool more = go_on && reply->more && reply->n_chunks > 0;
        slipway__api_reply__free_unpacked(reply, NULL);
        if (!more) {
            return 0;
        }
    }
}
