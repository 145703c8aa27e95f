/*
 * test_records.c - the scheduler's records of builds: rebuilt from the EVENTS
 * stream when its LMDB view is lost, and one build per request however often
 * the request is delivered.
 */
#include "harness.h"
#include "support.h"

#include "bus/bus.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUILD_TIMEOUT_MS 60000

static const char *const pipeline = "steps:\n"
                                    "  - name: only\n"
                                    "    run: echo the one and only line\n";

START_TEST(test_view_is_rebuilt_from_events)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "demo", pipeline);
    sw_harness_start(h, NULL);
    char *id = sw_harness_submit(h, "demo", NULL);
    char *state = sw_harness_await_final(h, id, BUILD_TIMEOUT_MS);
    ck_assert_str_eq(state, "succeeded");
    free(state);
    ck_assert_int_eq(sw_harness_stop(h), 0);

    /* the scheduler's whole view is gone */
    char view[4096];
    struct stat st;
    snprintf(view, sizeof(view), "%s/data/scheduler", sw_harness_dir(h));
    ck_assert_int_eq(stat(view, &st), 0);
    sw_test_rmtree(view);
    ck_assert_int_ne(stat(view, &st), 0);

    sw_harness_start(h, NULL);
    state = sw_harness_await_final(h, id, BUILD_TIMEOUT_MS);
    ck_assert_str_eq(state, "succeeded");
    char *sha = sw_harness_show_field(h, id, "sha", NULL);
    char *attempt = sw_harness_show_field(h, id, "attempt", NULL);
    ck_assert_uint_eq(strlen(sha), 40);
    ck_assert_str_eq(attempt, "1");

    free(sha);
    free(attempt);
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

/* Publishes the request under a fresh Nats-Msg-Id, as a forge's redelivery long
 * after JetStream's duplicate window would arrive. */
static void publish_request(sw_bus *bus, const char *request_id, const char *msg_id)
{
    Slipway__BuildRequest req = SLIPWAY__BUILD_REQUEST__INIT;
    req.request_id = (char *)request_id;
    req.tenant = "demo";
    req.project = "demo";
    req.forge = "test";
    ck_assert_msg(sw_wire_js_publish(bus, "sw.req.demo", &req.base, msg_id, NULL) == 0, "%s",
                  sw_error_last());
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

START_TEST(test_request_delivered_twice_makes_one_build)
{
    sw_harness *h = sw_harness_create(NULL);
    sw_harness_repo_pipeline(h, "demo", pipeline);
    sw_harness_start(h, NULL);
    sw_bus *bus = NULL;
    sw_bus_options opts = {.url = sw_harness_nats_url(h), .connect_wait_ms = 5000};
    sw_harness_as_operator(&opts);
    ck_assert_msg(sw_bus_connect(&bus, &opts) == 0, "%s", sw_error_last());

    char id[13];
    sw_wire_build_id(id, "demo", "github:delivery-42");
    publish_request(bus, "github:delivery-42", "first-delivery");
    char *state = sw_harness_await_final(h, id, BUILD_TIMEOUT_MS);
    ck_assert_str_eq(state, "succeeded");
    free(state);

    publish_request(bus, "github:delivery-42", "redelivery");
    /* requests are taken in order: once a later one is built, the repeat was seen */
    char *later = sw_harness_submit(h, "demo", NULL);
    state = sw_harness_await_final(h, later, BUILD_TIMEOUT_MS);
    ck_assert_str_eq(state, "succeeded");
    free(state);

    sw_harness_result res;
    sw_harness_cli(h, &res, 30000, "builds", NULL);
    ck_assert_int_eq(res.status, 0);
    ck_assert_msg(count(res.out, id) == 1, "build %s listed %d times:\n%s", id,
                  count(res.out, id), res.out);
    ck_assert_msg(count(res.out, "succeeded") == 2, "expected two builds:\n%s", res.out);
    sw_harness_result_finish(&res);

    sw_harness_cli(h, &res, 30000, "logs", id, NULL);
    ck_assert_int_eq(res.status, 0);
    ck_assert_msg(count(res.out, "the one and only line") == 1, "ran more than once:\n%s",
                  res.out);
    sw_harness_result_finish(&res);

    free(later);
    sw_bus_destroy(&bus);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("records");
    TCase *tc = tcase_create("scheduler");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_view_is_rebuilt_from_events);
    tcase_add_test(tc, test_request_delivered_twice_makes_one_build);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
