/*
 * test-grid: grid files (sim/grid.h). A grid loads into the cells its file
 * describes, in the documented order, each cell's scenario differs from the
 * base exactly in the cell's values, params are canonical JSON, and a cell
 * whose values equal the base's runs the very same world (same trace hash).
 * Every mistake in a grid file fails to load with one error at
 * file:line:column: golden files tests/errors/grids/<case>.yaml, whose first
 * line states the error as tests/errors/ does for scenarios:
 *
 *   # error: LINE:COLUMN: <substring of the message>
 *   # error: FILE:LINE:COLUMN: <substring>     (FILE relative to tests/errors/grids/)
 *
 * Runs from the source root.
 */
#include "base/xalloc.h"
#include "sim/grid.h"
#include "sim/world.h"
#include "tests/testlib.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRORS_DIR "tests/errors/grids"
#define TINY "tests/data/grids/tiny.yaml"
#define MINUTE_US (INT64_C(60) * 1000000)
/* The golden files written with this test; fewer means some went missing. */
#define GOLDEN_MIN 26

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* --- the shipped test grid ----------------------------------------------------------- */

static void test_tiny_grid(void)
{
    diag d;
    diag_init(&d);
    grid *g = grid_load(TINY, &d);
    EXPECT(g != NULL);
    if (!g) {
        fprintf(stderr, "  %s\n", d.message);
        diag_free(&d);
        return;
    }
    EXPECT_STR(g->name, "tiny");
    EXPECT_STR(g->scenario_path, "tests/data/grids/tiny-base.yaml");
    /* No targets: key, no targets (the report then draws no reference lines). */
    EXPECT(g->targets.conflicts_per_write < 0);
    EXPECT(g->targets.lost_per_write < 0);
    EXPECT(g->targets.source == NULL);
    EXPECT_U64(g->seeds_lo, 1);
    EXPECT_U64(g->seeds_hi, 4);
    EXPECT_INT(g->n_profiles, 2);
    EXPECT_STR(g->profiles[0].name, "reference");
    EXPECT_STR(g->profiles[1].name, "lww-device-clock");
    EXPECT_INT(g->n_axes, 2);
    EXPECT_INT(g->axes[0].id, GRID_AXIS_OFFLINE_MEAN);
    EXPECT_INT(g->axes[1].id, GRID_AXIS_SKEW_MAX);
    EXPECT_INT(g->n_cells, 8);

    /* Profile slowest, then the axes in file order, the last fastest. */
    int profile, index[GRID_AXIS_COUNT];
    grid_cell_coords(g, 0, &profile, index);
    EXPECT_INT(profile, 0);
    EXPECT_INT(index[0], 0);
    EXPECT_INT(index[1], 0);
    grid_cell_coords(g, 5, &profile, index);
    EXPECT_INT(profile, 1);
    EXPECT_INT(index[0], 0);
    EXPECT_INT(index[1], 1);
    grid_cell_coords(g, 7, &profile, index);
    EXPECT_INT(profile, 1);
    EXPECT_INT(index[0], 1);
    EXPECT_INT(index[1], 1);

    char *params = grid_cell_params(g, 5);
    EXPECT_STR(params, "{\"offline_mean_us\":120000000,\"profile\":\"lww-device-clock\",\"skew_max_us\":300000000}");
    xfree(params);
    params = grid_cell_params(g, 2);
    EXPECT_STR(params, "{\"offline_mean_us\":600000000,\"profile\":\"reference\",\"skew_max_us\":0}");
    xfree(params);

    /* Cell 5's scenario: the base with another profile and two workload values, nothing else. */
    scenario *sc = grid_cell_scenario(g, 5);
    EXPECT_STR(sc->profile.name, "lww-device-clock");
    EXPECT_STR(sc->name, g->base->name);
    EXPECT_INT(sc->workload.offline_mean_us, 2 * MINUTE_US);
    EXPECT_INT(sc->workload.offset_max_us, 5 * MINUTE_US);
    EXPECT(sc->workload.offline);
    EXPECT(sc->workload.clocks);
    EXPECT_INT(sc->workload.online_mean_us, g->base->workload.online_mean_us);
    EXPECT_INT(sc->workload.duration_us, g->base->workload.duration_us);
    EXPECT_INT(sc->workload.users, g->base->workload.users);
    EXPECT_INT(sc->workload.devices_per_user, g->base->workload.devices_per_user);
    EXPECT(sc->workload.writes_per_hour == g->base->workload.writes_per_hour);
    EXPECT_INT(sc->expect.quiesce_within_us, g->base->expect.quiesce_within_us);
    /* The base keeps its own values. */
    EXPECT_STR(g->base->profile.name, "reference");
    EXPECT_INT(g->base->workload.offline_mean_us, 5 * MINUTE_US);
    EXPECT_INT(g->base->workload.offset_max_us, MINUTE_US);
    scenario_free(sc);

    /* The shape for the results database. */
    char *axes = grid_axes_json(g);
    cJSON *j = cJSON_Parse(axes);
    EXPECT(cJSON_IsArray(j));
    EXPECT_INT(cJSON_GetArraySize(j), 3);
    if (cJSON_GetArraySize(j) == 3) {
        const cJSON *profiles = cJSON_GetArrayItem(j, 0);
        EXPECT_STR(cJSON_GetObjectItem(profiles, "key")->valuestring, "profile");
        EXPECT_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(profiles, "values"), 1)->valuestring, "lww-device-clock");
        const cJSON *skew = cJSON_GetArrayItem(j, 2);
        EXPECT_STR(cJSON_GetObjectItem(skew, "key")->valuestring, "skew_max_us");
        EXPECT_STR(cJSON_GetObjectItem(skew, "axis")->valuestring, "skew_max");
        EXPECT(cJSON_GetArrayItem(cJSON_GetObjectItem(skew, "values"), 1)->valuedouble == 300000000.0);
        EXPECT_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(skew, "labels"), 1)->valuestring, "5m");
    }
    cJSON_Delete(j);
    xfree(axes);
    grid_free(g);
    diag_free(&d);
}

/* --- grids written on the fly --------------------------------------------------------- */

static char tmp_dir[PATH_MAX];

static bool write_grid(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static grid *load_text(const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    if (!write_grid(name, text, path, sizeof path)) {
        EXPECT(!"cannot write a temporary grid");
        return NULL;
    }
    diag d;
    diag_init(&d);
    grid *g = grid_load(path, &d);
    if (!g)
        fprintf(stderr, "  %s: %s\n", name, d.message);
    diag_free(&d);
    return g;
}

/* Every axis, listed out of order: params keys come out sorted, values canonical. */
/* The shipped grid quotes seed 004's targets, per write. */
static void test_targets(void)
{
    diag d;
    diag_init(&d);
    grid *g = grid_load("scenarios/grids/compare-designs.yaml", &d);
    EXPECT(g != NULL);
    if (g) {
        EXPECT(g->targets.conflicts_per_write > 0.0499 && g->targets.conflicts_per_write < 0.0501);
        EXPECT(g->targets.lost_per_write > 0.0099 && g->targets.lost_per_write < 0.0101);
        EXPECT_STR(g->targets.source, "seed 004 (delta-sync), Monitoring");
    } else {
        fprintf(stderr, "  %s\n", d.message);
    }
    grid_free(g);
    diag_free(&d);
}

static void test_every_axis(void)
{
    char cwd[PATH_MAX], text[PATH_MAX + 512];
    if (!getcwd(cwd, sizeof cwd))
        return;
    snprintf(text, sizeof text,
             "scenario: %s/tests/data/grids/tiny-base.yaml\n"
             "seeds: 7..9\n"
             "axes:\n"
             "  zipf_s: [uniform, 1.50]\n"
             "  writes_per_hour: [12.5]\n"
             "  skew_max: [90s]\n"
             "  offline_mean: [0s, 1h]\n"
             "  devices_per_user: [2]\n",
             cwd);
    grid *g = load_text("every-axis.yaml", text);
    EXPECT(g != NULL);
    if (!g)
        return;
    EXPECT_STR(g->name, "every-axis");
    EXPECT_U64(g->seeds_lo, 7);
    EXPECT_U64(g->seeds_hi, 9);
    /* No profiles: the base's own. */
    EXPECT_INT(g->n_profiles, 1);
    EXPECT_STR(g->profiles[0].name, "reference");
    EXPECT_INT(g->n_cells, 4);
    char *params = grid_cell_params(g, 0);
    EXPECT_STR(params, "{\"devices_per_user\":2,\"offline_mean_us\":0,\"profile\":\"reference\",\"skew_max_us\":90000000,"
                       "\"writes_per_hour\":12.5,\"zipf_s\":0}");
    xfree(params);
    params = grid_cell_params(g, 3);
    EXPECT_STR(params, "{\"devices_per_user\":2,\"offline_mean_us\":3600000000,\"profile\":\"reference\","
                       "\"skew_max_us\":90000000,\"writes_per_hour\":12.5,\"zipf_s\":1.5}");
    xfree(params);
    /* Cell 0: uniform popularity, devices never offline. */
    scenario *sc = grid_cell_scenario(g, 0);
    EXPECT(!sc->workload.zipf);
    EXPECT(!sc->workload.offline);
    EXPECT_INT(sc->workload.devices_per_user, 2);
    EXPECT(sc->workload.writes_per_hour == 12.5);
    scenario_free(sc);
    sc = grid_cell_scenario(g, 3);
    EXPECT(sc->workload.zipf);
    EXPECT(sc->workload.zipf_s == 1.5);
    EXPECT(sc->workload.offline);
    EXPECT_INT(sc->workload.offline_mean_us, 60 * MINUTE_US);
    /* A seed of a cell instantiates with the cell's devices. */
    diag d;
    diag_init(&d);
    scenario *instance = scenario_for_seed(sc, 1, &d);
    EXPECT(instance != NULL);
    if (instance)
        EXPECT_INT(instance->n_devices, 2);
    scenario_free(instance);
    scenario_free(sc);
    diag_free(&d);
    grid_free(g);
}

/* A cell whose values are the base's own runs exactly the base's world. */
static void test_identity_cell(void)
{
    char cwd[PATH_MAX], text[PATH_MAX + 256];
    if (!getcwd(cwd, sizeof cwd))
        return;
    snprintf(text, sizeof text,
             "scenario: %s/tests/data/grids/tiny-base.yaml\n"
             "seeds: 2\n"
             "profiles: [reference]\n"
             "axes: { offline_mean: [5m], skew_max: [1m], writes_per_hour: [40], zipf_s: [1.2] }\n",
             cwd);
    grid *g = load_text("identity.yaml", text);
    EXPECT(g != NULL);
    if (!g)
        return;
    scenario *cell = grid_cell_scenario(g, 0);
    for (uint64_t seed = 1; seed <= 2; seed++) {
        diag d;
        diag_init(&d);
        scenario *a = scenario_for_seed(g->base, seed, &d);
        scenario *b = scenario_for_seed(cell, seed, &d);
        run_result ra, rb;
        bool ran_a = a && sim_run(a, seed, &(run_options){ 0 }, &ra, &d);
        bool ran_b = b && sim_run(b, seed, &(run_options){ 0 }, &rb, &d);
        EXPECT(ran_a && ran_b);
        if (ran_a && ran_b) {
            EXPECT_U64(rb.trace_hash, ra.trace_hash);
            EXPECT_INT(rb.metrics.writes, ra.metrics.writes);
        }
        if (a)
            run_result_free(&ra);
        if (b)
            run_result_free(&rb);
        scenario_free(a);
        scenario_free(b);
        diag_free(&d);
    }
    scenario_free(cell);
    grid_free(g);
}

/* --- golden error files -------------------------------------------------------------- */

static char *read_line(const char *path, int line)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char text[4096];
    char *found = NULL;
    for (int n = 1; fgets(text, sizeof text, f); n++) {
        if (n == line) {
            found = xstrndup(text, strcspn(text, "\r\n"));
            break;
        }
    }
    fclose(f);
    return found;
}

static void check_golden(const char *path)
{
    int before = test_failures;
    char *first = read_line(path, 1);
    char file[256] = "", text[1024] = "";
    int line = 0, column = 0;
    bool parsed = false;
    if (first && starts_with(first, "# error: ")) {
        const char *p = first + strlen("# error: ");
        const char *colon = strchr(p, ':');
        if (colon && strspn(p, "0123456789") != (size_t)(colon - p)) {
            snprintf(file, sizeof file, "%.*s", (int)(colon - p), p);
            p = colon + 1;
        }
        int consumed = 0;
        parsed = sscanf(p, "%d:%d: %n", &line, &column, &consumed) == 2 && consumed > 0;
        if (parsed)
            snprintf(text, sizeof text, "%s", p + consumed);
    }
    xfree(first);
    EXPECT(parsed);
    if (!parsed) {
        fprintf(stderr, "  %s: first line must read '# error: [FILE:]LINE:COLUMN: <message>'\n", path);
        return;
    }
    /* Where the error must be: the grid itself, or a file named relative to its directory. */
    char where[PATH_MAX + 300], resolved[PATH_MAX + 300] = "";
    if (file[0]) {
        snprintf(where, sizeof where, "%s/%s", ERRORS_DIR, file);
        char abs[PATH_MAX];
        if (realpath(where, abs))
            snprintf(resolved, sizeof resolved, "%s", abs);
    } else {
        snprintf(where, sizeof where, "%s", path);
    }
    diag d;
    diag_init(&d);
    grid *g = grid_load(path, &d);
    EXPECT(g == NULL);
    EXPECT(d.message != NULL);
    if (d.message) {
        /* A profile found by name is reported under its resolved path. */
        const char *shown = resolved[0] && starts_with(d.message, resolved) ? resolved : where;
        char prefix[PATH_MAX + 400];
        snprintf(prefix, sizeof prefix, "%s:%d:%d: error: ", shown, line, column);
        char *head = xstrndup(d.message, strlen(prefix));
        EXPECT_STR(head, prefix);
        xfree(head);
        char *first_line = xstrndup(d.message, strcspn(d.message, "\n"));
        EXPECT_CONTAINS(first_line, text);
        xfree(first_line);
        /* The offending line is quoted under the message. */
        char *source = read_line(shown, line);
        if (source) {
            EXPECT_CONTAINS(d.message, source);
            xfree(source);
        }
    }
    if (test_failures > before)
        fprintf(stderr, "  ^ in golden file %s:\n%s\n", path, d.message ? d.message : "(no error)");
    grid_free(g);
    diag_free(&d);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_golden_files(void)
{
    DIR *dh = opendir(ERRORS_DIR);
    EXPECT(dh != NULL);
    if (!dh)
        return;
    char **paths = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        xgrow(&paths, &cap, n + 1, sizeof *paths);
        size_t size = strlen(ERRORS_DIR) + len + 2;
        paths[n] = xmalloc(size);
        snprintf(paths[n], size, "%s/%s", ERRORS_DIR, e->d_name);
        n++;
    }
    closedir(dh);
    if (n)
        qsort(paths, n, sizeof *paths, compare_strings);
    EXPECT(n >= GOLDEN_MIN);
    if (n < GOLDEN_MIN)
        fprintf(stderr, "  %s holds %zu golden files, expected at least %d\n", ERRORS_DIR, n, GOLDEN_MIN);
    for (size_t i = 0; i < n; i++) {
        check_golden(paths[i]);
        xfree(paths[i]);
    }
    xfree(paths);
}

static void test_missing_and_empty(void)
{
    diag d;
    diag_init(&d);
    grid *g = grid_load(ERRORS_DIR "/no-such-grid.yaml", &d);
    EXPECT(g == NULL);
    EXPECT_CONTAINS(d.message, "cannot open");
    diag_free(&d);
    char path[PATH_MAX + 64];
    bool written = write_grid("empty.yaml", "# nothing yet\n", path, sizeof path);
    EXPECT(written);
    diag_init(&d);
    g = written ? grid_load(path, &d) : NULL;
    EXPECT(g == NULL);
    EXPECT_CONTAINS(d.message, ":1:1: error: the file is empty");
    diag_free(&d);
}

int main(void)
{
    xalloc_install_cjson();
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/syncsim-test-grid-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    bool made = mkdtemp(tmp_dir) != NULL;
    EXPECT(made);
    test_tiny_grid();
    test_targets();
    test_golden_files();
    if (made) {
        test_every_axis();
        test_identity_cell();
        test_missing_and_empty();
        const char *names[] = { "every-axis.yaml", "identity.yaml", "empty.yaml" };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char path[PATH_MAX + 64];
            snprintf(path, sizeof path, "%s/%s", tmp_dir, names[i]);
            unlink(path);
        }
        rmdir(tmp_dir);
    }
    return test_exit("test-grid");
}
