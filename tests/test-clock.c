/*
 * test-clock: wall clocks with offset, drift and steps; monotonic timer
 * delays stretched by drift but not by steps.
 */
#include "sim/clock.h"
#include "tests/testlib.h"

#define SEC INT64_C(1000000)

static void offset_and_epoch(void)
{
    sim_clock c = { .offset_us = -90 * SEC };
    EXPECT_INT(clock_local_now(&c, 0), CLOCK_EPOCH_US - 90 * SEC);
    EXPECT_INT(clock_local_now(&c, 60 * SEC), CLOCK_EPOCH_US - 30 * SEC);
    EXPECT_INT(clock_skew_us(&c, 60 * SEC), -90 * SEC);
}

static void drift(void)
{
    /* 40 ppm fast: 3.456 s gained per day. */
    sim_clock c = { .drift_ppb = 40000 };
    int64_t day = 86400 * SEC;
    EXPECT_INT(clock_skew_us(&c, day), 3456000);
    /* 50 ppm slow over a week. */
    sim_clock slow = { .drift_ppb = -50000 };
    EXPECT_INT(clock_skew_us(&slow, 7 * day), -30240000);
    /* The largest drift over 100 days does not overflow. */
    sim_clock wild = { .drift_ppb = 1000000 };
    EXPECT_INT(clock_skew_us(&wild, 100 * day), 100 * day / 1000);
}

static void steps(void)
{
    sim_clock c = { .offset_us = 10 * SEC };
    int64_t before = clock_local_now(&c, 100 * SEC);
    clock_step(&c, -120 * SEC);   /* NTP pulls the clock back two minutes */
    int64_t after = clock_local_now(&c, 101 * SEC);
    EXPECT(after < before);       /* the wall clock went backwards */
    EXPECT_INT(after - before, -119 * SEC);
    EXPECT_INT(clock_skew_us(&c, 0), -110 * SEC);
}

static void timers(void)
{
    sim_clock exact = { 0 };
    EXPECT_INT(clock_true_delay(&exact, 5 * SEC), 5 * SEC);
    EXPECT_INT(clock_true_delay(&exact, 0), 0);
    /* A clock running 1000 ppm fast reaches its deadline sooner in true time. */
    sim_clock fast = { .drift_ppb = 1000000 };
    int64_t d = clock_true_delay(&fast, 1000 * SEC);
    EXPECT(d < 1000 * SEC && d > 998 * SEC);
    sim_clock slow = { .drift_ppb = -1000000 };
    EXPECT(clock_true_delay(&slow, 1000 * SEC) > 1000 * SEC);
    /* Steps do not move monotonic timers. */
    sim_clock stepped = { 0 };
    clock_step(&stepped, -3600 * SEC);
    EXPECT_INT(clock_true_delay(&stepped, 5 * SEC), 5 * SEC);
    /* A positive delay never rounds down to zero. */
    EXPECT(clock_true_delay(&fast, 1) >= 1);
}

int main(void)
{
    offset_and_epoch();
    drift();
    steps();
    timers();
    return test_exit("test-clock");
}
