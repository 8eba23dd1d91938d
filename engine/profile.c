/*
 * profile: defaults and lookups. See profile.h.
 */
#include "engine/profile.h"
#include "engine/strategy.h"
#include "engine/wire.h"

#include <string.h>

void profile_defaults(profile *p)
{
    memset(p, 0, sizeof *p);
    p->name = "default";
    p->sync_interval_us = 5 * INT64_C(60000000);
    p->sync_after_write_us = 2 * INT64_C(1000000);
    p->sync_on_reconnect = true;
    p->push_batch_max = 50;
    p->pull_page_max = 100;
    p->request_timeout_us = 10 * INT64_C(1000000);
    static const int64_t schedule_s[] = { 1, 2, 5, 10, 30, 60 };
    p->n_retry = (int)(sizeof schedule_s / sizeof schedule_s[0]);
    for (int i = 0; i < p->n_retry; i++)
        p->retry_us[i] = schedule_s[i] * INT64_C(1000000);
    p->retry_stop_when_exhausted = false;
    p->idempotency = true;
    p->wire = wire_dialect_find("syncsim");
    p->changes = CHANGES_OUTBOX;
    p->watermark = WATERMARK_DEVICE;
    p->cursor = CURSOR_SEQ;
    p->cursor_next = NEXT_LAST_RECORD;
    p->detect = DETECT_VERSION;
    p->validate_client = true;
    p->validate_server = true;
    p->resolve_delay_us = 10 * INT64_C(60000000);
    p->resolve_pick = PICK_LOCAL;
    p->fallback.type = "*";
    p->fallback.strategy = strategy_find("lww-hlc");
    p->fallback.grain = GRAIN_FIELD;
    p->fallback.on_delete = DELETE_BY_STRATEGY;
    p->fallback.counters = COUNTER_CRDT;
    p->fallback.events_order = EVENT_ORDER_OCCURRED;
    p->fallback.events_dedup = true;
}

bool profile_server_delays(const profile *p)
{
    return p->commit_delay_us > 0 || p->commit_delay_per_change_us > 0 || p->n_commit_delay_draws > 0 ||
           p->feed_lag_us > 0;
}

const char *profile_check(const profile *e, const char **key)
{
#define REFUSE(k, why)                                                                                              \
    do {                                                                                                            \
        *key = (k);                                                                                                 \
        return (why);                                                                                               \
    } while (0)
    if (e->n_pull_types && e->cursor == CURSOR_SEQ)
        REFUSE("sync.pull_types", "per-type pulls keep one timestamp per type: they need cursor: server-time or "
                                  "writer-time");
    if (e->cursor_horizon && e->commit_delay_us == 0 && e->commit_delay_per_change_us == 0 &&
        e->n_commit_delay_draws == 0)
        REFUSE("server.cursor_horizon", "cursor_horizon holds cursors behind writes whose transaction is still open; "
                                        "it needs a commit_delay longer than 0s");
    if (e->pulls_log && (e->cursor == CURSOR_WRITER_TIME || e->n_pull_types || profile_server_delays(e) ||
                         e->cursor_horizon))
        REFUSE("server.pulls", "server: { pulls: log } plays back the change log in order: it needs cursor: seq or "
                               "server-time, one cursor for all types, and no commit_delay, feed_lag or cursor_horizon");
    if (e->cursor == CURSOR_WRITER_TIME && (profile_server_delays(e) || e->cursor_horizon))
        REFUSE("sync.cursor", "cursor: writer-time reads the writers' own timestamps, which a server's open "
                              "transactions do not order: it does not go with server: commit_delay, feed_lag or "
                              "cursor_horizon");
    if (e->changes == CHANGES_WATERMARK && e->retry_drop_after)
        REFUSE("sync.retry.drop_after", "drop_after drops sync-queue entries; with changes: watermark there is no "
                                        "queue");
    if (e->changes == CHANGES_WATERMARK &&
        (e->pull_over_pending != PULL_OVER_KEEP || e->pull_over_deleted != PULL_OVER_KEEP))
        REFUSE("sync.pull_over_pending", "pull_over_pending decides what happens to queued changes; it needs "
                                         "changes: outbox (with changes: watermark there is no queue)");
    if (e->watermark_taken != TAKEN_ANSWER && (e->changes != CHANGES_WATERMARK || e->watermark != WATERMARK_DEVICE))
        REFUSE("sync.watermark_taken", "watermark_taken says when a device-clock watermark is read; it needs "
                                       "changes: watermark and watermark: device-clock");
    if (e->round == ROUND_STREAMS && e->watermark_taken == TAKEN_ROUND_END)
        REFUSE("sync.watermark_taken", "watermark_taken: round-end waits for a round's pulls; with round: streams the "
                                       "push stream never waits for the pull stream: use answer or send");
    if (e->changes == CHANGES_WATERMARK && e->ids == IDS_SERVER)
        REFUSE("sync.ids", "ids: server renames queued changes when the server answers; it needs changes: outbox");
#undef REFUSE
    *key = NULL;
    return NULL;
}

const entity_rules *profile_rules(const profile *p, const char *type)
{
    for (int i = 0; i < p->n_entities; i++)
        if (strcmp(p->entities[i].type, type) == 0)
            return &p->entities[i];
    return &p->fallback;
}

const char *grain_name(grain g)
{
    return g == GRAIN_RECORD ? "record" : "field";
}

bool grain_parse(const char *text, grain *out)
{
    if (strcmp(text, "record") == 0)
        *out = GRAIN_RECORD;
    else if (strcmp(text, "field") == 0)
        *out = GRAIN_FIELD;
    else
        return false;
    return true;
}

const char *delete_rule_name(delete_rule r)
{
    switch (r) {
    case DELETE_BY_STRATEGY: return "strategy";
    case DELETE_WINS: return "delete-wins";
    case DELETE_EDIT_WINS: return "edit-wins";
    case DELETE_NEWER_TIMESTAMP: return "newer-timestamp";
    }
    return "?";
}

bool delete_rule_parse(const char *text, delete_rule *out)
{
    if (strcmp(text, "strategy") == 0)
        *out = DELETE_BY_STRATEGY;
    else if (strcmp(text, "delete-wins") == 0)
        *out = DELETE_WINS;
    else if (strcmp(text, "edit-wins") == 0)
        *out = DELETE_EDIT_WINS;
    else if (strcmp(text, "newer-timestamp") == 0)
        *out = DELETE_NEWER_TIMESTAMP;
    else
        return false;
    return true;
}

const char *counter_mode_name(counter_mode m)
{
    switch (m) {
    case COUNTER_ABSOLUTE: return "absolute";
    case COUNTER_CRDT: return "crdt";
    case COUNTER_MAX: return "max";
    case COUNTER_OPS: return "ops";
    }
    return "?";
}

bool counter_mode_parse(const char *text, counter_mode *out)
{
    if (strcmp(text, "crdt") == 0)
        *out = COUNTER_CRDT;
    else if (strcmp(text, "absolute") == 0)
        *out = COUNTER_ABSOLUTE;
    else if (strcmp(text, "max") == 0)
        *out = COUNTER_MAX;
    else if (strcmp(text, "ops") == 0)
        *out = COUNTER_OPS;
    else
        return false;
    return true;
}

const char *event_order_name(event_order o)
{
    return o == EVENT_ORDER_SERVER ? "server" : o == EVENT_ORDER_STORED ? "stored" : "occurred";
}

bool event_order_parse(const char *text, event_order *out)
{
    if (strcmp(text, "occurred") == 0)
        *out = EVENT_ORDER_OCCURRED;
    else if (strcmp(text, "server") == 0)
        *out = EVENT_ORDER_SERVER;
    else if (strcmp(text, "stored") == 0)
        *out = EVENT_ORDER_STORED;
    else
        return false;
    return true;
}

static const char *const PICKS[] = { [PICK_LOCAL] = "local", [PICK_SERVER] = "server", [PICK_MERGE] = "merge",
                                     [PICK_NEWEST] = "newest", [PICK_RANDOM] = "random" };

const char *manual_pick_name(manual_pick p)
{
    return p <= PICK_RANDOM ? PICKS[p] : "?";
}

bool manual_pick_parse(const char *text, manual_pick *out)
{
    for (int i = 0; i <= PICK_RANDOM; i++)
        if (strcmp(text, PICKS[i]) == 0) {
            *out = (manual_pick)i;
            return true;
        }
    return false;
}

const char *change_detection_name(change_detection c)
{
    return c == CHANGES_WATERMARK ? "watermark" : "outbox";
}

const char *watermark_clock_name(watermark_clock w)
{
    return w == WATERMARK_SERVER ? "server-clock" : "device-clock";
}

const char *cursor_kind_name(cursor_kind k)
{
    return k == CURSOR_WRITER_TIME ? "writer-time" : k == CURSOR_SERVER_TIME ? "server-time" : "seq";
}

const char *cursor_next_name(cursor_next n)
{
    return n == NEXT_SERVER_NOW ? "server-now" : "last-record";
}

const char *conflict_detection_name(conflict_detection d)
{
    return d == DETECT_TIMESTAMP ? "timestamp" : "version";
}

const char *id_assign_name(id_assign a)
{
    return a == IDS_SERVER ? "server" : "client";
}

const char *auth_refresh_name(auth_refresh a)
{
    return a == AUTH_REFRESH_RELAUNCH ? "relaunch" : "refresh";
}

const char *const ROUND_ORDER_NAMES[3] = { "push-pull", "pull-push", "streams" };
const char *const PULL_OVER_PENDING_NAMES[4] = { "keep", "rebase", "replace", "discard" };
const char *const DURING_ROUND_NAMES[3] = { "coalesce", "queue", "drop" };
const char *const PUSH_SNAPSHOT_NAMES[2] = { "current", "round-start" };
const char *const WATERMARK_TAKEN_NAMES[3] = { "answer", "send", "round-end" };
const char *const CURSOR_SAVED_NAMES[2] = { "page", "round" };
const char *const QUEUE_BASE_NAMES[2] = { "rebased", "as-queued" };
const char *const PULL_APPLY_NAMES[2] = { "in-order", "by-kind" };
const char *const SERVER_PULLS_NAMES[2] = { "state", "log" };
const char *const SIGN_OUT_NAMES[2] = { "sync-first", "discard" };
const char *const ACCOUNT_SWITCH_NAMES[2] = { "wipe", "keep-data" };
