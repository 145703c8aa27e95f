/* docker_output.c - a step container's output as lines (see docker_output.h). */
#include "actors/builder/exec/docker_output.h"

#include "actors/builder/exec/docker_frames.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "docker"
#define FEED_SLICE 512 /* output bytes handed to the line callback between two polls */
#define COLLECT_MAX (1u << 20) /* the log's last two entries: at most 2 x 16 KiB */
#define FULL_REREAD_MAX (16u << 20)
#define TAIL_TIMEOUT_MS 10000
#define REREAD_TIMEOUT_MS 60000

typedef struct collected {
    char *buf;
    size_t len, cap;
} collected;

struct sw_docker_output {
    sw_docker *d;
    char id[128];
    const sw_sandbox_spec *spec;
    bool (*should_stop)(void *ud);
    void (*tick)(void *ud);
    void *ud;
    sw_docker_demux demux;
    int demux_warned;
    uint64_t received;         /* bytes of the log stream fed to demux so far */
    uint64_t skip;             /* catch_up: bytes of the re-read still to skip */
    bool following;            /* in the follow: a stop may end the stream */
    bool follow_ended;         /* the follow ran to the end of the log (HTTP 200) */
    collected tail;            /* catch_up_tail's answer */
};

static bool follow_poll(void *ud)
{
    sw_docker_output *o = ud;
    return o->should_stop(o->ud);
}

static bool tick_only(void *ud)
{
    sw_docker_output *o = ud;
    o->tick(o->ud);
    return false;
}

static void on_demux_line(void *ud, int stream, const char *text, size_t len, bool line_ends)
{
    const sw_sandbox_spec *spec = ((sw_docker_output *)ud)->spec;
    if (spec->line != NULL) {
        spec->line(spec->ud, stream, text, len, line_ends);
    }
}

static bool on_log_data(void *ud, const char *data, size_t len)
{
    sw_docker_output *o = ud;
    if (o->skip > 0) {
        size_t n = o->skip < len ? (size_t)o->skip : len;
        o->skip -= n;
        data += n;
        len -= n;
    }
    /* In slices, polling between them: a slow line callback must not hold off the
     * ticks, a cancel or the deadline for a whole burst of output (16 KiB can be a
     * thousand lines). `received` counts what was fed, so what a stop leaves
     * unread is exactly what catch_up delivers. */
    while (len > 0) {
        size_t n = len < FEED_SLICE ? len : FEED_SLICE;
        o->received += n;
        if (sw_docker_demux_feed(&o->demux, data, n) != 0 && !o->demux_warned) {
            sw_warn(WHO, "container %.12s: %s; its further output is dropped", o->id,
                    sw_error_last());
            o->demux_warned = 1;
        }
        data += n;
        len -= n;
        if (o->following ? o->should_stop(o->ud) : (o->tick(o->ud), false)) {
            return false;
        }
    }
    return true;
}

void sw_docker_output_follow(sw_docker_output *o)
{
    char *path = sw_asprintf("/containers/%s/logs?follow=1&stdout=1&stderr=1", o->id);
    char *body = NULL;
    sw_docker_req req = {.method = "GET",
                         .path = path,
                         .on_data = on_log_data,
                         .success_only = true,
                         .should_stop = follow_poll,
                         .ud = o};
    o->following = true;
    int status = sw_docker_call(o->d, &req, &body);
    o->following = false;
    o->follow_ended = status == 200;
    o->tick(o->ud);
    if (status != 200 && status != SW_ESTOPPED) {
        char msg[512];
        sw_warn(WHO, "container %.12s: cannot follow its output: %s", o->id,
                status < 0 ? sw_error_last() : sw_docker_error_text(msg, sizeof(msg), body));
    }
    free(body);
    free(path);
}

static bool on_collect(void *ud, const char *data, size_t len)
{
    collected *c = &((sw_docker_output *)ud)->tail;
    if (c->len + len > COLLECT_MAX) {
        return false; /* the call ends SW_ESTOPPED */
    }
    if (c->len + len > c->cap) {
        c->cap = (c->len + len) * 2;
        c->buf = sw_realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    return true;
}

static void feed_frame(sw_docker_output *o, int kind, const char *data, size_t len)
{
    char head[8] = {(char)kind, 0, 0, 0, (char)(len >> 24), (char)(len >> 16), (char)(len >> 8),
                    (char)len};
    on_log_data(o, head, sizeof(head));
    on_log_data(o, data, len);
}

/* The cheap way, after a follow that ran to its end: the log's last two entries
 * against the last frame the follow delivered. True when that settles it
 * (nothing lost, or only the last entry, now fed). */
static bool catch_up_tail(sw_docker_output *o)
{
    int kind, k[2];
    const char *last, *data[2];
    size_t last_len, len[2], offset = 0;
    collected *c = &o->tail;
    bool have_last = sw_docker_demux_last_frame(&o->demux, &kind, &last, &last_len);
    bool settled = false;
    int n = 0;

    if (!o->follow_ended || (!have_last && o->received > 0)) {
        return false; /* cut by a stop, or broken off: more than the last entry may be missing */
    }
    char *path = sw_asprintf("/containers/%s/logs?stdout=1&stderr=1&tail=2", o->id);
    sw_docker_req req = {.method = "GET", .path = path, .on_data = on_collect, .success_only = true,
                         .should_stop = tick_only, .ud = o, .timeout_ms = TAIL_TIMEOUT_MS};
    int status = sw_docker_call(o->d, &req, NULL);
    while (status == 200 && n < 2 &&
           sw_docker_frame_next(c->buf, c->len, &offset, &k[n], &data[n], &len[n])) {
        n++;
    }
    if (status == 200 && offset == c->len) {
        /* the same entry: same stream, same bytes (see catch_up) */
#define SAME(i) (k[i] == kind && len[i] == last_len && memcmp(data[i], last, last_len) == 0)
        if (n == 0 || (have_last && SAME(n - 1))) {
            settled = true;
        } else if (have_last && n == 2 && SAME(0)) {
            feed_frame(o, k[1], data[1], len[1]);
            settled = true;
        } else if (!have_last && n == 1) {
            feed_frame(o, k[0], data[0], len[0]);
            settled = true;
        }
#undef SAME
    }
    free(c->buf);
    memset(c, 0, sizeof(*c));
    free(path);
    return settled;
}

/* Once the container has stopped, delivers what the follow missed. Docker 20.10's
 * json-file follow can end before the log's last entry when that entry is the
 * engine's final flush of a line without '\n' (measured here: 5 runs in 30 lost
 * it, while complete lines were never lost in 120 runs); after /wait the log is
 * complete. After a follow that ran to its end, the log's last two entries
 * settle it (catch_up_tail). An entry is told apart by stream and bytes only,
 * so were the lost last entry identical to the one before it (two identical
 * 16 KiB pieces of one line ending the output), it would be taken as
 * delivered. Otherwise (the follow was cut by a timeout or cancel, or broke
 * off, or more was missing) the whole log is read again and its first
 * `received` bytes are skipped: every entry is one frame in both reads, so
 * they are the same bytes. For a step we killed that re-read is skipped past
 * FULL_REREAD_MAX of output, to keep the removal prompt. */
static void catch_up(sw_docker_output *o, bool killed)
{
    if (catch_up_tail(o)) {
        return;
    }
    if (killed && o->received > FULL_REREAD_MAX) {
        sw_warn(WHO, "container %.12s: the end of its output may be missing", o->id);
        return;
    }
    char *path = sw_asprintf("/containers/%s/logs?stdout=1&stderr=1", o->id);
    char *body = NULL;
    sw_docker_req req = {.method = "GET",
                         .path = path,
                         .on_data = on_log_data,
                         .success_only = true,
                         .should_stop = tick_only,
                         .ud = o,
                         .timeout_ms = REREAD_TIMEOUT_MS};
    o->skip = o->received;
    int status = sw_docker_call(o->d, &req, &body);
    o->tick(o->ud);
    if (status != 200) {
        char msg[512];
        sw_warn(WHO, "container %.12s: cannot read the end of its output: %s", o->id,
                status < 0 ? sw_error_last() : sw_docker_error_text(msg, sizeof(msg), body));
    }
    o->skip = 0;
    free(body);
    free(path);
}

void sw_docker_output_create(sw_docker_output **out, sw_docker *d, const char *id,
                             const sw_sandbox_spec *spec, bool (*should_stop)(void *ud),
                             void (*tick)(void *ud), void *ud)
{
    sw_docker_output *o = sw_calloc(1, sizeof(*o));
    o->d = d;
    snprintf(o->id, sizeof(o->id), "%s", id);
    o->spec = spec;
    o->should_stop = should_stop;
    o->tick = tick;
    o->ud = ud;
    sw_docker_demux_init(&o->demux, on_demux_line, o);
    *out = o;
}

void sw_docker_output_finish(sw_docker_output *o, bool killed)
{
    catch_up(o, killed);
    sw_docker_demux_finish(&o->demux);
}

void sw_docker_output_destroy(sw_docker_output **o_p)
{
    if (o_p == NULL || *o_p == NULL) {
        return;
    }
    free((*o_p)->tail.buf);
    free(*o_p);
    *o_p = NULL;
}
