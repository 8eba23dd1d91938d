/*
 * client: a device's sync engine.
 *
 * Durable (SQLite, survives a crash): records, the outbox, the pull cursor.
 * Volatile (lost on crash): the sync round in progress, timers, the HLC
 * (recovered at boot from the stamps in the store), the retry counter.
 *
 * A sync round pushes the outbox oldest first in batches, then pulls pages
 * from the cursor until the server says there is no more. One request is in
 * flight at a time; a request unanswered within the profile's timeout has
 * failed, and the round is retried after the next delay of the retry
 * schedule. Invariants:
 *   - a local change and its outbox entry are written in one transaction;
 *   - an outbox entry is removed only when the server's result for it
 *     arrives, so a lost request or reply means the entry is sent again
 *     (the server deduplicates by operation id when the profile says so);
 *   - a pulled record never overwrites a record that still has changes in
 *     the outbox: the server decides those, and its result comes back.
 */
#include "base/xalloc.h"
#include "engine/engine.h"
#include "engine/strategy.h"
#include "engine/wire.h"

#include <assert.h>
#include <string.h>

typedef enum round_phase {
    PHASE_IDLE,
    PHASE_PUSH,
    PHASE_PULL,
} round_phase;

/* Timer tokens: kind in the low byte, a generation or request id above it. */
enum timer_kind {
    TIMER_PERIODIC = 1,
    TIMER_AFTER_WRITE,
    TIMER_TIMEOUT,
    TIMER_RETRY,
};
#define TOKEN(kind, n) (((uint64_t)(n) << 8) | (uint64_t)(kind))
#define TOKEN_KIND(t) ((int)((t)&0xffu))
#define TOKEN_N(t) ((t) >> 8)

/* What the client remembers of a change in the push in flight. */
typedef struct sent_change {
    int64_t op_id;
    int64_t base_version;
} sent_change;

typedef struct client {
    node base;
    engine_config cfg;
    const profile *profile;
    store *store;
    arena scratch;          /* reset at the start of every entry point */

    /* Volatile state: reset by crash. */
    bool booted;
    bool net_up;
    hlc clock;
    round_phase phase;
    int64_t next_req;
    int64_t inflight_req;   /* 0: nothing in flight */
    sent_change *sent;      /* the push in flight, push_batch_max entries */
    int n_sent;
    uint64_t periodic_gen;
    uint64_t after_write_gen;
    uint64_t retry_gen;
    bool after_write_pending;
    bool retry_pending;
    bool again;             /* a sync was asked for during a round */
    int failures;           /* consecutive failed requests */
    bool gave_up;           /* retry schedule exhausted, waiting for a manual sync */
    int64_t cursor;         /* cached copy of meta "cursor" */
    int64_t pulled;         /* records pulled in this round */
} client;

static void start_round(client *c, int64_t now_us);

static void observe_simple(client *c, obs_kind kind, int64_t count, const char *detail)
{
    observation obs = { .kind = kind, .count = count, .detail = detail };
    c->cfg.host.observe(c->cfg.host.ctx, c->cfg.index, &obs);
}

static void set_timer(client *c, int64_t delay_us, uint64_t token)
{
    c->cfg.host.set_timer(c->cfg.host.ctx, c->cfg.index, delay_us, token);
}

static int64_t new_request(client *c)
{
    c->inflight_req = c->next_req++;
    set_timer(c, c->profile->request_timeout_us, TOKEN(TIMER_TIMEOUT, c->inflight_req));
    return c->inflight_req;
}

static void send_msg(client *c, cJSON *msg)
{
    c->cfg.host.send(c->cfg.host.ctx, c->cfg.index, NODE_SERVER, msg);
}

/* Install a record from the server unless the stored copy is already exactly it.
 * A new version of the same state (same provenance) is stored but is no new state
 * for the simulator to observe. */
static void adopt(client *c, const record *incoming)
{
    record old;
    int outcome = store_record_put_if_changed(c->store, incoming, &c->scratch, &old);
    if (outcome == STORE_PUT_NEW || (outcome == STORE_PUT_CHANGED && !record_same_provenance(&old, incoming)))
        engine_observe_record(&c->cfg, incoming, &c->scratch);
}

/* --- the sync round ------------------------------------------------------ */

static void finish_round(client *c, int64_t now_us)
{
    c->phase = PHASE_IDLE;
    observe_simple(c, OBS_SYNC_END, c->pulled, NULL);
    if (c->again) {
        c->again = false;
        start_round(c, now_us);
    }
}

static void send_pull(client *c)
{
    c->phase = PHASE_PULL;
    int64_t req = new_request(c);
    send_msg(c, wire_pull(req, c->cursor, c->profile->pull_page_max));
}

/*
 * Next request of the round: another push batch while the outbox has changes,
 * then pulls. After the retry schedule ran out with `then: stop`, pending
 * changes wait for a manual sync (IronFlow's "require manual sync"), but
 * automatic rounds still pull.
 */
static void continue_round(client *c)
{
    if (c->phase == PHASE_PUSH && !c->gave_up) {
        outbox_entry *entries;
        int n = store_outbox_peek(c->store, c->profile->push_batch_max, &c->scratch, &entries);
        if (n > 0) {
            int64_t req = new_request(c);
            for (int i = 0; i < n; i++)
                c->sent[i] = (sent_change){ .op_id = entries[i].seq, .base_version = entries[i].base_version };
            c->n_sent = n;
            send_msg(c, wire_push(req, c->cfg.name, n, entries));
            return;
        }
    }
    send_pull(c);
}

static void start_round(client *c, int64_t now_us)
{
    (void)now_us;
    if (!c->booted || !c->net_up)
        return;
    if (c->phase != PHASE_IDLE) {
        c->again = true;
        return;
    }
    c->phase = PHASE_PUSH;
    c->pulled = 0;
    observe_simple(c, OBS_SYNC_BEGIN, store_outbox_count(c->store), NULL);
    continue_round(c);
}

static void request_failed(client *c)
{
    c->inflight_req = 0;
    c->phase = PHASE_IDLE;
    c->again = false;
    c->failures++;
    if (c->failures > c->profile->n_retry && c->profile->retry_stop_when_exhausted) {
        c->gave_up = true;
        observe_simple(c, OBS_GAVE_UP, c->failures, "retry schedule exhausted; waiting for a manual sync");
        return;
    }
    int k = c->failures - 1 < c->profile->n_retry ? c->failures - 1 : c->profile->n_retry - 1;
    observe_simple(c, OBS_RETRY, c->failures, NULL);
    c->retry_pending = true;
    set_timer(c, c->profile->retry_us[k], TOKEN(TIMER_RETRY, ++c->retry_gen));
}

static void on_push_result(client *c, const cJSON *msg, int64_t now_us)
{
    hlc server_clock;
    int n;
    wire_result *results;
    if (!wire_push_result_parse(msg, &c->scratch, &server_clock, &n, &results))
        return;   /* malformed: treat as lost; the timeout retries */
    c->inflight_req = 0;
    hlc_observe(&c->clock, server_clock, now_us);
    int acknowledged = 0;
    store_begin(c->store);
    for (int i = 0; i < n; i++) {
        const wire_result *r = &results[i];
        const sent_change *s = NULL;
        for (int k = 0; k < c->n_sent; k++)
            if (c->sent[k].op_id == r->op_id)
                s = &c->sent[k];
        if (!s)
            continue;
        acknowledged++;
        store_outbox_remove(c->store, s->op_id);
        if (strcmp(r->status, "forbidden") == 0)
            continue;   /* the server will never take it; nothing of it to adopt */
        /* Our change became the server's version: later local changes build on it. */
        if (strcmp(r->status, "applied") == 0)
            store_outbox_rebase(c->store, r->rec.type, r->rec.id, s->base_version, r->rec.version);
        if (!store_outbox_has(c->store, r->rec.type, r->rec.id))
            adopt(c, &r->rec);
    }
    store_commit(c->store);
    c->n_sent = 0;
    if (acknowledged == 0) {
        /* A reply that settles none of our changes would have us resend the batch at once,
         * forever; count it as a failed request so the retry schedule bounds it. */
        request_failed(c);
        return;
    }
    c->failures = 0;
    c->gave_up = false;
    continue_round(c);
}

static void on_pull_result(client *c, const cJSON *msg, int64_t now_us)
{
    hlc server_clock;
    int n;
    record *records;
    int64_t next;
    bool has_more;
    if (!wire_pull_result_parse(msg, &c->scratch, &server_clock, &n, &records, &next, &has_more))
        return;
    c->inflight_req = 0;
    hlc_observe(&c->clock, server_clock, now_us);
    store_begin(c->store);
    for (int i = 0; i < n; i++)
        if (!store_outbox_has(c->store, records[i].type, records[i].id))
            adopt(c, &records[i]);
    c->cursor = next;
    store_meta_set(c->store, "cursor", next);
    store_commit(c->store);
    c->pulled += n;
    c->failures = 0;
    if (has_more)
        send_pull(c);
    else
        finish_round(c, now_us);
}

/* --- node_ops ------------------------------------------------------------ */

static void recover_clock(void *ctx, const record *r)
{
    hlc *clock = ctx;
    if (hlc_compare(r->st.h, *clock) > 0)
        *clock = r->st.h;
    for (int i = 0; i < r->n_fields; i++)
        if (hlc_compare(r->fields[i].st.h, *clock) > 0)
            *clock = r->fields[i].st.h;
}

static void client_boot(node *n, int64_t now_us)
{
    client *c = (client *)n;
    (void)now_us;
    assert(!c->booted);
    arena_reset(&c->scratch);
    c->booted = true;
    c->net_up = false;   /* the world says CTL_NET_UP right after boot when online */
    c->cursor = store_meta_get(c->store, "cursor", 0);
    memset(&c->clock, 0, sizeof c->clock);
    store_records_each(c->store, &c->scratch, recover_clock, &c->clock);
    arena_reset(&c->scratch);
    if (c->profile->sync_interval_us > 0)
        set_timer(c, c->profile->sync_interval_us, TOKEN(TIMER_PERIODIC, ++c->periodic_gen));
}

static void client_crash(node *n)
{
    client *c = (client *)n;
    c->booted = false;
    c->net_up = false;
    c->phase = PHASE_IDLE;
    c->inflight_req = 0;
    c->n_sent = 0;
    c->after_write_pending = false;
    c->retry_pending = false;
    c->again = false;
    c->failures = 0;
    c->gave_up = false;
    /* Bumping every generation orphans timers set before the crash. */
    c->periodic_gen++;
    c->after_write_gen++;
    c->retry_gen++;
}

static void set_field_values(record *r, arena *a, const user_op *op, const stamp *st)
{
    for (int i = 0; i < op->n_fields; i++)
        record_set_field(r, a, op->fields[i].name, &op->fields[i].v, st);
}

/* Apply an increment to rec. Returns the op that travels: an update of the new
 * total (absolute counters) or the increment with this device's contribution (CRDT). */
static op_kind apply_increment(client *c, record *rec, const user_op *op, const stamp *st)
{
    const op_field *amount = &op->fields[0];
    const entity_rules *rules = profile_rules(c->profile, op->type);
    const field *f = record_field(rec, amount->name);
    if (rules->counters == COUNTER_ABSOLUTE) {
        /* Read, add, write back: what a plain last-write-wins design does. */
        value total = { .kind = VAL_INT, .i = (f && f->v.kind == VAL_INT ? f->v.i : 0) + amount->v.i };
        record_set_field(rec, &c->scratch, amount->name, &total, st);
        return OP_UPDATE;
    }
    counter_part *parts;
    int n = counter_parts_of(f, &c->scratch, &parts);
    counter_part mine = { .node = c->cfg.index, .p = amount->v.i > 0 ? amount->v.i : 0,
                          .n = amount->v.i < 0 ? -amount->v.i : 0 };
    counter_part *joined;
    int found = -1;
    for (int i = 0; i < n; i++)
        if (parts[i].node == mine.node)
            found = i;
    if (found >= 0) {
        /* This device's contribution grows; a join keeps the larger, so it must only grow. */
        mine.p += parts[found].p;
        mine.n += parts[found].n;
    }
    n = counter_join(parts, n, &mine, 1, &c->scratch, &joined);
    record_set_counter(rec, &c->scratch, amount->name, joined, n, st);
    return OP_INCREMENT;
}

static bool client_user_op(node *n, const user_op *op, int64_t now_us, const char **reason)
{
    client *c = (client *)n;
    assert(c->booted);
    arena_reset(&c->scratch);
    if (op->n_fields > RECORD_FIELDS_MAX) {
        *reason = "too many fields";
        return false;
    }
    if (op->kind == OP_INCREMENT && (op->n_fields != 1 || op->fields[0].v.kind != VAL_INT)) {
        *reason = "an increment names one field and an integer amount";
        return false;
    }
    store_begin(c->store);
    record cur;
    bool found = store_record_get(c->store, op->type, op->id, &c->scratch, &cur);
    bool live = found && !cur.deleted;
    if (op->kind == OP_CREATE && live) {
        store_commit(c->store);
        *reason = "record already exists";
        return false;
    }
    if (op->kind != OP_CREATE && !live) {
        store_commit(c->store);
        *reason = found ? "record is deleted" : "no such record";
        return false;
    }

    stamp st = { .w = op->w, .ts_us = now_us, .h = hlc_tick(&c->clock, now_us) };
    record rec;
    if (found && op->kind != OP_CREATE) {
        record_copy(&rec, &cur, &c->scratch);
    } else {
        /* A create starts clean, even over a tombstone, but keeps the version it was made on. */
        record_init(&rec, &c->scratch, op->type, op->id);
        rec.tenant = c->cfg.tenant ? c->cfg.tenant : "";
        if (found) {
            rec.version = cur.version;
            rec.seq = cur.seq;
        }
    }
    rec.st = st;
    op_kind travels = op->kind;
    int n_changed = op->n_fields;
    switch (op->kind) {
    case OP_DELETE:
        rec.deleted = true;
        rec.del = st;
        n_changed = 0;
        break;
    case OP_CREATE:
    case OP_UPDATE:
        rec.deleted = false;
        memset(&rec.del, 0, sizeof rec.del);
        set_field_values(&rec, &c->scratch, op, &st);
        break;
    case OP_INCREMENT:
        travels = apply_increment(c, &rec, op, &st);
        break;
    case OP_APPEND: {
        op_field *fields = arena_alloc(&c->scratch, (size_t)(op->n_fields ? op->n_fields : 1) * sizeof *fields);
        memcpy(fields, op->fields, (size_t)op->n_fields * sizeof *fields);
        log_event e = { .w = op->w, .at_us = now_us, .n_fields = op->n_fields, .fields = fields };
        const entity_rules *rules = profile_rules(c->profile, op->type);
        record_add_event(&rec, &c->scratch, &e, rules->events_order, true);
        n_changed = 0;
        break;
    }
    }
    store_record_put(c->store, &rec);

    const char **changed = arena_alloc(&c->scratch, (size_t)(op->n_fields ? op->n_fields : 1) * sizeof *changed);
    for (int i = 0; i < n_changed; i++)
        changed[i] = op->fields[i].name;
    outbox_entry e = {
        .op = travels,
        .type = op->type,
        .id = op->id,
        .base_version = found ? cur.version : 0,
        .w = op->w,
        .n_changed = n_changed,
        .changed = changed,
        .body = rec,
    };
    store_outbox_add(c->store, &e);
    store_commit(c->store);
    engine_observe_record(&c->cfg, &rec, &c->scratch);

    if (c->profile->sync_after_write_us >= 0 && !c->after_write_pending) {
        c->after_write_pending = true;
        set_timer(c, c->profile->sync_after_write_us, TOKEN(TIMER_AFTER_WRITE, ++c->after_write_gen));
    }
    return true;
}

static void client_deliver(node *n, int from, const cJSON *msg, int64_t now_us)
{
    client *c = (client *)n;
    int64_t req;
    if (!c->booted || from != NODE_SERVER || !wire_req(msg, &req) || req != c->inflight_req || req == 0)
        return;   /* stale, duplicated or unexpected: the request it answers is gone */
    arena_reset(&c->scratch);
    msg_type type = wire_type(msg);
    if (type == MSG_PUSH_RESULT && c->phase == PHASE_PUSH)
        on_push_result(c, msg, now_us);
    else if (type == MSG_PULL_RESULT && c->phase == PHASE_PULL)
        on_pull_result(c, msg, now_us);
}

static void client_timer(node *n, uint64_t token, int64_t now_us)
{
    client *c = (client *)n;
    if (!c->booted)
        return;
    arena_reset(&c->scratch);
    uint64_t k = TOKEN_N(token);
    switch (TOKEN_KIND(token)) {
    case TIMER_PERIODIC:
        if (k != c->periodic_gen)
            return;
        set_timer(c, c->profile->sync_interval_us, TOKEN(TIMER_PERIODIC, ++c->periodic_gen));
        start_round(c, now_us);
        break;
    case TIMER_AFTER_WRITE:
        if (k != c->after_write_gen)
            return;
        c->after_write_pending = false;
        start_round(c, now_us);
        break;
    case TIMER_TIMEOUT:
        if ((int64_t)k == c->inflight_req && c->inflight_req != 0)
            request_failed(c);
        break;
    case TIMER_RETRY:
        if (k != c->retry_gen)
            return;
        c->retry_pending = false;
        start_round(c, now_us);
        break;
    default:
        assert(0 && "unknown timer");
    }
}

static void client_control(node *n, node_control ctl, int64_t now_us)
{
    client *c = (client *)n;
    if (!c->booted)
        return;
    arena_reset(&c->scratch);
    switch (ctl) {
    case CTL_NET_DOWN:
        c->net_up = false;
        /* The request in flight is abandoned, as a fetch fails when the network drops. */
        c->inflight_req = 0;
        c->n_sent = 0;
        c->phase = PHASE_IDLE;
        c->again = false;
        break;
    case CTL_NET_UP:
        c->net_up = true;
        if (c->profile->sync_on_reconnect)
            start_round(c, now_us);
        break;
    case CTL_SYNC_NOW:
        c->gave_up = false;
        c->failures = 0;
        start_round(c, now_us);
        break;
    }
}

static bool client_idle(node *n)
{
    client *c = (client *)n;
    if (!c->booted)
        return true;
    if (c->phase != PHASE_IDLE || c->retry_pending || c->after_write_pending)
        return false;
    return c->gave_up || store_outbox_count(c->store) == 0;
}

static cJSON *client_snapshot(node *n)
{
    client *c = (client *)n;
    return engine_snapshot(c->store, &c->scratch);
}

static void client_destroy(node *n)
{
    client *c = (client *)n;
    if (!c)
        return;
    store_close(c->store);
    arena_release(&c->scratch);
    xfree(c->sent);
    xfree(c);
}

static const node_ops CLIENT_OPS = {
    .boot = client_boot,
    .crash = client_crash,
    .user_op = client_user_op,
    .deliver = client_deliver,
    .timer = client_timer,
    .control = client_control,
    .idle = client_idle,
    .snapshot = client_snapshot,
    .destroy = client_destroy,
};

node *client_new(const engine_config *cfg, store *st)
{
    client *c = xcalloc(1, sizeof *c);
    c->base.ops = &CLIENT_OPS;
    c->cfg = *cfg;
    c->profile = cfg->profile;
    c->store = st;
    arena_init(&c->scratch, 64 * 1024);
    c->next_req = 1;
    assert(c->profile->push_batch_max >= 1 && c->profile->pull_page_max >= 1 && c->profile->n_retry >= 1);
    c->sent = xcalloc((size_t)c->profile->push_batch_max, sizeof *c->sent);
    return &c->base;
}
