/*
 * help: the list of commands, and what syncsim says about itself as a
 * whole -- syncsim --help, syncsim help [COMMAND], the man page syncsim(1)
 * (syncsim help --man, which the build runs) -- made from the commands'
 * own tables (options.h), so none of it can disagree with what they accept.
 */
#ifndef CLI_HELP_H
#define CLI_HELP_H

#include "cli/options.h"

#include <stdio.h>

#ifndef SYNCSIM_VERSION
#define SYNCSIM_VERSION "0.1.0"   /* meson.build passes the project's version */
#endif

/* The command called name, or NULL. */
const cli_command *help_command(const char *name);
/* Every command's name, in order, into names (at most max); returns how many. */
int help_command_names(const char **names, int max);
/* Every command's usage and one line on each: syncsim --help. */
void help_print_overview(FILE *out);

#endif
