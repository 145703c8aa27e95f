/*
 * bench_auth.c - figures, not a test: what authentication costs. The same
 * Slipway (the harness's: one builder of 4 slots, a one-line pipeline) runs
 * twice in one go, first on an open nats-server, then on the one
 * slipway-admin nats-config configures (accounts, per-role users and
 * permissions; bcrypt cost 4 as in the tests, 11 by default: the cost of a
 * connect, paid once per connection, not per message). Each time it runs
 *   slipway-webhook-bench  signed GitHub pushes one after another: the
 *                          gateway's time from a delivery to its 202
 *                          (Server-Timing) and the sender's round trip
 *   slipway-bench          builds submitted at once: every stage, among them
 *                          placed -> started (the pickup) and a log line's
 *                          way to a follower
 * and prints their figures under "open" and "authenticated".
 *
 *   SLIPWAY_BUILD_DIR=$PWD/build SLIPWAY_SOURCE_DIR=$PWD \
 *       build/tests/integration/bench_auth [DELIVERIES [BUILDS]]
 */
#include "harness.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run(const char *label, const char *cmd)
{
    char line[512];
    FILE *p = popen(cmd, "r");
    printf("--- %s: %s\n", label, strstr(cmd, "slipway-webhook-bench") ? "webhook -> 202"
                                                                       : "builds");
    if (p == NULL) {
        printf("cannot run: %s\n", cmd);
        return;
    }
    while (fgets(line, sizeof(line), p) != NULL) {
        fputs(line, stdout);
    }
    int status = pclose(p);
    if (status != 0) {
        printf("(exited %d)\n", status);
    }
    fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One build at a time on an idle builder, `runs` times: placed -> started is
 * the pickup alone (no queue), request -> started adds the scheduler's part. */
static void pickups(const char *label, const char *bench_cmd, int runs)
{
    double placed[64], requested[64];
    int n = 0;
    for (int r = 0; r < runs && r < 64; r++) {
        char line[512];
        FILE *p = popen(bench_cmd, "r");
        double a = -1, b = -1, c = -1;
        while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
            const char *at;
            if ((at = strstr(line, "placed -> started")) != NULL && strstr(at, "p50=")) {
                a = atof(strstr(at, "p50=") + 4);
            } else if ((at = strstr(line, "request -> created")) != NULL && strstr(at, "p50=")) {
                b = atof(strstr(at, "p50=") + 4);
            } else if ((at = strstr(line, "created -> placed")) != NULL && strstr(at, "p50=")) {
                c = atof(strstr(at, "p50=") + 4);
            }
        }
        if (p != NULL) {
            pclose(p);
        }
        if (a >= 0 && b >= 0 && c >= 0) {
            placed[n] = a;
            requested[n] = a + b + c;
            n++;
        }
    }
    qsort(placed, (size_t)n, sizeof(double), cmp_double);
    qsort(requested, (size_t)n, sizeof(double), cmp_double);
    if (n > 0) {
        printf("--- %s: one build at a time, %d runs\n"
               "  placed -> started   p50 %6.0f  max %6.0f ms\n"
               "  request -> started  p50 %6.0f  max %6.0f ms\n",
               label, n, placed[n / 2], placed[n - 1], requested[n / 2], requested[n - 1]);
    } else {
        printf("--- %s: one build at a time: no figures\n", label);
    }
    fflush(stdout);
}

static void one(bool open, int deliveries, int builds)
{
    const char *label = open ? "open" : "authenticated";
    const char *build_dir = getenv("SLIPWAY_BUILD_DIR");
    sw_harness_options o = {.open_nats = open, .slots = 4};
    sw_harness *h = sw_harness_create(&o);
    sw_harness_repo_pipeline(h, "demo", "steps:\n  - name: one\n    run: echo hello\n");
    sw_harness_start(h, NULL);
    char *sha = sw_harness_repo_sha(h, "demo", "main");
    char cmd[4096];

    snprintf(cmd, sizeof(cmd), "'%s/tools/slipway-bench' --nats '%s' %s%s%s --project demo "
             "--builds %d 2>&1",
             build_dir, sw_harness_nats_url(h), open ? "" : "--creds '",
             open ? "" : sw_harness_creds(h, "operator"), open ? "" : "'", builds);
    run(label, cmd);
    snprintf(cmd, sizeof(cmd), "'%s/tools/slipway-bench' --nats '%s' %s%s%s --project demo "
             "--builds 1 2>&1",
             build_dir, sw_harness_nats_url(h), open ? "" : "--creds '",
             open ? "" : sw_harness_creds(h, "operator"), open ? "" : "'");
    pickups(label, cmd, 15);
    snprintf(cmd, sizeof(cmd), "'%s/tools/slipway-webhook-bench' --url '%s/hooks/github/demo' "
             "--secret \"%s\" --repo demo/demo --sha %s --count %d 2>&1",
             build_dir, sw_harness_webhook_url(h), SW_HARNESS_SECRET, sha, deliveries);
    run(label, cmd);
    free(sha);
    sw_harness_destroy(&h);
}

static int deliveries = 300, builds = 100;

START_TEST(bench_open_then_authenticated)
{
    one(true, deliveries, builds);
    one(false, deliveries, builds);
}
END_TEST

int main(int argc, char **argv)
{
    deliveries = argc > 1 ? atoi(argv[1]) : deliveries;
    builds = argc > 2 ? atoi(argv[2]) : builds;
    if (deliveries < 1 || builds < 1) {
        fprintf(stderr, "usage: bench_auth [DELIVERIES [BUILDS]]\n");
        return 2;
    }
    Suite *s = suite_create("bench_auth");
    TCase *tc = tcase_create("auth");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, bench_open_then_authenticated);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
