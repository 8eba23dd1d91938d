/*
 * store_vfs: the fault-injecting VFS shim (see store_vfs.h).
 *
 * A shim file is a header (its io methods, the faults, whether it is the main
 * database) followed by the base VFS's own file, which every call is passed
 * to. The faults pointer is NULL until the store attaches its faults with a
 * file control of the shim's own, so a file the store never claimed (a temp
 * file, a journal the base opens) is never faulted.
 *
 * Registration happens once per process; syncsim runs worlds in processes,
 * never threads, so a static flag is enough.
 */
#include "engine/store_vfs.h"

#include <string.h>

/* A file-control opcode of our own: far above SQLite's (which stop below 100). */
#define FCNTL_ATTACH_FAULTS 0x53594e43

typedef struct shim_file {
    sqlite3_file base;            /* methods: the shim's */
    store_vfs_faults *faults;     /* NULL until attached */
    sqlite3_file *real;           /* the base VFS's file, right after this header */
} shim_file;

static sqlite3_vfs shim_memdb, shim_default;
static bool registered;

static sqlite3_vfs *base_of(sqlite3_vfs *vfs)
{
    return (sqlite3_vfs *)vfs->pAppData;
}

/* The I/O error of this transaction, once: the rest of its calls (SQLite's rollback) pass. */
static bool io_error_now(store_vfs_faults *f)
{
    if (!f || f->io_errors <= 0 || f->tripped)
        return false;
    f->io_errors--;
    f->tripped = true;
    f->injected++;
    return true;
}

static int shim_close(sqlite3_file *file)
{
    shim_file *p = (shim_file *)file;
    int rc = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
    p->base.pMethods = NULL;
    return rc;
}

static int shim_read(sqlite3_file *file, void *out, int amount, sqlite3_int64 offset)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xRead(p->real, out, amount, offset);
}

static int shim_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    shim_file *p = (shim_file *)file;
    store_vfs_faults *f = p->faults;
    if (f && f->disk_full) {
        sqlite3_int64 size = 0;
        int rc = p->real->pMethods->xFileSize(p->real, &size);
        if (rc != SQLITE_OK)
            return rc;
        if (offset + amount > size) {
            f->injected++;
            return SQLITE_FULL;
        }
    }
    if (io_error_now(f))
        return SQLITE_IOERR_WRITE;
    return p->real->pMethods->xWrite(p->real, data, amount, offset);
}

static int shim_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xTruncate(p->real, size);
}

static int shim_sync(sqlite3_file *file, int flags)
{
    shim_file *p = (shim_file *)file;
    if (io_error_now(p->faults))
        return SQLITE_IOERR_FSYNC;
    return p->real->pMethods->xSync(p->real, flags);
}

static int shim_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xFileSize(p->real, size);
}

static int shim_lock(sqlite3_file *file, int level)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xLock(p->real, level);
}

static int shim_unlock(sqlite3_file *file, int level)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xUnlock(p->real, level);
}

static int shim_check_reserved(sqlite3_file *file, int *out)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int shim_file_control(sqlite3_file *file, int op, void *arg)
{
    shim_file *p = (shim_file *)file;
    if (op == FCNTL_ATTACH_FAULTS) {
        p->faults = arg;
        return SQLITE_OK;
    }
    return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int shim_sector_size(sqlite3_file *file)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xSectorSize(p->real);
}

static int shim_device_characteristics(sqlite3_file *file)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}

/* Shared memory (WAL) and memory mapping pass through when the base has them; the stores use neither. */
static int shim_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **out)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xShmMap(p->real, page, size, extend, out);
}

static int shim_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}

static void shim_shm_barrier(sqlite3_file *file)
{
    shim_file *p = (shim_file *)file;
    p->real->pMethods->xShmBarrier(p->real);
}

static int shim_shm_unmap(sqlite3_file *file, int delete_flag)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xShmUnmap(p->real, delete_flag);
}

static int shim_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xFetch(p->real, offset, amount, out);
}

static int shim_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    shim_file *p = (shim_file *)file;
    return p->real->pMethods->xUnfetch(p->real, offset, page);
}

static const sqlite3_io_methods SHIM_IO_V1 = {
    1,
    shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_file_size, shim_lock, shim_unlock,
    shim_check_reserved, shim_file_control, shim_sector_size, shim_device_characteristics,
    NULL, NULL, NULL, NULL, NULL, NULL,
};

static const sqlite3_io_methods SHIM_IO_V3 = {
    3,
    shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_file_size, shim_lock, shim_unlock,
    shim_check_reserved, shim_file_control, shim_sector_size, shim_device_characteristics,
    shim_shm_map, shim_shm_lock, shim_shm_barrier, shim_shm_unmap, shim_fetch, shim_unfetch,
};

static int shim_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
    shim_file *p = (shim_file *)file;
    memset(p, 0, sizeof *p);
    p->real = (sqlite3_file *)(p + 1);
    int rc = base_of(vfs)->xOpen(base_of(vfs), name, p->real, flags, out_flags);
    if (rc != SQLITE_OK || !p->real->pMethods) {
        p->base.pMethods = NULL;
        return rc;
    }
    /* Offer only the methods the base has: SQLite asks iVersion before calling xShmMap or xFetch. */
    p->base.pMethods = p->real->pMethods->iVersion >= 3 ? &SHIM_IO_V3 : &SHIM_IO_V1;
    return SQLITE_OK;
}

static int shim_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    return base_of(vfs)->xDelete(base_of(vfs), name, sync_dir);
}

static int shim_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return base_of(vfs)->xAccess(base_of(vfs), name, flags, out);
}

static int shim_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    return base_of(vfs)->xFullPathname(base_of(vfs), name, n, out);
}

static void *shim_dl_open(sqlite3_vfs *vfs, const char *path)
{
    return base_of(vfs)->xDlOpen(base_of(vfs), path);
}

static void shim_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    base_of(vfs)->xDlError(base_of(vfs), n, out);
}

static void (*shim_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void)
{
    return base_of(vfs)->xDlSym(base_of(vfs), handle, symbol);
}

static void shim_dl_close(sqlite3_vfs *vfs, void *handle)
{
    base_of(vfs)->xDlClose(base_of(vfs), handle);
}

static int shim_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    return base_of(vfs)->xRandomness(base_of(vfs), n, out);
}

static int shim_sleep(sqlite3_vfs *vfs, int microseconds)
{
    return base_of(vfs)->xSleep(base_of(vfs), microseconds);
}

static int shim_current_time(sqlite3_vfs *vfs, double *out)
{
    return base_of(vfs)->xCurrentTime(base_of(vfs), out);
}

static int shim_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    return base_of(vfs)->xGetLastError ? base_of(vfs)->xGetLastError(base_of(vfs), n, out) : 0;
}

static int shim_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    return base_of(vfs)->xCurrentTimeInt64(base_of(vfs), out);
}

static void shim_init(sqlite3_vfs *shim, sqlite3_vfs *base, const char *name)
{
    *shim = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(shim_file) + base->szOsFile,
        .mxPathname = base->mxPathname,
        .zName = name,
        .pAppData = base,
        .xOpen = shim_open,
        .xDelete = shim_delete,
        .xAccess = shim_access,
        .xFullPathname = shim_full_pathname,
        .xDlOpen = shim_dl_open,
        .xDlError = shim_dl_error,
        .xDlSym = shim_dl_sym,
        .xDlClose = shim_dl_close,
        .xRandomness = shim_randomness,
        .xSleep = shim_sleep,
        .xCurrentTime = shim_current_time,
        .xGetLastError = shim_get_last_error,
        .xCurrentTimeInt64 = base->iVersion >= 2 && base->xCurrentTimeInt64 ? shim_current_time_int64 : NULL,
    };
}

int store_vfs_register(void)
{
    if (registered)
        return SQLITE_OK;
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_vfs *memdb = sqlite3_vfs_find("memdb");
    sqlite3_vfs *fallback = sqlite3_vfs_find(NULL);
    if (!memdb || !fallback)
        return SQLITE_ERROR;
    shim_init(&shim_memdb, memdb, STORE_VFS_MEMDB);
    shim_init(&shim_default, fallback, STORE_VFS_FILE);
    if ((rc = sqlite3_vfs_register(&shim_memdb, 0)) != SQLITE_OK || (rc = sqlite3_vfs_register(&shim_default, 0)) != SQLITE_OK)
        return rc;
    registered = true;
    return SQLITE_OK;
}

bool store_vfs_attach(sqlite3 *db, store_vfs_faults *faults)
{
    sqlite3_vfs *vfs = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK ||
        (vfs != &shim_memdb && vfs != &shim_default))
        return false;
    return sqlite3_file_control(db, "main", FCNTL_ATTACH_FAULTS, faults) == SQLITE_OK;
}

void store_vfs_arm(store_vfs_faults *faults)
{
    faults->tripped = false;
}
