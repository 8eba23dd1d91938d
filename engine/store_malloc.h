/*
 * store_malloc: the memory SQLite allocates, from free lists by size class
 * instead of malloc and free each time (store_malloc.c says why). Only how
 * fast SQLite's memory comes and goes changes: nothing a replica does.
 */
#ifndef ENGINE_STORE_MALLOC_H
#define ENGINE_STORE_MALLOC_H

#include <stdbool.h>

/* 1 in a build with a sanitizer that watches malloc's blocks: there the allocator stays malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define STORE_MALLOC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define STORE_MALLOC_SANITIZED 1
#endif
#endif
#ifndef STORE_MALLOC_SANITIZED
#define STORE_MALLOC_SANITIZED 0
#endif

/* Give SQLite this allocator; before SQLite is initialised (store_library_setup). False when it
 * was not installed: SQLite was initialised already, or a sanitizer build keeps malloc's blocks
 * for the sanitizer to watch. */
bool store_malloc_install(void);

#endif
