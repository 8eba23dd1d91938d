/*
 * node: `syncsim node [--profile NAME|FILE]` -- serve the built-in engine as
 * one replica over syncsim-node/1 on stdin and stdout (external/serve.c).
 * syncsim itself starts it, once per replica, when a profile's node: or
 * --node names it; running it by hand is for trying the protocol.
 */
#include "cli/node.h"
#include "external/serve.h"
#include "sim/profile_load.h"
#include "sim/verdict.h"
#include "sim/yaml.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char NODE_USAGE[] =
    "usage: syncsim node [--profile NAME|FILE]\n";

static const char NODE_HELP[] =
    "Serve the built-in engine as one replica over the syncsim-node/1 protocol\n"
    "(docs/protocol.md): requests on stdin, effects and answers on stdout, one JSON\n"
    "object a line. Its SQLite store lives in the data directory init names.\n"
    "\n"
    "  --profile P   the design to serve: a profile name (scenarios/profiles/P.yaml\n"
    "                from here or above), a profile file, or a scenario file whose\n"
    "                profile it takes; default: the engine's defaults\n"
    "  -h, --help    this text\n"
    "\n"
    "Exit status: 0 after shutdown or the end of input, 1 on a malformed request,\n"
    "2 on bad usage or a profile that does not load.\n";

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

static bool load_served_profile(const char *text, arena *a, scenario_profile *out, diag *d)
{
    if (profile_is_name(text))
        return profile_load_named(text, "./here.yaml", "scenarios/profiles", (src_pos){ .file = "--profile" }, a, out,
                                  d);
    if (!is_scenario_file(text))
        return profile_load_file(text, a, out, d);
    scenario *sc = scenario_load(text, d);
    if (!sc)
        return false;
    *out = sc->profile;
    /* The profile's strings live in the scenario's arena: keep the scenario for the process's life. */
    return true;
}

int cmd_node(int argc, char **argv)
{
    static const struct option OPTIONS[] = {
        { "profile", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *profile_text = NULL;
    optind = 2;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", OPTIONS, NULL)) != -1) {
        switch (c) {
        case 'p':
            profile_text = optarg;
            break;
        case 'h':
            printf("%s\n%s", NODE_USAGE, NODE_HELP);
            return 0;
        default:
            fprintf(stderr, "syncsim node: %s '%s'\n%s",
                    optopt ? "option needs a value:" : "unknown option", argv[optind - 1], NODE_USAGE);
            return EXIT_BAD_INPUT;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "syncsim node: unexpected argument '%s'\n%s", argv[optind], NODE_USAGE);
        return EXIT_BAD_INPUT;
    }
    arena a;
    arena_init(&a, 4096);
    scenario_profile p;
    memset(&p, 0, sizeof p);
    profile_defaults(&p.engine);
    diag d;
    diag_init(&d);
    if (profile_text && !load_served_profile(profile_text, &a, &p, &d)) {
        fprintf(stderr, "%s\n", d.message);
        diag_free(&d);
        arena_release(&a);
        return EXIT_BAD_INPUT;
    }
    int status = serve_node(&p.engine, stdin, stdout);
    diag_free(&d);
    arena_release(&a);
    return status;
}
