/*
 * bench_web.c - figures, not a test: how long a log line takes from the
 * builder to a browser's page (p50/p99 over the lines that came live), and
 * what a page of a huge log costs the browser (JS heap, DOM nodes, time to
 * show its tail).
 *
 *   bench_web [--lines N] [--rate LINES_PER_S] [--log-mb MB]
 *
 * A real nats-server, git daemon and slipwayd (shell executor), the web actor
 * in its own slipwayd, Debian's headless Chromium driven by tests/web/browser.py.
 * Needs SLIPWAY_BUILD_DIR and SLIPWAY_SOURCE_DIR (absolute).
 */
#include "tests/integration/harness.h"
#include "tests/support/support.h"

#include "runtime/core/mem.h"

#include <check.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *browse(sw_harness *h, const char *const *args)
{
    const char *argv[16] = {"python3"};
    char *script = sw_asprintf("%s/tests/web/browser.py", getenv("SLIPWAY_SOURCE_DIR"));
    size_t n = 1;
    argv[n++] = script;
    for (size_t i = 0; args[i] != NULL && n < 15; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    sw_harness_proc *p = sw_harness_spawn_program(h, argv);
    sw_harness_result res;
    sw_harness_proc_finish(&p, &res, 600000);
    char *last = res.out ? strrchr(res.out, '{') : NULL;
    json_t *j = last ? json_loads(last, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    if (res.status != 0 || j == NULL) {
        ck_abort_msg("browser.py %s: exit %d\n%s\n%s", args[0], res.status,
                     res.out ? res.out : "", res.err ? res.err : "");
    }
    sw_harness_result_finish(&res);
    free(script);
    return j;
}

/* Waits (up to timeout_ms) until the raw log of build holds needle. */
static void await_log(sw_harness *h, const char *base, const char *build, const char *needle,
                      int timeout_ms)
{
    char *cmd = sw_asprintf("curl -s -r -4096 -H 'Cookie: slipway_token=%s' %s/builds/%s/log.txt",
                            SW_HARNESS_READ_TOKEN, base, build);
    long long until = sw_harness_now_ms() + timeout_ms;
    for (;;) {
        FILE *f = popen(cmd, "r");
        char buf[8192];
        size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f) {
            pclose(f);
        }
        buf[n] = '\0';
        if (strstr(buf, needle) != NULL) {
            break;
        }
        if (sw_harness_now_ms() > until) {
            ck_abort_msg("waited %d ms for '%s' in the log", timeout_ms, needle);
        }
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
    free(cmd);
    (void)h;
}

static int lines = 1000, rate = 100, log_mb = 100;

START_TEST(bench)
{
    int port = sw_test_free_port();
    char *extra = sw_asprintf("web:\n  listen: 127.0.0.1:%d\n", port);
    char *log_limit = sw_asprintf("%dM", log_mb * 2 + 10);
    sw_harness_options o = {.yaml_extra = extra, .tier_log_limit = log_limit,
                            .tier_timeout = "30m"};
    sw_harness *h = sw_harness_create(&o);
    char *live = sw_asprintf("steps:\n  - name: lines\n    run: i=0; while [ $i -lt %d ]; do "
                             "i=$((i+1)); echo \"line $i\"; sleep %.4f; done\n",
                             lines, 1.0 / rate);
    /* 100 bytes a line */
    char *big = sw_asprintf("steps:\n  - name: big\n    run: |\n"
                            "      yes 'a log line of about a hundred bytes, as builds print "
                            "them by the million - compiler output, tests, progress' | "
                            "head -c %d\n      echo\n      echo the end\n",
                            log_mb * 1000 * 1000);
    sw_harness_repo_pipeline(h, "live", live);
    sw_harness_repo_pipeline(h, "big", big);
    sw_harness_start(h, "logsink", "scheduler", "dispatcher", "builder", "notifier", NULL);
    sw_harness_start_more(h, "web", "web", NULL);
    char *base = sw_asprintf("http://127.0.0.1:%d", port);

    /* latency: the page opens on a running build and follows it to its end */
    char *build = sw_harness_submit(h, "live", NULL);
    await_log(h, base, build, "line 2\n", 30000);
    char *url = sw_asprintf("%s/builds/%s?token=%s", base, build, SW_HARNESS_READ_TOKEN);
    char *last = sw_asprintf("line %d", lines);
    char *n_text = sw_asprintf("%d", lines);
    const char *live_args[] = {"live", url, "--before", "line 1", "--after", last,
                               "--lines", n_text, "--timeout", "600", NULL};
    json_t *j = browse(h, live_args);
    printf("line -> browser, %d lines at %d/s: %lld came live, p50 %.0f ms, p99 %.0f ms, "
           "max %.0f ms\n",
           lines, rate, (long long)json_integer_value(json_object_get(j, "live_lines")),
           json_number_value(json_object_get(j, "p50_ms")),
           json_number_value(json_object_get(j, "p99_ms")),
           json_number_value(json_object_get(j, "max_ms")));
    json_decref(j);
    /* the same page once the build ended: what a small log's page costs, to
     * compare a huge log's with */
    const char *small_args[] = {"memory", url, "--timeout", "600", NULL};
    j = browse(h, small_args);
    printf("a %d-line log's page: renderer RSS %.1f MB, JS heap %.1f MB used, %lld DOM nodes\n",
           lines, json_number_value(json_object_get(j, "renderer_rss_mb")),
           json_number_value(json_object_get(j, "js_heap_used_mb")),
           (long long)json_number_value(json_object_get(j, "dom_nodes")));
    json_decref(j);
    free(url);
    free(build);

    if (log_mb > 0) {
        long long t0 = sw_harness_now_ms();
        build = sw_harness_submit(h, "big", NULL);
        char *state = sw_harness_await_final(h, build, 30 * 60000);
        await_log(h, base, build, "the end\n", 10 * 60000);
        printf("a %d MB log: built and archived in %.1f s (%s)\n", log_mb,
               (double)(sw_harness_now_ms() - t0) / 1000, state);
        /* the page as it opens (the last web.tail_lines), and with 20x the tail */
        const char *tails[] = {"", "&tail=100000"};
        for (size_t i = 0; i < 2; i++) {
            url = sw_asprintf("%s/builds/%s?token=%s%s", base, build, SW_HARNESS_READ_TOKEN,
                              tails[i]);
            const char *mem_args[] = {"memory", url, "--timeout", "600", NULL};
            j = browse(h, mem_args);
            printf("its page%s: shown in %.2f s, renderer RSS %.1f MB, JS heap %.1f MB used "
                   "(%.1f MB total), %lld DOM nodes, %lld lines rendered (from line %lld)\n",
                   tails[i], json_number_value(json_object_get(j, "loaded_s")),
                   json_number_value(json_object_get(j, "renderer_rss_mb")),
                   json_number_value(json_object_get(j, "js_heap_used_mb")),
                   json_number_value(json_object_get(j, "js_heap_total_mb")),
                   (long long)json_number_value(json_object_get(j, "dom_nodes")),
                   (long long)json_integer_value(json_object_get(j, "lines_shown")),
                   (long long)json_integer_value(json_object_get(j, "first_line")));
            json_decref(j);
            free(url);
        }
        free(state);
        free(build);
    }
    sw_harness_destroy(&h);
    free(base);
    free(last);
    free(n_text);
    free(live);
    free(big);
    free(log_limit);
    free(extra);
}
END_TEST

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"lines", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"log-mb", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': lines = atoi(optarg); break;
        case 'r': rate = atoi(optarg); break;
        case 'm': log_mb = atoi(optarg); break;
        case 'h':
            printf("usage: bench_web [--lines N] [--rate LINES_PER_S] [--log-mb MB]\n");
            return 0;
        default:
            fprintf(stderr, "usage: bench_web [--lines N] [--rate LINES_PER_S] [--log-mb MB]\n");
            return 2;
        }
    }
    if (lines < 10 || rate < 1 || log_mb < 0) {
        fprintf(stderr, "bench_web: --lines >= 10, --rate >= 1, --log-mb >= 0\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    Suite *s = suite_create("bench_web");
    TCase *tc = tcase_create("bench");
    tcase_set_timeout(tc, 3600);
    tcase_add_test(tc, bench);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
