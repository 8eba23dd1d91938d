/*
 * clock: integer clock arithmetic. See clock.h for the model.
 */
#include "sim/clock.h"

#include <assert.h>

#define BILLION INT64_C(1000000000)

/* a * b / BILLION without overflow for |a| < 2^62, |b| <= BILLION, rounding toward zero. */
static int64_t mul_div_billion(int64_t a, int64_t b)
{
    int64_t q = a / BILLION;
    int64_t r = a % BILLION;
    return q * b + (r * b) / BILLION;
}

static int64_t drift_us(const sim_clock *c, int64_t true_us)
{
    return mul_div_billion(true_us, c->drift_ppb);
}

int64_t clock_local_now(const sim_clock *c, int64_t true_us)
{
    return CLOCK_EPOCH_US + true_us + clock_skew_us(c, true_us);
}

int64_t clock_skew_us(const sim_clock *c, int64_t true_us)
{
    return c->offset_us + drift_us(c, true_us) + c->stepped_us;
}

int64_t clock_mono_us(const sim_clock *c, int64_t true_us)
{
    return true_us + drift_us(c, true_us);
}

int64_t clock_true_delay(const sim_clock *c, int64_t local_delay_us)
{
    assert(local_delay_us >= 0);
    assert(c->drift_ppb > -BILLION);
    /* A clock running fast (drift > 0) reaches the delay sooner in true time. */
    int64_t rate = BILLION + c->drift_ppb;
    int64_t q = local_delay_us / rate;
    int64_t r = local_delay_us % rate;
    int64_t true_delay = q * BILLION + (r * BILLION) / rate;
    return true_delay > 0 || local_delay_us == 0 ? true_delay : 1;
}

void clock_step(sim_clock *c, int64_t by_us)
{
    c->stepped_us += by_us;
}
