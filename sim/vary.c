/*
 * vary: profile keys a random workload draws per seed. See vary.h.
 */
#include "sim/vary.h"
#include "engine/node.h"
#include "sim/duration.h"
#include "sim/pcg.h"

#include <stdio.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef enum key_kind {
    KIND_WORD,       /* one of words[]; the value is its index */
    KIND_DURATION,   /* a duration, at least 0; the value is in us */
    KIND_BOOL,
} key_kind;

typedef struct key_def {
    const char *path;                  /* as a profile writes it, section.key */
    key_kind kind;
    const char *const *words;          /* KIND_WORD: in the enum's order */
    int n_words;
    const char *what;                  /* for errors: what the key decides */
    void (*set)(profile *p, int64_t value);
} key_def;

static void set_round(profile *p, int64_t v) { p->round = (round_order)v; }
static void set_pull_over_pending(profile *p, int64_t v)
{
    /* One rule for edited and deleted records, as `pull_over_pending: rebase` writes it. */
    p->pull_over_pending = p->pull_over_deleted = (pull_over_pending)v;
}
static void set_pull_apply(profile *p, int64_t v) { p->pull_apply_by_kind = v == 1; }
static void set_during_round(profile *p, int64_t v) { p->during_round = (during_round)v; }
static void set_push_snapshot(profile *p, int64_t v) { p->push_snapshot = (push_snapshot)v; }
static void set_watermark_taken(profile *p, int64_t v) { p->watermark_taken = (watermark_taken)v; }
static void set_cursor_saved(profile *p, int64_t v) { p->cursor_saved = (cursor_saved)v; }
static void set_queue_base(profile *p, int64_t v) { p->queue_base_as_queued = v == 1; }
static void set_server_pulls(profile *p, int64_t v) { p->pulls_log = v == 1; }
static void set_commit_delay(profile *p, int64_t v)
{
    /* A fixed delay per transaction: the profile's per-change part and distribution give way. */
    p->commit_delay_us = v;
    p->commit_delay_per_change_us = 0;
    p->n_commit_delay_draws = 0;
    p->commit_delay_draws = NULL;
}
static void set_feed_lag(profile *p, int64_t v) { p->feed_lag_us = v; }
static void set_cursor_horizon(profile *p, int64_t v) { p->cursor_horizon = v != 0; }
/* The conflict keys hold for every entity type, listed or not: the design's one rule. */
static void set_counters(profile *p, int64_t v)
{
    p->fallback.counters = (counter_mode)v;
    for (int i = 0; i < p->n_entities; i++)
        p->entities[i].counters = (counter_mode)v;
}
static void set_grain(profile *p, int64_t v)
{
    p->fallback.grain = (grain)v;
    for (int i = 0; i < p->n_entities; i++)
        p->entities[i].grain = (grain)v;
}
static void set_on_delete(profile *p, int64_t v)
{
    p->fallback.on_delete = (delete_rule)v;
    for (int i = 0; i < p->n_entities; i++)
        p->entities[i].on_delete = (delete_rule)v;
}
static void set_wipe(profile *p, int64_t v) { p->wipe = v == 1 ? WIPE_DATA_ONLY : WIPE_ALL; }
static void set_sign_out(profile *p, int64_t v) { p->sign_out_discard = v == 1; }
static void set_account_switch(profile *p, int64_t v) { p->switch_keep_data = v == 1; }

/* In the enums' orders (engine/profile.h). */
static const char *const COUNTER_WORDS[] = { "absolute", "crdt", "max", "ops" };
static const char *const GRAIN_WORDS[] = { "record", "field" };
static const char *const ON_DELETE_WORDS[] = { "strategy", "delete-wins", "edit-wins", "newer-timestamp" };
static const char *const WIPE_WORDS[] = { "all", "data-only" };

#define WORDS(t) KIND_WORD, (t), N(t)
static const key_def KEYS[] = {
    { "sync.round", WORDS(ROUND_ORDER_NAMES), "which half of a round comes first", set_round },
    { "sync.pull_over_pending", WORDS(PULL_OVER_PENDING_NAMES), "what a pulled record does to queued changes",
      set_pull_over_pending },
    { "sync.pull_apply", WORDS(PULL_APPLY_NAMES), "how a pulled page is applied", set_pull_apply },
    { "sync.during_round", WORDS(DURING_ROUND_NAMES), "what a sync asked for while a round runs does",
      set_during_round },
    { "sync.push_snapshot", WORDS(PUSH_SNAPSHOT_NAMES), "which queued changes a round pushes", set_push_snapshot },
    { "sync.watermark_taken", WORDS(WATERMARK_TAKEN_NAMES), "when a device-clock watermark is read",
      set_watermark_taken },
    { "sync.cursor_saved", WORDS(CURSOR_SAVED_NAMES), "when the pull cursor is written", set_cursor_saved },
    { "sync.queue_base", WORDS(QUEUE_BASE_NAMES), "the version a queued change declares it was made on",
      set_queue_base },
    { "server.pulls", WORDS(SERVER_PULLS_NAMES), "what a pull returns", set_server_pulls },
    { "server.commit_delay", KIND_DURATION, NULL, 0, "how long a push's transaction stays open", set_commit_delay },
    { "server.feed_lag", KIND_DURATION, NULL, 0, "how far the change feed lags the primary", set_feed_lag },
    { "server.cursor_horizon", KIND_BOOL, NULL, 0, "whether cursors wait for open transactions",
      set_cursor_horizon },
    { "conflicts.counters", WORDS(COUNTER_WORDS), "the counter mode of every type", set_counters },
    { "conflicts.grain", WORDS(GRAIN_WORDS), "the merge grain of every type", set_grain },
    { "conflicts.on_delete", WORDS(ON_DELETE_WORDS), "the delete rule of every type", set_on_delete },
    { "lifecycle.wipe", WORDS(WIPE_WORDS), "what deleting the local database removes", set_wipe },
    { "lifecycle.sign_out", WORDS(SIGN_OUT_NAMES), "what a sign-out does with unsynced writes", set_sign_out },
    { "lifecycle.switch", WORDS(ACCOUNT_SWITCH_NAMES), "what switching accounts keeps of the old user's data",
      set_account_switch },
};
#undef WORDS

static bool load_value(yaml_doc *doc, struct fy_node *n, const key_def *k, int64_t *out, diag *d)
{
    char what[160];
    snprintf(what, sizeof what, "a value of %s (%s)", k->path, k->what);
    if (k->kind == KIND_DURATION)
        return yaml_duration(doc, n, false, out, d, what);
    if (k->kind == KIND_BOOL) {
        bool b;
        if (!yaml_bool(doc, n, &b, d, what))
            return false;
        *out = b;
        return true;
    }
    int choice;
    if (!yaml_one_of(doc, n, k->words, k->n_words, &choice, d, k->path))
        return false;
    *out = choice;
    return true;
}

bool vary_load(yaml_doc *doc, struct fy_node *n, vary_spec *out, diag *d)
{
    memset(out, 0, sizeof *out);
    if (!yaml_want_mapping(doc, n, d, "vary (profile keys, each with the values a seed picks from)"))
        return false;
    const char *paths[N(KEYS)];
    for (int i = 0; i < N(KEYS); i++)
        paths[i] = KEYS[i].path;
    yaml_iter it = { 0 };
    struct fy_node *key, *val;
    while (yaml_next_pair(n, &it, &key, &val)) {
        const char *name;
        if (!yaml_text(doc, key, &name, d, "a profile key such as sync.round"))
            return false;
        int k = -1;
        for (int i = 0; i < N(KEYS); i++)
            if (strcmp(name, KEYS[i].path) == 0)
                k = i;
        if (k < 0) {
            const char *hint = diag_suggest(name, paths, N(KEYS));
            char list[1024] = "";
            for (int i = 0; i < N(KEYS); i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", KEYS[i].path);
            if (hint)
                diag_error(d, yaml_pos(doc, key), "vary cannot draw '%s'; did you mean '%s'? (it draws %s)", name, hint,
                           list);
            else
                diag_error(d, yaml_pos(doc, key), "vary cannot draw '%s'; it draws %s", name, list);
            return false;
        }
        if (out->n_axes == VARY_KEYS_MAX) {
            diag_error(d, yaml_pos(doc, key), "vary draws at most %d keys", VARY_KEYS_MAX);
            return false;
        }
        vary_axis *ax = &out->axes[out->n_axes];
        ax->key = k;
        ax->key_pos = yaml_pos(doc, key);
        char what[160];
        snprintf(what, sizeof what, "the values %s may take, a list such as [a, b]", name);
        if (!yaml_want_sequence(doc, val, d, what))
            return false;
        void *vit = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(val, &vit))) {
            if (ax->n_values == VARY_VALUES_MAX) {
                diag_error(d, yaml_pos(doc, item), "%s lists more than %d values", name, VARY_VALUES_MAX);
                return false;
            }
            int64_t v;
            if (!load_value(doc, item, &KEYS[k], &v, d))
                return false;
            for (int j = 0; j < ax->n_values; j++)
                if (ax->values[j] == v) {
                    diag_error(d, yaml_pos(doc, item), "%s lists this value twice: a seed would draw it twice as often",
                               name);
                    return false;
                }
            ax->pos[ax->n_values] = yaml_pos(doc, item);
            ax->values[ax->n_values++] = v;
        }
        if (ax->n_values == 0) {
            diag_error(d, yaml_pos(doc, val), "%s lists no values; give at least one", name);
            return false;
        }
        out->n_axes++;
    }
    return true;
}

static void value_text(const key_def *k, int64_t v, char *out, size_t size)
{
    if (k->kind == KIND_WORD)
        snprintf(out, size, "%s", k->words[v]);
    else if (k->kind == KIND_BOOL)
        snprintf(out, size, "%s", v ? "true" : "false");
    else
        duration_format(v, out, size);
}

/* The first value to blame for a design profile_check refuses: one that alone makes base refuse, else
 * the value of the key the refusal names, else the first axis's key. */
static src_pos blame(const vary_spec *v, const vary_choice *c, const profile *base, const char *refused_key)
{
    for (int a = 0; a < v->n_axes; a++) {
        profile p = *base;
        KEYS[v->axes[a].key].set(&p, v->axes[a].values[c->value[a]]);
        const char *key;
        if (profile_check(&p, &key))
            return v->axes[a].pos[c->value[a]];
    }
    for (int a = 0; a < v->n_axes; a++)
        if (strcmp(KEYS[v->axes[a].key].path, refused_key) == 0)
            return v->axes[a].pos[c->value[a]];
    return v->axes[0].key_pos;
}

bool vary_check(const vary_spec *v, const profile *base, const char *profile_name, diag *d)
{
    if (v->n_axes == 0)
        return true;
    int64_t combinations = 1;
    for (int a = 0; a < v->n_axes; a++) {
        combinations *= v->axes[a].n_values;
        if (combinations > VARY_COMBINATIONS_MAX) {
            diag_error(d, v->axes[a].key_pos,
                       "vary's values make more than %d combinations (each is checked to be a design the engine runs)",
                       VARY_COMBINATIONS_MAX);
            return false;
        }
    }
    vary_choice c = { { 0 } };
    for (int64_t i = 0; i < combinations; i++) {
        profile p = *base;
        vary_apply(v, &c, &p);
        const char *key, *why = profile_check(&p, &key);
        if (why) {
            char drawn[512];
            vary_describe(v, &c, drawn, sizeof drawn);
            diag_error(d, blame(v, &c, base, key),
                       "vary can draw a design profile '%s' cannot run (%s): %s (%s)", profile_name, drawn, why, key);
            return false;
        }
        /* The next combination, the last axis fastest. */
        for (int a = v->n_axes - 1; a >= 0; a--) {
            if (++c.value[a] < v->axes[a].n_values)
                break;
            c.value[a] = 0;
        }
    }
    return true;
}

vary_choice vary_draw(const vary_spec *v, uint64_t seed)
{
    vary_choice c = { { 0 } };
    for (int a = 0; a < v->n_axes; a++) {
        char name[96];
        snprintf(name, sizeof name, "vary/%s", KEYS[v->axes[a].key].path);
        pcg32 rng = pcg_stream(seed, name);
        c.value[a] = (int)pcg32_bounded(&rng, (uint32_t)v->axes[a].n_values);
    }
    return c;
}

void vary_apply(const vary_spec *v, const vary_choice *c, profile *p)
{
    for (int a = 0; a < v->n_axes; a++)
        KEYS[v->axes[a].key].set(p, v->axes[a].values[c->value[a]]);
}

void vary_describe(const vary_spec *v, const vary_choice *c, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int a = 0; a < v->n_axes && len < size; a++) {
        const key_def *k = &KEYS[v->axes[a].key];
        char text[DURATION_TEXT_MAX];
        value_text(k, v->axes[a].values[c->value[a]], text, sizeof text);
        int w = snprintf(out + len, size - len, "%s%s: %s", a ? ", " : "", k->path, text);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}
