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
 *     counters: crdt                     # or absolute: an increment writes the new total
 *     events: { order: occurred, dedup: true }   # order: or server (receive time first)
 *     types:
 *       workout: { strategy: server-wins }
 *
 * A scenario names a profile (found as profiles/<name>.yaml in the
 * scenario's directory or the nearest ancestor that has one), gives a path,
 * or writes the mapping inline.
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
/*
 * The profile called name: profiles/<name>.yaml beside near_path (a scenario
 * or grid file) or in the nearest ancestor directory that has one, then in
 * also_dir when given. An unknown name is reported at pos with a "did you
 * mean" over every directory searched.
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

/* A YAML list of violation class names. */
bool load_vclass_list(yaml_doc *doc, struct fy_node *n, vclass_set *out, diag *d, const char *what);

#endif
