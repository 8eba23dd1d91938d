/*
 * trace: the record of a run. Every simulated event is folded into a 64-bit
 * hash (base/hash.h's, over a canonical encoding of its fields and of any
 * message it carries) and, when a trace file is open, written as one JSON
 * line.
 *
 * The hash never depends on how lines are printed: both are fed from the
 * same calls, so a trace file and the trace hash describe the same events.
 * When per-event hashes are kept, two runs can be compared event by event
 * to name the first one that differs.
 *
 * Printing may show a value differently from how it is hashed, never the
 * other way round: write ids are hashed as the integers they are and printed
 * as findings name them ("phone:3"); a link direction or a timer is hashed as
 * its number and printed as its name; the nodes of a step are hashed as one
 * "node" field each (as they always were) and printed as one "nodes" array,
 * so that no line has a key twice. Trace hashes therefore do not change when
 * the printed form does.
 */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include "base/buf.h"
#include "base/hash.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct trace {
    uint64_t hash;           /* running hash over every event so far */
    uint64_t events;         /* events recorded */
    FILE *out;               /* JSON lines, or NULL */
    buf line;                /* the line being built */
    bool open_record;
    const char *const *node_names; /* by node index, borrowed: how write ids and node lists print */
    int n_nodes;
    bool keep_hashes;        /* record the running hash after every event */
    uint64_t *hashes;
    size_t cap_hashes;
} trace;

void trace_init(trace *t, FILE *out, bool keep_hashes);
void trace_free(trace *t);
/* The replicas' names by node index (the server is 0), borrowed for the trace's lifetime. */
void trace_set_names(trace *t, const char *const *node_names, int n_nodes);

/* Start an event at true time t_us of the given kind ("deliver", "op", ...). */
void trace_begin(trace *t, int64_t t_us, const char *kind);
static inline void trace_str(trace *t, const char *key, const char *value);
static inline void trace_int(trace *t, const char *key, int64_t value);
static inline void trace_bool(trace *t, const char *key, bool value);
/* A JSON value: hashed structurally; printed only when a file is open. */
void trace_json(trace *t, const char *key, const cJSON *value);
/* Print a JSON value without hashing it: for content already hashed under another key. */
void trace_json_unhashed(trace *t, const char *key, const cJSON *value);
/* A 64-bit id or hash, printed as 16 hex digits. */
static inline void trace_hex(trace *t, const char *key, uint64_t value);
/* A list of integers, printed as a JSON array. */
void trace_int_list(trace *t, const char *key, const uint64_t *values, int n);
/*
 * An integer printed as a name: hashed exactly as trace_int(key, value), printed as
 * print_key: name. For values whose number means nothing to a reader (a link
 * direction, a timer token). name may be NULL when no file is open.
 */
void trace_int_named(trace *t, const char *key, int64_t value, const char *print_key, const char *name);
/* A write id (engine/node.h): hashed as trace_int, printed as "phone:3", or null for none. */
void trace_write(trace *t, const char *key, uint64_t w);
/* Write ids: hashed as trace_int_list, printed as an array of names (null for none). */
void trace_write_list(trace *t, const char *key, const uint64_t *ws, int n);
/*
 * Several nodes: hashed as one trace_str(key, name) each, in order, printed as
 * print_key: [names...]. A JSON object cannot hold a key twice.
 */
void trace_node_list(trace *t, const char *key, const char *print_key, const int *nodes, int n);
void trace_end(trace *t);

/*
 * A member's tag and key into the running hash, inline: keys are string literals, so the compiler
 * folds their length and bytes (hash64_short), and the members nearly every event has (below)
 * pay no strlen and no call for their keys. The rest of each member is trace.c's.
 */
static inline uint64_t trace_key_hash(const trace *t, char tag, const char *key)
{
    size_t len = strlen(key) + 1;   /* hash64_str's input: the terminator included */
    uint64_t h = hash64_u64(t->hash, (uint64_t)tag);
    return len <= 8 ? hash64_short(h, key, len) : hash64_bytes(h, key, len);
}

void trace_str_keyed(trace *t, uint64_t keyed, const char *key, const char *value);
void trace_int_keyed(trace *t, uint64_t keyed, const char *key, int64_t value);
void trace_bool_keyed(trace *t, uint64_t keyed, const char *key, bool value);
void trace_hex_keyed(trace *t, uint64_t keyed, const char *key, uint64_t value);

static inline void trace_str(trace *t, const char *key, const char *value)
{
    trace_str_keyed(t, trace_key_hash(t, 's', key), key, value);
}

static inline void trace_int(trace *t, const char *key, int64_t value)
{
    trace_int_keyed(t, trace_key_hash(t, 'i', key), key, value);
}

static inline void trace_bool(trace *t, const char *key, bool value)
{
    trace_bool_keyed(t, trace_key_hash(t, 'b', key), key, value);
}

static inline void trace_hex(trace *t, const char *key, uint64_t value)
{
    trace_hex_keyed(t, trace_key_hash(t, 'x', key), key, value);
}

/* 16 lowercase hex digits. */
void trace_hash_hex(uint64_t hash, char out[17]);

/*
 * Hash a JSON tree and measure the bytes of its compact encoding in one walk
 * (json_out's hash sink). Used for message bytes in the metrics and for the trace hash.
 */
uint64_t json_hash_and_size(const cJSON *value, uint64_t hash, uint64_t *bytes);

#endif
