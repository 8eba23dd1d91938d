/*
 * proto: the vocabulary of syncsim-node/1 (docs/protocol.md), both ends.
 *
 * The world's end (external.c) encodes requests and decodes a node's
 * effects and terminators; a node's end (serve.c, `syncsim node`) decodes
 * requests and encodes effects. Both ends live here so that one file says
 * how each message is spelled, and a test can round-trip every one.
 *
 * Text never leaves this file unchecked: every decoder validates types,
 * ranges, names and write ids, rejects duplicate and unknown members, and
 * on malformed input returns false with a sentence saying what was expected
 * (owned by the caller, xfree). Decoders never assert on input.
 *
 * Write ids travel as "<replica>:<n>" (phone:3); inside syncsim they are
 * WRITE_ID(node index, n). A roster maps names to node indexes.
 */
#ifndef EXTERNAL_PROTO_H
#define EXTERNAL_PROTO_H

#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "engine/node.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION "syncsim-node/1"
/* A line longer than this is a protocol failure, not a reason to grow without bound. */
#define PROTO_LINE_BYTES_MAX ((size_t)64 << 20)
/* Integers travel as JSON numbers: exact up to 2^53. */
#define PROTO_INT_MAX ((int64_t)1 << 53)

/* Error codes of refusals and error terminators (docs/protocol.md, "Error codes"). */
enum {
    PROTO_E_NOT_SUPPORTED = 10,
    PROTO_E_MALFORMED = 12,
    PROTO_E_CRASH = 13,
    PROTO_E_NOT_FOUND = 20,
    PROTO_E_DELETED = 21,
    PROTO_E_INVALID = 22,
    PROTO_E_NO_CONFLICT = 23,
    PROTO_E_REFUSED = 29,
};

/* Operations a node declares in init_ok: bit (1u << op_kind). */
typedef uint32_t proto_ops;
#define PROTO_OP_BIT(op) ((proto_ops)1u << (op))
#define PROTO_OPS_DEFAULT (PROTO_OP_BIT(OP_CREATE) | PROTO_OP_BIT(OP_UPDATE) | PROTO_OP_BIT(OP_DELETE))
#define PROTO_OPS_ALL (PROTO_OPS_DEFAULT | PROTO_OP_BIT(OP_INCREMENT) | PROTO_OP_BIT(OP_APPEND) | PROTO_OP_BIT(OP_RESOLVE) | \
                       PROTO_OP_BIT(OP_OPEN))

/* Features a node declares in init_ok. */
enum {
    PROTO_FEATURE_RESET = 1,      /* a reset request makes the process a new one */
    PROTO_FEATURE_RECEIVED = 2,   /* the server reports received effects itself */
    PROTO_FEATURE_POWER_LOSS = 4, /* a device answers power_loss: its store goes back to its last flush */
    PROTO_FEATURE_STORAGE_FAULTS = 8,  /* the node obeys storage_fault requests (docs/faults.md) */
    PROTO_FEATURE_LIFECYCLE = 16, /* a device answers reinstall and sign_out: it deletes its local database
                                     (docs/lifecycle.md) */
    PROTO_FEATURE_ACCOUNTS = 32,  /* a device answers switch_account, the server account: a device changes
                                     users (docs/lifecycle.md, "Switching accounts") */
};

/* The replicas of a run, server first. Names and users are borrowed. */
typedef struct proto_roster {
    int n;
    const char *const *names;
    const char *const *users;   /* by node index; NULL for the server */
    strmap index;               /* name -> node index */
} proto_roster;

void proto_roster_init(proto_roster *r, int n, const char *const *names, const char *const *users);
void proto_roster_free(proto_roster *r);
/* -1 when unknown. */
int proto_roster_find(const proto_roster *r, const char *name);

void proto_put_write_id(buf *b, const proto_roster *r, write_id w);   /* null for WRITE_NONE */
bool proto_parse_write_id(const proto_roster *r, const char *text, write_id *out);

/* --- requests: the world's end encodes, a node's end decodes --------------- */

typedef enum proto_request_kind {
    REQ_INIT,
    REQ_RESET,
    REQ_OP,
    REQ_DELIVER,
    REQ_TIMER,
    REQ_CONTROL,
    REQ_SNAPSHOT,
    REQ_SHUTDOWN,
    REQ_POWER_LOSS,   /* put the data directory back to its last flush; a SIGKILL follows */
    REQ_STORAGE_FAULT,  /* only to a node whose init_ok lists the storage_faults feature */
    REQ_REINSTALL,    /* delete the local database but the counters; a SIGKILL and a boot follow */
    REQ_SIGN_OUT,     /* the same, reporting queued changes dropped; a SIGKILL follows, a boot at sign-in */
    REQ_SWITCH_ACCOUNT, /* a sign_out (keeping the records under data: keep-data) after which `user` signs in:
                           a SIGKILL and a boot as that user follow (accounts feature) */
    REQ_ACCOUNT,      /* to the server: device `node` belongs to `user` from now on (accounts feature) */
} proto_request_kind;

const char *proto_request_name(proto_request_kind kind);

/* What init and reset carry. */
typedef struct proto_init {
    const char *node;
    int index;                  /* the node's index in the roster */
    uint64_t seed;
    const char *data_dir;
    int boot;                   /* 1, then one more per restart */
} proto_init;

/* The start of any request: {"type":..,"seq":..,"wall_us":..,"mono_us":.. (no closing brace). */
void proto_request_begin(buf *b, proto_request_kind kind, uint64_t seq, int64_t wall_us, int64_t mono_us);
/* The closing brace and the newline. */
void proto_request_end(buf *b);
void proto_put_init(buf *b, const proto_roster *r, const proto_init *init);
void proto_put_op(buf *b, const proto_roster *r, const user_op *op);
void proto_put_deliver(buf *b, const proto_roster *r, int from, const cJSON *body);
void proto_put_timer(buf *b, uint64_t token);
void proto_put_control(buf *b, node_control ctl);
void proto_put_storage_fault(buf *b, const storage_fault *fault);
void proto_put_lifecycle(buf *b, lifecycle_wipe wipe);
/* switch_account's members: "wipe", "data" (wipe or keep-data) and "user". */
void proto_put_switch_account(buf *b, lifecycle_wipe wipe, bool keep_data, const char *user);
/* account's members: "node" (the device) and "user". */
void proto_put_account(buf *b, const proto_roster *r, int device, const char *user);

/* A decoded request. Strings, arrays and the op's fields live in the arena given to the decoder;
 * body points into the parsed tree (valid while the tree lives). */
typedef struct proto_request {
    proto_request_kind kind;
    uint64_t seq;
    int64_t wall_us;
    int64_t mono_us;
    /* init, reset */
    const char *protocol;
    const char *node;
    bool server;
    const char *user;
    int n_nodes;
    const char **names;
    const char **users;
    uint64_t seed;
    const char *data_dir;
    int boot;
    /* op: fields sorted by name; resolve carries {"pick": value} as its one field */
    const char *op_w;           /* the write id as text, to be parsed once the roster exists */
    user_op op;
    /* deliver */
    const char *src;
    const cJSON *body;
    /* timer */
    uint64_t token;
    /* control */
    node_control control;
    /* storage_fault */
    storage_fault storage;
    /* reinstall, sign_out, switch_account */
    lifecycle_wipe wipe;
    /* switch_account: keep the records (data: keep-data); the new user is `user`, as in init.
     * account: the device is `node` (a name in the roster), its new user `user`. */
    bool keep_data;
} proto_request;

/* r may be NULL before init; an op's write id is parsed against it. */
bool proto_decode_request(const cJSON *j, const proto_roster *r, arena *a, proto_request *out, char **why);

/* --- effects and terminators: a node's end encodes, the world's end decodes -- */

typedef enum proto_effect_kind {
    EFF_SEND,
    EFF_SET_TIMER,
    EFF_OBSERVE,       /* record, received, served, conflict, ...: an observation (engine/node.h) */
    EFF_LOG,
    EFF_DONE,          /* terminators from here on */
    EFF_INIT_OK,
    EFF_ERROR,
} proto_effect_kind;

typedef struct proto_effect {
    proto_effect_kind kind;
    /* send: the body, detached from the line's tree and owned by the effect (hand it on or free it) */
    int dest;
    cJSON *body;
    /* set_timer */
    int64_t delay_us;
    uint64_t token;
    /* observe: strings and arrays in the decoder's arena */
    observation obs;
    /* log, error: the text */
    const char *text;
    /* terminators */
    uint64_t in_reply_to;
    bool idle;
    bool refused;              /* done: the op was refused */
    int code;                  /* done's refusal, error */
    cJSON *snapshot;           /* done after a snapshot: engine/node.h's form (numeric write ids), owned */
    const char *protocol;      /* init_ok */
    proto_ops ops;             /* init_ok */
    unsigned features;         /* init_ok: PROTO_FEATURE_* */
} proto_effect;

/*
 * One line a node wrote (without its newline), as the replica self of the
 * roster. False with *why on anything malformed: not JSON, unknown type,
 * a member missing, duplicated, unknown or of the wrong type, a replica name
 * or write id that does not exist, a message to itself or between devices.
 */
bool proto_decode_effect(const char *line, size_t len, const proto_roster *r, int self, arena *a, proto_effect *out,
                         char **why);
/* Free what a decoded effect owns (body, snapshot). */
void proto_effect_free(proto_effect *e);

void proto_put_send(buf *b, const proto_roster *r, int to, const cJSON *body);
void proto_put_set_timer(buf *b, int64_t delay_us, uint64_t token);
/* An observation of the built-in engine; OBS_RECORD needs obs->rec. */
void proto_put_observation(buf *b, const proto_roster *r, const observation *obs);
void proto_put_done(buf *b, uint64_t in_reply_to, bool idle, const char *refused, const cJSON *snapshot,
                    const proto_roster *r);
void proto_put_init_ok(buf *b, uint64_t in_reply_to, bool idle, proto_ops ops, unsigned features);
void proto_put_error(buf *b, uint64_t in_reply_to, int code, const char *text);

/* --- records and snapshots -------------------------------------------------- */

/* The protocol's record form of an engine record (provenance pairs, write ids as text). */
void proto_put_record(buf *b, const proto_roster *r, const struct record *rec);
/* engine/node.h's snapshot (numeric write ids) in the protocol's form. */
void proto_put_snapshot(buf *b, const proto_roster *r, const cJSON *snapshot);

#endif
