/*
 * wire: building and validating protocol messages. See wire.h.
 */
#include "engine/wire.h"

#include <string.h>

static const char *const MSG_NAMES[] = {
    [MSG_PUSH] = "push",
    [MSG_PUSH_RESULT] = "push_result",
    [MSG_PULL] = "pull",
    [MSG_PULL_RESULT] = "pull_result",
};

msg_type wire_type(const cJSON *msg)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "type");
    if (!cJSON_IsString(t))
        return MSG_UNKNOWN;
    for (int i = 0; i < MSG_UNKNOWN; i++)
        if (strcmp(t->valuestring, MSG_NAMES[i]) == 0)
            return (msg_type)i;
    return MSG_UNKNOWN;
}

static bool get_int(const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(j))
        return false;
    *out = (int64_t)j->valuedouble;
    return true;
}

bool wire_req(const cJSON *msg, int64_t *req)
{
    return get_int(msg, "req", req);
}

static cJSON *message(const char *type, int64_t req)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", type);
    cJSON_AddNumberToObject(msg, "req", (double)req);
    return msg;
}

static void add_hlc(cJSON *msg, hlc clock)
{
    cJSON *arr = cJSON_AddArrayToObject(msg, "hlc");
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)clock.l_us));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)clock.c));
}

static bool get_hlc(const cJSON *msg, hlc *out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "hlc");
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 2)
        return false;
    const cJSON *l = cJSON_GetArrayItem(arr, 0);
    const cJSON *c = cJSON_GetArrayItem(arr, 1);
    if (!cJSON_IsNumber(l) || !cJSON_IsNumber(c) || c->valuedouble < 0 || c->valuedouble > (double)UINT32_MAX ||
        c->valuedouble != (double)(uint32_t)c->valuedouble)
        return false;
    out->l_us = (int64_t)l->valuedouble;
    out->c = (uint32_t)c->valuedouble;
    return true;
}

cJSON *wire_push(int64_t req, const char *device, int n, const outbox_entry *entries)
{
    cJSON *msg = message(MSG_NAMES[MSG_PUSH], req);
    cJSON_AddStringToObject(msg, "device", device);
    cJSON *changes = cJSON_AddArrayToObject(msg, "changes");
    for (int i = 0; i < n; i++) {
        const outbox_entry *e = &entries[i];
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "op_id", (double)e->seq);
        cJSON_AddStringToObject(c, "op", op_kind_name(e->op));
        cJSON_AddNumberToObject(c, "base_version", (double)e->base_version);
        if (e->force)
            cJSON_AddBoolToObject(c, "force", true);
        cJSON *changed = cJSON_AddArrayToObject(c, "changed");
        for (int k = 0; k < e->n_changed; k++)
            cJSON_AddItemToArray(changed, cJSON_CreateString(e->changed[k]));
        cJSON_AddItemToObject(c, "record", record_to_json(&e->body));
        cJSON_AddItemToArray(changes, c);
    }
    return msg;
}

bool wire_push_parse(const cJSON *msg, arena *a, int *n, wire_change **changes)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "changes");
    if (!cJSON_IsArray(arr))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_change *out = arena_alloc(a, (size_t)(count ? count : 1) * sizeof *out);
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        wire_change *wc = &out[i++];
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(c, "op");
        const cJSON *changed = cJSON_GetObjectItemCaseSensitive(c, "changed");
        const char *why;
        if (!get_int(c, "op_id", &wc->op_id) || !cJSON_IsString(op) || !op_kind_parse(op->valuestring, &wc->op) ||
            !get_int(c, "base_version", &wc->base_version) || !cJSON_IsArray(changed) ||
            !record_from_json(cJSON_GetObjectItemCaseSensitive(c, "record"), a, &wc->rec, &why))
            return false;
        const cJSON *force = cJSON_GetObjectItemCaseSensitive(c, "force");
        if (force && !cJSON_IsBool(force))
            return false;
        wc->force = cJSON_IsTrue(force);
        wc->n_changed = cJSON_GetArraySize(changed);
        wc->changed = arena_alloc(a, (size_t)(wc->n_changed ? wc->n_changed : 1) * sizeof *wc->changed);
        int k = 0;
        const cJSON *name;
        cJSON_ArrayForEach(name, changed)
        {
            if (!cJSON_IsString(name) || !record_field(&wc->rec, name->valuestring))
                return false;
            wc->changed[k++] = arena_strdup(a, name->valuestring);
        }
        if ((wc->op == OP_DELETE) != wc->rec.deleted)
            return false;
        /* An append carries its event, identified by the append's write id. */
        if (wc->op == OP_APPEND && record_find_event(&wc->rec, wc->rec.st.w) < 0)
            return false;
        if (wc->op == OP_INCREMENT && wc->n_changed != 1)
            return false;
    }
    *n = count;
    *changes = out;
    return true;
}

cJSON *wire_push_result_new(int64_t req, hlc clock, int64_t now_us)
{
    cJSON *msg = message(MSG_NAMES[MSG_PUSH_RESULT], req);
    add_hlc(msg, clock);
    cJSON_AddNumberToObject(msg, "now", (double)now_us);
    cJSON_AddArrayToObject(msg, "results");
    return msg;
}

cJSON *wire_result_json(int64_t op_id, const char *status, bool conflict, const record *r)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddNumberToObject(res, "op_id", (double)op_id);
    cJSON_AddStringToObject(res, "status", status);
    cJSON_AddBoolToObject(res, "conflict", conflict);
    cJSON_AddItemToObject(res, "record", record_to_json(r));
    return res;
}

void wire_push_result_add(cJSON *msg, cJSON *result)
{
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(msg, "results"), result);
}

bool wire_push_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n, wire_result **results)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "results");
    if (!cJSON_IsArray(arr) || !get_hlc(msg, clock) || !get_int(msg, "now", now_us))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_result *out = arena_alloc(a, (size_t)(count ? count : 1) * sizeof *out);
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        wire_result *wr = &out[i++];
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(r, "status");
        const cJSON *conflict = cJSON_GetObjectItemCaseSensitive(r, "conflict");
        const char *why;
        if (!get_int(r, "op_id", &wr->op_id) || !cJSON_IsString(status) || !cJSON_IsBool(conflict) ||
            !record_from_json(cJSON_GetObjectItemCaseSensitive(r, "record"), a, &wr->rec, &why))
            return false;
        wr->status = arena_strdup(a, status->valuestring);
        wr->conflict = cJSON_IsTrue(conflict);
    }
    *n = count;
    *results = out;
    return true;
}

cJSON *wire_pull(int64_t req, int64_t since, const char *type, int limit)
{
    cJSON *msg = message(MSG_NAMES[MSG_PULL], req);
    cJSON_AddNumberToObject(msg, "since", (double)since);
    if (type)
        cJSON_AddStringToObject(msg, "entity_type", type);
    cJSON_AddNumberToObject(msg, "limit", limit);
    return msg;
}

bool wire_pull_parse(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit)
{
    int64_t l;
    if (!get_int(msg, "since", since) || !get_int(msg, "limit", &l) || l < 1 || l > 100000 || *since < 0)
        return false;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "entity_type");
    if (t && !cJSON_IsString(t))
        return false;
    *type = t ? arena_strdup(a, t->valuestring) : NULL;
    *limit = (int)l;
    return true;
}

cJSON *wire_pull_result(int64_t req, hlc clock, int64_t now_us, int n, const record *records, int64_t next,
                        bool has_more)
{
    cJSON *msg = message(MSG_NAMES[MSG_PULL_RESULT], req);
    add_hlc(msg, clock);
    cJSON_AddNumberToObject(msg, "now", (double)now_us);
    cJSON *changes = cJSON_AddArrayToObject(msg, "changes");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(changes, record_to_json(&records[i]));
    cJSON_AddNumberToObject(msg, "next", (double)next);
    cJSON_AddBoolToObject(msg, "has_more", has_more);
    return msg;
}

bool wire_pull_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n, record **records,
                            int64_t *next, bool *has_more)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "changes");
    const cJSON *more = cJSON_GetObjectItemCaseSensitive(msg, "has_more");
    if (!cJSON_IsArray(arr) || !cJSON_IsBool(more) || !get_int(msg, "next", next) || !get_hlc(msg, clock) ||
        !get_int(msg, "now", now_us))
        return false;
    int count = cJSON_GetArraySize(arr);
    record *out = arena_alloc(a, (size_t)(count ? count : 1) * sizeof *out);
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        const char *why;
        if (!record_from_json(r, a, &out[i++], &why))
            return false;
    }
    *n = count;
    *records = out;
    *has_more = cJSON_IsTrue(more);
    return true;
}
