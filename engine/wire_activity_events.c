/*
 * wire_activity_events: seed 000 (the event-sourced activity tracker).
 *
 * Follows: section 3 "API Data Structures" (the endpoint, "Sync Request
 * Payload", "Sync Response Payload") and section 2 step 3 (events merged by
 * occurredAt, createdAt as the tie-breaker).
 * In "_syncsim" (the document cannot say it): changes that are not events
 * (plain fields, creates, deletes, counters) as recordChanges; each item's
 * op id, base version and position in the push; per-change results; the
 * pulled records whole; the hybrid clock; a pull's page size, entity type,
 * next cursor and has_more.
 *
 * One endpoint, as the document proposes it:
 *
 *   POST /api/sync/activity
 *     {"lastSyncTimestamp","events":[{"id","attemptId","type","occurredAt","createdAt","source"}]}
 *   200 {"newEvents":[...the same event shape...],"newSyncTimestamp"}
 *
 * The engine pushes and pulls in separate requests, both to this endpoint:
 * a push sends the unsynced events and gets empty newEvents back (the next
 * request brings them) with newSyncTimestamp, the server's clock, which the
 * design keeps as its watermark; a pull sends no events and gets every event
 * of each record changed since lastSyncTimestamp.
 *
 * Appends are the document's events: id is the event's write id
 * ("evt_<device>_<n>"), attemptId the record, type the event's "kind",
 * occurredAt the device clock of the append and source "user". The engine
 * keeps one client time per event, so createdAt equals occurredAt (ties break
 * on the event id). Timestamps are milliseconds since the epoch, as in the
 * document, with a fraction for the microseconds.
 *
 * Extension, not part of the design: the engine also pushes plain field
 * changes of records (and their creates, deletes and counters). They travel
 * in the body's "_syncsim": {"recordChanges": [...]}, in the built-in
 * protocol's change shape (wire.h). Every item of a push names its position
 * ("pos") so the server applies events and record changes in the order the
 * device sent them. The document has no per-event result either: the
 * results, in the built-in result shape, and the records pulled travel in
 * the response body's extension.
 */
#include "engine/wire_dialect.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define PATH_ACTIVITY "/api/sync/activity"

/* The body of a request to the endpoint, and whether it carries changes (a push) or not (a pull). */
static bool request_body(const cJSON *msg, const cJSON **body, bool *push)
{
    const char *method, *path;
    const cJSON *events;
    if (!wire_http_request_get(msg, &method, &path, body) || strcmp(method, "POST") != 0 ||
        strcmp(path, PATH_ACTIVITY) != 0 || !cJSON_IsObject(*body) || !(events = wj_arr(*body, "events")))
        return false;
    const cJSON *changes = wj_arr(wire_ext_get(*body), "recordChanges");
    *push = cJSON_GetArraySize(events) > 0 || cJSON_GetArraySize(changes) > 0;
    return true;
}

static msg_type activity_type(const cJSON *msg)
{
    const cJSON *body;
    bool push;
    if (!request_body(msg, &body, &push))
        return MSG_UNKNOWN;
    return push ? MSG_PUSH : MSG_PULL;
}

static const char *event_kind(const log_event *e)
{
    for (int i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i].name, "kind") == 0 && e->fields[i].v.kind == VAL_STRING)
            return e->fields[i].v.s;
    return "";
}

static cJSON *event_json(const record *r, const log_event *e)
{
    char id[48];
    snprintf(id, sizeof id, "evt_%d_%u", WRITE_NODE(e->w), WRITE_COUNTER(e->w));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "attemptId", r->id);
    cJSON_AddStringToObject(o, "type", event_kind(e));
    cJSON_AddItemToObject(o, "occurredAt", wire_ms_json(e->at_us));
    cJSON_AddItemToObject(o, "createdAt", wire_ms_json(e->at_us));
    cJSON_AddStringToObject(o, "source", "user");
    return o;
}

/* "evt_<node>_<counter>", strictly, back to the write id. */
static bool event_id_parse(const char *text, write_id *out)
{
    if (strncmp(text, "evt_", 4) != 0)
        return false;
    uint64_t parts[2] = { 0, 0 };
    const char *p = text + 4;
    for (int k = 0; k < 2; k++) {
        int digits = 0;
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
            parts[k] = parts[k] * 10 + (uint64_t)(*p - '0');
            if (digits > 10)
                return false;
        }
        if (digits == 0 || (k == 0 && *p++ != '_'))
            return false;
    }
    if (*p != '\0' || parts[0] > INT32_MAX || parts[1] > UINT32_MAX)
        return false;
    *out = WRITE_ID(parts[0], parts[1]);
    return true;
}

/* The event item describes event e of record r. */
static bool event_agrees(const cJSON *o, const record *r, const log_event *e)
{
    const char *id, *source;
    write_id w;
    int64_t occurred, created;
    return cJSON_IsObject(o) && wj_str(o, "id", &id) && event_id_parse(id, &w) && w == e->w &&
           wj_str_is(o, "attemptId", r->id) && wj_str_is(o, "type", event_kind(e)) &&
           wire_ms_get(o, "occurredAt", &occurred) && occurred == e->at_us &&
           wire_ms_get(o, "createdAt", &created) && wj_str(o, "source", &source);
}

static cJSON *activity_push(const wire_sender *from, int64_t req, int n, const outbox_entry *entries)
{
    /* A request without changes is a pull: the client never pushes nothing. */
    assert(n > 0);
    cJSON *body;
    cJSON *msg = wire_http_request("POST", PATH_ACTIVITY, req, &body);
    cJSON_AddItemToObject(body, "lastSyncTimestamp", wire_ms_json(from->last_sync_us));
    cJSON *events = cJSON_AddArrayToObject(body, "events");
    cJSON *changes = cJSON_AddArrayToObject(wire_ext_add(body), "recordChanges");
    for (int i = 0; i < n; i++) {
        const outbox_entry *e = &entries[i];
        if (e->op == OP_APPEND) {
            /* An append's event is the record's event with the append's write id (wire_change_valid). */
            int k = record_find_event(&e->body, e->body.st.w);
            assert(k >= 0);
            cJSON *item = event_json(&e->body, &e->body.events[k]);
            cJSON *ext = wire_change_ext(item, e, WIRE_EXT_OP_ID | WIRE_EXT_BASE_VERSION);
            cJSON_AddNumberToObject(ext, "pos", i);
            cJSON_AddItemToArray(events, item);
        } else {
            cJSON *c = wire_syncsim_change(e);
            cJSON_AddNumberToObject(c, "pos", i);
            cJSON_AddItemToArray(changes, c);
        }
    }
    return msg;
}

/* Put item's change at its position; false when the position is out of range or taken. */
static bool place(const cJSON *pos_holder, int count, bool *taken, int *pos)
{
    int64_t p;
    if (!wj_int(pos_holder, "pos", &p) || p < 0 || p >= count || taken[p])
        return false;
    taken[p] = true;
    *pos = (int)p;
    return true;
}

static bool activity_push_parse(const cJSON *msg, arena *a, int *n, wire_change **changes)
{
    const cJSON *body;
    bool push;
    int64_t last_sync_us;
    if (!request_body(msg, &body, &push) || !push || !wire_ms_get(body, "lastSyncTimestamp", &last_sync_us))
        return false;
    const cJSON *events = wj_arr(body, "events");
    const cJSON *record_changes = wj_arr(wire_ext_get(body), "recordChanges");
    if (!record_changes)
        return false;
    int count = cJSON_GetArraySize(events) + cJSON_GetArraySize(record_changes);
    wire_change *out = wj_alloc(a, count, sizeof *out);
    bool *taken = wj_alloc(a, count, sizeof *taken);
    const cJSON *item;
    cJSON_ArrayForEach(item, events)
    {
        int pos;
        if (!cJSON_IsObject(item) || !place(wire_ext_get(item), count, taken, &pos))
            return false;
        wire_change *wc = &out[pos];
        wc->op = OP_APPEND;
        if (!wire_change_ext_parse(item, WIRE_EXT_OP_ID | WIRE_EXT_BASE_VERSION, a, wc) || !wire_change_valid(wc))
            return false;
        /* The document's event is the append's: the record's event with the append's write id. */
        if (!event_agrees(item, &wc->rec, &wc->rec.events[record_find_event(&wc->rec, wc->rec.st.w)]))
            return false;
    }
    cJSON_ArrayForEach(item, record_changes)
    {
        int pos;
        if (!place(item, count, taken, &pos) || !wire_syncsim_change_parse(item, a, &out[pos]) ||
            out[pos].op == OP_APPEND)
            return false;   /* appends are events */
    }
    *n = count;
    *changes = out;
    return true;
}

static cJSON *activity_push_result(int64_t req, hlc clock, int64_t now_us, int n, const wire_change *changes,
                                   const wire_result *results)
{
    (void)changes;
    cJSON *body;
    cJSON *msg = wire_http_response(wire_batch_status(n, results), req, &body);
    cJSON_AddArrayToObject(body, "newEvents");   /* a push's: the next request brings them */
    cJSON_AddItemToObject(body, "newSyncTimestamp", wire_ms_json(now_us));
    cJSON *ext = wire_ext_add(body);
    wire_hlc_put(ext, clock);
    cJSON *arr = cJSON_AddArrayToObject(ext, "results");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, wire_syncsim_result(&results[i]));
    return msg;
}

static bool activity_push_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                       wire_result **results)
{
    int64_t status;
    const cJSON *body, *events, *ext, *arr;
    if (!wire_http_response_get(msg, &status, &body) || !(events = wj_arr(body, "newEvents")) ||
        cJSON_GetArraySize(events) != 0 || !wire_ms_get(body, "newSyncTimestamp", now_us) ||
        !(ext = wire_ext_get(body)) || !wire_hlc_get(ext, clock) || !(arr = wj_arr(ext, "results")))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_result *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *res;
    cJSON_ArrayForEach(res, arr)
    {
        if (!wire_syncsim_result_parse(res, a, &out[i++]))
            return false;
    }
    if (!wire_batch_status_agrees(status, count, out))
        return false;
    *n = count;
    *results = out;
    return true;
}

static cJSON *activity_pull(const wire_sender *from, int64_t req, int64_t since, const char *type, int limit)
{
    (void)from;
    cJSON *body;
    cJSON *msg = wire_http_request("POST", PATH_ACTIVITY, req, &body);
    cJSON_AddItemToObject(body, "lastSyncTimestamp", wire_ms_json(since));
    cJSON_AddArrayToObject(body, "events");
    cJSON *ext = wire_ext_add(body);
    cJSON_AddNumberToObject(ext, "limit", limit);
    if (type)
        cJSON_AddStringToObject(ext, "entity_type", type);
    return msg;
}

static bool activity_pull_parse(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit)
{
    const cJSON *body, *ext;
    bool push;
    int64_t l;
    const char *t;
    if (!request_body(msg, &body, &push) || push || !wire_ms_get(body, "lastSyncTimestamp", since) ||
        !(ext = wire_ext_get(body)) || !wj_int(ext, "limit", &l) || !wire_pull_args_valid(*since, l))
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

static cJSON *activity_pull_result(int64_t req, hlc clock, int64_t now_us, int n, const record *records,
                                   int64_t next, bool has_more)
{
    cJSON *body;
    cJSON *msg = wire_http_response(200, req, &body);
    cJSON *events = cJSON_AddArrayToObject(body, "newEvents");
    for (int i = 0; i < n; i++)
        for (int k = 0; k < records[i].n_events; k++)
            cJSON_AddItemToArray(events, event_json(&records[i], &records[i].events[k]));
    cJSON_AddItemToObject(body, "newSyncTimestamp", wire_ms_json(now_us));
    cJSON *ext = wire_ext_add(body);
    wire_hlc_put(ext, clock);
    cJSON_AddNumberToObject(ext, "next", (double)next);
    cJSON_AddBoolToObject(ext, "has_more", has_more);
    cJSON *arr = cJSON_AddArrayToObject(ext, "records");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, record_to_json(&records[i]));
    return msg;
}

static bool activity_pull_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                       record **records, int64_t *next, bool *has_more)
{
    int64_t status;
    const cJSON *body, *events, *ext, *arr;
    if (!wire_http_response_get(msg, &status, &body) || status != 200 || !(events = wj_arr(body, "newEvents")) ||
        !wire_ms_get(body, "newSyncTimestamp", now_us) || !(ext = wire_ext_get(body)) || !wire_hlc_get(ext, clock) ||
        !wj_int(ext, "next", next) || !wj_bool(ext, "has_more", has_more) || !(arr = wj_arr(ext, "records")))
        return false;
    int count = cJSON_GetArraySize(arr);
    record *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *r;
    const cJSON *event = events->child;
    cJSON_ArrayForEach(r, arr)
    {
        const char *why;
        record *rec = &out[i++];
        if (!record_from_json(r, a, rec, &why))
            return false;
        /* newEvents are the records' events, in order. */
        for (int k = 0; k < rec->n_events; k++, event = event->next)
            if (!event || !event_agrees(event, rec, &rec->events[k]))
                return false;
    }
    if (event)
        return false;   /* an event of no record */
    *n = count;
    *records = out;
    return true;
}

const wire_dialect WIRE_ACTIVITY_EVENTS = {
    .name = "activity-events",
    .summary = "seed 000 activity events: POST /api/sync/activity with events and a sync timestamp",
    .type = activity_type,
    .push = activity_push,
    .push_parse = activity_push_parse,
    .push_result = activity_push_result,
    .push_result_parse = activity_push_result_parse,
    .pull = activity_pull,
    .pull_parse = activity_pull_parse,
    .pull_result = activity_pull_result,
    .pull_result_parse = activity_pull_result_parse,
};
