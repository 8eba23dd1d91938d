/*
 * shrink: the command. syncsim shrink FILE [--seed N] -o minimal.yaml [--class C] [--max-runs N]
 *
 * Shrinks (sim/shrink.c), writes the minimal scenario as YAML, then loads
 * that file back and runs it under --strict to verify it still fails with the
 * same class -- the file, not the in-memory scenario, is what gets shipped.
 */
#include "base/buf.h"
#include "base/xalloc.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "sim/scenario_write.h"
#include "sim/shrink.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_note(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "shrink: %s\n", line);
}

/* Run the written file strictly: does it fail with the class? */
static bool verify(const char *path, uint64_t seed, vclass target, char *hash_hex, int *exit_code)
{
    diag d;
    diag_init(&d);
    scenario *tmpl = scenario_load(path, &d);
    scenario *sc = tmpl ? scenario_for_seed(tmpl, seed, &d) : NULL;
    bool ok = false;
    if (sc) {
        run_result r;
        if (sim_run(sc, sc->seed, &(run_options){ 0 }, &r, &d)) {
            verdict v;
            verdict_judge(sc, &r, true, &v);
            ok = (v.failing & VCLASS_BIT(target)) != 0;
            *exit_code = v.exit_code;
            trace_hash_hex(r.trace_hash, hash_hex);
            verdict_free(&v);
        }
        run_result_free(&r);
    }
    if (d.message)
        fprintf(stderr, "%s\n", d.message);
    scenario_free(sc);
    scenario_free(tmpl);
    diag_free(&d);
    return ok;
}

static int shrink_main(const cli_command *cmd, const cli_args *a)
{
    (void)cmd;
    const char *file = a->operands[0], *out_path = a->text[OPT_OUTPUT];
    uint64_t seed = a->seed;
    int target = a->vclass;
    /* Shrinking can take thousands of runs: find out now, not after them, that the result cannot be written. */
    if (!output_writable(out_path))
        return EXIT_BAD_INPUT;

    diag d;
    diag_init(&d);
    scenario *tmpl = scenario_load(file, &d);
    if (!tmpl) {
        fprintf(stderr, "%s\n", d.message);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }
    if (!a->given[OPT_SEED])
        seed = tmpl->seed;
    shrink_options opt = { .seed = seed, .target = target, .runs_max = a->max_runs, .note = print_note };
    shrink_result res;
    if (!shrink_scenario(tmpl, &opt, &res, &d)) {
        fprintf(stderr, "%s\n", d.message);
        /* A seed that does not fail is an answer, not bad input. */
        int code = d.message && strstr(d.message, "does not fail") ? EXIT_VIOLATION : EXIT_BAD_INPUT;
        diag_free(&d);
        scenario_free(tmpl);
        return code;
    }

    scenario *m = res.minimal;
    const char *cls = vclass_name(res.target);
    buf name, description, header, yaml;
    buf_init(&name);
    buf_init(&description);
    buf_init(&header);
    buf_init(&yaml);
    buf_printf(&name, "%s-seed%llu-%s", tmpl->name, (unsigned long long)seed, cls);
    buf_printf(&description, "A minimal reproduction of %s, shrunk from %s (seed %llu). %s", cls, file,
               (unsigned long long)seed, res.summary);
    m->name = name.data;
    m->description = description.data;
    /* As shipped it passes: it expects every class it shows (the target and what comes with it). */
    m->expect.has_violations = true;
    m->expect.violations = res.failing & ~m->profile.accepts;
    m->expect.n_state = 0;
    buf_printf(&header,
               "Shrunk by: syncsim shrink %s --seed %llu -o %s\n"
               "It shows %s; as a regression test it passes while the weakness is there.\n"
               "To see the failure: syncsim run %s --strict\n",
               file, (unsigned long long)seed, out_path, cls, out_path);
    scenario_write(m, header.data, &yaml);

    int code = EXIT_PASS;
    FILE *f = fopen(out_path, "w");
    if (!f || fwrite(yaml.data, 1, yaml.len, f) != yaml.len) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", out_path, strerror(errno));
        code = EXIT_BAD_INPUT;
    }
    if (f && fclose(f) != 0)
        code = EXIT_BAD_INPUT;
    char hex[17] = "";
    int strict_exit = 0;
    if (code == EXIT_PASS) {
        bool still = verify(out_path, seed, res.target, hex, &strict_exit);
        printf("shrunk %s seed %llu (%s) to %s\n", file, (unsigned long long)seed, cls, out_path);
        printf("%s\n", res.summary);
        if (still) {
            printf("verified: %s fails with %s under --strict (exit %d), trace-hash %s\n", out_path, cls,
                   strict_exit, hex);
        } else {
            printf("NOT verified: %s no longer fails with %s when read back; this is a bug in shrink\n", out_path,
                   cls);
            code = EXIT_VIOLATION;
        }
    }
    buf_free(&yaml);
    buf_free(&header);
    shrink_result_free(&res);
    buf_free(&name);
    buf_free(&description);
    scenario_free(tmpl);
    diag_free(&d);
    return code;
}

static const cli_use SHRINK_OPTIONS[] = {
    { OPT_SEED, "the failing seed to shrink (default: the scenario's seed:)", false },
    { OPT_OUTPUT, "write the minimal scenario here (checked before shrinking starts)", true },
    { OPT_CLASS, "the violation class to keep (default: the most telling one the seed fails with under --strict)",
      false },
    { OPT_MAX_RUNS, "a bound on the candidate runs (default: 5000)", false },
    { OPT_NONE, NULL, false },
};

const cli_command cli_cmd_shrink = {
    .name = "shrink",
    .operands = "FILE",
    .operand_noun = "scenario file",
    .operands_min = 1,
    .operands_max = 1,
    .summary = "turn a failing seed into the smallest explicit scenario that still fails the same way",
    .description =
        "Shrinks the run of FILE with --seed into a scenario with only explicit steps that still fails with the "
        "same class under --strict: fewer devices, steps and fields, smaller clock skews, a shorter timeline, and, "
        "when the failure survives it, a network without randomness. It writes the result to -o, names what it "
        "removed, then runs the file it wrote, with the seed: written in it, and prints that run's trace hash. As "
        "shipped the file passes (its expect: names the class); under --strict it fails.\n"
        "Exit codes: 0 shrunk and verified; 1 the seed does not fail with the class, or the written file no longer "
        "does; 2 bad input or usage.",
    .options = SHRINK_OPTIONS,
    .main = shrink_main,
};
