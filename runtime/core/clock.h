/* clock.h - time helpers. */
#ifndef SW_CLOCK_H
#define SW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since the epoch (wall clock), for timestamps on the wire. */
int64_t sw_clock_wall_ms(void);

/* Milliseconds on the monotonic clock, for timeouts and durations. */
int64_t sw_clock_mono_ms(void);

/* Microseconds on the monotonic clock, for measuring short work. */
int64_t sw_clock_mono_us(void);

/* *ts = the wall clock (CLOCK_REALTIME, what pthread_cond_timedwait reads)
 * ms milliseconds from now. */
void sw_clock_deadline(struct timespec *ts, int64_t ms);

#endif
