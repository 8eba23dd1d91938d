/*
 * strategy: the conflict strategies and their table.
 *
 * Last-write-wins comes in three clocks that differ only in which stamp
 * field they compare; ties always break on the write id, so two replicas
 * resolving the same pair agree. A strategy never looks at anything but
 * its input.
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
    *part = (counter_part){ .node = WRITE_NODE(f->st.w), .p = base > 0 ? base : 0, .n = base < 0 ? -base : 0 };
    *out = part;
    return 1;
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
 * Appends and counter-CRDT increments commute with everything on a live
 * record: the event joins the log, the contributions join per node.
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
      "newest device wall-clock timestamp wins (clock skew can let an older write win)" },
    { "lww-server-clock", strategy_lww_server_clock,
      "newest server receive time wins (the last change to arrive wins)" },
    { "lww-hlc", strategy_lww_hlc,
      "newest hybrid logical clock wins (causally later writes always win)" },
    { "server-wins", strategy_server_wins,
      "on a version conflict the server's record stands; the change is dropped" },
    { "client-wins", strategy_client_wins,
      "every change overwrites the server's record, conflict or not" },
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

void strategy_resolve(const resolve_input *in, resolve_output *out, arena *a)
{
    assert(in->incoming && in->rules && in->rules->strategy);
    memset(out, 0, sizeof *out);
    if (!in->current) {
        take_incoming(in, out, a);
        return;
    }
    bool commutative = in->op == OP_APPEND || in->op == OP_INCREMENT;
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
