/*
 * wire_ironflow: seed 001 (IronFlow), whose sync travels over gRPC.
 *
 * Follows: "Implementation Details / Sync Request Format (gRPC)" (SyncRequest,
 * SyncItem, SyncResponse, SyncResult) and "Data Versioning" (the version the
 * optimistic lock compares).
 * In "_syncsim" (the document cannot say it): each item's op id, its exact
 * operation when it is an increment or append (SyncItem says "update"), the
 * record whole with its per-field stamps and counter contributions, force;
 * each result's op id, exact status and conflict flag when SyncStatus cannot
 * tell them, and the server's record; the hybrid clock and the server's time.
 *
 * The document's messages, as JSON with their own field names, in an
 * HTTP-like envelope (gRPC is HTTP/2 POSTs to /package.Service/Method):
 *
 *   POST /ironflow.SyncService/Sync
 *     SyncRequest  {"user_id","device_id","items":[SyncItem]}
 *     SyncItem     {"entity_type","entity_id","operation":"create"|"update"|"delete",
 *                   "data":{...entity...},"version","timestamp"}
 *   200 SyncResponse {"results":[SyncResult]}
 *     SyncResult   {"entity_id","status":"success"|"conflict"|"error",
 *                   "server_data":{...},"server_version"[,"error_message"]}
 *
 * The document has no pull message ("server -> client" is not specified), so
 * this file defines one in the same style. It is ours, not the document's:
 *
 *   message PullRequest  { string user_id = 1; string device_id = 2; int64 since = 3;
 *                          string entity_type = 4; int32 limit = 5; }
 *   message PullResponse { repeated SyncItem items = 1; int64 next = 2; bool has_more = 3;
 *                          int64 server_time = 4; }
 *   POST /ironflow.SyncService/Pull
 *
 * Interpretations: "bytes data = 4; // JSONB serialized" travels as the JSON
 * object itself, not base64; int64 timestamps are microseconds since the
 * epoch (the document gives no unit) and plain JSON numbers; proto3 leaves
 * out an empty error_message, and so do we. SyncItem.version is the version
 * the change was made on, the one the server's optimistic lock compares
 * ("WHERE id = $2 AND version = $3"); in a PullResponse it is the server's.
 * A whole batch the server rolled back answers 400 (an atomic-batch profile
 * only; IronFlow's own profile applies each item).
 *
 * Statuses: success is applied (or merged), conflict is a version conflict
 * left to the user (or one the server decided for itself: rejected), error
 * is invalid with its error_message (or refused, forbidden, rolled-back).
 * The extension names the engine's status when it is not the first of those.
 */
#include "engine/wire_dialect.h"

#include <string.h>

#define PATH_SYNC "/ironflow.SyncService/Sync"
#define PATH_PULL "/ironflow.SyncService/Pull"

static msg_type ironflow_type(const cJSON *msg)
{
    const char *method, *path;
    const cJSON *body;
    if (!wire_http_request_get(msg, &method, &path, &body) || strcmp(method, "POST") != 0)
        return MSG_UNKNOWN;
    if (strcmp(path, PATH_SYNC) == 0)
        return MSG_PUSH;
    if (strcmp(path, PATH_PULL) == 0)
        return MSG_PULL;
    return MSG_UNKNOWN;
}

/* A SyncItem for record r: operation and version as the caller says (a change or a pulled record). */
static cJSON *sync_item(const record *r, const char *operation, int64_t version)
{
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "entity_type", r->type);
    cJSON_AddStringToObject(item, "entity_id", r->id);
    cJSON_AddStringToObject(item, "operation", operation);
    cJSON_AddItemToObject(item, "data", wire_data_json(r));
    cJSON_AddNumberToObject(item, "version", (double)version);
    cJSON_AddNumberToObject(item, "timestamp", (double)r->st.ts_us);
    return item;
}

/* The item's fields agree with the record from the extension; its operation and version are returned. */
static bool sync_item_agrees(const cJSON *item, const record *r, op_kind *op, int64_t *version)
{
    const char *operation;
    int64_t timestamp;
    return wj_str_is(item, "entity_type", r->type) && wj_str_is(item, "entity_id", r->id) &&
           wj_str(item, "operation", &operation) && wire_doc_op_parse(operation, op) &&
           wj_int(item, "version", version) && wj_int(item, "timestamp", &timestamp) &&
           timestamp == r->st.ts_us && wire_data_agrees(wj_obj(item, "data"), r, NULL);
}

static cJSON *ironflow_push(const wire_sender *from, int64_t req, int n, const outbox_entry *entries)
{
    cJSON *body;
    cJSON *msg = wire_http_request("POST", PATH_SYNC, req, &body);
    cJSON_AddStringToObject(body, "user_id", from->user);
    cJSON_AddStringToObject(body, "device_id", from->device);
    cJSON *items = cJSON_AddArrayToObject(body, "items");
    for (int i = 0; i < n; i++) {
        const outbox_entry *e = &entries[i];
        cJSON *item = sync_item(&e->body, wire_doc_op(e->op), e->base_version);
        wire_change_ext(item, e, WIRE_EXT_OP_ID | WIRE_EXT_OP_BEYOND);
        cJSON_AddItemToArray(items, item);
    }
    return msg;
}

static bool ironflow_push_parse(const cJSON *msg, arena *a, int *n, wire_change **changes)
{
    const char *method, *path, *s;
    const cJSON *body, *items;
    if (ironflow_type(msg) != MSG_PUSH || !wire_http_request_get(msg, &method, &path, &body) ||
        !cJSON_IsObject(body) || !wj_str(body, "user_id", &s) || !wj_str(body, "device_id", &s) ||
        !(items = wj_arr(body, "items")))
        return false;
    int count = cJSON_GetArraySize(items);
    wire_change *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        wire_change *wc = &out[i++];
        const char *operation;
        /* The document's operation first; the extension refines an update into an increment or append. */
        if (!cJSON_IsObject(item) || !wj_str(item, "operation", &operation) ||
            !wire_doc_op_parse(operation, &wc->op) ||
            !wire_change_ext_parse(item, WIRE_EXT_OP_ID | WIRE_EXT_OP_BEYOND, a, wc))
            return false;
        op_kind doc_op;
        if (!sync_item_agrees(item, &wc->rec, &doc_op, &wc->base_version) || !wire_change_valid(wc))
            return false;
    }
    *n = count;
    *changes = out;
    return true;
}

/* The document's status for an engine status, and the engine status each one stands for by default. */
static const char *doc_status(const char *status)
{
    if (strcmp(status, "applied") == 0 || strcmp(status, "merged") == 0)
        return "success";
    if (strcmp(status, "conflict") == 0 || strcmp(status, "rejected") == 0)
        return "conflict";
    return "error";
}

static const char *default_status(const char *doc)
{
    return strcmp(doc, "success") == 0 ? "applied" : strcmp(doc, "conflict") == 0 ? "conflict" : "invalid";
}

/* What an error result tells the user; an invalid change says why. */
static const char *error_message(const wire_result *r)
{
    if (wire_status_is(r, "invalid"))
        return r->error ? r->error : "invalid";
    if (wire_status_is(r, "refused"))
        return "refused: the server keeps this entity type";
    if (wire_status_is(r, "forbidden"))
        return "forbidden: the entity belongs to another user";
    if (wire_status_is(r, "rolled-back"))
        return "rolled back: another item of the batch failed";
    return NULL;
}

static cJSON *ironflow_push_result(int64_t req, hlc clock, int64_t now_us, int n, const wire_change *changes,
                                   const wire_result *results)
{
    (void)changes;
    cJSON *body;
    cJSON *msg = wire_http_response(wire_batch_status(n, results), req, &body);
    cJSON *arr = cJSON_AddArrayToObject(body, "results");
    for (int i = 0; i < n; i++) {
        const wire_result *r = &results[i];
        const char *doc = doc_status(r->status);
        cJSON *res = cJSON_CreateObject();
        cJSON_AddStringToObject(res, "entity_id", r->rec.id);
        cJSON_AddStringToObject(res, "status", doc);
        cJSON_AddItemToObject(res, "server_data", wire_data_json(&r->rec));
        cJSON_AddNumberToObject(res, "server_version", (double)r->rec.version);
        const char *message = error_message(r);
        if (message)
            cJSON_AddStringToObject(res, "error_message", message);
        /* The error travels as error_message; the conflict flag defaults to the status's. */
        wire_result_ext(res, r, WIRE_EXT_OP_ID | WIRE_EXT_TEMP_ID, default_status(doc), strcmp(doc, "conflict") == 0, false);
        cJSON_AddItemToArray(arr, res);
    }
    cJSON *ext = wire_ext_add(body);
    wire_hlc_put(ext, clock);
    cJSON_AddNumberToObject(ext, "now", (double)now_us);
    return msg;
}

static bool ironflow_push_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                       wire_result **results)
{
    int64_t status;
    const cJSON *body, *arr, *ext;
    if (!wire_http_response_get(msg, &status, &body) || !(arr = wj_arr(body, "results")) ||
        !(ext = wire_ext_get(body)) || !wire_hlc_get(ext, clock) || !wj_int(ext, "now", now_us))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_result *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *res;
    cJSON_ArrayForEach(res, arr)
    {
        wire_result *wr = &out[i++];
        const char *doc, *message = NULL;
        int64_t server_version;
        if (!cJSON_IsObject(res) || !wj_str(res, "status", &doc) ||
            (strcmp(doc, "success") != 0 && strcmp(doc, "conflict") != 0 && strcmp(doc, "error") != 0))
            return false;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(res, "error_message");
        if (m && !wj_str(res, "error_message", &message))
            return false;
        if (!wire_result_ext_parse(res, WIRE_EXT_OP_ID | WIRE_EXT_TEMP_ID, default_status(doc), strcmp(doc, "conflict") == 0, false, a,
                                   wr) ||
            strcmp(doc_status(wr->status), doc) != 0 || !wj_str_is(res, "entity_id", wr->rec.id) ||
            !wj_int(res, "server_version", &server_version) || server_version != wr->rec.version ||
            !wire_data_agrees(wj_obj(res, "server_data"), &wr->rec, NULL))
            return false;
        /* error_message is there exactly for errors; an invalid change's is its reason. */
        if ((message != NULL) != (strcmp(doc, "error") == 0))
            return false;
        if (wire_status_is(wr, "invalid"))
            wr->error = arena_strdup(a, message);
    }
    if (!wire_batch_status_agrees(status, count, out))
        return false;
    *n = count;
    *results = out;
    return true;
}

static cJSON *ironflow_pull(const wire_sender *from, int64_t req, int64_t since, const char *type, int limit)
{
    cJSON *body;
    cJSON *msg = wire_http_request("POST", PATH_PULL, req, &body);
    cJSON_AddStringToObject(body, "user_id", from->user);
    cJSON_AddStringToObject(body, "device_id", from->device);
    cJSON_AddNumberToObject(body, "since", (double)since);
    if (type)
        cJSON_AddStringToObject(body, "entity_type", type);
    cJSON_AddNumberToObject(body, "limit", limit);
    return msg;
}

static bool ironflow_pull_parse(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit)
{
    const char *method, *path, *s;
    const cJSON *body;
    int64_t l;
    if (ironflow_type(msg) != MSG_PULL || !wire_http_request_get(msg, &method, &path, &body) ||
        !cJSON_IsObject(body) || !wj_str(body, "user_id", &s) || !wj_str(body, "device_id", &s) ||
        !wj_int(body, "since", since) || !wj_int(body, "limit", &l) || !wire_pull_args_valid(*since, l))
        return false;
    *type = NULL;
    if (cJSON_GetObjectItemCaseSensitive(body, "entity_type")) {
        if (!wj_str(body, "entity_type", &s))
            return false;
        *type = arena_strdup(a, s);
    }
    *limit = (int)l;
    return true;
}

static cJSON *ironflow_pull_result(int64_t req, hlc clock, int64_t now_us, int n, const record *records,
                                   int64_t next, bool has_more)
{
    cJSON *body;
    cJSON *msg = wire_http_response(200, req, &body);
    cJSON *items = cJSON_AddArrayToObject(body, "items");
    for (int i = 0; i < n; i++) {
        cJSON *item = sync_item(&records[i], wire_doc_op_of(&records[i]), records[i].version);
        cJSON_AddItemToObject(wire_ext_add(item), "record", record_to_json(&records[i]));
        cJSON_AddItemToArray(items, item);
    }
    cJSON_AddNumberToObject(body, "next", (double)next);
    cJSON_AddBoolToObject(body, "has_more", has_more);
    cJSON_AddNumberToObject(body, "server_time", (double)now_us);
    wire_hlc_put(wire_ext_add(body), clock);
    return msg;
}

static bool ironflow_pull_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                       record **records, int64_t *next, bool *has_more)
{
    int64_t status;
    const cJSON *body, *items, *ext;
    if (!wire_http_response_get(msg, &status, &body) || status != 200 || !(items = wj_arr(body, "items")) ||
        !wj_int(body, "next", next) || !wj_bool(body, "has_more", has_more) ||
        !wj_int(body, "server_time", now_us) || !(ext = wire_ext_get(body)) || !wire_hlc_get(ext, clock))
        return false;
    int count = cJSON_GetArraySize(items);
    record *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        record *r = &out[i++];
        op_kind op;
        int64_t version;
        if (!cJSON_IsObject(item) || !wire_record_get(wire_ext_get(item), a, r) ||
            !sync_item_agrees(item, r, &op, &version) || version != r->version || (op == OP_DELETE) != r->deleted)
            return false;
    }
    *n = count;
    *records = out;
    return true;
}

const wire_dialect WIRE_IRONFLOW = {
    .name = "ironflow",
    .summary = "seed 001 IronFlow: gRPC SyncRequest/SyncResponse (and our PullRequest/PullResponse)",
    .type = ironflow_type,
    .push = ironflow_push,
    .push_parse = ironflow_push_parse,
    .push_result = ironflow_push_result,
    .push_result_parse = ironflow_push_result_parse,
    .pull = ironflow_pull,
    .pull_parse = ironflow_pull_parse,
    .pull_result = ironflow_pull_result,
    .pull_result_parse = ironflow_pull_result_parse,
};
