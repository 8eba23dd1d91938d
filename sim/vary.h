/*
 * vary: profile keys a random workload draws per seed (docs/vary.md).
 *
 *   workload:
 *     vary:                                    # each seed draws one value of each key
 *       sync.round: [push-pull, pull-push]
 *       sync.during_round: [coalesce, queue, drop]
 *       conflicts.counters: [crdt, ops]
 *       server.feed_lag: [0s, 2s, 30s]
 *
 * A profile describes one design; a swarm that varies some of its keys explores the designs
 * around it, and every failing seed names the values it drew. Each key is drawn from the seed's
 * stream of its own, `vary/<key>` (one bounded draw), so the draws move no other draw of the
 * workload and no other key's: a seed's steps, clocks and faults are the same with or without
 * vary:, a key's value is the same whatever else is listed (and as long as its own list is), and
 * a scenario without vary: runs exactly as before.
 *
 * Every combination of the listed values must make a design the engine runs (profile_check):
 * vary_check tries each one against the profile, when the scenario is read and again when a
 * --profile replaces it, and names the value to blame.
 */
#ifndef SIM_VARY_H
#define SIM_VARY_H

#include "engine/profile.h"
#include "sim/diag.h"
#include "sim/yaml.h"

#include <stdint.h>

enum {
    VARY_KEYS_MAX = 16,      /* keys one workload varies */
    VARY_VALUES_MAX = 8,     /* values one key may take */
    VARY_COMBINATIONS_MAX = 65536,   /* vary_check tries each: a bound on its work */
};

/* One varied key: which (an index into the table in vary.c) and the values a seed picks from. */
typedef struct vary_axis {
    int key;
    int n_values;
    int64_t values[VARY_VALUES_MAX];   /* an index into the key's names, a duration in us, or 0/1 */
    src_pos pos[VARY_VALUES_MAX];      /* where each value is written, for errors */
    src_pos key_pos;
} vary_axis;

typedef struct vary_spec {
    int n_axes;                         /* 0: nothing varies (the default) */
    vary_axis axes[VARY_KEYS_MAX];
} vary_spec;

/* What one seed drew: for each axis, the index of its value. */
typedef struct vary_choice {
    int value[VARY_KEYS_MAX];
} vary_choice;

/* The workload's vary: mapping. Errors name file:line:column. */
bool vary_load(yaml_doc *doc, struct fy_node *n, vary_spec *out, diag *d);
/* Every combination of the values applied to base makes a design profile_check accepts; else an
 * error at the value to blame, naming the profile. */
bool vary_check(const vary_spec *v, const profile *base, const char *profile_name, diag *d);
/* The seed's draw (a stream vary/<key> per key). */
vary_choice vary_draw(const vary_spec *v, uint64_t seed);
/* Sets the drawn values on p. */
void vary_apply(const vary_spec *v, const vary_choice *c, profile *p);
/* "sync.round: pull-push, conflicts.counters: ops" into out (size bytes, always terminated). */
void vary_describe(const vary_spec *v, const vary_choice *c, char *out, size_t size);

#endif
