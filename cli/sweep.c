/*
 * sweep: seeds of one scenario in worker processes (pool.h). See sweep.h.
 *
 * Invariants (the pool keeps them; see pool.h):
 *   - a seed is recorded only after its run completed, so an interrupted or
 *     killed sweep loses only the seeds in flight, and a resumed sweep runs
 *     exactly the seeds that have no row;
 *   - a worker that dies while running a seed leaves a "crash" row for it (a
 *     simulator crash is a finding) and is replaced.
 * This file reads the wall clock (timings); the simulation never does.
 */
#include "cli/sweep.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "cli/budget.h"
#include "cli/commands.h"
#include "cli/node.h"
#include "cli/output.h"
#include "external/external.h"
#include "cli/pool.h"
#include "cli/results.h"
#include "cli/sweep_report.h"
#include "sim/determinism.h"
#include "sim/duration.h"
#include "sim/report.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- one seed -------------------------------------------------------------- */

static void add_classes(cJSON *row, const char *key, vclass_set set)
{
    buf b;
    buf_init(&b);
    for (int c = 0; c < VC_COUNT; c++)
        if (set & VCLASS_BIT(c))
            buf_printf(&b, "%s%s", b.len ? "," : "", vclass_name((vclass)c));
    cJSON_AddStringToObject(row, key, b.data ? b.data : "");
    buf_free(&b);
}

cJSON *sweep_run_seed(const scenario *tmpl, uint64_t seed, const sweep_options *o, external_pool *nodes)
{
    double start = pool_now_ms();
    bool strict = o->strict;
    cJSON *row = cJSON_CreateObject();
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    cJSON_AddStringToObject(row, "seed", text);
    diag d;
    diag_init(&d);
    run_options opt = { .node_pool = nodes };
    /* One budget for the seed: drawing its workload, its run and, with --check-determinism, the two more. */
    budget_arm(&opt, o->timeout_us);
    scenario *sc = scenario_for_seed(tmpl, seed, &d);
    run_result r;
    bool ran = sc && sim_run(sc, seed, &opt, &r, &d);
    if (!ran) {
        cJSON_AddStringToObject(row, "outcome", "bad-input");
        cJSON_AddNumberToObject(row, "exit_code", EXIT_BAD_INPUT);
        cJSON_AddStringToObject(row, "failing", "");
        cJSON_AddStringToObject(row, "tolerated", "");
        cJSON_AddStringToObject(row, "trace_hash", "");
        cJSON_AddItemToObject(row, "metrics", cJSON_CreateObject());
        cJSON_AddStringToObject(row, "finding", d.message ? d.message : "the run could not start");
        if (sc)
            run_result_free(&r);
    } else {
        verdict v;
        verdict_judge(sc, &r, strict, &v);
        const char *outcome = v.outcome;
        int exit_code = v.exit_code;
        buf first_failure;
        buf_init(&first_failure);
        for (int i = 0; i < r.check.n_findings; i++) {
            const finding *f = &r.check.findings[i];
            if (verdict_class_fails(sc, strict, f->cls)) {
                buf_printf(&first_failure, "%s: %s\n%s", vclass_name(f->cls), f->summary, f->witness);
                break;
            }
        }
        if (!first_failure.len && v.n_unmet)
            buf_printf(&first_failure, "unmet: %s\n", v.unmet[0]);
        if (r.node_failure)
            buf_printf(&first_failure, "node-failed: %s", r.node_failure);
        else if (r.not_applicable)
            buf_printf(&first_failure, "not applicable: %s\n", r.not_applicable);
        char hex[17];
        trace_hash_hex(r.trace_hash, hex);
        if (o->check_determinism) {
            determinism_report det;
            if (determinism_check(sc, seed, &opt, &det, &d) && !det.same) {
                outcome = "nondeterministic";
                exit_code = EXIT_VIOLATION;
                buf_clear(&first_failure);
                buf_printf(&first_failure, "nondeterministic: event %llu differs between two runs\n    first:  %s\n    second: %s\n",
                           (unsigned long long)det.first_diff, det.first_run_line ? det.first_run_line : "(none)",
                           det.second_run_line ? det.second_run_line : "(none)");
            }
            determinism_report_free(&det);
        }
        cJSON_AddStringToObject(row, "outcome", outcome);
        cJSON_AddNumberToObject(row, "exit_code", exit_code);
        add_classes(row, "failing", v.failing);
        add_classes(row, "tolerated", v.tolerated);
        cJSON_AddStringToObject(row, "trace_hash", hex);
        cJSON *metrics = report_metrics_json(&r);
        if (sc->design)   /* what vary: drew, for the report's by-value table */
            cJSON_AddStringToObject(metrics, "design", sc->design);
        cJSON_AddItemToObject(row, "metrics", metrics);
        cJSON_AddStringToObject(row, "finding", first_failure.data ? first_failure.data : "");
        cJSON *unmet = cJSON_AddArrayToObject(row, "unmet");
        for (int i = 0; i < v.n_unmet; i++)
            cJSON_AddItemToArray(unmet, cJSON_CreateString(v.unmet[i]));
        buf_free(&first_failure);
        verdict_free(&v);
        run_result_free(&r);
    }
    budget_disarm();
    scenario_free(sc);
    diag_free(&d);
    cJSON_AddNumberToObject(row, "wall_ms", pool_now_ms() - start);
    return row;
}

/* A worker's external node processes that declared reset, kept across its seeds (docs/protocol.md). */
static external_pool *worker_nodes;

cJSON *sweep_pool_run(void *ctx, const scenario *tmpl, const pool_job *job)
{
    const sweep_options *o = ctx;
    if (!worker_nodes && !o->fresh_nodes && tmpl->profile.node.argv)
        worker_nodes = external_pool_new();
    return sweep_run_seed(tmpl, job->seed, o, worker_nodes);
}

void sweep_pool_exit(void *ctx)
{
    (void)ctx;
    external_pool_free(worker_nodes);
    worker_nodes = NULL;
}

/* --- identity, arguments ------------------------------------------------------ */

static uint64_t hash_file(uint64_t h, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hash64_str(h, path);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        h = hash64_bytes(h, chunk, n);
    fclose(f);
    return h;
}

char *sweep_scenario_key(const scenario *tmpl)
{
    uint64_t h = hash_file(HASH64_INIT, tmpl->path);
    if (tmpl->profile.path && strcmp(tmpl->profile.path, tmpl->path) != 0)
        h = hash_file(h, tmpl->profile.path);
    /* Another implementation is another sweep: --node's command is part of the key. */
    for (const char *const *w = tmpl->profile.node.argv; w && *w; w++)
        h = hash64_str(h, *w);
    char hex[17];
    trace_hash_hex(h, hex);
    buf b;
    buf_init(&b);
    buf_printf(&b, "%s@%s", tmpl->name, hex);
    return buf_take(&b);
}

static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* --- the sweep --------------------------------------------------------------------- */

typedef struct sweep_ctx {
    const char *file;
    const scenario *tmpl;
    char *key;
    const char *params;
    bool strict;
    sweep_options run;              /* what each worker's run of a seed needs */
    uint64_t lo, hi;
    int shard_index, shard_count;   /* 1/1 without --shard */
    char shard_text[32];
    results *db;
    uint64_t ran_now;               /* seeds completed by this invocation */
    int jobs;
} sweep_ctx;

static bool in_shard(const sweep_ctx *s, uint64_t seed)
{
    return (seed - s->lo) % (uint64_t)s->shard_count == (uint64_t)(s->shard_index - 1);
}

bool sweep_record(results *db, const result_row *key, const cJSON *row)
{
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(row, "seed");
    uint64_t seed_value = 0;
    if (!cJSON_IsString(seed) || !parse_u64(seed->valuestring, strlen(seed->valuestring), &seed_value))
        return false;
    buf metrics;
    buf_init(&metrics);
    json_write(&metrics, cJSON_GetObjectItemCaseSensitive(row, "metrics"));
    const cJSON *exit_code = cJSON_GetObjectItemCaseSensitive(row, "exit_code");
    const cJSON *wall = cJSON_GetObjectItemCaseSensitive(row, "wall_ms");
    const char *strings[] = { "outcome", "failing", "tolerated", "trace_hash", "finding" };
    const char *values[5];
    for (int i = 0; i < 5; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, strings[i]);
        values[i] = cJSON_IsString(v) ? v->valuestring : "";
    }
    result_row r = *key;
    r.seed = seed_value;
    r.outcome = values[0];
    r.exit_code = cJSON_IsNumber(exit_code) ? (int)exit_code->valuedouble : EXIT_VIOLATION;
    r.failing = values[1];
    r.tolerated = values[2];
    r.trace_hash = values[3];
    r.wall_ms = cJSON_IsNumber(wall) ? wall->valuedouble : 0.0;
    r.metrics = metrics.data ? metrics.data : "{}";
    r.finding = values[4];
    char *error = NULL;
    bool ok = results_insert(db, &r, &error);
    if (!ok) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
    }
    buf_free(&metrics);
    return ok;
}

/* The pool's record callback: one finished seed. */
static bool record_job(void *ctx, const pool_job *job, const cJSON *row)
{
    (void)job;
    sweep_ctx *s = ctx;
    result_row key = {
        .scenario = s->key,
        .params = s->params,
        .strict = s->strict,
        .file = s->file,
        .profile = s->tmpl->profile.name,
        .shard = s->shard_text,
    };
    s->ran_now++;
    return sweep_record(s->db, &key, row);
}

/* s as one word of a POSIX shell: bare when it is plain, else in single quotes. */
static void shell_word(buf *b, const char *s)
{
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == strlen(s)) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_puts(b, "'\\''");
        else
            buf_putc(b, *s);
    }
    buf_putc(b, '\'');
}

/* --- JUnit, JSON, Markdown (sweep_report.h) ------------------------------------------ */

static bool write_junit(const sweep_view *v, const char *path, const sweep_tally *t)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"syncsim sweep\" tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" time=\"%.3f\">\n",
            (unsigned long long)t->total, (unsigned long long)t->failed, (unsigned long long)(t->crashed + t->bad),
            t->wall_ms / 1000.0);
    bool ok = sweep_report_junit(f, v, t);
    fprintf(f, "</testsuites>\n");
    return output_close(f, path) && ok;
}

static bool write_json_summary(const sweep_view *v, const char *path, const sweep_tally *t)
{
    cJSON *o = sweep_report_json(v, t);
    if (!o)
        return false;
    bool ok = output_write_json(path, o);
    cJSON_Delete(o);
    return ok;
}

/* The Markdown summary for a CI job's page: totals, failing classes, the failing seeds' replay commands. */
static bool write_summary(const sweep_view *v, const char *path, const sweep_tally *t, uint64_t ran_now,
                          double elapsed_s)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    char took[DURATION_TEXT_MAX], counts[256];
    duration_human((int64_t)(elapsed_s * 1e6), took, sizeof took);
    snprintf(counts, sizeof counts, "shard %s: %llu recorded (%llu run now in %s)", v->shard_text,
             (unsigned long long)t->total, (unsigned long long)ran_now, took);
    sweep_report_markdown(f, v, t, counts);
    return output_close(f, path);
}

static int sweep_main(const cli_command *cmd, const cli_args *a)
{
    (void)cmd;
    const char *file = a->operands[0], *db_path = a->text[OPT_DB], *junit = a->text[OPT_JUNIT],
               *json = a->text[OPT_JSON], *summary = a->text[OPT_SUMMARY];
    sweep_ctx s = { .file = file, .params = "{}", .lo = a->seeds_lo, .hi = a->seeds_hi,
                    .shard_index = a->shard_index, .shard_count = a->shard_count, .jobs = a->jobs,
                    .run = { .strict = a->given[OPT_STRICT], .check_determinism = a->given[OPT_CHECK_DETERMINISM],
                             .timeout_us = a->timeout_us, .fresh_nodes = a->given[OPT_FRESH_NODES] } };
    s.strict = s.run.strict;
    snprintf(s.shard_text, sizeof s.shard_text, "%d/%d", s.shard_index, s.shard_count);
    /* The CI files are checked before the sweep, which may take hours. */
    if ((junit && !output_writable(junit)) || (json && !output_writable(json)) ||
        (summary && !output_writable(summary)))
        return EXIT_BAD_INPUT;

    diag d;
    diag_init(&d);
    scenario *tmpl = scenario_load(file, &d);
    if (!tmpl || !implementation_apply(tmpl, a, &d)) {
        fprintf(stderr, "%s\n", d.message);
        scenario_free(tmpl);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }
    s.tmpl = tmpl;
    s.key = sweep_scenario_key(tmpl);
    char *error = NULL;
    s.db = results_open(db_path, &error);
    if (!s.db) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
        xfree(s.key);
        scenario_free(tmpl);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }

    /* What the reports say about this shard's rows, and how they replay a seed. */
    buf replay_options;
    buf_init(&replay_options);
    if (a->text[OPT_PROFILE]) {
        buf_puts(&replay_options, " --profile ");
        shell_word(&replay_options, a->text[OPT_PROFILE]);
    }
    if (a->text[OPT_NODE]) {
        buf_puts(&replay_options, " --node ");
        shell_word(&replay_options, a->text[OPT_NODE]);
    }
    sweep_view view = { .db = s.db, .key = s.key, .params = s.params, .strict = s.strict, .file = file,
                        .name = tmpl->name, .profile = tmpl->profile.name,
                        .replay_options = replay_options.len ? replay_options.data : "", .lo = s.lo, .hi = s.hi,
                        .shard_index = s.shard_index, .shard_count = s.shard_count, .shard_text = s.shard_text };

    /* The seeds of this shard that have no row yet. */
    u64map done;
    u64map_init(&done);
    int code = EXIT_PASS;
    if (!results_done(s.db, s.key, s.params, s.strict, &done, &error)) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
        code = EXIT_BAD_INPUT;
    }
    uint64_t in_range = 0, n_todo = 0, cap = 0;
    uint64_t *todo = NULL;
    for (uint64_t seed = s.lo; code == EXIT_PASS; seed++) {
        if (in_shard(&s, seed)) {
            in_range++;
            if (u64map_get(&done, seed) < 0) {
                if (n_todo == cap) {
                    cap = cap ? cap * 2 : 1024;
                    todo = xrealloc(todo, cap * sizeof *todo);
                }
                todo[n_todo++] = seed;
            }
        }
        if (seed == s.hi)
            break;
    }
    u64map_free(&done);

    if (code == EXIT_PASS) {
        fprintf(stderr, "sweep: %s, seeds %llu..%llu, shard %s%s%s%s: %llu seeds, %llu already in %s, %d worker%s\n",
                file, (unsigned long long)s.lo, (unsigned long long)s.hi, s.shard_text,
                a->shard_source[0] ? " (" : "", a->shard_source, a->shard_source[0] ? ")" : "",
                (unsigned long long)in_range, (unsigned long long)(in_range - n_todo),
                db_path ? db_path : "memory", s.jobs, s.jobs == 1 ? "" : "s");
        pool_catch_signals();
        pool_job *jobs = xmalloc((n_todo ? n_todo : 1) * sizeof *jobs);
        for (uint64_t i = 0; i < n_todo; i++)
            jobs[i] = (pool_job){ .cell = 0, .seed = todo[i] };
        const scenario *cells[] = { tmpl };
        pool p = { .cells = cells, .n_cells = 1, .workers = s.jobs, .what = "sweep", .unit = "seeds",
                   .run = sweep_pool_run, .run_ctx = &s.run, .worker_exit = sweep_pool_exit, .record = record_job,
                   .ctx = &s };
        double start = pool_now_ms();
        bool ok = pool_run(&p, jobs, n_todo);
        double elapsed_s = (pool_now_ms() - start) / 1000.0;
        xfree(jobs);
        if (!ok)
            code = EXIT_BAD_INPUT;

        sweep_tally tally;
        if (!sweep_report_tally(&view, &tally))
            code = EXIT_BAD_INPUT;
        const sweep_tally *t = &tally;
        printf("sweep  %s (%s), profile %s%s\n", tmpl->name, file, tmpl->profile.name, s.strict ? ", strict" : "");
        char took[DURATION_TEXT_MAX];
        duration_human((int64_t)(elapsed_s * 1e6), took, sizeof took);
        printf("seeds  %llu..%llu, shard %s: %llu recorded, %llu run now in %s (%.1f seeds/s, %d worker%s)\n",
               (unsigned long long)s.lo, (unsigned long long)s.hi, s.shard_text, (unsigned long long)t->total,
               (unsigned long long)s.ran_now, took, elapsed_s > 0 ? (double)s.ran_now / elapsed_s : 0.0, s.jobs,
               s.jobs == 1 ? "" : "s");
        sweep_report_text(stdout, &view, t);
        if (pool_interrupted) {
            printf("interrupted: %llu seeds of this shard have no result yet; run the same command to resume\n",
                   (unsigned long long)(in_range - t->total));
            code = 130;
        } else if (code == EXIT_PASS && t->total != t->passed) {
            code = t->bad == t->total - t->passed ? EXIT_BAD_INPUT : EXIT_VIOLATION;
        }
        if (junit && !write_junit(&view, junit, t))
            code = EXIT_BAD_INPUT;
        if (json && !write_json_summary(&view, json, t))
            code = EXIT_BAD_INPUT;
        if (summary && !write_summary(&view, summary, t, s.ran_now, elapsed_s))
            code = EXIT_BAD_INPUT;
    }
    xfree(todo);
    buf_free(&replay_options);
    results_close(s.db);
    xfree(s.key);
    scenario_free(tmpl);
    diag_free(&d);
    return code;
}

int cmd_merge(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: syncsim merge OUT.sqlite IN.sqlite...\n");
        return EXIT_BAD_INPUT;
    }
    /* All or nothing (results_merge_files): the counts are printed once OUT holds them. */
    int n = argc - 3;
    merge_count *counts = xcalloc((size_t)n, sizeof *counts);
    char *error = NULL;
    int code = EXIT_PASS;
    if (results_merge_files(argv[2], n, argv + 3, counts, &error)) {
        for (int i = 0; i < n; i++)
            printf("%s: %lld rows added, %lld already present\n", argv[3 + i], (long long)counts[i].added,
                   (long long)counts[i].skipped);
    } else {
        fprintf(stderr, "syncsim: %s\nsyncsim: nothing merged; %s is as it was\n", error, argv[2]);
        xfree(error);
        code = EXIT_BAD_INPUT;
    }
    xfree(counts);
    return code;
}

/* merge keeps its own reading of argv (cmd_merge); the table gives it --help and the usage. */
static int merge_main(const cli_command *cmd, const cli_args *a)
{
    (void)cmd;
    static char program[] = "syncsim", command[] = "merge";
    char **argv = xcalloc((size_t)a->n_operands + 3, sizeof *argv);
    argv[0] = program;
    argv[1] = command;
    for (int i = 0; i < a->n_operands; i++)
        argv[i + 2] = a->operands[i];
    int code = cmd_merge(a->n_operands + 2, argv);
    xfree(argv);
    return code;
}

static const cli_use SWEEP_OPTIONS[] = {
    { OPT_SEEDS, "the seeds to run, A..B inclusive (or one seed N)", true },
    { OPT_JOBS, "run the seeds in N worker processes (default: the number of cores)", false },
    { OPT_SHARD,
      "this machine's share: the seeds at positions I-1, I-1+N, ... of the range, so N jobs split one sweep exactly "
      "(merge combines their databases). auto reads I and N from the engine running the jobs: a Kubernetes "
      "Indexed Job (JOB_COMPLETION_INDEX; write auto/N with N its completions), GitLab CI (CI_NODE_INDEX, "
      "CI_NODE_TOTAL), Buildkite (BUILDKITE_PARALLEL_JOB, BUILDKITE_PARALLEL_JOB_COUNT), a Slurm array "
      "(SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN), CircleCI (CIRCLE_NODE_INDEX, "
      "CIRCLE_NODE_TOTAL). GitHub Actions sets none: a matrix passes its own, e.g. a matrix of shard: [1, 2, 3, 4] "
      "and --shard ${{ matrix.shard }}/${{ strategy.job-total }} (strategy.job-index counts from 0)",
      false },
    { OPT_DB,
      "record one row per seed in this SQLite file (default: in memory); a killed sweep run again with the same "
      "--db resumes where it stopped",
      false },
    { OPT_JUNIT, "write JUnit XML: one test case per seed, failures with the witness and the replay command", false },
    { OPT_JSON, "write the totals and one entry per seed as JSON", false },
    { OPT_SUMMARY, "write a Markdown summary for a CI job's page: totals, failing classes, replay commands", false },
    { OPT_STRICT,
      "judge every seed under --strict: fail on every class but superseded and overwritten-concurrent (a separate "
      "set of rows in --db)",
      false },
    { OPT_CHECK_DETERMINISM,
      "run each seed twice more and compare event by event; a seed whose runs differ is recorded as nondeterministic",
      false },
    { OPT_TIMEOUT,
      "a wall-clock budget for each seed's run; a seed past it is recorded as bad input with a bound error. "
      "Default: none",
      false },
    { OPT_PROFILE,
      "sweep the workload under another profile, a name (looked up as a scenario's profile: is) or a file (a "
      "separate set of rows in --db)",
      false },
    { OPT_NODE, NODE_HELP, false },
    { OPT_NODE_TIMEOUT, NODE_TIMEOUT_HELP, false },
    { OPT_FRESH_NODES, FRESH_NODES_HELP, false },
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_sweep = {
    .name = "sweep",
    .operands = "FILE",
    .operand_noun = "scenario file",
    .operands_min = 1,
    .operands_max = 1,
    .summary = "run many seeds of a scenario in worker processes, into a results database",
    .description =
        "Runs the scenario FILE once for every seed of --seeds, in -j N worker processes, and records one row per "
        "seed in the results database. A sweep killed or interrupted and run again with the same --db resumes: "
        "completed seeds are not run again. It ends with the totals, the failing classes and, for each failing "
        "seed, the command that replays it.\n"
        "Exit codes: 0 every seed passed; 1 a seed failed or crashed; 2 bad input or usage; 130 interrupted.",
    .options = SWEEP_OPTIONS,
    .main = sweep_main,
};

static const cli_use MERGE_OPTIONS[] = {
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_merge = {
    .name = "merge",
    .operands = "OUT.sqlite IN.sqlite...",
    .operand_noun = "results database",
    .operands_min = 2,
    .operands_max = -1,
    .summary = "combine shards' results databases",
    .description = "Copies every row of the IN results databases that OUT lacks into OUT (created when missing): a "
                   "seed already present is kept once, so shards of one sweep or grid merge into the whole.",
    .options = MERGE_OPTIONS,
    .main = merge_main,
};
