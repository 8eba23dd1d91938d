/*
 * process: one child process that speaks lines on its stdin and stdout, with
 * a real-time deadline on every wait.
 *
 * This is the only place in syncsim that reads a real clock on behalf of a
 * run: a node must answer within a budget of real time, or the run ends.
 * What the clock says never reaches the simulation -- it only decides
 * whether a node failed -- so it cannot change a trace.
 *
 * Invariants:
 *   - the parent never blocks forever: every wait has a deadline;
 *   - writing a request never deadlocks against a child that writes before
 *     it has read everything: while a write waits, output is read and kept;
 *   - a killed child is reaped, so no zombie outlives its child struct;
 *   - pipes are close-on-exec, so a child never holds another child's pipe
 *     (which would hide that child's exit).
 */
#ifndef EXTERNAL_PROCESS_H
#define EXTERNAL_PROCESS_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct child {
    pid_t pid;              /* 0 when no process */
    int to_fd;              /* its stdin; -1 when closed */
    int from_fd;            /* its stdout; -1 when closed */
    buf in;                 /* bytes read from its stdout */
    size_t consumed;        /* bytes of in already handed out as lines */
    bool reaped;
    int wait_status;        /* once reaped: what waitpid said */
} child;

typedef enum child_io {
    CHILD_OK,
    CHILD_EOF,              /* it closed its end (exited, most likely) */
    CHILD_TIMEOUT,          /* the deadline passed */
    CHILD_TOO_LONG,         /* a line longer than the limit */
    CHILD_ERROR,            /* an I/O error; errno says which */
} child_io;

/* Real monotonic time, microseconds: deadlines are on this clock. */
int64_t child_clock_us(void);

/*
 * Start argv (argv[0] found on PATH) with stdin and stdout on pipes and
 * stderr appended to log_path. A program that cannot be run exits 127
 * after writing why to its log. False with *error (xfree) when the pipes or
 * the log cannot be made.
 */
bool child_spawn(child *c, const char *const *argv, const char *log_path, char **error);
/* Write all of data before the deadline. */
child_io child_write(child *c, const char *data, size_t len, int64_t deadline_us);
/* The next line, without its newline: valid until the next call. Lines over max_bytes fail. */
child_io child_read_line(child *c, int64_t deadline_us, size_t max_bytes, const char **line, size_t *len);
/* Whether it has written anything not yet read as a line (already buffered, or waiting in the pipe). */
bool child_has_output(child *c);
/* Close its stdin and wait for it to exit until the deadline; true when it did. */
bool child_wait_exit(child *c, int64_t deadline_us);
/* SIGKILL and reap. Safe on a child that is gone or was never started. */
void child_kill(child *c);
/* Release buffers and descriptors (kills it first if still running). */
void child_free(child *c);
/* "exited with status 1", "was killed by signal 9 (Killed)", or "is still running". */
void child_describe_exit(child *c, buf *out);

/* The last lines of a text file (at most max_lines lines and max_bytes bytes), each indented;
 * "(empty)" or "(cannot read it: ...)" otherwise. Caller frees. */
char *file_tail(const char *path, int max_lines, size_t max_bytes, const char *indent);

#endif
