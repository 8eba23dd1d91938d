/*
 * hlc: hybrid logical clocks (Kulkarni et al., 2014). A timestamp is the
 * largest wall-clock reading seen (l) and a counter (c) that orders events
 * sharing l. A node that has seen timestamp t stamps its next event above t,
 * whatever its own wall clock says, so causally later writes always compare
 * greater -- the property last-write-wins by device clock lacks.
 */
#ifndef ENGINE_HLC_H
#define ENGINE_HLC_H

#include <stdint.h>

typedef struct hlc {
    int64_t l_us;   /* largest physical time seen, unix microseconds */
    uint32_t c;     /* logical counter within l_us */
} hlc;

int hlc_compare(hlc a, hlc b);
/* A local event (a write) at wall time now_us: advances and returns the clock. */
hlc hlc_tick(hlc *clock, int64_t now_us);
/* A received timestamp: the clock moves past it. */
void hlc_observe(hlc *clock, hlc remote, int64_t now_us);

#endif
