/*
 * path: the few file-system questions the loaders ask: a path's directory,
 * whether a path is a regular file or a directory, and how to get from one
 * directory to a file.
 */
#ifndef BASE_PATH_H
#define BASE_PATH_H

#include "base/arena.h"

#include <stdbool.h>

/* The directory part of path ("." when it has none, "/" for a file at the root), in a. */
char *path_dir(arena *a, const char *path);
bool path_is_file(const char *path);
/*
 * The relative path from directory from_dir to target, both absolute and
 * canonical (realpath's), in a: "x.yaml", "../profiles/x.yaml"; "." when
 * they are the same.
 */
char *path_relative(arena *a, const char *from_dir, const char *target);
bool path_is_dir(const char *path);

#endif
