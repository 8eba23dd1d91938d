/*
 * fuzz-node: the node protocol's decoders (external/proto.c) on any bytes --
 * what an external implementation writes (effects and terminators, decoded
 * as the server and as a device would be) and what `syncsim node` reads
 * (requests).
 *
 * Oracles besides the sanitizers: a line the decoder accepts, encoded again
 * by the node end's encoders, decodes to the same thing -- a send's body, a
 * timer, an observation's members, a snapshot (engine/node.h's form), a
 * terminator's members -- so the two ends of the protocol agree on every
 * message either can spell; and a request the node end accepts re-encodes
 * and decodes to the same request.
 */
#include "base/arena.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "external/proto.h"
#include "tests/fuzz/fuzz.h"

#include <assert.h>
#include <string.h>

static const char *const NAMES[] = { "server", "phone", "tablet" };
static const char *const USERS[] = { NULL, "alice", "bob" };
static proto_roster roster;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xalloc_install_cjson();
    proto_roster_init(&roster, 3, NAMES, USERS);
    return 0;
}

static bool same_text(const char *a, const char *b)
{
    return (a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0);
}

/* The same tree, member by member in order (cJSON_Compare looks members up by name, which a body with a key
 * twice defeats: JSON allows it, and a body is the sender's business). */
static bool same_json(const cJSON *a, const cJSON *b)
{
    buf x, y;
    buf_init(&x);
    buf_init(&y);
    json_write(&x, a);
    json_write(&y, b);
    bool same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    buf_free(&x);
    buf_free(&y);
    return same;
}

static void same_observation(const observation *a, const observation *b)
{
    assert(a->kind == b->kind && a->w == b->w && a->loser == b->loser && a->count == b->count);
    assert(a->peer == b->peer && a->n_writes == b->n_writes);
    assert(same_text(a->type, b->type) && same_text(a->id, b->id) && same_text(a->detail, b->detail));
    for (int i = 0; i < a->n_writes; i++)
        assert(a->writes[i] == b->writes[i]);
}

/* Encode an accepted effect again as the node end would, and decode that. */
static void effect_round_trip(const proto_effect *e, int self, arena *a)
{
    buf b;
    buf_init(&b);
    switch (e->kind) {
    case EFF_SEND: proto_put_send(&b, &roster, e->dest, e->body); break;
    case EFF_SET_TIMER: proto_put_set_timer(&b, e->delay_us, e->token); break;
    case EFF_OBSERVE:
        if (e->obs.kind == OBS_RECORD) {   /* the node end encodes records from the engine's structs */
            buf_free(&b);
            return;
        }
        proto_put_observation(&b, &roster, &e->obs);
        break;
    case EFF_DONE:
        proto_put_done(&b, e->in_reply_to, e->idle, e->refused ? e->text : NULL, e->snapshot, &roster);
        break;
    case EFF_INIT_OK: proto_put_init_ok(&b, e->in_reply_to, e->idle, e->ops, e->features); break;
    case EFF_ERROR:
        if (!e->in_reply_to) {   /* an error about an unreadable request: the encoder always names one */
            buf_free(&b);
            return;
        }
        proto_put_error(&b, e->in_reply_to, e->code, e->text);
        break;
    case EFF_LOG: buf_free(&b); return;
    }
    assert(b.len > 0 && b.data[b.len - 1] == '\n');
    proto_effect again;
    char *why = NULL;
    bool ok = proto_decode_effect(b.data, b.len - 1, &roster, self, a, &again, &why);
    assert(ok);
    assert(again.kind == e->kind);
    switch (e->kind) {
    case EFF_SEND: assert(again.dest == e->dest && same_json(again.body, e->body)); break;
    case EFF_SET_TIMER: assert(again.delay_us == e->delay_us && again.token == e->token); break;
    case EFF_OBSERVE: same_observation(&again.obs, &e->obs); break;
    case EFF_DONE:
        assert(again.in_reply_to == e->in_reply_to && again.idle == e->idle && again.refused == e->refused);
        assert((again.snapshot == NULL) == (e->snapshot == NULL));
        assert(!e->snapshot || same_json(again.snapshot, e->snapshot));
        break;
    case EFF_INIT_OK: assert(again.ops == e->ops && again.features == e->features && again.idle == e->idle); break;
    case EFF_ERROR: assert(again.code == e->code && same_text(again.text, e->text)); break;
    case EFF_LOG: break;
    }
    proto_effect_free(&again);
    buf_free(&b);
}

static void request_round_trip(const proto_request *r, arena *a)
{
    buf b;
    buf_init(&b);
    proto_request_begin(&b, r->kind, r->seq, r->wall_us, r->mono_us);
    switch (r->kind) {
    case REQ_INIT:
    case REQ_RESET: {
        /* The encoder takes a roster of syncsim's own; only requests naming these replicas re-encode. */
        int index = proto_roster_find(&roster, r->node);
        if (index < 0 || r->n_nodes != roster.n || strcmp(r->protocol, PROTO_VERSION) != 0) {
            buf_free(&b);
            return;
        }
        for (int i = 0; i < r->n_nodes; i++)
            if (strcmp(r->names[i], NAMES[i]) != 0 || !same_text(r->users[i], USERS[i])) {
                buf_free(&b);
                return;
            }
        proto_init init = { .node = r->node, .index = index, .seed = r->seed, .data_dir = r->data_dir,
                            .boot = r->boot };
        proto_put_init(&b, &roster, &init);
        break;
    }
    case REQ_OP: proto_put_op(&b, &roster, &r->op); break;
    case REQ_DELIVER: proto_put_deliver(&b, &roster, proto_roster_find(&roster, r->src), r->body); break;
    case REQ_TIMER: proto_put_timer(&b, r->token); break;
    case REQ_CONTROL: proto_put_control(&b, r->control); break;
    case REQ_STORAGE_FAULT: proto_put_storage_fault(&b, &r->storage); break;
    case REQ_REINSTALL:
    case REQ_SIGN_OUT: proto_put_lifecycle(&b, r->wipe); break;
    case REQ_SWITCH_ACCOUNT: proto_put_switch_account(&b, r->wipe, r->keep_data, r->user); break;
    case REQ_ACCOUNT: proto_put_account(&b, &roster, proto_roster_find(&roster, r->node), r->user); break;
    case REQ_SNAPSHOT:
    case REQ_SHUTDOWN:
    case REQ_POWER_LOSS: break;
    }
    proto_request_end(&b);
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    assert(j);
    proto_request again;
    char *why = NULL;
    bool ok = proto_decode_request(j, &roster, a, &again, &why);
    assert(ok);
    assert(again.kind == r->kind && again.seq == r->seq && again.wall_us == r->wall_us && again.mono_us == r->mono_us);
    if (r->kind == REQ_OP) {
        assert(again.op.kind == r->op.kind && again.op.w == r->op.w && again.op.n_fields == r->op.n_fields);
        assert(strcmp(again.op.type, r->op.type) == 0 && strcmp(again.op.id, r->op.id) == 0);
        for (int i = 0; i < r->op.n_fields; i++)
            assert(strcmp(again.op.fields[i].name, r->op.fields[i].name) == 0 &&
                   value_equal(&again.op.fields[i].v, &r->op.fields[i].v));
    }
    if (r->kind == REQ_DELIVER)
        assert(same_json(again.body, r->body));
    if (r->kind == REQ_TIMER)
        assert(again.token == r->token);
    if (r->kind == REQ_CONTROL)
        assert(again.control == r->control);
    if (r->kind == REQ_STORAGE_FAULT)
        assert(again.storage.kind == r->storage.kind && again.storage.writes == r->storage.writes);
    if (r->kind == REQ_SWITCH_ACCOUNT)
        assert(again.wipe == r->wipe && again.keep_data == r->keep_data && strcmp(again.user, r->user) == 0);
    if (r->kind == REQ_ACCOUNT)
        assert(strcmp(again.node, r->node) == 0 && strcmp(again.user, r->user) == 0);
    if (r->kind == REQ_REINSTALL || r->kind == REQ_SIGN_OUT)
        assert(again.wipe == r->wipe);
    cJSON_Delete(j);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena a;
    arena_init(&a, 1 << 12);
    const char *line = (const char *)data;
    /* What a node writes, read as the server's line and as a device's. */
    for (int self = 0; self <= 1; self++) {
        proto_effect e;
        char *why = NULL;
        if (proto_decode_effect(line, size, &roster, self, &a, &e, &why)) {
            assert(why == NULL);
            effect_round_trip(&e, self, &a);
            proto_effect_free(&e);
        } else {
            assert(why && *why);   /* every refusal says why */
            xfree(why);
        }
    }
    /* What a node reads. */
    cJSON *j = cJSON_ParseWithLength(line, size);
    if (j) {
        proto_request r;
        char *why = NULL;
        if (proto_decode_request(j, &roster, &a, &r, &why))
            request_round_trip(&r, &a);
        else
            xfree(why);
        cJSON_Delete(j);
    }
    arena_release(&a);
    return 0;
}
