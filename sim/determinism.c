/*
 * determinism: see determinism.h. The comparison runs keep the running trace
 * hash after every event; only when those differ are the runs repeated with
 * a trace, to quote the differing event.
 */
#include "sim/determinism.h"
#include "base/xalloc.h"
#include "sim/world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Line `index` (0-based) of a trace produced by a fresh run, or NULL. */
static char *trace_line(const scenario *sc, uint64_t seed, const run_options *limits, uint64_t index, diag *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    run_options opt = { .trace_out = f };
    if (limits) {
        opt.events_max = limits->events_max;
        opt.cancel = limits->cancel;
        opt.cancel_bound = limits->cancel_bound;
    }
    run_result r;
    bool ok = sim_run(sc, seed, &opt, &r, d);
    run_result_free(&r);
    fclose(f);
    char *line = NULL;
    if (ok && text) {
        const char *p = text;
        for (uint64_t i = 0; i < index && p; i++) {
            p = strchr(p, '\n');
            if (p)
                p++;
        }
        if (p && *p)
            line = xstrndup(p, strcspn(p, "\n"));
    }
    free(text);   /* open_memstream's buffer comes from malloc */
    return line;
}

bool determinism_check(const scenario *sc, uint64_t seed, const run_options *limits, determinism_report *out,
                       diag *d)
{
    memset(out, 0, sizeof *out);
    run_options opt = { .keep_event_hashes = true };
    if (limits) {
        opt.events_max = limits->events_max;
        opt.cancel = limits->cancel;
        opt.cancel_bound = limits->cancel_bound;
    }
    run_result a, b;
    if (!sim_run(sc, seed, &opt, &a, d)) {
        run_result_free(&a);
        return false;
    }
    if (!sim_run(sc, seed, &opt, &b, d)) {
        run_result_free(&a);
        run_result_free(&b);
        return false;
    }
    out->events = a.n_event_hashes;
    out->hash = a.trace_hash;
    uint64_t n = a.n_event_hashes < b.n_event_hashes ? a.n_event_hashes : b.n_event_hashes;
    uint64_t i = 0;
    while (i < n && a.event_hashes[i] == b.event_hashes[i])
        i++;
    out->same = i == n && a.n_event_hashes == b.n_event_hashes && a.trace_hash == b.trace_hash;
    run_result_free(&a);
    run_result_free(&b);
    if (!out->same) {
        out->first_diff = i;
        out->first_run_line = trace_line(sc, seed, limits, i, d);
        out->second_run_line = trace_line(sc, seed, limits, i, d);
    }
    return true;
}

void determinism_report_free(determinism_report *r)
{
    xfree(r->first_run_line);
    xfree(r->second_run_line);
    memset(r, 0, sizeof *r);
}
