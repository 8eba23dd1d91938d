/*
 * testlib: the assertions every unit test uses. A failed EXPECT prints the
 * file, line and the values involved, and the test keeps going so one run
 * shows every failure; test_exit() turns the count into the exit status.
 */
#ifndef TESTS_TESTLIB_H
#define TESTS_TESTLIB_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int test_failures;

#define EXPECT(cond)                                                                  \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);     \
            test_failures++;                                                          \
        }                                                                             \
    } while (0)

#define EXPECT_INT(actual, expected)                                                                  \
    do {                                                                                              \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                               \
        if (a_ != e_) {                                                                               \
            fprintf(stderr, "%s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, #actual, a_, e_); \
            test_failures++;                                                                          \
        }                                                                                             \
    } while (0)

#define EXPECT_U64(actual, expected)                                                                 \
    do {                                                                                             \
        uint64_t a_ = (uint64_t)(actual), e_ = (uint64_t)(expected);                                 \
        if (a_ != e_) {                                                                              \
            fprintf(stderr, "%s:%d: %s is 0x%016" PRIx64 ", expected 0x%016" PRIx64 "\n", __FILE__, \
                    __LINE__, #actual, a_, e_);                                                      \
            test_failures++;                                                                         \
        }                                                                                            \
    } while (0)

#define EXPECT_STR(actual, expected)                                                                       \
    do {                                                                                                   \
        const char *a_ = (actual), *e_ = (expected);                                                       \
        if (!a_ || strcmp(a_, e_) != 0) {                                                                  \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #actual,          \
                    a_ ? a_ : "(null)", e_);                                                               \
            test_failures++;                                                                               \
        }                                                                                                  \
    } while (0)

#define EXPECT_CONTAINS(haystack, needle)                                                                  \
    do {                                                                                                   \
        const char *h_ = (haystack), *n_ = (needle);                                                       \
        if (!h_ || !strstr(h_, n_)) {                                                                      \
            fprintf(stderr, "%s:%d: %s is \"%s\", which does not contain \"%s\"\n", __FILE__, __LINE__,     \
                    #haystack, h_ ? h_ : "(null)", n_);                                                    \
            test_failures++;                                                                               \
        }                                                                                                  \
    } while (0)

static inline int test_exit(const char *name)
{
    if (test_failures)
        fprintf(stderr, "%s: %d failure%s\n", name, test_failures, test_failures == 1 ? "" : "s");
    return test_failures ? 1 : 0;
}

#endif
