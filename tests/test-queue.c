/*
 * test-queue: events come out in (time, sequence) order -- ties in the order
 * they were scheduled -- whatever order they went in, and the bound holds.
 */
#include "base/xalloc.h"
#include "sim/pcg.h"
#include "sim/queue.h"
#include "tests/testlib.h"

#include <stdlib.h>

static void ties_are_fifo(void)
{
    event_queue q;
    queue_init(&q, 100);
    for (int i = 0; i < 10; i++)
        EXPECT(queue_push(&q, (event){ .time_us = 5, .arg = (uint64_t)i }));
    EXPECT(queue_push(&q, (event){ .time_us = 1, .arg = 100 }));
    event ev;
    EXPECT(queue_pop(&q, &ev));
    EXPECT_INT(ev.arg, 100);
    for (int i = 0; i < 10; i++) {
        EXPECT(queue_pop(&q, &ev));
        EXPECT_INT(ev.time_us, 5);
        EXPECT_INT(ev.arg, i);
    }
    EXPECT(!queue_pop(&q, &ev));
    EXPECT(queue_peek(&q) == NULL);
    queue_free(&q, NULL, NULL);
}

static void random_order(void)
{
    event_queue q;
    queue_init(&q, 100000);
    pcg32 rng;
    pcg32_seed(&rng, 9, 9);
    enum { N = 20000 };
    /* Interleave pushes and pops, as the world does. */
    int64_t last_time = -1;
    uint64_t last_seq = 0;
    int popped = 0;
    for (int i = 0; i < N; i++) {
        int64_t t = last_time < 0 ? 0 : last_time;
        EXPECT(queue_push(&q, (event){ .time_us = t + (int64_t)pcg32_bounded(&rng, 1000) }));
        if (pcg32_bounded(&rng, 3) == 0) {
            event ev;
            EXPECT(queue_pop(&q, &ev));
            EXPECT(ev.time_us > last_time || (ev.time_us == last_time && ev.seq > last_seq));
            last_time = ev.time_us;
            last_seq = ev.seq;
            popped++;
        }
    }
    event ev;
    while (queue_pop(&q, &ev)) {
        EXPECT(ev.time_us > last_time || (ev.time_us == last_time && ev.seq > last_seq));
        last_time = ev.time_us;
        last_seq = ev.seq;
        popped++;
    }
    EXPECT_INT(popped, N);
    EXPECT_INT(queue_count(&q), 0);
    queue_free(&q, NULL, NULL);
}

static void drop_counter(event *ev, void *ctx)
{
    (*(int *)ctx)++;
    xfree(ev->payload);
}

static void bound_and_free(void)
{
    event_queue q;
    queue_init(&q, 3);
    EXPECT(queue_push(&q, (event){ .time_us = 1, .payload = xmalloc(8) }));
    EXPECT(queue_push(&q, (event){ .time_us = 2, .payload = xmalloc(8) }));
    EXPECT(queue_push(&q, (event){ .time_us = 3, .payload = xmalloc(8) }));
    EXPECT(!queue_push(&q, (event){ .time_us = 4 }));   /* over the bound: refused, not grown */
    EXPECT_INT(queue_count(&q), 3);
    EXPECT_INT(queue_peek(&q)->time_us, 1);
    int dropped = 0;
    queue_free(&q, drop_counter, &dropped);   /* every pending payload handed back once */
    EXPECT_INT(dropped, 3);
}

int main(void)
{
    ties_are_fifo();
    random_order();
    bound_and_free();
    return test_exit("test-queue");
}
