/*
 * test-scenario-errors: every mistake in a scenario or profile must fail to
 * load with one clear error naming file:line:column and saying what was
 * expected, followed by the offending source line and a caret -- never a
 * crash, never silent acceptance.
 *
 * The cases are golden files, tests/errors/<case>.yaml. The first line of each
 * states the error it must produce:
 *
 *   # error: LINE:COLUMN: <substring of the message>
 *   # error: FILE:LINE:COLUMN: <substring of the message>
 *
 * The second form is for errors inside a profile file the scenario refers
 * to; FILE is relative to tests/errors/ (profiles/<name>.yaml). The message
 * must start with "<file>:<LINE>:<COLUMN>: error: ", contain the substring
 * in its first line and, when the file has that line, quote it with a caret
 * under the column.
 *
 * Also here: paths that are missing, empty or not files, that expect:
 * checks: loads into the set and flag it names, and the positive control
 * that every scenario in scenarios/basic/ loads. Runs from the source root.
 */
#include "base/buf.h"
#include "base/xalloc.h"
#include "sim/scenario.h"
#include "sim/yaml.h"
#include "tests/testlib.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRORS_DIR "tests/errors"
#define BASIC_DIR "scenarios/basic"
/* The golden files written with this test; fewer means some went missing. */
#define GOLDEN_MIN 137

typedef struct path_list {
    int n;
    char **paths;   /* "dir/name.yaml", sorted */
} path_list;

typedef struct expectation {
    char file[256];        /* "" for the scenario itself, else relative to ERRORS_DIR */
    int line;
    int column;
    char text[1024];
} expectation;

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Regular files dir/<name>.yaml, sorted by name so the order is stable. */
static path_list list_yaml(const char *dir)
{
    path_list list = { 0, NULL };
    size_t cap = 0;
    DIR *dh = opendir(dir);
    if (!dh)
        return list;
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (!ends_with(e->d_name, ".yaml"))
            continue;
        size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
        char *path = xmalloc(len);
        snprintf(path, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            xfree(path);
            continue;
        }
        xgrow(&list.paths, &cap, (size_t)list.n + 1, sizeof *list.paths);
        list.paths[list.n++] = path;
    }
    closedir(dh);
    if (list.n)
        qsort(list.paths, (size_t)list.n, sizeof *list.paths, compare_strings);
    return list;
}

static void path_list_free(path_list *list)
{
    for (int i = 0; i < list->n; i++)
        xfree(list->paths[i]);
    xfree(list->paths);
    list->paths = NULL;
    list->n = 0;
}

/* Line number `line` (1-based) of the file without its line ending; NULL when there is none. */
static char *read_line(const char *path, int line)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char text[4096];
    char *found = NULL;
    int n = 0;
    while (fgets(text, sizeof text, f)) {
        size_t len = strlen(text);
        bool complete = len > 0 && text[len - 1] == '\n';
        if (++n == line) {
            found = xstrndup(text, strcspn(text, "\r\n"));
            break;
        }
        while (!complete && fgets(text, sizeof text, f)) {
            len = strlen(text);
            complete = len > 0 && text[len - 1] == '\n';
        }
    }
    fclose(f);
    return found;
}

/* Parse "# error: [FILE:]LINE:COLUMN: TEXT" from the first line of path. */
static bool parse_expectation(const char *path, expectation *e)
{
    static const char PREFIX[] = "# error: ";
    memset(e, 0, sizeof *e);
    char *first = read_line(path, 1);
    if (!first)
        return false;
    bool ok = false;
    if (starts_with(first, PREFIX)) {
        const char *p = first + strlen(PREFIX);
        const char *colon = strchr(p, ':');
        size_t head = colon ? (size_t)(colon - p) : 0;
        bool digits = head > 0 && strspn(p, "0123456789") == head;
        if (colon && !digits) {
            if (head < sizeof e->file) {
                memcpy(e->file, p, head);
                e->file[head] = '\0';
            }
            p = colon + 1;
        }
        int consumed = 0;
        if (sscanf(p, "%d:%d: %n", &e->line, &e->column, &consumed) == 2 && consumed > 0) {
            snprintf(e->text, sizeof e->text, "%s", p + consumed);
            size_t len = strlen(e->text);
            while (len && (e->text[len - 1] == ' ' || e->text[len - 1] == '\t'))
                e->text[--len] = '\0';
            ok = e->line > 0 && e->column > 0 && len > 0;
        }
    }
    xfree(first);
    return ok;
}

/*
 * Does message, after its first line, quote source as a line of its own
 * (indented or not) with a caret under column on the next line? Both our
 * excerpts ("  line" / "  ^") and libfyaml's ("line" / "^~~~") qualify.
 */
static bool has_excerpt(const char *message, const char *source, int column)
{
    size_t src_len = strlen(source);
    const char *line = strchr(message, '\n');
    while (line) {
        line++;
        const char *end = strchr(line, '\n');
        if (!end)
            break;
        size_t len = (size_t)(end - line);
        size_t indent = len >= src_len ? len - src_len : 0;
        if (len >= src_len && strspn(line, " \t") >= indent && memcmp(line + indent, source, src_len) == 0) {
            size_t offset = (size_t)column - 1 < src_len ? (size_t)column - 1 : src_len;
            const char *caret = end + 1;
            size_t want = indent + offset;
            size_t caret_len = strcspn(caret, "\n");
            if (caret_len > want && caret[want] == '^' && strspn(caret, " \t") == want)
                return true;
        }
        line = end;
    }
    return false;
}

/* One golden file: it must fail to load with the stated error. */
static void check_golden(const char *path)
{
    int before = test_failures;
    expectation e;
    bool parsed = parse_expectation(path, &e);
    EXPECT(parsed);
    if (!parsed) {
        fprintf(stderr, "  %s: first line must read '# error: [FILE:]LINE:COLUMN: <message>'\n", path);
        return;
    }

    /* Where the error must be: the scenario itself, or a profile file beside it. */
    char file[PATH_MAX + 512], resolved_file[PATH_MAX + 512];
    resolved_file[0] = '\0';
    if (e.file[0]) {
        snprintf(file, sizeof file, "%s/%s", ERRORS_DIR, e.file);
        char dir[PATH_MAX];
        if (realpath(ERRORS_DIR, dir))
            snprintf(resolved_file, sizeof resolved_file, "%s/%s", dir, e.file);
    } else {
        snprintf(file, sizeof file, "%s", path);
    }

    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(path, &d);
    EXPECT(sc == NULL);
    if (sc)
        fprintf(stderr, "  %s: loaded without an error\n", path);
    EXPECT(d.message != NULL);
    if (d.message) {
        /* A profile named by name is reported under its resolved (absolute) path. */
        const char *where = resolved_file[0] && starts_with(d.message, resolved_file) ? resolved_file : file;
        char prefix[PATH_MAX + 640];
        snprintf(prefix, sizeof prefix, "%s:%d:%d: error: ", where, e.line, e.column);
        char *head = xstrndup(d.message, strlen(prefix));
        EXPECT_STR(head, prefix);
        xfree(head);

        /* The substring must be in the message itself, not in the quoted source line. */
        char *first_line = xstrndup(d.message, strcspn(d.message, "\n"));
        EXPECT_CONTAINS(first_line, e.text);
        xfree(first_line);

        /* libfyaml's internal chatter is not for users. */
        EXPECT(strstr(d.message, "[ERR]") == NULL);

        char *source = read_line(where, e.line);
        if (source) {
            bool excerpt = has_excerpt(d.message, source, e.column);
            EXPECT(excerpt);
            if (!excerpt)
                fprintf(stderr, "  no excerpt of line %d (\"%s\") with a caret at column %d in:\n%s\n", e.line,
                        source, e.column, d.message);
            xfree(source);
        }
    }
    if (test_failures > before)
        fprintf(stderr, "  ^ in golden file %s\n", path);
    scenario_free(sc);
    diag_free(&d);
}

static void test_golden_files(void)
{
    path_list list = list_yaml(ERRORS_DIR);
    EXPECT(list.n >= GOLDEN_MIN);
    if (list.n < GOLDEN_MIN)
        fprintf(stderr, "  %s holds %d golden files, expected at least %d\n", ERRORS_DIR, list.n, GOLDEN_MIN);
    for (int i = 0; i < list.n; i++)
        check_golden(list.paths[i]);
    path_list_free(&list);
}

/* The positive control: every shipped scenario loads. */
static void test_basic_scenarios_load(void)
{
    path_list list = list_yaml(BASIC_DIR);
    EXPECT(list.n >= 1);
    for (int i = 0; i < list.n; i++) {
        diag d;
        diag_init(&d);
        scenario *sc = scenario_load(list.paths[i], &d);
        EXPECT(sc != NULL);
        EXPECT(d.message == NULL);
        if (!sc || d.message)
            fprintf(stderr, "  %s: %s\n", list.paths[i], d.message ? d.message : "(no message)");
        scenario_free(sc);
        diag_free(&d);
    }
    path_list_free(&list);
}

static void test_missing_file(void)
{
    const char *path = ERRORS_DIR "/no-such-scenario.yaml";
    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(path, &d);
    EXPECT(sc == NULL);
    EXPECT(d.message != NULL);
    if (d.message) {
        EXPECT(starts_with(d.message, path));
        EXPECT_CONTAINS(d.message, "cannot open");
        EXPECT_CONTAINS(d.message, "No such file");
    }
    scenario_free(sc);
    diag_free(&d);
}

/* Write text to dir/name; the path goes to out. */
static bool write_file(const char *dir, const char *name, const char *text, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
    FILE *f = fopen(out, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* A file with nothing to load must say so, at 1:1. */
static void expect_empty(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    bool written = write_file(dir, name, text, path, sizeof path);
    EXPECT(written);
    if (!written)
        return;
    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(path, &d);
    EXPECT(sc == NULL);
    EXPECT(d.message != NULL);
    if (d.message) {
        char prefix[PATH_MAX + 32];
        snprintf(prefix, sizeof prefix, "%s:1:1: error: ", path);
        EXPECT(starts_with(d.message, prefix));
        EXPECT_CONTAINS(d.message, "the file is empty");
    }
    scenario_free(sc);
    diag_free(&d);
    unlink(path);
}

/* Write size bytes of data to dir/name; the path goes to out. */
static bool write_bytes(const char *dir, const char *name, const void *data, size_t size, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
    FILE *f = fopen(out, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* Loading dir/name (size bytes of data) must fail with "<path>:<where>: error: " and text in the first line. */
static void expect_refused(const char *dir, const char *name, const void *data, size_t size, const char *where,
                           const char *text)
{
    char path[PATH_MAX];
    bool written = write_bytes(dir, name, data, size, path, sizeof path);
    EXPECT(written);
    if (!written)
        return;
    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(path, &d);
    EXPECT(sc == NULL);
    EXPECT(d.message != NULL);
    if (d.message) {
        char prefix[PATH_MAX + 64];
        snprintf(prefix, sizeof prefix, "%s%s%s: error: ", path, *where ? ":" : "", where);
        char *first_line = xstrndup(d.message, strcspn(d.message, "\n"));
        EXPECT(starts_with(first_line, prefix));
        EXPECT_CONTAINS(first_line, text);
        if (!starts_with(first_line, prefix) || !strstr(first_line, text))
            fprintf(stderr, "  %s: expected %s ... %s, got: %s\n", name, prefix, text, first_line);
        xfree(first_line);
        /* The quoted line shows a control character as '?', never raw on the terminal. */
        for (const char *p = d.message; *p; p++)
            EXPECT(!((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t'));
    }
    scenario_free(sc);
    diag_free(&d);
    unlink(path);
}

/* Loading dir/name must succeed; returns the scenario (NULL after reporting the error). */
static scenario *expect_loads(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    bool written = write_file(dir, name, text, path, sizeof path);
    EXPECT(written);
    diag d;
    diag_init(&d);
    scenario *sc = written ? scenario_load(path, &d) : NULL;
    EXPECT(sc != NULL);
    if (d.message)
        fprintf(stderr, "  %s: %s\n", name, d.message);
    diag_free(&d);
    if (written)
        unlink(path);
    return sc;
}

#define SCENARIO_TAIL "devices: { phone: {} }\nsteps:\n  - { at: 0s, sync: all }\n"

/*
 * The guards in front of libfyaml (sim/yaml.c) on what a golden file cannot
 * hold or would be too large to commit: a NUL byte, an escape character, a
 * UTF-16 file, a file over the size bound and one at it, whitespace runs at
 * the bound and over it; and aliases and merge keys, which must still work.
 */
static void test_yaml_bounds(const char *dir)
{
    static const char NUL_BYTE[] = "profile: {}\nname: x\0garbage\n" SCENARIO_TAIL;
    expect_refused(dir, "nul.yaml", NUL_BYTE, sizeof NUL_BYTE - 1, "2:8", "a NUL byte is not allowed");
    static const char ESCAPE[] = "profile: {}\nname: \x1b[2Jx\n" SCENARIO_TAIL;
    expect_refused(dir, "escape.yaml", ESCAPE, sizeof ESCAPE - 1, "2:7", "character U+001B (a control character)");
    static const char UTF16[] = "\xff\xfep\0r\0o\0f\0";
    expect_refused(dir, "utf16.yaml", UTF16, sizeof UTF16 - 1, "1:1", "save it as UTF-8");
    /* A directive right after UTF-8's byte order mark still starts its line. */
    static const char BOM_DIRECTIVE[] = "\xef\xbb\xbf%YAML 1.2\n---\nprofile: {}\n" SCENARIO_TAIL;
    expect_refused(dir, "bom-directive.yaml", BOM_DIRECTIVE, sizeof BOM_DIRECTIVE - 1, "1:1",
                   "a line starting with '%' is a YAML directive");
    scenario_free(expect_loads(dir, "bom.yaml", "\xef\xbb\xbfprofile: {}\n" SCENARIO_TAIL));

    /* Size: one byte over the bound is refused before anything is parsed; a file at the
     * bound is read whole (all comments: "empty", not "larger than"). */
    size_t size = YAML_FILE_BYTES_MAX;
    char *big = xmalloc(size + 1);
    for (size_t i = 0; i < size; i++)
        big[i] = i % 64 == 63 ? '\n' : i % 64 == 0 ? '#' : 'x';
    big[size - 1] = '\n';
    big[size] = '\n';
    expect_refused(dir, "over.yaml", big, size + 1, "", "the file is larger than 4194304 bytes");
    expect_refused(dir, "at-bound.yaml", big, size, "1:1", "the file is empty");
    xfree(big);

    /* Whitespace: 128 characters in a row load, 129 do not (spaces before the line break). */
    scenario *sc;
    char text[1024];
    snprintf(text, sizeof text, "profile: {}\nname: x%*s\n" SCENARIO_TAIL, YAML_WHITESPACE_RUN_MAX - 1, "");
    scenario_free(expect_loads(dir, "run-at-bound.yaml", text));
    snprintf(text, sizeof text, "profile: {}\nname: x%*s\n" SCENARIO_TAIL, YAML_WHITESPACE_RUN_MAX, "");
    expect_refused(dir, "run-over.yaml", text, strlen(text), "2:8", "more than 128 spaces, tabs and line breaks");

    /* With an alias in it, a document is resolved by libfyaml, which compares every key of a
     * mapping with every other: 4,000 devices (16,000,000 comparisons) are refused then, and
     * load without the alias. */
    buf devices;
    buf_init(&devices);
    buf_puts(&devices, "profile: {}\ndevices:\n");
    for (int i = 0; i < 4000; i++)
        buf_printf(&devices, "  d%d: {}\n", i);
    buf plain, aliased;
    buf_init(&plain);
    buf_init(&aliased);
    buf_printf(&plain, "%ssteps:\n  - { at: 0s, sync: all }\n  - { at: 1s, sync: all }\n", devices.data);
    buf_printf(&aliased, "%ssteps:\n  - { at: 0s, sync: &everyone all }\n  - { at: 1s, sync: *everyone }\n",
               devices.data);
    sc = expect_loads(dir, "many-devices.yaml", plain.data);
    if (sc)
        EXPECT_INT(sc->n_devices, 4000);
    scenario_free(sc);
    expect_refused(dir, "many-devices-aliased.yaml", aliased.data, aliased.len, "4005:22",
                   "would take 16000017 key comparisons to resolve, more than 10000000");
    buf_free(&devices);
    buf_free(&plain);
    buf_free(&aliased);

    /* Aliases and merge keys resolve as before the guards. */
    sc = expect_loads(dir, "aliases.yaml",
                                "profile: {}\n"
                                "devices:\n"
                                "  phone: { clock: &skewed { offset: -90s, drift_ppm: 40 } }\n"
                                "  laptop: { clock: *skewed }\n"
                                "  tablet: { clock: { <<: *skewed, offset: 30s } }\n"
                                "steps:\n"
                                "  - { at: 0s, sync: all }\n");
    if (sc) {
        int laptop = scenario_node(sc, "laptop"), tablet = scenario_node(sc, "tablet");
        EXPECT(laptop > 0 && tablet > 0);
        if (laptop > 0 && tablet > 0) {
            EXPECT_INT(sc->devices[laptop - 1].clock.offset_us, -90 * INT64_C(1000000));
            EXPECT_INT(sc->devices[laptop - 1].clock.drift_ppb, 40000);
            EXPECT_INT(sc->devices[tablet - 1].clock.offset_us, 30 * INT64_C(1000000));
            EXPECT_INT(sc->devices[tablet - 1].clock.drift_ppb, 40000);
        }
    }
    scenario_free(sc);
}

/*
 * Files made on the fly: empty ones (a golden file cannot be empty, it
 * carries its expectation), a directory given as the scenario, and a valid
 * duration that must load.
 */
static void test_temporary_files(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/syncsim-scenario-errors-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    bool made = mkdtemp(dir) != NULL;
    EXPECT(made);
    if (!made)
        return;

    test_yaml_bounds(dir);
    expect_empty(dir, "empty.yaml", "");
    expect_empty(dir, "comment-only.yaml", "# a scenario, some day\n\n   # nothing yet\n");
    expect_empty(dir, "blank.yaml", "  \n\t\n\n");

    /* A directory is not a scenario, and certainly not an empty one. */
    {
        diag d;
        diag_init(&d);
        scenario *sc = scenario_load(dir, &d);
        EXPECT(sc == NULL);
        EXPECT(d.message != NULL);
        if (d.message) {
            EXPECT(starts_with(d.message, dir));
            EXPECT_CONTAINS(d.message, "directory");
            EXPECT(strstr(d.message, "empty") == NULL);
        }
        scenario_free(sc);
        diag_free(&d);
    }

    /* 0.500000000d is exactly 12h: a long fraction of a large unit must not overflow. */
    {
        char path[PATH_MAX];
        bool written = write_file(dir, "half-day.yaml",
                                  "profile: {}\n"
                                  "devices: { phone: {} }\n"
                                  "steps:\n"
                                  "  - { at: 0.500000000d, sync: all }\n",
                                  path, sizeof path);
        EXPECT(written);
        diag d;
        diag_init(&d);
        scenario *sc = written ? scenario_load(path, &d) : NULL;
        EXPECT(sc != NULL);
        if (d.message)
            fprintf(stderr, "  %s\n", d.message);
        if (sc) {
            EXPECT_INT(sc->n_steps, 1);
            if (sc->n_steps == 1)
                EXPECT_INT(sc->steps[0].at_us, INT64_C(12) * 3600 * 1000000);
        }
        scenario_free(sc);
        diag_free(&d);
        if (written)
            unlink(path);
    }
    rmdir(dir);
}

/* Load text as a scenario from a temporary file; NULL (reported) when it does not load. */
static scenario *load_text(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    bool written = write_file(dir, name, text, path, sizeof path);
    EXPECT(written);
    if (!written)
        return NULL;
    diag d;
    diag_init(&d);
    scenario *sc = scenario_load(path, &d);
    EXPECT(sc != NULL);
    if (!sc)
        fprintf(stderr, "  %s: %s\n", name, d.message ? d.message : "(no message)");
    diag_free(&d);
    unlink(path);
    return sc;
}

/*
 * expect: checks: becomes a class set plus the state flag, exactly the names
 * given; without the key nothing is set, and an empty list is given but
 * empty. (The golden files cover what is refused.)
 */
static void test_checks_loaded(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/syncsim-scenario-checks-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    bool made = mkdtemp(dir) != NULL;
    EXPECT(made);
    if (!made)
        return;
#define CHECKS_HEAD                                                                      \
    "profile: { name: inline }\n"                                                        \
    "devices: { phone: {} }\n"                                                           \
    "steps:\n"                                                                           \
    "  - { at: 0s, device: phone, create: { type: note, id: n1, fields: { text: a } } }\n"

    scenario *sc = load_text(dir, "checks.yaml",
                             CHECKS_HEAD "expect:\n"
                                         "  state: { note/n1: { text: a } }\n"
                                         "  checks: [no-quiescence, state, silent-overwrite, divergence, counter-drift]\n");
    if (sc) {
        EXPECT(sc->expect.has_checks);
        EXPECT_U64(sc->expect.checks, VCLASS_BIT(VC_NO_QUIESCENCE) | VCLASS_BIT(VC_SILENT_OVERWRITE) |
                                          VCLASS_BIT(VC_DIVERGENCE) | VCLASS_BIT(VC_COUNTER_DRIFT));
        EXPECT(sc->expect.checks_state);
        /* checks: is not violations: -- nothing is expected to occur. */
        EXPECT(!sc->expect.has_violations);
        EXPECT_U64(sc->expect.violations, 0);
        EXPECT_INT(sc->expect.n_state, 1);
    }
    scenario_free(sc);

    sc = load_text(dir, "classes-only.yaml",
                   CHECKS_HEAD "expect:\n"
                               "  state: { note/n1: { text: a } }\n"
                               "  checks: [lost-update]\n");
    if (sc) {
        EXPECT(sc->expect.has_checks);
        EXPECT_U64(sc->expect.checks, VCLASS_BIT(VC_LOST_UPDATE));
        EXPECT(!sc->expect.checks_state);
    }
    scenario_free(sc);

    sc = load_text(dir, "empty.yaml", CHECKS_HEAD "expect:\n  checks: []\n");
    if (sc) {
        EXPECT(sc->expect.has_checks);
        EXPECT_U64(sc->expect.checks, 0);
        EXPECT(!sc->expect.checks_state);
    }
    scenario_free(sc);

    sc = load_text(dir, "none.yaml", CHECKS_HEAD "expect:\n  violations: [lost-update]\n");
    if (sc) {
        EXPECT(!sc->expect.has_checks);
        EXPECT_U64(sc->expect.checks, 0);
        EXPECT(!sc->expect.checks_state);
    }
    scenario_free(sc);
#undef CHECKS_HEAD
    rmdir(dir);
}

int main(void)
{
    xalloc_install_cjson();
    test_golden_files();
    test_missing_file();
    test_temporary_files();
    test_checks_loaded();
    test_basic_scenarios_load();
    return test_exit("test-scenario-errors");
}
