/*
 * yaml: libfyaml wrappers. libfyaml reports through a diag object; we
 * capture its output so syntax errors and node positions reach the user in
 * our own format.
 */
#include "sim/yaml.h"
#include "base/xalloc.h"
#include "sim/duration.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void capture_output(struct fy_diag *fd, void *user, const char *text, size_t len)
{
    (void)fd;
    yaml_doc *doc = user;
    xgrow(&doc->capture, &doc->capture_cap, doc->capture_len + len + 1, 1);
    memcpy(doc->capture + doc->capture_len, text, len);
    doc->capture_len += len;
    doc->capture[doc->capture_len] = '\0';
}

static void capture_clear(yaml_doc *doc)
{
    doc->capture_len = 0;
    if (doc->capture)
        doc->capture[0] = '\0';
}

/* True when the file has nothing but whitespace and comments. */
static bool file_is_blank(FILE *f)
{
    int c;
    bool in_comment = false;
    while ((c = fgetc(f)) != EOF) {
        if (in_comment) {
            if (c == '\n')
                in_comment = false;
        } else if (c == '#') {
            in_comment = true;
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            return false;
        }
    }
    return true;
}

/*
 * libfyaml's report of a syntax error, in our format: keep its
 * "file:line:col: error: message" and the excerpt, name it a YAML syntax
 * error, and drop libfyaml's internal "[ERR]: ..." lines.
 */
static void report_syntax_error(yaml_doc *doc, diag *d, src_pos whole)
{
    size_t plen = strlen(doc->path);
    buf b;
    buf_init(&b);
    const char *p = doc->capture ? doc->capture : "";
    bool have_error = false;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        bool internal = strncmp(p, "[ERR]", 5) == 0;
        if (!internal) {
            const char *err = !have_error && strncmp(p, doc->path, plen) == 0 ? strstr(p, ": error: ") : NULL;
            if (err && err < p + len) {
                buf_put(&b, p, (size_t)(err - p));
                buf_puts(&b, ": error: YAML syntax: ");
                const char *msg = err + strlen(": error: ");
                buf_put(&b, msg, (size_t)(p + len - msg));
                have_error = true;
            } else if (have_error) {
                buf_puts(&b, "\n  ");
                buf_put(&b, p, len);
            }
        }
        p += len + (eol ? 1 : 0);
    }
    while (b.len && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\n'))
        b.data[--b.len] = '\0';
    if (have_error)
        diag_set_message(d, b.data);
    else
        diag_error(d, whole, "not a YAML document");
    buf_free(&b);
}

bool yaml_open(yaml_doc *doc, const char *path, diag *d)
{
    memset(doc, 0, sizeof *doc);
    doc->path = path;
    src_pos whole = { .file = path, .line = 1, .column = 1 };
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        diag_error(d, (src_pos){ .file = path }, "is a directory; expected a YAML file");
        return false;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        diag_error(d, (src_pos){ .file = path }, "cannot open file: %s", strerror(errno));
        return false;
    }
    bool blank = file_is_blank(f);
    fclose(f);
    if (blank) {
        diag_error(d, whole, "the file is empty; expected a YAML mapping");
        return false;
    }

    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = capture_output;
    dc.user = doc;
    dc.colorize = false;
    doc->fy_diag = fy_diag_create(&dc);
    struct fy_parse_cfg cfg = {
        .flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT,
        .diag = doc->fy_diag,
    };
    doc->parser = doc->fy_diag ? fy_parser_create(&cfg) : NULL;
    if (!doc->parser || fy_parser_set_input_file(doc->parser, path) != 0) {
        diag_error(d, whole, "cannot set up the YAML parser");
        yaml_close(doc);
        return false;
    }
    doc->fyd = fy_parse_load_document(doc->parser);
    if (!doc->fyd) {
        report_syntax_error(doc, d, whole);
        yaml_close(doc);
        return false;
    }
    if (!fy_document_root(doc->fyd)) {
        diag_error(d, whole, "the file holds no YAML content; expected a YAML mapping");
        yaml_close(doc);
        return false;
    }
    /* One document per file: anything after a '---' would otherwise be ignored silently. */
    capture_clear(doc);
    struct fy_document *extra = fy_parse_load_document(doc->parser);
    if (extra) {
        /* Point at the '---' that starts it, or at its content when it starts implicitly. */
        src_pos pos = fy_document_root(extra) ? yaml_pos(doc, fy_document_root(extra)) : whole;
        struct fy_document_state *state = fy_document_get_document_state(extra);
        const struct fy_mark *start = state ? fy_document_state_start_mark(state) : NULL;
        if (start && !fy_document_state_start_implicit(state))
            pos = (src_pos){ .file = path, .line = start->line + 1, .column = start->column + 1 };
        fy_parse_document_destroy(doc->parser, extra);
        diag_error(d, pos, "a file holds one YAML document, but a second document starts here");
        yaml_close(doc);
        return false;
    }
    if (doc->capture_len) {
        report_syntax_error(doc, d, whole);
        yaml_close(doc);
        return false;
    }
    capture_clear(doc);
    return true;
}

void yaml_close(yaml_doc *doc)
{
    if (doc->fyd)
        fy_parse_document_destroy(doc->parser, doc->fyd);
    if (doc->parser)
        fy_parser_destroy(doc->parser);
    if (doc->fy_diag)
        fy_diag_destroy(doc->fy_diag);
    doc->parser = NULL;
    xfree(doc->capture);
    doc->fyd = NULL;
    doc->fy_diag = NULL;
    doc->capture = NULL;
    doc->capture_len = doc->capture_cap = 0;
}

struct fy_node *yaml_root(const yaml_doc *doc)
{
    return fy_document_root(doc->fyd);
}

src_pos yaml_pos(yaml_doc *doc, struct fy_node *n)
{
    src_pos pos = { .file = doc->path, .line = 0, .column = 0 };
    if (!n)
        return pos;
    if (fy_node_is_scalar(n)) {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
        if (m) {
            pos.line = m->line + 1;
            pos.column = m->column + 1;
            return pos;
        }
    }
    /* Collections: let libfyaml locate the node and read the position off its report. */
    capture_clear(doc);
    fy_node_report(n, FYET_ERROR, "position");
    size_t plen = strlen(doc->path);
    if (doc->capture_len > plen && strncmp(doc->capture, doc->path, plen) == 0 && doc->capture[plen] == ':') {
        int line = 0, column = 0;
        if (sscanf(doc->capture + plen + 1, "%d:%d", &line, &column) == 2) {
            pos.line = line;
            pos.column = column;
        }
    }
    capture_clear(doc);
    if (pos.line == 0) {
        /* An empty value ("devices:" with nothing after it) has no token; point at its key. */
        struct fy_node *parent = fy_node_get_parent(n);
        if (parent && fy_node_is_mapping(parent)) {
            void *it = NULL;
            struct fy_node_pair *pair;
            while ((pair = fy_node_mapping_iterate(parent, &it)))
                if (fy_node_pair_value(pair) == n && fy_node_pair_key(pair))
                    return yaml_pos(doc, fy_node_pair_key(pair));
        } else if (parent) {
            return yaml_pos(doc, parent);
        }
    }
    return pos;
}

bool yaml_is_mapping(struct fy_node *n)
{
    return n && fy_node_is_mapping(n);
}

bool yaml_is_sequence(struct fy_node *n)
{
    return n && fy_node_is_sequence(n);
}

bool yaml_is_scalar(struct fy_node *n)
{
    return n && fy_node_is_scalar(n);
}

static bool plain(struct fy_node *n)
{
    return fy_node_get_style(n) == FYNS_PLAIN;
}

static bool is_null_text(const char *s);

bool yaml_is_null(struct fy_node *n)
{
    if (!n)
        return true;
    if (!fy_node_is_scalar(n) || !plain(n))
        return false;
    const char *s = fy_node_get_scalar0(n);
    return !s || is_null_text(s);
}

static bool is_null_text(const char *s)
{
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static int bool_text(const char *s)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return 1;
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return 0;
    return -1;
}

static bool int_text(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!(*p >= '0' && *p <= '9'))
        return false;
    for (const char *q = p; *q; q++)
        if (!(*q >= '0' && *q <= '9'))
            return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static bool real_text(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return false;
    /* Refuse strtod's extras that YAML does not have: hex floats, inf, nan. */
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '-' || *p == '+'))
            return false;
    *out = v;
    return true;
}

const char *yaml_describe(struct fy_node *n)
{
    if (!n)
        return "nothing";
    if (fy_node_is_mapping(n))
        return "a mapping";
    if (fy_node_is_sequence(n))
        return "a sequence";
    const char *s = fy_node_get_scalar0(n);
    if (!s)
        return "a scalar";
    if (!plain(n))
        return "a quoted string";
    int64_t i;
    double r;
    if (is_null_text(s))
        return "null";
    if (bool_text(s) >= 0)
        return "a boolean";
    if (int_text(s, &i))
        return "an integer";
    if (real_text(s, &r))
        return "a number";
    return "a string";
}

static bool want(yaml_doc *doc, struct fy_node *n, bool ok, diag *d, const char *what, const char *shape)
{
    if (ok)
        return true;
    /* A description that explains itself ("a step ({ at: 5m, ... })") needs no shape after it. */
    if (strchr(what, '('))
        diag_error(d, yaml_pos(doc, n), "expected %s, found %s", what, yaml_describe(n));
    else
        diag_error(d, yaml_pos(doc, n), "expected %s (%s), found %s", what, shape, yaml_describe(n));
    return false;
}

bool yaml_want_mapping(yaml_doc *doc, struct fy_node *n, diag *d, const char *what)
{
    return want(doc, n, yaml_is_mapping(n), d, what, "a mapping");
}

bool yaml_want_sequence(yaml_doc *doc, struct fy_node *n, diag *d, const char *what)
{
    return want(doc, n, yaml_is_sequence(n), d, what, "a sequence");
}

bool yaml_next_pair(struct fy_node *map, yaml_iter *it, struct fy_node **key, struct fy_node **val)
{
    struct fy_node_pair *p = fy_node_mapping_iterate(map, &it->state);
    if (!p)
        return false;
    *key = fy_node_pair_key(p);
    *val = fy_node_pair_value(p);
    return true;
}

bool yaml_check_keys(yaml_doc *doc, struct fy_node *map, const char *const *allowed, int n_allowed, diag *d,
                     const char *context)
{
    yaml_iter it = { 0 };
    struct fy_node *k, *v;
    while (yaml_next_pair(map, &it, &k, &v)) {
        const char *name = yaml_is_scalar(k) ? fy_node_get_scalar0(k) : NULL;
        if (!name) {
            diag_error(d, yaml_pos(doc, k), "expected a plain key in %s, found %s", context, yaml_describe(k));
            return false;
        }
        bool known = false;
        for (int i = 0; i < n_allowed && !known; i++)
            known = strcmp(name, allowed[i]) == 0;
        if (known)
            continue;
        const char *hint = diag_suggest(name, allowed, n_allowed);
        buf list;
        buf_init(&list);
        for (int i = 0; i < n_allowed; i++)
            buf_printf(&list, "%s%s", i ? ", " : "", allowed[i]);
        if (hint)
            diag_error(d, yaml_pos(doc, k), "unknown key '%s' in %s; did you mean '%s'?", name, context, hint);
        else
            diag_error(d, yaml_pos(doc, k), "unknown key '%s' in %s; expected one of: %s", name, context, list.data);
        buf_free(&list);
        return false;
    }
    return true;
}

struct fy_node *yaml_get(struct fy_node *map, const char *key)
{
    return fy_node_mapping_lookup_by_string(map, key, FY_NT);
}

struct fy_node *yaml_key_node(struct fy_node *map, const char *key)
{
    struct fy_node *k = fy_node_mapping_lookup_key_by_string(map, key, FY_NT);
    return k ? k : map;
}

bool yaml_text(yaml_doc *doc, struct fy_node *n, const char **out, diag *d, const char *what)
{
    if (n && fy_node_is_scalar(n) && plain(n)) {
        const char *text = fy_node_get_scalar0(n);
        if (!text || !*text) {
            diag_error(d, yaml_pos(doc, n), "expected %s, found nothing", what);
            return false;
        }
        if (is_null_text(text)) {
            diag_error(d, yaml_pos(doc, n), "expected %s, found null", what);
            return false;
        }
    }
    if (!want(doc, n, yaml_is_scalar(n), d, what, "a scalar"))
        return false;
    const char *s = fy_node_get_scalar0(n);
    if (!want(doc, n, s != NULL, d, what, "a scalar"))
        return false;
    *out = s;
    return true;
}

bool yaml_string(yaml_doc *doc, struct fy_node *n, arena *a, const char **out, diag *d, const char *what)
{
    const char *s;
    if (!yaml_text(doc, n, &s, d, what))
        return false;
    *out = arena_strdup(a, s);
    return true;
}

bool yaml_duration(yaml_doc *doc, struct fy_node *n, bool allow_negative, int64_t *out, diag *d, const char *what)
{
    const char *s;
    if (!yaml_text(doc, n, &s, d, what))
        return false;
    const char *why = NULL;
    if (!duration_parse(s, out, &why)) {
        diag_error(d, yaml_pos(doc, n), "%s: '%s' is not a duration: %s", what, s, why);
        return false;
    }
    if (*out < 0 && !allow_negative) {
        diag_error(d, yaml_pos(doc, n), "%s must not be negative, found '%s'", what, s);
        return false;
    }
    return true;
}

bool yaml_int(yaml_doc *doc, struct fy_node *n, int64_t min, int64_t max, int64_t *out, diag *d, const char *what)
{
    const char *s;
    if (!yaml_text(doc, n, &s, d, what))
        return false;
    int64_t v;
    if (!plain(n) || !int_text(s, &v)) {
        diag_error(d, yaml_pos(doc, n), "expected %s (an integer), found %s '%s'", what, yaml_describe(n), s);
        return false;
    }
    if (v < min || v > max) {
        diag_error(d, yaml_pos(doc, n), "%s must be between %lld and %lld, found %lld", what, (long long)min,
                   (long long)max, (long long)v);
        return false;
    }
    *out = v;
    return true;
}

bool yaml_u64(yaml_doc *doc, struct fy_node *n, uint64_t *out, diag *d, const char *what)
{
    const char *s;
    if (!yaml_text(doc, n, &s, d, what))
        return false;
    bool digits = plain(n) && *s;
    for (const char *p = s; *p && digits; p++)
        digits = *p >= '0' && *p <= '9';
    errno = 0;
    unsigned long long v = digits ? strtoull(s, NULL, 10) : 0;
    if (plain(n) && s[0] == '-' && s[1] >= '0' && s[1] <= '9') {
        diag_error(d, yaml_pos(doc, n), "%s must not be negative, found %s", what, s);
        return false;
    }
    if (!digits || errno == ERANGE) {
        diag_error(d, yaml_pos(doc, n), "expected %s (an integer from 0 to 18446744073709551615), found %s '%s'",
                   what, yaml_describe(n), s);
        return false;
    }
    *out = v;
    return true;
}

bool yaml_number(yaml_doc *doc, struct fy_node *n, double min, double max, double *out, diag *d, const char *what)
{
    const char *s;
    if (!yaml_text(doc, n, &s, d, what))
        return false;
    double v;
    if (!plain(n) || !real_text(s, &v)) {
        diag_error(d, yaml_pos(doc, n), "expected %s (a number), found %s '%s'", what, yaml_describe(n), s);
        return false;
    }
    if (v < min || v > max) {
        diag_error(d, yaml_pos(doc, n), "%s must be between %g and %g, found %s", what, min, max, s);
        return false;
    }
    *out = v;
    return true;
}

bool yaml_bool(yaml_doc *doc, struct fy_node *n, bool *out, diag *d, const char *what)
{
    const char *s;
    if (!yaml_text(doc, n, &s, d, what))
        return false;
    int b = plain(n) ? bool_text(s) : -1;
    if (b < 0) {
        diag_error(d, yaml_pos(doc, n), "expected %s (true or false), found %s '%s'", what, yaml_describe(n), s);
        return false;
    }
    *out = b == 1;
    return true;
}

bool yaml_value(yaml_doc *doc, struct fy_node *n, arena *a, value *out, diag *d, const char *what)
{
    memset(out, 0, sizeof *out);
    if (n && yaml_is_null(n)) {
        out->kind = VAL_NULL;
        return true;
    }
    const char *s;
    if (!yaml_text(doc, n, &s, d, what))
        return false;
    if (!plain(n)) {
        out->kind = VAL_STRING;
        out->s = arena_strdup(a, s);
        return true;
    }
    int b;
    if ((b = bool_text(s)) >= 0) {
        out->kind = VAL_BOOL;
        out->b = b == 1;
    } else if (int_text(s, &out->i)) {
        out->kind = VAL_INT;
        if (out->i >= (INT64_C(1) << 53) || out->i <= -(INT64_C(1) << 53)) {
            diag_error(d, yaml_pos(doc, n), "%s: integer %s is too large to sync exactly as JSON (limit 2^53)",
                       what, s);
            return false;
        }
    } else if (real_text(s, &out->r)) {
        out->kind = VAL_REAL;
    } else {
        out->kind = VAL_STRING;
        out->s = arena_strdup(a, s);
    }
    return true;
}
