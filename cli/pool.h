/*
 * pool: runs (scenario template, seed) jobs in worker processes and hands
 * each result row back to the parent, with progress on stderr. sweep runs
 * one template over a seed range; grid runs every cell's template over its
 * seeds; suite runs each scenario file once. What a job does in the worker
 * is the run callback's; what the parent does with its row, the record
 * callback's (sweep and grid: a row in the results database, results.h).
 *
 * Invariants:
 *   - a job's row reaches record() only after its run completed, so an
 *     interrupted or killed pool loses only the jobs in flight;
 *   - a worker that dies while running a job produces a "crash" row for it
 *     (a simulator crash is a finding) and is replaced;
 *   - workers die with the parent (PR_SET_PDEATHSIG) and ignore Ctrl-C,
 *     which the parent handles (pool_catch_signals).
 * This file reads the wall clock (progress, timings); the simulation never does.
 */
#ifndef CLI_POOL_H
#define CLI_POOL_H

#include "sim/scenario.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define POOL_WORKERS_MAX 256

typedef struct pool_job {
    uint32_t cell;    /* index into pool.cells */
    uint64_t seed;
} pool_job;

typedef struct pool {
    const scenario *const *cells;  /* templates by job.cell; workers inherit them across fork */
    int n_cells;
    int workers;                   /* 1..POOL_WORKERS_MAX; fewer are started when there are fewer jobs */
    const char *what;              /* progress lines start "<what>: " ("sweep"); NULL: no progress */
    const char *unit;              /* what a job is called in progress ("seeds", "runs") */
    /*
     * Called in a worker for every job: the row to hand back to the parent
     * (sweep_run_seed's, for sweeps and grids). Never NULL; the pool deletes it.
     */
    cJSON *(*run)(void *run_ctx, const scenario *tmpl, const pool_job *job);
    void *run_ctx;
    /* Called in a worker before it exits, to release what it kept across jobs (external node
     * processes kept for reuse); NULL when nothing is kept. */
    void (*worker_exit)(void *run_ctx);
    /*
     * Called in the parent for every finished job, in completion order, with
     * the row run made (or a crash row: outcome "crash", exit_code 1, finding
     * the signal). Returns false when the row could not be recorded; the pool
     * goes on and pool_run returns false.
     */
    bool (*record)(void *ctx, const pool_job *job, const cJSON *row);
    void *ctx;
} pool;

/* Set once SIGINT or SIGTERM arrived after pool_catch_signals: no new jobs start. */
extern volatile sig_atomic_t pool_interrupted;

/* Catch SIGINT and SIGTERM (setting pool_interrupted) and ignore SIGPIPE. */
void pool_catch_signals(void);
/* Run every job. False when no worker could start or a row could not be recorded. */
bool pool_run(const pool *p, const pool_job *todo, uint64_t n_todo);
/* Monotonic wall clock in milliseconds, for timings and progress. */
double pool_now_ms(void);

#endif
