/* format.c - how the CLI writes times and durations (see cli.h). */
#include "tools/cli/cli.h"

#include "runtime/core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int64_t cli_now_ms(void)
{
    const char *fixed = getenv("SLIPWAY_NOW_MS");
    if (fixed != NULL && fixed[0] >= '0' && fixed[0] <= '9') {
        return strtoll(fixed, NULL, 10);
    }
    return sw_clock_wall_ms();
}

static bool utc(struct tm *tm, int64_t at_ms)
{
    time_t t = (time_t)(at_ms / 1000);
    return at_ms > 0 && gmtime_r(&t, tm) != NULL;
}

const char *cli_time(char *buf, size_t n, int64_t at_ms)
{
    struct tm tm;
    if (!utc(&tm, at_ms) || strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        snprintf(buf, n, "-");
    }
    return buf;
}

const char *cli_time_iso(char *buf, size_t n, int64_t at_ms)
{
    struct tm tm;
    char s[32];
    if (!utc(&tm, at_ms) || strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, n, "-");
    } else {
        snprintf(buf, n, "%s.%03dZ", s, (int)(at_ms % 1000));
    }
    return buf;
}

const char *cli_span(char *buf, size_t n, int64_t ms)
{
    long long s = (long long)(ms < 0 ? 0 : ms) / 1000;
    if (ms < 1000) {
        snprintf(buf, n, "%lldms", (long long)(ms < 0 ? 0 : ms));
    } else if (s < 60) {
        snprintf(buf, n, "%llds", s);
    } else if (s < 3600) {
        snprintf(buf, n, "%lldm %llds", s / 60, s % 60);
    } else if (s < 86400) {
        snprintf(buf, n, "%lldh %lldm", s / 3600, s % 3600 / 60);
    } else {
        snprintf(buf, n, "%lldd %lldh", s / 86400, s % 86400 / 3600);
    }
    return buf;
}

const char *cli_age(char *buf, size_t n, int64_t at_ms)
{
    int64_t s = (cli_now_ms() - at_ms) / 1000;
    if (at_ms <= 0) {
        snprintf(buf, n, "-");
    } else if (s < 120) {
        snprintf(buf, n, "%llds ago", (long long)(s < 0 ? 0 : s));
    } else if (s < 7200) {
        snprintf(buf, n, "%lldm ago", (long long)(s / 60));
    } else if (s < 172800) {
        snprintf(buf, n, "%lldh ago", (long long)(s / 3600));
    } else {
        snprintf(buf, n, "%lldd ago", (long long)(s / 86400));
    }
    return buf;
}

const char *cli_duration(char *buf, size_t n, int64_t ms)
{
    if (ms % 1000 != 0) {
        snprintf(buf, n, "%lldms", (long long)ms);
    } else if (ms % 60000 != 0 || ms == 0) {
        snprintf(buf, n, "%llds", (long long)(ms / 1000));
    } else {
        snprintf(buf, n, "%lldm", (long long)(ms / 60000));
    }
    return buf;
}

cli_spans cli_record_spans(const Slipway__BuildRecord *r)
{
    cli_spans t = {.queued = -1, .ran = -1, .total = -1};
    int64_t now = cli_now_ms();
    int64_t end = r->finished_ms > 0 ? r->finished_ms : now;
    t.so_far = r->finished_ms <= 0;
    if (r->created_ms > 0) {
        t.queued = (r->started_ms > 0 ? r->started_ms : end) - r->created_ms;
        t.total = end - r->created_ms;
    }
    if (r->started_ms > 0) {
        t.ran = end - r->started_ms;
    }
    return t;
}

bool cli_has_exit_code(const Slipway__BuildRecord *r)
{
    return (r->state == SLIPWAY__BUILD_STATE__SUCCEEDED ||
            r->state == SLIPWAY__BUILD_STATE__FAILED ||
            r->state == SLIPWAY__BUILD_STATE__TIMED_OUT) &&
           r->step != NULL && r->step[0] != '\0';
}
