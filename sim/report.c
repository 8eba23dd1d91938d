/*
 * report: a run's result for people (text on stdout) and for machines
 * (JSON). The text ends with the trace hash, always the last line.
 */
#include "sim/report.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "sim/duration.h"
#include "sim/trace.h"

#include <string.h>

static void human_bytes(uint64_t bytes, char *out, size_t cap)
{
    if (bytes < 1024)
        snprintf(out, cap, "%llu B", (unsigned long long)bytes);
    else if (bytes < 1024 * 1024)
        snprintf(out, cap, "%.1f KiB", (double)bytes / 1024.0);
    else
        snprintf(out, cap, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
}

static uint64_t dropped_total(const run_metrics *m)
{
    uint64_t n = 0;
    for (int i = 0; i < DROP_REASON_COUNT; i++)
        n += m->messages_dropped[i];
    return n;
}

static void print_findings(FILE *out, const scenario *sc, const run_result *r, const verdict *v, bool strict)
{
    bool any = false;
    for (int c = 0; c < VC_COUNT; c++) {
        if (vclass_benign((vclass)c) || r->check.counts[c] == 0)
            continue;
        any = true;
        bool fails = verdict_class_fails(sc, strict, (vclass)c);
        const char *why = "";
        if (!fails)
            why = (sc->expect.violations & VCLASS_BIT(c)) ? "  (expected by the scenario)"
                                                           : "  (accepted by the profile's design)";
        fprintf(out, "  %s: %llu", vclass_name((vclass)c), (unsigned long long)r->check.counts[c]);
        if (vclass_session((vclass)c)) {
            /* How long devices showed these anomalies, summed over episodes (an open one to the run's end). */
            char visible[DURATION_TEXT_MAX];
            fprintf(out, ", visible %s in all", duration_human(r->check.visible_us[c], visible, sizeof visible));
        }
        fprintf(out, "%s\n", why);
        int shown = 0;
        for (int i = 0; i < r->check.n_findings; i++) {
            const finding *f = &r->check.findings[i];
            if ((int)f->cls != c)
                continue;
            if (shown++ >= 3) {
                fprintf(out, "    ... %llu more (all in --json)\n",
                        (unsigned long long)r->check.counts[c] - 3);
                break;
            }
            fprintf(out, "    %s\n%s", f->summary, f->witness);
        }
    }
    if (!any)
        fprintf(out, "  none\n");
    (void)v;
}

void report_text(FILE *out, const scenario *sc, const run_result *r, const verdict *v, bool strict)
{
    const run_metrics *m = &r->metrics;
    char a[DURATION_TEXT_MAX], b[DURATION_TEXT_MAX], bytes[32];
    fprintf(out, "scenario  %s (%s)\n", sc->name, sc->path);
    fprintf(out, "profile   %s, seed %llu%s\n", sc->profile.name, (unsigned long long)r->seed,
            strict ? ", strict" : "");
    if (sc->design)
        fprintf(out, "design    %s (drawn by vary:)\n", sc->design);
    fprintf(out, "writes    %llu by %d device%s", (unsigned long long)m->writes, m->devices_writing,
            m->devices_writing == 1 ? "" : "s");
    if (m->writes_refused)
        fprintf(out, ", %llu refused", (unsigned long long)m->writes_refused);
    fprintf(out, "; %llu conflict%s", (unsigned long long)m->conflicts, m->conflicts == 1 ? "" : "s");
    for (int i = 0; i < m->n_conflict_kinds; i++)
        fprintf(out, "%s%s %llu", i ? ", " : " (", m->conflict_kinds[i].kind,
                (unsigned long long)m->conflict_kinds[i].count);
    fprintf(out, "%s\n", m->n_conflict_kinds ? ")" : "");
    human_bytes(m->bytes, bytes, sizeof bytes);
    fprintf(out, "sync      %llu rounds, %llu messages (%s), %llu dropped, %llu retries\n",
            (unsigned long long)m->sync_rounds, (unsigned long long)m->messages, bytes,
            (unsigned long long)dropped_total(m), (unsigned long long)m->retries);
    if (r->node_failure || r->not_applicable) {
        /* The run ended unchecked: say why, and nothing about a final state there is none of. */
        if (r->node_failure)
            fprintf(out, "node-failed: %s", r->node_failure);
        else
            fprintf(out, "not applicable: %s\n", r->not_applicable);
    } else {
        if (r->quiesced)
            fprintf(out, "settled   %s after the final heal at t=%s\n",
                    duration_human(m->quiesced_us - m->heal_us, a, sizeof a),
                    duration_human(m->heal_us, b, sizeof b));
        else
            fprintf(out, "settled   no: still busy at t=%s\n", duration_human(m->end_us, a, sizeof a));
        fprintf(out, "outcomes  %llu kept, %llu superseded, %llu overwritten-concurrent (of %llu writes)\n",
                (unsigned long long)r->check.writes_kept, (unsigned long long)r->check.counts[VC_SUPERSEDED],
                (unsigned long long)r->check.counts[VC_OVERWRITTEN_CONCURRENT],
                (unsigned long long)r->check.writes_checked);
        fprintf(out, "findings\n");
        print_findings(out, sc, r, v, strict);
    }
    for (int i = 0; i < v->n_unmet; i++)
        fprintf(out, "unmet     %s\n", v->unmet[i]);
    const char *word = v->exit_code == 0                  ? "PASS"
                       : v->exit_code == EXIT_LIVENESS    ? "FAIL (liveness)"
                       : v->exit_code == EXIT_NODE_FAILED ? "FAIL (node)"
                       : v->exit_code == EXIT_BAD_INPUT   ? "NOT APPLICABLE"
                                                          : "FAIL";
    fprintf(out, "result    %s: %s (exit %d)", word, v->outcome, v->exit_code);
    /* A pass that refused writes tested less than it seems: say so where the verdict is read. */
    if (m->writes_refused)
        fprintf(out, ", %llu write%s refused (the first, %s)", (unsigned long long)m->writes_refused,
                m->writes_refused == 1 ? "" : "s", m->first_refusal ? m->first_refusal : "?");
    fputc('\n', out);
    char hex[17];
    trace_hash_hex(r->trace_hash, hex);
    fprintf(out, "trace-hash: %s\n", hex);
}

static cJSON *class_list(vclass_set set)
{
    cJSON *arr = cJSON_CreateArray();
    for (int c = 0; c < VC_COUNT; c++)
        if (set & VCLASS_BIT(c))
            cJSON_AddItemToArray(arr, cJSON_CreateString(vclass_name((vclass)c)));
    return arr;
}

cJSON *report_metrics_json(const run_result *r)
{
    const run_metrics *m = &r->metrics;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "writes", (double)m->writes);
    cJSON_AddNumberToObject(o, "devices_writing", m->devices_writing);
    cJSON_AddNumberToObject(o, "writes_refused", (double)m->writes_refused);
    if (m->first_refusal)
        cJSON_AddStringToObject(o, "first_refusal", m->first_refusal);
    else
        cJSON_AddNullToObject(o, "first_refusal");
    cJSON_AddNumberToObject(o, "writes_rejected", (double)m->writes_rejected);
    cJSON_AddNumberToObject(o, "writes_dropped", (double)m->writes_dropped);
    cJSON_AddNumberToObject(o, "conflicts", (double)m->conflicts);
    cJSON_AddNumberToObject(o, "conflicts_true", (double)m->conflicts_true);
    cJSON_AddNumberToObject(o, "conflicts_false", (double)m->conflicts_false);
    cJSON *kinds = cJSON_AddObjectToObject(o, "conflicts_by_kind");
    for (int i = 0; i < m->n_conflict_kinds; i++)
        cJSON_AddNumberToObject(kinds, m->conflict_kinds[i].kind, (double)m->conflict_kinds[i].count);
    cJSON *classes = cJSON_AddObjectToObject(o, "classes");
    for (int c = 0; c < VC_COUNT; c++)
        cJSON_AddNumberToObject(classes, vclass_name((vclass)c), (double)r->check.counts[c]);
    /* Session classes: true time their anomalies were shown, summed over episodes, in exact microseconds
     * (an episode still shown at the end counts to the run's end). Divide by classes[...] for a mean. */
    cJSON *visible = cJSON_AddObjectToObject(o, "session_visible_us");
    for (int c = 0; c < VC_COUNT; c++)
        if (vclass_session((vclass)c))
            cJSON_AddNumberToObject(visible, vclass_name((vclass)c), (double)r->check.visible_us[c]);
    cJSON_AddNumberToObject(o, "writes_kept", (double)r->check.writes_kept);
    cJSON_AddNumberToObject(o, "sync_rounds", (double)m->sync_rounds);
    cJSON_AddNumberToObject(o, "sync_rounds_started", (double)m->sync_rounds_started);
    cJSON_AddNumberToObject(o, "queue_depth_max", (double)m->queue_depth_max);
    cJSON_AddNumberToObject(o, "queue_depth_mean",
                            m->sync_rounds_started ? (double)m->queue_depth_sum / (double)m->sync_rounds_started : 0.0);
    cJSON_AddNumberToObject(o, "messages", (double)m->messages);
    cJSON_AddNumberToObject(o, "messages_delivered", (double)m->messages_delivered);
    cJSON_AddNumberToObject(o, "messages_duplicated", (double)m->messages_duplicated);
    cJSON *dropped = cJSON_AddObjectToObject(o, "messages_dropped");
    for (int i = DROP_OFFLINE; i < DROP_REASON_COUNT; i++)
        cJSON_AddNumberToObject(dropped, drop_reason_name((drop_reason)i), (double)m->messages_dropped[i]);
    /* Answers the gateway gave in the server's place (docs/faults.md); all 0 unless a scenario asks for them. */
    cJSON *gateway = cJSON_AddObjectToObject(o, "gateway");
    cJSON_AddNumberToObject(gateway, "error", (double)m->server_answers[ANSWER_ERROR]);
    cJSON_AddNumberToObject(gateway, "timeout", (double)m->server_answers[ANSWER_TIMEOUT]);
    cJSON_AddNumberToObject(gateway, "unauthorized", (double)m->requests_unauthorized);
    cJSON_AddNumberToObject(gateway, "tokens_renewed", (double)m->tokens_renewed);
    cJSON_AddNumberToObject(o, "bytes", (double)m->bytes);
    cJSON_AddNumberToObject(o, "retries", (double)m->retries);
    cJSON_AddNumberToObject(o, "gave_up", (double)m->gave_up);
    cJSON_AddNumberToObject(o, "events", (double)m->events);
    cJSON_AddNumberToObject(o, "node_calls", (double)m->node_calls);
    cJSON_AddNumberToObject(o, "heal_us", (double)m->heal_us);
    if (r->quiesced) {
        cJSON_AddNumberToObject(o, "quiesced_us", (double)m->quiesced_us);
        cJSON_AddNumberToObject(o, "time_to_converge_us", (double)(m->quiesced_us - m->heal_us));
    } else {
        cJSON_AddNullToObject(o, "quiesced_us");
        cJSON_AddNullToObject(o, "time_to_converge_us");
    }
    cJSON_AddNumberToObject(o, "end_us", (double)m->end_us);
    return o;
}

cJSON *report_json(const scenario *sc, const run_result *r, const verdict *v, bool strict)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scenario", sc->name);
    cJSON_AddStringToObject(o, "file", sc->path);
    cJSON_AddStringToObject(o, "profile", sc->profile.name);
    if (sc->design)
        cJSON_AddStringToObject(o, "design", sc->design);
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    /* Seeds are 64-bit; JSON numbers are not, so the seed is a string too. */
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddBoolToObject(o, "strict", strict);
    cJSON_AddStringToObject(o, "outcome", v->outcome);
    cJSON_AddNumberToObject(o, "exit_code", v->exit_code);
    cJSON_AddItemToObject(o, "failing", class_list(v->failing));
    cJSON_AddItemToObject(o, "tolerated", class_list(v->tolerated));
    cJSON *findings = cJSON_AddArrayToObject(o, "findings");
    for (int i = 0; i < r->check.n_findings; i++) {
        const finding *f = &r->check.findings[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "class", vclass_name(f->cls));
        cJSON_AddBoolToObject(j, "fails", verdict_class_fails(sc, strict, f->cls));
        if (f->record)
            cJSON_AddStringToObject(j, "record", f->record);
        char name[96];
        if (f->w) {
            check_write_name(sc, f->w, name, sizeof name);
            cJSON_AddStringToObject(j, "write", name);
        }
        if (f->competitor) {
            check_write_name(sc, f->competitor, name, sizeof name);
            cJSON_AddStringToObject(j, "competitor", name);
        }
        if (f->node >= 0)
            cJSON_AddStringToObject(j, "replica", scenario_node_name(sc, f->node));
        cJSON_AddStringToObject(j, "summary", f->summary);
        cJSON_AddStringToObject(j, "witness", f->witness);
        cJSON_AddItemToArray(findings, j);
    }
    if (r->node_failure)
        cJSON_AddStringToObject(o, "node_failure", r->node_failure);
    if (r->not_applicable)
        cJSON_AddStringToObject(o, "not_applicable", r->not_applicable);
    cJSON *unmet = cJSON_AddArrayToObject(o, "unmet");
    for (int i = 0; i < v->n_unmet; i++)
        cJSON_AddItemToArray(unmet, cJSON_CreateString(v->unmet[i]));
    cJSON_AddItemToObject(o, "metrics", report_metrics_json(r));
    char hex[17];
    trace_hash_hex(r->trace_hash, hex);
    cJSON_AddStringToObject(o, "trace_hash", hex);
    return o;
}
