/*
 * test-workload: what a workload draws for a seed.
 *
 * The same seed gives the same steps and another seed other steps; a
 * device's draws do not depend on other users' devices (removing one leaves
 * the rest in place); writes follow the user's timeline (no create of a
 * live record, no edit of a deleted one); Zipf popularity makes the first
 * keys hot and uniform does not; the op mix holds its ratios; swarm mode
 * switches each configured fault kind on for about half the seeds, never an
 * unconfigured one, and draws rates no higher than configured; a long
 * run refuses almost none of its writes; server crashes come only when
 * asked for and move nothing else; and writes keep the profile's
 * schemas (types, enumerations, required fields) without changing the draws.
 */
#include "base/xalloc.h"
#include "sim/scenario.h"
#include "sim/snapshot.h"
#include "sim/workload.h"
#include "sim/world.h"
#include "tests/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/syncsim-test-workload-XXXXXX";

static scenario *load_text(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(path, &d);
    if (!sc)
        fprintf(stderr, "%s: %s\n", path, d.message);
    diag_free(&d);
    return sc;
}

static scenario *instance(const scenario *tmpl, uint64_t seed)
{
    diag d;
    diag_init(&d);
    scenario *sc = workload_instantiate(tmpl, seed, &d);
    if (!sc)
        fprintf(stderr, "instantiate: %s\n", d.message);
    diag_free(&d);
    return sc;
}

static bool same_step(const step *a, const step *b)
{
    if (a->at_us != b->at_us || a->kind != b->kind || a->n_nodes != b->n_nodes || a->direction != b->direction ||
        a->by_us != b->by_us)
        return false;
    for (int i = 0; i < a->n_nodes; i++)
        if (a->nodes[i] != b->nodes[i])
            return false;
    if (a->kind != STEP_OP)
        return true;
    if (a->op.kind != b->op.kind || strcmp(a->op.id, b->op.id) != 0 || a->op.n_fields != b->op.n_fields)
        return false;
    for (int i = 0; i < a->op.n_fields; i++)
        if (strcmp(a->op.fields[i].name, b->op.fields[i].name) != 0 ||
            !value_equal(&a->op.fields[i].v, &b->op.fields[i].v))
            return false;
    return true;
}

static bool same_steps(const scenario *a, const scenario *b)
{
    if (a->n_steps != b->n_steps)
        return false;
    for (int i = 0; i < a->n_steps; i++)
        if (!same_step(&a->steps[i], &b->steps[i]))
            return false;
    return true;
}

static const char FAULTY[] =
    "name: faulty\n"
    "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
    "devices:\n"
    "  a1: { user: ann }\n"
    "  a2: { user: ann }\n"
    "  b1: { user: bob }\n"
    "workload:\n"
    "  duration: 6h\n"
    "  writes_per_hour: 30\n"
    "  mix: { create: 5, update: 60, delete: 10, increment: 15, append: 10 }\n"
    "  keys: 6\n"
    "  fields: 2\n"
    "  offline: { online_mean: 30m, offline_mean: 5m }\n"
    "  clocks: { offset: { dist: uniform, max: 5m }, drift_ppm: { dist: uniform, max: 50 } }\n"
    "  network: { loss: 0.01, partitions_per_hour: 0.5, partition_mean: 2m }\n"
    "  crashes: { per_day: 4, down_mean: 1m }\n";

/* FAULTY without device a2 (ann keeps a1) or without bob. */
static const char WITHOUT_BOB[] =
    "name: faulty\n"
    "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
    "devices:\n"
    "  a1: { user: ann }\n"
    "  a2: { user: ann }\n"
    "workload:\n"
    "  duration: 6h\n"
    "  writes_per_hour: 30\n"
    "  mix: { create: 5, update: 60, delete: 10, increment: 15, append: 10 }\n"
    "  keys: 6\n"
    "  fields: 2\n"
    "  offline: { online_mean: 30m, offline_mean: 5m }\n"
    "  clocks: { offset: { dist: uniform, max: 5m }, drift_ppm: { dist: uniform, max: 50 } }\n"
    "  network: { loss: 0.01, partitions_per_hour: 0.5, partition_mean: 2m }\n"
    "  crashes: { per_day: 4, down_mean: 1m }\n";

static const char WITHOUT_A2[] =
    "name: faulty\n"
    "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
    "devices:\n"
    "  a1: { user: ann }\n"
    "  b1: { user: bob }\n"
    "workload:\n"
    "  duration: 6h\n"
    "  writes_per_hour: 30\n"
    "  mix: { create: 5, update: 60, delete: 10, increment: 15, append: 10 }\n"
    "  keys: 6\n"
    "  fields: 2\n"
    "  offline: { online_mean: 30m, offline_mean: 5m }\n"
    "  clocks: { offset: { dist: uniform, max: 5m }, drift_ppm: { dist: uniform, max: 50 } }\n"
    "  network: { loss: 0.01, partitions_per_hour: 0.5, partition_mean: 2m }\n"
    "  crashes: { per_day: 4, down_mean: 1m }\n";

static void test_seeds(void)
{
    scenario *tmpl = load_text("faulty", FAULTY);
    EXPECT(tmpl != NULL);
    if (!tmpl)
        return;
    scenario *x = instance(tmpl, 7), *y = instance(tmpl, 7), *z = instance(tmpl, 8);
    EXPECT(x && y && z);
    if (x && y && z) {
        EXPECT(x->n_steps > 100);
        EXPECT(same_steps(x, y));
        EXPECT(!same_steps(x, z));
        /* Every kind of step the configuration asks for is there. */
        bool seen[STEP_CLOCK + 1] = { false };
        for (int i = 0; i < x->n_steps; i++)
            seen[x->steps[i].kind] = true;
        EXPECT(seen[STEP_OP] && seen[STEP_OFFLINE] && seen[STEP_ONLINE] && seen[STEP_PARTITION] &&
               seen[STEP_HEAL] && seen[STEP_CRASH] && seen[STEP_RESTART] && seen[STEP_SYNC]);
        /* Steps are in time order. */
        for (int i = 1; i < x->n_steps; i++)
            EXPECT(x->steps[i - 1].at_us <= x->steps[i].at_us);
        /* Clocks were drawn within the bounds. */
        for (int d = 0; d < x->n_devices; d++) {
            EXPECT(x->devices[d].clock.offset_us >= -300000000 && x->devices[d].clock.offset_us <= 300000000);
            EXPECT(x->devices[d].clock.drift_ppb >= -50000 && x->devices[d].clock.drift_ppb <= 50000);
        }
    }
    scenario_free(z);
    scenario_free(y);
    scenario_free(x);
    scenario_free(tmpl);
}

/* The steps of device name (by name) in sc, in order. */
static int device_steps(const scenario *sc, const char *name, const step **out, int cap)
{
    int node = scenario_node(sc, name), n = 0;
    for (int i = 0; i < sc->n_steps && n < cap; i++)
        if (sc->steps[i].n_nodes == 1 && sc->steps[i].nodes[0] == node && sc->steps[i].at_us > 0)
            out[n++] = &sc->steps[i];
    return n;
}

static void test_independence(void)
{
    scenario *full_t = load_text("full", FAULTY), *nobob_t = load_text("nobob", WITHOUT_BOB),
             *noa2_t = load_text("noa2", WITHOUT_A2);
    EXPECT(full_t && nobob_t && noa2_t);
    if (!full_t || !nobob_t || !noa2_t)
        return;
    scenario *full = instance(full_t, 11), *nobob = instance(nobob_t, 11), *noa2 = instance(noa2_t, 11);
    enum { CAP = 4096 };
    const step **p = xcalloc(CAP, sizeof *p), **q = xcalloc(CAP, sizeof *q);

    /* Removing another user's device changes nothing of ann's devices. */
    int n = device_steps(full, "a1", p, CAP), m = device_steps(nobob, "a1", q, CAP);
    EXPECT(n > 50);
    EXPECT_INT(m, n);
    bool same = m == n;
    for (int i = 0; same && i < n; i++)
        same = same_step(p[i], q[i]);
    EXPECT(same);

    /* Removing a device of the same user keeps a1's write times, records,
     * faults and clock; only the meaning of a write may change (its edit
     * becomes a re-create when the other device deleted the record). */
    n = device_steps(full, "a1", p, CAP);
    m = device_steps(noa2, "a1", q, CAP);
    EXPECT_INT(m, n);
    int kinds_changed = 0;
    for (int i = 0; i < n && i < m; i++) {
        EXPECT(p[i]->at_us == q[i]->at_us && p[i]->kind == q[i]->kind);
        if (p[i]->kind == STEP_OP) {
            EXPECT_STR(p[i]->op.id, q[i]->op.id);
            kinds_changed += p[i]->op.kind != q[i]->op.kind;
        }
    }
    EXPECT(kinds_changed < n / 4);
    EXPECT_INT(full->devices[0].clock.offset_us, noa2->devices[0].clock.offset_us);
    free(q);
    free(p);
    scenario_free(noa2);
    scenario_free(nobob);
    scenario_free(full);
    scenario_free(noa2_t);
    scenario_free(nobob_t);
    scenario_free(full_t);
}

/* Along each user's timeline, creates make records and every other write finds one. */
static void test_timeline(void)
{
    scenario *tmpl = load_text("timeline", FAULTY);
    if (!tmpl)
        return;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        scenario *sc = instance(tmpl, seed);
        if (!sc)
            continue;
        /* Keys are "<user>-k<i>", unique across users: one liveness map covers all. */
        enum { KEYS = 64 };
        const char *ids[KEYS];
        bool alive[KEYS];
        int n_ids = 0, bad = 0, creates = 0, deletes = 0;
        for (int i = 0; i < sc->n_steps; i++) {
            const step *s = &sc->steps[i];
            if (s->kind != STEP_OP)
                continue;
            int k = 0;
            while (k < n_ids && strcmp(ids[k], s->op.id) != 0)
                k++;
            if (k == n_ids) {
                if (n_ids == KEYS)
                    break;
                ids[n_ids] = s->op.id;
                alive[n_ids++] = false;
            }
            if (s->op.kind == OP_CREATE) {
                bad += alive[k];
                alive[k] = true;
                creates += s->at_us > 0;
            } else {
                bad += !alive[k];
                if (s->op.kind == OP_DELETE) {
                    alive[k] = false;
                    deletes++;
                }
            }
        }
        EXPECT_INT(bad, 0);
        EXPECT(creates > 0 && deletes > 0);
        EXPECT_INT(n_ids, 12);   /* 6 keys for each of ann and bob */
        scenario_free(sc);
    }
    scenario_free(tmpl);
}

/* Count writes per key index (the number after "-k") in an instance. */
static void key_counts(const scenario *sc, int *counts, int keys)
{
    memset(counts, 0, (size_t)keys * sizeof *counts);
    for (int i = 0; i < sc->n_steps; i++) {
        const step *s = &sc->steps[i];
        if (s->kind != STEP_OP || s->at_us == 0)
            continue;
        const char *k = strstr(s->op.id, "-k");
        int idx = k ? atoi(k + 2) - 1 : -1;
        if (idx >= 0 && idx < keys)
            counts[idx]++;
    }
}

static void test_popularity_and_mix(void)
{
    static const char ZIPF[] =
        "name: zipf\n"
        "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
        "workload:\n"
        "  duration: 2d\n"
        "  users: 1\n"
        "  devices_per_user: 2\n"
        "  writes_per_hour: 60\n"
        "  mix: { update: 3, increment: 1 }\n"
        "  keys: 10\n"
        "  popularity: { dist: zipf, s: 1.2 }\n";
    static const char UNIFORM[] =
        "name: uniform\n"
        "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
        "workload:\n"
        "  duration: 2d\n"
        "  users: 1\n"
        "  devices_per_user: 2\n"
        "  writes_per_hour: 60\n"
        "  mix: { update: 3, increment: 1 }\n"
        "  keys: 10\n";
    scenario *zt = load_text("zipf", ZIPF), *ut = load_text("uniform", UNIFORM);
    EXPECT(zt && ut);
    if (!zt || !ut)
        return;
    scenario *z = instance(zt, 3), *u = instance(ut, 3);
    int zc[10], uc[10];
    key_counts(z, zc, 10);
    key_counts(u, uc, 10);
    int total = 0;
    for (int k = 0; k < 10; k++)
        total += uc[k];
    EXPECT(total > 4000);   /* 2 devices x 60/h x 48h = 5760 expected */
    /* Zipf s=1.2 over 10 keys: key 1 has ~41% of the writes, key 10 ~2.6%. */
    EXPECT(zc[0] > 10 * zc[9]);
    EXPECT(zc[0] > zc[1] && zc[1] > zc[3]);
    /* Uniform: every key within 25% of the mean. */
    for (int k = 0; k < 10; k++)
        EXPECT(uc[k] > total / 10 * 3 / 4 && uc[k] < total / 10 * 5 / 4);
    /* Mix 3:1, no creates or deletes: increments are a quarter, give or take. */
    int incs = 0, others = 0;
    for (int i = 0; i < u->n_steps; i++) {
        const step *s = &u->steps[i];
        if (s->kind != STEP_OP || s->at_us == 0)
            continue;
        if (s->op.kind == OP_INCREMENT)
            incs++;
        else if (s->op.kind == OP_UPDATE)
            others++;
        else
            EXPECT(false);   /* the timeline never needs a create: nothing is deleted */
    }
    EXPECT(incs * 100 > (incs + others) * 22 && incs * 100 < (incs + others) * 28);
    scenario_free(u);
    scenario_free(z);
    scenario_free(ut);
    scenario_free(zt);
}

/*
 * Member by member: memcmp over the struct would compare its padding too (after
 * the bools), which no assignment defines; clang's build left it different
 * between two calls with equal members.
 */
static bool same_choice(const swarm_choice *a, const swarm_choice *b)
{
    return a->offline == b->offline && a->long_offline == b->long_offline && a->skew == b->skew &&
           a->drift == b->drift && a->clock_steps == b->clock_steps && a->loss == b->loss &&
           a->duplicate == b->duplicate && a->lost_response == b->lost_response && a->partitions == b->partitions &&
           a->crashes == b->crashes && a->loss_p == b->loss_p && a->duplicate_p == b->duplicate_p &&
           a->lost_response_p == b->lost_response_p && a->partitions_per_hour == b->partitions_per_hour &&
           a->crashes_per_day == b->crashes_per_day && a->clock_steps_per_day == b->clock_steps_per_day &&
           a->long_probability == b->long_probability;
}

static void test_swarm(void)
{
    static const char SWARM[] =
        "name: swarm\n"
        "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
        "workload:\n"
        "  duration: 1h\n"
        "  users: 1\n"
        "  devices_per_user: 2\n"
        "  keys: 2\n"
        "  offline: { online_mean: 30m, offline_mean: 5m }\n"
        "  clocks: { offset: { dist: uniform, max: 5m } }\n"
        "  network: { loss: 0.02, lost_response: 0.05 }\n"
        "  swarm: true\n";
    scenario *tmpl = load_text("swarm", SWARM);
    if (!tmpl)
        return;
    const workload_config *w = &tmpl->workload;
    int on_offline = 0, on_skew = 0, on_loss = 0, on_lost = 0, both = 0, never = 0;
    for (uint64_t seed = 1; seed <= 400; seed++) {
        swarm_choice c = workload_swarm(w, seed);
        on_offline += c.offline;
        on_skew += c.skew;
        on_loss += c.loss;
        on_lost += c.lost_response;
        both += c.loss && c.skew;
        /* Kinds the workload does not configure stay off. */
        never += c.drift + c.clock_steps + c.duplicate + c.partitions + c.crashes + c.long_offline;
        EXPECT(c.loss_p >= 0.0 && c.loss_p <= 0.02);
        EXPECT(c.lost_response_p >= 0.0 && c.lost_response_p <= 0.05);
        swarm_choice again = workload_swarm(w, seed);
        EXPECT(same_choice(&c, &again));
    }
    EXPECT_INT(never, 0);
    EXPECT(on_offline > 150 && on_offline < 250);
    EXPECT(on_skew > 150 && on_skew < 250);
    EXPECT(on_loss > 150 && on_loss < 250);
    EXPECT(on_lost > 150 && on_lost < 250);
    EXPECT(both > 60 && both < 140);   /* independent choices */

    /* A seed whose swarm turned skew off draws no clock offsets. */
    for (uint64_t seed = 1; seed <= 40; seed++) {
        swarm_choice c = workload_swarm(w, seed);
        scenario *sc = instance(tmpl, seed);
        if (!sc)
            continue;
        bool skewed = false;
        for (int d = 0; d < sc->n_devices; d++)
            skewed = skewed || sc->devices[d].clock.offset_us != 0;
        EXPECT(skewed == c.skew);
        scenario_free(sc);
    }
    scenario_free(tmpl);
}

static int server_steps(const scenario *sc, step_kind kind)
{
    int n = 0;
    for (int i = 0; i < sc->n_steps; i++)
        n += sc->steps[i].kind == kind && sc->steps[i].n_nodes == 1 && sc->steps[i].nodes[0] == NODE_SERVER;
    return n;
}

/*
 * Power losses (crashes: { power_loss_per_day }): none unless asked; asked for, turning them on
 * changes no earlier swarm choice and leaves every other step where it was (their own stream,
 * drawn last), only devices lose power, and some seeds have them.
 */
static void test_power_losses(void)
{
#define BASE_WORKLOAD                                                                                        \
    "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"                                              \
    "workload:\n"                                                                                           \
    "  duration: 2d\n"                                                                                      \
    "  users: 1\n"                                                                                          \
    "  devices_per_user: 2\n"                                                                               \
    "  keys: 2\n"                                                                                           \
    "  network: { loss: 0.02, lost_response: 0.05 }\n"                                                      \
    "  server_answers: { errors: 0.1, windows_per_day: 12, window_mean: 5m }\n"                             \
    "  auth: { expiries_per_day: 12 }\n"                                                                    \
    "  swarm: true\n"
    static const char OFF[] = "name: power-off\n" BASE_WORKLOAD
                              "  crashes: { per_day: 2, down_mean: 1m, server_per_day: 6 }\n";
    static const char ON[] = "name: power-on\n" BASE_WORKLOAD
                             "  crashes: { per_day: 2, down_mean: 1m, server_per_day: 6, power_loss_per_day: 6 }\n";
#undef BASE_WORKLOAD
    scenario *off = load_text("power-off", OFF), *on = load_text("power-on", ON);
    if (!off || !on) {
        scenario_free(off);
        scenario_free(on);
        return;
    }
    EXPECT(off->workload.power_losses_per_day == 0.0);
    EXPECT(on->workload.power_losses_per_day == 6.0);
    int seeds_with = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        swarm_choice a = workload_swarm(&off->workload, seed), b = workload_swarm(&on->workload, seed);
        EXPECT(same_choice(&a, &b));
        EXPECT(a.server_crashes == b.server_crashes && a.server_crashes_per_day == b.server_crashes_per_day);
        EXPECT(a.server_answers == b.server_answers && a.server_error_p == b.server_error_p);
        EXPECT(a.server_windows == b.server_windows && a.token_expiries == b.token_expiries);
        EXPECT(!a.power_losses);
        EXPECT(b.power_losses_per_day <= 6.0);
        scenario *x = instance(off, seed), *y = instance(on, seed);
        if (x && y) {
            /* Every step of x is in y, in order; what y has besides are power losses and restarts. */
            int k = 0, losses = 0;
            for (int i = 0; i < y->n_steps; i++) {
                const step *t = &y->steps[i];
                EXPECT(t->kind != STEP_POWER_LOSS || t->nodes[0] != NODE_SERVER);
                if (k < x->n_steps && t->kind == x->steps[k].kind && t->at_us == x->steps[k].at_us &&
                    t->nodes[0] == x->steps[k].nodes[0]) {
                    k++;
                    continue;
                }
                EXPECT(t->kind == STEP_POWER_LOSS || t->kind == STEP_RESTART);
                if (t->kind != STEP_POWER_LOSS)
                    continue;
                losses++;
            }
            EXPECT_INT(k, x->n_steps);
            for (int i = 0; i < x->n_steps; i++)
                EXPECT(x->steps[i].kind != STEP_POWER_LOSS);
            EXPECT(losses == 0 || b.power_losses);
            seeds_with += losses > 0;
        }
        scenario_free(x);
        scenario_free(y);
    }
    EXPECT(seeds_with > 0);
    scenario_free(off);
    scenario_free(on);
}

/*
 * Switches of accounts (lifecycle: { account_switches_per_day }, docs/lifecycle.md): none unless asked;
 * asked for, no earlier swarm choice moves (the coin is drawn last, only when configured); every switch
 * names a user of the workload other than the one its device has then; each device makes as many
 * writes as without switches (its own stream), and every write after a switch names a record of the
 * account it switched to; some seeds have them.
 */
static void test_account_switches(void)
{
#define BASE_WORKLOAD                                                                                        \
    "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"                                              \
    "workload:\n"                                                                                           \
    "  duration: 1d\n"                                                                                      \
    "  users: 3\n"                                                                                          \
    "  devices_per_user: 1\n"                                                                               \
    "  writes_per_hour: 6\n"                                                                                \
    "  keys: 2\n"                                                                                           \
    "  crashes: { per_day: 2, down_mean: 1m }\n"                                                            \
    "  swarm: true\n"
    static const char OFF[] = "name: switches-off\n" BASE_WORKLOAD
                              "  lifecycle: { reinstalls_per_day: 2, sign_outs_per_day: 2 }\n";
    static const char ON[] = "name: switches-on\n" BASE_WORKLOAD
                             "  lifecycle: { reinstalls_per_day: 2, sign_outs_per_day: 2, account_switches_per_day: 8 }\n";
#undef BASE_WORKLOAD
    scenario *off = load_text("switches-off", OFF), *on = load_text("switches-on", ON);
    if (!off || !on) {
        scenario_free(off);
        scenario_free(on);
        return;
    }
    EXPECT(off->workload.account_switches_per_day == 0.0 && on->workload.account_switches_per_day == 8.0);
    int seeds_with = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        swarm_choice a = workload_swarm(&off->workload, seed), b = workload_swarm(&on->workload, seed);
        EXPECT(same_choice(&a, &b));
        EXPECT(a.reinstalls == b.reinstalls && a.reinstalls_per_day == b.reinstalls_per_day);
        EXPECT(a.sign_outs == b.sign_outs && a.sign_outs_per_day == b.sign_outs_per_day);
        EXPECT(!a.account_switches && b.account_switches_per_day <= 8.0);
        scenario *x = instance(off, seed), *y = instance(on, seed);
        if (!x || !y) {
            scenario_free(x);
            scenario_free(y);
            continue;
        }
        int writes_x[4] = { 0 }, writes_y[4] = { 0 }, switches = 0;
        const char *user[4] = { NULL };
        for (int d = 0; d < y->n_devices && d < 3; d++)
            user[d + 1] = y->devices[d].user;
        for (int i = 0; i < x->n_steps; i++)
            if (x->steps[i].kind == STEP_OP && x->steps[i].at_us > 0)
                writes_x[x->steps[i].nodes[0]]++;
        for (int i = 0; i < y->n_steps; i++) {
            const step *t = &y->steps[i];
            int node = t->nodes[0];
            EXPECT(node >= 1 && node <= 3);
            if (node < 1 || node > 3)
                continue;
            if (t->kind == STEP_SWITCH_ACCOUNT) {
                EXPECT(b.account_switches);
                EXPECT(t->user && strcmp(t->user, user[node]) != 0);
                bool known = false;
                for (int d = 0; d < y->n_devices; d++)
                    known = known || strcmp(y->devices[d].user, t->user) == 0;
                EXPECT(known);
                user[node] = t->user;
                switches++;
            } else if (t->kind == STEP_OP && t->at_us > 0) {
                writes_y[node]++;
                char prefix[64];
                snprintf(prefix, sizeof prefix, "%s-k", user[node]);
                EXPECT(strncmp(t->op.id, prefix, strlen(prefix)) == 0);
            }
        }
        for (int node = 1; node <= 3; node++)
            EXPECT_INT(writes_y[node], writes_x[node]);
        seeds_with += switches > 0;
        scenario_free(x);
        scenario_free(y);
    }
    EXPECT(seeds_with > 0);
    scenario_free(off);
    scenario_free(on);
}

/*
 * Reinstalls and sign-outs (lifecycle:, docs/lifecycle.md): none unless asked; asked for, turning them
 * on changes no earlier swarm choice and leaves every other step where it was (their own stream, drawn
 * last); each sign-out is followed by its device's sign-in, never a second sign-out between; some seeds
 * have them.
 */
static void test_lifecycle(void)
{
#define BASE_WORKLOAD                                                                                        \
    "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"                                              \
    "workload:\n"                                                                                           \
    "  duration: 2d\n"                                                                                      \
    "  users: 1\n"                                                                                          \
    "  devices_per_user: 2\n"                                                                               \
    "  keys: 2\n"                                                                                           \
    "  network: { loss: 0.02, lost_response: 0.05 }\n"                                                      \
    "  crashes: { per_day: 2, down_mean: 1m, server_per_day: 6, power_loss_per_day: 6 }\n"                  \
    "  storage: { disk_full_per_day: 4, io_errors_per_day: 4 }\n"                                           \
    "  swarm: true\n"
    static const char OFF[] = "name: lifecycle-off\n" BASE_WORKLOAD;
    static const char ON[] = "name: lifecycle-on\n" BASE_WORKLOAD
                             "  lifecycle: { reinstalls_per_day: 6, sign_outs_per_day: 6, signed_out_mean: 20m }\n";
#undef BASE_WORKLOAD
    scenario *off = load_text("lifecycle-off", OFF), *on = load_text("lifecycle-on", ON);
    if (!off || !on) {
        scenario_free(off);
        scenario_free(on);
        return;
    }
    EXPECT(off->workload.reinstalls_per_day == 0.0 && off->workload.sign_outs_per_day == 0.0);
    EXPECT(on->workload.reinstalls_per_day == 6.0 && on->workload.sign_outs_per_day == 6.0);
    EXPECT(on->workload.signed_out_mean_us == 20 * INT64_C(60000000));
    int seeds_with = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        swarm_choice a = workload_swarm(&off->workload, seed), b = workload_swarm(&on->workload, seed);
        EXPECT(same_choice(&a, &b));
        EXPECT(a.power_losses == b.power_losses && a.power_losses_per_day == b.power_losses_per_day);
        EXPECT(a.disk_full == b.disk_full && a.io_errors_per_day == b.io_errors_per_day);
        EXPECT(!a.reinstalls && !a.sign_outs);
        EXPECT(b.reinstalls_per_day <= 6.0 && b.sign_outs_per_day <= 6.0);
        scenario *x = instance(off, seed), *y = instance(on, seed);
        if (x && y) {
            /* Every step of x is in y, in order; what y has besides are lifecycle steps. */
            int k = 0, added = 0;
            bool signed_out[3] = { false, false, false };
            for (int i = 0; i < y->n_steps; i++) {
                const step *t = &y->steps[i];
                if (k < x->n_steps && t->kind == x->steps[k].kind && t->at_us == x->steps[k].at_us &&
                    t->nodes[0] == x->steps[k].nodes[0]) {
                    k++;
                    continue;
                }
                EXPECT(t->kind == STEP_REINSTALL || t->kind == STEP_SIGN_OUT || t->kind == STEP_SIGN_IN);
                EXPECT(t->n_nodes == 1 && t->nodes[0] >= 1 && t->nodes[0] <= 2);
                if (t->n_nodes != 1 || t->nodes[0] < 1 || t->nodes[0] > 2)
                    continue;
                if (t->kind == STEP_SIGN_OUT) {
                    EXPECT(!signed_out[t->nodes[0]]);
                    signed_out[t->nodes[0]] = true;
                } else if (t->kind == STEP_SIGN_IN) {
                    EXPECT(signed_out[t->nodes[0]]);
                    signed_out[t->nodes[0]] = false;
                }
                EXPECT(t->kind != STEP_REINSTALL || b.reinstalls);
                EXPECT(t->kind != STEP_SIGN_OUT || b.sign_outs);
                added++;
            }
            EXPECT_INT(k, x->n_steps);
            seeds_with += added > 0;
        }
        scenario_free(x);
        scenario_free(y);
    }
    EXPECT(seeds_with > 0);
    scenario_free(off);
    scenario_free(on);
}

/*
 * Server crashes, gateway answers and token expiries: none unless server_per_day,
 * server_answers and auth ask; asked for, each crash comes before
 * its restart and the server is never crashed twice without one between; and turning
 * them on changes no earlier swarm choice nor any device's steps (their own stream).
 */
static void test_server_crashes(void)
{
    static const char OFF[] =
        "name: server-off\n"
        "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
        "workload:\n"
        "  duration: 2d\n"
        "  users: 1\n"
        "  devices_per_user: 2\n"
        "  keys: 2\n"
        "  network: { loss: 0.02, lost_response: 0.05 }\n"
        "  crashes: { per_day: 2, down_mean: 1m }\n"
        "  swarm: true\n";
    static const char ON[] =
        "name: server-on\n"
        "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
        "workload:\n"
        "  duration: 2d\n"
        "  users: 1\n"
        "  devices_per_user: 2\n"
        "  keys: 2\n"
        "  network: { loss: 0.02, lost_response: 0.05 }\n"
        "  crashes: { per_day: 2, down_mean: 1m, server_per_day: 6, server_down_mean: 3m }\n"
        "  server_answers: { errors: 0.1, timeouts: 0.05, windows_per_day: 12, window_mean: 5m }\n"
        "  auth: { expiries_per_day: 12 }\n"
        "  swarm: true\n";
    scenario *off = load_text("server-off", OFF), *on = load_text("server-on", ON);
    if (!off || !on) {
        scenario_free(off);
        scenario_free(on);
        return;
    }
    EXPECT(on->workload.server_crashes_per_day == 6.0);
    EXPECT_INT(on->workload.server_down_mean_us, 3 * INT64_C(60000000));
    int seeds_with = 0, seeds_with_windows = 0, seeds_with_answers = 0, seeds_with_expiries = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        swarm_choice a = workload_swarm(&off->workload, seed), b = workload_swarm(&on->workload, seed);
        EXPECT(same_choice(&a, &b));
        EXPECT(!a.server_crashes);
        EXPECT(b.server_crashes_per_day <= 6.0);
        scenario *x = instance(off, seed), *y = instance(on, seed);
        if (x && y) {
            EXPECT_INT(server_steps(x, STEP_CRASH) + server_steps(x, STEP_RESTART), 0);
            EXPECT_INT(server_steps(x, STEP_SERVER_ANSWER), 0);
            EXPECT(x->server_faults.error_p == 0.0 && x->server_faults.timeout_p == 0.0);
            int windows = server_steps(y, STEP_SERVER_ANSWER);
            EXPECT(windows == 0 || b.server_windows);
            seeds_with_windows += windows > 0;
            /* Random answers: the swarm's draw, at most the configured rates; none when it is off. */
            EXPECT(y->server_faults.error_p <= 0.1 && y->server_faults.timeout_p <= 0.05);
            EXPECT(b.server_answers == (y->server_faults.error_p > 0 || y->server_faults.timeout_p > 0));
            seeds_with_answers += b.server_answers;
            int crashes = server_steps(y, STEP_CRASH), restarts = server_steps(y, STEP_RESTART);
            int expiries = 0;
            for (int i = 0; i < y->n_steps; i++)
                expiries += y->steps[i].kind == STEP_EXPIRE_TOKEN;
            for (int i = 0; i < x->n_steps; i++)
                EXPECT(x->steps[i].kind != STEP_EXPIRE_TOKEN);
            EXPECT(expiries == 0 || b.token_expiries);
            seeds_with_expiries += expiries > 0;
            EXPECT(crashes == 0 || b.server_crashes);
            EXPECT(restarts == crashes || restarts == crashes - 1);
            seeds_with += crashes > 0;
            /* Alternating: crash, restart, crash, ... */
            bool down = false;
            for (int i = 0; i < y->n_steps; i++) {
                const step *st = &y->steps[i];
                if (st->n_nodes != 1 || st->nodes[0] != NODE_SERVER || st->kind == STEP_SERVER_ANSWER)
                    continue;
                EXPECT(st->kind == (down ? STEP_RESTART : STEP_CRASH));
                down = !down;
            }
            /* The devices' steps are the same with the server's crashes added. */
            EXPECT_INT(y->n_steps - crashes - restarts - windows - expiries, x->n_steps);
            int k = 0;
            for (int i = 0; i < y->n_steps && k < x->n_steps; i++) {
                if ((y->steps[i].nodes[0] == NODE_SERVER && y->steps[i].kind != STEP_OP) ||
                    y->steps[i].kind == STEP_EXPIRE_TOKEN)
                    continue;
                EXPECT(same_step(&y->steps[i], &x->steps[k]));
                k++;
            }
        }
        scenario_free(x);
        scenario_free(y);
    }
    EXPECT(seeds_with > 5 && seeds_with < 28);   /* swarm turns it on for about half the seeds */
    EXPECT(seeds_with_windows > 5 && seeds_with_windows < 28);
    EXPECT(seeds_with_answers > 5 && seeds_with_answers < 28);
    EXPECT(seeds_with_expiries > 5 && seeds_with_expiries < 28);
    scenario_free(off);
    scenario_free(on);
}


/* Every choice a seed made before storage faults existed. */
static bool same_older_choice(const swarm_choice *a, const swarm_choice *b)
{
    return same_choice(a, b) && a->server_crashes == b->server_crashes && a->server_answers == b->server_answers &&
           a->server_windows == b->server_windows && a->token_expiries == b->token_expiries &&
           a->server_crashes_per_day == b->server_crashes_per_day && a->server_error_p == b->server_error_p &&
           a->server_timeout_p == b->server_timeout_p && a->server_windows_per_day == b->server_windows_per_day &&
           a->token_expiries_per_day == b->token_expiries_per_day;
}

/*
 * Storage faults (storage:): none unless asked for; asked for, full-disk windows of whole
 * seconds and I/O errors of 1 to 3 transactions on devices, and on the server with server: true;
 * swarm turns them on for some seeds, drawing after every older choice, and every other step is
 * the same with them as without (their own streams, storage/<node>).
 */
static void test_storage_faults(void)
{
    static const char BASE[] =
        "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
        "workload:\n"
        "  duration: 2d\n"
        "  users: 1\n"
        "  devices_per_user: 2\n"
        "  keys: 2\n"
        "  network: { loss: 0.02, lost_response: 0.05 }\n"
        "  crashes: { per_day: 2, down_mean: 1m, server_per_day: 2 }\n"
        "  auth: { expiries_per_day: 4 }\n"
        "  swarm: true\n";
    char off_text[1024], on_text[1024];
    snprintf(off_text, sizeof off_text, "name: storage-off\n%s", BASE);
    snprintf(on_text, sizeof on_text,
             "name: storage-on\n%s  storage: { disk_full_per_day: 12, disk_full_mean: 3m, io_errors_per_day: 12, "
             "server: true }\n",
             BASE);
    scenario *off = load_text("storage-off", off_text), *on = load_text("storage-on", on_text);
    if (!off || !on) {
        scenario_free(off);
        scenario_free(on);
        return;
    }
    EXPECT(on->workload.disk_full_per_day == 12.0 && on->workload.io_errors_per_day == 12.0);
    EXPECT_INT(on->workload.disk_full_mean_us, 3 * INT64_C(60000000));
    EXPECT(on->workload.storage_server && !off->workload.storage_server);
    int seeds_with = 0, seeds_with_server = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        swarm_choice a = workload_swarm(&off->workload, seed), b = workload_swarm(&on->workload, seed);
        EXPECT(same_older_choice(&a, &b));
        EXPECT(!a.disk_full && !a.io_errors);
        EXPECT(b.disk_full_per_day <= 12.0 && b.io_errors_per_day <= 12.0);
        scenario *x = instance(off, seed), *y = instance(on, seed);
        if (x && y) {
            EXPECT(!scenario_has_storage_faults(x));
            int storage = 0, server = 0;
            for (int i = 0; i < y->n_steps; i++) {
                const step *st = &y->steps[i];
                if (st->kind != STEP_STORAGE)
                    continue;
                storage++;
                server += st->nodes[0] == NODE_SERVER;
                EXPECT_INT(st->n_nodes, 1);
                if (st->storage.kind == STORAGE_DISK_FULL) {
                    EXPECT(b.disk_full);
                    EXPECT(st->for_us >= 1000000 && st->for_us % 1000000 == 0);
                } else {
                    EXPECT_INT(st->storage.kind, STORAGE_IO_ERROR);
                    EXPECT(b.io_errors);
                    EXPECT(st->storage.writes >= 1 && st->storage.writes <= 3);
                }
            }
            EXPECT(scenario_has_storage_faults(y) == (storage > 0));
            seeds_with += storage > 0;
            seeds_with_server += server > 0;
            EXPECT_INT(y->n_steps - storage, x->n_steps);
            int k = 0;
            for (int i = 0; i < y->n_steps && k < x->n_steps; i++) {
                if (y->steps[i].kind == STEP_STORAGE)
                    continue;
                EXPECT(same_step(&y->steps[i], &x->steps[k]));
                k++;
            }
        }
        scenario_free(x);
        scenario_free(y);
    }
    EXPECT(seeds_with > 5 && seeds_with < 30);
    EXPECT(seeds_with_server > 2);
    scenario_free(off);
    scenario_free(on);
}

/* A long run with deletes refuses few writes: the timeline keeps them meaningful. */
static void test_few_refused(void)
{
    static const char LONG[] =
        "name: long\n"
        "profile: { name: p, accepts: [silent-overwrite], conflicts: { strategy: lww-hlc, counters: crdt } }\n"
        "workload:\n"
        "  duration: 2d\n"
        "  users: 2\n"
        "  devices_per_user: 2\n"
        "  writes_per_hour: 10\n"
        "  mix: { create: 3, update: 70, delete: 5, increment: 15, append: 7 }\n"
        "  keys: 8\n";
    scenario *tmpl = load_text("long", LONG);
    if (!tmpl)
        return;
    scenario *sc = instance(tmpl, 5);
    run_result r;
    diag d;
    diag_init(&d);
    EXPECT(sim_run(sc, 5, &(run_options){ 0 }, &r, &d));
    EXPECT(r.metrics.writes > 1500);
    /* Refusals remain only where a device has not yet heard of another's re-create or delete. */
    EXPECT(r.metrics.writes_refused * 100 < r.metrics.writes * 10);
    run_result_free(&r);
    diag_free(&d);
    scenario_free(sc);
    scenario_free(tmpl);
}

/* The workload of test_schema, under a profile with or without schemas for its types. */
static const char SCHEMA_WORKLOAD[] =
    "workload:\n"
    "  duration: 12h\n"
    "  users: 2\n"
    "  devices_per_user: 2\n"
    "  writes_per_hour: 20\n"
    "  mix: { create: 5, update: 65, delete: 5, increment: 20, append: 5 }\n"
    "  types: [task, note]\n"
    "  keys: 6\n"
    "  fields: 2\n";

/*
 * A profile that validates on both sides, with schemas that require fields
 * the generator would not write, type its own fields otherwise (f1 an
 * integer, count a string, f2 an enumeration) and want a number: no write of
 * the workload may be refused or rejected for it, and the schema changes only
 * what writes say -- the same steps at the same times as without it.
 */
static void test_schema(void)
{
    static const char WITH[] =
        "name: schema\n"
        "profile:\n"
        "  name: p\n"
        "  accepts: [silent-overwrite]\n"
        "  sync: { validate: { client: true, server: true } }\n"
        "  conflicts:\n"
        "    strategy: lww-hlc\n"
        "    types:\n"
        "      task: { schema: { title: { type: string, required: true }, done: { type: bool, required: true },\n"
        "                        status: { type: string, enum: [open, done], required: true },\n"
        "                        f1: int, count: string } }\n"
        "      note: { schema: { weight: { type: number, required: true }, f2: { type: string, enum: [a, b] } } }\n";
    static const char WITHOUT[] =
        "name: schema\n"
        "profile: { name: p, accepts: [silent-overwrite], conflicts: { strategy: lww-hlc } }\n";
    char with[2048], without[1024];
    snprintf(with, sizeof with, "%s%s", WITH, SCHEMA_WORKLOAD);
    snprintf(without, sizeof without, "%s%s", WITHOUT, SCHEMA_WORKLOAD);
    scenario *tmpl = load_text("schema", with), *plain_tmpl = load_text("schema-plain", without);
    if (!tmpl || !plain_tmpl) {
        scenario_free(tmpl);
        scenario_free(plain_tmpl);
        return;
    }
    scenario *sc = instance(tmpl, 3), *plain = instance(plain_tmpl, 3);
    EXPECT_INT(sc->n_steps, plain->n_steps);
    int creates = 0, task_increments = 0;
    for (int i = 0; i < sc->n_steps && i < plain->n_steps; i++) {
        const step *a = &sc->steps[i], *b = &plain->steps[i];
        EXPECT(a->at_us == b->at_us && a->kind == b->kind && a->nodes[0] == b->nodes[0]);
        if (a->kind != STEP_OP)
            continue;
        EXPECT(strcmp(a->op.id, b->op.id) == 0);
        bool task = strcmp(a->op.type, "task") == 0;
        if (a->op.kind == OP_CREATE) {
            creates++;
            int required = 0;
            for (int f = 0; f < a->op.n_fields; f++) {
                const op_field *x = &a->op.fields[f];
                if (f > 0)
                    EXPECT(strcmp(a->op.fields[f - 1].name, x->name) < 0);   /* still sorted by name */
                if (task && strcmp(x->name, "title") == 0)
                    required += x->v.kind == VAL_STRING;
                if (task && strcmp(x->name, "done") == 0)
                    required += x->v.kind == VAL_BOOL;
                if (task && strcmp(x->name, "status") == 0)
                    required += x->v.kind == VAL_STRING && (!strcmp(x->v.s, "open") || !strcmp(x->v.s, "done"));
                if (!task && strcmp(x->name, "weight") == 0)
                    required += x->v.kind == VAL_REAL;
                if (task && strcmp(x->name, "count") == 0)
                    EXPECT(x->v.kind == VAL_STRING);
            }
            EXPECT_INT(required, task ? 3 : 1);
        }
        task_increments += task && a->op.kind == OP_INCREMENT;
        for (int f = 0; f < a->op.n_fields && a->op.kind == OP_UPDATE; f++) {
            const op_field *x = &a->op.fields[f];
            if (task && strcmp(x->name, "f1") == 0)
                EXPECT(x->v.kind == VAL_INT);
            if (!task && strcmp(x->name, "f2") == 0)
                EXPECT(x->v.kind == VAL_STRING && (!strcmp(x->v.s, "a") || !strcmp(x->v.s, "b")));
        }
    }
    EXPECT(creates > 12);
    EXPECT_INT(task_increments, 0);   /* count is a string for tasks: edits instead */

    run_result r;
    diag d;
    diag_init(&d);
    EXPECT(sim_run(sc, 3, &(run_options){ 0 }, &r, &d));
    EXPECT(r.metrics.writes > 300);
    EXPECT_INT(r.metrics.writes_rejected, 0);
    /* What refusals remain are the timeline's (a device not yet told of a delete), never the schema's. */
    EXPECT(r.metrics.writes_refused * 100 < r.metrics.writes * 10);
    EXPECT(!r.metrics.first_refusal || !strstr(r.metrics.first_refusal, "required"));
    EXPECT(!r.metrics.first_refusal || !strstr(r.metrics.first_refusal, " must be "));
    EXPECT_INT(r.metrics.devices_writing, 4);
    run_result_free(&r);
    diag_free(&d);
    scenario_free(sc);
    scenario_free(plain);
    scenario_free(tmpl);
    scenario_free(plain_tmpl);
}


/* --- what the session checks need: refs, event chains, per-device picks, server clock steps --- */

/* A parent and a child type with a reference, written with or without the workload's modelling keys. */
static const char REFS_HEAD[] =
    "name: refs\n"
    "profile:\n"
    "  name: p\n"
    "  accepts: [silent-overwrite]\n"
    "  conflicts: { strategy: lww-hlc, types: { client: { rank: 0 }, pet: { rank: 1, refs: { clientId: client } } } }\n"
    "devices:\n"
    "  a1: { user: ann }\n"
    "  a2: { user: ann, pick: merge }\n"
    "  b1: { user: bob }\n"
    "  b2: { user: bob }\n"
    "workload:\n"
    "  duration: 12h\n"
    "  writes_per_hour: 30\n"
    "  mix: { create: 10, update: 50, delete: 20, append: 20 }\n"
    "  types: [client, pet]\n"
    "  keys: 8\n"
    "  fields: 2\n";

static scenario *refs_template(const char *name, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s", REFS_HEAD, extra);
    return load_text(name, text);
}

static const char *field_of(const step *s, const char *name)
{
    for (int i = 0; i < s->op.n_fields; i++)
        if (strcmp(s->op.fields[i].name, name) == 0 && s->op.fields[i].v.kind == VAL_STRING)
            return s->op.fields[i].v.s;
    return NULL;
}

/* The key number k of "<user>-k<k+1>", or -1. */
static int key_number(const char *id)
{
    const char *k = strstr(id, "-k");
    return k ? atoi(k + 2) - 1 : -1;
}

/*
 * refs: true. Every create of a pet names a client of the same user that is
 * live in the user's timeline at that moment (setup pets: one created before
 * them) and that its device can show (from the setup, or its own create); clients are deleted while pets that name them live; the steps are
 * those without refs at the same times (only what creates say changes); and
 * without the key no write names a parent.
 */
static void test_refs(void)
{
    scenario *plain_tmpl = refs_template("refs-off", ""), *tmpl = refs_template("refs-on", "  refs: true\n");
    if (!plain_tmpl || !tmpl) {
        scenario_free(plain_tmpl);
        scenario_free(tmpl);
        return;
    }
    int named = 0, orphaned_parent_deletes = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        scenario *sc = instance(tmpl, seed), *plain = instance(plain_tmpl, seed);
        if (!sc || !plain) {
            scenario_free(sc);
            scenario_free(plain);
            continue;
        }
        EXPECT_INT(sc->n_steps, plain->n_steps);
        /* The user's timeline: which keys are live, and which client each live pet names. */
        bool alive[2][8] = { { false } };
        int parent_of[2][8], creator[2][8];
        for (int k = 0; k < 16; k++)
            creator[k / 8][k % 8] = -1;
        for (int i = 0; i < sc->n_steps && i < plain->n_steps; i++) {
            const step *a = &sc->steps[i], *b = &plain->steps[i];
            EXPECT(a->at_us == b->at_us && a->kind == b->kind && a->nodes[0] == b->nodes[0]);
            if (a->kind != STEP_OP)
                continue;
            EXPECT(a->op.kind == b->op.kind && strcmp(a->op.id, b->op.id) == 0);
            EXPECT(field_of(b, "clientId") == NULL);
            int u = strncmp(a->op.id, "ann", 3) == 0 ? 0 : 1;
            int k = key_number(a->op.id);
            EXPECT(k >= 0 && k < 8);
            if (k < 0 || k >= 8)
                continue;
            const char *parent = field_of(a, "clientId");
            if (a->op.kind == OP_CREATE && strcmp(a->op.type, "pet") == 0) {
                int p = parent ? key_number(parent) : -1;
                EXPECT(!parent || strncmp(parent, a->op.id, 3) == 0);   /* the same user's client */
                EXPECT(!parent || (p >= 0 && p < 8 && p % 2 == 0 && alive[u][p]));
                /* ... and one the writing device can show: from the setup, or created by itself */
                EXPECT(!parent || (p >= 0 && p < 8 && (creator[u][p] < 0 || creator[u][p] == a->nodes[0])));
                named += parent != NULL;
                parent_of[u][k] = p;
            } else {
                EXPECT(parent == NULL);   /* clients name nothing; updates leave the reference alone */
            }
            if (a->op.kind == OP_DELETE && strcmp(a->op.type, "client") == 0)
                for (int c = 1; c < 8; c += 2)
                    orphaned_parent_deletes += alive[u][c] && parent_of[u][c] == k;
            if (a->op.kind == OP_CREATE) {
                alive[u][k] = true;
                creator[u][k] = a->at_us == 0 ? -1 : a->nodes[0];
            }
            if (a->op.kind == OP_DELETE)
                alive[u][k] = false;
        }
        scenario_free(sc);
        scenario_free(plain);
    }
    EXPECT(named > 20);
    EXPECT(orphaned_parent_deletes > 3);   /* a parent deleted while a child names it */
    scenario_free(plain_tmpl);
    scenario_free(tmpl);
}

/*
 * events: chains. A device's appends to one record go start, then pause and
 * resume in turn, with a stop now and then and a start after it; without the
 * key the kinds are drawn and break that order somewhere.
 */
static void test_event_chains(void)
{
    scenario *plain_tmpl = refs_template("chains-off", ""), *tmpl = refs_template("chains-on", "  events: chains\n");
    if (!plain_tmpl || !tmpl) {
        scenario_free(plain_tmpl);
        scenario_free(tmpl);
        return;
    }
    for (int variant = 0; variant < 2; variant++) {
        scenario *sc = instance(variant ? tmpl : plain_tmpl, 7);
        if (!sc)
            continue;
        const char *last[5][8] = { { NULL } };   /* per device node and key */
        int appends = 0, broken = 0, stops = 0;
        for (int i = 0; i < sc->n_steps; i++) {
            const step *s = &sc->steps[i];
            if (s->kind != STEP_OP || s->op.kind != OP_APPEND)
                continue;
            int node = s->nodes[0], k = key_number(s->op.id);
            if (node < 1 || node > 4 || k < 0 || k >= 8)
                continue;
            const char *kind = field_of(s, "kind"), *prev = last[node][k];
            bool ok = kind && ((!prev || !strcmp(prev, "stop")) ? !strcmp(kind, "start")
                               : !strcmp(prev, "pause")        ? (!strcmp(kind, "resume") || !strcmp(kind, "stop"))
                                                               : (!strcmp(kind, "pause") || !strcmp(kind, "stop")));
            broken += !ok;
            stops += kind && !strcmp(kind, "stop");
            appends++;
            last[node][k] = kind;
        }
        EXPECT(appends > 40);
        if (variant) {
            EXPECT_INT(broken, 0);
            EXPECT(stops > 0);
        } else {
            EXPECT(broken > 5);
        }
        scenario_free(sc);
    }
    scenario_free(plain_tmpl);
    scenario_free(tmpl);
}

/*
 * picks: per-device. Each device without a pick of its own gets local or
 * server, both kinds over a few seeds; a2's own pick (merge) stays; without
 * the key only a2 has a pick. The steps do not change.
 */
static void test_device_picks(void)
{
    scenario *plain_tmpl = refs_template("picks-off", ""), *tmpl = refs_template("picks-on", "  picks: per-device\n");
    if (!plain_tmpl || !tmpl) {
        scenario_free(plain_tmpl);
        scenario_free(tmpl);
        return;
    }
    EXPECT(plain_tmpl->devices[1].has_pick && plain_tmpl->devices[1].pick == PICK_MERGE);
    EXPECT(!plain_tmpl->devices[0].has_pick);
    int local = 0, server = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        scenario *sc = instance(tmpl, seed), *plain = instance(plain_tmpl, seed);
        if (!sc || !plain) {
            scenario_free(sc);
            scenario_free(plain);
            continue;
        }
        EXPECT(same_steps(sc, plain));
        for (int d = 0; d < sc->n_devices; d++) {
            EXPECT(sc->devices[d].has_pick);
            EXPECT(plain->devices[d].has_pick == (d == 1));
            if (d == 1) {
                EXPECT(sc->devices[d].pick == PICK_MERGE);
                continue;
            }
            local += sc->devices[d].pick == PICK_LOCAL;
            server += sc->devices[d].pick == PICK_SERVER;
        }
        scenario_free(sc);
        scenario_free(plain);
    }
    EXPECT_INT(local + server, 18);
    EXPECT(local > 3 && server > 3);
    scenario_free(plain_tmpl);
    scenario_free(tmpl);
}

/*
 * A device's own pick decides its conflicts: under manual resolution two
 * devices edit one record concurrently; the one that keeps its own version
 * and the one that takes the server's end with different values on the
 * server, and a device pick overrides the profile's.
 */
static void test_device_pick_resolves(void)
{
    static const char FMT[] =
        "name: picks\n"
        "profile: { name: p, accepts: [silent-overwrite], manual: { delay: 1m, pick: server },\n"
        "           conflicts: { strategy: manual, grain: record } }\n"
        "devices:\n"
        "  a: {}\n"
        "  b: { pick: %s }\n"
        "steps:\n"
        "  - { at: 0s, device: a, create: { type: note, id: n1, fields: { title: a0 } } }\n"
        "  - { at: 10s, sync: all }\n"
        "  - { at: 20s, offline: [b] }\n"
        "  - { at: 30s, device: a, update: { type: note, id: n1, fields: { title: a1 } } }\n"
        "  - { at: 40s, device: b, update: { type: note, id: n1, fields: { title: b1 } } }\n"
        "  - { at: 50s, sync: [a] }\n"
        "  - { at: 1m, online: [b] }\n"
        "  - { at: 1m10s, sync: [b] }\n";
    const char *picks[] = { "local", "server" };
    char text[2048];
    char *title[2] = { NULL, NULL };
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text, FMT, picks[i]);
        scenario *sc = load_text(picks[i], text);
        if (!sc)
            continue;
        EXPECT(sc->devices[1].has_pick && sc->devices[1].pick == (i ? PICK_SERVER : PICK_LOCAL));
        run_result r;
        diag d;
        diag_init(&d);
        EXPECT(sim_run(sc, 1, &(run_options){ 0 }, &r, &d));
        const snap_record *rec = r.snaps ? snapshot_find(&r.snaps[NODE_SERVER], "note/n1") : NULL;
        const snap_field *f = rec ? snap_record_field(rec, "title") : NULL;
        title[i] = f && f->v.kind == VAL_STRING ? xstrdup(f->v.s) : NULL;
        EXPECT_INT(r.metrics.writes_refused, 0);
        run_result_free(&r);
        diag_free(&d);
        scenario_free(sc);
    }
    /* b keeps its own version (pushed over a's), or takes the server's: the profile's pick is server. */
    EXPECT(title[0] && strcmp(title[0], "b1") == 0);
    EXPECT(title[1] && strcmp(title[1], "a1") == 0);
    if (!title[0] || !title[1])
        fprintf(stderr, "server's title: local pick %s, server pick %s\n", title[0] ? title[0] : "(none)",
                title[1] ? title[1] : "(none)");
    free(title[0]);
    free(title[1]);
}

/*
 * server_clock: the server's clock steps within +-step_max at about the rate
 * asked, from its own stream: every other step stays where it was; without
 * the key there are none.
 */
static void test_server_clock_steps(void)
{
    scenario *plain_tmpl = refs_template("sclock-off", ""),
             *tmpl = refs_template("sclock-on", "  server_clock: { steps_per_day: 24, step_max: 2m }\n");
    if (!plain_tmpl || !tmpl) {
        scenario_free(plain_tmpl);
        scenario_free(tmpl);
        return;
    }
    int total = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        scenario *sc = instance(tmpl, seed), *plain = instance(plain_tmpl, seed);
        if (!sc || !plain) {
            scenario_free(sc);
            scenario_free(plain);
            continue;
        }
        EXPECT_INT(server_steps(plain, STEP_CLOCK), 0);
        int n = server_steps(sc, STEP_CLOCK);
        total += n;
        EXPECT_INT(sc->n_steps, plain->n_steps + n);
        int j = 0;
        for (int i = 0; i < sc->n_steps; i++) {
            const step *s = &sc->steps[i];
            if (s->kind == STEP_CLOCK && s->nodes[0] == NODE_SERVER) {
                EXPECT(s->by_us >= -120000000 && s->by_us <= 120000000);
                continue;
            }
            if (j < plain->n_steps)
                EXPECT(same_step(s, &plain->steps[j]));
            j++;
        }
        scenario_free(sc);
        scenario_free(plain);
    }
    EXPECT(total > 20 && total < 80);   /* 4 seeds x 12h at 1/h: about 48 */
    scenario_free(plain_tmpl);
    scenario_free(tmpl);
}

/*
 * forms: { per_update }. The same seed without forms makes exactly the steps it made before, less
 * the open steps and the base marks; with it, every update saved from a form is preceded by an open of
 * the same record on the same device, no earlier than 1m (when the setup's records have arrived).
 */
static void test_forms(void)
{
    scenario *plain_tmpl = refs_template("forms-off", ""),
             *tmpl = refs_template("forms-on", "  forms: { per_update: 0.5, open_mean: 10m }\n");
    if (!plain_tmpl || !tmpl) {
        scenario_free(plain_tmpl);
        scenario_free(tmpl);
        return;
    }
    int saves = 0, updates = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        scenario *sc = instance(tmpl, seed), *plain = instance(plain_tmpl, seed);
        if (!sc || !plain) {
            scenario_free(sc);
            scenario_free(plain);
            continue;
        }
        int j = 0;
        for (int i = 0; i < sc->n_steps; i++) {
            const step *s = &sc->steps[i];
            if (s->kind == STEP_OP && s->op.kind == OP_OPEN) {
                EXPECT(s->at_us > 60 * INT64_C(1000000));
                continue;
            }
            if (s->kind == STEP_OP && s->op.kind == OP_UPDATE)
                updates++;
            if (s->kind == STEP_OP && s->op.from_form) {
                saves++;
                EXPECT(s->op.kind == OP_UPDATE);
                bool opened = false;
                for (int k = i - 1; k >= 0 && !opened; k--) {
                    const step *o = &sc->steps[k];
                    opened = o->kind == STEP_OP && o->op.kind == OP_OPEN && o->nodes[0] == s->nodes[0] &&
                             strcmp(o->op.id, s->op.id) == 0 && strcmp(o->op.type, s->op.type) == 0;
                }
                EXPECT(opened);
            }
            if (j < plain->n_steps)
                EXPECT(same_step(s, &plain->steps[j]) && !plain->steps[j].op.from_form);
            j++;
        }
        EXPECT_INT(j, plain->n_steps);
        scenario_free(sc);
        scenario_free(plain);
    }
    EXPECT(updates > 0 && saves > updates / 4 && saves < updates * 3 / 4);   /* about half */
    scenario_free(plain_tmpl);
    scenario_free(tmpl);
}

/* Swarm: the new keys' coins come after every older draw, so a seed's older choices do not move. */
static void test_swarm_appended(void)
{
    static const char BASE[] =
        "name: swarm\n"
        "profile: { name: p, conflicts: { strategy: lww-hlc } }\n"
        "workload:\n"
        "  duration: 1h\n"
        "  users: 1\n"
        "  devices_per_user: 2\n"
        "  keys: 2\n"
        "  offline: { online_mean: 30m, offline_mean: 5m }\n"
        "  clocks: { offset: { dist: uniform, max: 5m }, steps_per_day: 4 }\n"
        "  network: { loss: 0.02, lost_response: 0.05 }\n"
        "  crashes: { per_day: 2, server_per_day: 1 }\n"
        "  swarm: true\n";
    char with[2048];
    snprintf(with, sizeof with, "%s%s", BASE,
             "  refs: true\n  events: chains\n  picks: per-device\n  server_clock: { steps_per_day: 4 }\n"
             "  forms: { per_update: 0.3 }\n");
    scenario *a = load_text("swarm-old", BASE), *b = load_text("swarm-new", with);
    if (!a || !b) {
        scenario_free(a);
        scenario_free(b);
        return;
    }
    int refs = 0, chains = 0, picks = 0, sclock = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        swarm_choice x = workload_swarm(&a->workload, seed), y = workload_swarm(&b->workload, seed);
        EXPECT(same_choice(&x, &y));
        EXPECT(x.server_crashes == y.server_crashes && x.server_crashes_per_day == y.server_crashes_per_day);
        EXPECT(!x.refs && !x.event_chains && !x.picks_per_device && !x.server_clock_steps && !x.forms);
        refs += y.refs;
        chains += y.event_chains;
        picks += y.picks_per_device;
        sclock += y.server_clock_steps;
        EXPECT(y.server_clock_steps_per_day >= 0.0 && y.server_clock_steps_per_day <= 4.0);
    }
    EXPECT(refs > 70 && refs < 130);
    EXPECT(chains > 70 && chains < 130);
    EXPECT(picks > 70 && picks < 130);
    EXPECT(sclock > 70 && sclock < 130);
    scenario_free(a);
    scenario_free(b);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_seeds();
    test_independence();
    test_timeline();
    test_popularity_and_mix();
    test_swarm();
    test_server_crashes();
    test_power_losses();
    test_lifecycle();
    test_account_switches();
    test_storage_faults();
    test_few_refused();
    test_schema();
    test_refs();
    test_event_chains();
    test_device_picks();
    test_device_pick_resolves();
    test_server_clock_steps();
    test_forms();
    test_swarm_appended();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_exit("workload");
}
