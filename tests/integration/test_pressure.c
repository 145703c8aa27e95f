/*
 * test_pressure.c - a build that prints faster than the logsink archives.
 *
 * LOGS is small (64 MiB) and keeps each chunk until the logsink archived it:
 * a step printing 200 MB must then wait for the archive (its output pipe
 * fills) rather than lose lines, while another build's log stays live (a
 * build may hold at most logs_build_max_chunks of LOGS). Past the tier's
 * log_limit a log is cut, and says so.
 */
#include "harness.h"
#include "support.h"
#include "witness.h"

#include "runtime/wire.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A process that kept the log would peak above 200 MB. Under AddressSanitizer
 * freed memory waits in its quarantine (256 MiB by default) first. */
#if defined(__SANITIZE_ADDRESS__)
#define PEAK_MAX_KIB ((150 + 300) * 1024)
#else
#define PEAK_MAX_KIB (150 * 1024)
#endif

#define LINES 200000 /* of 1,000 bytes with the newline: 200 MB */
#define ZEROS 999

#define CHATTY_PIPELINE                                                                           \
    "steps:\n"                                                                                    \
    "  - name: chatty\n"                                                                          \
    "    run: yes \"$(printf '%%0999d' 0)\" | head -n %d\n"

#define BEAT_PIPELINE                                                                             \
    "steps:\n"                                                                                    \
    "  - name: beat\n"                                                                            \
    "    run: for i in $(seq 1 %d); do echo \"beat $i\"; sleep 0.1; done\n"

/* VmHWM of pid in KiB (0 when unknown). */
static long peak_kib(int pid)
{
    char path[64], *status, *p;
    long kib = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    status = sw_test_read_file(path, NULL);
    if (status != NULL && (p = strstr(status, "VmHWM:")) != NULL) {
        kib = strtol(p + 6, NULL, 10);
    }
    free(status);
    return kib;
}

static sw_harness *start(const char *log_limit, int chatty_lines, int beats)
{
    static char chatty[256], beat[256];
    sw_harness_options opts = {
        .builders = 1,
        .slots = 2,
        .heartbeat_interval = "250ms",
        .heartbeat_lapse = "2s",
        .tier_log_limit = log_limit,
        .yaml_extra = "retention:\n"
                      "  logs_max_bytes: 64M\n"
                      "  logs_build_max_chunks: 256\n",
    };
    sw_harness *h = sw_harness_create(&opts);
    snprintf(chatty, sizeof(chatty), CHATTY_PIPELINE, chatty_lines);
    snprintf(beat, sizeof(beat), BEAT_PIPELINE, beats);
    sw_harness_repo_pipeline(h, "chatty", chatty);
    sw_harness_repo_pipeline(h, "beat", beat);
    sw_harness_start(h, "scheduler", "dispatcher", "logsink", NULL);
    return h;
}

/* Counts the log's lines of ZEROS zeros; fails on any other line of output
 * (Slipway's own lines start "[slipway] "). */
static long zero_lines(const char *out)
{
    char zeros[ZEROS + 2];
    long n = 0;
    memset(zeros, '0', ZEROS);
    zeros[ZEROS] = '\n';
    zeros[ZEROS + 1] = '\0';
    for (const char *p = out; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (len == ZEROS + 1 && memcmp(p, zeros, len) == 0) {
            n++;
        } else {
            ck_assert_msg(strncmp(p, "[slipway] ", 10) == 0, "a line the step never printed: %.80s",
                          p);
        }
        p += len;
    }
    return n;
}

START_TEST(test_200mb_step_loses_nothing_and_others_stay_live)
{
    enum { BEATS = 300 };
    sw_harness *h = start("256M", LINES, BEATS);
    sw_witness *w = sw_witness_create(sw_harness_nats_url(h));
    int b = sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);

    /* the other build's log is followed live before the chatty one starts */
    char *beat = sw_harness_submit(h, "beat", NULL);
    sw_harness_proc *follow = sw_harness_spawn(h, "logs", "-f", beat, NULL);
    ck_assert_msg(sw_harness_proc_await(follow, "beat 1\n", 30000), "the beat never started:\n%s",
                  sw_harness_proc_output(follow));
    char *chatty = sw_harness_submit(h, "chatty", NULL);
    long long started = sw_harness_now_ms(), last = started, max_gap = 0;
    int seen = 1, during = 0;
    char *state = NULL;
    for (;;) {
        char next[32];
        snprintf(next, sizeof(next), "beat %d\n", seen + 1);
        if (sw_harness_proc_await(follow, next, 50)) {
            long long now = sw_harness_now_ms();
            if (now - last > max_gap) {
                max_gap = now - last;
            }
            last = now;
            seen++;
            during++;
            continue;
        }
        free(state);
        state = sw_harness_show_field(h, chatty, "state", NULL);
        if (state != NULL && strcmp(state, "succeeded") == 0) {
            break;
        }
        ck_assert_msg(state == NULL || !strcmp(state, "running") || !strcmp(state, "queued") ||
                          !strcmp(state, "dispatched"),
                      "the chatty build ended %s", state);
        ck_assert_msg(seen < BEATS, "the beat build ended before the chatty one: make it longer");
        ck_assert_msg(sw_harness_now_ms() - last < 10000,
                      "the other build's log stalled for 10 s at beat %d", seen);
    }
    long long took = sw_harness_now_ms() - started;
    printf("pressure: 200 MB step took %lld ms (%.1f MB/s through LOGS and the archive); the "
           "other build's log meanwhile: %d lines, max gap %lld ms (lines are 100 ms apart)\n",
           took, 200000.0 / (double)(took > 0 ? took : 1), during, max_gap);
    ck_assert_msg(during >= 5, "the chatty build ran too briefly (%lld ms) to say anything", took);
    free(state);
    state = sw_harness_await_final(h, chatty, 300000);
    ck_assert_str_eq(state, "succeeded");
    printf("pressure: VmHWM builder %ld KiB, core slipwayd (logsink) %ld KiB\n",
           peak_kib(sw_harness_more_pid(h, b)), peak_kib(sw_harness_slipwayd_pid(h)));
    ck_assert_int_lt(peak_kib(sw_harness_more_pid(h, b)), PEAK_MAX_KIB);
    ck_assert_int_lt(peak_kib(sw_harness_slipwayd_pid(h)), PEAK_MAX_KIB);

    /* the archive has every line */
    sw_harness_result res;
    long long t0 = sw_harness_now_ms();
    sw_harness_cli(h, &res, 120000, "logs", chatty, NULL);
    took = sw_harness_now_ms() - t0;
    ck_assert_int_eq(res.status, 0);
    printf("pressure: slipway logs of %zu bytes took %lld ms\n", strlen(res.out), took);
    ck_assert_int_eq(zero_lines(res.out), LINES);
    ck_assert_ptr_null(strstr(res.out, "log truncated"));
    ck_assert_int_eq(sw_witness_finished(w, chatty, 3000), 1);
    /* and LOGS is empty once archived: nothing was kept past its use */
    ck_assert_uint_eq(sw_witness_await_count(w, SW_STREAM_LOGS, 0, 30000), 0);

    /* the beat goes on a while yet; what it had to show, it showed */
    sw_harness_result beat_res;
    sw_harness_proc_finish(&follow, &beat_res, 1);
    sw_harness_result_finish(&beat_res);
    sw_harness_result_finish(&res);
    free(state);
    free(beat);
    free(chatty);
    sw_witness_destroy(&w);
    sw_harness_destroy(&h);
}
END_TEST

START_TEST(test_log_past_the_limit_is_cut_visibly)
{
    /* 20 MB printed, 5 MB kept */
    sw_harness *h = start("5M", 20000, 1);
    sw_harness_start_more(h, "builder-1", "builder:builder-1", NULL);
    char *id = sw_harness_submit(h, "chatty", NULL);
    char *state = sw_harness_await_final(h, id, 120000);
    ck_assert_str_eq(state, "succeeded");

    sw_harness_result res;
    sw_harness_cli(h, &res, 60000, "logs", id, NULL);
    ck_assert_int_eq(res.status, 0);
    long kept = zero_lines(res.out);
    ck_assert_int_eq(kept, (5 << 20) / (ZEROS + 1));
    const char *cut = strstr(res.out, "[slipway] log truncated at ");
    ck_assert_msg(cut != NULL, "no truncation line");
    ck_assert_int_eq(strtol(cut + strlen("[slipway] log truncated at "), NULL, 10),
                     kept * (ZEROS + 1));
    /* the result still shows, after the cut */
    ck_assert_ptr_nonnull(strstr(cut, "[slipway] build succeeded"));

    sw_harness_result_finish(&res);
    free(state);
    free(id);
    sw_harness_destroy(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pressure");
    TCase *tc = tcase_create("pressure");
    tcase_set_timeout(tc, 420);
    tcase_add_test(tc, test_200mb_step_loses_nothing_and_others_stay_live);
    tcase_add_test(tc, test_log_past_the_limit_is_cut_visibly);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
