/*
 * dist: sampling. Doubles appear only between the draw and the final
 * rounding to integer microseconds; nothing orders events by a double.
 */
#include "sim/dist.h"
#include "sim/detmath.h"

#include <assert.h>

dist dist_constant(int64_t value_us)
{
    return (dist){ .kind = DIST_CONSTANT, .value_us = value_us, .min_us = value_us, .max_us = value_us };
}

const char *dist_kind_name(dist_kind kind)
{
    switch (kind) {
    case DIST_CONSTANT: return "constant";
    case DIST_UNIFORM: return "uniform";
    case DIST_EXPONENTIAL: return "exponential";
    case DIST_LOGNORMAL: return "lognormal";
    }
    return "?";
}

double dist_normal(pcg32 *rng)
{
    for (;;) {
        double u = 2.0 * pcg32_unit(rng) - 1.0;
        double v = 2.0 * pcg32_unit(rng) - 1.0;
        double s = u * u + v * v;
        if (s >= 1.0 || s == 0.0)
            continue;
        return u * det_sqrt(-2.0 * det_log(s) / s);
    }
}

static int64_t clamp_round(double x, int64_t min_us, int64_t max_us)
{
    if (!(x >= (double)min_us))   /* also catches NaN */
        return min_us;
    if (x >= (double)max_us)
        return max_us;
    return (int64_t)(x + 0.5);
}

int64_t dist_sample_us(const dist *d, pcg32 *rng)
{
    assert(d->min_us >= 0);
    assert(d->max_us >= d->min_us);
    switch (d->kind) {
    case DIST_CONSTANT:
        return d->value_us;
    case DIST_UNIFORM:
        return d->min_us + (int64_t)pcg32_bounded64(rng, (uint64_t)(d->max_us - d->min_us) + 1u);
    case DIST_EXPONENTIAL: {
        double u = pcg32_unit(rng);              /* [0, 1) so 1 - u is in (0, 1] */
        return clamp_round(-(double)d->mean_us * det_log(1.0 - u), d->min_us, d->max_us);
    }
    case DIST_LOGNORMAL: {
        double z = dist_normal(rng);
        double x = (double)d->median_us * det_exp(d->sigma * z);
        return clamp_round(x, d->min_us, d->max_us);
    }
    }
    assert(0 && "unknown distribution");
    return 0;
}
