/*
 * help: the commands in order, syncsim --help, the help and strategies
 * commands, and the man page. See help.h.
 */
#include "cli/help.h"
#include "cli/commands.h"
#include "engine/strategy.h"
#include "sim/verdict.h"

#include <stdlib.h>
#include <string.h>

/* The order of syncsim --help and of the man page. Adding a command: a line here. */
static const cli_command *const COMMANDS[] = {
    &cli_cmd_run, &cli_cmd_suite, &cli_cmd_sweep, &cli_cmd_merge, &cli_cmd_summary, &cli_cmd_grid,
    &cli_cmd_shrink, &cli_cmd_conform, &cli_cmd_node, &cli_cmd_strategies, &cli_cmd_help,
};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static const char EXIT_CODES[] =
    "Exit codes: 0 expectations met; 1 a violation or an unmet expectation; 2 bad input or usage (a bound "
    "exceeded too); 3 no quiescence (liveness). sweep, grid and suite say in their --help what theirs mean.";

static const char PROFILES[] =
    "A scenario's profile: NAME is looked up as NAME.yaml in the scenario's own profiles/ folders (beside it, then "
    "in each directory above it), then in each directory of $SYNCSIM_PATH (colon-separated), then in the installed "
    "profiles (PREFIX/share/syncsim/scenarios/profiles). An unknown name lists the places searched and the names "
    "found there.";

const cli_command *help_command(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i]->name, name) == 0)
            return COMMANDS[i];
    return NULL;
}

int help_command_names(const char **names, int max)
{
    int n = 0;
    for (int i = 0; i < N_COMMANDS && n < max; i++)
        names[n++] = COMMANDS[i]->name;
    return n;
}

void help_print_overview(FILE *out)
{
    for (int i = 0; i < N_COMMANDS; i++)
        cli_print_usage(COMMANDS[i], out);
    fputs("       syncsim --version\n\n", out);
    fputs("syncsim: a deterministic simulator and conformance harness for offline-first sync.\n\n", out);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-11s %s\n", COMMANDS[i]->name, COMMANDS[i]->summary);
    fputs("\nsyncsim COMMAND --help explains every option of a command.\n\n", out);
    cli_wrap(out, EXIT_CODES, 0, 80);
    fputc('\n', out);
    cli_wrap(out, PROFILES, 0, 80);
}

/* --- the man page ------------------------------------------------------------------ */

static void man_paragraphs(FILE *out, const char *text)
{
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        char part[4096];
        snprintf(part, sizeof part, "%.*s", (int)len, p);
        fputs(".PP\n", out);
        cli_roff_escape(out, part);
        fputc('\n', out);
        p += len + (p[len] == '\n');
    }
}

static void man_synopsis(FILE *out, const cli_command *cmd)
{
    /* "usage: syncsim run FILE [...]" without "usage: " and with the line breaks roff makes itself. */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return;
    cli_print_usage(cmd, mem);
    fclose(mem);
    const char *from = strncmp(text, "usage: ", 7) == 0 ? text + 7 : text;
    for (char *p = text; *p; p++)
        if (*p == '\n')
            *p = ' ';
    /* Collapse the continuation lines' indentation. */
    char *w = text;
    for (const char *r = from; *r; r++)
        if (!(*r == ' ' && (r[1] == ' ' || r[1] == '\0')))
            *w++ = *r;
    *w = '\0';
    fprintf(out, ".SS \"syncsim %s\"\n.PP\n", cmd->name);
    cli_roff_escape(out, text);
    fputc('\n', out);
    free(text);
}

static void print_man(FILE *out)
{
    fprintf(out, ".\\\" syncsim(1), made by `syncsim help --man` from the commands' own tables.\n");
    fprintf(out, ".TH SYNCSIM 1 \"\" \"syncsim %s\" \"User Commands\"\n", SYNCSIM_VERSION);
    fputs(".SH NAME\nsyncsim \\- deterministic simulator and conformance harness for offline\\-first sync\n", out);
    fputs(".SH SYNOPSIS\n", out);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "\\fBsyncsim %s\\fR %s\n.br\n", COMMANDS[i]->name, COMMANDS[i]->operands);
    fputs(".SH DESCRIPTION\n", out);
    man_paragraphs(out,
                   "syncsim runs a whole sync system -- a server and many devices, each with its own SQLite store -- "
                   "inside a simulated world that owns time, randomness and the network. A YAML scenario says what "
                   "users do and what goes wrong (clock skew, partitions, lost replies, crashes, weeks offline); "
                   "syncsim runs it, checks that every replica converged and that no user write was lost, and "
                   "prints a witness for every violation. The same scenario and seed always give the same run: the "
                   "last line of every run is a hash of all of it.\n"
                   "Every command takes -h or --help. Options may come before or after the operands, as --opt VALUE "
                   "or --opt=VALUE; they are not abbreviated.");
    fputs(".SH COMMANDS\n", out);
    for (int i = 0; i < N_COMMANDS; i++) {
        man_synopsis(out, COMMANDS[i]);
        man_paragraphs(out, COMMANDS[i]->description);
        cli_print_man_options(COMMANDS[i], out);
    }
    fputs(".SH PROFILES\n", out);
    man_paragraphs(out, PROFILES);
    fputs(".SH ENVIRONMENT\n.TP\n.B SYNCSIM_PATH\n", out);
    cli_roff_escape(out, "Directories of profile files (NAME.yaml), separated by colons, searched for a profile "
                         "name after the scenario's own profiles/ folders and before the installed profiles.");
    fputs("\n.SH FILES\n", out);
    static const char *const FILES[][2] = {
        { "PREFIX/share/syncsim/scenarios/profiles/", "the profiles: reference, the five seed designs, the plain "
                                                      "strategies" },
        { "PREFIX/share/syncsim/scenarios/", "the scenario corpora: basic/, random/, seeds/<design>/ (each seed "
                                             "design's rules and bug catalog, with a README), grids/" },
        { "PREFIX/share/syncsim/reports/conflict_report.py", "turns a grid's results database into report.html, "
                                                             "summary.md and cells.csv (python3 with matplotlib)" },
    };
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        fputs(".TP\n.I ", out);
        cli_roff_escape(out, FILES[i][0]);
        fputc('\n', out);
        cli_roff_escape(out, FILES[i][1]);
        fputc('\n', out);
    }
    fputs(".SH EXIT STATUS\n", out);
    man_paragraphs(out, EXIT_CODES);
    fputs(".SH EXAMPLES\n.nf\n", out);
    cli_roff_escape(out, "syncsim run scenarios/basic/skew-lww-device-clock.yaml --strict\n"
                         "syncsim suite scenarios --junit results.xml --summary summary.md -j 2\n"
                         "syncsim sweep scenarios/random/lww-skew.yaml --seeds 1..1000 --db results.sqlite\n"
                         "syncsim run scenarios/random/lww-skew.yaml --seed 17\n"
                         "syncsim shrink scenarios/random/lww-skew.yaml --seed 17 -o minimal.yaml\n");
    fputs(".fi\n", out);
}

/* --- the help and strategies commands ------------------------------------------------ */

static int help_main(const cli_command *cmd, const cli_args *a)
{
    if (a->given[OPT_MAN]) {
        if (a->n_operands)
            return cli_usage_error(cmd, "--man prints the whole manual; it takes no command");
        print_man(stdout);
        return 0;
    }
    if (a->n_operands == 0) {
        help_print_overview(stdout);
        return 0;
    }
    const cli_command *about = help_command(a->operands[0]);
    if (!about)
        return cli_usage_error(cmd, "unknown command '%s'", a->operands[0]);
    cli_print_help(about, stdout);
    return 0;
}

static const cli_use HELP_OPTIONS[] = {
    { OPT_MAN, "print the manual page syncsim(1) in roff (man -l - reads it)", false },
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_help = {
    .name = "help",
    .operands = "[COMMAND]",
    .operand_noun = "command",
    .operands_min = 0,
    .operands_max = 1,
    .summary = "every command's usage, or every option of one command",
    .description = "Without a command, prints every command's usage (as syncsim --help does); with one, every "
                   "option of that command (as syncsim COMMAND --help does).",
    .options = HELP_OPTIONS,
    .main = help_main,
};

static int strategies_main(const cli_command *cmd, const cli_args *a)
{
    (void)cmd;
    (void)a;
    for (int i = 0; i < strategy_count(); i++)
        printf("%-18s %s\n", strategy_at(i)->name, strategy_at(i)->summary);
    return 0;
}

static const cli_use STRATEGIES_OPTIONS[] = {
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_strategies = {
    .name = "strategies",
    .operands = "",
    .operand_noun = "argument",
    .operands_min = 0,
    .operands_max = 0,
    .summary = "list the conflict strategies profiles can name",
    .description = "Lists the conflict strategies a profile's conflicts: section can name, with a line on each.",
    .options = STRATEGIES_OPTIONS,
    .main = strategies_main,
};
