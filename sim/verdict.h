/*
 * verdict: whether a run passed. The checker reports findings; the verdict
 * weighs them against what the profile accepts by design and what the
 * scenario's expect: block says it exists to show, and checks the expected
 * final states. --strict ignores both and fails on every class but
 * superseded and overwritten-concurrent.
 *
 * Exit codes (docs/architecture.md): 0 expectations met; 1 a safety violation or an
 * unmet expectation; 3 liveness (no quiescence); 4 an external node failed
 * (exited, broke the protocol, timed out), which ends a run unchecked. 2 (bad
 * input) is decided before a run starts, or when the scenario needs an
 * operation the implementation under test does not support.
 */
#ifndef SIM_VERDICT_H
#define SIM_VERDICT_H

#include "sim/classes.h"
#include "sim/scenario.h"
#include "sim/world.h"

#include <stdbool.h>

#define EXIT_PASS 0
#define EXIT_VIOLATION 1
#define EXIT_BAD_INPUT 2
#define EXIT_LIVENESS 3
#define EXIT_NODE_FAILED 4

typedef struct verdict {
    int exit_code;
    const char *outcome;     /* "pass", "violation", "unmet", "no-quiescence", "node-failed", "not-applicable" */
    vclass_set failing;      /* classes found that fail the run */
    vclass_set tolerated;    /* classes found that the profile or scenario accepts */
    int n_unmet;
    char **unmet;            /* unmet expectations, one sentence each */
} verdict;

void verdict_judge(const scenario *sc, const run_result *r, bool strict, verdict *v);
void verdict_free(verdict *v);
/* Whether findings of this class fail the run. */
bool verdict_class_fails(const scenario *sc, bool strict, vclass c);

#endif
