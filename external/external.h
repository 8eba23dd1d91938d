/*
 * external: a replica that is a child process speaking syncsim-node/1
 * (docs/protocol.md) -- the second implementation of engine/node.h, beside
 * the built-in engine. The world cannot tell the two apart: every node_ops
 * call becomes one request, and the node's effects are handed to the host
 * in the order the node wrote them, within the call, exactly as the
 * built-in engine calls the host. That is why a run gives the same trace
 * hash in process and through `syncsim node`.
 *
 * A crash is SIGKILL; a boot starts a process (or resets a reused one) and
 * sends init with the boot count. What the process keeps in its data
 * directory survives; nothing else does.
 *
 * A node that exits, breaks the protocol or misses its real-time budget
 * fails: the node kills it, reports through host.fail (the world ends the
 * run with exit 4), and answers every later call as a no-op.
 */
#ifndef EXTERNAL_EXTERNAL_H
#define EXTERNAL_EXTERNAL_H

#include "engine/node.h"
#include "external/proto.h"

#include <stdint.h>

/* Processes kept across runs (a sweep's seeds), for nodes that declared the reset feature. */
typedef struct external_pool external_pool;
external_pool *external_pool_new(void);
/* Shuts down every process it holds. NULL is fine. */
void external_pool_free(external_pool *pool);

#define EXTERNAL_TIMEOUT_US_DEFAULT (INT64_C(10) * 1000000)

typedef struct external_config {
    int index;                    /* NODE_SERVER or a device, 1..n */
    const proto_roster *roster;   /* every replica; borrowed, outlives the node */
    const char *const *argv;      /* the command, NULL-terminated; borrowed */
    int64_t timeout_us;           /* real time the node may take to answer one request */
    uint64_t seed;                /* the run's root seed; each boot's seed derives from it and the name */
    const char *store_dir;        /* data directories and logs under it, kept; NULL: a temporary directory,
                                     removed at the end unless the node failed */
    external_pool *pool;          /* reuse processes across runs, or NULL */
    node_host host;               /* host.fail and host.mono_now are required */
} external_config;

/* NULL with *error (xfree) when the directories cannot be prepared. The process starts at boot. */
node *external_node_new(const external_config *cfg, char **error);

/* The command as one line, for messages. */
char *external_command_text(const char *const *argv);

#endif
