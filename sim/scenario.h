/*
 * scenario: a scenario as data -- devices, network, the profile, a timeline
 * of steps and the expectations -- loaded from YAML (scenario.c) with every
 * error reported at file:line:column.
 *
 * A loaded scenario is immutable while it runs and owns all its memory in
 * one arena. Steps are plain data on purpose: the workload generator will
 * produce the same step structs, and shrinking edits and writes them back.
 *
 * Node numbering follows engine/node.h: node 0 is the server, device i of
 * devices[] is node i + 1.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include "base/arena.h"
#include "engine/node.h"
#include "engine/profile.h"
#include "sim/classes.h"
#include "sim/diag.h"
#include "sim/dist.h"
#include "sim/workload.h"

#include <stdbool.h>
#include <stdint.h>

/* One direction of a device's link to the server. */
typedef struct link_config {
    dist latency;
    double loss;           /* probability a message is lost */
    double duplicate;      /* probability a message is delivered twice */
} link_config;

typedef struct net_config {
    link_config up;        /* device -> server */
    link_config down;      /* server -> device */
    double lost_response;  /* probability a server reply is lost after the server acted on the request */
} net_config;

typedef struct clock_config {
    int64_t offset_us;     /* wall clock minus true time at the start */
    int64_t drift_ppb;     /* parts per billion; YAML gives drift_ppm */
} clock_config;

typedef struct device_config {
    const char *name;
    const char *user;      /* the tenant the device belongs to; its records are that user's */
    bool has_clock;        /* the scenario set its clock (a workload's clock draws leave it alone) */
    clock_config clock;
    net_config net;        /* the scenario's network unless the device overrides it */
    bool starts_offline;
    src_pos pos;
    /* pick: this device's user resolves every conflict this way, whatever the profile's manual pick
     * (one user keeps their own version, another takes the server's). */
    bool has_pick;
    manual_pick pick;
} device_config;

typedef enum step_kind {
    STEP_OP,          /* a user operation on one device */
    STEP_SYNC,        /* the user presses sync on each device */
    STEP_OFFLINE,     /* devices go offline, and know it */
    STEP_ONLINE,      /* devices come back online */
    STEP_PARTITION,   /* links cut silently, in one or both directions */
    STEP_HEAL,        /* cut links restored */
    STEP_CRASH,       /* devices or the server crash: volatile state lost, store kept */
    STEP_RESTART,     /* crashed devices or the server start again */
    STEP_CLOCK,       /* one node's wall clock steps (NTP correction), possibly backwards */
    STEP_SERVER_ANSWER, /* for a span, the server's gateway answers every request with an error or a timeout */
    STEP_EXPIRE_TOKEN, /* devices' auth tokens expire: the gateway refuses their requests (401) until renewed */
    STEP_POWER_LOSS,  /* devices crash and lose what they committed since their last flush (docs/faults.md) */
    STEP_STORAGE,     /* a storage fault on replicas' stores: a full disk for a span, or I/O errors */
    STEP_REINSTALL,   /* devices' apps deleted and installed again: store wiped, boots fresh (docs/lifecycle.md) */
    STEP_SIGN_OUT,    /* devices' users sign out: the local database is deleted, no requests, no writes */
    STEP_SIGN_IN,     /* signed-out devices' users sign in again (the same user): they boot fresh */
    STEP_SWITCH_ACCOUNT, /* one device's user signs out (as sign_out) and `user` signs in on it: it boots
                            fresh as that user's (docs/lifecycle.md) */
} step_kind;

/*
 * How the gateway in front of the server answers a request (docs/faults.md). An error
 * answer is a 503 sent in the server's place: the request never reached the server. A
 * timeout lets the server apply the request and loses its answer, as a proxy that gives
 * up on a slow backend does: the device waits for its request_timeout.
 */
typedef enum server_answer {
    ANSWER_SERVER,    /* the server's own answer */
    ANSWER_ERROR,     /* 503, not applied */
    ANSWER_TIMEOUT,   /* applied, never answered */
} server_answer;

/* Random gateway answers: each request draws one from its device's stream server-answers/<device>. */
typedef struct server_faults {
    double error_p;        /* probability a request gets an error answer */
    double timeout_p;      /* probability a request is applied and its answer lost */
} server_faults;

enum {
    DIR_UP = 1,       /* device -> server */
    DIR_DOWN = 2,     /* server -> device */
    DIR_BOTH = 3,
};

typedef struct step {
    int64_t at_us;         /* true time */
    step_kind kind;
    int n_nodes;
    int *nodes;            /* node indexes the step acts on */
    user_op op;            /* STEP_OP: op.w is assigned when the step runs */
    int direction;         /* STEP_PARTITION, STEP_HEAL: DIR_* */
    int64_t by_us;         /* STEP_CLOCK */
    int64_t for_us;        /* STEP_SERVER_ANSWER, STEP_STORAGE disk_full: how long the window lasts */
    server_answer answer;  /* STEP_SERVER_ANSWER */
    storage_fault storage; /* STEP_STORAGE: STORAGE_DISK_FULL (for for_us) or STORAGE_IO_ERROR (writes) */
    const char *user;      /* STEP_SWITCH_ACCOUNT: the account signing in (to:), in the scenario's arena */
    src_pos pos;
} step;

typedef enum state_kind {
    STATE_DELETED,    /* a tombstone */
    STATE_ABSENT,     /* no record at all */
    STATE_FIELDS,     /* live, with at least these field values */
} state_kind;

typedef struct state_expect {
    const char *type;
    const char *id;
    state_kind kind;
    int n_fields;
    op_field *fields;
    src_pos pos;
} state_expect;

typedef struct expectations {
    int64_t quiesce_within_us;   /* bound from the final heal to quiescence */
    bool has_violations;         /* an explicit violations: list was given */
    vclass_set violations;       /* classes the scenario exists to demonstrate */
    int n_state;
    state_expect *state;
    /*
     * checks: the invariants a conformance run reports for this scenario
     * (held, violated or not applicable), read by `conform`. They do not
     * change how `run` judges the scenario. Only classes that can fail a run
     * (never superseded, overwritten-concurrent or rejected); checks_state
     * stands for the name 'state' and is only set when state: is given.
     */
    bool has_checks;             /* an explicit checks: list was given */
    vclass_set checks;
    bool checks_state;           /* the final state under state: holds */
} expectations;

/*
 * An implementation outside syncsim that speaks syncsim-node/1 (docs/protocol.md): the command
 * every replica runs. argv NULL means the built-in engine, configured by the profile.
 */
typedef struct node_command {
    const char *const *argv;         /* NULL-terminated: the devices', and the server's unless server_argv */
    const char *const *server_argv;  /* the server's own command, or NULL */
    int64_t timeout_us;              /* real time a node may take to answer one request; 0: the default */
} node_command;

/* The profile a scenario runs: the engine's configuration plus what the design accepts. */
typedef struct scenario_profile {
    const char *name;
    const char *description;
    const char *path;            /* file it came from, or the scenario's path when inline */
    profile engine;
    vclass_set accepts;          /* classes the design accepts by design (silent-overwrite) */
    node_command node;           /* an external implementation instead of the built-in engine */
    dist commit_delay_dist;      /* server: commit_delay: { dist: ... }, when engine.n_commit_delay_draws > 0 */
} scenario_profile;

typedef struct scenario {
    const char *path;
    const char *name;
    const char *description;
    bool has_seed;
    uint64_t seed;
    scenario_profile profile;
    /* The profile keys a workload's vary: drew for this seed ("sync.round: pull-push, ..."), already set
     * in profile; NULL when nothing varies. */
    const char *design;
    int n_devices;
    device_config *devices;
    clock_config server_clock;
    server_faults server_faults; /* server: { errors, timeouts }, or a workload's draw */
    int64_t token_lifetime_us;   /* server: { token_lifetime }: a device's token expires this long after it
                                    was issued (at its start, restart or refresh); 0: only expire_token steps */
    net_config network;          /* the default for every link */
    int n_steps;
    step *steps;                 /* sorted by at_us; file order among equal times */
    int64_t end_us;              /* end: the timeline runs at least this long before the final heal */
    bool has_workload;
    workload_config workload;    /* random activity, drawn per seed by workload_instantiate */
    expectations expect;
    arena arena;                 /* owns every string and array above (an instance borrows its template's) */
} scenario;

/*
 * Bounds on a scenario. Devices each hold a SQLite store; steps take about 300 bytes each
 * with their fields, so an instance at the bound takes about 1.2 GB, 12 times week-100's.
 * A workload whose expected steps exceed the bound is refused when it loads.
 */
#define SCENARIO_DEVICES_MAX 4096
#define SCENARIO_STEPS_MAX 4000000
#define SCENARIO_DEFAULT_USER "user"
#define SCENARIO_DEFAULT_SEED 1
#define SCENARIO_DEFAULT_QUIESCE_US (INT64_C(3600) * 1000000)

/* NULL on error, with the error in d. */
scenario *scenario_load(const char *path, diag *d);
void scenario_free(scenario *sc);
/*
 * The scenario to run for a seed: for a workload, its instance with every
 * step explicit; otherwise a shallow copy. The copy borrows tmpl's strings;
 * free it before tmpl. NULL with d set when a bound is exceeded.
 */
scenario *scenario_for_seed(const scenario *tmpl, uint64_t seed, diag *d);
/* Under the profile's ids: server the server names records by decimal digits: a step naming a
 * record by digits alone is an error (with its position in d). Checked at load and again at run
 * time, after a --profile override. */
bool scenario_check_ids(const scenario *sc, diag *d);
/* Every switch_account step, in time order, names an account other than the one its device has then
 * (its user:, or the last switch's): else an error at the step (with its position in d). */
bool scenario_check_switches(const scenario *sc, diag *d);
/* Whether any step injects a storage fault: the world then opens the built-in engine's stores
 * through the fault shim (a run without them costs and traces exactly what it did before). */
bool scenario_has_storage_faults(const scenario *sc);
/* Sort steps by time, keeping the given order among equal times. */
void scenario_sort_steps(scenario *sc);

/* Node index of a device name (1..n), 0 for "server", -1 when unknown. */
int scenario_node(const scenario *sc, const char *name);
const char *scenario_node_name(const scenario *sc, int node);
const char *step_kind_name(step_kind kind);
const char *server_answer_name(server_answer answer);

/* Defaults, shared with the profile loader. */
void net_config_default(net_config *net);

#endif
