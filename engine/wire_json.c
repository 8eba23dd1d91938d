/*
 * wire_json: the helpers the dialects build their messages from. See
 * wire_dialect.h. Everything here is pure: no clock, no randomness; time
 * values are converted with integer arithmetic (ISO text, millisecond text)
 * or one IEEE division and multiplication (millisecond numbers), which gcc
 * and clang compute alike (the build forbids contraction).
 */
#include "engine/wire_dialect.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define SAFE_INT (INT64_C(1) << 53)

/* --- typed members ----------------------------------------------------------------------- */

bool wj_int(const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(j))
        return false;
    double d = j->valuedouble;
    if (!(d > -(double)SAFE_INT && d < (double)SAFE_INT) || d != (double)(int64_t)d)
        return false;
    *out = (int64_t)d;
    return true;
}

bool wj_str(const cJSON *o, const char *key, const char **out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(j) || !j->valuestring)
        return false;
    *out = j->valuestring;
    return true;
}

bool wj_bool(const cJSON *o, const char *key, bool *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsBool(j))
        return false;
    *out = cJSON_IsTrue(j);
    return true;
}

const cJSON *wj_obj(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsObject(j) ? j : NULL;
}

const cJSON *wj_arr(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsArray(j) ? j : NULL;
}

bool wj_str_is(const cJSON *o, const char *key, const char *expected)
{
    const char *s;
    return wj_str(o, key, &s) && strcmp(s, expected) == 0;
}

void *wj_alloc(arena *a, int n, size_t size)
{
    assert(n >= 0);
    return arena_alloc(a, (size_t)(n ? n : 1) * size);
}

/* --- time ------------------------------------------------------------------------------- */

/*
 * Largest |us| the millisecond forms carry: 2^51 us, 2041-05-06 (the simulator's clocks start in
 * 2025 and a scenario lasts at most 400 days). Below it a millisecond number survives cJSON's
 * printing exactly: cJSON prints 15 significant digits only when they read back within
 * |x| * DBL_EPSILON (under half a microsecond here), which for |x| < 2^41 ms happens only when
 * the 15 digits are the exact decimal; otherwise it prints 17, which read back as the same double.
 * Above 2^51 us that tolerance reaches a whole microsecond and the text may be one off, so the
 * parse refuses such times rather than read them wrong.
 */
#define MS_LIMIT_US (INT64_C(1) << 51)

cJSON *wire_ms_json(int64_t us)
{
    /* Whole milliseconds print as integers (cJSON prints the shortest text that reads back as
     * the same double). The fraction, when any, reads back exactly: see wire_ms_get. */
    assert(us > -MS_LIMIT_US && us < MS_LIMIT_US);
    return cJSON_CreateNumber((double)us / 1000.0);
}

bool wire_ms_get(const cJSON *o, const char *key, int64_t *us)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(j))
        return false;
    double ms = j->valuedouble;
    double x = ms * 1000.0;
    if (!(x > -(double)MS_LIMIT_US && x < (double)MS_LIMIT_US))
        return false;
    int64_t nearest = (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
    /*
     * ms is the correctly rounded quotient us / 1000 of wire_ms_json (see MS_LIMIT_US), and
     * the product above adds a rounding of its own (up to an eighth of a microsecond near the
     * limit), so nearest may be one off. Below the limit quotients of neighbouring
     * microseconds are distinct doubles (an ulp is at most 2^-12 ms), so exactly one of
     * nearest and its neighbours divides back to ms when the number came from wire_ms_json;
     * a number written by hand that matches none reads as nearest.
     */
    static const int64_t TRY[] = { 0, -1, 1 };
    *us = nearest;
    for (int i = 0; i < 3; i++)
        if ((double)(nearest + TRY[i]) / 1000.0 == ms) {
            *us = nearest + TRY[i];
            break;
        }
    return true;
}

void wire_ms_text(int64_t us, char out[WIRE_MS_TEXT_MAX])
{
    uint64_t mag = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    unsigned frac = (unsigned)(mag % 1000);
    int n = snprintf(out, WIRE_MS_TEXT_MAX, "%s%llu", us < 0 ? "-" : "", (unsigned long long)(mag / 1000));
    if (frac)
        snprintf(out + n, (size_t)(WIRE_MS_TEXT_MAX - n), ".%03u", frac);
}

bool wire_ms_text_parse(const char *text, int64_t *us)
{
    const char *p = text;
    bool negative = *p == '-';
    if (negative)
        p++;
    uint64_t ms = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 15)
            return false;   /* beyond MS_LIMIT_US anyway */
        ms = ms * 10 + (uint64_t)(*p - '0');
    }
    if (digits == 0)
        return false;
    uint64_t frac = 0;
    if (*p == '.') {
        p++;
        int f = 0;
        for (; *p >= '0' && *p <= '9'; p++, f++) {
            if (f == 3)
                return false;
            frac = frac * 10 + (uint64_t)(*p - '0');
        }
        if (f == 0)
            return false;
        for (; f < 3; f++)
            frac *= 10;
    }
    uint64_t mag = ms * 1000 + frac;
    if (*p != '\0' || mag >= (uint64_t)MS_LIMIT_US)
        return false;
    *us = negative ? -(int64_t)mag : (int64_t)mag;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

#define US_PER_DAY INT64_C(86400000000)

cJSON *wire_iso_json(int64_t us)
{
    /* Floor division: times before the epoch still print a valid date and time of day. */
    int64_t days = us >= 0 ? us / US_PER_DAY : -((-(us + 1)) / US_PER_DAY) - 1;
    int64_t in_day = us - days * US_PER_DAY;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t secs = in_day / 1000000, sub = in_day % 1000000;
    char text[64];
    int n = snprintf(text, sizeof text, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, m, d, (int)(secs / 3600),
                     (int)(secs / 60 % 60), (int)(secs % 60));
    if (sub % 1000 == 0 && sub)
        n += snprintf(text + n, sizeof text - (size_t)n, ".%03d", (int)(sub / 1000));
    else if (sub)
        n += snprintf(text + n, sizeof text - (size_t)n, ".%06d", (int)sub);
    snprintf(text + n, sizeof text - (size_t)n, "Z");
    return cJSON_CreateString(text);
}

/* n decimal digits at p; false unless all are digits. */
static bool digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

bool wire_iso_get(const cJSON *o, const char *key, int64_t *us)
{
    const char *s;
    if (!wj_str(o, key, &s) || strlen(s) < 20)
        return false;
    int y, mo, d, h, mi, se;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
        s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se))
        return false;
    static const unsigned MONTH_DAYS[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > MONTH_DAYS[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
        mi > 59 || se > 59)
        return false;
    const char *p = s + 19;
    int64_t sub = 0;
    if (*p == '.') {
        p++;
        int f = 0;
        for (; *p >= '0' && *p <= '9'; p++, f++) {
            if (f == 6)
                return false;
            sub = sub * 10 + (*p - '0');
        }
        if (f == 0)
            return false;
        for (; f < 6; f++)
            sub *= 10;
    }
    if (p[0] != 'Z' || p[1] != '\0')
        return false;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *us = days * US_PER_DAY + ((int64_t)h * 3600 + mi * 60 + se) * 1000000 + sub;
    return true;
}

/* --- envelopes ------------------------------------------------------------------------------ */

cJSON *wire_http_request(const char *method, const char *path, int64_t req, cJSON **body)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "method", method);
    cJSON_AddStringToObject(msg, "path", path);
    cJSON_AddNumberToObject(msg, "req", (double)req);
    if (body)
        *body = cJSON_AddObjectToObject(msg, "body");
    return msg;
}

cJSON *wire_http_response(int status, int64_t req, cJSON **body)
{
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddNumberToObject(msg, "status", status);
    cJSON_AddNumberToObject(msg, "req", (double)req);
    if (body)
        *body = cJSON_AddObjectToObject(msg, "body");
    return msg;
}

bool wire_http_request_get(const cJSON *msg, const char **method, const char **path, const cJSON **body)
{
    if (!wj_str(msg, "method", method) || !wj_str(msg, "path", path))
        return false;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(msg, "body");
    if (b && !cJSON_IsObject(b) && !cJSON_IsArray(b))
        return false;
    *body = b;
    return true;
}

bool wire_http_response_get(const cJSON *msg, int64_t *status, const cJSON **body)
{
    *body = wj_obj(msg, "body");
    return wj_int(msg, "status", status) && *body;
}

int wire_batch_status(int n, const wire_result *results)
{
    for (int i = 0; i < n; i++)
        if (wire_status_is(&results[i], "rolled-back"))
            return 400;
    return 200;
}

bool wire_batch_status_agrees(int64_t status, int n, const wire_result *results)
{
    return status == wire_batch_status(n, results);
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

void wire_query_add(buf *path, const char *key, const char *value)
{
    buf_putc(path, strchr(path->data ? path->data : "", '?') ? '&' : '?');
    buf_puts(path, key);
    buf_putc(path, '=');
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (unreserved(*p))
            buf_putc(path, (char)*p);
        else
            buf_printf(path, "%%%02X", *p);
    }
}

bool wire_query_path_is(const char *path, const char *base)
{
    size_t n = strlen(base);
    return strncmp(path, base, n) == 0 && (path[n] == '\0' || path[n] == '?');
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode [v, end) into a; false on anything but unreserved characters and %XX (NUL excluded). */
static bool percent_decode(const char *v, const char *end, arena *a, const char **out)
{
    char *text = arena_alloc(a, (size_t)(end - v) + 1);
    size_t k = 0;
    for (const char *p = v; p < end; p++) {
        if (*p == '%') {
            if (end - p < 3)
                return false;
            int hi = hex_digit(p[1]), lo = hex_digit(p[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;   /* NUL would cut the value short */
            text[k++] = (char)(hi * 16 + lo);
            p += 2;
        } else if (unreserved((unsigned char)*p)) {
            text[k++] = *p;
        } else {
            return false;
        }
    }
    text[k] = '\0';
    *out = text;
    return true;
}

bool wire_query_get(const char *path, const char *key, arena *a, const char **value)
{
    *value = NULL;
    const char *q = strchr(path, '?');
    if (!q)
        return true;
    size_t key_len = strlen(key);
    for (const char *param = q + 1;;) {
        const char *end = strchr(param, '&');
        if (!end)
            end = param + strlen(param);
        const char *eq = memchr(param, '=', (size_t)(end - param));
        if (!eq || eq == param)
            return false;   /* every parameter is key=value */
        const char *decoded;
        if (!percent_decode(eq + 1, end, a, &decoded))
            return false;
        if (!*value && (size_t)(eq - param) == key_len && strncmp(param, key, key_len) == 0)
            *value = decoded;
        if (!*end)
            return true;
        param = end + 1;
    }
}

/* --- entity data ------------------------------------------------------------------------------ */

static bool reserved_name(const char *name, const char *const *reserved)
{
    for (; reserved && *reserved; reserved++)
        if (strcmp(name, *reserved) == 0)
            return true;
    return false;
}

void wire_data_add(cJSON *o, const record *r, const char *const *reserved)
{
    for (int i = 0; i < r->n_fields; i++)
        if (!reserved_name(r->fields[i].name, reserved))
            cJSON_AddItemToObject(o, r->fields[i].name, value_to_json(&r->fields[i].v));
}

cJSON *wire_data_json(const record *r)
{
    cJSON *o = cJSON_CreateObject();
    wire_data_add(o, r, NULL);
    return o;
}

bool wire_data_agrees(const cJSON *o, const record *r, const char *const *reserved)
{
    if (!cJSON_IsObject(o))
        return false;
    int expected = 0;
    for (int i = 0; i < r->n_fields; i++) {
        const field *f = &r->fields[i];
        if (reserved_name(f->name, reserved))
            continue;
        expected++;
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, f->name);
        value v;
        if (!j)
            return false;
        /* Compared in place (value_from_json would copy strings into an arena). */
        if (f->v.kind == VAL_STRING) {
            if (!cJSON_IsString(j) || strcmp(j->valuestring, f->v.s) != 0)
                return false;
            continue;
        }
        if (cJSON_IsString(j) || cJSON_IsArray(j) || cJSON_IsObject(j))
            return false;
        memset(&v, 0, sizeof v);
        if (cJSON_IsNull(j)) {
            v.kind = VAL_NULL;
        } else if (cJSON_IsBool(j)) {
            v.kind = VAL_BOOL;
            v.b = cJSON_IsTrue(j);
        } else if (cJSON_IsNumber(j)) {
            v.kind = VAL_REAL;
            v.r = j->valuedouble;
        } else {
            return false;
        }
        if (!value_equal(&f->v, &v))
            return false;
    }
    /* No member beyond the fields (reserved names aside). */
    int members = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, o)
    {
        if (!m->string)
            return false;
        if (!reserved_name(m->string, reserved) && strcmp(m->string, WIRE_EXTENSION) != 0)
            members++;
    }
    return members == expected;
}

/* --- the extension -------------------------------------------------------------------------- */

cJSON *wire_ext_add(cJSON *parent)
{
    return cJSON_AddObjectToObject(parent, WIRE_EXTENSION);
}

const cJSON *wire_ext_get(const cJSON *parent)
{
    return wj_obj(parent, WIRE_EXTENSION);
}

void wire_hlc_put(cJSON *o, hlc clock)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "hlc");
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)clock.l_us));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)clock.c));
}

bool wire_hlc_get(const cJSON *o, hlc *out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "hlc");
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 2)
        return false;
    const cJSON *l = cJSON_GetArrayItem(arr, 0);
    const cJSON *c = cJSON_GetArrayItem(arr, 1);
    if (!cJSON_IsNumber(l) || !cJSON_IsNumber(c) || c->valuedouble < 0 || c->valuedouble > (double)UINT32_MAX ||
        c->valuedouble != (double)(uint32_t)c->valuedouble || !(l->valuedouble > -9.2e18 && l->valuedouble < 9.2e18))
        return false;
    out->l_us = (int64_t)l->valuedouble;
    out->c = (uint32_t)c->valuedouble;
    return true;
}

bool wire_record_get(const cJSON *o, arena *a, record *out)
{
    const char *why;
    return record_from_json(cJSON_GetObjectItemCaseSensitive(o, "record"), a, out, &why);
}

cJSON *wire_change_ext(cJSON *item, const outbox_entry *e, unsigned members)
{
    cJSON *ext = wire_ext_add(item);
    if (members & WIRE_EXT_OP_ID)
        cJSON_AddNumberToObject(ext, "op_id", (double)e->seq);
    bool beyond = e->op != OP_CREATE && e->op != OP_UPDATE && e->op != OP_DELETE;
    if ((members & WIRE_EXT_OP) || ((members & WIRE_EXT_OP_BEYOND) && beyond))
        cJSON_AddStringToObject(ext, "op", op_kind_name(e->op));
    if (members & WIRE_EXT_BASE_VERSION)
        cJSON_AddNumberToObject(ext, "base_version", (double)e->base_version);
    if (e->force)
        cJSON_AddBoolToObject(ext, "force", true);
    if (e->n_changed) {
        cJSON *changed = cJSON_AddArrayToObject(ext, "changed");
        for (int k = 0; k < e->n_changed; k++)
            cJSON_AddItemToArray(changed, cJSON_CreateString(e->changed[k]));
    }
    cJSON_AddItemToObject(ext, "record", record_to_json(&e->body));
    return ext;
}

bool wire_change_ext_parse(const cJSON *item, unsigned members, arena *a, wire_change *wc)
{
    const cJSON *ext = wire_ext_get(item);
    if (!ext)
        return false;
    if ((members & WIRE_EXT_OP_ID) && !wj_int(ext, "op_id", &wc->op_id))
        return false;
    if ((members & WIRE_EXT_BASE_VERSION) && !wj_int(ext, "base_version", &wc->base_version))
        return false;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(ext, "op");
    if (members & WIRE_EXT_OP) {
        if (!cJSON_IsString(op) || !op_kind_parse(op->valuestring, &wc->op) || wc->op >= OP_RESOLVE)
            return false;
    } else if (op) {
        /* Only what the document's operation cannot say, and only where it says "update". */
        op_kind exact;
        if (!(members & WIRE_EXT_OP_BEYOND) || !cJSON_IsString(op) || !op_kind_parse(op->valuestring, &exact) ||
            (exact != OP_INCREMENT && exact != OP_APPEND) || wc->op != OP_UPDATE)
            return false;
        wc->op = exact;
    }
    const cJSON *force = cJSON_GetObjectItemCaseSensitive(ext, "force");
    if (force && !cJSON_IsBool(force))
        return false;
    wc->force = cJSON_IsTrue(force);
    const cJSON *changed = cJSON_GetObjectItemCaseSensitive(ext, "changed");
    if (changed && !cJSON_IsArray(changed))
        return false;
    wc->n_changed = changed ? cJSON_GetArraySize(changed) : 0;
    wc->changed = wj_alloc(a, wc->n_changed, sizeof *wc->changed);
    int k = 0;
    const cJSON *name;
    cJSON_ArrayForEach(name, changed)
    {
        if (!cJSON_IsString(name))
            return false;
        wc->changed[k++] = arena_strdup(a, name->valuestring);
    }
    return wire_record_get(ext, a, &wc->rec);
}

bool wire_change_valid(const wire_change *wc)
{
    for (int k = 0; k < wc->n_changed; k++)
        if (!record_field(&wc->rec, wc->changed[k]))
            return false;
    if ((wc->op == OP_DELETE) != wc->rec.deleted)
        return false;
    /* An append carries its event, identified by the append's write id. */
    if (wc->op == OP_APPEND && record_find_event(&wc->rec, wc->rec.st.w) < 0)
        return false;
    if (wc->op == OP_INCREMENT && wc->n_changed != 1)
        return false;
    return true;
}

const char *wire_doc_op(op_kind op)
{
    switch (op) {
    case OP_CREATE: return "create";
    case OP_DELETE: return "delete";
    default: return "update";
    }
}

bool wire_doc_op_parse(const char *text, op_kind *out)
{
    if (strcmp(text, "create") == 0)
        *out = OP_CREATE;
    else if (strcmp(text, "update") == 0)
        *out = OP_UPDATE;
    else if (strcmp(text, "delete") == 0)
        *out = OP_DELETE;
    else
        return false;
    return true;
}

const char *wire_doc_op_of(const record *r)
{
    if (r->deleted)
        return "delete";
    return r->version <= 1 || r->version == r->born_version ? "create" : "update";
}

/* --- results -------------------------------------------------------------------------------- */

static const char *const STATUSES[] = { "applied",  "merged",    "rejected", "refused",
                                        "conflict", "forbidden", "invalid",  "rolled-back" };

const char *wire_status_known(const char *text)
{
    for (size_t i = 0; i < sizeof STATUSES / sizeof STATUSES[0]; i++)
        if (strcmp(text, STATUSES[i]) == 0)
            return STATUSES[i];
    return NULL;
}

bool wire_status_is(const wire_result *r, const char *status)
{
    return strcmp(r->status, status) == 0;
}

void wire_result_members(cJSON *ext, const wire_result *r, unsigned members, const char *default_status,
                         bool default_conflict, bool with_error)
{
    if (members & WIRE_EXT_OP_ID)
        cJSON_AddNumberToObject(ext, "op_id", (double)r->op_id);
    if (strcmp(r->status, default_status) != 0)
        cJSON_AddStringToObject(ext, "status", r->status);
    if (r->conflict != default_conflict)
        cJSON_AddBoolToObject(ext, "conflict", r->conflict);
    if (with_error && r->error)
        cJSON_AddStringToObject(ext, "error", r->error);
    if ((members & WIRE_EXT_TEMP_ID) && r->temp_id)
        cJSON_AddStringToObject(ext, "temp_id", r->temp_id);
    cJSON_AddItemToObject(ext, "record", record_to_json(&r->rec));
}

void wire_result_ext(cJSON *item, const wire_result *r, unsigned members, const char *default_status,
                     bool default_conflict, bool with_error)
{
    wire_result_members(wire_ext_add(item), r, members, default_status, default_conflict, with_error);
}

bool wire_result_ext_parse(const cJSON *item, unsigned members, const char *default_status, bool default_conflict,
                           bool with_error, arena *a, wire_result *wr)
{
    return wire_result_members_parse(wire_ext_get(item), members, default_status, default_conflict, with_error, a,
                                     wr);
}

bool wire_result_members_parse(const cJSON *ext, unsigned members, const char *default_status,
                               bool default_conflict, bool with_error, arena *a, wire_result *wr)
{
    if (!cJSON_IsObject(ext))
        return false;
    if ((members & WIRE_EXT_OP_ID) && !wj_int(ext, "op_id", &wr->op_id))
        return false;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(ext, "status");
    if (status) {
        /* Present only when it differs from the default: the same status twice is malformed. */
        if (!cJSON_IsString(status) || !(wr->status = wire_status_known(status->valuestring)) ||
            strcmp(wr->status, default_status) == 0)
            return false;
    } else {
        wr->status = wire_status_known(default_status);
        assert(wr->status);
    }
    const cJSON *conflict = cJSON_GetObjectItemCaseSensitive(ext, "conflict");
    if (conflict && (!cJSON_IsBool(conflict) || cJSON_IsTrue(conflict) == default_conflict))
        return false;
    wr->conflict = conflict ? cJSON_IsTrue(conflict) : default_conflict;
    wr->error = NULL;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(ext, "error");
    if (error) {
        if (!with_error || !cJSON_IsString(error))
            return false;
        wr->error = arena_strdup(a, error->valuestring);
    }
    wr->temp_id = NULL;
    const cJSON *temp_id = cJSON_GetObjectItemCaseSensitive(ext, "temp_id");
    if (temp_id) {
        if (!(members & WIRE_EXT_TEMP_ID) || !cJSON_IsString(temp_id))
            return false;
        wr->temp_id = arena_strdup(a, temp_id->valuestring);
    }
    return wire_record_get(ext, a, &wr->rec);
}

bool wire_pull_args_valid(int64_t since, int64_t limit)
{
    return limit >= 1 && limit <= 100000 && since >= 0;
}
