/*
 * body_cache: a store's record bodies by key, in memory beside its records table.
 *
 * A replica reads a record's stored body before nearly every write of it (the pulled record
 * against the one it has, the user's change on top of the current state): two B-tree seeks and a
 * row read in SQLite each time. The cache answers those reads from what the store itself wrote or
 * read before. It holds, per (type, id), the body the table holds now -- or that the table holds no
 * such row -- and it is only ever told what a statement that succeeded did, so it never answers
 * differently from the table. Anything that may change the table behind it (a rolled-back
 * transaction, a power loss, a wipe) empties it whole (store.c).
 *
 * Lookup only: nothing iterates it, so its layout can never reach what a replica does.
 */
#ifndef ENGINE_BODY_CACHE_H
#define ENGINE_BODY_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct body_slot body_slot;

/* A bound on one store's cached bodies: week-100's largest store (the server's) holds about 3 MiB. */
#define BODY_CACHE_BYTES_MAX ((size_t)64 << 20)

typedef struct body_cache {
    body_slot *slots;
    size_t cap;      /* a power of two, or 0 */
    size_t count;    /* slots in use; invariant: count < cap * 3/4 */
    size_t bytes;    /* bodies held; past BODY_CACHE_BYTES_MAX the cache starts over empty */
} body_cache;

typedef enum body_state {
    BODY_UNKNOWN,    /* not cached: ask the table */
    BODY_ABSENT,     /* the table has no such row */
    BODY_PRESENT,    /* the table's body is *body, *len bytes (valid until the next change) */
} body_state;

void body_cache_init(body_cache *c);
void body_cache_free(body_cache *c);
/* Forget everything (the table may have changed behind the cache). */
void body_cache_clear(body_cache *c);
body_state body_cache_get(const body_cache *c, const char *type, const char *id, const void **body, size_t *len);
/* The row is now this body (copied), or absent when body is NULL. */
void body_cache_set(body_cache *c, const char *type, const char *id, const void *body, size_t len);

#endif
