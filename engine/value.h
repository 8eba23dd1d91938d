/*
 * value: the typed values a record field holds (null, bool, integer, real,
 * string), their JSON form and their comparison.
 */
#ifndef ENGINE_VALUE_H
#define ENGINE_VALUE_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/json_out.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum value_kind {
    VAL_NULL,
    VAL_BOOL,
    VAL_INT,
    VAL_REAL,
    VAL_STRING,
} value_kind;

typedef struct value {
    value_kind kind;
    bool b;
    int64_t i;
    double r;
    const char *s;   /* owned by whoever owns the value's arena */
} value;

/* The same value, an integer and a real of the same number included (JSON cannot tell them apart). */
bool value_equal(const value *a, const value *b);
/* The same kind and the same value; reals bit for bit. */
bool value_identical(const value *a, const value *b);
const char *value_kind_name(value_kind kind);
/* JSON form; integers beyond 2^53 would lose precision and are asserted against. */
void value_write(const value *v, json_out *out);
cJSON *value_to_json(const value *v);
/* The value a JSON number reads back as: an integer when integral within +-2^53, else a real. */
value value_of_number(double d);
/* What value_from_json gives for value_to_json's tree of v (a real that is integral reads back as
 * an integer): what a message kept as structs must hand its reader. */
value value_as_written(const value *v);
/* The same JSON as text, appended to out. */
void value_put_json(buf *out, const value *v);
/* Reads a JSON scalar; strings are copied into a. Returns false for arrays/objects. */
bool value_from_json(const cJSON *j, arena *a, value *out);
/* A short literal for messages and witnesses: "abc", 3, 2.5, true, null. */
void value_format(const value *v, buf *out);

#endif
