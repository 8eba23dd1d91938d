/*
 * hlc: see hlc.h. Invariant: the clock never moves backwards, and every
 * hlc_tick result is strictly greater than every timestamp observed before.
 */
#include "engine/hlc.h"

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
        clock->c++;
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
    uint32_t c;
    if (l == clock->l_us && l == remote.l_us)
        c = (clock->c > remote.c ? clock->c : remote.c) + 1;
    else if (l == clock->l_us)
        c = clock->c + 1;
    else if (l == remote.l_us)
        c = remote.c + 1;
    else
        c = 0;
    clock->l_us = l;
    clock->c = c;
}
