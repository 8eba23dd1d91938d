/*
 * wire: the built-in engine's sync protocol, as JSON messages.
 *
 *   client -> server  {"type":"push","req":7,"device":"phone","changes":[
 *                        {"op_id":12,"op":"update","base_version":3,["force":true,]
 *                         "changed":["sets"],"record":{...record.h JSON...}}]}
 *   server -> client  {"type":"push_result","req":7,"hlc":[l,c],"now":t,"results":[
 *                        {"op_id":12,"status":"applied"|"merged"|"rejected"|"refused"|
 *                                             "conflict"|"forbidden"|"invalid",
 *                         "conflict":false,"record":{...server's record...}}]}
 *   client -> server  {"type":"pull","req":8,"since":41,["entity_type":"task",]"limit":100}
 *   server -> client  {"type":"pull_result","req":8,"hlc":[l,c],"now":t,
 *                      "changes":[record...],"next":57,"has_more":false}
 *
 * "since" and "next" are a change-log sequence number or a server time in
 * microseconds, as the profile's cursor says; "now" is the server's wall
 * clock when it answered (a timestamp cursor may take it as the next one).
 *
 * Parsers validate shape and types and refuse anything else, so a replica
 * never acts on a malformed message (an external node may send one).
 */
#ifndef ENGINE_WIRE_H
#define ENGINE_WIRE_H

#include "base/arena.h"
#include "engine/hlc.h"
#include "engine/record.h"
#include "engine/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum msg_type {
    MSG_PUSH,
    MSG_PUSH_RESULT,
    MSG_PULL,
    MSG_PULL_RESULT,
    MSG_UNKNOWN,
} msg_type;

/* One change in a push. */
typedef struct wire_change {
    int64_t op_id;
    op_kind op;
    int64_t base_version;
    bool force;              /* a user's resolution: the server takes it whole */
    int n_changed;
    const char **changed;
    record rec;
} wire_change;

/* The server's answer to one change. */
typedef struct wire_result {
    int64_t op_id;
    const char *status;      /* "applied", "merged", "rejected" or "forbidden" (another tenant's record) */
    bool conflict;
    record rec;              /* the server's record after the change */
} wire_result;

msg_type wire_type(const cJSON *msg);
bool wire_req(const cJSON *msg, int64_t *req);

cJSON *wire_push(int64_t req, const char *device, int n, const outbox_entry *entries);
bool wire_push_parse(const cJSON *msg, arena *a, int *n, wire_change **changes);

cJSON *wire_push_result_new(int64_t req, hlc clock, int64_t now_us);
/* Append one result; returns the item (owned by msg) so it can be stored for idempotency. */
cJSON *wire_result_json(int64_t op_id, const char *status, bool conflict, const record *r);
void wire_push_result_add(cJSON *msg, cJSON *result);
bool wire_push_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n, wire_result **results);

/* type NULL: every entity type. */
cJSON *wire_pull(int64_t req, int64_t since, const char *type, int limit);
bool wire_pull_parse(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit);

cJSON *wire_pull_result(int64_t req, hlc clock, int64_t now_us, int n, const record *records, int64_t next,
                        bool has_more);
bool wire_pull_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n, record **records,
                            int64_t *next, bool *has_more);

#endif
