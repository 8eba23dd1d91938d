/*
 * xalloc: abort-on-failure allocation wrappers. See xalloc.h.
 */
#include "base/xalloc.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Only counts; never influences a simulation, so it may be process-global. */
static uint64_t allocations;

static void out_of_memory(size_t size)
{
    fprintf(stderr, "syncsim: out of memory (asked for %zu bytes)\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        out_of_memory(size);
    allocations++;
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    allocations++;
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        out_of_memory(size);
    allocations++;
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void xfree(void *ptr)
{
    free(ptr);
}

void xgrow(void *items_ptr, size_t *cap, size_t need, size_t item_size)
{
    void **items = items_ptr;
    if (need <= *cap)
        return;
    size_t next = *cap ? *cap * 2 : 8;
    while (next < need)
        next *= 2;
    *items = xrealloc(*items, next * item_size);
    *cap = next;
}

/*
 * cJSON's nodes. A message is a tree of cJSON nodes, each allocated once and freed once, and a run
 * makes millions: malloc and free of them were a quarter of a long run's instructions, most of it
 * glibc moving freed nodes between its caches. Nodes come from a free list instead, carved from
 * one region of address space reserved up front (pages are only backed once touched), so a block
 * is a node if its address is in the region: no header, nothing else changes size. Every other
 * size (strings, printed text) goes to malloc. Under AddressSanitizer every block goes to malloc,
 * so that a use after free of a node is still caught; so does everything if the region cannot be
 * reserved or fills up.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CJSON_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CJSON_POOL 0
#endif
#endif
#ifndef CJSON_POOL
#define CJSON_POOL 1
#endif

#define NODE_REGION_BYTES ((size_t)1 << 34)   /* 16 GiB of addresses: 268 million nodes */

typedef struct pooled_node {
    struct pooled_node *next;
} pooled_node;

static char *region, *region_next, *region_end;
static pooled_node *free_nodes;

static void *cjson_malloc(size_t size)
{
    if (CJSON_POOL && size == sizeof(cJSON)) {
        if (free_nodes) {
            pooled_node *n = free_nodes;
            free_nodes = n->next;
            allocations++;
            return n;
        }
        if (!region) {
            void *p = mmap(NULL, NODE_REGION_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                           -1, 0);
            region = p == MAP_FAILED ? (char *)&region : p;   /* an empty region: malloc from now on */
            region_next = region;
            region_end = p == MAP_FAILED ? region : region + NODE_REGION_BYTES;
        }
        if (region_end - region_next >= (ptrdiff_t)sizeof(cJSON)) {
            void *n = region_next;
            region_next += sizeof(cJSON);
            allocations++;
            return n;
        }
    }
    return xmalloc(size);
}

static void cjson_free(void *ptr)
{
    /* As integers: pointers into different objects do not compare in C. */
    uintptr_t at = (uintptr_t)ptr;
    if (at >= (uintptr_t)region && at < (uintptr_t)region_next) {
        pooled_node *n = ptr;
        n->next = free_nodes;
        free_nodes = n;
    } else {
        xfree(ptr);
    }
}

void xalloc_install_cjson(void)
{
    cJSON_Hooks hooks = { .malloc_fn = cjson_malloc, .free_fn = cjson_free };
    cJSON_InitHooks(&hooks);
}

uint64_t xalloc_count(void)
{
    return allocations;
}
