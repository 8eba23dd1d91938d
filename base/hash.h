/*
 * hash: 64-bit streaming hashing, used for the trace hash, stream derivation
 * and lookup tables. Never used to order anything: tables are looked up, and
 * iterated only through separate arrays kept in insertion order. Defined on
 * bytes, not on machine words, so every machine computes the same hashes.
 */
#ifndef BASE_HASH_H
#define BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH64_INIT UINT64_C(0xcbf29ce484222325)   /* any fixed start; FNV's offset basis */

uint64_t hash64_bytes(uint64_t h, const void *data, size_t len);
uint64_t hash64_str(uint64_t h, const char *s);   /* includes a terminator byte */

/* One word into the state (MurmurHash3's 64-bit block step). Inline: the trace hash absorbs a word
 * per JSON token of every message, and a call cost more than the step. */
static inline uint64_t hash64_absorb(uint64_t h, uint64_t w)
{
    w *= UINT64_C(0x87c37b91114253d5);
    w = (w << 31) | (w >> 33);
    w *= UINT64_C(0x4cf5ad432745937f);
    h ^= w;
    h = (h << 27) | (h >> 37);
    return h * 5 + UINT64_C(0x52dce729);
}

/* The little-endian bytes of v. */
static inline uint64_t hash64_u64(uint64_t h, uint64_t v)
{
    return hash64_absorb(h, v);
}

/* hash64_bytes of at most 8 bytes, inline: with a constant len and a string literal the compiler
 * folds the load, so a literal key costs two or three steps and no call. */
static inline uint64_t hash64_short(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t w = 0;
    for (size_t k = 0; k < len; k++)
        w |= (uint64_t)p[k] << (8 * k);
    if (len == 8)   /* hash64_bytes: a whole word, then an empty tail */
        h = hash64_absorb(hash64_absorb(h, w), 0);
    else
        h = hash64_absorb(h, w);
    return hash64_absorb(h, (uint64_t)len);
}

/*
 * strmap: string -> int index map with open addressing. Keys are borrowed
 * (the caller keeps them alive). Values are the caller's indexes, so
 * iteration in insertion order is done over the caller's own array.
 */
typedef struct strmap {
    const char **keys;
    int *values;
    uint64_t *hashes;
    size_t cap;      /* power of two, or 0 */
    size_t count;
} strmap;

void strmap_init(strmap *m);
void strmap_free(strmap *m);
/* Returns the value, or -1 when absent. */
int strmap_get(const strmap *m, const char *key);
/* Inserts or replaces. */
void strmap_put(strmap *m, const char *key, int value);

/* u64map: uint64 key (never UINT64_MAX) -> int value, same rules. */
typedef struct u64map {
    uint64_t *keys;
    int *values;
    size_t cap;
    size_t count;
} u64map;

void u64map_init(u64map *m);
void u64map_free(u64map *m);
int u64map_get(const u64map *m, uint64_t key);
void u64map_put(u64map *m, uint64_t key, int value);

#endif
