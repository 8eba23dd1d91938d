/*
 * grid: syncsim grid FILE [--db results.sqlite] [-j N] [--shard I/N] [--json F.json]
 *       syncsim grid FILE --replay CELL:SEED [--strict]
 *
 * Runs every cell of a grid (sim/grid.h) over the grid's seeds in worker
 * processes (pool.h), one row per cell and seed in the results database
 * (results.h), resumable as a sweep is, then prints one line per cell.
 * Runs go out seed by seed (every cell with the first seed, then with the
 * next), so an interrupted grid already covers every cell. --shard I/N
 * takes the runs whose seed position plus cell index is I-1 modulo N, so
 * shards 1/N..N/N cover the grid exactly once and each gets a share of
 * every cell. --replay runs one cell's seed again and prints it as
 * `syncsim run` would.
 */
#ifndef CLI_GRID_H
#define CLI_GRID_H

int cmd_grid(int argc, char **argv);

#endif
