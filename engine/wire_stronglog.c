/*
 * wire_stronglog: seed 002 (StrongLog's Story 7.7).
 *
 * Follows: "Technical Implementation Context": "API Interactions / SDK Usage"
 * (the two endpoints, getUpdates(entity, since), pushUpdates(entity,
 * records)) and "Data Structures" (id, clientUpdatedAt, isDeleted, serverId).
 * In "_syncsim" (the story cannot say it): each record's op id, operation,
 * base version, changed fields and the record whole; a result's status when
 * not "applied" and an invalid change's reason; the pull's page size and
 * entity type (beside the URL), next cursor; the hybrid clock.
 *
 * REST per entity type, as the story's apiClient calls it:
 *
 *   POST /api/v1/<entities>/batch   a list of records: {"id","clientUpdatedAt","isDeleted",
 *                                   ["serverId",] ...the entity's fields}
 *   GET  /api/v1/<entities>?since=<ts>
 *
 * <entities> is the entity type in kebab-case, plural, as the story's
 * examples write it (workout_log -> workout-logs, exercise -> exercises;
 * a name already ending in s, like settings, stays).
 *
 * The story leaves the response shapes to docs/api-reference.md, which we do
 * not have; ours: {"records":[...the same record shape, with "serverId" and
 * "serverUpdatedAt"...],"serverTime"[,"hasMore"]}. A pull of every type at
 * once (not this design's: it keeps one timestamp per type) asks
 * GET /api/v1/records?since=<ts>. Timestamps are milliseconds since the
 * epoch (JavaScript's), with a fraction for the microseconds; since= is the
 * same number as text.
 *
 * The engine pushes every change found in one request; here that push is
 * one POST per run of changes of the same type, in order, sent together in
 * {"req":7,"requests":[{"method","path","body"}...]} and answered together
 * in {"req":7,"responses":[{"status","body"}...]}: the simulator carries
 * them as one message, lost, delayed and answered as one.
 *
 * serverId is the record's id once the server has stored it (ids are the
 * client's UUIDs here; the server keeps them). An entity field whose name is
 * one of the sync fields cannot sit beside them and travels only in the
 * extension. The extension carries the change's op id, operation and base
 * version, and a result's status when it is not "applied" (no result status
 * in the story). A batch the server rolled back answers 400 in every part.
 */
#include "engine/wire_dialect.h"

#include <assert.h>
#include <string.h>

#define API "/api/v1/"
#define PATH_ALL "/api/v1/records"

static const char *const RESERVED[] = { "id",         "clientUpdatedAt", "isDeleted", "serverId", "serverUpdatedAt",
                                        WIRE_EXTENSION, NULL };

/* /api/v1/<kebab-case plural of type>, then suffix. */
static void entity_path(buf *b, const char *type, const char *suffix)
{
    buf_puts(b, API);
    size_t start = b->len;
    for (const unsigned char *p = (const unsigned char *)type; *p; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z') {
            if (b->len > start && b->data[b->len - 1] != '-')
                buf_putc(b, '-');
            buf_putc(b, (char)(c - 'A' + 'a'));
        } else if (c == '_' || c == ' ') {
            buf_putc(b, '-');
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            buf_putc(b, (char)c);
        } else {
            buf_printf(b, "%%%02X", c);
        }
    }
    const char *w = b->data + start;
    size_t len = b->len - start;
    char last = len ? w[len - 1] : '\0';
    char before = len > 1 ? w[len - 2] : '\0';
    if (last == 's') {
        /* already plural (settings) */
    } else if (last == 'y' && before && !strchr("aeiou", before)) {
        b->len--;
        buf_puts(b, "ies");
    } else if (last == 'x' || last == 'z' || (last == 'h' && (before == 'c' || before == 's'))) {
        buf_puts(b, "es");
    } else {
        buf_putc(b, 's');
    }
    buf_puts(b, suffix);
}

static bool path_is_entity(const char *path, const char *type, const char *suffix)
{
    buf b;
    buf_init(&b);
    entity_path(&b, type, suffix);
    bool same = wire_query_path_is(path, b.data);
    buf_free(&b);
    return same;
}

static msg_type stronglog_type(const cJSON *msg)
{
    if (wj_arr(msg, "requests"))
        return MSG_PUSH;
    const char *method, *path;
    const cJSON *body;
    if (wire_http_request_get(msg, &method, &path, &body) && strcmp(method, "GET") == 0 &&
        strncmp(path, API, strlen(API)) == 0)
        return MSG_PULL;
    return MSG_UNKNOWN;
}

static cJSON *sl_record(const record *r, bool stored)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddItemToObject(o, "clientUpdatedAt", wire_ms_json(r->st.ts_us));
    cJSON_AddBoolToObject(o, "isDeleted", r->deleted);
    if (r->version > 0)
        cJSON_AddStringToObject(o, "serverId", r->id);
    if (stored)
        cJSON_AddItemToObject(o, "serverUpdatedAt", wire_ms_json(r->updated_us));
    wire_data_add(o, r, RESERVED);
    return o;
}

static bool sl_record_agrees(const cJSON *o, const record *r, bool stored)
{
    int64_t client_us, server_us;
    bool deleted;
    const cJSON *server_id = cJSON_GetObjectItemCaseSensitive(o, "serverId");
    if (!cJSON_IsObject(o) || !wj_str_is(o, "id", r->id) || !wire_ms_get(o, "clientUpdatedAt", &client_us) ||
        client_us != r->st.ts_us || !wj_bool(o, "isDeleted", &deleted) || deleted != r->deleted ||
        (server_id != NULL) != (r->version > 0) || (server_id && !wj_str_is(o, "serverId", r->id)) ||
        !wire_data_agrees(o, r, RESERVED))
        return false;
    if (stored)
        return wire_ms_get(o, "serverUpdatedAt", &server_us) && server_us == r->updated_us;
    return !cJSON_GetObjectItemCaseSensitive(o, "serverUpdatedAt");
}

/* Runs of consecutive items of one entity type: [start, end) from start. */
static int run_end(int n, const record *(*rec_at)(const void *, int), const void *items, int start)
{
    int end = start + 1;
    while (end < n && strcmp(rec_at(items, end)->type, rec_at(items, start)->type) == 0)
        end++;
    return end;
}

static const record *entry_rec(const void *items, int i)
{
    return &((const outbox_entry *)items)[i].body;
}

static const record *change_rec(const void *items, int i)
{
    return &((const wire_change *)items)[i].rec;
}

static cJSON *stronglog_push(const wire_sender *from, int64_t req, int n, const outbox_entry *entries)
{
    (void)from;
    assert(n > 0);   /* a push without requests is malformed; the client never pushes nothing */
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "req", (double)req);
    cJSON *requests = cJSON_AddArrayToObject(msg, "requests");
    for (int start = 0, end; start < n; start = end) {
        end = run_end(n, entry_rec, entries, start);
        buf path;
        buf_init(&path);
        entity_path(&path, entries[start].body.type, "/batch");
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "method", "POST");
        cJSON_AddStringToObject(r, "path", path.data);
        buf_free(&path);
        cJSON *list = cJSON_AddArrayToObject(r, "body");
        for (int i = start; i < end; i++) {
            cJSON *o = sl_record(&entries[i].body, false);
            wire_change_ext(o, &entries[i], WIRE_EXT_OP_ID | WIRE_EXT_OP | WIRE_EXT_BASE_VERSION);
            cJSON_AddItemToArray(list, o);
        }
        cJSON_AddItemToArray(requests, r);
    }
    return msg;
}

static bool stronglog_push_parse(const cJSON *msg, arena *a, int *n, wire_change **changes)
{
    const cJSON *requests = wj_arr(msg, "requests"), *r;
    if (!requests || cJSON_GetArraySize(requests) == 0)
        return false;
    int count = 0;
    cJSON_ArrayForEach(r, requests)
    {
        const char *method, *path;
        const cJSON *list;
        if (!cJSON_IsObject(r) || !wire_http_request_get(r, &method, &path, &list) || strcmp(method, "POST") != 0 ||
            !cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
            return false;
        count += cJSON_GetArraySize(list);
    }
    wire_change *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    cJSON_ArrayForEach(r, requests)
    {
        const char *path = cJSON_GetObjectItemCaseSensitive(r, "path")->valuestring;
        const cJSON *o;
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(r, "body"))
        {
            wire_change *wc = &out[i++];
            /* The path names the entity type: every record of the batch is of that type. */
            if (!cJSON_IsObject(o) ||
                !wire_change_ext_parse(o, WIRE_EXT_OP_ID | WIRE_EXT_OP | WIRE_EXT_BASE_VERSION, a, wc) ||
                !path_is_entity(path, wc->rec.type, "/batch") || strchr(path, '?') ||
                !sl_record_agrees(o, &wc->rec, false) || !wire_change_valid(wc))
                return false;
        }
    }
    *n = count;
    *changes = out;
    return true;
}

static cJSON *stronglog_push_result(int64_t req, hlc clock, int64_t now_us, int n, const wire_change *changes,
                                    const wire_result *results)
{
    int status = wire_batch_status(n, results);
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "req", (double)req);
    cJSON *responses = cJSON_AddArrayToObject(msg, "responses");
    /* One response per request: the runs of the push, which the changes still show. */
    for (int start = 0, end; start < n; start = end) {
        end = run_end(n, change_rec, changes, start);
        cJSON *resp = cJSON_CreateObject();
        cJSON_AddNumberToObject(resp, "status", status);
        cJSON *body = cJSON_AddObjectToObject(resp, "body");
        cJSON *list = cJSON_AddArrayToObject(body, "records");
        for (int i = start; i < end; i++) {
            cJSON *o = sl_record(&results[i].rec, true);
            wire_result_ext(o, &results[i], WIRE_EXT_OP_ID | WIRE_EXT_TEMP_ID, "applied", false, true);
            cJSON_AddItemToArray(list, o);
        }
        cJSON_AddItemToObject(body, "serverTime", wire_ms_json(now_us));
        cJSON_AddItemToArray(responses, resp);
    }
    wire_hlc_put(wire_ext_add(msg), clock);
    return msg;
}

static bool stronglog_push_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                        wire_result **results)
{
    const cJSON *responses = wj_arr(msg, "responses"), *resp, *ext = wire_ext_get(msg);
    if (!responses || cJSON_GetArraySize(responses) == 0 || !ext || !wire_hlc_get(ext, clock))
        return false;
    int count = 0;
    cJSON_ArrayForEach(resp, responses)
    {
        count += cJSON_GetArraySize(wj_arr(wj_obj(resp, "body"), "records"));
    }
    wire_result *out = wj_alloc(a, count, sizeof *out);
    int64_t *statuses = wj_alloc(a, cJSON_GetArraySize(responses), sizeof *statuses);
    int i = 0, k = 0;
    cJSON_ArrayForEach(resp, responses)
    {
        const cJSON *body, *list, *o;
        int64_t server_us;
        if (!cJSON_IsObject(resp) || !wire_http_response_get(resp, &statuses[k++], &body) ||
            !(list = wj_arr(body, "records")) || cJSON_GetArraySize(list) == 0 ||
            !wire_ms_get(body, "serverTime", &server_us) || (i > 0 && server_us != *now_us))
            return false;
        *now_us = server_us;
        cJSON_ArrayForEach(o, list)
        {
            wire_result *wr = &out[i++];
            if (!cJSON_IsObject(o) || !wire_result_ext_parse(o, WIRE_EXT_OP_ID | WIRE_EXT_TEMP_ID, "applied", false, true, a, wr) ||
                !sl_record_agrees(o, &wr->rec, true))
                return false;
        }
    }
    for (int r = 0; r < k; r++)
        if (!wire_batch_status_agrees(statuses[r], count, out))
            return false;
    *n = count;
    *results = out;
    return true;
}

static cJSON *stronglog_pull(const wire_sender *from, int64_t req, int64_t since, const char *type, int limit)
{
    (void)from;
    buf path;
    buf_init(&path);
    if (type)
        entity_path(&path, type, "");
    else
        buf_puts(&path, PATH_ALL);
    char ms[WIRE_MS_TEXT_MAX];
    wire_ms_text(since, ms);
    wire_query_add(&path, "since", ms);
    cJSON *msg = wire_http_request("GET", path.data, req, NULL);
    buf_free(&path);
    /* A GET has no body: what the story's URL does not say rides in the envelope's extension. */
    cJSON *ext = wire_ext_add(msg);
    if (type)
        cJSON_AddStringToObject(ext, "entity_type", type);
    cJSON_AddNumberToObject(ext, "limit", limit);
    return msg;
}

static bool stronglog_pull_parse(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit)
{
    const char *method, *path, *ms, *t;
    const cJSON *body, *ext;
    int64_t l;
    if (stronglog_type(msg) != MSG_PULL || !wire_http_request_get(msg, &method, &path, &body) || body ||
        !wire_query_get(path, "since", a, &ms) || !ms || !wire_ms_text_parse(ms, since) ||
        !(ext = wire_ext_get(msg)) || !wj_int(ext, "limit", &l) || !wire_pull_args_valid(*since, l))
        return false;
    *type = NULL;
    if (cJSON_GetObjectItemCaseSensitive(ext, "entity_type")) {
        if (!wj_str(ext, "entity_type", &t) || !path_is_entity(path, t, ""))
            return false;
        *type = arena_strdup(a, t);
    } else if (!wire_query_path_is(path, PATH_ALL)) {
        return false;
    }
    *limit = (int)l;
    return true;
}

static cJSON *stronglog_pull_result(int64_t req, hlc clock, int64_t now_us, int n, const record *records,
                                    int64_t next, bool has_more)
{
    cJSON *body;
    cJSON *msg = wire_http_response(200, req, &body);
    cJSON *list = cJSON_AddArrayToObject(body, "records");
    for (int i = 0; i < n; i++) {
        cJSON *o = sl_record(&records[i], true);
        cJSON_AddItemToObject(wire_ext_add(o), "record", record_to_json(&records[i]));
        cJSON_AddItemToArray(list, o);
    }
    cJSON_AddItemToObject(body, "serverTime", wire_ms_json(now_us));
    cJSON_AddBoolToObject(body, "hasMore", has_more);
    cJSON *ext = wire_ext_add(body);
    wire_hlc_put(ext, clock);
    cJSON_AddNumberToObject(ext, "next", (double)next);
    return msg;
}

static bool stronglog_pull_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                        record **records, int64_t *next, bool *has_more)
{
    int64_t status;
    const cJSON *body, *list, *ext;
    if (!wire_http_response_get(msg, &status, &body) || status != 200 || !(list = wj_arr(body, "records")) ||
        !wire_ms_get(body, "serverTime", now_us) || !wj_bool(body, "hasMore", has_more) ||
        !(ext = wire_ext_get(body)) || !wire_hlc_get(ext, clock) || !wj_int(ext, "next", next))
        return false;
    int count = cJSON_GetArraySize(list);
    record *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, list)
    {
        record *r = &out[i++];
        if (!cJSON_IsObject(o) || !wire_record_get(wire_ext_get(o), a, r) || !sl_record_agrees(o, r, true))
            return false;
    }
    *n = count;
    *records = out;
    return true;
}

const wire_dialect WIRE_STRONGLOG = {
    .name = "stronglog",
    .summary = "seed 002 StrongLog: REST POST /api/v1/<entities>/batch, GET /api/v1/<entities>?since=",
    .type = stronglog_type,
    .push = stronglog_push,
    .push_parse = stronglog_push_parse,
    .push_result = stronglog_push_result,
    .push_result_parse = stronglog_push_result_parse,
    .pull = stronglog_pull,
    .pull_parse = stronglog_pull_parse,
    .pull_result = stronglog_pull_result,
    .pull_result_parse = stronglog_pull_result_parse,
};
