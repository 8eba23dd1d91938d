/*
 * detmath: logarithm and exponential built only from IEEE-754 +, -, *, /
 * (each exactly rounded on every conforming machine), so that sampled
 * latencies and skews are bit-identical across compilers and C libraries.
 * libm's log/exp are not guaranteed to round the same way everywhere.
 * Accuracy is about 1e-15 relative, far beyond what sampling needs.
 */
#ifndef SIM_DETMATH_H
#define SIM_DETMATH_H

double det_log(double x);          /* x > 0 */
double det_exp(double x);          /* |x| < 700 */
double det_pow(double x, double y); /* x > 0 */
double det_sqrt(double x);         /* x >= 0; IEEE sqrt is exactly rounded */

#endif
