/*
 * pool: jobs in worker processes. See pool.h.
 *
 * The parent hands jobs to workers one at a time over a pipe and reads each
 * result back as a length-prefixed JSON row, which it passes to record() at
 * once. A job crosses the pipe as the raw bytes of a pool_job: both ends are
 * the same process image.
 */
#include "cli/pool.h"
#include "base/buf.h"
#include "base/json.h"
#include "sim/duration.h"
#include "sim/verdict.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX (64u * 1024u * 1024u)

double pool_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

volatile sig_atomic_t pool_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    pool_interrupted = 1;
}

void pool_catch_signals(void)
{
    struct sigaction sa = { .sa_handler = on_interrupt };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* --- workers --------------------------------------------------------------------- */

typedef struct worker {
    pid_t pid;
    int cmd_fd;          /* parent writes jobs */
    int res_fd;          /* parent reads rows */
    bool busy;
    bool closed;         /* no more jobs will be sent */
    pool_job job;        /* the job in flight while busy */
    buf inbox;
} worker;

static bool write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool read_all(int fd, void *data, size_t len)
{
    char *p = data;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static _Noreturn void worker_main(int cmd_fd, int res_fd, const pool *p)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_DFL);
    pool_job job;
    while (read_all(cmd_fd, &job, sizeof job)) {
        if (job.cell >= (uint32_t)p->n_cells)
            break;   /* cannot happen: the parent sends only its own jobs */
        cJSON *row = p->run(p->run_ctx, p->cells[job.cell], &job);
        buf text;
        buf_init(&text);
        json_write(&text, row);
        cJSON_Delete(row);
        uint32_t len = (uint32_t)text.len;
        bool ok = write_all(res_fd, &len, sizeof len) && write_all(res_fd, text.data, text.len);
        buf_free(&text);
        if (!ok)
            break;
    }
    if (p->worker_exit)
        p->worker_exit(p->run_ctx);
    _exit(0);
}

static bool spawn(worker *w, const pool *p, worker *all, int n_all)
{
    int cmd[2], res[2];
    if (pipe(cmd) != 0)
        return false;
    if (pipe(res) != 0) {
        close(cmd[0]);
        close(cmd[1]);
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(cmd[0]);
        close(cmd[1]);
        close(res[0]);
        close(res[1]);
        return false;
    }
    if (pid == 0) {
        /* The child keeps only its own two ends. */
        for (int i = 0; i < n_all; i++) {
            if (all[i].pid > 0) {
                close(all[i].cmd_fd);
                close(all[i].res_fd);
            }
        }
        close(cmd[1]);
        close(res[0]);
        worker_main(cmd[0], res[1], p);
    }
    close(cmd[0]);
    close(res[1]);
    w->pid = pid;
    w->cmd_fd = cmd[1];
    w->res_fd = res[0];
    w->busy = false;
    w->closed = false;
    buf_init(&w->inbox);
    fcntl(w->res_fd, F_SETFL, fcntl(w->res_fd, F_GETFL) | O_NONBLOCK);
    return true;
}

static void worker_finish(worker *w, int *status)
{
    if (!w->closed)
        close(w->cmd_fd);
    close(w->res_fd);
    waitpid(w->pid, status, 0);
    buf_free(&w->inbox);
    w->pid = 0;
}

/* --- rows and progress --------------------------------------------------------------- */

typedef struct run_state {
    const pool *p;
    uint64_t done;       /* rows handed to record() */
    uint64_t failed;     /* of which with a non-zero exit code */
    bool ok;
} run_state;

static void deliver(run_state *st, const pool_job *job, const cJSON *row)
{
    if (!st->p->record(st->p->ctx, job, row))
        st->ok = false;
    const cJSON *exit_code = cJSON_GetObjectItemCaseSensitive(row, "exit_code");
    st->done++;
    if (!cJSON_IsNumber(exit_code) || exit_code->valuedouble != 0)
        st->failed++;
}

static void deliver_crash(run_state *st, const pool_job *job, int status)
{
    char what[160];
    if (WIFSIGNALED(status))
        snprintf(what, sizeof what, "crash: the run was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(what, sizeof what, "crash: the worker exited with status %d before answering",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)job->seed);
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "seed", seed_text);
    cJSON_AddStringToObject(row, "outcome", "crash");
    cJSON_AddNumberToObject(row, "exit_code", EXIT_VIOLATION);
    cJSON_AddStringToObject(row, "failing", "");
    cJSON_AddStringToObject(row, "tolerated", "");
    cJSON_AddStringToObject(row, "trace_hash", "");
    cJSON_AddItemToObject(row, "metrics", cJSON_CreateObject());
    cJSON_AddStringToObject(row, "finding", what);
    cJSON_AddNumberToObject(row, "wall_ms", 0);
    deliver(st, job, row);
    cJSON_Delete(row);
}

/* Progress on stderr: a redrawn bar on a terminal, a line now and then otherwise. */
typedef struct progress {
    bool tty;
    double start_ms;
    double last_ms;
    uint64_t last_done;
    uint64_t todo;
} progress;

static void progress_show(progress *pr, const run_state *st, bool final)
{
    if (!st->p->what)
        return;
    double now = pool_now_ms();
    uint64_t done = st->done;
    const char *unit = st->p->unit;
    if (!final) {
        if (pr->tty ? now - pr->last_ms < 100
                    : (now - pr->last_ms < 10000 && done - pr->last_done < (pr->todo + 9) / 10))
            return;
    } else if (!pr->tty && done == pr->last_done) {
        return;   /* the last line already said it */
    }
    pr->last_ms = now;
    pr->last_done = done;
    double elapsed_s = (now - pr->start_ms) / 1000.0;
    double rate = elapsed_s > 0 ? (double)done / elapsed_s : 0.0;
    double eta_s = rate > 0 ? (double)(pr->todo - done) / rate : 0.0;
    char eta[DURATION_TEXT_MAX];
    duration_human((int64_t)(eta_s + 0.5) * 1000000, eta, sizeof eta);
    if (pr->tty) {
        int width = 30;
        int filled = pr->todo ? (int)((double)width * (double)done / (double)pr->todo) : width;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K[%s] %llu/%llu %s  %llu failing  %.1f %s/s  %s left", bar,
                (unsigned long long)done, (unsigned long long)pr->todo, unit, (unsigned long long)st->failed, rate,
                unit, eta);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %llu/%llu %s, %llu failing, %.1f %s/s, %s left\n", st->p->what,
                (unsigned long long)done, (unsigned long long)pr->todo, unit, (unsigned long long)st->failed, rate,
                unit, eta);
    }
    fflush(stderr);
}

/* --- the pool --------------------------------------------------------------------- */

bool pool_run(const pool *p, const pool_job *todo, uint64_t n_todo)
{
    if (n_todo == 0)
        return true;
    int n_workers = p->workers < (int64_t)n_todo ? p->workers : (int)n_todo;
    if (n_workers > POOL_WORKERS_MAX)
        n_workers = POOL_WORKERS_MAX;
    worker workers[POOL_WORKERS_MAX];
    memset(workers, 0, sizeof workers);
    uint64_t next = 0;
    run_state st = { .p = p, .ok = true };
    progress pr = { .tty = isatty(STDERR_FILENO), .start_ms = pool_now_ms(), .todo = n_todo };
    pr.last_ms = pr.start_ms;
    for (int i = 0; i < n_workers; i++) {
        if (!spawn(&workers[i], p, workers, n_workers)) {
            fprintf(stderr, "syncsim: cannot start a worker: %s\n", strerror(errno));
            n_workers = i;
            break;
        }
    }
    if (n_workers == 0)
        return false;
    for (;;) {
        /* Hand out jobs to idle workers; close the pipe of those with nothing left. */
        int alive = 0;
        for (int i = 0; i < n_workers; i++) {
            worker *w = &workers[i];
            if (w->pid <= 0)
                continue;
            alive++;
            if (w->busy || w->closed)
                continue;
            if (next < n_todo && !pool_interrupted) {
                w->job = todo[next++];
                if (write_all(w->cmd_fd, &w->job, sizeof w->job))
                    w->busy = true;
                else
                    next--;   /* the worker died; its EOF is handled below */
            } else {
                close(w->cmd_fd);
                w->closed = true;
            }
        }
        if (!alive || pool_interrupted)
            break;
        struct pollfd fds[POOL_WORKERS_MAX];
        int map[POOL_WORKERS_MAX];
        int n_fds = 0;
        for (int i = 0; i < n_workers; i++) {
            if (workers[i].pid > 0) {
                fds[n_fds] = (struct pollfd){ .fd = workers[i].res_fd, .events = POLLIN };
                map[n_fds++] = i;
            }
        }
        int ready = poll(fds, (nfds_t)n_fds, 100);
        if (ready < 0 && errno != EINTR)
            break;
        for (int k = 0; k < n_fds && ready > 0; k++) {
            if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            worker *w = &workers[map[k]];
            char chunk[65536];
            ssize_t n = read(w->res_fd, chunk, sizeof chunk);
            if (n > 0) {
                buf_put(&w->inbox, chunk, (size_t)n);
                /* Every complete frame is a row. */
                while (w->inbox.len >= 4) {
                    uint32_t len;
                    memcpy(&len, w->inbox.data, sizeof len);
                    if (len > FRAME_MAX || w->inbox.len < 4 + (size_t)len)
                        break;
                    cJSON *row = cJSON_ParseWithLength(w->inbox.data + 4, len);
                    if (row)
                        deliver(&st, &w->job, row);
                    else
                        st.ok = false;
                    cJSON_Delete(row);
                    memmove(w->inbox.data, w->inbox.data + 4 + len, w->inbox.len - 4 - len);
                    w->inbox.len -= 4 + len;
                    w->busy = false;
                }
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                /* The worker is gone: after its last job, or while running one. */
                int status = 0;
                bool was_busy = w->busy;
                pool_job job = w->job;
                worker_finish(w, &status);
                if (was_busy) {
                    deliver_crash(&st, &job, status);
                    if (next < n_todo && !spawn(w, p, workers, n_workers)) {
                        fprintf(stderr, "syncsim: cannot restart a worker: %s\n", strerror(errno));
                        st.ok = false;
                    }
                }
            }
        }
        progress_show(&pr, &st, false);
    }
    for (int i = 0; i < n_workers; i++) {
        if (workers[i].pid > 0) {
            if (pool_interrupted)
                kill(workers[i].pid, SIGKILL);
            int status;
            worker_finish(&workers[i], &status);
        }
    }
    progress_show(&pr, &st, true);
    return st.ok;
}
