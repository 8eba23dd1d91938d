/*
 * test-run-view: a trace read back for the pictures (render/run_view.h).
 * Messages meet their arrivals (duplicates, losses at send and at delivery,
 * copies still in flight, two sends alike in all but their delay), spans
 * open and close with the steps and the final heal, and a malformed trace
 * is refused with the line that is wrong.
 */
#include "base/xalloc.h"
#include "render/run_view.h"
#include "tests/testlib.h"

#include <string.h>

static const char *const LANES[] = { "server", "phone", "tablet" };

static bool read_text(run_view *v, const char *text, const bool *starts_offline, char **error)
{
    FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
    bool ok = run_view_read(v, f, LANES, starts_offline, 3, error);
    fclose(f);
    return ok;
}

static void messages_meet_arrivals(void)
{
    static const char TRACE[] =
        "{\"t\":0,\"ev\":\"start\",\"scenario\":\"s\",\"profile\":\"p\",\"seed\":7}\n"
        /* 0, 1: delivered twice (the network's duplicate arrives first) */
        "{\"t\":10,\"ev\":\"send\",\"from\":\"phone\",\"to\":\"server\",\"msg_hash\":\"aa\",\"bytes\":5,"
        "\"delay_us\":100,\"duplicate_delay_us\":50,\"msg\":{\"type\":\"push\",\"w\":4294967297}}\n"
        /* 2: lost at send */
        "{\"t\":20,\"ev\":\"send\",\"from\":\"tablet\",\"to\":\"server\",\"msg_hash\":\"bb\",\"bytes\":5,"
        "\"drop\":\"loss\",\"msg\":{}}\n"
        /* 3, 4: the same message twice at one instant with different delays */
        "{\"t\":30,\"ev\":\"send\",\"from\":\"server\",\"to\":\"tablet\",\"msg_hash\":\"cc\",\"bytes\":5,"
        "\"delay_us\":300,\"msg\":{}}\n"
        "{\"t\":30,\"ev\":\"send\",\"from\":\"server\",\"to\":\"tablet\",\"msg_hash\":\"cc\",\"bytes\":5,"
        "\"delay_us\":200,\"msg\":{}}\n"
        /* 5: still in flight when the run ends */
        "{\"t\":40,\"ev\":\"send\",\"from\":\"server\",\"to\":\"phone\",\"msg_hash\":\"dd\",\"bytes\":5,"
        "\"delay_us\":10000,\"msg\":{}}\n"
        "{\"t\":60,\"ev\":\"deliver\",\"from\":\"phone\",\"to\":\"server\",\"msg_hash\":\"aa\"}\n"
        "{\"t\":110,\"ev\":\"deliver\",\"from\":\"phone\",\"to\":\"server\",\"msg_hash\":\"aa\"}\n"
        "{\"t\":230,\"ev\":\"deliver\",\"from\":\"server\",\"to\":\"tablet\",\"msg_hash\":\"cc\",\"drop\":\"partition\"}\n"
        "{\"t\":330,\"ev\":\"deliver\",\"from\":\"server\",\"to\":\"tablet\",\"msg_hash\":\"cc\"}\n"
        "{\"t\":400,\"ev\":\"quiesced\"}\n";
    run_view v;
    char *error = NULL;
    if (!read_text(&v, TRACE, NULL, &error)) {
        fprintf(stderr, "unexpected error: %s\n", error);
        test_failures++;
        xfree(error);
        return;
    }
    EXPECT_STR(v.scenario, "s");
    EXPECT_U64(v.seed, 7);
    EXPECT_INT(v.end_us, 400);
    EXPECT_INT(v.n_messages, 6);
    const view_message *m = v.messages;
    EXPECT_INT(m[0].arrived_us, 110);
    EXPECT(!m[0].duplicate && !m[0].drop);
    EXPECT_INT(m[1].arrived_us, 60);
    EXPECT(m[1].duplicate && !m[1].drop);
    EXPECT_STR(m[0].body, "{\"type\":\"push\",\"w\":4294967297}");
    EXPECT_INT(m[2].arrived_us, -1);
    EXPECT_STR(m[2].drop, "loss");
    EXPECT_INT(m[3].arrived_us, 330);
    EXPECT(!m[3].drop);
    EXPECT_INT(m[4].arrived_us, 230);
    EXPECT_STR(m[4].drop, "partition");
    EXPECT_INT(m[5].arrived_us, -1);
    EXPECT_STR(m[5].drop, "in flight");
    run_view_free(&v);
}

static const view_span *find_span(const run_view *v, int lane, view_span_kind kind, int nth)
{
    for (size_t i = 0; i < v->n_spans; i++)
        if (v->spans[i].lane == lane && v->spans[i].kind == kind && nth-- == 0)
            return &v->spans[i];
    return NULL;
}

static void spans_follow_steps(void)
{
    static const char TRACE[] =
        "{\"t\":0,\"ev\":\"start\",\"scenario\":\"s\",\"profile\":\"p\",\"seed\":1}\n"
        "{\"t\":100,\"ev\":\"step\",\"kind\":\"partition\",\"nodes\":[\"phone\"],\"direction\":\"up\"}\n"
        "{\"t\":200,\"ev\":\"step\",\"kind\":\"partition\",\"nodes\":[\"phone\"],\"direction\":\"down\"}\n"
        "{\"t\":300,\"ev\":\"step\",\"kind\":\"heal\",\"nodes\":[\"phone\"],\"direction\":\"up\"}\n"
        "{\"t\":400,\"ev\":\"step\",\"kind\":\"crash\",\"nodes\":[\"phone\",\"tablet\"]}\n"
        "{\"t\":450,\"ev\":\"step\",\"kind\":\"restart\",\"nodes\":[\"tablet\"]}\n"
        "{\"t\":460,\"ev\":\"obs\",\"node\":\"tablet\",\"kind\":\"sync-begin\",\"queue\":2}\n"
        "{\"t\":470,\"ev\":\"obs\",\"node\":\"tablet\",\"kind\":\"sync-end\",\"pulled\":1}\n"
        "{\"t\":475,\"ev\":\"step\",\"kind\":\"clock_step\",\"nodes\":[\"server\"],\"by_us\":-900000000}\n"
        "{\"t\":480,\"ev\":\"op\",\"node\":\"tablet\",\"w\":\"tablet:1\",\"op\":\"update\",\"type\":\"note\","
        "\"id\":\"n1\",\"local_us\":5}\n"
        "{\"t\":500,\"ev\":\"heal\"}\n"
        "{\"t\":600,\"ev\":\"quiesced\"}\n";
    static const bool STARTS_OFFLINE[] = { false, false, true };
    run_view v;
    char *error = NULL;
    if (!read_text(&v, TRACE, STARTS_OFFLINE, &error)) {
        fprintf(stderr, "unexpected error: %s\n", error);
        test_failures++;
        xfree(error);
        return;
    }
    const view_span *s;
    /* The cut grows from up to both, then shrinks to down: three spans, each named for its cut. */
    EXPECT((s = find_span(&v, 1, SPAN_PARTITION, 0)) && s->start_us == 100 && s->end_us == 200);
    EXPECT(s && s->detail && strcmp(s->detail, "up") == 0);
    EXPECT((s = find_span(&v, 1, SPAN_PARTITION, 1)) && s->start_us == 200 && s->end_us == 300);
    EXPECT(s && s->detail && strcmp(s->detail, "both") == 0);
    EXPECT((s = find_span(&v, 1, SPAN_PARTITION, 2)) && s->start_us == 300 && s->end_us == 500);
    EXPECT(s && s->detail && strcmp(s->detail, "down") == 0);
    EXPECT(!find_span(&v, 1, SPAN_PARTITION, 3));
    /* A crash of two devices; one restarts, the final heal restarts the other. */
    EXPECT((s = find_span(&v, 2, SPAN_DOWN, 0)) && s->start_us == 400 && s->end_us == 450);
    EXPECT((s = find_span(&v, 1, SPAN_DOWN, 0)) && s->start_us == 400 && s->end_us == 500);
    /* tablet began offline (the trace does not say so; the scenario does) until the heal. */
    EXPECT((s = find_span(&v, 2, SPAN_OFFLINE, 0)) && s->start_us == 0 && s->end_us == 500);
    EXPECT((s = find_span(&v, 2, SPAN_SYNC, 0)) && s->start_us == 460 && s->end_us == 470);
    EXPECT(s && s->detail && strcmp(s->detail, "queue 2, pulled 1") == 0);
    bool write_marked = false, clock_marked = false;
    for (size_t i = 0; i < v.n_marks; i++) {
        if (strcmp(v.marks[i].kind, "clock") == 0 && v.marks[i].lane == 0 && v.marks[i].t_us == 475 &&
            strcmp(v.marks[i].label, "clock steps back 15m") == 0)
            clock_marked = true;
        if (strcmp(v.marks[i].kind, "write") == 0 && v.marks[i].lane == 2 && v.marks[i].w &&
            strcmp(v.marks[i].w, "tablet:1") == 0 && v.marks[i].t_us == 480)
            write_marked = true;
    }
    EXPECT(write_marked);
    EXPECT(clock_marked);
    run_view_free(&v);
}

static void refuses_malformed(void)
{
    static const struct {
        const char *trace;
        const char *error;
    } BAD[] = {
        { "{\"t\":0,\"ev\":\"start\"}\nnot json\n", "trace line 2: not JSON" },
        { "{\"t\":5,\"ev\":\"heal\"}\n{\"t\":4,\"ev\":\"heal\"}\n", "trace line 2: time goes backwards" },
        { "{\"t\":5,\"ev\":\"deliver\",\"from\":\"phone\",\"to\":\"server\",\"msg_hash\":\"aa\"}\n",
          "matches no message sent" },
        { "{\"t\":5,\"ev\":\"op\",\"node\":\"laptop\",\"w\":\"laptop:1\"}\n", "trace line 1: the op event names no replica of the scenario" },
        { "{\"t\":5,\"ev\":\"step\",\"kind\":\"crash\",\"node\":\"phone\"}\n", "without kind and nodes" },
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        run_view v;
        char *error = NULL;
        EXPECT(!read_text(&v, BAD[i].trace, NULL, &error));
        EXPECT_CONTAINS(error, BAD[i].error);
        xfree(error);
    }
}

int main(void)
{
    messages_meet_arrivals();
    spans_follow_steps();
    refuses_malformed();
    return test_exit("run-view");
}
