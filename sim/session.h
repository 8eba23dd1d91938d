/*
 * session: the session guarantees (Terry et al., Bayou), checked through the
 * run from what each device showed its user, and when.
 *
 * check.c judges the final state; this file judges every state a device
 * showed on the way there. The world feeds it the record changes it already
 * observes (session_observe) and the writes it hands to devices
 * (session_write), and marks the end of every simulated event
 * (session_settle): a state counts as shown only when the event that
 * produced it is over, so the steps inside one delivery (a parent and its
 * child applied from one pull, a pull and the re-application of the outbox)
 * are never judged one by one.
 *
 * For each device and record it keeps the state shown now: the writes it
 * reflects (the record's last writer, its delete, every field's and event's
 * provenance) and their causal closure (the writes that state has seen).
 * Four classes, each an episode with a start and an end in true time:
 *
 *   read-your-writes   the device shows a state lacking its own write W
 *                      (neither W nor a write that follows W is in it), W
 *                      had been shown before, and nothing in the state beats
 *                      W (a concurrent write of a field W wrote, a concurrent
 *                      delete, a concurrent whole-record winner under record
 *                      grain, or, W an append, a concurrent re-create of the
 *                      record: its incarnation won with its own log, as
 *                      history_recreate_beats_append says), whether the
 *                      state lists it or only has it in its causal past (a
 *                      delete or create whose fields were overwritten
 *                      since). Never missing: a write the server refused or
 *                      its device dropped, one the server's copy already lost
 *                      to a write that follows it or is concurrent with it (the
 *                      device catches up with that outcome), or one whose
 *                      conflict the device's user resolved since.
 *   monotonic-reads    the state shown is causally older than the one shown
 *                      before: its closure is strictly below the previous one,
 *                      and a write that disappears from view was neither
 *                      refused, dropped, nor lost on the server to a write that
 *                      follows it or is concurrent with it. Not reported when the same change
 *                      is a read-your-writes.
 *   causal-visibility  the device shows a child whose reference names a parent
 *                      the device does not show, though the child's writer
 *                      showed that parent when it wrote; or shows deleted,
 *                      by a delete older than the parent state the child's
 *                      writer showed (a re-create the device lacks), or by a
 *                      delete whose writer had seen a delete of the child
 *                      that the device's child lacks (a cascade half arrived;
 *                      a delete with no such child delete, or concurrent with
 *                      the child, leaves a dangling reference: dangling-ref
 *                      judges it at the end); or an event whose
 *                      causal predecessor in the same log is missing (unless a
 *                      delete the state has seen, after or concurrent with it,
 *                      took the predecessor away, or the server lost it).
 *   order-anomaly      an event log puts an event before one that causally
 *                      precedes it.
 *
 * Invariants: iteration is in the order of observations (dirty slots in the
 * order they were first touched in the event), never in hash order; nothing
 * here reads a clock but the true time the world passes in. Episodes are kept
 * whole up to SESSION_EPISODES_MAX; beyond it they are only counted.
 */
#ifndef SIM_SESSION_H
#define SIM_SESSION_H

#include "base/hash.h"
#include "engine/profile.h"
#include "sim/classes.h"
#include "sim/history.h"

#include <stdbool.h>
#include <stdint.h>

/* Node ids below this build a closure in an array indexed by node (view_close); others take merges. */
#define SESSION_CLOSE_NODES 4096

/* Episodes kept in full for witnesses; the rest are counted. */
#define SESSION_EPISODES_MAX 2000

/* What a device showed of a record: absent, deleted, or live with these writes. */
typedef struct session_view {
    bool present;
    bool deleted;
    write_id record_w;        /* the last write applied to the record as a whole */
    write_id delete_w;        /* the delete in effect when deleted */
    write_id *writes;         /* provenance as reported: fields, counter parts, then events in log order
                                 (record_w and delete_w apart: a last writer is not an event) */
    uint32_t n_writes;
    uint32_t cap_writes;
    vclock closure;           /* every write this state has seen: the writes above and their causal pasts */
    uint32_t closure_pasts;   /* the record's pasts_set (history.h) when the closure was made */
} session_view;

/* One stretch of true time during which a device showed an anomaly. */
typedef struct session_episode {
    vclass cls;
    int node;                 /* the device */
    int record;               /* history record index (the child, for a missing parent) */
    int other_record;         /* causal-visibility: the parent's record index; -1 otherwise */
    int64_t start_us;         /* true time the anomalous state was first shown */
    int64_t end_us;           /* true time it stopped being shown (the run's end when still shown) */
    bool open;                /* still shown at the end of the run */
    write_id missing;         /* the write missing from view, or the one shown before (monotonic-reads),
                                 or the predecessor placed after its successor (order-anomaly) */
    write_id shown;           /* what showed instead: the state's last writer, the child's reference
                                 write, or the event placed first (order-anomaly) */
    write_id before_w;        /* the last writer of the state shown before the episode began */
    bool before_deleted;
    bool before_present;
    write_id after_w;         /* the last writer of the state that began it */
    bool after_deleted;
    bool after_present;
} session_episode;

typedef struct session_slot session_slot;

/* Per record: its appends, deletes and creates, in history order (what a log's events can depend on,
 * and what can beat a write from a state's causal past). */
typedef struct session_rec {
    write_id *appends;
    uint32_t n_appends;
    u64map append_set;          /* the appends above: id -> index */
    write_id *deletes;
    uint32_t *appends_before;   /* per delete: how many of the record's appends were made before it */
    uint32_t n_deletes;
    write_id *creates;
    uint32_t n_creates;
} session_rec;

typedef struct session {
    const history *h;
    const profile *prof;      /* the engine profile: grains and references */
    session_slot *slots;      /* per (device, record) */
    size_t n_slots;
    size_t cap_slots;
    u64map slot_index;        /* (node << 32 | record) -> index in slots */
    int *dirty;               /* slots changed during the current event, in first-touch order */
    size_t n_dirty;
    size_t cap_dirty;
    session_episode *episodes;
    size_t n_episodes;
    size_t cap_episodes;
    uint64_t counts[VC_COUNT];        /* episodes per class, kept or not */
    int64_t visible_us[VC_COUNT];     /* true time anomalies of each class were shown, summed */
    u64map depends;           /* a write that set a reference -> index in dep_parent/dep_write */
    int *dep_parent;          /* the parent's record index */
    write_id *dep_write;      /* the parent's last writer on the writer's device when it wrote */
    int *dep_child;           /* the child's record index (the reference write's record) */
    int *dep_next;            /* the previous entry naming the same parent, or -1 */
    size_t n_deps;
    size_t cap_deps;
    u64map dep_by_parent;     /* a parent's record index -> its latest entry in dep_*, chained by dep_next */
    write_id *cascade_delete; /* a parent's delete ... */
    write_id *cascade_child;  /* ... and the latest delete of a dependent child its writer had seen */
    size_t n_cascades;        /* entries of one parent delete are adjacent */
    size_t cap_cascades;
    u64map cascade_index;     /* a parent's delete -> its first entry in cascade_* */
    session_rec *recs;        /* by history record index */
    size_t n_recs;
    size_t cap_recs;
    int *cv_open;             /* slots with a reference's causal-visibility episode open (may hold closed ones) */
    size_t n_cv_open;
    size_t cap_cv_open;
    int64_t now_us;           /* true time of the event being settled */
    /* Scratch for missing_predecessor, kept between calls: a record's appends that could be the
     * missing one, and the view's writes as a hash set (a power of two entries, WRITE_NONE free). */
    const write_rec **candidates;
    size_t cap_candidates;
    write_id *shown_set;
    size_t cap_shown_set;
    size_t shown_mask;        /* the entries the current view uses, less one */
    /* Scratch for view_close, allocated at its first call (SESSION_CLOSE_NODES each): the closure
     * being built, by node, and the nodes it names so far. close_present is all false between calls. */
    vclock order_pasts;       /* scratch for order_inverted: the join of the pasts of a log's events so far */
    uint32_t *close_counter;
    bool *close_present;
    uint32_t *close_nodes;
} session;

/* h and prof are borrowed for the session's life. */
void session_init(session *s, const history *h, const profile *prof);
void session_free(session *s);

/* Device `node` accepted write w (already in the history): note what it depended on. Writes are told
 * in the order they were made (an append told before a delete was made before it). */
void session_write(session *s, int node, write_id w);
/* Device `node`'s stored record changed to reflect these writes (WRITE_NONE entries are skipped). */
void session_observe(session *s, int node, const char *type, const char *id, bool present, bool deleted,
                     write_id record_w, write_id delete_w, const write_id *writes, int n_writes);
/* The event at now_us is over: judge every state it left on a device. */
void session_settle(session *s, int64_t now_us);
/*
 * A conflict a replica reported between winner and loser: true when the two are concurrent
 * writes of one record and both changed a field they share (or either is a delete, or one
 * appended and the other deleted); false when the detection fired though only one side
 * changed it -- one write follows the other, or they wrote different fields of a record of
 * field grain, as a two-way merge without a base or a timestamp comparison flags. Under record
 * grain any two concurrent writes of the record conflict for real. Unknown writes count as true.
 */
bool session_conflict_is_true(const session *s, write_id winner, write_id loser);
/* What the state the device shows of the record now has seen (its closure, as kept: sorted by node),
 * or NULL when the session has no slot for them. Borrowed until the next session call. For tests. */
const vclock *session_shown_closure(const session *s, int node, int record);
/* The run ended at end_us: close every episode still shown. */
void session_finish(session *s, int64_t end_us);
/* The device's store was wiped (a reinstall or a sign-out, docs/lifecycle.md): a new app shows nothing
 * and has written nothing yet. Its open episodes end now, and what it showed and wrote is forgotten. */
void session_forget(session *s, int node, int64_t now_us);

#endif
