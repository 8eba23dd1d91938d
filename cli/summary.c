/*
 * summary: syncsim summary DB [--junit F.xml] [--json F.json] [--summary F.md]
 *
 * Says what the sweeps and grids recorded in a results database came to,
 * as `syncsim sweep` and `syncsim grid` say it at their end -- totals,
 * failing classes, each failing seed as the command that replays it -- for
 * any database: one machine's, or the merge of many shards'. It is the step
 * after `syncsim merge` in a CI pipeline, so it also says what a merge may
 * lack: seeds missing from a sweep's range, shards that sent no rows, runs
 * a grid has not recorded.
 *
 * A key (scenario, params, strict) that a grid's cell names belongs to that
 * grid; every other key is a sweep (results_each_sweep). A sweep's range is
 * what the file holds, lowest seed to highest; the command line it ran with
 * is not recorded, so the replay commands name the scenario file and the
 * seed, plus --strict for strict rows.
 *
 * Exit codes: 0 every sweep's seeds passed and every grid has all its runs;
 * 1 a seed failed or crashed, a shard of a sweep sent no rows, or a grid
 * lacks runs; 2 bad input: the file,
 * or rows that recorded bad input only, or a file with no runs at all.
 * It reads the database and never runs a scenario.
 */
#include "base/buf.h"
#include "base/xalloc.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/results.h"
#include "cli/sweep_report.h"
#include "sim/verdict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct summary {
    results *db;
    FILE *junit, *markdown;     /* NULL unless asked for */
    cJSON *json;                /* {"sweeps": [...], "grids": [...]}, or NULL */
    uint64_t n_sweeps, n_grids;
    uint64_t junit_tests, junit_failures, junit_errors;
    int code;                   /* the worst exit code so far */
    bool read_failed;
} summary;

static void worse(summary *s, int code)
{
    /* bad input (2) outranks a failure (1), which outranks a pass (0) */
    if (code == EXIT_BAD_INPUT || (code == EXIT_VIOLATION && s->code == EXIT_PASS))
        s->code = code;
}

/* --- shards ---------------------------------------------------------------------------- */

typedef struct shard_id {
    long index, count;
} shard_id;

static int shard_cmp(const void *a, const void *b)
{
    const shard_id *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * "1/4, 2/4, 4/4 (none from 3/4)" from the distinct shard texts the rows
 * carry: when they all split the range N ways, the ones that sent nothing
 * are named -- the sign of a CI job that died before its upload. Nothing
 * for rows of one unsharded run. Returns how many shards sent rows; *absent
 * is how many of the split's shards sent none.
 */
static size_t describe_shards(buf *out, const char *shards, size_t *absent)
{
    *absent = 0;
    size_t cap = 0, n = 0;
    shard_id *ids = NULL;
    char *copy = xstrdup(shards);
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        shard_id id;
        char *end;
        id.index = strtol(t, &end, 10);
        if (*end != '/')
            continue;
        id.count = strtol(end + 1, &end, 10);
        if (*end || id.index < 1 || id.count < id.index)
            continue;
        xgrow(&ids, &cap, n + 1, sizeof *ids);
        ids[n++] = id;
    }
    xfree(copy);
    qsort(ids, n, sizeof *ids, shard_cmp);
    if (n == 0 || (n == 1 && ids[0].count == 1)) {
        xfree(ids);
        return 0;   /* one unsharded run says nothing worth a clause */
    }
    bool one_split = true;
    for (size_t i = 0; i < n; i++) {
        buf_printf(out, "%s%ld/%ld", i ? ", " : "", ids[i].index, ids[i].count);
        one_split = one_split && ids[i].count == ids[0].count;
    }
    if (one_split && (long)n < ids[0].count) {
        buf_puts(out, " (none from ");
        size_t k = 0, named = 0;
        for (long i = 1; i <= ids[0].count; i++) {
            while (k < n && ids[k].index < i)
                k++;
            if (k < n && ids[k].index == i)
                continue;
            if (named == 8) {
                buf_puts(out, ", ...");
                break;
            }
            buf_printf(out, "%s%ld/%ld", named++ ? ", " : "", i, ids[0].count);
        }
        *absent = (size_t)ids[0].count - n;
        buf_putc(out, ')');
    }
    xfree(ids);
    return n;
}

/* --- sweeps ---------------------------------------------------------------------------- */

static void one_sweep(void *ctx, const result_sweep *sw)
{
    summary *s = ctx;
    /* The key is name@hash; people know the name. */
    char *name = xstrndup(sw->scenario, strcspn(sw->scenario, "@"));
    buf shards;
    buf_init(&shards);
    size_t absent;
    size_t n_shards = describe_shards(&shards, sw->shards, &absent);
    sweep_view v = { .db = s->db, .key = sw->scenario, .params = sw->params, .strict = sw->strict, .file = sw->file,
                     .name = name, .profile = sw->profile, .replay_options = "", .lo = sw->seed_lo,
                     .hi = sw->seed_hi, .shard_index = 1, .shard_count = 1, .shard_text = shards.len ? shards.data : "" };
    sweep_tally t;
    if (!sweep_report_tally(&v, &t)) {
        s->read_failed = true;
        goto out;
    }
    uint64_t span = sw->seed_hi - sw->seed_lo + 1, missing = span - t.total;
    if (s->n_sweeps + s->n_grids)
        printf("\n");
    s->n_sweeps++;
    printf("sweep  %s (%s), profile %s%s\n", name, sw->file, sw->profile, sw->strict ? ", strict" : "");
    buf counts;
    buf_init(&counts);
    buf_printf(&counts, "%llu recorded", (unsigned long long)t.total);
    if (missing)
        buf_printf(&counts, ", %llu of the range missing", (unsigned long long)missing);
    if (shards.len)
        buf_printf(&counts, ", from shard%s %s", n_shards == 1 ? "" : "s", shards.data);
    printf("seeds  %llu..%llu: %s\n", (unsigned long long)sw->seed_lo, (unsigned long long)sw->seed_hi, counts.data);
    sweep_report_text(stdout, &v, &t);
    if (t.total != t.passed)
        worse(s, t.bad == t.total - t.passed ? EXIT_BAD_INPUT : EXIT_VIOLATION);
    /* Gaps alone can be two sweeps of different ranges in one file; a shard that sent nothing cannot. */
    if (absent)
        worse(s, EXIT_VIOLATION);
    if (s->junit) {
        s->junit_tests += t.total;
        s->junit_failures += t.failed;
        s->junit_errors += t.crashed + t.bad;
        if (!sweep_report_junit(s->junit, &v, &t))
            s->read_failed = true;
    }
    if (s->json) {
        cJSON *o = sweep_report_json(&v, &t);
        if (o) {
            cJSON_AddNumberToObject(o, "missing", (double)missing);
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(s->json, "sweeps"), o);
        } else {
            s->read_failed = true;
        }
    }
    if (s->markdown)
        sweep_report_markdown(s->markdown, &v, &t, counts.data);
    buf_free(&counts);
out:
    buf_free(&shards);
    xfree(name);
}

/* --- grids ----------------------------------------------------------------------------- */

static void one_grid(void *ctx, const result_grid *g)
{
    summary *s = ctx;
    sweep_tally all = { 0 };
    struct { int64_t cell; uint64_t seed; } failing[SWEEP_FAILING_SHOWN];
    int n_failing = 0;
    /* Cells in order, each cell's seeds in order: the first failing runs are the grid's first cells'. */
    for (int64_t cell = 0; cell < g->n_cells; cell++) {
        sweep_view v = { .db = s->db, .key = g->cell_scenario[cell], .params = g->cell_params[cell], .file = g->file,
                         .name = g->name, .profile = "", .replay_options = "", .lo = g->seeds_lo, .hi = g->seeds_hi,
                         .shard_index = 1, .shard_count = 1, .shard_text = "" };
        sweep_tally t;
        if (!sweep_report_tally(&v, &t)) {
            s->read_failed = true;
            return;
        }
        all.total += t.total;
        all.passed += t.passed;
        all.failed += t.failed;
        all.crashed += t.crashed;
        all.bad += t.bad;
        for (int c = 0; c < VC_COUNT; c++)
            all.by_class[c] += t.by_class[c];
        for (int i = 0; i < t.n_failing_seeds && n_failing < SWEEP_FAILING_SHOWN; i++) {
            failing[n_failing].cell = cell;
            failing[n_failing++].seed = t.failing_seeds[i];
        }
    }
    uint64_t expected = (uint64_t)g->n_cells * (g->seeds_hi - g->seeds_lo + 1);
    uint64_t missing = expected > all.total ? expected - all.total : 0;
    if (s->n_sweeps + s->n_grids)
        printf("\n");
    s->n_grids++;
    printf("grid   %s (%s), base %s\n", g->name, g->file, g->scenario_file);
    printf("runs   %lld cells x seeds %llu..%llu: %llu recorded of %llu%s", (long long)g->n_cells,
           (unsigned long long)g->seeds_lo, (unsigned long long)g->seeds_hi, (unsigned long long)all.total,
           (unsigned long long)expected, missing ? ", " : "\n");
    if (missing)
        printf("%llu missing: run the grid (or its missing shards) again with the same --db to finish it\n",
               (unsigned long long)missing);
    printf("result %llu passed, %llu with violations (measured, see the report), %llu crashed, %llu bad input\n",
           (unsigned long long)all.passed, (unsigned long long)all.failed, (unsigned long long)all.crashed,
           (unsigned long long)all.bad);
    bool any_class = false;
    for (int c = 0; c < VC_COUNT; c++) {
        if (all.by_class[c]) {
            printf("%s%s %llu", any_class ? ", " : "failing by class: ", vclass_name((vclass)c),
                   (unsigned long long)all.by_class[c]);
            any_class = true;
        }
    }
    if (any_class)
        printf("\n");
    if (n_failing) {
        printf("runs with findings%s (replay any of them exactly):\n",
               all.total - all.passed > SWEEP_FAILING_SHOWN ? ", first 20" : "");
        for (int i = 0; i < n_failing; i++)
            printf("  syncsim grid %s --replay %lld:%llu\n", g->file, (long long)failing[i].cell,
                   (unsigned long long)failing[i].seed);
    }
    /* A grid measures violations; what fails it is a crash, bad input, or runs it never recorded. */
    if (all.bad)
        worse(s, EXIT_BAD_INPUT);
    else if (all.crashed || missing)
        worse(s, EXIT_VIOLATION);
    if (s->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "grid", g->name);
        cJSON_AddStringToObject(o, "file", g->file);
        cJSON_AddStringToObject(o, "scenario_file", g->scenario_file);
        cJSON_AddNumberToObject(o, "cells", (double)g->n_cells);
        char range[64];
        snprintf(range, sizeof range, "%llu..%llu", (unsigned long long)g->seeds_lo, (unsigned long long)g->seeds_hi);
        cJSON_AddStringToObject(o, "seeds", range);
        cJSON_AddNumberToObject(o, "runs", (double)expected);
        cJSON_AddNumberToObject(o, "recorded", (double)all.total);
        cJSON_AddNumberToObject(o, "missing", (double)missing);
        cJSON_AddNumberToObject(o, "passed", (double)all.passed);
        cJSON_AddNumberToObject(o, "with_violations", (double)all.failed);
        cJSON_AddNumberToObject(o, "crashed", (double)all.crashed);
        cJSON_AddNumberToObject(o, "bad_input", (double)all.bad);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(s->json, "grids"), o);
    }
    if (s->markdown) {
        FILE *f = s->markdown;
        fprintf(f, "## syncsim grid %s: %s\n\n", g->name, missing || all.crashed || all.bad ? "INCOMPLETE" : "complete");
        fprintf(f, "`%s` (base `%s`), %lld cells x seeds %llu..%llu: %llu of %llu runs recorded.\n\n", g->file,
                g->scenario_file, (long long)g->n_cells, (unsigned long long)g->seeds_lo,
                (unsigned long long)g->seeds_hi, (unsigned long long)all.total, (unsigned long long)expected);
        fprintf(f, "| passed | with violations | crashed | bad input | missing |\n|---:|---:|---:|---:|---:|\n"
                   "| %llu | %llu | %llu | %llu | %llu |\n\n",
                (unsigned long long)all.passed, (unsigned long long)all.failed, (unsigned long long)all.crashed,
                (unsigned long long)all.bad, (unsigned long long)missing);
    }
}

/* --- the command ----------------------------------------------------------------------- */

static int summary_main(const cli_command *cmd, const cli_args *a)
{
    (void)cmd;
    const char *path = a->operands[0], *junit = a->text[OPT_JUNIT], *json = a->text[OPT_JSON],
               *markdown = a->text[OPT_SUMMARY];
    /* results_open would create a missing file: a summary of nothing is a mistake, said as such. */
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "syncsim: %s: %s (summary reads a results database that sweep, grid or merge wrote)\n", path,
                strerror(errno));
        return EXIT_BAD_INPUT;
    }
    if ((junit && !output_writable(junit)) || (json && !output_writable(json)) ||
        (markdown && !output_writable(markdown)))
        return EXIT_BAD_INPUT;
    char *error = NULL;
    summary s = { .db = results_open(path, &error) };
    if (!s.db) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
        return EXIT_BAD_INPUT;
    }
    /* The JUnit body goes to memory first: <testsuites> carries the totals, known only at the end. */
    char *junit_body = NULL;
    size_t junit_len = 0;
    if (junit)
        s.junit = open_memstream(&junit_body, &junit_len);
    if (markdown)
        s.markdown = fopen(markdown, "w");
    if (json) {
        s.json = cJSON_CreateObject();
        cJSON_AddStringToObject(s.json, "database", path);
        cJSON_AddArrayToObject(s.json, "sweeps");
        cJSON_AddArrayToObject(s.json, "grids");
    }
    if (markdown && !s.markdown) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", markdown, strerror(errno));
        s.code = EXIT_BAD_INPUT;
        goto out;
    }
    if (!results_each_sweep(s.db, one_sweep, &s, &error) || !results_each_grid(s.db, one_grid, &s, &error)) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
        s.read_failed = true;
    }
    if (s.read_failed) {
        s.code = EXIT_BAD_INPUT;
    } else if (s.n_sweeps + s.n_grids == 0) {
        fprintf(stderr, "syncsim: %s holds no runs\n", path);
        s.code = EXIT_BAD_INPUT;
    }
    if (s.junit) {
        fclose(s.junit);
        s.junit = NULL;
        FILE *f = fopen(junit, "w");
        if (f) {
            fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            fprintf(f, "<testsuites name=\"syncsim summary\" tests=\"%llu\" failures=\"%llu\" errors=\"%llu\">\n",
                    (unsigned long long)s.junit_tests, (unsigned long long)s.junit_failures,
                    (unsigned long long)s.junit_errors);
            fwrite(junit_body, 1, junit_len, f);
            fprintf(f, "</testsuites>\n");
        } else {
            fprintf(stderr, "syncsim: cannot write %s: %s\n", junit, strerror(errno));
        }
        if (!f || !output_close(f, junit))
            s.code = EXIT_BAD_INPUT;
    }
    if (s.json && !output_write_json(json, s.json))
        s.code = EXIT_BAD_INPUT;
out:
    if (s.junit)
        fclose(s.junit);
    free(junit_body);   /* open_memstream's buffer is malloc's */
    if (s.markdown && !output_close(s.markdown, markdown))
        s.code = EXIT_BAD_INPUT;
    cJSON_Delete(s.json);
    results_close(s.db);
    return s.code;
}

static const cli_use SUMMARY_OPTIONS[] = {
    { OPT_JUNIT, "write JUnit XML: a test suite per sweep, a test case per seed, failures with the witness and "
                 "the replay command", false },
    { OPT_JSON, "write the sweeps (totals, failing classes, one entry per seed) and grids (runs recorded and missing) "
                "as JSON", false },
    { OPT_SUMMARY, "write Markdown for a CI job's page: a section per sweep and grid", false },
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_summary = {
    .name = "summary",
    .operands = "DB",
    .operand_noun = "results database",
    .operands_min = 1,
    .operands_max = 1,
    .summary = "what the sweeps and grids in a results database came to",
    .description =
        "Prints, for every sweep and grid recorded in the results database DB -- one machine's, or shards' merged "
        "with merge -- what sweep and grid print at their end: the totals, the failing classes and each failing "
        "seed as the command that replays it. It also says what the file lacks: seeds missing from a sweep's "
        "range, shards that sent no rows, runs a grid has not recorded. It never runs a scenario.\n"
        "Exit codes: 0 every sweep's seeds passed and every grid has all its runs; 1 a seed failed or crashed, a "
        "shard of a sweep sent no rows, or a grid lacks runs; 2 bad input (no such file, not a results database, no runs in it).",
    .options = SUMMARY_OPTIONS,
    .main = summary_main,
};
