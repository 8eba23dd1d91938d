/*
 * test-duration: the scenario language's durations, their errors, and the
 * exact formatting shrink will write back.
 */
#include "sim/duration.h"
#include "tests/testlib.h"

#define SEC INT64_C(1000000)

static void parses(void)
{
    static const struct {
        const char *text;
        int64_t us;
    } OK[] = {
        { "0", 0 },
        { "0s", 0 },
        { "250ms", 250000 },
        { "90s", 90 * SEC },
        { "5m", 300 * SEC },
        { "2h", 7200 * SEC },
        { "7d", 604800 * SEC },
        { "1w", 604800 * SEC },
        { "1h30m", 5400 * SEC },
        { "1.5s", 1500000 },
        { "0.25ms", 250 },
        { "15us", 15 },
        { "-90s", -90 * SEC },
        { "+2m", 120 * SEC },
        { "1d2h3m4s5ms6us", INT64_C(93784005006) },
        { "400d", INT64_C(400) * 86400 * SEC },
        { "0.500000000d", 12 * 3600 * SEC },            /* long fraction of a large unit: no overflow */
        { "0.5000000000000000000w", 302400 * SEC },     /* beyond 18 digits, zeros are fine */
        { "1.000000000000000000s", SEC },
    };
    for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++) {
        int64_t us = -1;
        const char *why = NULL;
        EXPECT(duration_parse(OK[i].text, &us, &why));
        EXPECT_INT(us, OK[i].us);
    }
}

static void refuses(void)
{
    static const struct {
        const char *text;
        const char *why;
    } BAD[] = {
        { "", "expected a duration" },
        { "5", "a number needs a unit" },
        { "5min", "unknown unit" },
        { "5 m", "unknown unit" },
        { "m5", "expected a number" },
        { "1.s", "digits after the decimal point" },
        { "0.5us", "finer than a microsecond" },
        { "401d", "too long" },
        { "99999999999999w", "too long" },
        { "-", "expected a duration" },
        { "1h-5m", "unknown unit" },
        { "1.0000000005s", "finer than a microsecond" },  /* the 10th digit is not dropped */
        { "0.123456789d", "finer than a microsecond" },
        { "0.0000000000000000001w", "finer than a microsecond" },
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        int64_t us = 0;
        const char *why = NULL;
        EXPECT(!duration_parse(BAD[i].text, &us, &why));
        EXPECT_CONTAINS(why, BAD[i].why);
    }
}

static void formats_round_trip(void)
{
    char text[DURATION_TEXT_MAX];
    EXPECT_STR(duration_format(0, text, sizeof text), "0s");
    EXPECT_STR(duration_format(250000, text, sizeof text), "250ms");
    EXPECT_STR(duration_format(5400 * SEC, text, sizeof text), "1h30m");
    EXPECT_STR(duration_format(-90 * SEC, text, sizeof text), "-1m30s");
    EXPECT_STR(duration_format(14 * 86400 * SEC, text, sizeof text), "2w");
    EXPECT_STR(duration_format(8 * 86400 * SEC, text, sizeof text), "8d");
    static const int64_t values[] = { 1, 999, 1000, 1500000, 3600 * SEC + 1, -7, INT64_C(93784005006) };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        int64_t back = 0;
        const char *why = NULL;
        duration_format(values[i], text, sizeof text);
        EXPECT(duration_parse(text, &back, &why));
        EXPECT_INT(back, values[i]);
    }
}

/* What people read: rounded to about three figures, two units at most, and still parseable. */
static void formats_for_people(void)
{
    static const struct {
        int64_t us;
        const char *text;
    } CASES[] = {
        { 0, "0s" },
        { 7, "7us" },
        { 999, "999us" },
        { 1000, "1ms" },
        { 2549, "2.5ms" },
        { 9960, "10ms" },
        { 191234, "191ms" },
        { 999600, "1s" },
        { 1500000, "1.5s" },
        { 9990000, "10s" },
        { 12400000, "12s" },
        { INT64_C(159974173), "2m40s" },          /* not 2m39s974ms173us */
        { 3599 * SEC + 600000, "1h" },
        { 5400 * SEC + 29 * SEC, "1h30m" },
        { 5400 * SEC + 31 * SEC, "1h31m" },
        { INT64_C(93784005006), "1d2h" },
        { 14 * 86400 * SEC + 1, "2w" },
        { -90 * SEC - 400000, "-1m30s" },
        { -3, "-3us" },
    };
    char text[DURATION_TEXT_MAX];
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        EXPECT_STR(duration_human(CASES[i].us, text, sizeof text), CASES[i].text);
        int64_t back = 0;
        const char *why = NULL;
        EXPECT(duration_parse(text, &back, &why));
    }
}

static void timestamps(void)
{
    char text[40];
    EXPECT_STR(timestamp_format(INT64_C(1735689600000000), text, sizeof text), "2025-01-01T00:00:00.000Z");
    EXPECT_STR(timestamp_format(INT64_C(1735689600000000) + 10 * 60 * SEC + 1500, text, sizeof text),
               "2025-01-01T00:10:00.001Z");
    EXPECT_STR(timestamp_format(INT64_C(951782400000000), text, sizeof text), "2000-02-29T00:00:00.000Z");
    EXPECT_STR(timestamp_format(0, text, sizeof text), "1970-01-01T00:00:00.000Z");
    EXPECT_STR(timestamp_format(-SEC, text, sizeof text), "1969-12-31T23:59:59.000Z");
}

int main(void)
{
    parses();
    refuses();
    formats_round_trip();
    formats_for_people();
    timestamps();
    return test_exit("test-duration");
}
