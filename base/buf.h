/*
 * buf: a growable, always NUL-terminated byte string for building text
 * (witnesses, YAML output, JSON lines). Owned by whoever holds the struct.
 */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;      /* NUL-terminated when len > 0 or after buf_init */
    size_t len;
    size_t cap;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
void buf_clear(buf *b);
void buf_put(buf *b, const char *s, size_t len);
/* Room for extra more bytes and the terminator, written by the caller at data + len: a writer of
 * many small pieces reserves once, counts what it wrote in len, and ends with the terminator. */
void buf_reserve(buf *b, size_t extra);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal, quotes included. */
void buf_put_json_string(buf *b, const char *s);
/* Hand the string to the caller (free with xfree) and reset the buffer. */
char *buf_take(buf *b);

#endif
