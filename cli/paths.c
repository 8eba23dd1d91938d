/*
 * paths: see paths.h.
 */
#include "cli/paths.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/xalloc.h"
#include "sim/profile_load.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SYNCSIM_DATA_FROM_BIN
#define SYNCSIM_DATA_FROM_BIN "../share/syncsim"   /* meson.build passes the configured one */
#endif

const char *paths_data_dir(void)
{
    static bool looked;
    static char dir[PATH_MAX];
    if (looked)
        return dir[0] ? dir : NULL;
    looked = true;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    buf candidate;
    buf_init(&candidate);
    if (SYNCSIM_DATA_FROM_BIN[0] == '/') {
        buf_puts(&candidate, SYNCSIM_DATA_FROM_BIN);
    } else {
        char *slash = strrchr(exe, '/');
        buf_printf(&candidate, "%.*s/%s", slash ? (int)(slash - exe) : 1, slash ? exe : ".", SYNCSIM_DATA_FROM_BIN);
    }
    /* Installed means the profiles are there too: a build tree has no share/syncsim beside its binary. */
    buf profiles;
    buf_init(&profiles);
    buf_printf(&profiles, "%s/scenarios/profiles", candidate.data);
    if (!path_is_dir(profiles.data) || !realpath(candidate.data, dir))
        dir[0] = '\0';
    buf_free(&profiles);
    buf_free(&candidate);
    return dir[0] ? dir : NULL;
}

void paths_setup_profiles(void)
{
    profile_place places[64];
    int n = 0;
    const char *env = getenv("SYNCSIM_PATH");
    char *copy = env ? xstrdup(env) : NULL;
    for (char *save = NULL, *part = copy ? strtok_r(copy, ":", &save) : NULL; part && n < 63;
         part = strtok_r(NULL, ":", &save))
        places[n++] = (profile_place){ part, "$SYNCSIM_PATH" };
    const char *data = paths_data_dir();
    buf installed;
    buf_init(&installed);
    if (data) {
        buf_printf(&installed, "%s/scenarios/profiles", data);
        places[n++] = (profile_place){ installed.data, "installed" };
    }
    const char *note = NULL;
    if (!env && !data)
        note = "SYNCSIM_PATH is not set and this syncsim is not installed: set SYNCSIM_PATH to directories of "
               "profile files (such as the source tree's scenarios/profiles), or give the profile's path";
    else if (!env)
        note = "SYNCSIM_PATH is not set (directories of profile files, searched before the installed ones)";
    profile_search_set(places, n, note);
    buf_free(&installed);
    xfree(copy);
}
