/*
 * reducer: projections recomputed from a record's event log after every
 * merge (the activity tracker's ActivityAttempt: status, duration, points).
 * A reducer is a pure function of the log in its order: replicas that hold
 * the same log in the same order hold the same projections, and a log in
 * the wrong order gives the wrong projections everywhere alike.
 *
 * Projected fields carry no write (their stamp's w is WRITE_NONE): no user
 * wrote them, so the checker judges the log, and the projections only
 * through replicas agreeing.
 */
#ifndef ENGINE_REDUCER_H
#define ENGINE_REDUCER_H

#include "base/arena.h"
#include "engine/record.h"

#include <stdbool.h>

/* Whether a reducer of this name exists. */
bool reducer_known(const char *name);
/* The reducers' names, comma-separated, for error messages. */
const char *reducer_names(void);
/* Recompute r's projections with the named reducer (which must exist). */
void reducer_apply(const char *name, record *r, arena *a);

#endif
