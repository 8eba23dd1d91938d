/*
 * check: the invariants. Given the history (ground truth the engine never
 * saw) and every replica's final snapshot, classify each user write and
 * look for run-level failures, each with a short witness.
 *
 * The checker reports what it finds; it does not decide whether the run
 * fails. verdict.c weighs findings against the profile and the scenario.
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include "base/arena.h"
#include "sim/classes.h"
#include "sim/history.h"
#include "sim/scenario.h"
#include "sim/session.h"
#include "sim/snapshot.h"

#include <stdbool.h>
#include <stdint.h>

/* Findings kept in full per class; the rest are only counted. */
#define CHECK_FINDINGS_PER_CLASS_MAX 50

typedef struct finding {
    vclass cls;
    const char *record;      /* "type/id", or NULL for run-level findings */
    write_id w;              /* the write concerned, or WRITE_NONE */
    write_id competitor;     /* the write that won over it, or WRITE_NONE */
    int node;                /* the replica concerned (divergence), or -1 */
    const char *summary;     /* one line */
    const char *witness;     /* indented lines: lineage, clocks, network state */
} finding;

typedef struct check_input {
    const scenario *sc;
    const history *h;
    int n_nodes;                 /* server + devices */
    const snapshot *snaps;       /* by node index */
    bool quiesced;               /* false: liveness failed; convergence checks are skipped */
    const char *liveness;        /* when not quiesced: what was still going on */
    int64_t heal_us;             /* true time of the final heal */
    int64_t deadline_us;         /* heal + quiesce_within */
    const session *session;      /* what devices showed through the run (finished), or NULL */
    bool clocks_none;            /* the profile says no clock orders concurrent writes: no skew-inversion */
} check_input;

typedef struct check_result {
    arena a;
    finding *findings;
    int n_findings;
    int cap_findings;
    uint64_t counts[VC_COUNT];   /* every classification and finding, including benign ones */
    uint64_t writes_kept;        /* writes whose effect stands in the final state */
    uint64_t writes_checked;
    int64_t visible_us[VC_COUNT];   /* session classes: true time their anomalies were shown, summed */
} check_result;

void check_run(const check_input *in, check_result *out);
void check_result_free(check_result *r);

/* "phone:3" */
void check_write_name(const scenario *sc, write_id w, char *out, size_t cap);

#endif
