/*
 * report: the result of a run, as text for people and JSON for machines.
 */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include "sim/scenario.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

/* Human summary; the last line is "trace-hash: <16 hex digits>". */
void report_text(FILE *out, const scenario *sc, const run_result *r, const verdict *v, bool strict);
/* The whole result; free with cJSON_Delete. */
cJSON *report_json(const scenario *sc, const run_result *r, const verdict *v, bool strict);
cJSON *report_metrics_json(const run_result *r);

#endif
