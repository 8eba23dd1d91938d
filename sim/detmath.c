/*
 * detmath: see detmath.h. Invariant: the only libm calls here are sqrt, which
 * IEEE-754 requires to be correctly rounded, and floor, which is exact.
 */
#include "sim/detmath.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ln 2 split so that k * LN2_HI is exact for |k| < 2^11. */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define SQRT_HALF 0.70710678118654752440

/* Split x into m * 2^e with m in [1, 2), reading the IEEE bits directly. */
static double split_exponent(double x, int *e)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int exponent = (int)((bits >> 52) & 0x7ff);
    if (exponent == 0) {
        /* Subnormal: scale up into the normal range first. */
        x *= 18014398509481984.0; /* 2^54 */
        memcpy(&bits, &x, sizeof bits);
        exponent = (int)((bits >> 52) & 0x7ff) - 54;
    }
    *e = exponent - 1023;
    bits = (bits & ~(UINT64_C(0x7ff) << 52)) | (UINT64_C(1023) << 52);
    double m;
    memcpy(&m, &bits, sizeof m);
    return m;
}

double det_log(double x)
{
    assert(x > 0.0);
    int e;
    double m = split_exponent(x, &e);
    if (m > 2.0 * SQRT_HALF) {   /* keep m in [sqrt(1/2), sqrt(2)) */
        m *= 0.5;
        e += 1;
    }
    /* log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.1716 */
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double term = s;
    double sum = s;
    for (int k = 3; k <= 31; k += 2) {
        term *= s2;
        sum += term / (double)k;
    }
    return (double)e * LN2_HI + ((double)e * LN2_LO + 2.0 * sum);
}

double det_exp(double x)
{
    assert(x > -700.0 && x < 700.0);
    /* x = k ln2 + r, |r| <= ln2 / 2 */
    double kd = floor(x * 1.44269504088896340736 + 0.5);
    int k = (int)kd;
    double r = (x - kd * LN2_HI) - kd * LN2_LO;
    double term = 1.0;
    double sum = 1.0;
    for (int n = 1; n <= 18; n++) {
        term *= r / (double)n;
        sum += term;
    }
    /* Scale by 2^k exactly, in two halves so no intermediate overflows. */
    int k1 = k / 2;
    int k2 = k - k1;
    uint64_t b1 = (uint64_t)(k1 + 1023) << 52;
    uint64_t b2 = (uint64_t)(k2 + 1023) << 52;
    double p1, p2;
    memcpy(&p1, &b1, sizeof p1);
    memcpy(&p2, &b2, sizeof p2);
    return sum * p1 * p2;
}

double det_pow(double x, double y)
{
    return det_exp(y * det_log(x));
}

double det_sqrt(double x)
{
    assert(x >= 0.0);
    return sqrt(x);
}
