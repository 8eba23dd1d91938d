/*
 * grid: a parameter grid over one random-workload scenario, for
 * conflict-rate reports.
 *
 *   name: compare-designs
 *   description: ...
 *   scenario: ../random/base.yaml      # the base scenario, relative to the grid file
 *   seeds: 20                          # per cell: seeds 1..20; or "5..24"
 *   profiles: [reference, lww-device-clock, lww-server-clock]
 *   axes:
 *     devices_per_user: [2, 4]         # workload.devices_per_user (the base needs users:)
 *     offline_mean: [5m, 30m, 2h]      # workload.offline.offline_mean; 0s: devices stay online
 *     skew_max: [0s, 1m, 10m]          # workload.clocks.offset.max, uniform in [-max, max]
 *     writes_per_hour: [10, 60]        # workload.writes_per_hour, per device
 *     zipf_s: [uniform, 1.2]           # workload.popularity: zipf with s; 0 or uniform: uniform
 *   targets:                           # optional: reference lines the report draws and checks
 *     conflicts: 5%                    # conflicts per write below this
 *     lost: 1%                         # writes silently overwritten or lost per write below this
 *     source: seed 004 (delta-sync), Monitoring   # where the numbers come from, shown beside them
 *
 * Cells are the cross product of the profiles and every axis's values. A
 * cell is the base scenario with the cell's profile in place of its own and
 * the cell's values written into its workload; nothing else changes, so two
 * cells differ exactly in their parameters. Profile names are looked up as
 * profiles/<name>.yaml beside the grid file and in each directory above it
 * (as a scenario's profile: is), then beside the base scenario's own profile
 * file; an entry may also be a path (relative to the grid file) or an
 * inline mapping.
 *
 * Cell order is fixed: the profile varies slowest, then the axes in the
 * order the file lists them, the last fastest (mixed radix). A cell's
 * identity is its params: canonical JSON of its values with sorted keys
 * (durations in microseconds, "profile" the profile's name), which is what
 * the results database keys a cell's rows on. Loading reports every mistake
 * at file:line:column, with a "did you mean" for unknown keys and profiles.
 */
#ifndef SIM_GRID_H
#define SIM_GRID_H

#include "base/arena.h"
#include "sim/diag.h"
#include "sim/scenario.h"

#include <stdbool.h>
#include <stdint.h>

/* Bounds: a grid that exceeds one fails to load and names the bound. */
#define GRID_PROFILES_MAX 64
#define GRID_VALUES_MAX 100              /* values per axis */
#define GRID_CELLS_MAX 100000
#define GRID_SEEDS_MAX 1000000           /* per cell */
#define GRID_RUNS_MAX UINT64_C(1000000000) /* cells x seeds, as a sweep's seed range */

typedef enum grid_axis_id {
    GRID_AXIS_DEVICES_PER_USER,   /* workload.devices_per_user */
    GRID_AXIS_OFFLINE_MEAN,       /* workload.offline.offline_mean */
    GRID_AXIS_SKEW_MAX,           /* workload.clocks.offset.max */
    GRID_AXIS_WRITES_PER_HOUR,    /* workload.writes_per_hour */
    GRID_AXIS_ZIPF_S,             /* workload.popularity */
    GRID_AXIS_COUNT
} grid_axis_id;

typedef struct grid_value {
    int64_t integer;       /* devices_per_user; offline_mean and skew_max in microseconds */
    double number;         /* writes_per_hour; zipf_s (0: uniform popularity) */
    const char *label;     /* as written in the grid file: "5m", "uniform" */
    src_pos pos;
} grid_value;

typedef struct grid_axis {
    grid_axis_id id;
    int n_values;
    grid_value *values;    /* file order, no two equal */
    src_pos pos;           /* the axis's key */
} grid_axis;

/*
 * A grid's targets: rates a design should stay below, which the report
 * draws as reference lines and judges each profile against. A report of a
 * grid without them draws none: a target is a claim someone made, and only
 * the grid file that quotes it may show it.
 */
typedef struct grid_targets {
    double conflicts_per_write;  /* conflicts per write; < 0 when the grid gives none */
    double lost_per_write;       /* writes silently overwritten or lost-update per write; < 0 when none */
    const char *source;          /* who set them, as the grid says; NULL when not given */
} grid_targets;

typedef struct grid {
    const char *path;
    const char *name;            /* name:, else the file name without extension */
    const char *description;     /* NULL when absent */
    const char *scenario_path;   /* the base scenario's file, resolved against the grid's directory */
    scenario *base;              /* owned; every cell template borrows from it */
    uint64_t seeds_lo, seeds_hi; /* inclusive, per cell */
    int n_profiles;
    scenario_profile *profiles;  /* file order, distinct names; the base's own when the grid names none */
    int n_axes;
    grid_axis *axes;             /* file order, each id at most once */
    int64_t n_cells;             /* n_profiles x every axis's n_values */
    grid_targets targets;        /* both rates < 0 without targets: */
    arena arena;                 /* owns every string and array above, profiles included */
} grid;

/* NULL on error, with the error (file:line:column) in d. */
grid *grid_load(const char *path, diag *d);
void grid_free(grid *g);

/* The axis's key in a grid file ("offline_mean") and in params ("offline_mean_us"). */
const char *grid_axis_name(grid_axis_id id);
const char *grid_axis_param(grid_axis_id id);

/* Which profile and which value of each axis (in g->axes order) cell is. */
void grid_cell_coords(const grid *g, int64_t cell, int *profile, int *value_index);
/*
 * The scenario template of a cell: the base with the cell's profile and
 * workload values. It borrows the grid's strings: free it (scenario_free)
 * before the grid. Never fails: grid_load validated every value.
 */
scenario *grid_cell_scenario(const grid *g, int64_t cell);
/* The cell's params as canonical JSON (sorted keys, no spaces); free with xfree. */
char *grid_cell_params(const grid *g, int64_t cell);
/*
 * The grid's shape as JSON, for the results database: an array with one
 * object per dimension, profile first, then the axes in file order:
 *   [{"key":"profile","values":["reference",...]},
 *    {"key":"offline_mean_us","axis":"offline_mean","values":[300000000,...],"labels":["5m",...]}]
 * Free with xfree.
 */
char *grid_axes_json(const grid *g);

#endif
