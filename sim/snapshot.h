/*
 * snapshot: a replica's final state as node_ops.snapshot reports it
 * (engine/node.h documents the JSON), parsed and indexed for the checker.
 * The checker reads replicas only through this, so an external
 * implementation that reports the same JSON is checked the same way.
 */
#ifndef SIM_SNAPSHOT_H
#define SIM_SNAPSHOT_H

#include "base/arena.h"
#include "base/hash.h"
#include "engine/node.h"
#include "engine/value.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

typedef struct snap_field {
    const char *name;
    value v;
    write_id w;
} snap_field;

typedef struct snap_record {
    const char *type;
    const char *id;
    const char *key;          /* "type/id" */
    const char *tenant;       /* as the replica reports it; "" when it does not */
    bool deleted;
    write_id w;               /* last write applied to the record */
    write_id del_w;           /* the delete in effect */
    int n_fields;
    snap_field *fields;       /* sorted by name */
    int n_events;
    write_id *events;         /* the event log, in the replica's order */
} snap_record;

typedef struct snap_kept {
    const char *key;
    write_id w;
} snap_kept;

typedef struct snapshot {
    int n_records;
    snap_record *records;     /* sorted by key */
    strmap index;             /* key -> index */
    int n_kept;
    snap_kept *kept;
} snapshot;

/* Parse into a (strings live there). False with a static reason on malformed input. */
bool snapshot_parse(const cJSON *j, arena *a, snapshot *out, const char **why);
void snapshot_free(snapshot *s);
const snap_record *snapshot_find(const snapshot *s, const char *key);
const snap_field *snap_record_field(const snap_record *r, const char *name);
bool snapshot_keeps(const snapshot *s, const char *key, write_id w);

#endif
