/*
 * classes: what the checker can say about a write or a run -- docs/architecture.md's
 * table of classes, in one enum so scenarios, profiles, the checker and the
 * results all spell them the same way.
 */
#ifndef SIM_CLASSES_H
#define SIM_CLASSES_H

#include <stdbool.h>
#include <stdint.h>

typedef enum vclass {
    VC_SUPERSEDED,              /* overwritten by a causally later write: fine */
    VC_OVERWRITTEN_CONCURRENT,  /* a concurrent write won; the loser is kept for the user: fine */
    VC_REJECTED,                /* the server refused it by its type's rules or schema, said why,
                                   and its device rolled it back: fine (nothing silent) */
    VC_SILENT_OVERWRITE,        /* a concurrent write won and the loser is gone */
    VC_LOST_UPDATE,             /* overwritten by a causally earlier write, or vanished */
    VC_UNDELIVERED,             /* never reached the server though the device could sync */
    VC_RESURRECTION,            /* a deleted record came back without a later edit */
    VC_DUPLICATE,               /* one create or event applied twice */
    VC_COUNTER_DRIFT,           /* a counter is not the sum of its increments */
    VC_ORDER_DIVERGENCE,        /* replicas hold one event log in different orders */
    VC_DANGLING_REF,            /* a reference to a record that does not exist */
    VC_TENANT_LEAK,             /* a device holds another tenant's data */
    VC_DIVERGENCE,              /* replicas disagree after quiescence */
    VC_NO_QUIESCENCE,           /* sync did not settle in time (liveness) */
    /* Judged through the run from what each device showed (sim/session.c), and in true time. */
    VC_READ_YOUR_WRITES,        /* a device showed a state lacking its own write, nothing newer or winning arrived */
    VC_MONOTONIC_READS,         /* a device showed a state causally older than one it had shown */
    VC_CAUSAL_VISIBILITY,       /* a device showed a write without one it causally depends on */
    VC_ORDER_ANOMALY,           /* a device's event log put an event before one that causally precedes it */
    VC_SKEW_INVERSION,          /* a concurrent write won over a later one in true time only by the clocks */
    VC_COUNT
} vclass;

typedef uint32_t vclass_set;   /* bit (1u << class) */
#define VCLASS_BIT(c) ((vclass_set)1u << (c))

const char *vclass_name(vclass c);
/* Returns -1 when the name is unknown. */
int vclass_parse(const char *name);
/* Classes that are never violations (superseded, overwritten-concurrent, rejected). */
bool vclass_benign(vclass c);
/* The session guarantees: episodes judged from what devices showed, each with a time visible. */
bool vclass_session(vclass c);
/* Classes a profile may declare it accepts: silent-overwrite, skew-inversion and the session
 * guarantees, which a design may not promise. */
bool vclass_acceptable(vclass c);

#endif
