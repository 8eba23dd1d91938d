/*
 * wire_dialect: what the dialect files share, internal to engine/ -- the
 * table of functions a dialect fills (one row per dialect in wire.c, as the
 * strategies in strategy.c), and the helpers they build messages from
 * (wire_json.c): strict typed getters, the documents' time formats, HTTP-like
 * envelopes, entity data, the "_syncsim" extension and status mapping.
 *
 * A dialect file owns one design's spelling of the four messages and nothing
 * else: it never decides anything, it only renders the engine's structs and
 * reads them back. Builders take engine-made structs (programmer errors are
 * assertions); parsers take anything and return false on what is malformed.
 */
#ifndef ENGINE_WIRE_DIALECT_H
#define ENGINE_WIRE_DIALECT_H

#include "engine/wire.h"

#include <stddef.h>

/*
 * A dialect whose messages travel as structs (message.h): builders that return the native form,
 * and readers of it. A reader reads exactly what the dialect's parser reads from the message's
 * JSON (false where the parser is false), for a message of the dialect's native kind.
 */
typedef struct wire_native {
    const message_kind *kind;
    message *(*push)(const wire_sender *from, int64_t req, int n, const outbox_entry *entries);
    bool (*push_read)(const message *msg, arena *a, int *n, wire_change **changes);
    message *(*push_result)(int64_t req, hlc clock, int64_t now_us, int n, const wire_result *results);
    bool (*push_result_read)(const message *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                             wire_result **results);
    message *(*pull)(int64_t req, int64_t since, const char *type, int limit);
    bool (*pull_read)(const message *msg, arena *a, int64_t *since, const char **type, int *limit);
    message *(*pull_result)(int64_t req, hlc clock, int64_t now_us, int n, const record *records, int64_t next,
                            bool has_more);
    bool (*pull_result_read)(const message *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                             const record **records, int64_t *next, bool *has_more);
    /* wire_pull_result_take's native half; NULL: pull_result copies. */
    message *(*pull_result_take)(int64_t req, hlc clock, int64_t now_us, int n, record *records, arena *owner,
                                 int64_t next, bool has_more);
    /* The message's type and correlation id. */
    msg_type (*type)(const message *msg);
    int64_t (*req)(const message *msg);
} wire_native;

/* A dialect with a native form builds its messages through it: its four JSON builders are NULL. */
struct wire_dialect {
    const char *name;        /* as written in profiles: sync: { wire: NAME } */
    const char *summary;     /* the document it follows */
    msg_type (*type)(const cJSON *msg);
    cJSON *(*push)(const wire_sender *from, int64_t req, int n, const outbox_entry *entries);
    bool (*push_parse)(const cJSON *msg, arena *a, int *n, wire_change **changes);
    cJSON *(*push_result)(int64_t req, hlc clock, int64_t now_us, int n, const wire_change *changes,
                          const wire_result *results);
    bool (*push_result_parse)(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n,
                              wire_result **results);
    cJSON *(*pull)(const wire_sender *from, int64_t req, int64_t since, const char *type, int limit);
    bool (*pull_parse)(const cJSON *msg, arena *a, int64_t *since, const char **type, int *limit);
    cJSON *(*pull_result)(int64_t req, hlc clock, int64_t now_us, int n, const record *records, int64_t next,
                          bool has_more);
    bool (*pull_result_parse)(const cJSON *msg, arena *a, hlc *clock, int64_t *now_us, int *n, record **records,
                              int64_t *next, bool *has_more);
    const wire_native *native;   /* NULL: the dialect's messages are JSON trees */
};

extern const wire_dialect WIRE_SYNCSIM;
extern const wire_dialect WIRE_ACTIVITY_EVENTS;
extern const wire_dialect WIRE_IRONFLOW;
extern const wire_dialect WIRE_STRONGLOG;
extern const wire_dialect WIRE_SMARTDMV;
extern const wire_dialect WIRE_DELTA_SYNC;

/* --- the built-in shapes, which other dialects reuse inside their extension ------------ */

cJSON *wire_syncsim_change(const outbox_entry *e);
bool wire_syncsim_change_parse(const cJSON *c, arena *a, wire_change *wc);
cJSON *wire_syncsim_result(const wire_result *r);
/* Strict: the status must be one of wire_result's (the syncsim dialect itself takes any string). */
bool wire_syncsim_result_parse(const cJSON *j, arena *a, wire_result *wr);

/* --- strict typed members: false (or NULL) when absent or of another type ------------- */

/* An integral number within +-2^53 (what a double holds exactly). */
bool wj_int(const cJSON *o, const char *key, int64_t *out);
/* The string, borrowed from the message. */
bool wj_str(const cJSON *o, const char *key, const char **out);
bool wj_bool(const cJSON *o, const char *key, bool *out);
const cJSON *wj_obj(const cJSON *o, const char *key);
const cJSON *wj_arr(const cJSON *o, const char *key);
/* A string member that must be present and equal to expected. */
bool wj_str_is(const cJSON *o, const char *key, const char *expected);
/* Allocate n items (at least one) of size each in a. */
void *wj_alloc(arena *a, int n, size_t size);

/* --- time as the documents write it ------------------------------------------------- */

/* Milliseconds since the epoch as a JSON number, with a fraction for the microseconds
 * (1735689600123.456): lossless through cJSON's printing for times within 2^51 us of the epoch
 * (until 2041; the builder asserts it, the parse refuses anything beyond). */
cJSON *wire_ms_json(int64_t us);
bool wire_ms_get(const cJSON *o, const char *key, int64_t *us);
/* The same as text for a query string ("1735689600123.456"); the parse is strict. */
#define WIRE_MS_TEXT_MAX 32
void wire_ms_text(int64_t us, char out[WIRE_MS_TEXT_MAX]);
bool wire_ms_text_parse(const char *text, int64_t *us);
/* ISO 8601 in UTC: "2025-11-11T14:30:00Z", with ".250" or ".250125" below the second. */
cJSON *wire_iso_json(int64_t us);
bool wire_iso_get(const cJSON *o, const char *key, int64_t *us);

/* --- envelopes ------------------------------------------------------------------------- */

/* {"method","path","req","body"}: *body is the body object to fill (NULL: a GET, no body). */
cJSON *wire_http_request(const char *method, const char *path, int64_t req, cJSON **body);
/* {"status","req","body"}. */
cJSON *wire_http_response(int status, int64_t req, cJSON **body);
/* The request's method and path; *body NULL when the request has none. */
bool wire_http_request_get(const cJSON *msg, const char **method, const char **path, const cJSON **body);
bool wire_http_response_get(const cJSON *msg, int64_t *status, const cJSON **body);
/* 200, or 400 when the server refused the whole batch (any result "rolled-back"). */
int wire_batch_status(int n, const wire_result *results);
bool wire_batch_status_agrees(int64_t status, int n, const wire_result *results);

/* A query string: "path?k=v&k=v". Values are percent-encoded (RFC 3986 unreserved kept). */
void wire_query_add(buf *path, const char *key, const char *value);
/* The path without its query is base. */
bool wire_query_path_is(const char *path, const char *base);
/* The first value of key, decoded into a; *value NULL when absent. False when any parameter
 * of the query is malformed. */
bool wire_query_get(const char *path, const char *key, arena *a, const char **value);

/* --- entity data: a record's fields as a plain JSON object ----------------------------- */

cJSON *wire_data_json(const record *r);
/* Add the fields to o itself, except those named in reserved (NULL-terminated): StrongLog's
 * records carry their sync fields and the entity's fields side by side. */
void wire_data_add(cJSON *o, const record *r, const char *const *reserved);
/* o holds exactly r's field values (reserved names aside). */
bool wire_data_agrees(const cJSON *o, const record *r, const char *const *reserved);

/* --- the extension --------------------------------------------------------------------- */

cJSON *wire_ext_add(cJSON *parent);
const cJSON *wire_ext_get(const cJSON *parent);
void wire_hlc_put(cJSON *o, hlc clock);
bool wire_hlc_get(const cJSON *o, hlc *out);
/* A record's JSON under "record" (record_to_json), and back. */
bool wire_record_get(const cJSON *o, arena *a, record *out);

/* What a change's extension carries besides its record: the members its document lacks. */
enum {
    WIRE_EXT_OP_ID = 1u,        /* the operation id */
    WIRE_EXT_BASE_VERSION = 2u, /* the version the change was made on */
    WIRE_EXT_OP = 4u,           /* the operation, always */
    WIRE_EXT_OP_BEYOND = 8u,    /* the operation when the document's create/update/delete cannot say it */
    WIRE_EXT_TEMP_ID = 16u,     /* results: the temporary id, when the server named the record (ids: server) */
};
/* Adds "_syncsim": {[op_id,] [op,] [base_version,] [force,] [changed,] record} to item; returns it. */
cJSON *wire_change_ext(cJSON *item, const outbox_entry *e, unsigned members);
/* Reads the extension into wc: the members named, then force, changed and the record.
 * With WIRE_EXT_OP_BEYOND, wc->op holds the document's operation and is refined. */
bool wire_change_ext_parse(const cJSON *item, unsigned members, arena *a, wire_change *wc);
/* The rules every parsed change keeps (its changed fields exist, a delete carries a tombstone,
 * an append its event, an increment one field). */
bool wire_change_valid(const wire_change *wc);

/* create, update or delete: the operations the documents name. Increments and appends are
 * updates there (their exact kind travels in the extension). */
const char *wire_doc_op(op_kind op);
bool wire_doc_op_parse(const char *text, op_kind *out);
/* The operation a pulled record stands for: delete, create (its first version) or update. */
const char *wire_doc_op_of(const record *r);

/* --- results: a document's coarse status, refined by the extension ---------------------- */

/* The status, interned, when it is one of wire_result's; NULL otherwise. */
const char *wire_status_known(const char *text);
bool wire_status_is(const wire_result *r, const char *status);
/*
 * A result's extension holds what the document cannot say: the status when it is not the
 * default the document's own fields imply, the conflict flag when it is not the default,
 * the error (with_error), the op id (WIRE_EXT_OP_ID) and the record.
 */
void wire_result_ext(cJSON *item, const wire_result *r, unsigned members, const char *default_status,
                     bool default_conflict, bool with_error);
bool wire_result_ext_parse(const cJSON *item, unsigned members, const char *default_status, bool default_conflict,
                           bool with_error, arena *a, wire_result *wr);
/* The same members in an object of the caller's (delta-sync lists its results in the body's extension). */
void wire_result_members(cJSON *ext, const wire_result *r, unsigned members, const char *default_status,
                         bool default_conflict, bool with_error);
bool wire_result_members_parse(const cJSON *ext, unsigned members, const char *default_status,
                               bool default_conflict, bool with_error, arena *a, wire_result *wr);

/* --- pulls ----------------------------------------------------------------------------- */

/* The bounds every dialect's pull keeps (those of the built-in protocol). */
bool wire_pull_args_valid(int64_t since, int64_t limit);

#endif
