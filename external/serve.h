/*
 * serve: `syncsim node` -- the built-in engine as one replica speaking
 * syncsim-node/1 on a stream pair. Its SQLite store lives in the data
 * directory init names, so a killed process restarts on what it committed.
 *
 * This is the protocol's own conformance test: a scenario run through it
 * must give the same outcome, findings and trace hash as in process, which
 * holds as long as every observation, send and timer of the engine crosses
 * the boundary whole and in order.
 */
#ifndef EXTERNAL_SERVE_H
#define EXTERNAL_SERVE_H

#include "engine/profile.h"

#include <stdio.h>

/* Serve until shutdown or the end of input. Returns the exit status: 0 after shutdown, 1 when a
 * request is malformed (answered with an error terminator and explained on stderr) or output fails. */
int serve_node(const profile *p, FILE *in, FILE *out);

#endif
