/* The clocks, in one place. Monotonic time measures durations and
 * deadlines (it never jumps back); wall time is for what is stored or shown
 * (ledger timestamps, rate windows shared by replicas, health records).
 * All of them read clock_gettime, which cannot fail for these clocks. */
#ifndef GW_CORE_CLOCK_H
#define GW_CORE_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds and in milliseconds. */
uint64_t gw_clock_mono_us(void);
uint64_t gw_clock_mono_ms(void);

/* CLOCK_REALTIME: milliseconds since the Unix epoch. */
long long gw_clock_wall_ms(void);

#endif
