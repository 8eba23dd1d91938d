/*
 * fuzz: what the fuzz targets share. Each target is one file fuzz-<name>.c
 * defining LLVMFuzzerTestOneInput (and nothing else the harness needs); it
 * is linked two ways (tests/fuzz/meson.build):
 *   - with libFuzzer (-fsanitize=fuzzer) in a fuzz build (-Dfuzz=true, clang):
 *     tests/fuzz/run.sh explores from a seed corpus for a set time;
 *   - with replay.c's main in every build: it runs the committed regression
 *     inputs (regress/<name>/) once each, so gcc, clang and the sanitizer
 *     builds all replay every crash and hang the fuzzer ever found.
 *
 * The loaders read files (a scenario names its profile relative to its own
 * path, and errors quote the offending line from the file), so the loader
 * targets write each input to a file in a private directory and load that:
 * the same path a user's file takes, pre-checks included.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The process's private directory (created on first use, removed at exit),
 * holding links into the source tree -- profiles/ (scenarios/profiles),
 * bases/ (tests/errors/grids/bases) and grids/ (scenarios/grids) -- so that
 * inputs naming a profile or a grid's base load what a user's would. A link
 * to a directory keeps relative paths inside it working ("../" climbs from
 * the link's target).
 */
const char *fuzz_dir(void);
/* Write data to fuzz_dir()/name (replacing it) and return its path (static storage). */
const char *fuzz_write(const char *name, const uint8_t *data, size_t size);

#endif
