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
#include "cli/pool.h"
#include "cli/results.h"
#include "sim/determinism.h"
#include "sim/report.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEEDS_MAX UINT64_C(1000000000)

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

cJSON *sweep_run_seed(const scenario *tmpl, uint64_t seed, bool strict, bool check_determinism)
{
    double start = pool_now_ms();
    cJSON *row = cJSON_CreateObject();
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    cJSON_AddStringToObject(row, "seed", text);
    diag d;
    diag_init(&d);
    scenario *sc = scenario_for_seed(tmpl, seed, &d);
    run_result r;
    bool ran = sc && sim_run(sc, seed, &(run_options){ 0 }, &r, &d);
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
        char hex[17];
        trace_hash_hex(r.trace_hash, hex);
        if (check_determinism) {
            determinism_report det;
            if (determinism_check(sc, seed, &det, &d) && !det.same) {
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
        cJSON_AddItemToObject(row, "metrics", report_metrics_json(&r));
        cJSON_AddStringToObject(row, "finding", first_failure.data ? first_failure.data : "");
        buf_free(&first_failure);
        verdict_free(&v);
        run_result_free(&r);
    }
    scenario_free(sc);
    diag_free(&d);
    cJSON_AddNumberToObject(row, "wall_ms", pool_now_ms() - start);
    return row;
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

bool sweep_parse_seeds(const char *text, uint64_t *lo, uint64_t *hi)
{
    const char *dots = strstr(text, "..");
    if (!dots)
        return parse_u64(text, strlen(text), lo) && (*hi = *lo, true) && *lo < (UINT64_C(1) << 63);
    return parse_u64(text, (size_t)(dots - text), lo) && parse_u64(dots + 2, strlen(dots + 2), hi) && *lo <= *hi &&
           *hi < (UINT64_C(1) << 63) && *hi - *lo < SEEDS_MAX;
}

bool sweep_parse_shard(const char *text, int *index, int *count)
{
    const char *slash = strchr(text, '/');
    uint64_t i, n;
    if (!slash || !parse_u64(text, (size_t)(slash - text), &i) || !parse_u64(slash + 1, strlen(slash + 1), &n))
        return false;
    if (n < 1 || n > 100000 || i < 1 || i > n)
        return false;
    *index = (int)i;
    *count = (int)n;
    return true;
}

/* --- the sweep --------------------------------------------------------------------- */

typedef struct tally {
    uint64_t total, passed, failed, crashed, bad;
    uint64_t by_class[VC_COUNT];
    uint64_t failing_seeds[20];
    int n_failing_seeds;
    double wall_ms;
} tally;

typedef struct sweep_ctx {
    const char *file;
    const scenario *tmpl;
    char *key;
    const char *params;
    bool strict;
    bool check_det;
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

/* --- summary, JUnit, JSON ------------------------------------------------------------ */

typedef struct summary_ctx {
    const sweep_ctx *s;
    tally t;
    FILE *junit;
    cJSON *runs;
} summary_ctx;

static void tally_row(void *ctx, const result_row *row)
{
    summary_ctx *c = ctx;
    if (!in_shard(c->s, row->seed))
        return;
    tally *t = &c->t;
    t->total++;
    t->wall_ms += row->wall_ms;
    if (row->exit_code == 0) {
        t->passed++;
        return;
    }
    if (strcmp(row->outcome, "crash") == 0)
        t->crashed++;
    else if (strcmp(row->outcome, "bad-input") == 0)
        t->bad++;
    else
        t->failed++;
    if (t->n_failing_seeds < 20)
        t->failing_seeds[t->n_failing_seeds++] = row->seed;
    char classes[256];
    snprintf(classes, sizeof classes, "%s", row->failing);
    for (char *save = NULL, *cls = strtok_r(classes, ",", &save); cls; cls = strtok_r(NULL, ",", &save)) {
        int c_index = vclass_parse(cls);
        if (c_index >= 0)
            t->by_class[c_index]++;
    }
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc(' ', f);   /* XML 1.0 forbids most control characters */
            else
                fputc(*s, f);
        }
    }
}

static void replay_command(buf *b, const sweep_ctx *s, uint64_t seed)
{
    buf_printf(b, "syncsim run %s --seed %llu%s", s->file, (unsigned long long)seed, s->strict ? " --strict" : "");
}

static void junit_row(void *ctx, const result_row *row)
{
    summary_ctx *c = ctx;
    if (!in_shard(c->s, row->seed))
        return;
    FILE *f = c->junit;
    fprintf(f, "    <testcase classname=\"");
    xml_escape(f, c->s->tmpl->name);
    fprintf(f, "\" name=\"seed %llu\" time=\"%.3f\"", (unsigned long long)row->seed, row->wall_ms / 1000.0);
    if (row->exit_code == 0) {
        fprintf(f, "/>\n");
        return;
    }
    bool error = strcmp(row->outcome, "crash") == 0 || strcmp(row->outcome, "bad-input") == 0;
    const char *type = row->failing[0] ? row->failing : row->outcome;
    fprintf(f, ">\n      <%s type=\"", error ? "error" : "failure");
    xml_escape(f, type);
    fprintf(f, "\" message=\"");
    size_t first = strcspn(row->finding, "\n");
    char *message = xstrndup(row->finding, first);
    xml_escape(f, message);
    xfree(message);
    fprintf(f, "\">");
    xml_escape(f, row->finding);
    buf replay;
    buf_init(&replay);
    buf_puts(&replay, "\nreplay: ");
    replay_command(&replay, c->s, row->seed);
    xml_escape(f, replay.data);
    buf_free(&replay);
    fprintf(f, "</%s>\n    </testcase>\n", error ? "error" : "failure");
}

static void json_row(void *ctx, const result_row *row)
{
    summary_ctx *c = ctx;
    if (!in_shard(c->s, row->seed))
        return;
    cJSON *o = cJSON_CreateObject();
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)row->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddStringToObject(o, "outcome", row->outcome);
    cJSON_AddNumberToObject(o, "exit_code", row->exit_code);
    cJSON_AddStringToObject(o, "failing", row->failing);
    cJSON_AddStringToObject(o, "tolerated", row->tolerated);
    cJSON_AddStringToObject(o, "trace_hash", row->trace_hash);
    cJSON_AddNumberToObject(o, "wall_ms", row->wall_ms);
    cJSON *metrics = cJSON_Parse(row->metrics);
    cJSON_AddItemToObject(o, "metrics", metrics ? metrics : cJSON_CreateObject());
    if (row->finding[0])
        cJSON_AddStringToObject(o, "finding", row->finding);
    if (row->exit_code != 0) {
        buf replay;
        buf_init(&replay);
        replay_command(&replay, c->s, row->seed);
        cJSON_AddStringToObject(o, "replay", replay.data);
        buf_free(&replay);
    }
    cJSON_AddItemToArray(c->runs, o);
}

static bool write_junit(const sweep_ctx *s, const char *path, const tally *t)
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
    fprintf(f, "  <testsuite name=\"");
    xml_escape(f, s->tmpl->name);
    fprintf(f, "\" tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" time=\"%.3f\">\n", (unsigned long long)t->total,
            (unsigned long long)t->failed, (unsigned long long)(t->crashed + t->bad), t->wall_ms / 1000.0);
    fprintf(f, "    <properties>\n      <property name=\"file\" value=\"");
    xml_escape(f, s->file);
    fprintf(f, "\"/>\n      <property name=\"profile\" value=\"");
    xml_escape(f, s->tmpl->profile.name);
    fprintf(f, "\"/>\n      <property name=\"seeds\" value=\"%llu..%llu\"/>\n      <property name=\"shard\" value=\"%s\"/>\n"
               "      <property name=\"strict\" value=\"%s\"/>\n    </properties>\n",
            (unsigned long long)s->lo, (unsigned long long)s->hi, s->shard_text, s->strict ? "true" : "false");
    summary_ctx c = { .s = s, .junit = f };
    char *error = NULL;
    bool ok = results_each(s->db, s->key, s->params, s->strict, s->lo, s->hi, junit_row, &c, &error);
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    if (!ok) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
    }
    return fclose(f) == 0 && ok;
}

static bool write_json_summary(const sweep_ctx *s, const char *path, const tally *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scenario", s->tmpl->name);
    cJSON_AddStringToObject(o, "file", s->file);
    cJSON_AddStringToObject(o, "profile", s->tmpl->profile.name);
    char range[64];
    snprintf(range, sizeof range, "%llu..%llu", (unsigned long long)s->lo, (unsigned long long)s->hi);
    cJSON_AddStringToObject(o, "seeds", range);
    cJSON_AddStringToObject(o, "shard", s->shard_text);
    cJSON_AddBoolToObject(o, "strict", s->strict);
    cJSON *totals = cJSON_AddObjectToObject(o, "totals");
    cJSON_AddNumberToObject(totals, "seeds", (double)t->total);
    cJSON_AddNumberToObject(totals, "passed", (double)t->passed);
    cJSON_AddNumberToObject(totals, "failed", (double)t->failed);
    cJSON_AddNumberToObject(totals, "crashed", (double)t->crashed);
    cJSON_AddNumberToObject(totals, "bad_input", (double)t->bad);
    cJSON *classes = cJSON_AddObjectToObject(o, "failing_classes");
    for (int c = 0; c < VC_COUNT; c++)
        if (t->by_class[c])
            cJSON_AddNumberToObject(classes, vclass_name((vclass)c), (double)t->by_class[c]);
    summary_ctx c = { .s = s, .runs = cJSON_AddArrayToObject(o, "runs") };
    char *error = NULL;
    bool ok = results_each(s->db, s->key, s->params, s->strict, s->lo, s->hi, json_row, &c, &error);
    if (!ok) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
    }
    buf text;
    buf_init(&text);
    json_write_pretty(&text, o, 0);
    buf_putc(&text, '\n');
    cJSON_Delete(o);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
        buf_free(&text);
        return false;
    }
    ok = fwrite(text.data, 1, text.len, f) == text.len && ok;
    buf_free(&text);
    return fclose(f) == 0 && ok;
}

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "syncsim: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage: syncsim sweep FILE --seeds A..B [-j N] [--shard I/N] [--db results.sqlite]\n"
                    "                     [--junit F.xml] [--json F.json] [--strict] [--check-determinism]\n");
    return EXIT_BAD_INPUT;
}

const char *sweep_option(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

bool sweep_is_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

bool sweep_parse_workers(const char *text, int *workers)
{
    uint64_t j;
    if (!parse_u64(text, strlen(text), &j) || j < 1 || j > POOL_WORKERS_MAX)
        return false;
    *workers = (int)j;
    return true;
}

int cmd_sweep(int argc, char **argv)
{
    const char *file = NULL, *seeds = NULL, *db_path = NULL, *junit = NULL, *json = NULL, *shard = NULL,
               *jobs_text = NULL;
    bool strict = false, check_det = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--strict") == 0)
            strict = true;
        else if (strcmp(a, "--check-determinism") == 0)
            check_det = true;
        else if (sweep_is_option(a, "--seeds")) {
            if (!(seeds = sweep_option(argc, argv, &i, "--seeds")))
                return usage("%s needs a range such as 1..1000", "--seeds");
        } else if (sweep_is_option(a, "--db")) {
            if (!(db_path = sweep_option(argc, argv, &i, "--db")))
                return usage("%s needs a file name", "--db");
        } else if (sweep_is_option(a, "--junit")) {
            if (!(junit = sweep_option(argc, argv, &i, "--junit")))
                return usage("%s needs a file name", "--junit");
        } else if (sweep_is_option(a, "--json")) {
            if (!(json = sweep_option(argc, argv, &i, "--json")))
                return usage("%s needs a file name", "--json");
        } else if (sweep_is_option(a, "--shard")) {
            if (!(shard = sweep_option(argc, argv, &i, "--shard")))
                return usage("%s needs I/N, e.g. 2/3", "--shard");
        } else if (sweep_is_option(a, "-j")) {
            if (!(jobs_text = sweep_option(argc, argv, &i, "-j")))
                return usage("%s needs a number of workers", "-j");
        } else if (strncmp(a, "-j", 2) == 0 && a[2] >= '0' && a[2] <= '9') {
            jobs_text = a + 2;
        } else if (a[0] == '-') {
            return usage("unknown option '%s'", a);
        } else if (file) {
            return usage("sweep takes one scenario file; '%s' is a second one", a);
        } else {
            file = a;
        }
    }
    if (!file)
        return usage("%s", "sweep needs a scenario file");
    if (!seeds)
        return usage("%s", "sweep needs --seeds A..B");
    sweep_ctx s = { .file = file, .strict = strict, .check_det = check_det, .params = "{}", .shard_index = 1,
                    .shard_count = 1 };
    if (!sweep_parse_seeds(seeds, &s.lo, &s.hi))
        return usage("--seeds needs A..B with A <= B < 2^63 and at most a billion seeds, not '%s'", seeds);
    if (shard && !sweep_parse_shard(shard, &s.shard_index, &s.shard_count))
        return usage("--shard needs I/N with 1 <= I <= N, not '%s'", shard);
    snprintf(s.shard_text, sizeof s.shard_text, "%d/%d", s.shard_index, s.shard_count);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    s.jobs = cpus > 0 ? (int)cpus : 1;
    if (jobs_text) {
        if (!sweep_parse_workers(jobs_text, &s.jobs))
            return usage("-j needs a number of workers from 1 to 256, not '%s'", jobs_text);
    }

    diag d;
    diag_init(&d);
    scenario *tmpl = scenario_load(file, &d);
    if (!tmpl) {
        fprintf(stderr, "%s\n", d.message);
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
        fprintf(stderr, "sweep: %s, seeds %llu..%llu, shard %s: %llu seeds, %llu already in %s, %d worker%s\n",
                file, (unsigned long long)s.lo, (unsigned long long)s.hi, s.shard_text,
                (unsigned long long)in_range, (unsigned long long)(in_range - n_todo),
                db_path ? db_path : "memory", s.jobs, s.jobs == 1 ? "" : "s");
        pool_catch_signals();
        pool_job *jobs = xmalloc((n_todo ? n_todo : 1) * sizeof *jobs);
        for (uint64_t i = 0; i < n_todo; i++)
            jobs[i] = (pool_job){ .cell = 0, .seed = todo[i] };
        const scenario *cells[] = { tmpl };
        pool p = { .cells = cells, .n_cells = 1, .strict = s.strict, .check_determinism = s.check_det,
                   .workers = s.jobs, .what = "sweep", .unit = "seeds", .record = record_job, .ctx = &s };
        double start = pool_now_ms();
        bool ok = pool_run(&p, jobs, n_todo);
        double elapsed_s = (pool_now_ms() - start) / 1000.0;
        xfree(jobs);
        if (!ok)
            code = EXIT_BAD_INPUT;

        summary_ctx sum = { .s = &s };
        if (!results_each(s.db, s.key, s.params, s.strict, s.lo, s.hi, tally_row, &sum, &error)) {
            fprintf(stderr, "syncsim: %s\n", error);
            xfree(error);
            code = EXIT_BAD_INPUT;
        }
        tally *t = &sum.t;
        printf("sweep  %s (%s), profile %s%s\n", tmpl->name, file, tmpl->profile.name, strict ? ", strict" : "");
        printf("seeds  %llu..%llu, shard %s: %llu recorded, %llu run now in %.1fs (%.1f seeds/s, %d worker%s)\n",
               (unsigned long long)s.lo, (unsigned long long)s.hi, s.shard_text, (unsigned long long)t->total,
               (unsigned long long)s.ran_now, elapsed_s, elapsed_s > 0 ? (double)s.ran_now / elapsed_s : 0.0, s.jobs,
               s.jobs == 1 ? "" : "s");
        printf("result %llu passed, %llu failed, %llu crashed, %llu bad input\n", (unsigned long long)t->passed,
               (unsigned long long)t->failed, (unsigned long long)t->crashed, (unsigned long long)t->bad);
        bool any_class = false;
        for (int c = 0; c < VC_COUNT; c++) {
            if (t->by_class[c]) {
                printf("%s%s %llu", any_class ? ", " : "failing by class: ", vclass_name((vclass)c),
                       (unsigned long long)t->by_class[c]);
                any_class = true;
            }
        }
        if (any_class)
            printf("\n");
        if (t->n_failing_seeds) {
            printf("failing seeds%s (replay any of them exactly):\n", t->total - t->passed > 20 ? ", first 20" : "");
            for (int i = 0; i < t->n_failing_seeds; i++) {
                buf replay;
                buf_init(&replay);
                replay_command(&replay, &s, t->failing_seeds[i]);
                printf("  %s\n", replay.data);
                buf_free(&replay);
            }
        }
        if (pool_interrupted) {
            printf("interrupted: %llu seeds of this shard have no result yet; run the same command to resume\n",
                   (unsigned long long)(in_range - t->total));
            code = 130;
        } else if (code == EXIT_PASS && t->total != t->passed) {
            code = t->bad == t->total - t->passed ? EXIT_BAD_INPUT : EXIT_VIOLATION;
        }
        if (junit && !write_junit(&s, junit, t))
            code = EXIT_BAD_INPUT;
        if (json && !write_json_summary(&s, json, t))
            code = EXIT_BAD_INPUT;
    }
    xfree(todo);
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
