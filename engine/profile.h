/*
 * profile: the configuration of the built-in engine that makes it behave as
 * one sync design -- how often and how it syncs, how it retries, and, per
 * entity type, which conflict strategy decides. Profiles are read from YAML
 * by sim/profile_load.c; the engine only reads this struct.
 */
#ifndef ENGINE_PROFILE_H
#define ENGINE_PROFILE_H

#include "engine/record.h"

#include <stdbool.h>
#include <stdint.h>

#define PROFILE_RETRY_MAX 16
#define PROFILE_ENTITIES_MAX 32
#define SCHEMA_FIELDS_MAX 16
#define SCHEMA_ENUM_MAX 8
#define REFS_MAX 4

typedef struct strategy_def strategy_def;
typedef struct wire_dialect wire_dialect;

/* Whether a conflict is decided for the whole record or field by field. */
typedef enum grain {
    GRAIN_RECORD,
    GRAIN_FIELD,
} grain;

/* Who wins when a delete meets a concurrent edit. */
typedef enum delete_rule {
    DELETE_BY_STRATEGY,   /* the entity's strategy decides, as for any other write */
    DELETE_WINS,          /* a delete beats every concurrent edit */
    DELETE_EDIT_WINS,     /* an edit resurrects a concurrently deleted record */
    DELETE_NEWER_TIMESTAMP,  /* the newer device timestamp wins: an edit stamped after the delete
                                resurrects the record, else the delete stands (IronFlow) */
} delete_rule;

/* How an increment travels and merges. */
typedef enum counter_mode {
    COUNTER_ABSOLUTE,   /* the client writes the new total as a plain field; the strategy decides */
    COUNTER_CRDT,       /* each device's contribution travels; merge takes the per-device maximum */
    COUNTER_MAX,        /* the client's new total travels; merge keeps the larger total (IronFlow's
                           volume counters: concurrent increments are lost) */
    COUNTER_OPS,        /* the increment's delta travels; the server adds every delta it applies to its
                           stored total (Firestore's FieldValue.increment): a retried or duplicated
                           push counts twice unless the profile's idempotency keys stop the replay */
} counter_mode;

#define DONE_WITH_MAX 8

/* A field's expected shape, for payload validation (StrongLog's Zod schemas). */
typedef struct schema_field {
    const char *name;
    value_kind kind;                  /* VAL_STRING, VAL_INT, VAL_REAL or VAL_BOOL */
    bool required;                    /* a create must carry it */
    int n_enum;                       /* strings: the allowed values, when any */
    const char *enum_values[SCHEMA_ENUM_MAX];
} schema_field;

/* A field that names another record (petId -> pet): its value is that record's id. */
typedef struct ref_field {
    const char *field;
    const char *type;
} ref_field;

typedef struct entity_rules {
    const char *type;                 /* entity type; "*" for the fallback */
    const strategy_def *strategy;
    grain grain;
    delete_rule on_delete;
    counter_mode counters;
    event_order events_order;         /* how an event log is ordered */
    bool events_dedup;                /* an event arriving twice is stored once (by its id) */
    /* done-wins: the field and value that mean "done", and the fields that travel with it. */
    const char *done_field;
    value done_value;
    int n_done_with;
    const char *done_with[DONE_WITH_MAX];
    /* Payload validation: the fields a change of this type may carry, when n_schema > 0. */
    int n_schema;
    schema_field schema[SCHEMA_FIELDS_MAX];
    /* Dependencies: lower ranks are pushed first (parents before children). */
    int rank;
    int n_refs;
    ref_field refs[REFS_MAX];
    /* A reducer that recomputes projections from the event log after every merge, or NULL. */
    const char *reducer;
} entity_rules;

/* How a client finds what to push. */
typedef enum change_detection {
    CHANGES_OUTBOX,      /* a sync queue written with each change, in one transaction */
    CHANGES_WATERMARK,   /* records whose clientUpdatedAt is after the last push's timestamp */
} change_detection;

/* Which clock the watermark of CHANGES_WATERMARK is read from after a successful push. */
typedef enum watermark_clock {
    WATERMARK_DEVICE,    /* the device's clock when the push succeeded (StrongLog) */
    WATERMARK_SERVER,    /* the server's timestamp in its answer (activity events' newSyncTimestamp) */
} watermark_clock;

/* What a pull cursor counts. */
typedef enum cursor_kind {
    CURSOR_SEQ,          /* the server's change-log sequence number: never misses a change */
    CURSOR_SERVER_TIME,  /* the server's updatedAt timestamps (?since=ts) */
    CURSOR_WRITER_TIME,  /* the writer's own timestamp of each record's last write (the device clock that
                            stamped it: a column the client fills, queried ?since=ts): a write stamped by a
                            clock behind another's lands behind cursors that have already passed */
} cursor_kind;

/* Where a timestamp cursor moves after a page. */
typedef enum cursor_next {
    NEXT_LAST_RECORD,    /* the last record's updatedAt */
    NEXT_SERVER_NOW,     /* the server's clock in the answer (lastSyncTimestamp = response.timestamp) */
} cursor_next;

/* How the server decides that a change is concurrent with its record. */
typedef enum conflict_detection {
    DETECT_VERSION,      /* optimistic locking: the change's base version is not the record's */
    DETECT_TIMESTAMP,    /* SmartDMV: the record's updatedAt (server clock) is after the change's
                            timestamp (device clock) */
} conflict_detection;

/* Who names a new record. */
typedef enum id_assign {
    IDS_CLIENT,          /* the device picks the id; every replica keeps it */
    IDS_SERVER,          /* SmartDMV's ID mapping: the device names a new record with a temporary id, the
                            server assigns the real one when the create arrives and answers with both;
                            the device renames its copy and maps the temporary id from then on */
} id_assign;

/* What a device does when the server's gateway refuses its token (401, docs/faults.md). */
typedef enum auth_refresh {
    AUTH_REFRESH_REQUEST,  /* renew the token (a round trip to the auth service), then retry at once
                              (IronFlow: "Token expired -> Re-authenticate, then retry") */
    AUTH_REFRESH_RELAUNCH, /* a failed request like any other (the retry rules count it); the app gets a
                              new token only when it starts again (a crash and restart) */
} auth_refresh;

/* What the simulated user picks when resolving a conflict by hand. */
typedef enum manual_pick {
    PICK_LOCAL,          /* keep this device's version */
    PICK_SERVER,         /* keep the server's version */
    PICK_MERGE,          /* both: the server's, with this device's fields on top */
    PICK_NEWEST,         /* the version with the later device timestamp */
    PICK_RANDOM,         /* drawn by the world, per conflict, from the device's resolve stream */
} manual_pick;

/*
 * The shape of a sync round (sync: round, pull_over_pending, during_round, push_snapshot,
 * watermark_taken; docs/rounds.md). Each default (0) is the round the engine always ran.
 */
typedef enum round_order {
    ROUND_PUSH_PULL,     /* push every batch, then pull every page */
    ROUND_PULL_PUSH,     /* pull every page, then push every batch (WatermelonDB's synchronize()) */
    ROUND_STREAMS,       /* a push stream and a pull stream, each with its own request in flight, retries
                            and owed runs; neither waits for the other (PowerSync, Couchbase Lite's push
                            and pull replicators) */
} round_order;

/* What a pulled record does to a local record that still has queued changes (changes: outbox). */
typedef enum pull_over_pending {
    PULL_OVER_KEEP,      /* the local record stays; the server decides the queued changes */
    PULL_OVER_REBASE,    /* the pulled record with the queued changes' fields on top, and the queued
                            changes now count as made on the pulled version: the server sees no conflict */
    PULL_OVER_REPLACE,   /* the pulled record as it is; the queued changes stay and are pushed later */
    PULL_OVER_DISCARD,   /* the pulled record as it is; the queued changes are dropped unsent */
} pull_over_pending;

/* What a sync asked for while a round runs does. */
typedef enum during_round {
    DURING_COALESCE,     /* one more round after this one, however many asked */
    DURING_QUEUE,        /* one more round per request */
    DURING_DROP,         /* nothing: the request is ignored */
} during_round;

/* Which queued changes a round pushes. */
typedef enum push_snapshot {
    SNAPSHOT_CURRENT,    /* each batch takes what the outbox holds when it is sent */
    SNAPSHOT_ROUND_START,/* only the changes queued when the round began; later ones wait a round */
} push_snapshot;

/* When a device-clock watermark (changes: watermark, watermark: device-clock) is read. */
typedef enum watermark_taken {
    TAKEN_ANSWER,        /* when the push's answer arrives */
    TAKEN_SEND,          /* when the changes were read and sent */
    TAKEN_ROUND_END,     /* when the whole round has finished, after its pulls */
} watermark_taken;

/* When the pull cursor is written to the store. */
typedef enum cursor_saved {
    CURSOR_SAVED_PAGE,   /* after each page, with the page's records */
    CURSOR_SAVED_ROUND,  /* when the round finishes: a round that fails or crashes pulls again from the old one */
} cursor_saved;

typedef struct profile {
    const char *name;
    /* Sync triggers. */
    int64_t sync_interval_us;         /* periodic sync while online; 0 = none */
    int64_t sync_after_write_us;      /* sync this long after a local write; < 0 = never */
    bool sync_on_reconnect;           /* sync when the network comes back */
    /* Batching and paging. */
    int push_batch_max;               /* changes per push request, >= 1 */
    int pull_page_max;                /* records per pull page, >= 1 */
    /* Failure handling. */
    int64_t request_timeout_us;       /* a request unanswered this long has failed */
    int n_retry;                      /* entries in retry_us, >= 1 */
    int64_t retry_us[PROFILE_RETRY_MAX];  /* delay before retry k (k = failures - 1) */
    bool retry_stop_when_exhausted;   /* after the schedule: stop (true) or repeat the last delay */
    int retry_drop_after;             /* drop a change after this many unanswered pushes; 0 = never */
    bool idempotency;                 /* the server deduplicates changes by operation id */
    /* queue_base: as-queued: a queued change keeps, as its declared base, the version its record had
     * when the user made it, even after the server acknowledged an earlier change of the same record
     * (AWS Amplify DataStore's _version, amplify-js#6128); the server then judges it against a version
     * it has already replaced. Default (rebased): an acknowledgement moves the record's later queued
     * changes onto the version it created, as they were built on this device's own change. */
    bool queue_base_as_queued;
    /* Durability of a device's local writes (sync: flush:, docs/faults.md). 0 (flush: commit, the
     * default): every transaction is durable when it commits, and no copy is ever made. > 0: the
     * store is made durable in batches, this often by the device's monotonic clock and before any
     * message leaves the device; a power loss drops what was committed since the last flush. */
    int64_t flush_every_us;
    bool flush_ack_on_flush;          /* acknowledge: on-flush: the app confirms a write to its user only
                                         when its batch is durable (else on-write: at once) */
    id_assign ids;                    /* who names a new record */
    auth_refresh auth_refresh;        /* what a 401 makes the device do */
    /* How the messages are spelled (engine/wire.h): syncsim's own, or a design document's
     * request and response shapes. Never changes what the engine decides. */
    const wire_dialect *wire;
    /* Change detection and cursors. */
    change_detection changes;
    watermark_clock watermark;
    cursor_kind cursor;
    cursor_next cursor_next;
    bool cursor_inclusive;            /* a timestamp cursor asks for >= since (else > since) */
    int n_pull_types;                 /* > 0: one cursor per entity type, pulled in this order */
    const char *pull_types[PROFILE_ENTITIES_MAX];
    /* The round's shape (docs/rounds.md). */
    round_order round;
    pull_over_pending pull_over_pending;
    /* What a pulled record does to a record this device deleted and has not pushed the delete of:
     * pull_over_pending: { edited: ..., deleted: ... } sets it apart (WatermelonDB re-creates a record
     * the server sends as created over a local delete, but keeps locally edited columns); else the same. */
    pull_over_pending pull_over_deleted;
    /* sync: { pull_apply: by-kind }: a pulled page is applied as a changeset: its creates, then its
     * updates, then its deletes, and a delete only of a record this device held before the page
     * (WatermelonDB's applyRemoteChanges). Default (in-order): each record in the order it came. */
    bool pull_apply_by_kind;
    during_round during_round;
    push_snapshot push_snapshot;
    watermark_taken watermark_taken;
    cursor_saved cursor_saved;
    /* Server behaviour. */
    conflict_detection detect;
    /* conflicts: { clocks: none }: no clock orders concurrent writes (an external engine that picks
     * by client or operation id, or by server sequence), so a loss is never the clocks' doing and
     * skew-inversion is not judged. The built-in strategies all read some clock. */
    bool clocks_none;
    bool batch_atomic;                /* an invalid change rolls back its whole push */
    bool validate_client;             /* a device refuses a write that fails its type's schema */
    bool validate_server;             /* the server refuses a change that fails its type's schema */
    /* Visibility in time on the server (the profile's server:, docs/server-visibility.md). All zero,
     * the default: a write is visible to every pull the instant it is applied, and the push is answered
     * at once. commit_delay_us > 0: a push's transaction takes its change-log sequence numbers and its
     * updatedAt when it begins and commits commit_delay_us + commit_delay_per_change_us * (changes in
     * the push) later (server monotonic clock); pulls see its writes only from then, and the pushing
     * device gets its answer then. feed_lag_us > 0: pulls read a change feed that shows a committed
     * write this much later still (pushes and their conflict checks go to the primary). */
    int64_t commit_delay_us;
    int64_t commit_delay_per_change_us;
    /* commit_delay: { dist: ... }: > 0 draws the profile's loader made from the distribution (a table that
     * is the same in every run); each push takes one, picked by a hash of the server's boot seed and the
     * push's number since boot, in place of commit_delay_us. */
    int n_commit_delay_draws;
    const int64_t *commit_delay_draws;
    int64_t feed_lag_us;
    bool cursor_horizon;              /* a pull never returns a write numbered, or stamped, after the oldest
                                         write not yet visible, so no cursor moves past one (the fix) */
    /* server: { pulls: log }: a pull returns every stored version after the cursor, in change-log order
     * (a server that plays back the changes it received), not each changed record once as it is now. */
    bool pulls_log;
    /* Manual resolution: how long the simulated user takes, and what they pick. */
    int64_t resolve_delay_us;
    manual_pick resolve_pick;
    /* Conflict rules. */
    entity_rules fallback;            /* for entity types not listed */
    int n_entities;
    entity_rules entities[PROFILE_ENTITIES_MAX];
    /* Device lifecycle (lifecycle:, docs/lifecycle.md): what deleting the app's local database
     * removes at a reinstall or a sign-out, and whether a sign-out first pushes what is pending
     * (sync-first, the default) or deletes it with the database at once (discard). A switch of accounts
     * is a sign-out of the old user and a sign-in of the new one; under switch: keep-data (the bug) its
     * wipe keeps the old user's records in the local database, visible to the new user. */
    lifecycle_wipe wipe;
    bool sign_out_discard;
    bool switch_keep_data;
} profile;

/* A correct, conservative starting point: HLC last-write-wins per field,
 * idempotent pushes, periodic and reconnect sync. Profiles override it. */
void profile_defaults(profile *p);
/* Whether a pull may not see every applied write at once (commit_delay or feed_lag). */
bool profile_server_delays(const profile *p);
/*
 * Keys that only make sense together. NULL when p is a design the engine can run; else why not,
 * with *key the profile key to blame as a path ("sync.pull_over_pending"), for the loaders to point
 * at: the profile file's own, and a workload's vary: draws, which set keys after the file is read.
 */
const char *profile_check(const profile *p, const char **key);
const entity_rules *profile_rules(const profile *p, const char *type);

const char *grain_name(grain g);
bool grain_parse(const char *text, grain *out);
const char *delete_rule_name(delete_rule r);
bool delete_rule_parse(const char *text, delete_rule *out);
const char *counter_mode_name(counter_mode m);
bool counter_mode_parse(const char *text, counter_mode *out);
const char *event_order_name(event_order o);
bool event_order_parse(const char *text, event_order *out);
const char *manual_pick_name(manual_pick p);
bool manual_pick_parse(const char *text, manual_pick *out);
const char *change_detection_name(change_detection c);
const char *watermark_clock_name(watermark_clock w);
const char *cursor_kind_name(cursor_kind k);
const char *cursor_next_name(cursor_next n);
const char *conflict_detection_name(conflict_detection d);
const char *id_assign_name(id_assign a);
const char *auth_refresh_name(auth_refresh a);
/* The round's keys as a profile spells them; the tables are in the enums' order. */
extern const char *const ROUND_ORDER_NAMES[3];
extern const char *const PULL_OVER_PENDING_NAMES[4];
extern const char *const DURING_ROUND_NAMES[3];
extern const char *const PUSH_SNAPSHOT_NAMES[2];
extern const char *const WATERMARK_TAKEN_NAMES[3];
extern const char *const CURSOR_SAVED_NAMES[2];
extern const char *const QUEUE_BASE_NAMES[2];     /* sync: queue_base; index 1 sets queue_base_as_queued */
extern const char *const PULL_APPLY_NAMES[2];     /* sync: pull_apply; index 1 sets pull_apply_by_kind */
extern const char *const SERVER_PULLS_NAMES[2];   /* server: pulls; index 1 sets pulls_log */
extern const char *const SIGN_OUT_NAMES[2];       /* lifecycle: sign_out; index 1 sets sign_out_discard */
extern const char *const ACCOUNT_SWITCH_NAMES[2]; /* lifecycle: switch; index 1 sets switch_keep_data */

#endif
