/*
 * arena: chunked bump allocation. Invariant: head->used <= head->size, and
 * every pointer handed out lies in exactly one chunk of the list. arena_alloc's
 * blocks start 16-byte aligned; strings are packed at any offset.
 */
#include "base/arena.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct arena_chunk {
    arena_chunk *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

void arena_init(arena *a, size_t chunk_bytes)
{
    a->head = NULL;
    a->chunk_bytes = chunk_bytes ? chunk_bytes : 16384;
}

static arena_chunk *chunk_new(size_t size, arena_chunk *next)
{
    arena_chunk *c = xmalloc(sizeof *c + size);
    c->next = next;
    c->size = size;
    c->used = 0;
    return c;
}

/* size bytes at an offset that is a multiple of align (a power of two), not zeroed: from the head
 * chunk when they fit, else from a new one (a large request gets a chunk of its own). */
static void *bump(arena *a, size_t size, size_t align)
{
    arena_chunk *c = a->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->size || c->size - at < size) {
        if (size > a->chunk_bytes / 4) {
            /* Large: its own chunk, linked behind the head so the head keeps filling. */
            arena_chunk *big = chunk_new(size, NULL);
            if (c) {
                big->next = c->next;
                c->next = big;
            } else {
                a->head = big;
            }
            big->used = size;
            return big->data;
        }
        c = chunk_new(a->chunk_bytes, a->head);
        a->head = c;
        at = 0;
    }
    c->used = at + size;
    return c->data + at;
}

void *arena_alloc(arena *a, size_t size)
{
    size = (size + 15u) & ~(size_t)15u;
    if (size == 0)
        size = 16;
    void *p = bump(a, size, 16);
    memset(p, 0, size);
    return p;
}

/* A string needs no alignment and no zeroing: every byte is written. */
char *arena_strndup(arena *a, const char *s, size_t len)
{
    char *p = bump(a, len + 1, 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(arena *a, const char *fmt, ...)
{
    /* Most strings fit the stack buffer; longer ones are formatted a second time. */
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    if ((size_t)n < sizeof small)
        return arena_strndup(a, small, (size_t)n);
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_reset(arena *a)
{
    if (!a->head)
        return;
    /* Keep the most recently made full-size chunk; free the rest. */
    arena_chunk *keep = NULL;
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        if (!keep && c->size == a->chunk_bytes)
            keep = c;
        else
            xfree(c);
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
}

void arena_release(arena *a)
{
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        xfree(c);
    }
    a->head = NULL;
}
