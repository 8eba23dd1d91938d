/*
 * sweep: many seeds of one scenario, in worker processes, with results in a
 * results database (results.h).
 *
 *   syncsim sweep FILE --seeds A..B [-j N] [--shard I/N] [--db results.sqlite] [--junit F.xml]
 *                 [--json F.json] [--summary F.md] [--strict] [--check-determinism] [--timeout D]
 *   syncsim merge OUT.sqlite IN.sqlite...
 *
 * Seeds A..B are inclusive. --shard I/N keeps the seeds whose position in
 * the range is I-1 modulo N, so shards 1/N..N/N cover the range exactly once
 * and can run on different machines; merge combines their databases.
 */
#ifndef CLI_SWEEP_H
#define CLI_SWEEP_H

#include "cli/pool.h"
#include "cli/results.h"
#include "sim/scenario.h"
#include "sim/world.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* merge's own reading of argv: syncsim merge OUT.sqlite IN.sqlite... (cli_cmd_merge calls it). */
int cmd_merge(int argc, char **argv);

/* What a run of one seed needs to know, in a worker. */
typedef struct sweep_options {
    bool strict;
    bool check_determinism;
    int64_t timeout_us;        /* the seed's wall-clock budget (--timeout); 0: none */
    bool fresh_nodes;          /* external nodes: new processes for every seed, even when they can be reset */
} sweep_options;

/* One seed, judged as `syncsim run FILE --seed N` would; the row a sweep records, as JSON. */
cJSON *sweep_run_seed(const scenario *tmpl, uint64_t seed, const sweep_options *o, external_pool *nodes);
/* pool.run for sweeps and grids: sweep_run_seed with the job's seed; ctx is a sweep_options. External node
 * processes that can be reset are kept for the worker's next seeds, unless o->fresh_nodes. */
cJSON *sweep_pool_run(void *ctx, const scenario *tmpl, const pool_job *job);
/* pool.worker_exit for sweeps and grids: stops the external node processes the worker kept. */
void sweep_pool_exit(void *ctx);
/* "name@hash": a scenario's identity in the results database (file and profile contents). */
char *sweep_scenario_key(const scenario *tmpl);
/*
 * Record a row sweep_run_seed made (or a pool's crash row): the key's
 * scenario, params, strict, file, profile and shard, the row's seed and
 * results. Prints the database's error on stderr and returns false when the
 * row could not be written.
 */
bool sweep_record(results *db, const result_row *key, const cJSON *row);

#endif
