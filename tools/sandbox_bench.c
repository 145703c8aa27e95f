/*
 * slipway-sandbox-bench - what starting one shell-executor step costs the
 * process that starts it: runs N steps of `true` one after another through
 * sw_sandbox_run (with a tier's limits, so with a step cgroup where the host
 * has one) and prints, per step, the wall time, this process's CPU time and
 * its children's (getrusage).
 *
 * --ballast MIB and --threads T first make this process look like a busy
 * slipwayd (MIB of touched heap, T idle threads): a start that forks the
 * process copies its page tables, one that spawns a small program does not.
 * It prints figures and asserts nothing.
 */
#include "actors/builder/exec/sandbox.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void *idle_thread(void *arg)
{
    (void)arg;
    for (;;) {
        pause();
    }
    return NULL;
}

static double cpu_ms(const struct rusage *r)
{
    return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1000.0 +
           (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec) / 1000.0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: slipway-sandbox-bench [-n STEPS] [--ballast MIB] [--threads T]\n"
            "\n"
            "Runs STEPS steps of `true` under the shell executor (memory 256 MiB, pids\n"
            "256, one CPU) and prints per step: wall time, this process's CPU and its\n"
            "children's. --ballast and --threads make this process bigger first.\n"
            "\n"
            "  -n, --steps STEPS    steps to time (default 100), after one not timed\n"
            "  -b, --ballast MIB    touched heap to carry (default 0)\n"
            "  -t, --threads T      idle threads to carry (default 0)\n"
            "  -w, --workspace DIR  the steps' workspace (default /tmp)\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"steps", required_argument, NULL, 'n'},   {"ballast", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'}, {"workspace", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    int steps = 100, ballast_mib = 0, threads = 0, o;
    const char *workspace = "/tmp";
    while ((o = getopt_long(argc, argv, "n:b:t:w:h", longopts, NULL)) != -1) {
        switch (o) {
        case 'n': steps = atoi(optarg); break;
        case 'b': ballast_mib = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'w': workspace = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || steps <= 0 || ballast_mib < 0 || threads < 0) {
        usage(stderr);
        return 2;
    }

    size_t ballast_bytes = (size_t)ballast_mib << 20;
    char *ballast = ballast_bytes ? sw_calloc(1, ballast_bytes) : NULL;
    for (size_t i = 0; i < ballast_bytes; i += 4096) {
        ballast[i] = 1;
    }
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, idle_thread, NULL) != 0 || pthread_detach(t) != 0) {
            fprintf(stderr, "cannot start thread %d of %d\n", i + 1, threads);
            return 1;
        }
    }

    sw_sandbox_spec spec = {0};
    sw_sandbox_result res;
    spec.script = "true";
    spec.workspace = workspace;
    spec.timeout_ms = 10000;
    spec.memory_bytes = 256ull << 20;
    spec.pids = 256;
    spec.cpu_millis = 1000;
    struct rusage self0, children0, self1, children1;
    int64_t t0 = 0;
    for (int i = 0; i <= steps; i++) {
        if (i == 1) { /* the first is not timed: the cgroup probe, page cache */
            getrusage(RUSAGE_SELF, &self0);
            getrusage(RUSAGE_CHILDREN, &children0);
            t0 = sw_clock_mono_us();
        }
        if (sw_sandbox_run(&spec, &res) != 0) {
            fprintf(stderr, "step %d could not run: %s\n", i, sw_error_last());
            return 1;
        }
        if (res.exit_code != 0) {
            fprintf(stderr, "step %d: %s\n", i, res.reason);
            return 1;
        }
    }
    int64_t took_us = sw_clock_mono_us() - t0;
    getrusage(RUSAGE_SELF, &self1);
    getrusage(RUSAGE_CHILDREN, &children1);
    printf("%d steps of `true` (ballast %d MiB, %d idle threads, cgroup %s): per step %.2f ms "
           "wall, %.2f ms CPU of this process, %.2f ms of its children\n",
           steps, ballast_mib, threads, res.cgroup[0] ? "yes" : "none",
           (double)took_us / 1000.0 / steps, (cpu_ms(&self1) - cpu_ms(&self0)) / steps,
           (cpu_ms(&children1) - cpu_ms(&children0)) / steps);
    free(ballast);
    return 0;
}
