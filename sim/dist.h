/*
 * dist: the distributions the world samples durations from (message latency,
 * and later workload inter-arrival times and offline spans). Every sample is
 * an integer number of microseconds clamped to [min_us, max_us].
 */
#ifndef SIM_DIST_H
#define SIM_DIST_H

#include "sim/pcg.h"

#include <stdint.h>

typedef enum dist_kind {
    DIST_CONSTANT,
    DIST_UNIFORM,
    DIST_EXPONENTIAL,
    DIST_LOGNORMAL,
} dist_kind;

typedef struct dist {
    dist_kind kind;
    int64_t value_us;    /* constant: the value */
    int64_t mean_us;     /* exponential: the mean before clamping */
    int64_t median_us;   /* lognormal: exp(mu) */
    double sigma;        /* lognormal: standard deviation of the log */
    int64_t min_us;      /* lower clamp (uniform: lower end), >= 0 */
    int64_t max_us;      /* upper clamp (uniform: upper end), >= min_us */
} dist;

/* A constant distribution. */
dist dist_constant(int64_t value_us);
int64_t dist_sample_us(const dist *d, pcg32 *rng);
/* A standard normal draw (Marsaglia's polar method; only det_log and sqrt). */
double dist_normal(pcg32 *rng);
const char *dist_kind_name(dist_kind kind);

#endif
