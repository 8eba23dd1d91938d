/*
 * workload: instantiating a workload for a seed. See workload.h.
 *
 * Invariants: every draw comes from a stream named after its purpose and
 * device; a stream's draws depend only on the configuration and that
 * device's earlier draws, never on another device's or on the run. Every
 * write keeps its profile's schema for its type (the fields it types and
 * the ones a create must carry), so a device validating its writes refuses
 * none of them; the schema changes what a write says, never which draws
 * are made, so a type without one is written exactly as before.
 */
#include "sim/workload.h"
#include "base/xalloc.h"
#include "sim/detmath.h"
#include "sim/dist.h"
#include "sim/pcg.h"
#include "sim/scenario.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC INT64_C(1000000)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

/* The setup phase: each user's first device creates the records at 0s; everyone syncs at 1m. */
#define SETUP_SYNC_US MINUTE
#define WORK_START_US (2 * MINUTE)

static const char *const EVENT_KINDS[] = { "start", "pause", "resume", "note", "stop" };

typedef struct builder {
    scenario *sc;
    size_t cap;
    diag *d;
    bool overflow;
} builder;

static step *new_step(builder *b, int64_t at_us, step_kind kind, int node)
{
    scenario *sc = b->sc;
    if ((size_t)sc->n_steps >= SCENARIO_STEPS_MAX) {
        b->overflow = true;
        return NULL;
    }
    if ((size_t)sc->n_steps == b->cap) {
        size_t next = b->cap ? b->cap * 2 : 256;
        step *grown = arena_alloc(&sc->arena, next * sizeof *grown);
        if (sc->n_steps)
            memcpy(grown, sc->steps, (size_t)sc->n_steps * sizeof *grown);
        sc->steps = grown;
        b->cap = next;
    }
    step *s = &sc->steps[sc->n_steps++];
    memset(s, 0, sizeof *s);
    s->at_us = at_us;
    s->kind = kind;
    s->n_nodes = 1;
    s->nodes = arena_alloc(&sc->arena, sizeof *s->nodes);
    s->nodes[0] = node;
    s->pos = (src_pos){ .file = sc->path };
    return s;
}

/* Exponential with the given mean, at least 1 us. */
static int64_t exp_us(pcg32 *rng, double mean_us)
{
    double u = pcg32_unit(rng);
    double x = -mean_us * det_log(1.0 - u);
    if (x > 400.0 * (double)DAY)
        x = 400.0 * (double)DAY;
    int64_t v = (int64_t)(x + 0.5);
    return v > 0 ? v : 1;
}

static double unit_range(pcg32 *rng, double lo, double hi)
{
    return lo + (hi - lo) * pcg32_unit(rng);
}

static pcg32 stream(uint64_t seed, const char *purpose, const char *device)
{
    char name[160];
    snprintf(name, sizeof name, "%s/%s", purpose, device);
    return pcg_stream(seed, name);
}

swarm_choice workload_swarm(const workload_config *w, uint64_t seed)
{
    swarm_choice c = {
        .offline = w->offline,
        .long_offline = w->offline && w->long_probability > 0,
        .skew = w->clocks && (w->offset_max_us > 0 || w->offset_sigma_us > 0),
        .drift = w->clocks && w->drift_ppm_max > 0,
        .clock_steps = w->clocks && w->clock_steps_per_day > 0,
        .loss = w->network && w->loss > 0,
        .duplicate = w->network && w->duplicate > 0,
        .lost_response = w->network && w->lost_response > 0,
        .partitions = w->network && w->partitions_per_hour > 0,
        .crashes = w->crashes_per_day > 0,
        .loss_p = w->loss,
        .duplicate_p = w->duplicate,
        .lost_response_p = w->lost_response,
        .partitions_per_hour = w->partitions_per_hour,
        .crashes_per_day = w->crashes_per_day,
        .clock_steps_per_day = w->clock_steps_per_day,
        .long_probability = w->long_probability,
        .server_crashes = w->server_crashes_per_day > 0,
        .server_crashes_per_day = w->server_crashes_per_day,
        .server_answers = w->server_error_p > 0 || w->server_timeout_p > 0,
        .server_windows = w->server_windows_per_day > 0,
        .server_error_p = w->server_error_p,
        .server_timeout_p = w->server_timeout_p,
        .server_windows_per_day = w->server_windows_per_day,
        .token_expiries = w->token_expiries_per_day > 0,
        .token_expiries_per_day = w->token_expiries_per_day,
        .refs = w->refs,
        .event_chains = w->event_chains,
        .picks_per_device = w->picks_per_device,
        .server_clock_steps = w->server_clock_steps_per_day > 0,
        .server_clock_steps_per_day = w->server_clock_steps_per_day,
        .power_losses = w->power_losses_per_day > 0,
        .power_losses_per_day = w->power_losses_per_day,
        .disk_full = w->disk_full_per_day > 0,
        .disk_full_per_day = w->disk_full_per_day,
        .io_errors = w->io_errors_per_day > 0,
        .io_errors_per_day = w->io_errors_per_day,
        .forms = w->forms_per_update > 0,
        .forms_per_update = w->forms_per_update,
        .reinstalls = w->reinstalls_per_day > 0,
        .reinstalls_per_day = w->reinstalls_per_day,
        .sign_outs = w->sign_outs_per_day > 0,
        .sign_outs_per_day = w->sign_outs_per_day,
        .account_switches = w->account_switches_per_day > 0,
        .account_switches_per_day = w->account_switches_per_day,
    };
    if (!w->swarm)
        return c;
    /* Swarm: each fault kind is on or off for this seed, and its rate is drawn below the configured one. */
    pcg32 rng = pcg_stream(seed, "swarm");
    bool *kinds[] = { &c.offline, &c.long_offline, &c.skew, &c.drift, &c.clock_steps,
                      &c.loss, &c.duplicate, &c.lost_response, &c.partitions, &c.crashes };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        bool on = pcg32_bounded(&rng, 2) == 1;
        *kinds[i] = *kinds[i] && on;
    }
    c.loss_p = unit_range(&rng, 0.0, w->loss);
    c.duplicate_p = unit_range(&rng, 0.0, w->duplicate);
    c.lost_response_p = unit_range(&rng, 0.0, w->lost_response);
    c.partitions_per_hour = unit_range(&rng, 0.0, w->partitions_per_hour);
    c.crashes_per_day = unit_range(&rng, 0.0, w->crashes_per_day);
    c.clock_steps_per_day = unit_range(&rng, 0.0, w->clock_steps_per_day);
    c.long_probability = unit_range(&rng, 0.0, w->long_probability);
    /* Appended draws: a seed's choices above are the same with or without these fault kinds. */
    c.server_crashes = c.server_crashes && pcg32_bounded(&rng, 2) == 1;
    c.server_crashes_per_day = unit_range(&rng, 0.0, w->server_crashes_per_day);
    c.server_answers = c.server_answers && pcg32_bounded(&rng, 2) == 1;
    c.server_windows = c.server_windows && pcg32_bounded(&rng, 2) == 1;
    c.server_error_p = unit_range(&rng, 0.0, w->server_error_p);
    c.server_timeout_p = unit_range(&rng, 0.0, w->server_timeout_p);
    c.server_windows_per_day = unit_range(&rng, 0.0, w->server_windows_per_day);
    c.token_expiries = c.token_expiries && pcg32_bounded(&rng, 2) == 1;
    c.token_expiries_per_day = unit_range(&rng, 0.0, w->token_expiries_per_day);
    /* Appended draws for the session checks' workload: every choice above stays what it was. */
    c.refs = c.refs && pcg32_bounded(&rng, 2) == 1;
    c.event_chains = c.event_chains && pcg32_bounded(&rng, 2) == 1;
    c.picks_per_device = c.picks_per_device && pcg32_bounded(&rng, 2) == 1;
    c.server_clock_steps = c.server_clock_steps && pcg32_bounded(&rng, 2) == 1;
    c.server_clock_steps_per_day = unit_range(&rng, 0.0, w->server_clock_steps_per_day);
    /* Appended after every older draw, and drawn only when configured, so every existing seed keeps
     * its choices. */
    if (w->power_losses_per_day > 0) {
        c.power_losses = pcg32_bounded(&rng, 2) == 1;
        c.power_losses_per_day = unit_range(&rng, 0.0, w->power_losses_per_day);
    }
    c.disk_full = c.disk_full && pcg32_bounded(&rng, 2) == 1;
    c.disk_full_per_day = unit_range(&rng, 0.0, w->disk_full_per_day);
    c.io_errors = c.io_errors && pcg32_bounded(&rng, 2) == 1;
    c.io_errors_per_day = unit_range(&rng, 0.0, w->io_errors_per_day);
    if (w->forms_per_update > 0) {
        c.forms = pcg32_bounded(&rng, 2) == 1;
        c.forms_per_update = unit_range(&rng, 0.0, w->forms_per_update);
    }
    /* Appended after every older draw, and drawn only when configured, so every existing seed keeps
     * its choices. */
    if (w->reinstalls_per_day > 0) {
        c.reinstalls = pcg32_bounded(&rng, 2) == 1;
        c.reinstalls_per_day = unit_range(&rng, 0.0, w->reinstalls_per_day);
    }
    if (w->sign_outs_per_day > 0) {
        c.sign_outs = pcg32_bounded(&rng, 2) == 1;
        c.sign_outs_per_day = unit_range(&rng, 0.0, w->sign_outs_per_day);
    }
    /* Appended after every older draw, and drawn only when configured, so every existing seed keeps
     * its choices. */
    if (w->account_switches_per_day > 0) {
        c.account_switches = pcg32_bounded(&rng, 2) == 1;
        c.account_switches_per_day = unit_range(&rng, 0.0, w->account_switches_per_day);
    }
    return c;
}

double workload_expected_steps(const workload_config *w, int n_devices)
{
    double hours = (double)w->duration_us / 3600e6;
    /* Every user's records, created once (a listed device may be a user of its own), then a sync. */
    double setup = (double)(w->users > 0 ? w->users : n_devices) * w->keys + 1.0;
    /* Per device and hour: writes, and two steps per offline span, partition and crash. */
    double rate = w->writes_per_hour * (1.0 + w->forms_per_update);   /* forms: an open step per form save */
    if (w->offline)
        rate += 2.0 * 3600e6 / (double)(w->online_mean_us + w->offline_mean_us);
    if (w->network)
        rate += 2.0 * w->partitions_per_hour;
    rate += 2.0 * (w->crashes_per_day + w->power_losses_per_day) / 24.0;
    if (w->clocks)
        rate += w->clock_steps_per_day / 24.0;
    rate += w->token_expiries_per_day / 24.0;
    rate += (w->reinstalls_per_day + 2.0 * w->sign_outs_per_day + w->account_switches_per_day) / 24.0;
    double storage = (w->disk_full_per_day + w->io_errors_per_day) / 24.0;
    rate += storage;
    return setup + (double)n_devices * hours * rate +
           hours * (2.0 * w->server_crashes_per_day + w->server_windows_per_day + w->server_clock_steps_per_day) / 24.0 +
           (w->storage_server ? hours * storage : 0.0);
}

/* Devices: the template's, or users x devices_per_user generated ones. */
static bool add_devices(builder *b, const scenario *tmpl, const workload_config *w)
{
    scenario *sc = b->sc;
    if (w->users == 0) {
        sc->n_devices = tmpl->n_devices;
        sc->devices = arena_alloc(&sc->arena, (size_t)(tmpl->n_devices ? tmpl->n_devices : 1) * sizeof *sc->devices);
        memcpy(sc->devices, tmpl->devices, (size_t)tmpl->n_devices * sizeof *sc->devices);
        return true;
    }
    int64_t total = (int64_t)w->users * w->devices_per_user;
    if (total > SCENARIO_DEVICES_MAX) {
        diag_error(b->d, (src_pos){ .file = tmpl->path }, "the workload would have %lld devices; at most %d",
                   (long long)total, SCENARIO_DEVICES_MAX);
        return false;
    }
    sc->n_devices = (int)total;
    sc->devices = arena_alloc(&sc->arena, (size_t)total * sizeof *sc->devices);
    for (int u = 0; u < w->users; u++) {
        for (int k = 0; k < w->devices_per_user; k++) {
            device_config *dev = &sc->devices[u * w->devices_per_user + k];
            memset(dev, 0, sizeof *dev);
            dev->user = arena_printf(&sc->arena, "u%d", u + 1);
            dev->name = arena_printf(&sc->arena, "u%d-d%d", u + 1, k + 1);
            dev->net = tmpl->network;
            dev->pos = (src_pos){ .file = tmpl->path };
        }
    }
    return true;
}

static void draw_clock(device_config *dev, const workload_config *w, const swarm_choice *c, uint64_t seed)
{
    if (dev->has_clock || !w->clocks)
        return;
    pcg32 rng = stream(seed, "clock", dev->name);
    double offset = 0.0;
    if (w->offset_dist == SKEW_NORMAL)
        offset = dist_normal(&rng) * (double)w->offset_sigma_us;
    else
        offset = unit_range(&rng, -(double)w->offset_max_us, (double)w->offset_max_us);
    if (w->offset_max_us > 0 && offset > (double)w->offset_max_us)
        offset = (double)w->offset_max_us;
    if (w->offset_max_us > 0 && offset < -(double)w->offset_max_us)
        offset = -(double)w->offset_max_us;
    double drift_ppm = unit_range(&rng, -w->drift_ppm_max, w->drift_ppm_max);
    dev->clock.offset_us = c->skew ? (int64_t)offset : 0;
    dev->clock.drift_ppb = c->drift ? (int64_t)(drift_ppm * 1000.0) : 0;
}

/* Per-user record keys: "<user>-k<i>", type types[i mod n]. */
static const char *key_id(scenario *sc, const char *user, int k)
{
    return arena_printf(&sc->arena, "%s-k%d", user, k + 1);
}

/* --- the profile's schemas ----------------------------------------------------------- */

/* The rules of type when they have a schema the workload's writes must keep, else NULL. */
static const entity_rules *schema_of(const scenario *sc, const char *type)
{
    const entity_rules *r = profile_rules(&sc->profile.engine, type);
    return r->n_schema ? r : NULL;
}

static const schema_field *schema_field_named(const entity_rules *schema, const char *name)
{
    for (int i = 0; schema && i < schema->n_schema; i++)
        if (strcmp(schema->schema[i].name, name) == 0)
            return &schema->schema[i];
    return NULL;
}

/*
 * A value the schema field takes: one that names the write where the type
 * can (a string "device#n", an integer n), else one of what it allows (an
 * enumeration's values, a boolean), picked by the write's number -- never a
 * draw, so a schema changes what a write says and never which writes happen.
 */
static value schema_value(scenario *sc, const schema_field *f, const char *device, uint32_t n)
{
    switch (f->kind) {
    case VAL_INT: return (value){ .kind = VAL_INT, .i = n };
    case VAL_REAL: return (value){ .kind = VAL_REAL, .r = (double)n + 0.5 };
    case VAL_BOOL: return (value){ .kind = VAL_BOOL, .b = n % 2 == 1 };
    default:
        if (f->n_enum)
            return (value){ .kind = VAL_STRING, .s = f->enum_values[n % (uint32_t)f->n_enum] };
        return (value){ .kind = VAL_STRING, .s = arena_printf(&sc->arena, "%s#%u", device, n) };
    }
}

/* A generated field's value: the generator's own unless the schema wants another type or an enumeration. */
static value field_value(scenario *sc, const entity_rules *schema, const char *name, value generated,
                         const char *device, uint32_t n)
{
    const schema_field *f = schema_field_named(schema, name);
    if (!f)
        return generated;   /* a field the schema does not name is not the schema's business */
    bool fits = generated.kind == f->kind || (f->kind == VAL_REAL && generated.kind == VAL_INT);
    return fits && f->n_enum == 0 ? generated : schema_value(sc, f, device, n);
}

/* Whether increments of `count` keep the schema: it names no such field, or an integer or number one. */
static bool counter_allowed(const entity_rules *schema)
{
    const schema_field *f = schema_field_named(schema, "count");
    return !f || f->kind == VAL_INT || f->kind == VAL_REAL;
}

static int by_field_name(const void *a, const void *b)
{
    return strcmp(((const op_field *)a)->name, ((const op_field *)b)->name);
}

/*
 * A whole record: a counter and fields f1..fN, as the type's schema (when
 * the profile gives one) types them, plus every field it requires.
 */
static op_field *record_fields(builder *b, const workload_config *w, const char *type, const char *device,
                               uint32_t n, int *count)
{
    scenario *sc = b->sc;
    const entity_rules *schema = schema_of(sc, type);
    int extra = schema ? schema->n_schema : 0;
    op_field *f = arena_alloc(&sc->arena, (size_t)(w->fields + 1 + extra) * sizeof *f);
    /* Sorted by name: "count" < "f1" < "f2" ... (fields is at most 9, so f10 never sorts early). */
    f[0].name = "count";
    f[0].v = field_value(sc, schema, "count", (value){ .kind = VAL_INT, .i = 0 }, device, n);
    for (int i = 0; i < w->fields; i++) {
        f[i + 1].name = arena_printf(&sc->arena, "f%d", i + 1);
        f[i + 1].v = field_value(sc, schema, f[i + 1].name,
                                 (value){ .kind = VAL_STRING, .s = arena_printf(&sc->arena, "%s#%u", device, n) },
                                 device, n);
    }
    int n_fields = w->fields + 1;
    bool added = false;
    for (int i = 0; i < extra; i++) {
        const schema_field *s = &schema->schema[i];
        bool present = false;
        for (int k = 0; k < n_fields && !present; k++)
            present = strcmp(f[k].name, s->name) == 0;
        if (s->required && !present) {
            f[n_fields++] = (op_field){ .name = s->name, .v = schema_value(sc, s, device, n) };
            added = true;
        }
    }
    if (added)
        qsort(f, (size_t)n_fields, sizeof *f, by_field_name);
    *count = n_fields;
    return f;
}

/* --- references and event chains (refs: true, events: chains) ----------------------------- */

/*
 * Give a create of a type the profile declares refs for (pet.clientId -> client) the id of one of
 * the candidate records of the parent type (live in the user's timeline, and one the writing
 * device can show: see user_writes); the draw picks which. A parent type the workload does not
 * write, or one with no candidate, leaves the field out (the user makes a record that names no
 * parent), so a reference never names a record the user's timeline has deleted. A parent
 * deleted later, while its children live, is the delete the dangling-ref and causal-visibility
 * checks are for.
 */
static void add_refs(builder *b, const workload_config *w, step *s, const char *user, const bool *alive, uint32_t draw)
{
    scenario *sc = b->sc;
    const entity_rules *r = profile_rules(&sc->profile.engine, s->op.type);
    if (r->n_refs == 0)
        return;
    op_field *f = arena_alloc(&sc->arena, (size_t)(s->op.n_fields + r->n_refs) * sizeof *f);
    memcpy(f, s->op.fields, (size_t)s->op.n_fields * sizeof *f);
    int n_fields = s->op.n_fields;
    for (int i = 0; i < r->n_refs; i++) {
        int n_live = 0;
        for (int k = 0; k < w->keys; k++)
            n_live += alive[k] && strcmp(w->types[k % w->n_types], r->refs[i].type) == 0;
        if (n_live == 0)
            continue;
        int nth = (int)((draw >> (4 * i)) % (uint32_t)n_live);
        int parent = -1;
        for (int k = 0; k < w->keys && parent < 0; k++)
            if (alive[k] && strcmp(w->types[k % w->n_types], r->refs[i].type) == 0 && nth-- == 0)
                parent = k;
        assert(parent >= 0);
        value v = { .kind = VAL_STRING, .s = key_id(sc, user, parent) };
        int at = 0;
        while (at < n_fields && strcmp(f[at].name, r->refs[i].field) != 0)
            at++;
        if (at == n_fields)
            n_fields++;   /* a schema that requires the field gave it a placeholder: replaced */
        f[at] = (op_field){ .name = r->refs[i].field, .v = v };
    }
    qsort(f, (size_t)n_fields, sizeof *f, by_field_name);
    s->op.fields = f;
    s->op.n_fields = n_fields;
}

/*
 * events: chains. A device's appends to one record follow an attempt's life: start, then pause
 * and resume in turn, until a stop (one in four of the later appends), then a new start. Each
 * event follows one its own device wrote, so the device saw its predecessor: a causal chain the
 * order-anomaly and causal-visibility checks can judge. *state: 0 idle, 1 running, 2 paused.
 */
static const char *chain_kind(int *state, uint32_t choice)
{
    switch (*state) {
    case 0: *state = 1; return "start";
    case 1:
        if (choice % 4u == 0) { *state = 0; return "stop"; }
        *state = 2;
        return "pause";
    default:
        if (choice % 4u == 0) { *state = 0; return "stop"; }
        *state = 1;
        return "resume";
    }
}

static void setup_records(builder *b, const workload_config *w, const swarm_choice *c)
{
    scenario *sc = b->sc;
    for (int d = 0; d < sc->n_devices; d++) {
        const char *user = sc->devices[d].user;
        bool first_of_user = true;
        for (int e = 0; e < d; e++)
            if (strcmp(sc->devices[e].user, user) == 0)
                first_of_user = false;
        if (!first_of_user)
            continue;
        for (int k = 0; k < w->keys; k++) {
            step *s = new_step(b, 0, STEP_OP, d + 1);
            if (!s)
                return;
            s->op.kind = OP_CREATE;
            s->op.type = w->types[k % w->n_types];
            s->op.id = key_id(sc, user, k);
            op_field *f = record_fields(b, w, s->op.type, sc->devices[d].name, (uint32_t)k, &s->op.n_fields);
            s->op.fields = f;
            if (c->refs) {
                /* Parents among the keys created before this one: a setup child never precedes its parent. */
                bool *earlier = xcalloc((size_t)w->keys, sizeof *earlier);
                for (int e = 0; e < k; e++)
                    earlier[e] = true;
                add_refs(b, w, s, user, earlier, (uint32_t)k);
                free(earlier);
            }
        }
    }
    step *sync = new_step(b, SETUP_SYNC_US, STEP_SYNC, 1);
    if (!sync)
        return;
    sync->n_nodes = sc->n_devices;
    sync->nodes = arena_alloc(&sc->arena, (size_t)sc->n_devices * sizeof *sync->nodes);
    for (int d = 0; d < sc->n_devices; d++)
        sync->nodes[d] = d + 1;
}

/* Cumulative popularity of keys 0..n-1. */
static double *popularity_cdf(arena *a, const workload_config *w)
{
    double *cdf = arena_alloc(a, (size_t)w->keys * sizeof *cdf);
    double total = 0.0;
    for (int k = 0; k < w->keys; k++) {
        total += w->zipf ? 1.0 / det_pow((double)(k + 1), w->zipf_s) : 1.0;
        cdf[k] = total;
    }
    for (int k = 0; k < w->keys; k++)
        cdf[k] /= total;
    return cdf;
}

static int pick_key(pcg32 *rng, const double *cdf, int n)
{
    double u = pcg32_unit(rng);
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int pick_op(pcg32 *rng, const double *mix)
{
    double total = 0.0;
    for (int i = 0; i < MIX_COUNT; i++)
        total += mix[i];
    double u = pcg32_unit(rng) * total;
    for (int i = 0; i < MIX_COUNT; i++) {
        if (u < mix[i])
            return i;
        u -= mix[i];
    }
    return MIX_UPDATE;
}

/* One drawn write, before the user's timeline decides what it means. */
typedef struct draw {
    int64_t at_us;
    int device;
    int kind;          /* MIX_* as drawn */
    int key;
    uint32_t choice;   /* picks the field, increment amount, event kind */
    uint32_t n;        /* the device's value number */
} draw;

/* A device's writes, drawn from its own stream only. Returns the count; *out is xmalloc'd. */
static size_t draw_writes(const workload_config *w, const scenario *sc, int d, const double *cdf, uint64_t seed,
                          draw **out)
{
    *out = NULL;
    if (w->writes_per_hour <= 0.0)
        return 0;
    pcg32 rng = stream(seed, "workload", sc->devices[d].name);
    double mean_gap_us = 3600.0 * (double)SEC / w->writes_per_hour;
    uint32_t n = 1000;   /* value numbers start above the setup creates' */
    size_t count = 0, cap = 0;
    draw *v = NULL;
    for (int64_t t = WORK_START_US + exp_us(&rng, mean_gap_us); t < w->duration_us; t += exp_us(&rng, mean_gap_us)) {
        if (count == SCENARIO_STEPS_MAX)
            break;   /* new_step reports the overflow */
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            v = xrealloc(v, cap * sizeof *v);
        }
        draw *x = &v[count++];
        x->at_us = t;
        x->device = d;
        x->kind = pick_op(&rng, w->mix);
        x->key = pick_key(&rng, cdf, w->keys);
        x->choice = pcg32_next(&rng);
        x->n = ++n;
    }
    *out = v;
    return count;
}

static int by_time_then_device(const void *pa, const void *pb)
{
    const draw *a = pa, *b = pb;
    if (a->at_us != b->at_us)
        return a->at_us < b->at_us ? -1 : 1;
    if (a->device != b->device)
        return a->device < b->device ? -1 : 1;
    return a->n < b->n ? -1 : a->n > b->n;
}

/* user: the account the device writes as (its own, or the one it switched to). */
static void emit_write(builder *b, const workload_config *w, const draw *x, int kind, const char *user)
{
    scenario *sc = b->sc;
    const device_config *dev = &sc->devices[x->device];
    step *s = new_step(b, x->at_us, STEP_OP, x->device + 1);
    if (!s)
        return;
    s->op.type = w->types[x->key % w->n_types];
    s->op.id = key_id(sc, user, x->key);
    const entity_rules *schema = schema_of(sc, s->op.type);
    /* A counter the schema types as something else cannot be incremented: the user edits a field instead. */
    if (kind == MIX_INCREMENT && !counter_allowed(schema))
        kind = MIX_UPDATE;
    switch (kind) {
    case MIX_CREATE:
        s->op.kind = OP_CREATE;
        s->op.fields = record_fields(b, w, s->op.type, dev->name, x->n, &s->op.n_fields);
        break;
    case MIX_UPDATE: {
        s->op.kind = OP_UPDATE;
        int count = w->edit_whole_record ? w->fields : 1;
        op_field *f = arena_alloc(&sc->arena, (size_t)count * sizeof *f);
        for (int i = 0; i < count; i++) {
            int field = w->edit_whole_record ? i : (int)(x->choice % (uint32_t)w->fields);
            f[i].name = arena_printf(&sc->arena, "f%d", field + 1);
            f[i].v = field_value(sc, schema, f[i].name,
                                 (value){ .kind = VAL_STRING, .s = arena_printf(&sc->arena, "%s#%u", dev->name, x->n) },
                                 dev->name, x->n);
        }
        s->op.fields = f;
        s->op.n_fields = count;
        break;
    }
    case MIX_DELETE:
        s->op.kind = OP_DELETE;
        break;
    case MIX_INCREMENT: {
        s->op.kind = OP_INCREMENT;
        op_field *f = arena_alloc(&sc->arena, sizeof *f);
        f->name = "count";
        f->v = (value){ .kind = VAL_INT, .i = 1 + (int64_t)(x->choice % 5u) };
        s->op.fields = f;
        s->op.n_fields = 1;
        break;
    }
    default: {
        s->op.kind = OP_APPEND;
        op_field *f = arena_alloc(&sc->arena, 2 * sizeof *f);
        f[0] = (op_field){ .name = "kind",
                           .v = { .kind = VAL_STRING, .s = EVENT_KINDS[x->choice % (sizeof EVENT_KINDS / sizeof EVENT_KINDS[0])] } };
        f[1] = (op_field){ .name = "seq", .v = { .kind = VAL_STRING, .s = arena_printf(&sc->arena, "%s#%u", dev->name, x->n) } };
        s->op.fields = f;
        s->op.n_fields = 2;
        break;
    }
    }
}

/*
 * A user's writes from all of their devices, in time order. People create
 * records that do not exist and edit ones that do, so each write's meaning
 * follows the user's timeline: a create of a live record becomes an update
 * of it, any other write to a deleted record re-creates it. The timeline is
 * the user's as a whole, not one device's view (which depends on sync), so
 * writes to a record deleted on another device that has not synced yet
 * still happen: that is the delete-vs-edit case the checker is for. Without
 * this, most writes late in a long run would be refused as meaningless.
 */
/*
 * Switches of accounts (lifecycle: { account_switches_per_day }), drawn before the writes so that each
 * write goes to the records of the user its device belongs to when it is made. Per device, in time
 * order: from at_us[i] on, the device is user[i]'s. Empty (n 0 everywhere) unless configured.
 */
typedef struct account_plan {
    int *n;                   /* by device index */
    int64_t **at_us;
    const char ***user;       /* the scenario's strings */
} account_plan;

/* The user device d belongs to at true time t: its own until its first switch. */
static const char *plan_user_at(const account_plan *plan, const scenario *sc, int d, int64_t t)
{
    const char *user = sc->devices[d].user;
    for (int i = 0; plan && i < plan->n[d] && plan->at_us[d][i] <= t; i++)
        user = plan->user[d][i];
    return user;
}

/* Whether device d belongs to user at any time of the run. */
static bool plan_has_user(const account_plan *plan, const scenario *sc, int d, const char *user)
{
    if (strcmp(sc->devices[d].user, user) == 0)
        return true;
    for (int i = 0; plan && i < plan->n[d]; i++)
        if (strcmp(plan->user[d][i], user) == 0)
            return true;
    return false;
}

static void user_writes(builder *b, const workload_config *w, const swarm_choice *c, const char *user,
                        const double *cdf, uint64_t seed, const account_plan *plan)
{
    scenario *sc = b->sc;
    draw *all = NULL;
    size_t n_all = 0;
    for (int d = 0; d < sc->n_devices; d++) {
        if (!plan_has_user(plan, sc, d, user))
            continue;
        draw *mine;
        size_t n = draw_writes(w, sc, d, cdf, seed, &mine);
        if (plan && plan->n[d] > 0) {
            /* Only the writes made while the device is this user's (without switches: all of them). */
            size_t kept = 0;
            for (size_t i = 0; i < n; i++)
                if (strcmp(plan_user_at(plan, sc, d, mine[i].at_us), user) == 0)
                    mine[kept++] = mine[i];
            n = kept;
        }
        all = xrealloc(all, (n_all + n + 1) * sizeof *all);
        if (n)
            memcpy(all + n_all, mine, n * sizeof *mine);
        n_all += n;
        free(mine);
    }
    qsort(all, n_all, sizeof *all, by_time_then_device);
    bool *alive = xcalloc((size_t)w->keys, sizeof *alive);
    for (int k = 0; k < w->keys; k++)
        alive[k] = true;   /* setup_records created them all */
    /* refs/<device>: one draw per write of the device, used or not, so a device's draws never
     * depend on what the other devices' writes turned into. */
    pcg32 *refs_rng = c->refs ? xcalloc((size_t)sc->n_devices, sizeof *refs_rng) : NULL;
    for (int d = 0; refs_rng && d < sc->n_devices; d++)
        refs_rng[d] = stream(seed, "refs", sc->devices[d].name);
    int *chain = c->event_chains ? xcalloc((size_t)sc->n_devices * (size_t)w->keys, sizeof *chain) : NULL;
    /* forms/<device>: two draws per write of the device, used or not, for the same reason as refs. */
    pcg32 *forms_rng = c->forms ? xcalloc((size_t)sc->n_devices, sizeof *forms_rng) : NULL;
    for (int d = 0; forms_rng && d < sc->n_devices; d++)
        forms_rng[d] = stream(seed, "forms", sc->devices[d].name);
    /* Who last created each key: -1 for the setup (every device has synced it at 1m). A user picks
     * a parent from what their device shows, and the workload cannot know what another device's
     * create has reached, so a child names only a setup record or one its own device created. */
    int *creator = xmalloc((size_t)w->keys * sizeof *creator);
    bool *candidate = xcalloc((size_t)w->keys, sizeof *candidate);
    for (int k = 0; k < w->keys; k++)
        creator[k] = -1;
    for (size_t i = 0; i < n_all && !b->overflow; i++) {
        const draw *x = &all[i];
        int kind = x->kind;
        if (kind == MIX_CREATE && alive[x->key])
            kind = MIX_UPDATE;
        else if (kind != MIX_CREATE && !alive[x->key])
            kind = MIX_CREATE;
        uint32_t ref_draw = refs_rng ? pcg32_next(&refs_rng[x->device]) : 0;
        bool from_form = forms_rng && unit_range(&forms_rng[x->device], 0.0, 1.0) < c->forms_per_update;
        int64_t opened_before_us = forms_rng ? exp_us(&forms_rng[x->device], (double)w->forms_open_mean_us) : 0;
        int n_before = sc->n_steps;
        emit_write(b, w, x, kind, user);
        step *s = sc->n_steps > n_before ? &sc->steps[sc->n_steps - 1] : NULL;
        if (s && from_form && s->op.kind == OP_UPDATE) {
            /* The user opened the form earlier, but not before the setup's records reached the device
             * (1m); a form the device cannot open leaves the save refused, as an app would. */
            s->op.from_form = true;
            int64_t open_at = x->at_us - opened_before_us;
            if (open_at < 60 * INT64_C(1000000) + 1)
                open_at = 60 * INT64_C(1000000) + 1;
            if (open_at > x->at_us)
                open_at = x->at_us;
            const user_op saved = s->op;
            step *o = new_step(b, open_at, STEP_OP, x->device + 1);
            if (o)
                o->op = (user_op){ .kind = OP_OPEN, .type = saved.type, .id = saved.id };
        }
        if (s && refs_rng && s->op.kind == OP_CREATE) {
            for (int k = 0; k < w->keys; k++)   /* a record does not name itself */
                candidate[k] = alive[k] && k != x->key && (creator[k] < 0 || creator[k] == x->device);
            add_refs(b, w, s, user, candidate, ref_draw);
        }
        if (s && s->op.kind == OP_CREATE)
            creator[x->key] = x->device;
        if (s && chain && s->op.kind == OP_APPEND) {
            op_field *f = arena_alloc(&sc->arena, (size_t)s->op.n_fields * sizeof *f);
            memcpy(f, s->op.fields, (size_t)s->op.n_fields * sizeof *f);
            f[0].v.s = chain_kind(&chain[(size_t)x->device * (size_t)w->keys + (size_t)x->key], x->choice);
            s->op.fields = f;
        }
        alive[x->key] = kind != MIX_DELETE;
    }
    free(candidate);
    free(creator);
    free(chain);
    free(forms_rng);
    free(refs_rng);
    free(alive);
    free(all);
}

static void connectivity(builder *b, const workload_config *w, const swarm_choice *c, int d, uint64_t seed)
{
    if (!c->offline || w->online_mean_us <= 0)
        return;
    pcg32 rng = stream(seed, "offline", b->sc->devices[d].name);
    int64_t t = WORK_START_US;
    while (true) {
        t += exp_us(&rng, (double)w->online_mean_us);
        bool long_span = c->long_offline && pcg32_chance(&rng, c->long_probability);
        int64_t span = exp_us(&rng, (double)(long_span ? w->long_mean_us : w->offline_mean_us));
        if (t >= w->duration_us)
            break;
        if (!new_step(b, t, STEP_OFFLINE, d + 1))
            return;
        t += span;
        if (t >= w->duration_us)
            break;   /* the final heal brings it back */
        if (!new_step(b, t, STEP_ONLINE, d + 1))
            return;
    }
}

/* Poisson arrivals of a fault at rate_per_us, each lasting about mean_us. */
static void faults(builder *b, const workload_config *w, const swarm_choice *c, int d, uint64_t seed)
{
    pcg32 rng = stream(seed, "faults", b->sc->devices[d].name);
    if (c->partitions && c->partitions_per_hour > 0) {
        double gap = (double)HOUR / c->partitions_per_hour;
        for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap)) {
            int direction = 1 + (int)pcg32_bounded(&rng, 3);
            int64_t until = t + exp_us(&rng, (double)w->partition_mean_us);
            step *s = new_step(b, t, STEP_PARTITION, d + 1);
            if (!s)
                return;
            s->direction = direction;
            if (until < w->duration_us) {
                step *h = new_step(b, until, STEP_HEAL, d + 1);
                if (!h)
                    return;
                h->direction = direction;
            }
        }
    }
    pcg32 crash_rng = stream(seed, "crashes", b->sc->devices[d].name);
    if (c->crashes && c->crashes_per_day > 0) {
        double gap = (double)DAY / c->crashes_per_day;
        for (int64_t t = exp_us(&crash_rng, gap); t < w->duration_us; t += exp_us(&crash_rng, gap)) {
            int64_t until = t + exp_us(&crash_rng, (double)w->crash_down_mean_us);
            if (!new_step(b, t, STEP_CRASH, d + 1))
                return;
            if (until < w->duration_us && !new_step(b, until, STEP_RESTART, d + 1))
                return;
        }
    }
    pcg32 step_rng = stream(seed, "clock-steps", b->sc->devices[d].name);
    if (c->clock_steps && c->clock_steps_per_day > 0) {
        double gap = (double)DAY / c->clock_steps_per_day;
        for (int64_t t = exp_us(&step_rng, gap); t < w->duration_us; t += exp_us(&step_rng, gap)) {
            step *s = new_step(b, t, STEP_CLOCK, d + 1);
            if (!s)
                return;
            s->by_us = (int64_t)unit_range(&step_rng, -(double)w->clock_step_max_us, (double)w->clock_step_max_us);
        }
    }
}

/* The server's crashes: Poisson arrivals from their own stream, each followed by a restart unless the
 * final heal comes first. Off unless server_per_day is set, so no other draw depends on them. */
static void server_crashes(builder *b, const workload_config *w, const swarm_choice *c, uint64_t seed)
{
    if (!c->server_crashes || c->server_crashes_per_day <= 0)
        return;
    pcg32 rng = pcg_stream(seed, "crashes/server");
    double gap = (double)DAY / c->server_crashes_per_day;
    for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap)) {
        int64_t until = t + exp_us(&rng, (double)w->server_down_mean_us);
        if (!new_step(b, t, STEP_CRASH, NODE_SERVER))
            return;
        if (until >= w->duration_us)
            return;   /* the final heal restarts it */
        if (!new_step(b, until, STEP_RESTART, NODE_SERVER))
            return;
        t = until;   /* a server that is down does not crash again */
    }
}

/* A device's token expires at random, from its own stream auth/<device>; its design decides how it gets a new one. */
static void token_expiries(builder *b, const workload_config *w, const swarm_choice *c, int d, uint64_t seed)
{
    if (!c->token_expiries || c->token_expiries_per_day <= 0)
        return;
    pcg32 rng = stream(seed, "auth", b->sc->devices[d].name);
    double gap = (double)DAY / c->token_expiries_per_day;
    for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap))
        if (!new_step(b, t, STEP_EXPIRE_TOKEN, d + 1))
            return;
}

/* A device's power losses (docs/faults.md): Poisson arrivals from its own stream power-loss/<device>, each
 * followed by a restart after down_mean unless the final heal comes first. Off unless power_loss_per_day is
 * set, so no other draw depends on them. */
static void power_losses(builder *b, const workload_config *w, const swarm_choice *c, int d, uint64_t seed)
{
    if (!c->power_losses || c->power_losses_per_day <= 0)
        return;
    pcg32 rng = stream(seed, "power-loss", b->sc->devices[d].name);
    double gap = (double)DAY / c->power_losses_per_day;
    for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap)) {
        int64_t until = t + exp_us(&rng, (double)w->crash_down_mean_us);
        if (!new_step(b, t, STEP_POWER_LOSS, d + 1))
            return;
        if (until >= w->duration_us)
            return;   /* the final heal restarts it */
        if (!new_step(b, until, STEP_RESTART, d + 1))
            return;
        t = until;   /* a device that is down does not lose power again */
    }
}

/* A device's lifecycle (docs/lifecycle.md), from its own stream lifecycle/<device>: reinstalls, then sign-outs,
 * each followed by a sign-in after signed_out_mean unless the final heal (which signs everyone in) comes first.
 * Off unless configured, so no other draw depends on them. */
static void lifecycle_steps(builder *b, const workload_config *w, const swarm_choice *c, int d, uint64_t seed)
{
    pcg32 rng = stream(seed, "lifecycle", b->sc->devices[d].name);
    if (c->reinstalls && c->reinstalls_per_day > 0) {
        double gap = (double)DAY / c->reinstalls_per_day;
        for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap))
            if (!new_step(b, t, STEP_REINSTALL, d + 1))
                return;
    }
    if (c->sign_outs && c->sign_outs_per_day > 0) {
        double gap = (double)DAY / c->sign_outs_per_day;
        for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap)) {
            int64_t until = t + exp_us(&rng, (double)w->signed_out_mean_us);
            if (!new_step(b, t, STEP_SIGN_OUT, d + 1))
                return;
            if (until >= w->duration_us)
                return;   /* the final heal signs the user in */
            if (!new_step(b, until, STEP_SIGN_IN, d + 1))
                return;
            t = until;   /* a signed-out user does not sign out again */
        }
    }
}

/*
 * Every device's switches of accounts, each from its own stream lifecycle-switch/<device>: exponential
 * gaps at the chosen rate, each to a user of the workload other than the one the device has then,
 * picked uniformly. A workload with one user has no one to switch to. Off unless configured.
 */
static void plan_switches(const scenario *sc, const workload_config *w, const swarm_choice *c, uint64_t seed,
                          account_plan *plan)
{
    plan->n = xcalloc((size_t)sc->n_devices + 1, sizeof *plan->n);
    plan->at_us = xcalloc((size_t)sc->n_devices + 1, sizeof *plan->at_us);
    plan->user = xcalloc((size_t)sc->n_devices + 1, sizeof *plan->user);
    if (!c->account_switches || c->account_switches_per_day <= 0)
        return;
    /* The workload's users, in device order, each once. */
    const char **users = xcalloc((size_t)sc->n_devices + 1, sizeof *users);
    int n_users = 0;
    for (int d = 0; d < sc->n_devices; d++) {
        bool seen = false;
        for (int u = 0; u < n_users && !seen; u++)
            seen = strcmp(users[u], sc->devices[d].user) == 0;
        if (!seen)
            users[n_users++] = sc->devices[d].user;
    }
    double gap = (double)DAY / c->account_switches_per_day;
    for (int d = 0; d < sc->n_devices && n_users > 1; d++) {
        pcg32 rng = stream(seed, "lifecycle-switch", sc->devices[d].name);
        const char *current = sc->devices[d].user;
        int cap = 0;
        for (int64_t t = exp_us(&rng, gap); t < w->duration_us && plan->n[d] < SCENARIO_STEPS_MAX;
             t += exp_us(&rng, gap)) {
            /* One of the others: draw among n_users - 1 and skip the current one. */
            int pick = (int)pcg32_bounded(&rng, (uint32_t)(n_users - 1));
            int u = 0;
            for (int seen = -1; u < n_users; u++)
                if (strcmp(users[u], current) != 0 && ++seen == pick)
                    break;
            if (plan->n[d] == cap) {
                cap = cap ? cap * 2 : 4;
                plan->at_us[d] = xrealloc(plan->at_us[d], (size_t)cap * sizeof *plan->at_us[d]);
                plan->user[d] = xrealloc(plan->user[d], (size_t)cap * sizeof *plan->user[d]);
            }
            plan->at_us[d][plan->n[d]] = t;
            plan->user[d][plan->n[d]++] = current = users[u];
        }
    }
    xfree(users);
}

static void plan_free(account_plan *plan, int n_devices)
{
    for (int d = 0; d < n_devices; d++) {
        xfree(plan->at_us[d]);
        xfree(plan->user[d]);
    }
    xfree(plan->n);
    xfree(plan->at_us);
    xfree(plan->user);
}

/* The planned switches as steps. */
static void switch_steps(builder *b, const account_plan *plan)
{
    for (int d = 0; d < b->sc->n_devices && !b->overflow; d++)
        for (int i = 0; i < plan->n[d]; i++) {
            step *s = new_step(b, plan->at_us[d][i], STEP_SWITCH_ACCOUNT, d + 1);
            if (!s)
                return;
            s->user = plan->user[d][i];
        }
}

/* A replica's storage faults, from its own stream storage/<node>: full-disk windows, then I/O errors. */
static void storage_faults(builder *b, const workload_config *w, const swarm_choice *c, int node, uint64_t seed)
{
    char name[160];
    snprintf(name, sizeof name, "storage/%s", scenario_node_name(b->sc, node));
    pcg32 rng = pcg_stream(seed, name);
    if (c->disk_full && c->disk_full_per_day > 0) {
        double gap = (double)DAY / c->disk_full_per_day;
        for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap)) {
            step *s = new_step(b, t, STEP_STORAGE, node);
            if (!s)
                return;
            s->storage = (storage_fault){ .kind = STORAGE_DISK_FULL };
            s->for_us = exp_us(&rng, (double)w->disk_full_mean_us) / 1000000 * 1000000;
            if (s->for_us < 1000000)
                s->for_us = 1000000;   /* whole seconds: a shrunk scenario writes it back as a duration */
            t += s->for_us;
        }
    }
    if (c->io_errors && c->io_errors_per_day > 0) {
        double gap = (double)DAY / c->io_errors_per_day;
        for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap)) {
            step *s = new_step(b, t, STEP_STORAGE, node);
            if (!s)
                return;
            s->storage = (storage_fault){ .kind = STORAGE_IO_ERROR, .writes = 1 + (int)pcg32_bounded(&rng, 3) };
        }
    }
}

/* The gateway's windows of errors or timeouts, from their own stream; each one's kind is a coin. */
static void server_windows(builder *b, const workload_config *w, const swarm_choice *c, uint64_t seed)
{
    if (!c->server_windows || c->server_windows_per_day <= 0)
        return;
    pcg32 rng = pcg_stream(seed, "server-windows");
    double gap = (double)DAY / c->server_windows_per_day;
    for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap)) {
        step *s = new_step(b, t, STEP_SERVER_ANSWER, NODE_SERVER);
        if (!s)
            return;
        s->answer = pcg32_bounded(&rng, 2) ? ANSWER_TIMEOUT : ANSWER_ERROR;
        s->for_us = exp_us(&rng, (double)w->server_window_mean_us);
        if (s->for_us < 1000000)
            s->for_us = 1000000;   /* whole seconds at least: a shrunk scenario writes it back as a duration */
        t += s->for_us;
    }
}

/* The server's clock steps (NTP corrections, some backwards), from their own stream clock-steps/server. */
static void server_clock_steps(builder *b, const workload_config *w, const swarm_choice *c, uint64_t seed)
{
    if (!c->server_clock_steps || c->server_clock_steps_per_day <= 0)
        return;
    pcg32 rng = pcg_stream(seed, "clock-steps/server");
    double gap = (double)DAY / c->server_clock_steps_per_day;
    for (int64_t t = exp_us(&rng, gap); t < w->duration_us; t += exp_us(&rng, gap)) {
        step *s = new_step(b, t, STEP_CLOCK, NODE_SERVER);
        if (!s)
            return;
        s->by_us = (int64_t)unit_range(&rng, -(double)w->server_clock_step_max_us, (double)w->server_clock_step_max_us);
    }
}

/* picks: per-device: each device's user keeps their own version or takes the server's, drawn from
 * picks/<device>; a device whose scenario gives it a pick keeps that one. */
static void device_picks(scenario *sc, const swarm_choice *c, uint64_t seed)
{
    for (int i = 0; c->picks_per_device && i < sc->n_devices; i++) {
        device_config *dev = &sc->devices[i];
        if (dev->has_pick)
            continue;
        pcg32 rng = stream(seed, "picks", dev->name);
        dev->has_pick = true;
        dev->pick = pcg32_bounded(&rng, 2) == 1 ? PICK_SERVER : PICK_LOCAL;
    }
}

scenario *workload_instantiate(const scenario *tmpl, uint64_t seed, diag *d)
{
    assert(tmpl->has_workload);
    const workload_config *w = &tmpl->workload;
    scenario *sc = xcalloc(1, sizeof *sc);
    *sc = *tmpl;
    arena_init(&sc->arena, 256 * 1024);
    sc->has_workload = false;
    sc->has_seed = true;
    sc->seed = seed;
    sc->n_steps = 0;
    sc->steps = NULL;
    if (sc->end_us < w->duration_us)
        sc->end_us = w->duration_us;
    builder b = { .sc = sc, .d = d };
    if (!add_devices(&b, tmpl, w)) {
        scenario_free(sc);
        return NULL;
    }
    /* Before any step is made (the loaders checked this already, for files and grid cells). */
    double expected = workload_expected_steps(w, sc->n_devices) + tmpl->n_steps;
    if (expected > SCENARIO_STEPS_MAX) {
        diag_error(d, (src_pos){ .file = tmpl->path },
                   "the workload would make about %.0f steps, more than %d (SCENARIO_STEPS_MAX, a bound)", expected,
                   SCENARIO_STEPS_MAX);
        scenario_free(sc);
        return NULL;
    }
    if (w->vary.n_axes > 0) {
        if (sc->profile.node.argv) {
            diag_error(d, w->vary.axes[0].key_pos,
                       "vary draws the built-in engine's profile keys; an external implementation (--node) has "
                       "its own design, which they do not reach");
            scenario_free(sc);
            return NULL;
        }
        vary_choice drawn = vary_draw(&w->vary, seed);
        vary_apply(&w->vary, &drawn, &sc->profile.engine);
        char text[1024];
        vary_describe(&w->vary, &drawn, text, sizeof text);
        sc->design = arena_strdup(&sc->arena, text);
    }
    swarm_choice c = workload_swarm(w, seed);
    for (int i = 0; i < tmpl->n_steps; i++) {
        step *s = new_step(&b, 0, STEP_SYNC, 1);
        if (s)
            *s = tmpl->steps[i];
    }
    for (int i = 0; i < sc->n_devices; i++) {
        device_config *dev = &sc->devices[i];
        draw_clock(dev, w, &c, seed);
        if (w->network) {
            dev->net.up.loss = dev->net.down.loss = c.loss ? c.loss_p : 0.0;
            dev->net.up.duplicate = dev->net.down.duplicate = c.duplicate ? c.duplicate_p : 0.0;
            dev->net.lost_response = c.lost_response ? c.lost_response_p : 0.0;
        }
    }
    device_picks(sc, &c, seed);
    if (w->keys > 0)
        setup_records(&b, w, &c);
    double *cdf = w->keys > 0 ? popularity_cdf(&sc->arena, w) : NULL;
    account_plan plan;
    plan_switches(sc, w, &c, seed, &plan);
    for (int i = 0; i < sc->n_devices && !b.overflow; i++) {
        bool first_of_user = true;
        for (int e = 0; e < i && first_of_user; e++)
            first_of_user = strcmp(sc->devices[e].user, sc->devices[i].user) != 0;
        if (cdf && first_of_user)
            user_writes(&b, w, &c, sc->devices[i].user, cdf, seed, &plan);
        connectivity(&b, w, &c, i, seed);
        faults(&b, w, &c, i, seed);
    }
    for (int i = 0; i < sc->n_devices && !b.overflow; i++)
        token_expiries(&b, w, &c, i, seed);
    for (int i = 0; i < sc->n_devices && !b.overflow; i++)
        power_losses(&b, w, &c, i, seed);
    if (!b.overflow)
        server_crashes(&b, w, &c, seed);
    if (!b.overflow)
        server_windows(&b, w, &c, seed);
    if (!b.overflow)
        server_clock_steps(&b, w, &c, seed);
    for (int i = 0; i < sc->n_devices && !b.overflow; i++)
        storage_faults(&b, w, &c, i + 1, seed);
    if (!b.overflow && w->storage_server)
        storage_faults(&b, w, &c, NODE_SERVER, seed);
    for (int i = 0; i < sc->n_devices && !b.overflow && (c.reinstalls || c.sign_outs); i++)
        lifecycle_steps(&b, w, &c, i, seed);
    if (!b.overflow)
        switch_steps(&b, &plan);
    plan_free(&plan, sc->n_devices);
    if (c.server_answers)
        sc->server_faults = (server_faults){ .error_p = c.server_error_p, .timeout_p = c.server_timeout_p };
    if (b.overflow) {
        diag_error(d, (src_pos){ .file = tmpl->path },
                   "the workload made more than %d steps for this seed (SCENARIO_STEPS_MAX, a bound)",
                   SCENARIO_STEPS_MAX);
        scenario_free(sc);
        return NULL;
    }
    scenario_sort_steps(sc);
    return sc;
}
