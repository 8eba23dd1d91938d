/*
 * wire_syncsim: the built-in protocol (wire.h shows it), syncsim's own
 * messages with the record JSON of record.h. Its bytes are fixed: trace
 * hashes of every scenario under a syncsim-dialect profile depend on them,
 * so a change here is a change of every recorded hash.
 *
 * The activity-events dialect reuses the change and result shapes inside
 * its extension (wire_syncsim_change, wire_syncsim_result).
 *
 * In process its messages travel in the native form (message.h): a
 * syncsim_msg, written into a json_out for the trace's hash and byte count
 * (and into a tree only when a trace file or an external node asks), read by
 * the receiver as a copy of what parsing that tree gives. The dialect table's
 * parsers read the JSON form (an external node's messages); it has no JSON
 * builders: the native ones stand in.
 */
#include "engine/wire_dialect.h"
#include "base/json.h"
#include "base/xalloc.h"

#include <string.h>

static const char *const MSG_NAMES[] = {
    [MSG_PUSH] = "push",
    [MSG_PUSH_RESULT] = "push_result",
    [MSG_PULL] = "pull",
    [MSG_PULL_RESULT] = "pull_result",
};

static msg_type syncsim_type(const cJSON *msg)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "type");
    if (!cJSON_IsString(t))
        return MSG_UNKNOWN;
    for (int i = 0; i < MSG_UNKNOWN; i++)
        if (strcmp(t->valuestring, MSG_NAMES[i]) == 0)
            return (msg_type)i;
    return MSG_UNKNOWN;
}

/* Any number in int64 range, truncated: what this protocol has always accepted. */
static bool get_int(const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(j) || !(j->valuedouble > -9.2e18 && j->valuedouble < 9.2e18))
        return false;
    *out = (int64_t)j->valuedouble;
    return true;
}

/* --- writing: each message's one spelling, into a tree or a hash (json_out) ---------- */

static void put_header(json_out *o, msg_type type, int64_t req)
{
    jo_object(o);
    jo_key_literal(o, "type");
    jo_string(o, MSG_NAMES[type]);
    jo_key_literal(o, "req");
    jo_number(o, (double)req);
}

/* An integer under a literal key. */
#define PUT_INT(o, literal, v) (jo_key_literal((o), literal), jo_number((o), (double)(v)))

static void put_hlc(json_out *o, hlc clock)
{
    jo_key_literal(o, "hlc");
    jo_array(o);
    jo_number(o, (double)clock.l_us);
    jo_number(o, (double)clock.c);
    jo_end(o);
}

static void put_change(json_out *o, const wire_change *c)
{
    jo_object(o);
    PUT_INT(o, "op_id", c->op_id);
    jo_key_literal(o, "op");
    jo_string(o, op_kind_name(c->op));
    PUT_INT(o, "base_version", c->base_version);
    if (c->force) {
        jo_key_literal(o, "force");
        jo_bool(o, true);
    }
    jo_key_literal(o, "changed");
    jo_array(o);
    for (int k = 0; k < c->n_changed; k++)
        jo_string(o, c->changed[k]);
    jo_end(o);
    jo_key_literal(o, "record");
    record_write(&c->rec, o);
    jo_end(o);
}

static void put_result(json_out *o, const wire_result *r)
{
    jo_object(o);
    PUT_INT(o, "op_id", r->op_id);
    jo_key_literal(o, "status");
    jo_string(o, r->status);
    jo_key_literal(o, "conflict");
    jo_bool(o, r->conflict);
    jo_key_literal(o, "record");
    record_write(&r->rec, o);
    if (r->error) {
        jo_key_literal(o, "error");
        jo_string(o, r->error);
    }
    if (r->temp_id) {
        jo_key_literal(o, "temp_id");
        jo_string(o, r->temp_id);
    }
    jo_end(o);
}

/* The change an outbox entry is on the wire (borrowing the entry's memory). */
static wire_change change_of(const outbox_entry *e)
{
    return (wire_change){ .op_id = e->seq, .op = e->op, .base_version = e->base_version, .force = e->force,
                          .n_changed = e->n_changed, .changed = e->changed, .rec = e->body };
}

/*
 * A message of this protocol as structs: what parsing its JSON gives. The native form carries
 * these (message.h); the JSON form is written from them, so the two cannot differ.
 */
typedef struct syncsim_msg {
    arena a;                 /* everything below points into it */
    msg_type type;
    int64_t req;
    const char *device;      /* push */
    int64_t since;           /* pull */
    const char *entity_type; /* pull: NULL for every type */
    int limit;               /* pull */
    hlc clock;               /* push_result, pull_result */
    int64_t now_us;          /* push_result, pull_result */
    int n;                   /* changes, results or records */
    const wire_change *changes; /* push */
    const wire_result *results; /* push_result */
    const record *records;      /* pull_result */
    int64_t next;            /* pull_result */
    bool has_more;           /* pull_result */
} syncsim_msg;

static void write_msg(const void *body, json_out *o)
{
    const syncsim_msg *m = body;
    put_header(o, m->type, m->req);
    switch (m->type) {
    case MSG_PUSH:
        jo_key_literal(o, "device");
        jo_string(o, m->device);
        jo_key_literal(o, "changes");
        jo_array(o);
        for (int i = 0; i < m->n; i++)
            put_change(o, &m->changes[i]);
        jo_end(o);
        break;
    case MSG_PUSH_RESULT:
        put_hlc(o, m->clock);
        PUT_INT(o, "now", m->now_us);
        jo_key_literal(o, "results");
        jo_array(o);
        for (int i = 0; i < m->n; i++)
            put_result(o, &m->results[i]);
        jo_end(o);
        break;
    case MSG_PULL:
        PUT_INT(o, "since", m->since);
        if (m->entity_type) {
            jo_key_literal(o, "entity_type");
            jo_string(o, m->entity_type);
        }
        PUT_INT(o, "limit", m->limit);
        break;
    case MSG_PULL_RESULT:
        put_hlc(o, m->clock);
        PUT_INT(o, "now", m->now_us);
        jo_key_literal(o, "changes");
        jo_array(o);
        for (int i = 0; i < m->n; i++)
            record_write(&m->records[i], o);
        jo_end(o);
        PUT_INT(o, "next", m->next);
        jo_key_literal(o, "has_more");
        jo_bool(o, m->has_more);
        break;
    case MSG_UNKNOWN: break;
    }
    jo_end(o);
}

static void free_msg(void *body)
{
    syncsim_msg *m = body;
    arena_release(&m->a);
    xfree(m);
}

static const message_kind SYNCSIM_NATIVE = { .name = "syncsim", .write = write_msg, .free_body = free_msg };

/* The tree of a message (the fallback below). */
static cJSON *tree_of(const syncsim_msg *m)
{
    json_out o;
    json_out_tree(&o);
    write_msg(m, &o);
    return json_out_take(&o);
}

static syncsim_msg *native_new(msg_type type, int64_t req)
{
    syncsim_msg *m = xcalloc(1, sizeof *m);
    arena_init(&m->a, 4096);
    m->type = type;
    m->req = req;
    return m;
}

/* A number a double holds: the parse's (int64_t) of it gives it back. */
static bool int_exact(int64_t v)
{
    return v > -JSON_INT_LIMIT && v < JSON_INT_LIMIT;
}

/* The native form when every value survives the JSON form unchanged, else (never for what the
 * engine sends; a guard, not a path) the JSON form, read as the protocol always read it. */
static message *send_form(syncsim_msg *m, bool exact)
{
    if (exact)
        return message_native(&SYNCSIM_NATIVE, m);
    cJSON *tree = tree_of(m);
    free_msg(m);
    return message_of_json(tree);
}

static const char *copy_str(arena *a, const char *s)
{
    return s ? arena_strdup(a, s) : NULL;
}

/* --- the protocol's messages as the engine sends them ---------------------------------- */

cJSON *wire_syncsim_change(const outbox_entry *e)
{
    wire_change c = change_of(e);
    json_out o;
    json_out_tree(&o);
    put_change(&o, &c);
    return json_out_take(&o);
}

bool wire_syncsim_change_parse(const cJSON *c, arena *a, wire_change *wc)
{
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(c, "op");
    const cJSON *changed = cJSON_GetObjectItemCaseSensitive(c, "changed");
    const char *why;
    if (!cJSON_IsObject(c) || !get_int(c, "op_id", &wc->op_id) || !cJSON_IsString(op) ||
        !op_kind_parse(op->valuestring, &wc->op) || wc->op >= OP_RESOLVE || !get_int(c, "base_version", &wc->base_version) ||
        !cJSON_IsArray(changed) || !record_from_json(cJSON_GetObjectItemCaseSensitive(c, "record"), a, &wc->rec, &why))
        return false;
    const cJSON *force = cJSON_GetObjectItemCaseSensitive(c, "force");
    if (force && !cJSON_IsBool(force))
        return false;
    wc->force = cJSON_IsTrue(force);
    wc->n_changed = cJSON_GetArraySize(changed);
    wc->changed = wj_alloc(a, wc->n_changed, sizeof *wc->changed);
    int k = 0;
    const cJSON *name;
    cJSON_ArrayForEach(name, changed)
    {
        if (!cJSON_IsString(name))
            return false;
        wc->changed[k++] = arena_strdup(a, name->valuestring);
    }
    return wire_change_valid(wc);
}

static bool syncsim_push_parse(const cJSON *msg, arena *a, int *n, wire_change **changes)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "changes");
    if (!cJSON_IsArray(arr))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_change *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        if (!wire_syncsim_change_parse(c, a, &out[i++]))
            return false;
    }
    *n = count;
    *changes = out;
    return true;
}

cJSON *wire_syncsim_result(const wire_result *r)
{
    json_out o;
    json_out_tree(&o);
    put_result(&o, r);
    return json_out_take(&o);
}

/* strict: the status must be one of wire_result's; else any string, as the protocol always took. */
static bool result_parse(const cJSON *r, arena *a, wire_result *wr, bool strict)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(r, "status");
    const cJSON *conflict = cJSON_GetObjectItemCaseSensitive(r, "conflict");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(r, "error");
    const cJSON *temp_id = cJSON_GetObjectItemCaseSensitive(r, "temp_id");
    const char *why;
    if (!cJSON_IsObject(r) || !get_int(r, "op_id", &wr->op_id) || !cJSON_IsString(status) ||
        !cJSON_IsBool(conflict) || (error && !cJSON_IsString(error)) || (temp_id && !cJSON_IsString(temp_id)) ||
        !record_from_json(cJSON_GetObjectItemCaseSensitive(r, "record"), a, &wr->rec, &why))
        return false;
    wr->status = strict ? wire_status_known(status->valuestring) : arena_strdup(a, status->valuestring);
    wr->conflict = cJSON_IsTrue(conflict);
    wr->error = error ? arena_strdup(a, error->valuestring) : NULL;
    wr->temp_id = temp_id ? arena_strdup(a, temp_id->valuestring) : NULL;
    return wr->status != NULL;
}

bool wire_syncsim_result_parse(const cJSON *j, arena *a, wire_result *wr)
{
    return result_parse(j, a, wr, true);
}


static bool syncsim_push_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                      wire_result **results)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "results");
    if (syncsim_type(msg) != MSG_PUSH_RESULT || !cJSON_IsArray(arr) || !wire_hlc_get(msg, clock) ||
        !get_int(msg, "now", now_us))
        return false;
    int count = cJSON_GetArraySize(arr);
    wire_result *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        if (!result_parse(r, a, &out[i++], false))
            return false;
    }
    *n = count;
    *results = out;
    return true;
}

static bool syncsim_pull_parse(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit)
{
    int64_t l;
    if (!get_int(msg, "since", since) || !get_int(msg, "limit", &l) || !wire_pull_args_valid(*since, l))
        return false;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "entity_type");
    if (t && !cJSON_IsString(t))
        return false;
    *type = t ? arena_strdup(a, t->valuestring) : NULL;
    *limit = (int)l;
    return true;
}

static bool syncsim_pull_result_parse(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                      record **records, int64_t *next, bool *has_more)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(msg, "changes");
    const cJSON *more = cJSON_GetObjectItemCaseSensitive(msg, "has_more");
    if (syncsim_type(msg) != MSG_PULL_RESULT || !cJSON_IsArray(arr) || !cJSON_IsBool(more) ||
        !get_int(msg, "next", next) || !wire_hlc_get(msg, clock) || !get_int(msg, "now", now_us))
        return false;
    int count = cJSON_GetArraySize(arr);
    record *out = wj_alloc(a, count, sizeof *out);
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        const char *why;
        if (!record_from_json(r, a, &out[i++], &why))
            return false;
    }
    *n = count;
    *records = out;
    *has_more = cJSON_IsTrue(more);
    return true;
}

/* --- the native form: the same messages as structs (message.h) --------------------------- */

static message *native_push(const wire_sender *from, int64_t req, int n, const outbox_entry *entries)
{
    syncsim_msg *m = native_new(MSG_PUSH, req);
    bool exact = int_exact(req);
    m->device = arena_strdup(&m->a, from->device);
    wire_change *changes = wj_alloc(&m->a, n, sizeof *changes);
    for (int i = 0; i < n; i++) {
        const outbox_entry *e = &entries[i];
        wire_change *c = &changes[i];
        *c = change_of(e);
        const char **changed = wj_alloc(&m->a, c->n_changed, sizeof *changed);
        for (int k = 0; k < c->n_changed; k++)
            changed[k] = arena_strdup(&m->a, e->changed[k]);
        c->changed = changed;
        record_copy_as_written(&c->rec, &e->body, &m->a);
        exact = exact && int_exact(c->op_id) && int_exact(c->base_version) && record_json_exact(&e->body);
    }
    m->n = n;
    m->changes = changes;
    return send_form(m, exact);
}

static message *native_push_result(int64_t req, hlc clock, int64_t now_us, int n, const wire_result *results)
{
    syncsim_msg *m = native_new(MSG_PUSH_RESULT, req);
    bool exact = int_exact(req) && int_exact(clock.l_us) && int_exact(now_us);
    m->clock = clock;
    m->now_us = now_us;
    wire_result *out = wj_alloc(&m->a, n, sizeof *out);
    for (int i = 0; i < n; i++) {
        const wire_result *r = &results[i];
        out[i] = (wire_result){ .op_id = r->op_id, .status = arena_strdup(&m->a, r->status), .conflict = r->conflict,
                                .error = copy_str(&m->a, r->error), .temp_id = copy_str(&m->a, r->temp_id) };
        record_copy_as_written(&out[i].rec, &r->rec, &m->a);
        exact = exact && int_exact(r->op_id) && record_json_exact(&r->rec);
    }
    m->n = n;
    m->results = out;
    return send_form(m, exact);
}

static message *native_pull(int64_t req, int64_t since, const char *type, int limit)
{
    syncsim_msg *m = native_new(MSG_PULL, req);
    m->since = since;
    m->entity_type = copy_str(&m->a, type);
    m->limit = limit;
    return send_form(m, int_exact(req) && int_exact(since));
}

/* Whether every value of a pull result survives its JSON form. */
static bool pull_result_exact(int64_t req, hlc clock, int64_t now_us, int n, const record *records, int64_t next)
{
    bool exact = int_exact(req) && int_exact(clock.l_us) && int_exact(now_us) && int_exact(next);
    for (int i = 0; i < n && exact; i++)
        exact = record_json_exact(&records[i]);
    return exact;
}

/* A pull result without its records. */
static syncsim_msg *pull_result_new(int64_t req, hlc clock, int64_t now_us, int64_t next, bool has_more)
{
    syncsim_msg *m = native_new(MSG_PULL_RESULT, req);
    m->clock = clock;
    m->now_us = now_us;
    m->next = next;
    m->has_more = has_more;
    return m;
}

static message *native_pull_result(int64_t req, hlc clock, int64_t now_us, int n, const record *records,
                                   int64_t next, bool has_more)
{
    syncsim_msg *m = pull_result_new(req, clock, now_us, next, has_more);
    record *out = wj_alloc(&m->a, n, sizeof *out);
    for (int i = 0; i < n; i++)
        record_copy_as_written(&out[i], &records[i], &m->a);
    m->n = n;
    m->records = out;
    return send_form(m, pull_result_exact(req, clock, now_us, n, records, next));
}

/* native_pull_result without the copy: the message's arena becomes owner's, which holds the records. */
static message *native_pull_result_take(int64_t req, hlc clock, int64_t now_us, int n, record *records,
                                        arena *owner, int64_t next, bool has_more)
{
    /* Nothing to copy, or the tree's path: owner stays the caller's. */
    if (n == 0 || !pull_result_exact(req, clock, now_us, n, records, next))
        return native_pull_result(req, clock, now_us, n, records, next, has_more);
    syncsim_msg *m = pull_result_new(req, clock, now_us, next, has_more);
    arena_release(&m->a);   /* nothing in it yet */
    m->a = *owner;
    arena_init(owner, owner->chunk_bytes);
    for (int i = 0; i < n; i++)
        record_as_written(&records[i]);
    m->n = n;
    m->records = records;
    return send_form(m, true);
}

/*
 * Readers: what the parsers above read from the message's JSON, copied into the reader's arena
 * (the receiver may change what it read; the message may be delivered again, as a duplicate).
 * Each refuses what its parser refuses: another message type, and the checks on the values.
 */
static const syncsim_msg *native_of(const message *msg, msg_type type)
{
    const syncsim_msg *m = msg->body;
    return msg->kind == &SYNCSIM_NATIVE && m->type == type ? m : NULL;
}

static bool native_push_read(const message *msg, arena *a, int *n, wire_change **changes)
{
    const syncsim_msg *m = native_of(msg, MSG_PUSH);
    if (!m)
        return false;
    wire_change *out = wj_alloc(a, m->n, sizeof *out);
    for (int i = 0; i < m->n; i++) {
        const wire_change *c = &m->changes[i];
        out[i] = *c;
        const char **changed = wj_alloc(a, c->n_changed, sizeof *changed);
        for (int k = 0; k < c->n_changed; k++)
            changed[k] = arena_strdup(a, c->changed[k]);
        out[i].changed = changed;
        record_copy(&out[i].rec, &c->rec, a);
        if (c->op >= OP_RESOLVE || !wire_change_valid(&out[i]))
            return false;
    }
    *n = m->n;
    *changes = out;
    return true;
}

static bool native_push_result_read(const message *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                    wire_result **results)
{
    const syncsim_msg *m = native_of(msg, MSG_PUSH_RESULT);
    if (!m)
        return false;
    wire_result *out = wj_alloc(a, m->n, sizeof *out);
    for (int i = 0; i < m->n; i++) {
        const wire_result *r = &m->results[i];
        out[i] = (wire_result){ .op_id = r->op_id, .status = arena_strdup(a, r->status), .conflict = r->conflict,
                                .error = copy_str(a, r->error), .temp_id = copy_str(a, r->temp_id) };
        record_copy(&out[i].rec, &r->rec, a);
    }
    *clock = m->clock;
    *now_us = m->now_us;
    *n = m->n;
    *results = out;
    return true;
}

static bool native_pull_read(const message *msg, arena *a, int64_t *since, const char **type, int *limit)
{
    const syncsim_msg *m = native_of(msg, MSG_PULL);
    if (!m || !wire_pull_args_valid(m->since, m->limit))
        return false;
    *since = m->since;
    *type = copy_str(a, m->entity_type);
    *limit = m->limit;
    return true;
}

/* The message's own records, not copies: a message never changes once built (it may be delivered
 * twice), and the receiver only reads them. Copying them cost a deep copy of every pulled record's
 * log, a fifth of the engine's copying late in week-100. */
static bool native_pull_result_read(const message *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                                    const record **records, int64_t *next, bool *has_more)
{
    (void)a;
    const syncsim_msg *m = native_of(msg, MSG_PULL_RESULT);
    if (!m)
        return false;
    *clock = m->clock;
    *now_us = m->now_us;
    *n = m->n;
    *records = m->records;
    *next = m->next;
    *has_more = m->has_more;
    return true;
}

static msg_type native_type(const message *msg)
{
    return ((const syncsim_msg *)msg->body)->type;
}

static int64_t native_req(const message *msg)
{
    return ((const syncsim_msg *)msg->body)->req;
}

static const wire_native SYNCSIM_NATIVE_FORM = {
    .kind = &SYNCSIM_NATIVE,
    .push = native_push,
    .push_read = native_push_read,
    .push_result = native_push_result,
    .push_result_read = native_push_result_read,
    .pull = native_pull,
    .pull_read = native_pull_read,
    .pull_result = native_pull_result,
    .pull_result_take = native_pull_result_take,
    .pull_result_read = native_pull_result_read,
    .type = native_type,
    .req = native_req,
};

const wire_dialect WIRE_SYNCSIM = {
    .name = "syncsim",
    .summary = "syncsim's own protocol: push, push_result, pull, pull_result with whole records",
    .type = syncsim_type,
    .push_parse = syncsim_push_parse,
    .push_result_parse = syncsim_push_result_parse,
    .pull_parse = syncsim_pull_parse,
    .pull_result_parse = syncsim_pull_result_parse,
    .native = &SYNCSIM_NATIVE_FORM,
};
