/*
 * shrink: see shrink.h. The working state is a set of masks and overrides
 * over the seed's instance (the base): which devices and steps are kept,
 * each step's time, each write's fields, each device's clock, and whether
 * the network is made constant. build() turns a state into a scenario for
 * one run. Invariant: the current state always fails with the target class;
 * a change is kept only if its run does too.
 */
#include "sim/shrink.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "sim/duration.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <stdarg.h>
#include <string.h>

#define SEC INT64_C(1000000)

typedef struct state {
    bool *keep_device;       /* by base device index */
    bool *keep_step;         /* by base step index */
    int64_t *at_us;          /* by base step index */
    uint64_t *field_mask;    /* by base step index: bit i keeps field i */
    int64_t *for_us;         /* by base step index: a window's span (server_errors, server_timeouts, storage disk_full) */
    clock_config *clocks;    /* by base device index */
    bool seedless;
    int64_t end_us;
} state;

typedef struct shrinker {
    const scenario *base;
    const shrink_options *opt;
    vclass target;
    int runs;
    int runs_max;
    state cur;
    diag *d;
} shrinker;

static void state_alloc(state *s, const scenario *base)
{
    s->keep_device = xcalloc((size_t)base->n_devices + 1, sizeof *s->keep_device);
    s->keep_step = xcalloc((size_t)base->n_steps + 1, sizeof *s->keep_step);
    s->at_us = xcalloc((size_t)base->n_steps + 1, sizeof *s->at_us);
    s->field_mask = xcalloc((size_t)base->n_steps + 1, sizeof *s->field_mask);
    s->for_us = xcalloc((size_t)base->n_steps + 1, sizeof *s->for_us);
    s->clocks = xcalloc((size_t)base->n_devices + 1, sizeof *s->clocks);
}

static void state_copy(state *dst, const state *src, const scenario *base)
{
    memcpy(dst->keep_device, src->keep_device, (size_t)base->n_devices * sizeof *dst->keep_device);
    memcpy(dst->keep_step, src->keep_step, (size_t)base->n_steps * sizeof *dst->keep_step);
    memcpy(dst->at_us, src->at_us, (size_t)base->n_steps * sizeof *dst->at_us);
    memcpy(dst->field_mask, src->field_mask, (size_t)base->n_steps * sizeof *dst->field_mask);
    memcpy(dst->for_us, src->for_us, (size_t)base->n_steps * sizeof *dst->for_us);
    memcpy(dst->clocks, src->clocks, (size_t)base->n_devices * sizeof *dst->clocks);
    dst->seedless = src->seedless;
    dst->end_us = src->end_us;
}

static void state_free(state *s)
{
    xfree(s->keep_device);
    xfree(s->keep_step);
    xfree(s->at_us);
    xfree(s->field_mask);
    xfree(s->for_us);
    xfree(s->clocks);
}

/* The constant, fault-free network a seedless scenario uses: the typical latency of the original. */
static net_config calm_network(const net_config *orig)
{
    const dist *d = &orig->up.latency;
    int64_t typical = d->kind == DIST_CONSTANT      ? d->value_us
                      : d->kind == DIST_LOGNORMAL   ? d->median_us
                      : d->kind == DIST_EXPONENTIAL ? d->mean_us
                                                    : (d->min_us + d->max_us) / 2;
    net_config net;
    net_config_default(&net);
    net.up.latency = net.down.latency = dist_constant(typical > 0 ? typical : 50000);
    return net;
}

/* A scenario for one run of state s. It borrows from the base; scenario_free releases only its own arena. */
/*
 * With an earlier switch_account step removed, a later one may name the account its device already has
 * then: it would do nothing (the world skips it) and the written file would not load
 * (scenario_check_switches). Such a step goes. Steps are in time order.
 */
static void drop_same_user_switches(scenario *sc)
{
    const char **users = xcalloc((size_t)sc->n_devices + 1, sizeof *users);
    for (int d = 0; d < sc->n_devices; d++)
        users[d + 1] = sc->devices[d].user;
    int kept = 0;
    for (int i = 0; i < sc->n_steps; i++) {
        step *st = &sc->steps[i];
        if (st->kind == STEP_SWITCH_ACCOUNT) {
            if (strcmp(users[st->nodes[0]], st->user) == 0)
                continue;
            users[st->nodes[0]] = st->user;
        }
        sc->steps[kept++] = *st;
    }
    sc->n_steps = kept;
    xfree(users);
}

static scenario *build(const shrinker *k, const state *s)
{
    const scenario *base = k->base;
    scenario *sc = xcalloc(1, sizeof *sc);
    *sc = *base;
    arena_init(&sc->arena, 16 * 1024);
    sc->has_workload = false;
    sc->end_us = s->end_us;
    int *map = arena_alloc(&sc->arena, (size_t)(base->n_devices + 1) * sizeof *map);
    sc->devices = arena_alloc(&sc->arena, (size_t)(base->n_devices + 1) * sizeof *sc->devices);
    sc->n_devices = 0;
    if (s->seedless) {
        sc->network = calm_network(&base->network);
        sc->server_faults = (server_faults){ 0 };   /* random gateway answers go with the random network */
    }
    for (int d = 0; d < base->n_devices; d++) {
        map[d + 1] = 0;
        if (!s->keep_device[d])
            continue;
        device_config *dev = &sc->devices[sc->n_devices++];
        *dev = base->devices[d];
        dev->clock = s->clocks[d];
        if (s->seedless)
            dev->net = sc->network;
        map[d + 1] = sc->n_devices;
    }
    sc->steps = arena_alloc(&sc->arena, (size_t)(base->n_steps + 1) * sizeof *sc->steps);
    sc->n_steps = 0;
    for (int i = 0; i < base->n_steps; i++) {
        if (!s->keep_step[i])
            continue;
        const step *src = &base->steps[i];
        step *dst = &sc->steps[sc->n_steps];
        *dst = *src;
        dst->at_us = s->at_us[i];
        dst->for_us = s->for_us[i];
        dst->nodes = arena_alloc(&sc->arena, (size_t)(src->n_nodes + 1) * sizeof *dst->nodes);
        dst->n_nodes = 0;
        for (int n = 0; n < src->n_nodes; n++) {
            int node = src->nodes[n];
            int mapped = node == NODE_SERVER ? NODE_SERVER : map[node];
            if (node == NODE_SERVER || mapped > 0)
                dst->nodes[dst->n_nodes++] = mapped;
        }
        if (dst->n_nodes == 0)
            continue;   /* it acted only on removed devices */
        if (src->kind == STEP_OP && src->op.n_fields > 0 && src->op.kind != OP_INCREMENT) {
            op_field *fields = arena_alloc(&sc->arena, (size_t)src->op.n_fields * sizeof *fields);
            int n = 0;
            for (int f = 0; f < src->op.n_fields; f++)
                if (s->field_mask[i] & (UINT64_C(1) << f))
                    fields[n++] = src->op.fields[f];
            dst->op.fields = fields;
            dst->op.n_fields = n;
        }
        sc->n_steps++;
    }
    scenario_sort_steps(sc);
    drop_same_user_switches(sc);
    return sc;
}

/* The classes state s fails with under --strict. Counts a run. */
static vclass_set failing_classes(shrinker *k, const state *s)
{
    k->runs++;
    scenario *sc = build(k, s);
    run_result r;
    diag d;
    diag_init(&d);
    vclass_set failing = 0;
    if (sim_run(sc, k->opt->seed, &(run_options){ 0 }, &r, &d)) {
        verdict v;
        verdict_judge(sc, &r, true, &v);
        failing = v.failing;
        verdict_free(&v);
    }
    run_result_free(&r);
    diag_free(&d);
    scenario_free(sc);
    return failing;
}

/* Does state s still fail with the target class? Counts a run. */
static bool fails(shrinker *k, const state *s)
{
    if (k->runs >= k->runs_max)
        return false;
    k->runs++;
    scenario *sc = build(k, s);
    run_result r;
    diag d;
    diag_init(&d);
    bool ok = sim_run(sc, k->opt->seed, &(run_options){ 0 }, &r, &d);
    bool failing = false;
    if (ok) {
        verdict v;
        verdict_judge(sc, &r, true, &v);
        failing = (v.failing & VCLASS_BIT(k->target)) != 0;
        verdict_free(&v);
    }
    run_result_free(&r);
    diag_free(&d);
    scenario_free(sc);
    return failing;
}

static void note(shrinker *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(shrinker *k, const char *fmt, ...)
{
    if (!k->opt->note)
        return;
    buf b;
    buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    buf_printf(&b, " (after %d runs)", k->runs);
    k->opt->note(k->opt->ctx, b.data);
    buf_free(&b);
}

/* Try a modified copy of the current state; keep it if it still fails. */
static bool attempt(shrinker *k, state *trial)
{
    if (fails(k, trial)) {
        state_copy(&k->cur, trial, k->base);
        return true;
    }
    state_copy(trial, &k->cur, k->base);
    return false;
}

static int count_true(const bool *v, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += v[i];
    return c;
}

static bool pass_seedless(shrinker *k, state *trial)
{
    bool changed = false;
    if (!k->cur.seedless) {
        trial->seedless = true;
        if (attempt(k, trial)) {
            note(k, "network made constant and fault-free: the scenario no longer needs a seed");
            changed = true;
        }
    }
    if (k->cur.end_us != 0) {
        trial->end_us = 0;
        if (attempt(k, trial)) {
            note(k, "the timeline ends at the last step");
            changed = true;
        }
    }
    return changed;
}

static bool pass_devices(shrinker *k, state *trial)
{
    bool changed = false;
    for (int d = k->base->n_devices - 1; d >= 0; d--) {
        if (!k->cur.keep_device[d] || count_true(k->cur.keep_device, k->base->n_devices) <= 1)
            continue;
        trial->keep_device[d] = false;
        if (attempt(k, trial)) {
            note(k, "removed device %s", k->base->devices[d].name);
            changed = true;
        }
    }
    return changed;
}

/* Zeller's ddmin over the kept steps: remove the largest chunks that keep it failing. */
static bool pass_steps(shrinker *k, state *trial)
{
    int n_base = k->base->n_steps;
    int *kept = xmalloc((size_t)(n_base + 1) * sizeof *kept);
    bool changed = false;
    int granularity = 2;
    for (;;) {
        int n = 0;
        for (int i = 0; i < n_base; i++)
            if (k->cur.keep_step[i])
                kept[n++] = i;
        if (n < 1 || k->runs >= k->runs_max)
            break;
        if (granularity > n)
            granularity = n;
        bool reduced = false;
        for (int c = 0; c < granularity && !reduced; c++) {
            int lo = (int)((int64_t)n * c / granularity), hi = (int)((int64_t)n * (c + 1) / granularity);
            for (int i = lo; i < hi; i++)
                trial->keep_step[kept[i]] = false;
            if (attempt(k, trial)) {
                note(k, "removed %d step%s (%d left)", hi - lo, hi - lo == 1 ? "" : "s", n - (hi - lo));
                reduced = changed = true;
                granularity = granularity > 2 ? granularity - 1 : 2;
            }
        }
        if (!reduced) {
            if (granularity >= n)
                break;
            granularity = granularity * 2 < n ? granularity * 2 : n;
        }
    }
    xfree(kept);
    return changed;
}

static bool pass_fields(shrinker *k, state *trial)
{
    bool changed = false;
    for (int i = 0; i < k->base->n_steps; i++) {
        const step *s = &k->base->steps[i];
        if (!k->cur.keep_step[i] || s->kind != STEP_OP || s->op.kind == OP_INCREMENT)
            continue;
        for (int f = 0; f < s->op.n_fields; f++) {
            uint64_t bit = UINT64_C(1) << f;
            if (!(k->cur.field_mask[i] & bit) || __builtin_popcountll(k->cur.field_mask[i]) <= 1)
                continue;
            trial->field_mask[i] &= ~bit;
            if (attempt(k, trial)) {
                note(k, "dropped field %s of a %s", s->op.fields[f].name, op_kind_name(s->op.kind));
                changed = true;
            }
        }
    }
    return changed;
}

/* Move v toward zero: to zero, else halve while it keeps failing; results rounded to whole seconds. */
static bool reduce_toward_zero(shrinker *k, state *trial, int64_t *field_in_trial, int64_t *field_in_cur, int64_t unit,
                               const char *what, const char *device)
{
    bool changed = false;
    if (*field_in_cur == 0)
        return false;
    *field_in_trial = 0;
    if (attempt(k, trial)) {
        note(k, "%s of %s set to 0", what, device);
        return true;
    }
    for (int i = 0; i < 20 && *field_in_cur / 2 / unit * unit != *field_in_cur; i++) {
        int64_t half = *field_in_cur / 2 / unit * unit;
        if (half == *field_in_cur)
            break;
        *field_in_trial = half;
        if (!attempt(k, trial))
            break;
        changed = true;
    }
    /* Round what is left toward zero, coarsest first, for a readable file. */
    const int64_t roundings[] = { 60 * unit, 10 * unit, unit };
    for (size_t r = 0; r < sizeof roundings / sizeof roundings[0]; r++) {
        int64_t rounded = *field_in_cur / roundings[r] * roundings[r];
        if (rounded == *field_in_cur || rounded == 0)
            continue;
        *field_in_trial = rounded;
        if (attempt(k, trial)) {
            changed = true;
            break;
        }
    }
    if (changed)
        note(k, "%s of %s reduced", what, device);
    return changed;
}

static bool is_window(const step *s)
{
    return s->kind == STEP_SERVER_ANSWER || (s->kind == STEP_STORAGE && s->storage.kind == STORAGE_DISK_FULL);
}

/*
 * A window (the gateway's, or a full disk's) as short as it can be while the run still fails: halved while it does,
 * never below a second (a window of 0s is no window, and the loader refuses one), then
 * rounded down to whole minutes, ten seconds or seconds for a readable file.
 */
static bool pass_windows(shrinker *k, state *trial)
{
    bool changed = false;
    for (int i = 0; i < k->base->n_steps; i++) {
        if (!k->cur.keep_step[i] || !is_window(&k->base->steps[i]))
            continue;
        bool shorter = false;
        for (int n = 0; n < 30 && k->cur.for_us[i] / 2 >= SEC; n++) {
            trial->for_us[i] = k->cur.for_us[i] / 2;
            if (!attempt(k, trial))
                break;
            shorter = true;
        }
        const int64_t roundings[] = { 60 * SEC, 10 * SEC, SEC };
        for (size_t r = 0; r < sizeof roundings / sizeof roundings[0]; r++) {
            int64_t rounded = k->cur.for_us[i] / roundings[r] * roundings[r];
            if (rounded == k->cur.for_us[i] || rounded == 0)
                continue;
            trial->for_us[i] = rounded;
            if (attempt(k, trial)) {
                shorter = true;
                break;
            }
        }
        if (shorter) {
            char span[DURATION_TEXT_MAX];
            if (k->base->steps[i].kind == STEP_STORAGE)
                note(k, "a disk_full window shortened to %s", duration_format(k->cur.for_us[i], span, sizeof span));
            else
                note(k, "a server_%ss window shortened to %s", server_answer_name(k->base->steps[i].answer),
                     duration_format(k->cur.for_us[i], span, sizeof span));
            changed = true;
        }
    }
    return changed;
}

static bool pass_clocks(shrinker *k, state *trial)
{
    bool changed = false;
    for (int d = 0; d < k->base->n_devices; d++) {
        if (!k->cur.keep_device[d])
            continue;
        const char *name = k->base->devices[d].name;
        changed |= reduce_toward_zero(k, trial, &trial->clocks[d].offset_us, &k->cur.clocks[d].offset_us, SEC,
                                      "clock offset", name);
        changed |= reduce_toward_zero(k, trial, &trial->clocks[d].drift_ppb, &k->cur.clocks[d].drift_ppb, 1000,
                                      "clock drift", name);
    }
    return changed;
}

/*
 * Which steps' order can change a run: two that act on a common device, or
 * one that acts on the server (a server clock step touches every exchange)
 * and any other. Steps on different devices may share an instant.
 */
/*
 * The earliest times steps may move to, step by step in timeline order: no
 * earlier than any kept step before, and a second after every one whose
 * order with it matters. So a compressed timeline never puts two such steps
 * at one instant, where only their order in the file would tell them apart.
 */
typedef struct order_floor {
    int64_t *last_us;          /* by base node index: the latest kept step acting on it; -1 none */
    int64_t last_any_us;       /* the latest kept step; -1 none */
    int64_t last_server_us;    /* the latest kept step acting on the server; -1 none */
} order_floor;

static void floor_init(order_floor *f, const scenario *base)
{
    f->last_us = xmalloc((size_t)(base->n_devices + 1) * sizeof *f->last_us);
    for (int n = 0; n <= base->n_devices; n++)
        f->last_us[n] = -1;
    f->last_any_us = f->last_server_us = -1;
}

static void floor_free(order_floor *f)
{
    xfree(f->last_us);
}

static int64_t later(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* The earliest time st may take after the steps added so far. */
static int64_t floor_of(const order_floor *f, const step *st)
{
    int64_t lo = later(0, f->last_any_us);
    if (f->last_server_us >= 0)
        lo = later(lo, f->last_server_us + SEC);
    for (int x = 0; x < st->n_nodes; x++) {
        if (st->nodes[x] == NODE_SERVER && f->last_any_us >= 0)
            lo = later(lo, f->last_any_us + SEC);
        else if (st->nodes[x] != NODE_SERVER && f->last_us[st->nodes[x]] >= 0)
            lo = later(lo, f->last_us[st->nodes[x]] + SEC);
    }
    return lo;
}

static void floor_add(order_floor *f, const step *st, int64_t at_us)
{
    f->last_any_us = later(f->last_any_us, at_us);
    for (int x = 0; x < st->n_nodes; x++) {
        if (st->nodes[x] == NODE_SERVER)
            f->last_server_us = later(f->last_server_us, at_us);
        else
            f->last_us[st->nodes[x]] = later(f->last_us[st->nodes[x]], at_us);
    }
}

/* Whether trial puts a step below its floor that cur did not (cur may keep ties the scenario came with). */
static bool breaks_order(const shrinker *k, const state *trial)
{
    order_floor ft, fc;
    floor_init(&ft, k->base);
    floor_init(&fc, k->base);
    bool broken = false;
    for (int i = 0; i < k->base->n_steps && !broken; i++) {
        if (!trial->keep_step[i])
            continue;
        const step *st = &k->base->steps[i];
        broken = trial->at_us[i] < floor_of(&ft, st) && k->cur.at_us[i] >= floor_of(&fc, st);
        floor_add(&ft, st, trial->at_us[i]);
        floor_add(&fc, st, k->cur.at_us[i]);
    }
    floor_free(&ft);
    floor_free(&fc);
    return broken;
}

/* Bring each step as early as it can go after the one before it (shorter spans, fewer idle hours). */
static bool pass_time(shrinker *k, state *trial)
{
    bool changed = false;
    int64_t prev = 0;
    order_floor floor;
    floor_init(&floor, k->base);
    for (int i = 0; i < k->base->n_steps; i++) {
        if (!k->cur.keep_step[i])
            continue;
        int64_t at = k->cur.at_us[i];
        int64_t lo = floor_of(&floor, &k->base->steps[i]);
        const int64_t candidates[] = { lo, prev + SEC, prev + 10 * SEC, prev + 60 * SEC, prev + (at - prev) / 2,
                                       at / SEC * SEC };
        for (size_t c = 0; c < sizeof candidates / sizeof candidates[0]; c++) {
            int64_t t = candidates[c];
            if (t >= at || t < lo)
                continue;
            trial->at_us[i] = t;
            if (attempt(k, trial)) {
                changed = true;
                break;
            }
        }
        prev = k->cur.at_us[i];
        floor_add(&floor, &k->base->steps[i], prev);
    }
    floor_free(&floor);
    if (changed)
        note(k, "timeline compressed");
    return changed;
}

/*
 * Shift everything from a step onwards earlier, closing the idle gap before
 * it. Sync timers tick from boot, so a failure can hinge on where a step
 * falls within a period: the gaps tried keep alignment with common periods
 * (the gap modulo 1m, 5m, 1h) as well as closing it outright.
 */
static bool pass_shift(shrinker *k, state *trial)
{
    bool changed = false;
    int64_t prev = 0;
    for (int i = 0; i < k->base->n_steps; i++) {
        if (!k->cur.keep_step[i])
            continue;
        int64_t at = k->cur.at_us[i];
        int64_t gap = at - prev;
        const int64_t candidates[] = { 0, SEC, gap % (60 * SEC), gap % (300 * SEC), gap % (3600 * SEC), gap / 2 };
        int64_t best = gap;
        for (size_t c = 0; c < sizeof candidates / sizeof candidates[0]; c++) {
            int64_t new_gap = candidates[c];
            if (new_gap >= best || new_gap < 0)
                continue;
            int64_t delta = gap - new_gap;
            for (int j = 0; j < k->base->n_steps; j++)
                if (k->cur.keep_step[j] && k->cur.at_us[j] >= at)
                    trial->at_us[j] = k->cur.at_us[j] - delta;
            if (breaks_order(k, trial)) {   /* distinct times where order matters stay distinct */
                state_copy(trial, &k->cur, k->base);
                continue;
            }
            if (attempt(k, trial)) {
                best = new_gap;
                changed = true;
                break;
            }
        }
        prev = k->cur.at_us[i];
    }
    if (changed)
        note(k, "idle time removed");
    return changed;
}

static int64_t last_step_us(const scenario *base, const state *s)
{
    int64_t last = 0;
    for (int i = 0; i < base->n_steps; i++)
        if (s->keep_step[i] && s->at_us[i] > last)
            last = s->at_us[i];
    return last;
}

/* The class a seed is shrunk for when none is named: the most telling one it fails with. */
static int pick_target(vclass_set failing)
{
    static const vclass PREFERENCE[] = { VC_LOST_UPDATE,   VC_RESURRECTION,     VC_UNDELIVERED,    VC_DUPLICATE,
                                         VC_COUNTER_DRIFT, VC_ORDER_DIVERGENCE, VC_DIVERGENCE,     VC_TENANT_LEAK,
                                         VC_DANGLING_REF,  VC_SILENT_OVERWRITE, VC_NO_QUIESCENCE };
    for (size_t i = 0; i < sizeof PREFERENCE / sizeof PREFERENCE[0]; i++)
        if (failing & VCLASS_BIT(PREFERENCE[i]))
            return PREFERENCE[i];
    return -1;
}

bool shrink_scenario(const scenario *tmpl, const shrink_options *opt, shrink_result *out, diag *d)
{
    memset(out, 0, sizeof *out);
    scenario *base = scenario_for_seed(tmpl, opt->seed, d);
    if (!base)
        return false;
    /* The original run, strictly judged: what does it fail with? */
    run_result r;
    bool ok = sim_run(base, opt->seed, &(run_options){ 0 }, &r, d);
    vclass_set failing = 0;
    if (ok) {
        verdict v;
        verdict_judge(base, &r, true, &v);
        failing = v.failing;
        verdict_free(&v);
    }
    run_result_free(&r);
    if (!ok) {
        scenario_free(base);
        return false;
    }
    int target = opt->target >= 0 ? opt->target : pick_target(failing);
    if (target < 0 || !(failing & VCLASS_BIT(target))) {
        buf classes;
        buf_init(&classes);
        for (int c = 0; c < VC_COUNT; c++)
            if (failing & VCLASS_BIT(c))
                buf_printf(&classes, "%s%s", classes.len ? ", " : "", vclass_name((vclass)c));
        if (opt->target >= 0)
            diag_error(d, (src_pos){ .file = tmpl->path }, "seed %llu does not fail with %s%s%s",
                       (unsigned long long)opt->seed, vclass_name((vclass)opt->target),
                       classes.len ? "; it fails with " : " (it fails with nothing under --strict)",
                       classes.len ? classes.data : "");
        else
            diag_error(d, (src_pos){ .file = tmpl->path }, "seed %llu does not fail, even under --strict: nothing to shrink",
                       (unsigned long long)opt->seed);
        buf_free(&classes);
        scenario_free(base);
        return false;
    }

    shrinker k = { .base = base, .opt = opt, .target = (vclass)target, .d = d,
                   .runs_max = opt->runs_max > 0 ? opt->runs_max : 5000 };
    state_alloc(&k.cur, base);
    for (int i = 0; i < base->n_devices; i++) {
        k.cur.keep_device[i] = true;
        k.cur.clocks[i] = base->devices[i].clock;
    }
    for (int i = 0; i < base->n_steps; i++) {
        k.cur.keep_step[i] = true;
        k.cur.at_us[i] = base->steps[i].at_us;
        k.cur.for_us[i] = base->steps[i].for_us;
        k.cur.field_mask[i] = base->steps[i].op.n_fields >= 64 ? ~UINT64_C(0)
                                                               : (UINT64_C(1) << base->steps[i].op.n_fields) - 1;
    }
    k.cur.end_us = base->end_us;
    state trial;
    state_alloc(&trial, base);
    state_copy(&trial, &k.cur, base);
    out->span_before_us = last_step_us(base, &k.cur) > base->end_us ? last_step_us(base, &k.cur) : base->end_us;

    pass_seedless(&k, &trial);
    for (int round = 0; round < 10 && k.runs < k.runs_max; round++) {
        bool changed = false;
        changed |= pass_devices(&k, &trial);
        changed |= pass_steps(&k, &trial);
        changed |= pass_fields(&k, &trial);
        changed |= pass_clocks(&k, &trial);
        changed |= pass_windows(&k, &trial);
        changed |= pass_shift(&k, &trial);
        changed |= pass_time(&k, &trial);
        if (!k.cur.seedless || k.cur.end_us)
            changed |= pass_seedless(&k, &trial);
        if (!changed)
            break;
    }

    out->minimal = build(&k, &k.cur);
    /* Always the seed it was shrunk with, seedless or not: the file's own seed: replays the run verified. */
    out->minimal->has_seed = true;
    out->minimal->seed = opt->seed;
    out->target = (vclass)target;
    out->failing = failing_classes(&k, &k.cur);
    out->runs = k.runs;
    out->hit_bound = k.runs >= k.runs_max;
    out->seedless = k.cur.seedless;
    out->devices_before = base->n_devices;
    out->devices_after = out->minimal->n_devices;
    out->steps_before = base->n_steps;
    out->steps_after = out->minimal->n_steps;
    for (int i = 0; i < base->n_steps; i++)
        if (k.cur.keep_step[i] && base->steps[i].kind == STEP_OP && base->steps[i].op.kind != OP_INCREMENT)
            out->fields_removed += base->steps[i].op.n_fields - __builtin_popcountll(k.cur.field_mask[i]);
    out->span_after_us = last_step_us(base, &k.cur);
    char before[DURATION_TEXT_MAX], after[DURATION_TEXT_MAX];
    buf b;
    buf_init(&b);
    buf_printf(&b, "Shrunk in %d runs%s: %d of %d devices and %d of %d steps kept, %d field%s dropped from writes, "
                   "timeline from %s to %s; %s.",
               k.runs, out->hit_bound ? " (stopped at the bound on runs)" : "", out->devices_after,
               out->devices_before, out->steps_after, out->steps_before, out->fields_removed,
               out->fields_removed == 1 ? "" : "s", duration_human(out->span_before_us, before, sizeof before),
               duration_human(out->span_after_us, after, sizeof after),
               out->seedless ? "the network is constant and fault-free, so it fails with any seed"
                             : "it still needs its seed (its failure depends on the network's random draws)");
    out->summary = buf_take(&b);
    state_free(&trial);
    state_free(&k.cur);
    /* The minimal scenario borrows from the base; hand the base's arena over with it. */
    out->minimal_base = base;
    return true;
}

void shrink_result_free(shrink_result *r)
{
    scenario_free(r->minimal);
    scenario_free(r->minimal_base);
    xfree(r->summary);
    memset(r, 0, sizeof *r);
}
