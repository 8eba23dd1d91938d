/*
 * check: classification of writes and run-level invariants.
 *
 * The final state is the server's snapshot after quiescence. For a write W
 * that reached the server, with contributors(R) = the record's last writer
 * and the provenance of each of its fields:
 *
 *   update/create W on a live record, per field f that W wrote, p = f's
 *   provenance now:
 *     p == W                          kept
 *     p causally after W              superseded
 *     p concurrent with W             concurrent overwrite
 *     p before W (or f gone):         under record grain, if the record's
 *                                     last writer is concurrent with W, a
 *                                     concurrent overwrite by it (it carried
 *                                     the old value); otherwise lost-update
 *   update/create W on a deleted record (delete D):
 *     D after W: superseded; D concurrent: concurrent overwrite;
 *     D before W: lost-update
 *   delete W: record deleted: kept. Live: a contributor after W:
 *     superseded; one concurrent: overwritten-concurrent (nothing a user
 *     wrote is gone); all before W: lost-update (and the record is a
 *     resurrection).
 * A concurrent overwrite is overwritten-concurrent when some replica keeps
 * W for the user (the "kept" list), silent-overwrite otherwise. A write's
 * class is the worst of its fields'. A write that never reached the server
 * is undelivered (after quiescence every device was online long enough).
 *
 * Record level: a live record with a delete D in its history is a
 * resurrection unless a contributor follows D, or one is concurrent with D
 * and the entity's delete rule lets edits win; and once re-created after D,
 * none of its fields may hold a value written before D. Replica level: every device
 * must hold the server's visible state -- for a tombstone, just "deleted"
 * (divergence).
 */
#include "sim/check.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/record.h"
#include "engine/reducer.h"
#include "engine/strategy.h"
#include "sim/clock.h"
#include "sim/duration.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEPT (-1)

typedef struct checker {
    const check_input *in;
    check_result *out;
    const snapshot *server;
    /* Every accepted write of a record, in history order: a chain through h->writes. */
    int *first_write;         /* per record, index into h->writes or -1 */
    int *next_write;          /* per write, the record's next accepted write or -1 */
} checker;

void check_write_name(const scenario *sc, write_id w, char *out, size_t cap)
{
    snprintf(out, cap, "%s:%u", scenario_node_name(sc, WRITE_NODE(w)), WRITE_COUNTER(w));
}

/* Severity order for combining a write's per-field classes. */
static int severity(int cls)
{
    switch (cls) {
    case KEPT: return 0;
    case VC_SUPERSEDED: return 1;
    case VC_OVERWRITTEN_CONCURRENT: return 2;
    case VC_SILENT_OVERWRITE: return 3;
    case VC_LOST_UPDATE: return 4;
    default: return 5;
    }
}

/* --- witnesses ----------------------------------------------------------- */

static void describe_values(buf *b, const write_rec *wr)
{
    if (wr->op == OP_DELETE)
        return;
    buf_puts(b, " {");
    for (int i = 0; i < wr->n_fields; i++) {
        buf_printf(b, "%s%s: ", i ? ", " : "", wr->fields[i].name);
        value_format(&wr->fields[i].v, b);
    }
    buf_puts(b, "}");
}

static void describe_write(const checker *c, buf *b, write_id w)
{
    const scenario *sc = c->in->sc;
    const write_rec *wr = history_write(c->in->h, w);
    char name[96], at[DURATION_TEXT_MAX], skew[DURATION_TEXT_MAX], stamp[40];
    check_write_name(sc, w, name, sizeof name);
    if (!wr) {
        buf_printf(b, "%s (not a write the simulator made)", name);
        return;
    }
    const hist_record *r = &c->in->h->records[wr->record];
    buf_printf(b, "%s %s %s", name, op_kind_name(wr->op), r->key);
    describe_values(b, wr);
    duration_human(wr->true_us, at, sizeof at);
    duration_human(wr->skew_us, skew, sizeof skew);
    timestamp_format(wr->local_us, stamp, sizeof stamp);
    buf_printf(b, " at t=%s (%s clock %s, skew %s%s", at, scenario_node_name(sc, wr->node), stamp,
               wr->skew_us > 0 ? "+" : "", skew);
    if (!wr->online)
        buf_puts(b, ", offline");
    if (wr->cut)
        buf_printf(b, ", link cut %s", wr->cut == DIR_BOTH ? "both ways" : wr->cut == DIR_UP ? "upstream" : "downstream");
    buf_puts(b, ")");
}

/* Which writes this write had seen: its causal parents on the record. */
static void describe_past(const checker *c, buf *b, const write_rec *wr)
{
    if (wr->past.n == 0) {
        buf_puts(b, "    it had seen no earlier write to this record\n");
        return;
    }
    buf_puts(b, "    it had seen:");
    for (uint32_t i = 0; i < wr->past.n; i++) {
        const vc_entry *e = &wr->past.e[i];
        buf_printf(b, " %s up to #%u", scenario_node_name(c->in->sc, (int)e->node), e->counter);
        if (i + 1 < wr->past.n)
            buf_putc(b, ',');
    }
    buf_putc(b, '\n');
}

static void describe_final(buf *b, const snap_record *r)
{
    if (!r) {
        buf_puts(b, "    final state on the server: no such record\n");
        return;
    }
    if (r->deleted) {
        buf_puts(b, "    final state on the server: deleted\n");
        return;
    }
    buf_puts(b, "    final state on the server: {");
    for (int i = 0; i < r->n_fields; i++) {
        buf_printf(b, "%s%s: ", i ? ", " : "", r->fields[i].name);
        value_format(&r->fields[i].v, b);
    }
    buf_putc(b, '}');
    if (r->n_events)
        buf_printf(b, " and %d event%s", r->n_events, r->n_events == 1 ? "" : "s");
    buf_putc(b, '\n');
}

static void add_finding(checker *c, vclass cls, const char *record, write_id w, write_id competitor, int node,
                        const char *summary, const char *witness)
{
    check_result *out = c->out;
    out->counts[cls]++;
    if (vclass_benign(cls) || out->counts[cls] > CHECK_FINDINGS_PER_CLASS_MAX)
        return;
    if (out->n_findings == out->cap_findings) {
        out->cap_findings = out->cap_findings ? out->cap_findings * 2 : 16;
        out->findings = xrealloc(out->findings, (size_t)out->cap_findings * sizeof *out->findings);
    }
    out->findings[out->n_findings++] = (finding){
        .cls = cls,
        .record = record ? arena_strdup(&out->a, record) : NULL,
        .w = w,
        .competitor = competitor,
        .node = node,
        .summary = arena_strdup(&out->a, summary),
        .witness = arena_strdup(&out->a, witness ? witness : ""),
    };
}

/* How `other` relates to the write it is compared with, as a clause. */
static const char *relation_words(causal other_to_write)
{
    switch (other_to_write) {
    case CAUSAL_BEFORE: return "causally precedes it: its device had already seen that write";
    case CAUSAL_AFTER: return "causally follows it";
    case CAUSAL_CONCURRENT: return "is concurrent with it: neither device had seen the other's write";
    case CAUSAL_SAME: return "is the same write";
    }
    return "?";
}

/* how: what happened to the write; "%s" in it stands for the competing write's name. */
static void report_write(checker *c, vclass cls, const write_rec *wr, write_id competitor, const snap_record *final,
                         const char *how)
{
    const hist_record *r = &c->in->h->records[wr->record];
    char name[96], other[96];
    check_write_name(c->in->sc, wr->w, name, sizeof name);
    buf summary, witness;
    buf_init(&summary);
    buf_init(&witness);
    buf_printf(&summary, "%s: write %s ", r->key, name);
    if (competitor)
        check_write_name(c->in->sc, competitor, other, sizeof other);
    else
        snprintf(other, sizeof other, "another write");
    buf_printf(&summary, how, other);
    buf_puts(&witness, "    write       ");
    describe_write(c, &witness, wr->w);
    buf_putc(&witness, '\n');
    describe_past(c, &witness, wr);
    if (competitor) {
        buf_puts(&witness, "    won instead ");
        describe_write(c, &witness, competitor);
        buf_putc(&witness, '\n');
        if (history_write(c->in->h, competitor))
            buf_printf(&witness, "    the winner %s\n", relation_words(history_relation(c->in->h, competitor, wr->w)));
    }
    describe_final(&witness, final);
    add_finding(c, cls, r->key, wr->w, competitor, -1, summary.data, witness.data);
    buf_free(&summary);
    buf_free(&witness);
}

/* --- classification ---------------------------------------------------------- */

static bool is_known(const checker *c, write_id w)
{
    const write_rec *wr = w ? history_write(c->in->h, w) : NULL;
    return wr && wr->accepted;
}

/* A contributor of the final record concurrent with w, or WRITE_NONE. */
static write_id concurrent_contributor(const checker *c, const snap_record *r, write_id w)
{
    if (is_known(c, r->w) && history_relation(c->in->h, r->w, w) == CAUSAL_CONCURRENT)
        return r->w;
    for (int i = 0; i < r->n_fields; i++)
        if (is_known(c, r->fields[i].w) && history_relation(c->in->h, r->fields[i].w, w) == CAUSAL_CONCURRENT)
            return r->fields[i].w;
    return WRITE_NONE;
}

static write_id following_contributor(const checker *c, const snap_record *r, write_id w)
{
    if (is_known(c, r->w) && history_relation(c->in->h, r->w, w) == CAUSAL_AFTER)
        return r->w;
    for (int i = 0; i < r->n_fields; i++)
        if (is_known(c, r->fields[i].w) && history_relation(c->in->h, r->fields[i].w, w) == CAUSAL_AFTER)
            return r->fields[i].w;
    return WRITE_NONE;
}

static bool kept_anywhere(const checker *c, const char *key, write_id w)
{
    for (int n = 0; n < c->in->n_nodes; n++)
        if (snapshot_keeps(&c->in->snaps[n], key, w))
            return true;
    return false;
}

static int concurrent_class(const checker *c, const char *key, write_id w)
{
    return kept_anywhere(c, key, w) ? VC_OVERWRITTEN_CONCURRENT : VC_SILENT_OVERWRITE;
}


static void index_writes(checker *c)
{
    const history *h = c->in->h;
    c->first_write = xmalloc((h->n_records ? h->n_records : 1) * sizeof *c->first_write);
    c->next_write = xmalloc((h->n_writes ? h->n_writes : 1) * sizeof *c->next_write);
    for (size_t i = 0; i < h->n_records; i++)
        c->first_write[i] = -1;
    /* Walk backwards so each chain lists writes in history order. */
    for (size_t i = h->n_writes; i-- > 0;) {
        const write_rec *wr = &h->writes[i];
        c->next_write[i] = -1;
        if (wr->accepted) {
            c->next_write[i] = c->first_write[wr->record];
            c->first_write[wr->record] = (int)i;
        }
    }
}

/* A delete of w's record that reached the server and relates to w as asked, or WRITE_NONE. */
static write_id delete_of(const checker *c, const write_rec *wr, causal want)
{
    for (int i = c->first_write[wr->record]; i >= 0; i = c->next_write[i]) {
        const write_rec *d = &c->in->h->writes[i];
        if (d->op == OP_DELETE && d->received > 0 && history_relation(c->in->h, d->w, wr->w) == want)
            return d->w;
    }
    return WRITE_NONE;
}

/* A create of the append wr's record that reached the server and beats wr (history_recreate_beats_append),
 * or WRITE_NONE. */
static write_id recreate_beating(const checker *c, const write_rec *wr)
{
    for (int i = c->first_write[wr->record]; i >= 0; i = c->next_write[i]) {
        const write_rec *x = &c->in->h->writes[i];
        if (x->received > 0 && history_recreate_beats_append(c->in->h, x, wr))
            return x->w;
    }
    return WRITE_NONE;
}

static write_id later_delete(const checker *c, const write_rec *wr)
{
    return delete_of(c, wr, CAUSAL_AFTER);
}

/* The user a record belongs to: its first writer's, by the account the writer's device was signed in
 * to when it wrote (a switch of accounts changes it later). NULL when no device wrote it. */
static const char *record_tenant(const checker *c, const char *key)
{
    int record = strmap_get(&c->in->h->record_index, key);
    if (record < 0 || c->first_write[record] < 0)
        return NULL;
    const write_rec *first = &c->in->h->writes[c->first_write[record]];
    int node = first->node;
    if (node < 1 || node > c->in->sc->n_devices)
        return NULL;
    return first->user ? first->user : c->in->sc->devices[node - 1].user;
}

static int count_event(const snap_record *r, write_id w)
{
    int n = 0;
    for (int i = 0; i < r->n_events; i++)
        n += r->events[i] == w;
    return n;
}

/*
 * The class of a write whose value is gone from the server, judged by the
 * write that first left no trace of it there (history_server_state): it may
 * have come much earlier than the final state's writers, which can only
 * carry the loss forward. -2 when the history knows no such write.
 */
static int displaced_class(const checker *c, const write_rec *wr, const char *key, write_id *competitor)
{
    write_id by = wr->displaced_by;
    if (!is_known(c, by))
        return -2;
    *competitor = by;
    switch (history_relation(c->in->h, by, wr->w)) {
    case CAUSAL_AFTER: return VC_SUPERSEDED;
    case CAUSAL_CONCURRENT: return concurrent_class(c, key, wr->w);
    case CAUSAL_BEFORE: return VC_LOST_UPDATE;
    case CAUSAL_SAME: break;
    }
    return -2;
}

/* A write that follows W, wrote the same field and reached the server: W's value of the field was
 * superseded by it, whatever became of that write later. WRITE_NONE when there is none. */
static write_id field_superseded_by(const checker *c, const write_rec *wr, const char *name)
{
    for (int i = c->first_write[wr->record]; i >= 0; i = c->next_write[i]) {
        const write_rec *x = &c->in->h->writes[i];
        if (x->w == wr->w || x->received == 0 || x->op == OP_DELETE)
            continue;
        bool writes_it = false;
        for (int k = 0; k < x->n_fields && !writes_it; k++)
            writes_it = strcmp(x->fields[k].name, name) == 0;
        if (writes_it && history_relation(c->in->h, x->w, wr->w) == CAUSAL_AFTER)
            return x->w;
    }
    return WRITE_NONE;
}

/* Class of an update/create that reached the server. */
static int classify_update(const checker *c, const write_rec *wr, const snap_record *r, write_id *competitor)
{
    const hist_record *hr = &c->in->h->records[wr->record];
    *competitor = WRITE_NONE;
    if (r->deleted) {
        write_id d = r->del_w;
        /* Overwritten first by a write that follows it, W was superseded whatever became of that write. */
        if (displaced_class(c, wr, hr->key, competitor) == VC_SUPERSEDED)
            return VC_SUPERSEDED;
        *competitor = d;
        if (!is_known(c, d))
            return VC_LOST_UPDATE;
        switch (history_relation(c->in->h, d, wr->w)) {
        case CAUSAL_AFTER: return VC_SUPERSEDED;
        case CAUSAL_CONCURRENT: return concurrent_class(c, hr->key, wr->w);
        default: return VC_LOST_UPDATE;
        }
    }
    int worst = KEPT;
    for (int i = 0; i < wr->n_fields; i++) {
        const snap_field *f = snap_record_field(r, wr->fields[i].name);
        write_id p = f ? f->w : WRITE_NONE;
        int cls;
        write_id who = p;
        write_id deleted_by;
        const write_rec *pw = is_known(c, p) ? history_write(c->in->h, p) : NULL;
        if (p == wr->w || (f && value_equal(&f->v, &wr->fields[i].v))) {
            /* W's value stands (or an identical one: what the user wrote is what they see). */
            cls = KEPT;
            who = WRITE_NONE;
        } else if (pw && pw->op == OP_INCREMENT &&
                   (profile_rules(&c->in->sc->profile.engine, hr->type)->counters == COUNTER_CRDT ||
                    profile_rules(&c->in->sc->profile.engine, hr->type)->counters == COUNTER_OPS)) {
            /* A counter CRDT, or an ops counter, adds increments to the value W set rather than
             * replacing it: the field's last writer is an increment, and check_counters judges the sum. */
            cls = KEPT;
            who = WRITE_NONE;
        } else if (!f && (deleted_by = later_delete(c, wr))) {
            /* The field went with a later delete, and the record was created again without it. */
            cls = VC_SUPERSEDED;
            who = deleted_by;
        } else if (!f && (deleted_by = delete_of(c, wr, CAUSAL_CONCURRENT))) {
            /* A concurrent delete beat it; the record was created again since. But W may have been
             * overwritten first by a write that follows it (its own device's next edit of the field):
             * then that later write is what the delete beat, and W was superseded, as below. */
            write_id displacer = WRITE_NONE;
            if (displaced_class(c, wr, hr->key, &displacer) == VC_SUPERSEDED ||
                (displacer = field_superseded_by(c, wr, wr->fields[i].name))) {
                cls = VC_SUPERSEDED;
                who = displacer;
            } else {
                cls = concurrent_class(c, hr->key, wr->w);
                who = deleted_by;
            }
        } else if (is_known(c, p) && history_relation(c->in->h, p, wr->w) == CAUSAL_AFTER) {
            cls = VC_SUPERSEDED;
        } else if (is_known(c, p) && history_relation(c->in->h, p, wr->w) == CAUSAL_CONCURRENT) {
            /* A concurrent value stands now, but W may have been overwritten first by a write
             * that follows it (its own device's next edit): then the later write lost, not W. */
            write_id displacer = WRITE_NONE;
            if (displaced_class(c, wr, hr->key, &displacer) == VC_SUPERSEDED ||
                (displacer = field_superseded_by(c, wr, wr->fields[i].name))) {
                cls = VC_SUPERSEDED;
                who = displacer;
            } else {
                cls = concurrent_class(c, hr->key, wr->w);
            }
        } else {
            /*
             * An older value stands, or the field is gone. Under record grain the
             * record's last writer carried every field, old values included: if it
             * is concurrent with W, W lost to it. Under field grain no other write
             * carries this field, so the older write itself won: a lost update.
             */
            grain g = profile_rules(&c->in->sc->profile.engine, hr->type)->grain;
            write_id displacer = WRITE_NONE;
            int by_history = displaced_class(c, wr, hr->key, &displacer);
            if (by_history != -2) {
                cls = by_history;
                who = displacer;
            } else if (g == GRAIN_RECORD && is_known(c, r->w) &&
                       history_relation(c->in->h, r->w, wr->w) == CAUSAL_CONCURRENT) {
                cls = concurrent_class(c, hr->key, wr->w);
                who = r->w;
            } else {
                /* Name the write that won: the record's last writer when it is older than W (it won
                 * by its clock), else the older write whose value stands. */
                cls = VC_LOST_UPDATE;
                if (is_known(c, r->w) && history_relation(c->in->h, r->w, wr->w) == CAUSAL_BEFORE)
                    who = r->w;
                else if (is_known(c, p))
                    who = p;
                else
                    who = WRITE_NONE;
            }
        }
        if (severity(cls) > severity(worst)) {
            worst = cls;
            *competitor = who;
        }
    }
    return worst;
}

static int classify_delete(const checker *c, const write_rec *wr, const snap_record *r, write_id *competitor)
{
    *competitor = WRITE_NONE;
    if (r->deleted)
        return KEPT;
    if ((*competitor = following_contributor(c, r, wr->w)))
        return VC_SUPERSEDED;
    /* The delete took effect and a write that follows it created the record again: superseded,
     * whatever later became of that incarnation (another delete, undone by a concurrent edit). */
    if (wr->took_effect && is_known(c, wr->revived_by) &&
        history_relation(c->in->h, wr->revived_by, wr->w) == CAUSAL_AFTER) {
        *competitor = wr->revived_by;
        return VC_SUPERSEDED;
    }
    /* A concurrent edit undid the delete: the user's delete is lost like any write, kept for them only
     * where a replica lists it (a conflict store, a manual-resolution queue). */
    if ((*competitor = concurrent_contributor(c, r, wr->w))) {
        /* A re-create after another delete of the record: the record was deleted as W asked, and its
         * writer then created it again on purpose. W lost nothing to it. */
        const write_rec *x = history_write(c->in->h, *competitor);
        for (int i = c->first_write[wr->record]; i >= 0; i = c->next_write[i]) {
            const write_rec *d = &c->in->h->writes[i];
            if (d != wr && d->op == OP_DELETE && d->received > 0 && !d->rejected &&
                history_relation(c->in->h, d->w, x->w) == CAUSAL_BEFORE)
                return VC_SUPERSEDED;
        }
        return concurrent_class(c, c->in->h->records[wr->record].key, wr->w);
    }
    *competitor = is_known(c, r->w) ? r->w : WRITE_NONE;
    return VC_LOST_UPDATE;
}

/*
 * skew-inversion: W lost to a concurrent write made earlier in true time,
 * whose device clock nevertheless read later -- the order was the clocks',
 * not the users'. Both gaps must exceed the clocks' precision: timestamps
 * travel in milliseconds on the seed designs' wires, so a disagreement
 * within a millisecond is a tie, not an inversion. Judged only between
 * concurrent writes: a causally older winner is a lost update already; and
 * only where the loser is gone (silent-overwrite): a loser kept for the user
 * lost nothing to the clocks but its place; and only where the design lets
 * clocks decide between them (clocks_decide).
 */
#define CHECK_CLOCK_PRECISION_US 1000

/*
 * Whether the design lets device clocks decide between the concurrent writes w and winner of a
 * record of this type: a strategy ordered by a device's wall clock or a hybrid clock built on it,
 * change detection that compares a device's timestamp with the server's (SmartDMV), or the newer
 * device timestamp deciding a delete against an edit. Elsewhere -- version checks where the first
 * to arrive wins, the server's receive time, a delete that always wins -- the order of arrival or
 * the rule decides, and a disagreement between stamps and true time is a coincidence.
 */
static bool clocks_decide(const checker *c, const write_rec *wr, const write_rec *winner)
{
    const profile *p = &c->in->sc->profile.engine;
    if (p->detect == DETECT_TIMESTAMP)
        return true;
    const entity_rules *rules = profile_rules(p, c->in->h->records[wr->record].type);
    if (wr->op == OP_DELETE || winner->op == OP_DELETE) {
        if (rules->on_delete == DELETE_NEWER_TIMESTAMP)
            return true;
        if (rules->on_delete != DELETE_BY_STRATEGY)
            return false;
    }
    return (rules->strategy->flags & STRATEGY_CLOCKED) != 0;
}

static void check_skew_inversion(checker *c, const write_rec *wr, write_id competitor)
{
    if (c->in->clocks_none)
        return;
    const write_rec *winner = is_known(c, competitor) ? history_write(c->in->h, competitor) : NULL;
    if (!winner || history_relation(c->in->h, competitor, wr->w) != CAUSAL_CONCURRENT)
        return;
    if (!clocks_decide(c, wr, winner))
        return;
    if (wr->true_us - winner->true_us <= CHECK_CLOCK_PRECISION_US ||
        winner->local_us - wr->local_us <= CHECK_CLOCK_PRECISION_US)
        return;
    char at[DURATION_TEXT_MAX], ahead[DURATION_TEXT_MAX];
    duration_human(wr->true_us - winner->true_us, at, sizeof at);
    duration_human(winner->local_us - wr->local_us, ahead, sizeof ahead);
    char how[256];
    snprintf(how, sizeof how, "lost to the concurrent write %%s, made %s earlier in true time but stamped %s later by "
             "its device's clock", at, ahead);
    const snap_record *r = snapshot_find(c->server, c->in->h->records[wr->record].key);
    report_write(c, VC_SKEW_INVERSION, wr, competitor, r, how);
}

static bool reached_server(const write_rec *wr, const snap_record *r)
{
    if (wr->received > 0)
        return true;
    /* An implementation that does not report receipt still shows provenance. */
    if (!r)
        return false;
    if (r->w == wr->w || r->del_w == wr->w)
        return true;
    for (int i = 0; i < r->n_fields; i++)
        if (r->fields[i].w == wr->w)
            return true;
    return count_event(r, wr->w) > 0;
}

/*
 * An append: its event must be in the log exactly once. A missing event went
 * with a later delete (superseded), lost to a concurrent delete before the
 * record was created again or to a concurrent re-create, or -- under record grain -- to a concurrent
 * whole-record winner that carried its own copy of the log, like any field
 * it carried; otherwise it is lost.
 */
static int classify_append(const checker *c, const write_rec *wr, const snap_record *r, write_id *competitor)
{
    if (r->deleted)
        return classify_update(c, wr, r, competitor);
    *competitor = WRITE_NONE;
    int n = count_event(r, wr->w);
    if (n == 1)
        return KEPT;
    if (n > 1)
        return VC_DUPLICATE;
    if ((*competitor = later_delete(c, wr)))
        return VC_SUPERSEDED;
    const hist_record *hr = &c->in->h->records[wr->record];
    if ((*competitor = delete_of(c, wr, CAUSAL_CONCURRENT)))
        return concurrent_class(c, hr->key, wr->w);   /* a concurrent delete beat it; re-created since */
    /* A concurrent re-create that won the record started it again with its own empty log: a
     * concurrent loss of the event (history_recreate_beats_append). */
    if ((*competitor = recreate_beating(c, wr)))
        return concurrent_class(c, hr->key, wr->w);
    int by_history = displaced_class(c, wr, hr->key, competitor);
    if (by_history != -2)
        return by_history;
    grain g = profile_rules(&c->in->sc->profile.engine, hr->type)->grain;
    if (g == GRAIN_RECORD && is_known(c, r->w) && history_relation(c->in->h, r->w, wr->w) == CAUSAL_CONCURRENT) {
        *competitor = r->w;
        return concurrent_class(c, hr->key, wr->w);
    }
    *competitor = is_known(c, r->w) && history_relation(c->in->h, r->w, wr->w) == CAUSAL_BEFORE ? r->w : WRITE_NONE;
    return VC_LOST_UPDATE;
}

/*
 * A write its own device replaced before sending it: every field it set was
 * set again -- or the record deleted -- by a causally later write that did
 * reach the server (a delete: the record created or deleted again). A design that pushes the record's current state (a
 * watermark, a coalescing queue) sends only the later one, and nothing the
 * user wrote is gone: superseded, not undelivered. Increments and appends
 * add rather than replace, and are never covered this way.
 */
static bool replaced_before_sent(const checker *c, const write_rec *wr, const snap_record *r)
{
    const history *h = c->in->h;
    if (wr->op == OP_INCREMENT || wr->op == OP_APPEND) {
        /* They add rather than replace; only a later delete of the record covers them: the device
         * deleted what it had appended to before sending either (Yjs garbage-collects the items). The
         * delete need not show on the server itself: a create after it that did (the device deleted
         * the record and made it again before a sync) ends the old incarnation just the same. */
        for (int i = c->first_write[wr->record]; i >= 0; i = c->next_write[i]) {
            const write_rec *later = &h->writes[i];
            if (later->op != OP_DELETE || !later->accepted || later->rejected ||
                history_relation(h, later->w, wr->w) != CAUSAL_AFTER)
                continue;
            if (reached_server(later, r))
                return true;
            for (int j = c->first_write[wr->record]; j >= 0; j = c->next_write[j]) {
                const write_rec *again = &h->writes[j];
                if (again->op == OP_CREATE && again->accepted && !again->rejected && reached_server(again, r) &&
                    history_relation(h, again->w, later->w) == CAUSAL_AFTER)
                    return true;
            }
        }
        return false;
    }
    int n_need = wr->op == OP_DELETE ? 1 : wr->n_fields;
    if (n_need == 0)
        n_need = 1;
    int covered = 0;
    for (int k = 0; k < n_need; k++) {
        bool field_covered = false;
        for (int i = c->first_write[wr->record]; i >= 0 && !field_covered; i = c->next_write[i]) {
            const write_rec *later = &h->writes[i];
            if (later == wr || !later->accepted || later->rejected || !reached_server(later, r) ||
                history_relation(h, later->w, wr->w) != CAUSAL_AFTER)
                continue;
            if (wr->op == OP_DELETE || wr->n_fields == 0 || later->op == OP_DELETE) {
                /* A delete is covered by its device's own later create (the record lives again) or
                 * later delete (re-created and deleted again before a sync: the end is the same). */
                field_covered = wr->op != OP_DELETE || later->op == OP_CREATE || later->op == OP_DELETE;
                continue;
            }
            if (later->op != OP_CREATE && later->op != OP_UPDATE)
                continue;
            for (int f = 0; f < later->n_fields && !field_covered; f++)
                field_covered = strcmp(later->fields[f].name, wr->fields[k].name) == 0;
        }
        covered += field_covered;
    }
    return covered == n_need;
}

static void classify_writes(checker *c)
{
    const history *h = c->in->h;
    for (size_t i = 0; i < h->n_writes; i++) {
        const write_rec *wr = &h->writes[i];
        if (!wr->accepted || wr->op == OP_RESOLVE)
            continue;   /* a resolution is a decision about other writes, which are judged themselves */
        c->out->writes_checked++;
        const hist_record *hr = &h->records[wr->record];
        const snap_record *r = snapshot_find(c->server, hr->key);
        /* A write its user never saw acknowledged, and its device then lost in a power loss, counts
         * like one the server refused: the user was never told it was saved (docs/architecture.md). */
        if (wr->rejected || wr->withdrawn) {
            c->out->counts[VC_REJECTED]++;
            continue;
        }
        if (!reached_server(wr, r) && wr->power_lost) {
            /* Its device's later writes count it in their causal past (a device's past is a
             * counter per writer, which cannot leave one write out), but none of them was made on
             * it: whatever they cover, the user saw this write saved and it is gone. */
            if (c->in->quiesced) {
                char how[512];
                snprintf(how, sizeof how, "never reached the server: %s", wr->power_lost);
                report_write(c, VC_UNDELIVERED, wr, WRITE_NONE, r, how);
            }
            continue;
        }
        if (!reached_server(wr, r)) {
            if (replaced_before_sent(c, wr, r)) {
                c->out->counts[VC_SUPERSEDED]++;
                continue;
            }
            /* Beaten by a delete concurrent with it: a design may drop such a write without a trace
             * (Yjs applies an edit made inside a record's old map to a deleted type, and the
             * re-created record never shows it). That is a concurrent loss, not a delivery failure. */
            write_id beaten_by = wr->op != OP_DELETE ? delete_of(c, wr, CAUSAL_CONCURRENT) : WRITE_NONE;
            if (c->in->quiesced && beaten_by && !wr->dropped) {
                int cls = concurrent_class(c, hr->key, wr->w);
                if (cls == VC_SILENT_OVERWRITE)
                    report_write(c, VC_SILENT_OVERWRITE, wr, beaten_by, r,
                                 "never showed on the server: the concurrent delete %s (and what came after it) "
                                 "left no trace of it, and no copy was kept for the user");
                else
                    c->out->counts[cls]++;
                continue;
            }
            /* Beaten, as a replica reported, by a concurrent write that did reach the server: an engine
             * that merges before it sends (Yjs) overwrites the device's own value on the device, and sends
             * it only as content already deleted, which the server never shows. A concurrent loss too. */
            const write_rec *winner = wr->lost_to ? history_write(c->in->h, wr->lost_to) : NULL;
            if (c->in->quiesced && winner && !wr->dropped && winner->received > 0 &&
                history_relation(c->in->h, winner->w, wr->w) == CAUSAL_CONCURRENT) {
                int cls = concurrent_class(c, hr->key, wr->w);
                if (cls == VC_SILENT_OVERWRITE)
                    report_write(c, VC_SILENT_OVERWRITE, wr, winner->w, r,
                                 "never showed on the server: a replica reported it losing to the concurrent write "
                                 "%s before it reached the server, and no copy was kept for the user");
                else
                    c->out->counts[cls]++;
                continue;
            }
            if (c->in->quiesced && wr->dropped) {
                char how[512];
                snprintf(how, sizeof how, "never reached the server: its device dropped it (%s)", wr->dropped);
                report_write(c, VC_UNDELIVERED, wr, WRITE_NONE, r, how);
            } else if (c->in->quiesced) {
                report_write(c, VC_UNDELIVERED, wr, WRITE_NONE, r,
                             "never reached the server, though its device was online and synced afterwards");
            }
            continue;
        }
        if (!r) {
            report_write(c, VC_LOST_UPDATE, wr, WRITE_NONE, r, "reached the server, but the record is gone");
            continue;
        }
        write_id competitor = WRITE_NONE;
        int cls;
        switch (wr->op) {
        case OP_DELETE: cls = classify_delete(c, wr, r, &competitor); break;
        case OP_APPEND: cls = classify_append(c, wr, r, &competitor); break;
        case OP_INCREMENT:
            /* An increment adds; it overwrites nothing. check_counters judges the sum. */
            cls = r->deleted ? classify_update(c, wr, r, &competitor) : KEPT;
            break;
        default: cls = classify_update(c, wr, r, &competitor); break;
        }
        switch (cls) {
        case KEPT:
            c->out->writes_kept++;
            break;
        case VC_SUPERSEDED:
            c->out->counts[cls]++;
            break;
        case VC_OVERWRITTEN_CONCURRENT:
            c->out->counts[cls]++;
            break;
        case VC_SILENT_OVERWRITE:
            report_write(c, VC_SILENT_OVERWRITE, wr, competitor, r,
                         wr->op == OP_DELETE ? "was undone by the concurrent write %s, and no copy was kept for the user"
                                             : "was overwritten by the concurrent write %s, and no copy was kept for the user");
            check_skew_inversion(c, wr, competitor);
            break;
        case VC_LOST_UPDATE:
            report_write(c, VC_LOST_UPDATE, wr, competitor, r,
                         competitor ? "was overwritten by %s, a causally older write its device had already seen"
                                    : "vanished: its value is nowhere in the final state");
            break;
        case VC_DUPLICATE:
            report_write(c, VC_DUPLICATE, wr, WRITE_NONE, r, "appended one event that the log holds more than once");
            break;
        default:
            assert(0 && "unexpected class");
        }
    }
}

/* --- record and replica level -------------------------------------------------- */

/*
 * A record re-created after a delete (a contributor follows the delete) must
 * not carry values written before the delete: those were deleted, and
 * bringing them back is a resurrection of the data, field by field.
 */
static void check_recreated_fields(checker *c, const write_rec *d, const snap_record *r)
{
    for (int i = 0; i < r->n_fields; i++) {
        write_id p = r->fields[i].w;
        if (!is_known(c, p) || history_relation(c->in->h, p, d->w) != CAUSAL_BEFORE)
            continue;
        char name[96];
        check_write_name(c->in->sc, d->w, name, sizeof name);
        buf summary, witness;
        buf_init(&summary);
        buf_init(&witness);
        buf_printf(&summary, "%s was re-created after delete %s, but its field '%s' came back from before the delete",
                   r->key, name, r->fields[i].name);
        buf_puts(&witness, "    delete      ");
        describe_write(c, &witness, d->w);
        buf_puts(&witness, "\n    old value   ");
        describe_write(c, &witness, p);
        buf_putc(&witness, '\n');
        describe_final(&witness, r);
        add_finding(c, VC_RESURRECTION, r->key, d->w, p, -1, summary.data, witness.data);
        buf_free(&summary);
        buf_free(&witness);
    }
}

static void report_resurrection(checker *c, const write_rec *d, const snap_record *r, write_id back, bool rule_broken,
                                const char *label)
{
    const history *h = c->in->h;
    const hist_record *hr = &h->records[d->record];
    char name[96];
    check_write_name(c->in->sc, d->w, name, sizeof name);
    buf summary, witness;
    buf_init(&summary);
    buf_init(&witness);
    if (rule_broken)
        buf_printf(&summary, "%s came back after delete %s, against the profile's delete-wins rule", hr->key, name);
    else
        buf_printf(&summary, "%s came back after delete %s with no causally later edit", hr->key, name);
    buf_puts(&witness, "    delete      ");
    describe_write(c, &witness, d->w);
    buf_putc(&witness, '\n');
    if (is_known(c, back)) {
        buf_puts(&witness, label);
        describe_write(c, &witness, back);
        buf_printf(&witness, "\n    that write %s\n", relation_words(history_relation(h, back, d->w)));
    }
    describe_final(&witness, r);
    add_finding(c, VC_RESURRECTION, hr->key, d->w, back, -1, summary.data, witness.data);
    buf_free(&summary);
    buf_free(&witness);
}

/*
 * A delete whose record is live at the end. Judged by the write that brought
 * the record back after the delete took effect, or that beat the delete on
 * arrival when it never did (history_server_state): a write that follows the
 * delete is a re-create (and must not bring back deleted fields); a
 * concurrent one may win unless the rule is delete-wins; an older one must
 * not (clock skew). Without that history, the final state's writers decide.
 */
static void check_resurrections(checker *c)
{
    const history *h = c->in->h;
    const scenario *sc = c->in->sc;
    for (size_t i = 0; i < h->n_writes; i++) {
        const write_rec *d = &h->writes[i];
        /* A delete the server refused (an immutable type, server data) deleted nothing. */
        if (!d->accepted || d->op != OP_DELETE || !reached_server(d, NULL) || d->rejected)
            continue;
        const hist_record *hr = &h->records[d->record];
        const snap_record *r = snapshot_find(c->server, hr->key);
        if (!r || r->deleted)
            continue;
        delete_rule rule = profile_rules(&sc->profile.engine, hr->type)->on_delete;
        write_id back = d->took_effect ? d->revived_by : d->displaced_by;
        /* A delete kept out by another delete (the record was deleted already) was not
         * beaten by anything that keeps the record alive: whatever revived the record
         * later is judged from the final state, below. */
        if (is_known(c, back) && history_write(h, back)->op == OP_DELETE)
            back = WRITE_NONE;
        if (is_known(c, back)) {
            switch (history_relation(h, back, d->w)) {
            case CAUSAL_AFTER:
                if (d->took_effect)
                    check_recreated_fields(c, d, r);
                break;
            case CAUSAL_CONCURRENT:
                if (rule == DELETE_WINS)
                    report_resurrection(c, d, r, back, true, d->took_effect ? "    brought back by " : "    kept by     ");
                break;
            default:
                report_resurrection(c, d, r, back, false, d->took_effect ? "    brought back by " : "    kept by     ");
                break;
            }
            continue;
        }
        if (following_contributor(c, r, d->w)) {
            check_recreated_fields(c, d, r);
            continue;
        }
        write_id rival = concurrent_contributor(c, r, d->w);
        if (rival && rule != DELETE_WINS)
            continue;
        report_resurrection(c, d, r, rival ? rival : r->w, rival != WRITE_NONE, "    live state  ");
    }
}

static void describe_state(const checker *c, buf *b, const snap_record *r)
{
    if (!r) {
        buf_puts(b, "absent");
        return;
    }
    if (r->deleted) {
        buf_puts(b, "deleted");
        return;
    }
    buf_putc(b, '{');
    for (int i = 0; i < r->n_fields; i++) {
        buf_printf(b, "%s%s: ", i ? ", " : "", r->fields[i].name);
        value_format(&r->fields[i].v, b);
    }
    buf_putc(b, '}');
    if (r->n_events) {
        buf_puts(b, " events [");
        for (int i = 0; i < r->n_events && i < 6; i++) {
            char name[96];
            check_write_name(c->in->sc, r->events[i], name, sizeof name);
            buf_printf(b, "%s%s", i ? " " : "", name);
        }
        buf_puts(b, r->n_events > 6 ? " ...]" : "]");
    }
}

static bool same_fields(const snap_record *a, const snap_record *b)
{
    if (a->n_fields != b->n_fields)
        return false;
    for (int i = 0; i < a->n_fields; i++)
        if (strcmp(a->fields[i].name, b->fields[i].name) != 0 || !value_equal(&a->fields[i].v, &b->fields[i].v))
            return false;
    return true;
}

/* The same events, in any order (each log's entries are few enough for O(n^2)). */
static bool same_event_set(const snap_record *a, const snap_record *b)
{
    if (a->n_events != b->n_events)
        return false;
    for (int i = 0; i < a->n_events; i++)
        if (count_event(a, a->events[i]) != count_event(b, a->events[i]))
            return false;
    return true;
}

static bool same_event_order(const snap_record *a, const snap_record *b)
{
    return a->n_events == b->n_events && memcmp(a->events, b->events, (size_t)a->n_events * sizeof *a->events) == 0;
}

typedef enum sameness {
    SAME,
    DIFFERENT,
    ORDER_ONLY,     /* the same events in another order */
} sameness;

static sameness compare_visible(const snap_record *a, const snap_record *b)
{
    if (!a || !b)
        return a == b ? SAME : DIFFERENT;
    if (a->deleted != b->deleted)
        return DIFFERENT;
    if (a->deleted)
        return SAME;   /* a tombstone's leftover fields are not visible */
    if (!same_fields(a, b) || !same_event_set(a, b))
        return DIFFERENT;
    return same_event_order(a, b) ? SAME : ORDER_ONLY;
}

/* The user a record belongs to: the user of its first writer as the history knows it, else what the
 * replica reports; "" when neither says (a record of unknown tenancy, given the benefit of the
 * doubt: every user may hold it). */
static const char *owner_of(const checker *c, const snap_record *r)
{
    const char *tenant = record_tenant(c, r->key);
    return tenant ? tenant : r->tenant;
}

/* Does the record belong to this user? */
static bool belongs_to(const checker *c, const snap_record *r, const char *user)
{
    const char *tenant = owner_of(c, r);
    return !*tenant || strcmp(tenant, user) == 0;
}

/* The server's records grouped by owner, each group in key order: a device is compared with its
 * user's group and the unowned one, so the check costs the records compared, not devices times
 * every user's records (a thousand devices spent a sixth of their run here). */
typedef struct owned {
    const char *owner;
    int record;   /* index into the server's snapshot */
} owned;

static int owned_cmp(const void *a, const void *b)
{
    const owned *x = a, *y = b;
    int cmp = strcmp(x->owner, y->owner);
    return cmp ? cmp : (x->record > y->record) - (x->record < y->record);
}

/* The group of owner in the sorted array: its first index, and its length in *n (0 when none). */
static int owned_group(const owned *by_owner, int count, const char *owner, int *n)
{
    int lo = 0, hi = count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(by_owner[mid].owner, owner) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int end = lo;
    while (end < count && strcmp(by_owner[end].owner, owner) == 0)
        end++;
    *n = end - lo;
    return lo;
}

/* The next server record a device of one user may hold, in key order: the lesser head of its user's
 * group (a) and the unowned group (b), which hold no record in common. NULL when both are spent. */
static const snap_record *next_owned(const checker *c, const owned *a, int *ia, int na, const owned *b, int *ib,
                                     int nb)
{
    const snap_record *x = *ia < na ? &c->server->records[a[*ia].record] : NULL;
    const snap_record *y = *ib < nb ? &c->server->records[b[*ib].record] : NULL;
    if (x && (!y || strcmp(x->key, y->key) < 0)) {
        ++*ia;
        return x;
    }
    if (y)
        ++*ib;
    return y;
}

/*
 * Every device must hold exactly the server's visible state of its user's
 * records: fields, tombstones and event logs. Logs with the same events in
 * another order are an order-divergence; any other difference a divergence.
 * A record of another user on a device is a tenant leak. A device's user is
 * the account it was signed in to at the end (after any switch of accounts).
 */
static void check_divergence(checker *c)
{
    const scenario *sc = c->in->sc;
    int n_server = c->server->n_records;
    owned *by_owner = xmalloc((size_t)(n_server ? n_server : 1) * sizeof *by_owner);
    for (int i = 0; i < n_server; i++)
        by_owner[i] = (owned){ owner_of(c, &c->server->records[i]), i };
    qsort(by_owner, (size_t)n_server, sizeof *by_owner, owned_cmp);
    int n_unowned = 0;
    const owned *unowned = by_owner + owned_group(by_owner, n_server, "", &n_unowned);
    for (int node = 1; node < c->in->n_nodes; node++) {
        const snapshot *dev = &c->in->snaps[node];
        const char *user = history_user(c->in->h, node, sc->devices[node - 1].user);
        int n_mine = 0;
        const owned *mine = *user ? by_owner + owned_group(by_owner, n_server, user, &n_mine) : by_owner;
        buf witness, order_witness;
        buf_init(&witness);
        buf_init(&order_witness);
        int differences = 0, reorders = 0;
        const char *first = NULL, *first_order = NULL;
        /* Walk the device's sorted records beside the server's it may hold (sorted too). */
        int i_mine = 0, i_unowned = 0, k = 0;
        const snap_record *s = next_owned(c, mine, &i_mine, n_mine, unowned, &i_unowned, n_unowned);
        while (s || k < dev->n_records) {
            const snap_record *d = k < dev->n_records ? &dev->records[k] : NULL;
            int cmp = !s ? 1 : !d ? -1 : strcmp(s->key, d->key);
            const snap_record *sr = cmp <= 0 ? s : NULL;
            const snap_record *dr = cmp >= 0 ? d : NULL;
            if (cmp <= 0)
                s = next_owned(c, mine, &i_mine, n_mine, unowned, &i_unowned, n_unowned);
            if (cmp >= 0)
                k++;
            if (dr && !belongs_to(c, dr, user)) {
                char summary[512];
                snprintf(summary, sizeof summary, "%s holds %s, a record of another user (it belongs to %s)",
                         scenario_node_name(sc, node), dr->key, owner_of(c, dr));
                add_finding(c, VC_TENANT_LEAK, dr->key, WRITE_NONE, WRITE_NONE, node, summary, "");
                continue;
            }
            sameness same = compare_visible(sr, dr);
            if (same == SAME)
                continue;
            buf *b = same == ORDER_ONLY ? &order_witness : &witness;
            int *count = same == ORDER_ONLY ? &reorders : &differences;
            const char **firstp = same == ORDER_ONLY ? &first_order : &first;
            if (!*firstp)
                *firstp = sr ? sr->key : dr->key;
            if (++*count <= 3) {
                buf_printf(b, "    %s: server ", sr ? sr->key : dr->key);
                describe_state(c, b, sr);
                buf_printf(b, ", %s ", scenario_node_name(sc, node));
                describe_state(c, b, dr);
                buf_putc(b, '\n');
            }
        }
        if (differences) {
            if (differences > 3)
                buf_printf(&witness, "    ... and %d more records\n", differences - 3);
            char summary[256];
            snprintf(summary, sizeof summary, "%s disagrees with the server on %d record%s after quiescence",
                     scenario_node_name(sc, node), differences, differences == 1 ? "" : "s");
            add_finding(c, VC_DIVERGENCE, first, WRITE_NONE, WRITE_NONE, node, summary, witness.data);
        }
        if (reorders) {
            if (reorders > 3)
                buf_printf(&order_witness, "    ... and %d more logs\n", reorders - 3);
            char summary[256];
            snprintf(summary, sizeof summary, "%s holds the same events as the server in another order in %d log%s",
                     scenario_node_name(sc, node), reorders, reorders == 1 ? "" : "s");
            add_finding(c, VC_ORDER_DIVERGENCE, first_order, WRITE_NONE, WRITE_NONE, node, summary, order_witness.data);
        }
        buf_free(&witness);
        buf_free(&order_witness);
    }
    xfree(by_owner);
}

/*
 * A counter's final value must be its initial value plus every increment
 * that reached the server and was not refused there. Checked where that sum is well defined: the
 * record was created once, with or without the field, never deleted, and
 * the field was never set outright after the create.
 */
static void check_counters(checker *c)
{
    const history *h = c->in->h;
    for (size_t rec = 0; rec < h->n_records; rec++) {
        const snap_record *r = snapshot_find(c->server, h->records[rec].key);
        if (!r || r->deleted)
            continue;
        /* Each counter field of this record, once. */
        for (int i = c->first_write[rec]; i >= 0; i = c->next_write[i]) {
            const write_rec *inc = &h->writes[i];
            if (inc->op != OP_INCREMENT)
                continue;
            const char *name = inc->fields[0].name;
            bool first_of_field = true;
            for (int k = c->first_write[rec]; k != i; k = c->next_write[k])
                if (h->writes[k].op == OP_INCREMENT && strcmp(h->writes[k].fields[0].name, name) == 0)
                    first_of_field = false;
            if (!first_of_field)
                continue;
            int64_t expected = 0, increments = 0;
            int creates = 0;
            bool defined = true;
            for (int k = c->first_write[rec]; k >= 0 && defined; k = c->next_write[k]) {
                const write_rec *wr = &h->writes[k];
                if (wr->op == OP_DELETE) {
                    defined = false;
                } else if (wr->op == OP_CREATE) {
                    creates++;
                    for (int f = 0; f < wr->n_fields; f++)
                        if (strcmp(wr->fields[f].name, name) == 0)
                            expected += wr->fields[f].v.kind == VAL_INT ? wr->fields[f].v.i : 0;
                } else if (wr->op == OP_UPDATE) {
                    for (int f = 0; f < wr->n_fields; f++)
                        if (strcmp(wr->fields[f].name, name) == 0)
                            defined = false;
                } else if (wr->op == OP_INCREMENT && strcmp(wr->fields[0].name, name) == 0 && wr->received > 0 &&
                           !wr->rejected) {
                    /* An increment the type's rules refused (immutable, server data) adds nothing. */
                    expected += wr->fields[0].v.i;
                    increments++;
                }
            }
            if (!defined || creates != 1)
                continue;
            const snap_field *f = snap_record_field(r, name);
            int64_t actual = f && f->v.kind == VAL_INT ? f->v.i : 0;
            if (f && f->v.kind != VAL_INT && f->v.kind != VAL_NULL)
                actual = INT64_MIN;
            if (actual == expected)
                continue;
            buf summary, witness;
            buf_init(&summary);
            buf_init(&witness);
            if (actual == INT64_MIN)
                buf_printf(&summary, "%s.%s is not a number, but %lld increments add up to %lld", r->key, name,
                           (long long)increments, (long long)expected);
            else
                buf_printf(&summary, "%s.%s is %lld, but its initial value and %lld increments add up to %lld",
                           r->key, name, (long long)actual, (long long)increments, (long long)expected);
            int listed = 0;
            for (int k = c->first_write[rec]; k >= 0; k = c->next_write[k]) {
                const write_rec *wr = &h->writes[k];
                if (wr->op != OP_INCREMENT || strcmp(wr->fields[0].name, name) != 0 || wr->received == 0)
                    continue;
                if (listed++ == 6) {
                    buf_puts(&witness, "    ...\n");
                    break;
                }
                buf_puts(&witness, "    increment   ");
                describe_write(c, &witness, wr->w);
                buf_putc(&witness, '\n');
            }
            describe_final(&witness, r);
            add_finding(c, VC_COUNTER_DRIFT, r->key, inc->w, WRITE_NONE, -1, summary.data, witness.data);
            buf_free(&summary);
            buf_free(&witness);
        }
    }
}

static void note_owner(checker *c, u64map *owner, const snapshot *s, int record, write_id w)
{
    if (!is_known(c, w))
        return;
    int first = u64map_get(owner, w);
    if (first < 0 || first == record) {
        u64map_put(owner, w, record);
        return;
    }
    char name[96];
    check_write_name(c->in->sc, w, name, sizeof name);
    buf summary, witness;
    buf_init(&summary);
    buf_init(&witness);
    buf_printf(&summary, "write %s was applied to both %s and %s", name, s->records[first].key, s->records[record].key);
    buf_puts(&witness, "    write       ");
    describe_write(c, &witness, w);
    buf_putc(&witness, '\n');
    add_finding(c, VC_DUPLICATE, s->records[record].key, w, WRITE_NONE, -1, summary.data, witness.data);
    buf_free(&summary);
    buf_free(&witness);
    u64map_put(owner, w, record);
}

/* A write touches one record: its id in the state of two records means it was applied twice. */
static void check_duplicates(checker *c)
{
    u64map owner;
    u64map_init(&owner);
    const snapshot *s = c->server;
    for (int i = 0; i < s->n_records; i++) {
        const snap_record *r = &s->records[i];
        note_owner(c, &owner, s, i, r->w);
        note_owner(c, &owner, s, i, r->del_w);
        for (int k = 0; k < r->n_fields; k++)
            note_owner(c, &owner, s, i, r->fields[k].w);
        for (int k = 0; k < r->n_events; k++)
            note_owner(c, &owner, s, i, r->events[k]);
    }
    u64map_free(&owner);
}

/*
 * A live record's reference fields (the entity rules' refs: petId -> pet) must
 * name a live record of the parent type on the server once sync has settled.
 * A reference left empty is no reference. Judged on the server alone: the
 * divergence check holds every device to the server's state.
 */
static void check_references(checker *c)
{
    const scenario *sc = c->in->sc;
    const snapshot *s = c->server;
    for (int i = 0; i < s->n_records; i++) {
        const snap_record *r = &s->records[i];
        if (r->deleted)
            continue;
        const entity_rules *rules = profile_rules(&sc->profile.engine, r->type);
        for (int k = 0; k < rules->n_refs; k++) {
            const snap_field *f = snap_record_field(r, rules->refs[k].field);
            if (!f || f->v.kind != VAL_STRING || !*f->v.s)
                continue;
            char key[512];
            snprintf(key, sizeof key, "%s/%s", rules->refs[k].type, f->v.s);
            const snap_record *parent = snapshot_find(s, key);
            if (parent && !parent->deleted)
                continue;
            buf summary, witness;
            buf_init(&summary);
            buf_init(&witness);
            buf_printf(&summary, "%s.%s names %s, which %s", r->key, f->name, key,
                       parent ? "is deleted" : "does not exist");
            buf_puts(&witness, "    reference   ");
            describe_write(c, &witness, f->w);
            buf_putc(&witness, '\n');
            if (parent && parent->del_w != WRITE_NONE) {
                buf_puts(&witness, "    delete      ");
                describe_write(c, &witness, parent->del_w);
                buf_putc(&witness, '\n');
            }
            describe_final(&witness, r);
            add_finding(c, VC_DANGLING_REF, r->key, f->w, parent ? parent->del_w : WRITE_NONE, -1, summary.data,
                        witness.data);
            buf_free(&summary);
            buf_free(&witness);
        }
    }
}

/* --- projections of an event log ---------------------------------------------------- */

/* Whether r's log keeps every event after the events it causally follows. */
static bool log_is_causal(const checker *c, const snap_record *r)
{
    for (int i = 0; i < r->n_events; i++)
        for (int j = i + 1; j < r->n_events; j++)
            if (is_known(c, r->events[i]) && is_known(c, r->events[j]) &&
                history_relation(c->in->h, r->events[j], r->events[i]) == CAUSAL_BEFORE)
                return false;
    return true;
}

/*
 * order-anomaly, the projections' half: a replica whose log is in a causal order must show the
 * projections its type's reducer computes from that log (status, duration, points). A log out of
 * causal order is the session's finding already (sim/session.c); this one catches a replica that
 * keeps the log right but projects in another order -- events folded in as they arrived, say --
 * or left a projection stale. The events' contents come from the history, so any replica's
 * report of a log (write ids alone) can be judged.
 */
static void check_projections(checker *c)
{
    const scenario *sc = c->in->sc;
    for (int node = 0; node < c->in->n_nodes; node++) {
        const snapshot *s = &c->in->snaps[node];
        for (int i = 0; i < s->n_records; i++) {
            const snap_record *r = &s->records[i];
            const entity_rules *rules = profile_rules(&sc->profile.engine, r->type);
            /* An empty log projects nothing yet: engines set projections when the first event merges. */
            if (!rules->reducer || r->deleted || r->n_events == 0 || !log_is_causal(c, r))
                continue;
            arena a;
            arena_init(&a, 4096);
            record want;
            record_init(&want, &a, r->type, r->id);
            want.events = arena_alloc(&a, (size_t)r->n_events * sizeof *want.events);
            bool complete = true;
            for (int k = 0; k < r->n_events; k++) {
                const write_rec *e = is_known(c, r->events[k]) ? history_write(c->in->h, r->events[k]) : NULL;
                if (!e) {
                    complete = false;   /* an event nobody appended: duplicate and divergence judge it */
                    break;
                }
                want.events[want.n_events++] = (log_event){ .w = e->w, .at_us = e->local_us,
                                                            .n_fields = e->n_fields, .fields = e->fields };
            }
            want.cap_events = want.n_events;
            if (complete)
                reducer_apply(rules->reducer, &want, &a);
            buf shown, causal;
            buf_init(&shown);
            buf_init(&causal);
            for (int k = 0; complete && k < want.n_fields; k++) {
                const field *f = &want.fields[k];
                const snap_field *got = snap_record_field(r, f->name);
                if (got && value_equal(&got->v, &f->v))
                    continue;
                buf_printf(&shown, "%s%s ", shown.len ? ", " : "", f->name);
                if (got)
                    value_format(&got->v, &shown);
                else
                    buf_puts(&shown, "(none)");
                buf_printf(&causal, "%s%s ", causal.len ? ", " : "", f->name);
                value_format(&f->v, &causal);
            }
            if (shown.len) {
                buf summary, witness;
                buf_init(&summary);
                buf_init(&witness);
                buf_printf(&summary, "%s: %s shows %s, but its log in causal order gives %s", r->key,
                           scenario_node_name(sc, node), shown.data, causal.data);
                buf_printf(&witness, "    reducer     %s over %d event%s in the replica's (causal) order\n",
                           rules->reducer, r->n_events, r->n_events == 1 ? "" : "s");
                for (int k = 0; k < r->n_events; k++) {
                    buf_puts(&witness, "    event       ");
                    describe_write(c, &witness, r->events[k]);
                    buf_putc(&witness, '\n');
                }
                add_finding(c, VC_ORDER_ANOMALY, r->key, r->events[r->n_events - 1], WRITE_NONE, node, summary.data,
                            witness.data);
                buf_free(&summary);
                buf_free(&witness);
            }
            buf_free(&shown);
            buf_free(&causal);
            arena_release(&a);
        }
    }
}

/* --- what devices showed through the run (sim/session.c) ------------------------ */

static void describe_shown(const checker *c, buf *b, bool present, bool deleted, write_id last)
{
    char name[96];
    if (!present) {
        buf_puts(b, "the record absent");
        return;
    }
    check_write_name(c->in->sc, last, name, sizeof name);
    buf_printf(b, deleted ? "the record deleted (last write %s)" : "the record last written by %s", name);
}

static const char *episode_words(vclass cls)
{
    switch (cls) {
    case VC_READ_YOUR_WRITES: return "showed a state without its own write %s";
    case VC_MONOTONIC_READS: return "went back to a state older than one it had shown (it lost sight of %s)";
    case VC_CAUSAL_VISIBILITY: return "showed a write without %s, which it causally depends on";
    case VC_ORDER_ANOMALY: return "put an event before %s, which causally precedes it";
    default: return "%s";
    }
}

/*
 * One finding per episode: the device, when and for how long, what it showed
 * before and after, the write missing (or placed out of order) and the write
 * shown instead. Episodes beyond the session's bound are only counted.
 */
static void report_sessions(checker *c)
{
    const session *s = c->in->session;
    if (!s)
        return;
    const scenario *sc = c->in->sc;
    uint64_t kept[VC_COUNT] = { 0 };
    for (size_t i = 0; i < s->n_episodes; i++) {
        const session_episode *e = &s->episodes[i];
        const hist_record *r = &c->in->h->records[e->record];
        char missing[96], at[DURATION_TEXT_MAX], visible[DURATION_TEXT_MAX];
        check_write_name(sc, e->missing, missing, sizeof missing);
        duration_human(e->start_us, at, sizeof at);
        duration_human(e->end_us - e->start_us, visible, sizeof visible);
        buf summary, witness;
        buf_init(&summary);
        buf_init(&witness);
        buf_printf(&summary, "%s: %s ", r->key, scenario_node_name(sc, e->node));
        buf_printf(&summary, episode_words(e->cls), missing);
        buf_printf(&summary, " at t=%s, %s %s", at, e->open ? "still shown at the end after" : "for", visible);
        buf_printf(&witness, "    device      %s from t=%s, visible %s%s\n", scenario_node_name(sc, e->node), at,
                   visible, e->open ? " (until the end of the run)" : "");
        buf_puts(&witness, "    before      ");
        describe_shown(c, &witness, e->before_present, e->before_deleted, e->before_w);
        buf_puts(&witness, "\n    after       ");
        describe_shown(c, &witness, e->after_present, e->after_deleted, e->after_w);
        buf_puts(&witness, "\n    missing     ");
        const write_rec *gone = e->missing ? history_write(c->in->h, e->missing) : NULL;
        bool cascade = e->cls == VC_CAUSAL_VISIBILITY && e->other_record >= 0 && gone && gone->record == e->record;
        if (cascade)   /* the parent shown deleted by a delete that had seen the child's own delete */
            buf_printf(&witness, "the child's delete, which the delete of the parent %s shown on %s had seen: ",
                       c->in->h->records[e->other_record].key, scenario_node_name(sc, e->node));
        else if (e->cls == VC_CAUSAL_VISIBILITY && e->other_record >= 0)
            buf_printf(&witness, "the parent %s, not shown live on %s; the child's writer had shown ",
                       c->in->h->records[e->other_record].key, scenario_node_name(sc, e->node));
        describe_write(c, &witness, e->missing);
        buf_puts(&witness, e->cls == VC_ORDER_ANOMALY ? "\n    placed first " : "\n    shown       ");
        describe_write(c, &witness, e->shown);
        buf_putc(&witness, '\n');
        add_finding(c, e->cls, r->key, e->missing, e->shown, e->node, summary.data, witness.data);
        kept[e->cls]++;
        buf_free(&summary);
        buf_free(&witness);
    }
    for (int k = 0; k < VC_COUNT; k++) {
        c->out->counts[k] += s->counts[k] - kept[k];   /* episodes past the session's bound */
        c->out->visible_us[k] += s->visible_us[k];
    }
}

void check_run(const check_input *in, check_result *out)
{
    memset(out, 0, sizeof *out);
    arena_init(&out->a, 16 * 1024);
    checker c = { .in = in, .out = out, .server = &in->snaps[NODE_SERVER] };
    index_writes(&c);
    classify_writes(&c);
    check_resurrections(&c);
    check_duplicates(&c);
    check_counters(&c);
    report_sessions(&c);
    if (in->quiesced) {
        check_divergence(&c);
        check_references(&c);
        check_projections(&c);
    } else {
        char bound[DURATION_TEXT_MAX];
        duration_human(in->deadline_us - in->heal_us, bound, sizeof bound);
        char summary[256];
        snprintf(summary, sizeof summary, "sync did not settle within %s of the final heal", bound);
        add_finding(&c, VC_NO_QUIESCENCE, NULL, WRITE_NONE, WRITE_NONE, -1, summary,
                    in->liveness ? in->liveness : "");
    }
    xfree(c.first_write);
    xfree(c.next_write);
}

void check_result_free(check_result *r)
{
    xfree(r->findings);
    arena_release(&r->a);
    memset(r, 0, sizeof *r);
}
