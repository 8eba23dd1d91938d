/*
 * arena: a bump allocator for objects that share one lifetime.
 *
 * The scenario keeps every string it parsed in one arena and frees them at
 * once; the engine resets a scratch arena after each event it handles, so no
 * handler has to free what it decoded. Memory is handed out in chunks; an
 * allocation larger than a chunk gets a chunk of its own.
 */
#ifndef BASE_ARENA_H
#define BASE_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk;

typedef struct arena {
    arena_chunk *head;      /* chunk being filled; older chunks follow */
    size_t chunk_bytes;     /* default chunk payload size */
} arena;

void arena_init(arena *a, size_t chunk_bytes);
/* Zeroed, 16-byte aligned memory that lives until arena_reset/arena_release. */
void *arena_alloc(arena *a, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t len);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forget every allocation but keep the first chunk for reuse. */
void arena_reset(arena *a);
/* Free all memory. The arena may be initialised again. */
void arena_release(arena *a);

#endif
