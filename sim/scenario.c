/*
 * scenario: loading scenario YAML. Every function here either fills its
 * output or records exactly one error in the diag and returns false; the
 * first error stops loading. Nothing is accepted silently: unknown keys,
 * wrong types, out-of-range numbers and unknown names are all errors.
 */
#include "sim/scenario.h"
#include "base/hash.h"
#include "base/xalloc.h"
#include "engine/record.h"
#include "sim/duration.h"
#include "sim/profile_load.h"
#include "sim/vary.h"
#include "sim/yaml.h"

#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct loader {
    yaml_doc doc;
    scenario *sc;
    diag *d;
    strmap device_index;   /* name -> node index */
} loader;

static src_pos pos_of(loader *L, struct fy_node *n)
{
    return yaml_pos(&L->doc, n);
}

void net_config_default(net_config *net)
{
    memset(net, 0, sizeof *net);
    net->up.latency = dist_constant(50000);
    net->down.latency = dist_constant(50000);
}

const char *step_kind_name(step_kind kind)
{
    switch (kind) {
    case STEP_OP: return "op";
    case STEP_SYNC: return "sync";
    case STEP_OFFLINE: return "offline";
    case STEP_ONLINE: return "online";
    case STEP_PARTITION: return "partition";
    case STEP_HEAL: return "heal";
    case STEP_CRASH: return "crash";
    case STEP_RESTART: return "restart";
    case STEP_POWER_LOSS: return "power_loss";
    case STEP_CLOCK: return "clock_step";
    case STEP_SERVER_ANSWER: return "server_answer";
    case STEP_EXPIRE_TOKEN: return "expire_token";
    case STEP_STORAGE: return "storage";
    case STEP_REINSTALL: return "reinstall";
    case STEP_SIGN_OUT: return "sign_out";
    case STEP_SIGN_IN: return "sign_in";
    case STEP_SWITCH_ACCOUNT: return "switch_account";
    }
    return "?";
}

const char *server_answer_name(server_answer answer)
{
    switch (answer) {
    case ANSWER_SERVER: return "server";
    case ANSWER_ERROR: return "error";
    case ANSWER_TIMEOUT: return "timeout";
    }
    return "?";
}

int scenario_node(const scenario *sc, const char *name)
{
    if (strcmp(name, "server") == 0)
        return NODE_SERVER;
    for (int i = 0; i < sc->n_devices; i++)
        if (strcmp(sc->devices[i].name, name) == 0)
            return i + 1;
    return -1;
}

const char *scenario_node_name(const scenario *sc, int node)
{
    if (node == NODE_SERVER)
        return "server";
    return node >= 1 && node <= sc->n_devices ? sc->devices[node - 1].name : "?";
}

/* --- network --------------------------------------------------------------- */

static const char *const DIST_NAMES[] = { "constant", "uniform", "exponential", "lognormal" };
#define LATENCY_MAX_US (INT64_C(3600) * 1000000)

static bool load_latency(loader *L, struct fy_node *n, dist *out)
{
    if (yaml_is_scalar(n)) {
        int64_t us;
        if (!yaml_duration(&L->doc, n, false, &us, L->d, "latency"))
            return false;
        *out = dist_constant(us);
        return true;
    }
    if (!yaml_want_mapping(&L->doc, n, L->d, "a latency (a duration such as 80ms, or a distribution)"))
        return false;
    static const char *const KEYS[] = { "dist", "value", "min", "max", "mean", "median", "sigma" };
    if (!yaml_check_keys(&L->doc, n, KEYS, N(KEYS), L->d, "latency"))
        return false;
    struct fy_node *kind_node = yaml_get(n, "dist");
    if (!kind_node) {
        diag_error(L->d, pos_of(L, n), "latency needs 'dist': one of constant, uniform, exponential, lognormal");
        return false;
    }
    const char *kind;
    if (!yaml_text(&L->doc, kind_node, &kind, L->d, "latency dist"))
        return false;
    memset(out, 0, sizeof *out);
    int k = -1;
    for (int i = 0; i < N(DIST_NAMES); i++)
        if (strcmp(kind, DIST_NAMES[i]) == 0)
            k = i;
    if (k < 0) {
        const char *hint = diag_suggest(kind, DIST_NAMES, N(DIST_NAMES));
        diag_error(L->d, pos_of(L, kind_node),
                   "unknown latency distribution '%s'%s%s%s; expected constant, uniform, exponential or lognormal",
                   kind, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        return false;
    }
    out->kind = (dist_kind)k;
    out->min_us = 0;
    out->max_us = LATENCY_MAX_US;
    out->sigma = 0.5;

    /* Which parameters each distribution needs, and which it takes at all. */
    static const char *const REQUIRED[][2] = {
        [DIST_CONSTANT] = { "value", NULL },
        [DIST_UNIFORM] = { "min", "max" },
        [DIST_EXPONENTIAL] = { "mean", NULL },
        [DIST_LOGNORMAL] = { "median", NULL },
    };
    static const char *const TAKES[][4] = {
        [DIST_CONSTANT] = { "value", NULL, NULL, NULL },
        [DIST_UNIFORM] = { "min", "max", NULL, NULL },
        [DIST_EXPONENTIAL] = { "mean", "min", "max", NULL },
        [DIST_LOGNORMAL] = { "median", "sigma", "min", "max" },
    };
    for (int i = 0; i < 2; i++) {
        const char *need = REQUIRED[k][i];
        if (need && !yaml_get(n, need)) {
            diag_error(L->d, pos_of(L, n), "a %s latency needs '%s'", kind, need);
            return false;
        }
    }
    yaml_iter pairs = { 0 };
    struct fy_node *pk, *pv;
    while (yaml_next_pair(n, &pairs, &pk, &pv)) {
        const char *name = fy_node_get_scalar0(pk);
        bool takes = strcmp(name, "dist") == 0;
        for (int i = 0; i < 4 && !takes; i++)
            takes = TAKES[k][i] && strcmp(name, TAKES[k][i]) == 0;
        if (!takes) {
            diag_error(L->d, pos_of(L, pk), "'%s' does not apply to a %s latency", name, kind);
            return false;
        }
    }
    static const char *const DURATIONS[] = { "value", "min", "max", "mean", "median" };
    int64_t *targets[] = { &out->value_us, &out->min_us, &out->max_us, &out->mean_us, &out->median_us };
    for (int i = 0; i < N(DURATIONS); i++) {
        struct fy_node *v = yaml_get(n, DURATIONS[i]);
        if (!v)
            continue;
        char what[48];
        snprintf(what, sizeof what, "latency %s", DURATIONS[i]);
        if (!yaml_duration(&L->doc, v, false, targets[i], L->d, what))
            return false;
    }
    struct fy_node *sigma = yaml_get(n, "sigma");
    if (sigma && !yaml_number(&L->doc, sigma, 0.0, 5.0, &out->sigma, L->d, "latency sigma"))
        return false;
    if (out->kind == DIST_CONSTANT) {
        out->min_us = out->max_us = out->value_us;
    }
    if (out->min_us > out->max_us) {
        diag_error(L->d, pos_of(L, yaml_get(n, "min") ? yaml_get(n, "min") : n),
                   "latency min must not exceed max");
        return false;
    }
    struct fy_node *too_long = out->kind == DIST_CONSTANT ? yaml_get(n, "value") : yaml_get(n, "max");
    if (out->max_us > LATENCY_MAX_US || out->mean_us > LATENCY_MAX_US || out->median_us > LATENCY_MAX_US) {
        if (!too_long)
            too_long = yaml_get(n, out->kind == DIST_EXPONENTIAL ? "mean" : "median");
        diag_error(L->d, pos_of(L, too_long ? too_long : n), "latency must be at most 1h");
        return false;
    }
    return true;
}

static bool load_probability(loader *L, struct fy_node *n, double *out, const char *what)
{
    return yaml_number(&L->doc, n, 0.0, 1.0, out, L->d, what);
}

static bool load_link(loader *L, struct fy_node *n, link_config *link, const char *context)
{
    if (!yaml_want_mapping(&L->doc, n, L->d, context))
        return false;
    static const char *const KEYS[] = { "latency", "loss", "duplicate" };
    if (!yaml_check_keys(&L->doc, n, KEYS, N(KEYS), L->d, context))
        return false;
    struct fy_node *v;
    if ((v = yaml_get(n, "latency")) && !load_latency(L, v, &link->latency))
        return false;
    if ((v = yaml_get(n, "loss")) && !load_probability(L, v, &link->loss, "loss"))
        return false;
    if ((v = yaml_get(n, "duplicate")) && !load_probability(L, v, &link->duplicate, "duplicate"))
        return false;
    return true;
}

/* Both directions first, then per-direction overrides. `net` holds the defaults on entry. */
static bool load_network(loader *L, struct fy_node *n, net_config *net)
{
    if (!yaml_want_mapping(&L->doc, n, L->d, "network settings"))
        return false;
    static const char *const KEYS[] = { "latency", "loss", "duplicate", "lost_response", "up", "down" };
    if (!yaml_check_keys(&L->doc, n, KEYS, N(KEYS), L->d, "network settings"))
        return false;
    struct fy_node *v;
    if ((v = yaml_get(n, "latency"))) {
        if (!load_latency(L, v, &net->up.latency))
            return false;
        net->down.latency = net->up.latency;
    }
    if ((v = yaml_get(n, "loss"))) {
        if (!load_probability(L, v, &net->up.loss, "loss"))
            return false;
        net->down.loss = net->up.loss;
    }
    if ((v = yaml_get(n, "duplicate"))) {
        if (!load_probability(L, v, &net->up.duplicate, "duplicate"))
            return false;
        net->down.duplicate = net->up.duplicate;
    }
    if ((v = yaml_get(n, "lost_response")) && !load_probability(L, v, &net->lost_response, "lost_response"))
        return false;
    if ((v = yaml_get(n, "up")) && !load_link(L, v, &net->up, "network 'up' (device to server) settings"))
        return false;
    if ((v = yaml_get(n, "down")) && !load_link(L, v, &net->down, "network 'down' (server to device) settings"))
        return false;
    return true;
}

/* --- clocks and devices ------------------------------------------------------ */

static step *add_step(loader *L, size_t *cap)
{
    scenario *sc = L->sc;
    if ((size_t)sc->n_steps == *cap) {
        size_t next = *cap ? *cap * 2 : 16;
        step *grown = arena_alloc(&sc->arena, next * sizeof *grown);
        if (sc->n_steps)
            memcpy(grown, sc->steps, (size_t)sc->n_steps * sizeof *grown);
        sc->steps = grown;
        *cap = next;
    }
    step *s = &sc->steps[sc->n_steps++];
    memset(s, 0, sizeof *s);
    return s;
}

static int *one_node(loader *L, int node)
{
    int *nodes = arena_alloc(&L->sc->arena, sizeof *nodes);
    nodes[0] = node;
    return nodes;
}

static bool load_clock(loader *L, struct fy_node *n, clock_config *clock, int node, size_t *step_cap)
{
    if (!yaml_want_mapping(&L->doc, n, L->d, "clock settings"))
        return false;
    static const char *const KEYS[] = { "offset", "drift_ppm", "steps" };
    if (!yaml_check_keys(&L->doc, n, KEYS, N(KEYS), L->d, "clock settings"))
        return false;
    struct fy_node *v;
    if ((v = yaml_get(n, "offset")) && !yaml_duration(&L->doc, v, true, &clock->offset_us, L->d, "clock offset"))
        return false;
    if ((v = yaml_get(n, "drift_ppm"))) {
        double ppm;
        if (!yaml_number(&L->doc, v, -1000.0, 1000.0, &ppm, L->d, "clock drift_ppm"))
            return false;
        clock->drift_ppb = (int64_t)(ppm * 1000.0 + (ppm >= 0 ? 0.5 : -0.5));
    }
    if ((v = yaml_get(n, "steps"))) {
        if (!yaml_want_sequence(&L->doc, v, L->d, "a list of clock steps"))
            return false;
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(v, &it))) {
            if (!yaml_want_mapping(&L->doc, item, L->d, "a clock step ({ at: 3h, by: -2m })"))
                return false;
            static const char *const STEP_KEYS[] = { "at", "by" };
            if (!yaml_check_keys(&L->doc, item, STEP_KEYS, N(STEP_KEYS), L->d, "a clock step"))
                return false;
            struct fy_node *at = yaml_get(item, "at"), *by = yaml_get(item, "by");
            if (!at || !by) {
                diag_error(L->d, pos_of(L, item), "a clock step needs 'at' and 'by'");
                return false;
            }
            step *s = add_step(L, step_cap);
            s->kind = STEP_CLOCK;
            s->n_nodes = 1;
            s->nodes = one_node(L, node);
            s->pos = pos_of(L, item);
            if (!yaml_duration(&L->doc, at, false, &s->at_us, L->d, "clock step 'at'") ||
                !yaml_duration(&L->doc, by, true, &s->by_us, L->d, "clock step 'by'"))
                return false;
        }
    }
    return true;
}

static bool valid_device_name(const char *name)
{
    if (!*name || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_'))
            return false;
    return true;
}

/* A device's own conflict pick (devices: { phone: { pick: local } }): what its user answers every
 * conflict with, in place of the profile's manual pick. */
static bool load_device_pick(loader *L, struct fy_node *n, device_config *dev)
{
    static const char *const PICK_NAMES[] = { "local", "server", "merge", "newest", "random" };
    const char *text;
    if (!yaml_text(&L->doc, n, &text, L->d, "a pick (local, server, merge, newest or random)"))
        return false;
    manual_pick p;
    if (!manual_pick_parse(text, &p)) {
        const char *hint = diag_suggest(text, PICK_NAMES, N(PICK_NAMES));
        diag_error(L->d, pos_of(L, n), "unknown pick '%s' for device '%s'%s%s%s; expected local, server, merge, newest "
                   "or random", text, dev->name, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        return false;
    }
    dev->has_pick = true;
    dev->pick = p;
    return true;
}

static bool load_devices(loader *L, struct fy_node *n, size_t *step_cap)
{
    scenario *sc = L->sc;
    if (!yaml_want_mapping(&L->doc, n, L->d, "devices (a mapping from device name to settings)"))
        return false;
    int count = fy_node_mapping_item_count(n);
    if (count < 1) {
        diag_error(L->d, pos_of(L, n), "a scenario needs at least one device");
        return false;
    }
    if (count > SCENARIO_DEVICES_MAX) {
        diag_error(L->d, pos_of(L, n), "at most %d devices are supported", SCENARIO_DEVICES_MAX);
        return false;
    }
    sc->devices = arena_alloc(&sc->arena, (size_t)count * sizeof *sc->devices);
    /* Names first, so clock steps can name the device. */
    yaml_iter it = { 0 };
    struct fy_node *k, *v;
    while (yaml_next_pair(n, &it, &k, &v)) {
        device_config *dev = &sc->devices[sc->n_devices];
        if (!yaml_string(&L->doc, k, &sc->arena, &dev->name, L->d, "a device name"))
            return false;
        if (!valid_device_name(dev->name) || strcmp(dev->name, "server") == 0 || strcmp(dev->name, "all") == 0) {
            diag_error(L->d, pos_of(L, k),
                       "invalid device name '%s': use letters, digits, '-' and '_' (not 'server' or 'all')",
                       dev->name);
            return false;
        }
        dev->pos = pos_of(L, k);
        dev->user = SCENARIO_DEFAULT_USER;
        dev->net = sc->network;
        dev->clock = (clock_config){ 0 };
        sc->n_devices++;
        strmap_put(&L->device_index, dev->name, sc->n_devices);
    }
    it = (yaml_iter){ 0 };
    int index = 0;
    while (yaml_next_pair(n, &it, &k, &v)) {
        int node = ++index;   /* devices[node - 1] */
        device_config *dev = &sc->devices[node - 1];
        if (yaml_is_null(v))
            continue;   /* "phone:" with no settings */
        char context[96];
        snprintf(context, sizeof context, "settings of device '%s'", dev->name);
        if (!yaml_want_mapping(&L->doc, v, L->d, context))
            return false;
        static const char *const KEYS[] = { "user", "clock", "network", "offline", "pick" };
        if (!yaml_check_keys(&L->doc, v, KEYS, N(KEYS), L->d, context))
            return false;
        struct fy_node *x;
        if ((x = yaml_get(v, "user"))) {
            if (!yaml_string(&L->doc, x, &sc->arena, &dev->user, L->d, "a user (the tenant the device belongs to)"))
                return false;
            if (!valid_device_name(dev->user)) {
                diag_error(L->d, pos_of(L, x), "invalid user '%s': use letters, digits, '-' and '_'", dev->user);
                return false;
            }
        }
        if ((x = yaml_get(v, "clock"))) {
            dev->has_clock = true;
            if (!load_clock(L, x, &dev->clock, node, step_cap))
                return false;
        }
        if ((x = yaml_get(v, "network")) && !load_network(L, x, &dev->net))
            return false;
        if ((x = yaml_get(v, "offline")) && !yaml_bool(&L->doc, x, &dev->starts_offline, L->d, "offline"))
            return false;
        if ((x = yaml_get(v, "pick")) && !load_device_pick(L, x, dev))
            return false;
    }
    return true;
}

/* --- steps ------------------------------------------------------------------ */

/*
 * One device name (or "server" when allow_server) to its node; an unknown name is an error
 * with a "did you mean". The list of names for the suggestion is made only then: a step
 * naming every one of 4096 devices used to make it for each name, 32 KiB each time.
 */
static bool load_node_name(loader *L, struct fy_node *n, bool allow_server, int *node)
{
    scenario *sc = L->sc;
    const char *name;
    if (!yaml_text(&L->doc, n, &name, L->d, "a device name, a list of names, or 'all'"))
        return false;
    *node = strmap_get(&L->device_index, name);
    if (*node < 0 && allow_server && strcmp(name, "server") == 0)
        *node = NODE_SERVER;
    if (*node >= 0)
        return true;
    if (strcmp(name, "server") == 0) {
        diag_error(L->d, pos_of(L, n), "the server cannot be named here; expected a device");
        return false;
    }
    const char **names = xmalloc((size_t)(sc->n_devices + 1) * sizeof *names);
    for (int i = 0; i < sc->n_devices; i++)
        names[i] = sc->devices[i].name;
    names[sc->n_devices] = "all";
    const char *hint = diag_suggest(name, names, sc->n_devices + 1);
    if (hint)
        diag_error(L->d, pos_of(L, n), "unknown device '%s'; did you mean '%s'?", name, hint);
    else
        diag_error(L->d, pos_of(L, n), "unknown device '%s'; the devices are listed under 'devices:'", name);
    xfree(names);
    return false;
}

/*
 * "all", one name, or a list of names. allow_server admits "server";
 * one_only, when set, is the error for "all" where one device is needed.
 * Linear in the names: a list is checked for repeats with one flag per node.
 */
static bool load_node_set(loader *L, struct fy_node *n, bool allow_server, const char *one_only, int **nodes,
                          int *count)
{
    scenario *sc = L->sc;
    if (yaml_is_scalar(n)) {
        const char *name;
        if (!yaml_text(&L->doc, n, &name, L->d, "a device name, a list of names, or 'all'"))
            return false;
        if (strcmp(name, "all") == 0) {
            if (one_only) {
                diag_error(L->d, pos_of(L, n), "%s", one_only);
                return false;
            }
            *nodes = arena_alloc(&sc->arena, (size_t)(sc->n_devices ? sc->n_devices : 1) * sizeof **nodes);
            for (int i = 0; i < sc->n_devices; i++)
                (*nodes)[i] = i + 1;
            *count = sc->n_devices;
            return true;
        }
        int node;
        if (!load_node_name(L, n, allow_server, &node))
            return false;
        *nodes = one_node(L, node);
        *count = 1;
        return true;
    }
    if (!yaml_want_sequence(&L->doc, n, L->d, "a device name, a list of names, or 'all'"))
        return false;
    int total = fy_node_sequence_item_count(n);
    if (total < 1) {
        diag_error(L->d, pos_of(L, n), "expected at least one device in the list");
        return false;
    }
    *nodes = arena_alloc(&sc->arena, (size_t)total * sizeof **nodes);
    *count = 0;
    bool *listed = xcalloc((size_t)sc->n_devices + 1, sizeof *listed);   /* by node: 0 the server */
    bool ok = true;
    void *it = NULL;
    struct fy_node *item;
    while (ok && (item = fy_node_sequence_iterate(n, &it))) {
        const char *name = NULL;
        int node;
        if (!yaml_is_scalar(item)) {
            diag_error(L->d, pos_of(L, item), "expected a device name, found %s", yaml_describe(item));
            ok = false;
        } else if (yaml_text(&L->doc, item, &name, L->d, "a device name") && strcmp(name, "all") == 0) {
            diag_error(L->d, pos_of(L, item), "'all' cannot appear inside a list");
            ok = false;
        } else if (!name || !load_node_name(L, item, allow_server, &node)) {
            ok = false;
        } else if (listed[node]) {
            diag_error(L->d, pos_of(L, item), "device '%s' is listed twice", scenario_node_name(sc, node));
            ok = false;
        } else {
            listed[node] = true;
            (*nodes)[(*count)++] = node;
        }
    }
    xfree(listed);
    return ok;
}

static int compare_fields(const void *a, const void *b)
{
    return strcmp(((const op_field *)a)->name, ((const op_field *)b)->name);
}

static bool load_fields(loader *L, struct fy_node *n, op_field **fields, int *count, const char *context)
{
    scenario *sc = L->sc;
    if (!yaml_want_mapping(&L->doc, n, L->d, context))
        return false;
    int total = fy_node_mapping_item_count(n);
    if (total > RECORD_FIELDS_MAX) {
        diag_error(L->d, pos_of(L, n), "at most %d fields per record are supported", RECORD_FIELDS_MAX);
        return false;
    }
    *fields = arena_alloc(&sc->arena, (size_t)(total ? total : 1) * sizeof **fields);
    *count = 0;
    yaml_iter it = { 0 };
    struct fy_node *k, *v;
    while (yaml_next_pair(n, &it, &k, &v)) {
        op_field *f = &(*fields)[(*count)++];
        if (!yaml_string(&L->doc, k, &sc->arena, &f->name, L->d, "a field name"))
            return false;
        if (!yaml_value(&L->doc, v, &sc->arena, &f->v, L->d, "a field value (a string, number, boolean or null)"))
            return false;
    }
    /* Names are unique (libfyaml refuses duplicate keys), so this order is total. */
    qsort(*fields, (size_t)*count, sizeof **fields, compare_fields);
    return true;
}

static bool valid_key_text(const char *s)
{
    if (!*s || strlen(s) > 200)
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20)
            return false;
    return true;
}

static bool load_op(loader *L, struct fy_node *n, op_kind kind, step *s)
{
    scenario *sc = L->sc;
    char context[64];
    snprintf(context, sizeof context, "a%s %s operation",
             kind == OP_INCREMENT || kind == OP_APPEND || kind == OP_OPEN ? "n" : "",
             op_kind_name(kind));
    if (!yaml_want_mapping(&L->doc, n, L->d, context))
        return false;
    static const char *const KEYS[] = { "type", "id", "fields" };
    static const char *const UPDATE_KEYS[] = { "type", "id", "fields", "base" };
    static const char *const DELETE_KEYS[] = { "type", "id", "base" };
    static const char *const OPEN_KEYS[] = { "type", "id" };
    static const char *const INCREMENT_KEYS[] = { "type", "id", "field", "by" };
    static const char *const APPEND_KEYS[] = { "type", "id", "event" };
    static const char *const RESOLVE_KEYS[] = { "type", "id", "pick" };
    bool keys_ok;
    switch (kind) {
    case OP_RESOLVE: keys_ok = yaml_check_keys(&L->doc, n, RESOLVE_KEYS, N(RESOLVE_KEYS), L->d, context); break;
    case OP_DELETE: keys_ok = yaml_check_keys(&L->doc, n, DELETE_KEYS, N(DELETE_KEYS), L->d, context); break;
    case OP_UPDATE: keys_ok = yaml_check_keys(&L->doc, n, UPDATE_KEYS, N(UPDATE_KEYS), L->d, context); break;
    case OP_OPEN: keys_ok = yaml_check_keys(&L->doc, n, OPEN_KEYS, N(OPEN_KEYS), L->d, context); break;
    case OP_INCREMENT: keys_ok = yaml_check_keys(&L->doc, n, INCREMENT_KEYS, N(INCREMENT_KEYS), L->d, context); break;
    case OP_APPEND: keys_ok = yaml_check_keys(&L->doc, n, APPEND_KEYS, N(APPEND_KEYS), L->d, context); break;
    default: keys_ok = yaml_check_keys(&L->doc, n, KEYS, N(KEYS), L->d, context); break;
    }
    if (!keys_ok)
        return false;
    struct fy_node *type = yaml_get(n, "type"), *id = yaml_get(n, "id"), *fields = yaml_get(n, "fields");
    if (!type || !id) {
        diag_error(L->d, pos_of(L, n), "%s needs 'type' and 'id'", context);
        return false;
    }
    s->op.kind = kind;
    if (!yaml_string(&L->doc, type, &sc->arena, &s->op.type, L->d, "an entity type") ||
        !yaml_string(&L->doc, id, &sc->arena, &s->op.id, L->d, "a record id"))
        return false;
    if (!valid_key_text(s->op.type) || !valid_key_text(s->op.id)) {
        diag_error(L->d, pos_of(L, !valid_key_text(s->op.type) ? type : id),
                   "entity types and ids must be 1 to 200 characters without '/' or control characters");
        return false;
    }
    struct fy_node *base = yaml_get(n, "base");
    if (base) {
        /* The declared base: the change is made on the copy an earlier open: step of this record kept. */
        const char *text;
        if (!yaml_string(&L->doc, base, &sc->arena, &text, L->d, "a base ('opened')"))
            return false;
        if (strcmp(text, "opened") != 0) {
            diag_error(L->d, pos_of(L, base),
                       "unknown base '%s'; expected opened (made on the copy an earlier open: step of the "
                       "record kept)", text);
            return false;
        }
        s->op.from_form = true;
    }
    if (kind == OP_OPEN)
        return true;
    if (kind == OP_INCREMENT) {
        struct fy_node *field = yaml_get(n, "field"), *by = yaml_get(n, "by");
        if (!field) {
            diag_error(L->d, pos_of(L, n), "%s needs 'field' (the counter to add to)", context);
            return false;
        }
        op_field *f = arena_alloc(&sc->arena, sizeof *f);
        if (!yaml_string(&L->doc, field, &sc->arena, &f->name, L->d, "a field name"))
            return false;
        f->v = (value){ .kind = VAL_INT, .i = 1 };
        if (by && !yaml_int(&L->doc, by, -(INT64_C(1) << 40), INT64_C(1) << 40, &f->v.i, L->d, "the amount ('by')"))
            return false;
        s->op.n_fields = 1;
        s->op.fields = f;
        return true;
    }
    if (kind == OP_RESOLVE) {
        struct fy_node *pick = yaml_get(n, "pick");
        if (!pick) {
            diag_error(L->d, pos_of(L, n), "%s needs 'pick' (local, server, merge or newest)", context);
            return false;
        }
        op_field *f = arena_alloc(&sc->arena, sizeof *f);
        f->name = "pick";
        const char *text;
        manual_pick p;
        if (!yaml_string(&L->doc, pick, &sc->arena, &text, L->d, "a pick (local, server, merge or newest)"))
            return false;
        if (!manual_pick_parse(text, &p) || p == PICK_RANDOM) {
            static const char *const PICK_NAMES[] = { "local", "server", "merge", "newest" };
            const char *hint = diag_suggest(text, PICK_NAMES, N(PICK_NAMES));
            diag_error(L->d, pos_of(L, pick), "unknown pick '%s'%s%s%s; expected local, server, merge or newest", text,
                       hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
            return false;
        }
        f->v = (value){ .kind = VAL_STRING, .s = text };
        s->op.n_fields = 1;
        s->op.fields = f;
        return true;
    }
    if (kind == OP_APPEND) {
        struct fy_node *ev = yaml_get(n, "event");
        if (!ev) {
            diag_error(L->d, pos_of(L, n), "%s needs 'event' (the event's fields)", context);
            return false;
        }
        op_field *f;
        if (!load_fields(L, ev, &f, &s->op.n_fields, "the event's fields (a mapping of name to value)"))
            return false;
        s->op.fields = f;
        return true;
    }
    if (kind != OP_DELETE) {
        if (!fields) {
            diag_error(L->d, pos_of(L, n), "%s needs 'fields'", context);
            return false;
        }
        op_field *f;
        if (!load_fields(L, fields, &f, &s->op.n_fields, "the fields to write (a mapping of name to value)"))
            return false;
        s->op.fields = f;
        if (s->op.n_fields == 0 && kind == OP_UPDATE) {
            diag_error(L->d, pos_of(L, fields), "an update must write at least one field");
            return false;
        }
    }
    return true;
}

static const char *const STEP_ACTIONS[] = { "create",  "update",     "delete",        "increment",      "append",
                                             "resolve", "open",       "sync",          "offline",        "online",
                                             "partition",
                                             "heal",    "crash",      "restart",       "clock_step",     "server_errors",
                                             "server_timeouts", "expire_token", "power_loss",
                                             "storage", "reinstall", "sign_out", "sign_in", "switch_account" };

/*
 * { storage: { node: phone, fault: disk_full, for: 2m } } or { ..., fault: io_error, writes: 1 }:
 * a storage fault on one or more replicas' stores, the server's too (docs/faults.md).
 */
static bool load_storage(loader *L, struct fy_node *v, step *s)
{
    const char *context = "a storage step ({ node: phone, fault: disk_full, for: 2m })";
    if (!yaml_want_mapping(&L->doc, v, L->d, context))
        return false;
    static const char *const KEYS[] = { "node", "fault", "for", "writes" };
    if (!yaml_check_keys(&L->doc, v, KEYS, N(KEYS), L->d, "a storage step"))
        return false;
    struct fy_node *node = yaml_get(v, "node"), *fault = yaml_get(v, "fault"), *span = yaml_get(v, "for"),
                   *writes = yaml_get(v, "writes");
    if (!node) {
        diag_error(L->d, pos_of(L, v), "a storage step needs 'node' (a device, 'server', a list of them, or 'all')");
        return false;
    }
    if (!fault) {
        diag_error(L->d, pos_of(L, v), "a storage step needs 'fault' (disk_full or io_error)");
        return false;
    }
    if (!load_node_set(L, node, true, NULL, &s->nodes, &s->n_nodes))
        return false;
    const char *name;
    if (!yaml_text(&L->doc, fault, &name, L->d, "a storage fault (disk_full or io_error)"))
        return false;
    if (strcmp(name, "disk_full") == 0) {
        s->storage.kind = STORAGE_DISK_FULL;
        if (writes) {
            diag_error(L->d, pos_of(L, yaml_key_node(v, "writes")),
                       "'writes' applies to fault: io_error; a full disk lasts 'for' a span");
            return false;
        }
        if (!span) {
            diag_error(L->d, pos_of(L, v), "a disk_full fault needs 'for' (how long the disk stays full, e.g. 2m)");
            return false;
        }
        if (!yaml_duration(&L->doc, span, false, &s->for_us, L->d, "for (how long the disk stays full, e.g. 2m)"))
            return false;
        if (s->for_us <= 0) {
            diag_error(L->d, pos_of(L, span), "a full disk must last longer than 0s");
            return false;
        }
        return true;
    }
    if (strcmp(name, "io_error") == 0) {
        s->storage.kind = STORAGE_IO_ERROR;
        if (span) {
            diag_error(L->d, pos_of(L, yaml_key_node(v, "for")),
                       "'for' applies to fault: disk_full; I/O errors strike a number of 'writes'");
            return false;
        }
        int64_t count = 1;
        if (writes && !yaml_int(&L->doc, writes, 1, 1000, &count, L->d,
                                "'writes' (how many transactions fail)"))
            return false;
        s->storage.writes = (int)count;
        return true;
    }
    diag_error(L->d, pos_of(L, fault), "unknown storage fault '%s'; expected disk_full or io_error", name);
    return false;
}

static bool load_partition(loader *L, struct fy_node *v, step *s, const char *action)
{
    s->direction = DIR_BOTH;
    if (!yaml_is_mapping(v))
        return load_node_set(L, v, false, NULL, &s->nodes, &s->n_nodes);
    char context[64];
    snprintf(context, sizeof context, "a %s step", action);
    static const char *const KEYS[] = { "devices", "direction" };
    if (!yaml_check_keys(&L->doc, v, KEYS, N(KEYS), L->d, context))
        return false;
    struct fy_node *devices = yaml_get(v, "devices"), *direction = yaml_get(v, "direction");
    if (!devices) {
        diag_error(L->d, pos_of(L, v), "%s needs 'devices'", context);
        return false;
    }
    if (!load_node_set(L, devices, false, NULL, &s->nodes, &s->n_nodes))
        return false;
    if (direction) {
        const char *dir;
        if (!yaml_text(&L->doc, direction, &dir, L->d, "a direction (up, down or both)"))
            return false;
        if (strcmp(dir, "up") == 0)
            s->direction = DIR_UP;
        else if (strcmp(dir, "down") == 0)
            s->direction = DIR_DOWN;
        else if (strcmp(dir, "both") == 0)
            s->direction = DIR_BOTH;
        else {
            diag_error(L->d, pos_of(L, direction),
                       "unknown direction '%s'; expected up (device to server), down (server to device) or both",
                       dir);
            return false;
        }
    }
    return true;
}

/*
 * { at: 3h, switch_account: phone, to: bob }: one device, and the account signing in on it -- one some
 * device has or a new one. Switching to the user the device already has is refused once the steps are
 * in time order (check_switches), where "already has" is known.
 */
static bool load_switch_account(loader *L, struct fy_node *n, struct fy_node *v, struct fy_node *to, step *s)
{
    if (!yaml_is_scalar(v)) {
        diag_error(L->d, pos_of(L, v), "a switch_account step names one device, found %s", yaml_describe(v));
        return false;
    }
    if (!load_node_set(L, v, false, "a switch_account step acts on one device, not 'all'", &s->nodes, &s->n_nodes))
        return false;
    if (!to) {
        diag_error(L->d, pos_of(L, n), "a switch_account step needs 'to' (the account signing in, e.g. to: bob)");
        return false;
    }
    if (!yaml_string(&L->doc, to, &L->sc->arena, &s->user, L->d, "'to' (the account signing in)"))
        return false;
    if (!valid_device_name(s->user)) {
        diag_error(L->d, pos_of(L, to), "invalid user '%s': use letters, digits, '-' and '_'", s->user);
        return false;
    }
    return true;
}

static bool load_step(loader *L, struct fy_node *n, size_t *step_cap)
{
    if (!yaml_want_mapping(&L->doc, n, L->d, "a step ({ at: 5m, device: phone, update: {...} })"))
        return false;
    static const char *const KEYS[] = { "at",      "device",  "create",     "update",        "delete",
                                        "increment", "append", "resolve",   "open",          "sync",
                                        "offline",
                                        "online",  "partition", "heal",     "crash",         "restart",
                                        "clock_step", "server_errors", "server_timeouts", "expire_token",
                                        "power_loss", "storage", "reinstall", "sign_out", "sign_in",
                                        "switch_account", "to" };
    if (!yaml_check_keys(&L->doc, n, KEYS, N(KEYS), L->d, "a step"))
        return false;
    const char *action = NULL;
    struct fy_node *action_node = NULL;
    for (int i = 0; i < N(STEP_ACTIONS); i++) {
        struct fy_node *v = yaml_get(n, STEP_ACTIONS[i]);
        if (!v)
            continue;
        if (action) {
            diag_error(L->d, pos_of(L, yaml_key_node(n, STEP_ACTIONS[i])),
                       "a step does one thing, but this one has both '%s' and '%s'; split it into two steps",
                       action, STEP_ACTIONS[i]);
            return false;
        }
        action = STEP_ACTIONS[i];
        action_node = v;
    }
    if (!action) {
        diag_error(L->d, pos_of(L, n),
                   "a step needs an action: create, update, delete, increment, append, resolve, open, sync, offline, "
                   "online, partition, heal, crash, restart, clock_step, server_errors, server_timeouts, "
                   "expire_token, power_loss, storage, reinstall, sign_out, sign_in or switch_account");
        return false;
    }
    struct fy_node *to = yaml_get(n, "to");
    if (to && strcmp(action, "switch_account") != 0) {
        diag_error(L->d, pos_of(L, yaml_key_node(n, "to")),
                   "'to' applies to a switch_account step (the account signing in), not to a %s step", action);
        return false;
    }
    struct fy_node *at = yaml_get(n, "at");
    if (!at) {
        diag_error(L->d, pos_of(L, n), "a step needs 'at' (when it happens, e.g. at: 5m)");
        return false;
    }
    step *s = add_step(L, step_cap);
    s->pos = pos_of(L, n);
    if (!yaml_duration(&L->doc, at, false, &s->at_us, L->d, "step 'at'"))
        return false;

    struct fy_node *device = yaml_get(n, "device");
    op_kind kind = OP_CREATE;
    bool is_op = op_kind_parse(action, &kind);
    bool needs_device = is_op || strcmp(action, "clock_step") == 0;
    if (needs_device && !device) {
        diag_error(L->d, pos_of(L, n), "a %s step needs 'device'", action);
        return false;
    }
    if (!needs_device && device && strncmp(action, "server_", 7) == 0) {
        diag_error(L->d, pos_of(L, yaml_key_node(n, "device")),
                   "'device' does not apply to a %s step: it acts on the server, for every device", action);
        return false;
    }
    if (!needs_device && device) {
        diag_error(L->d, pos_of(L, yaml_key_node(n, "device")),
                   "'device' does not apply to a %s step; name the devices in '%s:' itself", action, action);
        return false;
    }
    if (needs_device) {
        bool is_clock = strcmp(action, "clock_step") == 0;
        if (!yaml_is_scalar(device)) {
            diag_error(L->d, pos_of(L, device), "expected one device name, found %s", yaml_describe(device));
            return false;
        }
        char one[96];
        snprintf(one, sizeof one, "a %s step acts on one device, not 'all'", action);
        if (!load_node_set(L, device, is_clock, one, &s->nodes, &s->n_nodes))
            return false;
    }

    if (is_op) {
        s->kind = STEP_OP;
        return load_op(L, action_node, kind, s);
    }
    if (strcmp(action, "clock_step") == 0) {
        s->kind = STEP_CLOCK;
        return yaml_duration(&L->doc, action_node, true, &s->by_us, L->d, "clock_step");
    }
    if (strcmp(action, "server_errors") == 0 || strcmp(action, "server_timeouts") == 0) {
        /* A window of gateway answers: the step's value is how long it lasts. */
        s->kind = STEP_SERVER_ANSWER;
        s->answer = action[7] == 'e' ? ANSWER_ERROR : ANSWER_TIMEOUT;
        char context[64];
        snprintf(context, sizeof context, "%s (how long the window lasts, e.g. 3m)", action);
        if (!yaml_duration(&L->doc, action_node, false, &s->for_us, L->d, context))
            return false;
        if (s->for_us <= 0) {
            diag_error(L->d, pos_of(L, action_node), "%s must last longer than 0s", action);
            return false;
        }
        s->nodes = one_node(L, NODE_SERVER);
        s->n_nodes = 1;
        return true;
    }
    if (strcmp(action, "storage") == 0) {
        s->kind = STEP_STORAGE;
        return load_storage(L, action_node, s);
    }
    if (strcmp(action, "partition") == 0 || strcmp(action, "heal") == 0) {
        s->kind = action[0] == 'p' ? STEP_PARTITION : STEP_HEAL;
        return load_partition(L, action_node, s, action);
    }
    if (strcmp(action, "switch_account") == 0) {
        s->kind = STEP_SWITCH_ACCOUNT;
        return load_switch_account(L, n, action_node, to, s);
    }
    static const struct {
        const char *name;
        step_kind kind;
    } SETS[] = {
        { "sync", STEP_SYNC },         { "offline", STEP_OFFLINE }, { "online", STEP_ONLINE },
        { "crash", STEP_CRASH },       { "restart", STEP_RESTART }, { "expire_token", STEP_EXPIRE_TOKEN },
        { "power_loss", STEP_POWER_LOSS }, { "reinstall", STEP_REINSTALL }, { "sign_out", STEP_SIGN_OUT },
        { "sign_in", STEP_SIGN_IN },
    };
    for (int i = 0; i < N(SETS); i++) {
        if (strcmp(action, SETS[i].name) == 0) {
            s->kind = SETS[i].kind;
            /* The server crashes and restarts like a device ('all' still means every device only). */
            bool server_too = s->kind == STEP_CRASH || s->kind == STEP_RESTART;
            return load_node_set(L, action_node, server_too, NULL, &s->nodes, &s->n_nodes);
        }
    }
    diag_error(L->d, s->pos, "internal: unhandled step action '%s'", action);
    return false;
}

bool scenario_has_storage_faults(const scenario *sc)
{
    for (int i = 0; i < sc->n_steps; i++)
        if (sc->steps[i].kind == STEP_STORAGE)
            return true;
    return false;
}

typedef struct step_order {
    int64_t at_us;
    int index;
} step_order;

static int compare_step_order(const void *a, const void *b)
{
    const step_order *x = a, *y = b;
    if (x->at_us != y->at_us)
        return x->at_us < y->at_us ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Stable sort by time: qsort with the original index as the final key. */
void scenario_sort_steps(scenario *sc)
{
    step_order *order = xmalloc((size_t)(sc->n_steps ? sc->n_steps : 1) * sizeof *order);
    for (int i = 0; i < sc->n_steps; i++)
        order[i] = (step_order){ sc->steps[i].at_us, i };
    qsort(order, (size_t)sc->n_steps, sizeof *order, compare_step_order);
    step *sorted = arena_alloc(&sc->arena, (size_t)(sc->n_steps ? sc->n_steps : 1) * sizeof *sorted);
    for (int i = 0; i < sc->n_steps; i++)
        sorted[i] = sc->steps[order[i].index];
    sc->steps = sorted;
    xfree(order);
}

static bool load_steps(loader *L, struct fy_node *n, size_t *step_cap)
{
    if (!yaml_want_sequence(&L->doc, n, L->d, "a list of steps"))
        return false;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(n, &it)))
        if (!load_step(L, item, step_cap))
            return false;
    return true;
}

/* --- expectations -------------------------------------------------------------- */

static bool load_state(loader *L, struct fy_node *n)
{
    scenario *sc = L->sc;
    if (!yaml_want_mapping(&L->doc, n, L->d, "expected final states (a mapping from type/id to a state)"))
        return false;
    int total = fy_node_mapping_item_count(n);
    sc->expect.state = arena_alloc(&sc->arena, (size_t)(total ? total : 1) * sizeof *sc->expect.state);
    yaml_iter it = { 0 };
    struct fy_node *k, *v;
    while (yaml_next_pair(n, &it, &k, &v)) {
        state_expect *e = &sc->expect.state[sc->expect.n_state++];
        e->pos = pos_of(L, k);
        const char *key;
        if (!yaml_text(&L->doc, k, &key, L->d, "a record key (type/id)"))
            return false;
        const char *slash = strchr(key, '/');
        if (!slash || slash == key || !slash[1] || strchr(slash + 1, '/')) {
            diag_error(L->d, e->pos, "expected a record key written type/id (e.g. workout/w1), found '%s'", key);
            return false;
        }
        e->type = arena_strndup(&sc->arena, key, (size_t)(slash - key));
        e->id = arena_strdup(&sc->arena, slash + 1);
        if (yaml_is_scalar(v)) {
            const char *word;
            if (!yaml_text(&L->doc, v, &word, L->d, "a state"))
                return false;
            if (strcmp(word, "deleted") == 0) {
                e->kind = STATE_DELETED;
            } else if (strcmp(word, "absent") == 0) {
                e->kind = STATE_ABSENT;
            } else {
                diag_error(L->d, pos_of(L, v), "expected 'deleted', 'absent' or a mapping of field values, found '%s'",
                           word);
                return false;
            }
            continue;
        }
        e->kind = STATE_FIELDS;
        if (!load_fields(L, v, &e->fields, &e->n_fields,
                         "'deleted', 'absent' or a mapping of field values"))
            return false;
    }
    return true;
}

/*
 * expect: checks: the invariants a conformance run reports. Stricter than
 * violations: -- a duplicate is an error, since a repeated name in a list
 * that becomes the rows of a table is almost always a slip for another
 * name; a benign class is an error, since it can never be violated and a
 * row that always holds would say nothing; and 'state' needs the state: it
 * names.
 */
#define CHECK_STATE_NAME "state"

static bool load_checks(loader *L, struct fy_node *n, bool has_state)
{
    scenario *sc = L->sc;
    if (!yaml_want_sequence(&L->doc, n, L->d, "a list of invariants to check (violation classes, or state)"))
        return false;
    /* The names a user may write, for "did you mean": every class that can fail a run, and state. */
    const char *names[VC_COUNT + 1];
    int n_names = 0;
    for (int c = 0; c < VC_COUNT; c++)
        if (!vclass_benign((vclass)c))
            names[n_names++] = vclass_name((vclass)c);
    names[n_names++] = CHECK_STATE_NAME;
    sc->expect.checks = 0;
    sc->expect.checks_state = false;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(n, &it))) {
        const char *name;
        if (!yaml_text(&L->doc, item, &name, L->d, "an invariant name"))
            return false;
        bool repeated;
        if (strcmp(name, CHECK_STATE_NAME) == 0) {
            if (!has_state) {
                diag_error(L->d, pos_of(L, item),
                           "checks: names 'state', but expect: gives no state: to check; add the final states "
                           "under expect: state: or drop 'state'");
                return false;
            }
            repeated = sc->expect.checks_state;
            sc->expect.checks_state = true;
        } else {
            int c = vclass_parse(name);
            if (c < 0) {
                const char *hint = diag_suggest(name, names, n_names);
                if (hint)
                    diag_error(L->d, pos_of(L, item), "unknown invariant '%s' in checks; did you mean '%s'?", name,
                               hint);
                else
                    diag_error(L->d, pos_of(L, item),
                               "unknown invariant '%s' in checks; expected a violation class or state", name);
                return false;
            }
            if (vclass_benign((vclass)c)) {
                diag_error(L->d, pos_of(L, item),
                           "'%s' never fails a run, so it cannot be checked; checks: takes the classes that can "
                           "(e.g. lost-update, divergence) and state",
                           name);
                return false;
            }
            repeated = (sc->expect.checks & VCLASS_BIT(c)) != 0;
            sc->expect.checks |= VCLASS_BIT(c);
        }
        if (repeated) {
            diag_error(L->d, pos_of(L, item), "'%s' is listed twice in checks", name);
            return false;
        }
    }
    sc->expect.has_checks = true;
    return true;
}

static bool load_expect(loader *L, struct fy_node *n)
{
    scenario *sc = L->sc;
    if (!yaml_want_mapping(&L->doc, n, L->d, "expectations"))
        return false;
    static const char *const KEYS[] = { "quiesce_within", "violations", "state", "checks" };
    if (!yaml_check_keys(&L->doc, n, KEYS, N(KEYS), L->d, "expect"))
        return false;
    struct fy_node *v;
    if ((v = yaml_get(n, "quiesce_within"))) {
        if (!yaml_duration(&L->doc, v, false, &sc->expect.quiesce_within_us, L->d, "quiesce_within"))
            return false;
        if (sc->expect.quiesce_within_us == 0) {
            diag_error(L->d, pos_of(L, v), "quiesce_within must be longer than 0s");
            return false;
        }
    }
    if ((v = yaml_get(n, "violations"))) {
        if (!load_vclass_list(&L->doc, v, &sc->expect.violations, L->d, "a list of violation classes ([] for none)"))
            return false;
        sc->expect.has_violations = true;
    }
    if ((v = yaml_get(n, "state")) && !load_state(L, v))
        return false;
    if ((v = yaml_get(n, "checks")) && !load_checks(L, v, yaml_get(n, "state") != NULL))
        return false;
    return true;
}

/* --- workload ----------------------------------------------------------------------- */

static bool load_count(loader *L, struct fy_node *map, const char *key, int64_t min, int64_t max, int *out)
{
    struct fy_node *v = yaml_get(map, key);
    int64_t n;
    if (!v)
        return true;
    if (!yaml_int(&L->doc, v, min, max, &n, L->d, key))
        return false;
    *out = (int)n;
    return true;
}

static bool load_rate(loader *L, struct fy_node *map, const char *key, double max, double *out)
{
    struct fy_node *v = yaml_get(map, key);
    return !v || yaml_number(&L->doc, v, 0.0, max, out, L->d, key);
}

static bool load_server_faults(loader *L, struct fy_node *map, server_faults *out);

static bool load_span(loader *L, struct fy_node *map, const char *key, int64_t *out)
{
    struct fy_node *v = yaml_get(map, key);
    if (!v)
        return true;
    if (!yaml_duration(&L->doc, v, false, out, L->d, key))
        return false;
    if (*out <= 0) {
        diag_error(L->d, pos_of(L, v), "%s must be longer than 0s", key);
        return false;
    }
    return true;
}

static bool section(loader *L, struct fy_node *map, const char *key, const char *const *keys, int n_keys,
                    struct fy_node **out)
{
    *out = yaml_get(map, key);
    if (!*out)
        return true;
    char context[64];
    snprintf(context, sizeof context, "workload %s settings", key);
    return yaml_want_mapping(&L->doc, *out, L->d, context) && yaml_check_keys(&L->doc, *out, keys, n_keys, L->d, context);
}

/* One of two words (events: random | chains, picks: profile | per-device); *on is whether it is the second. */
static bool load_word(loader *L, struct fy_node *n, const char *key, const char *off, const char *on_word, bool *on)
{
    struct fy_node *v = yaml_get(n, key);
    if (!v)
        return true;
    const char *text;
    char context[96];
    snprintf(context, sizeof context, "workload %s (%s or %s)", key, off, on_word);
    if (!yaml_text(&L->doc, v, &text, L->d, context))
        return false;
    if (strcmp(text, off) != 0 && strcmp(text, on_word) != 0) {
        diag_error(L->d, pos_of(L, v), "unknown %s '%s'; expected %s or %s", key, text, off, on_word);
        return false;
    }
    *on = strcmp(text, on_word) == 0;
    return true;
}

/* The workload keys the session checks need: refs, events, picks, server_clock (all off by default). */
static bool load_workload_modelling(loader *L, struct fy_node *n, workload_config *w)
{
    struct fy_node *v;
    if ((v = yaml_get(n, "refs")) && !yaml_bool(&L->doc, v, &w->refs, L->d, "refs"))
        return false;
    if (!load_word(L, n, "events", "random", "chains", &w->event_chains) ||
        !load_word(L, n, "picks", "profile", "per-device", &w->picks_per_device))
        return false;
    static const char *const SERVER_CLOCK_KEYS[] = { "steps_per_day", "step_max" };
    if (!section(L, n, "server_clock", SERVER_CLOCK_KEYS, N(SERVER_CLOCK_KEYS), &v))
        return false;
    if (v && (!load_rate(L, v, "steps_per_day", 10000.0, &w->server_clock_steps_per_day) ||
              !load_span(L, v, "step_max", &w->server_clock_step_max_us)))
        return false;
    static const char *const FORMS_KEYS[] = { "per_update", "open_mean" };
    if (!section(L, n, "forms", FORMS_KEYS, N(FORMS_KEYS), &v))
        return false;
    if (v && (!load_rate(L, v, "per_update", 1.0, &w->forms_per_update) ||
              !load_span(L, v, "open_mean", &w->forms_open_mean_us)))
        return false;
    return true;
}

static bool load_workload(loader *L, struct fy_node *n)
{
    scenario *sc = L->sc;
    workload_config *w = &sc->workload;
    if (!yaml_want_mapping(&L->doc, n, L->d, "workload settings"))
        return false;
    static const char *const KEYS[] = { "duration", "users",   "devices_per_user", "writes_per_hour", "mix",
                                        "types",    "keys",    "popularity",       "fields",          "edit",
                                        "offline",  "clocks",  "network",          "crashes",         "swarm",
                                        "server_answers", "auth", "refs", "events", "picks", "server_clock",
                                        "storage", "forms", "lifecycle", "vary" };
    if (!yaml_check_keys(&L->doc, n, KEYS, N(KEYS), L->d, "workload settings"))
        return false;
    static const char *const DEFAULT_TYPES[] = { "item" };
    *w = (workload_config){
        .devices_per_user = 1,
        .writes_per_hour = 20.0,
        .mix = { [MIX_CREATE] = 5, [MIX_UPDATE] = 60, [MIX_DELETE] = 5, [MIX_INCREMENT] = 15, [MIX_APPEND] = 15 },
        .n_types = 1,
        .types = DEFAULT_TYPES,
        .keys = 10,
        .zipf_s = 1.1,
        .fields = 3,
        .online_mean_us = 30 * INT64_C(60000000),
        .offline_mean_us = 5 * INT64_C(60000000),
        .long_mean_us = 3 * INT64_C(86400000000),
        .offset_dist = SKEW_UNIFORM,
        .clock_step_max_us = INT64_C(60000000),
        .partition_mean_us = 5 * INT64_C(60000000),
        .crash_down_mean_us = 5 * INT64_C(60000000),
        .server_down_mean_us = 2 * INT64_C(60000000),
        .server_window_mean_us = 2 * INT64_C(60000000),
        .server_clock_step_max_us = INT64_C(60000000),
        .disk_full_mean_us = 2 * INT64_C(60000000),
        .forms_open_mean_us = 5 * INT64_C(60000000),
        .signed_out_mean_us = 10 * INT64_C(60000000),
    };
    struct fy_node *v;
    if (!(v = yaml_get(n, "duration"))) {
        diag_error(L->d, pos_of(L, n), "a workload needs 'duration' (how long users keep working, e.g. 2h)");
        return false;
    }
    if (!load_span(L, n, "duration", &w->duration_us))
        return false;
    if (!load_count(L, n, "users", 1, SCENARIO_DEVICES_MAX, &w->users) ||
        !load_count(L, n, "devices_per_user", 1, SCENARIO_DEVICES_MAX, &w->devices_per_user) ||
        !load_rate(L, n, "writes_per_hour", 100000.0, &w->writes_per_hour) ||
        !load_count(L, n, "keys", 0, 100000, &w->keys) || !load_count(L, n, "fields", 1, 9, &w->fields))
        return false;
    if (yaml_get(n, "devices_per_user") && !yaml_get(n, "users")) {
        diag_error(L->d, pos_of(L, yaml_key_node(n, "devices_per_user")), "devices_per_user needs users");
        return false;
    }
    if ((v = yaml_get(n, "mix"))) {
        static const char *const MIX_KEYS[] = { "create", "update", "delete", "increment", "append" };
        if (!yaml_want_mapping(&L->doc, v, L->d, "the op mix (relative weights)") ||
            !yaml_check_keys(&L->doc, v, MIX_KEYS, N(MIX_KEYS), L->d, "the op mix"))
            return false;
        double total = 0;
        for (int i = 0; i < MIX_COUNT; i++) {
            w->mix[i] = 0.0;
            if (!load_rate(L, v, MIX_KEYS[i], 1e6, &w->mix[i]))
                return false;
            total += w->mix[i];
        }
        if (total <= 0.0) {
            diag_error(L->d, pos_of(L, v), "the op mix needs at least one weight above 0");
            return false;
        }
    }
    if ((v = yaml_get(n, "types"))) {
        if (!yaml_want_sequence(&L->doc, v, L->d, "a list of entity types"))
            return false;
        int count = fy_node_sequence_item_count(v);
        if (count < 1) {
            diag_error(L->d, pos_of(L, v), "types needs at least one entity type");
            return false;
        }
        const char **types = arena_alloc(&sc->arena, (size_t)count * sizeof *types);
        w->types = types;
        w->n_types = 0;
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(v, &it)))
            if (!yaml_string(&L->doc, item, &sc->arena, &types[w->n_types++], L->d, "an entity type"))
                return false;
    }
    if ((v = yaml_get(n, "popularity"))) {
        static const char *const POP_KEYS[] = { "dist", "s" };
        if (!yaml_want_mapping(&L->doc, v, L->d, "key popularity ({ dist: zipf, s: 1.1 } or { dist: uniform })") ||
            !yaml_check_keys(&L->doc, v, POP_KEYS, N(POP_KEYS), L->d, "key popularity"))
            return false;
        const char *dist_name = "uniform";
        struct fy_node *x = yaml_get(v, "dist");
        if (x && !yaml_text(&L->doc, x, &dist_name, L->d, "a popularity distribution"))
            return false;
        if (strcmp(dist_name, "zipf") != 0 && strcmp(dist_name, "uniform") != 0) {
            diag_error(L->d, pos_of(L, x), "unknown popularity '%s'; expected zipf or uniform", dist_name);
            return false;
        }
        w->zipf = strcmp(dist_name, "zipf") == 0;
        if ((x = yaml_get(v, "s")) && !yaml_number(&L->doc, x, 0.0, 10.0, &w->zipf_s, L->d, "the zipf exponent s"))
            return false;
    }
    if ((v = yaml_get(n, "edit"))) {
        const char *edit;
        if (!yaml_text(&L->doc, v, &edit, L->d, "what an update writes (field or record)"))
            return false;
        if (strcmp(edit, "field") != 0 && strcmp(edit, "record") != 0) {
            diag_error(L->d, pos_of(L, v), "unknown edit '%s'; expected field (one field per update) or record "
                                          "(every field)", edit);
            return false;
        }
        w->edit_whole_record = strcmp(edit, "record") == 0;
    }
    static const char *const OFFLINE_KEYS[] = { "online_mean", "offline_mean", "long_probability", "long_mean" };
    if (!section(L, n, "offline", OFFLINE_KEYS, N(OFFLINE_KEYS), &v))
        return false;
    if (v) {
        w->offline = true;
        if (!load_span(L, v, "online_mean", &w->online_mean_us) || !load_span(L, v, "offline_mean", &w->offline_mean_us) ||
            !load_rate(L, v, "long_probability", 1.0, &w->long_probability) || !load_span(L, v, "long_mean", &w->long_mean_us))
            return false;
    }
    static const char *const CLOCK_KEYS[] = { "offset", "drift_ppm", "steps_per_day", "step_max" };
    if (!section(L, n, "clocks", CLOCK_KEYS, N(CLOCK_KEYS), &v))
        return false;
    if (v) {
        w->clocks = true;
        struct fy_node *x;
        if ((x = yaml_get(v, "offset"))) {
            static const char *const OFFSET_KEYS[] = { "dist", "max", "sigma" };
            if (!yaml_want_mapping(&L->doc, x, L->d, "a skew distribution ({ dist: uniform, max: 5m })") ||
                !yaml_check_keys(&L->doc, x, OFFSET_KEYS, N(OFFSET_KEYS), L->d, "the clock offset distribution"))
                return false;
            const char *dist_name = "uniform";
            struct fy_node *y = yaml_get(x, "dist");
            if (y && !yaml_text(&L->doc, y, &dist_name, L->d, "a skew distribution"))
                return false;
            if (strcmp(dist_name, "uniform") != 0 && strcmp(dist_name, "normal") != 0) {
                diag_error(L->d, pos_of(L, y), "unknown offset distribution '%s'; expected uniform or normal", dist_name);
                return false;
            }
            w->offset_dist = strcmp(dist_name, "normal") == 0 ? SKEW_NORMAL : SKEW_UNIFORM;
            if (!load_span(L, x, "max", &w->offset_max_us) || !load_span(L, x, "sigma", &w->offset_sigma_us))
                return false;
            if (w->offset_dist == SKEW_NORMAL && !yaml_get(x, "sigma")) {
                diag_error(L->d, pos_of(L, x), "a normal clock offset needs 'sigma'");
                return false;
            }
            if (w->offset_dist == SKEW_UNIFORM && !yaml_get(x, "max")) {
                diag_error(L->d, pos_of(L, x), "a uniform clock offset needs 'max'");
                return false;
            }
        }
        if ((x = yaml_get(v, "drift_ppm"))) {
            static const char *const DRIFT_KEYS[] = { "dist", "max" };
            if (!yaml_want_mapping(&L->doc, x, L->d, "a drift distribution ({ dist: uniform, max: 50 })") ||
                !yaml_check_keys(&L->doc, x, DRIFT_KEYS, N(DRIFT_KEYS), L->d, "the drift distribution"))
                return false;
            struct fy_node *y = yaml_get(x, "dist");
            const char *dist_name = "uniform";
            if (y && (!yaml_text(&L->doc, y, &dist_name, L->d, "a drift distribution") || strcmp(dist_name, "uniform") != 0)) {
                if (strcmp(dist_name, "uniform") != 0)
                    diag_error(L->d, pos_of(L, y), "unknown drift distribution '%s'; expected uniform", dist_name);
                return false;
            }
            if (!load_rate(L, x, "max", 1000.0, &w->drift_ppm_max))
                return false;
        }
        if (!load_rate(L, v, "steps_per_day", 10000.0, &w->clock_steps_per_day) ||
            !load_span(L, v, "step_max", &w->clock_step_max_us))
            return false;
    }
    static const char *const NET_KEYS[] = { "loss", "duplicate", "lost_response", "partitions_per_hour", "partition_mean" };
    if (!section(L, n, "network", NET_KEYS, N(NET_KEYS), &v))
        return false;
    if (v) {
        w->network = true;
        if (!load_rate(L, v, "loss", 1.0, &w->loss) || !load_rate(L, v, "duplicate", 1.0, &w->duplicate) ||
            !load_rate(L, v, "lost_response", 1.0, &w->lost_response) ||
            !load_rate(L, v, "partitions_per_hour", 3600.0, &w->partitions_per_hour) ||
            !load_span(L, v, "partition_mean", &w->partition_mean_us))
            return false;
    }
    static const char *const CRASH_KEYS[] = { "per_day", "down_mean", "server_per_day", "server_down_mean",
                                              "power_loss_per_day" };
    if (!section(L, n, "crashes", CRASH_KEYS, N(CRASH_KEYS), &v))
        return false;
    if (v && (!load_rate(L, v, "per_day", 100000.0, &w->crashes_per_day) || !load_span(L, v, "down_mean", &w->crash_down_mean_us) ||
              !load_rate(L, v, "server_per_day", 100000.0, &w->server_crashes_per_day) ||
              !load_span(L, v, "server_down_mean", &w->server_down_mean_us) ||
              !load_rate(L, v, "power_loss_per_day", 100000.0, &w->power_losses_per_day)))
        return false;
    static const char *const ANSWER_KEYS[] = { "errors", "timeouts", "windows_per_day", "window_mean" };
    if (!section(L, n, "server_answers", ANSWER_KEYS, N(ANSWER_KEYS), &v))
        return false;
    if (v) {
        server_faults f = { 0 };
        if (!load_server_faults(L, v, &f) || !load_rate(L, v, "windows_per_day", 100000.0, &w->server_windows_per_day) ||
            !load_span(L, v, "window_mean", &w->server_window_mean_us))
            return false;
        w->server_error_p = f.error_p;
        w->server_timeout_p = f.timeout_p;
    }
    static const char *const AUTH_KEYS[] = { "expiries_per_day" };
    if (!section(L, n, "auth", AUTH_KEYS, N(AUTH_KEYS), &v))
        return false;
    if (v && !load_rate(L, v, "expiries_per_day", 100000.0, &w->token_expiries_per_day))
        return false;
    static const char *const STORAGE_KEYS[] = { "disk_full_per_day", "disk_full_mean", "io_errors_per_day", "server" };
    if (!section(L, n, "storage", STORAGE_KEYS, N(STORAGE_KEYS), &v))
        return false;
    struct fy_node *server_too;
    if (v && (!load_rate(L, v, "disk_full_per_day", 100000.0, &w->disk_full_per_day) ||
              !load_span(L, v, "disk_full_mean", &w->disk_full_mean_us) ||
              !load_rate(L, v, "io_errors_per_day", 100000.0, &w->io_errors_per_day) ||
              ((server_too = yaml_get(v, "server")) &&
               !yaml_bool(&L->doc, server_too, &w->storage_server, L->d, "storage: server"))))
        return false;
    static const char *const LIFECYCLE_KEYS[] = { "reinstalls_per_day", "sign_outs_per_day", "signed_out_mean",
                                                  "account_switches_per_day" };
    if (!section(L, n, "lifecycle", LIFECYCLE_KEYS, N(LIFECYCLE_KEYS), &v))
        return false;
    if (v && (!load_rate(L, v, "reinstalls_per_day", 100000.0, &w->reinstalls_per_day) ||
              !load_rate(L, v, "sign_outs_per_day", 100000.0, &w->sign_outs_per_day) ||
              !load_rate(L, v, "account_switches_per_day", 100000.0, &w->account_switches_per_day) ||
              !load_span(L, v, "signed_out_mean", &w->signed_out_mean_us)))
        return false;
    if ((v = yaml_get(n, "swarm")) && !yaml_bool(&L->doc, v, &w->swarm, L->d, "swarm"))
        return false;
    if (!load_workload_modelling(L, n, w))
        return false;
    /* The profile is read before the workload: every design vary can draw is checked against it now. */
    if ((v = yaml_get(n, "vary")) &&
        (!vary_load(&L->doc, v, &w->vary, L->d) || !vary_check(&w->vary, &sc->profile.engine, sc->profile.name, L->d)))
        return false;
    sc->has_workload = true;
    return true;
}

scenario *scenario_for_seed(const scenario *tmpl, uint64_t seed, diag *d)
{
    if (tmpl->has_workload)
        return workload_instantiate(tmpl, seed, d);
    scenario *copy = xcalloc(1, sizeof *copy);
    *copy = *tmpl;
    arena_init(&copy->arena, 1024);   /* borrows everything; owns nothing yet */
    copy->seed = seed;
    copy->has_seed = true;
    return copy;
}

/* server: { errors: p, timeouts: q }: the probabilities of the gateway's answers, which share one draw. */
static bool load_server_faults(loader *L, struct fy_node *map, server_faults *out)
{
    if (!load_rate(L, map, "errors", 1.0, &out->error_p) || !load_rate(L, map, "timeouts", 1.0, &out->timeout_p))
        return false;
    if (out->error_p + out->timeout_p > 1.0) {
        diag_error(L->d, pos_of(L, yaml_get(map, "timeouts")),
                   "errors (%g) and timeouts (%g) are probabilities of one request's answer; together at most 1",
                   out->error_p, out->timeout_p);
        return false;
    }
    return true;
}

/* --- the whole file ---------------------------------------------------------------- */

static bool load_root(loader *L, struct fy_node *root)
{
    scenario *sc = L->sc;
    if (!yaml_want_mapping(&L->doc, root, L->d, "a scenario"))
        return false;
    static const char *const KEYS[] = { "name",    "description", "profile", "seed",     "devices", "server",
                                        "network", "steps",       "end",     "workload", "expect" };
    if (!yaml_check_keys(&L->doc, root, KEYS, N(KEYS), L->d, "a scenario"))
        return false;
    size_t step_cap = 0;
    struct fy_node *v;

    if ((v = yaml_get(root, "name"))) {
        if (!yaml_string(&L->doc, v, &sc->arena, &sc->name, L->d, "the scenario name"))
            return false;
    } else {
        /* The file name without directory and extension. */
        const char *base = strrchr(sc->path, '/');
        base = base ? base + 1 : sc->path;
        const char *dot = strrchr(base, '.');
        sc->name = arena_strndup(&sc->arena, base, dot ? (size_t)(dot - base) : strlen(base));
    }
    if ((v = yaml_get(root, "description")) &&
        !yaml_string(&L->doc, v, &sc->arena, &sc->description, L->d, "the description"))
        return false;
    if ((v = yaml_get(root, "seed"))) {
        if (!yaml_u64(&L->doc, v, &sc->seed, L->d, "the seed"))
            return false;
        sc->has_seed = true;
    }
    /* The network before devices: a device's link starts from the scenario's network. */
    if ((v = yaml_get(root, "network")) && !load_network(L, v, &sc->network))
        return false;
    struct fy_node *profile = yaml_get(root, "profile");
    if (!profile) {
        diag_error(L->d, pos_of(L, root), "a scenario needs 'profile' (a file in profiles/, e.g. reference)");
        return false;
    }
    if (!profile_load_reference(&L->doc, profile, sc->path, &sc->arena, &sc->profile, L->d))
        return false;
    if ((v = yaml_get(root, "end")) && !yaml_duration(&L->doc, v, false, &sc->end_us, L->d, "end"))
        return false;
    struct fy_node *workload = yaml_get(root, "workload");
    if (workload && !load_workload(L, workload))
        return false;
    struct fy_node *devices = yaml_get(root, "devices");
    bool generated = sc->has_workload && sc->workload.users > 0;
    if (generated && devices) {
        diag_error(L->d, pos_of(L, yaml_key_node(root, "devices")),
                   "give devices either under 'devices:' or as workload users and devices_per_user, not both");
        return false;
    }
    if (!devices && !generated) {
        diag_error(L->d, pos_of(L, root), "a scenario needs 'devices' (or a workload with users)");
        return false;
    }
    if (devices && !load_devices(L, devices, &step_cap))
        return false;
    if (workload) {
        int n = generated ? sc->workload.users * sc->workload.devices_per_user : sc->n_devices;
        double expected = workload_expected_steps(&sc->workload, n);
        if (n > SCENARIO_DEVICES_MAX) {
            diag_error(L->d, pos_of(L, yaml_key_node(workload, "devices_per_user")),
                       "%d users with %d devices each is %d devices; at most %d (SCENARIO_DEVICES_MAX, a bound)",
                       sc->workload.users, sc->workload.devices_per_user, n, SCENARIO_DEVICES_MAX);
            return false;
        }
        if (expected > SCENARIO_STEPS_MAX) {
            diag_error(L->d, pos_of(L, workload),
                       "the workload would make about %.0f steps per seed (%d devices for %.4g hours at %.4g writes "
                       "per hour, with setup and faults), more than %d (SCENARIO_STEPS_MAX, a bound); use fewer "
                       "devices, writes or hours",
                       expected, n, (double)sc->workload.duration_us / 3600e6, sc->workload.writes_per_hour,
                       SCENARIO_STEPS_MAX);
            return false;
        }
    }
    if ((v = yaml_get(root, "server"))) {
        if (!yaml_want_mapping(&L->doc, v, L->d, "server settings"))
            return false;
        static const char *const SERVER_KEYS[] = { "clock", "errors", "timeouts", "token_lifetime" };
        if (!yaml_check_keys(&L->doc, v, SERVER_KEYS, N(SERVER_KEYS), L->d, "server settings"))
            return false;
        struct fy_node *clock = yaml_get(v, "clock");
        if (clock && !load_clock(L, clock, &sc->server_clock, NODE_SERVER, &step_cap))
            return false;
        if (!load_server_faults(L, v, &sc->server_faults) || !load_span(L, v, "token_lifetime", &sc->token_lifetime_us))
            return false;
    }
    struct fy_node *steps = yaml_get(root, "steps");
    if (!steps && !sc->has_workload) {
        diag_error(L->d, pos_of(L, root), "a scenario needs 'steps' (or a workload)");
        return false;
    }
    if (steps && !load_steps(L, steps, &step_cap))
        return false;
    scenario_sort_steps(sc);
    if (!scenario_check_switches(sc, L->d))
        return false;
    /*
     * end: keeps the timeline running past its last step; one before it would
     * be silently ignored (the final heal waits for the last step), which
     * hides a mistake in the file.
     */
    if ((v = yaml_get(root, "end"))) {
        char end[DURATION_TEXT_MAX], last[DURATION_TEXT_MAX];
        const step *final = sc->n_steps ? &sc->steps[sc->n_steps - 1] : NULL;
        if (final && sc->end_us < final->at_us) {
            diag_error(L->d, pos_of(L, v), "end: %s is earlier than the last step, at %s (line %d); end: can only "
                       "keep the timeline running after its last step",
                       duration_format(sc->end_us, end, sizeof end), duration_format(final->at_us, last, sizeof last),
                       final->pos.line);
            return false;
        }
        if (sc->has_workload && sc->end_us < sc->workload.duration_us) {
            diag_error(L->d, pos_of(L, v), "end: %s is earlier than the workload's duration: %s; end: can only "
                       "keep the timeline running after it",
                       duration_format(sc->end_us, end, sizeof end),
                       duration_format(sc->workload.duration_us, last, sizeof last));
            return false;
        }
    }
    sc->expect.quiesce_within_us = SCENARIO_DEFAULT_QUIESCE_US;
    if ((v = yaml_get(root, "expect")) && !load_expect(L, v))
        return false;
    return true;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

bool scenario_check_switches(const scenario *sc, diag *d)
{
    const char **users = xcalloc((size_t)sc->n_devices + 1, sizeof *users);
    for (int i = 0; i < sc->n_devices; i++)
        users[i + 1] = sc->devices[i].user;
    bool ok = true;
    for (int i = 0; ok && i < sc->n_steps; i++) {
        const step *st = &sc->steps[i];
        if (st->kind != STEP_SWITCH_ACCOUNT)
            continue;
        int node = st->nodes[0];
        if (strcmp(users[node], st->user) == 0) {
            diag_error(d, st->pos, "%s already belongs to %s at this step; switch_account needs another account",
                       sc->devices[node - 1].name, st->user);
            ok = false;
        }
        users[node] = st->user;
    }
    xfree(users);
    return ok;
}

bool scenario_check_ids(const scenario *sc, diag *d)
{
    if (sc->profile.engine.ids != IDS_SERVER)
        return true;
    for (int i = 0; i < sc->n_steps; i++) {
        const step *st = &sc->steps[i];
        if (st->kind == STEP_OP && st->op.id && all_digits(st->op.id)) {
            diag_error(d, st->pos,
                       "record id '%s' is all digits, but under the profile's ids: server only the server's ids "
                       "are; give the record a temporary id with a letter in it (say 'r%s')",
                       st->op.id, st->op.id);
            return false;
        }
    }
    return true;
}

scenario *scenario_load(const char *path, diag *d)
{
    scenario *sc = xcalloc(1, sizeof *sc);
    arena_init(&sc->arena, 32 * 1024);
    sc->path = arena_strdup(&sc->arena, path);
    sc->seed = SCENARIO_DEFAULT_SEED;
    net_config_default(&sc->network);
    loader L = { .sc = sc, .d = d };
    strmap_init(&L.device_index);
    bool ok = yaml_open(&L.doc, sc->path, d);
    if (ok) {
        ok = load_root(&L, yaml_root(&L.doc)) && scenario_check_ids(sc, d);
        yaml_close(&L.doc);
    }
    strmap_free(&L.device_index);
    if (!ok) {
        scenario_free(sc);
        return NULL;
    }
    return sc;
}

void scenario_free(scenario *sc)
{
    if (!sc)
        return;
    arena_release(&sc->arena);
    xfree(sc);
}
