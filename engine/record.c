/*
 * record: the record model and its JSON form. The same JSON is the stored
 * body of a record (store.c) and its form on the wire (wire.c):
 *   {"type","id","version","seq"[,"su"],"deleted",   (su: the server's updatedAt, when stored)
 *    "st": stamp, "del": stamp (only while deleted), ["bv": n, "pd": stamp] (incarnations),
 *    "fields": {name: {"v": value, "w","t","hl","hc","s"}}}
 * with a stamp as {"w","t","hl","hc","s"[,"sv"]} (write, wall clock, HLC, server
 * clock, and the record version the server stored it in, when it has).
 */
#include "engine/record.h"
#include "base/json.h"
#include "base/json_out.h"

#include <assert.h>
#include <string.h>

void record_init(record *r, arena *a, const char *type, const char *id)
{
    memset(r, 0, sizeof *r);
    r->type = arena_strdup(a, type);
    r->id = arena_strdup(a, id);
    r->tenant = "";
}

static void reserve_fields(record *r, arena *a, int need)
{
    if (need <= r->cap_fields)
        return;
    int cap = r->cap_fields ? r->cap_fields * 2 : 8;
    while (cap < need)
        cap *= 2;
    field *fields = arena_alloc(a, (size_t)cap * sizeof *fields);
    if (r->n_fields)
        memcpy(fields, r->fields, (size_t)r->n_fields * sizeof *fields);
    r->fields = fields;
    r->cap_fields = cap;
}

static value copy_value(const value *v, arena *a)
{
    value out = *v;
    if (v->kind == VAL_STRING)
        out.s = arena_strdup(a, v->s);
    return out;
}

static counter_part *copy_parts(const counter_part *parts, int n, arena *a)
{
    if (n == 0)
        return NULL;
    counter_part *out = arena_alloc(a, (size_t)n * sizeof *out);
    memcpy(out, parts, (size_t)n * sizeof *out);
    return out;
}

/* A copy of e in a. A field name e shares with the event before it (prev, or NULL; as record_unpack
 * reads them) is shared in the copy too: taken from prev_copy, that event's copy. */
static log_event copy_event(const log_event *e, const log_event *prev, const log_event *prev_copy, arena *a)
{
    log_event out = *e;
    out.fields = arena_alloc(a, (size_t)(e->n_fields ? e->n_fields : 1) * sizeof *out.fields);
    for (int i = 0; i < e->n_fields; i++) {
        bool shared = prev && i < prev->n_fields && prev->fields[i].name == e->fields[i].name;
        out.fields[i].name = shared ? prev_copy->fields[i].name : arena_strdup(a, e->fields[i].name);
        out.fields[i].v = copy_value(&e->fields[i].v, a);
    }
    return out;
}

static void reserve_events(record *r, arena *a, int need)
{
    if (need <= r->cap_events)
        return;
    int cap = r->cap_events ? r->cap_events * 2 : 8;
    while (cap < need)
        cap *= 2;
    log_event *events = arena_alloc(a, (size_t)cap * sizeof *events);
    if (r->n_events)
        memcpy(events, r->events, (size_t)r->n_events * sizeof *events);
    r->events = events;
    r->cap_events = cap;
}

void record_copy(record *dst, const record *src, arena *a)
{
    *dst = *src;
    dst->type = arena_strdup(a, src->type);
    dst->id = arena_strdup(a, src->id);
    dst->tenant = arena_strdup(a, src->tenant ? src->tenant : "");
    /* Exactly as many as the source's (a copy is seldom grown; reserve_fields doubles then). */
    dst->fields = src->n_fields ? arena_alloc(a, (size_t)src->n_fields * sizeof *dst->fields) : NULL;
    dst->cap_fields = src->n_fields;
    for (int i = 0; i < src->n_fields; i++) {
        dst->fields[i].name = arena_strdup(a, src->fields[i].name);
        dst->fields[i].v = copy_value(&src->fields[i].v, a);
        dst->fields[i].st = src->fields[i].st;
        dst->fields[i].n_parts = src->fields[i].n_parts;
        dst->fields[i].parts = copy_parts(src->fields[i].parts, src->fields[i].n_parts, a);
    }
    dst->events = src->n_events ? arena_alloc(a, (size_t)src->n_events * sizeof *dst->events) : NULL;
    dst->cap_events = src->n_events;
    for (int i = 0; i < src->n_events; i++)
        dst->events[i] = copy_event(&src->events[i], i ? &src->events[i - 1] : NULL, i ? &dst->events[i - 1] : NULL, a);
}

/* Index of name, or -(insertion point) - 1. */
static int find_field(const record *r, const char *name)
{
    int lo = 0, hi = r->n_fields - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(r->fields[mid].name, name);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

const field *record_field(const record *r, const char *name)
{
    int i = find_field(r, name);
    return i >= 0 ? &r->fields[i] : NULL;
}

void record_set_field(record *r, arena *a, const char *name, const value *v, const stamp *st)
{
    int i = find_field(r, name);
    if (i < 0) {
        assert(r->n_fields < RECORD_FIELDS_MAX);
        int at = -i - 1;
        reserve_fields(r, a, r->n_fields + 1);
        memmove(&r->fields[at + 1], &r->fields[at], (size_t)(r->n_fields - at) * sizeof *r->fields);
        r->n_fields++;
        r->fields[at].name = arena_strdup(a, name);
        i = at;
    }
    r->fields[i].v = copy_value(v, a);
    r->fields[i].st = *st;
    r->fields[i].n_parts = 0;
    r->fields[i].parts = NULL;
}

int64_t counter_total(const counter_part *parts, int n_parts)
{
    /* In unsigned arithmetic, which wraps where int64_t's would be undefined: a damaged stored body
     * may hold any p and n. Any total that fits is the same either way. */
    uint64_t total = 0;
    for (int i = 0; i < n_parts; i++)
        total += (uint64_t)parts[i].p - (uint64_t)parts[i].n;
    return (int64_t)total;
}

void record_set_counter(record *r, arena *a, const char *name, const counter_part *parts, int n_parts,
                        const stamp *st)
{
    value v = { .kind = VAL_INT, .i = counter_total(parts, n_parts) };
    record_set_field(r, a, name, &v, st);
    field *f = &r->fields[find_field(r, name)];
    f->n_parts = n_parts;
    f->parts = copy_parts(parts, n_parts, a);
}

int counter_join(const counter_part *x, int nx, const counter_part *y, int ny, arena *a, counter_part **out)
{
    counter_part *joined = arena_alloc(a, (size_t)(nx + ny ? nx + ny : 1) * sizeof *joined);
    int i = 0, k = 0, n = 0;
    while (i < nx || k < ny) {
        if (k >= ny || (i < nx && x[i].node < y[k].node)) {
            joined[n++] = x[i++];
        } else if (i >= nx || y[k].node < x[i].node) {
            joined[n++] = y[k++];
        } else {
            joined[n] = x[i];
            if (y[k].p > joined[n].p)
                joined[n].p = y[k].p;
            if (y[k].n > joined[n].n)
                joined[n].n = y[k].n;
            /* A node's contribution only grows: the larger one is the later, and names its write. */
            if (y[k].p + y[k].n > x[i].p + x[i].n)
                joined[n].w = y[k].w;
            n++;
            i++;
            k++;
        }
    }
    *out = joined;
    return n;
}

int record_find_event(const record *r, write_id w)
{
    for (int i = 0; i < r->n_events; i++)
        if (r->events[i].w == w)
            return i;
    return -1;
}

static int event_compare(const log_event *x, const log_event *y, event_order order)
{
    if (order == EVENT_ORDER_SERVER || order == EVENT_ORDER_STORED) {
        /* server_us is the receive time (server) or the change-log sequence (stored). */
        if (x->server_us != y->server_us) {
            /* Events the server has not stored yet go last. */
            if (x->server_us == 0 || y->server_us == 0)
                return x->server_us == 0 ? 1 : -1;
            return x->server_us < y->server_us ? -1 : 1;
        }
        /* Stored in one change, or not stored yet: all one device's, so its write counter is the
         * order it appended them in. Its clock is not: a step back would put an event before the
         * one it followed. */
        return x->w < y->w ? -1 : x->w > y->w;
    }
    if (x->at_us != y->at_us)
        return x->at_us < y->at_us ? -1 : 1;
    return x->w < y->w ? -1 : x->w > y->w;
}

bool record_add_event(record *r, arena *a, const log_event *e, event_order order, bool dedup)
{
    if (dedup && record_find_event(r, e->w) >= 0)
        return false;
    reserve_events(r, a, r->n_events + 1);
    int at = r->n_events;
    while (at > 0 && event_compare(&r->events[at - 1], e, order) > 0) {
        r->events[at] = r->events[at - 1];
        at--;
    }
    r->events[at] = copy_event(e, NULL, NULL, a);
    r->n_events++;
    return true;
}

void record_sort_events(record *r, event_order order)
{
    /* Insertion sort: logs arrive nearly sorted, and it is stable. */
    for (int i = 1; i < r->n_events; i++) {
        log_event e = r->events[i];
        int k = i;
        while (k > 0 && event_compare(&r->events[k - 1], &e, order) > 0) {
            r->events[k] = r->events[k - 1];
            k--;
        }
        r->events[k] = e;
    }
}

bool record_same_state(const record *a, const record *b)
{
    if (a->deleted != b->deleted || a->n_fields != b->n_fields || a->n_events != b->n_events)
        return false;
    for (int i = 0; i < a->n_fields; i++) {
        if (strcmp(a->fields[i].name, b->fields[i].name) != 0)
            return false;
        if (!value_equal(&a->fields[i].v, &b->fields[i].v))
            return false;
    }
    for (int i = 0; i < a->n_events; i++)
        if (a->events[i].w != b->events[i].w)
            return false;
    return true;
}

/* Member by member: a counter_part has padding, which memcmp would compare too. */
static bool parts_identical(const counter_part *x, const counter_part *y, int n)
{
    for (int k = 0; k < n; k++)
        if (x[k].node != y[k].node || x[k].p != y[k].p || x[k].n != y[k].n || x[k].w != y[k].w)
            return false;
    return true;
}

bool record_same_provenance(const record *a, const record *b)
{
    if (!record_same_state(a, b))
        return false;
    if (a->st.w != b->st.w || a->del.w != b->del.w)
        return false;
    for (int i = 0; i < a->n_fields; i++) {
        const field *x = &a->fields[i], *y = &b->fields[i];
        if (x->st.w != y->st.w || x->n_parts != y->n_parts)
            return false;
        if (!parts_identical(x->parts, y->parts, x->n_parts))
            return false;
    }
    for (int i = 0; i < a->n_events; i++)
        if (a->events[i].server_us != b->events[i].server_us)
            return false;
    return true;
}

static bool stamp_identical(const stamp *x, const stamp *y)
{
    return x->w == y->w && x->ts_us == y->ts_us && x->h.l_us == y->h.l_us && x->h.c == y->h.c &&
           x->server_us == y->server_us && x->version == y->version;
}

static bool fields_identical(const op_field *x, const op_field *y, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(x[i].name, y[i].name) != 0 || !value_identical(&x[i].v, &y[i].v))
            return false;
    return true;
}

bool record_identical(const record *a, const record *b)
{
    if (strcmp(a->type, b->type) != 0 || strcmp(a->id, b->id) != 0 ||
        strcmp(a->tenant ? a->tenant : "", b->tenant ? b->tenant : "") != 0 || a->deleted != b->deleted ||
        a->version != b->version || a->seq != b->seq || a->updated_us != b->updated_us ||
        !stamp_identical(&a->st, &b->st) || !stamp_identical(&a->del, &b->del) ||
        a->born_version != b->born_version || !stamp_identical(&a->prev_del, &b->prev_del) ||
        a->n_fields != b->n_fields || a->n_events != b->n_events)
        return false;
    for (int i = 0; i < a->n_fields; i++) {
        const field *x = &a->fields[i], *y = &b->fields[i];
        if (strcmp(x->name, y->name) != 0 || !value_identical(&x->v, &y->v) || !stamp_identical(&x->st, &y->st) ||
            x->n_parts != y->n_parts || !parts_identical(x->parts, y->parts, x->n_parts))
            return false;
    }
    for (int i = 0; i < a->n_events; i++) {
        const log_event *x = &a->events[i], *y = &b->events[i];
        if (x->w != y->w || x->at_us != y->at_us || x->server_us != y->server_us || x->n_fields != y->n_fields ||
            !fields_identical(x->fields, y->fields, x->n_fields))
            return false;
    }
    return true;
}

/*
 * Members of an object, looked up in the order record_to_json writes them. The answer is always
 * cJSON_GetObjectItemCaseSensitive's, the first member of that name; the cost is one strcmp for
 * our own messages instead of a scan from the start. Invariant, while in_order: every member
 * before next was returned for another name (names are asked once each), so a name is either at
 * or after next, or absent.
 */
typedef struct members {
    const cJSON *object;
    const cJSON *next;
    bool in_order;
} members;

static members members_of(const cJSON *o)
{
    return (members){ .object = o, .next = cJSON_IsObject(o) ? o->child : NULL, .in_order = true };
}

static const cJSON *member(members *m, const char *key)
{
    if (!m->in_order)
        return cJSON_GetObjectItemCaseSensitive(m->object, key);
    for (const cJSON *c = m->next; c; c = c->next) {
        if (!c->string) {
            m->in_order = false;   /* cJSON's lookup stops at a nameless member: ask it */
            return cJSON_GetObjectItemCaseSensitive(m->object, key);
        }
        if (strcmp(c->string, key) == 0) {
            if (c != m->next)
                m->in_order = false;   /* the members skipped may carry names asked later */
            m->next = c->next;
            return c;
        }
    }
    return NULL;
}

/* An integral number within +-2^53: what the encoder writes (a cast of anything else is undefined). */
static bool int_of(const cJSON *j, int64_t *out)
{
    return json_number_int(j, -JSON_INT_LIMIT + 1, JSON_INT_LIMIT - 1, out);
}

static bool member_i64(members *m, const char *key, int64_t *out)
{
    return int_of(member(m, key), out);
}

/* The stamp members of an object whose other members m may have read already (a field's "v"). */
static bool stamp_from_members(members *m, stamp *out)
{
    int64_t w, t, hl, hc, s;
    if (!cJSON_IsObject(m->object) || !member_i64(m, "w", &w) || !member_i64(m, "t", &t) ||
        !member_i64(m, "hl", &hl) || !member_i64(m, "hc", &hc) || !member_i64(m, "s", &s) || w < 0 || hc < 0 ||
        hc > UINT32_MAX)
        return false;
    out->w = (write_id)w;
    out->ts_us = t;
    out->h.l_us = hl;
    out->h.c = (uint32_t)hc;
    out->server_us = s;
    out->version = 0;
    const cJSON *sv = member(m, "sv");
    if (sv && !json_number_int(sv, 0, JSON_INT_LIMIT - 1, &out->version))
        return false;
    return true;
}

bool stamp_from_json(const cJSON *j, stamp *out)
{
    members m = members_of(j);
    return stamp_from_members(&m, out);
}

/*
 * A record's JSON, written once for both of json_out's sinks: the tree a message carries, or the
 * hash and size of a message kept as structs. Literal keys are written with jo_key_literal (a tree
 * keeps the pointer: no copy, no free); the record's own field names are copied (its arena may be
 * gone before the message is read).
 */
/* An integer under a literal key. */
#define PUT_INT(o, literal, v) (jo_key_literal((o), literal), jo_int((o), (v)))

static void put_stamp_members(json_out *o, const stamp *st)
{
    PUT_INT(o, "w", (int64_t)st->w);
    PUT_INT(o, "t", (int64_t)st->ts_us);
    PUT_INT(o, "hl", (int64_t)st->h.l_us);
    PUT_INT(o, "hc", (int64_t)st->h.c);
    PUT_INT(o, "s", (int64_t)st->server_us);
    if (st->version)
        PUT_INT(o, "sv", (int64_t)st->version);
}

static void put_stamp_object(json_out *o, const stamp *st)
{
    jo_object(o);
    put_stamp_members(o, st);
    jo_end(o);
}

/* A stamp under a literal key. */
#define PUT_STAMP(o, literal, st) (jo_key_literal((o), literal), put_stamp_object((o), (st)))

cJSON *stamp_to_json(const stamp *st)
{
    json_out o;
    json_out_tree(&o);
    jo_object(&o);
    put_stamp_members(&o, st);
    jo_end(&o);
    return json_out_take(&o);
}

static void put_parts(json_out *o, const counter_part *parts, int n)
{
    jo_key_literal(o, "c");
    jo_array(o);
    for (int i = 0; i < n; i++) {
        jo_array(o);
        jo_int(o, parts[i].node);
        jo_int(o, parts[i].p);
        jo_int(o, parts[i].n);
        jo_int(o, (int64_t)parts[i].w);
        jo_end(o);
    }
    jo_end(o);
}

static void put_event(json_out *o, const log_event *e)
{
    jo_object(o);
    PUT_INT(o, "w", (int64_t)e->w);
    PUT_INT(o, "t", (int64_t)e->at_us);
    PUT_INT(o, "s", (int64_t)e->server_us);
    jo_key_literal(o, "f");
    jo_object(o);
    for (int i = 0; i < e->n_fields; i++) {
        jo_key(o, e->fields[i].name);
        value_write(&e->fields[i].v, o);
    }
    jo_end(o);
    jo_end(o);
}

void record_write(const record *r, json_out *o)
{
    jo_object(o);
    jo_key_literal(o, "type");
    jo_string(o, r->type);
    jo_key_literal(o, "id");
    jo_string(o, r->id);
    jo_key_literal(o, "tenant");
    jo_string(o, r->tenant ? r->tenant : "");
    PUT_INT(o, "version", (int64_t)r->version);
    PUT_INT(o, "seq", (int64_t)r->seq);
    if (r->updated_us)
        PUT_INT(o, "su", (int64_t)r->updated_us);
    jo_key_literal(o, "deleted");
    jo_bool(o, r->deleted);
    PUT_STAMP(o, "st", &r->st);
    if (r->del.w != WRITE_NONE)
        PUT_STAMP(o, "del", &r->del);
    if (r->born_version) {
        PUT_INT(o, "bv", (int64_t)r->born_version);
        PUT_STAMP(o, "pd", &r->prev_del);
    }
    jo_key_literal(o, "fields");
    jo_object(o);
    for (int i = 0; i < r->n_fields; i++) {
        const field *f = &r->fields[i];
        jo_key(o, f->name);
        jo_object(o);
        jo_key_literal(o, "v");
        value_write(&f->v, o);
        put_stamp_members(o, &f->st);
        if (f->n_parts)
            put_parts(o, f->parts, f->n_parts);
        jo_end(o);
    }
    jo_end(o);
    if (r->n_events) {
        jo_key_literal(o, "events");
        jo_array(o);
        for (int i = 0; i < r->n_events; i++)
            put_event(o, &r->events[i]);
        jo_end(o);
    }
    jo_end(o);
}

void record_encode(const record *r, buf *b)
{
    json_out o;
    json_out_text(&o, b);
    record_write(r, &o);
}

cJSON *record_to_json(const record *r)
{
    json_out o;
    json_out_tree(&o);
    record_write(r, &o);
    return json_out_take(&o);
}

static bool parts_from_json(const cJSON *arr, arena *a, counter_part **out, int *n)
{
    if (!cJSON_IsArray(arr))
        return false;
    int count = cJSON_GetArraySize(arr);
    counter_part *parts = arena_alloc(a, (size_t)(count ? count : 1) * sizeof *parts);
    int i = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, arr)
    {
        int64_t node, p, m, w;
        if (!cJSON_IsArray(part) || cJSON_GetArraySize(part) != 4 ||
            !json_number_int(cJSON_GetArrayItem(part, 0), 0, INT32_MAX, &node) ||
            !json_number_int(cJSON_GetArrayItem(part, 1), 0, JSON_INT_LIMIT - 1, &p) ||
            !json_number_int(cJSON_GetArrayItem(part, 2), 0, JSON_INT_LIMIT - 1, &m) ||
            !json_number_int(cJSON_GetArrayItem(part, 3), 0, JSON_INT_LIMIT - 1, &w))
            return false;
        parts[i] = (counter_part){ (int32_t)node, p, m, (write_id)w };
        if (i > 0 && parts[i].node <= parts[i - 1].node)
            return false;   /* sorted by node, each once */
        i++;
    }
    *out = parts;
    *n = count;
    return true;
}

static bool event_from_json(const cJSON *j, arena *a, log_event *out)
{
    int64_t w;
    members m = members_of(j);
    if (!cJSON_IsObject(j) || !member_i64(&m, "w", &w) || w <= 0 || !member_i64(&m, "t", &out->at_us) ||
        !member_i64(&m, "s", &out->server_us))
        return false;
    const cJSON *f = member(&m, "f");
    if (!cJSON_IsObject(f))
        return false;
    out->w = (write_id)w;
    int count = cJSON_GetArraySize(f);
    out->fields = arena_alloc(a, (size_t)(count ? count : 1) * sizeof *out->fields);
    out->n_fields = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, f)
    {
        op_field *of = &out->fields[out->n_fields++];
        of->name = arena_strdup(a, v->string);
        if (!value_from_json(v, a, &of->v))
            return false;
    }
    return true;
}

bool record_from_json(const cJSON *j, arena *a, record *out, const char **why)
{
    /* Looked up in the order record_to_json writes them (member), checked in the order that decides
     * which reason a malformed record gets. */
    members m = members_of(j);
    const cJSON *type = member(&m, "type");
    const cJSON *id = member(&m, "id");
    const cJSON *tenant = member(&m, "tenant");
    const cJSON *version = member(&m, "version");
    const cJSON *seq = member(&m, "seq");
    const cJSON *su = member(&m, "su");
    const cJSON *deleted = member(&m, "deleted");
    const cJSON *st = member(&m, "st");
    const cJSON *del = member(&m, "del");
    const cJSON *bv = member(&m, "bv");
    const cJSON *pd = member(&m, "pd");
    const cJSON *fields = member(&m, "fields");
    const cJSON *events = member(&m, "events");
    if (!cJSON_IsString(type) || !cJSON_IsString(id)) {
        *why = "record without a string type and id";
        return false;
    }
    record_init(out, a, type->valuestring, id->valuestring);
    if (tenant && !cJSON_IsString(tenant)) {
        *why = "record with a non-string tenant";
        return false;
    }
    if (tenant)
        out->tenant = arena_strdup(a, tenant->valuestring);
    if (!cJSON_IsBool(deleted) || !int_of(version, &out->version) || !int_of(seq, &out->seq)) {
        *why = "record without version, seq or deleted";
        return false;
    }
    out->deleted = cJSON_IsTrue(deleted);
    if (su && !int_of(su, &out->updated_us)) {
        *why = "record with a non-numeric su";
        return false;
    }
    if (!stamp_from_json(st, &out->st)) {
        *why = "record with a malformed stamp";
        return false;
    }
    if (del && !stamp_from_json(del, &out->del)) {
        *why = "record with a malformed delete stamp";
        return false;
    }
    if ((bv && !int_of(bv, &out->born_version)) || (pd && !stamp_from_json(pd, &out->prev_del))) {
        *why = "record with a malformed incarnation";
        return false;
    }
    if (!cJSON_IsObject(fields)) {
        *why = "record without fields";
        return false;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        value v;
        stamp fst;
        members fm = members_of(f);
        if (!f->string || !cJSON_IsObject(f) || !value_from_json(member(&fm, "v"), a, &v) ||
            !stamp_from_members(&fm, &fst)) {
            *why = "record with a malformed field";
            return false;
        }
        if (out->n_fields >= RECORD_FIELDS_MAX || record_field(out, f->string)) {
            *why = "record with too many or repeated fields";
            return false;
        }
        const cJSON *c = member(&fm, "c");
        if (c) {
            counter_part *parts;
            int n;
            if (!parts_from_json(c, a, &parts, &n) || v.kind != VAL_INT || v.i != counter_total(parts, n)) {
                *why = "record with a malformed counter";
                return false;
            }
            record_set_counter(out, a, f->string, parts, n, &fst);
        } else {
            record_set_field(out, a, f->string, &v, &fst);
        }
    }
    if (events) {
        if (!cJSON_IsArray(events)) {
            *why = "record whose events are not an array";
            return false;
        }
        reserve_events(out, a, cJSON_GetArraySize(events));
        const cJSON *e;
        cJSON_ArrayForEach(e, events)
        {
            if (!event_from_json(e, a, &out->events[out->n_events])) {
                *why = "record with a malformed event";
                return false;
            }
            out->n_events++;
        }
    }
    return true;
}

/*
 * What record_from_json takes back unchanged from record_to_json's tree: the checks it makes, on the
 * struct. Every integer within +-2^53 (a double holds it; the decoder refuses anything beyond), the
 * signs and ranges the decoder insists on, fields sorted and unique, counters that add up.
 */
static bool int_exact(int64_t v)
{
    return v > -JSON_INT_LIMIT && v < JSON_INT_LIMIT;
}

static bool id_exact(write_id w)
{
    return w < (write_id)JSON_INT_LIMIT;
}

static bool stamp_exact(const stamp *st)
{
    return id_exact(st->w) && int_exact(st->ts_us) && int_exact(st->h.l_us) && int_exact(st->server_us) &&
           st->version >= 0 && st->version < JSON_INT_LIMIT;
}

static bool value_exact(const value *v)
{
    return v->kind == VAL_STRING ? v->s != NULL : v->kind != VAL_INT || int_exact(v->i);
}

static bool parts_exact(const field *f)
{
    for (int i = 0; i < f->n_parts; i++) {
        const counter_part *p = &f->parts[i];
        if (p->node < 0 || (i > 0 && p->node <= f->parts[i - 1].node) || p->p < 0 || p->p >= JSON_INT_LIMIT ||
            p->n < 0 || p->n >= JSON_INT_LIMIT || !id_exact(p->w))
            return false;
    }
    return f->n_parts == 0 || (f->v.kind == VAL_INT && f->v.i == counter_total(f->parts, f->n_parts));
}

bool record_json_exact(const record *r)
{
    if (!r->type || !r->id || !int_exact(r->version) || !int_exact(r->seq) || !int_exact(r->updated_us) ||
        !stamp_exact(&r->st) || (r->del.w != WRITE_NONE && !stamp_exact(&r->del)) || !int_exact(r->born_version) ||
        (r->born_version && !stamp_exact(&r->prev_del)) || r->n_fields > RECORD_FIELDS_MAX)
        return false;
    for (int i = 0; i < r->n_fields; i++) {
        const field *f = &r->fields[i];
        if (!f->name || (i > 0 && strcmp(r->fields[i - 1].name, f->name) >= 0) || !value_exact(&f->v) ||
            !stamp_exact(&f->st) || !parts_exact(f))
            return false;
    }
    for (int i = 0; i < r->n_events; i++) {
        const log_event *e = &r->events[i];
        if (e->w == WRITE_NONE || !id_exact(e->w) || !int_exact(e->at_us) || !int_exact(e->server_us))
            return false;
        for (int k = 0; k < e->n_fields; k++)
            if (!e->fields[k].name || !value_exact(&e->fields[k].v))
                return false;
    }
    return true;
}

void record_as_written(record *r)
{
    /* Members the tree leaves out read back as record_init leaves them. */
    if (r->del.w == WRITE_NONE)
        r->del = (stamp){ 0 };
    if (!r->born_version)
        r->prev_del = (stamp){ 0 };
    for (int i = 0; i < r->n_fields; i++)
        r->fields[i].v = value_as_written(&r->fields[i].v);
    for (int i = 0; i < r->n_events; i++)
        for (int k = 0; k < r->events[i].n_fields; k++)
            r->events[i].fields[k].v = value_as_written(&r->events[i].fields[k].v);
}

void record_copy_as_written(record *dst, const record *src, arena *a)
{
    record_copy(dst, src, a);
    record_as_written(dst);
}


static bool decode_value(json_reader *jr, arena *a, value *v)
{
    memset(v, 0, sizeof *v);
    double d;
    bool is_integer;
    if (jr_null(jr)) {
        v->kind = VAL_NULL;
        return true;
    }
    if (jr->p < jr->end && (*jr->p == 't' || *jr->p == 'f')) {
        v->kind = VAL_BOOL;
        return jr_bool(jr, &v->b);
    }
    if (jr->p < jr->end && *jr->p == '"') {
        v->kind = VAL_STRING;
        return jr_string(jr, a, &v->s);
    }
    if (!jr_number(jr, &d, &is_integer, &v->i))
        return false;   /* is_integer is unset then */
    v->kind = is_integer ? VAL_INT : VAL_REAL;
    v->r = is_integer ? 0.0 : d;
    return true;
}

static bool decode_parts(json_reader *jr, arena *a, counter_part **out, int *n)
{
    int cap = 4, count = 0;
    counter_part *parts = arena_alloc(a, (size_t)cap * sizeof *parts);
    if (!jr_array(jr))
        return false;
    while (jr_item(jr)) {
        int64_t node, p, m, w;
        if (!jr_array(jr) || !jr_item(jr) || !jr_int(jr, &node) || !jr_item(jr) || !jr_int(jr, &p) ||
            !jr_item(jr) || !jr_int(jr, &m) || !jr_item(jr) || !jr_int(jr, &w) || jr_item(jr))
            return false;
        if (count == cap) {
            counter_part *grown = arena_alloc(a, (size_t)cap * 2 * sizeof *grown);
            memcpy(grown, parts, (size_t)count * sizeof *parts);
            parts = grown;
            cap *= 2;
        }
        parts[count++] = (counter_part){ (int32_t)node, p, m, (write_id)w };
    }
    *out = parts;
    *n = count;
    return jr_ok(jr);
}

/* A stamp's members, or a field's (which add "v" and maybe "c"), read in any order. */
static bool decode_event(json_reader *jr, arena *a, log_event *e)
{
    int64_t w = -1;
    const char *key;
    memset(e, 0, sizeof *e);
    if (!jr_object(jr))
        return false;
    while (jr_key(jr, a, &key)) {
        bool ok;
        if (strcmp(key, "w") == 0)
            ok = jr_int(jr, &w);
        else if (strcmp(key, "t") == 0)
            ok = jr_int(jr, &e->at_us);
        else if (strcmp(key, "s") == 0)
            ok = jr_int(jr, &e->server_us);
        else if (strcmp(key, "f") == 0) {
            int cap = 4;
            e->fields = arena_alloc(a, (size_t)cap * sizeof *e->fields);
            const char *name;
            ok = jr_object(jr);
            while (ok && jr_key(jr, a, &name)) {
                if (e->n_fields == cap) {
                    op_field *grown = arena_alloc(a, (size_t)cap * 2 * sizeof *grown);
                    memcpy(grown, e->fields, (size_t)e->n_fields * sizeof *grown);
                    e->fields = grown;
                    cap *= 2;
                }
                op_field *f = &e->fields[e->n_fields++];
                f->name = arena_strdup(a, name);
                ok = decode_value(jr, a, &f->v);
            }
            ok = ok && jr_ok(jr);
        } else
            ok = jr_skip(jr);
        if (!ok)
            return false;
    }
    e->w = (write_id)w;
    return jr_ok(jr) && w > 0;
}

static bool decode_stamped(json_reader *jr, arena *a, stamp *st, value *v, counter_part **parts, int *n_parts)
{
    int64_t w = -1, t = 0, hl = 0, hc = 0, s = 0, sv = 0;
    bool have_v = false;
    const char *key;
    if (n_parts)
        *n_parts = 0;
    if (!jr_object(jr))
        return false;
    while (jr_key(jr, a, &key)) {
        bool ok;
        if (strcmp(key, "w") == 0)
            ok = jr_int(jr, &w);
        else if (strcmp(key, "t") == 0)
            ok = jr_int(jr, &t);
        else if (strcmp(key, "hl") == 0)
            ok = jr_int(jr, &hl);
        else if (strcmp(key, "hc") == 0)
            ok = jr_int(jr, &hc);
        else if (strcmp(key, "s") == 0)
            ok = jr_int(jr, &s);
        else if (strcmp(key, "sv") == 0)
            ok = jr_int(jr, &sv);
        else if (v && strcmp(key, "v") == 0) {
            have_v = true;
            ok = decode_value(jr, a, v);
        } else if (parts && strcmp(key, "c") == 0)
            ok = decode_parts(jr, a, parts, n_parts);
        else
            ok = jr_skip(jr);
        if (!ok)
            return false;
    }
    if (!jr_ok(jr) || w < 0 || hc < 0 || hc > UINT32_MAX || sv < 0 || (v && !have_v))
        return false;
    st->w = (write_id)w;
    st->ts_us = t;
    st->h.l_us = hl;
    st->h.c = (uint32_t)hc;
    st->server_us = s;
    st->version = sv;
    return true;
}

bool record_decode(const char *text, size_t len, arena *a, record *out, const char **why)
{
    json_reader jr;
    jr_init(&jr, text, len);
    memset(out, 0, sizeof *out);
    bool have_type = false, have_id = false, have_st = false, have_fields = false, have_deleted = false;
    const char *key;
    *why = "record JSON is malformed";
    if (!jr_object(&jr))
        return false;
    while (jr_key(&jr, a, &key)) {
        bool ok = true;
        if (strcmp(key, "type") == 0)
            ok = have_type = jr_string(&jr, a, &out->type);
        else if (strcmp(key, "tenant") == 0)
            ok = jr_string(&jr, a, &out->tenant);
        else if (strcmp(key, "id") == 0)
            ok = have_id = jr_string(&jr, a, &out->id);
        else if (strcmp(key, "version") == 0)
            ok = jr_int(&jr, &out->version);
        else if (strcmp(key, "seq") == 0)
            ok = jr_int(&jr, &out->seq);
        else if (strcmp(key, "su") == 0)
            ok = jr_int(&jr, &out->updated_us);
        else if (strcmp(key, "deleted") == 0)
            ok = have_deleted = jr_bool(&jr, &out->deleted);
        else if (strcmp(key, "st") == 0)
            ok = have_st = decode_stamped(&jr, a, &out->st, NULL, NULL, NULL);
        else if (strcmp(key, "del") == 0)
            ok = decode_stamped(&jr, a, &out->del, NULL, NULL, NULL);
        else if (strcmp(key, "bv") == 0)
            ok = jr_int(&jr, &out->born_version);
        else if (strcmp(key, "pd") == 0)
            ok = decode_stamped(&jr, a, &out->prev_del, NULL, NULL, NULL);
        else if (strcmp(key, "events") == 0) {
            ok = jr_array(&jr);
            while (ok && jr_item(&jr)) {
                log_event e;
                if (!decode_event(&jr, a, &e)) {
                    ok = false;
                    break;
                }
                reserve_events(out, a, out->n_events + 1);
                out->events[out->n_events++] = e;
            }
            ok = ok && jr_ok(&jr);
        }
        else if (strcmp(key, "fields") == 0) {
            have_fields = true;
            const char *name;
            ok = jr_object(&jr);
            while (ok && jr_key(&jr, a, &name)) {
                value v;
                stamp st;
                counter_part *parts = NULL;
                int n_parts = 0;
                /* The field's own keys reuse the reader's key buffer: keep the name apart. */
                if (name == jr.key)
                    name = arena_strdup(a, name);
                if (!decode_stamped(&jr, a, &st, &v, &parts, &n_parts)) {
                    ok = false;
                    break;
                }
                if (out->n_fields >= RECORD_FIELDS_MAX || record_field(out, name)) {
                    *why = "record with too many or repeated fields";
                    return false;
                }
                if (n_parts)
                    record_set_counter(out, a, name, parts, n_parts, &st);
                else
                    record_set_field(out, a, name, &v, &st);
            }
            ok = ok && jr_ok(&jr);
        } else
            ok = jr_skip(&jr);
        if (!ok)
            return false;
    }
    if (!jr_ok(&jr) || !jr_end(&jr) || !have_type || !have_id || !have_st || !have_fields || !have_deleted)
        return false;
    *why = NULL;
    return true;
}

void record_observation(const record *r, observation *obs, arena *a)
{
    memset(obs, 0, sizeof *obs);
    obs->kind = OBS_RECORD;
    obs->rec = r;
    obs->type = r->type;
    obs->id = r->id;
    obs->deleted = r->deleted;
    obs->record_w = r->st.w;
    obs->delete_w = r->del.w;
    int cap = r->n_fields + r->n_events + 1;
    for (int i = 0; i < r->n_fields; i++)
        cap += r->fields[i].n_parts;
    write_id *writes = arena_alloc(a, (size_t)cap * sizeof *writes);
    int n = 0;
    for (int i = 0; i < r->n_fields; i++)
        writes[n++] = r->fields[i].st.w;
    /* A counter's other contributions are seen too, though the field names only its last writer. */
    for (int i = 0; i < r->n_fields; i++)
        for (int k = 0; k < r->fields[i].n_parts; k++)
            if (r->fields[i].parts[k].w != r->fields[i].st.w)
                writes[n++] = r->fields[i].parts[k].w;
    for (int i = 0; i < r->n_events; i++)
        writes[n++] = r->events[i].w;
    obs->n_writes = n;
    obs->writes = writes;
}
