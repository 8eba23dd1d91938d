/*
 * grid: loading a grid file and making each cell's scenario. See grid.h.
 *
 * Every loader function either fills its output or records exactly one
 * error in the diag and returns false; the first error stops loading. Values
 * are checked against the base scenario while loading (an axis its workload
 * cannot take, a device count over the bound), so that making a cell's
 * scenario afterwards cannot fail. Nothing here reads the clock or draws a
 * random number: a grid is data.
 */
#include "sim/grid.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "sim/profile_load.h"
#include "sim/vary.h"
#include "sim/yaml.h"

#include <assert.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Indexed by grid_axis_id. Params keys carry units; the file's keys are what a person writes. */
static const char *const AXIS_NAMES[GRID_AXIS_COUNT] = {
    [GRID_AXIS_DEVICES_PER_USER] = "devices_per_user",
    [GRID_AXIS_OFFLINE_MEAN] = "offline_mean",
    [GRID_AXIS_SKEW_MAX] = "skew_max",
    [GRID_AXIS_WRITES_PER_HOUR] = "writes_per_hour",
    [GRID_AXIS_ZIPF_S] = "zipf_s",
};
static const char *const AXIS_PARAMS[GRID_AXIS_COUNT] = {
    [GRID_AXIS_DEVICES_PER_USER] = "devices_per_user",
    [GRID_AXIS_OFFLINE_MEAN] = "offline_mean_us",
    [GRID_AXIS_SKEW_MAX] = "skew_max_us",
    [GRID_AXIS_WRITES_PER_HOUR] = "writes_per_hour",
    [GRID_AXIS_ZIPF_S] = "zipf_s",
};

const char *grid_axis_name(grid_axis_id id)
{
    assert(id >= 0 && id < GRID_AXIS_COUNT);
    return AXIS_NAMES[id];
}

const char *grid_axis_param(grid_axis_id id)
{
    assert(id >= 0 && id < GRID_AXIS_COUNT);
    return AXIS_PARAMS[id];
}

typedef struct loader {
    yaml_doc doc;
    grid *g;
    diag *d;
} loader;

static src_pos pos_of(loader *L, struct fy_node *n)
{
    return yaml_pos(&L->doc, n);
}

static int64_t largest_cell(const grid *g, double *steps);

/* --- files and directories ------------------------------------------------------ */

/* --- seeds ------------------------------------------------------------------------ */

static bool digits_u64(const char *s, size_t len, uint64_t *out)
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

/* "20" means seeds 1..20; "A..B" is inclusive. */
static bool load_seeds(loader *L, struct fy_node *n)
{
    grid *g = L->g;
    const char *text;
    if (!yaml_text(&L->doc, n, &text, L->d, "seeds per cell (a count such as 20, or a range such as 5..24)"))
        return false;
    const char *dots = strstr(text, "..");
    uint64_t lo, hi;
    if (!dots) {
        if (!digits_u64(text, strlen(text), &hi) || hi < 1 || hi > GRID_SEEDS_MAX) {
            diag_error(L->d, pos_of(L, n), "seeds must be a count from 1 to %d or a range A..B, found '%s'",
                       GRID_SEEDS_MAX, text);
            return false;
        }
        lo = 1;
    } else if (!digits_u64(text, (size_t)(dots - text), &lo) || !digits_u64(dots + 2, strlen(dots + 2), &hi) ||
               lo > hi || hi >= (UINT64_C(1) << 63)) {
        diag_error(L->d, pos_of(L, n), "seeds must be a range A..B with A <= B < 2^63, found '%s'", text);
        return false;
    } else if (hi - lo >= GRID_SEEDS_MAX) {
        diag_error(L->d, pos_of(L, n), "seeds %s is %llu seeds per cell; at most %d", text,
                   (unsigned long long)(hi - lo + 1), GRID_SEEDS_MAX);
        return false;
    }
    g->seeds_lo = lo;
    g->seeds_hi = hi;
    return true;
}

/* --- profiles ------------------------------------------------------------------- */

/*
 * A profile named in the grid: profiles/<name>.yaml beside the grid file or
 * above it, then beside the base scenario's own profile file.
 */
static bool load_profile_by_name(loader *L, struct fy_node *item, const char *name, scenario_profile *out)
{
    grid *g = L->g;
    const scenario_profile *own = &g->base->profile;
    const char *also = NULL;
    if (own->path && strcmp(own->path, g->base->path) != 0)
        also = path_dir(&g->arena, own->path);
    return profile_load_named(name, g->path, also, pos_of(L, item), &g->arena, out, L->d);
}

static bool load_profiles(loader *L, struct fy_node *n)
{
    grid *g = L->g;
    if (!yaml_want_sequence(&L->doc, n, L->d, "a list of profiles (names such as reference, paths or mappings)"))
        return false;
    int count = fy_node_sequence_item_count(n);
    if (count < 1 || count > GRID_PROFILES_MAX) {
        diag_error(L->d, pos_of(L, n), "a grid compares 1 to %d profiles, found %d", GRID_PROFILES_MAX, count);
        return false;
    }
    g->profiles = arena_alloc(&g->arena, (size_t)count * sizeof *g->profiles);
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(n, &it))) {
        scenario_profile *p = &g->profiles[g->n_profiles];
        const char *text = NULL;
        bool ok;
        if (yaml_is_scalar(item) && !yaml_text(&L->doc, item, &text, L->d, "a profile"))
            return false;
        if (text && profile_is_name(text))
            ok = load_profile_by_name(L, item, text, p);
        else
            ok = profile_load_reference(&L->doc, item, g->path, &g->arena, p, L->d);   /* a path or a mapping */
        if (!ok)
            return false;
        /* The base scenario's vary: draws keys of each profile the grid runs it with. */
        if (g->base->has_workload && !vary_check(&g->base->workload.vary, &p->engine, p->name, L->d))
            return false;
        for (int i = 0; i < g->n_profiles; i++) {
            if (strcmp(g->profiles[i].name, p->name) == 0) {
                diag_error(L->d, pos_of(L, item),
                           "profile '%s' is listed twice; a grid compares each profile once (cells are keyed by "
                           "profile name)",
                           p->name);
                return false;
            }
        }
        g->n_profiles++;
    }
    return true;
}

/* --- axes ------------------------------------------------------------------------ */

/* Can the base scenario's workload take this axis? The error points at the axis's key. */
static bool axis_fits_base(loader *L, grid_axis_id id, struct fy_node *key)
{
    const scenario *base = L->g->base;
    const workload_config *w = &base->workload;
    const char *name = AXIS_NAMES[id];
    if (!base->has_workload) {
        diag_error(L->d, pos_of(L, key),
                   "axis '%s' varies the base scenario's workload, but %s has no workload: section", name, base->path);
        return false;
    }
    switch (id) {
    case GRID_AXIS_DEVICES_PER_USER:
        if (w->users == 0) {
            diag_error(L->d, pos_of(L, key),
                       "axis 'devices_per_user' needs a workload that generates its devices (users: and "
                       "devices_per_user:), but %s lists its devices itself",
                       base->path);
            return false;
        }
        break;
    case GRID_AXIS_OFFLINE_MEAN:
        if (!w->offline) {
            diag_error(L->d, pos_of(L, key),
                       "axis 'offline_mean' needs an offline: section in the workload of %s (it says how long "
                       "devices stay online between offline spans)",
                       base->path);
            return false;
        }
        break;
    case GRID_AXIS_SKEW_MAX:
        if (w->clocks && w->offset_dist != SKEW_UNIFORM) {
            diag_error(L->d, pos_of(L, key),
                       "axis 'skew_max' sets the max of a uniform clock offset, but the workload of %s draws "
                       "offsets from a normal distribution",
                       base->path);
            return false;
        }
        break;
    case GRID_AXIS_WRITES_PER_HOUR:
    case GRID_AXIS_ZIPF_S:
    case GRID_AXIS_COUNT:
        break;
    }
    return true;
}

static bool load_value(loader *L, grid_axis_id id, struct fy_node *item, grid_value *v)
{
    grid *g = L->g;
    const char *text;
    if (!yaml_text(&L->doc, item, &text, L->d, "an axis value"))
        return false;
    v->label = arena_strdup(&g->arena, text);
    v->pos = pos_of(L, item);
    switch (id) {
    case GRID_AXIS_DEVICES_PER_USER: {
        if (!yaml_int(&L->doc, item, 1, SCENARIO_DEVICES_MAX, &v->integer, L->d, "devices_per_user"))
            return false;
        int64_t total = (int64_t)g->base->workload.users * v->integer;
        if (total > SCENARIO_DEVICES_MAX) {
            diag_error(L->d, v->pos, "%d users with %lld devices each is %lld devices; at most %d",
                       g->base->workload.users, (long long)v->integer, (long long)total, SCENARIO_DEVICES_MAX);
            return false;
        }
        return true;
    }
    case GRID_AXIS_OFFLINE_MEAN:
        return yaml_duration(&L->doc, item, false, &v->integer, L->d, "offline_mean");
    case GRID_AXIS_SKEW_MAX:
        return yaml_duration(&L->doc, item, false, &v->integer, L->d, "skew_max");
    case GRID_AXIS_WRITES_PER_HOUR:
        if (!yaml_number(&L->doc, item, 0.0, 100000.0, &v->number, L->d, "writes_per_hour"))
            return false;
        if (v->number <= 0.0) {
            diag_error(L->d, v->pos, "writes_per_hour must be above 0 (a cell without writes has no rates)");
            return false;
        }
        return true;
    case GRID_AXIS_ZIPF_S:
        if (strcmp(text, "uniform") == 0) {
            v->number = 0.0;
            return true;
        }
        return yaml_number(&L->doc, item, 0.0, 10.0, &v->number, L->d, "zipf_s (or uniform)");
    case GRID_AXIS_COUNT:
        break;
    }
    assert(0 && "unknown axis");
    return false;
}

static bool same_value(grid_axis_id id, const grid_value *a, const grid_value *b)
{
    if (id == GRID_AXIS_WRITES_PER_HOUR || id == GRID_AXIS_ZIPF_S)
        return a->number == b->number;
    return a->integer == b->integer;
}

static bool load_axes(loader *L, struct fy_node *n)
{
    grid *g = L->g;
    if (!yaml_want_mapping(&L->doc, n, L->d, "grid axes (a mapping such as { offline_mean: [5m, 30m] })"))
        return false;
    if (!yaml_check_keys(&L->doc, n, AXIS_NAMES, GRID_AXIS_COUNT, L->d, "grid axes"))
        return false;
    g->axes = arena_alloc(&g->arena, GRID_AXIS_COUNT * sizeof *g->axes);
    yaml_iter it = { 0 };
    struct fy_node *k, *v;
    while (yaml_next_pair(n, &it, &k, &v)) {
        const char *key = fy_node_get_scalar0(k);
        grid_axis_id id = GRID_AXIS_COUNT;
        for (int i = 0; i < GRID_AXIS_COUNT; i++)
            if (strcmp(key, AXIS_NAMES[i]) == 0)
                id = (grid_axis_id)i;
        assert(id != GRID_AXIS_COUNT);   /* yaml_check_keys let only these through */
        if (!axis_fits_base(L, id, k))
            return false;
        char what[96];
        snprintf(what, sizeof what, "the values of axis '%s' (a list such as [1, 2])", key);
        if (!yaml_want_sequence(&L->doc, v, L->d, what))
            return false;
        int count = fy_node_sequence_item_count(v);
        if (count < 1 || count > GRID_VALUES_MAX) {
            diag_error(L->d, pos_of(L, v), "axis '%s' needs 1 to %d values, found %d", key, GRID_VALUES_MAX, count);
            return false;
        }
        grid_axis *axis = &g->axes[g->n_axes];
        axis->id = id;
        axis->pos = pos_of(L, k);
        axis->values = arena_alloc(&g->arena, (size_t)count * sizeof *axis->values);
        void *item_it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(v, &item_it))) {
            grid_value *value = &axis->values[axis->n_values];
            if (!load_value(L, id, item, value))
                return false;
            for (int i = 0; i < axis->n_values; i++) {
                if (same_value(id, &axis->values[i], value)) {
                    diag_error(L->d, value->pos, "axis '%s' lists this value twice (first as '%s' at line %d)", key,
                               axis->values[i].label, axis->values[i].pos.line);
                    return false;
                }
            }
            axis->n_values++;
        }
        g->n_axes++;
    }
    return true;
}

/* --- targets ----------------------------------------------------------------------- */

/* "5%" or "0.5%": a rate per write, as a percentage above 0 and at most 100. */
static bool load_rate(loader *L, struct fy_node *n, const char *key, double *out)
{
    const char *text;
    if (!yaml_text(&L->doc, n, &text, L->d, "a rate per write, as a percentage such as 5%"))
        return false;
    size_t len = strlen(text);
    char *end = NULL;
    double percent = len > 1 && text[len - 1] == '%' ? strtod(text, &end) : 0.0;
    if (!end || end != text + len - 1 || !(percent > 0.0) || percent > 100.0) {
        diag_error(L->d, pos_of(L, n), "targets: %s needs a rate per write as a percentage above 0%% and at most "
                                       "100%%, such as 5%%; found '%s'", key, text);
        return false;
    }
    *out = percent / 100.0;
    return true;
}

static bool load_targets(loader *L, struct fy_node *n)
{
    grid *g = L->g;
    if (!yaml_want_mapping(&L->doc, n, L->d, "targets (conflicts:, lost:, source:)"))
        return false;
    static const char *const KEYS[] = { "conflicts", "lost", "source" };
    if (!yaml_check_keys(&L->doc, n, KEYS, N(KEYS), L->d, "targets"))
        return false;
    struct fy_node *v;
    if ((v = yaml_get(n, "conflicts")) && !load_rate(L, v, "conflicts", &g->targets.conflicts_per_write))
        return false;
    if ((v = yaml_get(n, "lost")) && !load_rate(L, v, "lost", &g->targets.lost_per_write))
        return false;
    if ((v = yaml_get(n, "source")) && !yaml_string(&L->doc, v, &g->arena, &g->targets.source, L->d,
                                                     "where the targets come from"))
        return false;
    if (g->targets.conflicts_per_write < 0 && g->targets.lost_per_write < 0) {
        diag_error(L->d, pos_of(L, n), "targets needs conflicts: or lost: (a rate per write such as 5%%)");
        return false;
    }
    return true;
}

/* --- the whole file ---------------------------------------------------------------- */

static bool load_base(loader *L, struct fy_node *n)
{
    grid *g = L->g;
    const char *text;
    if (!yaml_text(&L->doc, n, &text, L->d, "the base scenario (a path relative to the grid file)"))
        return false;
    char *path = text[0] == '/' ? arena_strdup(&g->arena, text)
                                : arena_printf(&g->arena, "%s/%s", path_dir(&g->arena, g->path), text);
    if (!path_is_file(path)) {
        diag_error(L->d, pos_of(L, n), "scenario file '%s' not found (looked for %s)", text, path);
        return false;
    }
    g->scenario_path = path;
    g->base = scenario_load(path, L->d);
    return g->base != NULL;
}

static bool load_root(loader *L, struct fy_node *root)
{
    grid *g = L->g;
    if (!yaml_want_mapping(&L->doc, root, L->d, "a grid"))
        return false;
    static const char *const KEYS[] = { "name", "description", "scenario", "seeds", "profiles", "axes", "targets" };
    if (!yaml_check_keys(&L->doc, root, KEYS, N(KEYS), L->d, "a grid"))
        return false;
    struct fy_node *v;
    if ((v = yaml_get(root, "name"))) {
        if (!yaml_string(&L->doc, v, &g->arena, &g->name, L->d, "the grid name"))
            return false;
    } else {
        const char *base = strrchr(g->path, '/');
        base = base ? base + 1 : g->path;
        const char *dot = strrchr(base, '.');
        g->name = arena_strndup(&g->arena, base, dot ? (size_t)(dot - base) : strlen(base));
    }
    if ((v = yaml_get(root, "description")) &&
        !yaml_string(&L->doc, v, &g->arena, &g->description, L->d, "the description"))
        return false;
    if (!(v = yaml_get(root, "scenario"))) {
        diag_error(L->d, pos_of(L, root), "a grid needs 'scenario' (the base scenario, e.g. ../random/base.yaml)");
        return false;
    }
    if (!load_base(L, v))
        return false;
    if (!(v = yaml_get(root, "seeds"))) {
        diag_error(L->d, pos_of(L, root), "a grid needs 'seeds' (per cell: a count such as 20, or a range 5..24)");
        return false;
    }
    if (!load_seeds(L, v))
        return false;
    if ((v = yaml_get(root, "profiles"))) {
        if (!load_profiles(L, v))
            return false;
    } else {
        g->n_profiles = 1;
        g->profiles = arena_alloc(&g->arena, sizeof *g->profiles);
        g->profiles[0] = g->base->profile;
    }
    if ((v = yaml_get(root, "axes")) && !load_axes(L, v))
        return false;
    if ((v = yaml_get(root, "targets")) && !load_targets(L, v))
        return false;
    /* Bounds on the product, checked as it grows so it cannot overflow. */
    int64_t cells = g->n_profiles;
    for (int i = 0; i < g->n_axes; i++) {
        cells *= g->axes[i].n_values;
        if (cells > GRID_CELLS_MAX) {
            diag_error(L->d, g->axes[i].pos, "the grid has more than %d cells (a bound); use fewer values",
                       GRID_CELLS_MAX);
            return false;
        }
    }
    g->n_cells = cells;
    double steps;
    int64_t largest = largest_cell(g, &steps);
    if (steps > SCENARIO_STEPS_MAX) {
        char *params = grid_cell_params(g, largest);
        diag_error(L->d, pos_of(L, yaml_key_node(root, yaml_get(root, "axes") ? "axes" : "scenario")),
                   "cell %lld (%s) would make about %.0f steps per seed, more than %d (SCENARIO_STEPS_MAX, a bound)",
                   (long long)largest, params, steps, SCENARIO_STEPS_MAX);
        xfree(params);
        return false;
    }
    uint64_t runs = (uint64_t)cells * (g->seeds_hi - g->seeds_lo + 1);
    if (runs > GRID_RUNS_MAX) {
        diag_error(L->d, pos_of(L, yaml_get(root, "seeds")),
                   "%lld cells x %llu seeds is %llu runs; at most %llu (a bound)", (long long)cells,
                   (unsigned long long)(g->seeds_hi - g->seeds_lo + 1), (unsigned long long)runs,
                   (unsigned long long)GRID_RUNS_MAX);
        return false;
    }
    return true;
}

grid *grid_load(const char *path, diag *d)
{
    grid *g = xcalloc(1, sizeof *g);
    arena_init(&g->arena, 16 * 1024);
    g->path = arena_strdup(&g->arena, path);
    g->targets = (grid_targets){ .conflicts_per_write = -1.0, .lost_per_write = -1.0 };
    loader L = { .g = g, .d = d };
    bool ok = yaml_open(&L.doc, g->path, d);
    if (ok) {
        ok = load_root(&L, yaml_root(&L.doc));
        yaml_close(&L.doc);
    }
    if (!ok) {
        grid_free(g);
        return NULL;
    }
    return g;
}

void grid_free(grid *g)
{
    if (!g)
        return;
    scenario_free(g->base);
    arena_release(&g->arena);
    xfree(g);
}

/* --- cells ------------------------------------------------------------------------ */

void grid_cell_coords(const grid *g, int64_t cell, int *profile, int *value_index)
{
    assert(cell >= 0 && cell < g->n_cells);
    /* Mixed radix: the last axis is the fastest digit, the profile the slowest. */
    for (int i = g->n_axes - 1; i >= 0; i--) {
        value_index[i] = (int)(cell % g->axes[i].n_values);
        cell /= g->axes[i].n_values;
    }
    assert(cell < g->n_profiles);
    *profile = (int)cell;
}

/* The cell's values written into w (a copy of the base's workload). */
static void cell_workload(const grid *g, const int *index, workload_config *w)
{
    for (int i = 0; i < g->n_axes; i++) {
        const grid_value *v = &g->axes[i].values[index[i]];
        switch (g->axes[i].id) {
        case GRID_AXIS_DEVICES_PER_USER:
            w->devices_per_user = (int)v->integer;
            break;
        case GRID_AXIS_OFFLINE_MEAN:
            /* A mean offline span of 0s is a device that never goes offline. */
            w->offline = v->integer > 0;
            w->offline_mean_us = v->integer;
            break;
        case GRID_AXIS_SKEW_MAX:
            /* A workload without clocks: gets uniform offsets only (no drift, no steps). */
            w->clocks = true;
            w->offset_dist = SKEW_UNIFORM;
            w->offset_max_us = v->integer;
            break;
        case GRID_AXIS_WRITES_PER_HOUR:
            w->writes_per_hour = v->number;
            break;
        case GRID_AXIS_ZIPF_S:
            w->zipf = v->number > 0.0;
            w->zipf_s = v->number;
            break;
        case GRID_AXIS_COUNT:
            assert(0 && "unknown axis");
            break;
        }
    }
}

scenario *grid_cell_scenario(const grid *g, int64_t cell)
{
    int profile, index[GRID_AXIS_COUNT];
    grid_cell_coords(g, cell, &profile, index);
    scenario *sc = xcalloc(1, sizeof *sc);
    *sc = *g->base;
    arena_init(&sc->arena, 1024);   /* borrows everything; owns nothing */
    sc->profile = g->profiles[profile];
    cell_workload(g, index, &sc->workload);
    return sc;
}

/* The cell whose instances would have the most steps (the loaders' SCENARIO_STEPS_MAX), and how many. */
static int64_t largest_cell(const grid *g, double *steps)
{
    int64_t largest = 0;
    *steps = -1.0;
    for (int64_t cell = 0; cell < g->n_cells; cell++) {
        int profile, index[GRID_AXIS_COUNT];
        grid_cell_coords(g, cell, &profile, index);
        workload_config w = g->base->workload;
        cell_workload(g, index, &w);
        int devices = w.users > 0 ? w.users * w.devices_per_user : g->base->n_devices;
        double expected = workload_expected_steps(&w, devices) + g->base->n_steps;
        if (expected > *steps) {
            *steps = expected;
            largest = cell;
        }
    }
    return largest;
}

static void put_value(buf *b, grid_axis_id id, const grid_value *v)
{
    if (id == GRID_AXIS_WRITES_PER_HOUR || id == GRID_AXIS_ZIPF_S)
        json_put_number(b, v->number);
    else
        json_put_i64(b, v->integer);
}

char *grid_cell_params(const grid *g, int64_t cell)
{
    int profile, index[GRID_AXIS_COUNT];
    grid_cell_coords(g, cell, &profile, index);
    /* Keys in byte order: every params key that may appear, sorted, with "profile" in its place. */
    static const char *const ORDER[] = { "devices_per_user", "offline_mean_us", "profile", "skew_max_us",
                                         "writes_per_hour", "zipf_s" };
    buf b;
    buf_init(&b);
    buf_putc(&b, '{');
    bool first = true;
    for (int k = 0; k < N(ORDER); k++) {
        if (strcmp(ORDER[k], "profile") == 0) {
            buf_printf(&b, "%s\"profile\":", first ? "" : ",");
            buf_put_json_string(&b, g->profiles[profile].name);
            first = false;
            continue;
        }
        for (int i = 0; i < g->n_axes; i++) {
            if (strcmp(AXIS_PARAMS[g->axes[i].id], ORDER[k]) != 0)
                continue;
            buf_printf(&b, "%s\"%s\":", first ? "" : ",", ORDER[k]);
            put_value(&b, g->axes[i].id, &g->axes[i].values[index[i]]);
            first = false;
        }
    }
    buf_putc(&b, '}');
    return buf_take(&b);
}

char *grid_axes_json(const grid *g)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "[{\"key\":\"profile\",\"values\":[");
    for (int p = 0; p < g->n_profiles; p++) {
        if (p)
            buf_putc(&b, ',');
        buf_put_json_string(&b, g->profiles[p].name);
    }
    buf_puts(&b, "]}");
    for (int i = 0; i < g->n_axes; i++) {
        const grid_axis *axis = &g->axes[i];
        buf_printf(&b, ",{\"key\":\"%s\",\"axis\":\"%s\",\"values\":[", AXIS_PARAMS[axis->id], AXIS_NAMES[axis->id]);
        for (int k = 0; k < axis->n_values; k++) {
            if (k)
                buf_putc(&b, ',');
            put_value(&b, axis->id, &axis->values[k]);
        }
        buf_puts(&b, "],\"labels\":[");
        for (int k = 0; k < axis->n_values; k++) {
            if (k)
                buf_putc(&b, ',');
            buf_put_json_string(&b, axis->values[k].label);
        }
        buf_puts(&b, "]}");
    }
    buf_putc(&b, ']');
    return buf_take(&b);
}
