/*
 * bench_autoscale.c - figures, not a test: how the autoscaler (process
 * provider) follows a step of load from an empty pool and back.
 *
 * One cluster, autoscaled from 0 to --max one-slot builders, pressure
 * thresholds off; the harness's slipwayd runs the scheduler, dispatcher,
 * logsink and autoscaler, so every builder is one the autoscaler started. The
 * project's pipeline is one step, `sleep 2`.
 *
 * Phase 0 (cold start): one build on the empty pool: request -> the first
 * builder's heartbeat, request -> STARTED; then the pool goes back to 0.
 * Phase 1 (the step): N builds published evenly over --spread seconds (on the
 * bus, as `slipway submit` does, without a process each), then quiet until
 * every build ended and the pool is back at min. Once a second it prints a
 * row from the leader's PoolStatus (sw.scale.pool.<cluster>, read on a
 * connection of its own) and the builds' events in EVENTS.
 *
 * At the end: cold start, time to the first scale_out, queue waits (STARTED
 * minus request) and when they fell under 1 s for good, builds failed and
 * builds run twice (counted by msg-id by the witness: both must be 0, else it
 * exits non-zero), last build ended -> pool at min, and the decisions in
 * SCALING by action with the thrash (direction changes).
 *
 *   SLIPWAY_BUILD_DIR=$PWD/build SLIPWAY_SOURCE_DIR=$PWD \
 *       build/tests/integration/bench_autoscale [--builds N] ...
 */
#include "harness.h"
#include "support.h"
#include "witness.h"

#include "bus/bus.h"
#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <check.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLUSTER "local-free" /* the harness's one cluster */
#define TENANT "demo"        /* the harness's one tenant */
#define PROJECT "demo"
#define PIPELINE "steps:\n  - name: work\n    run: sleep 2\n"
#define MARKER "builder:" CLUSTER "-auto-"
#define SLOW_MS 1000 /* a queue wait at least this long is slow */
#define STALL_MS 30000 /* the pool idle this long with builds not ended: they are lost */

static struct {
    int builds, spread_s, scale_in_after_s, max, timeout_s;
} opt = {300, 10, 20, 8, 900};

typedef struct build {
    char id[13];
    int64_t requested, started, finished; /* wall ms; 0: not yet */
    int state;                            /* of its first FINISHED */
} build;

/* What the subscriptions saw, under lock: they run on the bus's threads. */
typedef struct bench {
    pthread_mutex_t lock;
    sw_bus *bus;
    sw_sub *events, *pool, *heartbeats;
    build *builds; /* [0]: the cold start; [1..opt.builds]: the step */
    int n;
    int started, finished; /* builds with at least one such event */
    int64_t last_finished;
    bool have_status;
    int64_t status_ms; /* wall: when the last PoolStatus arrived */
    uint32_t ready, starting, draining, desired;
    uint64_t queued, running;
    double pressure;
    bool hb_armed;
    int64_t first_hb; /* at_ms of the first heartbeat since armed */
    char run[48];
    int64_t t0;    /* wall: the step began */
    bool sampling; /* the sampler prints while true */
} bench;

static build *find(bench *b, const char *id)
{
    for (int i = 0; i < b->n; i++) {
        if (strcmp(b->builds[i].id, id) == 0) {
            return &b->builds[i];
        }
    }
    return NULL;
}

static void on_event(sw_msg *msg, void *closure)
{
    bench *b = closure;
    Slipway__BuildEvent *ev =
        slipway__build_event__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    sw_msg_release(&msg);
    if (ev == NULL) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    build *x = find(b, ev->build_id);
    if (x != NULL && ev->kind == SLIPWAY__EVENT_KIND__STARTED && x->started == 0) {
        x->started = ev->at_ms;
        b->started++;
    } else if (x != NULL && ev->kind == SLIPWAY__EVENT_KIND__FINISHED && x->finished == 0) {
        x->finished = ev->at_ms;
        x->state = ev->state;
        b->finished++;
        if (ev->at_ms > b->last_finished) {
            b->last_finished = ev->at_ms;
        }
    }
    pthread_mutex_unlock(&b->lock);
    slipway__build_event__free_unpacked(ev, NULL);
}

static void on_pool(sw_msg *msg, void *closure)
{
    bench *b = closure;
    Slipway__PoolStatus *st =
        slipway__pool_status__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    sw_msg_release(&msg);
    if (st == NULL) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    b->have_status = true;
    b->status_ms = sw_clock_wall_ms();
    b->ready = st->ready;
    b->starting = st->starting;
    b->draining = st->draining;
    b->desired = st->desired;
    b->queued = st->queued;
    b->running = st->running;
    b->pressure = st->pressure;
    pthread_mutex_unlock(&b->lock);
    slipway__pool_status__free_unpacked(st, NULL);
}

static void on_heartbeat(sw_msg *msg, void *closure)
{
    bench *b = closure;
    Slipway__Heartbeat *hb = slipway__heartbeat__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    sw_msg_release(&msg);
    if (hb == NULL) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    if (b->hb_armed && b->first_hb == 0) {
        b->first_hb = hb->at_ms;
    }
    pthread_mutex_unlock(&b->lock);
    slipway__heartbeat__free_unpacked(hb, NULL);
}

static void bench_connect(bench *b, sw_harness *h)
{
    sw_bus_options o = {.url = sw_harness_nats_url(h), .name = "bench-autoscale",
                        .connect_wait_ms = 5000};
    sw_harness_as_operator(&o);
    ck_assert_msg(sw_bus_connect(&b->bus, &o) == 0, "bench cannot connect: %s", sw_error_last());
    ck_assert_msg(sw_bus_follow(&b->events, b->bus, SW_STREAM_EVENTS, "sw.events." TENANT ".>", 1,
                                on_event, b) == 0,
                  "bench cannot follow EVENTS: %s", sw_error_last());
    ck_assert_msg(sw_bus_subscribe(&b->pool, b->bus, "sw.scale.pool." CLUSTER, NULL, on_pool,
                                   b) == 0,
                  "bench cannot subscribe to PoolStatus: %s", sw_error_last());
    ck_assert_msg(sw_bus_subscribe(&b->heartbeats, b->bus, "sw.hb." CLUSTER ".*", NULL,
                                   on_heartbeat, b) == 0,
                  "bench cannot subscribe to heartbeats: %s", sw_error_last());
}

static void bench_disconnect(bench *b)
{
    sw_sub_destroy(&b->heartbeats);
    sw_sub_destroy(&b->pool);
    sw_sub_destroy(&b->events);
    sw_bus_destroy(&b->bus);
}

/* Publishes build i's request as cli_publish_request does (the tenant is the
 * harness's; the request id names the build). */
static void submit(bench *b, int i)
{
    char request_id[96], subject[160];
    Slipway__BuildRequest br = SLIPWAY__BUILD_REQUEST__INIT;
    snprintf(request_id, sizeof(request_id), "ramp-%s-%d", b->run, i);
    sw_subject(subject, sizeof(subject), "sw.req", TENANT, NULL);
    br.request_id = request_id;
    br.tenant = TENANT;
    br.project = PROJECT;
    br.forge = "bench";
    br.ref = "";
    pthread_mutex_lock(&b->lock);
    b->builds[i].requested = br.requested_at_ms = sw_clock_wall_ms();
    pthread_mutex_unlock(&b->lock);
    ck_assert_msg(sw_wire_js_publish(b->bus, subject, &br.base, request_id, NULL) == 0,
                  "request %d was not stored: %s", i, sw_error_last());
}

typedef bool (*bench_pred)(const bench *b, void *ud);

/* Waits (polling, at most timeout_ms) for pred; fails saying what it waited
 * for and what the pool and the builds looked like. */
static void await(bench *b, bench_pred pred, void *ud, const char *what, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    for (;;) {
        char seen[256];
        pthread_mutex_lock(&b->lock);
        bool ok = pred(b, ud);
        snprintf(seen, sizeof(seen),
                 "%sready %u starting %u draining %u desired %u queued %llu running %llu; "
                 "builds started %d, ended %d of %d",
                 b->have_status ? "" : "(no PoolStatus yet) ", b->ready, b->starting,
                 b->draining, b->desired, (unsigned long long)b->queued,
                 (unsigned long long)b->running, b->started, b->finished, b->n);
        pthread_mutex_unlock(&b->lock);
        if (ok) {
            return;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline, "waited %d ms for %s; the pool: %s",
                      timeout_ms, what, seen);
        usleep(50 * 1000);
    }
}

/* A PoolStatus of the last 2 s says no builder at all and desired 0 (min). */
static bool pool_empty(const bench *b, void *ud)
{
    (void)ud;
    return b->have_status && sw_clock_wall_ms() - b->status_ms < 2000 && b->ready == 0 &&
           b->starting == 0 && b->draining == 0 && b->desired == 0;
}

static bool started(const bench *b, void *ud)
{
    return b->builds[*(int *)ud].started != 0;
}

static bool finished_all(const bench *b, void *ud)
{
    return b->finished >= *(int *)ud;
}

/* Once a second while b->sampling: a timeline row. */
static void *sampler(void *arg)
{
    bench *b = arg;
    printf("%5s %6s %7s %5s %8s %8s %7s %7s %7s %6s\n", "t", "queued", "running", "ready",
           "starting", "draining", "desired", "P", "started", "ended");
    for (int k = 0;; k++) {
        int64_t at = b->t0 + (int64_t)k * 1000, now = sw_clock_wall_ms();
        if (at > now) {
            usleep((useconds_t)(at - now) * 1000);
        }
        pthread_mutex_lock(&b->lock);
        if (!b->sampling) {
            pthread_mutex_unlock(&b->lock);
            return NULL;
        }
        char p[16];
        if (b->pressure > 1e6) {
            snprintf(p, sizeof(p), "inf");
        } else {
            snprintf(p, sizeof(p), "%.2f", b->pressure);
        }
        printf("%5d %6llu %7llu %5u %8u %8u %7u %7s %7d %6d%s\n", k,
               (unsigned long long)b->queued, (unsigned long long)b->running, b->ready,
               b->starting, b->draining, b->desired, p, b->started - 1, b->finished - 1,
               sw_clock_wall_ms() - b->status_ms > 2000 ? "  (status stale)" : "");
        fflush(stdout);
        pthread_mutex_unlock(&b->lock);
    }
}

/* Decisions of one phase, by action, and the direction changes. */
typedef struct tally {
    int out, in, undrain, destroy, replace, retry, halt, lead, other;
    int thrash;
    int last_dir; /* +1 out, -1 in, 0 none yet */
    int64_t first_out;
} tally;

typedef struct tallies {
    int64_t t0;
    tally phase[2];
} tallies;

static void count_decision(const Slipway__ScaleDecision *d, void *ud)
{
    tallies *ts = ud;
    tally *t = &ts->phase[d->at_ms >= ts->t0];
    int dir = 0;
    if (strcmp(d->action, "scale_out") == 0) {
        t->out++;
        dir = 1;
        if (t->first_out == 0) {
            t->first_out = d->at_ms;
        }
    } else if (strcmp(d->action, "scale_in") == 0) {
        t->in++;
        dir = -1;
    } else if (strcmp(d->action, "undrain") == 0) {
        t->undrain++;
        dir = 1;
    } else if (strcmp(d->action, "destroy") == 0) {
        t->destroy++;
    } else if (strcmp(d->action, "replace") == 0) {
        t->replace++;
    } else if (strcmp(d->action, "retry") == 0) {
        t->retry++;
    } else if (strcmp(d->action, "halt") == 0) {
        t->halt++;
    } else if (strcmp(d->action, "lead") == 0) {
        t->lead++;
    } else {
        t->other++;
    }
    printf("  %8.1f  %-9s %2u -> %-2u %-22s %s\n", (double)(d->at_ms - ts->t0) / 1000.0,
           d->action, d->from, d->to, d->builder, d->reason);
    if (dir != 0) {
        t->thrash += t->last_dir != 0 && t->last_dir != dir;
        t->last_dir = dir;
    }
}

static void print_tally(const char *label, const tally *t)
{
    printf("  %-24s scale_out %d, scale_in %d, undrain %d, destroy %d, replace %d, retry %d, "
           "halt %d, lead %d, other %d; thrash %d\n",
           label, t->out, t->in, t->undrain, t->destroy, t->replace, t->retry, t->halt, t->lead,
           t->other, t->thrash);
}

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return (a > c) - (a < c);
}

/* Waits for every build to end: at most opt.timeout_s, and no longer than
 * STALL_MS after the pool went idle (nothing queued or running) with builds
 * still not ended: those are lost, and waiting longer would not bring them.
 * Returns how many did not end (each is named). */
static int await_step(bench *b)
{
    int64_t deadline = sw_clock_wall_ms() + (int64_t)opt.timeout_s * 1000, idle_since = 0;
    for (;;) {
        int64_t now = sw_clock_wall_ms();
        pthread_mutex_lock(&b->lock);
        bool done = b->finished >= b->n;
        bool idle = b->have_status && now - b->status_ms < 2000 && b->queued == 0 &&
                    b->running == 0 && b->started >= b->n;
        pthread_mutex_unlock(&b->lock);
        if (done) {
            return 0;
        }
        idle_since = idle ? (idle_since ? idle_since : now) : 0;
        if (now >= deadline || (idle_since && now - idle_since >= STALL_MS)) {
            break;
        }
        usleep(100 * 1000);
    }
    int unfinished = 0;
    pthread_mutex_lock(&b->lock);
    for (int i = 0; i < b->n; i++) {
        const build *x = &b->builds[i];
        if (x->finished == 0) {
            unfinished++;
            printf("  not ended: %s (%s)\n", x->id, x->started ? "started" : "never started");
        }
    }
    pthread_mutex_unlock(&b->lock);
    printf("  gave up waiting for every build of the step to end: %d not ended (%s, %d s)\n",
           unfinished,
           sw_clock_wall_ms() >= deadline ? "--timeout passed"
                                          : "the pool idle with every build started",
           sw_clock_wall_ms() >= deadline ? opt.timeout_s : STALL_MS / 1000);
    return unfinished;
}

/* The pool at 0 for timeout_ms at most, then how long after `since` (wall)
 * the bench saw it so. */
static int64_t await_empty(bench *b, int64_t since, const char *what)
{
    int timeout = (opt.scale_in_after_s + 60) * 1000 + opt.max * 10000;
    await(b, pool_empty, NULL, what, timeout);
    return sw_clock_wall_ms() - since;
}

START_TEST(bench_ramp)
{
    char cluster_yaml[512], marker[1024];
    snprintf(cluster_yaml, sizeof(cluster_yaml),
             "    pressure: {cpu: off, memory: off, io: off}\n"
             "    autoscale: {provider: process, min: 0, max: %d, slots: 1, "
             "scale_in_after: %ds}\n",
             opt.max, opt.scale_in_after_s);
    sw_harness_options hopts = {
        .yaml_extra = "autoscale_lease: 3s\n",
        .heartbeat_interval = "250ms",
        .heartbeat_lapse = "3s",
        .cluster_extra = cluster_yaml,
        .builders = 1, /* builder-1 is listed (the harness always lists one), never started */
    };
    sw_harness *h = sw_harness_create(&hopts);
    snprintf(marker, sizeof(marker), "%s/slipway.yaml %s", sw_harness_dir(h), MARKER);
    sw_harness_repo_pipeline(h, PROJECT, PIPELINE);
    sw_harness_start(h, "scheduler", "dispatcher", "logsink", "autoscaler", NULL);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));

    bench b;
    memset(&b, 0, sizeof(b));
    pthread_mutex_init(&b.lock, NULL);
    b.n = opt.builds + 1;
    b.builds = calloc((size_t)b.n, sizeof(*b.builds));
    ck_assert_ptr_nonnull(b.builds);
    snprintf(b.run, sizeof(b.run), "%lld-%d", (long long)sw_clock_wall_ms(), (int)getpid());
    for (int i = 0; i < b.n; i++) {
        char request_id[96];
        snprintf(request_id, sizeof(request_id), "ramp-%s-%d", b.run, i);
        sw_wire_build_id(b.builds[i].id, TENANT, request_id);
    }
    bench_connect(&b, h);
    printf("bench_autoscale: %d builds of `sleep 2` over %d s; autoscale process, min 0, max %d, "
           "slots 1, scale_in_after %ds; harness %s\n",
           opt.builds, opt.spread_s, opt.max, opt.scale_in_after_s, sw_harness_dir(h));
    fflush(stdout);

    /* phase 0: the cold start */
    await(&b, pool_empty, NULL, "a PoolStatus of an empty pool (the autoscaler leading)", 30000);
    pthread_mutex_lock(&b.lock);
    b.hb_armed = true;
    pthread_mutex_unlock(&b.lock);
    int zero = 0, one = 1;
    submit(&b, 0);
    await(&b, started, &zero, "the cold-start build to start", 60000);
    await(&b, finished_all, &one, "the cold-start build to end", 60000);
    int64_t cold_started = b.builds[0].started - b.builds[0].requested;
    int64_t cold_hb = b.first_hb ? b.first_hb - b.builds[0].requested : -1;
    int64_t cold_in = await_empty(&b, b.builds[0].finished, "the pool back at 0 after the cold start");
    printf("phase 0: request -> first heartbeat %lld ms, -> STARTED %lld ms; ended -> pool at 0 "
           "%lld ms\n",
           (long long)cold_hb, (long long)cold_started, (long long)cold_in);
    fflush(stdout);

    /* phase 1: the step */
    pthread_t thread;
    b.t0 = sw_clock_wall_ms();
    b.sampling = true;
    ck_assert_int_eq(pthread_create(&thread, NULL, sampler, &b), 0);
    for (int i = 1; i <= opt.builds; i++) {
        int64_t at = b.t0 + (int64_t)(i - 1) * opt.spread_s * 1000 / opt.builds;
        int64_t now = sw_clock_wall_ms();
        if (at > now) {
            usleep((useconds_t)(at - now) * 1000);
        }
        submit(&b, i);
    }
    int64_t submitted = sw_clock_wall_ms() - b.t0;
    int unfinished = await_step(&b);
    int64_t last_end = b.last_finished;
    int64_t back_at_min = await_empty(&b, last_end, "the pool back at min (0) after the step");
    pthread_mutex_lock(&b.lock);
    b.sampling = false;
    pthread_mutex_unlock(&b.lock);
    pthread_join(thread, NULL);
    bool no_procs = sw_harness_await_no_processes(marker, 20000);

    /* the figures */
    int failed = 0, twice = 0, slow = 0, nwaits = 0;
    int64_t last_slow_start = 0, *waits = calloc((size_t)opt.builds, sizeof(*waits));
    ck_assert_ptr_nonnull(waits);
    for (int i = 0; i < b.n; i++) {
        build *x = &b.builds[i];
        int s = sw_witness_started(w, x->id, i == 0 ? 2000 : 0);
        int f = sw_witness_finished(w, x->id, 0);
        failed += x->state != SLIPWAY__BUILD_STATE__SUCCEEDED;
        if (s > 1 || f > 1) {
            twice++;
            printf("  run twice: %s (%d STARTED, %d FINISHED)\n", x->id, s, f);
        }
        if (x->state != SLIPWAY__BUILD_STATE__SUCCEEDED) {
            printf("  failed: %s (%s)\n", x->id,
                   x->finished ? sw_state_name(x->state) : "never ended");
        }
        if (i == 0) {
            continue;
        }
        if (x->started == 0) {
            continue;
        }
        waits[nwaits] = x->started - x->requested;
        if (waits[nwaits++] >= SLOW_MS) {
            slow++;
            if (x->started > last_slow_start) {
                last_slow_start = x->started;
            }
        }
    }
    qsort(waits, (size_t)nwaits, sizeof(*waits), cmp64);
    tallies ts;
    memset(&ts, 0, sizeof(ts));
    ts.t0 = b.t0;
    printf("\ndecisions in SCALING (t: s since the step began)\n");
    sw_witness_each_decision(h, count_decision, &ts);

    printf("\nfigures\n");
    printf("  cold start:              request -> STARTED %lld ms (first heartbeat at %lld ms)\n",
           (long long)cold_started, (long long)cold_hb);
    printf("  step submitted in:       %lld ms (%d builds)\n", (long long)submitted, opt.builds);
    if (ts.phase[1].first_out != 0) {
        printf("  first scale_out:         %lld ms after the step began\n",
               (long long)(ts.phase[1].first_out - b.t0));
    } else {
        printf("  first scale_out:         none in the step\n");
    }
    if (slow == 0) {
        printf("  queue wait < 1 s:        from the start (no build waited 1 s)\n");
    } else {
        printf("  queue wait < 1 s:        after t=%lld s (%d builds waited >= 1 s, the last "
               "started at t=%.1f s)\n",
               (long long)((last_slow_start - b.t0 + 999) / 1000), slow,
               (double)(last_slow_start - b.t0) / 1000.0);
    }
    if (nwaits > 0) {
        printf("  queue wait:              p50 %lld ms, p95 %lld ms, max %lld ms (%d started)\n",
               (long long)waits[nwaits / 2], (long long)waits[(nwaits * 95) / 100],
               (long long)waits[nwaits - 1], nwaits);
    }
    printf("  last build ended at:     t=%.1f s\n", (double)(last_end - b.t0) / 1000.0);
    printf("  last end -> pool at min: %lld ms (scale_in_after %d s)\n", (long long)back_at_min,
           opt.scale_in_after_s);
    printf("  builder processes left:  %s\n", no_procs ? "none" : "some (after 20 s)");
    printf("  builds failed:           %d (of which never ended: %d)\n", failed, unfinished);
    printf("  builds run twice:        %d\n", twice);
    printf("  decisions in SCALING\n");
    print_tally("phase 0 (cold start):", &ts.phase[0]);
    print_tally("phase 1 (the step):", &ts.phase[1]);
    fflush(stdout);

    free(waits);
    bench_disconnect(&b);
    free(b.builds);
    pthread_mutex_destroy(&b.lock);
    sw_witness_destroy(&w);
    ck_assert_msg(failed == 0 && twice == 0, "%d builds failed, %d ran twice", failed, twice);
    sw_harness_destroy(&h);
}
END_TEST

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench_autoscale [--builds N] [--spread SECONDS] [--scale-in-after SECONDS]\n"
            "                       [--max BUILDERS] [--timeout SECONDS]\n"
            "\n"
            "Figures, not a test: an autoscaled pool (process provider, min 0, one-slot\n"
            "builders) under a cold start and a step of N builds of `sleep 2` submitted\n"
            "evenly over the spread. Prints a timeline (once a second) and the figures;\n"
            "exits non-zero when a build failed or ran twice, or a wait ran out.\n"
            "\n"
            "  --builds N               builds in the step (default 300)\n"
            "  --spread SECONDS         over how long they are submitted (default 10)\n"
            "  --scale-in-after SECONDS the pool's scale_in_after (default 20)\n"
            "  --max BUILDERS           the pool's max (default 8)\n"
            "  --timeout SECONDS        for every build of the step to end (default 900)\n"
            "\n"
            "Needs SLIPWAY_BUILD_DIR (and SLIPWAY_SOURCE_DIR) as meson test sets them;\n"
            "SLIPWAY_KEEP_TMP=1 keeps the harness's dir (the logs).\n");
}

/* A positive number of at most max, or -1. */
static int positive(const char *s, int max)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s != '\0' && *end == '\0' && v > 0 && v <= max ? (int)v : -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"builds", required_argument, NULL, 'n'},
        {"spread", required_argument, NULL, 's'},
        {"scale-in-after", required_argument, NULL, 'i'},
        {"max", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (o) {
        case 'n':
            opt.builds = positive(optarg, 2000); /* the witness holds 4096 events a kind */
            break;
        case 's':
            opt.spread_s = positive(optarg, 3600);
            break;
        case 'i':
            opt.scale_in_after_s = positive(optarg, 3600);
            break;
        case 'm':
            opt.max = positive(optarg, 64);
            break;
        case 't':
            opt.timeout_s = positive(optarg, 86400);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || opt.builds < 0 || opt.spread_s < 0 || opt.scale_in_after_s < 0 ||
        opt.max < 0 || opt.timeout_s < 0) {
        usage(stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *s = suite_create("bench_autoscale");
    TCase *tc = tcase_create("ramp");
    tcase_set_timeout(tc, opt.timeout_s + 2 * (opt.scale_in_after_s + 60 + opt.max * 10) +
                              opt.spread_s + 300);
    tcase_add_test(tc, bench_ramp);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
