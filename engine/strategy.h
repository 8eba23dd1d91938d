/*
 * strategy: conflict resolution. Every strategy has one signature: given the
 * record the resolver holds (current) and a change arriving from another
 * replica (incoming), produce the resolver's new record. Adding a strategy
 * is one function and one row in the table in strategy.c.
 *
 * Strategies are pure: no clock, no randomness, no I/O. They compare only
 * what the stamps carry, so the same inputs give the same record everywhere.
 */
#ifndef ENGINE_STRATEGY_H
#define ENGINE_STRATEGY_H

#include "base/arena.h"
#include "engine/node.h"
#include "engine/profile.h"
#include "engine/record.h"

#include <stdbool.h>

typedef struct resolve_input {
    const record *current;          /* the resolver's record; NULL when it has none */
    const record *incoming;         /* the sender's whole record after its change */
    op_kind op;                     /* what the incoming change did */
    int n_changed;
    const char *const *changed;     /* fields the change wrote (create/update) */
    bool concurrent;                /* the change was not based on current's version */
    int64_t base_version;           /* the server version the change was made on (three-way merge's base) */
    bool force;                     /* a user's resolution of a conflict: overwrite, whatever the version */
    const entity_rules *rules;
} resolve_input;

typedef enum resolve_verdict {
    RESOLVE_INCOMING,   /* the incoming change took effect in full */
    RESOLVE_CURRENT,    /* the current record stands; the change had no effect */
    RESOLVE_MERGED,     /* parts of both */
    RESOLVE_REFUSED,    /* the entity's rules refuse the change (server-only data): no conflict */
    RESOLVE_PENDING,    /* a conflict left for the user: the current record stands until resolved */
} resolve_verdict;

typedef struct resolve_output {
    record result;              /* the resolver's new record, in the caller's arena */
    resolve_verdict verdict;
    bool conflict;              /* a concurrent modification was detected */
    const char *kind;           /* conflict kind: "update-update", "delete-update", ... */
    /* Losing writes the resolver keeps for the user (a conflict store): the caller stores
     * each with the record it lost to. Only strategies that keep losers fill it. */
    int n_kept;
    int cap_kept;
    write_id *kept;             /* in the caller's arena */
} resolve_output;

typedef void (*strategy_fn)(const resolve_input *in, resolve_output *out, arena *a);

enum {
    STRATEGY_DECIDES_ALL = 1,   /* decides every change to its type itself: creates, increments,
                                   appends and deletes too, before any other rule */
    STRATEGY_CLOCKED = 2,       /* a device's clock (its wall clock, or a hybrid clock built on it)
                                   can decide between concurrent writes: skew can invert them */
};

struct strategy_def {
    const char *name;           /* as written in profiles */
    strategy_fn resolve;
    const char *summary;        /* one line for --help and documentation */
    unsigned flags;             /* STRATEGY_* */
};

const strategy_def *strategy_find(const char *name);
int strategy_count(void);
const strategy_def *strategy_at(int index);

/*
 * Resolve a change: appends and counter increments merge on a live record;
 * the entity's delete rule decides delete-versus-edit conflicts; its
 * strategy decides everything else. An increment reaches a resolver under
 * COUNTER_CRDT, COUNTER_MAX and COUNTER_OPS (a delta the server adds); under
 * COUNTER_ABSOLUTE the client sends an update.
 */
void strategy_resolve(const resolve_input *in, resolve_output *out, arena *a);

/* A field's counter contributions; a plain integer counts as its writer's. Result may be in a. */
int counter_parts_of(const field *f, arena *a, counter_part **out);
/* parts with delta added to node's part, which now names w: an ops counter's sum (COUNTER_OPS).
 * Returns the count; *out in a. */
int counter_add(const counter_part *parts, int n, int32_t node, int64_t delta, write_id w, arena *a,
                counter_part **out);

#endif
