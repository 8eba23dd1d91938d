/*
 * perfetto: see perfetto.h. Events are emitted lane by lane in the view's
 * order, so the file is the same for the same trace; viewers sort by ts.
 */
#include "render/perfetto.h"
#include "base/buf.h"
#include "base/json.h"

#include <stdio.h>
#include <string.h>

/* A thread per kind of span, so that the slices of one thread always nest (an offline span and a
 * crash may overlap in any way; two of one kind never do). */
enum thread {
    THREAD_WRITES = 1,
    THREAD_SYNC,
    THREAD_OFFLINE,
    THREAD_PARTITION,
    THREAD_CRASHES,
    THREAD_CLOCK,
    THREAD_MESSAGES,
};

static const char *const THREAD_NAMES[] = { NULL,      "writes", "sync",  "offline",
                                            "partition", "crashes", "clock", "messages" };

/* A slice needs a length to hold a flow's end: sends and arrivals get one microsecond. */
#define POINT_SLICE_US 1

static cJSON *event(cJSON *events, const char *ph, const char *name, int lane, enum thread tid, int64_t ts_us)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "ph", ph);
    if (name)
        cJSON_AddStringToObject(e, "name", name);
    cJSON_AddNumberToObject(e, "pid", lane + 1);
    cJSON_AddNumberToObject(e, "tid", tid);
    cJSON_AddNumberToObject(e, "ts", (double)ts_us);
    cJSON_AddItemToArray(events, e);
    return e;
}

static void metadata(cJSON *events, const run_view *v)
{
    for (int lane = 0; lane < v->n_lanes; lane++) {
        cJSON *e = event(events, "M", "process_name", lane, THREAD_WRITES, 0);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "args"), "name", v->lanes[lane]);
        e = event(events, "M", "process_sort_index", lane, THREAD_WRITES, 0);
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(e, "args"), "sort_index", lane);
        for (int tid = THREAD_WRITES; tid <= THREAD_MESSAGES; tid++) {
            e = event(events, "M", "thread_name", lane, (enum thread)tid, 0);
            cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "args"), "name", THREAD_NAMES[tid]);
        }
    }
}

static void spans(cJSON *events, const run_view *v)
{
    for (size_t i = 0; i < v->n_spans; i++) {
        const view_span *s = &v->spans[i];
        const char *name = s->kind == SPAN_SYNC ? "sync round" : s->kind == SPAN_DOWN ? "crashed" : view_span_kind_name(s->kind);
        enum thread tid = s->kind == SPAN_SYNC      ? THREAD_SYNC
                          : s->kind == SPAN_OFFLINE ? THREAD_OFFLINE
                          : s->kind == SPAN_PARTITION ? THREAD_PARTITION
                                                      : THREAD_CRASHES;
        cJSON *e = event(events, "X", name, s->lane, tid, s->start_us);
        cJSON_AddNumberToObject(e, "dur", (double)(s->end_us - s->start_us));
        cJSON_AddStringToObject(e, "cat", view_span_kind_name(s->kind));
        if (s->detail)
            cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "args"), "detail", s->detail);
    }
}

static enum thread mark_thread(const char *kind)
{
    if (strcmp(kind, "write") == 0 || strcmp(kind, "refused") == 0 || strcmp(kind, "rejected") == 0 ||
        strcmp(kind, "dropped-write") == 0)
        return THREAD_WRITES;
    if (strcmp(kind, "crash") == 0 || strcmp(kind, "restart") == 0 || strcmp(kind, "node-failed") == 0)
        return THREAD_CRASHES;
    if (strcmp(kind, "clock") == 0)
        return THREAD_CLOCK;
    return THREAD_SYNC;
}

static void marks(cJSON *events, const run_view *v)
{
    for (size_t i = 0; i < v->n_marks; i++) {
        const view_mark *m = &v->marks[i];
        cJSON *e = event(events, "i", m->label, m->lane, mark_thread(m->kind), m->t_us);
        cJSON_AddStringToObject(e, "s", "t");
        cJSON_AddStringToObject(e, "cat", m->kind);
        if (m->w || m->w2) {
            cJSON *args = cJSON_AddObjectToObject(e, "args");
            if (m->w)
                cJSON_AddStringToObject(args, "write", m->w);
            if (m->w2)
                cJSON_AddStringToObject(args, "loser", m->w2);
        }
    }
}

static void messages(cJSON *events, const run_view *v)
{
    char name[160];
    for (size_t i = 0; i < v->n_messages; i++) {
        const view_message *m = &v->messages[i];
        bool arrived = m->arrived_us >= 0;
        if (m->drop)
            snprintf(name, sizeof name, "send to %s (%slost: %s)", v->lanes[m->to], m->duplicate ? "duplicate, " : "",
                     m->drop);
        else
            snprintf(name, sizeof name, "send to %s%s", v->lanes[m->to], m->duplicate ? " (duplicate)" : "");
        cJSON *e = event(events, "X", name, m->from, THREAD_MESSAGES, m->sent_us);
        cJSON_AddNumberToObject(e, "dur", POINT_SLICE_US);
        cJSON_AddStringToObject(e, "cat", "message");
        cJSON *args = cJSON_AddObjectToObject(e, "args");
        cJSON_AddNumberToObject(args, "bytes", (double)m->bytes);
        cJSON_AddStringToObject(args, "hash", m->hash);
        if (m->body)
            cJSON_AddStringToObject(args, "body", m->body);
        if (!arrived)
            continue;
        snprintf(name, sizeof name, "%s from %s", m->drop ? "lost on arrival" : "receive", v->lanes[m->from]);
        e = event(events, "X", name, m->to, THREAD_MESSAGES, m->arrived_us);
        cJSON_AddNumberToObject(e, "dur", POINT_SLICE_US);
        cJSON_AddStringToObject(e, "cat", "message");
        /* The flow: one id a copy, bound to the send slice and to the arrival slice. */
        e = event(events, "s", "message", m->from, THREAD_MESSAGES, m->sent_us);
        cJSON_AddStringToObject(e, "cat", "message");
        cJSON_AddNumberToObject(e, "id", (double)(i + 1));
        e = event(events, "f", "message", m->to, THREAD_MESSAGES, m->arrived_us);
        cJSON_AddStringToObject(e, "cat", "message");
        cJSON_AddNumberToObject(e, "id", (double)(i + 1));
        cJSON_AddStringToObject(e, "bp", "e");
    }
}

cJSON *perfetto_trace(const run_view *v, const cJSON *result)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *events = cJSON_AddArrayToObject(doc, "traceEvents");
    metadata(events, v);
    spans(events, v);
    marks(events, v);
    messages(events, v);
    cJSON_AddStringToObject(doc, "displayTimeUnit", "ms");
    cJSON *other = cJSON_AddObjectToObject(doc, "otherData");
    cJSON_AddStringToObject(other, "scenario", v->scenario ? v->scenario : "");
    cJSON_AddStringToObject(other, "profile", v->profile ? v->profile : "");
    char seed[24];   /* a string: a seed is any 64-bit number, beyond what a JSON number holds exactly */
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)v->seed);
    cJSON_AddStringToObject(other, "seed", seed);
    const cJSON *hash = result ? cJSON_GetObjectItemCaseSensitive(result, "trace_hash") : NULL;
    const cJSON *outcome = result ? cJSON_GetObjectItemCaseSensitive(result, "outcome") : NULL;
    if (cJSON_IsString(hash))
        cJSON_AddStringToObject(other, "trace_hash", hash->valuestring);
    if (cJSON_IsString(outcome))
        cJSON_AddStringToObject(other, "outcome", outcome->valuestring);
    if (v->truncated)
        cJSON_AddBoolToObject(other, "truncated", true);
    return doc;
}

bool perfetto_write(FILE *out, const run_view *v, const cJSON *result)
{
    cJSON *doc = perfetto_trace(v, result);
    buf b;
    buf_init(&b);
    json_write(&b, doc);
    buf_putc(&b, '\n');
    cJSON_Delete(doc);
    bool ok = fwrite(b.data, 1, b.len, out) == b.len;
    buf_free(&b);
    return ok;
}
