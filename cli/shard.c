/*
 * shard: --shard I/N, --shard auto and auto/N, and the order of a grid's runs
 * across shards. See shard.h.
 *
 * Invariant: whatever the engine, the shard handed back satisfies
 * 1 <= index <= count <= SHARD_COUNT_MAX; a value that cannot give that (an
 * index past the count, a Slurm task id outside its array, text that is not
 * a whole number) is an error naming the variable and its value, never a
 * clamped guess, because a wrong guess runs some seeds twice and others never.
 */
#include "cli/shard.h"

#include <string.h>

/* Whole numbers in the variables; larger values are refused rather than wrapped. */
#define SHARD_VALUE_MAX UINT64_C(1000000000)

typedef enum shard_base {
    BASE_ZERO,    /* the index counts from 0 */
    BASE_ONE,     /* from 1 (GitLab) */
    BASE_SLURM,   /* from SLURM_ARRAY_TASK_MIN, in steps of SLURM_ARRAY_TASK_STEP */
} shard_base;

typedef struct shard_engine {
    const char *name;        /* as its users call it */
    const char *index_var;
    const char *count_var;   /* NULL: the count is not in the environment (auto/N gives it) */
    shard_base base;
} shard_engine;

/* In the order an error lists them. Adding an engine is a row. */
static const shard_engine ENGINES[] = {
    { "Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", NULL, BASE_ZERO },
    { "GitLab CI", "CI_NODE_INDEX", "CI_NODE_TOTAL", BASE_ONE },
    { "Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", BASE_ZERO },
    { "Slurm job array", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", BASE_SLURM },
    { "CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", BASE_ZERO },
};
#define N_ENGINES (sizeof ENGINES / sizeof ENGINES[0])

static bool parse_whole(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > max)
            return false;
    }
    *out = v;
    return true;
}

/* A set variable: present and not empty (CI systems export some variables empty). */
static const char *variable(shard_lookup_fn lookup, void *ctx, const char *name)
{
    const char *v = lookup(ctx, name);
    return v && *v ? v : NULL;
}

/* The variable as a whole number; on a mistake, why names it and its value. */
static bool read_number(shard_lookup_fn lookup, void *ctx, const shard_engine *e, const char *name, uint64_t *out,
                        buf *why)
{
    const char *v = variable(lookup, ctx, name);
    if (!v) {
        buf_printf(why, "--shard auto: %s is set (%s) but %s is not", e->index_var, e->name, name);
        return false;
    }
    if (!parse_whole(v, strlen(v), SHARD_VALUE_MAX, out)) {
        buf_printf(why, "--shard auto: %s=%s (%s) is not a whole number", name, v, e->name);
        return false;
    }
    return true;
}

/* Slurm numbers tasks by the ids --array gave: the shard is the id's place among them. */
static bool slurm_position(shard_lookup_fn lookup, void *ctx, const shard_engine *e, uint64_t id, uint64_t count,
                           uint64_t *position, buf *why)
{
    uint64_t min, step = 1, max;
    if (!read_number(lookup, ctx, e, "SLURM_ARRAY_TASK_MIN", &min, why))
        return false;
    if (variable(lookup, ctx, "SLURM_ARRAY_TASK_STEP") &&
        (!read_number(lookup, ctx, e, "SLURM_ARRAY_TASK_STEP", &step, why) || step == 0)) {
        if (!why->len)
            buf_printf(why, "--shard auto: SLURM_ARRAY_TASK_STEP=0 (%s) is not a step", e->name);
        return false;
    }
    /* An array given as a list (--array=1,4,9) is not a range: its ids do not say their place. */
    if (variable(lookup, ctx, "SLURM_ARRAY_TASK_MAX")) {
        if (!read_number(lookup, ctx, e, "SLURM_ARRAY_TASK_MAX", &max, why))
            return false;
        if (max < min || (max - min) % step != 0 || (max - min) / step + 1 != count) {
            buf_printf(why,
                       "--shard auto: the Slurm array's task ids are not the range %llu-%llu:%llu of %llu tasks "
                       "(SLURM_ARRAY_TASK_MIN, _MAX, _STEP, _COUNT); submit it as --array=0-%llu, or pass "
                       "--shard I/N yourself",
                       (unsigned long long)min, (unsigned long long)max, (unsigned long long)step,
                       (unsigned long long)count, (unsigned long long)(count ? count - 1 : 0));
            return false;
        }
    }
    if (id < min || (id - min) % step != 0) {
        buf_printf(why, "--shard auto: SLURM_ARRAY_TASK_ID=%llu is not in its array, which starts at %llu in steps of %llu",
                   (unsigned long long)id, (unsigned long long)min, (unsigned long long)step);
        return false;
    }
    *position = (id - min) / step;
    return true;
}

static bool shard_auto(uint64_t given_count, shard_lookup_fn lookup, void *ctx, int *index, int *count,
                       buf *source, buf *why)
{
    const shard_engine *found = NULL;
    buf set;
    buf_init(&set);
    int n_set = 0;
    for (size_t i = 0; i < N_ENGINES; i++) {
        const char *v = variable(lookup, ctx, ENGINES[i].index_var);
        if (!v)
            continue;
        buf_printf(&set, "%s%s=%s (%s)", n_set ? ", " : "", ENGINES[i].index_var, v, ENGINES[i].name);
        n_set++;
        found = &ENGINES[i];
    }
    bool ok = false;
    if (n_set == 0) {
        buf_puts(why, "--shard auto: no shard in the environment: none of ");
        for (size_t i = 0; i < N_ENGINES; i++)
            buf_printf(why, "%s%s (%s)", i ? ", " : "", ENGINES[i].index_var, ENGINES[i].name);
        buf_puts(why, " is set. On GitHub Actions and elsewhere, pass --shard I/N yourself "
                      "(I from 1 to N; in a GitHub Actions matrix: --shard ${{ matrix.shard }}/${{ strategy.job-total }} "
                      "with shard: [1, 2, ...] in the matrix)");
        goto out;
    }
    if (n_set > 1) {
        buf_printf(why, "--shard auto: the variables of more than one engine are set: %s; pass --shard I/N yourself",
                   set.data);
        goto out;
    }
    const shard_engine *e = found;
    uint64_t raw_index, n;
    if (!read_number(lookup, ctx, e, e->index_var, &raw_index, why))
        goto out;
    if (e->count_var) {
        if (!read_number(lookup, ctx, e, e->count_var, &n, why))
            goto out;
        if (given_count && given_count != n) {
            buf_printf(why, "--shard auto/%llu: %s=%s (%s) says there are %llu shards", (unsigned long long)given_count,
                       e->count_var, variable(lookup, ctx, e->count_var), e->name, (unsigned long long)n);
            goto out;
        }
    } else if (given_count) {
        n = given_count;
    } else {
        buf_printf(why,
                   "--shard auto: %s=%s (%s) gives the index but not the count, which Kubernetes does not put in "
                   "the environment: write --shard auto/N with N the Job's spec.completions",
                   e->index_var, variable(lookup, ctx, e->index_var), e->name);
        goto out;
    }
    if (n < 1 || n > SHARD_COUNT_MAX) {   /* only a variable can be out of range: auto/N was checked */
        buf_printf(why, "--shard auto: %s=%llu (%s) is not a count of shards from 1 to %d", e->count_var,
                   (unsigned long long)n, e->name, SHARD_COUNT_MAX);
        goto out;
    }
    uint64_t position;   /* from 0 */
    switch (e->base) {
    case BASE_ZERO:
        position = raw_index;
        break;
    case BASE_ONE:
        if (raw_index == 0) {
            buf_printf(why, "--shard auto: %s=0 (%s), which counts from 1", e->index_var, e->name);
            goto out;
        }
        position = raw_index - 1;
        break;
    case BASE_SLURM:
        if (!slurm_position(lookup, ctx, e, raw_index, n, &position, why))
            goto out;
        break;
    default:
        goto out;
    }
    if (position >= n) {
        buf_printf(why, "--shard auto: %s=%llu (%s) is past the last of %llu shards", e->index_var,
                   (unsigned long long)raw_index, e->name, (unsigned long long)n);
        goto out;
    }
    *index = (int)position + 1;
    *count = (int)n;
    buf_printf(source, "%s: %s=%llu, ", e->name, e->index_var, (unsigned long long)raw_index);
    if (e->count_var)
        buf_printf(source, "%s=%llu", e->count_var, (unsigned long long)n);
    else
        buf_printf(source, "count %llu from --shard auto/%llu", (unsigned long long)n, (unsigned long long)n);
    ok = true;
out:
    buf_free(&set);
    return ok;
}

bool shard_parse(const char *text, shard_lookup_fn lookup, void *ctx, int *index, int *count, buf *source,
                 buf *why)
{
    uint64_t i, n;
    if (strncmp(text, "auto", 4) == 0 && (text[4] == '\0' || text[4] == '/')) {
        n = 0;
        if (text[4] == '/' && (!parse_whole(text + 5, strlen(text + 5), SHARD_COUNT_MAX, &n) || n < 1)) {
            buf_printf(why, "--shard auto/N needs N from 1 to %d, not '%s'", SHARD_COUNT_MAX, text + 5);
            return false;
        }
        return shard_auto(n, lookup, ctx, index, count, source, why);
    }
    const char *slash = strchr(text, '/');
    if (!slash || !parse_whole(text, (size_t)(slash - text), SHARD_COUNT_MAX, &i) ||
        !parse_whole(slash + 1, strlen(slash + 1), SHARD_COUNT_MAX, &n) || i < 1 || i > n) {
        buf_printf(why, "--shard needs I/N with 1 <= I <= N <= %d, or auto (see --help), not '%s'", SHARD_COUNT_MAX,
                   text);
        return false;
    }
    *index = (int)i;
    *count = (int)n;
    return true;
}

uint64_t shard_grid_position(uint64_t seed_index, uint64_t cell, uint64_t n_cells)
{
    /* (cell + seed_index) mod n_cells is a permutation of one seed's cells: the positions stay a bijection. */
    return seed_index * n_cells + (cell + seed_index % n_cells) % n_cells;
}
