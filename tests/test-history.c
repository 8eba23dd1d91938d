/*
 * test-history: the causal ground truth the checker relies on.
 *
 * Vector clocks (vclock_raise/get/merge keep entries sorted by node, one per
 * node, and take maxima); what a write records about itself; a device's own
 * accepted writes are in the past of its later writes and a refused one is
 * not; history_observe makes an observed write and its whole causal past part
 * of the observer's later writes (transitively), per record, ignoring writes
 * to other records, unknown ids and refused writes; history_relation in
 * every direction; history_received counts receipts; history_server_state
 * names the write that displaced another, the deletes that took effect and
 * the write that revived each; history_settle_arrivals blames a change that
 * left no trace on a follower, else a concurrent write, else the last writer.
 * The shortcuts must not change any of that: vclock_merge's walk equals a
 * raise per entry, history_record_is equals a look-up, history_write finds
 * sparse counters too, and the merge memo forgets what a wipe or a new past
 * makes stale.
 */
#include "base/xalloc.h"
#include "sim/history.h"
#include "sim/pcg.h"
#include "tests/testlib.h"

#include <stdlib.h>
#include <string.h>

enum { PHONE = 1, TABLET = 2, LAPTOP = 3 };

/* A write of one string field (none for a delete) by node, with its outcome on the device. */
static write_id add_write(history *h, int node, uint32_t counter, op_kind kind, const char *type, const char *id,
                          bool accepted)
{
    op_field f = { .name = "text", .v = { .kind = VAL_STRING, .s = "x" } };
    user_op op = {
        .kind = kind,
        .type = type,
        .id = id,
        .w = WRITE_ID(node, counter),
        .n_fields = kind == OP_DELETE ? 0 : 1,
        .fields = &f,
    };
    int i = history_add_write(h, node, op.w, &op, (int64_t)counter * 1000000, (int64_t)counter * 1000000, 0, true,
                              0, -1);
    history_write_done(h, i, accepted, accepted ? NULL : "refused by the test");
    return op.w;
}

static write_id put(history *h, int node, uint32_t counter, const char *id)
{
    return add_write(h, node, counter, OP_UPDATE, "note", id, true);
}

static void observe1(history *h, int node, const char *id, write_id w)
{
    history_observe(h, node, "note", id, &w, 1);
}

static const vclock *past_of(const history *h, write_id w)
{
    const write_rec *wr = history_write(h, w);
    EXPECT(wr != NULL);
    if (!wr) {
        static const vclock empty;
        return &empty;
    }
    return &wr->past;
}

static void test_vclock_sorted_maxima(void)
{
    vclock vc = { 0 };
    EXPECT_INT(vclock_get(&vc, 3), 0);
    /* Out of order and more than the first allocation holds. */
    static const uint32_t nodes[] = { 7, 2, 9, 5, 1, 3 };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
        vclock_raise(&vc, nodes[i], nodes[i] * 10);
    EXPECT_INT(vc.n, 6);
    for (uint32_t i = 1; i < vc.n; i++)
        EXPECT(vc.e[i - 1].node < vc.e[i].node);
    EXPECT_INT(vc.e[0].node, 1);
    EXPECT_INT(vc.e[5].node, 9);
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
        EXPECT_INT(vclock_get(&vc, nodes[i]), nodes[i] * 10);
    EXPECT_INT(vclock_get(&vc, 0), 0);
    EXPECT_INT(vclock_get(&vc, 4), 0);
    EXPECT_INT(vclock_get(&vc, 100), 0);

    /* Raising keeps the maximum: lower is ignored, higher replaces, no new entry either way. */
    vclock_raise(&vc, 5, 3);
    EXPECT_INT(vclock_get(&vc, 5), 50);
    vclock_raise(&vc, 5, 51);
    EXPECT_INT(vclock_get(&vc, 5), 51);
    EXPECT_INT(vc.n, 6);

    /* Merge: per-node maxima, union of nodes, still sorted. */
    vclock dst = { 0 }, src = { 0 };
    vclock_raise(&dst, 1, 5);
    vclock_raise(&dst, 3, 1);
    vclock_raise(&dst, 8, 2);
    vclock_raise(&src, 3, 7);
    vclock_raise(&src, 1, 2);
    vclock_raise(&src, 2, 4);
    vclock_raise(&src, 0, 1);
    vclock_merge(&dst, &src);
    EXPECT_INT(dst.n, 5);
    for (uint32_t i = 1; i < dst.n; i++)
        EXPECT(dst.e[i - 1].node < dst.e[i].node);
    EXPECT_INT(vclock_get(&dst, 0), 1);
    EXPECT_INT(vclock_get(&dst, 1), 5);
    EXPECT_INT(vclock_get(&dst, 2), 4);
    EXPECT_INT(vclock_get(&dst, 3), 7);
    EXPECT_INT(vclock_get(&dst, 8), 2);
    /* The source is untouched. */
    EXPECT_INT(src.n, 4);
    EXPECT_INT(vclock_get(&src, 1), 2);
    /* Merging an empty clock changes nothing. */
    vclock none = { 0 };
    vclock_merge(&dst, &none);
    EXPECT_INT(dst.n, 5);

    vclock_free(&vc);
    EXPECT(vc.e == NULL);
    EXPECT_INT(vc.n, 0);
    vclock_free(&dst);
    vclock_free(&src);
}

/*
 * vclock_merge walks both clocks and raises in place while the destination has every source node,
 * and falls back to vclock_raise for the rest: the result must be exactly vclock_raise of each
 * source entry in turn -- the same entries (a node raised at counter 0 keeps an entry), the same
 * counters, the same order -- for clocks that share all, some or none of their nodes.
 */
static void test_vclock_merge_same_as_raises(void)
{
    pcg32 state;
    pcg32_seed(&state, 12345, 1);
    for (int round = 0; round < 2000; round++) {
        vclock dst = { 0 }, src = { 0 }, expected = { 0 };
        int n_dst = (int)(pcg32_next(&state) % 8), n_src = (int)(pcg32_next(&state) % 8);
        uint32_t nodes = 1 + pcg32_next(&state) % 10;
        for (int i = 0; i < n_dst; i++)
            vclock_raise(&dst, pcg32_next(&state) % nodes, pcg32_next(&state) % 5);
        for (int i = 0; i < n_src; i++)
            vclock_raise(&src, pcg32_next(&state) % nodes, pcg32_next(&state) % 5);
        vclock_merge(&expected, &dst);
        for (uint32_t i = 0; i < src.n; i++)
            vclock_raise(&expected, src.e[i].node, src.e[i].counter);
        vclock_merge(&dst, &src);
        EXPECT_INT(dst.n, expected.n);
        for (uint32_t i = 0; i < dst.n && i < expected.n; i++) {
            EXPECT_INT(dst.e[i].node, expected.e[i].node);
            EXPECT_INT(dst.e[i].counter, expected.e[i].counter);
        }
        vclock_free(&dst);
        vclock_free(&src);
        vclock_free(&expected);
    }
    /* A clock merged into itself stays as it is. */
    vclock vc = { 0 };
    vclock_raise(&vc, 2, 3);
    vclock_raise(&vc, 4, 0);
    vclock_merge(&vc, &vc);
    EXPECT_INT(vc.n, 2);
    EXPECT_INT(vclock_get(&vc, 2), 3);
    vclock_free(&vc);
}

static void test_records(void)
{
    history h;
    history_init(&h);
    EXPECT_INT(history_find_record(&h, "note", "n1"), -1);
    int n1 = history_record(&h, "note", "n1");
    int n2 = history_record(&h, "note", "n2");
    int w1 = history_record(&h, "workout", "n1");
    EXPECT(n1 != n2 && n1 != w1 && n2 != w1);
    EXPECT_INT(history_record(&h, "note", "n1"), n1);
    EXPECT_INT(history_find_record(&h, "note", "n2"), n2);
    EXPECT_INT(history_find_record(&h, "workout", "n1"), w1);
    EXPECT_INT(history_find_record(&h, "workout", "n2"), -1);
    EXPECT_INT(h.n_records, 3);
    EXPECT_STR(h.records[n1].key, "note/n1");
    EXPECT_STR(h.records[w1].type, "workout");
    EXPECT_STR(h.records[w1].id, "n1");

    /* history_record_is answers what history_find_record would, without the look-up. */
    EXPECT(history_record_is(&h, n1, "note", "n1"));
    EXPECT(!history_record_is(&h, n1, "note", "n2"));
    EXPECT(!history_record_is(&h, n1, "notes", "n1"));
    EXPECT(!history_record_is(&h, n1, "not", "e/n1"));
    EXPECT(!history_record_is(&h, n1, "note", "n"));
    EXPECT(!history_record_is(&h, w1, "note", "n1"));
    EXPECT(!history_record_is(&h, -1, "note", "n1"));
    EXPECT(!history_record_is(&h, 3, "note", "n1"));
    /* The key joins type and id with '/': a split elsewhere names the same key, as in the map. */
    int ab = history_record(&h, "a/b", "c");
    EXPECT_INT(history_find_record(&h, "a", "b/c"), ab);
    EXPECT(history_record_is(&h, ab, "a", "b/c"));
    /* A key at the look-up's bound is never found, so it never matches either. */
    char id[600];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    int long_key = history_record(&h, "note", id);
    EXPECT_INT(history_find_record(&h, "note", id), -1);
    EXPECT(!history_record_is(&h, long_key, "note", id));
    id[512 - 1 - 4 - 1] = '\0';   /* "note/" and 506 characters: 511, just below */
    int below = history_record(&h, "note", id);
    EXPECT_INT(history_find_record(&h, "note", id), below);
    EXPECT(history_record_is(&h, below, "note", id));
    history_free(&h);
}

/* What history_add_write keeps: everything the witness needs, copied. */
static void test_write_attributes(void)
{
    history h;
    history_init(&h);
    char type[16] = "note", id[16] = "n1", name_a[16] = "a", name_b[16] = "b", text[16] = "hello";
    op_field fields[2] = {
        { .name = name_a, .v = { .kind = VAL_INT, .i = 7 } },
        { .name = name_b, .v = { .kind = VAL_STRING, .s = text } },
    };
    user_op op = { .kind = OP_CREATE, .type = type, .id = id, .w = WRITE_ID(TABLET, 4), .n_fields = 2,
                   .fields = fields };
    int i = history_add_write(&h, TABLET, op.w, &op, 5000000, 4000000, -1000000, false, 3, 6);
    EXPECT_INT(i, 0);
    /* The caller's strings are borrowed for the call only. */
    strcpy(type, "XXXX");
    strcpy(id, "XX");
    strcpy(name_a, "X");
    strcpy(text, "XXXXX");
    const write_rec *wr = history_write(&h, WRITE_ID(TABLET, 4));
    EXPECT(wr != NULL);
    if (wr) {
        EXPECT_U64(wr->w, WRITE_ID(TABLET, 4));
        EXPECT_INT(wr->node, TABLET);
        EXPECT_STR(h.records[wr->record].key, "note/n1");
        EXPECT_INT(wr->op, OP_CREATE);
        EXPECT_INT(wr->n_fields, 2);
        EXPECT_STR(wr->fields[0].name, "a");
        EXPECT_INT(wr->fields[0].v.i, 7);
        EXPECT_STR(wr->fields[1].name, "b");
        EXPECT_STR(wr->fields[1].v.s, "hello");
        EXPECT_INT(wr->true_us, 5000000);
        EXPECT_INT(wr->local_us, 4000000);
        EXPECT_INT(wr->skew_us, -1000000);
        EXPECT(!wr->online);
        EXPECT_INT(wr->cut, 3);
        EXPECT_INT(wr->step, 6);
        EXPECT_INT(wr->received, 0);
        EXPECT_INT(wr->past.n, 0);
        /* Not decided yet. */
        EXPECT(!wr->accepted);
    }
    history_write_done(&h, i, false, "the record is deleted");
    wr = history_write(&h, WRITE_ID(TABLET, 4));
    EXPECT(wr && !wr->accepted);
    EXPECT_STR(wr ? wr->refused : NULL, "the record is deleted");
    EXPECT(history_write(&h, WRITE_ID(TABLET, 5)) == NULL);
    EXPECT(history_write(&h, WRITE_ID(PHONE, 4)) == NULL);
    history_free(&h);
}

static void test_own_writes(void)
{
    history h;
    history_init(&h);
    write_id a1 = put(&h, PHONE, 1, "n1");
    write_id a2 = put(&h, PHONE, 2, "n1");
    write_id a3 = put(&h, PHONE, 3, "n1");
    EXPECT_INT(past_of(&h, a1)->n, 0);
    EXPECT_INT(vclock_get(past_of(&h, a2), PHONE), 1);
    EXPECT_INT(vclock_get(past_of(&h, a3), PHONE), 2);
    EXPECT_INT(past_of(&h, a3)->n, 1);

    /* Two writes by the same device: ordered, in both directions, transitively. */
    EXPECT_INT(history_relation(&h, a1, a2), CAUSAL_BEFORE);
    EXPECT_INT(history_relation(&h, a2, a1), CAUSAL_AFTER);
    EXPECT_INT(history_relation(&h, a1, a3), CAUSAL_BEFORE);
    EXPECT_INT(history_relation(&h, a3, a1), CAUSAL_AFTER);
    EXPECT_INT(history_relation(&h, a2, a2), CAUSAL_SAME);

    /* A refused write is not part of what the device has seen. */
    write_id r4 = add_write(&h, PHONE, 4, OP_UPDATE, "note", "n1", false);
    write_id a5 = put(&h, PHONE, 5, "n1");
    EXPECT_INT(vclock_get(past_of(&h, r4), PHONE), 3);   /* it had seen a3 */
    EXPECT_INT(vclock_get(past_of(&h, a5), PHONE), 3);   /* a5 had seen a3, not r4 */
    EXPECT(history_relation(&h, r4, a5) != CAUSAL_BEFORE);
    EXPECT_INT(history_relation(&h, a3, a5), CAUSAL_BEFORE);

    /* A device's writes to another record are not in this record's past. */
    write_id b6 = put(&h, PHONE, 6, "n2");
    EXPECT_INT(past_of(&h, b6)->n, 0);
    write_id a7 = put(&h, PHONE, 7, "n1");
    EXPECT_INT(vclock_get(past_of(&h, a7), PHONE), 5);
    history_free(&h);
}

static void test_concurrent_until_observed(void)
{
    history h;
    history_init(&h);
    write_id a1 = put(&h, PHONE, 1, "n1");
    write_id b1 = put(&h, TABLET, 1, "n1");
    EXPECT_INT(history_relation(&h, a1, b1), CAUSAL_CONCURRENT);
    EXPECT_INT(history_relation(&h, b1, a1), CAUSAL_CONCURRENT);

    /* The tablet now sees a1: its next write follows both a1 and its own b1. */
    observe1(&h, TABLET, "n1", a1);
    write_id b2 = put(&h, TABLET, 2, "n1");
    EXPECT_INT(history_relation(&h, a1, b2), CAUSAL_BEFORE);
    EXPECT_INT(history_relation(&h, b2, a1), CAUSAL_AFTER);
    EXPECT_INT(history_relation(&h, b1, b2), CAUSAL_BEFORE);
    /* Observation does not rewrite the past of writes already made. */
    EXPECT_INT(history_relation(&h, a1, b1), CAUSAL_CONCURRENT);
    /* The phone has not seen the tablet's writes. */
    write_id a2 = put(&h, PHONE, 2, "n1");
    EXPECT_INT(history_relation(&h, a2, b2), CAUSAL_CONCURRENT);
    EXPECT_INT(history_relation(&h, a1, a2), CAUSAL_BEFORE);
    /* Observing one device is not observing another: the laptop saw nothing. */
    write_id c1 = put(&h, LAPTOP, 1, "n1");
    EXPECT_INT(history_relation(&h, a1, c1), CAUSAL_CONCURRENT);
    EXPECT_INT(history_relation(&h, b2, c1), CAUSAL_CONCURRENT);
    history_free(&h);
}

/* A writes a1; B observes a1 and writes b1; C observes only b1 and writes c1: a1 precedes c1. */
static void test_observe_transitive(void)
{
    history h;
    history_init(&h);
    write_id a1 = put(&h, PHONE, 1, "n1");
    observe1(&h, TABLET, "n1", a1);
    write_id b1 = put(&h, TABLET, 1, "n1");
    observe1(&h, LAPTOP, "n1", b1);
    write_id c1 = put(&h, LAPTOP, 1, "n1");
    EXPECT_INT(vclock_get(past_of(&h, c1), PHONE), 1);
    EXPECT_INT(vclock_get(past_of(&h, c1), TABLET), 1);
    EXPECT_INT(history_relation(&h, a1, c1), CAUSAL_BEFORE);
    EXPECT_INT(history_relation(&h, c1, a1), CAUSAL_AFTER);
    EXPECT_INT(history_relation(&h, b1, c1), CAUSAL_BEFORE);

    /* One level deeper: the phone observes c1 and writes again. */
    observe1(&h, PHONE, "n1", c1);
    write_id a2 = put(&h, PHONE, 2, "n1");
    EXPECT_INT(history_relation(&h, b1, a2), CAUSAL_BEFORE);
    EXPECT_INT(history_relation(&h, c1, a2), CAUSAL_BEFORE);

    /* An observation of several writes at once (a record's provenance) takes them all. */
    write_id d1 = put(&h, TABLET, 2, "n3");
    write_id d2 = put(&h, PHONE, 3, "n3");
    write_id both[] = { WRITE_NONE, d1, WRITE_ID(LAPTOP, 99), d2 };
    history_observe(&h, LAPTOP, "note", "n3", both, 4);
    write_id d3 = put(&h, LAPTOP, 2, "n3");
    EXPECT_INT(history_relation(&h, d1, d3), CAUSAL_BEFORE);
    EXPECT_INT(history_relation(&h, d2, d3), CAUSAL_BEFORE);
    /* The unknown id left no trace. */
    EXPECT_INT(vclock_get(past_of(&h, d3), LAPTOP), 0);
    EXPECT_INT(past_of(&h, d3)->n, 2);
    history_free(&h);
}

/* Causality is per record: provenance from another record must not leak. */
static void test_observe_other_record(void)
{
    history h;
    history_init(&h);
    write_id a1 = put(&h, PHONE, 1, "n2");
    /* A (mis)reported observation of n1 listing a write to n2. */
    observe1(&h, TABLET, "n1", a1);
    write_id b1 = put(&h, TABLET, 1, "n1");
    EXPECT_INT(vclock_get(past_of(&h, b1), PHONE), 0);
    write_id b2 = put(&h, TABLET, 2, "n2");
    EXPECT_INT(vclock_get(past_of(&h, b2), PHONE), 0);
    EXPECT_INT(history_relation(&h, a1, b2), CAUSAL_CONCURRENT);

    /* Observing n1 (with an n1 write) says nothing about n2, even for the same writer. */
    write_id a2 = put(&h, PHONE, 2, "n1");
    observe1(&h, LAPTOP, "n1", a2);
    write_id c1 = put(&h, LAPTOP, 1, "n2");
    EXPECT_INT(history_relation(&h, a1, c1), CAUSAL_CONCURRENT);
    write_id c2 = put(&h, LAPTOP, 2, "n1");
    EXPECT_INT(history_relation(&h, a2, c2), CAUSAL_BEFORE);
    /* The same id in another type is another record. */
    write_id w1 = add_write(&h, PHONE, 3, OP_UPDATE, "workout", "n1", true);
    observe1(&h, TABLET, "n1", w1);
    write_id b3 = put(&h, TABLET, 3, "n1");
    EXPECT_INT(vclock_get(past_of(&h, b3), PHONE), 0);
    history_free(&h);
}

/* A refused write cannot be observed: no replica ever held it. */
static void test_observe_refused(void)
{
    history h;
    history_init(&h);
    write_id r1 = add_write(&h, PHONE, 1, OP_UPDATE, "note", "n1", false);
    observe1(&h, TABLET, "n1", r1);
    write_id b1 = put(&h, TABLET, 1, "n1");
    EXPECT_INT(vclock_get(past_of(&h, b1), PHONE), 0);
    EXPECT_INT(past_of(&h, b1)->n, 0);
    history_free(&h);
}

/* Deletes take part in causality like any other write. */
static void test_delete_causality(void)
{
    history h;
    history_init(&h);
    write_id a1 = add_write(&h, PHONE, 1, OP_CREATE, "note", "n1", true);
    observe1(&h, TABLET, "n1", a1);
    write_id d1 = add_write(&h, TABLET, 1, OP_DELETE, "note", "n1", true);
    write_id a2 = put(&h, PHONE, 2, "n1");
    EXPECT_INT(history_relation(&h, a1, d1), CAUSAL_BEFORE);
    EXPECT_INT(history_relation(&h, d1, a2), CAUSAL_CONCURRENT);
    observe1(&h, PHONE, "n1", d1);
    write_id a3 = add_write(&h, PHONE, 3, OP_CREATE, "note", "n1", true);
    EXPECT_INT(history_relation(&h, d1, a3), CAUSAL_BEFORE);
    EXPECT_INT(history_relation(&h, a3, d1), CAUSAL_AFTER);
    history_free(&h);
}

/* The server's successive copies of a record: who displaced whom, which delete took effect, who revived it. */
static void test_server_state(void)
{
    history h;
    history_init(&h);
    write_id c1 = add_write(&h, PHONE, 1, OP_CREATE, "note", "n1", true);
    write_id p2 = put(&h, PHONE, 2, "n1");
    write_id t1 = put(&h, TABLET, 1, "n1");   /* concurrent with both of the phone's */
    history_server_state(&h, "note", "n1", c1, WRITE_NONE, false, &c1, 1);
    EXPECT_U64(history_write(&h, c1)->displaced_by, WRITE_NONE);
    /* p2 overwrites the field c1 wrote: c1 leaves no trace, p2 displaced it. */
    history_server_state(&h, "note", "n1", p2, WRITE_NONE, false, &p2, 1);
    EXPECT_U64(history_write(&h, c1)->displaced_by, p2);
    /* t1 then overwrites p2; c1 keeps the first write that displaced it. */
    history_server_state(&h, "note", "n1", t1, WRITE_NONE, false, &t1, 1);
    EXPECT_U64(history_write(&h, p2)->displaced_by, t1);
    EXPECT_U64(history_write(&h, c1)->displaced_by, p2);

    /* A delete that takes effect, and the write that brings the record back. */
    observe1(&h, LAPTOP, "n1", t1);
    write_id d1 = add_write(&h, LAPTOP, 1, OP_DELETE, "note", "n1", true);
    EXPECT(!history_write(&h, d1)->took_effect);
    history_server_state(&h, "note", "n1", d1, d1, true, &t1, 1);
    EXPECT(history_write(&h, d1)->took_effect);
    EXPECT_U64(history_write(&h, d1)->revived_by, WRITE_NONE);
    EXPECT_U64(history_write(&h, t1)->displaced_by, WRITE_NONE);   /* the tombstone still holds it */
    write_id p3 = put(&h, PHONE, 3, "n1");
    history_server_state(&h, "note", "n1", p3, WRITE_NONE, false, &p3, 1);
    EXPECT_U64(history_write(&h, d1)->revived_by, p3);
    EXPECT_U64(history_write(&h, d1)->displaced_by, p3);
    EXPECT_U64(history_write(&h, t1)->displaced_by, p3);
    /* A later copy does not rename the reviver. */
    write_id p4 = put(&h, PHONE, 4, "n1");
    history_server_state(&h, "note", "n1", p4, WRITE_NONE, false, &p4, 1);
    EXPECT_U64(history_write(&h, d1)->revived_by, p3);
    history_free(&h);
}

/*
 * A change that arrives and leaves no trace is displaced by what the record
 * holds: a write that follows it first, else a concurrent one, else the
 * record's last writer.
 */
static void test_settle_arrivals(void)
{
    history h;
    history_init(&h);
    write_id a1 = put(&h, PHONE, 1, "n1");
    observe1(&h, TABLET, "n1", a1);
    write_id t1 = put(&h, TABLET, 1, "n1");          /* follows a1 */
    write_id l1 = put(&h, LAPTOP, 1, "n1");          /* concurrent with a1 */
    write_id both[] = { l1, t1 };
    history_server_state(&h, "note", "n1", l1, WRITE_NONE, false, both, 2);
    history_received(&h, a1);
    history_settle_arrivals(&h);
    EXPECT_U64(history_write(&h, a1)->displaced_by, t1);   /* the follower, though l1 wrote last */

    write_id a2 = put(&h, PHONE, 2, "n2");
    write_id l2 = put(&h, LAPTOP, 2, "n2");
    history_server_state(&h, "note", "n2", l2, WRITE_NONE, false, &l2, 1);
    history_received(&h, a2);
    history_settle_arrivals(&h);
    EXPECT_U64(history_write(&h, a2)->displaced_by, l2);   /* concurrent */

    /* An arrival the server's copy holds is not displaced; settling twice changes nothing. */
    history_received(&h, l2);
    history_settle_arrivals(&h);
    history_settle_arrivals(&h);
    EXPECT_U64(history_write(&h, l2)->displaced_by, WRITE_NONE);
    history_free(&h);
}

static void test_received(void)
{
    history h;
    history_init(&h);
    write_id a1 = put(&h, PHONE, 1, "n1");
    write_id b1 = put(&h, TABLET, 1, "n1");
    EXPECT_INT(history_write(&h, a1)->received, 0);
    history_received(&h, a1);
    history_received(&h, a1);
    EXPECT_INT(history_write(&h, a1)->received, 2);
    EXPECT_INT(history_write(&h, b1)->received, 0);
    /* Unknown ids are ignored. */
    history_received(&h, WRITE_ID(LAPTOP, 1));
    history_received(&h, WRITE_NONE);
    EXPECT_INT(history_write(&h, a1)->received, 2);
    EXPECT_INT(history_write(&h, b1)->received, 0);
    history_received(&h, b1);
    EXPECT_INT(history_write(&h, b1)->received, 1);
    history_free(&h);
}

/* Many writes and records: indexes stay right as the arrays grow. */
static void test_growth(void)
{
    history h;
    history_init(&h);
    char id[32];
    for (uint32_t i = 1; i <= 300; i++) {
        snprintf(id, sizeof id, "n%u", i % 7);
        put(&h, (int)(i % 3) + 1, i, id);
    }
    EXPECT_INT(h.n_writes, 300);
    EXPECT_INT(h.n_records, 7);
    for (uint32_t i = 1; i <= 300; i++) {
        const write_rec *wr = history_write(&h, WRITE_ID((int)(i % 3) + 1, i));
        EXPECT(wr != NULL);
        if (!wr)
            continue;
        snprintf(id, sizeof id, "n%u", i % 7);
        EXPECT_STR(h.records[wr->record].id, id);
    }
    /* Node 1 writes when i % 3 == 0 and writes n1 when i % 7 == 1: counters 15, 36, 57, ... */
    const write_rec *wr = history_write(&h, WRITE_ID(1, 36));
    EXPECT(wr != NULL);
    if (wr)
        EXPECT_INT(vclock_get(&wr->past, 1), 15);
    history_free(&h);
}

/*
 * history_write finds a write by its id whatever its counter: the world's dense counters through the
 * per-writer index, a counter far beyond its writer's others and a writer node beyond the index's
 * range through by_id; an id never added is not found, even where the index has room for it.
 */
static void test_write_lookup(void)
{
    history h;
    history_init(&h);
    write_id a1 = put(&h, PHONE, 1, "n1");
    write_id far = put(&h, PHONE, 4000000000u, "n1");
    write_id a2 = put(&h, PHONE, 2, "n2");
    write_id big_node = put(&h, 70000, 3, "n1");
    EXPECT(history_write(&h, a1) && history_write(&h, a1)->w == a1);
    EXPECT(history_write(&h, a2) && history_write(&h, a2)->w == a2);
    EXPECT(history_write(&h, far) && history_write(&h, far)->w == far);
    EXPECT(history_write(&h, big_node) && history_write(&h, big_node)->w == big_node);
    EXPECT(history_write(&h, WRITE_ID(PHONE, 3)) == NULL);
    EXPECT(history_write(&h, WRITE_ID(PHONE, 4000000001u)) == NULL);
    EXPECT(history_write(&h, WRITE_ID(TABLET, 1)) == NULL);
    EXPECT(history_write(&h, WRITE_ID(70000, 2)) == NULL);
    EXPECT(history_write(&h, WRITE_NONE) == NULL);
    history_free(&h);
}

/*
 * The merge memo (history.h): history_observe skips a write it already merged into the observer's
 * seen clock. Its claim holds only while that clock never shrinks and the write's past never changes:
 * a wipe empties the clock (the memo with it: seen again, the write counts again), and
 * history_set_past gives a write a new past (the memo forgets the write: observed again, its new past
 * counts). Either memo left in place would leave the tablet's next write concurrent below.
 */
static void test_observe_memo(void)
{
    history h;
    history_init(&h);
    write_id a1 = put(&h, PHONE, 1, "n1");
    observe1(&h, TABLET, "n1", a1);
    observe1(&h, TABLET, "n1", a1);   /* the same write again: nothing new */
    EXPECT_INT(history_relation(&h, a1, put(&h, TABLET, 1, "n1")), CAUSAL_BEFORE);
    history_wipe(&h, TABLET);
    EXPECT_INT(history_relation(&h, a1, put(&h, TABLET, 2, "n1")), CAUSAL_CONCURRENT);
    observe1(&h, TABLET, "n1", a1);
    EXPECT_INT(history_relation(&h, a1, put(&h, TABLET, 3, "n1")), CAUSAL_BEFORE);

    /* The phone's p2 is observed by the laptop with the past it had; then its past is declared
     * to include c1 (a form's base), and the laptop shows p2 again. */
    write_id c1 = put(&h, LAPTOP, 1, "n2");
    write_id p2 = put(&h, PHONE, 2, "n2");
    observe1(&h, PHONE, "n2", c1);   /* the phone's seen clock now holds c1; p2's past does not */
    observe1(&h, TABLET, "n2", p2);
    vclock base = { 0 };
    history_seen_now(&h, PHONE, "note", "n2", &base);
    history_set_past(&h, (int)(history_write(&h, p2) - h.writes), &base);
    vclock_free(&base);
    EXPECT_INT(history_relation(&h, c1, p2), CAUSAL_BEFORE);
    observe1(&h, TABLET, "n2", p2);
    EXPECT_INT(history_relation(&h, c1, put(&h, TABLET, 4, "n2")), CAUSAL_BEFORE);
    history_free(&h);
}

/*
 * A wipe (docs/lifecycle.md): the tablet had seen the phone's a1; after its store is wiped its next
 * write is concurrent with a1 (it was not made on it) and carries one more wipe than its earlier
 * ones. history_unsynced lists what the server had not received: refused, withdrawn and received
 * writes are left out, and so are other devices'.
 */
static void test_wipe_and_unsynced(void)
{
    history h;
    history_init(&h);
    write_id a1 = put(&h, PHONE, 1, "n1");
    observe1(&h, TABLET, "n1", a1);
    write_id b1 = put(&h, TABLET, 1, "n1");
    EXPECT_INT(history_relation(&h, a1, b1), CAUSAL_BEFORE);
    write_id b2 = put(&h, TABLET, 2, "n2");
    write_id b3 = add_write(&h, TABLET, 3, OP_UPDATE, "note", "n2", false);
    write_id b4 = put(&h, TABLET, 4, "n2");
    write_id b5 = put(&h, TABLET, 5, "n3");
    history_received(&h, b2);
    history_withdrawn(&h, b4, "test");
    write_id *ws;
    size_t n = history_unsynced(&h, TABLET, &ws);
    EXPECT_INT(n, 2);
    if (n == 2)
        EXPECT(ws[0] == b1 && ws[1] == b5);
    xfree(ws);
    (void)b3;

    history_wipe(&h, TABLET);
    write_id b6 = put(&h, TABLET, 6, "n1");
    EXPECT_INT(history_relation(&h, a1, b6), CAUSAL_CONCURRENT);
    EXPECT_INT(history_write(&h, b1)->wipes, 0);
    EXPECT_INT(history_write(&h, b6)->wipes, 1);
    EXPECT_INT(history_write(&h, put(&h, PHONE, 2, "n1"))->wipes, 0);   /* another node's count */
    /* Seen again after the wipe: causal again. */
    observe1(&h, TABLET, "n1", a1);
    EXPECT_INT(history_relation(&h, a1, put(&h, TABLET, 7, "n1")), CAUSAL_BEFORE);
    history_free(&h);
}

/*
 * A switch of accounts (docs/lifecycle.md): a write is its user's at the time it was made. Before any
 * switch a write names no user (the device's own, user:, is the checker's fallback); after one, the new
 * account, and the writes made before keep theirs. Other devices are not touched.
 */
static void test_user_at_the_time(void)
{
    history h;
    history_init(&h);
    EXPECT(history_user(&h, PHONE, NULL) == NULL);
    EXPECT(strcmp(history_user(&h, PHONE, "alice"), "alice") == 0);
    write_id before = put(&h, PHONE, 1, "n1");
    history_set_user(&h, PHONE, "bob");
    write_id after = put(&h, PHONE, 2, "n2");
    write_id other = put(&h, TABLET, 1, "n3");
    history_set_user(&h, PHONE, "carol");
    write_id later = put(&h, PHONE, 3, "n2");
    EXPECT(history_write(&h, before)->user == NULL);
    EXPECT(strcmp(history_write(&h, after)->user, "bob") == 0);
    EXPECT(strcmp(history_write(&h, later)->user, "carol") == 0);
    EXPECT(history_write(&h, other)->user == NULL);
    EXPECT(strcmp(history_user(&h, PHONE, "alice"), "carol") == 0);
    EXPECT(strcmp(history_user(&h, TABLET, "alice"), "alice") == 0);
    history_free(&h);
}

int main(void)
{
    xalloc_install_cjson();
    test_vclock_sorted_maxima();
    test_vclock_merge_same_as_raises();
    test_records();
    test_write_attributes();
    test_own_writes();
    test_concurrent_until_observed();
    test_observe_transitive();
    test_observe_other_record();
    test_observe_refused();
    test_delete_causality();
    test_received();
    test_server_state();
    test_settle_arrivals();
    test_growth();
    test_write_lookup();
    test_observe_memo();
    test_wipe_and_unsynced();
    test_user_at_the_time();
    return test_exit("test-history");
}
