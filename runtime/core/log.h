/*
 * log.h - the process log: one line per call on stderr,
 * "2026-11-26T20:10:00.123Z INFO  scheduler: message".
 * Thread-safe. The level comes from SLIPWAY_LOG (debug, info, warn, error).
 */
#ifndef SW_LOG_H
#define SW_LOG_H

typedef enum { SW_LOG_DEBUG, SW_LOG_INFO, SW_LOG_WARN, SW_LOG_ERROR } sw_log_level;

void sw_log_set_level(sw_log_level level);
void sw_log(sw_log_level level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define sw_debug(who, ...) sw_log(SW_LOG_DEBUG, (who), __VA_ARGS__)
#define sw_info(who, ...) sw_log(SW_LOG_INFO, (who), __VA_ARGS__)
#define sw_warn(who, ...) sw_log(SW_LOG_WARN, (who), __VA_ARGS__)
#define sw_err(who, ...) sw_log(SW_LOG_ERROR, (who), __VA_ARGS__)

#endif
