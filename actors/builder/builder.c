/* builder.c - the builder actor (see builder.h). */
#include "actors/builder/builder.h"

#include "actors/builder/exec/docker.h"
#include "actors/builder/pressure.h"
#include "actors/builder/worker.h"
#include "actors/builder/git/workspace.h"
#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/fs.h"
#include "runtime/host.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { TAG_JOB = 1, TAG_DONE, TAG_CANCEL, TAG_DRAIN };

/* Cancels heard for builds this builder does not run (yet): a job that
 * arrives within RECENT_MS of its cancel starts stopped. */
#define RECENT_CANCELS 32
#define RECENT_MS 60000

typedef struct recent_cancel {
    char build_id[64];
    char reason[256];
    int64_t at_mono_ms; /* 0: free */
} recent_cancel;

/* Pulling by pressure (see builder.h): a builder over a threshold re-checks
 * after HOLD_FIRST_MS, doubling up to HOLD_MAX_MS, and from the first check
 * under again every CHECK_EVERY_MS; its pull waits BUSY_DELAY_MS x busy/slots
 * before each fetch (the puller's pace), time enough for the check that
 * follows taking a job to pause it before anything more is fetched. */
#define HOLD_FIRST_MS 250
#define HOLD_MAX_MS 5000
#define CHECK_EVERY_MS 1000
#define BUSY_DELAY_MS 200

typedef struct running {
    sw_msg *msg;        /* retained until the worker is done with it */
    sw_worker *worker;
} running;

typedef struct builder {
    const sw_config *cfg;
    const sw_builder_config *bc; /* = &own: listed or made by an autoscaler (resolve) */
    sw_builder_config own;
    char own_name[65], own_cluster[65];
    const sw_cluster *cluster;
    sw_actor *self;
    sw_bus *bus;
    char work_dir[4096];
    char mirror_dir[4096];
    sw_docker *docker;  /* the docker executor's engine; NULL: the shell executor */
    running *jobs;      /* bc->slots entries; worker NULL = free */
    char incarnation[33]; /* this process's: heartbeats and claims carry it */
    recent_cancel recent[RECENT_CANCELS];
    size_t recent_next;

    /* what the pull may take: drain (sw.ctl.drain, SIGTERM) and pressure */
    bool draining;       /* takes nothing new */
    bool drained;        /* draining and nothing runs any more */
    bool exit_when_drained, exit_asked;
    char drained_by[96]; /* while draining: who asked first */
    bool holding;        /* a slot is free but the pressure is over a threshold */
    char hold_reason[160];
    sw_pressure pressure; /* the last reading */
    int64_t pressure_at;  /* mono ms of that reading */
    int hold_backoff_ms;  /* 0 while under */
    int64_t next_check;   /* mono ms: read the pressure again (when a slot is free) */
    int64_t next_heartbeat;
    int limit;            /* the pull's max_inflight now */
    int pace;             /* the pull's pace now (BUSY_DELAY_MS, or 0 with no thresholds) */
    unsigned sent_state;  /* draining/drained/holding as the last heartbeat said */
} builder;

/* 32 hex digits, new each start: a builder restarted under the same name is
 * another incarnation, and the attempts of the one before are lost. */
static void make_incarnation(char out[33])
{
    unsigned char raw[16] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
        abort(); /* no randomness: nothing to run on */
    }
    close(fd);
    for (int i = 0; i < 16; i++) {
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    }
}

static uint32_t busy_count(const builder *b)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < b->bc->slots; i++) {
        n += b->jobs[i].worker != NULL;
    }
    return n;
}

static unsigned state_bits(const builder *b)
{
    return (unsigned)b->draining | (unsigned)b->drained << 1 | (unsigned)b->holding << 2;
}

/* "<build>#<attempt>" of every running job, for heartbeats and drain replies. */
typedef struct build_ids {
    char *ids[256];
    char buf[256][80];
    size_t n;
} build_ids;

static void collect_ids(const builder *b, build_ids *out)
{
    out->n = 0;
    for (uint32_t i = 0; i < b->bc->slots && out->n < 256; i++) {
        if (b->jobs[i].worker != NULL) {
            snprintf(out->buf[out->n], sizeof(out->buf[0]), "%s#%u",
                     sw_worker_build_id(b->jobs[i].worker), sw_worker_attempt(b->jobs[i].worker));
            out->ids[out->n] = out->buf[out->n];
            out->n++;
        }
    }
}

static void fill_pressure(const builder *b, Slipway__Pressure *p)
{
    p->cpu_some_avg10 = b->pressure.cpu;
    p->memory_some_avg10 = b->pressure.memory;
    p->io_some_avg10 = b->pressure.io;
    p->memory_available_bytes =
        b->pressure.memory_available > 0 ? (uint64_t)b->pressure.memory_available : 0;
    p->disk_free_bytes = b->pressure.disk_free > 0 ? (uint64_t)b->pressure.disk_free : 0;
    p->source = (char *)b->pressure.source;
}

static void read_pressure(builder *b)
{
    sw_pressure_read(&b->pressure, "", b->work_dir);
    b->pressure_at = sw_clock_mono_ms();
}

static void send_heartbeat(builder *b)
{
    Slipway__Heartbeat hb = SLIPWAY__HEARTBEAT__INIT;
    Slipway__Pressure pr = SLIPWAY__PRESSURE__INIT;
    build_ids *ids = sw_calloc(1, sizeof(*ids));
    char subject[160];

    collect_ids(b, ids);
    if (sw_clock_mono_ms() - b->pressure_at >= (int64_t)b->cfg->heartbeat_interval_ms) {
        read_pressure(b); /* the figures stay fresh while nothing checks them */
    }
    fill_pressure(b, &pr);
    hb.builder = b->bc->name;
    hb.cluster = b->cluster->name;
    hb.slots = b->bc->slots;
    hb.busy = (uint32_t)ids->n;
    hb.builds = ids->ids;
    hb.n_builds = ids->n;
    hb.at_ms = sw_clock_wall_ms();
    hb.interval_ms = (uint32_t)b->cfg->heartbeat_interval_ms;
    hb.incarnation = b->incarnation;
    hb.draining = b->draining;
    hb.drained = b->drained;
    hb.drained_by = b->draining ? b->drained_by : "";
    hb.holding_back = b->holding;
    hb.hold_reason = b->holding ? b->hold_reason : "";
    hb.pressure = &pr;
    sw_subject(subject, sizeof(subject), "sw.hb", b->cluster->name, b->bc->name);
    if (sw_wire_publish(b->bus, subject, &hb.base) < 0) {
        sw_debug(sw_actor_name(b->self), "heartbeat not sent: %s", sw_error_last());
    }
    b->sent_state = state_bits(b);
    b->next_heartbeat = sw_clock_mono_ms() + (int64_t)b->cfg->heartbeat_interval_ms;
    free(ids);
}

static void set_limit(builder *b, int limit)
{
    if (limit != b->limit && sw_actor_pull_limit(b->self, TAG_JOB, limit) == 0) {
        sw_debug(sw_actor_name(b->self), "pull limit %d -> %d", b->limit, limit);
        b->limit = limit;
    }
}

/* Whether two hold reasons name the same cause: their first word ("cpu",
 * "memory", "disk", ...), not the figures after it. */
static bool same_cause(const char *a, const char *b)
{
    size_t n = strcspn(a, " ");
    return n == strcspn(b, " ") && strncmp(a, b, n) == 0;
}

/* Decides what the pull may take now and sets its limit; returns ms until it
 * wants to decide again (-1: only when something changes). The thresholds are
 * read through b->cluster at every check. */
static int64_t gate(builder *b)
{
    int64_t now = sw_clock_mono_ms();
    const char *me = sw_actor_name(b->self);
    char reason[sizeof(b->hold_reason)];
    /* with every threshold off no check can pause the pull: no reason to wait */
    int pace = sw_pressure_checked(&b->cluster->pressure) ? BUSY_DELAY_MS : 0;

    if (pace != b->pace && sw_actor_pull_pace(b->self, TAG_JOB, pace) == 0) {
        b->pace = pace;
    }

    if (b->draining || busy_count(b) >= b->bc->slots) {
        /* nothing is taken (draining) or nothing can be (full): not holding back */
        b->holding = false;
        b->hold_backoff_ms = 0;
        set_limit(b, b->draining ? 0 : (int)b->bc->slots);
        b->next_check = now;
        return -1;
    }
    if (now < b->next_check) {
        return b->next_check - now;
    }
    read_pressure(b);
    if (sw_pressure_over(&b->pressure, &b->cluster->pressure, reason, sizeof(reason))) {
        if (!b->holding || !same_cause(reason, b->hold_reason)) {
            sw_info(me, "holding back: %s", reason); /* once, and when the cause changes */
        }
        snprintf(b->hold_reason, sizeof(b->hold_reason), "%s", reason);
        b->holding = true;
        b->hold_backoff_ms = b->hold_backoff_ms == 0 ? HOLD_FIRST_MS : 2 * b->hold_backoff_ms;
        if (b->hold_backoff_ms > HOLD_MAX_MS) {
            b->hold_backoff_ms = HOLD_MAX_MS;
        }
        b->next_check = now + b->hold_backoff_ms;
        set_limit(b, 0);
    } else {
        if (b->holding) {
            sw_info(me, "pressure under the thresholds again: pulling");
        }
        b->holding = false;
        b->hold_backoff_ms = 0;
        b->next_check = now + CHECK_EVERY_MS;
        set_limit(b, (int)b->bc->slots);
    }
    return b->next_check - now;
}

/* Draining and nothing runs: says so, and asks the process to exit if told to. */
static void check_drained(builder *b)
{
    if (!b->draining || b->drained || busy_count(b) > 0) {
        return;
    }
    b->drained = true;
    sw_info(sw_actor_name(b->self), "drained: nothing runs, nothing is taken");
    send_heartbeat(b);
}

static void maybe_exit(builder *b)
{
    if (b->drained && b->exit_when_drained && !b->exit_asked) {
        b->exit_asked = true;
        sw_host_request_stop(sw_actor_name(b->self), "drained with exit");
    }
}

static void on_job(builder *b, const sw_mail *mail)
{
    const Slipway__Job *job = (const Slipway__Job *)mail->pb;
    running *slot = NULL;

    if (b->draining) {
        /* fetched before the pull was paused: another builder takes it now */
        sw_info(sw_actor_name(b->self), "draining: job %s handed back", job->build_id);
        sw_msg_nak(mail->msg, 0);
        return;
    }
    uint32_t index = 0;
    for (uint32_t i = 0; i < b->bc->slots; i++) {
        if (b->jobs[i].worker == NULL) {
            slot = &b->jobs[i]; /* the lowest free one: its workspaces are the job's */
            index = i;
            break;
        }
    }
    if (slot == NULL) {
        /* the puller hands out at most `slots` jobs: this cannot happen */
        sw_err(sw_actor_name(b->self), "job %s arrived with every slot busy; handing it back",
               job->build_id);
        sw_msg_nak(mail->msg, 0);
        return;
    }
    sw_worker_spec spec = {
        .bus = b->bus,
        .actor = b->self,
        .done_tag = TAG_DONE,
        .builder = b->bc->name,
        .cluster = b->cluster->name,
        .work_dir = b->work_dir,
        .slot = index,
        .slots = b->bc->slots,
        .cfg = b->cfg,
        .docker = b->docker,
        .simulate = strcmp(b->cluster->executor, "simulate") == 0,
        .mirror_dir = b->mirror_dir,
        .job = job,
        .attempt = (uint32_t)sw_msg_delivered(mail->msg),
        .msg = mail->msg,
        .incarnation = b->incarnation,
    };
    if (spec.attempt == 0) {
        spec.attempt = 1;
    }
    if (sw_worker_start(&slot->worker, &spec) < 0) {
        sw_err(sw_actor_name(b->self), "%s", sw_error_last());
        sw_msg_nak(mail->msg, 1000);
        return;
    }
    slot->msg = sw_msg_retain(mail->msg);
    sw_info(sw_actor_name(b->self), "running build %s (delivery %u) in slot %u", job->build_id,
            spec.attempt, index);
    for (size_t i = 0; i < RECENT_CANCELS; i++) {
        recent_cancel *rc = &b->recent[i];
        if (rc->at_mono_ms != 0 && sw_clock_mono_ms() - rc->at_mono_ms < RECENT_MS &&
            strcmp(rc->build_id, job->build_id) == 0) {
            sw_worker_stop_build(slot->worker, rc->reason); /* its claim decides what counts */
        }
    }
    b->next_check = 0; /* reads its pressure again before the next fetch (the pace) */
    gate(b);
    send_heartbeat(b);
    sw_actor_wake(b->self);
}

/* sw.ctl.cancel.<build>: the worker running it stops its step now (the
 * scheduler decides the cancel by claim; this only makes it quick). Not
 * answered: the scheduler answers. */
static void on_cancel(builder *b, const sw_mail *mail)
{
    const Slipway__CancelRequest *req = (const Slipway__CancelRequest *)mail->pb;
    const char *id = req->build_id;
    char reason[256];
    bool running = false;

    if (id[0] == '\0' || strlen(id) >= sizeof(b->recent[0].build_id)) {
        return;
    }
    sw_cancel_reason(reason, sizeof(reason), req->by, req->reason);
    for (uint32_t i = 0; i < b->bc->slots; i++) {
        sw_worker *w = b->jobs[i].worker;
        if (w != NULL && strcmp(sw_worker_build_id(w), id) == 0) {
            sw_info(sw_actor_name(b->self), "build %s: %s; stopping its step", id, reason);
            sw_worker_stop_build(w, reason);
            running = true;
        }
    }
    if (!running) {
        recent_cancel *rc = &b->recent[b->recent_next++ % RECENT_CANCELS];
        snprintf(rc->build_id, sizeof(rc->build_id), "%s", id);
        snprintf(rc->reason, sizeof(rc->reason), "%s", reason);
        rc->at_mono_ms = sw_clock_mono_ms();
    }
}

static void on_done(builder *b, const sw_mail *mail)
{
    for (uint32_t i = 0; i < b->bc->slots; i++) {
        running *slot = &b->jobs[i];
        if (slot->worker != mail->payload) {
            continue;
        }
        /* the worker acked, nak'ed or left the job as its fence allowed */
        sw_worker_destroy(&slot->worker);
        sw_msg_release(&slot->msg); /* frees the slot for the puller */
        b->next_check = 0;
        gate(b);
        send_heartbeat(b);
        check_drained(b);
        maybe_exit(b);
        sw_actor_wake(b->self);
        return;
    }
}

/* Answers a DrainRequest (drain or undrain; the same request twice answers
 * the same) with this builder's state in builders[0]. */
static void on_drain(builder *b, const sw_mail *mail)
{
    const Slipway__DrainRequest *req = (const Slipway__DrainRequest *)mail->pb;
    const char *me = sw_actor_name(b->self);
    const char *by = req->by[0] ? req->by : "someone";

    if (req->drain && !b->draining) {
        sw_info(me, "draining (asked by %s%s): taking nothing new, %u running", by,
                req->exit ? ", exit once drained" : "", busy_count(b));
    } else if (!req->drain && b->draining) {
        sw_info(me, "undrained (asked by %s): pulling again", by);
    }
    if (req->drain) {
        if (!b->draining) {
            snprintf(b->drained_by, sizeof(b->drained_by), "%s", by);
        }
        b->draining = true;
        b->exit_when_drained = b->exit_when_drained || req->exit;
    } else {
        b->draining = b->drained = b->exit_when_drained = false;
        b->next_check = 0;
    }
    gate(b);
    if (state_bits(b) != b->sent_state) {
        send_heartbeat(b);
    }
    check_drained(b);

    Slipway__ApiReply r = SLIPWAY__API_REPLY__INIT;
    Slipway__BuilderInfo info = SLIPWAY__BUILDER_INFO__INIT;
    Slipway__BuilderInfo *infos[1] = {&info};
    Slipway__Pressure pr = SLIPWAY__PRESSURE__INIT;
    build_ids *ids = sw_calloc(1, sizeof(*ids));
    collect_ids(b, ids);
    fill_pressure(b, &pr);
    info.name = b->bc->name;
    info.cluster = b->cluster->name;
    info.slots = b->bc->slots;
    info.busy = (uint32_t)ids->n;
    info.builds = ids->ids;
    info.n_builds = ids->n;
    info.draining = b->draining;
    info.drained = b->drained;
    info.holding_back = b->holding;
    info.hold_reason = b->holding ? b->hold_reason : "";
    info.pressure = &pr;
    info.alive = true;
    info.last_seen_ms = sw_clock_wall_ms();
    r.builders = infos;
    r.n_builders = 1;
    if (sw_msg_reply(mail->msg) != NULL && sw_wire_respond(b->bus, mail->msg, &r.base) < 0) {
        sw_warn(me, "cannot answer on %s: %s", sw_msg_subject(mail->msg), sw_error_last());
    }
    free(ids);
    maybe_exit(b);
    sw_actor_wake(b->self);
}

static int64_t builder_tick(sw_actor *self, void *state)
{
    builder *b = state;
    int64_t wait = gate(b);
    int64_t now = sw_clock_mono_ms();

    if (now >= b->next_heartbeat || state_bits(b) != b->sent_state) {
        send_heartbeat(b); /* the workers keep their jobs in progress themselves */
    }
    now = sw_clock_mono_ms();
    if (wait < 0 || wait > b->next_heartbeat - now) {
        wait = b->next_heartbeat - now;
    }
    return wait < 0 ? 0 : wait;
}

/* Copies what the builder was started as: a generated builder's settings
 * (sw_config_builder_resolve) live in no config. */
static void keep_builder_config(builder *b, const sw_builder_config *bc)
{
    snprintf(b->own_name, sizeof(b->own_name), "%s", bc->name);
    snprintf(b->own_cluster, sizeof(b->own_cluster), "%s", bc->cluster);
    b->own = (sw_builder_config){.name = b->own_name, .cluster = b->own_cluster,
                                 .slots = bc->slots};
    b->bc = &b->own;
}

/* At start, nothing runs: what an earlier run of this builder left in its work_dir
 * goes (outboxes, the workspaces of builds before they were kept), but ws/, the kept
 * workspaces, which are swept by the configuration's bounds (workspace.h). */
static int tidy_work_dir(builder *b)
{
    const char *me = sw_actor_name(b->self);
    char root[4200], path[4500];
    sw_workspace_bounds bounds = {(int64_t)b->cfg->workspace_keep_unused_ms,
                                  b->cfg->workspace_max_per_slot};
    unsigned removed = 0;
    struct dirent *e;
    DIR *d;
    int error;

    if ((error = sw_fs_mkdir_p(b->work_dir)) < 0) {
        return error;
    }
    if ((d = opendir(b->work_dir)) == NULL) {
        return sw_error_set(SW_EIO, "cannot read %s: %s", b->work_dir, strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "ws") == 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", b->work_dir, e->d_name);
        if (sw_fs_rmtree(path) < 0) {
            sw_warn(me, "left by an earlier run, not removed: %s", sw_error_last());
        }
    }
    closedir(d);
    snprintf(root, sizeof(root), "%s/ws", b->work_dir);
    if (sw_workspace_sweep(root, -1, b->bc->slots, &bounds, NULL, &removed) < 0) {
        sw_warn(me, "a workspace not removed: %s", sw_error_last());
    }
    if (removed > 0) {
        sw_info(me, "removed %u workspaces (unused, unfinished, or of a slot it no longer has)",
                removed);
    }
    return 0;
}

static int builder_init(sw_actor *self, void **state_out, void *arg)
{
    const sw_actor_ctx *ctx = arg;
    const sw_builder_config *bc;
    sw_builder_config found;
    builder *b;
    char durable[96];
    int error;

    if ((error = sw_config_builder_resolve(ctx->cfg, ctx->target, &found)) < 0) {
        return error;
    }
    b = sw_calloc(1, sizeof(*b));
    keep_builder_config(b, &found);
    bc = b->bc;
    b->jobs = sw_calloc(bc->slots, sizeof(running));
    b->cfg = sw_config_retain(ctx->cfg);
    b->cluster = sw_config_cluster(ctx->cfg, bc->cluster);
    b->self = self;
    b->bus = sw_actor_bus(self);
    make_incarnation(b->incarnation);
    snprintf(b->work_dir, sizeof(b->work_dir), "%s/%s", ctx->cfg->work_dir, bc->name);
    /* git mirrors are shared by the builders of this host (they lock each mirror) */
    snprintf(b->mirror_dir, sizeof(b->mirror_dir), "%s/.mirrors", ctx->cfg->work_dir);
    if ((error = tidy_work_dir(b)) < 0) {
        goto fail;
    }
    if (strcmp(b->cluster->executor, "docker") == 0) {
        char label[128];
        if ((error = sw_docker_open(&b->docker, ctx->cfg->docker_socket)) < 0) {
            goto fail;
        }
        /* nor are the containers it left */
        snprintf(label, sizeof(label), "slipway.builder=%s", bc->name);
        int n = sw_docker_remove_labeled(b->docker, label);
        if (n > 0) {
            sw_info(sw_actor_name(self), "removed %d containers left by an earlier run", n);
        }
    }
    *state_out = b;
    error = sw_actor_subscribe(self, TAG_CANCEL, SW_CTL_CANCEL ".*", NULL,
                               &slipway__cancel_request__descriptor);
    if (error == 0) {
        b->limit = 0; /* paused until the first pressure check (gate, below) */
        error = sw_actor_pull(self, TAG_JOB, SW_STREAM_JOBS,
                              sw_durable_cluster(durable, sizeof(durable), b->cluster->name), 0,
                              &slipway__job__descriptor);
    }
    /* a busy builder waits a little longer before it takes the next job
     * (the pace, set by gate below) */
    if (error == 0) {
        char subject[160];
        error = sw_actor_subscribe(self, TAG_DRAIN,
                                   sw_subject(subject, sizeof(subject), SW_CTL_DRAIN, bc->name,
                                              NULL),
                                   NULL, &slipway__drain_request__descriptor);
    }
    if (error == 0) {
        /* the first fetch waits for the first pressure check */
        gate(b);
        sw_info(sw_actor_name(self),
                "cluster %s, %u slots, %s executor%s%s, workspaces in %s, incarnation %.8s",
                b->cluster->name, bc->slots, b->cluster->executor, b->docker ? " at " : "",
                b->docker ? sw_docker_socket(b->docker) : "", b->work_dir, b->incarnation);
        return 0;
    }
fail:
    sw_docker_close(&b->docker);
    sw_config_release(&b->cfg);
    free(b->jobs);
    free(b);
    *state_out = NULL;
    return error;
}

static void builder_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    if (mail->tag == TAG_JOB) {
        on_job(state, mail);
    } else if (mail->tag == TAG_DONE) {
        on_done(state, mail);
    } else if (mail->tag == TAG_CANCEL) {
        on_cancel(state, mail);
    } else if (mail->tag == TAG_DRAIN) {
        on_drain(state, mail);
    }
}

static void builder_stop(sw_actor *self, void *state)
{
    builder *b = state;
    if (b == NULL) {
        return;
    }
    for (uint32_t i = 0; i < b->bc->slots; i++) {
        if (b->jobs[i].worker != NULL) {
            sw_worker_cancel(b->jobs[i].worker, true);
        }
    }
    for (uint32_t i = 0; i < b->bc->slots; i++) {
        if (b->jobs[i].worker != NULL) {
            sw_worker_destroy(&b->jobs[i].worker); /* it nak'ed its job, if still its own */
            sw_msg_release(&b->jobs[i].msg);
        }
    }
    sw_docker_close(&b->docker);
    sw_config_release(&b->cfg);
    free(b->jobs);
    free(b);
}

/* slipway.yaml was reloaded: the next jobs run with the new config (projects'
 * secrets and git tokens, the registry, the cluster's settings); a running
 * worker keeps the config it started with. What the builder was started as
 * (its cluster, its slots, the cluster's executor) stays until a restart: when
 * that changed, the builder keeps its whole config. */
static int builder_reconfigure(sw_actor *self, void *state, const sw_config *cfg)
{
    builder *b = state;
    sw_builder_config found;
    const sw_builder_config *bc =
        sw_config_builder_resolve(cfg, b->bc->name, &found) == 0 ? &found : NULL;
    const sw_cluster *cluster = bc ? sw_config_cluster(cfg, bc->cluster) : NULL;
    (void)self;

    if (bc == NULL || cluster == NULL || strcmp(bc->cluster, b->bc->cluster) != 0 ||
        bc->slots != b->bc->slots || strcmp(cluster->executor, b->cluster->executor) != 0) {
        return sw_error_set(SW_EINVALID,
                            "builder %s is %s in %s: it keeps the configuration it started "
                            "with until the next restart",
                            b->bc->name, bc == NULL ? "gone" : "changed (cluster, slots or executor)",
                            cfg->path);
    }
    sw_config_release(&b->cfg);
    b->cfg = sw_config_retain(cfg);
    b->cluster = cluster;
    return 0;
}

const sw_actor_impl sw_builder_impl = {
    .kind = "builder",
    .init = builder_init,
    .handle = builder_handle,
    .tick = builder_tick,
    .stop = builder_stop,
    .reconfigure = builder_reconfigure,
};
