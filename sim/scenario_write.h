/*
 * scenario_write: a scenario with explicit steps as YAML (the shape
 * scenario_load reads), with its profile inline. For shrink's output: a
 * minimal scenario a person can read, attach to a bug report and commit.
 */
#ifndef SIM_SCENARIO_WRITE_H
#define SIM_SCENARIO_WRITE_H

#include "base/buf.h"
#include "sim/scenario.h"

/* header, when given, is written first as comment lines. */
void scenario_write(const scenario *sc, const char *header, buf *out);

#endif
