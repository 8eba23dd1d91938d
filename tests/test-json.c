/*
 * test-json: base/json's numbers, the store's and the trace's inner loops.
 *
 * json_put_i64 writes every int64 as printf's %lld does, at each digit-count boundary, both
 * signs and the extremes; json_number_length agrees with the length json_put_number writes (the
 * byte count a message is charged); jr_number reads integers of up to 19 digits exactly, tells
 * integers from reals, and hands a magnitude beyond int64 to strtod as a real instead of
 * wrapping it; jr_int refuses reals and malformed numbers.
 */
#include "base/buf.h"
#include "base/json.h"
#include "tests/testlib.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Every power of ten, one less and one more, both signs, and the extremes. */
static int boundaries(int64_t *out)
{
    int n = 0;
    out[n++] = 0;
    out[n++] = INT64_MAX;
    out[n++] = INT64_MIN;
    out[n++] = INT64_MIN + 1;
    for (int64_t p = 1;; p *= 10) {
        out[n++] = p;
        out[n++] = p - 1;
        out[n++] = p + 1;
        out[n++] = -p;
        out[n++] = -p + 1;
        out[n++] = -p - 1;
        if (p > INT64_MAX / 10)
            break;
    }
    return n;
}

static void test_put_i64(void)
{
    int64_t values[160];
    int n = boundaries(values);
    buf b;
    buf_init(&b);
    for (int i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "%" PRId64, values[i]);
        buf_clear(&b);
        buf_puts(&b, "x");   /* appends after what is there */
        json_put_i64(&b, values[i]);
        EXPECT_STR(b.data + 1, want);
        EXPECT_INT(b.len, 1 + strlen(want));
    }
    buf_free(&b);
}

static void test_number_length(void)
{
    /* Integral values within +-2^53 are written as integers; the rest as %.15g or %.17g. */
    const double values[] = { 0, 1, 9, 10, 99, 100, -1, -10, 1e15, 1.7e15 + 3, -9007199254740991.0, 9007199254740991.0,
                              0.5, -2.25, 1e300, 3.141592653589793, 1e-7, 9007199254740992.0 * 4 };
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        buf_clear(&b);
        json_put_number(&b, values[i]);
        EXPECT_INT(json_number_length(values[i]), b.len);
    }
    /* An integer's length without the double's tests: every power of ten and its neighbours. */
    int64_t p = 1;
    for (int k = 0; k <= 15; k++, p *= 10) {   /* 10^15 + 1 < 2^53 < 10^16 */
        const int64_t ints[] = { p - 1, p, p + 1, -(p - 1), -p, -(p + 1) };
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
            buf_clear(&b);
            json_put_number(&b, (double)ints[i]);
            EXPECT_INT(json_int_length(ints[i]), b.len);
        }
    }
    EXPECT_INT(json_int_length(INT64_C(9007199254740991)), 16);
    EXPECT_INT(json_int_length(-INT64_C(9007199254740991)), 17);
    buf_free(&b);
}

/*
 * json_number_length remembers the lengths of reals by their bits: asked again, after enough other
 * reals to have overwritten any slot many times, each length is still the one json_put_number
 * writes. The reals are milliseconds with a fraction (the activity documents' times) and their
 * neighbours one ulp away, which print at other lengths.
 */
static void test_number_length_remembered(void)
{
    enum { N = 20000 };
    static double values[N];
    for (int i = 0; i < N; i++) {
        double ms = (1735689600000000.0 + 7919.0 * i) / 1000.0;
        values[i] = (i % 3 == 0) ? nextafter(ms, 0) : (i % 3 == 1) ? ms : -ms / 1024.0;
    }
    buf b;
    buf_init(&b);
    int wrong = 0;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i++) {
            int k = round == 1 ? N - 1 - i : i;   /* forwards, backwards, forwards: hits and misses */
            buf_clear(&b);
            json_put_number(&b, values[k]);
            wrong += json_number_length(values[k]) != b.len;
        }
    EXPECT_INT(wrong, 0);
    buf_free(&b);
}

static bool read_number(const char *text, double *d, bool *is_integer, int64_t *integer)
{
    json_reader r;
    jr_init(&r, text, strlen(text));
    return jr_number(&r, d, is_integer, integer) && jr_end(&r);
}

static void test_read_integers(void)
{
    int64_t values[160];
    int n = boundaries(values);
    for (int i = 0; i < n; i++) {
        char text[32];
        snprintf(text, sizeof text, "%" PRId64, values[i]);
        double d;
        bool is_integer = false;
        int64_t integer = 0;
        /* INT64_MIN's magnitude does not fit int64: it is read as a real, as any beyond. */
        bool fits = values[i] != INT64_MIN;
        EXPECT(read_number(text, &d, &is_integer, &integer));
        EXPECT(is_integer == fits);
        if (fits) {
            EXPECT_INT(integer, values[i]);
        }
        json_reader r;
        jr_init(&r, text, strlen(text));
        int64_t got = 0;
        EXPECT(jr_int(&r, &got) == fits);
        if (fits)
            EXPECT_INT(got, values[i]);
    }
}

static void test_read_beyond_int64(void)
{
    /* 19 digits past INT64_MAX, and 20 and more: reals from strtod, never a wrapped integer. */
    const char *const texts[] = { "9223372036854775808", "18446744073709551616", "-9223372036854775809",
                                  "123456789012345678901234567890" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        double d;
        bool is_integer = true;
        int64_t integer = 7;
        EXPECT(read_number(texts[i], &d, &is_integer, &integer));
        EXPECT(!is_integer);
        EXPECT(d == strtod(texts[i], NULL));
    }
    /* Eighteen digits then more: the fast loop hands over to the checked one mid-number. */
    double d;
    bool is_integer = false;
    int64_t integer = 0;
    EXPECT(read_number("1234567890123456789", &d, &is_integer, &integer));
    EXPECT(is_integer);
    EXPECT_INT(integer, 1234567890123456789LL);
    /* A number cut short by the end of the text is read up to there. */
    json_reader r;
    const char *text = "123456789012345678999";
    jr_init(&r, text, 5);
    EXPECT(jr_number(&r, &d, &is_integer, &integer) && is_integer);
    EXPECT_INT(integer, 12345);
}

static void test_read_rejects(void)
{
    const char *const bad[] = { "-", "", "x1", "--1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double d;
        bool is_integer;
        int64_t integer;
        EXPECT(!read_number(bad[i], &d, &is_integer, &integer));
    }
    json_reader r;
    jr_init(&r, "2.5", 3);
    int64_t got;
    EXPECT(!jr_int(&r, &got));
    EXPECT(!jr_ok(&r));
}

int main(void)
{
    test_put_i64();
    test_number_length();
    test_number_length_remembered();
    test_read_integers();
    test_read_beyond_int64();
    test_read_rejects();
    return test_exit("test-json");
}
