/*
 * schema: payload validation. See schema.h.
 */
#include "engine/schema.h"

#include <string.h>

static const schema_field *schema_field_of(const entity_rules *rules, const char *name)
{
    for (int i = 0; i < rules->n_schema; i++)
        if (strcmp(rules->schema[i].name, name) == 0)
            return &rules->schema[i];
    return NULL;
}

static bool kind_fits(value_kind want, value_kind have)
{
    return have == want || (want == VAL_REAL && have == VAL_INT);
}

static const char *check_value(const schema_field *s, const value *v, arena *a)
{
    if (!kind_fits(s->kind, v->kind)) {
        buf text;
        buf_init(&text);
        value_format(v, &text);
        const char *why = arena_printf(a, "%s must be %s, not %s", s->name,
                                       s->kind == VAL_INT    ? "an integer"
                                       : s->kind == VAL_REAL ? "a number"
                                       : s->kind == VAL_BOOL ? "a boolean"
                                                             : "a string",
                                       text.data);
        buf_free(&text);
        return why;
    }
    if (s->n_enum == 0)
        return NULL;
    for (int i = 0; i < s->n_enum; i++)
        if (strcmp(s->enum_values[i], v->s) == 0)
            return NULL;
    buf allowed;
    buf_init(&allowed);
    for (int i = 0; i < s->n_enum; i++)
        buf_printf(&allowed, "%s%s", i ? ", " : "", s->enum_values[i]);
    const char *why = arena_printf(a, "%s must be one of %s, not \"%s\"", s->name, allowed.data, v->s);
    buf_free(&allowed);
    return why;
}

const char *schema_check(const entity_rules *rules, const record *r, op_kind op, int n_changed,
                         const char *const *changed, arena *a)
{
    if (rules->n_schema == 0 || op == OP_DELETE || op == OP_APPEND)
        return NULL;
    for (int i = 0; i < n_changed; i++) {
        const schema_field *s = schema_field_of(rules, changed[i]);
        const field *f = record_field(r, changed[i]);
        if (!s || !f)
            continue;   /* a field the schema does not name is not the schema's business */
        const char *why = check_value(s, &f->v, a);
        if (why)
            return why;
    }
    if (op == OP_CREATE)
        for (int i = 0; i < rules->n_schema; i++)
            if (rules->schema[i].required && !record_field(r, rules->schema[i].name))
                return arena_printf(a, "%s is required", rules->schema[i].name);
    return NULL;
}
