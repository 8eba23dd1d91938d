/*
 * yaml: libfyaml wrappers. libfyaml reports through a diag object; we
 * capture its output so syntax errors and node positions reach the user in
 * our own format.
 *
 * Opening a file is guarded, because libfyaml 0.7.12 (Debian 12's) can be
 * made to loop forever or to take quadratic time or unbounded memory by a
 * few bytes of input, and we cannot patch it. yaml_open therefore:
 *
 *   1. reads the whole file once, at most YAML_FILE_BYTES_MAX bytes, and hands
 *      libfyaml exactly those bytes (never the path: what was checked is what
 *      is parsed);
 *   2. checks the text (check_text): well-formed UTF-8 made of YAML's
 *      printable characters, no line starting with '%', and no run of more
 *      than YAML_WHITESPACE_RUN_MAX whitespace characters;
 *   3. runs libfyaml's event parser over it once (check_events), which builds
 *      nothing, counting nodes and nesting with aliases expanded, checking
 *      every alias, finding duplicate keys by hash and refusing a second
 *      document, so that a document over YAML_NODES_MAX nodes or
 *      YAML_DEPTH_MAX levels is refused before any tree is built or any alias
 *      expanded;
 *   4. only then loads the document (libfyaml's own duplicate-key check off
 *      unless it has aliases) and, when it has aliases, resolves them and its
 *      merge keys (fy_document_resolve), at a size and cost step 3 bounded.
 *
 * Why each check, from libfyaml 0.7.12's source (src/lib/fy-parse.c,
 * fy-input.h):
 *
 *   - The hang. fy_reader_peek_at(i) decodes from the current position to the
 *     i-th character and returns the first negative code it meets: -1 at the
 *     end of input, but -2 (FYUG_INV) at an invalid UTF-8 sequence and -3
 *     (FYUG_PARTIAL) at one cut off by the end of the file. fy_scan_directive
 *     skips an unknown directive ("%x ...") with
 *         while ((c = fy_parse_peek_at(fyp, i)) != -1 && !fyp_is_lb(fyp, c)) i++;
 *     which stops only at -1 or a line break, so on "%\xfa" (two bytes) or
 *     "%x \xc3" i grows for ever: each peek returns -2 or -3 again. Any line
 *     starting with '%' followed by an invalid or truncated UTF-8 sequence
 *     before its end hangs the parser, in a scenario, profile or grid file.
 *     Step 2 refuses both ingredients: invalid UTF-8 (with valid UTF-8,
 *     libfyaml's decoder, which has the same rules as ours, never returns -2
 *     or -3, so every such loop ends at the end of the input or of the line)
 *     and directive lines (so that loop never runs at all).
 *   - Quadratic time. peek_at(i) walks i characters from the current position,
 *     so every loop of the form "for (i = 0; ws(peek_at(i)); i++)" costs the
 *     square of what it skips. The directive loops skip a whole line (an
 *     80,000-character directive line takes 14 s); the others skip runs of
 *     whitespace after a flow collection's end, an anchor, a tag, a quoted
 *     scalar, a block entry, a ':' in flow context (across line breaks), or
 *     at a line start after a comment (40,000 spaces after "[x]" take 1.7 s).
 *     No directives, and runs of at most YAML_WHITESPACE_RUN_MAX characters,
 *     bound each such loop to YAML_WHITESPACE_RUN_MAX^2/2 steps and a file to
 *     YAML_FILE_BYTES_MAX * YAML_WHITESPACE_RUN_MAX / 2 (about a second).
 *   - Memory. Loading resolves aliases by copying what they name, so nine
 *     lines of nested aliases ("billion laughs") asked for 13 GiB. Step 3
 *     computes the expanded size from the events first.
 *   - Quadratic duplicate keys. Building a mapping compares each key with
 *     every key before it, and fy_document_resolve compares every key with
 *     every other again (fy_resolve_anchor_node), so a mapping of 4096
 *     devices took 4.3 s and one of 500,000 keys would take hours. A document
 *     without aliases is built with that check off (step 3 finds duplicate
 *     keys by hash) and not resolved (there is nothing to resolve); one with
 *     aliases is refused when the sum of its mappings' pairs squared exceeds
 *     YAML_ALIAS_KEY_COMPARISONS_MAX.
 *   - Silent truncation. libfyaml ends the stream at a NUL byte, so
 *     "name: x\0garbage" would load as "name: x": step 2 refuses control
 *     characters, NUL included.
 *
 * Nesting: libfyaml's document builder stops at 64 levels itself ("Max depth
 * (64) exceeded"), but its event parser does not, and aliases nest further:
 * step 3 counts through aliases and names the bound.
 */
#include "sim/yaml.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
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

/* True when the text has nothing but whitespace and comments. */
static bool text_is_blank(const char *s, size_t len)
{
    bool in_comment = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
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
/* Whether libfyaml reported an error whose message contains text (its collected errors, else its output). */
static bool error_reported(yaml_doc *doc, const char *text)
{
    void *it = NULL;
    for (struct fy_diag_error *e; (e = fy_diag_errors_iterate(doc->fy_diag, &it)) != NULL;)
        if (e->msg && strstr(e->msg, text))
            return true;
    return doc->capture && strstr(doc->capture, text);
}

static void report_syntax_error(yaml_doc *doc, diag *d, src_pos whole)
{
    /* libfyaml collects its errors (yaml_open): its own excerpt of the source line reads out of
     * bounds on some inputs (fy_diag_error_atom_display, found by the fuzzer; upstream
     * pantoniou/libfyaml#223), so the excerpt is diag's, from the file. */
    void *it = NULL;
    for (struct fy_diag_error *e; (e = fy_diag_errors_iterate(doc->fy_diag, &it)) != NULL;) {
        if (e->type < FYET_ERROR || !e->msg)
            continue;
        diag_error(d, (src_pos){ .file = doc->path, .line = e->line, .column = e->column }, "YAML syntax: %s", e->msg);
        return;
    }
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

/* --- 1. reading: the whole file, bounded ---------------------------------------------- */

static bool read_text(yaml_doc *doc, diag *d)
{
    const char *path = doc->path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error(d, (src_pos){ .file = path }, "cannot open file: %s", strerror(errno));
        return false;
    }
    /* One byte more than the bound tells a file at the bound from one over it. A pipe
     * (syncsim run <(...)) works too: nothing here asks for the size up front. */
    size_t cap = 64 * 1024, len = 0;
    char *text = xmalloc(cap);
    bool ok = true;
    for (;;) {
        if (len == cap) {
            if (cap > YAML_FILE_BYTES_MAX)
                break;
            cap = cap * 2 > YAML_FILE_BYTES_MAX + 1 ? YAML_FILE_BYTES_MAX + 1 : cap * 2;
            text = xrealloc(text, cap);
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        diag_error(d, (src_pos){ .file = path }, "cannot read file: %s", strerror(errno));
        ok = false;
    } else if (len > YAML_FILE_BYTES_MAX) {
        diag_error(d, (src_pos){ .file = path },
                   "the file is larger than %d bytes (%d MiB), the bound on a YAML file (YAML_FILE_BYTES_MAX)",
                   YAML_FILE_BYTES_MAX, YAML_FILE_BYTES_MAX >> 20);
        ok = false;
    }
    fclose(f);
    if (!ok) {
        xfree(text);
        return false;
    }
    doc->text = text;
    doc->text_len = len;
    return true;
}

/* --- 2. the text: encoding, directives, whitespace runs -------------------------------- */

/* YAML 1.2's c-printable: what a YAML stream may contain at all (chapter 5.1). */
static bool yaml_printable(uint32_t c)
{
    return c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
           (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/*
 * One UTF-8 character at s[0..left): its code point and length, or 0 when the
 * bytes are not well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF, no sequence cut short). These are exactly the
 * sequences libfyaml's fy_utf8_get decodes without a negative result.
 */
static int utf8_decode(const unsigned char *s, size_t left, uint32_t *out)
{
    unsigned char b = s[0];
    int len;
    uint32_t c, min;
    if (b < 0x80) {
        *out = b;
        return 1;
    } else if ((b & 0xE0) == 0xC0) {
        len = 2, c = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
        len = 3, c = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
        len = 4, c = b & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)len > left)
        return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        return 0;
    *out = c;
    return len;
}

static bool check_text(yaml_doc *doc, diag *d)
{
    const unsigned char *s = (const unsigned char *)doc->text;
    size_t len = doc->text_len;
    src_pos pos = { .file = doc->path, .line = 1, .column = 1 };
    /* Byte order marks of the encodings YAML allows besides UTF-8 (libfyaml 0.7 reads only UTF-8). */
    if (len >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))) {
        diag_error(d, pos, "the file is UTF-16 or UTF-32 (it starts with a byte order mark); save it as UTF-8");
        return false;
    }
    if (len >= 4 && s[0] == 0 && s[1] == 0 && s[2] == 0xFE && s[3] == 0xFF) {
        diag_error(d, pos, "the file is UTF-32 (it starts with a byte order mark); save it as UTF-8");
        return false;
    }
    bool line_start = true;
    size_t run = 0;            /* whitespace characters in a row so far */
    src_pos run_start = pos;
    size_t i = 0;
    while (i < len) {
        uint32_t c;
        int n = utf8_decode(s + i, len - i, &c);
        if (n == 0) {
            diag_error(d, pos, "invalid UTF-8 (byte 0x%02X): syncsim reads YAML files as UTF-8", s[i]);
            return false;
        }
        if (c == 0xFEFF && i == 0) {
            i += (size_t)n;   /* UTF-8's byte order mark: libfyaml skips it, the line starts after it */
            continue;
        }
        if (!yaml_printable(c)) {
            if (c == 0)
                diag_error(d, pos, "a NUL byte is not allowed in a YAML file (a binary file?)");
            else
                diag_error(d, pos, "character U+%04X (a control character) is not allowed in a YAML file",
                           (unsigned)c);
            return false;
        }
        if (line_start && c == '%') {
            diag_error(d, pos,
                       "a line starting with '%%' is a YAML directive, which syncsim files do not take; "
                       "quote the value if the '%%' is text");
            return false;
        }
        bool whitespace = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (whitespace) {
            if (run++ == 0)
                run_start = pos;
            if (run > YAML_WHITESPACE_RUN_MAX) {
                diag_error(d, run_start,
                           "more than %d spaces, tabs and line breaks in a row start here, the bound on a "
                           "whitespace run (YAML_WHITESPACE_RUN_MAX: the YAML parser takes quadratic time "
                           "over longer runs)",
                           YAML_WHITESPACE_RUN_MAX);
                return false;
            }
        } else {
            run = 0;
        }
        /* CR LF, CR and LF each end a line (YAML 1.2); positions count characters from 1. */
        bool crlf = c == '\r' && i + 1 < len && s[i + 1] == '\n';
        if ((c == '\r' && !crlf) || c == '\n') {
            pos.line++;
            pos.column = 1;
            line_start = true;
        } else {
            pos.column++;
            line_start = false;
        }
        i += (size_t)n;
    }
    return true;
}

/* --- 3. the events: size, nesting, aliases, one document ------------------------------- */

/* A parser over the checked text, named by the file's path, reporting into doc's capture.
 * The stream and the text stay alive until yaml_close (libfyaml reads them lazily). */
static struct fy_parser *open_parser(yaml_doc *doc, FILE **stream, enum fy_parse_cfg_flags flags)
{
    *stream = fmemopen(doc->text, doc->text_len, "r");
    struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | flags, .diag = doc->fy_diag };
    struct fy_parser *parser = *stream ? fy_parser_create(&cfg) : NULL;
    if (parser && fy_parser_set_input_fp(parser, doc->path, *stream) != 0) {
        fy_parser_destroy(parser);
        parser = NULL;
    }
    return parser;
}

static src_pos mark_pos(const yaml_doc *doc, const struct fy_mark *m)
{
    return m ? (src_pos){ .file = doc->path, .line = m->line + 1, .column = m->column + 1 }
             : (src_pos){ .file = doc->path, .line = 1, .column = 1 };
}

static src_pos token_pos(const yaml_doc *doc, struct fy_token *t)
{
    return mark_pos(doc, t ? fy_token_start_mark(t) : NULL);
}

/* What the event pass knows of an anchor: the size of what it names, once that is complete. */
typedef struct anchor_info {
    bool complete;          /* its node has ended: an alias inside it would be a cycle */
    int64_t nodes;          /* its node's size, aliases inside it expanded */
    int height;             /* levels from its node down to its deepest leaf, aliases expanded */
    int64_t comparisons;    /* key comparisons resolving its node costs (see event_pass) */
} anchor_info;

/* A collection being read: where its size, height and comparisons accumulate. */
typedef struct open_node {
    bool mapping;
    int64_t nodes_at_start; /* the document's node count before this node */
    int64_t comparisons_at_start;
    int64_t children;       /* direct children so far: keys and values of a mapping */
    int height;             /* of its children so far, plus one */
    int anchor;             /* index into anchors, or -1 */
    strmap keys;            /* a mapping's scalar keys so far -> the line of each */
} open_node;

typedef struct event_pass {
    yaml_doc *doc;
    diag *d;
    int64_t nodes;          /* in the document so far, aliases expanded */
    int depth;              /* open collections */
    open_node stack[YAML_DEPTH_MAX];
    strmap anchor_index;    /* name -> index into anchors */
    anchor_info *anchors;
    size_t n_anchors, cap_anchors;
    arena names;            /* the anchors' names, owned */
    int documents;
    bool pending_second;    /* a second document started implicitly: report at its first node */
    /* Resolving aliases (fy_document_resolve) compares every key of a mapping with every other
     * key: the sum over mappings of their pairs squared, aliases expanded. */
    int64_t comparisons;
    int64_t aliases;
    src_pos first_alias;
} event_pass;

/* A node of `size` nodes and `height` levels at the current depth: count it and bound the document. */
static bool add_nodes(event_pass *ep, int64_t size, int height, src_pos pos)
{
    ep->nodes += size;
    if (ep->nodes > YAML_NODES_MAX) {
        diag_error(ep->d, pos,
                   "the document has more than %d nodes (aliases expanded), the bound on a YAML document "
                   "(YAML_NODES_MAX)",
                   YAML_NODES_MAX);
        return false;
    }
    if (ep->depth + height > YAML_DEPTH_MAX) {
        diag_error(ep->d, pos,
                   "the document nests deeper than %d levels (aliases expanded), the bound on YAML nesting "
                   "(YAML_DEPTH_MAX)",
                   YAML_DEPTH_MAX);
        return false;
    }
    if (ep->depth > 0) {
        open_node *parent = &ep->stack[ep->depth - 1];
        parent->children++;
        if (parent->height < height + 1)
            parent->height = height + 1;
    }
    return true;
}

static int anchor_define(event_pass *ep, struct fy_token *anchor)
{
    if (!anchor)
        return -1;
    size_t len;
    const char *text = fy_token_get_text(anchor, &len);
    const char *name = arena_strndup(&ep->names, text ? text : "", text ? len : 0);
    xgrow(&ep->anchors, &ep->cap_anchors, ep->n_anchors + 1, sizeof *ep->anchors);
    int index = (int)ep->n_anchors++;
    /* Open until its node ends: libfyaml calls an alias to it from inside a cycle. */
    ep->anchors[index] = (anchor_info){ .complete = false };
    strmap_put(&ep->anchor_index, name, index);
    return index;
}

static void anchor_complete(event_pass *ep, int index, int64_t nodes, int height, int64_t comparisons)
{
    if (index < 0)
        return;
    ep->anchors[index] =
        (anchor_info){ .complete = true, .nodes = nodes, .height = height, .comparisons = comparisons };
}

static bool on_alias(event_pass *ep, struct fy_event *ev)
{
    struct fy_token *anchor = ev->alias.anchor;
    src_pos pos = token_pos(ep->doc, anchor);
    size_t len;
    const char *text = anchor ? fy_token_get_text(anchor, &len) : NULL;
    char *name = xstrndup(text ? text : "", text ? len : 0);
    int index = strmap_get(&ep->anchor_index, name);
    bool ok = false;
    if (index < 0)
        diag_error(ep->d, pos, "YAML syntax: invalid alias: no anchor '&%s' is defined before '*%s'", name, name);
    else if (!ep->anchors[index].complete)
        diag_error(ep->d, pos, "YAML syntax: alias '*%s' is inside the node anchored '&%s' (a cyclic reference)",
                   name, name);
    else
        ok = add_nodes(ep, ep->anchors[index].nodes, ep->anchors[index].height, pos);
    if (ok) {
        if (ep->aliases++ == 0)
            ep->first_alias = pos;
        ep->comparisons += ep->anchors[index].comparisons;
    }
    xfree(name);
    return ok;
}

/*
 * A mapping's keys must be unique. libfyaml's own check compares each new key with every
 * key before it (fy_node_mapping_key_is_duplicate: 4096 devices took 0.75 s, 500,000 keys
 * would take hours), so documents without aliases are loaded with it off
 * (FYPCF_ALLOW_DUPLICATE_KEYS) and checked here, by hash, for scalar keys -- the only keys
 * the loaders take. (A key holding a NUL escape is left to the loaders, which read C strings.)
 */
static bool check_key(event_pass *ep, struct fy_event *ev, src_pos pos)
{
    if (ep->depth == 0 || ev->type != FYET_SCALAR)
        return true;
    open_node *parent = &ep->stack[ep->depth - 1];
    if (!parent->mapping || parent->children % 2 != 0)
        return true;   /* a value, or an item of a sequence */
    size_t len;
    const char *text = fy_token_get_text(ev->scalar.value, &len);
    if (!text || memchr(text, '\0', len))
        return true;
    const char *key = arena_strndup(&ep->names, text, len);
    int first = strmap_get(&parent->keys, key);
    if (first >= 0) {
        diag_error(ep->d, pos, "YAML syntax: duplicate key '%s' (first at line %d)", key, first);
        return false;
    }
    strmap_put(&parent->keys, key, pos.line);
    return true;
}

static bool on_event(event_pass *ep, struct fy_event *ev)
{
    src_pos pos = mark_pos(ep->doc, fy_event_start_mark(ev));
    if (ep->pending_second && ev->type != FYET_DOCUMENT_END && ev->type != FYET_STREAM_END) {
        diag_error(ep->d, pos, "a file holds one YAML document, but a second document starts here");
        return false;
    }
    switch (ev->type) {
    case FYET_DOCUMENT_START:
        if (++ep->documents == 2) {
            if (!ev->document_start.implicit) {
                diag_error(ep->d, token_pos(ep->doc, ev->document_start.document_start),
                           "a file holds one YAML document, but a second document starts here");
                return false;
            }
            ep->pending_second = true;
        }
        return true;
    case FYET_DOCUMENT_END:
        /* A second document with nothing in it ("---" alone) is still a second document. */
        if (ep->pending_second) {
            diag_error(ep->d, pos, "a file holds one YAML document, but a second document starts here");
            return false;
        }
        return true;
    case FYET_SCALAR: {
        if (!check_key(ep, ev, pos))
            return false;
        int anchor = anchor_define(ep, ev->scalar.anchor);
        if (!add_nodes(ep, 1, 1, pos))
            return false;
        anchor_complete(ep, anchor, 1, 1, 0);
        return true;
    }
    case FYET_ALIAS:
        return on_alias(ep, ev);
    case FYET_SEQUENCE_START:
    case FYET_MAPPING_START: {
        struct fy_token *anchor =
            ev->type == FYET_SEQUENCE_START ? ev->sequence_start.anchor : ev->mapping_start.anchor;
        /* Count the collection itself; its height is checked as its children arrive. */
        if (!add_nodes(ep, 1, 1, pos))
            return false;
        open_node *o = &ep->stack[ep->depth++];
        *o = (open_node){ .mapping = ev->type == FYET_MAPPING_START,
                          .nodes_at_start = ep->nodes - 1,
                          .comparisons_at_start = ep->comparisons,
                          .height = 1,
                          .anchor = anchor_define(ep, anchor) };
        strmap_init(&o->keys);
        return true;
    }
    case FYET_SEQUENCE_END:
    case FYET_MAPPING_END: {
        if (ep->depth == 0)
            return true;   /* libfyaml never ends what it did not start; nothing to account */
        open_node o = ep->stack[--ep->depth];
        strmap_free(&o.keys);
        if (o.mapping)
            ep->comparisons += (o.children / 2) * (o.children / 2);   /* at most 10^12: no overflow */
        anchor_complete(ep, o.anchor, ep->nodes - o.nodes_at_start, o.height, ep->comparisons - o.comparisons_at_start);
        if (ep->depth > 0 && ep->stack[ep->depth - 1].height < o.height + 1)
            ep->stack[ep->depth - 1].height = o.height + 1;
        return true;
    }
    case FYET_NONE:
    case FYET_STREAM_START:
    case FYET_STREAM_END:
        return true;
    }
    return true;
}

static bool check_events(yaml_doc *doc, diag *d, src_pos whole)
{
    FILE *stream;
    struct fy_parser *parser = open_parser(doc, &stream, 0);
    event_pass ep = { .doc = doc, .d = d };
    strmap_init(&ep.anchor_index);
    arena_init(&ep.names, 4096);
    bool ok = parser != NULL;
    if (!ok)
        diag_error(d, whole, "cannot set up the YAML parser");
    struct fy_event *ev;
    while (ok && (ev = fy_parser_parse(parser))) {
        ok = on_event(&ep, ev);
        fy_parser_event_free(parser, ev);
    }
    if (ok && fy_parser_get_stream_error(parser)) {
        report_syntax_error(doc, d, whole);
        ok = false;
    }
    if (ok && ep.aliases > 0 && ep.comparisons > YAML_ALIAS_KEY_COMPARISONS_MAX) {
        diag_error(d, ep.first_alias,
                   "aliases in a document whose mappings are this large would take %lld key comparisons to "
                   "resolve, more than %d (YAML_ALIAS_KEY_COMPARISONS_MAX: the YAML library compares every key of "
                   "a mapping with every other); write the aliased values out, or split large mappings",
                   (long long)ep.comparisons, YAML_ALIAS_KEY_COMPARISONS_MAX);
        ok = false;
    }
    doc->has_aliases = ep.aliases > 0;
    /* libfyaml 0.7.12 (Debian 12's) frees a simple key twice when it cleans up after this error, a
     * tab after an explicit key's ':' ("? a: \t: \t"; pantoniou/libfyaml#57, fixed upstream after
     * 0.7.12): its parser is left undestroyed -- one parser's memory per such file, and the file is
     * refused -- rather than crash the program. Found by fuzz-profile. */
    bool parser_unsafe = !ok && error_reported(doc, "cannot use tab for indentation of block entry");
    if (parser && !parser_unsafe)
        fy_parser_destroy(parser);
    if (stream)
        fclose(stream);
    for (int i = 0; i < ep.depth; i++)   /* collections left open by an error */
        strmap_free(&ep.stack[i].keys);
    strmap_free(&ep.anchor_index);
    xfree(ep.anchors);
    arena_release(&ep.names);
    capture_clear(doc);
    return ok;
}

/* --- 4. the document --------------------------------------------------------------------- */

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
    if (!read_text(doc, d))
        goto fail;
    if (text_is_blank(doc->text, doc->text_len)) {
        diag_error(d, whole, "the file is empty; expected a YAML mapping");
        goto fail;
    }
    if (!check_text(doc, d))
        goto fail;

    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = capture_output;
    dc.user = doc;
    dc.colorize = false;
    doc->fy_diag = fy_diag_create(&dc);
    if (!doc->fy_diag) {
        diag_error(d, whole, "cannot set up the YAML parser");
        goto fail;
    }
    fy_diag_set_collect_errors(doc->fy_diag, true);
    if (!check_events(doc, d, whole))
        goto fail;
    /* Without aliases nothing is resolved, and check_events found every duplicate key; with
     * aliases libfyaml must check keys itself, so that merge keys do not duplicate a key. */
    doc->parser = open_parser(doc, &doc->stream, doc->has_aliases ? 0 : FYPCF_ALLOW_DUPLICATE_KEYS);
    if (!doc->parser) {
        diag_error(d, whole, "cannot set up the YAML parser");
        goto fail;
    }
    /* check_events saw exactly one document, of bounded size once its aliases are expanded.
     * Resolution is skipped without aliases: it costs the square of every mapping's size. */
    doc->fyd = fy_parse_load_document(doc->parser);
    if (!doc->fyd || (doc->has_aliases && fy_document_resolve(doc->fyd) != 0)) {
        report_syntax_error(doc, d, whole);
        goto fail;
    }
    if (!fy_document_root(doc->fyd)) {
        diag_error(d, whole, "the file holds no YAML content; expected a YAML mapping");
        goto fail;
    }
    if (doc->capture_len || fy_diag_got_error(doc->fy_diag)) {
        report_syntax_error(doc, d, whole);
        goto fail;
    }
    capture_clear(doc);
    return true;
fail:
    yaml_close(doc);
    return false;
}

void yaml_close(yaml_doc *doc)
{
    if (doc->fyd)
        fy_parse_document_destroy(doc->parser, doc->fyd);
    if (doc->parser)
        fy_parser_destroy(doc->parser);
    if (doc->stream)
        fclose(doc->stream);
    if (doc->fy_diag)
        fy_diag_destroy(doc->fy_diag);
    xfree(doc->capture);
    xfree(doc->text);
    doc->fyd = NULL;
    doc->parser = NULL;
    doc->stream = NULL;
    doc->fy_diag = NULL;
    doc->capture = NULL;
    doc->text = NULL;
    doc->text_len = 0;
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
    /*
     * Collections: let libfyaml locate the node, collecting the report instead of printing
     * it. A printed report copies the node's whole extent for its excerpt whatever the
     * configuration says, so on one long line (a flow list of steps) a position per step
     * cost the square of the line: 8,000 steps on one line took 33 s.
     */
    fy_diag_set_collect_errors(doc->fy_diag, true);
    fy_node_report(n, FYET_ERROR, "position");
    void *errors = NULL;
    struct fy_diag_error *err = fy_diag_errors_iterate(doc->fy_diag, &errors);
    if (err && err->file && strcmp(err->file, doc->path) == 0 && err->line > 0) {
        pos.line = err->line;
        pos.column = err->column;
    }
    fy_diag_set_collect_errors(doc->fy_diag, false);   /* and drop what it collected */
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

/* One of words[] (index into it), or an error naming them all. */
bool yaml_one_of(yaml_doc *doc, struct fy_node *n, const char *const *words, int n_words, int *out, diag *d,
                   const char *what)
{
    const char *text;
    if (!yaml_text(doc, n, &text, d, what))
        return false;
    for (int i = 0; i < n_words; i++)
        if (strcmp(text, words[i]) == 0) {
            *out = i;
            return true;
        }
    buf list;
    buf_init(&list);
    for (int i = 0; i < n_words; i++)
        buf_printf(&list, "%s%s", i == 0 ? "" : i == n_words - 1 ? " or " : ", ", words[i]);
    const char *hint = diag_suggest(text, words, n_words);
    if (hint)
        diag_error(d, yaml_pos(doc, n), "unknown %s '%s'; did you mean '%s'? (expected %s)", what, text, hint, list.data);
    else
        diag_error(d, yaml_pos(doc, n), "unknown %s '%s'; expected %s", what, text, list.data);
    buf_free(&list);
    return false;
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
