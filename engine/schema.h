/*
 * schema: payload validation against an entity type's schema (the profile's
 * `schema:` for the type) -- StrongLog validates every payload it sends and
 * receives with Zod; the delta-sync API validates every entity it receives.
 * A record that fails is refused with a reason, never stored.
 */
#ifndef ENGINE_SCHEMA_H
#define ENGINE_SCHEMA_H

#include "base/arena.h"
#include "engine/node.h"
#include "engine/profile.h"
#include "engine/record.h"

/*
 * NULL when the change is valid; otherwise why not, in a ("points must be an
 * integer, not \"ten\""). Checks the fields the change wrote, and on a create
 * that every required field is there. A type without a schema accepts anything.
 */
const char *schema_check(const entity_rules *rules, const record *r, op_kind op, int n_changed,
                         const char *const *changed, arena *a);

#endif
