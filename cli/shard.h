/*
 * shard: which share of a sweep or grid this process runs (--shard I/N), and
 * --shard auto, which reads I and N from the variables a CI system or batch
 * scheduler sets in each of its parallel jobs.
 *
 * Shards are numbered as people count them: I runs from 1 to N, whatever the
 * engine's own numbering (GitLab counts from 1, Kubernetes, Buildkite and
 * CircleCI from 0, Slurm from the array's first task id). The engines read:
 *
 *   Kubernetes Indexed Job  JOB_COMPLETION_INDEX (from 0); the count is not in
 *                           the environment: --shard auto/N, N the Job's completions
 *   GitLab CI (parallel:)   CI_NODE_INDEX (from 1), CI_NODE_TOTAL
 *   Buildkite (parallelism) BUILDKITE_PARALLEL_JOB (from 0), BUILDKITE_PARALLEL_JOB_COUNT
 *   Slurm job array         SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, with
 *                           SLURM_ARRAY_TASK_MIN and _STEP (_MAX to check the ids are a range)
 *   CircleCI (parallelism)  CIRCLE_NODE_INDEX (from 0), CIRCLE_NODE_TOTAL
 *
 * GitHub Actions puts neither in the environment; a matrix job passes them
 * itself. strategy.job-index counts from 0 and expressions cannot add, so
 * --shard ${{ strategy.job-index }}/${{ strategy.job-total }} would be off by
 * one: give the matrix a shard: [1, 2, ...] list and write
 * --shard ${{ matrix.shard }}/${{ strategy.job-total }}
 * (examples/ci/github-actions.yml).
 *
 * Exactly one engine's index variable may be set: two would be a guess.
 * This file only reads the variables it is handed through a lookup function,
 * so the rules are tested without touching the process's environment.
 */
#ifndef CLI_SHARD_H
#define CLI_SHARD_H

#include "base/buf.h"

#include <stdbool.h>
#include <stdint.h>

/* The most shards a sweep or grid can be split into (a bound on I and N). */
#define SHARD_COUNT_MAX 100000

/* A variable's value, or NULL when it is not set (getenv, or a table in tests). */
typedef const char *(*shard_lookup_fn)(void *ctx, const char *name);

/*
 * The shard --shard TEXT names: "I/N", "auto" or "auto/N". For auto, the
 * variables come from lookup; *source then says where I and N came from
 * ("GitLab CI: CI_NODE_INDEX=2, CI_NODE_TOTAL=4"), otherwise it is left
 * empty. On a mistake, false with the sentence in why: which variables were
 * looked for, which were set, and what was wrong with their values.
 */
bool shard_parse(const char *text, shard_lookup_fn lookup, void *ctx, int *index, int *count, buf *source,
                 buf *why);

/*
 * A grid's runs, numbered so that consecutive shards get consecutive
 * positions: seed by seed, and within a seed the cells rotated by the seed's
 * position, so that with fewer shards than cells a shard does not see the
 * same cells for every seed. The positions of a grid with C cells and S
 * seeds are exactly 0 .. C*S-1; shard I of N takes those equal to I-1
 * modulo N, so every shard gets floor or ceil of C*S/N runs: work for every
 * shard whenever there are at least N runs, however few cells there are.
 */
uint64_t shard_grid_position(uint64_t seed_index, uint64_t cell, uint64_t n_cells);

#endif
