/*
 * results: SQLite results database. See results.h. Seeds are stored as
 * INTEGER; sweeps keep them below 2^63 so that they sort as numbers.
 */
#include "cli/results.h"
#include "base/xalloc.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

struct results {
    sqlite3 *db;
    sqlite3_stmt *insert;
};

static const char SCHEMA[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "CREATE TABLE IF NOT EXISTS runs("
    "  scenario TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL, strict INTEGER NOT NULL,"
    "  file TEXT NOT NULL, profile TEXT NOT NULL, outcome TEXT NOT NULL, exit_code INTEGER NOT NULL,"
    "  failing TEXT NOT NULL, tolerated TEXT NOT NULL, trace_hash TEXT NOT NULL, wall_ms REAL NOT NULL,"
    "  metrics TEXT NOT NULL, finding TEXT NOT NULL, shard TEXT NOT NULL,"
    "  finished_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
    "  PRIMARY KEY(scenario, params, seed, strict));"
    "CREATE TABLE IF NOT EXISTS grids("
    "  name TEXT PRIMARY KEY, file TEXT NOT NULL, scenario_file TEXT NOT NULL, description TEXT NOT NULL,"
    "  seeds_lo INTEGER NOT NULL, seeds_hi INTEGER NOT NULL, cells INTEGER NOT NULL, axes TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));"
    "CREATE TABLE IF NOT EXISTS grid_cells("
    "  grid TEXT NOT NULL, cell INTEGER NOT NULL, scenario TEXT NOT NULL, params TEXT NOT NULL,"
    "  PRIMARY KEY(grid, cell));";

static char *error_text(sqlite3 *db, const char *what)
{
    const char *msg = db ? sqlite3_errmsg(db) : "out of memory";
    size_t n = strlen(what) + strlen(msg) + 4;
    char *e = xmalloc(n);
    snprintf(e, n, "%s: %s", what, msg);
    return e;
}

results *results_open(const char *path, char **error)
{
    results *r = xcalloc(1, sizeof *r);
    if (sqlite3_open_v2(path ? path : ":memory:", &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        *error = error_text(r->db, path ? path : ":memory:");
        results_close(r);
        return NULL;
    }
    sqlite3_busy_timeout(r->db, 30000);
    char *msg = NULL;
    if (sqlite3_exec(r->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        *error = error_text(r->db, path ? path : ":memory:");
        results_close(r);
        return NULL;
    }
    const char *sql = "INSERT OR REPLACE INTO runs(scenario, params, seed, strict, file, profile, outcome, exit_code,"
                      " failing, tolerated, trace_hash, wall_ms, metrics, finding, shard)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
    if (sqlite3_prepare_v2(r->db, sql, -1, &r->insert, NULL) != SQLITE_OK) {
        *error = error_text(r->db, "preparing the results table");
        results_close(r);
        return NULL;
    }
    return r;
}

void results_close(results *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->insert);
    sqlite3_close(r->db);
    xfree(r);
}

bool results_insert(results *r, const result_row *row, char **error)
{
    sqlite3_stmt *st = r->insert;
    sqlite3_bind_text(st, 1, row->scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, row->params, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)row->seed);
    sqlite3_bind_int(st, 4, row->strict);
    sqlite3_bind_text(st, 5, row->file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, row->profile, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, row->outcome, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, row->exit_code);
    sqlite3_bind_text(st, 9, row->failing, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, row->tolerated, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, row->trace_hash, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 12, row->wall_ms);
    sqlite3_bind_text(st, 13, row->metrics, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, row->finding, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, row->shard, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        *error = error_text(r->db, "recording a result");
        return false;
    }
    return true;
}

bool results_done(results *r, const char *scenario, const char *params, bool strict, u64map *done, char **error)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT seed FROM runs WHERE scenario = ?1 AND params = ?2 AND strict = ?3", -1,
                           &st, NULL) != SQLITE_OK) {
        *error = error_text(r->db, "reading earlier results");
        return false;
    }
    sqlite3_bind_text(st, 1, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, params, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, strict);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        u64map_put(done, (uint64_t)sqlite3_column_int64(st, 0), 1);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        *error = error_text(r->db, "reading earlier results");
        return false;
    }
    return true;
}

static const char *text(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    return t ? t : "";
}

bool results_each(results *r, const char *scenario, const char *params, bool strict, uint64_t lo, uint64_t hi,
                  void (*fn)(void *ctx, const result_row *row), void *ctx, char **error)
{
    sqlite3_stmt *st;
    const char *sql = "SELECT seed, file, profile, outcome, exit_code, failing, tolerated, trace_hash, wall_ms,"
                      " metrics, finding, shard FROM runs WHERE scenario = ?1 AND params = ?2 AND strict = ?3"
                      " AND seed BETWEEN ?4 AND ?5 ORDER BY seed";
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        *error = error_text(r->db, "reading results");
        return false;
    }
    sqlite3_bind_text(st, 1, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, params, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, strict);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)lo);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)hi);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        result_row row = {
            .scenario = scenario,
            .params = params,
            .seed = (uint64_t)sqlite3_column_int64(st, 0),
            .strict = strict,
            .file = text(st, 1),
            .profile = text(st, 2),
            .outcome = text(st, 3),
            .exit_code = sqlite3_column_int(st, 4),
            .failing = text(st, 5),
            .tolerated = text(st, 6),
            .trace_hash = text(st, 7),
            .wall_ms = sqlite3_column_double(st, 8),
            .metrics = text(st, 9),
            .finding = text(st, 10),
            .shard = text(st, 11),
        };
        fn(ctx, &row);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        *error = error_text(r->db, "reading results");
        return false;
    }
    return true;
}

bool results_put_grid(results *r, const result_grid *g, char **error)
{
    sqlite3_stmt *grid = NULL, *cell = NULL;
    bool ok = false;
    if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    const char *grid_sql = "INSERT OR REPLACE INTO grids(name, file, scenario_file, description, seeds_lo, seeds_hi,"
                           " cells, axes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    if (sqlite3_prepare_v2(r->db, grid_sql, -1, &grid, NULL) != SQLITE_OK)
        goto rollback;
    sqlite3_bind_text(grid, 1, g->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(grid, 2, g->file, -1, SQLITE_STATIC);
    sqlite3_bind_text(grid, 3, g->scenario_file, -1, SQLITE_STATIC);
    sqlite3_bind_text(grid, 4, g->description ? g->description : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(grid, 5, (sqlite3_int64)g->seeds_lo);
    sqlite3_bind_int64(grid, 6, (sqlite3_int64)g->seeds_hi);
    sqlite3_bind_int64(grid, 7, (sqlite3_int64)g->n_cells);
    sqlite3_bind_text(grid, 8, g->axes, -1, SQLITE_STATIC);
    if (sqlite3_step(grid) != SQLITE_DONE)
        goto rollback;
    /* An edited grid may have fewer cells than last time: its old list goes. */
    if (sqlite3_prepare_v2(r->db, "DELETE FROM grid_cells WHERE grid = ?1", -1, &cell, NULL) != SQLITE_OK)
        goto rollback;
    sqlite3_bind_text(cell, 1, g->name, -1, SQLITE_STATIC);
    if (sqlite3_step(cell) != SQLITE_DONE)
        goto rollback;
    sqlite3_finalize(cell);
    cell = NULL;
    if (sqlite3_prepare_v2(r->db, "INSERT INTO grid_cells(grid, cell, scenario, params) VALUES (?1, ?2, ?3, ?4)", -1,
                           &cell, NULL) != SQLITE_OK)
        goto rollback;
    for (int64_t i = 0; i < g->n_cells; i++) {
        sqlite3_bind_text(cell, 1, g->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(cell, 2, (sqlite3_int64)i);
        sqlite3_bind_text(cell, 3, g->cell_scenario[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(cell, 4, g->cell_params[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(cell);
        sqlite3_reset(cell);
        if (rc != SQLITE_DONE)
            goto rollback;
    }
    if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        ok = true;
rollback:
    if (!ok) {
        *error = error_text(r->db, "recording the grid");
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(grid);
    sqlite3_finalize(cell);
    return ok;
out:
    *error = error_text(r->db, "recording the grid");
    return false;
}

/* Does the attached database "other" have this table? (Files written before grids existed do not.) */
static bool other_has_table(sqlite3 *db, const char *table)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM other.sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    bool has = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    return has;
}

bool results_merge(results *into, const char *path, int64_t *added, int64_t *skipped, char **error)
{
    sqlite3_stmt *attach = NULL;
    bool ok = false;
    if (sqlite3_prepare_v2(into->db, "ATTACH DATABASE ?1 AS other", -1, &attach, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(attach, 1, path, -1, SQLITE_STATIC);
    if (sqlite3_step(attach) != SQLITE_DONE)
        goto out;
    sqlite3_int64 before = 0, incoming = 0, after = 0;
    sqlite3_stmt *count;
    if (sqlite3_prepare_v2(into->db, "SELECT (SELECT count(*) FROM main.runs), (SELECT count(*) FROM other.runs)", -1,
                           &count, NULL) != SQLITE_OK)
        goto detach;
    if (sqlite3_step(count) == SQLITE_ROW) {
        before = sqlite3_column_int64(count, 0);
        incoming = sqlite3_column_int64(count, 1);
    }
    sqlite3_finalize(count);
    if (sqlite3_exec(into->db, "INSERT OR IGNORE INTO main.runs SELECT * FROM other.runs", NULL, NULL, NULL) !=
        SQLITE_OK)
        goto detach;
    /* Shards of one grid carry the same grid description; the incoming one replaces ours. */
    if (other_has_table(into->db, "grids") && other_has_table(into->db, "grid_cells") &&
        sqlite3_exec(into->db,
                     "DELETE FROM main.grid_cells WHERE grid IN (SELECT name FROM other.grids);"
                     "INSERT OR REPLACE INTO main.grids SELECT * FROM other.grids;"
                     "INSERT OR REPLACE INTO main.grid_cells SELECT * FROM other.grid_cells;",
                     NULL, NULL, NULL) != SQLITE_OK)
        goto detach;
    if (sqlite3_prepare_v2(into->db, "SELECT count(*) FROM main.runs", -1, &count, NULL) != SQLITE_OK)
        goto detach;
    if (sqlite3_step(count) == SQLITE_ROW)
        after = sqlite3_column_int64(count, 0);
    sqlite3_finalize(count);
    *added = after - before;
    *skipped = incoming - *added;
    ok = true;
detach:
    if (!ok)
        *error = error_text(into->db, path);
    sqlite3_exec(into->db, "DETACH DATABASE other", NULL, NULL, NULL);
    sqlite3_finalize(attach);
    return ok;
out:
    *error = error_text(into->db, path);
    sqlite3_finalize(attach);
    return false;
}
