/*
 * wire_delta_sync: seed 004 (the Delta Sync API).
 *
 * Follows: "API Endpoint" (POST /sync/delta, its Request and Response with
 * their Fields), "Conflict Resolution Strategies" (resolution,
 * conflict_reason) and "Key Features" ("Batch transaction support with
 * rollback").
 * In "_syncsim" (the document cannot say it): each change's op id, exact
 * operation when an increment or append, force, changed fields and the
 * record whole; per-change results (status, the server's record), which
 * invalid changes error_count counts and why, each conflict's op id; the
 * pull's page size, entity type, next cursor and has_more; the hybrid clock.
 *
 * One endpoint:
 *
 *   POST /sync/delta
 *     {"last_sync_at","changes":[{"entity_type","entity_id","action","data","version",
 *                                 "client_timestamp"}],"device_id"}
 *   200 {"server_changes":[...the same change shape...],"conflicts":[{"entity_type","entity_id",
 *        "conflict_reason","resolution","client_version","server_version","server_data"}],
 *        "last_sync_at","success","applied_count","error_count"}
 *
 * The engine pushes and pulls in separate requests, both to this endpoint: a
 * pull is a request with empty "changes" (its cursor is last_sync_at), and a
 * push's response carries empty "server_changes" -- the next pull brings
 * them. Timestamps are ISO 8601 as in the document, to the microsecond.
 *
 * The document returns no per-change result, only counts and conflicts, but
 * the engine needs one per change (its status and the server's record), so
 * the results travel in the body's extension. What the document does say is
 * rendered from them and checked against them when read back: the conflicts
 * (each names its change's op id in its own extension), applied_count
 * (applied and merged changes), error_count (invalid, forbidden and refused
 * changes), success ("true if no conflicts", and nothing rolled back). A
 * batch with an invalid change is rolled back whole ("batch transaction
 * support with rollback") and answered 400 Bad Request; the extension's
 * "errors" list each invalid change with its reason, in either case (the
 * document counts errors but does not say which).
 *
 * resolution: client_wins (applied), server_wins (rejected, refused),
 * merged (merged: done wins, or a field merge), manual (left to the user).
 * conflict_reason: "Entity deleted" when either side is a delete, else
 * "Version mismatch".
 */
#include "engine/wire_dialect.h"

#include <assert.h>
#include <string.h>

#define PATH_DELTA "/sync/delta"

static msg_type delta_type(const cJSON *msg)
{
    const char *method, *path;
    const cJSON *body, *changes;
    if (!wire_http_request_get(msg, &method, &path, &body) || strcmp(method, "POST") != 0 ||
        strcmp(path, PATH_DELTA) != 0 || !(changes = wj_arr(body, "changes")))
        return MSG_UNKNOWN;
    return cJSON_GetArraySize(changes) ? MSG_PUSH : MSG_PULL;
}

static cJSON *delta_change(const record *r, const char *action, int64_t version)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "entity_type", r->type);
    cJSON_AddStringToObject(c, "entity_id", r->id);
    cJSON_AddStringToObject(c, "action", action);
    cJSON_AddItemToObject(c, "data", wire_data_json(r));
    cJSON_AddNumberToObject(c, "version", (double)version);
    cJSON_AddItemToObject(c, "client_timestamp", wire_iso_json(r->st.ts_us));
    return c;
}

static bool delta_change_agrees(const cJSON *c, const record *r, op_kind *action, int64_t *version)
{
    const char *text;
    int64_t ts;
    return wj_str_is(c, "entity_type", r->type) && wj_str_is(c, "entity_id", r->id) && wj_str(c, "action", &text) &&
           wire_doc_op_parse(text, action) && wj_int(c, "version", version) &&
           wire_iso_get(c, "client_timestamp", &ts) && ts == r->st.ts_us &&
           wire_data_agrees(wj_obj(c, "data"), r, NULL);
}

static cJSON *request(const wire_sender *from, int64_t req, int64_t last_sync_us, cJSON **changes)
{
    cJSON *body;
    cJSON *msg = wire_http_request("POST", PATH_DELTA, req, &body);
    cJSON_AddItemToObject(body, "last_sync_at", wire_iso_json(last_sync_us));
    *changes = cJSON_AddArrayToObject(body, "changes");
    cJSON_AddStringToObject(body, "device_id", from->device);
    return msg;
}

static bool request_get(const cJSON *msg, msg_type expected, const cJSON **body, int64_t *last_sync_us)
{
    const char *method, *path, *device;
    return delta_type(msg) == expected && wire_http_request_get(msg, &method, &path, body) &&
           wire_iso_get(*body, "last_sync_at", last_sync_us) && wj_str(*body, "device_id", &device);
}

static cJSON *delta_push(const wire_sender *from, int64_t req, int n, const outbox_entry *entries)
{
    /* Empty changes make a pull: the client never pushes nothing (client.c sends a pull instead). */
    assert(n > 0);
    cJSON *changes;
    cJSON *msg = request(from, req, from->last_sync_us, &changes);
    for (int i = 0; i < n; i++) {
        const outbox_entry *e = &entries[i];
        cJSON *c = delta_change(&e->body, wire_doc_op(e->op), e->base_version);
        wire_change_ext(c, e, WIRE_EXT_OP_ID | WIRE_EXT_OP_BEYOND);
        cJSON_AddItemToArray(changes, c);
    }
    return msg;
}

static bool delta_push_parse(const cJSON *msg, arena *a, int *n, wire_change **changes)
{
    const cJSON *body;
    int64_t last_sync_us;
    if (!request_get(msg, MSG_PUSH, &body, &last_sync_us))
        return false;
    const cJSON *arr = wj_arr(body, "changes");
    int count = cJSON_GetArraySize(arr);
    wire_change *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        wire_change *wc = &out[i++];
        const char *action;
        op_kind doc_op;
        if (!cJSON_IsObject(c) || !wj_str(c, "action", &action) || !wire_doc_op_parse(action, &wc->op) ||
            !wire_change_ext_parse(c, WIRE_EXT_OP_ID | WIRE_EXT_OP_BEYOND, a, wc) ||
            !delta_change_agrees(c, &wc->rec, &doc_op, &wc->base_version) || !wire_change_valid(wc))
            return false;
    }
    *n = count;
    *changes = out;
    return true;
}

static const char *resolution(const char *status)
{
    if (strcmp(status, "applied") == 0)
        return "client_wins";
    if (strcmp(status, "merged") == 0)
        return "merged";
    if (strcmp(status, "conflict") == 0)
        return "manual";
    return "server_wins";
}

static bool counted_applied(const char *status)
{
    return strcmp(status, "applied") == 0 || strcmp(status, "merged") == 0;
}

static bool counted_error(const char *status)
{
    return strcmp(status, "invalid") == 0 || strcmp(status, "forbidden") == 0 || strcmp(status, "refused") == 0;
}

static cJSON *delta_push_result(int64_t req, hlc clock, int64_t now_us, int n, const wire_change *changes,
                                const wire_result *results)
{
    int status = wire_batch_status(n, results);
    cJSON *body;
    cJSON *msg = wire_http_response(status, req, &body);
    cJSON_AddArrayToObject(body, "server_changes");   /* the next pull brings them */
    cJSON *conflicts = cJSON_AddArrayToObject(body, "conflicts");
    int applied = 0, errors = 0, n_conflicts = 0;
    for (int i = 0; i < n; i++) {
        const wire_result *r = &results[i];
        applied += counted_applied(r->status);
        errors += counted_error(r->status);
        if (!r->conflict)
            continue;
        n_conflicts++;
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "entity_type", r->rec.type);
        cJSON_AddStringToObject(c, "entity_id", r->rec.id);
        cJSON_AddStringToObject(c, "conflict_reason",
                                changes[i].rec.deleted || r->rec.deleted ? "Entity deleted" : "Version mismatch");
        cJSON_AddStringToObject(c, "resolution", resolution(r->status));
        cJSON_AddNumberToObject(c, "client_version", (double)changes[i].base_version);
        cJSON_AddNumberToObject(c, "server_version", (double)r->rec.version);
        cJSON_AddItemToObject(c, "server_data", wire_data_json(&r->rec));
        cJSON_AddNumberToObject(wire_ext_add(c), "op_id", (double)r->op_id);
        cJSON_AddItemToArray(conflicts, c);
    }
    cJSON_AddItemToObject(body, "last_sync_at", wire_iso_json(now_us));
    cJSON_AddBoolToObject(body, "success", n_conflicts == 0 && status == 200);
    cJSON_AddNumberToObject(body, "applied_count", applied);
    cJSON_AddNumberToObject(body, "error_count", errors);
    cJSON *ext = wire_ext_add(body);
    wire_hlc_put(ext, clock);
    /* Which changes the error_count counts is not the document's: the list is ours. */
    cJSON *errs = cJSON_AddArrayToObject(ext, "errors");
    for (int i = 0; i < n; i++) {
        const wire_result *r = &results[i];
        if (!wire_status_is(r, "invalid"))
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "entity_type", r->rec.type);
        cJSON_AddStringToObject(e, "entity_id", r->rec.id);
        cJSON_AddStringToObject(e, "error", r->error ? r->error : "invalid");
        cJSON_AddNumberToObject(wire_ext_add(e), "op_id", (double)r->op_id);
        cJSON_AddItemToArray(errs, e);
    }
    cJSON *arr = cJSON_AddArrayToObject(ext, "results");
    for (int i = 0; i < n; i++) {
        /* No document field says a change's status: "applied" is the default. The conflicts list
         * says which conflicted and the errors list why a change is invalid. */
        cJSON *res = cJSON_CreateObject();
        wire_result_members(res, &results[i], WIRE_EXT_OP_ID | WIRE_EXT_TEMP_ID, "applied", results[i].conflict, false);
        cJSON_AddItemToArray(arr, res);
    }
    return msg;
}

/* The entry of list whose extension names op_id, or NULL. */
static const cJSON *entry_for(const cJSON *list, int64_t op_id)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        int64_t id;
        if (wj_int(wire_ext_get(e), "op_id", &id) && id == op_id)
            return e;
    }
    return NULL;
}

static bool delta_push_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                    wire_result **results)
{
    int64_t status, applied, errors;
    bool success;
    const cJSON *body, *server_changes, *conflicts, *errs, *ext, *arr;
    if (!wire_http_response_get(msg, &status, &body) || !(server_changes = wj_arr(body, "server_changes")) ||
        cJSON_GetArraySize(server_changes) != 0 || !(conflicts = wj_arr(body, "conflicts")) ||
        !wire_iso_get(body, "last_sync_at", now_us) || !wj_bool(body, "success", &success) ||
        !wj_int(body, "applied_count", &applied) || !wj_int(body, "error_count", &errors) ||
        !(ext = wire_ext_get(body)) || !wire_hlc_get(ext, clock) || !(errs = wj_arr(ext, "errors")) ||
        !(arr = wj_arr(ext, "results")))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_result *out = wj_alloc(a, count, sizeof *out);
    int i = 0, n_applied = 0, n_errors = 0, n_conflicts = 0, n_invalid = 0;
    const cJSON *res;
    cJSON_ArrayForEach(res, arr)
    {
        wire_result *wr = &out[i++];
        int64_t op_id;
        if (!cJSON_IsObject(res) || !wj_int(res, "op_id", &op_id))
            return false;
        /* The document's conflicts list says which changes conflicted. */
        const cJSON *conflict = entry_for(conflicts, op_id);
        const cJSON *error = entry_for(errs, op_id);
        if (!wire_result_members_parse(res, WIRE_EXT_OP_ID | WIRE_EXT_TEMP_ID, "applied", conflict != NULL, false, a, wr))
            return false;
        int64_t client_version, server_version;
        const char *reason, *text;
        if (conflict &&
            (!wj_str_is(conflict, "entity_type", wr->rec.type) || !wj_str_is(conflict, "entity_id", wr->rec.id) ||
             !wj_str(conflict, "conflict_reason", &reason) ||
             !wj_str_is(conflict, "resolution", resolution(wr->status)) ||
             !wj_int(conflict, "client_version", &client_version) ||
             !wj_int(conflict, "server_version", &server_version) || server_version != wr->rec.version ||
             !wire_data_agrees(wj_obj(conflict, "server_data"), &wr->rec, NULL)))
            return false;
        if ((error != NULL) != wire_status_is(wr, "invalid"))
            return false;
        if (error) {
            if (!wj_str_is(error, "entity_type", wr->rec.type) || !wj_str_is(error, "entity_id", wr->rec.id) ||
                !wj_str(error, "error", &text))
                return false;
            wr->error = arena_strdup(a, text);
            n_invalid++;
        }
        n_applied += counted_applied(wr->status);
        n_errors += counted_error(wr->status);
        n_conflicts += wr->conflict;
    }
    /* Every conflict and error entry belongs to a result. */
    if (n_conflicts != cJSON_GetArraySize(conflicts) || n_invalid != cJSON_GetArraySize(errs) ||
        applied != n_applied || errors != n_errors || !wire_batch_status_agrees(status, count, out) ||
        success != (n_conflicts == 0 && status == 200))
        return false;
    *n = count;
    *results = out;
    return true;
}

static cJSON *delta_pull(const wire_sender *from, int64_t req, int64_t since, const char *type, int limit)
{
    cJSON *changes;
    cJSON *msg = request(from, req, since, &changes);
    cJSON *ext = wire_ext_add(cJSON_GetObjectItemCaseSensitive(msg, "body"));
    cJSON_AddNumberToObject(ext, "limit", limit);
    if (type)
        cJSON_AddStringToObject(ext, "entity_type", type);
    return msg;
}

static bool delta_pull_parse(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit)
{
    const cJSON *body, *ext;
    int64_t l;
    const char *t;
    if (!request_get(msg, MSG_PULL, &body, since) || !(ext = wire_ext_get(body)) || !wj_int(ext, "limit", &l) ||
        !wire_pull_args_valid(*since, l))
        return false;
    *type = NULL;
    if (cJSON_GetObjectItemCaseSensitive(ext, "entity_type")) {
        if (!wj_str(ext, "entity_type", &t))
            return false;
        *type = arena_strdup(a, t);
    }
    *limit = (int)l;
    return true;
}

static cJSON *delta_pull_result(int64_t req, hlc clock, int64_t now_us, int n, const record *records, int64_t next,
                                bool has_more)
{
    cJSON *body;
    cJSON *msg = wire_http_response(200, req, &body);
    cJSON *changes = cJSON_AddArrayToObject(body, "server_changes");
    for (int i = 0; i < n; i++) {
        cJSON *c = delta_change(&records[i], wire_doc_op_of(&records[i]), records[i].version);
        cJSON_AddItemToObject(wire_ext_add(c), "record", record_to_json(&records[i]));
        cJSON_AddItemToArray(changes, c);
    }
    cJSON_AddArrayToObject(body, "conflicts");
    cJSON_AddItemToObject(body, "last_sync_at", wire_iso_json(now_us));
    cJSON_AddBoolToObject(body, "success", true);
    cJSON_AddNumberToObject(body, "applied_count", 0);
    cJSON_AddNumberToObject(body, "error_count", 0);
    cJSON *ext = wire_ext_add(body);
    wire_hlc_put(ext, clock);
    cJSON_AddNumberToObject(ext, "next", (double)next);
    cJSON_AddBoolToObject(ext, "has_more", has_more);
    return msg;
}

static bool delta_pull_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                    record **records, int64_t *next, bool *has_more)
{
    int64_t status, applied, errors;
    bool success;
    const cJSON *body, *changes, *conflicts, *ext;
    if (!wire_http_response_get(msg, &status, &body) || status != 200 ||
        !(changes = wj_arr(body, "server_changes")) || !(conflicts = wj_arr(body, "conflicts")) ||
        cJSON_GetArraySize(conflicts) != 0 || !wire_iso_get(body, "last_sync_at", now_us) ||
        !wj_bool(body, "success", &success) || !success || !wj_int(body, "applied_count", &applied) ||
        applied != 0 || !wj_int(body, "error_count", &errors) || errors != 0 || !(ext = wire_ext_get(body)) ||
        !wire_hlc_get(ext, clock) || !wj_int(ext, "next", next) || !wj_bool(ext, "has_more", has_more))
        return false;
    int count = cJSON_GetArraySize(changes);
    record *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, changes)
    {
        record *r = &out[i++];
        op_kind action;
        int64_t version;
        if (!cJSON_IsObject(c) || !wire_record_get(wire_ext_get(c), a, r) ||
            !delta_change_agrees(c, r, &action, &version) || version != r->version ||
            (action == OP_DELETE) != r->deleted)
            return false;
    }
    *n = count;
    *records = out;
    return true;
}

const wire_dialect WIRE_DELTA_SYNC = {
    .name = "delta-sync",
    .summary = "seed 004 Delta Sync API: POST /sync/delta",
    .type = delta_type,
    .push = delta_push,
    .push_parse = delta_push_parse,
    .push_result = delta_push_result,
    .push_result_parse = delta_push_result_parse,
    .pull = delta_pull,
    .pull_parse = delta_pull_parse,
    .pull_result = delta_pull_result,
    .pull_result_parse = delta_pull_result_parse,
};
