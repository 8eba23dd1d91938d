/*
 * sweep: many seeds of one scenario, in worker processes, with results in a
 * results database (results.h).
 *
 *   syncsim sweep FILE --seeds A..B [-j N] [--shard I/N] [--db results.sqlite]
 *                 [--junit F.xml] [--json F.json] [--strict] [--check-determinism]
 *   syncsim merge OUT.sqlite IN.sqlite...
 *
 * Seeds A..B are inclusive. --shard I/N keeps the seeds whose position in
 * the range is I-1 modulo N, so shards 1/N..N/N cover the range exactly once
 * and can run on different machines; merge combines their databases.
 */
#ifndef CLI_SWEEP_H
#define CLI_SWEEP_H

#include "cli/results.h"
#include "sim/scenario.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

int cmd_sweep(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* One seed, judged as `syncsim run FILE --seed N` would; the row a sweep records, as JSON. */
cJSON *sweep_run_seed(const scenario *tmpl, uint64_t seed, bool strict, bool check_determinism);
/* "name@hash": a scenario's identity in the results database (file and profile contents). */
char *sweep_scenario_key(const scenario *tmpl);
/* Parse "A..B" or "N". */
bool sweep_parse_seeds(const char *text, uint64_t *lo, uint64_t *hi);
/* Parse "I/N" with 1 <= I <= N. */
bool sweep_parse_shard(const char *text, int *index, int *count);
/* Parse a number of workers, 1..POOL_WORKERS_MAX. */
bool sweep_parse_workers(const char *text, int *workers);
/*
 * Record a row sweep_run_seed made (or a pool's crash row): the key's
 * scenario, params, strict, file, profile and shard, the row's seed and
 * results. Prints the database's error on stderr and returns false when the
 * row could not be written.
 */
bool sweep_record(results *db, const result_row *key, const cJSON *row);
/* Command-line options: "--opt value" or "--opt=value". sweep_option returns the
 * value (advancing *i past it) or NULL when missing; sweep_is_option tells whether
 * arg is that option at all. */
const char *sweep_option(int argc, char **argv, int *i, const char *name);
bool sweep_is_option(const char *arg, const char *name);

#endif
