/*
 * fuzz-scenario: the scenario loader (sim/scenario.c) on any bytes. An input
 * either loads or is refused with one error naming file:line:column; it
 * never crashes, hangs or leaks. A loaded scenario with a workload is also
 * instantiated for one seed, when its size stays small enough to fuzz
 * quickly: the instance is what a run starts from.
 */
#include "base/xalloc.h"
#include "sim/scenario.h"
#include "tests/fuzz/fuzz.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xalloc_install_cjson();
    fuzz_dir();
    return 0;
}

/* A workload small enough that one instance takes milliseconds, not seconds: the fuzzer
 * explores the generator, not the bound on steps (tests cover that). */
static bool small_workload(const workload_config *w)
{
    double devices = (double)(w->users ? w->users * w->devices_per_user : 4);
    double hours = (double)w->duration_us / 3600e6;
    return devices <= 16 && hours * w->writes_per_hour * devices <= 2000 && hours <= 48;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("input.yaml", data, size);
    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(path, &d);
    /* Exactly one of: a scenario, or an error that names the file. */
    assert((sc == NULL) == diag_failed(&d));
    assert(sc || strstr(d.message, ": error: "));
    if (sc && sc->has_workload && small_workload(&sc->workload)) {
        scenario *instance = scenario_for_seed(sc, 7, &d);
        assert((instance == NULL) == diag_failed(&d));
        scenario_free(instance);
    }
    scenario_free(sc);
    diag_free(&d);
    return 0;
}
