/*
 * hash: FNV-1a and two small open-addressing maps.
 * Invariant of both maps: count < cap * 3/4, so probing always ends.
 */
#include "base/hash.h"
#include "base/xalloc.h"

#include <string.h>

#define FNV_PRIME UINT64_C(0x100000001b3)

uint64_t hash64_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t hash64_str(uint64_t h, const char *s)
{
    return hash64_bytes(h, s, strlen(s) + 1);
}

uint64_t hash64_u64(uint64_t h, uint64_t v)
{
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)(v >> (8 * i));
    return hash64_bytes(h, bytes, 8);
}

void strmap_init(strmap *m)
{
    memset(m, 0, sizeof *m);
}

void strmap_free(strmap *m)
{
    xfree(m->keys);
    xfree(m->values);
    xfree(m->hashes);
    strmap_init(m);
}

static size_t strmap_slot(const strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    while (m->keys[i] && !(m->hashes[i] == h && strcmp(m->keys[i], key) == 0))
        i = (i + 1) & mask;
    return i;
}

int strmap_get(const strmap *m, const char *key)
{
    if (m->cap == 0)
        return -1;
    size_t i = strmap_slot(m, key, hash64_str(HASH64_INIT, key));
    return m->keys[i] ? m->values[i] : -1;
}

static void strmap_rehash(strmap *m, size_t cap)
{
    strmap old = *m;
    m->cap = cap;
    m->count = 0;
    m->keys = xcalloc(cap, sizeof *m->keys);
    m->values = xcalloc(cap, sizeof *m->values);
    m->hashes = xcalloc(cap, sizeof *m->hashes);
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            strmap_put(m, old.keys[i], old.values[i]);
    xfree(old.keys);
    xfree(old.values);
    xfree(old.hashes);
}

void strmap_put(strmap *m, const char *key, int value)
{
    if ((m->count + 1) * 4 >= m->cap * 3)
        strmap_rehash(m, m->cap ? m->cap * 2 : 16);
    uint64_t h = hash64_str(HASH64_INIT, key);
    size_t i = strmap_slot(m, key, h);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->hashes[i] = h;
        m->count++;
    }
    m->values[i] = value;
}

#define U64_EMPTY UINT64_MAX

void u64map_init(u64map *m)
{
    memset(m, 0, sizeof *m);
}

void u64map_free(u64map *m)
{
    xfree(m->keys);
    xfree(m->values);
    u64map_init(m);
}

static size_t u64_slot(const u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    /* Fibonacci hashing spreads sequential keys. */
    size_t i = (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 20) & mask;
    while (m->keys[i] != U64_EMPTY && m->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

int u64map_get(const u64map *m, uint64_t key)
{
    if (m->cap == 0)
        return -1;
    size_t i = u64_slot(m, key);
    return m->keys[i] == key ? m->values[i] : -1;
}

static void u64map_rehash(u64map *m, size_t cap)
{
    u64map old = *m;
    m->cap = cap;
    m->count = 0;
    m->keys = xmalloc(cap * sizeof *m->keys);
    for (size_t i = 0; i < cap; i++)
        m->keys[i] = U64_EMPTY;
    m->values = xcalloc(cap, sizeof *m->values);
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i] != U64_EMPTY)
            u64map_put(m, old.keys[i], old.values[i]);
    xfree(old.keys);
    xfree(old.values);
}

void u64map_put(u64map *m, uint64_t key, int value)
{
    if ((m->count + 1) * 4 >= m->cap * 3)
        u64map_rehash(m, m->cap ? m->cap * 2 : 16);
    size_t i = u64_slot(m, key);
    if (m->keys[i] != key) {
        m->keys[i] = key;
        m->count++;
    }
    m->values[i] = value;
}
