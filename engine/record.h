/*
 * record: the engine's record model. A record is a typed entity (type, id)
 * with named fields, a soft-delete flag (tombstone) and a server version for
 * optimistic locking. Every field carries the stamp of the write that set
 * it: the write id (provenance, reported to the world), the writer's wall
 * clock, its hybrid logical clock and the server's clock at first apply --
 * whichever of these a profile's strategy compares.
 *
 * Records live in an arena: strings and the field array belong to whoever
 * owns the arena the record was built or decoded in.
 */
#ifndef ENGINE_RECORD_H
#define ENGINE_RECORD_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/json_out.h"
#include "engine/hlc.h"
#include "engine/node.h"
#include "engine/value.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* A bound on fields per record; a scenario that exceeds it is refused. */
#define RECORD_FIELDS_MAX 64

typedef struct stamp {
    write_id w;          /* the write; WRITE_NONE for "never" */
    int64_t ts_us;       /* writer's wall clock at the write */
    hlc h;               /* writer's hybrid logical clock at the write */
    int64_t server_us;   /* server's wall clock when the server applied it; 0 before */
    int64_t version;     /* the record version the server stored this value in; 0 before.
                            A field whose version is at most a change's base version was
                            not touched since the change's base: three-way merge's test. */
} stamp;

/* One node's contribution to a counter CRDT: increments (p) and decrements (n) so far, and the
 * write that brought it to this size (provenance: whoever holds the part has seen that write). */
typedef struct counter_part {
    int32_t node;
    int64_t p;
    int64_t n;
    write_id w;
} counter_part;

typedef struct field {
    const char *name;
    value v;
    stamp st;
    int n_parts;
    counter_part *parts;   /* a counter CRDT's contributions, sorted by node; none for plain fields */
} field;

/* An entry of a record's append-only event log. */
typedef struct log_event {
    write_id w;            /* the append, and the event's id */
    int64_t at_us;         /* occurredAt: the writer's wall clock */
    int64_t server_us;     /* the server's clock when it first stored the event; 0 before */
    int n_fields;
    op_field *fields;      /* sorted by name */
} log_event;

/* How a log is ordered: by occurredAt; by the server's receive time first (its wall clock, which can
 * step back); or in the order the server stored the events (its change-log sequence, which never
 * does). Ties: event id. */
typedef enum event_order {
    EVENT_ORDER_OCCURRED,
    EVENT_ORDER_SERVER,
    EVENT_ORDER_STORED,
} event_order;

typedef struct record {
    const char *type;
    const char *id;
    const char *tenant;  /* the user the record belongs to; "" when none */
    bool deleted;
    int64_t version;     /* server version this state is (based on); 0 = never acknowledged */
    int64_t seq;         /* server change-log sequence of this state; 0 = none */
    int64_t updated_us;  /* the server's clock when it stored this state (updatedAt); 0 = never */
    stamp st;            /* the last write applied to the record, of any kind */
    stamp del;           /* the delete in effect while deleted; w == WRITE_NONE otherwise */
    /* Incarnations: a record created again after a delete is a new incarnation. born_version is
     * the version that created the current one (0 for the first); prev_del the delete that ended
     * the one before. A change made on an older version was made on an older incarnation. */
    int64_t born_version;
    stamp prev_del;
    int n_fields;
    int cap_fields;
    field *fields;       /* sorted by name, unique names */
    int n_events;
    int cap_events;
    log_event *events;       /* in log order */
} record;

void record_init(record *r, arena *a, const char *type, const char *id);
/* Deep copy into arena a. */
void record_copy(record *dst, const record *src, arena *a);
const field *record_field(const record *r, const char *name);
/* Set (or add) a field. name and v are copied into a. */
void record_set_field(record *r, arena *a, const char *name, const value *v, const stamp *st);
/* Same visible state: deleted flag, field names and values, the event log (stamps ignored). */
bool record_same_state(const record *a, const record *b);
/* Same state and the same provenance of every field and counter contribution. */
bool record_same_provenance(const record *a, const record *b);

/* Every member the same: stamps, counter contributions, events, value kinds (reals bit for bit). */
bool record_identical(const record *a, const record *b);

/* Replace a field's counter contributions (copied into a) and set its value to their total. */
void record_set_counter(record *r, arena *a, const char *name, const counter_part *parts, int n_parts,
                        const stamp *st);
/* The sum of p - n over the parts; a sum beyond int64_t wraps (a damaged body may hold any p and n). */
int64_t counter_total(const counter_part *parts, int n_parts);
/* The join of two contribution lists: per node, the larger p and the larger n. Result in a. */
int counter_join(const counter_part *x, int nx, const counter_part *y, int ny, arena *a, counter_part **out);

/* Index of the event with this id, or -1. */
int record_find_event(const record *r, write_id w);
/* Insert a copy of e in log order. With dedup, an event already present is not added again.
 * Returns true when it was added. */
bool record_add_event(record *r, arena *a, const log_event *e, event_order order, bool dedup);
/* Re-sort the log (after server times were stamped). */
void record_sort_events(record *r, event_order order);

/* The record's JSON into either of json_out's sinks (a tree, or its hash and size). */
void record_write(const record *r, json_out *out);
cJSON *record_to_json(const record *r);
/* Decodes; on malformed input returns false with a static reason. */
bool record_from_json(const cJSON *j, arena *a, record *out, const char **why);

/* True when record_from_json gives r back from record_to_json's tree, up to what
 * record_copy_as_written does: every integer within +-2^53 and the rest the decoder checks. */
bool record_json_exact(const record *r);
/* A deep copy into a of what record_from_json reads from record_to_json(src), for a record_json_exact
 * src: without building or reading the tree (an integral real reads back as an integer; a stamp the
 * tree leaves out as zero). */
void record_copy_as_written(record *dst, const record *src, arena *a);
/* record_copy_as_written's changes, made to r itself (a record nobody else reads any more). */
void record_as_written(record *r);

/* The same JSON as text, straight from and to the struct (the store's hot path). */
void record_encode(const record *r, buf *out);
bool record_decode(const char *text, size_t len, arena *a, record *out, const char **why);

/* The compact binary form (record_pack.c): what record_encode's JSON says, in a third of the bytes
 * and a fraction of the time, for a store nobody reads from outside. It starts with
 * RECORD_PACK_MAGIC, which no JSON text starts with. Unpacking what record_pack wrote gives what
 * record_decode gives for record_encode's text; record_unpack refuses anything else with a reason. */
#define RECORD_PACK_MAGIC 0x01
void record_pack(const record *r, buf *out);
bool record_unpack(const void *data, size_t len, arena *a, record *out, const char **why);
/* record_same_provenance of what data unpacks to and r, read where it lies: nothing is copied or
 * allocated, and an event's fields are passed over. data is what record_pack wrote; bytes that
 * end early, run on past the record or hold a malformed value read as not the same. */
bool record_packed_same_provenance(const void *data, size_t len, const record *r);

cJSON *stamp_to_json(const stamp *st);
bool stamp_from_json(const cJSON *j, stamp *out);

/* Fill an OBS_RECORD observation for r: the provenance of every field and event (array in a). */
void record_observation(const record *r, observation *obs, arena *a);

#endif
