/*
 * session: what each device showed, and when. See session.h for the classes
 * and what each allows.
 *
 * A slot is one (device, record): the state shown now, the state reported
 * during the current event (pending), the device's own writes to the record,
 * and one open episode per class. A slot is judged only at session_settle,
 * once per event, so a state that lived only inside one event is never seen.
 */
#include "sim/session.h"
#include "base/xalloc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Event logs longer than this are checked for order pair by adjacent pair only (O(n) instead of O(n^2)). */
#define SESSION_ORDER_PAIRS_MAX 256

enum { EP_RYW, EP_MR, EP_CV, EP_ORDER, EP_KINDS };

static const vclass EP_CLASS[EP_KINDS] = {
    [EP_RYW] = VC_READ_YOUR_WRITES,
    [EP_MR] = VC_MONOTONIC_READS,
    [EP_CV] = VC_CAUSAL_VISIBILITY,
    [EP_ORDER] = VC_ORDER_ANOMALY,
};

struct session_slot {
    int node;
    int record;
    session_view shown;       /* what the device shows now (present == false before any observation) */
    session_view pending;     /* reported during the current event; valid when dirty */
    bool dirty;
    write_id own_last;        /* the device's latest accepted write to the record */
    write_id own_shown;       /* its latest own write a shown state reflected */
    write_id own_resolved;    /* its latest resolution of a conflict on the record: the user's choice */
    session_episode open[EP_KINDS];
    bool is_open[EP_KINDS];
    /* The order check found no inversion in the log shown now, with the record's pasts as they were
     * at order_pasts (history.h's pasts_set): the same events again need no new check. */
    bool order_clean;
    uint32_t order_pasts;
    vclock mr_reference;      /* monotonic-reads: the closure of the state shown before the episode */
    session_view previous;    /* while settling: what was shown before this event (no writes, no closure) */
};

/* --- views ------------------------------------------------------------------- */

static bool covers(const vclock *closure, write_id w)
{
    return w != WRITE_NONE && vclock_get(closure, (uint32_t)WRITE_NODE(w)) >= WRITE_COUNTER(w);
}

static const write_rec *known(const session *s, write_id w, int record)
{
    const write_rec *wr = w ? history_write(s->h, w) : NULL;
    return wr && wr->accepted && wr->record == record ? wr : NULL;
}

/* A write that was never going to stand: the server refused it, or its device gave it up, or its
 * device lost it in a power loss before acknowledging it to its user. */
static bool withdrawn(const write_rec *wr)
{
    return wr->rejected || wr->dropped || wr->withdrawn;
}

/*
 * The server's copy already lost every trace of w to a write that follows it
 * (superseded) or is concurrent with it (a conflict w lost): a device that
 * stops showing w is catching up with that outcome, even when the winner
 * itself is not in what the device shows (a delete the device holds only as
 * a record's past, a whole-record winner under another name).
 */
static bool settled_against(const session *s, const write_rec *wr)
{
    const write_rec *by = wr->displaced_by ? history_write(s->h, wr->displaced_by) : NULL;
    if (!by || !by->accepted || by->record != wr->record)
        return false;
    causal rel = history_relation(s->h, by->w, wr->w);
    return rel == CAUSAL_AFTER || rel == CAUSAL_CONCURRENT;
}

static void view_add(session_view *v, write_id w)
{
    if (w == WRITE_NONE)
        return;
    if (v->n_writes == v->cap_writes) {
        v->cap_writes = v->cap_writes ? v->cap_writes * 2 : 8;
        v->writes = xrealloc(v->writes, v->cap_writes * sizeof *v->writes);
    }
    v->writes[v->n_writes++] = w;
}

static void view_free(session_view *v)
{
    xfree(v->writes);
    vclock_free(&v->closure);
    memset(v, 0, sizeof *v);
}

/* The slot of w in the scratch set: where it is, or the free slot it would take. */
static size_t shown_slot(const session *s, write_id w)
{
    size_t mask = s->shown_mask;
    size_t i = (size_t)((w * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & mask;
    while (s->shown_set[i] != WRITE_NONE && s->shown_set[i] != w)
        i = (i + 1) & mask;
    return i;
}

static void shown_set_put(session *s, write_id w)
{
    if (w != WRITE_NONE)
        s->shown_set[shown_slot(s, w)] = w;
}

static bool shown_set_has(const session *s, write_id w)
{
    return w != WRITE_NONE && s->shown_set[shown_slot(s, w)] == w;
}

/* The view's writes as a set in the session's scratch table (open addressing, WRITE_NONE free: a
 * view lists none), at most half full; with its last writer and delete too when with_last. */
static void shown_set_fill(session *s, const session_view *v, bool with_last)
{
    size_t cap = 16;
    while (cap < 2 * ((size_t)v->n_writes + 2))
        cap *= 2;
    if (cap > s->cap_shown_set) {
        xfree(s->shown_set);
        s->shown_set = xmalloc(cap * sizeof *s->shown_set);
        s->cap_shown_set = cap;
    }
    s->shown_mask = cap - 1;   /* this view's part of the table: one as long as its log uses it */
    memset(s->shown_set, 0, cap * sizeof *s->shown_set);
    for (uint32_t i = 0; i < v->n_writes; i++)
        shown_set_put(s, v->writes[i]);
    if (with_last) {
        shown_set_put(s, v->record_w);
        shown_set_put(s, v->delete_w);
    }
}

/*
 * The closure: every write of this record the view reflects, and everything those writes had seen.
 * It is the per-node maximum over those writes and their pasts, with an entry for every node any of
 * them names (vclock_raise keeps one at counter 0 too), so it is built in a per-node array -- a store
 * and a compare per entry instead of a sorted insertion -- and written out sorted by node. A node id
 * at or above SESSION_CLOSE_NODES (never in a world: nodes are numbered from 0) takes the merges.
 */
static void view_close_whole(session *s, session_view *v, int record)
{
    v->closure.n = 0;
    if (!s->close_counter) {
        s->close_counter = xcalloc(SESSION_CLOSE_NODES, sizeof *s->close_counter);
        s->close_present = xcalloc(SESSION_CLOSE_NODES, sizeof *s->close_present);
        s->close_nodes = xcalloc(SESSION_CLOSE_NODES, sizeof *s->close_nodes);
    }
    uint32_t n = 0;
    bool dense = true;
    for (uint32_t i = 0; i < v->n_writes + 2 && dense; i++) {
        write_id w = i == v->n_writes ? v->record_w : i == v->n_writes + 1 ? v->delete_w : v->writes[i];
        const write_rec *wr = known(s, w, record);
        if (!wr)
            continue;
        for (uint32_t k = 0; k <= wr->past.n; k++) {
            vc_entry e = k < wr->past.n ? wr->past.e[k]
                                        : (vc_entry){ (uint32_t)WRITE_NODE(wr->w), WRITE_COUNTER(wr->w) };
            if (e.node >= SESSION_CLOSE_NODES) {
                dense = false;
                break;
            }
            if (!s->close_present[e.node]) {
                s->close_present[e.node] = true;
                s->close_counter[e.node] = e.counter;
                s->close_nodes[n++] = e.node;
            } else if (s->close_counter[e.node] < e.counter) {
                s->close_counter[e.node] = e.counter;
            }
        }
    }
    if (dense) {
        /* Insertion sort: a record's writers are few (a handful of devices and the server). */
        for (uint32_t i = 1; i < n; i++) {
            uint32_t node = s->close_nodes[i], k = i;
            for (; k > 0 && s->close_nodes[k - 1] > node; k--)
                s->close_nodes[k] = s->close_nodes[k - 1];
            s->close_nodes[k] = node;
        }
        vclock_reserve(&v->closure, n);
        for (uint32_t i = 0; i < n; i++) {
            assert(i == 0 || s->close_nodes[i - 1] < s->close_nodes[i]);   /* sorted, one entry a node */
            v->closure.e[i] = (vc_entry){ s->close_nodes[i], s->close_counter[s->close_nodes[i]] };
        }
        v->closure.n = n;
    }
    for (uint32_t i = 0; i < n; i++)
        s->close_present[s->close_nodes[i]] = false;
    if (dense)
        return;
    for (uint32_t i = 0; i < v->n_writes + 2; i++) {
        write_id w = i == v->n_writes ? v->record_w : i == v->n_writes + 1 ? v->delete_w : v->writes[i];
        const write_rec *wr = known(s, w, record);
        if (!wr)
            continue;
        vclock_merge(&v->closure, &wr->past);
        vclock_raise(&v->closure, (uint32_t)WRITE_NODE(wr->w), WRITE_COUNTER(wr->w));
    }
}

/* Whether the view holding a holds everything r adds to a closure, node for node: every entry of
 * r's past and r itself is an entry of a's past or a itself, at least as high (the same nodes, so
 * the closure is the same vclock, not only the same counters). */
static bool closure_dominates(const write_rec *a, const write_rec *r)
{
    uint32_t a_node = (uint32_t)WRITE_NODE(a->w);
    for (uint32_t k = 0; k <= r->past.n; k++) {
        vc_entry e = k < r->past.n ? r->past.e[k] : (vc_entry){ (uint32_t)WRITE_NODE(r->w), WRITE_COUNTER(r->w) };
        if (e.node == a_node && e.counter <= WRITE_COUNTER(a->w))
            continue;
        uint32_t lo = 0, hi = a->past.n;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (a->past.e[mid].node < e.node)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == a->past.n || a->past.e[lo].node != e.node || a->past.e[lo].counter < e.counter)
            return false;
    }
    return true;
}

/*
 * The closure from the one shown before, for a view that differs from it by a few writes (a field
 * overwritten, an event added): the old closure joined with every added write's. That is the
 * closure made from scratch when every write the view no longer lists is dominated by an added one
 * (closure_dominates: the overwriting write had seen it); then only the writes that changed are
 * read, not every write of the view -- a log's events were a cache miss each, on every change of
 * the record. Returns false, with v's closure unset, when that does not hold or before's closure
 * may be stale (no state shown, or a past set again since).
 */
static bool view_close_from(session *s, session_view *v, const session_view *before, int record)
{
    if (!before->present || before->closure_pasts != s->h->records[record].pasts_set)
        return false;
    /* The added writes, then the removed ones, by set against the other view's. */
    shown_set_fill(s, before, true);
    size_t n_added = 0;
    for (uint32_t i = 0; i < v->n_writes + 2; i++) {
        write_id w = i == v->n_writes ? v->record_w : i == v->n_writes + 1 ? v->delete_w : v->writes[i];
        const write_rec *wr = shown_set_has(s, w) ? NULL : known(s, w, record);
        if (wr) {
            xgrow(&s->candidates, &s->cap_candidates, n_added + 1, sizeof *s->candidates);
            s->candidates[n_added++] = wr;
        }
    }
    shown_set_fill(s, v, true);
    for (uint32_t i = 0; i < before->n_writes + 2; i++) {
        write_id w = i == before->n_writes ? before->record_w : i == before->n_writes + 1 ? before->delete_w
                                                                                         : before->writes[i];
        const write_rec *r = shown_set_has(s, w) ? NULL : known(s, w, record);
        if (!r)
            continue;
        bool dominated = false;
        for (size_t k = 0; k < n_added && !dominated; k++)
            dominated = closure_dominates(s->candidates[k], r);
        if (!dominated)
            return false;
    }
    v->closure.n = 0;
    vclock_merge(&v->closure, &before->closure);
    for (size_t k = 0; k < n_added; k++) {
        const write_rec *a = s->candidates[k];
        vclock_merge(&v->closure, &a->past);
        vclock_raise(&v->closure, (uint32_t)WRITE_NODE(a->w), WRITE_COUNTER(a->w));
    }
    return true;
}

static void view_close(session *s, session_view *v, const session_view *before, int record)
{
    if (!view_close_from(s, v, before, record))
        view_close_whole(s, v, record);
    v->closure_pasts = s->h->records[record].pasts_set;
}

static void view_copy(session_view *dst, const session_view *src)
{
    dst->present = src->present;
    dst->deleted = src->deleted;
    dst->record_w = src->record_w;
    dst->delete_w = src->delete_w;
    dst->n_writes = 0;
    for (uint32_t i = 0; i < src->n_writes; i++)
        view_add(dst, src->writes[i]);
    dst->closure.n = 0;
    vclock_merge(&dst->closure, &src->closure);
    dst->closure_pasts = src->closure_pasts;
}

/* a <= b entry by entry, and a != b. */
static bool vclock_strictly_below(const vclock *a, const vclock *b)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (a->e[i].counter > vclock_get(b, a->e[i].node))
            return false;
    for (uint32_t i = 0; i < b->n; i++)
        if (b->e[i].counter > vclock_get(a, b->e[i].node))
            return true;
    return false;
}

/* --- slots ------------------------------------------------------------------- */

static session_slot *slot_of(session *s, int node, int record)
{
    uint64_t key = ((uint64_t)(uint32_t)node << 32) | (uint32_t)record;
    int i = u64map_get(&s->slot_index, key);
    if (i < 0) {
        xgrow(&s->slots, &s->cap_slots, s->n_slots + 1, sizeof *s->slots);
        session_slot *slot = &s->slots[s->n_slots];
        memset(slot, 0, sizeof *slot);
        slot->node = node;
        slot->record = record;
        i = (int)s->n_slots++;
        u64map_put(&s->slot_index, key, i);
    }
    return &s->slots[i];
}

static const session_slot *find_slot(const session *s, int node, int record)
{
    uint64_t key = ((uint64_t)(uint32_t)node << 32) | (uint32_t)record;
    int i = u64map_get(&s->slot_index, key);
    return i >= 0 ? &s->slots[i] : NULL;
}

void session_init(session *s, const history *h, const profile *prof)
{
    memset(s, 0, sizeof *s);
    s->h = h;
    s->prof = prof;
    u64map_init(&s->slot_index);
    u64map_init(&s->depends);
    u64map_init(&s->dep_by_parent);
    u64map_init(&s->cascade_index);
}

void session_free(session *s)
{
    for (size_t i = 0; i < s->n_slots; i++) {
        view_free(&s->slots[i].shown);
        view_free(&s->slots[i].pending);
        vclock_free(&s->slots[i].mr_reference);
    }
    xfree(s->close_counter);
    vclock_free(&s->order_pasts);
    xfree(s->close_present);
    xfree(s->close_nodes);
    for (size_t i = 0; i < s->n_recs; i++) {
        xfree(s->recs[i].appends);
        xfree(s->recs[i].deletes);
        xfree(s->recs[i].appends_before);
        u64map_free(&s->recs[i].append_set);
        xfree(s->recs[i].creates);
    }
    xfree(s->recs);
    xfree(s->cv_open);
    xfree(s->candidates);
    xfree(s->shown_set);
    xfree(s->slots);
    xfree(s->dirty);
    xfree(s->episodes);
    xfree(s->dep_parent);
    xfree(s->dep_write);
    xfree(s->dep_child);
    xfree(s->dep_next);
    xfree(s->cascade_delete);
    xfree(s->cascade_child);
    u64map_free(&s->slot_index);
    u64map_free(&s->depends);
    u64map_free(&s->dep_by_parent);
    u64map_free(&s->cascade_index);
    memset(s, 0, sizeof *s);
}

/* --- feeding --------------------------------------------------------------------- */

/*
 * Device `node` deletes a parent (d): for each child that depends on the parent (a reference written
 * while its writer showed the parent), note the latest delete of that child the device had seen --
 * its own, or one its shown state of the child reflects. A device that shows d has seen that delete
 * too, or shows a cascade half arrived. Cost: the references to the parent times the child's deletes.
 */
static void note_cascade(session *s, int node, const write_rec *d)
{
    size_t first = s->n_cascades;
    for (int i = u64map_get(&s->dep_by_parent, d->record); i >= 0; i = s->dep_next[i]) {
        int child = s->dep_child[i];
        if ((size_t)child >= s->n_recs)
            continue;
        bool noted = false;
        for (size_t k = first; k < s->n_cascades && !noted; k++)
            noted = history_write(s->h, s->cascade_child[k])->record == child;
        const session_slot *cs = find_slot(s, node, child);
        const session_rec *rec = &s->recs[child];
        write_id x = WRITE_NONE;
        for (uint32_t k = rec->n_deletes; k-- > 0 && !noted && !x;)
            if (WRITE_NODE(rec->deletes[k]) == node || (cs && covers(&cs->shown.closure, rec->deletes[k])))
                x = rec->deletes[k];
        if (!x)
            continue;
        if (s->n_cascades == s->cap_cascades) {
            s->cap_cascades = s->cap_cascades ? s->cap_cascades * 2 : 8;
            s->cascade_delete = xrealloc(s->cascade_delete, s->cap_cascades * sizeof *s->cascade_delete);
            s->cascade_child = xrealloc(s->cascade_child, s->cap_cascades * sizeof *s->cascade_child);
        }
        s->cascade_delete[s->n_cascades] = d->w;
        s->cascade_child[s->n_cascades] = x;
        s->n_cascades++;
    }
    if (s->n_cascades > first)
        u64map_put(&s->cascade_index, d->w, (int)first);
}

void session_write(session *s, int node, write_id w)
{
    const write_rec *wr = history_write(s->h, w);
    assert(wr && wr->node == node);
    if (!wr->accepted)
        return;
    session_slot *slot = slot_of(s, node, wr->record);
    if (wr->op == OP_RESOLVE) {
        slot->own_resolved = w;   /* a decision about writes, never shown as a value itself */
        return;
    }
    slot->own_last = w;
    if (wr->op == OP_APPEND || wr->op == OP_DELETE || wr->op == OP_CREATE) {
        if ((size_t)wr->record >= s->n_recs) {
            size_t old = s->n_recs;
            xgrow(&s->recs, &s->cap_recs, (size_t)wr->record + 1, sizeof *s->recs);
            memset(&s->recs[old], 0, (s->cap_recs - old) * sizeof *s->recs);
            s->n_recs = s->cap_recs;
        }
        session_rec *rec = &s->recs[wr->record];
        write_id **list = wr->op == OP_APPEND ? &rec->appends : wr->op == OP_DELETE ? &rec->deletes : &rec->creates;
        uint32_t *n = wr->op == OP_APPEND ? &rec->n_appends : wr->op == OP_DELETE ? &rec->n_deletes : &rec->n_creates;
        *list = xrealloc(*list, (*n + 1) * sizeof **list);
        (*list)[*n] = w;
        if (wr->op == OP_APPEND)
            u64map_put(&rec->append_set, w, (int)*n);
        if (wr->op == OP_DELETE) {
            rec->appends_before = xrealloc(rec->appends_before, (*n + 1) * sizeof *rec->appends_before);
            rec->appends_before[*n] = rec->n_appends;
        }
        (*n)++;
    }
    if (wr->op == OP_DELETE)
        note_cascade(s, node, wr);
    if (wr->op != OP_CREATE && wr->op != OP_UPDATE)
        return;
    /* A reference the writer set while it showed the parent live: whoever shows the child depends on it. */
    const hist_record *hr = &s->h->records[wr->record];
    const entity_rules *rules = profile_rules(s->prof, hr->type);
    for (int k = 0; k < rules->n_refs; k++) {
        for (int f = 0; f < wr->n_fields; f++) {
            const op_field *field = &wr->fields[f];
            if (strcmp(field->name, rules->refs[k].field) != 0 || field->v.kind != VAL_STRING || !*field->v.s)
                continue;
            int parent = history_find_record(s->h, rules->refs[k].type, field->v.s);
            const session_slot *ps = parent >= 0 ? find_slot(s, node, parent) : NULL;
            if (!ps || !ps->shown.present || ps->shown.deleted)
                continue;   /* the writer itself named a parent it did not show: dangling-ref's business */
            xgrow(&s->dep_parent, &s->cap_deps, s->n_deps + 1, sizeof *s->dep_parent);
            size_t cap = s->cap_deps;
            s->dep_write = xrealloc(s->dep_write, cap * sizeof *s->dep_write);
            s->dep_child = xrealloc(s->dep_child, cap * sizeof *s->dep_child);
            s->dep_next = xrealloc(s->dep_next, cap * sizeof *s->dep_next);
            s->dep_parent[s->n_deps] = parent;
            s->dep_write[s->n_deps] = ps->shown.record_w;
            s->dep_child[s->n_deps] = wr->record;
            s->dep_next[s->n_deps] = u64map_get(&s->dep_by_parent, (uint64_t)parent);
            u64map_put(&s->depends, w, (int)s->n_deps);
            u64map_put(&s->dep_by_parent, (uint64_t)parent, (int)s->n_deps);
            s->n_deps++;
        }
    }
}

void session_observe(session *s, int node, const char *type, const char *id, bool present, bool deleted,
                     write_id record_w, write_id delete_w, const write_id *writes, int n_writes)
{
    /* The world reports a record to the history just before: its record is the likely one. */
    int hint = s->h->observed_record;
    int record = history_record_is(s->h, hint, type, id) ? hint : history_find_record(s->h, type, id);
    if (record < 0)
        return;   /* a record no user write ever touched (seeded server data): nothing to judge */
    session_slot *slot = slot_of(s, node, record);
    if (!slot->dirty) {
        slot->dirty = true;
        xgrow(&s->dirty, &s->cap_dirty, s->n_dirty + 1, sizeof *s->dirty);
        s->dirty[s->n_dirty++] = (int)(slot - s->slots);
    }
    session_view *v = &slot->pending;
    v->present = present;
    v->deleted = deleted;
    v->record_w = record_w;
    v->delete_w = delete_w;
    v->n_writes = 0;
    for (int i = 0; i < n_writes; i++)
        view_add(v, writes[i]);
}

/* --- episodes ------------------------------------------------------------------ */

static void episode_close(session *s, session_slot *slot, int kind, int64_t end_us, bool open)
{
    session_episode e = slot->open[kind];
    slot->is_open[kind] = false;
    e.end_us = end_us;
    e.open = open;
    /* A missing write the server refused, or its device dropped or lost unacknowledged, in the end was
     * never going to stand. */
    if (kind == EP_RYW || kind == EP_MR) {
        const write_rec *wr = history_write(s->h, e.missing);
        if (wr && withdrawn(wr))
            return;
    }
    s->counts[e.cls]++;
    s->visible_us[e.cls] += e.end_us - e.start_us;
    if (s->n_episodes < SESSION_EPISODES_MAX) {
        xgrow(&s->episodes, &s->cap_episodes, s->n_episodes + 1, sizeof *s->episodes);
        s->episodes[s->n_episodes++] = e;
    }
}

/* Open an episode of this kind unless one is open already; before is the state shown until now. */
static void episode_open(session *s, session_slot *slot, int kind, const session_view *before,
                         const session_view *after, write_id missing, write_id shown, int other_record)
{
    if (slot->is_open[kind])
        return;
    slot->is_open[kind] = true;
    slot->open[kind] = (session_episode){
        .cls = EP_CLASS[kind],
        .node = slot->node,
        .record = slot->record,
        .other_record = other_record,
        .start_us = s->now_us,
        .missing = missing,
        .shown = shown,
        .before_w = before->record_w,
        .before_present = before->present,
        .before_deleted = before->deleted,
        .after_w = after->record_w,
        .after_present = after->present,
        .after_deleted = after->deleted,
    };
}

static void episode_end(session *s, session_slot *slot, int kind)
{
    if (slot->is_open[kind])
        episode_close(s, slot, kind, s->now_us, false);
}

/* --- the four checks ---------------------------------------------------------- */

static bool writes_field(const write_rec *wr, const char *name)
{
    for (int i = 0; i < wr->n_fields; i++)
        if (strcmp(wr->fields[i].name, name) == 0)
            return true;
    return false;
}

/* Does x, concurrent with own, take own's place by the design's rules: a delete on either side, a
 * field both wrote, a whole-record winner under record grain, or -- own an append -- a re-create
 * whose incarnation won the record (the state shows it) with its own log? */
static bool beats(const session *s, const session_view *v, const write_rec *x, const write_rec *own)
{
    if (history_relation(s->h, x->w, own->w) != CAUSAL_CONCURRENT)
        return false;
    if (x->op == OP_DELETE || own->op == OP_DELETE)
        return true;
    if (history_recreate_beats_append(s->h, x, own))
        return true;
    const hist_record *hr = &s->h->records[own->record];
    if (x->w == v->record_w && profile_rules(s->prof, hr->type)->grain == GRAIN_RECORD)
        return true;
    for (int i = 0; i < own->n_fields; i++)
        if (writes_field(x, own->fields[i].name))
            return true;
    return false;
}

/*
 * A delete or create of the record in the view's causal past but not listed in it (its fields
 * overwritten since) that beats own: a concurrent delete, or for an append a concurrent re-create.
 * Cost: the record's deletes and creates.
 */
static bool beaten_in_past(const session *s, const session_slot *slot, const session_view *v, const write_rec *own)
{
    if ((size_t)slot->record >= s->n_recs)
        return false;
    const session_rec *rec = &s->recs[slot->record];
    for (uint32_t k = 0; k < rec->n_deletes + rec->n_creates; k++) {
        write_id w = k < rec->n_deletes ? rec->deletes[k] : rec->creates[k - rec->n_deletes];
        const write_rec *x = covers(&v->closure, w) ? known(s, w, slot->record) : NULL;
        if (x && beats(s, v, x, own))
            return true;
    }
    return false;
}

/* The device's own write shown before and missing now, with nothing that follows or beats it -- in the
 * state or in its causal past: or WRITE_NONE. */
static write_id ryw_missing(const session *s, const session_slot *slot, const session_view *v)
{
    const write_rec *own = known(s, slot->own_shown, slot->record);
    if (!own || withdrawn(own) || settled_against(s, own) || covers(&v->closure, own->w))
        return WRITE_NONE;
    /* The user resolved a conflict on the record since: what it shows is their pick (keeping the
     * other side is the user's choice, not the design's). */
    if (slot->own_resolved && WRITE_COUNTER(slot->own_resolved) > WRITE_COUNTER(own->w))
        return WRITE_NONE;
    for (uint32_t i = 0; i < v->n_writes + 2; i++) {
        write_id w = i == v->n_writes ? v->record_w : i == v->n_writes + 1 ? v->delete_w : v->writes[i];
        const write_rec *x = known(s, w, slot->record);
        if (x && beats(s, v, x, own))
            return WRITE_NONE;
    }
    if (beaten_in_past(s, slot, v, own))
        return WRITE_NONE;
    return own->w;
}

/* A write of the state shown before that the new state has not seen, and that stands: or WRITE_NONE. */
static write_id first_unseen(const session *s, const session_view *before, const vclock *now, int record)
{
    for (uint32_t i = 0; i < before->n_writes + 2; i++) {
        write_id w = i == before->n_writes ? before->record_w : i == before->n_writes + 1 ? before->delete_w
                                                                                          : before->writes[i];
        const write_rec *wr = known(s, w, record);
        if (wr && !withdrawn(wr) && !settled_against(s, wr) && !covers(now, wr->w))
            return wr->w;
    }
    return WRITE_NONE;
}

/* The write that provides field `name` in the view: among the writes that set it, one no other follows. */
static const write_rec *field_provider(const session *s, const session_view *v, int record, const char *name)
{
    const write_rec *best = NULL;
    for (uint32_t i = 0; i < v->n_writes; i++) {
        const write_rec *wr = known(s, v->writes[i], record);
        if (!wr || (wr->op != OP_CREATE && wr->op != OP_UPDATE) || !writes_field(wr, name))
            continue;
        if (!best || history_relation(s->h, wr->w, best->w) == CAUSAL_AFTER)
            best = wr;
    }
    return best;
}

/*
 * The parent a device shows deleted by d, with the child live (v): the write the child depends on that
 * the device lacks, or WRITE_NONE. Either the parent state the child's writer showed (dep_w), when d
 * is older than it (a re-create the device lacks), or a delete of the child that d's writer had seen
 * (*shown = d: a cascade half arrived). A delete concurrent with the child's reference, or one whose
 * writer left the child live, is the state the deleter made: a dangling reference, not a gap; so is a
 * cascade whose child delete lost to a concurrent edit on the server (lost_on_server).
 */
/*
 * A child's delete the server processed and that did not stand: it never deleted the server's copy (a
 * concurrent edit beat it on arrival) or a concurrent edit brought the child back. The child lives on
 * the server too, so a device showing it live under its deleted parent shows the conflict's outcome,
 * not half a cascade (dangling-ref judges the reference at the end).
 */
static bool lost_on_server(const session *s, const write_rec *x)
{
    if (x->received == 0)
        return false;   /* in flight, or never sent: the device's state is the gap */
    if (!x->took_effect)
        return true;
    return x->revived_by != WRITE_NONE && history_relation(s->h, x->revived_by, x->w) == CAUSAL_CONCURRENT;
}

static write_id deleted_parent_gap(const session *s, int child, const session_view *v, const session_view *pv,
                                   int parent, write_id dep_w, write_id *shown)
{
    const write_rec *d = known(s, pv->delete_w, parent);
    if (!d)
        return WRITE_NONE;
    if (known(s, dep_w, parent) && !covers(&pv->closure, dep_w) &&
        history_relation(s->h, d->w, dep_w) == CAUSAL_BEFORE)
        return dep_w;
    int first = u64map_get(&s->cascade_index, d->w);
    for (size_t k = first < 0 ? s->n_cascades : (size_t)first; k < s->n_cascades && s->cascade_delete[k] == d->w;
         k++) {
        const write_rec *x = history_write(s->h, s->cascade_child[k]);
        if (x->record == child && !withdrawn(x) && !x->power_lost && !covers(&v->closure, x->w) &&
            !lost_on_server(s, x)) {
            *shown = d->w;
            return x->w;
        }
    }
    return WRITE_NONE;
}

/*
 * A reference in the view whose parent the device does not show live, though its writer showed it:
 * absent, or deleted with a gap (deleted_parent_gap). *missing is the write the device lacks,
 * *shown the write that shows without it.
 */
static bool missing_parent(const session *s, const session_slot *slot, const session_view *v, write_id *child_w,
                           int *parent, write_id *missing, write_id *shown)
{
    if (!v->present || v->deleted)
        return false;
    const hist_record *hr = &s->h->records[slot->record];
    const entity_rules *rules = profile_rules(s->prof, hr->type);
    for (int k = 0; k < rules->n_refs; k++) {
        const write_rec *wr = field_provider(s, v, slot->record, rules->refs[k].field);
        int dep = wr ? u64map_get(&s->depends, wr->w) : -1;
        if (dep < 0)
            continue;
        const session_slot *ps = find_slot(s, slot->node, s->dep_parent[dep]);
        write_id gap = s->dep_write[dep];
        *shown = wr->w;
        if (ps && ps->shown.present && !ps->shown.deleted)
            continue;
        if (ps && ps->shown.present)
            gap = deleted_parent_gap(s, slot->record, v, &ps->shown, s->dep_parent[dep], s->dep_write[dep], shown);
        if (!gap)
            continue;
        /* A parent state a power loss took from the child's device: the child, which survived it,
         * was written after it, whatever the device last showed (the final state judges the loss). */
        const write_rec *g = history_write(s->h, gap);
        if (g && g->power_lost)
            continue;
        *child_w = wr->w;
        *parent = s->dep_parent[dep];
        *missing = gap;
        return true;
    }
    return false;
}

/*
 * An append the log's events causally depend on, missing from the log: or
 * WRITE_NONE. *dependent is the event that had seen it. A predecessor that a
 * delete the state has seen came after, or beat concurrently, is gone by that delete, not missing.
 * Cost: events shown times the record's appends.
 *
 * What the search below asks of each (event, append) pair splits in two: whether the append could
 * be missing at all -- it stands, the view does not show it, no delete the view has seen came after
 * it -- depends on the append alone, so it is asked once per append, not once per pair. What is
 * left per pair is a vector-clock read. The answer is the same pair a search of every pair in the
 * same order finds; a log of n events cost n^2 history look-ups and n^3 list scans before.
 */
static write_id missing_predecessor(session *s, const session_slot *slot, const session_view *v,
                                    write_id *dependent)
{
    if (!v->present || v->deleted || (size_t)slot->record >= s->n_recs)
        return WRITE_NONE;
    const session_rec *rec = &s->recs[slot->record];
    if (rec->n_appends == 0)
        return WRITE_NONE;
    shown_set_fill(s, v, false);
    /* An append made before a delete the view has seen is gone by that delete (the test below finds
     * deleted_since for it): a write's past holds only writes made before it, so the append cannot
     * follow the delete. Those appends are passed over without reading their write records -- a
     * record deleted and created again keeps its dead incarnations' appends in rec->appends, and
     * reading them made every settle cost in proportion to the record's whole history. */
    uint32_t first_live = 0;
    for (uint32_t q = 0; q < rec->n_deletes; q++)
        if (rec->appends_before[q] > first_live && covers(&v->closure, rec->deletes[q]))
            first_live = rec->appends_before[q];
    xgrow(&s->candidates, &s->cap_candidates, rec->n_appends, sizeof *s->candidates);
    size_t n_candidates = 0;
    for (uint32_t k = first_live; k < rec->n_appends; k++) {
        /* One the view shows is not missing: asked first, of the id alone, since a log shows most of
         * its record's appends and the write's own record is a cache miss away (the tests below
         * have no side effects, so their order does not change which appends are candidates). */
        write_id a = rec->appends[k];
        if (shown_set_has(s, a))
            continue;
        const write_rec *f = history_write(s->h, a);
        /* A predecessor the server already settled against is lost, not late: the final state's
         * classes judge it. So is one a power loss took from its device (undelivered): an event
         * its device appended afterwards counts it in its past but was not made on it. */
        if (withdrawn(f) || f->power_lost || settled_against(s, f))
            continue;
        bool deleted_since = false;
        for (uint32_t q = 0; q < rec->n_deletes && !deleted_since; q++)
            deleted_since = covers(&v->closure, rec->deletes[q]) &&
                            history_relation(s->h, rec->deletes[q], f->w) != CAUSAL_BEFORE;
        /* Nor is one a re-create of the record concurrent with it beat, when the view descends from
         * that re-create: the design kept the other incarnation, and the event went with its own (the
         * final state calls it overwritten-concurrent; read-your-writes excuses it the same way). */
        bool recreated_since = false;
        for (uint32_t q = 0; q < rec->n_creates && !deleted_since && !recreated_since; q++) {
            const write_rec *x = covers(&v->closure, rec->creates[q]) ? known(s, rec->creates[q], slot->record) : NULL;
            recreated_since = x && history_recreate_beats_append(s->h, x, f);
        }
        if (!deleted_since && !recreated_since)
            s->candidates[n_candidates++] = f;
    }
    for (uint32_t i = 0; i < v->n_writes && n_candidates; i++) {
        const write_rec *e = known(s, v->writes[i], slot->record);
        if (!e || e->op != OP_APPEND)
            continue;
        for (size_t k = 0; k < n_candidates; k++) {
            const write_rec *f = s->candidates[k];
            if (f->w == e->w || !covers(&e->past, f->w))
                continue;
            /* Its device's store was wiped between the two: the later event counts it only through the
             * per-writer counter, and was not made on it (docs/lifecycle.md). */
            if (f->node == e->node && f->wipes < e->wipes)
                continue;
            *dependent = e->w;
            return f->w;
        }
    }
    return WRITE_NONE;
}

/* The next append of the record in v's writes from *i on (advancing *i past it), or WRITE_NONE. */
static write_id next_append(const session_rec *rec, const session_view *v, uint32_t *i)
{
    while (*i < v->n_writes) {
        write_id w = v->writes[(*i)++];
        if (u64map_get(&rec->append_set, w) >= 0)
            return w;
    }
    return WRITE_NONE;
}

/* a and b show the same events of the record in the same order (fields and last writers aside). */
static bool same_events(const session *s, int record, const session_view *a, const session_view *b)
{
    if ((size_t)record >= s->n_recs)
        return true;   /* no appends to the record at all */
    const session_rec *rec = &s->recs[record];
    uint32_t i = 0, k = 0;
    for (;;) {
        write_id x = next_append(rec, a, &i), y = next_append(rec, b, &k);
        if (x != y)
            return false;
        if (x == WRITE_NONE)
            return true;
    }
}

/* Two events of the log in an order that contradicts causality: *first is placed before *earlier, which it follows. */
static bool order_inverted_search(session *s, const session_slot *slot, const session_view *v, write_id *first,
                                  write_id *earlier)
{
    /* The events' write records, each looked up once: the pairs below are up to n^2 / 2 relations, and
     * a relation of two looked-up writes is two vector-clock reads. */
    const write_rec *events[SESSION_ORDER_PAIRS_MAX];
    int n = 0;
    bool long_log = false;
    const write_rec *previous = NULL;
    for (uint32_t i = 0; i < v->n_writes; i++) {
        const write_rec *e = known(s, v->writes[i], slot->record);
        if (!e || e->op != OP_APPEND)
            continue;
        if (previous && history_relation_of(previous, e) == CAUSAL_AFTER) {
            *first = previous->w;
            *earlier = e->w;
            return true;
        }
        previous = e;
        if (n < SESSION_ORDER_PAIRS_MAX)
            events[n++] = e;
        else
            long_log = true;
    }
    if (long_log)
        return false;   /* beyond the bound, adjacent pairs only (above) */
    /* Events i < j are inverted only if j is in i's past, so only if j is covered by the join of the
     * pasts of the events before it: one vclock read and merge per event tells whether the pairs
     * below can find anything (they find the same first pair they always did, when they run). */
    vclock *before = &s->order_pasts;
    before->n = 0;
    bool maybe = false;
    for (int j = 0; j < n && !maybe; j++) {
        maybe = vclock_get(before, (uint32_t)WRITE_NODE(events[j]->w)) >= WRITE_COUNTER(events[j]->w);
        vclock_merge(before, &events[j]->past);
    }
    if (!maybe)
        return false;
    for (int i = 0; i < n; i++)
        for (int j = i + 2; j < n; j++)
            if (history_relation_of(events[i], events[j]) == CAUSAL_AFTER) {
                *first = events[i]->w;
                *earlier = events[j]->w;
                return true;
            }
    return false;
}

/*
 * Two events of the log in an order that contradicts causality. The answer depends only on the
 * events in order and their pasts, so a log that found none and comes back with the same events (a
 * field of the record changed) is not searched again: that skips reading every event's write record
 * on most changes of a record with a long log.
 */
static bool order_inverted(session *s, session_slot *slot, const session_view *before, const session_view *v,
                           write_id *first, write_id *earlier)
{
    if (!v->present || v->deleted) {
        slot->order_clean = false;
        return false;
    }
    uint32_t pasts = s->h->records[slot->record].pasts_set;
    if (slot->order_clean && slot->order_pasts == pasts && same_events(s, slot->record, before, v))
        return false;
    bool found = order_inverted_search(s, slot, v, first, earlier);
    slot->order_clean = !found;
    slot->order_pasts = pasts;
    return found;
}

/* The device's user resolved a conflict on the record in this very event: the change is their pick. */
static bool resolved_now(const session *s, const session_slot *slot)
{
    const write_rec *r = slot->own_resolved ? history_write(s->h, slot->own_resolved) : NULL;
    return r && r->true_us == s->now_us;
}

/* Judge one slot's new state against what it showed before, and keep it as shown. */
static void settle_slot(session *s, session_slot *slot)
{
    session_view *before = &slot->shown;
    session_view *now = &slot->pending;
    view_close(s, now, before, slot->record);
    bool device = slot->node != NODE_SERVER;

    if (device) {
        write_id missing = ryw_missing(s, slot, now);
        if (missing)
            episode_open(s, slot, EP_RYW, before, now, missing, now->record_w, -1);
        else
            episode_end(s, slot, EP_RYW);

        if (slot->is_open[EP_MR]) {
            const write_rec *m = history_write(s->h, slot->open[EP_MR].missing);
            if (!m || covers(&now->closure, m->w) || !vclock_strictly_below(&now->closure, &slot->mr_reference))
                episode_end(s, slot, EP_MR);
        } else if (!missing && before->present && !resolved_now(s, slot) &&
                   vclock_strictly_below(&now->closure, &before->closure)) {
            write_id unseen = first_unseen(s, before, &now->closure, slot->record);
            if (unseen) {
                episode_open(s, slot, EP_MR, before, now, unseen, now->record_w, -1);
                slot->mr_reference.n = 0;
                vclock_merge(&slot->mr_reference, &before->closure);
            }
        }

        write_id first = WRITE_NONE, earlier = WRITE_NONE;
        if (order_inverted(s, slot, before, now, &first, &earlier))
            episode_open(s, slot, EP_ORDER, before, now, earlier, first, -1);
        else
            episode_end(s, slot, EP_ORDER);
    }

    slot->previous = (session_view){ .present = before->present, .deleted = before->deleted,
                                     .record_w = before->record_w };
    view_copy(before, now);
    const write_rec *own = known(s, slot->own_last, slot->record);
    if (own && covers(&before->closure, own->w))
        slot->own_shown = own->w;
}

/*
 * Causal visibility, once every slot the event touched shows its new state:
 * a parent and its child applied in one event are judged together.
 */
static void settle_visibility(session *s, session_slot *slot)
{
    const session_view *before = &slot->previous;
    const session_view *now = &slot->shown;
    write_id child_w = WRITE_NONE, dependent = WRITE_NONE, missing = WRITE_NONE, shown = WRITE_NONE;
    int parent = -1;
    write_id predecessor = missing_predecessor(s, slot, now, &dependent);
    if (missing_parent(s, slot, now, &child_w, &parent, &missing, &shown)) {
        bool listed = false;
        for (size_t i = 0; i < s->n_cv_open && !listed; i++)
            listed = s->cv_open[i] == (int)(slot - s->slots);
        if (!listed) {
            xgrow(&s->cv_open, &s->cap_cv_open, s->n_cv_open + 1, sizeof *s->cv_open);
            s->cv_open[s->n_cv_open++] = (int)(slot - s->slots);
        }
        episode_open(s, slot, EP_CV, before, now, missing, shown, parent);
    } else if (predecessor) {
        episode_open(s, slot, EP_CV, before, now, predecessor, dependent, -1);
    } else {
        episode_end(s, slot, EP_CV);
    }
}

/*
 * A parent the event left deleted on the device: its children there that did not change in the
 * event are judged again (a child that changed was judged with the parent's new state already).
 * Cost: the references written to the parent.
 */
static void judge_children(session *s, const session_slot *parent_slot)
{
    for (int i = u64map_get(&s->dep_by_parent, (uint64_t)parent_slot->record); i >= 0; i = s->dep_next[i]) {
        const session_slot *found = find_slot(s, parent_slot->node, s->dep_child[i]);
        if (!found)
            continue;
        session_slot *slot = &s->slots[found - s->slots];
        write_id child_w, missing, shown;
        int parent;
        if (slot->dirty || slot->is_open[EP_CV] || !missing_parent(s, slot, &slot->shown, &child_w, &parent, &missing,
                                                                  &shown))
            continue;
        xgrow(&s->cv_open, &s->cap_cv_open, s->n_cv_open + 1, sizeof *s->cv_open);
        s->cv_open[s->n_cv_open++] = (int)(slot - s->slots);
        episode_open(s, slot, EP_CV, &slot->shown, &slot->shown, missing, shown, parent);
    }
}

/* A child's missing parent may have arrived in another slot: re-judge the open causal-visibility
 * episodes of references (a short list: those open now). */
static void recheck_parents(session *s)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n_cv_open; i++) {
        session_slot *slot = &s->slots[s->cv_open[i]];
        write_id child_w, missing, shown;
        int parent;
        if (slot->is_open[EP_CV] && slot->open[EP_CV].other_record >= 0 &&
            missing_parent(s, slot, &slot->shown, &child_w, &parent, &missing, &shown))
            s->cv_open[kept++] = s->cv_open[i];
        else
            episode_end(s, slot, EP_CV);
    }
    s->n_cv_open = kept;
}

void session_settle(session *s, int64_t now_us)
{
    if (s->n_dirty == 0)
        return;
    s->now_us = now_us;
    for (size_t i = 0; i < s->n_dirty; i++)
        settle_slot(s, &s->slots[s->dirty[i]]);
    for (size_t i = 0; i < s->n_dirty; i++) {
        session_slot *slot = &s->slots[s->dirty[i]];
        if (slot->node != NODE_SERVER)
            settle_visibility(s, slot);
    }
    for (size_t i = 0; i < s->n_dirty; i++) {
        session_slot *slot = &s->slots[s->dirty[i]];
        if (slot->node != NODE_SERVER && slot->shown.present && slot->shown.deleted)
            judge_children(s, slot);
    }
    for (size_t i = 0; i < s->n_dirty; i++)
        s->slots[s->dirty[i]].dirty = false;
    s->n_dirty = 0;
    if (s->n_cv_open)
        recheck_parents(s);
}

const vclock *session_shown_closure(const session *s, int node, int record)
{
    const session_slot *slot = find_slot(s, node, record);
    return slot ? &slot->shown.closure : NULL;
}

void session_finish(session *s, int64_t end_us)
{
    session_settle(s, end_us);
    s->now_us = end_us;
    for (size_t i = 0; i < s->n_slots; i++)
        for (int kind = 0; kind < EP_KINDS; kind++)
            if (s->slots[i].is_open[kind])
                episode_close(s, &s->slots[i], kind, end_us, true);
}

bool session_conflict_is_true(const session *s, write_id winner, write_id loser)
{
    const write_rec *a = winner ? history_write(s->h, winner) : NULL;
    const write_rec *b = loser ? history_write(s->h, loser) : NULL;
    if (!a || !b || !a->accepted || !b->accepted || a->record != b->record)
        return true;   /* nothing to judge it by: the replica's word stands */
    if (history_relation(s->h, a->w, b->w) != CAUSAL_CONCURRENT)
        return false;
    if (a->op == OP_DELETE || b->op == OP_DELETE)
        return true;
    /* Under record grain the record is the unit a design keeps or drops whole: concurrent writes
     * of different fields collide for real (the loser's fields go with its version). */
    if (profile_rules(s->prof, s->h->records[a->record].type)->grain == GRAIN_RECORD)
        return true;
    for (int i = 0; i < a->n_fields; i++)
        if (writes_field(b, a->fields[i].name))
            return true;
    return false;
}

static void view_empty(session_view *v)
{
    v->present = false;
    v->deleted = false;
    v->record_w = WRITE_NONE;
    v->delete_w = WRITE_NONE;
    v->n_writes = 0;
    v->closure.n = 0;
}

void session_forget(session *s, int node, int64_t now_us)
{
    session_settle(s, now_us);
    s->now_us = now_us;
    for (size_t i = 0; i < s->n_slots; i++) {
        session_slot *slot = &s->slots[i];
        if (slot->node != node)
            continue;
        for (int kind = 0; kind < EP_KINDS; kind++)
            episode_end(s, slot, kind);
        view_empty(&slot->shown);
        view_empty(&slot->previous);
        slot->mr_reference.n = 0;
        slot->order_clean = false;
        slot->own_last = slot->own_shown = slot->own_resolved = WRITE_NONE;
    }
}
