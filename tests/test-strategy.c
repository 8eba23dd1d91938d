/*
 * test-strategy: conflict resolution (engine/strategy.c), on records built
 * by hand and resolved through strategy_resolve.
 *
 * Every strategy in the table at both grains:
 *   - last-write-wins by device clock, server clock and HLC: newer incoming
 *     wins and older loses by the clock the strategy compares -- the stamps
 *     are built so that the two other clocks order the writes the other way,
 *     so a strategy that looked at them would fail; equal clocks break on the
 *     write id, with the same winner whichever side is current; field grain
 *     merges per changed field (RESOLVE_MERGED when only some win) and never
 *     applies fields the change did not write; record grain replaces the
 *     whole record; a delete wins only if newer than everything on the
 *     record; an edit resurrects a tombstone only if newer than the delete,
 *     and at field grain without the fields the delete was newer than;
 *   - server-wins: current when concurrent, incoming when not;
 *   - client-wins: incoming always.
 * Delete rules: delete-wins and edit-wins override the strategy for a
 * concurrent delete-versus-edit, a non-concurrent change (re-create after a
 * delete) is taken under both, and a re-created record does not bring back
 * fields of the deleted one. No current record: incoming, no conflict.
 * out.conflict mirrors in.concurrent; out.kind names the conflict. Results
 * keep the current record's version and seq, and inputs are never modified.
 * The table: strategy_find, strategy_count, strategy_at.
 */
#include "base/arena.h"
#include "base/xalloc.h"
#include "engine/strategy.h"
#include "tests/testlib.h"

#include <string.h>

typedef enum clk {
    CLK_DEVICE,
    CLK_SERVER,
    CLK_HLC,
} clk;

static const char *const LWW_NAME[] = {
    [CLK_DEVICE] = "lww-device-clock",
    [CLK_SERVER] = "lww-server-clock",
    [CLK_HLC] = "lww-hlc",
};

/* Every strategy that decides conflicts; the common properties below hold for each. */
static const char *const ALL_STRATEGIES[] = {
    "lww-device-clock", "lww-server-clock", "lww-hlc", "server-wins", "client-wins",
    "merge-three-way", "merge-two-way", "manual", "done-wins",
};
#define N_STRATEGIES ((int)(sizeof ALL_STRATEGIES / sizeof ALL_STRATEGIES[0]))
/* Strategies that refuse what clients may not write: tested on their own. */
static const char *const REFUSING_STRATEGIES[] = { "server-authoritative", "immutable" };
#define N_REFUSING ((int)(sizeof REFUSING_STRATEGIES / sizeof REFUSING_STRATEGIES[0]))

/* Writes of the current record's device (A) and of the incoming change's (B). */
#define A1 WRITE_ID(1, 1)
#define A2 WRITE_ID(1, 2)
#define A3 WRITE_ID(1, 3)
#define B1 WRITE_ID(2, 1)

/*
 * A stamp at time t by clock k, and at 1000 - t by the two other clocks, so
 * that those order any two such stamps the opposite way.
 */
static stamp at(clk k, int64_t t, write_id w)
{
    stamp s = { .w = w, .ts_us = 1000 - t, .h = { .l_us = 1000 - t, .c = 0 }, .server_us = 1000 - t };
    switch (k) {
    case CLK_DEVICE: s.ts_us = t; break;
    case CLK_SERVER: s.server_us = t; break;
    case CLK_HLC: s.h.l_us = t; break;
    }
    return s;
}

/* A stamp newer (or older) than every stamp `at` builds, by every clock. */
static stamp all_clocks(int64_t t, write_id w)
{
    return (stamp){ .w = w, .ts_us = t, .h = { .l_us = t, .c = 0 }, .server_us = t };
}

static record rec(arena *a, stamp st)
{
    record r;
    record_init(&r, a, "note", "n1");
    r.st = st;
    r.version = 4;
    r.seq = 9;
    return r;
}

static void put(record *r, arena *a, const char *name, int64_t v, stamp st)
{
    value val = { .kind = VAL_INT, .i = v };
    record_set_field(r, a, name, &val, &st);
}

static void make_tombstone(record *r, stamp del)
{
    r->deleted = true;
    r->del = del;
    r->st = del;
}

static entity_rules rules(const char *strategy, grain g, delete_rule d)
{
    entity_rules r = { .type = "*", .strategy = strategy_find(strategy), .grain = g, .on_delete = d };
    if (!r.strategy) {
        fprintf(stderr, "%s: no strategy %s\n", __FILE__, strategy);
        test_failures++;
        r.strategy = strategy_find("client-wins");
    }
    return r;
}

static bool stamps_equal(const stamp *x, const stamp *y)
{
    return x->w == y->w && x->ts_us == y->ts_us && x->h.l_us == y->h.l_us && x->h.c == y->h.c &&
           x->server_us == y->server_us;
}

static bool records_identical(const record *x, const record *y)
{
    if (!record_same_provenance(x, y) || x->version != y->version || x->seq != y->seq || !stamps_equal(&x->st, &y->st) ||
        !stamps_equal(&x->del, &y->del))
        return false;
    for (int i = 0; i < x->n_fields; i++)
        if (!stamps_equal(&x->fields[i].st, &y->fields[i].st))
            return false;
    return true;
}

/*
 * strategy_resolve, plus what holds for every call: the inputs are left as
 * they were, and a result with a current record keeps its version and seq
 * (the server assigns new ones after).
 */
static resolve_output resolve(arena *a, const record *cur, const record *inc, op_kind op, int n_changed,
                              const char *const *changed, bool concurrent, const entity_rules *r, int line)
{
    record cur_before, inc_before;
    if (cur)
        record_copy(&cur_before, cur, a);
    record_copy(&inc_before, inc, a);
    resolve_input in = {
        .current = cur,
        .incoming = inc,
        .op = op,
        .n_changed = n_changed,
        .changed = changed,
        .concurrent = concurrent,
        .rules = r,
    };
    resolve_output out;
    memset(&out, 0xa5, sizeof out);   /* strategy_resolve must fill everything */
    strategy_resolve(&in, &out, a);
    int before = test_failures;
    if (cur) {
        EXPECT(records_identical(cur, &cur_before));
        EXPECT_INT(out.result.version, cur->version);
        EXPECT_INT(out.result.seq, cur->seq);
        EXPECT_INT(out.conflict, concurrent);
        EXPECT(out.kind != NULL);
    }
    EXPECT(records_identical(inc, &inc_before));
    EXPECT_STR(out.result.type, inc->type);
    EXPECT_STR(out.result.id, inc->id);
    if (test_failures != before)
        fprintf(stderr, "%s:%d: (resolved with %s, %s grain, on_delete %s)\n", __FILE__, line, r->strategy->name,
                grain_name(r->grain), delete_rule_name(r->on_delete));
    return out;
}

#define RESOLVE(a, cur, inc, op, n, changed, conc, rules) resolve(a, cur, inc, op, n, changed, conc, rules, __LINE__)

static void expect_field_at(const record *r, const char *name, int64_t v, write_id w, int line)
{
    const field *f = record_field(r, name);
    if (!f) {
        fprintf(stderr, "%s:%d: field %s missing\n", __FILE__, line, name);
        test_failures++;
        return;
    }
    if (f->v.kind != VAL_INT || f->v.i != v || f->st.w != w) {
        fprintf(stderr, "%s:%d: field %s is %lld by %llx, expected %lld by %llx\n", __FILE__, line, name,
                (long long)f->v.i, (unsigned long long)f->st.w, (long long)v, (unsigned long long)w);
        test_failures++;
    }
}

static void expect_no_field_at(const record *r, const char *name, int line)
{
    if (record_field(r, name)) {
        fprintf(stderr, "%s:%d: field %s present, expected absent\n", __FILE__, line, name);
        test_failures++;
    }
}

#define EXPECT_FIELD(r, name, v, w) expect_field_at(r, name, v, w, __LINE__)
#define EXPECT_NO_FIELD(r, name) expect_no_field_at(r, name, __LINE__)

/* --- last-write-wins -------------------------------------------------------- */

static void lww_record_grain(clk k)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules(LWW_NAME[k], GRAIN_RECORD, DELETE_BY_STRATEGY);
    static const char *const ac[] = { "a", "c" };

    record cur = rec(&a, at(k, 10, A1));
    put(&cur, &a, "a", 1, at(k, 10, A1));
    put(&cur, &a, "b", 2, at(k, 10, A1));

    /* Newer by the strategy's clock (older by the two others): the whole incoming record. */
    record inc = rec(&a, at(k, 20, B1));
    inc.version = 3;
    inc.seq = 0;
    put(&inc, &a, "a", 10, at(k, 20, B1));
    put(&inc, &a, "c", 30, at(k, 20, B1));
    resolve_output out = RESOLVE(&a, &cur, &inc, OP_UPDATE, 2, ac, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(out.conflict);
    EXPECT_STR(out.kind, "update-update");
    EXPECT(!out.result.deleted);
    EXPECT_INT(out.result.n_fields, 2);
    EXPECT_FIELD(&out.result, "a", 10, B1);
    EXPECT_FIELD(&out.result, "c", 30, B1);
    EXPECT_NO_FIELD(&out.result, "b");   /* record grain: current's other fields are replaced */
    EXPECT_U64(out.result.st.w, B1);

    /* Older by the strategy's clock (newer by the two others): current stands. */
    record old = rec(&a, at(k, 5, B1));
    put(&old, &a, "a", 10, at(k, 5, B1));
    put(&old, &a, "c", 30, at(k, 5, B1));
    out = RESOLVE(&a, &cur, &old, OP_UPDATE, 2, ac, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(records_identical(&out.result, &cur));
    EXPECT_FIELD(&out.result, "a", 1, A1);
    EXPECT_FIELD(&out.result, "b", 2, A1);
    EXPECT_NO_FIELD(&out.result, "c");

    /* Not concurrent: the same comparison decides, without a conflict. */
    out = RESOLVE(&a, &cur, &old, OP_UPDATE, 2, ac, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(!out.conflict);
    arena_release(&a);
}

static void lww_field_grain(clk k)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules(LWW_NAME[k], GRAIN_FIELD, DELETE_BY_STRATEGY);

    record cur = rec(&a, at(k, 30, A2));
    put(&cur, &a, "a", 1, at(k, 10, A1));
    put(&cur, &a, "b", 2, at(k, 30, A2));
    put(&cur, &a, "c", 3, at(k, 10, A1));

    /* The incoming body carries every field; only a, b and d were written by the change. */
    record inc = rec(&a, at(k, 20, B1));
    put(&inc, &a, "a", 10, at(k, 20, B1));
    put(&inc, &a, "b", 20, at(k, 20, B1));
    put(&inc, &a, "c", 30, at(k, 20, B1));
    put(&inc, &a, "d", 40, at(k, 20, B1));

    /* a: incoming newer; b: current newer; d: new. Some win, some lose: merged. */
    static const char *const abd[] = { "a", "b", "d" };
    resolve_output out = RESOLVE(&a, &cur, &inc, OP_UPDATE, 3, abd, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_MERGED);
    EXPECT(out.conflict);
    EXPECT_STR(out.kind, "update-update");
    EXPECT_INT(out.result.n_fields, 4);
    EXPECT_FIELD(&out.result, "a", 10, B1);
    EXPECT_FIELD(&out.result, "b", 2, A2);
    EXPECT_FIELD(&out.result, "c", 3, A1);   /* in the body, not written by the change: untouched */
    EXPECT_FIELD(&out.result, "d", 40, B1);
    EXPECT_U64(out.result.st.w, B1);
    EXPECT(!out.result.deleted);

    /* Every changed field newer: the change took effect in full; current's other fields stay. */
    static const char *const ad[] = { "a", "d" };
    out = RESOLVE(&a, &cur, &inc, OP_UPDATE, 2, ad, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT_FIELD(&out.result, "a", 10, B1);
    EXPECT_FIELD(&out.result, "b", 2, A2);
    EXPECT_FIELD(&out.result, "c", 3, A1);
    EXPECT_FIELD(&out.result, "d", 40, B1);

    /* Every changed field older: current stands, unchanged (including its last write). */
    static const char *const b_only[] = { "b" };
    out = RESOLVE(&a, &cur, &inc, OP_UPDATE, 1, b_only, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(records_identical(&out.result, &cur));
    EXPECT_U64(out.result.st.w, A2);

    /* Ties within field grain: the same stamp time on a field breaks on the write id. */
    record tie = rec(&a, at(k, 10, B1));
    put(&tie, &a, "a", 11, at(k, 10, B1));   /* same time as current's a (A1 < B1): B1 wins */
    static const char *const a_only[] = { "a" };
    out = RESOLVE(&a, &cur, &tie, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT_FIELD(&out.result, "a", 11, B1);
    arena_release(&a);
}

/*
 * Equal by the compared clock: the higher write id wins, whichever record is
 * current. The other clocks favour the lower id, so using them would show.
 */
static void lww_ties_break_on_write_id(clk k, grain g)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules(LWW_NAME[k], g, DELETE_BY_STRATEGY);
    const write_id lo = WRITE_ID(1, 7), hi = WRITE_ID(2, 3);
    stamp s_lo = all_clocks(500, lo), s_hi = all_clocks(100, hi);   /* lo newer by every clock... */
    switch (k) {   /* ...except the compared one, where they are equal */
    case CLK_DEVICE: s_lo.ts_us = s_hi.ts_us = 50; break;
    case CLK_SERVER: s_lo.server_us = s_hi.server_us = 50; break;
    case CLK_HLC: s_lo.h = s_hi.h = (hlc){ .l_us = 50, .c = 2 }; break;
    }
    record r_lo = rec(&a, s_lo), r_hi = rec(&a, s_hi);
    put(&r_lo, &a, "a", 1, s_lo);
    put(&r_hi, &a, "a", 2, s_hi);
    static const char *const a_only[] = { "a" };

    resolve_output x = RESOLVE(&a, &r_lo, &r_hi, OP_UPDATE, 1, a_only, true, &r);
    resolve_output y = RESOLVE(&a, &r_hi, &r_lo, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(x.verdict, RESOLVE_INCOMING);
    EXPECT_INT(y.verdict, RESOLVE_CURRENT);
    EXPECT_FIELD(&x.result, "a", 2, hi);
    EXPECT_FIELD(&y.result, "a", 2, hi);
    EXPECT_U64(x.result.st.w, hi);
    EXPECT_U64(y.result.st.w, hi);
    EXPECT(record_same_provenance(&x.result, &y.result));

    /* A write against itself (a retried change): not newer, current stands. */
    resolve_output z = RESOLVE(&a, &r_hi, &r_hi, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(z.verdict, RESOLVE_CURRENT);
    arena_release(&a);
}

/* lww-hlc orders equal l by the counter, not by the write id. */
static void lww_hlc_counter_orders_equal_l(void)
{
    arena a;
    arena_init(&a, 8192);
    static const char *const a_only[] = { "a" };
    for (int g = GRAIN_RECORD; g <= GRAIN_FIELD; g++) {
        entity_rules r = rules("lww-hlc", (grain)g, DELETE_BY_STRATEGY);
        stamp s_cur = { .w = WRITE_ID(9, 9), .h = { .l_us = 100, .c = 1 } };   /* the higher id */
        stamp s_inc = { .w = WRITE_ID(1, 1), .h = { .l_us = 100, .c = 2 } };   /* the higher counter */
        record cur = rec(&a, s_cur), inc = rec(&a, s_inc);
        put(&cur, &a, "a", 1, s_cur);
        put(&inc, &a, "a", 2, s_inc);
        resolve_output out = RESOLVE(&a, &cur, &inc, OP_UPDATE, 1, a_only, true, &r);
        EXPECT_INT(out.verdict, RESOLVE_INCOMING);
        EXPECT_FIELD(&out.result, "a", 2, WRITE_ID(1, 1));
        out = RESOLVE(&a, &inc, &cur, OP_UPDATE, 1, a_only, true, &r);
        EXPECT_INT(out.verdict, RESOLVE_CURRENT);
        EXPECT_FIELD(&out.result, "a", 2, WRITE_ID(1, 1));
    }
    arena_release(&a);
}

static void lww_delete_must_be_newer_than_everything(clk k, grain g)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules(LWW_NAME[k], g, DELETE_BY_STRATEGY);

    /* The record's last write (A3 at 25) is older than one of its fields (b, A2 at 30). */
    record cur = rec(&a, at(k, 25, A3));
    put(&cur, &a, "a", 1, at(k, 25, A3));
    put(&cur, &a, "b", 2, at(k, 30, A2));

    /* A delete newer than the last write but older than field b: current stands. */
    record del1 = rec(&a, at(k, 27, B1));
    put(&del1, &a, "a", 1, at(k, 25, A3));
    put(&del1, &a, "b", 2, at(k, 30, A2));
    make_tombstone(&del1, at(k, 27, B1));
    resolve_output out = RESOLVE(&a, &cur, &del1, OP_DELETE, 0, NULL, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(!out.result.deleted);
    EXPECT_U64(out.result.del.w, WRITE_NONE);
    EXPECT_STR(out.kind, "delete-update");
    EXPECT_FIELD(&out.result, "b", 2, A2);

    /* A delete newer than everything: deleted, with the delete's stamp. */
    record del2 = rec(&a, at(k, 35, B1));
    put(&del2, &a, "a", 1, at(k, 25, A3));
    make_tombstone(&del2, at(k, 35, B1));
    out = RESOLVE(&a, &cur, &del2, OP_DELETE, 0, NULL, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(out.result.deleted);
    EXPECT_U64(out.result.del.w, B1);
    EXPECT(stamps_equal(&out.result.del, &del2.del));
    EXPECT_U64(out.result.st.w, B1);
    EXPECT(out.conflict);
    EXPECT_STR(out.kind, "delete-update");

    /* A delete of a record already deleted: the first delete stands. */
    record tomb = rec(&a, at(k, 20, A1));
    put(&tomb, &a, "a", 1, at(k, 10, A1));
    make_tombstone(&tomb, at(k, 20, A1));
    out = RESOLVE(&a, &tomb, &del2, OP_DELETE, 0, NULL, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(out.result.deleted);
    EXPECT_U64(out.result.del.w, A1);
    EXPECT_STR(out.kind, "delete-delete");
    arena_release(&a);
}

static void lww_edit_resurrects_only_if_newer_than_the_delete(clk k, grain g)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules(LWW_NAME[k], g, DELETE_BY_STRATEGY);
    static const char *const a_only[] = { "a" };

    record tomb = rec(&a, at(k, 20, A2));
    put(&tomb, &a, "a", 1, at(k, 10, A1));
    put(&tomb, &a, "b", 2, at(k, 10, A1));
    make_tombstone(&tomb, at(k, 20, A2));

    /* An update made on the pre-delete state (it carries b too), newer than the delete. */
    record upd = rec(&a, at(k, 30, B1));
    put(&upd, &a, "a", 10, at(k, 30, B1));
    put(&upd, &a, "b", 2, at(k, 10, A1));
    resolve_output out = RESOLVE(&a, &tomb, &upd, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.result.deleted);
    EXPECT_U64(out.result.del.w, WRITE_NONE);
    EXPECT_FIELD(&out.result, "a", 10, B1);
    if (g == GRAIN_RECORD) {
        EXPECT_FIELD(&out.result, "b", 2, A1);   /* the record is the unit: it comes back whole */
    } else {
        /* Field grain: b was written before the delete and stays deleted. */
        EXPECT(record_field(&out.result, "b") == NULL);
        EXPECT_INT(out.result.n_fields, 1);
    }
    EXPECT_U64(out.result.st.w, B1);
    EXPECT_STR(out.kind, "update-delete");

    /* The same update, older than the delete: the tombstone stands. */
    record old = rec(&a, at(k, 15, B1));
    put(&old, &a, "a", 10, at(k, 15, B1));
    put(&old, &a, "b", 2, at(k, 10, A1));
    out = RESOLVE(&a, &tomb, &old, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(out.result.deleted);
    EXPECT_U64(out.result.del.w, A2);
    EXPECT_FIELD(&out.result, "a", 1, A1);
    EXPECT_STR(out.kind, "update-delete");
    arena_release(&a);
}

/* --- fixed winners -------------------------------------------------------------- */

static void server_wins(grain g)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules("server-wins", g, DELETE_BY_STRATEGY);
    static const char *const a_only[] = { "a" };

    record cur = rec(&a, all_clocks(100, A1));
    put(&cur, &a, "a", 1, all_clocks(100, A1));
    put(&cur, &a, "b", 2, all_clocks(100, A1));

    /* Concurrent, newer by every clock: current stands. */
    record newer = rec(&a, all_clocks(900, B1));
    put(&newer, &a, "a", 10, all_clocks(900, B1));
    put(&newer, &a, "b", 20, all_clocks(900, B1));   /* stale or not, b was not written */
    resolve_output out = RESOLVE(&a, &cur, &newer, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(out.conflict);
    EXPECT(records_identical(&out.result, &cur));

    /* Not concurrent, older by every clock: incoming (a fast-forward). */
    record older = rec(&a, all_clocks(1, B1));
    put(&older, &a, "a", 10, all_clocks(1, B1));
    put(&older, &a, "b", 20, all_clocks(1, B1));
    out = RESOLVE(&a, &cur, &older, OP_UPDATE, 1, a_only, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.conflict);
    EXPECT_FIELD(&out.result, "a", 10, B1);
    if (g == GRAIN_FIELD)
        EXPECT_FIELD(&out.result, "b", 2, A1);    /* only what the change wrote */
    else
        EXPECT_FIELD(&out.result, "b", 20, B1);   /* the whole record */
    EXPECT_U64(out.result.st.w, B1);

    /* Deletes: concurrent dropped, non-concurrent taken. */
    record del = rec(&a, all_clocks(900, B1));
    make_tombstone(&del, all_clocks(900, B1));
    out = RESOLVE(&a, &cur, &del, OP_DELETE, 0, NULL, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(!out.result.deleted);
    out = RESOLVE(&a, &cur, &del, OP_DELETE, 0, NULL, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(out.result.deleted);
    EXPECT_U64(out.result.del.w, B1);

    /* An edit against a tombstone: concurrent dropped, non-concurrent resurrects. */
    record tomb = rec(&a, all_clocks(100, A2));
    put(&tomb, &a, "a", 1, all_clocks(50, A1));
    make_tombstone(&tomb, all_clocks(100, A2));
    out = RESOLVE(&a, &tomb, &newer, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(out.result.deleted);
    out = RESOLVE(&a, &tomb, &older, OP_UPDATE, 1, a_only, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.result.deleted);
    EXPECT_FIELD(&out.result, "a", 10, B1);
    arena_release(&a);
}

static void client_wins(grain g)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules("client-wins", g, DELETE_BY_STRATEGY);
    static const char *const a_only[] = { "a" };

    record cur = rec(&a, all_clocks(900, A1));
    put(&cur, &a, "a", 1, all_clocks(900, A1));
    put(&cur, &a, "b", 2, all_clocks(900, A1));

    /* Concurrent and older by every clock: still incoming. */
    record older = rec(&a, all_clocks(1, B1));
    put(&older, &a, "a", 10, all_clocks(1, B1));
    put(&older, &a, "b", 20, all_clocks(1, B1));
    for (int conc = 0; conc <= 1; conc++) {
        resolve_output out = RESOLVE(&a, &cur, &older, OP_UPDATE, 1, a_only, conc, &r);
        EXPECT_INT(out.verdict, RESOLVE_INCOMING);
        EXPECT_INT(out.conflict, conc);
        EXPECT_FIELD(&out.result, "a", 10, B1);
        if (g == GRAIN_FIELD)
            EXPECT_FIELD(&out.result, "b", 2, A1);
        else
            EXPECT_FIELD(&out.result, "b", 20, B1);
        EXPECT_U64(out.result.st.w, B1);
    }

    /* An older concurrent delete deletes. */
    record del = rec(&a, all_clocks(1, B1));
    make_tombstone(&del, all_clocks(1, B1));
    resolve_output out = RESOLVE(&a, &cur, &del, OP_DELETE, 0, NULL, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(out.result.deleted);
    EXPECT_U64(out.result.del.w, B1);

    /* An older concurrent edit resurrects. */
    record tomb = rec(&a, all_clocks(900, A2));
    put(&tomb, &a, "a", 1, all_clocks(50, A1));
    make_tombstone(&tomb, all_clocks(900, A2));
    out = RESOLVE(&a, &tomb, &older, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.result.deleted);
    EXPECT_U64(out.result.del.w, WRITE_NONE);
    EXPECT_FIELD(&out.result, "a", 10, B1);
    arena_release(&a);
}

/* --- delete rules ------------------------------------------------------------------ */

/* delete-wins overrides every strategy, at both grains, for a concurrent delete-versus-edit. */
static void delete_wins_rule(const char *strategy, grain g)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules(strategy, g, DELETE_WINS);
    static const char *const a_only[] = { "a" };

    record tomb = rec(&a, all_clocks(100, A2));
    put(&tomb, &a, "a", 1, all_clocks(50, A1));
    make_tombstone(&tomb, all_clocks(100, A2));
    record live = rec(&a, all_clocks(500, A1));
    put(&live, &a, "a", 1, all_clocks(500, A1));

    /* A concurrent update against the tombstone, newer by every clock: dropped. */
    record upd = rec(&a, all_clocks(900, B1));
    put(&upd, &a, "a", 10, all_clocks(900, B1));
    resolve_output out = RESOLVE(&a, &tomb, &upd, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(out.result.deleted);
    EXPECT_U64(out.result.del.w, A2);
    EXPECT(out.conflict);
    EXPECT_STR(out.kind, "update-delete");

    /* A concurrent delete against a live record, older by every clock: it wins. */
    record del = rec(&a, all_clocks(1, B1));
    make_tombstone(&del, all_clocks(1, B1));
    out = RESOLVE(&a, &live, &del, OP_DELETE, 0, NULL, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(out.result.deleted);
    EXPECT_U64(out.result.del.w, B1);
    EXPECT_STR(out.kind, "delete-update");

    /* A concurrent delete of a tombstone: the first delete stands. */
    out = RESOLVE(&a, &tomb, &del, OP_DELETE, 0, NULL, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT_U64(out.result.del.w, A2);

    /* A non-concurrent re-create (its device saw the delete), older by every clock: taken. */
    record again = rec(&a, all_clocks(2, B1));
    put(&again, &a, "a", 7, all_clocks(2, B1));
    out = RESOLVE(&a, &tomb, &again, OP_CREATE, 1, a_only, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.result.deleted);
    EXPECT_U64(out.result.del.w, WRITE_NONE);
    EXPECT_FIELD(&out.result, "a", 7, B1);
    EXPECT(!out.conflict);

    /* Update against update is not the rule's business: the strategy decides. */
    record upd2 = rec(&a, all_clocks(900, B1));
    put(&upd2, &a, "a", 10, all_clocks(900, B1));
    resolve_input in = { .current = &live, .incoming = &upd2, .op = OP_UPDATE, .n_changed = 1, .changed = a_only,
                         .concurrent = true, .rules = &r };
    resolve_output by_strategy;
    memset(&by_strategy, 0, sizeof by_strategy);
    r.strategy->resolve(&in, &by_strategy, &a);
    out = RESOLVE(&a, &live, &upd2, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(out.verdict, by_strategy.verdict);
    EXPECT(record_same_provenance(&out.result, &by_strategy.result));
    arena_release(&a);
}

/* edit-wins overrides every strategy, at both grains, for a concurrent delete-versus-edit. */
static void edit_wins_rule(const char *strategy, grain g)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules(strategy, g, DELETE_EDIT_WINS);
    static const char *const a_only[] = { "a" };

    record tomb = rec(&a, all_clocks(500, A2));
    put(&tomb, &a, "a", 1, all_clocks(50, A1));
    make_tombstone(&tomb, all_clocks(500, A2));
    record live = rec(&a, all_clocks(100, A1));
    put(&live, &a, "a", 1, all_clocks(100, A1));

    /* A concurrent update against the tombstone, older by every clock: resurrects. */
    record upd = rec(&a, all_clocks(1, B1));
    put(&upd, &a, "a", 10, all_clocks(1, B1));
    resolve_output out = RESOLVE(&a, &tomb, &upd, OP_UPDATE, 1, a_only, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.result.deleted);
    EXPECT_U64(out.result.del.w, WRITE_NONE);
    EXPECT_FIELD(&out.result, "a", 10, B1);
    EXPECT(out.conflict);
    EXPECT_STR(out.kind, "update-delete");

    /* A concurrent delete against a live record, newer by every clock: loses. */
    record del = rec(&a, all_clocks(900, B1));
    make_tombstone(&del, all_clocks(900, B1));
    out = RESOLVE(&a, &live, &del, OP_DELETE, 0, NULL, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(!out.result.deleted);
    EXPECT_FIELD(&out.result, "a", 1, A1);
    EXPECT_STR(out.kind, "delete-update");

    /* A non-concurrent delete is no conflict: taken. */
    out = RESOLVE(&a, &live, &del, OP_DELETE, 0, NULL, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(out.result.deleted);
    EXPECT_U64(out.result.del.w, B1);

    /* A non-concurrent re-create: taken. */
    record again = rec(&a, all_clocks(2, B1));
    put(&again, &a, "a", 7, all_clocks(2, B1));
    out = RESOLVE(&a, &tomb, &again, OP_CREATE, 1, a_only, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.result.deleted);
    EXPECT_FIELD(&out.result, "a", 7, B1);
    arena_release(&a);
}

/*
 * A create over a tombstone starts a new record: the client builds it from
 * nothing (client.c: "a create starts clean, even over a tombstone"), so the
 * server's result must not bring back fields of the deleted record that the
 * create did not write.
 */
static bool recreate_after_delete_starts_clean(const char *strategy, grain g, delete_rule d)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules(strategy, g, d);
    static const char *const a_only[] = { "a" };

    record tomb = rec(&a, all_clocks(100, A2));
    put(&tomb, &a, "a", 1, all_clocks(50, A1));
    put(&tomb, &a, "secret", 2, all_clocks(50, A1));
    make_tombstone(&tomb, all_clocks(100, A2));

    record again = rec(&a, all_clocks(200, B1));   /* newer than the delete by every clock */
    put(&again, &a, "a", 7, all_clocks(200, B1));
    resolve_output out = RESOLVE(&a, &tomb, &again, OP_CREATE, 1, a_only, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.result.deleted);
    EXPECT_FIELD(&out.result, "a", 7, B1);
    bool clean = record_field(&out.result, "secret") == NULL && out.result.n_fields == 1;
    arena_release(&a);
    return clean;
}

static void recreate_after_delete(void)
{
    char failing[1024] = "";
    int n_failing = 0;
    for (int s = 0; s < N_STRATEGIES; s++)
        for (int g = GRAIN_RECORD; g <= GRAIN_FIELD; g++)
            for (int d = DELETE_BY_STRATEGY; d <= DELETE_NEWER_TIMESTAMP; d++)
                if (!recreate_after_delete_starts_clean(ALL_STRATEGIES[s], (grain)g, (delete_rule)d)) {
                    size_t len = strlen(failing);
                    snprintf(failing + len, sizeof failing - len, "\n    %s, %s grain, on_delete %s",
                             ALL_STRATEGIES[s], grain_name((grain)g), delete_rule_name((delete_rule)d));
                    n_failing++;
                }
    if (n_failing) {
        fprintf(stderr,
                "%s:%d: a create over a tombstone kept a field of the deleted record it did not write, in %d "
                "of %d configurations:%s\n",
                __FILE__, __LINE__, n_failing, N_STRATEGIES * 2 * 4, failing);
        test_failures++;
    }
}

/* --- common to every strategy ------------------------------------------------------- */

static void no_current_takes_incoming(const char *strategy, grain g)
{
    arena a;
    arena_init(&a, 8192);
    entity_rules r = rules(strategy, g, DELETE_BY_STRATEGY);
    static const char *const ab[] = { "a", "b" };
    record inc = rec(&a, all_clocks(1, B1));
    inc.version = 0;
    inc.seq = 0;
    put(&inc, &a, "a", 1, all_clocks(1, B1));
    put(&inc, &a, "b", 2, all_clocks(1, B1));
    for (int conc = 0; conc <= 1; conc++) {
        resolve_output out = RESOLVE(&a, NULL, &inc, OP_CREATE, 2, ab, conc, &r);
        EXPECT_INT(out.verdict, RESOLVE_INCOMING);
        EXPECT(!out.conflict);
        EXPECT(out.kind == NULL);
        EXPECT(records_identical(&out.result, &inc));
        EXPECT(out.result.fields != inc.fields);   /* a copy in the caller's arena */
    }
    arena_release(&a);
}

static void conflict_mirrors_concurrent_and_kinds(const char *strategy, grain g)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules(strategy, g, DELETE_BY_STRATEGY);
    static const char *const a_only[] = { "a" };
    record live = rec(&a, all_clocks(100, A1));
    put(&live, &a, "a", 1, all_clocks(100, A1));
    record tomb = rec(&a, all_clocks(100, A1));
    put(&tomb, &a, "a", 1, all_clocks(50, A1));
    make_tombstone(&tomb, all_clocks(100, A1));
    record upd = rec(&a, all_clocks(200, B1));
    put(&upd, &a, "a", 2, all_clocks(200, B1));
    record del = rec(&a, all_clocks(200, B1));
    put(&del, &a, "a", 1, all_clocks(100, A1));
    make_tombstone(&del, all_clocks(200, B1));

    for (int conc = 0; conc <= 1; conc++) {
        resolve_output out = RESOLVE(&a, &live, &upd, OP_UPDATE, 1, a_only, conc, &r);
        EXPECT_INT(out.conflict, conc);
        EXPECT_STR(out.kind, "update-update");
        out = RESOLVE(&a, &live, &upd, OP_CREATE, 1, a_only, conc, &r);
        EXPECT_INT(out.conflict, conc);
        EXPECT_STR(out.kind, "create-create");
        out = RESOLVE(&a, &live, &del, OP_DELETE, 0, NULL, conc, &r);
        EXPECT_INT(out.conflict, conc);
        EXPECT_STR(out.kind, "delete-update");
        out = RESOLVE(&a, &tomb, &upd, OP_UPDATE, 1, a_only, conc, &r);
        EXPECT_INT(out.conflict, conc);
        EXPECT_STR(out.kind, "update-delete");
        out = RESOLVE(&a, &tomb, &del, OP_DELETE, 0, NULL, conc, &r);
        EXPECT_INT(out.conflict, conc);
        EXPECT_STR(out.kind, "delete-delete");
    }
    arena_release(&a);
}

static void strategy_table(void)
{
    EXPECT(strategy_find("no-such-strategy") == NULL);
    EXPECT(strategy_find("") == NULL);
    EXPECT(strategy_find("LWW-HLC") == NULL);
    EXPECT(strategy_find("lww") == NULL);
    EXPECT(strategy_find("lww-hlc ") == NULL);
    EXPECT_INT(strategy_count(), N_STRATEGIES + N_REFUSING);
    bool listed[N_STRATEGIES] = { false };
    for (int k = 0; k < N_REFUSING; k++) {
        const strategy_def *d = strategy_find(REFUSING_STRATEGIES[k]);
        EXPECT(d != NULL && (d->flags & STRATEGY_DECIDES_ALL));
    }
    for (int i = 0; i < strategy_count(); i++) {
        const strategy_def *d = strategy_at(i);
        EXPECT(d != NULL);
        EXPECT(d->name && d->name[0]);
        EXPECT(d->summary && d->summary[0]);
        EXPECT(d->resolve != NULL);
        EXPECT(strategy_find(d->name) == d);
        for (int k = 0; k < N_STRATEGIES; k++)
            if (strcmp(d->name, ALL_STRATEGIES[k]) == 0) {
                EXPECT(!listed[k]);   /* once */
                listed[k] = true;
            }
    }
    for (int k = 0; k < N_STRATEGIES; k++) {
        if (!listed[k]) {
            fprintf(stderr, "%s:%d: strategy %s is not in the table\n", __FILE__, __LINE__, ALL_STRATEGIES[k]);
            test_failures++;
        }
    }
}

/* --- the merges and the rules of the seed designs ------------------------------------ */

#define B2 WRITE_ID(2, 2)
#define C1 WRITE_ID(3, 1)

/* resolve with a base version and force, for strategies whose verdict depends on them. */
static resolve_output resolve_based(arena *a, const record *cur, const record *inc, op_kind op, int n_changed,
                                    const char *const *changed, bool concurrent, int64_t base, bool force,
                                    const entity_rules *r)
{
    resolve_input in = { .current = cur, .incoming = inc, .op = op, .n_changed = n_changed, .changed = changed,
                         .concurrent = concurrent, .base_version = base, .force = force, .rules = r };
    resolve_output out;
    memset(&out, 0xa5, sizeof out);
    strategy_resolve(&in, &out, a);
    return out;
}

static bool kept_has(const resolve_output *out, write_id w)
{
    for (int i = 0; i < out->n_kept; i++)
        if (out->kept[i] == w)
            return true;
    return false;
}

/* A field stored by the server at a version (three-way merge's "changed since the base"). */
static void put_v(record *r, arena *a, const char *name, int64_t v, stamp st, int64_t version)
{
    st.version = version;
    put(r, a, name, v, st);
}

static void merge_three_way_fields(void)
{
    arena a;
    arena_init(&a, 32768);
    entity_rules r = rules("merge-three-way", GRAIN_FIELD, DELETE_BY_STRATEGY);
    /* The server: a untouched since base 4; b and c stored at version 5 by A, after the base. */
    record cur = rec(&a, all_clocks(50, A2));
    put_v(&cur, &a, "a", 1, all_clocks(10, A1), 3);
    put_v(&cur, &a, "b", 2, all_clocks(50, A2), 5);
    put_v(&cur, &a, "c", 3, all_clocks(50, A2), 5);
    /* B made its change on version 4: a, b (newer than A's), c (older than A's), d (new). */
    static const char *const abcd[] = { "a", "b", "c", "d" };
    record inc = rec(&a, all_clocks(60, B1));
    put(&inc, &a, "a", 10, all_clocks(60, B1));
    put(&inc, &a, "b", 20, all_clocks(60, B1));
    put(&inc, &a, "c", 30, all_clocks(40, B1));
    put(&inc, &a, "d", 40, all_clocks(60, B1));
    resolve_output out = resolve_based(&a, &cur, &inc, OP_UPDATE, 4, abcd, true, 4, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_MERGED);
    EXPECT(out.conflict);
    EXPECT_FIELD(&out.result, "a", 10, B1);   /* only B changed it: B's, no conflict */
    EXPECT_FIELD(&out.result, "b", 20, B1);   /* both changed: the newer hybrid clock */
    EXPECT_FIELD(&out.result, "c", 3, A2);    /* both changed: A's is newer */
    EXPECT_FIELD(&out.result, "d", 40, B1);
    EXPECT(kept_has(&out, A2));               /* A's b lost: kept */
    EXPECT(kept_has(&out, B1));               /* B's c lost: kept */
    EXPECT_INT(out.n_kept, 2);

    /* Made on the current version: no conflict, the change's fields only, nothing kept. */
    static const char *const b_only[] = { "b" };
    out = resolve_based(&a, &cur, &inc, OP_UPDATE, 1, b_only, false, 4, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.conflict);
    EXPECT_FIELD(&out.result, "b", 20, B1);
    EXPECT_FIELD(&out.result, "a", 1, A1);
    EXPECT_NO_FIELD(&out.result, "d");
    EXPECT_INT(out.n_kept, 0);

    /* Both wrote the same value: nothing is lost, the current stands, the other is kept. */
    record same = rec(&a, all_clocks(60, B1));
    put(&same, &a, "b", 2, all_clocks(60, B1));
    out = resolve_based(&a, &cur, &same, OP_UPDATE, 1, b_only, true, 4, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT_FIELD(&out.result, "b", 2, A2);
    EXPECT(kept_has(&out, B1));
    arena_release(&a);
}

static void merge_three_way_deletes(void)
{
    arena a;
    arena_init(&a, 32768);
    entity_rules r = rules("merge-three-way", GRAIN_FIELD, DELETE_BY_STRATEGY);
    record cur = rec(&a, all_clocks(50, A2));
    put_v(&cur, &a, "a", 1, all_clocks(10, A1), 3);
    put_v(&cur, &a, "b", 2, all_clocks(50, A2), 5);
    log_event ev = { .w = A3, .at_us = 55 };
    record_add_event(&cur, &a, &ev, EVENT_ORDER_OCCURRED, true);

    /* A delete made on version 4, newer than A's edits since: it wins; A's b and A's event are kept. */
    record del = rec(&a, all_clocks(70, B1));
    put_v(&del, &a, "a", 1, all_clocks(10, A1), 3);
    make_tombstone(&del, all_clocks(70, B1));
    resolve_output out = resolve_based(&a, &cur, &del, OP_DELETE, 0, NULL, true, 4, false, &r);
    EXPECT(out.result.deleted);
    EXPECT(kept_has(&out, A2));
    EXPECT(kept_has(&out, A3));
    EXPECT(!kept_has(&out, A1));   /* the deleter had seen a: deleting it loses nothing */

    /* Older than the edits since its base: the edits stand. */
    record old_del = rec(&a, all_clocks(20, B1));
    make_tombstone(&old_del, all_clocks(20, B1));
    out = resolve_based(&a, &cur, &old_del, OP_DELETE, 0, NULL, true, 4, false, &r);
    EXPECT(!out.result.deleted);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);

    /* An edit meets a tombstone: newer revives without the deleted values; older is kept aside. */
    record tomb = rec(&a, all_clocks(40, A2));
    put_v(&tomb, &a, "a", 1, all_clocks(10, A1), 3);
    make_tombstone(&tomb, all_clocks(40, A2));
    static const char *const b_only[] = { "b" };
    record edit = rec(&a, all_clocks(60, B1));
    put_v(&edit, &a, "a", 1, all_clocks(10, A1), 3);
    put(&edit, &a, "b", 9, all_clocks(60, B1));
    out = resolve_based(&a, &tomb, &edit, OP_UPDATE, 1, b_only, true, 2, false, &r);
    EXPECT(!out.result.deleted);
    EXPECT_FIELD(&out.result, "b", 9, B1);
    EXPECT_NO_FIELD(&out.result, "a");
    record late = rec(&a, all_clocks(30, B1));
    put(&late, &a, "b", 9, all_clocks(30, B1));
    out = resolve_based(&a, &tomb, &late, OP_UPDATE, 1, b_only, true, 2, false, &r);
    EXPECT(out.result.deleted);
    EXPECT(kept_has(&out, B1));
    arena_release(&a);
}

/* An increment made on a deleted incarnation meets that delete, not the record created since. */
static void merge_three_way_incarnations(void)
{
    arena a;
    arena_init(&a, 32768);
    entity_rules r = rules("merge-three-way", GRAIN_FIELD, DELETE_BY_STRATEGY);
    r.counters = COUNTER_CRDT;
    record cur = rec(&a, all_clocks(80, C1));
    put_v(&cur, &a, "count", 0, all_clocks(80, C1), 8);
    cur.born_version = 8;
    cur.prev_del = all_clocks(50, A2);
    static const char *const count[] = { "count" };
    record old_inc = rec(&a, all_clocks(40, B1));
    put(&old_inc, &a, "count", 3, all_clocks(40, B1));
    resolve_output out = resolve_based(&a, &cur, &old_inc, OP_INCREMENT, 1, count, true, 5, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT(out.conflict);
    EXPECT(kept_has(&out, B1));
    EXPECT_FIELD(&out.result, "count", 0, C1);
    /* Made after the delete (newer than it): it joins the new incarnation's counter. */
    record new_inc = rec(&a, all_clocks(60, B1));
    put(&new_inc, &a, "count", 3, all_clocks(60, B1));
    out = resolve_based(&a, &cur, &new_inc, OP_INCREMENT, 1, count, true, 5, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT_INT(record_field(&out.result, "count")->v.i, 3);
    arena_release(&a);
}

static void merge_two_way(void)
{
    arena a;
    arena_init(&a, 32768);
    entity_rules r = rules("merge-two-way", GRAIN_RECORD, DELETE_BY_STRATEGY);
    record cur = rec(&a, all_clocks(50, A1));
    put(&cur, &a, "a", 1, all_clocks(50, A1));
    put(&cur, &a, "b", 2, all_clocks(50, A1));
    static const char *const c_only[] = { "c" };
    /* Equal a and b, c only in the sender's: merged. */
    record inc = rec(&a, all_clocks(60, B1));
    put(&inc, &a, "a", 1, all_clocks(50, A1));
    put(&inc, &a, "b", 2, all_clocks(50, A1));
    put(&inc, &a, "c", 3, all_clocks(60, B1));
    resolve_output out = resolve_based(&a, &cur, &inc, OP_UPDATE, 1, c_only, true, 3, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_MERGED);
    EXPECT_FIELD(&out.result, "c", 3, B1);
    EXPECT_FIELD(&out.result, "a", 1, A1);
    /* b differs -- even though only the server changed it -- so the merge fails: left to the user. */
    record stale = rec(&a, all_clocks(60, B1));
    put(&stale, &a, "a", 1, all_clocks(50, A1));
    put(&stale, &a, "b", 0, all_clocks(5, A1));
    put(&stale, &a, "c", 3, all_clocks(60, B1));
    out = resolve_based(&a, &cur, &stale, OP_UPDATE, 1, c_only, true, 3, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_PENDING);
    EXPECT_FIELD(&out.result, "b", 2, A1);   /* the server's record stands meanwhile */
    EXPECT_NO_FIELD(&out.result, "c");
    /* A deletion conflict has nothing to merge. */
    record del = rec(&a, all_clocks(60, B1));
    make_tombstone(&del, all_clocks(60, B1));
    out = resolve_based(&a, &cur, &del, OP_DELETE, 0, NULL, true, 3, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_PENDING);
    EXPECT(!out.result.deleted);
    /* Not concurrent: a plain update. */
    out = resolve_based(&a, &cur, &stale, OP_UPDATE, 1, c_only, false, 4, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    arena_release(&a);
}

static void manual_and_force(void)
{
    arena a;
    arena_init(&a, 32768);
    entity_rules r = rules("manual", GRAIN_RECORD, DELETE_BY_STRATEGY);
    record cur = rec(&a, all_clocks(50, A1));
    put(&cur, &a, "a", 1, all_clocks(50, A1));
    put(&cur, &a, "b", 2, all_clocks(50, A1));
    static const char *const a_only[] = { "a" };
    record inc = rec(&a, all_clocks(60, B1));
    put(&inc, &a, "a", 9, all_clocks(60, B1));
    resolve_output out = resolve_based(&a, &cur, &inc, OP_UPDATE, 1, a_only, true, 3, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_PENDING);
    EXPECT(out.conflict);
    EXPECT_FIELD(&out.result, "a", 1, A1);
    out = resolve_based(&a, &cur, &inc, OP_UPDATE, 1, a_only, false, 4, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT_FIELD(&out.result, "a", 9, B1);
    /* The user's resolution, forced: the chosen record replaces the server's whole, b included. */
    out = resolve_based(&a, &cur, &inc, OP_UPDATE, 1, a_only, true, 1, true, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.conflict);
    EXPECT_FIELD(&out.result, "a", 9, B1);
    EXPECT_NO_FIELD(&out.result, "b");
    EXPECT_INT(out.result.version, cur.version);
    arena_release(&a);
}

static record task(arena *a, stamp st, const char *status, const char *title)
{
    record r = rec(a, st);
    value s = { .kind = VAL_STRING, .s = status }, t = { .kind = VAL_STRING, .s = title };
    record_set_field(&r, a, "status", &s, &st);
    record_set_field(&r, a, "title", &t, &st);
    return r;
}

static void done_wins(void)
{
    arena a;
    arena_init(&a, 32768);
    entity_rules r = rules("done-wins", GRAIN_FIELD, DELETE_WINS);
    r.done_field = "status";
    r.done_value = (value){ .kind = VAL_STRING, .s = "done" };
    r.n_done_with = 1;
    r.done_with[0] = "completedAt";
    record server = task(&a, all_clocks(50, A1), "open", "server title");
    /* The client marks it done (with completedAt) and renames it, on an old version. */
    record done = task(&a, all_clocks(60, B1), "done", "client title");
    value when = { .kind = VAL_STRING, .s = "14:30" };
    stamp b1 = all_clocks(60, B1);
    record_set_field(&done, &a, "completedAt", &when, &b1);
    static const char *const changed[] = { "completedAt", "status", "title" };
    resolve_output out = resolve_based(&a, &server, &done, OP_UPDATE, 3, changed, true, 2, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_MERGED);
    EXPECT(out.conflict);
    EXPECT_STR(record_field(&out.result, "status")->v.s, "done");
    EXPECT_STR(record_field(&out.result, "completedAt")->v.s, "14:30");
    EXPECT_STR(record_field(&out.result, "title")->v.s, "server title");   /* "keep server title" */
    /* The server's task is done; a concurrent change without done loses, done stands. */
    record server_done = task(&a, all_clocks(50, A1), "done", "t");
    record reopen = task(&a, all_clocks(60, B1), "open", "t");
    static const char *const status[] = { "status" };
    out = resolve_based(&a, &server_done, &reopen, OP_UPDATE, 1, status, true, 2, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT_STR(record_field(&out.result, "status")->v.s, "done");
    /* No done on either side: a version mismatch is server wins. */
    out = resolve_based(&a, &server, &reopen, OP_UPDATE, 1, status, true, 2, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    /* On the current version: a plain update, reopen included. */
    out = resolve_based(&a, &server_done, &reopen, OP_UPDATE, 1, status, false, 4, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT_STR(record_field(&out.result, "status")->v.s, "open");
    arena_release(&a);
}

static void authority_strategies(void)
{
    arena a;
    arena_init(&a, 32768);
    static const char *const a_only[] = { "a" };
    entity_rules server_only = rules("server-authoritative", GRAIN_RECORD, DELETE_BY_STRATEGY);
    entity_rules immutable = rules("immutable", GRAIN_RECORD, DELETE_BY_STRATEGY);
    record inc = rec(&a, all_clocks(60, B1));
    put(&inc, &a, "a", 9, all_clocks(60, B1));
    record cur = rec(&a, all_clocks(50, A1));
    put(&cur, &a, "a", 1, all_clocks(50, A1));

    /* Server data: a client's create is refused, and the answer is "no such record" (version 0). */
    resolve_output out = resolve_based(&a, NULL, &inc, OP_CREATE, 1, a_only, false, 0, false, &server_only);
    EXPECT_INT(out.verdict, RESOLVE_REFUSED);
    EXPECT(!out.conflict);
    EXPECT_INT(out.result.version, 0);
    EXPECT_INT(out.result.n_fields, 0);
    for (op_kind op = OP_CREATE; op <= OP_APPEND; op++) {
        out = resolve_based(&a, &cur, &inc, op, op == OP_DELETE || op == OP_APPEND ? 0 : 1, a_only, false, 4, false,
                            &server_only);
        EXPECT_INT(out.verdict, RESOLVE_REFUSED);
        EXPECT_FIELD(&out.result, "a", 1, A1);
    }
    /* Even forced: the user cannot overwrite server data. */
    out = resolve_based(&a, &cur, &inc, OP_UPDATE, 1, a_only, true, 1, true, &server_only);
    EXPECT_INT(out.verdict, RESOLVE_REFUSED);

    /* Immutable: created once, never changed or deleted. */
    out = resolve_based(&a, NULL, &inc, OP_CREATE, 1, a_only, false, 0, false, &immutable);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    for (op_kind op = OP_CREATE; op <= OP_DELETE; op++) {
        out = resolve_based(&a, &cur, &inc, op, op == OP_DELETE ? 0 : 1, a_only, false, 4, false, &immutable);
        EXPECT_INT(out.verdict, RESOLVE_REFUSED);
    }
    arena_release(&a);
}

static void max_counters(void)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules("lww-device-clock", GRAIN_RECORD, DELETE_BY_STRATEGY);
    r.counters = COUNTER_MAX;
    static const char *const sets[] = { "sets" };
    record cur = rec(&a, all_clocks(50, A1));
    put(&cur, &a, "sets", 10, all_clocks(50, A1));
    /* The phone added 3 to 7 (total 10 on its side? no: 7 + 1 = 8); the server has 10: max keeps 10. */
    record smaller = rec(&a, all_clocks(60, B1));
    put(&smaller, &a, "sets", 8, all_clocks(60, B1));
    resolve_output out = resolve_based(&a, &cur, &smaller, OP_INCREMENT, 1, sets, true, 3, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_CURRENT);
    EXPECT_FIELD(&out.result, "sets", 10, A1);
    record larger = rec(&a, all_clocks(60, B1));
    put(&larger, &a, "sets", 12, all_clocks(60, B1));
    out = resolve_based(&a, &cur, &larger, OP_INCREMENT, 1, sets, true, 3, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT_FIELD(&out.result, "sets", 12, B1);   /* 12, not 10 + the phone's increments: max, not sum */
    arena_release(&a);
}

static void ops_counters(void)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules("lww-device-clock", GRAIN_RECORD, DELETE_BY_STRATEGY);
    r.counters = COUNTER_OPS;
    static const char *const sets[] = { "sets" };
    record cur = rec(&a, all_clocks(50, A1));
    put(&cur, &a, "sets", 10, all_clocks(50, A1));
    /* The change carries the delta 3: the server adds it, whatever the clocks or versions say. */
    record delta = rec(&a, all_clocks(40, B1));
    put(&delta, &a, "sets", 3, all_clocks(40, B1));
    resolve_output out = resolve_based(&a, &cur, &delta, OP_INCREMENT, 1, sets, true, 3, false, &r);
    EXPECT_INT(out.verdict, RESOLVE_INCOMING);
    EXPECT(!out.conflict);
    EXPECT_FIELD(&out.result, "sets", 13, B1);
    /* Kept as per-device sums, so the record names A's write and B's increment (provenance). */
    const field *f = record_field(&out.result, "sets");
    EXPECT_INT(f ? f->n_parts : 0, 2);
    if (f && f->n_parts == 2) {
        EXPECT_U64(f->parts[0].w, A1);
        EXPECT_INT(f->parts[0].p, 10);
        EXPECT_U64(f->parts[1].w, B1);
        EXPECT_INT(f->parts[1].p, 3);
    }
    /* The strategy keeps no memory of what it counted: the same change again adds again (a replay
     * only the server's idempotency keys stop). */
    record after = out.result;
    out = resolve_based(&a, &after, &delta, OP_INCREMENT, 1, sets, true, 3, false, &r);
    EXPECT_FIELD(&out.result, "sets", 16, B1);
    /* A negative delta subtracts; a record without the field starts from 0. */
    record minus = rec(&a, all_clocks(60, B1));
    put(&minus, &a, "sets", -4, all_clocks(60, B1));
    out = resolve_based(&a, &cur, &minus, OP_INCREMENT, 1, sets, true, 3, false, &r);
    EXPECT_FIELD(&out.result, "sets", 6, B1);
    record bare = rec(&a, all_clocks(50, A1));
    out = resolve_based(&a, &bare, &delta, OP_INCREMENT, 1, sets, true, 3, false, &r);
    EXPECT_FIELD(&out.result, "sets", 3, B1);
    arena_release(&a);
}

static void delete_newer_timestamp(void)
{
    arena a;
    arena_init(&a, 16384);
    entity_rules r = rules("manual", GRAIN_RECORD, DELETE_NEWER_TIMESTAMP);
    static const char *const a_only[] = { "a" };
    record live = rec(&a, all_clocks(50, A1));
    put(&live, &a, "a", 1, all_clocks(50, A1));
    /* Device timestamps decide, whatever the other clocks say. */
    record del_new = rec(&a, at(CLK_DEVICE, 60, B1));
    make_tombstone(&del_new, at(CLK_DEVICE, 60, B1));
    resolve_output out = resolve_based(&a, &live, &del_new, OP_DELETE, 0, NULL, true, 3, false, &r);
    EXPECT(out.result.deleted);
    record del_old = rec(&a, at(CLK_DEVICE, 40, B1));
    make_tombstone(&del_old, at(CLK_DEVICE, 40, B1));
    out = resolve_based(&a, &live, &del_old, OP_DELETE, 0, NULL, true, 3, false, &r);
    EXPECT(!out.result.deleted);
    /* "If B's edit timestamp > A's delete: resurrect entity, apply edit." */
    record tomb = rec(&a, all_clocks(50, A1));
    make_tombstone(&tomb, all_clocks(50, A1));
    record edit_new = rec(&a, at(CLK_DEVICE, 60, B1));
    put(&edit_new, &a, "a", 9, at(CLK_DEVICE, 60, B1));
    out = resolve_based(&a, &tomb, &edit_new, OP_UPDATE, 1, a_only, true, 3, false, &r);
    EXPECT(!out.result.deleted);
    EXPECT_FIELD(&out.result, "a", 9, B1);
    record edit_old = rec(&a, at(CLK_DEVICE, 40, B1));
    put(&edit_old, &a, "a", 9, at(CLK_DEVICE, 40, B1));
    out = resolve_based(&a, &tomb, &edit_old, OP_UPDATE, 1, a_only, true, 3, false, &r);
    EXPECT(out.result.deleted);
    arena_release(&a);
}

/*
 * An event log is a union of immutable facts under every rule that decides
 * plain fields: a newer whole record (record-grain last-write-wins) or a forced
 * resolution replaces the fields, not the events the current record holds.
 */
static void event_logs_survive_whole_record_rules(void)
{
    arena a;
    arena_init(&a, 16384);
    static const char *const just_a[] = { "a" };
    entity_rules lww = rules("lww-device-clock", GRAIN_RECORD, DELETE_BY_STRATEGY);
    entity_rules manual = rules("manual", GRAIN_RECORD, DELETE_BY_STRATEGY);
    const entity_rules *both[] = { &lww, &manual };
    for (int k = 0; k < 2; k++) {
        record cur = rec(&a, all_clocks(10, A1));
        put(&cur, &a, "a", 1, all_clocks(10, A1));
        log_event start = { .w = A2, .at_us = 11 };
        record_add_event(&cur, &a, &start, EVENT_ORDER_OCCURRED, true);
        record inc = rec(&a, all_clocks(20, B1));
        put(&inc, &a, "a", 2, all_clocks(20, B1));
        log_event note = { .w = B2, .at_us = 12 };
        record_add_event(&inc, &a, &note, EVENT_ORDER_OCCURRED, true);
        resolve_input in = { .current = &cur, .incoming = &inc, .op = OP_UPDATE, .n_changed = 1,
                             .changed = just_a, .concurrent = true, .force = k == 1, .rules = both[k] };
        resolve_output out;
        strategy_resolve(&in, &out, &a);
        EXPECT_INT(out.verdict, RESOLVE_INCOMING);
        EXPECT_FIELD(&out.result, "a", 2, B1);
        EXPECT_INT(out.result.n_events, 2);
        EXPECT(record_find_event(&out.result, A2) >= 0);   /* the current record's event stays */
        EXPECT(record_find_event(&out.result, B2) >= 0);
        EXPECT_U64(out.result.events[0].w, A2);            /* in occurred order */
        /* The older record loses, and brings nothing: the current record is left as it was. */
        in.current = &inc;
        in.incoming = &cur;
        in.force = false;
        if (k == 0) {
            strategy_resolve(&in, &out, &a);
            EXPECT_INT(out.verdict, RESOLVE_CURRENT);
            EXPECT_INT(out.result.n_events, 1);
        }
    }
    /* A tombstone's events do not come back with a newer create. */
    record tomb = rec(&a, all_clocks(10, A1));
    log_event old = { .w = A2, .at_us = 11 };
    record_add_event(&tomb, &a, &old, EVENT_ORDER_OCCURRED, true);
    make_tombstone(&tomb, all_clocks(15, A3));
    record inc = rec(&a, all_clocks(20, B1));
    put(&inc, &a, "a", 2, all_clocks(20, B1));
    resolve_input in = { .current = &tomb, .incoming = &inc, .op = OP_CREATE, .n_changed = 1, .changed = just_a,
                         .concurrent = false, .rules = &lww };
    resolve_output out;
    strategy_resolve(&in, &out, &a);
    EXPECT(!out.result.deleted);
    EXPECT_INT(out.result.n_events, 0);
    arena_release(&a);
}

int main(void)
{
    xalloc_install_cjson();
    strategy_table();
    for (int k = CLK_DEVICE; k <= CLK_HLC; k++) {
        lww_record_grain((clk)k);
        lww_field_grain((clk)k);
        for (int g = GRAIN_RECORD; g <= GRAIN_FIELD; g++) {
            lww_ties_break_on_write_id((clk)k, (grain)g);
            lww_delete_must_be_newer_than_everything((clk)k, (grain)g);
            lww_edit_resurrects_only_if_newer_than_the_delete((clk)k, (grain)g);
        }
    }
    lww_hlc_counter_orders_equal_l();
    recreate_after_delete();
    merge_three_way_fields();
    merge_three_way_deletes();
    merge_three_way_incarnations();
    merge_two_way();
    manual_and_force();
    done_wins();
    authority_strategies();
    max_counters();
    ops_counters();
    delete_newer_timestamp();
    event_logs_survive_whole_record_rules();
    for (int g = GRAIN_RECORD; g <= GRAIN_FIELD; g++) {
        server_wins((grain)g);
        client_wins((grain)g);
        for (int s = 0; s < N_STRATEGIES; s++) {
            delete_wins_rule(ALL_STRATEGIES[s], (grain)g);
            edit_wins_rule(ALL_STRATEGIES[s], (grain)g);
            no_current_takes_incoming(ALL_STRATEGIES[s], (grain)g);
            conflict_mirrors_concurrent_and_kinds(ALL_STRATEGIES[s], (grain)g);
        }
    }
    return test_exit("strategy");
}
