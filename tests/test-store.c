/*
 * test-store: a replica's SQLite store (engine/store.c).
 *
 * In memory: records (get hit and miss, upsert replaces, every field, stamp
 * and flag survives); store_changes_since (seq > since, by seq, at most
 * limit; paging with the last seq as the cursor visits every record exactly
 * once, an upserted record once at its new seq); records_each order; meta
 * (fallback, set, overwrite, extremes); the outbox (increasing seqs that are
 * never reused, oldest first up to max with body, changed fields and base
 * version intact, remove, has, count, rebase of the matching entries only);
 * applied_ops (miss, hit per device and op, replace); kept (add, duplicates
 * ignored, ordered listing).
 *
 * On disk, in a mkdtemp directory: a second sqlite3 connection sees the rows
 * (records, change log, outbox, meta), sees nothing of an open transaction
 * until it commits, and opening an existing path starts empty. An unwritable
 * path gives NULL and an error naming the path.
 *
 * Durability in batches (store_durable_open, store_flush, store_power_loss): without a durable
 * copy nothing is ever unflushed, a flush does nothing and a power loss keeps everything; with
 * one (in memory, and as a file beside a file store that a reopened store finds), the first
 * flush copies the store whole, a flush with nothing new does nothing, and a power loss brings
 * back exactly the last flush: records, outbox and meta committed after it are gone, what came
 * before it is kept, and the store works on afterwards.
 *
 * Storage faults (store_open_faultable, engine/store_vfs.c), in memory (memdb) and on disk:
 * a transaction that grows the file while the disk is full fails with SQLITE_FULL, is rolled
 * back whole (record, outbox and meta as before) and the store passes PRAGMA integrity_check;
 * a write within the file's size succeeds meanwhile; io_errors N fails exactly the next N
 * writing transactions with SQLITE_IOERR, then writes succeed; a read-only transaction never
 * fails; the file store reopened (keep) holds exactly the committed transactions.
 */
#include "base/arena.h"
#include "base/xalloc.h"
#include "engine/store.h"
#include "sim/pcg.h"
#include "tests/testlib.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static stamp ST(write_id w, int64_t t)
{
    return (stamp){ .w = w, .ts_us = t, .h = { .l_us = t + 1, .c = 2 }, .server_us = t + 3 };
}

/* A record with one integer field "n" and one string field "s". */
static void make_record(record *r, arena *a, const char *type, const char *id, int64_t seq, int64_t n,
                        write_id w)
{
    record_init(r, a, type, id);
    r->seq = seq;
    r->version = seq * 10;
    r->st = ST(w, 1000 + seq);
    value vn = { .kind = VAL_INT, .i = n };
    value vs = { .kind = VAL_STRING, .s = id };
    record_set_field(r, a, "n", &vn, &r->st);
    record_set_field(r, a, "s", &vs, &r->st);
}

static store *open_memory(void)
{
    char *err = NULL;
    store *s = store_open(NULL, false, &err);
    EXPECT(s != NULL);
    EXPECT(err == NULL);
    if (!s) {
        fprintf(stderr, "store_open(NULL): %s\n", err ? err : "?");
        xfree(err);
        exit(1);
    }
    return s;
}

/* --- records ------------------------------------------------------------- */

static void records_get_put_upsert(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 4096);
    record r, got;

    EXPECT(!store_record_get(s, "note", "n1", &a, &got));

    make_record(&r, &a, "note", "n1", 1, 5, WRITE_ID(1, 1));
    r.deleted = true;
    r.del = ST(WRITE_ID(1, 2), 2000);
    store_record_put(s, &r);
    memset(&got, 0, sizeof got);
    EXPECT(store_record_get(s, "note", "n1", &a, &got));
    EXPECT_STR(got.type, "note");
    EXPECT_STR(got.id, "n1");
    EXPECT_INT(got.seq, 1);
    EXPECT_INT(got.version, 10);
    EXPECT(got.deleted);
    EXPECT_U64(got.del.w, WRITE_ID(1, 2));
    EXPECT_INT(got.del.server_us, 2003);
    EXPECT_INT(got.st.h.c, 2);
    EXPECT(record_same_provenance(&got, &r));
    EXPECT_INT(record_field(&got, "n")->v.i, 5);
    EXPECT_STR(record_field(&got, "s")->v.s, "n1");

    /* The key is (type, id): neither alone matches. */
    EXPECT(!store_record_get(s, "note", "n2", &a, &got));
    EXPECT(!store_record_get(s, "task", "n1", &a, &got));
    EXPECT(!store_record_get(s, "note", "N1", &a, &got));

    /* Same id under another type is another record. */
    record t;
    make_record(&t, &a, "task", "n1", 2, 6, WRITE_ID(2, 1));
    store_record_put(s, &t);

    /* Upsert replaces the whole record. */
    record r2;
    make_record(&r2, &a, "note", "n1", 7, 99, WRITE_ID(3, 1));
    store_record_put(s, &r2);
    EXPECT(store_record_get(s, "note", "n1", &a, &got));
    EXPECT_INT(got.seq, 7);
    EXPECT_INT(got.version, 70);
    EXPECT(!got.deleted);
    EXPECT_U64(got.del.w, WRITE_NONE);
    EXPECT_INT(record_field(&got, "n")->v.i, 99);
    EXPECT_U64(record_field(&got, "n")->st.w, WRITE_ID(3, 1));
    EXPECT(store_record_get(s, "task", "n1", &a, &got));
    EXPECT_INT(record_field(&got, "n")->v.i, 6);

    arena_release(&a);
    store_close(s);
}

typedef struct each_ctx {
    int n;
    char keys[16][32];
} each_ctx;

/* store_record_put_if_changed's four outcomes, in a packed (memory) store and a JSON (file) one:
 * the record itself is SAME; a new version of the same writes RESTAMPED; another write CHANGED;
 * and every outcome but SAME stores what it was given. */
static void put_if_changed_outcomes_in(store *s)
{
    arena a;
    arena_init(&a, 4096);
    record r, got;
    make_record(&r, &a, "note", "n1", 1, 5, WRITE_ID(1, 1));
    EXPECT_INT(store_record_put_if_changed(s, &r, &a), STORE_PUT_NEW);
    EXPECT_INT(store_record_put_if_changed(s, &r, &a), STORE_PUT_SAME);
    r.seq = 2;
    r.version = 20;
    r.st.server_us += 7;
    EXPECT_INT(store_record_put_if_changed(s, &r, &a), STORE_PUT_RESTAMPED);
    EXPECT(store_record_get(s, "note", "n1", &a, &got) && got.version == 20);
    stamp other = ST(WRITE_ID(2, 1), 2000);
    value six = { .kind = VAL_INT, .i = 6 };
    record_set_field(&r, &a, "n", &six, &other);
    EXPECT_INT(store_record_put_if_changed(s, &r, &a), STORE_PUT_CHANGED);
    EXPECT(store_record_get(s, "note", "n1", &a, &got) && record_field(&got, "n")->v.i == 6);
    /* The same value by another write: the same state, another provenance. */
    record_set_field(&r, &a, "n", &six, &r.st);
    EXPECT_INT(store_record_put_if_changed(s, &r, &a), STORE_PUT_CHANGED);
    store_close(s);
    arena_release(&a);
}

static void put_if_changed_outcomes(void)
{
    put_if_changed_outcomes_in(open_memory());
    char path[] = "/tmp/syncsim-test-store-XXXXXX";
    int fd = mkstemp(path);
    EXPECT(fd >= 0);
    close(fd);
    char *err = NULL;
    store *s = store_open(path, false, &err);
    EXPECT(s != NULL);
    if (s)
        put_if_changed_outcomes_in(s);
    xfree(err);
    unlink(path);
}

static void collect_record(void *ctx, const record *r)
{
    each_ctx *e = ctx;
    if (e->n < 16)
        snprintf(e->keys[e->n], sizeof e->keys[0], "%s/%s", r->type, r->id);
    e->n++;
}

static void changes_since_pages_by_seq(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 4096);

    /* Stored out of seq order, with gaps; one record at seq 0 (never in the change log). */
    static const struct {
        const char *id;
        int64_t seq;
    } rows[] = { { "e", 9 }, { "a", 3 }, { "d", 1 }, { "c", 12 }, { "b", 4 }, { "z", 0 }, { "f", 7 } };
    enum { N = sizeof rows / sizeof rows[0] };
    for (int i = 0; i < N; i++) {
        record r;
        make_record(&r, &a, "note", rows[i].id, rows[i].seq, i, WRITE_ID(1, i + 1));
        store_record_put(s, &r);
    }

    record *out;
    int n = store_changes_since(s, "", 0, 100, &a, &out);
    EXPECT_INT(n, N - 1);   /* seq 0 is not after 0 */
    static const int64_t want[] = { 1, 3, 4, 7, 9, 12 };
    for (int i = 0; i < n && i < 6; i++)
        EXPECT_INT(out[i].seq, want[i]);
    EXPECT_STR(out[0].id, "d");
    EXPECT_STR(out[5].id, "c");
    EXPECT_INT(record_field(&out[5], "n")->v.i, 3);

    /* Strictly after since, even when since is itself a seq. */
    n = store_changes_since(s, "", 4, 100, &a, &out);
    EXPECT_INT(n, 3);
    EXPECT_INT(out[0].seq, 7);
    n = store_changes_since(s, "", 12, 100, &a, &out);
    EXPECT_INT(n, 0);
    n = store_changes_since(s, "", 1000, 100, &a, &out);
    EXPECT_INT(n, 0);

    /* The limit holds, and takes the oldest. */
    n = store_changes_since(s, "", 0, 2, &a, &out);
    EXPECT_INT(n, 2);
    EXPECT_INT(out[0].seq, 1);
    EXPECT_INT(out[1].seq, 3);
    n = store_changes_since(s, "", 0, 1, &a, &out);
    EXPECT_INT(n, 1);
    EXPECT_INT(out[0].seq, 1);

    /* Paging with every page size: each record exactly once, in seq order. */
    for (int limit = 1; limit <= N + 1; limit++) {
        int seen[16] = { 0 };
        int64_t cursor = 0, last = 0;
        int pages = 0, total = 0;
        for (;;) {
            n = store_changes_since(s, "", cursor, limit, &a, &out);
            EXPECT(n <= limit);
            if (n == 0)
                break;
            for (int i = 0; i < n; i++) {
                EXPECT(out[i].seq > last);
                last = out[i].seq;
                seen[out[i].seq]++;
                total++;
            }
            cursor = out[n - 1].seq;
            if (++pages > 20)
                break;
        }
        EXPECT_INT(total, N - 1);
        for (int i = 0; i < 6; i++)
            EXPECT_INT(seen[want[i]], 1);
        EXPECT_INT(pages, (N - 1 + limit - 1) / limit);
    }

    /* An upserted record moves to its new seq and appears once, there. */
    record moved;
    make_record(&moved, &a, "note", "d", 20, 42, WRITE_ID(2, 1));
    store_record_put(s, &moved);
    n = store_changes_since(s, "", 0, 100, &a, &out);
    EXPECT_INT(n, N - 1);
    EXPECT_INT(out[0].seq, 3);
    EXPECT_INT(out[n - 1].seq, 20);
    EXPECT_STR(out[n - 1].id, "d");
    EXPECT_INT(record_field(&out[n - 1], "n")->v.i, 42);
    n = store_changes_since(s, "", 12, 100, &a, &out);
    EXPECT_INT(n, 1);
    EXPECT_STR(out[0].id, "d");

    /* records_each: every record, including seq 0, by (type, id). */
    record other;
    make_record(&other, &a, "alpha", "zz", 30, 0, WRITE_ID(3, 1));
    store_record_put(s, &other);
    each_ctx e = { 0 };
    store_records_each(s, &a, collect_record, &e);
    EXPECT_INT(e.n, N + 1);
    EXPECT_STR(e.keys[0], "alpha/zz");
    EXPECT_STR(e.keys[1], "note/a");
    EXPECT_STR(e.keys[2], "note/b");
    EXPECT_STR(e.keys[N], "note/z");

    arena_release(&a);
    store_close(s);
}

/* Pulls see only the asking user's records, each user's in seq order. */
static void changes_since_filters_by_tenant(void)
{
    char *err = NULL;
    store *s = store_open(NULL, false, &err);
    arena a;
    arena_init(&a, 4096);
    const char *tenants[] = { "alice", "bob", "alice", "bob", "alice" };
    for (int i = 0; i < 5; i++) {
        record r;
        char id[8];
        snprintf(id, sizeof id, "r%d", i);
        make_record(&r, &a, "note", id, i + 1, i, WRITE_ID(1, i + 1));
        r.tenant = tenants[i];
        store_record_put(s, &r);
    }
    record *out;
    int n = store_changes_since(s, "alice", 0, 100, &a, &out);
    EXPECT_INT(n, 3);
    for (int i = 0; i < n; i++)
        EXPECT_STR(out[i].tenant, "alice");
    if (n == 3) {
        EXPECT_INT(out[0].seq, 1);
        EXPECT_INT(out[1].seq, 3);
        EXPECT_INT(out[2].seq, 5);
    }
    EXPECT_INT(store_changes_since(s, "bob", 2, 100, &a, &out), 1);
    EXPECT_INT(store_changes_since(s, "carol", 0, 100, &a, &out), 0);
    arena_release(&a);
    store_close(s);
}

static void meta_fallback_set_overwrite(void)
{
    store *s = open_memory();
    EXPECT_INT(store_meta_get(s, "cursor", 0), 0);
    EXPECT_INT(store_meta_get(s, "cursor", -7), -7);
    store_meta_set(s, "cursor", 41);
    EXPECT_INT(store_meta_get(s, "cursor", 0), 41);
    EXPECT_INT(store_meta_get(s, "cursor", -7), 41);   /* a stored value wins over any fallback */
    store_meta_set(s, "cursor", 57);
    EXPECT_INT(store_meta_get(s, "cursor", 0), 57);
    store_meta_set(s, "cursor", 0);
    EXPECT_INT(store_meta_get(s, "cursor", 99), 0);    /* a stored 0 is not "missing" */
    store_meta_set(s, "seq", INT64_MAX);
    store_meta_set(s, "hlc_l", INT64_MIN);
    EXPECT_INT(store_meta_get(s, "seq", 0), INT64_MAX);
    EXPECT_INT(store_meta_get(s, "hlc_l", 0), INT64_MIN);
    EXPECT_INT(store_meta_get(s, "cursor", 99), 0);    /* keys are independent */
    EXPECT_INT(store_meta_get(s, "Cursor", 5), 5);
    /* Several at once, each as store_meta_set would leave it: "cursor" replaced, the rest new. */
    const char *keys[] = { "cursor", "a", "b", "c" };
    for (int n = 1; n <= STORE_META_SET_MAX; n++) {
        int64_t numbers[] = { 100 * n, 100 * n + 1, 100 * n + 2, 100 * n + 3 };
        store_meta_set_all(s, n, keys, numbers);
        for (int i = 0; i < STORE_META_SET_MAX; i++)
            EXPECT_INT(store_meta_get(s, keys[i], -1), i < n ? numbers[i] : -1);   /* earlier rounds set fewer */
        EXPECT_INT(store_meta_get(s, "seq", 0), INT64_MAX);   /* others untouched */
    }
    store_close(s);
}

/* --- outbox -------------------------------------------------------------- */

static int64_t add_entry(store *s, arena *a, op_kind op, const char *type, const char *id, int64_t base,
                         write_id w, int n_changed, const char *const *changed, int64_t value_n)
{
    outbox_entry e = { 0 };
    record_init(&e.body, a, type, id);
    e.body.st = ST(w, value_n);
    value v = { .kind = VAL_INT, .i = value_n };
    for (int i = 0; i < n_changed; i++)
        record_set_field(&e.body, a, changed[i], &v, &e.body.st);
    if (op == OP_DELETE) {
        e.body.deleted = true;
        e.body.del = e.body.st;
    }
    e.op = op;
    e.type = type;
    e.id = id;
    e.base_version = base;
    e.w = w;
    e.n_changed = op == OP_DELETE ? 0 : n_changed;
    e.changed = (const char **)arena_alloc(a, (size_t)(n_changed ? n_changed : 1) * sizeof *e.changed);
    for (int i = 0; i < n_changed; i++)
        e.changed[i] = changed[i];
    return store_outbox_add(s, &e);
}

/* A user's write stored and queued with one encoding: the row and the entry's body read back as
 * the record, as the two calls would leave them. */
static void put_queued_is_put_then_add(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 8192);
    record r, got;
    make_record(&r, &a, "note", "n1", 0, 7, WRITE_ID(2, 5));
    const char *changed[] = { "n" };
    outbox_entry e = { .op = OP_CREATE, .type = "note", .id = "n1", .w = WRITE_ID(2, 5), .n_changed = 1,
                       .changed = changed, .body = r };
    int64_t seq = store_record_put_queued(s, &r, &e);
    EXPECT(seq > 0);
    EXPECT(store_record_get(s, "note", "n1", &a, &got));
    EXPECT(record_identical(&got, &r));
    outbox_entry *out;
    EXPECT_INT(store_outbox_peek(s, 10, &a, &out), 1);
    EXPECT_INT(out[0].seq, seq);
    EXPECT_STR(out[0].changed[0], "n");
    EXPECT(record_identical(&out[0].body, &r));
    store_close(s);
    arena_release(&a);
}

/* One record's entries, in any state, oldest first: what an ops counter's pending deltas are read from. */
static void outbox_of_one_record(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 8192);
    outbox_entry *out;
    static const char *const sets[] = { "sets" };
    EXPECT_INT(store_outbox_of(s, "volume", "v1", 10, &a, &out), 0);
    int64_t s1 = add_entry(s, &a, OP_INCREMENT, "volume", "v1", 2, WRITE_ID(1, 1), 1, sets, 4);
    add_entry(s, &a, OP_UPDATE, "volume", "v2", 2, WRITE_ID(1, 2), 1, sets, 9);
    int64_t s3 = add_entry(s, &a, OP_INCREMENT, "volume", "v1", 2, WRITE_ID(1, 3), 1, sets, -1);
    int n = store_outbox_of(s, "volume", "v1", 10, &a, &out);
    EXPECT_INT(n, 2);
    if (n == 2) {
        EXPECT_INT(out[0].seq, s1);
        EXPECT_INT(out[0].op, OP_INCREMENT);
        EXPECT_STR(out[0].changed[0], "sets");
        EXPECT_INT(record_field(&out[0].body, "sets")->v.i, 4);
        EXPECT(!out[0].waiting);
        EXPECT_INT(out[1].seq, s3);
        EXPECT_INT(record_field(&out[1].body, "sets")->v.i, -1);
    }
    EXPECT_INT(store_outbox_of(s, "volume", "v1", 1, &a, &out), 1);   /* at most max */
    /* Entries parked for the user are listed too, marked waiting; peek skips them. */
    store_outbox_mark_conflict(s, "volume", "v1");
    n = store_outbox_of(s, "volume", "v1", 10, &a, &out);
    EXPECT_INT(n, 2);
    for (int i = 0; i < n; i++)
        EXPECT(out[i].waiting);
    n = store_outbox_peek(s, 10, &a, &out);
    EXPECT_INT(n, 1);
    if (n == 1)
        EXPECT(!out[0].waiting);
    arena_release(&a);
    store_close(s);
}

static void outbox_queue(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 8192);
    outbox_entry *out;

    EXPECT_INT(store_outbox_count(s), 0);
    EXPECT_INT(store_outbox_peek(s, 10, &a, &out), 0);
    EXPECT(!store_outbox_has(s, "note", "n1"));

    static const char *const two[] = { "sets", "reps" };
    static const char *const one[] = { "title" };
    int64_t s1 = add_entry(s, &a, OP_CREATE, "note", "n1", 0, WRITE_ID(1, 1), 1, one, 10);
    int64_t s2 = add_entry(s, &a, OP_UPDATE, "workout", "w1", 3, WRITE_ID(1, 2), 2, two, 20);
    int64_t s3 = add_entry(s, &a, OP_DELETE, "note", "n1", 0, WRITE_ID(1, 3), 0, NULL, 30);
    EXPECT(s1 > 0);
    EXPECT(s2 > s1);
    EXPECT(s3 > s2);
    EXPECT_INT(store_outbox_count(s), 3);
    EXPECT(store_outbox_has(s, "note", "n1"));
    EXPECT(store_outbox_has(s, "workout", "w1"));
    EXPECT(!store_outbox_has(s, "note", "w1"));
    EXPECT(!store_outbox_has(s, "workout", "n1"));

    /* Oldest first, at most max. */
    int n = store_outbox_peek(s, 2, &a, &out);
    EXPECT_INT(n, 2);
    EXPECT_INT(out[0].seq, s1);
    EXPECT_INT(out[1].seq, s2);
    EXPECT_INT(store_outbox_count(s), 3);   /* peek does not consume */

    n = store_outbox_peek(s, 10, &a, &out);
    EXPECT_INT(n, 3);
    /* Entry 1: a create of note/n1. */
    EXPECT_INT(out[0].op, OP_CREATE);
    EXPECT_STR(out[0].type, "note");
    EXPECT_STR(out[0].id, "n1");
    EXPECT_INT(out[0].base_version, 0);
    EXPECT_U64(out[0].w, WRITE_ID(1, 1));
    EXPECT_INT(out[0].n_changed, 1);
    EXPECT_STR(out[0].changed[0], "title");
    EXPECT_INT(out[0].body.n_fields, 1);
    EXPECT_INT(record_field(&out[0].body, "title")->v.i, 10);
    EXPECT_U64(out[0].body.st.w, WRITE_ID(1, 1));
    EXPECT(!out[0].body.deleted);
    /* Entry 2: an update with two changed fields, in the order given. */
    EXPECT_INT(out[1].op, OP_UPDATE);
    EXPECT_STR(out[1].type, "workout");
    EXPECT_INT(out[1].base_version, 3);
    EXPECT_U64(out[1].w, WRITE_ID(1, 2));
    EXPECT_INT(out[1].n_changed, 2);
    EXPECT_STR(out[1].changed[0], "sets");
    EXPECT_STR(out[1].changed[1], "reps");
    EXPECT_INT(record_field(&out[1].body, "reps")->v.i, 20);
    EXPECT_U64(record_field(&out[1].body, "sets")->st.w, WRITE_ID(1, 2));
    EXPECT_INT(record_field(&out[1].body, "sets")->st.server_us, 23);
    /* Entry 3: a delete, no changed fields, a tombstone body. */
    EXPECT_INT(out[2].op, OP_DELETE);
    EXPECT_INT(out[2].n_changed, 0);
    EXPECT(out[2].body.deleted);
    EXPECT_U64(out[2].body.del.w, WRITE_ID(1, 3));

    /* Remove the middle: the others stay in order. */
    store_outbox_remove(s, s2);
    EXPECT_INT(store_outbox_count(s), 2);
    EXPECT(!store_outbox_has(s, "workout", "w1"));
    n = store_outbox_peek(s, 10, &a, &out);
    EXPECT_INT(n, 2);
    EXPECT_INT(out[0].seq, s1);
    EXPECT_INT(out[1].seq, s3);
    /* Removing what is gone (or never was) changes nothing. */
    store_outbox_remove(s, s2);
    store_outbox_remove(s, 12345);
    EXPECT_INT(store_outbox_count(s), 2);

    /* has() stays true while any entry of the record remains. */
    store_outbox_remove(s, s1);
    EXPECT(store_outbox_has(s, "note", "n1"));
    store_outbox_remove(s, s3);
    EXPECT(!store_outbox_has(s, "note", "n1"));
    EXPECT_INT(store_outbox_count(s), 0);

    /* Sequence numbers are never reused, even after the queue empties: the
     * server deduplicates on (device, seq), so a reused seq would replay an
     * old result for a new change. */
    int64_t s4 = add_entry(s, &a, OP_CREATE, "note", "n2", 0, WRITE_ID(1, 4), 1, one, 40);
    EXPECT(s4 > s3);
    n = store_outbox_peek(s, 1, &a, &out);
    EXPECT_INT(n, 1);
    EXPECT_INT(out[0].seq, s4);

    arena_release(&a);
    store_close(s);
}

static void outbox_rebase_matches_record_and_base(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 8192);
    static const char *const f[] = { "f" };
    int64_t e1 = add_entry(s, &a, OP_UPDATE, "note", "n1", 3, WRITE_ID(1, 1), 1, f, 1);
    int64_t e2 = add_entry(s, &a, OP_UPDATE, "note", "n1", 3, WRITE_ID(1, 2), 1, f, 2);
    int64_t e3 = add_entry(s, &a, OP_UPDATE, "note", "n1", 5, WRITE_ID(1, 3), 1, f, 3);
    int64_t e4 = add_entry(s, &a, OP_UPDATE, "note", "n2", 3, WRITE_ID(1, 4), 1, f, 4);
    int64_t e5 = add_entry(s, &a, OP_UPDATE, "task", "n1", 3, WRITE_ID(1, 5), 1, f, 5);

    store_outbox_rebase(s, "note", "n1", 3, 7);
    outbox_entry *out;
    int n = store_outbox_peek(s, 10, &a, &out);
    EXPECT_INT(n, 5);
    EXPECT_INT(out[0].seq, e1);
    EXPECT_INT(out[0].base_version, 7);
    EXPECT_INT(out[1].seq, e2);
    EXPECT_INT(out[1].base_version, 7);
    EXPECT_INT(out[2].seq, e3);
    EXPECT_INT(out[2].base_version, 5);   /* another base: untouched */
    EXPECT_INT(out[3].seq, e4);
    EXPECT_INT(out[3].base_version, 3);   /* another id: untouched */
    EXPECT_INT(out[4].seq, e5);
    EXPECT_INT(out[4].base_version, 3);   /* another type: untouched */
    /* Nothing else about the entries changed. */
    EXPECT_U64(out[0].w, WRITE_ID(1, 1));
    EXPECT_INT(out[0].op, OP_UPDATE);
    EXPECT_INT(record_field(&out[1].body, "f")->v.i, 2);
    EXPECT_STR(out[1].changed[0], "f");

    /* A rebase from a base no entry has is a no-op. */
    store_outbox_rebase(s, "note", "n1", 99, 100);
    n = store_outbox_peek(s, 10, &a, &out);
    EXPECT_INT(out[0].base_version, 7);
    EXPECT_INT(out[2].base_version, 5);
    EXPECT_INT(store_outbox_count(s), 5);

    arena_release(&a);
    store_close(s);
}

/* --- idempotency keys and kept versions --------------------------------------- */

static void applied_ops_get_put(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 1024);
    EXPECT(store_applied_get(s, 1, 12, &a) == NULL);
    store_applied_put(s, 1, 12, "{\"op_id\":12,\"status\":\"applied\"}");
    const char *got = store_applied_get(s, 1, 12, &a);
    EXPECT_STR(got, "{\"op_id\":12,\"status\":\"applied\"}");
    /* The key is (device, op): another device's op 12 and our op 13 are misses. */
    EXPECT(store_applied_get(s, 2, 12, &a) == NULL);
    EXPECT(store_applied_get(s, 1, 13, &a) == NULL);
    store_applied_put(s, 2, 12, "{\"device\":2}");
    EXPECT_STR(store_applied_get(s, 2, 12, &a), "{\"device\":2}");
    EXPECT_STR(store_applied_get(s, 1, 12, &a), "{\"op_id\":12,\"status\":\"applied\"}");
    /* The result is a copy in the caller's arena, not a pointer into SQLite. */
    store_applied_put(s, 1, 12, "{\"replaced\":true}");
    EXPECT_STR(got, "{\"op_id\":12,\"status\":\"applied\"}");
    EXPECT_STR(store_applied_get(s, 1, 12, &a), "{\"replaced\":true}");
    arena_release(&a);
    store_close(s);
}

typedef struct kept_ctx {
    int n;
    char rows[8][64];
} kept_ctx;

static void collect_kept(void *ctx, const char *type, const char *id, write_id w)
{
    kept_ctx *k = ctx;
    if (k->n < 8)
        snprintf(k->rows[k->n], sizeof k->rows[0], "%s/%s@%llx", type, id, (unsigned long long)w);
    k->n++;
}

static void kept_add_each(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 2048);
    kept_ctx k = { 0 };
    store_kept_each(s, collect_kept, &k);
    EXPECT_INT(k.n, 0);

    record r1, r2, r3;
    make_record(&r1, &a, "note", "n2", 1, 1, WRITE_ID(2, 1));
    make_record(&r2, &a, "note", "n1", 2, 2, WRITE_ID(1, 5));
    make_record(&r3, &a, "alpha", "x", 3, 3, WRITE_ID(1, 1));
    store_kept_add(s, &r1, WRITE_ID(2, 1));
    store_kept_add(s, &r2, WRITE_ID(1, 5));
    store_kept_add(s, &r2, WRITE_ID(1, 3));
    store_kept_add(s, &r3, WRITE_ID(1, 1));
    store_kept_add(s, &r2, WRITE_ID(1, 5));   /* the same losing write again: kept once */
    store_kept_each(s, collect_kept, &k);
    EXPECT_INT(k.n, 4);
    EXPECT_STR(k.rows[0], "alpha/x@100000001");
    EXPECT_STR(k.rows[1], "note/n1@100000003");
    EXPECT_STR(k.rows[2], "note/n1@100000005");
    EXPECT_STR(k.rows[3], "note/n2@200000001");
    arena_release(&a);
    store_close(s);
}

/* --- on disk ------------------------------------------------------------- */

static void open_unwritable_path_fails_with_the_path(void)
{
    char *err = NULL;
    store *s = store_open("/nonexistent-dir/x.sqlite", false, &err);
    EXPECT(s == NULL);
    EXPECT_CONTAINS(err, "/nonexistent-dir/x.sqlite");
    EXPECT_CONTAINS(err, "cannot create store");
    xfree(err);
    store_close(s);   /* NULL is fine */
}

/* One integer from the other connection, or -1. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t out = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s: %s\n", __FILE__, sql, sqlite3_errmsg(db));
        test_failures++;
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return out;
}

static void file_store_is_visible_to_another_connection(void)
{
    char dir[] = "/tmp/syncsim-test-store-XXXXXX";
    EXPECT(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/phone.sqlite", dir);

    char *err = NULL;
    store *s = store_open(path, false, &err);
    EXPECT(s != NULL);
    if (!s) {
        fprintf(stderr, "store_open(%s): %s\n", path, err ? err : "?");
        xfree(err);
        rmdir(dir);
        return;
    }
    arena a;
    arena_init(&a, 4096);
    record r;
    make_record(&r, &a, "note", "n1", 5, 77, WRITE_ID(1, 9));
    store_record_put(s, &r);
    store_changelog_add(s, &r);
    store_meta_set(s, "cursor", 33);
    static const char *const f[] = { "n" };
    add_entry(s, &a, OP_CREATE, "note", "n1", 0, WRITE_ID(1, 9), 1, f, 77);

    sqlite3 *db = NULL;
    EXPECT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    EXPECT_INT(query_int(db, "SELECT count(*) FROM records"), 1);
    EXPECT_INT(query_int(db, "SELECT seq FROM records WHERE type = 'note' AND id = 'n1'"), 5);
    EXPECT_INT(query_int(db, "SELECT version FROM records WHERE type = 'note' AND id = 'n1'"), 50);
    EXPECT_INT(query_int(db, "SELECT deleted FROM records WHERE type = 'note' AND id = 'n1'"), 0);
    EXPECT_INT(query_int(db, "SELECT json_extract(body, '$.fields.n.v') FROM records"), 77);
    EXPECT_INT(query_int(db, "SELECT count(*) FROM changes"), 1);
    EXPECT_INT(query_int(db, "SELECT seq FROM changes WHERE type = 'note' AND id = 'n1'"), 5);
    EXPECT_INT(query_int(db, "SELECT version FROM changes"), 50);
    EXPECT_INT(query_int(db, "SELECT w FROM changes"), (int64_t)WRITE_ID(1, 9));
    EXPECT_INT(query_int(db, "SELECT value FROM meta WHERE key = 'cursor'"), 33);
    EXPECT_INT(query_int(db, "SELECT count(*) FROM outbox"), 1);
    EXPECT_INT(query_int(db, "SELECT w FROM outbox"), (int64_t)WRITE_ID(1, 9));

    /* The change log is append-only: a second entry is a second row. */
    r.seq = 6;
    r.version = 60;
    store_changelog_add(s, &r);
    EXPECT_INT(query_int(db, "SELECT count(*) FROM changes"), 2);
    EXPECT_INT(query_int(db, "SELECT max(seq) FROM changes"), 6);

    /* The first kept version of a losing write is the one kept. */
    record k1, k2;
    make_record(&k1, &a, "note", "k", 1, 111, WRITE_ID(2, 7));
    make_record(&k2, &a, "note", "k", 2, 222, WRITE_ID(2, 7));
    store_kept_add(s, &k1, WRITE_ID(2, 7));
    store_kept_add(s, &k2, WRITE_ID(2, 7));
    EXPECT_INT(query_int(db, "SELECT count(*) FROM kept"), 1);
    EXPECT_INT(query_int(db, "SELECT json_extract(body, '$.fields.n.v') FROM kept"), 111);

    /* Inside a transaction nothing is visible until the commit. */
    store_begin(s);
    record r2;
    make_record(&r2, &a, "note", "n2", 7, 1, WRITE_ID(1, 10));
    store_record_put(s, &r2);
    store_meta_set(s, "cursor", 34);
    EXPECT_INT(query_int(db, "SELECT count(*) FROM records"), 1);
    EXPECT_INT(query_int(db, "SELECT value FROM meta WHERE key = 'cursor'"), 33);
    store_commit(s);
    EXPECT_INT(query_int(db, "SELECT count(*) FROM records"), 2);
    EXPECT_INT(query_int(db, "SELECT value FROM meta WHERE key = 'cursor'"), 34);
    sqlite3_close(db);
    store_close(s);

    /* Kept, the same file opens with everything committed in it (a restarted replica's store). */
    s = store_open(path, true, &err);
    EXPECT(s != NULL);
    if (s) {
        record got;
        EXPECT(store_record_get(s, "note", "n1", &a, &got));
        EXPECT_INT(store_meta_get(s, "cursor", -1), 34);
        store_meta_set(s, "cursor", 35);
        EXPECT_INT(store_meta_get(s, "cursor", -1), 35);
        store_close(s);
    }

    /* Opening an existing path starts from an empty store (each run starts afresh). */
    s = store_open(path, false, &err);
    EXPECT(s != NULL);
    if (s) {
        record got;
        EXPECT(!store_record_get(s, "note", "n1", &a, &got));
        EXPECT_INT(store_outbox_count(s), 0);
        EXPECT_INT(store_meta_get(s, "cursor", -1), -1);
        store_close(s);
    }

    arena_release(&a);
    EXPECT(unlink(path) == 0);
    EXPECT(rmdir(dir) == 0);   /* fails if the store left other files behind */
}

/* The sync queue's states: ranks order pushes, parked entries wait, attempts count, a record's entries go together. */
static void outbox_ranks_states_attempts(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 8192);
    static const char *const one[] = { "title" };
    int64_t child = add_entry(s, &a, OP_CREATE, "appointment", "a1", 0, WRITE_ID(1, 1), 1, one, 1);
    outbox_entry parent = { 0 };
    record_init(&parent.body, &a, "pet", "p1");
    parent.body.st = ST(WRITE_ID(1, 2), 2);
    parent.op = OP_CREATE;
    parent.type = "pet";
    parent.id = "p1";
    parent.w = WRITE_ID(1, 2);
    parent.force = true;
    parent.rank = -1;   /* pushed before rank 0, though queued after */
    int64_t first = store_outbox_add(s, &parent);
    outbox_entry *out;
    EXPECT_INT(store_outbox_peek(s, 10, &a, &out), 2);
    EXPECT_INT(out[0].seq, first);
    EXPECT(out[0].force);
    EXPECT_INT(out[0].rank, -1);
    EXPECT_INT(out[1].seq, child);
    EXPECT(!out[1].force);
    /* Attempts count per entry. */
    EXPECT_INT(store_outbox_attempted(s, child), 1);
    EXPECT_INT(store_outbox_attempted(s, child), 2);
    EXPECT_INT(store_outbox_peek(s, 10, &a, &out), 2);
    EXPECT_INT(out[1].attempts, 2);
    /* Parked: not pushed, not pending, still "has" (pulls must not overwrite it). */
    store_outbox_mark_conflict(s, "appointment", "a1");
    EXPECT_INT(store_outbox_count(s), 1);
    EXPECT_INT(store_outbox_peek(s, 10, &a, &out), 1);
    EXPECT(store_outbox_has(s, "appointment", "a1"));
    store_outbox_remove_record(s, "appointment", "a1");
    EXPECT(!store_outbox_has(s, "appointment", "a1"));
    EXPECT_INT(store_outbox_count(s), 1);
    store_close(s);
    arena_release(&a);
}

/* Pulls by the server's clock and pushes by the device's: the timestamps the seed designs use as cursors. */
static void changes_by_time(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 16384);
    record r;
    const char *ids[] = { "n1", "n2", "n3", "t1" };
    int64_t server_ts[] = { 100, 200, 200, 300 };
    for (int i = 0; i < 4; i++) {
        make_record(&r, &a, i == 3 ? "task" : "note", ids[i], i + 1, i, WRITE_ID(1, (uint32_t)i + 1));
        r.tenant = "u1";
        r.updated_us = server_ts[i];
        r.st.ts_us = 1000 - server_ts[i];   /* device clocks in the opposite order */
        store_record_put(s, &r);
    }
    record *got;
    EXPECT_INT(store_changes_since_time(s, "u1", NULL, 100, false, false, 10, &a, &got), 3);
    EXPECT_STR(got[0].id, "n2");
    EXPECT_INT(got[0].updated_us, 200);
    EXPECT_INT(store_changes_since_time(s, "u1", NULL, 200, false, false, 10, &a, &got), 1);   /* > skips both at 200 */
    EXPECT_INT(store_changes_since_time(s, "u1", NULL, 200, true, false, 10, &a, &got), 3);    /* >= returns them again */
    EXPECT_INT(store_changes_since_time(s, "u1", "note", 0, false, false, 10, &a, &got), 3);
    EXPECT_INT(store_changes_since_time(s, "u1", "task", 0, false, false, 10, &a, &got), 1);
    EXPECT_INT(store_changes_since_time(s, "u2", NULL, 0, false, false, 10, &a, &got), 0);
    EXPECT_INT(store_changes_since_time(s, "u1", NULL, 0, false, false, 2, &a, &got), 2);        /* the limit */
    /* server: { pulls: log }: every version, as stored, in log order (n1's two versions both). */
    store_versions_enable(s);
    for (int i = 0; i < 4; i++) {
        make_record(&r, &a, i == 3 ? "task" : "note", ids[i], i + 1, i, WRITE_ID(1, (uint32_t)i + 1));
        r.tenant = "u1";
        r.updated_us = server_ts[i];
        store_version_add(s, &r, 0);
    }
    make_record(&r, &a, "note", "n1", 5, 1, WRITE_ID(1, 9));
    r.tenant = "u1";
    r.version = 2;
    r.updated_us = 400;
    store_version_add(s, &r, 0);
    EXPECT_INT(store_versions_since(s, "u1", 0, false, false, 10, &a, &got), 5);
    EXPECT_STR(got[0].id, "n1");
    EXPECT_STR(got[4].id, "n1");
    EXPECT_INT(got[4].version, 2);
    EXPECT_INT(store_versions_since(s, "u1", 3, false, false, 10, &a, &got), 2);        /* seq 4 and 5 */
    EXPECT_INT(store_versions_since(s, "u1", 200, true, false, 10, &a, &got), 2);       /* server_ts 300, 400 */
    EXPECT_INT(store_versions_since(s, "u2", 0, false, false, 10, &a, &got), 0);
    /* cursor: writer-time: the same query over the last writer's own clock (900, 800, 800, 700). */
    EXPECT_INT(store_changes_since_time(s, "u1", NULL, 750, false, true, 10, &a, &got), 3);
    EXPECT_STR(got[0].id, "n2");
    EXPECT_STR(got[2].id, "n1");   /* by writer time, oldest first: 800, 800, then 900 */
    EXPECT_INT(store_changes_since_time(s, "u1", "task", 0, false, true, 10, &a, &got), 1);
    EXPECT_INT(store_changes_since_time(s, "u1", NULL, 800, true, true, 10, &a, &got), 3);   /* >= 800 */
    /* By the device clock of the last write: the watermark query. */
    EXPECT_INT(store_local_changes_since(s, 750, 10, &a, &got), 3);   /* 800, 800, 900 */
    EXPECT_STR(got[0].id, "n2");
    EXPECT_INT(got[0].st.ts_us, 800);
    EXPECT_INT(store_local_changes_since(s, INT64_MIN, 10, &a, &got), 4);
    store_record_remove(s, "note", "n1");
    record back;
    EXPECT(!store_record_get(s, "note", "n1", &a, &back));
    EXPECT_INT(store_local_changes_since(s, INT64_MIN, 10, &a, &got), 3);
    store_close(s);
    arena_release(&a);
}

static void conflicts_and_change_log(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 8192);
    record r, back;
    make_record(&r, &a, "workout", "w1", 4, 7, WRITE_ID(2, 3));
    EXPECT_INT(store_conflict_count(s), 0);
    EXPECT(!store_conflict_get(s, "workout", "w1", &a, &back));
    store_conflict_put(s, &r);
    store_conflict_put(s, &r);   /* one per record */
    EXPECT_INT(store_conflict_count(s), 1);
    EXPECT(store_conflict_get(s, "workout", "w1", &a, &back));
    EXPECT(record_same_provenance(&back, &r));
    store_conflict_remove(s, "workout", "w1");
    EXPECT_INT(store_conflict_count(s), 0);
    /* The writes the change log recorded after a version, oldest first. */
    for (int v = 1; v <= 4; v++) {
        make_record(&r, &a, "workout", "w1", v, v, WRITE_ID(1, (uint32_t)v));
        r.version = v;
        store_changelog_add(s, &r);
    }
    make_record(&r, &a, "workout", "w2", 5, 5, WRITE_ID(1, 9));
    store_changelog_add(s, &r);
    write_id *ws;
    EXPECT_INT(store_changelog_writes_since(s, "workout", "w1", 2, &a, &ws), 2);
    EXPECT_U64(ws[0], WRITE_ID(1, 3));
    EXPECT_U64(ws[1], WRITE_ID(1, 4));
    EXPECT_INT(store_changelog_writes_since(s, "workout", "w1", 4, &a, &ws), 0);
    store_close(s);
    arena_release(&a);
}

static int64_t count_records(store *s, arena *a)
{
    record *out;
    return store_changes_since(s, "t", -1, 100, a, &out);
}

static void flush_commit_keeps_everything(void)
{
    store *s = open_memory();
    arena a;
    arena_init(&a, 4096);
    record r;
    make_record(&r, &a, "note", "n1", 1, 1, WRITE_ID(1, 1));
    r.tenant = "t";
    store_record_put(s, &r);
    EXPECT(!store_unflushed(s));
    EXPECT(!store_flush(s));
    store_power_loss(s);
    EXPECT_INT(count_records(s, &a), 1);
    arena_release(&a);
    store_close(s);
}

/* Flush, then write more, then lose power: the store is its last flush again. */
static void lose_power_after_flush(store *s, arena *a)
{
    record r;
    EXPECT(store_unflushed(s));   /* a new copy is stale until its first flush */
    make_record(&r, a, "note", "n1", 1, 1, WRITE_ID(1, 1));
    r.tenant = "t";
    store_record_put(s, &r);
    store_meta_set(s, "cursor", 7);
    EXPECT(store_flush(s));
    EXPECT(!store_unflushed(s));
    EXPECT(!store_flush(s));      /* nothing new: nothing to do */

    store_begin(s);
    make_record(&r, a, "note", "n2", 2, 2, WRITE_ID(1, 2));
    r.tenant = "t";
    store_record_put(s, &r);
    static const char *const f[] = { "n" };
    add_entry(s, a, OP_CREATE, "note", "n2", 0, WRITE_ID(1, 2), 1, f, 2);
    store_meta_set(s, "cursor", 9);
    store_commit(s);
    EXPECT(store_unflushed(s));
    EXPECT_INT(count_records(s, a), 2);
    EXPECT_INT(store_outbox_count(s), 1);

    store_power_loss(s);
    EXPECT_INT(count_records(s, a), 1);
    record got;
    EXPECT(store_record_get(s, "note", "n1", a, &got));
    EXPECT(!store_record_get(s, "note", "n2", a, &got));
    EXPECT_INT(store_outbox_count(s), 0);
    EXPECT_INT(store_meta_get(s, "cursor", 0), 7);
    EXPECT(!store_unflushed(s));

    /* The store works on after the restore (its prepared statements are re-prepared). */
    make_record(&r, a, "note", "n3", 3, 3, WRITE_ID(1, 3));
    r.tenant = "t";
    store_record_put(s, &r);
    EXPECT_INT(count_records(s, a), 2);
}

static void durable_copy_in_memory(void)
{
    store *s = open_memory();
    char *err = NULL;
    EXPECT(store_durable_open(s, NULL, &err));
    EXPECT(err == NULL);
    arena a;
    arena_init(&a, 4096);
    lose_power_after_flush(s, &a);
    arena_release(&a);
    store_close(s);
}

/* As `syncsim node` keeps it: a file beside the store that outlives the process. */
static void durable_copy_on_disk(void)
{
    char dir[] = "/tmp/syncsim-test-store-XXXXXX";
    EXPECT(mkdtemp(dir) != NULL);
    char path[128], durable[160];
    snprintf(path, sizeof path, "%s/store.sqlite", dir);
    snprintf(durable, sizeof durable, "%s-durable", path);
    char *err = NULL;
    store *s = store_open(path, false, &err);
    EXPECT(s != NULL);
    if (!s) {
        xfree(err);
        rmdir(dir);
        return;
    }
    store_keep_lock(s);
    EXPECT(store_durable_open(s, durable, &err));
    arena a;
    arena_init(&a, 4096);
    lose_power_after_flush(s, &a);
    store_close(s);

    /* The process restarts on the same directory: what the power loss left, and the copy, are there. */
    s = store_open(path, true, &err);
    EXPECT(s != NULL);
    if (s) {
        EXPECT(store_durable_open(s, durable, &err));
        record got;
        EXPECT(store_record_get(s, "note", "n1", &a, &got));
        EXPECT(!store_record_get(s, "note", "n2", &a, &got));
        EXPECT(store_record_get(s, "note", "n3", &a, &got));
        EXPECT(store_flush(s));   /* the first flush of a reopened copy writes it whole */
        store_close(s);
    }
    sqlite3 *db = NULL;
    EXPECT(sqlite3_open_v2(durable, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    EXPECT_INT(query_int(db, "SELECT count(*) FROM records"), 2);
    EXPECT_INT(query_int(db, "SELECT value FROM meta WHERE key = 'cursor'"), 7);
    sqlite3_close(db);

    /* An unopenable copy is an error naming it. */
    s = store_open(NULL, false, &err);
    char bad[200];
    snprintf(bad, sizeof bad, "%s/no-such-dir/copy", dir);
    EXPECT(!store_durable_open(s, bad, &err));
    EXPECT(err && strstr(err, bad) != NULL);
    xfree(err);
    store_close(s);

    arena_release(&a);
    unlink(path);
    unlink(durable);
    rmdir(dir);
}

/* A record whose body is larger than a page: storing it must grow the file. */
static void make_big_record(record *r, arena *a, const char *id, write_id w)
{
    make_record(r, a, "note", id, 1, 1, w);
    char *text = arena_alloc(a, 9000);
    memset(text, 'x', 8999);
    text[8999] = '\0';
    value v = { .kind = VAL_STRING, .s = text };
    record_set_field(r, a, "text", &v, &r->st);
}

static void expect_intact(store *s)
{
    char *why = NULL;
    bool ok = store_integrity_check(s, &why);
    EXPECT(ok);
    if (!ok)
        fprintf(stderr, "integrity_check: %s\n", why ? why : "?");
    xfree(why);
}

/* One user write as the client makes it: the record, its outbox entry and a counter, in one transaction. */
static int write_transaction(store *s, const record *r)
{
    store_begin(s);
    store_record_put(s, r);
    outbox_entry e = { .op = OP_CREATE, .type = r->type, .id = r->id, .w = r->st.w, .body = *r };
    store_outbox_add(s, &e);
    store_meta_set(s, "op_seq", store_meta_get(s, "op_seq", 0) + 1);
    return store_commit(s);
}

static void faults_in(store *s, bool on_disk)
{
    arena a;
    arena_init(&a, 65536);
    record r, back;
    EXPECT(store_is_faultable(s));
    /* Without a fault the shim is transparent. */
    make_record(&r, &a, "note", "n1", 1, 1, WRITE_ID(1, 1));
    EXPECT_INT(write_transaction(s, &r), 0);
    EXPECT_U64(store_faults_injected(s), 0);

    /* Disk full: a transaction that grows the file fails whole. */
    store_fault_disk_full(s, true);
    make_big_record(&r, &a, "big", WRITE_ID(1, 2));
    int rc = write_transaction(s, &r);
    EXPECT_INT(rc & 0xff, SQLITE_FULL);
    EXPECT(strcmp(store_failure_reason(rc), "storage full") == 0);
    EXPECT(store_faults_injected(s) > 0);
    EXPECT(!store_record_get(s, "note", "big", &a, &back));
    EXPECT_INT(store_outbox_count(s), 1);
    EXPECT_INT(store_meta_get(s, "op_seq", 0), 1);
    expect_intact(s);
    /* A write within the file's size still succeeds on a full disk. */
    store_begin(s);
    store_meta_set(s, "op_seq", 7);
    EXPECT_INT(store_commit(s), 0);
    EXPECT_INT(store_meta_get(s, "op_seq", 0), 7);
    /* A read-only transaction never fails. */
    store_begin(s);
    EXPECT(store_record_get(s, "note", "n1", &a, &back));
    EXPECT_INT(store_commit(s), 0);
    /* Space again: the same write goes through. */
    store_fault_disk_full(s, false);
    EXPECT_INT(write_transaction(s, &r), 0);
    EXPECT(store_record_get(s, "note", "big", &a, &back));
    EXPECT_INT(store_outbox_count(s), 2);
    expect_intact(s);

    /* I/O errors: exactly the next two writing transactions fail. */
    store_fault_io_errors(s, 2);
    uint64_t before = store_faults_injected(s);
    make_record(&r, &a, "note", "n2", 2, 2, WRITE_ID(1, 3));
    rc = write_transaction(s, &r);
    EXPECT_INT(rc & 0xff, SQLITE_IOERR);
    EXPECT(strcmp(store_failure_reason(rc), "storage I/O error") == 0);
    EXPECT_INT(write_transaction(s, &r) & 0xff, SQLITE_IOERR);
    EXPECT_U64(store_faults_injected(s), before + 2);
    EXPECT(!store_record_get(s, "note", "n2", &a, &back));
    EXPECT_INT(store_outbox_count(s), 2);
    expect_intact(s);
    EXPECT_INT(write_transaction(s, &r), 0);
    EXPECT(store_record_get(s, "note", "n2", &a, &back));
    EXPECT_INT(store_meta_get(s, "op_seq", 0), 9);
    expect_intact(s);
    (void)on_disk;
    arena_release(&a);
}

static void storage_faults_reach_sqlite(void)
{
    char *err = NULL;
    store *s = store_open_faultable(NULL, false, &err);
    EXPECT(s != NULL);
    if (!s) {
        fprintf(stderr, "store_open_faultable(NULL): %s\n", err ? err : "?");
        xfree(err);
        return;
    }
    faults_in(s, false);
    store_close(s);

    char dir[] = "/tmp/syncsim-test-store-vfs-XXXXXX";
    EXPECT(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/phone.sqlite", dir);
    s = store_open_faultable(path, false, &err);
    EXPECT(s != NULL);
    if (!s) {
        fprintf(stderr, "store_open_faultable(%s): %s\n", path, err ? err : "?");
        xfree(err);
        return;
    }
    faults_in(s, true);
    store_close(s);
    /* Reopened as a restarting replica: exactly what committed. */
    s = store_open_faultable(path, true, &err);
    EXPECT(s != NULL);
    if (s) {
        arena a;
        arena_init(&a, 65536);
        record back;
        EXPECT(store_record_get(s, "note", "big", &a, &back));
        EXPECT(store_record_get(s, "note", "n2", &a, &back));
        EXPECT_INT(store_outbox_count(s), 3);
        EXPECT_INT(store_meta_get(s, "op_seq", 0), 9);
        expect_intact(s);
        store_close(s);
        arena_release(&a);
    }
    unlink(path);
    rmdir(dir);
}

/*
 * A wipe (a reinstall or a sign-out, docs/lifecycle.md): every row goes but the counters that must
 * never repeat -- meta op_seq and boots, and the outbox's AUTOINCREMENT sequence, so the next entry's
 * operation id follows the old ones -- and, with keep_cursors (wipe: data-only), the pull cursors, or
 * with keep_records (a switch of accounts under switch: keep-data, keep == 2) the records alone.
 */
static void wipe_keeps_counters_and_maybe_cursors(void)
{
    for (int keep = 0; keep < 3; keep++) {
        store *s = open_memory();
        arena a;
        arena_init(&a, 4096);
        record r;
        make_record(&r, &a, "note", "n1", 1, 1, WRITE_ID(1, 1));
        r.tenant = "t";
        store_record_put(s, &r);
        static const char *const f[] = { "n" };
        int64_t first = add_entry(s, &a, OP_CREATE, "note", "n1", 0, WRITE_ID(1, 1), 1, f, 1);
        int64_t second = add_entry(s, &a, OP_UPDATE, "note", "n1", 0, WRITE_ID(1, 2), 1, f, 2);
        store_outbox_mark_conflict(s, "note", "n1");   /* waiting entries are listed and wiped too */
        store_conflict_put(s, &r);
        store_kept_add(s, &r, WRITE_ID(1, 1));
        store_idmap_put(s, "note", "tmp", "n1");
        store_meta_set(s, "op_seq", 41);
        store_meta_set(s, "boots", 3);
        store_meta_set(s, "cursor", 9);
        store_meta_set(s, "cursor:note", 8);
        store_meta_set(s, "watermark", 7);
        write_id *ws;
        EXPECT_INT(store_outbox_writes(s, &a, &ws), 2);
        EXPECT(ws[0] == WRITE_ID(1, 1) && ws[1] == WRITE_ID(1, 2));

        store_begin(s);
        store_wipe(s, keep == 1, keep == 2);
        EXPECT_INT(store_commit(s), 0);

        EXPECT_INT(count_records(s, &a), keep == 2 ? 1 : 0);
        EXPECT(!store_outbox_has(s, "note", "n1"));
        EXPECT_INT(store_outbox_writes(s, &a, &ws), 0);
        EXPECT_INT(store_conflict_count(s), 0);
        EXPECT(store_idmap_get(s, "note", "tmp", &a) == NULL);
        EXPECT_INT(store_meta_get(s, "op_seq", 0), 41);
        EXPECT_INT(store_meta_get(s, "boots", 0), 3);
        EXPECT_INT(store_meta_get(s, "watermark", -1), -1);
        EXPECT_INT(store_meta_get(s, "cursor", -1), keep == 1 ? 9 : -1);
        EXPECT_INT(store_meta_get(s, "cursor:note", -1), keep == 1 ? 8 : -1);
        int64_t next = add_entry(s, &a, OP_CREATE, "note", "n2", 0, WRITE_ID(1, 3), 1, f, 3);
        EXPECT(next > second && second > first);
        arena_release(&a);
        store_close(s);
    }
}

/*
 * The store counts the outbox's rows to answer an empty outbox without a query. The count follows
 * what the table holds after a remove that a failed transaction rolls back, after a power loss
 * that brings removed rows back, and after a wipe.
 */
static void outbox_rows_follow_rollback_and_power_loss(void)
{
    static const char *const f[] = { "n" };
    arena a;
    arena_init(&a, 65536);
    char *err = NULL;
    store *s = store_open_faultable(NULL, false, &err);
    EXPECT(s != NULL);
    if (!s) {
        xfree(err);
        arena_release(&a);
        return;
    }
    EXPECT_INT(store_outbox_count(s), 0);
    EXPECT(!store_outbox_has(s, "note", "n1"));
    store_begin(s);
    int64_t seq = add_entry(s, &a, OP_CREATE, "note", "n1", 0, WRITE_ID(1, 1), 1, f, 1);
    EXPECT_INT(store_commit(s), 0);
    EXPECT(store_outbox_has(s, "note", "n1"));

    /* The remove goes through, the transaction fails later: the row is back. */
    store_fault_disk_full(s, true);
    store_begin(s);
    store_outbox_remove(s, seq);
    record big;
    make_big_record(&big, &a, "big", WRITE_ID(1, 2));
    store_record_put(s, &big);
    EXPECT_INT(store_commit(s) & 0xff, SQLITE_FULL);
    store_fault_disk_full(s, false);
    EXPECT(store_outbox_has(s, "note", "n1"));
    EXPECT_INT(store_outbox_count(s), 1);
    outbox_entry *pending;
    EXPECT_INT(store_outbox_peek(s, 10, &a, &pending), 1);

    /* Flushed with the row, removed, power lost: the row is back. */
    EXPECT(store_durable_open(s, NULL, &err));
    EXPECT(store_flush(s));
    store_begin(s);
    store_outbox_remove_record(s, "note", "n1");
    EXPECT_INT(store_commit(s), 0);
    EXPECT(!store_outbox_has(s, "note", "n1"));
    store_power_loss(s);
    EXPECT(store_outbox_has(s, "note", "n1"));
    EXPECT_INT(store_outbox_count(s), 1);

    /* A rebase reaches the row the count says is there. */
    store_begin(s);
    store_outbox_rebase(s, "note", "n1", 0, 5);
    EXPECT_INT(store_commit(s), 0);
    EXPECT_INT(store_outbox_of(s, "note", "n1", 4, &a, &pending), 1);
    EXPECT_INT(pending[0].base_version, 5);

    /* A wipe empties it. */
    store_begin(s);
    store_wipe(s, true, true);
    EXPECT_INT(store_commit(s), 0);
    EXPECT(!store_outbox_has(s, "note", "n1"));
    EXPECT_INT(store_outbox_count(s), 0);
    store_close(s);
    arena_release(&a);
}

/* What the records table holds, read past the store's cache (store_records_each asks SQLite). */
typedef struct table_rows {
    int n;
    char ids[8][8];
    int64_t versions[8];
} table_rows;

static void collect_versions(void *ctx, const record *r)
{
    table_rows *t = ctx;
    if (t->n < 8) {
        snprintf(t->ids[t->n], sizeof t->ids[0], "%s", r->id);
        t->versions[t->n++] = r->version;
    }
}

/*
 * An in-memory store answers record reads from the bodies it wrote or read before (body_cache.h).
 * Random transactions of puts, conditional puts and removes on a faultable store -- some failing
 * on a full disk or an I/O error, some undone by a power loss -- and after every step each key's
 * record as the store reads it is the one the table holds.
 */
static void cached_bodies_agree_with_the_table(void)
{
    static const char *const ids[] = { "k0", "k1", "k2", "k3" };
    arena a;
    arena_init(&a, 1 << 20);
    char *err = NULL;
    store *s = store_open_faultable(NULL, false, &err);
    EXPECT(s != NULL && store_durable_open(s, NULL, &err));
    if (!s) {
        xfree(err);
        arena_release(&a);
        return;
    }
    pcg32 rng;
    pcg32_seed(&rng, 7, 11);
    int mismatches = 0, failed = 0;
    for (int step = 0; step < 600; step++) {
        uint32_t r = pcg32_next(&rng);
        if (r % 16 == 0)
            store_fault_disk_full(s, r / 16 % 2 == 0);
        else if (r % 16 == 1)
            store_fault_io_errors(s, 1);
        else if (r % 16 == 2)
            store_flush(s);
        else if (r % 16 == 3)
            store_power_loss(s);
        bool in_tx = r / 32 % 4 != 0;
        if (in_tx)
            store_begin(s);
        int ops = 1 + (int)(pcg32_next(&rng) % 4);
        for (int k = 0; k < ops; k++) {
            uint32_t q = pcg32_next(&rng);
            const char *id = ids[q % 4];
            record rec;
            if (q / 4 % 4 == 0) {
                store_record_remove(s, "note", id);
            } else {
                if (q / 16 % 3 == 0)
                    make_big_record(&rec, &a, id, WRITE_ID(1, (uint32_t)step + 1));
                else
                    make_record(&rec, &a, "note", id, step + 1, q % 7, WRITE_ID(1, (uint32_t)step + 1));
                rec.version = 1 + (int64_t)(q / 64 % 5);
                if (q / 4 % 4 == 1)
                    store_record_put(s, &rec);
                else
                    store_record_put_if_changed(s, &rec, &a);
            }
            /* Within the transaction too: a read after a failed write sees what the table has. */
            table_rows t = { 0 };
            store_records_each(s, &a, collect_versions, &t);
            for (int i = 0; i < 4; i++) {
                record got;
                bool found = store_record_get(s, "note", ids[i], &a, &got);
                int at = -1;
                for (int j = 0; j < t.n; j++)
                    if (strcmp(t.ids[j], ids[i]) == 0)
                        at = j;
                if (found != (at >= 0) || (found && got.version != t.versions[at]))
                    mismatches++;
            }
        }
        if (in_tx && store_commit(s) != 0)
            failed++;
        arena_reset(&a);
    }
    EXPECT_INT(mismatches, 0);
    EXPECT(failed > 10);   /* the faults did fail transactions */
    store_close(s);
    arena_release(&a);
}

int main(void)
{
    put_if_changed_outcomes();
    changes_since_filters_by_tenant();
    xalloc_install_cjson();
    records_get_put_upsert();
    changes_since_pages_by_seq();
    meta_fallback_set_overwrite();
    outbox_queue();
    put_queued_is_put_then_add();
    outbox_of_one_record();
    outbox_rebase_matches_record_and_base();
    applied_ops_get_put();
    kept_add_each();
    outbox_ranks_states_attempts();
    changes_by_time();
    conflicts_and_change_log();
    open_unwritable_path_fails_with_the_path();
    file_store_is_visible_to_another_connection();
    flush_commit_keeps_everything();
    durable_copy_in_memory();
    durable_copy_on_disk();
    storage_faults_reach_sqlite();
    wipe_keeps_counters_and_maybe_cursors();
    outbox_rows_follow_rollback_and_power_loss();
    cached_bodies_agree_with_the_table();
    return test_exit("store");
}
