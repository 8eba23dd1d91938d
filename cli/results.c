/*
 * results: SQLite results database. See results.h. Seeds are stored as
 * INTEGER; sweeps keep them below 2^63 so that they sort as numbers.
 *
 * Crash safety: every change is one SQLite transaction (a row, a grid's
 * description, one input of a merge), so a process killed at any point
 * leaves the file as it was before or after that transaction; SQLite's WAL
 * recovers it on the next open. A merge writes into a copy and renames it
 * over its output only when every input merged (results_merge_files).
 *
 * Damage: a file is checked when it is opened or merged (check_database):
 * SQLite's quick_check and the tables' columns. A damaged or foreign file is
 * refused there with its name and what to do, before a sweep runs a seed;
 * damage SQLite meets later is reported the same way (error_text).
 */
#include "cli/results.h"
#include "base/buf.h"
#include "base/xalloc.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct results {
    sqlite3 *db;
    sqlite3_stmt *insert;
    char *path;              /* for errors; ":memory:" in memory */
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
    "  PRIMARY KEY(grid, cell));"
    "CREATE TABLE IF NOT EXISTS grid_targets("
    "  grid TEXT PRIMARY KEY, conflicts_per_write REAL, lost_per_write REAL, source TEXT NOT NULL);";

/* What to do about a damaged file: said wherever damage is reported. */
#define DAMAGED_HINT                                                                                      \
    "move it aside and run again (completed runs will run again), or recover its rows with Debian's " \
    "sqlite3: sqlite3 %s .recover | sqlite3 recovered.sqlite"

/* "<what>: <SQLite's message>"; for damage or a foreign file, what it means and what to do. */
static char *error_text_for(sqlite3 *db, const char *path, const char *what)
{
    int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_NOMEM;
    const char *msg = db ? sqlite3_errmsg(db) : "out of memory";
    buf b;
    buf_init(&b);
    if (code == SQLITE_CORRUPT && path) {
        if (strcmp(what, path) == 0)
            buf_printf(&b, "%s: the results database is damaged (SQLite: %s); ", path, msg);
        else
            buf_printf(&b, "%s: the results database %s is damaged (SQLite: %s); ", what, path, msg);
        buf_printf(&b, DAMAGED_HINT, path);
    } else if (code == SQLITE_NOTADB && path) {
        buf_printf(&b, "%s: not a SQLite database (results databases are written by sweep, grid and merge)", path);
    } else {
        buf_printf(&b, "%s: %s", what, msg);
    }
    return buf_take(&b);
}

static char *error_text(sqlite3 *db, const char *what)
{
    return error_text_for(db, NULL, what);
}

/*
 * A table's shape as "columns (a, b, c) and primary key (a, b)", or "" when the schema has
 * no such table. NULL on an SQLite error.
 */
static char *table_shape(sqlite3 *db, const char *schema, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA %s.table_info(%s)", schema, table);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    enum { COLUMNS_MAX = 64 };
    char *key[COLUMNS_MAX] = { 0 };   /* by position in the primary key, from 1 */
    buf columns;
    buf_init(&columns);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        int pk = sqlite3_column_int(st, 5);
        buf_printf(&columns, "%s%s", n++ ? ", " : "", name ? name : "?");
        if (pk >= 1 && pk < COLUMNS_MAX && !key[pk])
            key[pk] = xstrdup(name ? name : "?");
    }
    sqlite3_finalize(st);
    buf shape;
    buf_init(&shape);
    if (n > 0) {
        buf_printf(&shape, "columns (%s) and primary key (", columns.data);
        for (int i = 1, first = 1; i < COLUMNS_MAX; i++)
            if (key[i]) {
                buf_printf(&shape, "%s%s", first ? "" : ", ", key[i]);
                first = 0;
            }
        buf_putc(&shape, ')');
    } else {
        buf_puts(&shape, "");
    }
    for (int i = 0; i < COLUMNS_MAX; i++)
        xfree(key[i]);
    buf_free(&columns);
    if (rc != SQLITE_DONE) {
        buf_free(&shape);
        return NULL;
    }
    return buf_take(&shape);
}

static const char *const TABLES[] = { "runs", "grids", "grid_cells", "grid_targets" };
#define N_TABLES ((int)(sizeof TABLES / sizeof TABLES[0]))

/*
 * Is schema `schema` ("main", or an attached "other") of db a results database this
 * program can use? A new, empty file is; so is one written before grids existed (no grids
 * tables). Otherwise *error says what is wrong with the file at path: not SQLite, damaged
 * (SQLite's quick_check, which reads every page: about 3 s per GiB on the 2-core build VM), or tables whose
 * columns or keys are not ours.
 */
static bool check_database(sqlite3 *db, const char *schema, const char *path, char **error)
{
    bool ok = false;
    sqlite3 *ref = NULL;
    char *shape = NULL, *want = NULL;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA %s.quick_check(1)", schema);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        *error = error_text_for(db, path, path);
        goto out;
    }
    int rc = sqlite3_step(st);
    const char *verdict = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (rc == SQLITE_ROW && verdict && strcmp(verdict, "ok") != 0) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "%s: the results database is damaged (SQLite's quick_check: ", path);
        for (const char *p = verdict; *p; p++)   /* one line: its report has several */
            buf_putc(&b, *p == '\n' ? ' ' : *p);
        buf_puts(&b, "); ");
        buf_printf(&b, DAMAGED_HINT, path);
        *error = buf_take(&b);
        sqlite3_finalize(st);
        goto out;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        *error = error_text_for(db, path, path);
        goto out;
    }
    /* The tables as this program creates them, in an empty database: the reference. */
    if (sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(ref, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        *error = error_text(ref, "setting up the schema check");
        goto out;
    }
    for (int i = 0; i < N_TABLES; i++) {
        shape = table_shape(db, schema, TABLES[i]);
        want = table_shape(ref, "main", TABLES[i]);
        if (!shape || !want) {
            *error = error_text_for(shape ? ref : db, path, path);
            goto out;
        }
        if (shape[0] && strcmp(shape, want) != 0) {
            buf b;
            buf_init(&b);
            buf_printf(&b, "%s: not a syncsim results database: its table %s has %s; a results database's has %s",
                       path, TABLES[i], shape, want);
            *error = buf_take(&b);
            goto out;
        }
        xfree(shape);
        xfree(want);
        shape = want = NULL;
    }
    ok = true;
out:
    xfree(shape);
    xfree(want);
    sqlite3_close(ref);
    return ok;
}

results *results_open(const char *path, char **error)
{
    results *r = xcalloc(1, sizeof *r);
    const char *name = path ? path : ":memory:";
    if (sqlite3_open_v2(name, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        *error = error_text(r->db, name);
        results_close(r);
        return NULL;
    }
    sqlite3_busy_timeout(r->db, 30000);
    if (!check_database(r->db, "main", name, error)) {
        results_close(r);
        return NULL;
    }
    char *msg = NULL;
    if (sqlite3_exec(r->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        *error = error_text_for(r->db, name, name);
        results_close(r);
        return NULL;
    }
    r->path = xstrdup(name);
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
    xfree(r->path);
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
        *error = error_text_for(r->db, r->path, "recording a result");
        return false;
    }
    return true;
}

bool results_done(results *r, const char *scenario, const char *params, bool strict, u64map *done, char **error)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT seed FROM runs WHERE scenario = ?1 AND params = ?2 AND strict = ?3", -1,
                           &st, NULL) != SQLITE_OK) {
        *error = error_text_for(r->db, r->path, "reading earlier results");
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
        *error = error_text_for(r->db, r->path, "reading earlier results");
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
        *error = error_text_for(r->db, r->path, "reading results");
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
        *error = error_text_for(r->db, r->path, "reading results");
        return false;
    }
    return true;
}

bool results_each_sweep(results *r, void (*fn)(void *ctx, const result_sweep *s), void *ctx, char **error)
{
    /* A key with a grid cell naming it belongs to that grid; everything else was a sweep. */
    const char *sql =
        "SELECT scenario, params, strict, min(seed), max(seed), count(*), group_concat(DISTINCT shard),"
        " (SELECT file FROM runs f WHERE f.scenario = r.scenario AND f.params = r.params AND f.strict = r.strict"
        "   ORDER BY seed LIMIT 1),"
        " (SELECT profile FROM runs f WHERE f.scenario = r.scenario AND f.params = r.params AND f.strict = r.strict"
        "   ORDER BY seed LIMIT 1)"
        " FROM runs r WHERE NOT EXISTS (SELECT 1 FROM grid_cells c WHERE c.scenario = r.scenario AND c.params = r.params)"
        " GROUP BY scenario, params, strict ORDER BY 8, scenario, params, strict";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        *error = error_text_for(r->db, r->path, "reading results");
        return false;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        result_sweep sw = {
            .scenario = text(st, 0),
            .params = text(st, 1),
            .strict = sqlite3_column_int(st, 2) != 0,
            .seed_lo = (uint64_t)sqlite3_column_int64(st, 3),
            .seed_hi = (uint64_t)sqlite3_column_int64(st, 4),
            .rows = (uint64_t)sqlite3_column_int64(st, 5),
            .shards = text(st, 6),
            .file = text(st, 7),
            .profile = text(st, 8),
        };
        fn(ctx, &sw);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        *error = error_text_for(r->db, r->path, "reading results");
        return false;
    }
    return true;
}

bool results_each_grid(results *r, void (*fn)(void *ctx, const result_grid *g), void *ctx, char **error)
{
    sqlite3_stmt *grids = NULL, *cells = NULL;
    bool ok = false;
    if (sqlite3_prepare_v2(r->db, "SELECT name, file, scenario_file, description, seeds_lo, seeds_hi, axes"
                                  " FROM grids ORDER BY name", -1, &grids, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(r->db, "SELECT cell, scenario, params FROM grid_cells WHERE grid = ?1 ORDER BY cell", -1,
                           &cells, NULL) != SQLITE_OK)
        goto out;
    int rc;
    while ((rc = sqlite3_step(grids)) == SQLITE_ROW) {
        result_grid g = {
            .name = text(grids, 0),
            .file = text(grids, 1),
            .scenario_file = text(grids, 2),
            .description = text(grids, 3),
            .seeds_lo = (uint64_t)sqlite3_column_int64(grids, 4),
            .seeds_hi = (uint64_t)sqlite3_column_int64(grids, 5),
            .axes = text(grids, 6),
            .conflicts_per_write = -1.0,   /* grid_targets is the report's to read */
            .lost_per_write = -1.0,
        };
        size_t cap = 0;
        char **scenario = NULL, **params = NULL;
        sqlite3_bind_text(cells, 1, g.name, -1, SQLITE_TRANSIENT);
        int rc_cell;
        while ((rc_cell = sqlite3_step(cells)) == SQLITE_ROW) {
            /* Cells are numbered 0..n-1 by results_put_grid; a gap would be a damaged file. */
            xgrow(&scenario, &cap, (size_t)g.n_cells + 1, sizeof *scenario);
            params = xrealloc(params, cap * sizeof *params);
            scenario[g.n_cells] = xstrdup(text(cells, 1));
            params[g.n_cells] = xstrdup(text(cells, 2));
            g.n_cells++;
        }
        sqlite3_reset(cells);
        g.cell_scenario = scenario;
        g.cell_params = params;
        if (rc_cell == SQLITE_DONE)
            fn(ctx, &g);
        for (int64_t i = 0; i < g.n_cells; i++) {
            xfree(scenario[i]);
            xfree(params[i]);
        }
        xfree(scenario);
        xfree(params);
        if (rc_cell != SQLITE_DONE)
            goto out;
    }
    ok = rc == SQLITE_DONE;
out:
    if (!ok)
        *error = error_text_for(r->db, r->path, "reading the grids");
    sqlite3_finalize(grids);
    sqlite3_finalize(cells);
    return ok;
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
    /* The targets the grid file quotes, if any: the report draws only these. */
    sqlite3_finalize(cell);
    cell = NULL;
    if (sqlite3_prepare_v2(r->db, "DELETE FROM grid_targets WHERE grid = ?1", -1, &cell, NULL) != SQLITE_OK)
        goto rollback;
    sqlite3_bind_text(cell, 1, g->name, -1, SQLITE_STATIC);
    if (sqlite3_step(cell) != SQLITE_DONE)
        goto rollback;
    sqlite3_finalize(cell);
    cell = NULL;
    if (g->conflicts_per_write >= 0 || g->lost_per_write >= 0) {
        if (sqlite3_prepare_v2(r->db, "INSERT INTO grid_targets(grid, conflicts_per_write, lost_per_write, source)"
                                      " VALUES (?1, ?2, ?3, ?4)", -1, &cell, NULL) != SQLITE_OK)
            goto rollback;
        sqlite3_bind_text(cell, 1, g->name, -1, SQLITE_STATIC);
        if (g->conflicts_per_write >= 0)
            sqlite3_bind_double(cell, 2, g->conflicts_per_write);
        if (g->lost_per_write >= 0)
            sqlite3_bind_double(cell, 3, g->lost_per_write);
        sqlite3_bind_text(cell, 4, g->targets_source ? g->targets_source : "", -1, SQLITE_STATIC);
        if (sqlite3_step(cell) != SQLITE_DONE)
            goto rollback;
    }
    if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        ok = true;
rollback:
    if (!ok) {
        *error = error_text_for(r->db, r->path, "recording the grid");
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(grid);
    sqlite3_finalize(cell);
    return ok;
out:
    *error = error_text_for(r->db, r->path, "recording the grid");
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

/* One count of rows (SELECT count(*) ...), or -1 on an error. */
static int64_t count_rows(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/*
 * Copy the rows of the results file at path that `into` lacks, in one transaction: the
 * input is checked first (damaged, foreign), then attached, so nothing of a bad input
 * reaches into. Its grids replace ours of the same name.
 */
static bool merge_one(results *into, const char *path, int64_t *added, int64_t *skipped, char **error)
{
    sqlite3 *db = into->db;
    sqlite3_stmt *attach = NULL;
    bool attached = false, ok = false;
    struct stat st;
    /* ATTACH would create a missing file: a missing input is an error, not an empty shard. */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "%s: %s", path, stat(path, &st) != 0 ? strerror(errno) : "not a regular file");
        *error = buf_take(&b);
        return false;
    }
    if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS other", -1, &attach, NULL) != SQLITE_OK) {
        *error = error_text_for(db, path, path);
        goto out;
    }
    sqlite3_bind_text(attach, 1, path, -1, SQLITE_STATIC);
    if (sqlite3_step(attach) != SQLITE_DONE) {
        *error = error_text_for(db, path, path);
        goto out;
    }
    attached = true;
    if (!check_database(db, "other", path, error))
        goto out;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        *error = error_text_for(db, into->path, into->path);
        goto out;
    }
    int64_t before = count_rows(db, "SELECT count(*) FROM main.runs");
    int64_t incoming = count_rows(db, "SELECT count(*) FROM other.runs");
    bool copied = before >= 0 && incoming >= 0 &&
                  sqlite3_exec(db, "INSERT OR IGNORE INTO main.runs SELECT * FROM other.runs", NULL, NULL, NULL) ==
                      SQLITE_OK;
    /* Shards of one grid carry the same grid description; the incoming one replaces ours. */
    if (copied && other_has_table(db, "grids") && other_has_table(db, "grid_cells"))
        copied = sqlite3_exec(db,
                              "DELETE FROM main.grid_cells WHERE grid IN (SELECT name FROM other.grids);"
                              "DELETE FROM main.grid_targets WHERE grid IN (SELECT name FROM other.grids);"
                              "INSERT OR REPLACE INTO main.grids SELECT * FROM other.grids;"
                              "INSERT OR REPLACE INTO main.grid_cells SELECT * FROM other.grid_cells;",
                              NULL, NULL, NULL) == SQLITE_OK;
    /* Files written before grids had targets have no such table: their grids have none. */
    if (copied && other_has_table(db, "grid_targets"))
        copied = sqlite3_exec(db, "INSERT OR REPLACE INTO main.grid_targets SELECT * FROM other.grid_targets;", NULL,
                              NULL, NULL) == SQLITE_OK;
    int64_t after = copied ? count_rows(db, "SELECT count(*) FROM main.runs") : -1;
    if (after < 0) {
        *error = error_text_for(db, path, path);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        *error = error_text_for(db, into->path, into->path);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    *added = after - before;
    *skipped = incoming - *added;
    ok = true;
out:
    sqlite3_finalize(attach);
    if (attached)
        sqlite3_exec(db, "DETACH DATABASE other", NULL, NULL, NULL);
    return ok;
}

/* path followed by suffix; free with xfree. */
static char *with_suffix(const char *path, const char *suffix)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "%s%s", path, suffix);
    return buf_take(&b);
}

/* Remove a database file and what SQLite keeps beside it. */
static void remove_database(const char *path)
{
    static const char *const SUFFIXES[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof SUFFIXES / sizeof SUFFIXES[0]; i++) {
        char *name = with_suffix(path, SUFFIXES[i]);
        unlink(name);
        xfree(name);
    }
}

bool results_merge_files(const char *out_path, int n, char *const *inputs, merge_count *counts, char **error)
{
    bool ok = false, made = false;
    results *old = NULL, *into = NULL;
    /* The copy lives beside the output, so that rename() replaces it atomically. */
    char *tmp = with_suffix(out_path, ".merge-XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "%s: cannot make a file beside it to merge into: %s", out_path, strerror(errno));
        *error = buf_take(&b);
        goto out;
    }
    made = true;
    /* mkstemp makes it private (0600); the merged file gets the output's mode, or a new file's. */
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    bool exists = stat(out_path, &st) == 0;
    fchmod(fd, exists ? st.st_mode & 0777 : 0666 & ~mask);
    close(fd);
    if (exists) {
        /* The output's rows first: a consistent copy of it, checked like any results file. */
        if (!(old = results_open(out_path, error)))
            goto out;
        sqlite3_stmt *vacuum;
        bool copied = sqlite3_prepare_v2(old->db, "VACUUM INTO ?1", -1, &vacuum, NULL) == SQLITE_OK &&
                      sqlite3_bind_text(vacuum, 1, tmp, -1, SQLITE_STATIC) == SQLITE_OK &&
                      sqlite3_step(vacuum) == SQLITE_DONE;
        sqlite3_finalize(vacuum);
        if (!copied) {
            *error = error_text_for(old->db, out_path, out_path);
            goto out;
        }
        results_close(old);
        old = NULL;
    }
    if (!(into = results_open(tmp, error)))
        goto out;
    for (int i = 0; i < n; i++)
        if (!merge_one(into, inputs[i], &counts[i].added, &counts[i].skipped, error))
            goto out;
    /* A file of its own, with no write-ahead log beside it, before it takes the output's name. */
    if (sqlite3_exec(into->db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        *error = error_text_for(into->db, tmp, tmp);
        goto out;
    }
    results_close(into);
    into = NULL;
    /* Our own connection to the output is closed, which removed its log: one still there is
     * another process's, which would apply it to the new file. */
    char *wal = with_suffix(out_path, "-wal");
    bool busy = access(wal, F_OK) == 0;
    xfree(wal);
    if (busy) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "%s is in use by another process (a sweep or grid writing it?); merge into another file",
                   out_path);
        *error = buf_take(&b);
        goto out;
    }
    if (rename(tmp, out_path) != 0) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "%s: cannot replace it with the merged file: %s", out_path, strerror(errno));
        *error = buf_take(&b);
        goto out;
    }
    made = false;
    ok = true;
out:
    results_close(old);
    results_close(into);
    if (made)
        remove_database(tmp);
    xfree(tmp);
    return ok;
}
