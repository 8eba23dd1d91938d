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
    bool store_faultable;      /* open it through the fault shim (store_vfs.h): storage faults may come */
    /* What the server's draws (profile commit_delay: { dist: ... }) come from. seed_per_boot: the run's
     * root seed, from which each boot derives its own as an external node's init seed is derived
     * (hash of the root, the node's name and the boot count); else this boot's seed itself, as
     * `syncsim node` is handed it in init. */
    uint64_t seed;
    bool seed_per_boot;
    node_host host;
} engine_config;

/*
 * Observations made inside a store transaction are held until it commits, and dropped when it
 * fails: the world never sees a state, a receipt or a drop that a storage fault rolled back.
 * Active only for a faultable store (engine_hold_init leaves other replicas' hosts untouched, so
 * their runs do exactly what they did); the order of what the world sees is the same either way,
 * as the engine makes no other host call inside a transaction.
 */
typedef struct engine_hold {
    bool active;               /* the store is faultable: cfg->host goes through the hold */
    bool holding;              /* inside a transaction */
    node_host host;            /* the world's */
    int n, cap;
    observation *held;
    arena a;                   /* the held observations' strings, write lists and records */
} engine_hold;

void engine_hold_init(engine_hold *h, engine_config *cfg);
void engine_hold_begin(engine_hold *h);
/* The transaction ended: pass the held observations on when it committed, drop them when not. */
void engine_hold_end(engine_hold *h, bool committed, int node);
void engine_hold_release(engine_hold *h);
/* node_ops.storage_fault for both replica kinds. */
bool engine_storage_fault(store *st, const storage_fault *fault);

/* NULL with *error set (free with xfree) when the store cannot be created. */
node *engine_node_new(const engine_config *cfg, char **error);

/* Internal to engine/: the two replica kinds and what they share. */
node *client_new(const engine_config *cfg, store *st);
node *server_new(const engine_config *cfg, store *st);
cJSON *engine_snapshot(store *st, arena *scratch);
void engine_observe_record(const engine_config *cfg, const record *r, arena *scratch);

#endif
