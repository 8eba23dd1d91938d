/*
 * commands: every command of syncsim, one cli_command each (options.h),
 * defined in its own file. main.c dispatches on them in the order listed
 * there, which is also the order of syncsim --help and the man page.
 */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include "cli/options.h"

extern const cli_command cli_cmd_run;        /* run.c */
extern const cli_command cli_cmd_suite;      /* suite.c */
extern const cli_command cli_cmd_sweep;      /* sweep.c */
extern const cli_command cli_cmd_merge;      /* sweep.c */
extern const cli_command cli_cmd_summary;    /* summary.c */
extern const cli_command cli_cmd_grid;       /* grid.c */
extern const cli_command cli_cmd_shrink;     /* shrink.c */
extern const cli_command cli_cmd_strategies; /* main.c */
extern const cli_command cli_cmd_help;       /* main.c */
extern const cli_command cli_cmd_node;       /* node.c */
extern const cli_command cli_cmd_conform;    /* conform.c */

#endif
