/*
 * pcg: PCG32 XSH-RR. Written from O'Neill's paper and the published
 * algorithm; tests/test-pcg.c checks it against the reference demo outputs.
 */
#include "sim/pcg.h"
#include "base/hash.h"

#define PCG_MULTIPLIER UINT64_C(6364136223846793005)

uint32_t pcg32_next(pcg32 *rng)
{
    uint64_t old = rng->state;
    rng->state = old * PCG_MULTIPLIER + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

void pcg32_seed(pcg32 *rng, uint64_t initstate, uint64_t initseq)
{
    rng->state = 0u;
    rng->inc = (initseq << 1u) | 1u;
    pcg32_next(rng);
    rng->state += initstate;
    pcg32_next(rng);
}

uint32_t pcg32_bounded(pcg32 *rng, uint32_t bound)
{
    /* Reject the low (2^32 mod bound) values so every residue is equally likely. */
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t r = pcg32_next(rng);
        if (r >= threshold)
            return r % bound;
    }
}

uint64_t pcg32_bounded64(pcg32 *rng, uint64_t bound)
{
    if (bound <= UINT32_MAX)
        return pcg32_bounded(rng, (uint32_t)bound);
    uint64_t threshold = (uint64_t)(-bound) % bound;
    for (;;) {
        uint64_t r = ((uint64_t)pcg32_next(rng) << 32) | pcg32_next(rng);
        if (r >= threshold)
            return r % bound;
    }
}

double pcg32_unit(pcg32 *rng)
{
    uint64_t hi = pcg32_next(rng) >> 5;   /* 27 bits */
    uint64_t lo = pcg32_next(rng) >> 6;   /* 26 bits */
    return (double)((hi << 26) | lo) * (1.0 / 9007199254740992.0);
}

int pcg32_chance(pcg32 *rng, double p)
{
    if (p <= 0.0)
        return 0;
    if (p >= 1.0)
        return 1;
    return pcg32_unit(rng) < p;
}

/* SplitMix64's finaliser: a bijection that spreads nearby inputs apart. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

pcg32 pcg_stream(uint64_t root_seed, const char *name)
{
    uint64_t name_hash = hash64_str(HASH64_INIT, name);
    pcg32 rng;
    pcg32_seed(&rng, mix64(root_seed ^ name_hash), mix64(name_hash + UINT64_C(0x9e3779b97f4a7c15)));
    return rng;
}
