/* logsink.c - the logsink actor (see logsink.h). */
#include "actors/logsink/logsink.h"

#include "actors/logsink/archive.h"
#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <stdio.h>
#include <stdlib.h>

enum { TAG_CHUNK = 1, TAG_API_LOGS };

#define REPLY_MAX_BYTES (512 * 1024)

typedef struct logsink {
    sw_actor *self;
    sw_bus *bus;
    sw_archive *archive;
} logsink;

static void on_chunk(logsink *l, const sw_mail *mail)
{
    const Slipway__LogChunk *chunk = (const Slipway__LogChunk *)mail->pb;
    if (sw_archive_put(l->archive, chunk, sw_msg_data(mail->msg), sw_msg_len(mail->msg)) < 0) {
        sw_warn(sw_actor_name(l->self), "cannot archive a chunk of %s: %s; will retry",
                chunk->build_id, sw_error_last());
        sw_msg_nak(mail->msg, 1000);
        return;
    }
    sw_msg_ack(mail->msg);
}

static void on_api_logs(logsink *l, const sw_mail *mail)
{
    const Slipway__ApiRequest *req = (const Slipway__ApiRequest *)mail->pb;
    Slipway__ApiReply r = SLIPWAY__API_REPLY__INIT;
    Slipway__LogChunk **chunks = NULL;
    size_t n = 0;
    bool more = false;

    if (sw_msg_reply(mail->msg) == NULL) {
        return;
    }
    if (sw_archive_read(l->archive, req->build_id, req->after_attempt, req->after_seq,
                        REPLY_MAX_BYTES, &chunks, &n, &more) < 0) {
        r.code = sw_error_last_code();
        r.error = (char *)sw_error_last();
    } else {
        r.chunks = chunks;
        r.n_chunks = n;
        r.more = more;
    }
    if (sw_wire_respond(l->bus, mail->msg, &r.base) < 0) {
        sw_warn(sw_actor_name(l->self), "cannot answer a log request: %s", sw_error_last());
    }
    sw_archive_free(chunks, n);
}

static int logsink_init(sw_actor *self, void **state_out, void *arg)
{
    const sw_actor_ctx *ctx = arg;
    logsink *l = sw_calloc(1, sizeof(*l));
    char dir[4096];
    int error;

    l->self = self;
    l->bus = sw_actor_bus(self);
    snprintf(dir, sizeof(dir), "%s/logs", ctx->cfg->data_dir);
    if ((error = sw_archive_open(&l->archive, dir)) < 0) {
        free(l);
        return error;
    }
    *state_out = l;
    if ((error = sw_actor_subscribe(self, TAG_API_LOGS, SW_API_LOGS, "logsink",
                                    &slipway__api_request__descriptor)) < 0 ||
        (error = sw_actor_pull(self, TAG_CHUNK, SW_STREAM_LOGS, SW_DURABLE_LOGSINK, 64,
                               &slipway__log_chunk__descriptor)) < 0) {
        sw_archive_destroy(&l->archive);
        free(l);
        *state_out = NULL;
        return error;
    }
    return 0;
}

static void logsink_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    if (mail->tag == TAG_CHUNK) {
        on_chunk(state, mail);
    } else if (mail->tag == TAG_API_LOGS) {
        on_api_logs(state, mail);
    }
}

static void logsink_stop(sw_actor *self, void *state)
{
    logsink *l = state;
    if (l != NULL) {
        sw_archive_destroy(&l->archive);
        free(l);
    }
}

const sw_actor_impl sw_logsink_impl = {
    .kind = "logsink",
    .init = logsink_init,
    .handle = logsink_handle,
    .stop = logsink_stop,
};
