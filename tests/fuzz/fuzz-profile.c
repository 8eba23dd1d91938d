/*
 * fuzz-profile: the profile loader (sim/profile_load.c) on any bytes, as a
 * profile file named by a scenario or a grid. An input loads or is refused
 * with one error naming the file; never a crash, a hang or a leak.
 */
#include "base/arena.h"
#include "base/xalloc.h"
#include "sim/profile_load.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("profile.yaml", data, size);
    arena a;
    arena_init(&a, 4096);
    diag d;
    diag_init(&d);
    scenario_profile p;
    bool ok = profile_load_file(path, &a, &p, &d);
    assert(ok != diag_failed(&d));
    assert(ok || strstr(d.message, ": error: "));
    assert(!ok || (p.name && p.engine.fallback.strategy));
    diag_free(&d);
    arena_release(&a);
    return 0;
}
