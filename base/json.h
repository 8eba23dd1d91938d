/*
 * json: a compact JSON writer and a streaming reader.
 *
 * The writer prints cJSON trees (and lets callers print values directly)
 * with an integer fast path: cJSON prints every number through
 * printf("%1.15g") and a sscanf round-trip check, which dominated the
 * simulator's profile. The reader walks JSON text token by token without
 * building a tree, so stored records decode straight into structs.
 *
 * Output is the same JSON cJSON would accept; integers in doubles up to
 * 2^53 print as integers, other finite numbers in the shortest of 15 or 17
 * significant digits that reads back exactly.
 */
#ifndef BASE_JSON_H
#define BASE_JSON_H

#include "base/arena.h"
#include "base/buf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Integers a double holds exactly: what JSON numbers carry without loss. */
#define JSON_INT_LIMIT (INT64_C(1) << 53)

/*
 * The integer a cJSON number holds, when it is integral and within [min, max]
 * (a range inside +-2^53); false for anything else. Decoders use it instead
 * of casting valuedouble, which is undefined behaviour for a number beyond
 * int64 (1e300 in a message) and silently drops a fraction.
 */
bool json_number_int(const cJSON *j, int64_t min, int64_t max, int64_t *out);

void json_put_i64(buf *b, int64_t v);
void json_put_number(buf *b, double v);
/* Bytes json_put_number would write. */
size_t json_number_length(double v);
/* json_number_length((double)v) for an integer inside +-2^53 (its digits and sign), without the
 * double's tests. */
size_t json_int_length(int64_t v);
/* Compact form of a cJSON tree. */
void json_write(buf *b, const cJSON *v);
/* Indented form (two spaces a level) for files people read. */
void json_write_pretty(buf *b, const cJSON *v, int depth);

typedef struct json_reader {
    const char *p;
    const char *end;
    const char *error;   /* first error, static text; NULL while fine */
    char key[128];       /* the last key read, when it fits */
} json_reader;

void jr_init(json_reader *r, const char *text, size_t len);
bool jr_ok(const json_reader *r);
/* '{' ; then jr_key until it returns false (at '}'). */
bool jr_object(json_reader *r);
/* Next key of the current object; false at the end or on error. *key is valid until the next
 * call (it lives in the reader, or in a when longer than the reader's buffer): copy what you keep. */
bool jr_key(json_reader *r, arena *a, const char **key);
/* '[' ; then jr_item until it returns false (at ']'). */
bool jr_array(json_reader *r);
bool jr_item(json_reader *r);
bool jr_string(json_reader *r, arena *a, const char **out);
/* An integral number that fits int64 (no fraction, no exponent). */
bool jr_int(json_reader *r, int64_t *out);
bool jr_number(json_reader *r, double *out, bool *is_integer, int64_t *integer);
bool jr_bool(json_reader *r, bool *out);
/* True and consumed if the next token is null. */
bool jr_null(json_reader *r);
/* Skip one value of any kind. */
bool jr_skip(json_reader *r);
/* Only whitespace left. */
bool jr_end(json_reader *r);

#endif
