/*
 * logs.c - slipway logs [-f] BUILD.
 *
 * DESIGN
 * The log of a build is read first from the archive (the logsink, sw.api.logs),
 * then, with -f, from the LOGS stream through an ordered consumer (history, then
 * live), so a log survives the stream's retention and a follower misses nothing.
 * Chunks are numbered per attempt; a chunk at or below the highest seq already
 * printed for its attempt is skipped, so the two sources overlap harmlessly.
 * The build's events are folded with sw_build_apply (the same fold as the
 * scheduler's) to learn when the build ends and how; -f then waits for the final
 * attempt's last chunk (eof) and exits with the build's result.
 */
#include "tools/cli/cli.h"

#include "runtime/buildstate.h"
#include "runtime/clock.h"
#include "runtime/error.h"
#include "runtime/mem.h"
#include "runtime/wire.h"

#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ATTEMPTS 128
#define EOF_GRACE_MS 5000   /* after the final event, how long to wait for the last chunk */
#define ARCHIVE_WAIT_MS 3000 /* without -f: how long the archive may lag behind the end */

enum { ITEM_LOG, ITEM_EVENT };

typedef struct item {
    struct item *next;
    int kind;
    sw_msg *msg;
} item;

typedef struct follower {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    item *head, *tail;
    /* per attempt: the highest chunk seq printed, and whether its eof was seen */
    uint64_t max_seq[MAX_ATTEMPTS];
    bool eof[MAX_ATTEMPTS];
    Slipway__BuildRecord rec;
} follower;

static void push(follower *f, int kind, sw_msg *msg)
{
    item *it = sw_calloc(1, sizeof(*it));
    it->kind = kind;
    it->msg = msg;
    pthread_mutex_lock(&f->lock);
    if (f->tail) {
        f->tail->next = it;
    } else {
        f->head = it;
    }
    f->tail = it;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

static void on_log(sw_msg *msg, void *closure)
{
    push(closure, ITEM_LOG, msg);
}

static void on_event(sw_msg *msg, void *closure)
{
    push(closure, ITEM_EVENT, msg);
}

/* Waits up to ms for the next item; NULL when none came. */
static item *pop(follower *f, int ms)
{
    struct timespec ts;
    item *it;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&f->lock);
    while (f->head == NULL) {
        if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) != 0) {
            break;
        }
    }
    it = f->head;
    if (it != NULL) {
        f->head = it->next;
        if (f->head == NULL) {
            f->tail = NULL;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return it;
}

static void print_chunk(follower *f, const Slipway__LogChunk *chunk)
{
    uint32_t a = chunk->attempt < MAX_ATTEMPTS ? chunk->attempt : MAX_ATTEMPTS - 1;
    if (chunk->seq <= f->max_seq[a]) {
        return; /* printed already, from the archive or an earlier delivery */
    }
    f->max_seq[a] = chunk->seq;
    for (size_t i = 0; i < chunk->n_lines; i++) {
        const Slipway__LogLine *line = chunk->lines[i];
        if (line->stream == SLIPWAY__LOG_STREAM__SYSTEM) {
            printf("[slipway] %s\n", line->text);
        } else {
            printf("%s\n", line->text);
        }
    }
    if (chunk->eof) {
        f->eof[a] = true;
    }
    fflush(stdout);
}

/* Prints what the archive holds after what was printed. Returns the number of
 * chunks printed, or -1 when the archive cannot be asked. */
static int read_archive(cli *c, follower *f)
{
    int printed = 0;
    uint32_t after_attempt = 0;
    uint64_t after_seq = 0;

    for (;;) {
        Slipway__ApiRequest req = SLIPWAY__API_REQUEST__INIT;
        ProtobufCMessage *msg = NULL;
        req.build_id = f->rec.build_id;
        req.after_attempt = after_attempt;
        req.after_seq = after_seq;
        if (sw_wire_request(c->bus, SW_API_LOGS, &req.base, &slipway__api_reply__descriptor,
                            c->timeout_ms, &msg) < 0) {
            return printed > 0 ? printed : -1;
        }
        Slipway__ApiReply *reply = (Slipway__ApiReply *)msg;
        for (size_t i = 0; i < reply->n_chunks; i++) {
            print_chunk(f, reply->chunks[i]);
            after_attempt = reply->chunks[i]->attempt;
            after_seq = reply->chunks[i]->seq;
            printed++;
        }
        bool more = reply->more && reply->n_chunks > 0;
        slipway__api_reply__free_unpacked(reply, NULL);
        if (!more) {
            return printed;
        }
    }
}

static bool final_chunk_seen(const follower *f)
{
    uint32_t a = f->rec.attempt < MAX_ATTEMPTS ? f->rec.attempt : MAX_ATTEMPTS - 1;
    /* attempt 0 is the scheduler's own verdict, e.g. after the last delivery */
    return f->rec.attempt == 0 || f->eof[a] || f->eof[0];
}

static int finish(const follower *f)
{
    const Slipway__BuildRecord *r = &f->rec;
    if (r->state == SLIPWAY__BUILD_STATE__SUCCEEDED) {
        fprintf(stderr, "slipway: build %s succeeded\n", r->build_id);
    } else {
        fprintf(stderr, "slipway: build %s %s%s%s\n", r->build_id, sw_state_name(r->state),
                r->reason[0] ? ": " : "", r->reason);
    }
    return sw_state_exit_code(r->state);
}

static void logs_usage(FILE *out)
{
    fprintf(out, "usage: slipway logs [-f] BUILD\n"
                 "\n"
                 "Prints the log of BUILD. With -f (--follow) prints what came before, then\n"
                 "follows the log live and exits when the build ends: 0 if it succeeded,\n"
                 "1 failed, 3 errored, 4 timed out, 5 cancelled.\n");
}

static void drain(follower *f)
{
    item *it;
    while ((it = pop(f, 0)) != NULL) {
        sw_msg_release(&it->msg);
        free(it);
    }
}

static int follow(cli *c, follower *f)
{
    sw_sub *logs = NULL, *events = NULL;
    char filter[128];
    int64_t final_at = -1;
    int status;

    snprintf(filter, sizeof(filter), "sw.events.*.%s", f->rec.build_id);
    if (sw_bus_follow(&events, c->bus, SW_STREAM_EVENTS, filter, 1, on_event, f) < 0) {
        fprintf(stderr, "slipway: cannot follow the build's events: %s\n", sw_error_last());
        return CLI_UNREACHABLE;
    }
    snprintf(filter, sizeof(filter), "sw.logs.*.%s", f->rec.build_id);
    if (sw_bus_follow(&logs, c->bus, SW_STREAM_LOGS, filter, 1, on_log, f) < 0) {
        fprintf(stderr, "slipway: cannot follow the build's log: %s\n", sw_error_last());
        sw_sub_destroy(&events);
        return CLI_UNREACHABLE;
    }
    for (;;) {
        if (sw_state_is_final(f->rec.state)) {
            if (final_at < 0) {
                final_at = sw_clock_mono_ms();
            }
            if (final_chunk_seen(f) || sw_clock_mono_ms() - final_at > EOF_GRACE_MS) {
                break;
            }
        }
        item *it = pop(f, 200);
        if (it == NULL) {
            continue;
        }
        if (it->kind == ITEM_LOG) {
            Slipway__LogChunk *chunk = slipway__log_chunk__unpack(NULL, sw_msg_len(it->msg),
                                                                  sw_msg_data(it->msg));
            if (chunk != NULL) {
                print_chunk(f, chunk);
                slipway__log_chunk__free_unpacked(chunk, NULL);
            }
        } else {
            Slipway__BuildEvent *ev = slipway__build_event__unpack(NULL, sw_msg_len(it->msg),
                                                                   sw_msg_data(it->msg));
            if (ev != NULL) {
                sw_build_apply(&f->rec, ev);
                slipway__build_event__free_unpacked(ev, NULL);
            }
        }
        sw_msg_release(&it->msg);
        free(it);
    }
    sw_sub_destroy(&logs);
    sw_sub_destroy(&events);
    status = finish(f);
    return status;
}

int cli_logs(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Slipway__BuildRecord *rec = NULL;
    follower *f;
    bool follow_mode = false;
    int opt, status;

    while ((opt = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            follow_mode = true;
            break;
        case 'h':
            logs_usage(stdout);
            return CLI_OK;
        default:
            logs_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (argc - optind != 1) {
        logs_usage(stderr);
        return CLI_USAGE;
    }
    if ((status = cli_get_build(c, argv[optind], &rec)) != CLI_OK) {
        return status;
    }
    f = sw_calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    sw_build_record_copy(&f->rec, rec);
    slipway__build_record__free_unpacked(rec, NULL);

    int archived = read_archive(c, f);
    if (follow_mode) {
        status = follow(c, f);
    } else if (archived < 0) {
        fprintf(stderr, "slipway: the log archive does not answer on %s: is slipwayd running "
                        "with the logsink?\n",
                SW_API_LOGS);
        status = CLI_UNREACHABLE;
    } else {
        /* the archive may be a moment behind a build that just ended */
        int64_t until = sw_clock_mono_ms() + ARCHIVE_WAIT_MS;
        while (sw_state_is_final(f->rec.state) && !final_chunk_seen(f) &&
               sw_clock_mono_ms() < until) {
            struct timespec ts = {0, 100 * 1000000};
            nanosleep(&ts, NULL);
            read_archive(c, f);
        }
        status = CLI_OK;
    }
    drain(f);
    sw_build_record_clear(&f->rec);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cond);
    free(f);
    return status;
}
