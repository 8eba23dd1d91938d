/*
 * paths: where an installed syncsim finds its data, and where profile names
 * are looked up beyond a scenario's own folders.
 *
 * `meson install` puts the binary in <prefix>/bin and the data in
 * <prefix>/share/syncsim: scenarios/ (profiles/ among them), reports/. The
 * binary finds the data from where it is itself (/proc/self/exe), along the
 * relative path from bindir to datadir the build was configured with, so an
 * installed tree keeps working when it is moved or staged with DESTDIR.
 */
#ifndef CLI_PATHS_H
#define CLI_PATHS_H

/* <prefix>/share/syncsim of this binary when it is installed, else NULL. Computed once. */
const char *paths_data_dir(void);
/*
 * Give the profile loader the places searched after a scenario's own
 * profiles/ folders: each directory of $SYNCSIM_PATH (colon-separated), then
 * the installed profiles (<data>/scenarios/profiles).
 */
void paths_setup_profiles(void);

#endif
