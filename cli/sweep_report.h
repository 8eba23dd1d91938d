/*
 * sweep_report: what a sweep says about its rows -- the totals, the failing
 * classes, the failing seeds as replay commands -- as text, JUnit XML, JSON
 * and Markdown. `syncsim sweep` says it about the seeds it just ran (its
 * shard); `syncsim summary` says it again about any results database,
 * merged shards included. Both read the rows from the database, never from
 * memory, so what they say is what the file holds.
 */
#ifndef CLI_SWEEP_REPORT_H
#define CLI_SWEEP_REPORT_H

#include "cli/results.h"
#include "sim/classes.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Failing seeds listed by name in every report; the rest are counted. */
#define SWEEP_FAILING_SHOWN 20

/* The rows of one sweep, and how to name them. Strings are borrowed. */
typedef struct sweep_view {
    results *db;
    const char *key;              /* runs.scenario: name@hash */
    const char *params;           /* runs.params: "{}" for a sweep */
    bool strict;                  /* runs.strict */
    const char *file;             /* the scenario file, as replay commands name it */
    const char *name;             /* the scenario's name */
    const char *profile;          /* the profile's name */
    const char *replay_options;   /* appended to each replay command (" --profile x"), or "" */
    uint64_t lo, hi;              /* the seeds, inclusive */
    int shard_index, shard_count; /* only the rows of this shard of lo..hi; 1/1 for all */
    const char *shard_text;       /* "2/3"; for summary, the shards the rows came from */
} sweep_view;

/* The seeds that drew one value of one varied profile key (the workload's vary:), and how they did. */
typedef struct sweep_design_value {
    char label[96];               /* "sync.round: pull-push" */
    int key_order;                /* the key's place in the scenario's vary: */
    uint64_t seeds, failing;      /* failing: did not pass */
    uint64_t by_class[VC_COUNT];
} sweep_design_value;

#define SWEEP_DESIGN_VALUES_MAX 128

typedef struct sweep_tally {
    uint64_t total, passed, failed, crashed, bad;
    uint64_t by_class[VC_COUNT];  /* failing seeds per class (a seed counts once for each of its classes) */
    uint64_t failing_seeds[SWEEP_FAILING_SHOWN];   /* the first ones, by seed */
    int n_failing_seeds;
    double wall_ms;               /* summed over the rows */
    /* By drawn value, when the scenario varies profile keys: sorted by key, then value (after the tally). */
    int n_design_values;
    sweep_design_value design_values[SWEEP_DESIGN_VALUES_MAX];
} sweep_tally;

/* Add up the view's rows. Prints the database's error on stderr and returns false when it cannot. */
bool sweep_report_tally(const sweep_view *v, sweep_tally *t);
/* "syncsim run FILE --seed N[ --strict][ options]" */
void sweep_report_replay(char *out, size_t cap, const sweep_view *v, uint64_t seed);
/* The lines from "result ..." on: totals, failing classes, each drawn value's seeds and classes (when the
 * scenario varies profile keys), the failing seeds' replay commands. */
void sweep_report_text(FILE *out, const sweep_view *v, const sweep_tally *t);
/* One <testsuite> of test cases, one per seed; the caller writes <testsuites> around it. */
bool sweep_report_junit(FILE *f, const sweep_view *v, const sweep_tally *t);
/* The totals, failing classes and one entry per row, as sweep --json writes them (caller frees);
 * NULL, with the database's error on stderr, when the rows cannot be read. */
cJSON *sweep_report_json(const sweep_view *v, const sweep_tally *t);
/* A Markdown section for a CI job's page; counts is the "shard 1/1: 10 recorded (...)" clause. */
void sweep_report_markdown(FILE *f, const sweep_view *v, const sweep_tally *t, const char *counts);

#endif
