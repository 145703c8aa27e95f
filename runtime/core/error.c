/* error.c - per-thread last error (see error.h). */
#include "runtime/core/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_msg[1024];
static _Thread_local int last_code;

int sw_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
    va_end(ap);
    last_code = code;
    return code;
}

const char *sw_error_last(void)
{
    return last_msg[0] ? last_msg : "no error";
}

int sw_error_last_code(void)
{
    return last_code;
}

void sw_error_clear(void)
{
    last_msg[0] = '\0';
    last_code = 0;
}

const char *sw_error_name(int code)
{
    switch (code) {
    case SW_OK:
        return "ok";
    case SW_ENOTFOUND:
        return "not found";
    case SW_EEXISTS:
        return "already exists";
    case SW_ETIMEDOUT:
        return "timed out";
    case SW_EBUS:
        return "bus error";
    case SW_EINVALID:
        return "invalid";
    case SW_EIO:
        return "i/o error";
    case SW_ESTOPPED:
        return "stopped";
    case SW_EDUPLICATE:
        return "duplicate";
    case SW_ECONFLICT:
        return "conflict";
    case SW_EFULL:
        return "full";
    default:
        return "error";
    }
}
