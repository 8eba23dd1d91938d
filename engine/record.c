/*
 * record: the record model and its JSON form. The same JSON is the stored
 * body of a record (store.c) and its form on the wire (wire.c):
 *   {"type","id","version","seq","deleted",
 *    "st": stamp, "del": stamp (only while deleted),
 *    "fields": {name: {"v": value, "w","t","hl","hc","s"}}}
 * with a stamp as {"w","t","hl","hc","s"} (write, wall clock, HLC, server clock).
 */
#include "engine/record.h"
#include "base/json.h"

#include <assert.h>
#include <string.h>

void record_init(record *r, arena *a, const char *type, const char *id)
{
    memset(r, 0, sizeof *r);
    r->type = arena_strdup(a, type);
    r->id = arena_strdup(a, id);
}

static void reserve_fields(record *r, arena *a, int need)
{
    if (need <= r->cap_fields)
        return;
    int cap = r->cap_fields ? r->cap_fields * 2 : 8;
    while (cap < need)
        cap *= 2;
    field *fields = arena_alloc(a, (size_t)cap * sizeof *fields);
    if (r->n_fields)
        memcpy(fields, r->fields, (size_t)r->n_fields * sizeof *fields);
    r->fields = fields;
    r->cap_fields = cap;
}

static value copy_value(const value *v, arena *a)
{
    value out = *v;
    if (v->kind == VAL_STRING)
        out.s = arena_strdup(a, v->s);
    return out;
}

void record_copy(record *dst, const record *src, arena *a)
{
    *dst = *src;
    dst->type = arena_strdup(a, src->type);
    dst->id = arena_strdup(a, src->id);
    dst->fields = NULL;
    dst->cap_fields = 0;
    dst->n_fields = 0;
    reserve_fields(dst, a, src->n_fields);
    for (int i = 0; i < src->n_fields; i++) {
        dst->fields[i].name = arena_strdup(a, src->fields[i].name);
        dst->fields[i].v = copy_value(&src->fields[i].v, a);
        dst->fields[i].st = src->fields[i].st;
    }
    dst->n_fields = src->n_fields;
}

/* Index of name, or -(insertion point) - 1. */
static int find_field(const record *r, const char *name)
{
    int lo = 0, hi = r->n_fields - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(r->fields[mid].name, name);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

const field *record_field(const record *r, const char *name)
{
    int i = find_field(r, name);
    return i >= 0 ? &r->fields[i] : NULL;
}

void record_set_field(record *r, arena *a, const char *name, const value *v, const stamp *st)
{
    int i = find_field(r, name);
    if (i < 0) {
        assert(r->n_fields < RECORD_FIELDS_MAX);
        int at = -i - 1;
        reserve_fields(r, a, r->n_fields + 1);
        memmove(&r->fields[at + 1], &r->fields[at], (size_t)(r->n_fields - at) * sizeof *r->fields);
        r->n_fields++;
        r->fields[at].name = arena_strdup(a, name);
        i = at;
    }
    r->fields[i].v = copy_value(v, a);
    r->fields[i].st = *st;
}

bool record_same_state(const record *a, const record *b)
{
    if (a->deleted != b->deleted || a->n_fields != b->n_fields)
        return false;
    for (int i = 0; i < a->n_fields; i++) {
        if (strcmp(a->fields[i].name, b->fields[i].name) != 0)
            return false;
        if (!value_equal(&a->fields[i].v, &b->fields[i].v))
            return false;
    }
    return true;
}

bool record_same_provenance(const record *a, const record *b)
{
    if (!record_same_state(a, b))
        return false;
    if (a->st.w != b->st.w || a->del.w != b->del.w)
        return false;
    for (int i = 0; i < a->n_fields; i++)
        if (a->fields[i].st.w != b->fields[i].st.w)
            return false;
    return true;
}

static void add_stamp_members(cJSON *o, const stamp *st)
{
    cJSON_AddNumberToObject(o, "w", (double)st->w);
    cJSON_AddNumberToObject(o, "t", (double)st->ts_us);
    cJSON_AddNumberToObject(o, "hl", (double)st->h.l_us);
    cJSON_AddNumberToObject(o, "hc", (double)st->h.c);
    cJSON_AddNumberToObject(o, "s", (double)st->server_us);
}

cJSON *stamp_to_json(const stamp *st)
{
    cJSON *o = cJSON_CreateObject();
    add_stamp_members(o, st);
    return o;
}

static bool get_i64(const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(j))
        return false;
    *out = (int64_t)j->valuedouble;
    return true;
}

bool stamp_from_json(const cJSON *j, stamp *out)
{
    int64_t w, t, hl, hc, s;
    if (!cJSON_IsObject(j) || !get_i64(j, "w", &w) || !get_i64(j, "t", &t) || !get_i64(j, "hl", &hl) ||
        !get_i64(j, "hc", &hc) || !get_i64(j, "s", &s) || w < 0 || hc < 0 || hc > UINT32_MAX)
        return false;
    out->w = (write_id)w;
    out->ts_us = t;
    out->h.l_us = hl;
    out->h.c = (uint32_t)hc;
    out->server_us = s;
    return true;
}

cJSON *record_to_json(const record *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", r->type);
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddNumberToObject(o, "version", (double)r->version);
    cJSON_AddNumberToObject(o, "seq", (double)r->seq);
    cJSON_AddBoolToObject(o, "deleted", r->deleted);
    cJSON_AddItemToObject(o, "st", stamp_to_json(&r->st));
    if (r->del.w != WRITE_NONE)
        cJSON_AddItemToObject(o, "del", stamp_to_json(&r->del));
    cJSON *fields = cJSON_AddObjectToObject(o, "fields");
    for (int i = 0; i < r->n_fields; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddItemToObject(f, "v", value_to_json(&r->fields[i].v));
        add_stamp_members(f, &r->fields[i].st);
        cJSON_AddItemToObject(fields, r->fields[i].name, f);
    }
    return o;
}

bool record_from_json(const cJSON *j, arena *a, record *out, const char **why)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (!cJSON_IsString(type) || !cJSON_IsString(id)) {
        *why = "record without a string type and id";
        return false;
    }
    record_init(out, a, type->valuestring, id->valuestring);
    const cJSON *deleted = cJSON_GetObjectItemCaseSensitive(j, "deleted");
    if (!cJSON_IsBool(deleted) || !get_i64(j, "version", &out->version) || !get_i64(j, "seq", &out->seq)) {
        *why = "record without version, seq or deleted";
        return false;
    }
    out->deleted = cJSON_IsTrue(deleted);
    if (!stamp_from_json(cJSON_GetObjectItemCaseSensitive(j, "st"), &out->st)) {
        *why = "record with a malformed stamp";
        return false;
    }
    const cJSON *del = cJSON_GetObjectItemCaseSensitive(j, "del");
    if (del && !stamp_from_json(del, &out->del)) {
        *why = "record with a malformed delete stamp";
        return false;
    }
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(j, "fields");
    if (!cJSON_IsObject(fields)) {
        *why = "record without fields";
        return false;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        value v;
        stamp st;
        if (!f->string || !cJSON_IsObject(f) || !value_from_json(cJSON_GetObjectItemCaseSensitive(f, "v"), a, &v) ||
            !stamp_from_json(f, &st)) {
            *why = "record with a malformed field";
            return false;
        }
        if (out->n_fields >= RECORD_FIELDS_MAX || record_field(out, f->string)) {
            *why = "record with too many or repeated fields";
            return false;
        }
        record_set_field(out, a, f->string, &v, &st);
    }
    return true;
}

static void encode_stamp_members(buf *b, const stamp *st)
{
    buf_puts(b, "\"w\":");
    json_put_i64(b, (int64_t)st->w);
    buf_puts(b, ",\"t\":");
    json_put_i64(b, st->ts_us);
    buf_puts(b, ",\"hl\":");
    json_put_i64(b, st->h.l_us);
    buf_puts(b, ",\"hc\":");
    json_put_i64(b, st->h.c);
    buf_puts(b, ",\"s\":");
    json_put_i64(b, st->server_us);
}

static void encode_value(buf *b, const value *v)
{
    switch (v->kind) {
    case VAL_NULL: buf_puts(b, "null"); break;
    case VAL_BOOL: buf_puts(b, v->b ? "true" : "false"); break;
    case VAL_INT: json_put_i64(b, v->i); break;
    case VAL_REAL: json_put_number(b, v->r); break;
    case VAL_STRING: buf_put_json_string(b, v->s); break;
    }
}

void record_encode(const record *r, buf *b)
{
    buf_puts(b, "{\"type\":");
    buf_put_json_string(b, r->type);
    buf_puts(b, ",\"id\":");
    buf_put_json_string(b, r->id);
    buf_puts(b, ",\"version\":");
    json_put_i64(b, r->version);
    buf_puts(b, ",\"seq\":");
    json_put_i64(b, r->seq);
    buf_puts(b, r->deleted ? ",\"deleted\":true,\"st\":{" : ",\"deleted\":false,\"st\":{");
    encode_stamp_members(b, &r->st);
    buf_putc(b, '}');
    if (r->del.w != WRITE_NONE) {
        buf_puts(b, ",\"del\":{");
        encode_stamp_members(b, &r->del);
        buf_putc(b, '}');
    }
    buf_puts(b, ",\"fields\":{");
    for (int i = 0; i < r->n_fields; i++) {
        if (i)
            buf_putc(b, ',');
        buf_put_json_string(b, r->fields[i].name);
        buf_puts(b, ":{\"v\":");
        encode_value(b, &r->fields[i].v);
        buf_putc(b, ',');
        encode_stamp_members(b, &r->fields[i].st);
        buf_putc(b, '}');
    }
    buf_puts(b, "}}");
}

/* A stamp's members, or a field's (which add "v"), read in any order. */
static bool decode_stamped(json_reader *jr, arena *a, stamp *st, value *v)
{
    int64_t w = -1, t = 0, hl = 0, hc = 0, s = 0;
    bool have_v = false;
    const char *key;
    if (!jr_object(jr))
        return false;
    while (jr_key(jr, a, &key)) {
        bool ok;
        if (strcmp(key, "w") == 0)
            ok = jr_int(jr, &w);
        else if (strcmp(key, "t") == 0)
            ok = jr_int(jr, &t);
        else if (strcmp(key, "hl") == 0)
            ok = jr_int(jr, &hl);
        else if (strcmp(key, "hc") == 0)
            ok = jr_int(jr, &hc);
        else if (strcmp(key, "s") == 0)
            ok = jr_int(jr, &s);
        else if (v && strcmp(key, "v") == 0) {
            have_v = true;
            memset(v, 0, sizeof *v);
            double d;
            bool is_integer;
            if (jr_null(jr)) {
                v->kind = VAL_NULL;
                ok = true;
            } else if (jr->p < jr->end && (*jr->p == 't' || *jr->p == 'f')) {
                v->kind = VAL_BOOL;
                ok = jr_bool(jr, &v->b);
            } else if (jr->p < jr->end && *jr->p == '"') {
                v->kind = VAL_STRING;
                ok = jr_string(jr, a, &v->s);
            } else {
                ok = jr_number(jr, &d, &is_integer, &v->i);
                v->kind = is_integer ? VAL_INT : VAL_REAL;
                v->r = is_integer ? 0.0 : d;
            }
        } else
            ok = jr_skip(jr);
        if (!ok)
            return false;
    }
    if (!jr_ok(jr) || w < 0 || hc < 0 || hc > UINT32_MAX || (v && !have_v))
        return false;
    st->w = (write_id)w;
    st->ts_us = t;
    st->h.l_us = hl;
    st->h.c = (uint32_t)hc;
    st->server_us = s;
    return true;
}

bool record_decode(const char *text, size_t len, arena *a, record *out, const char **why)
{
    json_reader jr;
    jr_init(&jr, text, len);
    memset(out, 0, sizeof *out);
    bool have_type = false, have_id = false, have_st = false, have_fields = false, have_deleted = false;
    const char *key;
    *why = "record JSON is malformed";
    if (!jr_object(&jr))
        return false;
    while (jr_key(&jr, a, &key)) {
        bool ok = true;
        if (strcmp(key, "type") == 0)
            ok = have_type = jr_string(&jr, a, &out->type);
        else if (strcmp(key, "id") == 0)
            ok = have_id = jr_string(&jr, a, &out->id);
        else if (strcmp(key, "version") == 0)
            ok = jr_int(&jr, &out->version);
        else if (strcmp(key, "seq") == 0)
            ok = jr_int(&jr, &out->seq);
        else if (strcmp(key, "deleted") == 0)
            ok = have_deleted = jr_bool(&jr, &out->deleted);
        else if (strcmp(key, "st") == 0)
            ok = have_st = decode_stamped(&jr, a, &out->st, NULL);
        else if (strcmp(key, "del") == 0)
            ok = decode_stamped(&jr, a, &out->del, NULL);
        else if (strcmp(key, "fields") == 0) {
            have_fields = true;
            const char *name;
            ok = jr_object(&jr);
            while (ok && jr_key(&jr, a, &name)) {
                value v;
                stamp st;
                if (!decode_stamped(&jr, a, &st, &v)) {
                    ok = false;
                    break;
                }
                if (out->n_fields >= RECORD_FIELDS_MAX || record_field(out, name)) {
                    *why = "record with too many or repeated fields";
                    return false;
                }
                record_set_field(out, a, name, &v, &st);
            }
            ok = ok && jr_ok(&jr);
        } else
            ok = jr_skip(&jr);
        if (!ok)
            return false;
    }
    if (!jr_ok(&jr) || !jr_end(&jr) || !have_type || !have_id || !have_st || !have_fields || !have_deleted)
        return false;
    *why = NULL;
    return true;
}

void record_observation(const record *r, observation *obs, write_id *writes)
{
    memset(obs, 0, sizeof *obs);
    obs->kind = OBS_RECORD;
    obs->type = r->type;
    obs->id = r->id;
    obs->deleted = r->deleted;
    obs->record_w = r->st.w;
    obs->delete_w = r->del.w;
    for (int i = 0; i < r->n_fields; i++)
        writes[i] = r->fields[i].st.w;
    obs->n_writes = r->n_fields;
    obs->writes = writes;
}
