/*
 * test-wire: every wire dialect (engine/wire.h) spells the same four
 * messages, and this test holds each of them to three promises:
 *
 *   1. Encode, print as text, parse the text, decode: the structs come back
 *      equal -- every status (rolled-back and invalid with its error text
 *      included), force, entity_type, has_more and next, now, the hybrid
 *      clock, counters with their contributions, event logs, tombstones.
 *   2. The seed dialects' bodies use their design document's field names;
 *      a few per dialect are asserted literally, with the document quoted.
 *   3. Malformed messages (a member missing or of the wrong type, a wrong
 *      status, a bad time string, a number beyond 2^53, a wrong method or
 *      path) are refused, never acted on, and never crash the parser. Beside
 *      the hand-written cases, every member of every message is removed and
 *      retyped in turn (run under the sanitizer build, a crash fails it).
 *
 * The time helpers the dialects share (milliseconds as numbers and text,
 * ISO 8601) are checked for exact round trips here too.
 */
#include "base/arena.h"
#include "base/buf.h"
#include "base/json.h"
#include "engine/wire_dialect.h"
#include "tests/testlib.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* 2025-01-01T00:00:00Z in microseconds since the epoch: the simulator's device clocks start there. */
#define T0_US INT64_C(1735689600000000)

static value v_int(int64_t i) { return (value){ .kind = VAL_INT, .i = i }; }
static value v_real(double r) { return (value){ .kind = VAL_REAL, .r = r }; }
static value v_str(const char *s) { return (value){ .kind = VAL_STRING, .s = s }; }
static value v_bool(bool b) { return (value){ .kind = VAL_BOOL, .b = b }; }
static value v_null(void) { return (value){ .kind = VAL_NULL }; }

static stamp st_of(int node, uint32_t counter, int64_t ts_us, int64_t server_us, int64_t version)
{
    return (stamp){ .w = WRITE_ID(node, counter), .ts_us = ts_us, .h = { .l_us = ts_us + 7, .c = counter },
                    .server_us = server_us, .version = version };
}

/* The records every message carries: plain fields of every kind, a counter, an event log, a tombstone. */
typedef struct fixture {
    arena a;
    record plain;      /* workout_log/w1: int, real, string, bool and null fields */
    record counter;    /* workout_log/w2: "reps", a counter of two devices' contributions */
    record events;     /* workout_log/w3: two events (the activity document's ActivityEvents) */
    record tomb;       /* workout_log/w4: deleted */
    record plain_new;  /* the create of w1 as its device pushes it: never acknowledged */
    outbox_entry entries[6];
    int n_entries;
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    arena_init(&f->a, 1 << 16);
    arena *a = &f->a;

    record *r = &f->plain;
    record_init(r, a, "workout_log", "w1");
    r->tenant = "u1";
    r->version = 3;
    r->seq = 17;
    r->born_version = 1;
    r->updated_us = T0_US + 61000250;   /* below the millisecond: 250 us */
    stamp s = st_of(1, 4, T0_US + 60000123, T0_US + 61000250, 3);
    value sets = v_int(3);
    record_set_field(r, a, "sets", &sets, &s);
    value weight = v_real(62.5), title = v_str("leg day \"heavy\" / é"), done = v_bool(true), note = v_null();
    record_set_field(r, a, "weight", &weight, &s);
    record_set_field(r, a, "title", &title, &s);
    record_set_field(r, a, "done", &done, &s);
    record_set_field(r, a, "note", &note, &s);
    r->st = s;

    r = &f->counter;
    record_init(r, a, "workout_log", "w2");
    r->tenant = "u1";
    r->version = 5;
    r->seq = 18;
    r->born_version = 1;
    r->updated_us = T0_US + 120000000;
    stamp sc = st_of(2, 9, T0_US + 119000001, T0_US + 120000000, 5);
    counter_part parts[2] = { { .node = 1, .p = 5, .n = 1, .w = WRITE_ID(1, 3) },
                              { .node = 2, .p = 3, .n = 0, .w = WRITE_ID(2, 9) } };
    record_set_counter(r, a, "reps", parts, 2, &sc);
    r->st = sc;

    r = &f->events;
    record_init(r, a, "workout_log", "w3");
    r->tenant = "u1";
    r->version = 2;
    r->seq = 19;
    r->born_version = 1;
    r->updated_us = T0_US + 180000000;
    op_field start[1] = { { .name = "kind", .v = v_str("START") } };
    op_field pause[2] = { { .name = "kind", .v = v_str("PAUSE") }, { .name = "reason", .v = v_str("phone") } };
    log_event e1 = { .w = WRITE_ID(1, 6), .at_us = T0_US + 170000000, .server_us = T0_US + 171000000,
                     .n_fields = 1, .fields = start };
    log_event e2 = { .w = WRITE_ID(2, 11), .at_us = T0_US + 175000500, .server_us = 0, .n_fields = 2,
                     .fields = pause };
    record_add_event(r, a, &e1, EVENT_ORDER_OCCURRED, true);
    record_add_event(r, a, &e2, EVENT_ORDER_OCCURRED, true);
    r->st = st_of(2, 11, T0_US + 175000500, 0, 0);

    r = &f->tomb;
    record_init(r, a, "workout_log", "w4");
    r->tenant = "u1";
    r->deleted = true;
    r->version = 4;
    r->seq = 20;
    r->born_version = 1;
    r->updated_us = T0_US + 240000000;
    r->st = st_of(2, 12, T0_US + 239000000, T0_US + 240000000, 4);
    r->del = r->st;

    record_copy(&f->plain_new, &f->plain, a);
    f->plain_new.version = 0;
    f->plain_new.seq = 0;
    f->plain_new.born_version = 0;
    f->plain_new.updated_us = 0;

    static const char *SETS[] = { "sets" };
    static const char *REPS[] = { "reps" };
    static const char *ALL[] = { "done", "note", "sets", "title", "weight" };
    outbox_entry *e = f->entries;
    e[0] = (outbox_entry){ .seq = 1, .op = OP_CREATE, .type = "workout_log", .id = "w1", .base_version = 0,
                           .w = f->plain_new.st.w, .n_changed = 5, .changed = ALL,
                           .body = f->plain_new };
    e[1] = (outbox_entry){ .seq = 2, .op = OP_UPDATE, .type = "workout_log", .id = "w1", .base_version = 3,
                           .w = f->plain.st.w, .n_changed = 1, .changed = SETS, .body = f->plain };
    e[2] = (outbox_entry){ .seq = 3, .op = OP_UPDATE, .type = "workout_log", .id = "w1", .base_version = 3,
                           .w = f->plain.st.w, .n_changed = 5, .changed = ALL, .body = f->plain,
                           .force = true };
    e[3] = (outbox_entry){ .seq = 4, .op = OP_INCREMENT, .type = "workout_log", .id = "w2", .base_version = 5,
                           .w = f->counter.st.w, .n_changed = 1, .changed = REPS, .body = f->counter };
    e[4] = (outbox_entry){ .seq = 5, .op = OP_APPEND, .type = "workout_log", .id = "w3", .base_version = 2,
                           .w = f->events.st.w, .n_changed = 0, .changed = NULL, .body = f->events };
    e[5] = (outbox_entry){ .seq = 6, .op = OP_DELETE, .type = "workout_log", .id = "w4", .base_version = 4,
                           .w = f->tomb.st.w, .n_changed = 0, .changed = NULL, .body = f->tomb };
    f->n_entries = 6;
}

static void fixture_free(fixture *f)
{
    arena_release(&f->a);
}

static const wire_sender SENDER = { .device = "phone", .user = "u1", .now_us = T0_US + 300000777,
                                    .last_sync_us = T0_US + 250000001 };
static const hlc CLOCK = { .l_us = T0_US + 300500000, .c = 3 };
static const int64_t NOW_US = T0_US + 300500123;

/* --- comparing structs ------------------------------------------------------------------------ */

/* Records compare by their full JSON (record_to_json writes every member: stamps, counters, events). */
static bool same_record(const record *x, const record *y)
{
    cJSON *jx = record_to_json(x), *jy = record_to_json(y);
    char *tx = cJSON_PrintUnformatted(jx), *ty = cJSON_PrintUnformatted(jy);
    bool same = strcmp(tx, ty) == 0;
    if (!same)
        fprintf(stderr, "  record %s\n  became %s\n", tx, ty);
    cJSON_free(tx);
    cJSON_free(ty);
    cJSON_Delete(jx);
    cJSON_Delete(jy);
    return same;
}

static bool same_change(const outbox_entry *e, const wire_change *c)
{
    if (c->op_id != e->seq || c->op != e->op || c->base_version != e->base_version || c->force != e->force ||
        c->n_changed != e->n_changed)
        return false;
    for (int k = 0; k < e->n_changed; k++)
        if (strcmp(c->changed[k], e->changed[k]) != 0)
            return false;
    return same_record(&e->body, &c->rec);
}

static bool same_result(const wire_result *x, const wire_result *y)
{
    if (x->op_id != y->op_id || strcmp(x->status, y->status) != 0 || x->conflict != y->conflict ||
        (x->error == NULL) != (y->error == NULL) || (x->error && strcmp(x->error, y->error) != 0) ||
        (x->temp_id == NULL) != (y->temp_id == NULL) || (x->temp_id && strcmp(x->temp_id, y->temp_id) != 0))
        return false;
    return same_record(&x->rec, &y->rec);
}

/* --- text round trips: what goes on a real wire is the printed text ---------------------------- */

/* The message's text parsed again, as an external node's message arrives (msg is released). */
static cJSON *through_text(message *msg)
{
    char *text = cJSON_PrintUnformatted(message_json(msg));
    cJSON *back = cJSON_Parse(text);
    cJSON_free(text);
    message_release(msg);
    return back;
}

/* A test's tree as a JSON message for one call; the tree stays the test's. */
#define AS_MSG(tree) (&(message){ .refs = 1, .json = (tree) })

/* Find a member by a dotted path ("body.items.0.version": numbers index arrays). */
static cJSON *at_path(cJSON *root, const char *path)
{
    char part[128];
    cJSON *j = root;
    while (j && *path) {
        size_t len = strcspn(path, ".");
        if (len >= sizeof part)
            return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        path += len + (path[len] == '.');
        if (cJSON_IsArray(j)) {
            char *end;
            long index = strtol(part, &end, 10);
            j = *end ? NULL : cJSON_GetArrayItem(j, (int)index);
        } else {
            j = cJSON_GetObjectItemCaseSensitive(j, part);
        }
    }
    return j;
}

static bool has_member(cJSON *root, const char *path)
{
    return at_path(root, path) != NULL;
}

static const char *str_at(cJSON *root, const char *path)
{
    cJSON *j = at_path(root, path);
    return cJSON_IsString(j) ? j->valuestring : "(not a string)";
}

/* --- the four messages, built and parsed for one dialect --------------------------------------- */

typedef enum kind { K_PUSH, K_PUSH_RESULT, K_PULL, K_PULL_RESULT } kind;

/* The results every push_result test sends: every status, with and without the conflict flag. */
typedef struct result_set {
    int n;
    wire_result results[6];
} result_set;

/* Mixed outcomes of one push of entries 0..5 (a per-change batch). */
static result_set mixed_results(const fixture *f)
{
    result_set s = { .n = 6 };
    s.results[0] = (wire_result){ .op_id = 1, .status = "applied", .conflict = false, .rec = f->plain };
    s.results[1] = (wire_result){ .op_id = 2, .status = "merged", .conflict = true, .rec = f->plain };
    s.results[2] = (wire_result){ .op_id = 3, .status = "conflict", .conflict = true, .rec = f->plain };
    s.results[3] = (wire_result){ .op_id = 4, .status = "rejected", .conflict = true, .rec = f->counter };
    s.results[4] = (wire_result){ .op_id = 5, .status = "refused", .conflict = false, .rec = f->events };
    s.results[5] = (wire_result){ .op_id = 6, .status = "invalid", .conflict = false, .rec = f->tomb,
                                  .error = "sets: must be at most 10 (got 12)" };
    return s;
}

/* More outcomes: applied with a conflict (a write that won one), forbidden, a plain merge, and a
 * create the server named (ids: server: the answer carries the temporary id beside the record). */
static result_set more_results(const fixture *f)
{
    result_set s = { .n = 6 };
    s.results[0] = (wire_result){ .op_id = 1, .status = "applied", .conflict = true, .rec = f->plain,
                                  .temp_id = "temp_12345" };
    s.results[1] = (wire_result){ .op_id = 2, .status = "forbidden", .conflict = false, .rec = f->plain_new };
    s.results[2] = (wire_result){ .op_id = 3, .status = "merged", .conflict = false, .rec = f->plain };
    s.results[3] = (wire_result){ .op_id = 4, .status = "applied", .conflict = false, .rec = f->counter };
    s.results[4] = (wire_result){ .op_id = 5, .status = "applied", .conflict = false, .rec = f->events };
    s.results[5] = (wire_result){ .op_id = 6, .status = "conflict", .conflict = true, .rec = f->tomb };
    return s;
}

/* An atomic batch with one invalid change: the rest rolled back (server.c's reject_batch). */
static result_set rolled_back_results(fixture *f)
{
    result_set s = { .n = 6 };
    for (int i = 0; i < 6; i++) {
        record none;
        record_init(&none, &f->a, "workout_log", f->entries[i].id);
        none.tenant = "u1";
        s.results[i] = (wire_result){ .op_id = i + 1, .status = "rolled-back", .conflict = false, .rec = none };
    }
    s.results[2].status = "invalid";
    s.results[2].rec = f->plain;
    s.results[2].error = "title: longer than 10 characters";
    return s;
}

/* The push parsed back, which the server answers (the documents' conflict reports quote it). */
static wire_change *pushed_changes(const wire_dialect *d, fixture *f, arena *a)
{
    cJSON *msg = through_text(wire_push(d, &SENDER, 41, f->n_entries, f->entries));
    int n = 0;
    wire_change *changes = NULL;
    bool ok = wire_push_parse(d, AS_MSG(msg), a, &n, &changes);
    cJSON_Delete(msg);
    EXPECT(ok);
    EXPECT_INT(n, f->n_entries);
    return ok ? changes : NULL;
}

static void check_push(const wire_dialect *d, fixture *f)
{
    arena a;
    arena_init(&a, 1 << 16);
    cJSON *msg = through_text(wire_push(d, &SENDER, 41, f->n_entries, f->entries));
    int64_t req = 0;
    EXPECT(wire_req(AS_MSG(msg), &req));
    EXPECT_INT(req, 41);
    EXPECT_INT(wire_type(d, AS_MSG(msg)), MSG_PUSH);
    int n = -1;
    wire_change *changes = NULL;
    EXPECT(wire_push_parse(d, AS_MSG(msg), &a, &n, &changes));
    EXPECT_INT(n, f->n_entries);
    for (int i = 0; i < n && i < f->n_entries; i++)
        if (!same_change(&f->entries[i], &changes[i])) {
            fprintf(stderr, "%s: push change %d differs after the round trip\n", wire_dialect_name(d), i);
            test_failures++;
        }
    /* A push is no reply: the reply parsers refuse it. */
    hlc clock;
    int64_t now_us, next;
    wire_result *results;
    const record *records;
    bool more;
    EXPECT(!wire_push_result_parse(d, AS_MSG(msg), &a, &clock, &now_us, &n, &results));
    EXPECT(!wire_pull_result_parse(d, AS_MSG(msg), &a, &clock, &now_us, &n, &records, &next, &more));
    cJSON_Delete(msg);
    arena_release(&a);
}

static void check_push_result(const wire_dialect *d, fixture *f, const result_set *set)
{
    arena a;
    arena_init(&a, 1 << 16);
    wire_change *changes = pushed_changes(d, f, &a);
    if (!changes) {
        arena_release(&a);
        return;
    }
    cJSON *msg = through_text(wire_push_result(d, 41, CLOCK, NOW_US, set->n, changes, set->results));
    int64_t req = 0;
    EXPECT(wire_req(AS_MSG(msg), &req));
    EXPECT_INT(req, 41);
    hlc clock = { 0, 0 };
    int64_t now_us = 0;
    int n = -1;
    wire_result *results = NULL;
    EXPECT(wire_push_result_parse(d, AS_MSG(msg), &a, &clock, &now_us, &n, &results));
    EXPECT_INT(clock.l_us, CLOCK.l_us);
    EXPECT_INT(clock.c, CLOCK.c);
    EXPECT_INT(now_us, NOW_US);
    EXPECT_INT(n, set->n);
    for (int i = 0; i < n && i < set->n; i++)
        if (!same_result(&set->results[i], &results[i])) {
            fprintf(stderr, "%s: result %d (%s) differs after the round trip: came back %s\n", wire_dialect_name(d),
                    i, set->results[i].status, results[i].status);
            test_failures++;
        }
    /* A reply is not a request. */
    EXPECT(!wire_push_parse(d, AS_MSG(msg), &a, &n, &changes));
    cJSON_Delete(msg);
    arena_release(&a);
}

static void check_pull(const wire_dialect *d, int64_t since, const char *type, int limit)
{
    arena a;
    arena_init(&a, 1 << 12);
    cJSON *msg = through_text(wire_pull(d, &SENDER, 42, since, type, limit));
    int64_t req = 0, got_since = -1;
    EXPECT(wire_req(AS_MSG(msg), &req));
    EXPECT_INT(req, 42);
    EXPECT_INT(wire_type(d, AS_MSG(msg)), MSG_PULL);
    const char *got_type = "unset";
    int got_limit = -1;
    EXPECT(wire_pull_parse(d, AS_MSG(msg), &a, &got_since, &got_type, &got_limit));
    EXPECT_INT(got_since, since);
    EXPECT_INT(got_limit, limit);
    if (type)
        EXPECT_STR(got_type, type);
    else
        EXPECT(got_type == NULL);
    int n;
    wire_change *changes;
    EXPECT(!wire_push_parse(d, AS_MSG(msg), &a, &n, &changes));
    cJSON_Delete(msg);
    arena_release(&a);
}

static void check_pull_result(const wire_dialect *d, fixture *f, int64_t next, bool has_more)
{
    arena a;
    arena_init(&a, 1 << 16);
    record page[4] = { f->plain, f->counter, f->events, f->tomb };
    cJSON *msg = through_text(wire_pull_result(d, 42, CLOCK, NOW_US, 4, page, next, has_more));
    hlc clock = { 0, 0 };
    int64_t now_us = 0, got_next = -1;
    bool got_more = !has_more;
    int n = -1;
    const record *records = NULL;
    EXPECT(wire_pull_result_parse(d, AS_MSG(msg), &a, &clock, &now_us, &n, &records, &got_next, &got_more));
    EXPECT_INT(clock.l_us, CLOCK.l_us);
    EXPECT_INT(clock.c, CLOCK.c);
    EXPECT_INT(now_us, NOW_US);
    EXPECT_INT(got_next, next);
    EXPECT(got_more == has_more);
    EXPECT_INT(n, 4);
    for (int i = 0; i < n && i < 4; i++)
        if (!same_record(&page[i], &records[i])) {
            fprintf(stderr, "%s: pulled record %d differs after the round trip\n", wire_dialect_name(d), i);
            test_failures++;
        }
    cJSON_Delete(msg);

    /* An empty page too. */
    msg = through_text(wire_pull_result(d, 43, CLOCK, NOW_US, 0, page, 0, false));
    EXPECT(wire_pull_result_parse(d, AS_MSG(msg), &a, &clock, &now_us, &n, &records, &got_next, &got_more));
    EXPECT_INT(n, 0);
    EXPECT(!got_more);
    cJSON_Delete(msg);
    arena_release(&a);
}

/* --- malformed messages ------------------------------------------------------------------------- */

/*
 * Whether a replica acts on msg as a message of kind k, checking what the receiver checks: the
 * correlation id (both sides), what a request asks (the server dispatches on it), then the
 * kind's parser. The arena takes whatever the parser allocates.
 */
static bool accepts(const wire_dialect *d, kind k, cJSON *msg, arena *a)
{
    int64_t req;
    if (!wire_req(AS_MSG(msg), &req))
        return false;
    if ((k == K_PUSH && wire_type(d, AS_MSG(msg)) != MSG_PUSH) || (k == K_PULL && wire_type(d, AS_MSG(msg)) != MSG_PULL))
        return false;
    int n;
    wire_change *changes;
    wire_result *results;
    const record *records;
    hlc clock;
    int64_t now_us, since, next;
    const char *type;
    int limit;
    bool more;
    switch (k) {
    case K_PUSH: return wire_push_parse(d, AS_MSG(msg), a, &n, &changes);
    case K_PUSH_RESULT: return wire_push_result_parse(d, AS_MSG(msg), a, &clock, &now_us, &n, &results);
    case K_PULL: return wire_pull_parse(d, AS_MSG(msg), a, &since, &type, &limit);
    case K_PULL_RESULT: return wire_pull_result_parse(d, AS_MSG(msg), a, &clock, &now_us, &n, &records, &next, &more);
    }
    return false;
}

/* A valid message of kind k in dialect d, freshly built (through text, as it would arrive). */
static cJSON *valid_message(const wire_dialect *d, kind k, fixture *f, arena *a)
{
    switch (k) {
    case K_PUSH: return through_text(wire_push(d, &SENDER, 41, f->n_entries, f->entries));
    case K_PUSH_RESULT: {
        wire_change *changes = pushed_changes(d, f, a);
        result_set set = mixed_results(f);
        return changes ? through_text(wire_push_result(d, 41, CLOCK, NOW_US, set.n, changes, set.results)) : NULL;
    }
    case K_PULL: return through_text(wire_pull(d, &SENDER, 42, T0_US + 5000250, "workout_log", 100));
    case K_PULL_RESULT: {
        record page[4] = { f->plain, f->counter, f->events, f->tomb };
        return through_text(wire_pull_result(d, 42, CLOCK, NOW_US, 4, page, 57, true));
    }
    }
    return NULL;
}

/*
 * One hand-written case: in a valid message of kind k, the member at path is replaced by the
 * JSON text (NULL: removed), and the parser must refuse the result.
 */
typedef struct bad_case {
    kind k;
    const char *path;
    const char *replacement;
} bad_case;

static void check_refused(const wire_dialect *d, fixture *f, const bad_case *cases, int n_cases)
{
    for (int i = 0; i < n_cases; i++) {
        const bad_case *c = &cases[i];
        arena a;
        arena_init(&a, 1 << 16);
        cJSON *msg = valid_message(d, c->k, f, &a);
        if (!msg) {
            test_failures++;
            arena_release(&a);
            continue;
        }
        /* The unmutated message is accepted: a refusal below is the mutation's doing. */
        EXPECT(accepts(d, c->k, msg, &a));
        char parent_path[256];
        const char *dot = strrchr(c->path, '.');
        const char *name = dot ? dot + 1 : c->path;
        snprintf(parent_path, sizeof parent_path, "%.*s", dot ? (int)(dot - c->path) : 0, c->path);
        cJSON *parent = *parent_path ? at_path(msg, parent_path) : msg;
        bool found = parent && (cJSON_IsArray(parent) ? cJSON_GetArrayItem(parent, atoi(name)) != NULL
                                                     : cJSON_GetObjectItemCaseSensitive(parent, name) != NULL);
        if (!found && parent && cJSON_IsObject(parent) && c->replacement) {
            /* A member the valid message lacks, added. */
            cJSON_AddItemToObject(parent, name, cJSON_Parse(c->replacement));
            if (accepts(d, c->k, msg, &a)) {
                fprintf(stderr, "%s: accepted a message with %s added\n", wire_dialect_name(d), c->path);
                test_failures++;
            }
        } else if (!found) {
            fprintf(stderr, "%s: case %d: no member %s in the valid message\n", wire_dialect_name(d), i, c->path);
            test_failures++;
        } else {
            if (cJSON_IsArray(parent))
                cJSON_DeleteItemFromArray(parent, atoi(name));
            else
                cJSON_DeleteItemFromObjectCaseSensitive(parent, name);
            if (c->replacement) {
                cJSON *v = cJSON_Parse(c->replacement);
                EXPECT(v != NULL);
                if (cJSON_IsArray(parent))
                    cJSON_InsertItemInArray(parent, atoi(name), v);
                else
                    cJSON_AddItemToObject(parent, name, v);
            }
            if (accepts(d, c->k, msg, &a)) {
                fprintf(stderr, "%s: accepted a message with %s %s%s\n", wire_dialect_name(d), c->path,
                        c->replacement ? "set to " : "removed", c->replacement ? c->replacement : "");
                test_failures++;
            }
        }
        cJSON_Delete(msg);
        arena_release(&a);
    }
}

/* The node reached from root by taking child indices[0], then indices[1], ... */
static cJSON *by_indices(cJSON *root, const int *indices, int depth)
{
    for (int i = 0; i < depth && root; i++)
        root = cJSON_GetArrayItem(root, indices[i]);
    return root;
}

#define MUTATION_DEPTH_MAX 16

/*
 * Every member and array element of every message, removed and then replaced by a value of
 * another type, in turn, each on a fresh copy of the message: the parser must not crash (the
 * sanitizer build checks its memory too). node is the original's node at indices[0..depth).
 * Returns how many mutations were refused; *tried counts them.
 */
static int mutate_all(const wire_dialect *d, kind k, const cJSON *msg, const cJSON *node, int *indices, int depth,
                      arena *a, int *tried)
{
    int refused = 0;
    assert(depth < MUTATION_DEPTH_MAX);
    int size = cJSON_GetArraySize(node);
    for (int index = 0; index < size; index++) {
        for (int retype = 0; retype < 2; retype++) {
            cJSON *copy = cJSON_Duplicate(msg, true);
            cJSON *parent = by_indices(copy, indices, depth);
            cJSON *child = cJSON_GetArrayItem(parent, index);
            if (!retype) {
                cJSON_DeleteItemFromArray(parent, index);
            } else {
                /* A string where there was anything else, else a number. */
                cJSON *other = cJSON_IsString(child) ? cJSON_CreateNumber(7) : cJSON_CreateString("7");
                if (cJSON_IsObject(parent)) {
                    char name[128];
                    snprintf(name, sizeof name, "%s", child->string);
                    cJSON_ReplaceItemInObjectCaseSensitive(parent, name, other);
                } else {
                    cJSON_ReplaceItemInArray(parent, index, other);
                }
            }
            (*tried)++;
            refused += !accepts(d, k, copy, a);
            cJSON_Delete(copy);
        }
        const cJSON *child = cJSON_GetArrayItem(node, index);
        if (cJSON_IsObject(child) || cJSON_IsArray(child)) {
            indices[depth] = index;
            refused += mutate_all(d, k, msg, child, indices, depth + 1, a, tried);
        }
    }
    return refused;
}

static void check_mutations(const wire_dialect *d, fixture *f)
{
    for (kind k = K_PUSH; k <= K_PULL_RESULT; k++) {
        arena a;
        arena_init(&a, 1 << 16);
        cJSON *msg = valid_message(d, k, f, &a);
        if (!msg) {
            test_failures++;
            arena_release(&a);
            continue;
        }
        char *before = cJSON_PrintUnformatted(msg);
        int tried = 0;
        int indices[MUTATION_DEPTH_MAX];
        int refused = mutate_all(d, k, msg, msg, indices, 0, &a, &tried);
        /* The walk mutated copies only: the message is the one it started from. */
        char *after = cJSON_PrintUnformatted(msg);
        EXPECT_STR(after, before);
        EXPECT(accepts(d, k, msg, &a));
        /* Most mutations must be refused: a parser that accepted anything would refuse none. The bound
         * leaves room for optional members (force, entity_type, error) and record JSON's own leniency. */
        if (refused * 10 < tried * 7) {
            fprintf(stderr, "%s: message kind %d: only %d of %d mutations refused\n", wire_dialect_name(d), (int)k,
                    refused, tried);
            test_failures++;
        }
        cJSON_free(before);
        cJSON_free(after);
        cJSON_Delete(msg);
        arena_release(&a);
    }
}

/* --- per dialect --------------------------------------------------------------------------------- */

static void check_round_trips(const wire_dialect *d, fixture *f)
{
    check_push(d, f);
    result_set sets[3] = { mixed_results(f), more_results(f), rolled_back_results(f) };
    for (int i = 0; i < 3; i++)
        check_push_result(d, f, &sets[i]);
    check_pull(d, 0, NULL, 100);
    check_pull(d, T0_US + 5000250, "workout_log", 1);
    check_pull(d, 57, "settings", 100000);
    check_pull_result(d, f, 57, true);
    check_pull_result(d, f, T0_US + 300500123, false);
}

/* The document's field names, asserted literally on the messages as built. */
static void check_names(const wire_dialect *d, fixture *f)
{
    arena a;
    arena_init(&a, 1 << 16);
    cJSON *push = valid_message(d, K_PUSH, f, &a);
    cJSON *push_result = valid_message(d, K_PUSH_RESULT, f, &a);
    cJSON *pull = valid_message(d, K_PULL, f, &a);
    cJSON *pull_result = valid_message(d, K_PULL_RESULT, f, &a);
    const char *name = wire_dialect_name(d);
    if (strcmp(name, "syncsim") == 0) {
        /* engine/wire.h: {"type":"push","req":7,"device":"phone","changes":[{"op_id",...}]} */
        EXPECT_STR(str_at(push, "type"), "push");
        EXPECT_STR(str_at(push, "device"), "phone");
        EXPECT(has_member(push, "changes.0.op_id"));
        EXPECT_STR(str_at(push_result, "type"), "push_result");
        EXPECT_STR(str_at(push_result, "results.5.error"), "sets: must be at most 10 (got 12)");
        EXPECT_STR(str_at(pull, "entity_type"), "workout_log");
        EXPECT(has_member(pull_result, "has_more") && has_member(pull_result, "next"));
    } else if (strcmp(name, "activity-events") == 0) {
        /* "a single API endpoint (e.g., `/api/sync/activity`)"; request
         * {"lastSyncTimestamp": 1678886400000, "events": [{"id","attemptId","type","occurredAt",
         * "createdAt","source"}]}; response {"newEvents": [...], "newSyncTimestamp": 1678886403000} */
        EXPECT_STR(str_at(push, "path"), "/api/sync/activity");
        EXPECT_STR(str_at(push, "method"), "POST");
        EXPECT(cJSON_IsNumber(at_path(push, "body.lastSyncTimestamp")));
        EXPECT_STR(str_at(push, "body.events.0.attemptId"), "w3");
        EXPECT_STR(str_at(push, "body.events.0.type"), "PAUSE");
        EXPECT_STR(str_at(push, "body.events.0.id"), "evt_2_11");
        EXPECT(cJSON_IsNumber(at_path(push, "body.events.0.occurredAt")));
        EXPECT(cJSON_IsNumber(at_path(push, "body.events.0.createdAt")));
        EXPECT_STR(str_at(push, "body.events.0.source"), "user");
        EXPECT(cJSON_IsArray(at_path(push_result, "body.newEvents")));
        EXPECT(cJSON_IsNumber(at_path(push_result, "body.newSyncTimestamp")));
        EXPECT_STR(str_at(pull, "path"), "/api/sync/activity");
        EXPECT_STR(str_at(pull_result, "body.newEvents.0.type"), "START");
        EXPECT_STR(str_at(pull_result, "body.newEvents.1.type"), "PAUSE");
        EXPECT(cJSON_GetArraySize(at_path(pull_result, "body.newEvents")) == 2);
    } else if (strcmp(name, "ironflow") == 0) {
        /* message SyncRequest { string user_id = 1; string device_id = 2; repeated SyncItem items = 3; }
         * message SyncItem { string entity_type = 1; string entity_id = 2; string operation = 3;
         *                    bytes data = 4; int32 version = 5; int64 timestamp = 6; }
         * message SyncResult { string entity_id = 1; SyncStatus status = 2;  // success, conflict, error
         *                      bytes server_data = 3; int32 server_version = 4; string error_message = 5; } */
        EXPECT_STR(str_at(push, "body.user_id"), "u1");
        EXPECT_STR(str_at(push, "body.device_id"), "phone");
        EXPECT_STR(str_at(push, "body.items.0.entity_type"), "workout_log");
        EXPECT_STR(str_at(push, "body.items.0.entity_id"), "w1");
        EXPECT_STR(str_at(push, "body.items.0.operation"), "create");
        EXPECT_STR(str_at(push, "body.items.3.operation"), "update");   /* an increment */
        EXPECT_STR(str_at(push, "body.items.5.operation"), "delete");
        EXPECT(cJSON_IsObject(at_path(push, "body.items.0.data")));
        EXPECT(cJSON_IsNumber(at_path(push, "body.items.1.version")));
        EXPECT(cJSON_IsNumber(at_path(push, "body.items.0.timestamp")));
        EXPECT_STR(str_at(push_result, "body.results.0.status"), "success");
        EXPECT_STR(str_at(push_result, "body.results.2.status"), "conflict");
        EXPECT_STR(str_at(push_result, "body.results.5.status"), "error");
        EXPECT_STR(str_at(push_result, "body.results.5.error_message"), "sets: must be at most 10 (got 12)");
        EXPECT(cJSON_IsObject(at_path(push_result, "body.results.0.server_data")));
        EXPECT(cJSON_IsNumber(at_path(push_result, "body.results.0.server_version")));
        EXPECT(!has_member(push_result, "body.results.0.error_message"));   /* proto3 leaves it out */
        EXPECT_STR(str_at(pull_result, "body.items.0.entity_id"), "w1");
    } else if (strcmp(name, "stronglog") == 0) {
        /* "GET /api/v1/workout-logs?since={ts}", "POST /api/v1/workout-logs/batch"; local models gain
         * "`id` (client UUID), `clientCreatedAt`, `clientUpdatedAt`, `isDeleted`, `serverId`". */
        EXPECT_STR(str_at(push, "requests.0.method"), "POST");
        EXPECT_STR(str_at(push, "requests.0.path"), "/api/v1/workout-logs/batch");
        EXPECT_STR(str_at(push, "requests.0.body.0.id"), "w1");
        EXPECT(cJSON_IsNumber(at_path(push, "requests.0.body.0.clientUpdatedAt")));
        EXPECT(cJSON_IsFalse(at_path(push, "requests.0.body.0.isDeleted")));
        EXPECT(cJSON_IsTrue(at_path(push, "requests.0.body.5.isDeleted")));
        EXPECT(!has_member(push, "requests.0.body.0.serverId"));      /* a create: not stored yet */
        EXPECT_STR(str_at(push, "requests.0.body.1.serverId"), "w1");
        EXPECT(cJSON_IsNumber(at_path(push, "requests.0.body.0.sets")));   /* the entity's own fields */
        EXPECT_STR(str_at(pull, "method"), "GET");
        EXPECT_STR(str_at(pull, "path"), "/api/v1/workout-logs?since=1735689605000.250");
    } else if (strcmp(name, "smartdmv") == 0) {
        /* POST /api/sync/push {"operations": [{"id": 123, "operation": "create", "entityType",
         * "entityId", "data", "timestamp", "tenantId", "practiceId", "userId"}], "clientTimestamp"};
         * response {"success","processed","failed","conflicts","results":[{"operationId","success",
         * "realId","tempId","entityType"}]}, conflicts with "conflictData": {"localData","serverData",
         * "conflictType","affectedFields"}; GET /api/sync/pull?lastSyncTimestamp=1699...&practiceId=1
         * &entityTypes=appointments,pets -> {"success","timestamp","changes":[{"entityType",
         * "operation","id","data","updatedAt": "2024-11-10T12:00:00Z"}],"hasMore"} */
        EXPECT_STR(str_at(push, "path"), "/api/sync/push");
        EXPECT(cJSON_IsNumber(at_path(push, "body.operations.0.id")));
        EXPECT_STR(str_at(push, "body.operations.0.operation"), "create");
        EXPECT_STR(str_at(push, "body.operations.0.entityType"), "workout_log");
        EXPECT_STR(str_at(push, "body.operations.0.entityId"), "w1");
        EXPECT_STR(str_at(push, "body.operations.0.tenantId"), "u1");
        EXPECT(has_member(push, "body.operations.0.practiceId") && has_member(push, "body.operations.0.userId"));
        EXPECT(cJSON_IsNumber(at_path(push, "body.clientTimestamp")));
        EXPECT(cJSON_IsNumber(at_path(push_result, "body.processed")));
        EXPECT(cJSON_IsNumber(at_path(push_result, "body.failed")));
        EXPECT_INT(cJSON_GetNumberValue(at_path(push_result, "body.conflicts")), 3);
        EXPECT_INT(cJSON_GetNumberValue(at_path(push_result, "body.results.0.operationId")), 1);
        EXPECT_STR(str_at(push_result, "body.results.0.realId"), "w1");
        EXPECT_STR(str_at(push_result, "body.results.0.tempId"), "w1");
        {
            /* "ID Mapping": a create the server named answers with both ids, tempId natively. */
            result_set named = more_results(f);
            wire_change *changes = pushed_changes(d, f, &a);
            cJSON *answer = through_text(wire_push_result(d, 7, CLOCK, NOW_US, named.n, changes, named.results));
            EXPECT_STR(str_at(answer, "body.results.0.realId"), "w1");
            EXPECT_STR(str_at(answer, "body.results.0.tempId"), "temp_12345");
            EXPECT(!has_member(answer, "body.results.0._syncsim.temp_id"));
            EXPECT_STR(str_at(answer, "body.results.1.tempId"), str_at(answer, "body.results.1.realId"));
            cJSON_Delete(answer);
        }
        EXPECT(cJSON_IsTrue(at_path(push_result, "body.results.2.conflict")));
        EXPECT_STR(str_at(push_result, "body.results.2.conflictData.conflictType"), "timestamp");
        EXPECT(cJSON_IsArray(at_path(push_result, "body.results.2.conflictData.affectedFields")));
        EXPECT(cJSON_IsObject(at_path(push_result, "body.results.2.conflictData.localData")));
        EXPECT(cJSON_IsObject(at_path(push_result, "body.results.2.conflictData.serverData")));
        EXPECT_STR(str_at(pull, "method"), "GET");
        EXPECT_STR(str_at(pull, "path"),
                   "/api/sync/pull?lastSyncTimestamp=1735689605000.250&practiceId=u1&entityTypes=workout_log");
        EXPECT_STR(str_at(pull_result, "body.changes.0.entityType"), "workout_log");
        EXPECT_STR(str_at(pull_result, "body.changes.0.operation"), "update");
        EXPECT_STR(str_at(pull_result, "body.changes.3.operation"), "delete");
        EXPECT_STR(str_at(pull_result, "body.changes.0.updatedAt"), "2025-01-01T00:01:01.000250Z");
        EXPECT(cJSON_IsTrue(at_path(pull_result, "body.hasMore")));
    } else if (strcmp(name, "delta-sync") == 0) {
        /* POST /sync/delta {"last_sync_at": "2025-11-10T12:00:00Z", "changes": [{"entity_type",
         * "entity_id","action","data","version","client_timestamp"}],"device_id"}; response
         * {"server_changes","conflicts":[{"entity_type","entity_id","conflict_reason","resolution",
         * "client_version","server_version","server_data"}],"last_sync_at","success","applied_count",
         * "error_count"} */
        EXPECT_STR(str_at(push, "path"), "/sync/delta");
        EXPECT_STR(str_at(push, "body.last_sync_at"), "2025-01-01T00:04:10.000001Z");
        EXPECT_STR(str_at(push, "body.device_id"), "phone");
        EXPECT_STR(str_at(push, "body.changes.0.entity_type"), "workout_log");
        EXPECT_STR(str_at(push, "body.changes.0.action"), "create");
        EXPECT_STR(str_at(push, "body.changes.5.action"), "delete");
        EXPECT_STR(str_at(push, "body.changes.0.client_timestamp"), "2025-01-01T00:01:00.000123Z");
        EXPECT(cJSON_IsArray(at_path(push_result, "body.server_changes")));
        EXPECT_STR(str_at(push_result, "body.conflicts.0.conflict_reason"), "Version mismatch");
        EXPECT_STR(str_at(push_result, "body.conflicts.0.resolution"), "merged");
        EXPECT_STR(str_at(push_result, "body.conflicts.1.resolution"), "manual");
        EXPECT_STR(str_at(push_result, "body.conflicts.2.resolution"), "server_wins");
        EXPECT(cJSON_IsNumber(at_path(push_result, "body.conflicts.0.client_version")));
        EXPECT(cJSON_IsNumber(at_path(push_result, "body.conflicts.0.server_version")));
        EXPECT(cJSON_IsFalse(at_path(push_result, "body.success")));
        EXPECT_INT(cJSON_GetNumberValue(at_path(push_result, "body.applied_count")), 2);
        EXPECT_INT(cJSON_GetNumberValue(at_path(push_result, "body.error_count")), 2);
        EXPECT_STR(str_at(pull_result, "body.server_changes.0.entity_id"), "w1");
        EXPECT_STR(str_at(pull_result, "body.last_sync_at"), "2025-01-01T00:05:00.500123Z");
    } else {
        fprintf(stderr, "no field-name checks for dialect %s\n", name);
        test_failures++;
    }
    cJSON_Delete(push);
    cJSON_Delete(push_result);
    cJSON_Delete(pull);
    cJSON_Delete(pull_result);
    arena_release(&a);
}

#define BEYOND_2_53 "9007199254740994"
#define N(x) ((int)(sizeof(x) / sizeof((x)[0])))

static void check_malformed(const wire_dialect *d, fixture *f)
{
    const char *name = wire_dialect_name(d);
    if (strcmp(name, "syncsim") == 0) {
        static const bad_case CASES[] = {
            { K_PUSH, "changes", NULL },
            { K_PUSH, "changes", "{}" },
            { K_PUSH, "changes.0.op_id", "\"1\"" },
            { K_PUSH, "changes.0.op", "\"resolve\"" },   /* never on the wire */
            { K_PUSH, "changes.0.force", "1" },
            { K_PUSH, "changes.5.op", "\"update\"" },    /* a tombstone is a delete */
            { K_PUSH, "changes.1.changed.0", "\"reps\"" }, /* no such field */
            { K_PUSH_RESULT, "type", "\"pull_result\"" },
            { K_PUSH_RESULT, "hlc", "[1]" },
            { K_PUSH_RESULT, "now", "1e19" },               /* beyond int64 */
            { K_PUSH_RESULT, "results.0.conflict", "\"no\"" },
            { K_PUSH_RESULT, "results.0.record", NULL },
            { K_PULL, "since", "-1" },
            { K_PULL, "limit", "0" },
            { K_PULL, "entity_type", "3" },
            { K_PULL_RESULT, "type", "\"push_result\"" },
            { K_PULL_RESULT, "has_more", "1" },
            { K_PULL_RESULT, "next", NULL },
        };
        check_refused(d, f, CASES, N(CASES));
    } else if (strcmp(name, "activity-events") == 0) {
        static const bad_case CASES[] = {
            { K_PUSH, "method", "\"GET\"" },
            { K_PUSH, "path", "\"/api/sync/activities\"" },
            { K_PUSH, "body.lastSyncTimestamp", NULL },
            { K_PUSH, "body.lastSyncTimestamp", "\"1678886400000\"" },   /* a number in the document */
            { K_PUSH, "body.events.0.occurredAt", "1678886401000" },     /* not the event's time */
            { K_PUSH, "body.events.0.occurredAt", "1e300" },
            { K_PUSH, "body.events.0.id", "\"evt_local_123\"" },
            { K_PUSH, "body.events.0.attemptId", "\"atmpt_abc\"" },
            { K_PUSH, "body.events.0._syncsim.pos", "0" },               /* taken by the first change */
            { K_PUSH, "body.events.0._syncsim.op_id", BEYOND_2_53 },
            { K_PUSH, "body._syncsim.recordChanges.0.pos", "99" },
            { K_PUSH_RESULT, "status", "400" },                           /* nothing was rolled back */
            { K_PUSH_RESULT, "body.newEvents", "[{}]" },
            { K_PUSH_RESULT, "body._syncsim.results.0.status", "\"ok\"" },
            { K_PUSH_RESULT, "body._syncsim.hlc", NULL },
            { K_PULL, "body.lastSyncTimestamp", "-5" },
            { K_PULL, "body._syncsim.limit", "1000001" },
            { K_PULL_RESULT, "status", "500" },
            { K_PULL_RESULT, "body.newEvents.1", NULL },                  /* an event of a record missing */
            { K_PULL_RESULT, "body.newSyncTimestamp", NULL },
            { K_PULL_RESULT, "body._syncsim.next", BEYOND_2_53 },
        };
        check_refused(d, f, CASES, N(CASES));
    } else if (strcmp(name, "ironflow") == 0) {
        static const bad_case CASES[] = {
            { K_PUSH, "path", "\"/ironflow.SyncService/Pull\"" },
            { K_PUSH, "method", "\"PUT\"" },
            { K_PUSH, "body.user_id", NULL },
            { K_PUSH, "body.device_id", "42" },
            { K_PUSH, "body.items.0.operation", "\"upsert\"" },
            { K_PUSH, "body.items.0.operation", "\"delete\"" },           /* not a tombstone */
            { K_PUSH, "body.items.1.version", BEYOND_2_53 },
            { K_PUSH, "body.items.1.version", "2.5" },
            { K_PUSH, "body.items.0.timestamp", "\"1735689660000123\"" },
            { K_PUSH, "body.items.0.data.sets", "4" },                    /* disagrees with the change */
            { K_PUSH, "body.items.0.data.extra", "1" },                   /* a field the record lacks */
            { K_PUSH_RESULT, "body.results.0.status", "\"ok\"" },
            { K_PUSH_RESULT, "body.results.0.status", "\"error\"" },
            { K_PUSH_RESULT, "body.results.5.error_message", NULL },
            { K_PUSH_RESULT, "body.results.0.server_version", "4" },
            { K_PUSH_RESULT, "status", "400" },
            { K_PULL, "path", "\"/ironflow.SyncService/Sync\"" },
            { K_PULL, "body.since", BEYOND_2_53 },
            { K_PULL, "body.limit", "\"100\"" },
            { K_PULL_RESULT, "body.items.0.version", "9" },
            { K_PULL_RESULT, "body.server_time", NULL },
            { K_PULL_RESULT, "body.has_more", "\"false\"" },
        };
        check_refused(d, f, CASES, N(CASES));
    } else if (strcmp(name, "stronglog") == 0) {
        static const bad_case CASES[] = {
            { K_PUSH, "requests.0.path", "\"/api/v1/exercises/batch\"" },  /* the records are workout logs */
            { K_PUSH, "requests.0.path", "\"/api/v1/workout-logs/batch?x=1\"" },
            { K_PUSH, "requests.0.method", "\"PUT\"" },
            { K_PUSH, "requests.0.body", "[]" },
            { K_PUSH, "requests.0.body.0.clientUpdatedAt", "\"2025-01-01T00:01:00Z\"" },
            { K_PUSH, "requests.0.body.0.isDeleted", "true" },
            { K_PUSH, "requests.0.body.1.serverId", "\"w9\"" },
            { K_PUSH, "requests.0.body.0._syncsim.base_version", BEYOND_2_53 },
            { K_PUSH_RESULT, "responses.0.status", "201" },
            { K_PUSH_RESULT, "responses.0.body.serverTime", "\"now\"" },
            { K_PUSH_RESULT, "responses.0.body.records.0.serverUpdatedAt", NULL },
            { K_PUSH_RESULT, "responses.0.body.records.0._syncsim.status", "\"applied\"" }, /* the default twice */
            { K_PULL, "method", "\"POST\"" },
            { K_PULL, "path", "\"/api/v1/workout-logs?since=abc\"" },
            { K_PULL, "path", "\"/api/v1/workout-logs?since=1735689605000.2501\"" },   /* below the microsecond */
            { K_PULL, "path", "\"/api/v1/workout-logs?since=99999999999999999\"" },
            { K_PULL, "path", "\"/api/v1/workout-logs\"" },
            { K_PULL, "path", "\"/api/v1/exercises?since=1735689605000.250\"" },
            { K_PULL_RESULT, "status", "404" },
            { K_PULL_RESULT, "body.hasMore", NULL },
            { K_PULL_RESULT, "body.records.3.isDeleted", "false" },
        };
        check_refused(d, f, CASES, N(CASES));
    } else if (strcmp(name, "smartdmv") == 0) {
        static const bad_case CASES[] = {
            { K_PUSH, "path", "\"/api/sync/pull\"" },
            { K_PUSH, "method", "\"GET\"" },
            { K_PUSH, "body.operations.0.id", BEYOND_2_53 },
            { K_PUSH, "body.operations.0.id", "\"123\"" },
            { K_PUSH, "body.operations.0.timestamp", "\"1699\"" },
            { K_PUSH, "body.operations.0.tenantId", "\"tenant_2\"" },
            { K_PUSH, "body.clientTimestamp", NULL },
            { K_PUSH, "body.operations.0.entityType", "\"appointments\"" },
            { K_PUSH_RESULT, "body.processed", "6" },
            { K_PUSH_RESULT, "body.success", "true" },
            { K_PUSH_RESULT, "body.results.2.conflict", "false" },
            { K_PUSH_RESULT, "body.results.2.conflictData", NULL },
            { K_PUSH_RESULT, "body.results.0.success", "false" },
            { K_PUSH_RESULT, "body.results.0.realId", "456" },
            { K_PULL, "method", "\"POST\"" },
            { K_PULL, "path", "\"/api/sync/pull?practiceId=u1\"" },
            { K_PULL, "path", "\"/api/sync/pull?lastSyncTimestamp=1699...&practiceId=1\"" },
            { K_PULL, "path", "\"/api/sync/pull?lastSyncTimestamp=1&practiceId=1&entityTypes=appointments,pets\"" },
            { K_PULL, "path", "\"/api/sync/pull?lastSyncTimestamp=1&practiceId=1&entityTypes=a%zz\"" },
            { K_PULL, "_syncsim", NULL },
            { K_PULL_RESULT, "body.success", "false" },
            { K_PULL_RESULT, "body.changes.0.updatedAt", "\"2024-11-10T12:00:00\"" },   /* no zone */
            { K_PULL_RESULT, "body.changes.0.updatedAt", "\"2025-02-29T00:00:00Z\"" },  /* not a leap year */
            { K_PULL_RESULT, "body.changes.0.updatedAt", "1735689661000" },
            { K_PULL_RESULT, "body.changes.0.operation", "\"delete\"" },
            { K_PULL_RESULT, "body.timestamp", "1e300" },
        };
        check_refused(d, f, CASES, N(CASES));
    } else if (strcmp(name, "delta-sync") == 0) {
        static const bad_case CASES[] = {
            { K_PUSH, "path", "\"/sync/deltas\"" },
            { K_PUSH, "method", "\"GET\"" },
            { K_PUSH, "body.last_sync_at", "\"2025-11-10 12:00:00Z\"" },
            { K_PUSH, "body.last_sync_at", "\"2025-13-10T12:00:00Z\"" },
            { K_PUSH, "body.last_sync_at", "\"2025-11-10T24:00:00Z\"" },
            { K_PUSH, "body.last_sync_at", "\"2025-11-10T12:00:00.1234567Z\"" },
            { K_PUSH, "body.last_sync_at", "1762776000000" },
            { K_PUSH, "body.device_id", NULL },
            { K_PUSH, "body.changes.0.client_timestamp", "\"2025-01-01T00:01:00Z\"" },   /* not the write's */
            { K_PUSH, "body.changes.0.action", "\"upsert\"" },
            { K_PUSH, "body.changes.1.version", BEYOND_2_53 },
            { K_PUSH_RESULT, "body.applied_count", "15" },
            { K_PUSH_RESULT, "body.error_count", "\"2\"" },
            { K_PUSH_RESULT, "body.success", "true" },
            { K_PUSH_RESULT, "body.conflicts.0._syncsim.op_id", "99" },   /* a conflict of no change */
            { K_PUSH_RESULT, "body.conflicts.0.entity_id", "\"w9\"" },
            { K_PUSH_RESULT, "body.conflicts.0.resolution", "\"client_wins\"" },
            { K_PUSH_RESULT, "body.server_changes", "[{}]" },
            { K_PUSH_RESULT, "status", "400" },
            { K_PULL, "body.last_sync_at", "\"yesterday\"" },
            { K_PULL, "body._syncsim", NULL },
            { K_PULL_RESULT, "body.success", "false" },
            { K_PULL_RESULT, "body.server_changes.0.version", "2" },
            { K_PULL_RESULT, "body.last_sync_at", "\"2025-01-01T00:05:00.500123\"" },
            { K_PULL_RESULT, "body.conflicts", "[{}]" },
        };
        check_refused(d, f, CASES, N(CASES));
    } else {
        fprintf(stderr, "no malformed-message cases for dialect %s\n", name);
        test_failures++;
    }
    check_mutations(d, f);
}

/* --- the shared time helpers --------------------------------------------------------------------- */

static void check_times(void)
{
    static const int64_t SAMPLES[] = { 0, 1, 999, 1000, 1001, -1, -1000, -1001, T0_US, T0_US + 1, T0_US + 999,
                                       T0_US + 123456,
                                       (INT64_C(1) << 51) - 1, -(INT64_C(1) << 51) + 1,
                                       INT64_C(2240611199999999) /* 2040-12-31T23:59:59.999999Z */ };
    for (int i = 0; i < N(SAMPLES); i++) {
        int64_t us = SAMPLES[i], back = -7;
        /* Through the text cJSON prints: what the other side reads. */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "t", wire_ms_json(us));
        cJSON *parsed = through_text(message_of_json(o));
        EXPECT(wire_ms_get(parsed, "t", &back));
        EXPECT_INT(back, us);
        cJSON_Delete(parsed);

        char text[WIRE_MS_TEXT_MAX];
        wire_ms_text(us, text);
        back = -7;
        EXPECT(wire_ms_text_parse(text, &back));
        EXPECT_INT(back, us);

        o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "t", wire_iso_json(us));
        back = -7;
        if (us >= -INT64_C(62135596800000000)) {   /* year 1 onwards: four digits */
            EXPECT(wire_iso_get(o, "t", &back));
            EXPECT_INT(back, us);
        }
        cJSON_Delete(o);
    }
    /* A spread of microseconds over every year the millisecond forms carry (to 2^51 us, 2041). */
    for (int64_t us = T0_US - INT64_C(86400000000) * 365 * 50; us < (INT64_C(1) << 51);
         us += INT64_C(86400000000) * 37 + 123457) {
        int64_t back = -7;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "t", wire_ms_json(us));
        cJSON *parsed = through_text(message_of_json(o));
        if (!wire_ms_get(parsed, "t", &back) || back != us) {
            fprintf(stderr, "milliseconds of %lld us read back as %lld\n", (long long)us, (long long)back);
            test_failures++;
            cJSON_Delete(parsed);
            break;
        }
        cJSON_Delete(parsed);
    }

    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "t", wire_iso_json(T0_US + 250));
    EXPECT_STR(str_at(o, "t"), "2025-01-01T00:00:00.000250Z");
    cJSON_DeleteItemFromObject(o, "t");
    cJSON_AddItemToObject(o, "t", wire_iso_json(T0_US + 250000));
    EXPECT_STR(str_at(o, "t"), "2025-01-01T00:00:00.250Z");
    cJSON_DeleteItemFromObject(o, "t");
    cJSON_AddItemToObject(o, "t", wire_iso_json(-1));
    EXPECT_STR(str_at(o, "t"), "1969-12-31T23:59:59.999999Z");
    cJSON_Delete(o);

    static const char *const BAD_ISO[] = {
        "2025-01-01T00:00:00",      "2025-01-01T00:00:00+01:00", "2025-1-01T00:00:00Z",  "2025-01-01 00:00:00Z",
        "2025-04-31T00:00:00Z",     "2024-02-30T00:00:00Z",      "2025-01-01T00:60:00Z", "2025-01-01T00:00:00.Z",
        "2025-01-01T00:00:00.1234567Z", "2025-01-01T00:00:00ZZ", "",                     "x025-01-01T00:00:00Z",
    };
    for (int i = 0; i < N(BAD_ISO); i++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "t", BAD_ISO[i]);
        int64_t us;
        if (wire_iso_get(j, "t", &us)) {
            fprintf(stderr, "accepted the time \"%s\"\n", BAD_ISO[i]);
            test_failures++;
        }
        cJSON_Delete(j);
    }
    cJSON *leap = cJSON_CreateObject();
    cJSON_AddStringToObject(leap, "t", "2024-02-29T12:00:00.5Z");
    int64_t leap_us = 0;
    EXPECT(wire_iso_get(leap, "t", &leap_us));
    EXPECT_INT(leap_us, INT64_C(1709208000500000));
    cJSON_Delete(leap);

    static const char *const BAD_MS[] = { "", "-", "1.", ".5", "1.2345", "1e3", " 1", "1 ", "0x10", "2251799813685.248" /* 2^51 us */ };
    for (int i = 0; i < N(BAD_MS); i++) {
        int64_t us;
        if (wire_ms_text_parse(BAD_MS[i], &us)) {
            fprintf(stderr, "accepted the millisecond text \"%s\"\n", BAD_MS[i]);
            test_failures++;
        }
    }
    /* Numbers: beyond 2^53 and fractions are no integers; milliseconds beyond the limit are refused. */
    cJSON *nums = cJSON_Parse("{\"a\":9007199254740992,\"b\":9007199254740991,\"c\":1.5,\"d\":\"1\",\"e\":1e300}");
    int64_t v;
    EXPECT(!wj_int(nums, "a", &v));
    EXPECT(wj_int(nums, "b", &v) && v == INT64_C(9007199254740991));
    EXPECT(!wj_int(nums, "c", &v));
    EXPECT(!wj_int(nums, "d", &v));
    EXPECT(!wire_ms_get(nums, "e", &v));
    EXPECT(!wire_ms_get(nums, "d", &v));
    cJSON_Delete(nums);
}

/* Query strings: values are percent-encoded, and read back; anything malformed is refused. */
static void check_queries(void)
{
    arena a;
    arena_init(&a, 1 << 12);
    buf path;
    buf_init(&path);
    buf_puts(&path, "/api/sync/pull");
    wire_query_add(&path, "practiceId", "u 1&x=é");
    wire_query_add(&path, "entityTypes", "workout_log");
    EXPECT_STR(path.data, "/api/sync/pull?practiceId=u%201%26x%3D%C3%A9&entityTypes=workout_log");
    const char *value;
    EXPECT(wire_query_get(path.data, "practiceId", &a, &value));
    EXPECT_STR(value, "u 1&x=é");
    EXPECT(wire_query_get(path.data, "missing", &a, &value) && value == NULL);
    EXPECT(wire_query_path_is(path.data, "/api/sync/pull"));
    EXPECT(!wire_query_path_is(path.data, "/api/sync/pul"));
    buf_free(&path);
    static const char *const BAD[] = { "/p?a", "/p?=1", "/p?a=%2", "/p?a=%00", "/p?a=b c", "/p?a=1&&b=2" };
    for (int i = 0; i < N(BAD); i++)
        if (wire_query_get(BAD[i], "a", &a, &value)) {
            fprintf(stderr, "accepted the query %s\n", BAD[i]);
            test_failures++;
        }
    arena_release(&a);
}

/* --- the built-in protocol's native form (message.h) ----------------------------------------- */

/* The message's JSON form as an external node receives it: its text, parsed. */
static message *json_form(message *m)
{
    char *text = cJSON_PrintUnformatted(message_json(m));
    message *back = message_of_json(cJSON_Parse(text));
    cJSON_free(text);
    return back;
}

/* Hash and size of the native form are those of its tree; the size is its compact text's length. */
static void check_native_hash(message *m)
{
    uint64_t bytes = 0, tree_bytes = 0;
    uint64_t h = message_hash(m, &bytes);
    message *j = json_form(m);
    EXPECT_U64(h, message_hash(j, &tree_bytes));
    EXPECT_U64(bytes, tree_bytes);
    buf text;
    buf_init(&text);
    json_write(&text, message_json(j));
    EXPECT_U64(bytes, text.len);
    buf_free(&text);
    message_release(j);
}

/* Copies of n records into a fresh arena of their own, as the server reads a pull's records. */
static record *owned_copies(arena *owner, const record *src, int n)
{
    arena_init(owner, 1024);
    record *out = arena_alloc(owner, (size_t)n * sizeof *out);
    for (int i = 0; i < n; i++)
        record_copy(&out[i], &src[i], owner);
    return out;
}

/*
 * wire_pull_result_take: the message wire_pull_result builds of the same records (hash, size,
 * every record as read), having taken the owner's memory; the tree's path (a value JSON cannot
 * carry) and every other dialect copy, and leave the owner as it was.
 */
static void check_native_take(const wire_dialect *d, const record *page, int n, const record *far)
{
    arena a, owner;
    arena_init(&a, 1 << 16);
    record *mine = owned_copies(&owner, page, n);
    message *copied = wire_pull_result(d, 42, CLOCK, NOW_US, n, page, 57, true);
    message *taken = wire_pull_result_take(d, 42, CLOCK, NOW_US, n, mine, &owner, 57, true);
    EXPECT(taken->kind != NULL);
    EXPECT(owner.head == NULL);   /* the message's now: released with it */
    uint64_t bytes[2];
    EXPECT_U64(message_hash(taken, &bytes[0]), message_hash(copied, &bytes[1]));
    EXPECT_U64(bytes[0], bytes[1]);
    check_native_hash(taken);
    const record *got[2];
    hlc clock;
    int64_t now, next;
    int count[2];
    bool more;
    EXPECT(wire_pull_result_parse(d, taken, &a, &clock, &now, &count[0], &got[0], &next, &more));
    EXPECT(wire_pull_result_parse(d, copied, &a, &clock, &now, &count[1], &got[1], &next, &more));
    EXPECT_INT(count[0], n);
    EXPECT_INT(count[1], n);
    for (int i = 0; i < n && i < count[0] && i < count[1]; i++)
        EXPECT(record_identical(&got[0][i], &got[1][i]));
    message_release(taken);
    message_release(copied);
    arena_release(&owner);   /* a no-op: nothing left in it */

    /* Copied: the tree's path, and an empty page. The owner keeps its records. */
    record *far_mine = owned_copies(&owner, far, 1);
    message *farm = wire_pull_result_take(d, 44, CLOCK, NOW_US, 1, far_mine, &owner, 58, false);
    EXPECT(farm->kind == NULL);
    EXPECT(owner.head != NULL);
    EXPECT_INT(far_mine[0].st.ts_us, far->st.ts_us);
    message_release(farm);
    message *empty = wire_pull_result_take(d, 45, CLOCK, NOW_US, 0, far_mine, &owner, 58, false);
    EXPECT(owner.head != NULL);
    message_release(empty);
    arena_release(&owner);

    /* A dialect without a native form copies too. */
    const wire_dialect *other = wire_dialect_find("activity-events");
    EXPECT(other && !other->native);
    mine = owned_copies(&owner, page, 1);
    message *json = wire_pull_result_take(other, 46, CLOCK, NOW_US, 1, mine, &owner, 59, false);
    EXPECT(json->kind == NULL);
    EXPECT(owner.head != NULL);
    message_release(json);
    arena_release(&owner);
    arena_release(&a);
}

/*
 * The syncsim dialect sends its messages as structs: each reads back exactly (record_identical, value
 * kinds included) as its JSON text does, hashes and sizes as that text, and a native read is a copy
 * (the receiver may change it; a duplicate delivery reads the message again).
 */
static void check_native(fixture *f)
{
    const wire_dialect *d = wire_dialect_find("syncsim");
    arena a;
    arena_init(&a, 1 << 16);
    /* Values JSON changes: an integral real reads back as an integer, in a field and in an event. */
    record odd;
    record_copy(&odd, &f->events, &f->a);
    value four = v_real(4.0), half = v_real(0.5);
    record_set_field(&odd, &f->a, "score", &four, &odd.st);
    record_set_field(&odd, &f->a, "ratio", &half, &odd.st);
    odd.events[0].fields[0].v = v_real(-2.0);
    odd.del = st_of(1, 2, T0_US, T0_US, 1);   /* no delete in effect (w none): the tree leaves del out, */
    odd.del.w = WRITE_NONE;                   /* which reads back as zero */
    odd.born_version = 0;                     /* likewise prev_del */
    record page[5] = { f->plain, f->counter, f->events, f->tomb, odd };

    message *pr = wire_pull_result(d, 42, CLOCK, NOW_US, 5, page, 57, true);
    EXPECT(pr->kind != NULL);
    check_native_hash(pr);
    message *prj = json_form(pr);
    const record *native = NULL, *parsed = NULL, *again = NULL;
    hlc clock[2];
    int64_t now[2], next[2];
    int n[2];
    bool more[2];
    EXPECT(wire_pull_result_parse(d, pr, &a, &clock[0], &now[0], &n[0], &native, &next[0], &more[0]));
    EXPECT(wire_pull_result_parse(d, prj, &a, &clock[1], &now[1], &n[1], &parsed, &next[1], &more[1]));
    EXPECT_INT(n[0], 5);
    EXPECT_INT(n[1], 5);
    EXPECT(clock[0].l_us == clock[1].l_us && clock[0].c == clock[1].c && now[0] == now[1] && next[0] == next[1] &&
           more[0] == more[1]);
    for (int i = 0; i < 5 && i < n[0] && i < n[1]; i++)
        if (!record_identical(&native[i], &parsed[i])) {
            fprintf(stderr, "native pull_result: record %d reads otherwise than its JSON\n", i);
            test_failures++;
        }
    const field *score = n[0] == 5 ? record_field(&native[4], "score") : NULL;
    EXPECT(score && score->v.kind == VAL_INT && score->v.i == 4);
    EXPECT(n[0] == 5 && native[4].events[0].fields[0].v.kind == VAL_INT);
    EXPECT(n[0] == 5 && native[4].del.ts_us == 0 && native[4].prev_del.ts_us == 0);
    /* A read is read only (the message's own records, const): a second delivery of the same message
     * reads the same records again. */
    EXPECT(wire_pull_result_parse(d, pr, &a, &clock[0], &now[0], &n[0], &again, &next[0], &more[0]));
    EXPECT(n[0] == 5 && record_identical(&again[0], &parsed[0]) && record_identical(&again[2], &parsed[2]));
    /* Not a push, nor a push_result, nor a pull, read natively or not. */
    int nc;
    wire_change *changes;
    wire_result *results;
    int64_t since;
    const char *type;
    int limit;
    EXPECT(!wire_push_parse(d, pr, &a, &nc, &changes));
    EXPECT(!wire_push_result_parse(d, pr, &a, &clock[0], &now[0], &nc, &results));
    EXPECT(!wire_pull_parse(d, pr, &a, &since, &type, &limit));
    message_release(prj);
    message_release(pr);

    /* A push and its result. */
    message *push = wire_push(d, &SENDER, 41, f->n_entries, f->entries);
    EXPECT(push->kind != NULL);
    check_native_hash(push);
    message *pushj = json_form(push);
    wire_change *cn = NULL, *cj = NULL;
    int nn = -1, nj = -2;
    EXPECT(wire_push_parse(d, push, &a, &nn, &cn));
    EXPECT(wire_push_parse(d, pushj, &a, &nj, &cj));
    EXPECT_INT(nn, nj);
    for (int i = 0; i < nn && i < nj; i++) {
        bool same = cn[i].op_id == cj[i].op_id && cn[i].op == cj[i].op && cn[i].base_version == cj[i].base_version &&
                    cn[i].force == cj[i].force && cn[i].n_changed == cj[i].n_changed &&
                    record_identical(&cn[i].rec, &cj[i].rec);
        for (int k = 0; same && k < cn[i].n_changed; k++)
            same = strcmp(cn[i].changed[k], cj[i].changed[k]) == 0;
        if (!same) {
            fprintf(stderr, "native push: change %d reads otherwise than its JSON\n", i);
            test_failures++;
        }
    }
    result_set set = more_results(f);
    message *res = wire_push_result(d, 41, CLOCK, NOW_US, set.n, cn, set.results);
    EXPECT(res->kind != NULL);
    check_native_hash(res);
    message *resj = json_form(res);
    wire_result *rn = NULL, *rj = NULL;
    EXPECT(wire_push_result_parse(d, res, &a, &clock[0], &now[0], &nn, &rn));
    EXPECT(wire_push_result_parse(d, resj, &a, &clock[1], &now[1], &nj, &rj));
    EXPECT_INT(nn, set.n);
    EXPECT_INT(nj, set.n);
    for (int i = 0; i < set.n && i < nn && i < nj; i++)
        if (!same_result(&rn[i], &rj[i]) || !record_identical(&rn[i].rec, &rj[i].rec)) {
            fprintf(stderr, "native push_result: result %d reads otherwise than its JSON\n", i);
            test_failures++;
        }
    int64_t req = 0;
    EXPECT(wire_req(res, &req) && req == 41);
    EXPECT_INT(wire_type(d, push), MSG_PUSH);
    int status;
    EXPECT(!wire_gateway_status(res, &status) && !wire_is_auth_granted(res) && !wire_is_auth_request(push));
    message_release(resj);
    message_release(res);
    message_release(pushj);
    message_release(push);

    /* A pull, and one the server refuses (a limit beyond the protocol's) whichever form it comes in. */
    for (int limit_sent = 100; limit_sent <= 100001; limit_sent += 99901) {
        message *pull = wire_pull(d, &SENDER, 43, 7, "workout_log", limit_sent);
        EXPECT(pull->kind != NULL);
        check_native_hash(pull);
        message *pullj = json_form(pull);
        bool ok_native = wire_pull_parse(d, pull, &a, &since, &type, &limit);
        EXPECT(ok_native == wire_pull_parse(d, pullj, &a, &since, &type, &limit));
        EXPECT(ok_native == (limit_sent == 100));
        message_release(pullj);
        message_release(pull);
    }

    /* A value JSON cannot carry (a clock beyond 2^53 us): the message goes as JSON, and the reader
     * refuses it as it always did. */
    record far;
    record_copy(&far, &f->plain, &f->a);
    far.st.ts_us = JSON_INT_LIMIT + 1;
    message *farm = wire_pull_result(d, 44, CLOCK, NOW_US, 1, &far, 58, false);
    EXPECT(farm->kind == NULL);
    const record *none;
    EXPECT(!wire_pull_result_parse(d, farm, &a, &clock[0], &now[0], &n[0], &none, &next[0], &more[0]));
    message_release(farm);
    check_native_take(d, page, 5, &far);
    arena_release(&a);
}

/* The table: names are unique and found, and syncsim is the default every profile starts from. */
static void check_table(void)
{
    static const char *const NAMES[] = { "syncsim", "activity-events", "ironflow", "stronglog", "smartdmv",
                                         "delta-sync" };
    EXPECT_INT(wire_dialect_count(), N(NAMES));
    for (int i = 0; i < N(NAMES) && i < wire_dialect_count(); i++) {
        EXPECT_STR(wire_dialect_name(wire_dialect_at(i)), NAMES[i]);
        EXPECT(wire_dialect_find(NAMES[i]) == wire_dialect_at(i));
        EXPECT(strlen(wire_dialect_summary(wire_dialect_at(i))) > 10);
    }
    EXPECT(wire_dialect_find("ironflo") == NULL);
}

int main(void)
{
    check_table();
    {
        fixture f;
        fixture_init(&f);
        check_native(&f);
        fixture_free(&f);
    }
    check_times();
    check_queries();
    for (int i = 0; i < wire_dialect_count(); i++) {
        const wire_dialect *d = wire_dialect_at(i);
        fixture f;
        fixture_init(&f);
        int before = test_failures;
        check_round_trips(d, &f);
        check_names(d, &f);
        check_malformed(d, &f);
        if (test_failures > before)
            fprintf(stderr, "dialect %s: %d failure(s)\n", wire_dialect_name(d), test_failures - before);
        fixture_free(&f);
    }
    return test_exit("test-wire");
}
