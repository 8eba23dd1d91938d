/*
 * options: how every command reads its command line.
 *
 * A command is one cli_command row (cli/run.c, cli/suite.c, ...): its name,
 * what its operands are, a paragraph, and the options it takes -- ids into
 * the one table of every option (options.c) with a line of help for that
 * command. cli_parse reads argv with getopt_long from that list, checks and
 * converts every value into cli_args, and on a mistake prints the error and
 * the command's usage (exit 2); on -h or --help it prints the command's help
 * (exit 0). Usage, help and the man page are all generated from the same
 * rows, so they cannot disagree with what a command accepts.
 *
 * Adding an option: an OPT_ id, a row in options.c's table (its name, its
 * value's placeholder, and the error when the value is missing), a case in
 * parse_value when the value needs checking (and a field in cli_args for
 * the converted value), then a row in each command that takes it. Adding a
 * command: a file with its cli_command and main, and one line in main.c.
 */
#ifndef CLI_OPTIONS_H
#define CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_opt_id {
    OPT_NONE = 0,   /* ends a command's option list */
    OPT_HELP,
    OPT_SEED,
    OPT_SEEDS,
    OPT_TRACE,
    OPT_TIMELINE,
    OPT_PERFETTO,
    OPT_JSON,
    OPT_JUNIT,
    OPT_SUMMARY,
    OPT_STORE_DIR,
    OPT_PROFILE,
    OPT_STRICT,
    OPT_CHECK_DETERMINISM,
    OPT_JOBS,
    OPT_SHARD,
    OPT_DB,
    OPT_TIMEOUT,
    OPT_REPLAY,
    OPT_OUTPUT,
    OPT_CLASS,
    OPT_MAX_RUNS,
    OPT_MAN,
    OPT_NODE,
    OPT_NODE_TIMEOUT,
    OPT_LEVEL,
    OPT_FRESH_NODES,
    OPT_PROGRESS,
    OPT_COUNT
} cli_opt_id;

/* What a command's options came to. Only the options the command lists can be set. */
typedef struct cli_args {
    char **operands;             /* the arguments that are not options, in order (argv's own strings) */
    int n_operands;
    bool given[OPT_COUNT];       /* the option appeared */
    const char *text[OPT_COUNT]; /* its value as written (NULL when absent or valueless) */
    /* Converted values, valid when given[] says so: */
    uint64_t seed;               /* --seed */
    uint64_t seeds_lo, seeds_hi; /* --seeds A..B, inclusive */
    int jobs;                    /* -j; the number of cores (at most POOL_WORKERS_MAX) when not given */
    int shard_index, shard_count;/* --shard I/N or auto; 1/1 when not given */
    char shard_source[160];      /* --shard auto: the engine and variables I/N came from; "" otherwise */
    int64_t timeout_us;          /* --timeout; 0 when not given: no budget */
    int64_t node_timeout_us;     /* --node-timeout; 0 when not given: the profile's, else 10 s */
    int64_t progress_every_us;   /* --progress; 0 when not given: no progress lines */
    int level;                   /* --level */
    int max_runs;                /* --max-runs */
    int vclass;                  /* --class: a vclass, or -1 when not given */
    int64_t replay_cell;         /* --replay CELL:SEED */
    uint64_t replay_seed;
} cli_args;

typedef struct cli_use {
    cli_opt_id id;
    const char *help;            /* what the option does for this command (wrapped when printed) */
    bool required;               /* the command cannot run without it (sweep --seeds) */
} cli_use;

typedef struct cli_command {
    const char *name;            /* "run" */
    const char *operands;        /* the operands in the synopsis: "FILE", "[DIR|FILE]..." */
    const char *operand_noun;    /* for errors: "scenario file" (run needs a scenario file) */
    int operands_min;
    int operands_max;            /* -1: no upper bound */
    const char *summary;         /* one line for syncsim --help */
    const char *description;     /* for the command's --help and the man page; wrapped when printed,
                                    '\n' separates paragraphs */
    const cli_use *options;      /* ends with { OPT_NONE } */
    /* The command itself, after its arguments parsed cleanly. Returns the exit code. */
    int (*main)(const struct cli_command *cmd, const cli_args *args);
} cli_command;

#define CLI_EXIT_DONE (-1)   /* cli_parse printed the help: exit 0 */

/*
 * Parse argv (argv[0] is the command's name) for cmd. Returns 0 when the
 * command should run, CLI_EXIT_DONE after printing the help, or the exit
 * code of a usage error it printed (2).
 */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *out);
void cli_args_free(cli_args *a);
/* Print "syncsim: <message>" and cmd's usage on stderr; returns 2 (bad usage). */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "usage: syncsim run FILE [--seed N] ...", wrapped under itself. */
void cli_print_usage(const cli_command *cmd, FILE *out);
/* The whole help of one command: usage, description, every option. */
void cli_print_help(const cli_command *cmd, FILE *out);
/* A command's options as a roff list, for the man page (help.c). */
void cli_print_man_options(const cli_command *cmd, FILE *out);
/* Text with roff's special characters escaped. */
void cli_roff_escape(FILE *out, const char *text);

/* The option's spelling for messages: "--seed", "-j". */
const char *cli_option_name(cli_opt_id id);
/* Print text as paragraphs ('\n' between them) wrapped to width columns, every line indented. */
void cli_wrap(FILE *out, const char *text, int indent, int width);

#endif
