/*
 * duration: the scenario language's durations ("250ms", "90s", "1h30m",
 * "1.5s", "7d", "1w", "-2m") and the readable forms used in output.
 */
#ifndef SIM_DURATION_H
#define SIM_DURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse text into microseconds. Returns false with a reason in *why (a static
 * string) on malformed input. A bare "0" is accepted; any other number needs
 * a unit (us, ms, s, m, h, d, w).
 */
bool duration_parse(const char *text, int64_t *out_us, const char **why);
/* Exact, parseable form: "1h30m", "250ms", "0s", "-2m", "2m39s974ms173us". Returns out.
 * For files a program reads back (shrink's output); people get duration_human. */
char *duration_format(int64_t us, char *out, size_t cap);
/* As a person writes it, about three significant figures: "2m40s" for 2m39.974173s,
 * "191ms", "1.5s", "1h30m", "3d4h". Parseable, but rounded. Returns out. */
char *duration_human(int64_t us, char *out, size_t cap);
/* Unix microseconds as ISO-8601 UTC with milliseconds: 2025-01-01T00:05:00.000Z */
char *timestamp_format(int64_t unix_us, char *out, size_t cap);

#define DURATION_TEXT_MAX 48

#endif
