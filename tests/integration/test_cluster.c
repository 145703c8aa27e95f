/*
 * test_cluster.c - Slipway on a three-node NATS cluster (the harness's
 * nats_nodes = 3): slipwayd and the CLI are given all three URLs, every stream
 * is made with three replicas (nats.replicas: 3), and a build runs end to end.
 * The monitoring ports (/jsz) are the server's own word on the replicas.
 */
#include "harness.h"
#include "natsd.h"
#include "support.h"
#include "witness.h"

#include "runtime/core/error.h"
#include "runtime/wire.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUILD_TIMEOUT_MS 90000

static const char pipeline[] = "steps:\n"
                               "  - name: hello\n"
                               "    run: echo hello from a cluster\n";

static const char slow_pipeline[] = "steps:\n"
                                    "  - name: slow\n"
                                    "    run: sleep 3; echo done\n";

/* The num_replicas of stream in a /jsz?streams=true&config=true answer; -1 if
 * the stream is not in it. */
static int replicas_of(const char *jsz, const char *stream)
{
    char key[64];
    snprintf(key, sizeof(key), "\"name\": \"%s\"", stream);
    const char *at = strstr(jsz, key);
    if (at == NULL || (at = strstr(at, "\"num_replicas\":")) == NULL) {
        return -1;
    }
    return atoi(at + strlen("\"num_replicas\":"));
}

/* The server name leading stream (from /jsz of node 0), copied into out. */
static void leader_of(sw_harness *h, int node, const char *stream, char *out, size_t n)
{
    char *jsz = NULL;
    char key[64];
    out[0] = '\0';
    if (sw_natsd_monitor(sw_harness_nats_http_port(h, node),
                         "/jsz?accounts=true&streams=true", &jsz) < 0) {
        return;
    }
    snprintf(key, sizeof(key), "\"name\": \"%s\"", stream);
    const char *at = strstr(jsz, key);
    if (at != NULL && (at = strstr(at, "\"leader\": \"")) != NULL) {
        at += strlen("\"leader\": \"");
        snprintf(out, n, "%.*s", (int)strcspn(at, "\""), at);
    }
    free(jsz);
}

START_TEST(test_build_runs_on_a_cluster_with_r3_streams)
{
    sw_harness_options o = {.nats_nodes = 3};
    sw_harness *h = sw_harness_create(&o);
    ck_assert_int_eq(sw_harness_nats_nodes(h), 3);
    ck_assert_msg(strchr(sw_harness_nats_url(h), ',') != NULL, "one URL: %s",
                  sw_harness_nats_url(h));
    sw_harness_repo_pipeline(h, "app", pipeline);
    sw_harness_start(h, NULL);

    char *id = sw_harness_submit(h, "app", NULL);
    char *state = sw_harness_await_final(h, id, BUILD_TIMEOUT_MS);
    ck_assert_msg(state != NULL && strcmp(state, "succeeded") == 0, "build %s ended %s", id,
                  state ? state : "(not at all)");

    static const char *const streams[] = {SW_STREAM_REQUESTS, SW_STREAM_SCHED, SW_STREAM_JOBS,
                                          SW_STREAM_EVENTS,   SW_STREAM_LOGS,  SW_STREAM_CLAIMS,
                                          SW_STREAM_ADVISORIES};
    for (int node = 0; node < 3; node++) {
        char *jsz = NULL;
        ck_assert_msg(sw_natsd_monitor(sw_harness_nats_http_port(h, node),
                                       "/jsz?accounts=true&streams=true&config=true",
                                       &jsz) == 0,
                      "%s", sw_error_last());
        for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
            ck_assert_msg(replicas_of(jsz, streams[i]) == 3,
                          "n%d: stream %s has %d replicas", node + 1, streams[i],
                          replicas_of(jsz, streams[i]));
        }
        free(jsz);
    }
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

/* A stream made with one replica is given three in place when the
 * configuration asks for them (as after nats.replicas went from 1 to 3). */
START_TEST(test_an_r1_stream_becomes_r3)
{
    sw_harness_options o = {.nats_nodes = 3};
    sw_harness *h = sw_harness_create(&o);
    static const char *const subjects[] = {"t.>"};
    sw_stream_config sc = {.name = "T", .subjects = subjects, .nsubjects = 1,
                           .retention = SW_RETAIN_LIMITS};
    sw_bus_options bo = {.url = sw_harness_nats_url(h), .name = "test", .connect_wait_ms = 5000};
    sw_bus *bus = NULL;
    char *jsz = NULL;

    sw_harness_as_operator(&bo);
    ck_assert_msg(sw_bus_connect(&bus, &bo) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_bus_stream_ensure(bus, &sc) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_bus_js_publish(bus, "t.one", "x", 1, NULL, NULL, NULL) == 0, "%s",
                  sw_error_last());
    sc.replicas = 3;
    ck_assert_msg(sw_bus_stream_ensure(bus, &sc) == 0, "%s", sw_error_last());
    uint64_t count = 0;
    ck_assert_int_eq(sw_bus_stream_count(bus, "T", &count), 0);
    ck_assert_uint_eq(count, 1);
    ck_assert_int_eq(sw_natsd_monitor(sw_harness_nats_http_port(h, 0),
                                      "/jsz?accounts=true&streams=true&config=true", &jsz),
                     0);
    ck_assert_int_eq(replicas_of(jsz, "T"), 3);
    free(jsz);
    sw_bus_destroy(&bus);
    sw_harness_destroy(&h);
}
END_TEST

/* kill -9 the node leading JOBS while builds run: the others elect a new
 * leader, slipwayd reconnects to one of them, and every build ends exactly once. */
START_TEST(test_builds_end_once_when_the_jobs_leader_is_killed)
{
    enum { NBUILDS = 4 };
    sw_harness_options o = {.nats_nodes = 3, .slots = 2};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "slow", slow_pipeline);
    sw_harness_start(h, NULL);
    char *ids[NBUILDS];
    for (int i = 0; i < NBUILDS; i++) {
        ids[i] = sw_harness_submit(h, "slow", NULL);
    }
    char leader[64];
    leader_of(h, 0, SW_STREAM_JOBS, leader, sizeof(leader));
    ck_assert_msg(strlen(leader) == 2 && leader[0] == 'n', "no leader of JOBS: '%s'", leader);
    int victim = leader[1] - '1', other = (victim + 1) % 3;
    long long t0 = sw_harness_now_ms();
    sw_harness_nats_kill_node(h, victim);

    /* how long until JOBS has a leader again (seen from a live node) */
    char now[64] = "";
    while (sw_harness_now_ms() - t0 < 30000) {
        leader_of(h, other, SW_STREAM_JOBS, now, sizeof(now));
        if (now[0] != '\0' && strcmp(now, leader) != 0) {
            break;
        }
        usleep(20 * 1000);
    }
    fprintf(stderr, "cluster: JOBS leader %s killed; %s leads after %lld ms\n", leader,
            now[0] ? now : "(none)", sw_harness_now_ms() - t0);
    ck_assert_msg(now[0] != '\0' && strcmp(now, leader) != 0, "JOBS got no new leader");

    for (int i = 0; i < NBUILDS; i++) {
        char *state = sw_harness_await_final(h, ids[i], BUILD_TIMEOUT_MS);
        ck_assert_msg(state != NULL && strcmp(state, "succeeded") == 0, "build %s ended %s",
                      ids[i], state ? state : "(not at all)");
        free(state);
    }
    fprintf(stderr, "cluster: %d builds ended %lld ms after the kill\n", NBUILDS,
            sw_harness_now_ms() - t0);
    /* Exactly once: one FINISHED event of each build in EVENTS, read by
     * sequence after the fact (a live follower of EVENTS connected to the
     * killed node can itself miss events while its consumer is remade). */
    for (int i = 0; i < NBUILDS; i++) {
        ck_assert_int_eq(sw_witness_finished_in_events(h, ids[i]), 1);
        free(ids[i]);
    }
    sw_harness_nats_restart_node(h, victim);
    sw_harness_destroy(&h);
}
END_TEST

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("r3");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_build_runs_on_a_cluster_with_r3_streams);
    tcase_add_test(tc, test_an_r1_stream_becomes_r3);
    suite_add_tcase(s, tc);
    tc = tcase_create("leader_killed");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_builds_end_once_when_the_jobs_leader_is_killed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sw_test_run(cluster_suite());
}
