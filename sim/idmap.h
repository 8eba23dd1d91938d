/*
 * idmap: the world's side of server-assigned ids (profile ids: server).
 *
 * Scenario steps, the history and the checker name records by the ids the
 * scenario gives them: logical ids. Under ids: server the replicas do not.
 * The server names a new record by an id of its own, and a device knows a
 * record by its temporary id (one it created, until the server's answer
 * renames it) or by the server's id. idmap translates both ways and learns
 * from the replicas' own reports: OBS_ID_ASSIGNED (the server gave an id)
 * and OBS_ID_MAPPED (a device renamed its copy).
 *
 * Rules:
 *   - A create on a device of scenario id S binds (device, S) to a logical
 *     record: S, or "S@<device>" when another device already created S under
 *     a temporary id of its own -- the server will make two records of them.
 *   - The first server id given for a binding names that logical record. A
 *     second server id for the same binding (a create retried after its
 *     answer was lost, without idempotency) is a record of its own, named
 *     "S@<server id>": the duplicate the checker reports.
 *   - When a device renames its temporary S to R, (device, S) rebinds to R's
 *     logical record: the device's later writes to S land there.
 *   - A device's operation on logical L names it by the device's temporary id
 *     when the device created L (the device maps it), else by L's server id
 *     once it has one, else by L.
 *
 * Deterministic: lookups only, no iteration over the maps.
 */
#ifndef SIM_IDMAP_H
#define SIM_IDMAP_H

#include "base/arena.h"
#include "base/hash.h"
#include "engine/node.h"
#include "engine/profile.h"

#include <cjson/cJSON.h>

typedef struct idmap {
    arena a;                 /* keys and names */
    strmap by_real;          /* "type\x1freal" -> name index of the logical id */
    strmap real_of;          /* "type\x1flogical" -> name index of its first server id */
    strmap binding;          /* "node\x1ftype\x1ftemp" -> name index of the logical id */
    strmap creator;          /* "type\x1flogical" -> the node that created it under a temporary id */
    const char **names;
    size_t n_names;
    size_t cap_names;
} idmap;

void idmap_init(idmap *m);
void idmap_free(idmap *m);

/* The logical id a replica's id for a record of type reads as. */
const char *idmap_logical(const idmap *m, int node, const char *type, const char *id);
/* The id node knows logical record `logical` by. */
const char *idmap_node_id(const idmap *m, int node, const char *type, const char *logical);
/*
 * A user operation on node naming scenario id `id`: *logical is the record
 * the history files it under, *node_id what the node is told. A create
 * binds. device names node in a second creator's logical id. Results live
 * in the map.
 */
void idmap_user_op(idmap *m, int node, const char *device, op_kind kind, const char *type, const char *id,
                   const char **logical, const char **node_id);
/* The server gave node's temporary id `temp` the id `real`. */
void idmap_assigned(idmap *m, int node, const char *type, const char *temp, const char *real);
/* node renamed its temporary `temp` to `real`. */
void idmap_mapped(idmap *m, int node, const char *type, const char *temp, const char *real);
/* Rewrite a replica's snapshot (engine/node.h JSON) in logical ids: record ids, the
 * reference fields the profile declares, kept entries. */
void idmap_snapshot(idmap *m, int node, const profile *p, cJSON *snap);

#endif
