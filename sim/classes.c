/*
 * classes: names of the classes. The order of NAMES follows enum vclass.
 */
#include "sim/classes.h"

#include <string.h>

static const char *const NAMES[VC_COUNT] = {
    [VC_SUPERSEDED] = "superseded",
    [VC_OVERWRITTEN_CONCURRENT] = "overwritten-concurrent",
    [VC_REJECTED] = "rejected",
    [VC_SILENT_OVERWRITE] = "silent-overwrite",
    [VC_LOST_UPDATE] = "lost-update",
    [VC_UNDELIVERED] = "undelivered",
    [VC_RESURRECTION] = "resurrection",
    [VC_DUPLICATE] = "duplicate",
    [VC_COUNTER_DRIFT] = "counter-drift",
    [VC_ORDER_DIVERGENCE] = "order-divergence",
    [VC_DANGLING_REF] = "dangling-ref",
    [VC_TENANT_LEAK] = "tenant-leak",
    [VC_DIVERGENCE] = "divergence",
    [VC_NO_QUIESCENCE] = "no-quiescence",
    [VC_READ_YOUR_WRITES] = "read-your-writes",
    [VC_MONOTONIC_READS] = "monotonic-reads",
    [VC_CAUSAL_VISIBILITY] = "causal-visibility",
    [VC_ORDER_ANOMALY] = "order-anomaly",
    [VC_SKEW_INVERSION] = "skew-inversion",
};

const char *vclass_name(vclass c)
{
    return c >= 0 && c < VC_COUNT ? NAMES[c] : "?";
}

int vclass_parse(const char *name)
{
    for (int i = 0; i < VC_COUNT; i++)
        if (strcmp(NAMES[i], name) == 0)
            return i;
    return -1;
}

bool vclass_benign(vclass c)
{
    return c == VC_SUPERSEDED || c == VC_OVERWRITTEN_CONCURRENT || c == VC_REJECTED;
}

bool vclass_session(vclass c)
{
    switch (c) {
    case VC_READ_YOUR_WRITES:
    case VC_MONOTONIC_READS:
    case VC_CAUSAL_VISIBILITY:
    case VC_ORDER_ANOMALY:
        return true;
    default:
        return false;
    }
}

bool vclass_acceptable(vclass c)
{
    return c == VC_SILENT_OVERWRITE || c == VC_SKEW_INVERSION || vclass_session(c);
}
