/*
 * results: the results database sweeps (and grids) write, one row per run.
 *
 *   runs(scenario, params, seed, strict,       -- the key
 *        file, profile, outcome, exit_code, failing, tolerated,
 *        trace_hash, wall_ms, metrics, finding, shard, finished_at)
 *
 * scenario is the scenario's name and a hash of its file and profile, so an
 * edited scenario is a new sweep; params is the JSON of the parameters a
 * grid cell overrides ("{}" for a plain sweep). Rows are committed one by
 * one as results arrive, so a killed sweep loses only the seeds in flight,
 * and a resumed one skips every seed already in the table. Several sweeps
 * (shards on one machine) may share a file: WAL mode and a busy timeout.
 *
 * A grid (syncsim grid, sim/grid.h) writes its runs into the same table,
 * one row per cell and seed, with strict 0 and params the cell's canonical
 * JSON (sorted keys, durations in microseconds, the profile's name):
 *   {"offline_mean_us":300000000,"profile":"reference","skew_max_us":0}
 * and says which cells it has in two more tables, rewritten on every run
 * of the grid:
 *
 *   grids(name,                              -- the key: the grid's name:
 *         file, scenario_file, description,  -- the grid file and its base scenario
 *         seeds_lo, seeds_hi, cells,         -- seeds per cell (inclusive), cell count
 *         axes,                              -- JSON, see grid_axes_json in sim/grid.h
 *         updated_at)
 *   grid_cells(grid, cell,                   -- the key: grid name, cell index (grid order)
 *              scenario, params)             -- the runs key of the cell's rows
 *   grid_targets(grid,                       -- a row only for a grid file with targets:
 *                conflicts_per_write,        -- NULL when the file gives no such target
 *                lost_per_write, source)
 *
 * so a cell's rows are
 *   SELECT r.* FROM grid_cells c JOIN grids g ON g.name = c.grid
 *     JOIN runs r ON r.scenario = c.scenario AND r.params = c.params AND r.strict = 0
 *                AND r.seed BETWEEN g.seeds_lo AND g.seeds_hi
 *   WHERE c.grid = ?;
 * Cells of two grids with the same base, profile and values share rows.
 */
#ifndef CLI_RESULTS_H
#define CLI_RESULTS_H

#include "base/hash.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct results results;

typedef struct result_row {
    const char *scenario;      /* key: name@hash */
    const char *params;        /* key: JSON object */
    uint64_t seed;             /* key */
    bool strict;               /* key */
    const char *file;
    const char *profile;
    const char *outcome;       /* pass, violation, unmet, no-quiescence, bad-input, crash, nondeterministic */
    int exit_code;
    const char *failing;       /* comma-separated classes that failed the run */
    const char *tolerated;
    const char *trace_hash;
    double wall_ms;
    const char *metrics;       /* JSON */
    const char *finding;       /* the first failing finding: summary and witness, or "" */
    const char *shard;         /* "2/3", or "" */
} result_row;

/* A grid's description for the grids and grid_cells tables (see above). */
typedef struct result_grid {
    const char *name;
    const char *file;
    const char *scenario_file;
    const char *description;   /* "" when none */
    uint64_t seeds_lo, seeds_hi;
    const char *axes;          /* JSON */
    int64_t n_cells;
    char *const *cell_scenario;   /* by cell: the runs key's scenario */
    char *const *cell_params;     /* by cell: the runs key's params */
    double conflicts_per_write;   /* the grid file's targets: (sim/grid.h); < 0 when it gives none */
    double lost_per_write;
    const char *targets_source;   /* NULL when not given */
} result_grid;

/*
 * path NULL: in memory. A new file gets the tables; an existing one must be a results
 * database in good repair (SQLite's quick_check, and the tables' columns): otherwise
 * *error names the file, what is wrong and what to do.
 */
results *results_open(const char *path, char **error);
void results_close(results *r);
bool results_insert(results *r, const result_row *row, char **error);
/* Seeds already recorded for this key, into done (seed -> 1). */
bool results_done(results *r, const char *scenario, const char *params, bool strict, u64map *done, char **error);
/* Rows of this key with lo <= seed <= hi, by seed. The row is borrowed for the call. */
bool results_each(results *r, const char *scenario, const char *params, bool strict, uint64_t lo, uint64_t hi,
                  void (*fn)(void *ctx, const result_row *row), void *ctx, char **error);
/* Record a grid and its cells, replacing what an earlier run of the same grid name recorded. */
bool results_put_grid(results *r, const result_grid *g, char **error);
/* The rows of one key that no grid's cell names: a sweep, as `syncsim summary` reports it. */
typedef struct result_sweep {
    const char *scenario;      /* the key */
    const char *params;
    bool strict;
    const char *file;          /* of the row with the lowest seed */
    const char *profile;
    uint64_t seed_lo, seed_hi; /* the lowest and highest seed recorded */
    uint64_t rows;
    const char *shards;        /* the distinct shard texts, comma-separated, in no particular order */
} result_sweep;
/* Every sweep in the file, by file, scenario, params and strict. The struct is borrowed for the call. */
bool results_each_sweep(results *r, void (*fn)(void *ctx, const result_sweep *s), void *ctx, char **error);
/* Every grid in the file, by name, with its cells (cell_scenario, cell_params); borrowed for the call. */
bool results_each_grid(results *r, void (*fn)(void *ctx, const result_grid *g), void *ctx, char **error);

/* What merging one input did: rows it brought, rows the output had already. */
typedef struct merge_count {
    int64_t added;
    int64_t skipped;
} merge_count;
/*
 * Merge the results files inputs[0..n) into out_path (which may exist: its rows are kept),
 * copying every row it lacks; an input's grids replace those of the same name. All or
 * nothing: the merge goes into a copy beside out_path (out_path.merge-XXXXXX), which
 * replaces out_path by rename() only when every input merged. On an error, or a kill at any
 * point, out_path is as it was (or still absent); an error removes the copy, a kill leaves
 * it. Every file is checked (results_open) first: a damaged or foreign one is an error
 * naming it. counts[i] is inputs[i]'s.
 */
bool results_merge_files(const char *out_path, int n, char *const *inputs, merge_count *counts, char **error);

#endif
