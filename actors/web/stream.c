/*
 * stream.c - GET /builds/<id>/events: a build's log and life as server-sent
 * events, history first, then live.
 *
 * DESIGN
 * The stream opens two ordered consumers (EVENTS and LOGS, this build's
 * subjects) before it reads the archive, so nothing falls between the two:
 * LOGS keeps a chunk only until the logsink has archived it, and the archive
 * is read after the consumers began. A logmerge (runtime/logmerge.h) takes
 * each chunk once, from whichever source brings it first, and fences
 * superseded attempts, as `slipway logs -f` does.
 *
 * Each log event's id is the chunk's LOGS stream sequence (from the archive:
 * LogChunk.stream_seq; live: the message's). A browser that lost the stream
 * reconnects with Last-Event-ID: S; the new stream sends only chunks past S,
 * and its LOGS consumer starts at S + 1, so there is no gap and no repeat.
 * A first connection sends only the last `tail` lines of the archive (an
 * `earlier` event says how many were left out) so a huge log does not sink a
 * browser; the page fetches earlier ones from /lines on demand.
 *
 * Events: `build` (the record, again whenever it changes), `step` (a step
 * started or finished), `earlier`, `log` (one chunk), `end` (the build ended
 * and its log is complete: the page stops following). A `: ping` comment goes
 * out after 15 s of silence. A browser too slow to keep up (more than
 * MAX_QUEUED messages waiting) is cut off; it reconnects where it was.
 *
 * The stream runs on its connection's own thread (libmicrohttpd, one thread
 * per connection): the reader blocks at most a second at a time, so a stopping
 * server or a closed connection ends it quickly.
 */
#include "actors/web/logread.h"
#include "actors/web/site.h"

#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/msgqueue.h"
#include "runtime/wire.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG "web"
#define PING_MS 15000
#define WAIT_MS 1000
#define EOF_GRACE_MS 5000 /* after the final event, how long the last chunk may take */
#define MAX_QUEUED 20000
#define TAIL_MAX 100000
#define RETRY_MS 1000

enum { ITEM_LOG, ITEM_EVENT };


/* The last chunks of the archive, while it is read: at least tail lines. */
typedef struct tail_ring {
    char **events; /* rendered `log` events */
    size_t *lines; /* lines of each */
    size_t head, n, cap;
    size_t lines_kept;
    uint64_t lines_left_out;
} tail_ring;

typedef struct stream {
    sw_msgq *queue; /* what the two consumers bring, for the connection's thread */

    sw_sub *logs, *events;
    const bool *server_stopping;
    Slipway__BuildRecord rec;
    sw_logmerge merged;
    uint64_t resume; /* Last-Event-ID: only chunks past this stream sequence */
    size_t tail_lines; /* a first read shows this many of the last lines */
    tail_ring ring;
    sw_buf out;
    int64_t last_write_ms, final_at_ms;
    bool ended;
} stream;

/* --- bus threads ---------------------------------------------------------- */

static void on_log(sw_msg *msg, void *closure)
{
    stream *s = closure;
    sw_msgq_push(s->queue, ITEM_LOG, msg);
}

static void on_event(sw_msg *msg, void *closure)
{
    stream *s = closure;
    sw_msgq_push(s->queue, ITEM_EVENT, msg);
}

/* --- events out ------------------------------------------------------------ */

/* Appends "event: name\n[id: id\n]data: <json>\n\n" to out (json taken). */
static void emit_to(sw_buf *out, const char *name, uint64_t id, json_t *data)
{
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (text == NULL) { /* a json_pack format that does not match its arguments */
        sw_err(LOG, "event %s: its data could not be made (a bug)", name);
        return;
    }
    sw_buf_printf(out, "event: %s\n", name);
    if (id != 0) {
        sw_buf_printf(out, "id: %llu\n", (unsigned long long)id);
    }
    sw_buf_printf(out, "data: %s\n\n", text);
    free(text);
}

static void emit(stream *s, const char *name, uint64_t id, json_t *data)
{
    emit_to(&s->out, name, id, data);
}

static json_t *chunk_json(const Slipway__LogChunk *chunk)
{
    json_t *lines = json_array();
    for (size_t i = 0; i < chunk->n_lines; i++) {
        const Slipway__LogLine *l = chunk->lines[i];
        json_array_append_new(lines, json_pack("[iIo]", (int)l->stream, (json_int_t)l->at_ms,
                                               sw_json_text(l->text)));
    }
    return json_pack("{sIsIsosb}", "a", (json_int_t)chunk->attempt, "q", (json_int_t)chunk->seq,
                     "l", lines, "eof", chunk->eof);
}

static json_t *record_json(const Slipway__BuildRecord *r)
{
    json_t *j = json_pack("{sssssssisssssssIsIsIssss}", "id", r->build_id, "state",
                          sw_state_name(r->state), "trigger", sw_build_trigger(r), "attempt",
                          (int)r->attempt, "builder", r->builder ? r->builder : "", "sha",
                          r->sha ? r->sha : "", "step", r->step ? r->step : "", "created_ms",
                          (json_int_t)r->created_ms, "started_ms", (json_int_t)r->started_ms,
                          "finished_ms", (json_int_t)r->finished_ms, "image",
                          r->image ? r->image : "", "digest", r->digest ? r->digest : "");
    json_object_set_new(j, "reason", sw_json_text(r->reason));
    if (sw_state_is_final(r->state) && r->step != NULL && r->step[0] != '\0' &&
        r->state != SLIPWAY__BUILD_STATE__ERRORED && r->state != SLIPWAY__BUILD_STATE__CANCELLED) {
        json_object_set_new(j, "exit_code", json_integer(r->exit_code));
    }
    return j;
}

static void emit_step(stream *s, const Slipway__BuildEvent *ev)
{
    bool done = ev->kind == SLIPWAY__EVENT_KIND__STEP_FINISHED;
    json_t *j = json_pack("{sisiss}", "attempt", (int)ev->attempt, "index", (int)ev->step_index,
                          "name", ev->step ? ev->step : "");
    json_object_set_new(j, "state", json_string(!done              ? "running"
                                                : ev->exit_code == 0 ? "succeeded"
                                                                     : "failed"));
    if (done) {
        json_object_set_new(j, "exit_code", json_integer(ev->exit_code));
        json_object_set_new(j, "duration_ms", json_integer(ev->duration_ms));
    }
    json_object_set_new(j, "at_ms", json_integer(ev->at_ms));
    emit(s, "step", 0, j);
}

/* --- the archive, on the first read ---------------------------------------- */

static void ring_drop_first(tail_ring *t)
{
    free(t->events[t->head]);
    t->lines_kept -= t->lines[t->head];
    t->lines_left_out += t->lines[t->head];
    t->head = (t->head + 1) % t->cap;
    t->n--;
}

static void ring_push(tail_ring *t, char *event, size_t lines, size_t keep)
{
    if (t->n == t->cap) { /* grow, unrolled */
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **events = sw_calloc(cap, sizeof(*events));
        size_t *nl = sw_calloc(cap, sizeof(*nl));
        for (size_t i = 0; i < t->n; i++) {
            events[i] = t->events[(t->head + i) % t->cap];
            nl[i] = t->lines[(t->head + i) % t->cap];
        }
        free(t->events);
        free(t->lines);
        t->events = events;
        t->lines = nl;
        t->head = 0;
        t->cap = cap;
    }
    size_t at = (t->head + t->n) % t->cap;
    t->events[at] = event;
    t->lines[at] = lines;
    t->n++;
    t->lines_kept += lines;
    /* keep the fewest chunks that still hold the last `keep` lines */
    while (t->n > 1 && t->lines_kept - t->lines[t->head] >= keep) {
        ring_drop_first(t);
    }
}

static bool on_archived(void *closure, const Slipway__LogChunk *chunk)
{
    stream *s = closure;
    if (s->resume != 0) {
        if (chunk->stream_seq > s->resume) {
            emit(s, "log", chunk->stream_seq, chunk_json(chunk));
        }
        return true;
    }
    sw_buf event = {0};
    emit_to(&event, "log", chunk->stream_seq, chunk_json(chunk));
    if (event.data != NULL) {
        ring_push(&s->ring, event.data, chunk->n_lines, s->tail_lines);
    }
    return true;
}

/* Frees what the ring still holds; out (may be NULL) gets it first. */
static void ring_free(tail_ring *t, sw_buf *out)
{
    while (t->n > 0) {
        if (out != NULL) {
            sw_buf_puts(out, t->events[t->head]);
        }
        free(t->events[t->head]);
        t->head = (t->head + 1) % t->cap;
        t->n--;
    }
    free(t->events);
    free(t->lines);
    memset(t, 0, sizeof(*t));
}

static void ring_flush(stream *s)
{
    tail_ring *t = &s->ring;
    if (t->lines_left_out > 0) {
        emit(s, "earlier", 0, json_pack("{sI}", "lines", (json_int_t)t->lines_left_out));
    }
    ring_free(t, &s->out);
}

/* --- the reader ------------------------------------------------------------- */

static void handle(stream *s, const sw_msgq_item *it)
{
    if (it->kind == ITEM_LOG) {
        Slipway__LogChunk *chunk =
            slipway__log_chunk__unpack(NULL, sw_msg_len(it->msg), sw_msg_data(it->msg));
        uint64_t seq = sw_msg_stream_seq(it->msg);
        if (chunk != NULL && strcmp(chunk->build_id, s->rec.build_id) == 0 &&
            sw_logmerge_take(&s->merged, chunk) && seq > s->resume) {
            emit(s, "log", seq, chunk_json(chunk));
        }
        if (chunk != NULL) {
            slipway__log_chunk__free_unpacked(chunk, NULL);
        }
        return;
    }
    Slipway__BuildEvent *ev =
        slipway__build_event__unpack(NULL, sw_msg_len(it->msg), sw_msg_data(it->msg));
    if (ev == NULL) {
        return;
    }
    if (ev->kind == SLIPWAY__EVENT_KIND__STEP_STARTED ||
        ev->kind == SLIPWAY__EVENT_KIND__STEP_FINISHED) {
        emit_step(s, ev);
    }
    if (sw_build_apply(&s->rec, ev) == SW_APPLY_CHANGED) {
        emit(s, "build", 0, record_json(&s->rec));
    }
    slipway__build_event__free_unpacked(ev, NULL);
}

static void check_end(stream *s)
{
    int64_t now = sw_clock_mono_ms();
    if (s->ended || !sw_state_is_final(s->rec.state)) {
        return;
    }
    if (s->final_at_ms == 0) {
        s->final_at_ms = now;
    }
    if (sw_logmerge_complete(&s->merged, s->rec.attempt) || now - s->final_at_ms > EOF_GRACE_MS) {
        emit(s, "end", 0, json_pack("{ss}", "state", sw_state_name(s->rec.state)));
        s->ended = true;
    }
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *s = cls;
    (void)pos;
    while (s->out.len == 0) {
        if (s->ended || __atomic_load_n(s->server_stopping, __ATOMIC_RELAXED)) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (sw_msgq_overflowed(s->queue)) {
            sw_info(LOG, "build %s: a browser fell %d messages behind: cut off (it resumes "
                         "where it was)", s->rec.build_id, MAX_QUEUED);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        sw_msgq_item it;
        bool got = sw_msgq_pop(s->queue, WAIT_MS, &it);
        while (got) {
            handle(s, &it);
            sw_msg_release(&it.msg);
            got = s->out.len < 256 * 1024 && sw_msgq_pop(s->queue, 0, &it);
        }
        check_end(s);
        if (s->out.len == 0 && sw_clock_mono_ms() - s->last_write_ms >= PING_MS) {
            sw_buf_puts(&s->out, ": ping\n\n");
        }
        if (s->out.len == 0) {
            return 0; /* nothing yet: called again (the connection's own thread) */
        }
    }
    size_t n = s->out.len < max ? s->out.len : max;
    memcpy(buf, s->out.data, n);
    sw_buf_consume(&s->out, n);
    s->last_write_ms = sw_clock_mono_ms();
    return (ssize_t)n;
}

static void free_stream(void *cls)
{
    stream *s = cls;
    sw_sub_destroy(&s->logs); /* no callback runs after these return */
    sw_sub_destroy(&s->events);
    sw_msgq_destroy(&s->queue);
    ring_free(&s->ring, NULL);
    sw_buf_free(&s->out);
    sw_build_record_clear(&s->rec);
    free(s);
}

static uint64_t resume_point(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    if (v == NULL || v[0] == '\0') {
        v = sw_http_arg(c, "after"); /* a page that remakes its stream itself */
    }
    return v != NULL ? strtoull(v, NULL, 10) : 0;
}

enum MHD_Result sw_web_events(const sw_web_req *r, const char *id)
{
    Slipway__BuildRecord *rec = NULL;
    enum MHD_Result answered;
    char filter[128];
    const char *tail = sw_http_arg(r->c, "tail");

    if (sw_web_record(r, id, &rec, &answered) < 0) {
        return answered;
    }
    stream *s = sw_calloc(1, sizeof(*s));
    s->queue = sw_msgq_create(MAX_QUEUED);
    s->server_stopping = r->stopping;
    sw_build_record_copy(&s->rec, rec);
    slipway__build_record__free_unpacked(rec, NULL);
    sw_logmerge_init(&s->merged);
    s->resume = resume_point(r->c);
    s->tail_lines = r->cfg->web_tail_lines;
    if (tail != NULL) {
        unsigned long long t = strtoull(tail, NULL, 10);
        s->tail_lines = t == 0 ? s->tail_lines : t > TAIL_MAX ? TAIL_MAX : (size_t)t;
    }

    snprintf(filter, sizeof(filter), "sw.events.*.%s", s->rec.build_id);
    if (sw_bus_follow(&s->events, r->bus, SW_STREAM_EVENTS, filter, 1, on_event, s) < 0) {
        goto unavailable;
    }
    snprintf(filter, sizeof(filter), "sw.logs.*.%s", s->rec.build_id);
    if (sw_bus_follow(&s->logs, r->bus, SW_STREAM_LOGS, filter, s->resume + 1, on_log, s) < 0) {
        goto unavailable;
    }
    sw_buf_printf(&s->out, "retry: %d\n\n", RETRY_MS);
    emit(s, "build", 0, record_json(&s->rec));
    if (sw_logread(r->bus, s->rec.build_id, SW_WEB_ASK_MS, &s->merged, on_archived, s) < 0) {
        sw_warn(LOG, "build %s: the log archive did not answer: %s (the live lines follow)",
                s->rec.build_id, sw_error_last());
    }
    ring_flush(s);
    s->last_write_ms = sw_clock_mono_ms();

    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, read_stream, s,
                                          free_stream);
    if (resp == NULL) {
        free_stream(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    enum MHD_Result ret = MHD_queue_response(r->c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;

unavailable:;
    char *text = sw_asprintf("the build's stream cannot be followed now: %s\n", sw_error_last());
    free_stream(s);
    return sw_http_send(r->c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", text,
                        strlen(text));
}
