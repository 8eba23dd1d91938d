/*
 * store_malloc: SQLite's memory, from free lists by size class. See store_malloc.h.
 *
 * Why: Debian's SQLite is built without lookaside memory (SQLITE_OMIT_LOOKASIDE), so every
 * allocation a statement makes -- a register's buffer, a cursor, a record being built -- goes to
 * malloc and back: two million pairs in 12 simulated hours of week-100, nearly all under 512
 * bytes and freed within the statement, in bursts larger than glibc's per-size cache (7 blocks),
 * so most took its slower paths: 3% of the run's instructions. Here a freed block goes on its
 * class's list and the next request of the class takes it back, a few instructions each way,
 * and the block taken is the one freed last (still in the cache).
 *
 * Invariants: a block is a 16-byte header, then the caller's bytes (16-byte aligned). The header
 * holds the block's class, or CLASS_LARGE and the size asked for. A block on a free list is of
 * that list's class. Class blocks are carved from slabs that are never given back (the lists
 * hold at most what SQLite held at one time); a large block is malloc's and goes back to it.
 *
 * Not thread-safe: one simulation runs per process (sweeps fork their workers), and SQLite calls
 * these only from the thread that runs its statements.
 */
#include "engine/store_malloc.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 16
#define SMALL_STEP 16     /* classes of 16, 32, ... 512 bytes */
#define SMALL_MAX 512
#define LARGE_STEP 128    /* then 640, 768, ... 4096 */
#define CLASS_BYTES_MAX 4096
#define N_CLASSES (SMALL_MAX / SMALL_STEP + (CLASS_BYTES_MAX - SMALL_MAX) / LARGE_STEP)
#define CLASS_LARGE UINT32_MAX
#define SLAB_BYTES ((size_t)64 << 10)

typedef struct header {
    uint32_t cls;
    uint32_t unused;
    uint64_t size;    /* CLASS_LARGE: the bytes asked for */
} header;

_Static_assert(sizeof(header) == HEADER_BYTES, "the header keeps the caller's bytes 16-byte aligned");

typedef struct free_block {
    struct free_block *next;
} free_block;

typedef struct slab {
    struct slab *next;
    size_t used;
    _Alignas(16) unsigned char data[];
} slab;

static free_block *free_lists[N_CLASSES];
static slab *slabs;   /* the newest first: kept reachable, never freed */

/* The class of a request of n bytes (1 <= n <= CLASS_BYTES_MAX), and a class's usable bytes. */
static unsigned class_of(size_t n)
{
    if (n <= SMALL_MAX)
        return (unsigned)((n + SMALL_STEP - 1) / SMALL_STEP) - 1;
    return SMALL_MAX / SMALL_STEP + (unsigned)((n - SMALL_MAX + LARGE_STEP - 1) / LARGE_STEP) - 1;
}

static size_t class_bytes(unsigned cls)
{
    if (cls < SMALL_MAX / SMALL_STEP)
        return (size_t)(cls + 1) * SMALL_STEP;
    return SMALL_MAX + (size_t)(cls - SMALL_MAX / SMALL_STEP + 1) * LARGE_STEP;
}

static header *header_of(void *p)
{
    return (header *)((unsigned char *)p - HEADER_BYTES);
}

/* A new block of class cls, from the newest slab (the rest of a slab too small is left unused). */
static header *carve(unsigned cls)
{
    size_t bytes = HEADER_BYTES + class_bytes(cls);
    if (!slabs || SLAB_BYTES - slabs->used < bytes) {
        slab *s = malloc(sizeof *s + SLAB_BYTES);
        if (!s)
            return NULL;
        s->next = slabs;
        s->used = 0;
        slabs = s;
    }
    header *h = (header *)(slabs->data + slabs->used);
    slabs->used += bytes;
    return h;
}

static void *pool_malloc(int n_signed)
{
    size_t n = n_signed > 0 ? (size_t)n_signed : 1;
    header *h;
    if (n > CLASS_BYTES_MAX) {
        h = malloc(HEADER_BYTES + n);
        if (!h)
            return NULL;
        h->cls = CLASS_LARGE;
        h->size = n;
        return (unsigned char *)h + HEADER_BYTES;
    }
    unsigned cls = class_of(n);
    free_block *b = free_lists[cls];
    if (b) {
        free_lists[cls] = b->next;
        return b;   /* its header still says cls */
    }
    h = carve(cls);
    if (!h)
        return NULL;
    h->cls = cls;
    h->size = 0;
    return (unsigned char *)h + HEADER_BYTES;
}

static void pool_free(void *p)
{
    if (!p)
        return;
    header *h = header_of(p);
    if (h->cls == CLASS_LARGE) {
        free(h);
        return;
    }
    free_block *b = p;
    b->next = free_lists[h->cls];
    free_lists[h->cls] = b;
}

static int pool_size(void *p)
{
    if (!p)
        return 0;
    header *h = header_of(p);
    return (int)(h->cls == CLASS_LARGE ? h->size : class_bytes(h->cls));
}

static void *pool_realloc(void *p, int n)
{
    if (n > 0 && n <= pool_size(p))
        return p;   /* still fits */
    void *grown = pool_malloc(n);
    if (!grown)
        return NULL;   /* p stays as it was, as SQLite expects */
    int keep = pool_size(p) < n ? pool_size(p) : n;
    memcpy(grown, p, (size_t)keep);
    pool_free(p);
    return grown;
}

static int pool_roundup(int n)
{
    if (n > 0 && n <= CLASS_BYTES_MAX)
        return (int)class_bytes(class_of((size_t)n));
    return n;
}

static int pool_init(void *unused)
{
    (void)unused;
    return SQLITE_OK;
}

static void pool_shutdown(void *unused)
{
    (void)unused;
}

bool store_malloc_install(void)
{
    if (STORE_MALLOC_SANITIZED)
        return false;   /* the sanitizer watches malloc's blocks, not blocks reused here */
    static const sqlite3_mem_methods methods = {
        .xMalloc = pool_malloc,
        .xFree = pool_free,
        .xRealloc = pool_realloc,
        .xSize = pool_size,
        .xRoundup = pool_roundup,
        .xInit = pool_init,
        .xShutdown = pool_shutdown,
    };
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK;
}
