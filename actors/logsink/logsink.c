/*
 * logsink.c - the logsink actor (see logsink.h).
 *
 * DESIGN
 * LOGS keeps a chunk until the logsink acks it, and a full LOGS holds the
 * builders back, so the archive's write rate is the log's top speed. A commit
 * syncs to disk, so chunks are committed in batches: a pulled chunk is kept
 * (its message retained) in the open batch, which is committed when it holds
 * BATCH_MAX chunks or BATCH_BYTES, or BATCH_MS after its first chunk came (the
 * tick), and on stop. Only then are the batch's messages acked; when the
 * commit fails they are nak'ed and come again. The puller may have
 * MAX_INFLIGHT messages out, so the next batch fills while one commits.
 * Chunks the archive fences as stale (a superseded attempt's) are acked and
 * dropped, logged once per build (the last STALE_SEEN builds are remembered).
 */
#include "actors/logsink/logsink.h"

#include "actors/logsink/archive.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/metrics.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include "runtime/core/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_CHUNK = 1, TAG_API_LOGS };

#define REPLY_MAX_BYTES (960 * 1024) /* of a reply; NATS takes at most 1 MiB */
#define BATCH_MAX 256                  /* chunks a commit */
#define BATCH_BYTES (8 * 1024 * 1024)  /* bytes a commit */
#define BATCH_MS 15                    /* the longest a chunk waits for its commit */
#define MAX_INFLIGHT 512               /* pulled and not yet acked */
#define RETRY_MS 1000                  /* nak delay after a failed commit */
#define STALE_SEEN 32

typedef struct logsink {
    sw_actor *self;
    sw_bus *bus;
    sw_archive *archive;
    /* the open batch */
    sw_archive_entry entries[BATCH_MAX];
    sw_msg *msgs[BATCH_MAX];
    char ids[BATCH_MAX][65];
    uint64_t text_bytes[BATCH_MAX], lines[BATCH_MAX]; /* of each chunk, for the metrics */
    size_t n, bytes;
    int64_t first_ms; /* when its first chunk came */
    /* builds whose stale chunks were logged already (a ring) */
    char stale_seen[STALE_SEEN][65];
    size_t stale_next;
} logsink;

static sw_metric *bytes_metric, *lines_metric;

static void metrics_register(void)
{
    sw_metrics *m = sw_metrics_process();
    bytes_metric = sw_metrics_counter(m, "slipway_log_bytes_total",
                                      "Bytes of log line text archived (without newlines).",
                                      NULL);
    lines_metric = sw_metrics_counter(m, "slipway_log_lines_total", "Log lines archived.", NULL);
}

/* The chunks of a batch just committed, less those fenced as stale. */
static void count_archived(logsink *l)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    uint64_t bytes = 0, lines = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!l->entries[i].stale) {
            bytes += l->text_bytes[i];
            lines += l->lines[i];
        }
    }
    pthread_once(&once, metrics_register);
    sw_metric_add(bytes_metric, NULL, (double)bytes);
    sw_metric_add(lines_metric, NULL, (double)lines);
}

static void note_stale(logsink *l, const sw_archive_entry *e)
{
    for (size_t i = 0; i < STALE_SEEN; i++) {
        if (strcmp(l->stale_seen[i], e->build_id) == 0) {
            return;
        }
    }
    snprintf(l->stale_seen[l->stale_next], sizeof(l->stale_seen[0]), "%s", e->build_id);
    l->stale_next = (l->stale_next + 1) % STALE_SEEN;
    sw_info(sw_actor_name(l->self),
            "build %s: dropping chunks of attempt %u sent after a later attempt began "
            "(first at stream seq %llu)",
            e->build_id, e->attempt, (unsigned long long)e->stream_seq);
}

/* Commits the open batch, then acks its messages (naks them when it failed). */
static void commit(logsink *l)
{
    if (l->n == 0) {
        return;
    }
    bool ok = sw_archive_put_batch(l->archive, l->entries, l->n) == 0;
    if (!ok) {
        sw_warn(sw_actor_name(l->self), "cannot archive %zu chunks: %s; will retry", l->n,
                sw_error_last());
    } else {
        count_archived(l);
    }
    for (size_t i = 0; i < l->n; i++) {
        if (!ok) {
            sw_msg_nak(l->msgs[i], RETRY_MS);
        } else {
            if (l->entries[i].stale) {
                note_stale(l, &l->entries[i]);
            }
            sw_msg_ack(l->msgs[i]);
        }
        sw_msg_release(&l->msgs[i]);
    }
    l->n = 0;
    l->bytes = 0;
}

static void on_chunk(logsink *l, const sw_mail *mail)
{
    const Slipway__LogChunk *chunk = (const Slipway__LogChunk *)mail->pb;
    if (!sw_archive_valid_id(chunk->build_id)) {
        sw_warn(sw_actor_name(l->self), "dropping a log chunk on %s: bad build id",
                sw_msg_subject(mail->msg));
        sw_msg_term(mail->msg);
        return;
    }
    size_t i = l->n++;
    snprintf(l->ids[i], sizeof(l->ids[i]), "%s", chunk->build_id);
    l->msgs[i] = sw_msg_retain(mail->msg);
    l->entries[i] = (sw_archive_entry){
        .build_id = l->ids[i],
        .attempt = chunk->attempt,
        .seq = chunk->seq,
        .stream_seq = sw_msg_stream_seq(mail->msg),
        .packed = sw_msg_data(mail->msg),
        .len = sw_msg_len(mail->msg),
    };
    l->bytes += l->entries[i].len;
    l->lines[i] = chunk->n_lines;
    l->text_bytes[i] = 0;
    for (size_t k = 0; k < chunk->n_lines; k++) {
        l->text_bytes[i] += chunk->lines[k]->text != NULL ? strlen(chunk->lines[k]->text) : 0;
    }
    if (l->n == 1) {
        l->first_ms = sw_clock_mono_ms();
        sw_actor_wake(l->self); /* the tick that commits it in BATCH_MS at the latest */
    }
    if (l->n == BATCH_MAX || l->bytes >= BATCH_BYTES) {
        commit(l);
    }
}

/* An ApiReply written by hand: each stored chunk, as it is, as field 6 (chunks),
 * then field 7 (more). No chunk is unpacked and packed again. */
typedef struct reply_buf {
    unsigned char *data;
    size_t len, cap;
} reply_buf;

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (unsigned char)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    return n;
}

static bool take_chunk(void *arg, const void *packed, size_t len)
{
    reply_buf *r = arg;
    size_t need = r->len + 1 + 10 + len;
    if (r->len > 0 && need + 2 > REPLY_MAX_BYTES) {
        return false;
    }
    if (need + 2 > r->cap) {
        r->cap = need + 2 > 2 * r->cap ? need + 2 : 2 * r->cap;
        r->data = sw_realloc(r->data, r->cap);
    }
    r->data[r->len++] = (6 << 3) | 2; /* chunks: length-delimited */
    r->len += put_varint(r->data + r->len, len);
    memcpy(r->data + r->len, packed, len);
    r->len += len;
    return true;
}

/* A tenant's request (sw.tapi.<tenant>.logs): only chunks of its own builds;
 * another tenant's build reads as an unknown one, empty. */
typedef struct scoped {
    reply_buf *r;
    const char *tenant;
    bool refused;
} scoped;

static bool take_own_chunk(void *arg, const void *packed, size_t len)
{
    scoped *sc = arg;
    Slipway__LogChunk *c = slipway__log_chunk__unpack(NULL, len, packed);
    bool own = c != NULL && strcmp(c->tenant, sc->tenant) == 0;
    slipway__log_chunk__free_unpacked(c, NULL);
    if (!own) {
        sc->refused = true;
        return false;
    }
    return take_chunk(sc->r, packed, len);
}

static void on_api_logs(logsink *l, const sw_mail *mail)
{
    const Slipway__ApiRequest *req = (const Slipway__ApiRequest *)mail->pb;
    reply_buf r = {.cap = 64 * 1024};
    char via[128];
    scoped sc = {.r = &r};
    bool more = false;
    int error;

    if (sw_msg_reply(mail->msg) == NULL) {
        return;
    }
    sc.tenant = sw_wire_request_tenant(sw_msg_subject(mail->msg), via, sizeof(via));
    r.data = sw_realloc(NULL, r.cap);
    if (sw_archive_scan(l->archive, req->build_id, req->after_attempt, req->after_seq,
                        sc.tenant != NULL ? take_own_chunk : take_chunk,
                        sc.tenant != NULL ? (void *)&sc : (void *)&r, &more) < 0) {
        Slipway__ApiReply er = SLIPWAY__API_REPLY__INIT;
        er.code = sw_error_last_code();
        er.error = (char *)sw_error_last();
        error = sw_wire_respond(l->bus, mail->msg, &er.base);
    } else {
        if (sc.refused) {
            r.len = 0;
            more = false;
        }
        if (more) {
            r.data[r.len++] = (7 << 3) | 0; /* more: varint */
            r.data[r.len++] = 1;
        }
        error = sw_bus_respond(l->bus, mail->msg, r.data, r.len);
    }
    if (error < 0) {
        sw_warn(sw_actor_name(l->self), "cannot answer a log request: %s", sw_error_last());
    }
    free(r.data);
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
        (error = sw_actor_subscribe(self, TAG_API_LOGS, SW_TAPI ".*.logs", "logsink",
                                    &slipway__api_request__descriptor)) < 0 ||
        (error = sw_actor_pull(self, TAG_CHUNK, SW_STREAM_LOGS, SW_DURABLE_LOGSINK,
                               MAX_INFLIGHT,
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

static int64_t logsink_tick(sw_actor *self, void *state)
{
    logsink *l = state;
    if (l->n == 0) {
        return -1;
    }
    int64_t due = l->first_ms + BATCH_MS - sw_clock_mono_ms();
    if (due > 0) {
        return due;
    }
    commit(l);
    return -1;
}

static void logsink_stop(sw_actor *self, void *state)
{
    logsink *l = state;
    if (l != NULL) {
        commit(l);
        sw_archive_destroy(&l->archive);
        free(l);
    }
}

const sw_actor_impl sw_logsink_impl = {
    .kind = "logsink",
    .init = logsink_init,
    .handle = logsink_handle,
    .tick = logsink_tick,
    .stop = logsink_stop,
};
