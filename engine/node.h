/*
 * node: the one seam between the simulated world (sim/) and a replica.
 *
 * The world drives every replica -- the server and each device -- only
 * through node_ops, and a replica reaches the world only through node_host.
 * A replica never reads a clock, a random number or a socket: the time is
 * handed to it as an argument (its own wall clock, skewed as the world
 * decides), timers are requested from the host, and messages are JSON values
 * given to the host to carry. That is what lets an external implementation
 * (a process speaking newline-delimited JSON) stand in for the built-in
 * engine later: it is one more implementation of node_ops.
 *
 * Provenance: every user write has a write_id assigned by the world. A
 * replica keeps, next to each field value, the id of the write that produced
 * it, and reports it (observations during the run, snapshot at the end). The
 * world keeps the causal history; the replica never sees it.
 */
#ifndef ENGINE_NODE_H
#define ENGINE_NODE_H

#include "engine/message.h"
#include "engine/value.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* (node index << 32) | per-node counter starting at 1. 0 means "no write". */
typedef uint64_t write_id;
#define WRITE_NONE ((write_id)0)
#define WRITE_ID(node, counter) (((uint64_t)(uint32_t)(node) << 32) | (uint32_t)(counter))
#define WRITE_NODE(w) ((int)((w) >> 32))
#define WRITE_COUNTER(w) ((uint32_t)((w)&0xffffffffu))

/* Node 0 is the server; devices are 1..n. */
#define NODE_SERVER 0

typedef enum op_kind {
    OP_CREATE,
    OP_UPDATE,
    OP_DELETE,
    OP_INCREMENT,   /* add to a counter field: fields[0] names it, its value is the int amount */
    OP_APPEND,      /* append an event to the record's log: fields are the event's */
    OP_RESOLVE,     /* the user resolves a conflict waiting on the record: fields[0] is
                       {"pick": "local" | "server" | "merge"} */
    OP_OPEN,        /* the user opens the record in a form: the device keeps a copy of it as stored now,
                       in memory, for a later update or delete made on it (from_form). Not a write: it
                       has no write id and changes nothing stored */
} op_kind;
#define OP_KIND_LAST OP_OPEN

const char *op_kind_name(op_kind op);
bool op_kind_parse(const char *text, op_kind *out);

typedef struct op_field {
    const char *name;
    value v;
} op_field;

/* A user operation on a device. Strings are borrowed for the call only. */
typedef struct user_op {
    op_kind kind;
    const char *type;        /* entity type, e.g. "workout" */
    const char *id;          /* record id, chosen by the client */
    write_id w;              /* the id the world assigned to this write; also an appended event's id */
    int n_fields;
    const op_field *fields;  /* create/update: fields written; increment: {field, amount};
                                append: the event's fields. Sorted by name. */
    bool from_form;          /* update, delete: made on the copy an earlier OP_OPEN of the record kept, not
                                on the record as stored now: that copy's version is the change's declared
                                base (a form saved after the record changed underneath it) */
} user_op;

typedef enum node_control {
    CTL_SYNC_NOW,   /* the user pressed "sync" */
    CTL_NET_UP,     /* the device's network came back (navigator.onLine) */
    CTL_NET_DOWN,   /* the device knows it is offline */
} node_control;

typedef enum obs_kind {
    OBS_RECORD,      /* a record's stored state on this node changed */
    OBS_RECEIVED,    /* server: a change carrying write `w` was processed */
    OBS_CONFLICT,    /* a concurrent modification was detected and resolved */
    OBS_SYNC_BEGIN,  /* device: a sync round started (count = changes waiting to be pushed) */
    OBS_SYNC_END,    /* device: a sync round completed (pushed all, pulled to the head) */
    OBS_RETRY,       /* device: a request failed and will be retried (count = attempt) */
    OBS_GAVE_UP,     /* device: the retry schedule ran out */
    OBS_SERVED_HEAD, /* server: answered device `peer` with everything it has (a pull to the head) */
    OBS_REFUSED,     /* server: the change carrying write `w` was refused by its type's rules;
                        device: its write `w` was rolled back after the server refused it */
    OBS_CONFLICT_PENDING, /* device: a conflict on the record waits for the user to resolve it */
    OBS_SEEN,        /* device: the user was shown these writes (the other side of a conflict) */
    OBS_DROPPED,     /* device: write `w` was abandoned unsent (detail says why) */
    OBS_INVALID,     /* server: the change carrying write `w` failed validation (detail says why) */
    OBS_ID_ASSIGNED, /* server: a change of device `peer` carrying write `w` named record `id` by the
                        temporary id `detail`; the server gave it the id `id` (profile ids: server) */
    OBS_ID_MAPPED,   /* device: its record with temporary id `detail` is now record `id` */
    OBS_FLUSHED,     /* device: what it committed so far is durable (profile sync: flush: every), so a
                        power loss no longer drops it */
} obs_kind;

struct record;

typedef struct observation {
    obs_kind kind;
    const char *type;          /* record key, when the observation is about a record */
    const char *id;
    /* OBS_RECORD: the record's provenance after the change. */
    bool deleted;
    write_id record_w;         /* last write applied to the record as a whole */
    write_id delete_w;         /* the delete in effect, when deleted */
    int n_writes;
    const write_id *writes;    /* OBS_RECORD: provenance of every field */
    /* OBS_RECEIVED: the write carried; OBS_CONFLICT: the winning and losing writes. */
    write_id w;
    write_id loser;
    const char *detail;        /* OBS_CONFLICT: conflict kind and strategy; OBS_GAVE_UP: reason */
    int64_t count;             /* OBS_RETRY: attempt number; OBS_SYNC_END: changes pulled;
                                  OBS_SYNC_BEGIN: the sync queue's depth */
    int peer;                  /* OBS_SERVED_HEAD: the device served; OBS_ID_ASSIGNED: the device that pushed */
    /* OBS_RECORD from the built-in engine: the record itself, for `syncsim node` to report it whole
     * (fields with their values). The world reads only the provenance above. */
    const struct record *rec;
} observation;

typedef struct node_host {
    void *ctx;
    /* Give a message to the network. The sender's reference to msg passes to the host. */
    void (*send)(void *ctx, int from, int to, message *msg);
    /* Call node_ops.timer(token) after delay_us of the node's monotonic clock. */
    void (*set_timer)(void *ctx, int node, int64_t delay_us, uint64_t token);
    /* Report what happened; the observation is borrowed for the call. */
    void (*observe)(void *ctx, int node, const observation *obs);
    /* The node's monotonic clock now (drifts with its wall clock, never steps): what an external
     * node is told with every request. The built-in engine needs only the wall clock it is handed. */
    int64_t (*mono_now)(void *ctx, int node);
    /* The replica cannot go on (an external process exited, broke the protocol or timed out):
     * message says which, doing what, and why. The world ends the run. Never called by the
     * built-in engine. */
    void (*fail)(void *ctx, int node, const char *message);
} node_host;

typedef struct node node;

/* What the world does to a replica's storage (docs/faults.md, "Storage faults"). */
typedef enum storage_fault_kind {
    STORAGE_DISK_FULL,   /* from now on a write that would grow the store fails (SQLITE_FULL) */
    STORAGE_DISK_FREED,  /* space again: writes grow the store */
    STORAGE_IO_ERROR,    /* the next `writes` transactions that write fail with an I/O error */
    STORAGE_HEALED,      /* no fault: space, and no I/O error pending */
} storage_fault_kind;

typedef struct storage_fault {
    storage_fault_kind kind;
    int writes;          /* STORAGE_IO_ERROR: how many transactions fail, at least 1 */
} storage_fault;

const char *storage_fault_kind_name(storage_fault_kind kind);
bool storage_fault_kind_parse(const char *text, storage_fault_kind *out);

/* What deleting the app's local database removes (the profile's lifecycle: { wipe }, docs/lifecycle.md). */
typedef enum lifecycle_wipe {
    WIPE_ALL,        /* records, outbox, conflicts, id map, cursors, watermark: everything but the counters */
    WIPE_DATA_ONLY,  /* the same, but the pull cursors (the replication checkpoint) are kept */
} lifecycle_wipe;

/* Why the local database is deleted. */
typedef enum lifecycle_kind {
    LIFECYCLE_REINSTALL, /* the app is deleted and installed again: its user gave up what was unsynced,
                            and the world knows it (nothing to report) */
    LIFECYCLE_SIGN_OUT,  /* the user signs out and the app deletes its local database: every change still
                            waiting to be pushed is abandoned by the design, reported as OBS_DROPPED */
    LIFECYCLE_SWITCH,    /* device: its user signs out (as LIFECYCLE_SIGN_OUT, unless keep_data, which keeps
                            the records table) and `user` signs in on the same device: from its next boot it
                            pulls and writes as `user` */
    LIFECYCLE_ACCOUNT,   /* server: `device` belongs to `user` from now on (its isolation rule); asked before
                            the device's LIFECYCLE_SWITCH, and again with the old user if that fails */
} lifecycle_kind;

typedef struct lifecycle_call {
    lifecycle_kind kind;
    lifecycle_wipe wipe;
    const char *user;    /* SWITCH, ACCOUNT: the account signing in (borrowed for the call) */
    int device;          /* ACCOUNT: the device switching */
    bool keep_data;      /* SWITCH: the profile's lifecycle: { switch: keep-data }, the bug: the old user's
                            records stay in the local database (everything else goes as under wipe: all) */
} lifecycle_call;

const char *lifecycle_wipe_name(lifecycle_wipe wipe);
bool lifecycle_wipe_parse(const char *text, lifecycle_wipe *out);

typedef struct node_ops {
    /* Start, or restart after a crash: recover from durable state. */
    void (*boot)(node *n, int64_t now_us);
    /* Lose all volatile state (in-flight requests, caches); keep the store. */
    void (*crash)(node *n);
    /* A power loss, just before crash: put the store back to its last flush (docs/faults.md). False,
     * or NULL, when the node cannot: the world then crashes it plainly, and the trace says so. */
    bool (*power_loss)(node *n, int64_t now_us);
    /* A user operation. Returns false, with a static reason, when refused. */
    bool (*user_op)(node *n, const user_op *op, int64_t now_us, const char **reason);
    /* A message arrived. msg is borrowed for the call (it is never changed: a reader may ask for
     * its JSON, message_json, which it then keeps). */
    void (*deliver)(node *n, int from, message *msg, int64_t now_us);
    void (*timer)(node *n, uint64_t token, int64_t now_us);
    /* What a timer token means, for the trace ("retry"): a static string. NULL, or a NULL answer,
     * when the node gives its tokens no names (the trace then shows the number). */
    const char *(*timer_name)(const node *n, uint64_t token);
    void (*control)(node *n, node_control ctl, int64_t now_us);
    /* True when the node has nothing left to do on its own initiative:
     * no local change waiting to be pushed and no request in flight. */
    bool (*idle)(node *n);
    /* Whether the node can take this kind of user operation; NULL: every kind. Asked after boot. */
    bool (*supports)(node *n, op_kind op);
    /*
     * The replica's whole state, for checking:
     *   {"records": [{"type","id","tenant","deleted","w","del_w","version",
     *                 "fields": {name: {"v": value, "w": write}},
     *                 "events": [{"w": write}, ...]}],   sorted by (type, id); events in log order
     *    "kept":    [{"type","id","w"}]}   losing writes kept for the user
     * The caller frees the result with cJSON_Delete.
     */
    cJSON *(*snapshot)(node *n);
    void (*destroy)(node *n);
    /* Set the replica's storage faults. NULL, or false, when it cannot (the world skips the fault
     * and traces that it did); the built-in engine can when its store was opened faultable. */
    bool (*storage_fault)(node *n, const storage_fault *fault, int64_t now_us);
    /* Delete the app's local database (docs/lifecycle.md): everything the wipe names goes, but never
     * the counters that must not repeat (operation ids, boot count, request numbering). The world
     * crashes the node next, and boots it again (a reinstall) or keeps it down until sign-in (a
     * sign-out), or boots it as its new user (a switch). Only called on a running device, except
     * LIFECYCLE_ACCOUNT, which goes to the server. False, or NULL, when the node cannot: the world
     * then leaves it as it is and the trace says so. */
    bool (*lifecycle)(node *n, const lifecycle_call *call, int64_t now_us);
} node_ops;

/* Every implementation embeds this first. */
struct node {
    const node_ops *ops;
};

#endif
