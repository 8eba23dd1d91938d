/*
 * sweep: seeds in worker processes. See sweep.h.
 *
 * The parent hands seeds to workers one at a time over a pipe and reads each
 * result back as a length-prefixed JSON row, which it commits to the results
 * database at once. Invariants:
 *   - a seed is recorded only after its run completed, so an interrupted or
 *     killed sweep loses only the seeds in flight, and a resumed sweep runs
 *     exactly the seeds that have no row;
 *   - a worker that dies while running a seed leaves a "crash" row for it (a
 *     simulator crash is a finding) and is replaced;
 *   - workers die with the parent (PR_SET_PDEATHSIG) and ignore Ctrl-C, which
 *     the parent handles.
 * This file reads the wall clock (progress, timings); the simulation never does.
 */
#include "cli/sweep.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "cli/results.h"
#include "sim/determinism.h"
#include "sim/report.h"
#include "sim/trace.h"
#include "sim/verdict.h"
#include "sim/world.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEEDS_MAX UINT64_C(1000000000)
#define WORKERS_MAX 256
#define FRAME_MAX (64u * 1024u * 1024u)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --- one seed -------------------------------------------------------------- */

static void add_classes(cJSON *row, const char *key, vclass_set set)
{
    buf b;
    buf_init(&b);
    for (int c = 0; c < VC_COUNT; c++)
        if (set & VCLASS_BIT(c))
            buf_printf(&b, "%s%s", b.len ? "," : "", vclass_name((vclass)c));
    cJSON_AddStringToObject(row, key, b.data ? b.data : "");
    buf_free(&b);
}

cJSON *sweep_run_seed(const scenario *tmpl, uint64_t seed, bool strict, bool check_determinism)
{
    double start = now_ms();
    cJSON *row = cJSON_CreateObject();
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    cJSON_AddStringToObject(row, "seed", text);
    diag d;
    diag_init(&d);
    scenario *sc = scenario_for_seed(tmpl, seed, &d);
    run_result r;
    bool ran = sc && sim_run(sc, seed, &(run_options){ 0 }, &r, &d);
    if (!ran) {
        cJSON_AddStringToObject(row, "outcome", "bad-input");
        cJSON_AddNumberToObject(row, "exit_code", EXIT_BAD_INPUT);
        cJSON_AddStringToObject(row, "failing", "");
        cJSON_AddStringToObject(row, "tolerated", "");
        cJSON_AddStringToObject(row, "trace_hash", "");
        cJSON_AddItemToObject(row, "metrics", cJSON_CreateObject());
        cJSON_AddStringToObject(row, "finding", d.message ? d.message : "the run could not start");
        if (sc)
            run_result_free(&r);
    } else {
        verdict v;
        verdict_judge(sc, &r, strict, &v);
        const char *outcome = v.outcome;
        int exit_code = v.exit_code;
        buf first_failure;
        buf_init(&first_failure);
        for (int i = 0; i < r.check.n_findings; i++) {
            const finding *f = &r.check.findings[i];
            if (verdict_class_fails(sc, strict, f->cls)) {
                buf_printf(&first_failure, "%s: %s\n%s", vclass_name(f->cls), f->summary, f->witness);
                break;
            }
        }
        if (!first_failure.len && v.n_unmet)
            buf_printf(&first_failure, "unmet: %s\n", v.unmet[0]);
        char hex[17];
        trace_hash_hex(r.trace_hash, hex);
        if (check_determinism) {
            determinism_report det;
            if (determinism_check(sc, seed, &det, &d) && !det.same) {
                outcome = "nondeterministic";
                exit_code = EXIT_VIOLATION;
                buf_clear(&first_failure);
                buf_printf(&first_failure, "nondeterministic: event %llu differs between two runs\n    first:  %s\n    second: %s\n",
                           (unsigned long long)det.first_diff, det.first_run_line ? det.first_run_line : "(none)",
                           det.second_run_line ? det.second_run_line : "(none)");
            }
            determinism_report_free(&det);
        }
        cJSON_AddStringToObject(row, "outcome", outcome);
        cJSON_AddNumberToObject(row, "exit_code", exit_code);
        add_classes(row, "failing", v.failing);
        add_classes(row, "tolerated", v.tolerated);
        cJSON_AddStringToObject(row, "trace_hash", hex);
        cJSON_AddItemToObject(row, "metrics", report_metrics_json(&r));
        cJSON_AddStringToObject(row, "finding", first_failure.data ? first_failure.data : "");
        buf_free(&first_failure);
        verdict_free(&v);
        run_result_free(&r);
    }
    scenario_free(sc);
    diag_free(&d);
    cJSON_AddNumberToObject(row, "wall_ms", now_ms() - start);
    return row;
}

/* --- identity, arguments ------------------------------------------------------ */

static uint64_t hash_file(uint64_t h, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hash64_str(h, path);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        h = hash64_bytes(h, chunk, n);
    fclose(f);
    return h;
}

char *sweep_scenario_key(const scenario *tmpl)
{
    uint64_t h = hash_file(HASH64_INIT, tmpl->path);
    if (tmpl->profile.path && strcmp(tmpl->profile.path, tmpl->path) != 0)
        h = hash_file(h, tmpl->profile.path);
    char hex[17];
    trace_hash_hex(h, hex);
    buf b;
    buf_init(&b);
    buf_printf(&b, "%s@%s", tmpl->name, hex);
    return buf_take(&b);
}

static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

bool sweep_parse_seeds(const char *text, uint64_t *lo, uint64_t *hi)
{
    const char *dots = strstr(text, "..");
    if (!dots)
        return parse_u64(text, strlen(text), lo) && (*hi = *lo, true) && *lo < (UINT64_C(1) << 63);
    return parse_u64(text, (size_t)(dots - text), lo) && parse_u64(dots + 2, strlen(dots + 2), hi) && *lo <= *hi &&
           *hi < (UINT64_C(1) << 63) && *hi - *lo < SEEDS_MAX;
}

bool sweep_parse_shard(const char *text, int *index, int *count)
{
    const char *slash = strchr(text, '/');
    uint64_t i, n;
    if (!slash || !parse_u64(text, (size_t)(slash - text), &i) || !parse_u64(slash + 1, strlen(slash + 1), &n))
        return false;
    if (n < 1 || n > 100000 || i < 1 || i > n)
        return false;
    *index = (int)i;
    *count = (int)n;
    return true;
}

/* --- workers --------------------------------------------------------------------- */

typedef struct worker {
    pid_t pid;
    int cmd_fd;          /* parent writes seeds */
    int res_fd;          /* parent reads rows */
    bool busy;
    bool closed;         /* no more seeds will be sent */
    uint64_t seed;
    buf inbox;
} worker;

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

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

static _Noreturn void worker_main(int cmd_fd, int res_fd, const scenario *tmpl, bool strict, bool check_det)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_DFL);
    uint64_t seed;
    while (read_all(cmd_fd, &seed, sizeof seed)) {
        cJSON *row = sweep_run_seed(tmpl, seed, strict, check_det);
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
    _exit(0);
}

static bool spawn(worker *w, const scenario *tmpl, bool strict, bool check_det, worker *all, int n_all)
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
        worker_main(cmd[0], res[1], tmpl, strict, check_det);
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

/* --- the sweep --------------------------------------------------------------------- */

typedef struct tally {
    uint64_t total, passed, failed, crashed, bad;
    uint64_t by_class[VC_COUNT];
    uint64_t failing_seeds[20];
    int n_failing_seeds;
    double wall_ms;
} tally;

typedef struct sweep_ctx {
    const char *file;
    const scenario *tmpl;
    char *key;
    const char *params;
    bool strict;
    bool check_det;
    uint64_t lo, hi;
    int shard_index, shard_count;   /* 1/1 without --shard */
    char shard_text[32];
    results *db;
    uint64_t ran_now;               /* seeds completed by this invocation */
    uint64_t failed_now;
    int jobs;
} sweep_ctx;

static bool in_shard(const sweep_ctx *s, uint64_t seed)
{
    return (seed - s->lo) % (uint64_t)s->shard_count == (uint64_t)(s->shard_index - 1);
}

static bool record_row(sweep_ctx *s, const cJSON *row)
{
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(row, "seed");
    uint64_t seed_value = 0;
    if (!cJSON_IsString(seed) || !parse_u64(seed->valuestring, strlen(seed->valuestring), &seed_value))
        return false;
    buf metrics;
    buf_init(&metrics);
    json_write(&metrics, cJSON_GetObjectItemCaseSensitive(row, "metrics"));
    const cJSON *exit_code = cJSON_GetObjectItemCaseSensitive(row, "exit_code");
    const cJSON *wall = cJSON_GetObjectItemCaseSensitive(row, "wall_ms");
    const char *strings[] = { "outcome", "failing", "tolerated", "trace_hash", "finding" };
    const char *values[5];
    for (int i = 0; i < 5; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, strings[i]);
        values[i] = cJSON_IsString(v) ? v->valuestring : "";
    }
    result_row r = {
        .scenario = s->key,
        .params = s->params,
        .seed = seed_value,
        .strict = s->strict,
        .file = s->file,
        .profile = s->tmpl->profile.name,
        .outcome = values[0],
        .exit_code = cJSON_IsNumber(exit_code) ? (int)exit_code->valuedouble : EXIT_VIOLATION,
        .failing = values[1],
        .tolerated = values[2],
        .trace_hash = values[3],
        .wall_ms = cJSON_IsNumber(wall) ? wall->valuedouble : 0.0,
        .metrics = metrics.data ? metrics.data : "{}",
        .finding = values[4],
        .shard = s->shard_text,
    };
    char *error = NULL;
    bool ok = results_insert(s->db, &r, &error);
    if (!ok) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
    }
    buf_free(&metrics);
    s->ran_now++;
    if (r.exit_code != 0)
        s->failed_now++;
    return ok;
}

static void record_crash(sweep_ctx *s, uint64_t seed, int status)
{
    char what[160];
    if (WIFSIGNALED(status))
        snprintf(what, sizeof what, "crash: the run was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(what, sizeof what, "crash: the worker exited with status %d before answering",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
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
    record_row(s, row);
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

static void progress_show(progress *p, const sweep_ctx *s, bool final)
{
    double now = now_ms();
    uint64_t done = s->ran_now;
    if (!final) {
        if (p->tty ? now - p->last_ms < 100 : (now - p->last_ms < 10000 && done - p->last_done < (p->todo + 9) / 10))
            return;
    } else if (!p->tty && done == p->last_done) {
        return;   /* the last line already said it */
    }
    p->last_ms = now;
    p->last_done = done;
    double elapsed_s = (now - p->start_ms) / 1000.0;
    double rate = elapsed_s > 0 ? (double)done / elapsed_s : 0.0;
    double eta = rate > 0 ? (double)(p->todo - done) / rate : 0.0;
    if (p->tty) {
        int width = 30;
        int filled = p->todo ? (int)((double)width * (double)done / (double)p->todo) : width;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K[%s] %llu/%llu seeds  %llu failing  %.1f seeds/s  %.0fs left", bar,
                (unsigned long long)done, (unsigned long long)p->todo, (unsigned long long)s->failed_now, rate, eta);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "sweep: %llu/%llu seeds, %llu failing, %.1f seeds/s, %.0fs left\n", (unsigned long long)done,
                (unsigned long long)p->todo, (unsigned long long)s->failed_now, rate, eta);
    }
    fflush(stderr);
}

static bool run_workers(sweep_ctx *s, const uint64_t *todo, uint64_t n_todo)
{
    int n_workers = s->jobs < (int64_t)n_todo ? s->jobs : (int)n_todo;
    worker workers[WORKERS_MAX];
    memset(workers, 0, sizeof workers);
    uint64_t next = 0;
    progress p = { .tty = isatty(STDERR_FILENO), .start_ms = now_ms(), .todo = n_todo };
    p.last_ms = p.start_ms;
    bool ok = true;
    for (int i = 0; i < n_workers; i++) {
        if (!spawn(&workers[i], s->tmpl, s->strict, s->check_det, workers, n_workers)) {
            fprintf(stderr, "syncsim: cannot start a worker: %s\n", strerror(errno));
            n_workers = i;
            break;
        }
    }
    if (n_workers == 0 && n_todo > 0)
        return false;
    for (;;) {
        /* Hand out seeds to idle workers; close the pipe of those with nothing left. */
        int alive = 0;
        for (int i = 0; i < n_workers; i++) {
            worker *w = &workers[i];
            if (w->pid <= 0)
                continue;
            alive++;
            if (w->busy || w->closed)
                continue;
            if (next < n_todo && !interrupted) {
                w->seed = todo[next++];
                if (write_all(w->cmd_fd, &w->seed, sizeof w->seed))
                    w->busy = true;
                else
                    next--;   /* the worker died; its EOF is handled below */
            } else {
                close(w->cmd_fd);
                w->closed = true;
            }
        }
        if (!alive || interrupted)
            break;
        struct pollfd fds[WORKERS_MAX];
        int map[WORKERS_MAX];
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
                    if (!row || !record_row(s, row))
                        ok = false;
                    cJSON_Delete(row);
                    memmove(w->inbox.data, w->inbox.data + 4 + len, w->inbox.len - 4 - len);
                    w->inbox.len -= 4 + len;
                    w->busy = false;
                }
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                /* The worker is gone: after its last seed, or while running one. */
                int status = 0;
                bool was_busy = w->busy;
                uint64_t seed = w->seed;
                worker_finish(w, &status);
                if (was_busy) {
                    record_crash(s, seed, status);
                    if (next < n_todo &&
                        !spawn(w, s->tmpl, s->strict, s->check_det, workers, n_workers)) {
                        fprintf(stderr, "syncsim: cannot restart a worker: %s\n", strerror(errno));
                        ok = false;
                    }
                }
            }
        }
        progress_show(&p, s, false);
    }
    for (int i = 0; i < n_workers; i++) {
        if (workers[i].pid > 0) {
            if (interrupted)
                kill(workers[i].pid, SIGKILL);
            int status;
            worker_finish(&workers[i], &status);
        }
    }
    progress_show(&p, s, true);
    return ok;
}

/* --- summary, JUnit, JSON ------------------------------------------------------------ */

typedef struct summary_ctx {
    const sweep_ctx *s;
    tally t;
    FILE *junit;
    cJSON *runs;
} summary_ctx;

static void tally_row(void *ctx, const result_row *row)
{
    summary_ctx *c = ctx;
    if (!in_shard(c->s, row->seed))
        return;
    tally *t = &c->t;
    t->total++;
    t->wall_ms += row->wall_ms;
    if (row->exit_code == 0) {
        t->passed++;
        return;
    }
    if (strcmp(row->outcome, "crash") == 0)
        t->crashed++;
    else if (strcmp(row->outcome, "bad-input") == 0)
        t->bad++;
    else
        t->failed++;
    if (t->n_failing_seeds < 20)
        t->failing_seeds[t->n_failing_seeds++] = row->seed;
    char classes[256];
    snprintf(classes, sizeof classes, "%s", row->failing);
    for (char *save = NULL, *cls = strtok_r(classes, ",", &save); cls; cls = strtok_r(NULL, ",", &save)) {
        int c_index = vclass_parse(cls);
        if (c_index >= 0)
            t->by_class[c_index]++;
    }
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc(' ', f);   /* XML 1.0 forbids most control characters */
            else
                fputc(*s, f);
        }
    }
}

static void replay_command(buf *b, const sweep_ctx *s, uint64_t seed)
{
    buf_printf(b, "syncsim run %s --seed %llu%s", s->file, (unsigned long long)seed, s->strict ? " --strict" : "");
}

static void junit_row(void *ctx, const result_row *row)
{
    summary_ctx *c = ctx;
    if (!in_shard(c->s, row->seed))
        return;
    FILE *f = c->junit;
    fprintf(f, "    <testcase classname=\"");
    xml_escape(f, c->s->tmpl->name);
    fprintf(f, "\" name=\"seed %llu\" time=\"%.3f\"", (unsigned long long)row->seed, row->wall_ms / 1000.0);
    if (row->exit_code == 0) {
        fprintf(f, "/>\n");
        return;
    }
    bool error = strcmp(row->outcome, "crash") == 0 || strcmp(row->outcome, "bad-input") == 0;
    const char *type = row->failing[0] ? row->failing : row->outcome;
    fprintf(f, ">\n      <%s type=\"", error ? "error" : "failure");
    xml_escape(f, type);
    fprintf(f, "\" message=\"");
    size_t first = strcspn(row->finding, "\n");
    char *message = xstrndup(row->finding, first);
    xml_escape(f, message);
    xfree(message);
    fprintf(f, "\">");
    xml_escape(f, row->finding);
    buf replay;
    buf_init(&replay);
    buf_puts(&replay, "\nreplay: ");
    replay_command(&replay, c->s, row->seed);
    xml_escape(f, replay.data);
    buf_free(&replay);
    fprintf(f, "</%s>\n    </testcase>\n", error ? "error" : "failure");
}

static void json_row(void *ctx, const result_row *row)
{
    summary_ctx *c = ctx;
    if (!in_shard(c->s, row->seed))
        return;
    cJSON *o = cJSON_CreateObject();
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)row->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddStringToObject(o, "outcome", row->outcome);
    cJSON_AddNumberToObject(o, "exit_code", row->exit_code);
    cJSON_AddStringToObject(o, "failing", row->failing);
    cJSON_AddStringToObject(o, "tolerated", row->tolerated);
    cJSON_AddStringToObject(o, "trace_hash", row->trace_hash);
    cJSON_AddNumberToObject(o, "wall_ms", row->wall_ms);
    cJSON *metrics = cJSON_Parse(row->metrics);
    cJSON_AddItemToObject(o, "metrics", metrics ? metrics : cJSON_CreateObject());
    if (row->finding[0])
        cJSON_AddStringToObject(o, "finding", row->finding);
    if (row->exit_code != 0) {
        buf replay;
        buf_init(&replay);
        replay_command(&replay, c->s, row->seed);
        cJSON_AddStringToObject(o, "replay", replay.data);
        buf_free(&replay);
    }
    cJSON_AddItemToArray(c->runs, o);
}

static bool write_junit(const sweep_ctx *s, const char *path, const tally *t)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"syncsim sweep\" tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" time=\"%.3f\">\n",
            (unsigned long long)t->total, (unsigned long long)t->failed, (unsigned long long)(t->crashed + t->bad),
            t->wall_ms / 1000.0);
    fprintf(f, "  <testsuite name=\"");
    xml_escape(f, s->tmpl->name);
    fprintf(f, "\" tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" time=\"%.3f\">\n", (unsigned long long)t->total,
            (unsigned long long)t->failed, (unsigned long long)(t->crashed + t->bad), t->wall_ms / 1000.0);
    fprintf(f, "    <properties>\n      <property name=\"file\" value=\"");
    xml_escape(f, s->file);
    fprintf(f, "\"/>\n      <property name=\"profile\" value=\"");
    xml_escape(f, s->tmpl->profile.name);
    fprintf(f, "\"/>\n      <property name=\"seeds\" value=\"%llu..%llu\"/>\n      <property name=\"shard\" value=\"%s\"/>\n"
               "      <property name=\"strict\" value=\"%s\"/>\n    </properties>\n",
            (unsigned long long)s->lo, (unsigned long long)s->hi, s->shard_text, s->strict ? "true" : "false");
    summary_ctx c = { .s = s, .junit = f };
    char *error = NULL;
    bool ok = results_each(s->db, s->key, s->params, s->strict, s->lo, s->hi, junit_row, &c, &error);
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    if (!ok) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
    }
    return fclose(f) == 0 && ok;
}

static bool write_json_summary(const sweep_ctx *s, const char *path, const tally *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "scenario", s->tmpl->name);
    cJSON_AddStringToObject(o, "file", s->file);
    cJSON_AddStringToObject(o, "profile", s->tmpl->profile.name);
    char range[64];
    snprintf(range, sizeof range, "%llu..%llu", (unsigned long long)s->lo, (unsigned long long)s->hi);
    cJSON_AddStringToObject(o, "seeds", range);
    cJSON_AddStringToObject(o, "shard", s->shard_text);
    cJSON_AddBoolToObject(o, "strict", s->strict);
    cJSON *totals = cJSON_AddObjectToObject(o, "totals");
    cJSON_AddNumberToObject(totals, "seeds", (double)t->total);
    cJSON_AddNumberToObject(totals, "passed", (double)t->passed);
    cJSON_AddNumberToObject(totals, "failed", (double)t->failed);
    cJSON_AddNumberToObject(totals, "crashed", (double)t->crashed);
    cJSON_AddNumberToObject(totals, "bad_input", (double)t->bad);
    cJSON *classes = cJSON_AddObjectToObject(o, "failing_classes");
    for (int c = 0; c < VC_COUNT; c++)
        if (t->by_class[c])
            cJSON_AddNumberToObject(classes, vclass_name((vclass)c), (double)t->by_class[c]);
    summary_ctx c = { .s = s, .runs = cJSON_AddArrayToObject(o, "runs") };
    char *error = NULL;
    bool ok = results_each(s->db, s->key, s->params, s->strict, s->lo, s->hi, json_row, &c, &error);
    if (!ok) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
    }
    buf text;
    buf_init(&text);
    json_write_pretty(&text, o, 0);
    buf_putc(&text, '\n');
    cJSON_Delete(o);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "syncsim: cannot write %s: %s\n", path, strerror(errno));
        buf_free(&text);
        return false;
    }
    ok = fwrite(text.data, 1, text.len, f) == text.len && ok;
    buf_free(&text);
    return fclose(f) == 0 && ok;
}

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "syncsim: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage: syncsim sweep FILE --seeds A..B [-j N] [--shard I/N] [--db results.sqlite]\n"
                    "                     [--junit F.xml] [--json F.json] [--strict] [--check-determinism]\n");
    return EXIT_BAD_INPUT;
}

static const char *option(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static bool is_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int cmd_sweep(int argc, char **argv)
{
    const char *file = NULL, *seeds = NULL, *db_path = NULL, *junit = NULL, *json = NULL, *shard = NULL,
               *jobs_text = NULL;
    bool strict = false, check_det = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--strict") == 0)
            strict = true;
        else if (strcmp(a, "--check-determinism") == 0)
            check_det = true;
        else if (is_option(a, "--seeds")) {
            if (!(seeds = option(argc, argv, &i, "--seeds")))
                return usage("%s needs a range such as 1..1000", "--seeds");
        } else if (is_option(a, "--db")) {
            if (!(db_path = option(argc, argv, &i, "--db")))
                return usage("%s needs a file name", "--db");
        } else if (is_option(a, "--junit")) {
            if (!(junit = option(argc, argv, &i, "--junit")))
                return usage("%s needs a file name", "--junit");
        } else if (is_option(a, "--json")) {
            if (!(json = option(argc, argv, &i, "--json")))
                return usage("%s needs a file name", "--json");
        } else if (is_option(a, "--shard")) {
            if (!(shard = option(argc, argv, &i, "--shard")))
                return usage("%s needs I/N, e.g. 2/3", "--shard");
        } else if (is_option(a, "-j")) {
            if (!(jobs_text = option(argc, argv, &i, "-j")))
                return usage("%s needs a number of workers", "-j");
        } else if (strncmp(a, "-j", 2) == 0 && a[2] >= '0' && a[2] <= '9') {
            jobs_text = a + 2;
        } else if (a[0] == '-') {
            return usage("unknown option '%s'", a);
        } else if (file) {
            return usage("sweep takes one scenario file; '%s' is a second one", a);
        } else {
            file = a;
        }
    }
    if (!file)
        return usage("%s", "sweep needs a scenario file");
    if (!seeds)
        return usage("%s", "sweep needs --seeds A..B");
    sweep_ctx s = { .file = file, .strict = strict, .check_det = check_det, .params = "{}", .shard_index = 1,
                    .shard_count = 1 };
    if (!sweep_parse_seeds(seeds, &s.lo, &s.hi))
        return usage("--seeds needs A..B with A <= B < 2^63 and at most a billion seeds, not '%s'", seeds);
    if (shard && !sweep_parse_shard(shard, &s.shard_index, &s.shard_count))
        return usage("--shard needs I/N with 1 <= I <= N, not '%s'", shard);
    snprintf(s.shard_text, sizeof s.shard_text, "%d/%d", s.shard_index, s.shard_count);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    s.jobs = cpus > 0 ? (int)cpus : 1;
    if (jobs_text) {
        uint64_t j;
        if (!parse_u64(jobs_text, strlen(jobs_text), &j) || j < 1 || j > WORKERS_MAX)
            return usage("-j needs a number of workers from 1 to 256, not '%s'", jobs_text);
        s.jobs = (int)j;
    }

    diag d;
    diag_init(&d);
    scenario *tmpl = scenario_load(file, &d);
    if (!tmpl) {
        fprintf(stderr, "%s\n", d.message);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }
    s.tmpl = tmpl;
    s.key = sweep_scenario_key(tmpl);
    char *error = NULL;
    s.db = results_open(db_path, &error);
    if (!s.db) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
        xfree(s.key);
        scenario_free(tmpl);
        diag_free(&d);
        return EXIT_BAD_INPUT;
    }

    /* The seeds of this shard that have no row yet. */
    u64map done;
    u64map_init(&done);
    int code = EXIT_PASS;
    if (!results_done(s.db, s.key, s.params, s.strict, &done, &error)) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
        code = EXIT_BAD_INPUT;
    }
    uint64_t in_range = 0, n_todo = 0, cap = 0;
    uint64_t *todo = NULL;
    for (uint64_t seed = s.lo; code == EXIT_PASS; seed++) {
        if (in_shard(&s, seed)) {
            in_range++;
            if (u64map_get(&done, seed) < 0) {
                if (n_todo == cap) {
                    cap = cap ? cap * 2 : 1024;
                    todo = xrealloc(todo, cap * sizeof *todo);
                }
                todo[n_todo++] = seed;
            }
        }
        if (seed == s.hi)
            break;
    }
    u64map_free(&done);

    if (code == EXIT_PASS) {
        fprintf(stderr, "sweep: %s, seeds %llu..%llu, shard %s: %llu seeds, %llu already in %s, %d worker%s\n",
                file, (unsigned long long)s.lo, (unsigned long long)s.hi, s.shard_text,
                (unsigned long long)in_range, (unsigned long long)(in_range - n_todo),
                db_path ? db_path : "memory", s.jobs, s.jobs == 1 ? "" : "s");
        struct sigaction sa = { .sa_handler = on_interrupt };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        double start = now_ms();
        bool ok = n_todo == 0 || run_workers(&s, todo, n_todo);
        double elapsed_s = (now_ms() - start) / 1000.0;
        if (!ok)
            code = EXIT_BAD_INPUT;

        summary_ctx sum = { .s = &s };
        if (!results_each(s.db, s.key, s.params, s.strict, s.lo, s.hi, tally_row, &sum, &error)) {
            fprintf(stderr, "syncsim: %s\n", error);
            xfree(error);
            code = EXIT_BAD_INPUT;
        }
        tally *t = &sum.t;
        printf("sweep  %s (%s), profile %s%s\n", tmpl->name, file, tmpl->profile.name, strict ? ", strict" : "");
        printf("seeds  %llu..%llu, shard %s: %llu recorded, %llu run now in %.1fs (%.1f seeds/s, %d worker%s)\n",
               (unsigned long long)s.lo, (unsigned long long)s.hi, s.shard_text, (unsigned long long)t->total,
               (unsigned long long)s.ran_now, elapsed_s, elapsed_s > 0 ? (double)s.ran_now / elapsed_s : 0.0, s.jobs,
               s.jobs == 1 ? "" : "s");
        printf("result %llu passed, %llu failed, %llu crashed, %llu bad input\n", (unsigned long long)t->passed,
               (unsigned long long)t->failed, (unsigned long long)t->crashed, (unsigned long long)t->bad);
        bool any_class = false;
        for (int c = 0; c < VC_COUNT; c++) {
            if (t->by_class[c]) {
                printf("%s%s %llu", any_class ? ", " : "failing by class: ", vclass_name((vclass)c),
                       (unsigned long long)t->by_class[c]);
                any_class = true;
            }
        }
        if (any_class)
            printf("\n");
        if (t->n_failing_seeds) {
            printf("failing seeds%s (replay any of them exactly):\n", t->total - t->passed > 20 ? ", first 20" : "");
            for (int i = 0; i < t->n_failing_seeds; i++) {
                buf replay;
                buf_init(&replay);
                replay_command(&replay, &s, t->failing_seeds[i]);
                printf("  %s\n", replay.data);
                buf_free(&replay);
            }
        }
        if (interrupted) {
            printf("interrupted: %llu seeds of this shard have no result yet; run the same command to resume\n",
                   (unsigned long long)(in_range - t->total));
            code = 130;
        } else if (code == EXIT_PASS && t->total != t->passed) {
            code = t->bad == t->total - t->passed ? EXIT_BAD_INPUT : EXIT_VIOLATION;
        }
        if (junit && !write_junit(&s, junit, t))
            code = EXIT_BAD_INPUT;
        if (json && !write_json_summary(&s, json, t))
            code = EXIT_BAD_INPUT;
    }
    xfree(todo);
    results_close(s.db);
    xfree(s.key);
    scenario_free(tmpl);
    diag_free(&d);
    return code;
}

int cmd_merge(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: syncsim merge OUT.sqlite IN.sqlite...\n");
        return EXIT_BAD_INPUT;
    }
    char *error = NULL;
    results *out = results_open(argv[2], &error);
    if (!out) {
        fprintf(stderr, "syncsim: %s\n", error);
        xfree(error);
        return EXIT_BAD_INPUT;
    }
    int code = EXIT_PASS;
    for (int i = 3; i < argc; i++) {
        if (access(argv[i], R_OK) != 0) {
            fprintf(stderr, "syncsim: %s: %s\n", argv[i], strerror(errno));
            code = EXIT_BAD_INPUT;
            continue;
        }
        int64_t added = 0, skipped = 0;
        if (!results_merge(out, argv[i], &added, &skipped, &error)) {
            fprintf(stderr, "syncsim: %s\n", error);
            xfree(error);
            code = EXIT_BAD_INPUT;
            continue;
        }
        printf("%s: %lld rows added, %lld already present\n", argv[i], (long long)added, (long long)skipped);
    }
    results_close(out);
    return code;
}
