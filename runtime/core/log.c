/* log.c - the process log (see log.h). */
#include "runtime/core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sw_log_level min_level = SW_LOG_INFO;
static pthread_once_t level_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void read_level(void)
{
    const char *env = getenv("SLIPWAY_LOG");
    if (env == NULL) {
        return;
    }
    if (strcmp(env, "debug") == 0) {
        min_level = SW_LOG_DEBUG;
    } else if (strcmp(env, "warn") == 0) {
        min_level = SW_LOG_WARN;
    } else if (strcmp(env, "error") == 0) {
        min_level = SW_LOG_ERROR;
    }
}

void sw_log_set_level(sw_log_level level)
{
    pthread_once(&level_once, read_level);
    min_level = level;
}

void sw_log(sw_log_level level, const char *who, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    char msg[2048];
    va_list ap;

    pthread_once(&level_once, read_level);
    if (level < min_level) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, ts.tv_nsec / 1000000, names[level],
            who ? who : "slipway", msg);
    pthread_mutex_unlock(&log_lock);
}
