/*
 * store: SQLite persistence. See store.h for the schema.
 * Invariant: every sqlite3_stmt is reset before the function that used it
 * returns, so statements never hold read locks across calls.
 */
#include "engine/store.h"
#include "base/json.h"
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
    ST_RECORD_GET,
    ST_RECORD_BODY,
    ST_RECORD_PUT,
    ST_CHANGES_SINCE,
    ST_CHANGELOG_ADD,
    ST_RECORDS_ALL,
    ST_META_GET,
    ST_META_SET,
    ST_OUTBOX_ADD,
    ST_OUTBOX_PEEK,
    ST_OUTBOX_REMOVE,
    ST_OUTBOX_HAS,
    ST_OUTBOX_REBASE,
    ST_OUTBOX_COUNT,
    ST_APPLIED_GET,
    ST_APPLIED_PUT,
    ST_KEPT_ADD,
    ST_KEPT_ALL,
    ST_COUNT
};

static const char *const SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_RECORD_GET] = "SELECT body FROM records WHERE type = ?1 AND id = ?2",
    [ST_RECORD_BODY] = "SELECT body FROM records WHERE type = ?1 AND id = ?2",
    [ST_RECORD_PUT] = ("INSERT INTO records(type, id, tenant, seq, version, deleted, body) "
                       "VALUES (?1, ?2, ?7, ?3, ?4, ?5, ?6) "
                       "ON CONFLICT(type, id) DO UPDATE SET tenant = ?7, seq = ?3, version = ?4, deleted = ?5, body = ?6"),
    [ST_CHANGES_SINCE] = "SELECT body FROM records WHERE tenant = ?3 AND seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_CHANGELOG_ADD] = "INSERT INTO changes(seq, type, id, version, w) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_RECORDS_ALL] = "SELECT body FROM records ORDER BY type, id",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
    [ST_OUTBOX_ADD] = "INSERT INTO outbox(type, id, op, base_version, w, changed, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_OUTBOX_PEEK] = "SELECT seq, op, base_version, w, changed, body FROM outbox ORDER BY seq LIMIT ?1",
    [ST_OUTBOX_REMOVE] = "DELETE FROM outbox WHERE seq = ?1",
    [ST_OUTBOX_HAS] = "SELECT 1 FROM outbox WHERE type = ?1 AND id = ?2 LIMIT 1",
    [ST_OUTBOX_REBASE] = "UPDATE outbox SET base_version = ?4 WHERE type = ?1 AND id = ?2 AND base_version = ?3",
    [ST_OUTBOX_COUNT] = "SELECT count(*) FROM outbox",
    [ST_APPLIED_GET] = "SELECT result FROM applied_ops WHERE device = ?1 AND op = ?2",
    [ST_APPLIED_PUT] = "INSERT OR REPLACE INTO applied_ops(device, op, result) VALUES (?1, ?2, ?3)",
    [ST_KEPT_ADD] = "INSERT OR IGNORE INTO kept(type, id, w, body) VALUES (?1, ?2, ?3, ?4)",
    [ST_KEPT_ALL] = "SELECT type, id, w FROM kept ORDER BY type, id, w",
};

static const char SCHEMA[] =
    "PRAGMA journal_mode = MEMORY;"
    "PRAGMA synchronous = OFF;"
    "CREATE TABLE records(type TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  version INTEGER NOT NULL, deleted INTEGER NOT NULL, body TEXT NOT NULL,"
    "  PRIMARY KEY(type, id)) WITHOUT ROWID;"
    "CREATE INDEX records_seq ON records(tenant, seq);"
    "CREATE TABLE changes(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL,"
    "  version INTEGER NOT NULL, w INTEGER NOT NULL);"
    "CREATE TABLE outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, id TEXT NOT NULL,"
    "  op INTEGER NOT NULL, base_version INTEGER NOT NULL, w INTEGER NOT NULL,"
    "  changed TEXT NOT NULL, body TEXT NOT NULL);"
    "CREATE INDEX outbox_record ON outbox(type, id);"
    "CREATE TABLE applied_ops(device INTEGER NOT NULL, op INTEGER NOT NULL, result TEXT NOT NULL,"
    "  PRIMARY KEY(device, op)) WITHOUT ROWID;"
    "CREATE TABLE kept(type TEXT NOT NULL, id TEXT NOT NULL, w INTEGER NOT NULL, body TEXT NOT NULL,"
    "  PRIMARY KEY(type, id, w)) WITHOUT ROWID;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    buf text;       /* reused for encoding bodies */
};

static _Noreturn void store_fail(store *s, const char *what)
{
    fprintf(stderr, "syncsim: store: %s: %s\n", what, sqlite3_errmsg(s->db));
    abort();
}

/* Run a statement that returns no rows, then reset it. */
static void run_done(store *s, enum stmt_id id)
{
    sqlite3_stmt *st = s->stmt[id];
    if (sqlite3_step(st) != SQLITE_DONE)
        store_fail(s, SQL[id]);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void finish(store *s, enum stmt_id id)
{
    sqlite3_reset(s->stmt[id]);
    sqlite3_clear_bindings(s->stmt[id]);
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
    sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

store *store_open(const char *path, char **error)
{
    store *s = xcalloc(1, sizeof *s);
    buf_init(&s->text);
    if (path)
        unlink(path);   /* each run starts from an empty store */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path ? path : ":memory:", &s->db, flags, NULL) != SQLITE_OK)
        goto fail;
    char *errmsg = NULL;
    if (sqlite3_exec(s->db, SCHEMA, NULL, NULL, &errmsg) != SQLITE_OK) {
        sqlite3_free(errmsg);
        goto fail;
    }
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(s->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) != SQLITE_OK)
            store_fail(s, SQL[i]);
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

void store_close(store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    buf_free(&s->text);
    xfree(s);
}

void store_begin(store *s)
{
    run_done(s, ST_BEGIN);
}

void store_commit(store *s)
{
    run_done(s, ST_COMMIT);
}

static bool decode_body(sqlite3_stmt *st, int col, arena *a, record *out)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    const char *why = NULL;
    bool ok = text && record_decode(text, (size_t)sqlite3_column_bytes(st, col), a, out, &why);
    assert(ok && "stored record body is malformed");
    return ok;
}

/* Encode r into the store's text buffer, valid until the next encode. */
static const char *encode_body(store *s, const record *r)
{
    buf_clear(&s->text);
    record_encode(r, &s->text);
    return s->text.data;
}

bool store_record_get(store *s, const char *type, const char *id, arena *a, record *out)
{
    sqlite3_stmt *st = s->stmt[ST_RECORD_GET];
    bind_text(st, 1, type);
    bind_text(st, 2, id);
    int rc = sqlite3_step(st);
    bool found = false;
    if (rc == SQLITE_ROW)
        found = decode_body(st, 0, a, out);
    else if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_RECORD_GET]);
    finish(s, ST_RECORD_GET);
    return found;
}

/* Upsert r with its body already encoded in s->text. */
static void put_encoded(store *s, const record *r)
{
    sqlite3_stmt *st = s->stmt[ST_RECORD_PUT];
    const char *body = s->text.data;
    bind_text(st, 1, r->type);
    bind_text(st, 2, r->id);
    sqlite3_bind_int64(st, 3, r->seq);
    sqlite3_bind_int64(st, 4, r->version);
    sqlite3_bind_int(st, 5, r->deleted);
    bind_text(st, 6, body);
    bind_text(st, 7, r->tenant ? r->tenant : "");
    run_done(s, ST_RECORD_PUT);
}

void store_record_put(store *s, const record *r)
{
    encode_body(s, r);
    put_encoded(s, r);
}

int store_record_put_if_changed(store *s, const record *r, arena *a, record *old)
{
    encode_body(s, r);
    sqlite3_stmt *st = s->stmt[ST_RECORD_BODY];
    bind_text(st, 1, r->type);
    bind_text(st, 2, r->id);
    int rc = sqlite3_step(st);
    int outcome = STORE_PUT_NEW;
    if (rc == SQLITE_ROW) {
        const char *old_text = (const char *)sqlite3_column_text(st, 0);
        size_t old_len = (size_t)sqlite3_column_bytes(st, 0);
        if (old_len == s->text.len && memcmp(old_text, s->text.data, old_len) == 0)
            outcome = STORE_PUT_SAME;
        else if (decode_body(st, 0, a, old))
            outcome = STORE_PUT_CHANGED;
    } else if (rc != SQLITE_DONE) {
        store_fail(s, SQL[ST_RECORD_BODY]);
    }
    finish(s, ST_RECORD_BODY);
    if (outcome != STORE_PUT_SAME)
        put_encoded(s, r);
    return outcome;
}

int store_changes_since(store *s, const char *tenant, int64_t since, int limit, arena *a, record **out)
{
    sqlite3_stmt *st = s->stmt[ST_CHANGES_SINCE];
    record *records = arena_alloc(a, (size_t)(limit > 0 ? limit : 1) * sizeof *records);
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int(st, 2, limit);
    bind_text(st, 3, tenant ? tenant : "");
    int n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        assert(n < limit);
        decode_body(st, 0, a, &records[n++]);
    }
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_CHANGES_SINCE]);
    finish(s, ST_CHANGES_SINCE);
    *out = records;
    return n;
}

void store_changelog_add(store *s, const record *r)
{
    sqlite3_stmt *st = s->stmt[ST_CHANGELOG_ADD];
    sqlite3_bind_int64(st, 1, r->seq);
    bind_text(st, 2, r->type);
    bind_text(st, 3, r->id);
    sqlite3_bind_int64(st, 4, r->version);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)r->st.w);
    run_done(s, ST_CHANGELOG_ADD);
}

void store_records_each(store *s, arena *a, void (*fn)(void *ctx, const record *r), void *ctx)
{
    sqlite3_stmt *st = s->stmt[ST_RECORDS_ALL];
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
    sqlite3_stmt *st = s->stmt[ST_META_GET];
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
    sqlite3_stmt *st = s->stmt[ST_META_SET];
    bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, number);
    run_done(s, ST_META_SET);
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

int64_t store_outbox_add(store *s, const outbox_entry *e)
{
    sqlite3_stmt *st = s->stmt[ST_OUTBOX_ADD];
    const char *body = encode_body(s, &e->body);
    char *changed = changed_to_json(e->n_changed, e->changed);
    bind_text(st, 1, e->type);
    bind_text(st, 2, e->id);
    sqlite3_bind_int(st, 3, (int)e->op);
    sqlite3_bind_int64(st, 4, e->base_version);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)e->w);
    bind_text(st, 6, changed);
    bind_text(st, 7, body);
    run_done(s, ST_OUTBOX_ADD);
    xfree(changed);
    return sqlite3_last_insert_rowid(s->db);
}

int store_outbox_peek(store *s, int max, arena *a, outbox_entry **out)
{
    sqlite3_stmt *st = s->stmt[ST_OUTBOX_PEEK];
    outbox_entry *entries = arena_alloc(a, (size_t)(max > 0 ? max : 1) * sizeof *entries);
    sqlite3_bind_int(st, 1, max);
    int n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        assert(n < max);
        outbox_entry *e = &entries[n++];
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
        e->type = e->body.type;
        e->id = e->body.id;
    }
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_OUTBOX_PEEK]);
    finish(s, ST_OUTBOX_PEEK);
    *out = entries;
    return n;
}

void store_outbox_remove(store *s, int64_t seq)
{
    sqlite3_bind_int64(s->stmt[ST_OUTBOX_REMOVE], 1, seq);
    run_done(s, ST_OUTBOX_REMOVE);
}

bool store_outbox_has(store *s, const char *type, const char *id)
{
    sqlite3_stmt *st = s->stmt[ST_OUTBOX_HAS];
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
    sqlite3_stmt *st = s->stmt[ST_OUTBOX_REBASE];
    bind_text(st, 1, type);
    bind_text(st, 2, id);
    sqlite3_bind_int64(st, 3, from_version);
    sqlite3_bind_int64(st, 4, to_version);
    run_done(s, ST_OUTBOX_REBASE);
}

int64_t store_outbox_count(store *s)
{
    sqlite3_stmt *st = s->stmt[ST_OUTBOX_COUNT];
    if (sqlite3_step(st) != SQLITE_ROW)
        store_fail(s, SQL[ST_OUTBOX_COUNT]);
    int64_t n = sqlite3_column_int64(st, 0);
    finish(s, ST_OUTBOX_COUNT);
    return n;
}

const char *store_applied_get(store *s, int64_t device, int64_t op, arena *a)
{
    sqlite3_stmt *st = s->stmt[ST_APPLIED_GET];
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
    sqlite3_stmt *st = s->stmt[ST_APPLIED_PUT];
    sqlite3_bind_int64(st, 1, device);
    sqlite3_bind_int64(st, 2, op);
    bind_text(st, 3, result_json);
    run_done(s, ST_APPLIED_PUT);
}

void store_kept_add(store *s, const record *r, write_id w)
{
    sqlite3_stmt *st = s->stmt[ST_KEPT_ADD];
    const char *body = encode_body(s, r);
    bind_text(st, 1, r->type);
    bind_text(st, 2, r->id);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)w);
    bind_text(st, 4, body);
    run_done(s, ST_KEPT_ADD);
}

void store_kept_each(store *s, void (*fn)(void *ctx, const char *type, const char *id, write_id w), void *ctx)
{
    sqlite3_stmt *st = s->stmt[ST_KEPT_ALL];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           (write_id)sqlite3_column_int64(st, 2));
    if (rc != SQLITE_DONE)
        store_fail(s, SQL[ST_KEPT_ALL]);
    finish(s, ST_KEPT_ALL);
}
