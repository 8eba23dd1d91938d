/*
 * path: the few file-system questions the loaders ask: a path's directory,
 * and whether a path is a regular file or a directory.
 */
#ifndef BASE_PATH_H
#define BASE_PATH_H

#include "base/arena.h"

#include <stdbool.h>

/* The directory part of path ("." when it has none, "/" for a file at the root), in a. */
char *path_dir(arena *a, const char *path);
bool path_is_file(const char *path);
bool path_is_dir(const char *path);

#endif
