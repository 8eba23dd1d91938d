/*
 * xalloc: abort-on-failure allocation wrappers. See xalloc.h.
 */
#include "base/xalloc.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void *cjson_malloc(size_t size)
{
    return xmalloc(size);
}

void xalloc_install_cjson(void)
{
    cJSON_Hooks hooks = { .malloc_fn = cjson_malloc, .free_fn = xfree };
    cJSON_InitHooks(&hooks);
}

uint64_t xalloc_count(void)
{
    return allocations;
}
