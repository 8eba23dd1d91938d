/*
 * serve: see serve.h.
 *
 * Invariants: one request is read, the engine handles it, and every effect
 * it produced is written, in order, before the terminator; output is
 * flushed once per request. The engine never sees a clock other than the
 * request's wall_us.
 */
#include "external/serve.h"
#include "base/xalloc.h"
#include "engine/engine.h"
#include "external/proto.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct server_state {
    const profile *profile;
    node *n;
    int index;
    arena init_a;             /* the roster's names and users: live until the next init */
    proto_roster roster;
    bool has_roster;
    const char **tenants;     /* by node index, for the server */
    buf out;                  /* the answer being written */
    int64_t mono_us;          /* the current request's */
} server_state;

static void host_send(void *ctx, int from, int to, message *msg)
{
    server_state *s = ctx;
    (void)from;
    proto_put_send(&s->out, &s->roster, to, message_json(msg));
    message_release(msg);
}

static void host_set_timer(void *ctx, int node, int64_t delay_us, uint64_t token)
{
    server_state *s = ctx;
    (void)node;
    proto_put_set_timer(&s->out, delay_us, token);
}

static void host_observe(void *ctx, int node, const observation *obs)
{
    server_state *s = ctx;
    (void)node;
    proto_put_observation(&s->out, &s->roster, obs);
}

static int64_t host_mono_now(void *ctx, int node)
{
    server_state *s = ctx;
    (void)node;
    return s->mono_us;
}

static void host_fail(void *ctx, int node, const char *message)
{
    (void)ctx;
    (void)node;
    (void)message;   /* the built-in engine never fails this way */
}

static void drop_node(server_state *s)
{
    if (s->n)
        s->n->ops->destroy(s->n);
    s->n = NULL;
    if (s->has_roster)
        proto_roster_free(&s->roster);
    s->has_roster = false;
    xfree(s->tenants);
    s->tenants = NULL;
    arena_reset(&s->init_a);
}

/* init and reset: a new engine node on the data directory's store (kept after a crash). */
static bool start(server_state *s, const proto_request *req, char **why)
{
    drop_node(s);
    int n = req->n_nodes;
    const char **names = arena_alloc(&s->init_a, (size_t)n * sizeof *names);
    s->tenants = xcalloc((size_t)n, sizeof *s->tenants);
    for (int i = 0; i < n; i++) {
        names[i] = arena_strdup(&s->init_a, req->names[i]);
        s->tenants[i] = req->users[i] ? arena_strdup(&s->init_a, req->users[i]) : NULL;
    }
    proto_roster_init(&s->roster, n, names, s->tenants);
    s->has_roster = true;
    s->index = proto_roster_find(&s->roster, req->node);
    if (req->server != (s->index == NODE_SERVER)) {
        *why = xstrdup("init: \"role\" must be server for the first of \"nodes\" and device for the others");
        return false;
    }
    engine_config cfg = {
        .index = s->index,
        .name = names[s->index],
        .tenant = s->tenants[s->index],
        .tenants = s->tenants,
        .n_nodes = n,
        .profile = s->profile,
        .store_path = arena_printf(&s->init_a, "%s/store.sqlite", req->data_dir),
        .store_keep = req->boot > 1,
        /* Always through the fault shim: this process cannot know whether the run will send
         * storage_fault requests, and without one the shim changes nothing a replica does. */
        .store_faultable = true,
        .seed = req->seed,   /* this boot's own (external.c derives it from the run's seed) */
        .host = { .ctx = s, .send = host_send, .set_timer = host_set_timer, .observe = host_observe,
                  .mono_now = host_mono_now, .fail = host_fail },
    };
    s->n = engine_node_new(&cfg, why);
    if (!s->n)
        return false;
    s->n->ops->boot(s->n, req->wall_us);
    return true;
}

/* delivered: a deliver's body as a message (detached from the request's tree). */
static bool handle(server_state *s, const proto_request *req, message *delivered, bool *stop, char **why)
{
    s->mono_us = req->mono_us;
    if (req->kind != REQ_INIT && req->kind != REQ_RESET && !s->n) {
        *why = xstrdup("the first request must be init");
        return false;
    }
    node *n = s->n;
    const char *refused = NULL;
    cJSON *snapshot = NULL;
    switch (req->kind) {
    case REQ_INIT:
    case REQ_RESET:
        if (strcmp(req->protocol, PROTO_VERSION) != 0) {
            *why = xstrdup("init asks for a protocol version this node does not speak");
            return false;
        }
        if (!start(s, req, why))
            return false;
        /* A device of the built-in engine can lose power (under flush: commit it loses nothing), as
         * in process: the two give the same trace. */
        proto_put_init_ok(&s->out, req->seq, s->n->ops->idle(s->n), PROTO_OPS_ALL,
                          PROTO_FEATURE_RESET | PROTO_FEATURE_RECEIVED | PROTO_FEATURE_STORAGE_FAULTS |
                              (s->n->ops->power_loss ? PROTO_FEATURE_POWER_LOSS : 0) |
                              (s->n->ops->lifecycle && s->index != NODE_SERVER ? PROTO_FEATURE_LIFECYCLE : 0) |
                              (s->n->ops->lifecycle ? PROTO_FEATURE_ACCOUNTS : 0));
        return true;
    case REQ_OP: {
        const char *reason = NULL;
        if (!n->ops->user_op(n, &req->op, req->wall_us, &reason))
            refused = reason ? reason : "refused";
        break;
    }
    case REQ_DELIVER:
        n->ops->deliver(n, proto_roster_find(&s->roster, req->src), delivered, req->wall_us);
        break;
    case REQ_TIMER:
        n->ops->timer(n, req->token, req->wall_us);
        break;
    case REQ_CONTROL:
        n->ops->control(n, req->control, req->wall_us);
        break;
    case REQ_SNAPSHOT:
        snapshot = n->ops->snapshot(n);
        break;
    case REQ_SHUTDOWN:
        *stop = true;
        break;
    case REQ_POWER_LOSS:
        if (n->ops->power_loss)
            n->ops->power_loss(n, req->wall_us);
        break;
    case REQ_REINSTALL:
    case REQ_SIGN_OUT: {
        lifecycle_call call = { .kind = req->kind == REQ_REINSTALL ? LIFECYCLE_REINSTALL : LIFECYCLE_SIGN_OUT,
                                .wipe = req->wipe };
        if (!n->ops->lifecycle || !n->ops->lifecycle(n, &call, req->wall_us))
            refused = "this node could not delete its local database";
        break;
    }
    case REQ_SWITCH_ACCOUNT: {
        /* The engine copies the user; the world kills this process next and starts it as that user's. */
        lifecycle_call call = { .kind = LIFECYCLE_SWITCH, .wipe = req->wipe, .user = req->user,
                                .keep_data = req->keep_data };
        if (s->index == NODE_SERVER || !n->ops->lifecycle || !n->ops->lifecycle(n, &call, req->wall_us))
            refused = "this node could not switch accounts";
        break;
    }
    case REQ_ACCOUNT: {
        /* The roster and the engine's tenants are this process's array: the isolation rule reads the new
         * user from the next request on. */
        int device = proto_roster_find(&s->roster, req->node);
        lifecycle_call call = { .kind = LIFECYCLE_ACCOUNT, .user = req->user, .device = device };
        if (s->index != NODE_SERVER || !n->ops->lifecycle || !n->ops->lifecycle(n, &call, req->wall_us))
            refused = "this node keeps no accounts (only the server does)";
        else
            s->tenants[device] = arena_strdup(&s->init_a, req->user);
        break;
    }
    case REQ_STORAGE_FAULT:
        if (!n->ops->storage_fault || !n->ops->storage_fault(n, &req->storage, req->wall_us))
            refused = "this node cannot take storage faults";
        break;
    }
    proto_put_done(&s->out, req->seq, n->ops->idle(n), refused, snapshot, &s->roster);
    cJSON_Delete(snapshot);
    return true;
}

int serve_node(const profile *p, FILE *in, FILE *out)
{
    server_state s = { .profile = p };
    arena_init(&s.init_a, 4096);
    buf_init(&s.out);
    arena scratch;
    arena_init(&scratch, 64 * 1024);
    char *line = NULL;
    size_t cap = 0;
    int status = 1;
    bool stop = false;
    while (!stop) {
        ssize_t len = getline(&line, &cap, in);
        if (len < 0) {
            status = 0;   /* syncsim closed our input: the run is over */
            break;
        }
        buf_clear(&s.out);
        arena_reset(&scratch);
        char *why = NULL;
        uint64_t seq = 0;
        cJSON *j = (size_t)len > PROTO_LINE_BYTES_MAX ? NULL : cJSON_ParseWithLength(line, (size_t)len);
        proto_request req;
        bool ok = j && proto_decode_request(j, s.has_roster ? &s.roster : NULL, &scratch, &req, &why);
        if (!j)
            why = xstrdup("the request is not JSON");
        if (ok) {
            seq = req.seq;
            message *delivered = NULL;
            if (req.kind == REQ_DELIVER) {
                delivered = message_of_json(cJSON_DetachItemFromObjectCaseSensitive(j, "body"));
                assert(delivered->json == req.body);
            }
            ok = handle(&s, &req, delivered, &stop, &why);
            message_release(delivered);
        } else if (j) {
            const cJSON *sq = cJSON_GetObjectItemCaseSensitive(j, "seq");
            seq = cJSON_IsNumber(sq) && sq->valuedouble >= 1 && sq->valuedouble < 9e15 ? (uint64_t)sq->valuedouble : 0;
        }
        cJSON_Delete(j);
        if (!ok) {
            buf_clear(&s.out);
            proto_put_error(&s.out, seq ? seq : 1, PROTO_E_MALFORMED, why);
            fprintf(stderr, "syncsim node: %s\n", why);
            xfree(why);
            fwrite(s.out.data, 1, s.out.len, out);
            fflush(out);
            status = 1;
            break;
        }
        if (fwrite(s.out.data, 1, s.out.len, out) != s.out.len || fflush(out) != 0) {
            status = 1;
            break;
        }
        status = 0;
    }
    free(line);
    drop_node(&s);
    arena_release(&s.init_a);
    arena_release(&scratch);
    buf_free(&s.out);
    return status;
}
