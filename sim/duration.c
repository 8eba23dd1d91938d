/*
 * duration: parsing and formatting. Pure integer arithmetic; fractions are
 * read digit by digit so "1.5s" is exactly 1500000 us.
 */
#include "sim/duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct unit {
    const char *name;
    int64_t us;
} unit;

/* Longest names first so "ms" is not read as "m" followed by garbage. */
static const unit UNITS[] = {
    { "us", 1 },
    { "ms", 1000 },
    { "s", 1000000 },
    { "m", 60 * INT64_C(1000000) },
    { "h", 3600 * INT64_C(1000000) },
    { "d", 86400 * INT64_C(1000000) },
    { "w", 7 * 86400 * INT64_C(1000000) },
};

static const unit *match_unit(const char *p, size_t *len)
{
    const unit *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++) {
        size_t n = strlen(UNITS[i].name);
        if (strncmp(p, UNITS[i].name, n) == 0 && n > best_len) {
            best = &UNITS[i];
            best_len = n;
        }
    }
    /* Reject "5min", "5mss": a unit must be followed by a digit or the end. */
    if (best && p[best_len] && !(p[best_len] >= '0' && p[best_len] <= '9'))
        return NULL;
    *len = best_len;
    return best;
}

#define DURATION_US_MAX (INT64_C(400) * 86400 * 1000000)   /* 400 days */

bool duration_parse(const char *text, int64_t *out_us, const char **why)
{
    const char *p = text;
    bool negative = false;
    if (*p == '-') {
        negative = true;
        p++;
    } else if (*p == '+') {
        p++;
    }
    if (strcmp(p, "0") == 0) {
        *out_us = 0;
        return true;
    }
    if (!*p) {
        *why = "expected a duration such as 250ms, 90s, 5m, 2h, 7d or 1w";
        return false;
    }
    int64_t total = 0;
    while (*p) {
        if (!(*p >= '0' && *p <= '9')) {
            *why = "expected a number followed by a unit (us, ms, s, m, h, d, w)";
            return false;
        }
        int64_t whole = 0;
        while (*p >= '0' && *p <= '9') {
            whole = whole * 10 + (*p - '0');
            if (whole > DURATION_US_MAX) {
                *why = "duration is too long (at most 400 days)";
                return false;
            }
            p++;
        }
        /* The fraction as frac_num / frac_den, exact up to 18 digits; later digits must be zero. */
        int64_t frac_num = 0, frac_den = 1;
        bool dropped_nonzero = false;
        if (*p == '.') {
            p++;
            if (!(*p >= '0' && *p <= '9')) {
                *why = "expected digits after the decimal point";
                return false;
            }
            while (*p >= '0' && *p <= '9') {
                if (frac_den < INT64_C(1000000000000000000)) {
                    frac_num = frac_num * 10 + (*p - '0');
                    frac_den *= 10;
                } else if (*p != '0') {
                    dropped_nonzero = true;
                }
                p++;
            }
        }
        size_t unit_len = 0;
        const unit *u = match_unit(p, &unit_len);
        if (!u) {
            *why = *p ? "unknown unit (use us, ms, s, m, h, d or w)"
                      : "a number needs a unit, as in 250ms, 90s, 5m, 2h, 7d or 1w";
            return false;
        }
        p += unit_len;
        if (whole > DURATION_US_MAX / u->us) {
            *why = "duration is too long (at most 400 days)";
            return false;
        }
        /* frac_num * us can exceed 64 bits (0.123456789d), so multiply in 128. */
        __extension__ typedef unsigned __int128 u128;
        u128 frac_us = (u128)(uint64_t)frac_num * (uint64_t)u->us;
        if (dropped_nonzero || frac_us % (uint64_t)frac_den != 0) {
            *why = "duration is finer than a microsecond";
            return false;
        }
        int64_t part = whole * u->us + (int64_t)(frac_us / (uint64_t)frac_den);
        total += part;
        if (total > DURATION_US_MAX) {
            *why = "duration is too long (at most 400 days)";
            return false;
        }
    }
    *out_us = negative ? -total : total;
    return true;
}

char *duration_format(int64_t us, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    if (us == 0) {
        snprintf(out, cap, "0s");
        return out;
    }
    uint64_t left;
    if (us < 0) {
        n += (size_t)snprintf(out + n, cap - n, "-");
        left = (uint64_t)0 - (uint64_t)us;
    } else {
        left = (uint64_t)us;
    }
    /* Largest unit first; skip weeks unless the value is whole weeks. */
    static const int order[] = { 5, 4, 3, 2, 1, 0 };
    if (left % (uint64_t)UNITS[6].us == 0) {
        snprintf(out + n, cap - n, "%lluw", (unsigned long long)(left / (uint64_t)UNITS[6].us));
        return out;
    }
    for (size_t i = 0; i < sizeof order / sizeof order[0] && left; i++) {
        const unit *u = &UNITS[order[i]];
        uint64_t count = left / (uint64_t)u->us;
        if (count) {
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%llu%s", (unsigned long long)count, u->name);
            left -= count * (uint64_t)u->us;
        }
    }
    return out;
}

/* us rounded to the nearest multiple of step (halves away from zero); us >= 0. */
static uint64_t round_to(uint64_t us, uint64_t step)
{
    return (us + step / 2) / step * step;
}

char *duration_human(int64_t us, char *out, size_t cap)
{
    uint64_t left = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    const char *sign = us < 0 ? "-" : "";
    const uint64_t MS = 1000, S = 1000000, MIN = 60 * S, HOUR = 3600 * S, DAY = 86400 * S;
    /*
     * About three significant figures, as a person writes a duration: below
     * 10ms and 10s one decimal of the unit (2.5ms, 1.5s); above that whole
     * units, then two units at most (2m40s, 1h30m, 3d4h), each step rounded
     * to the smaller unit. Every result parses back (duration_parse).
     */
    uint64_t step = left < MS ? 1 : left < 10 * MS ? 100 : left < S ? MS : left < 10 * S ? 100 * MS
                  : left < HOUR ? S : left < DAY ? MIN : HOUR;
    uint64_t v = round_to(left, step);
    if (step == 100 && v < 10 * MS && v % MS) {
        snprintf(out, cap, "%s%llu.%llums", sign, (unsigned long long)(v / MS), (unsigned long long)(v % MS / 100));
        return out;
    }
    if (step == 100 * MS && v < 10 * S && v % S) {
        snprintf(out, cap, "%s%llu.%llus", sign, (unsigned long long)(v / S), (unsigned long long)(v % S / (100 * MS)));
        return out;
    }
    char exact[DURATION_TEXT_MAX];
    duration_format((int64_t)v, exact, sizeof exact);
    snprintf(out, cap, "%s%s", v ? sign : "", exact);
    return out;
}

/* Days since 1970-01-01 to civil date (proleptic Gregorian), H. Hinnant's algorithm. */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t year = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(year + (*m <= 2));
}

char *timestamp_format(int64_t unix_us, char *out, size_t cap)
{
    int64_t ms = unix_us >= 0 ? unix_us / 1000 : -((-unix_us + 999) / 1000);
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t msec = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, cap, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60), (int)msec);
    return out;
}
