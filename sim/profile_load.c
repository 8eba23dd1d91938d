/*
 * profile_load: profile YAML to engine/profile.h. See profile_load.h for the
 * shape. Starts from profile_defaults and overrides what the file states.
 */
#include "sim/profile_load.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/xalloc.h"
#include "engine/reducer.h"
#include "engine/strategy.h"
#include "engine/wire.h"
#include "sim/dist.h"
#include "sim/pcg.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

bool load_vclass_list(yaml_doc *doc, struct fy_node *n, vclass_set *out, diag *d, const char *what)
{
    if (!yaml_want_sequence(doc, n, d, what))
        return false;
    const char *names[VC_COUNT];
    for (int i = 0; i < VC_COUNT; i++)
        names[i] = vclass_name((vclass)i);
    void *it = NULL;
    struct fy_node *item;
    *out = 0;
    while ((item = fy_node_sequence_iterate(n, &it))) {
        const char *name;
        if (!yaml_text(doc, item, &name, d, "a violation class"))
            return false;
        int c = vclass_parse(name);
        if (c < 0) {
            const char *hint = diag_suggest(name, names, VC_COUNT);
            if (hint)
                diag_error(d, yaml_pos(doc, item), "unknown violation class '%s'; did you mean '%s'?", name, hint);
            else
                diag_error(d, yaml_pos(doc, item), "unknown violation class '%s'", name);
            return false;
        }
        *out |= VCLASS_BIT(c);
    }
    return true;
}

/* A duration, or "never" (stored as never_value). */
static bool duration_or_never(yaml_doc *doc, struct fy_node *n, int64_t never_value, int64_t *out, diag *d,
                              const char *what)
{
    const char *text;
    if (yaml_is_scalar(n) && yaml_text(doc, n, &text, d, what) && strcmp(text, "never") == 0) {
        *out = never_value;
        return true;
    }
    return yaml_duration(doc, n, false, out, d, what);
}

static bool load_retry(yaml_doc *doc, struct fy_node *n, profile *p, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "retry settings"))
        return false;
    static const char *const KEYS[] = { "schedule", "then", "drop_after" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "retry settings"))
        return false;
    struct fy_node *v;
    if ((v = yaml_get(n, "schedule"))) {
        if (!yaml_want_sequence(doc, v, d, "a retry schedule (a list of delays)"))
            return false;
        int count = fy_node_sequence_item_count(v);
        if (count < 1 || count > PROFILE_RETRY_MAX) {
            diag_error(d, yaml_pos(doc, v), "a retry schedule needs 1 to %d delays, found %d", PROFILE_RETRY_MAX,
                       count);
            return false;
        }
        void *it = NULL;
        struct fy_node *item;
        p->n_retry = 0;
        while ((item = fy_node_sequence_iterate(v, &it)))
            if (!yaml_duration(doc, item, false, &p->retry_us[p->n_retry++], d, "a retry delay"))
                return false;
    }
    if ((v = yaml_get(n, "drop_after"))) {
        int64_t k;
        if (!yaml_int(doc, v, 1, 1000, &k, d, "drop_after (unanswered pushes before a change is dropped)"))
            return false;
        p->retry_drop_after = (int)k;
    }
    if ((v = yaml_get(n, "then"))) {
        const char *then;
        if (!yaml_text(doc, v, &then, d, "what happens after the schedule (repeat-last or stop)"))
            return false;
        if (strcmp(then, "repeat-last") == 0)
            p->retry_stop_when_exhausted = false;
        else if (strcmp(then, "stop") == 0)
            p->retry_stop_when_exhausted = true;
        else {
            diag_error(d, yaml_pos(doc, v),
                       "unknown retry 'then' '%s'; expected repeat-last (keep retrying at the last delay) or stop "
                       "(wait for a manual sync)",
                       then);
            return false;
        }
    }
    return true;
}

/*
 * flush: commit (every transaction durable when it commits), or
 * flush: { every: 5s, acknowledge: on-write | on-flush } (durable in batches; docs/faults.md).
 */
static bool load_flush(yaml_doc *doc, struct fy_node *n, profile *p, diag *d)
{
    const char *text;
    if (yaml_is_scalar(n)) {
        if (!yaml_text(doc, n, &text, d, "flush"))
            return false;
        if (strcmp(text, "commit") != 0) {
            diag_error(d, yaml_pos(doc, n),
                       "unknown flush '%s'; expected commit (every transaction durable when it commits) or "
                       "{ every: 5s, acknowledge: on-write | on-flush }",
                       text);
            return false;
        }
        p->flush_every_us = 0;
        p->flush_ack_on_flush = false;
        return true;
    }
    if (!yaml_want_mapping(doc, n, d, "flush settings (commit, or { every: 5s, acknowledge: on-flush })"))
        return false;
    static const char *const KEYS[] = { "every", "acknowledge" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "flush settings"))
        return false;
    struct fy_node *every = yaml_get(n, "every"), *ack = yaml_get(n, "acknowledge");
    if (!every) {
        diag_error(d, yaml_pos(doc, n), "flush settings need 'every' (how often the store is made durable, e.g. 5s)");
        return false;
    }
    if (!ack) {
        diag_error(d, yaml_pos(doc, n),
                   "flush settings need 'acknowledge' (on-write: the user sees a write saved at once; on-flush: "
                   "only when its batch is durable)");
        return false;
    }
    if (!yaml_duration(doc, every, false, &p->flush_every_us, d, "flush every"))
        return false;
    if (p->flush_every_us <= 0) {
        diag_error(d, yaml_pos(doc, every), "flush every must be longer than 0s (flush: commit flushes every commit)");
        return false;
    }
    static const char *const ACKS[] = { "on-write", "on-flush" };
    int choice;
    if (!yaml_one_of(doc, ack, ACKS, N(ACKS), &choice, d, "acknowledge (when the user sees a write saved)"))
        return false;
    p->flush_ack_on_flush = choice == 1;
    return true;
}

static bool load_sync(yaml_doc *doc, struct fy_node *n, arena *a, profile *p, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "sync settings"))
        return false;
    static const char *const KEYS[] = { "interval",   "after_write",     "on_reconnect",     "push_batch",
                                        "pull_page",  "request_timeout", "retry",            "idempotency",
                                        "changes",    "watermark",       "cursor",           "cursor_next",
                                        "cursor_inclusive", "pull_types", "conflict_detection", "batch",
                                        "validate",   "wire",            "ids",              "auth_refresh",
                                        "flush",      "queue_base",      "round",            "pull_over_pending", "pull_apply",
                                        "during_round", "push_snapshot", "watermark_taken", "cursor_saved" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "sync settings"))
        return false;
    int choice;
    struct fy_node *x;
    static const char *const AUTH[] = { "refresh", "relaunch" };
    if ((x = yaml_get(n, "auth_refresh"))) {
        if (!yaml_one_of(doc, x, AUTH, N(AUTH), &choice, d, "auth_refresh (what a device does when its token expires)"))
            return false;
        p->auth_refresh = (auth_refresh)choice;
    }
    if ((x = yaml_get(n, "queue_base"))) {
        if (!yaml_one_of(doc, x, QUEUE_BASE_NAMES, N(QUEUE_BASE_NAMES), &choice, d,
                    "queue_base (the version a queued change declares it was made on)"))
            return false;
        p->queue_base_as_queued = choice == 1;
    }
    static const char *const CHANGES[] = { "outbox", "watermark" };
    if ((x = yaml_get(n, "changes"))) {
        if (!yaml_one_of(doc, x, CHANGES, N(CHANGES), &choice, d, "change detection"))
            return false;
        p->changes = (change_detection)choice;
    }
    static const char *const WATERMARKS[] = { "device-clock", "server-clock" };
    if ((x = yaml_get(n, "watermark"))) {
        if (!yaml_one_of(doc, x, WATERMARKS, N(WATERMARKS), &choice, d, "watermark clock"))
            return false;
        p->watermark = (watermark_clock)choice;
    }
    static const char *const CURSORS[] = { "seq", "server-time", "writer-time" };
    if ((x = yaml_get(n, "cursor"))) {
        if (!yaml_one_of(doc, x, CURSORS, N(CURSORS), &choice, d, "pull cursor"))
            return false;
        p->cursor = (cursor_kind)choice;
    }
    static const char *const NEXTS[] = { "last-record", "server-now" };
    if ((x = yaml_get(n, "cursor_next"))) {
        if (!yaml_one_of(doc, x, NEXTS, N(NEXTS), &choice, d, "cursor_next"))
            return false;
        p->cursor_next = (cursor_next)choice;
    }
    if ((x = yaml_get(n, "cursor_inclusive")) && !yaml_bool(doc, x, &p->cursor_inclusive, d, "cursor_inclusive"))
        return false;
    if ((x = yaml_get(n, "pull_types"))) {
        if (!yaml_want_sequence(doc, x, d, "pull_types (the entity types, each pulled with its own cursor)"))
            return false;
        void *it = NULL;
        struct fy_node *item;
        p->n_pull_types = 0;
        while ((item = fy_node_sequence_iterate(x, &it))) {
            if (p->n_pull_types == PROFILE_ENTITIES_MAX) {
                diag_error(d, yaml_pos(doc, item), "at most %d pull types", PROFILE_ENTITIES_MAX);
                return false;
            }
            if (!yaml_string(doc, item, a, &p->pull_types[p->n_pull_types++], d, "an entity type"))
                return false;
        }
        if (p->n_pull_types == 0) {
            diag_error(d, yaml_pos(doc, x), "pull_types needs at least one entity type");
            return false;
        }
    }
    if ((x = yaml_get(n, "wire"))) {
        const char *names[16];
        int count = wire_dialect_count();
        for (int k = 0; k < count && k < N(names); k++)
            names[k] = wire_dialect_name(wire_dialect_at(k));
        if (!yaml_one_of(doc, x, names, count < N(names) ? count : N(names), &choice, d, "wire dialect"))
            return false;
        p->wire = wire_dialect_at(choice);
    }
    if ((x = yaml_get(n, "round"))) {
        if (!yaml_one_of(doc, x, ROUND_ORDER_NAMES, N(ROUND_ORDER_NAMES), &choice, d, "round order"))
            return false;
        p->round = (round_order)choice;
    }
    if ((x = yaml_get(n, "pull_over_pending")) && !yaml_is_mapping(x)) {
        if (!yaml_one_of(doc, x, PULL_OVER_PENDING_NAMES, N(PULL_OVER_PENDING_NAMES), &choice, d,
                    "pull_over_pending (what a pulled record does to a record with queued changes)"))
            return false;
        p->pull_over_pending = p->pull_over_deleted = (pull_over_pending)choice;
    } else if (x) {
        /* { edited: rebase, deleted: discard }: one rule for a record edited here, one for a record deleted
         * here; a case left out keeps the default (keep). */
        static const char *const CASES[] = { "edited", "deleted" };
        if (!yaml_check_keys(doc, x, CASES, N(CASES), d, "pull_over_pending cases"))
            return false;
        struct fy_node *y;
        if ((y = yaml_get(x, "edited"))) {
            if (!yaml_one_of(doc, y, PULL_OVER_PENDING_NAMES, N(PULL_OVER_PENDING_NAMES), &choice, d,
                        "pull_over_pending for a record edited here"))
                return false;
            p->pull_over_pending = (pull_over_pending)choice;
        }
        if ((y = yaml_get(x, "deleted"))) {
            if (!yaml_one_of(doc, y, PULL_OVER_PENDING_NAMES, N(PULL_OVER_PENDING_NAMES), &choice, d,
                        "pull_over_pending for a record deleted here"))
                return false;
            p->pull_over_deleted = (pull_over_pending)choice;
        }
    }
    if ((x = yaml_get(n, "pull_apply"))) {
        if (!yaml_one_of(doc, x, PULL_APPLY_NAMES, N(PULL_APPLY_NAMES), &choice, d, "pull_apply (how a pulled page is applied)"))
            return false;
        p->pull_apply_by_kind = choice == 1;
    }
    if ((x = yaml_get(n, "during_round"))) {
        if (!yaml_one_of(doc, x, DURING_ROUND_NAMES, N(DURING_ROUND_NAMES), &choice, d,
                    "during_round (what a sync asked for while a round runs does)"))
            return false;
        p->during_round = (during_round)choice;
    }
    if ((x = yaml_get(n, "push_snapshot"))) {
        if (!yaml_one_of(doc, x, PUSH_SNAPSHOT_NAMES, N(PUSH_SNAPSHOT_NAMES), &choice, d,
                    "push_snapshot (which queued changes a round pushes)"))
            return false;
        p->push_snapshot = (push_snapshot)choice;
    }
    if ((x = yaml_get(n, "watermark_taken"))) {
        if (!yaml_one_of(doc, x, WATERMARK_TAKEN_NAMES, N(WATERMARK_TAKEN_NAMES), &choice, d,
                    "watermark_taken (when a device-clock watermark is read)"))
            return false;
        p->watermark_taken = (watermark_taken)choice;
    }
    if ((x = yaml_get(n, "cursor_saved"))) {
        if (!yaml_one_of(doc, x, CURSOR_SAVED_NAMES, N(CURSOR_SAVED_NAMES), &choice, d,
                    "cursor_saved (when the pull cursor is written)"))
            return false;
        p->cursor_saved = (cursor_saved)choice;
    }
    static const char *const IDS[] = { "client", "server" };
    if ((x = yaml_get(n, "ids"))) {
        if (!yaml_one_of(doc, x, IDS, N(IDS), &choice, d, "id assignment"))
            return false;
        p->ids = (id_assign)choice;
    }
    static const char *const DETECTS[] = { "version", "timestamp" };
    if ((x = yaml_get(n, "conflict_detection"))) {
        if (!yaml_one_of(doc, x, DETECTS, N(DETECTS), &choice, d, "conflict detection"))
            return false;
        p->detect = (conflict_detection)choice;
    }
    static const char *const BATCHES[] = { "per-change", "atomic" };
    if ((x = yaml_get(n, "batch"))) {
        if (!yaml_one_of(doc, x, BATCHES, N(BATCHES), &choice, d, "batch mode"))
            return false;
        p->batch_atomic = choice == 1;
    }
    if ((x = yaml_get(n, "validate"))) {
        static const char *const VKEYS[] = { "client", "server" };
        if (!yaml_want_mapping(doc, x, d, "validation settings ({ client: true, server: true })") ||
            !yaml_check_keys(doc, x, VKEYS, N(VKEYS), d, "validation settings"))
            return false;
        struct fy_node *y;
        if ((y = yaml_get(x, "client")) && !yaml_bool(doc, y, &p->validate_client, d, "validate client"))
            return false;
        if ((y = yaml_get(x, "server")) && !yaml_bool(doc, y, &p->validate_server, d, "validate server"))
            return false;
    }
    struct fy_node *v;
    int64_t i;
    if ((v = yaml_get(n, "interval")) && !duration_or_never(doc, v, 0, &p->sync_interval_us, d, "sync interval"))
        return false;
    if ((v = yaml_get(n, "after_write")) &&
        !duration_or_never(doc, v, -1, &p->sync_after_write_us, d, "sync after_write"))
        return false;
    if ((v = yaml_get(n, "on_reconnect")) && !yaml_bool(doc, v, &p->sync_on_reconnect, d, "on_reconnect"))
        return false;
    if ((v = yaml_get(n, "push_batch"))) {
        if (!yaml_int(doc, v, 1, 10000, &i, d, "push_batch"))
            return false;
        p->push_batch_max = (int)i;
    }
    if ((v = yaml_get(n, "pull_page"))) {
        if (!yaml_int(doc, v, 1, 10000, &i, d, "pull_page"))
            return false;
        p->pull_page_max = (int)i;
    }
    if ((v = yaml_get(n, "request_timeout"))) {
        if (!yaml_duration(doc, v, false, &p->request_timeout_us, d, "request_timeout"))
            return false;
        if (p->request_timeout_us <= 0) {
            diag_error(d, yaml_pos(doc, v), "request_timeout must be longer than 0s");
            return false;
        }
    }
    if ((v = yaml_get(n, "retry")) && !load_retry(doc, v, p, d))
        return false;
    if ((v = yaml_get(n, "idempotency")) && !yaml_bool(doc, v, &p->idempotency, d, "idempotency"))
        return false;
    if ((v = yaml_get(n, "flush")) && !load_flush(doc, v, p, d))
        return false;
    return true;
}

/*
 * server: { commit_delay: 200ms | { base: 50ms, per_change: 100ms } | { dist: lognormal, median: 80ms, ... },
 *           feed_lag: 2s, cursor_horizon: true }:
 * when the server's writes become visible to pulls (docs/server-visibility.md).
 */

#define COMMIT_DELAY_MAX_US (INT64_C(3600) * 1000000)   /* 1h: a transaction open longer is a hung server */
#define COMMIT_DELAY_DRAWS 1024

/*
 * commit_delay: { dist: ..., value | min, max | mean | median, sigma }: the parameters a network latency
 * takes. The engine owns no randomness, so the loader draws a table from the distribution here, from a
 * stream of its own with a fixed seed (the same table in every run and every process); the server picks
 * one entry per push by a hash of its boot seed (engine/server.c), so the pick is the run seed's.
 */
static bool load_commit_delay_dist(yaml_doc *doc, struct fy_node *n, arena *a, scenario_profile *out, diag *d)
{
    static const char *const KEYS[] = { "dist", "value", "min", "max", "mean", "median", "sigma" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "the commit_delay distribution"))
        return false;
    static const char *const KINDS[] = { "constant", "uniform", "exponential", "lognormal" };
    int k;
    if (!yaml_one_of(doc, yaml_get(n, "dist"), KINDS, N(KINDS), &k, d, "commit_delay distribution"))
        return false;
    /* What each takes: constant value; uniform max (and min); exponential mean, lognormal median (and sigma),
     * both with optional bounds. */
    static const char *const NEEDS[] = { "value", "max", "mean", "median" };
    if (!yaml_get(n, NEEDS[k])) {
        diag_error(d, yaml_pos(doc, n), "a %s commit_delay needs '%s'", KINDS[k], NEEDS[k]);
        return false;
    }
    static const char *const TAKES[][4] = {
        { "value" }, { "min", "max" }, { "mean", "min", "max" }, { "median", "sigma", "min", "max" },
    };
    yaml_iter it = { 0 };
    struct fy_node *key, *val;
    while (yaml_next_pair(n, &it, &key, &val)) {
        const char *name = fy_node_get_scalar0(key);
        bool takes = name && strcmp(name, "dist") == 0;
        for (int i = 0; i < 4 && !takes; i++)
            takes = TAKES[k][i] && name && strcmp(name, TAKES[k][i]) == 0;
        if (!takes) {
            diag_error(d, yaml_pos(doc, key), "'%s' does not apply to a %s commit_delay", name ? name : "?", KINDS[k]);
            return false;
        }
    }
    dist dd = { .kind = (dist_kind)k, .min_us = 0, .max_us = COMMIT_DELAY_MAX_US, .sigma = 0.5 };
    static const char *const DURATIONS[] = { "value", "min", "max", "mean", "median" };
    int64_t *targets[] = { &dd.value_us, &dd.min_us, &dd.max_us, &dd.mean_us, &dd.median_us };
    struct fy_node *too_long = NULL;
    for (int i = 0; i < N(DURATIONS); i++) {
        struct fy_node *v = yaml_get(n, DURATIONS[i]);
        char what[48];
        snprintf(what, sizeof what, "commit_delay %s", DURATIONS[i]);
        if (v && !yaml_duration(doc, v, false, targets[i], d, what))
            return false;
        if (v && *targets[i] > COMMIT_DELAY_MAX_US)
            too_long = v;
    }
    struct fy_node *sigma = yaml_get(n, "sigma");
    if (sigma && !yaml_number(doc, sigma, 0.0, 5.0, &dd.sigma, d, "commit_delay sigma"))
        return false;
    if (too_long) {
        diag_error(d, yaml_pos(doc, too_long), "commit_delay must be at most 1h");
        return false;
    }
    if (dd.min_us > dd.max_us) {
        diag_error(d, yaml_pos(doc, yaml_get(n, "min")), "commit_delay min must not exceed max");
        return false;
    }
    if (dd.kind == DIST_CONSTANT) {
        out->engine.commit_delay_us = dd.value_us;
        return true;
    }
    int64_t *draws = arena_alloc(a, COMMIT_DELAY_DRAWS * sizeof *draws);
    pcg32 rng = pcg_stream(0, "profile server commit_delay");
    for (int i = 0; i < COMMIT_DELAY_DRAWS; i++)
        draws[i] = dist_sample_us(&dd, &rng);
    out->engine.commit_delay_draws = draws;
    out->engine.n_commit_delay_draws = COMMIT_DELAY_DRAWS;
    out->commit_delay_dist = dd;
    return true;
}

static bool load_commit_delay(yaml_doc *doc, struct fy_node *n, arena *a, scenario_profile *out, diag *d)
{
    profile *p = &out->engine;
    if (!yaml_is_mapping(n))
        return yaml_duration(doc, n, false, &p->commit_delay_us, d, "commit_delay");
    if (yaml_get(n, "dist"))
        return load_commit_delay_dist(doc, n, a, out, d);
    static const char *const KEYS[] = { "base", "per_change" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "commit_delay"))
        return false;
    struct fy_node *v;
    if ((v = yaml_get(n, "base")) && !yaml_duration(doc, v, false, &p->commit_delay_us, d, "commit_delay base"))
        return false;
    if ((v = yaml_get(n, "per_change")) &&
        !yaml_duration(doc, v, false, &p->commit_delay_per_change_us, d, "commit_delay per_change"))
        return false;
    return true;
}

static bool load_server(yaml_doc *doc, struct fy_node *n, arena *a, scenario_profile *out, diag *d)
{
    profile *p = &out->engine;
    if (!yaml_want_mapping(doc, n, d, "server settings ({ commit_delay: 200ms, feed_lag: 2s, cursor_horizon: true })"))
        return false;
    static const char *const KEYS[] = { "commit_delay", "feed_lag", "cursor_horizon", "pulls" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "server settings"))
        return false;
    struct fy_node *v;
    int choice;
    if ((v = yaml_get(n, "pulls"))) {
        if (!yaml_one_of(doc, v, SERVER_PULLS_NAMES, N(SERVER_PULLS_NAMES), &choice, d,
                    "pulls (what a pull returns: each changed record as it is now, or every version logged)"))
            return false;
        p->pulls_log = choice == 1;
    }
    if ((v = yaml_get(n, "commit_delay")) && !load_commit_delay(doc, v, a, out, d))
        return false;
    if ((v = yaml_get(n, "feed_lag")) && !yaml_duration(doc, v, false, &p->feed_lag_us, d, "feed_lag"))
        return false;
    if ((v = yaml_get(n, "cursor_horizon")) && !yaml_bool(doc, v, &p->cursor_horizon, d, "cursor_horizon"))
        return false;
    return true;
}

static bool load_manual(yaml_doc *doc, struct fy_node *n, profile *p, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "manual resolution settings ({ delay: 30m, pick: local })"))
        return false;
    static const char *const KEYS[] = { "delay", "pick" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "manual resolution settings"))
        return false;
    struct fy_node *v;
    if ((v = yaml_get(n, "delay")) && !duration_or_never(doc, v, -1, &p->resolve_delay_us, d, "manual delay"))
        return false;
    static const char *const PICK_NAMES[] = { "local", "server", "merge", "newest", "random" };
    int choice;
    if ((v = yaml_get(n, "pick"))) {
        if (!yaml_one_of(doc, v, PICK_NAMES, N(PICK_NAMES), &choice, d, "pick"))
            return false;
        p->resolve_pick = (manual_pick)choice;
    }
    return true;
}

static bool load_strategy_name(yaml_doc *doc, struct fy_node *n, const strategy_def **out, diag *d)
{
    const char *name;
    if (!yaml_text(doc, n, &name, d, "a conflict strategy"))
        return false;
    *out = strategy_find(name);
    if (*out)
        return true;
    const char *names[64];
    int count = strategy_count() < 64 ? strategy_count() : 64;
    buf list;
    buf_init(&list);
    for (int i = 0; i < count; i++) {
        names[i] = strategy_at(i)->name;
        buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
    }
    const char *hint = diag_suggest(name, names, count);
    if (hint)
        diag_error(d, yaml_pos(doc, n), "unknown strategy '%s'; did you mean '%s'?", name, hint);
    else
        diag_error(d, yaml_pos(doc, n), "unknown strategy '%s'; the strategies are: %s", name, list.data);
    buf_free(&list);
    return false;
}

static bool load_done(yaml_doc *doc, struct fy_node *n, arena *a, entity_rules *rules, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "the done rule ({ field: status, value: done, with: [completedAt] })"))
        return false;
    static const char *const KEYS[] = { "field", "value", "with" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "the done rule"))
        return false;
    struct fy_node *field = yaml_get(n, "field"), *val = yaml_get(n, "value"), *with = yaml_get(n, "with");
    if (!field || !val) {
        diag_error(d, yaml_pos(doc, n), "the done rule needs 'field' and 'value'");
        return false;
    }
    if (!yaml_string(doc, field, a, &rules->done_field, d, "the done field") ||
        !yaml_value(doc, val, a, &rules->done_value, d, "the done value"))
        return false;
    rules->n_done_with = 0;
    if (with) {
        if (!yaml_want_sequence(doc, with, d, "the fields that travel with done"))
            return false;
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(with, &it))) {
            if (rules->n_done_with == DONE_WITH_MAX) {
                diag_error(d, yaml_pos(doc, item), "at most %d fields travel with done", DONE_WITH_MAX);
                return false;
            }
            if (!yaml_string(doc, item, a, &rules->done_with[rules->n_done_with++], d, "a field name"))
                return false;
        }
    }
    return true;
}

/* schema: { title: string, status: { type: string, enum: [open, done], required: true }, points: int } */
static bool load_schema(yaml_doc *doc, struct fy_node *n, arena *a, entity_rules *rules, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "a schema (a mapping from field name to type)"))
        return false;
    static const char *const TYPES[] = { "string", "int", "number", "bool" };
    static const value_kind KINDS[] = { VAL_STRING, VAL_INT, VAL_REAL, VAL_BOOL };
    rules->n_schema = 0;
    yaml_iter it = { 0 };
    struct fy_node *k, *v;
    while (yaml_next_pair(n, &it, &k, &v)) {
        if (rules->n_schema == SCHEMA_FIELDS_MAX) {
            diag_error(d, yaml_pos(doc, k), "a schema names at most %d fields", SCHEMA_FIELDS_MAX);
            return false;
        }
        schema_field *f = &rules->schema[rules->n_schema++];
        memset(f, 0, sizeof *f);
        if (!yaml_string(doc, k, a, &f->name, d, "a field name"))
            return false;
        struct fy_node *type = v;
        if (yaml_is_mapping(v)) {
            static const char *const KEYS[] = { "type", "enum", "required" };
            if (!yaml_check_keys(doc, v, KEYS, N(KEYS), d, "a schema field"))
                return false;
            type = yaml_get(v, "type");
            if (!type) {
                diag_error(d, yaml_pos(doc, v), "a schema field needs 'type' (string, int, number or bool)");
                return false;
            }
            struct fy_node *x;
            if ((x = yaml_get(v, "required")) && !yaml_bool(doc, x, &f->required, d, "required"))
                return false;
            if ((x = yaml_get(v, "enum"))) {
                if (!yaml_want_sequence(doc, x, d, "the allowed values"))
                    return false;
                void *sit = NULL;
                struct fy_node *item;
                while ((item = fy_node_sequence_iterate(x, &sit))) {
                    if (f->n_enum == SCHEMA_ENUM_MAX) {
                        diag_error(d, yaml_pos(doc, item), "at most %d allowed values", SCHEMA_ENUM_MAX);
                        return false;
                    }
                    if (!yaml_string(doc, item, a, &f->enum_values[f->n_enum++], d, "an allowed value"))
                        return false;
                }
            }
        }
        int choice;
        if (!yaml_one_of(doc, type, TYPES, N(TYPES), &choice, d, "field type"))
            return false;
        f->kind = KINDS[choice];
        if (f->n_enum && f->kind != VAL_STRING) {
            diag_error(d, yaml_pos(doc, v), "only string fields take an enum");
            return false;
        }
    }
    return true;
}

static bool load_refs(yaml_doc *doc, struct fy_node *n, arena *a, entity_rules *rules, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "references (a mapping from field to the entity type it names)"))
        return false;
    rules->n_refs = 0;
    yaml_iter it = { 0 };
    struct fy_node *k, *v;
    while (yaml_next_pair(n, &it, &k, &v)) {
        if (rules->n_refs == REFS_MAX) {
            diag_error(d, yaml_pos(doc, k), "at most %d references per type", REFS_MAX);
            return false;
        }
        ref_field *r = &rules->refs[rules->n_refs++];
        if (!yaml_string(doc, k, a, &r->field, d, "a field name") ||
            !yaml_string(doc, v, a, &r->type, d, "an entity type"))
            return false;
    }
    return true;
}

/* Fill rules from a mapping with strategy / grain / on_delete; rules holds the inherited values. */
static bool load_rules(yaml_doc *doc, struct fy_node *n, arena *a, entity_rules *rules, diag *d)
{
    struct fy_node *v;
    if ((v = yaml_get(n, "done")) && !load_done(doc, v, a, rules, d))
        return false;
    if ((v = yaml_get(n, "schema")) && !load_schema(doc, v, a, rules, d))
        return false;
    if ((v = yaml_get(n, "refs")) && !load_refs(doc, v, a, rules, d))
        return false;
    if ((v = yaml_get(n, "rank"))) {
        int64_t rank;
        if (!yaml_int(doc, v, 0, 100, &rank, d, "a dependency rank (0 pushes first)"))
            return false;
        rules->rank = (int)rank;
    }
    if ((v = yaml_get(n, "reducer"))) {
        if (!yaml_string(doc, v, a, &rules->reducer, d, "a reducer"))
            return false;
        if (!reducer_known(rules->reducer)) {
            diag_error(d, yaml_pos(doc, v), "unknown reducer '%s'; the reducers are: %s", rules->reducer,
                       reducer_names());
            return false;
        }
    }
    if ((v = yaml_get(n, "strategy")) && !load_strategy_name(doc, v, &rules->strategy, d))
        return false;
    if ((v = yaml_get(n, "grain"))) {
        const char *text;
        if (!yaml_text(doc, v, &text, d, "a grain (record or field)"))
            return false;
        if (!grain_parse(text, &rules->grain)) {
            diag_error(d, yaml_pos(doc, v), "unknown grain '%s'; expected record or field", text);
            return false;
        }
    }
    if ((v = yaml_get(n, "on_delete"))) {
        const char *text;
        if (!yaml_text(doc, v, &text, d, "a delete rule"))
            return false;
        if (!delete_rule_parse(text, &rules->on_delete)) {
            diag_error(d, yaml_pos(doc, v),
                       "unknown on_delete '%s'; expected strategy, delete-wins, edit-wins or newer-timestamp", text);
            return false;
        }
    }
    if ((v = yaml_get(n, "counters"))) {
        const char *text;
        if (!yaml_text(doc, v, &text, d, "a counter mode"))
            return false;
        if (!counter_mode_parse(text, &rules->counters)) {
            diag_error(d, yaml_pos(doc, v),
                       "unknown counters '%s'; expected absolute (write the new total), crdt (merge "
                       "per-device contributions), max (keep the larger total) or ops (the server adds "
                       "each delta)",
                       text);
            return false;
        }
    }
    if ((v = yaml_get(n, "events"))) {
        if (!yaml_want_mapping(doc, v, d, "event log rules"))
            return false;
        static const char *const EVENT_KEYS[] = { "order", "dedup" };
        if (!yaml_check_keys(doc, v, EVENT_KEYS, N(EVENT_KEYS), d, "event log rules"))
            return false;
        struct fy_node *x;
        if ((x = yaml_get(v, "order"))) {
            const char *text;
            if (!yaml_text(doc, x, &text, d, "an event order"))
                return false;
            if (!event_order_parse(text, &rules->events_order)) {
                diag_error(d, yaml_pos(doc, x),
                           "unknown event order '%s'; expected occurred (occurredAt, then id), server (server "
                           "receive time first) or stored (the server's commit order)",
                           text);
                return false;
            }
        }
        if ((x = yaml_get(v, "dedup")) && !yaml_bool(doc, x, &rules->events_dedup, d, "events dedup"))
            return false;
    }
    return true;
}

/* Rules that only make sense together. */
static bool check_rules(yaml_doc *doc, struct fy_node *n, const entity_rules *rules, diag *d)
{
    if (strcmp(rules->strategy->name, "done-wins") == 0 && !rules->done_field) {
        diag_error(d, yaml_pos(doc, n),
                   "strategy done-wins needs a done rule: done: { field: status, value: done }");
        return false;
    }
    return true;
}

static bool load_conflicts(yaml_doc *doc, struct fy_node *n, arena *a, profile *p, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "conflict rules"))
        return false;
    static const char *const KEYS[] = { "strategy", "grain", "on_delete", "counters", "events", "done",
                                        "schema",   "refs",  "rank",      "reducer",  "types",  "clocks" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "conflict rules"))
        return false;
    struct fy_node *clocks = yaml_get(n, "clocks");
    if (clocks) {
        const char *text = NULL;
        if (!yaml_text(doc, clocks, &text, d, "what orders concurrent writes (device or none)"))
            return false;
        if (strcmp(text, "none") != 0 && strcmp(text, "device") != 0) {
            diag_error(d, yaml_pos(doc, clocks), "unknown clocks '%s'; expected device (a clock orders concurrent "
                       "writes) or none (no clock does)", text);
            return false;
        }
        p->clocks_none = strcmp(text, "none") == 0;
    }
    if (!load_rules(doc, n, a, &p->fallback, d) || !check_rules(doc, n, &p->fallback, d))
        return false;
    struct fy_node *types = yaml_get(n, "types");
    if (!types)
        return true;
    if (!yaml_want_mapping(doc, types, d, "per-type conflict rules (a mapping from entity type to rules)"))
        return false;
    yaml_iter it = { 0 };
    struct fy_node *k, *v;
    while (yaml_next_pair(types, &it, &k, &v)) {
        if (p->n_entities >= PROFILE_ENTITIES_MAX) {
            diag_error(d, yaml_pos(doc, k), "at most %d entity types are supported", PROFILE_ENTITIES_MAX);
            return false;
        }
        entity_rules *rules = &p->entities[p->n_entities];
        *rules = p->fallback;
        if (!yaml_string(doc, k, a, &rules->type, d, "an entity type"))
            return false;
        char context[96];
        snprintf(context, sizeof context, "conflict rules for '%s'", rules->type);
        if (!yaml_want_mapping(doc, v, d, context))
            return false;
        static const char *const TYPE_KEYS[] = { "strategy", "grain", "on_delete", "counters", "events",
                                                 "done",     "schema", "refs",    "rank",     "reducer" };
        /* A type's own schema, refs and reducer are its own, not the fallback's. */
        rules->n_schema = 0;
        rules->n_refs = 0;
        if (!yaml_check_keys(doc, v, TYPE_KEYS, N(TYPE_KEYS), d, context) || !load_rules(doc, v, a, rules, d) ||
            !check_rules(doc, v, rules, d))
            return false;
        p->n_entities++;
    }
    return true;
}

/* --- node: an external implementation ------------------------------------------ */

const char **command_split(const char *text, arena *a, const char **why)
{
    size_t len = strlen(text);
    /* At most one word per two characters, plus the terminator. */
    const char **words = arena_alloc(a, (len / 2 + 2) * sizeof *words);
    char *word = arena_alloc(a, len + 1);
    int n = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        char *w = word;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            if (*p == '\'' || *p == '"') {
                char q = *p++;
                while (*p && *p != q) {
                    if (q == '"' && *p == '\\' && p[1])
                        p++;
                    *w++ = *p++;
                }
                if (*p != q) {
                    *why = q == '"' ? "a double quote is not closed" : "a single quote is not closed";
                    return NULL;
                }
                p++;
            } else if (*p == '\\' && p[1]) {
                p++;
                *w++ = *p++;
            } else {
                *w++ = *p++;
            }
        }
        *w++ = '\0';
        words[n++] = word;
        word = w;
    }
    if (n == 0) {
        *why = "the command is empty";
        return NULL;
    }
    words[n] = NULL;
    return words;
}

bool scenario_use_node(scenario *sc, const char *command, int64_t timeout_us, diag *d)
{
    const char *why = NULL;
    const char *const *argv = command_split(command, &sc->arena, &why);
    if (!argv) {
        diag_error(d, (src_pos){ .file = "--node" }, "%s: '%s'", why, command);
        return false;
    }
    sc->profile.node = (node_command){ .argv = argv, .timeout_us = timeout_us };
    return true;
}

/* A command: a list of words, or one string split as a shell splits plain words and quotes. "{dir}" in a
 * word stands for the directory of the file the profile is in, so a profile can name a program beside it. */
static bool load_command(yaml_doc *doc, struct fy_node *n, const char *path, arena *a, const char *const **out,
                         diag *d, const char *what)
{
    const char **words;
    int count = 0;
    if (yaml_is_sequence(n)) {
        count = fy_node_sequence_item_count(n);
        if (count < 1) {
            diag_error(d, yaml_pos(doc, n), "%s is an empty list: it needs a program to run", what);
            return false;
        }
        words = arena_alloc(a, (size_t)(count + 1) * sizeof *words);
        void *it = NULL;
        struct fy_node *item;
        int i = 0;
        while ((item = fy_node_sequence_iterate(n, &it)))
            if (!yaml_string(doc, item, a, &words[i++], d, "a word of the command"))
                return false;
        words[count] = NULL;
    } else {
        const char *text, *why = NULL;
        if (!yaml_text(doc, n, &text, d, "a command (a list of words, or a string)"))
            return false;
        words = command_split(text, a, &why);
        if (!words) {
            diag_error(d, yaml_pos(doc, n), "%s: %s", what, why);
            return false;
        }
        while (words[count])
            count++;
    }
    const char *dir = path_dir(a, path);
    for (int i = 0; i < count; i++) {
        const char *at = strstr(words[i], "{dir}");
        if (at)
            words[i] = arena_printf(a, "%.*s%s%s", (int)(at - words[i]), words[i], dir, at + 5);
    }
    *out = words;
    return true;
}

static bool load_node(yaml_doc *doc, struct fy_node *n, const char *path, arena *a, node_command *out, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "an external implementation (node:)"))
        return false;
    static const char *const KEYS[] = { "command", "server", "timeout" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "node:"))
        return false;
    struct fy_node *v = yaml_get(n, "command");
    if (!v) {
        diag_error(d, yaml_pos(doc, n), "node: needs a command: the program every replica runs");
        return false;
    }
    if (!load_command(doc, v, path, a, &out->argv, d, "the command"))
        return false;
    if ((v = yaml_get(n, "server")) && !load_command(doc, v, path, a, &out->server_argv, d, "the server's command"))
        return false;
    if ((v = yaml_get(n, "timeout"))) {
        if (!yaml_duration(doc, v, false, &out->timeout_us, d, "the node's timeout"))
            return false;
        if (out->timeout_us < 1000) {
            diag_error(d, yaml_pos(doc, v), "the node's timeout must be at least 1ms of real time");
            return false;
        }
    }
    return true;
}

/* lifecycle: { wipe: all | data-only, sign_out: sync-first | discard, switch: wipe | keep-data }
 * (docs/lifecycle.md). */
static bool load_lifecycle(yaml_doc *doc, struct fy_node *n, profile *p, diag *d)
{
    if (!yaml_want_mapping(doc, n, d,
                           "lifecycle settings ({ wipe: all | data-only, sign_out: sync-first | discard, "
                           "switch: wipe | keep-data })"))
        return false;
    static const char *const KEYS[] = { "wipe", "sign_out", "switch" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "lifecycle settings"))
        return false;
    struct fy_node *v;
    int choice;
    if ((v = yaml_get(n, "wipe"))) {
        static const char *const WIPES[] = { "all", "data-only" };
        if (!yaml_one_of(doc, v, WIPES, N(WIPES), &choice, d, "lifecycle wipe"))
            return false;
        p->wipe = choice == 1 ? WIPE_DATA_ONLY : WIPE_ALL;
    }
    if ((v = yaml_get(n, "sign_out"))) {
        if (!yaml_one_of(doc, v, SIGN_OUT_NAMES, N(SIGN_OUT_NAMES), &choice, d, "lifecycle sign_out"))
            return false;
        p->sign_out_discard = choice == 1;
    }
    if ((v = yaml_get(n, "switch"))) {
        if (!yaml_one_of(doc, v, ACCOUNT_SWITCH_NAMES, N(ACCOUNT_SWITCH_NAMES), &choice, d, "lifecycle switch"))
            return false;
        p->switch_keep_data = choice == 1;
    }
    return true;
}

/*
 * Where profile_check's key is written in the profile n: at the key where having it is what is wrong
 * (per-type pulls, log pulls, a writer-time cursor, server ids), at its value where that value is.
 * A key the file leaves out (its default) is blamed on its section, or on the profile.
 */
static src_pos blame_position(yaml_doc *doc, struct fy_node *n, const char *key)
{
    static const char *const AT_KEY[] = { "sync.pull_types", "server.pulls", "sync.cursor", "sync.ids" };
    bool at_key = false;
    for (int i = 0; i < N(AT_KEY); i++)
        at_key = at_key || strcmp(key, AT_KEY[i]) == 0;
    struct fy_node *at = n;
    const char *segment = key;
    while (segment && at && yaml_is_mapping(at)) {
        const char *dot = strchr(segment, '.');
        char name[64];
        snprintf(name, sizeof name, "%.*s", dot ? (int)(dot - segment) : (int)strlen(segment), segment);
        struct fy_node *next = yaml_get(at, name);
        if (!next)
            break;
        if (!dot && at_key)
            return yaml_pos(doc, yaml_key_node(at, name));
        at = next;
        segment = dot ? dot + 1 : NULL;
    }
    return yaml_pos(doc, at);
}

static bool load_profile_node(yaml_doc *doc, struct fy_node *n, const char *path, arena *a, scenario_profile *out,
                              diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "a profile"))
        return false;
    static const char *const KEYS[] = { "name",      "description", "accepts", "sync",     "manual",
                                        "conflicts", "node",        "server",  "lifecycle" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "a profile"))
        return false;
    memset(out, 0, sizeof *out);
    profile_defaults(&out->engine);
    out->path = arena_strdup(a, path);
    struct fy_node *v;
    if ((v = yaml_get(n, "name"))) {
        if (!yaml_string(doc, v, a, &out->name, d, "the profile name"))
            return false;
    } else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        const char *dot = strrchr(base, '.');
        out->name = arena_strndup(a, base, dot ? (size_t)(dot - base) : strlen(base));
    }
    out->engine.name = out->name;
    if ((v = yaml_get(n, "description")) && !yaml_string(doc, v, a, &out->description, d, "the description"))
        return false;
    if ((v = yaml_get(n, "accepts"))) {
        if (!load_vclass_list(doc, v, &out->accepts, d, "the classes the design accepts"))
            return false;
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(v, &it))) {
            int c = vclass_parse(fy_node_get_scalar0(item));
            if (!vclass_acceptable((vclass)c)) {
                diag_error(d, yaml_pos(doc, item),
                           "a profile may accept only silent-overwrite, skew-inversion, read-your-writes, "
                           "monotonic-reads, causal-visibility or order-anomaly; '%s' is a violation in every design",
                           vclass_name((vclass)c));
                return false;
            }
        }
    }
    if ((v = yaml_get(n, "sync")) && !load_sync(doc, v, a, &out->engine, d))
        return false;
    if ((v = yaml_get(n, "manual")) && !load_manual(doc, v, &out->engine, d))
        return false;
    if ((v = yaml_get(n, "conflicts")) && !load_conflicts(doc, v, a, &out->engine, d))
        return false;
    if ((v = yaml_get(n, "node")) && !load_node(doc, v, path, a, &out->node, d))
        return false;
    if ((v = yaml_get(n, "server")) && !load_server(doc, v, a, out, d))
        return false;
    if ((v = yaml_get(n, "lifecycle")) && !load_lifecycle(doc, v, &out->engine, d))
        return false;
    const char *key, *why = profile_check(&out->engine, &key);
    if (why) {
        diag_error(d, blame_position(doc, n, key), "%s", why);
        return false;
    }
    return true;
}

bool profile_load_file(const char *path, arena *a, scenario_profile *out, diag *d)
{
    yaml_doc doc;
    const char *owned = arena_strdup(a, path);
    if (!yaml_open(&doc, owned, d))
        return false;
    bool ok = load_profile_node(&doc, yaml_root(&doc), owned, a, out, d);
    yaml_close(&doc);
    return ok;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool profile_is_name(const char *text)
{
    if (!*text)
        return false;
    for (const char *p = text; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_'))
            return false;
    return true;
}

/* --- where names are looked up ------------------------------------------------------ */

#define PLACES_MAX 64

/* The places after a scenario's own, as the command line set them (profile_search_set); owned. */
static struct {
    char *dir;
    char *origin;
} configured[PLACES_MAX];
static int n_configured;
static char *configured_note;

void profile_search_set(const profile_place *places, int n, const char *note)
{
    for (int i = 0; i < n_configured; i++) {
        xfree(configured[i].dir);
        xfree(configured[i].origin);
    }
    n_configured = 0;
    for (int i = 0; i < n && n_configured < PLACES_MAX; i++) {
        configured[n_configured].dir = xstrdup(places[i].dir);
        configured[n_configured].origin = xstrdup(places[i].origin);
        n_configured++;
    }
    xfree(configured_note);
    configured_note = note ? xstrdup(note) : NULL;
}

/*
 * The directories a name is looked up in, in order, each once: at[i].dir is
 * the resolved directory (so two spellings of one are searched once), shown[i]
 * the spelling the user gave ($SYNCSIM_PATH=team/profiles stays team/profiles
 * in errors, as the user wrote it).
 */
typedef struct places {
    profile_place at[PLACES_MAX + 40];
    const char *shown[PLACES_MAX + 40];
    int n;
} places;

static void add_place(places *p, const char *dir, const char *origin, arena *a)
{
    char resolved[PATH_MAX];
    const char *key = realpath(dir, resolved) ? arena_strdup(a, resolved) : dir;
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->at[i].dir, key) == 0)
            return;
    if (p->n < (int)(sizeof p->at / sizeof p->at[0])) {
        p->shown[p->n] = dir;
        p->at[p->n++] = (profile_place){ key, origin };
    }
}

/*
 * profiles/ beside near_path and in each directory above it, then also_dir,
 * then the configured places. The scenario's own folders come first so a
 * corpus can shadow an installed profile of the same name.
 */
static void search_places(const char *near_path, const char *also_dir, arena *a, places *p)
{
    p->n = 0;
    char resolved[PATH_MAX];
    if (realpath(path_dir(a, near_path), resolved)) {
        char *dir = arena_strdup(a, resolved);
        for (int level = 0; level < 32; level++) {
            char *profiles = arena_printf(a, "%s/profiles", strcmp(dir, "/") == 0 ? "" : dir);
            if (path_is_dir(profiles))
                add_place(p, profiles, level == 0 ? "beside the file" : "above the file", a);
            if (strcmp(dir, "/") == 0)
                break;
            dir = path_dir(a, dir);
        }
    }
    if (also_dir)
        add_place(p, also_dir, "beside the base scenario's profile", a);
    for (int i = 0; i < n_configured; i++)
        add_place(p, configured[i].dir, configured[i].origin, a);
}

static const char *find_in(const places *p, const char *name, arena *a)
{
    for (int i = 0; i < p->n; i++) {
        char *path = arena_printf(a, "%s/%s.yaml", p->at[i].dir, name);
        if (path_is_file(path))
            return path;
    }
    return NULL;
}

const char *profile_find(const char *name, const char *near_path, const char *also_dir, arena *a)
{
    places p;
    search_places(near_path, also_dir, a, &p);
    return find_in(&p, name, a);
}

/* Collect profile names in dir for the error, at most max in all. */
static int list_profiles(const char *dir, arena *a, const char **names, int max, int count)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return count;
    struct dirent *e;
    while ((e = readdir(dh)) && count < max) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0)
            names[count++] = arena_strndup(a, e->d_name, len - 5);
    }
    closedir(dh);
    return count;
}

bool profile_load_named(const char *name, const char *near_path, const char *also_dir, src_pos pos, arena *a,
                        scenario_profile *out, diag *d)
{
    places p;
    search_places(near_path, also_dir, a, &p);
    const char *path = find_in(&p, name, a);
    if (path)
        return profile_load_file(path, a, out, d);

    /* Unknown: say where we looked and what is there. */
    const char *names[512];
    int n_names = 0;
    for (int i = 0; i < p.n; i++)
        n_names = list_profiles(p.at[i].dir, a, names, 512, n_names);
    /* readdir order varies between file systems; sort so the message does not. */
    qsort(names, (size_t)n_names, sizeof names[0], compare_names);
    int n_unique = 0;
    for (int i = 0; i < n_names; i++)
        if (n_unique == 0 || strcmp(names[n_unique - 1], names[i]) != 0)
            names[n_unique++] = names[i];
    const char *hint = diag_suggest(name, names, n_unique);
    if (hint)
        diag_error(d, pos, "unknown profile '%s'; did you mean '%s'?", name, hint);
    else if (p.n)
        diag_error(d, pos, "unknown profile '%s': no %s.yaml in %s%s", name, name,
                   p.n == 1 ? "the one place searched" : "any of the places searched", p.n == 1 ? "" : " (in order)");
    else
        diag_error(d, pos, "unknown profile '%s': no profiles/ directory beside %s or above it, and no other place "
                           "to look", name, near_path);
    if (p.n) {
        diag_append(d, "\n  searched:");
        for (int i = 0; i < p.n; i++)
            diag_append(d, "\n    %s  (%s%s)", p.shown[i], p.at[i].origin,
                        path_is_dir(p.at[i].dir) ? "" : "; no such directory");
        diag_append(d, "\n  profiles there:");
        for (int i = 0; i < n_unique; i++)
            diag_append(d, "%s%s", i ? ", " : " ", names[i]);
        if (n_unique == 0)
            diag_append(d, " none");
    }
    if (configured_note)
        diag_append(d, "\n  %s", configured_note);
    return false;
}

bool profile_load_reference(yaml_doc *doc, struct fy_node *ref, const char *scenario_path, arena *a,
                            scenario_profile *out, diag *d)
{
    if (yaml_is_mapping(ref))
        return load_profile_node(doc, ref, scenario_path, a, out, d);
    const char *name;
    if (!yaml_text(doc, ref, &name, d, "a profile (a name such as reference, a path, or a mapping)"))
        return false;
    size_t len = strlen(name);
    if (strchr(name, '/') || (len > 5 && strcmp(name + len - 5, ".yaml") == 0)) {
        char *path = name[0] == '/' ? arena_strdup(a, name) : arena_printf(a, "%s/%s", path_dir(a, scenario_path), name);
        if (!path_is_file(path)) {
            diag_error(d, yaml_pos(doc, ref), "profile file '%s' not found (looked for %s)", name, path);
            return false;
        }
        return profile_load_file(path, a, out, d);
    }
    if (!profile_is_name(name)) {
        diag_error(d, yaml_pos(doc, ref), "'%s' is not a profile name or a path to a .yaml file", name);
        return false;
    }
    return profile_load_named(name, scenario_path, NULL, yaml_pos(doc, ref), a, out, d);
}
