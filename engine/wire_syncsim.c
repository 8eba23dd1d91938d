/*
 * wire_syncsim: the built-in protocol (wire.h shows it), syncsim's own
 * messages with the record JSON of record.h. Its bytes are fixed: trace
 * hashes of every scenario under a syncsim-dialect profile depend on them,
 * so a change here is a change of every recorded hash.
 *
 * The activity-events dialect reuses the change and result shapes inside
 * its extension (wire_syncsim_change, wire_syncsim_result).
 */
#include "engine/wire_dialect.h"

#include <string.h>

static const char *const MSG_NAMES[] = {
    [MSG_PUSH] = "push",
    [MSG_PUSH_RESULT] = "push_result",
    [MSG_PULL] = "pull",
    [MSG_PULL_RESULT] = "pull_result",
};

static msg_type syncsim_type(const cJSON *msg)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "type");
    if (!cJSON_IsString(t))
        return MSG_UNKNOWN;
    for (int i = 0; i < MSG_UNKNOWN; i++)
        if (strcmp(t->valuestring, MSG_NAMES[i]) == 0)
            return (msg_type)i;
    return MSG_UNKNOWN;
}

/* Any number in int64 range, truncated: what this protocol has always accepted. */
static bool get_int(const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(j) || !(j->valuedouble > -9.2e18 && j->valuedouble < 9.2e18))
        return false;
    *out = (int64_t)j->valuedouble;
    return true;
}

static cJSON *message(const char *type, int64_t req)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", type);
    cJSON_AddNumberToObject(msg, "req", (double)req);
    return msg;
}

cJSON *wire_syncsim_change(const outbox_entry *e)
{
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
    return c;
}

bool wire_syncsim_change_parse(const cJSON *c, arena *a, wire_change *wc)
{
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(c, "op");
    const cJSON *changed = cJSON_GetObjectItemCaseSensitive(c, "changed");
    const char *why;
    if (!cJSON_IsObject(c) || !get_int(c, "op_id", &wc->op_id) || !cJSON_IsString(op) ||
        !op_kind_parse(op->valuestring, &wc->op) || wc->op >= OP_RESOLVE || !get_int(c, "base_version", &wc->base_version) ||
        !cJSON_IsArray(changed) || !record_from_json(cJSON_GetObjectItemCaseSensitive(c, "record"), a, &wc->rec, &why))
        return false;
    const cJSON *force = cJSON_GetObjectItemCaseSensitive(c, "force");
    if (force && !cJSON_IsBool(force))
        return false;
    wc->force = cJSON_IsTrue(force);
    wc->n_changed = cJSON_GetArraySize(changed);
    wc->changed = wj_alloc(a, wc->n_changed, sizeof *wc->changed);
    int k = 0;
    const cJSON *name;
    cJSON_ArrayForEach(name, changed)
    {
        if (!cJSON_IsString(name))
            return false;
        wc->changed[k++] = arena_strdup(a, name->valuestring);
    }
    return wire_change_valid(wc);
}

static cJSON *syncsim_push(const wire_sender *from, int64_t req, int n, const outbox_entry *entries)
{
    cJSON *msg = message(MSG_NAMES[MSG_PUSH], req);
    cJSON_AddStringToObject(msg, "device", from->device);
    cJSON *changes = cJSON_AddArrayToObject(msg, "changes");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(changes, wire_syncsim_change(&entries[i]));
    return msg;
}

static bool syncsim_push_parse(const cJSON *msg, arena *a, int *n, wire_change **changes)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "changes");
    if (!cJSON_IsArray(arr))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_change *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        if (!wire_syncsim_change_parse(c, a, &out[i++]))
            return false;
    }
    *n = count;
    *changes = out;
    return true;
}

cJSON *wire_syncsim_result(const wire_result *r)
{
    cJSON *res = cJSON_CreateObject();
    cJSON_AddNumberToObject(res, "op_id", (double)r->op_id);
    cJSON_AddStringToObject(res, "status", r->status);
    cJSON_AddBoolToObject(res, "conflict", r->conflict);
    cJSON_AddItemToObject(res, "record", record_to_json(&r->rec));
    if (r->error)
        cJSON_AddStringToObject(res, "error", r->error);
    if (r->temp_id)
        cJSON_AddStringToObject(res, "temp_id", r->temp_id);
    return res;
}

/* strict: the status must be one of wire_result's; else any string, as the protocol always took. */
static bool result_parse(const cJSON *r, arena *a, wire_result *wr, bool strict)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(r, "status");
    const cJSON *conflict = cJSON_GetObjectItemCaseSensitive(r, "conflict");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(r, "error");
    const cJSON *temp_id = cJSON_GetObjectItemCaseSensitive(r, "temp_id");
    const char *why;
    if (!cJSON_IsObject(r) || !get_int(r, "op_id", &wr->op_id) || !cJSON_IsString(status) ||
        !cJSON_IsBool(conflict) || (error && !cJSON_IsString(error)) || (temp_id && !cJSON_IsString(temp_id)) ||
        !record_from_json(cJSON_GetObjectItemCaseSensitive(r, "record"), a, &wr->rec, &why))
        return false;
    wr->status = strict ? wire_status_known(status->valuestring) : arena_strdup(a, status->valuestring);
    wr->conflict = cJSON_IsTrue(conflict);
    wr->error = error ? arena_strdup(a, error->valuestring) : NULL;
    wr->temp_id = temp_id ? arena_strdup(a, temp_id->valuestring) : NULL;
    return wr->status != NULL;
}

bool wire_syncsim_result_parse(const cJSON *j, arena *a, wire_result *wr)
{
    return result_parse(j, a, wr, true);
}

static void add_hlc(cJSON *msg, hlc clock)
{
    cJSON *arr = cJSON_AddArrayToObject(msg, "hlc");
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)clock.l_us));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)clock.c));
}

static cJSON *syncsim_push_result(int64_t req, hlc clock, int64_t now_us, int n, const wire_change *changes,
                                  const wire_result *results)
{
    (void)changes;
    cJSON *msg = message(MSG_NAMES[MSG_PUSH_RESULT], req);
    add_hlc(msg, clock);
    cJSON_AddNumberToObject(msg, "now", (double)now_us);
    cJSON *arr = cJSON_AddArrayToObject(msg, "results");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, wire_syncsim_result(&results[i]));
    return msg;
}

static bool syncsim_push_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                      wire_result **results)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "results");
    if (syncsim_type(msg) != MSG_PUSH_RESULT || !cJSON_IsArray(arr) || !wire_hlc_get(msg, clock) ||
        !get_int(msg, "now", now_us))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_result *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        if (!result_parse(r, a, &out[i++], false))
            return false;
    }
    *n = count;
    *results = out;
    return true;
}

static cJSON *syncsim_pull(const wire_sender *from, int64_t req, int64_t since, const char *type, int limit)
{
    (void)from;
    cJSON *msg = message(MSG_NAMES[MSG_PULL], req);
    cJSON_AddNumberToObject(msg, "since", (double)since);
    if (type)
        cJSON_AddStringToObject(msg, "entity_type", type);
    cJSON_AddNumberToObject(msg, "limit", limit);
    return msg;
}

static bool syncsim_pull_parse(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit)
{
    int64_t l;
    if (!get_int(msg, "since", since) || !get_int(msg, "limit", &l) || !wire_pull_args_valid(*since, l))
        return false;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "entity_type");
    if (t && !cJSON_IsString(t))
        return false;
    *type = t ? arena_strdup(a, t->valuestring) : NULL;
    *limit = (int)l;
    return true;
}

static cJSON *syncsim_pull_result(int64_t req, hlc clock, int64_t now_us, int n, const record *records, int64_t next,
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

static bool syncsim_pull_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                      record **records, int64_t *next, bool *has_more)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "changes");
    const cJSON *more = cJSON_GetObjectItemCaseSensitive(msg, "has_more");
    if (syncsim_type(msg) != MSG_PULL_RESULT || !cJSON_IsArray(arr) || !cJSON_IsBool(more) ||
        !get_int(msg, "next", next) || !wire_hlc_get(msg, clock) || !get_int(msg, "now", now_us))
        return false;
    int count = cJSON_GetArraySize(arr);
    record *out = wj_alloc(a, count, sizeof *out);
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

const wire_dialect WIRE_SYNCSIM = {
    .name = "syncsim",
    .summary = "syncsim's own protocol: push, push_result, pull, pull_result with whole records",
    .type = syncsim_type,
    .push = syncsim_push,
    .push_parse = syncsim_push_parse,
    .push_result = syncsim_push_result,
    .push_result_parse = syncsim_push_result_parse,
    .pull = syncsim_pull,
    .pull_parse = syncsim_pull_parse,
    .pull_result = syncsim_pull_result,
    .pull_result_parse = syncsim_pull_result_parse,
};
