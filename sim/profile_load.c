/*
 * profile_load: profile YAML to engine/profile.h. See profile_load.h for the
 * shape. Starts from profile_defaults and overrides what the file states.
 */
#include "sim/profile_load.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "engine/strategy.h"

#include <dirent.h>
#include <limits.h>
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
    static const char *const KEYS[] = { "schedule", "then" };
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

static bool load_sync(yaml_doc *doc, struct fy_node *n, profile *p, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "sync settings"))
        return false;
    static const char *const KEYS[] = { "interval",  "after_write",     "on_reconnect", "push_batch",
                                        "pull_page", "request_timeout", "retry",        "idempotency" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "sync settings"))
        return false;
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

/* Fill rules from a mapping with strategy / grain / on_delete; rules holds the inherited values. */
static bool load_rules(yaml_doc *doc, struct fy_node *n, entity_rules *rules, diag *d)
{
    struct fy_node *v;
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
            diag_error(d, yaml_pos(doc, v), "unknown on_delete '%s'; expected strategy, delete-wins or edit-wins",
                       text);
            return false;
        }
    }
    if ((v = yaml_get(n, "counters"))) {
        const char *text;
        if (!yaml_text(doc, v, &text, d, "a counter mode"))
            return false;
        if (!counter_mode_parse(text, &rules->counters)) {
            diag_error(d, yaml_pos(doc, v),
                       "unknown counters '%s'; expected absolute (write the new total) or crdt (merge "
                       "per-device contributions)",
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
                           "unknown event order '%s'; expected occurred (occurredAt, then id) or server (server "
                           "receive time first)",
                           text);
                return false;
            }
        }
        if ((x = yaml_get(v, "dedup")) && !yaml_bool(doc, x, &rules->events_dedup, d, "events dedup"))
            return false;
    }
    return true;
}

static bool load_conflicts(yaml_doc *doc, struct fy_node *n, arena *a, profile *p, diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "conflict rules"))
        return false;
    static const char *const KEYS[] = { "strategy", "grain", "on_delete", "counters", "events", "types" };
    if (!yaml_check_keys(doc, n, KEYS, N(KEYS), d, "conflict rules"))
        return false;
    if (!load_rules(doc, n, &p->fallback, d))
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
        static const char *const TYPE_KEYS[] = { "strategy", "grain", "on_delete", "counters", "events" };
        if (!yaml_check_keys(doc, v, TYPE_KEYS, N(TYPE_KEYS), d, context) || !load_rules(doc, v, rules, d))
            return false;
        p->n_entities++;
    }
    return true;
}

static bool load_profile_node(yaml_doc *doc, struct fy_node *n, const char *path, arena *a, scenario_profile *out,
                              diag *d)
{
    if (!yaml_want_mapping(doc, n, d, "a profile"))
        return false;
    static const char *const KEYS[] = { "name", "description", "accepts", "sync", "conflicts" };
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
                           "a profile may accept only silent-overwrite; '%s' is a violation in every design",
                           vclass_name((vclass)c));
                return false;
            }
        }
    }
    if ((v = yaml_get(n, "sync")) && !load_sync(doc, v, &out->engine, d))
        return false;
    if ((v = yaml_get(n, "conflicts")) && !load_conflicts(doc, v, a, &out->engine, d))
        return false;
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

/* Directory part of path ("." when none), in a. */
static char *dir_of(arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return arena_strdup(a, ".");
    if (slash == path)
        return arena_strdup(a, "/");
    return arena_strndup(a, path, (size_t)(slash - path));
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Collect profile names in dir/profiles for a suggestion. */
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

bool profile_load_reference(yaml_doc *doc, struct fy_node *ref, const char *scenario_path, arena *a,
                            scenario_profile *out, diag *d)
{
    if (yaml_is_mapping(ref))
        return load_profile_node(doc, ref, scenario_path, a, out, d);
    const char *name;
    if (!yaml_text(doc, ref, &name, d, "a profile (a name such as reference, a path, or a mapping)"))
        return false;
    char *scenario_dir = dir_of(a, scenario_path);
    size_t len = strlen(name);
    if (strchr(name, '/') || (len > 5 && strcmp(name + len - 5, ".yaml") == 0)) {
        char *path = name[0] == '/' ? arena_strdup(a, name) : arena_printf(a, "%s/%s", scenario_dir, name);
        if (!is_file(path)) {
            diag_error(d, yaml_pos(doc, ref), "profile file '%s' not found (looked for %s)", name, path);
            return false;
        }
        return profile_load_file(path, a, out, d);
    }
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_')) {
            diag_error(d, yaml_pos(doc, ref), "'%s' is not a profile name or a path to a .yaml file", name);
            return false;
        }
    }
    /* profiles/<name>.yaml beside the scenario, then in each ancestor directory. */
    char resolved[PATH_MAX];
    if (!realpath(scenario_dir, resolved)) {
        diag_error(d, yaml_pos(doc, ref), "cannot resolve the directory of %s", scenario_path);
        return false;
    }
    char *dir = arena_strdup(a, resolved);
    const char *searched[32];
    int n_searched = 0;
    for (int level = 0; level < 32; level++) {
        char *profiles = arena_printf(a, "%s/profiles", strcmp(dir, "/") == 0 ? "" : dir);
        if (is_dir(profiles)) {
            searched[n_searched++] = profiles;
            char *path = arena_printf(a, "%s/%s.yaml", profiles, name);
            if (is_file(path))
                return profile_load_file(path, a, out, d);
        }
        if (strcmp(dir, "/") == 0)
            break;
        dir = dir_of(a, dir);
    }
    const char *names[256];
    int n_names = 0;
    for (int i = 0; i < n_searched; i++)
        n_names = list_profiles(searched[i], a, names, 256, n_names);
    /* readdir order varies between file systems; sort so the suggestion does not. */
    qsort(names, (size_t)n_names, sizeof names[0], compare_names);
    const char *hint = diag_suggest(name, names, n_names);
    if (hint)
        diag_error(d, yaml_pos(doc, ref), "unknown profile '%s'; did you mean '%s'?", name, hint);
    else if (n_searched)
        diag_error(d, yaml_pos(doc, ref), "unknown profile '%s': no %s.yaml in %s", name, name, searched[0]);
    else
        diag_error(d, yaml_pos(doc, ref),
                   "unknown profile '%s': no profiles/ directory beside the scenario or above it", name);
    return false;
}
