/*
 * status.c - cnats statuses turned into Slipway error codes and messages.
 */
#include "bus/internal.h"

#include "runtime/core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sw_bus_code(natsStatus s, jsErrCode jerr)
{
    return sw_bus_code_text(s, jerr, sw_bus_last_detail());
}

int sw_bus_code_text(natsStatus s, jsErrCode jerr, const char *detail)
{
    if (jerr == JSStreamNotFoundErr || jerr == JSConsumerNotFoundErr ||
        jerr == JSNoMessageFoundErr) {
        return SW_ENOTFOUND;
    }
    if (jerr == JSStreamWrongLastSequenceErr) {
        return SW_ECONFLICT;
    }
    /* "JetStream system temporarily unavailable": a cluster electing the
     * leader of a stream or consumer (after nodes restarted) -- as a timeout,
     * something to try again */
    if (jerr == JSClusterNotAvailErr) {
        return SW_ETIMEDOUT;
    }
    /* a discard-new stream at one of its limits: "maximum messages exceeded",
     * "maximum bytes exceeded", "maximum messages per subject exceeded" */
    if (jerr == JSStreamStoreFailedErr && detail != NULL && strstr(detail, "maximum") != NULL) {
        return SW_EFULL;
    }
    switch (s) {
    case NATS_OK:
        return SW_OK;
    case NATS_TIMEOUT:
        return SW_ETIMEDOUT;
    case NATS_NOT_FOUND:
    case NATS_NO_RESPONDERS:
        return SW_ENOTFOUND;
    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
        return SW_EDENIED;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_QUEUE_NAME:
    case NATS_MAX_PAYLOAD:
        return SW_EINVALID;
    default:
        return SW_EBUS;
    }
}

const char *sw_bus_last_detail(void)
{
    const char *detail = nats_GetLastError(NULL);
    const char *end;
    if (detail == NULL) {
        return "";
    }
    /* cnats prefixes "(file.c:123): "; callers do not need to know. */
    if (detail[0] == '(' && (end = strstr(detail, "): ")) != NULL) {
        detail = end + 3;
    }
    return detail;
}

static int vfail(int code, natsStatus s, jsErrCode jerr, const char *fmt, va_list ap)
{
    char what[512];
    const char *text = natsStatus_GetText(s);
    const char *detail = sw_bus_last_detail();

    vsnprintf(what, sizeof(what), fmt, ap);

    if (detail != NULL && detail[0] != '\0' && strcmp(detail, text) != 0) {
        if (jerr != 0) {
            return sw_error_set(code, "%s: %s (%s, JetStream error %d)", what, text, detail,
                                (int)jerr);
        }
        return sw_error_set(code, "%s: %s (%s)", what, text, detail);
    }
    if (jerr != 0) {
        return sw_error_set(code, "%s: %s (JetStream error %d)", what, text, (int)jerr);
    }
    return sw_error_set(code, "%s: %s", what, text);
}

int sw_bus_fail(natsStatus s, jsErrCode jerr, const char *fmt, ...)
{
    va_list ap;
    int code;
    va_start(ap, fmt);
    code = vfail(sw_bus_code(s, jerr), s, jerr, fmt, ap);
    va_end(ap);
    return code;
}

int sw_bus_fail_as(int code, natsStatus s, jsErrCode jerr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = vfail(code, s, jerr, fmt, ap);
    va_end(ap);
    return code;
}
