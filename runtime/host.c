/* host.c - an actor asks its host process to stop (see host.h). */
#include "runtime/host.h"

#include "runtime/core/log.h"

#include <pthread.h>
#include <unistd.h>

void sw_host_request_stop(const char *who, const char *why)
{
    sigset_t mask;
    if (pthread_sigmask(SIG_BLOCK, NULL, &mask) != 0 ||
        sigismember(&mask, SW_HOST_STOP_SIGNAL) != 1) {
        sw_warn(who, "%s, but no host takes the stop signal here: not stopping", why);
        return;
    }
    sw_info(who, "%s: asking the process to stop", why);
    kill(getpid(), SW_HOST_STOP_SIGNAL);
}
