/*
 * node: `syncsim node [--profile NAME|FILE]` -- serve the built-in engine as
 * one replica over syncsim-node/1 on stdin and stdout (external/serve.c);
 * and --node "CMD", which every command that runs scenarios takes, putting
 * an external implementation in place of the built-in engine.
 */
#include "cli/node.h"
#include "cli/commands.h"
#include "external/serve.h"
#include "sim/profile_load.h"
#include "sim/vary.h"
#include "sim/verdict.h"
#include "sim/yaml.h"

#include <stdio.h>
#include <string.h>

bool profile_apply_option(scenario *sc, const char *text, diag *d)
{
    scenario_profile p;
    src_pos pos = { .file = "--profile" };
    bool ok = profile_is_name(text) ? profile_load_named(text, sc->path, NULL, pos, &sc->arena, &p, d)
                                    : profile_load_file(text, &sc->arena, &p, d);
    /* The scenario's vary: now draws keys of this profile: each design it can draw must be one to run. */
    if (ok && sc->has_workload)
        ok = vary_check(&sc->workload.vary, &p.engine, p.name, d);
    if (ok)
        sc->profile = p;
    return ok;
}

bool implementation_apply(scenario *sc, const cli_args *a, diag *d)
{
    return (!a->given[OPT_PROFILE] || profile_apply_option(sc, a->text[OPT_PROFILE], d)) &&
           node_apply_options(sc, a, d);
}

bool node_apply_options(scenario *sc, const cli_args *a, diag *d)
{
    if (a->given[OPT_NODE])
        return scenario_use_node(sc, a->text[OPT_NODE], a->given[OPT_NODE_TIMEOUT] ? a->node_timeout_us : 0, d);
    if (a->given[OPT_NODE_TIMEOUT] && sc->profile.node.argv)
        sc->profile.node.timeout_us = a->node_timeout_us;
    return true;
}

/* A scenario (it has steps, devices or a workload) stands for the profile it names. */
static bool is_scenario_file(const char *path)
{
    yaml_doc doc;
    diag d;
    diag_init(&d);
    bool scenario = false;
    if (yaml_open(&doc, path, &d)) {
        struct fy_node *root = yaml_root(&doc);
        scenario = yaml_is_mapping(root) &&
                   (yaml_get(root, "steps") || yaml_get(root, "devices") || yaml_get(root, "workload"));
        yaml_close(&doc);
    }
    diag_free(&d);
    return scenario;
}

/* What --profile names. A scenario it loads stays loaded (*sc) for the process's life: the profile's
 * strings live in it. */
static bool load_served_profile(const char *text, arena *a, scenario **sc, scenario_profile *out, diag *d)
{
    if (profile_is_name(text))
        return profile_load_named(text, "./here.yaml", NULL, (src_pos){ .file = "--profile" }, a, out, d);
    if (!is_scenario_file(text))
        return profile_load_file(text, a, out, d);
    if (!(*sc = scenario_load(text, d)))
        return false;
    *out = (*sc)->profile;
    return true;
}

static int node_main(const cli_command *cmd, const cli_args *args)
{
    (void)cmd;
    arena a;
    arena_init(&a, 4096);
    scenario_profile p;
    memset(&p, 0, sizeof p);
    profile_defaults(&p.engine);
    scenario *sc = NULL;
    diag d;
    diag_init(&d);
    int status = EXIT_BAD_INPUT;
    if (args->given[OPT_PROFILE] && !load_served_profile(args->text[OPT_PROFILE], &a, &sc, &p, &d))
        fprintf(stderr, "%s\n", d.message);
    else
        status = serve_node(&p.engine, stdin, stdout);
    scenario_free(sc);
    diag_free(&d);
    arena_release(&a);
    return status;
}

static const cli_use NODE_OPTIONS[] = {
    { OPT_PROFILE,
      "the design to serve: a profile name (found as a scenario's profile: is, from the current directory), a "
      "profile file, or a scenario file whose profile it takes. Default: the engine's defaults",
      false },
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_node = {
    .name = "node",
    .operands = "",
    .operand_noun = "argument",
    .operands_min = 0,
    .operands_max = 0,
    .summary = "serve the built-in engine as one replica over the node protocol",
    .description =
        "Serves the built-in engine as one replica over syncsim-node/1 (docs/protocol.md): requests on stdin, "
        "effects and answers on stdout, one JSON object a line. Its SQLite store lives in the data directory init "
        "names, so a restarted process recovers what it committed. syncsim starts it, once per replica, when a "
        "profile's node: or --node names it; every scenario gives the same outcome and trace hash through it as "
        "in process, which makes it the protocol's own conformance test and a reference for implementers.\n"
        "Exit codes: 0 after shutdown or the end of input; 1 a malformed request (answered with an error); 2 bad "
        "usage or a profile that does not load.",
    .options = NODE_OPTIONS,
    .main = node_main,
};
