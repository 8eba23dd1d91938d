/*
 * pcg: O'Neill's PCG32 (XSH-RR output, 64-bit LCG state, selectable stream),
 * and the derivation of independent named streams from one root seed.
 *
 * Every random draw in a run comes from a stream made by pcg_stream(root,
 * name) with a stable name ("net/phone", "workload/tablet"), so adding a
 * device or a fault kind never shifts another stream's draws. That property
 * is what makes shrinking work.
 */
#ifndef SIM_PCG_H
#define SIM_PCG_H

#include <stdint.h>

typedef struct pcg32 {
    uint64_t state;   /* LCG state */
    uint64_t inc;     /* stream: always odd */
} pcg32;

/* pcg32_srandom_r of the reference implementation. */
void pcg32_seed(pcg32 *rng, uint64_t initstate, uint64_t initseq);
uint32_t pcg32_next(pcg32 *rng);
/* Uniform in [0, bound), bound > 0, without modulo bias. */
uint32_t pcg32_bounded(pcg32 *rng, uint32_t bound);
/* Uniform in [0, bound), bound > 0, from two draws when bound > 2^32. */
uint64_t pcg32_bounded64(pcg32 *rng, uint64_t bound);
/* Uniform double in [0, 1) with 53 random bits. */
double pcg32_unit(pcg32 *rng);
/* True with probability p (p <= 0 never draws true, p >= 1 always does). */
int pcg32_chance(pcg32 *rng, double p);

/* A stream derived from the root seed and a stable name. */
pcg32 pcg_stream(uint64_t root_seed, const char *name);

#endif
