/*
 * main: syncsim's entry point. It picks the command (commands.h), has the
 * command's own option table parse the rest (options.h), and runs it.
 *
 * SYNCSIM_CHECK_ARGS=1 in the environment parses the command line as usual
 * (a mistake is exit 2 with the usage) and exits 0 without running it.
 *
 * Exit codes: 0 expectations met; 1 violation or unmet expectation;
 * 2 bad input or usage; 3 no quiescence. Commands that run many scenarios
 * say what theirs mean in their --help.
 */
#include "base/xalloc.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/paths.h"
#include "engine/store.h"
#include "sim/diag.h"
#include "sim/verdict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    xalloc_install_cjson();
    store_library_setup();
    paths_setup_profiles();
    if (argc < 2) {
        fprintf(stderr, "syncsim: a command is needed\n");
        help_print_overview(stderr);
        return EXIT_BAD_INPUT;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        help_print_overview(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("syncsim %s\n", SYNCSIM_VERSION);
        return 0;
    }
    const cli_command *cmd = help_command(name);
    if (!cmd) {
        const char *names[32];
        int n = help_command_names(names, 32);
        const char *hint = diag_suggest(name, names, n);
        fprintf(stderr, "syncsim: unknown command '%s'%s%s%s\n", name, hint ? "; did you mean '" : "",
                hint ? hint : "", hint ? "'?" : "");
        help_print_overview(stderr);
        return EXIT_BAD_INPUT;
    }
    cli_args args;
    int code = cli_parse(cmd, argc - 1, argv + 1, &args);
    if (code == CLI_EXIT_DONE)
        return 0;
    if (code != 0)
        return code;
    /*
     * SYNCSIM_CHECK_ARGS=1: the command line was accepted; stop before running
     * it. How tests/ci-examples.py checks the commands in examples/ci/, and how
     * a user can check a CI file's commands without running a sweep.
     */
    const char *check_only = getenv("SYNCSIM_CHECK_ARGS");
    if (check_only && strcmp(check_only, "1") == 0) {
        cli_args_free(&args);
        return 0;
    }
    code = cmd->main(cmd, &args);
    cli_args_free(&args);
    return code;
}
