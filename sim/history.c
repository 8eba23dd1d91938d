/*
 * history: writes, causal pasts and views. See history.h.
 */
#include "sim/history.h"
#include "base/xalloc.h"

#include <assert.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

uint32_t vclock_get(const vclock *vc, uint32_t node)
{
    uint32_t lo = 0, hi = vc->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (vc->e[mid].node < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < vc->n && vc->e[lo].node == node ? vc->e[lo].counter : 0;
}

void vclock_raise(vclock *vc, uint32_t node, uint32_t counter)
{
    uint32_t lo = 0, hi = vc->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (vc->e[mid].node < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < vc->n && vc->e[lo].node == node) {
        if (vc->e[lo].counter < counter)
            vc->e[lo].counter = counter;
        return;
    }
    if (vc->n == vc->cap) {
        vc->cap = vc->cap ? vc->cap * 2 : 4;
        vc->e = xrealloc(vc->e, vc->cap * sizeof *vc->e);
    }
    memmove(&vc->e[lo + 1], &vc->e[lo], (vc->n - lo) * sizeof *vc->e);
    vc->e[lo] = (vc_entry){ node, counter };
    vc->n++;
}

void vclock_reserve(vclock *vc, uint32_t n)
{
    if (vc->cap >= n)
        return;
    uint32_t cap = vc->cap ? vc->cap : 4;   /* the sizes vclock_raise's growth gives */
    while (cap < n)
        cap *= 2;
    vc->cap = cap;
    vc->e = xrealloc(vc->e, vc->cap * sizeof *vc->e);
}

/*
 * Both clocks are sorted by node, so one walk raises every entry dst already has; a source entry
 * dst lacks ends the walk and the rest go through vclock_raise (an insertion). An empty dst is a
 * copy. The result is vclock_raise of each source entry in turn, whatever the path. Cost: O(dst +
 * src) when dst has a node for every source entry (the usual case: the device had seen those
 * writers already).
 */
void vclock_merge(vclock *dst, const vclock *src)
{
    if (dst->n == 0 && src->n > 0 && dst != src) {   /* a copy */
        vclock_reserve(dst, src->n);
        memcpy(dst->e, src->e, src->n * sizeof *dst->e);
        dst->n = src->n;
        return;
    }
    uint32_t i = 0, k = 0;
    for (; k < src->n; k++) {
        while (i < dst->n && dst->e[i].node < src->e[k].node)
            i++;
        if (i == dst->n || dst->e[i].node != src->e[k].node)
            break;
        if (dst->e[i].counter < src->e[k].counter)
            dst->e[i].counter = src->e[k].counter;
    }
    for (; k < src->n; k++)
        vclock_raise(dst, src->e[k].node, src->e[k].counter);
}

void vclock_free(vclock *vc)
{
    xfree(vc->e);
    memset(vc, 0, sizeof *vc);
}

/* --- merge memos (history.h) --- */

static bool merge_memo_has(const merge_memo *m, uint32_t ordinal)
{
    return ordinal / 64 < m->n_words && (m->bits[ordinal / 64] >> (ordinal % 64) & 1);
}

static void merge_memo_set(merge_memo *m, uint32_t ordinal)
{
    if (ordinal / 64 >= m->n_words) {
        uint32_t n = m->n_words ? m->n_words : 1;
        while (n <= ordinal / 64)
            n *= 2;
        m->bits = xrealloc(m->bits, (size_t)n * sizeof *m->bits);
        memset(&m->bits[m->n_words], 0, (size_t)(n - m->n_words) * sizeof *m->bits);
        m->n_words = n;
    }
    m->bits[ordinal / 64] |= UINT64_C(1) << (ordinal % 64);
}

/* Every bit clear, the memory kept. */
static void merge_memo_reset(merge_memo *m)
{
    if (m->n_words)
        memset(m->bits, 0, m->n_words * sizeof *m->bits);
}

static void merge_memo_free(merge_memo *m)
{
    xfree(m->bits);
    memset(m, 0, sizeof *m);
}

static void merge_memo_clear(merge_memo *m, uint32_t ordinal)
{
    if (ordinal / 64 < m->n_words)
        m->bits[ordinal / 64] &= ~(UINT64_C(1) << (ordinal % 64));
}

void history_init(history *h)
{
    memset(h, 0, sizeof *h);
    arena_init(&h->a, 64 * 1024);
    u64map_init(&h->by_id);
    strmap_init(&h->record_index);
    u64map_init(&h->seen_index);
    h->observed_record = -1;
}

void history_free(history *h)
{
    for (size_t i = 0; i < h->n_records && i < h->cap_server; i++)
        xfree(h->server[i].ws);
    xfree(h->server);
    xfree(h->arrivals);
    for (size_t i = 0; i < h->n_writes; i++)
        vclock_free(&h->writes[i].past);
    for (size_t i = 0; i < h->n_seen; i++) {
        vclock_free(&h->seen[i]);
        merge_memo_free(&h->merged[i]);
    }
    xfree(h->merged);
    xfree(h->writes);
    xfree(h->hot);
    xfree(h->records);
    xfree(h->seen);
    xfree(h->wipes);
    xfree(h->users);
    for (size_t i = 0; i < h->cap_writers; i++)
        xfree(h->writers[i].at);
    xfree(h->writers);
    u64map_free(&h->by_id);
    strmap_free(&h->record_index);
    u64map_free(&h->seen_index);
    arena_release(&h->a);
}

/* Keys of this length or longer are never found (each history_record of one makes a new record). */
#define RECORD_KEY_MAX 512

int history_find_record(const history *h, const char *type, const char *id)
{
    /* The key "type/id", built by hand: snprintf cost more than the lookup itself, once per observation. */
    char key[RECORD_KEY_MAX];
    size_t n_type = strlen(type), n_id = strlen(id);
    if (n_type + 1 + n_id >= sizeof key)
        return -1;
    memcpy(key, type, n_type);
    key[n_type] = '/';
    memcpy(key + n_type + 1, id, n_id + 1);
    return strmap_get(&h->record_index, key);
}

bool history_record_is(const history *h, int record, const char *type, const char *id)
{
    if (record < 0 || (size_t)record >= h->n_records)
        return false;
    /* key == type "/" id, a byte at a time: keys are short, and three libc calls cost more. */
    const char *key = h->records[record].key;
    size_t n = 0;
    for (; *type; type++, key++, n++)
        if (*key != *type)
            return false;
    if (*key++ != '/')
        return false;
    for (n++; *id; id++, key++, n++)
        if (*key != *id)
            return false;
    /* Below the bound keys are unique (history_record puts a key once), so the map holds this index. */
    return *key == '\0' && n < RECORD_KEY_MAX;
}

int history_record(history *h, const char *type, const char *id)
{
    int found = history_find_record(h, type, id);
    if (found >= 0)
        return found;
    xgrow(&h->records, &h->cap_records, h->n_records + 1, sizeof *h->records);
    hist_record *r = &h->records[h->n_records];
    r->type = arena_strdup(&h->a, type);
    r->id = arena_strdup(&h->a, id);
    r->key = arena_printf(&h->a, "%s/%s", type, id);
    r->n_writes = 0;
    strmap_put(&h->record_index, r->key, (int)h->n_records);
    return (int)h->n_records++;
}

/* Writer nodes and counters the dense index takes: a counter may run this far past the end of the
 * writer's table, which at most doubles past it (a test's sparse counters stay in by_id alone). */
#define WRITER_INDEX_NODES 65536
#define WRITER_INDEX_SLACK 1024

static void index_write(history *h, write_id w, int index)
{
    u64map_put(&h->by_id, w, index);
    uint32_t node = (uint32_t)WRITE_NODE(w), counter = WRITE_COUNTER(w);
    if (node >= WRITER_INDEX_NODES)
        return;
    if (node >= h->cap_writers) {
        size_t old = h->cap_writers;
        xgrow(&h->writers, &h->cap_writers, (size_t)node + 1, sizeof *h->writers);
        memset(&h->writers[old], 0, (h->cap_writers - old) * sizeof *h->writers);
    }
    writer_index *wi = &h->writers[node];
    if (counter >= wi->n) {
        if ((uint64_t)counter >= 2 * (uint64_t)wi->n + WRITER_INDEX_SLACK)
            return;
        uint32_t n = wi->n ? wi->n : 64;
        while (n <= counter)
            n *= 2;
        wi->at = xrealloc(wi->at, (size_t)n * sizeof *wi->at);
        for (uint32_t i = wi->n; i < n; i++)
            wi->at[i] = -1;
        wi->n = n;
    }
    wi->at[counter] = index;
}

/* Index of w in h->writes, or -1: the dense index first, by_id for what it does not hold. */
static int write_index(const history *h, write_id w)
{
    uint32_t node = (uint32_t)WRITE_NODE(w), counter = WRITE_COUNTER(w);
    if (node < h->cap_writers && counter < h->writers[node].n) {
        int i = h->writers[node].at[counter];
        if (i >= 0)
            return i;
    }
    return u64map_get(&h->by_id, w);
}

/* The index of what node has seen of record in h->seen (and h->merged), made empty when new. */
static int seen_index_of(history *h, int node, int record)
{
    assert(node >= 0);   /* seen_nodes bounds history_set_past's walk over nodes */
    uint64_t key = ((uint64_t)(uint32_t)node << 32) | (uint32_t)record;
    int i = u64map_get(&h->seen_index, key);
    if (i < 0) {
        xgrow(&h->seen, &h->cap_seen, h->n_seen + 1, sizeof *h->seen);
        xgrow(&h->merged, &h->cap_merged, h->n_seen + 1, sizeof *h->merged);
        memset(&h->seen[h->n_seen], 0, sizeof *h->seen);
        memset(&h->merged[h->n_seen], 0, sizeof *h->merged);
        i = (int)h->n_seen++;
        u64map_put(&h->seen_index, key, i);
        if ((uint32_t)node >= h->seen_nodes)
            h->seen_nodes = (uint32_t)node + 1;
    }
    return i;
}

static vclock *seen_of(history *h, int node, int record)
{
    int i = seen_index_of(h, node, record);   /* first: it may move h->seen */
    return &h->seen[i];
}

int history_add_write(history *h, int node, write_id w, const user_op *op, int64_t true_us, int64_t local_us,
                      int64_t skew_us, bool online, int cut, int step)
{
    assert(write_index(h, w) < 0);
    int record = history_record(h, op->type, op->id);
    xgrow(&h->writes, &h->cap_writes, h->n_writes + 1, sizeof *h->writes);
    xgrow(&h->hot, &h->cap_hot, h->n_writes + 1, sizeof *h->hot);
    write_rec *wr = &h->writes[h->n_writes];
    memset(wr, 0, sizeof *wr);
    wr->w = w;
    wr->node = node;
    wr->record = record;
    wr->ordinal = h->records[record].n_writes++;
    h->hot[h->n_writes] = (write_hot){ .accepted_record = -1, .ordinal = wr->ordinal };
    wr->op = op->kind;
    wr->n_fields = op->n_fields;
    wr->fields = arena_alloc(&h->a, (size_t)(op->n_fields ? op->n_fields : 1) * sizeof *wr->fields);
    for (int i = 0; i < op->n_fields; i++) {
        wr->fields[i].name = arena_strdup(&h->a, op->fields[i].name);
        wr->fields[i].v = op->fields[i].v;
        if (op->fields[i].v.kind == VAL_STRING)
            wr->fields[i].v.s = arena_strdup(&h->a, op->fields[i].v.s);
    }
    wr->true_us = true_us;
    wr->local_us = local_us;
    wr->skew_us = skew_us;
    wr->online = online;
    wr->cut = cut;
    wr->step = step;
    vclock_merge(&wr->past, seen_of(h, node, record));
    wr->wipes = (size_t)node < h->cap_wipes ? h->wipes[node] : 0;
    wr->user = history_user(h, node, NULL);
    index_write(h, w, (int)h->n_writes);
    return (int)h->n_writes++;
}

void history_seen_now(history *h, int node, const char *type, const char *id, vclock *out)
{
    vclock_merge(out, seen_of(h, node, history_record(h, type, id)));
}

void history_set_past(history *h, int index, const vclock *past)
{
    write_rec *wr = &h->writes[index];
    wr->past.n = 0;
    vclock_merge(&wr->past, past);
    h->records[wr->record].pasts_set++;
    /* The merge memo's claim for this write was about its old past. Rare (a form's write), and a
     * look-up per node that may have seen the record. */
    for (uint32_t node = 0; node < h->seen_nodes; node++) {
        int i = u64map_get(&h->seen_index, ((uint64_t)node << 32) | (uint32_t)wr->record);
        if (i >= 0)
            merge_memo_clear(&h->merged[i], wr->ordinal);
    }
}

void history_conflict_lost(history *h, write_id loser, write_id winner)
{
    int i = write_index(h, loser);
    if (i >= 0 && winner != WRITE_NONE && h->writes[i].lost_to == WRITE_NONE)
        h->writes[i].lost_to = winner;
}

void history_write_done(history *h, int index, bool accepted, const char *refused)
{
    write_rec *wr = &h->writes[index];
    wr->accepted = accepted;
    h->hot[index].accepted_record = accepted ? wr->record : -1;
    wr->refused = refused ? arena_strdup(&h->a, refused) : NULL;
    /* A device has always seen its own write. */
    if (accepted)
        vclock_raise(seen_of(h, wr->node, wr->record), (uint32_t)WRITE_NODE(wr->w), WRITE_COUNTER(wr->w));
}

const write_rec *history_write(const history *h, write_id w)
{
    int i = write_index(h, w);
    return i >= 0 ? &h->writes[i] : NULL;
}

void history_observe(history *h, int node, const char *type, const char *id, const write_id *writes, int n_writes)
{
    int record = -1;
    vclock *seen = NULL;
    merge_memo *memo = NULL;
    for (int i = 0; i < n_writes; i++) {
        int index = writes[i] ? write_index(h, writes[i]) : -1;
        if (index < 0)
            continue;
        write_hot hot = h->hot[index];   /* the write_rec itself only for a merge */
        if (hot.accepted_record < 0)
            continue;
        if (record < 0) {
            /* Nearly always the write's own record: a string compare instead of a map look-up. */
            record = history_record_is(h, hot.accepted_record, type, id) ? hot.accepted_record
                                                                         : history_record(h, type, id);
            h->observed_record = record;
        }
        if (hot.accepted_record != record)
            continue;   /* provenance from another record cannot be causal here */
        if (!seen) {
            /* Grows h->seen and h->merged only, and nothing else grows them below. */
            int at = seen_index_of(h, node, record);
            seen = &h->seen[at];
            memo = &h->merged[at];
        }
        /* A replica shows its whole event log every time: most writes were merged here before. */
        if (merge_memo_has(memo, hot.ordinal)) {
            /* The cheap half of the memo's claim (the write itself); test-history checks its past. */
            assert(vclock_get(seen, (uint32_t)WRITE_NODE(writes[i])) >= WRITE_COUNTER(writes[i]));
            continue;
        }
        const write_rec *wr = &h->writes[index];
        vclock_merge(seen, &wr->past);
        vclock_raise(seen, (uint32_t)WRITE_NODE(wr->w), WRITE_COUNTER(wr->w));
        merge_memo_set(memo, hot.ordinal);
    }
}

void history_received(history *h, write_id w)
{
    int i = write_index(h, w);
    if (i >= 0) {
        h->writes[i].received++;
        xgrow(&h->arrivals, &h->cap_arrivals, h->n_arrivals + 1, sizeof *h->arrivals);
        h->arrivals[h->n_arrivals++] = w;
    }
}

/* The first reason given for one of w's marks (rejected, dropped, withdrawn, power-lost) stays, in the
 * history's arena; a write the history does not know is ignored. */
static void mark_write(history *h, write_id w, size_t mark, const char *reason, const char *fallback)
{
    int i = write_index(h, w);
    if (i < 0)
        return;
    const char **slot = (const char **)((char *)&h->writes[i] + mark);
    if (!*slot)
        *slot = arena_strdup(&h->a, reason ? reason : fallback);
}

void history_rejected(history *h, write_id w, const char *reason)
{
    mark_write(h, w, offsetof(write_rec, rejected), reason, "refused");
}

void history_dropped(history *h, write_id w, const char *reason)
{
    mark_write(h, w, offsetof(write_rec, dropped), reason, "dropped");
}

void history_withdrawn(history *h, write_id w, const char *reason)
{
    mark_write(h, w, offsetof(write_rec, withdrawn), reason, "withdrawn");
}

void history_power_lost(history *h, write_id w, const char *reason)
{
    mark_write(h, w, offsetof(write_rec, power_lost), reason, "lost in a power loss");
}

static int compare_writes(const void *a, const void *b)
{
    write_id x = *(const write_id *)a, y = *(const write_id *)b;
    return x < y ? -1 : x > y;
}

static bool view_has(const server_view *v, write_id w)
{
    uint32_t lo = 0, hi = v->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->ws[mid] < w)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n && v->ws[lo] == w;
}

static server_view *view_of(history *h, int record)
{
    if ((size_t)record >= h->cap_server) {
        size_t old = h->cap_server;
        xgrow(&h->server, &h->cap_server, (size_t)record + 1, sizeof *h->server);
        memset(&h->server[old], 0, (h->cap_server - old) * sizeof *h->server);
    }
    return &h->server[record];
}

static void displace(history *h, write_id w, write_id by)
{
    int i = write_index(h, w);
    if (i >= 0 && h->writes[i].displaced_by == WRITE_NONE && by != w)
        h->writes[i].displaced_by = by;
}

static write_rec *write_of(history *h, write_id w)
{
    int i = w ? write_index(h, w) : -1;
    return i >= 0 ? &h->writes[i] : NULL;
}

void history_server_state(history *h, const char *type, const char *id, write_id record_w, write_id delete_w,
                          bool deleted, const write_id *writes, int n_writes)
{
    int record = history_record(h, type, id);
    server_view *v = view_of(h, record);
    /* Deletes taking effect, and the write that brings a deleted record back. */
    write_rec *d;
    if (deleted && (d = write_of(h, delete_w)))
        d->took_effect = true;
    if (!deleted && v->delete_w && (d = write_of(h, v->delete_w)) && d->revived_by == WRITE_NONE)
        d->revived_by = record_w;
    server_view next = { .record_w = record_w, .delete_w = deleted ? delete_w : WRITE_NONE };
    next.cap = (uint32_t)n_writes + 1;
    next.ws = xmalloc(next.cap * sizeof *next.ws);
    for (int i = 0; i < n_writes; i++)
        if (writes[i] != WRITE_NONE)
            next.ws[next.n++] = writes[i];
    if (record_w != WRITE_NONE)
        next.ws[next.n++] = record_w;
    qsort(next.ws, next.n, sizeof *next.ws, compare_writes);
    uint32_t k = 0;
    for (uint32_t i = 0; i < next.n; i++)   /* unique */
        if (i == 0 || next.ws[i] != next.ws[i - 1])
            next.ws[k++] = next.ws[i];
    next.n = k;
    for (uint32_t i = 0; i < v->n; i++)
        if (!view_has(&next, v->ws[i]))
            displace(h, v->ws[i], record_w);
    xfree(v->ws);
    *v = next;
}

/*
 * A change that left no trace on arrival was beaten by what the record held.
 * Which of its writes beat it is the engine's business; the strongest claim
 * is taken: a write that follows it (it was already superseded), else one
 * concurrent with it (a conflict it lost), else the record's last writer.
 */
void history_settle_arrivals(history *h)
{
    for (size_t i = 0; i < h->n_arrivals; i++) {
        int index = write_index(h, h->arrivals[i]);
        if (index < 0)
            continue;
        const write_rec *wr = &h->writes[index];
        server_view *v = view_of(h, wr->record);
        if (view_has(v, wr->w))
            continue;
        write_id after = WRITE_NONE, concurrent = WRITE_NONE;
        for (uint32_t k = 0; k < v->n; k++) {
            const write_rec *other = history_write(h, v->ws[k]);
            if (!other || !other->accepted || other->record != wr->record)
                continue;
            causal rel = history_relation(h, v->ws[k], wr->w);
            if (rel == CAUSAL_AFTER && !after)
                after = v->ws[k];
            else if (rel == CAUSAL_CONCURRENT && !concurrent)
                concurrent = v->ws[k];
        }
        displace(h, wr->w, after ? after : concurrent ? concurrent : v->record_w);
    }
    h->n_arrivals = 0;
}

causal history_relation(const history *h, write_id a, write_id b)
{
    if (a == b)
        return CAUSAL_SAME;
    const write_rec *wa = history_write(h, a);
    const write_rec *wb = history_write(h, b);
    assert(wa && wb);
    return history_relation_of(wa, wb);
}

causal history_relation_of(const write_rec *wa, const write_rec *wb)
{
    if (wa->w == wb->w)
        return CAUSAL_SAME;
    if (vclock_get(&wb->past, (uint32_t)WRITE_NODE(wa->w)) >= WRITE_COUNTER(wa->w))
        return CAUSAL_BEFORE;
    if (vclock_get(&wa->past, (uint32_t)WRITE_NODE(wb->w)) >= WRITE_COUNTER(wb->w))
        return CAUSAL_AFTER;
    return CAUSAL_CONCURRENT;
}

bool history_recreate_beats_append(const history *h, const write_rec *x, const write_rec *w)
{
    assert(x && w);
    if (x->op != OP_CREATE || w->op != OP_APPEND || x->record != w->record)
        return false;
    return history_relation(h, x->w, w->w) == CAUSAL_CONCURRENT;
}

size_t history_unsynced(const history *h, int node, write_id **out)
{
    size_t n = 0;
    write_id *ws = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < h->n_writes; i++) {
        const write_rec *wr = &h->writes[i];
        if (wr->node != node || !wr->accepted || wr->op == OP_RESOLVE || wr->received || wr->rejected ||
            wr->dropped || wr->withdrawn || wr->power_lost)
            continue;
        xgrow(&ws, &cap, n + 1, sizeof *ws);
        ws[n++] = wr->w;
    }
    *out = ws;
    return n;
}

void history_wipe(history *h, int node)
{
    assert(node >= 0);
    if ((size_t)node >= h->cap_wipes) {
        size_t old = h->cap_wipes;
        xgrow(&h->wipes, &h->cap_wipes, (size_t)node + 1, sizeof *h->wipes);
        memset(&h->wipes[old], 0, (h->cap_wipes - old) * sizeof *h->wipes);
    }
    h->wipes[node]++;
    /* Record by record: each lookup touches one entry, so no order depends on the map's. */
    for (size_t r = 0; r < h->n_records; r++) {
        uint64_t key = ((uint64_t)(uint32_t)node << 32) | (uint32_t)r;
        int i = u64map_get(&h->seen_index, key);
        if (i >= 0) {
            h->seen[i].n = 0;
            merge_memo_reset(&h->merged[i]);
        }
    }
}

void history_set_user(history *h, int node, const char *user)
{
    assert(node > 0 && user);
    if ((size_t)node >= h->cap_users) {
        size_t old = h->cap_users;
        xgrow(&h->users, &h->cap_users, (size_t)node + 1, sizeof *h->users);
        memset(&h->users[old], 0, (h->cap_users - old) * sizeof *h->users);
    }
    h->users[node] = user;
}

const char *history_user(const history *h, int node, const char *fallback)
{
    const char *user = node >= 0 && (size_t)node < h->cap_users ? h->users[node] : NULL;
    return user ? user : fallback;
}
