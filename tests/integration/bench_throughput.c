/*
 * bench_throughput.c - figures, not a test: how many builds a second one
 * slipwayd gets through, and what each costs in CPU, when builds arrive as
 * signed GitHub push webhooks all at once.
 *
 * For each row (builders x slots, webhooks): the harness starts nats-server,
 * git daemon and one slipwayd with every actor, B builders of S slots in one
 * cluster (shell executor, pressure thresholds off unless --pressure), and a
 * project whose pipeline is one step, `true`. A warm-up of 2 x B x S
 * deliveries runs first (git mirrors, first builds), not counted. Then W
 * deliveries, each a new X-GitHub-Delivery, are sent at once over
 * --connections concurrent HTTP connections (curl multi); every one must be
 * answered 202. The bench follows EVENTS on a connection of its own and waits
 * (bounded by --timeout) for every build's FINISHED.
 *
 * Prints per row: builds/s (first webhook sent -> last FINISHED), the result
 * of every build by state (each must be succeeded, and the witness must have
 * seen exactly one FINISHED for each, counted by msg-id), CPU per build of
 * slipwayd itself (utime+stime from /proc/<pid>/stat) and of its children
 * (cutime+cstime: the sandboxes it reaped) over the same window, and host
 * cores busy (/proc/stat), and how much of that was not this bench's
 * processes (nats-server, git daemon, slipwayd and what they reaped, and the
 * bench itself): other load on the host, which disturbs the figures. Exits non-zero when a build failed, ran twice or did
 * not end, or a delivery was refused.
 *
 *   SLIPWAY_BUILD_DIR=$PWD/build SLIPWAY_SOURCE_DIR=$PWD \
 *       build/tests/integration/bench_throughput [--builders B --slots S --webhooks W]
 */
#include "harness.h"
#include "natsd.h"
#include "pushes.h"
#include "support.h"
#include "witness.h"

#include "bus/bus.h"
#include "runtime/buildstate.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TENANT "demo" /* the harness's tenant */
#define PROJECT "noop"
#define PIPELINE "steps:\n  - name: noop\n    run: \"true\"\n"
#define MAX_ROWS 2
#define MAX_WEBHOOKS 50000 /* the witness holds 65536 FINISHED events */
#define MAX_BUILDERS 128
#define PACE_MS 20 /* --rate: a batch of deliveries this often */

typedef struct row {
    int builders, slots, webhooks;
} row;

static struct {
    row rows[MAX_ROWS];
    int nrows;
    int connections, timeout_s;
    bool pressure;
    const char *executor;
    int rate; /* webhooks a second, evenly (0: all at once) */
    const char *lookahead; /* the tier's (NULL: its default) */
    int hold;              /* the tier's (0: its default) */
} opt = {{{2, 1, 200}, {4, 8, 400}}, 2, 16, 600, false, "shell", 0, NULL, 0};

typedef struct build {
    char delivery[64];
    char id[13];
    int64_t finished; /* wall ms of its first FINISHED; 0: not yet */
    int64_t created, placed, started; /* wall ms of its first such event; 0: not yet */
    int64_t sent;                     /* wall ms its delivery was sent */
    int state;
} build;

/* What the EVENTS follower saw, under lock: it runs on the bus's thread. */
typedef struct bench {
    pthread_mutex_t lock;
    sw_bus *bus;
    sw_sub *events;
    build *builds;
    int n, finished;
    int64_t last_finished;
    struct hsearch_data index; /* build id -> its build */
} bench;

/* CPU clock ticks of a process and of the children it reaped, and the host's. */
typedef struct cpu_sample {
    int64_t wall_ms;
    unsigned long long self, children; /* slipwayd's utime+stime, cutime+cstime */
    unsigned long long ours;           /* this bench and every process it started, with
                                        * what they reaped (nats-server, git daemon, ...) */
    unsigned long long host_busy;      /* all cores: everything but idle and iowait */
    unsigned long long nats;           /* the harness's nats-server(s) */
    unsigned long long in_msgs, out_msgs; /* the (first) server's /varz counters */
} cpu_sample;

typedef struct figures {
    row r;
    double seconds, builds_per_s;
    double self_ms, children_ms, cores_busy, cores_others;
    double nats_ms, in_per_build, out_per_build;
    int succeeded, not_succeeded, not_ended;
    int miscounted; /* builds the witness did not see exactly one FINISHED of */
} figures;

static build *find(bench *b, const char *id)
{
    ENTRY want = {(char *)id, NULL}, *found = NULL;
    return hsearch_r(want, FIND, &found, &b->index) != 0 ? found->data : NULL;
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
    int64_t *stage = x == NULL                                      ? NULL
                     : ev->kind == SLIPWAY__EVENT_KIND__CREATED ? &x->created
                     : ev->kind == SLIPWAY__EVENT_KIND__PLACED  ? &x->placed
                     : ev->kind == SLIPWAY__EVENT_KIND__STARTED ? &x->started
                                                                : NULL;
    if (stage != NULL && *stage == 0) {
        *stage = ev->at_ms;
    }
    if (x != NULL && ev->kind == SLIPWAY__EVENT_KIND__FINISHED && x->finished == 0) {
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

/* utime+stime and cutime+cstime (fields 14-17) of /proc/<pid>/stat. */
static void process_ticks(int pid, unsigned long long *self, unsigned long long *children)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    char *text = sw_test_read_file(path, NULL);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    /* the command name may hold spaces and parentheses: fields count from its last ')' */
    const char *p = strrchr(text, ')');
    ck_assert_msg(p != NULL, "%s: no ')' in '%s'", path, text);
    unsigned long long utime, stime;
    long long cutime, cstime;
    int n = sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
                   &utime, &stime, &cutime, &cstime);
    ck_assert_msg(n == 4, "%s: cannot read the CPU times from '%s'", path, text);
    *self = utime + stime;
    *children = (unsigned long long)(cutime + cstime);
    free(text);
}

/* The host's busy ticks over all cores, from the first line of /proc/stat. */
static unsigned long long host_busy_ticks(void)
{
    char *text = sw_test_read_file("/proc/stat", NULL);
    unsigned long long v[8] = {0};
    ck_assert_msg(text != NULL, "cannot read /proc/stat");
    int n = sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7]);
    ck_assert_msg(n >= 4, "/proc/stat: cannot read its cpu line");
    free(text);
    /* user nice system idle iowait irq softirq steal */
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

/* The ticks of this process and of its children (the harness's nats-server,
 * git daemon and slipwayd), each with the children it reaped. */
static unsigned long long our_ticks(unsigned long long *nats)
{
    unsigned long long total, self, children;
    DIR *d = opendir("/proc");
    struct dirent *e;
    ck_assert_msg(d != NULL, "cannot list /proc");
    process_ticks((int)getpid(), &self, &children);
    total = self;
    while ((e = readdir(d)) != NULL) {
        char path[300];
        int pid = atoi(e->d_name), ppid = 0;
        if (pid <= 0) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        char *text = sw_test_read_file(path, NULL);
        const char *p = text ? strrchr(text, ')') : NULL;
        if (p != NULL && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == (int)getpid()) {
            process_ticks(pid, &self, &children);
            total += self + children;
            if (strstr(text, "(nats-server)") != NULL) {
                *nats += self + children;
            }
        }
        free(text);
    }
    closedir(d);
    return total;
}

/* A counter of the server's /varz ("in_msgs", "out_msgs"); 0 when unread. */
static unsigned long long varz_counter(const char *body, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\"%s\":", name);
    const char *p = body != NULL ? strstr(body, key) : NULL;
    return p != NULL ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static cpu_sample sample(sw_harness *h, int pid)
{
    cpu_sample s;
    char *varz = NULL;
    memset(&s, 0, sizeof(s));
    s.wall_ms = sw_clock_wall_ms();
    process_ticks(pid, &s.self, &s.children);
    s.ours = our_ticks(&s.nats);
    s.host_busy = host_busy_ticks();
    if (sw_natsd_monitor(sw_harness_nats_http_port(h, 0), "/varz", &varz) == 0) {
        s.in_msgs = varz_counter(varz, "in_msgs");
        s.out_msgs = varz_counter(varz, "out_msgs");
    }
    free(varz);
    return s;
}

static void bench_connect(bench *b, sw_harness *h)
{
    sw_bus_options o = {.url = sw_harness_nats_url(h), .name = "bench-throughput",
                        .connect_wait_ms = 5000};
    sw_harness_as_operator(&o);
    ck_assert_msg(sw_bus_connect(&b->bus, &o) == 0, "bench cannot connect: %s", sw_error_last());
    ck_assert_msg(sw_bus_follow(&b->events, b->bus, SW_STREAM_EVENTS, "sw.events." TENANT ".>", 1,
                                on_event, b) == 0,
                  "bench cannot follow EVENTS: %s", sw_error_last());
}

/* ---- the deliveries ------------------------------------------------------------- */

/* Sends builds[from..to) as deliveries at once over opt.connections connections
 * and waits (each at most 60 s) for every answer; fails unless all were 202. */
static void deliver_all(sw_harness *h, build *builds, int from, int to, int rate)
{
    char *url = sw_asprintf("%s/hooks/github/" PROJECT, sw_harness_webhook_url(h));
    char *sha = sw_harness_repo_sha(h, PROJECT, "main");
    int n = to - from, refused = 0;
    sw_push *ps = sw_calloc((size_t)n, sizeof(*ps));
    for (int i = 0; i < n; i++) {
        snprintf(ps[i].delivery, sizeof(ps[i].delivery), "%s", builds[from + i].delivery);
    }
    /* at rate: a batch every PACE_MS, each when its time has come (a batch
     * that takes longer delays the next: the rate printed is what was sent) */
    int batch = rate > 0 ? (rate * PACE_MS + 999) / 1000 : n;
    int64_t t0 = sw_clock_wall_ms();
    for (int i = 0; i < n; i += batch) {
        int m = n - i < batch ? n - i : batch;
        int64_t due = t0 + (int64_t)i * 1000 / (rate > 0 ? rate : 1);
        int64_t now = sw_clock_wall_ms();
        if (rate > 0 && due > now) {
            usleep((useconds_t)(due - now) * 1000);
        }
        now = sw_clock_wall_ms();
        for (int k = 0; k < m; k++) {
            builds[from + i + k].sent = now;
        }
        sw_push_send(ps + i, m, url, PROJECT, sha, opt.connections, 60000);
    }
    if (rate > 0 && n > 0) {
        double took = (double)(sw_clock_wall_ms() - t0) / 1000.0;
        printf("  deliveries:  %d sent at %d/s asked, %.0f/s done (%.2f s)\n", n, rate,
               took > 0 ? n / took : 0.0, took);
    }
    for (int i = 0; i < n; i++) {
        if (ps[i].status != 202 && refused++ < 5) {
            printf("  delivery %s: HTTP %ld %s\n", ps[i].delivery, ps[i].status, ps[i].answer);
        }
    }
    free(ps);
    free(sha);
    free(url);
    ck_assert_msg(refused == 0, "%d of %d deliveries were not answered 202", refused, n);
}

/* Waits (polling, at most timeout_ms) until `want` builds have ended; returns
 * how many had. */
static int await_finished(bench *b, int want, int timeout_ms)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        int finished = b->finished;
        pthread_mutex_unlock(&b->lock);
        if (finished >= want || sw_harness_now_ms() >= deadline) {
            return finished;
        }
        usleep(10 * 1000);
    }
}


static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* When the counted builds' stage happened: how its moments spread (first -> last,
 * from the first webhook) and, for the waits, p50/p99/max of to - from. */
static void print_stages(bench *b, int from, int64_t t0)
{
    static const char *const names[] = {"created", "placed", "started", "finished"};
    int n = b->n - from;
    int64_t *v = sw_calloc((size_t)n, sizeof(*v));
    pthread_mutex_lock(&b->lock);
    for (int k = 0; k < 4; k++) {
        int m = 0;
        for (int i = from; i < b->n; i++) {
            build *x = &b->builds[i];
            int64_t at = k == 0 ? x->created : k == 1 ? x->placed : k == 2 ? x->started
                                                                           : x->finished;
            if (at != 0) {
                v[m++] = at - t0;
            }
        }
        qsort(v, (size_t)m, sizeof(*v), cmp_i64);
        if (m > 0) {
            printf("  %-9s %d builds from %lld to %lld ms (%.0f/s)\n", names[k], m,
                   (long long)v[0], (long long)v[m - 1],
                   v[m - 1] > v[0] ? m * 1000.0 / (double)(v[m - 1] - v[0]) : 0.0);
        }
    }
    static const char *const waits[] = {"request->created", "created->placed",
                                        "placed->started", "created->started (queue)"};
    for (int k = 0; k < 4; k++) {
        int m = 0;
        for (int i = from; i < b->n; i++) {
            build *x = &b->builds[i];
            int64_t a = k == 0 ? (x->sent ? x->sent : t0) : k == 1 || k == 3 ? x->created
                                                                             : x->placed;
            int64_t z = k == 0 ? x->created : k == 1 ? x->placed : x->started;
            if (a != 0 && z != 0) {
                v[m++] = z - a;
            }
        }
        qsort(v, (size_t)m, sizeof(*v), cmp_i64);
        if (m > 0) {
            printf("  %-25s p50 %lld ms, p99 %lld ms, max %lld ms\n", waits[k],
                   (long long)v[m / 2], (long long)v[(m * 99) / 100], (long long)v[m - 1]);
        }
    }
    /* sent at a rate: the queue wait of each third, in the order sent (flat
     * when the control plane keeps up, growing when it does not) */
    for (int third = 0; opt.rate > 0 && third < 3; third++) {
        int m = 0, lo = from + third * n / 3, hi = from + (third + 1) * n / 3;
        for (int i = lo; i < hi; i++) {
            if (b->builds[i].created != 0 && b->builds[i].started != 0) {
                v[m++] = b->builds[i].started - b->builds[i].created;
            }
        }
        qsort(v, (size_t)m, sizeof(*v), cmp_i64);
        if (m > 0) {
            printf("  queue wait, third %d of the sent: p50 %lld ms, p99 %lld ms, max %lld ms\n",
                   third + 1, (long long)v[m / 2], (long long)v[(m * 99) / 100],
                   (long long)v[m - 1]);
        }
    }
    pthread_mutex_unlock(&b->lock);
    free(v);
}

/* ---- one row ---------------------------------------------------------------------- */

static figures run_row(row r)
{
    char cluster[128];
    figures f;
    memset(&f, 0, sizeof(f));
    f.r = r;
    snprintf(cluster, sizeof(cluster), "%s",
             opt.pressure ? "" : "    pressure: {cpu: off, memory: off, io: off, min_memory_free: off, min_disk_free: off}\n");
    char tier[128] = "";
    if (opt.lookahead != NULL) {
        snprintf(tier, sizeof(tier), "    lookahead: %s\n", opt.lookahead);
    }
    if (opt.hold > 0) {
        snprintf(tier + strlen(tier), sizeof(tier) - strlen(tier), "    hold: %d\n", opt.hold);
    }
    sw_harness_options hopts = {.builders = r.builders, .slots = r.slots,
                                .cluster_extra = cluster, .tier_extra = tier,
                                .executor = opt.executor};
    sw_harness *h = sw_harness_create(&hopts);
    sw_harness_repo_pipeline(h, PROJECT, PIPELINE);
    sw_harness_start(h, NULL);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));

    int warm = 2 * r.builders * r.slots;
    bench b;
    memset(&b, 0, sizeof(b));
    pthread_mutex_init(&b.lock, NULL);
    b.n = warm + r.webhooks;
    b.builds = sw_calloc((size_t)b.n, sizeof(*b.builds));
    ck_assert(hcreate_r((size_t)b.n * 2, &b.index) != 0);
    long long run = (long long)sw_clock_wall_ms();
    for (int i = 0; i < b.n; i++) {
        char request_id[96];
        snprintf(b.builds[i].delivery, sizeof(b.builds[i].delivery), "bench-%lld-%d-%d", run,
                 (int)getpid(), i);
        snprintf(request_id, sizeof(request_id), "github:%s", b.builds[i].delivery);
        sw_wire_build_id(b.builds[i].id, TENANT, request_id);
        ENTRY e = {b.builds[i].id, &b.builds[i]}, *added = NULL;
        ck_assert(hsearch_r(e, ENTER, &added, &b.index) != 0);
    }
    bench_connect(&b, h);
    printf("\nbench_throughput: %d builder(s) x %d slot(s), %d webhooks (warm-up %d), "
           "pressure %s, lookahead %s; harness %s\n",
           r.builders, r.slots, r.webhooks, warm, opt.pressure ? "on" : "off",
           opt.lookahead ? opt.lookahead : "default",
           sw_harness_dir(h));

    deliver_all(h, b.builds, 0, warm, 0);
    int ended = await_finished(&b, warm, 120000);
    ck_assert_msg(ended >= warm, "the warm-up's %d builds did not end in 120 s (%d did)", warm,
                  ended);

    int pid = sw_harness_slipwayd_pid(h);
    cpu_sample before = sample(h, pid);
    deliver_all(h, b.builds, warm, b.n, opt.rate);
    int64_t sent = sw_clock_wall_ms() - before.wall_ms;
    ended = await_finished(&b, b.n, opt.timeout_s * 1000);
    cpu_sample after = sample(h, pid);

    pthread_mutex_lock(&b.lock);
    int64_t last = b.last_finished;
    pthread_mutex_unlock(&b.lock);
    long tck = sysconf(_SC_CLK_TCK);
    f.seconds = (double)(last - before.wall_ms) / 1000.0;
    f.builds_per_s = f.seconds > 0 ? r.webhooks / f.seconds : 0;
    f.self_ms = (double)(after.self - before.self) * 1000.0 / (double)tck / r.webhooks;
    f.children_ms = (double)(after.children - before.children) * 1000.0 / (double)tck / r.webhooks;
    double window_s = (double)(after.wall_ms - before.wall_ms) / 1000.0;
    f.cores_busy = (double)(after.host_busy - before.host_busy) / (double)tck / window_s;
    f.cores_others = f.cores_busy - (double)(after.ours - before.ours) / (double)tck / window_s;
    if (f.cores_others < 0) {
        f.cores_others = 0; /* ticks are counted at different moments: noise */
    }
    f.not_ended = b.n - ended;
    f.nats_ms = (double)(after.nats - before.nats) * 1000.0 / (double)tck / r.webhooks;
    f.in_per_build = (double)(after.in_msgs - before.in_msgs) / r.webhooks;
    f.out_per_build = (double)(after.out_msgs - before.out_msgs) / r.webhooks;

    /* every build's result, and the witness's count of its FINISHED events */
    for (int i = warm; i < b.n; i++) {
        build *x = &b.builds[i];
        int finished = sw_witness_finished(w, x->id, i == warm ? 5000 : 0);
        pthread_mutex_lock(&b.lock);
        int64_t at = x->finished;
        int state = x->state;
        pthread_mutex_unlock(&b.lock);
        if (at != 0 && state == SLIPWAY__BUILD_STATE__SUCCEEDED) {
            f.succeeded++;
        } else {
            f.not_succeeded++;
            if (f.not_succeeded <= 10) {
                printf("  %s (delivery %s): %s\n", x->id, x->delivery,
                       at ? sw_state_name(state) : "never ended");
            }
        }
        if (finished != 1 && at != 0) {
            f.miscounted++;
            printf("  %s: the witness saw %d FINISHED events\n", x->id, finished);
        }
    }
    printf("  deliveries sent (all answered 202) in %lld ms\n", (long long)sent);
    printf("  builds:      %d succeeded, %d not (of which never ended: %d); the witness saw "
           "one FINISHED of each but %d\n",
           f.succeeded, f.not_succeeded, f.not_ended, f.miscounted);
    printf("  throughput:  %.1f builds/s (%d builds, first webhook -> last FINISHED %.2f s)\n",
           f.builds_per_s, r.webhooks, f.seconds);
    print_stages(&b, warm, before.wall_ms);
    printf("  CPU/build:   slipwayd %.1f ms, its children %.1f ms, nats-server %.1f ms\n",
           f.self_ms, f.children_ms, f.nats_ms);
    if (before.in_msgs != 0) {
        printf("  messages:    %.1f into nats-server and %.1f out of it per build (/varz)\n",
               f.in_per_build, f.out_per_build);
    }
    printf("  host:        %.2f cores busy of %ld, of which %.2f not this bench's processes%s\n",
           f.cores_busy, sysconf(_SC_NPROCESSORS_ONLN), f.cores_others,
           f.cores_others > 0.1 ? " (the figures are disturbed)" : "");

    sw_sub_destroy(&b.events);
    sw_bus_destroy(&b.bus);
    hdestroy_r(&b.index);
    free(b.builds);
    pthread_mutex_destroy(&b.lock);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
    return f;
}

START_TEST(bench_rows)
{
    figures f[MAX_ROWS];
    int bad = 0;
    for (int i = 0; i < opt.nrows; i++) {
        f[i] = run_row(opt.rows[i]);
        bad += f[i].not_succeeded + f[i].miscounted;
    }
    printf("\n%-10s %8s %9s %14s %14s %10s %11s %7s\n", "builders", "webhooks", "builds/s",
           "slipwayd ms/b", "children ms/b", "nats ms/b", "cores busy", "others");
    for (int i = 0; i < opt.nrows; i++) {
        char shape[32];
        snprintf(shape, sizeof(shape), "%d x %d", f[i].r.builders, f[i].r.slots);
        printf("%-10s %8d %9.1f %14.1f %14.1f %10.1f %11.2f %7.2f\n", shape, f[i].r.webhooks,
               f[i].builds_per_s, f[i].self_ms, f[i].children_ms, f[i].nats_ms, f[i].cores_busy,
               f[i].cores_others);
    }
    ck_assert_msg(bad == 0, "%d builds did not succeed exactly once", bad);
}
END_TEST

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench_throughput [--builders B] [--slots S] [--webhooks W]\n"
            "                        [--connections N] [--timeout SECONDS] [--pressure]\n"
            "                        [--executor E] [--rate R] [--lookahead N|off] [--hold N]\n"
            "\n"
            "Figures, not a test: one slipwayd with every actor, B builders x S slots\n"
            "(shell executor), a pipeline of one step `true`; W signed GitHub push\n"
            "webhooks sent at once. Prints builds/s, every build's result, CPU per build\n"
            "of slipwayd and of its children, and host cores busy. Without --builders,\n"
            "--slots or --webhooks it runs both rows: 2 x 1 with 200, 4 x 8 with 400.\n"
            "Exits non-zero when a build did not succeed exactly once.\n"
            "\n"
            "  --builders B        builders in the cluster (default 2; at most %d)\n"
            "  --slots S           slots of each (default 1)\n"
            "  --webhooks W        deliveries (default 200; at most %d)\n"
            "  --connections N     concurrent HTTP connections that send them (default 16)\n"
            "  --timeout SECONDS   for every build to end (default 600)\n"
            "  --pressure          keep the cluster's pressure thresholds (default: off)\n"
            "  --executor E        the cluster's: shell (default), docker, or simulate (builds\n"
            "                      that run nothing: the control plane by itself)\n"
            "  --rate R            send the webhooks at R a second, evenly, instead of all\n"
            "                      at once, and print the queue wait of each third of them\n"
            "                      (flat: the control plane sustains R)\n"
            "  --lookahead N|off   the tier's fair-share lookahead (default: the tier's\n"
            "                      default, 2)\n"
            "  --hold N            jobs the tier's dispatcher holds (default: the tier's\n"
            "                      default, 10000)\n"
            "\n"
            "Needs SLIPWAY_BUILD_DIR (and SLIPWAY_SOURCE_DIR) as meson test sets them;\n"
            "SLIPWAY_KEEP_TMP=1 keeps the harness's dir (the logs).\n",
            MAX_BUILDERS, MAX_WEBHOOKS);
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
        {"builders", required_argument, NULL, 'b'},
        {"slots", required_argument, NULL, 's'},
        {"webhooks", required_argument, NULL, 'w'},
        {"connections", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"pressure", no_argument, NULL, 'p'},
        {"executor", required_argument, NULL, 'e'},
        {"rate", required_argument, NULL, 'r'},
        {"lookahead", required_argument, NULL, 'l'},
        {"hold", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    row one = {2, 1, 200};
    bool single = false;
    int o;
    while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (o) {
        case 'b':
            one.builders = positive(optarg, MAX_BUILDERS);
            single = true;
            break;
        case 's':
            one.slots = positive(optarg, 64);
            single = true;
            break;
        case 'w':
            one.webhooks = positive(optarg, MAX_WEBHOOKS);
            single = true;
            break;
        case 'c':
            opt.connections = positive(optarg, 1024);
            break;
        case 't':
            opt.timeout_s = positive(optarg, 86400);
            break;
        case 'p':
            opt.pressure = true;
            break;
        case 'e':
            opt.executor = optarg;
            break;
        case 'r':
            opt.rate = positive(optarg, 100000);
            break;
        case 'l':
            opt.lookahead = optarg;
            break;
        case 'H':
            opt.hold = positive(optarg, 1 << 20);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || one.builders < 0 || one.slots < 0 || one.webhooks < 0 ||
        opt.connections < 0 || opt.timeout_s < 0 || opt.rate < 0 || opt.hold < 0) {
        usage(stderr);
        return 2;
    }
    if (single) {
        opt.rows[0] = one;
        opt.nrows = 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("bench_throughput");
    TCase *tc = tcase_create("rows");
    tcase_set_timeout(tc, opt.nrows * (opt.timeout_s + 300));
    tcase_add_test(tc, bench_rows);
    suite_add_tcase(s, tc);
    int rc = sw_test_run(s);
    curl_global_cleanup();
    return rc;
}
