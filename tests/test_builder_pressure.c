/*
 * test_builder_pressure.c - the builder's pressure reading and thresholds
 * (actors/builder/pressure.h) over fixture trees of /proc and /sys files.
 * (Not test_pressure: that name is the log-pressure integration suite's.)
 */
#include "actors/builder/pressure.h"
#include "runtime/config.h"
#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Real lines as Linux 6.x writes them (cpu.pressure of a cgroup has "full" too). */
#define PSI_CPU "some avg10=91.25 avg60=36.18 avg300=10.45 total=692549974\n" \
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
#define PSI_MEM "some avg10=0.08 avg60=0.24 avg300=0.08 total=91249225\n" \
                "full avg10=0.04 avg60=0.11 avg300=0.03 total=57185493\n"
#define PSI_IO "some avg10=3.50 avg60=0.00 avg300=0.00 total=234870\n" \
               "full avg10=0.00 avg60=0.00 avg300=0.00 total=137798\n"
#define MEMINFO "MemTotal:       24576000 kB\nMemFree:        23000000 kB\n" \
                "MemAvailable:   24324980 kB\nBuffers:            1234 kB\n"

static void put(const char *root, const char *rel, const char *text)
{
    char *path = sw_asprintf("%s/%s", root, rel);
    for (char *s = strchr(path + strlen(root) + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(path, 0755);
        *s = '/';
    }
    sw_test_write_file(path, text);
    free(path);
}

static sw_pressure_limits defaults(void)
{
    return (sw_pressure_limits){.cpu = 95, .memory = 50, .io = 95,
                                .min_memory_free = 256ull << 20, .min_disk_free = 1ull << 30};
}

START_TEST(test_parses_real_psi_and_meminfo)
{
    double v = -1;
    char path[64];
    ck_assert_int_eq(sw_pressure_parse_psi(PSI_CPU, &v), 0);
    ck_assert_double_eq_tol(v, 91.25, 1e-9);
    ck_assert_int_eq(sw_pressure_parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &v),
                     0);
    ck_assert_double_eq_tol(v, 0.0, 1e-9);
    ck_assert_int_lt(sw_pressure_parse_psi("full avg10=1.00 avg60=0.00\n", &v), 0);
    ck_assert_int_lt(sw_pressure_parse_psi("some avg60=1.00\n", &v), 0);
    ck_assert_int_lt(sw_pressure_parse_psi("", &v), 0);
    ck_assert(sw_pressure_parse_meminfo(MEMINFO) == 24324980ll * 1024);
    ck_assert(sw_pressure_parse_meminfo("MemTotal: 1 kB\n") == -1);
    ck_assert(sw_pressure_cgroup_path("12:memory:/x\n0::/system.slice/slipway.service\n", path,
                                      sizeof(path)));
    ck_assert_str_eq(path, "/system.slice/slipway.service");
    ck_assert(!sw_pressure_cgroup_path("4:memory:/process_api/abc\n1:cpu:/\n", path,
                                       sizeof(path)));
}
END_TEST

START_TEST(test_reads_the_own_cgroup_before_the_host)
{
    char *root = sw_test_tmpdir("sw-pressure");
    sw_pressure p;
    put(root, "proc/self/cgroup", "0::/builders/b1\n");
    put(root, "sys/fs/cgroup/builders/b1/cpu.pressure", PSI_CPU);
    put(root, "sys/fs/cgroup/builders/b1/memory.pressure", PSI_MEM);
    put(root, "sys/fs/cgroup/builders/b1/io.pressure", PSI_IO);
    put(root, "proc/pressure/cpu", "some avg10=1.00 avg60=0 avg300=0 total=1\n");
    put(root, "proc/meminfo", MEMINFO);
    sw_pressure_read(&p, root, root);
    ck_assert_str_eq(p.source, "cgroup");
    ck_assert_double_eq_tol(p.cpu, 91.25, 1e-9);
    ck_assert_double_eq_tol(p.memory, 0.08, 1e-9);
    ck_assert_double_eq_tol(p.io, 3.5, 1e-9);
    ck_assert(p.memory_available == 24324980ll * 1024);
    ck_assert(p.disk_free > 0); /* statvfs of the temp dir */
    sw_test_rmtree(root);
    free(root);
}
END_TEST

START_TEST(test_hybrid_host_and_fallback_to_proc_pressure)
{
    char *root = sw_test_tmpdir("sw-pressure");
    sw_pressure p;
    /* a v2 path with no pressure files: /proc/pressure, the host's */
    put(root, "proc/self/cgroup", "4:memory:/x\n0::/gone\n");
    put(root, "proc/pressure/cpu", PSI_CPU);
    put(root, "proc/pressure/io", PSI_IO);
    sw_pressure_read(&p, root, NULL);
    ck_assert_str_eq(p.source, "host");
    ck_assert_double_eq_tol(p.cpu, 91.25, 1e-9);
    ck_assert_double_eq_tol(p.memory, -1, 1e-9); /* missing: -1, not an error */
    ck_assert(p.memory_available == -1 && p.disk_free == -1);
    /* a hybrid host: the v2 tree is mounted at /sys/fs/cgroup/unified */
    put(root, "proc/self/cgroup", "0::/slice\n");
    put(root, "sys/fs/cgroup/unified/slice/memory.pressure", PSI_MEM);
    sw_pressure_read(&p, root, NULL);
    ck_assert_str_eq(p.source, "cgroup");
    ck_assert_double_eq_tol(p.memory, 0.08, 1e-9);
    ck_assert_double_eq_tol(p.cpu, -1, 1e-9);
    sw_test_rmtree(root);
    free(root);
}
END_TEST

START_TEST(test_nothing_to_read_is_source_none)
{
    char *root = sw_test_tmpdir("sw-pressure");
    sw_pressure p;
    char reason[160] = "x";
    sw_pressure_limits lim = defaults();
    sw_pressure_read(&p, root, NULL);
    ck_assert_str_eq(p.source, "none");
    ck_assert(p.cpu == -1 && p.memory == -1 && p.io == -1 && p.memory_available == -1);
    /* what is not known is never held against the builder */
    lim.cpu = lim.memory = lim.io = 0;
    ck_assert(!sw_pressure_over(&p, &lim, reason, sizeof(reason)));
    ck_assert_str_eq(reason, "");
    sw_test_rmtree(root);
    free(root);
}
END_TEST

START_TEST(test_thresholds_and_reasons)
{
    sw_pressure p = {.cpu = 91.25, .memory = 0.08, .io = 3.5,
                     .memory_available = 24324980ll * 1024, .disk_free = 5ll << 30,
                     .source = "host"};
    sw_pressure_limits lim = defaults();
    char reason[160];

    ck_assert(!sw_pressure_over(&p, &lim, reason, sizeof(reason))); /* 91.25 <= 95 */
    lim.cpu = 80;
    ck_assert(sw_pressure_over(&p, &lim, reason, sizeof(reason)));
    ck_assert_str_eq(reason, "cpu pressure 91.2% > 80%");
    lim.cpu = 91.25; /* equal is not over */
    ck_assert(!sw_pressure_over(&p, &lim, reason, sizeof(reason)));
    lim.cpu = -1; /* off */
    lim.io = 3;
    ck_assert(sw_pressure_over(&p, &lim, reason, sizeof(reason)));
    ck_assert_str_eq(reason, "io pressure 3.5% > 3%");
    lim.io = 95;
    lim.min_memory_free = 100000ull << 30;
    ck_assert(sw_pressure_over(&p, &lim, reason, sizeof(reason)));
    ck_assert_str_eq(reason, "memory available 23.2G < 100000.0G");
    lim.min_memory_free = 0; /* off */
    lim.min_disk_free = 8ull << 30;
    ck_assert(sw_pressure_over(&p, &lim, reason, sizeof(reason)));
    ck_assert_str_eq(reason, "disk free 5.0G < 8.0G");
    p.disk_free = 100ll << 20;
    lim.min_disk_free = 512ull << 20;
    ck_assert(sw_pressure_over(&p, &lim, reason, sizeof(reason)));
    ck_assert_str_eq(reason, "disk free 100M < 512M");
}
END_TEST

START_TEST(test_config_pressure_and_drain_grace)
{
    static const char base[] = "data_dir: /tmp/x\n"
                               "tiers: [{name: free, memory: 256M, pids: 10, cpu_millis: 100, "
                               "timeout: 1m}]\n"
                               "tenants: [{name: t, tier: free}]\n"
                               "builders: [{name: b, cluster: c, slots: 1}]\n";
    sw_config *cfg = NULL;
    char *text = sw_asprintf("%sclusters: [{name: c, tier: free}]\n", base);
    ck_assert_int_eq(sw_config_parse(&cfg, text, strlen(text), "t.yaml"), 0);
    const sw_pressure_limits *p = &cfg->clusters[0].pressure;
    ck_assert(p->cpu == 95 && p->memory == 50 && p->io == 95);
    ck_assert(p->min_memory_free == 256ull << 20 && p->min_disk_free == 1ull << 30);
    ck_assert_uint_eq(cfg->drain_grace_ms, 600000);
    sw_config_destroy(&cfg);
    free(text);

    text = sw_asprintf("%sdrain_grace: 90s\nclusters:\n  - name: c\n    tier: free\n"
                       "    pressure: {cpu: off, memory: 10, min_memory_free: 2G, "
                       "min_disk_free: off}\n",
                       base);
    ck_assert_int_eq(sw_config_parse(&cfg, text, strlen(text), "t.yaml"), 0);
    p = &cfg->clusters[0].pressure;
    ck_assert(p->cpu < 0 && p->memory == 10 && p->io == 95);
    ck_assert(p->min_memory_free == 2ull << 30 && p->min_disk_free == 0);
    ck_assert_uint_eq(cfg->drain_grace_ms, 90000);
    sw_config_destroy(&cfg);
    free(text);

    text = sw_asprintf("%sclusters:\n  - name: c\n    tier: free\n    pressure: {cpu: 101}\n",
                       base);
    ck_assert_int_lt(sw_config_parse(&cfg, text, strlen(text), "t.yaml"), 0);
    ck_assert_msg(strstr(sw_error_last(), "t.yaml:8:") != NULL, "%s", sw_error_last());
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "percentage"));
    free(text);
    text = sw_asprintf("%sclusters:\n  - name: c\n    tier: free\n    pressure: {swap: 1}\n",
                       base);
    ck_assert_int_lt(sw_config_parse(&cfg, text, strlen(text), "t.yaml"), 0);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "t.yaml:8:"));
    free(text);
    text = sw_asprintf("%sdrain_grace: soon\nclusters: [{name: c, tier: free}]\n", base);
    ck_assert_int_lt(sw_config_parse(&cfg, text, strlen(text), "t.yaml"), 0);
    ck_assert_ptr_nonnull(strstr(sw_error_last(), "t.yaml:5:"));
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("builder_pressure");
    TCase *tc = tcase_create("pressure");
    tcase_add_test(tc, test_parses_real_psi_and_meminfo);
    tcase_add_test(tc, test_reads_the_own_cgroup_before_the_host);
    tcase_add_test(tc, test_hybrid_host_and_fallback_to_proc_pressure);
    tcase_add_test(tc, test_nothing_to_read_is_source_none);
    tcase_add_test(tc, test_thresholds_and_reasons);
    tcase_add_test(tc, test_config_pressure_and_drain_grace);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
