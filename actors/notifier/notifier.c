/*
 * notifier.c - the notifier actor (see notifier.h).
 *
 * DESIGN
 * Statuses. Every build is folded from its events with the project's one fold,
 * sw_build_apply, which is fenced on the attempt; the status a build asks for
 * is a function of its record (sw_status_of: state and attempt). A status is
 * sent when it differs from the last one settled (sent, or given up on) as the
 * forge sees it (sw_status_same). A build whose sha is unknown (a CLI build
 * without one) waits for an event that knows it (FINISHED carries the sha that
 * was built); if its final event does not know it either, the build gets no
 * status at all: there is no commit to put one on.
 *
 * Fencing. At most one request per build is in flight. When it ends, the next
 * request is for the status the build asks for then, never a queued older one:
 * a newer status replaces one that waits or backs off, and a failed request of
 * a status that was superseded meanwhile is not retried. As the fold never goes
 * back to an older attempt, a status of attempt 1 is never sent after one of
 * attempt 2.
 *
 * Retries. 5xx, 429, timeouts (notify_timeout per request) and transport errors
 * are retried after notify_backoff, doubling, at most 30 s apart; another 4xx is
 * not (but GitLab's 400 "Cannot transition status" means the status is already
 * there: settled). After notify_attempts tries the status is given up on, with
 * one SYSTEM line in the build's log.
 *
 * Threading. The actor thread folds events, decides, and writes LMDB; it never
 * touches the network beyond the bus. HTTP runs on one worker thread (http.c)
 * that drives libcurl's multi interface with curl_multi_poll and hands each
 * finished request back (results on a list, a poke by mail). A worker rather
 * than curl_multi_perform from the tick: the actor host cannot wait on curl's
 * sockets, so a tick would have to poll every few ms while a request is open
 * (latency or wasted wake-ups), and a libcurl built without an asynchronous
 * resolver would resolve names on the actor's thread. The worker sleeps on
 * the sockets and is woken by curl_multi_wakeup when a request is handed to
 * it. Backoff timers stay in the actor (its tick).
 *
 * Durability. LMDB ($data_dir/notifier) holds, per build, the folded record
 * (with the target: project, sha, tenant) and the last status settled, and
 * the EVENTS sequence of the last event that changed a record, written in the
 * same transaction as that record. On start the notifier loads the builds that
 * still have something to say and follows EVENTS from the next sequence. As
 * the whole per-build state is stored, no low-water mark is needed: the events
 * after the stored sequence are the only ones not yet folded, and folding an
 * event twice changes nothing (the fold is idempotent), so a crash re-reads a
 * few events harmlessly. A status is recorded as settled when its request
 * succeeded; a crash between the forge's answer and that write sends the same
 * (current) status once more, never an older one. A stop waits up to 1 s for
 * requests in flight and records their answers; one still open then is
 * aborted and sent again after the restart.
 * Pruning: a record untouched for retention.events_max_age is deleted (hourly,
 * and at start): its events have left EVENTS by then, so nothing can revive it;
 * a late stray event of a pruned build is ignored (the fold refuses events of
 * a build it never saw created).
 *
 * The log line. LogChunks are keyed by (build, attempt, seq): the archive
 * replaces a chunk with the same key, and `slipway logs` skips a chunk whose seq
 * is at or below the highest seen for its attempt; eof marks an attempt's last
 * chunk. Builders use attempt = the JetStream delivery (1..max_deliveries, at
 * most 100) with seq 1, 2, ...; the scheduler's verdict uses (SW_ATTEMPT_VERDICT,
 * SW_VERDICT_SEQ) with eof (wire.h; (0, 1) in older logs). The
 * notifier writes attempt SW_NOTIFIER_LOG_ATTEMPT (UINT32_MAX), never eof, with
 * seq = a per-build counter kept in its record (1, 2, ...): no builder chunk
 * has that attempt and the verdict's seq is far above the counter's, so
 * nothing is replaced;
 * its lines sort after every attempt in the archive; the CLI files attempts
 * over 127 in one bucket that no builder reaches; and attempt 0 was ruled out
 * because a notifier chunk (0, 2) seen before the scheduler's (0, 1) would hide
 * it. The msg id "<build>.notifier.<seq>" makes a re-publish after a crash a
 * duplicate. Publishing waits for the stream's ack on the actor thread, as
 * every actor's publishes do.
 */
#include "actors/notifier/notifier.h"

#include "actors/notifier/http.h"
#include "actors/notifier/record.h"
#include "actors/notifier/status.h"
#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/metrics.h"
#include "runtime/wire.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_EVENT = 1, TAG_HTTP };

#define NBUCKETS 1024
#define MAX_ID 64
#define MAX_BACKOFF_MS 30000
#define PRUNE_EVERY_MS (3600 * 1000)
#define STOP_GRACE_MS 1000 /* how long a stop waits for requests in flight */
#define DESCRIPTION_BYTES (4 * (SW_STATUS_DESCRIPTION_MAX + 1))

/* A build with something still to say, or waiting for its next event. */
typedef struct build {
    struct build *next;
    sw_record r;
    const sw_project *project; /* borrowed from the config */
    bool inflight;
    sw_status inflight_status;
    sw_status trying; /* the status whose tries are counted */
    uint32_t tries;
    int64_t next_at; /* monotonic ms: no request before this */
} build;

typedef struct notifier {
    sw_actor *self;
    sw_bus *bus;
    const sw_config *cfg;
    sw_records *store;
    sw_http *http;
    build *table[NBUCKETS];
    size_t nbuilds;
    uint64_t seq; /* the last EVENTS sequence handled */
    int64_t next_prune_ms;
} notifier;

static const char *who(const notifier *n)
{
    return sw_actor_name(n->self);
}

/* --- the builds in memory -------------------------------------------------- */

static unsigned bucket_of(const char *id)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return h % NBUCKETS;
}

static build *lookup(notifier *n, const char *id)
{
    for (build *b = n->table[bucket_of(id)]; b != NULL; b = b->next) {
        if (strcmp(b->r.rec.build_id, id) == 0) {
            return b;
        }
    }
    return NULL;
}

/* Adds a build made from r (whose contents it takes over; r is re-initialised). */
static build *add(notifier *n, sw_record *r, const char *id)
{
    build *b = sw_calloc(1, sizeof(*b));
    unsigned i = bucket_of(id);
    b->r = *r;
    sw_record_init(r);
    b->next = n->table[i];
    n->table[i] = b;
    n->nbuilds++;
    return b;
}

static void drop(notifier *n, build *b)
{
    for (build **p = &n->table[bucket_of(b->r.rec.build_id)]; *p != NULL; p = &(*p)->next) {
        if (*p == b) {
            *p = b->next;
            n->nbuilds--;
            break;
        }
    }
    sw_record_clear(&b->r);
    free(b);
}

/* The project of a record, when it wants statuses (a forge and a token). */
static const sw_project *project_for(const notifier *n, const char *name)
{
    const sw_project *p = name ? sw_config_project(n->cfg, name) : NULL;
    if (p == NULL || p->forge.type == SW_FORGE_NONE || p->forge.token == NULL ||
        p->forge.token[0] == '\0') {
        return NULL;
    }
    return p;
}

static bool has_sha(const build *b)
{
    return b->r.rec.sha != NULL && b->r.rec.sha[0] != '\0';
}

/* Nothing to send now: the forge has the status the build asks for, or it never
 * can have one (no project, or a final state without a sha). */
static bool settled(const build *b)
{
    sw_status want = sw_status_of(&b->r.rec);
    if (b->project == NULL || want.kind == SW_STATUS_NONE) {
        return true;
    }
    if (sw_status_same(b->project->forge.type, b->r.settled, want)) {
        return true;
    }
    return !has_sha(b) && sw_status_is_final(want.kind);
}

/* A build that is done (final and settled) leaves memory; its record stays. */
static void drop_if_done(notifier *n, build *b)
{
    if (!b->inflight && settled(b) && (b->project == NULL || sw_state_is_final(b->r.rec.state))) {
        drop(n, b);
    }
}

static void save(notifier *n, build *b, uint64_t seq)
{
    if (sw_records_put(n->store, &b->r, seq) < 0) {
        sw_warn(who(n), "build %s: %s", b->r.rec.build_id, sw_error_last());
    }
}

/* --- giving up ------------------------------------------------------------- */

/* A NATS subject token: no separators, wildcards or spaces. */
static bool subject_token(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > MAX_ID) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == '.' || *p == '*' || *p == '>' || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

static void log_line(notifier *n, build *b, const char *text)
{
    const Slipway__BuildRecord *rec = &b->r.rec;
    Slipway__LogLine line = SLIPWAY__LOG_LINE__INIT;
    Slipway__LogLine *lines[1] = {&line};
    Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
    char subject[192], msg_id[128];

    if (!subject_token(rec->tenant) || !subject_token(rec->build_id)) {
        sw_warn(who(n), "build %s: no log subject for it", rec->build_id);
        return;
    }
    b->r.log_seq++;
    line.stream = SLIPWAY__LOG_STREAM__SYSTEM;
    line.text = (char *)text;
    line.at_ms = sw_clock_wall_ms();
    chunk.build_id = rec->build_id;
    chunk.tenant = rec->tenant;
    chunk.attempt = SW_NOTIFIER_LOG_ATTEMPT;
    chunk.seq = b->r.log_seq;
    chunk.lines = lines;
    chunk.n_lines = 1;
    chunk.eof = false;
    sw_subject(subject, sizeof(subject), "sw.logs", rec->tenant, rec->build_id);
    snprintf(msg_id, sizeof(msg_id), "%s.notifier.%u", rec->build_id, b->r.log_seq);
    if (sw_wire_js_publish(n->bus, subject, &chunk.base, msg_id, NULL) < 0) {
        sw_warn(who(n), "build %s: log line lost: %s", rec->build_id, sw_error_last());
    }
}

/* --- metrics (runtime/metrics.h) ---------------------------------------- */

static sw_metric *attempts_metric, *give_ups_metric;

static void metrics_register(void)
{
    sw_metrics *m = sw_metrics_process();
    attempts_metric = sw_metrics_counter(
        m, "slipway_notifier_status_attempts_total",
        "Commit status requests to the forges that finished, by forge and result (ok, already: "
        "GitLab had it, http_4xx, http_5xx, transport: no HTTP answer).",
        (const char *[]){"forge", "result", NULL});
    give_ups_metric = sw_metrics_counter(m, "slipway_notifier_give_ups_total",
                                         "Commit statuses given up on, by forge.",
                                         (const char *[]){"forge", NULL});
}

static void metrics_once(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, metrics_register);
}

static void count_attempt(sw_forge_type forge, const sw_http_request *req, bool ok, bool there)
{
    const char *result = ok      ? "ok"
                         : there ? "already"
                         : req->curl_code != 0 ? "transport"
                         : req->status >= 500  ? "http_5xx"
                                               : "http_4xx";
    metrics_once();
    sw_metric_add(attempts_metric, (const char *[]){sw_forge_name(forge), result}, 1);
}

/* Settles status without the forge having it, and says so in the build's log. */
static void give_up(notifier *n, build *b, sw_status status, const char *why)
{
    const char *forge = sw_forge_name(b->project->forge.type);
    metrics_once();
    sw_metric_add(give_ups_metric, (const char *[]){forge}, 1);
    const char *state = sw_status_forge_state(b->project->forge.type, status.kind);
    char text[512];
    snprintf(text, sizeof(text), "notifier: could not set the %s commit status '%s': %s", forge,
             state ? state : sw_status_kind_name(status.kind), why);
    sw_warn(who(n), "build %s: %s", b->r.rec.build_id, text + strlen("notifier: "));
    log_line(n, b, text);
    b->r.settled = status;
    b->tries = 0;
    save(n, b, 0);
}

/* --- sending --------------------------------------------------------------- */

static bool same_status(sw_status a, sw_status b)
{
    return a.kind == b.kind && a.attempt == b.attempt;
}

static int64_t backoff_ms(const notifier *n, uint32_t tries)
{
    int64_t ms = (int64_t)n->cfg->notify_backoff_ms;
    for (uint32_t i = 1; i < tries && ms < MAX_BACKOFF_MS; i++) {
        ms *= 2;
    }
    return ms < MAX_BACKOFF_MS ? ms : MAX_BACKOFF_MS;
}

/* Hands the request for the status b asks for now to the worker. */
static void send_status(notifier *n, build *b)
{
    const Slipway__BuildRecord *rec = &b->r.rec;
    sw_status want = sw_status_of(rec);
    sw_status_request sr;
    char description[DESCRIPTION_BYTES];
    char *target;
    int error;

    if (!same_status(b->trying, want)) {
        b->trying = want;
        b->tries = 0;
    }
    sw_status_describe(description, sizeof(description), rec);
    target = sw_status_signed_url(n->cfg->public_url, rec->build_id, n->cfg->web_link_key,
                                  n->cfg->web_link_ttl_ms, sw_clock_wall_ms() / 1000);
    error =
        sw_status_request_make(&sr, &b->project->forge, rec->sha, want.kind, description, target);
    free(target);
    if (error < 0) {
        char why[320];
        snprintf(why, sizeof(why), "%s (not sent)", sw_error_last());
        give_up(n, b, want, why);
        return;
    }
    sw_http_request *req = sw_http_request_new();
    req->key = sw_strdup(rec->build_id);
    req->url = sr.url;
    for (size_t i = 0; i < sr.nheaders && i < SW_HTTP_MAX_HEADERS; i++) {
        req->headers[req->nheaders++] = sr.headers[i];
        sr.headers[i] = NULL;
    }
    req->body = sr.body;
    req->timeout_ms = (int64_t)n->cfg->notify_timeout_ms;
    sr.url = NULL;
    sr.body = NULL;
    sw_status_request_finish(&sr);

    b->tries++;
    b->inflight = true;
    b->inflight_status = want;
    sw_debug(who(n), "build %s: %s status '%s' (try %u)", rec->build_id,
             sw_forge_name(b->project->forge.type), description, b->tries);
    sw_http_submit(n->http, &req);
}

/* Sends what b asks for if nothing stops it now; otherwise the tick will. */
static void pump(notifier *n, build *b)
{
    if (b->inflight || settled(b) || !has_sha(b) || sw_clock_mono_ms() < b->next_at) {
        return;
    }
    send_status(n, b);
}

/* --- mail ------------------------------------------------------------------ */

static void on_event(notifier *n, const sw_mail *mail)
{
    const Slipway__BuildEvent *ev = (const Slipway__BuildEvent *)mail->pb;
    uint64_t seq = sw_msg_stream_seq(mail->msg);
    const char *id = ev->build_id;
    build *b;
    int rc;

    if (seq != 0) {
        if (seq <= n->seq) {
            return; /* folded already */
        }
        n->seq = seq;
    }
    if (id == NULL || id[0] == '\0' || strlen(id) > MAX_ID) {
        return;
    }
    if ((b = lookup(n, id)) == NULL) {
        sw_record r;
        sw_record_init(&r);
        rc = sw_records_get(n->store, id, &r);
        if (rc == SW_ENOTFOUND) {
            /* a build is known from its CREATED on, and only if its project wants statuses */
            if (ev->kind != SLIPWAY__EVENT_KIND__CREATED || ev->job == NULL ||
                project_for(n, ev->job->project) == NULL) {
                return;
            }
        } else if (rc < 0) {
            sw_warn(who(n), "build %s: %s", id, sw_error_last());
            sw_record_clear(&r);
            return;
        }
        b = add(n, &r, id);
        b->project = project_for(n, b->r.rec.project);
    }
    rc = sw_build_apply(&b->r.rec, ev);
    if (rc < 0) {
        sw_debug(who(n), "event ignored: %s", sw_error_last());
    }
    if (rc != SW_APPLY_CHANGED) {
        drop_if_done(n, b);
        return;
    }
    b->project = project_for(n, b->r.rec.project);
    b->r.touched_ms = sw_clock_wall_ms();
    save(n, b, seq);
    pump(n, b);
    drop_if_done(n, b);
}

/* What a finished request means for its build. When stopping, nothing new is sent. */
static void on_result(notifier *n, const sw_http_request *req, bool stopping)
{
    build *b = lookup(n, req->key);
    char why[400];

    if (b == NULL || !b->inflight) {
        return;
    }
    b->inflight = false;
    if (b->project == NULL) {
        drop_if_done(n, b);
        return;
    }
    sw_status sent = b->inflight_status;
    sw_status want = sw_status_of(&b->r.rec);
    bool ok = req->curl_code == 0 && req->status >= 200 && req->status < 300;
    /* GitLab refuses to set a state the status already has (or has passed) */
    bool there = b->project->forge.type == SW_FORGE_GITLAB && req->curl_code == 0 &&
                 req->status == 400 && strstr(req->response, "Cannot transition status") != NULL;
    bool retry = sw_http_retryable(req);

    count_attempt(b->project->forge.type, req, ok, there);
    if (req->curl_code != 0) {
        snprintf(why, sizeof(why), "%s", req->error);
    } else {
        snprintf(why, sizeof(why), "HTTP %ld", req->status);
    }
    if (ok || there) {
        b->r.settled = sent;
        b->tries = 0;
        b->next_at = 0;
        save(n, b, 0);
    } else if (stopping) {
        return; /* unsettled: sent again after the restart */
    } else if (!same_status(sent, want)) {
        /* superseded meanwhile: the newer status goes next, after the backoff if the
         * forge is struggling */
        sw_debug(who(n), "build %s: %s for a superseded status", b->r.rec.build_id, why);
        b->next_at = retry ? sw_clock_mono_ms() + backoff_ms(n, b->tries) : 0;
    } else if (retry && b->tries < n->cfg->notify_attempts) {
        sw_info(who(n), "build %s: %s, try %u of %u", b->r.rec.build_id, why, b->tries,
                n->cfg->notify_attempts);
        b->next_at = sw_clock_mono_ms() + backoff_ms(n, b->tries);
    } else {
        char full[480];
        if (retry) {
            snprintf(full, sizeof(full), "%s after %u tries", why, b->tries);
        } else {
            snprintf(full, sizeof(full), "%s (not retried)", why);
        }
        b->next_at = 0;
        give_up(n, b, sent, full);
    }
    if (!stopping) {
        pump(n, b);
        drop_if_done(n, b);
    }
}

/* Handles every finished request. */
static void take_results(notifier *n, bool stopping)
{
    sw_http_request *req = sw_http_take(n->http);
    while (req != NULL) {
        sw_http_request *next = req->next_;
        on_result(n, req, stopping);
        sw_http_request_free(req);
        req = next;
    }
}

/* --- start, tick, stop ----------------------------------------------------- */

typedef struct scan_ctx {
    notifier *n;
    int64_t horizon_ms; /* wall clock: records untouched since before this are pruned */
    size_t loaded, pruned;
} scan_ctx;

static bool scan_one(const sw_record *r, void *closure)
{
    scan_ctx *c = closure;
    build *b = lookup(c->n, r->rec.build_id);
    if (r->touched_ms < c->horizon_ms && (b == NULL || !b->inflight)) {
        if (b != NULL) {
            drop(c->n, b);
        }
        c->pruned++;
        return true;
    }
    if (b == NULL) {
        sw_record copy;
        sw_record_init(&copy);
        copy.settled = r->settled;
        copy.log_seq = r->log_seq;
        copy.touched_ms = r->touched_ms;
        sw_build_record_copy(&copy.rec, &r->rec);
        b = add(c->n, &copy, r->rec.build_id);
        b->project = project_for(c->n, b->r.rec.project);
        c->loaded++;
        drop_if_done(c->n, b); /* only what still has something to say stays */
    }
    return false;
}

static void prune(notifier *n)
{
    scan_ctx c = {.n = n, .horizon_ms = sw_clock_wall_ms() - (int64_t)n->cfg->events_max_age_ms};
    if (sw_records_scan(n->store, scan_one, &c) < 0) {
        sw_warn(who(n), "%s", sw_error_last());
    } else if (c.pruned > 0) {
        sw_info(who(n), "pruned %zu old build records", c.pruned);
    }
}

static void free_all(notifier *n)
{
    for (size_t i = 0; i < NBUCKETS; i++) {
        while (n->table[i] != NULL) {
            drop(n, n->table[i]);
        }
    }
}

static int notifier_init(sw_actor *self, void **state_out, void *arg)
{
    const sw_actor_ctx *ctx = arg;
    notifier *n = sw_calloc(1, sizeof(*n));
    char dir[4096];
    int error;

    n->self = self;
    n->bus = sw_actor_bus(self);
    n->cfg = sw_config_retain(ctx->cfg);
    snprintf(dir, sizeof(dir), "%s/notifier", n->cfg->data_dir);
    if ((error = sw_records_open(&n->store, dir)) < 0) {
        sw_config_release(&n->cfg);
        free(n);
        return error;
    }
    n->seq = sw_records_seq(n->store);
    prune(n); /* also loads the builds that still have something to say */
    n->next_prune_ms = sw_clock_mono_ms() + PRUNE_EVERY_MS;
    if ((error = sw_http_create(&n->http, self, TAG_HTTP)) < 0) {
        goto fail;
    }
    *state_out = n;
    if ((error = sw_actor_follow(self, TAG_EVENT, SW_STREAM_EVENTS, "sw.events.>", n->seq + 1,
                                 &slipway__build_event__descriptor)) < 0) {
        *state_out = NULL;
        sw_http_destroy(&n->http);
        goto fail;
    }
    sw_info(who(n), "following EVENTS from %llu, %zu builds pending",
            (unsigned long long)(n->seq + 1), n->nbuilds);
    return 0;

fail:
    free_all(n);
    sw_records_destroy(&n->store);
    sw_config_release(&n->cfg);
    free(n);
    return error;
}

/* slipway.yaml was reloaded: forges, tokens, the public url and the retry
 * settings apply to the next request; each build in memory looks its project
 * up again (a request in flight carries copies of what it needs). */
static int notifier_reconfigure(sw_actor *self, void *state, const sw_config *cfg)
{
    notifier *n = state;
    (void)self;
    sw_config_release(&n->cfg);
    n->cfg = sw_config_retain(cfg);
    for (size_t i = 0; i < NBUCKETS; i++) {
        for (build *b = n->table[i]; b != NULL; b = b->next) {
            b->project = project_for(n, b->r.rec.project);
        }
    }
    return 0;
}

static void notifier_handle(sw_actor *self, void *state, const sw_mail *mail)
{
    if (mail->tag == TAG_EVENT && mail->pb != NULL) {
        on_event(state, mail);
    } else if (mail->tag == TAG_HTTP) {
        take_results(state, false);
        sw_actor_wake(self); /* the tick learns of new backoffs */
    }
}

/* Sends what waited for its backoff; returns ms until the next deadline. */
static int64_t notifier_tick(sw_actor *self, void *state)
{
    notifier *n = state;
    int64_t now = sw_clock_mono_ms();
    int64_t next;

    if (now >= n->next_prune_ms) {
        prune(n);
        n->next_prune_ms = now + PRUNE_EVERY_MS;
        if (n->seq > sw_records_seq(n->store) && sw_records_set_seq(n->store, n->seq) < 0) {
            sw_warn(who(n), "%s", sw_error_last());
        }
    }
    next = n->next_prune_ms;
    for (size_t i = 0; i < NBUCKETS; i++) {
        build *b = n->table[i];
        while (b != NULL) {
            build *following = b->next; /* drop_if_done may free b */
            if (!b->inflight && has_sha(b) && !settled(b)) {
                if (now >= b->next_at) {
                    pump(n, b);
                    drop_if_done(n, b);
                } else if (b->next_at < next) {
                    next = b->next_at;
                }
            }
            b = following;
        }
    }
    return next > now ? next - now : 0;
}

static void notifier_stop(sw_actor *self, void *state)
{
    notifier *n = state;
    if (n == NULL) {
        return;
    }
    /* a request about to be answered is not cut off; one that takes longer is
     * aborted, and its status sent again after the restart */
    if (!sw_http_drain(n->http, STOP_GRACE_MS)) {
        sw_info(who(n), "stopping with requests in flight: they are sent again on restart");
    }
    take_results(n, true);
    sw_http_destroy(&n->http);
    if (n->seq > sw_records_seq(n->store) && sw_records_set_seq(n->store, n->seq) < 0) {
        sw_warn(who(n), "%s", sw_error_last());
    }
    free_all(n);
    sw_records_destroy(&n->store);
    sw_config_release(&n->cfg);
    free(n);
}

const sw_actor_impl sw_notifier_impl = {
    .kind = "notifier",
    .init = notifier_init,
    .handle = notifier_handle,
    .tick = notifier_tick,
    .stop = notifier_stop,
    .reconfigure = notifier_reconfigure,
};
