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
uint64_t hash64_u64(uint64_t h, uint64_t v);      /* little-endian bytes of v */

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
