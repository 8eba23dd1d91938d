/*
 * value: typed scalars. Reals compare by bit pattern (so NaN-free values equal
 * themselves after a JSON round trip; cJSON prints with enough digits), and an
 * integer equals the real of the same number, since JSON cannot tell them apart.
 */
#include "engine/value.h"
#include "base/json.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define JSON_SAFE_INT (INT64_C(1) << 53)

bool value_identical(const value *a, const value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case VAL_NULL: return true;
    case VAL_BOOL: return a->b == b->b;
    case VAL_INT: return a->i == b->i;
    case VAL_REAL: return memcmp(&a->r, &b->r, sizeof a->r) == 0;
    case VAL_STRING: return strcmp(a->s, b->s) == 0;
    }
    return false;
}

bool value_equal(const value *a, const value *b)
{
    /* JSON has one number type: 3 and 3.0 are the same value after a round trip. */
    if (a->kind == VAL_INT && b->kind == VAL_REAL)
        return (double)a->i == b->r;
    if (a->kind == VAL_REAL && b->kind == VAL_INT)
        return a->r == (double)b->i;
    return value_identical(a, b);
}

const char *value_kind_name(value_kind kind)
{
    switch (kind) {
    case VAL_NULL: return "null";
    case VAL_BOOL: return "bool";
    case VAL_INT: return "int";
    case VAL_REAL: return "real";
    case VAL_STRING: return "string";
    }
    return "?";
}

void value_write(const value *v, json_out *out)
{
    switch (v->kind) {
    case VAL_NULL: jo_null(out); return;
    case VAL_BOOL: jo_bool(out, v->b); return;
    case VAL_INT:
        /* A tree or a hash carries a double: exact within 2^53 (the text carries any integer). */
        assert(out->sink == JSON_OUT_TEXT || (v->i < JSON_SAFE_INT && v->i > -JSON_SAFE_INT));
        jo_int(out, v->i);
        return;
    case VAL_REAL: jo_number(out, v->r); return;
    case VAL_STRING: jo_string(out, v->s); return;
    }
    jo_null(out);
}

cJSON *value_to_json(const value *v)
{
    json_out o;
    json_out_tree(&o);
    value_write(v, &o);
    return json_out_take(&o);
}

value value_of_number(double d)
{
    if (d == floor(d) && d < (double)JSON_SAFE_INT && d > -(double)JSON_SAFE_INT)
        return (value){ .kind = VAL_INT, .i = (int64_t)d };
    return (value){ .kind = VAL_REAL, .r = d };
}

value value_as_written(const value *v)
{
    return v->kind == VAL_REAL ? value_of_number(v->r) : *v;
}

void value_put_json(buf *out, const value *v)
{
    json_out o;
    json_out_text(&o, out);
    value_write(v, &o);
}

bool value_from_json(const cJSON *j, arena *a, value *out)
{
    memset(out, 0, sizeof *out);
    if (cJSON_IsNull(j)) {
        out->kind = VAL_NULL;
    } else if (cJSON_IsBool(j)) {
        out->kind = VAL_BOOL;
        out->b = cJSON_IsTrue(j);
    } else if (cJSON_IsNumber(j)) {
        *out = value_of_number(j->valuedouble);
    } else if (cJSON_IsString(j)) {
        out->kind = VAL_STRING;
        out->s = arena_strdup(a, j->valuestring);
    } else {
        return false;
    }
    return true;
}

void value_format(const value *v, buf *out)
{
    switch (v->kind) {
    case VAL_NULL: buf_puts(out, "null"); break;
    case VAL_BOOL: buf_puts(out, v->b ? "true" : "false"); break;
    case VAL_INT: buf_printf(out, "%lld", (long long)v->i); break;
    case VAL_REAL: buf_printf(out, "%.17g", v->r); break;
    case VAL_STRING: buf_put_json_string(out, v->s); break;
    }
}
