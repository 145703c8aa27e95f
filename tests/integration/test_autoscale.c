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

#include "runtime/mem.h"
#include "slipway.pb-c.h"

#include <check.h>
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

/* A harness whose one cluster is autoscaled by the process provider. */
static sw_harness *start_pool(const char *autoscale, const char *pipeline, bool own_process)
{
    snprintf(cluster_yaml, sizeof(cluster_yaml),
             "    pressure: {cpu: off, memory: off, io: off}\n"
             "    autoscale: {provider: process, slots: 1, %s}\n",
             autoscale);
    sw_harness_options opts = {
        .yaml_extra = TOP,
        .heartbeat_interval = "250ms",
        .heartbeat_lapse = "3s",
        .cluster_extra = cluster_yaml,
        .builders = 1, /* builder-1 is listed but never started */
    };
    sw_harness *h = sw_harness_create(&opts);
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
    sw_harness *h = start_pool("min: 0, max: 3, scale_in_after: 2s", QUICK_PIPELINE, false);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    char *ids[8];
    int zero = 0, three = 3;

    await_pool(h, ready_is, &zero, "an empty pool (min 0)", 20000, NULL);
    ck_assert_int_eq(sw_harness_count_processes(MARKER), 0);
    for (int i = 0; i < 8; i++) {
        ids[i] = sw_harness_submit(h, "demo", NULL);
    }
    await_pool(h, ready_at_least, &three, "3 builders ready (max)", 60000, NULL);
    expect_once(h, w, ids, 8);
    await_pool(h, ready_is, &zero, "the pool back at 0 builders", 60000, NULL);
    ck_assert_msg(sw_harness_await_no_processes(MARKER, 20000),
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

static Suite *suite(void)
{
    Suite *s = suite_create("autoscale");
    TCase *tc = tcase_create("process");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, burst_scales_out_then_in_by_drain);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sw_test_run(suite());
}
