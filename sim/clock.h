/*
 * clock: what a node believes the time is.
 *
 * True time (int64 microseconds from scenario start) belongs to the world.
 * A node's wall clock reads
 *     local = epoch + true + offset + drift_ppb * true / 1e9 + steps
 * where steps are NTP-style corrections applied so far (possibly backwards).
 * Timers run on the node's monotonic clock: it drifts with the wall clock
 * but never steps, as CLOCK_MONOTONIC does on a real device.
 * All arithmetic is integer, so clocks are identical on every machine.
 */
#ifndef SIM_CLOCK_H
#define SIM_CLOCK_H

#include <stdint.h>

/* Wall clocks start at 2025-01-01T00:00:00Z, so timestamps look real. */
#define CLOCK_EPOCH_US INT64_C(1735689600000000)
/* |drift| is bounded so drift * true time cannot overflow within ~100 days. */
#define CLOCK_DRIFT_PPB_MAX INT64_C(1000000000)

typedef struct sim_clock {
    int64_t offset_us;    /* wall clock minus true time at true time 0 */
    int64_t drift_ppb;    /* rate error, parts per billion (40 ppm = 40000) */
    int64_t stepped_us;   /* sum of the steps applied so far */
} sim_clock;

/* The node's wall clock, in unix microseconds. */
int64_t clock_local_now(const sim_clock *c, int64_t true_us);
/* The wall clock's error against true time: local - epoch - true. */
int64_t clock_skew_us(const sim_clock *c, int64_t true_us);
/* The node's monotonic clock: true time with drift, never stepped, from 0 at the scenario's start. */
int64_t clock_mono_us(const sim_clock *c, int64_t true_us);
/* True-time length of a monotonic-clock delay (drift applied, steps not). */
int64_t clock_true_delay(const sim_clock *c, int64_t local_delay_us);
void clock_step(sim_clock *c, int64_t by_us);

#endif
