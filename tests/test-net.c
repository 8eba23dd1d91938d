/*
 * test-net: a link loses, duplicates and delays messages at the configured
 * rates, drops replies only downstream for lost_response, honours offline
 * and one-way cuts, reorders through jitter, and consumes the same draws
 * whatever the fault settings (so a fault elsewhere never shifts a replay).
 */
#include "sim/net.h"
#include "tests/testlib.h"

#include <math.h>

#define MS INT64_C(1000)

static net_config base_config(void)
{
    net_config cfg;
    net_config_default(&cfg);
    cfg.up.latency = cfg.down.latency =
        (dist){ .kind = DIST_UNIFORM, .min_us = 20 * MS, .max_us = 120 * MS };
    return cfg;
}

static void rates(void)
{
    net_config cfg = base_config();
    cfg.up.loss = 0.2;
    cfg.up.duplicate = 0.1;
    cfg.lost_response = 0.3;
    link_state l;
    link_init(&l, &cfg, 1, "phone");
    enum { N = 20000 };
    int lost = 0, duplicated = 0, lost_up_response = 0;
    for (int i = 0; i < N; i++) {
        net_decision d = link_decide(&l, DIR_UP);
        lost += d.drop == DROP_LOSS;
        duplicated += d.duplicate;
        lost_up_response += d.drop == DROP_LOST_RESPONSE;
        EXPECT(d.delay_us >= 20 * MS && d.delay_us <= 120 * MS);
        EXPECT(!(d.duplicate && d.drop != DROP_NONE));
    }
    EXPECT(fabs(lost / (double)N - 0.2) < 0.015);
    EXPECT(fabs(duplicated / (double)N - 0.08) < 0.01);   /* 10% of the 80% that get through */
    EXPECT_INT(lost_up_response, 0);                      /* requests are never "lost responses" */
    int lost_down = 0, down_loss = 0;
    for (int i = 0; i < N; i++) {
        net_decision d = link_decide(&l, DIR_DOWN);
        lost_down += d.drop == DROP_LOST_RESPONSE;
        down_loss += d.drop == DROP_LOSS;
    }
    EXPECT(fabs(lost_down / (double)N - 0.3) < 0.015);
    EXPECT_INT(down_loss, 0);   /* loss was set for the up direction only */
}

static void offline_and_cuts(void)
{
    net_config cfg = base_config();
    link_state l;
    link_init(&l, &cfg, 2, "phone");
    EXPECT_INT(link_decide(&l, DIR_UP).drop, DROP_NONE);
    l.online = false;
    EXPECT_INT(link_decide(&l, DIR_UP).drop, DROP_OFFLINE);
    EXPECT_INT(link_decide(&l, DIR_DOWN).drop, DROP_OFFLINE);
    EXPECT_INT(link_blocked(&l, DIR_DOWN), DROP_OFFLINE);
    l.online = true;
    l.cut = DIR_DOWN;   /* replies cannot come back; requests still arrive */
    EXPECT_INT(link_decide(&l, DIR_UP).drop, DROP_NONE);
    EXPECT_INT(link_decide(&l, DIR_DOWN).drop, DROP_PARTITION);
    EXPECT_INT(link_blocked(&l, DIR_UP), DROP_NONE);
    EXPECT_INT(link_blocked(&l, DIR_DOWN), DROP_PARTITION);
    l.cut = DIR_BOTH;
    EXPECT_INT(link_decide(&l, DIR_UP).drop, DROP_PARTITION);
}

static void reordering(void)
{
    /* Two messages sent back to back: with jitter the second sometimes arrives first. */
    net_config cfg = base_config();
    link_state l;
    link_init(&l, &cfg, 3, "phone");
    int overtaken = 0;
    for (int i = 0; i < 1000; i++) {
        net_decision a = link_decide(&l, DIR_UP);
        net_decision b = link_decide(&l, DIR_UP);
        overtaken += b.delay_us < a.delay_us;
    }
    EXPECT(overtaken > 300 && overtaken < 700);
    /* Constant latency never reorders. */
    net_config flat;
    net_config_default(&flat);
    link_state f;
    link_init(&f, &flat, 3, "phone");
    for (int i = 0; i < 100; i++)
        EXPECT_INT(link_decide(&f, DIR_UP).delay_us, 50 * MS);
}

static void calm_and_stable_draws(void)
{
    net_config noisy = base_config();
    noisy.up.loss = 0.5;
    noisy.up.duplicate = 0.5;
    net_config quiet = base_config();
    link_state a, b;
    link_init(&a, &noisy, 4, "tablet");
    link_init(&b, &quiet, 4, "tablet");
    /* Same seed and name, different fault rates: the latencies drawn are identical. */
    for (int i = 0; i < 200; i++) {
        net_decision x = link_decide(&a, DIR_UP);
        net_decision y = link_decide(&b, DIR_UP);
        EXPECT_INT(x.delay_us, y.delay_us);
        EXPECT_INT(x.duplicate_delay_us, y.duplicate_delay_us);
    }
    link_calm(&a);
    for (int i = 0; i < 200; i++) {
        net_decision x = link_decide(&a, DIR_UP);
        EXPECT_INT(x.drop, DROP_NONE);
        EXPECT(!x.duplicate);
    }
    /* Another device's link draws from another stream. */
    link_state c;
    link_init(&c, &quiet, 4, "laptop");
    link_init(&b, &quiet, 4, "tablet");
    int same = 0;
    for (int i = 0; i < 100; i++)
        same += link_decide(&b, DIR_UP).delay_us == link_decide(&c, DIR_UP).delay_us;
    EXPECT(same < 10);
    EXPECT_STR(drop_reason_name(DROP_LOST_RESPONSE), "lost-response");
}

int main(void)
{
    rates();
    offline_and_cuts();
    reordering();
    calm_and_stable_draws();
    return test_exit("test-net");
}
