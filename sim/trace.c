/*
 * trace: event hashing and JSON-lines output. Every field is hashed with a
 * type tag and its key, so ("a", 12) and ("a1", 2) hash differently.
 *
 * Each function below hashes first, then prints; what it hashes is fixed by
 * the trace hashes of every shipped scenario and must not change with how a
 * line looks (see trace.h).
 */
#include "sim/trace.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/json_out.h"
#include "base/xalloc.h"
#include "engine/node.h"

#include <assert.h>
#include <math.h>
#include <string.h>

void trace_init(trace *t, FILE *out, bool keep_hashes)
{
    memset(t, 0, sizeof *t);
    t->hash = HASH64_INIT;
    t->out = out;
    t->keep_hashes = keep_hashes;
    buf_init(&t->line);
}

void trace_free(trace *t)
{
    buf_free(&t->line);
    xfree(t->hashes);
    t->hashes = NULL;
}

void trace_set_names(trace *t, const char *const *node_names, int n_nodes)
{
    assert(n_nodes >= 0 && (node_names || n_nodes == 0));
    t->node_names = node_names;
    t->n_nodes = n_nodes;
}

static void key_prefix(trace *t, const char *key)
{
    if (!t->out)
        return;
    buf_puts(&t->line, ",");
    buf_put_json_string(&t->line, key);
    buf_putc(&t->line, ':');
}

void trace_begin(trace *t, int64_t t_us, const char *kind)
{
    t->open_record = true;
    t->hash = hash64_u64(t->hash, (uint64_t)t_us);
    t->hash = hash64_str(t->hash, kind);
    if (t->out) {
        buf_clear(&t->line);
        buf_printf(&t->line, "{\"t\":%lld,\"ev\":", (long long)t_us);
        buf_put_json_string(&t->line, kind);
    }
}

/* keyed: trace_key_hash's for the member (trace.h). */
void trace_str_keyed(trace *t, uint64_t keyed, const char *key, const char *value)
{
    t->hash = hash64_str(keyed, value);
    if (t->out) {
        key_prefix(t, key);
        buf_put_json_string(&t->line, value);
    }
}

void trace_int_keyed(trace *t, uint64_t keyed, const char *key, int64_t value)
{
    t->hash = hash64_u64(keyed, (uint64_t)value);
    if (t->out) {
        key_prefix(t, key);
        buf_printf(&t->line, "%lld", (long long)value);
    }
}

void trace_bool_keyed(trace *t, uint64_t keyed, const char *key, bool value)
{
    t->hash = hash64_u64(keyed, value);
    if (t->out) {
        key_prefix(t, key);
        buf_puts(&t->line, value ? "true" : "false");
    }
}

uint64_t json_hash_and_size(const cJSON *v, uint64_t h, uint64_t *bytes)
{
    json_out o;
    json_out_hash(&o, h);
    jo_tree(&o, v);
    return json_out_result(&o, bytes);
}

void trace_json(trace *t, const char *key, const cJSON *value)
{
    t->hash = json_hash_and_size(value, hash64_str(hash64_u64(t->hash, 'j'), key), NULL);
    if (t->out) {
        key_prefix(t, key);
        json_write(&t->line, value);
    }
}

void trace_json_unhashed(trace *t, const char *key, const cJSON *value)
{
    if (!t->out)
        return;
    key_prefix(t, key);
    json_write(&t->line, value);
}

void trace_hex_keyed(trace *t, uint64_t keyed, const char *key, uint64_t value)
{
    t->hash = hash64_u64(keyed, value);
    if (t->out) {
        char hex[17];
        trace_hash_hex(value, hex);
        key_prefix(t, key);
        buf_printf(&t->line, "\"%s\"", hex);
    }
}

void trace_int_list(trace *t, const char *key, const uint64_t *values, int n)
{
    t->hash = hash64_u64(hash64_str(hash64_u64(t->hash, 'l'), key), (uint64_t)n);
    for (int i = 0; i < n; i++)
        t->hash = hash64_u64(t->hash, values[i]);
    if (t->out) {
        key_prefix(t, key);
        buf_putc(&t->line, '[');
        for (int i = 0; i < n; i++)
            buf_printf(&t->line, "%s%llu", i ? "," : "", (unsigned long long)values[i]);
        buf_putc(&t->line, ']');
    }
}

void trace_int_named(trace *t, const char *key, int64_t value, const char *print_key, const char *name)
{
    t->hash = hash64_u64(hash64_str(hash64_u64(t->hash, 'i'), key), (uint64_t)value);
    if (t->out) {
        assert(name);
        key_prefix(t, print_key);
        buf_put_json_string(&t->line, name);
    }
}

/* "phone:3" as sim/check.c names writes; null for no write. An id naming no replica (which the world never
 * makes) prints as its number, so that the line still says what was hashed. */
static void put_write_name(trace *t, uint64_t w)
{
    int node = WRITE_NODE(w);
    if (w == WRITE_NONE)
        buf_puts(&t->line, "null");
    else if (node >= 0 && node < t->n_nodes)
        buf_printf(&t->line, "\"%s:%u\"", t->node_names[node], WRITE_COUNTER(w));
    else
        buf_printf(&t->line, "%llu", (unsigned long long)w);
}

void trace_write(trace *t, const char *key, uint64_t w)
{
    t->hash = hash64_u64(hash64_str(hash64_u64(t->hash, 'i'), key), w);
    if (t->out) {
        key_prefix(t, key);
        put_write_name(t, w);
    }
}

void trace_write_list(trace *t, const char *key, const uint64_t *ws, int n)
{
    t->hash = hash64_u64(hash64_str(hash64_u64(t->hash, 'l'), key), (uint64_t)n);
    for (int i = 0; i < n; i++)
        t->hash = hash64_u64(t->hash, ws[i]);
    if (t->out) {
        key_prefix(t, key);
        buf_putc(&t->line, '[');
        for (int i = 0; i < n; i++) {
            if (i)
                buf_putc(&t->line, ',');
            put_write_name(t, ws[i]);
        }
        buf_putc(&t->line, ']');
    }
}

void trace_node_list(trace *t, const char *key, const char *print_key, const int *nodes, int n)
{
    for (int i = 0; i < n; i++) {
        assert(nodes[i] >= 0 && nodes[i] < t->n_nodes);
        t->hash = hash64_str(hash64_str(hash64_u64(t->hash, 's'), key), t->node_names[nodes[i]]);
    }
    if (t->out) {
        key_prefix(t, print_key);
        buf_putc(&t->line, '[');
        for (int i = 0; i < n; i++) {
            if (i)
                buf_putc(&t->line, ',');
            buf_put_json_string(&t->line, t->node_names[nodes[i]]);
        }
        buf_putc(&t->line, ']');
    }
}

void trace_end(trace *t)
{
    t->open_record = false;
    t->events++;
    if (t->keep_hashes) {
        xgrow(&t->hashes, &t->cap_hashes, (size_t)t->events, sizeof *t->hashes);
        t->hashes[t->events - 1] = t->hash;
    }
    if (t->out) {
        buf_puts(&t->line, "}\n");
        fwrite(t->line.data, 1, t->line.len, t->out);
    }
}

void trace_hash_hex(uint64_t hash, char out[17])
{
    static const char HEX[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        out[i] = HEX[(hash >> (60 - 4 * i)) & 0xf];
    out[16] = '\0';
}
