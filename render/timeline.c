/*
 * timeline: see timeline.h. The C side only serializes the view; the
 * drawing is the script's. The data goes in compact rows (arrays, not
 * objects: a page of thousands of messages is mostly data) whose columns
 * timeline.js names in one place, DATA_COLUMNS.
 */
#include "render/timeline.h"
#include "base/buf.h"
#include "base/json.h"

#include <string.h>

/* render/timeline_assets.c, generated at build time from timeline.js and timeline.css. */
extern const char TIMELINE_JS[];
extern const char TIMELINE_CSS[];

static cJSON *string_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *row(int n, cJSON *const *cells)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cells[i]);
    return a;
}

static cJSON *page_data(const run_view *v, const cJSON *result)
{
    cJSON *d = cJSON_CreateObject();
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)v->seed);
    cJSON_AddItemToObject(d, "scenario", string_or_null(v->scenario));
    cJSON_AddItemToObject(d, "profile", string_or_null(v->profile));
    cJSON_AddStringToObject(d, "seed", seed);
    cJSON_AddNumberToObject(d, "end_us", (double)v->end_us);
    cJSON_AddNumberToObject(d, "events", (double)v->events);
    cJSON_AddBoolToObject(d, "truncated", v->truncated);
    cJSON_AddNumberToObject(d, "events_max", RUN_VIEW_EVENTS_MAX);
    cJSON_AddBoolToObject(d, "bodies_dropped", v->bodies_dropped);
    cJSON *lanes = cJSON_AddArrayToObject(d, "lanes");
    for (int i = 0; i < v->n_lanes; i++)
        cJSON_AddItemToArray(lanes, cJSON_CreateString(v->lanes[i]));

    cJSON *spans = cJSON_AddArrayToObject(d, "spans");
    for (size_t i = 0; i < v->n_spans; i++) {
        const view_span *s = &v->spans[i];
        cJSON *cells[] = { cJSON_CreateNumber(s->lane), cJSON_CreateString(view_span_kind_name(s->kind)),
                                 cJSON_CreateNumber((double)s->start_us), cJSON_CreateNumber((double)s->end_us),
                                 string_or_null(s->detail) };
        cJSON_AddItemToArray(spans, row(5, cells));
    }
    cJSON *messages = cJSON_AddArrayToObject(d, "messages");
    for (size_t i = 0; i < v->n_messages; i++) {
        const view_message *m = &v->messages[i];
        cJSON *cells[] = { cJSON_CreateNumber(m->from), cJSON_CreateNumber(m->to),
                                 cJSON_CreateNumber((double)m->sent_us), cJSON_CreateNumber((double)m->arrived_us),
                                 string_or_null(m->drop), cJSON_CreateBool(m->duplicate),
                                 cJSON_CreateNumber((double)m->bytes), string_or_null(m->body) };
        cJSON_AddItemToArray(messages, row(8, cells));
    }
    cJSON *marks = cJSON_AddArrayToObject(d, "marks");
    for (size_t i = 0; i < v->n_marks; i++) {
        const view_mark *m = &v->marks[i];
        cJSON *cells[] = { cJSON_CreateNumber(m->lane), cJSON_CreateNumber((double)m->t_us),
                                 cJSON_CreateString(m->kind), string_or_null(m->label), string_or_null(m->w),
                                 string_or_null(m->w2) };
        cJSON_AddItemToArray(marks, row(6, cells));
    }

    /* The result as the run's --json has it: what the page's header and findings list say. */
    static const char *const RESULT_KEYS[] = { "outcome", "exit_code", "trace_hash", "failing", "tolerated",
                                               "findings", "unmet" };
    for (size_t i = 0; result && i < sizeof RESULT_KEYS / sizeof *RESULT_KEYS; i++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(result, RESULT_KEYS[i]);
        if (j)
            cJSON_AddItemToObject(d, RESULT_KEYS[i], cJSON_Duplicate(j, true));
    }
    return d;
}

/*
 * The data sits inside <script>, where only "</script" (any case) could end
 * it early. In JSON text '<' occurs only inside strings, where \u003c means
 * the same character: writing every '<' so keeps the element closed whatever
 * a message body holds.
 */
static void put_script_safe(buf *out, const char *json, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (json[i] == '<')
            buf_puts(out, "\\u003c");
        else
            buf_putc(out, json[i]);
    }
}

static void put_html_text(buf *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': buf_puts(out, "&lt;"); break;
        case '>': buf_puts(out, "&gt;"); break;
        case '&': buf_puts(out, "&amp;"); break;
        case '"': buf_puts(out, "&quot;"); break;
        default: buf_putc(out, *s);
        }
    }
}

bool timeline_write(FILE *out, const run_view *v, const cJSON *result)
{
    cJSON *data = page_data(v, result);
    buf json, page;
    buf_init(&json);
    buf_init(&page);
    json_write(&json, data);
    cJSON_Delete(data);

    buf_puts(&page, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>syncsim timeline: ");
    put_html_text(&page, v->scenario ? v->scenario : "run");
    buf_printf(&page, ", seed %llu</title>\n<style>\n", (unsigned long long)v->seed);
    buf_puts(&page, TIMELINE_CSS);
    buf_puts(&page, "</style>\n</head>\n<body data-timeline-state=\"loading\">\n"
                    "<noscript>This page draws the run with JavaScript.</noscript>\n"
                    "<script type=\"application/json\" id=\"run-data\">");
    put_script_safe(&page, json.data, json.len);
    buf_puts(&page, "</script>\n<script>\n");
    buf_puts(&page, TIMELINE_JS);
    buf_puts(&page, "</script>\n</body>\n</html>\n");

    bool ok = fwrite(page.data, 1, page.len, out) == page.len;
    buf_free(&json);
    buf_free(&page);
    return ok;
}
