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

bool wire_req(const cJSON *msg, int64_t *req)
{
    /* Any number, as the built-in protocol always took it; a request id is only compared. */
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(msg, "req");
    if (!cJSON_IsNumber(j) || !(j->valuedouble > -9.2e18 && j->valuedouble < 9.2e18))
        return false;
    *req = (int64_t)j->valuedouble;
    return true;
}

cJSON *wire_gateway_error(int64_t req, int status)
{
    assert(status >= 400 && status < 600);
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "req", (double)req);
    cJSON_AddNumberToObject(msg, "status", status);
    cJSON_AddStringToObject(msg, "error", status == WIRE_GATEWAY_STATUS_UNAVAILABLE    ? "service unavailable"
                                          : status == WIRE_GATEWAY_STATUS_UNAUTHORIZED ? "token expired"
                                                                                       : "gateway error");
    return msg;
}

bool wire_gateway_status(const cJSON *msg, int *status)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(msg, "status");
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= 400 && j->valuedouble < 600))
        return false;
    *status = (int)j->valuedouble;
    return true;
}

cJSON *wire_auth_request(int64_t req)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "type", "auth_refresh");
    cJSON_AddNumberToObject(msg, "req", (double)req);
    return msg;
}

bool wire_is_auth_request(const cJSON *msg)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
    int64_t req;
    return cJSON_IsString(type) && strcmp(type->valuestring, "auth_refresh") == 0 && wire_req(msg, &req);
}

cJSON *wire_auth_granted(int64_t req)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "req", (double)req);
    cJSON_AddNumberToObject(msg, "status", 200);
    cJSON_AddStringToObject(msg, "token", "renewed");
    return msg;
}

bool wire_is_auth_granted(const cJSON *msg)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(msg, "status");
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(msg, "token");
    return cJSON_IsNumber(status) && status->valuedouble == 200 && cJSON_IsString(token);
}

msg_type wire_type(const wire_dialect *d, const cJSON *msg)
{
    assert(d);
    if (!cJSON_IsObject(msg))
        return MSG_UNKNOWN;
    return d->type(msg);
}

cJSON *wire_push(const wire_dialect *d, const wire_sender *from, int64_t req, int n, const outbox_entry *entries)
{
    assert(d && from && n >= 0);
    return d->push(from, req, n, entries);
}

bool wire_push_parse(const wire_dialect *d, const cJSON *msg, arena *a, int *n, wire_change **changes)
{
    assert(d);
    return cJSON_IsObject(msg) && d->push_parse(msg, a, n, changes);
}

cJSON *wire_push_result(const wire_dialect *d, int64_t req, hlc clock, int64_t now_us, int n,
                        const wire_change *changes, const wire_result *results)
{
    assert(d && n >= 0);
    return d->push_result(req, clock, now_us, n, changes, results);
}

bool wire_push_result_parse(const wire_dialect *d, const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                            wire_result **results)
{
    assert(d);
    return cJSON_IsObject(msg) && d->push_result_parse(msg, a, clock, now_us, n, results);
}

cJSON *wire_pull(const wire_dialect *d, const wire_sender *from, int64_t req, int64_t since, const char *type,
                 int limit)
{
    assert(d && from);
    return d->pull(from, req, since, type, limit);
}

bool wire_pull_parse(const wire_dialect *d, const cJSON *msg, arena *a, int64_t *since, const char **type,
                     int *limit)
{
    assert(d);
    return cJSON_IsObject(msg) && d->pull_parse(msg, a, since, type, limit);
}

cJSON *wire_pull_result(const wire_dialect *d, int64_t req, hlc clock, int64_t now_us, int n, const record *records,
                        int64_t next, bool has_more)
{
    assert(d && n >= 0);
    return d->pull_result(req, clock, now_us, n, records, next, has_more);
}

bool wire_pull_result_parse(const wire_dialect *d, const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                            record **records, int64_t *next, bool *has_more)
{
    assert(d);
    return cJSON_IsObject(msg) && d->pull_result_parse(msg, a, clock, now_us, n, records, next, has_more);
}
