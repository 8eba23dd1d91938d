/*
 * timeline: a run as one self-contained HTML page -- a space-time diagram
 * with a lane per replica, drawn in the browser from the run's view.
 *
 * The page holds everything it needs: the style, the script and the run's
 * data (a JSON document in a <script type="application/json"> element), and
 * loads nothing from the network, so it opens from a CI artifact or a mail
 * attachment as it is. The script and the style are render/timeline.js and
 * render/timeline.css, compiled into the binary at build time
 * (render/embed.py); see render/meson.build for why they are files.
 *
 * What the page shows: writes as dots (refused ones crossed), messages as
 * arrows from send to arrival (lost ones end in a cross, the network's
 * duplicates are dashed), offline, partition and crashed spans shaded, sync
 * rounds as thin bars, crashes, restarts and clock steps, conflicts, and
 * every finding's writes ringed (one finding's when it is picked); hovering shows a
 * message's body or an event's detail. It zooms (wheel, buttons) and pans
 * (drag), spaces instants evenly or by true time, and filters by replica and
 * kind, so a run of thousands of events stays readable.
 *
 * For tests and tools, once drawn the page's <body> has
 * data-timeline-state="drawn" (or "failed", with data-timeline-errors), and
 * its <svg id="timeline"> holds one <g class="lane" data-replica="NAME"> per
 * replica shown.
 */
#ifndef RENDER_TIMELINE_H
#define RENDER_TIMELINE_H

#include "render/run_view.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

/* Write the page to out. result: the run's report (sim/report.h report_json) for the outcome and
 * the findings, or NULL. False when writing failed (errno says why). */
bool timeline_write(FILE *out, const run_view *v, const cJSON *result);

#endif
