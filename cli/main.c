/*
 * main: the syncsim command line.
 *
 *   syncsim run FILE [--seed N] [--trace F.jsonl] [--json F.json] [--store-dir DIR] [--strict]
 *   syncsim suite [DIR|FILE]... [--strict] [--json F.json]
 *   syncsim strategies
 *
 * Exit codes: 0 expectations met; 1 violation or unmet expectation;
 * 2 bad input or usage; 3 no quiescence.
 */
#include "base/json.h"
#include "base/xalloc.h"
#include "cli/grid.h"
#include "cli/node.h"
#include "cli/shrink.h"
#include "cli/sweep.h"
#include "engine/strategy.h"
#include "sim/determinism.h"
#include "sim/report.h"
#include "sim/profile_load.h"
#include "sim/scenario.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SYNCSIM_VERSION "0.1.0"

static const char USAGE[] =
    "usage: syncsim run FILE [--seed N] [--trace F.jsonl] [--json F.json] [--store-dir DIR] [--strict]\n"
    "                        [--profile NAME|FILE] [--check-determinism]\n"
    "       syncsim sweep FILE --seeds A..B [-j N] [--shard I/N] [--db results.sqlite] [--junit F.xml]\n"
    "                          [--json F.json] [--strict] [--check-determinism]\n"
    "       syncsim merge OUT.sqlite IN.sqlite...\n"
    "       syncsim grid FILE [--db results.sqlite] [-j N] [--shard I/N] [--json F.json]\n"
    "       syncsim grid FILE --replay CELL:SEED [--strict]\n"
    "       syncsim shrink FILE --seed N -o minimal.yaml [--class CLASS] [--max-runs N]\n"
    "       syncsim suite [DIR|FILE]... [--strict] [--json F.json]\n"
    "       syncsim strategies\n"
    "       syncsim --help | --version\n";

static const char HELP[] =
    "syncsim: a deterministic simulator and conformance harness for offline-first sync.\n"
    "\n"
    "  run FILE        run one scenario and check every invariant\n"
    "    --seed N        the root seed (default: the scenario's seed:, else 1)\n"
    "    --trace F       write every simulated event as JSON lines to F\n"
    "    --json F        write the result (findings, witnesses, metrics) as JSON to F\n"
    "    --store-dir D   keep each replica's SQLite store as D/<name>.sqlite\n"
    "    --profile P     run the steps under another profile (a name or a file): with\n"
    "                    --strict, does that design keep every invariant here?\n"
    "    --strict        ignore the scenario's expect: and the profile's accepts:;\n"
    "                    fail on every class but superseded and overwritten-concurrent\n"
    "    --check-determinism  run twice and compare event by event; name the first\n"
    "                    event that differs (exit 1) or print the common hash\n"
    "  sweep FILE      run seeds A..B (inclusive) in N worker processes; one row per seed\n"
    "                  in the results database; a killed sweep resumes where it stopped\n"
    "    --shard I/N     this machine's share: the seeds at positions I-1 modulo N\n"
    "    --junit F --json F  CI results: one test case per seed, failures with witnesses\n"
    "  merge OUT IN... combine shards' results databases\n"
    "  grid FILE       run every cell of a parameter grid (profiles x workload values) over\n"
    "                  its seeds, into the results database; resumable and shardable like\n"
    "                  sweep; reports/conflict_report.py turns it into tables and plots\n"
    "    --replay C:S    run cell C with seed S again, printed as run prints it\n"
    "  shrink FILE     turn a failing seed into the smallest explicit scenario that still\n"
    "                  fails with the same class (fewer devices, steps, fields, skew, time)\n"
    "  suite [DIR]...  run every scenario under the directories (default: scenarios),\n"
    "                  one line each; profiles/ and grids/ directories are skipped\n"
    "  strategies      list the conflict strategies profiles can name\n"
    "\n"
    "Exit codes: 0 expectations met, 1 violation or unmet expectation,\n"
    "2 bad input or usage, 3 no quiescence (liveness).\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "syncsim: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", USAGE);
    return EXIT_BAD_INPUT;
}

/* --opt value or --opt=value. Returns the value, advancing *i, or NULL when missing. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static bool parse_seed(const char *text, uint64_t *out)
{
    if (!text || !*text)
        return false;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static bool write_json_file(const char *path, cJSON *json)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    /* Our writer, not cJSON_Print: cJSON rounds integers beyond 15 digits. */
    buf text;
    buf_init(&text);
    json_write_pretty(&text, json, 0);
    buf_putc(&text, '\n');
    bool ok = fwrite(text.data, 1, text.len, f) == text.len;
    buf_free(&text);
    ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
    return ok;
}

/*
 * --profile: run the scenario's steps under another design -- a profile name,
 * found as a scenario's profile: is, or a profile file. The scenario's own
 * expect: still applies; pair it with --strict to ask whether the other
 * design keeps every invariant where this one documents a weakness.
 */
static bool replace_profile(scenario *sc, const char *text, diag *d)
{
    scenario_profile p;
    src_pos pos = { .file = "--profile" };
    bool ok = profile_is_name(text) ? profile_load_named(text, sc->path, NULL, pos, &sc->arena, &p, d)
                                    : profile_load_file(text, &sc->arena, &p, d);
    if (ok)
        sc->profile = p;
    return ok;
}

static int cmd_run(int argc, char **argv)
{
    const char *file = NULL, *trace_path = NULL, *json_path = NULL, *store_dir = NULL, *seed_text = NULL;
    const char *profile_text = NULL, *node_text = NULL;
    bool strict = false, check_determinism = false;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--strict") == 0)
            strict = true;
        else if (strcmp(argv[i], "--check-determinism") == 0)
            check_determinism = true;
        else if (strncmp(argv[i], "--seed", 6) == 0 && (argv[i][6] == '\0' || argv[i][6] == '='))
            seed_text = (v = option_value(argc, argv, &i, "--seed")) ? v : "";
        else if (strncmp(argv[i], "--trace", 7) == 0 && (argv[i][7] == '\0' || argv[i][7] == '=')) {
            if (!(trace_path = option_value(argc, argv, &i, "--trace")))
                return usage_error("%s needs a file name", "--trace");
        } else if (strncmp(argv[i], "--json", 6) == 0 && (argv[i][6] == '\0' || argv[i][6] == '=')) {
            if (!(json_path = option_value(argc, argv, &i, "--json")))
                return usage_error("%s needs a file name", "--json");
        } else if (strncmp(argv[i], "--store-dir", 11) == 0 && (argv[i][11] == '\0' || argv[i][11] == '=')) {
            if (!(store_dir = option_value(argc, argv, &i, "--store-dir")))
                return usage_error("%s needs a directory", "--store-dir");
        } else if (strncmp(argv[i], "--profile", 9) == 0 && (argv[i][9] == '\0' || argv[i][9] == '=')) {
            if (!(profile_text = option_value(argc, argv, &i, "--profile")))
                return usage_error("%s needs a profile name or file", "--profile");
        } else if (strncmp(argv[i], "--node", 6) == 0 && (argv[i][6] == '\0' || argv[i][6] == '=')) {
            if (!(node_text = option_value(argc, argv, &i, "--node")))
                return usage_error("%s needs a command", "--node");
        } else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage_error("unknown option '%s'", argv[i]);
        else if (file)
            return usage_error("run takes one scenario file; '%s' is a second one", argv[i]);
        else
            file = argv[i];
    }
    if (!file)
        return usage_error("%s", "run needs a scenario file");
    uint64_t seed = 0;
    if (seed_text && !parse_seed(seed_text, &seed))
        return usage_error("--seed needs a whole number from 0 to 18446744073709551615, not '%s'", seed_text);

    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(file, &d);
    if (!sc) {
        fprintf(stderr, "%s\n", d.message);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }
    if (profile_text && !replace_profile(sc, profile_text, &d)) {
        fprintf(stderr, "%s\n", d.message);
        scenario_free(sc);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }
    if (node_text && !scenario_use_node(sc, node_text, 0, &d)) {
        fprintf(stderr, "%s\n", d.message);
        scenario_free(sc);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }
    if (!seed_text)
        seed = sc->seed;
    scenario *tmpl = sc;
    sc = scenario_for_seed(tmpl, seed, &d);
    if (!sc) {
        fprintf(stderr, "%s\n", d.message);
        scenario_free(tmpl);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }

    if (check_determinism) {
        determinism_report det;
        int code = EXIT_PASS;
        if (!determinism_check(sc, seed, &det, &d)) {
            fprintf(stderr, "%s\n", d.message);
            code = EXIT_BAD_INPUT;
        } else if (det.same) {
            char hex[17];
            trace_hash_hex(det.hash, hex);
            printf("deterministic: two runs of seed %llu agree on all %llu events\ntrace-hash: %s\n",
                   (unsigned long long)seed, (unsigned long long)det.events, hex);
        } else {
            printf("NOT deterministic: seed %llu, event %llu differs between two runs\n  first run:  %s\n"
                   "  second run: %s\n",
                   (unsigned long long)seed, (unsigned long long)det.first_diff,
                   det.first_run_line ? det.first_run_line : "(no such event)",
                   det.second_run_line ? det.second_run_line : "(no such event)");
            code = EXIT_VIOLATION;
        }
        determinism_report_free(&det);
        scenario_free(sc);
        scenario_free(tmpl);
        diag_free(&d);
        return code;
    }

    FILE *trace_out = NULL;
    if (trace_path && !(trace_out = fopen(trace_path, "w"))) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", trace_path, strerror(errno));
        scenario_free(sc);
        scenario_free(tmpl);
        return EXIT_BAD_INPUT;
    }
    run_options opt = { .trace_out = trace_out, .store_dir = store_dir };
    run_result r;
    int code;
    if (!sim_run(sc, seed, &opt, &r, &d)) {
        fprintf(stderr, "%s\n", d.message);
        code = EXIT_BAD_INPUT;
    } else {
        verdict v;
        verdict_judge(sc, &r, strict, &v);
        report_text(stdout, sc, &r, &v, strict);
        code = v.exit_code;
        if (json_path) {
            cJSON *j = report_json(sc, &r, &v, strict);
            if (!write_json_file(json_path, j))
                code = EXIT_BAD_INPUT;
            cJSON_Delete(j);
        }
        verdict_free(&v);
    }
    run_result_free(&r);
    if (trace_out && fclose(trace_out) != 0) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", trace_path, strerror(errno));
        code = EXIT_BAD_INPUT;
    }
    scenario_free(sc);
    scenario_free(tmpl);
    diag_free(&d);
    return code;
}

/* --- suite ------------------------------------------------------------------ */

typedef struct path_list {
    char **items;
    size_t n;
    size_t cap;
} path_list;

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void collect(const char *path, path_list *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (S_ISREG(st.st_mode)) {
        if (has_suffix(path, ".yaml") || has_suffix(path, ".yml")) {
            xgrow(&out->items, &out->cap, out->n + 1, sizeof *out->items);
            out->items[out->n++] = xstrdup(path);
        }
        return;
    }
    if (!S_ISDIR(st.st_mode))
        return;
    DIR *dh = opendir(path);
    if (!dh)
        return;
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "profiles") == 0 || strcmp(e->d_name, "grids") == 0)
            continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *child = xmalloc(n);
        snprintf(child, n, "%s/%s", path, e->d_name);
        collect(child, out);
        xfree(child);
    }
    closedir(dh);
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void class_names(vclass_set set, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int c = 0; c < VC_COUNT && n < cap; c++)
        if (set & VCLASS_BIT(c))
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", vclass_name((vclass)c));
    if (n == 0)
        snprintf(out, cap, "-");
}

static int cmd_suite(int argc, char **argv)
{
    bool strict = false;
    const char *json_path = NULL;
    path_list paths = { 0 };
    int roots = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0) {
            strict = true;
        } else if (strncmp(argv[i], "--json", 6) == 0 && (argv[i][6] == '\0' || argv[i][6] == '=')) {
            if (!(json_path = option_value(argc, argv, &i, "--json")))
                return usage_error("%s needs a file name", "--json");
        } else if (argv[i][0] == '-') {
            return usage_error("unknown option '%s'", argv[i]);
        } else {
            struct stat st;
            if (stat(argv[i], &st) != 0)
                return usage_error("no such file or directory: '%s'", argv[i]);
            collect(argv[i], &paths);
            roots++;
        }
    }
    if (!roots)
        collect("scenarios", &paths);
    qsort(paths.items, paths.n, sizeof *paths.items, compare_paths);

    printf("%-52s %-18s %-13s %4s %6s %5s  %-28s %s\n", "SCENARIO", "PROFILE", "OUTCOME", "EXIT", "WRITES",
           "CONFL", "FINDINGS (failing/tolerated)", "TRACE-HASH");
    cJSON *rows = cJSON_CreateArray();
    int worst = 0, passed = 0, failed = 0, errors = 0;
    for (size_t i = 0; i < paths.n; i++) {
        diag d;
        diag_init(&d);
        scenario *tmpl = scenario_load(paths.items[i], &d);
        scenario *sc = tmpl ? scenario_for_seed(tmpl, tmpl->seed, &d) : NULL;
        run_result r;
        bool ran = sc && sim_run(sc, sc->seed, &(run_options){ 0 }, &r, &d);
        if (!ran) {
            printf("%-52s %-18s %-13s %4d\n", paths.items[i], sc ? sc->profile.name : "?", "bad-input",
                   EXIT_BAD_INPUT);
            fprintf(stderr, "%s\n", d.message);
            errors++;
            worst = EXIT_BAD_INPUT;
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "file", paths.items[i]);
            cJSON_AddStringToObject(row, "outcome", "bad-input");
            cJSON_AddNumberToObject(row, "exit_code", EXIT_BAD_INPUT);
            cJSON_AddStringToObject(row, "error", d.message);
            cJSON_AddItemToArray(rows, row);
            if (sc)
                run_result_free(&r);
        } else {
            verdict v;
            verdict_judge(sc, &r, strict, &v);
            char failing[128], tolerated[128], findings[300], hex[17];
            class_names(v.failing, failing, sizeof failing);
            class_names(v.tolerated, tolerated, sizeof tolerated);
            snprintf(findings, sizeof findings, "%s/%s", failing, tolerated);
            trace_hash_hex(r.trace_hash, hex);
            printf("%-52s %-18s %-13s %4d %6llu %5llu  %-28s %s\n", paths.items[i], sc->profile.name, v.outcome,
                   v.exit_code, (unsigned long long)r.metrics.writes, (unsigned long long)r.metrics.conflicts,
                   findings, hex);
            for (int k = 0; k < v.n_unmet; k++)
                printf("    unmet: %s\n", v.unmet[k]);
            if (v.exit_code == 0)
                passed++;
            else
                failed++;
            if (v.exit_code != 0 && worst != EXIT_BAD_INPUT)
                worst = EXIT_VIOLATION;
            cJSON_AddItemToArray(rows, report_json(sc, &r, &v, strict));
            verdict_free(&v);
            run_result_free(&r);
        }
        scenario_free(sc);
        scenario_free(tmpl);
        diag_free(&d);
        fflush(stdout);
    }
    printf("%zu scenarios: %d passed, %d failed, %d bad input\n", paths.n, passed, failed, errors);
    if (json_path && !write_json_file(json_path, rows))
        worst = EXIT_BAD_INPUT;
    cJSON_Delete(rows);
    for (size_t i = 0; i < paths.n; i++)
        xfree(paths.items[i]);
    xfree(paths.items);
    if (paths.n == 0) {
        fprintf(stderr, "syncsim: no scenario files found\n");
        return EXIT_BAD_INPUT;
    }
    return worst;
}

static int cmd_strategies(void)
{
    for (int i = 0; i < strategy_count(); i++)
        printf("%-18s %s\n", strategy_at(i)->name, strategy_at(i)->summary);
    return 0;
}

int main(int argc, char **argv)
{
    xalloc_install_cjson();
    if (argc < 2)
        return usage_error("%s", "a command is needed");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        printf("%s\n%s", USAGE, HELP);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("syncsim %s\n", SYNCSIM_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(cmd, "suite") == 0)
        return cmd_suite(argc, argv);
    if (strcmp(cmd, "sweep") == 0)
        return cmd_sweep(argc, argv);
    if (strcmp(cmd, "merge") == 0)
        return cmd_merge(argc, argv);
    if (strcmp(cmd, "grid") == 0)
        return cmd_grid(argc, argv);
    if (strcmp(cmd, "shrink") == 0)
        return cmd_shrink(argc, argv);
    if (strcmp(cmd, "strategies") == 0)
        return cmd_strategies();
    if (strcmp(cmd, "node") == 0)
        return cmd_node(argc, argv);
    return usage_error("unknown command '%s'", cmd);
}
