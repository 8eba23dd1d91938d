/*
 * test-shard: --shard I/N and --shard auto against each engine's variables
 * (cli/shard.h), from a table instead of the process's environment; and the
 * grid positions that give every shard an equal share of the runs.
 */
#include "cli/shard.h"
#include "tests/testlib.h"

#include <stdlib.h>

/* A NULL-terminated list of NAME=VALUE, as an environment. */
typedef struct table {
    const char *const *vars;
} table;

static const char *table_lookup(void *ctx, const char *name)
{
    const table *t = ctx;
    size_t len = strlen(name);
    for (const char *const *v = t->vars; *v; v++)
        if (strncmp(*v, name, len) == 0 && (*v)[len] == '=')
            return *v + len + 1;
    return NULL;
}

typedef struct outcome {
    bool ok;
    int index, count;
    buf source, why;
} outcome;

static outcome parse(const char *text, const char *const *env)
{
    outcome o = { .index = -1, .count = -1 };
    buf_init(&o.source);
    buf_init(&o.why);
    table t = { env };
    o.ok = shard_parse(text, table_lookup, &t, &o.index, &o.count, &o.source, &o.why);
    return o;
}

static void outcome_free(outcome *o)
{
    buf_free(&o->source);
    buf_free(&o->why);
}

static void expect_shard(int line, const char *text, const char *const *env, int index, int count, const char *source)
{
    outcome o = parse(text, env);
    if (!o.ok || o.index != index || o.count != count) {
        fprintf(stderr, "%s:%d: --shard %s gave %s %d/%d (%s), expected %d/%d\n", __FILE__, line, text,
                o.ok ? "shard" : "an error,", o.index, o.count, o.ok ? o.source.data : o.why.data, index, count);
        test_failures++;
    } else if (source) {
        EXPECT_CONTAINS(o.source.data, source);
    }
    outcome_free(&o);
}

static void expect_error(int line, const char *text, const char *const *env, const char *says)
{
    outcome o = parse(text, env);
    if (o.ok) {
        fprintf(stderr, "%s:%d: --shard %s gave %d/%d, expected an error saying \"%s\"\n", __FILE__, line, text,
                o.index, o.count, says);
        test_failures++;
    } else if (!strstr(o.why.data, says)) {
        fprintf(stderr, "%s:%d: --shard %s: \"%s\" does not say \"%s\"\n", __FILE__, line, text, o.why.data, says);
        test_failures++;
    }
    outcome_free(&o);
}

#define SHARD(text, index, count, source, ...) \
    expect_shard(__LINE__, text, (const char *const[]){ __VA_ARGS__, NULL }, index, count, source)
#define REFUSED(text, says, ...) expect_error(__LINE__, text, (const char *const[]){ __VA_ARGS__, NULL }, says)

static void explicit_shards(void)
{
    SHARD("2/3", 2, 3, NULL, "CI_NODE_INDEX=1", "CI_NODE_TOTAL=9");   /* I/N ignores the environment */
    SHARD("1/1", 1, 1, NULL, "X=1");
    SHARD("100000/100000", 100000, 100000, NULL, "X=1");
    REFUSED("0/3", "--shard needs I/N with 1 <= I <= N", "X=1");
    REFUSED("4/3", "not '4/3'", "X=1");
    REFUSED("1/100001", "N <= 100000", "X=1");
    REFUSED("2", "--shard needs I/N", "X=1");
    REFUSED("autox", "--shard needs I/N", "X=1");
    REFUSED("auto/0", "--shard auto/N needs N from 1", "X=1");
}

static void engines(void)
{
    /* Kubernetes counts from 0 and gives no count: auto/N does. */
    SHARD("auto/4", 1, 4, "Kubernetes Indexed Job: JOB_COMPLETION_INDEX=0, count 4", "JOB_COMPLETION_INDEX=0");
    SHARD("auto/4", 4, 4, NULL, "JOB_COMPLETION_INDEX=3");
    REFUSED("auto", "write --shard auto/N with N the Job's spec.completions", "JOB_COMPLETION_INDEX=0");
    REFUSED("auto/4", "JOB_COMPLETION_INDEX=4 (Kubernetes Indexed Job) is past the last of 4 shards",
            "JOB_COMPLETION_INDEX=4");

    /* GitLab counts from 1. */
    SHARD("auto", 1, 3, "GitLab CI: CI_NODE_INDEX=1, CI_NODE_TOTAL=3", "CI_NODE_INDEX=1", "CI_NODE_TOTAL=3");
    SHARD("auto", 3, 3, NULL, "CI_NODE_INDEX=3", "CI_NODE_TOTAL=3");
    SHARD("auto/3", 2, 3, NULL, "CI_NODE_INDEX=2", "CI_NODE_TOTAL=3");   /* a count given must agree */
    REFUSED("auto/4", "CI_NODE_TOTAL=3 (GitLab CI) says there are 3 shards", "CI_NODE_INDEX=2", "CI_NODE_TOTAL=3");
    REFUSED("auto", "CI_NODE_INDEX=0 (GitLab CI), which counts from 1", "CI_NODE_INDEX=0", "CI_NODE_TOTAL=3");
    REFUSED("auto", "past the last of 3 shards", "CI_NODE_INDEX=4", "CI_NODE_TOTAL=3");
    REFUSED("auto", "CI_NODE_INDEX is set (GitLab CI) but CI_NODE_TOTAL is not", "CI_NODE_INDEX=1");

    /* Buildkite and CircleCI count from 0. */
    SHARD("auto", 1, 2, "Buildkite", "BUILDKITE_PARALLEL_JOB=0", "BUILDKITE_PARALLEL_JOB_COUNT=2");
    SHARD("auto", 2, 2, NULL, "BUILDKITE_PARALLEL_JOB=1", "BUILDKITE_PARALLEL_JOB_COUNT=2");
    REFUSED("auto", "past the last of 2 shards", "BUILDKITE_PARALLEL_JOB=2", "BUILDKITE_PARALLEL_JOB_COUNT=2");
    SHARD("auto", 1, 5, "CircleCI", "CIRCLE_NODE_INDEX=0", "CIRCLE_NODE_TOTAL=5");
    SHARD("auto", 5, 5, NULL, "CIRCLE_NODE_INDEX=4", "CIRCLE_NODE_TOTAL=5");
    REFUSED("auto", "CIRCLE_NODE_TOTAL=0 (CircleCI) is not a count of shards", "CIRCLE_NODE_INDEX=0",
            "CIRCLE_NODE_TOTAL=0");

    /* Slurm arrays number tasks by --array's ids: 0-3, 1-10, 10-40:10. */
    SHARD("auto", 1, 4, "Slurm job array: SLURM_ARRAY_TASK_ID=0, SLURM_ARRAY_TASK_COUNT=4", "SLURM_ARRAY_TASK_ID=0",
          "SLURM_ARRAY_TASK_COUNT=4", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=3");
    SHARD("auto", 1, 10, NULL, "SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT=10", "SLURM_ARRAY_TASK_MIN=1",
          "SLURM_ARRAY_TASK_MAX=10");
    SHARD("auto", 10, 10, NULL, "SLURM_ARRAY_TASK_ID=10", "SLURM_ARRAY_TASK_COUNT=10", "SLURM_ARRAY_TASK_MIN=1",
          "SLURM_ARRAY_TASK_MAX=10");
    SHARD("auto", 3, 4, NULL, "SLURM_ARRAY_TASK_ID=30", "SLURM_ARRAY_TASK_COUNT=4", "SLURM_ARRAY_TASK_MIN=10",
          "SLURM_ARRAY_TASK_MAX=40", "SLURM_ARRAY_TASK_STEP=10");
    REFUSED("auto", "SLURM_ARRAY_TASK_MIN is not", "SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT=10");
    REFUSED("auto", "not the range 1-9:1 of 3 tasks", "SLURM_ARRAY_TASK_ID=4", "SLURM_ARRAY_TASK_COUNT=3",
            "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=9");   /* --array=1,4,9 */
    REFUSED("auto", "SLURM_ARRAY_TASK_ID=25 is not in its array", "SLURM_ARRAY_TASK_ID=25",
            "SLURM_ARRAY_TASK_COUNT=4", "SLURM_ARRAY_TASK_MIN=10", "SLURM_ARRAY_TASK_STEP=10");
    REFUSED("auto", "SLURM_ARRAY_TASK_STEP=0", "SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_COUNT=4",
            "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_STEP=0");

    /* None, two, or values that are not numbers. */
    REFUSED("auto", "no shard in the environment: none of JOB_COMPLETION_INDEX", "PATH=/bin");
    REFUSED("auto", "no shard in the environment", "CI_NODE_INDEX=", "CI_NODE_TOTAL=");   /* exported empty */
    REFUSED("auto", "more than one engine are set: CI_NODE_INDEX=1 (GitLab CI), CIRCLE_NODE_INDEX=0 (CircleCI)",
            "CI_NODE_INDEX=1", "CI_NODE_TOTAL=2", "CIRCLE_NODE_INDEX=0", "CIRCLE_NODE_TOTAL=2");
    REFUSED("auto", "CI_NODE_INDEX=two (GitLab CI) is not a whole number", "CI_NODE_INDEX=two", "CI_NODE_TOTAL=3");
    REFUSED("auto", "CI_NODE_TOTAL=-3 (GitLab CI) is not a whole number", "CI_NODE_INDEX=1", "CI_NODE_TOTAL=-3");
    REFUSED("auto", "is not a whole number", "CIRCLE_NODE_INDEX=99999999999999999999", "CIRCLE_NODE_TOTAL=2");
}

/* Shards 1..N of a grid with n_cells cells and n_seeds seeds: each run exactly once, shares within one. */
static void grid_shares(uint64_t n_cells, uint64_t n_seeds, uint64_t n_shards)
{
    uint64_t *share = calloc(n_shards, sizeof *share);
    unsigned char *seen = calloc(n_cells * n_seeds, 1);
    for (uint64_t s = 0; s < n_seeds; s++) {
        for (uint64_t c = 0; c < n_cells; c++) {
            uint64_t p = shard_grid_position(s, c, n_cells);
            EXPECT(p < n_cells * n_seeds);
            if (p < n_cells * n_seeds) {
                EXPECT(!seen[p]);
                seen[p] = 1;
            }
            share[p % n_shards]++;
        }
    }
    uint64_t least = UINT64_MAX, most = 0;
    for (uint64_t k = 0; k < n_shards; k++) {
        least = share[k] < least ? share[k] : least;
        most = share[k] > most ? share[k] : most;
    }
    if (most - least > 1) {
        fprintf(stderr, "%s:%d: %llu cells x %llu seeds over %llu shards: shares from %llu to %llu runs\n", __FILE__,
                __LINE__, (unsigned long long)n_cells, (unsigned long long)n_seeds, (unsigned long long)n_shards,
                (unsigned long long)least, (unsigned long long)most);
        test_failures++;
    }
    free(share);
    free(seen);
}

static void grid_positions(void)
{
    /* More shards than cells: 2 cells x 3 seeds over 5 shards; every shard gets one or two runs. */
    grid_shares(2, 3, 5);
    grid_shares(3, 2, 6);
    grid_shares(1, 10, 4);
    grid_shares(54, 30, 7);
    grid_shares(4, 4, 2);
    /* Fewer shards than cells: a shard's cells move with the seed (4 cells, 2 shards: cells 0 and 2 for
     * the first seed, 1 and 3 for the second), so an interrupted shard has touched every cell. */
    EXPECT_U64(shard_grid_position(0, 0, 4) % 2, 0);
    EXPECT_U64(shard_grid_position(0, 2, 4) % 2, 0);
    EXPECT_U64(shard_grid_position(1, 1, 4) % 2, 0);
    EXPECT_U64(shard_grid_position(1, 3, 4) % 2, 0);
}

int main(void)
{
    explicit_shards();
    engines();
    grid_positions();
    return test_exit("test-shard");
}
