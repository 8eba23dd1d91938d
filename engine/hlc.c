/*
 * hlc: see hlc.h. Invariant: the clock never moves backwards, and every
 * hlc_tick result is strictly greater than every timestamp observed before.
 * A counter at its maximum carries into the physical part (one microsecond
 * ahead, counter 0), so the order survives even a hostile remote counter.
 */
#include "engine/hlc.h"

/* (l, c) + 1 */
static hlc successor(int64_t l_us, uint32_t c)
{
    if (c == UINT32_MAX)
        return (hlc){ .l_us = l_us + 1, .c = 0 };
    return (hlc){ .l_us = l_us, .c = c + 1 };
}

int hlc_compare(hlc a, hlc b)
{
    if (a.l_us != b.l_us)
        return a.l_us < b.l_us ? -1 : 1;
    if (a.c != b.c)
        return a.c < b.c ? -1 : 1;
    return 0;
}

hlc hlc_tick(hlc *clock, int64_t now_us)
{
    if (now_us > clock->l_us) {
        clock->l_us = now_us;
        clock->c = 0;
    } else {
        *clock = successor(clock->l_us, clock->c);
    }
    return *clock;
}

void hlc_observe(hlc *clock, hlc remote, int64_t now_us)
{
    int64_t l = clock->l_us;
    if (remote.l_us > l)
        l = remote.l_us;
    if (now_us > l)
        l = now_us;
    if (l == clock->l_us && l == remote.l_us)
        *clock = successor(l, clock->c > remote.c ? clock->c : remote.c);
    else if (l == clock->l_us)
        *clock = successor(l, clock->c);
    else if (l == remote.l_us)
        *clock = successor(l, remote.c);
    else
        *clock = (hlc){ .l_us = l, .c = 0 };
}
