/*
 * node: the vocabulary of the seam that is not just declarations.
 */
#include "engine/node.h"

#include <string.h>

const char *op_kind_name(op_kind op)
{
    switch (op) {
    case OP_CREATE: return "create";
    case OP_UPDATE: return "update";
    case OP_DELETE: return "delete";
    case OP_INCREMENT: return "increment";
    case OP_APPEND: return "append";
    case OP_RESOLVE: return "resolve";
    case OP_OPEN: return "open";
    }
    return "?";
}

bool op_kind_parse(const char *text, op_kind *out)
{
    for (int i = OP_CREATE; i <= OP_KIND_LAST; i++) {
        if (strcmp(text, op_kind_name((op_kind)i)) == 0) {
            *out = (op_kind)i;
            return true;
        }
    }
    return false;
}

const char *storage_fault_kind_name(storage_fault_kind kind)
{
    switch (kind) {
    case STORAGE_DISK_FULL: return "disk_full";
    case STORAGE_DISK_FREED: return "disk_freed";
    case STORAGE_IO_ERROR: return "io_error";
    case STORAGE_HEALED: return "healed";
    }
    return "?";
}

bool storage_fault_kind_parse(const char *text, storage_fault_kind *out)
{
    for (int i = STORAGE_DISK_FULL; i <= STORAGE_HEALED; i++) {
        if (strcmp(text, storage_fault_kind_name((storage_fault_kind)i)) == 0) {
            *out = (storage_fault_kind)i;
            return true;
        }
    }
    return false;
}

const char *lifecycle_wipe_name(lifecycle_wipe wipe)
{
    switch (wipe) {
    case WIPE_ALL: return "all";
    case WIPE_DATA_ONLY: return "data-only";
    }
    return "?";
}

bool lifecycle_wipe_parse(const char *text, lifecycle_wipe *out)
{
    for (int i = WIPE_ALL; i <= WIPE_DATA_ONLY; i++) {
        if (strcmp(text, lifecycle_wipe_name((lifecycle_wipe)i)) == 0) {
            *out = (lifecycle_wipe)i;
            return true;
        }
    }
    return false;
}
