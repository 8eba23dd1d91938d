/*
 * yaml: a thin layer over libfyaml for reading configuration with precise
 * errors. Every getter checks the node's type and, on a mismatch, records in
 * the diag what was expected, found where (file:line:column).
 */
#ifndef SIM_YAML_H
#define SIM_YAML_H

#include "base/arena.h"
#include "engine/value.h"
#include "sim/diag.h"

#include <libfyaml.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Bounds on a YAML file (scenarios, profiles, grids). Each keeps libfyaml
 * 0.7.12 from hanging or taking unbounded time or memory on some input (see
 * yaml.c for which input and why); a file over one is refused with an error
 * that names it.
 */
#define YAML_FILE_BYTES_MAX (4 << 20)      /* the whole file, read once */
#define YAML_NODES_MAX 1000000             /* scalars and collections, aliases expanded */
#define YAML_DEPTH_MAX 64                  /* nesting levels, aliases expanded (libfyaml's own limit) */
#define YAML_WHITESPACE_RUN_MAX 128        /* spaces, tabs and line breaks in a row */
#define YAML_ALIAS_KEY_COMPARISONS_MAX 10000000   /* with aliases: sum of mappings' pairs squared */

typedef struct yaml_doc {
    struct fy_parser *parser;
    struct fy_document *fyd;
    struct fy_diag *fy_diag;
    const char *path;        /* borrowed */
    char *text;              /* the file's bytes, checked; what libfyaml parses */
    size_t text_len;
    FILE *stream;            /* libfyaml's input: text, through fmemopen */
    bool has_aliases;        /* the document has aliases (and so is resolved) */
    char *capture;           /* libfyaml's diagnostic output, captured */
    size_t capture_len;
    size_t capture_cap;
} yaml_doc;

/*
 * Open and parse a file. Missing, unreadable, empty or malformed files are
 * errors, and so are files over a bound above, invalid UTF-8, control
 * characters, YAML directives and a second document.
 */
bool yaml_open(yaml_doc *doc, const char *path, diag *d);
void yaml_close(yaml_doc *doc);
struct fy_node *yaml_root(const yaml_doc *doc);

src_pos yaml_pos(yaml_doc *doc, struct fy_node *n);
/* "a mapping", "a sequence", "a string", "a number", "null", ... */
const char *yaml_describe(struct fy_node *n);

bool yaml_is_mapping(struct fy_node *n);
bool yaml_is_sequence(struct fy_node *n);
bool yaml_is_scalar(struct fy_node *n);
/* A plain null scalar ("", "~", "null"), or no node. */
bool yaml_is_null(struct fy_node *n);

/* Error unless n is a mapping; what names the thing expected ("the network settings"). */
bool yaml_want_mapping(yaml_doc *doc, struct fy_node *n, diag *d, const char *what);
bool yaml_want_sequence(yaml_doc *doc, struct fy_node *n, diag *d, const char *what);
/* Every key of map must be in allowed; otherwise "unknown key 'x' in <context>; did you mean 'y'?". */
bool yaml_check_keys(yaml_doc *doc, struct fy_node *map, const char *const *allowed, int n_allowed, diag *d,
                     const char *context);
/* Value of key in map, or NULL. */
struct fy_node *yaml_get(struct fy_node *map, const char *key);
/* Key node of the pair holding key, or the map itself when absent (for positions). */
struct fy_node *yaml_key_node(struct fy_node *map, const char *key);

/* Scalar getters: return false with an error in d on a wrong type or range. */
bool yaml_text(yaml_doc *doc, struct fy_node *n, const char **out, diag *d, const char *what);
bool yaml_string(yaml_doc *doc, struct fy_node *n, arena *a, const char **out, diag *d, const char *what);
bool yaml_duration(yaml_doc *doc, struct fy_node *n, bool allow_negative, int64_t *out, diag *d, const char *what);
bool yaml_int(yaml_doc *doc, struct fy_node *n, int64_t min, int64_t max, int64_t *out, diag *d, const char *what);
bool yaml_u64(yaml_doc *doc, struct fy_node *n, uint64_t *out, diag *d, const char *what);
bool yaml_number(yaml_doc *doc, struct fy_node *n, double min, double max, double *out, diag *d, const char *what);
bool yaml_bool(yaml_doc *doc, struct fy_node *n, bool *out, diag *d, const char *what);
/* One of words[] (*out its index), or an error at n: "unknown WHAT 'x'; did you mean 'y'? (expected a, b or c)". */
bool yaml_one_of(yaml_doc *doc, struct fy_node *n, const char *const *words, int n_words, int *out, diag *d,
                 const char *what);
/* A field value: plain scalars are typed as YAML 1.2 core (null, bool, int, float); quoted ones are strings. */
bool yaml_value(yaml_doc *doc, struct fy_node *n, arena *a, value *out, diag *d, const char *what);

/* Iterate a mapping: *key_text and *val set; returns false at the end. */
typedef struct yaml_iter {
    void *state;
} yaml_iter;
bool yaml_next_pair(struct fy_node *map, yaml_iter *it, struct fy_node **key, struct fy_node **val);

#endif
