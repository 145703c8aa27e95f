/*
 * test_autoscale.c - the autoscaler with the process provider: real builder
 * processes it starts (`slipwayd -c FILE builder:local-free-auto-<id>`),
 * drains and destroys.
 *
 * The scheduler, dispatcher and logsink run in the harness's slipwayd; the
 * autoscaler runs there too, or in a slipwayd of its own (sw_harness_start_more)
 * when a test kills it. What it did is read from three independent places: the
 * builds' FINISHED and STARTED events in EVENTS (by msg-id: none lost, none
 * run twice), its decisions in the SCALING stream, and the builder processes
 * on this host (their command lines hold the generated names).
 */
#include "harness.h"
#include "support.h"
#include "witness.h"

#include "bus/bus.h"
#include "runtime/core/mem.h"
#include "slipway.pb-c.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUICK_PIPELINE                                                                            \
    "steps:\n"                                                                                    \
    "  - name: work\n"                                                                            \
    "    run: sleep 1\n"

#define LONG_PIPELINE                                                                             \
    "steps:\n"                                                                                    \
    "  - name: work\n"                                                                            \
    "    run: sleep 4\n"

#define MARKER "builder:local-free-auto-"
#define BUILD_MS 120000
#define TOP "autoscale_lease: 3s\n"

static char cluster_yaml[1024];
static char marker[512]; /* this test's builder processes: its config and the prefix */

/* Builder processes a failed earlier test left (a failing Check test exits
 * before its harness stops them): killed, so counts start from zero. */
static void sweep_leftovers(void)
{
    DIR *proc = opendir("/proc");
    struct dirent *de;
    ck_assert_ptr_nonnull(proc);
    while ((de = readdir(proc)) != NULL) {
        char path[300], buf[4096];
        int fd;
        ssize_t len;
        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            continue;
        }
        len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        for (ssize_t i = 0; i < len; i++) {
            buf[i] = buf[i] == '\0' ? ' ' : buf[i];
        }
        if (len > 0) {
            buf[len] = '\0';
            if (strstr(buf, "/slipway-e2e-") != NULL && strstr(buf, MARKER) != NULL) {
                kill(atoi(de->d_name), SIGKILL);
            }
        }
    }
    closedir(proc);
}

/* A harness whose one cluster is autoscaled by the process provider. */
static sw_harness *start_pool(const char *autoscale, const char *pipeline, bool own_process)
{
    snprintf(cluster_yaml, sizeof(cluster_yaml),
             "    pressure: {cpu: off, memory: off, io: off}\n"
             "    autoscale: {slots: 1, %s}\n",
             autoscale);
    sw_harness_options opts = {
        .yaml_extra = TOP,
        .heartbeat_interval = "250ms",
        .heartbeat_lapse = "3s",
        .cluster_extra = cluster_yaml,
        .builders = 1, /* builder-1 is listed but never started */
    };
    sweep_leftovers();
    sw_harness *h = sw_harness_create(&opts);
    snprintf(marker, sizeof(marker), "%s/slipway.yaml %s", sw_harness_dir(h), MARKER);
    sw_harness_repo_pipeline(h, "demo", pipeline);
    if (own_process) {
        sw_harness_start(h, "scheduler", "dispatcher", "logsink", NULL);
    } else {
        sw_harness_start(h, "scheduler", "dispatcher", "logsink", "autoscaler", NULL);
    }
    return h;
}

typedef struct pool_row {
    int ready, starting, draining, desired;
    char leader[128];
    char builders[2048]; /* the "builders:" line */
    char last[1024];
} pool_row;

/* `slipway pools`, the local-free row; false when it is not there. */
static bool read_pool(sw_harness *h, pool_row *row)
{
    sw_harness_result res;
    bool found = false;
    memset(row, 0, sizeof(*row));
    sw_harness_cli(h, &res, 10000, "pools", NULL);
    for (char *l = res.out; res.status == 0 && l != NULL && *l != '\0';) {
        char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        char range[32], prov[32], p[32], q[32], r[32];
        if (strncmp(l, "local-free ", 11) == 0 &&
            sscanf(l, "local-free %31s %31s %d %d %d %d %31s %31s %31s %127s", prov, range,
                   &row->ready, &row->starting, &row->draining, &row->desired, p, q, r,
                   row->leader) == 10) {
            found = true;
        } else if (found && strncmp(l, "  builders:", 11) == 0) {
            snprintf(row->builders, sizeof(row->builders), "%.*s", (int)len, l);
        } else if (found && strncmp(l, "  last:", 7) == 0) {
            snprintf(row->last, sizeof(row->last), "%.*s", (int)len, l);
        }
        l = end ? end + 1 : NULL;
    }
    sw_harness_result_finish(&res);
    return found;
}

typedef bool (*pool_pred)(const pool_row *row, void *ud);

/* Waits for `slipway pools` to satisfy pred; fails saying what it waited for. */
static void await_pool(sw_harness *h, pool_pred pred, void *ud, const char *what, int timeout_ms,
                       pool_row *out)
{
    long long deadline = sw_harness_now_ms() + timeout_ms;
    pool_row row;
    for (;;) {
        if (read_pool(h, &row) && pred(&row, ud)) {
            if (out != NULL) {
                *out = row;
            }
            return;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline,
                      "slipway pools did not show %s within %d ms; it shows ready %d starting "
                      "%d draining %d desired %d leader %s\n%s\n%s",
                      what, timeout_ms, row.ready, row.starting, row.draining, row.desired,
                      row.leader, row.last, row.builders);
        usleep(200 * 1000);
    }
}

static bool ready_is(const pool_row *row, void *ud)
{
    return row->ready == *(int *)ud && row->starting == 0 && row->draining == 0;
}

static bool ready_at_least(const pool_row *row, void *ud)
{
    return row->ready >= *(int *)ud;
}

/* Decisions in SCALING, by action. */
typedef struct tally {
    int scale_out, scale_in, destroy, lead, halt, retry, undrain;
    int drained_busy; /* scale_in decisions whose builder still ran a build */
    char leaders[4][128];
    int nleaders;
} tally;

static void count_decision(const Slipway__ScaleDecision *d, void *ud)
{
    tally *t = ud;
    if (strcmp(d->action, "scale_out") == 0) {
        t->scale_out++;
    } else if (strcmp(d->action, "scale_in") == 0) {
        t->scale_in++;
        t->drained_busy += strstr(d->reason, "(0 running)") == NULL;
    } else if (strcmp(d->action, "destroy") == 0) {
        t->destroy++;
    } else if (strcmp(d->action, "lead") == 0) {
        t->lead++;
    } else if (strcmp(d->action, "halt") == 0) {
        t->halt++;
    } else if (strcmp(d->action, "retry") == 0) {
        t->retry++;
    }
    if (strcmp(d->action, "lead") != 0) {
        for (int i = 0; i < t->nleaders; i++) {
            if (strcmp(t->leaders[i], d->by) == 0) {
                return;
            }
        }
        if (t->nleaders < 4) {
            snprintf(t->leaders[t->nleaders++], sizeof(t->leaders[0]), "%s", d->by);
        }
    }
}

static tally decisions(sw_harness *h)
{
    tally t;
    memset(&t, 0, sizeof(t));
    sw_witness_each_decision(h, count_decision, &t);
    return t;
}

/* Every build ran once and succeeded: one STARTED, one FINISHED, by msg-id. */
static void expect_once(sw_harness *h, sw_witness *w, char **ids, int n)
{
    for (int i = 0; i < n; i++) {
        char *state = sw_harness_await_final(h, ids[i], BUILD_MS);
        ck_assert_msg(strcmp(state, "succeeded") == 0, "build %s ended %s", ids[i], state);
        free(state);
        ck_assert_int_eq(sw_witness_finished(w, ids[i], 2000), 1);
        ck_assert_int_eq(sw_witness_started(w, ids[i], 0), 1);
    }
}

/* A burst of builds on an empty pool (min 0, max 3): the pool grows to max at
 * once, every build runs once, and once the queue is empty the pool shrinks
 * back to zero by drain, leaving no builder process behind. */
START_TEST(burst_scales_out_then_in_by_drain)
{
    sw_harness *h = start_pool("provider: process, min: 0, max: 3, scale_in_after: 2s", QUICK_PIPELINE, false);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    char *ids[8];
    int zero = 0, three = 3;

    await_pool(h, ready_is, &zero, "an empty pool (min 0)", 20000, NULL);
    ck_assert_int_eq(sw_harness_count_processes(marker), 0);
    for (int i = 0; i < 8; i++) {
        ids[i] = sw_harness_submit(h, "demo", NULL);
    }
    await_pool(h, ready_at_least, &three, "3 builders ready (max)", 60000, NULL);
    expect_once(h, w, ids, 8);
    await_pool(h, ready_is, &zero, "the pool back at 0 builders", 60000, NULL);
    ck_assert_msg(sw_harness_await_no_processes(marker, 20000),
                  "builder processes still run after the pool scaled in");

    tally t = decisions(h);
    ck_assert_int_ge(t.scale_out, 1);
    ck_assert_int_eq(t.scale_in, 3);  /* one at a time, each its own decision */
    ck_assert_int_eq(t.destroy, 3);   /* each after it drained */
    ck_assert_int_eq(t.nleaders, 1);
    for (int i = 0; i < 8; i++) {
        free(ids[i]);
    }
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

/* The first builder name on the pool's "builders:" line ("" when none). */
static void first_builder(const pool_row *row, char *out, size_t n)
{
    const char *p = strstr(row->builders, MARKER + strlen("builder:"));
    size_t len = p ? strcspn(p, " ,") : 0;
    snprintf(out, n, "%.*s", (int)len, p ? p : "");
}

/* The pid the process provider recorded for builder (0: none). */
static int builder_pid(sw_harness *h, const char *builder)
{
    char path[1024];
    int pid = 0;
    long long start;
    snprintf(path, sizeof(path), "%s/data/autoscale/local-free/%s.pid", sw_harness_dir(h),
             builder);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%d %lld", &pid, &start) != 2) {
            pid = 0;
        }
        fclose(f);
    }
    return pid;
}

static bool has_builder(const pool_row *row, void *ud)
{
    return strstr(row->builders, (const char *)ud) != NULL;
}

static bool replaced(const pool_row *row, void *ud)
{
    return row->ready == 1 && row->starting == 0 && strstr(row->builders, (char *)ud) == NULL;
}

static bool ready_and_led_by_other(const pool_row *row, void *ud)
{
    return row->ready == 2 && strcmp(row->leader, (const char *)ud) != 0 && row->leader[0];
}

/* Waits until the cluster's JOBS consumer has n jobs delivered and not acked:
 * the builders have just picked them up. */
static void await_picked_up(sw_harness *h, uint64_t n, int timeout_ms)
{
    sw_bus *bus = NULL;
    sw_bus_options o = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000};
    sw_harness_as_operator(&o);
    long long deadline = sw_harness_now_ms() + timeout_ms;
    uint64_t pending = 0, acks = 0;
    ck_assert_int_eq(sw_bus_connect(&bus, &o), 0);
    for (;;) {
        if (sw_bus_consumer_pending(bus, "JOBS", "cluster-local-free", &pending, &acks) == 0 &&
            acks >= n) {
            break;
        }
        ck_assert_msg(sw_harness_now_ms() < deadline,
                      "the builders did not pick up %llu jobs within %d ms (%llu queued, %llu "
                      "taken)",
                      (unsigned long long)n, timeout_ms, (unsigned long long)pending,
                      (unsigned long long)acks);
        usleep(20 * 1000);
    }
    sw_bus_destroy(&bus);
}

/* Scale-in decided while the chosen builders have just picked up jobs (max
 * lowered by a reload, so it drains at once): each job finishes, once; each
 * builder goes only after it drained. */
START_TEST(scale_in_while_picking_up_finishes_the_jobs)
{
    sw_harness *h = start_pool("provider: process, min: 3, max: 3, scale_in_after: 1h", LONG_PIPELINE, false);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    char *ids[3];
    int three = 3, one = 1;

    await_pool(h, ready_is, &three, "3 builders ready (min 3)", 30000, NULL);
    for (int i = 0; i < 3; i++) {
        ids[i] = sw_harness_submit(h, "demo", NULL);
    }
    await_picked_up(h, 3, 30000);
    snprintf(cluster_yaml, sizeof(cluster_yaml),
             "    pressure: {cpu: off, memory: off, io: off}\n"
             "    autoscale: {provider: process, slots: 1, min: 0, max: 1, scale_in_after: 1h}\n");
    sw_harness_options lowered = {.cluster_extra = cluster_yaml, .yaml_extra = TOP};
    sw_harness_write_config(h, &lowered);
    sw_harness_signal_slipwayd(h, SIGHUP);

    expect_once(h, w, ids, 3);
    await_pool(h, ready_is, &one, "1 builder left (max 1)", 60000, NULL);
    tally t = decisions(h);
    ck_assert_int_eq(t.scale_in, 2);
    ck_assert_int_ge(t.drained_busy, 1); /* at least one drain met a running build */
    ck_assert_int_eq(t.destroy, 2);
    ck_assert_int_eq(sw_harness_count_processes(marker), 1);
    for (int i = 0; i < 3; i++) {
        free(ids[i]);
    }
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

/* A builder killed with SIGKILL stops heartbeating: it is destroyed and
 * another takes its place. */
START_TEST(killed_builder_is_replaced)
{
    sw_harness *h = start_pool("provider: process, min: 1, max: 1, scale_in_after: 1h", QUICK_PIPELINE, false);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    pool_row row;
    char name[128];
    int one = 1;

    await_pool(h, ready_is, &one, "1 builder ready (min 1)", 30000, &row);
    first_builder(&row, name, sizeof(name));
    int pid = builder_pid(h, name);
    ck_assert_msg(pid > 0, "no pid file for %s (%s)", name, row.builders);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    await_pool(h, replaced, name, "a new builder in place of the killed one", 30000, &row);

    char *id = sw_harness_submit(h, "demo", NULL);
    expect_once(h, w, &id, 1);
    tally t = decisions(h);
    ck_assert_int_eq(t.destroy, 1); /* the dead one: its leftovers */
    ck_assert_int_eq(sw_harness_count_processes(marker), 1);
    free(id);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

static void holder_of_lead(const Slipway__ScaleDecision *d, void *ud)
{
    if (strcmp(d->action, "lead") == 0) {
        snprintf(ud, 128, "%s", d->by);
    }
}

/* Two autoscalers: one acts. The one acting is killed mid-build: the other
 * takes the lease, adopts the running pool and kills nothing. */
START_TEST(restarted_autoscaler_adopts_the_pool)
{
    sw_harness *h = start_pool("provider: process, min: 2, max: 2, scale_in_after: 1h", LONG_PIPELINE, true);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    int first = sw_harness_start_more(h, "autoscaler-a", "autoscaler", NULL);
    int two = 2;
    pool_row row;
    char leader[128] = "", names[2][128];
    int pids[2];

    await_pool(h, ready_is, &two, "2 builders ready (min 2)", 30000, &row);
    int second = sw_harness_start_more(h, "autoscaler-b", "autoscaler", NULL);
    sw_witness_each_decision(h, holder_of_lead, leader);
    ck_assert_msg(leader[0] != '\0', "no lead decision");
    first_builder(&row, names[0], sizeof(names[0]));
    const char *other = strstr(row.builders, names[0]) + strlen(names[0]);
    snprintf(row.builders, sizeof(row.builders), "%s", other);
    first_builder(&row, names[1], sizeof(names[1]));
    for (int i = 0; i < 2; i++) {
        pids[i] = builder_pid(h, names[i]);
        ck_assert_msg(pids[i] > 0, "no pid for %s", names[i]);
    }

    char *id = sw_harness_submit(h, "demo", NULL);
    await_picked_up(h, 1, 30000);
    sw_harness_signal(h, first, SIGKILL); /* the autoscaler alone: its builders live on */
    await_pool(h, ready_and_led_by_other, leader, "the second autoscaler leading 2 builders",
               30000, &row);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(has_builder(&row, names[i]), "%s is not in the adopted pool: %s", names[i],
                      row.builders);
        ck_assert_msg(kill(pids[i], 0) == 0, "%s (pid %d) was killed", names[i], pids[i]);
    }
    expect_once(h, w, &id, 1);
    tally t = decisions(h);
    ck_assert_int_eq(t.destroy, 0);
    ck_assert_int_eq(t.scale_in, 0);
    ck_assert_int_eq(t.lead, 2);
    ck_assert_int_eq(sw_harness_count_processes(marker), 2);
    (void)second;
    free(id);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

static bool halted(const pool_row *row, void *ud)
{
    (void)ud;
    return strstr(row->last, "halt") != NULL;
}

static int lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    if (f == NULL) {
        return 0;
    }
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

/* An exec provider whose create fails is retried with backoff and stops after
 * max_failures, saying so; the build waits in the queue, not lost, and a
 * reload with a working provider builds it. */
START_TEST(failing_create_is_retried_then_halts)
{
    char creates[256], extra[1024];
    snprintf(creates, sizeof(creates), "/tmp/sw-autoscale-creates-%d", (int)getpid());
    unlink(creates);
    snprintf(extra, sizeof(extra),
             "provider: exec, min: 0, max: 1, max_failures: 3, backoff: 200ms, exec: {create: 'echo $1 >> %s; "
             "echo quota exceeded >&2; exit 3', destroy: 'true', list: 'echo []'}",
             creates);
    sw_harness *h = start_pool(extra, QUICK_PIPELINE, false);
    sw_harness_options exec_opts = {.cluster_extra = cluster_yaml, .yaml_extra = TOP};

    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    char *id = sw_harness_submit(h, "demo", NULL);
    await_pool(h, halted, NULL, "the pool halted", 30000, NULL);
    sleep(1); /* past three backoffs: no more tries */
    ck_assert_int_eq(lines_in(creates), 3);
    tally t = decisions(h);
    ck_assert_int_eq(t.retry, 2);
    ck_assert_int_eq(t.halt, 1);
    char *state = sw_harness_show_field(h, id, "state", NULL);
    ck_assert_msg(state && strcmp(state, "succeeded") != 0 && strcmp(state, "errored") != 0,
                  "the build is %s", state);
    free(state);

    /* a working provider and a reload: it tries again and the build runs */
    snprintf(cluster_yaml, sizeof(cluster_yaml),
             "    pressure: {cpu: off, memory: off, io: off}\n"
             "    autoscale: {provider: process, slots: 1, min: 0, max: 2}\n");
    sw_harness_write_config(h, &exec_opts);
    sw_harness_signal_slipwayd(h, SIGHUP);
    expect_once(h, w, &id, 1);
    unlink(creates);
    free(id);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

/* Builders that are created but never heartbeat count as starting until
 * start_timeout, then as failures: bounded, then halted, not created forever. */
START_TEST(silent_starts_are_bounded)
{
    char creates[256], extra[1024];
    snprintf(creates, sizeof(creates), "/tmp/sw-autoscale-silent-%d", (int)getpid());
    unlink(creates);
    snprintf(extra, sizeof(extra),
             "provider: exec, min: 1, max: 1, start_timeout: 1s, max_failures: 2, backoff: "
             "100ms, exec: {create: 'echo $1 >> %s', destroy: 'true', list: 'echo []'}",
             creates);
    sw_harness *h = start_pool(extra, QUICK_PIPELINE, false);
    await_pool(h, halted, NULL, "the pool halted", 30000, NULL);
    sleep(2); /* past more start_timeouts: nothing more is created */
    ck_assert_int_eq(lines_in(creates), 2);
    tally t = decisions(h);
    ck_assert_int_eq(t.halt, 1);
    ck_assert_int_eq(t.destroy, 2); /* each silent one's leftovers */
    unlink(creates);
    sw_harness_destroy(&h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("autoscale");
    TCase *tc = tcase_create("process");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, burst_scales_out_then_in_by_drain);
    tcase_add_test(tc, scale_in_while_picking_up_finishes_the_jobs);
    tcase_add_test(tc, killed_builder_is_replaced);
    tcase_add_test(tc, restarted_autoscaler_adopts_the_pool);
    tcase_add_test(tc, failing_create_is_retried_then_halts);
    tcase_add_test(tc, silent_starts_are_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sw_test_run(suite());
}
