/*
 * bench_pressure.c - figures, not a test: how pulling by pressure changes how
 * many jobs a builder on a loaded host takes.
 *
 * Two builders (2 slots each), each in its own slipwayd and its own cgroup v2
 * (below /sys/fs/cgroup/unified or /sys/fs/cgroup, so each reads its own PSI):
 * builder-1's cgroup also holds four busy loops at nice 19 (its cpu "some"
 * pressure climbs to 50-90% while the rest of the host barely notices them),
 * builder-2's is quiet. N builds of a 2 s step are submitted at once, first
 * with the cluster's cpu threshold off, then at 30%; the bench prints how many
 * each builder ran and how long the batch took. Needs root and cgroup v2.
 *
 *   SLIPWAY_BUILD_DIR=build build/tests/integration/bench_pressure [N]
 */
#include "harness.h"
#include "support.h"

#include "runtime/core/mem.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOOPS 4

static int nbuilds = 16;
static char cgroot[64];

static void cg_make(const char *name)
{
    char *dir = sw_asprintf("%s/%s", cgroot, name);
    ck_assert_msg(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
    free(dir);
}

static void cg_put(const char *name, int pid)
{
    char *path = sw_asprintf("%s/%s/cgroup.procs", cgroot, name);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fprintf(f, "%d\n", pid);
    ck_assert_int_eq(fclose(f), 0);
    free(path);
}

static double cg_cpu_some(const char *name)
{
    char *path = sw_asprintf("%s/%s/cpu.pressure", cgroot, name);
    char *text = sw_test_read_file(path, NULL);
    double v = -1;
    if (text != NULL && strstr(text, "avg10=") != NULL) {
        v = atof(strstr(text, "avg10=") + 6);
    }
    free(text);
    free(path);
    return v;
}

static void cg_remove(const char *name)
{
    char *dir = sw_asprintf("%s/%s", cgroot, name);
    for (int i = 0; i < 100 && rmdir(dir) != 0 && errno == EBUSY; i++) {
        usleep(50 * 1000); /* its last processes are being reaped */
    }
    free(dir);
}

static void run(const char *label, const char *pressure, int *on1, int *on2, long long *ms)
{
    sw_harness_options opts = {.builders = 2, .slots = 2, .heartbeat_interval = "250ms",
                               .cluster_extra = pressure};
    sw_harness *h = sw_harness_create(&opts);
    sw_harness_repo_pipeline(h, "demo",
                             "steps:\n  - name: work\n    run: |\n      sleep 2; echo done\n");
    sw_harness_start(h, "scheduler", "dispatcher", "logsink", NULL);
    int b1 = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    int b2 = sw_harness_start_more(h, "builder-2", "builder:builder-2", NULL);
    cg_put("sw-bench-loaded", sw_harness_more_pid(h, b1));
    cg_put("sw-bench-quiet", sw_harness_more_pid(h, b2));

    pid_t loops[LOOPS];
    for (int i = 0; i < LOOPS; i++) {
        loops[i] = fork();
        ck_assert_int_ne(loops[i], -1);
        if (loops[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            errno = 0;
            if (nice(19) == -1 && errno != 0) {
                _exit(1);
            }
            for (volatile unsigned long n = 0;; n++) {
            }
        }
        cg_put("sw-bench-loaded", loops[i]);
    }
    /* until the loaded cgroup's avg10 shows it (bounded) */
    long long deadline = sw_harness_now_ms() + 40000;
    while (cg_cpu_some("sw-bench-loaded") < 45 && sw_harness_now_ms() < deadline) {
        usleep(200 * 1000);
    }
    fprintf(stderr, "%s: cpu some avg10: loaded cgroup %.1f%%, quiet %.1f%%\n", label,
            cg_cpu_some("sw-bench-loaded"), cg_cpu_some("sw-bench-quiet"));

    char **ids = calloc((size_t)nbuilds, sizeof(*ids));
    long long t0 = sw_harness_now_ms();
    for (int i = 0; i < nbuilds; i++) {
        ids[i] = sw_harness_submit(h, "demo", NULL);
    }
    *on1 = *on2 = 0;
    for (int i = 0; i < nbuilds; i++) {
        free(sw_harness_await_final(h, ids[i], 300000));
        char *b = sw_harness_show_field(h, ids[i], "builder", NULL);
        *on1 += b != NULL && strcmp(b, "builder-1") == 0;
        *on2 += b != NULL && strcmp(b, "builder-2") == 0;
        free(b);
        free(ids[i]);
    }
    *ms = sw_harness_now_ms() - t0;
    free(ids);
    for (int i = 0; i < LOOPS; i++) {
        kill(loops[i], SIGKILL);
        waitpid(loops[i], NULL, 0);
    }
    sw_harness_destroy(&h);
}

START_TEST(bench)
{
    int off1, off2, on1, on2;
    long long off_ms, on_ms;
    cg_make("sw-bench-loaded");
    cg_make("sw-bench-quiet");
    run("pressure off", "    pressure: {cpu: off, memory: off, io: off}\n", &off1, &off2,
        &off_ms);
    run("cpu 30%", "    pressure: {cpu: 30, memory: off, io: off}\n", &on1, &on2, &on_ms);
    cg_remove("sw-bench-loaded");
    cg_remove("sw-bench-quiet");
    printf("%d builds of 2 s, two builders of 2 slots, builder-1's cgroup loaded\n", nbuilds);
    printf("pulling by pressure off:  builder-1 (loaded) %2d, builder-2 (quiet) %2d, %lld ms\n",
           off1, off2, off_ms);
    printf("cpu threshold 30%%:        builder-1 (loaded) %2d, builder-2 (quiet) %2d, %lld ms\n",
           on1, on2, on_ms);
}
END_TEST

int main(int argc, char **argv)
{
    struct stat st;
    if (argc > 1) {
        nbuilds = atoi(argv[1]) > 0 ? atoi(argv[1]) : nbuilds;
    }
    snprintf(cgroot, sizeof(cgroot), "%s",
             stat("/sys/fs/cgroup/unified/cgroup.procs", &st) == 0 ? "/sys/fs/cgroup/unified"
                                                                   : "/sys/fs/cgroup");
    Suite *s = suite_create("bench_pressure");
    TCase *tc = tcase_create("bench");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, bench);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
