/*
 * store: SQLite persistence. See store.h for the schema.
 * Invariant: every sqlite3_stmt is reset before the function that used it
 * returns, so statements never hold read locks across calls.
 */
#include "engine/store.h"
#include "base/json.h"
#include "engine/body_cache.h"
#include "engine/store_malloc.h"
#include "engine/store_vfs.h"
#include "base/xalloc.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_RECORD_BODY,
    ST_RECORD_PUT,
    ST_RECORD_INSERT,
    ST_RECORD_UPDATE,
    ST_CHANGES_SINCE,
    ST_CHANGELOG_ADD,
    ST_RECORDS_ALL,
    ST_META_GET,
    ST_META_SET,
    ST_META_SET2,
    ST_META_SET3,
    ST_META_SET4,
    ST_OUTBOX_ADD,
    ST_OUTBOX_PEEK,
    ST_OUTBOX_REMOVE,
    ST_OUTBOX_HAS,
    ST_OUTBOX_REBASE,
    ST_OUTBOX_COUNT,
    ST_OUTBOX_ROWS,
    ST_OUTBOX_MARK_CONFLICT,
    ST_OUTBOX_REMOVE_RECORD,
    ST_OUTBOX_ATTEMPTED,
    ST_OUTBOX_CHANGED,
    ST_RECORD_REMOVE,
    ST_CHANGES_SINCE_TIME,
    ST_CHANGES_SINCE_TIME_TYPE,
    ST_CHANGES_SINCE_WRITER,
    ST_VERSIONS_SINCE,
    ST_VERSIONS_SINCE_TIME,
    ST_CHANGES_SINCE_WRITER_TYPE,
    ST_VERSION_ADD,
    ST_VISIBLE_SINCE,
    ST_VISIBLE_SINCE_TIME,
    ST_VISIBLE_SINCE_TIME_TYPE,
    ST_HIDDEN_HORIZON,
    ST_HIDDEN_FOR_TENANT,
    ST_LOCAL_CHANGES_SINCE,
    ST_CONFLICT_PUT,
    ST_CONFLICT_GET,
    ST_CONFLICT_REMOVE,
    ST_CONFLICT_COUNT,
    ST_CHANGELOG_WRITES_SINCE,
    ST_APPLIED_GET,
    ST_APPLIED_PUT,
    ST_KEPT_ADD,
    ST_KEPT_ALL,
    ST_OUTBOX_RENAME,
    ST_IDMAP_PUT,
    ST_IDMAP_GET,
    ST_OUTBOX_OF,
    ST_COUNT
};

static const char *const SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_RECORD_BODY] = "SELECT body FROM records WHERE type = ?1 AND id = ?2",
    [ST_RECORD_PUT] = ("INSERT INTO records(type, id, tenant, seq, version, deleted, body, server_ts, local_ts) "
                       "VALUES (?1, ?2, ?7, ?3, ?4, ?5, ?6, ?8, ?9) "
                       "ON CONFLICT(type, id) DO UPDATE SET tenant = ?7, seq = ?3, version = ?4, deleted = ?5, body = ?6,"
                       " server_ts = ?8, local_ts = ?9"),
    /* The same row written when whether it exists is known (store_record_put_if_changed read it):
     * an upsert first tries the insert, and pays for the failed attempt. */
    [ST_RECORD_INSERT] = ("INSERT INTO records(type, id, tenant, seq, version, deleted, body, server_ts, local_ts) "
                          "VALUES (?1, ?2, ?7, ?3, ?4, ?5, ?6, ?8, ?9)"),
    [ST_RECORD_UPDATE] = ("UPDATE records SET tenant = ?7, seq = ?3, version = ?4, deleted = ?5, body = ?6,"
                          " server_ts = ?8, local_ts = ?9 WHERE type = ?1 AND id = ?2"),
    [ST_CHANGES_SINCE] = "SELECT body FROM records WHERE tenant = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_CHANGELOG_ADD] = "INSERT INTO changes(seq, type, id, version, w) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_RECORDS_ALL] = "SELECT body FROM records ORDER BY type, id",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
    /* store_meta_set_all: up to four keys in one statement (a server writes three or four per push). */
    [ST_META_SET2] = ("INSERT INTO meta(key, value) VALUES (?1, ?2), (?3, ?4)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    [ST_META_SET3] = ("INSERT INTO meta(key, value) VALUES (?1, ?2), (?3, ?4), (?5, ?6)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    [ST_META_SET4] = ("INSERT INTO meta(key, value) VALUES (?1, ?2), (?3, ?4), (?5, ?6), (?7, ?8)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    [ST_OUTBOX_ADD] = ("INSERT INTO outbox(type, id, op, base_version, w, changed, body, force, rank)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
    [ST_OUTBOX_PEEK] = ("SELECT seq, op, base_version, w, changed, body, force, attempts, rank, id FROM outbox"
                        " WHERE state = 0 ORDER BY rank, seq LIMIT ?1"),
    [ST_OUTBOX_REMOVE] = "DELETE FROM outbox WHERE seq = ?1",
    [ST_OUTBOX_HAS] = "SELECT 1 FROM outbox WHERE type = ?1 AND id = ?2 LIMIT 1",
    [ST_OUTBOX_REBASE] = "UPDATE outbox SET base_version = ?4 WHERE type = ?1 AND id = ?2 AND base_version = ?3",
    [ST_OUTBOX_COUNT] = "SELECT count(*) FROM outbox WHERE state = 0",
    [ST_OUTBOX_ROWS] = "SELECT count(*) FROM outbox",
    [ST_OUTBOX_MARK_CONFLICT] = "UPDATE outbox SET state = 1 WHERE type = ?1 AND id = ?2",
    [ST_OUTBOX_REMOVE_RECORD] = "DELETE FROM outbox WHERE type = ?1 AND id = ?2",
    [ST_OUTBOX_ATTEMPTED] = "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?1 RETURNING attempts",
    [ST_OUTBOX_CHANGED] = "SELECT changed FROM outbox WHERE type = ?1 AND id = ?2 ORDER BY seq",
    [ST_RECORD_REMOVE] = "DELETE FROM records WHERE type = ?1 AND id = ?2",
    [ST_CHANGES_SINCE_TIME] = ("SELECT body FROM records WHERE tenant = ?3 AND (server_ts > ?1 OR (?4 AND server_ts = ?1))"
                               " ORDER BY server_ts, seq LIMIT ?2"),
    [ST_CHANGES_SINCE_TIME_TYPE] = ("SELECT body FROM records WHERE tenant = ?3 AND type = ?5"
                                    " AND (server_ts > ?1 OR (?4 AND server_ts = ?1)) ORDER BY server_ts, seq LIMIT ?2"),
    /* server: { pulls: log }: every stored version after the cursor, in change-log order. */
    [ST_VERSIONS_SINCE] = "SELECT body FROM versions WHERE tenant = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_VERSIONS_SINCE_TIME] = ("SELECT body FROM versions WHERE tenant = ?3 AND (server_ts > ?1 OR (?4 AND server_ts = ?1))"
                                " ORDER BY server_ts, seq LIMIT ?2"),
    /* cursor: writer-time: local_ts is the record's last writer's own clock (st.ts_us). */
    [ST_CHANGES_SINCE_WRITER] = ("SELECT body FROM records WHERE tenant = ?3 AND (local_ts > ?1 OR (?4 AND local_ts = ?1))"
                                 " ORDER BY local_ts, seq LIMIT ?2"),
    [ST_CHANGES_SINCE_WRITER_TYPE] = ("SELECT body FROM records WHERE tenant = ?3 AND type = ?5"
                                      " AND (local_ts > ?1 OR (?4 AND local_ts = ?1)) ORDER BY local_ts, seq LIMIT ?2"),
    /* Server visibility (store_versions_enable): a version is visible from visible_us on; a pull sees each
     * record at its latest visible version, and nothing numbered or stamped from ?5 on (the horizon). */
    [ST_VERSION_ADD] = ("INSERT INTO versions(seq, type, id, tenant, version, server_ts, visible_us, body)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
    [ST_VISIBLE_SINCE] = ("SELECT body FROM versions v WHERE tenant = ?3 AND seq > ?1 AND seq < ?5 AND visible_us <= ?4"
                          " AND NOT EXISTS (SELECT 1 FROM versions n WHERE n.type = v.type AND n.id = v.id"
                          " AND n.version > v.version AND n.visible_us <= ?4) ORDER BY seq LIMIT ?2"),
    [ST_VISIBLE_SINCE_TIME] = ("SELECT body FROM versions v WHERE tenant = ?3 AND (server_ts > ?1 OR (?6 AND server_ts = ?1))"
                               " AND server_ts < ?5 AND visible_us <= ?4"
                               " AND NOT EXISTS (SELECT 1 FROM versions n WHERE n.type = v.type AND n.id = v.id"
                               " AND n.version > v.version AND n.visible_us <= ?4) ORDER BY server_ts, seq LIMIT ?2"),
    [ST_VISIBLE_SINCE_TIME_TYPE] = ("SELECT body FROM versions v WHERE tenant = ?3 AND type = ?7"
                                    " AND (server_ts > ?1 OR (?6 AND server_ts = ?1)) AND server_ts < ?5 AND visible_us <= ?4"
                                    " AND NOT EXISTS (SELECT 1 FROM versions n WHERE n.type = v.type AND n.id = v.id"
                                    " AND n.version > v.version AND n.visible_us <= ?4) ORDER BY server_ts, seq LIMIT ?2"),
    [ST_HIDDEN_HORIZON] = "SELECT min(seq), min(server_ts) FROM versions WHERE visible_us > ?1",
    [ST_HIDDEN_FOR_TENANT] = "SELECT 1 FROM versions WHERE tenant = ?2 AND visible_us > ?1 LIMIT 1",
    [ST_LOCAL_CHANGES_SINCE] = "SELECT body FROM records WHERE local_ts > ?1 ORDER BY local_ts, type, id LIMIT ?2",
    [ST_CONFLICT_PUT] = "INSERT OR REPLACE INTO conflicts(type, id, body) VALUES (?1, ?2, ?3)",
    [ST_CONFLICT_GET] = "SELECT body FROM conflicts WHERE type = ?1 AND id = ?2",
    [ST_CONFLICT_REMOVE] = "DELETE FROM conflicts WHERE type = ?1 AND id = ?2",
    [ST_CONFLICT_COUNT] = "SELECT count(*) FROM conflicts",
    [ST_CHANGELOG_WRITES_SINCE] = "SELECT w FROM changes WHERE type = ?1 AND id = ?2 AND version > ?3 ORDER BY seq",
    [ST_APPLIED_GET] = "SELECT result FROM applied_ops WHERE device = ?1 AND op = ?2",
    [ST_APPLIED_PUT] = "INSERT OR REPLACE INTO applied_ops(device, op, result) VALUES (?1, ?2, ?3)",
    [ST_KEPT_ADD] = "INSERT OR IGNORE INTO kept(type, id, w, body) VALUES (?1, ?2, ?3, ?4)",
    [ST_KEPT_ALL] = "SELECT type, id, w FROM kept ORDER BY type, id, w",
    [ST_OUTBOX_RENAME] = "UPDATE outbox SET id = ?3 WHERE type = ?1 AND id = ?2",
    [ST_IDMAP_PUT] = "INSERT OR REPLACE INTO id_map(type, temp, real) VALUES (?1, ?2, ?3)",
    [ST_IDMAP_GET] = "SELECT real FROM id_map WHERE type = ?1 AND temp = ?2",
    [ST_OUTBOX_OF] = ("SELECT seq, op, base_version, w, changed, body, force, attempts, rank, id, state FROM outbox"
                      " WHERE type = ?1 AND id = ?2 ORDER BY seq LIMIT ?3"),
};

/* A store lives as long as its replica's process: a process that is killed between transactions (a
 * simulated crash) loses nothing committed, which is all a replica's durability promises here. */
static const char PRAGMAS[] =
    "PRAGMA journal_mode = MEMORY;"
    "PRAGMA synchronous = OFF;";

/* The records table has no secondary index here: store_index_records adds the ones a replica's
 * queries read by (a device that pushes from its outbox reads records by key only). Every body
 * column holds a record: JSON text in a file store, record_pack's blob in memory (encode_body).
 * records keeps its rowid: a body with a long event log outgrows what a WITHOUT ROWID table keeps
 * in its B-tree pages (about a twentieth of a page a row, SQLite's guidance), and a day of long
 * logs cost 2.5% more instructions that way. The outbox is read pending-first in push order,
 * which outbox_pending serves without a sort. */
static const char SCHEMA[] =
    "CREATE TABLE records(type TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  version INTEGER NOT NULL, deleted INTEGER NOT NULL, body TEXT NOT NULL,"
    "  server_ts INTEGER NOT NULL, local_ts INTEGER NOT NULL,"
    "  PRIMARY KEY(type, id));"
    "CREATE TABLE changes(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL,"
    "  version INTEGER NOT NULL, w INTEGER NOT NULL);"
    "CREATE INDEX changes_record ON changes(type, id, version);"
    "CREATE TABLE outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, id TEXT NOT NULL,"
    "  op INTEGER NOT NULL, base_version INTEGER NOT NULL, w INTEGER NOT NULL,"
    "  changed TEXT NOT NULL, body TEXT NOT NULL,"
    "  force INTEGER NOT NULL DEFAULT 0,"      /* a user's resolution: overwrite whatever the version */
    "  rank INTEGER NOT NULL DEFAULT 0,"       /* dependency rank: parents push before children */
    "  state INTEGER NOT NULL DEFAULT 0,"      /* 0 pending, 1 waiting for the user (a conflict) */
    "  attempts INTEGER NOT NULL DEFAULT 0);"  /* pushes that went unanswered */
    "CREATE INDEX outbox_record ON outbox(type, id);"
    "CREATE INDEX outbox_pending ON outbox(state, rank, seq);"
    "CREATE TABLE conflicts(type TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,"
    "  PRIMARY KEY(type, id));"
    "CREATE TABLE applied_ops(device INTEGER NOT NULL, op INTEGER NOT NULL, result TEXT NOT NULL,"
    "  PRIMARY KEY(device, op)) WITHOUT ROWID;"
    "CREATE TABLE kept(type TEXT NOT NULL, id TEXT NOT NULL, w INTEGER NOT NULL, body TEXT NOT NULL,"
    "  PRIMARY KEY(type, id, w)) WITHOUT ROWID;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE id_map(type TEXT NOT NULL, temp TEXT NOT NULL, real TEXT NOT NULL,"
    "  PRIMARY KEY(type, temp)) WITHOUT ROWID;";

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];   /* NULL until first used: stmt() prepares it */
    buf text;       /* reused for encoding bodies */
    bool packed;    /* bodies in record_pack's form (an in-memory store), else JSON text */
    sqlite3 *durable;               /* the last flush's copy, or NULL (flush: commit) */
    int64_t flushed_changes;        /* sqlite3_total_changes64 of db when the copy last matched it */
    /* Opened through the fault shim (store_open_faultable): a storage error is then the world's
     * fault, not the engine's bug, and fails the transaction instead of aborting the process. */
    bool faultable;
    store_vfs_faults faults;
    /* The storage error (SQLITE_FULL, SQLITE_IOERR_*) that failed the current transaction, or 0.
     * Invariant: while it is set no write statement runs (SQLite may already have rolled the
     * transaction back, and a later write would commit on its own); store_commit rolls back. */
    int failed;
    bool in_transaction;   /* between store_begin and store_commit */
    /* Rows in the outbox, in any state, as the current transaction sees them; -1 when not known
     * (counted when next asked). A device's outbox is empty after most pushes, and a pulled record
     * asks it whether the record has changes queued: with no rows the answer needs no query.
     * Unknown again after anything that changes the table behind the count: a failed statement or
     * transaction, a power loss, a wipe. */
    int64_t outbox_rows;
    /* The records table's bodies as the current transaction sees them (body_cache.h): the reads
     * before a write are answered without SQLite. Only this store writes its file (it holds the
     * lock), so nothing changes the table behind the cache but what it is told. Told only what
     * succeeded; emptied by the same events that make outbox_rows unknown. */
    body_cache bodies;
};

static _Noreturn void store_fail(store *s, const char *what)
{
    fprintf(stderr, "syncsim: store: %s: %s\n", what, sqlite3_errmsg(s->db));
    abort();
}

static bool storage_error(int rc)
{
    return (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR;
}

static void forget_cached(store *s);

/* A write statement failed with rc: a storage fault the transaction records, or a bug. Outside a
 * transaction the failed statement was all there was: it is lost, and nothing else depends on it
 * (the one such write is the client's boot count, see client_boot). */
static void write_failed(store *s, const char *what, int rc)
{
    if (!s->faultable || !storage_error(rc))
        store_fail(s, what);
    if (s->in_transaction)
        s->failed = sqlite3_extended_errcode(s->db);
    forget_cached(s);   /* SQLite may have rolled the transaction back already */
}

/*
 * The statement, prepared on its first use and kept until store_close. Preparing all of them at
 * open cost a quarter of a short run's instructions (a two-device sweep seed opens three stores,
 * and a client or a server uses about half of the statements); the statements are the same, so
 * when one is prepared changes nothing a replica does.
 */
static sqlite3_stmt *stmt(store *s, enum stmt_id id)
{
    if (!s->stmt[id] &&
        sqlite3_prepare_v3(s->db, SQL[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL) != SQLITE_OK)
        store_fail(s, SQL[id]);
    return s->stmt[id];
}

/* Run a statement that returns no rows, then reset it. After a storage error in this transaction
 * it runs nothing (see struct store). */
static void finish(store *s, enum stmt_id id);

static bool run_done(store *s, enum stmt_id id)
{
    sqlite3_stmt *st = stmt(s, id);
    bool done = false;
    if (!s->failed) {
        int rc = sqlite3_step(st);
        done = rc == SQLITE_DONE;
        if (!done)
            write_failed(s, SQL[id], rc);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return done;
}

/* The outbox statement just run by run_done (done: it ran and succeeded) added delta rows. */
static void outbox_rows_add(store *s, bool done, int64_t delta)
{
    if (!done)
        s->outbox_rows = -1;
    else if (s->outbox_rows >= 0)
        s->outbox_rows += delta;
}

/* The table may have changed behind what the store remembers of it. */
static void forget_cached(store *s)
{
    s->outbox_rows = -1;
    body_cache_clear(&s->bodies);
}

/* Rows in the outbox, counted when not known. */
static int64_t outbox_rows(store *s)
{
    if (s->outbox_rows < 0) {
        sqlite3_stmt *st = stmt(s, ST_OUTBOX_ROWS);
        if (sqlite3_step(st) != SQLITE_ROW)
            store_fail(s, SQL[ST_OUTBOX_ROWS]);
        s->outbox_rows = sqlite3_column_int64(st, 0);
        finish(s, ST_OUTBOX_ROWS);
    }
    return s->outbox_rows;
}

static void finish(store *s, enum stmt_id id)
{
    sqlite3_reset(stmt(s, id));
    sqlite3_clear_bindings(stmt(s, id));
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
    sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

static store *open_store(const char *path, bool keep, bool faultable, char **error)
{
    store *s = xcalloc(1, sizeof *s);
    buf_init(&s->text);
    s->packed = !path;
    s->outbox_rows = -1;
    body_cache_init(&s->bodies);
    if (path && !keep)
        unlink(path);   /* each run starts from an empty store */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const char *vfs = NULL;
    if (faultable) {
        /* ":memory:" bypasses every VFS: a faultable in-process store is a private memdb database
         * (a name without a leading '/'), its journal in memory as every store's is (PRAGMAS). */
        if (store_vfs_register() != SQLITE_OK)
            goto fail;
        vfs = path ? STORE_VFS_FILE : STORE_VFS_MEMDB;
    }
    if (sqlite3_open_v2(path ? path : faultable ? "store" : ":memory:", &s->db, flags, vfs) != SQLITE_OK)
        goto fail;
    if (faultable && !store_vfs_attach(s->db, &s->faults))
        goto fail;
    s->faultable = faultable;
    char *errmsg = NULL;
    if (sqlite3_exec(s->db, PRAGMAS, NULL, NULL, &errmsg) != SQLITE_OK) {
        sqlite3_free(errmsg);
        goto fail;
    }
    /* An in-memory store that no fault can fail never rolls back (no statement here fails halfway:
     * conflicts are resolved by ON CONFLICT / OR REPLACE before anything is written), so it keeps no
     * rollback journal: the journal copied every page a transaction touched, a tenth of a week-100
     * write's instructions. A file store keeps one (its process may be killed mid-transaction), and
     * a faultable store does (a failed transaction is rolled back). */
    if (!path && !faultable && sqlite3_exec(s->db, "PRAGMA journal_mode = OFF;", NULL, NULL, &errmsg) != SQLITE_OK) {
        sqlite3_free(errmsg);
        goto fail;
    }
    /* A kept store has its tables already: the schema's first table says which. */
    sqlite3_stmt *probe = NULL;
    bool has_schema = keep && sqlite3_prepare_v2(s->db, "SELECT 1 FROM meta LIMIT 1", -1, &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (!has_schema && sqlite3_exec(s->db, SCHEMA, NULL, NULL, &errmsg) != SQLITE_OK) {
        sqlite3_free(errmsg);
        goto fail;
    }
    return s;

fail: {
    const char *msg = s->db ? sqlite3_errmsg(s->db) : "cannot allocate a database handle";
    size_t n = strlen(msg) + (path ? strlen(path) : 8) + 32;
    *error = xmalloc(n);
    snprintf(*error, n, "cannot create store %s: %s", path ? path : ":memory:", msg);
    sqlite3_close(s->db);
    buf_free(&s->text);
    xfree(s);
    return NULL;
}
}

void store_library_setup(void)
{
    store_malloc_install();
    /* SQLite counts its allocations under a global mutex unless told not to: 2% of a week-100
     * write's instructions, for figures nothing here reads. Before any database is opened (the
     * call fails, harmlessly, once the library is initialised). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

store *store_open(const char *path, bool keep, char **error)
{
    return open_store(path, keep, false, error);
}

store *store_open_faultable(const char *path, bool keep, char **error)
{
    return open_store(path, keep, true, error);
}

/* IF NOT EXISTS: a kept store (a replica restarting on its file) has them already. */
static const char *const RECORD_INDEX_SQL[] = {
    [STORE_RECORDS_BY_SEQ] = "CREATE INDEX IF NOT EXISTS records_seq ON records(tenant, seq)",
    [STORE_RECORDS_BY_SERVER_TIME] = "CREATE INDEX IF NOT EXISTS records_server_ts ON records(tenant, server_ts)",
    [STORE_RECORDS_BY_LOCAL_TIME] = "CREATE INDEX IF NOT EXISTS records_local_ts ON records(local_ts)",
};

void store_index_records(store *s, store_record_order order)
{
    assert(order >= 0 && order < (int)(sizeof RECORD_INDEX_SQL / sizeof RECORD_INDEX_SQL[0]));
    char *errmsg = NULL;
    if (sqlite3_exec(s->db, RECORD_INDEX_SQL[order], NULL, NULL, &errmsg) != SQLITE_OK) {
        sqlite3_free(errmsg);
        store_fail(s, RECORD_INDEX_SQL[order]);
    }
}

bool store_is_faultable(const store *s)
{
    return s->faultable;
}

void store_fault_disk_full(store *s, bool full)
{
    assert(s->faultable);
    s->faults.disk_full = full;
}

void store_fault_io_errors(store *s, int transactions)
{
    assert(s->faultable && transactions >= 0);
    s->faults.io_errors = transactions;
}

uint64_t store_faults_injected(const store *s)
{
    return s->faults.injected;
}

bool store_integrity_check(store *s, char **message)
{
    sqlite3_stmt *st = NULL;
    *message = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        store_fail(s, "PRAGMA integrity_check");
    bool ok = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        ok = text && strcmp(text, "ok") == 0;
        if (!ok)
            *message = xstrdup(text ? text : "no answer");
    } else {
        *message = xstrdup(sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    return ok;
}

const char *store_failure_reason(int code)
{
    if ((code & 0xff) == SQLITE_FULL)
        return "storage full";
    if ((code & 0xff) == SQLITE_IOERR)
        return "storage I/O error";
    return "storage error";
}

/* In the default locking mode SQLite takes and drops the file lock and looks for a hot journal
 * around every transaction, which cost a replica served by `syncsim node` (a file store) about a
 * quarter of its time. A replica's store has one connection, so it can take the lock once and keep
 * it; other connections then cannot read the file until it closes. */
void store_keep_lock(store *s)
{
    char *errmsg = NULL;
    if (sqlite3_exec(s->db, "PRAGMA locking_mode = EXCLUSIVE;", NULL, NULL, &errmsg) != SQLITE_OK)
        sqlite3_free(errmsg);   /* only speed depends on it */
}

void store_close(store *s)
{
    if (!s)
        return;
    sqlite3_close(s->durable);   /* NULL: a no-op */
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);   /* NULL for a statement never used: a no-op */
    sqlite3_close(s->db);
    buf_free(&s->text);
    body_cache_free(&s->bodies);
    xfree(s);
}

void store_begin(store *s)
{
    assert(!s->in_transaction);
    s->in_transaction = true;
    s->failed = 0;
    if (s->faultable)
        store_vfs_arm(&s->faults);
    run_done(s, ST_BEGIN);
}

/* A failed transaction is rolled back unless SQLite already did (it does for some I/O errors). */
static void roll_back_failed(store *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        char *errmsg = NULL;
        if (sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, &errmsg) != SQLITE_OK) {
            fprintf(stderr, "syncsim: store: ROLLBACK after a storage error: %s\n", errmsg ? errmsg : "?");
            abort();
        }
    }
}

int store_commit(store *s)
{
    if (!s->failed)
        run_done(s, ST_COMMIT);
    if (s->failed) {
        roll_back_failed(s);
        forget_cached(s);
    }
    s->in_transaction = false;
    return s->failed;
}

/* The whole of from's main database into to's, in one step (replica stores are small). */
static bool copy_database(sqlite3 *to, sqlite3 *from)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b)
        return false;
    int rc = sqlite3_backup_step(b, -1);
    return sqlite3_backup_finish(b) == SQLITE_OK && rc == SQLITE_DONE;
}

bool store_durable_open(store *s, const char *durable_path, char **error)
{
    assert(!s->durable);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    char *errmsg = NULL;
    if (sqlite3_open_v2(durable_path ? durable_path : ":memory:", &s->durable, flags, NULL) != SQLITE_OK ||
        sqlite3_exec(s->durable, PRAGMAS, NULL, NULL, &errmsg) != SQLITE_OK) {
        sqlite3_free(errmsg);
        const char *msg = s->durable ? sqlite3_errmsg(s->durable) : "cannot allocate a database handle";
        size_t n = strlen(msg) + (durable_path ? strlen(durable_path) : 8) + 48;
        *error = xmalloc(n);
        snprintf(*error, n, "cannot open the durable copy %s: %s", durable_path ? durable_path : ":memory:", msg);
        sqlite3_close(s->durable);
        s->durable = NULL;
        return false;
    }
    /* Until the first flush the copy may be stale (a file left by an earlier run): count the store
     * as unflushed so that the first store_flush writes it whole. */
    s->flushed_changes = -1;
    return true;
}

bool store_unflushed(store *s)
{
    return s->durable && sqlite3_total_changes64(s->db) != s->flushed_changes;
}

bool store_flush(store *s)
{
    if (!store_unflushed(s))
        return false;
    if (!copy_database(s->durable, s->db))
        store_fail(s, "flush (backup to the durable copy)");
    s->flushed_changes = sqlite3_total_changes64(s->db);
    return true;
}

void store_power_loss(store *s)
{
    if (!s->durable || s->flushed_changes < 0)
        return;   /* flush: commit, or never flushed (then nothing was made durable in batches yet) */
    if (!copy_database(s->db, s->durable))
        store_fail(s, "power loss (restore from the durable copy)");
    forget_cached(s);
    s->flushed_changes = sqlite3_total_changes64(s->db);
}

/* A body in either form: a store reads what it wrote, and a kept file store's bodies are JSON. */
static bool decode_bytes(const void *data, size_t len, arena *a, record *out)
{
    const char *why = NULL;
    bool ok = data && len > 0 &&
              (*(const unsigned char *)data == RECORD_PACK_MAGIC ? record_unpack(data, len, a, out, &why)
                                                                 : record_decode(data, len, a, out, &why));
    assert(ok && "stored record body is malformed");
    return ok;
}

static bool decode_body(sqlite3_stmt *st, int col, arena *a, record *out)
{
    return decode_bytes(sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col), a, out);
}

/* The stored body of (type, id): from the cache, or read from the table and cached. The
 * body stays valid until the cache next changes. */
static body_state cached_body(store *s, const char *type, const char *id, const void **body, size_t *len)
{
    body_state state = body_cache_get(&s->bodies, type, id, body, len);
    if (state != BODY_UNKNOWN)
        return state;
    sqlite3_stmt *st = stmt(s, ST_RECORD_BODY);
    bind_text(st, 1, type);
    bind_text(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *data = sqlite3_column_blob(st, 0);
        body_cache_set(&s->bodies, type, id, data ? data : "", (size_t)sqlite3_column_bytes(st, 0));
    } else if (rc == SQLITE_DONE) {
        body_cache_set(&s->bodies, type, id, NULL, 0);
    } else {
        store_fail(s, SQL[ST_RECORD_BODY]);
    }
    finish(s, ST_RECORD_BODY);
    return body_cache_get(&s->bodies, type, id, body, len);
}

/* Encode r into the store's body buffer, valid until the next encode: JSON text in a file (people
 * open it with sqlite3), packed in memory (record_pack: a quarter of a week-100 write's
 * instructions went to the JSON). */
static void encode_body(store *s, const record *r)
{
    buf_clear(&s->text);
    if (s->packed)
        record_pack(r, &s->text);
    else
        record_encode(r, &s->text);
}

/* Bind the body encode_body made last: a blob or text, by its length (a packed body holds NULs). */
static void bind_body(store *s, sqlite3_stmt *st, int i)
{
    if (s->packed)
        sqlite3_bind_blob(st, i, s->text.data, (int)s->text.len, SQLITE_STATIC);
    else
        sqlite3_bind_text(st, i, s->text.data, (int)s->text.len, SQLITE_STATIC);
}

bool store_record_get(store *s, const char *type, const char *id, arena *a, record *out)
{
    const void *body;
    size_t len;
    return cached_body(s, type, id, &body, &len) == BODY_PRESENT && decode_bytes(body, len, a, out);
}

/* Upsert r with its body already encoded in s->text. */
/* id: ST_RECORD_PUT, or ST_RECORD_INSERT or ST_RECORD_UPDATE when the row is known to be absent or there. */
static void put_encoded(store *s, const record *r, enum stmt_id id)
{
    sqlite3_stmt *st = stmt(s, id);
    bind_text(st, 1, r->type);
    bind_text(st, 2, r->id);
    sqlite3_bind_int64(st, 3, r->seq);
    sqlite3_bind_int64(st, 4, r->version);
    sqlite3_bind_int(st, 5, r->deleted);
    bind_body(s, st, 6);
    sqlite3_bind_int64(st, 8, r->updated_us);
    sqlite3_bind_int64(st, 9, r->st.ts_us);
    bind_text(st, 7, r->tenant ? r->tenant : "");
    if (run_done(s, id))
        body_cache_set(&s->bodies, r->type, r->id, s->text.data, s->text.len);
}

void store_record_put(store *s, const record *r)
{
    encode_body(s, r);
    put_encoded(s, r, ST_RECORD_PUT);
}

int store_record_put_if_changed(store *s, const record *r, arena *a)
{
    encode_body(s, r);
    const void *body;
    size_t len;
    body_state state = cached_body(s, r->type, r->id, &body, &len);
    int outcome = STORE_PUT_NEW;
    if (state == BODY_PRESENT) {
        if (len == s->text.len && memcmp(body, s->text.data, len) == 0)
            return STORE_PUT_SAME;
        bool same;
        if (*(const unsigned char *)body == RECORD_PACK_MAGIC) {
            same = record_packed_same_provenance(body, len, r);
        } else {
            record old;
            decode_bytes(body, len, a, &old);
            same = record_same_provenance(&old, r);
        }
        outcome = same ? STORE_PUT_RESTAMPED : STORE_PUT_CHANGED;
    }
    put_encoded(s, r, state == BODY_PRESENT ? ST_RECORD_UPDATE : ST_RECORD_INSERT);
    return outcome;
}

static int collect_bodies(store *s, enum stmt_id id, int limit, arena *a, record **out);

int store_changes_since(store *s, const char *tenant, int64_t since, int limit, arena *a, record **out)
{
    sqlite3_stmt *st = stmt(s, ST_CHANGES_SINCE);
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int(st, 2, limit);
    bind_text(st, 3, tenant ? tenant : "");
    return collect_bodies(s, ST_CHANGES_SINCE, limit, a, out);
}

void store_changelog_add(store *s, const record *r)
{
    sqlite3_stmt *st = stmt(s, ST_CHANGELOG_ADD);
    sqlite3_bind_int64(st, 1, r->seq);
    bind_text(st, 2, r->type);
    bind_text(st, 3, r->id);
    sqlite3_bind_int64(st, 4, r->version);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)r->st.w);
    run_done(s, ST_CHANGELOG_ADD);
}

void store_records_each(store *s, arena *a, void (*fn)(void *ctx, const record *r), void *ctx)
{
    sqlite3_stmt *st = stmt(s, ST_RECORDS_ALL);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        record r;
        decode_body(st, 0, a, &r);
        fn(ctx, &r);
    }
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_RECORDS_ALL]);
    finish(s, ST_RECORDS_ALL);
}

int64_t store_meta_get(store *s, const char *key, int64_t fallback)
{
    sqlite3_stmt *st = stmt(s, ST_META_GET);
    bind_text(st, 1, key);
    int64_t result = fallback;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_META_GET]);
    finish(s, ST_META_GET);
    return result;
}

void store_meta_set(store *s, const char *key, int64_t number)
{
    sqlite3_stmt *st = stmt(s, ST_META_SET);
    bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, number);
    run_done(s, ST_META_SET);
}

void store_meta_set_all(store *s, int n, const char *const *keys, const int64_t *numbers)
{
    static const enum stmt_id BY_COUNT[] = { ST_META_SET, ST_META_SET, ST_META_SET2, ST_META_SET3, ST_META_SET4 };
    assert(n >= 1 && n <= STORE_META_SET_MAX);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < i; k++)
            assert(strcmp(keys[i], keys[k]) != 0 && "one statement cannot set a key twice");
    sqlite3_stmt *st = stmt(s, BY_COUNT[n]);
    for (int i = 0; i < n; i++) {
        bind_text(st, 2 * i + 1, keys[i]);
        sqlite3_bind_int64(st, 2 * i + 2, numbers[i]);
    }
    run_done(s, BY_COUNT[n]);
}

static char *changed_to_json(int n, const char *const *names)
{
    buf b;
    buf_init(&b);
    buf_putc(&b, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            buf_putc(&b, ',');
        buf_put_json_string(&b, names[i]);
    }
    buf_putc(&b, ']');
    return buf_take(&b);
}

/* Queue e with its body already encoded in s->text. */
static int64_t outbox_add_encoded(store *s, const outbox_entry *e)
{
    sqlite3_stmt *st = stmt(s, ST_OUTBOX_ADD);
    char *changed = changed_to_json(e->n_changed, e->changed);
    bind_text(st, 1, e->type);
    bind_text(st, 2, e->id);
    sqlite3_bind_int(st, 3, (int)e->op);
    sqlite3_bind_int64(st, 4, e->base_version);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)e->w);
    bind_text(st, 6, changed);
    bind_body(s, st, 7);
    sqlite3_bind_int(st, 8, e->force);
    sqlite3_bind_int(st, 9, e->rank);
    outbox_rows_add(s, run_done(s, ST_OUTBOX_ADD), 1);
    xfree(changed);
    return sqlite3_last_insert_rowid(s->db);
}

int64_t store_outbox_add(store *s, const outbox_entry *e)
{
    encode_body(s, &e->body);
    return outbox_add_encoded(s, e);
}

int64_t store_record_put_queued(store *s, const record *r, const outbox_entry *e)
{
    assert(strcmp(e->body.type, r->type) == 0 && strcmp(e->body.id, r->id) == 0 && e->body.st.w == r->st.w &&
           e->body.n_fields == r->n_fields && e->body.n_events == r->n_events);
    encode_body(s, r);
    put_encoded(s, r, ST_RECORD_PUT);   /* leaves s->text as it is */
    return outbox_add_encoded(s, e);
}

/* One outbox row, in the column order of ST_OUTBOX_PEEK and ST_OUTBOX_OF; strings and body in a. */
static void read_outbox_row(sqlite3_stmt *st, arena *a, outbox_entry *e)
{
    e->seq = sqlite3_column_int64(st, 0);
    e->op = (op_kind)sqlite3_column_int(st, 1);
    e->base_version = sqlite3_column_int64(st, 2);
    e->w = (write_id)sqlite3_column_int64(st, 3);
    json_reader jr;
    jr_init(&jr, (const char *)sqlite3_column_text(st, 4), (size_t)sqlite3_column_bytes(st, 4));
    e->n_changed = 0;
    e->changed = arena_alloc(a, RECORD_FIELDS_MAX * sizeof *e->changed);
    jr_array(&jr);
    while (jr_item(&jr) && e->n_changed < RECORD_FIELDS_MAX)
        jr_string(&jr, a, &e->changed[e->n_changed++]);
    assert(jr_ok(&jr) && "stored outbox field list is malformed");
    decode_body(st, 5, a, &e->body);
    /* The id column, not the body's: a temporary id renamed since the change was queued. */
    e->body.id = arena_strdup(a, (const char *)sqlite3_column_text(st, 9));
    e->type = e->body.type;
    e->id = e->body.id;
    e->force = sqlite3_column_int(st, 6) != 0;
    e->attempts = sqlite3_column_int(st, 7);
    e->rank = sqlite3_column_int(st, 8);
    e->waiting = false;
}

/*
 * An array for a query's rows, of at most limit rows, grown as they come: the first call
 * (rows NULL) gives room for 16, each later one (when n == *cap) doubles it, never past limit.
 * Never sized to limit up front: limit is a bound (a watermark push allows 10,000 records, a
 * push batch hundreds), and zeroing that much in the arena for every query was the largest cost
 * of the activity-events swarm (a third of its time) and 4% of week-100's instructions.
 */
static void *row_array(arena *a, void *rows, int n, int *cap, int limit, size_t size)
{
    int want = rows == NULL ? (limit < 16 ? (limit > 0 ? limit : 1) : 16) : (*cap > limit / 2 ? limit : *cap * 2);
    void *grown = arena_alloc(a, (size_t)want * size);
    if (n)
        memcpy(grown, rows, (size_t)n * size);
    *cap = want;
    return grown;
}

int store_outbox_peek(store *s, int max, arena *a, outbox_entry **out)
{
    if (outbox_rows(s) == 0) {
        *out = arena_alloc(a, sizeof **out);   /* room for none, as a query with no rows gives */
        return 0;
    }
    sqlite3_stmt *st = stmt(s, ST_OUTBOX_PEEK);
    int cap = 0;
    outbox_entry *entries = row_array(a, NULL, 0, &cap, max, sizeof *entries);
    sqlite3_bind_int(st, 1, max);
    int n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        assert(n < max);
        if (n == cap)
            entries = row_array(a, entries, n, &cap, max, sizeof *entries);
        read_outbox_row(st, a, &entries[n++]);
    }
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_OUTBOX_PEEK]);
    finish(s, ST_OUTBOX_PEEK);
    *out = entries;
    return n;
}

void store_outbox_remove(store *s, int64_t seq)
{
    sqlite3_bind_int64(stmt(s, ST_OUTBOX_REMOVE), 1, seq);
    bool done = run_done(s, ST_OUTBOX_REMOVE);
    outbox_rows_add(s, done, done ? -sqlite3_changes64(s->db) : 0);
}

bool store_outbox_has(store *s, const char *type, const char *id)
{
    if (outbox_rows(s) == 0)
        return false;
    sqlite3_stmt *st = stmt(s, ST_OUTBOX_HAS);
    bind_text(st, 1, type);
    bind_text(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        store_fail(s, SQL[ST_OUTBOX_HAS]);
    finish(s, ST_OUTBOX_HAS);
    return rc == SQLITE_ROW;
}

void store_outbox_rebase(store *s, const char *type, const char *id, int64_t from_version, int64_t to_version)
{
    if (outbox_rows(s) == 0)
        return;   /* an UPDATE of no row: no page written, nothing for a fault to fail */
    sqlite3_stmt *st = stmt(s, ST_OUTBOX_REBASE);
    bind_text(st, 1, type);
    bind_text(st, 2, id);
    sqlite3_bind_int64(st, 3, from_version);
    sqlite3_bind_int64(st, 4, to_version);
    run_done(s, ST_OUTBOX_REBASE);
}

int64_t store_outbox_count(store *s)
{
    if (outbox_rows(s) == 0)
        return 0;
    sqlite3_stmt *st = stmt(s, ST_OUTBOX_COUNT);
    if (sqlite3_step(st) != SQLITE_ROW)
        store_fail(s, SQL[ST_OUTBOX_COUNT]);
    int64_t n = sqlite3_column_int64(st, 0);
    finish(s, ST_OUTBOX_COUNT);
    return n;
}

const char *store_applied_get(store *s, int64_t device, int64_t op, arena *a)
{
    sqlite3_stmt *st = stmt(s, ST_APPLIED_GET);
    sqlite3_bind_int64(st, 1, device);
    sqlite3_bind_int64(st, 2, op);
    const char *result = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = arena_strdup(a, (const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_APPLIED_GET]);
    finish(s, ST_APPLIED_GET);
    return result;
}

void store_applied_put(store *s, int64_t device, int64_t op, const char *result_json)
{
    sqlite3_stmt *st = stmt(s, ST_APPLIED_PUT);
    sqlite3_bind_int64(st, 1, device);
    sqlite3_bind_int64(st, 2, op);
    bind_text(st, 3, result_json);
    run_done(s, ST_APPLIED_PUT);
}

void store_kept_add(store *s, const record *r, write_id w)
{
    sqlite3_stmt *st = stmt(s, ST_KEPT_ADD);
    encode_body(s, r);
    bind_text(st, 1, r->type);
    bind_text(st, 2, r->id);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)w);
    bind_body(s, st, 4);
    run_done(s, ST_KEPT_ADD);
}

void store_kept_each(store *s, void (*fn)(void *ctx, const char *type, const char *id, write_id w), void *ctx)
{
    sqlite3_stmt *st = stmt(s, ST_KEPT_ALL);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           (write_id)sqlite3_column_int64(st, 2));
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_KEPT_ALL]);
    finish(s, ST_KEPT_ALL);
}

static void bind_key(sqlite3_stmt *st, const char *type, const char *id)
{
    bind_text(st, 1, type);
    bind_text(st, 2, id);
}

void store_outbox_mark_conflict(store *s, const char *type, const char *id)
{
    bind_key(stmt(s, ST_OUTBOX_MARK_CONFLICT), type, id);
    run_done(s, ST_OUTBOX_MARK_CONFLICT);
}

void store_outbox_rename(store *s, const char *type, const char *from_id, const char *to_id)
{
    sqlite3_stmt *st = stmt(s, ST_OUTBOX_RENAME);
    bind_key(st, type, from_id);
    bind_text(st, 3, to_id);
    run_done(s, ST_OUTBOX_RENAME);
}

void store_idmap_put(store *s, const char *type, const char *temp_id, const char *real_id)
{
    sqlite3_stmt *st = stmt(s, ST_IDMAP_PUT);
    bind_key(st, type, temp_id);
    bind_text(st, 3, real_id);
    run_done(s, ST_IDMAP_PUT);
}

const char *store_idmap_get(store *s, const char *type, const char *temp_id, arena *a)
{
    sqlite3_stmt *st = stmt(s, ST_IDMAP_GET);
    bind_key(st, type, temp_id);
    int rc = sqlite3_step(st);
    const char *real = NULL;
    if (rc == SQLITE_ROW)
        real = arena_strdup(a, (const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_IDMAP_GET]);
    finish(s, ST_IDMAP_GET);
    return real;
}

void store_outbox_remove_record(store *s, const char *type, const char *id)
{
    bind_key(stmt(s, ST_OUTBOX_REMOVE_RECORD), type, id);
    bool done = run_done(s, ST_OUTBOX_REMOVE_RECORD);
    outbox_rows_add(s, done, done ? -sqlite3_changes64(s->db) : 0);
}

int store_outbox_changed(store *s, const char *type, const char *id, arena *a, const char ***out)
{
    sqlite3_stmt *st = stmt(s, ST_OUTBOX_CHANGED);
    const char **names = arena_alloc(a, RECORD_FIELDS_MAX * sizeof *names);
    int n = 0;
    bind_key(st, type, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_reader jr;
        jr_init(&jr, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        jr_array(&jr);
        while (jr_item(&jr)) {
            const char *name;
            jr_string(&jr, a, &name);
            bool seen = false;
            for (int k = 0; k < n && !seen; k++)
                seen = strcmp(names[k], name) == 0;
            if (!seen && n < RECORD_FIELDS_MAX)
                names[n++] = name;
        }
        assert(jr_ok(&jr) && "stored outbox field list is malformed");
    }
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_OUTBOX_CHANGED]);
    finish(s, ST_OUTBOX_CHANGED);
    *out = names;
    return n;
}

int store_outbox_of(store *s, const char *type, const char *id, int max, arena *a, outbox_entry **out)
{
    sqlite3_stmt *st = stmt(s, ST_OUTBOX_OF);
    outbox_entry *entries = arena_alloc(a, (size_t)(max > 0 ? max : 1) * sizeof *entries);
    bind_key(st, type, id);
    sqlite3_bind_int(st, 3, max);
    int n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        assert(n < max);
        read_outbox_row(st, a, &entries[n]);
        entries[n++].waiting = sqlite3_column_int(st, 10) != 0;
    }
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_OUTBOX_OF]);
    finish(s, ST_OUTBOX_OF);
    *out = entries;
    return n;
}

int store_outbox_attempted(store *s, int64_t seq)
{
    sqlite3_stmt *st = stmt(s, ST_OUTBOX_ATTEMPTED);
    sqlite3_bind_int64(st, 1, seq);
    if (s->failed) {
        finish(s, ST_OUTBOX_ATTEMPTED);
        return 0;   /* the transaction is lost: the attempt is not counted */
    }
    int rc = sqlite3_step(st);
    int attempts = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        write_failed(s, SQL[ST_OUTBOX_ATTEMPTED], rc);
    finish(s, ST_OUTBOX_ATTEMPTED);
    return attempts;
}

void store_record_remove(store *s, const char *type, const char *id)
{
    bind_key(stmt(s, ST_RECORD_REMOVE), type, id);
    if (run_done(s, ST_RECORD_REMOVE))
        body_cache_set(&s->bodies, type, id, NULL, 0);
}

/* Run a statement whose rows are record bodies; at most limit of them, decoded into a. */
static int collect_bodies(store *s, enum stmt_id id, int limit, arena *a, record **out)
{
    sqlite3_stmt *st = stmt(s, id);
    int cap = 0;
    record *records = row_array(a, NULL, 0, &cap, limit, sizeof *records);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        assert(n < limit);
        if (n == cap)
            records = row_array(a, records, n, &cap, limit, sizeof *records);
        decode_body(st, 0, a, &records[n++]);
    }
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[id]);
    finish(s, id);
    *out = records;
    return n;
}

int store_changes_since_time(store *s, const char *tenant, const char *type, int64_t since_us, bool inclusive,
                             bool writer_time, int limit, arena *a, record **out)
{
    enum stmt_id id = writer_time ? (type ? ST_CHANGES_SINCE_WRITER_TYPE : ST_CHANGES_SINCE_WRITER)
                                  : (type ? ST_CHANGES_SINCE_TIME_TYPE : ST_CHANGES_SINCE_TIME);
    sqlite3_stmt *st = stmt(s, id);
    sqlite3_bind_int64(st, 1, since_us);
    sqlite3_bind_int(st, 2, limit);
    bind_text(st, 3, tenant);
    sqlite3_bind_int(st, 4, inclusive);
    if (type)
        bind_text(st, 5, type);
    return collect_bodies(s, id, limit, a, out);
}

/* --- server visibility in time (docs/server-visibility.md) ------------------------------------ */

static const char VERSIONS_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS versions(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL,"
    "  tenant TEXT NOT NULL, version INTEGER NOT NULL, server_ts INTEGER NOT NULL, visible_us INTEGER NOT NULL,"
    "  body TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS versions_record ON versions(type, id, version);"
    "CREATE INDEX IF NOT EXISTS versions_server_ts ON versions(tenant, server_ts);"
    "CREATE INDEX IF NOT EXISTS versions_visible ON versions(visible_us);";

void store_versions_enable(store *s)
{
    char *errmsg = NULL;
    if (sqlite3_exec(s->db, VERSIONS_SCHEMA, NULL, NULL, &errmsg) != SQLITE_OK) {
        sqlite3_free(errmsg);
        store_fail(s, VERSIONS_SCHEMA);
    }
}

void store_version_add(store *s, const record *r, int64_t visible_us)
{
    sqlite3_stmt *st = stmt(s, ST_VERSION_ADD);
    sqlite3_bind_int64(st, 1, r->seq);
    bind_text(st, 2, r->type);
    bind_text(st, 3, r->id);
    bind_text(st, 4, r->tenant ? r->tenant : "");
    sqlite3_bind_int64(st, 5, r->version);
    sqlite3_bind_int64(st, 6, r->updated_us);
    sqlite3_bind_int64(st, 7, visible_us);
    encode_body(s, r);
    bind_body(s, st, 8);
    run_done(s, ST_VERSION_ADD);
}

int store_versions_since(store *s, const char *tenant, int64_t since, bool by_time, bool inclusive, int limit, arena *a,
                         record **out)
{
    enum stmt_id id = by_time ? ST_VERSIONS_SINCE_TIME : ST_VERSIONS_SINCE;
    sqlite3_stmt *st = stmt(s, id);
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int(st, 2, limit);
    bind_text(st, 3, tenant ? tenant : "");
    if (by_time)
        sqlite3_bind_int(st, 4, inclusive);
    return collect_bodies(s, id, limit, a, out);
}

int store_visible_since(store *s, const char *tenant, int64_t since, int64_t now_us, int64_t before_seq, int limit,
                        arena *a, record **out)
{
    sqlite3_stmt *st = stmt(s, ST_VISIBLE_SINCE);
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int(st, 2, limit);
    bind_text(st, 3, tenant ? tenant : "");
    sqlite3_bind_int64(st, 4, now_us);
    sqlite3_bind_int64(st, 5, before_seq);
    return collect_bodies(s, ST_VISIBLE_SINCE, limit, a, out);
}

int store_visible_since_time(store *s, const char *tenant, const char *type, int64_t since_us, bool inclusive,
                             int64_t now_us, int64_t before_us, int limit, arena *a, record **out)
{
    enum stmt_id id = type ? ST_VISIBLE_SINCE_TIME_TYPE : ST_VISIBLE_SINCE_TIME;
    sqlite3_stmt *st = stmt(s, id);
    sqlite3_bind_int64(st, 1, since_us);
    sqlite3_bind_int(st, 2, limit);
    bind_text(st, 3, tenant ? tenant : "");
    sqlite3_bind_int64(st, 4, now_us);
    sqlite3_bind_int64(st, 5, before_us);
    sqlite3_bind_int(st, 6, inclusive);
    if (type)
        bind_text(st, 7, type);
    return collect_bodies(s, id, limit, a, out);
}

bool store_hidden_horizon(store *s, int64_t now_us, int64_t *seq, int64_t *server_us)
{
    sqlite3_stmt *st = stmt(s, ST_HIDDEN_HORIZON);
    sqlite3_bind_int64(st, 1, now_us);
    int rc = sqlite3_step(st);
    bool any = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (rc != SQLITE_ROW)
        store_fail(s, SQL[ST_HIDDEN_HORIZON]);
    *seq = any ? sqlite3_column_int64(st, 0) : INT64_MAX;
    *server_us = any ? sqlite3_column_int64(st, 1) : INT64_MAX;
    finish(s, ST_HIDDEN_HORIZON);
    return any;
}

bool store_hidden_for_tenant(store *s, const char *tenant, int64_t now_us)
{
    sqlite3_stmt *st = stmt(s, ST_HIDDEN_FOR_TENANT);
    sqlite3_bind_int64(st, 1, now_us);
    bind_text(st, 2, tenant ? tenant : "");
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        store_fail(s, SQL[ST_HIDDEN_FOR_TENANT]);
    finish(s, ST_HIDDEN_FOR_TENANT);
    return rc == SQLITE_ROW;
}

int store_local_changes_since(store *s, int64_t since_us, int limit, arena *a, record **out)
{
    sqlite3_stmt *st = stmt(s, ST_LOCAL_CHANGES_SINCE);
    sqlite3_bind_int64(st, 1, since_us);
    sqlite3_bind_int(st, 2, limit);
    return collect_bodies(s, ST_LOCAL_CHANGES_SINCE, limit, a, out);
}

void store_conflict_put(store *s, const record *server_version)
{
    sqlite3_stmt *st = stmt(s, ST_CONFLICT_PUT);
    encode_body(s, server_version);
    bind_key(st, server_version->type, server_version->id);
    bind_body(s, st, 3);
    run_done(s, ST_CONFLICT_PUT);
}

bool store_conflict_get(store *s, const char *type, const char *id, arena *a, record *server_version)
{
    sqlite3_stmt *st = stmt(s, ST_CONFLICT_GET);
    bind_key(st, type, id);
    int rc = sqlite3_step(st);
    bool found = false;
    if (rc == SQLITE_ROW)
        found = decode_body(st, 0, a, server_version);
    else if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_CONFLICT_GET]);
    finish(s, ST_CONFLICT_GET);
    return found;
}

void store_conflict_remove(store *s, const char *type, const char *id)
{
    bind_key(stmt(s, ST_CONFLICT_REMOVE), type, id);
    run_done(s, ST_CONFLICT_REMOVE);
}

int64_t store_conflict_count(store *s)
{
    sqlite3_stmt *st = stmt(s, ST_CONFLICT_COUNT);
    if (sqlite3_step(st) != SQLITE_ROW)
        store_fail(s, SQL[ST_CONFLICT_COUNT]);
    int64_t n = sqlite3_column_int64(st, 0);
    finish(s, ST_CONFLICT_COUNT);
    return n;
}

/* Column 0 of every row st yields, as write ids in a; returns the count, with the last step's result in *rc. */
static int step_write_ids(sqlite3_stmt *st, arena *a, write_id **out, int *rc)
{
    int n = 0, cap = 8;
    write_id *ws = arena_alloc(a, (size_t)cap * sizeof *ws);
    while ((*rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            write_id *grown = arena_alloc(a, (size_t)cap * 2 * sizeof *grown);
            memcpy(grown, ws, (size_t)n * sizeof *grown);
            ws = grown;
            cap *= 2;
        }
        ws[n++] = (write_id)sqlite3_column_int64(st, 0);
    }
    *out = ws;
    return n;
}

int store_changelog_writes_since(store *s, const char *type, const char *id, int64_t version, arena *a,
                                 write_id **out)
{
    sqlite3_stmt *st = stmt(s, ST_CHANGELOG_WRITES_SINCE);
    bind_key(st, type, id);
    sqlite3_bind_int64(st, 3, version);
    int rc;
    write_id *ws;
    int n = step_write_ids(st, a, &ws, &rc);
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_CHANGELOG_WRITES_SINCE]);
    finish(s, ST_CHANGELOG_WRITES_SINCE);
    *out = ws;
    return n;
}

/*
 * The app's local database deleted (a reinstall or a sign-out, docs/lifecycle.md), inside the
 * caller's transaction. What stays is what must never repeat: the meta counters op_seq (watermark
 * pushes' operation ids) and boots (request ids and timer generations), and the outbox's
 * AUTOINCREMENT sequence (sqlite_sequence, the outbox's operation ids), which DELETE leaves alone.
 * keep_cursors keeps the pull cursors too ("cursor", "cursor:<type>"); keep_records keeps the records
 * table (a switch of accounts under keep-data, the bug: the next user sees the last one's records).
 * Run rarely: not prepared.
 */
void store_wipe(store *s, bool keep_cursors, bool keep_records)
{
    static const char *const WIPE[] = {
        "DELETE FROM records",
        "DELETE FROM outbox",
        "DELETE FROM conflicts",
        "DELETE FROM kept",
        "DELETE FROM id_map",
        "DELETE FROM applied_ops",
        "DELETE FROM changes",
    };
    const char *meta = keep_cursors
                           ? "DELETE FROM meta WHERE key NOT IN ('op_seq', 'boots') AND key <> 'cursor'"
                             " AND substr(key, 1, 7) <> 'cursor:'"
                           : "DELETE FROM meta WHERE key NOT IN ('op_seq', 'boots')";
    forget_cached(s);
    /* WIPE[0] is the records table: keep_records starts past it. */
    for (size_t i = keep_records ? 1 : 0; i <= sizeof WIPE / sizeof WIPE[0] && !s->failed; i++) {
        const char *sql = i < sizeof WIPE / sizeof WIPE[0] ? WIPE[i] : meta;
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            write_failed(s, sql, rc);
    }
}

/* The writes of every outbox entry, in any state, oldest first. Returns the count; *out in a. */
int store_outbox_writes(store *s, arena *a, write_id **out)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT w FROM outbox ORDER BY seq";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        store_fail(s, sql);
    int rc;
    write_id *ws;
    int n = step_write_ids(st, a, &ws, &rc);
    if (rc != SQLITE_DONE)
        store_fail(s, sql);
    sqlite3_finalize(st);
    *out = ws;
    return n;
}
