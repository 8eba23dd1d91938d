/*
 * hash: a 64-bit streaming hash (MurmurHash3's block step, word at a time)
 * and two small open-addressing maps.
 * Invariant of both maps: count < cap * 3/4, so probing always ends.
 */
#include "base/hash.h"
#include "base/xalloc.h"

#include <string.h>

/*
 * Eight bytes at a time; words are assembled from bytes, so the hash is the
 * same on machines of either byte order. The length goes in last, so inputs
 * that differ only in trailing zero bytes differ.
 */
uint64_t hash64_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = (uint64_t)p[i] | (uint64_t)p[i + 1] << 8 | (uint64_t)p[i + 2] << 16 | (uint64_t)p[i + 3] << 24 |
                     (uint64_t)p[i + 4] << 32 | (uint64_t)p[i + 5] << 40 | (uint64_t)p[i + 6] << 48 |
                     (uint64_t)p[i + 7] << 56;
        h = hash64_absorb(h, w);
    }
    uint64_t tail = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* The same word, loaded: in memory order a little-endian word is the bytes assembled below.
     * Most of what is hashed is a short key or id, which is all tail. Fixed-size copies are single
     * loads; a copy of len - i bytes would be a call. */
    const unsigned char *q = p + i;
    size_t n = len - i;
    unsigned shift = 0;
    if (n & 4) {
        uint32_t w;
        memcpy(&w, q, 4);
        tail = w;
        q += 4;
        shift = 32;
    }
    if (n & 2) {
        uint16_t w;
        memcpy(&w, q, 2);
        tail |= (uint64_t)w << shift;
        q += 2;
        shift += 16;
    }
    if (n & 1)
        tail |= (uint64_t)*q << shift;
#else
    for (size_t k = 0; i + k < len; k++)
        tail |= (uint64_t)p[i + k] << (8 * k);
#endif
    h = hash64_absorb(h, tail);
    return hash64_absorb(h, (uint64_t)len);
}

uint64_t hash64_str(uint64_t h, const char *s)
{
    return hash64_bytes(h, s, strlen(s) + 1);
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
    /* Every bit of the key must reach the low bits the mask keeps. Keys here are write ids and
     * (node, record) pairs: a node in the high word, a small counter in the low one. A plain
     * multiply only carries high key bits upwards, so the node barely moved the slot, and
     * the same counter of a hundred devices probed one cluster (a week-100 slice spent 5% of
     * its instructions in these probes). The splitmix64 finaliser mixes both words into all. */
    uint64_t x = key;
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    size_t i = (size_t)x & mask;
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
