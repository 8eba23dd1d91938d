/*
 * store_vfs: an SQLite VFS shim that makes a replica's store fail the way a
 * real disk does, when the world says so (docs/faults.md, "Storage faults").
 *
 * Two VFSes are registered, never as the default: "syncsim-faults-memdb"
 * over SQLite's memdb (an in-process store, which as ":memory:" would bypass
 * every VFS) and "syncsim-faults" over the default VFS (a file store, as
 * `syncsim node` keeps). Each passes every call through to its base and
 * consults the faults of the main database file it opened:
 *
 *   disk_full   a write that would grow the file fails with SQLITE_FULL;
 *               a write within the file's size succeeds, as on a real full
 *               disk, so SQLite can roll back what it had begun to write.
 *   io_errors   the next N transactions that write fail: the first write
 *               (SQLITE_IOERR_WRITE) or sync (SQLITE_IOERR_FSYNC) of each
 *               fails, and the rest of that transaction's calls, SQLite's
 *               rollback among them, succeed (the store re-arms the shim at
 *               its next BEGIN with store_vfs_arm).
 *
 * Only the main database file is faulted (the stores keep their journal in
 * memory, out of any VFS), and only the store's own writes: nothing here
 * reads a clock or draws a number, so a fault hits the same call in every run.
 */
#ifndef ENGINE_STORE_VFS_H
#define ENGINE_STORE_VFS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define STORE_VFS_MEMDB "syncsim-faults-memdb"
#define STORE_VFS_FILE "syncsim-faults"

/* The faults of one store's file, owned by the store; the shim reads and updates them. */
typedef struct store_vfs_faults {
    bool disk_full;           /* writes that grow the file fail with SQLITE_FULL */
    int io_errors;            /* transactions left whose first write or sync fails */
    bool tripped;             /* this transaction has had its I/O error: the rest pass (rollback) */
    uint64_t injected;        /* failures the shim returned, for tests and the trace */
} store_vfs_faults;

/* Register both VFSes (once; later calls are no-ops). Returns an SQLite result code. */
int store_vfs_register(void);
/* Attach faults to db's main file, opened through one of the shim's VFSes. False when it was not. */
bool store_vfs_attach(sqlite3 *db, store_vfs_faults *faults);
/* A transaction begins: an I/O error may strike it. */
void store_vfs_arm(store_vfs_faults *faults);

#endif
