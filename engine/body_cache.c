/*
 * body_cache: open addressing on (type, id), linear probing. Removal never happens (a removed row
 * is cached as absent), so probing needs no tombstones.
 */
#include "engine/body_cache.h"
#include "base/hash.h"
#include "base/xalloc.h"

#include <stdbool.h>
#include <string.h>

struct body_slot {
    char *type;              /* owned; NULL: the slot is free */
    char *id;                /* owned */
    uint64_t hash;
    bool present;
    unsigned char *body;     /* owned; NULL when absent */
    size_t len;
};

/* The streaming hash, finished with splitmix64's finaliser: its last step leaves the low bits the
 * mask keeps poorly mixed, and keys that differ in a digit probed long runs of slots. */
static uint64_t key_hash(const char *type, const char *id)
{
    uint64_t x = hash64_str(hash64_str(HASH64_INIT, type), id);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static size_t find(const body_cache *c, uint64_t hash, const char *type, const char *id)
{
    size_t mask = c->cap - 1;
    size_t i = (size_t)hash & mask;
    while (c->slots[i].type &&
           (c->slots[i].hash != hash || strcmp(c->slots[i].type, type) != 0 || strcmp(c->slots[i].id, id) != 0))
        i = (i + 1) & mask;
    return i;
}

void body_cache_init(body_cache *c)
{
    memset(c, 0, sizeof *c);
}

void body_cache_clear(body_cache *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        body_slot *s = &c->slots[i];
        if (!s->type)
            continue;
        xfree(s->type);
        xfree(s->id);
        xfree(s->body);
        memset(s, 0, sizeof *s);
    }
    c->count = 0;
    c->bytes = 0;
}

void body_cache_free(body_cache *c)
{
    body_cache_clear(c);
    xfree(c->slots);
    body_cache_init(c);
}

body_state body_cache_get(const body_cache *c, const char *type, const char *id, const void **body, size_t *len)
{
    if (c->count == 0)
        return BODY_UNKNOWN;
    const body_slot *s = &c->slots[find(c, key_hash(type, id), type, id)];
    if (!s->type)
        return BODY_UNKNOWN;
    if (!s->present)
        return BODY_ABSENT;
    *body = s->body;
    *len = s->len;
    return BODY_PRESENT;
}

static void grow(body_cache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 64;
    body_slot *old = c->slots;
    size_t old_cap = c->cap;
    c->slots = xcalloc(cap, sizeof *c->slots);
    c->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].type)
            c->slots[find(c, old[i].hash, old[i].type, old[i].id)] = old[i];
    xfree(old);
}

void body_cache_set(body_cache *c, const char *type, const char *id, const void *body, size_t len)
{
    if (body && c->bytes + len > BODY_CACHE_BYTES_MAX)
        body_cache_clear(c);   /* a bound, not an eviction policy: the table answers what is not here */
    if ((c->count + 1) * 4 >= c->cap * 3)
        grow(c);
    uint64_t hash = key_hash(type, id);
    body_slot *s = &c->slots[find(c, hash, type, id)];
    if (!s->type) {
        s->type = xstrdup(type);
        s->id = xstrdup(id);
        s->hash = hash;
        c->count++;
    }
    c->bytes -= s->len;
    s->present = body != NULL;
    if (!body) {
        xfree(s->body);
        s->body = NULL;
        s->len = 0;
        return;
    }
    s->body = xrealloc(s->body, len ? len : 1);
    memcpy(s->body, body, len);
    s->len = len;
    c->bytes += len;
}
