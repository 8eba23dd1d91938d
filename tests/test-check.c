/*
 * test-check: the checker's classification, on hand-built histories and
 * final snapshots -- one test per class with the smallest history that
 * produces it, each also asserting that the neighbouring classes are not
 * reported:
 *
 *   kept, superseded, overwritten-concurrent, silent-overwrite (per field
 *   and by a whole-record winner carrying an older value), lost-update (a
 *   causally older value won; the record vanished; the field vanished),
 *   undelivered (only after quiescence), resurrection (no later edit; a
 *   concurrent edit under delete-wins, edit-wins and strategy), duplicate,
 *   divergence (field value, deleted flag, missing record; one finding per
 *   device; only after quiescence), no-quiescence, the classes of deletes
 *   and of edits to deleted records, the worst field deciding a write's
 *   class, and the per-class cap on stored findings; rejected writes
 *   (benign), dropped writes (undelivered, with the reason), a write
 *   superseded by its own next write before that one lost, to a concurrent
 *   write or to a concurrent delete (superseded), and an identical value
 *   standing for the write (kept).
 *
 * Snapshots are written as JSON text with two shorthands expanded by
 * snap(): single quotes for double quotes, and W(node,counter) for a write
 * id. tests/data/check/devices.yaml names the devices (phone = 1, tablet =
 * 2, laptop = 3) and the delete rules (workout: delete-wins, note:
 * edit-wins, other types: strategy).
 */
#include "base/buf.h"
#include "base/xalloc.h"
#include "sim/check.h"
#include "tests/testlib.h"

#include <stdlib.h>
#include <string.h>

#define SCENARIO_PATH "tests/data/check/devices.yaml"
#define NODES 4
#define FIELDS_MAX 8

enum { PHONE = 1, TABLET = 2, LAPTOP = 3 };

typedef struct fixture {
    scenario *sc;
    history h;
    arena a;                  /* snapshot strings */
    snapshot snaps[NODES];
    check_result r;
    bool ran;
    int64_t now_us;           /* true time of the next write */
    int64_t skew_us[NODES];   /* each device's clock error: its writes' local time is true time plus this */
    bool clocks_none;         /* the profile says no clock orders concurrent writes */
} fixture;

static void snap(fixture *f, int node, const char *text);

static void fixture_init_from(fixture *f, const char *path)
{
    memset(f, 0, sizeof *f);
    diag d;
    diag_init(&d);
    f->sc = scenario_load(path, &d);
    if (!f->sc) {
        fprintf(stderr, "%s: %s\n", path, d.message ? d.message : "cannot load");
        exit(1);
    }
    diag_free(&d);
    if (f->sc->n_devices != NODES - 1) {
        fprintf(stderr, "%s: expected %d devices\n", path, NODES - 1);
        exit(1);
    }
    history_init(&f->h);
    arena_init(&f->a, 16 * 1024);
    for (int n = 0; n < NODES; n++) {
        strmap_init(&f->snaps[n].index);
        snap(f, n, "{'records':[]}");
    }
}

static void fixture_init(fixture *f)
{
    fixture_init_from(f, SCENARIO_PATH);
}

static void fixture_free(fixture *f)
{
    if (f->ran)
        check_result_free(&f->r);
    for (int n = 0; n < NODES; n++)
        snapshot_free(&f->snaps[n]);
    arena_release(&f->a);
    history_free(&f->h);
    scenario_free(f->sc);
}

/* --- snapshots ------------------------------------------------------------ */

/* Expand the shorthands: ' -> ", W(node,counter) -> the write id. */
static void expand(const char *text, buf *out)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\'') {
            buf_putc(out, '"');
        } else if (p[0] == 'W' && p[1] == '(') {
            char *end;
            long node = strtol(p + 2, &end, 10);
            long counter = end[0] == ',' ? strtol(end + 1, &end, 10) : -1;
            if (end[0] != ')' || node < 0 || counter < 1) {
                fprintf(stderr, "bad W(node,counter) in %s\n", text);
                exit(1);
            }
            buf_printf(out, "%llu", (unsigned long long)WRITE_ID(node, counter));
            p = end;
        } else {
            buf_putc(out, *p);
        }
    }
}

static void snap(fixture *f, int node, const char *text)
{
    buf b;
    buf_init(&b);
    expand(text, &b);
    cJSON *j = cJSON_Parse(b.data);
    if (!j) {
        fprintf(stderr, "test-check: not JSON: %s\n", b.data);
        exit(1);
    }
    snapshot_free(&f->snaps[node]);
    const char *why = NULL;
    if (!snapshot_parse(j, &f->a, &f->snaps[node], &why)) {
        fprintf(stderr, "test-check: snapshot_parse: %s: %s\n", why, b.data);
        exit(1);
    }
    cJSON_Delete(j);
    buf_free(&b);
}

/* The same state on the server and every device. */
static void snap_all(fixture *f, const char *text)
{
    for (int n = 0; n < NODES; n++)
        snap(f, n, text);
}

/* --- the history ---------------------------------------------------------- */

/* A write of spec ("n=1,text=a": digits make integers, anything else strings) to "type/id". */
static write_id write_op(fixture *f, int node, uint32_t counter, op_kind kind, const char *key, const char *spec,
                         bool accepted)
{
    char type[64], id[64], text[256];
    const char *slash = strchr(key, '/');
    snprintf(type, sizeof type, "%.*s", (int)(slash - key), key);
    snprintf(id, sizeof id, "%s", slash + 1);
    op_field fields[FIELDS_MAX];
    int n = 0;
    snprintf(text, sizeof text, "%s", spec ? spec : "");
    for (char *save = NULL, *item = strtok_r(text, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq || n == FIELDS_MAX) {
            fprintf(stderr, "bad field spec %s\n", spec);
            exit(1);
        }
        *eq = '\0';
        op_field *fl = &fields[n];
        /* Sorted by name, as user_op requires. */
        while (fl > fields && strcmp(fl[-1].name, item) > 0) {
            fl[0] = fl[-1];
            fl--;
        }
        char *end;
        long long i = strtoll(eq + 1, &end, 10);
        fl->name = item;
        fl->v = *end || end == eq + 1 ? (value){ .kind = VAL_STRING, .s = eq + 1 } : (value){ .kind = VAL_INT, .i = i };
        n++;
    }
    user_op op = { .kind = kind, .type = type, .id = id, .w = WRITE_ID(node, counter), .n_fields = n, .fields = fields };
    f->now_us += 60 * INT64_C(1000000);
    int index = history_add_write(&f->h, node, op.w, &op, f->now_us, f->now_us + f->skew_us[node], f->skew_us[node],
                                  true, 0, -1);
    history_write_done(&f->h, index, accepted, accepted ? NULL : "refused by the test");
    return op.w;
}

static write_id create(fixture *f, int node, uint32_t counter, const char *key, const char *spec)
{
    return write_op(f, node, counter, OP_CREATE, key, spec, true);
}

static write_id update(fixture *f, int node, uint32_t counter, const char *key, const char *spec)
{
    return write_op(f, node, counter, OP_UPDATE, key, spec, true);
}

static write_id delete(fixture *f, int node, uint32_t counter, const char *key)
{
    return write_op(f, node, counter, OP_DELETE, key, NULL, true);
}

/* node's stored "type/id" now reflects w. */
static void observe(fixture *f, int node, const char *key, write_id w)
{
    char type[64];
    const char *slash = strchr(key, '/');
    snprintf(type, sizeof type, "%.*s", (int)(slash - key), key);
    history_observe(&f->h, node, type, slash + 1, &w, 1);
}

static void receive(fixture *f, write_id w)
{
    history_received(&f->h, w);
}

static const check_result *run(fixture *f, bool quiesced, const char *liveness)
{
    if (f->ran)
        check_result_free(&f->r);
    check_input in = {
        .sc = f->sc,
        .h = &f->h,
        .n_nodes = NODES,
        .snaps = f->snaps,
        .quiesced = quiesced,
        .liveness = liveness,
        .heal_us = 60 * INT64_C(1000000),
        .deadline_us = 3660 * INT64_C(1000000),
        .clocks_none = f->clocks_none,
    };
    check_run(&in, &f->r);
    f->ran = true;
    return &f->r;
}

/* --- assertions ------------------------------------------------------------- */

/* Every class is counted as listed (class, count pairs); unlisted classes are zero. */
static void expect_counts(const check_result *r, int line, const int *pairs, int n)
{
    uint64_t want[VC_COUNT] = { 0 };
    for (int i = 0; i + 1 < n; i += 2)
        want[pairs[i]] = (uint64_t)pairs[i + 1];
    for (int c = 0; c < VC_COUNT; c++) {
        if (r->counts[c] != want[c])
            fprintf(stderr, "%s:%d: (from here) class %s:\n", __FILE__, line, vclass_name((vclass)c));
        EXPECT_U64(r->counts[c], want[c]);
    }
}

#define EXPECT_COUNTS(r, ...)                                                   \
    do {                                                                        \
        static const int pairs_[] = { __VA_ARGS__ };                            \
        expect_counts((r), __LINE__, pairs_, (int)(sizeof pairs_ / sizeof pairs_[0])); \
    } while (0)
#define EXPECT_NO_COUNTS(r) expect_counts((r), __LINE__, NULL, 0)

static int stored(const check_result *r, vclass cls)
{
    int n = 0;
    for (int i = 0; i < r->n_findings; i++)
        n += r->findings[i].cls == cls;
    return n;
}

/* The nth stored finding of a class; a failure and a blank finding when there is none. */
static const finding *nth(const check_result *r, vclass cls, int k)
{
    static const finding none = { .cls = VC_COUNT, .node = -2 };
    for (int i = 0, seen = 0; i < r->n_findings; i++)
        if (r->findings[i].cls == cls && seen++ == k)
            return &r->findings[i];
    fprintf(stderr, "no %s finding #%d\n", vclass_name(cls), k);
    test_failures++;
    return &none;
}

static const finding *only(const check_result *r, vclass cls)
{
    EXPECT_INT(stored(r, cls), 1);
    return nth(r, cls, 0);
}

/* --- per-write classes ------------------------------------------------------ */

static void test_kept(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    receive(&f, a1);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(1,1),"
                 "'fields':{'text':{'v':'a','w':W(1,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, 1);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_NO_COUNTS(r);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/* An implementation that does not report receipt: the server's provenance shows the write arrived. */
static void test_kept_without_receipt(void)
{
    fixture f;
    fixture_init(&f);
    create(&f, PHONE, 1, "note/n1", "text=a");
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(1,1),"
                 "'fields':{'text':{'v':'a','w':W(1,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_NO_COUNTS(r);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/* Refused writes are not writes: they are neither checked nor undelivered. */
static void test_refused_not_checked(void)
{
    fixture f;
    fixture_init(&f);
    write_op(&f, PHONE, 1, OP_UPDATE, "note/n1", "text=a", false);
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, 0);
    EXPECT_U64(r->writes_kept, 0);
    EXPECT_NO_COUNTS(r);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

static void test_superseded(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    receive(&f, a1);
    observe(&f, TABLET, "note/n1", a1);
    write_id b1 = update(&f, TABLET, 1, "note/n1", "text=b");
    receive(&f, b1);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(2,1),"
                 "'fields':{'text':{'v':'b','w':W(2,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, 2);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_SUPERSEDED, 1);
    /* Benign classes are counted, never stored. */
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/* Two concurrent creates of one field: the tablet's wins. */
static void concurrent_pair(fixture *f)
{
    write_id a1 = create(f, PHONE, 1, "note/n1", "text=a");
    write_id b1 = create(f, TABLET, 1, "note/n1", "text=b");
    receive(f, a1);
    receive(f, b1);
}

#define N1_B_BY_TABLET                                                                                     \
    "{'type':'note','id':'n1','deleted':false,'w':W(2,1),'fields':{'text':{'v':'b','w':W(2,1)}}}"

static void test_overwritten_concurrent(void)
{
    fixture f;
    fixture_init(&f);
    concurrent_pair(&f);
    snap_all(&f, "{'records':[" N1_B_BY_TABLET "]}");
    /* Only the phone keeps the loser: some replica is enough. */
    snap(&f, PHONE, "{'records':[" N1_B_BY_TABLET "],'kept':[{'type':'note','id':'n1','w':W(1,1)}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, 2);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_OVERWRITTEN_CONCURRENT, 1);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

static void test_silent_overwrite_field(void)
{
    fixture f;
    fixture_init(&f);
    concurrent_pair(&f);
    snap_all(&f, "{'records':[" N1_B_BY_TABLET "]}");
    /* A kept copy of the same write under another record does not count. */
    snap(&f, TABLET, "{'records':[" N1_B_BY_TABLET "],'kept':[{'type':'note','id':'n9','w':W(1,1)}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_SILENT_OVERWRITE, 1);
    EXPECT_INT(r->n_findings, 1);
    const finding *x = only(r, VC_SILENT_OVERWRITE);
    EXPECT_STR(x->record, "note/n1");
    EXPECT_U64(x->w, WRITE_ID(PHONE, 1));
    EXPECT_U64(x->competitor, WRITE_ID(TABLET, 1));
    EXPECT_INT(x->node, -1);
    EXPECT_STR(x->summary,
               "note/n1: write phone:1 was overwritten by the concurrent write tablet:1, and no copy was kept for the user");
    EXPECT_CONTAINS(x->witness, "    write       phone:1 create note/n1 {text: \"a\"}");
    EXPECT_CONTAINS(x->witness, "    it had seen no earlier write to this record\n");
    EXPECT_CONTAINS(x->witness, "    won instead tablet:1 create note/n1 {text: \"b\"}");
    EXPECT_CONTAINS(x->witness, "the winner is concurrent with it");
    EXPECT_CONTAINS(x->witness, "    final state on the server: {text: \"b\"}\n");
    fixture_free(&f);
}

/*
 * Record grain: the phone sets text, the tablet concurrently sets n and its
 * whole record wins, carrying the text the phone had replaced. The field's
 * provenance is then the (older) create, but the tablet's write is to blame.
 */
/* Record grain: the concurrent winner of the whole record carried an older value of the field. */
static void whole_record(bool kept)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "doc/d1", "n=1,text=a");
    observe(&f, TABLET, "doc/d1", a1);
    write_id a2 = update(&f, PHONE, 2, "doc/d1", "text=b");
    write_id b1 = update(&f, TABLET, 1, "doc/d1", "n=2");
    receive(&f, a1);
    receive(&f, a2);
    receive(&f, b1);
    snap_all(&f, kept ? "{'records':[{'type':'doc','id':'d1','deleted':false,'w':W(2,1),"
                        "'fields':{'n':{'v':2,'w':W(2,1)},'text':{'v':'a','w':W(1,1)}}}],"
                        "'kept':[{'type':'doc','id':'d1','w':W(1,2)}]}"
                      : "{'records':[{'type':'doc','id':'d1','deleted':false,'w':W(2,1),"
                        "'fields':{'n':{'v':2,'w':W(2,1)},'text':{'v':'a','w':W(1,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, 3);
    /* b1 stands; a1's text stands but its n was superseded by b1, which had seen it. */
    EXPECT_U64(r->writes_kept, 1);
    if (kept) {
        EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_OVERWRITTEN_CONCURRENT, 1);
        EXPECT_INT(r->n_findings, 0);
    } else {
        EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_SILENT_OVERWRITE, 1);
        EXPECT_INT(r->n_findings, 1);
        const finding *x = only(r, VC_SILENT_OVERWRITE);
        EXPECT_STR(x->record, "doc/d1");
        EXPECT_U64(x->w, WRITE_ID(PHONE, 2));
        EXPECT_U64(x->competitor, WRITE_ID(TABLET, 1));
        EXPECT_STR(x->summary, "doc/d1: write phone:2 was overwritten by the concurrent write tablet:1, and no copy "
                               "was kept for the user");
        EXPECT_CONTAINS(x->witness, "    it had seen: phone up to #1\n");
        EXPECT_CONTAINS(x->witness, "    won instead tablet:1 update doc/d1 {n: 2}");
        EXPECT_CONTAINS(x->witness, "the winner is concurrent with it");
        EXPECT_CONTAINS(x->witness, "final state on the server: {n: 2, text: \"a\"}");
        EXPECT_INT(stored(r, VC_LOST_UPDATE), 0);
    }
    fixture_free(&f);
}

static void test_silent_overwrite_whole_record(void)
{
    whole_record(false);
    whole_record(true);
}

/*
 * The same final state under field grain: nothing carries whole records, so
 * the concurrent write to another field cannot be what beat phone:2 -- the
 * older value of text won. A lost update, blamed on the write whose value stands.
 */
static void test_field_grain_older_value_is_lost_update(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "n=1,text=a");
    observe(&f, TABLET, "note/n1", a1);
    write_id a2 = update(&f, PHONE, 2, "note/n1", "text=b");
    write_id b1 = update(&f, TABLET, 1, "note/n1", "n=2");
    receive(&f, a1);
    receive(&f, a2);
    receive(&f, b1);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(2,1),"
                 "'fields':{'n':{'v':2,'w':W(2,1)},'text':{'v':'a','w':W(1,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_LOST_UPDATE, 1);
    const finding *x = only(r, VC_LOST_UPDATE);
    EXPECT_U64(x->w, WRITE_ID(PHONE, 2));
    EXPECT_U64(x->competitor, WRITE_ID(PHONE, 1));
    EXPECT_INT(stored(r, VC_SILENT_OVERWRITE), 0);
    fixture_free(&f);
}

/* Re-created after a delete, a record must not carry a field written before the delete. */
static void test_recreate_brings_back_deleted_field(void)
{
    for (int leak = 0; leak < 2; leak++) {
        fixture f;
        fixture_init(&f);
        write_id a1 = create(&f, PHONE, 1, "item/i1", "secret=pin,text=old");
        write_id d = delete(&f, PHONE, 2, "item/i1");
        write_id a3 = create(&f, PHONE, 3, "item/i1", "text=new");
        receive(&f, a1);
        receive(&f, d);
        receive(&f, a3);
        snap_all(&f, leak ? "{'records':[{'type':'item','id':'i1','deleted':false,'w':W(1,3),"
                            "'fields':{'secret':{'v':'pin','w':W(1,1)},'text':{'v':'new','w':W(1,3)}}}]}"
                          : "{'records':[{'type':'item','id':'i1','deleted':false,'w':W(1,3),"
                            "'fields':{'text':{'v':'new','w':W(1,3)}}}]}");
        const check_result *r = run(&f, true, NULL);
        EXPECT_U64(r->counts[VC_RESURRECTION], leak ? 1 : 0);
        /* The old fields went with the delete: superseded, not lost. */
        EXPECT_U64(r->counts[VC_LOST_UPDATE], 0);
        if (!leak) {
            /* a1 (its text by a3, its secret by the delete) and the delete (by the re-create). */
            EXPECT_COUNTS(r, VC_SUPERSEDED, 2);
            EXPECT_U64(r->writes_kept, 1);
        }
        if (leak) {
            const finding *x = only(r, VC_RESURRECTION);
            EXPECT_U64(x->w, d);
            EXPECT_U64(x->competitor, a1);
            EXPECT_CONTAINS(x->summary, "field 'secret' came back from before the delete");
        }
        fixture_free(&f);
    }
}

/* Two tombstones are the same visible state, whatever fields they still carry. */
static void test_tombstones_do_not_diverge(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "item/i1", "text=a");
    observe(&f, TABLET, "item/i1", a1);
    write_id b1 = update(&f, TABLET, 1, "item/i1", "text=b");
    observe(&f, PHONE, "item/i1", b1);
    write_id d = delete(&f, PHONE, 2, "item/i1");
    receive(&f, a1);
    receive(&f, b1);
    receive(&f, d);
    const char *server = "{'records':[{'type':'item','id':'i1','deleted':true,'w':W(1,2),'del_w':W(1,2),"
                         "'fields':{'text':{'v':'b','w':W(2,1)}}}]}";
    const char *stale = "{'records':[{'type':'item','id':'i1','deleted':true,'w':W(1,2),'del_w':W(1,2),"
                        "'fields':{'text':{'v':'a','w':W(1,1)}}}]}";
    snap_all(&f, server);
    snap(&f, TABLET, stale);
    const check_result *r = run(&f, true, NULL);
    EXPECT_INT(r->counts[VC_DIVERGENCE], 0);
    fixture_free(&f);
}

/* A write's class is its worst field's: one field stands, the other lost to a concurrent write. */
static void test_worst_field_decides(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "n=1,text=a");
    write_id b1 = create(&f, TABLET, 1, "note/n1", "text=b");
    receive(&f, a1);
    receive(&f, b1);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(2,1),"
                 "'fields':{'n':{'v':1,'w':W(1,1)},'text':{'v':'b','w':W(2,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_SILENT_OVERWRITE, 1);
    const finding *x = only(r, VC_SILENT_OVERWRITE);
    EXPECT_U64(x->w, WRITE_ID(PHONE, 1));
    EXPECT_U64(x->competitor, WRITE_ID(TABLET, 1));
    fixture_free(&f);
}

/* Clock skew: the phone had seen the tablet's write, yet the tablet's older value stands. */
static void test_lost_update_skew(void)
{
    fixture f;
    fixture_init(&f);
    write_id b1 = create(&f, TABLET, 1, "note/n1", "text=a");
    receive(&f, b1);
    observe(&f, PHONE, "note/n1", b1);
    write_id a1 = update(&f, PHONE, 1, "note/n1", "text=b");
    receive(&f, a1);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(2,1),"
                 "'fields':{'text':{'v':'a','w':W(2,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_LOST_UPDATE, 1);
    EXPECT_INT(r->n_findings, 1);
    const finding *x = only(r, VC_LOST_UPDATE);
    EXPECT_STR(x->record, "note/n1");
    EXPECT_U64(x->w, a1);
    EXPECT_U64(x->competitor, b1);
    EXPECT_STR(x->summary,
               "note/n1: write phone:1 was overwritten by tablet:1, a causally older write its device had already seen");
    EXPECT_CONTAINS(x->witness, "    write       phone:1 update note/n1 {text: \"b\"}");
    EXPECT_CONTAINS(x->witness, "    it had seen: tablet up to #1\n");
    EXPECT_CONTAINS(x->witness, "the winner causally precedes it");
    fixture_free(&f);
}

/* Every contributor of the final record had been seen by the write: no one to blame but an older write. */
static void test_lost_update_all_contributors_older(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "n=1,text=a");
    observe(&f, TABLET, "note/n1", a1);
    write_id b1 = update(&f, TABLET, 1, "note/n1", "n=2");
    observe(&f, PHONE, "note/n1", b1);
    write_id a2 = update(&f, PHONE, 2, "note/n1", "text=b");
    receive(&f, a1);
    receive(&f, b1);
    receive(&f, a2);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(2,1),"
                 "'fields':{'n':{'v':2,'w':W(2,1)},'text':{'v':'a','w':W(1,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    /* a1: n superseded by b1, text still its own; b1 stands; a2 lost. */
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_LOST_UPDATE, 1);
    const finding *x = only(r, VC_LOST_UPDATE);
    EXPECT_U64(x->w, a2);
    EXPECT(x->competitor == a1 || x->competitor == b1);
    EXPECT_CONTAINS(x->summary, "note/n1: write phone:2 was overwritten by ");
    EXPECT_CONTAINS(x->summary, ", a causally older write its device had already seen");
    EXPECT_CONTAINS(x->witness, "    it had seen: phone up to #1, tablet up to #1\n");
    fixture_free(&f);
}

/* The write reached the server, and the record is not there at all. */
static void test_lost_update_vanished_record(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    receive(&f, a1);
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, 1);
    EXPECT_U64(r->writes_kept, 0);
    EXPECT_COUNTS(r, VC_LOST_UPDATE, 1);
    const finding *x = only(r, VC_LOST_UPDATE);
    EXPECT_STR(x->record, "note/n1");
    EXPECT_U64(x->w, a1);
    EXPECT_U64(x->competitor, WRITE_NONE);
    EXPECT_STR(x->summary, "note/n1: write phone:1 reached the server, but the record is gone");
    EXPECT_CONTAINS(x->witness, "final state on the server: no such record");
    EXPECT_INT(stored(r, VC_UNDELIVERED), 0);
    fixture_free(&f);
}

/* The record is there, written by the write itself, but the field it wrote is gone. */
static void test_lost_update_vanished_field(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "n=1,text=a");
    receive(&f, a1);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(1,1),"
                 "'fields':{'n':{'v':1,'w':W(1,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 0);
    EXPECT_COUNTS(r, VC_LOST_UPDATE, 1);
    const finding *x = only(r, VC_LOST_UPDATE);
    EXPECT_U64(x->w, a1);
    EXPECT_U64(x->competitor, WRITE_NONE);
    EXPECT_STR(x->summary, "note/n1: write phone:1 vanished: its value is nowhere in the final state");
    fixture_free(&f);
}

/*
 * A design that pushes a record's current state sends only the device's latest
 * write of it: an earlier write whose every field a later write of the same
 * device replaced is superseded, not undelivered. One field left uncovered and
 * it is undelivered again.
 */
static void test_replaced_before_sent(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    write_id a2 = update(&f, PHONE, 2, "note/n1", "text=b");
    write_id a3 = update(&f, PHONE, 3, "note/n1", "text=c");
    receive(&f, a1);
    receive(&f, a3);
    (void)a2;
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(1,3),"
                 "'fields':{'text':{'v':'c','w':W(1,3)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_COUNTS(r, VC_SUPERSEDED, 2);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);

    fixture_init(&f);
    a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    a2 = update(&f, PHONE, 2, "note/n1", "text=b,extra=x");
    a3 = update(&f, PHONE, 3, "note/n1", "text=c");
    receive(&f, a1);
    receive(&f, a3);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(1,3),"
                 "'fields':{'text':{'v':'c','w':W(1,3)}}}]}");
    r = run(&f, true, NULL);
    EXPECT_U64(r->counts[VC_UNDELIVERED], 1);
    EXPECT_U64(only(r, VC_UNDELIVERED)->w, a2);
    fixture_free(&f);
}

static void test_undelivered(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, 1);
    EXPECT_COUNTS(r, VC_UNDELIVERED, 1);
    EXPECT_INT(r->n_findings, 1);
    const finding *x = only(r, VC_UNDELIVERED);
    EXPECT_STR(x->record, "note/n1");
    EXPECT_U64(x->w, a1);
    EXPECT_U64(x->competitor, WRITE_NONE);
    EXPECT_STR(x->summary,
               "note/n1: write phone:1 never reached the server, though its device was online and synced afterwards");
    EXPECT_CONTAINS(x->witness, "phone:1 create note/n1 {text: \"a\"}");

    /* Without quiescence the device may simply not have had the chance. */
    r = run(&f, false, "phone: 1 change waiting to be pushed");
    EXPECT_COUNTS(r, VC_NO_QUIESCENCE, 1);
    EXPECT_INT(stored(r, VC_UNDELIVERED), 0);
    EXPECT_INT(r->n_findings, 1);
    fixture_free(&f);
}

/*
 * A write that never showed on the server because a replica reported it losing a conflict to a concurrent
 * write that did (Yjs merges before it sends, and the device's own value leaves only as deleted content):
 * a concurrent loss, silent-overwrite; reported lost to a write it had seen, or to one that never reached
 * the server, it stays undelivered.
 */
static void test_lost_conflict_before_sent(void)
{
    fixture f;
    fixture_init(&f);
    write_id b1 = create(&f, TABLET, 1, "note/n1", "text=b");
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    receive(&f, b1);
    history_conflict_lost(&f.h, a1, b1);
    snap_all(&f, "{'records':[" N1_B_BY_TABLET "]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_COUNTS(r, VC_SILENT_OVERWRITE, 1);
    const finding *x = only(r, VC_SILENT_OVERWRITE);
    EXPECT_U64(x->w, a1);
    EXPECT_U64(x->competitor, b1);
    EXPECT_CONTAINS(x->summary, "losing to the concurrent write tablet:1 before it reached the server");
    fixture_free(&f);

    /* The winner never reached the server: nothing excuses the loser's absence. */
    fixture_init(&f);
    b1 = create(&f, TABLET, 1, "note/n1", "text=b");
    a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    history_conflict_lost(&f.h, a1, b1);
    r = run(&f, true, NULL);
    EXPECT_INT(stored(r, VC_UNDELIVERED), 2);
    fixture_free(&f);
}

/* The record exists on the server (another write), but this write is in neither its receipts nor its provenance. */
static void test_undelivered_next_to_a_delivered_write(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    write_id b1 = create(&f, TABLET, 1, "note/n1", "text=b");
    receive(&f, b1);
    snap_all(&f, "{'records':[" N1_B_BY_TABLET "]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_UNDELIVERED, 1);
    const finding *x = only(r, VC_UNDELIVERED);
    EXPECT_U64(x->w, a1);
    EXPECT_CONTAINS(x->witness, "final state on the server: {text: \"b\"}");
    EXPECT_INT(stored(r, VC_SILENT_OVERWRITE), 0);
    fixture_free(&f);
}

/* --- deletes and resurrection ---------------------------------------------- */

static void test_delete_kept(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "workout/w1", "sets=3");
    receive(&f, a1);
    observe(&f, TABLET, "workout/w1", a1);
    write_id d1 = delete(&f, TABLET, 1, "workout/w1");
    receive(&f, d1);
    snap_all(&f, "{'records':[{'type':'workout','id':'w1','deleted':true,'w':W(2,1),'del_w':W(2,1),'fields':{}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, 2);
    /* The delete stands; the create it had seen is superseded by it. */
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_SUPERSEDED, 1);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/*
 * A delete overridden by a causally older edit: the tablet deleted the
 * record after seeing the phone's create, and the create came back. The
 * delete is a lost update, the record a resurrection, whatever the rule.
 */
static void test_resurrection_without_later_edit(void)
{
    static const char *const keys[] = { "workout/w1", "note/n1", "task/t1" };
    static const char *const states[] = {
        "{'records':[{'type':'workout','id':'w1','deleted':false,'w':W(1,1),'fields':{'text':{'v':'a','w':W(1,1)}}}]}",
        "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(1,1),'fields':{'text':{'v':'a','w':W(1,1)}}}]}",
        "{'records':[{'type':'task','id':'t1','deleted':false,'w':W(1,1),'fields':{'text':{'v':'a','w':W(1,1)}}}]}",
    };
    for (int k = 0; k < 3; k++) {
        fixture f;
        fixture_init(&f);
        write_id a1 = create(&f, PHONE, 1, keys[k], "text=a");
        receive(&f, a1);
        observe(&f, TABLET, keys[k], a1);
        write_id d1 = delete(&f, TABLET, 1, keys[k]);
        receive(&f, d1);
        snap_all(&f, states[k]);
        const check_result *r = run(&f, true, NULL);
        EXPECT_U64(r->writes_kept, 1);
        EXPECT_COUNTS(r, VC_LOST_UPDATE, 1, VC_RESURRECTION, 1);
        EXPECT_INT(r->n_findings, 2);

        const finding *lost = only(r, VC_LOST_UPDATE);
        EXPECT_STR(lost->record, keys[k]);
        EXPECT_U64(lost->w, d1);
        EXPECT_U64(lost->competitor, a1);
        EXPECT_CONTAINS(lost->summary, "write tablet:1 was overwritten by phone:1, a causally older write");

        const finding *x = only(r, VC_RESURRECTION);
        char want[128];
        snprintf(want, sizeof want, "%s came back after delete tablet:1 with no causally later edit", keys[k]);
        EXPECT_STR(x->record, keys[k]);
        EXPECT_U64(x->w, d1);
        EXPECT_U64(x->competitor, a1);
        EXPECT_STR(x->summary, want);
        snprintf(want, sizeof want, "    delete      tablet:1 delete %s at", keys[k]);
        EXPECT_CONTAINS(x->witness, want);
        snprintf(want, sizeof want, "    live state  phone:1 create %s {text: \"a\"}", keys[k]);
        EXPECT_CONTAINS(x->witness, want);
        EXPECT_CONTAINS(x->witness, "that write causally precedes it");
        fixture_free(&f);
    }
}

/* An edit that had seen the delete brings the record back legitimately, even under delete-wins. */
static void test_no_resurrection_after_later_edit(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "workout/w1", "text=a");
    receive(&f, a1);
    observe(&f, TABLET, "workout/w1", a1);
    write_id d1 = delete(&f, TABLET, 1, "workout/w1");
    receive(&f, d1);
    observe(&f, PHONE, "workout/w1", d1);
    write_id a2 = create(&f, PHONE, 2, "workout/w1", "text=b");
    receive(&f, a2);
    snap_all(&f, "{'records':[{'type':'workout','id':'w1','deleted':false,'w':W(1,2),"
                 "'fields':{'text':{'v':'b','w':W(1,2)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    /* a1 (text replaced by a2) and d1 (the record re-created by a2, which had seen it). */
    EXPECT_COUNTS(r, VC_SUPERSEDED, 2);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/* A delete and a concurrent edit, the edit winning: a resurrection only under delete-wins. */
static void concurrent_delete_edit(const char *key, const char *state, bool resurrection)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, key, "text=a");
    receive(&f, a1);
    observe(&f, TABLET, key, a1);
    write_id d1 = delete(&f, TABLET, 1, key);
    write_id a2 = update(&f, PHONE, 2, key, "text=b");
    receive(&f, d1);
    receive(&f, a2);
    snap_all(&f, state);
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    /* The delete lost to a concurrent edit and no replica keeps it: a silent overwrite like any lost
     * write (issue 12: it used to go unreported). a1 is superseded by a2. */
    EXPECT_U64(only(r, VC_SILENT_OVERWRITE)->w, d1);
    EXPECT_CONTAINS(only(r, VC_SILENT_OVERWRITE)->summary, "was undone by the concurrent write phone:2");
    if (resurrection) {
        EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_SILENT_OVERWRITE, 1, VC_RESURRECTION, 1);
        EXPECT_INT(r->n_findings, 2);
        const finding *x = only(r, VC_RESURRECTION);
        char want[128];
        snprintf(want, sizeof want, "%s came back after delete tablet:1, against the profile's delete-wins rule", key);
        EXPECT_STR(x->record, key);
        EXPECT_U64(x->w, d1);
        EXPECT_U64(x->competitor, a2);
        EXPECT_STR(x->summary, want);
        snprintf(want, sizeof want, "    live state  phone:2 update %s {text: \"b\"}", key);
        EXPECT_CONTAINS(x->witness, want);
        EXPECT_CONTAINS(x->witness, "that write is concurrent with it");
    } else {
        EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_SILENT_OVERWRITE, 1);
        EXPECT_INT(r->n_findings, 1);
    }
    fixture_free(&f);
}

static void test_resurrection_concurrent_edit(void)
{
    concurrent_delete_edit("workout/w1",
                           "{'records':[{'type':'workout','id':'w1','deleted':false,'w':W(1,2),"
                           "'fields':{'text':{'v':'b','w':W(1,2)}}}]}",
                           true);
    concurrent_delete_edit("note/n1",
                           "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(1,2),"
                           "'fields':{'text':{'v':'b','w':W(1,2)}}}]}",
                           false);
    concurrent_delete_edit("task/t1",
                           "{'records':[{'type':'task','id':'t1','deleted':false,'w':W(1,2),"
                           "'fields':{'text':{'v':'b','w':W(1,2)}}}]}",
                           false);
}

/*
 * Two devices delete a record at once (delete-wins rule); the second delete
 * finds it deleted already, and its device then creates it again. The
 * re-create follows both deletes: no resurrection, though the write that
 * kept the second delete from taking effect is concurrent with it.
 */
static void test_concurrent_deletes_then_recreate(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "workout/w1", "text=a");
    receive(&f, a1);
    history_server_state(&f.h, "workout", "w1", a1, WRITE_NONE, false, &a1, 1);
    history_settle_arrivals(&f.h);
    observe(&f, TABLET, "workout/w1", a1);
    write_id d1 = delete(&f, PHONE, 2, "workout/w1");
    write_id d2 = delete(&f, TABLET, 1, "workout/w1");
    receive(&f, d1);
    history_server_state(&f.h, "workout", "w1", d1, d1, true, &d1, 1);
    history_settle_arrivals(&f.h);
    receive(&f, d2);
    history_settle_arrivals(&f.h);   /* d2 left no trace: kept out by d1 */
    observe(&f, TABLET, "workout/w1", d1);
    write_id a2 = create(&f, TABLET, 2, "workout/w1", "text=b");
    receive(&f, a2);
    history_server_state(&f.h, "workout", "w1", a2, WRITE_NONE, false, &a2, 1);
    history_settle_arrivals(&f.h);
    snap_all(&f, "{'records':[{'type':'workout','id':'w1','deleted':false,'w':W(2,2),"
                 "'fields':{'text':{'v':'b','w':W(2,2)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->counts[VC_RESURRECTION], 0);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/* A delete the server refused (immutable data) deleted nothing: the record staying is no resurrection. */
static void test_rejected_delete_is_no_resurrection(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "ledger/p1", "delta=10");
    receive(&f, a1);
    write_id d1 = delete(&f, PHONE, 2, "ledger/p1");
    receive(&f, d1);
    history_rejected(&f.h, d1, "immutable");
    snap_all(&f, "{'records':[{'type':'ledger','id':'p1','deleted':false,'w':W(1,1),"
                 "'fields':{'delta':{'v':10,'w':W(1,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->counts[VC_RESURRECTION], 0);
    EXPECT_U64(r->counts[VC_REJECTED], 1);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/* A delete that never reached the server cannot be resurrected: it is undelivered. */
static void test_no_resurrection_for_undelivered_delete(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "workout/w1", "text=a");
    receive(&f, a1);
    observe(&f, TABLET, "workout/w1", a1);
    write_id d1 = delete(&f, TABLET, 1, "workout/w1");
    snap_all(&f, "{'records':[{'type':'workout','id':'w1','deleted':false,'w':W(1,1),"
                 "'fields':{'text':{'v':'a','w':W(1,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_UNDELIVERED, 1);
    EXPECT_U64(only(r, VC_UNDELIVERED)->w, d1);
    fixture_free(&f);
}

/* An edit to a record deleted concurrently, the delete winning (delete-wins): the edit is overwritten. */
static void edit_lost_to_concurrent_delete(bool kept)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "workout/w1", "sets=3");
    receive(&f, a1);
    observe(&f, TABLET, "workout/w1", a1);
    write_id d1 = delete(&f, PHONE, 2, "workout/w1");
    write_id b1 = update(&f, TABLET, 1, "workout/w1", "sets=4");
    receive(&f, d1);
    receive(&f, b1);
    snap_all(&f, kept ? "{'records':[{'type':'workout','id':'w1','deleted':true,'w':W(1,2),'del_w':W(1,2),"
                        "'fields':{}}],'kept':[{'type':'workout','id':'w1','w':W(2,1)}]}"
                      : "{'records':[{'type':'workout','id':'w1','deleted':true,'w':W(1,2),'del_w':W(1,2),"
                        "'fields':{}}]}");
    const check_result *r = run(&f, true, NULL);
    /* d1 stands; a1 is superseded by the phone's own delete. */
    EXPECT_U64(r->writes_kept, 1);
    if (kept) {
        EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_OVERWRITTEN_CONCURRENT, 1);
        EXPECT_INT(r->n_findings, 0);
    } else {
        EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_SILENT_OVERWRITE, 1);
        const finding *x = only(r, VC_SILENT_OVERWRITE);
        EXPECT_U64(x->w, b1);
        EXPECT_U64(x->competitor, d1);
        EXPECT_STR(x->summary, "workout/w1: write tablet:1 was overwritten by the concurrent write phone:2, and no copy "
                               "was kept for the user");
        EXPECT_CONTAINS(x->witness, "    won instead phone:2 delete workout/w1 at");
        EXPECT_CONTAINS(x->witness, "final state on the server: deleted");
    }
    fixture_free(&f);
}

static void test_edit_lost_to_concurrent_delete(void)
{
    edit_lost_to_concurrent_delete(false);
    edit_lost_to_concurrent_delete(true);
}

/* An edit made after seeing a delete (a re-create), yet the record stays deleted: lost-update. */
static void test_edit_lost_to_older_delete(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "task/t1", "text=a");
    receive(&f, a1);
    observe(&f, TABLET, "task/t1", a1);
    write_id d1 = delete(&f, TABLET, 1, "task/t1");
    receive(&f, d1);
    observe(&f, PHONE, "task/t1", d1);
    write_id a2 = create(&f, PHONE, 2, "task/t1", "text=b");
    receive(&f, a2);
    snap_all(&f, "{'records':[{'type':'task','id':'t1','deleted':true,'w':W(2,1),'del_w':W(2,1),'fields':{}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_LOST_UPDATE, 1);
    const finding *x = only(r, VC_LOST_UPDATE);
    EXPECT_U64(x->w, a2);
    EXPECT_U64(x->competitor, d1);
    EXPECT_STR(x->summary,
               "task/t1: write phone:2 was overwritten by tablet:1, a causally older write its device had already seen");
    EXPECT_INT(stored(r, VC_RESURRECTION), 0);
    fixture_free(&f);
}

/* --- duplicates ------------------------------------------------------------ */

static void test_duplicate(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    receive(&f, a1);
    snap_all(&f, "{'records':["
                 "{'type':'note','id':'n1','deleted':false,'w':W(1,1),'fields':{'text':{'v':'a','w':W(1,1)}}},"
                 "{'type':'note','id':'n2','deleted':false,'w':W(1,1),'fields':{'text':{'v':'a','w':W(1,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    /* Once, though the write is both n2's last writer and its field's provenance. */
    EXPECT_COUNTS(r, VC_DUPLICATE, 1);
    EXPECT_INT(r->n_findings, 1);
    const finding *x = only(r, VC_DUPLICATE);
    EXPECT_STR(x->record, "note/n2");
    EXPECT_U64(x->w, a1);
    EXPECT_U64(x->competitor, WRITE_NONE);
    EXPECT_STR(x->summary, "write phone:1 was applied to both note/n1 and note/n2");
    EXPECT_CONTAINS(x->witness, "    write       phone:1 create note/n1 {text: \"a\"}");
    fixture_free(&f);
}

/* A delete applied to two records: the delete in effect on both. */
static void test_duplicate_delete(void)
{
    fixture f;
    fixture_init(&f);
    write_id d1 = delete(&f, PHONE, 1, "note/n1");
    receive(&f, d1);
    snap_all(&f, "{'records':["
                 "{'type':'note','id':'n1','deleted':true,'w':W(1,1),'del_w':W(1,1),'fields':{}},"
                 "{'type':'note','id':'n2','deleted':true,'w':W(3,9),'del_w':W(1,1),'fields':{}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_DUPLICATE, 1);
    const finding *x = only(r, VC_DUPLICATE);
    EXPECT_STR(x->record, "note/n2");
    EXPECT_U64(x->w, d1);
    EXPECT_STR(x->summary, "write phone:1 was applied to both note/n1 and note/n2");
    fixture_free(&f);
}

/* One write as several fields' provenance of one record, and ids the simulator never made, are no duplicates. */
static void test_no_duplicate_within_a_record(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "n=1,text=a");
    receive(&f, a1);
    snap_all(&f, "{'records':["
                 "{'type':'note','id':'n1','deleted':false,'w':W(1,1),"
                 "'fields':{'n':{'v':1,'w':W(1,1)},'text':{'v':'a','w':W(1,1)}}},"
                 "{'type':'note','id':'n2','deleted':false,'w':W(3,9),'fields':{'text':{'v':'x','w':W(3,9)}}},"
                 "{'type':'note','id':'n3','deleted':false,'w':W(3,9),'fields':{'text':{'v':'x','w':W(3,9)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_NO_COUNTS(r);
    fixture_free(&f);
}

/* --- replica level ---------------------------------------------------------- */

#define SERVER_STATE                                                                                   \
    "{'type':'note','id':'n1','deleted':false,'w':W(1,1),'fields':{'text':{'v':'a','w':W(1,1)}}},"    \
    "{'type':'note','id':'n2','deleted':true,'w':W(1,2),'del_w':W(1,2),'fields':{'text':{'v':'x','w':W(1,3)}}}," \
    "{'type':'note','id':'n3','deleted':false,'w':W(2,1),'fields':{'text':{'v':'c','w':W(2,1)}}}"

static void differing_devices(fixture *f)
{
    snap(f, NODE_SERVER, "{'records':[" SERVER_STATE "]}");
    /* A field value. */
    snap(f, PHONE, "{'records':["
                   "{'type':'note','id':'n1','deleted':false,'w':W(1,1),'fields':{'text':{'v':'b','w':W(1,1)}}},"
                   "{'type':'note','id':'n2','deleted':true,'w':W(1,2),'del_w':W(1,2),"
                   "'fields':{'text':{'v':'x','w':W(1,3)}}},"
                   "{'type':'note','id':'n3','deleted':false,'w':W(2,1),'fields':{'text':{'v':'c','w':W(2,1)}}}]}");
    /* The deleted flag. */
    snap(f, TABLET, "{'records':["
                    "{'type':'note','id':'n1','deleted':false,'w':W(1,1),'fields':{'text':{'v':'a','w':W(1,1)}}},"
                    "{'type':'note','id':'n2','deleted':false,'w':W(1,3),'fields':{'text':{'v':'x','w':W(1,3)}}},"
                    "{'type':'note','id':'n3','deleted':false,'w':W(2,1),'fields':{'text':{'v':'c','w':W(2,1)}}}]}");
    /* A record missing. */
    snap(f, LAPTOP, "{'records':["
                    "{'type':'note','id':'n1','deleted':false,'w':W(1,1),'fields':{'text':{'v':'a','w':W(1,1)}}},"
                    "{'type':'note','id':'n2','deleted':true,'w':W(1,2),'del_w':W(1,2),"
                    "'fields':{'text':{'v':'x','w':W(1,3)}}}]}");
}

static void test_divergence(void)
{
    fixture f;
    fixture_init(&f);
    differing_devices(&f);
    const check_result *r = run(&f, true, NULL);
    EXPECT_COUNTS(r, VC_DIVERGENCE, 3);
    EXPECT_INT(r->n_findings, 3);
    static const char *const records[] = { "note/n1", "note/n2", "note/n3" };
    static const char *const summaries[] = {
        "phone disagrees with the server on 1 record after quiescence",
        "tablet disagrees with the server on 1 record after quiescence",
        "laptop disagrees with the server on 1 record after quiescence",
    };
    static const char *const witnesses[] = {
        "    note/n1: server {text: \"a\"}, phone {text: \"b\"}\n",
        "    note/n2: server deleted, tablet {text: \"x\"}\n",
        "    note/n3: server {text: \"c\"}, laptop absent\n",
    };
    for (int k = 0; k < 3; k++) {
        const finding *x = nth(r, VC_DIVERGENCE, k);
        EXPECT_INT(x->node, k + 1);
        EXPECT_STR(x->record, records[k]);
        EXPECT_U64(x->w, WRITE_NONE);
        EXPECT_STR(x->summary, summaries[k]);
        EXPECT_STR(x->witness, witnesses[k]);
    }
    fixture_free(&f);
}

/* A device holding a record the server lacks, and more differences than the witness lists. */
static void test_divergence_extra_records(void)
{
    fixture f;
    fixture_init(&f);
    snap_all(&f, "{'records':[" SERVER_STATE "]}");
    snap(&f, TABLET, "{'records':[" SERVER_STATE ","
                     "{'type':'note','id':'n4','deleted':false,'w':W(2,2),'fields':{'text':{'v':'d','w':W(2,2)}}}]}");
    snap(&f, LAPTOP, "{'records':["
                     "{'type':'note','id':'n0','deleted':false,'w':W(3,1),'fields':{}},"
                     "{'type':'note','id':'n1','deleted':false,'w':W(1,1),'fields':{'text':{'v':1,'w':W(1,1)}}},"
                     "{'type':'note','id':'n3','deleted':true,'w':W(3,2),'fields':{}},"
                     "{'type':'note','id':'n5','deleted':false,'w':W(3,3),'fields':{}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_COUNTS(r, VC_DIVERGENCE, 2);
    const finding *t = nth(r, VC_DIVERGENCE, 0);
    EXPECT_INT(t->node, TABLET);
    EXPECT_STR(t->record, "note/n4");
    EXPECT_STR(t->summary, "tablet disagrees with the server on 1 record after quiescence");
    EXPECT_STR(t->witness, "    note/n4: server absent, tablet {text: \"d\"}\n");
    /* n0 extra, n1 an integer for a string, n2 missing, n3 deleted, n5 extra. */
    const finding *l = nth(r, VC_DIVERGENCE, 1);
    EXPECT_INT(l->node, LAPTOP);
    EXPECT_STR(l->record, "note/n0");
    EXPECT_STR(l->summary, "laptop disagrees with the server on 5 records after quiescence");
    EXPECT_STR(l->witness, "    note/n0: server absent, laptop {}\n"
                           "    note/n1: server {text: \"a\"}, laptop {text: 1}\n"
                           "    note/n2: server deleted, laptop absent\n"
                           "    ... and 2 more records\n");
    fixture_free(&f);
}

/* Same visible state with other provenance or other kept copies is no divergence. */
static void test_no_divergence_when_identical(void)
{
    fixture f;
    fixture_init(&f);
    snap_all(&f, "{'records':[" SERVER_STATE "]}");
    snap(&f, PHONE, "{'records':["
                    "{'type':'note','id':'n3','deleted':false,'w':W(2,1),'fields':{'text':{'v':'c','w':W(3,7)}}},"
                    "{'type':'note','id':'n1','deleted':false,'w':W(3,8),'fields':{'text':{'v':'a','w':W(1,1)}}},"
                    "{'type':'note','id':'n2','deleted':true,'w':W(1,2),'fields':{'text':{'v':'x','w':W(1,3)}}}],"
                    "'kept':[{'type':'note','id':'n1','w':W(2,5)}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_NO_COUNTS(r);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

static void test_no_divergence_without_quiescence(void)
{
    fixture f;
    fixture_init(&f);
    differing_devices(&f);
    const check_result *r = run(&f, false, "laptop: a pull in flight");
    EXPECT_COUNTS(r, VC_NO_QUIESCENCE, 1);
    EXPECT_INT(stored(r, VC_DIVERGENCE), 0);
    fixture_free(&f);
}

static void test_no_quiescence(void)
{
    fixture f;
    fixture_init(&f);
    const char *liveness = "    phone: 2 changes waiting to be pushed\n    tablet: retrying after 30s\n";
    const check_result *r = run(&f, false, liveness);
    EXPECT_COUNTS(r, VC_NO_QUIESCENCE, 1);
    EXPECT_INT(r->n_findings, 1);
    const finding *x = only(r, VC_NO_QUIESCENCE);
    EXPECT(x->record == NULL);
    EXPECT_U64(x->w, WRITE_NONE);
    EXPECT_U64(x->competitor, WRITE_NONE);
    EXPECT_INT(x->node, -1);
    /* heal at 1m, deadline at 1h1m. */
    EXPECT_STR(x->summary, "sync did not settle within 1h of the final heal");
    EXPECT_CONTAINS(x->witness, liveness);
    /* A copy, not the caller's pointer. */
    EXPECT(x->witness != liveness);

    r = run(&f, false, NULL);
    EXPECT_COUNTS(r, VC_NO_QUIESCENCE, 1);
    EXPECT_STR(only(r, VC_NO_QUIESCENCE)->witness, "");

    r = run(&f, true, NULL);
    EXPECT_NO_COUNTS(r);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/* --- bounds -------------------------------------------------------------------- */

static void test_findings_cap(void)
{
    fixture f;
    fixture_init(&f);
    char key[32];
    int total = CHECK_FINDINGS_PER_CLASS_MAX + 10;
    for (int i = 1; i <= total; i++) {
        snprintf(key, sizeof key, "note/n%d", i);
        create(&f, PHONE, (uint32_t)i, key, "text=a");
    }
    /* Another class stays under its own cap. */
    for (int i = 1; i <= 3; i++) {
        snprintf(key, sizeof key, "note/m%d", i);
        receive(&f, create(&f, TABLET, (uint32_t)i, key, "text=a"));
    }
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, (uint64_t)total + 3);
    EXPECT_COUNTS(r, VC_UNDELIVERED, CHECK_FINDINGS_PER_CLASS_MAX + 10, VC_LOST_UPDATE, 3);
    EXPECT_INT(stored(r, VC_UNDELIVERED), CHECK_FINDINGS_PER_CLASS_MAX);
    EXPECT_INT(stored(r, VC_LOST_UPDATE), 3);
    EXPECT_INT(r->n_findings, CHECK_FINDINGS_PER_CLASS_MAX + 3);
    /* The first ones are the ones kept. */
    EXPECT_U64(nth(r, VC_UNDELIVERED, 0)->w, WRITE_ID(PHONE, 1));
    EXPECT_U64(nth(r, VC_UNDELIVERED, CHECK_FINDINGS_PER_CLASS_MAX - 1)->w,
               WRITE_ID(PHONE, CHECK_FINDINGS_PER_CLASS_MAX));
    fixture_free(&f);
}

/* --- counters, event logs, tenants ------------------------------------------------ */

static write_id increment(fixture *f, int node, uint32_t counter, const char *key, const char *spec)
{
    return write_op(f, node, counter, OP_INCREMENT, key, spec, true);
}

static write_id append(fixture *f, int node, uint32_t counter, const char *key, const char *spec)
{
    return write_op(f, node, counter, OP_APPEND, key, spec, true);
}

/* A counter must end at its initial value plus every increment that reached the server. */
static void test_counter_drift(void)
{
    for (int correct = 0; correct < 2; correct++) {
        fixture f;
        fixture_init(&f);
        write_id c1 = create(&f, PHONE, 1, "volume/v1", "sets=2");
        observe(&f, TABLET, "volume/v1", c1);
        observe(&f, LAPTOP, "volume/v1", c1);
        write_id i1 = increment(&f, TABLET, 1, "volume/v1", "sets=4");
        write_id i2 = increment(&f, LAPTOP, 1, "volume/v1", "sets=3");
        increment(&f, LAPTOP, 2, "volume/v1", "sets=100");   /* never reached the server: not in the sum */
        write_id i3 = increment(&f, TABLET, 2, "volume/v1", "sets=50");
        receive(&f, c1);
        receive(&f, i1);
        receive(&f, i2);
        receive(&f, i3);
        history_rejected(&f.h, i3, "immutable");   /* refused by the type's rules: not in the sum either */
        snap_all(&f, correct ? "{'records':[{'type':'volume','id':'v1','deleted':false,'w':W(3,1),"
                               "'fields':{'sets':{'v':9,'w':W(3,1)}}}]}"
                             : "{'records':[{'type':'volume','id':'v1','deleted':false,'w':W(3,1),"
                               "'fields':{'sets':{'v':5,'w':W(3,1)}}}]}");
        const check_result *r = run(&f, true, NULL);
        EXPECT_U64(r->counts[VC_UNDELIVERED], 1);
        EXPECT_U64(r->counts[VC_COUNTER_DRIFT], correct ? 0 : 1);
        EXPECT_U64(r->counts[VC_LOST_UPDATE] + r->counts[VC_SILENT_OVERWRITE], 0);
        if (!correct) {
            const finding *x = only(r, VC_COUNTER_DRIFT);
            EXPECT_STR(x->summary, "volume/v1.sets is 5, but its initial value and 2 increments add up to 9");
            EXPECT_CONTAINS(x->witness, "increment   tablet:1 increment volume/v1 {sets: 4}");
            EXPECT_CONTAINS(x->witness, "increment   laptop:1 increment volume/v1 {sets: 3}");
        }
        fixture_free(&f);
    }
}

/* Each appended event once in the log: twice is a duplicate, never is a lost update. */
static void test_event_duplicate_and_vanished(void)
{
    fixture f;
    fixture_init(&f);
    write_id c1 = create(&f, PHONE, 1, "attempt/a1", "activity=plank");
    observe(&f, TABLET, "attempt/a1", c1);
    write_id e1 = append(&f, PHONE, 2, "attempt/a1", "kind=start");
    write_id e2 = append(&f, TABLET, 1, "attempt/a1", "kind=note");
    receive(&f, c1);
    receive(&f, e1);
    receive(&f, e1);
    receive(&f, e2);
    snap_all(&f, "{'records':[{'type':'attempt','id':'a1','deleted':false,'w':W(1,2),"
                 "'fields':{'activity':{'v':'plank','w':W(1,1)}},'events':[{'w':W(1,2)},{'w':W(1,2)}]}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_COUNTS(r, VC_DUPLICATE, 1, VC_LOST_UPDATE, 1);
    EXPECT_U64(only(r, VC_DUPLICATE)->w, e1);
    EXPECT_CONTAINS(only(r, VC_DUPLICATE)->summary, "appended one event that the log holds more than once");
    EXPECT_U64(only(r, VC_LOST_UPDATE)->w, e2);
    fixture_free(&f);
}

/* The same events in another order on one device: order-divergence, not divergence. */
static void test_order_divergence(void)
{
    fixture f;
    fixture_init(&f);
    write_id c1 = create(&f, PHONE, 1, "attempt/a1", "activity=plank");
    write_id e1 = append(&f, PHONE, 2, "attempt/a1", "kind=start");
    write_id e2 = append(&f, PHONE, 3, "attempt/a1", "kind=stop");
    receive(&f, c1);
    receive(&f, e1);
    receive(&f, e2);
    const char *ordered = "{'records':[{'type':'attempt','id':'a1','deleted':false,'w':W(1,3),"
                          "'fields':{'activity':{'v':'plank','w':W(1,1)}},'events':[{'w':W(1,2)},{'w':W(1,3)}]}]}";
    snap_all(&f, ordered);
    snap(&f, TABLET, "{'records':[{'type':'attempt','id':'a1','deleted':false,'w':W(1,3),"
                     "'fields':{'activity':{'v':'plank','w':W(1,1)}},'events':[{'w':W(1,3)},{'w':W(1,2)}]}]}");
    snap(&f, LAPTOP, "{'records':[{'type':'attempt','id':'a1','deleted':false,'w':W(1,3),"
                     "'fields':{'activity':{'v':'plank','w':W(1,1)}},'events':[{'w':W(1,2)}]}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->counts[VC_ORDER_DIVERGENCE], 1);
    EXPECT_U64(r->counts[VC_DIVERGENCE], 1);   /* the laptop lacks an event: that is not an order */
    EXPECT_INT(only(r, VC_ORDER_DIVERGENCE)->node, TABLET);
    EXPECT_CONTAINS(only(r, VC_ORDER_DIVERGENCE)->witness, "events [phone:3 phone:2]");
    EXPECT_INT(only(r, VC_DIVERGENCE)->node, LAPTOP);
    fixture_free(&f);
}

/* tenants.yaml with alice's phone writing note/alice-1 and bob's laptop note/bob-1, both received. */
static void alice_and_bob_notes(fixture *f)
{
    fixture_init_from(f, "tests/data/check/tenants.yaml");
    write_id a = create(f, PHONE, 1, "note/alice-1", "text=a");
    write_id b = create(f, LAPTOP, 1, "note/bob-1", "text=b");
    receive(f, a);
    receive(f, b);
}

/* A device holds its user's records, all of them, and nothing of another user's. */
static void test_tenants(void)
{
    fixture f;
    alice_and_bob_notes(&f);
    const char *both = "{'records':[{'type':'note','id':'alice-1','deleted':false,'w':W(1,1),"
                       "'fields':{'text':{'v':'a','w':W(1,1)}}},"
                       "{'type':'note','id':'bob-1','deleted':false,'w':W(3,1),'fields':{'text':{'v':'b','w':W(3,1)}}}]}";
    const char *alice = "{'records':[{'type':'note','id':'alice-1','deleted':false,'w':W(1,1),"
                        "'fields':{'text':{'v':'a','w':W(1,1)}}}]}";
    snap(&f, 0, both);
    snap(&f, PHONE, alice);
    snap(&f, TABLET, "{'records':[]}");   /* alice's tablet lacks her note: divergence */
    snap(&f, LAPTOP, both);                /* bob's laptop holds alice's note: a leak */
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->counts[VC_TENANT_LEAK], 1);
    EXPECT_U64(r->counts[VC_DIVERGENCE], 1);
    const finding *leak = only(r, VC_TENANT_LEAK);
    EXPECT_INT(leak->node, LAPTOP);
    EXPECT_STR(leak->summary, "laptop holds note/alice-1, a record of another user (it belongs to alice)");
    EXPECT_INT(only(r, VC_DIVERGENCE)->node, TABLET);
    fixture_free(&f);
}

/*
 * A switch of accounts (docs/lifecycle.md): the phone was alice's, wrote alice-1, then switched to bob
 * and wrote bob-2. A record belongs to its first write's user at the time of that write: alice-1 stays
 * alice's, bob-2 is bob's. The phone is judged as bob's: holding bob's records and nothing of alice's
 * is no finding; holding alice-1 too is a leak.
 */
static void test_switched_tenants(void)
{
    for (int leak = 0; leak < 2; leak++) {
        fixture f;
        fixture_init_from(&f, "tests/data/check/tenants.yaml");
        write_id a = create(&f, PHONE, 1, "note/alice-1", "text=a");
        write_id b1 = create(&f, LAPTOP, 1, "note/bob-1", "text=b");
        history_set_user(&f.h, PHONE, "bob");
        write_id b2 = create(&f, PHONE, 2, "note/bob-2", "text=c");
        receive(&f, a);
        receive(&f, b1);
        receive(&f, b2);
        const char *alice1 = "{'type':'note','id':'alice-1','deleted':false,'w':W(1,1),"
                             "'fields':{'text':{'v':'a','w':W(1,1)}}}";
        const char *bobs = "{'type':'note','id':'bob-1','deleted':false,'w':W(3,1),'fields':{'text':{'v':'b','w':W(3,1)}}},"
                           "{'type':'note','id':'bob-2','deleted':false,'w':W(1,2),'fields':{'text':{'v':'c','w':W(1,2)}}}";
        char all[1024], bob[1024], phone[1024], alice[512];
        snprintf(all, sizeof all, "{'records':[%s,%s]}", alice1, bobs);
        snprintf(bob, sizeof bob, "{'records':[%s]}", bobs);
        snprintf(alice, sizeof alice, "{'records':[%s]}", alice1);
        snprintf(phone, sizeof phone, "%s", leak ? all : bob);
        snap(&f, 0, all);
        snap(&f, PHONE, phone);
        snap(&f, TABLET, alice);   /* alice's: bob-2, written on her old phone, is not hers */
        snap(&f, LAPTOP, bob);     /* bob's: bob-2 is his though the phone was alice's at its start */
        const check_result *r = run(&f, true, NULL);
        EXPECT_U64(r->counts[VC_DIVERGENCE], 0);
        EXPECT_U64(r->counts[VC_TENANT_LEAK], leak ? 1 : 0);
        if (leak) {
            const finding *found = only(r, VC_TENANT_LEAK);
            EXPECT_INT(found->node, PHONE);
            EXPECT_STR(found->summary, "phone holds note/alice-1, a record of another user (it belongs to alice)");
        }
        fixture_free(&f);
    }
}

/*
 * Records the history knows no writer of belong to the user the server reports, or to anyone when it
 * reports none. A device is compared with its user's records and the unowned ones together, in key
 * order: the tablet's witness lists a0 (unowned, another value), b0 (unowned, missing) and c0
 * (bob's by the server's word, so the server holds no c0 of alice's) in that order.
 */
static void test_tenants_with_unowned_records(void)
{
    fixture f;
    alice_and_bob_notes(&f);
#define A0 "{'type':'note','id':'a0','deleted':false,'w':W(2,9),'fields':{'text':{'v':'u','w':W(2,9)}}}"
#define ALICE1 "{'type':'note','id':'alice-1','deleted':false,'w':W(1,1),'fields':{'text':{'v':'a','w':W(1,1)}}}"
#define B0 "{'type':'note','id':'b0','deleted':false,'w':W(2,8),'fields':{'text':{'v':'v','w':W(2,8)}}}"
#define BOB1 "{'type':'note','id':'bob-1','deleted':false,'w':W(3,1),'fields':{'text':{'v':'b','w':W(3,1)}}}"
#define C0 "'type':'note','id':'c0','deleted':false,'w':W(3,9),'fields':{'text':{'v':'w','w':W(3,9)}}"
    snap(&f, 0, "{'records':[" A0 "," ALICE1 "," B0 "," BOB1 ",{'tenant':'bob'," C0 "}]}");
    snap(&f, PHONE, "{'records':[" A0 "," ALICE1 "," B0 "]}");
    snap(&f, TABLET, "{'records':[{'type':'note','id':'a0','deleted':false,'w':W(2,9),'fields':{'text':{'v':'z',"
                     "'w':W(2,9)}}}," ALICE1 ",{" C0 "}]}");
    snap(&f, LAPTOP, "{'records':[" A0 "," B0 "," BOB1 ",{'tenant':'bob'," C0 "}]}");
#undef A0
#undef ALICE1
#undef B0
#undef BOB1
#undef C0
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->counts[VC_TENANT_LEAK], 0);
    EXPECT_INT(r->n_findings, 1);
    const finding *x = only(r, VC_DIVERGENCE);
    EXPECT_INT(x->node, TABLET);
    EXPECT_STR(x->record, "note/a0");
    EXPECT_STR(x->summary, "tablet disagrees with the server on 3 records after quiescence");
    EXPECT_STR(x->witness, "    note/a0: server {text: \"u\"}, tablet {text: \"z\"}\n"
                           "    note/b0: server {text: \"v\"}, tablet absent\n"
                           "    note/c0: server absent, tablet {text: \"w\"}\n");
    fixture_free(&f);
}

/* A live record's reference must name a live parent on the server once sync has settled. */
static void test_dangling_refs(void)
{
    fixture f;
    fixture_init_from(&f, "tests/data/check/refs.yaml");
    write_id ada = create(&f, PHONE, 1, "person/ada", "name=Ada");
    write_id rex = create(&f, TABLET, 1, "pet/rex", "ownerId=ada");
    write_id tom = create(&f, TABLET, 2, "pet/tom", "ownerId=bob");
    write_id kit = create(&f, TABLET, 3, "pet/kit", "ownerId=ada");
    write_id gone = delete(&f, PHONE, 2, "person/ada");
    write_id old = delete(&f, TABLET, 4, "pet/kit");
    receive(&f, ada);
    receive(&f, rex);
    receive(&f, tom);
    receive(&f, kit);
    receive(&f, gone);
    receive(&f, old);
    snap_all(&f, "{'records':["
                 "{'type':'person','id':'ada','deleted':true,'w':W(1,2),'del_w':W(1,2),'fields':{}},"
                 "{'type':'pet','id':'kit','deleted':true,'w':W(2,4),'del_w':W(2,4),'fields':{}},"
                 "{'type':'pet','id':'rex','deleted':false,'w':W(2,1),'fields':{'ownerId':{'v':'ada','w':W(2,1)}}},"
                 "{'type':'pet','id':'tom','deleted':false,'w':W(2,2),'fields':{'ownerId':{'v':'bob','w':W(2,2)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->counts[VC_DANGLING_REF], 2);   /* a deleted pet's reference does not count */
    EXPECT_STR(nth(r, VC_DANGLING_REF, 0)->summary, "pet/rex.ownerId names person/ada, which is deleted");
    EXPECT_U64(nth(r, VC_DANGLING_REF, 0)->w, rex);
    EXPECT_CONTAINS(nth(r, VC_DANGLING_REF, 0)->witness, "delete      phone:2");
    EXPECT_STR(nth(r, VC_DANGLING_REF, 1)->summary, "pet/tom.ownerId names person/bob, which does not exist");
    fixture_free(&f);

    /* Not judged before sync settles: a parent may still be on its way. */
    fixture_init_from(&f, "tests/data/check/refs.yaml");
    receive(&f, create(&f, TABLET, 1, "pet/rex", "ownerId=ada"));
    snap_all(&f, "{'records':[{'type':'pet','id':'rex','deleted':false,'w':W(2,1),"
                 "'fields':{'ownerId':{'v':'ada','w':W(2,1)}}}]}");
    r = run(&f, false, "still syncing");
    EXPECT_U64(r->counts[VC_DANGLING_REF], 0);
    fixture_free(&f);
}

static void test_write_name(void)
{
    fixture f;
    fixture_init(&f);
    char name[96];
    check_write_name(f.sc, WRITE_ID(PHONE, 3), name, sizeof name);
    EXPECT_STR(name, "phone:3");
    check_write_name(f.sc, WRITE_ID(LAPTOP, 12), name, sizeof name);
    EXPECT_STR(name, "laptop:12");
    check_write_name(f.sc, WRITE_ID(NODE_SERVER, 1), name, sizeof name);
    EXPECT_STR(name, "server:1");
    fixture_free(&f);
}

/* The server refused the write (server data, or its schema): counted as rejected, nothing stored. */
static void test_rejected(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    receive(&f, a1);
    history_rejected(&f.h, a1, "server-authoritative");
    snap_all(&f, "{'records':[]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_checked, 1);
    EXPECT_COUNTS(r, VC_REJECTED, 1);
    EXPECT_INT(r->n_findings, 0);
    EXPECT(vclass_benign(VC_REJECTED));
    fixture_free(&f);
}

/*
 * A power loss dropped the phone's write before it was sent. Never acknowledged to its user
 * (acknowledge: on-flush: the world withdrew it): counted like a refused write, no finding.
 * Acknowledged (on-write: nothing withdrawn): the same loss is undelivered, and fails the run.
 */
static void test_power_loss_withdrawn_or_lost(void)
{
    for (int acknowledged = 0; acknowledged < 2; acknowledged++) {
        fixture f;
        fixture_init(&f);
        write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
        if (!acknowledged)
            history_withdrawn(&f.h, a1, "never acknowledged: its device lost power");
        snap_all(&f, "{'records':[]}");
        const check_result *r = run(&f, true, NULL);
        EXPECT_U64(r->writes_checked, 1);
        if (!acknowledged) {
            EXPECT_COUNTS(r, VC_REJECTED, 1);
            EXPECT_INT(r->n_findings, 0);
        } else {
            EXPECT_COUNTS(r, VC_UNDELIVERED, 1);
            EXPECT_INT(r->counts[VC_REJECTED], 0);
        }
        fixture_free(&f);
    }
}

/*
 * Acknowledged (on-write) and taken by a power loss: the phone's edit a2 never reached the server.
 * The phone then wrote the same field again (a3, which its history counts as following a2) and
 * that reached the server: a2 is still undelivered, with the reason, not superseded. Unmarked, the
 * same history reads a2 as replaced before it was sent.
 */
static void test_power_lost_is_undelivered(void)
{
    for (int marked = 0; marked < 2; marked++) {
        fixture f;
        fixture_init(&f);
        write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
        receive(&f, a1);
        write_id a2 = update(&f, PHONE, 2, "note/n1", "text=b");
        if (marked)
            history_power_lost(&f.h, a2, "its device lost power");
        write_id a3 = update(&f, PHONE, 3, "note/n1", "text=c");
        receive(&f, a3);
        snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(1,3),"
                     "'fields':{'text':{'v':'c','w':W(1,3)}}}]}");
        const check_result *r = run(&f, true, NULL);
        if (marked) {
            EXPECT_COUNTS(r, VC_UNDELIVERED, 1, VC_SUPERSEDED, 1);
            EXPECT_STR(only(r, VC_UNDELIVERED)->summary,
                       "note/n1: write phone:2 never reached the server: its device lost power");
        } else {
            EXPECT_COUNTS(r, VC_SUPERSEDED, 2);
        }
        fixture_free(&f);
    }
}

/* A write its device dropped unsent is undelivered, and the witness says why. */
static void test_dropped_is_undelivered(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    history_dropped(&f.h, a1, "retries exhausted");
    const check_result *r = run(&f, true, NULL);
    EXPECT_COUNTS(r, VC_UNDELIVERED, 1);
    EXPECT_STR(only(r, VC_UNDELIVERED)->summary,
               "note/n1: write phone:1 never reached the server: its device dropped it (retries exhausted)");
    fixture_free(&f);
}

/*
 * The phone writes text twice; its second write then loses to the tablet's
 * concurrent one and is kept. The first write was superseded by the second,
 * whatever became of the second -- not silently overwritten by the tablet's.
 */
static void test_superseded_before_lost(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a,n=1");
    receive(&f, a1);
    write_id a2 = update(&f, PHONE, 2, "note/n1", "text=a2");
    receive(&f, a2);
    write_id b1 = update(&f, TABLET, 1, "note/n1", "text=b");
    receive(&f, b1);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(2,1),"
                 "'fields':{'n':{'v':1,'w':W(1,1)},'text':{'v':'b','w':W(2,1)}}}],"
                 "'kept':[{'type':'note','id':'n1','w':W(1,2)}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_OVERWRITTEN_CONCURRENT, 1);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/*
 * The same, with a delete as the winner: the tablet sets n twice, the phone
 * deletes the record concurrently, and the laptop's concurrent edit brings
 * it back without n (found by the level-5 conformance swarm, seed 54). b1
 * was overwritten on the server by b2, its own device's next edit, before
 * the delete beat b2: b1 is superseded, and b2 -- kept for the user -- is
 * the one overwritten. Once told by the server's states (displaced_by),
 * once by the history alone.
 */
static void superseded_before_lost_to_delete(bool server_states)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "task/t1", "text=a");
    receive(&f, a1);
    observe(&f, TABLET, "task/t1", a1);
    observe(&f, LAPTOP, "task/t1", a1);
    write_id b1 = update(&f, TABLET, 1, "task/t1", "n=1");
    write_id b2 = update(&f, TABLET, 2, "task/t1", "n=2");
    write_id d1 = delete(&f, PHONE, 2, "task/t1");
    write_id c1 = update(&f, LAPTOP, 1, "task/t1", "text=c");
    const write_id states[][2] = { { a1, WRITE_NONE }, { a1, b1 }, { a1, b2 }, { d1, WRITE_NONE }, { c1, WRITE_NONE } };
    const write_id order[] = { a1, b1, b2, d1, c1 };
    for (int i = 1; i < 5; i++) {
        receive(&f, order[i]);
        if (server_states) {
            write_id last = order[i];
            history_server_state(&f.h, "task", "t1", last, last == d1 ? d1 : WRITE_NONE, last == d1, states[i],
                                 states[i][1] == WRITE_NONE ? 1 : 2);
            history_settle_arrivals(&f.h);
        }
    }
    snap_all(&f, "{'records':[{'type':'task','id':'t1','deleted':false,'w':W(3,1),"
                 "'fields':{'text':{'v':'c','w':W(3,1)}}}],"
                 "'kept':[{'type':'task','id':'t1','w':W(2,2)},{'type':'task','id':'t1','w':W(1,2)}]}");
    const check_result *r = run(&f, true, NULL);
    /* c1 stands; a1 is superseded by c1 (the laptop had seen it), b1 by b2; b2 lost to the delete but is
     * kept, and the delete lost to c1 (the strategy rule lets a concurrent edit bring the record back),
     * kept for the user too. */
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_SUPERSEDED, 2, VC_OVERWRITTEN_CONCURRENT, 2);
    EXPECT_INT(r->n_findings, 0);
    if (r->n_findings)
        fprintf(stderr, "  (server states %s) first finding: %s\n", server_states ? "on" : "off",
                r->findings[0].summary);
    fixture_free(&f);
}

static void test_superseded_before_lost_to_delete(void)
{
    superseded_before_lost_to_delete(false);
    superseded_before_lost_to_delete(true);
}

/* What the user wrote is what they see: an identical value written by another write stands for it. */
static void test_identical_value_is_kept(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "done=1");
    write_id b1 = create(&f, TABLET, 1, "note/n1", "done=1");
    receive(&f, a1);
    receive(&f, b1);
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(2,1),"
                 "'fields':{'done':{'v':1,'w':W(2,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 2);
    EXPECT_INT(r->n_findings, 0);
    fixture_free(&f);
}

/*
 * The tablet deletes a record the phone had deleted already; the laptop, having seen the
 * phone's delete, creates it again. The tablet's late delete is concurrent with the
 * re-create but lost nothing to it: the record was deleted as asked, then created anew
 * on purpose (reference-swarm seed 3). A plain concurrent edit is another matter
 * (concurrent_delete_edit: silent-overwrite).
 */
static void test_delete_before_recreate_is_superseded(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "task/t1", "text=a");
    receive(&f, a1);
    observe(&f, TABLET, "task/t1", a1);
    observe(&f, LAPTOP, "task/t1", a1);
    write_id d1 = delete(&f, PHONE, 2, "task/t1");
    receive(&f, d1);
    observe(&f, LAPTOP, "task/t1", d1);
    write_id c1 = create(&f, LAPTOP, 1, "task/t1", "text=new");
    receive(&f, c1);
    write_id d2 = delete(&f, TABLET, 1, "task/t1");
    receive(&f, d2);
    snap_all(&f, "{'records':[{'type':'task','id':'t1','deleted':false,'w':W(3,1),"
                 "'fields':{'text':{'v':'new','w':W(3,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(r->writes_kept, 1);
    EXPECT_COUNTS(r, VC_SUPERSEDED, 3);
    EXPECT_INT(r->n_findings, 0);
    (void)c1;
    (void)d2;
    fixture_free(&f);
}

/*
 * Two writes that never reached the server and are not undelivered (found with Yjs): an append
 * its own device deleted the record after, before sending either (the delete covers it:
 * superseded); and an edit made offline inside a record that another device deleted and
 * created again meanwhile (the concurrent delete beat it: silent-overwrite, not undelivered).
 */
static void test_unsent_but_not_undelivered(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "attempt/a1", "activity=plank");
    receive(&f, a1);
    write_id e1 = append(&f, PHONE, 2, "attempt/a1", "kind=start");
    write_id d1 = delete(&f, PHONE, 3, "attempt/a1");
    receive(&f, d1);
    write_id n1 = create(&f, PHONE, 4, "note/n1", "text=old");
    receive(&f, n1);
    observe(&f, TABLET, "note/n1", n1);
    write_id nd = delete(&f, PHONE, 5, "note/n1");
    receive(&f, nd);
    write_id nc = create(&f, PHONE, 6, "note/n1", "text=new");
    receive(&f, nc);
    write_id t1 = update(&f, TABLET, 1, "note/n1", "text=edited offline");
    snap_all(&f, "{'records':[{'type':'attempt','id':'a1','deleted':true,'w':W(1,3),'del_w':W(1,3),'fields':{}},"
                 "{'type':'note','id':'n1','deleted':false,'w':W(1,6),'fields':{'text':{'v':'new','w':W(1,6)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_INT(stored(r, VC_UNDELIVERED), 0);
    EXPECT_U64(only(r, VC_SILENT_OVERWRITE)->w, t1);
    EXPECT_U64(only(r, VC_SILENT_OVERWRITE)->competitor, nd);
    (void)e1;
    (void)nc;
    fixture_free(&f);
}

/*
 * Found with Automerge (swarm seed 40): after a delete every device saw, the tablet and the
 * laptop each create the record again without seeing the other's create; the tablet appends to
 * its incarnation; the laptop's wins (a new map at the key), and the record's log starts empty.
 * The event lost to the concurrent create: silent-overwrite, not a lost update.
 */
static void test_append_lost_to_concurrent_recreate(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "attempt/a1", "activity=plank");
    receive(&f, a1);
    observe(&f, TABLET, "attempt/a1", a1);
    observe(&f, LAPTOP, "attempt/a1", a1);
    write_id d1 = delete(&f, PHONE, 2, "attempt/a1");
    receive(&f, d1);
    observe(&f, TABLET, "attempt/a1", d1);
    observe(&f, LAPTOP, "attempt/a1", d1);
    write_id c1 = create(&f, TABLET, 1, "attempt/a1", "activity=run");
    receive(&f, c1);
    write_id e1 = append(&f, TABLET, 2, "attempt/a1", "kind=start");
    receive(&f, e1);
    write_id c2 = create(&f, LAPTOP, 1, "attempt/a1", "activity=swim");
    receive(&f, c2);
    snap_all(&f, "{'records':[{'type':'attempt','id':'a1','deleted':false,'w':W(3,1),"
                 "'fields':{'activity':{'v':'swim','w':W(3,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_INT(stored(r, VC_LOST_UPDATE), 0);
    bool e1_silent = false;
    for (int i = 0; i < r->n_findings; i++)
        if (r->findings[i].w == e1) {
            EXPECT(r->findings[i].cls == VC_SILENT_OVERWRITE);
            EXPECT_U64(r->findings[i].competitor, c2);
            e1_silent = true;
        }
    EXPECT(e1_silent);
    (void)c1;
    fixture_free(&f);
}

/*
 * The phone deletes a record, creates it again, deletes it again; the tablet, offline all
 * along, edits the first incarnation and brings the record back. Only the second delete lost
 * to the edit; the first was superseded by the phone's own re-create (reference-swarm
 * seed 279 under --strict).
 */
static void test_delete_superseded_by_own_recreate(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "task/t1", "text=a");
    receive(&f, a1);
    observe(&f, TABLET, "task/t1", a1);
    write_id none[1] = { WRITE_NONE };
    write_id d1 = delete(&f, PHONE, 2, "task/t1");
    receive(&f, d1);
    history_server_state(&f.h, "task", "t1", d1, d1, true, none, 1);
    write_id c1 = create(&f, PHONE, 3, "task/t1", "text=again");
    receive(&f, c1);
    history_server_state(&f.h, "task", "t1", c1, WRITE_NONE, false, &c1, 1);
    write_id d2 = delete(&f, PHONE, 4, "task/t1");
    receive(&f, d2);
    history_server_state(&f.h, "task", "t1", d2, d2, true, none, 1);
    write_id t1 = update(&f, TABLET, 1, "task/t1", "text=t");
    receive(&f, t1);
    history_server_state(&f.h, "task", "t1", t1, WRITE_NONE, false, &t1, 1);
    snap_all(&f, "{'records':[{'type':'task','id':'t1','deleted':false,'w':W(2,1),"
                 "'fields':{'text':{'v':'t','w':W(2,1)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_U64(only(r, VC_SILENT_OVERWRITE)->w, d2);
    for (int i = 0; i < r->n_findings; i++)
        EXPECT(r->findings[i].w != d1);
    fixture_free(&f);
}

/*
 * Create, delete, create, delete on one device before any sync: only the last
 * delete reaches the server (Yjs garbage-collects the first map with its
 * tombstone). The first delete's effect stands -- the record is deleted by the
 * same device -- so it is superseded, not undelivered. Without the last
 * delete, the first one is undelivered (the re-create was never sent either).
 */
static void delete_again_case(bool last_delete_sent)
{
    fixture f;
    fixture_init(&f);
    write_id c1 = create(&f, PHONE, 1, "task/t1", "text=a");
    write_id d1 = delete(&f, PHONE, 2, "task/t1");
    write_id c2 = create(&f, PHONE, 3, "task/t1", "text=b");
    write_id d2 = delete(&f, PHONE, 4, "task/t1");
    (void)c1;
    (void)c2;
    if (last_delete_sent) {
        receive(&f, d2);
        write_id none[1] = { WRITE_NONE };
        history_server_state(&f.h, "task", "t1", d2, d2, true, none, 1);
        snap_all(&f, "{'records':[{'type':'task','id':'t1','deleted':true,'w':W(1,4),'del_w':W(1,4),'fields':{}}]}");
    } else {
        snap_all(&f, "{'records':[]}");
    }
    const check_result *r = run(&f, true, NULL);
    bool d1_undelivered = false;
    for (int i = 0; i < r->n_findings; i++)
        d1_undelivered |= r->findings[i].w == d1 && r->findings[i].cls == VC_UNDELIVERED;
    EXPECT(d1_undelivered == !last_delete_sent);
    fixture_free(&f);
}

static void test_delete_replaced_by_own_delete(void)
{
    delete_again_case(true);
    delete_again_case(false);
}

/* --- skew-inversion ------------------------------------------------------------ */

/*
 * Two concurrent edits a minute apart; the earlier one wins. With the
 * phone's clock ten minutes ahead, it won only by the clock: skew-inversion
 * beside the silent overwrite. With clocks that agree (the server chose by
 * arrival), or within the clocks' precision, or when the winner causally
 * precedes the loser (a lost update), it is not.
 */
static void skew_case_of(const char *type, int64_t phone_skew_us, int64_t gap_us, bool causal, bool clocks_none,
                         bool want_inversion)
{
    char key[32], snap[256];
    snprintf(key, sizeof key, "%s/t1", type);
    snprintf(snap, sizeof snap, "{'records':[{'type':'%s','id':'t1','deleted':false,'w':W(1,1),"
                                "'fields':{'text':{'v':'p','w':W(1,1)}}}]}", type);
    fixture f;
    fixture_init(&f);
    f.skew_us[PHONE] = phone_skew_us;
    f.clocks_none = clocks_none;
    write_id a1 = create(&f, LAPTOP, 1, key, "text=a");
    receive(&f, a1);
    observe(&f, PHONE, key, a1);
    observe(&f, TABLET, key, a1);
    write_id p1 = update(&f, PHONE, 1, key, "text=p");
    if (causal)
        observe(&f, TABLET, key, p1);
    f.now_us += gap_us - 60 * INT64_C(1000000);
    write_id t1 = update(&f, TABLET, 1, key, "text=t");
    receive(&f, t1);
    receive(&f, p1);
    snap_all(&f, snap);
    const check_result *r = run(&f, true, NULL);
    if (causal) {
        EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_LOST_UPDATE, 1);
    } else if (want_inversion) {
        EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_SILENT_OVERWRITE, 1, VC_SKEW_INVERSION, 1);
        const finding *x = only(r, VC_SKEW_INVERSION);
        EXPECT_U64(x->w, t1);
        EXPECT_U64(x->competitor, p1);
        EXPECT_CONTAINS(x->summary, key);
        EXPECT_CONTAINS(x->summary, ": write tablet:1 lost to the concurrent write phone:1, made 1m earlier in "
                                    "true time but stamped 9m later by its device's clock");
    } else {
        EXPECT_COUNTS(r, VC_SUPERSEDED, 1, VC_SILENT_OVERWRITE, 1);
    }
    fixture_free(&f);
}

static void skew_case(int64_t phone_skew_us, int64_t gap_us, bool causal, bool clocks_none, bool want_inversion)
{
    skew_case_of("task", phone_skew_us, gap_us, causal, clocks_none, want_inversion);
}

static void test_skew_inversion(void)
{
    const int64_t minute_us = 60 * INT64_C(1000000);
    skew_case(10 * minute_us, minute_us, false, false, true);
    skew_case(0, minute_us, false, false, false);                  /* clocks agree: not the clocks' doing */
    skew_case(minute_us - 500, minute_us, false, false, false);    /* stamped later by less than the precision */
    skew_case(10 * minute_us, minute_us, true, false, false);      /* the winner precedes it: a lost update */
    /* A design that orders by something else (client ids, server arrival) loses the same write to
     * the same winner, but not because of the clocks. */
    skew_case(10 * minute_us, minute_us, false, true, false);
    /* Nor does a design whose rules let no device clock decide: server-wins keeps what arrived first,
     * lww-server-clock what arrived last. Stamps that disagree with true time are a coincidence. */
    skew_case_of("ticket", 10 * minute_us, minute_us, false, false, false);
    skew_case_of("memo", 10 * minute_us, minute_us, false, false, false);
}

/* --- order-anomaly: projections ------------------------------------------------------------ */

/*
 * A log in causal order must show what the reducer computes from it: start, then pause a minute later,
 * is paused, 60 s, 1 point. Stale projections are an order-anomaly of the replica that shows them;
 * a log out of causal order is left to the session checks (it is theirs already), whatever it shows.
 */
static void test_projections(void)
{
    static const char *const cases[] = {
        /* right: nothing */
        "'events':[{'w':W(1,2)},{'w':W(1,3)}],'fields':{'status':{'v':'paused','w':0},"
        "'duration_s':{'v':60,'w':0},'points':{'v':1,'w':0}}",
        /* stale: the pause never folded in */
        "'events':[{'w':W(1,2)},{'w':W(1,3)}],'fields':{'status':{'v':'active','w':0},"
        "'duration_s':{'v':0,'w':0},'points':{'v':0,'w':0}}",
        /* out of causal order: not this check's finding */
        "'events':[{'w':W(1,3)},{'w':W(1,2)}],'fields':{'status':{'v':'active','w':0},"
        "'duration_s':{'v':0,'w':0},'points':{'v':0,'w':0}}",
    };
    for (int k = 0; k < 3; k++) {
        fixture f;
        fixture_init(&f);
        write_id c1 = create(&f, PHONE, 1, "lap/l1", "lane=3");
        write_id e1 = append(&f, PHONE, 2, "lap/l1", "kind=start");
        write_id e2 = append(&f, PHONE, 3, "lap/l1", "kind=pause");   /* each write a minute after the last */
        receive(&f, c1);
        receive(&f, e1);
        receive(&f, e2);
        char right[512], text[512];
        snprintf(right, sizeof right, "{'records':[{'type':'lap','id':'l1','deleted':false,'w':W(1,3),%s}]}", cases[0]);
        snprintf(text, sizeof text, "{'records':[{'type':'lap','id':'l1','deleted':false,'w':W(1,3),%s}]}", cases[k]);
        snap_all(&f, right);
        snap(&f, TABLET, text);
        const check_result *r = run(&f, true, NULL);
        EXPECT_U64(r->counts[VC_ORDER_ANOMALY], k == 1 ? 1 : 0);
        if (k == 1) {
            const finding *x = only(r, VC_ORDER_ANOMALY);
            EXPECT_INT(x->node, TABLET);
            EXPECT_U64(x->w, e2);
            EXPECT_STR(x->summary, "lap/l1: tablet shows duration_s 0, points 0, status \"active\", but its log in "
                                   "causal order gives duration_s 60, points 1, status \"paused\"");
            EXPECT_CONTAINS(x->witness, "reducer     activity over 2 events");
        }
        fixture_free(&f);
    }
}

/*
 * An append its own device covered before a sync by deleting the record and creating it again: the
 * delete never shows on the server (the re-create came first), but the old incarnation, with the
 * event, is gone by the user's own hand: superseded, not undelivered. (Yjs: seeds 483, 520, 559.)
 */
static void test_append_covered_by_own_recreate(void)
{
    fixture f;
    fixture_init(&f);
    write_id a1 = create(&f, PHONE, 1, "note/n1", "text=a");
    receive(&f, a1);
    write_id a2 = append(&f, PHONE, 2, "note/n1", "kind=start");
    write_id a3 = delete(&f, PHONE, 3, "note/n1");
    write_id a4 = create(&f, PHONE, 4, "note/n1", "text=b");
    receive(&f, a4);
    (void)a2;
    (void)a3;
    snap_all(&f, "{'records':[{'type':'note','id':'n1','deleted':false,'w':W(1,4),"
                 "'fields':{'text':{'v':'b','w':W(1,4)}}}]}");
    const check_result *r = run(&f, true, NULL);
    EXPECT_INT(stored(r, VC_UNDELIVERED), 0);
    EXPECT_U64(r->counts[VC_SUPERSEDED], 3);
    fixture_free(&f);
}

int main(void)
{
    xalloc_install_cjson();
    test_kept();
    test_kept_without_receipt();
    test_refused_not_checked();
    test_superseded();
    test_overwritten_concurrent();
    test_silent_overwrite_field();
    test_silent_overwrite_whole_record();
    test_field_grain_older_value_is_lost_update();
    test_tombstones_do_not_diverge();
    test_recreate_brings_back_deleted_field();
    test_worst_field_decides();
    test_lost_update_skew();
    test_lost_update_all_contributors_older();
    test_lost_update_vanished_record();
    test_lost_update_vanished_field();
    test_undelivered();
    test_lost_conflict_before_sent();
    test_append_covered_by_own_recreate();
    test_replaced_before_sent();
    test_rejected();
    test_dropped_is_undelivered();
    test_power_loss_withdrawn_or_lost();
    test_power_lost_is_undelivered();
    test_superseded_before_lost();
    test_superseded_before_lost_to_delete();
    test_identical_value_is_kept();
    test_delete_before_recreate_is_superseded();
    test_unsent_but_not_undelivered();
    test_delete_superseded_by_own_recreate();
    test_delete_replaced_by_own_delete();
    test_append_lost_to_concurrent_recreate();
    test_skew_inversion();
    test_projections();
    test_undelivered_next_to_a_delivered_write();
    test_delete_kept();
    test_resurrection_without_later_edit();
    test_no_resurrection_after_later_edit();
    test_resurrection_concurrent_edit();
    test_concurrent_deletes_then_recreate();
    test_rejected_delete_is_no_resurrection();
    test_no_resurrection_for_undelivered_delete();
    test_edit_lost_to_concurrent_delete();
    test_edit_lost_to_older_delete();
    test_duplicate();
    test_duplicate_delete();
    test_no_duplicate_within_a_record();
    test_divergence();
    test_divergence_extra_records();
    test_no_divergence_when_identical();
    test_no_divergence_without_quiescence();
    test_no_quiescence();
    test_findings_cap();
    test_counter_drift();
    test_event_duplicate_and_vanished();
    test_order_divergence();
    test_tenants();
    test_switched_tenants();
    test_tenants_with_unowned_records();
    test_dangling_refs();
    test_write_name();
    return test_exit("test-check");
}
