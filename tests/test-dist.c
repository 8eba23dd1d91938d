/*
 * test-dist: latency distributions have the shape and bounds asked for and
 * replay exactly from a seed; the deterministic log/exp agree with libm.
 */
#include "sim/detmath.h"
#include "sim/dist.h"
#include "tests/testlib.h"

#include <math.h>
#include <stdlib.h>

#define MS INT64_C(1000)

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

enum { N = 20001 };
static int64_t samples[N];

static void sample_all(const dist *d, uint64_t seed)
{
    pcg32 rng = pcg_stream(seed, "test");
    for (int i = 0; i < N; i++)
        samples[i] = dist_sample_us(d, &rng);
}

static double mean(void)
{
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += (double)samples[i];
    return sum / N;
}

static void constant(void)
{
    dist d = dist_constant(50 * MS);
    sample_all(&d, 1);
    for (int i = 0; i < N; i++)
        EXPECT_INT(samples[i], 50 * MS);
}

static void uniform(void)
{
    dist d = { .kind = DIST_UNIFORM, .min_us = 10 * MS, .max_us = 30 * MS };
    sample_all(&d, 2);
    int64_t lo = samples[0], hi = samples[0];
    for (int i = 0; i < N; i++) {
        EXPECT(samples[i] >= 10 * MS && samples[i] <= 30 * MS);
        lo = samples[i] < lo ? samples[i] : lo;
        hi = samples[i] > hi ? samples[i] : hi;
    }
    EXPECT(fabs(mean() - 20000.0) < 300.0);
    EXPECT(lo < 10 * MS + 100 && hi > 30 * MS - 100);   /* both ends are reached */
}

static void exponential(void)
{
    dist d = { .kind = DIST_EXPONENTIAL, .mean_us = 100 * MS, .min_us = 0, .max_us = INT64_C(3600000000) };
    sample_all(&d, 3);
    EXPECT(fabs(mean() - 100000.0) < 4000.0);
    /* Memoryless shape: about e^-1 of samples exceed the mean. */
    int above = 0;
    for (int i = 0; i < N; i++)
        above += samples[i] > 100 * MS;
    EXPECT(fabs(above / (double)N - exp(-1.0)) < 0.02);
}

static void lognormal(void)
{
    dist d = { .kind = DIST_LOGNORMAL, .median_us = 80 * MS, .sigma = 0.5, .min_us = 0, .max_us = INT64_C(3600000000) };
    sample_all(&d, 4);
    qsort(samples, N, sizeof samples[0], compare_i64);
    double median = (double)samples[N / 2];
    EXPECT(fabs(median - 80000.0) < 2500.0);
    /* The 84th percentile sits at median * e^sigma. */
    double p84 = (double)samples[(int)(0.8413 * N)];
    EXPECT(fabs(p84 / 80000.0 - exp(0.5)) < 0.06);
}

static void clamping(void)
{
    dist d = { .kind = DIST_LOGNORMAL, .median_us = 80 * MS, .sigma = 2.0, .min_us = 20 * MS, .max_us = 200 * MS };
    sample_all(&d, 5);
    int at_min = 0, at_max = 0;
    for (int i = 0; i < N; i++) {
        EXPECT(samples[i] >= 20 * MS && samples[i] <= 200 * MS);
        at_min += samples[i] == 20 * MS;
        at_max += samples[i] == 200 * MS;
    }
    EXPECT(at_min > 0 && at_max > 0);
}

static void replay(void)
{
    dist d = { .kind = DIST_LOGNORMAL, .median_us = 80 * MS, .sigma = 0.7, .min_us = 0, .max_us = INT64_C(3600000000) };
    sample_all(&d, 6);
    int64_t first[64];
    for (int i = 0; i < 64; i++)
        first[i] = samples[i];
    sample_all(&d, 6);
    for (int i = 0; i < 64; i++)
        EXPECT_INT(samples[i], first[i]);
    sample_all(&d, 7);
    int same = 0;
    for (int i = 0; i < 64; i++)
        same += samples[i] == first[i];
    EXPECT(same < 4);
}

static void normal(void)
{
    pcg32 rng = pcg_stream(8, "normal");
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        double z = dist_normal(&rng);
        sum += z;
        sq += z * z;
    }
    EXPECT(fabs(sum / N) < 0.03);
    EXPECT(fabs(sq / N - 1.0) < 0.04);
}

static void detmath_matches_libm(void)
{
    static const double xs[] = { 1e-300, 1e-10, 0.001, 0.3, 0.5, 0.7071, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300 };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double got = det_log(xs[i]), want = log(xs[i]);
        EXPECT(fabs(got - want) <= 1e-14 * fmax(1.0, fabs(want)));
    }
    EXPECT(det_log(1.0) == 0.0);
    EXPECT(fabs(det_log(4.9406564584124654e-324) - log(4.9406564584124654e-324)) < 1e-12);   /* subnormal */
    static const double es[] = { -700.0 + 1, -20.0, -1.0, -0.5, 0.0, 1e-9, 0.3, 1.0, 2.5, 10.0, 100.0, 699.0 };
    for (size_t i = 0; i < sizeof es / sizeof es[0]; i++) {
        double got = det_exp(es[i]), want = exp(es[i]);
        EXPECT(fabs(got - want) <= 1e-14 * want);
    }
    EXPECT(det_exp(0.0) == 1.0);
    EXPECT(fabs(det_pow(2.0, 10.0) - 1024.0) < 1e-10);
    EXPECT(det_sqrt(2.25) == 1.5);
}

int main(void)
{
    constant();
    uniform();
    exponential();
    lognormal();
    clamping();
    replay();
    normal();
    detmath_matches_libm();
    return test_exit("test-dist");
}
