/*
 * engine: the built-in sync engine's constructor. engine_node_new returns a
 * client (a device) or the server, as a node (node.h) the world can drive.
 */
#ifndef ENGINE_ENGINE_H
#define ENGINE_ENGINE_H

#include "engine/node.h"
#include "engine/profile.h"
#include "engine/store.h"

typedef struct engine_config {
    int index;                 /* NODE_SERVER or a device, 1..n */
    const char *name;          /* "server", "phone", ... */
    const char *tenant;        /* a device's user; the server's is NULL */
    const char *const *tenants;  /* the server: every node's tenant, by node index */
    int n_nodes;
    const profile *profile;    /* borrowed; outlives the node */
    const char *store_path;    /* SQLite file, or NULL for in-memory */
    bool store_keep;           /* open the file's store as it is (a restart), rather than start empty */
    node_host host;
} engine_config;

/* NULL with *error set (free with xfree) when the store cannot be created. */
node *engine_node_new(const engine_config *cfg, char **error);

/* Internal to engine/: the two replica kinds and what they share. */
node *client_new(const engine_config *cfg, store *st);
node *server_new(const engine_config *cfg, store *st);
cJSON *engine_snapshot(store *st, arena *scratch);
void engine_observe_record(const engine_config *cfg, const record *r, arena *scratch);

#endif
