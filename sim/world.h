/*
 * world: one run of a scenario with one seed. Owns true time, the event
 * queue, every node's clock and link, and the history; drives the replicas
 * through engine/node.h only.
 *
 * A run goes: boot every node at t=0; execute the steps at their times
 * while the replicas sync on their own timers; right after the last step,
 * heal every fault (devices online, links restored, crashed devices
 * restarted, loss/duplication/lost responses off; latency stays); then run
 * until quiescence -- no message in flight, every device idle and served
 * everything the server has -- or until quiesce_within has passed. Then
 * snapshot every replica and check.
 *
 * sim_run keeps no global state, so runs can be repeated in one process
 * (shrinking) or in forked workers (sweeps).
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include "base/arena.h"
#include "sim/check.h"
#include "sim/net.h"
#include "sim/scenario.h"
#include "sim/snapshot.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct external_pool external_pool;

typedef struct run_options {
    FILE *trace_out;            /* JSON lines of every event, or NULL */
    const char *store_dir;      /* one .sqlite file per replica, or NULL for in-memory */
    bool keep_event_hashes;     /* record the running trace hash after every event */
    uint64_t events_max;        /* bound on simulated events; 0 = default */
    external_pool *node_pool;   /* external nodes: processes to reuse across runs, or NULL */
    /*
     * Set from outside the simulation (the command line's --timeout): the
     * event loop checks it before every event and, once it is non-zero, fails
     * the run with "bound exceeded: <cancel_bound>". The world reads no clock;
     * a run the flag never stops is the run it would be without it.
     */
    const volatile sig_atomic_t *cancel;
    const char *cancel_bound;   /* names the bound: "the run's wall-clock budget (--timeout 5s)" */
    /* When set (the command line's --progress), one line "progress T_US EVENTS WRITES" each time
     * simulated time reaches a multiple of progress_every_us: a benchmark outside times the days by
     * when the lines arrive. The lines are the same on every run; nothing in them is hashed. */
    FILE *progress_out;
    int64_t progress_every_us;
} run_options;

#define RUN_EVENTS_MAX_DEFAULT UINT64_C(200000000)
#define RUN_CONFLICT_KINDS_MAX 16

typedef struct conflict_kind_count {
    const char *kind;           /* in the run result's arena */
    uint64_t count;
} conflict_kind_count;

typedef struct run_metrics {
    uint64_t writes;                /* user writes the devices accepted */
    uint64_t writes_refused;        /* operations a device refused (e.g. update of a deleted record) */
    const char *first_refusal;      /* the first of them and why ("phone:3 update note/n1: record is
                                       deleted"), in run_result.a; NULL when none was refused */
    int devices_writing;            /* devices that made at least one of the writes */
    uint64_t writes_rejected;       /* writes the server refused by its type's rules or schema */
    uint64_t writes_dropped;        /* writes a device abandoned unsent (retries exhausted) */
    uint64_t conflicts;
    uint64_t conflicts_true;        /* the two writes were concurrent and both set a field they share */
    uint64_t conflicts_false;       /* detection fired though only one side changed the fields in question */
    int n_conflict_kinds;
    conflict_kind_count conflict_kinds[RUN_CONFLICT_KINDS_MAX];
    uint64_t sync_rounds;           /* rounds that completed */
    uint64_t sync_rounds_started;
    uint64_t queue_depth_max;       /* the deepest sync queue a device started a round with */
    uint64_t queue_depth_sum;       /* summed over rounds started: the mean is sum / rounds */
    uint64_t messages;              /* sent */
    uint64_t messages_delivered;
    uint64_t messages_duplicated;
    uint64_t messages_dropped[DROP_REASON_COUNT];
    uint64_t server_answers[ANSWER_TIMEOUT + 1];   /* requests the gateway answered instead of the server, by answer */
    uint64_t requests_unauthorized; /* requests the gateway refused on an expired token (401) */
    uint64_t tokens_renewed;        /* token refreshes the gateway granted */
    uint64_t bytes;                 /* compact JSON bytes of every message sent */
    uint64_t retries;
    uint64_t gave_up;
    uint64_t events;
    uint64_t node_calls;            /* calls through the node interface: requests, for an external node */
    int64_t heal_us;                /* true time of the final heal */
    int64_t quiesced_us;            /* true time of quiescence, or -1 */
    int64_t end_us;                 /* true time the run stopped */
} run_metrics;

typedef struct run_result {
    uint64_t seed;
    uint64_t trace_hash;
    bool quiesced;
    run_metrics metrics;
    check_result check;
    arena a;                        /* snapshots' strings */
    int n_nodes;
    snapshot *snaps;                /* final state of every node */
    uint64_t *event_hashes;         /* when keep_event_hashes */
    uint64_t n_event_hashes;
    char *node_failure;             /* an external node failed and ended the run: which, doing what, why
                                       (no snapshots, no check); NULL otherwise */
    char *not_applicable;           /* the scenario needs an operation the implementation does not support
                                       (nothing ran); NULL otherwise */
} run_result;

/* Runs the scenario. Returns false with d set when the run cannot start or a bound is exceeded. */
bool sim_run(const scenario *sc, uint64_t seed, const run_options *opt, run_result *res, diag *d);
void run_result_free(run_result *res);

#endif
