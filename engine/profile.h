/*
 * profile: the configuration of the built-in engine that makes it behave as
 * one sync design -- how often and how it syncs, how it retries, and, per
 * entity type, which conflict strategy decides. Profiles are read from YAML
 * by sim/profile_load.c; the engine only reads this struct.
 */
#ifndef ENGINE_PROFILE_H
#define ENGINE_PROFILE_H

#include "engine/record.h"

#include <stdbool.h>
#include <stdint.h>

#define PROFILE_RETRY_MAX 16
#define PROFILE_ENTITIES_MAX 32

typedef struct strategy_def strategy_def;

/* Whether a conflict is decided for the whole record or field by field. */
typedef enum grain {
    GRAIN_RECORD,
    GRAIN_FIELD,
} grain;

/* Who wins when a delete meets a concurrent edit. */
typedef enum delete_rule {
    DELETE_BY_STRATEGY,   /* the entity's strategy decides, as for any other write */
    DELETE_WINS,          /* a delete beats every concurrent edit */
    DELETE_EDIT_WINS,     /* an edit resurrects a concurrently deleted record */
} delete_rule;

/* How an increment travels and merges. */
typedef enum counter_mode {
    COUNTER_ABSOLUTE,   /* the client writes the new total as a plain field; the strategy decides */
    COUNTER_CRDT,       /* each device's contribution travels; merge takes the per-device maximum */
} counter_mode;

typedef struct entity_rules {
    const char *type;                 /* entity type; "*" for the fallback */
    const strategy_def *strategy;
    grain grain;
    delete_rule on_delete;
    counter_mode counters;
    event_order events_order;         /* how an event log is ordered */
    bool events_dedup;                /* an event arriving twice is stored once (by its id) */
} entity_rules;

typedef struct profile {
    const char *name;
    /* Sync triggers. */
    int64_t sync_interval_us;         /* periodic sync while online; 0 = none */
    int64_t sync_after_write_us;      /* sync this long after a local write; < 0 = never */
    bool sync_on_reconnect;           /* sync when the network comes back */
    /* Batching and paging. */
    int push_batch_max;               /* changes per push request, >= 1 */
    int pull_page_max;                /* records per pull page, >= 1 */
    /* Failure handling. */
    int64_t request_timeout_us;       /* a request unanswered this long has failed */
    int n_retry;                      /* entries in retry_us, >= 1 */
    int64_t retry_us[PROFILE_RETRY_MAX];  /* delay before retry k (k = failures - 1) */
    bool retry_stop_when_exhausted;   /* after the schedule: stop (true) or repeat the last delay */
    bool idempotency;                 /* the server deduplicates changes by operation id */
    /* Conflict rules. */
    entity_rules fallback;            /* for entity types not listed */
    int n_entities;
    entity_rules entities[PROFILE_ENTITIES_MAX];
} profile;

/* A correct, conservative starting point: HLC last-write-wins per field,
 * idempotent pushes, periodic and reconnect sync. Profiles override it. */
void profile_defaults(profile *p);
const entity_rules *profile_rules(const profile *p, const char *type);

const char *grain_name(grain g);
bool grain_parse(const char *text, grain *out);
const char *delete_rule_name(delete_rule r);
bool delete_rule_parse(const char *text, delete_rule *out);
const char *counter_mode_name(counter_mode m);
bool counter_mode_parse(const char *text, counter_mode *out);
const char *event_order_name(event_order o);
bool event_order_parse(const char *text, event_order *out);

#endif
