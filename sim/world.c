/*
 * world: the event loop and the host side of the node interface.
 *
 * Invariants:
 *   - time only moves forward: an event is never scheduled before now_us;
 *   - every message handed to the network is freed exactly once: dropped at
 *     send, or delivered (or dropped) when its event runs, or freed with
 *     the queue at the end;
 *   - a timer or message that predates a node's crash never reaches it
 *     (timers carry the incarnation they were set in); a request that
 *     reaches a crashed server is dropped (node-down): the device's own
 *     timeout and retry rules decide what happens next;
 *   - every random draw comes from a named stream (net/<device>,
 *     server-answers/<device>), never from anything shared;
 *   - the gateway (server_errors, server_timeouts, server: errors/timeouts)
 *     draws and traces nothing unless a scenario asks for it, and answers
 *     for the server only before the final heal;
 *   - under a profile that flushes in batches (sync: flush: every), a
 *     device's unflushed list holds exactly the writes it accepted since the
 *     last flush it reported (OBS_FLUSHED); a power loss under acknowledge:
 *     on-flush withdraws them (never acknowledged), under on-write marks them
 *     power-lost (acknowledged and gone: the checker finds them undelivered).
 *     Under flush: commit the list stays empty.
 *   - storage faults reach only a replica that is up and whose store is
 *     faultable (the built-in engine's stores are, in a scenario with storage
 *     steps; an external node's when it says so); a disk stays full across a
 *     crash (it is re-applied at restart), pending I/O errors do not (they
 *     were the process's); the final heal frees every disk.
 *   - a signed-out device is down and stays down (a restart step leaves it)
 *     until a sign_in step or the final heal; while it is signed out, or
 *     waiting to sign out, its user's writes are refused. A reinstall
 *     withdraws the device's writes the server had not received (its user
 *     gave them up); a sign-out's engine reports what it abandoned
 *     (docs/lifecycle.md).
 *   - a switch of accounts changes a device's user (tenants[node], the
 *     history's user of its later writes) only once both the server and the
 *     device took it, and only at one instant: the server's isolation rule,
 *     the device's next boot and the checker all see the new user from the
 *     same event on; a write keeps the user its device had when it was made.
 */
#include "sim/world.h"
#include "base/xalloc.h"
#include "engine/engine.h"
#include "engine/wire.h"
#include "external/external.h"
#include "sim/clock.h"
#include "sim/duration.h"
#include "sim/history.h"
#include "sim/idmap.h"
#include "sim/pcg.h"
#include "sim/queue.h"
#include "sim/session.h"
#include "sim/trace.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

enum ev_kind {
    EV_STEP = 1,
    EV_DELIVER,
    EV_TIMER,
    EV_HEAL,
    EV_DEADLINE,
    EV_RESOLVE,       /* the simulated user resolves a conflict (arg: index into resolutions) */
    EV_DISK_FREED,    /* a disk_full window ends (arg: the window's generation; a later window supersedes it) */
};

/* A conflict a device's user will resolve (the profile's manual: delay and pick). */
typedef struct resolution {
    int node;
    const char *type;         /* owned by the world's arena */
    const char *id;
    bool done;
} resolution;

/* A record a device's user has open in a form (an open: step): what the device had seen of it then is
 * the causal past of a change later made from the form (base: opened). Closed by a save or a crash. */
typedef struct world_form {
    const char *type, *id;    /* in the world's arena */
    vclock seen;
    bool open;
} world_form;

typedef struct slot {
    node *n;
    const char *name;
    sim_clock clock;
    bool up;                  /* running (not crashed) */
    uint64_t incarnation;     /* bumped by each crash */
    link_state link;          /* devices: the link to the server */
    uint32_t write_counter;
    uint64_t writes_accepted; /* user writes the device took: the devices that wrote are those above 0 */
    int64_t served_head_us;   /* devices: last time the server answered them to its head; -1 never */
    uint64_t served_changes;  /* the server's change count at that answer */
    pcg32 answer_rng;         /* devices: server-answers/<device>, drawn only while server: errors/timeouts are on */
    int64_t token_expires_us; /* devices: true time the auth token stops being accepted; INT64_MAX never */
    write_id *unflushed;      /* devices: writes accepted since the node's last OBS_FLUSHED (batched flush only) */
    size_t n_unflushed, cap_unflushed;
    bool disk_full;           /* a storage step's disk_full window is open on this node */
    uint64_t disk_full_gen;   /* windows opened so far: only the latest one's end frees the disk */
    world_form *forms;        /* devices: every record ever opened, open or not */
    size_t n_forms, cap_forms;
    bool signing_out;         /* devices: a sign-out under sync-first waits for the device to be idle */
    const char *switch_to;    /* devices: the sign-out that waits is a switch of accounts to this user
                                 (the scenario's arena), or NULL */
    bool signed_out;          /* devices: signed out, so down until a sign_in step or the final heal */
} slot;

typedef struct world {
    const scenario *sc;
    uint64_t seed;
    const run_options *opt;
    event_queue q;
    int64_t now_us;
    int n_nodes;
    slot *slots;
    history hist;
    session sess;             /* what each device showed, judged through the run */
    trace tr;
    run_metrics m;
    uint64_t in_flight;       /* messages scheduled for delivery */
    bool settling;            /* after the final heal */
    bool storage_faults;      /* the scenario has storage steps: the engine's stores are faultable */
    bool stop;
    bool quiesced;
    int64_t deadline_us;
    int64_t server_changed_us; /* last change to the server's state */
    uint64_t server_changes;   /* changes to the server's state so far: orders changes and answers
                                  within one instant, which true time cannot */
    int step_index;           /* the step running, for the history */
    int signing_out;          /* devices whose sign-out waits for them to be idle (sign_out: sync-first) */
    const char **tenants;     /* every node's user, by node index (the server's is NULL) */
    arena a;                  /* the world's own strings (resolutions) */
    resolution *resolutions;
    size_t n_resolutions;
    size_t cap_resolutions;
    size_t resolutions_pending;
    const char *first_refusal; /* "phone:3 update note/n1: record is deleted", in a; NULL until a write is refused */
    server_answer window;     /* the gateway's answer in a server_errors/server_timeouts window ... */
    int64_t window_until_us;  /* ... until then (the latest window's end; the final heal ends it) */
    bool losing_replies;      /* the server is applying a request whose answer the gateway loses */
    bool server_ids;          /* the profile's ids: server: replicas' ids translate through ids */
    idmap ids;
    const char **names;       /* every node's name, by node index */
    proto_roster roster;      /* external nodes: names and users for the protocol */
    char *node_failure;       /* the first external node's failure, which ended the run */
    arena *kinds;             /* the result's arena: conflict kinds in the metrics outlive the run */
    /* Conflicts counted, by their pair of writes: conflict_first maps the lower write id to the
     * first of its entries in conflict_pairs, each linking to the next with the same lower id. A
     * conflict is one pair of writes however many replicas report it (an engine may detect it on
     * every replica it reaches; the built-in engine reports it once, on the server). */
    u64map conflict_first;
    struct conflict_pair { write_id other; int next; } *conflict_pairs;
    int n_conflict_pairs, cap_conflict_pairs;
    diag *d;
} world;

/* The logical id (the scenario's) of a record a replica names. */
static const char *logical_id(const world *w, int node, const char *type, const char *id)
{
    return w->server_ids && type && id ? idmap_logical(&w->ids, node, type, id) : id;
}

static int64_t local_now(const world *w, int node)
{
    return clock_local_now(&w->slots[node].clock, w->now_us);
}

static void push_event(world *w, event ev)
{
    assert(ev.time_us >= w->now_us);
    if (!queue_push(&w->q, ev))
        diag_error(w->d, (src_pos){ .file = w->sc->path }, "bound exceeded: more than %zu pending events",
                   w->q.count_max);
}

static void trace_node(world *w, const char *key, int node)
{
    trace_str(&w->tr, key, w->slots[node].name);
}

/* A timer by the name its node gives it ("retry"), else by its token; hashed as the token either way
 * (the name is looked up only when a trace file will print it). */
static void trace_timer(world *w, int node, uint64_t token)
{
    const struct node *n = w->slots[node].n;
    const char *name = NULL;
    char number[24];
    if (w->tr.out) {
        name = n->ops->timer_name ? n->ops->timer_name(n, token) : NULL;
        if (!name) {
            snprintf(number, sizeof number, "%llu", (unsigned long long)token);
            name = number;
        }
    }
    trace_int_named(&w->tr, "token", (int64_t)token, "timer", name);
}

/* --- node_host ------------------------------------------------------------ */

static void host_send(void *ctx, int from, int to, message *msg)
{
    world *w = ctx;
    assert(from >= 0 && from < w->n_nodes && to >= 0 && to < w->n_nodes && from != to);
    assert((from == NODE_SERVER) != (to == NODE_SERVER));
    int device = from == NODE_SERVER ? to : from;
    int direction = from == NODE_SERVER ? DIR_DOWN : DIR_UP;
    uint64_t bytes = 0;
    uint64_t msg_hash = message_hash(msg, &bytes);
    w->m.messages++;
    w->m.bytes += bytes;
    net_decision nd = link_decide(&w->slots[device].link, direction);
    if (from == NODE_SERVER && w->losing_replies && nd.drop == DROP_NONE)
        nd.drop = DROP_SERVER_TIMEOUT;   /* drawn all the same: the link's stream stays where it was */

    trace_begin(&w->tr, w->now_us, "send");
    trace_node(w, "from", from);
    trace_node(w, "to", to);
    trace_hex(&w->tr, "msg_hash", msg_hash);
    trace_int(&w->tr, "bytes", (int64_t)bytes);
    if (nd.drop != DROP_NONE) {
        trace_str(&w->tr, "drop", drop_reason_name(nd.drop));
    } else {
        trace_int(&w->tr, "delay_us", nd.delay_us);
        if (nd.duplicate)
            trace_int(&w->tr, "duplicate_delay_us", nd.duplicate_delay_us);
    }
    if (w->tr.out)
        trace_json_unhashed(&w->tr, "msg", message_json(msg));   /* a native message's tree: only for the file */
    trace_end(&w->tr);

    if (nd.drop != DROP_NONE) {
        w->m.messages_dropped[nd.drop]++;
        message_release(msg);
        return;
    }
    if (nd.duplicate) {
        w->m.messages_duplicated++;
        message *copy = message_ref(msg);   /* the same bytes again: immutable, shared */
        push_event(w, (event){ .time_us = w->now_us + nd.duplicate_delay_us, .kind = EV_DELIVER, .node = to,
                               .arg = (uint64_t)from, .arg2 = msg_hash, .payload = copy });
        w->in_flight++;
    }
    push_event(w, (event){ .time_us = w->now_us + nd.delay_us, .kind = EV_DELIVER, .node = to,
                           .arg = (uint64_t)from, .arg2 = msg_hash, .payload = msg });
    w->in_flight++;
}

static int64_t host_mono_now(void *ctx, int node)
{
    world *w = ctx;
    return clock_mono_us(&w->slots[node].clock, w->now_us);
}

/* An external node cannot go on: the run ends after the event being handled, with this as its outcome. */
static void host_fail(void *ctx, int node, const char *message)
{
    world *w = ctx;
    if (w->node_failure)
        return;
    w->node_failure = xstrdup(message);
    w->stop = true;
    trace_begin(&w->tr, w->now_us, "node-failed");
    trace_node(w, "node", node);
    trace_end(&w->tr);
}

static void host_set_timer(void *ctx, int node, int64_t delay_us, uint64_t token)
{
    world *w = ctx;
    assert(node >= 0 && node < w->n_nodes && delay_us >= 0);
    int64_t true_delay = clock_true_delay(&w->slots[node].clock, delay_us);
    push_event(w, (event){ .time_us = w->now_us + true_delay, .kind = EV_TIMER, .node = node, .arg = token,
                           .arg2 = w->slots[node].incarnation });
}

/* Records the pair {a, b}; false when it was recorded before. */
static bool conflict_pair_new(world *w, write_id a, write_id b)
{
    write_id lo = a < b ? a : b, hi = a < b ? b : a;
    int first = u64map_get(&w->conflict_first, lo);
    for (int i = first; i >= 0; i = w->conflict_pairs[i].next)
        if (w->conflict_pairs[i].other == hi)
            return false;
    if (w->n_conflict_pairs == w->cap_conflict_pairs) {
        w->cap_conflict_pairs = w->cap_conflict_pairs ? 2 * w->cap_conflict_pairs : 64;
        w->conflict_pairs = xrealloc(w->conflict_pairs, (size_t)w->cap_conflict_pairs * sizeof w->conflict_pairs[0]);
    }
    w->conflict_pairs[w->n_conflict_pairs] = (struct conflict_pair){ hi, first };
    u64map_put(&w->conflict_first, lo, w->n_conflict_pairs++);
    return true;
}

static void count_conflict(world *w, const char *kind)
{
    w->m.conflicts++;
    kind = kind ? kind : "conflict";
    for (int i = 0; i < w->m.n_conflict_kinds; i++) {
        if (strcmp(w->m.conflict_kinds[i].kind, kind) == 0) {
            w->m.conflict_kinds[i].count++;
            return;
        }
    }
    /* An external node's text lives only for the call: the metrics keep their own copy. */
    if (w->m.n_conflict_kinds < RUN_CONFLICT_KINDS_MAX)
        w->m.conflict_kinds[w->m.n_conflict_kinds++] = (conflict_kind_count){ arena_strdup(w->kinds, kind), 1 };
}

/*
 * A conflict waits for this device's user: they resolve it after the profile's
 * delay, picking as the profile says (or at random, from the device's resolve
 * stream). A delay of "never" leaves it to the scenario's resolve: steps.
 */
static void schedule_resolution(world *w, int node, const char *type, const char *id)
{
    const profile *p = &w->sc->profile.engine;
    const node_ops *ops = w->slots[node].n->ops;
    if (p->resolve_delay_us < 0 || (ops->supports && !ops->supports(w->slots[node].n, OP_RESOLVE)))
        return;
    for (size_t i = 0; i < w->n_resolutions; i++) {
        const resolution *r = &w->resolutions[i];
        if (!r->done && r->node == node && strcmp(r->type, type) == 0 && strcmp(r->id, id) == 0)
            return;   /* already on the user's list */
    }
    xgrow(&w->resolutions, &w->cap_resolutions, w->n_resolutions + 1, sizeof *w->resolutions);
    w->resolutions[w->n_resolutions] = (resolution){ .node = node, .type = arena_strdup(&w->a, type),
                                                     .id = arena_strdup(&w->a, id) };
    w->resolutions_pending++;
    push_event(w, (event){ .time_us = w->now_us + p->resolve_delay_us, .kind = EV_RESOLVE, .node = node,
                           .arg = (uint64_t)w->n_resolutions });
    w->n_resolutions++;
}

static const char *obs_name(obs_kind kind)
{
    switch (kind) {
    case OBS_RECORD: return "record";
    case OBS_RECEIVED: return "received";
    case OBS_CONFLICT: return "conflict";
    case OBS_SYNC_BEGIN: return "sync-begin";
    case OBS_SYNC_END: return "sync-end";
    case OBS_RETRY: return "retry";
    case OBS_GAVE_UP: return "gave-up";
    case OBS_SERVED_HEAD: return "served-head";
    case OBS_REFUSED: return "refused";
    case OBS_CONFLICT_PENDING: return "conflict-pending";
    case OBS_SEEN: return "seen";
    case OBS_DROPPED: return "dropped";
    case OBS_INVALID: return "invalid";
    case OBS_ID_ASSIGNED: return "id-assigned";
    case OBS_ID_MAPPED: return "id-mapped";
    case OBS_FLUSHED: return "flushed";
    }
    return "?";
}

static void host_observe(void *ctx, int node, const observation *obs_in)
{
    world *w = ctx;
    observation logical = *obs_in;
    const observation *obs = &logical;
    if (obs_in->kind == OBS_ID_ASSIGNED)
        idmap_assigned(&w->ids, obs_in->peer, obs_in->type, obs_in->detail, obs_in->id);
    else if (obs_in->kind == OBS_ID_MAPPED)
        idmap_mapped(&w->ids, node, obs_in->type, obs_in->detail, obs_in->id);
    else
        logical.id = logical_id(w, node, obs_in->type, obs_in->id);
    trace_begin(&w->tr, w->now_us, "obs");
    trace_node(w, "node", node);
    trace_str(&w->tr, "kind", obs_name(obs->kind));
    switch (obs->kind) {
    case OBS_RECORD: {
        write_id whole[2] = { obs->record_w, obs->delete_w };
        history_observe(&w->hist, node, obs->type, obs->id, whole, 2);
        history_observe(&w->hist, node, obs->type, obs->id, obs->writes, obs->n_writes);
        if (node != NODE_SERVER) {
            /* An absent record is reported with no writes at all (a refused create rolled back). */
            bool present = obs->deleted || obs->record_w || obs->delete_w || obs->n_writes > 0;
            session_observe(&w->sess, node, obs->type, obs->id, present, obs->deleted, obs->record_w,
                            obs->delete_w, obs->writes, obs->n_writes);
        }
        if (node == NODE_SERVER) {
            w->server_changed_us = w->now_us;
            w->server_changes++;
            /* A tombstone's leftover fields are deleted data, not traces of their writes: a
             * delete displaces every write it removes (a later revival brings none of them back). */
            int n_traces = obs->deleted ? 0 : obs->n_writes;
            write_id *all = xmalloc((size_t)(n_traces + 1) * sizeof *all);
            if (n_traces)
                memcpy(all, obs->writes, (size_t)n_traces * sizeof *all);
            all[n_traces] = obs->delete_w;
            history_server_state(&w->hist, obs->type, obs->id, obs->record_w, obs->delete_w, obs->deleted, all,
                                 n_traces + 1);
            xfree(all);
        }
        trace_str(&w->tr, "type", obs->type);
        trace_str(&w->tr, "id", obs->id);
        trace_bool(&w->tr, "deleted", obs->deleted);
        trace_write_list(&w->tr, "record", whole, 2);
        trace_write_list(&w->tr, "writes", obs->writes, obs->n_writes);
        break;
    }
    case OBS_RECEIVED:
        history_received(&w->hist, obs->w);
        trace_write(&w->tr, "w", obs->w);
        break;
    case OBS_CONFLICT:
        history_conflict_lost(&w->hist, obs->loser, obs->w);
        if (conflict_pair_new(w, obs->w, obs->loser)) {
            count_conflict(w, obs->detail);
            if (session_conflict_is_true(&w->sess, obs->w, obs->loser))
                w->m.conflicts_true++;
            else
                w->m.conflicts_false++;
        }
        trace_str(&w->tr, "type", obs->type);
        trace_str(&w->tr, "id", obs->id);
        trace_write(&w->tr, "winner", obs->w);
        trace_write(&w->tr, "loser", obs->loser);
        trace_str(&w->tr, "detail", obs->detail ? obs->detail : "");
        break;
    case OBS_SYNC_BEGIN:
        w->m.sync_rounds_started++;
        w->m.queue_depth_sum += (uint64_t)obs->count;
        if ((uint64_t)obs->count > w->m.queue_depth_max)
            w->m.queue_depth_max = (uint64_t)obs->count;
        trace_int(&w->tr, "queue", obs->count);
        break;
    case OBS_SYNC_END:
        w->m.sync_rounds++;
        trace_int(&w->tr, "pulled", obs->count);
        break;
    case OBS_RETRY:
        w->m.retries++;
        trace_int(&w->tr, "attempt", obs->count);
        break;
    case OBS_GAVE_UP:
        w->m.gave_up++;
        break;
    case OBS_SERVED_HEAD:
        assert(obs->peer > 0 && obs->peer < w->n_nodes);
        w->slots[obs->peer].served_head_us = w->now_us;
        w->slots[obs->peer].served_changes = w->server_changes;
        trace_node(w, "peer", obs->peer);
        break;
    case OBS_REFUSED:
    case OBS_INVALID:
        history_rejected(&w->hist, obs->w, obs->detail);
        w->m.writes_rejected++;
        trace_write(&w->tr, "w", obs->w);
        trace_str(&w->tr, "detail", obs->detail ? obs->detail : "");
        break;
    case OBS_DROPPED:
        history_dropped(&w->hist, obs->w, obs->detail);
        w->m.writes_dropped++;
        trace_write(&w->tr, "w", obs->w);
        break;
    case OBS_SEEN:
        history_observe(&w->hist, node, obs->type, obs->id, obs->writes, obs->n_writes);
        trace_str(&w->tr, "type", obs->type);
        trace_str(&w->tr, "id", obs->id);
        trace_write_list(&w->tr, "writes", obs->writes, obs->n_writes);
        break;
    case OBS_CONFLICT_PENDING:
        trace_str(&w->tr, "type", obs->type);
        trace_str(&w->tr, "id", obs->id);
        schedule_resolution(w, node, obs->type, obs->id);
        break;
    case OBS_ID_ASSIGNED:
    case OBS_ID_MAPPED:
        trace_str(&w->tr, "type", obs->type);
        trace_str(&w->tr, "temp", obs->detail);
        trace_str(&w->tr, "id", obs->id);
        trace_str(&w->tr, "logical", logical_id(w, node, obs->type, obs->id));
        if (obs->kind == OBS_ID_ASSIGNED)
            trace_node(w, "peer", obs->peer);
        break;
    case OBS_FLUSHED:
        /* Durable now: under acknowledge: on-flush its user has seen them saved. */
        w->slots[node].n_unflushed = 0;
        break;
    }
    trace_end(&w->tr);
}

/* --- steps ------------------------------------------------------------------ */

static void control(world *w, int node, node_control ctl)
{
    slot *s = &w->slots[node];
    if (s->up) {
        w->m.node_calls++;
        s->n->ops->control(s->n, ctl, local_now(w, node));
    }
}

/* A new token, as a login or a refresh issues: valid for the scenario's token_lifetime, or for good. */
static void issue_token(world *w, int node)
{
    int64_t life = w->sc->token_lifetime_us;
    w->slots[node].token_expires_us = life > 0 && !w->settling ? w->now_us + life : INT64_MAX;
}

/* Tell a node about a storage fault; false when it cannot take storage faults. */
static bool storage_call(world *w, int node, storage_fault fault)
{
    slot *s = &w->slots[node];
    if (!s->n->ops->storage_fault)
        return false;
    w->m.node_calls++;
    return s->n->ops->storage_fault(s->n, &fault, local_now(w, node));
}

/* A storage fault of a step or a window's end, traced with whether the node took it. */
static void apply_storage(world *w, int node, storage_fault fault)
{
    slot *s = &w->slots[node];
    const char *skipped = NULL;
    if (!s->up)
        skipped = "node-down";
    else if (!storage_call(w, node, fault))
        skipped = "unsupported";
    trace_begin(&w->tr, w->now_us, "storage");
    trace_node(w, "node", node);
    trace_str(&w->tr, "fault", storage_fault_kind_name(fault.kind));
    if (fault.kind == STORAGE_IO_ERROR)
        trace_int(&w->tr, "writes", fault.writes);
    if (skipped)
        trace_str(&w->tr, "skipped", skipped);
    trace_end(&w->tr);
}

static void restart(world *w, int node)
{
    slot *s = &w->slots[node];
    if (s->up || s->signed_out)
        return;   /* a signed-out device starts again only when its user signs in */
    if (node != NODE_SERVER)
        issue_token(w, node);   /* an app that starts logs in again */
    s->up = true;
    w->m.node_calls++;
    s->n->ops->boot(s->n, local_now(w, node));
    if (w->storage_faults) {
        /* A restarted process starts with no I/O error pending, on a disk as full as it was: the same
         * in process and through `syncsim node`, whose new process knows nothing of either. */
        storage_call(w, node, (storage_fault){ .kind = STORAGE_HEALED });
        if (s->disk_full)
            storage_call(w, node, (storage_fault){ .kind = STORAGE_DISK_FULL });
    }
    if (node != NODE_SERVER)
        control(w, node, s->link.online ? CTL_NET_UP : CTL_NET_DOWN);
}

/*
 * ids: server: the history files the write under its logical record; the
 * device is told the ids it knows the record, and any parent its reference
 * fields name, by. *told is op with those ids (fields in the world's arena).
 */
static void translate_op(world *w, int node, user_op *op, user_op *told)
{
    *told = *op;
    const char *logical;
    idmap_user_op(&w->ids, node, w->slots[node].name, op->kind, op->type, op->id, &logical, &told->id);
    op->id = logical;
    const entity_rules *rules = profile_rules(&w->sc->profile.engine, op->type);
    if (rules->n_refs == 0 || op->n_fields == 0)
        return;
    op_field *fields = arena_alloc(&w->a, (size_t)op->n_fields * sizeof *fields);
    memcpy(fields, op->fields, (size_t)op->n_fields * sizeof *fields);
    for (int i = 0; i < op->n_fields; i++)
        for (int k = 0; k < rules->n_refs; k++)
            if (strcmp(fields[i].name, rules->refs[k].field) == 0 && fields[i].v.kind == VAL_STRING)
                fields[i].v.s = idmap_node_id(&w->ids, node, rules->refs[k].type, fields[i].v.s);
    told->fields = fields;
}

static world_form *find_form(slot *s, const char *type, const char *id)
{
    for (size_t i = 0; i < s->n_forms; i++)
        if (strcmp(s->forms[i].type, type) == 0 && strcmp(s->forms[i].id, id) == 0)
            return &s->forms[i];
    return NULL;
}

/* open: the user opens a record in a form. Not a write: no write id, nothing for the checker to judge;
 * what the device has seen of the record now becomes the past of a change saved from the form. */
static void run_open(world *w, int node, user_op op)
{
    slot *s = &w->slots[node];
    user_op told = op;
    if (w->server_ids)
        translate_op(w, node, &op, &told);
    const char *reason = NULL;
    bool opened = false;
    if (!s->up) {
        reason = "the device is down (crashed)";
    } else {
        w->m.node_calls++;
        opened = s->n->ops->user_op(s->n, &told, local_now(w, node), &reason);
    }
    trace_begin(&w->tr, w->now_us, "open");
    trace_node(w, "node", node);
    trace_str(&w->tr, "type", op.type);
    trace_str(&w->tr, "id", op.id);
    trace_bool(&w->tr, "opened", opened);
    if (!opened)
        trace_str(&w->tr, "reason", reason ? reason : "refused");
    trace_end(&w->tr);
    if (!opened)
        return;
    world_form *f = find_form(s, op.type, op.id);
    if (!f) {
        xgrow(&s->forms, &s->cap_forms, s->n_forms + 1, sizeof *s->forms);
        f = &s->forms[s->n_forms++];
        memset(f, 0, sizeof *f);
        f->type = arena_strdup(&w->a, op.type);
        f->id = arena_strdup(&w->a, op.id);
    }
    f->seen.n = 0;
    history_seen_now(&w->hist, node, op.type, op.id, &f->seen);
    f->open = true;
}

static void run_user_op(world *w, int node, user_op op)
{
    slot *s = &w->slots[node];
    if (op.kind == OP_OPEN) {
        run_open(w, node, op);
        return;
    }
    op.w = WRITE_ID(node, ++s->write_counter);
    int64_t local = local_now(w, node);
    user_op told = op;
    if (w->server_ids)
        translate_op(w, node, &op, &told);
    int index = history_add_write(&w->hist, node, op.w, &op, w->now_us, local, clock_skew_us(&s->clock, w->now_us),
                                  s->link.online, s->link.cut, w->step_index);
    world_form *form = op.from_form ? find_form(s, op.type, op.id) : NULL;
    if (form && form->open)
        history_set_past(&w->hist, index, &form->seen);
    trace_begin(&w->tr, w->now_us, "op");
    trace_node(w, "node", node);
    trace_write(&w->tr, "w", op.w);
    trace_str(&w->tr, "op", op_kind_name(op.kind));
    trace_str(&w->tr, "type", op.type);
    trace_str(&w->tr, "id", op.id);
    trace_int(&w->tr, "local_us", local);
    if (op.from_form)
        trace_str(&w->tr, "base", "opened");
    trace_end(&w->tr);

    const char *reason = NULL;
    bool accepted = false;
    if (s->signed_out) {
        reason = "the device is signed out";
    } else if (s->signing_out) {
        reason = "the device is signing out (waiting to sync first)";
    } else if (!s->up) {
        reason = "the device is down (crashed)";
    } else {
        w->m.node_calls++;
        accepted = s->n->ops->user_op(s->n, &told, local, &reason);
    }
    history_write_done(&w->hist, index, accepted, accepted ? NULL : reason);
    if (accepted && form)
        form->open = false;   /* a form closes when it is saved */
    if (accepted)
        session_write(&w->sess, node, op.w);
    if (accepted && w->sc->profile.engine.flush_every_us > 0) {
        xgrow(&s->unflushed, &s->cap_unflushed, s->n_unflushed + 1, sizeof *s->unflushed);
        s->unflushed[s->n_unflushed++] = op.w;
    }
    if (accepted) {
        w->m.writes++;
        s->writes_accepted++;
    } else {
        w->m.writes_refused++;
        /* Copied now: a reason may live in the engine's scratch space until its next call. */
        if (!w->first_refusal)
            w->first_refusal = arena_printf(&w->a, "%s:%u %s %s/%s: %s", s->name, s->write_counter,
                                            op_kind_name(op.kind), op.type, op.id, reason ? reason : "refused");
        trace_begin(&w->tr, w->now_us, "refused");
        trace_node(w, "node", node);
        trace_write(&w->tr, "w", op.w);
        trace_str(&w->tr, "reason", reason);
        trace_end(&w->tr);
    }
}

static void crash(world *w, int node)
{
    slot *s = &w->slots[node];
    if (s->up) {
        s->n->ops->crash(s->n);
        s->up = false;
        s->incarnation++;
        for (size_t i = 0; i < s->n_forms; i++)
            s->forms[i].open = false;   /* forms live in the app's memory */
    }
}

/*
 * A power loss: the node puts its store back to its last flush, then crashes. Under acknowledge:
 * on-flush the writes it accepted since that flush were never confirmed to its user: they are
 * withdrawn (counted like refused writes). Under on-write they were confirmed: they are marked
 * power-lost, which the checker judges undelivered even when a later write of the same device
 * claims to follow them (its causal past cannot leave them out). A node that cannot lose power (an external one without the
 * feature) crashes plainly and keeps them; the trace says which it was.
 */
static void power_loss(world *w, int node)
{
    slot *s = &w->slots[node];
    if (!s->up)
        return;
    w->m.node_calls++;
    bool lost = s->n->ops->power_loss && s->n->ops->power_loss(s->n, local_now(w, node));
    bool withdraw = w->sc->profile.engine.flush_ack_on_flush;
    trace_begin(&w->tr, w->now_us, "power-loss");
    trace_node(w, "node", node);
    trace_bool(&w->tr, "supported", lost);
    if (lost)
        trace_write_list(&w->tr, withdraw ? "withdrawn" : "lost", s->unflushed, (int)s->n_unflushed);
    trace_end(&w->tr);
    for (size_t i = 0; lost && i < s->n_unflushed; i++) {
        if (withdraw)
            history_withdrawn(&w->hist, s->unflushed[i],
                              "never acknowledged: its device lost power before the write's batch was flushed");
        else
            history_power_lost(&w->hist, s->unflushed[i],
                               "its device lost power before the write's batch was flushed, after its user saw it "
                               "saved (acknowledge: on-write)");
    }
    s->n_unflushed = 0;
    crash(w, node);
}

/* --- device lifecycle (docs/lifecycle.md) ------------------------------------------- */

/* Ask the node to delete its local database; false when it cannot (no such op, or it failed). */
static bool lifecycle_call_node(world *w, int node, lifecycle_kind kind)
{
    slot *s = &w->slots[node];
    if (!s->n->ops->lifecycle)
        return false;
    lifecycle_call call = { .kind = kind, .wipe = w->sc->profile.engine.wipe };
    w->m.node_calls++;
    return s->n->ops->lifecycle(s->n, &call, local_now(w, node));
}

/* The device's store is empty: it has seen nothing and shown nothing (history and session start again). */
static void forget(world *w, int node)
{
    history_wipe(&w->hist, node);
    session_forget(&w->sess, node, w->now_us);
}

/*
 * A reinstall: the app is deleted and installed again, signed in to the same user. Its store is
 * wiped (all but the counters that must never repeat, and the pull cursors under wipe: data-only),
 * then it crashes and boots fresh. The writes the server had not received when the user deleted the
 * app are the user's own loss: withdrawn, counted like refused writes, never as lost. A device that
 * is down (crashed or signed out) is skipped; a node that cannot wipe (an external one without the
 * lifecycle feature) is left as it is. A pending sign-out ends: the new install is signed in.
 */
static void reinstall(world *w, int node)
{
    slot *s = &w->slots[node];
    const char *skipped = !s->up ? (s->signed_out ? "signed-out" : "node-down") : NULL;
    bool wiped = !skipped && lifecycle_call_node(w, node, LIFECYCLE_REINSTALL);
    write_id *gone = NULL;
    size_t n_gone = wiped ? history_unsynced(&w->hist, node, &gone) : 0;
    trace_begin(&w->tr, w->now_us, "reinstall");
    trace_node(w, "node", node);
    trace_str(&w->tr, "wipe", lifecycle_wipe_name(w->sc->profile.engine.wipe));
    if (skipped)
        trace_str(&w->tr, "skipped", skipped);
    else
        trace_bool(&w->tr, "supported", wiped);
    if (wiped)
        trace_write_list(&w->tr, "withdrawn", gone, (int)n_gone);
    trace_end(&w->tr);
    if (!wiped) {
        xfree(gone);
        return;
    }
    for (size_t i = 0; i < n_gone; i++)
        history_withdrawn(&w->hist, gone[i], "never synced: its user deleted the app (a reinstall) before it was pushed");
    xfree(gone);
    forget(w, node);
    s->n_unflushed = 0;
    if (s->signing_out) {
        s->signing_out = false;
        s->switch_to = NULL;
        w->signing_out--;
    }
    crash(w, node);
    restart(w, node);
}

/* The sign-out itself: the local database deleted (the engine reports what it abandoned), the app down. */
static void finish_sign_out(world *w, int node)
{
    slot *s = &w->slots[node];
    bool wiped = lifecycle_call_node(w, node, LIFECYCLE_SIGN_OUT);
    trace_begin(&w->tr, w->now_us, "sign-out");
    trace_node(w, "node", node);
    trace_str(&w->tr, "mode", w->sc->profile.engine.sign_out_discard ? "discard" : "sync-first");
    trace_str(&w->tr, "wipe", lifecycle_wipe_name(w->sc->profile.engine.wipe));
    trace_bool(&w->tr, "supported", wiped);
    trace_end(&w->tr);
    if (wiped)
        forget(w, node);
    if (s->signing_out) {
        s->signing_out = false;
        s->switch_to = NULL;
        w->signing_out--;
    }
    s->n_unflushed = 0;
    crash(w, node);
    s->signed_out = true;
}

/*
 * A sign-out. Under discard the local database goes at once, with whatever is unsynced. Under
 * sync-first the device is asked to sync and signs out when it is next idle (nothing queued,
 * nothing in flight): offline, that waits until it is back online and has pushed; meanwhile its
 * user's writes are refused. A device that is down, already signed out or already signing out is
 * skipped.
 */
static void sign_out(world *w, int node)
{
    slot *s = &w->slots[node];
    const char *skipped = s->signed_out ? "signed-out" : s->signing_out ? "signing-out" : !s->up ? "node-down" : NULL;
    if (skipped || w->sc->profile.engine.sign_out_discard) {
        if (skipped) {
            trace_begin(&w->tr, w->now_us, "sign-out");
            trace_node(w, "node", node);
            trace_str(&w->tr, "skipped", skipped);
            trace_end(&w->tr);
        } else {
            finish_sign_out(w, node);
        }
        return;
    }
    s->signing_out = true;
    w->signing_out++;
    trace_begin(&w->tr, w->now_us, "sign-out");
    trace_node(w, "node", node);
    trace_str(&w->tr, "waiting", "sync-first");
    trace_end(&w->tr);
    control(w, node, CTL_SYNC_NOW);
}

static void finish_switch(world *w, int node);

/* After every event while some sign-out waits: a device that is up and idle signs out now (or, for a
 * switch of accounts, signs out and the new account signs in). */
static void sign_outs_settle(world *w)
{
    for (int node = 1; w->signing_out > 0 && node < w->n_nodes; node++) {
        slot *s = &w->slots[node];
        if (s->signing_out && s->up && s->n->ops->idle(s->n)) {
            if (s->switch_to)
                finish_switch(w, node);
            else
                finish_sign_out(w, node);
        }
    }
}

/* A sign-out that waits (sync-first) is called off, and with it a switch of accounts it led to. */
static void call_off_sign_out(world *w, slot *s)
{
    if (s->signing_out) {
        s->signing_out = false;
        s->switch_to = NULL;
        w->signing_out--;
    }
}

/* Tell the server that the device belongs to user from now on (its isolation rule). The built-in
 * server reads the world's tenants, which the caller changes; an external one is sent an account
 * request (docs/protocol.md), only if it listed the accounts feature. A server that is down needs
 * nothing: the roster it is started with next names the new user. */
static bool server_account(world *w, int node, const char *user)
{
    slot *server = &w->slots[NODE_SERVER];
    if (!server->up)
        return true;
    if (!server->n->ops->lifecycle)
        return false;
    lifecycle_call call = { .kind = LIFECYCLE_ACCOUNT, .wipe = w->sc->profile.engine.wipe, .user = user,
                            .device = node };
    w->m.node_calls++;
    return server->n->ops->lifecycle(server->n, &call, local_now(w, NODE_SERVER));
}

/*
 * The switch itself: the server first counts the device as the new user's, then the device signs its
 * user out (the engine reports what it abandons, as at a sign-out) and deletes its local database --
 * all of it but the counters under switch: wipe, all but the records under keep-data (the bug) -- and
 * boots at once as the new user's, to pull that user's data from the start. When either side cannot
 * (an external node without the accounts feature; a storage fault failing the wipe), nothing changes:
 * the server is told the old user again, and the device stays signed in to the old account.
 */
static void finish_switch(world *w, int node)
{
    slot *s = &w->slots[node];
    const char *from = w->tenants[node], *to = s->switch_to;
    assert(to);
    bool server_ok = server_account(w, node, to);
    bool wiped = false;
    if (server_ok) {
        lifecycle_call call = { .kind = LIFECYCLE_SWITCH, .wipe = w->sc->profile.engine.wipe, .user = to,
                                .keep_data = w->sc->profile.engine.switch_keep_data };
        w->m.node_calls++;
        wiped = s->n->ops->lifecycle && s->n->ops->lifecycle(s->n, &call, local_now(w, node));
        if (!wiped)
            server_account(w, node, from);
    }
    trace_begin(&w->tr, w->now_us, "switch-account");
    trace_node(w, "node", node);
    trace_str(&w->tr, "from", from);
    trace_str(&w->tr, "to", to);
    trace_str(&w->tr, "mode", w->sc->profile.engine.sign_out_discard ? "discard" : "sync-first");
    trace_str(&w->tr, "data", w->sc->profile.engine.switch_keep_data ? "keep-data" : "wipe");
    trace_str(&w->tr, "wipe", lifecycle_wipe_name(w->sc->profile.engine.wipe));
    trace_bool(&w->tr, "supported", wiped);
    trace_end(&w->tr);
    call_off_sign_out(w, s);   /* the wait is over either way */
    s->switch_to = NULL;       /* under discard there was no wait */
    if (!wiped)
        return;
    w->tenants[node] = to;   /* the built-in server's isolation rule, and the roster an external node's init names */
    history_set_user(&w->hist, node, to);
    forget(w, node);
    s->n_unflushed = 0;
    crash(w, node);
    restart(w, node);
}

/*
 * A switch of accounts (switch_account: phone, to: bob): the device's user signs out, under the
 * profile's sign_out rule exactly as at a sign-out step (discard: at once; sync-first: once the device
 * is idle, its user's writes refused meanwhile), and bob signs in on the same device. A device that is
 * down, signed out, already signing out, or already bob's is skipped.
 */
static void switch_account(world *w, int node, const char *to)
{
    slot *s = &w->slots[node];
    const char *skipped = s->signed_out     ? "signed-out"
                          : s->signing_out  ? "signing-out"
                          : !s->up          ? "node-down"
                          : strcmp(w->tenants[node], to) == 0 ? "same-user"
                                                               : NULL;
    if (skipped) {
        trace_begin(&w->tr, w->now_us, "switch-account");
        trace_node(w, "node", node);
        trace_str(&w->tr, "to", to);
        trace_str(&w->tr, "skipped", skipped);
        trace_end(&w->tr);
        return;
    }
    s->switch_to = to;
    if (w->sc->profile.engine.sign_out_discard) {
        finish_switch(w, node);
        return;
    }
    s->signing_out = true;
    w->signing_out++;
    trace_begin(&w->tr, w->now_us, "switch-account");
    trace_node(w, "node", node);
    trace_str(&w->tr, "to", to);
    trace_str(&w->tr, "waiting", "sync-first");
    trace_end(&w->tr);
    control(w, node, CTL_SYNC_NOW);
}

/* A sign-in (the same user): a signed-out device boots fresh; a pending sign-out is called off. */
static void sign_in(world *w, int node)
{
    slot *s = &w->slots[node];
    const char *was = s->signed_out ? "signed-out" : s->signing_out ? "signing-out" : "signed-in";
    trace_begin(&w->tr, w->now_us, "sign-in");
    trace_node(w, "node", node);
    trace_str(&w->tr, "was", was);
    trace_end(&w->tr);
    call_off_sign_out(w, s);
    if (s->signed_out) {
        s->signed_out = false;
        restart(w, node);
    }
}

static void run_op(world *w, const step *st)
{
    run_user_op(w, st->nodes[0], st->op);
}

/* The simulated user resolves a conflict; a device that is down is resolved on once it is back. */
static void run_resolution(world *w, size_t index)
{
    resolution *r = &w->resolutions[index];
    if (r->done)
        return;
    slot *s = &w->slots[r->node];
    const profile *p = &w->sc->profile.engine;
    if (!s->up) {
        push_event(w, (event){ .time_us = w->now_us + p->resolve_delay_us, .kind = EV_RESOLVE, .node = r->node,
                               .arg = (uint64_t)index });
        return;
    }
    r->done = true;
    w->resolutions_pending--;
    manual_pick pick = p->resolve_pick;
    /* A device with a pick of its own (devices: { x: { pick: } } or the workload's picks: per-device) uses it. */
    if (r->node >= 1 && r->node <= w->sc->n_devices && w->sc->devices[r->node - 1].has_pick)
        pick = w->sc->devices[r->node - 1].pick;
    if (pick == PICK_RANDOM) {
        char name[160];
        snprintf(name, sizeof name, "resolve/%s/%zu", s->name, index);
        pcg32 rng = pcg_stream(w->seed, name);
        pick = (manual_pick)pcg32_bounded(&rng, 3);   /* local, server or merge */
    }
    op_field f = { .name = "pick", .v = { .kind = VAL_STRING, .s = manual_pick_name(pick) } };
    user_op op = { .kind = OP_RESOLVE, .type = r->type, .id = r->id, .n_fields = 1, .fields = &f };
    run_user_op(w, r->node, op);
}

static void run_step(world *w, int index)
{
    const step *st = &w->sc->steps[index];
    w->step_index = index;
    if (st->kind == STEP_OP) {
        run_op(w, st);
        w->step_index = -1;
        return;
    }
    trace_begin(&w->tr, w->now_us, "step");
    trace_str(&w->tr, "kind", step_kind_name(st->kind));
    trace_node_list(&w->tr, "node", "nodes", st->nodes, st->n_nodes);
    if (st->kind == STEP_CLOCK)
        trace_int(&w->tr, "by_us", st->by_us);
    if (st->kind == STEP_SWITCH_ACCOUNT)
        trace_str(&w->tr, "to", st->user);
    if (st->kind == STEP_PARTITION || st->kind == STEP_HEAL)
        trace_int_named(&w->tr, "direction", st->direction, "direction", link_direction_name(st->direction));
    if (st->kind == STEP_SERVER_ANSWER) {
        trace_str(&w->tr, "answer", server_answer_name(st->answer));
        trace_int(&w->tr, "for_us", st->for_us);
    }
    if (st->kind == STEP_STORAGE) {
        trace_str(&w->tr, "fault", storage_fault_kind_name(st->storage.kind));
        if (st->storage.kind == STORAGE_DISK_FULL)
            trace_int(&w->tr, "for_us", st->for_us);
        else
            trace_int(&w->tr, "writes", st->storage.writes);
    }
    trace_end(&w->tr);

    for (int i = 0; i < st->n_nodes; i++) {
        int node = st->nodes[i];
        slot *s = &w->slots[node];
        switch (st->kind) {
        case STEP_SYNC:
            control(w, node, CTL_SYNC_NOW);
            break;
        case STEP_OFFLINE:
            s->link.online = false;
            control(w, node, CTL_NET_DOWN);
            break;
        case STEP_ONLINE:
            if (!s->link.online) {
                s->link.online = true;
                control(w, node, CTL_NET_UP);
            }
            break;
        case STEP_PARTITION:
            s->link.cut |= st->direction;
            break;
        case STEP_HEAL:
            s->link.cut &= ~st->direction;
            break;
        case STEP_CRASH:
            crash(w, node);
            break;
        case STEP_POWER_LOSS:
            power_loss(w, node);
            break;
        case STEP_REINSTALL:
            reinstall(w, node);
            break;
        case STEP_SIGN_OUT:
            sign_out(w, node);
            break;
        case STEP_SIGN_IN:
            sign_in(w, node);
            break;
        case STEP_SWITCH_ACCOUNT:
            switch_account(w, node, st->user);
            break;
        case STEP_RESTART:
            restart(w, node);
            break;
        case STEP_CLOCK:
            clock_step(&s->clock, st->by_us);
            break;
        case STEP_EXPIRE_TOKEN:
            s->token_expires_us = w->now_us;
            break;
        case STEP_SERVER_ANSWER:
            w->window = st->answer;
            w->window_until_us = w->now_us + st->for_us;
            break;
        case STEP_STORAGE:
            if (st->storage.kind == STORAGE_DISK_FULL) {
                s->disk_full = true;
                push_event(w, (event){ .time_us = w->now_us + st->for_us, .kind = EV_DISK_FREED, .node = node,
                                       .arg = ++s->disk_full_gen });
            }
            apply_storage(w, node, st->storage);
            break;
        case STEP_OP:
            break;
        }
    }
    w->step_index = -1;
}

/* The end of the timeline: every fault goes away and sync gets its chance. */
static void heal_all(world *w)
{
    trace_begin(&w->tr, w->now_us, "heal");
    trace_end(&w->tr);
    /* The server first, so devices brought back find it up (a no-op unless a step crashed it). */
    w->settling = true;   /* from here on the gateway passes everything and tokens never expire */
    restart(w, NODE_SERVER);
    for (int node = 0; w->storage_faults && node < w->n_nodes; node++) {
        /* Every disk has space again and no I/O error is left pending (untraced: the heal says it). */
        w->slots[node].disk_full = false;
        w->slots[node].disk_full_gen++;
        if (w->slots[node].up)
            storage_call(w, node, (storage_fault){ .kind = STORAGE_HEALED });
    }
    for (int node = 1; node < w->n_nodes; node++) {
        slot *s = &w->slots[node];
        /* Every user is signed in again (a pending sign-out, or switch of accounts, is called off), so
         * every device can settle. */
        if (s->signing_out) {
            s->signing_out = false;
            s->switch_to = NULL;
            w->signing_out--;
        }
        s->signed_out = false;
        s->token_expires_us = INT64_MAX;
        s->link.cut = 0;
        link_calm(&s->link);
        restart(w, node);
        if (!s->link.online) {
            s->link.online = true;
            control(w, node, CTL_NET_UP);
        }
    }
    w->m.heal_us = w->now_us;
    w->deadline_us = w->now_us + w->sc->expect.quiesce_within_us;
    push_event(w, (event){ .time_us = w->deadline_us, .kind = EV_DEADLINE, .node = -1 });
}

/* Quiet: nothing in flight, every device idle and served the server's latest state. */
static bool quiescent(world *w)
{
    if (w->in_flight > 0 || w->resolutions_pending > 0)
        return false;
    for (int node = 1; node < w->n_nodes; node++)
        if (w->slots[node].served_head_us < 0 || w->slots[node].served_changes != w->server_changes)
            return false;
    for (int node = 0; node < w->n_nodes; node++) {
        slot *s = &w->slots[node];
        if (!s->up || !s->n->ops->idle(s->n))
            return false;
    }
    return true;
}

/* What kept the run from settling, for the no-quiescence witness. */
static char *liveness_report(world *w)
{
    buf b;
    buf_init(&b);
    if (w->in_flight)
        buf_printf(&b, "    %llu message(s) still in flight\n", (unsigned long long)w->in_flight);
    if (w->resolutions_pending)
        buf_printf(&b, "    %zu conflict(s) still waiting for their user\n", w->resolutions_pending);
    for (int node = 1; node < w->n_nodes; node++) {
        slot *s = &w->slots[node];
        bool idle = s->up && s->n->ops->idle(s->n);
        bool served = s->served_head_us >= 0 && s->served_changes == w->server_changes;
        if (idle && served)
            continue;
        buf_printf(&b, "    %s: ", s->name);
        if (!s->up)
            buf_puts(&b, "down");
        else if (!idle)
            buf_puts(&b, "still has work (unsynced changes, a request in flight or a retry pending)");
        if (!served) {
            char when[DURATION_TEXT_MAX];
            if (!idle || !s->up)
                buf_puts(&b, "; ");
            if (s->served_head_us < 0)
                buf_puts(&b, "never pulled everything the server has");
            else
                buf_printf(&b, "last caught up at t=%s, before the server's last change",
                           duration_human(s->served_head_us, when, sizeof when));
        }
        buf_putc(&b, '\n');
    }
    return buf_take(&b);
}

/*
 * The gateway in front of the server decides how a request that reached it is answered:
 * a window's answer while one lasts, else a draw from the device's own stream when the
 * scenario asks for random answers. Neither draws anything otherwise, so a scenario without
 * these faults runs exactly as before they existed. After the final heal the server answers.
 */
static server_answer gateway_answer(world *w, int device)
{
    if (w->settling)
        return ANSWER_SERVER;
    if (w->window != ANSWER_SERVER && w->now_us < w->window_until_us)
        return w->window;
    const server_faults *f = &w->sc->server_faults;
    if (f->error_p <= 0 && f->timeout_p <= 0)
        return ANSWER_SERVER;
    double u = pcg32_unit(&w->slots[device].answer_rng);
    return u < f->error_p ? ANSWER_ERROR : u < f->error_p + f->timeout_p ? ANSWER_TIMEOUT : ANSWER_SERVER;
}

/* An error answer: a 503 in the server's place, sent back over the device's link. A request without
 * a correlation id (an external design's) cannot be answered, so it is dropped: the device times out. */
static void gateway_error(world *w, int device, message *request)
{
    int64_t req;
    if (wire_req(request, &req))
        host_send(w, NODE_SERVER, device, wire_gateway_error(req, WIRE_GATEWAY_STATUS_UNAVAILABLE));
}

static void trace_gateway(world *w, int device, const char *answer)
{
    trace_begin(&w->tr, w->now_us, "gateway");
    trace_node(w, "device", device);
    trace_str(&w->tr, "answer", answer);
    trace_end(&w->tr);
}

/*
 * The gateway's auth check, after its own answer (a 503 answers before any token is read):
 * a refresh is granted (the auth service is the gateway's, not the sync server's), and a
 * request on an expired token is refused with 401 and never reaches the server. True when
 * the gateway answered.
 */
static bool gateway_auth(world *w, int device, message *msg)
{
    slot *s = &w->slots[device];
    int64_t req;
    if (wire_is_auth_request(msg) && wire_req(msg, &req)) {
        issue_token(w, device);
        w->m.tokens_renewed++;
        trace_gateway(w, device, "token");
        host_send(w, NODE_SERVER, device, wire_auth_granted(req));
        return true;
    }
    if (w->settling || w->now_us < s->token_expires_us)
        return false;
    w->m.requests_unauthorized++;
    trace_gateway(w, device, "unauthorized");
    if (wire_req(msg, &req))
        host_send(w, NODE_SERVER, device, wire_gateway_error(req, WIRE_GATEWAY_STATUS_UNAUTHORIZED));
    return true;
}

static void dispatch(world *w, const event *ev)
{
    switch (ev->kind) {
    case EV_STEP:
        run_step(w, (int)ev->arg);
        break;
    case EV_DELIVER: {
        message *msg = ev->payload;
        int to = ev->node;
        int from = (int)ev->arg;
        int device = from == NODE_SERVER ? to : from;
        int direction = from == NODE_SERVER ? DIR_DOWN : DIR_UP;
        w->in_flight--;
        drop_reason blocked = !w->slots[to].up ? DROP_NODE_DOWN : link_blocked(&w->slots[device].link, direction);
        trace_begin(&w->tr, w->now_us, "deliver");
        trace_node(w, "from", from);
        trace_node(w, "to", to);
        trace_hex(&w->tr, "msg_hash", ev->arg2);
        if (blocked != DROP_NONE)
            trace_str(&w->tr, "drop", drop_reason_name(blocked));
        trace_end(&w->tr);
        server_answer answer = blocked == DROP_NONE && to == NODE_SERVER ? gateway_answer(w, from) : ANSWER_SERVER;
        if (answer != ANSWER_SERVER) {
            w->m.server_answers[answer]++;
            trace_gateway(w, from, server_answer_name(answer));
        }
        w->losing_replies = answer == ANSWER_TIMEOUT;
        if (answer == ANSWER_ERROR) {
            gateway_error(w, from, msg);
        } else if (blocked == DROP_NONE && to == NODE_SERVER && gateway_auth(w, from, msg)) {
            /* answered by the gateway */
        } else if (blocked == DROP_NONE) {
            w->m.messages_delivered++;
            w->m.node_calls++;
            w->slots[to].n->ops->deliver(w->slots[to].n, from, msg, local_now(w, to));
            if (to == NODE_SERVER)
                history_settle_arrivals(&w->hist);
        } else {
            w->m.messages_dropped[blocked]++;
        }
        w->losing_replies = false;
        message_release(msg);
        break;
    }
    case EV_TIMER: {
        slot *s = &w->slots[ev->node];
        if (!s->up || ev->arg2 != s->incarnation)
            break;
        trace_begin(&w->tr, w->now_us, "timer");
        trace_node(w, "node", ev->node);
        trace_timer(w, ev->node, ev->arg);
        trace_end(&w->tr);
        w->m.node_calls++;
        s->n->ops->timer(s->n, ev->arg, local_now(w, ev->node));
        break;
    }
    case EV_HEAL:
        heal_all(w);
        break;
    case EV_DEADLINE:
        if (!w->quiesced)
            w->stop = true;
        break;
    case EV_RESOLVE:
        run_resolution(w, (size_t)ev->arg);
        break;
    case EV_DISK_FREED: {
        slot *s = &w->slots[ev->node];
        if (ev->arg != s->disk_full_gen || !s->disk_full)
            break;   /* a later window, or the heal, took over */
        s->disk_full = false;
        apply_storage(w, ev->node, (storage_fault){ .kind = STORAGE_DISK_FREED });
        break;
    }
    default:
        assert(0 && "unknown event");
    }
}

static void drop_payload(event *ev, void *ctx)
{
    (void)ctx;
    if (ev->kind == EV_DELIVER)
        message_release(ev->payload);
}

static bool make_dir(const char *path, diag *d)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return true;
    diag_error(d, (src_pos){ .file = path }, "cannot create the store directory: %s", strerror(errno));
    return false;
}

/* The replica at node: the built-in engine, or the profile's external command. */
static node *new_node(world *w, int node, node_host host, char **error)
{
    const scenario *sc = w->sc;
    const node_command *nc = &sc->profile.node;
    if (nc->argv) {
        external_config cfg = {
            .index = node,
            .roster = &w->roster,
            .argv = node == NODE_SERVER && nc->server_argv ? nc->server_argv : nc->argv,
            .timeout_us = nc->timeout_us,
            .seed = w->seed,
            .store_dir = w->opt->store_dir,
            .pool = w->opt->node_pool,
            .host = host,
        };
        return external_node_new(&cfg, error);
    }
    engine_config cfg = {
        .index = node,
        .name = w->names[node],
        .tenant = node == NODE_SERVER ? NULL : sc->devices[node - 1].user,
        .tenants = w->tenants,
        .n_nodes = w->n_nodes,
        .profile = &sc->profile.engine,
        .store_path = w->opt->store_dir ? arena_printf(&w->hist.a, "%s/%s.sqlite", w->opt->store_dir, w->names[node])
                                        : NULL,
        .store_faultable = w->storage_faults,
        .seed = w->seed,
        .seed_per_boot = true,
        .host = host,
    };
    return engine_node_new(&cfg, error);
}

static bool create_nodes(world *w)
{
    const scenario *sc = w->sc;
    if (w->opt->store_dir && !make_dir(w->opt->store_dir, w->d))
        return false;
    w->tenants = xcalloc((size_t)w->n_nodes, sizeof *w->tenants);
    w->names = xcalloc((size_t)w->n_nodes, sizeof *w->names);
    for (int node = 0; node < w->n_nodes; node++) {
        w->names[node] = scenario_node_name(sc, node);
        w->tenants[node] = node == NODE_SERVER ? NULL : sc->devices[node - 1].user;
    }
    proto_roster_init(&w->roster, w->n_nodes, w->names, w->tenants);
    trace_set_names(&w->tr, w->names, w->n_nodes);
    node_host host = { .ctx = w, .send = host_send, .set_timer = host_set_timer, .observe = host_observe,
                       .mono_now = host_mono_now, .fail = host_fail };
    for (int node = 0; node < w->n_nodes; node++) {
        slot *s = &w->slots[node];
        s->name = w->names[node];
        s->served_head_us = -1;
        if (node == NODE_SERVER) {
            s->clock = (sim_clock){ .offset_us = sc->server_clock.offset_us, .drift_ppb = sc->server_clock.drift_ppb };
        } else {
            const device_config *dev = &sc->devices[node - 1];
            s->clock = (sim_clock){ .offset_us = dev->clock.offset_us, .drift_ppb = dev->clock.drift_ppb };
            link_init(&s->link, &dev->net, w->seed, dev->name);
            s->token_expires_us = sc->token_lifetime_us > 0 ? sc->token_lifetime_us : INT64_MAX;
            char stream[160];
            snprintf(stream, sizeof stream, "server-answers/%s", dev->name);
            s->answer_rng = pcg_stream(w->seed, stream);
            s->link.online = !dev->starts_offline;
        }
        char *error = NULL;
        s->n = new_node(w, node, host, &error);
        if (!s->n) {
            diag_error(w->d, (src_pos){ .file = w->opt->store_dir ? w->opt->store_dir : sc->path }, "%s", error);
            xfree(error);
            return false;
        }
    }
    return true;
}

/*
 * After boot: every operation a step gives a device must be one its node declared (an external
 * node's init_ok). A scenario that needs another is not applicable to this implementation.
 */
static char *unsupported_step(world *w)
{
    for (int i = 0; i < w->sc->n_steps; i++) {
        const step *st = &w->sc->steps[i];
        if (st->kind != STEP_OP)
            continue;
        node *n = w->slots[st->nodes[0]].n;
        if (!n->ops->supports || n->ops->supports(n, st->op.kind))
            continue;
        buf b;
        buf_init(&b);
        if (st->pos.line)
            buf_printf(&b, "%s:%d:%d: ", st->pos.file, st->pos.line, st->pos.column);
        buf_printf(&b, "the scenario needs the operation '%s', which the implementation under test does not "
                       "support (its init_ok does not list it in \"ops\")", op_kind_name(st->op.kind));
        return buf_take(&b);
    }
    return NULL;
}

static bool take_snapshots(world *w, run_result *res)
{
    res->n_nodes = w->n_nodes;
    res->snaps = xcalloc((size_t)w->n_nodes, sizeof *res->snaps);
    for (int node = 0; node < w->n_nodes; node++) {
        w->m.node_calls++;
        cJSON *j = w->slots[node].n->ops->snapshot(w->slots[node].n);
        if (w->node_failure) {   /* an external node failed to answer: the run has no final state */
            cJSON_Delete(j);
            return false;
        }
        if (w->server_ids && j)
            idmap_snapshot(&w->ids, node, &w->sc->profile.engine, j);
        const char *why = NULL;
        bool ok = snapshot_parse(j, &res->a, &res->snaps[node], &why);
        cJSON_Delete(j);
        if (!ok) {
            diag_error(w->d, (src_pos){ .file = w->sc->path }, "replica %s reported a malformed snapshot: %s",
                       w->slots[node].name, why);
            return false;
        }
    }
    return true;
}

bool sim_run(const scenario *sc, uint64_t seed, const run_options *opt, run_result *res, diag *d)
{
    memset(res, 0, sizeof *res);
    arena_init(&res->a, 64 * 1024);
    res->seed = seed;
    world w = { .sc = sc, .seed = seed, .opt = opt, .d = d, .step_index = -1, .kinds = &res->a };
    w.storage_faults = scenario_has_storage_faults(sc);
    w.n_nodes = sc->n_devices + 1;
    w.slots = xcalloc((size_t)w.n_nodes, sizeof *w.slots);
    w.m.quiesced_us = -1;
    arena_init(&w.a, 4096);
    uint64_t events_max = opt->events_max ? opt->events_max : RUN_EVENTS_MAX_DEFAULT;
    queue_init(&w.q, 50u * 1000u * 1000u);
    history_init(&w.hist);
    session_init(&w.sess, &w.hist, &sc->profile.engine);
    u64map_init(&w.conflict_first);
    w.server_ids = sc->profile.engine.ids == IDS_SERVER;
    idmap_init(&w.ids);
    trace_init(&w.tr, opt->trace_out, opt->keep_event_hashes);
    bool ok = scenario_check_ids(sc, d) && create_nodes(&w);

    if (ok) {
        trace_begin(&w.tr, 0, "start");
        trace_str(&w.tr, "scenario", sc->name);
        trace_str(&w.tr, "profile", sc->profile.name);
        if (sc->design) {
            /* Said, not hashed: the drawn keys are in the profile, whose effects the trace hashes; and a
             * shrunk file, which writes that profile out, replays the hash shrink printed. */
            cJSON *design = cJSON_CreateString(sc->design);
            trace_json_unhashed(&w.tr, "design", design);
            cJSON_Delete(design);
        }
        trace_int(&w.tr, "seed", (int64_t)seed);
        trace_end(&w.tr);
        restart(&w, NODE_SERVER);
        for (int node = 1; node < w.n_nodes; node++)
            restart(&w, node);
        if (!w.node_failure)
            res->not_applicable = unsupported_step(&w);
        for (int i = 0; i < sc->n_steps; i++)
            push_event(&w, (event){ .time_us = sc->steps[i].at_us, .kind = EV_STEP, .node = -1, .arg = (uint64_t)i });
        int64_t last = sc->n_steps ? sc->steps[sc->n_steps - 1].at_us : 0;
        if (last < sc->end_us)
            last = sc->end_us;
        /* A window of gateway answers, or of a full disk, lasts its whole span: the final heal waits for its end. */
        for (int i = 0; i < sc->n_steps; i++)
            if ((sc->steps[i].kind == STEP_SERVER_ANSWER ||
                 (sc->steps[i].kind == STEP_STORAGE && sc->steps[i].storage.kind == STORAGE_DISK_FULL)) &&
                sc->steps[i].at_us + sc->steps[i].for_us > last)
                last = sc->steps[i].at_us + sc->steps[i].for_us;
        push_event(&w, (event){ .time_us = last, .kind = EV_HEAL, .node = -1 });

        event ev;
        int64_t progress_next_us = opt->progress_every_us;
        while (!w.stop && !res->not_applicable && !diag_failed(d)) {
            /* Checked before taking an event, so a cancelled run leaves every message in the queue. */
            if (opt->cancel && *opt->cancel) {
                diag_error(d, (src_pos){ .file = sc->path }, "bound exceeded: %s",
                           opt->cancel_bound ? opt->cancel_bound : "the run was cancelled");
                break;
            }
            if (!queue_pop(&w.q, &ev))
                break;
            w.now_us = ev.time_us;
            while (opt->progress_out && w.now_us >= progress_next_us) {
                fprintf(opt->progress_out, "progress %lld %llu %llu\n", (long long)progress_next_us,
                        (unsigned long long)w.m.events, (unsigned long long)w.m.writes);
                fflush(opt->progress_out);
                progress_next_us += opt->progress_every_us;
            }
            dispatch(&w, &ev);
            if (w.signing_out > 0)
                sign_outs_settle(&w);
            session_settle(&w.sess, w.now_us);
            if (++w.m.events > events_max) {
                diag_error(d, (src_pos){ .file = sc->path },
                           "bound exceeded: more than %llu simulated events (events_max)",
                           (unsigned long long)events_max);
                break;
            }
            if (w.settling && !w.quiesced && quiescent(&w)) {
                w.quiesced = true;
                w.m.quiesced_us = w.now_us;
                break;
            }
        }
        ok = !diag_failed(d);
    }
    w.m.end_us = w.now_us;
    for (int node = 1; node < w.n_nodes; node++)
        w.m.devices_writing += w.slots[node].writes_accepted > 0;
    if (w.first_refusal)
        w.m.first_refusal = arena_strdup(&res->a, w.first_refusal);

    /* A run an external node ended, or one that does not apply to its implementation, has no final state to
     * check: it is reported as it is (exit 4, or not applicable). */
    bool check = ok && !w.node_failure && !res->not_applicable;
    char *liveness = NULL;
    if (check) {
        trace_begin(&w.tr, w.now_us, w.quiesced ? "quiesced" : "deadline");
        trace_end(&w.tr);
        check = take_snapshots(&w, res);
        ok = !diag_failed(d);
        if (check && !w.quiesced)
            liveness = liveness_report(&w);
    }
    if (check) {
        check_input in = {
            .sc = sc,
            .h = &w.hist,
            .n_nodes = w.n_nodes,
            .snaps = res->snaps,
            .quiesced = w.quiesced,
            .liveness = liveness,
            .heal_us = w.m.heal_us,
            .deadline_us = w.deadline_us,
            .session = &w.sess,
            .clocks_none = sc->profile.engine.clocks_none,
        };
        session_finish(&w.sess, w.now_us);
        check_run(&in, &res->check);
    }
    xfree(liveness);

    res->trace_hash = w.tr.hash;
    res->quiesced = w.quiesced;
    res->metrics = w.m;
    res->metrics.events = w.m.events;
    if (opt->keep_event_hashes) {
        res->event_hashes = w.tr.hashes;
        res->n_event_hashes = w.tr.events;
        w.tr.hashes = NULL;
    }
    queue_free(&w.q, drop_payload, NULL);
    for (int node = 0; node < w.n_nodes; node++) {
        if (w.slots[node].n)
            w.slots[node].n->ops->destroy(w.slots[node].n);
        xfree(w.slots[node].unflushed);
        for (size_t i = 0; i < w.slots[node].n_forms; i++)
            vclock_free(&w.slots[node].forms[i].seen);
        xfree(w.slots[node].forms);
    }
    res->node_failure = w.node_failure;
    xfree(w.slots);
    xfree(w.tenants);
    xfree(w.names);
    proto_roster_free(&w.roster);
    xfree(w.resolutions);
    arena_release(&w.a);
    trace_free(&w.tr);
    session_free(&w.sess);
    u64map_free(&w.conflict_first);
    xfree(w.conflict_pairs);
    history_free(&w.hist);
    idmap_free(&w.ids);
    return ok;
}

void run_result_free(run_result *res)
{
    xfree(res->node_failure);
    xfree(res->not_applicable);
    if (res->snaps)
        for (int i = 0; i < res->n_nodes; i++)
            snapshot_free(&res->snaps[i]);
    xfree(res->snaps);
    xfree(res->event_hashes);
    check_result_free(&res->check);
    arena_release(&res->a);
    memset(res, 0, sizeof *res);
}
