/*
 * store: a replica's durable state in its own SQLite database.
 *
 * Tables (open a --store-dir file with sqlite3 to read them):
 *   records(type, id, tenant, seq, version, deleted, body, server_ts, local_ts)
 *                                                  body = record JSON (record.h); server_ts =
 *                                                  its updatedAt on the server; local_ts = the
 *                                                  device clock of its last write (clientUpdatedAt)
 *   changes(seq, type, id, version, w)             server: append-only change log
 *   outbox(seq, type, id, op, base_version, w, changed, body, force, rank, state, attempts)
 *                                                  client: sync queue
 *   conflicts(type, id, body)                      client: the server's side of a conflict
 *                                                  waiting for the user
 *   applied_ops(device, op, result)                server: idempotency keys and their outcome
 *   kept(type, id, w, body)                        losing versions kept for the user
 *   id_map(type, temp, real)                       client: temporary ids and the server ids they
 *                                                  became (profile ids: server)
 *   meta(key, value)                               cursors and counters
 *
 * Every statement is prepared once, on its first use. A failing statement on an open
 * store is a bug in the engine, not bad input: it aborts with SQLite's message. The one
 * exception is a store opened with store_open_faultable, whose writes the world can make
 * fail (store_vfs.h): there a storage error (SQLITE_FULL, SQLITE_IOERR_*) fails the
 * transaction, store_commit rolls it back and says so, and the engine decides (client.c,
 * server.c). Reads never meet a storage fault.
 *
 * Beside its database a store remembers two things it can answer reads from (store.c): how many
 * rows the outbox holds, and the body of every record it wrote or read
 * (body_cache.h). Both are told only what a statement that succeeded did, and forgotten whenever
 * the tables may have changed behind them (a failed statement or transaction, a power loss, a
 * wipe), so every read answers exactly what SQLite would.
 */
#ifndef ENGINE_STORE_H
#define ENGINE_STORE_H

#include "base/arena.h"
#include "engine/node.h"
#include "engine/record.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct store store;

typedef struct outbox_entry {
    int64_t seq;              /* local operation id; the server deduplicates on (device, seq) */
    op_kind op;
    const char *type;
    const char *id;
    int64_t base_version;     /* server version the change was made on; 0 = none */
    write_id w;
    int n_changed;
    const char **changed;     /* field names the change wrote */
    record body;              /* the whole record after the change */
    bool force;               /* a user's resolution of a conflict: the server takes it whole */
    int rank;                 /* dependency rank of its type: lower ranks are pushed first */
    int attempts;             /* pushes of it that went unanswered (read only) */
    bool waiting;             /* parked until the user resolves a conflict (read only, store_outbox_of) */
} outbox_entry;

/* Process-wide SQLite settings for speed, before the first store or database is opened (main). */
void store_library_setup(void);
/* path NULL: in memory. An existing file is replaced, unless keep: then it is opened as it is (a
 * replica restarting on its store). On failure returns NULL and sets *error (free with xfree). */
store *store_open(const char *path, bool keep, char **error);
/* The same, through the fault shim (store_vfs.h): over memdb in memory, over the default VFS for a
 * file. Without a fault set it behaves exactly as store_open's store. */
store *store_open_faultable(const char *path, bool keep, char **error);
bool store_is_faultable(const store *s);

/*
 * The orders a replica reads its records in, beside by key: each needs an index, and each index
 * costs every record write a B-tree update. A store opens with none; its replica adds the ones its
 * queries use (engine_node_new). Which indexes exist never changes a query's answer (every query
 * that returns several records orders them completely), only its speed.
 */
typedef enum store_record_order {
    STORE_RECORDS_BY_SEQ,          /* a tenant's records by change-log sequence: store_changes_since */
    STORE_RECORDS_BY_SERVER_TIME,  /* a tenant's records by the server's clock: store_changes_since_time */
    STORE_RECORDS_BY_LOCAL_TIME,   /* by the last writer's clock: writer-time cursors, watermark pushes */
} store_record_order;

void store_index_records(store *s, store_record_order order);
/* The world's storage faults (faultable stores only): writes that grow the file fail while full;
 * the next `transactions` transactions that write fail at their first write or sync. */
void store_fault_disk_full(store *s, bool full);
void store_fault_io_errors(store *s, int transactions);
/* Failures the shim has returned so far. */
uint64_t store_faults_injected(const store *s);
/* PRAGMA integrity_check: true when it answers "ok"; otherwise *message (free with xfree) says what. */
bool store_integrity_check(store *s, char **message);
/* What a failed transaction's code means to a user: "storage full", "storage I/O error". */
const char *store_failure_reason(int code);
void store_close(store *s);
/* Hold the file lock from the first transaction to store_close (no other connection can read it
 * meanwhile): a replica's store has one connection, and per-transaction locking is slow. */
void store_keep_lock(store *s);

void store_begin(store *s);
/* 0 when the transaction is durable; otherwise the storage error that failed it (faultable stores
 * only), after rolling it back: nothing of it was stored. */
int store_commit(store *s);

/*
 * Durability in batches (a device under the profile's sync: { flush: { every: ... } }). Without a
 * durable copy (flush: commit, the default) every committed transaction is durable and the three
 * calls below do nothing. With one, the copy is what survives a power loss: store_flush makes it
 * the database as it is now (SQLite's online backup), store_power_loss puts the database back to it.
 * durable_path names the copy's file (a file store: it survives the process); NULL keeps it in
 * memory beside an in-memory store. On failure returns false and sets *error (free with xfree).
 */
bool store_durable_open(store *s, const char *durable_path, char **error);
/* Something was committed since the last flush (or since the copy was opened). */
bool store_unflushed(store *s);
/* Returns false (nothing to do) when there is no durable copy or nothing unflushed. */
bool store_flush(store *s);
void store_power_loss(store *s);

bool store_record_get(store *s, const char *type, const char *id, arena *a, record *out);
void store_record_put(store *s, const record *r);
/* Store r unless the stored body is already exactly r's. Returns STORE_PUT_*: SAME when the body
 * is r's (nothing written); RESTAMPED when r replaced a copy with the same provenance
 * (record_same_provenance: a new version of a state the replica held); CHANGED when it replaced
 * another; NEW when there was none. The stored body is compared first, and a packed one is
 * compared where it lies, so the common cases decode nothing. a: scratch for a text body. */
enum { STORE_PUT_SAME, STORE_PUT_RESTAMPED, STORE_PUT_CHANGED, STORE_PUT_NEW };
int store_record_put_if_changed(store *s, const record *r, arena *a);
/* A tenant's records with seq > since, by seq, at most limit. Returns the count; *out in a. */
int store_changes_since(store *s, const char *tenant, int64_t since, int limit, arena *a, record **out);
void store_changelog_add(store *s, const record *r);
/* The writes the change log recorded for (type, id) after version, oldest first. *out in a. */
int store_changelog_writes_since(store *s, const char *type, const char *id, int64_t version, arena *a,
                                 write_id **out);
/* Every record in (type, id) order. */
void store_records_each(store *s, arena *a, void (*fn)(void *ctx, const record *r), void *ctx);

int64_t store_meta_get(store *s, const char *key, int64_t fallback);
void store_meta_set(store *s, const char *key, int64_t number);
/* Several distinct keys at once, in one statement: what n calls of store_meta_set store. */
#define STORE_META_SET_MAX 4
void store_meta_set_all(store *s, int n, const char *const *keys, const int64_t *numbers);

int64_t store_outbox_add(store *s, const outbox_entry *e);
/* store_record_put(s, r) then store_outbox_add(s, e), for a change whose body is r itself (a
 * user's write queued as it is stored): r is encoded once for both rows. */
int64_t store_record_put_queued(store *s, const record *r, const outbox_entry *e);
/* The pending entries (not waiting for the user) by rank, then oldest first, at most max.
 * Returns the count; *out in a. */
int store_outbox_peek(store *s, int max, arena *a, outbox_entry **out);
void store_outbox_remove(store *s, int64_t seq);
/* Any entry of (type, id), pending or waiting for the user. */
bool store_outbox_has(store *s, const char *type, const char *id);
/* Pending changes of (type, id) made on from_version now count as made on to_version. */
void store_outbox_rebase(store *s, const char *type, const char *id, int64_t from_version, int64_t to_version);
/* Pending entries only. */
int64_t store_outbox_count(store *s);
/* The record's entries wait for the user: they are not pushed until resolved. */
void store_outbox_mark_conflict(store *s, const char *type, const char *id);
void store_outbox_remove_record(store *s, const char *type, const char *id);
/* The record's queued changes, in any state, now name it by to_id (its server id). */
void store_outbox_rename(store *s, const char *type, const char *from_id, const char *to_id);

/* The client's ID mapping: a temporary id and the server id it became. get returns NULL when unmapped. */
void store_idmap_put(store *s, const char *type, const char *temp_id, const char *real_id);
const char *store_idmap_get(store *s, const char *type, const char *temp_id, arena *a);
/* The record's entries, in any state, oldest first, at most max. Returns the count; *out in a. */
int store_outbox_of(store *s, const char *type, const char *id, int max, arena *a, outbox_entry **out);
/* The distinct fields the record's queued changes set, in any state, oldest first; *out in a. */
int store_outbox_changed(store *s, const char *type, const char *id, arena *a, const char ***out);
/* Count one more unanswered push of the entry; returns its attempts so far. */
int store_outbox_attempted(store *s, int64_t seq);

void store_record_remove(store *s, const char *type, const char *id);
/* A tenant's records (of one type, unless type is NULL) stored after since_us by the
 * server's clock (at since_us too when inclusive), by time, at most limit. *out in a. */
int store_changes_since_time(store *s, const char *tenant, const char *type, int64_t since_us, bool inclusive,
                             bool writer_time,
                             int limit, arena *a, record **out);
/*
 * Server visibility in time (the profile's server:, docs/server-visibility.md). Only a server whose
 * profile delays visibility calls these; its store then also holds
 *   versions(seq PRIMARY KEY, type, id, tenant, version, server_ts, visible_us, body)
 * -- every version the server stored, with the server monotonic time from which pulls may see it.
 * Pulls see each record at its latest visible version.
 */
void store_versions_enable(store *s);   /* creates the table when missing */
void store_version_add(store *s, const record *r, int64_t visible_us);
/* As store_changes_since, over what is visible at now_us, and only seq < before_seq. */
int store_visible_since(store *s, const char *tenant, int64_t since, int64_t now_us, int64_t before_seq, int limit,
                        arena *a, record **out);
/* server: { pulls: log }: every version of a tenant's records stored after since (a sequence number, or
 * with by_time the server's clock, at since too when inclusive), each as it was stored, in log order, at
 * most limit (needs store_versions_enable). *out in a. */
int store_versions_since(store *s, const char *tenant, int64_t since, bool by_time, bool inclusive, int limit, arena *a,
                         record **out);
/* As store_changes_since_time, over what is visible at now_us, and only server_ts < before_us. */
int store_visible_since_time(store *s, const char *tenant, const char *type, int64_t since_us, bool inclusive,
                             int64_t now_us, int64_t before_us, int limit, arena *a, record **out);
/* The smallest seq and server_ts of any version not visible at now_us (INT64_MAX both when none). */
bool store_hidden_horizon(store *s, int64_t now_us, int64_t *seq, int64_t *server_us);
/* Whether the tenant has a version not visible at now_us. */
bool store_hidden_for_tenant(store *s, const char *tenant, int64_t now_us);
/* Records whose last write's device clock is after since_us, by that clock, at most limit. */
int store_local_changes_since(store *s, int64_t since_us, int limit, arena *a, record **out);

/* The client's conflict store: the server's version of a record in conflict. */
void store_conflict_put(store *s, const record *server_version);
bool store_conflict_get(store *s, const char *type, const char *id, arena *a, record *server_version);
void store_conflict_remove(store *s, const char *type, const char *id);
int64_t store_conflict_count(store *s);

/* Idempotency: the stored result JSON text (copied into a), or NULL. */
const char *store_applied_get(store *s, int64_t device, int64_t op, arena *a);
void store_applied_put(store *s, int64_t device, int64_t op, const char *result_json);

void store_kept_add(store *s, const record *r, write_id w);
void store_kept_each(store *s, void (*fn)(void *ctx, const char *type, const char *id, write_id w), void *ctx);

/* The app's local database deleted, inside a transaction (docs/lifecycle.md): every table's rows go,
 * but never the counters that must not repeat (meta op_seq and boots, the outbox's AUTOINCREMENT
 * sequence); keep_cursors keeps the pull cursors (meta cursor, cursor:<type>) as well, keep_records the
 * records table (a switch of accounts under the profile's switch: keep-data). */
void store_wipe(store *s, bool keep_cursors, bool keep_records);
/* The writes of every outbox entry, in any state, oldest first. Returns the count; *out in a. */
int store_outbox_writes(store *s, arena *a, write_id **out);

#endif
