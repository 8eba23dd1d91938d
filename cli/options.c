/*
 * options: the one table of every option, getopt_long over a command's
 * share of it, the checks of every value, and the usage and help texts.
 * See options.h.
 *
 * Invariants: a value is converted in exactly one place (parse_value), so
 * every command that takes an option accepts and refuses the same values
 * with the same message; the usage a mistake prints and the help -h prints
 * are made from the command's own option list.
 */
#include "cli/options.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "cli/pool.h"
#include "cli/shard.h"
#include "sim/classes.h"
#include "sim/diag.h"
#include "sim/duration.h"
#include "sim/grid.h"
#include "sim/verdict.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* getopt_long hands back val; long options get their id plus this, clear of ':', '?' and short letters. */
#define LONG_VAL_BASE 256
#define SEEDS_MAX UINT64_C(1000000000)
#define MAX_RUNS_MAX 10000000
#define USAGE_WIDTH 100
#define HELP_WIDTH 80

typedef struct option_spec {
    const char *long_name;   /* without the dashes */
    char short_name;         /* or 0 */
    const char *value;       /* the value's placeholder in usage ("N", "F.json"); NULL: it takes none */
    const char *needs;       /* what a missing value should have been: "--json needs a file name" */
} option_spec;

static const option_spec SPECS[OPT_COUNT] = {
    [OPT_HELP] = { "help", 'h', NULL, NULL },
    [OPT_SEED] = { "seed", 0, "N", "a whole number" },
    [OPT_SEEDS] = { "seeds", 0, "A..B", "a range such as 1..1000" },
    [OPT_TRACE] = { "trace", 0, "F.jsonl", "a file name" },
    [OPT_TIMELINE] = { "timeline", 0, "F.html", "a file name" },
    [OPT_PERFETTO] = { "perfetto", 0, "F.json", "a file name" },
    [OPT_JSON] = { "json", 0, "F.json", "a file name" },
    [OPT_JUNIT] = { "junit", 0, "F.xml", "a file name" },
    [OPT_SUMMARY] = { "summary", 0, "F.md", "a file name" },
    [OPT_STORE_DIR] = { "store-dir", 0, "DIR", "a directory" },
    [OPT_PROFILE] = { "profile", 0, "NAME|FILE", "a profile name or file" },
    [OPT_STRICT] = { "strict", 0, NULL, NULL },
    [OPT_CHECK_DETERMINISM] = { "check-determinism", 0, NULL, NULL },
    [OPT_JOBS] = { "jobs", 'j', "N", "a number of workers" },
    [OPT_SHARD] = { "shard", 0, "I/N|auto", "I/N (e.g. 2/3) or auto" },
    [OPT_DB] = { "db", 0, "results.sqlite", "a file name" },
    [OPT_TIMEOUT] = { "timeout", 0, "DURATION", "a duration such as 30s or 10m" },
    [OPT_REPLAY] = { "replay", 0, "CELL:SEED", "CELL:SEED, e.g. 4:17" },
    [OPT_OUTPUT] = { "output", 'o', "FILE", "a file name" },
    [OPT_CLASS] = { "class", 0, "CLASS", "a violation class such as lost-update" },
    [OPT_MAX_RUNS] = { "max-runs", 0, "N", "a number of runs" },
    [OPT_MAN] = { "man", 0, NULL, NULL },
    [OPT_NODE] = { "node", 0, "CMD", "a command" },
    [OPT_NODE_TIMEOUT] = { "node-timeout", 0, "DURATION", "a duration such as 10s" },
    [OPT_LEVEL] = { "level", 0, "N", "a level from 1 to 5" },
    [OPT_FRESH_NODES] = { "fresh-nodes", 0, NULL, NULL },
    [OPT_PROGRESS] = { "progress", 0, "DURATION", "a simulated duration such as 1d" },
};

const char *cli_option_name(cli_opt_id id)
{
    static char names[OPT_COUNT][40];
    const option_spec *s = &SPECS[id];
    if (!names[id][0]) {
        if (s->short_name && id != OPT_HELP)
            snprintf(names[id], sizeof names[id], "-%c", s->short_name);
        else
            snprintf(names[id], sizeof names[id], "--%s", s->long_name);
    }
    return names[id];
}

/* --- text ------------------------------------------------------------------------- */

/*
 * Words of text from column onwards (the caller printed the rest of the
 * line), lines broken before width and indented by indent; '\n' ends a
 * paragraph and leaves a blank line.
 */
static void wrap_from(FILE *out, const char *text, int indent, int width, int column)
{
    bool words_on_line = false;
    const char *p = text;
    while (*p) {
        if (*p == '\n') {
            fputs(words_on_line || column ? "\n\n" : "\n", out);
            column = 0;
            words_on_line = false;
            p++;
            continue;
        }
        if (*p == ' ') {
            p++;
            continue;
        }
        int word = (int)strcspn(p, " \n");
        if (words_on_line && column + 1 + word > width) {
            fputc('\n', out);
            column = 0;
            words_on_line = false;
        }
        if (words_on_line) {
            fputc(' ', out);
            column++;
        } else if (column < indent) {
            fprintf(out, "%*s", indent - column, "");
            column = indent;
        }
        fwrite(p, 1, (size_t)word, out);
        column += word;
        words_on_line = true;
        p += word;
    }
    if (words_on_line || column)
        fputc('\n', out);
}

void cli_wrap(FILE *out, const char *text, int indent, int width)
{
    wrap_from(out, text, indent, width, 0);
}

/* "[--seed N]", "-o FILE" */
static void synopsis_item(buf *b, const cli_use *u)
{
    const option_spec *s = &SPECS[u->id];
    buf_printf(b, "%s%s%s%s%s", u->required ? "" : "[", cli_option_name(u->id), s->value ? " " : "",
               s->value ? s->value : "", u->required ? "" : "]");
}

void cli_print_usage(const cli_command *cmd, FILE *out)
{
    buf lead;
    buf_init(&lead);
    buf_printf(&lead, "usage: syncsim %s", cmd->name);
    int indent = (int)lead.len + 1;
    fputs(lead.data, out);
    int column = (int)lead.len;
    if (cmd->operands && *cmd->operands) {
        fprintf(out, " %s", cmd->operands);
        column += 1 + (int)strlen(cmd->operands);
    }
    for (const cli_use *u = cmd->options; u->id != OPT_NONE; u++) {
        buf item;
        buf_init(&item);
        synopsis_item(&item, u);
        if (column + 1 + (int)item.len > USAGE_WIDTH) {
            fprintf(out, "\n%*s", indent - 1, "");
            column = indent - 1;
        }
        fprintf(out, " %s", item.data);
        column += 1 + (int)item.len;
        buf_free(&item);
    }
    fputc('\n', out);
    buf_free(&lead);
}

/* "  -j, --jobs N" */
static void option_label(buf *b, cli_opt_id id)
{
    const option_spec *s = &SPECS[id];
    if (s->short_name)
        buf_printf(b, "-%c, --%s", s->short_name, s->long_name);
    else
        buf_printf(b, "--%s", s->long_name);
    if (s->value)
        buf_printf(b, " %s", s->value);
}

void cli_print_help(const cli_command *cmd, FILE *out)
{
    cli_print_usage(cmd, out);
    fputc('\n', out);
    cli_wrap(out, cmd->description, 0, HELP_WIDTH);
    fputs("\noptions:\n", out);
    int label_width = 0;
    for (const cli_use *u = cmd->options; u->id != OPT_NONE; u++) {
        buf label;
        buf_init(&label);
        option_label(&label, u->id);
        if ((int)label.len > label_width)
            label_width = (int)label.len;
        buf_free(&label);
    }
    label_width = label_width > 28 ? 28 : label_width < 10 ? 10 : label_width;
    const cli_use help = { OPT_HELP, "print this help and exit", false };
    for (const cli_use *u = cmd->options;; u++) {
        const cli_use *use = u->id != OPT_NONE ? u : &help;
        buf label;
        buf_init(&label);
        option_label(&label, use->id);
        /* The label, then the help from help_column on, wrapped under itself. */
        int help_column = 2 + label_width + 2;
        if ((int)label.len > label_width) {
            fprintf(out, "  %s\n", label.data);
            wrap_from(out, use->help, help_column, HELP_WIDTH, 0);
        } else {
            fprintf(out, "  %-*s  ", label_width, label.data);
            wrap_from(out, use->help, help_column, HELP_WIDTH, help_column);
        }
        buf_free(&label);
        if (use == &help)
            break;
    }
}

void cli_roff_escape(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            fputs("\\e", out);
        else if (*p == '-')
            fputs("\\-", out);
        else if ((*p == '.' || *p == '\'') && (p == text || p[-1] == '\n')) {
            fputs("\\&", out);   /* a line may not start with a request */
            fputc(*p, out);
        } else
            fputc(*p, out);
    }
}

void cli_print_man_options(const cli_command *cmd, FILE *out)
{
    for (const cli_use *u = cmd->options; u->id != OPT_NONE; u++) {
        const option_spec *s = &SPECS[u->id];
        fputs(".TP\n", out);
        if (s->short_name) {
            fprintf(out, "\\fB\\-%c\\fR, ", s->short_name);
        }
        fputs("\\fB\\-\\-", out);
        cli_roff_escape(out, s->long_name);
        fputs("\\fR", out);
        if (s->value) {
            fputs(" \\fI", out);
            cli_roff_escape(out, s->value);
            fputs("\\fR", out);
        }
        fputc('\n', out);
        cli_roff_escape(out, u->help);
        fputc('\n', out);
    }
}

/* --- errors ---------------------------------------------------------------------- */

static void usage_error_v(const cli_command *cmd, const char *fmt, va_list ap)
{
    fputs("syncsim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    cli_print_usage(cmd, stderr);
    fprintf(stderr, "(syncsim %s --help explains every option)\n", cmd->name);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    usage_error_v(cmd, fmt, ap);
    va_end(ap);
    return EXIT_BAD_INPUT;
}

/* --- values ---------------------------------------------------------------------- */

/* Whole decimal numbers only: no sign, no spaces, no hex, at most max. */
static bool parse_number(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > (max - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

static bool parse_seeds(const char *text, uint64_t *lo, uint64_t *hi)
{
    const uint64_t limit = (UINT64_C(1) << 63) - 1;
    const char *dots = strstr(text, "..");
    if (!dots) {
        if (!parse_number(text, strlen(text), limit, lo))
            return false;
        *hi = *lo;
        return true;
    }
    return parse_number(text, (size_t)(dots - text), limit, lo) &&
           parse_number(dots + 2, strlen(dots + 2), limit, hi) && *lo <= *hi && *hi - *lo < SEEDS_MAX;
}

static bool parse_pair(const char *text, char sep, uint64_t max_first, uint64_t max_second, uint64_t *first,
                       uint64_t *second)
{
    const char *mid = strchr(text, sep);
    return mid && parse_number(text, (size_t)(mid - text), max_first, first) &&
           parse_number(mid + 1, strlen(mid + 1), max_second, second);
}

static int default_jobs(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        return 1;
    return cpus > POOL_WORKERS_MAX ? POOL_WORKERS_MAX : (int)cpus;
}

/* shard_parse's lookup for --shard auto: the process's own environment. */
static const char *environment_lookup(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

/* Check and convert one option's value into a. On a mistake, the sentence in why. */
static bool parse_value(cli_opt_id id, const char *text, cli_args *a, buf *why)
{
    uint64_t x;
    switch (id) {
    case OPT_SEED:
        if (!parse_number(text, strlen(text), UINT64_MAX, &a->seed)) {
            buf_printf(why, "--seed needs a whole number from 0 to 18446744073709551615, not '%s'", text);
            return false;
        }
        return true;
    case OPT_SEEDS:
        if (!parse_seeds(text, &a->seeds_lo, &a->seeds_hi)) {
            buf_printf(why, "--seeds needs A..B with A <= B < 2^63 and at most a billion seeds, not '%s'", text);
            return false;
        }
        return true;
    case OPT_JOBS:
        if (!parse_number(text, strlen(text), POOL_WORKERS_MAX, &x) || x < 1) {
            buf_printf(why, "-j needs a number of workers from 1 to %d, not '%s'", POOL_WORKERS_MAX, text);
            return false;
        }
        a->jobs = (int)x;
        return true;
    case OPT_SHARD: {
        buf source;
        buf_init(&source);
        bool ok = shard_parse(text, environment_lookup, NULL, &a->shard_index, &a->shard_count, &source, why);
        snprintf(a->shard_source, sizeof a->shard_source, "%s", source.len ? source.data : "");
        buf_free(&source);
        return ok;
    }
    case OPT_TIMEOUT: {
        const char *reason = NULL;
        if (!duration_parse(text, &a->timeout_us, &reason) || a->timeout_us <= 0) {
            buf_printf(why, "--timeout needs a duration above zero such as 30s or 10m, not '%s'%s%s", text,
                       reason ? ": " : "", reason ? reason : "");
            return false;
        }
        return true;
    }
    case OPT_NODE_TIMEOUT: {
        const char *reason = NULL;
        if (!duration_parse(text, &a->node_timeout_us, &reason) || a->node_timeout_us < 1000) {
            buf_printf(why, "--node-timeout needs a duration of at least 1ms such as 10s, not '%s'%s%s", text,
                       reason ? ": " : "", reason ? reason : "");
            return false;
        }
        return true;
    }
    case OPT_PROGRESS: {
        const char *reason = NULL;
        if (!duration_parse(text, &a->progress_every_us, &reason) || a->progress_every_us <= 0) {
            buf_printf(why, "--progress needs a simulated duration above zero such as 1d, not '%s'%s%s", text,
                       reason ? ": " : "", reason ? reason : "");
            return false;
        }
        return true;
    }
    case OPT_LEVEL:
        if (!parse_number(text, strlen(text), 5, &x) || x < 1) {
            buf_printf(why, "--level needs a level from 1 to 5, not '%s'", text);
            return false;
        }
        a->level = (int)x;
        return true;
    case OPT_NODE:
        if (!*text) {
            buf_puts(why, "--node needs a command, such as \"python3 node.py\"");
            return false;
        }
        return true;
    case OPT_MAX_RUNS:
        if (!parse_number(text, strlen(text), MAX_RUNS_MAX, &x) || x < 1) {
            buf_printf(why, "--max-runs needs a number from 1 to %d, not '%s'", MAX_RUNS_MAX, text);
            return false;
        }
        a->max_runs = (int)x;
        return true;
    case OPT_CLASS: {
        a->vclass = vclass_parse(text);
        if (a->vclass >= 0)
            return true;
        const char *names[VC_COUNT];
        for (int c = 0; c < VC_COUNT; c++)
            names[c] = vclass_name((vclass)c);
        const char *hint = diag_suggest(text, names, VC_COUNT);
        buf_printf(why, "unknown violation class '%s'", text);
        if (hint)
            buf_printf(why, "; did you mean '%s'?", hint);
        return false;
    }
    case OPT_REPLAY:
        if (!parse_pair(text, ':', GRID_CELLS_MAX, UINT64_MAX, &x, &a->replay_seed)) {
            buf_printf(why, "--replay needs CELL:SEED (two whole numbers), not '%s'", text);
            return false;
        }
        a->replay_cell = (int64_t)x;
        return true;
    default:
        if (!*text && SPECS[id].value) {   /* --json= names no file */
            buf_printf(why, "%s needs %s", cli_option_name(id), SPECS[id].needs);
            return false;
        }
        return true;
    }
}

/* --- parsing ---------------------------------------------------------------------- */

/* The option's id for getopt's val: a short letter or LONG_VAL_BASE + id. -1 when not ours. */
static int id_of_val(const cli_command *cmd, int val)
{
    if (val >= LONG_VAL_BASE && val < LONG_VAL_BASE + OPT_COUNT)
        return val - LONG_VAL_BASE;
    if (val <= 0)
        return -1;   /* getopt's optopt for an unknown long option */
    if (val == 'h')
        return OPT_HELP;
    for (const cli_use *u = cmd->options; u->id != OPT_NONE; u++)
        if (SPECS[u->id].short_name && SPECS[u->id].short_name == val)
            return u->id;
    return -1;
}

/* The closest long option the command takes, for "did you mean". */
static const char *suggest_option(const cli_command *cmd, const char *written)
{
    const char *names[OPT_COUNT + 1];
    static char spelled[OPT_COUNT + 1][48];
    int n = 0;
    for (const cli_use *u = cmd->options; u->id != OPT_NONE && n < OPT_COUNT; u++) {
        snprintf(spelled[n], sizeof spelled[n], "--%s", SPECS[u->id].long_name);
        names[n] = spelled[n];
        n++;
    }
    return diag_suggest(written, names, n);
}

void cli_args_free(cli_args *a)
{
    xfree(a->operands);
    a->operands = NULL;
    a->n_operands = 0;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *out)
{
    memset(out, 0, sizeof *out);
    out->vclass = -1;
    out->shard_index = out->shard_count = 1;
    out->jobs = default_jobs();
    out->operands = xcalloc((size_t)argc + 1, sizeof *out->operands);

    /* getopt_long's tables from the command's options, -h/--help always. */
    struct option longs[OPT_COUNT + 1];
    char shorts[2 * OPT_COUNT + 4];
    int n_long = 0;
    size_t n_short = 0;
    /* '-': operands come back in order as option 1 (whatever POSIXLY_CORRECT says);
     * ':': a missing value comes back as ':' instead of a message from getopt. */
    shorts[n_short++] = '-';
    shorts[n_short++] = ':';
    for (const cli_use *u = cmd->options;; u++) {
        cli_opt_id id = u->id != OPT_NONE ? u->id : OPT_HELP;
        const option_spec *s = &SPECS[id];
        longs[n_long++] = (struct option){ s->long_name, s->value ? required_argument : no_argument, NULL,
                                           LONG_VAL_BASE + (int)id };
        if (s->short_name) {
            shorts[n_short++] = s->short_name;
            if (s->value)
                shorts[n_short++] = ':';
        }
        if (u->id == OPT_NONE)
            break;
    }
    longs[n_long] = (struct option){ 0 };
    shorts[n_short] = '\0';

    /* The first mistake is reported after the whole line is read, so --help anywhere wins. */
    buf error;
    buf_init(&error);
    bool help = false;
    opterr = 0;
    optind = 0;   /* glibc: start afresh */
    for (;;) {
        int long_index = -1;
        int c = getopt_long(argc, argv, shorts, longs, &long_index);
        if (c == -1)
            break;
        if (error.len && c != 1 && id_of_val(cmd, c) != OPT_HELP)
            continue;
        if (c == 1) {
            out->operands[out->n_operands++] = optarg;
            continue;
        }
        if (c == ':' || c == '?') {
            int id = id_of_val(cmd, optopt);
            const char *written = argv[optind - 1];
            if (c == ':' && id >= 0) {
                buf_printf(&error, "%s needs %s", cli_option_name((cli_opt_id)id), SPECS[id].needs);
            } else if (id >= 0 && !SPECS[id].value && strncmp(written, "--", 2) == 0) {
                buf_printf(&error, "%s takes no value ('%s')", cli_option_name((cli_opt_id)id), written);
            } else {
                char shown[64];
                if (optopt && !(optopt >= LONG_VAL_BASE))
                    snprintf(shown, sizeof shown, "-%c", optopt);
                else
                    snprintf(shown, sizeof shown, "%.*s", (int)strcspn(written, "="), written);
                buf_printf(&error, "unknown option '%s'", shown);
                const char *hint = strncmp(shown, "--", 2) == 0 ? suggest_option(cmd, shown) : NULL;
                if (hint)
                    buf_printf(&error, "; did you mean '%s'?", hint);
            }
            continue;
        }
        int id = id_of_val(cmd, c);
        if (id < 0)
            continue;   /* cannot happen: getopt returns only the options it was given */
        /*
         * getopt_long takes any unambiguous prefix (--str for --strict); we do
         * not: an abbreviation that works today breaks when an option is added.
         */
        if (long_index >= 0) {
            const char *written = optarg && optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
            size_t len = strlen(SPECS[id].long_name);
            if (strncmp(written + 2, SPECS[id].long_name, len) != 0 || (written[2 + len] && written[2 + len] != '=')) {
                buf_printf(&error, "unknown option '%.*s'; did you mean '--%s'?", (int)strcspn(written, "="),
                           written, SPECS[id].long_name);
                continue;
            }
        }
        if (id == OPT_HELP) {
            help = true;
            continue;
        }
        out->given[id] = true;
        out->text[id] = optarg;
        if (!SPECS[id].value)
            continue;   /* a switch: given[] says it all */
        parse_value((cli_opt_id)id, optarg ? optarg : "", out, &error);
    }
    /* After "--" everything is an operand, even what looks like an option. */
    while (optind < argc)
        out->operands[out->n_operands++] = argv[optind++];
    int code = 0;
    if (help) {
        cli_print_help(cmd, stdout);
        code = CLI_EXIT_DONE;
    } else if (error.len) {
        code = cli_usage_error(cmd, "%s", error.data);
    } else if (out->n_operands < cmd->operands_min) {
        if (cmd->operands_min == 1)
            code = cli_usage_error(cmd, "%s needs %s %s", cmd->name, strchr("aeiou", cmd->operand_noun[0]) ? "an" : "a",
                                   cmd->operand_noun);
        else
            code = cli_usage_error(cmd, "%s needs %s", cmd->name, cmd->operands);
    } else if (cmd->operands_max >= 0 && out->n_operands > cmd->operands_max) {
        if (cmd->operands_max == 0)
            code = cli_usage_error(cmd, "%s takes no arguments; '%s' is one", cmd->name, out->operands[0]);
        else
            code = cli_usage_error(cmd, "%s takes one %s; '%s' is a second one", cmd->name, cmd->operand_noun,
                                   out->operands[cmd->operands_max]);
    } else {
        for (const cli_use *u = cmd->options; u->id != OPT_NONE && !code; u++) {
            if (u->required && !out->given[u->id])
                code = cli_usage_error(cmd, "%s needs %s %s", cmd->name, cli_option_name(u->id), SPECS[u->id].value);
        }
    }
    buf_free(&error);
    if (code)
        cli_args_free(out);
    return code;
}
