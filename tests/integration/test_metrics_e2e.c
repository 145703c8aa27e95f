/*
 * test_metrics_e2e.c - /metrics end to end: a real nats-server, git daemon and
 * slipwayd with every actor, and the web actor's aggregator
 * (actors/web/metrics.h) in the test process, reading what slipwayd
 * publishes on sw.metrics.*.
 *
 * Builds come from signed GitHub webhooks and `slipway submit`; every render
 * must parse strictly (tests/support/promtext.h), and the figures must move:
 * builds finished, queue waits, log bytes, webhook answers by code, builders
 * and slots. After slipwayd stops, its final report keeps the counters.
 */
#include "harness.h"
#include "pushes.h"

#include "actors/web/metrics.h"
#include "bus/bus.h"
#include "runtime/config.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include "promtext.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIPELINE "steps:\n  - name: hello\n    run: echo hello from the metrics test\n"
#define BUILD_TIMEOUT_MS 90000
#define METRICS_WAIT_MS 20000 /* reports come every 5 s */

typedef struct scraper {
    sw_bus *bus;
    sw_config *cfg;
    sw_web_metrics *web;
} scraper;

static void scraper_start(scraper *s, sw_harness *h)
{
    sw_bus_options o = {.name = "test_metrics", .connect_wait_ms = 5000};
    char *path = sw_asprintf("%s/slipway.yaml", sw_harness_dir(h));
    o.url = sw_harness_nats_url(h);
    sw_harness_as_operator(&o);
    ck_assert_msg(sw_bus_connect(&s->bus, &o) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_config_load(&s->cfg, path) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_web_metrics_create(&s->web, s->bus, s->cfg) == 0, "%s", sw_error_last());
    free(path);
}

static void scraper_finish(scraper *s)
{
    sw_web_metrics_destroy(&s->web);
    sw_config_destroy(&s->cfg);
    sw_bus_destroy(&s->bus);
}

/* One render, strictly parsed: the test fails when it does not parse. */
static void scrape(scraper *s, promtext *p)
{
    char *text = NULL, err[256];
    size_t len = 0;
    ck_assert_int_eq(sw_web_metrics_render(s->web, &text, &len), 0);
    ck_assert_msg(promtext_parse(p, text, len, err, sizeof(err)) == 0, "%s in:\n%s", err, text);
    free(text);
}

/* Scrapes until name{match} sums to at least want (or METRICS_WAIT_MS passed);
 * returns the sum. */
static double await_at_least(scraper *s, const char *name, const char *match, double want)
{
    long long deadline = sw_harness_now_ms() + METRICS_WAIT_MS;
    double got;
    for (;;) {
        promtext p;
        scrape(s, &p);
        got = promtext_sum(&p, name, match, NULL);
        promtext_finish(&p);
        if (got >= want || sw_harness_now_ms() > deadline) {
            break;
        }
        usleep(200 * 1000);
    }
    ck_assert_msg(got >= want, "%s{%s}: %g after %d ms, wanted at least %g", name,
                  match ? match : "", got, METRICS_WAIT_MS, want);
    return got;
}

static double now_value(scraper *s, const char *name, const char *match)
{
    promtext p;
    scrape(s, &p);
    double v = promtext_sum(&p, name, match, NULL);
    promtext_finish(&p);
    return v;
}

START_TEST(test_metrics_move_with_builds_and_survive_the_stop)
{
    sw_harness *h = sw_harness_create(NULL);
    scraper s = {0};
    sw_push hooks[3] = {0};
    sw_harness_repo_pipeline(h, "app", PIPELINE);
    sw_harness_start(h, NULL);
    scraper_start(&s, h);

    /* before any build: the process reports, the builder is up */
    await_at_least(&s, "slipway_metrics_instances", NULL, 1);
    await_at_least(&s, "slipway_builders", "cluster=local-free,state=up", 1);
    ck_assert_double_eq(now_value(&s, "slipway_up", NULL), 1);
    ck_assert_double_eq(now_value(&s, "slipway_slots", "cluster=local-free"), 2);
    ck_assert_double_eq(now_value(&s, "slipway_builds_finished_total", NULL), 0);

    /* two pushes that build, one to a project there is not, one submit */
    char *sha = sw_harness_repo_sha(h, "app", "main");
    char *url = sw_asprintf("%s/hooks/github/app", sw_harness_webhook_url(h));
    char *nope = sw_asprintf("%s/hooks/github/nope", sw_harness_webhook_url(h));
    for (int i = 0; i < 3; i++) {
        snprintf(hooks[i].delivery, sizeof(hooks[i].delivery), "metrics-%d-%d", (int)getpid(), i);
    }
    sw_push_send(hooks, 2, url, "app", sha, 2, 30000);
    sw_push_send(&hooks[2], 1, nope, "nope", sha, 1, 30000);
    ck_assert_msg(hooks[0].status == 202 && hooks[1].status == 202, "%ld %s / %ld %s",
                  hooks[0].status, hooks[0].answer, hooks[1].status, hooks[1].answer);
    ck_assert_int_eq(hooks[2].status, 404);
    char *submitted = sw_harness_submit(h, "app", NULL);
    const char *ids[] = {hooks[0].build, hooks[1].build, submitted};
    for (int i = 0; i < 3; i++) {
        char *state = sw_harness_await_final(h, ids[i], BUILD_TIMEOUT_MS);
        ck_assert_str_eq(state, "succeeded");
        free(state);
    }

    await_at_least(&s, "slipway_builds_finished_total", "tier=free,result=succeeded", 3);
    await_at_least(&s, "slipway_queue_wait_seconds_count", "tier=free", 3);
    await_at_least(&s, "slipway_build_duration_seconds_count", "tier=free,result=succeeded", 3);
    await_at_least(&s, "slipway_log_lines_total", NULL, 3);
    await_at_least(&s, "slipway_log_bytes_total", NULL, 3 * strlen("hello from the metrics test"));
    await_at_least(&s, "slipway_webhook_deliveries_total", "forge=github,code=202", 2);
    await_at_least(&s, "slipway_webhook_deliveries_total", "forge=github,code=404", 1);
    ck_assert_double_eq(now_value(&s, "slipway_webhook_deliveries_total", "code=202"), 2);
    ck_assert_double_eq(now_value(&s, "slipway_builds_finished_total", NULL), 3);
    ck_assert_double_eq(now_value(&s, "slipway_builds", "state=running"), 0);
    ck_assert_double_eq(now_value(&s, "slipway_queue_depth", "cluster=local-free"), 0);
    double lines = now_value(&s, "slipway_log_lines_total", NULL);

    /* slipwayd stops: its final report retires it, its counters stay */
    ck_assert_int_eq(sw_harness_stop(h), 0);
    long long deadline = sw_harness_now_ms() + METRICS_WAIT_MS;
    while (now_value(&s, "slipway_metrics_instances", NULL) > 0 && sw_harness_now_ms() < deadline) {
        usleep(200 * 1000);
    }
    ck_assert_double_eq(now_value(&s, "slipway_metrics_instances", NULL), 0);
    ck_assert_double_eq(now_value(&s, "slipway_builds_finished_total", NULL), 3);
    ck_assert_double_eq(now_value(&s, "slipway_log_lines_total", NULL), lines);
    ck_assert_double_eq(now_value(&s, "slipway_up", NULL), 0);
    ck_assert_double_eq(now_value(&s, "slipway_builds", NULL), 0); /* gauges gone */

    free(submitted);
    free(sha);
    free(url);
    free(nope);
    scraper_finish(&s);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics_e2e");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_metrics_move_with_builds_and_survive_the_stop);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
