/*
 * run_view: a run read back from its JSON-lines trace (sim/trace.h) and
 * shaped for pictures -- lanes, messages from send to arrival, spans of time
 * (offline, partitioned, crashed, syncing) and marks at instants (writes,
 * crashes, clock steps, conflicts, timers). The timeline page
 * (render/timeline.h) and the Perfetto file (render/perfetto.h) are two
 * drawings of one run_view.
 *
 * It reads the trace rather than hooking the event loop, so a picture shows
 * exactly what the trace file says and the world has one output path; the
 * trace hash is never touched.
 *
 * Invariants, once run_view_read returned true:
 *   - every array is in trace order (true time, then the order events ran),
 *     so the same trace always gives the same view, byte for byte;
 *   - a message copy arrives at most once: a send makes one copy, two when
 *     the network duplicated it, and each deliver event is matched to the
 *     earliest copy expected at that instant with the same sender, receiver
 *     and message hash;
 *   - every span ends (at the event that closed it, else at the run's end);
 *   - lanes are the replicas by node index: the server first, then the
 *     scenario's devices in order.
 * Strings live in the view's arena, or are static (kinds, "in flight").
 */
#ifndef RENDER_RUN_VIEW_H
#define RENDER_RUN_VIEW_H

#include "base/arena.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Trace events read into one view; past it the view says it is truncated (a page of a million
 * events would not load in a browser anyway). */
#define RUN_VIEW_EVENTS_MAX 250000
/* A message body longer than this is cut (and says so) in the view. */
#define RUN_VIEW_BODY_BYTES_MAX 16384
/* The bodies of all messages together: past it, later messages keep their size and hash but not
 * their body, so a long run's page stays tens of megabytes, not gigabytes. */
#define RUN_VIEW_BODIES_BYTES_MAX (32u << 20)

typedef enum view_span_kind {
    SPAN_OFFLINE,        /* the device had no network */
    SPAN_PARTITION,      /* its link was cut one way or both (detail: up, down, both) */
    SPAN_DOWN,           /* crashed, until restarted */
    SPAN_SYNC,           /* a sync round, from sync-begin to sync-end */
} view_span_kind;

typedef struct view_span {
    int lane;
    view_span_kind kind;
    int64_t start_us, end_us;
    const char *detail;      /* partition: its direction; sync: "queue N, pulled M"; else NULL */
} view_span;

typedef struct view_message {
    int from, to;            /* lanes */
    int64_t sent_us;
    int64_t expected_us;     /* when the network meant it to arrive; -1 when dropped at send */
    int64_t arrived_us;      /* when its deliver event ran; -1 when it never did */
    const char *drop;        /* why it was lost (at send, or at delivery: "partition", "node-down"...);
                                "in flight" when the run ended first; NULL when delivered */
    bool duplicate;          /* the network's second copy of a send */
    uint64_t bytes;
    const char *hash;        /* the message's hash as the trace prints it */
    const char *body;        /* its compact JSON, cut at RUN_VIEW_BODY_BYTES_MAX; NULL once the view
                                holds RUN_VIEW_BODIES_BYTES_MAX of bodies */
} view_message;

typedef struct view_mark {
    int lane;
    int64_t t_us;
    const char *kind;        /* write, refused, crash, restart, clock, conflict, timer, retry, gave-up,
                                rejected, dropped-write, node-failed */
    const char *label;       /* one short line */
    const char *w;           /* the write it is about ("phone:3"), or NULL */
    const char *w2;          /* a conflict's loser, or NULL */
} view_mark;

typedef struct run_view {
    arena a;
    const char *scenario, *profile;
    uint64_t seed;
    int n_lanes;
    const char **lanes;      /* names, by node index */
    int64_t end_us;          /* the last event's time */
    uint64_t events;         /* trace lines read */
    bool truncated;          /* stopped at RUN_VIEW_EVENTS_MAX */
    uint64_t body_bytes;     /* of message bodies kept so far */
    bool bodies_dropped;     /* some bodies were left out (RUN_VIEW_BODIES_BYTES_MAX) */
    view_span *spans;
    size_t n_spans, cap_spans;
    view_message *messages;
    size_t n_messages, cap_messages;
    view_mark *marks;
    size_t n_marks, cap_marks;
} run_view;

/*
 * Read a trace from the start of f. lanes[i] names node i; starts_offline[i]
 * (NULL: none) says which devices begin without network, which the trace
 * does not show. On a malformed trace returns false with *error set (free
 * with xfree): "trace line N: why".
 */
bool run_view_read(run_view *v, FILE *f, const char *const *lanes, const bool *starts_offline, int n_lanes,
                   char **error);
void run_view_free(run_view *v);

const char *view_span_kind_name(view_span_kind kind);

#endif
