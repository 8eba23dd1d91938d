/*
 * scenario_write: a scenario with explicit steps as YAML (the shape
 * scenario_load reads). For shrink's output: a minimal scenario a person
 * can read, attach to a bug report and commit.
 */
#ifndef SIM_SCENARIO_WRITE_H
#define SIM_SCENARIO_WRITE_H

#include "base/buf.h"
#include "sim/scenario.h"

/*
 * header, when given, is written first as comment lines. profile_ref, when
 * given, is written as `profile: <profile_ref>` -- a name or a path the
 * caller made sure finds the scenario's profile file from where the YAML will
 * live; NULL writes every setting of the profile inline, so the file stands
 * alone.
 */
void scenario_write(const scenario *sc, const char *header, const char *profile_ref, buf *out);

#endif
