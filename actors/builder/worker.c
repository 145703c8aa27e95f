/* worker.c - one job of a builder, on its own thread (see worker.h). */
#include "actors/builder/worker.h"

#include "actors/builder/git/workspace.h"
#include "actors/builder/outbox.h"
#include "actors/builder/profile/profile_event.h"
#include "actors/builder/runner.h"
#include "actors/builder/simulate.h"
#include "runtime/buildstate.h"
#include "runtime/claim.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_LINES 64
#define BATCH_BYTES (32 * 1024)
#define BATCH_MS 100
#define CLAIM_TRIES 20   /* reading and writing the claim at the start, with backoff */
#define OUTBOX_MEM_MIB 8 /* what an outage keeps in memory before the outbox's file */

struct sw_worker {
    sw_bus *bus;
    sw_actor *actor;
    int done_tag;
    char *builder, *cluster, *work_dir;
    unsigned slot, slots;
    const sw_config *cfg;   /* retained: the config the build started with, to its end */
    sw_docker *docker;
    bool simulate;
    const char *mirror_dir;
    Slipway__Job *job;
    sw_msg *msg;            /* the job's message (borrowed from the builder) */
    char *incarnation;
    _Atomic uint32_t attempt;
    int64_t interval_ms;    /* how often the job is kept (in progress) and the fence read */
    pthread_t thread;
    volatile int cancel;
    volatile int shutdown;
    _Atomic int stopped_by_user; /* sw_worker_stop_build: stop_reason is set */
    char stop_reason[256];
    char who[96];

    /* the fence (claim.h): our claim's sequence, and when it was last seen to hold */
    uint64_t claim_seq;
    bool superseded;
    bool decided_elsewhere; /* superseded by a final claim: the job is done */
    int64_t fence_ms, progress_ms;

    sw_outbox *outbox;      /* what NATS could not take yet (outbox.h) */
    char outbox_path[4200];
    bool outage_said;
    int64_t waited_said_ms; /* when a wait for a full stream was last logged */
    unsigned waits;         /* waits since */

    /* the tier's cap on the log */
    uint64_t log_bytes, log_cap;
    bool truncated;

    /* the batch being filled */
    Slipway__LogLine lines[BATCH_LINES];
    Slipway__LogLine *line_ptrs[BATCH_LINES];
    size_t nlines, nbytes;
    int64_t first_line_ms;
    uint64_t seq;
};

/* Whether this attempt still owns the build (claim.h). Reads the build's last
 * claim; when it is not ours any more the attempt is superseded: its step is
 * stopped and nothing more is published for it. When the claim cannot be read
 * (NATS away) the answer is yes for now, and the next call asks again. */
static bool fence_holds(sw_worker *w)
{
    Slipway__Claim *claim = NULL;
    uint64_t seq = 0;
    char by[160];

    if (w->superseded) {
        return false;
    }
    /* while NATS is away nothing goes out anyway; a read would only wait */
    if (!sw_bus_connected(w->bus) || sw_claim_read(w->bus, w->job->build_id, &claim, &seq) < 0) {
        return true;
    }
    w->fence_ms = sw_clock_mono_ms();
    if (seq == w->claim_seq) {
        slipway__claim__free_unpacked(claim, NULL);
        return true;
    }
    w->superseded = true;
    w->cancel = 1;
    if (claim != NULL && claim->final) {
        /* decided (the scheduler's verdict: a cancel, a give-up): said in its log */
        w->decided_elsewhere = true;
        sw_info(w->who, "attempt %u stops: the build was decided by %s (%s: %s)",
                (unsigned)w->attempt, sw_claim_describe(by, sizeof(by), claim),
                sw_state_name(claim->state), claim->reason);
    } else {
        sw_warn(w->who, "attempt %u superseded by %s: stopping its step; nothing more of it is "
                "published", (unsigned)w->attempt, sw_claim_describe(by, sizeof(by), claim));
    }
    if (claim != NULL) {
        slipway__claim__free_unpacked(claim, NULL);
    }
    return false;
}

/* After a compare-and-set that lost: whether the last claim is this attempt's
 * own final one (a write whose answer was lost, then tried again); if so it
 * becomes the fence. */
static bool own_final_claim(sw_worker *w)
{
    Slipway__Claim *claim = NULL;
    uint64_t seq = 0;
    bool mine = false;
    if (sw_claim_read(w->bus, w->job->build_id, &claim, &seq) == 0 && claim != NULL) {
        mine = claim->final && claim->attempt == (uint32_t)w->attempt &&
               strcmp(claim->builder, w->builder) == 0 &&
               strcmp(claim->incarnation, w->incarnation) == 0;
        if (mine) {
            w->claim_seq = seq;
            w->fence_ms = sw_clock_mono_ms();
        }
    }
    if (claim != NULL) {
        slipway__claim__free_unpacked(claim, NULL);
    }
    return mine;
}

/* Before touching the build after a pause (a frozen process, a stalled
 * publish): read the fence again when it was last read an interval ago. */
static bool fence_fresh(sw_worker *w)
{
    if (w->superseded) {
        return false;
    }
    return sw_clock_mono_ms() - w->fence_ms < w->interval_ms || fence_holds(w);
}

/* Every interval: if the fence holds, tells JetStream the job is in progress,
 * so it is not redelivered while this attempt runs. */
static void keep_job(sw_worker *w)
{
    int64_t now = sw_clock_mono_ms();
    if (now - w->progress_ms < w->interval_ms || !sw_bus_connected(w->bus)) {
        return;
    }
    w->progress_ms = now;
    if (fence_holds(w)) {
        sw_msg_in_progress(w->msg);
    }
}

/* Sends one message now, waiting while its stream is full (LOGS waits for the
 * logsink: this thread waits with it, and so does the step, whose output pipe
 * fills). 0 when sent; SW_EBUS or SW_ETIMEDOUT when NATS is away; SW_ESTOPPED
 * when the attempt was superseded; other errors for a message the server can
 * never take. */
static int send_now(sw_worker *w, const char *subject, const char *msg_id, const void *data,
                    size_t len)
{
    int error = 0, delay_ms = 10, waited = 0;
    for (;;) {
        if (!fence_fresh(w)) {
            return sw_error_set(SW_ESTOPPED, "attempt %u was superseded", (unsigned)w->attempt);
        }
        error = sw_bus_js_publish(w->bus, subject, data, len, msg_id, NULL, NULL);
        if (error != SW_EFULL || w->shutdown) {
            return error;
        }
        /* a full LOGS is routine under a chatty step: said once, then every 30 s */
        int64_t now = sw_clock_mono_ms();
        if (!waited++) {
            w->waits++;
        }
        if (w->waited_said_ms == 0 || now - w->waited_said_ms >= 30000) {
            sw_warn(w->who, "%s; waiting for the stream to drain (the step's output waits; %u "
                    "waits so far)", sw_error_last(), w->waits);
            w->waited_said_ms = now;
        }
        usleep((useconds_t)delay_ms * 1000);
        delay_ms = delay_ms * 2 > 100 ? 100 : delay_ms * 2; /* the logsink drains fast */
        keep_job(w);
    }
}

/* Sends what the outbox kept, oldest first, for as long as it goes. */
static int drain(sw_worker *w)
{
    size_t kept = sw_outbox_count(w->outbox);
    while (!sw_outbox_empty(w->outbox)) {
        const char *subject, *msg_id;
        const void *data;
        size_t len;
        int error;
        if (!sw_bus_connected(w->bus)) {
            return sw_error_set(SW_EBUS, "not connected to NATS");
        }
        if ((error = sw_outbox_peek(w->outbox, &subject, &msg_id, &data, &len)) < 0 ||
            (error = send_now(w, subject, msg_id, data, len)) < 0) {
            return error;
        }
        sw_outbox_pop(w->outbox);
    }
    if (kept > 0) {
        sw_info(w->who, "NATS is back: sent the %zu messages kept while it was away", kept);
        w->outage_said = false;
    }
    return 0;
}

static bool bus_away(int error)
{
    return error == SW_EBUS || error == SW_ETIMEDOUT;
}

/* Publishes msg, after whatever the outbox kept. While NATS is away it is kept
 * in the outbox instead (0), in order, to go out when NATS is back: a build
 * that ends during an outage keeps its log and result. */
static int publish(sw_worker *w, const char *subject, const ProtobufCMessage *msg,
                   const char *msg_id)
{
    size_t len;
    void *data = sw_wire_pack(msg, &len);
    int error = drain(w);
    if (error == 0) {
        error = send_now(w, subject, msg_id, data, len);
    }
    if (bus_away(error) && !w->superseded && !w->shutdown) {
        if (!w->outage_said) {
            w->outage_said = true;
            sw_warn(w->who, "%s: keeping the build's log and events until NATS is back (in "
                    "memory up to %d MiB, then in %s)", sw_error_last(), OUTBOX_MEM_MIB,
                    w->outbox_path);
        }
        error = sw_outbox_put(w->outbox, subject, msg_id, data, len);
    }
    free(data);
    return error;
}

/* Waits until everything kept was sent, for as long as the attempt owns the
 * build and the builder runs. */
static int drain_all(sw_worker *w)
{
    int delay_ms = 50;
    for (;;) {
        int error = drain(w);
        if (error == 0 || !bus_away(error) || w->superseded || w->shutdown) {
            return error;
        }
        usleep((useconds_t)delay_ms * 1000);
        delay_ms = delay_ms * 2 > 500 ? 500 : delay_ms * 2;
        keep_job(w);
    }
}

static void flush(sw_worker *w, bool eof, int state)
{
    Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
    char subject[160], msg_id[96];

    if ((w->nlines == 0 && !eof) || w->superseded) {
        goto done;
    }
    chunk.build_id = w->job->build_id;
    chunk.tenant = w->job->tenant;
    chunk.attempt = (uint32_t)w->attempt;
    chunk.seq = ++w->seq;
    chunk.lines = w->line_ptrs;
    chunk.n_lines = w->nlines;
    chunk.eof = eof;
    chunk.state = eof ? state : 0;
    sw_subject(subject, sizeof(subject), "sw.logs", w->job->tenant, w->job->build_id);
    snprintf(msg_id, sizeof(msg_id), "%s.%u.log.%llu", w->job->build_id,
             (unsigned)w->attempt, (unsigned long long)chunk.seq);
    if (publish(w, subject, &chunk.base, msg_id) < 0 && !w->superseded) {
        sw_err(w->who, "log chunk %llu not sent: %s", (unsigned long long)chunk.seq,
               sw_error_last());
    }
done:
    for (size_t i = 0; i < w->nlines; i++) {
        free(w->lines[i].text);
    }
    w->nlines = 0;
    w->nbytes = 0;
}

static void add_line(sw_worker *w, int stream, const char *text, size_t len);

/* The tier's cap on a build's log: past it, one line says so and the rest of
 * the steps' output is dropped, on purpose and visibly (Slipway's own lines
 * still go out, so the result shows). */
static bool over_cap(sw_worker *w, int stream, size_t len)
{
    if (stream == SLIPWAY__LOG_STREAM__SYSTEM || w->log_cap == 0) {
        return false;
    }
    if (!w->truncated && w->log_bytes + len + 1 <= w->log_cap) {
        w->log_bytes += len + 1;
        return false;
    }
    if (!w->truncated) {
        char text[200];
        int n = snprintf(text, sizeof(text),
                         "log truncated at %llu bytes (the tier's log_limit); the rest of the "
                         "output is not kept", (unsigned long long)w->log_bytes);
        w->truncated = true;
        add_line(w, SLIPWAY__LOG_STREAM__SYSTEM, text, (size_t)n);
    }
    return true;
}

static void add_line(sw_worker *w, int stream, const char *text, size_t len)
{
    if (over_cap(w, stream, len)) {
        return;
    }
    if (w->nlines == BATCH_LINES || w->nbytes + len > BATCH_BYTES) {
        flush(w, false, 0);
    }
    Slipway__LogLine *line = &w->lines[w->nlines];
    slipway__log_line__init(line);
    line->stream = stream;
    line->text = sw_calloc(len + 1, 1);
    memcpy(line->text, text, len);
    line->text[len] = '\0';
    line->at_ms = sw_clock_wall_ms();
    w->line_ptrs[w->nlines] = line;
    if (w->nlines++ == 0) {
        w->first_line_ms = sw_clock_mono_ms();
    }
    w->nbytes += len + 16;
}

static void system_line(sw_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void system_line(sw_worker *w, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    add_line(w, SLIPWAY__LOG_STREAM__SYSTEM, text,
             n < 0 ? 0 : ((size_t)n >= sizeof(text) ? sizeof(text) - 1 : (size_t)n));
}

static int publish_event(sw_worker *w, Slipway__BuildEvent *ev, const char *suffix)
{
    char subject[160], msg_id[128];
    ev->build_id = w->job->build_id;
    ev->tenant = w->job->tenant;
    ev->attempt = (uint32_t)w->attempt;
    ev->builder = w->builder;
    ev->cluster = w->cluster;
    ev->at_ms = sw_clock_wall_ms();
    sw_subject(subject, sizeof(subject), "sw.events", w->job->tenant, w->job->build_id);
    snprintf(msg_id, sizeof(msg_id), "%s.%u.%s", w->job->build_id, (unsigned)w->attempt, suffix);
    return publish(w, subject, &ev->base, msg_id);
}

/* --- runner sink ---------------------------------------------------------- */

static void sink_line(void *ud, int stream, const char *text, size_t len)
{
    add_line(ud, stream, text, len);
}

static void sink_tick(void *ud)
{
    sw_worker *w = ud;
    keep_job(w);
    if (w->nlines > 0 && sw_clock_mono_ms() - w->first_line_ms >= BATCH_MS) {
        flush(w, false, 0);
    }
}

static void sink_step_started(void *ud, unsigned index, const char *name)
{
    sw_worker *w = ud;
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    char suffix[32];
    ev.kind = SLIPWAY__EVENT_KIND__STEP_STARTED;
    ev.state = SLIPWAY__BUILD_STATE__RUNNING;
    ev.step = (char *)name;
    ev.step_index = index;
    snprintf(suffix, sizeof(suffix), "step%u.start", index);
    if (publish_event(w, &ev, suffix) < 0 && !w->superseded) {
        sw_warn(w->who, "step event not sent: %s", sw_error_last());
    }
}

static void sink_step_finished(void *ud, unsigned index, const char *name, int exit_code,
                               int64_t duration_ms, const char *reason)
{
    sw_worker *w = ud;
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    char suffix[32];
    flush(w, false, 0);
    ev.kind = SLIPWAY__EVENT_KIND__STEP_FINISHED;
    ev.state = SLIPWAY__BUILD_STATE__RUNNING;
    ev.step = (char *)name;
    ev.step_index = index;
    ev.exit_code = exit_code;
    ev.duration_ms = duration_ms;
    ev.reason = (char *)(reason ? reason : "");
    snprintf(suffix, sizeof(suffix), "step%u.end", index);
    if (publish_event(w, &ev, suffix) < 0 && !w->superseded) {
        sw_warn(w->who, "step event not sent: %s", sw_error_last());
    }
}

/* CHECKED_OUT: the record has the commit as soon as it is known (a branch's
 * build has none before). */
static void sink_checked_out(void *ud, const char *sha)
{
    sw_worker *w = ud;
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.kind = SLIPWAY__EVENT_KIND__CHECKED_OUT;
    ev.state = SLIPWAY__BUILD_STATE__RUNNING;
    ev.sha = (char *)sha;
    if (publish_event(w, &ev, "checkout") < 0 && !w->superseded) {
        sw_warn(w->who, "checkout event not sent: %s", sw_error_last());
    }
}

/* --- the fence at the start and the end ------------------------------------ */

/* The build was decided already (a final claim): says FINISHED again from the
 * claim, with the msg-id its decider used (a duplicate when that got through),
 * in case the decider died between its claim and its event; then the job is
 * done. */
static void finished_already(sw_worker *w, const Slipway__Claim *claim)
{
    char by[160];
    sw_info(w->who, "build %s already ended (%s: %s); its delivery %llu is dropped",
            w->job->build_id, sw_claim_describe(by, sizeof(by), claim),
            sw_state_name(claim->state), (unsigned long long)sw_msg_delivered(w->msg));
    if (sw_claim_tell_result(w->bus, w->job->tenant, claim) < 0) {
        sw_warn(w->who, "cannot repeat the result: %s", sw_error_last());
        return; /* the job stays: its next delivery tries again */
    }
    if (sw_msg_ack_sync(w->msg, 5000) < 0) {
        sw_warn(w->who, "ack failed: %s", sw_error_last());
    }
}

/* Takes the build: a claim after the last one. Its attempt is JetStream's
 * delivery count, or one more than the last claim's when that is higher (the
 * attempts of a build only grow). Returns 0 when taken, 1 when the build had
 * ended already (handled), or an error when the claim could not be written
 * (the job is left alone and comes back after its ack wait). */
static int take_build(sw_worker *w)
{
    int error = 0, delay_ms = 50;
    for (int i = 0; i < CLAIM_TRIES && !w->shutdown; i++) {
        Slipway__Claim *last = NULL, mine = SLIPWAY__CLAIM__INIT;
        uint64_t seq = 0;
        uint32_t attempt = (uint32_t)sw_msg_delivered(w->msg);

        if ((error = sw_claim_read(w->bus, w->job->build_id, &last, &seq)) == 0) {
            if (last != NULL && last->final) {
                finished_already(w, last);
                slipway__claim__free_unpacked(last, NULL);
                return 1;
            }
            if (attempt == 0) {
                attempt = 1;
            }
            if (last != NULL && last->attempt >= attempt) {
                attempt = last->attempt + 1;
            }
            if (last != NULL) {
                slipway__claim__free_unpacked(last, NULL);
            }
            mine.build_id = w->job->build_id;
            mine.attempt = attempt;
            mine.builder = w->builder;
            mine.incarnation = w->incarnation;
            mine.at_ms = sw_clock_wall_ms();
            error = sw_claim_write(w->bus, &mine, seq, &w->claim_seq);
            if (error == 0) {
                w->attempt = attempt;
                snprintf(w->who, sizeof(w->who), "%s/%s#%u", w->builder, w->job->build_id,
                         attempt);
                w->fence_ms = w->progress_ms = sw_clock_mono_ms();
                return 0;
            }
            if (error == SW_ECONFLICT) {
                continue; /* someone claimed between our read and write: read again */
            }
        }
        sw_warn(w->who, "cannot claim the build: %s (try %d)", sw_error_last(), i + 1);
        usleep((useconds_t)delay_ms * 1000);
        delay_ms = delay_ms * 2 > 1000 ? 1000 : delay_ms * 2;
    }
    return error < 0 ? error : SW_ESTOPPED;
}

/* Ends the build with result: a final claim after ours decides it, so a
 * successor or the scheduler's verdict that got there first wins instead.
 * Tries for as long as it takes (a NATS outage: the result is kept), unless
 * the builder stops. */
static int decide(sw_worker *w, const sw_run_result *result)
{
    Slipway__Claim fin = SLIPWAY__CLAIM__INIT;
    int delay_ms = 10, said = 0;

    fin.build_id = w->job->build_id;
    fin.attempt = (uint32_t)w->attempt;
    fin.builder = w->builder;
    fin.incarnation = w->incarnation;
    fin.final = true;
    fin.state = result->state;
    fin.reason = (char *)result->reason;
    fin.exit_code = result->exit_code;
    for (;;) {
        fin.at_ms = sw_clock_wall_ms();
        uint64_t seq = 0;
        int error = sw_claim_write(w->bus, &fin, w->claim_seq, &seq);
        if (error == 0) {
            /* the fence is our final claim from now on: without this, the
             * next fence read took it for another's and dropped the result */
            w->claim_seq = seq;
            w->fence_ms = sw_clock_mono_ms();
            return 0;
        }
        if (error == SW_ECONFLICT && own_final_claim(w)) {
            return 0; /* an earlier try was stored though its answer was lost */
        }
        if (error == SW_ECONFLICT) {
            fence_holds(w); /* says by whom */
            w->superseded = true;
            return SW_ESTOPPED;
        }
        if (w->shutdown) {
            return error;
        }
        if (!said) {
            said = 1;
            sw_warn(w->who, "cannot record the result yet: %s; keeping it until NATS is back",
                    sw_error_last());
        }
        usleep((useconds_t)delay_ms * 1000);
        delay_ms = delay_ms * 2 > 500 ? 500 : delay_ms * 2;
        keep_job(w);
    }
}

/* --- the thread ------------------------------------------------------------ */

/* The slot's workspace of the build's project into buf, after the sweep of the slot's
 * workspaces of other projects. False when there is no path for it (the message set). */
static bool slot_workspace(sw_worker *w, char *buf, size_t size)
{
    char root[4200];
    unsigned removed = 0;
    snprintf(root, sizeof(root), "%s/ws", w->work_dir);
    if (sw_workspace_path(buf, size, root, w->job->tenant, w->job->project, w->slot) < 0) {
        return false;
    }
    if (w->cfg != NULL) {
        sw_workspace_bounds bounds = {(int64_t)w->cfg->workspace_keep_unused_ms,
                                      w->cfg->workspace_max_per_slot};
        if (sw_workspace_sweep(root, (int)w->slot, w->slots, &bounds, buf, &removed) < 0) {
            sw_warn(w->who, "slot %u: an unused workspace not removed: %s", w->slot,
                    sw_error_last());
        }
        if (removed > 0) {
            sw_info(w->who, "slot %u: removed %u workspaces of other projects (unused for %llu "
                    "min, or past %u a slot)", w->slot, removed,
                    (unsigned long long)w->cfg->workspace_keep_unused_ms / 60000,
                    w->cfg->workspace_max_per_slot);
        }
    }
    return true;
}

static void *worker_main(void *arg)
{
    sw_worker *w = arg;
    const Slipway__Limits *lim = w->job->limits;
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    sw_run_result result;
    char workspace[4096];
    int64_t started = sw_clock_mono_ms();

    memset(&result, 0, sizeof(result));
    int taken = take_build(w);
    if (taken != 0) {
        if (taken < 0) {
            sw_err(w->who, "not run: %s", sw_error_last());
        }
        goto done;
    }
    snprintf(w->outbox_path, sizeof(w->outbox_path), "%s/%s-%u.outbox", w->work_dir,
             w->job->build_id, (unsigned)w->attempt);
    w->outbox = sw_outbox_create(w->outbox_path, (size_t)OUTBOX_MEM_MIB << 20);
    ev.kind = SLIPWAY__EVENT_KIND__STARTED;
    ev.state = SLIPWAY__BUILD_STATE__RUNNING;
    ev.incarnation = w->incarnation;
    ev.job_seq = sw_msg_stream_seq(w->msg);
    if (publish_event(w, &ev, "started") < 0) {
        sw_err(w->who, "cannot announce the start: %s", sw_error_last());
        goto done; /* not reported: the job runs again */
    }
    system_line(w, "build %s attempt %u on builder %s (cluster %s)", w->job->build_id,
                (unsigned)w->attempt, w->builder, w->cluster);

    char no_workspace[256] = "";
    workspace[0] = '\0';
    if (!w->simulate && !slot_workspace(w, workspace, sizeof(workspace))) {
        snprintf(no_workspace, sizeof(no_workspace), "%s", sw_error_last());
    }
    /* Secrets and tokens come from this builder's own configuration, never
     * from the job: they do not travel over NATS. */
    const sw_project *project = w->cfg ? sw_config_project(w->cfg, w->job->project) : NULL;
    const char **values = NULL;
    sw_mask *mask = NULL;
    if (project != NULL && project->nsecrets > 0) {
        values = sw_calloc(project->nsecrets, sizeof(*values));
        for (size_t i = 0; i < project->nsecrets; i++) {
            values[i] = project->secrets[i].value;
        }
        mask = sw_mask_create(values, project->nsecrets);
    }
    sw_run_spec spec = {
        .build_id = w->job->build_id,
        .clone_url = w->job->clone_url,
        .ref = w->job->ref,
        .sha = w->job->sha,
        .workspace = workspace,
        .memory_bytes = lim ? lim->memory_bytes : 0,
        .pids = lim ? lim->pids : 0,
        .cpu_millis = lim ? lim->cpu_millis : 0,
        .timeout_ms = lim ? (uint64_t)lim->timeout_s * 1000 : 0,
        .cancel = &w->cancel,
        .docker = w->docker,
        .default_image = w->cfg ? w->cfg->docker_default_image : NULL,
        .registry = w->cfg ? w->cfg->docker_registry : NULL,
        .image_repo = project ? project->image : NULL,
        .builder = w->builder,
        .attempt = (uint32_t)w->attempt,
        .secrets = project ? project->secrets : NULL,
        .nsecrets = project ? project->nsecrets : 0,
        .mask = mask,
        .mirror_dir = w->mirror_dir,
        .git_token = project ? project->git_token : NULL,
    };
    sw_run_sink sink = {
        .ud = w,
        .line = sink_line,
        .tick = sink_tick,
        .step_started = sink_step_started,
        .step_finished = sink_step_finished,
        .checked_out = sink_checked_out,
    };
    if (no_workspace[0] != '\0') {
        result.state = SLIPWAY__BUILD_STATE__ERRORED;
        snprintf(result.reason, sizeof(result.reason), "internal error: %s", no_workspace);
        system_line(w, "build errored: %s", result.reason);
        sw_err(w->who, "%s", result.reason);
    } else if (w->simulate) {
        sw_simulate_run(&spec, &sink, &result);
    } else if (sw_run_job(&spec, &sink, &result) < 0) {
        sw_err(w->who, "runner: %s", result.reason);
    }
    sw_mask_destroy(&mask);
    free(values);
    if (atomic_load(&w->stopped_by_user) && !w->shutdown) {
        /* a cancel: read the fence now, the scheduler has most likely decided */
        result.state = SLIPWAY__BUILD_STATE__CANCELLED;
        result.exit_code = 0;
        snprintf(result.reason, sizeof(result.reason), "%s", w->stop_reason);
        if (fence_holds(w)) {
            system_line(w, "%s", w->stop_reason);
        }
    }
    if (w->superseded || !fence_fresh(w)) {
        goto done; /* its successor (or the scheduler) has the build */
    }
    if (w->shutdown) {
        system_line(w, "builder %s is stopping; the build will run again elsewhere",
                    w->builder);
        flush(w, false, 0);
        if (fence_holds(w)) {
            sw_msg_nak(w->msg, 0); /* run it again elsewhere, now */
        }
        goto done;
    }
    /* what an outage kept goes first: the result is decided with NATS back */
    if (drain_all(w) < 0 || decide(w, &result) < 0) {
        goto done;
    }
    flush(w, true, result.state);

    ev = (Slipway__BuildEvent)SLIPWAY__BUILD_EVENT__INIT;
    ev.kind = SLIPWAY__EVENT_KIND__FINISHED;
    ev.state = result.state;
    ev.exit_code = result.exit_code;
    ev.reason = result.reason;
    ev.sha = result.sha;
    ev.image = result.image;
    ev.digest = result.digest;
    ev.duration_ms = sw_clock_mono_ms() - started;
    ev.profile = sw_profile_event(&result.profile, w->job->project, w->job->branch);
    /* decided: from here on only this attempt may publish for the build, and
     * publish retries until it is through (or the builder stops: then the
     * job's next delivery finds the final claim and tells the result again) */
    if (publish_event(w, &ev, "finished") < 0 || drain_all(w) < 0) {
        sw_err(w->who, "cannot report the result: %s", sw_error_last());
        goto done;
    }
    if (sw_msg_ack_sync(w->msg, 5000) < 0 && sw_msg_ack_sync(w->msg, 5000) < 0) {
        sw_warn(w->who, "ack failed: %s (its next delivery will find the build ended)",
                sw_error_last());
    }
    sw_info(w->who, "%s: %s", sw_state_name(result.state), result.reason);

done:
    sw_profile_event_free(&ev.profile);
    sw_profile_clear(&result.profile);
    if (w->decided_elsewhere && sw_msg_ack_sync(w->msg, 5000) < 0) {
        /* the decider removes the job too; this is for a verdict whose removal failed */
        sw_debug(w->who, "ack of a decided build's job: %s", sw_error_last());
    }
    sw_actor_post(w->actor, w->done_tag, w, NULL);
    return NULL;
}

int sw_worker_start(sw_worker **out, const sw_worker_spec *spec)
{
    sw_worker *w = sw_calloc(1, sizeof(*w));
    size_t len;
    void *buf;

    w->bus = spec->bus;
    w->actor = spec->actor;
    w->done_tag = spec->done_tag;
    w->builder = sw_strdup(spec->builder);
    w->cluster = sw_strdup(spec->cluster);
    w->work_dir = sw_strdup(spec->work_dir);
    w->slot = spec->slot;
    w->slots = spec->slots;
    w->cfg = sw_config_retain(spec->cfg);
    w->docker = spec->docker;
    w->simulate = spec->simulate;
    w->mirror_dir = spec->mirror_dir;
    w->attempt = spec->attempt;
    w->msg = spec->msg;
    w->incarnation = sw_strdup(spec->incarnation);
    w->interval_ms = spec->cfg ? (int64_t)spec->cfg->heartbeat_interval_ms : 1000;
    buf = sw_wire_pack(&spec->job->base, &len);
    w->job = slipway__job__unpack(NULL, len, buf);
    free(buf);
    if (w->job == NULL) {
        abort();
    }
    w->log_cap = w->job->limits ? w->job->limits->log_max_bytes : 0;
    snprintf(w->who, sizeof(w->who), "%s/%s#%u", w->builder, w->job->build_id,
             (unsigned)w->attempt);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        int error = sw_error_set(SW_ERROR, "%s: cannot start a worker thread", w->who);
        slipway__job__free_unpacked(w->job, NULL);
        sw_config_release(&w->cfg);
        free(w->builder);
        free(w->cluster);
        free(w->work_dir);
        free(w->incarnation);
        free(w);
        return error;
    }
    *out = w;
    return 0;
}

void sw_worker_cancel(sw_worker *worker, bool shutdown)
{
    if (shutdown) {
        worker->shutdown = 1;
    }
    worker->cancel = 1;
}

void sw_worker_stop_build(sw_worker *worker, const char *reason)
{
    if (atomic_load(&worker->stopped_by_user)) {
        return; /* the first reason stands */
    }
    snprintf(worker->stop_reason, sizeof(worker->stop_reason), "%s", reason);
    atomic_store(&worker->stopped_by_user, 1);
    worker->cancel = 1;
}

void sw_worker_destroy(sw_worker **worker_p)
{
    sw_worker *w;
    if (worker_p == NULL || (w = *worker_p) == NULL) {
        return;
    }
    pthread_join(w->thread, NULL);
    sw_outbox_destroy(&w->outbox);
    for (size_t i = 0; i < w->nlines; i++) {
        free(w->lines[i].text);
    }
    slipway__job__free_unpacked(w->job, NULL);
    sw_config_release(&w->cfg);
    free(w->builder);
    free(w->cluster);
    free(w->work_dir);
    free(w->incarnation);
    free(w);
    *worker_p = NULL;
}

const char *sw_worker_build_id(const sw_worker *worker)
{
    return worker->job->build_id;
}

uint32_t sw_worker_attempt(const sw_worker *worker)
{
    return (uint32_t)worker->attempt;
}
