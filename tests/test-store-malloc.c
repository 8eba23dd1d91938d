/*
 * test-store-malloc: SQLite's allocator (engine/store_malloc.c). Every size up to past the largest
 * class comes back aligned, at least as large as asked, and keeps what is written into it; a freed
 * block of a class is what the class hands out next; realloc keeps the bytes; and SQLite itself,
 * on it, stores and reads back rows of every size. In a sanitizer build the allocator is not
 * installed (the sanitizer watches malloc's blocks), and only SQLite's own round trip is checked.
 */
#include "engine/store_malloc.h"
#include "tests/testlib.h"

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#define SIZE_MAX_TRIED 5000

static void blocks_of_every_size(void)
{
    for (int n = 1; n <= SIZE_MAX_TRIED; n++) {
        unsigned char *p = sqlite3_malloc(n);
        EXPECT(p != NULL);
        EXPECT(((uintptr_t)p & 15u) == 0);
        EXPECT(sqlite3_msize(p) >= (sqlite3_uint64)n);
        memset(p, n & 0xff, (size_t)sqlite3_msize(p));
        unsigned char *q = sqlite3_malloc(n);   /* p is still held: another block */
        EXPECT(q != NULL && q != p);
        memset(q, 0x5a, (size_t)n);
        EXPECT(p[0] == (n & 0xff) && p[n - 1] == (n & 0xff));
        sqlite3_free(q);
        sqlite3_free(p);
        if (n <= 4096) {
            /* The class's list gives back the block freed last. */
            unsigned char *again = sqlite3_malloc(n);
            EXPECT(again == p);
            sqlite3_free(again);
        }
    }
    sqlite3_free(NULL);   /* as free(NULL) */
}

static void realloc_keeps_the_bytes(void)
{
    unsigned char *p = sqlite3_malloc(10);
    for (int i = 0; i < 10; i++)
        p[i] = (unsigned char)i;
    unsigned char *same = sqlite3_realloc(p, 12);   /* within its class */
    EXPECT(same == p);
    for (int n = 20; n <= 20000; n = n * 3 / 2) {
        p = sqlite3_realloc(p, n);
        EXPECT(p != NULL && sqlite3_msize(p) >= (sqlite3_uint64)n);
        for (int i = 0; i < 10; i++)
            EXPECT(p[i] == i);
    }
    p = sqlite3_realloc(p, 3);   /* shrinking keeps the first bytes */
    EXPECT(p[0] == 0 && p[2] == 2);
    sqlite3_free(p);
}

/* Rows of every size through a real database: what the stores do, on this allocator. */
static void sqlite_round_trips(void)
{
    sqlite3 *db = NULL;
    EXPECT(sqlite3_open(":memory:", &db) == SQLITE_OK);
    EXPECT(sqlite3_exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)", NULL, NULL, NULL) == SQLITE_OK);
    static unsigned char bytes[9000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 7 + 3);
    sqlite3_stmt *put = NULL, *get = NULL;
    EXPECT(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, ?)", -1, &put, NULL) == SQLITE_OK);
    EXPECT(sqlite3_prepare_v2(db, "SELECT v FROM t WHERE k = ?", -1, &get, NULL) == SQLITE_OK);
    for (int k = 0; k < 900; k++) {
        sqlite3_bind_int(put, 1, k);
        sqlite3_bind_blob(put, 2, bytes, k * 10, SQLITE_TRANSIENT);
        EXPECT(sqlite3_step(put) == SQLITE_DONE);
        sqlite3_reset(put);
    }
    for (int k = 0; k < 900; k++) {
        sqlite3_bind_int(get, 1, k);
        EXPECT(sqlite3_step(get) == SQLITE_ROW);
        EXPECT(sqlite3_column_bytes(get, 0) == k * 10);
        EXPECT(k == 0 || memcmp(sqlite3_column_blob(get, 0), bytes, (size_t)k * 10) == 0);
        sqlite3_reset(get);
    }
    sqlite3_finalize(put);
    sqlite3_finalize(get);
    EXPECT(sqlite3_close(db) == SQLITE_OK);
}

int main(void)
{
    EXPECT(store_malloc_install() == !STORE_MALLOC_SANITIZED);
    EXPECT(sqlite3_initialize() == SQLITE_OK);
    EXPECT(!store_malloc_install());   /* too late once SQLite is initialised */
    if (!STORE_MALLOC_SANITIZED)
        blocks_of_every_size();
    realloc_keeps_the_bytes();
    sqlite_round_trips();
    return test_exit("store-malloc");
}
