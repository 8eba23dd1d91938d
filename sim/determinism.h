/*
 * determinism: run one scenario and seed twice and compare the runs event by
 * event. Same binary, scenario and seed must give the same events; when they
 * do not, the report names the first event that differs and quotes it from
 * both runs' traces.
 */
#ifndef SIM_DETERMINISM_H
#define SIM_DETERMINISM_H

#include "sim/scenario.h"
#include "sim/world.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct determinism_report {
    bool same;
    uint64_t events;          /* events in the first run */
    uint64_t hash;            /* the first run's trace hash */
    uint64_t first_diff;      /* index of the first differing event, when !same */
    char *first_run_line;     /* that event, as each run's trace has it (xfree) */
    char *second_run_line;
} determinism_report;

/*
 * Runs sc with seed twice (and twice more with traces when they differ).
 * limits, when not NULL, lends every run its bounds: events_max and the
 * cancel flag (--timeout). False with d set when a run fails or a bound is hit.
 */
bool determinism_check(const scenario *sc, uint64_t seed, const run_options *limits, determinism_report *out,
                       diag *d);
void determinism_report_free(determinism_report *r);

#endif
