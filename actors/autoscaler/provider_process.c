/*
 * provider_process.c - builders as slipwayd processes on this host: not yet.
 */
#include "actors/autoscaler/provider.h"

#include "runtime/error.h"

int sw_provider_process_init(sw_provider *p)
{
    (void)p;
    return sw_error_set(SW_EINVALID, "provider process is not built yet");
}
