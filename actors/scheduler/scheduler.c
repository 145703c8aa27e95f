/* scheduler.c - the scheduler actor (see scheduler.h). */
#include "actors/scheduler/scheduler.h"

#include "actors/scheduler/handon.h"
#include "actors/scheduler/quota.h"
#include "actors/scheduler/view.h"
#include "runtime/buildstate.h"
#include "runtime/claim.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_REQUEST = 1, TAG_EVENT, TAG_HEARTBEAT, TAG_API_BUILDS, TAG_API_BUILD,
       TAG_API_PROJECT, TAG_API_BUILDERS, TAG_ADVISORY, TAG_CANCEL, TAG_API_PROJECTS,
       TAG_PUBACK };

#define TICK_MS 500
/* SCHED full: a request goes back to REQUESTS (nak) and comes again after this */
#define FULL_RETRY_MS 2000
/* a request's CREATED or job not acked by JetStream this long: it comes again */
#define PUBLISH_TIMEOUT_MS 10000
/* requests taken from REQUESTS at once: each waits for two publish acks that
 * come back through the mailbox behind the events, so a burst needs many */
#define REQUESTS_IN_FLIGHT 128
#define LIST_DEFAULT 20
#define LIST_MAX 500    /* records in one answer of sw.api.builds */
#define LIST_SCAN 20000 /* records one answer reads at most (filters): then a cursor */

typedef struct builder_seen {
    Slipway__Heartbeat *hb; /* the last heartbeat (owned) */
    int64_t seen_mono_ms;
    int lost;               /* its builds were reported lost */
} builder_seen;

typedef struct scheduler {
    const sw_config *cfg;
    sw_actor *self;
    sw_bus *bus;
    sw_view *view;
    sw_handon *handon;      /* requests on their way to CREATED and SCHED */
    builder_seen *builders;
    size_t nbuilders;
    bool bus_was_down; /* heartbeats could not come: no builder is judged on that time */
    /* an episode of a full SCHED: from the first refusal to the next hand-on */
    bool sched_full;
    int64_t full_since_ms;  /* monotonic */
    uint64_t full_refused;  /* hand-ons refused in this episode */
    int64_t quota_told_ms;  /* monotonic: the last round of Quota announcements */
} scheduler;

static const char *who(scheduler *s)
{
    return sw_actor_name(s->self);
}

/* --- requests ------------------------------------------------------------ */

/* SCHED's answer to a job (handon's hook). The first refusal of an episode of
 * a full SCHED is logged (warn), the rest are not, and the first hand-on after
 * it says how long it lasted. */
static void on_sched(void *ctx, int error, const char *why)
{
    scheduler *s = ctx;
    if (error == SW_EFULL) {
        if (!s->sched_full) {
            s->sched_full = true;
            s->full_since_ms = sw_clock_mono_ms();
            s->full_refused = 0;
            sw_warn(who(s),
                    "stream %s is full: requests wait in %s and are offered again every %d ms "
                    "until it has room (%s)",
                    SW_STREAM_SCHED, SW_STREAM_REQUESTS, FULL_RETRY_MS, why ? why : "");
        }
        s->full_refused++;
    } else if (error == 0 && s->sched_full) {
        s->sched_full = false;
        sw_info(who(s), "stream %s has room again after %lld ms (%llu hand-ons refused meanwhile)",
                SW_STREAM_SCHED, (long long)(sw_clock_mono_ms() - s->full_since_ms),
                (unsigned long long)s->full_refused);
    }
}

static void supersede(scheduler *s, const sw_project *project, const Slipway__BuildEvent *created);

/* EVENTS stored a build's CREATED (handon's hook): the view has it at once
 * (the copy that comes by the follow is then a duplicate), so a query or a
 * newer build right after sees it. */
static void on_created(void *ctx, const Slipway__BuildEvent *ev)
{
    scheduler *s = ctx;
    const sw_project *project = sw_config_project(s->cfg, ev->job->project);
    if (sw_view_apply(s->view, ev, 0) < 0) {
        sw_warn(who(s), "build %s: %s", ev->build_id, sw_error_last());
    }
    if (project != NULL && project->cancel_superseded) {
        supersede(s, project, ev);
    }
    sw_info(who(s), "build %s created for %s/%s ref %s (request %s)", ev->build_id, ev->tenant,
            ev->job->project, ev->job->ref, ev->request->request_id);
}

static void on_request(scheduler *s, const sw_mail *mail)
{
    const Slipway__BuildRequest *req = (const Slipway__BuildRequest *)mail->pb;
    const sw_project *project;
    const sw_tier *tier;
    Slipway__BuildRecord *existing = NULL;
    char build_id[13], subject[160];
    bool created = false;

    if (req->request_id[0] == '\0' || req->project[0] == '\0') {
        sw_warn(who(s), "dropping a request without request_id or project (on %s)",
                sw_msg_subject(mail->msg));
        sw_msg_term(mail->msg);
        return;
    }
    project = sw_config_project(s->cfg, req->project);
    char via[128];
    const char *sender = sw_wire_request_tenant(sw_msg_subject(mail->msg), via, sizeof(via));
    if (project != NULL && sender != NULL && strcmp(sender, project->tenant) != 0) {
        /* stored on sw.req.<sender>: only that tenant's account can publish there */
        sw_warn(who(s), "dropping request %s: tenant '%s' asked for project '%s' of another "
                "tenant", req->request_id, sender, req->project);
        sw_msg_term(mail->msg);
        return;
    }
    if (project == NULL || (req->tenant[0] && strcmp(req->tenant, project->tenant) != 0)) {
        sw_warn(who(s), "dropping request %s: no project '%s' for tenant '%s'", req->request_id,
                req->project, req->tenant);
        sw_msg_term(mail->msg);
        return;
    }
    tier = sw_config_project_tier(s->cfg, project);
    sw_wire_build_id(build_id, project->tenant, req->request_id);

    if (sw_view_get(s->view, build_id, &existing) == 0) {
        int queued = existing->state == SLIPWAY__BUILD_STATE__QUEUED;
        slipway__build_record__free_unpacked(existing, NULL);
        if (!queued) {
            sw_debug(who(s), "request %s is build %s already", req->request_id, build_id);
            sw_msg_ack(mail->msg);
            return;
        }
        /* created but maybe never handed on (SCHED was full, or we died in
         * between): hand on again (same msg-id); CREATED is in EVENTS already */
        created = true;
    }

    Slipway__Limits limits = SLIPWAY__LIMITS__INIT;
    limits.memory_bytes = tier->memory_bytes;
    limits.pids = tier->pids;
    limits.cpu_millis = tier->cpu_millis;
    limits.timeout_s = (uint32_t)(tier->timeout_ms / 1000);
    limits.log_max_bytes = tier->log_max_bytes;

    Slipway__Job job = SLIPWAY__JOB__INIT;
    job.build_id = build_id;
    job.tenant = project->tenant;
    job.project = project->name;
    job.tier = tier->name;
    job.region = project->region;
    job.region_pinned = project->region_pinned;
    job.branch = req->branch;
    job.clone_url = req->clone_url[0] ? req->clone_url : project->repository;
    job.ref = req->ref[0] ? req->ref : project->default_ref;
    job.sha = req->sha;
    job.limits = &limits;
    job.queued_at_ms = sw_clock_wall_ms();

    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    ev.build_id = build_id;
    ev.tenant = project->tenant;
    ev.kind = SLIPWAY__EVENT_KIND__CREATED;
    ev.state = SLIPWAY__BUILD_STATE__QUEUED;
    ev.at_ms = job.queued_at_ms;
    ev.job = &job;
    ev.request = (Slipway__BuildRequest *)req;

    sw_subject(subject, sizeof(subject), "sw.sched", job.tier, NULL);
    if (created) {
        sw_info(who(s), "build %s handed on to tier %s again (request %s)", build_id, tier->name,
                req->request_id);
    }
    /* CREATED, then the job: acked when SCHED has it (handon.h) */
    sw_handon_start(s->handon, mail->msg, build_id, created ? NULL : &ev, &job, subject);
}

/* --- events -------------------------------------------------------------- */

static void on_event(scheduler *s, const sw_mail *mail)
{
    const Slipway__BuildEvent *ev = (const Slipway__BuildEvent *)mail->pb;
    const char *tenant = ev->tenant != NULL ? ev->tenant : "";
    uint32_t waited = sw_view_waiting(s->view, tenant);
    int result = sw_view_apply(s->view, ev, sw_msg_stream_seq(mail->msg));
    if (result < 0) {
        sw_warn(who(s), "event #%llu not applied: %s",
                (unsigned long long)sw_msg_stream_seq(mail->msg), sw_error_last());
        return;
    }
    uint32_t waiting = sw_view_waiting(s->view, tenant), max = sw_quota_max_queued(s->cfg, tenant);
    if (waiting != waited && max > 0) {
        sw_quota_announce(s->bus, tenant, waiting, max);
    }
    if (result == SW_APPLY_CHANGED && (ev->kind == SLIPWAY__EVENT_KIND__FINISHED ||
                                       ev->kind == SLIPWAY__EVENT_KIND__STARTED ||
                                       ev->kind == SLIPWAY__EVENT_KIND__LOST)) {
        Slipway__BuildRecord *rec = NULL;
        if (sw_view_get(s->view, ev->build_id, &rec) == 0) {
            sw_info(who(s), "build %s: %s (attempt %u on %s)%s%s", rec->build_id,
                    sw_state_name(rec->state), rec->attempt, rec->builder[0] ? rec->builder : "-",
                    rec->reason[0] ? ": " : "", rec->reason);
            slipway__build_record__free_unpacked(rec, NULL);
        }
    }
}

/* --- heartbeats and lost builders ----------------------------------------- */

static void report_lost(scheduler *s, builder_seen *b, const char *why);

static void on_heartbeat(scheduler *s, const sw_mail *mail)
{
    const Slipway__Heartbeat *hb = (const Slipway__Heartbeat *)mail->pb;
    builder_seen *b = NULL;

    for (size_t i = 0; i < s->nbuilders; i++) {
        if (strcmp(s->builders[i].hb->builder, hb->builder) == 0) {
            b = &s->builders[i];
            break;
        }
    }
    if (b == NULL) {
        s->builders = sw_realloc(s->builders, (s->nbuilders + 1) * sizeof(*s->builders));
        b = &s->builders[s->nbuilders++];
        memset(b, 0, sizeof(*b));
        sw_info(who(s), "builder %s (cluster %s, %u slots) is here", hb->builder, hb->cluster,
                hb->slots);
    } else {
        if (strcmp(b->hb->incarnation, hb->incarnation) != 0) {
            /* the same name, another process: the attempts of the one before
             * are lost now, not a lapse later */
            char why[200];
            snprintf(why, sizeof(why), "builder %s restarted (a new process): the attempt "
                     "it ran is lost", hb->builder);
            sw_info(who(s), "%s", why);
            if (!b->lost) {
                report_lost(s, b, why);
            }
        } else if (b->lost) {
            sw_info(who(s), "builder %s is back", hb->builder);
        }
        slipway__heartbeat__free_unpacked(b->hb, NULL);
    }
    /* keep a private copy: the runtime frees mail->pb after this handler */
    size_t len;
    void *buf = sw_wire_pack(&hb->base, &len);
    b->hb = slipway__heartbeat__unpack(NULL, len, buf);
    free(buf);
    if (b->hb == NULL) {
        abort();
    }
    b->seen_mono_ms = sw_clock_mono_ms();
    b->lost = 0;
}

static int64_t lapse_ms(const scheduler *s)
{
    return (int64_t)s->cfg->heartbeat_lapse_ms;
}

/* Publishes the verdict: the reason as the last line of the build's log (attempt
 * SW_ATTEMPT_VERDICT sorts after every attempt) and FINISHED in state. Both with
 * fixed msg-ids, so saying it again is harmless. */
static void publish_verdict(scheduler *s, const char *build_id, const char *tenant,
                            unsigned attempt, int state, const char *reason)
{
    char subject[160], msg_id[96];
    Slipway__LogLine line = SLIPWAY__LOG_LINE__INIT;
    Slipway__LogLine *lines[1] = {&line};
    Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;

    line.stream = SLIPWAY__LOG_STREAM__SYSTEM;
    line.text = (char *)reason;
    line.at_ms = sw_clock_wall_ms();
    chunk.build_id = (char *)build_id;
    chunk.tenant = (char *)tenant;
    chunk.attempt = SW_ATTEMPT_VERDICT;
    chunk.seq = SW_VERDICT_SEQ;
    chunk.lines = lines;
    chunk.n_lines = 1;
    chunk.eof = true;
    chunk.state = state;
    sw_subject(subject, sizeof(subject), "sw.logs", tenant, build_id);
    snprintf(msg_id, sizeof(msg_id), "%s.verdict.log.1", build_id);
    if (sw_wire_js_publish(s->bus, subject, &chunk.base, msg_id, NULL) < 0) {
        sw_warn(who(s), "build %s: the verdict's log line not sent: %s", build_id,
                sw_error_last());
    }
    ev.build_id = (char *)build_id;
    ev.tenant = (char *)tenant;
    ev.kind = SLIPWAY__EVENT_KIND__FINISHED;
    ev.attempt = attempt;
    ev.state = state;
    ev.reason = (char *)reason;
    ev.at_ms = sw_clock_wall_ms();
    sw_subject(subject, sizeof(subject), "sw.events", tenant, build_id);
    Slipway__Claim verdict = SLIPWAY__CLAIM__INIT;
    verdict.build_id = (char *)build_id;
    verdict.builder = "scheduler";
    sw_claim_result_msg_id(msg_id, sizeof(msg_id), &verdict);
    if (sw_wire_js_publish(s->bus, subject, &ev.base, msg_id, NULL) < 0) {
        sw_warn(who(s), "build %s: cannot end it: %s", build_id, sw_error_last());
    }
}

enum { VERDICT_OURS = 0, VERDICT_DECIDED = 1, VERDICT_LATER_RUNS = 2 };

/* Decides the build in state for reason, by the scheduler: a final claim
 * written after the last one (claim.h), so an attempt that runs or wakes up
 * afterwards finds itself superseded, and FINISHED with the reason in the log.
 * With up_to >= 0 (giving up on attempt up_to) a later attempt that runs wins
 * instead. Returns VERDICT_OURS, VERDICT_DECIDED (decided before: its result is
 * told again, and *state_out is its state), VERDICT_LATER_RUNS, or an error. */
static int write_verdict(scheduler *s, const char *build_id, const char *tenant, int64_t up_to,
                         int state, const char *reason, int *state_out)
{
    char by[160];
    int error = SW_ECONFLICT;

    for (int i = 0; i < 8 && error == SW_ECONFLICT; i++) {
        Slipway__Claim *last = NULL, verdict = SLIPWAY__CLAIM__INIT;
        uint64_t seq = 0;
        if ((error = sw_claim_read(s->bus, build_id, &last, &seq)) < 0) {
            sw_warn(who(s), "build %s: cannot read its claim: %s", build_id, sw_error_last());
            return error;
        }
        if (last != NULL && last->final) {
            sw_debug(who(s), "build %s was decided already (%s)", build_id,
                     sw_claim_describe(by, sizeof(by), last));
            if (strcmp(last->builder, "scheduler") == 0) {
                publish_verdict(s, build_id, tenant, last->attempt, last->state, last->reason);
            } else if (sw_claim_tell_result(s->bus, tenant, last) < 0) {
                sw_warn(who(s), "build %s: cannot repeat its result: %s", build_id,
                        sw_error_last());
            }
            *state_out = last->state;
            slipway__claim__free_unpacked(last, NULL);
            return VERDICT_DECIDED;
        }
        if (up_to >= 0 && last != NULL && last->attempt > (uint64_t)up_to) {
            sw_info(who(s), "build %s: %s runs; not giving up", build_id,
                    sw_claim_describe(by, sizeof(by), last));
            slipway__claim__free_unpacked(last, NULL);
            return VERDICT_LATER_RUNS;
        }
        verdict.build_id = (char *)build_id;
        verdict.attempt = up_to >= 0 ? (uint32_t)up_to : (last ? last->attempt : 0);
        verdict.builder = "scheduler";
        verdict.final = true;
        verdict.state = state;
        verdict.reason = (char *)reason;
        verdict.at_ms = sw_clock_wall_ms();
        if (last != NULL) {
            slipway__claim__free_unpacked(last, NULL);
        }
        error = sw_claim_write(s->bus, &verdict, seq, NULL);
        if (error == 0) {
            sw_warn(who(s), "build %s: %s", build_id, reason);
            publish_verdict(s, build_id, tenant, verdict.attempt, state, reason);
            *state_out = state;
            return VERDICT_OURS;
        }
        if (error != SW_ECONFLICT) {
            sw_warn(who(s), "build %s: cannot record the verdict: %s", build_id,
                    sw_error_last());
        }
    }
    return error;
}

/* Takes a decided build's job out of JOBS (job_seq 0: unknown; one not yet
 * placed there is dropped by the builder that pulls it: its claim is final). */
static void remove_job(scheduler *s, const char *build_id, uint64_t job_seq)
{
    if (job_seq > 0) {
        int rc = sw_bus_stream_delete(s->bus, SW_STREAM_JOBS, job_seq);
        if (rc < 0 && rc != SW_ENOTFOUND) {
            sw_warn(who(s), "build %s: its job stays in JOBS: %s", build_id, sw_error_last());
        }
    }
}

/* No delivery is left for the build (its attempt `attempt` was the last): it
 * ends errored, unless its last attempt decided it first, then its job leaves
 * JOBS. Returns 0 when the build has ended (now or before) or a later attempt
 * runs. */
static int give_up(scheduler *s, const char *build_id, const char *tenant, unsigned attempt,
                   uint64_t job_seq, const char *why)
{
    char reason[400];
    int state = 0;

    snprintf(reason, sizeof(reason), "gave up after %u attempts: %s", attempt, why);
    int result = write_verdict(s, build_id, tenant, attempt, SLIPWAY__BUILD_STATE__ERRORED,
                               reason, &state);
    if (result < 0) {
        return result;
    }
    if (result != VERDICT_LATER_RUNS) {
        remove_job(s, build_id, job_seq);
    }
    return 0;
}

/* JetStream will not deliver a job again (MAX_DELIVERIES advisory, kept in
 * ADVISORIES): its build ends errored. The advisory comes once the last
 * delivery's ack wait ran out with a pull waiting; the scheduler may have
 * given up already on a lost heartbeat. */
static void on_advisory(scheduler *s, const sw_mail *mail)
{
    json_error_t jerr;
    json_t *root = json_loadb(sw_msg_data(mail->msg), sw_msg_len(mail->msg), 0, &jerr);
    const char *stream = NULL;
    json_int_t seq = 0, deliveries = 0;
    sw_msg *stored = NULL;
    Slipway__Job *job = NULL;
    Slipway__BuildRecord *rec = NULL;
    int error;

    if (root == NULL || json_unpack(root, "{s:s, s:I, s:I}", "stream", &stream, "stream_seq",
                                    &seq, "deliveries", &deliveries) != 0 ||
        seq <= 0) {
        sw_warn(who(s), "an advisory on %s that is not one: dropped", sw_msg_subject(mail->msg));
        sw_msg_term(mail->msg);
        json_decref(root);
        return;
    }
    if (strcmp(stream, SW_STREAM_JOBS) != 0) {
        sw_msg_ack(mail->msg);
        json_decref(root);
        return;
    }
    error = sw_bus_stream_get(s->bus, SW_STREAM_JOBS, (uint64_t)seq, &stored);
    if (error == SW_ENOTFOUND) {
        sw_msg_ack(mail->msg); /* gone: acked at last, or given up on already */
        json_decref(root);
        return;
    }
    if (error < 0) {
        sw_warn(who(s), "job #%lld: %s; will retry", (long long)seq, sw_error_last());
        sw_msg_nak(mail->msg, 1000);
        json_decref(root);
        return;
    }
    job = slipway__job__unpack(NULL, sw_msg_len(stored), sw_msg_data(stored));
    if (job == NULL) {
        sw_warn(who(s), "job #%lld does not unpack: removed", (long long)seq);
        sw_bus_stream_delete(s->bus, SW_STREAM_JOBS, (uint64_t)seq);
        sw_msg_ack(mail->msg);
    } else {
        const char *why = "JetStream delivered its job max_deliveries times and the last "
                          "attempt ended without a result";
        if (sw_view_get(s->view, job->build_id, &rec) == 0 && rec->reason[0] != '\0' &&
            rec->state == SLIPWAY__BUILD_STATE__RESCHEDULING) {
            why = rec->reason; /* e.g. "builder b1 stopped sending heartbeats" */
        }
        if (give_up(s, job->build_id, job->tenant, (unsigned)deliveries, (uint64_t)seq, why) ==
            0) {
            sw_msg_ack(mail->msg);
        } else {
            sw_msg_nak(mail->msg, 1000);
        }
        if (rec != NULL) {
            slipway__build_record__free_unpacked(rec, NULL);
        }
        slipway__job__free_unpacked(job, NULL);
    }
    sw_msg_release(&stored);
    json_decref(root);
}

/* Marks the running builds of a silent (or restarted) builder as rescheduling;
 * a build whose lost attempt was its last delivery ends errored. */
static void report_lost(scheduler *s, builder_seen *b, const char *why)
{
    for (size_t i = 0; i < b->hb->n_builds; i++) {
        char build_id[64], subject[160], msg_id[96], reason[160];
        unsigned attempt = 0;
        Slipway__BuildRecord *rec = NULL;
        const char *hash = strchr(b->hb->builds[i], '#');

        if (hash == NULL || (size_t)(hash - b->hb->builds[i]) >= sizeof(build_id)) {
            continue;
        }
        snprintf(build_id, sizeof(build_id), "%.*s", (int)(hash - b->hb->builds[i]),
                 b->hb->builds[i]);
        attempt = (unsigned)strtoul(hash + 1, NULL, 10);
        if (sw_view_get(s->view, build_id, &rec) < 0) {
            continue;
        }
        if (rec->state == SLIPWAY__BUILD_STATE__RUNNING && rec->attempt == attempt &&
            strcmp(rec->builder, b->hb->builder) == 0 &&
            (rec->incarnation[0] == '\0' || strcmp(rec->incarnation, b->hb->incarnation) == 0)) {
            Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
            snprintf(reason, sizeof(reason), "%s", why);
            ev.build_id = build_id;
            ev.tenant = rec->tenant;
            ev.kind = SLIPWAY__EVENT_KIND__LOST;
            ev.attempt = attempt;
            ev.builder = b->hb->builder;
            ev.state = SLIPWAY__BUILD_STATE__RESCHEDULING;
            ev.reason = reason;
            ev.at_ms = sw_clock_wall_ms();
            sw_subject(subject, sizeof(subject), "sw.events", rec->tenant, build_id);
            snprintf(msg_id, sizeof(msg_id), "%s.%u.lost", build_id, attempt);
            if (sw_wire_js_publish(s->bus, subject, &ev.base, msg_id, NULL) < 0) {
                sw_warn(who(s), "cannot mark %s rescheduling: %s", build_id, sw_error_last());
            } else if (attempt >= s->cfg->max_deliveries) {
                give_up(s, rec->build_id, rec->tenant, attempt, rec->job_seq, reason);
            }
        }
        slipway__build_record__free_unpacked(rec, NULL);
    }
}

static int64_t scheduler_tick(sw_actor *self, void *state)
{
    scheduler *s = state;
    int64_t now = sw_clock_mono_ms();
    (void)sw_handon_expire(s->handon);
    if (!sw_bus_connected(s->bus)) {
        s->bus_was_down = true;
        return TICK_MS;
    }
    if (s->bus_was_down) {
        /* while NATS was away no heartbeat could come: count from now */
        s->bus_was_down = false;
        for (size_t i = 0; i < s->nbuilders; i++) {
            s->builders[i].seen_mono_ms = now;
        }
    }
    if (now - s->quota_told_ms >= 1000) {
        /* so a gateway that just started learns the counts too */
        s->quota_told_ms = now;
        for (size_t i = 0; i < s->cfg->ntenants; i++) {
            const char *tenant = s->cfg->tenants[i].name;
            uint32_t max = sw_quota_max_queued(s->cfg, tenant);
            if (max > 0) {
                sw_quota_announce(s->bus, tenant, sw_view_waiting(s->view, tenant), max);
            }
        }
    }
    for (size_t i = 0; i < s->nbuilders; i++) {
        builder_seen *b = &s->builders[i];
        if (!b->lost && now - b->seen_mono_ms > lapse_ms(s)) {
            char why[160];
            sw_warn(who(s), "builder %s: no heartbeat for %lld ms", b->hb->builder,
                    (long long)(now - b->seen_mono_ms));
            snprintf(why, sizeof(why), "builder %s stopped sending heartbeats", b->hb->builder);
            report_lost(s, b, why);
            b->lost = 1;
        }
    }
    return TICK_MS;
}

/* --- API ------------------------------------------------------------------ */

static void reply(scheduler *s, const sw_mail *mail, Slipway__ApiReply *r)
{
    if (sw_msg_reply(mail->msg) == NULL) {
        return;
    }
    if (sw_wire_respond(s->bus, mail->msg, &r->base) < 0) {
        sw_warn(who(s), "cannot answer on %s: %s", sw_msg_subject(mail->msg), sw_error_last());
    }
}

static void reply_error(scheduler *s, const sw_mail *mail, int code, const char *text)
{
    Slipway__ApiReply r = SLIPWAY__API_REPLY__INIT;
    r.code = code;
    r.error = (char *)text;
    reply(s, mail, &r);
}

static void api_builds(scheduler *s, const sw_mail *mail, const Slipway__ApiRequest *req)
{
    Slipway__ApiReply r = SLIPWAY__API_REPLY__INIT;
    Slipway__BuildRecord **list = NULL;
    char via[128], next[SW_VIEW_CURSOR_MAX];
    size_t n = 0;
    const char *viewer = sw_wire_request_tenant(sw_msg_subject(mail->msg), via, sizeof(via));
    /* a page of at most LIST_MAX: a bigger limit is paged by the asker, with next_cursor */
    sw_view_query q = {.tenant = viewer != NULL ? viewer : req->tenant,
                       .project = req->project,
                       .ref = req->ref,
                       .state = (int)req->state,
                       .cursor = req->cursor,
                       .limit = req->limit == 0 ? LIST_DEFAULT
                                : req->limit > LIST_MAX ? LIST_MAX
                                                        : req->limit,
                       .scan = LIST_SCAN};
    int rc = sw_view_find(s->view, &q, &list, &n, next);
    if (rc < 0) {
        reply_error(s, mail, rc == SW_EINVALID ? SW_EINVALID : SW_EIO, sw_error_last());
        return;
    }
    for (size_t i = 0; i < n; i++) { /* `show` has them: a list stays small */
        if (list[i]->profile != NULL) {
            slipway__source_profile__free_unpacked(list[i]->profile, NULL);
            list[i]->profile = NULL;
        }
    }
    r.builds = list;
    r.n_builds = n;
    r.next_cursor = next;
    reply(s, mail, &r);
    sw_view_list_free(list, n);
}

static void api_build(scheduler *s, const sw_mail *mail, const Slipway__ApiRequest *req)
{
    Slipway__ApiReply r = SLIPWAY__API_REPLY__INIT;
    Slipway__BuildRecord *rec = NULL;
    char text[160], via[128];
    const char *viewer = sw_wire_request_tenant(sw_msg_subject(mail->msg), via, sizeof(via));
    int error = sw_view_get(s->view, req->build_id, &rec);

    if (error == 0 && viewer != NULL && strcmp(rec->tenant, viewer) != 0) {
        /* another tenant's build: answered exactly as an unknown id */
        slipway__build_record__free_unpacked(rec, NULL);
        rec = NULL;
        error = SW_ENOTFOUND;
    }
    if (error < 0) {
        snprintf(text, sizeof(text), "no build '%s'", req->build_id);
        reply_error(s, mail, error, error == SW_ENOTFOUND ? text : sw_error_last());
        return;
    }
    r.builds = &rec;
    r.n_builds = 1;
    reply(s, mail, &r);
    slipway__build_record__free_unpacked(rec, NULL);
}

static void api_project(scheduler *s, const sw_mail *mail, const Slipway__ApiRequest *req)
{
    Slipway__ApiReply r = SLIPWAY__API_REPLY__INIT;
    Slipway__ProjectInfo info = SLIPWAY__PROJECT_INFO__INIT;
    const sw_project *p = sw_config_project(s->cfg, req->project);
    char text[160], via[128];
    const char *viewer = sw_wire_request_tenant(sw_msg_subject(mail->msg), via, sizeof(via));

    if (p == NULL || (viewer != NULL && strcmp(p->tenant, viewer) != 0)) {
        snprintf(text, sizeof(text), "no project '%s'", req->project);
        reply_error(s, mail, SW_ENOTFOUND, text);
        return;
    }
    info.name = p->name;
    info.tenant = p->tenant;
    info.tier = sw_config_project_tier(s->cfg, p)->name;
    info.region = p->region;
    info.repository = p->repository;
    info.default_ref = p->default_ref;
    info.forge = p->forge.type == SW_FORGE_NONE ? "" : (char *)sw_forge_name(p->forge.type);
    info.queued = sw_view_waiting(s->view, p->tenant);
    info.max_queued = sw_quota_max_queued(s->cfg, p->tenant);
    r.project = &info;
    reply(s, mail, &r);
}

/* sw.api.projects: every project of the running config, in file order. */
static void api_projects(scheduler *s, const sw_mail *mail)
{
    Slipway__ApiReply r = SLIPWAY__API_REPLY__INIT;
    size_t n = s->cfg->nprojects;
    Slipway__ProjectInfo *infos = sw_calloc(n + 1, sizeof(*infos));
    Slipway__ProjectInfo **ptrs = sw_calloc(n + 1, sizeof(*ptrs));
    char via[128];
    const char *viewer = sw_wire_request_tenant(sw_msg_subject(mail->msg), via, sizeof(via));
    size_t k = 0;

    for (size_t j = 0; j < n; j++) {
        const sw_project *p = &s->cfg->projects[j];
        if (viewer != NULL && strcmp(p->tenant, viewer) != 0) {
            continue;
        }
        size_t i = k++;
        slipway__project_info__init(&infos[i]);
        infos[i].name = p->name;
        infos[i].tenant = p->tenant;
        infos[i].tier = sw_config_project_tier(s->cfg, p)->name;
        infos[i].region = p->region;
        infos[i].repository = p->repository;
        infos[i].default_ref = p->default_ref;
        infos[i].forge =
            p->forge.type == SW_FORGE_NONE ? "" : (char *)sw_forge_name(p->forge.type);
        infos[i].cancel_superseded = p->cancel_superseded;
        ptrs[i] = &infos[i];
    }
    r.projects = ptrs;
    r.n_projects = k;
    reply(s, mail, &r);
    free(infos);
    free(ptrs);
}

/* slipway.yaml was reloaded: projects, tenants and tiers' limits apply to the
 * next request; heartbeat timeouts are kept by the reload (runtime/reload.h). */
static int scheduler_reconfigure(sw_actor *self, void *state, const sw_config *cfg)
{
    scheduler *s = state;
    (void)self;
    sw_config_release(&s->cfg);
    s->cfg = sw_config_retain(cfg);
    return 0;
}

static void api_builders(scheduler *s, const sw_mail *mail)
{
    char via[128];
    if (sw_wire_request_tenant(sw_msg_subject(mail->msg), via, sizeof(via)) != NULL) {
        /* builders run every tenant's builds: what they run is not a tenant's to see */
        reply_error(s, mail, SW_EDENIED, "the builders are shown to operators only");
        return;
    }
    Slipway__ApiReply r = SLIPWAY__API_REPLY__INIT;
    Slipway__BuilderInfo *infos = sw_calloc(s->nbuilders + 1, sizeof(*infos));
    Slipway__BuilderInfo **ptrs = sw_calloc(s->nbuilders + 1, sizeof(*ptrs));
    int64_t now_mono = sw_clock_mono_ms(), now_wall = sw_clock_wall_ms();

    for (size_t i = 0; i < s->nbuilders; i++) {
        const builder_seen *b = &s->builders[i];
        slipway__builder_info__init(&infos[i]);
        infos[i].name = b->hb->builder;
        infos[i].cluster = b->hb->cluster;
        infos[i].slots = b->hb->slots;
        infos[i].busy = b->hb->busy;
        infos[i].builds = b->hb->builds;
        infos[i].n_builds = b->hb->n_builds;
        infos[i].draining = b->hb->draining;
        infos[i].drained = b->hb->drained;
        infos[i].holding_back = b->hb->holding_back;
        infos[i].hold_reason = b->hb->hold_reason;
        infos[i].pressure = b->hb->pressure; /* borrowed from the heartbeat, as the rest */
        infos[i].last_seen_ms = now_wall - (now_mono - b->seen_mono_ms);
        infos[i].alive = now_mono - b->seen_mono_ms <= lapse_ms(s);
        ptrs[i] = &infos[i];
    }
    r.builders = ptrs;
    r.n_builders = s->nbuilders;
    reply(s, mail, &r);
    free(infos);
    free(ptrs);
}

/* --- control: cancel and superseded builds --------------------------------- */

/* Cancels rec's build: the scheduler's final claim decides it (so it holds
 * whether or not its builder hears of it), then the builders are told, and the
 * one running it stops its step at once. *state_out gets the state the build
 * ended in: cancelled, or what it had ended in already. */
static int cancel_build(scheduler *s, const Slipway__BuildRecord *rec, const char *by,
                        const char *why, int *state_out)
{
    char reason[600], subject[160];
    int result;

    sw_cancel_reason(reason, sizeof(reason), by, why);
    result = write_verdict(s, rec->build_id, rec->tenant, -1, SLIPWAY__BUILD_STATE__CANCELLED,
                           reason, state_out);
    if (result == VERDICT_OURS) {
        Slipway__CancelRequest note = SLIPWAY__CANCEL_REQUEST__INIT;
        remove_job(s, rec->build_id, rec->job_seq);
        note.build_id = rec->build_id;
        note.by = (char *)(by ? by : "");
        note.reason = (char *)(why ? why : "");
        sw_subject(subject, sizeof(subject), SW_CTL_CANCEL, rec->build_id, NULL);
        if (sw_wire_publish(s->bus, subject, &note.base) < 0) {
            sw_warn(who(s), "build %s: builders not told of its cancel: %s (its builder "
                    "finds out at its next fence read)", rec->build_id, sw_error_last());
        }
    }
    return result;
}

/* sw.ctl.cancel.<build>: cancels a build that has not ended and answers with
 * its record; a build that ended already is answered SW_ECONFLICT ("already
 * succeeded"), one cancelled already like a fresh cancel (idempotent). */
static void on_cancel(scheduler *s, const sw_mail *mail)
{
    const Slipway__CancelRequest *req = (const Slipway__CancelRequest *)mail->pb;
    const char *subject = sw_msg_subject(mail->msg), *id = req->build_id;
    Slipway__ApiReply r = SLIPWAY__API_REPLY__INIT;
    Slipway__BuildRecord *rec = NULL;
    char text[400], reason[600];
    int state = 0, result;

    char via[128];
    const char *viewer = sw_wire_request_tenant(subject, via, sizeof(via));

    if (id[0] == '\0') {
        id = sw_wire_last_token(subject);
    }
    if (sw_view_get(s->view, id, &rec) < 0 ||
        (viewer != NULL && strcmp(rec->tenant, viewer) != 0)) {
        if (rec != NULL) {
            slipway__build_record__free_unpacked(rec, NULL);
            rec = NULL;
        }
        snprintf(text, sizeof(text), "no build '%s'", id);
        reply_error(s, mail, SW_ENOTFOUND, text);
        return;
    }
    if (sw_state_is_final(rec->state)) {
        state = rec->state;
        result = VERDICT_DECIDED;
    } else {
        result = cancel_build(s, rec, req->by, req->reason, &state);
    }
    if (result < 0) {
        snprintf(text, sizeof(text), "cannot cancel build %s: %s", id, sw_error_last());
        reply_error(s, mail, result, text);
    } else if (state != SLIPWAY__BUILD_STATE__CANCELLED) {
        snprintf(text, sizeof(text), "build %s already %s: nothing to cancel", id,
                 sw_state_name(state));
        r.code = SW_ECONFLICT;
        r.error = text;
        rec->state = state;
        r.builds = &rec;
        r.n_builds = 1;
        reply(s, mail, &r);
    } else {
        char *stored = rec->reason;
        if (result == VERDICT_OURS) {
            rec->reason = (char *)sw_cancel_reason(reason, sizeof(reason), req->by, req->reason);
            sw_info(who(s), "build %s: %s", id, rec->reason);
        }
        rec->state = SLIPWAY__BUILD_STATE__CANCELLED;
        r.builds = &rec;
        r.n_builds = 1;
        reply(s, mail, &r);
        rec->reason = stored;
    }
    slipway__build_record__free_unpacked(rec, NULL);
}

/* cancel_superseded: the new build (its CREATED event) cancels the builds of
 * the same project and lane (branch or PR, never a tag) created before it that
 * have not ended. */
static void supersede(scheduler *s, const sw_project *project, const Slipway__BuildEvent *created)
{
    Slipway__BuildRecord probe = SLIPWAY__BUILD_RECORD__INIT;
    Slipway__BuildRecord **list = NULL;
    const Slipway__BuildRequest *req = created->request;
    char lane[200], why[400];
    size_t n = 0;

    probe.project = project->name;
    probe.ref = created->job->ref;
    probe.branch = req->branch;
    probe.tag = req->tag;
    probe.pr_number = req->pr_number;
    if (sw_build_lane(lane, sizeof(lane), &probe)[0] == '\0' ||
        sw_view_lane(s->view, project->name, lane, &list, &n) < 0) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int state = 0;
        if (strcmp(list[i]->build_id, created->build_id) == 0 ||
            list[i]->created_ms > created->at_ms) {
            continue;
        }
        snprintf(why, sizeof(why), "superseded by build %s, a newer build of %s %s",
                 created->build_id, req->pr_number ? "pull request" : "branch",
                 strchr(lane, ':') + 1);
        if (cancel_build(s, list[i], "", why, &state) < 0) {
            sw_warn(who(s), "build %s not cancelled (superseded by %s): %s", list[i]->build_id,
                    created->build_id, sw_error_last());
        }
    }
    sw_view_list_free(list, n);
}

/* --- actor ---------------------------------------------------------------- */

/* sw.api.<name> (operators) and sw.tapi.*.<name> (tenants, through their
 * accounts' imports), both answered by one handler that scopes by subject. */
static int subscribe_api(sw_actor *self, int tag, const char *name)
{
    char subject[96];
    int error;
    snprintf(subject, sizeof(subject), "sw.api.%s", name);
    if ((error = sw_actor_subscribe(self, tag, subject, "scheduler",
                                    &slipway__api_request__descriptor)) < 0) {
        return error;
    }
    snprintf(subject, sizeof(subject), SW_TAPI ".*.%s", name);
    return sw_actor_subscribe(self, tag, subject, "scheduler", &slipway__api_request__descriptor);
}

static int scheduler_init(sw_actor *self, void **state_out, void *arg)
{
    const sw_actor_ctx *ctx = arg;
    scheduler *s = sw_calloc(1, sizeof(*s));
    char dir[4096];
    int error;

    s->cfg = sw_config_retain(ctx->cfg);
    s->self = self;
    s->bus = sw_actor_bus(self);
    snprintf(dir, sizeof(dir), "%s/scheduler", s->cfg->data_dir);
    sw_handon_options ho = {.ack_tag = TAG_PUBACK, .timeout_ms = PUBLISH_TIMEOUT_MS,
                            .full_retry_ms = FULL_RETRY_MS};
    sw_handon_hooks hooks = {.ctx = s, .created = on_created, .sched = on_sched};
    if ((error = sw_view_open(&s->view, dir)) < 0 ||
        (error = sw_handon_create(&s->handon, self, &ho, &hooks)) < 0) {
        sw_view_destroy(&s->view);
        sw_config_release(&s->cfg);
        free(s);
        return error;
    }
    *state_out = s;
    sw_info(sw_actor_name(self), "view at %s, applied up to event #%llu", dir,
            (unsigned long long)sw_view_seq(s->view));
    if ((error = sw_actor_follow(self, TAG_EVENT, SW_STREAM_EVENTS, "sw.events.>",
                                 sw_view_seq(s->view) + 1, &slipway__build_event__descriptor)) < 0 ||
        (error = sw_actor_subscribe(self, TAG_HEARTBEAT, "sw.hb.>", NULL,
                                    &slipway__heartbeat__descriptor)) < 0 ||
        (error = subscribe_api(self, TAG_API_BUILDS, "builds")) < 0 ||
        (error = subscribe_api(self, TAG_API_BUILD, "build")) < 0 ||
        (error = subscribe_api(self, TAG_API_PROJECT, "project")) < 0 ||
        (error = subscribe_api(self, TAG_API_BUILDERS, "builders")) < 0 ||
        (error = subscribe_api(self, TAG_API_PROJECTS, "projects")) < 0 ||
        (error = sw_actor_subscribe(self, TAG_CANCEL, SW_CTL_CANCEL ".*", "scheduler",
                                    &slipway__cancel_request__descriptor)) < 0 ||
        (error = sw_actor_subscribe(self, TAG_CANCEL, SW_TCTL ".*.cancel.*", "scheduler",
                                    &slipway__cancel_request__descriptor)) < 0 ||
        (error = sw_actor_pull(self, TAG_ADVISORY, SW_STREAM_ADVISORIES, SW_DURABLE_ADVISORIES,
                               4, NULL)) < 0 ||
        (error = sw_actor_pull(self, TAG_REQUEST, SW_STREAM_REQUESTS, SW_DURABLE_SCHEDULER,
                               REQUESTS_IN_FLIGHT,
                               &slipway__build_request__descriptor)) < 0) {
        sw_handon_destroy(&s->handon);
        sw_view_destroy(&s->view);
        sw_config_release(&s->cfg);
        free(s);
        *state_out = NULL;
        return error;
    }
    return 0;
}

static void scheduler_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    scheduler *s = state;
    const Slipway__ApiRequest *api = (const Slipway__ApiRequest *)mail->pb;
    switch (mail->tag) {
    case TAG_REQUEST:
        on_request(s, mail);
        break;
    case TAG_EVENT:
        on_event(s, mail);
        break;
    case TAG_HEARTBEAT:
        on_heartbeat(s, mail);
        break;
    case TAG_ADVISORY:
        on_advisory(s, mail);
        break;
    case TAG_API_BUILDS:
        api_builds(s, mail, api);
        break;
    case TAG_API_BUILD:
        api_build(s, mail, api);
        break;
    case TAG_API_PROJECT:
        api_project(s, mail, api);
        break;
    case TAG_API_BUILDERS:
        api_builders(s, mail);
        break;
    case TAG_CANCEL:
        on_cancel(s, mail);
        break;
    case TAG_API_PROJECTS:
        api_projects(s, mail);
        break;
    case TAG_PUBACK:
        sw_handon_on_ack(s->handon, mail);
        break;
    default:
        break;
    }
}

/* The mailbox is empty: what the view applied since the last commit lands
 * as one transaction. */
static void scheduler_idle(sw_actor *self, void *state)
{
    scheduler *s = state;
    (void)self;
    if (sw_view_flush(s->view) < 0) {
        sw_err(who(s), "%s", sw_error_last());
    }
}

static void scheduler_stop(sw_actor *self, void *state)
{
    scheduler *s = state;
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nbuilders; i++) {
        slipway__heartbeat__free_unpacked(s->builders[i].hb, NULL);
    }
    free(s->builders);
    sw_handon_destroy(&s->handon); /* what is on its way comes again */
    sw_view_destroy(&s->view);
    sw_config_release(&s->cfg);
    free(s);
}

const sw_actor_impl sw_scheduler_impl = {
    .kind = "scheduler",
    .init = scheduler_init,
    .handle = scheduler_handle,
    .tick = scheduler_tick,
    .stop = scheduler_stop,
    .reconfigure = scheduler_reconfigure,
    .idle = scheduler_idle,
};
