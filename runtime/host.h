/*
 * host.h - how an actor asks the process that hosts it to stop.
 *
 * DESIGN
 * Actors never touch the process; the host does (tools/slipwayd.c). A host
 * blocks SW_HOST_STOP_SIGNAL (SIGUSR1) in every thread and takes it in its
 * sigwait loop, where it means "an actor asked this process to stop cleanly":
 * slipwayd then drains every builder it hosts (as on SIGTERM) and exits 0 once
 * all are drained. sw_host_request_stop raises the signal only when the calling
 * thread has it blocked, that is when a host will take it; elsewhere (a unit
 * test driving an actor) it logs and does nothing, so no test process dies of
 * SIGUSR1's default action.
 */
#ifndef SW_HOST_H
#define SW_HOST_H

#include <signal.h>

#define SW_HOST_STOP_SIGNAL SIGUSR1

/* From any thread: asks the host to stop (see DESIGN); who and why go in the log. */
void sw_host_request_stop(const char *who, const char *why);

#endif
