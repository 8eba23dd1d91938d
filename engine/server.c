/*
 * server: the sync server.
 *
 * A push is applied in one transaction: for each change, in order, the
 * server loads its record, detects a concurrent modification by comparing
 * the change's base version with its own (optimistic locking), lets the
 * entity's strategy decide, and -- when the record changed -- bumps the
 * version, assigns the next change-log sequence number and stores it. Pulls
 * page through records by sequence number; a record appears once, at its
 * latest sequence, so a cursor never misses a change and never needs more
 * than one page per changed record.
 *
 * With the profile's ids: server (SmartDMV's ID mapping), a change naming a
 * record the server does not have is a new record: the server gives it the
 * next id of its own (decimal digits, durable in meta "last_id") and answers
 * with the record under that id and the temporary one beside it. Later
 * changes of the same push may name the record, or name it as a parent in a
 * reference field, by the temporary id; the server maps those within the
 * push. It keeps no mapping across pushes -- the device renames its copy when
 * the answer arrives -- so a push retried after a lost answer creates the
 * record again unless idempotency keys catch the retry.
 *
 * A push the store cannot keep (a storage fault, docs/faults.md) is rolled back
 * whole, its observations dropped and the counters and clock put back as they
 * were; the server answers 503, as for any request it did not apply, and the
 * device retries.
 *
 * Visibility in time (the profile's server:, docs/server-visibility.md): with a commit_delay, a push's
 * transaction takes its sequence numbers and updatedAt when it begins (here, when the push arrives) and
 * commits later; with a feed_lag, pulls read a feed that trails the commits. The primary -- the records
 * table every push reads and its conflict checks -- has each write at once, as if later writers waited
 * on the row lock; pulls read the versions table instead, where each stored version carries the
 * monotonic time from which it is visible, and see each record at its latest visible version. The
 * answer to the push is sent at its commit (a timer "commit"); a timer "feed" marks when the feed has
 * caught up with it, so the server is not idle before. A crash loses the answers not yet sent, never
 * the versions: a write still becomes visible when its commit was due, as if recovery committed it.
 *
 * Invariants: seq is strictly increasing and durable (meta "seq"); a record's
 * version increases by one per stored change; with idempotency on, a change
 * (device, op_id) is applied at most once, and a retry gets its first outcome
 * with the record as it is now.
 */
#include "base/hash.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "engine/engine.h"
#include "engine/reducer.h"
#include "engine/schema.h"
#include "engine/strategy.h"
#include "engine/wire.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

typedef struct server {
    node base;
    engine_config cfg;
    const profile *profile;
    store *store;
    arena scratch;
    arena pulled;   /* the records a pull reads and nothing else: its answer takes them (wire_pull_result_take) */
    bool booted;
    hlc clock;
    int64_t seq;    /* last change-log sequence number assigned */
    int64_t last_id; /* ids: server: the last record id assigned */
    engine_hold hold; /* observations of a push wait for its commit (faultable stores) */
    /* Visibility in time; all unused unless profile_server_delays(profile). */
    bool delays;            /* pulls read the versions table */
    int64_t visible_at_us;  /* the push being applied: when its versions become visible (monotonic clock) */
    struct pending_answer {
        uint64_t token;     /* its commit timer */
        int to;
        message *msg;       /* the server's reference */
    } *answers;             /* pushes whose transaction is still open, oldest first */
    int n_answers, cap_answers;
    int feeds_pending;      /* feed timers set and not yet fired */
    uint64_t timers_set;    /* numbers this boot's timers */
    int64_t boots;          /* boots of this node object */
    uint64_t draw_seed;     /* this boot's seed for commit_delay draws */
    uint64_t draws;         /* pushes that drew a commit delay since boot */
} server;

/* Timer tokens: the kind in bits 48-51 (the node protocol carries tokens below 2^53), then a number that
 * counts from 1 at every boot. */
#define TIMER_COMMIT (UINT64_C(1) << 48)
#define TIMER_FEED (UINT64_C(2) << 48)
#define TIMER_KIND(token) ((token) & (UINT64_C(0xf) << 48))

/* A record id the server gave in the push being applied. */
typedef struct id_given {
    const char *type;
    const char *temp_id;
    const char *real_id;
} id_given;

static void observe(server *s, const observation *obs)
{
    s->cfg.host.observe(s->cfg.host.ctx, s->cfg.index, obs);
}

/*
 * Stamp the parts of the incoming record that this change wrote with the server's clock; its new events
 * with event_stamp: the clock too (order: server), or the change-log sequence this change will get if it
 * is stored (order: stored), which a step of the server's clock cannot turn back.
 */
static void stamp_arrival(record *rec, const wire_change *c, int64_t now_us, int64_t event_stamp)
{
    rec->st.server_us = now_us;
    if (rec->deleted)
        rec->del.server_us = now_us;
    /* Every event the server stores for the first time, not only this change's own append: a change
     * carries its record whole, with the device's earlier unsynced events in it (an update after two
     * appends), and an event left at 0 would sort after later ones forever under server order. */
    for (int i = 0; i < rec->n_events; i++)
        if (rec->events[i].server_us == 0)
            rec->events[i].server_us = event_stamp;
    for (int i = 0; i < c->n_changed; i++) {
        for (int k = 0; k < rec->n_fields; k++)
            if (strcmp(rec->fields[k].name, c->changed[i]) == 0)
                rec->fields[k].st.server_us = now_us;
    }
}

/* Values this version stored for the first time carry its number (three-way merge's "changed since"). */
static void stamp_versions(record *r)
{
    if (r->st.version == 0)
        r->st.version = r->version;
    if (r->deleted && r->del.version == 0)
        r->del.version = r->version;
    for (int i = 0; i < r->n_fields; i++)
        if (r->fields[i].st.version == 0)
            r->fields[i].st.version = r->version;
}

static const char *status_name(resolve_verdict v)
{
    switch (v) {
    case RESOLVE_INCOMING: return "applied";
    case RESOLVE_MERGED: return "merged";
    case RESOLVE_CURRENT: return "rejected";
    case RESOLVE_REFUSED: return "refused";
    case RESOLVE_PENDING: return "conflict";
    }
    return "?";
}

static const char *tenant_of(const server *s, int node)
{
    const char *t = s->cfg.tenants && node >= 0 && node < s->cfg.n_nodes ? s->cfg.tenants[node] : NULL;
    return t ? t : "";
}

/* A result for change c; its record lives in the scratch arena, untouched until the reply is sent. */
static wire_result result_of(const wire_change *c, const char *status, bool conflict, const record *r)
{
    return (wire_result){ .op_id = c->op_id, .status = status, .conflict = conflict, .rec = *r };
}

static wire_result apply_change(server *s, int from, wire_change *c, int64_t now_us)
{
    observation received = { .kind = OBS_RECEIVED, .type = c->rec.type, .id = c->rec.id, .w = c->rec.st.w };
    observe(s, &received);
    hlc_observe(&s->clock, c->rec.st.h, now_us);
    const entity_rules *type_rules = profile_rules(s->profile, c->rec.type);
    stamp_arrival(&c->rec, c, now_us, type_rules->events_order == EVENT_ORDER_STORED ? s->seq + 1 : now_us);

    record cur;
    bool found = store_record_get(s->store, c->rec.type, c->rec.id, &s->scratch, &cur);
    /* A device writes only its own user's records (family / tenant isolation). The change is refused, as
     * by its type's rules (its device rolls it back): a device that switched accounts may name a record
     * of its old user, or one another user created under the same id (docs/lifecycle.md). */
    const char *tenant = tenant_of(s, from);
    if (strcmp(c->rec.tenant, tenant) != 0 || (found && strcmp(cur.tenant, tenant) != 0)) {
        observation refused = { .kind = OBS_REFUSED, .type = c->rec.type, .id = c->rec.id, .w = c->rec.st.w,
                                .detail = "isolation: the record belongs to another user" };
        observe(s, &refused);
        record none;
        record_init(&none, &s->scratch, c->rec.type, c->rec.id);
        none.tenant = tenant;
        return result_of(c, "forbidden", false, found && strcmp(cur.tenant, tenant) == 0 ? &cur : &none);
    }
    resolve_input in = {
        .current = found ? &cur : NULL,
        .incoming = &c->rec,
        .op = c->op,
        .n_changed = c->n_changed,
        .changed = c->changed,
        .concurrent = found && (s->profile->detect == DETECT_TIMESTAMP ? cur.updated_us > c->rec.st.ts_us
                                                                       : c->base_version != cur.version),
        .base_version = c->base_version,
        .force = c->force,
        .rules = profile_rules(s->profile, c->rec.type),
    };
    resolve_output out;
    strategy_resolve(&in, &out, &s->scratch);
    if (out.verdict == RESOLVE_REFUSED) {
        observation refused = { .kind = OBS_REFUSED, .type = c->rec.type, .id = c->rec.id, .w = c->rec.st.w,
                                .detail = in.rules->strategy->name };
        observe(s, &refused);
        return result_of(c, status_name(out.verdict), false, &out.result);
    }

    const entity_rules *rules = in.rules;
    if (rules->events_order == EVENT_ORDER_SERVER || rules->events_order == EVENT_ORDER_STORED)
        record_sort_events(&out.result, rules->events_order);
    if (rules->reducer && out.result.n_events)
        reducer_apply(rules->reducer, &out.result, &s->scratch);
    bool changed = out.verdict != RESOLVE_PENDING && (!found || !record_same_provenance(&out.result, &cur));
    if (changed) {
        out.result.version = (found ? cur.version : 0) + 1;
        out.result.seq = ++s->seq;
        out.result.updated_us = now_us;
        if (found && cur.deleted && !out.result.deleted) {
            out.result.born_version = out.result.version;   /* a new incarnation */
            out.result.prev_del = cur.del;
        }
        stamp_versions(&out.result);
        store_record_put(s->store, &out.result);
        store_changelog_add(s->store, &out.result);
        if (s->delays || s->profile->pulls_log)
            store_version_add(s->store, &out.result, s->delays ? s->visible_at_us : now_us);
        engine_observe_record(&s->cfg, &out.result, &s->scratch);
    } else {
        out.result = cur;
    }
    /* Losers the strategy keeps go to the conflict store, each with the version it lost as. */
    for (int i = 0; i < out.n_kept; i++)
        store_kept_add(s->store, out.kept[i] == c->rec.st.w || !found ? &c->rec : &cur, out.kept[i]);
    if (out.n_kept && found && !cur.deleted && out.result.deleted && in.concurrent) {
        /* A delete beat edits its device had not seen. A counter's contributions and the
         * appended events carry no single write, so every change since the delete's base,
         * from the change log, goes to the conflict store with the record it deleted. */
        write_id *since;
        int n = store_changelog_writes_since(s->store, cur.type, cur.id, c->base_version, &s->scratch, &since);
        for (int i = 0; i < n; i++)
            store_kept_add(s->store, &cur, since[i]);
    }
    if (out.conflict) {
        bool incoming_won = out.verdict != RESOLVE_CURRENT;
        observation conflict = {
            .kind = OBS_CONFLICT,
            .type = c->rec.type,
            .id = c->rec.id,
            .w = incoming_won ? c->rec.st.w : cur.st.w,
            .loser = incoming_won ? cur.st.w : c->rec.st.w,
            .detail = out.kind,
        };
        observe(s, &conflict);
    }
    return result_of(c, status_name(out.verdict), out.conflict, &out.result);
}

/*
 * A client rebases its pending changes of a record when the server applies
 * an earlier one (client.c). Changes that travel in one push have not been
 * rebased yet, so the server applies the same rule within the batch: a
 * change made on the base version of an earlier, applied change in this
 * batch counts as made on that change's result. base_sent holds the bases as
 * the client sent them: a chain of edits all made on one base rebases link
 * by link, each on its predecessor's result, though the predecessor's own
 * base was rebased already.
 */
static void rebase_within_batch(wire_change *changes, const int64_t *base_sent, int i, const wire_result *results)
{
    wire_change *c = &changes[i];
    for (int k = i - 1; k >= 0; k--) {
        const wire_change *prev = &changes[k];
        if (strcmp(prev->rec.type, c->rec.type) != 0 || strcmp(prev->rec.id, c->rec.id) != 0)
            continue;
        int64_t version = results[k].rec.version;
        /* Only when the earlier change was applied right on its base (version base + 1), as the client rule. */
        if (strcmp(results[k].status, "applied") == 0 && base_sent[i] == base_sent[k] &&
            version == prev->base_version + 1)
            c->base_version = version;
        return;   /* only the latest earlier change of the record matters */
    }
}

/* Why the change fails its type's schema, or NULL. */
static const char *invalid(server *s, const wire_change *c)
{
    if (!s->profile->validate_server)
        return NULL;
    return schema_check(profile_rules(s->profile, c->rec.type), &c->rec, c->op, c->n_changed, c->changed,
                        &s->scratch);
}

static wire_result invalid_result(server *s, const wire_change *c, const char *why)
{
    observation obs = { .kind = OBS_INVALID, .type = c->rec.type, .id = c->rec.id, .w = c->rec.st.w, .detail = why };
    observe(s, &obs);
    record now;
    if (!store_record_get(s->store, c->rec.type, c->rec.id, &s->scratch, &now)) {
        record_init(&now, &s->scratch, c->rec.type, c->rec.id);
        now.tenant = c->rec.tenant;
    }
    wire_result result = result_of(c, "invalid", false, &now);
    result.error = why;   /* in scratch, like the record */
    return result;
}

/*
 * Batch transactions with rollback (the delta-sync API): one invalid change and
 * the whole push is refused -- the invalid change with its reason, the rest as
 * rolled back -- and nothing of it is applied.
 */
static bool reject_batch(server *s, int from, int64_t req, int64_t now_us, int n, const wire_change *changes)
{
    int bad = -1;
    const char *why = NULL;
    for (int i = 0; i < n && bad < 0; i++)
        if ((why = invalid(s, &changes[i])))
            bad = i;
    if (bad < 0)
        return false;
    wire_result *results = arena_alloc(&s->scratch, (size_t)n * sizeof *results);
    for (int i = 0; i < n; i++) {
        if (i == bad) {
            results[i] = invalid_result(s, &changes[i], why);
        } else {
            record none;
            record_init(&none, &s->scratch, changes[i].rec.type, changes[i].rec.id);
            results[i] = result_of(&changes[i], "rolled-back", false, &none);
        }
    }
    s->cfg.host.send(s->cfg.host.ctx, NODE_SERVER, from,
                     wire_push_result(s->profile->wire, req, s->clock, now_us, n, changes, results));
    return true;
}

static const char *given_id(const id_given *given, int n_given, const char *type, const char *temp_id)
{
    for (int k = n_given - 1; k >= 0; k--)
        if (strcmp(given[k].type, type) == 0 && strcmp(given[k].temp_id, temp_id) == 0)
            return given[k].real_id;
    return NULL;
}

/* A change of this push that names a record, or a parent, by an id the push's creates were given. */
static void map_given_ids(server *s, wire_change *c, const id_given *given, int n_given)
{
    const char *real = given_id(given, n_given, c->rec.type, c->rec.id);
    if (real)
        c->rec.id = real;
    const entity_rules *rules = profile_rules(s->profile, c->rec.type);
    for (int k = 0; k < rules->n_refs; k++)
        for (int f = 0; f < c->rec.n_fields; f++) {
            field *fl = &c->rec.fields[f];
            if (strcmp(fl->name, rules->refs[k].field) == 0 && fl->v.kind == VAL_STRING &&
                (real = given_id(given, n_given, rules->refs[k].type, fl->v.s)))
                fl->v.s = real;
        }
}

/* ids: server: a change naming a record the server does not have creates it under the next id. */
static void assign_id(server *s, int from, wire_change *c, id_given *given, int *n_given)
{
    record existing;
    if (store_record_get(s->store, c->rec.type, c->rec.id, &s->scratch, &existing))
        return;
    given[*n_given] = (id_given){ .type = c->rec.type, .temp_id = c->rec.id,
                                  .real_id = arena_printf(&s->scratch, "%lld", (long long)++s->last_id) };
    c->rec.id = given[(*n_given)++].real_id;
    observation obs = { .kind = OBS_ID_ASSIGNED, .type = c->rec.type, .id = c->rec.id, .w = c->rec.st.w,
                        .detail = given[*n_given - 1].temp_id, .peer = from };
    observe(s, &obs);
}

/* The clock visibility is measured by: the server's monotonic clock (a step of its wall clock moves no
 * commit), or the wall clock handed in when the host has none (the unit tests' fake host). */
static int64_t visibility_now(const server *s, int64_t now_us)
{
    return s->cfg.host.mono_now ? s->cfg.host.mono_now(s->cfg.host.ctx, s->cfg.index) : now_us;
}

/* How long a push of n changes keeps its transaction open; with a distribution, one draw per push. */
static int64_t commit_delay_of(server *s, int n)
{
    const profile *p = s->profile;
    int64_t base = p->commit_delay_us;
    if (p->n_commit_delay_draws > 0) {
        uint64_t number = ++s->draws;
        uint64_t h = hash64_u64(hash64_u64(s->draw_seed, number), number);
        base = p->commit_delay_draws[((h >> 32) * (uint64_t)p->n_commit_delay_draws) >> 32];
    }
    return base + p->commit_delay_per_change_us * n;
}

static uint64_t set_timer(server *s, uint64_t kind, int64_t delay_us)
{
    uint64_t token = kind | ++s->timers_set;
    s->cfg.host.set_timer(s->cfg.host.ctx, s->cfg.index, delay_us, token);
    return token;
}

/* Answer the push now, or at its commit; and let the feed catch up with what it stored. */
static void answer_push(server *s, int to, message *answer, int64_t commit_us, bool stored)
{
    if (stored && s->profile->feed_lag_us > 0) {
        set_timer(s, TIMER_FEED, commit_us + s->profile->feed_lag_us);
        s->feeds_pending++;
    }
    if (commit_us == 0) {
        s->cfg.host.send(s->cfg.host.ctx, NODE_SERVER, to, answer);
        return;
    }
    if (s->n_answers == s->cap_answers) {
        s->cap_answers = s->cap_answers ? s->cap_answers * 2 : 8;
        s->answers = xrealloc(s->answers, (size_t)s->cap_answers * sizeof *s->answers);
    }
    s->answers[s->n_answers++] = (struct pending_answer){ .token = set_timer(s, TIMER_COMMIT, commit_us), .to = to,
                                                          .msg = answer };
}

static void drop_answers(server *s)
{
    for (int i = 0; i < s->n_answers; i++)
        message_release(s->answers[i].msg);
    s->n_answers = 0;
    s->feeds_pending = 0;
}

static void on_push(server *s, int from, message *msg, int64_t req, int64_t now_us)
{
    int n;
    wire_change *changes;
    if (!wire_push_parse(s->profile->wire, msg, &s->scratch, &n, &changes))
        return;   /* malformed: no reply, as a server rejecting garbage would not help */
    if (s->profile->batch_atomic && reject_batch(s, from, req, now_us, n, changes))
        return;
    wire_result *results = arena_alloc(&s->scratch, (size_t)(n ? n : 1) * sizeof *results);
    int64_t *base_sent = arena_alloc(&s->scratch, (size_t)(n ? n : 1) * sizeof *base_sent);
    for (int i = 0; i < n; i++)
        base_sent[i] = changes[i].base_version;
    bool server_ids = s->profile->ids == IDS_SERVER;
    id_given *given = arena_alloc(&s->scratch, (size_t)(n ? n : 1) * sizeof *given);
    int n_given = 0;
    /* What the push may advance, to put back if its transaction fails. */
    int64_t seq_before = s->seq, last_id_before = s->last_id;
    hlc clock_before = s->clock;
    int64_t commit_us = s->delays ? commit_delay_of(s, n) : 0;
    if (s->delays)
        s->visible_at_us = visibility_now(s, now_us) + commit_us + s->profile->feed_lag_us;
    store_begin(s->store);
    engine_hold_begin(&s->hold);
    for (int i = 0; i < n; i++) {
        wire_change *c = &changes[i];
        const char *why = invalid(s, c);
        if (why) {
            results[i] = invalid_result(s, c, why);
            continue;
        }
        const char *named = c->rec.id;
        if (server_ids)
            map_given_ids(s, c, given, n_given);
        if (s->profile->idempotency) {
            const char *prior = store_applied_get(s->store, from, c->op_id, &s->scratch);
            if (prior) {
                /*
                 * A retry: replay the outcome, but with the record as it is now. The stored
                 * copy may be older than what the device has pulled since, and adopting it
                 * would leave the device behind a cursor that has already passed the newer one.
                 */
                cJSON *outcome = cJSON_Parse(prior);
                assert(outcome);
                const cJSON *status = cJSON_GetObjectItemCaseSensitive(outcome, "status");
                const cJSON *conflict = cJSON_GetObjectItemCaseSensitive(outcome, "conflict");
                const cJSON *assigned = cJSON_GetObjectItemCaseSensitive(outcome, "id");
                if (cJSON_IsString(assigned) && strcmp(assigned->valuestring, c->rec.id) != 0) {
                    /* The first time, the server named the record: the retry learns the same id. */
                    given[n_given++] = (id_given){ .type = c->rec.type, .temp_id = c->rec.id,
                                                   .real_id = arena_strdup(&s->scratch, assigned->valuestring) };
                    c->rec.id = given[n_given - 1].real_id;
                }
                record now;
                if (!store_record_get(s->store, c->rec.type, c->rec.id, &s->scratch, &now)) {
                    record_init(&now, &s->scratch, c->rec.type, c->rec.id);
                    now.tenant = tenant_of(s, from);
                }
                results[i] = result_of(c, arena_strdup(&s->scratch, cJSON_IsString(status) ? status->valuestring : "applied"),
                                       cJSON_IsTrue(conflict), &now);
                results[i].temp_id = strcmp(named, c->rec.id) != 0 ? named : NULL;
                cJSON_Delete(outcome);
                continue;
            }
        }
        rebase_within_batch(changes, base_sent, i, results);
        if (server_ids)
            assign_id(s, from, c, given, &n_given);
        results[i] = apply_change(s, from, c, now_us);
        results[i].temp_id = strcmp(named, c->rec.id) != 0 ? named : NULL;
        if (s->profile->idempotency) {
            /* Only the outcome (and the id the server gave): a replay answers with the record as it is then. */
            char text[128];
            snprintf(text, sizeof text, "{\"status\":\"%s\",\"conflict\":%s%s%s%s}", results[i].status,
                     results[i].conflict ? "true" : "false", results[i].temp_id ? ",\"id\":\"" : "",
                     results[i].temp_id ? c->rec.id : "", results[i].temp_id ? "\"" : "");
            store_applied_put(s->store, from, c->op_id, text);
        }
    }
    /* The clock is persisted with the changes it stamped, so it never runs backwards across a restart. */
    const char *keys[] = { "seq", "hlc_l", "hlc_c", "last_id" };
    int64_t numbers[] = { s->seq, s->clock.l_us, s->clock.c, s->last_id };
    store_meta_set_all(s->store, server_ids ? 4 : 3, keys, numbers);
    int failed = store_commit(s->store);
    engine_hold_end(&s->hold, failed == 0, s->cfg.index);
    if (failed) {
        s->seq = seq_before;
        s->last_id = last_id_before;
        s->clock = clock_before;
        s->cfg.host.send(s->cfg.host.ctx, NODE_SERVER, from, wire_gateway_error(req, WIRE_GATEWAY_STATUS_UNAVAILABLE));
        return;
    }

    answer_push(s, from, wire_push_result(s->profile->wire, req, s->clock, now_us, n, changes, results), commit_us,
                s->seq != seq_before);
}

static void on_pull(server *s, int from, message *msg, int64_t req, int64_t now_us)
{
    int64_t since;
    const char *type;
    int limit;
    if (!wire_pull_parse(s->profile->wire, msg, &s->scratch, &since, &type, &limit))
        return;
    record *records;
    /* Ask for one more than the page to learn whether another page follows. */
    int n;
    const char *tenant = tenant_of(s, from);
    int64_t seen_at = visibility_now(s, now_us);
    bool held = false;   /* the horizon may have held back visible records */
    if (s->delays) {
        /* cursor_horizon: nothing at or after the oldest write not yet visible, so no cursor passes it;
         * and a cursor that moves to the server's clock moves no further than just before it. */
        int64_t before_seq = INT64_MAX, before_us = INT64_MAX;
        held = s->profile->cursor_horizon && store_hidden_horizon(s->store, seen_at, &before_seq, &before_us);
        if (held && before_us <= now_us)
            now_us = before_us - 1;
        if (s->profile->cursor == CURSOR_SERVER_TIME)
            n = store_visible_since_time(s->store, tenant, type, since, s->profile->cursor_inclusive, seen_at, before_us,
                                         limit + 1, &s->pulled, &records);
        else
            n = store_visible_since(s->store, tenant, since, seen_at, before_seq, limit + 1, &s->pulled, &records);
    } else if (s->profile->pulls_log) {
        n = store_versions_since(s->store, tenant, since, s->profile->cursor == CURSOR_SERVER_TIME,
                                 s->profile->cursor_inclusive, limit + 1, &s->pulled, &records);
    } else if (s->profile->cursor != CURSOR_SEQ)
        n = store_changes_since_time(s->store, tenant_of(s, from), type, since, s->profile->cursor_inclusive,
                                     s->profile->cursor == CURSOR_WRITER_TIME, limit + 1, &s->pulled, &records);
    else
        n = store_changes_since(s->store, tenant_of(s, from), since, limit + 1, &s->pulled, &records);
    bool has_more = n > limit;
    if (has_more)
        n = limit;
    int64_t next = n == 0                                       ? since
                   : s->profile->cursor == CURSOR_SERVER_TIME ? records[n - 1].updated_us
                   : s->profile->cursor == CURSOR_WRITER_TIME ? records[n - 1].st.ts_us
                                                               : records[n - 1].seq;
    /* A write this device cannot see yet is newer than what it was served: not caught up. */
    if (!has_more && !held && !(s->delays && store_hidden_for_tenant(s->store, tenant, seen_at))) {
        /* Lets the world tell "caught up" from "idle": nothing newer exists for this device. */
        observation served = { .kind = OBS_SERVED_HEAD, .peer = from };
        observe(s, &served);
    }
    s->cfg.host.send(s->cfg.host.ctx, NODE_SERVER, from,
                     wire_pull_result_take(s->profile->wire, req, s->clock, now_us, n, records, &s->pulled, next,
                                           has_more));
}

static void server_boot(node *n, int64_t now_us)
{
    server *s = (server *)n;
    (void)now_us;
    s->booted = true;
    s->timers_set = 0;
    s->boots++;
    s->draws = 0;
    s->draw_seed = s->cfg.seed_per_boot
                       ? hash64_u64(hash64_str(hash64_u64(HASH64_INIT, s->cfg.seed), s->cfg.name), (uint64_t)s->boots)
                       : s->cfg.seed;
    s->seq = store_meta_get(s->store, "seq", 0);
    s->last_id = store_meta_get(s->store, "last_id", 0);
    s->clock.l_us = store_meta_get(s->store, "hlc_l", 0);
    s->clock.c = (uint32_t)store_meta_get(s->store, "hlc_c", 0);
}

static void server_crash(node *n)
{
    server *s = (server *)n;
    s->booted = false;
    drop_answers(s);
}

static bool server_user_op(node *n, const user_op *op, int64_t now_us, const char **reason)
{
    (void)n;
    (void)op;
    (void)now_us;
    *reason = "the server takes no user operations";
    return false;
}

static void server_deliver(node *n, int from, message *msg, int64_t now_us)
{
    server *s = (server *)n;
    int64_t req;
    if (!s->booted || from == NODE_SERVER || !wire_req(msg, &req))
        return;
    arena_reset(&s->scratch);
    arena_reset(&s->pulled);
    switch (wire_type(s->profile->wire, msg)) {
    case MSG_PUSH: on_push(s, from, msg, req, now_us); break;
    case MSG_PULL: on_pull(s, from, msg, req, now_us); break;
    default: break;
    }
}

static void server_timer(node *n, uint64_t token, int64_t now_us)
{
    server *s = (server *)n;
    (void)now_us;
    if (!s->booted)
        return;
    if (TIMER_KIND(token) == TIMER_FEED) {
        assert(s->feeds_pending > 0);
        s->feeds_pending--;
        return;
    }
    /* A commit: its answer goes out; the pushes before it committed first (their delays never exceed its own
     * by more than the difference in size), but look it up by token all the same. */
    for (int i = 0; i < s->n_answers; i++)
        if (s->answers[i].token == token) {
            message *answer = s->answers[i].msg;
            int to = s->answers[i].to;
            memmove(&s->answers[i], &s->answers[i + 1], (size_t)(s->n_answers - i - 1) * sizeof *s->answers);
            s->n_answers--;
            s->cfg.host.send(s->cfg.host.ctx, NODE_SERVER, to, answer);
            return;
        }
}

static const char *server_timer_name(const node *n, uint64_t token)
{
    (void)n;
    switch (TIMER_KIND(token)) {
    case TIMER_COMMIT: return "commit";
    case TIMER_FEED: return "feed";
    }
    return NULL;
}

static void server_control(node *n, node_control ctl, int64_t now_us)
{
    (void)n;
    (void)ctl;
    (void)now_us;
}

static bool server_idle(node *n)
{
    const server *s = (const server *)n;
    return s->n_answers == 0 && s->feeds_pending == 0;
}

static cJSON *server_snapshot(node *n)
{
    server *s = (server *)n;
    return engine_snapshot(s->store, &s->scratch);
}

static void server_destroy(node *n)
{
    server *s = (server *)n;
    if (!s)
        return;
    drop_answers(s);
    xfree(s->answers);
    store_close(s->store);
    engine_hold_release(&s->hold);
    arena_release(&s->scratch);
    arena_release(&s->pulled);
    xfree(s);
}

static bool server_storage_fault(node *n, const storage_fault *fault, int64_t now_us)
{
    (void)now_us;
    server *s = (server *)n;
    return engine_storage_fault(s->store, fault);
}

/*
 * A device changed accounts (LIFECYCLE_ACCOUNT, docs/lifecycle.md): from now on the isolation rule
 * (tenant_of) counts it as call->user's. The roster of users is its owner's -- the world's in process,
 * `syncsim node`'s through the protocol -- and the owner writes the new user into it; the server only
 * agrees, and reads it through cfg.tenants at its next request. Nothing else is a server's to do.
 */
static bool server_lifecycle(node *n, const lifecycle_call *call, int64_t now_us)
{
    (void)n;
    (void)now_us;
    assert(call->kind != LIFECYCLE_ACCOUNT || call->user);
    return call->kind == LIFECYCLE_ACCOUNT;
}

static const node_ops SERVER_OPS = {
    .boot = server_boot,
    .crash = server_crash,
    .user_op = server_user_op,
    .deliver = server_deliver,
    .timer = server_timer,
    .timer_name = server_timer_name,
    .control = server_control,
    .idle = server_idle,
    .snapshot = server_snapshot,
    .destroy = server_destroy,
    .storage_fault = server_storage_fault,
    .lifecycle = server_lifecycle,
};

node *server_new(const engine_config *cfg, store *st)
{
    server *s = xcalloc(1, sizeof *s);
    s->base.ops = &SERVER_OPS;
    s->cfg = *cfg;
    engine_hold_init(&s->hold, &s->cfg);
    s->profile = cfg->profile;
    s->store = st;
    s->delays = profile_server_delays(s->profile);
    if (s->delays || s->profile->pulls_log)
        store_versions_enable(st);
    arena_init(&s->scratch, 64 * 1024);
    arena_init(&s->pulled, 16 * 1024);
    return &s->base;
}
