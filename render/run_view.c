/*
 * run_view: see run_view.h. One pass over the trace builds spans and marks
 * as events open and close them and records every message copy with the
 * instant it is expected; the deliver events are kept aside and matched to
 * copies after the pass by a merge of two sorted lists (O(n log n), and
 * deterministic: ties fall back to trace order, never to addresses).
 */
#include "render/run_view.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/xalloc.h"

#include <assert.h>
#include <stdarg.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* A deliver event, kept for matching after the pass. */
typedef struct delivery {
    int64_t t_us;
    int from, to;
    const char *hash;
    const char *drop;        /* blocked at delivery, or NULL */
    size_t order;            /* trace order, the last tie-break */
} delivery;

/* A message copy waiting for its deliver event. */
typedef struct expected {
    int64_t t_us;
    int from, to;
    const char *hash;
    size_t message;          /* index into v->messages (which is also trace order) */
} expected;

typedef struct reader {
    run_view *v;
    size_t line;
    int *cut;                /* per lane: DIR_* bits of the partition open now (1 up, 2 down) */
    long *open_offline, *open_partition, *open_down, *open_sync;   /* per lane: span index, or -1 */
    delivery *deliveries;
    size_t n_deliveries, cap_deliveries;
    expected *expect;
    size_t n_expect, cap_expect;
    char *error;
} reader;

const char *view_span_kind_name(view_span_kind kind)
{
    switch (kind) {
    case SPAN_OFFLINE: return "offline";
    case SPAN_PARTITION: return "partition";
    case SPAN_DOWN: return "down";
    case SPAN_SYNC: return "sync";
    }
    return "?";
}

/* The first error, as "trace line N: why"; later ones are consequences. */
__attribute__((format(printf, 2, 3))) static bool fail(reader *r, const char *fmt, ...)
{
    if (!r->error) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "trace line %zu: ", r->line);
        va_list ap;
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        r->error = buf_take(&b);
    }
    return false;
}

static const char *text(const cJSON *e, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(e, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static bool integer(const cJSON *e, const char *key, int64_t *out)
{
    return json_number_int(cJSON_GetObjectItemCaseSensitive(e, key), -JSON_INT_LIMIT, JSON_INT_LIMIT, out);
}

/* The lane a replica's name is; -1 when it names none. Linear: lanes are few next to events, and
 * the name is compared, never its address. */
static int lane_of(const run_view *v, const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < v->n_lanes; i++)
        if (strcmp(v->lanes[i], name) == 0)
            return i;
    return -1;
}

static const char *keep(run_view *v, const char *s)
{
    return s ? arena_strdup(&v->a, s) : NULL;
}

static long span_open(reader *r, int lane, view_span_kind kind, int64_t t_us, const char *detail)
{
    run_view *v = r->v;
    xgrow(&v->spans, &v->cap_spans, v->n_spans + 1, sizeof *v->spans);
    v->spans[v->n_spans] = (view_span){ .lane = lane, .kind = kind, .start_us = t_us, .end_us = -1,
                                        .detail = keep(v, detail) };
    return (long)v->n_spans++;
}

static void span_close(reader *r, long *open, int64_t t_us)
{
    if (*open < 0)
        return;
    r->v->spans[*open].end_us = t_us;
    *open = -1;
}

static void mark(reader *r, int lane, int64_t t_us, const char *kind, const char *label, const char *w,
                 const char *w2)
{
    run_view *v = r->v;
    xgrow(&v->marks, &v->cap_marks, v->n_marks + 1, sizeof *v->marks);
    v->marks[v->n_marks++] = (view_mark){ .lane = lane, .t_us = t_us, .kind = kind, .label = keep(v, label),
                                          .w = keep(v, w), .w2 = keep(v, w2) };
}

static const char *body_text(run_view *v, const cJSON *msg)
{
    if (!msg)
        return NULL;
    if (v->body_bytes >= RUN_VIEW_BODIES_BYTES_MAX) {
        v->bodies_dropped = true;
        return NULL;
    }
    buf b;
    buf_init(&b);
    json_write(&b, msg);
    const char *s;
    if (b.len > RUN_VIEW_BODY_BYTES_MAX)
        s = arena_printf(&v->a, "%.*s ... (cut: %zu bytes in all)", RUN_VIEW_BODY_BYTES_MAX, b.data, b.len);
    else
        s = arena_strndup(&v->a, b.data, b.len);
    v->body_bytes += strlen(s);
    buf_free(&b);
    return s;
}

static void expect_copy(reader *r, int64_t t_us, size_t message)
{
    const view_message *m = &r->v->messages[message];
    xgrow(&r->expect, &r->cap_expect, r->n_expect + 1, sizeof *r->expect);
    r->expect[r->n_expect++] = (expected){ .t_us = t_us, .from = m->from, .to = m->to, .hash = m->hash,
                                           .message = message };
}

static bool on_send(reader *r, const cJSON *e, int64_t t_us)
{
    run_view *v = r->v;
    int from = lane_of(v, text(e, "from")), to = lane_of(v, text(e, "to"));
    const char *hash = text(e, "msg_hash"), *drop = text(e, "drop");
    int64_t bytes = 0, delay_us = 0, duplicate_delay_us = 0;
    if (from < 0 || to < 0 || !hash || !integer(e, "bytes", &bytes))
        return fail(r, "a send event without a known from, to, msg_hash and bytes");
    if (!drop && !integer(e, "delay_us", &delay_us))
        return fail(r, "a send event with neither drop nor delay_us");
    bool duplicate = integer(e, "duplicate_delay_us", &duplicate_delay_us);
    view_message m = {
        .from = from, .to = to, .sent_us = t_us, .expected_us = drop ? -1 : t_us + delay_us, .arrived_us = -1,
        .drop = keep(v, drop), .bytes = (uint64_t)bytes, .hash = keep(v, hash),
        .body = body_text(v, cJSON_GetObjectItemCaseSensitive(e, "msg")),
    };
    for (int copy = 0; copy < (duplicate ? 2 : 1); copy++) {
        xgrow(&v->messages, &v->cap_messages, v->n_messages + 1, sizeof *v->messages);
        v->messages[v->n_messages] = m;
        if (copy == 1) {
            v->messages[v->n_messages].duplicate = true;
            v->messages[v->n_messages].expected_us = t_us + duplicate_delay_us;
        }
        if (!drop)
            expect_copy(r, v->messages[v->n_messages].expected_us, v->n_messages);
        v->n_messages++;
    }
    return true;
}

static bool on_deliver(reader *r, const cJSON *e, int64_t t_us)
{
    int from = lane_of(r->v, text(e, "from")), to = lane_of(r->v, text(e, "to"));
    const char *hash = text(e, "msg_hash");
    if (from < 0 || to < 0 || !hash)
        return fail(r, "a deliver event without a known from, to and msg_hash");
    xgrow(&r->deliveries, &r->cap_deliveries, r->n_deliveries + 1, sizeof *r->deliveries);
    r->deliveries[r->n_deliveries] = (delivery){ .t_us = t_us, .from = from, .to = to,
                                                 .hash = keep(r->v, hash), .drop = keep(r->v, text(e, "drop")),
                                                 .order = r->n_deliveries };
    r->n_deliveries++;
    return true;
}

/* A partition's cut changed: the span of the old cut ends, one of the new cut (if any) begins. */
static void set_cut(reader *r, int lane, int cut, int64_t t_us)
{
    static const char *const NAMES[] = { NULL, "up", "down", "both" };
    if (cut == r->cut[lane])
        return;
    span_close(r, &r->open_partition[lane], t_us);
    r->cut[lane] = cut;
    if (cut)
        r->open_partition[lane] = span_open(r, lane, SPAN_PARTITION, t_us, NAMES[cut & 3]);
}

/* "clock steps back 15m": in the largest unit that divides the step. */
static void step_label(char *out, size_t cap, int64_t by_us)
{
    const char *way = by_us < 0 ? "back" : "forward";
    int64_t us = by_us < 0 ? -by_us : by_us;
    if (us >= 60000000 && us % 60000000 == 0)
        snprintf(out, cap, "clock steps %s %lldm", way, (long long)(us / 60000000));
    else if (us % 1000000 == 0)
        snprintf(out, cap, "clock steps %s %llds", way, (long long)(us / 1000000));
    else if (us % 1000 == 0)
        snprintf(out, cap, "clock steps %s %lldms", way, (long long)(us / 1000));
    else
        snprintf(out, cap, "clock steps %s %lldus", way, (long long)us);
}

static int direction_bits(const char *direction)
{
    if (!direction || strcmp(direction, "both") == 0)
        return 3;
    return strcmp(direction, "up") == 0 ? 1 : strcmp(direction, "down") == 0 ? 2 : 3;
}

static bool on_step(reader *r, const cJSON *e, int64_t t_us)
{
    run_view *v = r->v;
    const char *kind = text(e, "kind");
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(e, "nodes");
    if (!kind || !cJSON_IsArray(nodes))
        return fail(r, "a step event without kind and nodes");
    int bits = direction_bits(text(e, "direction"));
    const cJSON *n;
    cJSON_ArrayForEach(n, nodes) {
        int lane = lane_of(v, cJSON_IsString(n) ? n->valuestring : NULL);
        if (lane < 0)
            return fail(r, "a %s step names a replica the scenario does not have", kind);
        if (strcmp(kind, "offline") == 0) {
            if (r->open_offline[lane] < 0)
                r->open_offline[lane] = span_open(r, lane, SPAN_OFFLINE, t_us, NULL);
        } else if (strcmp(kind, "online") == 0) {
            span_close(r, &r->open_offline[lane], t_us);
        } else if (strcmp(kind, "partition") == 0) {
            set_cut(r, lane, r->cut[lane] | bits, t_us);
        } else if (strcmp(kind, "heal") == 0) {
            set_cut(r, lane, r->cut[lane] & ~bits, t_us);
        } else if (strcmp(kind, "crash") == 0) {
            if (r->open_down[lane] < 0)
                r->open_down[lane] = span_open(r, lane, SPAN_DOWN, t_us, NULL);
            span_close(r, &r->open_sync[lane], t_us);
            mark(r, lane, t_us, "crash", "crash", NULL, NULL);
        } else if (strcmp(kind, "restart") == 0) {
            span_close(r, &r->open_down[lane], t_us);
            mark(r, lane, t_us, "restart", "restart", NULL, NULL);
        } else if (strcmp(kind, "clock_step") == 0) {
            int64_t by_us = 0;
            integer(e, "by_us", &by_us);
            char label[64];
            step_label(label, sizeof label, by_us);
            mark(r, lane, t_us, "clock", label, NULL, NULL);
        }
        /* sync: the sync-begin observation that follows draws it. */
    }
    return true;
}

/* The final heal: every fault goes away at once (sim/world.c heal_all). */
static void on_heal(reader *r, int64_t t_us)
{
    for (int lane = 0; lane < r->v->n_lanes; lane++) {
        span_close(r, &r->open_offline[lane], t_us);
        set_cut(r, lane, 0, t_us);
        if (r->open_down[lane] >= 0) {
            span_close(r, &r->open_down[lane], t_us);
            mark(r, lane, t_us, "restart", "restart (final heal)", NULL, NULL);
        }
    }
}

static bool on_obs(reader *r, const cJSON *e, int64_t t_us)
{
    run_view *v = r->v;
    int lane = lane_of(v, text(e, "node"));
    const char *kind = text(e, "kind");
    if (lane < 0 || !kind)
        return fail(r, "an obs event without a known node and kind");
    char label[256];
    int64_t count = 0;
    if (strcmp(kind, "sync-begin") == 0) {
        integer(e, "queue", &count);
        span_close(r, &r->open_sync[lane], t_us);
        snprintf(label, sizeof label, "queue %lld", (long long)count);
        r->open_sync[lane] = span_open(r, lane, SPAN_SYNC, t_us, label);
    } else if (strcmp(kind, "sync-end") == 0) {
        long open = r->open_sync[lane];
        if (open >= 0 && integer(e, "pulled", &count))
            v->spans[open].detail = arena_printf(&v->a, "%s, pulled %lld", v->spans[open].detail, (long long)count);
        span_close(r, &r->open_sync[lane], t_us);
    } else if (strcmp(kind, "conflict") == 0) {
        snprintf(label, sizeof label, "conflict on %s/%s: %s", text(e, "type") ? text(e, "type") : "?",
                 text(e, "id") ? text(e, "id") : "?", text(e, "detail") ? text(e, "detail") : "");
        mark(r, lane, t_us, "conflict", label, text(e, "winner"), text(e, "loser"));
    } else if (strcmp(kind, "retry") == 0) {
        integer(e, "attempt", &count);
        snprintf(label, sizeof label, "retry, attempt %lld", (long long)count);
        mark(r, lane, t_us, "retry", label, NULL, NULL);
    } else if (strcmp(kind, "gave-up") == 0) {
        mark(r, lane, t_us, "gave-up", "gave up syncing", NULL, NULL);
    } else if (strcmp(kind, "refused") == 0 || strcmp(kind, "invalid") == 0) {
        snprintf(label, sizeof label, "%s %s: %s", kind, text(e, "w") ? text(e, "w") : "?",
                 text(e, "detail") ? text(e, "detail") : "");
        mark(r, lane, t_us, "rejected", label, text(e, "w"), NULL);
    } else if (strcmp(kind, "dropped") == 0) {
        snprintf(label, sizeof label, "dropped write %s", text(e, "w") ? text(e, "w") : "?");
        mark(r, lane, t_us, "dropped-write", label, text(e, "w"), NULL);
    }
    return true;
}

static bool on_event(reader *r, const cJSON *e)
{
    run_view *v = r->v;
    int64_t t_us;
    const char *ev = text(e, "ev");
    if (!cJSON_IsObject(e) || !ev || !integer(e, "t", &t_us) || t_us < 0)
        return fail(r, "not a trace event (an object with \"t\" and \"ev\")");
    if (t_us < v->end_us)
        return fail(r, "time goes backwards at a %s event", ev);
    v->end_us = t_us;
    char label[512];
    if (strcmp(ev, "start") == 0) {
        int64_t seed = 0;
        integer(e, "seed", &seed);
        v->scenario = keep(v, text(e, "scenario"));
        v->profile = keep(v, text(e, "profile"));
        v->seed = (uint64_t)seed;
    } else if (strcmp(ev, "send") == 0) {
        return on_send(r, e, t_us);
    } else if (strcmp(ev, "deliver") == 0) {
        return on_deliver(r, e, t_us);
    } else if (strcmp(ev, "step") == 0) {
        return on_step(r, e, t_us);
    } else if (strcmp(ev, "heal") == 0) {
        on_heal(r, t_us);
    } else if (strcmp(ev, "obs") == 0) {
        return on_obs(r, e, t_us);
    } else if (strcmp(ev, "op") == 0 || strcmp(ev, "refused") == 0) {
        int lane = lane_of(v, text(e, "node"));
        if (lane < 0)
            return fail(r, "the %s event names no replica of the scenario", ev);
        if (strcmp(ev, "op") == 0)
            snprintf(label, sizeof label, "%s %s %s/%s", text(e, "w") ? text(e, "w") : "?",
                     text(e, "op") ? text(e, "op") : "?", text(e, "type") ? text(e, "type") : "?",
                     text(e, "id") ? text(e, "id") : "?");
        else
            snprintf(label, sizeof label, "%s refused: %s", text(e, "w") ? text(e, "w") : "?",
                     text(e, "reason") ? text(e, "reason") : "");
        mark(r, lane, t_us, strcmp(ev, "op") == 0 ? "write" : "refused", label, text(e, "w"), NULL);
    } else if (strcmp(ev, "timer") == 0) {
        int lane = lane_of(v, text(e, "node"));
        if (lane < 0)
            return fail(r, "the %s event names no replica of the scenario", ev);
        snprintf(label, sizeof label, "timer %s", text(e, "timer") ? text(e, "timer") : "?");
        mark(r, lane, t_us, "timer", label, NULL, NULL);
    } else if (strcmp(ev, "storage") == 0) {
        /* A storage fault reaching (or skipping) a replica's store (docs/faults.md). */
        int lane = lane_of(v, text(e, "node"));
        if (lane < 0)
            return fail(r, "the %s event names no replica of the scenario", ev);
        const char *fault = text(e, "fault") ? text(e, "fault") : "?";
        int64_t writes = 0;
        integer(e, "writes", &writes);
        if (strcmp(fault, "io_error") == 0)
            snprintf(label, sizeof label, "storage: I/O error on the next %lld writing transaction(s)", (long long)writes);
        else
            snprintf(label, sizeof label, "storage: %s", strcmp(fault, "disk_full") == 0 ? "disk full" : "disk has space again");
        if (text(e, "skipped"))
            snprintf(label + strlen(label), sizeof label - strlen(label), " (skipped: %s)", text(e, "skipped"));
        mark(r, lane, t_us, "storage", label, NULL, NULL);
    } else if (strcmp(ev, "node-failed") == 0) {
        int lane = lane_of(v, text(e, "node"));
        if (lane >= 0)
            mark(r, lane, t_us, "node-failed", "the node failed (see the run's output)", NULL, NULL);
    }
    /* quiesced, deadline: the run's end, which end_us already holds. */
    return true;
}

/* Order of copies and deliveries by what identifies a message in flight: the instant it arrives,
 * its sender and receiver, and its hash. */
static int compare_key(int64_t ta, int fa, int toa, const char *ha, int64_t tb, int fb, int tob, const char *hb)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    if (fa != fb)
        return fa < fb ? -1 : 1;
    if (toa != tob)
        return toa < tob ? -1 : 1;
    return strcmp(ha, hb);
}

static int compare_expected(const void *pa, const void *pb)
{
    const expected *a = pa, *b = pb;
    int c = compare_key(a->t_us, a->from, a->to, a->hash, b->t_us, b->from, b->to, b->hash);
    return c ? c : a->message < b->message ? -1 : a->message > b->message;
}

static int compare_delivery(const void *pa, const void *pb)
{
    const delivery *a = pa, *b = pb;
    int c = compare_key(a->t_us, a->from, a->to, a->hash, b->t_us, b->from, b->to, b->hash);
    return c ? c : a->order < b->order ? -1 : a->order > b->order;
}

/*
 * Both lists sorted by (time, from, to, hash, trace order): a merge pairs each delivery with the
 * first copy of the same key not yet taken; copies passed over never arrived (the run ended with
 * them in flight, or the view was truncated). A delivery nobody sent, which the world never
 * writes, makes the trace malformed.
 */
static bool match_deliveries(reader *r)
{
    run_view *v = r->v;
    /* qsort's array may not be NULL even when empty (a trace without messages has none). */
    if (r->n_expect)
        qsort(r->expect, r->n_expect, sizeof *r->expect, compare_expected);
    if (r->n_deliveries)
        qsort(r->deliveries, r->n_deliveries, sizeof *r->deliveries, compare_delivery);
    size_t i = 0;
    for (size_t k = 0; k < r->n_deliveries; k++) {
        const delivery *d = &r->deliveries[k];
        int c = -1;
        while (i < r->n_expect) {
            const expected *x = &r->expect[i];
            c = compare_key(x->t_us, x->from, x->to, x->hash, d->t_us, d->from, d->to, d->hash);
            if (c >= 0)
                break;
            i++;
        }
        if (c != 0) {
            if (!r->error)
                r->error = xstrdup("trace: a deliver event matches no message sent");
            return false;
        }
        view_message *m = &v->messages[r->expect[i].message];
        m->arrived_us = d->t_us;
        m->drop = d->drop;
        i++;
    }
    for (size_t k = 0; k < v->n_messages; k++)
        if (v->messages[k].arrived_us < 0 && !v->messages[k].drop)
            v->messages[k].drop = "in flight";
    return true;
}

bool run_view_read(run_view *v, FILE *f, const char *const *lanes, const bool *starts_offline, int n_lanes,
                   char **error)
{
    assert(n_lanes >= 1 && lanes);
    memset(v, 0, sizeof *v);
    arena_init(&v->a, 64 * 1024);
    v->n_lanes = n_lanes;
    v->lanes = arena_alloc(&v->a, (size_t)n_lanes * sizeof *v->lanes);
    for (int i = 0; i < n_lanes; i++)
        v->lanes[i] = arena_strdup(&v->a, lanes[i]);

    reader r = { .v = v };
    r.cut = xcalloc((size_t)n_lanes, sizeof *r.cut);
    long **opens[] = { &r.open_offline, &r.open_partition, &r.open_down, &r.open_sync };
    for (size_t k = 0; k < sizeof opens / sizeof *opens; k++) {
        *opens[k] = xmalloc((size_t)n_lanes * sizeof **opens[k]);
        for (int i = 0; i < n_lanes; i++)
            (*opens[k])[i] = -1;
    }
    for (int i = 0; starts_offline && i < n_lanes; i++)
        if (starts_offline[i])
            r.open_offline[i] = span_open(&r, i, SPAN_OFFLINE, 0, NULL);

    char *line = NULL;
    size_t cap = 0;
    bool ok = true;
    while (ok && getline(&line, &cap, f) > 0) {
        if (v->events == RUN_VIEW_EVENTS_MAX) {
            v->truncated = true;
            break;
        }
        r.line = ++v->events;
        cJSON *e = cJSON_Parse(line);
        ok = e ? on_event(&r, e) : fail(&r, "not JSON");
        cJSON_Delete(e);
    }
    free(line);   /* getline's buffer comes from malloc */
    if (ok && ferror(f))
        ok = fail(&r, "cannot read the trace");
    if (ok)
        ok = match_deliveries(&r);
    for (size_t i = 0; ok && i < v->n_spans; i++)
        if (v->spans[i].end_us < 0)
            v->spans[i].end_us = v->end_us;

    xfree(r.cut);
    for (size_t k = 0; k < sizeof opens / sizeof *opens; k++)
        xfree(*opens[k]);
    xfree(r.deliveries);
    xfree(r.expect);
    if (!ok) {
        *error = r.error;
        run_view_free(v);
    }
    return ok;
}

void run_view_free(run_view *v)
{
    xfree(v->spans);
    xfree(v->messages);
    xfree(v->marks);
    arena_release(&v->a);
    memset(v, 0, sizeof *v);
}
