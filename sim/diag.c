/*
 * diag: error formatting and suggestions.
 */
#include "sim/diag.h"
#include "base/buf.h"
#include "base/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void diag_init(diag *d)
{
    d->message = NULL;
}

void diag_free(diag *d)
{
    xfree(d->message);
    d->message = NULL;
}

bool diag_failed(const diag *d)
{
    return d->message != NULL;
}

void diag_set_message(diag *d, const char *message)
{
    if (d->message)
        return;
    d->message = xstrdup(message);
}

/* Append the source line and a caret under the column, when the file can be read. */
static void add_excerpt(buf *b, src_pos pos)
{
    if (!pos.file || pos.line <= 0)
        return;
    FILE *f = fopen(pos.file, "r");
    if (!f)
        return;
    char line[512];
    int n = 0;
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        bool complete = len > 0 && line[len - 1] == '\n';
        if (++n == pos.line) {
            found = true;
            break;
        }
        /* Skip the rest of an over-long line so line numbers stay right. */
        while (!complete && fgets(line, sizeof line, f)) {
            len = strlen(line);
            complete = len > 0 && line[len - 1] == '\n';
        }
    }
    fclose(f);
    if (!found)
        return;
    size_t len = strcspn(line, "\r\n");
    /* Control characters would act on the user's terminal (a file may hold an escape
     * sequence: loading refuses it, and the error quotes its line): show them as '?'. */
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
            line[i] = '?';
    buf_printf(b, "\n  %.*s\n  ", (int)len, line);
    for (int i = 1; i < pos.column && (size_t)i <= len; i++)
        buf_putc(b, line[i - 1] == '\t' ? '\t' : ' ');
    buf_putc(b, '^');
}

void diag_error(diag *d, src_pos pos, const char *fmt, ...)
{
    if (d->message)
        return;
    buf b;
    buf_init(&b);
    if (pos.line > 0)
        buf_printf(&b, "%s:%d:%d: error: ", pos.file, pos.line, pos.column);
    else
        buf_printf(&b, "%s: error: ", pos.file ? pos.file : "syncsim");
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    add_excerpt(&b, pos);
    d->message = buf_take(&b);
}

void diag_append(diag *d, const char *fmt, ...)
{
    if (!d->message)
        return;
    buf b;
    buf_init(&b);
    buf_puts(&b, d->message);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    xfree(d->message);
    d->message = buf_take(&b);
}

/* Optimal string alignment distance: insertions, deletions, substitutions and
 * transpositions of neighbours each cost one ("medain" is one edit from "median"). */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    int d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *diag_suggest(const char *word, const char *const *candidates, int n)
{
    const char *best = NULL;
    int best_distance = 99;
    for (int i = 0; i < n; i++) {
        int dist = edit_distance(word, candidates[i]);
        if (dist < best_distance) {
            best_distance = dist;
            best = candidates[i];
        }
    }
    /* Close enough: a third of the word, at least one edit, at most three. */
    int limit = (int)strlen(word) / 3;
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    return best_distance <= limit ? best : NULL;
}
