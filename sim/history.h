/*
 * history: the ground truth the simulator keeps and the engine never sees.
 *
 * For every user write: who wrote it, when (true time, device clock, skew),
 * in what network state, and its causal parents -- the writes to the same
 * record the device had seen when it wrote. "Seen" means reflected in the
 * device's stored state at some point: the simulator learns it from the
 * provenance replicas report (OBS_RECORD), closed transitively.
 *
 * Causal pasts are per record and stored as sparse vector clocks: entry
 * (node, counter) means "every write by node to this record with a counter
 * up to this one". That is exact because a node's writes to a record are
 * sequential and each includes the node's earlier ones in its past.
 */
#ifndef SIM_HISTORY_H
#define SIM_HISTORY_H

#include "base/arena.h"
#include "base/hash.h"
#include "engine/node.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vc_entry {
    uint32_t node;
    uint32_t counter;
} vc_entry;

/* Sorted by node, one entry per node. */
typedef struct vclock {
    vc_entry *e;
    uint32_t n;
    uint32_t cap;
} vclock;

uint32_t vclock_get(const vclock *vc, uint32_t node);
void vclock_raise(vclock *vc, uint32_t node, uint32_t counter);
void vclock_merge(vclock *dst, const vclock *src);
/* Room for n entries (capacity grows as vclock_raise grows it). */
void vclock_reserve(vclock *vc, uint32_t n);
void vclock_free(vclock *vc);

typedef struct write_rec {
    write_id w;
    int node;               /* the writer */
    int record;             /* index into history.records */
    op_kind op;
    int n_fields;
    op_field *fields;       /* copied into the history's arena */
    int64_t true_us;
    int64_t local_us;       /* the writer's wall clock */
    int64_t skew_us;        /* the writer's clock error at the time */
    bool online;            /* the device believed it was online */
    int cut;                /* DIR_* bits of its link cut at the time */
    vclock past;            /* causal parents on this record */
    bool accepted;          /* false when the device refused the operation */
    const char *refused;    /* the reason, when refused */
    int received;           /* times the server processed a change carrying it */
    int step;               /* scenario step index, or -1 */
    write_id displaced_by;  /* the write whose server version first left no trace of this one, or none */
    bool took_effect;       /* a delete: the server's copy was deleted by it at some point */
    write_id revived_by;    /* a delete that took effect: the write that brought the record back */
    const char *rejected;   /* why the server refused it by its type's rules or schema, or NULL */
    const char *dropped;    /* why its device abandoned it unsent, or NULL */
    const char *withdrawn;  /* why it was never acknowledged to its user and then lost (a power loss
                               before its batch was flushed, under acknowledge: on-flush), or NULL:
                               counted like a refused write (rejected), never as lost */
    write_id lost_to;       /* the first winner a replica reported this write losing a conflict to (OBS_CONFLICT),
                               or none: an engine that merges before it sends may overwrite a device's own write
                               on the device itself, and then send it only as a tombstone the server never shows */
    const char *power_lost; /* why a power loss took it from its device after its user saw it saved
                               (acknowledge: on-write), or NULL: lost, whatever later writes of its
                               device claim to follow it (the causal past cannot leave it out) */
    const char *user;       /* the account its device was signed in to when it was made (a switch_account
                               step changes it, docs/lifecycle.md), or NULL: the device's own user: */
    uint32_t ordinal;       /* its place among its record's writes, from 0: its bit in a merge memo */
    uint32_t wipes;         /* its device's store wipes (reinstalls, sign-outs) before it was made: a later
                               write of the same device with more wipes counts it in its past (a per-writer
                               counter cannot leave it out) though it may not have been made on it */
} write_rec;

/* One writer's writes by counter, beside by_id: the world numbers a device's writes 1, 2, 3, ..., so an
 * array indexed by counter finds a write without hashing. Entry: index in history.writes, or -1. */
typedef struct writer_index {
    int *at;
    uint32_t n;             /* counters 0 .. n-1 have an entry */
} writer_index;

/* What history_observe reads of every write it is shown, packed beside writes (a write_rec is a few
 * cache lines, and an event log names hundreds of writes): its record while accepted, else -1, and
 * its ordinal. Kept by history_add_write and history_write_done. */
typedef struct write_hot {
    int accepted_record;
    uint32_t ordinal;
} write_hot;

typedef struct hist_record {
    const char *type;
    const char *id;
    const char *key;        /* "type/id" */
    uint32_t n_writes;      /* writes to it so far: the next write's ordinal */
    uint32_t pasts_set;     /* history_set_past calls on its writes so far: a closure made before
                               one may hold a past that is no longer the write's */
} hist_record;

/*
 * Which writes of one record history_observe has merged into one seen clock since it was last
 * emptied: bit `ordinal` set means the clock already holds that write and its whole past, so
 * merging them again changes nothing. That holds because a seen clock only grows between wipes
 * (history_wipe empties clock and memo together) and a write's past is fixed once merged
 * (history_set_past clears the write's bit in every memo of its record).
 */
typedef struct merge_memo {
    uint64_t *bits;
    uint32_t n_words;
} merge_memo;

/* What the server's copy of a record holds now: every write with a trace in it, sorted. */
typedef struct server_view {
    write_id *ws;
    uint32_t n;
    uint32_t cap;
    write_id record_w;      /* the record's last writer */
    write_id delete_w;      /* the delete in effect, or none while live */
} server_view;

typedef struct history {
    arena a;
    server_view *server;    /* per record */
    size_t cap_server;
    write_id *arrivals;     /* writes the server received while handling the current message */
    size_t n_arrivals;
    size_t cap_arrivals;
    write_rec *writes;
    write_hot *hot;         /* beside writes, index for index */
    size_t n_writes;
    size_t cap_writes;
    size_t cap_hot;
    u64map by_id;           /* write_id -> index in writes: every write */
    writer_index *writers;  /* per writer node below 65,536: the same for a counter below twice its table
                               plus 1,024 when added (all of the world's, which are dense); by_id has the rest */
    size_t cap_writers;
    hist_record *records;
    size_t n_records;
    size_t cap_records;
    strmap record_index;    /* key -> index in records */
    vclock *seen;           /* what a node has seen of a record */
    merge_memo *merged;     /* beside seen: the writes merged into it (history_observe skips them) */
    size_t n_seen;
    size_t cap_seen;
    size_t cap_merged;
    u64map seen_index;      /* (node << 32 | record) -> index in seen */
    uint32_t seen_nodes;    /* nodes 0 .. seen_nodes-1 may have an entry in seen */
    uint32_t *wipes;        /* per node: store wipes so far (history_wipe), NULL until the first */
    size_t cap_wipes;
    const char **users;     /* per node: the account it switched to last (history_set_user, borrowed), NULL
                               entries (and NULL until the first switch) for a device still on its own user: */
    size_t cap_users;
    int observed_record;    /* the record the last history_observe matched, or -1: only a hint for a caller
                               that looks the same record up next (history_record_is checks it) */
} history;

typedef enum causal {
    CAUSAL_SAME,
    CAUSAL_BEFORE,          /* a happened before b */
    CAUSAL_AFTER,           /* a happened after b */
    CAUSAL_CONCURRENT,
} causal;

void history_init(history *h);
void history_free(history *h);

int history_record(history *h, const char *type, const char *id);
int history_find_record(const history *h, const char *type, const char *id);
/* history_find_record(h, type, id) == record, without the look-up (a string compare): for a caller
 * that has a likely index already. */
bool history_record_is(const history *h, int record, const char *type, const char *id);

/* A write the world is about to hand to a device; its past is the device's view now. Returns its index. */
int history_add_write(history *h, int node, write_id w, const user_op *op, int64_t true_us, int64_t local_us,
                      int64_t skew_us, bool online, int cut, int step);
void history_write_done(history *h, int index, bool accepted, const char *refused);
/* What node has seen of the record now, merged into *out (an open form's causal context). */
void history_seen_now(history *h, int node, const char *type, const char *id, vclock *out);
/* A write made on a declared base (a form's copy): its causal past is what its device had seen when
 * the form was opened, not what it has seen since. Like every past, it holds only writes made before
 * the write (the session's checks rely on it). */
void history_set_past(history *h, int index, const vclock *past);
/* The write, or NULL for an unknown id. */
const write_rec *history_write(const history *h, write_id w);

/* A node's stored record now reflects these writes (any may be WRITE_NONE). */
void history_observe(history *h, int node, const char *type, const char *id, const write_id *writes, int n_writes);
void history_received(history *h, write_id w);
/* The server refused w (reason copied); its device rolled it back. */
void history_rejected(history *h, write_id w, const char *reason);
/* A replica reported loser losing a conflict to winner (the first report is kept). */
void history_conflict_lost(history *h, write_id loser, write_id winner);
/* w's device abandoned it unsent (reason copied). */
void history_dropped(history *h, write_id w, const char *reason);
/* w was never acknowledged to its user and is gone from its device (reason copied). */
void history_withdrawn(history *h, write_id w, const char *reason);
/* w was acknowledged to its user and a power loss took it from its device unsent (reason copied). */
void history_power_lost(history *h, write_id w, const char *reason);
/* The node's accepted writes the server has not received and that no other mark settles (refused,
 * dropped, withdrawn, power-lost), in the order they were made: what a wipe of its store would take.
 * *out is allocated (xfree it; NULL when none). */
size_t history_unsynced(const history *h, int node, write_id **out);
/* The node's store was wiped (docs/lifecycle.md): it has seen nothing of any record from now on, and
 * its later writes carry one more wipe (write_rec.wipes). */
void history_wipe(history *h, int node);
/* The node's device belongs to user from now on (a switch of accounts): its later writes are that
 * user's (write_rec.user). user is borrowed and must outlive the history (the scenario's arena). */
void history_set_user(history *h, int node, const char *user);
/* The account the node's device is signed in to now: the last history_set_user, else fallback. */
const char *history_user(const history *h, int node, const char *fallback);
/*
 * The server's copy of a record changed to hold exactly these writes (fields,
 * events, its last writer and delete). A write that had a trace in the old
 * copy and has none now was displaced by the new copy's last writer.
 */
void history_server_state(history *h, const char *type, const char *id, write_id record_w, write_id delete_w,
                          bool deleted, const write_id *writes, int n_writes);
/* The server finished handling a message: a change it received that left no trace was
 * displaced on arrival by whatever holds the record. */
void history_settle_arrivals(history *h);

/* How a relates to b. Both must be writes to the same record. */
causal history_relation(const history *h, write_id a, write_id b);
/* The same for writes already looked up (a loop over many pairs looks each up once). */
causal history_relation_of(const write_rec *a, const write_rec *b);
/*
 * x is a create of the record concurrent with the append w: a second
 * incarnation made by a device that had not seen the one w appended to. Where
 * x won the record, the record starts again from it with its own empty log
 * (Automerge and Yjs put a new map at the key), and w lost to x as a field
 * loses to a concurrent write of it: x beats w. The final-state checker
 * (classify_append) and the session checker (read-your-writes) both judge an
 * append's loss by it. False for any other pair of ops.
 */
bool history_recreate_beats_append(const history *h, const write_rec *x, const write_rec *w);

#endif
