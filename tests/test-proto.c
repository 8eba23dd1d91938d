/*
 * test-proto: syncsim-node/1's vocabulary (external/proto.c). Every request
 * and effect syncsim writes decodes back to what was encoded; a record's
 * provenance comes back in the order the built-in engine reports it (or the
 * trace hashes through `syncsim node` would differ); and every malformed
 * line a node could write is refused with a sentence naming what is wrong.
 */
#include "base/xalloc.h"
#include "engine/record.h"
#include "external/proto.h"
#include "testlib.h"

#include <stdlib.h>

static const char *const NAMES[] = { "server", "phone", "tablet" };
static const char *const USERS[] = { NULL, "alice", "alice" };
#define PHONE 1
#define TABLET 2

static proto_roster roster;

static void test_write_ids(void)
{
    buf b;
    buf_init(&b);
    proto_put_write_id(&b, &roster, WRITE_ID(PHONE, 3));
    EXPECT_STR(b.data, "\"phone:3\"");
    buf_clear(&b);
    proto_put_write_id(&b, &roster, WRITE_NONE);
    EXPECT_STR(b.data, "null");
    buf_free(&b);

    write_id w = 0;
    EXPECT(proto_parse_write_id(&roster, "tablet:12", &w));
    EXPECT_U64(w, WRITE_ID(TABLET, 12));
    EXPECT(proto_parse_write_id(&roster, "phone:4294967295", &w));
    const char *bad[] = { "phone:0", "phone:", ":3", "phone", "laptop:1", "server:1", "phone:4294967296",
                          "phone:-1", "phone:1x", "phone:+1", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        w = 77;
        EXPECT(!proto_parse_write_id(&roster, bad[i], &w));
        if (w != 77)
            fprintf(stderr, "parsing \"%s\" wrote its result\n", bad[i]);
        EXPECT_U64(w, 77);
    }
    /* A name may contain a colon: the counter is after the last one. */
    const char *odd_names[] = { "server", "a:b" };
    proto_roster odd;
    proto_roster_init(&odd, 2, odd_names, NULL);
    EXPECT(proto_parse_write_id(&odd, "a:b:7", &w));
    EXPECT_U64(w, WRITE_ID(1, 7));
    proto_roster_free(&odd);
}

/* Encode a request with the given body writer, decode it back. */
static bool round_trip_request(const buf *b, arena *a, proto_request *out, cJSON **tree, char **why)
{
    *tree = cJSON_ParseWithLength(b->data, b->len);
    EXPECT(*tree != NULL);
    EXPECT(b->len > 0 && b->data[b->len - 1] == '\n');
    return *tree && proto_decode_request(*tree, &roster, a, out, why);
}

static void test_requests(void)
{
    arena a;
    arena_init(&a, 4096);
    buf b;
    buf_init(&b);
    proto_request req;
    cJSON *tree;
    char *why = NULL;

    /* init */
    proto_request_begin(&b, REQ_INIT, 1, INT64_C(1735689600000000), 0);
    proto_init init = { .node = "tablet", .index = TABLET, .seed = UINT64_C(18446744073709551615),
                        .data_dir = "/tmp/d \"x\"", .boot = 2 };
    proto_put_init(&b, &roster, &init);
    proto_request_end(&b);
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_INT(req.kind, REQ_INIT);
    EXPECT_INT(req.seq, 1);
    EXPECT_INT(req.wall_us, INT64_C(1735689600000000));
    EXPECT_STR(req.protocol, PROTO_VERSION);
    EXPECT_STR(req.node, "tablet");
    EXPECT(!req.server);
    EXPECT_STR(req.user, "alice");
    EXPECT_INT(req.n_nodes, 3);
    EXPECT_STR(req.names[2], "tablet");
    EXPECT(req.users[0] == NULL);
    EXPECT_U64(req.seed, UINT64_C(18446744073709551615));
    EXPECT_STR(req.data_dir, "/tmp/d \"x\"");
    EXPECT_INT(req.boot, 2);
    cJSON_Delete(tree);

    /* op: fields come back sorted, as pairs of the op's write */
    buf_clear(&b);
    op_field fields[] = { { "done", { .kind = VAL_BOOL, .b = true } },
                          { "n", { .kind = VAL_INT, .i = -3 } },
                          { "r", { .kind = VAL_REAL, .r = 2.5 } },
                          { "text", { .kind = VAL_STRING, .s = "a \"quoted\"\nline" } } };
    user_op op = { .kind = OP_UPDATE, .type = "note", .id = "n/1", .w = WRITE_ID(PHONE, 9), .n_fields = 4,
                   .fields = fields };
    proto_request_begin(&b, REQ_OP, 7, 5, 6);
    proto_put_op(&b, &roster, &op);
    proto_request_end(&b);
    EXPECT_CONTAINS(b.data, "\"w\":\"phone:9\"");
    EXPECT_CONTAINS(b.data, "\"text\":{\"v\":\"a \\\"quoted\\\"\\nline\",\"w\":\"phone:9\"}");
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_INT(req.op.kind, OP_UPDATE);
    EXPECT_STR(req.op.type, "note");
    EXPECT_STR(req.op.id, "n/1");
    EXPECT_U64(req.op.w, WRITE_ID(PHONE, 9));
    EXPECT_INT(req.op.n_fields, 4);
    for (int i = 0; i < 4 && req.op.n_fields == 4; i++) {
        EXPECT_STR(req.op.fields[i].name, fields[i].name);
        EXPECT(value_equal(&req.op.fields[i].v, &fields[i].v));
    }
    cJSON_Delete(tree);

    /* resolve carries pick, delete nothing */
    buf_clear(&b);
    op_field pick = { "pick", { .kind = VAL_STRING, .s = "merge" } };
    user_op resolve = { .kind = OP_RESOLVE, .type = "note", .id = "n1", .w = WRITE_ID(TABLET, 1), .n_fields = 1,
                        .fields = &pick };
    proto_request_begin(&b, REQ_OP, 8, 5, 6);
    proto_put_op(&b, &roster, &resolve);
    proto_request_end(&b);
    EXPECT_CONTAINS(b.data, "\"pick\":\"merge\"");
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_INT(req.op.kind, OP_RESOLVE);
    EXPECT_STR(req.op.fields[0].v.s, "merge");
    cJSON_Delete(tree);

    /* open: no write id, no fields; an update made on its copy says base: opened */
    buf_clear(&b);
    user_op open = { .kind = OP_OPEN, .type = "note", .id = "n1" };
    proto_request_begin(&b, REQ_OP, 8, 5, 6);
    proto_put_op(&b, &roster, &open);
    proto_request_end(&b);
    EXPECT(!strstr(b.data, "\"w\""));
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_INT(req.op.kind, OP_OPEN);
    EXPECT_STR(req.op.id, "n1");
    EXPECT(!req.op.from_form);
    cJSON_Delete(tree);
    buf_clear(&b);
    op.from_form = true;
    proto_request_begin(&b, REQ_OP, 8, 5, 6);
    proto_put_op(&b, &roster, &op);
    proto_request_end(&b);
    EXPECT_CONTAINS(b.data, "\"base\":\"opened\"");
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT(req.op.kind == OP_UPDATE && req.op.from_form);
    cJSON_Delete(tree);

    /* deliver: the body as it was */
    buf_clear(&b);
    cJSON *body = cJSON_Parse("{\"kind\":\"push\",\"n\":[1,2.5,\"x\"],\"big\":4503599627370497}");
    proto_request_begin(&b, REQ_DELIVER, 9, 5, 6);
    proto_put_deliver(&b, &roster, NODE_SERVER, body);
    proto_request_end(&b);
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_STR(req.src, "server");
    EXPECT(cJSON_Compare(req.body, body, true));
    cJSON_Delete(tree);
    cJSON_Delete(body);

    /* timer and control */
    buf_clear(&b);
    proto_request_begin(&b, REQ_TIMER, 10, 5, 6);
    proto_put_timer(&b, (UINT64_C(1) << 52) + 3);
    proto_request_end(&b);
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_U64(req.token, (UINT64_C(1) << 52) + 3);
    cJSON_Delete(tree);
    buf_clear(&b);
    proto_request_begin(&b, REQ_CONTROL, 11, 5, 6);
    proto_put_control(&b, CTL_NET_DOWN);
    proto_request_end(&b);
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_INT(req.control, CTL_NET_DOWN);
    cJSON_Delete(tree);
    buf_clear(&b);
    proto_request_begin(&b, REQ_POWER_LOSS, 12, 7, 8);
    proto_request_end(&b);
    EXPECT_STR(b.data, "{\"type\":\"power_loss\",\"seq\":12,\"wall_us\":7,\"mono_us\":8}\n");
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_INT(req.kind, REQ_POWER_LOSS);
    EXPECT_U64(req.seq, 12);
    cJSON_Delete(tree);

    /* storage_fault: every kind round-trips; only io_error carries writes */
    for (int k = STORAGE_DISK_FULL; k <= STORAGE_HEALED; k++) {
        storage_fault f = { .kind = (storage_fault_kind)k, .writes = k == STORAGE_IO_ERROR ? 3 : 0 };
        buf_clear(&b);
        proto_request_begin(&b, REQ_STORAGE_FAULT, 12, 5, 6);
        proto_put_storage_fault(&b, &f);
        proto_request_end(&b);
        EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
        EXPECT_INT(req.kind, REQ_STORAGE_FAULT);
        EXPECT_INT(req.storage.kind, k);
        EXPECT_INT(req.storage.writes, f.writes);
        cJSON_Delete(tree);
    }

    /* reinstall and sign_out carry the wipe */
    buf_clear(&b);
    proto_request_begin(&b, REQ_REINSTALL, 13, 7, 8);
    proto_put_lifecycle(&b, WIPE_DATA_ONLY);
    proto_request_end(&b);
    EXPECT_STR(b.data, "{\"type\":\"reinstall\",\"seq\":13,\"wall_us\":7,\"mono_us\":8,\"wipe\":\"data-only\"}\n");
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_INT(req.kind, REQ_REINSTALL);
    EXPECT_INT(req.wipe, WIPE_DATA_ONLY);
    cJSON_Delete(tree);
    buf_clear(&b);
    proto_request_begin(&b, REQ_SIGN_OUT, 14, 7, 8);
    proto_put_lifecycle(&b, WIPE_ALL);
    proto_request_end(&b);
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_INT(req.kind, REQ_SIGN_OUT);
    EXPECT_INT(req.wipe, WIPE_ALL);
    cJSON_Delete(tree);

    /* switch_account carries the wipe, what happens to the records and the new user; account the device
     * and its new user (the accounts feature, docs/lifecycle.md) */
    for (int keep = 0; keep < 2; keep++) {
        buf_clear(&b);
        proto_request_begin(&b, REQ_SWITCH_ACCOUNT, 15, 7, 8);
        proto_put_switch_account(&b, WIPE_ALL, keep == 1, "bob");
        proto_request_end(&b);
        if (keep)
            EXPECT_STR(b.data, "{\"type\":\"switch_account\",\"seq\":15,\"wall_us\":7,\"mono_us\":8,\"wipe\":\"all\","
                               "\"data\":\"keep-data\",\"user\":\"bob\"}\n");
        EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
        EXPECT_INT(req.kind, REQ_SWITCH_ACCOUNT);
        EXPECT_INT(req.wipe, WIPE_ALL);
        EXPECT_INT(req.keep_data, keep == 1);
        EXPECT_STR(req.user, "bob");
        cJSON_Delete(tree);
    }
    buf_clear(&b);
    proto_request_begin(&b, REQ_ACCOUNT, 16, 7, 8);
    proto_put_account(&b, &roster, 2, "bob");
    proto_request_end(&b);
    EXPECT_STR(b.data, "{\"type\":\"account\",\"seq\":16,\"wall_us\":7,\"mono_us\":8,\"node\":\"tablet\",\"user\":\"bob\"}\n");
    EXPECT(round_trip_request(&b, &a, &req, &tree, &why));
    EXPECT_INT(req.kind, REQ_ACCOUNT);
    EXPECT_STR(req.node, "tablet");
    EXPECT_STR(req.user, "bob");
    cJSON_Delete(tree);

    /* malformed requests: `syncsim node` refuses them with a reason */
    const char *bad[][2] = {
        { "[]", "must be a JSON object" },
        { "{\"type\":\"op\",\"seq\":0,\"wall_us\":1,\"mono_us\":1}", "\"seq\" must be an integer" },
        { "{\"type\":\"nap\",\"seq\":1,\"wall_us\":1,\"mono_us\":1}", "unknown request type" },
        { "{\"type\":\"timer\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"token\":-1}", "\"token\" must be" },
        { "{\"type\":\"timer\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"token\":1,\"x\":2}", "unknown member \"x\"" },
        { "{\"type\":\"control\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"control\":\"reboot\"}", "sync, net_up" },
        { "{\"type\":\"power_loss\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"flush\":true}", "unknown member \"flush\"" },
        { "{\"type\":\"reinstall\",\"seq\":1,\"wall_us\":1,\"mono_us\":1}", "\"wipe\"" },
        { "{\"type\":\"sign_out\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"wipe\":\"some\"}",
          "sign_out: \"wipe\" must be all or data-only" },
        { "{\"type\":\"switch_account\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"wipe\":\"all\",\"data\":\"wipe\"}",
          "\"user\"" },
        { "{\"type\":\"switch_account\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"wipe\":\"all\",\"data\":\"some\","
          "\"user\":\"bob\"}",
          "\"data\" must be wipe or keep-data" },
        { "{\"type\":\"account\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"node\":\"server\",\"user\":\"bob\"}",
          "must be a device" },
        { "{\"type\":\"account\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"node\":\"laptop\",\"user\":\"bob\"}",
          "laptop" },
        { "{\"type\":\"storage_fault\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"fault\":\"flood\"}",
          "must be disk_full, disk_freed, io_error or healed" },
        { "{\"type\":\"storage_fault\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"fault\":\"io_error\"}",
          "\"writes\"" },
        { "{\"type\":\"storage_fault\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"fault\":\"io_error\",\"writes\":0}",
          "\"writes\"" },
        { "{\"type\":\"storage_fault\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"fault\":\"disk_full\",\"writes\":2}",
          "goes only with" },
        { "{\"type\":\"op\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"op\":\"update\",\"w\":\"phone:1\","
          "\"record\":{\"type\":\"n\",\"id\":\"1\"},\"fields\":{\"a\":{\"v\":[1]}}}",
          "must be null, a boolean, a number or a string" },
        { "{\"type\":\"op\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"op\":\"delete\",\"w\":\"phone:1\","
          "\"record\":{\"type\":\"n\",\"id\":\"1\"},\"fields\":{}}",
          "a delete op carries no \"fields\"" },
        { "{\"type\":\"op\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"op\":\"increment\",\"w\":\"phone:1\","
          "\"record\":{\"type\":\"n\",\"id\":\"1\"},\"fields\":{\"c\":{\"v\":1.5,\"w\":\"phone:1\"}}}",
          "amount must be an integer" },
        { "{\"type\":\"op\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"op\":\"open\",\"w\":\"phone:1\","
          "\"record\":{\"type\":\"n\",\"id\":\"1\"}}",
          "an open op carries only \"record\"" },
        { "{\"type\":\"op\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"op\":\"create\",\"w\":\"phone:1\","
          "\"record\":{\"type\":\"n\",\"id\":\"1\"},\"base\":\"opened\",\"fields\":{}}",
          "only an update or a delete" },
        { "{\"type\":\"op\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"op\":\"update\",\"w\":\"phone:1\","
          "\"record\":{\"type\":\"n\",\"id\":\"1\"},\"base\":\"stale\",\"fields\":{}}",
          "\"base\" may only be \"opened\"" },
        { "{\"type\":\"deliver\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"src\":\"laptop\",\"body\":{}}",
          "not a replica of this run" },
        { "{\"type\":\"init\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"protocol\":\"syncsim-node/1\",\"node\":\"p\","
          "\"role\":\"device\",\"nodes\":[{\"name\":\"p\",\"role\":\"device\"}],\"seed\":\"1\",\"data_dir\":\"d\","
          "\"boot\":1}",
          "the server comes first" },
        { "{\"type\":\"init\",\"seq\":1,\"wall_us\":1,\"mono_us\":1,\"protocol\":\"syncsim-node/1\",\"node\":\"s\","
          "\"role\":\"server\",\"nodes\":[{\"name\":\"s\",\"role\":\"server\"}],\"seed\":\"-1\",\"data_dir\":\"d\","
          "\"boot\":1}",
          "\"seed\" must be a decimal string" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i][0]);
        why = NULL;
        EXPECT(j && !proto_decode_request(j, &roster, &a, &req, &why));
        EXPECT_CONTAINS(why, bad[i][1]);
        xfree(why);
        cJSON_Delete(j);
    }
    buf_free(&b);
    arena_release(&a);
}

/* Decode one line of b (without its newline) as an effect of node self. */
static bool decode_line(const buf *b, int self, arena *a, proto_effect *e, char **why)
{
    EXPECT(b->len > 0 && b->data[b->len - 1] == '\n');
    return proto_decode_effect(b->data, b->len - 1, &roster, self, a, e, why);
}

static void test_record_effects(void)
{
    arena a;
    arena_init(&a, 4096);
    record r;
    record_init(&r, &a, "task", "t1");
    r.tenant = "alice";
    r.st.w = WRITE_ID(TABLET, 4);
    value title = { .kind = VAL_STRING, .s = "water plants" };
    stamp st1 = { .w = WRITE_ID(PHONE, 1) };
    record_set_field(&r, &a, "title", &title, &st1);
    counter_part parts[] = { { .node = PHONE, .p = 3, .w = WRITE_ID(PHONE, 3) },
                             { .node = TABLET, .p = 2, .w = WRITE_ID(TABLET, 4) } };
    stamp st2 = { .w = WRITE_ID(TABLET, 4) };
    record_set_counter(&r, &a, "count", parts, 2, &st2);
    log_event ev = { .w = WRITE_ID(PHONE, 5) };
    record_add_event(&r, &a, &ev, EVENT_ORDER_OCCURRED, true);
    observation want;
    record_observation(&r, &want, &a);

    buf b;
    buf_init(&b);
    proto_put_observation(&b, &roster, &want);
    EXPECT_CONTAINS(b.data, "\"count\":{\"v\":5,\"w\":\"tablet:4\",\"also\":[\"phone:3\"]}");
    EXPECT_CONTAINS(b.data, "\"tenant\":\"alice\"");
    proto_effect e;
    char *why = NULL;
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT_INT(e.kind, EFF_OBSERVE);
    EXPECT_INT(e.obs.kind, OBS_RECORD);
    EXPECT_STR(e.obs.type, "task");
    EXPECT_STR(e.obs.id, "t1");
    EXPECT_U64(e.obs.record_w, WRITE_ID(TABLET, 4));
    /* The same writes in the same order as the engine reports them: the trace hashes them in order. */
    EXPECT_INT(e.obs.n_writes, want.n_writes);
    for (int i = 0; i < want.n_writes && i < e.obs.n_writes; i++)
        EXPECT_U64(e.obs.writes[i], want.writes[i]);
    proto_effect_free(&e);

    /* A record gone from a device altogether. */
    buf_clear(&b);
    observation gone = { .kind = OBS_RECORD, .type = "task", .id = "t9" };
    proto_put_observation(&b, &roster, &gone);
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT(!e.obs.deleted && e.obs.n_writes == 0 && e.obs.record_w == WRITE_NONE);
    EXPECT_STR(e.obs.id, "t9");
    buf_free(&b);
    arena_release(&a);
}

static void test_observation_effects(void)
{
    arena a;
    arena_init(&a, 4096);
    write_id seen[] = { WRITE_ID(PHONE, 1), WRITE_ID(TABLET, 2) };
    observation all[] = {
        { .kind = OBS_RECEIVED, .w = WRITE_ID(PHONE, 2) },
        { .kind = OBS_SERVED_HEAD, .peer = TABLET },
        { .kind = OBS_CONFLICT, .type = "n", .id = "1", .w = WRITE_ID(PHONE, 1), .loser = WRITE_ID(TABLET, 1),
          .detail = "update-update lww" },
        { .kind = OBS_CONFLICT, .type = "n", .id = "1" },
        { .kind = OBS_CONFLICT_PENDING, .type = "n", .id = "2" },
        { .kind = OBS_SEEN, .type = "n", .id = "3", .n_writes = 2, .writes = seen },
        { .kind = OBS_SYNC_BEGIN, .count = 4 },
        { .kind = OBS_SYNC_END, .count = 0 },
        { .kind = OBS_RETRY, .count = 2 },
        { .kind = OBS_GAVE_UP, .detail = "retries exhausted" },
        { .kind = OBS_REFUSED, .w = WRITE_ID(PHONE, 4), .detail = "immutable" },
        { .kind = OBS_INVALID, .w = WRITE_ID(PHONE, 4), .detail = "title is required" },
        { .kind = OBS_DROPPED, .w = WRITE_ID(TABLET, 4), .detail = "3 retries" },
        { .kind = OBS_ID_ASSIGNED, .type = "pet", .id = "17", .detail = "p1", .peer = PHONE, .w = WRITE_ID(PHONE, 1) },
        { .kind = OBS_ID_MAPPED, .type = "pet", .id = "17", .detail = "p1" },
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const observation *o = &all[i];
        int self = o->kind == OBS_RECEIVED || o->kind == OBS_SERVED_HEAD || o->kind == OBS_ID_ASSIGNED ||
                           o->kind == OBS_INVALID
                       ? NODE_SERVER
                       : PHONE;
        buf b;
        buf_init(&b);
        proto_put_observation(&b, &roster, o);
        proto_effect e;
        char *why = NULL;
        bool ok = decode_line(&b, self, &a, &e, &why);
        if (!ok)
            fprintf(stderr, "observation %zu: %s: %s", i, why, b.data);
        EXPECT(ok);
        xfree(why);
        EXPECT_INT(e.obs.kind, o->kind);
        EXPECT_U64(e.obs.w, o->w);
        EXPECT_U64(e.obs.loser, o->loser);
        EXPECT_INT(e.obs.count, o->count);
        EXPECT_INT(e.obs.peer, o->peer);
        EXPECT((e.obs.detail == NULL) == (o->detail == NULL));
        if (o->detail && e.obs.detail)
            EXPECT_STR(e.obs.detail, o->detail);
        EXPECT((e.obs.type == NULL) == (o->type == NULL));
        if (o->type && e.obs.type) {
            EXPECT_STR(e.obs.type, o->type);
            EXPECT_STR(e.obs.id, o->id);
        }
        EXPECT_INT(e.obs.n_writes, o->n_writes);
        for (int k = 0; k < o->n_writes && k < e.obs.n_writes; k++)
            EXPECT_U64(e.obs.writes[k], o->writes[k]);
        proto_effect_free(&e);
        buf_free(&b);
    }
    arena_release(&a);
}

static void test_sends_timers_terminators(void)
{
    arena a;
    arena_init(&a, 4096);
    buf b;
    buf_init(&b);
    proto_effect e;
    char *why = NULL;

    cJSON *body = cJSON_Parse("{\"kind\":\"pull\",\"after\":12}");
    proto_put_send(&b, &roster, NODE_SERVER, body);
    EXPECT(decode_line(&b, TABLET, &a, &e, &why));
    EXPECT_INT(e.kind, EFF_SEND);
    EXPECT_INT(e.dest, NODE_SERVER);
    EXPECT(cJSON_Compare(e.body, body, true));
    proto_effect_free(&e);
    cJSON_Delete(body);

    buf_clear(&b);
    proto_put_set_timer(&b, 300000000, 513);
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT_INT(e.kind, EFF_SET_TIMER);
    EXPECT_INT(e.delay_us, 300000000);
    EXPECT_U64(e.token, 513);

    buf_clear(&b);
    proto_put_done(&b, 41, false, "the record is deleted", NULL, &roster);
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT_INT(e.kind, EFF_DONE);
    EXPECT_INT(e.in_reply_to, 41);
    EXPECT(!e.idle && e.refused);
    EXPECT_STR(e.text, "the record is deleted");
    EXPECT_INT(e.code, PROTO_E_REFUSED);

    buf_clear(&b);
    proto_put_init_ok(&b, 1, true, PROTO_OPS_DEFAULT | PROTO_OP_BIT(OP_APPEND), PROTO_FEATURE_RECEIVED);
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT_INT(e.kind, EFF_INIT_OK);
    EXPECT_STR(e.protocol, PROTO_VERSION);
    EXPECT_INT(e.ops, PROTO_OPS_DEFAULT | PROTO_OP_BIT(OP_APPEND));
    EXPECT_INT(e.features, PROTO_FEATURE_RECEIVED);
    buf_clear(&b);
    proto_put_init_ok(&b, 1, true, PROTO_OPS_DEFAULT, PROTO_FEATURE_RESET | PROTO_FEATURE_POWER_LOSS);
    EXPECT_CONTAINS(b.data, "\"features\":[\"reset\",\"power_loss\"]");
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT_INT(e.features, PROTO_FEATURE_RESET | PROTO_FEATURE_POWER_LOSS);
    buf_clear(&b);
    proto_put_init_ok(&b, 1, true, PROTO_OPS_DEFAULT,
                      PROTO_FEATURE_STORAGE_FAULTS | PROTO_FEATURE_LIFECYCLE | PROTO_FEATURE_ACCOUNTS);
    EXPECT_CONTAINS(b.data, "\"features\":[\"storage_faults\",\"lifecycle\",\"accounts\"]");
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT_INT(e.features, PROTO_FEATURE_STORAGE_FAULTS | PROTO_FEATURE_LIFECYCLE | PROTO_FEATURE_ACCOUNTS);

    buf_clear(&b);
    observation flushed = { .kind = OBS_FLUSHED };
    proto_put_observation(&b, &roster, &flushed);
    EXPECT_STR(b.data, "{\"type\":\"flushed\"}\n");
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT_INT(e.kind, EFF_OBSERVE);
    EXPECT_INT(e.obs.kind, OBS_FLUSHED);

    for (unsigned f = 1; f < 16; f++) {
        buf_clear(&b);
        proto_put_init_ok(&b, 1, true, PROTO_OPS_DEFAULT, f);
        EXPECT(decode_line(&b, PHONE, &a, &e, &why));
        EXPECT_INT(e.features, f);
    }
    /* init_ok without ops means create, update and delete. */
    const char *plain = "{\"type\":\"init_ok\",\"in_reply_to\":1,\"protocol\":\"syncsim-node/1\",\"idle\":true}";
    EXPECT(proto_decode_effect(plain, strlen(plain), &roster, PHONE, &a, &e, &why));
    EXPECT_INT(e.ops, PROTO_OPS_DEFAULT);

    buf_clear(&b);
    proto_put_error(&b, 3, PROTO_E_CRASH, "database is locked");
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT_INT(e.kind, EFF_ERROR);
    EXPECT_INT(e.code, PROTO_E_CRASH);
    EXPECT_STR(e.text, "database is locked");

    /* A snapshot: the engine's form in, the protocol's on the wire, the engine's back. */
    const char *internal =
        "{\"records\":[{\"type\":\"n\",\"id\":\"1\",\"tenant\":\"alice\",\"deleted\":true,\"w\":8589934593,"
        "\"del_w\":8589934594,\"fields\":{\"a\":{\"v\":1.5,\"w\":4294967297},\"b\":{\"v\":null,\"w\":0}},"
        "\"events\":[{\"w\":4294967299}]}],\"kept\":[{\"type\":\"n\",\"id\":\"1\",\"w\":4294967298}]}";
    cJSON *snap = cJSON_Parse(internal);
    buf_clear(&b);
    proto_put_done(&b, 50, true, NULL, snap, &roster);
    EXPECT_CONTAINS(b.data, "\"del_w\":\"tablet:2\"");
    EXPECT(decode_line(&b, PHONE, &a, &e, &why));
    EXPECT(e.snapshot != NULL);
    EXPECT(e.snapshot && cJSON_Compare(e.snapshot, snap, true));
    proto_effect_free(&e);
    cJSON_Delete(snap);
    buf_free(&b);
    arena_release(&a);
}

/* Every way a node's line can be wrong is refused, and says what. */
static void test_malformed_effects(void)
{
    arena a;
    arena_init(&a, 4096);
    static const struct {
        int self;
        const char *line;
        const char *why;
    } BAD[] = {
        { PHONE, "Traceback (most recent call last):", "not one JSON value" },
        { PHONE, "{\"type\":\"done\",\"in_reply_to\":1,\"idle\":true} x", "not one JSON value" },
        { PHONE, "[1,2]", "an array, not a JSON object" },
        { PHONE, "{\"kind\":\"done\"}", "needs \"type\"" },
        { PHONE, "{\"type\":\"dun\",\"in_reply_to\":1,\"idle\":true}", "not an effect or terminator" },
        { PHONE, "{\"type\":\"done\",\"in_reply_to\":1}", "needs \"idle\"" },
        { PHONE, "{\"type\":\"done\",\"in_reply_to\":1,\"idle\":1}", "must be true or false" },
        { PHONE, "{\"type\":\"done\",\"in_reply_to\":1,\"idle\":true,\"idle\":false}", "twice" },
        { PHONE, "{\"type\":\"done\",\"in_reply_to\":1,\"idle\":true,\"idel\":false}", "unknown member \"idel\"" },
        { PHONE, "{\"type\":\"done\",\"in_reply_to\":1,\"idle\":true,\"refused\":{\"code\":21}}", "needs \"text\"" },
        { PHONE, "{\"type\":\"send\",\"dest\":\"tablet\",\"body\":{}}", "devices talk only to the server" },
        { NODE_SERVER, "{\"type\":\"send\",\"dest\":\"server\",\"body\":{}}", "cannot send to itself" },
        { PHONE, "{\"type\":\"send\",\"dest\":\"laptop\",\"body\":{}}", "not a replica of this run" },
        { PHONE, "{\"type\":\"send\",\"dest\":\"server\"}", "send needs \"body\"" },
        { PHONE, "{\"type\":\"set_timer\",\"delay_us\":-5,\"token\":1}", "\"delay_us\" must be an integer" },
        { PHONE, "{\"type\":\"set_timer\",\"delay_us\":1.5,\"token\":1}", "\"delay_us\" must be an integer" },
        { PHONE, "{\"type\":\"set_timer\",\"delay_us\":5,\"token\":9007199254740992}", "\"token\" must be" },
        { PHONE, "{\"type\":\"served\",\"peer\":\"phone\"}", "only the server" },
        { NODE_SERVER, "{\"type\":\"served\",\"peer\":\"server\"}", "must be a device" },
        { NODE_SERVER, "{\"type\":\"received\",\"w\":\"phone:0\"}", "not a write id of this run" },
        { NODE_SERVER, "{\"type\":\"received\",\"w\":3}", "must be a write id" },
        { PHONE, "{\"type\":\"record\",\"record\":{\"type\":\"n\",\"id\":\"1\",\"deleted\":false}}", "needs \"fields\"" },
        { PHONE, "{\"type\":\"record\",\"record\":{\"type\":\"n\",\"id\":\"1\",\"deleted\":false,\"fields\":{\"a\":1}}}",
          "must be a pair" },
        { PHONE,
          "{\"type\":\"record\",\"record\":{\"type\":\"n\",\"id\":\"1\",\"deleted\":false,\"fields\":{\"a\":{\"v\":1}}}}",
          "needs \"w\"" },
        { PHONE,
          "{\"type\":\"record\",\"record\":{\"type\":\"n\",\"id\":\"1\",\"deleted\":false,"
          "\"fields\":{\"a\":{\"v\":{},\"w\":\"phone:1\"}}}}",
          "must be null, a boolean, a number or a string" },
        { PHONE,
          "{\"type\":\"record\",\"record\":{\"type\":\"n\",\"id\":\"1\",\"deleted\":false,"
          "\"fields\":{\"a\":{\"v\":1e999,\"w\":\"phone:1\"}}}}",
          "finite" },
        { PHONE,
          "{\"type\":\"record\",\"record\":{\"type\":\"n\",\"id\":\"1\",\"deleted\":false,"
          "\"fields\":{\"a\":{\"v\":1,\"w\":\"phone:1\"},\"a\":{\"v\":2,\"w\":\"phone:2\"}}}}",
          "the field \"a\" twice" },
        { PHONE,
          "{\"type\":\"record\",\"record\":{\"type\":\"n\",\"id\":\"1\",\"deleted\":false,\"fields\":{},"
          "\"events\":[\"phone:1\"]}}",
          "must hold objects" },
        { PHONE, "{\"type\":\"record\",\"record\":{\"type\":\"n\",\"id\":\"1\",\"absent\":false}}", "only be true" },
        { PHONE, "{\"type\":\"init_ok\",\"in_reply_to\":1,\"protocol\":\"syncsim-node/1\",\"idle\":true,\"ops\":[\"merge\"]}",
          "\"ops\" may name" },
        { PHONE, "{\"type\":\"done\",\"in_reply_to\":1,\"idle\":true,\"snapshot\":{\"records\":{}}}", "needs \"records\"" },
        { PHONE, "{\"type\":\"done\",\"in_reply_to\":1,\"idle\":true,\"snapshot\":{\"records\":[],\"kept\":[{\"type\":\"n\"}]}}",
          "needs \"id\"" },
        { PHONE, "{\"type\":\"id_mapped\",\"record\":{\"type\":\"n\"},\"temp\":\"x\"}", "needs \"id\"" },
        { NODE_SERVER, "{\"type\":\"id_mapped\",\"record\":{\"type\":\"n\",\"id\":\"1\"},\"temp\":\"x\"}", "only a device" },
        { NODE_SERVER, "{\"type\":\"flushed\"}", "only a device reports \"flushed\"" },
        { PHONE, "{\"type\":\"flushed\",\"w\":\"phone:1\"}", "unknown member \"w\"" },
        { PHONE, "{\"type\":\"init_ok\",\"in_reply_to\":1,\"protocol\":\"syncsim-node/1\",\"idle\":true,"
                 "\"features\":[\"flush\"]}",
          "may name reset, received, power_loss, storage_faults, lifecycle and accounts" },
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        proto_effect e;
        char *why = NULL;
        bool ok = proto_decode_effect(BAD[i].line, strlen(BAD[i].line), &roster, BAD[i].self, &a, &e, &why);
        if (ok)
            fprintf(stderr, "accepted: %s\n", BAD[i].line);
        EXPECT(!ok);
        EXPECT_CONTAINS(why, BAD[i].why);
        EXPECT(e.body == NULL && e.snapshot == NULL);   /* nothing leaks from a refused line */
        xfree(why);
    }
    arena_release(&a);
}

int main(void)
{
    xalloc_install_cjson();
    proto_roster_init(&roster, 3, NAMES, USERS);
    test_write_ids();
    test_requests();
    test_record_effects();
    test_observation_effects();
    test_sends_timers_terminators();
    test_malformed_effects();
    proto_roster_free(&roster);
    return test_exit("proto");
}
