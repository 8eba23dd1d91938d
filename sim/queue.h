/*
 * queue: the world's event queue, a binary min-heap of events held by value.
 *
 * Events are ordered by (time_us, seq). seq is assigned by queue_push from a
 * counter, so two events at the same true time run in the order they were
 * scheduled, never in an order that depends on addresses. The heap stores
 * events inline: pushing allocates only when the array grows.
 */
#ifndef SIM_QUEUE_H
#define SIM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct event {
    int64_t time_us;   /* true time at which the event happens */
    uint64_t seq;      /* tie-breaker, assigned by queue_push */
    uint32_t kind;     /* meaning is the world's */
    int32_t node;      /* node the event is for, or -1 */
    uint64_t arg;      /* kind-specific: step index, timer token, incarnation... */
    uint64_t arg2;
    void *payload;     /* kind-specific owned pointer (a message), or NULL */
} event;

typedef struct event_queue {
    event *items;
    size_t count;
    size_t cap;
    uint64_t next_seq;
    size_t count_max;      /* bound: pushing beyond it is a failure the world reports */
} event_queue;

void queue_init(event_queue *q, size_t count_max);
/* Frees the heap; calls drop on each remaining event (may be NULL). */
void queue_free(event_queue *q, void (*drop)(event *ev, void *ctx), void *ctx);
/* Returns false (and does not push) when count_max would be exceeded. */
bool queue_push(event_queue *q, event ev);
bool queue_pop(event_queue *q, event *out);
const event *queue_peek(const event_queue *q);
size_t queue_count(const event_queue *q);

#endif
