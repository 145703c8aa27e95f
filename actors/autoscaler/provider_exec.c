/*
 * provider_exec.c - the operator's own commands (see provider.h): not yet.
 */
#include "actors/autoscaler/provider.h"

#include "runtime/error.h"

int sw_provider_exec_init(sw_provider *p)
{
    (void)p;
    return sw_error_set(SW_EINVALID, "provider exec is not built yet");
}
