/*
 * proto: see proto.h. Encoders write text straight into a buf (no cJSON
 * tree for what we spell ourselves); decoders read a cJSON tree and check
 * every member before they trust it.
 */
#include "external/proto.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "engine/record.h"
#include "engine/value.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* --- roster and write ids ---------------------------------------------------- */

void proto_roster_init(proto_roster *r, int n, const char *const *names, const char *const *users)
{
    r->n = n;
    r->names = names;
    r->users = users;
    strmap_init(&r->index);
    for (int i = 0; i < n; i++)
        strmap_put(&r->index, names[i], i);
}

void proto_roster_free(proto_roster *r)
{
    strmap_free(&r->index);
}

int proto_roster_find(const proto_roster *r, const char *name)
{
    return strmap_get(&r->index, name);
}

void proto_put_write_id(buf *b, const proto_roster *r, write_id w)
{
    if (w == WRITE_NONE) {
        buf_puts(b, "null");
        return;
    }
    int node = WRITE_NODE(w);
    const char *name = node >= 0 && node < r->n ? r->names[node] : "?";
    char text[160];
    if ((size_t)snprintf(text, sizeof text, "%s:%" PRIu32, name, WRITE_COUNTER(w)) < sizeof text) {
        buf_put_json_string(b, text);
        return;
    }
    buf long_text;   /* a name this long is rare: it costs an allocation */
    buf_init(&long_text);
    buf_printf(&long_text, "%s:%" PRIu32, name, WRITE_COUNTER(w));
    buf_put_json_string(b, long_text.data);
    buf_free(&long_text);
}

bool proto_parse_write_id(const proto_roster *r, const char *text, write_id *out)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || colon[1] == '\0')
        return false;
    uint64_t counter = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || counter > UINT32_MAX / 10)
            return false;
        counter = counter * 10 + (uint64_t)(*p - '0');
    }
    if (counter == 0 || counter > UINT32_MAX)
        return false;
    char name[256];
    size_t n = (size_t)(colon - text);
    if (n >= sizeof name)
        return false;
    memcpy(name, text, n);
    name[n] = '\0';
    int node = proto_roster_find(r, name);
    if (node <= NODE_SERVER)   /* writes are made on devices */
        return false;
    *out = WRITE_ID(node, counter);
    return true;
}

/* --- checking decoded members ------------------------------------------------ */

static bool fail(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(char **why, const char *fmt, ...)
{
    buf b;
    buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    *why = buf_take(&b);
    return false;
}

static const char *json_kind(const cJSON *j)
{
    if (!j) return "nothing";
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    return "something else";
}

/* Every member of o is one of allowed, and none appears twice. */
static bool members_known(const cJSON *o, const char *const *allowed, int n_allowed, const char *what, char **why)
{
    for (const cJSON *m = o->child; m; m = m->next) {
        bool known = false;
        for (int i = 0; i < n_allowed && !known; i++)
            known = strcmp(m->string, allowed[i]) == 0;
        if (!known)
            return fail(why, "%s has an unknown member \"%s\"", what, m->string);
        for (const cJSON *k = o->child; k != m; k = k->next)
            if (strcmp(k->string, m->string) == 0)
                return fail(why, "%s has the member \"%s\" twice", what, m->string);
    }
    return true;
}

static const cJSON *member(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static bool get_string(const cJSON *o, const char *key, bool required, const char **out, const char *what,
                       char **why)
{
    const cJSON *j = member(o, key);
    *out = NULL;
    if (!j || (!required && cJSON_IsNull(j)))
        return !required || fail(why, "%s needs \"%s\" (a string)", what, key);
    if (!cJSON_IsString(j))
        return fail(why, "%s: \"%s\" must be a string, not %s", what, key, json_kind(j));
    *out = j->valuestring;
    return true;
}

/* An integral JSON number in [min, max]. */
static bool get_int(const cJSON *o, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
                    const char *what, char **why)
{
    const cJSON *j = member(o, key);
    if (!j)
        return !required || fail(why, "%s needs \"%s\" (an integer)", what, key);
    double d = cJSON_IsNumber(j) ? j->valuedouble : 0;
    if (!cJSON_IsNumber(j) || d != d || d < (double)min || d > (double)max || d != (double)(int64_t)d)
        return fail(why, "%s: \"%s\" must be an integer from %" PRId64 " to %" PRId64 ", not %s", what, key, min,
                    max, cJSON_IsNumber(j) ? "that" : json_kind(j));
    *out = (int64_t)d;
    return true;
}

static bool get_bool(const cJSON *o, const char *key, bool required, bool *out, const char *what, char **why)
{
    const cJSON *j = member(o, key);
    if (!j)
        return !required || fail(why, "%s needs \"%s\" (true or false)", what, key);
    if (!cJSON_IsBool(j))
        return fail(why, "%s: \"%s\" must be true or false, not %s", what, key, json_kind(j));
    *out = cJSON_IsTrue(j);
    return true;
}

static bool get_write(const cJSON *o, const char *key, bool required, const proto_roster *r, write_id *out,
                      const char *what, char **why)
{
    const cJSON *j = member(o, key);
    *out = WRITE_NONE;
    if (!j || cJSON_IsNull(j))
        return !required || fail(why, "%s needs \"%s\" (a write id like \"phone:3\")", what, key);
    if (!cJSON_IsString(j))
        return fail(why, "%s: \"%s\" must be a write id like \"phone:3\", not %s", what, key, json_kind(j));
    if (!proto_parse_write_id(r, j->valuestring, out))
        return fail(why, "%s: \"%s\" is \"%.80s\", which is not a write id of this run (\"<device>:<n>\")", what,
                    key, j->valuestring);
    return true;
}

/* A replica name of the roster. */
static bool get_node(const cJSON *o, const char *key, const proto_roster *r, int *out, const char *what, char **why)
{
    const char *name;
    if (!get_string(o, key, true, &name, what, why))
        return false;
    *out = proto_roster_find(r, name);
    if (*out < 0)
        return fail(why, "%s: \"%s\" is \"%.80s\", which is not a replica of this run", what, key, name);
    return true;
}

/* A scalar value: null, a boolean, a finite number within 2^53 when integral, or a string. */
static bool get_value(const cJSON *j, arena *a, value *out, const char *what, char **why)
{
    if (cJSON_IsNumber(j) && (j->valuedouble != j->valuedouble || j->valuedouble - j->valuedouble != 0))
        return fail(why, "%s must be a finite number", what);
    if (!value_from_json(j, a, out))
        return fail(why, "%s must be null, a boolean, a number or a string, not %s", what, json_kind(j));
    return true;
}

/* {"type": .., "id": ..}, and nothing else when bare. */
static bool get_key(const cJSON *o, const char *key, arena *a, const char **type, const char **id, const char *what,
                    char **why)
{
    const cJSON *k = member(o, key);
    if (!cJSON_IsObject(k))
        return fail(why, "%s needs \"%s\" ({\"type\": .., \"id\": ..}), not %s", what, key, json_kind(k));
    static const char *const KEYS[] = { "type", "id" };
    if (!members_known(k, KEYS, N(KEYS), what, why) || !get_string(k, "type", true, type, what, why) ||
        !get_string(k, "id", true, id, what, why))
        return false;
    *type = arena_strdup(a, *type);
    *id = arena_strdup(a, *id);
    return true;
}

/* --- requests ------------------------------------------------------------------- */

static const char *const REQUEST_NAMES[] = {
    [REQ_INIT] = "init", [REQ_RESET] = "reset", [REQ_OP] = "op", [REQ_DELIVER] = "deliver",
    [REQ_TIMER] = "timer", [REQ_CONTROL] = "control", [REQ_SNAPSHOT] = "snapshot", [REQ_SHUTDOWN] = "shutdown",
    [REQ_POWER_LOSS] = "power_loss",
    [REQ_STORAGE_FAULT] = "storage_fault",
    [REQ_REINSTALL] = "reinstall",
    [REQ_SIGN_OUT] = "sign_out",
    [REQ_SWITCH_ACCOUNT] = "switch_account",
    [REQ_ACCOUNT] = "account",
};

static const char *const CONTROL_NAMES[] = {
    [CTL_SYNC_NOW] = "sync", [CTL_NET_UP] = "net_up", [CTL_NET_DOWN] = "net_down",
};

const char *proto_request_name(proto_request_kind kind)
{
    return kind >= 0 && kind < N(REQUEST_NAMES) ? REQUEST_NAMES[kind] : "?";
}

static void put_key(buf *b, const char *key)
{
    buf_putc(b, ',');
    buf_put_json_string(b, key);
    buf_putc(b, ':');
}

static void put_str_member(buf *b, const char *key, const char *value)
{
    put_key(b, key);
    buf_put_json_string(b, value);
}

static void put_int_member(buf *b, const char *key, int64_t value)
{
    put_key(b, key);
    json_put_i64(b, value);
}

void proto_request_begin(buf *b, proto_request_kind kind, uint64_t seq, int64_t wall_us, int64_t mono_us)
{
    buf_puts(b, "{\"type\":");
    buf_put_json_string(b, proto_request_name(kind));
    put_int_member(b, "seq", (int64_t)seq);
    put_int_member(b, "wall_us", wall_us);
    put_int_member(b, "mono_us", mono_us);
}

void proto_request_end(buf *b)
{
    buf_puts(b, "}\n");
}

static void put_role(buf *b, const proto_roster *r, int node)
{
    put_str_member(b, "role", node == NODE_SERVER ? "server" : "device");
    if (node != NODE_SERVER && r->users && r->users[node])
        put_str_member(b, "user", r->users[node]);
}

void proto_put_init(buf *b, const proto_roster *r, const proto_init *init)
{
    put_str_member(b, "protocol", PROTO_VERSION);
    put_str_member(b, "node", init->node);
    put_role(b, r, init->index);
    put_key(b, "nodes");
    buf_putc(b, '[');
    for (int i = 0; i < r->n; i++) {
        buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        buf_put_json_string(b, r->names[i]);
        put_role(b, r, i);
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
    put_key(b, "seed");
    buf_printf(b, "\"%" PRIu64 "\"", init->seed);
    put_str_member(b, "data_dir", init->data_dir);
    put_int_member(b, "boot", init->boot);
}

static void put_pair(buf *b, const proto_roster *r, const value *v, write_id w)
{
    buf_puts(b, "{\"v\":");
    value_put_json(b, v);
    buf_puts(b, ",\"w\":");
    proto_put_write_id(b, r, w);
    buf_putc(b, '}');
}

static void put_record_key(buf *b, const char *type, const char *id)
{
    put_key(b, "record");
    buf_puts(b, "{\"type\":");
    buf_put_json_string(b, type);
    put_str_member(b, "id", id);
    buf_putc(b, '}');
}

void proto_put_op(buf *b, const proto_roster *r, const user_op *op)
{
    put_str_member(b, "op", op_kind_name(op->kind));
    if (op->kind == OP_OPEN) {   /* not a write: no write id, no fields */
        put_record_key(b, op->type, op->id);
        return;
    }
    put_key(b, "w");
    proto_put_write_id(b, r, op->w);
    put_record_key(b, op->type, op->id);
    if (op->from_form)
        put_str_member(b, "base", "opened");
    if (op->kind == OP_RESOLVE) {
        const value *pick = op->n_fields ? &op->fields[0].v : NULL;
        put_str_member(b, "pick", pick && pick->kind == VAL_STRING ? pick->s : "local");
        return;
    }
    if (op->kind == OP_DELETE)
        return;
    put_key(b, "fields");
    buf_putc(b, '{');
    for (int i = 0; i < op->n_fields; i++) {
        if (i)
            buf_putc(b, ',');
        buf_put_json_string(b, op->fields[i].name);
        buf_putc(b, ':');
        put_pair(b, r, &op->fields[i].v, op->w);
    }
    buf_putc(b, '}');
}

void proto_put_deliver(buf *b, const proto_roster *r, int from, const cJSON *body)
{
    put_str_member(b, "src", r->names[from]);
    put_key(b, "body");
    json_write(b, body);
}

void proto_put_timer(buf *b, uint64_t token)
{
    put_int_member(b, "token", (int64_t)token);
}

void proto_put_control(buf *b, node_control ctl)
{
    put_str_member(b, "control", CONTROL_NAMES[ctl]);
}

void proto_put_lifecycle(buf *b, lifecycle_wipe wipe)
{
    put_str_member(b, "wipe", lifecycle_wipe_name(wipe));
}

void proto_put_switch_account(buf *b, lifecycle_wipe wipe, bool keep_data, const char *user)
{
    put_str_member(b, "wipe", lifecycle_wipe_name(wipe));
    put_str_member(b, "data", keep_data ? "keep-data" : "wipe");
    put_str_member(b, "user", user);
}

void proto_put_account(buf *b, const proto_roster *r, int device, const char *user)
{
    put_str_member(b, "node", r->names[device]);
    put_str_member(b, "user", user);
}

void proto_put_storage_fault(buf *b, const storage_fault *fault)
{
    put_str_member(b, "fault", storage_fault_kind_name(fault->kind));
    if (fault->kind == STORAGE_IO_ERROR)
        put_int_member(b, "writes", fault->writes);
}

static int name_index(const char *text, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(text, names[i]) == 0)
            return i;
    return -1;
}

static int compare_fields(const void *a, const void *b)
{
    return strcmp(((const op_field *)a)->name, ((const op_field *)b)->name);
}

static bool decode_init(const cJSON *j, arena *a, proto_request *out, char **why)
{
    const char *what = out->kind == REQ_INIT ? "init" : "reset";
    static const char *const KEYS[] = { "type", "seq", "wall_us", "mono_us", "protocol", "node", "role", "user",
                                        "nodes", "seed", "data_dir", "boot" };
    const char *role, *seed;
    int64_t boot;
    if (!members_known(j, KEYS, N(KEYS), what, why) || !get_string(j, "protocol", true, &out->protocol, what, why) ||
        !get_string(j, "node", true, &out->node, what, why) || !get_string(j, "role", true, &role, what, why) ||
        !get_string(j, "user", false, &out->user, what, why) || !get_string(j, "seed", true, &seed, what, why) ||
        !get_string(j, "data_dir", true, &out->data_dir, what, why) ||
        !get_int(j, "boot", true, 1, INT32_MAX, &boot, what, why))
        return false;
    out->boot = (int)boot;
    out->server = strcmp(role, "server") == 0;
    if (!out->server && strcmp(role, "device") != 0)
        return fail(why, "%s: \"role\" must be \"server\" or \"device\", not \"%.40s\"", what, role);
    char *end = NULL;
    if (!*seed || *seed == '-' || (out->seed = strtoull(seed, &end, 10), *end))
        return fail(why, "%s: \"seed\" must be a decimal string of a 64-bit number", what);
    const cJSON *nodes = member(j, "nodes");
    int n = cJSON_GetArraySize(nodes);
    if (!cJSON_IsArray(nodes) || n < 1)
        return fail(why, "%s needs \"nodes\": an array of every replica, server first", what);
    out->n_nodes = n;
    out->names = arena_alloc(a, (size_t)n * sizeof *out->names);
    out->users = arena_alloc(a, (size_t)n * sizeof *out->users);
    int i = 0;
    for (const cJSON *e = nodes->child; e; e = e->next, i++) {
        static const char *const NODE_KEYS[] = { "name", "role", "user" };
        const char *name, *node_role, *user;
        if (!cJSON_IsObject(e))
            return fail(why, "%s: \"nodes\" must hold objects, not %s", what, json_kind(e));
        if (!members_known(e, NODE_KEYS, N(NODE_KEYS), "a replica in nodes", why) ||
            !get_string(e, "name", true, &name, "a replica in nodes", why) ||
            !get_string(e, "role", true, &node_role, "a replica in nodes", why) ||
            !get_string(e, "user", false, &user, "a replica in nodes", why))
            return false;
        if ((i == 0) != (strcmp(node_role, "server") == 0))
            return fail(why, "%s: the server comes first in \"nodes\", and only once", what);
        if (name_index(name, out->names, i) >= 0)
            return fail(why, "%s: the replica \"%.80s\" is in \"nodes\" twice", what, name);
        out->names[i] = arena_strdup(a, name);
        out->users[i] = user ? arena_strdup(a, user) : NULL;
    }
    if (name_index(out->node, out->names, n) < 0)
        return fail(why, "%s: \"node\" names \"%.80s\", which is not in \"nodes\"", what, out->node);
    out->node = arena_strdup(a, out->node);
    out->protocol = arena_strdup(a, out->protocol);
    out->data_dir = arena_strdup(a, out->data_dir);
    out->user = out->user ? arena_strdup(a, out->user) : NULL;
    return true;
}

static bool decode_op(const cJSON *j, const proto_roster *r, arena *a, proto_request *out, char **why)
{
    static const char *const KEYS[] = { "type",   "seq",    "wall_us", "mono_us", "op",
                                        "w",      "record", "fields",  "pick",    "base" };
    const char *kind;
    user_op *op = &out->op;
    if (!members_known(j, KEYS, N(KEYS), "op", why) || !get_string(j, "op", true, &kind, "op", why) ||
        !get_key(j, "record", a, &op->type, &op->id, "op", why))
        return false;
    if (!op_kind_parse(kind, &op->kind))
        return fail(why,
                    "op: \"op\" must be create, update, delete, increment, append, resolve or open, not \"%.40s\"",
                    kind);
    if (!r)
        return fail(why, "op before init");
    const cJSON *fields = member(j, "fields");
    if (op->kind == OP_OPEN) {
        if (fields || member(j, "w") || member(j, "pick") || member(j, "base"))
            return fail(why, "an open op carries only \"record\": it is no write");
        return true;
    }
    if (!get_write(j, "w", true, r, &op->w, "op", why))
        return false;
    const cJSON *base = member(j, "base");
    if (base) {
        if (!cJSON_IsString(base) || strcmp(base->valuestring, "opened") != 0)
            return fail(why, "op: \"base\" may only be \"opened\" (made on the copy an open op kept)");
        if (op->kind != OP_UPDATE && op->kind != OP_DELETE)
            return fail(why, "op: only an update or a delete is made on an opened copy (\"base\")");
        op->from_form = true;
    }
    if (op->kind == OP_RESOLVE) {
        const char *pick;
        if (fields || !get_string(j, "pick", true, &pick, "a resolve op", why))
            return fields ? fail(why, "a resolve op carries \"pick\", not \"fields\"") : false;
        op_field *f = arena_alloc(a, sizeof *f);
        *f = (op_field){ .name = "pick", .v = { .kind = VAL_STRING, .s = arena_strdup(a, pick) } };
        op->fields = f;
        op->n_fields = 1;
        return true;
    }
    if (member(j, "pick"))
        return fail(why, "only a resolve op carries \"pick\"");
    if (op->kind == OP_DELETE) {
        if (fields)
            return fail(why, "a delete op carries no \"fields\"");
        return true;
    }
    if (!cJSON_IsObject(fields))
        return fail(why, "a %s op needs \"fields\": an object of provenance pairs", kind);
    int n = cJSON_GetArraySize(fields);
    if (n > RECORD_FIELDS_MAX)
        return fail(why, "op: more than %d fields", RECORD_FIELDS_MAX);
    if (op->kind == OP_INCREMENT && n != 1)
        return fail(why, "an increment op writes exactly one field (the amount)");
    op_field *fs = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *fs);
    int i = 0;
    for (const cJSON *f = fields->child; f; f = f->next, i++) {
        static const char *const PAIR_KEYS[] = { "v", "w" };
        if (!cJSON_IsObject(f) || !members_known(f, PAIR_KEYS, N(PAIR_KEYS), "a provenance pair", why) ||
            !member(f, "v"))
            return *why ? false : fail(why, "op: the field \"%.80s\" must be a pair {\"v\": value, \"w\": write}",
                                       f->string);
        for (int k = 0; k < i; k++)
            if (strcmp(fs[k].name, f->string) == 0)
                return fail(why, "op: the field \"%.80s\" is there twice", f->string);
        fs[i].name = arena_strdup(a, f->string);
        if (!get_value(member(f, "v"), a, &fs[i].v, "a field's \"v\"", why))
            return false;
        if (op->kind == OP_INCREMENT && fs[i].v.kind != VAL_INT)
            return fail(why, "an increment's amount must be an integer");
    }
    qsort(fs, (size_t)n, sizeof *fs, compare_fields);
    op->fields = fs;
    op->n_fields = n;
    return true;
}

bool proto_decode_request(const cJSON *j, const proto_roster *r, arena *a, proto_request *out, char **why)
{
    memset(out, 0, sizeof *out);
    *why = NULL;
    if (!cJSON_IsObject(j))
        return fail(why, "a request must be a JSON object, not %s", json_kind(j));
    const char *type;
    int64_t seq, wall_us, mono_us;
    if (!get_string(j, "type", true, &type, "a request", why))
        return false;
    int kind = name_index(type, REQUEST_NAMES, N(REQUEST_NAMES));
    if (kind < 0)
        return fail(why, "unknown request type \"%.40s\"", type);
    out->kind = (proto_request_kind)kind;
    if (!get_int(j, "seq", true, 1, PROTO_INT_MAX, &seq, type, why) ||
        !get_int(j, "wall_us", true, -PROTO_INT_MAX, PROTO_INT_MAX, &wall_us, type, why) ||
        !get_int(j, "mono_us", true, 0, PROTO_INT_MAX, &mono_us, type, why))
        return false;
    out->seq = (uint64_t)seq;
    out->wall_us = wall_us;
    out->mono_us = mono_us;
    static const char *const BASE_KEYS[] = { "type", "seq", "wall_us", "mono_us" };
    switch (out->kind) {
    case REQ_INIT:
    case REQ_RESET:
        return decode_init(j, a, out, why);
    case REQ_OP:
        return decode_op(j, r, a, out, why);
    case REQ_DELIVER: {
        static const char *const KEYS[] = { "type", "seq", "wall_us", "mono_us", "src", "body" };
        int src;
        if (!members_known(j, KEYS, N(KEYS), type, why))
            return false;
        if (!r)
            return fail(why, "deliver before init");
        if (!get_node(j, "src", r, &src, type, why))
            return false;
        out->src = r->names[src];
        out->body = member(j, "body");
        return out->body || fail(why, "deliver needs \"body\"");
    }
    case REQ_TIMER: {
        static const char *const KEYS[] = { "type", "seq", "wall_us", "mono_us", "token" };
        int64_t token;
        if (!members_known(j, KEYS, N(KEYS), type, why) ||
            !get_int(j, "token", true, 0, PROTO_INT_MAX - 1, &token, type, why))
            return false;
        out->token = (uint64_t)token;
        return true;
    }
    case REQ_CONTROL: {
        static const char *const KEYS[] = { "type", "seq", "wall_us", "mono_us", "control" };
        const char *ctl;
        if (!members_known(j, KEYS, N(KEYS), type, why) || !get_string(j, "control", true, &ctl, type, why))
            return false;
        int c = name_index(ctl, CONTROL_NAMES, N(CONTROL_NAMES));
        if (c < 0)
            return fail(why, "control: \"control\" must be sync, net_up or net_down, not \"%.40s\"", ctl);
        out->control = (node_control)c;
        return true;
    }
    case REQ_SNAPSHOT:
    case REQ_SHUTDOWN:
    case REQ_POWER_LOSS:
        return members_known(j, BASE_KEYS, N(BASE_KEYS), type, why);
    case REQ_STORAGE_FAULT: {
        static const char *const KEYS[] = { "type", "seq", "wall_us", "mono_us", "fault", "writes" };
        const char *fault;
        if (!members_known(j, KEYS, N(KEYS), type, why) || !get_string(j, "fault", true, &fault, type, why))
            return false;
        if (!storage_fault_kind_parse(fault, &out->storage.kind))
            return fail(why, "storage_fault: \"fault\" must be disk_full, disk_freed, io_error or healed, not \"%.40s\"",
                        fault);
        int64_t writes = 0;
        bool io = out->storage.kind == STORAGE_IO_ERROR;
        if (!get_int(j, "writes", io, 1, 1000, &writes, type, why))
            return false;
        if (!io && member(j, "writes"))
            return fail(why, "storage_fault: \"writes\" goes only with \"fault\": \"io_error\"");
        out->storage.writes = (int)writes;
        return true;
    }
    case REQ_REINSTALL:
    case REQ_SIGN_OUT: {
        static const char *const KEYS[] = { "type", "seq", "wall_us", "mono_us", "wipe" };
        const char *wipe;
        if (!members_known(j, KEYS, N(KEYS), type, why) || !get_string(j, "wipe", true, &wipe, type, why))
            return false;
        if (!lifecycle_wipe_parse(wipe, &out->wipe))
            return fail(why, "%s: \"wipe\" must be all or data-only, not \"%.40s\"", type, wipe);
        return true;
    }
    case REQ_SWITCH_ACCOUNT: {
        static const char *const KEYS[] = { "type", "seq", "wall_us", "mono_us", "wipe", "data", "user" };
        const char *wipe, *data, *user;
        if (!members_known(j, KEYS, N(KEYS), type, why) || !get_string(j, "wipe", true, &wipe, type, why) ||
            !get_string(j, "data", true, &data, type, why) || !get_string(j, "user", true, &user, type, why))
            return false;
        if (!lifecycle_wipe_parse(wipe, &out->wipe))
            return fail(why, "%s: \"wipe\" must be all or data-only, not \"%.40s\"", type, wipe);
        if (strcmp(data, "wipe") != 0 && strcmp(data, "keep-data") != 0)
            return fail(why, "%s: \"data\" must be wipe or keep-data, not \"%.40s\"", type, data);
        if (!*user)
            return fail(why, "%s: \"user\" must not be empty", type);
        out->keep_data = strcmp(data, "keep-data") == 0;
        out->user = arena_strdup(a, user);
        return true;
    }
    case REQ_ACCOUNT: {
        static const char *const KEYS[] = { "type", "seq", "wall_us", "mono_us", "node", "user" };
        const char *user;
        int device;
        if (!members_known(j, KEYS, N(KEYS), type, why))
            return false;
        if (!r)
            return fail(why, "account before init");
        if (!get_node(j, "node", r, &device, type, why) || !get_string(j, "user", true, &user, type, why))
            return false;
        if (device == NODE_SERVER)
            return fail(why, "account: \"node\" must be a device, not the server");
        if (!*user)
            return fail(why, "%s: \"user\" must not be empty", type);
        out->node = r->names[device];
        out->user = arena_strdup(a, user);
        return true;
    }
    }
    return fail(why, "unknown request");
}

/* --- records ------------------------------------------------------------------- */

void proto_put_record(buf *b, const proto_roster *r, const record *rec)
{
    buf_puts(b, "{\"type\":");
    buf_put_json_string(b, rec->type);
    put_str_member(b, "id", rec->id);
    put_key(b, "deleted");
    buf_puts(b, rec->deleted ? "true" : "false");
    put_key(b, "w");
    proto_put_write_id(b, r, rec->st.w);
    put_key(b, "del_w");
    proto_put_write_id(b, r, rec->del.w);
    if (rec->tenant && *rec->tenant)
        put_str_member(b, "tenant", rec->tenant);
    put_key(b, "fields");
    buf_putc(b, '{');
    for (int i = 0; i < rec->n_fields; i++) {
        const field *f = &rec->fields[i];
        if (i)
            buf_putc(b, ',');
        buf_put_json_string(b, f->name);
        buf_puts(b, ":{\"v\":");
        value_put_json(b, &f->v);
        buf_puts(b, ",\"w\":");
        proto_put_write_id(b, r, f->st.w);
        /* A counter's other contributions, in the order record_observation reports them. */
        bool any = false;
        for (int k = 0; k < f->n_parts; k++) {
            if (f->parts[k].w == f->st.w)
                continue;
            buf_puts(b, any ? "," : ",\"also\":[");
            proto_put_write_id(b, r, f->parts[k].w);
            any = true;
        }
        if (any)
            buf_putc(b, ']');
        buf_putc(b, '}');
    }
    buf_putc(b, '}');
    if (rec->n_events) {
        put_key(b, "events");
        buf_putc(b, '[');
        for (int i = 0; i < rec->n_events; i++) {
            buf_puts(b, i ? ",{\"w\":" : "{\"w\":");
            proto_put_write_id(b, r, rec->events[i].w);
            buf_putc(b, '}');
        }
        buf_putc(b, ']');
    }
    buf_putc(b, '}');
}

/* A record in the protocol's form, decoded. */
typedef struct wire_field {
    const char *name;
    const cJSON *v;
    write_id w;
    int n_also;
    write_id *also;
} wire_field;

typedef struct wire_record {
    const char *type;
    const char *id;
    const char *tenant;
    bool deleted;
    write_id w;
    write_id del_w;
    int n_fields;
    wire_field *fields;
    int n_events;
    write_id *events;
} wire_record;

#define RECORD_EVENTS_MAX 1000000
#define ALSO_MAX 100000

static bool decode_write_list(const cJSON *list, const proto_roster *r, arena *a, int max, int *n_out,
                              write_id **out, bool objects, const char *what, char **why)
{
    int n = cJSON_GetArraySize(list);
    if (!cJSON_IsArray(list))
        return fail(why, "%s must be an array, not %s", what, json_kind(list));
    if (n > max)
        return fail(why, "%s holds more than %d entries", what, max);
    write_id *ws = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *ws);
    int i = 0;
    for (const cJSON *e = list->child; e; e = e->next, i++) {
        if (objects) {
            static const char *const KEYS[] = { "w", "fields" };
            if (!cJSON_IsObject(e))
                return fail(why, "%s must hold objects {\"w\": write id}, not %s", what, json_kind(e));
            if (!members_known(e, KEYS, N(KEYS), what, why) || !get_write(e, "w", true, r, &ws[i], what, why))
                return false;
        } else if (!cJSON_IsString(e) || !proto_parse_write_id(r, e->valuestring, &ws[i])) {
            return fail(why, "%s must hold write ids of this run (\"<device>:<n>\")", what);
        }
    }
    *n_out = n;
    *out = ws;
    return true;
}

/* absent_ok: a record effect may say the node no longer holds the record at all ({"type","id","absent":true}). */
static bool decode_record(const cJSON *o, const proto_roster *r, arena *a, bool absent_ok, wire_record *out,
                          char **why)
{
    memset(out, 0, sizeof *out);
    static const char *const KEYS[] = { "type", "id", "deleted", "w", "del_w", "tenant", "fields", "events" };
    const char *what = "a record";
    if (!cJSON_IsObject(o))
        return fail(why, "a record must be an object, not %s", json_kind(o));
    const cJSON *absent = member(o, "absent");
    if (absent && absent_ok) {
        static const char *const ABSENT_KEYS[] = { "type", "id", "absent" };
        if (!members_known(o, ABSENT_KEYS, N(ABSENT_KEYS), "an absent record", why) ||
            !get_string(o, "type", true, &out->type, what, why) || !get_string(o, "id", true, &out->id, what, why))
            return false;
        if (!cJSON_IsTrue(absent))
            return fail(why, "a record's \"absent\" can only be true");
        out->type = arena_strdup(a, out->type);
        out->id = arena_strdup(a, out->id);
        return true;
    }
    if (!members_known(o, KEYS, N(KEYS), what, why) || !get_string(o, "type", true, &out->type, what, why) ||
        !get_string(o, "id", true, &out->id, what, why) || !get_bool(o, "deleted", true, &out->deleted, what, why) ||
        !get_write(o, "w", false, r, &out->w, what, why) || !get_write(o, "del_w", false, r, &out->del_w, what, why) ||
        !get_string(o, "tenant", false, &out->tenant, what, why))
        return false;
    out->type = arena_strdup(a, out->type);
    out->id = arena_strdup(a, out->id);
    out->tenant = out->tenant ? arena_strdup(a, out->tenant) : NULL;
    const cJSON *fields = member(o, "fields");
    if (!cJSON_IsObject(fields))
        return fail(why, "the record %.80s/%.80s needs \"fields\": an object of provenance pairs", out->type,
                    out->id);
    int n = cJSON_GetArraySize(fields);
    if (n > RECORD_FIELDS_MAX)
        return fail(why, "the record %.80s/%.80s has more than %d fields", out->type, out->id, RECORD_FIELDS_MAX);
    out->fields = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *out->fields);
    int i = 0;
    for (const cJSON *f = fields->child; f; f = f->next, i++) {
        static const char *const PAIR_KEYS[] = { "v", "w", "also" };
        wire_field *wf = &out->fields[i];
        if (!cJSON_IsObject(f))
            return fail(why, "the field \"%.80s\" of %.80s/%.80s must be a pair {\"v\": value, \"w\": write}",
                        f->string, out->type, out->id);
        for (int k = 0; k < i; k++)
            if (strcmp(out->fields[k].name, f->string) == 0)
                return fail(why, "the record %.80s/%.80s has the field \"%.80s\" twice", out->type, out->id,
                            f->string);
        value probe;
        wf->name = arena_strdup(a, f->string);
        wf->v = member(f, "v");
        /* "w" may be null: a value no user write produced (a projection the node computes). */
        if (!members_known(f, PAIR_KEYS, N(PAIR_KEYS), "a provenance pair", why) ||
            !get_value(wf->v, a, &probe, "a field's \"v\"", why) ||
            !get_write(f, "w", false, r, &wf->w, "a provenance pair", why))
            return false;
        if (!member(f, "w"))
            return fail(why, "the field \"%.80s\" of %.80s/%.80s needs \"w\": the write whose value it is, or null",
                        wf->name, out->type, out->id);
        const cJSON *also = member(f, "also");
        if (also && !decode_write_list(also, r, a, ALSO_MAX, &wf->n_also, &wf->also, false, "\"also\"", why))
            return false;
    }
    out->n_fields = n;
    const cJSON *events = member(o, "events");
    if (events && !decode_write_list(events, r, a, RECORD_EVENTS_MAX, &out->n_events, &out->events, true,
                                     "\"events\"", why))
        return false;
    return true;
}

/* An OBS_RECORD observation: every field's write, then counters' other increments, then events --
 * the order record_observation (engine/record.c) reports them in. */
static void record_to_observation(const wire_record *wr, arena *a, observation *obs)
{
    obs->kind = OBS_RECORD;
    obs->type = wr->type;
    obs->id = wr->id;
    obs->deleted = wr->deleted;
    obs->record_w = wr->w;
    obs->delete_w = wr->del_w;
    int cap = wr->n_fields + wr->n_events + 1;
    for (int i = 0; i < wr->n_fields; i++)
        cap += wr->fields[i].n_also;
    write_id *ws = arena_alloc(a, (size_t)cap * sizeof *ws);
    int n = 0;
    for (int i = 0; i < wr->n_fields; i++)
        ws[n++] = wr->fields[i].w;
    for (int i = 0; i < wr->n_fields; i++)
        for (int k = 0; k < wr->fields[i].n_also; k++)
            if (wr->fields[i].also[k] != wr->fields[i].w)
                ws[n++] = wr->fields[i].also[k];
    for (int i = 0; i < wr->n_events; i++)
        ws[n++] = wr->events[i];
    obs->n_writes = n;
    obs->writes = ws;
}

/* engine/node.h's snapshot record: numeric write ids. */
static cJSON *record_to_internal(const wire_record *wr)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", wr->type);
    cJSON_AddStringToObject(o, "id", wr->id);
    cJSON_AddStringToObject(o, "tenant", wr->tenant ? wr->tenant : "");
    cJSON_AddBoolToObject(o, "deleted", wr->deleted);
    cJSON_AddNumberToObject(o, "w", (double)wr->w);
    cJSON_AddNumberToObject(o, "del_w", (double)wr->del_w);
    cJSON *fields = cJSON_AddObjectToObject(o, "fields");
    for (int i = 0; i < wr->n_fields; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddItemToObject(f, "v", cJSON_Duplicate(wr->fields[i].v, true));
        cJSON_AddNumberToObject(f, "w", (double)wr->fields[i].w);
        cJSON_AddItemToObject(fields, wr->fields[i].name, f);
    }
    if (wr->n_events) {
        cJSON *events = cJSON_AddArrayToObject(o, "events");
        for (int i = 0; i < wr->n_events; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "w", (double)wr->events[i]);
            cJSON_AddItemToArray(events, e);
        }
    }
    return o;
}

#define SNAPSHOT_RECORDS_MAX 10000000

static bool decode_snapshot(const cJSON *s, const proto_roster *r, arena *a, cJSON **out, char **why)
{
    static const char *const KEYS[] = { "records", "kept" };
    if (!cJSON_IsObject(s))
        return fail(why, "\"snapshot\" must be an object {\"records\": [...], \"kept\": [...]}");
    if (!members_known(s, KEYS, N(KEYS), "a snapshot", why))
        return false;
    const cJSON *records = member(s, "records");
    const cJSON *kept = member(s, "kept");
    if (!cJSON_IsArray(records) || (kept && !cJSON_IsArray(kept)))
        return fail(why, "a snapshot needs \"records\" (an array), and \"kept\" must be an array when present");
    if (cJSON_GetArraySize(records) > SNAPSHOT_RECORDS_MAX)
        return fail(why, "a snapshot of more than %d records", SNAPSHOT_RECORDS_MAX);
    cJSON *snap = cJSON_CreateObject();
    cJSON *recs = cJSON_AddArrayToObject(snap, "records");
    cJSON *kp = cJSON_AddArrayToObject(snap, "kept");
    for (const cJSON *e = records->child; e; e = e->next) {
        wire_record wr;
        if (!decode_record(e, r, a, false, &wr, why)) {
            cJSON_Delete(snap);
            return false;
        }
        cJSON_AddItemToArray(recs, record_to_internal(&wr));
    }
    for (const cJSON *e = kept ? kept->child : NULL; e; e = e->next) {
        static const char *const KEPT_KEYS[] = { "type", "id", "w" };
        const char *type, *id;
        write_id w;
        if (!cJSON_IsObject(e) || !members_known(e, KEPT_KEYS, N(KEPT_KEYS), "a kept entry", why) ||
            !get_string(e, "type", true, &type, "a kept entry", why) ||
            !get_string(e, "id", true, &id, "a kept entry", why) || !get_write(e, "w", true, r, &w, "a kept entry", why)) {
            if (!*why)
                fail(why, "\"kept\" must hold objects {\"type\", \"id\", \"w\"}");
            cJSON_Delete(snap);
            return false;
        }
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "type", type);
        cJSON_AddStringToObject(k, "id", id);
        cJSON_AddNumberToObject(k, "w", (double)w);
        cJSON_AddItemToArray(kp, k);
    }
    *out = snap;
    return true;
}

static void put_internal_write(buf *b, const proto_roster *r, const cJSON *w)
{
    proto_put_write_id(b, r, cJSON_IsNumber(w) ? (write_id)w->valuedouble : WRITE_NONE);
}

void proto_put_snapshot(buf *b, const proto_roster *r, const cJSON *snapshot)
{
    buf_puts(b, "{\"records\":[");
    const cJSON *records = member(snapshot, "records");
    int i = 0;
    for (const cJSON *rec = records ? records->child : NULL; rec; rec = rec->next, i++) {
        if (i)
            buf_putc(b, ',');
        buf_puts(b, "{\"type\":");
        buf_put_json_string(b, member(rec, "type")->valuestring);
        put_str_member(b, "id", member(rec, "id")->valuestring);
        put_key(b, "deleted");
        buf_puts(b, cJSON_IsTrue(member(rec, "deleted")) ? "true" : "false");
        put_key(b, "w");
        put_internal_write(b, r, member(rec, "w"));
        put_key(b, "del_w");
        put_internal_write(b, r, member(rec, "del_w"));
        const cJSON *tenant = member(rec, "tenant");
        if (cJSON_IsString(tenant) && *tenant->valuestring)
            put_str_member(b, "tenant", tenant->valuestring);
        put_key(b, "fields");
        buf_putc(b, '{');
        int k = 0;
        for (const cJSON *f = member(rec, "fields")->child; f; f = f->next, k++) {
            if (k)
                buf_putc(b, ',');
            buf_put_json_string(b, f->string);
            buf_puts(b, ":{\"v\":");
            json_write(b, member(f, "v"));
            buf_puts(b, ",\"w\":");
            put_internal_write(b, r, member(f, "w"));
            buf_putc(b, '}');
        }
        buf_putc(b, '}');
        const cJSON *events = member(rec, "events");
        if (events) {
            put_key(b, "events");
            buf_putc(b, '[');
            int e_i = 0;
            for (const cJSON *e = events->child; e; e = e->next, e_i++) {
                buf_puts(b, e_i ? ",{\"w\":" : "{\"w\":");
                put_internal_write(b, r, member(e, "w"));
                buf_putc(b, '}');
            }
            buf_putc(b, ']');
        }
        buf_putc(b, '}');
    }
    buf_puts(b, "],\"kept\":[");
    const cJSON *kept = member(snapshot, "kept");
    i = 0;
    for (const cJSON *k = kept ? kept->child : NULL; k; k = k->next, i++) {
        buf_puts(b, i ? ",{\"type\":" : "{\"type\":");
        buf_put_json_string(b, member(k, "type")->valuestring);
        put_str_member(b, "id", member(k, "id")->valuestring);
        put_key(b, "w");
        put_internal_write(b, r, member(k, "w"));
        buf_putc(b, '}');
    }
    buf_puts(b, "]}");
}

/* --- effects ------------------------------------------------------------------- */

/* The effect and terminator names, and the observation each effect stands for. */
typedef struct effect_name {
    const char *name;
    proto_effect_kind kind;
    obs_kind obs;
} effect_name;

static const effect_name EFFECTS[] = {
    { "send", EFF_SEND, 0 },
    { "set_timer", EFF_SET_TIMER, 0 },
    { "log", EFF_LOG, 0 },
    { "done", EFF_DONE, 0 },
    { "init_ok", EFF_INIT_OK, 0 },
    { "error", EFF_ERROR, 0 },
    { "record", EFF_OBSERVE, OBS_RECORD },
    { "received", EFF_OBSERVE, OBS_RECEIVED },
    { "served", EFF_OBSERVE, OBS_SERVED_HEAD },
    { "conflict", EFF_OBSERVE, OBS_CONFLICT },
    { "conflict_pending", EFF_OBSERVE, OBS_CONFLICT_PENDING },
    { "seen", EFF_OBSERVE, OBS_SEEN },
    { "sync_begin", EFF_OBSERVE, OBS_SYNC_BEGIN },
    { "sync_end", EFF_OBSERVE, OBS_SYNC_END },
    { "retry", EFF_OBSERVE, OBS_RETRY },
    { "gave_up", EFF_OBSERVE, OBS_GAVE_UP },
    { "refused", EFF_OBSERVE, OBS_REFUSED },
    { "invalid", EFF_OBSERVE, OBS_INVALID },
    { "dropped", EFF_OBSERVE, OBS_DROPPED },
    { "id_assigned", EFF_OBSERVE, OBS_ID_ASSIGNED },
    { "id_mapped", EFF_OBSERVE, OBS_ID_MAPPED },
    { "flushed", EFF_OBSERVE, OBS_FLUSHED },
};

static const char *observation_name(obs_kind kind)
{
    for (int i = 0; i < N(EFFECTS); i++)
        if (EFFECTS[i].kind == EFF_OBSERVE && EFFECTS[i].obs == kind)
            return EFFECTS[i].name;
    return "?";
}

static const char *copy_or_null(arena *a, const char *s)
{
    return s ? arena_strdup(a, s) : NULL;
}

/* The members of one observation effect, besides "type". */
static bool decode_observation(const cJSON *j, const char *name, obs_kind kind, const proto_roster *r, int self,
                               arena *a, observation *obs, char **why)
{
    memset(obs, 0, sizeof *obs);
    obs->kind = kind;
    bool server = self == NODE_SERVER;
    int64_t count = 0;
    const char *text = NULL;
    switch (kind) {
    case OBS_RECORD: {
        static const char *const KEYS[] = { "type", "record" };
        wire_record wr;
        if (!members_known(j, KEYS, N(KEYS), name, why) || !decode_record(member(j, "record"), r, a, true, &wr, why))
            return false;
        record_to_observation(&wr, a, obs);
        return true;
    }
    case OBS_RECEIVED: {
        static const char *const KEYS[] = { "type", "w" };
        if (!server)
            return fail(why, "only the server reports \"received\"");
        return members_known(j, KEYS, N(KEYS), name, why) && get_write(j, "w", true, r, &obs->w, name, why);
    }
    case OBS_SERVED_HEAD: {
        static const char *const KEYS[] = { "type", "peer" };
        if (!server)
            return fail(why, "only the server reports \"served\"");
        if (!members_known(j, KEYS, N(KEYS), name, why) || !get_node(j, "peer", r, &obs->peer, name, why))
            return false;
        return obs->peer != NODE_SERVER || fail(why, "\"served\": \"peer\" must be a device");
    }
    case OBS_CONFLICT: {
        static const char *const KEYS[] = { "type", "record", "winner", "loser", "detail" };
        if (!members_known(j, KEYS, N(KEYS), name, why) || !get_key(j, "record", a, &obs->type, &obs->id, name, why) ||
            !get_write(j, "winner", false, r, &obs->w, name, why) ||
            !get_write(j, "loser", false, r, &obs->loser, name, why) ||
            !get_string(j, "detail", false, &text, name, why))
            return false;
        obs->detail = copy_or_null(a, text);
        return true;
    }
    case OBS_CONFLICT_PENDING: {
        static const char *const KEYS[] = { "type", "record" };
        return members_known(j, KEYS, N(KEYS), name, why) && get_key(j, "record", a, &obs->type, &obs->id, name, why);
    }
    case OBS_SEEN: {
        static const char *const KEYS[] = { "type", "record", "writes" };
        write_id *ws;
        if (!members_known(j, KEYS, N(KEYS), name, why) || !get_key(j, "record", a, &obs->type, &obs->id, name, why))
            return false;
        const cJSON *writes = member(j, "writes");
        if (!writes)
            return fail(why, "\"seen\" needs \"writes\" (an array of write ids)");
        if (!decode_write_list(writes, r, a, ALSO_MAX, &obs->n_writes, &ws, false, "\"writes\"", why))
            return false;
        obs->writes = ws;
        return true;
    }
    case OBS_SYNC_BEGIN:
    case OBS_SYNC_END:
    case OBS_RETRY: {
        const char *key = kind == OBS_SYNC_BEGIN ? "queue" : kind == OBS_SYNC_END ? "pulled" : "attempt";
        const char *keys[] = { "type", key };
        if (!members_known(j, keys, N(keys), name, why) || !get_int(j, key, true, 0, PROTO_INT_MAX, &count, name, why))
            return false;
        obs->count = count;
        return true;
    }
    case OBS_GAVE_UP: {
        static const char *const KEYS[] = { "type", "reason" };
        if (!members_known(j, KEYS, N(KEYS), name, why) || !get_string(j, "reason", false, &text, name, why))
            return false;
        obs->detail = copy_or_null(a, text);
        return true;
    }
    case OBS_REFUSED:
    case OBS_INVALID:
    case OBS_DROPPED: {
        static const char *const KEYS[] = { "type", "w", "reason" };
        if (!members_known(j, KEYS, N(KEYS), name, why) || !get_write(j, "w", true, r, &obs->w, name, why) ||
            !get_string(j, "reason", false, &text, name, why))
            return false;
        obs->detail = copy_or_null(a, text);
        return true;
    }
    case OBS_ID_ASSIGNED: {
        static const char *const KEYS[] = { "type", "record", "temp", "peer", "w" };
        if (!server)
            return fail(why, "only the server reports \"id_assigned\"");
        if (!members_known(j, KEYS, N(KEYS), name, why) || !get_key(j, "record", a, &obs->type, &obs->id, name, why) ||
            !get_string(j, "temp", true, &text, name, why) || !get_node(j, "peer", r, &obs->peer, name, why) ||
            !get_write(j, "w", false, r, &obs->w, name, why))
            return false;
        obs->detail = arena_strdup(a, text);
        return obs->peer != NODE_SERVER || fail(why, "\"id_assigned\": \"peer\" must be a device");
    }
    case OBS_ID_MAPPED: {
        static const char *const KEYS[] = { "type", "record", "temp" };
        if (server)
            return fail(why, "only a device reports \"id_mapped\"");
        if (!members_known(j, KEYS, N(KEYS), name, why) || !get_key(j, "record", a, &obs->type, &obs->id, name, why) ||
            !get_string(j, "temp", true, &text, name, why))
            return false;
        obs->detail = arena_strdup(a, text);
        return true;
    }
    case OBS_FLUSHED: {
        static const char *const KEYS[] = { "type" };
        if (server)
            return fail(why, "only a device reports \"flushed\"");
        return members_known(j, KEYS, N(KEYS), name, why);
    }
    }
    return fail(why, "unknown observation");
}

static bool decode_ops(const cJSON *list, proto_ops *out, char **why)
{
    if (!cJSON_IsArray(list))
        return fail(why, "init_ok: \"ops\" must be an array of operation names");
    *out = 0;
    for (const cJSON *e = list->child; e; e = e->next) {
        op_kind op;
        if (!cJSON_IsString(e) || !op_kind_parse(e->valuestring, &op))
            return fail(why, "init_ok: \"ops\" may name create, update, delete, increment, append, resolve and open");
        *out |= PROTO_OP_BIT(op);
    }
    return true;
}

static bool decode_features(const cJSON *list, unsigned *out, char **why)
{
    if (!cJSON_IsArray(list))
        return fail(why, "init_ok: \"features\" must be an array of names");
    *out = 0;
    for (const cJSON *e = list->child; e; e = e->next) {
        if (cJSON_IsString(e) && strcmp(e->valuestring, "reset") == 0)
            *out |= PROTO_FEATURE_RESET;
        else if (cJSON_IsString(e) && strcmp(e->valuestring, "received") == 0)
            *out |= PROTO_FEATURE_RECEIVED;
        else if (cJSON_IsString(e) && strcmp(e->valuestring, "power_loss") == 0)
            *out |= PROTO_FEATURE_POWER_LOSS;
        else if (cJSON_IsString(e) && strcmp(e->valuestring, "storage_faults") == 0)
            *out |= PROTO_FEATURE_STORAGE_FAULTS;
        else if (cJSON_IsString(e) && strcmp(e->valuestring, "lifecycle") == 0)
            *out |= PROTO_FEATURE_LIFECYCLE;
        else if (cJSON_IsString(e) && strcmp(e->valuestring, "accounts") == 0)
            *out |= PROTO_FEATURE_ACCOUNTS;
        else
            return fail(why, "init_ok: \"features\" may name reset, received, power_loss, storage_faults, lifecycle "
                             "and accounts");
    }
    return true;
}

static bool decode_terminator(const cJSON *j, const char *name, const proto_roster *r, arena *a, proto_effect *out,
                              char **why)
{
    int64_t in_reply_to = 0, code = 0;
    /* An error about a request the node could not read may say in_reply_to: null. */
    bool unread = out->kind == EFF_ERROR && cJSON_IsNull(member(j, "in_reply_to"));
    if (!unread && !get_int(j, "in_reply_to", true, 1, PROTO_INT_MAX, &in_reply_to, name, why))
        return false;
    out->in_reply_to = (uint64_t)in_reply_to;
    if (out->kind == EFF_ERROR) {
        static const char *const KEYS[] = { "type", "in_reply_to", "code", "text" };
        const char *text;
        if (!members_known(j, KEYS, N(KEYS), name, why) || !get_int(j, "code", true, 0, 999, &code, name, why) ||
            !get_string(j, "text", false, &text, name, why))
            return false;
        out->code = (int)code;
        out->text = copy_or_null(a, text);
        return true;
    }
    if (out->kind == EFF_INIT_OK) {
        static const char *const KEYS[] = { "type", "in_reply_to", "protocol", "idle", "ops", "features" };
        const char *protocol;
        if (!members_known(j, KEYS, N(KEYS), name, why) || !get_string(j, "protocol", true, &protocol, name, why) ||
            !get_bool(j, "idle", true, &out->idle, name, why))
            return false;
        out->protocol = arena_strdup(a, protocol);
        out->ops = PROTO_OPS_DEFAULT;
        const cJSON *ops = member(j, "ops");
        const cJSON *features = member(j, "features");
        return (!ops || decode_ops(ops, &out->ops, why)) && (!features || decode_features(features, &out->features, why));
    }
    static const char *const KEYS[] = { "type", "in_reply_to", "idle", "refused", "snapshot" };
    if (!members_known(j, KEYS, N(KEYS), name, why) || !get_bool(j, "idle", true, &out->idle, name, why))
        return false;
    const cJSON *refused = member(j, "refused");
    if (refused) {
        static const char *const R_KEYS[] = { "code", "text" };
        const char *text;
        if (!cJSON_IsObject(refused))
            return fail(why, "done: \"refused\" must be an object {\"code\": .., \"text\": ..}");
        if (!members_known(refused, R_KEYS, N(R_KEYS), "\"refused\"", why) ||
            !get_int(refused, "code", true, 0, 999, &code, "\"refused\"", why) ||
            !get_string(refused, "text", true, &text, "\"refused\"", why))
            return false;
        out->refused = true;
        out->code = (int)code;
        out->text = arena_strdup(a, text);
    }
    const cJSON *snapshot = member(j, "snapshot");
    return !snapshot || decode_snapshot(snapshot, r, a, &out->snapshot, why);
}

bool proto_decode_effect(const char *line, size_t len, const proto_roster *r, int self, arena *a, proto_effect *out,
                         char **why)
{
    memset(out, 0, sizeof *out);
    *why = NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(line, len, &end, false);
    bool ok = false;
    if (!j || (size_t)(end - line) != len) {
        /* Trailing whitespace is harmless; anything else after the value is not one JSON value. */
        bool trailing_space = j && end;
        for (const char *p = end; trailing_space && p < line + len; p++)
            trailing_space = *p == ' ' || *p == '\t' || *p == '\r';
        if (!trailing_space) {
            fail(why, "it is not one JSON value");
            goto out;
        }
    }
    if (!cJSON_IsObject(j)) {
        fail(why, "it is %s, not a JSON object", json_kind(j));
        goto out;
    }
    const char *type;
    if (!get_string(j, "type", true, &type, "a line", why))
        goto out;
    const effect_name *e = NULL;
    for (int i = 0; i < N(EFFECTS) && !e; i++)
        if (strcmp(type, EFFECTS[i].name) == 0)
            e = &EFFECTS[i];
    if (!e) {
        fail(why, "\"%.40s\" is not an effect or terminator of " PROTO_VERSION, type);
        goto out;
    }
    out->kind = e->kind;
    switch (e->kind) {
    case EFF_SEND: {
        static const char *const KEYS[] = { "type", "dest", "body" };
        if (!members_known(j, KEYS, N(KEYS), "send", why) || !get_node(j, "dest", r, &out->dest, "send", why))
            goto out;
        if (out->dest == self) {
            fail(why, "send: a replica cannot send to itself");
            goto out;
        }
        if (self != NODE_SERVER && out->dest != NODE_SERVER) {
            fail(why, "send: devices talk only to the server, not to \"%.80s\"", r->names[out->dest]);
            goto out;
        }
        out->body = cJSON_DetachItemFromObjectCaseSensitive(j, "body");
        if (!out->body) {
            fail(why, "send needs \"body\"");
            goto out;
        }
        break;
    }
    case EFF_SET_TIMER: {
        static const char *const KEYS[] = { "type", "delay_us", "token" };
        int64_t token;
        if (!members_known(j, KEYS, N(KEYS), "set_timer", why) ||
            !get_int(j, "delay_us", true, 0, PROTO_INT_MAX, &out->delay_us, "set_timer", why) ||
            !get_int(j, "token", true, 0, PROTO_INT_MAX - 1, &token, "set_timer", why))
            goto out;
        out->token = (uint64_t)token;
        break;
    }
    case EFF_LOG: {
        static const char *const KEYS[] = { "type", "text" };
        if (!members_known(j, KEYS, N(KEYS), "log", why) || !get_string(j, "text", true, &out->text, "log", why))
            goto out;
        out->text = arena_strdup(a, out->text);
        break;
    }
    case EFF_OBSERVE:
        if (!decode_observation(j, e->name, e->obs, r, self, a, &out->obs, why))
            goto out;
        break;
    case EFF_DONE:
    case EFF_INIT_OK:
    case EFF_ERROR:
        if (!decode_terminator(j, e->name, r, a, out, why))
            goto out;
        break;
    }
    ok = true;
out:
    cJSON_Delete(j);
    if (!ok)
        proto_effect_free(out);
    return ok;
}

void proto_effect_free(proto_effect *e)
{
    cJSON_Delete(e->body);
    cJSON_Delete(e->snapshot);
    e->body = NULL;
    e->snapshot = NULL;
}

void proto_put_send(buf *b, const proto_roster *r, int to, const cJSON *body)
{
    buf_puts(b, "{\"type\":\"send\"");
    put_str_member(b, "dest", r->names[to]);
    put_key(b, "body");
    json_write(b, body);
    buf_puts(b, "}\n");
}

void proto_put_set_timer(buf *b, int64_t delay_us, uint64_t token)
{
    buf_puts(b, "{\"type\":\"set_timer\"");
    put_int_member(b, "delay_us", delay_us);
    put_int_member(b, "token", (int64_t)token);
    buf_puts(b, "}\n");
}

static void put_write_member(buf *b, const proto_roster *r, const char *key, write_id w)
{
    put_key(b, key);
    proto_put_write_id(b, r, w);
}

static void put_text_member(buf *b, const char *key, const char *text)
{
    put_key(b, key);
    if (text)
        buf_put_json_string(b, text);
    else
        buf_puts(b, "null");
}

void proto_put_observation(buf *b, const proto_roster *r, const observation *obs)
{
    buf_puts(b, "{\"type\":");
    buf_put_json_string(b, observation_name(obs->kind));
    switch (obs->kind) {
    case OBS_RECORD:
        put_key(b, "record");
        if (obs->rec) {
            proto_put_record(b, r, obs->rec);
        } else {   /* the record is gone from the node (a create rolled back) */
            buf_puts(b, "{\"type\":");
            buf_put_json_string(b, obs->type);
            put_str_member(b, "id", obs->id);
            buf_puts(b, ",\"absent\":true}");
        }
        break;
    case OBS_RECEIVED:
        put_write_member(b, r, "w", obs->w);
        break;
    case OBS_SERVED_HEAD:
        put_str_member(b, "peer", r->names[obs->peer]);
        break;
    case OBS_CONFLICT:
        put_record_key(b, obs->type, obs->id);
        put_write_member(b, r, "winner", obs->w);
        put_write_member(b, r, "loser", obs->loser);
        put_text_member(b, "detail", obs->detail);
        break;
    case OBS_CONFLICT_PENDING:
        put_record_key(b, obs->type, obs->id);
        break;
    case OBS_SEEN:
        put_record_key(b, obs->type, obs->id);
        put_key(b, "writes");
        buf_putc(b, '[');
        for (int i = 0; i < obs->n_writes; i++) {
            if (i)
                buf_putc(b, ',');
            proto_put_write_id(b, r, obs->writes[i]);
        }
        buf_putc(b, ']');
        break;
    case OBS_SYNC_BEGIN:
        put_int_member(b, "queue", obs->count);
        break;
    case OBS_SYNC_END:
        put_int_member(b, "pulled", obs->count);
        break;
    case OBS_RETRY:
        put_int_member(b, "attempt", obs->count);
        break;
    case OBS_GAVE_UP:
        put_text_member(b, "reason", obs->detail);
        break;
    case OBS_REFUSED:
    case OBS_INVALID:
    case OBS_DROPPED:
        put_write_member(b, r, "w", obs->w);
        put_text_member(b, "reason", obs->detail);
        break;
    case OBS_ID_ASSIGNED:
        put_record_key(b, obs->type, obs->id);
        put_str_member(b, "temp", obs->detail);
        put_str_member(b, "peer", r->names[obs->peer]);
        put_write_member(b, r, "w", obs->w);
        break;
    case OBS_ID_MAPPED:
        put_record_key(b, obs->type, obs->id);
        put_str_member(b, "temp", obs->detail);
        break;
    case OBS_FLUSHED:
        break;
    }
    buf_puts(b, "}\n");
}

void proto_put_done(buf *b, uint64_t in_reply_to, bool idle, const char *refused, const cJSON *snapshot,
                    const proto_roster *r)
{
    buf_puts(b, "{\"type\":\"done\"");
    put_int_member(b, "in_reply_to", (int64_t)in_reply_to);
    put_key(b, "idle");
    buf_puts(b, idle ? "true" : "false");
    if (refused) {
        put_key(b, "refused");
        buf_printf(b, "{\"code\":%d,\"text\":", PROTO_E_REFUSED);
        buf_put_json_string(b, refused);
        buf_putc(b, '}');
    }
    if (snapshot) {
        put_key(b, "snapshot");
        proto_put_snapshot(b, r, snapshot);
    }
    buf_puts(b, "}\n");
}

void proto_put_init_ok(buf *b, uint64_t in_reply_to, bool idle, proto_ops ops, unsigned features)
{
    buf_puts(b, "{\"type\":\"init_ok\"");
    put_int_member(b, "in_reply_to", (int64_t)in_reply_to);
    put_str_member(b, "protocol", PROTO_VERSION);
    put_key(b, "idle");
    buf_puts(b, idle ? "true" : "false");
    put_key(b, "ops");
    buf_putc(b, '[');
    bool first = true;
    for (int op = OP_CREATE; op <= OP_KIND_LAST; op++) {
        if (!(ops & PROTO_OP_BIT(op)))
            continue;
        if (!first)
            buf_putc(b, ',');
        buf_put_json_string(b, op_kind_name((op_kind)op));
        first = false;
    }
    buf_putc(b, ']');
    put_key(b, "features");
    buf_putc(b, '[');
    static const char *const FEATURE_NAMES[] = { "reset",          "received",  "power_loss",
                                                 "storage_faults", "lifecycle", "accounts" };
    bool first_feature = true;
    for (int i = 0; i < N(FEATURE_NAMES); i++) {
        if (!(features & (1u << i)))
            continue;
        buf_printf(b, "%s\"%s\"", first_feature ? "" : ",", FEATURE_NAMES[i]);
        first_feature = false;
    }
    buf_puts(b, "]}\n");
}

void proto_put_error(buf *b, uint64_t in_reply_to, int code, const char *text)
{
    buf_puts(b, "{\"type\":\"error\"");
    put_int_member(b, "in_reply_to", (int64_t)in_reply_to);
    put_int_member(b, "code", code);
    put_text_member(b, "text", text);
    buf_puts(b, "}\n");
}
