/*
 * fuzz-grid: the grid loader (sim/grid.c) on any bytes, as a grid file
 * beside the test bases (bases/ok.yaml, ...), the shipped grids
 * (grids/bases/compare-designs.yaml) and profiles, where the seed corpus
 * points. A loaded grid also makes every
 * cell's scenario and params (at most a few hundred cells, to stay fast):
 * the loader promises that cannot fail.
 */
#include "base/xalloc.h"
#include "sim/grid.h"
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
    const char *path = fuzz_write("grid.yaml", data, size);
    diag d;
    diag_init(&d);
    grid *g = grid_load(path, &d);
    assert((g == NULL) == diag_failed(&d));
    if (g) {
        assert(g->n_cells >= 1 && g->seeds_lo <= g->seeds_hi);
        for (int64_t cell = 0; cell < g->n_cells && cell < 256; cell++) {
            scenario *sc = grid_cell_scenario(g, cell);
            char *params = grid_cell_params(g, cell);
            assert(params[0] == '{');
            xfree(params);
            scenario_free(sc);
        }
        xfree(grid_axes_json(g));
    }
    grid_free(g);
    diag_free(&d);
    return 0;
}
