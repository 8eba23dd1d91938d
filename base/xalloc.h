/*
 * xalloc: the one place every heap allocation of syncsim goes through.
 *
 * A simulator has no useful way to continue after the host runs out of
 * memory, so these never return NULL: they print the size asked for and
 * abort. Routing everything (cJSON included, see xalloc_install_cjson) through
 * here also gives tests one switch to count allocations.
 */
#ifndef BASE_XALLOC_H
#define BASE_XALLOC_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
void xfree(void *ptr);

/* Grow *items (of item_size bytes each) so that it holds at least need items. */
void xgrow(void *items_ptr, size_t *cap, size_t need, size_t item_size);

/* Make cJSON allocate through xmalloc/xfree. Call once, before any cJSON use. */
void xalloc_install_cjson(void);

/* Number of allocations made so far (for tests and benchmarks). */
uint64_t xalloc_count(void);

#endif
