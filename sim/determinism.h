/*
 * determinism: run one scenario and seed twice and compare the runs event by
 * event. Same binary, scenario and seed must give the same events; when they
 * do not, the report names the first event that differs and quotes it from
 * both runs' traces.
 */
#ifndef SIM_DETERMINISM_H
#define SIM_DETERMINISM_H

#include "sim/scenario.h"

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

bool determinism_check(const scenario *sc, uint64_t seed, determinism_report *out, diag *d);
void determinism_report_free(determinism_report *r);

#endif
