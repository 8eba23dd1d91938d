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
    }
    return "?";
}

bool op_kind_parse(const char *text, op_kind *out)
{
    for (int i = OP_CREATE; i <= OP_RESOLVE; i++) {
        if (strcmp(text, op_kind_name((op_kind)i)) == 0) {
            *out = (op_kind)i;
            return true;
        }
    }
    return false;
}
