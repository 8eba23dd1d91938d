/*
 * conform: the portable conformance corpus (scenarios/conformance/, in
 * levels) against one implementation -- an external command (--node) or a
 * profile (--profile) -- and a table of levels x invariants.
 *
 * Each scenario names the invariants it checks (expect: checks:): violation
 * classes, and `state` (its expected final state). For every scenario run,
 * an invariant it checks is
 *   held       no finding of that class (the state as expected);
 *   violated   a finding of it (the state not as expected), or the run failed
 *              -- a node that failed, a crash -- before it could be checked;
 *   accepted   a finding of a class the profile accepts by design;
 *   n/a        the scenario needs an operation the implementation does not
 *              support (its init_ok does not list it).
 * A level holds when nothing in it is violated. Classes a scenario does not
 * check are not held against it, but they are listed (honesty: a design's
 * weakness at level 2 shows in level 4's table and in "also observed").
 *
 * Runs go through the sweep machinery (worker processes, node reuse), one
 * job per scenario and, for the level-5 swarms, one per seed. Nothing
 * depends on -j or on the order workers finish in.
 */
#include "base/buf.h"
#include "base/xalloc.h"
#include "cli/commands.h"
#include "cli/node.h"
#include "cli/output.h"
#include "cli/paths.h"
#include "cli/pool.h"
#include "cli/sweep.h"
#include "sim/verdict.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LEVELS_MAX 5
#define SWARM_SEEDS_DEFAULT 20
/* The invariants, as columns of nothing but rows: every class that can fail a run, then state. */
#define INVARIANT_STATE VC_COUNT
#define N_INVARIANTS (VC_COUNT + 1)

typedef enum mark {
    MARK_NONE,          /* not checked here */
    MARK_HELD,
    MARK_ACCEPTED,
    MARK_NA,
    MARK_VIOLATED,
} mark;

typedef struct entry {
    char *path;          /* owned */
    char *short_name;    /* level-2/partition-one-way, owned */
    int level;
    scenario *tmpl;      /* owned */
    vclass_set checks;
    bool checks_state;
    uint64_t seed_lo, seed_hi;   /* its jobs: its own seed, or the swarm's seeds */
} entry;

typedef struct job_result {
    int entry;
    uint64_t seed;
    cJSON *row;          /* owned: sweep_run_seed's row, or the pool's crash row */
    mark marks[N_INVARIANTS];
    vclass_set observed; /* classes found that the scenario does not check */
    bool error;          /* the run could not be checked: a node failed, a crash, bad input */
    bool na;
} job_result;

typedef struct conform {
    const cli_args *args;
    const char *corpus;
    int level_max;
    entry *entries;
    int n_entries, cap_entries;
    job_result *results;   /* by job index */
    uint64_t n_results;
    const char *implementation;   /* for people: the command, or the profile */
} conform;

/* --- the corpus ------------------------------------------------------------------- */

static int compare_entries(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    return x->level != y->level ? x->level - y->level : strcmp(x->path, y->path);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Every level-N/ file ending .yaml, for N up to the level asked for. */
static bool collect(conform *c)
{
    for (int level = 1; level <= c->level_max; level++) {
        buf dir;
        buf_init(&dir);
        buf_printf(&dir, "%s/level-%d", c->corpus, level);
        DIR *dh = opendir(dir.data);
        if (!dh) {
            fprintf(stderr, "syncsim: the corpus has no level %d: cannot open %s\n", level, dir.data);
            buf_free(&dir);
            return false;
        }
        struct dirent *e;
        while ((e = readdir(dh))) {
            if (e->d_name[0] == '.' || !(has_suffix(e->d_name, ".yaml") || has_suffix(e->d_name, ".yml")))
                continue;
            if (c->n_entries == c->cap_entries) {
                size_t cap = (size_t)c->cap_entries;
                xgrow(&c->entries, &cap, (size_t)c->n_entries + 1, sizeof *c->entries);
                c->cap_entries = (int)cap;
            }
            entry *en = &c->entries[c->n_entries++];
            memset(en, 0, sizeof *en);
            buf p;
            buf_init(&p);
            buf_printf(&p, "%s/%s", dir.data, e->d_name);
            en->path = buf_take(&p);
            buf_printf(&p, "level-%d/%.*s", level, (int)(strlen(e->d_name) - 5), e->d_name);
            en->short_name = buf_take(&p);
            en->level = level;
        }
        closedir(dh);
        buf_free(&dir);
    }
    if (c->n_entries == 0) {
        fprintf(stderr, "syncsim: no scenarios in %s/level-1..%d\n", c->corpus, c->level_max);
        return false;
    }
    qsort(c->entries, (size_t)c->n_entries, sizeof *c->entries, compare_entries);
    return true;
}

/* Load every scenario with the implementation under test in place. A scenario that names no
 * checks is a corpus bug: every conformance scenario says what it checks. */
static bool load(conform *c)
{
    const cli_args *a = c->args;
    bool seeds_range = a->given[OPT_SEEDS] && strstr(a->text[OPT_SEEDS], "..");
    uint64_t lo = seeds_range ? a->seeds_lo : 1;
    uint64_t hi = seeds_range ? a->seeds_hi : a->given[OPT_SEEDS] ? a->seeds_lo : SWARM_SEEDS_DEFAULT;
    if (!seeds_range && a->given[OPT_SEEDS] && a->seeds_lo == 0) {
        fprintf(stderr, "syncsim: --seeds needs at least 1 seed\n");
        return false;
    }
    for (int i = 0; i < c->n_entries; i++) {
        entry *en = &c->entries[i];
        diag d;
        diag_init(&d);
        en->tmpl = scenario_load(en->path, &d);
        bool ok = en->tmpl && implementation_apply(en->tmpl, a, &d);
        if (ok && !en->tmpl->expect.has_checks) {
            fprintf(stderr, "%s: error: a conformance scenario names the invariants it checks (expect: checks:)\n",
                    en->path);
            ok = false;
        } else if (!ok) {
            fprintf(stderr, "%s\n", d.message);
        }
        diag_free(&d);
        if (!ok)
            return false;
        en->checks = en->tmpl->expect.checks;
        en->checks_state = en->tmpl->expect.checks_state;
        en->seed_lo = en->tmpl->has_workload ? lo : en->tmpl->seed;
        en->seed_hi = en->tmpl->has_workload ? hi : en->tmpl->seed;
    }
    return true;
}

/* --- judging one run -------------------------------------------------------------- */

static int class_count(const cJSON *row, vclass cls)
{
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(row, "metrics"), "classes");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(classes, vclass_name(cls));
    return cJSON_IsNumber(n) ? (int)n->valuedouble : 0;
}

static const char *row_string(const cJSON *row, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(row, key);
    return cJSON_IsString(j) ? j->valuestring : "";
}

static void judge(const conform *c, job_result *jr)
{
    const entry *en = &c->entries[jr->entry];
    const char *outcome = row_string(jr->row, "outcome");
    jr->na = strcmp(outcome, "not-applicable") == 0;
    jr->error = !jr->na && (strcmp(outcome, "node-failed") == 0 || strcmp(outcome, "crash") == 0 ||
                            strcmp(outcome, "bad-input") == 0 || strcmp(outcome, "nondeterministic") == 0);
    for (int k = 0; k < N_INVARIANTS; k++) {
        bool checked = k == INVARIANT_STATE ? en->checks_state : (en->checks & VCLASS_BIT(k)) != 0;
        if (!checked) {
            jr->marks[k] = MARK_NONE;
            continue;
        }
        if (jr->na) {
            jr->marks[k] = MARK_NA;
        } else if (jr->error) {
            jr->marks[k] = MARK_VIOLATED;
        } else if (k == INVARIANT_STATE) {
            jr->marks[k] = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(jr->row, "unmet")) > 0 ? MARK_VIOLATED
                                                                                                      : MARK_HELD;
        } else if (class_count(jr->row, (vclass)k) > 0) {
            jr->marks[k] = (en->tmpl->profile.accepts & VCLASS_BIT(k)) ? MARK_ACCEPTED : MARK_VIOLATED;
        } else {
            jr->marks[k] = MARK_HELD;
        }
    }
    if (!jr->na && !jr->error)
        for (int k = 0; k < VC_COUNT; k++)
            if (!vclass_benign((vclass)k) && !(en->checks & VCLASS_BIT(k)) && class_count(jr->row, (vclass)k) > 0)
                jr->observed |= VCLASS_BIT(k);
}

static bool job_failed(const job_result *jr)
{
    if (jr->error)
        return true;
    for (int k = 0; k < N_INVARIANTS; k++)
        if (jr->marks[k] == MARK_VIOLATED)
            return true;
    return false;
}

/* --- running ---------------------------------------------------------------------- */

typedef struct run_ctx {
    conform *c;
    uint64_t *job_index;   /* by (entry, seed): the first job of each entry */
} run_ctx;

static bool record_run(void *ctx, const pool_job *job, const cJSON *row)
{
    run_ctx *r = ctx;
    conform *c = r->c;
    uint64_t i = r->job_index[job->cell] + (job->seed - c->entries[job->cell].seed_lo);
    job_result *jr = &c->results[i];
    jr->row = cJSON_Duplicate(row, true);
    judge(c, jr);
    return true;
}

static bool run_all(conform *c)
{
    const cli_args *a = c->args;
    uint64_t n = 0;
    uint64_t *first = xcalloc((size_t)c->n_entries, sizeof *first);
    for (int i = 0; i < c->n_entries; i++) {
        first[i] = n;
        n += c->entries[i].seed_hi - c->entries[i].seed_lo + 1;
    }
    c->results = xcalloc(n, sizeof *c->results);
    c->n_results = n;
    pool_job *jobs = xcalloc(n, sizeof *jobs);
    const scenario **cells = xcalloc((size_t)c->n_entries, sizeof *cells);
    for (int i = 0; i < c->n_entries; i++) {
        cells[i] = c->entries[i].tmpl;
        for (uint64_t s = c->entries[i].seed_lo; s <= c->entries[i].seed_hi; s++) {
            uint64_t k = first[i] + (s - c->entries[i].seed_lo);
            jobs[k] = (pool_job){ .cell = (uint32_t)i, .seed = s };
            c->results[k] = (job_result){ .entry = i, .seed = s };
        }
    }
    sweep_options run = { .timeout_us = a->timeout_us, .fresh_nodes = a->given[OPT_FRESH_NODES] };
    run_ctx ctx = { .c = c, .job_index = first };
    pool p = { .cells = cells, .n_cells = c->n_entries, .workers = a->jobs, .what = "conform", .unit = "runs",
               .run = sweep_pool_run, .run_ctx = &run, .worker_exit = sweep_pool_exit, .record = record_run,
               .ctx = &ctx };
    pool_catch_signals();
    bool ok = pool_run(&p, jobs, n) && !pool_interrupted;
    for (uint64_t i = 0; ok && i < n; i++)
        ok = c->results[i].row != NULL;
    xfree(jobs);
    xfree(cells);
    xfree(first);
    return ok;
}

/* --- the table ---------------------------------------------------------------------- */

typedef struct cell {
    int checked, held, accepted, na, violated;
} cell;

static cell table_cell(const conform *c, int level, int k)
{
    cell t = { 0 };
    for (uint64_t i = 0; i < c->n_results; i++) {
        const job_result *jr = &c->results[i];
        if (c->entries[jr->entry].level != level || jr->marks[k] == MARK_NONE)
            continue;
        t.checked++;
        t.held += jr->marks[k] == MARK_HELD;
        t.accepted += jr->marks[k] == MARK_ACCEPTED;
        t.na += jr->marks[k] == MARK_NA;
        t.violated += jr->marks[k] == MARK_VIOLATED;
    }
    return t;
}

static const char *invariant_name(int k)
{
    return k == INVARIANT_STATE ? "state" : vclass_name((vclass)k);
}

static bool invariant_used(const conform *c, int k)
{
    for (int i = 0; i < c->n_entries; i++)
        if (k == INVARIANT_STATE ? c->entries[i].checks_state : (c->entries[i].checks & VCLASS_BIT(k)))
            return true;
    return false;
}

static void cell_text(cell t, char *out, size_t cap)
{
    int applicable = t.checked - t.na;
    if (t.checked == 0)
        snprintf(out, cap, "-");
    else if (applicable == 0)
        snprintf(out, cap, "n/a");
    else if (t.violated)
        snprintf(out, cap, "VIOLATED %d/%d", t.violated, applicable);
    else if (t.accepted)
        snprintf(out, cap, "accepted %d/%d", t.accepted, applicable);
    else
        snprintf(out, cap, "held %d/%d", t.held, applicable);
}

typedef struct level_sum {
    int scenarios, runs, na, failed, errors;
} level_sum;

static level_sum level_summary(const conform *c, int level)
{
    level_sum s = { 0 };
    for (int i = 0; i < c->n_entries; i++)
        s.scenarios += c->entries[i].level == level;
    for (uint64_t i = 0; i < c->n_results; i++) {
        const job_result *jr = &c->results[i];
        if (c->entries[jr->entry].level != level)
            continue;
        s.runs++;
        s.na += jr->na;
        s.errors += jr->error;
        s.failed += job_failed(jr);
    }
    return s;
}

/* The command that replays a run of the table exactly. */
static void replay_command(const conform *c, const job_result *jr, buf *b)
{
    const entry *en = &c->entries[jr->entry];
    const cli_args *a = c->args;
    buf_printf(b, "syncsim run %s", en->path);
    if (en->tmpl->has_workload)
        buf_printf(b, " --seed %llu", (unsigned long long)jr->seed);
    if (a->given[OPT_PROFILE])
        buf_printf(b, " --profile %s", a->text[OPT_PROFILE]);
    if (a->given[OPT_NODE])
        buf_printf(b, " --node '%s'", a->text[OPT_NODE]);
}

/* What went wrong in a failed run, in a line or a few. */
static void failure_text(const conform *c, const job_result *jr, buf *b)
{
    const entry *en = &c->entries[jr->entry];
    if (jr->error) {
        buf_printf(b, "%s", row_string(jr->row, "outcome"));
    } else {
        bool first = true;
        for (int k = 0; k < N_INVARIANTS; k++) {
            if (jr->marks[k] != MARK_VIOLATED)
                continue;
            buf_printf(b, "%s%s", first ? "" : ", ", invariant_name(k));
            first = false;
        }
    }
    (void)en;
}

static void print_table(const conform *c, FILE *out, bool markdown)
{
    int width = 18;
    if (markdown) {
        fputs("| invariant |", out);
        for (int level = 1; level <= c->level_max; level++)
            fprintf(out, " level %d |", level);
        fputs("\n|---|", out);
        for (int level = 1; level <= c->level_max; level++)
            fputs("---|", out);
        fputc('\n', out);
    } else {
        fprintf(out, "%-*s", width, "INVARIANT");
        for (int level = 1; level <= c->level_max; level++)
            fprintf(out, "  LEVEL %-8d", level);
        fputc('\n', out);
    }
    for (int k = 0; k < N_INVARIANTS; k++) {
        if (!invariant_used(c, k))
            continue;
        if (markdown)
            fprintf(out, "| %s |", invariant_name(k));
        else
            fprintf(out, "%-*s", width, invariant_name(k));
        for (int level = 1; level <= c->level_max; level++) {
            char text[40];
            cell_text(table_cell(c, level, k), text, sizeof text);
            if (markdown)
                fprintf(out, " %s%s%s |", strncmp(text, "VIOL", 4) == 0 ? "**" : "", text,
                        strncmp(text, "VIOL", 4) == 0 ? "**" : "");
            else if (level < c->level_max)
                fprintf(out, "  %-14s", text);
            else
                fprintf(out, "  %s", text);
        }
        fputc('\n', out);
    }
}

/* Whether level holds: nothing violated in it and every run checked. */
static bool level_holds(const conform *c, int level)
{
    level_sum s = level_summary(c, level);
    return s.failed == 0;
}

static void print_levels(const conform *c, FILE *out, bool markdown)
{
    for (int level = 1; level <= c->level_max; level++) {
        level_sum s = level_summary(c, level);
        bool holds = level_holds(c, level);
        fprintf(out, markdown ? "- **level %d %s**: %d scenario%s" : "level %d  %-9s %d scenario%s", level,
                holds ? "holds" : "VIOLATED", s.scenarios, s.scenarios == 1 ? "" : "s");
        if (s.runs != s.scenarios)
            fprintf(out, ", %d runs", s.runs);
        if (s.failed)
            fprintf(out, ", %d failed", s.failed);
        if (s.errors)
            fprintf(out, " (%d could not be checked)", s.errors);
        if (s.na) {
            fprintf(out, ", not applicable:");
            int shown = 0;
            for (int i = 0; i < c->n_entries; i++) {
                if (c->entries[i].level != level)
                    continue;
                bool na = false;
                for (uint64_t k = 0; k < c->n_results && !na; k++)
                    na = c->results[k].entry == i && c->results[k].na;
                if (na)
                    fprintf(out, "%s %s", shown++ ? "," : "", strchr(c->entries[i].short_name, '/') + 1);
            }
        }
        fputc('\n', out);
    }
}

/* The failed runs, each with what it violated and the command that replays it. */
static void print_failures(const conform *c, FILE *out, bool markdown, int limit)
{
    int shown = 0, total = 0;
    for (uint64_t i = 0; i < c->n_results; i++)
        total += job_failed(&c->results[i]);
    if (!total)
        return;
    fprintf(out, markdown ? "\n### Violations (each replays exactly)\n\n```sh\n" : "\nviolations (each replays exactly):\n");
    for (uint64_t i = 0; i < c->n_results && shown < limit; i++) {
        const job_result *jr = &c->results[i];
        if (!job_failed(jr))
            continue;
        buf what, cmd;
        buf_init(&what);
        buf_init(&cmd);
        failure_text(c, jr, &what);
        replay_command(c, jr, &cmd);
        if (markdown) {
            fprintf(out, "# %s: %s\n%s\n", c->entries[jr->entry].short_name, what.data, cmd.data);
        } else {
            fprintf(out, "  %s (%s)\n    %s\n", c->entries[jr->entry].short_name, what.data, cmd.data);
            const char *finding = row_string(jr->row, "finding");
            const char *nl = strchr(finding, '\n');
            if (*finding)
                fprintf(out, "    %.*s\n", nl ? (int)(nl - finding) : (int)strlen(finding), finding);
        }
        buf_free(&what);
        buf_free(&cmd);
        shown++;
    }
    if (markdown)
        fputs("```\n", out);
    if (total > shown)
        fprintf(out, "%s... %d more (all in --json and --junit)\n", markdown ? "\n" : "  ", total - shown);
}

static void print_observed(const conform *c, FILE *out)
{
    vclass_set seen = 0;
    for (uint64_t i = 0; i < c->n_results; i++)
        seen |= c->results[i].observed;
    if (!seen)
        return;
    fprintf(out, "also observed, where the scenario does not check it:");
    for (int k = 0; k < VC_COUNT; k++) {
        if (!(seen & VCLASS_BIT(k)))
            continue;
        int where = 0;
        for (uint64_t i = 0; i < c->n_results; i++)
            where += (c->results[i].observed & VCLASS_BIT(k)) != 0;
        fprintf(out, " %s (%d run%s)", vclass_name((vclass)k), where, where == 1 ? "" : "s");
    }
    fputc('\n', out);
}

/* --- files for CI ------------------------------------------------------------------- */

static bool write_junit(const conform *c, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        output_writable(path);
        return false;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"syncsim conform\">\n");
    for (int level = 1; level <= c->level_max; level++) {
        level_sum s = level_summary(c, level);
        int skipped = s.na;
        fprintf(f, "  <testsuite name=\"conformance level %d\" tests=\"%d\" failures=\"%d\" skipped=\"%d\">\n", level,
                s.runs, s.failed, skipped);
        for (uint64_t i = 0; i < c->n_results; i++) {
            const job_result *jr = &c->results[i];
            const entry *en = &c->entries[jr->entry];
            if (en->level != level)
                continue;
            buf name;
            buf_init(&name);
            buf_puts(&name, en->short_name);
            if (en->tmpl->has_workload)
                buf_printf(&name, " seed %llu", (unsigned long long)jr->seed);
            fprintf(f, "    <testcase classname=\"conformance.level-%d\" name=\"", level);
            output_xml_escape(f, name.data);
            fprintf(f, "\" file=\"");
            output_xml_escape(f, en->path);
            fprintf(f, "\">\n");
            if (jr->na) {
                fprintf(f, "      <skipped message=\"not applicable: ");
                output_xml_escape(f, row_string(jr->row, "finding"));
                fprintf(f, "\"/>\n");
            } else if (job_failed(jr)) {
                buf what, cmd;
                buf_init(&what);
                buf_init(&cmd);
                failure_text(c, jr, &what);
                replay_command(c, jr, &cmd);
                fprintf(f, "      <failure message=\"violated: ");
                output_xml_escape(f, what.data);
                fprintf(f, "\">");
                output_xml_escape(f, row_string(jr->row, "finding"));
                fprintf(f, "\nreplay: ");
                output_xml_escape(f, cmd.data);
                fprintf(f, "</failure>\n");
                buf_free(&what);
                buf_free(&cmd);
            }
            fprintf(f, "    </testcase>\n");
            buf_free(&name);
        }
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    return output_close(f, path);
}

static const char *mark_name(mark m)
{
    switch (m) {
    case MARK_HELD: return "held";
    case MARK_ACCEPTED: return "accepted";
    case MARK_NA: return "n/a";
    case MARK_VIOLATED: return "violated";
    case MARK_NONE: break;
    }
    return "-";
}

static bool write_json(const conform *c, const char *path, int exit_code)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "implementation", c->implementation);
    cJSON_AddStringToObject(o, "corpus", c->corpus);
    cJSON_AddNumberToObject(o, "exit_code", exit_code);
    cJSON *levels = cJSON_AddArrayToObject(o, "levels");
    for (int level = 1; level <= c->level_max; level++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddNumberToObject(l, "level", level);
        cJSON_AddBoolToObject(l, "holds", level_holds(c, level));
        cJSON *inv = cJSON_AddObjectToObject(l, "invariants");
        for (int k = 0; k < N_INVARIANTS; k++) {
            cell t = table_cell(c, level, k);
            if (!t.checked)
                continue;
            cJSON *x = cJSON_AddObjectToObject(inv, invariant_name(k));
            cJSON_AddNumberToObject(x, "checked", t.checked);
            cJSON_AddNumberToObject(x, "held", t.held);
            cJSON_AddNumberToObject(x, "accepted", t.accepted);
            cJSON_AddNumberToObject(x, "not_applicable", t.na);
            cJSON_AddNumberToObject(x, "violated", t.violated);
        }
        cJSON *runs = cJSON_AddArrayToObject(l, "runs");
        for (uint64_t i = 0; i < c->n_results; i++) {
            const job_result *jr = &c->results[i];
            const entry *en = &c->entries[jr->entry];
            if (en->level != level)
                continue;
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "file", en->path);
            char seed[24];
            snprintf(seed, sizeof seed, "%llu", (unsigned long long)jr->seed);
            cJSON_AddStringToObject(r, "seed", seed);
            cJSON_AddStringToObject(r, "outcome", row_string(jr->row, "outcome"));
            cJSON *checks = cJSON_AddObjectToObject(r, "checks");
            for (int k = 0; k < N_INVARIANTS; k++)
                if (jr->marks[k] != MARK_NONE)
                    cJSON_AddStringToObject(checks, invariant_name(k), mark_name(jr->marks[k]));
            cJSON_AddStringToObject(r, "trace_hash", row_string(jr->row, "trace_hash"));
            buf cmd;
            buf_init(&cmd);
            replay_command(c, jr, &cmd);
            cJSON_AddStringToObject(r, "replay", cmd.data);
            buf_free(&cmd);
            if (job_failed(jr) || jr->na)
                cJSON_AddStringToObject(r, "finding", row_string(jr->row, "finding"));
            cJSON_AddItemToArray(runs, r);
        }
        cJSON_AddItemToArray(levels, l);
    }
    bool ok = output_write_json(path, o);
    cJSON_Delete(o);
    return ok;
}

static bool write_summary(const conform *c, const char *path, const char *result)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        output_writable(path);
        return false;
    }
    fprintf(f, "## syncsim conform: %s\n\n", c->implementation);
    fprintf(f, "%s\n\n", result);
    print_table(c, f, true);
    fputc('\n', f);
    print_levels(c, f, true);
    print_failures(c, f, true, 50);
    return output_close(f, path);
}

/* --- the command ------------------------------------------------------------------ */

static const char *default_corpus(void)
{
    struct stat st;
    if (stat("scenarios/conformance", &st) == 0 && S_ISDIR(st.st_mode))
        return "scenarios/conformance";
    static char installed[4096];
    const char *data = paths_data_dir();
    if (data) {
        snprintf(installed, sizeof installed, "%s/scenarios/conformance", data);
        return installed;
    }
    return "scenarios/conformance";
}

static void free_conform(conform *c)
{
    for (int i = 0; i < c->n_entries; i++) {
        scenario_free(c->entries[i].tmpl);
        xfree(c->entries[i].path);
        xfree(c->entries[i].short_name);
    }
    xfree(c->entries);
    for (uint64_t i = 0; i < c->n_results; i++)
        cJSON_Delete(c->results[i].row);
    xfree(c->results);
}

static int conform_main(const cli_command *cmd, const cli_args *a)
{
    if (!a->given[OPT_NODE] && !a->given[OPT_PROFILE])
        return cli_usage_error(cmd, "conform needs the implementation under test: --node CMD or --profile P");
    const char *junit = a->text[OPT_JUNIT], *json = a->text[OPT_JSON], *summary = a->text[OPT_SUMMARY];
    if ((junit && !output_writable(junit)) || (json && !output_writable(json)) ||
        (summary && !output_writable(summary)))
        return EXIT_BAD_INPUT;
    conform c = { .args = a, .level_max = a->given[OPT_LEVEL] ? a->level : LEVELS_MAX,
                  .corpus = a->n_operands ? a->operands[0] : default_corpus() };
    buf impl;
    buf_init(&impl);
    if (a->given[OPT_NODE])
        buf_printf(&impl, "%s%s", a->text[OPT_NODE], a->given[OPT_PROFILE] ? "" : " (as every replica)");
    if (a->given[OPT_PROFILE])
        buf_printf(&impl, "%sprofile %s", a->given[OPT_NODE] ? ", " : "", a->text[OPT_PROFILE]);
    c.implementation = impl.data;
    int code = EXIT_BAD_INPUT;
    double start = pool_now_ms();
    if (!collect(&c) || !load(&c))
        goto out;
    int swarms = 0;
    for (int i = 0; i < c.n_entries; i++)
        swarms += c.entries[i].tmpl->has_workload;
    uint64_t seeds = 0;
    for (int i = 0; i < c.n_entries && !seeds; i++)
        if (c.entries[i].tmpl->has_workload)
            seeds = c.entries[i].seed_hi - c.entries[i].seed_lo + 1;
    printf("conform   %s\n", c.implementation);
    printf("corpus    %s, levels 1..%d: %d scenarios", c.corpus, c.level_max, c.n_entries);
    if (swarms)
        printf(" (%d swarm%s x %llu seeds)", swarms, swarms == 1 ? "" : "s", (unsigned long long)seeds);
    printf(", %d worker%s\n", a->jobs, a->jobs == 1 ? "" : "s");
    fflush(stdout);
    if (!run_all(&c)) {
        fprintf(stderr, "syncsim: conform was interrupted or its runs could not be recorded\n");
        code = pool_interrupted ? 130 : EXIT_BAD_INPUT;
        goto out;
    }
    char took[32];
    snprintf(took, sizeof took, "%.1fs", (pool_now_ms() - start) / 1000.0);
    printf("ran       %llu runs in %s\n\n", (unsigned long long)c.n_results, took);
    print_table(&c, stdout, false);
    putchar('\n');
    print_levels(&c, stdout, false);
    print_failures(&c, stdout, false, 20);
    print_observed(&c, stdout);

    /* 0 only when every level holds; a node that failed says 4 before a violation says 1. */
    int highest_holding = 0;
    while (highest_holding < c.level_max && level_holds(&c, highest_holding + 1))
        highest_holding++;
    bool errors = false;
    for (uint64_t i = 0; i < c.n_results; i++)
        errors |= c.results[i].error && strcmp(row_string(c.results[i].row, "outcome"), "node-failed") == 0;
    code = highest_holding == c.level_max ? EXIT_PASS : errors ? EXIT_NODE_FAILED : EXIT_VIOLATION;
    buf result;
    buf_init(&result);
    if (code == EXIT_PASS && c.level_max == 1)
        buf_printf(&result, "level 1 holds");
    else if (code == EXIT_PASS)
        buf_printf(&result, "every level holds, 1..%d", c.level_max);
    else if (highest_holding == 1)
        buf_printf(&result, "level 1 holds; level 2 is violated");
    else if (highest_holding)
        buf_printf(&result, "levels 1..%d hold; level %d is violated", highest_holding, highest_holding + 1);
    else
        buf_printf(&result, "level 1 is violated");
    printf("result    %s (exit %d)\n", result.data, code);
    if (junit && !write_junit(&c, junit))
        code = EXIT_BAD_INPUT;
    if (json && !write_json(&c, json, code))
        code = EXIT_BAD_INPUT;
    if (summary && !write_summary(&c, summary, result.data))
        code = EXIT_BAD_INPUT;
    buf_free(&result);
out:
    free_conform(&c);
    buf_free(&impl);
    return code;
}

static const cli_use CONFORM_OPTIONS[] = {
    { OPT_NODE, "the implementation under test: this command as every replica, speaking the node protocol", false },
    { OPT_PROFILE,
      "the implementation under test as a profile: a built-in design, or a profile whose node: names a command "
      "(and whose accepts: says what its design accepts); with --node, the profile's accepts: and manual: apply",
      false },
    { OPT_LEVEL, "run levels 1..N only (default: 5)", false },
    { OPT_SEEDS, "seeds of each level-5 swarm: N for 1..N, or A..B (default: 20)", false },
    { OPT_JOBS, "run in N worker processes (default: the number of cores)", false },
    { OPT_JUNIT, "write JUnit XML to F.xml: a test suite per level, a test case per scenario or seed", false },
    { OPT_JSON, "write every level, invariant and run (with its replay command) as JSON to F.json", false },
    { OPT_SUMMARY, "write the table and the violations as Markdown to F.md for a CI job's page", false },
    { OPT_NODE_TIMEOUT, NODE_TIMEOUT_HELP, false },
    { OPT_FRESH_NODES, FRESH_NODES_HELP, false },
    { OPT_TIMEOUT, "a wall-clock budget for each run. Default: none", false },
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_conform = {
    .name = "conform",
    .operands = "[CORPUS]",
    .operand_noun = "corpus directory",
    .operands_min = 0,
    .operands_max = 1,
    .summary = "run the conformance corpus against an implementation; a table of levels x invariants",
    .description =
        "Runs the portable conformance corpus (default: scenarios/conformance, or the installed one) against one "
        "implementation: an external command speaking the node protocol (--node, docs/protocol.md), or a profile. "
        "Level 1: creates, updates and deletes reach every device; 2: offline edits, partitions, concurrent edits; 3: "
        "lost replies, duplicated and reordered messages, crashes; 4: clock skew, drift and steps, weeks offline; 5: "
        "a swarm workload with every fault, over --seeds seeds. Each scenario names the invariants it checks; the "
        "table says, per level and invariant, held, VIOLATED (with the command that replays it), accepted (the "
        "profile accepts the class by design) or n/a (the implementation does not support an operation the scenario "
        "needs).\n"
        "Exit codes: 0 every level up to --level holds; 1 an invariant is violated; 2 bad input or usage; 4 an "
        "external node failed in some run (the run is counted as violated).",
    .options = CONFORM_OPTIONS,
    .main = conform_main,
};
