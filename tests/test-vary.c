/*
 * test-vary: a workload's vary: draws profile keys per seed.
 *
 * Each seed draws one listed value of each key, every value comes up over
 * seeds, and the draw sets exactly that value on the instance's profile
 * (every entity type's rule too, for the conflicts keys) while the template
 * keeps its own; the workload's steps are the same with or without vary:
 * (the draws have their own stream); the description names what was drawn;
 * and vary_check refuses a profile for which some combination is no design,
 * blaming the value that makes it so.
 */
#include "engine/profile.h"
#include "sim/scenario.h"
#include "sim/vary.h"
#include "sim/workload.h"
#include "tests/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/syncsim-test-vary-XXXXXX";

/* The scenario in text, loaded; NULL with *message set (owned by the caller) when it does not load. */
static scenario *load_text(const char *name, const char *text, char **message)
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
    if (message)
        *message = d.message ? strdup(d.message) : NULL;
    else if (!sc)
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

#define PROFILE                                                                                               \
    "profile:\n"                                                                                              \
    "  name: p\n"                                                                                             \
    "  conflicts: { strategy: lww-hlc, counters: crdt, types: { note: { counters: absolute } } }\n"

#define WORKLOAD                                                                                              \
    "devices: { a: {}, b: {} }\n"                                                                             \
    "workload:\n"                                                                                             \
    "  duration: 2h\n"                                                                                        \
    "  keys: 4\n"                                                                                             \
    "  network: { loss: 0.02 }\n"                                                                             \
    "  swarm: true\n"

static const char PLAIN[] = "name: plain\n" PROFILE WORKLOAD;
static const char VARIED[] = "name: varied\n" PROFILE WORKLOAD
                             "  vary:\n"
                             "    sync.round: [push-pull, pull-push]\n"
                             "    sync.during_round: [coalesce, queue, drop]\n"
                             "    conflicts.counters: [max, ops]\n"
                             "    server.feed_lag: [0s, 2s]\n";

static bool same_steps(const scenario *a, const scenario *b)
{
    if (a->n_steps != b->n_steps)
        return false;
    for (int i = 0; i < a->n_steps; i++) {
        const step *x = &a->steps[i], *y = &b->steps[i];
        if (x->at_us != y->at_us || x->kind != y->kind || x->n_nodes != y->n_nodes ||
            (x->kind == STEP_OP && strcmp(x->op.id, y->op.id) != 0))
            return false;
    }
    return true;
}

static void test_draws(void)
{
    scenario *plain = load_text("plain", PLAIN, NULL), *varied = load_text("varied", VARIED, NULL);
    EXPECT(plain && varied);
    if (!plain || !varied) {
        scenario_free(plain);
        scenario_free(varied);
        return;
    }
    EXPECT_INT(varied->workload.vary.n_axes, 4);
    EXPECT_INT(plain->workload.vary.n_axes, 0);
    int rounds[2] = { 0 }, during[3] = { 0 }, counters[4] = { 0 }, lagged = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        scenario *x = instance(plain, seed), *y = instance(varied, seed), *again = instance(varied, seed);
        if (!x || !y || !again) {
            scenario_free(x);
            scenario_free(y);
            scenario_free(again);
            test_failures++;
            continue;
        }
        /* vary moves no other draw. */
        EXPECT(same_steps(x, y));
        EXPECT(x->design == NULL);
        /* The draw is the seed's: the same twice. */
        EXPECT(y->design && again->design && strcmp(y->design, again->design) == 0);
        const profile *p = &y->profile.engine;
        rounds[p->round]++;
        during[p->during_round]++;
        counters[p->fallback.counters]++;
        /* conflicts.counters holds for every type, listed or not. */
        EXPECT_INT(p->entities[0].counters, p->fallback.counters);
        EXPECT(p->fallback.counters == COUNTER_MAX || p->fallback.counters == COUNTER_OPS);
        EXPECT(p->feed_lag_us == 0 || p->feed_lag_us == 2000000);
        lagged += p->feed_lag_us > 0;
        /* The description says what the profile holds. */
        char want[256];
        snprintf(want, sizeof want, "sync.round: %s, sync.during_round: %s, conflicts.counters: %s, server.feed_lag: %s",
                 ROUND_ORDER_NAMES[p->round], DURING_ROUND_NAMES[p->during_round],
                 counter_mode_name(p->fallback.counters), p->feed_lag_us ? "2s" : "0s");
        EXPECT(y->design && strcmp(y->design, want) == 0);
        if (y->design && strcmp(y->design, want) != 0)
            fprintf(stderr, "  design '%s', profile says '%s'\n", y->design, want);
        scenario_free(x);
        scenario_free(y);
        scenario_free(again);
    }
    /* Every value comes up; the template keeps its own profile. */
    EXPECT(rounds[0] > 0 && rounds[1] > 0);
    EXPECT(during[0] > 0 && during[1] > 0 && during[2] > 0);
    EXPECT(counters[COUNTER_MAX] > 0 && counters[COUNTER_OPS] > 0);
    EXPECT(lagged > 0 && lagged < 60);
    EXPECT_INT(varied->profile.engine.fallback.counters, COUNTER_CRDT);
    EXPECT_INT(varied->profile.engine.entities[0].counters, COUNTER_ABSOLUTE);
    EXPECT_INT(varied->profile.engine.round, ROUND_PUSH_PULL);

    /* A key draws the same value for a seed whatever else is listed: during_round alone, with the
     * same list, draws what it drew beside three other keys. */
    static const char ALONE[] = "name: alone\n" PROFILE WORKLOAD
                                "  vary:\n"
                                "    sync.during_round: [coalesce, queue, drop]\n";
    scenario *alone = load_text("alone", ALONE, NULL);
    EXPECT(alone != NULL);
    for (uint64_t seed = 1; alone && seed <= 60; seed++) {
        vary_choice a = vary_draw(&alone->workload.vary, seed), b = vary_draw(&varied->workload.vary, seed);
        EXPECT_INT(a.value[0], b.value[1]);
    }
    scenario_free(alone);
    scenario_free(plain);
    scenario_free(varied);
}

/* Every key's every value loads, and sets the profile field the profile file's key of that name sets. */
static void test_every_key(void)
{
    static const char TEXT[] = "name: every\n" PROFILE WORKLOAD
                               "  vary:\n"
                               "    sync.pull_over_pending: [keep, rebase, replace, discard]\n"
                               "    sync.pull_apply: [in-order, by-kind]\n"
                               "    sync.push_snapshot: [current, round-start]\n"
                               "    sync.cursor_saved: [page, round]\n"
                               "    sync.queue_base: [rebased, as-queued]\n"
                               "    server.commit_delay: [0s, 150ms]\n"
                               "    conflicts.grain: [record, field]\n"
                               "    conflicts.on_delete: [strategy, delete-wins, edit-wins, newer-timestamp]\n"
                               "    lifecycle.wipe: [all, data-only]\n"
                               "    lifecycle.sign_out: [sync-first, discard]\n"
                               "    lifecycle.switch: [wipe, keep-data]\n";
    scenario *sc = load_text("every", TEXT, NULL);
    EXPECT(sc != NULL);
    if (!sc)
        return;
    const vary_spec *v = &sc->workload.vary;
    EXPECT_INT(v->n_axes, 11);
    /* The last value of each key, on a copy of the profile. */
    vary_choice last = { { 0 } };
    for (int a = 0; a < v->n_axes; a++)
        last.value[a] = v->axes[a].n_values - 1;
    profile p = sc->profile.engine;
    vary_apply(v, &last, &p);
    EXPECT_INT(p.pull_over_pending, PULL_OVER_DISCARD);
    EXPECT_INT(p.pull_over_deleted, PULL_OVER_DISCARD);
    EXPECT(p.pull_apply_by_kind);
    EXPECT_INT(p.push_snapshot, SNAPSHOT_ROUND_START);
    EXPECT_INT(p.cursor_saved, CURSOR_SAVED_ROUND);
    EXPECT(p.queue_base_as_queued);
    EXPECT_INT(p.commit_delay_us, 150000);
    EXPECT_INT(p.fallback.grain, GRAIN_FIELD);
    EXPECT_INT(p.entities[0].on_delete, DELETE_NEWER_TIMESTAMP);
    EXPECT_INT(p.wipe, WIPE_DATA_ONLY);
    EXPECT(p.sign_out_discard);
    EXPECT(p.switch_keep_data);
    /* The first values are the defaults the profile had. */
    vary_choice first = { { 0 } };
    profile q = sc->profile.engine;
    vary_apply(v, &first, &q);
    EXPECT_INT(q.pull_over_pending, PULL_OVER_KEEP);
    EXPECT(!q.pull_apply_by_kind && !q.queue_base_as_queued && !q.sign_out_discard && !q.switch_keep_data);
    EXPECT_INT(q.fallback.grain, GRAIN_RECORD);
    EXPECT_INT(q.fallback.on_delete, DELETE_BY_STRATEGY);
    char text[512];
    vary_describe(v, &last, text, sizeof text);
    EXPECT(strstr(text, "sync.pull_over_pending: discard, sync.pull_apply: by-kind") == text);
    EXPECT(strstr(text, "server.commit_delay: 150ms") != NULL);
    EXPECT(strstr(text, "lifecycle.sign_out: discard") != NULL);
    scenario_free(sc);
}

/* A combination that is no design is refused where it is written, whichever profile it meets. */
static void test_check(void)
{
    /* watermark_taken needs changes: watermark; this profile has an outbox, so round-end is to blame. */
    static const char TEXT[] = "name: bad\n" PROFILE WORKLOAD
                               "  vary:\n"
                               "    sync.round: [push-pull, pull-push]\n"
                               "    sync.watermark_taken: [answer, round-end]\n";
    char *message = NULL;
    scenario *sc = load_text("bad", TEXT, &message);
    EXPECT(sc == NULL);
    EXPECT(message && strstr(message, ":13:36: error: vary can draw a design profile 'p' cannot run") != NULL);
    EXPECT(message && strstr(message, "sync.watermark_taken: round-end") != NULL);
    EXPECT(message && strstr(message, "it needs changes: watermark") != NULL);
    if (message && !strstr(message, ":13:36:"))
        fprintf(stderr, "  %s\n", message);
    free(message);
    scenario_free(sc);

    /* The same values are fine for a profile that can take them: vary_check against it. */
    static const char OK[] = "name: ok\n"
                             "profile: { name: w, sync: { changes: watermark, watermark: device-clock } }\n" WORKLOAD
                             "  vary:\n"
                             "    sync.watermark_taken: [answer, round-end]\n";
    scenario *ok = load_text("ok", OK, NULL);
    EXPECT(ok != NULL);
    if (ok) {
        diag d;
        diag_init(&d);
        profile outbox;
        profile_defaults(&outbox);
        EXPECT(!vary_check(&ok->workload.vary, &outbox, "outbox", &d));
        EXPECT(d.message && strstr(d.message, "profile 'outbox'") != NULL);
        diag_free(&d);
        diag_init(&d);
        EXPECT(vary_check(&ok->workload.vary, &ok->profile.engine, "w", &d));
        diag_free(&d);
        scenario_free(ok);
    }
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_draws();
    test_every_key();
    test_check();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_exit("test-vary");
}
