/*
 * workload: random user activity and faults, drawn from a seed.
 *
 *   workload:
 *     duration: 2h                  # users work this long; then the world heals and settles
 *     users: 2                      # with devices_per_user, generates devices u1-d1, u1-d2, ...
 *     devices_per_user: 2           #   (or list devices: yourself, each with its user:)
 *     writes_per_hour: 20           # per device, Poisson
 *     mix: { create: 5, update: 60, delete: 5, increment: 15, append: 15 }   # relative weights
 *     types: [note]                 # entity types
 *     keys: 10                      # records per user
 *     popularity: { dist: zipf, s: 1.1 }   # or uniform: how hot the hottest records are
 *     fields: 3                     # fields per record
 *     edit: field                   # an update writes one field; record: every field
 *     offline: { online_mean: 30m, offline_mean: 5m, long_probability: 0.02, long_mean: 3d }
 *     clocks: { offset: { dist: uniform, max: 5m }, drift_ppm: { dist: uniform, max: 50 },
 *               steps_per_day: 1, step_max: 1m }
 *     network: { loss: 0.01, duplicate: 0.001, lost_response: 0.01,
 *                partitions_per_hour: 0.5, partition_mean: 5m }
 *     crashes: { per_day: 1, down_mean: 5m,         # each device
 *                server_per_day: 0, server_down_mean: 2m }   # the server (off by default)
 *     server_answers: { errors: 0.02, timeouts: 0.01,    # the server's gateway (off by default)
 *                       windows_per_day: 2, window_mean: 2m }
 *     auth: { expiries_per_day: 2 }  # each device's token expires at random (off by default)
 *     refs: true                    # creates of a type with refs name a live parent of the user's (off by default)
 *     events: chains                # a device's appends to a record follow start, pause, resume, ..., stop
 *                                   #   (random, the default: each append's kind is drawn)
 *     picks: per-device             # each device's user keeps their own version or takes the server's,
 *                                   #   drawn per device (profile, the default: the profile's manual pick)
 *     server_clock: { steps_per_day: 2, step_max: 1m }   # the server's clock steps (off by default)
 *     forms: { per_update: 0.2, open_mean: 5m }   # updates saved from a form opened earlier (off by default)
 *     storage: { disk_full_per_day: 1, disk_full_mean: 2m,   # each device's store (off by default)
 *                io_errors_per_day: 2, server: true }        #   and the server's too when server: true
 *     swarm: true                   # the seed also decides which faults happen, and how often
 *     vary: { sync.round: [push-pull, pull-push] }   # profile keys the seed draws (sim/vary.h)
 *
 * workload_instantiate turns a scenario with a workload into an ordinary
 * scenario with explicit steps for one seed. Every device draws from its own
 * streams (workload/<device>, offline/<device>, clock/<device>,
 * faults/<device>, refs/<device>, picks/<device>, power-loss/<device>; the server's crashes from
 * crashes/server, its
 * clock steps from clock-steps/server; storage faults from storage/<node>; vary's keys from vary/<key>) so
 * that removing a device
 * or a step shifts nothing else,
 * and the values written are unique and name their write ("u1-d2#17").
 */
#ifndef SIM_WORKLOAD_H
#define SIM_WORKLOAD_H

#include "sim/diag.h"
#include "sim/vary.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct scenario scenario;

enum { MIX_CREATE, MIX_UPDATE, MIX_DELETE, MIX_INCREMENT, MIX_APPEND, MIX_COUNT };

typedef enum skew_dist {
    SKEW_UNIFORM,     /* uniform in [-max, max] */
    SKEW_NORMAL,      /* normal with sigma, clamped to [-max, max] */
} skew_dist;

typedef struct workload_config {
    int64_t duration_us;
    int users;                       /* 0: devices come from devices: */
    int devices_per_user;
    double writes_per_hour;          /* per device */
    double mix[MIX_COUNT];           /* relative weights */
    int n_types;
    const char *const *types;
    int keys;                        /* records per user */
    bool zipf;                       /* popularity: zipf (else uniform) */
    double zipf_s;
    int fields;                      /* fields per record */
    bool edit_whole_record;
    /* Connectivity. */
    bool offline;
    int64_t online_mean_us;
    int64_t offline_mean_us;
    double long_probability;
    int64_t long_mean_us;
    /* Clocks. */
    bool clocks;
    skew_dist offset_dist;
    int64_t offset_max_us;
    int64_t offset_sigma_us;
    double drift_ppm_max;
    double clock_steps_per_day;
    int64_t clock_step_max_us;
    /* Network and crashes. */
    bool network;
    double loss;
    double duplicate;
    double lost_response;
    double partitions_per_hour;
    int64_t partition_mean_us;
    double crashes_per_day;          /* per device */
    int64_t crash_down_mean_us;
    double server_crashes_per_day;   /* the server's; 0 (the default) leaves it up */
    int64_t server_down_mean_us;
    double power_losses_per_day;     /* crashes: { power_loss_per_day }: per device, each followed by a restart
                                        after down_mean; 0 (the default): never */
    /* The server's gateway (server_answers:): random error and timeout answers, and windows of them. */
    double server_error_p;
    double server_timeout_p;
    double server_windows_per_day;
    int64_t server_window_mean_us;
    double token_expiries_per_day;   /* auth: { expiries_per_day }: per device; 0 (the default): never */
    /* storage: faults of a replica's store (docs/faults.md), per device, and the server's with storage_server. */
    double disk_full_per_day;        /* full-disk windows; 0 (the default): never */
    int64_t disk_full_mean_us;       /* their mean length (exponential), at least a second */
    double io_errors_per_day;        /* I/O errors, each failing 1 to 3 transactions; 0: never */
    bool storage_server;
    bool swarm;
    /* What the session checks need (all off by default, so a workload without them draws as before). */
    bool refs;                       /* refs: true: a child's create names a live parent (the profile's refs) */
    bool event_chains;               /* events: chains: a device's appends to a record go start, pause, resume, ... */
    bool picks_per_device;           /* picks: per-device: each device's user always keeps theirs, or the server's */
    double server_clock_steps_per_day;   /* server_clock: { steps_per_day }: the server's clock steps; 0: never */
    int64_t server_clock_step_max_us;    /* server_clock: { step_max }: each step within +-this */
    /* forms: { per_update, open_mean }: this share of updates is saved from a form the user opened an
     * exponential open_mean before (base: opened); 0 (the default): none. */
    double forms_per_update;
    int64_t forms_open_mean_us;
    /* lifecycle: a device's app reinstalled, its user signing out and in again (docs/lifecycle.md), per
     * device from its stream lifecycle/<device>; 0 (the default): never. */
    double reinstalls_per_day;
    double sign_outs_per_day;
    int64_t signed_out_mean_us;      /* how long a user stays signed out (exponential); default 10m */
    /* vary: profile keys each seed draws a value of (sim/vary.h, docs/vary.md); none by default. */
    vary_spec vary;
    /* lifecycle: { account_switches_per_day }: a device's user switches it to another user of the
     * workload, per device from its stream lifecycle-switch/<device>; from then on the device writes
     * that user's records. 0 (the default): never. */
    double account_switches_per_day;
} workload_config;

/* What swarm mode chose for a seed (all enabled without swarm). */
typedef struct swarm_choice {
    bool offline, long_offline, skew, drift, clock_steps, loss, duplicate, lost_response, partitions, crashes;
    double loss_p, duplicate_p, lost_response_p;
    double partitions_per_hour, crashes_per_day, clock_steps_per_day, long_probability;
    /* Faults added later draw after everything above, so a seed's earlier choices never move. */
    bool server_crashes, server_answers, server_windows, token_expiries;
    double server_crashes_per_day, server_error_p, server_timeout_p, server_windows_per_day, token_expiries_per_day;
    /* Drawn after all of the above, for the same reason. */
    bool refs, event_chains, picks_per_device, server_clock_steps;
    double server_clock_steps_per_day;
    bool power_losses;               /* drawn after all of the above, the session checks' too */
    double power_losses_per_day;
    bool disk_full, io_errors;
    double disk_full_per_day, io_errors_per_day;
    bool forms;                      /* drawn after all of the above, only when configured */
    double forms_per_update;
    bool reinstalls, sign_outs;      /* drawn after all of the above, and only when configured */
    double reinstalls_per_day, sign_outs_per_day;
    bool account_switches;           /* drawn after all of the above, and only when configured */
    double account_switches_per_day;
} swarm_choice;

/*
 * A scenario with explicit steps for this seed: a copy of tmpl (which must
 * outlive it: the copy borrows its strings) with the workload's devices,
 * clocks, network settings and steps added. Returns NULL with d set when the
 * result would exceed a bound.
 */
scenario *workload_instantiate(const scenario *tmpl, uint64_t seed, diag *d);
/* The swarm choice workload_instantiate makes for a seed. */
swarm_choice workload_swarm(const workload_config *w, uint64_t seed);
/*
 * About how many steps an instance of the workload has with n_devices devices: the setup
 * creates, then each device's writes, offline spans, partitions, crashes and clock steps at
 * their configured rates (swarm draws rates below them). The loaders refuse a workload whose
 * estimate exceeds SCENARIO_STEPS_MAX before any step is made; an instance that still
 * exceeds it by chance is refused while it is made.
 */
double workload_expected_steps(const workload_config *w, int n_devices);

#endif
