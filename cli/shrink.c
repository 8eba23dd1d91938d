/*
 * shrink: the command. syncsim shrink FILE [--seed N] -o minimal.yaml [--class C] [--max-runs N]
 *
 * Shrinks (sim/shrink.c), writes the minimal scenario as YAML, then loads
 * that file back and runs it as `syncsim run FILE --strict` would, with its
 * own seed:, to verify it still fails with the same class -- the file, not
 * the in-memory scenario, is what gets shipped, and the hash it prints is
 * the one that command gives.
 */
#include "base/buf.h"
#include "base/path.h"
#include "base/xalloc.h"
#include "cli/commands.h"
#include "cli/node.h"
#include "cli/output.h"
#include "sim/profile_load.h"
#include "sim/scenario_write.h"
#include "sim/shrink.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_note(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "shrink: %s\n", line);
}

/*
 * Run the written file as `syncsim run FILE --strict` does -- with its own
 * seed: -- and say whether it fails with the class, with that run's hash.
 */
static bool verify(const char *path, vclass target, const cli_args *a, char *hash_hex, int *exit_code)
{
    diag d;
    diag_init(&d);
    scenario *tmpl = scenario_load(path, &d);
    if (tmpl && !node_apply_options(tmpl, a, &d)) {
        scenario_free(tmpl);
        tmpl = NULL;
    }
    scenario *sc = tmpl ? scenario_for_seed(tmpl, tmpl->seed, &d) : NULL;
    bool ok = false;
    if (sc) {
        run_result r;
        if (sim_run(sc, tmpl->seed, &(run_options){ 0 }, &r, &d)) {
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

/*
 * How the written file names its profile, which shrink never changes: by
 * name when the name, looked up from where the file goes, finds the very file
 * the scenario used (a corpus's profiles/, $SYNCSIM_PATH, the installed ones);
 * else by its path from there; inline when the scenario had it inline, or when
 * its workload's vary: drew keys of it (the file no longer says the design that
 * failed). NULL means inline. In a.
 */
static const char *profile_reference(const scenario *tmpl, const char *out_path, arena *a)
{
    if (tmpl->has_workload && tmpl->workload.vary.n_axes > 0)
        return NULL;
    const char *used = tmpl->profile.path;
    char used_real[PATH_MAX], out_dir[PATH_MAX], found_real[PATH_MAX];
    if (!used || strcmp(used, tmpl->path) == 0 || !realpath(used, used_real))
        return NULL;
    if (!realpath(path_dir(a, out_path), out_dir))
        return NULL;
    const char *base = strrchr(used_real, '/') + 1;
    size_t len = strlen(base);
    if (len > 5 && strcmp(base + len - 5, ".yaml") == 0) {
        char *name = arena_strndup(a, base, len - 5);
        char *probe = arena_printf(a, "%s/x.yaml", out_dir);   /* a file in the output's directory */
        const char *found = profile_is_name(name) ? profile_find(name, probe, NULL, a) : NULL;
        if (found && realpath(found, found_real) && strcmp(found_real, used_real) == 0)
            return name;
    }
    return path_relative(a, out_dir, used_real);
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
    if (!tmpl || !node_apply_options(tmpl, a, &d)) {
        fprintf(stderr, "%s\n", d.message);
        scenario_free(tmpl);
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
    m->expect.checks_state = false;   /* checks: keeps its classes, but there is no state: left to check */
    /* An external implementation is named the way it was given, so the commands in the header work as written. */
    buf node;
    buf_init(&node);
    if (a->given[OPT_NODE])
        buf_printf(&node, " --node '%s'", a->text[OPT_NODE]);
    buf_printf(&header,
               "Shrunk by: syncsim shrink %s --seed %llu -o %s%s\n"
               "It shows %s; as a regression test it passes while the weakness is there.\n"
               "To see the failure: syncsim run %s --strict%s\n",
               file, (unsigned long long)seed, out_path, node.data ? node.data : "", cls, out_path,
               node.data ? node.data : "");
    buf_free(&node);
    if (m->design)
        buf_printf(&header, "The profile is %s with what vary: drew for this seed: %s.\n", tmpl->profile.name, m->design);
    if (res.seedless)
        buf_printf(&header, "Its network is constant and fault-free: any seed fails the same way; seed: %llu "
                            "replays the trace hash shrink printed.\n",
                   (unsigned long long)seed);
    arena scratch;
    arena_init(&scratch, 4096);
    scenario_write(m, header.data, profile_reference(tmpl, out_path, &scratch), &yaml);
    arena_release(&scratch);

    int code = EXIT_PASS;
    FILE *f = fopen(out_path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", out_path, strerror(errno));
        code = EXIT_BAD_INPUT;
    } else {
        fwrite(yaml.data, 1, yaml.len, f);
        if (!output_close(f, out_path))
            code = EXIT_BAD_INPUT;
    }
    char hex[17] = "";
    int strict_exit = 0;
    if (code == EXIT_PASS) {
        bool still = verify(out_path, res.target, a, hex, &strict_exit);
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
    { OPT_NODE, NODE_HELP, false },
    { OPT_NODE_TIMEOUT, NODE_TIMEOUT_HELP, false },
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
