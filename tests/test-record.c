/*
 * test-record: the record model and its JSON form (engine/record.c,
 * engine/value.c).
 *
 * Fields stay sorted by name with unique names (set replaces); lookups hit
 * and miss; record_copy is deep (the copy outlives the source's arena and
 * mutating it leaves the source alone); record_to_json / record_from_json
 * round-trip every value kind, every stamp member, the deleted flag and the
 * delete stamp, also through the printed text; record_from_json refuses
 * malformed input with a reason and stamp_from_json refuses malformed stamps;
 * record_same_state ignores stamps but not values, record_same_provenance
 * notices a different write id; value_equal treats int 3 and real 3.0 as
 * equal but not 3 and "3"; record_observation reports field provenance.
 */
#include "base/arena.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "engine/record.h"
#include "tests/testlib.h"

#include <stdlib.h>
#include <string.h>

static value V_INT(int64_t i)
{
    return (value){ .kind = VAL_INT, .i = i };
}

static value V_REAL(double r)
{
    return (value){ .kind = VAL_REAL, .r = r };
}

static value V_STR(const char *s)
{
    return (value){ .kind = VAL_STRING, .s = s };
}

static value V_BOOL(bool b)
{
    return (value){ .kind = VAL_BOOL, .b = b };
}

static value V_NULL(void)
{
    return (value){ .kind = VAL_NULL };
}

static stamp ST(write_id w, int64_t ts, int64_t hl, uint32_t hc, int64_t server)
{
    return (stamp){ .w = w, .ts_us = ts, .h = { .l_us = hl, .c = hc }, .server_us = server };
}

static void expect_stamp_eq(const stamp *a, const stamp *b, int line)
{
    if (a->w != b->w || a->ts_us != b->ts_us || a->h.l_us != b->h.l_us || a->h.c != b->h.c ||
        a->server_us != b->server_us || a->version != b->version) {
        fprintf(stderr, "%s:%d: stamps differ\n", __FILE__, line);
        test_failures++;
    }
}

/* Parse text into a record; the parsed cJSON is freed here. */
static bool decode_text(const char *text, arena *a, record *out, const char **why)
{
    cJSON *j = cJSON_Parse(text);
    if (!j) {
        fprintf(stderr, "%s: test input is not JSON: %s\n", __FILE__, text);
        test_failures++;
        return false;
    }
    *why = NULL;
    bool ok = record_from_json(j, a, out, why);
    cJSON_Delete(j);
    return ok;
}

/* --- fields -------------------------------------------------------------- */

static void set_field_keeps_fields_sorted_and_unique(void)
{
    arena a;
    arena_init(&a, 1024);
    record r;
    record_init(&r, &a, "note", "n1");
    EXPECT_STR(r.type, "note");
    EXPECT_STR(r.id, "n1");
    EXPECT_INT(r.n_fields, 0);
    EXPECT(!r.deleted);
    EXPECT_INT(r.version, 0);
    EXPECT_U64(r.st.w, WRITE_NONE);
    EXPECT(record_field(&r, "anything") == NULL);   /* miss on an empty record */

    const char *names[] = { "m", "c", "x", "a", "q", "b", "z", "k", "d", "y", "e" };
    int n = (int)(sizeof names / sizeof names[0]);
    for (int i = 0; i < n; i++) {
        value v = V_INT(i);
        stamp st = ST(WRITE_ID(1, i + 1), 0, 0, 0, 0);
        record_set_field(&r, &a, names[i], &v, &st);
    }
    EXPECT_INT(r.n_fields, n);   /* more than the first allocation of 8: growth kept everything */
    for (int i = 1; i < r.n_fields; i++)
        EXPECT(strcmp(r.fields[i - 1].name, r.fields[i].name) < 0);
    for (int i = 0; i < n; i++) {
        const field *f = record_field(&r, names[i]);
        EXPECT(f != NULL);
        if (f) {
            EXPECT_STR(f->name, names[i]);
            EXPECT_INT(f->v.kind, VAL_INT);
            EXPECT_INT(f->v.i, i);
            EXPECT_U64(f->st.w, WRITE_ID(1, i + 1));
        }
    }
    /* Misses before the first, between and after the last name. */
    EXPECT(record_field(&r, "") == NULL);
    EXPECT(record_field(&r, "aa") == NULL);
    EXPECT(record_field(&r, "zz") == NULL);
    EXPECT(record_field(&r, "M") == NULL);   /* case matters */

    /* Replacing keeps the count and the order, and takes the new value and stamp. */
    value s = V_STR("replaced");
    stamp st2 = ST(WRITE_ID(2, 9), 77, 78, 3, 79);
    record_set_field(&r, &a, "q", &s, &st2);
    EXPECT_INT(r.n_fields, n);
    const field *q = record_field(&r, "q");
    EXPECT(q != NULL);
    if (q) {
        EXPECT_INT(q->v.kind, VAL_STRING);
        EXPECT_STR(q->v.s, "replaced");
        expect_stamp_eq(&q->st, &st2, __LINE__);
    }
    for (int i = 1; i < r.n_fields; i++)
        EXPECT(strcmp(r.fields[i - 1].name, r.fields[i].name) < 0);
    arena_release(&a);
}

static void set_field_copies_name_and_string(void)
{
    arena a;
    arena_init(&a, 256);
    record r;
    record_init(&r, &a, "note", "n1");
    char name[16], text[16];
    strcpy(name, "title");
    strcpy(text, "hello");
    value v = V_STR(text);
    stamp st = ST(1, 0, 0, 0, 0);
    record_set_field(&r, &a, name, &v, &st);
    /* The caller's buffers are reused: the record must not notice. */
    strcpy(name, "XXXXX");
    strcpy(text, "YYYYY");
    const field *f = record_field(&r, "title");
    EXPECT(f != NULL);
    if (f)
        EXPECT_STR(f->v.s, "hello");
    EXPECT(record_field(&r, "XXXXX") == NULL);
    arena_release(&a);
}

/* --- copy ---------------------------------------------------------------- */

static void copy_is_deep(void)
{
    arena src_arena, dst_arena;
    arena_init(&src_arena, 256);
    arena_init(&dst_arena, 256);
    record src;
    record_init(&src, &src_arena, "note", "n1");
    src.deleted = true;
    src.version = 4;
    src.seq = 17;
    src.st = ST(WRITE_ID(1, 3), 10, 11, 2, 12);
    src.del = ST(WRITE_ID(1, 3), 10, 11, 2, 12);
    value title = V_STR("title text");
    value count = V_INT(3);
    stamp s1 = ST(WRITE_ID(1, 1), 1, 1, 0, 1);
    stamp s2 = ST(WRITE_ID(1, 2), 2, 2, 0, 2);
    record_set_field(&src, &src_arena, "title", &title, &s1);
    record_set_field(&src, &src_arena, "count", &count, &s2);

    record dst;
    record_copy(&dst, &src, &dst_arena);
    EXPECT(record_same_provenance(&dst, &src));
    EXPECT(dst.type != src.type);
    EXPECT(dst.id != src.id);
    EXPECT(dst.fields != src.fields);
    EXPECT(record_field(&dst, "title")->v.s != record_field(&src, "title")->v.s);
    EXPECT(record_field(&dst, "title")->name != record_field(&src, "title")->name);

    /* Mutating the copy leaves the source intact. */
    value other = V_STR("changed");
    stamp s3 = ST(WRITE_ID(2, 1), 5, 5, 0, 5);
    record_set_field(&dst, &dst_arena, "title", &other, &s3);
    record_set_field(&dst, &dst_arena, "added", &other, &s3);
    dst.deleted = false;
    EXPECT_STR(record_field(&src, "title")->v.s, "title text");
    EXPECT_U64(record_field(&src, "title")->st.w, WRITE_ID(1, 1));
    EXPECT(record_field(&src, "added") == NULL);
    EXPECT_INT(src.n_fields, 2);
    EXPECT(src.deleted);

    /* The copy does not borrow from the source's arena: free it, the copy still reads. */
    record keep;
    record_copy(&keep, &src, &dst_arena);
    arena_release(&src_arena);
    EXPECT_STR(keep.type, "note");
    EXPECT_STR(keep.id, "n1");
    EXPECT_INT(keep.version, 4);
    EXPECT_INT(keep.seq, 17);
    EXPECT(keep.deleted);
    EXPECT_U64(keep.del.w, WRITE_ID(1, 3));
    EXPECT_INT(keep.n_fields, 2);
    EXPECT_STR(record_field(&keep, "title")->v.s, "title text");
    EXPECT_INT(record_field(&keep, "count")->v.i, 3);
    EXPECT_U64(record_field(&keep, "count")->st.w, WRITE_ID(1, 2));
    arena_release(&dst_arena);
}

static void copy_of_an_empty_record(void)
{
    arena a;
    arena_init(&a, 256);
    record src, dst;
    record_init(&src, &a, "t", "i");
    record_copy(&dst, &src, &a);
    EXPECT_INT(dst.n_fields, 0);
    EXPECT(record_same_provenance(&dst, &src));
    value v = V_INT(1);
    stamp st = ST(1, 0, 0, 0, 0);
    record_set_field(&dst, &a, "f", &v, &st);
    EXPECT_INT(src.n_fields, 0);
    EXPECT_INT(dst.n_fields, 1);
    arena_release(&a);
}

/* --- JSON ---------------------------------------------------------------- */

static void build_every_kind(record *r, arena *a)
{
    record_init(r, a, "note", "id with \"quotes\"");
    r->version = 12;
    r->seq = 345;
    r->st = ST(WRITE_ID(3, 9), 1735689600123456, 1735689600123457, 42, 1735689600999999);
    static const char unicode[] = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80";   /* café ✓ 😀 */
    struct {
        const char *name;
        value v;
    } fields[] = {
        { "b_false", V_BOOL(false) },
        { "b_true", V_BOOL(true) },
        { "i_big", V_INT(INT64_C(1234567890123457)) },
        { "i_neg", V_INT(-17) },
        { "i_zero", V_INT(0) },
        { "nothing", V_NULL() },
        { "r_half", V_REAL(2.5) },
        { "r_neg_tiny", V_REAL(-1.25e-300) },
        { "r_tenth", V_REAL(0.1) },
        { "s_empty", V_STR("") },
        { "s_escapes", V_STR("say \"hi\"\nnew line\ttab \\ backslash /") },
        { "s_unicode", V_STR(unicode) },
        { "with space & \"quote\"", V_STR("x") },
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        stamp st = ST(WRITE_ID(1 + (int)i % 3, (uint32_t)i + 1), 1000 + (int64_t)i, -5 - (int64_t)i, (uint32_t)i * 7,
                      (int64_t)i * 1000);
        record_set_field(r, a, fields[i].name, &fields[i].v, &st);
    }
}

static void expect_records_identical(const record *a, const record *b, int line)
{
    int before = test_failures;
    EXPECT_STR(a->type, b->type);
    EXPECT_STR(a->id, b->id);
    EXPECT_INT(a->version, b->version);
    EXPECT_INT(a->seq, b->seq);
    EXPECT_INT(a->deleted, b->deleted);
    expect_stamp_eq(&a->st, &b->st, line);
    expect_stamp_eq(&a->del, &b->del, line);
    EXPECT_INT(a->n_fields, b->n_fields);
    for (int i = 0; i < a->n_fields && i < b->n_fields; i++) {
        EXPECT_STR(a->fields[i].name, b->fields[i].name);
        EXPECT_INT(a->fields[i].v.kind, b->fields[i].v.kind);
        EXPECT(value_equal(&a->fields[i].v, &b->fields[i].v));
        expect_stamp_eq(&a->fields[i].st, &b->fields[i].st, line);
    }
    EXPECT(record_same_provenance(a, b));
    if (test_failures != before)
        fprintf(stderr, "%s:%d: (records above differ)\n", __FILE__, line);
}

static void json_round_trips_every_kind(void)
{
    arena a;
    arena_init(&a, 4096);
    record r;
    build_every_kind(&r, &a);

    /* Through the cJSON tree. */
    cJSON *j = record_to_json(&r);
    EXPECT(cJSON_GetObjectItemCaseSensitive(j, "del") == NULL);   /* only while deleted */
    record back;
    const char *why = NULL;
    EXPECT(record_from_json(j, &a, &back, &why));
    EXPECT(why == NULL);
    expect_records_identical(&back, &r, __LINE__);

    /* Through the printed text, as the store and the wire carry it. */
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    record back2;
    EXPECT(decode_text(text, &a, &back2, &why));
    cJSON_free(text);
    expect_records_identical(&back2, &r, __LINE__);
    EXPECT_U64(back2.del.w, WRITE_NONE);
    /* The real that prints as an integer still equals; the others keep their kind. */
    EXPECT_INT(record_field(&back2, "r_half")->v.kind, VAL_REAL);
    EXPECT_INT(record_field(&back2, "i_big")->v.kind, VAL_INT);
    EXPECT_INT(record_field(&back2, "i_big")->v.i, INT64_C(1234567890123457));
    EXPECT_INT(record_field(&back2, "nothing")->v.kind, VAL_NULL);
    EXPECT_INT(record_field(&back2, "b_true")->v.b, 1);
    EXPECT_INT(record_field(&back2, "b_false")->v.b, 0);
    EXPECT_STR(record_field(&back2, "s_escapes")->v.s, "say \"hi\"\nnew line\ttab \\ backslash /");
    EXPECT_STR(record_field(&back2, "s_unicode")->v.s, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
    EXPECT_STR(back2.id, "id with \"quotes\"");
    arena_release(&a);
}

/*
 * What the merges added travels through both codecs: a stamp's stored version
 * ("sv"), the record's updatedAt ("su"), its incarnation ("bv", "pd") and the
 * write that grew each counter contribution. A record without them prints
 * none of them.
 */
static void merge_members_round_trip(void)
{
    arena a;
    arena_init(&a, 8192);
    record r;
    record_init(&r, &a, "note", "n1");
    r.version = 9;
    r.seq = 30;
    r.updated_us = 1735689600555000;
    r.born_version = 7;
    r.prev_del = ST(WRITE_ID(2, 4), 100, 101, 1, 102);
    r.prev_del.version = 6;
    r.st = ST(WRITE_ID(1, 5), 200, 201, 0, 202);
    r.st.version = 9;
    stamp fst = ST(WRITE_ID(1, 5), 200, 201, 0, 202);
    fst.version = 8;
    value text = V_STR("x");
    record_set_field(&r, &a, "text", &text, &fst);
    counter_part parts[] = { { .node = 1, .p = 5, .n = 1, .w = WRITE_ID(1, 5) },
                             { .node = 2, .p = 3, .n = 0, .w = WRITE_ID(2, 9) } };
    record_set_counter(&r, &a, "count", parts, 2, &fst);

    buf text_a;
    buf_init(&text_a);
    record_encode(&r, &text_a);
    cJSON *j = record_to_json(&r);
    buf text_b;   /* the project's writer: cJSON's printer rounds 16-digit integers */
    buf_init(&text_b);
    json_write(&text_b, j);
    const char *texts[] = { text_a.data, text_b.data };
    for (int k = 0; k < 2; k++) {
        record back;
        const char *why = NULL;
        EXPECT(record_decode(texts[k], strlen(texts[k]), &a, &back, &why));
        expect_records_identical(&back, &r, __LINE__);
        EXPECT_INT(back.updated_us, r.updated_us);
        EXPECT_INT(back.born_version, 7);
        expect_stamp_eq(&back.prev_del, &r.prev_del, __LINE__);
        const field *c = record_field(&back, "count");
        EXPECT(c && c->n_parts == 2 && c->parts[1].w == WRITE_ID(2, 9) && c->v.i == 7);
        record back2;
        EXPECT(decode_text(texts[k], &a, &back2, &why));
        expect_records_identical(&back2, &r, __LINE__);
        EXPECT_INT(back2.born_version, 7);
        EXPECT_U64(record_field(&back2, "count")->parts[0].w, WRITE_ID(1, 5));
    }
    EXPECT_CONTAINS(text_a.data, "\"sv\":8");
    EXPECT_CONTAINS(text_a.data, "\"su\":1735689600555000");
    EXPECT_CONTAINS(text_a.data, "\"bv\":7");
    /* The observation names every contribution's write, so a device is seen to have seen it. */
    observation obs;
    record_observation(&r, &obs, &a);
    bool names_other = false;
    for (int i = 0; i < obs.n_writes; i++)
        names_other = names_other || obs.writes[i] == WRITE_ID(2, 9);
    EXPECT(names_other);
    /* A record without them prints none. */
    record plain;
    record_init(&plain, &a, "note", "n2");
    buf text_c;
    buf_init(&text_c);
    record_encode(&plain, &text_c);
    EXPECT(!strstr(text_c.data, "\"sv\"") && !strstr(text_c.data, "\"su\"") && !strstr(text_c.data, "\"bv\""));
    /* A counter contribution without its write is malformed. */
    record bad;
    const char *why = NULL;
    EXPECT(!decode_text("{\"type\":\"n\",\"id\":\"1\",\"version\":1,\"seq\":1,\"deleted\":false,"
                        "\"st\":{\"w\":1,\"t\":0,\"hl\":0,\"hc\":0,\"s\":0},\"fields\":{\"c\":{\"v\":1,\"w\":1,"
                        "\"t\":0,\"hl\":0,\"hc\":0,\"s\":0,\"c\":[[1,1,0]]}}}",
                        &a, &bad, &why));
    buf_free(&text_a);
    buf_free(&text_b);
    buf_free(&text_c);
    cJSON_Delete(j);
    arena_release(&a);
}

static void json_round_trips_a_tombstone(void)
{
    arena a;
    arena_init(&a, 1024);
    record r;
    record_init(&r, &a, "workout", "w1");
    value v = V_INT(3);
    stamp fst = ST(WRITE_ID(1, 1), 100, 100, 0, 150);
    record_set_field(&r, &a, "sets", &v, &fst);
    r.deleted = true;
    r.version = 2;
    r.seq = 9;
    r.st = ST(WRITE_ID(2, 4), 200, 210, 1, 250);
    r.del = ST(WRITE_ID(2, 4), 200, 210, 1, 250);

    cJSON *j = record_to_json(&r);
    EXPECT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "deleted")));
    EXPECT(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "del")));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    record back;
    const char *why;
    EXPECT(decode_text(text, &a, &back, &why));
    cJSON_free(text);
    expect_records_identical(&back, &r, __LINE__);
    EXPECT(back.deleted);
    EXPECT_U64(back.del.w, WRITE_ID(2, 4));
    EXPECT_INT(back.del.server_us, 250);
    EXPECT_INT(back.del.h.c, 1);

    /* A delete stamp distinct from the record's last write also survives. */
    r.st = ST(WRITE_ID(3, 1), 300, 310, 0, 350);
    j = record_to_json(&r);
    record back2;
    EXPECT(record_from_json(j, &a, &back2, &why));
    cJSON_Delete(j);
    EXPECT_U64(back2.st.w, WRITE_ID(3, 1));
    EXPECT_U64(back2.del.w, WRITE_ID(2, 4));
    arena_release(&a);
}

static void stamp_json_round_trip_and_refusals(void)
{
    stamp st = ST(WRITE_ID(7, 123), -5, 1735689600000001, 65535, 1735689600000002);
    cJSON *j = stamp_to_json(&st);
    stamp back;
    memset(&back, 0xab, sizeof back);
    EXPECT(stamp_from_json(j, &back));
    expect_stamp_eq(&back, &st, __LINE__);
    cJSON_Delete(j);

    static const char *const bad[] = {
        "null",
        "[1,2,3,4,5]",
        "{\"t\":1,\"hl\":1,\"hc\":0,\"s\":0}",              /* no w */
        "{\"w\":1,\"hl\":1,\"hc\":0,\"s\":0}",              /* no t */
        "{\"w\":1,\"t\":1,\"hc\":0,\"s\":0}",               /* no hl */
        "{\"w\":1,\"t\":1,\"hl\":1,\"s\":0}",               /* no hc */
        "{\"w\":1,\"t\":1,\"hl\":1,\"hc\":0}",              /* no s */
        "{\"w\":\"1\",\"t\":1,\"hl\":1,\"hc\":0,\"s\":0}",  /* w a string */
        "{\"w\":1,\"t\":true,\"hl\":1,\"hc\":0,\"s\":0}",   /* t a bool */
        "{\"w\":-1,\"t\":1,\"hl\":1,\"hc\":0,\"s\":0}",     /* negative write id */
        "{\"w\":1,\"t\":1,\"hl\":1,\"hc\":-1,\"s\":0}",     /* negative counter */
        "{\"w\":1,\"t\":1,\"hl\":1,\"hc\":4294967296,\"s\":0}",   /* counter beyond 32 bits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *b = cJSON_Parse(bad[i]);
        EXPECT(b != NULL);
        stamp out;
        if (stamp_from_json(b, &out)) {
            fprintf(stderr, "%s:%d: stamp_from_json accepted %s\n", __FILE__, __LINE__, bad[i]);
            test_failures++;
        }
        cJSON_Delete(b);
    }
    stamp out;
    EXPECT(!stamp_from_json(NULL, &out));
}

/* A valid record to mutate: each case replaces one part of it. */
#define GOOD_STAMP "{\"w\":1,\"t\":2,\"hl\":3,\"hc\":0,\"s\":4}"
#define GOOD_FIELD "{\"v\":1,\"w\":1,\"t\":2,\"hl\":3,\"hc\":0,\"s\":4}"

static void from_json_refuses_malformed_input(void)
{
    arena a;
    arena_init(&a, 1024);
    record r;
    const char *why = NULL;

    /* The well-formed baseline is accepted, so each refusal below is about its one change. */
    EXPECT(decode_text("{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,"
                       "\"st\":" GOOD_STAMP ",\"fields\":{\"f\":" GOOD_FIELD "}}",
                       &a, &r, &why));
    EXPECT(why == NULL);
    EXPECT_INT(r.n_fields, 1);
    /* An empty fields object is fine too. */
    EXPECT(decode_text("{\"type\":\"t\",\"id\":\"i\",\"version\":0,\"seq\":0,\"deleted\":false,"
                       "\"st\":" GOOD_STAMP ",\"fields\":{}}",
                       &a, &r, &why));

    static const struct {
        const char *json;
        const char *reason;   /* a word the reason must contain */
    } cases[] = {
        { "{\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP ",\"fields\":{}}", "type" },
        { "{\"type\":\"t\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP ",\"fields\":{}}", "id" },
        { "{\"type\":7,\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP ",\"fields\":{}}",
          "type" },
        { "{\"type\":\"t\",\"id\":null,\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP
          ",\"fields\":{}}",
          "id" },
        { "{\"type\":\"t\",\"id\":\"i\",\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP ",\"fields\":{}}",
          "version" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"deleted\":false,\"st\":" GOOD_STAMP ",\"fields\":{}}",
          "seq" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":0,\"st\":" GOOD_STAMP ",\"fields\":{}}",
          "deleted" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"fields\":{}}", "stamp" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":{\"w\":1},\"fields\":{}}",
          "stamp" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":true,\"st\":" GOOD_STAMP
          ",\"del\":\"yesterday\",\"fields\":{}}",
          "delete stamp" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP "}", "fields" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP
          ",\"fields\":[]}",
          "fields" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP
          ",\"fields\":{\"f\":{\"w\":1,\"t\":2,\"hl\":3,\"hc\":0,\"s\":4}}}",
          "field" },   /* a field without "v" */
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP
          ",\"fields\":{\"f\":{\"v\":[1,2],\"w\":1,\"t\":2,\"hl\":3,\"hc\":0,\"s\":4}}}",
          "field" },   /* an array value */
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP
          ",\"fields\":{\"f\":{\"v\":{\"x\":1},\"w\":1,\"t\":2,\"hl\":3,\"hc\":0,\"s\":4}}}",
          "field" },   /* an object value */
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP
          ",\"fields\":{\"f\":{\"v\":1,\"w\":1,\"t\":2,\"hl\":3,\"s\":4}}}",
          "field" },   /* a field whose stamp lacks hc */
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP
          ",\"fields\":{\"f\":5}}",
          "field" },   /* a field that is not an object */
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP
          ",\"fields\":{\"f\":" GOOD_FIELD ",\"f\":" GOOD_FIELD "}}",
          "repeated" },
        { "[1,2,3]", "type" },
        { "\"record\"", "type" },
        /* Numbers a stamp cannot hold: beyond int64 (casting them was undefined behaviour, the
         * wire fuzzer's first finding), beyond 2^53, or with a fraction. */
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,"
          "\"st\":{\"w\":1,\"t\":1e300,\"hl\":3,\"hc\":0,\"s\":4},\"fields\":{}}",
          "stamp" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,"
          "\"st\":{\"w\":1,\"t\":2,\"hl\":-1e19,\"hc\":0,\"s\":4},\"fields\":{}}",
          "stamp" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,"
          "\"st\":{\"w\":1,\"t\":2,\"hl\":3,\"hc\":0,\"s\":9007199254740993},\"fields\":{}}",
          "stamp" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,"
          "\"st\":{\"w\":1.5,\"t\":2,\"hl\":3,\"hc\":0,\"s\":4},\"fields\":{}}",
          "stamp" },
        { "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,"
          "\"st\":{\"w\":1,\"t\":2,\"hl\":3,\"hc\":0,\"s\":4,\"sv\":1e30},\"fields\":{}}",
          "stamp" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        why = NULL;
        bool ok = decode_text(cases[i].json, &a, &r, &why);
        if (ok) {
            fprintf(stderr, "%s:%d: record_from_json accepted case %zu: %s\n", __FILE__, __LINE__, i,
                    cases[i].json);
            test_failures++;
            continue;
        }
        EXPECT_CONTAINS(why, cases[i].reason);
    }

    /* NULL (e.g. a missing "record" member) is refused, not dereferenced. */
    why = NULL;
    EXPECT(!record_from_json(NULL, &a, &r, &why));
    EXPECT(why != NULL && why[0] != '\0');
    arena_release(&a);
}

static void from_json_refuses_too_many_fields(void)
{
    arena a;
    arena_init(&a, 4096);
    record r;
    record_init(&r, &a, "t", "i");
    stamp st = ST(1, 0, 0, 0, 0);
    value v = V_INT(1);
    char name[16];
    for (int i = 0; i < RECORD_FIELDS_MAX; i++) {
        snprintf(name, sizeof name, "f%03d", i);
        record_set_field(&r, &a, name, &v, &st);
    }
    cJSON *j = record_to_json(&r);
    const char *why = NULL;
    record back;
    EXPECT(record_from_json(j, &a, &back, &why));   /* exactly the bound is fine */
    EXPECT_INT(back.n_fields, RECORD_FIELDS_MAX);
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(j, "fields"), "g_one_more",
                          cJSON_Parse(GOOD_FIELD));
    EXPECT(!record_from_json(j, &a, &back, &why));
    EXPECT_CONTAINS(why, "too many");
    cJSON_Delete(j);
    arena_release(&a);
}

/*
 * value.h promises every integer below 2^53 in magnitude a faithful JSON form
 * (value_to_json asserts that bound). The record must survive every text form
 * the product writes: the store's body (record_encode) and JSON printed with
 * json_write (traces, and the wire to an external process). cJSON's own
 * printer is not one of them: it rounds such integers to 15 digits.
 */
static void large_integers_survive_printing(void)
{
    static const int64_t ints[] = {
        (INT64_C(1) << 53) - 1, -((INT64_C(1) << 53) - 1), INT64_C(5000000000000001), INT64_C(9007199254740989),
        INT64_C(4503599627370497), INT64_C(1000000000000001),
    };
    arena a;
    arena_init(&a, 1024);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        record r;
        record_init(&r, &a, "t", "i");
        value v = V_INT(ints[i]);
        stamp st = ST(1, 0, 0, 0, 0);
        record_set_field(&r, &a, "n", &v, &st);
        cJSON *j = record_to_json(&r);
        buf printed, encoded;
        buf_init(&printed);
        buf_init(&encoded);
        json_write(&printed, j);
        cJSON_Delete(j);
        record_encode(&r, &encoded);
        const char *texts[] = { printed.data, encoded.data };
        for (int k = 0; k < 2; k++) {
            record back;
            const char *why;
            bool ok = decode_text(texts[k], &a, &back, &why);
            EXPECT(ok);
            if (ok && record_field(&back, "n")->v.i != ints[i]) {
                fprintf(stderr, "%s:%d: integer %lld came back as %lld from %s\n", __FILE__, __LINE__,
                        (long long)ints[i], (long long)record_field(&back, "n")->v.i, texts[k]);
                test_failures++;
            }
            /* The store's own decoder reads the same text exactly. */
            ok = record_decode(texts[k], strlen(texts[k]), &a, &back, &why);
            EXPECT(ok);
            if (ok)
                EXPECT_INT(record_field(&back, "n")->v.i, ints[i]);
        }
        buf_free(&printed);
        buf_free(&encoded);
    }
    arena_release(&a);
}

/*
 * record_from_json looks members up in the order record_to_json writes them (a cursor, for speed);
 * the answer must stay cJSON_GetObjectItemCaseSensitive's whatever the order: the first member of
 * a name wins, members may come in any order, optional ones may be absent or appear late.
 */
static void from_json_reads_members_in_any_order(void)
{
    const char *const texts[] = {
        /* the encoder's order */
        "{\"type\":\"t\",\"id\":\"a\",\"tenant\":\"u\",\"version\":3,\"seq\":4,\"deleted\":false,"
        "\"st\":{\"w\":5,\"t\":6,\"hl\":7,\"hc\":1,\"s\":8},\"fields\":{\"f\":{\"v\":9,\"w\":5,\"t\":6,\"hl\":7,\"hc\":1,\"s\":8,\"sv\":2}}}",
        /* reversed, stamps shuffled, and a stamp's optional sv first */
        "{\"fields\":{\"f\":{\"sv\":2,\"s\":8,\"hc\":1,\"hl\":7,\"t\":6,\"w\":5,\"v\":9}},\"st\":{\"s\":8,\"w\":5,\"hc\":1,\"t\":6,\"hl\":7},"
        "\"deleted\":false,\"seq\":4,\"version\":3,\"tenant\":\"u\",\"id\":\"a\",\"type\":\"t\"}",
        /* duplicates: the first of each name counts, later ones are ignored as cJSON's lookup does */
        "{\"type\":\"t\",\"id\":\"a\",\"id\":\"zzz\",\"tenant\":\"u\",\"version\":3,\"seq\":4,\"seq\":99,\"deleted\":false,"
        "\"st\":{\"w\":5,\"t\":6,\"w\":77,\"hl\":7,\"hc\":1,\"s\":8},\"fields\":{\"f\":{\"v\":9,\"v\":10,\"w\":5,\"t\":6,\"hl\":7,\"hc\":1,\"s\":8,\"sv\":2}},\"type\":\"other\"}",
        /* an unknown member between known ones */
        "{\"type\":\"t\",\"x\":1,\"id\":\"a\",\"tenant\":\"u\",\"version\":3,\"junk\":[1,2],\"seq\":4,\"deleted\":false,"
        "\"st\":{\"w\":5,\"q\":0,\"t\":6,\"hl\":7,\"hc\":1,\"s\":8},\"fields\":{\"f\":{\"v\":9,\"w\":5,\"t\":6,\"hl\":7,\"hc\":1,\"s\":8,\"sv\":2}}}",
    };
    arena a;
    arena_init(&a, 4096);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        record r;
        const char *why = NULL;
        bool ok = decode_text(texts[i], &a, &r, &why);
        EXPECT(ok);
        if (!ok) {
            fprintf(stderr, "%s:%d: text %zu refused: %s\n", __FILE__, __LINE__, i, why ? why : "?");
            continue;
        }
        EXPECT_STR(r.type, "t");
        EXPECT_STR(r.id, "a");
        EXPECT_STR(r.tenant, "u");
        EXPECT_INT(r.version, 3);
        EXPECT_INT(r.seq, 4);
        EXPECT_U64(r.st.w, 5);
        EXPECT_INT(r.st.ts_us, 6);
        EXPECT_INT(r.st.h.l_us, 7);
        EXPECT_INT(r.st.server_us, 8);
        const field *f = record_field(&r, "f");
        EXPECT(f && f->v.kind == VAL_INT && f->v.i == 9 && f->st.version == 2 && f->st.w == 5);
    }
    /* A required member missing late in the order is still missed. */
    record r;
    const char *why = NULL;
    EXPECT(!decode_text("{\"type\":\"t\",\"id\":\"a\",\"version\":3,\"seq\":4,\"deleted\":false,\"fields\":{}}", &a, &r, &why));
    arena_release(&a);
}

/* --- the packed form (record_pack.c) ---------------------------------------- */

static bool same_stamp(const stamp *x, const stamp *y)
{
    return x->w == y->w && x->ts_us == y->ts_us && x->h.l_us == y->h.l_us && x->h.c == y->h.c &&
           x->server_us == y->server_us && x->version == y->version;
}

/* Every member, value kinds included (record_same_state calls int 3 and real 3.0 equal). */
static bool same_record_exactly(const record *x, const record *y)
{
    if (strcmp(x->type, y->type) || strcmp(x->id, y->id) || strcmp(x->tenant ? x->tenant : "", y->tenant ? y->tenant : "") ||
        x->deleted != y->deleted || x->version != y->version || x->seq != y->seq || x->updated_us != y->updated_us ||
        !same_stamp(&x->st, &y->st) || !same_stamp(&x->del, &y->del) || x->born_version != y->born_version ||
        !same_stamp(&x->prev_del, &y->prev_del) || x->n_fields != y->n_fields || x->n_events != y->n_events)
        return false;
    for (int i = 0; i < x->n_fields; i++) {
        const field *f = &x->fields[i], *g = &y->fields[i];
        if (strcmp(f->name, g->name) || !value_identical(&f->v, &g->v) || !same_stamp(&f->st, &g->st) ||
            f->n_parts != g->n_parts || (f->n_parts && memcmp(f->parts, g->parts, (size_t)f->n_parts * sizeof *f->parts)))
            return false;
    }
    for (int i = 0; i < x->n_events; i++) {
        const log_event *e = &x->events[i], *d = &y->events[i];
        if (e->w != d->w || e->at_us != d->at_us || e->server_us != d->server_us || e->n_fields != d->n_fields)
            return false;
        for (int k = 0; k < e->n_fields; k++)
            if (strcmp(e->fields[k].name, d->fields[k].name) || !value_identical(&e->fields[k].v, &d->fields[k].v))
                return false;
    }
    return true;
}

/* A record with every kind of member, and reals the JSON form changes: integral ones within 2^53
 * become integers, 2^53 + 2 prints without an exponent and reads back as an integer, non-finite
 * ones become null, -0.0 becomes 0. */
static void build_every_member(record *r, arena *a, double real, const char *text)
{
    record_init(r, a, "note", "n1");
    r->tenant = (real < 0) ? NULL : "alice";
    r->version = 7;
    r->seq = 42;
    r->updated_us = INT64_C(1735689600123456);
    r->st = ST(WRITE_ID(3, 9), INT64_C(1735689600000001), INT64_C(1735689600000002), 4, 99);
    r->st.version = 6;
    /* A delete stamp without a write, and a previous delete without a born version: the JSON form
     * drops both, so the packed one must too. */
    r->del = ST(WRITE_NONE, 5, 6, 7, 8);
    r->prev_del = ST(WRITE_ID(1, 1), -5, -6, 1, -8);
    value v[] = { V_INT(-1), V_INT(INT64_MAX), V_INT(INT64_MIN), V_REAL(real), V_STR(text), V_BOOL(true), V_NULL() };
    const char *names[] = { "a", "b", "c", "d", "e", "f", "g" };
    for (int i = 0; i < 7; i++) {
        stamp st = ST(WRITE_ID(2, (uint32_t)i + 1), -i, i, (uint32_t)i, i * 1000);
        record_set_field(r, a, names[i], &v[i], &st);
    }
    counter_part parts[] = { { 1, 10, 2, WRITE_ID(1, 5) }, { 4, 3, 0, WRITE_ID(4, 1) } };
    stamp cst = ST(WRITE_ID(4, 1), 1, 2, 3, 4);
    record_set_counter(r, a, "count", parts, 2, &cst);
    op_field ef[] = { { "kind", V_STR("start") }, { "x", V_REAL(real) } };
    log_event e1 = { .w = WRITE_ID(2, 8), .at_us = 10, .server_us = 11, .n_fields = 2, .fields = ef };
    log_event e2 = { .w = WRITE_ID(1, 2), .at_us = 9, .server_us = 0, .n_fields = 0, .fields = NULL };
    record_add_event(r, a, &e1, EVENT_ORDER_STORED, true);
    record_add_event(r, a, &e2, EVENT_ORDER_STORED, true);
}

static void packed_form_reads_as_the_json_form(void)
{
    const double reals[] = { 2.5, 2.0, -0.0, 9007199254740994.0, 1e300, 0.1, -3.75e-9, 1.0 / 0.0, -1.0 / 0.0, 0.0 / 0.0, -7.0 };
    const char *texts[] = { "plain", "", "quote \" back\\slash \n\t\r \x01 \x1f", "h\xc3\xa9llo \xff\xfe" };
    arena a;
    arena_init(&a, 4096);
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
            record r, from_json, from_pack;
            build_every_member(&r, &a, reals[i], texts[t]);
            r.deleted = i % 2;
            buf json, packed;
            buf_init(&json);
            buf_init(&packed);
            record_encode(&r, &json);
            record_pack(&r, &packed);
            const char *why;
            EXPECT(record_decode(json.data, json.len, &a, &from_json, &why));
            EXPECT(record_unpack(packed.data, packed.len, &a, &from_pack, &why));
            if (!same_record_exactly(&from_json, &from_pack)) {
                fprintf(stderr, "%s:%d: packed and JSON forms read back differently (real %g, text %zu): %s\n",
                        __FILE__, __LINE__, reals[i], t, json.data);
                test_failures++;
            }
            EXPECT((unsigned char)packed.data[0] == RECORD_PACK_MAGIC);
            EXPECT(packed.len < json.len / 2);
            /* Packing what was unpacked gives the same bytes: a stored body compares equal to itself. */
            buf again;
            buf_init(&again);
            record_pack(&from_pack, &again);
            EXPECT(again.len == packed.len && memcmp(again.data, packed.data, packed.len) == 0);
            buf_free(&again);
            buf_free(&json);
            buf_free(&packed);
        }
    }
    arena_release(&a);
}

/* Times are packed as differences from the time before them, modulo 2^64: the extremes, side by
 * side, come back exactly, as do write ids of every size; times close together take few bytes. */
static void packed_times_are_differences(void)
{
    arena a;
    arena_init(&a, 4096);
    record r, back;
    record_init(&r, &a, "note", "n1");
    r.updated_us = INT64_MIN;
    r.st = ST(UINT64_MAX, INT64_MAX, INT64_MIN, UINT32_MAX, 0);
    r.st.version = INT64_MAX;
    stamp st = ST(WRITE_ID(UINT32_MAX, 0), -1, INT64_MAX, 0, INT64_MIN);
    value one = V_INT(1);
    record_set_field(&r, &a, "a", &one, &st);
    log_event e1 = { .w = WRITE_ID(0, 1), .at_us = INT64_MAX, .server_us = INT64_MIN, .n_fields = 0 };
    log_event e2 = { .w = (write_id)1 << 32, .at_us = 0, .server_us = -1, .n_fields = 0 };
    record_add_event(&r, &a, &e1, EVENT_ORDER_STORED, true);
    record_add_event(&r, &a, &e2, EVENT_ORDER_STORED, true);
    buf packed;
    buf_init(&packed);
    record_pack(&r, &packed);
    const char *why;
    EXPECT(record_unpack(packed.data, packed.len, &a, &back, &why));
    EXPECT(same_record_exactly(&r, &back));
    EXPECT(record_packed_same_provenance(packed.data, packed.len, &r));

    /* A log of events a minute apart, each stored 80 ms after it occurred, at this century's
     * times: an event takes at most 16 bytes (each of its times alone would take 8). */
    record log;
    record_init(&log, &a, "feed", "f1");
    size_t len_before = 0;
    for (int i = 0; i < 40; i++) {
        int64_t at_us = INT64_C(1735689600000000) + (int64_t)i * 60000000;
        op_field f = { "k", V_INT(i) };
        log_event e = { .w = WRITE_ID(3, 1000 + i), .at_us = at_us, .server_us = at_us + 80000, .n_fields = 1,
                        .fields = &f };
        record_add_event(&log, &a, &e, EVENT_ORDER_STORED, true);
        buf_clear(&packed);
        record_pack(&log, &packed);
        if (i)
            EXPECT(packed.len - len_before <= 16);
        len_before = packed.len;
    }
    EXPECT(record_unpack(packed.data, packed.len, &a, &back, &why));
    EXPECT(same_record_exactly(&log, &back));
    buf_free(&packed);
    arena_release(&a);
}

/* One change to a copy of a record: some record_same_provenance compares, some it ignores. */
static void mutate(record *y, arena *a, int which)
{
    field *count = &y->fields[record_field(y, "count") - y->fields];
    value v;
    switch (which) {
    case 0: break;
    case 1: y->deleted = !y->deleted; break;
    case 2: y->st.w = WRITE_ID(9, 9); break;
    case 3: y->st.ts_us++; y->version++; y->seq++; y->updated_us++; break;   /* ignored */
    case 4: y->del.w = WRITE_ID(9, 8); break;
    case 5: y->fields[0].name = "a0"; break;   /* still first in order */
    case 6: v = (value){ .kind = VAL_INT, .i = 5 }; record_set_field(y, a, "a", &v, &y->fields[0].st); break;
    case 7: v = (value){ .kind = VAL_STRING, .s = "other" }; record_set_field(y, a, "e", &v, &record_field(y, "e")->st); break;
    case 8: v = (value){ .kind = VAL_STRING, .s = "-1" }; record_set_field(y, a, "a", &v, &y->fields[0].st); break;
    case 9: y->fields[1].st.w = WRITE_ID(9, 7); break;
    case 10: y->fields[1].st.ts_us += 3; y->fields[1].st.server_us++; break;   /* ignored */
    case 11: count->parts[1].p++; count->v.i++; break;
    case 12: count->parts[0].w = WRITE_ID(9, 6); break;
    case 13: count->parts[1].node = 5; break;
    case 14: count->n_parts = 1; count->v.i = count->parts[0].p - count->parts[0].n; break;
    case 15: count->v.i += 1; break;   /* unpacked, a counter's value is its parts' total */
    case 16: v = (value){ .kind = VAL_NULL }; record_set_field(y, a, "zz", &v, &y->st); break;
    case 17: y->n_fields--; break;
    case 18: y->events[0].w = WRITE_ID(9, 5); break;
    case 19: y->events[1].server_us = 77; break;
    case 20: y->events[0].at_us = 1; y->events[0].n_fields = 1; break;   /* ignored */
    case 21: y->n_events--; break;
    case 22: y->tenant = "bob"; y->prev_del.w = WRITE_ID(9, 4); break;   /* ignored */
    case 23: { /* an integral real and the integer it reads as: one JSON number */
        const field *d = record_field(y, "d");
        if (d->v.kind == VAL_REAL && d->v.r == (double)(int64_t)d->v.r) {
            v = (value){ .kind = VAL_INT, .i = (int64_t)d->v.r };
            record_set_field(y, a, "d", &v, &d->st);
        }
        break;
    }
    }
}
#define MUTATIONS 24

/* record_packed_same_provenance answers what unpacking and record_same_provenance answer, for every
 * change above in either record, every kind of value; and false for a damaged body. */
static void packed_provenance_is_unpacked_provenance(void)
{
    const double reals[] = { 2.5, 2.0, -0.0, 9007199254740994.0, 0.0 / 0.0, -7.0 };
    const char *texts[] = { "plain", "", "h\xc3\xa9llo" };
    arena a;
    arena_init(&a, 4096);
    int same = 0, differ = 0;
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
            for (int m = 0; m < MUTATIONS; m++) {
                record x, y, back;
                build_every_member(&x, &a, reals[i], texts[t]);
                record_copy(&y, &x, &a);
                mutate(&y, &a, m);
                const record *pair[2][2] = { { &x, &y }, { &y, &x } };
                for (int k = 0; k < 2; k++) {
                    buf packed;
                    buf_init(&packed);
                    record_pack(pair[k][0], &packed);
                    const char *why;
                    EXPECT(record_unpack(packed.data, packed.len, &a, &back, &why));
                    bool want = record_same_provenance(&back, pair[k][1]);
                    if (record_packed_same_provenance(packed.data, packed.len, pair[k][1]) != want) {
                        fprintf(stderr, "%s:%d: real %g, text %zu, change %d, direction %d: packed says %s\n",
                                __FILE__, __LINE__, reals[i], t, m, k, want ? "differ" : "same");
                        test_failures++;
                    }
                    want ? same++ : differ++;
                    /* Cut short or lengthened: not what record_pack wrote. */
                    EXPECT(!record_packed_same_provenance(packed.data, packed.len - 1, pair[k][1]));
                    buf_putc(&packed, 0);
                    EXPECT(!record_packed_same_provenance(packed.data, packed.len, pair[k][1]));
                    EXPECT(!record_packed_same_provenance(packed.data + 1, packed.len - 2, pair[k][1]));
                    buf_free(&packed);
                }
            }
        }
    }
    /* Both answers came up, many times over. */
    EXPECT(same > 100 && differ > 300);
    arena_release(&a);
}

/* Pack r with its fields in the given order (indexes into r's sorted fields), which may break the
 * sorted-names invariant record_pack relies on nowhere: it writes them as they lie. */
static void pack_fields_in_order(const record *r, const int *order, int n, arena *a, buf *out)
{
    record shuffled = *r;
    shuffled.fields = arena_alloc(a, (size_t)n * sizeof *shuffled.fields);
    for (int i = 0; i < n; i++)
        shuffled.fields[i] = r->fields[order[i]];
    shuffled.n_fields = n;
    shuffled.cap_fields = n;
    record_pack(&shuffled, out);
}

/* record_unpack appends record_pack's fields, which come sorted by name, in place. A body whose
 * fields come in another order is still read, each inserted where it belongs; one holding a name
 * twice, next to each other or apart, is refused. */
static void unpack_sorts_fields_and_refuses_repeats(void)
{
    arena a;
    arena_init(&a, 4096);
    record r, want, back;
    build_every_member(&r, &a, 2.5, "text");
    EXPECT_INT(r.n_fields, 8);   /* a b c count d e f g: a counter among plain fields */
    buf packed, again;
    buf_init(&packed);
    buf_init(&again);
    record_pack(&r, &packed);
    const char *why = NULL;
    EXPECT(record_unpack(packed.data, packed.len, &a, &want, &why));
    static const int orders[][8] = { { 7, 6, 5, 4, 3, 2, 1, 0 }, { 3, 0, 1, 2, 4, 5, 6, 7 }, { 0, 1, 2, 4, 5, 6, 7, 3 } };
    for (size_t k = 0; k < sizeof orders / sizeof orders[0]; k++) {
        buf_clear(&again);
        pack_fields_in_order(&r, orders[k], 8, &a, &again);
        EXPECT(again.len == packed.len && memcmp(again.data, packed.data, packed.len) != 0);
        EXPECT(record_unpack(again.data, again.len, &a, &back, &why));
        EXPECT(same_record_exactly(&back, &want));
        EXPECT_INT(record_field(&back, "count")->n_parts, 2);
        EXPECT_INT(record_field(&back, "count")->v.i, 11);   /* the parts' total: 10 - 2 + 3 */
    }
    static const int repeats[][8] = { { 0, 0, 1, 2, 3, 4, 5, 6 }, { 0, 1, 2, 3, 4, 5, 6, 1 }, { 3, 3, 0, 1, 2, 4, 5, 6 } };
    for (size_t k = 0; k < sizeof repeats / sizeof repeats[0]; k++) {
        buf_clear(&again);
        pack_fields_in_order(&r, repeats[k], 8, &a, &again);
        why = NULL;
        EXPECT(!record_unpack(again.data, again.len, &a, &back, &why));
        EXPECT_CONTAINS(why, "repeated");
    }
    buf_free(&packed);
    buf_free(&again);
    arena_release(&a);
}

/* An event's field name the same as the one at its place in the event before is read as that same
 * string (one copy serves the log), and a copy of the record shares it the same way in its own arena;
 * a name that only begins like it, or runs on past it, is its own. */
static void unpack_shares_repeated_event_names(void)
{
    arena a, b;
    arena_init(&a, 4096);
    arena_init(&b, 4096);
    record r, back, copy;
    record_init(&r, &a, "attempt", "a1");
    r.st = ST(WRITE_ID(1, 1), 1, 1, 0, 0);
    op_field f1[] = { { "kind", V_STR("start") }, { "x", V_INT(1) } };
    op_field f2[] = { { "kind", V_STR("pause") }, { "x", V_INT(2) } };
    op_field f3[] = { { "kin", V_STR("z") }, { "kinde", V_INT(3) } };
    op_field f4[] = { { "kin", V_STR("q") } };
    log_event events[] = {
        { .w = WRITE_ID(1, 2), .at_us = 10, .n_fields = 2, .fields = f1 },
        { .w = WRITE_ID(1, 3), .at_us = 11, .n_fields = 2, .fields = f2 },
        { .w = WRITE_ID(2, 1), .at_us = 12, .n_fields = 2, .fields = f3 },
        { .w = WRITE_ID(2, 2), .at_us = 13, .n_fields = 1, .fields = f4 },
    };
    for (int i = 0; i < 4; i++)
        record_add_event(&r, &a, &events[i], EVENT_ORDER_STORED, true);
    buf packed, again;
    buf_init(&packed);
    buf_init(&again);
    record_pack(&r, &packed);
    const char *why = NULL;
    EXPECT(record_unpack(packed.data, packed.len, &a, &back, &why));
    EXPECT_INT(back.n_events, 4);
    const log_event *e = back.events;
    EXPECT(e[1].fields[0].name == e[0].fields[0].name && e[1].fields[1].name == e[0].fields[1].name);
    EXPECT(e[2].fields[0].name != e[1].fields[0].name && e[2].fields[1].name != e[1].fields[1].name);
    EXPECT_STR(e[2].fields[0].name, "kin");
    EXPECT_STR(e[2].fields[1].name, "kinde");
    EXPECT(e[3].fields[0].name == e[2].fields[0].name);
    record_pack(&back, &again);
    EXPECT(again.len == packed.len && memcmp(again.data, packed.data, packed.len) == 0);
    record_copy(&copy, &back, &b);
    const log_event *c = copy.events;
    EXPECT(c[1].fields[0].name == c[0].fields[0].name && c[3].fields[0].name == c[2].fields[0].name);
    EXPECT(c[0].fields[0].name != e[0].fields[0].name);   /* the copy's own, in its arena */
    EXPECT(c[2].fields[0].name != c[1].fields[0].name);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < e[i].n_fields; k++)
            EXPECT_STR(c[i].fields[k].name, events[i].fields[k].name);
    buf_clear(&again);
    record_pack(&copy, &again);
    EXPECT(again.len == packed.len && memcmp(again.data, packed.data, packed.len) == 0);
    buf_free(&packed);
    buf_free(&again);
    arena_release(&a);
    arena_release(&b);
}

/* Every prefix of a packed record, and every single-byte change of it, is refused or read without
 * reading past the end (the sanitizer build checks the second); the whole one is read. */
static void unpack_refuses_damaged_input(void)
{
    arena a;
    arena_init(&a, 4096);
    record r, back;
    build_every_member(&r, &a, 2.5, "text");
    buf packed;
    buf_init(&packed);
    record_pack(&r, &packed);
    const char *why = NULL;
    for (size_t len = 0; len < packed.len; len++) {
        char *copy = xmalloc(len ? len : 1);   /* exactly len bytes: an over-read is the sanitizer's */
        memcpy(copy, packed.data, len);
        if (record_unpack(copy, len, &a, &back, &why)) {
            fprintf(stderr, "%s:%d: a %zu-byte prefix of a %zu-byte packed record was accepted\n", __FILE__, __LINE__,
                    len, packed.len);
            test_failures++;
        } else {
            EXPECT(why != NULL);
        }
        xfree(copy);
    }
    int accepted = 0;
    for (size_t at = 0; at < packed.len; at++) {
        for (int bit = 0; bit < 8; bit++) {
            char *copy = xmalloc(packed.len);
            memcpy(copy, packed.data, packed.len);
            copy[at] = (char)(copy[at] ^ (1 << bit));
            accepted += record_unpack(copy, packed.len, &a, &back, &why);
            xfree(copy);
        }
    }
    EXPECT(accepted > 0);                        /* a flipped bit inside a number is still a record */
    EXPECT(accepted < (int)packed.len * 8);      /* lengths, counts and kinds are checked */
    /* A trailing byte is refused: a body is one record. */
    buf_putc(&packed, 0);
    EXPECT(!record_unpack(packed.data, packed.len, &a, &back, &why));
    /* A JSON body is not a packed one. */
    EXPECT(!record_unpack("{\"type\":\"t\"}", 12, &a, &back, &why));
    buf_free(&packed);
    arena_release(&a);
}

/* --- comparisons ----------------------------------------------------------- */

static void value_equality(void)
{
    value i3 = V_INT(3), r3 = V_REAL(3.0), r35 = V_REAL(3.5), s3 = V_STR("3"), s3b = V_STR("3");
    value t = V_BOOL(true), f = V_BOOL(false), n = V_NULL(), i0 = V_INT(0), i1 = V_INT(1);
    EXPECT(value_equal(&i3, &r3));
    EXPECT(value_equal(&r3, &i3));
    EXPECT(!value_equal(&i3, &r35));
    EXPECT(!value_equal(&r35, &i3));
    EXPECT(!value_equal(&i3, &s3));
    EXPECT(!value_equal(&s3, &i3));
    EXPECT(!value_equal(&r3, &s3));
    EXPECT(value_equal(&s3, &s3b));   /* by content, not pointer */
    EXPECT(value_equal(&n, &n));
    EXPECT(!value_equal(&n, &i0));
    EXPECT(!value_equal(&f, &i0));    /* false is not 0 */
    EXPECT(!value_equal(&t, &i1));    /* true is not 1 */
    EXPECT(!value_equal(&t, &f));
    EXPECT(value_equal(&t, &t));
    value e = V_STR(""), sn = V_STR("null");
    EXPECT(!value_equal(&e, &n));
    EXPECT(!value_equal(&sn, &n));
    value big = V_INT(INT64_C(9007199254740991)), big2 = V_INT(INT64_C(9007199254740990));
    EXPECT(!value_equal(&big, &big2));
}

static void build_pair(record *x, record *y, arena *a)
{
    record_init(x, a, "note", "n1");
    value v1 = V_STR("one"), v2 = V_INT(2);
    stamp s1 = ST(WRITE_ID(1, 1), 10, 10, 0, 10), s2 = ST(WRITE_ID(1, 2), 20, 20, 0, 20);
    record_set_field(x, a, "a", &v1, &s1);
    record_set_field(x, a, "b", &v2, &s2);
    x->st = s2;
    record_copy(y, x, a);
}

static void same_state_and_same_provenance(void)
{
    arena a;
    arena_init(&a, 2048);
    record x, y;

    build_pair(&x, &y, &a);
    EXPECT(record_same_state(&x, &y));
    EXPECT(record_same_provenance(&x, &y));

    /* Different clocks, same write ids: same state and same provenance. */
    y.fields[0].st.ts_us = 999;
    y.fields[0].st.h.l_us = 999;
    y.fields[0].st.server_us = 999;
    y.st.ts_us = 555;
    y.version = 77;
    y.seq = 78;
    EXPECT(record_same_state(&x, &y));
    EXPECT(record_same_provenance(&x, &y));

    /* A different write id on one field: same state, different provenance. */
    build_pair(&x, &y, &a);
    y.fields[1].st.w = WRITE_ID(2, 1);
    EXPECT(record_same_state(&x, &y));
    EXPECT(!record_same_provenance(&x, &y));
    EXPECT(!record_same_provenance(&y, &x));

    /* A different last write or delete write: different provenance. */
    build_pair(&x, &y, &a);
    y.st.w = WRITE_ID(2, 2);
    EXPECT(record_same_state(&x, &y));
    EXPECT(!record_same_provenance(&x, &y));
    build_pair(&x, &y, &a);
    x.deleted = y.deleted = true;
    x.del.w = WRITE_ID(1, 3);
    y.del.w = WRITE_ID(2, 3);
    EXPECT(record_same_state(&x, &y));
    EXPECT(!record_same_provenance(&x, &y));

    /* A different value: neither. */
    build_pair(&x, &y, &a);
    value other = V_INT(3);
    record_set_field(&y, &a, "b", &other, &x.fields[1].st);
    EXPECT(!record_same_state(&x, &y));
    EXPECT(!record_same_provenance(&x, &y));

    /* A value of another kind that prints alike: neither. */
    build_pair(&x, &y, &a);
    value str2 = V_STR("2");
    record_set_field(&y, &a, "b", &str2, &x.fields[1].st);
    EXPECT(!record_same_state(&x, &y));

    /* 2 and 2.0 are one JSON number: the same state. */
    build_pair(&x, &y, &a);
    value real2 = V_REAL(2.0);
    record_set_field(&y, &a, "b", &real2, &x.fields[1].st);
    EXPECT(record_same_state(&x, &y));

    /* Deleted flag, an extra field, a renamed field: not the same state. */
    build_pair(&x, &y, &a);
    y.deleted = true;
    EXPECT(!record_same_state(&x, &y));
    build_pair(&x, &y, &a);
    record_set_field(&y, &a, "c", &other, &x.st);
    EXPECT(!record_same_state(&x, &y));
    EXPECT(!record_same_state(&y, &x));
    build_pair(&x, &y, &a);
    y.fields[1].name = "bb";
    EXPECT(!record_same_state(&x, &y));

    /* Counter contributions compare by member: padding bytes that differ do not count, a member does. */
    counter_part px[2], py[2];
    memset(px, 0x00, sizeof px);
    memset(py, 0xa5, sizeof py);   /* the padding after node differs */
    for (int k = 0; k < 2; k++) {
        px[k].node = py[k].node = k + 1;
        px[k].p = py[k].p = 5 + k;
        px[k].n = py[k].n = k;
        px[k].w = py[k].w = WRITE_ID((uint32_t)k + 1, 4);
    }
    EXPECT(memcmp(px, py, sizeof px) != 0);
    build_pair(&x, &y, &a);
    record_set_counter(&x, &a, "c", px, 2, &x.st);
    record_set_counter(&y, &a, "c", py, 2, &x.st);
    EXPECT(record_same_provenance(&x, &y));
    EXPECT(record_identical(&x, &y));
    y.fields[2].parts[1].w = WRITE_ID(3, 4);
    EXPECT(record_same_state(&x, &y));
    EXPECT(!record_same_provenance(&x, &y));
    EXPECT(!record_identical(&x, &y));
    arena_release(&a);
}

static void observation_reports_provenance(void)
{
    arena a;
    arena_init(&a, 1024);
    record r, dummy;
    build_pair(&r, &dummy, &a);
    r.deleted = true;
    r.del = ST(WRITE_ID(4, 4), 0, 0, 0, 0);
    r.st = r.del;
    observation obs;
    record_observation(&r, &obs, &a);
    EXPECT_INT(obs.kind, OBS_RECORD);
    EXPECT_STR(obs.type, "note");
    EXPECT_STR(obs.id, "n1");
    EXPECT(obs.deleted);
    EXPECT_U64(obs.record_w, WRITE_ID(4, 4));
    EXPECT_U64(obs.delete_w, WRITE_ID(4, 4));
    EXPECT_INT(obs.n_writes, 2);
    EXPECT_U64(obs.writes[0], WRITE_ID(1, 1));   /* field "a" */
    EXPECT_U64(obs.writes[1], WRITE_ID(1, 2));   /* field "b" */
    /* Events are provenance too: a device that shows an event has seen its append. */
    log_event e = { .w = WRITE_ID(2, 7), .at_us = 5 };
    record_add_event(&r, &a, &e, EVENT_ORDER_OCCURRED, true);
    record_observation(&r, &obs, &a);
    EXPECT_INT(obs.n_writes, 3);
    EXPECT_U64(obs.writes[2], WRITE_ID(2, 7));
    arena_release(&a);
}

/*
 * The store's decoder (record_decode) on numbers beyond int64: they are reals, never an
 * integer wrapped around (9999999999999999999 read as a negative number) nor a negation
 * of INT64_MIN (undefined); a malformed number is refused (it left the kind unset, which
 * UBSan reported: the wire fuzzer's second finding).
 */
static void decode_numbers_beyond_int64(void)
{
    static const char *const BIG[] = { "9999999999999999999", "-9223372036854775808", "18446744073709551617" };
    arena a;
    arena_init(&a, 1024);
    for (size_t i = 0; i < sizeof BIG / sizeof BIG[0]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,\"st\":" GOOD_STAMP
                 ",\"fields\":{\"f\":{\"v\":%s,\"w\":1,\"t\":2,\"hl\":3,\"hc\":0,\"s\":4}}}",
                 BIG[i]);
        record r;
        const char *why = NULL;
        bool ok = record_decode(text, strlen(text), &a, &r, &why);
        EXPECT(ok);
        const field *f = ok ? record_field(&r, "f") : NULL;
        EXPECT(f && f->v.kind == VAL_REAL);
        if (f && f->v.kind == VAL_REAL)
            EXPECT(f->v.r == strtod(BIG[i], NULL));
    }
    static const char MALFORMED[] = "{\"type\":\"t\",\"id\":\"i\",\"version\":1,\"seq\":2,\"deleted\":false,"
                                    "\"st\":" GOOD_STAMP ",\"fields\":{\"f\":{\"v\":-,\"w\":1,\"t\":2,\"hl\":3,"
                                    "\"hc\":0,\"s\":4}}}";
    record r;
    const char *why = NULL;
    EXPECT(!record_decode(MALFORMED, strlen(MALFORMED), &a, &r, &why));
    arena_release(&a);
}

int main(void)
{
    xalloc_install_cjson();
    set_field_keeps_fields_sorted_and_unique();
    set_field_copies_name_and_string();
    copy_is_deep();
    copy_of_an_empty_record();
    json_round_trips_every_kind();
    merge_members_round_trip();
    json_round_trips_a_tombstone();
    stamp_json_round_trip_and_refusals();
    large_integers_survive_printing();
    from_json_refuses_malformed_input();
    from_json_refuses_too_many_fields();
    decode_numbers_beyond_int64();
    from_json_reads_members_in_any_order();
    packed_form_reads_as_the_json_form();
    packed_times_are_differences();
    packed_provenance_is_unpacked_provenance();
    unpack_refuses_damaged_input();
    unpack_sorts_fields_and_refuses_repeats();
    unpack_shares_repeated_event_names();
    value_equality();
    same_state_and_same_provenance();
    observation_reports_provenance();
    return test_exit("record");
}
