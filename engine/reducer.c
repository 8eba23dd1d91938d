/*
 * reducer: the reducers and their table. See reducer.h.
 *
 * activity: events carry a "kind" field. start and resume make the attempt
 * active, pause makes it paused, stop stopped; other kinds (note) change
 * nothing. duration_s adds up the active spans between a start or resume and
 * the next pause or stop, by the events' occurredAt in log order -- as the
 * attempt's reducer does -- so a log whose order contradicts its timestamps
 * yields negative spans rather than a silently different figure. points is
 * one per full active minute.
 */
#include "engine/reducer.h"

#include <assert.h>
#include <string.h>

typedef void (*reducer_fn)(record *r, arena *a);

static const char *event_kind(const log_event *e)
{
    for (int i = 0; i < e->n_fields; i++)
        if (strcmp(e->fields[i].name, "kind") == 0 && e->fields[i].v.kind == VAL_STRING)
            return e->fields[i].v.s;
    return "";
}

static void set_projection(record *r, arena *a, const char *name, value v)
{
    stamp none = { 0 };
    record_set_field(r, a, name, &v, &none);
}

static void reduce_activity(record *r, arena *a)
{
    const char *status = "idle";
    bool active = false;
    int64_t active_since_us = 0, duration_us = 0;
    for (int i = 0; i < r->n_events; i++) {
        const log_event *e = &r->events[i];
        const char *kind = event_kind(e);
        if (strcmp(kind, "start") == 0 || strcmp(kind, "resume") == 0) {
            if (!active)
                active_since_us = e->at_us;
            active = true;
            status = "active";
        } else if (strcmp(kind, "pause") == 0 || strcmp(kind, "stop") == 0) {
            if (active)
                duration_us += e->at_us - active_since_us;
            active = false;
            status = strcmp(kind, "pause") == 0 ? "paused" : "stopped";
        }
    }
    set_projection(r, a, "status", (value){ .kind = VAL_STRING, .s = status });
    set_projection(r, a, "duration_s", (value){ .kind = VAL_INT, .i = duration_us / 1000000 });
    set_projection(r, a, "points", (value){ .kind = VAL_INT, .i = duration_us / 60000000 });
}

static const struct {
    const char *name;
    reducer_fn fn;
} REDUCERS[] = {
    { "activity", reduce_activity },
};

bool reducer_known(const char *name)
{
    for (size_t i = 0; i < sizeof REDUCERS / sizeof REDUCERS[0]; i++)
        if (strcmp(REDUCERS[i].name, name) == 0)
            return true;
    return false;
}

const char *reducer_names(void)
{
    return "activity";
}

void reducer_apply(const char *name, record *r, arena *a)
{
    for (size_t i = 0; i < sizeof REDUCERS / sizeof REDUCERS[0]; i++)
        if (strcmp(REDUCERS[i].name, name) == 0) {
            REDUCERS[i].fn(r, a);
            return;
        }
    assert(0 && "unknown reducer");
}
