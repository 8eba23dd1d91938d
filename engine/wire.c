/*
 * wire: the table of dialects and the calls that dispatch on them. See
 * wire.h for the model and wire_dialect.h for what a dialect fills. Adding a
 * dialect is one file and one row here.
 */
#include "engine/wire_dialect.h"

#include <assert.h>
#include <string.h>

/* Order is the order of the documents (syncsim first: the default). */
static const wire_dialect *const DIALECTS[] = {
    &WIRE_SYNCSIM, &WIRE_ACTIVITY_EVENTS, &WIRE_IRONFLOW, &WIRE_STRONGLOG, &WIRE_SMARTDMV, &WIRE_DELTA_SYNC,
};
#define N_DIALECTS ((int)(sizeof DIALECTS / sizeof DIALECTS[0]))

const wire_dialect *wire_dialect_find(const char *name)
{
    for (int i = 0; i < N_DIALECTS; i++)
        if (strcmp(DIALECTS[i]->name, name) == 0)
            return DIALECTS[i];
    return NULL;
}

int wire_dialect_count(void)
{
    return N_DIALECTS;
}

const wire_dialect *wire_dialect_at(int index)
{
    assert(index >= 0 && index < N_DIALECTS);
    return DIALECTS[index];
}

const char *wire_dialect_name(const wire_dialect *d)
{
    return d->name;
}

const char *wire_dialect_summary(const wire_dialect *d)
{
    return d->summary;
}

/* The native form's structs when msg is in it (message.h); NULL for a JSON message. */
static const wire_native *native_form(const message *msg)
{
    if (!msg->kind)
        return NULL;
    for (int i = 0; i < N_DIALECTS; i++)
        if (DIALECTS[i]->native && DIALECTS[i]->native->kind == msg->kind)
            return DIALECTS[i]->native;
    return NULL;
}

/* The native form's readers when d reads msg natively: d's own native kind. */
static const wire_native *read_native(const wire_dialect *d, const message *msg)
{
    return d->native && msg->kind == d->native->kind ? d->native : NULL;
}

bool wire_req(message *msg, int64_t *req)
{
    const wire_native *nat = native_form(msg);
    if (nat) {
        *req = nat->req(msg);
        return true;
    }
    /* Any number, as the built-in protocol always took it; a request id is only compared. */
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(message_json(msg), "req");
    if (!cJSON_IsNumber(j) || !(j->valuedouble > -9.2e18 && j->valuedouble < 9.2e18))
        return false;
    *req = (int64_t)j->valuedouble;
    return true;
}

message *wire_gateway_error(int64_t req, int status)
{
    assert(status >= 400 && status < 600);
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "req", (double)req);
    cJSON_AddNumberToObject(msg, "status", status);
    cJSON_AddStringToObject(msg, "error", status == WIRE_GATEWAY_STATUS_UNAVAILABLE    ? "service unavailable"
                                          : status == WIRE_GATEWAY_STATUS_UNAUTHORIZED ? "token expired"
                                                                                       : "gateway error");
    return message_of_json(msg);
}

/* No native message is one of the gateway's or the auth service's: those are JSON. */
bool wire_gateway_status(message *msg, int *status)
{
    if (native_form(msg))
        return false;
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(message_json(msg), "status");
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= 400 && j->valuedouble < 600))
        return false;
    *status = (int)j->valuedouble;
    return true;
}

message *wire_auth_request(int64_t req)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "auth_refresh");
    cJSON_AddNumberToObject(msg, "req", (double)req);
    return message_of_json(msg);
}

bool wire_is_auth_request(message *msg)
{
    if (native_form(msg))
        return false;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(message_json(msg), "type");
    int64_t req;
    return cJSON_IsString(type) && strcmp(type->valuestring, "auth_refresh") == 0 && wire_req(msg, &req);
}

message *wire_auth_granted(int64_t req)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "req", (double)req);
    cJSON_AddNumberToObject(msg, "status", 200);
    cJSON_AddStringToObject(msg, "token", "renewed");
    return message_of_json(msg);
}

bool wire_is_auth_granted(message *msg)
{
    if (native_form(msg))
        return false;
    const cJSON *j = message_json(msg);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(j, "token");
    return cJSON_IsNumber(status) && status->valuedouble == 200 && cJSON_IsString(token);
}

msg_type wire_type(const wire_dialect *d, message *msg)
{
    assert(d);
    const wire_native *nat = read_native(d, msg);
    if (nat)
        return nat->type(msg);
    const cJSON *j = message_json(msg);
    if (!cJSON_IsObject(j))
        return MSG_UNKNOWN;
    return d->type(j);
}

message *wire_push(const wire_dialect *d, const wire_sender *from, int64_t req, int n, const outbox_entry *entries)
{
    assert(d && from && n >= 0);
    if (d->native)
        return d->native->push(from, req, n, entries);
    assert(d->push);
    return message_of_json(d->push(from, req, n, entries));
}

bool wire_push_parse(const wire_dialect *d, message *msg, arena *a, int *n, wire_change **changes)
{
    assert(d);
    const wire_native *nat = read_native(d, msg);
    if (nat)
        return nat->push_read(msg, a, n, changes);
    const cJSON *j = message_json(msg);
    return cJSON_IsObject(j) && d->push_parse(j, a, n, changes);
}

message *wire_push_result(const wire_dialect *d, int64_t req, hlc clock, int64_t now_us, int n,
                          const wire_change *changes, const wire_result *results)
{
    assert(d && n >= 0);
    if (d->native)
        return d->native->push_result(req, clock, now_us, n, results);
    assert(d->push_result);
    return message_of_json(d->push_result(req, clock, now_us, n, changes, results));
}

bool wire_push_result_parse(const wire_dialect *d, message *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                            wire_result **results)
{
    assert(d);
    const wire_native *nat = read_native(d, msg);
    if (nat)
        return nat->push_result_read(msg, a, clock, now_us, n, results);
    const cJSON *j = message_json(msg);
    return cJSON_IsObject(j) && d->push_result_parse(j, a, clock, now_us, n, results);
}

message *wire_pull(const wire_dialect *d, const wire_sender *from, int64_t req, int64_t since, const char *type,
                   int limit)
{
    assert(d && from);
    if (d->native)
        return d->native->pull(req, since, type, limit);
    assert(d->pull);
    return message_of_json(d->pull(from, req, since, type, limit));
}

bool wire_pull_parse(const wire_dialect *d, message *msg, arena *a, int64_t *since, const char **type,
                     int *limit)
{
    assert(d);
    const wire_native *nat = read_native(d, msg);
    if (nat)
        return nat->pull_read(msg, a, since, type, limit);
    const cJSON *j = message_json(msg);
    return cJSON_IsObject(j) && d->pull_parse(j, a, since, type, limit);
}

message *wire_pull_result(const wire_dialect *d, int64_t req, hlc clock, int64_t now_us, int n,
                          const record *records, int64_t next, bool has_more)
{
    assert(d && n >= 0);
    if (d->native)
        return d->native->pull_result(req, clock, now_us, n, records, next, has_more);
    assert(d->pull_result);
    return message_of_json(d->pull_result(req, clock, now_us, n, records, next, has_more));
}

message *wire_pull_result_take(const wire_dialect *d, int64_t req, hlc clock, int64_t now_us, int n, record *records,
                               arena *owner, int64_t next, bool has_more)
{
    if (d->native && d->native->pull_result_take)
        return d->native->pull_result_take(req, clock, now_us, n, records, owner, next, has_more);
    return wire_pull_result(d, req, clock, now_us, n, records, next, has_more);
}

bool wire_pull_result_parse(const wire_dialect *d, message *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                            const record **records, int64_t *next, bool *has_more)
{
    assert(d);
    const wire_native *nat = read_native(d, msg);
    if (nat)
        return nat->pull_result_read(msg, a, clock, now_us, n, records, next, has_more);
    const cJSON *j = message_json(msg);
    record *parsed = NULL;
    bool ok = cJSON_IsObject(j) && d->pull_result_parse(j, a, clock, now_us, n, &parsed, next, has_more);
    *records = parsed;
    return ok;
}
