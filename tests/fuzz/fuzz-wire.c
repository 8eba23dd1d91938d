/*
 * fuzz-wire: every wire dialect's decoders (engine/wire*.c) on any bytes.
 * The bytes are parsed as JSON (cJSON, as a message arrives from an external
 * node or a trace); every dialect then reads the tree as each kind of
 * message: its correlation id, what a request asks, a push, a push result, a
 * pull and a pull result. record_from_json and the store's record_decode
 * and record_unpack read the same bytes too: they decode the records those
 * messages carry and the store keeps; record_packed_same_provenance compares
 * them where they lie.
 *
 * Oracles besides the sanitizers: a parser that accepts a pull or a pull
 * result hands back values its own builder takes (the builders assert what
 * the engine could never produce), and building then parsing them again
 * gives the same values -- a parser accepts nothing its dialect would not
 * say. Adding a dialect adds nothing here: the loop runs over wire.c's table.
 */
#include "base/arena.h"
#include "base/xalloc.h"
#include "engine/record.h"
#include "engine/wire.h"
#include "tests/fuzz/fuzz.h"

#include <assert.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xalloc_install_cjson();
    return 0;
}

/* The JSON form of a built message, as an external node would receive it. */
static message *as_json(message *m)
{
    return message_of_json(cJSON_Duplicate(message_json(m), true));
}

static void pull_round_trip(const wire_dialect *d, int64_t since, const char *type, int limit, arena *a)
{
    wire_sender from = { .device = "phone", .user = "u1", .now_us = 1, .last_sync_us = since };
    message *again = wire_pull(d, &from, 9, since, type, limit);
    message *json = as_json(again);
    for (int form = 0; form < 2; form++) {
        int64_t since2;
        const char *type2;
        int limit2;
        bool ok = wire_pull_parse(d, form ? json : again, a, &since2, &type2, &limit2);
        assert(ok);
        assert(since2 == since && limit2 == limit);
        assert((type == NULL) == (type2 == NULL) && (!type || strcmp(type, type2) == 0));
    }
    message_release(json);
    message_release(again);
}

/* Built again, the page reads back: in the form it was sent in (native for the built-in protocol),
 * and from its JSON, identically. */
static void pull_result_round_trip(const wire_dialect *d, hlc clock, int64_t now_us, int n, const record *records,
                                   int64_t next, bool more, arena *a)
{
    message *again = wire_pull_result(d, 9, clock, now_us, n, records, next, more);
    message *json = as_json(again);
    const record *read[2];
    for (int form = 0; form < 2; form++) {
        hlc clock2;
        int64_t now2, next2;
        int n2;
        bool more2;
        bool ok = wire_pull_result_parse(d, form ? json : again, a, &clock2, &now2, &n2, &read[form], &next2, &more2);
        assert(ok);
        assert(n2 == n && next2 == next && more2 == more && now2 == now_us);
        assert(clock2.l_us == clock.l_us && clock2.c == clock.c);
        for (int i = 0; i < n; i++)
            assert(record_same_state(&records[i], &read[form][i]));
    }
    for (int i = 0; i < n; i++)
        assert(record_identical(&read[0][i], &read[1][i]));
    assert(message_hash(again, NULL) == message_hash(json, NULL));
    message_release(json);
    message_release(again);
}

static void each_dialect(cJSON *tree)
{
    message msg = { .refs = 1, .json = tree };   /* the tree stays the caller's */
    for (int k = 0; k < wire_dialect_count(); k++) {
        const wire_dialect *d = wire_dialect_at(k);
        arena a;
        arena_init(&a, 1 << 12);
        int64_t req;
        (void)wire_req(&msg, &req);
        (void)wire_type(d, &msg);
        int n;
        wire_change *changes;
        wire_result *results;
        const record *records;
        hlc clock;
        int64_t now_us, since, next;
        const char *type;
        int limit;
        bool more;
        if (wire_push_parse(d, &msg, &a, &n, &changes))
            assert(n >= 0);
        if (wire_push_result_parse(d, &msg, &a, &clock, &now_us, &n, &results))
            assert(n >= 0);
        if (wire_pull_parse(d, &msg, &a, &since, &type, &limit))
            pull_round_trip(d, since, type, limit, &a);
        if (wire_pull_result_parse(d, &msg, &a, &clock, &now_us, &n, &records, &next, &more))
            pull_result_round_trip(d, clock, now_us, n, records, next, more, &a);
        arena_release(&a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena a;
    arena_init(&a, 1 << 12);
    record r;
    const char *why;
    (void)record_decode((const char *)data, size, &a, &r, &why);
    /* The same bytes as a packed body (an in-memory store's form). Whatever record_unpack accepts,
     * record_pack takes, and its packing reads back and packs to the same bytes again. */
    record empty;
    record_init(&empty, &a, "note", "n1");
    (void)record_packed_same_provenance(data, size, &empty);   /* any bytes: read within them */
    if (record_unpack(data, size, &a, &r, &why)) {
        buf once, twice;
        buf_init(&once);
        buf_init(&twice);
        record_pack(&r, &once);
        record back;
        bool ok = record_unpack(once.data, once.len, &a, &back, &why);
        assert(ok && "record_unpack refuses what record_pack wrote");
        record_pack(&back, &twice);
        assert(once.len == twice.len && memcmp(once.data, twice.data, once.len) == 0);
        /* Comparing a packed body where it lies answers what unpacking it and comparing does. */
        assert(record_packed_same_provenance(once.data, once.len, &r) == record_same_provenance(&back, &r));
        assert(record_packed_same_provenance(once.data, once.len, &back));
        buf_free(&once);
        buf_free(&twice);
    }
    cJSON *msg = cJSON_ParseWithLength((const char *)data, size);
    if (msg) {
        (void)record_from_json(msg, &a, &r, &why);
        each_dialect(msg);
        cJSON_Delete(msg);
    }
    arena_release(&a);
    return 0;
}
