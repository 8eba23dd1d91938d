/*
 * grid: syncsim grid FILE [--db results.sqlite] [-j N] [--shard I/N] [--json F.json]
 *       syncsim grid FILE --replay CELL:SEED [--strict]
 *
 * Runs every cell of a grid (sim/grid.h) over the grid's seeds in worker
 * processes (pool.h), one row per cell and seed in the results database
 * (results.h), resumable as a sweep is, then prints one line per cell.
 * Runs go out seed by seed (every cell with the first seed, then with the
 * next), so an interrupted grid already covers every cell. --shard I/N
 * (or auto, cli/shard.h) takes the runs whose position in that order, each
 * seed's cells rotated by the seed, is I-1 modulo N, so shards 1/N..N/N
 * cover the grid exactly once with equal shares, whatever the number of
 * cells. --replay runs one cell's seed again and prints it as
 * `syncsim run` would.
 *
 * The grid's cells become scenario templates once, before the workers fork,
 * so a worker only looks a job's cell up. Rows are keyed like a sweep's
 * (scenario name@hash of the base and the cell's profile, the cell's params,
 * the seed, strict 0), so resuming a killed grid skips exactly the runs that
 * have a row, and cells shared with another grid are not run twice.
 *
 * Exit codes: 0 when every run of the grid (this shard) has a row -- a
 * violation is a measurement here, not a failure of the command; 1 when a
 * run crashed (a simulator bug); 2 bad input (the grid file, a run that could
 * not start, the database); 130 when interrupted. This file reads the wall
 * clock (timings); the simulation never does.
 */
#include "base/buf.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "cli/budget.h"
#include "cli/commands.h"
#include "cli/node.h"
#include "cli/output.h"
#include "cli/paths.h"
#include "cli/pool.h"
#include "cli/results.h"
#include "cli/shard.h"
#include "cli/sweep.h"
#include "sim/duration.h"
#include "sim/grid.h"
#include "sim/report.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cell_info {
    scenario *tmpl;   /* owned; borrows from the grid */
    char *key;        /* runs.scenario */
    char *params;     /* runs.params */
} cell_info;

/* What the rows of one cell add up to. */
typedef struct cell_tally {
    uint64_t seeds, passed, failed, crashed, bad;
    double writes, conflicts, silent_overwrite, lost_update;
} cell_tally;

typedef struct grid_ctx {
    const char *file;
    grid *g;
    cell_info *cells;             /* g->n_cells */
    results *db;
    int shard_index, shard_count; /* 1/1 without --shard */
    char shard_text[32];
    uint64_t ran_now;             /* runs completed by this invocation */
} grid_ctx;

/* The pool's record callback: one finished (cell, seed). */
static bool record_job(void *ctx, const pool_job *job, const cJSON *row)
{
    grid_ctx *c = ctx;
    const cell_info *cell = &c->cells[job->cell];
    result_row key = {
        .scenario = cell->key,
        .params = cell->params,
        .strict = false,
        .file = c->file,
        .profile = cell->tmpl->profile.name,
        .shard = c->shard_text,
    };
    c->ran_now++;
    return sweep_record(c->db, &key, row);
}

static double number_of(const cJSON *object, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static void tally_row(void *ctx, const result_row *row)
{
    cell_tally *t = ctx;
    t->seeds++;
    if (row->exit_code == 0)
        t->passed++;
    else if (strcmp(row->outcome, "crash") == 0)
        t->crashed++;
    else if (strcmp(row->outcome, "bad-input") == 0)
        t->bad++;
    else
        t->failed++;
    cJSON *metrics = cJSON_Parse(row->metrics);
    if (!metrics)
        return;
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(metrics, "classes");
    t->writes += number_of(metrics, "writes");
    t->conflicts += number_of(metrics, "conflicts");
    t->silent_overwrite += number_of(classes, "silent-overwrite");
    t->lost_update += number_of(classes, "lost-update");
    cJSON_Delete(metrics);
}

/* Per 1,000 writes, or "-" without writes. */
static void per_kilo_write(char *out, size_t cap, double count, double writes)
{
    if (writes > 0)
        snprintf(out, cap, "%.1f", 1000.0 * count / writes);
    else
        snprintf(out, cap, "-");
}

static int label_width(const grid *g, int axis)
{
    int width = (int)strlen(grid_axis_name(g->axes[axis].id));
    for (int k = 0; k < g->axes[axis].n_values; k++) {
        int len = (int)strlen(g->axes[axis].values[k].label);
        if (len > width)
            width = len;
    }
    return width;
}

static void print_table(const grid_ctx *c, const cell_tally *tallies)
{
    const grid *g = c->g;
    int profile_width = 7;
    for (int p = 0; p < g->n_profiles; p++)
        if ((int)strlen(g->profiles[p].name) > profile_width)
            profile_width = (int)strlen(g->profiles[p].name);
    printf("%4s  %-*s", "CELL", profile_width, "PROFILE");
    for (int i = 0; i < g->n_axes; i++) {
        char upper[64];
        snprintf(upper, sizeof upper, "%s", grid_axis_name(g->axes[i].id));
        for (char *q = upper; *q; q++)
            *q = (char)(*q >= 'a' && *q <= 'z' ? *q - 'a' + 'A' : *q);
        printf("  %-*s", label_width(g, i), upper);
    }
    printf("  %5s %6s %8s %10s %10s %10s\n", "SEEDS", "FAILED", "WRITES", "CONFL/1kW", "SILENT/1kW", "LOST/1kW");
    for (int64_t cell = 0; cell < g->n_cells; cell++) {
        int profile, index[GRID_AXIS_COUNT];
        grid_cell_coords(g, cell, &profile, index);
        const cell_tally *t = &tallies[cell];
        printf("%4lld  %-*s", (long long)cell, profile_width, g->profiles[profile].name);
        for (int i = 0; i < g->n_axes; i++)
            printf("  %-*s", label_width(g, i), g->axes[i].values[index[i]].label);
        char conflicts[32], silent[32], lost[32];
        per_kilo_write(conflicts, sizeof conflicts, t->conflicts, t->writes);
        per_kilo_write(silent, sizeof silent, t->silent_overwrite, t->writes);
        per_kilo_write(lost, sizeof lost, t->lost_update, t->writes);
        printf("  %5llu %6llu %8.0f %10s %10s %10s\n", (unsigned long long)t->seeds,
               (unsigned long long)(t->seeds - t->passed), t->writes, conflicts, silent, lost);
    }
}

static bool write_json(const grid_ctx *c, const cell_tally *tallies, const char *path)
{
    const grid *g = c->g;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "grid", g->name);
    cJSON_AddStringToObject(o, "file", c->file);
    cJSON_AddStringToObject(o, "scenario_file", g->scenario_path);
    char range[64];
    snprintf(range, sizeof range, "%llu..%llu", (unsigned long long)g->seeds_lo, (unsigned long long)g->seeds_hi);
    cJSON_AddStringToObject(o, "seeds", range);
    cJSON_AddStringToObject(o, "shard", c->shard_text);
    cJSON *cells = cJSON_AddArrayToObject(o, "cells");
    for (int64_t cell = 0; cell < g->n_cells; cell++) {
        const cell_tally *t = &tallies[cell];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "cell", (double)cell);
        cJSON *params = cJSON_Parse(c->cells[cell].params);
        cJSON_AddItemToObject(x, "params", params ? params : cJSON_CreateObject());
        cJSON_AddStringToObject(x, "scenario", c->cells[cell].key);
        cJSON_AddNumberToObject(x, "seeds", (double)t->seeds);
        cJSON_AddNumberToObject(x, "passed", (double)t->passed);
        cJSON_AddNumberToObject(x, "failed", (double)t->failed);
        cJSON_AddNumberToObject(x, "crashed", (double)t->crashed);
        cJSON_AddNumberToObject(x, "bad_input", (double)t->bad);
        cJSON_AddNumberToObject(x, "writes", t->writes);
        cJSON_AddNumberToObject(x, "conflicts", t->conflicts);
        cJSON_AddNumberToObject(x, "silent_overwrite", t->silent_overwrite);
        cJSON_AddNumberToObject(x, "lost_update", t->lost_update);
        cJSON_AddItemToArray(cells, x);
    }
    buf text;
    buf_init(&text);
    json_write_pretty(&text, o, 0);
    buf_putc(&text, '\n');
    cJSON_Delete(o);
    FILE *f = fopen(path, "w");
    bool ok = f && fwrite(text.data, 1, text.len, f) == text.len;
    ok = f && fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
    buf_free(&text);
    return ok;
}

/* One run of one cell, printed as `syncsim run` prints it. */
static int replay(const grid *g, int64_t cell, uint64_t seed, bool strict, const cli_args *a)
{
    int64_t timeout_us = a->timeout_us;
    diag d;
    diag_init(&d);
    scenario *tmpl = grid_cell_scenario(g, cell);
    if (!node_apply_options(tmpl, a, &d)) {
        fprintf(stderr, "%s\n", d.message);
        scenario_free(tmpl);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }
    char *params = grid_cell_params(g, cell);
    printf("grid %s cell %lld %s, seed %llu\n", g->name, (long long)cell, params, (unsigned long long)seed);
    xfree(params);
    run_options opt = { 0 };
    budget_arm(&opt, timeout_us);   /* drawing the workload is part of the run */
    scenario *sc = scenario_for_seed(tmpl, seed, &d);
    run_result r;
    int code;
    bool ran = sc && sim_run(sc, seed, &opt, &r, &d);
    budget_disarm();
    if (!ran) {
        fprintf(stderr, "%s\n", d.message ? d.message : "syncsim: the run could not start");
        code = EXIT_BAD_INPUT;
        if (sc)
            run_result_free(&r);
    } else {
        verdict v;
        verdict_judge(sc, &r, strict, &v);
        report_text(stdout, sc, &r, &v, strict);
        code = v.exit_code;
        verdict_free(&v);
        run_result_free(&r);
    }
    scenario_free(sc);
    scenario_free(tmpl);
    diag_free(&d);
    return code;
}

static int grid_main(const cli_command *cmd, const cli_args *a)
{
    const char *file = a->operands[0], *db_path = a->text[OPT_DB], *json = a->text[OPT_JSON];
    bool strict = a->given[OPT_STRICT], replaying = a->given[OPT_REPLAY];
    if (strict && !replaying)
        return cli_usage_error(cmd, "%s applies to --replay only: a grid records every run as the profile judges it",
                               "--strict");
    grid_ctx c = { .file = file, .shard_index = a->shard_index, .shard_count = a->shard_count };
    snprintf(c.shard_text, sizeof c.shard_text, "%d/%d", c.shard_index, c.shard_count);
    int workers = a->jobs;
    sweep_options run = { .timeout_us = a->timeout_us };
    if (json && !output_writable(json))
        return EXIT_BAD_INPUT;

    diag d;
    diag_init(&d);
    grid *g = grid_load(file, &d);
    if (!g) {
        fprintf(stderr, "%s\n", d.message);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }
    diag_free(&d);
    if (replaying) {
        int code;
        if (a->replay_cell >= g->n_cells) {
            fprintf(stderr, "syncsim: %s has cells 0..%lld; there is no cell %lld\n", file,
                    (long long)g->n_cells - 1, (long long)a->replay_cell);
            code = EXIT_BAD_INPUT;
        } else {
            code = replay(g, a->replay_cell, a->replay_seed, strict, a);
        }
        grid_free(g);
        return code;
    }
    c.g = g;
    c.cells = xcalloc((size_t)g->n_cells, sizeof *c.cells);
    int code = EXIT_PASS;
    for (int64_t cell = 0; cell < g->n_cells; cell++) {
        c.cells[cell].tmpl = grid_cell_scenario(g, cell);
        diag_init(&d);
        if (code == EXIT_PASS && !node_apply_options(c.cells[cell].tmpl, a, &d)) {
            fprintf(stderr, "%s\n", d.message);
            code = EXIT_BAD_INPUT;
        }
        diag_free(&d);
        c.cells[cell].key = sweep_scenario_key(c.cells[cell].tmpl);
        c.cells[cell].params = grid_cell_params(g, cell);
    }
    char *error = NULL;
    pool_job *todo = NULL;
    uint64_t n_todo = 0, in_shard = 0;
    if (code != EXIT_PASS)
        goto out;
    c.db = results_open(db_path, &error);
    if (!c.db) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
        code = EXIT_BAD_INPUT;
        goto out;
    }
    {
        char **scenarios = xcalloc((size_t)g->n_cells, sizeof *scenarios);
        char **params = xcalloc((size_t)g->n_cells, sizeof *params);
        for (int64_t cell = 0; cell < g->n_cells; cell++) {
            scenarios[cell] = c.cells[cell].key;
            params[cell] = c.cells[cell].params;
        }
        char *axes = grid_axes_json(g);
        result_grid rg = { .name = g->name, .file = file, .scenario_file = g->scenario_path,
                           .description = g->description ? g->description : "", .seeds_lo = g->seeds_lo,
                           .seeds_hi = g->seeds_hi, .axes = axes, .n_cells = g->n_cells,
                           .cell_scenario = scenarios, .cell_params = params,
                           .conflicts_per_write = g->targets.conflicts_per_write,
                           .lost_per_write = g->targets.lost_per_write, .targets_source = g->targets.source };
        bool ok = results_put_grid(c.db, &rg, &error);
        xfree(axes);
        xfree(scenarios);
        xfree(params);
        if (!ok) {
            fprintf(stderr, "syncsim: %s\n", error);
            xfree(error);
            code = EXIT_BAD_INPUT;
            goto out;
        }
    }

    /*
     * The runs of this shard that have no row yet, seed by seed (every cell
     * with the first seed, then every cell with the next), so an interrupted
     * grid has covered every cell about equally. A shard takes the runs whose
     * position (shard_grid_position: seed by seed, each seed's cells rotated)
     * is I-1 modulo N: every shard gets an equal share of the runs, to within
     * one, even when there are more shards than cells.
     */
    {
        uint64_t n_seeds = g->seeds_hi - g->seeds_lo + 1;
        u64map *done = xcalloc((size_t)g->n_cells, sizeof *done);
        for (int64_t cell = 0; cell < g->n_cells && code == EXIT_PASS; cell++) {
            u64map_init(&done[cell]);
            if (!results_done(c.db, c.cells[cell].key, c.cells[cell].params, false, &done[cell], &error)) {
                fprintf(stderr, "syncsim: %s\n", error);
                xfree(error);
                code = EXIT_BAD_INPUT;
            }
        }
        size_t cap = 0;
        for (uint64_t k = 0; code == EXIT_PASS && k < n_seeds * (uint64_t)g->n_cells; k++) {
            uint64_t seed_index = k / (uint64_t)g->n_cells;
            uint32_t cell = (uint32_t)(k % (uint64_t)g->n_cells);
            if (shard_grid_position(seed_index, cell, (uint64_t)g->n_cells) % (uint64_t)c.shard_count !=
                (uint64_t)(c.shard_index - 1))
                continue;
            in_shard++;
            uint64_t seed = g->seeds_lo + seed_index;
            if (u64map_get(&done[cell], seed) >= 0)
                continue;
            xgrow(&todo, &cap, (size_t)n_todo + 1, sizeof *todo);
            todo[n_todo++] = (pool_job){ .cell = cell, .seed = seed };
        }
        for (int64_t cell = 0; cell < g->n_cells; cell++)
            u64map_free(&done[cell]);
        xfree(done);
        if (code != EXIT_PASS)
            goto out;
    }

    fprintf(stderr, "grid: %s, %lld cells x seeds %llu..%llu, shard %s%s%s%s: %llu runs, %llu already in %s, %d worker%s\n",
            file, (long long)g->n_cells, (unsigned long long)g->seeds_lo, (unsigned long long)g->seeds_hi,
            c.shard_text, a->shard_source[0] ? " (" : "", a->shard_source, a->shard_source[0] ? ")" : "",
            (unsigned long long)in_shard, (unsigned long long)(in_shard - n_todo),
            db_path ? db_path : "memory", workers, workers == 1 ? "" : "s");
    pool_catch_signals();
    const scenario **templates = xcalloc((size_t)g->n_cells, sizeof *templates);
    for (int64_t cell = 0; cell < g->n_cells; cell++)
        templates[cell] = c.cells[cell].tmpl;
    pool p = { .cells = templates, .n_cells = (int)g->n_cells, .workers = workers, .what = "grid", .unit = "runs",
               .run = sweep_pool_run, .run_ctx = &run, .worker_exit = sweep_pool_exit, .record = record_job,
               .ctx = &c };
    double start = pool_now_ms();
    if (!pool_run(&p, todo, n_todo))
        code = EXIT_BAD_INPUT;
    double elapsed_s = (pool_now_ms() - start) / 1000.0;
    xfree(templates);

    cell_tally *tallies = xcalloc((size_t)g->n_cells, sizeof *tallies);
    cell_tally total = { 0 };
    for (int64_t cell = 0; cell < g->n_cells; cell++) {
        if (!results_each(c.db, c.cells[cell].key, c.cells[cell].params, false, g->seeds_lo, g->seeds_hi, tally_row,
                          &tallies[cell], &error)) {
            fprintf(stderr, "syncsim: %s\n", error);
            xfree(error);
            code = EXIT_BAD_INPUT;
        }
        total.seeds += tallies[cell].seeds;
        total.passed += tallies[cell].passed;
        total.failed += tallies[cell].failed;
        total.crashed += tallies[cell].crashed;
        total.bad += tallies[cell].bad;
    }
    printf("grid   %s (%s), base %s\n", g->name, file, g->scenario_path);
    char took[DURATION_TEXT_MAX];
    duration_human((int64_t)(elapsed_s * 1e6), took, sizeof took);
    printf("runs   %lld cells x seeds %llu..%llu, shard %s: %llu recorded, %llu run now in %s (%.1f runs/s, %d "
           "worker%s)\n",
           (long long)g->n_cells, (unsigned long long)g->seeds_lo, (unsigned long long)g->seeds_hi, c.shard_text,
           (unsigned long long)total.seeds, (unsigned long long)c.ran_now, took,
           elapsed_s > 0 ? (double)c.ran_now / elapsed_s : 0.0, workers, workers == 1 ? "" : "s");
    print_table(&c, tallies);
    printf("result %llu passed, %llu with violations (measured, see the report), %llu crashed, %llu bad input\n",
           (unsigned long long)total.passed, (unsigned long long)total.failed, (unsigned long long)total.crashed,
           (unsigned long long)total.bad);
    if (total.failed + total.crashed)
        printf("replay one run: syncsim grid %s --replay CELL:SEED\n", file);
    if (db_path) {
        /* An installed syncsim names its installed copy of the script; a build tree, the source tree's. */
        const char *data = paths_data_dir();
        printf("report: /usr/bin/python3 %s%sreports/conflict_report.py %s -o report/ --grid %s\n", data ? data : "",
               data ? "/" : "", db_path, g->name);
    }
    if (pool_interrupted) {
        printf("interrupted: %llu runs of this shard have no result yet; run the same command to resume\n",
               (unsigned long long)(n_todo > c.ran_now ? n_todo - c.ran_now : 0));
        code = 130;
    } else if (code == EXIT_PASS && total.bad) {
        code = EXIT_BAD_INPUT;
    } else if (code == EXIT_PASS && total.crashed) {
        code = EXIT_VIOLATION;
    }
    if (json && !write_json(&c, tallies, json))
        code = EXIT_BAD_INPUT;
    xfree(tallies);
out:
    xfree(todo);
    results_close(c.db);
    for (int64_t cell = 0; cell < g->n_cells; cell++) {
        scenario_free(c.cells[cell].tmpl);
        xfree(c.cells[cell].key);
        xfree(c.cells[cell].params);
    }
    xfree(c.cells);
    grid_free(g);
    return code;
}

static const cli_use GRID_OPTIONS[] = {
    { OPT_DB,
      "record one row per cell and seed in this SQLite file (default: in memory); run again with the same --db, a "
      "killed grid resumes",
      false },
    { OPT_JOBS, "run in N worker processes (default: the number of cores)", false },
    { OPT_SHARD,
      "this machine's share of the cell x seed runs, equal to within one run: every shard gets work whenever "
      "there are N runs, however few cells. auto reads I and N from the CI system or scheduler, as sweep does",
      false },
    { OPT_JSON, "write one entry per cell (seeds, failures, writes, conflicts, silent overwrites, lost updates)",
      false },
    { OPT_REPLAY, "run cell CELL with seed SEED again and print it as run does, trace hash included", false },
    { OPT_STRICT, "with --replay: judge the replayed run under --strict", false },
    { OPT_TIMEOUT, "a wall-clock budget for each run; a run past it is recorded as bad input. Default: none", false },
    { OPT_NODE, NODE_HELP, false },
    { OPT_NODE_TIMEOUT, NODE_TIMEOUT_HELP, false },
    { OPT_FRESH_NODES, FRESH_NODES_HELP, false },
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_grid = {
    .name = "grid",
    .operands = "FILE",
    .operand_noun = "grid file",
    .operands_min = 1,
    .operands_max = 1,
    .summary = "run every cell of a parameter grid (profiles x workload values) over its seeds",
    .description =
        "Runs every cell of the grid FILE -- its base scenario under each profile and each combination of the "
        "axes' values -- over the grid's seeds, in worker processes, one row per cell and seed in the results "
        "database; resumable and shardable as sweep is. It ends with one line per cell; "
        "reports/conflict_report.py turns the database into tables and plots.\n"
        "Violations are what a grid measures: exit 0 once every run has a row, 1 when a run crashed, 2 bad input, "
        "130 interrupted.",
    .options = GRID_OPTIONS,
    .main = grid_main,
};
