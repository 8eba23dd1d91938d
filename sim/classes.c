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

bool vclass_acceptable(vclass c)
{
    return c == VC_SILENT_OVERWRITE;
}
