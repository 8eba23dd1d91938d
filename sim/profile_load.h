/*
 * profile_load: reading profile YAML into the engine's profile struct.
 *
 *   name: lww-device-clock
 *   description: plain last-write-wins on the device's wall clock
 *   accepts: [silent-overwrite]          # classes this design accepts by design
 *   sync:
 *     interval: 5m                       # or never
 *     after_write: 2s                    # or never
 *     on_reconnect: true
 *     push_batch: 50
 *     pull_page: 100
 *     request_timeout: 10s
 *     retry: { schedule: [1s, 2s, 5s], then: repeat-last }   # or stop
 *     idempotency: true
 *     ids: client                        # or server: temporary ids the server maps to its own
 *     wire: syncsim                      # or a seed design's own messages: activity-events,
 *                                        # ironflow, stronglog, smartdmv, delta-sync (engine/wire.h)
 *   conflicts:
 *     strategy: lww-device-clock         # the default for every entity type
 *     grain: record                      # or field
 *     on_delete: strategy                # or delete-wins, edit-wins
 *     counters: crdt                     # or absolute: an increment writes the new total; max;
 *                                        # ops: the delta travels and the server adds it
 *     events: { order: occurred, dedup: true }   # order: or server (receive time first)
 *     types:
 *       workout: { strategy: server-wins }
 *
 * A scenario names a profile, gives a path, or writes the mapping inline.
 * A name is looked up as <name>.yaml in the scenario's own profiles/
 * folders (beside it, then in every directory above it), then in the places
 * the command line adds ($SYNCSIM_PATH, then the installed profiles).
 */
#ifndef SIM_PROFILE_LOAD_H
#define SIM_PROFILE_LOAD_H

#include "base/arena.h"
#include "sim/scenario.h"
#include "sim/yaml.h"

/* The scenario's `profile:` node: a name, a path or an inline mapping. */
bool profile_load_reference(yaml_doc *doc, struct fy_node *ref, const char *scenario_path, arena *a,
                            scenario_profile *out, diag *d);
bool profile_load_file(const char *path, arena *a, scenario_profile *out, diag *d);
/* Letters, digits, '-' and '_': a name to look up, not a path. */
bool profile_is_name(const char *text);
/* A directory of <name>.yaml profile files, searched after a scenario's own. */
typedef struct profile_place {
    const char *dir;
    const char *origin;          /* why it is searched, for errors: "$SYNCSIM_PATH", "installed" */
} profile_place;

/*
 * The places searched after a scenario's own folders, in order (copied).
 * Set once by the command line at start; empty until then, so a program that
 * does not set it (the unit tests) finds only what is beside its files.
 * note, when not NULL, ends every unknown-profile error ("SYNCSIM_PATH is
 * not set ...").
 */
void profile_search_set(const profile_place *places, int n, const char *note);
/*
 * The profile called name: profiles/<name>.yaml beside near_path (a scenario
 * or grid file) and in each directory above it, then in also_dir when given,
 * then in the places profile_search_set gave. An unknown name is reported at
 * pos with a "did you mean", every place searched and the names found there.
 */
bool profile_load_named(const char *name, const char *near_path, const char *also_dir, src_pos pos, arena *a,
                        scenario_profile *out, diag *d);
/*
 * Run the scenario's replicas as the external command text (split into words as a shell would
 * split plain words and quotes, without expansions): --node "CMD". The profile's accepts: and
 * manual: stay. False with d set when the text is empty or its quotes do not close.
 */
bool scenario_use_node(scenario *sc, const char *command, int64_t timeout_us, diag *d);
/* Split a command line into words in a: NULL-terminated; NULL with *why on unbalanced quotes. */
const char **command_split(const char *text, arena *a, const char **why);

/* The file profile_load_named would load for name (in a), or NULL when there is none. */
const char *profile_find(const char *name, const char *near_path, const char *also_dir, arena *a);
/* A YAML list of violation class names. */
bool load_vclass_list(yaml_doc *doc, struct fy_node *n, vclass_set *out, diag *d, const char *what);

#endif
