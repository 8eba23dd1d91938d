/*
 * json_out: a JSON value written event by event -- open an object, a key, a
 * number, close -- into one of three sinks:
 *
 *   JSON_OUT_TREE  builds the cJSON tree of the value;
 *   JSON_OUT_HASH  computes the value's hash and the length of its compact
 *                  text (json_write's) without building anything;
 *   JSON_OUT_TEXT  writes that compact text (a file store's record bodies).
 *
 * One writer serves them all, so a message kept in its sender's structs is
 * hashed and sized exactly as the tree it stands for would be, a trace or an
 * external node that needs the tree gets the same value, and a record's text
 * in a file store says the same as its messages. The hash of a
 * tree (json_out_put_tree into a hash sink) is what trace hashes have always
 * been made of: the event stream below is fixed by them.
 *
 * Hash stream: an object or array opens with '{' or '[' and closes with '}'
 * or ']'; an object member's key is hashed (hash64_str) before its value; a
 * string is '"' then its bytes, a number '#' then its double's bits, true
 * 'T', false 'F', null 'N'.
 */
#ifndef BASE_JSON_OUT_H
#define BASE_JSON_OUT_H

#include "base/buf.h"
#include "base/hash.h"
#include "base/json.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Nesting a writer may reach; what syncsim writes stays far below it (asserted). */
#define JSON_OUT_DEPTH_MAX 32

typedef enum json_out_sink {
    JSON_OUT_TREE,
    JSON_OUT_HASH,
    JSON_OUT_TEXT,
} json_out_sink;

typedef struct json_out {
    json_out_sink sink;
    int depth;                              /* containers open */
    bool in_object[JSON_OUT_DEPTH_MAX];     /* at each depth: an object (else an array) */
    int members[JSON_OUT_DEPTH_MAX];        /* at each depth: values written so far */
    /* JSON_OUT_TREE */
    cJSON *open[JSON_OUT_DEPTH_MAX];        /* the containers open */
    cJSON *root;
    const char *key;                        /* the key of the value to come, inside an object */
    bool key_literal;                       /* key outlives the tree: cJSON keeps the pointer */
    /* JSON_OUT_HASH */
    uint64_t hash;
    uint64_t bytes;
    /* JSON_OUT_TEXT */
    buf *text;
} json_out;

void json_out_tree(json_out *o);
/* Hashing from hash (0 for a message's own hash; the trace chains its running hash). */
void json_out_hash(json_out *o, uint64_t hash);
/* Appending the compact text to text. */
void json_out_text(json_out *o, buf *text);

void jo_object(json_out *o);
void jo_array(json_out *o);
void jo_end(json_out *o);
/* A member's key, copied into the tree. */
void jo_key(json_out *o, const char *key);
/* A string literal as the key: the tree keeps the pointer, and its length and its compact text
 * need no scan (a literal is written here without characters to escape: test-json-out's sizes
 * and the native messages' in test-wire would tell). */
#define jo_key_literal(o, literal) jo_key_static((o), "" literal, sizeof(literal) - 1)
static inline void jo_key_static(json_out *o, const char *key, size_t len);
void jo_string(json_out *o, const char *s);
void jo_number(json_out *o, double d);
/* An integer: jo_number((double)v) in the tree and the hash, exact in the text (beyond 2^53 too). */
static inline void jo_int(json_out *o, int64_t v);
void jo_bool(json_out *o, bool b);
void jo_null(json_out *o);
/* A whole value, as its tree. */
void jo_tree(json_out *o, const cJSON *v);

/* JSON_OUT_TREE, once the value is complete: the tree, now the caller's. */
cJSON *json_out_take(json_out *o);
/* JSON_OUT_HASH, once the value is complete: the hash; *bytes (when given) the compact length. */
uint64_t json_out_result(const json_out *o, uint64_t *bytes);

/*
 * The hash sink's steps, inline: a message's hash takes a step per token, most of them literal
 * keys and integers, and the calls and the sink's dispatch cost more than the steps did. Below,
 * the helpers json_out.c writes every hashed value with, then the two inline writers; the other
 * sinks (and keys too long for one word) go through the functions after them.
 */

/* A value begins: in an array, after the first, its comma. */
static inline void jo_hash_begin_value(json_out *o)
{
    int d = o->depth - 1;
    if (d >= 0 && !o->in_object[d] && o->members[d]++)
        o->bytes++;
}

/* A member's key, whose compact text (quotes included) is text_bytes long, is hashed next. */
static inline void jo_hash_key_begin(json_out *o, uint64_t text_bytes)
{
    int d = o->depth - 1;
    assert(d >= 0 && o->in_object[d]);
    if (o->members[d]++)
        o->bytes++;
    o->bytes += text_bytes + 1;
}

/* A number, whose text is text_bytes long. */
static inline void jo_hash_number(json_out *o, double d, uint64_t text_bytes)
{
    o->bytes += text_bytes;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    o->hash = hash64_u64(hash64_u64(o->hash, '#'), bits);
    jo_hash_begin_value(o);
}

void jo_key_static_sink(json_out *o, const char *key, size_t len);
void jo_int_sink(json_out *o, int64_t v);

static inline void jo_key_static(json_out *o, const char *key, size_t len)
{
    if (o->sink == JSON_OUT_HASH && len < 8) {   /* hash64_str's input, the terminator included */
        jo_hash_key_begin(o, len + 2);
        o->hash = hash64_short(o->hash, key, len + 1);
    } else {
        jo_key_static_sink(o, key, len);
    }
}

static inline void jo_int(json_out *o, int64_t v)
{
    if (o->sink == JSON_OUT_HASH && v > -(INT64_C(1) << 53) && v < INT64_C(1) << 53)
        jo_hash_number(o, (double)v, json_int_length(v));   /* (double)v is v: the same text */
    else
        jo_int_sink(o, v);
}

#endif
