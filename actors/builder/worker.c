/* worker.c - one job of a builder, on its own thread (see worker.h). */
#include "actors/builder/worker.h"

#include "actors/builder/runner.h"
#include "runtime/buildstate.h"
#include "runtime/clock.h"
#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/mem.h"
#include "runtime/wire.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_LINES 64
#define BATCH_BYTES (32 * 1024)
#define BATCH_MS 100
#define PUBLISH_TRIES 20 /* with backoff up to 2 s: about half a minute */

struct sw_worker {
    sw_bus *bus;
    sw_actor *actor;
    int done_tag;
    char *builder, *cluster, *work_dir;
    const sw_config *cfg;
    sw_docker *docker;
    const char *mirror_dir;
    Slipway__Job *job;
    uint32_t attempt;
    pthread_t thread;
    volatile int cancel;
    volatile int shutdown;
    bool reported;
    char who[96];

    /* the batch being filled */
    Slipway__LogLine lines[BATCH_LINES];
    Slipway__LogLine *line_ptrs[BATCH_LINES];
    size_t nlines, nbytes;
    int64_t first_line_ms;
    uint64_t seq;
};

/* Publishes with retries: the bus may be reconnecting. */
static int publish(sw_worker *w, const char *subject, const ProtobufCMessage *msg,
                   const char *msg_id)
{
    int error = 0, delay_ms = 100;
    for (int i = 0; i < PUBLISH_TRIES; i++) {
        if ((error = sw_wire_js_publish(w->bus, subject, msg, msg_id, NULL)) == 0) {
            return 0;
        }
        sw_warn(w->who, "publish on %s failed: %s (try %d)", subject, sw_error_last(), i + 1);
        usleep((useconds_t)delay_ms * 1000);
        delay_ms = delay_ms * 2 > 2000 ? 2000 : delay_ms * 2;
    }
    return error;
}

static void flush(sw_worker *w, bool eof, int state)
{
    Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
    char subject[160], msg_id[96];

    if (w->nlines == 0 && !eof) {
        return;
    }
    chunk.build_id = w->job->build_id;
    chunk.tenant = w->job->tenant;
    chunk.attempt = w->attempt;
    chunk.seq = ++w->seq;
    chunk.lines = w->line_ptrs;
    chunk.n_lines = w->nlines;
    chunk.eof = eof;
    chunk.state = eof ? state : 0;
    sw_subject(subject, sizeof(subject), "sw.logs", w->job->tenant, w->job->build_id);
    snprintf(msg_id, sizeof(msg_id), "%s.%u.log.%llu", w->job->build_id, w->attempt,
             (unsigned long long)chunk.seq);
    if (publish(w, subject, &chunk.base, msg_id) < 0) {
        sw_err(w->who, "log chunk %llu lost: %s", (unsigned long long)chunk.seq, sw_error_last());
    }
    for (size_t i = 0; i < w->nlines; i++) {
        free(w->lines[i].text);
    }
    w->nlines = 0;
    w->nbytes = 0;
}

static void add_line(sw_worker *w, int stream, const char *text, size_t len)
{
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
    ev->attempt = w->attempt;
    ev->builder = w->builder;
    ev->cluster = w->cluster;
    ev->at_ms = sw_clock_wall_ms();
    sw_subject(subject, sizeof(subject), "sw.events", w->job->tenant, w->job->build_id);
    snprintf(msg_id, sizeof(msg_id), "%s.%u.%s", w->job->build_id, w->attempt, suffix);
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
    if (publish_event(w, &ev, suffix) < 0) {
        sw_warn(w->who, "step event lost: %s", sw_error_last());
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
    if (publish_event(w, &ev, suffix) < 0) {
        sw_warn(w->who, "step event lost: %s", sw_error_last());
    }
}

/* --- the thread ------------------------------------------------------------ */

static void *worker_main(void *arg)
{
    sw_worker *w = arg;
    const Slipway__Limits *lim = w->job->limits;
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    sw_run_result result;
    char workspace[4096];
    int64_t started = sw_clock_mono_ms();

    memset(&result, 0, sizeof(result));
    ev.kind = SLIPWAY__EVENT_KIND__STARTED;
    ev.state = SLIPWAY__BUILD_STATE__RUNNING;
    if (publish_event(w, &ev, "started") < 0) {
        sw_err(w->who, "cannot announce the start: %s", sw_error_last());
        goto done; /* not reported: the job runs again */
    }
    system_line(w, "build %s attempt %u on builder %s (cluster %s)", w->job->build_id,
                w->attempt, w->builder, w->cluster);

    snprintf(workspace, sizeof(workspace), "%s/%s-%u", w->work_dir, w->job->build_id,
             w->attempt);
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
        .attempt = w->attempt,
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
    };
    if (sw_run_job(&spec, &sink, &result) < 0) {
        sw_err(w->who, "runner: %s", result.reason);
    }
    sw_mask_destroy(&mask);
    free(values);
    if (w->shutdown) {
        system_line(w, "builder %s is stopping; the build will run again elsewhere",
                    w->builder);
        flush(w, false, 0);
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
    if (publish_event(w, &ev, "finished") < 0) {
        sw_err(w->who, "cannot report the result: %s", sw_error_last());
        goto done;
    }
    w->reported = true;
    sw_info(w->who, "%s: %s", sw_state_name(result.state), result.reason);

done:
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
    w->cfg = spec->cfg;
    w->docker = spec->docker;
    w->mirror_dir = spec->mirror_dir;
    w->attempt = spec->attempt;
    buf = sw_wire_pack(&spec->job->base, &len);
    w->job = slipway__job__unpack(NULL, len, buf);
    free(buf);
    if (w->job == NULL) {
        abort();
    }
    snprintf(w->who, sizeof(w->who), "%s/%s#%u", w->builder, w->job->build_id, w->attempt);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        int error = sw_error_set(SW_ERROR, "%s: cannot start a worker thread", w->who);
        slipway__job__free_unpacked(w->job, NULL);
        free(w->builder);
        free(w->cluster);
        free(w->work_dir);
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

void sw_worker_destroy(sw_worker **worker_p)
{
    sw_worker *w;
    if (worker_p == NULL || (w = *worker_p) == NULL) {
        return;
    }
    pthread_join(w->thread, NULL);
    for (size_t i = 0; i < w->nlines; i++) {
        free(w->lines[i].text);
    }
    slipway__job__free_unpacked(w->job, NULL);
    free(w->builder);
    free(w->cluster);
    free(w->work_dir);
    free(w);
    *worker_p = NULL;
}

const char *sw_worker_build_id(const sw_worker *worker)
{
    return worker->job->build_id;
}

uint32_t sw_worker_attempt(const sw_worker *worker)
{
    return worker->attempt;
}

bool sw_worker_reported(const sw_worker *worker)
{
    return worker->reported;
}
