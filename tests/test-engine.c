/*
 * test-engine: the built-in client and server together (engine/client.c,
 * engine/server.c), created with engine_node_new and driven by hand through
 * node_ops with a fake host: send appends the message to a list the test
 * owns, set_timer records (node, delay, token), observe records a copy of
 * the observation. The test delivers messages and fires timers itself.
 *
 * Covered: the first round pulls; a create is observed with its write id,
 * queued, pushed by a later round, applied by the server and acknowledged
 * (the outbox empties, idle() turns true when the round ends); a duplicated
 * push is applied once with idempotency (identical replayed reply, no new
 * change-log seq) and twice without (a stale retry overwrites a newer write);
 * replies that do not answer the request in flight are ignored; pull paging
 * follows the returned cursor, which survives a restart; a page never
 * overwrites a record with unpushed changes; refused user operations write
 * nothing; crash
 * and boot keep the store and forget the request in flight (and the HLC
 * resumes above the stored stamps); a server restart keeps seq and
 * deduplication; request timeouts retry on the profile's schedule (a
 * successful push ends the failure streak) and, with
 * `then: stop`, give up and push again only on CTL_SYNC_NOW; malformed
 * messages to either side change nothing. Two end-to-end checks of
 * conflict handling: two local writes to one record pushed in one batch are
 * not a conflict with each other, and a record re-created after a delete
 * does not bring back the deleted record's fields.
 *
 * The seed designs' mechanisms: watermark change detection (by device clock,
 * skipping a write stamped behind it; by server clock, merging pulled events
 * into the local log); timestamp cursors (server-now and last-record skip,
 * an inclusive cursor never gets past a shared timestamp); per-type pulls;
 * schema validation on the device, per change on the server, and atomic
 * batches rolled back and retried; changes dropped after drop_after
 * unanswered pushes; manual resolution (parked, resolved, forced, the other
 * side kept); refused changes rolled back; timestamp conflict detection;
 * ID mapping (server ids replace temporary ones in the batch and on the
 * device, queued references are mapped when pushed, a retried create makes
 * a second record unless idempotency keys replay the first answer).
 *
 * Storage faults (faultable stores, docs/faults.md): a write refused on a full disk
 * ("storage full", no observation, nothing queued) and taken once there is space; a push's
 * answer that cannot be stored leaves the change queued and is retried (the server replays
 * it); a push the server cannot store is answered 503 and applies nothing (no receipt, no
 * record, the same change-log seq afterwards); a pulled page that cannot be stored is not
 * observed and the pull is retried; a store that is not faultable takes no fault.
 *
 * The round's shape (docs/rounds.md): pull-push pulls first and ends on the push's answer; a
 * pulled record over queued changes is kept out (keep), installed under them with the changes
 * rebased onto it so the server finds no conflict (rebase), installed with the changes still
 * queued on their old version (replace), or installed with the changes dropped and observed
 * (discard); syncs asked for during a round coalesce into one, queue one round each, or are
 * dropped (and a device left with nothing scheduled says it is idle); round-start pushes leave a
 * change queued mid-round to the next round; a device-clock watermark read at the answer, at the
 * send or at the round's end loses, or not, an edit made during the round; a cursor saved by
 * page keeps a failed round's progress, one saved by round pulls those pages again; under
 * round: streams a push and a pull are in flight at once, a failed pull retries the pull stream
 * alone, and a pull answered before the push but delivered after its answer hides the device's write.
 */
#include "base/xalloc.h"
#include "engine/engine.h"
#include "engine/strategy.h"
#include "engine/wire.h"
#include "tests/testlib.h"

#include <stdlib.h>
#include <string.h>

#define T0 INT64_C(1735689600000000)   /* 2025-01-01T00:00:00Z */
#define SEC INT64_C(1000000)

/* --- the fake host -------------------------------------------------------------- */

#define MAX_MSGS 64
#define MAX_TIMERS 512
#define MAX_OBS 512
#define MAX_NODES 3

typedef struct sent_msg {
    int from, to;
    message *msg;
} sent_msg;

typedef struct timer_rec {
    int node;
    int64_t delay_us;
    uint64_t token;
} timer_rec;

typedef struct obs_rec {
    int node;
    obs_kind kind;
    char type[32];
    char id[32];
    bool deleted;
    write_id record_w, delete_w, w, loser;
    int n_writes;
    write_id writes[8];
    char detail[96];
    int64_t count;
    int peer;
} obs_rec;

typedef struct fake_host {
    sent_msg msgs[MAX_MSGS];
    int n_msgs;
    timer_rec timers[MAX_TIMERS];
    int n_timers;
    obs_rec obs[MAX_OBS];
    int n_obs;
} fake_host;

static void host_send(void *ctx, int from, int to, message *msg)
{
    fake_host *h = ctx;
    if (h->n_msgs == MAX_MSGS) {
        fprintf(stderr, "%s: too many messages in flight\n", __FILE__);
        test_failures++;
        message_release(msg);
        return;
    }
    h->msgs[h->n_msgs++] = (sent_msg){ .from = from, .to = to, .msg = msg };
}

static void host_set_timer(void *ctx, int node_index, int64_t delay_us, uint64_t token)
{
    fake_host *h = ctx;
    if (h->n_timers == MAX_TIMERS) {
        fprintf(stderr, "%s: too many timers\n", __FILE__);
        test_failures++;
        return;
    }
    h->timers[h->n_timers++] = (timer_rec){ .node = node_index, .delay_us = delay_us, .token = token };
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void host_observe(void *ctx, int node_index, const observation *o)
{
    fake_host *h = ctx;
    if (h->n_obs == MAX_OBS) {
        fprintf(stderr, "%s: too many observations\n", __FILE__);
        test_failures++;
        return;
    }
    obs_rec *r = &h->obs[h->n_obs++];
    memset(r, 0, sizeof *r);
    r->node = node_index;
    r->kind = o->kind;
    copy_str(r->type, sizeof r->type, o->type);
    copy_str(r->id, sizeof r->id, o->id);
    copy_str(r->detail, sizeof r->detail, o->detail);
    r->deleted = o->deleted;
    r->record_w = o->record_w;
    r->delete_w = o->delete_w;
    r->w = o->w;
    r->loser = o->loser;
    r->count = o->count;
    r->peer = o->peer;
    r->n_writes = o->n_writes;
    for (int i = 0; i < o->n_writes && i < 8; i++)
        r->writes[i] = o->writes[i];
}

/* --- the rig: a server (0), a phone (1) and optionally a tablet (2) -------------- */

typedef struct rig {
    fake_host host;
    profile p;
    node *nodes[MAX_NODES];
    int n_nodes;
    int64_t now;
    const char *const *tenants;   /* by node index, or NULL: every device in one tenant */
    bool faultable;               /* stores through the fault shim (storage faults) */
    uint64_t seed;                /* the server's draws (commit_delay: { dist: ... }), as syncsim node's init */
} rig;

#define PHONE 1
#define TABLET 2

/* Defaults with every timer delay distinct, so a test can find a timer by its delay. */
static void rig_init(rig *r)
{
    memset(r, 0, sizeof *r);
    profile_defaults(&r->p);
    r->p.sync_after_write_us = 2500000;   /* default 2s equals the second retry delay */
    r->p.request_timeout_us = 7 * SEC;    /* default 10s equals the fourth retry delay */
    r->now = T0;
}

static void rig_start(rig *r, int n_devices)
{
    static const char *const names[MAX_NODES] = { "server", "phone", "tablet" };
    r->n_nodes = n_devices + 1;
    for (int i = 0; i < r->n_nodes; i++) {
        engine_config cfg = {
            .index = i,
            .name = names[i],
            .tenant = r->tenants && i > 0 ? r->tenants[i] : NULL,
            .tenants = r->tenants,
            .n_nodes = r->n_nodes,
            .profile = &r->p,
            .store_path = NULL,
            .store_faultable = r->faultable,
            .seed = r->seed,
            .host = { .ctx = &r->host, .send = host_send, .set_timer = host_set_timer, .observe = host_observe },
        };
        char *err = NULL;
        r->nodes[i] = engine_node_new(&cfg, &err);
        if (!r->nodes[i]) {
            fprintf(stderr, "engine_node_new(%s): %s\n", names[i], err ? err : "?");
            xfree(err);
            exit(1);
        }
        r->nodes[i]->ops->boot(r->nodes[i], r->now);
    }
}

static void rig_stop(rig *r)
{
    for (int i = 0; i < r->host.n_msgs; i++)
        message_release(r->host.msgs[i].msg);
    r->host.n_msgs = 0;
    for (int i = 0; i < r->n_nodes; i++)
        r->nodes[i]->ops->destroy(r->nodes[i]);
}

static node *N(rig *r, int i)
{
    return r->nodes[i];
}

/* Take the oldest message sent by `from` (the caller frees it), or NULL. */
static cJSON *take_from(rig *r, int from)
{
    for (int i = 0; i < r->host.n_msgs; i++) {
        if (r->host.msgs[i].from == from) {
            /* The tree the message stands for, the caller's to read, change and deliver. */
            cJSON *m = cJSON_Duplicate(message_json(r->host.msgs[i].msg), true);
            message_release(r->host.msgs[i].msg);
            memmove(&r->host.msgs[i], &r->host.msgs[i + 1], (size_t)(r->host.n_msgs - i - 1) * sizeof r->host.msgs[0]);
            r->host.n_msgs--;
            return m;
        }
    }
    return NULL;
}

static int msgs_from(const rig *r, int from)
{
    int n = 0;
    for (int i = 0; i < r->host.n_msgs; i++)
        n += r->host.msgs[i].from == from;
    return n;
}

/* A test's tree as a JSON message for one call; the tree stays the test's. */
#define AS_MSG(t) (&(message){ .refs = 1, .json = (t) })

/* A built message's tree, the caller's (the message is released). */
static cJSON *tree(message *m)
{
    cJSON *t = cJSON_Duplicate(message_json(m), true);
    message_release(m);
    return t;
}

/* A test's tree delivered as a JSON message (an external node's); the tree stays the test's. */
static void deliver(rig *r, int from, int to, cJSON *msg)
{
    message m = { .refs = 1, .json = msg };
    N(r, to)->ops->deliver(N(r, to), from, &m, r->now);
}

/* Deliver every message, oldest first, until none is left. */
static void pump(rig *r)
{
    for (int guard = 0; r->host.n_msgs > 0; guard++) {
        if (guard > 200) {
            fprintf(stderr, "%s: pump does not settle\n", __FILE__);
            test_failures++;
            return;
        }
        sent_msg m = r->host.msgs[0];
        memmove(&r->host.msgs[0], &r->host.msgs[1], (size_t)(r->host.n_msgs - 1) * sizeof r->host.msgs[0]);
        r->host.n_msgs--;
        r->now += 1000;
        /* As sent: the built-in protocol's messages in their native form. */
        N(r, m.to)->ops->deliver(N(r, m.to), m.from, m.msg, r->now);
        message_release(m.msg);
    }
}

static int count_obs(const rig *r, int node_index, obs_kind kind)
{
    int n = 0;
    for (int i = 0; i < r->host.n_obs; i++)
        n += r->host.obs[i].node == node_index && r->host.obs[i].kind == kind;
    return n;
}

/* The latest observation of that kind by the node; a blank one (and a failure) if none. */
static const obs_rec *last_obs(const rig *r, int node_index, obs_kind kind)
{
    static const obs_rec none;
    for (int i = r->host.n_obs - 1; i >= 0; i--)
        if (r->host.obs[i].node == node_index && r->host.obs[i].kind == kind)
            return &r->host.obs[i];
    fprintf(stderr, "%s: node %d made no observation of kind %d\n", __FILE__, node_index, (int)kind);
    test_failures++;
    return &none;
}

static int count_timers(const rig *r, int node_index, int64_t delay_us)
{
    int n = 0;
    for (int i = 0; i < r->host.n_timers; i++)
        n += r->host.timers[i].node == node_index && r->host.timers[i].delay_us == delay_us;
    return n;
}

/* The token of the latest timer the node set with this delay. */
static uint64_t last_timer(const rig *r, int node_index, int64_t delay_us)
{
    for (int i = r->host.n_timers - 1; i >= 0; i--)
        if (r->host.timers[i].node == node_index && r->host.timers[i].delay_us == delay_us)
            return r->host.timers[i].token;
    fprintf(stderr, "%s: node %d set no timer of %lld us\n", __FILE__, node_index, (long long)delay_us);
    test_failures++;
    return 0;
}

static void fire(rig *r, int node_index, uint64_t token, int64_t advance_us)
{
    r->now += advance_us;
    N(r, node_index)->ops->timer(N(r, node_index), token, r->now);
}

static void control(rig *r, int node_index, node_control ctl)
{
    N(r, node_index)->ops->control(N(r, node_index), ctl, r->now);
}

/* A user operation on note/<id> writing one field (none for a delete). */
static bool user(rig *r, int node_index, op_kind kind, const char *id, write_id w, const char *field, value v,
                 const char **reason)
{
    op_field f = { .name = field, .v = v };
    user_op op = {
        .kind = kind,
        .type = "note",
        .id = id,
        .w = w,
        .n_fields = field ? 1 : 0,
        .fields = field ? &f : NULL,
    };
    const char *why = NULL;
    r->now += 1000;
    bool ok = N(r, node_index)->ops->user_op(N(r, node_index), &op, r->now, &why);
    if (reason)
        *reason = why;
    return ok;
}

static value STR(const char *s)
{
    return (value){ .kind = VAL_STRING, .s = s };
}

/* --- reading messages and snapshots ------------------------------------------------- */

static int64_t jint(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(j)) {
        fprintf(stderr, "%s: no number \"%s\"\n", __FILE__, key);
        test_failures++;
        return -1;
    }
    return (int64_t)j->valuedouble;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static const cJSON *jget(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const cJSON *jitem(const cJSON *o, const char *array_key, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, array_key), i);
}

static int jsize(const cJSON *o, const char *array_key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, array_key);
    return cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
}

/* One record of a node's snapshot, copied out. */
typedef struct view {
    bool found;
    bool deleted;
    int64_t version;
    write_id w, del_w;
    int n_fields;
    bool has_field;
    char text[64];
    write_id field_w;
} view;

static view look(rig *r, int node_index, const char *id, const char *field)
{
    view v;
    memset(&v, 0, sizeof v);
    cJSON *snap = N(r, node_index)->ops->snapshot(N(r, node_index));
    const cJSON *rec;
    cJSON_ArrayForEach(rec, jget(snap, "records"))
    {
        if (strcmp(jstr(rec, "type"), "note") != 0 || strcmp(jstr(rec, "id"), id) != 0)
            continue;
        v.found = true;
        v.deleted = cJSON_IsTrue(jget(rec, "deleted"));
        v.version = jint(rec, "version");
        v.w = (write_id)jint(rec, "w");
        v.del_w = (write_id)jint(rec, "del_w");
        v.n_fields = cJSON_GetArraySize(jget(rec, "fields"));
        const cJSON *f = field ? jget(jget(rec, "fields"), field) : NULL;
        if (f) {
            v.has_field = true;
            copy_str(v.text, sizeof v.text, jstr(f, "v"));
            v.field_w = (write_id)jint(f, "w");
        }
    }
    cJSON_Delete(snap);
    return v;
}

/* The whole snapshot as text (xfree it), to compare before and after. */
static char *snap_text(rig *r, int node_index)
{
    cJSON *snap = N(r, node_index)->ops->snapshot(N(r, node_index));
    char *text = cJSON_PrintUnformatted(snap);
    cJSON_Delete(snap);
    char *copy = xstrdup(text);
    cJSON_free(text);
    return copy;
}

/* What the server holds, read through its own protocol: a pull from an unused device index. */
static int64_t server_head_seq(rig *r)
{
    wire_sender none = { .device = "probe", .user = "" };
    cJSON *pull = tree(wire_pull(r->p.wire, &none, 999, 0, NULL, 1000));
    deliver(r, MAX_NODES + 5, 0, pull);
    cJSON_Delete(pull);
    cJSON *reply = take_from(r, 0);
    int64_t next = reply ? jint(reply, "next") : -1;
    cJSON_Delete(reply);
    return next;
}

/* A whole sync round for a device, started by the user, delivered to the end. */
static void sync_now(rig *r, int device)
{
    control(r, device, CTL_SYNC_NOW);
    pump(r);
}

/* Fire the device's latest after-write timer: the round a local write schedules. */
static void after_write(rig *r, int device)
{
    fire(r, device, last_timer(r, device, r->p.sync_after_write_us), r->p.sync_after_write_us);
}

/* --- tests ------------------------------------------------------------------------- */

static void first_round_pulls(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 1);
    EXPECT_INT(count_timers(&r, PHONE, r.p.sync_interval_us), 1);   /* periodic sync armed at boot */
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    EXPECT(N(&r, 0)->ops->idle(N(&r, 0)));

    /* Offline: a manual sync sends nothing. */
    control(&r, PHONE, CTL_SYNC_NOW);
    EXPECT_INT(r.host.n_msgs, 0);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_BEGIN), 0);

    control(&r, PHONE, CTL_NET_UP);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_BEGIN), 1);
    EXPECT_INT(r.host.n_msgs, 1);
    EXPECT_INT(r.host.msgs[0].to, 0);
    cJSON *pull = take_from(&r, PHONE);
    EXPECT(pull != NULL);
    if (!pull) {
        rig_stop(&r);
        return;
    }
    EXPECT_STR(jstr(pull, "type"), "pull");
    EXPECT(jint(pull, "req") > 0);
    EXPECT_INT(jint(pull, "since"), 0);
    EXPECT_INT(jint(pull, "limit"), r.p.pull_page_max);
    EXPECT_INT(count_timers(&r, PHONE, r.p.request_timeout_us), 1);   /* the request timeout */
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));

    deliver(&r, PHONE, 0, pull);
    cJSON *reply = take_from(&r, 0);
    EXPECT(reply != NULL);
    EXPECT_STR(jstr(reply, "type"), "pull_result");
    EXPECT_INT(jint(reply, "req"), jint(pull, "req"));
    EXPECT_INT(jsize(reply, "changes"), 0);
    EXPECT(cJSON_IsFalse(jget(reply, "has_more")));
    EXPECT_INT(jint(reply, "next"), 0);
    EXPECT_INT(count_obs(&r, 0, OBS_SERVED_HEAD), 1);
    EXPECT_INT(last_obs(&r, 0, OBS_SERVED_HEAD)->peer, PHONE);

    deliver(&r, 0, PHONE, reply);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), 1);
    EXPECT_INT(last_obs(&r, PHONE, OBS_SYNC_END)->count, 0);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    EXPECT_INT(r.host.n_msgs, 0);
    cJSON_Delete(pull);
    cJSON_Delete(reply);
    rig_stop(&r);
}

static void create_is_pushed_applied_and_acknowledged(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    int timers_before = count_timers(&r, PHONE, r.p.sync_after_write_us);

    const write_id w = WRITE_ID(PHONE, 1);
    const char *why = NULL;
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", w, "text", STR("hi"), &why));
    EXPECT_INT(count_obs(&r, PHONE, OBS_RECORD), 1);
    const obs_rec *o = last_obs(&r, PHONE, OBS_RECORD);
    EXPECT_STR(o->type, "note");
    EXPECT_STR(o->id, "n1");
    EXPECT(!o->deleted);
    EXPECT_U64(o->record_w, w);
    EXPECT_U64(o->delete_w, WRITE_NONE);
    EXPECT_INT(o->n_writes, 1);
    EXPECT_U64(o->writes[0], w);
    view v = look(&r, PHONE, "n1", "text");
    EXPECT(v.found);
    EXPECT_STR(v.text, "hi");
    EXPECT_U64(v.field_w, w);
    EXPECT_INT(v.version, 0);
    EXPECT_INT(r.host.n_msgs, 0);   /* nothing sent yet: the after-write sync is delayed */
    EXPECT_INT(count_timers(&r, PHONE, r.p.sync_after_write_us), timers_before + 1);
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));

    /* The after-write round pushes the change. */
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.sync_after_write_us), r.p.sync_after_write_us);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_BEGIN), 2);
    cJSON *push = take_from(&r, PHONE);
    EXPECT(push != NULL);
    if (!push) {
        rig_stop(&r);
        return;
    }
    EXPECT_STR(jstr(push, "type"), "push");
    EXPECT_STR(jstr(push, "device"), "phone");
    EXPECT_INT(jsize(push, "changes"), 1);
    const cJSON *c = jitem(push, "changes", 0);
    EXPECT_STR(jstr(c, "op"), "create");
    EXPECT(jint(c, "op_id") > 0);
    EXPECT_INT(jint(c, "base_version"), 0);
    EXPECT_INT(jsize(c, "changed"), 1);
    EXPECT_STR(cJSON_GetArrayItem(jget(c, "changed"), 0)->valuestring, "text");
    EXPECT_U64(jint(jget(jget(c, "record"), "st"), "w"), w);
    EXPECT_U64(jint(jget(jget(jget(c, "record"), "fields"), "text"), "w"), w);
    EXPECT_STR(jstr(jget(jget(jget(c, "record"), "fields"), "text"), "v"), "hi");

    /* The server applies it. */
    deliver(&r, PHONE, 0, push);
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), 1);
    o = last_obs(&r, 0, OBS_RECEIVED);
    EXPECT_U64(o->w, w);
    EXPECT_STR(o->type, "note");
    EXPECT_STR(o->id, "n1");
    EXPECT_INT(count_obs(&r, 0, OBS_RECORD), 1);
    EXPECT_U64(last_obs(&r, 0, OBS_RECORD)->record_w, w);
    EXPECT_INT(count_obs(&r, 0, OBS_CONFLICT), 0);
    v = look(&r, 0, "n1", "text");
    EXPECT(v.found);
    EXPECT_STR(v.text, "hi");
    EXPECT_U64(v.field_w, w);
    EXPECT_U64(v.w, w);
    EXPECT_INT(v.version, 1);

    cJSON *reply = take_from(&r, 0);
    EXPECT(reply != NULL);
    EXPECT_STR(jstr(reply, "type"), "push_result");
    EXPECT_INT(jint(reply, "req"), jint(push, "req"));
    EXPECT_INT(jsize(reply, "results"), 1);
    const cJSON *res = jitem(reply, "results", 0);
    EXPECT_INT(jint(res, "op_id"), jint(c, "op_id"));
    EXPECT_STR(jstr(res, "status"), "applied");
    EXPECT(cJSON_IsFalse(jget(res, "conflict")));
    EXPECT_INT(jint(jget(res, "record"), "version"), 1);

    /* The reply removes the change from the outbox; the round goes on to pull. */
    deliver(&r, 0, PHONE, reply);
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));   /* the pull is in flight */
    cJSON *pull = take_from(&r, PHONE);
    EXPECT(pull != NULL);
    EXPECT_STR(jstr(pull, "type"), "pull");
    deliver(&r, PHONE, 0, pull);
    pump(&r);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), 2);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    v = look(&r, PHONE, "n1", "text");
    EXPECT_INT(v.version, 1);   /* the server's version was adopted */
    EXPECT_U64(v.field_w, w);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RECORD), 1);   /* a new version of the same state is no new state */

    /* Nothing left to push: the next round only pulls. */
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *next = take_from(&r, PHONE);
    EXPECT_STR(jstr(next, "type"), "pull");
    deliver(&r, PHONE, 0, next);
    cJSON_Delete(next);
    pump(&r);
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), 1);

    /* The server stamped what the change wrote with its own clock when it applied it. */
    const cJSON *srec = jget(res, "record");
    EXPECT(jint(jget(srec, "st"), "s") > T0);
    EXPECT(jint(jget(jget(srec, "fields"), "text"), "s") > T0);

    /* An update of the acknowledged record is made on its version: no conflict. */
    EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("bye"), NULL));
    after_write(&r, PHONE);
    cJSON *upd = take_from(&r, PHONE);
    EXPECT_STR(jstr(upd, "type"), "push");
    EXPECT_STR(jstr(jitem(upd, "changes", 0), "op"), "update");
    EXPECT_INT(jint(jitem(upd, "changes", 0), "base_version"), 1);
    deliver(&r, PHONE, 0, upd);
    cJSON_Delete(upd);
    cJSON *upd_reply = take_from(&r, 0);
    EXPECT(cJSON_IsFalse(jget(jitem(upd_reply, "results", 0), "conflict")));
    EXPECT_STR(jstr(jitem(upd_reply, "results", 0), "status"), "applied");
    cJSON_Delete(upd_reply);
    EXPECT_INT(count_obs(&r, 0, OBS_CONFLICT), 0);
    v = look(&r, 0, "n1", "text");
    EXPECT_INT(v.version, 2);
    EXPECT_STR(v.text, "bye");
    EXPECT_U64(v.field_w, WRITE_ID(PHONE, 2));
    cJSON_Delete(push);
    cJSON_Delete(reply);
    cJSON_Delete(pull);
    rig_stop(&r);
}

/* Create n1 on the phone and return its push, not yet delivered. */
static cJSON *phone_push_of_create(rig *r, write_id w, const char *text)
{
    control(r, PHONE, CTL_NET_UP);
    pump(r);
    EXPECT(user(r, PHONE, OP_CREATE, "n1", w, "text", STR(text), NULL));
    after_write(r, PHONE);
    cJSON *push = take_from(r, PHONE);
    EXPECT(push != NULL);
    EXPECT_STR(jstr(push, "type"), "push");
    return push;
}

static void duplicate_push_is_applied_once_with_idempotency(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 1);
    const write_id w = WRITE_ID(PHONE, 1);
    cJSON *push = phone_push_of_create(&r, w, "hi");
    if (!push) {
        rig_stop(&r);
        return;
    }
    deliver(&r, PHONE, 0, push);
    cJSON *first = take_from(&r, 0);
    int64_t seq = server_head_seq(&r);
    EXPECT_INT(seq, 1);

    r.now += 30 * SEC;   /* a retry, later */
    deliver(&r, PHONE, 0, push);
    cJSON *second = take_from(&r, 0);
    EXPECT(first != NULL && second != NULL);
    /* The first result, replayed (the answers differ only in the server's clock). */
    EXPECT(cJSON_Compare(jget(first, "results"), jget(second, "results"), true));
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), 1);
    EXPECT_INT(count_obs(&r, 0, OBS_RECORD), 1);
    EXPECT_INT(count_obs(&r, 0, OBS_CONFLICT), 0);
    EXPECT_INT(server_head_seq(&r), seq);   /* the change log did not advance */
    EXPECT_INT(look(&r, 0, "n1", "text").version, 1);

    /* The phone takes the first reply; the duplicate reply answers nothing in flight. */
    deliver(&r, 0, PHONE, first);
    int obs_before = r.host.n_obs;
    cJSON *pull = take_from(&r, PHONE);
    deliver(&r, 0, PHONE, second);
    EXPECT_INT(r.host.n_obs, obs_before);
    EXPECT_INT(r.host.n_msgs, 0);
    deliver(&r, PHONE, 0, pull);
    pump(&r);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    cJSON_Delete(pull);
    cJSON_Delete(first);
    cJSON_Delete(second);
    cJSON_Delete(push);
    rig_stop(&r);
}

static void duplicate_push_is_applied_twice_without_idempotency(void)
{
    rig r;
    rig_init(&r);
    r.p.idempotency = false;
    rig_start(&r, 1);
    const write_id w = WRITE_ID(PHONE, 1);
    cJSON *push = phone_push_of_create(&r, w, "hi");
    if (!push) {
        rig_stop(&r);
        return;
    }
    deliver(&r, PHONE, 0, push);
    cJSON *first = take_from(&r, 0);
    r.now += 30 * SEC;
    deliver(&r, PHONE, 0, push);
    cJSON *second = take_from(&r, 0);
    EXPECT(first != NULL && second != NULL);
    /* Processed again: received twice, and the second answer is not a replay of the first. */
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), 2);
    EXPECT(!cJSON_Compare(first, second, true));
    EXPECT_STR(jstr(jitem(first, "results", 0), "status"), "applied");
    /* The server now sees its own write as a concurrent create (base 0, version 1). */
    EXPECT(cJSON_IsTrue(jget(jitem(second, "results", 0), "conflict")));
    cJSON_Delete(first);
    cJSON_Delete(second);
    cJSON_Delete(push);
    rig_stop(&r);
}

/*
 * The harm a replayed change does without deduplication: the phone's create
 * is applied, the tablet updates the record, then a retry of the phone's
 * push arrives. Under client-wins it is applied a second time (the version
 * advances twice) and overwrites the tablet's newer write; with idempotency
 * the retry is answered from the first result and changes nothing.
 */
static void stale_retry(bool idempotency, int64_t *version, write_id *text_w, int *received, int64_t *reply_version,
                        char *reply_text, size_t reply_text_size)
{
    rig r;
    rig_init(&r);
    r.p.idempotency = idempotency;
    r.p.fallback.strategy = strategy_find("client-wins");
    r.p.fallback.grain = GRAIN_RECORD;
    rig_start(&r, 2);
    const write_id wp = WRITE_ID(PHONE, 1), wt = WRITE_ID(TABLET, 1);
    cJSON *push = phone_push_of_create(&r, wp, "draft");
    if (!push) {
        rig_stop(&r);
        return;
    }
    deliver(&r, PHONE, 0, push);   /* applied: version 1; the reply is lost */
    cJSON_Delete(take_from(&r, 0));
    EXPECT_INT(look(&r, 0, "n1", "text").version, 1);

    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    EXPECT_STR(look(&r, TABLET, "n1", "text").text, "draft");
    EXPECT(user(&r, TABLET, OP_UPDATE, "n1", wt, "text", STR("tablet's"), NULL));
    sync_now(&r, TABLET);
    EXPECT_INT(look(&r, 0, "n1", "text").version, 2);
    EXPECT_U64(look(&r, 0, "n1", "text").field_w, wt);

    r.now += 60 * SEC;
    deliver(&r, PHONE, 0, push);   /* the phone's retry of the same push */
    cJSON *reply = take_from(&r, 0);
    const cJSON *res = jitem(reply, "results", 0);
    EXPECT_STR(jstr(res, "status"), "applied");   /* the first outcome, replayed */
    const cJSON *rec = jget(res, "record");
    *reply_version = jint(rec, "version");
    const char *text = jstr(jget(jget(rec, "fields"), "text"), "v");
    snprintf(reply_text, reply_text_size, "%s", text ? text : "");
    cJSON_Delete(reply);
    view v = look(&r, 0, "n1", "text");
    *version = v.version;
    *text_w = v.field_w;
    *received = count_obs(&r, 0, OBS_RECEIVED);
    cJSON_Delete(push);
    rig_stop(&r);
}

static void stale_retry_with_and_without_idempotency(void)
{
    int64_t version, reply_version;
    write_id text_w;
    int received;
    char reply_text[64];
    stale_retry(true, &version, &text_w, &received, &reply_version, reply_text, sizeof reply_text);
    EXPECT_INT(version, 2);
    EXPECT_U64(text_w, WRITE_ID(TABLET, 1));
    EXPECT_INT(received, 2);   /* the phone's create once, the tablet's update once */
    /* The replayed answer carries the record as it is now, not as the first
     * answer had it: adopting a stale copy would roll the phone back. */
    EXPECT_INT(reply_version, 2);
    EXPECT_STR(reply_text, "tablet's");

    stale_retry(false, &version, &text_w, &received, &reply_version, reply_text, sizeof reply_text);
    EXPECT_INT(version, 3);    /* the phone's create applied twice */
    EXPECT_U64(text_w, WRITE_ID(PHONE, 1));
    EXPECT_INT(received, 3);
    EXPECT_INT(reply_version, 3);
    EXPECT_STR(reply_text, "draft");
}

static void replies_to_other_requests_are_ignored(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 2);
    /* The server holds n1, from the phone. */
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("hi"), NULL));
    sync_now(&r, PHONE);

    /* The tablet pulls; the reply is tampered with in various ways before the real one arrives. */
    control(&r, TABLET, CTL_NET_UP);
    cJSON *pull = take_from(&r, TABLET);
    deliver(&r, TABLET, 0, pull);
    cJSON *reply = take_from(&r, 0);
    EXPECT(reply != NULL && jsize(reply, "changes") == 1);
    int64_t req = jint(reply, "req");
    char *before = snap_text(&r, TABLET);
    int obs_before = r.host.n_obs;

    cJSON *other = cJSON_Duplicate(reply, true);
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(other, "req"), (double)(req + 1));
    deliver(&r, 0, TABLET, other);                          /* a later request id */
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(other, "req"), (double)(req - 1));
    deliver(&r, 0, TABLET, other);                          /* an earlier one */
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(other, "req"), 0);
    deliver(&r, 0, TABLET, other);                          /* "nothing in flight" */
    deliver(&r, PHONE, TABLET, reply);                      /* right id, not from the server */
    cJSON *as_push = cJSON_Duplicate(reply, true);
    cJSON_ReplaceItemInObjectCaseSensitive(as_push, "type", cJSON_CreateString("push_result"));
    cJSON_AddItemToObject(as_push, "results", cJSON_CreateArray());
    deliver(&r, 0, TABLET, as_push);                        /* right id, wrong kind of answer */

    char *after = snap_text(&r, TABLET);
    EXPECT_STR(after, before);
    EXPECT_INT(r.host.n_obs, obs_before);
    EXPECT_INT(r.host.n_msgs, 0);
    EXPECT(!N(&r, TABLET)->ops->idle(N(&r, TABLET)));

    /* The real reply is still accepted, once. */
    deliver(&r, 0, TABLET, reply);
    EXPECT_INT(count_obs(&r, TABLET, OBS_SYNC_END), 1);
    EXPECT_STR(look(&r, TABLET, "n1", "text").text, "hi");
    EXPECT_INT(count_obs(&r, TABLET, OBS_RECORD), 1);
    deliver(&r, 0, TABLET, reply);
    EXPECT_INT(count_obs(&r, TABLET, OBS_SYNC_END), 1);
    EXPECT_INT(count_obs(&r, TABLET, OBS_RECORD), 1);
    EXPECT(N(&r, TABLET)->ops->idle(N(&r, TABLET)));

    xfree(before);
    xfree(after);
    cJSON_Delete(pull);
    cJSON_Delete(reply);
    cJSON_Delete(other);
    cJSON_Delete(as_push);
    rig_stop(&r);
}

static void pull_pages_follow_the_cursor(void)
{
    rig r;
    rig_init(&r);
    r.p.pull_page_max = 1;
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
    EXPECT(user(&r, PHONE, OP_CREATE, "n2", WRITE_ID(PHONE, 2), "text", STR("two"), NULL));
    sync_now(&r, PHONE);
    EXPECT_INT(look(&r, 0, "n2", "text").version, 1);
    int served_before = count_obs(&r, 0, OBS_SERVED_HEAD);

    control(&r, TABLET, CTL_NET_UP);
    cJSON *p1 = take_from(&r, TABLET);
    EXPECT_STR(jstr(p1, "type"), "pull");
    EXPECT_INT(jint(p1, "since"), 0);
    EXPECT_INT(jint(p1, "limit"), 1);
    deliver(&r, TABLET, 0, p1);
    cJSON *r1 = take_from(&r, 0);
    EXPECT_INT(jsize(r1, "changes"), 1);
    EXPECT(cJSON_IsTrue(jget(r1, "has_more")));
    int64_t next1 = jint(r1, "next");
    EXPECT(next1 > 0);
    EXPECT_INT(count_obs(&r, 0, OBS_SERVED_HEAD), served_before);   /* not at the head yet */

    deliver(&r, 0, TABLET, r1);
    cJSON *p2 = take_from(&r, TABLET);
    EXPECT(p2 != NULL);
    EXPECT_STR(jstr(p2, "type"), "pull");
    EXPECT_INT(jint(p2, "since"), next1);
    EXPECT_INT(jint(p2, "limit"), 1);
    EXPECT(jint(p2, "req") != jint(p1, "req"));
    EXPECT_INT(count_obs(&r, TABLET, OBS_SYNC_END), 0);

    deliver(&r, TABLET, 0, p2);
    cJSON *r2 = take_from(&r, 0);
    EXPECT_INT(jsize(r2, "changes"), 1);
    EXPECT(cJSON_IsFalse(jget(r2, "has_more")));
    EXPECT(jint(r2, "next") > next1);
    EXPECT_STR(jstr(jitem(r2, "changes", 0), "id"), "n2");
    EXPECT_STR(jstr(jitem(r1, "changes", 0), "id"), "n1");
    EXPECT_INT(count_obs(&r, 0, OBS_SERVED_HEAD), served_before + 1);
    deliver(&r, 0, TABLET, r2);
    EXPECT_INT(r.host.n_msgs, 0);
    EXPECT_INT(count_obs(&r, TABLET, OBS_SYNC_END), 1);
    EXPECT_INT(last_obs(&r, TABLET, OBS_SYNC_END)->count, 2);
    EXPECT_STR(look(&r, TABLET, "n1", "text").text, "one");
    EXPECT_STR(look(&r, TABLET, "n2", "text").text, "two");

    /* The cursor is kept: the next round asks from the last page's next... */
    control(&r, TABLET, CTL_SYNC_NOW);
    cJSON *p3 = take_from(&r, TABLET);
    EXPECT_INT(jint(p3, "since"), jint(r2, "next"));
    /* ...and so does the first round after a restart: the cursor is durable. */
    N(&r, TABLET)->ops->crash(N(&r, TABLET));
    N(&r, TABLET)->ops->boot(N(&r, TABLET), r.now);
    control(&r, TABLET, CTL_NET_UP);
    cJSON *p4 = take_from(&r, TABLET);
    EXPECT_STR(jstr(p4, "type"), "pull");
    EXPECT_INT(jint(p4, "since"), jint(r2, "next"));
    cJSON_Delete(p4);
    cJSON_Delete(p1);
    cJSON_Delete(r1);
    cJSON_Delete(p2);
    cJSON_Delete(r2);
    cJSON_Delete(p3);
    rig_stop(&r);
}

/*
 * A page that arrives while the device has an unpushed change to a record
 * must not overwrite that record: the server decides, through the push.
 */
static void a_pull_does_not_overwrite_pending_changes(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
    sync_now(&r, PHONE);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, TABLET, OP_UPDATE, "n1", WRITE_ID(TABLET, 1), "text", STR("tablet"), NULL));
    sync_now(&r, TABLET);
    EXPECT_U64(look(&r, 0, "n1", "text").field_w, WRITE_ID(TABLET, 1));

    /* The phone's pull is in flight when the user edits n1. */
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *pull = take_from(&r, PHONE);
    EXPECT_STR(jstr(pull, "type"), "pull");
    EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("phone"), NULL));
    int records_before = count_obs(&r, PHONE, OBS_RECORD);
    deliver(&r, PHONE, 0, pull);
    cJSON *page = take_from(&r, 0);
    EXPECT_INT(jsize(page, "changes"), 1);
    deliver(&r, 0, PHONE, page);
    view v = look(&r, PHONE, "n1", "text");
    EXPECT_STR(v.text, "phone");
    EXPECT_U64(v.field_w, WRITE_ID(PHONE, 2));
    EXPECT_INT(count_obs(&r, PHONE, OBS_RECORD), records_before);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), 3);   /* the round itself completed */
    cJSON_Delete(pull);
    cJSON_Delete(page);
    rig_stop(&r);
}

static void refused_user_ops_write_nothing(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    char *empty = snap_text(&r, PHONE);
    int timers = r.host.n_timers;
    const char *why = NULL;

    EXPECT(!user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 1), "text", STR("x"), &why));
    EXPECT_CONTAINS(why, "no such record");
    why = NULL;
    EXPECT(!user(&r, PHONE, OP_DELETE, "n1", WRITE_ID(PHONE, 2), NULL, STR(""), &why));
    EXPECT_CONTAINS(why, "no such record");

    /* More fields than a record holds. */
    enum { TOO_MANY = RECORD_FIELDS_MAX + 1 };
    static char names[TOO_MANY][8];
    static op_field fields[TOO_MANY];
    for (int i = 0; i < TOO_MANY; i++) {
        snprintf(names[i], sizeof names[i], "f%02d", i);
        fields[i] = (op_field){ .name = names[i], .v = { .kind = VAL_INT, .i = i } };
    }
    user_op big = { .kind = OP_CREATE, .type = "note", .id = "big", .w = WRITE_ID(PHONE, 3), .n_fields = TOO_MANY,
                    .fields = fields };
    why = NULL;
    EXPECT(!N(&r, PHONE)->ops->user_op(N(&r, PHONE), &big, r.now, &why));
    EXPECT(why != NULL && why[0] != '\0');

    char *still_empty = snap_text(&r, PHONE);
    EXPECT_STR(still_empty, empty);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RECORD), 0);
    EXPECT_INT(r.host.n_timers, timers);   /* no after-write sync for nothing */
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));

    const write_id w = WRITE_ID(PHONE, 4);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", w, "text", STR("first"), NULL));
    char *one = snap_text(&r, PHONE);
    why = NULL;
    EXPECT(!user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 5), "text", STR("second"), &why));
    EXPECT_CONTAINS(why, "already exists");
    char *still_one = snap_text(&r, PHONE);
    EXPECT_STR(still_one, one);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RECORD), 1);

    EXPECT(user(&r, PHONE, OP_DELETE, "n1", WRITE_ID(PHONE, 6), NULL, STR(""), NULL));
    why = NULL;
    EXPECT(!user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 7), "text", STR("x"), &why));
    EXPECT_CONTAINS(why, "deleted");
    why = NULL;
    EXPECT(!user(&r, PHONE, OP_DELETE, "n1", WRITE_ID(PHONE, 8), NULL, STR(""), &why));
    EXPECT_CONTAINS(why, "deleted");
    view v = look(&r, PHONE, "n1", "text");
    EXPECT(v.deleted);
    EXPECT_U64(v.del_w, WRITE_ID(PHONE, 6));

    /* Only the two accepted writes are queued. */
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *push = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");
    EXPECT_INT(jsize(push, "changes"), 2);
    EXPECT_STR(jstr(jitem(push, "changes", 0), "op"), "create");
    EXPECT_STR(jstr(jitem(push, "changes", 1), "op"), "delete");
    EXPECT_U64(jint(jget(jget(jitem(push, "changes", 1), "record"), "del"), "w"), WRITE_ID(PHONE, 6));

    /* The server refuses user operations. */
    why = NULL;
    EXPECT(!user(&r, 0, OP_CREATE, "s1", WRITE_ID(0, 1), "text", STR("x"), &why));
    EXPECT(why != NULL);
    EXPECT(!look(&r, 0, "s1", NULL).found);

    xfree(empty);
    xfree(still_empty);
    xfree(one);
    xfree(still_one);
    cJSON_Delete(push);
    rig_stop(&r);
}

static void crash_keeps_the_store_and_forgets_the_request(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    const write_id w = WRITE_ID(PHONE, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", w, "text", STR("hi"), NULL));
    uint64_t after_write = last_timer(&r, PHONE, r.p.sync_after_write_us);
    control(&r, PHONE, CTL_SYNC_NOW);
    uint64_t timeout = last_timer(&r, PHONE, r.p.request_timeout_us);
    cJSON *push = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");
    deliver(&r, PHONE, 0, push);
    cJSON *reply = take_from(&r, 0);   /* held: the phone crashes before it arrives */
    char *before = snap_text(&r, PHONE);

    uint64_t periodic_token = last_timer(&r, PHONE, r.p.sync_interval_us);
    N(&r, PHONE)->ops->crash(N(&r, PHONE));
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));   /* a crashed node does nothing */
    int periodic = count_timers(&r, PHONE, r.p.sync_interval_us);
    r.now += 5 * SEC;
    N(&r, PHONE)->ops->boot(N(&r, PHONE), r.now);
    EXPECT_INT(count_timers(&r, PHONE, r.p.sync_interval_us), periodic + 1);

    /* Records and outbox survived. */
    char *after = snap_text(&r, PHONE);
    EXPECT_STR(after, before);
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));   /* the change still waits to be acknowledged */

    /* The request in flight, its timeout and the old after-write timer are forgotten. */
    int obs_before = r.host.n_obs;
    deliver(&r, 0, PHONE, reply);
    fire(&r, PHONE, timeout, r.p.request_timeout_us);
    fire(&r, PHONE, after_write, 0);
    EXPECT_INT(r.host.n_obs, obs_before);
    EXPECT_INT(r.host.n_msgs, 0);
    char *after2 = snap_text(&r, PHONE);
    EXPECT_STR(after2, before);
    EXPECT_INT(look(&r, PHONE, "n1", "text").version, 0);   /* the lost reply was not applied */

    /* The same change goes out again; the server recognises it. */
    control(&r, PHONE, CTL_NET_UP);
    cJSON *again = take_from(&r, PHONE);
    EXPECT_STR(jstr(again, "type"), "push");
    EXPECT_INT(jint(jitem(again, "changes", 0), "op_id"), jint(jitem(push, "changes", 0), "op_id"));
    EXPECT_U64(jint(jget(jget(jitem(again, "changes", 0), "record"), "st"), "w"), w);
    EXPECT(jint(again, "req") != jint(push, "req"));
    deliver(&r, PHONE, 0, again);
    pump(&r);
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), 1);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    EXPECT_INT(look(&r, PHONE, "n1", "text").version, 1);

    /* Online and idle now: timers set before the crash still start nothing. */
    int rounds = count_obs(&r, PHONE, OBS_SYNC_BEGIN);
    fire(&r, PHONE, after_write, 0);
    fire(&r, PHONE, periodic_token, 0);
    fire(&r, PHONE, timeout, 0);
    EXPECT_INT(r.host.n_msgs, 0);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_BEGIN), rounds);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 0);

    /* The HLC is recovered from the stored stamps: after a restart, and before
     * hearing from the server, a write at an earlier wall time than the create
     * still stamps above it. */
    const cJSON *create_st = jget(jget(jitem(push, "changes", 0), "record"), "st");
    hlc create_h = { .l_us = jint(create_st, "hl"), .c = (uint32_t)jint(create_st, "hc") };
    N(&r, PHONE)->ops->crash(N(&r, PHONE));
    r.now -= 3600 * SEC;   /* the phone's clock was stepped back an hour */
    N(&r, PHONE)->ops->boot(N(&r, PHONE), r.now);
    EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("later"), NULL));
    control(&r, PHONE, CTL_NET_UP);
    cJSON *upd = take_from(&r, PHONE);
    EXPECT_STR(jstr(upd, "type"), "push");
    const cJSON *st = jget(jget(jitem(upd, "changes", 0), "record"), "st");
    hlc upd_h = { .l_us = jint(st, "hl"), .c = (uint32_t)jint(st, "hc") };
    EXPECT(hlc_compare(upd_h, create_h) > 0);
    deliver(&r, PHONE, 0, upd);
    pump(&r);
    EXPECT_U64(look(&r, 0, "n1", "text").field_w, WRITE_ID(PHONE, 2));   /* lww-hlc: the later write wins */

    xfree(before);
    xfree(after);
    xfree(after2);
    cJSON_Delete(push);
    cJSON_Delete(reply);
    cJSON_Delete(again);
    cJSON_Delete(upd);
    rig_stop(&r);
}

static void server_restart_keeps_seq_and_deduplication(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 1);
    cJSON *push = phone_push_of_create(&r, WRITE_ID(PHONE, 1), "hi");
    deliver(&r, PHONE, 0, push);
    cJSON *first = take_from(&r, 0);
    EXPECT_INT(server_head_seq(&r), 1);

    N(&r, 0)->ops->crash(N(&r, 0));
    deliver(&r, PHONE, 0, push);   /* a crashed server does nothing */
    EXPECT_INT(msgs_from(&r, 0), 0);
    N(&r, 0)->ops->boot(N(&r, 0), r.now);

    deliver(&r, PHONE, 0, push);   /* a retry after the restart: still deduplicated */
    cJSON *second = take_from(&r, 0);
    EXPECT(cJSON_Compare(first, second, true));
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), 1);

    /* The next change gets the next seq, not a reused one. */
    deliver(&r, 0, PHONE, first);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n2", WRITE_ID(PHONE, 2), "text", STR("two"), NULL));
    sync_now(&r, PHONE);
    EXPECT_INT(server_head_seq(&r), 2);
    cJSON_Delete(push);
    cJSON_Delete(first);
    cJSON_Delete(second);
    rig_stop(&r);
}

static void timeouts_retry_on_schedule(void)
{
    rig r;
    rig_init(&r);
    r.p.n_retry = 2;
    r.p.retry_us[0] = 1 * SEC;
    r.p.retry_us[1] = 3 * SEC;
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    cJSON *pull1 = take_from(&r, PHONE);
    uint64_t t1 = last_timer(&r, PHONE, r.p.request_timeout_us);
    EXPECT_INT(count_timers(&r, PHONE, 1 * SEC), 0);

    fire(&r, PHONE, t1, r.p.request_timeout_us);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);
    EXPECT_INT(last_obs(&r, PHONE, OBS_RETRY)->count, 1);
    EXPECT_INT(count_timers(&r, PHONE, 1 * SEC), 1);   /* the first delay of the schedule */
    EXPECT_INT(r.host.n_msgs, 0);
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));   /* a retry is pending */
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), 0);

    /* The same timeout again, and a late reply to the failed request: nothing. */
    fire(&r, PHONE, t1, 0);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);
    deliver(&r, PHONE, 0, pull1);
    cJSON *late = take_from(&r, 0);
    int obs_before = r.host.n_obs;
    deliver(&r, 0, PHONE, late);
    EXPECT_INT(r.host.n_obs, obs_before);
    EXPECT_INT(r.host.n_msgs, 0);

    /* The retry starts a new round with a new request; it times out too: the second delay. */
    uint64_t retry1 = last_timer(&r, PHONE, 1 * SEC);
    fire(&r, PHONE, retry1, 1 * SEC);
    cJSON *pull2 = take_from(&r, PHONE);
    EXPECT_STR(jstr(pull2, "type"), "pull");
    EXPECT(jint(pull2, "req") != jint(pull1, "req"));
    fire(&r, PHONE, t1, 0);   /* the failed request's timeout does not fail the new one */
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 2);
    EXPECT_INT(last_obs(&r, PHONE, OBS_RETRY)->count, 2);
    EXPECT_INT(count_timers(&r, PHONE, 3 * SEC), 1);

    /* A stale retry timer does nothing. */
    fire(&r, PHONE, retry1, 0);
    EXPECT_INT(r.host.n_msgs, 0);

    /* Past the schedule (repeat-last): the last delay again. */
    fire(&r, PHONE, last_timer(&r, PHONE, 3 * SEC), 3 * SEC);
    cJSON_Delete(take_from(&r, PHONE));
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 3);
    EXPECT_INT(count_timers(&r, PHONE, 3 * SEC), 2);
    EXPECT_INT(count_obs(&r, PHONE, OBS_GAVE_UP), 0);

    /* A round that succeeds resets the count: the next failure waits the first delay again. */
    fire(&r, PHONE, last_timer(&r, PHONE, 3 * SEC), 3 * SEC);
    pump(&r);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), 1);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON_Delete(take_from(&r, PHONE));
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    EXPECT_INT(last_obs(&r, PHONE, OBS_RETRY)->count, 1);
    EXPECT_INT(count_timers(&r, PHONE, 1 * SEC), 2);

    cJSON_Delete(pull1);
    cJSON_Delete(pull2);
    cJSON_Delete(late);
    rig_stop(&r);
}

/*
 * A gateway's 503 fails the request at once: the retry waits the schedule's first delay, not
 * the timeout; the change stays queued (nothing reached the server); the retry pushes it again
 * and a success settles it. A 503 answering another request, or a late one, changes nothing.
 */
static void gateway_errors_retry_on_schedule(void)
{
    rig r;
    rig_init(&r);
    r.p.n_retry = 2;
    r.p.retry_us[0] = 1 * SEC;
    r.p.retry_us[1] = 3 * SEC;
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("a"), NULL));
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *push = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");
    int64_t req = jint(push, "req");

    cJSON *other = tree(wire_gateway_error(req + 1, WIRE_GATEWAY_STATUS_UNAVAILABLE));
    deliver(&r, 0, PHONE, other);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 0);

    cJSON *error = tree(wire_gateway_error(req, WIRE_GATEWAY_STATUS_UNAVAILABLE));
    int status = 0;
    EXPECT(wire_gateway_status(AS_MSG(error), &status));
    EXPECT_INT(status, 503);
    deliver(&r, 0, PHONE, error);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);
    EXPECT_INT(count_timers(&r, PHONE, 1 * SEC), 1);
    EXPECT_INT(r.host.n_msgs, 0);
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));   /* the change is still queued, a retry pending */
    EXPECT_INT(server_head_seq(&r), 0);               /* and the server never saw it */
    deliver(&r, 0, PHONE, error);                     /* a duplicate of the answer: the request is gone */
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);

    fire(&r, PHONE, last_timer(&r, PHONE, 1 * SEC), 1 * SEC);
    cJSON *again = take_from(&r, PHONE);
    EXPECT_STR(jstr(again, "type"), "push");
    EXPECT(jint(again, "req") != req);
    deliver(&r, PHONE, 0, again);
    pump(&r);
    after_write(&r, PHONE);   /* the round the write scheduled: nothing left to push */
    pump(&r);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    EXPECT_INT(server_head_seq(&r), 1);

    /* No answer of a dialect is taken for a gateway error. */
    cJSON *ok = cJSON_Parse("{\"req\":3,\"status\":200,\"body\":{}}");
    EXPECT(!wire_gateway_status(AS_MSG(ok), &status));
    EXPECT(!wire_gateway_status(AS_MSG(push), &status));

    cJSON_Delete(ok);
    cJSON_Delete(push);
    cJSON_Delete(again);
    cJSON_Delete(other);
    cJSON_Delete(error);
    rig_stop(&r);
}

/*
 * A 401: under auth_refresh: refresh the device asks for a token and, granted one, pushes
 * again at once without counting a failure; a second 401 before any success fails the
 * request (no refresh loop). Under relaunch the 401 is a failed request, the change stays
 * queued, and no token is asked for.
 */
static void expired_token(auth_refresh mode)
{
    rig r;
    rig_init(&r);
    r.p.auth_refresh = mode;
    r.p.n_retry = 1;
    r.p.retry_us[0] = 1 * SEC;
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("a"), NULL));
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *push = take_from(&r, PHONE);
    cJSON *refused = tree(wire_gateway_error(jint(push, "req"), WIRE_GATEWAY_STATUS_UNAUTHORIZED));
    deliver(&r, 0, PHONE, refused);
    cJSON *next = take_from(&r, PHONE);
    if (mode == AUTH_REFRESH_RELAUNCH) {
        EXPECT(next == NULL);
        EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);
        EXPECT_INT(count_timers(&r, PHONE, 1 * SEC), 1);
        EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));
        EXPECT_INT(server_head_seq(&r), 0);
    } else {
        EXPECT(next && wire_is_auth_request(AS_MSG(next)));
        EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 0);
        cJSON *granted = tree(wire_gateway_error(jint(next, "req") + 1, WIRE_GATEWAY_STATUS_UNAVAILABLE));
        deliver(&r, 0, PHONE, granted);   /* an answer to another request: ignored */
        EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 0);
        cJSON_Delete(granted);
        granted = tree(wire_auth_granted(jint(next, "req")));
        deliver(&r, 0, PHONE, granted);
        cJSON *again = take_from(&r, PHONE);
        EXPECT_STR(jstr(again, "type"), "push");
        /* Refused again before anything succeeded: a failed request, not another refresh. */
        cJSON *refused2 = tree(wire_gateway_error(jint(again, "req"), WIRE_GATEWAY_STATUS_UNAUTHORIZED));
        deliver(&r, 0, PHONE, refused2);
        EXPECT_INT(r.host.n_msgs, 0);
        EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);
        /* The retry goes through: the change reaches the server once. */
        fire(&r, PHONE, last_timer(&r, PHONE, 1 * SEC), 1 * SEC);
        pump(&r);
        EXPECT_INT(server_head_seq(&r), 1);
        cJSON_Delete(granted);
        cJSON_Delete(again);
        cJSON_Delete(refused2);
    }
    cJSON_Delete(next);
    cJSON_Delete(refused);
    cJSON_Delete(push);
    rig_stop(&r);
}

static void expired_tokens_refresh_or_wait_for_a_relaunch(void)
{
    expired_token(AUTH_REFRESH_REQUEST);
    expired_token(AUTH_REFRESH_RELAUNCH);
}

/* A push that succeeds ends the failure streak, even if the pull after it fails. */
static void a_successful_push_resets_the_retry_count(void)
{
    rig r;
    rig_init(&r);
    r.p.n_retry = 2;
    r.p.retry_us[0] = 1 * SEC;
    r.p.retry_us[1] = 3 * SEC;
    rig_start(&r, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("hi"), NULL));
    control(&r, PHONE, CTL_NET_UP);
    cJSON_Delete(take_from(&r, PHONE));   /* the push is lost */
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    EXPECT_INT(last_obs(&r, PHONE, OBS_RETRY)->count, 1);
    fire(&r, PHONE, last_timer(&r, PHONE, 1 * SEC), 1 * SEC);
    cJSON *push = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");
    deliver(&r, PHONE, 0, push);
    cJSON *reply = take_from(&r, 0);
    deliver(&r, 0, PHONE, reply);         /* acknowledged */
    cJSON *pull = take_from(&r, PHONE);
    EXPECT_STR(jstr(pull, "type"), "pull");   /* ...and this one is lost */
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 2);
    EXPECT_INT(last_obs(&r, PHONE, OBS_RETRY)->count, 1);
    EXPECT_INT(count_timers(&r, PHONE, 1 * SEC), 2);
    EXPECT_INT(count_timers(&r, PHONE, 3 * SEC), 0);
    cJSON_Delete(push);
    cJSON_Delete(reply);
    cJSON_Delete(pull);
    rig_stop(&r);
}

static void gives_up_then_waits_for_a_manual_sync(void)
{
    rig r;
    rig_init(&r);
    r.p.n_retry = 1;
    r.p.retry_us[0] = 1 * SEC;
    r.p.retry_stop_when_exhausted = true;
    rig_start(&r, 1);
    const write_id w = WRITE_ID(PHONE, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", w, "text", STR("hi"), NULL));

    control(&r, PHONE, CTL_NET_UP);
    cJSON *m = take_from(&r, PHONE);
    EXPECT_STR(jstr(m, "type"), "push");
    cJSON_Delete(m);
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);
    EXPECT_INT(count_obs(&r, PHONE, OBS_GAVE_UP), 0);
    EXPECT_INT(count_timers(&r, PHONE, 1 * SEC), 1);

    fire(&r, PHONE, last_timer(&r, PHONE, 1 * SEC), 1 * SEC);
    m = take_from(&r, PHONE);
    EXPECT_STR(jstr(m, "type"), "push");
    cJSON_Delete(m);
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    EXPECT_INT(count_obs(&r, PHONE, OBS_GAVE_UP), 1);
    EXPECT_INT(last_obs(&r, PHONE, OBS_GAVE_UP)->count, 2);
    EXPECT(last_obs(&r, PHONE, OBS_GAVE_UP)->detail[0] != '\0');
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);
    EXPECT_INT(count_timers(&r, PHONE, 1 * SEC), 1);   /* no further retry */
    EXPECT_INT(r.host.n_msgs, 0);

    /* Automatic rounds (after-write, periodic, reconnect) pull but do not push. */
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.sync_after_write_us), 0);
    m = take_from(&r, PHONE);
    EXPECT_STR(jstr(m, "type"), "pull");
    deliver(&r, PHONE, 0, m);
    cJSON_Delete(m);
    pump(&r);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), 1);
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.sync_interval_us), r.p.sync_interval_us);
    m = take_from(&r, PHONE);
    EXPECT_STR(jstr(m, "type"), "pull");
    deliver(&r, PHONE, 0, m);
    cJSON_Delete(m);
    pump(&r);
    control(&r, PHONE, CTL_NET_DOWN);
    control(&r, PHONE, CTL_NET_UP);
    m = take_from(&r, PHONE);
    EXPECT_STR(jstr(m, "type"), "pull");
    deliver(&r, PHONE, 0, m);
    cJSON_Delete(m);
    pump(&r);
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), 0);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));   /* given up: waiting for the user */

    /* The user presses sync: the change is pushed. */
    control(&r, PHONE, CTL_SYNC_NOW);
    m = take_from(&r, PHONE);
    EXPECT_STR(jstr(m, "type"), "push");
    EXPECT_U64(jint(jget(jget(jitem(m, "changes", 0), "record"), "st"), "w"), w);
    deliver(&r, PHONE, 0, m);
    cJSON_Delete(m);
    pump(&r);
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), 1);
    EXPECT_U64(look(&r, 0, "n1", "text").field_w, w);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    rig_stop(&r);
}

/* A well-formed change, and records, for building malformed variants. */
#define STAMP_W1 "\"w\":4294967297,\"t\":1,\"hl\":1,\"hc\":0,\"s\":0"
#define GOOD_RECORD                                                                     \
    "{\"type\":\"note\",\"id\":\"n9\",\"version\":0,\"seq\":0,\"deleted\":false,\"st\":{" \
    STAMP_W1 "},\"fields\":{\"text\":{\"v\":\"x\"," STAMP_W1 "}}}"
#define DELETED_RECORD                                                                                  \
    "{\"type\":\"note\",\"id\":\"n9\",\"version\":0,\"seq\":0,\"deleted\":true,\"st\":{" STAMP_W1 "},\"del\":{" \
    STAMP_W1 "},\"fields\":{\"text\":{\"v\":\"x\"," STAMP_W1 "}}}"
#define GOOD_CHANGE "{\"op_id\":1,\"op\":\"create\",\"base_version\":0,\"changed\":[\"text\"],\"record\":" GOOD_RECORD "}"
#define PUSH_WITH(changes) "{\"type\":\"push\",\"req\":7,\"device\":\"phone\",\"changes\":" changes "}"

/* --- counters, event logs, tenants ------------------------------------------------ */

/* A field of note/<id> on a node, read from its snapshot: its integer value, or -1. */
static int64_t int_field(rig *r, int node_index, const char *id, const char *field)
{
    int64_t out = -1;
    cJSON *snap = N(r, node_index)->ops->snapshot(N(r, node_index));
    const cJSON *rec;
    cJSON_ArrayForEach(rec, jget(snap, "records"))
    {
        if (strcmp(jstr(rec, "id"), id) != 0)
            continue;
        const cJSON *v = jget(jget(jget(rec, "fields"), field), "v");
        if (cJSON_IsNumber(v))
            out = (int64_t)v->valuedouble;
    }
    cJSON_Delete(snap);
    return out;
}

/* The ids of note/<id>'s events on a node, in log order; returns how many. */
static int event_ids(rig *r, int node_index, const char *id, write_id *out, int max)
{
    int n = 0;
    cJSON *snap = N(r, node_index)->ops->snapshot(N(r, node_index));
    const cJSON *rec;
    cJSON_ArrayForEach(rec, jget(snap, "records"))
    {
        if (strcmp(jstr(rec, "id"), id) != 0)
            continue;
        const cJSON *e;
        cJSON_ArrayForEach(e, jget(rec, "events"))
            if (n < max)
                out[n++] = (write_id)jint(e, "w");
    }
    cJSON_Delete(snap);
    return n;
}

static value INT(int64_t i)
{
    return (value){ .kind = VAL_INT, .i = i };
}

/* Concurrent increments: a CRDT or ops counter keeps both; an absolute one loses one. */
static void concurrent_increments(counter_mode mode)
{
    rig r;
    rig_init(&r);
    r.p.fallback.counters = mode;
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "v1", WRITE_ID(PHONE, 1), "sets", INT(2), NULL));
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    EXPECT_INT(int_field(&r, TABLET, "v1", "sets"), 2);
    /* Both add without having seen the other's addition. */
    EXPECT(user(&r, PHONE, OP_INCREMENT, "v1", WRITE_ID(PHONE, 2), "sets", INT(4), NULL));
    EXPECT(user(&r, TABLET, OP_INCREMENT, "v1", WRITE_ID(TABLET, 1), "sets", INT(3), NULL));
    EXPECT_INT(int_field(&r, PHONE, "v1", "sets"), 6);    /* locally, at once */
    EXPECT_INT(int_field(&r, TABLET, "v1", "sets"), 5);
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    sync_now(&r, PHONE);
    if (mode == COUNTER_CRDT || mode == COUNTER_OPS) {
        for (int n = 0; n <= TABLET; n++)
            EXPECT_INT(int_field(&r, n, "v1", "sets"), 9);
    } else {
        /* The tablet's "new total" 5 overwrote the phone's 6: the phone's +4 is gone everywhere. */
        for (int n = 0; n <= TABLET; n++)
            EXPECT_INT(int_field(&r, n, "v1", "sets"), 5);
    }
    rig_stop(&r);
}

static void increments_merge_only_as_a_crdt(void)
{
    concurrent_increments(COUNTER_CRDT);
    concurrent_increments(COUNTER_ABSOLUTE);
    concurrent_increments(COUNTER_OPS);
}

/*
 * Counters as operations: the delta travels and the server adds each one it applies. A push that
 * arrives twice (its first reply lost) is added twice unless idempotency keys stop the replay. A
 * pull made while an increment is still queued replaces the base under it: the device shows the
 * server's total with its own pending delta on top.
 */
static void ops_counter(bool idempotency)
{
    rig r;
    rig_init(&r);
    r.p.fallback.counters = COUNTER_OPS;
    r.p.idempotency = idempotency;
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "v1", WRITE_ID(PHONE, 1), "sets", INT(2), NULL));
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    EXPECT(user(&r, PHONE, OP_INCREMENT, "v1", WRITE_ID(PHONE, 2), "sets", INT(4), NULL));
    EXPECT_INT(int_field(&r, PHONE, "v1", "sets"), 6);   /* the user sees the new total at once */
    /* The delta travels, not the total. */
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *push = take_from(&r, PHONE);
    EXPECT(push && strcmp(jstr(push, "type"), "push") == 0);
    char *text = push ? cJSON_PrintUnformatted(push) : NULL;
    EXPECT(text && strstr(text, "\"sets\":{\"v\":4"));
    cJSON_free(text);
    /* The push arrives twice; the first reply is lost. */
    deliver(&r, PHONE, 0, push);
    deliver(&r, PHONE, 0, push);
    cJSON_Delete(push);
    cJSON_Delete(take_from(&r, 0));
    pump(&r);
    int64_t total = idempotency ? 6 : 10;   /* without idempotency the replay adds 4 again */
    EXPECT_INT(int_field(&r, 0, "v1", "sets"), total);
    EXPECT_INT(int_field(&r, PHONE, "v1", "sets"), total);   /* the phone adopts the server's total */

    /* The phone's round has sent its pull when the user adds 1; the tablet's +3 reached the server. */
    EXPECT(user(&r, TABLET, OP_INCREMENT, "v1", WRITE_ID(TABLET, 1), "sets", INT(3), NULL));
    sync_now(&r, TABLET);
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *pull = take_from(&r, PHONE);
    EXPECT(pull && strcmp(jstr(pull, "type"), "pull") == 0);
    EXPECT(user(&r, PHONE, OP_INCREMENT, "v1", WRITE_ID(PHONE, 3), "sets", INT(1), NULL));
    deliver(&r, PHONE, 0, pull);
    cJSON_Delete(pull);
    pump(&r);
    EXPECT_INT(int_field(&r, 0, "v1", "sets"), total + 3);
    EXPECT_INT(int_field(&r, PHONE, "v1", "sets"), total + 3 + 1);   /* the pulled total, its +1 on top */
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    for (int n = 0; n <= TABLET; n++)
        EXPECT_INT(int_field(&r, n, "v1", "sets"), total + 4);
    rig_stop(&r);
}

static void ops_counters_count_a_replay_unless_idempotent(void)
{
    ops_counter(true);
    ops_counter(false);
}

/* Appended events reach every replica once, in occurredAt order; a replayed push adds none again
 * when the log deduplicates, and a second copy when it does not. */
static void appends(bool dedup)
{
    rig r;
    rig_init(&r);
    r.p.idempotency = false;   /* so the duplicated push reaches the log */
    r.p.fallback.events_dedup = dedup;
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "a1", WRITE_ID(PHONE, 1), "activity", STR("plank"), NULL));
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    EXPECT(user(&r, TABLET, OP_APPEND, "a1", WRITE_ID(TABLET, 1), "kind", STR("early"), NULL));
    EXPECT(user(&r, PHONE, OP_APPEND, "a1", WRITE_ID(PHONE, 2), "kind", STR("late"), NULL));
    /* The phone's push arrives twice (a retry without idempotency). */
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *push = take_from(&r, PHONE);
    EXPECT(push && strcmp(jstr(push, "type"), "push") == 0);
    deliver(&r, PHONE, 0, push);
    deliver(&r, PHONE, 0, push);
    cJSON_Delete(push);
    cJSON_Delete(take_from(&r, 0));   /* the first reply is lost */
    pump(&r);
    sync_now(&r, TABLET);
    sync_now(&r, PHONE);
    write_id ids[8];
    for (int n = 0; n <= TABLET; n++) {
        int count = event_ids(&r, n, "a1", ids, 8);
        if (dedup) {
            EXPECT_INT(count, 2);
            if (count == 2) {
                EXPECT_U64(ids[0], WRITE_ID(TABLET, 1));   /* occurred first */
                EXPECT_U64(ids[1], WRITE_ID(PHONE, 2));
            }
        } else {
            EXPECT_INT(count, 3);
        }
    }
    rig_stop(&r);
}

static void appends_reach_everyone_once_in_order(void)
{
    appends(true);
    appends(false);
}

/* A device sees and writes only its own user's records. */
static void tenants_are_isolated(void)
{
    static const char *const tenants[] = { NULL, "alice", "bob" };
    rig r;
    rig_init(&r);
    r.tenants = tenants;
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "a", WRITE_ID(PHONE, 1), "text", STR("alice's"), NULL));
    EXPECT(user(&r, TABLET, OP_CREATE, "b", WRITE_ID(TABLET, 1), "text", STR("bob's"), NULL));
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    sync_now(&r, PHONE);
    EXPECT(look(&r, 0, "a", "text").found && look(&r, 0, "b", "text").found);
    EXPECT(look(&r, PHONE, "a", "text").found);
    EXPECT(!look(&r, PHONE, "b", "text").found);
    EXPECT(!look(&r, TABLET, "a", "text").found);
    /* Bob's device tries to write alice's record: refused, nothing changes on the server. */
    EXPECT(user(&r, TABLET, OP_CREATE, "a", WRITE_ID(TABLET, 2), "text", STR("bob was here"), NULL));
    sync_now(&r, TABLET);
    view server_a = look(&r, 0, "a", "text");
    EXPECT_STR(server_a.text, "alice's");
    EXPECT_U64(server_a.field_w, WRITE_ID(PHONE, 1));
    rig_stop(&r);
}

static void malformed_messages_to_the_server_change_nothing(void)
{
    static const char *const bad[] = {
        "{}",
        "[]",
        "42",
        "\"push\"",
        "null",
        "{\"type\":\"push\",\"device\":\"phone\",\"changes\":[" GOOD_CHANGE "]}",              /* no req */
        "{\"type\":\"push\",\"req\":\"7\",\"device\":\"phone\",\"changes\":[" GOOD_CHANGE "]}", /* req a string */
        "{\"req\":7,\"changes\":[" GOOD_CHANGE "]}",                                            /* no type */
        "{\"type\":7,\"req\":7,\"changes\":[" GOOD_CHANGE "]}",
        "{\"type\":\"bogus\",\"req\":7,\"changes\":[" GOOD_CHANGE "]}",
        "{\"type\":\"push_result\",\"req\":7,\"hlc\":[1,0],\"results\":[]}",                    /* wrong direction */
        "{\"type\":\"push\",\"req\":7,\"device\":\"phone\"}",                                   /* no changes */
        PUSH_WITH("{}"),
        PUSH_WITH("[{\"op\":\"create\",\"base_version\":0,\"changed\":[\"text\"],\"record\":" GOOD_RECORD "}]"),
        PUSH_WITH("[{\"op_id\":\"1\",\"op\":\"create\",\"base_version\":0,\"changed\":[\"text\"],\"record\":" GOOD_RECORD
                  "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"upsert\",\"base_version\":0,\"changed\":[\"text\"],\"record\":" GOOD_RECORD
                  "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":0,\"base_version\":0,\"changed\":[\"text\"],\"record\":" GOOD_RECORD "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"create\",\"changed\":[\"text\"],\"record\":" GOOD_RECORD "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"create\",\"base_version\":null,\"changed\":[\"text\"],\"record\":" GOOD_RECORD
                  "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"create\",\"base_version\":0,\"record\":" GOOD_RECORD "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"create\",\"base_version\":0,\"changed\":\"text\",\"record\":" GOOD_RECORD
                  "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"create\",\"base_version\":0,\"changed\":[1],\"record\":" GOOD_RECORD "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"create\",\"base_version\":0,\"changed\":[\"nope\"],\"record\":" GOOD_RECORD
                  "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"create\",\"base_version\":0,\"changed\":[\"text\"]}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"create\",\"base_version\":0,\"changed\":[\"text\"],\"record\":{\"type\":"
                  "\"note\",\"id\":\"n9\"}}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"create\",\"base_version\":0,\"changed\":[\"text\"],\"record\":" DELETED_RECORD
                  "}]"),
        PUSH_WITH("[{\"op_id\":1,\"op\":\"delete\",\"base_version\":0,\"changed\":[],\"record\":" GOOD_RECORD "}]"),
        /* One good change and one bad: nothing at all is applied. */
        PUSH_WITH("[" GOOD_CHANGE ",{\"op\":\"update\",\"base_version\":0,\"changed\":[],\"record\":" GOOD_RECORD "}]"),
        PUSH_WITH("[" GOOD_CHANGE ",7]"),
        "{\"type\":\"pull\",\"req\":7,\"since\":0}",
        "{\"type\":\"pull\",\"req\":7,\"limit\":10}",
        "{\"type\":\"pull\",\"req\":7,\"since\":0,\"limit\":0}",
        "{\"type\":\"pull\",\"req\":7,\"since\":0,\"limit\":-3}",
        "{\"type\":\"pull\",\"req\":7,\"since\":0,\"limit\":100001}",
        "{\"type\":\"pull\",\"req\":7,\"since\":0,\"limit\":\"10\"}",
        "{\"type\":\"pull\",\"req\":7,\"since\":-1,\"limit\":10}",
        "{\"type\":\"pull\",\"req\":7,\"since\":\"0\",\"limit\":10}",
    };
    rig r;
    rig_init(&r);
    rig_start(&r, 1);
    /* The server holds a record, so "nothing changed" is about something. */
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("hi"), NULL));
    sync_now(&r, PHONE);
    char *before = snap_text(&r, 0);
    int obs_before = r.host.n_obs;
    int64_t seq_before = server_head_seq(&r);
    EXPECT_INT(seq_before, 1);
    obs_before = r.host.n_obs;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *m = cJSON_Parse(bad[i]);
        if (!m) {
            fprintf(stderr, "%s:%d: test message %zu is not JSON\n", __FILE__, __LINE__, i);
            test_failures++;
            continue;
        }
        deliver(&r, TABLET, 0, m);   /* a device that never pushed: nothing to replay */
        cJSON_Delete(m);
        if (r.host.n_msgs || r.host.n_obs != obs_before) {
            fprintf(stderr, "%s:%d: the server reacted to malformed message %zu: %s\n", __FILE__, __LINE__, i,
                    bad[i]);
            test_failures++;
            for (int k = 0; k < r.host.n_msgs; k++)
                message_release(r.host.msgs[k].msg);
            r.host.n_msgs = 0;
            obs_before = r.host.n_obs;
        }
    }
    /* A well-formed push from the server's own index is not a device's: ignored too. */
    cJSON *good = cJSON_Parse(PUSH_WITH("[" GOOD_CHANGE "]"));
    deliver(&r, 0, 0, good);
    EXPECT_INT(r.host.n_msgs, 0);
    EXPECT_INT(r.host.n_obs, obs_before);

    char *after = snap_text(&r, 0);
    EXPECT_STR(after, before);
    EXPECT_INT(server_head_seq(&r), seq_before);

    /* The control: the same push, well-formed and from a device, is applied. */
    deliver(&r, TABLET, 0, good);
    cJSON *reply = take_from(&r, 0);
    EXPECT(reply != NULL);
    EXPECT_STR(jstr(jitem(reply, "results", 0), "status"), "applied");
    EXPECT(look(&r, 0, "n9", "text").found);
    cJSON_Delete(reply);
    cJSON_Delete(good);
    xfree(before);
    xfree(after);
    rig_stop(&r);
}

/* Deliver a mutated copy of reply; the client must not react. */
static void expect_client_ignores(rig *r, const cJSON *reply, const char *what, void (*mutate)(cJSON *m))
{
    cJSON *m = cJSON_Duplicate(reply, true);
    mutate(m);
    char *before = snap_text(r, PHONE);
    int obs_before = r->host.n_obs;
    deliver(r, 0, PHONE, m);
    char *after = snap_text(r, PHONE);
    if (r->host.n_msgs || r->host.n_obs != obs_before || strcmp(before, after) != 0) {
        fprintf(stderr, "%s:%d: the client reacted to a malformed reply (%s)\n", __FILE__, __LINE__, what);
        test_failures++;
        for (int k = 0; k < r->host.n_msgs; k++)
            message_release(r->host.msgs[k].msg);
        r->host.n_msgs = 0;
    }
    xfree(before);
    xfree(after);
    cJSON_Delete(m);
}

static void drop_has_more(cJSON *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(m, "has_more");
}

static void has_more_string(cJSON *m)
{
    cJSON_ReplaceItemInObjectCaseSensitive(m, "has_more", cJSON_CreateString("no"));
}

static void drop_next(cJSON *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(m, "next");
}

static void next_string(cJSON *m)
{
    cJSON_ReplaceItemInObjectCaseSensitive(m, "next", cJSON_CreateString("5"));
}

static void drop_hlc(cJSON *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(m, "hlc");
}

static void hlc_short(cJSON *m)
{
    cJSON_ReplaceItemInObjectCaseSensitive(m, "hlc", cJSON_Parse("[5]"));
}

static void hlc_negative(cJSON *m)
{
    cJSON_ReplaceItemInObjectCaseSensitive(m, "hlc", cJSON_Parse("[5,-1]"));
}

static void hlc_strings(cJSON *m)
{
    cJSON_ReplaceItemInObjectCaseSensitive(m, "hlc", cJSON_Parse("[\"5\",\"0\"]"));
}

static void changes_object(cJSON *m)
{
    cJSON_ReplaceItemInObjectCaseSensitive(m, "changes", cJSON_CreateObject());
}

static void drop_changes(cJSON *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(m, "changes");
}

static void drop_type(cJSON *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(m, "type");
}

static void drop_results(cJSON *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(m, "results");
}

static void results_object(cJSON *m)
{
    cJSON_ReplaceItemInObjectCaseSensitive(m, "results", cJSON_CreateObject());
}

/* A second, bad record after a good one: nothing of the page may be applied. */
static void bad_second_record(cJSON *m)
{
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(m, "changes"), cJSON_Parse("{\"type\":\"note\"}"));
}

static void record_field_not_scalar(cJSON *m)
{
    cJSON *rec = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "changes"), 0);
    cJSON *f = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "fields"), "text");
    cJSON_ReplaceItemInObjectCaseSensitive(f, "v", cJSON_Parse("[1]"));
}

static cJSON *first_result(cJSON *m)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(m, "results"), 0);
}

static void result_without_status(cJSON *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(first_result(m), "status");
}

static void result_conflict_string(cJSON *m)
{
    cJSON_ReplaceItemInObjectCaseSensitive(first_result(m), "conflict", cJSON_CreateString("no"));
}

static void result_without_op_id(cJSON *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(first_result(m), "op_id");
}

static void result_without_record(cJSON *m)
{
    cJSON_DeleteItemFromObjectCaseSensitive(first_result(m), "record");
}

static void result_record_stamp_bad(cJSON *m)
{
    cJSON *rec = cJSON_GetObjectItemCaseSensitive(first_result(m), "record");
    cJSON_ReplaceItemInObjectCaseSensitive(rec, "st", cJSON_CreateString("now"));
}

static void malformed_replies_to_the_client_change_nothing(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 2);
    /* The server holds n1 from the tablet, which the phone has not pulled yet;
     * the phone has its own change to push. */
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, TABLET, OP_CREATE, "n1", WRITE_ID(TABLET, 1), "text", STR("tablet"), NULL));
    sync_now(&r, TABLET);
    EXPECT(user(&r, PHONE, OP_CREATE, "p1", WRITE_ID(PHONE, 1), "text", STR("phone"), NULL));

    /* A push in flight: malformed results leave the change in the outbox and the round waiting. */
    after_write(&r, PHONE);
    cJSON *push = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");
    deliver(&r, PHONE, 0, push);
    cJSON *result = take_from(&r, 0);
    EXPECT_STR(jstr(result, "type"), "push_result");
    static const struct {
        const char *what;
        void (*mutate)(cJSON *m);
    } push_cases[] = {
        { "no results", drop_results },
        { "results an object", results_object },
        { "no hlc", drop_hlc },
        { "hlc of one number", hlc_short },
        { "negative hlc counter", hlc_negative },
        { "hlc of strings", hlc_strings },
        { "no type", drop_type },
        { "result without status", result_without_status },
        { "result with a string conflict", result_conflict_string },
        { "result without op_id", result_without_op_id },
        { "result without record", result_without_record },
        { "result record with a bad stamp", result_record_stamp_bad },
    };
    for (size_t i = 0; i < sizeof push_cases / sizeof push_cases[0]; i++)
        expect_client_ignores(&r, result, push_cases[i].what, push_cases[i].mutate);
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    /* The real result is still accepted: the change leaves the outbox, the round pulls. */
    deliver(&r, 0, PHONE, result);
    cJSON *pull = take_from(&r, PHONE);
    EXPECT_STR(jstr(pull, "type"), "pull");
    EXPECT_INT(look(&r, PHONE, "p1", "text").version, 1);

    /* A pull in flight, with n1 in the page. */
    deliver(&r, PHONE, 0, pull);
    cJSON *page = take_from(&r, 0);
    EXPECT_STR(jstr(page, "type"), "pull_result");
    EXPECT(jsize(page, "changes") >= 1);
    static const struct {
        const char *what;
        void (*mutate)(cJSON *m);
    } pull_cases[] = {
        { "no has_more", drop_has_more },
        { "has_more a string", has_more_string },
        { "no next", drop_next },
        { "next a string", next_string },
        { "no hlc", drop_hlc },
        { "hlc of one number", hlc_short },
        { "negative hlc counter", hlc_negative },
        { "changes an object", changes_object },
        { "no changes", drop_changes },
        { "no type", drop_type },
        { "a bad record after a good one", bad_second_record },
        { "a field holding an array", record_field_not_scalar },
    };
    for (size_t i = 0; i < sizeof pull_cases / sizeof pull_cases[0]; i++)
        expect_client_ignores(&r, page, pull_cases[i].what, pull_cases[i].mutate);
    EXPECT(!look(&r, PHONE, "n1", "text").found);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), 1);   /* only the first, empty round */

    deliver(&r, 0, PHONE, page);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), 2);
    EXPECT_STR(look(&r, PHONE, "n1", "text").text, "tablet");
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    cJSON_Delete(push);
    cJSON_Delete(result);
    cJSON_Delete(pull);
    cJSON_Delete(page);
    rig_stop(&r);
}

/*
 * Two writes the phone made one after the other, to one record, before it
 * could sync: they go out in one push. The second was made on the first, so
 * the server must not treat it as concurrent with it -- under server-wins a
 * "conflict" drops the user's second write. Pushed one per batch, the client
 * rebases the second onto the version the first produced; one batch must
 * give the same result.
 */
static void local_writes_in_one_batch(const char *strategy, int batch, bool *conflict, write_id *server_w,
                                      write_id *phone_w)
{
    rig r;
    rig_init(&r);
    r.p.fallback.strategy = strategy_find(strategy);
    r.p.fallback.grain = GRAIN_RECORD;
    r.p.push_batch_max = batch;
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("first"), NULL));
    EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("second"), NULL));
    after_write(&r, PHONE);
    pump(&r);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    *conflict = count_obs(&r, 0, OBS_CONFLICT) > 0;
    *server_w = look(&r, 0, "n1", "text").field_w;
    *phone_w = look(&r, PHONE, "n1", "text").field_w;
    rig_stop(&r);
}

static void local_writes_in_one_batch_are_not_concurrent(void)
{
    static const char *const strategies[] = { "server-wins", "lww-hlc" };
    for (size_t s = 0; s < sizeof strategies / sizeof strategies[0]; s++) {
        for (int batch = 1; batch <= 50; batch += 49) {
            bool conflict;
            write_id server_w, phone_w;
            local_writes_in_one_batch(strategies[s], batch, &conflict, &server_w, &phone_w);
            if (conflict || server_w != WRITE_ID(PHONE, 2) || phone_w != WRITE_ID(PHONE, 2)) {
                fprintf(stderr,
                        "%s:%d: %s, push batch %d: create then update of one record -> conflict %s, server "
                        "keeps phone:%u, phone keeps phone:%u (expected no conflict, phone:2 everywhere)\n",
                        __FILE__, __LINE__, strategies[s], batch, conflict ? "reported" : "none",
                        WRITE_COUNTER(server_w), WRITE_COUNTER(phone_w));
                test_failures++;
            }
        }
    }
}

/*
 * queue_base: an update and a delete the phone queued one after the other, pushed one per request
 * under server-wins with version detection. Rebased (the default), the acknowledged update moves
 * the delete onto the version it made, and the record ends deleted everywhere. As queued
 * (Amplify's _version), the delete declares the version the update replaced: the server sees a
 * conflict, keeps its copy, and the record is live again on both sides.
 */
static void queued_delete_after_update(bool as_queued, view *server, view *phone)
{
    rig r;
    rig_init(&r);
    r.p.fallback.strategy = strategy_find("server-wins");
    r.p.push_batch_max = 1;
    r.p.queue_base_as_queued = as_queued;
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("milk"), NULL));
    sync_now(&r, PHONE);
    EXPECT(look(&r, 0, "n1", NULL).version == 1);
    EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("milk, done"), NULL));
    EXPECT(user(&r, PHONE, OP_DELETE, "n1", WRITE_ID(PHONE, 3), NULL, STR(""), NULL));
    sync_now(&r, PHONE);
    EXPECT(msgs_from(&r, PHONE) == 0);   /* both pushes answered; nothing left in flight */
    *server = look(&r, 0, "n1", "text");
    *phone = look(&r, PHONE, "n1", "text");
    rig_stop(&r);
}

static void queue_base_rebased_or_as_queued(void)
{
    view server, phone;
    queued_delete_after_update(false, &server, &phone);
    EXPECT(server.found && server.deleted && server.del_w == WRITE_ID(PHONE, 3));
    EXPECT(phone.found && phone.deleted);
    queued_delete_after_update(true, &server, &phone);
    EXPECT(server.found && !server.deleted && server.field_w == WRITE_ID(PHONE, 2));
    EXPECT(phone.found && !phone.deleted && strcmp(phone.text, "milk, done") == 0);
}

/* The user's operation on the record n1, made on the form an earlier open kept (base: opened). */
static bool form_op(rig *r, op_kind kind, write_id w, const char *text, const char **why)
{
    op_field f = { .name = "text", .v = STR(text) };
    user_op op = { .kind = kind, .type = "note", .id = "n1", .w = w, .n_fields = kind == OP_UPDATE ? 1 : 0,
                   .fields = kind == OP_UPDATE ? &f : NULL, .from_form = kind != OP_OPEN };
    r->now += 1000;
    return N(r, PHONE)->ops->user_op(N(r, PHONE), &op, r->now, why);
}

/*
 * A change made on an opened form declares the form's copy as its base: the push carries the version
 * the form showed, though the phone has stored a newer one since; the form closes when saved, and a
 * crash closes it too. Opening is no write: nothing stored changes and nothing is sent.
 */
static void a_form_save_declares_the_opened_version(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    const char *why = NULL;
    EXPECT(!form_op(&r, OP_OPEN, WRITE_NONE, NULL, &why));   /* nothing to open yet */
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("draft"), NULL));
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    char *before = snap_text(&r, PHONE);
    EXPECT(form_op(&r, OP_OPEN, WRITE_NONE, NULL, &why));
    char *after = snap_text(&r, PHONE);
    EXPECT_STR(after, before);
    EXPECT_INT(msgs_from(&r, PHONE), 0);
    xfree(before);
    xfree(after);

    EXPECT(user(&r, TABLET, OP_UPDATE, "n1", WRITE_ID(TABLET, 1), "text", STR("final"), NULL));
    sync_now(&r, TABLET);
    sync_now(&r, PHONE);
    EXPECT_INT(look(&r, PHONE, "n1", NULL).version, 2);
    EXPECT(form_op(&r, OP_UPDATE, WRITE_ID(PHONE, 2), "draft 2", &why));
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *push = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");
    EXPECT_INT(jint(jitem(push, "changes", 0), "base_version"), 1);   /* the form's version, not 2 */
    cJSON_Delete(push);
    EXPECT(!form_op(&r, OP_UPDATE, WRITE_ID(PHONE, 3), "again", &why));   /* closed by the save */
    EXPECT(why && strstr(why, "no form"));

    EXPECT(form_op(&r, OP_OPEN, WRITE_NONE, NULL, &why));
    N(&r, PHONE)->ops->crash(N(&r, PHONE));
    N(&r, PHONE)->ops->boot(N(&r, PHONE), r.now);
    EXPECT(!form_op(&r, OP_DELETE, WRITE_ID(PHONE, 3), NULL, &why));   /* a crash closes forms */
    rig_stop(&r);
}

/*
 * A record deleted and created again (default profile: lww-hlc, field grain)
 * must not bring back fields of the deleted record that the new create did
 * not write; the device that re-created it holds only what it wrote.
 */
static void recreated_record_does_not_resurrect_deleted_fields(void)
{
    rig r;
    rig_init(&r);
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    op_field two[] = { { .name = "secret", .v = STR("pin 1234") }, { .name = "text", .v = STR("old") } };
    user_op create = { .kind = OP_CREATE, .type = "note", .id = "n1", .w = WRITE_ID(PHONE, 1), .n_fields = 2,
                       .fields = two };
    const char *why;
    r.now += SEC;
    EXPECT(N(&r, PHONE)->ops->user_op(N(&r, PHONE), &create, r.now, &why));
    sync_now(&r, PHONE);
    EXPECT(user(&r, PHONE, OP_DELETE, "n1", WRITE_ID(PHONE, 2), NULL, STR(""), NULL));
    sync_now(&r, PHONE);
    EXPECT(look(&r, 0, "n1", NULL).deleted);

    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 3), "text", STR("new"), NULL));
    view local = look(&r, PHONE, "n1", "secret");
    EXPECT(!local.deleted);
    EXPECT(!local.has_field);   /* the phone's own view of its create */
    EXPECT_INT(local.n_fields, 1);
    sync_now(&r, PHONE);

    view server = look(&r, 0, "n1", "secret");
    EXPECT(server.found && !server.deleted);
    EXPECT_U64(look(&r, 0, "n1", "text").field_w, WRITE_ID(PHONE, 3));
    EXPECT(!server.has_field);
    EXPECT_INT(server.n_fields, 1);
    view phone = look(&r, PHONE, "n1", "secret");
    EXPECT(!phone.has_field);
    rig_stop(&r);
}

/* --- the mechanisms the seed designs use ---------------------------------------------- */

/* Two devices online and caught up. */
static void rig_online(rig *r, int n_devices)
{
    rig_start(r, n_devices);
    for (int d = 1; d <= n_devices; d++)
        control(r, d, CTL_NET_UP);
    pump(r);
}

/* Idle once the round a local write scheduled has run. */
static bool settled(rig *r, int device)
{
    if (count_timers(r, device, r->p.sync_after_write_us)) {
        after_write(r, device);
        pump(r);
    }
    return N(r, device)->ops->idle(N(r, device));
}

/* The device's push alone: its round's pull is dropped unanswered. */
static void push_only(rig *r, int device)
{
    control(r, device, CTL_SYNC_NOW);
    cJSON *push = take_from(r, device);
    deliver(r, device, 0, push);
    cJSON_Delete(push);
    cJSON *reply = take_from(r, 0);
    deliver(r, 0, device, reply);
    cJSON_Delete(reply);
    cJSON_Delete(take_from(r, device));
    r->now += 10 * SEC;
    fire(r, device, last_timer(r, device, r->p.request_timeout_us), 0);   /* the dropped pull fails: idle again */
}

static bool has_pending_push(rig *r, int device)
{
    control(r, device, CTL_SYNC_NOW);
    cJSON *m = take_from(r, device);
    bool push = m && strcmp(jstr(m, "type"), "push") == 0;
    if (m) {
        deliver(r, device, 0, m);
        cJSON_Delete(m);
    }
    pump(r);
    return push;
}

/* StrongLog: "records with clientUpdatedAt > lastPushTimestamp" -- a write stamped before the watermark is never found. */
static void watermark_skips_writes_behind_the_clock(void)
{
    rig r;
    rig_init(&r);
    r.p.changes = CHANGES_WATERMARK;
    r.p.watermark = WATERMARK_DEVICE;
    r.p.fallback.grain = GRAIN_RECORD;
    rig_online(&r, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("first"), NULL));
    EXPECT(has_pending_push(&r, PHONE));
    EXPECT_STR(look(&r, 0, "n1", "text").text, "first");
    EXPECT(settled(&r, PHONE));
    /* The device clock is stepped back a minute: the next write is stamped before the watermark. */
    r.now -= 60 * SEC;
    EXPECT(user(&r, PHONE, OP_CREATE, "n2", WRITE_ID(PHONE, 2), "text", STR("lost"), NULL));
    EXPECT(settled(&r, PHONE));   /* it does not know it has anything to push */
    EXPECT(!has_pending_push(&r, PHONE));
    EXPECT(!look(&r, 0, "n2", "text").found);
    /* Once the clock passes the watermark again, new writes are found, the skipped one never. */
    r.now += 120 * SEC;
    EXPECT(user(&r, PHONE, OP_CREATE, "n3", WRITE_ID(PHONE, 3), "text", STR("later"), NULL));
    EXPECT(has_pending_push(&r, PHONE));
    EXPECT(look(&r, 0, "n3", "text").found);
    EXPECT(!look(&r, 0, "n2", "text").found);
    rig_stop(&r);
}

/* The server-clock watermark (activity events' newSyncTimestamp): a device clock behind the server's misses its writes. */
static void server_clock_watermark(void)
{
    rig r;
    rig_init(&r);
    r.p.changes = CHANGES_WATERMARK;
    r.p.watermark = WATERMARK_SERVER;
    rig_online(&r, 2);
    /* The phone's clock runs 5 minutes behind the server's (which the rig hands the server as r.now too). */
    EXPECT(user(&r, PHONE, OP_CREATE, "a1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
    EXPECT(has_pending_push(&r, PHONE));
    int64_t server_now = r.now;
    (void)server_now;
    /* An event appended with a device clock 5 minutes behind the watermark the server handed out. */
    r.now -= 5 * 60 * SEC;
    op_field ev[] = { { .name = "kind", .v = STR("start") } };
    user_op append = { .kind = OP_APPEND, .type = "note", .id = "a1", .w = WRITE_ID(PHONE, 2), .n_fields = 1,
                       .fields = ev };
    const char *why = NULL;
    EXPECT(N(&r, PHONE)->ops->user_op(N(&r, PHONE), &append, r.now, &why));
    r.now += 5 * 60 * SEC + SEC;
    EXPECT(!has_pending_push(&r, PHONE));
    /* The tablet syncs: the server has no event. The phone keeps its own in its log (merged on pull). */
    sync_now(&r, TABLET);
    cJSON *snap = N(&r, 0)->ops->snapshot(N(&r, 0));
    EXPECT_INT(cJSON_GetArraySize(jget(cJSON_GetArrayItem(jget(snap, "records"), 0), "events")), 0);
    cJSON_Delete(snap);
    sync_now(&r, PHONE);
    snap = N(&r, PHONE)->ops->snapshot(N(&r, PHONE));
    EXPECT_INT(cJSON_GetArraySize(jget(cJSON_GetArrayItem(jget(snap, "records"), 0), "events")), 1);
    cJSON_Delete(snap);
    rig_stop(&r);
}

/* Three records from one push share an updatedAt; a one-record page and a server-time cursor. */
static int pull_three_with_cursor(cursor_next next, bool inclusive, int *pulls)
{
    rig r;
    rig_init(&r);
    r.p.cursor = CURSOR_SERVER_TIME;
    r.p.cursor_next = next;
    r.p.cursor_inclusive = inclusive;
    r.p.pull_page_max = 1;
    rig_online(&r, 2);
    EXPECT(user(&r, TABLET, OP_CREATE, "n1", WRITE_ID(TABLET, 1), "text", STR("1"), NULL));
    EXPECT(user(&r, TABLET, OP_CREATE, "n2", WRITE_ID(TABLET, 2), "text", STR("2"), NULL));
    EXPECT(user(&r, TABLET, OP_CREATE, "n3", WRITE_ID(TABLET, 3), "text", STR("3"), NULL));
    push_only(&r, TABLET);
    r.now += SEC;
    control(&r, PHONE, CTL_SYNC_NOW);
    *pulls = 0;
    for (int i = 0; i < 10; i++) {
        cJSON *m = take_from(&r, PHONE);
        if (!m)
            break;
        *pulls += strcmp(jstr(m, "type"), "pull") == 0;
        deliver(&r, PHONE, 0, m);
        cJSON_Delete(m);
        cJSON *reply = take_from(&r, 0);
        if (reply) {
            r.now += 1000;
            deliver(&r, 0, PHONE, reply);
            cJSON_Delete(reply);
        }
    }
    int got = look(&r, PHONE, "n1", "text").found + look(&r, PHONE, "n2", "text").found +
              look(&r, PHONE, "n3", "text").found;
    rig_stop(&r);
    return got;
}

static void timestamp_cursors(void)
{
    int pulls;
    /* lastSyncTimestamp = the response's timestamp while hasMore: the rest of the pages are skipped. */
    EXPECT_INT(pull_three_with_cursor(NEXT_SERVER_NOW, false, &pulls), 1);
    /* The last record's updatedAt with ">": the records sharing it are skipped. */
    EXPECT_INT(pull_three_with_cursor(NEXT_LAST_RECORD, false, &pulls), 1);
    /* With ">=" the same record comes back page after page: it never gets past it. */
    EXPECT_INT(pull_three_with_cursor(NEXT_LAST_RECORD, true, &pulls), 1);
    EXPECT(pulls >= 10);
}

static void per_type_pulls(void)
{
    rig r;
    rig_init(&r);
    r.p.cursor = CURSOR_SERVER_TIME;
    r.p.n_pull_types = 2;
    r.p.pull_types[0] = "note";
    r.p.pull_types[1] = "task";
    rig_online(&r, 1);
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *first = take_from(&r, PHONE);
    EXPECT_STR(jstr(first, "entity_type"), "note");
    deliver(&r, PHONE, 0, first);
    cJSON_Delete(first);
    cJSON *reply = take_from(&r, 0);
    deliver(&r, 0, PHONE, reply);
    cJSON_Delete(reply);
    cJSON *second = take_from(&r, PHONE);
    EXPECT_STR(jstr(second, "entity_type"), "task");
    deliver(&r, PHONE, 0, second);
    cJSON_Delete(second);
    pump(&r);
    EXPECT(settled(&r, PHONE));
    rig_stop(&r);
}

static entity_rules *note_schema(rig *r)
{
    entity_rules *e = &r->p.entities[r->p.n_entities++];
    *e = r->p.fallback;
    e->type = "note";
    e->n_schema = 1;
    e->schema[0] = (schema_field){ .name = "text", .kind = VAL_STRING, .n_enum = 2,
                                   .enum_values = { "open", "done" } };
    return e;
}

static void validation_and_batches(void)
{
    /* Client-side validation refuses the write with the reason. */
    rig r;
    rig_init(&r);
    note_schema(&r);
    rig_online(&r, 1);
    const char *why = NULL;
    EXPECT(!user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("maybe"), &why));
    EXPECT_CONTAINS(why, "text must be one of open, done, not \"maybe\"");
    EXPECT(!user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 2), "text", (value){ .kind = VAL_INT, .i = 3 }, &why));
    EXPECT_CONTAINS(why, "text must be a string");
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 3), "text", STR("open"), NULL));
    rig_stop(&r);

    /* Only the server validates, change by change: the invalid one is refused and rolled back. */
    rig_init(&r);
    note_schema(&r);
    r.p.validate_client = false;
    rig_online(&r, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "bad", WRITE_ID(PHONE, 1), "text", STR("maybe"), NULL));
    EXPECT(user(&r, PHONE, OP_CREATE, "good", WRITE_ID(PHONE, 2), "text", STR("done"), NULL));
    sync_now(&r, PHONE);
    EXPECT(!look(&r, 0, "bad", "text").found);
    EXPECT(look(&r, 0, "good", "text").found);
    EXPECT_INT(count_obs(&r, 0, OBS_INVALID), 1);
    EXPECT_U64(last_obs(&r, 0, OBS_INVALID)->w, WRITE_ID(PHONE, 1));
    EXPECT(!look(&r, PHONE, "bad", "text").found);   /* rolled back on the device */
    EXPECT(settled(&r, PHONE));
    rig_stop(&r);

    /* An atomic batch: one invalid change and nothing is applied; the batch is retried, forever. */
    rig_init(&r);
    note_schema(&r);
    r.p.validate_client = false;
    r.p.batch_atomic = true;
    rig_online(&r, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "good", WRITE_ID(PHONE, 1), "text", STR("done"), NULL));
    EXPECT(user(&r, PHONE, OP_CREATE, "bad", WRITE_ID(PHONE, 2), "text", STR("maybe"), NULL));
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *push = take_from(&r, PHONE);
    deliver(&r, PHONE, 0, push);
    cJSON_Delete(push);
    cJSON *reply = take_from(&r, 0);
    EXPECT_STR(jstr(jitem(reply, "results", 0), "status"), "rolled-back");
    EXPECT_STR(jstr(jitem(reply, "results", 1), "status"), "invalid");
    EXPECT_CONTAINS(jstr(jitem(reply, "results", 1), "error"), "text must be one of open, done");
    deliver(&r, 0, PHONE, reply);
    cJSON_Delete(reply);
    EXPECT(!look(&r, 0, "good", "text").found);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), 1);   /* a failed request: the retry schedule */
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    rig_stop(&r);
}

/* SmartDMV's "max 3 retries": a change unanswered drop_after times leaves the queue. */
static void changes_dropped_after_retries(void)
{
    rig r;
    rig_init(&r);
    r.p.retry_drop_after = 2;
    rig_online(&r, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("x"), NULL));
    for (int attempt = 1; attempt <= 2; attempt++) {
        control(&r, PHONE, CTL_SYNC_NOW);
        cJSON *push = take_from(&r, PHONE);
        EXPECT(push && strcmp(jstr(push, "type"), "push") == 0);
        cJSON_Delete(push);   /* lost */
        fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    }
    EXPECT_INT(count_obs(&r, PHONE, OBS_DROPPED), 1);
    EXPECT_U64(last_obs(&r, PHONE, OBS_DROPPED)->w, WRITE_ID(PHONE, 1));
    EXPECT(!has_pending_push(&r, PHONE));
    EXPECT(!look(&r, 0, "n1", "text").found);
    rig_stop(&r);
}

/* IronFlow's user confirmation: the conflict waits, the user picks, the pick is pushed with force. */
static void manual_resolution(void)
{
    rig r;
    rig_init(&r);
    r.p.fallback.strategy = strategy_find("manual");
    r.p.fallback.grain = GRAIN_RECORD;
    rig_online(&r, 2);
    EXPECT(user(&r, PHONE, OP_CREATE, "w1", WRITE_ID(PHONE, 1), "text", STR("3x225"), NULL));
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    EXPECT(user(&r, PHONE, OP_UPDATE, "w1", WRITE_ID(PHONE, 2), "text", STR("phone"), NULL));
    EXPECT(user(&r, TABLET, OP_UPDATE, "w1", WRITE_ID(TABLET, 1), "text", STR("tablet"), NULL));
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    /* The server kept the phone's version; the tablet holds both and waits for its user. */
    EXPECT_STR(look(&r, 0, "w1", "text").text, "phone");
    EXPECT_INT(count_obs(&r, TABLET, OBS_CONFLICT_PENDING), 1);
    EXPECT_INT(count_obs(&r, TABLET, OBS_SEEN), 1);
    EXPECT_STR(look(&r, TABLET, "w1", "text").text, "tablet");
    EXPECT(settled(&r, TABLET));   /* nothing it can do on its own */
    EXPECT(!has_pending_push(&r, TABLET));
    /* Without a conflict there is nothing to resolve. */
    op_field pick = { .name = "pick", .v = STR("local") };
    user_op none = { .kind = OP_RESOLVE, .type = "note", .id = "other", .w = WRITE_ID(TABLET, 2), .n_fields = 1,
                     .fields = &pick };
    const char *why = NULL;
    EXPECT(!N(&r, TABLET)->ops->user_op(N(&r, TABLET), &none, r.now, &why));
    EXPECT_CONTAINS(why, "no conflict waits");
    /* "Keep Tablet": pushed with force over the server's version; the phone's version is kept for the user. */
    user_op keep = { .kind = OP_RESOLVE, .type = "note", .id = "w1", .w = WRITE_ID(TABLET, 3), .n_fields = 1,
                     .fields = &pick };
    EXPECT(N(&r, TABLET)->ops->user_op(N(&r, TABLET), &keep, r.now, &why));
    control(&r, TABLET, CTL_SYNC_NOW);
    cJSON *push = take_from(&r, TABLET);
    EXPECT(cJSON_IsTrue(jget(jitem(push, "changes", 0), "force")));
    deliver(&r, TABLET, 0, push);
    cJSON_Delete(push);
    pump(&r);
    sync_now(&r, PHONE);
    EXPECT_STR(look(&r, 0, "w1", "text").text, "tablet");
    EXPECT_U64(look(&r, 0, "w1", "text").field_w, WRITE_ID(TABLET, 1));   /* the tablet's write, not the resolution */
    EXPECT_STR(look(&r, PHONE, "w1", "text").text, "tablet");
    cJSON *snap = N(&r, TABLET)->ops->snapshot(N(&r, TABLET));
    bool phone_kept = false;
    const cJSON *k;
    cJSON_ArrayForEach(k, jget(snap, "kept")) phone_kept = phone_kept || (write_id)jint(k, "w") == WRITE_ID(PHONE, 2);
    EXPECT(phone_kept);
    cJSON_Delete(snap);
    rig_stop(&r);
}

/* Server data: a client's create is refused and rolled back; the write is reported refused. */
static void refused_changes_roll_back(void)
{
    rig r;
    rig_init(&r);
    r.p.fallback.strategy = strategy_find("server-authoritative");
    rig_online(&r, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "ex1", WRITE_ID(PHONE, 1), "text", STR("my squat"), NULL));
    EXPECT(look(&r, PHONE, "ex1", "text").found);
    sync_now(&r, PHONE);
    EXPECT(!look(&r, 0, "ex1", "text").found);
    EXPECT(!look(&r, PHONE, "ex1", "text").found);
    EXPECT_INT(count_obs(&r, 0, OBS_REFUSED), 1);
    EXPECT_U64(last_obs(&r, 0, OBS_REFUSED)->w, WRITE_ID(PHONE, 1));
    EXPECT(settled(&r, PHONE));
    rig_stop(&r);
}

/* SmartDMV: a conflict when the server's updatedAt is after the change's device timestamp. */
static void timestamp_conflict_detection(void)
{
    for (int ahead = 0; ahead <= 1; ahead++) {
        rig r;
        rig_init(&r);
        r.p.detect = DETECT_TIMESTAMP;
        r.p.fallback.strategy = strategy_find("manual");
        r.p.fallback.grain = GRAIN_RECORD;
        rig_online(&r, 2);
        EXPECT(user(&r, PHONE, OP_CREATE, "a1", WRITE_ID(PHONE, 1), "text", STR("v1"), NULL));
        sync_now(&r, PHONE);
        sync_now(&r, TABLET);
        /* The tablet edits with its clock 10 minutes behind (or ahead of) the server's. */
        int64_t skew = ahead ? 10 * 60 * SEC : -10 * 60 * SEC;
        r.now += skew;
        EXPECT(user(&r, TABLET, OP_UPDATE, "a1", WRITE_ID(TABLET, 1), "text", STR("v2"), NULL));
        r.now -= skew;
        sync_now(&r, TABLET);
        /* Behind: the server's updatedAt is later than its timestamp, a conflict although the
         * tablet had the latest version. Ahead: applied. */
        EXPECT_INT(count_obs(&r, TABLET, OBS_CONFLICT_PENDING), ahead ? 0 : 1);
        EXPECT_STR(look(&r, 0, "a1", "text").text, ahead ? "v2" : "v1");
        rig_stop(&r);
    }
}

/*
 * IronFlow's queue, offline: a create and two edits all made before any sync
 * travel in one push, each on version 0. The server rebases each on the one
 * before it, link by link -- not only the first edit on the create -- so the
 * device does not meet its own changes as a conflict.
 */
static void a_chain_of_edits_in_one_push_is_not_a_conflict(void)
{
    rig r;
    rig_init(&r);
    r.p.fallback.strategy = strategy_find("manual");
    r.p.fallback.grain = GRAIN_RECORD;
    rig_start(&r, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "w1", WRITE_ID(PHONE, 1), "bench", STR("3x5"), NULL));
    EXPECT(user(&r, PHONE, OP_UPDATE, "w1", WRITE_ID(PHONE, 2), "bench", STR("3x6"), NULL));
    EXPECT(user(&r, PHONE, OP_UPDATE, "w1", WRITE_ID(PHONE, 3), "squat", STR("3x5"), NULL));
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(settled(&r, PHONE));
    EXPECT_INT(count_obs(&r, 0, OBS_CONFLICT), 0);
    EXPECT_INT(count_obs(&r, PHONE, OBS_CONFLICT_PENDING), 0);
    EXPECT_INT(look(&r, 0, "w1", NULL).version, 3);
    EXPECT_STR(look(&r, 0, "w1", "bench").text, "3x6");
    EXPECT_STR(look(&r, 0, "w1", "squat").text, "3x5");
    EXPECT_U64(look(&r, 0, "w1", "squat").field_w, WRITE_ID(PHONE, 3));
    rig_stop(&r);
}

/* A parked conflict between the phone and the tablet, on w1's text; the server holds the tablet's. */
static void park_phone_conflict(rig *r)
{
    r->p.fallback.strategy = strategy_find("manual");
    r->p.fallback.grain = GRAIN_RECORD;
    rig_online(r, 2);
    EXPECT(user(r, TABLET, OP_CREATE, "w1", WRITE_ID(TABLET, 1), "weight", STR("100kg"), NULL));
    EXPECT(user(r, TABLET, OP_UPDATE, "w1", WRITE_ID(TABLET, 2), "reps", STR("5x5"), NULL));
    sync_now(r, TABLET);
    sync_now(r, PHONE);
    EXPECT(user(r, TABLET, OP_UPDATE, "w1", WRITE_ID(TABLET, 3), "reps", STR("3x5"), NULL));
    EXPECT(user(r, PHONE, OP_UPDATE, "w1", WRITE_ID(PHONE, 1), "weight", STR("102.5kg"), NULL));
    sync_now(r, TABLET);
    sync_now(r, PHONE);
    EXPECT_INT(count_obs(r, PHONE, OBS_CONFLICT_PENDING), 1);
}

static bool resolve_on(rig *r, int device, const char *id, write_id w, const char *pick_text)
{
    op_field pick = { .name = "pick", .v = STR(pick_text) };
    user_op op = { .kind = OP_RESOLVE, .type = "note", .id = id, .w = w, .n_fields = 1, .fields = &pick };
    const char *why = NULL;
    r->now += 1000;
    return N(r, device)->ops->user_op(N(r, device), &op, r->now, &why);
}

/*
 * "Merge Both": the server's version with the fields this device changed on
 * top -- the phone's weight -- not its stale copy of the tablet's older reps.
 */
static void merge_resolution_takes_only_this_devices_changes(void)
{
    rig r;
    rig_init(&r);
    park_phone_conflict(&r);
    EXPECT_STR(look(&r, PHONE, "w1", "reps").text, "5x5");   /* the phone's copy is stale */
    EXPECT(resolve_on(&r, PHONE, "w1", WRITE_ID(PHONE, 2), "merge"));
    EXPECT_STR(look(&r, PHONE, "w1", "reps").text, "3x5");
    EXPECT_STR(look(&r, PHONE, "w1", "weight").text, "102.5kg");
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    for (int node = 0; node <= TABLET; node++) {
        EXPECT_STR(look(&r, node, "w1", "reps").text, "3x5");
        EXPECT_U64(look(&r, node, "w1", "reps").field_w, WRITE_ID(TABLET, 3));
        EXPECT_STR(look(&r, node, "w1", "weight").text, "102.5kg");
    }
    rig_stop(&r);
}

/*
 * While a conflict waits on the user, the device's pulls pass the record by
 * (its changes are parked) and its cursor moves on; the conflict's server side
 * follows them, so keeping the server's version takes the latest one.
 */
static void keeping_the_server_version_takes_the_latest(void)
{
    rig r;
    rig_init(&r);
    park_phone_conflict(&r);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SEEN), 1);
    EXPECT(user(&r, TABLET, OP_UPDATE, "w1", WRITE_ID(TABLET, 4), "reps", STR("3x8"), NULL));
    sync_now(&r, TABLET);
    sync_now(&r, PHONE);
    EXPECT_INT(count_obs(&r, PHONE, OBS_SEEN), 2);   /* the newer version reached the conflict */
    EXPECT_STR(look(&r, PHONE, "w1", "weight").text, "102.5kg");   /* the phone's own copy waits */
    EXPECT(resolve_on(&r, PHONE, "w1", WRITE_ID(PHONE, 2), "server"));
    EXPECT_STR(look(&r, PHONE, "w1", "reps").text, "3x8");
    EXPECT_STR(look(&r, PHONE, "w1", "weight").text, "100kg");
    EXPECT(!has_pending_push(&r, PHONE));   /* keeping the server's sends nothing */
    EXPECT_INT(look(&r, PHONE, "w1", NULL).version, look(&r, 0, "w1", NULL).version);
    rig_stop(&r);
}

/* --- ID mapping (ids: server, SmartDMV) ------------------------------------------------ */

/* SmartDMV's dependency graph, cut to two types: a pet names its owner (clientId -> client). */
static void owners_and_pets(rig *r)
{
    r->p.ids = IDS_SERVER;
    entity_rules *owner = &r->p.entities[r->p.n_entities++];
    *owner = r->p.fallback;
    owner->type = "client";
    entity_rules *pet = &r->p.entities[r->p.n_entities++];
    *pet = r->p.fallback;
    pet->type = "pet";
    pet->rank = 1;
    pet->n_refs = 1;
    pet->refs[0] = (ref_field){ .field = "clientId", .type = "client" };
}

static bool typed(rig *r, int node_index, op_kind kind, const char *type, const char *id, write_id w,
                  const char *field, const char *text)
{
    op_field f = { .name = field, .v = STR(text) };
    user_op op = { .kind = kind, .type = type, .id = id, .w = w, .n_fields = field ? 1 : 0, .fields = field ? &f : NULL };
    const char *why = NULL;
    r->now += 1000;
    return N(r, node_index)->ops->user_op(N(r, node_index), &op, r->now, &why);
}

/* The value of a field of type/id in the node's snapshot, or "" (and "absent" when there is no such record). */
static const char *field_of(rig *r, int node_index, const char *type, const char *id, const char *field)
{
    static char out[64];
    copy_str(out, sizeof out, "absent");
    cJSON *snap = N(r, node_index)->ops->snapshot(N(r, node_index));
    const cJSON *rec;
    cJSON_ArrayForEach(rec, jget(snap, "records"))
    {
        if (strcmp(jstr(rec, "type"), type) != 0 || strcmp(jstr(rec, "id"), id) != 0)
            continue;
        copy_str(out, sizeof out, jstr(jget(jget(rec, "fields"), field), "v"));
    }
    cJSON_Delete(snap);
    return out;
}

static int records_of(rig *r, int node_index, const char *type)
{
    cJSON *snap = N(r, node_index)->ops->snapshot(N(r, node_index));
    int n = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, jget(snap, "records"))
        n += strcmp(jstr(rec, "type"), type) == 0;
    cJSON_Delete(snap);
    return n;
}

/* The observation of that kind by the node whose detail is `detail`, or NULL. */
static const obs_rec *obs_with_detail(const rig *r, int node_index, obs_kind kind, const char *detail)
{
    for (int i = 0; i < r->host.n_obs; i++)
        if (r->host.obs[i].node == node_index && r->host.obs[i].kind == kind &&
            strcmp(r->host.obs[i].detail, detail) == 0)
            return &r->host.obs[i];
    return NULL;
}

/*
 * A client and its pet created offline, pushed in one batch: the server names
 * both, maps the pet's clientId within the batch, and the device renames its
 * copies. Later operations naming the temporary ids act on the server's.
 */
static void server_ids_replace_temporary_ids(void)
{
    rig r;
    rig_init(&r);
    owners_and_pets(&r);
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    EXPECT(typed(&r, PHONE, OP_CREATE, "client", "c1", WRITE_ID(PHONE, 1), "name", "Ann"));
    EXPECT(typed(&r, PHONE, OP_CREATE, "pet", "p1", WRITE_ID(PHONE, 2), "clientId", "c1"));
    sync_now(&r, PHONE);

    const obs_rec *c1 = obs_with_detail(&r, 0, OBS_ID_ASSIGNED, "c1");
    const obs_rec *p1 = obs_with_detail(&r, 0, OBS_ID_ASSIGNED, "p1");
    EXPECT(c1 && p1);
    if (!c1 || !p1) {
        rig_stop(&r);
        return;
    }
    EXPECT_STR(c1->id, "1");
    EXPECT_STR(p1->id, "2");
    EXPECT_INT(c1->peer, PHONE);
    EXPECT_INT((int64_t)c1->w, (int64_t)WRITE_ID(PHONE, 1));
    /* The server stored the pet with its owner's server id, not the temporary one. */
    EXPECT_STR(field_of(&r, 0, "pet", "2", "clientId"), "1");
    EXPECT_STR(field_of(&r, 0, "client", "1", "name"), "Ann");
    /* The phone renamed both copies and told the world. */
    EXPECT(obs_with_detail(&r, PHONE, OBS_ID_MAPPED, "c1") != NULL);
    EXPECT(obs_with_detail(&r, PHONE, OBS_ID_MAPPED, "p1") != NULL);
    EXPECT_STR(field_of(&r, PHONE, "client", "c1", "name"), "absent");
    EXPECT_STR(field_of(&r, PHONE, "client", "1", "name"), "Ann");
    EXPECT_STR(field_of(&r, PHONE, "pet", "2", "clientId"), "1");
    EXPECT(!has_pending_push(&r, PHONE));   /* the renamed changes were all acknowledged */

    /* The user's screen still holds "c1": an edit of it edits client 1, and a new pet of "c1" names 1. */
    EXPECT(typed(&r, PHONE, OP_UPDATE, "client", "c1", WRITE_ID(PHONE, 3), "name", "Anna"));
    EXPECT(typed(&r, PHONE, OP_CREATE, "pet", "p2", WRITE_ID(PHONE, 4), "clientId", "c1"));
    sync_now(&r, PHONE);
    EXPECT_STR(field_of(&r, 0, "client", "1", "name"), "Anna");
    EXPECT_INT(records_of(&r, 0, "client"), 1);
    EXPECT_STR(field_of(&r, 0, "pet", "3", "clientId"), "1");

    /* Another device knows them only by the server's ids. */
    sync_now(&r, TABLET);
    EXPECT_STR(field_of(&r, TABLET, "client", "1", "name"), "Anna");
    EXPECT_STR(field_of(&r, TABLET, "pet", "2", "clientId"), "1");
    EXPECT_INT(records_of(&r, TABLET, "pet"), 2);
    rig_stop(&r);
}

/* A pet queued before its owner's answer, pushed in a later batch, names the owner's server id. */
static void queued_references_are_mapped_when_pushed(void)
{
    rig r;
    rig_init(&r);
    owners_and_pets(&r);
    r.p.push_batch_max = 1;
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(typed(&r, PHONE, OP_CREATE, "pet", "p1", WRITE_ID(PHONE, 1), "clientId", "c1"));
    EXPECT(typed(&r, PHONE, OP_CREATE, "client", "c1", WRITE_ID(PHONE, 2), "name", "Ann"));
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *first = take_from(&r, PHONE);
    /* Dependency order: the owner goes first, though written second. */
    EXPECT_STR(jstr(jget(jitem(first, "changes", 0), "record"), "type"), "client");
    deliver(&r, PHONE, 0, first);
    cJSON_Delete(first);
    pump(&r);
    EXPECT_STR(field_of(&r, 0, "pet", "2", "clientId"), "1");
    EXPECT_STR(field_of(&r, PHONE, "pet", "2", "clientId"), "1");
    EXPECT_INT(records_of(&r, PHONE, "pet"), 1);
    rig_stop(&r);
}

/*
 * The push's answer is lost and the push retried. Without idempotency keys the
 * server names the record again: two records of one create. With them the
 * retry gets the first answer, id included.
 */
static void lost_answer_then_retry(bool idempotency, int *server_records, const char **phone_id)
{
    rig r;
    rig_init(&r);
    owners_and_pets(&r);
    r.p.idempotency = idempotency;
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(typed(&r, PHONE, OP_CREATE, "client", "c1", WRITE_ID(PHONE, 1), "name", "Ann"));
    after_write(&r, PHONE);
    cJSON *push = take_from(&r, PHONE);
    deliver(&r, PHONE, 0, push);
    cJSON_Delete(push);
    cJSON_Delete(take_from(&r, 0));   /* the answer is lost */
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.retry_us[0]), r.p.retry_us[0]);
    pump(&r);
    *server_records = records_of(&r, 0, "client");
    static char id[32];
    const obs_rec *mapped = obs_with_detail(&r, PHONE, OBS_ID_MAPPED, "c1");
    copy_str(id, sizeof id, mapped ? mapped->id : "none");
    *phone_id = id;
    EXPECT_INT(records_of(&r, PHONE, "client"), *server_records);   /* it pulled whatever the server made */
    rig_stop(&r);
}

static void retried_creates_and_idempotency(void)
{
    int n;
    const char *id;
    lost_answer_then_retry(false, &n, &id);
    EXPECT_INT(n, 2);
    EXPECT_STR(id, "2");   /* the device follows the answer it got: the second record */
    lost_answer_then_retry(true, &n, &id);
    EXPECT_INT(n, 1);
    EXPECT_STR(id, "1");
}

/* A create the server refuses (its type is server-authoritative) leaves no record anywhere: the id it
 * was given is never stored, and the device rolls back its temporary copy. */
static void refused_create_rolls_back_the_temporary_copy(void)
{
    rig r;
    rig_init(&r);
    owners_and_pets(&r);
    r.p.entities[0].strategy = strategy_find("server-authoritative");
    rig_start(&r, 1);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(typed(&r, PHONE, OP_CREATE, "client", "c1", WRITE_ID(PHONE, 1), "name", "Ann"));
    EXPECT_INT(records_of(&r, PHONE, "client"), 1);
    sync_now(&r, PHONE);
    EXPECT_INT(records_of(&r, 0, "client"), 0);
    EXPECT_INT(records_of(&r, PHONE, "client"), 0);
    EXPECT(obs_with_detail(&r, PHONE, OBS_ID_MAPPED, "c1") == NULL);
    EXPECT(!has_pending_push(&r, PHONE));
    rig_stop(&r);
}


static void storage_faults_are_survived(void)
{
    rig r;
    rig_init(&r);
    r.p.retry_us[0] = 1 * SEC;
    r.faultable = true;
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    storage_fault full = { .kind = STORAGE_DISK_FULL }, freed = { .kind = STORAGE_DISK_FREED };
    storage_fault io_once = { .kind = STORAGE_IO_ERROR, .writes = 1 };
    node *phone = N(&r, PHONE), *tablet = N(&r, TABLET), *srv = N(&r, 0);

    /* A full disk: a write that needs more room is refused, visibly, and leaves no trace. */
    static char big[6000];
    memset(big, 'p', sizeof big - 1);
    EXPECT(phone->ops->storage_fault(phone, &full, r.now));
    int records_before = count_obs(&r, PHONE, OBS_RECORD);
    const char *why = NULL;
    EXPECT(!user(&r, PHONE, OP_CREATE, "photo", WRITE_ID(PHONE, 1), "text", STR(big), &why));
    EXPECT_STR(why, "storage full");
    EXPECT_INT(count_obs(&r, PHONE, OBS_RECORD), records_before);
    EXPECT(phone->ops->idle(phone));   /* nothing queued, no sync asked for */
    EXPECT(phone->ops->storage_fault(phone, &freed, r.now));
    EXPECT(user(&r, PHONE, OP_CREATE, "photo", WRITE_ID(PHONE, 2), "text", STR(big), &why));
    EXPECT_INT(count_obs(&r, PHONE, OBS_RECORD), records_before + 1);

    /* The push's answer cannot be stored: the change stays queued and is pushed again. */
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.sync_after_write_us), r.p.sync_after_write_us);
    cJSON *push = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");
    deliver(&r, PHONE, 0, push);
    cJSON_Delete(push);
    cJSON *answer = take_from(&r, 0);
    EXPECT(phone->ops->storage_fault(phone, &io_once, r.now));
    int retries = count_obs(&r, PHONE, OBS_RETRY);
    deliver(&r, 0, PHONE, answer);
    cJSON_Delete(answer);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY), retries + 1);
    EXPECT_INT(r.host.n_msgs, 0);   /* no pull: the round failed */
    EXPECT(!phone->ops->idle(phone));
    fire(&r, PHONE, last_timer(&r, PHONE, 1 * SEC), 1 * SEC);
    push = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");   /* the same change again */
    deliver(&r, PHONE, 0, push);
    cJSON_Delete(push);
    pump(&r);
    EXPECT(phone->ops->idle(phone));

    /* The server cannot store a push: 503, and nothing of it is applied or observed. */
    EXPECT(srv->ops->storage_fault(srv, &io_once, r.now));
    EXPECT(user(&r, TABLET, OP_CREATE, "n2", WRITE_ID(TABLET, 1), "text", STR("tablet note"), NULL));
    fire(&r, TABLET, last_timer(&r, TABLET, r.p.sync_after_write_us), r.p.sync_after_write_us);
    push = take_from(&r, TABLET);
    int received = count_obs(&r, 0, OBS_RECEIVED), server_records = count_obs(&r, 0, OBS_RECORD);
    deliver(&r, TABLET, 0, push);
    cJSON_Delete(push);
    answer = take_from(&r, 0);
    int status = 0;
    EXPECT(wire_gateway_status(AS_MSG(answer), &status));
    EXPECT_INT(status, WIRE_GATEWAY_STATUS_UNAVAILABLE);
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), received);
    EXPECT_INT(count_obs(&r, 0, OBS_RECORD), server_records);
    deliver(&r, 0, TABLET, answer);
    cJSON_Delete(answer);
    fire(&r, TABLET, last_timer(&r, TABLET, 1 * SEC), 1 * SEC);
    pump(&r);
    EXPECT_INT(count_obs(&r, 0, OBS_RECEIVED), received + 1);
    EXPECT(tablet->ops->idle(tablet));

    /* A pulled page cannot be stored: not observed, and pulled again after the retry delay. */
    EXPECT(phone->ops->storage_fault(phone, &io_once, r.now));
    int n2_seen = 0;
    control(&r, PHONE, CTL_SYNC_NOW);
    pump(&r);
    for (int i = 0; i < r.host.n_obs; i++)
        n2_seen += r.host.obs[i].node == PHONE && r.host.obs[i].kind == OBS_RECORD && strcmp(r.host.obs[i].id, "n2") == 0;
    EXPECT_INT(n2_seen, 0);
    EXPECT(!phone->ops->idle(phone));
    fire(&r, PHONE, last_timer(&r, PHONE, 1 * SEC), 1 * SEC);
    pump(&r);
    for (int i = 0; i < r.host.n_obs; i++)
        n2_seen += r.host.obs[i].node == PHONE && r.host.obs[i].kind == OBS_RECORD && strcmp(r.host.obs[i].id, "n2") == 0;
    EXPECT_INT(n2_seen, 1);
    EXPECT(phone->ops->idle(phone));
    cJSON *snap = phone->ops->snapshot(phone);
    EXPECT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(snap, "records")), 2);
    cJSON_Delete(snap);
    rig_stop(&r);

    /* A store opened the ordinary way takes no fault. */
    rig_init(&r);
    rig_start(&r, 1);
    EXPECT(!N(&r, PHONE)->ops->storage_fault(N(&r, PHONE), &full, r.now));
    EXPECT(!N(&r, 0)->ops->storage_fault(N(&r, 0), &io_once, r.now));
    rig_stop(&r);
}

/*
 * A reinstall or a sign-out (docs/lifecycle.md): the phone syncs n1, the tablet creates t1, then the
 * phone writes n2 and its local database is deleted before n2 is pushed. Booted again, it pulls n1
 * and t1 back (wipe: all), or nothing it had before (wipe: data-only keeps the cursor), never n2; a
 * sign-out reports n2 dropped, a reinstall reports nothing. Its next create gets a new operation id,
 * so the idempotent server applies it instead of answering an old one's outcome.
 */
static void lifecycle_wipes_the_store_but_not_the_counters(void)
{
    for (int c = 0; c < 4; c++) {
        lifecycle_call call = { .kind = c & 1 ? LIFECYCLE_SIGN_OUT : LIFECYCLE_REINSTALL,
                                .wipe = c & 2 ? WIPE_DATA_ONLY : WIPE_ALL };
        rig r;
        rig_init(&r);
        rig_online(&r, 2);
        EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("synced"), NULL));
        EXPECT(settled(&r, PHONE));
        EXPECT(user(&r, TABLET, OP_CREATE, "t1", WRITE_ID(TABLET, 1), "text", STR("tablet"), NULL));
        EXPECT(settled(&r, TABLET));
        sync_now(&r, PHONE);
        EXPECT(look(&r, PHONE, "t1", "text").found);
        EXPECT(user(&r, PHONE, OP_CREATE, "n2", WRITE_ID(PHONE, 2), "text", STR("unsynced"), NULL));

        int dropped = count_obs(&r, PHONE, OBS_DROPPED);
        EXPECT(N(&r, PHONE)->ops->lifecycle(N(&r, PHONE), &call, r.now));
        EXPECT_INT(count_obs(&r, PHONE, OBS_DROPPED) - dropped, call.kind == LIFECYCLE_SIGN_OUT ? 1 : 0);
        if (call.kind == LIFECYCLE_SIGN_OUT)
            EXPECT_U64(last_obs(&r, PHONE, OBS_DROPPED)->w, WRITE_ID(PHONE, 2));
        N(&r, PHONE)->ops->crash(N(&r, PHONE));
        for (int i = 0; i < r.host.n_msgs; i++)
            message_release(r.host.msgs[i].msg);
        r.host.n_msgs = 0;   /* the after-write round's push died with the app */
        r.now += 60 * SEC;
        N(&r, PHONE)->ops->boot(N(&r, PHONE), r.now);
        control(&r, PHONE, CTL_NET_UP);
        pump(&r);
        bool all = call.wipe == WIPE_ALL;
        EXPECT(look(&r, PHONE, "n1", "text").found == all);
        EXPECT(look(&r, PHONE, "t1", "text").found == all);
        EXPECT(!look(&r, PHONE, "n2", "text").found);
        EXPECT(!look(&r, 0, "n2", "text").found);
        EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));

        EXPECT(user(&r, PHONE, OP_CREATE, "n3", WRITE_ID(PHONE, 3), "text", STR("after"), NULL));
        EXPECT(settled(&r, PHONE));
        EXPECT_U64(look(&r, 0, "n3", "text").field_w, WRITE_ID(PHONE, 3));
        rig_stop(&r);
    }
}

/* --- the round's shape (sync: round, pull_over_pending, during_round, push_snapshot, watermark_taken) --- */

/* Take the oldest message `from` sent, deliver it to `to`, and say what it was ("" when there was none). */
static const char *relay(rig *r, int from, int to)
{
    static char type[32];
    cJSON *m = take_from(r, from);
    type[0] = '\0';
    if (!m)
        return type;
    copy_str(type, sizeof type, jstr(m, "type"));
    r->now += 1000;
    deliver(r, from, to, m);
    cJSON_Delete(m);
    return type;
}

/* round: pull-push pulls every page first, pushes after, and ends the round on the push's answer. */
static void pull_push_rounds_pull_first(void)
{
    for (int order = ROUND_PUSH_PULL; order <= ROUND_PULL_PUSH; order++) {
        rig r;
        rig_init(&r);
        r.p.round = (round_order)order;
        rig_online(&r, 1);
        EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
        int ends = count_obs(&r, PHONE, OBS_SYNC_END);
        control(&r, PHONE, CTL_SYNC_NOW);
        if (order == ROUND_PULL_PUSH) {
            EXPECT_STR(relay(&r, PHONE, 0), "pull");
            EXPECT_STR(relay(&r, 0, PHONE), "pull_result");
            EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), ends);   /* the pulls done, the round pushes */
            EXPECT_STR(relay(&r, PHONE, 0), "push");
            EXPECT_STR(relay(&r, 0, PHONE), "push_result");
            EXPECT_INT(r.host.n_msgs, 0);   /* no pull after the push: the round is over */
        } else {
            EXPECT_STR(relay(&r, PHONE, 0), "push");
            EXPECT_STR(relay(&r, 0, PHONE), "push_result");
            EXPECT_STR(relay(&r, PHONE, 0), "pull");
            EXPECT_STR(relay(&r, 0, PHONE), "pull_result");
            EXPECT_INT(r.host.n_msgs, 0);
        }
        EXPECT_INT(count_obs(&r, PHONE, OBS_SYNC_END), ends + 1);
        EXPECT_STR(look(&r, 0, "n1", "text").text, "one");
        rig_stop(&r);
    }
}

/*
 * The tablet's edit of n1 reaches the server while the phone's edit of the same field waits in its
 * outbox; the phone's round (pull-push) pulls the tablet's version first. What each mode leaves on
 * the phone, what the phone then pushes, and what the server makes of it.
 */
static void pulled_records_over_pending_changes(void)
{
    for (int mode = PULL_OVER_KEEP; mode <= PULL_OVER_DISCARD; mode++) {
        rig r;
        rig_init(&r);
        r.p.round = ROUND_PULL_PUSH;
        r.p.pull_over_pending = (pull_over_pending)mode;
        rig_online(&r, 2);
        EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
        sync_now(&r, PHONE);
        sync_now(&r, TABLET);
        EXPECT(user(&r, TABLET, OP_UPDATE, "n1", WRITE_ID(TABLET, 1), "text", STR("tablet"), NULL));
        sync_now(&r, TABLET);
        EXPECT_INT(look(&r, 0, "n1", "text").version, 2);
        EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("phone"), NULL));
        int conflicts = count_obs(&r, 0, OBS_CONFLICT);

        control(&r, PHONE, CTL_SYNC_NOW);
        EXPECT_STR(relay(&r, PHONE, 0), "pull");
        EXPECT_STR(relay(&r, 0, PHONE), "pull_result");
        view v = look(&r, PHONE, "n1", "text");
        cJSON *push = take_from(&r, PHONE);
        switch (mode) {
        case PULL_OVER_KEEP:
            EXPECT_STR(v.text, "phone");
            EXPECT_INT(v.version, 1);
            EXPECT_INT(jint(jitem(push, "changes", 0), "base_version"), 1);
            break;
        case PULL_OVER_REBASE:
            /* The phone's edit on top of the pulled version, and queued as made on it. */
            EXPECT_STR(v.text, "phone");
            EXPECT_U64(v.field_w, WRITE_ID(PHONE, 2));
            EXPECT_INT(v.version, 2);
            EXPECT_INT(jint(jitem(push, "changes", 0), "base_version"), 2);
            break;
        case PULL_OVER_REPLACE:
            /* The pulled version as it is: the phone's edit is off screen, still queued on version 1. */
            EXPECT_STR(v.text, "tablet");
            EXPECT_U64(v.field_w, WRITE_ID(TABLET, 1));
            EXPECT_INT(jint(jitem(push, "changes", 0), "base_version"), 1);
            break;
        case PULL_OVER_DISCARD:
            EXPECT_STR(v.text, "tablet");
            EXPECT(push == NULL);   /* nothing left to push: the round is over */
            EXPECT_INT(count_obs(&r, PHONE, OBS_DROPPED), 1);
            EXPECT_U64(last_obs(&r, PHONE, OBS_DROPPED)->w, WRITE_ID(PHONE, 2));
            EXPECT_CONTAINS(last_obs(&r, PHONE, OBS_DROPPED)->detail, "pulled record");
            break;
        }
        if (push) {
            deliver(&r, PHONE, 0, push);
            cJSON_Delete(push);
            pump(&r);
        }
        v = look(&r, 0, "n1", "text");
        if (mode == PULL_OVER_DISCARD) {
            EXPECT_STR(v.text, "tablet");
            EXPECT_INT(v.version, 2);
        } else {
            EXPECT_INT(v.version, 3);
        }
        /* Rebased, the change is on the server's version: no conflict is found, the tablet's edit is
         * overwritten unseen. Kept or replaced, it is on version 1 and the server finds the conflict. */
        EXPECT_INT(count_obs(&r, 0, OBS_CONFLICT) - conflicts,
                   mode == PULL_OVER_KEEP || mode == PULL_OVER_REPLACE ? 1 : 0);
        if (mode == PULL_OVER_REBASE)
            EXPECT_U64(v.field_w, WRITE_ID(PHONE, 2));
        if (mode == PULL_OVER_REPLACE)
            EXPECT_STR(look(&r, PHONE, "n1", "text").text, look(&r, 0, "n1", "text").text);   /* answered: back */
        rig_stop(&r);
    }
}

/*
 * pull_over_pending: { edited: rebase, deleted: discard } (WatermelonDB): a pulled record over a record
 * the phone edited keeps the phone's edit; over a record the phone deleted, it replaces the record and
 * the delete is dropped unsent.
 */
static void pulled_records_over_edits_and_deletes(void)
{
    rig r;
    rig_init(&r);
    r.p.round = ROUND_PULL_PUSH;
    r.p.pull_over_pending = PULL_OVER_REBASE;
    r.p.pull_over_deleted = PULL_OVER_DISCARD;
    rig_online(&r, 2);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
    EXPECT(user(&r, PHONE, OP_CREATE, "n2", WRITE_ID(PHONE, 2), "text", STR("two"), NULL));
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    EXPECT(user(&r, TABLET, OP_UPDATE, "n1", WRITE_ID(TABLET, 1), "text", STR("tablet 1"), NULL));
    EXPECT(user(&r, TABLET, OP_UPDATE, "n2", WRITE_ID(TABLET, 2), "text", STR("tablet 2"), NULL));
    sync_now(&r, TABLET);
    EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 3), "text", STR("phone 1"), NULL));
    EXPECT(user(&r, PHONE, OP_DELETE, "n2", WRITE_ID(PHONE, 4), NULL, STR(""), NULL));
    sync_now(&r, PHONE);
    EXPECT_STR(look(&r, 0, "n1", "text").text, "phone 1");   /* the edit was rebased and pushed */
    view n2 = look(&r, 0, "n2", "text");
    EXPECT(!n2.deleted && strcmp(n2.text, "tablet 2") == 0);   /* the delete never left */
    EXPECT(!look(&r, PHONE, "n2", NULL).deleted);
    EXPECT_INT(count_obs(&r, PHONE, OBS_DROPPED), 1);
    EXPECT_U64(last_obs(&r, PHONE, OBS_DROPPED)->w, WRITE_ID(PHONE, 4));
    rig_stop(&r);
}

/*
 * server: { pulls: log } with sync: { pull_apply: by-kind }: the tablet, which never held n1, pulls its
 * create and its delete in one page. By kind, the create is applied and the delete skipped (it removes
 * only what the device held before the page): n1 is live on the tablet. In order, it ends deleted.
 */
static bool changeset_leaves_record_live(bool by_kind)
{
    rig r;
    rig_init(&r);
    r.p.pulls_log = true;
    r.p.pull_apply_by_kind = by_kind;
    rig_start(&r, 2);
    control(&r, PHONE, CTL_NET_UP);
    pump(&r);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("draft"), NULL));
    sync_now(&r, PHONE);
    EXPECT(user(&r, PHONE, OP_DELETE, "n1", WRITE_ID(PHONE, 2), NULL, STR(""), NULL));
    sync_now(&r, PHONE);
    EXPECT(look(&r, 0, "n1", NULL).deleted);
    control(&r, TABLET, CTL_NET_UP);
    pump(&r);
    view v = look(&r, TABLET, "n1", NULL);
    EXPECT(v.found);
    rig_stop(&r);
    return v.found && !v.deleted;
}

static void changesets_applied_by_kind(void)
{
    EXPECT(changeset_leaves_record_live(true));
    EXPECT(!changeset_leaves_record_live(false));
}

/* Rounds run after three syncs asked for while one round runs. */
static int rounds_for_three_requests(during_round mode)
{
    rig r;
    rig_init(&r);
    r.p.during_round = mode;
    rig_online(&r, 1);
    int begins = count_obs(&r, PHONE, OBS_SYNC_BEGIN);
    control(&r, PHONE, CTL_SYNC_NOW);   /* the round starts: its pull is in flight */
    for (int i = 0; i < 3; i++)
        control(&r, PHONE, CTL_SYNC_NOW);
    pump(&r);
    int rounds = count_obs(&r, PHONE, OBS_SYNC_BEGIN) - begins;
    rig_stop(&r);
    return rounds;
}

/* A write whose after-write sync comes while a round pulls, with during_round: drop. */
static void drop_a_sync_during_a_round(int64_t interval_us, bool *idle, bool *reached)
{
    rig r;
    rig_init(&r);
    r.p.during_round = DURING_DROP;
    r.p.sync_interval_us = interval_us;
    rig_online(&r, 1);
    control(&r, PHONE, CTL_SYNC_NOW);   /* nothing to push: the round's pull is in flight */
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
    after_write(&r, PHONE);             /* dropped */
    pump(&r);
    *idle = N(&r, PHONE)->ops->idle(N(&r, PHONE));
    *reached = look(&r, 0, "n1", "text").found;
    rig_stop(&r);
}

static void syncs_asked_for_during_a_round(void)
{
    EXPECT_INT(rounds_for_three_requests(DURING_COALESCE), 2);
    EXPECT_INT(rounds_for_three_requests(DURING_QUEUE), 4);
    EXPECT_INT(rounds_for_three_requests(DURING_DROP), 1);
    /* Dropped, with no periodic sync: nothing will push the write, and the device says it is idle
     * (the checker then finds the write undelivered). With a periodic sync it still has work. */
    bool idle, reached;
    drop_a_sync_during_a_round(0, &idle, &reached);
    EXPECT(idle);
    EXPECT(!reached);
    drop_a_sync_during_a_round(5 * 60 * SEC, &idle, &reached);
    EXPECT(!idle);
    EXPECT(!reached);
}

/*
 * round: streams. A sync sends a push and a pull at once, each its own request. The ordering hazard:
 * the server answers the pull before it applies the push, and the pull's answer arrives after the
 * push's, when no queued change protects the record: the phone shows the older version (its own
 * write gone) until its next pull. A failed pull fails the pull stream alone: the push in flight is
 * still answered and applied, and only the pull stream retries, on its own timer; a write wakes the
 * push stream only; the device is idle only when both streams are.
 */
static void streams_run_independently(void)
{
    rig r;
    rig_init(&r);
    r.p.round = ROUND_STREAMS;
    r.p.n_retry = 1;
    r.p.retry_us[0] = 1 * SEC;
    rig_online(&r, 2);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
    sync_now(&r, PHONE);
    sync_now(&r, TABLET);
    EXPECT(user(&r, TABLET, OP_UPDATE, "n1", WRITE_ID(TABLET, 1), "text", STR("tablet"), NULL));
    sync_now(&r, TABLET);
    EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("phone"), NULL));

    /* Both streams in flight; the pull reaches the server first, its answer the phone last. */
    control(&r, PHONE, CTL_SYNC_NOW);
    EXPECT_INT(msgs_from(&r, PHONE), 2);
    cJSON *push = take_from(&r, PHONE);
    cJSON *pull = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");
    EXPECT_STR(jstr(pull, "type"), "pull");
    deliver(&r, PHONE, 0, pull);
    cJSON *stale = take_from(&r, 0);
    deliver(&r, PHONE, 0, push);
    cJSON *answer = take_from(&r, 0);
    EXPECT_STR(jstr(stale, "type"), "pull_result");
    EXPECT_STR(jstr(answer, "type"), "push_result");
    deliver(&r, 0, PHONE, answer);
    EXPECT_STR(look(&r, PHONE, "n1", "text").text, "phone");
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));   /* the pull stream still runs */
    deliver(&r, 0, PHONE, stale);
    EXPECT_STR(look(&r, PHONE, "n1", "text").text, "tablet");   /* its own write gone: read-your-writes */
    EXPECT_U64(look(&r, PHONE, "n1", "text").field_w, WRITE_ID(TABLET, 1));
    EXPECT_INT(r.host.n_msgs, 0);   /* both runs over (the write's own after-write sync is still due) */
    sync_now(&r, PHONE);
    EXPECT_STR(look(&r, PHONE, "n1", "text").text, "phone");   /* the next pull brings it back */
    cJSON_Delete(push);
    cJSON_Delete(pull);
    cJSON_Delete(stale);
    cJSON_Delete(answer);

    /* A write wakes the push stream only. */
    int retries = count_obs(&r, PHONE, OBS_RETRY);
    EXPECT(user(&r, PHONE, OP_CREATE, "n2", WRITE_ID(PHONE, 3), "text", STR("two"), NULL));
    after_write(&r, PHONE);
    EXPECT_INT(msgs_from(&r, PHONE), 1);
    push = take_from(&r, PHONE);
    EXPECT_STR(jstr(push, "type"), "push");
    /* A manual sync meanwhile starts the pull stream (and owes the busy push stream one more run). */
    control(&r, PHONE, CTL_SYNC_NOW);
    EXPECT_INT(msgs_from(&r, PHONE), 1);
    pull = take_from(&r, PHONE);
    EXPECT_STR(jstr(pull, "type"), "pull");
    /* The pull times out: the pull stream retries on its own timer, the push goes on. */
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    EXPECT_INT(count_obs(&r, PHONE, OBS_RETRY) - retries, 1);
    EXPECT_INT(count_timers(&r, PHONE, 1 * SEC), 1);
    deliver(&r, PHONE, 0, push);
    pump(&r);   /* the push's answer, applied; the owed push run finds the outbox empty */
    EXPECT_U64(look(&r, 0, "n2", "text").field_w, WRITE_ID(PHONE, 3));
    EXPECT_INT(r.host.n_msgs, 0);
    EXPECT(!N(&r, PHONE)->ops->idle(N(&r, PHONE)));   /* the pull stream's retry is pending */
    fire(&r, PHONE, last_timer(&r, PHONE, 1 * SEC), 1 * SEC);
    EXPECT_INT(msgs_from(&r, PHONE), 1);
    EXPECT_STR(relay(&r, PHONE, 0), "pull");
    pump(&r);
    EXPECT(N(&r, PHONE)->ops->idle(N(&r, PHONE)));
    cJSON_Delete(push);
    cJSON_Delete(pull);
    rig_stop(&r);
}

/* A change queued while the round's first push is in flight: in the same round, or the next. */
static void push_snapshots(void)
{
    for (int mode = SNAPSHOT_CURRENT; mode <= SNAPSHOT_ROUND_START; mode++) {
        rig r;
        rig_init(&r);
        r.p.push_snapshot = (push_snapshot)mode;
        rig_online(&r, 1);
        EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
        control(&r, PHONE, CTL_SYNC_NOW);
        EXPECT(user(&r, PHONE, OP_CREATE, "n2", WRITE_ID(PHONE, 2), "text", STR("two"), NULL));
        EXPECT_STR(relay(&r, PHONE, 0), "push");
        EXPECT_STR(relay(&r, 0, PHONE), "push_result");
        EXPECT_STR(relay(&r, PHONE, 0), mode == SNAPSHOT_CURRENT ? "push" : "pull");
        pump(&r);
        EXPECT(look(&r, 0, "n1", "text").found);
        EXPECT(look(&r, 0, "n2", "text").found == (mode == SNAPSHOT_CURRENT));
        /* Round-start: the next round takes it (here the user's; a coalesced request would do too). */
        sync_now(&r, PHONE);
        EXPECT(look(&r, 0, "n2", "text").found);
        rig_stop(&r);
    }
}

/* With a device-clock watermark read as `taken`: does an edit made while the round runs -- before the
 * push's answer, or while the round pulls -- ever reach the server? */
static bool edit_during_round_delivered(watermark_taken taken, bool during_pull)
{
    rig r;
    rig_init(&r);
    r.p.changes = CHANGES_WATERMARK;
    r.p.watermark = WATERMARK_DEVICE;
    r.p.watermark_taken = taken;
    r.p.fallback.grain = GRAIN_RECORD;
    rig_online(&r, 1);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("first"), NULL));
    control(&r, PHONE, CTL_SYNC_NOW);
    if (!during_pull)
        EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("second"), NULL));
    EXPECT_STR(relay(&r, PHONE, 0), "push");
    EXPECT_STR(relay(&r, 0, PHONE), "push_result");
    if (during_pull)
        EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("second"), NULL));
    EXPECT_STR(relay(&r, PHONE, 0), "pull");
    EXPECT_STR(relay(&r, 0, PHONE), "pull_result");
    EXPECT_STR(look(&r, 0, "n1", "text").text, "first");
    r.now += SEC;
    has_pending_push(&r, PHONE);
    bool delivered = strcmp(look(&r, 0, "n1", "text").text, "second") == 0;
    rig_stop(&r);
    return delivered;
}

static void watermark_read_times(void)
{
    EXPECT(!edit_during_round_delivered(TAKEN_ANSWER, false));   /* StrongLog's window, as before */
    EXPECT(edit_during_round_delivered(TAKEN_ANSWER, true));
    EXPECT(edit_during_round_delivered(TAKEN_SEND, false));      /* the safe choice */
    EXPECT(edit_during_round_delivered(TAKEN_SEND, true));
    EXPECT(!edit_during_round_delivered(TAKEN_ROUND_END, false));
    EXPECT(!edit_during_round_delivered(TAKEN_ROUND_END, true)); /* Dotmim.Sync #54 */
}

/* cursor_saved: a round that fails after its first page pulls again from where? Returns the `since` of
 * the next round's first pull minus that of the failed round's first pull. */
static int64_t cursor_progress_after_a_failed_round(cursor_saved saved)
{
    rig r;
    rig_init(&r);
    r.p.pull_page_max = 1;
    r.p.cursor_saved = saved;
    rig_online(&r, 2);
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "n%d", i);
        EXPECT(user(&r, TABLET, OP_CREATE, id, WRITE_ID(TABLET, i + 1), "text", STR("t"), NULL));
    }
    sync_now(&r, TABLET);
    control(&r, PHONE, CTL_SYNC_NOW);
    cJSON *pull = take_from(&r, PHONE);
    int64_t first = jint(pull, "since");
    deliver(&r, PHONE, 0, pull);
    cJSON_Delete(pull);
    EXPECT_STR(relay(&r, 0, PHONE), "pull_result");
    EXPECT(look(&r, PHONE, "n0", "text").found);   /* the page's records are stored either way */
    cJSON_Delete(take_from(&r, PHONE));             /* the second page's request is lost */
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.request_timeout_us), r.p.request_timeout_us);
    fire(&r, PHONE, last_timer(&r, PHONE, r.p.retry_us[0]), r.p.retry_us[0]);   /* the retry's round */
    pull = take_from(&r, PHONE);
    int64_t again = jint(pull, "since");
    deliver(&r, PHONE, 0, pull);
    cJSON_Delete(pull);
    pump(&r);
    EXPECT(look(&r, PHONE, "n2", "text").found);
    /* The finished round saved its cursor: the next one starts past every record. */
    control(&r, PHONE, CTL_SYNC_NOW);
    pull = take_from(&r, PHONE);
    EXPECT_INT(jint(pull, "since"), server_head_seq(&r));
    deliver(&r, PHONE, 0, pull);
    cJSON_Delete(pull);
    pump(&r);
    rig_stop(&r);
    return again - first;
}

static void cursors_saved_by_page_or_round(void)
{
    EXPECT_INT(cursor_progress_after_a_failed_round(CURSOR_SAVED_PAGE), 1);
    EXPECT_INT(cursor_progress_after_a_failed_round(CURSOR_SAVED_ROUND), 0);
}


/* --- server visibility in time (profile server:, docs/server-visibility.md) --------------------------- */

/* Deliver the device's next message to the server. */
static void to_server(rig *r, int device)
{
    cJSON *m = take_from(r, device);
    EXPECT(m != NULL);
    if (m)
        deliver(r, device, 0, m);
    cJSON_Delete(m);
}

/* commit_delay: the push's write is in no pull until its transaction commits, and its answer waits for
 * the commit; the server is not idle, and no device is served its head, while it is open. */
static void commit_delay_hides_a_write_until_it_commits(void)
{
    rig r;
    rig_init(&r);
    r.p.commit_delay_us = 200 * 1000;
    rig_online(&r, 2);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
    control(&r, PHONE, CTL_SYNC_NOW);
    to_server(&r, PHONE);
    EXPECT_INT(msgs_from(&r, 0), 0);                       /* no answer before the commit */
    EXPECT_INT(count_timers(&r, 0, 200 * 1000), 1);
    uint64_t commit = last_timer(&r, 0, 200 * 1000);
    EXPECT(!N(&r, 0)->ops->idle(N(&r, 0)));
    EXPECT_STR(N(&r, 0)->ops->timer_name(N(&r, 0), commit), "commit");

    int served = count_obs(&r, 0, OBS_SERVED_HEAD);
    control(&r, TABLET, CTL_SYNC_NOW);
    to_server(&r, TABLET);
    cJSON *reply = take_from(&r, 0);
    EXPECT(reply && jsize(reply, "changes") == 0);          /* the open transaction's write is not visible */
    EXPECT_INT(count_obs(&r, 0, OBS_SERVED_HEAD), served);  /* and the tablet is not caught up */
    if (reply)
        deliver(&r, 0, TABLET, reply);
    cJSON_Delete(reply);

    fire(&r, 0, commit, 200 * 1000);
    EXPECT_INT(msgs_from(&r, 0), 1);                       /* the answer goes at the commit */
    EXPECT(N(&r, 0)->ops->idle(N(&r, 0)));
    pump(&r);
    sync_now(&r, TABLET);
    view v = look(&r, TABLET, "n1", "text");
    EXPECT(v.found);
    EXPECT_STR(v.text, "one");
    EXPECT_INT(count_obs(&r, 0, OBS_SERVED_HEAD), served + 2);   /* the phone's pull, then the tablet's */
    rig_stop(&r);
}

/* The phone's two-change push (sequence 1 and 2, open 200ms) and the tablet's one-change push (sequence 3,
 * open 100ms): the tablet's pull between the two commits moves its sequence cursor past 1 and 2 unless
 * cursor_horizon holds it. Returns whether the tablet ends with the phone's notes. */
static bool tablet_gets_notes_committed_late(bool horizon)
{
    rig r;
    rig_init(&r);
    r.p.commit_delay_per_change_us = 100 * 1000;
    r.p.cursor_horizon = horizon;
    rig_online(&r, 2);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("one"), NULL));
    EXPECT(user(&r, PHONE, OP_CREATE, "n2", WRITE_ID(PHONE, 2), "text", STR("two"), NULL));
    EXPECT(user(&r, TABLET, OP_CREATE, "t1", WRITE_ID(TABLET, 1), "text", STR("tablet"), NULL));
    control(&r, PHONE, CTL_SYNC_NOW);
    to_server(&r, PHONE);
    uint64_t phone_commit = last_timer(&r, 0, 200 * 1000);
    control(&r, TABLET, CTL_SYNC_NOW);
    to_server(&r, TABLET);
    uint64_t tablet_commit = last_timer(&r, 0, 100 * 1000);

    fire(&r, 0, tablet_commit, 100 * 1000);
    cJSON *answer = take_from(&r, 0);
    EXPECT(answer != NULL);
    if (answer)
        deliver(&r, 0, TABLET, answer);
    cJSON_Delete(answer);
    to_server(&r, TABLET);   /* the round's pull, while the phone's transaction is open */
    cJSON *page = take_from(&r, 0);
    EXPECT(page != NULL);
    EXPECT_INT(page ? jsize(page, "changes") : -1, horizon ? 0 : 1);
    EXPECT_INT(page ? jint(page, "next") : -1, horizon ? 0 : 3);
    if (page)
        deliver(&r, 0, TABLET, page);
    cJSON_Delete(page);

    fire(&r, 0, phone_commit, 100 * 1000);
    pump(&r);
    sync_now(&r, TABLET);
    bool got = look(&r, TABLET, "n1", "text").found && look(&r, TABLET, "n2", "text").found;
    EXPECT(look(&r, TABLET, "t1", "text").found);
    rig_stop(&r);
    return got;
}

/* commit_delay: { dist: ... }: each push's commit delay is one of the profile's draws, picked by the boot
 * seed and the push's number: the same seed picks the same delays, another seed others. Writes the eight
 * pushes' delays to out. */
static void commit_delays_drawn(uint64_t seed, int64_t out[8])
{
    static const int64_t draws[] = { 100 * 1000, 300 * 1000 };
    rig r;
    rig_init(&r);
    r.seed = seed;
    r.p.commit_delay_draws = draws;
    r.p.n_commit_delay_draws = 2;
    rig_online(&r, 1);
    for (int i = 0; i < 8; i++) {
        char id[8];
        snprintf(id, sizeof id, "n%d", i);
        EXPECT(user(&r, PHONE, OP_CREATE, id, WRITE_ID(PHONE, i + 1), "text", STR("x"), NULL));
        control(&r, PHONE, CTL_SYNC_NOW);
        to_server(&r, PHONE);
        const timer_rec *t = &r.host.timers[r.host.n_timers - 1];
        EXPECT_INT(t->node, 0);
        out[i] = t->delay_us;
        EXPECT(out[i] == draws[0] || out[i] == draws[1]);
        fire(&r, 0, t->token, t->delay_us);
        pump(&r);
    }
    rig_stop(&r);
}

static void commit_delays_are_drawn_from_the_seed(void)
{
    int64_t a[8], b[8], c[8];
    commit_delays_drawn(1, a);
    commit_delays_drawn(1, b);
    commit_delays_drawn(2, c);
    EXPECT(memcmp(a, b, sizeof a) == 0);
    EXPECT(memcmp(a, c, sizeof a) != 0);
    int slow = 0;
    for (int i = 0; i < 8; i++)
        slow += a[i] == 300 * 1000;
    EXPECT(slow > 0 && slow < 8);   /* both draws come up */
}

static void sequence_cursors_skip_writes_that_commit_late(void)
{
    EXPECT(!tablet_gets_notes_committed_late(false));
    EXPECT(tablet_gets_notes_committed_late(true));
}

/* feed_lag: the push is answered at once, but pulls see a committed write only feed_lag later, each record
 * at its latest version the feed has: a device that pulls in between is shown an older version. */
static void a_lagging_feed_shows_older_versions(void)
{
    rig r;
    rig_init(&r);
    r.p.feed_lag_us = 2 * SEC;
    rig_online(&r, 2);
    EXPECT(user(&r, PHONE, OP_CREATE, "n1", WRITE_ID(PHONE, 1), "text", STR("first"), NULL));
    sync_now(&r, PHONE);
    EXPECT_INT(look(&r, PHONE, "n1", "text").version, 1);   /* answered without waiting for the feed */
    EXPECT(!N(&r, 0)->ops->idle(N(&r, 0)));                 /* the feed has yet to catch up */
    uint64_t feed = last_timer(&r, 0, 2 * SEC);
    EXPECT_STR(N(&r, 0)->ops->timer_name(N(&r, 0), feed), "feed");
    sync_now(&r, TABLET);
    EXPECT(!look(&r, TABLET, "n1", "text").found);
    fire(&r, 0, feed, 2 * SEC);
    EXPECT(N(&r, 0)->ops->idle(N(&r, 0)));
    sync_now(&r, TABLET);
    EXPECT(look(&r, TABLET, "n1", "text").found);

    /* The phone's pull cursor is still at 0: its edit's round pulls the feed's first version. */
    EXPECT(user(&r, PHONE, OP_UPDATE, "n1", WRITE_ID(PHONE, 2), "text", STR("second"), NULL));
    sync_now(&r, PHONE);
    EXPECT_STR(look(&r, PHONE, "n1", "text").text, "first");
    fire(&r, 0, last_timer(&r, 0, 2 * SEC), 2 * SEC);
    sync_now(&r, PHONE);
    EXPECT_STR(look(&r, PHONE, "n1", "text").text, "second");
    rig_stop(&r);
}

int main(void)
{
    lifecycle_wipes_the_store_but_not_the_counters();
    increments_merge_only_as_a_crdt();
    ops_counters_count_a_replay_unless_idempotent();
    appends_reach_everyone_once_in_order();
    tenants_are_isolated();
    xalloc_install_cjson();
    first_round_pulls();
    create_is_pushed_applied_and_acknowledged();
    duplicate_push_is_applied_once_with_idempotency();
    duplicate_push_is_applied_twice_without_idempotency();
    stale_retry_with_and_without_idempotency();
    replies_to_other_requests_are_ignored();
    pull_pages_follow_the_cursor();
    a_pull_does_not_overwrite_pending_changes();
    refused_user_ops_write_nothing();
    crash_keeps_the_store_and_forgets_the_request();
    server_restart_keeps_seq_and_deduplication();
    timeouts_retry_on_schedule();
    gateway_errors_retry_on_schedule();
    expired_tokens_refresh_or_wait_for_a_relaunch();
    a_successful_push_resets_the_retry_count();
    gives_up_then_waits_for_a_manual_sync();
    malformed_messages_to_the_server_change_nothing();
    malformed_replies_to_the_client_change_nothing();
    local_writes_in_one_batch_are_not_concurrent();
    queue_base_rebased_or_as_queued();
    a_form_save_declares_the_opened_version();
    recreated_record_does_not_resurrect_deleted_fields();
    watermark_skips_writes_behind_the_clock();
    server_clock_watermark();
    timestamp_cursors();
    per_type_pulls();
    validation_and_batches();
    changes_dropped_after_retries();
    manual_resolution();
    refused_changes_roll_back();
    timestamp_conflict_detection();
    a_chain_of_edits_in_one_push_is_not_a_conflict();
    merge_resolution_takes_only_this_devices_changes();
    keeping_the_server_version_takes_the_latest();
    server_ids_replace_temporary_ids();
    queued_references_are_mapped_when_pushed();
    retried_creates_and_idempotency();
    refused_create_rolls_back_the_temporary_copy();
    storage_faults_are_survived();
    pull_push_rounds_pull_first();
    pulled_records_over_pending_changes();
    pulled_records_over_edits_and_deletes();
    changesets_applied_by_kind();
    syncs_asked_for_during_a_round();
    push_snapshots();
    streams_run_independently();
    watermark_read_times();
    cursors_saved_by_page_or_round();
    commit_delay_hides_a_write_until_it_commits();
    sequence_cursors_skip_writes_that_commit_late();
    a_lagging_feed_shows_older_versions();
    commit_delays_are_drawn_from_the_seed();
    return test_exit("engine");
}
