/*
 * diag: user-facing errors about input files. Every error names
 * file:line:column (1-based) and says what was expected, followed by the
 * offending source line and a caret, as compilers print them.
 */
#ifndef SIM_DIAG_H
#define SIM_DIAG_H

#include <stdbool.h>

typedef struct src_pos {
    const char *file;   /* borrowed */
    int line;           /* 1-based; 0 when unknown */
    int column;         /* 1-based */
} src_pos;

typedef struct diag {
    char *message;      /* NULL while no error; owned */
} diag;

void diag_init(diag *d);
void diag_free(diag *d);
bool diag_failed(const diag *d);
/* Record an error (the first one wins; later calls are ignored). */
void diag_error(diag *d, src_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Add text to the end of the recorded error (after its source excerpt), e.g. notes
 * on what was searched. Does nothing when no error is recorded. */
void diag_append(diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record a complete, already formatted message. */
void diag_set_message(diag *d, const char *message);

/* "did you mean": the candidate closest to word by edit distance, or NULL when none is close. */
const char *diag_suggest(const char *word, const char *const *candidates, int n);

#endif
