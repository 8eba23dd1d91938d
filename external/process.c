/*
 * process: see process.h.
 */
#include "external/process.h"
#include "base/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK_BYTES 65536

int64_t child_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int poll_timeout_ms(int64_t deadline_us)
{
    int64_t left = deadline_us - child_clock_us();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999) / 1000;
    return ms > 60000 ? 60000 : (int)ms;
}

static bool set_error(char **error, const char *what, const char *path)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "%s%s%s: %s", what, path ? " " : "", path ? path : "", strerror(errno));
    *error = buf_take(&b);
    return false;
}

bool child_spawn(child *c, const char *const *argv, const char *log_path, char **error)
{
    memset(c, 0, sizeof *c);
    c->to_fd = c->from_fd = -1;
    buf_init(&c->in);
    /* A write to a child that died must fail with EPIPE, not kill syncsim. */
    signal(SIGPIPE, SIG_IGN);
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0)
        return set_error(error, "cannot make a pipe", NULL);
    if (pipe2(from, O_CLOEXEC) != 0) {
        close(to[0]);
        close(to[1]);
        return set_error(error, "cannot make a pipe", NULL);
    }
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        set_error(error, "cannot open the node's log", log_path);
        goto fail;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        set_error(error, "cannot start a process", NULL);
        close(log_fd);
        goto fail;
    }
    if (pid == 0) {
        /* The child: die with syncsim, take the pipes as stdin and stdout, the log as stderr. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0 || dup2(log_fd, 2) < 0)
            _exit(126);
        signal(SIGPIPE, SIG_DFL);
        char *const *args;   /* execvp's type cannot say it leaves the words alone */
        memcpy(&args, &argv, sizeof args);
        execvp(argv[0], args);
        dprintf(2, "syncsim: cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(log_fd);
    close(to[0]);
    close(from[1]);
    c->pid = pid;
    c->to_fd = to[1];
    c->from_fd = from[0];
    fcntl(c->to_fd, F_SETFL, fcntl(c->to_fd, F_GETFL) | O_NONBLOCK);
    return true;

fail:
    close(to[0]);
    close(to[1]);
    close(from[0]);
    close(from[1]);
    return false;
}

/* Read what is there into c->in. */
static child_io fill(child *c)
{
    if (c->consumed > 0 && c->consumed == c->in.len) {
        buf_clear(&c->in);
        c->consumed = 0;
    } else if (c->consumed > READ_CHUNK_BYTES && c->consumed * 2 > c->in.len) {
        memmove(c->in.data, c->in.data + c->consumed, c->in.len - c->consumed);
        c->in.len -= c->consumed;
        c->consumed = 0;
    }
    char chunk[READ_CHUNK_BYTES];
    ssize_t n = read(c->from_fd, chunk, sizeof chunk);
    if (n > 0) {
        buf_put(&c->in, chunk, (size_t)n);
        return CHILD_OK;
    }
    if (n == 0)
        return CHILD_EOF;
    return errno == EINTR || errno == EAGAIN ? CHILD_OK : CHILD_ERROR;
}

child_io child_write(child *c, const char *data, size_t len, int64_t deadline_us)
{
    if (c->to_fd < 0)
        return CHILD_EOF;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(c->to_fd, data + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EPIPE)
            return CHILD_EOF;
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return CHILD_ERROR;
        /* The pipe is full: wait for room, and keep reading so a child that answers early is not stuck. */
        struct pollfd fds[2] = { { .fd = c->to_fd, .events = POLLOUT }, { .fd = c->from_fd, .events = POLLIN } };
        int timeout = poll_timeout_ms(deadline_us);
        if (timeout == 0 && child_clock_us() >= deadline_us)
            return CHILD_TIMEOUT;
        int ready = poll(fds, c->from_fd >= 0 ? 2 : 1, timeout);
        if (ready < 0 && errno != EINTR)
            return CHILD_ERROR;
        if (fds[0].revents & (POLLERR | POLLHUP))
            return CHILD_EOF;
        if (c->from_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
            child_io io = fill(c);
            if (io == CHILD_ERROR)
                return io;
        }
    }
    return CHILD_OK;
}

child_io child_read_line(child *c, int64_t deadline_us, size_t max_bytes, const char **line, size_t *len)
{
    size_t scanned = c->consumed;
    for (;;) {
        const char *start = c->in.data + c->consumed;
        const char *nl = c->in.len > scanned ? memchr(c->in.data + scanned, '\n', c->in.len - scanned) : NULL;
        if (nl) {
            *line = start;
            *len = (size_t)(nl - start);
            c->consumed = (size_t)(nl - c->in.data) + 1;
            return *len > max_bytes ? CHILD_TOO_LONG : CHILD_OK;
        }
        if (c->in.len - c->consumed > max_bytes)
            return CHILD_TOO_LONG;
        if (c->from_fd < 0)
            return CHILD_EOF;
        size_t base = c->consumed;
        scanned = c->in.len;
        struct pollfd fd = { .fd = c->from_fd, .events = POLLIN };
        int timeout = poll_timeout_ms(deadline_us);
        if (timeout == 0 && child_clock_us() >= deadline_us)
            return CHILD_TIMEOUT;
        int ready = poll(&fd, 1, timeout);
        if (ready < 0 && errno != EINTR)
            return CHILD_ERROR;
        if (ready <= 0)
            continue;
        child_io io = fill(c);
        if (io != CHILD_OK)
            return io;
        /* fill may have moved the unread bytes to the front. */
        scanned -= base - c->consumed;
    }
}

bool child_has_output(child *c)
{
    if (c->in.len > c->consumed)
        return true;
    if (c->from_fd < 0)
        return false;
    struct pollfd fd = { .fd = c->from_fd, .events = POLLIN };
    /* POLLHUP alone (it closed its output) is not output: the next read reports the end. */
    return poll(&fd, 1, 0) == 1 && (fd.revents & POLLIN);
}

static bool reap(child *c, int flags)
{
    if (c->pid <= 0 || c->reaped)
        return true;
    int status;
    pid_t got;
    do
        got = waitpid(c->pid, &status, flags);
    while (got < 0 && errno == EINTR);
    if (got == c->pid || (got < 0 && errno == ECHILD)) {
        c->reaped = true;
        c->wait_status = got == c->pid ? status : 0;
        return true;
    }
    return false;
}

static void close_fds(child *c)
{
    if (c->to_fd >= 0)
        close(c->to_fd);
    if (c->from_fd >= 0)
        close(c->from_fd);
    c->to_fd = c->from_fd = -1;
}

bool child_wait_exit(child *c, int64_t deadline_us)
{
    if (c->to_fd >= 0) {
        close(c->to_fd);
        c->to_fd = -1;
    }
    while (!reap(c, WNOHANG)) {
        if (child_clock_us() >= deadline_us)
            return false;
        struct timespec pause = { .tv_nsec = 1000000 };
        nanosleep(&pause, NULL);
    }
    return true;
}

void child_kill(child *c)
{
    if (c->pid > 0 && !c->reaped) {
        kill(c->pid, SIGKILL);
        reap(c, 0);
    }
    close_fds(c);
}

void child_free(child *c)
{
    child_kill(c);
    buf_free(&c->in);
    c->pid = 0;
}

void child_describe_exit(child *c, buf *out)
{
    if (!c->reaped && !reap(c, WNOHANG)) {
        buf_puts(out, "is still running");
        return;
    }
    int st = c->wait_status;
    if (WIFEXITED(st))
        buf_printf(out, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        buf_printf(out, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        buf_puts(out, "stopped");
}

char *file_tail(const char *path, int max_lines, size_t max_bytes, const char *indent)
{
    buf out;
    buf_init(&out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        buf_printf(&out, "%s(cannot read it: %s)", indent, strerror(errno));
        return buf_take(&out);
    }
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    long from = size > (long)max_bytes ? size - (long)max_bytes : 0;
    char *text = xmalloc(max_bytes + 1);
    size_t n = fseek(f, from, SEEK_SET) == 0 ? fread(text, 1, max_bytes, f) : 0;
    fclose(f);
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    /* The start of the last max_lines lines. */
    size_t start = n;
    int lines = 0;
    while (start > 0 && !(text[start - 1] == '\n' && ++lines == max_lines))
        start--;
    if (start == 0 && from > 0) {   /* a partial first line: drop it */
        const char *nl = memchr(text, '\n', n);
        start = nl ? (size_t)(nl - text) + 1 : 0;
    }
    if (n == 0) {
        buf_printf(&out, "%s(empty)", indent);
    } else {
        for (const char *p = text + start; *p;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            buf_puts(&out, indent);
            buf_put(&out, p, len);
            if (nl)
                buf_putc(&out, '\n');
            p = nl ? nl + 1 : p + len;
        }
    }
    xfree(text);
    return buf_take(&out);
}
