/*
 * test-hlc: hybrid logical clocks (engine/hlc.c).
 *
 * hlc_tick is strictly increasing whatever the wall clock does (stands
 * still, goes backwards, jumps ahead); hlc_observe follows Kulkarni et al.'s
 * receive rule case by case (l = max(l, l_m, pt); the counter is max(c)+1 when
 * both sides share l, the side's c+1 when only one does, 0 when the wall clock
 * is ahead of both), so the next tick after observing a remote timestamp is
 * above it; hlc_compare orders by l, then c. A long pseudo-random run checks
 * that every tick is above everything ticked or observed before it, and the
 * counter's edge (UINT32_MAX) must not make the clock run backwards.
 */
#include "engine/hlc.h"
#include "tests/testlib.h"

#include <stdint.h>

static hlc H(int64_t l, uint32_t c)
{
    return (hlc){ .l_us = l, .c = c };
}

#define EXPECT_HLC(actual, want_l, want_c) \
    do {                                   \
        hlc h_ = (actual);                 \
        EXPECT_INT(h_.l_us, (want_l));     \
        EXPECT_INT(h_.c, (want_c));        \
    } while (0)

static void compare_orders_by_l_then_c(void)
{
    EXPECT_INT(hlc_compare(H(5, 0), H(5, 0)), 0);
    EXPECT_INT(hlc_compare(H(4, 9), H(5, 0)), -1);
    EXPECT_INT(hlc_compare(H(5, 0), H(4, 9)), 1);
    /* l dominates however large the counter is. */
    EXPECT_INT(hlc_compare(H(4, UINT32_MAX), H(5, 0)), -1);
    EXPECT_INT(hlc_compare(H(5, 1), H(5, 2)), -1);
    EXPECT_INT(hlc_compare(H(5, 2), H(5, 1)), 1);
    /* The counter compares unsigned: UINT32_MAX is the largest, not -1. */
    EXPECT_INT(hlc_compare(H(5, UINT32_MAX), H(5, 0)), 1);
    /* Negative physical times (before 1970) still order. */
    EXPECT_INT(hlc_compare(H(-10, 0), H(-9, 0)), -1);
    EXPECT_INT(hlc_compare(H(INT64_MIN, 0), H(INT64_MAX, 0)), -1);
    /* Antisymmetric over a small grid. */
    for (int64_t la = 0; la < 3; la++)
        for (uint32_t ca = 0; ca < 3; ca++)
            for (int64_t lb = 0; lb < 3; lb++)
                for (uint32_t cb = 0; cb < 3; cb++)
                    EXPECT_INT(hlc_compare(H(la, ca), H(lb, cb)), -hlc_compare(H(lb, cb), H(la, ca)));
}

static void tick_follows_the_wall_clock_when_it_advances(void)
{
    hlc clock = H(0, 0);
    EXPECT_HLC(hlc_tick(&clock, 100), 100, 0);
    EXPECT_HLC(clock, 100, 0);
    EXPECT_HLC(hlc_tick(&clock, 250), 250, 0);
    /* A counter built up at one l resets when the wall clock moves on. */
    hlc_tick(&clock, 250);
    hlc_tick(&clock, 250);
    EXPECT_HLC(clock, 250, 2);
    EXPECT_HLC(hlc_tick(&clock, 251), 251, 0);
}

static void tick_is_strictly_increasing_when_the_clock_stands_still(void)
{
    hlc clock = H(0, 0);
    hlc prev = hlc_tick(&clock, 1000);
    for (int i = 1; i <= 50; i++) {
        hlc t = hlc_tick(&clock, 1000);
        EXPECT_INT(hlc_compare(t, prev), 1);
        EXPECT_INT(t.l_us, 1000);
        EXPECT_INT(t.c, i);
        prev = t;
    }
}

static void tick_is_strictly_increasing_when_the_clock_goes_backwards(void)
{
    hlc clock = H(0, 0);
    hlc prev = hlc_tick(&clock, 1000000);
    EXPECT_HLC(prev, 1000000, 0);
    /* The wall clock is stepped back by 10 minutes and then creeps forward. */
    int64_t now = 1000000 - 600000000;
    for (int i = 1; i <= 20; i++, now += 1000) {
        hlc t = hlc_tick(&clock, now);
        EXPECT_INT(hlc_compare(t, prev), 1);
        EXPECT_INT(t.l_us, 1000000);   /* l never follows the clock backwards */
        EXPECT_INT(t.c, i);
        prev = t;
    }
    /* Once the wall clock passes l again, l follows it and c restarts. */
    EXPECT_HLC(hlc_tick(&clock, 1000001), 1000001, 0);
}

static void tick_returns_the_clock_it_leaves(void)
{
    hlc clock = H(7, 3);
    hlc t = hlc_tick(&clock, 5);
    EXPECT_INT(hlc_compare(t, clock), 0);
    EXPECT_HLC(t, 7, 4);
}

static void observe_remote_ahead_puts_the_next_tick_above_it(void)
{
    hlc clock = H(100, 0);
    hlc remote = H(5000, 7);
    hlc_observe(&clock, remote, 200);
    EXPECT_HLC(clock, 5000, 8);        /* l = l_m, c = c_m + 1 */
    EXPECT(hlc_compare(clock, remote) > 0);
    hlc t = hlc_tick(&clock, 200);     /* our wall clock is still far behind */
    EXPECT(hlc_compare(t, remote) > 0);
    EXPECT_HLC(t, 5000, 9);
    /* Same when the wall clock equals the remote's l exactly. */
    hlc c2 = H(0, 0);
    hlc_observe(&c2, H(300, 4), 300);
    EXPECT_HLC(c2, 300, 5);
    EXPECT(hlc_compare(hlc_tick(&c2, 300), H(300, 4)) > 0);
}

static void observe_counter_rules(void)
{
    /* Equal l on both sides, wall clock behind: c = max(c, c_m) + 1, whichever side holds the max. */
    hlc a = H(500, 3);
    hlc_observe(&a, H(500, 9), 100);
    EXPECT_HLC(a, 500, 10);
    hlc b = H(500, 9);
    hlc_observe(&b, H(500, 3), 100);
    EXPECT_HLC(b, 500, 10);
    hlc e = H(500, 4);
    hlc_observe(&e, H(500, 4), 500);   /* wall clock equal to both: still max + 1 */
    EXPECT_HLC(e, 500, 5);

    /* Local l ahead of the remote and the wall clock: c = c + 1, the remote's counter is irrelevant. */
    hlc l = H(900, 2);
    hlc_observe(&l, H(800, 50), 700);
    EXPECT_HLC(l, 900, 3);

    /* Remote l ahead of ours and the wall clock: c = c_m + 1, our counter is irrelevant. */
    hlc r = H(800, 50);
    hlc_observe(&r, H(900, 2), 700);
    EXPECT_HLC(r, 900, 3);

    /* Wall clock ahead of both: l = now, c = 0, whatever the counters were. */
    hlc w = H(800, 50);
    hlc_observe(&w, H(900, 70), 1000);
    EXPECT_HLC(w, 1000, 0);
    hlc w2 = H(1000, 0);   /* ...but equal to our l is not "ahead": c + 1 */
    hlc_observe(&w2, H(900, 70), 1000);
    EXPECT_HLC(w2, 1000, 1);
}

static void observe_never_moves_the_clock_backwards(void)
{
    hlc clock = H(1000, 5);
    hlc before = clock;
    hlc_observe(&clock, H(10, 0), 20);   /* an old remote, an old wall clock */
    EXPECT(hlc_compare(clock, before) > 0);
    EXPECT_HLC(clock, 1000, 6);
}

/* xorshift64: a deterministic stream for the property test below. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void ticks_exceed_everything_seen_before(void)
{
    uint64_t seed = 0x9e3779b97f4a7c15u;
    hlc clock = H(0, 0);
    hlc highest = H(0, 0);   /* the largest timestamp ticked or observed so far */
    int64_t wall = 1000000;
    int ticks = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t r = next_rand(&seed);
        /* The wall clock jitters both ways, with occasional large steps back. */
        switch (r % 4) {
        case 0: wall += (int64_t)(r >> 8 & 0xff); break;
        case 1: wall -= (int64_t)(r >> 8 & 0x3f); break;
        case 2: break;
        default:
            if ((r >> 16) % 50 == 0)
                wall -= 100000;
            break;
        }
        if ((r >> 32) % 3 == 0) {
            /* A remote timestamp near ours, sometimes ahead, sometimes behind. */
            hlc remote = H(highest.l_us + (int64_t)((r >> 40) % 200) - 100, (uint32_t)((r >> 50) % 8));
            hlc_observe(&clock, remote, wall);
            EXPECT(hlc_compare(clock, remote) > 0);
            if (hlc_compare(remote, highest) > 0)
                highest = remote;
            if (hlc_compare(clock, highest) > 0)
                highest = clock;
        } else {
            hlc t = hlc_tick(&clock, wall);
            if (hlc_compare(t, highest) <= 0) {
                EXPECT(hlc_compare(t, highest) > 0);
                break;   /* one report is enough */
            }
            EXPECT(t.l_us >= wall);
            highest = t;
            ticks++;
        }
    }
    EXPECT(ticks > 10000);
}

/*
 * The counter is 32 bits. At its limit the clock must still move forward
 * (hlc.c's invariant: every tick is greater than everything seen before),
 * not wrap to a counter of 0 under the same l. A remote can hand us such a
 * counter: the wire accepts any non-negative "hc"/"hlc" counter.
 */
static void counter_limit_does_not_run_backwards(void)
{
    hlc clock = H(1000, UINT32_MAX);
    hlc before = clock;
    hlc t = hlc_tick(&clock, 1000);
    EXPECT(hlc_compare(t, before) > 0);

    hlc local = H(10, 0);
    hlc remote = H(1000, UINT32_MAX);
    hlc_observe(&local, remote, 10);
    EXPECT(hlc_compare(local, remote) > 0);
}

int main(void)
{
    compare_orders_by_l_then_c();
    tick_follows_the_wall_clock_when_it_advances();
    tick_is_strictly_increasing_when_the_clock_stands_still();
    tick_is_strictly_increasing_when_the_clock_goes_backwards();
    tick_returns_the_clock_it_leaves();
    observe_remote_ahead_puts_the_next_tick_above_it();
    observe_counter_rules();
    observe_never_moves_the_clock_backwards();
    ticks_exceed_everything_seen_before();
    counter_limit_does_not_run_backwards();
    return test_exit("hlc");
}
