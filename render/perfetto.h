/*
 * perfetto: a run as Chrome's trace-event JSON, which Perfetto
 * (ui.perfetto.dev, offline too) and chrome://tracing open.
 *
 * A process per replica (pid = node index + 1, named after it), with a
 * thread per kind: "writes" (the user's writes and refusals as instants),
 * "sync" (sync rounds as slices; timers, retries and conflicts as instants),
 * "offline", "partition" and "crashes" (their spans as slices; crashes and
 * restarts as instants), "clock" (clock steps) and "messages" (a short slice
 * at each send and each arrival, joined by a flow event: "s" at the send, "f"
 * with binding point "e" at the arrival, one flow id per message copy). A
 * message that never arrived has its send slice, named for why, and no flow.
 * Slices on one thread always nest, as the format requires.
 * Timestamps are the simulation's true time in microseconds, the format's
 * own unit.
 */
#ifndef RENDER_PERFETTO_H
#define RENDER_PERFETTO_H

#include "render/run_view.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

/* The trace-event document ({"traceEvents": [...], ...}); free with cJSON_Delete. result: the
 * run's report (sim/report.h report_json), or NULL when the run had none. */
cJSON *perfetto_trace(const run_view *v, const cJSON *result);
/* The same document, compact, to out. False when writing failed (errno says why). */
bool perfetto_write(FILE *out, const run_view *v, const cJSON *result);

#endif
