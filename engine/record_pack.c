/*
 * record_pack: the compact binary form of a record, for stores nobody opens from outside (in
 * memory). See record.h.
 *
 * Layout (integers as LEB128 varints, signed ones zigzagged first; a string is its length and
 * its bytes, without NUL):
 *
 *   0x01                                  RECORD_PACK_MAGIC (a JSON body starts with '{')
 *   type id tenant                        strings ("" for no tenant)
 *   version seq updated_us born_version   signed; updated_us a time
 *   flags                                 one byte: 1 deleted, 2 a delete stamp follows, 4 a
 *                                         previous incarnation's delete stamp follows
 *   st [del] [prev_del]                   stamps: w, ts_us, hlc l_us, hlc c, server_us, version
 *   n_fields, each: name value stamp n_parts, each part: node p n w
 *   n_events, each: w at_us server_us n_fields, each: name value
 *
 *   A time (updated_us, ts_us, l_us, server_us, at_us) is its difference from the time written
 *   just before it (the first from 0), signed, modulo 2^64 so that any value comes back. The times
 *   of one record lie close together, and nearest each other in this order (a stamp's three, an
 *   event's two), where each alone was an 8-byte varint: reading varints was 6.7% of the
 *   instructions of a run with long logs (12 devices, 60 h) before (docs/performance.md). A
 *   write id w is two varints, its node and its counter (WRITE_ID): a byte or two fewer than the
 *   whole.
 *
 *   value: a kind byte (value_kind), then INT a signed varint, REAL the 8 bytes of the double
 *   (little-endian), BOOL one byte, STRING a string, NULL nothing.
 *
 * Invariant: unpacking what record_pack wrote gives exactly what record_decode gives for what
 * record_encode writes. The JSON form drops a delete stamp without a write, a previous delete
 * without a born version, and turns some reals into integers or null; record_pack drops and turns
 * the same, so a store's form never changes what a replica does (tests/test-record.c compares the
 * two on every kind of value).
 */
#include "engine/record.h"

#include "base/json.h"

#include <math.h>
#include <string.h>

#define FLAG_DELETED 1u
#define FLAG_DEL 2u
#define FLAG_PREV_DEL 4u

/* --- writing ------------------------------------------------------------------ */

/* Writers reserve what they may write and write it in place; record_pack ends the text. A varint
 * takes at most 10 bytes. */
static unsigned char *room(buf *b, size_t n)
{
    if (b->cap < b->len + n + 1)
        buf_reserve(b, n);
    return (unsigned char *)b->data + b->len;
}

static void put_byte(buf *b, unsigned byte)
{
    *room(b, 1) = (unsigned char)byte;
    b->len++;
}

static unsigned char *varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static void put_u64(buf *b, uint64_t v)
{
    unsigned char *p = room(b, 10);
    b->len += (size_t)(varint(p, v) - p);
}

static void put_i64(buf *b, int64_t v)
{
    put_u64(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_str(buf *b, const char *s)
{
    size_t n = strlen(s);
    unsigned char *p = room(b, n + 10), *at = varint(p, n);
    memcpy(at, s, n);
    b->len += (size_t)(at - p) + n;
}

/* A time as its difference from *last_us, which it becomes. */
static void put_time(buf *b, int64_t *last_us, int64_t t_us)
{
    put_i64(b, (int64_t)((uint64_t)t_us - (uint64_t)*last_us));
    *last_us = t_us;
}

static void put_write(buf *b, write_id w)
{
    put_u64(b, w >> 32);
    put_u64(b, w & UINT32_MAX);
}

static void put_stamp(buf *b, int64_t *last_us, const stamp *st)
{
    put_write(b, st->w);
    put_time(b, last_us, st->ts_us);
    put_time(b, last_us, st->h.l_us);
    put_u64(b, st->h.c);
    put_time(b, last_us, st->server_us);
    put_i64(b, st->version);
}

/* The value the JSON form reads back: a real goes through its JSON text (rare, so the cost is
 * no matter), which makes an integral one an integer and a non-finite one null; so does INT64_MIN,
 * whose magnitude the JSON reader takes for a real's. */
static value canonical(const value *v)
{
    if (v->kind != VAL_REAL && !(v->kind == VAL_INT && v->i == INT64_MIN))
        return *v;
    buf text;
    buf_init(&text);
    if (v->kind == VAL_INT)
        json_put_i64(&text, v->i);
    else
        json_put_number(&text, v->r);
    json_reader jr;
    jr_init(&jr, text.data, text.len);
    value out = { .kind = VAL_NULL };
    double d;
    bool is_integer;
    int64_t i;
    if (!jr_null(&jr) && jr_number(&jr, &d, &is_integer, &i))
        out = is_integer ? (value){ .kind = VAL_INT, .i = i } : (value){ .kind = VAL_REAL, .r = d };
    buf_free(&text);
    return out;
}

static void put_value(buf *b, const value *given)
{
    value v = canonical(given);
    put_byte(b, (unsigned)v.kind);
    switch (v.kind) {
    case VAL_NULL: break;
    case VAL_BOOL: put_byte(b, v.b ? 1 : 0); break;
    case VAL_INT: put_i64(b, v.i); break;
    case VAL_REAL: {
        uint64_t bits;
        memcpy(&bits, &v.r, sizeof bits);
        unsigned char *p = room(b, 8);
        for (int k = 0; k < 8; k++)
            p[k] = (unsigned char)(bits >> (8 * k));
        b->len += 8;
        break;
    }
    case VAL_STRING: put_str(b, v.s); break;
    }
}

void record_pack(const record *r, buf *b)
{
    put_byte(b, RECORD_PACK_MAGIC);
    put_str(b, r->type);
    put_str(b, r->id);
    put_str(b, r->tenant ? r->tenant : "");
    put_i64(b, r->version);
    put_i64(b, r->seq);
    int64_t last_us = 0;
    put_time(b, &last_us, r->updated_us);
    put_i64(b, r->born_version);
    unsigned flags = (r->deleted ? FLAG_DELETED : 0) | (r->del.w != WRITE_NONE ? FLAG_DEL : 0) |
                     (r->born_version ? FLAG_PREV_DEL : 0);
    put_byte(b, flags);
    put_stamp(b, &last_us, &r->st);
    if (flags & FLAG_DEL)
        put_stamp(b, &last_us, &r->del);
    if (flags & FLAG_PREV_DEL)
        put_stamp(b, &last_us, &r->prev_del);
    put_u64(b, (uint64_t)r->n_fields);
    for (int i = 0; i < r->n_fields; i++) {
        const field *f = &r->fields[i];
        put_str(b, f->name);
        put_value(b, &f->v);
        put_stamp(b, &last_us, &f->st);
        put_u64(b, (uint64_t)f->n_parts);
        for (int k = 0; k < f->n_parts; k++) {
            put_i64(b, f->parts[k].node);
            put_i64(b, f->parts[k].p);
            put_i64(b, f->parts[k].n);
            put_write(b, f->parts[k].w);
        }
    }
    put_u64(b, (uint64_t)r->n_events);
    for (int i = 0; i < r->n_events; i++) {
        const log_event *e = &r->events[i];
        put_write(b, e->w);
        put_time(b, &last_us, e->at_us);
        put_time(b, &last_us, e->server_us);
        put_u64(b, (uint64_t)e->n_fields);
        for (int k = 0; k < e->n_fields; k++) {
            put_str(b, e->fields[k].name);
            put_value(b, &e->fields[k].v);
        }
    }
    room(b, 0)[0] = '\0';   /* buf's invariant, which the writers above leave to the end */
}

/* --- reading ------------------------------------------------------------------ */

/* Invariant: p never passes end; once ok is false every read fails and returns zeroes. */
typedef struct reader {
    const unsigned char *p;
    const unsigned char *end;
    bool ok;
    int64_t last_us;   /* the last time read: the next is its difference from it */
} reader;

static uint64_t get_u64(reader *rd)
{
    uint64_t v = 0;
    for (int shift = 0; rd->ok; shift += 7) {
        if (rd->p == rd->end || shift > 63) {
            rd->ok = false;
            break;
        }
        unsigned char byte = *rd->p++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return v;
    }
    return 0;
}

static int64_t get_i64(reader *rd)
{
    uint64_t u = get_u64(rd);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static unsigned get_byte(reader *rd)
{
    if (!rd->ok || rd->p == rd->end) {
        rd->ok = false;
        return 0;
    }
    return *rd->p++;
}

/* A count of items each at least min_bytes long: never more than what is left can hold. */
static int get_count(reader *rd, size_t min_bytes, int max)
{
    uint64_t n = get_u64(rd);
    if (!rd->ok || n > (uint64_t)max || n * min_bytes > (uint64_t)(rd->end - rd->p)) {
        rd->ok = false;
        return 0;
    }
    return (int)n;
}

/* A string copied into a; without a NUL inside (a C string would end there). a NULL: passed over
 * (checked as well), and "" returned. */
static const char *get_str(reader *rd, arena *a)
{
    uint64_t n = get_u64(rd);
    if (!rd->ok || n > (uint64_t)(rd->end - rd->p) || memchr(rd->p, '\0', (size_t)n)) {
        rd->ok = false;
        return "";
    }
    const char *s = a ? arena_strndup(a, (const char *)rd->p, (size_t)n) : "";
    rd->p += n;
    return s;
}

/* get_str for an event's field name: the same name as prev (the previous event's field at this
 * place, or NULL) is prev itself, not another copy. A log repeats its field names in every event;
 * one copy serves them all, and record_copy keeps them shared. */
static const char *get_name(reader *rd, arena *a, const char *prev)
{
    uint64_t n = get_u64(rd);
    if (!rd->ok || n > (uint64_t)(rd->end - rd->p) || memchr(rd->p, '\0', (size_t)n)) {
        rd->ok = false;
        return "";
    }
    /* strncmp stops at prev's end; the n bytes hold no NUL, so a shorter prev differs. */
    const char *s = prev && strncmp(prev, (const char *)rd->p, (size_t)n) == 0 && prev[n] == '\0'
                        ? prev
                        : arena_strndup(a, (const char *)rd->p, (size_t)n);
    rd->p += n;
    return s;
}

static int64_t get_time(reader *rd)
{
    rd->last_us = (int64_t)((uint64_t)rd->last_us + (uint64_t)get_i64(rd));
    return rd->last_us;
}

/* Both halves of a write id fit 32 bits (WRITE_ID). */
static write_id get_write(reader *rd)
{
    uint64_t node = get_u64(rd), counter = get_u64(rd);
    if (node > UINT32_MAX || counter > UINT32_MAX)
        rd->ok = false;
    return rd->ok ? node << 32 | counter : WRITE_NONE;
}

static void get_stamp(reader *rd, stamp *st)
{
    st->w = get_write(rd);
    st->ts_us = get_time(rd);
    st->h.l_us = get_time(rd);
    uint64_t c = get_u64(rd);
    st->server_us = get_time(rd);
    st->version = get_i64(rd);
    if (c > UINT32_MAX || st->version < 0)
        rd->ok = false;
    st->h.c = (uint32_t)c;
}

static void get_value(reader *rd, arena *a, value *v)
{
    memset(v, 0, sizeof *v);
    unsigned kind = get_byte(rd);
    switch (kind) {
    case VAL_NULL: v->kind = VAL_NULL; break;
    case VAL_BOOL: {
        unsigned b = get_byte(rd);
        v->kind = VAL_BOOL;
        v->b = b == 1;
        if (b > 1)
            rd->ok = false;
        break;
    }
    case VAL_INT:
        v->kind = VAL_INT;
        v->i = get_i64(rd);
        break;
    case VAL_REAL: {
        uint64_t bits = 0;
        for (int k = 0; k < 8; k++)
            bits |= (uint64_t)get_byte(rd) << (8 * k);
        v->kind = VAL_REAL;
        memcpy(&v->r, &bits, sizeof v->r);
        break;
    }
    case VAL_STRING:
        v->kind = VAL_STRING;
        v->s = get_str(rd, a);
        break;
    default: rd->ok = false;
    }
}

/* The smallest packed field, event and counter part, in bytes: what a count is checked against. */
#define FIELD_BYTES_MIN 11
#define EVENT_BYTES_MIN 5
#define EVENT_FIELD_BYTES_MIN 2
#define PART_BYTES_MIN 5

bool record_unpack(const void *data, size_t len, arena *a, record *out, const char **why)
{
    reader rd = { .p = data, .end = (const unsigned char *)data + len, .ok = true };
    memset(out, 0, sizeof *out);
    *why = "packed record is malformed";
    if (get_byte(&rd) != RECORD_PACK_MAGIC)
        return false;
    out->type = get_str(&rd, a);
    out->id = get_str(&rd, a);
    out->tenant = get_str(&rd, a);
    out->version = get_i64(&rd);
    out->seq = get_i64(&rd);
    out->updated_us = get_time(&rd);
    out->born_version = get_i64(&rd);
    unsigned flags = get_byte(&rd);
    if (flags & ~(FLAG_DELETED | FLAG_DEL | FLAG_PREV_DEL))
        return false;
    out->deleted = flags & FLAG_DELETED;
    get_stamp(&rd, &out->st);
    if (flags & FLAG_DEL)
        get_stamp(&rd, &out->del);
    if (flags & FLAG_PREV_DEL)
        get_stamp(&rd, &out->prev_del);
    int n_fields = get_count(&rd, FIELD_BYTES_MIN, RECORD_FIELDS_MAX);
    if (n_fields) {
        out->fields = arena_alloc(a, (size_t)n_fields * sizeof *out->fields);
        out->cap_fields = n_fields;
    }
    for (int i = 0; i < n_fields && rd.ok; i++) {
        const char *name = get_str(&rd, a);
        value v;
        stamp st;
        get_value(&rd, a, &v);
        get_stamp(&rd, &st);
        int n_parts = get_count(&rd, PART_BYTES_MIN, INT32_MAX);
        counter_part *parts = n_parts ? arena_alloc(a, (size_t)n_parts * sizeof *parts) : NULL;
        for (int k = 0; k < n_parts && rd.ok; k++) {
            int64_t node = get_i64(&rd);
            parts[k] = (counter_part){ .node = (int32_t)node, .p = get_i64(&rd), .n = get_i64(&rd), .w = get_write(&rd) };
            if (node < 0 || node > INT32_MAX || (k > 0 && parts[k].node <= parts[k - 1].node))
                rd.ok = false;
        }
        if (!rd.ok)
            break;
        /* record_pack writes the fields sorted by name: each goes at the end, its name, value and
         * contributions already in a (a counter's value is their total, as record_set_counter
         * makes it). One out of order is inserted where it belongs; one repeated is refused. */
        if (out->n_fields == 0 || strcmp(out->fields[out->n_fields - 1].name, name) < 0) {
            field *f = &out->fields[out->n_fields++];
            *f = (field){ .name = name, .v = v, .st = st, .n_parts = n_parts, .parts = parts };
            if (n_parts)
                f->v = (value){ .kind = VAL_INT, .i = counter_total(parts, n_parts) };
            continue;
        }
        if (record_field(out, name)) {
            *why = "packed record with a repeated field";
            return false;
        }
        if (n_parts)
            record_set_counter(out, a, name, parts, n_parts, &st);
        else
            record_set_field(out, a, name, &v, &st);
    }
    int n_events = get_count(&rd, EVENT_BYTES_MIN, INT32_MAX / 2);
    if (n_events) {
        out->events = arena_alloc(a, (size_t)n_events * sizeof *out->events);
        out->cap_events = n_events;
    }
    for (int i = 0; i < n_events && rd.ok; i++) {
        log_event *e = &out->events[i];
        e->w = get_write(&rd);
        e->at_us = get_time(&rd);
        e->server_us = get_time(&rd);
        e->n_fields = get_count(&rd, EVENT_FIELD_BYTES_MIN, INT32_MAX);
        e->fields = arena_alloc(a, (size_t)(e->n_fields ? e->n_fields : 1) * sizeof *e->fields);
        const log_event *prev = i ? &out->events[i - 1] : NULL;
        for (int k = 0; k < e->n_fields && rd.ok; k++) {
            e->fields[k].name = get_name(&rd, a, prev && k < prev->n_fields ? prev->fields[k].name : NULL);
            get_value(&rd, a, &e->fields[k].v);
        }
        if (e->w == WRITE_NONE)
            rd.ok = false;
        out->n_events = i + 1;
    }
    if (!rd.ok || rd.p != rd.end)
        return false;
    *why = NULL;
    return true;
}

/* --- comparing without unpacking ------------------------------------------------ */

/* The next string's bytes, where they lie (not copied); NULL when they do not fit. */
static const unsigned char *get_view(reader *rd, size_t *len)
{
    uint64_t n = get_u64(rd);
    if (!rd->ok || n > (uint64_t)(rd->end - rd->p)) {
        rd->ok = false;
        return NULL;
    }
    const unsigned char *s = rd->p;
    rd->p += n;
    *len = (size_t)n;
    return s;
}

static bool view_is(const unsigned char *bytes, size_t len, const char *s)
{
    return bytes && strlen(s) == len && memcmp(bytes, s, len) == 0;
}

/* The next value equals v (value_equal). A string is compared where it lies, not copied. */
static bool value_is(reader *rd, const value *v)
{
    if (rd->p < rd->end && *rd->p == VAL_STRING) {
        rd->p++;
        size_t len;
        const unsigned char *s = get_view(rd, &len);
        return v->kind == VAL_STRING && view_is(s, len, v->s);
    }
    value got;
    get_value(rd, NULL, &got);   /* not a string: no arena needed */
    return rd->ok && value_equal(&got, v);
}

bool record_packed_same_provenance(const void *data, size_t len, const record *r)
{
    reader rd = { .p = data, .end = (const unsigned char *)data + len, .ok = true };
    size_t n;
    if (get_byte(&rd) != RECORD_PACK_MAGIC)
        return false;
    for (int k = 0; k < 3; k++)   /* type id tenant */
        get_view(&rd, &n);
    get_i64(&rd);    /* version */
    get_i64(&rd);    /* seq */
    get_time(&rd);   /* updated_us: the next time's base */
    get_i64(&rd);    /* born_version */
    unsigned flags = get_byte(&rd);
    stamp st, del = { 0 }, prev_del;
    get_stamp(&rd, &st);
    if (flags & FLAG_DEL)
        get_stamp(&rd, &del);
    if (flags & FLAG_PREV_DEL)
        get_stamp(&rd, &prev_del);
    if (!rd.ok || (bool)(flags & FLAG_DELETED) != r->deleted || st.w != r->st.w || del.w != r->del.w)
        return false;
    /* Fields are packed in the record's order, sorted by name, as the record holds them. A counter
     * unpacks with its contributions' total as its value, whatever value was packed. */
    if (get_count(&rd, FIELD_BYTES_MIN, RECORD_FIELDS_MAX) != r->n_fields || !rd.ok)
        return false;
    for (int i = 0; i < r->n_fields; i++) {
        const field *f = &r->fields[i];
        const unsigned char *name = get_view(&rd, &n);
        if (!view_is(name, n, f->name))
            return false;
        value ignored;
        if (f->n_parts)
            get_value(&rd, NULL, &ignored);   /* a counter's value is its parts' total, below */
        else if (!value_is(&rd, &f->v))
            return false;
        get_stamp(&rd, &st);
        int n_parts = get_count(&rd, PART_BYTES_MIN, INT32_MAX);
        if (!rd.ok || st.w != f->st.w || n_parts != f->n_parts)
            return false;
        for (int k = 0; k < n_parts; k++) {
            counter_part part = { .node = (int32_t)get_i64(&rd), .p = get_i64(&rd), .n = get_i64(&rd), .w = get_write(&rd) };
            const counter_part *want = &f->parts[k];
            if (!rd.ok || part.node != want->node || part.p != want->p || part.n != want->n || part.w != want->w)
                return false;
        }
        /* The parts are r's: what unpacking sets the value to is their total. */
        value total = { .kind = VAL_INT, .i = counter_total(f->parts, n_parts) };
        if (n_parts && !value_equal(&total, &f->v))
            return false;
    }
    if (get_count(&rd, EVENT_BYTES_MIN, INT32_MAX / 2) != r->n_events || !rd.ok)
        return false;
    for (int i = 0; i < r->n_events; i++) {
        write_id w = get_write(&rd);
        get_time(&rd);   /* at_us */
        int64_t server_us = get_time(&rd);
        if (!rd.ok || w != r->events[i].w || server_us != r->events[i].server_us)
            return false;
        int n_fields = get_count(&rd, EVENT_FIELD_BYTES_MIN, INT32_MAX);
        for (int k = 0; k < n_fields && rd.ok; k++) {
            value ignored;
            get_str(&rd, NULL);
            get_value(&rd, NULL, &ignored);
        }
    }
    return rd.ok && rd.p == rd.end;
}
