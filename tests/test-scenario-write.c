/*
 * test-scenario-write: a scenario written as YAML and read back runs
 * exactly as the original -- the same trace hash -- for every shipped basic
 * scenario and for seeded instances of a random one (clocks, per-device
 * networks, generated steps of every kind), with the profile inline and
 * named by its file. This is what makes a shrunk file a faithful
 * reproduction. expect: checks: is written back too.
 */
#include "base/buf.h"
#include "base/xalloc.h"
#include "sim/scenario_write.h"
#include "sim/world.h"
#include "tests/testlib.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t run_hash(const scenario *sc, uint64_t seed)
{
    run_result r;
    diag d;
    diag_init(&d);
    bool ok = sim_run(sc, seed, &(run_options){ 0 }, &r, &d);
    EXPECT(ok);
    if (!ok)
        fprintf(stderr, "  %s\n", d.message);
    uint64_t h = r.trace_hash;
    run_result_free(&r);
    diag_free(&d);
    return h;
}

/* Written and read back: with the profile inline, or (by_reference) naming the file it came from. */
static void round_trip_as(const char *path, uint64_t seed, const char *dir, bool by_reference)
{
    diag d;
    diag_init(&d);
    scenario *tmpl = scenario_load(path, &d);
    EXPECT(tmpl != NULL);
    if (!tmpl) {
        fprintf(stderr, "  %s: %s\n", path, d.message);
        diag_free(&d);
        return;
    }
    scenario *inst = scenario_for_seed(tmpl, seed, &d);
    uint64_t original = run_hash(inst, seed);
    /* By reference: the absolute path of the profile file the scenario loaded (when not inline). */
    char profile_path[4096];
    const char *ref = NULL;
    if (by_reference && strcmp(tmpl->profile.path, tmpl->path) != 0 && realpath(tmpl->profile.path, profile_path))
        ref = profile_path;

    buf yaml;
    buf_init(&yaml);
    scenario_write(inst, "written by test-scenario-write", ref, &yaml);
    if (ref) {
        char line[4200];
        snprintf(line, sizeof line, "\nprofile: %s\n", ref);
        EXPECT(strstr(yaml.data, line) != NULL);
        EXPECT(strstr(yaml.data, "\n  sync:\n") == NULL);   /* named, not inline */
    }
    char out[512];
    snprintf(out, sizeof out, "%s/round-trip.yaml", dir);
    FILE *f = fopen(out, "w");
    EXPECT(f != NULL);
    if (f) {
        fwrite(yaml.data, 1, yaml.len, f);
        fclose(f);
    }
    scenario *back = scenario_load(out, &d);
    EXPECT(back != NULL);
    if (!back) {
        fprintf(stderr, "  %s written as YAML does not load: %s\n%s\n", path, d.message, yaml.data);
    } else {
        EXPECT(!back->has_workload);
        EXPECT_INT(back->n_devices, inst->n_devices);
        EXPECT_INT(back->n_steps, inst->n_steps);
        scenario *back_inst = scenario_for_seed(back, seed, &d);
        uint64_t again = run_hash(back_inst, seed);
        if (again != original)
            fprintf(stderr, "  %s seed %llu: written and read back it runs differently\n", path,
                    (unsigned long long)seed);
        EXPECT_U64(again, original);
        scenario_free(back_inst);
        scenario_free(back);
    }
    unlink(out);
    buf_free(&yaml);
    scenario_free(inst);
    scenario_free(tmpl);
    diag_free(&d);
}

static void round_trip(const char *path, uint64_t seed, const char *dir)
{
    round_trip_as(path, seed, dir, false);
    round_trip_as(path, seed, dir, true);
}

/* Write sc and load it back from dir; the text goes to yaml. NULL (reported) when it does not load. */
static scenario *write_and_load(const scenario *sc, const char *dir, buf *yaml)
{
    scenario_write(sc, NULL, NULL, yaml);
    char out[512];
    snprintf(out, sizeof out, "%s/checks.yaml", dir);
    FILE *f = fopen(out, "w");
    EXPECT(f != NULL);
    if (!f)
        return NULL;
    fwrite(yaml->data, 1, yaml->len, f);
    fclose(f);
    diag d;
    diag_init(&d);
    scenario *back = scenario_load(out, &d);
    EXPECT(back != NULL);
    if (!back)
        fprintf(stderr, "  written with checks: it does not load: %s\n%s\n", d.message, yaml->data);
    diag_free(&d);
    unlink(out);
    return back;
}

/*
 * expect: checks: survives writing (a shrunk conformance failure keeps the
 * invariants conform reports), in class order, without 'state' (no state:
 * is written, and checks: may name state only beside one). A scenario
 * without checks: gets none.
 */
static void test_checks_written(const char *dir)
{
    diag d;
    diag_init(&d);
    scenario *sc = scenario_load("tests/data/write/checks.yaml", &d);
    EXPECT(sc != NULL);
    if (!sc) {
        fprintf(stderr, "  %s\n", d.message);
        diag_free(&d);
        return;
    }
    EXPECT(sc->expect.has_checks && sc->expect.checks_state);
    buf yaml;
    buf_init(&yaml);
    scenario *back = write_and_load(sc, dir, &yaml);
    EXPECT_CONTAINS(yaml.data, "\n  checks: [lost-update, divergence, no-quiescence]\n");
    if (back) {
        EXPECT(back->expect.has_checks);
        EXPECT_U64(back->expect.checks, sc->expect.checks);
        EXPECT(!back->expect.checks_state);
        scenario_free(back);
    }
    buf_free(&yaml);

    sc->expect.has_checks = false;
    sc->expect.checks = 0;
    sc->expect.checks_state = false;
    buf_init(&yaml);
    back = write_and_load(sc, dir, &yaml);
    EXPECT(strstr(yaml.data, "checks:") == NULL);
    if (back) {
        EXPECT(!back->expect.has_checks);
        EXPECT_U64(back->expect.checks, 0);
        scenario_free(back);
    }
    buf_free(&yaml);
    scenario_free(sc);
    diag_free(&d);
}

int main(void)
{
    xalloc_install_cjson();
    char dir[] = "/tmp/syncsim-write-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int n = 0;
    DIR *dh = opendir("scenarios/basic");
    EXPECT(dh != NULL);
    struct dirent *e;
    while (dh && (e = readdir(dh))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "scenarios/basic/%s", e->d_name);
        round_trip(path, 7, dir);
        n++;
    }
    if (dh)
        closedir(dh);
    EXPECT(n >= 8);
    for (uint64_t seed = 1; seed <= 5; seed++)
        round_trip("scenarios/random/lww-skew.yaml", seed, dir);
    round_trip("tests/data/write/everything.yaml", 3, dir);
    round_trip("tests/data/write/everything.yaml", 4, dir);   /* its swarm gives this seed server crashes and windows */
    /* Per-device picks (ironflow's manual conflicts decide by them), refs and server clock steps. */
    for (uint64_t seed = 1; seed <= 6; seed++)
        round_trip("scenarios/seeds/ironflow/swarm.yaml", seed, dir);
    for (uint64_t seed = 1; seed <= 3; seed++)
        round_trip("scenarios/seeds/smartdmv/swarm.yaml", seed, dir);
    test_checks_written(dir);
    rmdir(dir);
    return test_exit("test-scenario-write");
}
