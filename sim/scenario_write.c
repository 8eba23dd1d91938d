/*
 * scenario_write: a scenario with explicit steps back to YAML that
 * scenario_load reads into the same scenario. The profile is named when the
 * caller can name it (shrink: the profile file the scenario used), else
 * written inline so the file stands alone.
 * Strings are plain where YAML would read them back as the same string,
 * double-quoted (with JSON escapes, which YAML shares) otherwise.
 */
#include "sim/scenario_write.h"
#include "base/buf.h"
#include "engine/strategy.h"
#include "engine/wire.h"
#include "sim/duration.h"

#include <stdio.h>
#include <string.h>

static bool plain_safe(const char *s)
{
    if (!*s)
        return false;
    static const char *const RESERVED[] = { "null", "Null", "NULL", "~", "true", "True", "TRUE", "false",
                                            "False", "FALSE", "yes", "no", "on", "off", "y", "n", "Y", "N" };
    for (size_t i = 0; i < sizeof RESERVED / sizeof RESERVED[0]; i++)
        if (strcmp(s, RESERVED[i]) == 0)
            return false;
    bool numeric = true;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '#' || c == '.' || c == '/' || c == '@';
        if (!ok)
            return false;
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            numeric = false;
    }
    /* Things YAML reads as numbers, comments or other types must be quoted. */
    return !numeric && s[0] != '#' && s[0] != '-' && s[0] != '.';
}

static void put_string(buf *b, const char *s)
{
    if (plain_safe(s))
        buf_puts(b, s);
    else
        buf_put_json_string(b, s);
}

static void put_value(buf *b, const value *v)
{
    switch (v->kind) {
    case VAL_STRING: put_string(b, v->s); break;
    case VAL_REAL: {
        char text[40];
        snprintf(text, sizeof text, "%.17g", v->r);
        if (!strpbrk(text, ".eEn"))
            strcat(text, ".0");   /* keep it a real */
        buf_puts(b, text);
        break;
    }
    default: value_format(v, b); break;
    }
}

static void put_duration(buf *b, int64_t us)
{
    char text[DURATION_TEXT_MAX];
    buf_puts(b, duration_format(us, text, sizeof text));
}

static void put_fields(buf *b, const op_field *fields, int n)
{
    buf_puts(b, "{ ");
    for (int i = 0; i < n; i++) {
        if (i)
            buf_puts(b, ", ");
        put_string(b, fields[i].name);
        buf_puts(b, ": ");
        put_value(b, &fields[i].v);
    }
    buf_puts(b, n ? " }" : "}");
}

static void put_ppm(buf *b, int64_t ppb)
{
    if (ppb % 1000 == 0)
        buf_printf(b, "%lld", (long long)(ppb / 1000));
    else
        buf_printf(b, "%.3f", (double)ppb / 1000.0);
}

static void put_latency(buf *b, const dist *d)
{
    switch (d->kind) {
    case DIST_CONSTANT: put_duration(b, d->value_us); return;
    case DIST_UNIFORM:
        buf_puts(b, "{ dist: uniform, min: ");
        put_duration(b, d->min_us);
        buf_puts(b, ", max: ");
        put_duration(b, d->max_us);
        buf_puts(b, " }");
        return;
    case DIST_EXPONENTIAL:
        buf_puts(b, "{ dist: exponential, mean: ");
        put_duration(b, d->mean_us);
        break;
    case DIST_LOGNORMAL:
        buf_puts(b, "{ dist: lognormal, median: ");
        put_duration(b, d->median_us);
        buf_printf(b, ", sigma: %.17g", d->sigma);
        break;
    }
    buf_puts(b, ", min: ");
    put_duration(b, d->min_us);
    buf_puts(b, ", max: ");
    put_duration(b, d->max_us);
    buf_puts(b, " }");
}

static bool same_dist(const dist *a, const dist *b)
{
    return a->kind == b->kind && a->value_us == b->value_us && a->mean_us == b->mean_us &&
           a->median_us == b->median_us && a->sigma == b->sigma && a->min_us == b->min_us && a->max_us == b->max_us;
}

static bool same_link(const link_config *a, const link_config *b)
{
    return same_dist(&a->latency, &b->latency) && a->loss == b->loss && a->duplicate == b->duplicate;
}

static bool same_net(const net_config *a, const net_config *b)
{
    return same_link(&a->up, &b->up) && same_link(&a->down, &b->down) && a->lost_response == b->lost_response;
}

static void put_link(buf *b, const link_config *l)
{
    buf_puts(b, "{ latency: ");
    put_latency(b, &l->latency);
    buf_printf(b, ", loss: %.17g, duplicate: %.17g }", l->loss, l->duplicate);
}

static void put_network(buf *b, const net_config *net)
{
    if (same_link(&net->up, &net->down)) {
        buf_puts(b, "{ latency: ");
        put_latency(b, &net->up.latency);
        if (net->up.loss > 0)
            buf_printf(b, ", loss: %.17g", net->up.loss);
        if (net->up.duplicate > 0)
            buf_printf(b, ", duplicate: %.17g", net->up.duplicate);
    } else {
        buf_puts(b, "{ up: ");
        put_link(b, &net->up);
        buf_puts(b, ", down: ");
        put_link(b, &net->down);
    }
    if (net->lost_response > 0)
        buf_printf(b, ", lost_response: %.17g", net->lost_response);
    buf_puts(b, " }");
}

static const char *schema_kind_name(value_kind k)
{
    switch (k) {
    case VAL_INT: return "int";
    case VAL_REAL: return "number";
    case VAL_BOOL: return "bool";
    default: return "string";
    }
}

/* The rules beyond strategy, grain, delete rule, counters and events, when set. */
static void put_rules_extra(buf *b, const entity_rules *r, const char *sep, const char *end)
{
    if (r->done_field) {
        buf_puts(b, sep);
        buf_puts(b, "done: { field: ");
        put_string(b, r->done_field);
        buf_puts(b, ", value: ");
        value_format(&r->done_value, b);
        buf_puts(b, ", with: [");
        for (int i = 0; i < r->n_done_with; i++) {
            if (i)
                buf_puts(b, ", ");
            put_string(b, r->done_with[i]);
        }
        buf_puts(b, "] }");
        buf_puts(b, end);
    }
    if (r->n_schema) {
        buf_puts(b, sep);
        buf_puts(b, "schema: { ");
        for (int i = 0; i < r->n_schema; i++) {
            const schema_field *f = &r->schema[i];
            if (i)
                buf_puts(b, ", ");
            put_string(b, f->name);
            buf_printf(b, ": { type: %s, required: %s", schema_kind_name(f->kind), f->required ? "true" : "false");
            if (f->n_enum) {
                buf_puts(b, ", enum: [");
                for (int k = 0; k < f->n_enum; k++) {
                    if (k)
                        buf_puts(b, ", ");
                    put_string(b, f->enum_values[k]);
                }
                buf_putc(b, ']');
            }
            buf_puts(b, " }");
        }
        buf_puts(b, " }");
        buf_puts(b, end);
    }
    if (r->n_refs) {
        buf_puts(b, sep);
        buf_puts(b, "refs: { ");
        for (int i = 0; i < r->n_refs; i++) {
            if (i)
                buf_puts(b, ", ");
            put_string(b, r->refs[i].field);
            buf_puts(b, ": ");
            put_string(b, r->refs[i].type);
        }
        buf_puts(b, " }");
        buf_puts(b, end);
    }
    if (r->rank)
        buf_printf(b, "%srank: %d%s", sep, r->rank, end);
    if (r->reducer)
        buf_printf(b, "%sreducer: %s%s", sep, r->reducer, end);
}

static void put_rules(buf *b, const entity_rules *r)
{
    buf_printf(b, "strategy: %s, grain: %s, on_delete: %s, counters: %s, events: { order: %s, dedup: %s }",
               r->strategy->name, grain_name(r->grain), delete_rule_name(r->on_delete), counter_mode_name(r->counters),
               event_order_name(r->events_order), r->events_dedup ? "true" : "false");
    put_rules_extra(b, r, ", ", "");
}

static void put_profile(buf *b, const scenario_profile *p)
{
    const profile *e = &p->engine;
    buf_puts(b, "profile:\n  name: ");
    put_string(b, p->name);
    buf_puts(b, "\n");
    bool any = false;
    for (int c = 0; c < VC_COUNT; c++)
        if (p->accepts & VCLASS_BIT(c)) {
            buf_printf(b, "%s%s", any ? ", " : "  accepts: [", vclass_name((vclass)c));
            any = true;
        }
    if (any)
        buf_puts(b, "]\n");
    buf_puts(b, "  sync:\n    interval: ");
    if (e->sync_interval_us > 0)
        put_duration(b, e->sync_interval_us);
    else
        buf_puts(b, "never");
    buf_puts(b, "\n    after_write: ");
    if (e->sync_after_write_us >= 0)
        put_duration(b, e->sync_after_write_us);
    else
        buf_puts(b, "never");
    buf_printf(b, "\n    on_reconnect: %s\n    push_batch: %d\n    pull_page: %d\n    request_timeout: ",
               e->sync_on_reconnect ? "true" : "false", e->push_batch_max, e->pull_page_max);
    put_duration(b, e->request_timeout_us);
    buf_puts(b, "\n    retry: { schedule: [");
    for (int i = 0; i < e->n_retry; i++) {
        if (i)
            buf_puts(b, ", ");
        put_duration(b, e->retry_us[i]);
    }
    buf_printf(b, "], then: %s", e->retry_stop_when_exhausted ? "stop" : "repeat-last");
    if (e->retry_drop_after)
        buf_printf(b, ", drop_after: %d", e->retry_drop_after);
    buf_printf(b, " }\n    idempotency: %s\n    ids: %s\n", e->idempotency ? "true" : "false", id_assign_name(e->ids));
    buf_printf(b, "    auth_refresh: %s\n", auth_refresh_name(e->auth_refresh));
    if (e->flush_every_us > 0) {
        buf_puts(b, "    flush: { every: ");
        put_duration(b, e->flush_every_us);
        buf_printf(b, ", acknowledge: %s }\n", e->flush_ack_on_flush ? "on-flush" : "on-write");
    }
    buf_printf(b, "    changes: %s\n    watermark: %s\n    cursor: %s\n    cursor_next: %s\n    cursor_inclusive: %s\n",
               change_detection_name(e->changes), watermark_clock_name(e->watermark), cursor_kind_name(e->cursor),
               cursor_next_name(e->cursor_next), e->cursor_inclusive ? "true" : "false");
    if (e->n_pull_types) {
        buf_puts(b, "    pull_types: [");
        for (int i = 0; i < e->n_pull_types; i++) {
            if (i)
                buf_puts(b, ", ");
            put_string(b, e->pull_types[i]);
        }
        buf_puts(b, "]\n");
    }
    buf_printf(b, "    conflict_detection: %s\n    batch: %s\n    validate: { client: %s, server: %s }\n",
               conflict_detection_name(e->detect), e->batch_atomic ? "atomic" : "per-change",
               e->validate_client ? "true" : "false", e->validate_server ? "true" : "false");
    buf_printf(b, "    wire: %s\n", wire_dialect_name(e->wire));
    /* The round's keys only when set, so a profile written before they existed reads the same. */
    if (e->round != ROUND_PUSH_PULL)
        buf_printf(b, "    round: %s\n", ROUND_ORDER_NAMES[e->round]);
    if (e->pull_over_deleted != e->pull_over_pending)
        buf_printf(b, "    pull_over_pending: { edited: %s, deleted: %s }\n", PULL_OVER_PENDING_NAMES[e->pull_over_pending],
                   PULL_OVER_PENDING_NAMES[e->pull_over_deleted]);
    else if (e->pull_over_pending != PULL_OVER_KEEP)
        buf_printf(b, "    pull_over_pending: %s\n", PULL_OVER_PENDING_NAMES[e->pull_over_pending]);
    if (e->during_round != DURING_COALESCE)
        buf_printf(b, "    during_round: %s\n", DURING_ROUND_NAMES[e->during_round]);
    if (e->push_snapshot != SNAPSHOT_CURRENT)
        buf_printf(b, "    push_snapshot: %s\n", PUSH_SNAPSHOT_NAMES[e->push_snapshot]);
    if (e->watermark_taken != TAKEN_ANSWER)
        buf_printf(b, "    watermark_taken: %s\n", WATERMARK_TAKEN_NAMES[e->watermark_taken]);
    if (e->cursor_saved != CURSOR_SAVED_PAGE)
        buf_printf(b, "    cursor_saved: %s\n", CURSOR_SAVED_NAMES[e->cursor_saved]);
    if (e->queue_base_as_queued)
        buf_puts(b, "    queue_base: as-queued\n");
    if (e->pull_apply_by_kind)
        buf_puts(b, "    pull_apply: by-kind\n");
    buf_puts(b, "  manual: { delay: ");
    if (e->resolve_delay_us >= 0)
        put_duration(b, e->resolve_delay_us);
    else
        buf_puts(b, "never");
    buf_printf(b, ", pick: %s }\n", manual_pick_name(e->resolve_pick));
    if (profile_server_delays(e) || e->cursor_horizon) {
        buf_puts(b, "  server: { commit_delay: ");
        if (e->n_commit_delay_draws > 0) {
            put_latency(b, &p->commit_delay_dist);
        } else {
            buf_puts(b, "{ base: ");
            put_duration(b, e->commit_delay_us);
            buf_puts(b, ", per_change: ");
            put_duration(b, e->commit_delay_per_change_us);
            buf_puts(b, " }");
        }
        buf_puts(b, ", feed_lag: ");
        put_duration(b, e->feed_lag_us);
        buf_printf(b, ", cursor_horizon: %s }\n", e->cursor_horizon ? "true" : "false");
    } else if (e->pulls_log) {
        buf_puts(b, "  server: { pulls: log }\n");   /* it goes with no delay (profile_load) */
    }
    if (e->wipe != WIPE_ALL || e->sign_out_discard || e->switch_keep_data) {
        buf_printf(b, "  lifecycle: { wipe: %s, sign_out: %s", lifecycle_wipe_name(e->wipe),
                   e->sign_out_discard ? "discard" : "sync-first");
        if (e->switch_keep_data)
            buf_puts(b, ", switch: keep-data");   /* only when set: older files are written as they were */
        buf_puts(b, " }\n");
    }
    const entity_rules *r = &e->fallback;
    buf_printf(b, "  conflicts:\n    strategy: %s\n    grain: %s\n    on_delete: %s\n    counters: %s\n"
                  "    events: { order: %s, dedup: %s }\n",
               r->strategy->name, grain_name(r->grain), delete_rule_name(r->on_delete), counter_mode_name(r->counters),
               event_order_name(r->events_order), r->events_dedup ? "true" : "false");
    put_rules_extra(b, r, "    ", "\n");
    if (e->n_entities) {
        buf_puts(b, "    types:\n");
        for (int i = 0; i < e->n_entities; i++) {
            buf_puts(b, "      ");
            put_string(b, e->entities[i].type);
            buf_puts(b, ": { ");
            put_rules(b, &e->entities[i]);
            buf_puts(b, " }\n");
        }
    }
}

/* The step's nodes as a flow list: [phone, tablet]. */
static void put_node_list(buf *b, const scenario *sc, const step *s)
{
    buf_putc(b, '[');
    for (int i = 0; i < s->n_nodes; i++) {
        if (i)
            buf_puts(b, ", ");
        put_string(b, scenario_node_name(sc, s->nodes[i]));
    }
    buf_putc(b, ']');
}

static void put_nodes(buf *b, const scenario *sc, const step *s)
{
    if (s->n_nodes == sc->n_devices && sc->n_devices > 1) {
        buf_puts(b, "all");
        return;
    }
    if (s->n_nodes == 1) {
        put_string(b, scenario_node_name(sc, s->nodes[0]));
        return;
    }
    put_node_list(b, sc, s);
}

static const char *direction_name(int direction)
{
    return direction == DIR_UP ? "up" : direction == DIR_DOWN ? "down" : "both";
}

static void put_step(buf *b, const scenario *sc, const step *s)
{
    buf_puts(b, "  - { at: ");
    put_duration(b, s->at_us);
    switch (s->kind) {
    case STEP_OP:
        buf_puts(b, ", device: ");
        put_string(b, scenario_node_name(sc, s->nodes[0]));
        buf_printf(b, ", %s: { type: ", op_kind_name(s->op.kind));
        put_string(b, s->op.type);
        buf_puts(b, ", id: ");
        put_string(b, s->op.id);
        switch (s->op.kind) {
        case OP_CREATE:
        case OP_UPDATE:
            buf_puts(b, ", fields: ");
            put_fields(b, s->op.fields, s->op.n_fields);
            break;
        case OP_INCREMENT:
            buf_puts(b, ", field: ");
            put_string(b, s->op.fields[0].name);
            buf_printf(b, ", by: %lld", (long long)s->op.fields[0].v.i);
            break;
        case OP_APPEND:
            buf_puts(b, ", event: ");
            put_fields(b, s->op.fields, s->op.n_fields);
            break;
        case OP_RESOLVE:
            buf_printf(b, ", pick: %s", s->op.fields[0].v.s);
            break;
        case OP_DELETE:
        case OP_OPEN:
            break;
        }
        if (s->op.from_form)
            buf_puts(b, ", base: opened");
        buf_puts(b, " }");
        break;
    case STEP_CLOCK:
        buf_puts(b, ", device: ");
        put_string(b, scenario_node_name(sc, s->nodes[0]));
        buf_puts(b, ", clock_step: ");
        put_duration(b, s->by_us);
        break;
    case STEP_SERVER_ANSWER:
        buf_printf(b, ", server_%ss: ", server_answer_name(s->answer));
        put_duration(b, s->for_us);
        break;
    case STEP_STORAGE: {
        bool server = false;
        for (int i = 0; i < s->n_nodes; i++)
            server = server || s->nodes[i] == NODE_SERVER;
        buf_puts(b, ", storage: { node: ");
        if (server && s->n_nodes > 1) {
            /* put_nodes would write 'all' for as many nodes as devices, but 'all' leaves the server out. */
            put_node_list(b, sc, s);
        } else {
            put_nodes(b, sc, s);
        }
        buf_printf(b, ", fault: %s, ", storage_fault_kind_name(s->storage.kind));
        if (s->storage.kind == STORAGE_DISK_FULL) {
            buf_puts(b, "for: ");
            put_duration(b, s->for_us);
        } else {
            buf_printf(b, "writes: %d", s->storage.writes);
        }
        buf_puts(b, " }");
        break;
    }
    case STEP_SWITCH_ACCOUNT:
        /* One device by name (put_nodes would write 'all' in a one-device scenario), and the account. */
        buf_puts(b, ", switch_account: ");
        put_string(b, scenario_node_name(sc, s->nodes[0]));
        buf_puts(b, ", to: ");
        put_string(b, s->user);
        break;
    case STEP_PARTITION:
    case STEP_HEAL:
        buf_printf(b, ", %s: { devices: ", step_kind_name(s->kind));
        put_nodes(b, sc, s);
        buf_printf(b, ", direction: %s }", direction_name(s->direction));
        break;
    default:
        buf_printf(b, ", %s: ", step_kind_name(s->kind));
        put_nodes(b, sc, s);
        break;
    }
    buf_puts(b, " }\n");
}

void scenario_write(const scenario *sc, const char *header, const char *profile_ref, buf *b)
{
    if (header) {
        /* Each header line as a comment. */
        for (const char *p = header; *p;) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            buf_puts(b, "# ");
            buf_put(b, p, len);
            buf_putc(b, '\n');
            p += len + (eol ? 1 : 0);
        }
    }
    buf_puts(b, "name: ");
    put_string(b, sc->name);
    buf_putc(b, '\n');
    if (sc->description) {
        buf_puts(b, "description: ");
        buf_put_json_string(b, sc->description);
        buf_putc(b, '\n');
    }
    if (profile_ref) {
        buf_puts(b, "profile: ");
        put_string(b, profile_ref);
        buf_putc(b, '\n');
    } else {
        put_profile(b, &sc->profile);
    }
    if (sc->has_seed)
        buf_printf(b, "seed: %llu\n", (unsigned long long)sc->seed);
    buf_puts(b, "network: ");
    put_network(b, &sc->network);
    buf_puts(b, "\n");
    bool server_clock = sc->server_clock.offset_us || sc->server_clock.drift_ppb;
    bool server_answers = sc->server_faults.error_p > 0 || sc->server_faults.timeout_p > 0;
    bool tokens = sc->token_lifetime_us > 0;
    if (server_clock || server_answers || tokens) {
        buf_puts(b, "server: { ");
        if (server_clock) {
            buf_puts(b, "clock: { offset: ");
            put_duration(b, sc->server_clock.offset_us);
            buf_puts(b, ", drift_ppm: ");
            put_ppm(b, sc->server_clock.drift_ppb);
            buf_puts(b, " }");
        }
        if (server_answers)   /* %.17g: the probabilities read back exactly, so the run is the same */
            buf_printf(b, "%serrors: %.17g, timeouts: %.17g", server_clock ? ", " : "", sc->server_faults.error_p,
                       sc->server_faults.timeout_p);
        if (tokens) {
            buf_puts(b, server_clock || server_answers ? ", token_lifetime: " : "token_lifetime: ");
            put_duration(b, sc->token_lifetime_us);
        }
        buf_puts(b, " }\n");
    }
    buf_puts(b, "devices:\n");
    for (int i = 0; i < sc->n_devices; i++) {
        const device_config *d = &sc->devices[i];
        buf_puts(b, "  ");
        put_string(b, d->name);
        buf_puts(b, ": { user: ");
        put_string(b, d->user);
        if (d->clock.offset_us || d->clock.drift_ppb) {
            buf_puts(b, ", clock: { offset: ");
            put_duration(b, d->clock.offset_us);
            buf_puts(b, ", drift_ppm: ");
            put_ppm(b, d->clock.drift_ppb);
            buf_puts(b, " }");
        }
        if (!same_net(&d->net, &sc->network)) {
            buf_puts(b, ", network: ");
            put_network(b, &d->net);
        }
        if (d->starts_offline)
            buf_puts(b, ", offline: true");
        if (d->has_pick)
            buf_printf(b, ", pick: %s", manual_pick_name(d->pick));
        buf_puts(b, " }\n");
    }
    buf_puts(b, "steps:\n");
    for (int i = 0; i < sc->n_steps; i++)
        put_step(b, sc, &sc->steps[i]);
    if (sc->n_steps == 0)
        buf_puts(b, "  []\n");
    if (sc->end_us > (sc->n_steps ? sc->steps[sc->n_steps - 1].at_us : 0)) {
        buf_puts(b, "end: ");
        put_duration(b, sc->end_us);
        buf_putc(b, '\n');
    }
    buf_puts(b, "expect:\n  quiesce_within: ");
    put_duration(b, sc->expect.quiesce_within_us);
    buf_putc(b, '\n');
    if (sc->expect.has_violations) {
        buf_puts(b, "  violations: [");
        bool any = false;
        for (int c = 0; c < VC_COUNT; c++)
            if (sc->expect.violations & VCLASS_BIT(c)) {
                buf_printf(b, "%s%s", any ? ", " : "", vclass_name((vclass)c));
                any = true;
            }
        buf_puts(b, "]\n");
    }
    /*
     * The invariants conform reports, so a shrunk conformance failure is
     * checked for the same ones. Not 'state': this writer writes no state:
     * (a shrunk run ends in another state), and checks: may name state only
     * beside one.
     */
    if (sc->expect.has_checks) {
        buf_puts(b, "  checks: [");
        bool any = false;
        for (int c = 0; c < VC_COUNT; c++)
            if (sc->expect.checks & VCLASS_BIT(c)) {
                buf_printf(b, "%s%s", any ? ", " : "", vclass_name((vclass)c));
                any = true;
            }
        buf_puts(b, "]\n");
    }
}
