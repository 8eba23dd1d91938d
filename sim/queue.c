/*
 * queue: binary heap. Invariant: for every i > 0, items[(i-1)/2] orders
 * before items[i] under (time_us, seq); seqs are unique, so the order is total.
 */
#include "sim/queue.h"
#include "base/xalloc.h"

#include <assert.h>

static bool before(const event *a, const event *b)
{
    if (a->time_us != b->time_us)
        return a->time_us < b->time_us;
    return a->seq < b->seq;
}

void queue_init(event_queue *q, size_t count_max)
{
    q->items = NULL;
    q->count = 0;
    q->cap = 0;
    q->next_seq = 0;
    q->count_max = count_max;
}

void queue_free(event_queue *q, void (*drop)(event *ev, void *ctx), void *ctx)
{
    if (drop)
        for (size_t i = 0; i < q->count; i++)
            drop(&q->items[i], ctx);
    xfree(q->items);
    q->items = NULL;
    q->count = q->cap = 0;
}

bool queue_push(event_queue *q, event ev)
{
    if (q->count >= q->count_max)
        return false;
    xgrow(&q->items, &q->cap, q->count + 1, sizeof *q->items);
    ev.seq = q->next_seq++;
    size_t i = q->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&ev, &q->items[parent]))
            break;
        q->items[i] = q->items[parent];
        i = parent;
    }
    q->items[i] = ev;
    return true;
}

bool queue_pop(event_queue *q, event *out)
{
    if (q->count == 0)
        return false;
    *out = q->items[0];
    event last = q->items[--q->count];
    size_t i = 0;
    size_t n = q->count;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before(&q->items[child + 1], &q->items[child]))
            child++;
        if (!before(&q->items[child], &last))
            break;
        q->items[i] = q->items[child];
        i = child;
    }
    if (n > 0)
        q->items[i] = last;
    return true;
}

const event *queue_peek(const event_queue *q)
{
    return q->count ? &q->items[0] : NULL;
}

size_t queue_count(const event_queue *q)
{
    return q->count;
}
