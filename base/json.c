/*
 * json: writer and streaming reader. See json.h.
 * Reader invariant: r->p never passes r->end; once r->error is set every
 * call fails without reading.
 */
#include "base/json.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool json_number_int(const cJSON *j, int64_t min, int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(j))
        return false;
    double d = j->valuedouble;
    /* The comparisons are false for NaN; within +-2^53 the cast is exact once d is integral. */
    if (!(d >= (double)min && d <= (double)max) || d != floor(d))
        return false;
    *out = (int64_t)d;
    return true;
}

#define SAFE_INT 9007199254740992.0   /* 2^53 */

/* "00" to "99": an integer is written two digits at a time (a store body or a message is mostly
 * 16-digit microsecond timestamps and write ids, so this is the writer's inner loop). */
static const char DIGIT_PAIRS[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of u (1 for 0): log10 estimated from the bit length (1233 / 4096 ~ log10 2, never
 * over), then one comparison. The trace sizes every number of every message with it. */
static int decimal_digits(uint64_t u)
{
    static const uint64_t POW10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,
        1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
        100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
        1000000000000000000ULL, 10000000000000000000ULL,
    };
    if (u == 0)
        return 1;
    int bits = 64 - __builtin_clzll(u);
    int estimate = (bits * 1233) >> 12;
    return estimate + (u >= POW10[estimate]);
}

void json_put_i64(buf *b, int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = decimal_digits(u);
    char out[21];
    int at = 0;
    if (v < 0)
        out[at++] = '-';
    /* Fill from the right: out[at .. at + n) are the digits. */
    int i = at + n;
    while (u >= 100) {
        unsigned pair = (unsigned)(u % 100) * 2;
        u /= 100;
        out[--i] = DIGIT_PAIRS[pair + 1];
        out[--i] = DIGIT_PAIRS[pair];
    }
    if (u >= 10) {
        out[--i] = DIGIT_PAIRS[u * 2 + 1];
        out[--i] = DIGIT_PAIRS[u * 2];
    } else {
        out[--i] = (char)('0' + u);
    }
    buf_put(b, out, (size_t)(at + n));
}

static bool integral(double v)
{
    return v == floor(v) && fabs(v) < SAFE_INT;
}

/* The shortest of %.15g and %.17g that reads back as v (what cJSON prints, too). */
static int format_real(double v, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%.15g", v);
    if (strtod(out, NULL) != v)
        n = snprintf(out, cap, "%.17g", v);
    return n;
}

void json_put_number(buf *b, double v)
{
    if (integral(v)) {
        json_put_i64(b, (int64_t)v);
        return;
    }
    if (!isfinite(v)) {
        buf_puts(b, "null");   /* JSON has no NaN or infinity; cJSON prints null too */
        return;
    }
    char text[32];
    int n = format_real(v, text, sizeof text);
    buf_put(b, text, (size_t)n);
}

/*
 * The lengths of reals met lately, by their bits. A message's reals come round again and again
 * (an activity record carries its whole event log, each event's time in milliseconds with a
 * fraction, in every message that carries the record), and format_real prints through snprintf
 * and reads back through strtod: a sixth of the activity-events swarm's instructions before this
 * cache. Process-wide (a sweep's workers are processes); a hit gives the answer a miss computes.
 */
#define REAL_LENGTHS 4096   /* a power of two */
static struct {
    uint64_t bits;
    uint8_t len;   /* 0: empty */
} real_lengths[REAL_LENGTHS];

size_t json_int_length(int64_t v)
{
    assert(v > -(INT64_C(1) << 53) && v < INT64_C(1) << 53);
    uint64_t u = v < 0 ? (uint64_t)-v : (uint64_t)v;
    return (size_t)decimal_digits(u) + (v < 0);
}

size_t json_number_length(double v)
{
    if (integral(v)) {
        uint64_t u = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
        return (size_t)decimal_digits(u) + (v < 0);
    }
    if (!isfinite(v))
        return 4;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    size_t slot = (size_t)((bits * UINT64_C(0x9e3779b97f4a7c15)) >> 52) & (REAL_LENGTHS - 1);
    if (real_lengths[slot].len && real_lengths[slot].bits == bits)
        return real_lengths[slot].len;
    char text[32];
    int len = format_real(v, text, sizeof text);
    real_lengths[slot].bits = bits;
    real_lengths[slot].len = (uint8_t)len;
    return (size_t)len;
}

void json_write(buf *b, const cJSON *v)
{
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool object = cJSON_IsObject(v);
        buf_putc(b, object ? '{' : '[');
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                buf_putc(b, ',');
            if (object) {
                buf_put_json_string(b, c->string);
                buf_putc(b, ':');
            }
            json_write(b, c);
        }
        buf_putc(b, object ? '}' : ']');
    } else if (cJSON_IsString(v)) {
        buf_put_json_string(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        json_put_number(b, v->valuedouble);
    } else if (cJSON_IsTrue(v)) {
        buf_puts(b, "true");
    } else if (cJSON_IsFalse(v)) {
        buf_puts(b, "false");
    } else {
        buf_puts(b, "null");
    }
}

static void indent(buf *b, int depth)
{
    buf_putc(b, '\n');
    for (int i = 0; i < depth; i++)
        buf_puts(b, "  ");
}

void json_write_pretty(buf *b, const cJSON *v, int depth)
{
    if (!(cJSON_IsObject(v) || cJSON_IsArray(v)) || !v->child) {
        json_write(b, v);
        return;
    }
    bool object = cJSON_IsObject(v);
    buf_putc(b, object ? '{' : '[');
    for (const cJSON *c = v->child; c; c = c->next) {
        if (c != v->child)
            buf_putc(b, ',');
        indent(b, depth + 1);
        if (object) {
            buf_put_json_string(b, c->string);
            buf_puts(b, ": ");
        }
        json_write_pretty(b, c, depth + 1);
    }
    indent(b, depth);
    buf_putc(b, object ? '}' : ']');
}

/* --- reader ---------------------------------------------------------------- */

void jr_init(json_reader *r, const char *text, size_t len)
{
    r->p = text;
    r->end = text + len;
    r->error = NULL;
}

bool jr_ok(const json_reader *r)
{
    return r->error == NULL;
}

static bool fail(json_reader *r, const char *why)
{
    if (!r->error)
        r->error = why;
    return false;
}

static void skip_space(json_reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

static bool expect_char(json_reader *r, char c, const char *why)
{
    if (r->error)
        return false;
    skip_space(r);
    if (r->p >= r->end || *r->p != c)
        return fail(r, why);
    r->p++;
    return true;
}

/* After a value inside a container: ',' continues, the closer ends. */
static bool next_in(json_reader *r, char closer)
{
    if (r->error)
        return false;
    skip_space(r);
    if (r->p >= r->end)
        return fail(r, "unexpected end of JSON");
    if (*r->p == closer) {
        r->p++;
        return false;
    }
    /*
     * The first element follows its opener; later ones follow a comma. Looking
     * back past whitespace is safe: the container's opener lies behind us, and
     * no value ends in '{' or '['.
     */
    const char *q = r->p - 1;
    while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')
        q--;
    if (*q == '{' || *q == '[')
        return true;
    if (*r->p != ',')
        return fail(r, "expected ',' or the end of the container");
    r->p++;
    return true;
}

bool jr_object(json_reader *r)
{
    return expect_char(r, '{', "expected an object");
}

bool jr_array(json_reader *r)
{
    return expect_char(r, '[', "expected an array");
}

bool jr_item(json_reader *r)
{
    return next_in(r, ']');
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool read_hex4(json_reader *r, unsigned *out)
{
    if (r->end - r->p < 4)
        return fail(r, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(r->p[i]);
        if (d < 0)
            return fail(r, "bad \\u escape");
        v = v * 16 + (unsigned)d;
    }
    r->p += 4;
    *out = v;
    return true;
}

static void put_utf8(buf *b, unsigned cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_put(b, out, n);
}

bool jr_string(json_reader *r, arena *a, const char **out)
{
    if (!expect_char(r, '"', "expected a string"))
        return false;
    const char *start = r->p;
    /* Fast path: no escapes. */
    while (r->p < r->end && *r->p != '"' && *r->p != '\\') {
        if ((unsigned char)*r->p < 0x20)
            return fail(r, "control character in a string");
        r->p++;
    }
    if (r->p < r->end && *r->p == '"') {
        *out = arena_strndup(a, start, (size_t)(r->p - start));
        r->p++;
        return true;
    }
    buf b;
    buf_init(&b);
    buf_put(&b, start, (size_t)(r->p - start));
    while (r->p < r->end && *r->p != '"') {
        char c = *r->p++;
        if (c != '\\') {
            if ((unsigned char)c < 0x20) {
                buf_free(&b);
                return fail(r, "control character in a string");
            }
            buf_putc(&b, c);
            continue;
        }
        if (r->p >= r->end)
            break;
        char e = *r->p++;
        unsigned cp;
        switch (e) {
        case '"': buf_putc(&b, '"'); break;
        case '\\': buf_putc(&b, '\\'); break;
        case '/': buf_putc(&b, '/'); break;
        case 'b': buf_putc(&b, '\b'); break;
        case 'f': buf_putc(&b, '\f'); break;
        case 'n': buf_putc(&b, '\n'); break;
        case 'r': buf_putc(&b, '\r'); break;
        case 't': buf_putc(&b, '\t'); break;
        case 'u':
            if (!read_hex4(r, &cp)) {
                buf_free(&b);
                return false;
            }
            if (cp >= 0xd800 && cp < 0xdc00) {
                unsigned low;
                if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') {
                    buf_free(&b);
                    return fail(r, "unpaired surrogate");
                }
                r->p += 2;
                if (!read_hex4(r, &low) || low < 0xdc00 || low > 0xdfff) {
                    buf_free(&b);
                    return fail(r, "unpaired surrogate");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            }
            put_utf8(&b, cp);
            break;
        default:
            buf_free(&b);
            return fail(r, "bad escape in a string");
        }
    }
    if (r->p >= r->end) {
        buf_free(&b);
        return fail(r, "unterminated string");
    }
    r->p++;
    *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return true;
}

bool jr_key(json_reader *r, arena *a, const char **key)
{
    if (!next_in(r, '}'))
        return false;
    skip_space(r);
    /* Fast path: a short key without escapes goes to the reader's buffer, not the arena. */
    if (r->p < r->end && *r->p == '"') {
        const char *start = r->p + 1, *q = start;
        while (q < r->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20 && q - start < (ptrdiff_t)sizeof r->key - 1)
            q++;
        if (q < r->end && *q == '"') {
            memcpy(r->key, start, (size_t)(q - start));
            r->key[q - start] = '\0';
            r->p = q + 1;
            *key = r->key;
            return expect_char(r, ':', "expected ':' after a key");
        }
    }
    if (!jr_string(r, a, key))
        return false;
    return expect_char(r, ':', "expected ':' after a key");
}

bool jr_number(json_reader *r, double *out, bool *is_integer, int64_t *integer)
{
    if (r->error)
        return false;
    skip_space(r);
    const char *start = r->p;
    const char *q = r->p;
    if (q < r->end && *q == '-')
        q++;
    if (q >= r->end || *q < '0' || *q > '9')
        return fail(r, "expected a number");
    /* The magnitude, while it fits int64 (so that negating it is defined); beyond, strtod's. Eighteen
     * digits always fit (10^18 < 2^63): only the digits after them need the overflow test. */
    uint64_t acc = 0;
    bool overflow = false;
    for (const char *fits = r->end - q > 18 ? q + 18 : r->end; q < fits && *q >= '0' && *q <= '9'; q++)
        acc = acc * 10 + (uint64_t)(*q - '0');
    while (q < r->end && *q >= '0' && *q <= '9') {
        uint64_t digit = (uint64_t)(*q - '0');
        if (overflow || acc > ((uint64_t)INT64_MAX - digit) / 10)
            overflow = true;
        else
            acc = acc * 10 + digit;
        q++;
    }
    bool frac = q < r->end && (*q == '.' || *q == 'e' || *q == 'E');
    if (!frac && !overflow) {
        int64_t v = *start == '-' ? -(int64_t)acc : (int64_t)acc;
        r->p = q;
        *is_integer = true;
        *integer = v;
        *out = (double)v;
        return true;
    }
    while (q < r->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-'))
        q++;
    char text[64];
    size_t len = (size_t)(q - start);
    if (len >= sizeof text)
        return fail(r, "number too long");
    memcpy(text, start, len);
    text[len] = '\0';
    char *endp;
    errno = 0;
    double v = strtod(text, &endp);
    if (*endp || errno == ERANGE)
        return fail(r, "malformed number");
    r->p = q;
    *is_integer = false;
    *integer = 0;
    *out = v;
    return true;
}

bool jr_int(json_reader *r, int64_t *out)
{
    double d;
    bool is_integer;
    if (!jr_number(r, &d, &is_integer, out))
        return false;
    if (!is_integer)
        return fail(r, "expected an integer");
    return true;
}

static bool literal(json_reader *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) >= n && memcmp(r->p, word, n) == 0) {
        r->p += n;
        return true;
    }
    return false;
}

bool jr_bool(json_reader *r, bool *out)
{
    if (r->error)
        return false;
    skip_space(r);
    if (literal(r, "true"))
        *out = true;
    else if (literal(r, "false"))
        *out = false;
    else
        return fail(r, "expected true or false");
    return true;
}

bool jr_null(json_reader *r)
{
    if (r->error)
        return false;
    skip_space(r);
    return literal(r, "null");
}

bool jr_skip(json_reader *r)
{
    if (r->error)
        return false;
    skip_space(r);
    if (r->p >= r->end)
        return fail(r, "unexpected end of JSON");
    char c = *r->p;
    arena scratch;
    arena_init(&scratch, 256);
    bool ok = true;
    if (c == '{') {
        const char *key;
        jr_object(r);
        while (jr_key(r, &scratch, &key))
            if (!jr_skip(r))
                break;
    } else if (c == '[') {
        jr_array(r);
        while (jr_item(r))
            if (!jr_skip(r))
                break;
    } else if (c == '"') {
        const char *s;
        jr_string(r, &scratch, &s);
    } else if (c == 't' || c == 'f') {
        bool b;
        jr_bool(r, &b);
    } else if (c == 'n') {
        if (!jr_null(r))
            fail(r, "expected a value");
    } else {
        double d;
        bool is_integer;
        int64_t i;
        jr_number(r, &d, &is_integer, &i);
    }
    arena_release(&scratch);
    ok = r->error == NULL;
    return ok;
}

bool jr_end(json_reader *r)
{
    if (r->error)
        return false;
    skip_space(r);
    return r->p == r->end || fail(r, "trailing characters after JSON");
}
