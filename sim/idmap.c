/*
 * idmap: translating between logical ids and the replicas' ids. See idmap.h.
 */
#include "sim/idmap.h"
#include "base/xalloc.h"

#include <stdio.h>
#include <string.h>

#define SEP "\x1f"

void idmap_init(idmap *m)
{
    memset(m, 0, sizeof *m);
    arena_init(&m->a, 4096);
    strmap_init(&m->by_real);
    strmap_init(&m->real_of);
    strmap_init(&m->binding);
    strmap_init(&m->creator);
}

void idmap_free(idmap *m)
{
    strmap_free(&m->by_real);
    strmap_free(&m->real_of);
    strmap_free(&m->binding);
    strmap_free(&m->creator);
    xfree(m->names);
    arena_release(&m->a);
    memset(m, 0, sizeof *m);
}

static int add_name(idmap *m, const char *name)
{
    xgrow(&m->names, &m->cap_names, m->n_names + 1, sizeof *m->names);
    m->names[m->n_names] = arena_strdup(&m->a, name);
    return (int)m->n_names++;
}

/* Lookups build their key in a stack buffer; ids longer than it are never mapped (never stored either). */
#define KEY_MAX 512

static bool key2(char *out, const char *a, const char *b)
{
    int n = snprintf(out, KEY_MAX, "%s" SEP "%s", a, b);
    return n > 0 && n < KEY_MAX;
}

static bool key3(char *out, int node, const char *type, const char *id)
{
    int n = snprintf(out, KEY_MAX, "%d" SEP "%s" SEP "%s", node, type, id);
    return n > 0 && n < KEY_MAX;
}

static const char *get(const idmap *m, const strmap *map, const char *key)
{
    int i = strmap_get(map, key);
    return i < 0 ? NULL : m->names[i];
}

static void put(idmap *m, strmap *map, const char *key, const char *name)
{
    strmap_put(map, arena_strdup(&m->a, key), add_name(m, name));
}

const char *idmap_logical(const idmap *m, int node, const char *type, const char *id)
{
    char key[KEY_MAX];
    const char *name;
    if (key2(key, type, id) && (name = get(m, &m->by_real, key)))
        return name;
    if (key3(key, node, type, id) && (name = get(m, &m->binding, key)))
        return name;
    return id;
}

const char *idmap_node_id(const idmap *m, int node, const char *type, const char *logical)
{
    char key[KEY_MAX];
    if (key3(key, node, type, logical) && get(m, &m->binding, key))
        return logical;   /* the device's own temporary id: it maps it itself */
    const char *real;
    if (key2(key, type, logical) && (real = get(m, &m->real_of, key)))
        return real;
    return logical;
}

void idmap_user_op(idmap *m, int node, const char *device, op_kind kind, const char *type, const char *id,
                   const char **logical, const char **node_id)
{
    char key[KEY_MAX], ckey[KEY_MAX];
    const char *bound;
    *logical = id;
    *node_id = id;
    if (!key3(key, node, type, id) || !key2(ckey, type, id))
        return;
    if ((bound = get(m, &m->binding, key))) {
        *logical = bound;
        return;
    }
    const char *real = get(m, &m->real_of, ckey);
    if (real) {
        *node_id = real;
        return;
    }
    if (kind != OP_CREATE)
        return;
    if (strmap_get(&m->creator, ckey) < 0) {
        strmap_put(&m->creator, arena_strdup(&m->a, ckey), node);
        put(m, &m->binding, key, id);
        *logical = get(m, &m->binding, key);
        return;
    }
    /* Another device created a record by this id too: under server ids it is another record. */
    char name[KEY_MAX];
    snprintf(name, sizeof name, "%s@%s", id, device);
    put(m, &m->binding, key, name);
    *logical = get(m, &m->binding, key);
}

void idmap_assigned(idmap *m, int node, const char *type, const char *temp, const char *real)
{
    char key[KEY_MAX], lkey[KEY_MAX];
    const char *logical = idmap_logical(m, node, type, temp);
    if (!key2(key, type, real) || !key2(lkey, type, logical) || get(m, &m->by_real, key))
        return;
    if (!get(m, &m->real_of, lkey)) {
        put(m, &m->real_of, lkey, real);
        put(m, &m->by_real, key, logical);
        return;
    }
    /* The record has a server id already: this create made a second record of it. */
    char name[KEY_MAX];
    snprintf(name, sizeof name, "%s@%s", logical, real);
    put(m, &m->by_real, key, name);
    if (key2(lkey, type, name))
        put(m, &m->real_of, lkey, real);
}

void idmap_mapped(idmap *m, int node, const char *type, const char *temp, const char *real)
{
    char key[KEY_MAX];
    if (!key3(key, node, type, temp))
        return;
    put(m, &m->binding, key, idmap_logical(m, node, type, real));
}

static void rename_string(cJSON *item, const char *to)
{
    if (cJSON_IsString(item) && strcmp(item->valuestring, to) != 0)
        cJSON_SetValuestring(item, to);
}

/* The snapshot holds a record by a server id that reads as logical. */
static bool holds_real(const idmap *m, const cJSON *records, const char *type, const char *logical)
{
    char key[KEY_MAX];
    const cJSON *r;
    cJSON_ArrayForEach(r, records)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "type");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        const char *name;
        if (cJSON_IsString(t) && cJSON_IsString(id) && strcmp(t->valuestring, type) == 0 &&
            key2(key, type, id->valuestring) && (name = get(m, &m->by_real, key)) && strcmp(name, logical) == 0)
            return true;
    }
    return false;
}

void idmap_snapshot(idmap *m, int node, const profile *p, cJSON *snap)
{
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(snap, "records");
    /* Ids first, all read before any is rewritten: a device's copy still under its temporary id
     * beside the server's copy of the same record (its create was dropped unanswered, or the answer
     * that would have renamed it never came) is a record of its own, "<logical>@temp". */
    int n = cJSON_GetArraySize(records);
    const char **renamed = xcalloc((size_t)(n ? n : 1), sizeof *renamed);
    char key[KEY_MAX];
    int i = 0;
    cJSON *r;
    cJSON_ArrayForEach(r, records)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        if (cJSON_IsString(type) && cJSON_IsString(id)) {
            const char *logical = idmap_logical(m, node, type->valuestring, id->valuestring);
            bool temp = !(key2(key, type->valuestring, id->valuestring) && get(m, &m->by_real, key));
            if (temp && holds_real(m, records, type->valuestring, logical))
                logical = arena_printf(&m->a, "%s@temp", logical);
            renamed[i] = logical;
        }
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(r, records)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
        cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        const char *logical = renamed[i++];
        if (!logical)
            continue;   /* malformed: snapshot_parse says so */
        rename_string(id, logical);
        const entity_rules *rules = profile_rules(p, type->valuestring);
        const cJSON *fields = cJSON_GetObjectItemCaseSensitive(r, "fields");
        for (int k = 0; k < rules->n_refs; k++) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(fields, rules->refs[k].field);
            cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "v");
            if (cJSON_IsString(v))
                rename_string(v, idmap_logical(m, node, rules->refs[k].type, v->valuestring));
        }
    }
    const cJSON *kept = cJSON_GetObjectItemCaseSensitive(snap, "kept");
    cJSON_ArrayForEach(r, kept)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
        cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        if (cJSON_IsString(type) && cJSON_IsString(id))
            rename_string(id, idmap_logical(m, node, type->valuestring, id->valuestring));
    }
    xfree(renamed);
}
