/*
 * client: a device's sync engine.
 *
 * Durable (SQLite, survives a crash): records, the outbox, the pull cursor.
 * Volatile (lost on crash): the sync round in progress, timers, the HLC
 * (recovered at boot from the stamps in the store), the retry counter.
 *
 * A sync round pushes, then pulls pages from the cursor until the server
 * says there is no more (per entity type when the profile keeps one cursor
 * per type). One request is in flight at a time; a request unanswered within
 * the profile's timeout has failed, and the round is retried after the next
 * delay of the retry schedule.
 *
 * The profile can shape the round otherwise (docs/rounds.md): pull first,
 * then push (round: pull-push); install a pulled record over one with queued
 * changes, rebasing, keeping or dropping them (pull_over_pending); queue or
 * drop a sync asked for while a round runs instead of coalescing the requests
 * into one more round (during_round); push only what was queued when the
 * round began (push_snapshot: round-start); read a device-clock watermark when
 * the push is sent or when the round ends (watermark_taken); write the pull
 * cursor only when the round finishes (cursor_saved: round). Every default is
 * the round described above. round: streams has no round: a push stream and a
 * pull stream (struct sync_stream), each with its own request in flight,
 * retries and owed runs; a write wakes the push stream, every other sync both,
 * and a pull answered before a concurrent push but delivered after its answer
 * is applied as it is, as a push answer that arrives after a newer pull is (the
 * races that key exists to show, docs/rounds.md).
 *
 * What a push carries depends on the profile's change detection:
 *   outbox     the sync queue, by dependency rank then oldest first, in
 *              batches. Invariants: a local change and its outbox entry are
 *              written in one transaction; an entry is removed only when the
 *              server's result for it arrives (or, with drop_after, when it
 *              has gone unanswered that many times); a pulled record never
 *              overwrites a record that still has entries: the server
 *              decides those, and its result comes back. The exception is
 *              ops counters (counters: ops): a record whose only entries are
 *              ops increments takes the pulled total as its base, with its
 *              pending deltas on top (adopt_under_deltas).
 *   watermark  every record whose clientUpdatedAt (the device clock of its
 *              last write) is after the last successful push's timestamp,
 *              whole; pulled records merge by clientUpdatedAt. A write made
 *              while the device clock reads earlier than the watermark is
 *              never found: that is the design's weakness, run faithfully.
 *
 * ID mapping (the profile's ids: server, SmartDMV): a record created here
 * carries the id the user gave it as a temporary id. When the server's
 * answer names the record by its own id, the device renames its copy and its
 * queued changes in one transaction and keeps the pair in id_map; from then
 * on a user operation naming the temporary id, and a queued change naming it
 * as a parent (a reference field), is translated when it is made or pushed.
 *
 * The gateway in front of the server may answer in its place (docs/faults.md):
 * a 503 fails the request at once, for the retry rules to decide; a 401 (an
 * expired token) does the same under auth_refresh: relaunch, and under
 * refresh asks for a new token (PHASE_AUTH) and starts the round again.
 *
 * A conflict the server leaves to the user parks the record's entries and
 * keeps the server's side in the conflict store until the user resolves it
 * (OP_RESOLVE); the resolution is pushed with force.
 */
#include "base/xalloc.h"
#include "engine/engine.h"
#include "engine/reducer.h"
#include "engine/schema.h"
#include "engine/strategy.h"
#include "engine/wire.h"

#include <assert.h>
#include <string.h>

typedef enum round_phase {
    PHASE_IDLE,
    PHASE_PUSH,
    PHASE_PULL,
    PHASE_AUTH,       /* renewing a refused token; the round starts again when it is granted */
} round_phase;

/* Timer tokens: kind in the low byte, a generation or request id above it. */
enum timer_kind {
    TIMER_PERIODIC = 1,
    TIMER_AFTER_WRITE,
    TIMER_TIMEOUT,
    TIMER_RETRY,
    TIMER_FLUSH,      /* sync: flush: every: the next batch is made durable */
    TIMER_PULL_RETRY, /* round: streams: the pull stream's retry (TIMER_RETRY is the push stream's) */
};
#define TOKEN(kind, n) (((uint64_t)(n) << 8) | (uint64_t)(kind))
/* Generations of one boot: 2^20 per timer kind (a week of one-minute periodic syncs is 10,080), so a
 * token stays below 2^53 (a JSON-exact integer, as the node protocol carries it) for 2^25 boots. */
#define BOOT_GEN_SHIFT 20
#define TOKEN_KIND(t) ((int)((t)&0xffu))
#define TOKEN_N(t) ((t) >> 8)

/* What the client remembers of a change in the push in flight. */
typedef struct sent_change {
    int64_t op_id;
    int64_t base_version;
    write_id w;              /* watermark pushes: the write the record was sent with */
    const char *type;        /* the record as the push named it (in sent_a): a temporary id the */
    const char *id;          /* server's answer may rename */
} sent_change;

#define WATERMARK_PUSH_MAX 10000   /* records one watermark push may carry: a bound, not a batch */
#define ROUNDS_OWED_MAX 1000       /* during_round: queue: rounds owed beyond this are coalesced */
#define OUTBOX_OF_MAX 256          /* queued changes of one record read at a time */

/* Records the user has open in forms (OP_OPEN): a copy each, in memory only, so a crash closes them.
 * Opening one more than this closes the one opened longest ago. */
#define FORMS_MAX 8

typedef struct open_form {
    bool open;
    uint64_t opened;        /* order of opening, for closing the oldest */
    record rec;             /* the record as stored when opened, in a */
    arena a;
} open_form;

/*
 * One sequence of requests with its own request in flight, retries and owed runs. The ordered rounds
 * (push-pull, pull-push) are one stream, `round`; under round: streams `round` is the push stream and
 * `pulls` the pull stream (docs/rounds.md), and neither waits for, fails or retries the other.
 * Invariant: a stream has a request in flight (inflight_req != 0) only while its phase is not idle.
 */
typedef struct sync_stream {
    round_phase phase;
    int64_t inflight_req;   /* 0: nothing in flight */
    uint64_t retry_gen;
    bool retry_pending;     /* a retry timer of retry_gen is set */
    int again;              /* runs owed to syncs asked for while this one runs: at most 1 (coalesce),
                               one per request up to ROUNDS_OWED_MAX (queue), never (drop) */
    bool dropped_request;   /* during_round: drop: a sync asked for was ignored and no run started since */
    int failures;           /* consecutive failed requests */
    bool auth_renewed;      /* a token was granted and no request has succeeded since: a second 401
                               fails the request instead of refreshing again (a refresh loop's bound) */
    bool gave_up;           /* retry schedule exhausted (then: stop); the round and the push stream
                               push nothing until a manual sync; the pull stream still pulls when woken */
} sync_stream;

typedef struct client {
    node base;
    engine_config cfg;
    char *tenant_owned;     /* cfg.tenant after a switch of accounts (LIFECYCLE_SWITCH), owned; else NULL */
    const profile *profile;
    store *store;
    arena scratch;          /* reset at the start of every entry point */

    /* Volatile state: reset by crash. */
    bool booted;
    bool net_up;
    hlc clock;
    sync_stream round;      /* the round; under round: streams, the push stream */
    sync_stream pulls;      /* round: streams: the pull stream; otherwise always idle */
    int64_t next_req;
    sent_change *sent;      /* the push in flight: push_batch_max, or WATERMARK_PUSH_MAX, entries */
    arena sent_a;           /* the push in flight's strings; reset when the next push is sent */
    int n_sent;
    int pull_type;          /* per-type pulls: index into the profile's pull_types */
    uint64_t periodic_gen;
    uint64_t after_write_gen;
    uint64_t flush_gen;
    bool flush_pending;     /* a TIMER_FLUSH of flush_gen is set */
    bool after_write_pending;
    bool pushes_done;       /* round: pull-push: this round's pulls are done and it is pushing */
    int64_t snapshot_seq;   /* push_snapshot: round-start: the newest outbox seq when the round began */
    int64_t push_read_us;   /* watermark pushes: the device clock when the changes were read and sent */
    bool watermark_due;     /* watermark_taken: round-end: a push was acknowledged in this round */
    /* cursor_saved: round: the cursors this round's pages moved to, by pull type (index 0 without
     * per-type pulls), written to the store when the round finishes. */
    int64_t round_cursor[PROFILE_ENTITIES_MAX];
    bool round_cursor_set[PROFILE_ENTITIES_MAX];
    int64_t cursor;         /* cached copy of meta "cursor" (or "cursor:<type>") */
    int64_t pulled;         /* records pulled in this round */
    engine_hold hold;       /* observations of a transaction wait for its commit (faultable stores) */
    open_form forms[FORMS_MAX];
    uint64_t forms_opened;
} client;

/*
 * A transaction of the store. With a faultable store (storage faults, docs/faults.md) it can fail:
 * commit then returns SQLite's error, nothing of it was stored, and the observations made inside
 * it are dropped, so the world never sees what the device does not hold. What a caller does with a
 * failure: a user write is refused ("storage full"); a push's answer or a pull's page that cannot
 * be stored is a failed request (outbox and cursor as they were), retried on the profile's schedule.
 */
static void begin(client *c)
{
    store_begin(c->store);
    engine_hold_begin(&c->hold);
}

static int commit(client *c)
{
    int failed = store_commit(c->store);
    engine_hold_end(&c->hold, failed == 0, c->cfg.index);
    return failed;
}

static const char *cursor_key_at(const client *c, int pull_type, arena *a)
{
    if (c->profile->n_pull_types == 0)
        return "cursor";
    return arena_printf(a, "cursor:%s", c->profile->pull_types[pull_type]);
}

static const char *cursor_key(const client *c, arena *a)
{
    return cursor_key_at(c, c->pull_type, a);
}

/* The next operation id: durable, so ids are never reused across a crash (the server dedups on them). */
static int64_t next_op_id(client *c)
{
    int64_t id = store_meta_get(c->store, "op_seq", 0) + 1;
    store_meta_set(c->store, "op_seq", id);
    return id;
}

static void observe_write(client *c, obs_kind kind, write_id w, const char *type, const char *id, const char *detail)
{
    observation obs = { .kind = kind, .type = type, .id = id, .w = w, .detail = detail };
    c->cfg.host.observe(c->cfg.host.ctx, c->cfg.index, &obs);
}

/* The record is gone from this device (a refused create): the simulator sees no state for it. */
static void observe_absent(client *c, const char *type, const char *id)
{
    observation obs = { .kind = OBS_RECORD, .type = type, .id = id };
    c->cfg.host.observe(c->cfg.host.ctx, c->cfg.index, &obs);
}

static void project(const client *c, record *r, arena *a)
{
    const entity_rules *rules = profile_rules(c->profile, r->type);
    if (rules->reducer && r->n_events)
        reducer_apply(rules->reducer, r, a);
}

static void start_round(client *c, int64_t now_us);
static void start_push_stream(client *c, int64_t now_us);
static void start_pull_stream(client *c, int64_t now_us);
static void request_failed(client *c, sync_stream *s);

/* round: streams: a push stream and a pull stream in place of one round. */
static bool streams(const client *c)
{
    return c->profile->round == ROUND_STREAMS;
}

/* The stream pulls belong to: the pull stream under round: streams, else the round. */
static sync_stream *pull_stream(client *c)
{
    return streams(c) ? &c->pulls : &c->round;
}

static void observe_simple(client *c, obs_kind kind, int64_t count, const char *detail)
{
    observation obs = { .kind = kind, .count = count, .detail = detail };
    c->cfg.host.observe(c->cfg.host.ctx, c->cfg.index, &obs);
}

static void set_timer(client *c, int64_t delay_us, uint64_t token)
{
    c->cfg.host.set_timer(c->cfg.host.ctx, c->cfg.index, delay_us, token);
}

/* The request a stream sends next: request ids are numbered across both streams, so a reply names
 * its stream by the id it answers. */
static int64_t new_request(client *c, sync_stream *s)
{
    s->inflight_req = c->next_req++;
    set_timer(c, c->profile->request_timeout_us, TOKEN(TIMER_TIMEOUT, s->inflight_req));
    return s->inflight_req;
}

/* Make what is committed durable now (a no-op under flush: commit, or when nothing is unflushed). */
static void flush_now(client *c)
{
    if (store_flush(c->store))
        observe_simple(c, OBS_FLUSHED, 0, NULL);
}

/* At the end of an entry point: something committed and unflushed is flushed within flush_every. */
static void schedule_flush(client *c)
{
    if (c->booted && !c->flush_pending && store_unflushed(c->store)) {
        c->flush_pending = true;
        set_timer(c, c->profile->flush_every_us, TOKEN(TIMER_FLUSH, ++c->flush_gen));
    }
}

static void send_msg(client *c, message *msg)
{
    flush_now(c);   /* nothing leaves the device before it is durable */
    c->cfg.host.send(c->cfg.host.ctx, c->cfg.index, NODE_SERVER, msg);
}

/* What this device tells the server about itself in a request (some dialects put it on the wire). */
static wire_sender sender(const client *c, int64_t now_us)
{
    return (wire_sender){ .device = c->cfg.name, .user = c->cfg.tenant ? c->cfg.tenant : "", .now_us = now_us,
                          .last_sync_us = c->cursor };
}

/* Install a record from the server unless the stored copy is already exactly it.
 * A new version of the same state (same provenance) is stored but is no new state
 * for the simulator to observe. */
static void adopt(client *c, const record *incoming)
{
    if (c->profile->changes == CHANGES_WATERMARK) {
        record local;
        if (store_record_get(c->store, incoming->type, incoming->id, &c->scratch, &local)) {
            if (local.n_events || incoming->n_events) {
                /* Activity events: "merge the newly received remote events with its local event
                 * stream" -- events this device has not managed to send stay in its log. */
                /* The record's own state (fields, delete, its clientUpdatedAt) merges as below, the newer
                 * by device clock staying; the events are the union. Taking the incoming state over a
                 * newer local one would lower the record's clientUpdatedAt under this device's own unsent
                 * writes, and the next push, which looks for records changed after the watermark, would
                 * never find them again (a pull before a push: undelivered). */
                bool local_newer = local.st.ts_us > incoming->st.ts_us;
                const record *base = local_newer ? &local : incoming, *other = local_newer ? incoming : &local;
                record merged;
                record_copy(&merged, base, &c->scratch);
                const entity_rules *rules = profile_rules(c->profile, incoming->type);
                for (int i = 0; i < other->n_events; i++)
                    record_add_event(&merged, &c->scratch, &other->events[i], rules->events_order, true);
                project(c, &merged, &c->scratch);
                int outcome = store_record_put_if_changed(c->store, &merged, &c->scratch);
                if (outcome == STORE_PUT_NEW || outcome == STORE_PUT_CHANGED)
                    engine_observe_record(&c->cfg, &merged, &c->scratch);
                return;
            }
            /* StrongLog: "compare clientUpdatedAt of local record with clientUpdatedAt of incoming
             * server record" -- the newer by device clock stays. */
            if (local.st.ts_us > incoming->st.ts_us)
                return;
        }
    }
    int outcome = store_record_put_if_changed(c->store, incoming, &c->scratch);
    if (outcome == STORE_PUT_NEW || outcome == STORE_PUT_CHANGED)
        engine_observe_record(&c->cfg, incoming, &c->scratch);
}

/* Queued ops increments of one record that adopt_under_deltas rebases; with more, the device keeps
 * showing its older base with every delta on top (still its own increments, just an older total). */
#define OPS_PENDING_MAX 64

/*
 * Counters as operations (counters: ops): the device shows the server's total with its own pending
 * deltas on top. A record from the server (pulled, or in the answer to a push) whose only queued
 * changes are ops increments becomes the new base: it is installed with each pending delta added
 * again, each field stamped by this device's latest increment of it, until those are acknowledged.
 * Returns false, and installs nothing, when any other change of the record waits: the server
 * decides those, and a pulled record never overwrites them.
 */
static bool adopt_under_deltas(client *c, const record *incoming)
{
    if (incoming->deleted || profile_rules(c->profile, incoming->type)->counters != COUNTER_OPS)
        return false;
    outbox_entry *pending;
    int n = store_outbox_of(c->store, incoming->type, incoming->id, OPS_PENDING_MAX + 1, &c->scratch, &pending);
    if (n == 0 || n > OPS_PENDING_MAX)
        return false;
    for (int i = 0; i < n; i++)
        if (pending[i].op != OP_INCREMENT || pending[i].waiting || pending[i].n_changed != 1)
            return false;
    record shown;
    record_copy(&shown, incoming, &c->scratch);
    for (int i = 0; i < n; i++) {
        const field *delta = record_field(&pending[i].body, pending[i].changed[0]);
        assert(delta && "an ops increment carries its delta");
        counter_part *parts, *added;
        int n_parts = counter_parts_of(record_field(&shown, delta->name), &c->scratch, &parts);
        n_parts = counter_add(parts, n_parts, c->cfg.index, delta->v.kind == VAL_INT ? delta->v.i : 0, delta->st.w,
                              &c->scratch, &added);
        record_set_counter(&shown, &c->scratch, delta->name, added, n_parts, &delta->st);
    }
    adopt(c, &shown);
    return true;
}

/* --- ID mapping (ids: server) ------------------------------------------------ */

/* The server id a temporary id became, or the id itself. */
static const char *map_id(client *c, const char *type, const char *id)
{
    const char *real = store_idmap_get(c->store, type, id, &c->scratch);
    return real ? real : id;
}

/* Reference fields naming a parent by a temporary id the server has renamed now name its server id. */
static void map_refs(client *c, record *r)
{
    const entity_rules *rules = profile_rules(c->profile, r->type);
    for (int k = 0; k < rules->n_refs; k++)
        for (int f = 0; f < r->n_fields; f++) {
            field *fl = &r->fields[f];
            if (strcmp(fl->name, rules->refs[k].field) == 0 && fl->v.kind == VAL_STRING)
                fl->v.s = map_id(c, rules->refs[k].type, fl->v.s);
        }
}

/*
 * The server gave the record this device created as temp_id the id real_id:
 * rename the local copy and the queued changes, and remember the pair. A copy
 * already stored under real_id (pulled before the answer came) is the
 * server's and stays; the temporary copy goes.
 */
static void rename_record(client *c, const char *type, const char *temp_id, const char *real_id)
{
    store_idmap_put(c->store, type, temp_id, real_id);
    store_outbox_rename(c->store, type, temp_id, real_id);
    observation mapped = { .kind = OBS_ID_MAPPED, .type = type, .id = real_id, .detail = temp_id };
    c->cfg.host.observe(c->cfg.host.ctx, c->cfg.index, &mapped);
    record local, existing;
    if (!store_record_get(c->store, type, temp_id, &c->scratch, &local))
        return;
    store_record_remove(c->store, type, temp_id);
    if (store_record_get(c->store, type, real_id, &c->scratch, &existing))
        return;
    local.id = real_id;
    store_record_put(c->store, &local);
    engine_observe_record(&c->cfg, &local, &c->scratch);
}

/* --- the sync round ------------------------------------------------------ */

static void send_pull(client *c, int64_t now_us);

/* cursor_saved: round: the cursors this round's (or pull stream run's) pages moved to, written now. */
static void save_round_cursors(client *c)
{
    begin(c);
    for (int k = 0; k < PROFILE_ENTITIES_MAX; k++)
        if (c->round_cursor_set[k])
            store_meta_set(c->store, cursor_key_at(c, k, &c->scratch), c->round_cursor[k]);
    commit(c);   /* a failure keeps the older cursors: the next round pulls those pages again */
    memset(c->round_cursor_set, 0, sizeof c->round_cursor_set);
}

/*
 * round: streams: a stream's run is done -- the push stream found the outbox empty (or, with a
 * watermark, its one push answered), the pull stream reached the head. Nothing of the other stream
 * is touched. It runs again at once when a sync was asked for while it ran (during_round).
 */
static void finish_stream(client *c, sync_stream *s, int64_t now_us)
{
    bool pulls = s == &c->pulls;
    if (pulls && c->profile->cursor_saved == CURSOR_SAVED_ROUND)
        save_round_cursors(c);
    s->phase = PHASE_IDLE;
    observe_simple(c, OBS_SYNC_END, pulls ? c->pulled : 0, NULL);
    if (s->again > 0) {
        s->again--;
        if (pulls)
            start_pull_stream(c, now_us);
        else
            start_push_stream(c, now_us);
    }
}

static void finish_round(client *c, int64_t now_us)
{
    if (c->watermark_due) {
        /* watermark_taken: round-end (Dotmim.Sync #54): the last-sync time is written when the whole
         * round is done, so a write made after its changes were read, but before now, is behind it. */
        c->watermark_due = false;
        begin(c);
        store_meta_set(c->store, "watermark", now_us);
        commit(c);   /* a failure keeps the older watermark: the next round pushes those changes again */
    }
    if (c->profile->cursor_saved == CURSOR_SAVED_ROUND)
        save_round_cursors(c);
    c->round.phase = PHASE_IDLE;
    observe_simple(c, OBS_SYNC_END, c->pulled, NULL);
    if (c->round.again > 0) {
        c->round.again--;
        start_round(c, now_us);
    }
}

static void continue_round(client *c, int64_t now_us);

/* The round's pushes are done: pull (push-pull), or end the round (pull-push: it pulled first), or
 * end the push stream's run (streams). */
static void pushes_done(client *c, int64_t now_us)
{
    if (streams(c))
        finish_stream(c, &c->round, now_us);
    else if (c->profile->round == ROUND_PULL_PUSH)
        finish_round(c, now_us);
    else
        send_pull(c, now_us);
}

/* The round's pulls are done: end it (push-pull), or push (pull-push), or end the pull stream's run
 * (streams). */
static void pulls_done(client *c, int64_t now_us)
{
    if (streams(c)) {
        finish_stream(c, &c->pulls, now_us);
    } else if (c->profile->round == ROUND_PULL_PUSH && !c->pushes_done) {
        c->pushes_done = true;
        c->round.phase = PHASE_PUSH;
        continue_round(c, now_us);
    } else {
        finish_round(c, now_us);
    }
}

static void send_pull(client *c, int64_t now_us)
{
    sync_stream *s = pull_stream(c);
    s->phase = PHASE_PULL;
    if (c->profile->cursor_saved == CURSOR_SAVED_ROUND && c->round_cursor_set[c->pull_type])
        c->cursor = c->round_cursor[c->pull_type];   /* where this round's last page left it */
    else
        c->cursor = store_meta_get(c->store, cursor_key(c, &c->scratch), 0);
    int64_t req = new_request(c, s);
    const char *type = c->profile->n_pull_types ? c->profile->pull_types[c->pull_type] : NULL;
    wire_sender from = sender(c, now_us);
    send_msg(c, wire_pull(c->profile->wire, &from, req, c->cursor, type, c->profile->pull_page_max));
}

/*
 * Watermark change detection: what this device wrote after the watermark, by
 * its own clock -- each event appended since as an append (activity events:
 * "local ActivityEvents that have not yet been sent"), the fields written
 * since as one update of the record (or its delete). Writes stamped before
 * the watermark are not found, however recent they are in truth.
 */
static bool send_watermark_push(client *c, int64_t now_us)
{
    record *changed;
    int64_t watermark = store_meta_get(c->store, "watermark", INT64_MIN);
    int n = store_local_changes_since(c->store, watermark, WATERMARK_PUSH_MAX, &c->scratch, &changed);
    int cap = 0;
    for (int i = 0; i < n; i++)
        cap += 1 + changed[i].n_events;
    outbox_entry *entries = arena_alloc(&c->scratch, (size_t)(cap ? cap : 1) * sizeof *entries);
    int k = 0;
    int me = c->cfg.index;
    begin(c);
    for (int i = 0; i < n && k < WATERMARK_PUSH_MAX; i++) {
        record *r = &changed[i];
        for (int e = 0; e < r->n_events && k < WATERMARK_PUSH_MAX; e++) {
            const log_event *ev = &r->events[e];
            if (WRITE_NODE(ev->w) != me || ev->at_us <= watermark)
                continue;
            record body = *r;
            body.st = (stamp){ .w = ev->w, .ts_us = ev->at_us, .h = r->st.h };
            entries[k++] = (outbox_entry){ .seq = next_op_id(c), .op = OP_APPEND, .type = r->type, .id = r->id,
                                           .base_version = r->version, .w = ev->w, .body = body };
        }
        const char **names = arena_alloc(&c->scratch, (size_t)(r->n_fields ? r->n_fields : 1) * sizeof *names);
        int n_names = 0;
        const stamp *latest = NULL;
        for (int f = 0; f < r->n_fields; f++) {
            const stamp *st = &r->fields[f].st;
            if (WRITE_NODE(st->w) != me || st->ts_us <= watermark)
                continue;
            names[n_names++] = r->fields[f].name;
            if (!latest || st->ts_us > latest->ts_us)
                latest = st;
        }
        bool deleted_here = r->deleted && WRITE_NODE(r->del.w) == me && r->del.ts_us > watermark;
        /* A record another device deleted, and this one adopted deleted, carries this device's later field
         * stamps only as history: there is no live record to update (an update of a deleted record is no
         * valid change, and the server would ignore the whole push). A reinstalled device, whose watermark
         * starts over, finds many such records among those it pulled. */
        if (r->deleted && !deleted_here)
            n_names = 0;
        if ((n_names == 0 && !deleted_here) || k == WATERMARK_PUSH_MAX)
            continue;
        record body = *r;
        body.st = deleted_here ? r->del : *latest;
        entries[k++] = (outbox_entry){
            .seq = next_op_id(c),
            .op = deleted_here ? OP_DELETE : r->version == 0 ? OP_CREATE : OP_UPDATE,
            .type = r->type,
            .id = r->id,
            .base_version = r->version,
            .w = body.st.w,
            .n_changed = deleted_here ? 0 : n_names,
            .changed = names,
            .body = body,
        };
    }
    if (commit(c)) {
        /* The operation ids are not durable: sending them could reuse one the server has seen. */
        request_failed(c, &c->round);
        return true;
    }
    if (k == 0)
        return false;
    int64_t req = new_request(c, &c->round);
    c->push_read_us = now_us;
    for (int i = 0; i < k; i++)
        c->sent[i] = (sent_change){ .op_id = entries[i].seq, .base_version = entries[i].base_version,
                                    .w = entries[i].body.st.w };
    c->n_sent = k;
    wire_sender from = sender(c, now_us);
    send_msg(c, wire_push(c->profile->wire, &from, req, k, entries));
    return true;
}

/* push_snapshot: round-start: the newest seq of the `pending` changes queued now (seqs only grow). */
static int64_t newest_queued(client *c, int64_t pending)
{
    if (pending <= 0)
        return 0;
    outbox_entry *entries;
    int n = store_outbox_peek(c->store, (int)pending, &c->scratch, &entries);
    int64_t newest = 0;
    for (int i = 0; i < n; i++)
        if (entries[i].seq > newest)
            newest = entries[i].seq;
    return newest;
}

/* push_snapshot: round-start: the next batch, of the changes queued when the round began only, in
 * the outbox's order (by rank, then oldest first). Reads every pending change: O(outbox). */
static int peek_snapshot(client *c, outbox_entry **out)
{
    outbox_entry *entries;
    int64_t pending = store_outbox_count(c->store);
    int n = pending > 0 ? store_outbox_peek(c->store, (int)pending, &c->scratch, &entries) : 0;
    int k = 0;
    for (int i = 0; i < n && k < c->profile->push_batch_max; i++)
        if (entries[i].seq <= c->snapshot_seq)
            entries[k++] = entries[i];
    *out = entries;
    return k;
}

/*
 * Next request of the round: another push batch while the outbox has changes,
 * then pulls. After the retry schedule ran out with `then: stop`, pending
 * changes wait for a manual sync (IronFlow's "require manual sync"), but
 * automatic rounds still pull.
 */
static void continue_round(client *c, int64_t now_us)
{
    if (c->round.phase == PHASE_PUSH && !c->round.gave_up && c->profile->changes == CHANGES_WATERMARK) {
        if (send_watermark_push(c, now_us))
            return;
    } else if (c->round.phase == PHASE_PUSH && !c->round.gave_up) {
        outbox_entry *entries;
        int n = c->profile->push_snapshot == SNAPSHOT_ROUND_START
                    ? peek_snapshot(c, &entries)
                    : store_outbox_peek(c->store, c->profile->push_batch_max, &c->scratch, &entries);
        if (n > 0) {
            int64_t req = new_request(c, &c->round);
            arena_reset(&c->sent_a);
            for (int i = 0; i < n; i++) {
                if (c->profile->ids == IDS_SERVER)
                    map_refs(c, &entries[i].body);
                c->sent[i] = (sent_change){ .op_id = entries[i].seq, .base_version = entries[i].base_version,
                                            .w = entries[i].w, .type = arena_strdup(&c->sent_a, entries[i].type),
                                            .id = arena_strdup(&c->sent_a, entries[i].id) };
            }
            c->n_sent = n;
            wire_sender from = sender(c, now_us);
            send_msg(c, wire_push(c->profile->wire, &from, req, n, entries));
            return;
        }
    }
    pushes_done(c, now_us);
}

/* A sync asked for while a round (or, under streams, that stream) runs: what during_round says. */
static void ask_during_round(sync_stream *s, during_round rule)
{
    switch (rule) {
    case DURING_COALESCE:
        s->again = 1;
        break;
    case DURING_QUEUE:
        if (s->again < ROUNDS_OWED_MAX)
            s->again++;
        break;
    case DURING_DROP:
        s->dropped_request = true;
        break;
    }
}

/* round: streams: a stream asked to run. False when the device cannot sync now, or when the stream
 * is running (the request is then the profile's during_round's to keep or drop). */
static bool stream_may_start(client *c, sync_stream *s)
{
    if (!c->booted || !c->net_up)
        return false;
    if (s->phase != PHASE_IDLE) {
        ask_during_round(s, c->profile->during_round);
        return false;
    }
    s->dropped_request = false;
    return true;
}

/*
 * round: streams: wake the push stream. It runs only when there is something to push (an outbox
 * entry; a watermark push finds out by looking), and not after its retry schedule ran out with
 * then: stop (a manual sync clears that). A run pushes batches until the outbox is empty.
 */
static void start_push_stream(client *c, int64_t now_us)
{
    sync_stream *s = &c->round;
    if (!stream_may_start(c, s))
        return;
    int64_t pending = store_outbox_count(c->store);
    if (s->gave_up || (c->profile->changes == CHANGES_OUTBOX && pending == 0))
        return;
    s->phase = PHASE_PUSH;
    if (c->profile->push_snapshot == SNAPSHOT_ROUND_START)
        c->snapshot_seq = newest_queued(c, pending);
    observe_simple(c, OBS_SYNC_BEGIN, pending, NULL);
    continue_round(c, now_us);
}

/* round: streams: wake the pull stream. A run pulls pages (type by type) from the saved cursors to
 * the head, whatever the push stream is doing. */
static void start_pull_stream(client *c, int64_t now_us)
{
    if (!stream_may_start(c, &c->pulls))
        return;
    c->pulled = 0;
    c->pull_type = 0;
    memset(c->round_cursor_set, 0, sizeof c->round_cursor_set);   /* from the saved cursors */
    observe_simple(c, OBS_SYNC_BEGIN, store_outbox_count(c->store), NULL);
    send_pull(c, now_us);
}

/* A sync (periodic, reconnect, manual; after a write and a retry too, except under streams):
 * a round, or under streams a wake of both streams. */
static void start_round(client *c, int64_t now_us)
{
    if (streams(c)) {
        start_push_stream(c, now_us);
        start_pull_stream(c, now_us);
        return;
    }
    if (!c->booted || !c->net_up)
        return;
    if (c->round.phase != PHASE_IDLE) {
        ask_during_round(&c->round, c->profile->during_round);
        return;
    }
    c->round.phase = c->profile->round == ROUND_PULL_PUSH ? PHASE_PULL : PHASE_PUSH;
    c->pulled = 0;
    c->pull_type = 0;
    c->pushes_done = false;
    c->round.dropped_request = false;
    c->watermark_due = false;
    memset(c->round_cursor_set, 0, sizeof c->round_cursor_set);   /* from the saved cursors */
    int64_t pending = store_outbox_count(c->store);
    if (c->profile->push_snapshot == SNAPSHOT_ROUND_START)
        c->snapshot_seq = newest_queued(c, pending);
    observe_simple(c, OBS_SYNC_BEGIN, pending, NULL);
    if (c->profile->round == ROUND_PULL_PUSH)
        send_pull(c, now_us);
    else
        continue_round(c, now_us);
}

/* SmartDMV's maxRetries: a change that has gone unanswered drop_after times is abandoned. */
static void count_attempts(client *c)
{
    if (c->round.phase != PHASE_PUSH || c->profile->retry_drop_after <= 0 || c->profile->changes != CHANGES_OUTBOX)
        return;
    outbox_entry *entries;
    int n = store_outbox_peek(c->store, c->profile->push_batch_max, &c->scratch, &entries);
    begin(c);
    for (int i = 0; i < n; i++) {
        bool sent = false;
        for (int k = 0; k < c->n_sent; k++)
            sent = sent || c->sent[k].op_id == entries[i].seq;
        if (!sent)
            continue;
        if (store_outbox_attempted(c->store, entries[i].seq) >= c->profile->retry_drop_after) {
            store_outbox_remove(c->store, entries[i].seq);
            observe_write(c, OBS_DROPPED, entries[i].w, entries[i].type, entries[i].id,
                          "retries exhausted: the change was marked failed and dropped from the sync queue");
        }
    }
    commit(c);   /* a failure counts no attempt and drops nothing: the changes stay queued */
}

/* A request of stream s failed: s alone waits for its next retry (under streams the other stream
 * goes on as it was; its request in flight, and the push in flight's sent list, stay). */
static void request_failed(client *c, sync_stream *s)
{
    bool round = s == &c->round;
    if (round) {
        count_attempts(c);
        c->n_sent = 0;
    }
    s->inflight_req = 0;
    s->phase = PHASE_IDLE;
    s->again = 0;
    s->failures++;
    if (s->failures > c->profile->n_retry && c->profile->retry_stop_when_exhausted) {
        s->gave_up = true;
        observe_simple(c, OBS_GAVE_UP, s->failures,
                       round ? "retry schedule exhausted; waiting for a manual sync"
                             : "pull stream: retry schedule exhausted; it pulls again when next woken");
        return;
    }
    int k = s->failures - 1 < c->profile->n_retry ? s->failures - 1 : c->profile->n_retry - 1;
    observe_simple(c, OBS_RETRY, s->failures, NULL);
    s->retry_pending = true;
    set_timer(c, c->profile->retry_us[k], TOKEN(round ? TIMER_RETRY : TIMER_PULL_RETRY, ++s->retry_gen));
}

/* The server left a conflict to the user: park the record's changes and keep its side. */
static void park_conflict(client *c, const record *server_version)
{
    store_outbox_mark_conflict(c->store, server_version->type, server_version->id);
    store_conflict_put(c->store, server_version);
    observation seen;
    record_observation(server_version, &seen, &c->scratch);
    seen.kind = OBS_SEEN;
    c->cfg.host.observe(c->cfg.host.ctx, c->cfg.index, &seen);
    observe_write(c, OBS_CONFLICT_PENDING, WRITE_NONE, server_version->type, server_version->id, NULL);
}

/* The server refused a change for good: the device takes the server's copy, or none. */
static void roll_back(client *c, const record *server_copy)
{
    if (store_outbox_has(c->store, server_copy->type, server_copy->id))
        return;   /* later changes of it are still to be decided */
    if (server_copy->version == 0) {
        record local;
        if (store_record_get(c->store, server_copy->type, server_copy->id, &c->scratch, &local)) {
            store_record_remove(c->store, server_copy->type, server_copy->id);
            observe_absent(c, server_copy->type, server_copy->id);
        }
        return;
    }
    adopt(c, server_copy);
}

static const sent_change *find_sent(const client *c, int64_t op_id)
{
    for (int k = 0; k < c->n_sent; k++)
        if (c->sent[k].op_id == op_id)
            return &c->sent[k];
    return NULL;
}

/* Whether a result after results[i] answers for the same record. */
static bool answered_again(const wire_result *results, int n, int i)
{
    for (int j = i + 1; j < n; j++)
        if (strcmp(results[j].rec.id, results[i].rec.id) == 0 && strcmp(results[j].rec.type, results[i].rec.type) == 0)
            return true;
    return false;
}

static void on_push_result(client *c, message *msg, int64_t now_us)
{
    hlc server_clock;
    int64_t server_now;
    int n;
    wire_result *results;
    if (!wire_push_result_parse(c->profile->wire, msg, &c->scratch, &server_clock, &server_now, &n, &results))
        return;   /* malformed: treat as lost; the timeout retries */
    c->round.inflight_req = 0;
    hlc_observe(&c->clock, server_clock, now_us);
    for (int i = 0; i < n; i++)
        if (strcmp(results[i].status, "rolled-back") == 0) {
            /* The server rolled the whole batch back: nothing of it was applied. The batch
             * goes again after the retry delay -- and fails again while it holds the change
             * the server cannot take. */
            request_failed(c, &c->round);
            return;
        }
    bool watermark = c->profile->changes == CHANGES_WATERMARK;
    int acknowledged = 0;
    begin(c);
    for (int i = 0; i < n; i++) {
        const wire_result *r = &results[i];
        const sent_change *s = find_sent(c, r->op_id);
        if (!s)
            continue;
        acknowledged++;
        if (watermark) {
            /* A watermark push can carry several entries of one record (each event of a log, all
             * stamped with the record's latest write): the server answers them in order, so only
             * the last answer shows the record after the whole push. Adopting an earlier one -- a
             * re-sent event refused as a duplicate, answered with the log before the new event --
             * would take this device's own later event off its screen until the next pull. */
            if (answered_again(results, n, i))
                continue;
            /* Adopt the server's answer unless the record was written again since it was sent. */
            record local;
            bool same = store_record_get(c->store, r->rec.type, r->rec.id, &c->scratch, &local) && local.st.w == s->w;
            if (!same)
                continue;
            if (strcmp(r->status, "refused") == 0 || strcmp(r->status, "invalid") == 0 ||
                strcmp(r->status, "forbidden") == 0) {
                roll_back(c, &r->rec);
            } else {
                store_record_put(c->store, &r->rec);
                engine_observe_record(&c->cfg, &r->rec, &c->scratch);
            }
            continue;
        }
        if (c->profile->ids == IDS_SERVER && strcmp(r->rec.type, s->type) == 0 && strcmp(r->rec.id, s->id) != 0) {
            if (r->rec.version > 0) {
                rename_record(c, s->type, s->id, r->rec.id);
            } else {
                /* The server named a record it then did not store (a refused create): the answer
                 * is about this device's temporary copy, which a roll-back removes. */
                wire_result *unnamed = &results[i];
                unnamed->rec.id = s->id;
            }
        }
        if (strcmp(r->status, "conflict") == 0) {
            park_conflict(c, &r->rec);
            continue;
        }
        store_outbox_remove(c->store, s->op_id);
        /* Forbidden (another user's record: the server's isolation rule) is refused like any change
         * the server will never take: rolled back to what the server lets this user see. */
        if (strcmp(r->status, "refused") == 0 || strcmp(r->status, "invalid") == 0 ||
            strcmp(r->status, "forbidden") == 0) {
            roll_back(c, &r->rec);
            continue;
        }
        /* Our change became the server's next version, on exactly the version it was made on:
         * later local changes build on it. A change merged into a newer version (a concurrent
         * increment, say) is no such base: the server holds changes this device has not seen,
         * and a three-way merge must still see them as concurrent. Under queue_base: as-queued the
         * later changes keep the base they were made on (Amplify DataStore): the server sees them as
         * made on a version it has replaced. */
        if (strcmp(r->status, "applied") == 0 && r->rec.version == s->base_version + 1 &&
            !c->profile->queue_base_as_queued)
            store_outbox_rebase(c->store, r->rec.type, r->rec.id, s->base_version, r->rec.version);
        if (!store_outbox_has(c->store, r->rec.type, r->rec.id))
            adopt(c, &r->rec);
        else
            adopt_under_deltas(c, &r->rec);
    }
    if (watermark && acknowledged) {
        if (c->profile->watermark == WATERMARK_SERVER)
            store_meta_set(c->store, "watermark", server_now);
        else if (c->profile->watermark_taken == TAKEN_ANSWER)
            store_meta_set(c->store, "watermark", now_us);
        else if (c->profile->watermark_taken == TAKEN_SEND)
            store_meta_set(c->store, "watermark", c->push_read_us);
        else
            c->watermark_due = true;   /* round-end: finish_round writes it */
    }
    if (commit(c)) {
        /* The answer could not be stored: as if it never came. The outbox keeps every change
         * and the push goes again on the retry schedule (the server's idempotency, where the
         * design has it, answers the retry with the first outcome). */
        request_failed(c, &c->round);
        return;
    }
    c->n_sent = 0;
    if (acknowledged == 0) {
        /* A reply that settles none of our changes would have us resend the batch at once,
         * forever; count it as a failed request so the retry schedule bounds it. */
        request_failed(c, &c->round);
        return;
    }
    c->round.failures = 0;
    c->round.gave_up = false;
    c->round.auth_renewed = false;
    if (watermark)
        pushes_done(c, now_us);   /* one watermark push carries everything found */
    else
        continue_round(c, now_us);
}

/*
 * pull_over_pending: rebase. The pulled record with this device's queued changes' fields put back
 * on top (a queued delete stays a delete), and the queued changes now count as made on the pulled
 * version: the server, judging by version, finds no conflict, and the change overwrites what the
 * device pulled but its user never saw (Amplify DataStore, amplify-flutter#5176). Event logs are
 * left as keep does: their queued appends already merge with what the server holds.
 */
static void rebase_under_pulled(client *c, const record *pulled)
{
    record local;
    if (!store_record_get(c->store, pulled->type, pulled->id, &c->scratch, &local) || local.n_events ||
        pulled->n_events)
        return;
    const char **mine;
    int n_mine = store_outbox_changed(c->store, pulled->type, pulled->id, &c->scratch, &mine);
    record shown;
    record_copy(&shown, pulled, &c->scratch);
    for (int k = 0; k < n_mine; k++) {
        const field *f = record_field(&local, mine[k]);
        if (f)
            record_set_field(&shown, &c->scratch, f->name, &f->v, &f->st);
    }
    shown.st = local.st;
    if (local.deleted) {
        shown.deleted = true;
        shown.del = local.del;
    }
    project(c, &shown, &c->scratch);
    outbox_entry *pending;
    int n = store_outbox_of(c->store, pulled->type, pulled->id, OUTBOX_OF_MAX, &c->scratch, &pending);
    for (int i = 0; i < n; i++)
        if (pending[i].base_version != pulled->version)
            store_outbox_rebase(c->store, pulled->type, pulled->id, pending[i].base_version, pulled->version);
    adopt(c, &shown);
}

/* pull_over_pending: discard. The queued changes of the record are removed unsent, each observed
 * dropped (the checker counts it undelivered), and the pulled record is installed. */
static void discard_under_pulled(client *c, const record *pulled)
{
    outbox_entry *pending;
    int n;
    while ((n = store_outbox_of(c->store, pulled->type, pulled->id, OUTBOX_OF_MAX, &c->scratch, &pending)) > 0) {
        for (int i = 0; i < n; i++) {
            store_outbox_remove(c->store, pending[i].seq);
            observe_write(c, OBS_DROPPED, pending[i].w, pulled->type, pulled->id,
                          "a pulled record replaced the record, and its queued change was removed unsent");
        }
    }
    adopt(c, pulled);
}

/* A pulled record meets a local record with queued changes (none waiting on the user). */
static void pull_over_pending_changes(client *c, const record *pulled)
{
    pull_over_pending rule = c->profile->pull_over_pending;
    record local;
    if (c->profile->pull_over_deleted != rule && store_record_get(c->store, pulled->type, pulled->id, &c->scratch, &local) &&
        local.deleted)
        rule = c->profile->pull_over_deleted;
    switch (rule) {
    case PULL_OVER_KEEP:
        break;   /* the local record stays: the server decides the queued changes, and its answer comes back */
    case PULL_OVER_REBASE:
        rebase_under_pulled(c, pulled);
        break;
    case PULL_OVER_REPLACE:
        adopt(c, pulled);   /* the user's edit is off screen until its push is answered */
        break;
    case PULL_OVER_DISCARD:
        discard_under_pulled(c, pulled);
        break;
    }
}

/*
 * pull_apply: by-kind (WatermelonDB's applyRemoteChanges): a page is a changeset, applied as its
 * creates, then its updates, then its deletes; a delete is applied only to a record this device held
 * before the page. A page that plays back a record's whole log (server: { pulls: log }) may hold its
 * create and its delete: on a device that never had it (a fresh install), the create is applied and
 * the delete is not. Returns the order to apply records[] in (-1: skipped), or NULL for in-order.
 */
static int *pull_order(client *c, const record *records, int n)
{
    if (!c->profile->pull_apply_by_kind || n == 0)
        return NULL;
    int *order = arena_alloc(&c->scratch, (size_t)n * sizeof *order);
    int k = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < n; i++) {
            const record *r = &records[i];
            bool created = !r->deleted && (r->version == 1 || r->born_version == r->version);
            int kind = r->deleted ? 2 : created ? 0 : 1;
            if (kind != pass)
                continue;
            /* Computed before any of the page is applied: what the device held before it. */
            record held;
            bool existed = kind != 2 || (store_record_get(c->store, r->type, r->id, &c->scratch, &held) && !held.deleted);
            order[k++] = existed ? i : -1;
        }
    return order;
}

static void on_pull_result(client *c, message *msg, int64_t now_us)
{
    hlc server_clock;
    int n;
    const record *records;
    int64_t next, server_now;
    bool has_more;
    if (!wire_pull_result_parse(c->profile->wire, msg, &c->scratch, &server_clock, &server_now, &n, &records, &next,
                                &has_more))
        return;
    sync_stream *s = pull_stream(c);
    s->inflight_req = 0;
    hlc_observe(&c->clock, server_clock, now_us);
    begin(c);
    int *order = pull_order(c, records, n);
    for (int k = 0; k < n; k++) {
        int i = order ? order[k] : k;
        if (i < 0)
            continue;   /* by-kind: a delete of a record this device did not hold before the page */
        if (!store_outbox_has(c->store, records[i].type, records[i].id)) {
            adopt(c, &records[i]);
            continue;
        }
        if (adopt_under_deltas(c, &records[i]))
            continue;   /* the pulled total is the new base under this device's pending deltas */
        /* A record whose changes wait on the user: the conflict shows the server's
         * version as it is now, so a user who keeps the server's takes the latest,
         * not the copy reported when the conflict began (the cursor moves past it). */
        record parked;
        if (store_conflict_get(c->store, records[i].type, records[i].id, &c->scratch, &parked)) {
            if (records[i].version > parked.version) {
                store_conflict_put(c->store, &records[i]);
                observation seen;
                record_observation(&records[i], &seen, &c->scratch);
                seen.kind = OBS_SEEN;
                c->cfg.host.observe(c->cfg.host.ctx, c->cfg.index, &seen);
            }
            continue;
        }
        pull_over_pending_changes(c, &records[i]);
    }
    if (c->profile->cursor == CURSOR_SERVER_TIME)
        next = c->profile->cursor_next == NEXT_SERVER_NOW ? server_now : n > 0 ? records[n - 1].updated_us : c->cursor;
    else if (c->profile->cursor == CURSOR_WRITER_TIME)
        next = c->profile->cursor_next == NEXT_SERVER_NOW ? server_now : n > 0 ? records[n - 1].st.ts_us : c->cursor;
    bool save_at_round_end = c->profile->cursor_saved == CURSOR_SAVED_ROUND;
    if (!save_at_round_end)
        store_meta_set(c->store, cursor_key(c, &c->scratch), next);
    if (commit(c)) {
        /* The page could not be stored: the cursor stays, and the pull goes again on the retry schedule. */
        request_failed(c, s);
        return;
    }
    if (save_at_round_end) {
        c->round_cursor[c->pull_type] = next;
        c->round_cursor_set[c->pull_type] = true;
    }
    c->cursor = next;
    c->pulled += n;
    s->failures = 0;
    s->auth_renewed = false;
    if (has_more) {
        send_pull(c, now_us);
    } else if (c->profile->n_pull_types && c->pull_type + 1 < c->profile->n_pull_types) {
        c->pull_type++;
        send_pull(c, now_us);
    } else {
        pulls_done(c, now_us);
    }
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
    /* Request ids and timer generations never repeat across boots, so a late reply to a request made
     * before a crash cannot match one made after it, and a timer set before it finds no generation of
     * its own: each boot numbers them from a durable boot count (the first boot from 1 and 0). A new
     * process on the same store numbers them the same way. (A storage fault that fails this write
     * leaves the count as it was: the next boot then reuses this boot's numbers, and only a reply
     * still in flight across two crashes could be mistaken for another's.) */
    int64_t boots = store_meta_get(c->store, "boots", 0) + 1;
    store_meta_set(c->store, "boots", boots);
    c->next_req = ((boots - 1) << 32) + 1;
    c->periodic_gen = c->after_write_gen = c->round.retry_gen = c->pulls.retry_gen = c->flush_gen =
        (uint64_t)(boots - 1) << BOOT_GEN_SHIFT;
    flush_now(c);   /* the store as it opened (with the boot count) is the first durable copy */
    c->pull_type = 0;
    c->cursor = store_meta_get(c->store, cursor_key(c, &c->scratch), 0);
    memset(&c->clock, 0, sizeof c->clock);
    store_records_each(c->store, &c->scratch, recover_clock, &c->clock);
    arena_reset(&c->scratch);
    if (c->profile->sync_interval_us > 0)
        set_timer(c, c->profile->sync_interval_us, TOKEN(TIMER_PERIODIC, ++c->periodic_gen));
}

/*
 * Everything volatile goes back to what client_new made, so that a crash and boot in process behave
 * exactly as a fresh process that opens the same store (`syncsim node` after a restart). Timer
 * generations and request ids are renumbered from the durable boot count at boot.
 */
static void client_crash(node *n)
{
    client *c = (client *)n;
    c->booted = false;
    c->net_up = false;
    c->round.phase = PHASE_IDLE;
    c->round.inflight_req = 0;
    c->n_sent = 0;
    arena_reset(&c->sent_a);
    c->pull_type = 0;
    c->after_write_pending = false;
    c->round.retry_pending = false;
    c->flush_pending = false;
    c->round.again = 0;
    c->round.dropped_request = false;
    c->pushes_done = false;
    c->watermark_due = false;
    memset(c->round_cursor_set, 0, sizeof c->round_cursor_set);
    c->round.failures = 0;
    c->round.gave_up = false;
    c->round.auth_renewed = false;
    memset(&c->pulls, 0, sizeof c->pulls);   /* its retry_gen is renumbered at boot */
    c->pulled = 0;
    for (int i = 0; i < FORMS_MAX; i++)
        c->forms[i].open = false;   /* forms live in the app's memory */
}

/* A power loss: what was committed since the last flush is gone (the world crashes the node next). */
static bool client_power_loss(node *n, int64_t now_us)
{
    client *c = (client *)n;
    (void)now_us;
    store_power_loss(c->store);
    return true;
}

/*
 * The app's local database deleted (docs/lifecycle.md): a reinstall, or a sign-out. At a sign-out the
 * changes still waiting to be pushed are reported dropped first (the design abandons them: Realm's
 * DiscardUnsyncedChanges; under sign_out: sync-first the world waits for the device to be idle, so
 * only what it could not push is left); a reinstall reports nothing, for its user gave them up.
 * The counters that must never repeat stay (store_wipe). The world crashes the node next. A storage
 * fault that fails the transaction leaves the store as it was: false.
 */
#define DISCARDED "signed out with discard: the unsynced change was deleted with the local database"

/*
 * A switch of accounts is a sign-out (the same drops) whose wipe keeps the records under the profile's
 * switch: keep-data (the bug), after which the device belongs to call->user: its next creates are that
 * user's records, its requests name that user. The new user is copied (the call's is borrowed).
 */
static bool client_lifecycle(node *n, const lifecycle_call *call, int64_t now_us)
{
    client *c = (client *)n;
    (void)now_us;
    if (call->kind != LIFECYCLE_REINSTALL && call->kind != LIFECYCLE_SIGN_OUT && call->kind != LIFECYCLE_SWITCH)
        return false;
    arena_reset(&c->scratch);
    begin(c);
    if (call->kind == LIFECYCLE_SIGN_OUT || call->kind == LIFECYCLE_SWITCH) {
        write_id *ws;
        int count = store_outbox_writes(c->store, &c->scratch, &ws);
        for (int i = 0; i < count; i++)
            observe_write(c, OBS_DROPPED, ws[i], NULL, NULL, DISCARDED);
        if (c->profile->changes == CHANGES_WATERMARK) {
            record *changed;
            int64_t watermark = store_meta_get(c->store, "watermark", INT64_MIN);
            int k = store_local_changes_since(c->store, watermark, WATERMARK_PUSH_MAX, &c->scratch, &changed);
            /* What the next watermark push would carry (send_watermark_push): this device's writes after it. */
            int me = c->cfg.index;
            for (int i = 0; i < k; i++) {
                const record *r = &changed[i];
                for (int e = 0; e < r->n_events; e++)
                    if (WRITE_NODE(r->events[e].w) == me && r->events[e].at_us > watermark)
                        observe_write(c, OBS_DROPPED, r->events[e].w, r->type, r->id, DISCARDED);
                for (int f = 0; f < r->n_fields; f++)
                    if (WRITE_NODE(r->fields[f].st.w) == me && r->fields[f].st.ts_us > watermark)
                        observe_write(c, OBS_DROPPED, r->fields[f].st.w, r->type, r->id, DISCARDED);
                if (r->deleted && WRITE_NODE(r->del.w) == me && r->del.ts_us > watermark)
                    observe_write(c, OBS_DROPPED, r->del.w, r->type, r->id, DISCARDED);
            }
        }
    }
    bool keep_records = call->kind == LIFECYCLE_SWITCH && call->keep_data;
    store_wipe(c->store, call->wipe == WIPE_DATA_ONLY && !keep_records, keep_records);
    if (commit(c) != 0)
        return false;
    if (call->kind == LIFECYCLE_SWITCH) {
        assert(call->user && *call->user);
        xfree(c->tenant_owned);
        c->tenant_owned = xstrdup(call->user);
        c->cfg.tenant = c->tenant_owned;
    }
    return true;
}

static void set_field_values(record *r, arena *a, const user_op *op, const stamp *st)
{
    for (int i = 0; i < op->n_fields; i++)
        record_set_field(r, a, op->fields[i].name, &op->fields[i].v, st);
}

/* Apply an increment to rec. Returns the op that travels: an update of the new
 * total (absolute counters), the increment with the new total (max), with this
 * device's contribution (CRDT), or with the delta alone (ops: see ops_body). */
static op_kind apply_increment(client *c, record *rec, const user_op *op, const stamp *st)
{
    const op_field *amount = &op->fields[0];
    const entity_rules *rules = profile_rules(c->profile, op->type);
    const field *f = record_field(rec, amount->name);
    if (rules->counters == COUNTER_OPS) {
        /* The user sees the new total at once: the last total pulled with this device's pending
         * deltas on top, kept per device as the server keeps it (counter_add). Only the delta
         * travels (ops_body). */
        counter_part *parts, *added;
        int n = counter_parts_of(f, &c->scratch, &parts);
        n = counter_add(parts, n, c->cfg.index, amount->v.i, op->w, &c->scratch, &added);
        record_set_counter(rec, &c->scratch, amount->name, added, n, st);
        return OP_INCREMENT;
    }
    if (rules->counters == COUNTER_ABSOLUTE || rules->counters == COUNTER_MAX) {
        /* Read, add, write back: the new total travels. Absolute counters send it as a plain
         * update the strategy decides; max counters as an increment the server merges with max. */
        value total = { .kind = VAL_INT, .i = (f && f->v.kind == VAL_INT ? f->v.i : 0) + amount->v.i };
        record_set_field(rec, &c->scratch, amount->name, &total, st);
        return rules->counters == COUNTER_ABSOLUTE ? OP_UPDATE : OP_INCREMENT;
    }
    counter_part *parts;
    int n = counter_parts_of(f, &c->scratch, &parts);
    counter_part mine = { .node = c->cfg.index, .w = op->w, .p = amount->v.i > 0 ? amount->v.i : 0,
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

/* What an ops increment sends: the record as stored, but the counter field holds the delta, which
 * the server adds to its own total (the local copy holds the total the user sees). In a. */
static record ops_body(const record *rec, const user_op *op, const stamp *st, arena *a)
{
    record body;
    record_copy(&body, rec, a);
    record_set_field(&body, a, op->fields[0].name, &op->fields[0].v, st);
    return body;
}

static bool resolve_conflict(client *c, const user_op *op, int64_t now_us, const char **reason);

static open_form *find_form(client *c, const char *type, const char *id)
{
    for (int i = 0; i < FORMS_MAX; i++)
        if (c->forms[i].open && strcmp(c->forms[i].rec.type, type) == 0 && strcmp(c->forms[i].rec.id, id) == 0)
            return &c->forms[i];
    return NULL;
}

/* OP_OPEN: keep a copy of the record as stored now, replacing an earlier form of it, or the oldest. */
static bool open_form_of(client *c, const user_op *op, const char **reason)
{
    record cur;
    if (!store_record_get(c->store, op->type, op->id, &c->scratch, &cur) || cur.deleted) {
        *reason = "no such record to open";
        return false;
    }
    open_form *f = find_form(c, op->type, op->id);
    if (!f) {
        /* A free slot, else the form opened longest ago. */
        f = &c->forms[0];
        for (int i = 0; i < FORMS_MAX; i++) {
            if (!c->forms[i].open) {
                f = &c->forms[i];
                break;
            }
            if (c->forms[i].opened < f->opened)
                f = &c->forms[i];
        }
    }
    arena_reset(&f->a);
    record_copy(&f->rec, &cur, &f->a);
    f->open = true;
    f->opened = ++c->forms_opened;
    return true;
}

/* ids: server: an operation naming a record, or a parent, by a temporary id the server has renamed
 * acts on the server id -- the user's screen still shows the record they created. */
static const user_op *map_user_op(client *c, const user_op *op, user_op *mapped)
{
    *mapped = *op;
    mapped->id = map_id(c, op->type, op->id);
    const entity_rules *rules = profile_rules(c->profile, op->type);
    if (rules->n_refs == 0 || op->n_fields == 0 || op->kind == OP_RESOLVE || op->kind == OP_INCREMENT)
        return mapped;
    op_field *fields = arena_alloc(&c->scratch, (size_t)(op->n_fields ? op->n_fields : 1) * sizeof *fields);
    memcpy(fields, op->fields, (size_t)op->n_fields * sizeof *fields);
    for (int i = 0; i < op->n_fields; i++)
        for (int k = 0; k < rules->n_refs; k++)
            if (strcmp(fields[i].name, rules->refs[k].field) == 0 && fields[i].v.kind == VAL_STRING)
                fields[i].v.s = map_id(c, rules->refs[k].type, fields[i].v.s);
    mapped->fields = fields;
    return mapped;
}

static bool client_user_op(node *n, const user_op *op, int64_t now_us, const char **reason)
{
    client *c = (client *)n;
    assert(c->booted);
    arena_reset(&c->scratch);
    user_op mapped;
    if (c->profile->ids == IDS_SERVER)
        op = map_user_op(c, op, &mapped);
    if (op->kind == OP_RESOLVE)
        return resolve_conflict(c, op, now_us, reason);
    if (op->kind == OP_OPEN)
        return open_form_of(c, op, reason);
    if (op->n_fields > RECORD_FIELDS_MAX) {
        *reason = "too many fields";
        return false;
    }
    if (op->kind == OP_INCREMENT && (op->n_fields != 1 || op->fields[0].v.kind != VAL_INT)) {
        *reason = "an increment names one field and an integer amount";
        return false;
    }
    begin(c);
    record cur;
    bool found = store_record_get(c->store, op->type, op->id, &c->scratch, &cur);
    open_form *form = NULL;
    if (op->from_form) {
        /* Made on the copy the user opened: the change declares that copy's version as its base, though
         * the device may hold a newer one by now; what the server does with a stale base is its rules'.
         * What the change writes is the user's fields on the record as stored, as any edit: the form's
         * other, older values are not written back (to model a form that saves them all, list them). */
        form = find_form(c, op->type, op->id);
        if (!form || (op->kind != OP_UPDATE && op->kind != OP_DELETE)) {
            commit(c);
            *reason = form ? "only an update or a delete is made from a form"
                           : "no form of this record is open (a crash closes them)";
            return false;
        }
    }
    bool live = found && !cur.deleted;
    if (op->kind == OP_CREATE && live) {
        commit(c);
        *reason = "record already exists";
        return false;
    }
    if (op->kind != OP_CREATE && !live) {
        commit(c);
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
    case OP_RESOLVE:
    case OP_OPEN:
        assert(0 && "handled above");
        break;
    }
    project(c, &rec, &c->scratch);

    const char **changed = arena_alloc(&c->scratch, (size_t)(op->n_fields ? op->n_fields : 1) * sizeof *changed);
    for (int i = 0; i < n_changed; i++)
        changed[i] = op->fields[i].name;
    const entity_rules *rules = profile_rules(c->profile, op->type);
    if (c->profile->validate_client) {
        const char *why = schema_check(rules, &rec, op->kind, n_changed, changed, &c->scratch);
        if (why) {
            commit(c);
            *reason = why;   /* in scratch: valid until the next entry point, which is all the caller needs */
            return false;
        }
    }
    if (c->profile->changes == CHANGES_OUTBOX) {
        bool ops = op->kind == OP_INCREMENT && rules->counters == COUNTER_OPS;
        outbox_entry e = {
            .op = travels,
            .type = op->type,
            .id = op->id,
            .base_version = form ? form->rec.version : found ? cur.version : 0,
            .w = op->w,
            .n_changed = n_changed,
            .changed = changed,
            .body = ops ? ops_body(&rec, op, &st, &c->scratch) : rec,
            .rank = rules->rank,
        };
        if (ops) {
            store_record_put(c->store, &rec);
            store_outbox_add(c->store, &e);
        } else {
            store_record_put_queued(c->store, &rec, &e);
        }
    } else {
        store_record_put(c->store, &rec);
    }
    int failed = commit(c);
    if (failed) {
        /* Refused visibly: the user sees the write fail, and nothing of it was kept. */
        *reason = store_failure_reason(failed);
        return false;
    }
    if (form)
        form->open = false;   /* a form closes when it is saved */
    engine_observe_record(&c->cfg, &rec, &c->scratch);

    if (c->profile->sync_after_write_us >= 0 && !c->after_write_pending) {
        c->after_write_pending = true;
        set_timer(c, c->profile->sync_after_write_us, TOKEN(TIMER_AFTER_WRITE, ++c->after_write_gen));
    }
    return true;
}

/* The writes a version carries: its fields' and its last writer's. Kept when the user drops it. */
static void keep_version(client *c, const record *r)
{
    for (int i = 0; i < r->n_fields; i++)
        if (r->fields[i].st.w != WRITE_NONE)
            store_kept_add(c->store, r, r->fields[i].st.w);
    if (r->st.w != WRITE_NONE)
        store_kept_add(c->store, r, r->st.w);
}

/*
 * The user resolves a conflict the server left to them (IronFlow's "Keep Phone /
 * Keep Tablet / Merge Both", SmartDMV's manual strategy). The side dropped stays in
 * the kept list -- the user saw it and chose. A resolution that keeps anything of
 * this device's is pushed with force, as "pushToServer(selectedVersion,
 * forceOverwrite: true)" says: whatever reached the server meanwhile is overwritten.
 */
static bool resolve_conflict(client *c, const user_op *op, int64_t now_us, const char **reason)
{
    const char *pick_text = op->n_fields == 1 && op->fields[0].v.kind == VAL_STRING ? op->fields[0].v.s : "";
    manual_pick pick;
    if (!manual_pick_parse(pick_text, &pick) || pick == PICK_RANDOM) {
        *reason = "a resolution picks local, server, merge or newest";
        return false;
    }
    begin(c);
    record server_side, local;
    if (!store_conflict_get(c->store, op->type, op->id, &c->scratch, &server_side) ||
        !store_record_get(c->store, op->type, op->id, &c->scratch, &local)) {
        commit(c);
        *reason = "no conflict waits on this record";
        return false;
    }
    if (pick == PICK_NEWEST)
        pick = local.st.ts_us > server_side.st.ts_us ? PICK_LOCAL : PICK_SERVER;
    const char **mine;
    int n_mine = store_outbox_changed(c->store, op->type, op->id, &c->scratch, &mine);
    store_conflict_remove(c->store, op->type, op->id);
    store_outbox_remove_record(c->store, op->type, op->id);
    stamp st = { .w = op->w, .ts_us = now_us, .h = hlc_tick(&c->clock, now_us) };
    record chosen;
    if (pick == PICK_SERVER) {
        keep_version(c, &local);
        chosen = server_side;
    } else {
        if (pick == PICK_LOCAL || local.deleted || server_side.deleted) {
            record_copy(&chosen, &local, &c->scratch);
        } else {
            /* Merge both: the server's record with the fields this device changed on top --
             * those its parked changes set, not every field it holds a different copy of
             * (a copy of another device's older value is not this device's to push). */
            record_copy(&chosen, &server_side, &c->scratch);
            for (int k = 0; k < n_mine; k++) {
                const field *f = record_field(&local, mine[k]);
                if (f)
                    record_set_field(&chosen, &c->scratch, f->name, &f->v, &f->st);
            }
        }
        keep_version(c, &server_side);
        chosen.version = server_side.version;
        chosen.seq = server_side.seq;
        chosen.st = st;
        if (chosen.deleted)
            chosen.del = st;
        project(c, &chosen, &c->scratch);
        const char **changed = arena_alloc(&c->scratch, (size_t)(chosen.n_fields ? chosen.n_fields : 1) * sizeof *changed);
        for (int i = 0; i < chosen.n_fields; i++)
            changed[i] = chosen.fields[i].name;
        outbox_entry e = {
            .op = chosen.deleted ? OP_DELETE : OP_UPDATE,
            .type = op->type,
            .id = op->id,
            .base_version = server_side.version,
            .w = op->w,
            .n_changed = chosen.deleted ? 0 : chosen.n_fields,
            .changed = changed,
            .body = chosen,
            .force = true,
            .rank = profile_rules(c->profile, op->type)->rank,
        };
        store_outbox_add(c->store, &e);
    }
    store_record_put(c->store, &chosen);
    int failed = commit(c);
    if (failed) {
        *reason = store_failure_reason(failed);
        return false;
    }
    engine_observe_record(&c->cfg, &chosen, &c->scratch);
    if (c->profile->sync_after_write_us >= 0 && !c->after_write_pending) {
        c->after_write_pending = true;
        set_timer(c, c->profile->sync_after_write_us, TOKEN(TIMER_AFTER_WRITE, ++c->after_write_gen));
    }
    return true;
}

/* The gateway refused this device's token: ask for a new one. The refused request is abandoned
 * (it was not applied), its round waits for the answer, and a timeout is an ordinary failure. */
static void refresh_token(client *c, sync_stream *s)
{
    s->phase = PHASE_AUTH;
    if (s == &c->round)
        c->n_sent = 0;
    send_msg(c, wire_auth_request(new_request(c, s)));
}

static void client_deliver(node *n, int from, message *msg, int64_t now_us)
{
    client *c = (client *)n;
    int64_t req;
    if (!c->booted || from != NODE_SERVER || !wire_req(msg, &req) || req == 0)
        return;
    /* The stream whose request it answers (request ids are unique across both streams). */
    sync_stream *s = req == c->round.inflight_req ? &c->round : req == c->pulls.inflight_req ? &c->pulls : NULL;
    if (!s)
        return;   /* stale, duplicated or unexpected: the request it answers is gone */
    arena_reset(&c->scratch);
    int status;
    if (wire_gateway_status(msg, &status)) {
        if (status == WIRE_GATEWAY_STATUS_UNAUTHORIZED && s->phase != PHASE_AUTH &&
            c->profile->auth_refresh == AUTH_REFRESH_REQUEST && !s->auth_renewed) {
            refresh_token(c, s);
            return;
        }
        /* The request was not applied: it failed now rather than at its timeout, and the
         * profile's retry rules (schedule, stop, drop_after) decide what comes next. */
        request_failed(c, s);
        return;
    }
    if (s->phase == PHASE_AUTH) {
        if (wire_is_auth_granted(msg)) {
            /* The round (or the stream) starts again from its beginning: nothing of the refused
             * request was applied. */
            s->inflight_req = 0;
            if (s == &c->round)
                c->n_sent = 0;
            s->phase = PHASE_IDLE;
            s->auth_renewed = true;
            if (!streams(c))
                start_round(c, now_us);
            else if (s == &c->pulls)
                start_pull_stream(c, now_us);
            else
                start_push_stream(c, now_us);
        }
        return;
    }
    /* The reply answers the request in flight, which the phase names (as an HTTP client knows
     * what it asked); a reply of the other kind fails that kind's parse and is ignored. */
    if (s->phase == PHASE_PUSH)
        on_push_result(c, msg, now_us);
    else if (s->phase == PHASE_PULL)
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
        if (streams(c))
            start_push_stream(c, now_us);   /* a write wakes the push stream only */
        else
            start_round(c, now_us);
        break;
    case TIMER_TIMEOUT:
        if ((int64_t)k == c->round.inflight_req && c->round.inflight_req != 0)
            request_failed(c, &c->round);
        else if ((int64_t)k == c->pulls.inflight_req && c->pulls.inflight_req != 0)
            request_failed(c, &c->pulls);
        break;
    case TIMER_RETRY:
        if (k != c->round.retry_gen)
            return;
        c->round.retry_pending = false;
        if (streams(c))
            start_push_stream(c, now_us);
        else
            start_round(c, now_us);
        break;
    case TIMER_PULL_RETRY:
        if (k != c->pulls.retry_gen)
            return;
        c->pulls.retry_pending = false;
        start_pull_stream(c, now_us);
        break;
    case TIMER_FLUSH:
        if (k != c->flush_gen)
            return;
        c->flush_pending = false;
        flush_now(c);
        break;
    default:
        assert(0 && "unknown timer");
    }
}

static const char *client_timer_name(const node *n, uint64_t token)
{
    (void)n;
    switch (TOKEN_KIND(token)) {
    case TIMER_PERIODIC: return "periodic-sync";
    case TIMER_AFTER_WRITE: return "sync-after-write";
    case TIMER_TIMEOUT: return "request-timeout";
    case TIMER_RETRY: return "retry";
    case TIMER_FLUSH: return "flush";
    case TIMER_PULL_RETRY: return "pull-retry";
    }
    return NULL;
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
        /* The requests in flight are abandoned, as a fetch fails when the network drops. */
        c->round.inflight_req = 0;
        c->n_sent = 0;
        c->round.phase = PHASE_IDLE;
        c->round.again = 0;
        c->pulls.inflight_req = 0;
        c->pulls.phase = PHASE_IDLE;
        c->pulls.again = 0;
        break;
    case CTL_NET_UP:
        c->net_up = true;
        if (c->profile->sync_on_reconnect)
            start_round(c, now_us);
        break;
    case CTL_SYNC_NOW:
        c->round.gave_up = false;
        c->round.failures = 0;
        c->pulls.gave_up = false;
        c->pulls.failures = 0;
        start_round(c, now_us);
        break;
    }
}

static bool client_idle(node *n)
{
    client *c = (client *)n;
    if (!c->booted)
        return true;
    /* Under streams, idle only when both streams are (the pull stream is always idle otherwise). */
    if (c->round.phase != PHASE_IDLE || c->round.retry_pending || c->after_write_pending ||
        c->pulls.phase != PHASE_IDLE || c->pulls.retry_pending)
        return false;
    if (c->round.gave_up)
        return true;
    /* during_round: drop, no periodic sync: a round was asked for and ignored, and none has run since.
     * Nothing scheduled will ever push what waits (Replicache #42): the device is as idle as it
     * will get, and the checker judges what it holds unsent (undelivered). */
    if (c->round.dropped_request && c->profile->sync_interval_us == 0)
        return true;
    if (c->profile->changes == CHANGES_WATERMARK) {
        /* Idle when nothing this device wrote is after the watermark -- including writes the
         * watermark skipped: the device does not know about them, so it has nothing to do. */
        record *changed;
        int count = store_local_changes_since(c->store, store_meta_get(c->store, "watermark", INT64_MIN), 64,
                                              &c->scratch, &changed);
        for (int i = 0; i < count; i++)
            if (WRITE_NODE(changed[i].st.w) == c->cfg.index)
                return false;
        return true;
    }
    return store_outbox_count(c->store) == 0;
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
    engine_hold_release(&c->hold);
    arena_release(&c->scratch);
    arena_release(&c->sent_a);
    for (int i = 0; i < FORMS_MAX; i++)
        arena_release(&c->forms[i].a);
    xfree(c->sent);
    xfree(c->tenant_owned);
    xfree(c);
}

/* The entry points that may commit, each followed by schedule_flush (a no-op under flush: commit). */
static bool client_user_op_entry(node *n, const user_op *op, int64_t now_us, const char **reason)
{
    bool accepted = client_user_op(n, op, now_us, reason);
    schedule_flush((client *)n);
    return accepted;
}

static void client_deliver_entry(node *n, int from, message *msg, int64_t now_us)
{
    client_deliver(n, from, msg, now_us);
    schedule_flush((client *)n);
}

static void client_timer_entry(node *n, uint64_t token, int64_t now_us)
{
    client_timer(n, token, now_us);
    schedule_flush((client *)n);
}

static void client_control_entry(node *n, node_control ctl, int64_t now_us)
{
    client_control(n, ctl, now_us);
    schedule_flush((client *)n);
}

static bool client_storage_fault(node *n, const storage_fault *fault, int64_t now_us)
{
    (void)now_us;
    client *c = (client *)n;
    return engine_storage_fault(c->store, fault);
}

static const node_ops CLIENT_OPS = {
    .boot = client_boot,
    .crash = client_crash,
    .power_loss = client_power_loss,
    .user_op = client_user_op_entry,
    .deliver = client_deliver_entry,
    .timer = client_timer_entry,
    .timer_name = client_timer_name,
    .control = client_control_entry,
    .idle = client_idle,
    .snapshot = client_snapshot,
    .destroy = client_destroy,
    .storage_fault = client_storage_fault,
    .lifecycle = client_lifecycle,
};

node *client_new(const engine_config *cfg, store *st)
{
    client *c = xcalloc(1, sizeof *c);
    c->base.ops = &CLIENT_OPS;
    c->cfg = *cfg;
    engine_hold_init(&c->hold, &c->cfg);
    c->profile = cfg->profile;
    c->store = st;
    arena_init(&c->scratch, 64 * 1024);
    arena_init(&c->sent_a, 4096);
    for (int i = 0; i < FORMS_MAX; i++)
        arena_init(&c->forms[i].a, 1024);
    assert(c->profile->push_batch_max >= 1 && c->profile->pull_page_max >= 1 && c->profile->n_retry >= 1);
    int sent_max = c->profile->changes == CHANGES_WATERMARK ? WATERMARK_PUSH_MAX : c->profile->push_batch_max;
    c->sent = xcalloc((size_t)sent_max, sizeof *c->sent);
    return &c->base;
}
