/*
 * fuzz: the private directory and input files of the loader targets. See
 * fuzz.h. Aborts on any file-system failure: a harness that cannot write
 * its input would otherwise report every input as harmless.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void remove_dir(void)
{
    /* Only what fuzz_write and fuzz_dir put there: input files and three links. */
    static const char *const NAMES[] = { "profiles", "bases", "grids", "input.yaml", "profile.yaml", "grid.yaml" };
    char path[512];
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, NAMES[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void link_source(const char *from, const char *name)
{
    char source[512], target[512];
    snprintf(source, sizeof source, "%s/%s", FUZZ_SOURCE_ROOT, from);
    snprintf(target, sizeof target, "%s/%s", dir, name);
    if (symlink(source, target) != 0) {
        perror(target);
        abort();
    }
}

const char *fuzz_dir(void)
{
    if (dir[0])
        return dir;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/syncsim-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        abort();
    }
    atexit(remove_dir);
    link_source("scenarios/profiles", "profiles");
    link_source("tests/errors/grids/bases", "bases");
    link_source("scenarios/grids", "grids");
    return dir;
}

const char *fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}
