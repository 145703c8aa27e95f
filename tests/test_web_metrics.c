/*
 * test_web_metrics.c - the web actor's /metrics aggregator
 * (actors/web/metrics.h) against a real nats-server: reports of two
 * processes summed, a stopped or restarted process's counters kept (sums
 * never go back), queue depth from JOBS, builders from a stand-in scheduler,
 * and every render strictly parsed (tests/support/promtext.h).
 */
#include "actors/web/metrics.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/metrics.h"
#include "runtime/metrics_wire.h"
#include "runtime/wire.h"

#include "natsd.h"
#include "promtext.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 5000

static sw_natsd *srv;
static sw_bus *bus;
static sw_config *cfg;
static sw_web_metrics *web;
static sw_sub *scheduler;
static char *dir;

static void setup(void)
{
    sw_bus_options opts = {.name = "test_web_metrics", .connect_wait_ms = 2000};
    char text[1024];
    ck_assert_msg(sw_natsd_start(&srv) == 0, "%s", sw_error_last());
    opts.url = sw_natsd_url(srv);
    ck_assert_msg(sw_bus_connect(&bus, &opts) == 0, "%s", sw_error_last());
    dir = sw_test_tmpdir("sw-web-metrics");
    snprintf(text, sizeof(text),
             "data_dir: %s\n"
             "tiers:\n  - name: free\n"
             "tenants:\n  - name: acme\n    tier: free\n"
             "projects:\n  - {name: web, tenant: acme, repository: 'git://h/w.git'}\n"
             "clusters:\n  - name: c1\n    tier: free\n  - name: c2\n    tier: free\n",
             dir);
    ck_assert_msg(sw_config_parse(&cfg, text, strlen(text), "web.yaml") == 0, "%s",
                  sw_error_last());
    ck_assert_msg(sw_wire_setup_streams(bus, cfg) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_web_metrics_create(&web, bus, cfg) == 0, "%s", sw_error_last());
}

static void teardown(void)
{
    sw_web_metrics_destroy(&web);
    sw_sub_destroy(&scheduler);
    sw_config_destroy(&cfg);
    sw_bus_destroy(&bus);
    sw_natsd_destroy(&srv);
    sw_test_rmtree(dir);
    free(dir);
}

/* A render, strictly parsed (the test fails when it does not parse). */
static void scrape(promtext *p)
{
    char *text = NULL, err[256];
    size_t len = 0;
    ck_assert_int_eq(sw_web_metrics_render(web, &text, &len), 0);
    ck_assert_msg(promtext_parse(p, text, len, err, sizeof(err)) == 0, "%s in:\n%s", err, text);
    free(text);
}

/* Scrapes until name{match} sums to want, for WAIT_MS at most. */
static void await_value(const char *name, const char *match, double want)
{
    int64_t deadline = sw_clock_mono_ms() + WAIT_MS;
    double got = -1;
    for (;;) {
        promtext p;
        scrape(&p);
        got = promtext_sum(&p, name, match, NULL);
        promtext_finish(&p);
        if (got == want || sw_clock_mono_ms() > deadline) {
            break;
        }
        sw_bus_flush(bus, 1000);
    }
    ck_assert_msg(got == want, "%s{%s}: %g, not %g", name, match ? match : "", got, want);
}

static double value_now(const char *name, const char *match)
{
    promtext p;
    scrape(&p);
    double v = promtext_sum(&p, name, match, NULL);
    promtext_finish(&p);
    return v;
}

/* A process's registry: one counter, one gauge, one histogram. */
static sw_metrics *process(double counted, double gauge, double observed)
{
    sw_metrics *m = NULL;
    sw_metrics_create(&m, 16);
    sw_metric_add(
        sw_metrics_counter(m, "t_things_total", "Things.", (const char *[]){"kind", NULL}),
        (const char *[]){"a"}, counted);
    sw_metric_set(sw_metrics_gauge(m, "t_now", "Now.", NULL), NULL, gauge);
    sw_metric_observe(sw_metrics_histogram(m, "t_wait_seconds", "Waits.", NULL,
                                           sw_metrics_seconds_buckets, sw_metrics_seconds_nbuckets),
                      NULL, observed);
    return m;
}

static void send(sw_metrics *m, const char *instance, int64_t started, bool final)
{
    ck_assert_int_eq(sw_metrics_publish(bus, m, instance, started, final), 0);
}

START_TEST(test_sums_over_processes_and_never_goes_back)
{
    sw_metrics *a = process(2, 10, 1), *b = process(3, 20, 100), *b2 = process(1, 5, 1);
    send(a, "host-a:1", 1000, false);
    send(b, "host.b:2", 1000, false); /* a dot in the host: the subject's token has '_' */
    await_value("slipway_metrics_instances", NULL, 2);
    ck_assert_double_eq(value_now("t_things_total", "kind=a"), 5);
    ck_assert_double_eq(value_now("t_now", NULL), 30);
    ck_assert_double_eq(value_now("t_wait_seconds_count", NULL), 2);
    ck_assert_double_eq(value_now("t_wait_seconds_bucket", "le=1"), 1);

    /* a stops: its gauge leaves the sum, its counter stays */
    send(a, "host-a:1", 1000, true);
    await_value("slipway_metrics_instances", NULL, 1);
    ck_assert_double_eq(value_now("t_now", NULL), 20);
    ck_assert_double_eq(value_now("t_things_total", "kind=a"), 5);

    /* b restarts under the same name and counts from 0 again: no step back */
    send(b2, "host.b:2", 2000, false);
    await_value("t_now", NULL, 5);
    ck_assert_double_eq(value_now("t_things_total", "kind=a"), 6);
    ck_assert_double_eq(value_now("t_wait_seconds_count", NULL), 3);

    /* the new b counts on: its own report replaces its last one */
    sw_metric_add(sw_metrics_counter(b2, "t_things_total", "", (const char *[]){"kind", NULL}),
                  (const char *[]){"a"}, 4);
    send(b2, "host.b:2", 2000, false);
    await_value("t_things_total", "kind=a", 10);
    sw_metrics_destroy(&a);
    sw_metrics_destroy(&b);
    sw_metrics_destroy(&b2);
}
END_TEST

START_TEST(test_a_report_that_does_not_unpack_is_dropped)
{
    sw_metrics *a = process(1, 1, 1);
    ck_assert_int_eq(sw_bus_publish(bus, "sw.metrics.junk", "\xff\xff\xff", 3), 0);
    send(a, "a:1", 1, false);
    await_value("slipway_metrics_instances", NULL, 1);
    ck_assert_double_eq(value_now("t_things_total", NULL), 1);
    sw_metrics_destroy(&a);
}
END_TEST

START_TEST(test_queue_depth_per_cluster_from_jobs)
{
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(sw_bus_js_publish(bus, "sw.jobs.c1", "job", 3, NULL, NULL, NULL) == 0, "%s",
                      sw_error_last());
    }
    await_value("slipway_queue_depth", "cluster=c1", 3);
    ck_assert_double_eq(value_now("slipway_queue_depth", "cluster=c2"), 0);
    ck_assert_double_eq(value_now("slipway_scrape_errors_total", "what=queue_depth"), 0);
}
END_TEST

/* A stand-in scheduler: two builders of c1, one silent. */
static void answer_builders(sw_msg *msg, void *closure)
{
    Slipway__ApiReply reply = SLIPWAY__API_REPLY__INIT;
    Slipway__BuilderInfo b1 = SLIPWAY__BUILDER_INFO__INIT, b2 = SLIPWAY__BUILDER_INFO__INIT;
    Slipway__BuilderInfo *list[] = {&b1, &b2};
    (void)closure;
    b1.name = "b1";
    b1.cluster = "c1";
    b1.slots = 4;
    b1.busy = 3;
    b1.alive = true;
    b2.name = "b2";
    b2.cluster = "c1";
    b2.slots = 2;
    b2.busy = 2;
    b2.alive = false;
    reply.n_builders = 2;
    reply.builders = list;
    sw_wire_respond(bus, msg, &reply.base);
    sw_msg_release(&msg);
}

START_TEST(test_builders_and_slots_from_the_scheduler)
{
    /* no scheduler: counted as a scrape error, and slipway_up says 0 */
    ck_assert_double_eq(value_now("slipway_up", NULL), 0);
    ck_assert_double_eq(value_now("slipway_scrape_errors_total", "what=builders"), 2);
    ck_assert_int_eq(
        sw_bus_subscribe(&scheduler, bus, SW_API_BUILDERS, NULL, answer_builders, NULL), 0);
    sw_bus_flush(bus, 1000);
    await_value("slipway_up", NULL, 1);
    ck_assert_double_eq(value_now("slipway_builders", "cluster=c1,state=up"), 1);
    ck_assert_double_eq(value_now("slipway_builders", "cluster=c1,state=silent"), 1);
    ck_assert_double_eq(value_now("slipway_builders", "cluster=c2"), 0);
    ck_assert_double_eq(value_now("slipway_slots", "cluster=c1"), 4);
    ck_assert_double_eq(value_now("slipway_slots_busy", "cluster=c1"), 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("web_metrics");
    TCase *tc = tcase_create("aggregator");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sums_over_processes_and_never_goes_back);
    tcase_add_test(tc, test_a_report_that_does_not_unpack_is_dropped);
    tcase_add_test(tc, test_queue_depth_per_cluster_from_jobs);
    tcase_add_test(tc, test_builders_and_slots_from_the_scheduler);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
