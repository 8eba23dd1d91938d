/*
 * test-verdict: which findings fail a run, and with what exit code.
 *
 * With scenarios from tests/data/check/ (a profile that accepts
 * silent-overwrite, one that accepts nothing, and a scenario that expects
 * lost-update and three final states) and hand-filled run results (class
 * counts, the server's final snapshot, quiesced): a clean run passes;
 * benign classes never fail; silent-overwrite is tolerated only when the
 * profile accepts it; every other class fails; --strict fails every
 * non-benign class and ignores expect: entirely; an expected class is
 * tolerated when it occurs and an unmet expectation when it does not; state
 * expectations met and unmet, naming the file:line:column of the
 * expectation and what was found; no-quiescence exits 3 and takes
 * precedence over every other failure; expect: checks: changes none of it.
 */
#include "base/buf.h"
#include "base/xalloc.h"
#include "sim/verdict.h"
#include "tests/testlib.h"

#include <stdlib.h>
#include <string.h>

#define ACCEPTS "tests/data/check/verdict-accepts.yaml"
#define REJECTS "tests/data/check/verdict-rejects.yaml"
#define EXPECTS "tests/data/check/verdict-expects.yaml"
#define NODES 3

/* A state that meets every expectation of EXPECTS (n2 may hold more fields than expected). */
#define MET                                                                                      \
    "{'type':'workout','id':'w1','deleted':true,'w':5,'del_w':5,'fields':{}},"                   \
    "{'type':'note','id':'n2','deleted':false,'w':7,"                                            \
    "'fields':{'extra':{'v':true,'w':7},'sets':{'v':3,'w':7},'text':{'v':'a','w':7}}}"

static scenario *load(const char *path)
{
    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(path, &d);
    if (!sc) {
        fprintf(stderr, "%s: %s\n", path, d.message ? d.message : "cannot load");
        exit(1);
    }
    diag_free(&d);
    return sc;
}

static void set_snapshot(run_result *r, int node, const char *text)
{
    char json[4096];
    snprintf(json, sizeof json, "%s", text);
    for (char *p = json; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *j = cJSON_Parse(json);
    if (!j) {
        fprintf(stderr, "test-verdict: not JSON: %s\n", json);
        exit(1);
    }
    snapshot_free(&r->snaps[node]);
    const char *why = NULL;
    if (!snapshot_parse(j, &r->a, &r->snaps[node], &why)) {
        fprintf(stderr, "test-verdict: snapshot_parse: %s: %s\n", why, json);
        exit(1);
    }
    cJSON_Delete(j);
}

/* A quiesced run with no findings and nothing on any replica. */
static void result_init(run_result *r)
{
    memset(r, 0, sizeof *r);
    arena_init(&r->a, 8 * 1024);
    r->quiesced = true;
    r->n_nodes = NODES;
    r->snaps = xcalloc(NODES, sizeof *r->snaps);
    for (int n = 0; n < NODES; n++) {
        strmap_init(&r->snaps[n].index);
        set_snapshot(r, n, "{'records':[]}");
    }
}

static void result_free(run_result *r)
{
    for (int n = 0; n < r->n_nodes; n++)
        snapshot_free(&r->snaps[n]);
    xfree(r->snaps);
    arena_release(&r->a);
    memset(r, 0, sizeof *r);
}

static void set_server(run_result *r, const char *records)
{
    char text[4096];
    snprintf(text, sizeof text, "{'records':[%s]}", records);
    set_snapshot(r, NODE_SERVER, text);
}

static void expect_verdict(const verdict *v, int line, int exit_code, const char *outcome, vclass_set failing,
                           vclass_set tolerated, int n_unmet)
{
    int before = test_failures;
    EXPECT_INT(v->exit_code, exit_code);
    EXPECT_STR(v->outcome, outcome);
    EXPECT_U64(v->failing, failing);
    EXPECT_U64(v->tolerated, tolerated);
    EXPECT_INT(v->n_unmet, n_unmet);
    if (test_failures != before) {
        fprintf(stderr, "%s:%d: (from here)\n", __FILE__, line);
        for (int i = 0; i < v->n_unmet; i++)
            fprintf(stderr, "    unmet: %s\n", v->unmet[i]);
    }
}

#define EXPECT_VERDICT(v, code, outcome, failing, tolerated, n_unmet) \
    expect_verdict((v), __LINE__, (code), (outcome), (failing), (tolerated), (n_unmet))

#define BIT(c) VCLASS_BIT(c)

static void test_clean_run_passes(void)
{
    static const char *const paths[] = { ACCEPTS, REJECTS };
    for (int k = 0; k < 2; k++) {
        scenario *sc = load(paths[k]);
        run_result r;
        result_init(&r);
        verdict v;
        verdict_judge(sc, &r, false, &v);
        EXPECT_VERDICT(&v, EXIT_PASS, "pass", 0, 0, 0);
        EXPECT(v.unmet == NULL);
        verdict_free(&v);
        verdict_judge(sc, &r, true, &v);
        EXPECT_VERDICT(&v, EXIT_PASS, "pass", 0, 0, 0);
        verdict_free(&v);
        result_free(&r);
        scenario_free(sc);
    }
}

static void test_benign_never_fail(void)
{
    static const char *const paths[] = { ACCEPTS, REJECTS, EXPECTS };
    for (int k = 0; k < 3; k++) {
        scenario *sc = load(paths[k]);
        for (int strict = 0; strict < 2; strict++) {
            EXPECT(!verdict_class_fails(sc, strict, VC_SUPERSEDED));
            EXPECT(!verdict_class_fails(sc, strict, VC_OVERWRITTEN_CONCURRENT));
        }
        run_result r;
        result_init(&r);
        r.check.counts[VC_SUPERSEDED] = 7;
        r.check.counts[VC_OVERWRITTEN_CONCURRENT] = 4;
        verdict v;
        verdict_judge(sc, &r, true, &v);
        /* Neither failing nor "tolerated": they are not violations at all. */
        EXPECT_VERDICT(&v, EXIT_PASS, "pass", 0, 0, 0);
        verdict_free(&v);
        if (k < 2) {
            verdict_judge(sc, &r, false, &v);
            EXPECT_VERDICT(&v, EXIT_PASS, "pass", 0, 0, 0);
            verdict_free(&v);
        }
        result_free(&r);
        scenario_free(sc);
    }
}

static void test_silent_overwrite_and_the_profile(void)
{
    scenario *accepts = load(ACCEPTS);
    scenario *rejects = load(REJECTS);
    EXPECT(accepts->profile.accepts == BIT(VC_SILENT_OVERWRITE));
    EXPECT(rejects->profile.accepts == 0);
    EXPECT(!verdict_class_fails(accepts, false, VC_SILENT_OVERWRITE));
    EXPECT(verdict_class_fails(accepts, true, VC_SILENT_OVERWRITE));
    EXPECT(verdict_class_fails(rejects, false, VC_SILENT_OVERWRITE));

    run_result r;
    result_init(&r);
    r.check.counts[VC_SILENT_OVERWRITE] = 2;
    r.check.counts[VC_SUPERSEDED] = 1;
    verdict v;
    verdict_judge(accepts, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_PASS, "pass", 0, BIT(VC_SILENT_OVERWRITE), 0);
    verdict_free(&v);

    verdict_judge(rejects, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_VIOLATION, "violation", BIT(VC_SILENT_OVERWRITE), 0, 0);
    verdict_free(&v);

    /* --strict: what the design accepts fails too. */
    verdict_judge(accepts, &r, true, &v);
    EXPECT_VERDICT(&v, EXIT_VIOLATION, "violation", BIT(VC_SILENT_OVERWRITE), 0, 0);
    verdict_free(&v);
    result_free(&r);
    scenario_free(accepts);
    scenario_free(rejects);
}

/* Only silent-overwrite can be accepted by a design; every other class fails, and none is "tolerated". */
static void test_other_classes_fail(void)
{
    scenario *sc = load(ACCEPTS);
    for (int c = 0; c < VC_COUNT; c++) {
        if (vclass_benign((vclass)c) || c == VC_SILENT_OVERWRITE || c == VC_NO_QUIESCENCE)
            continue;
        EXPECT(verdict_class_fails(sc, false, (vclass)c));
        run_result r;
        result_init(&r);
        r.check.counts[c] = 1;
        r.check.counts[VC_SILENT_OVERWRITE] = 1;
        verdict v;
        verdict_judge(sc, &r, false, &v);
        if (v.failing != BIT(c))
            fprintf(stderr, "class %s:\n", vclass_name((vclass)c));
        EXPECT_VERDICT(&v, EXIT_VIOLATION, "violation", BIT(c), BIT(VC_SILENT_OVERWRITE), 0);
        verdict_free(&v);
        result_free(&r);
    }
    scenario_free(sc);
}

static void test_expected_violation(void)
{
    scenario *sc = load(EXPECTS);
    EXPECT(sc->expect.has_violations);
    EXPECT(sc->expect.violations == BIT(VC_LOST_UPDATE));
    EXPECT(!verdict_class_fails(sc, false, VC_LOST_UPDATE));
    EXPECT(verdict_class_fails(sc, true, VC_LOST_UPDATE));
    EXPECT(verdict_class_fails(sc, false, VC_RESURRECTION));

    run_result r;
    result_init(&r);
    set_server(&r, MET);
    verdict v;

    /* It occurs: tolerated. */
    r.check.counts[VC_LOST_UPDATE] = 3;
    verdict_judge(sc, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_PASS, "pass", 0, BIT(VC_LOST_UPDATE), 0);
    verdict_free(&v);

    /* Expecting one class does not excuse another. */
    r.check.counts[VC_SILENT_OVERWRITE] = 1;
    verdict_judge(sc, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_VIOLATION, "violation", BIT(VC_SILENT_OVERWRITE), BIT(VC_LOST_UPDATE), 0);
    verdict_free(&v);
    r.check.counts[VC_SILENT_OVERWRITE] = 0;

    /* --strict: the expected class fails like any other. */
    verdict_judge(sc, &r, true, &v);
    EXPECT_VERDICT(&v, EXIT_VIOLATION, "violation", BIT(VC_LOST_UPDATE), 0, 0);
    verdict_free(&v);

    /* It does not occur: unmet. */
    r.check.counts[VC_LOST_UPDATE] = 0;
    verdict_judge(sc, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_VIOLATION, "unmet", 0, 0, 1);
    if (v.n_unmet == 1)
        EXPECT_STR(v.unmet[0], "the scenario expects lost-update, but it did not occur");
    verdict_free(&v);

    /* --strict ignores expect: entirely. */
    verdict_judge(sc, &r, true, &v);
    EXPECT_VERDICT(&v, EXIT_PASS, "pass", 0, 0, 0);
    verdict_free(&v);

    /* A failing class outranks an unmet expectation in the outcome. */
    r.check.counts[VC_DUPLICATE] = 1;
    verdict_judge(sc, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_VIOLATION, "violation", BIT(VC_DUPLICATE), 0, 1);
    verdict_free(&v);
    result_free(&r);
    scenario_free(sc);
}

/* One state of the server against EXPECTS's three expectations (lost-update occurred). */
static void judge_state(const scenario *sc, const char *records, int line, const char *unmet0, const char *unmet1,
                        const char *unmet2)
{
    const char *want[3] = { unmet0, unmet1, unmet2 };
    int n_want = 0;
    for (int i = 0; i < 3; i++)
        n_want += want[i] != NULL;
    run_result r;
    result_init(&r);
    r.check.counts[VC_LOST_UPDATE] = 1;
    set_server(&r, records);
    verdict v;
    verdict_judge(sc, &r, false, &v);
    if (n_want)
        expect_verdict(&v, line, EXIT_VIOLATION, "unmet", 0, BIT(VC_LOST_UPDATE), n_want);
    else
        expect_verdict(&v, line, EXIT_PASS, "pass", 0, BIT(VC_LOST_UPDATE), 0);
    for (int i = 0, k = 0; i < 3 && k < v.n_unmet; i++) {
        if (!want[i])
            continue;
        int before = test_failures;
        EXPECT_STR(v.unmet[k], want[i]);
        if (test_failures != before)
            fprintf(stderr, "%s:%d: (from here)\n", __FILE__, line);
        k++;
    }
    /* Only the server's state counts, and --strict skips the check. */
    verdict_free(&v);
    verdict_judge(sc, &r, true, &v);
    expect_verdict(&v, line, EXIT_VIOLATION, "violation", BIT(VC_LOST_UPDATE), 0, 0);
    verdict_free(&v);
    result_free(&r);
}

#define JUDGE_STATE(sc, records, u0, u1, u2) judge_state((sc), (records), __LINE__, (u0), (u1), (u2))

#define AT_W1 EXPECTS ":10:5: expected workout/w1 to be deleted on the server, found "
#define AT_N1 EXPECTS ":11:5: expected note/n1 to be absent on the server, found "
#define AT_N2 EXPECTS ":12:5: expected note/n2 to be {sets: 3, text: \"a\"} on the server, found "

static void test_state_expectations(void)
{
    scenario *sc = load(EXPECTS);
    EXPECT_INT(sc->expect.n_state, 3);

    JUDGE_STATE(sc, MET, NULL, NULL, NULL);

    /* Deleted: a live record, or none at all, is not a tombstone. */
    JUDGE_STATE(sc,
                "{'type':'workout','id':'w1','deleted':false,'w':5,'fields':{'sets':{'v':4,'w':5}}},"
                "{'type':'note','id':'n2','deleted':false,'w':7,'fields':{'sets':{'v':3,'w':7},'text':{'v':'a','w':7}}}",
                AT_W1 "{sets: 4}", NULL, NULL);
    JUDGE_STATE(sc,
                "{'type':'note','id':'n2','deleted':false,'w':7,'fields':{'sets':{'v':3,'w':7},'text':{'v':'a','w':7}}}",
                AT_W1 "no such record", NULL, NULL);

    /* Absent: a live record or a tombstone is not absence. */
    JUDGE_STATE(sc, MET ",{'type':'note','id':'n1','deleted':false,'w':8,'fields':{'text':{'v':'z','w':8}}}", NULL,
                AT_N1 "{text: \"z\"}", NULL);
    JUDGE_STATE(sc, MET ",{'type':'note','id':'n1','deleted':true,'w':8,'del_w':8,'fields':{}}", NULL,
                AT_N1 "it deleted", NULL);

    /* Field values: a different value, a missing field, a different type, deleted, absent. */
    static const char *const n2_states[] = {
        "{'type':'note','id':'n2','deleted':false,'w':7,'fields':{'sets':{'v':3,'w':7},'text':{'v':'b','w':7}}}",
        "{'type':'note','id':'n2','deleted':false,'w':7,'fields':{'text':{'v':'a','w':7}}}",
        "{'type':'note','id':'n2','deleted':false,'w':7,'fields':{'sets':{'v':'3','w':7},'text':{'v':'a','w':7}}}",
        "{'type':'note','id':'n2','deleted':true,'w':7,'del_w':7,'fields':{'sets':{'v':3,'w':7},'text':{'v':'a','w':7}}}",
        NULL,
    };
    static const char *const n2_found[] = {
        AT_N2 "{sets: 3, text: \"b\"}", AT_N2 "{text: \"a\"}", AT_N2 "{sets: \"3\", text: \"a\"}", AT_N2 "it deleted",
        AT_N2 "no such record",
    };
    for (int i = 0; i < 5; i++) {
        char records[1024];
        snprintf(records, sizeof records, "{'type':'workout','id':'w1','deleted':true,'w':5,'del_w':5,'fields':{}}%s%s",
                 n2_states[i] ? "," : "", n2_states[i] ? n2_states[i] : "");
        judge_state(sc, records, __LINE__, NULL, NULL, n2_found[i]);
    }

    /* All three at once, in the order the scenario lists them. */
    JUDGE_STATE(sc,
                "{'type':'note','id':'n1','deleted':false,'w':8,'fields':{}},"
                "{'type':'workout','id':'w1','deleted':false,'w':5,'fields':{}}",
                AT_W1 "{}", AT_N1 "{}", AT_N2 "no such record");

    /* A device's state does not stand in for the server's. */
    run_result r;
    result_init(&r);
    r.check.counts[VC_LOST_UPDATE] = 1;
    set_snapshot(&r, 1, "{'records':[" MET "]}");
    verdict v;
    verdict_judge(sc, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_VIOLATION, "unmet", 0, BIT(VC_LOST_UPDATE), 2);
    verdict_free(&v);
    result_free(&r);
    scenario_free(sc);
}

static void test_no_quiescence(void)
{
    scenario *accepts = load(ACCEPTS);
    scenario *rejects = load(REJECTS);
    scenario *expects = load(EXPECTS);
    EXPECT(verdict_class_fails(accepts, false, VC_NO_QUIESCENCE));
    EXPECT(verdict_class_fails(expects, false, VC_NO_QUIESCENCE));

    run_result r;
    result_init(&r);
    r.quiesced = false;
    r.check.counts[VC_NO_QUIESCENCE] = 1;
    verdict v;
    verdict_judge(rejects, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_LIVENESS, "no-quiescence", BIT(VC_NO_QUIESCENCE), 0, 0);
    verdict_free(&v);
    verdict_judge(accepts, &r, true, &v);
    EXPECT_VERDICT(&v, EXIT_LIVENESS, "no-quiescence", BIT(VC_NO_QUIESCENCE), 0, 0);
    verdict_free(&v);

    /* It outranks safety violations... */
    r.check.counts[VC_LOST_UPDATE] = 2;
    r.check.counts[VC_SILENT_OVERWRITE] = 1;
    verdict_judge(rejects, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_LIVENESS, "no-quiescence",
                   BIT(VC_NO_QUIESCENCE) | BIT(VC_LOST_UPDATE) | BIT(VC_SILENT_OVERWRITE), 0, 0);
    verdict_free(&v);
    verdict_judge(accepts, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_LIVENESS, "no-quiescence", BIT(VC_NO_QUIESCENCE) | BIT(VC_LOST_UPDATE),
                   BIT(VC_SILENT_OVERWRITE), 0);
    verdict_free(&v);

    /* ... and unmet expectations; the final states are not judged without quiescence. */
    r.check.counts[VC_LOST_UPDATE] = 0;
    r.check.counts[VC_SILENT_OVERWRITE] = 0;
    verdict_judge(expects, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_LIVENESS, "no-quiescence", BIT(VC_NO_QUIESCENCE), 0, 1);
    if (v.n_unmet == 1)
        EXPECT_STR(v.unmet[0], "the scenario expects lost-update, but it did not occur");
    verdict_free(&v);
    r.check.counts[VC_LOST_UPDATE] = 1;
    verdict_judge(expects, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_LIVENESS, "no-quiescence", BIT(VC_NO_QUIESCENCE), BIT(VC_LOST_UPDATE), 0);
    verdict_free(&v);
    verdict_judge(expects, &r, true, &v);
    EXPECT_VERDICT(&v, EXIT_LIVENESS, "no-quiescence", BIT(VC_NO_QUIESCENCE) | BIT(VC_LOST_UPDATE), 0, 0);
    verdict_free(&v);

    /* Quiesced again, the same state expectations are judged. */
    r.quiesced = true;
    r.check.counts[VC_NO_QUIESCENCE] = 0;
    verdict_judge(expects, &r, false, &v);
    EXPECT_VERDICT(&v, EXIT_VIOLATION, "unmet", 0, BIT(VC_LOST_UPDATE), 2);
    verdict_free(&v);
    EXPECT(v.unmet == NULL && v.n_unmet == 0);

    result_free(&r);
    scenario_free(accepts);
    scenario_free(rejects);
    scenario_free(expects);
}

/*
 * expect: checks: is for conform: naming a class or state there must change
 * nothing in how run judges -- a checked class is not tolerated, an
 * unchecked state is still judged. Every class alone, with the expected
 * states met and unmet, normal and --strict: the verdict is the same with
 * checks: naming everything as with no checks: at all.
 */
static void test_checks_do_not_judge(void)
{
    static const char *const paths[] = { REJECTS, EXPECTS };
    vclass_set every = 0;
    for (int c = 0; c < VC_COUNT; c++)
        if (!vclass_benign((vclass)c))
            every |= BIT(c);
    for (int k = 0; k < 2; k++) {
        scenario *sc = load(paths[k]);
        EXPECT(!sc->expect.has_checks);
        for (int c = -1; c < VC_COUNT; c++) {
            for (int met = 0; met < 2; met++) {
                run_result r;
                result_init(&r);
                if (c >= 0)
                    r.check.counts[c] = 1;
                if (met)
                    set_server(&r, MET);
                for (int strict = 0; strict < 2; strict++) {
                    verdict plain, checked;
                    sc->expect.has_checks = false;
                    sc->expect.checks = 0;
                    sc->expect.checks_state = false;
                    verdict_judge(sc, &r, strict, &plain);
                    sc->expect.has_checks = true;
                    sc->expect.checks = every;
                    sc->expect.checks_state = sc->expect.n_state > 0;
                    verdict_judge(sc, &r, strict, &checked);
                    int before = test_failures;
                    EXPECT_INT(checked.exit_code, plain.exit_code);
                    EXPECT_STR(checked.outcome, plain.outcome);
                    EXPECT_U64(checked.failing, plain.failing);
                    EXPECT_U64(checked.tolerated, plain.tolerated);
                    EXPECT_INT(checked.n_unmet, plain.n_unmet);
                    if (test_failures != before)
                        fprintf(stderr, "  %s, class %s, state %s, strict %d\n", paths[k],
                                c >= 0 ? vclass_name((vclass)c) : "none", met ? "met" : "unmet", strict);
                    verdict_free(&plain);
                    verdict_free(&checked);
                }
                result_free(&r);
            }
        }
        scenario_free(sc);
    }
}

int main(void)
{
    xalloc_install_cjson();
    test_clean_run_passes();
    test_benign_never_fail();
    test_silent_overwrite_and_the_profile();
    test_other_classes_fail();
    test_expected_violation();
    test_state_expectations();
    test_no_quiescence();
    test_checks_do_not_judge();
    return test_exit("test-verdict");
}
