/*
 * wire_smartdmv: seed 003 (SmartDMV).
 *
 * Follows: "API Endpoints" ("POST /api/sync/push" request, response and
 * conflict response; "GET /api/sync/pull" request and response), "Conflict
 * Types" (conflictType) and "Sync Queue Operations" (an operation's version).
 * In "_syncsim" (the document cannot say it): an operation's exact kind when
 * it is an increment or append, force, changed fields and the record whole;
 * a result's status when "success"/"conflict" do not imply it, an invalid
 * change's reason and the server's record; the pull's page size, next
 * cursor, each change's record whole; the hybrid clock and the server's time.
 *
 * The document's two endpoints:
 *
 *   POST /api/sync/push
 *     {"operations":[{"id","operation","entityType","entityId","data","timestamp",
 *                     "tenantId","practiceId","userId","version"}],"clientTimestamp"}
 *   200 {"success","processed","failed","conflicts","results":[{"operationId","success",
 *        "realId","tempId","entityType"[,"conflict":true,"conflictData":{"localData",
 *        "serverData","conflictType","affectedFields"}]}]}
 *   GET /api/sync/pull?lastSyncTimestamp=..&practiceId=..[&entityTypes=..]
 *   200 {"success","timestamp","changes":[{"entityType","operation","id","data","updatedAt"}],
 *        "hasMore"}
 *
 * Interpretations: timestamps are milliseconds since the epoch as in the
 * document's examples ("timestamp": 1699...), with a fraction for the
 * microseconds the simulator keeps; updatedAt is ISO 8601 as in the pull
 * example. An operation carries "version" as the queued operation does
 * (queueOperation({..., version: 1})). "ID Mapping": with the profile's
 * ids: server, a create's entityId is the device's temporary id and the
 * result's realId the id the server gave it, tempId the temporary one; a
 * change of a record the server already named has realId == tempId. Ids
 * travel as strings (the server's are decimal digits). The simulator has one practice per tenant: practiceId is
 * the tenant. A GET has no body, so the page size (ours) travels in the
 * envelope's extension. conflictType is "deletion" when either side is
 * deleted and "timestamp" otherwise (the design detects by timestamp);
 * affectedFields are the fields whose values differ. processed counts the
 * successes, failed the failures that are not conflicts; success is true
 * when there are neither. A batch the server rolled back answers 400.
 *
 * Statuses: success true is applied (or merged); success false is a
 * conflict saved to the conflict store when "conflict" is true (or rejected:
 * the server's version stands), and otherwise a validation failure, skipped
 * ("invalid", or refused, forbidden, rolled-back). The extension names the
 * engine's status when it is not that default, and an invalid change's reason.
 */
#include "engine/wire_dialect.h"

#include <string.h>

#define PATH_PUSH "/api/sync/push"
#define PATH_PULL "/api/sync/pull"

static msg_type smartdmv_type(const cJSON *msg)
{
    const char *method, *path;
    const cJSON *body;
    if (!wire_http_request_get(msg, &method, &path, &body))
        return MSG_UNKNOWN;
    if (strcmp(method, "POST") == 0 && strcmp(path, PATH_PUSH) == 0)
        return MSG_PUSH;
    if (strcmp(method, "GET") == 0 && wire_query_path_is(path, PATH_PULL))
        return MSG_PULL;
    return MSG_UNKNOWN;
}

static cJSON *smartdmv_push(const wire_sender *from, int64_t req, int n, const outbox_entry *entries)
{
    cJSON *body;
    cJSON *msg = wire_http_request("POST", PATH_PUSH, req, &body);
    cJSON *ops = cJSON_AddArrayToObject(body, "operations");
    for (int i = 0; i < n; i++) {
        const outbox_entry *e = &entries[i];
        const record *r = &e->body;
        cJSON *op = cJSON_CreateObject();
        cJSON_AddNumberToObject(op, "id", (double)e->seq);
        cJSON_AddStringToObject(op, "operation", wire_doc_op(e->op));
        cJSON_AddStringToObject(op, "entityType", r->type);
        cJSON_AddStringToObject(op, "entityId", r->id);
        cJSON_AddItemToObject(op, "data", wire_data_json(r));
        cJSON_AddItemToObject(op, "timestamp", wire_ms_json(r->st.ts_us));
        cJSON_AddStringToObject(op, "tenantId", r->tenant);
        cJSON_AddStringToObject(op, "practiceId", r->tenant);
        cJSON_AddStringToObject(op, "userId", from->user);
        cJSON_AddNumberToObject(op, "version", (double)e->base_version);
        wire_change_ext(op, e, WIRE_EXT_OP_BEYOND);
        cJSON_AddItemToArray(ops, op);
    }
    cJSON_AddItemToObject(body, "clientTimestamp", wire_ms_json(from->now_us));
    return msg;
}

static bool smartdmv_push_parse(const cJSON *msg, arena *a, int *n, wire_change **changes)
{
    const char *method, *path;
    const cJSON *body, *ops;
    int64_t client_us;
    if (smartdmv_type(msg) != MSG_PUSH || !wire_http_request_get(msg, &method, &path, &body) ||
        !cJSON_IsObject(body) || !(ops = wj_arr(body, "operations")) ||
        !wire_ms_get(body, "clientTimestamp", &client_us))
        return false;
    int count = cJSON_GetArraySize(ops);
    wire_change *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *op;
    cJSON_ArrayForEach(op, ops)
    {
        wire_change *wc = &out[i++];
        const char *operation, *s;
        int64_t timestamp;
        if (!cJSON_IsObject(op) || !wj_int(op, "id", &wc->op_id) || !wj_str(op, "operation", &operation) ||
            !wire_doc_op_parse(operation, &wc->op) || !wj_int(op, "version", &wc->base_version) ||
            !wire_change_ext_parse(op, WIRE_EXT_OP_BEYOND, a, wc))
            return false;
        const record *r = &wc->rec;
        if (!wj_str_is(op, "entityType", r->type) || !wj_str_is(op, "entityId", r->id) ||
            !wire_ms_get(op, "timestamp", &timestamp) || timestamp != r->st.ts_us ||
            !wj_str_is(op, "tenantId", r->tenant) || !wj_str(op, "practiceId", &s) || !wj_str(op, "userId", &s) ||
            !wire_data_agrees(wj_obj(op, "data"), r, NULL) || !wire_change_valid(wc))
            return false;
    }
    *n = count;
    *changes = out;
    return true;
}

static bool succeeded(const char *status)
{
    return strcmp(status, "applied") == 0 || strcmp(status, "merged") == 0;
}

static const char *default_status(bool success, bool conflict)
{
    return success ? "applied" : conflict ? "conflict" : "invalid";
}

static cJSON *conflict_data(const record *local, const record *server)
{
    cJSON *cd = cJSON_CreateObject();
    cJSON_AddItemToObject(cd, "localData", wire_data_json(local));
    cJSON_AddItemToObject(cd, "serverData", wire_data_json(server));
    cJSON_AddStringToObject(cd, "conflictType", local->deleted || server->deleted ? "deletion" : "timestamp");
    /* compareFields: every field either side has whose values differ, by name (both are sorted). */
    cJSON *affected = cJSON_AddArrayToObject(cd, "affectedFields");
    int i = 0, k = 0;
    while (i < local->n_fields || k < server->n_fields) {
        int order = i == local->n_fields   ? 1
                    : k == server->n_fields ? -1
                                            : strcmp(local->fields[i].name, server->fields[k].name);
        if (order < 0) {
            cJSON_AddItemToArray(affected, cJSON_CreateString(local->fields[i++].name));
        } else if (order > 0) {
            cJSON_AddItemToArray(affected, cJSON_CreateString(server->fields[k++].name));
        } else {
            if (!value_equal(&local->fields[i].v, &server->fields[k].v))
                cJSON_AddItemToArray(affected, cJSON_CreateString(local->fields[i].name));
            i++;
            k++;
        }
    }
    return cd;
}

static cJSON *smartdmv_push_result(int64_t req, hlc clock, int64_t now_us, int n, const wire_change *changes,
                                   const wire_result *results)
{
    cJSON *body;
    cJSON *msg = wire_http_response(wire_batch_status(n, results), req, &body);
    int processed = 0, failed = 0, conflicts = 0;
    for (int i = 0; i < n; i++) {
        bool success = succeeded(results[i].status);
        processed += success;
        failed += !success && !results[i].conflict;
        conflicts += results[i].conflict;
    }
    cJSON_AddBoolToObject(body, "success", failed == 0 && conflicts == 0);
    cJSON_AddNumberToObject(body, "processed", processed);
    cJSON_AddNumberToObject(body, "failed", failed);
    cJSON_AddNumberToObject(body, "conflicts", conflicts);
    cJSON *arr = cJSON_AddArrayToObject(body, "results");
    for (int i = 0; i < n; i++) {
        const wire_result *r = &results[i];
        bool success = succeeded(r->status);
        cJSON *res = cJSON_CreateObject();
        cJSON_AddNumberToObject(res, "operationId", (double)r->op_id);
        cJSON_AddBoolToObject(res, "success", success);
        cJSON_AddStringToObject(res, "realId", r->rec.id);
        cJSON_AddStringToObject(res, "tempId", r->temp_id ? r->temp_id : changes[i].rec.id);
        cJSON_AddStringToObject(res, "entityType", r->rec.type);
        if (r->conflict) {
            cJSON_AddBoolToObject(res, "conflict", true);
            cJSON_AddItemToObject(res, "conflictData", conflict_data(&changes[i].rec, &r->rec));
        }
        wire_result_ext(res, r, 0, default_status(success, r->conflict), r->conflict, true);
        cJSON_AddItemToArray(arr, res);
    }
    cJSON *ext = wire_ext_add(body);
    wire_hlc_put(ext, clock);
    cJSON_AddNumberToObject(ext, "now", (double)now_us);
    return msg;
}

static bool conflict_data_agrees(const cJSON *cd, const record *server)
{
    const char *type;
    const cJSON *affected = wj_arr(cd, "affectedFields"), *name;
    if (!cJSON_IsObject(cd) || !wj_obj(cd, "localData") || !wire_data_agrees(wj_obj(cd, "serverData"), server, NULL) ||
        !wj_str(cd, "conflictType", &type) || (strcmp(type, "deletion") != 0 && strcmp(type, "timestamp") != 0) ||
        !affected)
        return false;
    cJSON_ArrayForEach(name, affected)
    {
        if (!cJSON_IsString(name))
            return false;
    }
    return true;
}

static bool smartdmv_push_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                       wire_result **results)
{
    int64_t status, processed, failed, conflicts;
    bool all_ok;
    const cJSON *body, *arr, *ext;
    if (!wire_http_response_get(msg, &status, &body) || !wj_bool(body, "success", &all_ok) ||
        !wj_int(body, "processed", &processed) || !wj_int(body, "failed", &failed) ||
        !wj_int(body, "conflicts", &conflicts) || !(arr = wj_arr(body, "results")) || !(ext = wire_ext_get(body)) ||
        !wire_hlc_get(ext, clock) || !wj_int(ext, "now", now_us))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_result *out = wj_alloc(a, count, sizeof *out);
    int i = 0, n_processed = 0, n_failed = 0, n_conflicts = 0;
    const cJSON *res;
    cJSON_ArrayForEach(res, arr)
    {
        wire_result *wr = &out[i++];
        bool success, conflict = false;
        const char *s;
        if (!cJSON_IsObject(res) || !wj_int(res, "operationId", &wr->op_id) || !wj_bool(res, "success", &success))
            return false;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(res, "conflict");
        if (c && (!wj_bool(res, "conflict", &conflict) || !conflict))
            return false;   /* present only when true */
        if (!wire_result_ext_parse(res, 0, default_status(success, conflict), conflict, true, a, wr) ||
            succeeded(wr->status) != success || !wj_str_is(res, "realId", wr->rec.id) || !wj_str(res, "tempId", &s) ||
            !wj_str_is(res, "entityType", wr->rec.type))
            return false;
        wr->temp_id = strcmp(s, wr->rec.id) != 0 ? arena_strdup(a, s) : NULL;
        const cJSON *cd = cJSON_GetObjectItemCaseSensitive(res, "conflictData");
        if ((cd != NULL) != conflict || (cd && !conflict_data_agrees(cd, &wr->rec)))
            return false;
        n_processed += success;
        n_failed += !success && !conflict;
        n_conflicts += conflict;
    }
    if (processed != n_processed || failed != n_failed || conflicts != n_conflicts ||
        all_ok != (n_failed == 0 && n_conflicts == 0) || !wire_batch_status_agrees(status, count, out))
        return false;
    *n = count;
    *results = out;
    return true;
}

static cJSON *smartdmv_pull(const wire_sender *from, int64_t req, int64_t since, const char *type, int limit)
{
    buf path;
    buf_init(&path);
    buf_puts(&path, PATH_PULL);
    char ms[WIRE_MS_TEXT_MAX];
    wire_ms_text(since, ms);
    wire_query_add(&path, "lastSyncTimestamp", ms);
    wire_query_add(&path, "practiceId", from->user);
    if (type)
        wire_query_add(&path, "entityTypes", type);
    cJSON *msg = wire_http_request("GET", path.data, req, NULL);
    buf_free(&path);
    cJSON_AddNumberToObject(wire_ext_add(msg), "limit", limit);
    return msg;
}

static bool smartdmv_pull_parse(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit)
{
    const char *method, *path, *ms, *practice;
    const cJSON *body, *ext;
    int64_t l;
    if (smartdmv_type(msg) != MSG_PULL || !wire_http_request_get(msg, &method, &path, &body) || body ||
        !wire_query_get(path, "lastSyncTimestamp", a, &ms) || !ms || !wire_ms_text_parse(ms, since) ||
        !wire_query_get(path, "practiceId", a, &practice) || !practice ||
        !wire_query_get(path, "entityTypes", a, type) || !(ext = wire_ext_get(msg)) || !wj_int(ext, "limit", &l) ||
        !wire_pull_args_valid(*since, l))
        return false;
    /* entityTypes may list several types in the document ("appointments,pets"); the engine asks for
     * one at a time, so a raw comma is refused (by the decoding) and one type is all there is. */
    if (*type && **type == '\0')
        return false;
    *limit = (int)l;
    return true;
}

static cJSON *smartdmv_pull_result(int64_t req, hlc clock, int64_t now_us, int n, const record *records,
                                   int64_t next, bool has_more)
{
    cJSON *body;
    cJSON *msg = wire_http_response(200, req, &body);
    cJSON_AddBoolToObject(body, "success", true);
    cJSON_AddItemToObject(body, "timestamp", wire_ms_json(now_us));
    cJSON *changes = cJSON_AddArrayToObject(body, "changes");
    for (int i = 0; i < n; i++) {
        const record *r = &records[i];
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "entityType", r->type);
        cJSON_AddStringToObject(c, "operation", wire_doc_op_of(r));
        cJSON_AddStringToObject(c, "id", r->id);
        cJSON_AddItemToObject(c, "data", wire_data_json(r));
        cJSON_AddItemToObject(c, "updatedAt", wire_iso_json(r->updated_us));
        cJSON_AddItemToObject(wire_ext_add(c), "record", record_to_json(r));
        cJSON_AddItemToArray(changes, c);
    }
    cJSON_AddBoolToObject(body, "hasMore", has_more);
    cJSON *ext = wire_ext_add(body);
    wire_hlc_put(ext, clock);
    cJSON_AddNumberToObject(ext, "next", (double)next);
    return msg;
}

static bool smartdmv_pull_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                       record **records, int64_t *next, bool *has_more)
{
    int64_t status;
    bool success;
    const cJSON *body, *changes, *ext;
    if (!wire_http_response_get(msg, &status, &body) || status != 200 || !wj_bool(body, "success", &success) ||
        !success || !wire_ms_get(body, "timestamp", now_us) || !(changes = wj_arr(body, "changes")) ||
        !wj_bool(body, "hasMore", has_more) || !(ext = wire_ext_get(body)) || !wire_hlc_get(ext, clock) ||
        !wj_int(ext, "next", next))
        return false;
    int count = cJSON_GetArraySize(changes);
    record *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, changes)
    {
        record *r = &out[i++];
        int64_t updated_us;
        const char *operation;
        op_kind op;
        if (!cJSON_IsObject(c) || !wire_record_get(wire_ext_get(c), a, r) || !wj_str_is(c, "entityType", r->type) ||
            !wj_str_is(c, "id", r->id) || !wj_str(c, "operation", &operation) || !wire_doc_op_parse(operation, &op) ||
            (op == OP_DELETE) != r->deleted || !wire_iso_get(c, "updatedAt", &updated_us) ||
            updated_us != r->updated_us || !wire_data_agrees(wj_obj(c, "data"), r, NULL))
            return false;
    }
    *n = count;
    *records = out;
    return true;
}

const wire_dialect WIRE_SMARTDMV = {
    .name = "smartdmv",
    .summary = "seed 003 SmartDMV: POST /api/sync/push, GET /api/sync/pull",
    .type = smartdmv_type,
    .push = smartdmv_push,
    .push_parse = smartdmv_push_parse,
    .push_result = smartdmv_push_result,
    .push_result_parse = smartdmv_push_result_parse,
    .pull = smartdmv_pull,
    .pull_parse = smartdmv_pull_parse,
    .pull_result = smartdmv_pull_result,
    .pull_result_parse = smartdmv_pull_result_parse,
};
