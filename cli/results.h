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

/* path NULL: in memory. */
results *results_open(const char *path, char **error);
void results_close(results *r);
bool results_insert(results *r, const result_row *row, char **error);
/* Seeds already recorded for this key, into done (seed -> 1). */
bool results_done(results *r, const char *scenario, const char *params, bool strict, u64map *done, char **error);
/* Rows of this key with lo <= seed <= hi, by seed. The row is borrowed for the call. */
bool results_each(results *r, const char *scenario, const char *params, bool strict, uint64_t lo, uint64_t hi,
                  void (*fn)(void *ctx, const result_row *row), void *ctx, char **error);
/* Copy every row of another results file that this one lacks. */
bool results_merge(results *into, const char *path, int64_t *added, int64_t *skipped, char **error);

#endif
