/*
 * node: the `syncsim node` command (cli_cmd_node), and --node for the
 * commands that run scenarios.
 */
#ifndef CLI_NODE_H
#define CLI_NODE_H

#include "cli/options.h"
#include "sim/scenario.h"

/*
 * --profile: run the scenario's steps under another design -- a profile name, found as a scenario's
 * profile: is, or a profile file. The scenario's own expect: still applies. False with d set.
 */
bool profile_apply_option(scenario *sc, const char *text, diag *d);
/* The implementation under test as the command line gives it: --profile, then --node. */
bool implementation_apply(scenario *sc, const cli_args *a, diag *d);
/* Apply --node "CMD" and --node-timeout to a loaded scenario: its replicas become the external
 * command, its profile's accepts: and manual: stay. False with d set on a command that does not split. */
bool node_apply_options(scenario *sc, const cli_args *a, diag *d);

/* The help lines of --node and --node-timeout, the same for every command. */
#define NODE_HELP                                                                                                  \
    "run every replica as this command, speaking the node protocol (docs/protocol.md), in place of the built-in "   \
    "engine; the profile's accepts: stay"
#define FRESH_NODES_HELP                                                                                           \
    "start new external node processes for every seed, even when they declare reset (by default a worker reuses "  \
    "them across its seeds)"
#define NODE_TIMEOUT_HELP "real time an external node may take to answer one request (default: the profile's, else 10s)"

#endif
