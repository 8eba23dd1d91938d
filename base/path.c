/*
 * path: see path.h.
 */
#include "base/path.h"

#include <string.h>
#include <sys/stat.h>

char *path_dir(arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return arena_strdup(a, ".");
    if (slash == path)
        return arena_strdup(a, "/");
    return arena_strndup(a, path, (size_t)(slash - path));
}

bool path_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool path_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *path_relative(arena *a, const char *from_dir, const char *target)
{
    /* The longest common run of whole components. */
    size_t common = 0;
    for (size_t i = 0;; i++) {
        char f = from_dir[i], t = target[i];
        bool f_end = f == '\0' || f == '/', t_end = t == '\0' || t == '/';
        if (f_end && t_end)
            common = i;
        if (f != t || f == '\0')
            break;
    }
    const char *rest = target + common;
    while (*rest == '/')
        rest++;
    size_t ups = 0;
    for (const char *p = from_dir + common; *p; p++)
        if (*p == '/' && p[1] != '\0' && p[1] != '/')
            ups++;
    size_t len = ups * 3 + strlen(rest) + 2;
    char *out = arena_alloc(a, len);
    out[0] = '\0';
    for (size_t i = 0; i < ups; i++)
        strcat(out, i + 1 < ups || *rest ? "../" : "..");
    strcat(out, rest);
    if (!*out)
        strcpy(out, ".");
    return out;
}
