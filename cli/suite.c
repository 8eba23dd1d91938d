/*
 * suite: every scenario under some directories, each once with its own
 * seed, judged as `syncsim run FILE` judges it: one line per scenario on
 * stdout, a total, and for CI a JSON array, JUnit XML and a Markdown
 * summary. The front door of a CI job: its exit code is 0 only when every
 * scenario met its expectations.
 *
 * Scenarios load in this process and run in -j N worker processes
 * (pool.h), so a scenario that crashes the simulator is reported as a crash
 * instead of ending the suite. Lines are printed in file order whatever
 * order the workers finish in: the output of a suite does not depend on -j.
 * This file reads the wall clock (timings); the simulation never does.
 */
#include "base/buf.h"
#include "base/xalloc.h"
#include "cli/budget.h"
#include "cli/commands.h"
#include "cli/node.h"
#include "cli/output.h"
#include "cli/pool.h"
#include "sim/duration.h"
#include "sim/report.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct entry {
    char *path;        /* owned */
    scenario *tmpl;    /* owned; NULL when the file did not load */
    cJSON *row;        /* owned: the result (report_json plus wall_ms), or the bad-input or crash row */
} entry;

typedef struct suite {
    entry *entries;            /* sorted by path */
    size_t n, cap;
    size_t printed;            /* entries[0..printed) have their line on stdout */
    bool strict;
    int64_t timeout_us;
    uint64_t passed, failed, bad;
    int worst;                 /* the exit code so far */
} suite;

/* --- the files ------------------------------------------------------------------ */

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Every .yaml under path; profiles/ and grids/ (profiles, grid files and their bases) are not scenarios. */
static void collect(suite *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (S_ISREG(st.st_mode)) {
        if (has_suffix(path, ".yaml") || has_suffix(path, ".yml")) {
            xgrow(&s->entries, &s->cap, s->n + 1, sizeof *s->entries);
            s->entries[s->n++] = (entry){ .path = xstrdup(path) };
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
        buf child;
        buf_init(&child);
        buf_printf(&child, "%s/%s", path, e->d_name);
        collect(s, child.data);
        buf_free(&child);
    }
    closedir(dh);
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

/* --- one scenario, in a worker ----------------------------------------------------- */

static cJSON *bad_input_row(const char *path, const char *profile, const char *error)
{
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "file", path);
    if (profile)
        cJSON_AddStringToObject(row, "profile", profile);
    cJSON_AddStringToObject(row, "outcome", "bad-input");
    cJSON_AddNumberToObject(row, "exit_code", EXIT_BAD_INPUT);
    cJSON_AddStringToObject(row, "error", error ? error : "the run could not start");
    return row;
}

/* The pool's run callback: the scenario with its own seed, judged; report_json's object plus wall_ms. */
static cJSON *run_scenario(void *ctx, const scenario *tmpl, const pool_job *job)
{
    (void)job;
    const suite *s = ctx;
    double start = pool_now_ms();
    diag d;
    diag_init(&d);
    run_options opt = { 0 };
    budget_arm(&opt, s->timeout_us);   /* drawing a workload's steps is part of the run */
    scenario *sc = scenario_for_seed(tmpl, tmpl->seed, &d);
    run_result r;
    bool ran = sc && sim_run(sc, sc->seed, &opt, &r, &d);
    budget_disarm();
    cJSON *row;
    if (ran) {
        verdict v;
        verdict_judge(sc, &r, s->strict, &v);
        row = report_json(sc, &r, &v, s->strict);
        verdict_free(&v);
    } else {
        row = bad_input_row(tmpl->path, tmpl->profile.name, d.message);
    }
    if (sc)
        run_result_free(&r);
    scenario_free(sc);
    diag_free(&d);
    cJSON_AddNumberToObject(row, "wall_ms", pool_now_ms() - start);
    return row;
}

/* --- rows ----------------------------------------------------------------------------- */

static const char *row_string(const cJSON *row, const char *key, const char *otherwise)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
    return cJSON_IsString(v) ? v->valuestring : otherwise;
}

static double row_number(const cJSON *row, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static int row_exit_code(const cJSON *row)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "exit_code");
    return cJSON_IsNumber(v) ? (int)v->valuedouble : EXIT_VIOLATION;
}

/* A list of class names ("failing", "tolerated") as "a,b", or "-". */
static void row_classes(const cJSON *row, const char *key, buf *out)
{
    const cJSON *item;
    size_t start = out->len;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(row, key))
        if (cJSON_IsString(item))
            buf_printf(out, "%s%s", out->len > start ? "," : "", item->valuestring);
    if (out->len == start)
        buf_putc(out, '-');
}

/* The row's message for people: the load or run error, the crash, or the first failing finding and unmet. */
static void row_failure_text(const cJSON *row, buf *out)
{
    const char *error = row_string(row, "error", NULL);
    const char *finding = row_string(row, "finding", NULL);   /* a crash row's */
    if (error || finding) {
        buf_puts(out, error ? error : finding);
        buf_putc(out, '\n');
        return;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(row, "findings")) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "fails")))
            continue;
        buf_printf(out, "%s: %s\n%s", row_string(f, "class", "?"), row_string(f, "summary", ""),
                   row_string(f, "witness", ""));
    }
    const cJSON *u;
    cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(row, "unmet"))
        if (cJSON_IsString(u))
            buf_printf(out, "unmet: %s\n", u->valuestring);
}

static void replay_command(const suite *s, const char *path, buf *out)
{
    buf_printf(out, "syncsim run %s%s", path, s->strict ? " --strict" : "");
}

/* The line of every entry whose row has come, in file order; stops at the first still running. */
static void print_ready(suite *s)
{
    for (; s->printed < s->n && s->entries[s->printed].row; s->printed++) {
        const entry *e = &s->entries[s->printed];
        const cJSON *row = e->row;
        int code = row_exit_code(row);
        const char *outcome = row_string(row, "outcome", "?");
        const char *profile = row_string(row, "profile", "?");
        if (strcmp(outcome, "bad-input") == 0 || strcmp(outcome, "crash") == 0) {
            printf("%-52s %-18s %-13s %4d\n", e->path, profile, outcome, code);
            buf why;
            buf_init(&why);
            row_failure_text(row, &why);
            fprintf(stderr, "%s", why.data ? why.data : "");
            buf_free(&why);
        } else {
            buf findings;
            buf_init(&findings);
            row_classes(row, "failing", &findings);
            buf_putc(&findings, '/');
            row_classes(row, "tolerated", &findings);
            const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(row, "metrics");
            printf("%-52s %-18s %-13s %4d %6.0f %5.0f  %-28s %s\n", e->path, profile, outcome, code,
                   row_number(metrics, "writes"), row_number(metrics, "conflicts"), findings.data,
                   row_string(row, "trace_hash", ""));
            buf_free(&findings);
            const cJSON *u;
            cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(row, "unmet"))
                if (cJSON_IsString(u))
                    printf("    unmet: %s\n", u->valuestring);
        }
        if (code == EXIT_PASS) {
            s->passed++;
        } else if (code == EXIT_BAD_INPUT) {
            s->bad++;
            s->worst = EXIT_BAD_INPUT;
        } else {
            s->failed++;
            if (s->worst != EXIT_BAD_INPUT)
                s->worst = EXIT_VIOLATION;
        }
    }
    fflush(stdout);
}

/* The pool's record callback: keep the row, print what is ready. */
static bool record_row(void *ctx, const pool_job *job, const cJSON *row)
{
    suite *s = ctx;
    entry *e = &s->entries[job->cell];
    e->row = cJSON_Duplicate(row, true);
    if (!cJSON_GetObjectItemCaseSensitive(e->row, "file"))
        cJSON_AddStringToObject(e->row, "file", e->path);   /* a crash row names only the seed */
    if (!cJSON_GetObjectItemCaseSensitive(e->row, "profile"))
        cJSON_AddStringToObject(e->row, "profile", e->tmpl->profile.name);
    print_ready(s);
    return true;
}

/* --- CI files --------------------------------------------------------------------------- */

static bool write_junit(const suite *s, const char *path, double wall_s)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    for (int level = 0; level < 2; level++)
        fprintf(f, "%s<%s name=\"syncsim suite\" tests=\"%zu\" failures=\"%llu\" errors=\"%llu\" time=\"%.3f\">\n",
                level ? "  " : "", level ? "testsuite" : "testsuites", s->n, (unsigned long long)s->failed,
                (unsigned long long)s->bad, wall_s);
    fprintf(f, "    <properties>\n      <property name=\"strict\" value=\"%s\"/>\n    </properties>\n",
            s->strict ? "true" : "false");
    for (size_t i = 0; i < s->n; i++) {
        const entry *e = &s->entries[i];
        if (!e->row)
            continue;   /* interrupted before it ran */
        /* classname: the directory, which CI pages group by; name: the file. */
        const char *slash = strrchr(e->path, '/');
        char *dir = slash ? xstrndup(e->path, (size_t)(slash - e->path)) : xstrdup(".");
        fprintf(f, "    <testcase classname=\"");
        output_xml_escape(f, dir);
        fprintf(f, "\" name=\"");
        output_xml_escape(f, slash ? slash + 1 : e->path);
        fprintf(f, "\" file=\"");
        output_xml_escape(f, e->path);
        fprintf(f, "\" time=\"%.3f\"", row_number(e->row, "wall_ms") / 1000.0);
        xfree(dir);
        int code = row_exit_code(e->row);
        if (code == EXIT_PASS) {
            fprintf(f, "/>\n");
            continue;
        }
        const char *outcome = row_string(e->row, "outcome", "?");
        bool error = code == EXIT_BAD_INPUT || strcmp(outcome, "crash") == 0;
        buf type, text;
        buf_init(&type);
        buf_init(&text);
        row_classes(e->row, "failing", &type);
        if (strcmp(type.data, "-") == 0) {
            buf_clear(&type);
            buf_puts(&type, outcome);
        }
        row_failure_text(e->row, &text);
        buf_puts(&text, "replay: ");
        replay_command(s, e->path, &text);
        fprintf(f, ">\n      <%s type=\"", error ? "error" : "failure");
        output_xml_escape(f, type.data);
        fprintf(f, "\" message=\"");
        char *first = xstrndup(text.data, strcspn(text.data, "\n"));
        output_xml_escape(f, first);
        xfree(first);
        fprintf(f, "\">");
        output_xml_escape(f, text.data);
        fprintf(f, "</%s>\n    </testcase>\n", error ? "error" : "failure");
        buf_free(&type);
        buf_free(&text);
    }
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    return output_close(f, path);
}

/* A Markdown table cell: no line breaks, pipes escaped. */
static void md_cell(FILE *f, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|')
            fputs("\\|", f);
        else if (*p == '\n')
            fputc(' ', f);
        else
            fputc(*p, f);
    }
}

static bool write_summary(const suite *s, const char *path, double wall_s)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    char took[DURATION_TEXT_MAX];
    duration_human((int64_t)(wall_s * 1e6), took, sizeof took);
    uint64_t not_passed = s->failed + s->bad;
    fprintf(f, "## syncsim suite: %s\n\n", not_passed ? "FAILED" : "passed");
    fprintf(f, "%zu scenarios%s: %llu passed, %llu failed, %llu bad input, in %s.\n\n", s->n,
            s->strict ? " under --strict" : "", (unsigned long long)s->passed, (unsigned long long)s->failed,
            (unsigned long long)s->bad, took);
    if (not_passed) {
        fprintf(f, "### Failures\n\n");
        for (size_t i = 0; i < s->n; i++) {
            const entry *e = &s->entries[i];
            if (!e->row || row_exit_code(e->row) == EXIT_PASS)
                continue;
            buf text, replay;
            buf_init(&text);
            buf_init(&replay);
            row_failure_text(e->row, &text);
            replay_command(s, e->path, &replay);
            fprintf(f, "- `%s` (profile `%s`): **%s**, exit %d. Replay: `%s`\n\n  ```text\n", e->path,
                    row_string(e->row, "profile", "?"), row_string(e->row, "outcome", "?"), row_exit_code(e->row),
                    replay.data);
            /* The witness, indented into the list item's code block. */
            for (const char *p = text.data ? text.data : ""; *p;) {
                size_t len = strcspn(p, "\n");
                fprintf(f, "  %.*s\n", (int)len, p);
                p += len + (p[len] == '\n');
            }
            fprintf(f, "  ```\n\n");
            buf_free(&text);
            buf_free(&replay);
        }
    }
    fprintf(f, "<details><summary>Every scenario</summary>\n\n");
    fprintf(f, "| scenario | profile | outcome | exit | writes | conflicts | failing / tolerated | trace hash |\n");
    fprintf(f, "|---|---|---|---:|---:|---:|---|---|\n");
    for (size_t i = 0; i < s->n; i++) {
        const entry *e = &s->entries[i];
        if (!e->row)
            continue;
        const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(e->row, "metrics");
        buf classes;
        buf_init(&classes);
        row_classes(e->row, "failing", &classes);
        buf_puts(&classes, " / ");
        row_classes(e->row, "tolerated", &classes);
        fprintf(f, "| `");
        md_cell(f, e->path);
        fprintf(f, "` | ");
        md_cell(f, row_string(e->row, "profile", "?"));
        fprintf(f, " | %s | %d | %.0f | %.0f | ", row_string(e->row, "outcome", "?"), row_exit_code(e->row),
                row_number(metrics, "writes"), row_number(metrics, "conflicts"));
        md_cell(f, classes.data);
        fprintf(f, " | `%s` |\n", row_string(e->row, "trace_hash", ""));
        buf_free(&classes);
    }
    fprintf(f, "\n</details>\n");
    return output_close(f, path);
}

/* --- the command ---------------------------------------------------------------------------- */

static int suite_main(const cli_command *cmd, const cli_args *a)
{
    suite s = { .strict = a->given[OPT_STRICT], .timeout_us = a->timeout_us };
    const char *json_path = a->text[OPT_JSON], *junit_path = a->text[OPT_JUNIT],
               *summary_path = a->text[OPT_SUMMARY];
    int code = EXIT_PASS;
    for (int i = 0; i < a->n_operands; i++) {
        struct stat st;
        if (stat(a->operands[i], &st) != 0) {
            code = cli_usage_error(cmd, "no such file or directory: '%s'", a->operands[i]);
            goto out;
        }
        collect(&s, a->operands[i]);
    }
    if (a->n_operands == 0)
        collect(&s, "scenarios");
    if (s.n == 0) {
        fprintf(stderr, "syncsim: no scenario files found\n");
        code = EXIT_BAD_INPUT;
        goto out;
    }
    if ((json_path && !output_writable(json_path)) || (junit_path && !output_writable(junit_path)) ||
        (summary_path && !output_writable(summary_path))) {
        code = EXIT_BAD_INPUT;
        goto out;
    }
    qsort(s.entries, s.n, sizeof *s.entries, by_path);

    /* Load every file here; the workers inherit the templates across fork. */
    const scenario **templates = xcalloc(s.n, sizeof *templates);
    pool_job *jobs = xcalloc(s.n, sizeof *jobs);
    uint64_t n_jobs = 0;
    for (size_t i = 0; i < s.n; i++) {
        diag d;
        diag_init(&d);
        s.entries[i].tmpl = scenario_load(s.entries[i].path, &d);
        if (s.entries[i].tmpl && !node_apply_options(s.entries[i].tmpl, a, &d)) {
            scenario_free(s.entries[i].tmpl);
            s.entries[i].tmpl = NULL;
        }
        if (s.entries[i].tmpl)
            jobs[n_jobs++] = (pool_job){ .cell = (uint32_t)i, .seed = s.entries[i].tmpl->seed };
        else
            s.entries[i].row = bad_input_row(s.entries[i].path, NULL, d.message);
        templates[i] = s.entries[i].tmpl;
        diag_free(&d);
    }

    printf("%-52s %-18s %-13s %4s %6s %5s  %-28s %s\n", "SCENARIO", "PROFILE", "OUTCOME", "EXIT", "WRITES", "CONFL",
           "FINDINGS (failing/tolerated)", "TRACE-HASH");
    print_ready(&s);
    pool_catch_signals();
    pool p = { .cells = templates, .n_cells = (int)s.n, .workers = a->jobs, .what = NULL, .unit = "scenarios",
               .run = run_scenario, .run_ctx = &s, .record = record_row, .ctx = &s };
    double start = pool_now_ms();
    if (!pool_run(&p, jobs, n_jobs))
        code = EXIT_BAD_INPUT;
    double wall_s = (pool_now_ms() - start) / 1000.0;
    xfree(jobs);
    xfree(templates);
    print_ready(&s);

    printf("%zu scenarios: %llu passed, %llu failed, %llu bad input\n", s.n, (unsigned long long)s.passed,
           (unsigned long long)s.failed, (unsigned long long)s.bad);
    if (code == EXIT_PASS)
        code = s.worst;
    if (pool_interrupted) {
        printf("interrupted: %zu scenarios did not run\n", s.n - s.printed);
        code = 130;
    }
    if (json_path) {
        cJSON *rows = cJSON_CreateArray();
        for (size_t i = 0; i < s.n; i++)
            if (s.entries[i].row)
                cJSON_AddItemReferenceToArray(rows, s.entries[i].row);
        if (!output_write_json(json_path, rows))
            code = EXIT_BAD_INPUT;
        cJSON_Delete(rows);
    }
    if (junit_path && !write_junit(&s, junit_path, wall_s))
        code = EXIT_BAD_INPUT;
    if (summary_path && !write_summary(&s, summary_path, wall_s))
        code = EXIT_BAD_INPUT;
out:
    for (size_t i = 0; i < s.n; i++) {
        xfree(s.entries[i].path);
        scenario_free(s.entries[i].tmpl);
        cJSON_Delete(s.entries[i].row);
    }
    xfree(s.entries);
    return code;
}

static const cli_use SUITE_OPTIONS[] = {
    { OPT_STRICT,
      "ignore every scenario's expect: and its profile's accepts:; fail on every class but superseded and "
      "overwritten-concurrent",
      false },
    { OPT_JOBS, "run the scenarios in N worker processes (default: the number of cores); the output is the same", false },
    { OPT_JSON, "write every scenario's result (as run --json writes it) as one JSON array to F.json", false },
    { OPT_JUNIT,
      "write JUnit XML to F.xml: one test case per scenario, failures with their witnesses and the command that "
      "replays them",
      false },
    { OPT_SUMMARY,
      "write a Markdown summary to F.md for a CI job's page (e.g. $GITHUB_STEP_SUMMARY): the totals, each failure "
      "with its witness and replay command, a table of every scenario",
      false },
    { OPT_TIMEOUT, "a wall-clock budget for each scenario's run; past it that scenario is bad input (exit 2). "
                   "Default: none", false },
    { OPT_NODE, NODE_HELP, false },
    { OPT_NODE_TIMEOUT, NODE_TIMEOUT_HELP, false },
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_suite = {
    .name = "suite",
    .operands = "[DIR|FILE]...",
    .operand_noun = "directory or scenario file",
    .operands_min = 0,
    .operands_max = -1,
    .summary = "run every scenario under the directories (default: scenarios), one line each",
    .description =
        "Runs every .yaml scenario under the directories and files given (default: ./scenarios), each once with "
        "its own seed, and judges it as run does; directories named profiles and grids are skipped. It prints one "
        "line per scenario, in file order, then the totals. For CI: exit 0 only when every scenario met its "
        "expectations, 1 when one did not, 2 when one could not be read or run; --junit, --json and --summary "
        "write the results for the CI job.",
    .options = SUITE_OPTIONS,
    .main = suite_main,
};
