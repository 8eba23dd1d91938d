/*
 * shrink: from a failing seeded run to the smallest explicit scenario that
 * still fails with the same violation class -- fewer devices, steps and
 * fields, smaller clock skews, a shorter timeline, and, where the failure
 * allows, a network without randomness, so the result no longer depends on
 * a seed.
 *
 * A candidate fails when a --strict verdict of its run lists the target
 * class. Passes (device removal, delta debugging over steps, field removal,
 * clock reduction, time compression, rounding) repeat until none improves,
 * or a bound on runs is reached.
 */
#ifndef SIM_SHRINK_H
#define SIM_SHRINK_H

#include "sim/classes.h"
#include "sim/scenario.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct shrink_options {
    uint64_t seed;
    int target;                  /* a vclass, or -1: the most telling class the seed fails with */
    int runs_max;                /* bound on candidate runs; 0 = 5000 */
    /* Called on each improvement, with a one-line note. */
    void (*note)(void *ctx, const char *line);
    void *ctx;
} shrink_options;

typedef struct shrink_result {
    scenario *minimal;           /* owns its arena; borrows from minimal_base and the template */
    scenario *minimal_base;      /* the seed's instance it was shrunk from */
    vclass target;
    vclass_set failing;          /* every class the minimal scenario fails with under --strict */
    int runs;
    bool seedless;               /* the network is constant and fault-free: any seed gives the same run */
    bool hit_bound;              /* stopped at runs_max */
    int devices_before, devices_after;
    int steps_before, steps_after;
    int fields_removed;
    int64_t span_before_us, span_after_us;   /* time of the last step */
    char *summary;               /* what was removed, for people (xfree) */
} shrink_result;

/*
 * Returns false with d set when the scenario cannot be loaded or run, or
 * when the seed does not fail (then d says so and the classes it found).
 */
bool shrink_scenario(const scenario *tmpl, const shrink_options *opt, shrink_result *out, diag *d);
void shrink_result_free(shrink_result *r);

#endif
