/*
 * strategy: the conflict strategies and their table.
 *
 * Last-write-wins comes in three clocks that differ only in which stamp
 * field they compare; ties always break on the write id, so two replicas
 * resolving the same pair agree. A strategy never looks at anything but
 * its input.
 *
 * The merges: merge-two-way is SmartDMV's attemptMerge as its document
 * writes it (the sender's whole record against the server's, no base);
 * merge-three-way is the reference design's (per field, against the base
 * version the change was made on, keeping every loser for the user). Manual
 * leaves a conflict to the user; done-wins is the delta-sync API's rule;
 * server-authoritative and immutable refuse what clients may not write.
 */
#include "engine/strategy.h"

#include <assert.h>
#include <string.h>

/* A plain integer field seen as a counter: its value is the contribution of the node that wrote it.
 * Every replica derives the same part from the same write, so joins stay consistent. */
int counter_parts_of(const field *f, arena *a, counter_part **out)
{
    if (f && f->n_parts) {
        *out = f->parts;
        return f->n_parts;
    }
    int64_t base = f && f->v.kind == VAL_INT ? f->v.i : 0;
    if (base == 0) {
        *out = NULL;
        return 0;
    }
    counter_part *part = arena_alloc(a, sizeof *part);
    *part = (counter_part){ .node = WRITE_NODE(f->st.w), .p = base > 0 ? base : 0, .n = base < 0 ? -base : 0,
                            .w = f->st.w };
    *out = part;
    return 1;
}

int counter_add(const counter_part *parts, int n, int32_t node, int64_t delta, write_id w, arena *a,
                counter_part **out)
{
    counter_part mine = { .node = node, .w = w, .p = delta > 0 ? delta : 0, .n = delta < 0 ? -delta : 0 };
    for (int i = 0; i < n; i++)
        if (parts[i].node == node) {
            mine.p += parts[i].p;
            mine.n += parts[i].n;
        }
    /* mine is at least the node's old part, so the join (a per-node maximum) takes it. */
    return counter_join(parts, n, &mine, 1, a, out);
}

static const char *conflict_kind(const resolve_input *in)
{
    if (in->op == OP_DELETE)
        return in->current->deleted ? "delete-delete" : "delete-update";
    if (in->current->deleted)
        return "update-delete";
    if (in->op == OP_CREATE)
        return "create-create";
    return "update-update";
}

/*
 * The incoming change takes effect in full. A record that comes back from a
 * tombstone (re-created, or resurrected by an edit) is the sender's record
 * as a whole: the tombstone's leftover fields were deleted and stay so.
 */
static void take_incoming(const resolve_input *in, resolve_output *out, arena *a)
{
    const record *cur = in->current;
    const record *inc = in->incoming;
    out->verdict = RESOLVE_INCOMING;
    bool whole = !cur || (in->op != OP_DELETE && (in->rules->grain == GRAIN_RECORD || cur->deleted));
    if (whole) {
        record_copy(&out->result, inc, a);
        if (cur) {
            out->result.version = cur->version;
            out->result.seq = cur->seq;
        }
        return;
    }
    record_copy(&out->result, cur, a);
    out->result.st = inc->st;
    if (in->op == OP_DELETE) {
        out->result.deleted = true;
        out->result.del = inc->del;
        return;
    }
    out->result.deleted = false;
    memset(&out->result.del, 0, sizeof out->result.del);
    for (int i = 0; i < in->n_changed; i++) {
        const field *f = record_field(inc, in->changed[i]);
        assert(f);
        record_set_field(&out->result, a, f->name, &f->v, &f->st);
    }
}

static void keep_current(const resolve_input *in, resolve_output *out, arena *a)
{
    out->verdict = RESOLVE_CURRENT;
    record_copy(&out->result, in->current, a);
}

/*
 * Appends and counter increments commute with everything on a live
 * record: the event joins the log, CRDT contributions join per node, an
 * ops delta adds to the total (max counters keep the larger total).
 */
static void merge_commutative(const resolve_input *in, resolve_output *out, arena *a)
{
    const record *inc = in->incoming;
    out->verdict = RESOLVE_INCOMING;
    record_copy(&out->result, in->current, a);
    out->result.st = inc->st;
    if (in->op == OP_APPEND) {
        int i = record_find_event(inc, inc->st.w);
        assert(i >= 0);
        if (!record_add_event(&out->result, a, &inc->events[i], in->rules->events_order, in->rules->events_dedup))
            out->verdict = RESOLVE_CURRENT;   /* already there: a retry */
        return;
    }
    if (in->rules->counters == COUNTER_MAX) {
        /* IronFlow's volume merge: Math.max of the two totals. Concurrent increments made
         * on the same total are not added; the smaller one is gone. */
        int taken = 0;
        for (int k = 0; k < in->n_changed; k++) {
            const field *f = record_field(inc, in->changed[k]);
            const field *cf = record_field(in->current, in->changed[k]);
            assert(f);
            int64_t mine = cf && cf->v.kind == VAL_INT ? cf->v.i : 0;
            int64_t theirs = f->v.kind == VAL_INT ? f->v.i : 0;
            if (!cf || theirs > mine) {
                record_set_field(&out->result, a, f->name, &f->v, &f->st);
                taken++;
            }
        }
        if (!taken) {
            record_copy(&out->result, in->current, a);
            out->verdict = RESOLVE_CURRENT;
        }
        return;
    }
    if (in->rules->counters == COUNTER_OPS) {
        /* The change carries a delta, and every delta applied is added: the server keeps no
         * record of which it has counted. A replay the profile's idempotency keys do not stop
         * (server.c) is added again -- the drift this mode exists to show. The total is kept as
         * per-device sums (counter_add) only so that the record names every device's latest
         * increment in it (provenance for the checker); nothing ever joins them. */
        for (int k = 0; k < in->n_changed; k++) {
            const field *f = record_field(inc, in->changed[k]);
            assert(f);
            counter_part *parts, *added;
            int n = counter_parts_of(record_field(in->current, f->name), a, &parts);
            n = counter_add(parts, n, WRITE_NODE(f->st.w), f->v.kind == VAL_INT ? f->v.i : 0, f->st.w, a, &added);
            record_set_counter(&out->result, a, f->name, added, n, &f->st);
        }
        return;
    }
    for (int k = 0; k < in->n_changed; k++) {
        const field *f = record_field(inc, in->changed[k]);
        assert(f);
        counter_part *mine, *theirs, *joined;
        int n_mine = counter_parts_of(record_field(in->current, f->name), a, &mine);
        int n_theirs = counter_parts_of(f, a, &theirs);
        int n = counter_join(mine, n_mine, theirs, n_theirs, a, &joined);
        record_set_counter(&out->result, a, f->name, joined, n, &f->st);
    }
}

/* --- last-write-wins ----------------------------------------------------- */

typedef int (*stamp_cmp)(const stamp *a, const stamp *b);

static int by_write_id(const stamp *a, const stamp *b)
{
    return a->w < b->w ? -1 : a->w > b->w;
}

static int cmp_device_clock(const stamp *a, const stamp *b)
{
    if (a->ts_us != b->ts_us)
        return a->ts_us < b->ts_us ? -1 : 1;
    return by_write_id(a, b);
}

static int cmp_server_clock(const stamp *a, const stamp *b)
{
    if (a->server_us != b->server_us)
        return a->server_us < b->server_us ? -1 : 1;
    return by_write_id(a, b);
}

static int cmp_hlc(const stamp *a, const stamp *b)
{
    int c = hlc_compare(a->h, b->h);
    return c ? c : by_write_id(a, b);
}

/* The newest stamp on the record: its last write and every field's. */
static const stamp *newest_stamp(const record *r, stamp_cmp cmp)
{
    const stamp *best = &r->st;
    for (int i = 0; i < r->n_fields; i++)
        if (cmp(&r->fields[i].st, best) > 0)
            best = &r->fields[i].st;
    return best;
}

/*
 * Field grain: an edit newer than a delete brings the record back with what
 * was written after the delete, not with the values the delete removed. The
 * sender, who had not seen the delete, still holds those older values; they
 * stay deleted, field by field, as every newer field would have beaten them.
 */
static void drop_deleted_fields(record *r, const stamp *del, stamp_cmp cmp)
{
    int kept = 0;
    for (int i = 0; i < r->n_fields; i++)
        if (cmp(&r->fields[i].st, del) > 0)
            r->fields[kept++] = r->fields[i];
    r->n_fields = kept;
}

static void lww(const resolve_input *in, resolve_output *out, arena *a, stamp_cmp cmp)
{
    const record *cur = in->current;
    const record *inc = in->incoming;
    if (in->op == OP_DELETE) {
        /* A delete takes effect only if it is newer than everything on the record. */
        if (!cur->deleted && cmp(&inc->st, newest_stamp(cur, cmp)) > 0)
            take_incoming(in, out, a);
        else
            keep_current(in, out, a);
        return;
    }
    if (cur->deleted) {
        /* An edit against a tombstone resurrects the record only if newer than the delete. */
        if (cmp(&inc->st, &cur->del) <= 0) {
            keep_current(in, out, a);
            return;
        }
        take_incoming(in, out, a);
        if (in->rules->grain == GRAIN_FIELD)
            drop_deleted_fields(&out->result, &cur->del, cmp);
        return;
    }
    if (in->rules->grain == GRAIN_RECORD) {
        if (cmp(&inc->st, &cur->st) > 0)
            take_incoming(in, out, a);
        else
            keep_current(in, out, a);
        return;
    }
    record_copy(&out->result, cur, a);
    int taken = 0;
    for (int i = 0; i < in->n_changed; i++) {
        const field *f = record_field(inc, in->changed[i]);
        const field *cf = record_field(cur, in->changed[i]);
        assert(f);
        if (!cf || cmp(&f->st, &cf->st) > 0) {
            record_set_field(&out->result, a, f->name, &f->v, &f->st);
            taken++;
        }
    }
    if (taken)
        out->result.st = inc->st;
    out->verdict = taken == in->n_changed ? RESOLVE_INCOMING : taken ? RESOLVE_MERGED : RESOLVE_CURRENT;
}

static void strategy_lww_device_clock(const resolve_input *in, resolve_output *out, arena *a)
{
    lww(in, out, a, cmp_device_clock);
}

static void strategy_lww_server_clock(const resolve_input *in, resolve_output *out, arena *a)
{
    lww(in, out, a, cmp_server_clock);
}

static void strategy_lww_hlc(const resolve_input *in, resolve_output *out, arena *a)
{
    lww(in, out, a, cmp_hlc);
}

/* --- merges -------------------------------------------------------------- */

static void keep_loser(resolve_output *out, arena *a, write_id w)
{
    if (w == WRITE_NONE)
        return;
    for (int i = 0; i < out->n_kept; i++)
        if (out->kept[i] == w)
            return;
    if (out->n_kept == out->cap_kept) {
        int cap = out->cap_kept ? out->cap_kept * 2 : 8;
        write_id *grown = arena_alloc(a, (size_t)cap * sizeof *grown);
        if (out->n_kept)
            memcpy(grown, out->kept, (size_t)out->n_kept * sizeof *grown);
        out->kept = grown;
        out->cap_kept = cap;
    }
    out->kept[out->n_kept++] = w;
}

static void pending(const resolve_input *in, resolve_output *out, arena *a)
{
    keep_current(in, out, a);
    out->verdict = RESOLVE_PENDING;
}

/*
 * Three-way merge against the change's base version. A field the server has
 * not stored since the base takes the sender's value; a field both sides
 * changed to different values is a real conflict, decided by the hybrid
 * logical clock (so a causally later write always wins), and the loser is
 * kept for the user. Deletes meet edits the same way: the newer wins, the
 * loser (edit or delete) is kept, and an edit that beats a delete revives
 * the record without the values the delete removed.
 */
static void strategy_merge_three_way(const resolve_input *in, resolve_output *out, arena *a)
{
    const record *cur = in->current;
    const record *inc = in->incoming;
    int64_t base = in->base_version;
    if (!in->concurrent) {
        take_incoming(in, out, a);
        return;
    }
    if (in->op == OP_DELETE) {
        if (cur->deleted) {
            keep_current(in, out, a);
            return;
        }
        const stamp *newest = NULL;
        for (int i = 0; i < cur->n_fields; i++)
            if (cur->fields[i].st.version > base && (!newest || cmp_hlc(&cur->fields[i].st, newest) > 0))
                newest = &cur->fields[i].st;
        if (!newest || cmp_hlc(&inc->st, newest) > 0) {
            take_incoming(in, out, a);
            for (int i = 0; i < cur->n_fields; i++)
                if (cur->fields[i].st.version > base)
                    keep_loser(out, a, cur->fields[i].st.w);
            /* Events the deleter had not seen were appended concurrently: kept, not just gone. */
            for (int i = 0; i < cur->n_events; i++)
                if (record_find_event(inc, cur->events[i].w) < 0)
                    keep_loser(out, a, cur->events[i].w);
        } else {
            /* A newer edit stands. The delete is a user's write like any other: kept, so the user can
             * still delete what the edit brought back. */
            keep_current(in, out, a);
            keep_loser(out, a, inc->st.w);
        }
        return;
    }
    if (cur->deleted) {
        if (cmp_hlc(&inc->st, &cur->del) > 0) {
            take_incoming(in, out, a);
            drop_deleted_fields(&out->result, &cur->del, cmp_hlc);
            keep_loser(out, a, cur->del.w);   /* the delete this edit undid, as above */
        } else {
            keep_current(in, out, a);
            keep_loser(out, a, inc->st.w);
        }
        return;
    }
    record_copy(&out->result, cur, a);
    int taken = 0;
    for (int i = 0; i < in->n_changed; i++) {
        const field *f = record_field(inc, in->changed[i]);
        const field *cf = record_field(cur, in->changed[i]);
        assert(f);
        if (!cf || cf->st.version <= base) {
            record_set_field(&out->result, a, f->name, &f->v, &f->st);
            taken++;
        } else if (value_equal(&cf->v, &f->v)) {
            keep_loser(out, a, f->st.w);   /* both wrote the same value: nothing is lost either way */
        } else if (cmp_hlc(&f->st, &cf->st) > 0) {
            record_set_field(&out->result, a, f->name, &f->v, &f->st);
            keep_loser(out, a, cf->st.w);
            taken++;
        } else {
            keep_loser(out, a, f->st.w);
        }
    }
    if (taken)
        out->result.st = inc->st;
    out->verdict = taken == in->n_changed ? RESOLVE_INCOMING : taken ? RESOLVE_MERGED : RESOLVE_CURRENT;
}

/*
 * SmartDMV's attemptMerge, as written: with no base, every field is compared
 * between the sender's whole record and the server's; equal or one-sided
 * fields merge, and any field that differs makes the merge fail ("cannot
 * auto-merge"), which leaves the conflict to the user. A field only the
 * server changed therefore fails the merge as surely as a real conflict.
 */
static void strategy_merge_two_way(const resolve_input *in, resolve_output *out, arena *a)
{
    const record *cur = in->current;
    const record *inc = in->incoming;
    if (!in->concurrent) {
        take_incoming(in, out, a);
        return;
    }
    if (in->op == OP_DELETE || cur->deleted) {
        pending(in, out, a);   /* a deletion conflict has no fields to merge */
        return;
    }
    record_copy(&out->result, cur, a);
    int from_incoming = 0;
    for (int i = 0; i < inc->n_fields; i++) {
        const field *f = &inc->fields[i];
        const field *cf = record_field(cur, f->name);
        if (!cf) {
            record_set_field(&out->result, a, f->name, &f->v, &f->st);
            from_incoming++;
        } else if (!value_equal(&cf->v, &f->v)) {
            pending(in, out, a);
            return;
        }
    }
    out->result.st = inc->st;
    out->verdict = from_incoming ? RESOLVE_MERGED : RESOLVE_CURRENT;
}

/* IronFlow's user confirmation: a concurrent change waits for the user; nothing is decided here. */
static void strategy_manual(const resolve_input *in, resolve_output *out, arena *a)
{
    if (in->concurrent)
        pending(in, out, a);
    else
        take_incoming(in, out, a);
}

static bool sets_done(const resolve_input *in)
{
    const char *name = in->rules->done_field;
    if (!name)
        return false;
    for (int i = 0; i < in->n_changed; i++) {
        if (strcmp(in->changed[i], name) != 0)
            continue;
        const field *f = record_field(in->incoming, name);
        return f && value_equal(&f->v, &in->rules->done_value);
    }
    return false;
}

/*
 * The delta-sync API on a version mismatch: a change that marks the task
 * done wins that field (and the fields that travel with it, completedAt);
 * the server's other fields stand ("apply done status + keep server title").
 * Otherwise the server wins, done or not: the change is reported and dropped.
 */
static void strategy_done_wins(const resolve_input *in, resolve_output *out, arena *a)
{
    const record *cur = in->current;
    const record *inc = in->incoming;
    if (!in->concurrent) {
        take_incoming(in, out, a);
        return;
    }
    if (in->op == OP_DELETE || cur->deleted || !sets_done(in)) {
        keep_current(in, out, a);
        return;
    }
    record_copy(&out->result, cur, a);
    const field *f = record_field(inc, in->rules->done_field);
    record_set_field(&out->result, a, f->name, &f->v, &f->st);
    int taken = 1;
    for (int k = 0; k < in->rules->n_done_with; k++)
        for (int i = 0; i < in->n_changed; i++)
            if (strcmp(in->changed[i], in->rules->done_with[k]) == 0) {
                const field *g = record_field(inc, in->changed[i]);
                record_set_field(&out->result, a, g->name, &g->v, &g->st);
                taken++;
            }
    out->result.st = inc->st;
    out->verdict = taken == in->n_changed ? RESOLVE_INCOMING : RESOLVE_MERGED;
}

/* --- what clients may not write --------------------------------------------- */

static void refuse(const resolve_input *in, resolve_output *out, arena *a)
{
    out->verdict = RESOLVE_REFUSED;
    if (in->current) {
        record_copy(&out->result, in->current, a);
    } else {
        /* The server has no such record: an empty one at version 0 tells the client so. */
        record_init(&out->result, a, in->incoming->type, in->incoming->id);
        out->result.tenant = arena_strdup(a, in->incoming->tenant);
    }
}

/* IronFlow's exercise library, delta-sync's computed streaks: the server's data; a client's change is refused. */
static void strategy_server_authoritative(const resolve_input *in, resolve_output *out, arena *a)
{
    refuse(in, out, a);
}

/* Delta-sync's points ledger and badges: created once, never changed or deleted. */
static void strategy_immutable(const resolve_input *in, resolve_output *out, arena *a)
{
    if (in->op == OP_CREATE && !in->current)
        take_incoming(in, out, a);
    else
        refuse(in, out, a);
}

/* --- fixed winners ------------------------------------------------------- */

static void strategy_server_wins(const resolve_input *in, resolve_output *out, arena *a)
{
    if (in->concurrent)
        keep_current(in, out, a);
    else
        take_incoming(in, out, a);
}

static void strategy_client_wins(const resolve_input *in, resolve_output *out, arena *a)
{
    take_incoming(in, out, a);
}

static const strategy_def STRATEGIES[] = {
    { "lww-device-clock", strategy_lww_device_clock,
      "newest device wall-clock timestamp wins (clock skew can let an older write win)", STRATEGY_CLOCKED },
    { "lww-server-clock", strategy_lww_server_clock,
      "newest server receive time wins (the last change to arrive wins)", 0 },
    { "lww-hlc", strategy_lww_hlc,
      "newest hybrid logical clock wins (causally later writes always win)", STRATEGY_CLOCKED },
    { "server-wins", strategy_server_wins,
      "on a version conflict the server's record stands; the change is dropped", 0 },
    { "client-wins", strategy_client_wins,
      "every change overwrites the server's record, conflict or not", 0 },
    { "merge-three-way", strategy_merge_three_way,
      "per field against the change's base version; real conflicts go to the newer hybrid clock "
      "and the loser is kept for the user", STRATEGY_CLOCKED },
    { "merge-two-way", strategy_merge_two_way,
      "SmartDMV's attemptMerge: whole records compared with no base; any differing field leaves the "
      "conflict to the user", 0 },
    { "manual", strategy_manual,
      "a concurrent change waits in a conflict store until the user picks a side or merges", 0 },
    { "done-wins", strategy_done_wins,
      "on a version conflict a change that marks the record done wins that field; otherwise the server wins", 0 },
    { "server-authoritative", strategy_server_authoritative,
      "server data: every client change is refused and the server's copy stands", STRATEGY_DECIDES_ALL },
    { "immutable", strategy_immutable,
      "created once by a client, never changed or deleted: later changes are refused", STRATEGY_DECIDES_ALL },
};

const strategy_def *strategy_find(const char *name)
{
    for (size_t i = 0; i < sizeof STRATEGIES / sizeof STRATEGIES[0]; i++)
        if (strcmp(STRATEGIES[i].name, name) == 0)
            return &STRATEGIES[i];
    return NULL;
}

int strategy_count(void)
{
    return (int)(sizeof STRATEGIES / sizeof STRATEGIES[0]);
}

const strategy_def *strategy_at(int index)
{
    assert(index >= 0 && index < strategy_count());
    return &STRATEGIES[index];
}

/* delete-wins and edit-wins, for a change that meets or is a delete. */
static void resolve_delete_rule(const resolve_input *in, resolve_output *out, arena *a)
{
    const record *cur = in->current;
    if (!in->concurrent) {
        /* The sender saw the current state: a plain fast-forward (e.g. re-create after delete). */
        take_incoming(in, out, a);
        return;
    }
    if (in->rules->on_delete == DELETE_NEWER_TIMESTAMP) {
        /* IronFlow: "if B's edit timestamp > A's delete: resurrect entity, apply edit; if A's
         * delete timestamp > B's edit: delete wins". Device clocks decide, skew and all. */
        const stamp *delete_st = in->op == OP_DELETE ? &in->incoming->st : &cur->del;
        const stamp *edit_st = in->op == OP_DELETE ? newest_stamp(cur, cmp_device_clock) : &in->incoming->st;
        bool delete_newer = cmp_device_clock(delete_st, edit_st) > 0;
        if ((in->op == OP_DELETE) == delete_newer && !(in->op == OP_DELETE && cur->deleted))
            take_incoming(in, out, a);
        else
            keep_current(in, out, a);
        return;
    }
    bool delete_wins = in->rules->on_delete == DELETE_WINS;
    if (in->op == OP_DELETE) {
        if (cur->deleted || !delete_wins)
            keep_current(in, out, a);
        else
            take_incoming(in, out, a);
    } else {
        if (delete_wins)
            keep_current(in, out, a);
        else
            take_incoming(in, out, a);
    }
}

/* A user's resolution of a conflict: their chosen record replaces the server's, whole. */
static void take_forced(const resolve_input *in, resolve_output *out, arena *a)
{
    out->verdict = RESOLVE_INCOMING;
    record_copy(&out->result, in->incoming, a);
    if (in->current) {
        out->result.version = in->current->version;
        out->result.seq = in->current->seq;
    }
}

/*
 * An event log is a set of immutable facts, whatever rule decides the record's
 * other fields: appends merge as a union (merge_commutative), and a record that
 * replaces a live one -- a newer whole record under record-grain last-write-wins,
 * a forced resolution -- brings its own log joined with the one it replaces, not
 * instead of it. Otherwise an edit made before its sender had pulled an event
 * would erase that event on the server.
 */
static void join_event_logs(const resolve_input *in, resolve_output *out, arena *a)
{
    const record *cur = in->current;
    if (!cur || cur->deleted || out->result.deleted || out->verdict == RESOLVE_CURRENT)
        return;
    for (int i = 0; i < cur->n_events; i++)
        record_add_event(&out->result, a, &cur->events[i], in->rules->events_order, true);
}

static void resolve_by_rules(const resolve_input *in, resolve_output *out, arena *a);

void strategy_resolve(const resolve_input *in, resolve_output *out, arena *a)
{
    resolve_by_rules(in, out, a);
    if (!(in->rules->strategy->flags & STRATEGY_DECIDES_ALL))
        join_event_logs(in, out, a);
}

static void resolve_by_rules(const resolve_input *in, resolve_output *out, arena *a)
{
    assert(in->incoming && in->rules && in->rules->strategy);
    memset(out, 0, sizeof *out);
    if (in->rules->strategy->flags & STRATEGY_DECIDES_ALL) {
        in->rules->strategy->resolve(in, out, a);
        return;
    }
    if (in->force) {
        take_forced(in, out, a);
        return;
    }
    if (!in->current) {
        take_incoming(in, out, a);
        return;
    }
    bool commutative = in->op == OP_APPEND || in->op == OP_INCREMENT;
    if (commutative && !in->current->deleted && in->rules->strategy->resolve == strategy_merge_three_way &&
        in->concurrent && in->base_version < in->current->born_version) {
        /* Three-way merge knows incarnations: an increment or append made on a record that has
         * since been deleted and created again belongs to the deleted one. It meets that delete
         * as any edit does -- newer than it, it joins the new record; older, it is kept aside. */
        if (cmp_hlc(&in->incoming->st, &in->current->prev_del) <= 0) {
            keep_current(in, out, a);
            keep_loser(out, a, in->incoming->st.w);
            out->conflict = true;
            out->kind = "update-delete";
            return;
        }
    }
    if (commutative && !in->current->deleted) {
        merge_commutative(in, out, a);   /* no conflict: the order of arrival does not matter */
        return;
    }
    out->conflict = in->concurrent;
    out->kind = conflict_kind(in);
    bool involves_delete = in->op == OP_DELETE || in->current->deleted;
    if (involves_delete && in->rules->on_delete != DELETE_BY_STRATEGY)
        resolve_delete_rule(in, out, a);
    else
        in->rules->strategy->resolve(in, out, a);
}
