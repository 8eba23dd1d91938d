/*
 * json_out: one event stream, three sinks (json_out.h). The byte count follows
 * json_write's compact text, which the text sink writes: a container's
 * brackets, a comma between members, a key's quoted text and its colon.
 */
#include "base/json_out.h"
#include "base/hash.h"
#include "base/json.h"

#include <assert.h>
#include <string.h>

/* The per-depth arrays need no clearing: open_container sets a depth's entries before anything
 * reads them (a writer of small values, one per record field, pays for no more than it uses). */
void json_out_tree(json_out *o)
{
    o->depth = 0;
    o->sink = JSON_OUT_TREE;
    o->root = NULL;
    o->key = NULL;
    o->hash = 0;
    o->bytes = 0;
}

void json_out_hash(json_out *o, uint64_t hash)
{
    o->depth = 0;
    o->sink = JSON_OUT_HASH;
    o->hash = hash;
    o->bytes = 0;
}

void json_out_text(json_out *o, buf *text)
{
    o->depth = 0;
    o->sink = JSON_OUT_TEXT;
    o->text = text;
    o->hash = 0;
    o->bytes = 0;
}

/* The compact text's length of a string: quotes, two-byte escapes, \u00XX for other controls. */
static uint64_t string_bytes(const char *s)
{
    uint64_t n = 2;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p == '"' || *p == '\\' || *p == '\n' || *p == '\r' || *p == '\t') ? 2 : *p < 0x20 ? 6 : 1;
    return n;
}

/* Every value starts here, before its text: an array's comma, and the tree's place for item (NULL
 * for the other sinks). */
static void begin_value(json_out *o, cJSON *item)
{
    int d = o->depth - 1;
    if (o->sink == JSON_OUT_HASH) {
        jo_hash_begin_value(o);
        return;
    }
    if (o->sink == JSON_OUT_TEXT) {
        if (d >= 0 && !o->in_object[d] && o->members[d]++)
            buf_putc(o->text, ',');
        return;
    }
    if (d < 0) {
        assert(!o->root);
        o->root = item;
    } else if (o->in_object[d]) {
        assert(o->key);
        if (o->key_literal)
            cJSON_AddItemToObjectCS(o->open[d], o->key, item);
        else
            cJSON_AddItemToObject(o->open[d], o->key, item);
        o->key = NULL;
    } else {
        cJSON_AddItemToArray(o->open[d], item);
    }
}

static void open_container(json_out *o, bool object)
{
    assert(o->depth < JSON_OUT_DEPTH_MAX);
    cJSON *item = NULL;
    if (o->sink == JSON_OUT_TREE) {
        item = object ? cJSON_CreateObject() : cJSON_CreateArray();
    } else if (o->sink == JSON_OUT_HASH) {
        o->hash = hash64_u64(o->hash, object ? '{' : '[');
        o->bytes += 2;
    }
    begin_value(o, item);
    if (o->sink == JSON_OUT_TEXT)
        buf_putc(o->text, object ? '{' : '[');
    o->open[o->depth] = item;
    o->in_object[o->depth] = object;
    o->members[o->depth] = 0;
    o->depth++;
}

void jo_object(json_out *o)
{
    open_container(o, true);
}

void jo_array(json_out *o)
{
    open_container(o, false);
}

void jo_end(json_out *o)
{
    assert(o->depth > 0);
    o->depth--;
    if (o->sink == JSON_OUT_HASH)
        o->hash = hash64_u64(o->hash, o->in_object[o->depth] ? '}' : ']');
    else if (o->sink == JSON_OUT_TEXT)
        buf_putc(o->text, o->in_object[o->depth] ? '}' : ']');
}

/* A member's key in the hash sink: text_bytes its compact text (quotes included), len its length. */
static void hash_key(json_out *o, const char *k, size_t len, uint64_t text_bytes)
{
    jo_hash_key_begin(o, text_bytes);
    o->hash = hash64_bytes(o->hash, k, len + 1);   /* hash64_str's: the terminator included */
}

/* literal: k has no character to escape. */
static void text_key(json_out *o, const char *k, size_t len, bool literal)
{
    int d = o->depth - 1;
    assert(d >= 0 && o->in_object[d]);
    if (o->members[d]++)
        buf_putc(o->text, ',');
    if (literal) {
        buf_putc(o->text, '"');
        buf_put(o->text, k, len);
        buf_putc(o->text, '"');
    } else {
        buf_put_json_string(o->text, k);
    }
    buf_putc(o->text, ':');
}

static void tree_key(json_out *o, const char *k, bool literal)
{
    assert(o->depth > 0 && o->in_object[o->depth - 1]);
    o->key = k;
    o->key_literal = literal;
}

void jo_key(json_out *o, const char *k)
{
    if (o->sink == JSON_OUT_HASH)
        hash_key(o, k, strlen(k), string_bytes(k));
    else if (o->sink == JSON_OUT_TEXT)
        text_key(o, k, 0, false);
    else
        tree_key(o, k, false);
}

/* Its text is its length and two quotes: literal keys are written without characters to escape
 * (test-json-out's sizes and the native messages' in test-wire would tell). */
void jo_key_static_sink(json_out *o, const char *k, size_t len)
{
    if (o->sink == JSON_OUT_HASH)
        hash_key(o, k, len, len + 2);
    else if (o->sink == JSON_OUT_TEXT)
        text_key(o, k, len, true);
    else
        tree_key(o, k, true);
}

void jo_string(json_out *o, const char *s)
{
    if (o->sink == JSON_OUT_HASH) {
        o->bytes += string_bytes(s);
        o->hash = hash64_str(hash64_u64(o->hash, '"'), s);
        begin_value(o, NULL);
    } else if (o->sink == JSON_OUT_TEXT) {
        begin_value(o, NULL);
        buf_put_json_string(o->text, s);
    } else {
        begin_value(o, cJSON_CreateString(s));
    }
}

void jo_number(json_out *o, double d)
{
    if (o->sink == JSON_OUT_HASH) {
        jo_hash_number(o, d, json_number_length(d));
    } else if (o->sink == JSON_OUT_TEXT) {
        begin_value(o, NULL);
        json_put_number(o->text, d);
    } else {
        begin_value(o, cJSON_CreateNumber(d));
    }
}

/* jo_int's other cases: the text, the tree, and the hash of an integer beyond 2^53. */
void jo_int_sink(json_out *o, int64_t v)
{
    if (o->sink == JSON_OUT_TEXT) {
        begin_value(o, NULL);
        json_put_i64(o->text, v);   /* exact: no double between */
    } else {
        jo_number(o, (double)v);
    }
}

void jo_bool(json_out *o, bool b)
{
    if (o->sink == JSON_OUT_HASH) {
        o->bytes += b ? 4 : 5;
        o->hash = hash64_u64(o->hash, b ? 'T' : 'F');
        begin_value(o, NULL);
    } else if (o->sink == JSON_OUT_TEXT) {
        begin_value(o, NULL);
        buf_puts(o->text, b ? "true" : "false");
    } else {
        begin_value(o, cJSON_CreateBool(b));
    }
}

void jo_null(json_out *o)
{
    if (o->sink == JSON_OUT_HASH) {
        o->bytes += 4;
        o->hash = hash64_u64(o->hash, 'N');
        begin_value(o, NULL);
    } else if (o->sink == JSON_OUT_TEXT) {
        begin_value(o, NULL);
        buf_puts(o->text, "null");
    } else {
        begin_value(o, cJSON_CreateNull());
    }
}

/*
 * A tree into the hash sink in one tight walk: the events jo_tree's general path below would
 * write, without a call per event (the seed designs' messages are trees; test-json-out holds
 * the two to the same hash and length). h and the returned size are the value's alone.
 */
static uint64_t hash_tree(const cJSON *v, uint64_t h, uint64_t *bytes)
{
    uint64_t size;
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool object = cJSON_IsObject(v);
        h = hash64_u64(h, object ? '{' : '[');
        size = 2;
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                size++;
            if (object) {
                h = hash64_str(h, c->string);
                size += string_bytes(c->string) + 1;
            }
            uint64_t child;
            h = hash_tree(c, h, &child);
            size += child;
        }
        h = hash64_u64(h, object ? '}' : ']');
    } else if (cJSON_IsString(v)) {
        h = hash64_str(hash64_u64(h, '"'), v->valuestring);
        size = string_bytes(v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        uint64_t bits;
        memcpy(&bits, &v->valuedouble, sizeof bits);
        h = hash64_u64(hash64_u64(h, '#'), bits);
        size = json_number_length(v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        h = hash64_u64(h, cJSON_IsTrue(v) ? 'T' : 'F');
        size = cJSON_IsTrue(v) ? 4 : 5;
    } else {
        h = hash64_u64(h, 'N');   /* null, and whatever else a tree may hold: hashed as null, as always */
        size = 4;
    }
    *bytes = size;
    return h;
}

void jo_tree(json_out *o, const cJSON *v)
{
    if (o->sink == JSON_OUT_HASH) {
        /* As a value of the container it is in: its comma first (an object's is its key's). */
        begin_value(o, NULL);
        uint64_t size;
        o->hash = hash_tree(v, o->hash, &size);
        o->bytes += size;
        return;
    }
    if (o->sink == JSON_OUT_TEXT) {
        begin_value(o, NULL);
        json_write(o->text, v);
        return;
    }
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool object = cJSON_IsObject(v);
        open_container(o, object);
        for (const cJSON *c = v->child; c; c = c->next) {
            if (object)
                jo_key(o, c->string);
            jo_tree(o, c);
        }
        jo_end(o);
    } else if (cJSON_IsString(v)) {
        jo_string(o, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        jo_number(o, v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        jo_bool(o, cJSON_IsTrue(v));
    } else {
        jo_null(o);   /* null, and whatever else a tree may hold: hashed as null, as always */
    }
}

cJSON *json_out_take(json_out *o)
{
    assert(o->sink == JSON_OUT_TREE && o->depth == 0);
    cJSON *root = o->root;
    o->root = NULL;
    return root;
}

uint64_t json_out_result(const json_out *o, uint64_t *bytes)
{
    assert(o->sink == JSON_OUT_HASH && o->depth == 0);
    if (bytes)
        *bytes = o->bytes;
    return o->hash;
}
