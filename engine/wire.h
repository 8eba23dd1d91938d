/*
 * wire: the engine's sync protocol, as JSON messages, in one of several
 * dialects.
 *
 * The engine thinks in one message model: a push of changes (wire_change,
 * each carrying the whole record of record.h), the server's result for each
 * (wire_result), a pull from a cursor and a page of records. A dialect is how
 * that model is spelled on the wire. The profile names it (sync: { wire: x });
 * the client and the server both encode and parse through it, so whatever a
 * dialect spells, the engine decides the same things.
 *
 *   syncsim          the built-in protocol below (wire_syncsim.c)
 *   activity-events  seed 000: POST /api/sync/activity       (wire_activity_events.c)
 *   ironflow         seed 001: gRPC SyncRequest/SyncResponse  (wire_ironflow.c)
 *   stronglog        seed 002: REST /api/v1/<entities>/batch  (wire_stronglog.c)
 *   smartdmv         seed 003: /api/sync/push, /api/sync/pull (wire_smartdmv.c)
 *   delta-sync       seed 004: POST /sync/delta               (wire_delta_sync.c)
 *
 * The built-in protocol:
 *
 *   client -> server  {"type":"push","req":7,"device":"phone","changes":[
 *                        {"op_id":12,"op":"update","base_version":3,["force":true,]
 *                         "changed":["sets"],"record":{...record.h JSON...}}]}
 *   server -> client  {"type":"push_result","req":7,"hlc":[l,c],"now":t,"results":[
 *                        {"op_id":12,"status":"applied"|"merged"|"rejected"|"refused"|
 *                                             "conflict"|"forbidden"|"invalid"|"rolled-back",
 *                         "conflict":false,"record":{...server's record...}[,"error":"why"]
 *                         [,"temp_id":"c1"]}]}     temp_id: the id the change named, when the
 *                                                  server gave the record its own (ids: server)
 *   client -> server  {"type":"pull","req":8,"since":41,["entity_type":"task",]"limit":100}
 *   server -> client  {"type":"pull_result","req":8,"hlc":[l,c],"now":t,
 *                      "changes":[record...],"next":57,"has_more":false}
 *
 * "since" and "next" are a change-log sequence number or a server time in
 * microseconds, as the profile's cursor says; "now" is the server's wall
 * clock when it answered (a timestamp cursor may take it as the next one).
 *
 * A dialect may also keep its messages as structs in process (wire_dialect.h's
 * wire_native, message.h): the built-in protocol does. The calls below take
 * and return messages in either form, and read each the same.
 *
 * The seed dialects wrap each message in an HTTP-like envelope, the request
 * {"method":"POST","path":"/api/sync/push","req":7,"body":{...}} and the
 * response {"status":200,"req":7,"body":{...}}, with the body in the design
 * document's own field names. What a document lacks but a faithful simulator
 * needs (write ids, per-field stamps, hybrid clocks, counter contributions)
 * travels in one member named "_syncsim" (WIRE_EXTENSION): simulator
 * provenance, not part of the design.
 *
 * Invariants every dialect keeps:
 *   - the correlation id is the top-level "req" of every message (wire_req);
 *   - a reply is matched to its request by req, as an HTTP client matches
 *     responses: the client knows whether it awaits a push's or a pull's;
 *   - encoding then parsing gives back the same structs (tests/test-wire.c);
 *   - parsers validate shape and types and return false on anything else,
 *     so a replica never acts on a malformed message (an external node may
 *     send one), and they never crash on it.
 */
#ifndef ENGINE_WIRE_H
#define ENGINE_WIRE_H

#include "base/arena.h"
#include "engine/hlc.h"
#include "engine/message.h"
#include "engine/record.h"
#include "engine/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* The member that carries what a design document lacks: simulator provenance, not part of the design. */
#define WIRE_EXTENSION "_syncsim"

typedef enum msg_type {
    MSG_PUSH,
    MSG_PUSH_RESULT,
    MSG_PULL,
    MSG_PULL_RESULT,
    MSG_UNKNOWN,
} msg_type;

typedef struct wire_dialect wire_dialect;

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
    /* "applied", "merged", "rejected", "refused" (the type's rules refuse it), "conflict" (left to
     * the user), "forbidden" (another tenant's record), "invalid" (fails its schema; see error) or
     * "rolled-back" (another change of an atomic batch was invalid). */
    const char *status;
    bool conflict;
    record rec;              /* the server's record after the change */
    const char *error;       /* "invalid": why; NULL otherwise */
    const char *temp_id;     /* the id the change named, when the server gave the record another (its
                                server id, in rec.id: profile ids: server); NULL otherwise */
} wire_result;

/* Who sends a request and what it knows: the documents put some of it in their requests. */
typedef struct wire_sender {
    const char *device;      /* the device's name (device_id) */
    const char *user;        /* its user, the tenant of its records; "" when none (user_id, userId) */
    int64_t now_us;          /* its wall clock when it sends (SmartDMV's clientTimestamp) */
    int64_t last_sync_us;    /* its pull cursor as last stored (lastSyncTimestamp, last_sync_at) */
} wire_sender;

/* The dialects, in a fixed order. find returns NULL for an unknown name. */
const wire_dialect *wire_dialect_find(const char *name);
int wire_dialect_count(void);
const wire_dialect *wire_dialect_at(int index);
const char *wire_dialect_name(const wire_dialect *d);
/* One line: the design document the dialect follows. */
const char *wire_dialect_summary(const wire_dialect *d);

/* The correlation id, in every dialect. */
bool wire_req(message *msg, int64_t *req);

/*
 * The gateway's error answer, the same in every dialect, as a load balancer in front of a
 * server knows nothing of the application's format: {"req":7,"status":503,"error":"..."}.
 * The request never reached the server. No dialect's own answer has a top-level status of
 * 400 or more, so wire_gateway_status tells the two apart.
 */
#define WIRE_GATEWAY_STATUS_UNAVAILABLE 503
#define WIRE_GATEWAY_STATUS_UNAUTHORIZED 401   /* the device's token has expired: nothing was applied */
message *wire_gateway_error(int64_t req, int status);
/* True with *status when msg is a gateway error answer. */
bool wire_gateway_status(message *msg, int *status);

/*
 * A token refresh, also the same in every dialect (an auth service is not the sync API):
 * the device asks {"type":"auth_refresh","req":R}; the gateway answers {"req":R,"status":200,
 * "token":"renewed"} and the device's requests are accepted again.
 */
message *wire_auth_request(int64_t req);
bool wire_is_auth_request(message *msg);
message *wire_auth_granted(int64_t req);
bool wire_is_auth_granted(message *msg);
/* What a request asks: MSG_PUSH, MSG_PULL or MSG_UNKNOWN (the syncsim dialect names its replies too). */
msg_type wire_type(const wire_dialect *d, message *msg);

message *wire_push(const wire_dialect *d, const wire_sender *from, int64_t req, int n, const outbox_entry *entries);
bool wire_push_parse(const wire_dialect *d, message *msg, arena *a, int *n, wire_change **changes);

/* results[i] answers changes[i]; the documents' conflict reports quote the change. */
message *wire_push_result(const wire_dialect *d, int64_t req, hlc clock, int64_t now_us, int n,
                        const wire_change *changes, const wire_result *results);
bool wire_push_result_parse(const wire_dialect *d, message *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                            wire_result **results);

/* type NULL: every entity type. */
message *wire_pull(const wire_dialect *d, const wire_sender *from, int64_t req, int64_t since, const char *type,
                 int limit);
bool wire_pull_parse(const wire_dialect *d, message *msg, arena *a, int64_t *since, const char **type,
                     int *limit);

message *wire_pull_result(const wire_dialect *d, int64_t req, hlc clock, int64_t now_us, int n, const record *records,
                        int64_t next, bool has_more);
/* The same message, for records that live in owner, an arena that holds nothing else its caller
 * still reads: a native message takes owner's memory (leaving owner empty) and the records with it,
 * where wire_pull_result would copy every record and its log. Either way the caller is done with
 * the records. */
message *wire_pull_result_take(const wire_dialect *d, int64_t req, hlc clock, int64_t now_us, int n, record *records,
                               arena *owner, int64_t next, bool has_more);
/* The records are read only: they may be the message's own (a native message), valid while it is. */
bool wire_pull_result_parse(const wire_dialect *d, message *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                            const record **records, int64_t *next, bool *has_more);

#endif
