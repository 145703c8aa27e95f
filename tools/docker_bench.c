/*
 * slipway-docker-bench - the overhead of the Docker executor: runs a no-op step
 * (`true`) N times through sw_docker_run (create, start, follow, wait, inspect,
 * remove) and prints the median, p90 and max of the whole call, next to the
 * same step in the shell executor (bubblewrap) for comparison.
 *
 *   slipway-docker-bench [--image IMAGE] [--runs N] [--memory MiB] [--no-sandbox]
 *
 * IMAGE defaults to slipway-test/busybox:latest (the tests build it). It prints
 * figures and asserts nothing.
 */
#include "actors/builder/exec/docker.h"
#include "actors/builder/exec/sandbox.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t percentile(const int64_t *sorted, int n, int p)
{
    int i = (p * n + 99) / 100 - 1; /* nearest rank */
    return sorted[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}

static void report(const char *what, int64_t *us, int n)
{
    qsort(us, (size_t)n, sizeof(*us), cmp_i64);
    printf("%-22s runs %d  median %.1f ms  p90 %.1f ms  min %.1f ms  max %.1f ms\n", what, n,
           (double)percentile(us, n, 50) / 1000.0, (double)percentile(us, n, 90) / 1000.0,
           (double)us[0] / 1000.0, (double)us[n - 1] / 1000.0);
}

int main(int argc, char **argv)
{
    const char *image = "slipway-test/busybox:latest";
    int runs = 20, with_sandbox = 1;
    uint64_t memory = 256;
    static const struct option opts[] = {{"image", required_argument, NULL, 'i'},
                                         {"runs", required_argument, NULL, 'n'},
                                         {"memory", required_argument, NULL, 'm'},
                                         {"no-sandbox", no_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "i:n:m:sh", opts, NULL)) != -1) {
        switch (o) {
        case 'i':
            image = optarg;
            break;
        case 'n':
            runs = atoi(optarg);
            break;
        case 'm':
            memory = strtoull(optarg, NULL, 10);
            break;
        case 's':
            with_sandbox = 0;
            break;
        default:
            fprintf(stderr, "usage: %s [--image IMAGE] [--runs N] [--memory MiB] [--no-sandbox]\n",
                    argv[0]);
            return o == 'h' ? 0 : 2;
        }
    }
    if (runs < 1) {
        fprintf(stderr, "--runs must be at least 1\n");
        return 2;
    }

    sw_docker *d = NULL;
    if (sw_docker_open(&d, NULL) != 0) {
        fprintf(stderr, "%s\n", sw_error_last());
        return 1;
    }
    char ws[] = "/tmp/slipway-docker-bench-XXXXXX";
    if (mkdtemp(ws) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char label[64];
    snprintf(label, sizeof(label), "slipway.bench=%ld", (long)getpid());
    const char *labels[] = {label, NULL};
    sw_sandbox_spec spec = {.script = "true",
                            .workspace = ws,
                            .memory_bytes = memory << 20,
                            .pids = 256,
                            .cpu_millis = 1000,
                            .timeout_ms = 60000};
    int64_t *us = sw_calloc((size_t)runs, sizeof(*us));
    int status = 0;

    printf("image %s, engine %s, no-op step `true`\n", image, sw_docker_socket(d));
    for (int i = 0; i <= runs && status == 0; i++) { /* run 0 warms up (and may pull) */
        char name[96];
        snprintf(name, sizeof(name), "slipway-bench-%ld-%d", (long)getpid(), i);
        sw_docker_step step = {.image = image, .name = name, .labels = labels};
        sw_sandbox_result res;
        int64_t t0 = sw_clock_mono_us();
        if (sw_docker_run(d, &spec, &step, &res) != 0 || res.exit_code != 0) {
            fprintf(stderr, "run %d: %s\n", i, res.reason[0] ? res.reason : sw_error_last());
            status = 1;
        } else if (i > 0) {
            us[i - 1] = sw_clock_mono_us() - t0;
        }
    }
    if (status == 0) {
        report("docker (create→rm)", us, runs);
    }
    for (int i = 0; with_sandbox && status == 0 && i <= runs; i++) {
        sw_sandbox_result res;
        int64_t t0 = sw_clock_mono_us();
        if (sw_sandbox_run(&spec, &res) != 0 || res.exit_code != 0) {
            fprintf(stderr, "sandbox run %d: %s\n", i, res.reason[0] ? res.reason : sw_error_last());
            break;
        }
        if (i > 0) {
            us[i - 1] = sw_clock_mono_us() - t0;
        }
        if (i == runs) {
            report("shell (bubblewrap)", us, runs);
        }
    }
    sw_docker_remove_labeled(d, label);
    rmdir(ws);
    free(us);
    sw_docker_close(&d);
    return status;
}
