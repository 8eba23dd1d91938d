/*
 * sqlite-inserts: the bare SQLite figure the per-write cost is compared with.
 *
 * Inserts N single-row records, shaped like the engine's (two short text
 * keys, three integers, a ~200-byte JSON body), into an in-memory database
 * with one prepared statement inside one transaction, and prints
 *   inserts_per_s <rate>
 *   insert_ns <nanoseconds per insert>
 * The time is this process's CPU time, as bench.py's figures for syncsim
 * are: on a shared machine the wall clock would measure the other users.
 * This is a benchmark: it reads a clock, and nothing in sim/ or engine/
 * links it.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite-inserts: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (rows <= 0) {
        fprintf(stderr, "usage: sqlite-inserts [ROWS]\n");
        return 2;
    }
    sqlite3 *db;
    check(NULL, sqlite3_open(":memory:", &db), "open");
    check(db, sqlite3_exec(db, "CREATE TABLE records(type TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER, "
                               "version INTEGER, deleted INTEGER, body TEXT, PRIMARY KEY(type, id))",
                           NULL, NULL, NULL),
          "create");
    sqlite3_stmt *st;
    check(db, sqlite3_prepare_v3(db, "INSERT INTO records VALUES (?1, ?2, ?3, ?4, 0, ?5)", -1,
                                 SQLITE_PREPARE_PERSISTENT, &st, NULL),
          "prepare");
    static const char body[] = "{\"type\":\"note\",\"id\":\"u1-k1\",\"version\":3,\"deleted\":false,"
                               "\"fields\":{\"f1\":{\"v\":\"u1-d1#1001\",\"w\":1234,\"s\":5678},"
                               "\"f2\":{\"v\":\"u1-d2#1002\",\"w\":1235,\"s\":5679},"
                               "\"count\":{\"v\":3,\"w\":1236,\"s\":5680}}}";
    double t0 = cpu_now_s();
    check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "begin");
    char id[32];
    for (long i = 0; i < rows; i++) {
        int n = snprintf(id, sizeof id, "u%ld-k%ld", i % 97, i);
        sqlite3_bind_text(st, 1, "note", 4, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, n, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, i);
        sqlite3_bind_int64(st, 4, 1);
        sqlite3_bind_text(st, 5, body, (int)sizeof body - 1, SQLITE_STATIC);
        check(db, sqlite3_step(st), "insert");
        sqlite3_reset(st);
    }
    check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
    double elapsed = cpu_now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("inserts_per_s %.0f\ninsert_ns %.1f\n", (double)rows / elapsed, elapsed * 1e9 / (double)rows);
    return 0;
}
