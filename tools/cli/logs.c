/*
 * logs.c - slipway logs [-f] [--timestamps] [--step NAME] BUILD.
 *
 * DESIGN
 * The log of a build is read first from the archive (the logsink, sw.api.logs),
 * then, with -f, from the LOGS stream through an ordered consumer (history, then
 * live), so a log survives the stream's retention and a follower misses nothing.
 * Chunks are numbered per attempt; a chunk at or below the highest seq already
 * printed for its attempt is skipped, so the two sources overlap harmlessly.
 * Attempts are fenced: once a chunk of attempt N is printed, the late lines of
 * any earlier attempt (a superseded builder) are dropped. The scheduler's
 * verdict (SW_ATTEMPT_VERDICT, attempt 0 in older logs) is always printed.
 * The build's events are folded with sw_build_apply (the same fold as the
 * scheduler's) to learn when the build ends and how; -f then waits for the final
 * attempt's last chunk (eof) and exits with the build's result.
 *
 * NATS going away: the follower keeps, per stream, the sequence after the last
 * message it queued. When the connection drops it closes its consumers (so
 * cnats' "missed heartbeat" noise never starts) and says so once; when the
 * connection is back (or came back unseen: the reconnect count moved) it opens
 * them again at those sequences and reads the archive once more: LOGS keeps a
 * chunk only until the logsink has archived it (interest retention), so what
 * was archived while we had no consumer is gone from the stream. The archive is
 * a prefix of the stream's order (the logsink archives, then acks, one chunk at
 * a time), so archive-then-stream misses nothing. After --nats-wait without
 * NATS it gives up with CLI_UNREACHABLE; the build goes on.
 *
 * A tenant's credentials reach no JetStream: follow_live follows the live
 * subjects and the archive instead (see there).
 */
#include "tools/cli/cli.h"

#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/logmerge.h"
#include "runtime/msgqueue.h"
#include "runtime/wire.h"

#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EOF_GRACE_MS 5000   /* after the final event, how long to wait for the last chunk */
#define ARCHIVE_WAIT_MS 3000 /* without -f: how long the archive may lag behind the end */

enum { ITEM_LOG, ITEM_EVENT };


typedef struct follower {
    pthread_mutex_t lock; /* next_seq, against the bus's threads */
    sw_msgq *queue;       /* what the consumers brought, for the reading thread */
    /* per kind (ITEM_LOG, ITEM_EVENT): the stream sequence after the last message
     * queued; a consumer (re)opened starts there, and anything below is a repeat */
    uint64_t next_seq[2];
    sw_logmerge merged; /* what was printed */
    Slipway__BuildRecord rec;
    bool timestamps;      /* --timestamps: each line after its at_ms in UTC */
    const char *step;     /* --step NAME: only its lines; NULL: all */
    bool in_step;         /* the last step header read was NAME's */
    bool step_seen;       /* NAME's header was read at least once */
} follower;

static void push(follower *f, int kind, sw_msg *msg)
{
    uint64_t seq = sw_msg_stream_seq(msg);
    pthread_mutex_lock(&f->lock);
    if (seq != 0 && seq < f->next_seq[kind]) {
        /* queued already, by the consumer this one replaced */
        pthread_mutex_unlock(&f->lock);
        sw_msg_release(&msg);
        return;
    }
    if (seq != 0) { /* 0: a live (core NATS) message, see follow_live */
        f->next_seq[kind] = seq + 1;
    }
    pthread_mutex_unlock(&f->lock);
    sw_msgq_push(f->queue, kind, msg); /* one thread per kind: in order */
}

static void on_log(sw_msg *msg, void *closure)
{
    push(closure, ITEM_LOG, msg);
}

static void on_event(sw_msg *msg, void *closure)
{
    push(closure, ITEM_EVENT, msg);
}

/* A step begins with the SYSTEM line "step N/M NAME" (actors/builder/steps.c);
 * its lines run to the next such header. Whether text is one, and NAME's. */
static bool step_header(const char *text, const char *name)
{
    unsigned index, count;
    int off = -1;
    if (sscanf(text, "step %u/%u %n", &index, &count, &off) != 2 || off < 0) {
        return false;
    }
    return name == NULL || strcmp(text + off, name) == 0;
}

static void print_chunk(follower *f, const Slipway__LogChunk *chunk)
{
    char at[40];
    if (!sw_logmerge_take(&f->merged, chunk)) {
        return;
    }
    for (size_t i = 0; i < chunk->n_lines; i++) {
        const Slipway__LogLine *line = chunk->lines[i];
        bool system = line->stream == SLIPWAY__LOG_STREAM__SYSTEM;
        if (f->step != NULL && system && step_header(line->text, NULL)) {
            f->in_step = step_header(line->text, f->step);
            f->step_seen = f->step_seen || f->in_step;
        }
        if (f->step != NULL && !f->in_step) {
            continue;
        }
        if (f->timestamps) {
            printf("%s ", cli_time_iso(at, sizeof(at), line->at_ms));
        }
        printf("%s%s\n", system ? "[slipway] " : "", line->text);
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
    return sw_logmerge_complete(&f->merged, f->rec.attempt);
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
    fprintf(out, "usage: slipway logs [-f] [--timestamps] [--step NAME] BUILD\n"
                 "\n"
                 "Prints the log of BUILD. With -f (--follow) prints what came before, then\n"
                 "follows the log live and exits when the build ends: 0 if it succeeded,\n"
                 "1 failed, 3 errored, 4 timed out, 5 cancelled; 7 when NATS stays away\n"
                 "longer than --nats-wait (an option of slipway itself, default 30s).\n"
                 "\n"
                 "  -t, --timestamps  each line after the time it was written, in UTC\n"
                 "                    (ISO-8601, \"2026-12-03T09:50:12.345Z\")\n"
                 "  -s, --step NAME   only step NAME's lines: from its line\n"
                 "                    \"[slipway] step N/M NAME\" to the next step's (in each\n"
                 "                    attempt); without -f, exit 6 when the log has no such step\n");
}

/* Opens the two ordered consumers at the sequences after what was queued. */
static int subscribe(cli *c, follower *f, sw_sub **events, sw_sub **logs)
{
    char filter[128];
    uint64_t events_from, logs_from;

    pthread_mutex_lock(&f->lock);
    events_from = f->next_seq[ITEM_EVENT];
    logs_from = f->next_seq[ITEM_LOG];
    pthread_mutex_unlock(&f->lock);
    snprintf(filter, sizeof(filter), "sw.events.*.%s", f->rec.build_id);
    if (sw_bus_follow(events, c->bus, SW_STREAM_EVENTS, filter, events_from, on_event, f) < 0) {
        return sw_error_last_code();
    }
    snprintf(filter, sizeof(filter), "sw.logs.*.%s", f->rec.build_id);
    if (sw_bus_follow(logs, c->bus, SW_STREAM_LOGS, filter, logs_from, on_log, f) < 0) {
        int error = sw_error_last_code();
        sw_sub_destroy(events);
        return error;
    }
    return 0;
}

static void unsubscribe(sw_sub **events, sw_sub **logs)
{
    sw_sub_destroy(logs);
    sw_sub_destroy(events);
}

static void handle_item(follower *f, const sw_msgq_item *it)
{
    if (it->kind == ITEM_LOG) {
        Slipway__LogChunk *chunk =
            slipway__log_chunk__unpack(NULL, sw_msg_len(it->msg), sw_msg_data(it->msg));
        if (chunk != NULL) {
            print_chunk(f, chunk);
            slipway__log_chunk__free_unpacked(chunk, NULL);
        }
    } else {
        Slipway__BuildEvent *ev =
            slipway__build_event__unpack(NULL, sw_msg_len(it->msg), sw_msg_data(it->msg));
        if (ev != NULL) {
            sw_build_apply(&f->rec, ev);
            slipway__build_event__free_unpacked(ev, NULL);
        }
    }
}

/* NATS is away: says so the first time, and whether --nats-wait has passed
 * since (*away_since, -1 until then), saying that too. */
static bool gave_up(cli *c, const follower *f, int64_t *away_since, const char *wait_text)
{
    int64_t now = sw_clock_mono_ms();
    if (*away_since < 0) {
        *away_since = now;
        fprintf(stderr, "slipway: lost NATS at %s; waiting up to %s for it\n", c->nats_url,
                wait_text);
        return false;
    }
    if (now - *away_since < c->nats_wait_ms) {
        return false;
    }
    fprintf(stderr,
            "slipway: no NATS at %s for %s; giving up (the build goes on: run "
            "`slipway logs -f %s` again)\n",
            c->nats_url, wait_text, f->rec.build_id);
    return true;
}

static int follow(cli *c, follower *f)
{
    sw_sub *logs = NULL, *events = NULL;
    bool subscribed = false, ever_subscribed = false;
    uint64_t reconnects = 0; /* the bus's count when the consumers were opened */
    int64_t final_at = -1;
    int64_t away_since = -1; /* since when NATS (or JetStream) has been away */
    char wait_text[32];
    int status = -1;

    cli_duration(wait_text, sizeof(wait_text), c->nats_wait_ms);
    f->next_seq[ITEM_LOG] = f->next_seq[ITEM_EVENT] = 1;
    while (status < 0) {
        if (sw_state_is_final(f->rec.state)) {
            if (final_at < 0) {
                final_at = sw_clock_mono_ms();
            }
            if (final_chunk_seen(f) || sw_clock_mono_ms() - final_at > EOF_GRACE_MS) {
                status = finish(f);
                break;
            }
        }
        bool up = sw_bus_connected(c->bus);
        if (subscribed && (!up || sw_bus_reconnects(c->bus) != reconnects)) {
            /* pushes may have been lost with the connection: reopen where we are */
            unsubscribe(&events, &logs);
            subscribed = false;
        }
        if (up && !subscribed) {
            reconnects = sw_bus_reconnects(c->bus);
            int error = subscribe(c, f, &events, &logs);
            if (error == 0) {
                /* LOGS keeps a chunk only until the logsink has archived it: what
                 * was archived before the consumer began (since the first read, or
                 * while we had none) is in the archive */
                read_archive(c, f);
                subscribed = ever_subscribed = true;
                if (away_since >= 0) {
                    fprintf(stderr, "slipway: NATS is back; following the log again\n");
                    away_since = -1;
                }
            } else if (!ever_subscribed && sw_bus_connected(c->bus)) {
                fprintf(stderr, "slipway: cannot follow build %s: %s\n", f->rec.build_id,
                        sw_error_last());
                status = CLI_UNREACHABLE;
                break;
            } else {
                up = false; /* JetStream not answering yet: retry while the bound allows */
            }
        }
        if ((!up || !subscribed) && gave_up(c, f, &away_since, wait_text)) {
            status = CLI_UNREACHABLE;
            break;
        }
        sw_msgq_item it;
        if (!sw_msgq_pop(f->queue, 100, &it)) {
            continue;
        }
        handle_item(f, &it);
        sw_msg_release(&it.msg);
    }
    unsubscribe(&events, &logs);
    return status;
}

/* --- a tenant's follow ------------------------------------------------------------ */

#define HELD_MAX 256           /* live chunks waiting for a gap to fill */
#define LIVE_ARCHIVE_MS 100    /* a gap: ask the archive this often */
#define LIVE_POLL_MS 1000      /* no gap: the archive and the record, this often */

typedef struct held {
    Slipway__LogChunk *chunk[HELD_MAX];
    size_t n;
} held;

/* Prints the held chunks that now continue the log, in order; with all, every
 * one (the build ended: what the archive never filled is shown as it is). */
static void release_held(follower *f, held *h, bool all)
{
    bool progress = true;
    while (progress && h->n > 0) {
        progress = false;
        size_t best = 0;
        for (size_t i = 1; i < h->n; i++) {
            const Slipway__LogChunk *a = h->chunk[i], *b = h->chunk[best];
            if (a->attempt < b->attempt || (a->attempt == b->attempt && a->seq < b->seq)) {
                best = i;
            }
        }
        if (all || sw_logmerge_continues(&f->merged, h->chunk[best])) {
            print_chunk(f, h->chunk[best]);
            slipway__log_chunk__free_unpacked(h->chunk[best], NULL);
            h->chunk[best] = h->chunk[--h->n];
            progress = true;
        }
    }
}

static void refresh_record(cli *c, follower *f)
{
    Slipway__BuildRecord *rec = NULL;
    c->quiet_not_found = true;
    if (cli_get_build(c, f->rec.build_id, &rec) == CLI_OK) {
        if (!sw_state_is_final(f->rec.state) || sw_state_is_final(rec->state)) {
            sw_build_record_clear(&f->rec);
            sw_build_record_copy(&f->rec, rec);
        }
        slipway__build_record__free_unpacked(rec, NULL);
    }
    c->quiet_not_found = false;
}

/* A tenant's account has no JetStream: it sees its own live subjects
 * (sw.logs.<tenant>.<build>, sw.events.<tenant>.<build>, exported to it by
 * Slipway's account) and the API. A live chunk that continues the log prints
 * at once; one that leaves a gap (sent before the subscription reached the
 * server, or while NATS was away) is held while the archive, which gets every
 * chunk, fills the gap. The record is read again every second, so an event
 * missed the same way is not waited for forever. */
static int follow_live(cli *c, follower *f)
{
    sw_sub *logs = NULL, *events = NULL;
    held h = {.n = 0};
    char subject[200], wait_text[32];
    int64_t final_at = -1, away_since = -1, last_archive = 0, last_record = 0;
    int status = -1;

    cli_duration(wait_text, sizeof(wait_text), c->nats_wait_ms);
    snprintf(subject, sizeof(subject), "sw.logs.%s.%s", c->creds.tenant, f->rec.build_id);
    if (sw_bus_subscribe(&logs, c->bus, subject, NULL, on_log, f) < 0) {
        fprintf(stderr, "slipway: cannot follow build %s: %s\n", f->rec.build_id,
                sw_error_last());
        return CLI_UNREACHABLE;
    }
    snprintf(subject, sizeof(subject), "sw.events.%s.%s", c->creds.tenant, f->rec.build_id);
    if (sw_bus_subscribe(&events, c->bus, subject, NULL, on_event, f) < 0) {
        fprintf(stderr, "slipway: cannot follow build %s: %s\n", f->rec.build_id,
                sw_error_last());
        sw_sub_destroy(&logs);
        return CLI_UNREACHABLE;
    }
    sw_bus_flush(c->bus, c->timeout_ms); /* subscribed: from here on nothing is missed live */
    while (status < 0) {
        int64_t now = sw_clock_mono_ms();
        bool up = sw_bus_connected(c->bus);
        if (up && (now - last_archive >= LIVE_POLL_MS ||
                   (h.n > 0 && now - last_archive >= LIVE_ARCHIVE_MS))) {
            read_archive(c, f);
            release_held(f, &h, false);
            last_archive = now;
        }
        if (up && now - last_record >= LIVE_POLL_MS) {
            refresh_record(c, f);
            last_record = now;
        }
        if (sw_state_is_final(f->rec.state)) {
            if (final_at < 0) {
                final_at = now;
            }
            if (final_chunk_seen(f) || now - final_at > EOF_GRACE_MS) {
                release_held(f, &h, true);
                status = finish(f);
                break;
            }
        }
        if (!up) {
            if (gave_up(c, f, &away_since, wait_text)) {
                status = CLI_UNREACHABLE;
                break;
            }
        } else if (away_since >= 0) {
            fprintf(stderr, "slipway: NATS is back; following the log again\n");
            away_since = -1;
            last_archive = last_record = 0; /* what went meanwhile is in the archive */
        }
        sw_msgq_item it;
        if (!sw_msgq_pop(f->queue, 50, &it)) {
            continue;
        }
        if (it.kind == ITEM_LOG) {
            Slipway__LogChunk *chunk =
                slipway__log_chunk__unpack(NULL, sw_msg_len(it.msg), sw_msg_data(it.msg));
            if (chunk != NULL && sw_logmerge_continues(&f->merged, chunk)) {
                print_chunk(f, chunk);
                slipway__log_chunk__free_unpacked(chunk, NULL);
                release_held(f, &h, false);
            } else if (chunk != NULL && h.n < HELD_MAX) {
                h.chunk[h.n++] = chunk;
            } else {
                slipway__log_chunk__free_unpacked(chunk, NULL); /* the archive has it */
            }
        } else {
            handle_item(f, &it);
        }
        sw_msg_release(&it.msg);
    }
    for (size_t i = 0; i < h.n; i++) {
        slipway__log_chunk__free_unpacked(h.chunk[i], NULL);
    }
    sw_sub_destroy(&events);
    sw_sub_destroy(&logs);
    return status;
}

int cli_logs(cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"follow", no_argument, NULL, 'f'},
        {"timestamps", no_argument, NULL, 't'},
        {"step", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    Slipway__BuildRecord *rec = NULL;
    follower *f;
    bool follow_mode = false, timestamps = false;
    const char *step = NULL;
    int opt, status;

    while ((opt = cli_getopt(argc, argv, "fts:h", longopts)) != -1) {
        switch (opt) {
        case 'f':
            follow_mode = true;
            break;
        case 't':
            timestamps = true;
            break;
        case 's':
            step = optarg;
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
    /* `submit` returns once the request is stored, before the scheduler has
     * made its record: a follow waits for it as long as for any answer */
    int64_t found_by = sw_clock_mono_ms() + c->timeout_ms;
    c->quiet_not_found = follow_mode;
    while ((status = cli_get_build(c, argv[optind], &rec)) == CLI_NOT_FOUND && follow_mode &&
           sw_clock_mono_ms() < found_by) {
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
    c->quiet_not_found = false;
    if (status == CLI_NOT_FOUND && follow_mode) {
        fprintf(stderr, "slipway: no build '%s'\n", argv[optind]);
    }
    if (status != CLI_OK) {
        return status;
    }
    f = sw_calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->queue = sw_msgq_create(0);
    sw_build_record_copy(&f->rec, rec);
    slipway__build_record__free_unpacked(rec, NULL);
    f->timestamps = timestamps;
    f->step = step;

    int archived = read_archive(c, f);
    if (follow_mode && c->creds.tenant != NULL) {
        status = follow_live(c, f);
    } else if (follow_mode) {
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
        if (step != NULL && !f->step_seen) {
            fprintf(stderr, "slipway logs: the log of build %s has no step '%s'\n",
                    f->rec.build_id, step);
            status = CLI_NOT_FOUND;
        }
    }
    sw_msgq_destroy(&f->queue); /* the consumers are gone: what is left is released */
    sw_build_record_clear(&f->rec);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return status;
}
