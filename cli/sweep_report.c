/*
 * sweep_report: a sweep's rows as text, JUnit, JSON and Markdown. See
 * sweep_report.h.
 *
 * Invariant: every report of one view walks the same rows in the same
 * order (results_each: by seed, only the view's shard), so the text, the
 * JUnit cases, the JSON entries and the Markdown agree on every count.
 */
#include "cli/sweep_report.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "cli/output.h"

#include <stdlib.h>
#include <string.h>

static bool in_view(const sweep_view *v, uint64_t seed)
{
    return (seed - v->lo) % (uint64_t)v->shard_count == (uint64_t)(v->shard_index - 1);
}

/* Walk the view's rows; false (and the database's error on stderr) when they cannot be read. */
static bool each_row(const sweep_view *v, void (*fn)(void *ctx, const result_row *row), void *ctx)
{
    char *error = NULL;
    if (results_each(v->db, v->key, v->params, v->strict, v->lo, v->hi, fn, ctx, &error))
        return true;
    fprintf(stderr, "syncsim: %s\n", error);
    xfree(error);
    return false;
}

typedef struct walk {
    const sweep_view *v;
    sweep_tally *t;
    FILE *junit;
    cJSON *runs;
} walk;

/* The row's failing classes into by_class. */
static void count_classes(const result_row *row, uint64_t *by_class)
{
    char classes[256];
    snprintf(classes, sizeof classes, "%s", row->failing);
    for (char *save = NULL, *cls = strtok_r(classes, ",", &save); cls; cls = strtok_r(NULL, ",", &save)) {
        int c = vclass_parse(cls);
        if (c >= 0)
            by_class[c]++;
    }
}

/* The row's drawn design (metrics.design, "k: v, k: v"), value by value into the tally. */
static void tally_design(sweep_tally *t, const result_row *row)
{
    if (!strstr(row->metrics, "\"design\""))
        return;   /* a scenario without vary: (most): no row needs parsing */
    cJSON *metrics = cJSON_Parse(row->metrics);
    const cJSON *design = cJSON_GetObjectItemCaseSensitive(metrics, "design");
    if (cJSON_IsString(design)) {
        char text[1024];
        snprintf(text, sizeof text, "%s", design->valuestring);
        int order = 0;
        for (char *save = NULL, *part = strtok_r(text, ",", &save); part; part = strtok_r(NULL, ",", &save), order++) {
            while (*part == ' ')
                part++;
            sweep_design_value *e = NULL;
            for (int i = 0; i < t->n_design_values && !e; i++)
                if (strcmp(t->design_values[i].label, part) == 0)
                    e = &t->design_values[i];
            if (!e && t->n_design_values < SWEEP_DESIGN_VALUES_MAX) {
                e = &t->design_values[t->n_design_values++];
                snprintf(e->label, sizeof e->label, "%s", part);
                e->key_order = order;
            }
            if (!e)
                continue;
            e->seeds++;
            if (row->exit_code != 0) {
                e->failing++;
                count_classes(row, e->by_class);
            }
        }
    }
    cJSON_Delete(metrics);
}

static int compare_design_values(const void *a, const void *b)
{
    const sweep_design_value *x = a, *y = b;
    if (x->key_order != y->key_order)
        return x->key_order < y->key_order ? -1 : 1;
    return strcmp(x->label, y->label);
}

static void tally_row(void *ctx, const result_row *row)
{
    walk *w = ctx;
    if (!in_view(w->v, row->seed))
        return;
    sweep_tally *t = w->t;
    t->total++;
    t->wall_ms += row->wall_ms;
    tally_design(t, row);
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
    if (t->n_failing_seeds < SWEEP_FAILING_SHOWN)
        t->failing_seeds[t->n_failing_seeds++] = row->seed;
    count_classes(row, t->by_class);
}

bool sweep_report_tally(const sweep_view *v, sweep_tally *t)
{
    memset(t, 0, sizeof *t);
    walk w = { .v = v, .t = t };
    bool ok = each_row(v, tally_row, &w);
    qsort(t->design_values, (size_t)t->n_design_values, sizeof t->design_values[0], compare_design_values);
    return ok;
}

void sweep_report_replay(char *out, size_t cap, const sweep_view *v, uint64_t seed)
{
    snprintf(out, cap, "syncsim run %s --seed %llu%s%s", v->file, (unsigned long long)seed,
             v->strict ? " --strict" : "", v->replay_options ? v->replay_options : "");
}

void sweep_report_text(FILE *out, const sweep_view *v, const sweep_tally *t)
{
    fprintf(out, "result %llu passed, %llu failed, %llu crashed, %llu bad input\n", (unsigned long long)t->passed,
            (unsigned long long)t->failed, (unsigned long long)t->crashed, (unsigned long long)t->bad);
    bool any_class = false;
    for (int c = 0; c < VC_COUNT; c++) {
        if (t->by_class[c]) {
            fprintf(out, "%s%s %llu", any_class ? ", " : "failing by class: ", vclass_name((vclass)c),
                    (unsigned long long)t->by_class[c]);
            any_class = true;
        }
    }
    if (any_class)
        fprintf(out, "\n");
    if (t->n_design_values)
        fprintf(out, "by drawn value (vary:): seeds, failing seeds, and their classes\n");
    for (int i = 0; i < t->n_design_values; i++) {
        const sweep_design_value *e = &t->design_values[i];
        fprintf(out, "  %-36s %5llu seeds, %5llu failing", e->label, (unsigned long long)e->seeds,
                (unsigned long long)e->failing);
        for (int c = 0, first = 1; c < VC_COUNT; c++)
            if (e->by_class[c]) {
                fprintf(out, "%s%s %llu", first ? ": " : ", ", vclass_name((vclass)c), (unsigned long long)e->by_class[c]);
                first = 0;
            }
        fprintf(out, "\n");
    }
    if (t->n_failing_seeds) {
        fprintf(out, "failing seeds%s (replay any of them exactly):\n",
                t->total - t->passed > SWEEP_FAILING_SHOWN ? ", first 20" : "");
        for (int i = 0; i < t->n_failing_seeds; i++) {
            char replay[1024];
            sweep_report_replay(replay, sizeof replay, v, t->failing_seeds[i]);
            fprintf(out, "  %s\n", replay);
        }
    }
}

static void junit_row(void *ctx, const result_row *row)
{
    walk *w = ctx;
    if (!in_view(w->v, row->seed))
        return;
    FILE *f = w->junit;
    fprintf(f, "    <testcase classname=\"");
    output_xml_escape(f, w->v->name);
    fprintf(f, "\" name=\"seed %llu\" time=\"%.3f\"", (unsigned long long)row->seed, row->wall_ms / 1000.0);
    if (row->exit_code == 0) {
        fprintf(f, "/>\n");
        return;
    }
    bool error = strcmp(row->outcome, "crash") == 0 || strcmp(row->outcome, "bad-input") == 0;
    const char *type = row->failing[0] ? row->failing : row->outcome;
    fprintf(f, ">\n      <%s type=\"", error ? "error" : "failure");
    output_xml_escape(f, type);
    fprintf(f, "\" message=\"");
    size_t first = strcspn(row->finding, "\n");
    char *message = xstrndup(row->finding, first);
    output_xml_escape(f, message);
    xfree(message);
    fprintf(f, "\">");
    output_xml_escape(f, row->finding);
    char replay[1024];
    sweep_report_replay(replay, sizeof replay, w->v, row->seed);
    output_xml_escape(f, "\nreplay: ");
    output_xml_escape(f, replay);
    fprintf(f, "</%s>\n    </testcase>\n", error ? "error" : "failure");
}

bool sweep_report_junit(FILE *f, const sweep_view *v, const sweep_tally *t)
{
    fprintf(f, "  <testsuite name=\"");
    output_xml_escape(f, v->name);
    fprintf(f, "\" tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" time=\"%.3f\">\n", (unsigned long long)t->total,
            (unsigned long long)t->failed, (unsigned long long)(t->crashed + t->bad), t->wall_ms / 1000.0);
    fprintf(f, "    <properties>\n      <property name=\"file\" value=\"");
    output_xml_escape(f, v->file);
    fprintf(f, "\"/>\n      <property name=\"profile\" value=\"");
    output_xml_escape(f, v->profile);
    fprintf(f, "\"/>\n      <property name=\"seeds\" value=\"%llu..%llu\"/>\n      <property name=\"shard\" value=\"",
            (unsigned long long)v->lo, (unsigned long long)v->hi);
    output_xml_escape(f, v->shard_text);
    fprintf(f, "\"/>\n      <property name=\"strict\" value=\"%s\"/>\n    </properties>\n",
            v->strict ? "true" : "false");
    walk w = { .v = v, .junit = f };
    bool ok = each_row(v, junit_row, &w);
    fprintf(f, "  </testsuite>\n");
    return ok;
}

static void json_row(void *ctx, const result_row *row)
{
    walk *w = ctx;
    if (!in_view(w->v, row->seed))
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
        char replay[1024];
        sweep_report_replay(replay, sizeof replay, w->v, row->seed);
        cJSON_AddStringToObject(o, "replay", replay);
    }
    cJSON_AddItemToArray(w->runs, o);
}

cJSON *sweep_report_json(const sweep_view *v, const sweep_tally *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scenario", v->name);
    cJSON_AddStringToObject(o, "file", v->file);
    cJSON_AddStringToObject(o, "profile", v->profile);
    char range[64];
    snprintf(range, sizeof range, "%llu..%llu", (unsigned long long)v->lo, (unsigned long long)v->hi);
    cJSON_AddStringToObject(o, "seeds", range);
    cJSON_AddStringToObject(o, "shard", v->shard_text);
    cJSON_AddBoolToObject(o, "strict", v->strict);
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
    if (t->n_design_values) {
        cJSON *values = cJSON_AddArrayToObject(o, "by_drawn_value");
        for (int i = 0; i < t->n_design_values; i++) {
            const sweep_design_value *e = &t->design_values[i];
            cJSON *entry = cJSON_CreateObject();
            cJSON_AddStringToObject(entry, "value", e->label);
            cJSON_AddNumberToObject(entry, "seeds", (double)e->seeds);
            cJSON_AddNumberToObject(entry, "failing", (double)e->failing);
            cJSON *by = cJSON_AddObjectToObject(entry, "failing_classes");
            for (int c = 0; c < VC_COUNT; c++)
                if (e->by_class[c])
                    cJSON_AddNumberToObject(by, vclass_name((vclass)c), (double)e->by_class[c]);
            cJSON_AddItemToArray(values, entry);
        }
    }
    walk w = { .v = v, .runs = cJSON_AddArrayToObject(o, "runs") };
    if (!each_row(v, json_row, &w)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void sweep_report_markdown(FILE *f, const sweep_view *v, const sweep_tally *t, const char *counts)
{
    uint64_t not_passed = t->total - t->passed;
    fprintf(f, "## syncsim sweep of %s: %s\n\n", v->name, not_passed ? "FAILED" : "passed");
    fprintf(f, "`%s`, profile `%s`%s, seeds %llu..%llu, %s.\n\n", v->file, v->profile, v->strict ? ", --strict" : "",
            (unsigned long long)v->lo, (unsigned long long)v->hi, counts);
    fprintf(f, "| passed | failed | crashed | bad input |\n|---:|---:|---:|---:|\n| %llu | %llu | %llu | %llu |\n\n",
            (unsigned long long)t->passed, (unsigned long long)t->failed, (unsigned long long)t->crashed,
            (unsigned long long)t->bad);
    bool any_class = false;
    for (int c = 0; c < VC_COUNT; c++) {
        if (t->by_class[c]) {
            fprintf(f, "%s`%s` %llu", any_class ? ", " : "Failing seeds by class: ", vclass_name((vclass)c),
                    (unsigned long long)t->by_class[c]);
            any_class = true;
        }
    }
    if (any_class)
        fprintf(f, ".\n\n");
    if (t->n_failing_seeds) {
        fprintf(f, "Failing seeds%s; each replays exactly:\n\n```sh\n",
                not_passed > SWEEP_FAILING_SHOWN ? ", the first 20" : "");
        for (int i = 0; i < t->n_failing_seeds; i++) {
            char replay[1024];
            sweep_report_replay(replay, sizeof replay, v, t->failing_seeds[i]);
            fprintf(f, "%s\n", replay);
        }
        fprintf(f, "```\n");
    }
}
