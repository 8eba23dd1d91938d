/*
 * run: one scenario, one seed, judged and printed (sim/report.h); the last
 * line is the trace hash. --check-determinism runs it twice instead and
 * compares the runs event by event. --timeline and --perfetto draw the run
 * from its trace (render/): the trace goes to --trace's file, or to a
 * temporary file when only the pictures were asked for, and is read back.
 */
#include "base/xalloc.h"
#include "cli/budget.h"
#include "cli/commands.h"
#include "cli/node.h"
#include "cli/output.h"
#include "render/perfetto.h"
#include "render/run_view.h"
#include "render/timeline.h"
#include "sim/determinism.h"
#include "sim/profile_load.h"
#include "sim/report.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Two runs compared event by event; exit 1 when they differ. */
static int check_determinism(const scenario *sc, uint64_t seed, const run_options *limits, diag *d)
{
    determinism_report det;
    int code = EXIT_PASS;
    if (!determinism_check(sc, seed, limits, &det, d)) {
        fprintf(stderr, "%s\n", d->message);
        code = EXIT_BAD_INPUT;
    } else if (det.same) {
        char hex[17];
        trace_hash_hex(det.hash, hex);
        printf("deterministic: two runs of seed %llu agree on all %llu events\ntrace-hash: %s\n",
               (unsigned long long)seed, (unsigned long long)det.events, hex);
    } else {
        printf("NOT deterministic: seed %llu, event %llu differs between two runs\n  first run:  %s\n"
               "  second run: %s\n",
               (unsigned long long)seed, (unsigned long long)det.first_diff,
               det.first_run_line ? det.first_run_line : "(no such event)",
               det.second_run_line ? det.second_run_line : "(no such event)");
        code = EXIT_VIOLATION;
    }
    determinism_report_free(&det);
    return code;
}

/*
 * The pictures of a run, from its trace (f, read from its start). result: the
 * run's report, or NULL when the run ended without one (an error). False,
 * having said why on stderr, when the trace cannot be read or a file written.
 */
static bool draw_run(const scenario *sc, FILE *f, const cJSON *result, const char *timeline_path,
                     const char *perfetto_path)
{
    int n_lanes = sc->n_devices + 1;
    const char **lanes = xcalloc((size_t)n_lanes, sizeof *lanes);
    bool *starts_offline = xcalloc((size_t)n_lanes, sizeof *starts_offline);
    for (int node = 0; node < n_lanes; node++) {
        lanes[node] = scenario_node_name(sc, node);
        starts_offline[node] = node > 0 && sc->devices[node - 1].starts_offline;
    }
    run_view v;
    char *error = NULL;
    bool have_view = false, ok = fflush(f) == 0 && fseek(f, 0, SEEK_SET) == 0;
    if (!ok)
        fprintf(stderr, "syncsim: cannot read the trace back: %s\n", strerror(errno));
    else if (!(ok = have_view = run_view_read(&v, f, lanes, starts_offline, n_lanes, &error)))
        fprintf(stderr, "syncsim: cannot draw the run: %s\n", error);
    if (ok && v.truncated)
        fprintf(stderr, "syncsim: the pictures show the first %d events of the run only (RUN_VIEW_EVENTS_MAX)\n",
                RUN_VIEW_EVENTS_MAX);
    const char *paths[2] = { timeline_path, perfetto_path };
    for (int i = 0; ok && i < 2; i++) {
        if (!paths[i])
            continue;
        FILE *out = fopen(paths[i], "w");
        if (!out) {
            fprintf(stderr, "syncsim: cannot write %s: %s\n", paths[i], strerror(errno));
            ok = false;
            break;
        }
        bool written = i == 0 ? timeline_write(out, &v, result) : perfetto_write(out, &v, result);
        if (!written)
            fprintf(stderr, "syncsim: cannot write %s: %s\n", paths[i], strerror(errno));
        ok = output_close(out, paths[i]) && written;
    }
    if (have_view)
        run_view_free(&v);
    xfree(error);
    xfree(lanes);
    xfree(starts_offline);
    return ok;
}

static int run_main(const cli_command *cmd, const cli_args *a)
{
    const char *file = a->operands[0];
    const char *trace_path = a->text[OPT_TRACE], *json_path = a->text[OPT_JSON];
    const char *timeline_path = a->text[OPT_TIMELINE], *perfetto_path = a->text[OPT_PERFETTO];
    bool draw = timeline_path || perfetto_path;
    if (draw && a->given[OPT_CHECK_DETERMINISM])
        return cli_usage_error(cmd, "%s draws one run; --check-determinism makes two and compares them",
                               timeline_path ? "--timeline" : "--perfetto");
    bool strict = a->given[OPT_STRICT];
    int code = EXIT_BAD_INPUT;
    scenario *tmpl = NULL, *sc = NULL;
    FILE *trace_out = NULL;
    run_options opt = { .store_dir = a->text[OPT_STORE_DIR] };
    diag d;
    diag_init(&d);

    /* Output files are checked before the run, which may be long. */
    const char *outputs[] = { json_path, trace_path, timeline_path, perfetto_path };
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++)
        if (outputs[i] && !output_writable(outputs[i]))
            goto out;
    if (!(tmpl = scenario_load(file, &d)) || !implementation_apply(tmpl, a, &d)) {
        fprintf(stderr, "%s\n", d.message);
        goto out;
    }
    uint64_t seed = a->given[OPT_SEED] ? a->seed : tmpl->seed;
    /* The budget covers drawing a workload's steps too: that is part of the run. */
    budget_arm(&opt, a->timeout_us);
    if (!(sc = scenario_for_seed(tmpl, seed, &d))) {
        fprintf(stderr, "%s\n", d.message);
        goto out;
    }
    if (a->given[OPT_CHECK_DETERMINISM]) {
        code = check_determinism(sc, seed, &opt, &d);
        goto out;
    }
    /* The pictures read the trace back: a file opened for both, the user's or a temporary one. */
    if (trace_path && !(trace_out = fopen(trace_path, draw ? "w+" : "w"))) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", trace_path, strerror(errno));
        goto out;
    }
    if (!trace_path && draw && !(trace_out = tmpfile())) {
        fprintf(stderr, "syncsim: cannot make a temporary file for the trace: %s\n", strerror(errno));
        goto out;
    }
    opt.trace_out = trace_out;
    if (a->given[OPT_PROGRESS]) {
        opt.progress_out = stderr;
        opt.progress_every_us = a->progress_every_us;
    }
    run_result r;
    if (!sim_run(sc, seed, &opt, &r, &d)) {
        fprintf(stderr, "%s\n", d.message);
        /* What ran until the error is worth seeing too. */
        if (draw)
            draw_run(sc, trace_out, NULL, timeline_path, perfetto_path);
    } else {
        verdict v;
        verdict_judge(sc, &r, strict, &v);
        report_text(stdout, sc, &r, &v, strict);
        code = v.exit_code;
        cJSON *j = json_path || draw ? report_json(sc, &r, &v, strict) : NULL;
        if (json_path && !output_write_json(json_path, j))
            code = EXIT_BAD_INPUT;
        if (draw && !draw_run(sc, trace_out, j, timeline_path, perfetto_path))
            code = EXIT_BAD_INPUT;
        cJSON_Delete(j);
        verdict_free(&v);
    }
    run_result_free(&r);
out:
    budget_disarm();
    if (trace_out && !output_close(trace_out, trace_path ? trace_path : "the temporary trace"))
        code = EXIT_BAD_INPUT;
    scenario_free(sc);
    scenario_free(tmpl);
    diag_free(&d);
    return code;
}

static const cli_use RUN_OPTIONS[] = {
    { OPT_SEED, "the root seed (default: the scenario's seed:, else 1)", false },
    { OPT_TRACE, "write every simulated event as one JSON line to F.jsonl", false },
    { OPT_TIMELINE,
      "draw the run as one self-contained HTML page: a lane per replica, writes, messages (lost and duplicated "
      "ones marked), offline, partition and crashed spans, findings; zoom, pan, filter, a message's body on hover",
      false },
    { OPT_PERFETTO,
      "write the run as Chrome trace-event JSON for Perfetto or chrome://tracing: a process per replica, messages "
      "as flows, spans and sync rounds as slices, writes and crashes as instants",
      false },
    { OPT_JSON, "write the result (outcome, findings with witnesses, metrics) as JSON to F.json", false },
    { OPT_STORE_DIR, "keep each replica's SQLite store as DIR/<name>.sqlite", false },
    { OPT_PROFILE,
      "run the steps under another profile, a name (looked up as a scenario's profile: is) or a file; with --strict: "
      "does that design keep every invariant here?",
      false },
    { OPT_NODE, NODE_HELP, false },
    { OPT_NODE_TIMEOUT, NODE_TIMEOUT_HELP, false },
    { OPT_STRICT,
      "ignore the scenario's expect: and the profile's accepts:; fail on every class but superseded and "
      "overwritten-concurrent",
      false },
    { OPT_CHECK_DETERMINISM,
      "run twice and compare event by event: name the first event that differs (exit 1) or print the common hash",
      false },
    { OPT_TIMEOUT,
      "a wall-clock budget for the run (for both runs with --check-determinism); past it the run stops with a bound "
      "error (exit 2). Default: none",
      false },
    { OPT_PROGRESS,
      "print 'progress T_US EVENTS WRITES' (the counts so far) to stderr each time simulated time passes a multiple of "
      "DURATION, so that a benchmark can time each simulated day from outside (the simulator reads no clock for it)",
      false },
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_run = {
    .name = "run",
    .operands = "FILE",
    .operand_noun = "scenario file",
    .operands_min = 1,
    .operands_max = 1,
    .summary = "run one scenario and check every invariant",
    .description =
        "Runs the scenario FILE with one root seed: the steps and the random workload, then the final heal, then "
        "until every device has synced or the scenario's quiesce_within has passed. It checks every write (lost, "
        "undelivered, resurrected, silently overwritten...) and the final states, and prints the findings with a "
        "witness each. The last line is the trace hash: the same binary, scenario and seed give the same hash on "
        "every run and machine.\n"
        "Exit codes: 0 expectations met; 1 a violation or an unmet expectation; 2 bad input or usage, a bound "
        "exceeded, or a scenario the implementation under test does not support; 3 no quiescence (liveness); 4 an "
        "external node failed (exited, broke the protocol or did not answer in time).",
    .options = RUN_OPTIONS,
    .main = run_main,
};
