/*
 * output: see output.h.
 */
#include "cli/output.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/xalloc.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool output_close(FILE *f, const char *path)
{
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno ? errno : EIO));
    return ok;
}

bool output_write_json(const char *path, const cJSON *json)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    /* Our writer, not cJSON_Print: cJSON rounds integers beyond 15 digits. */
    buf text;
    buf_init(&text);
    json_write_pretty(&text, json, 0);
    buf_putc(&text, '\n');
    fwrite(text.data, 1, text.len, f);
    buf_free(&text);
    return output_close(f, path);
}

void output_xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc(' ', f);   /* XML 1.0 forbids most control characters */
            else
                fputc(*s, f);
        }
    }
}

bool output_writable(const char *path)
{
    struct stat st;
    const char *why = NULL;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            why = "it is a directory";
        else if (access(path, W_OK) != 0)
            why = strerror(errno);
    } else if (errno != ENOENT) {
        why = strerror(errno);
    } else {
        /* A new file: its directory must exist and take new names. */
        const char *slash = strrchr(path, '/');
        char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
        if (stat(dir, &st) != 0)
            why = errno == ENOENT ? "its directory does not exist" : strerror(errno);
        else if (!S_ISDIR(st.st_mode))
            why = "its directory is not a directory";
        else if (access(dir, W_OK | X_OK) != 0)
            why = strerror(errno);
        xfree(dir);
    }
    if (why)
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, why);
    return why == NULL;
}
