/*
 * test-power-loss: the world's side of a power loss (sim/world.c), run whole.
 *
 * The same timeline under three profiles: the phone's edit of note n1, made
 * offline and unflushed, is dropped by a power loss ten seconds later.
 *   - acknowledge: on-flush: the world withdraws the edit (history), the
 *     checker counts it rejected, and neither undelivered nor read-your-writes
 *     is found, though the phone later shows n1 without it;
 *   - acknowledge: on-write: nothing is withdrawn; the edit is undelivered and
 *     the phone's later state a read-your-writes anomaly;
 *   - flush: commit: the power loss is a plain crash: the edit survives and
 *     reaches the server.
 * And a device flushes before it sends: an edit pushed before the power loss
 * was flushed with the push, so nothing is withdrawn and it stays. Under
 * on-write, a dropped edit the device's user then writes over again is still
 * undelivered (not superseded by the rewrite).
 * Each run gives the same trace hash twice (a power loss is deterministic).
 */
#include "sim/world.h"
#include "tests/testlib.h"

#include <stdio.h>

typedef struct outcome {
    uint64_t counts[VC_COUNT];
    uint64_t hash;
} outcome;

static outcome run_file(const char *path)
{
    outcome o = { 0 };
    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(path, &d);
    EXPECT(sc != NULL);
    if (!sc) {
        fprintf(stderr, "  %s: %s\n", path, d.message);
        diag_free(&d);
        return o;
    }
    for (int again = 0; again < 2; again++) {
        run_result r;
        bool ok = sim_run(sc, sc->seed, &(run_options){ 0 }, &r, &d);
        EXPECT(ok);
        EXPECT(r.quiesced);
        if (again == 0) {
            for (int k = 0; k < VC_COUNT; k++)
                o.counts[k] = r.check.counts[k];
            o.hash = r.trace_hash;
        } else {
            EXPECT_U64(r.trace_hash, o.hash);
        }
        run_result_free(&r);
    }
    scenario_free(sc);
    diag_free(&d);
    return o;
}

static void on_flush_withdraws(void)
{
    outcome o = run_file("scenarios/basic/power-loss-on-flush.yaml");
    EXPECT_U64(o.counts[VC_REJECTED], 1);
    EXPECT_U64(o.counts[VC_UNDELIVERED], 0);
    EXPECT_U64(o.counts[VC_LOST_UPDATE], 0);
    EXPECT_U64(o.counts[VC_READ_YOUR_WRITES], 0);
}

static void on_write_loses(void)
{
    outcome o = run_file("scenarios/basic/power-loss-on-write.yaml");
    EXPECT_U64(o.counts[VC_REJECTED], 0);
    EXPECT_U64(o.counts[VC_UNDELIVERED], 1);
    EXPECT_U64(o.counts[VC_READ_YOUR_WRITES], 1);
}

static void flush_commit_keeps(void)
{
    outcome o = run_file("tests/data/power-loss/commit.yaml");
    EXPECT_U64(o.counts[VC_REJECTED], 0);
    EXPECT_U64(o.counts[VC_UNDELIVERED], 0);
    EXPECT_U64(o.counts[VC_READ_YOUR_WRITES], 0);
    /* The edit reached the server and beat nothing: n1's text is the phone's edit. */
    EXPECT(o.counts[VC_SUPERSEDED] >= 1);
}

static void pushed_was_flushed(void)
{
    outcome o = run_file("tests/data/power-loss/after-push.yaml");
    EXPECT_U64(o.counts[VC_REJECTED], 0);
    EXPECT_U64(o.counts[VC_UNDELIVERED], 0);
    EXPECT_U64(o.counts[VC_LOST_UPDATE], 0);
    EXPECT_U64(o.counts[VC_DIVERGENCE], 0);
}

static void rewritten_is_still_lost(void)
{
    outcome o = run_file("tests/data/power-loss/rewrite.yaml");
    EXPECT_U64(o.counts[VC_UNDELIVERED], 1);
    EXPECT_U64(o.counts[VC_REJECTED], 0);
}

int main(void)
{
    on_flush_withdraws();
    on_write_loses();
    flush_commit_keeps();
    pushed_was_flushed();
    rewritten_is_still_lost();
    return test_exit("power-loss");
}
