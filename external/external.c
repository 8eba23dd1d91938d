/*
 * external: see external.h.
 *
 * Invariants:
 *   - one request at a time: a request is written only after the previous
 *     one's terminator was read, and seq counts requests in this process's
 *     life (init is 1);
 *   - every effect is handed to the host before the call that caused it
 *     returns, in the order the node wrote it;
 *   - after a failure the process is dead and reaped, host.fail was called
 *     exactly once, and no call talks to the node again;
 *   - a temporary directory is removed when the node is destroyed, unless
 *     the node failed (its log is what the user needs then).
 */
#define _XOPEN_SOURCE 700
#include "external/external.h"
#include "base/xalloc.h"
#include "external/process.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How much of a node's log an error quotes. */
#define LOG_TAIL_LINES 12
#define LOG_TAIL_BYTES 4096
/* A line quoted in an error is cut here. */
#define QUOTE_BYTES 160
/* Real time a node has to exit after shutdown, beyond which it is killed. */
#define SHUTDOWN_GRACE_US (INT64_C(1000000))
/* How long a failing node may take to exit on its own before it is killed (to report its status). */
#define EXIT_WAIT_US (INT64_C(100000))
/* A marker file: a data directory under --store-dir that syncsim made and may wipe. */
#define DATA_DIR_MARKER ".syncsim-node-data"

typedef struct pooled {
    child proc;
    char *argv_key;        /* the command, to match */
    char *log_path;        /* where its stderr goes (the pool's directory) */
    uint64_t last_seq;     /* the last request it answered */
} pooled;

struct external_pool {
    char *dir;             /* logs of processes spawned for reuse */
    int spawned;
    pooled *items;
    size_t n;
    size_t cap;
};

/* What the node is answering, said only when it fails: the request's kind and its subject (borrowed for
 * the call, which is when a failure is reported). Formatting it for every request would cost more than
 * the rest of the bookkeeping. */
typedef struct doing {
    proto_request_kind kind;
    const char *from;          /* deliver: the sender */
    const user_op *op;         /* op */
    uint64_t token;            /* timer */
    node_control control;      /* control */
    storage_fault storage;     /* storage_fault */
    lifecycle_wipe wipe;       /* reinstall, sign_out, switch_account */
    const char *user;          /* switch_account, account: the account signing in */
} doing;

typedef struct external {
    node base;
    external_config cfg;
    const char *name;
    child proc;
    bool running;          /* a process answered init and is alive */
    bool failed;
    int boots;
    uint64_t seq;          /* the last request sent to this process */
    int64_t wall_us;       /* the clocks the last request carried */
    int64_t mono_us;
    bool idle;
    proto_ops ops;
    unsigned features;
    char *argv_key;
    char *dir;             /* our temporary directory, or NULL under store_dir */
    char *data_dir;
    char *log_path;        /* where the current process's stderr goes */
    char *owned_log_path;  /* the log this node made (log_path may be a pooled process's) */
    arena scratch;         /* one answer's strings; reset before each request */
    arena reasons;         /* refusal texts: the world reads them after the call returns */
    buf out;
    doing doing;           /* the request being answered, for errors */
    /* The last terminator. */
    bool refused;
    const char *refusal;
    cJSON *snapshot;
    /* A server that does not report received: writes already seen in its records. */
    u64map received;
} external;

char *external_command_text(const char *const *argv)
{
    buf b;
    buf_init(&b);
    for (int i = 0; argv && argv[i]; i++) {
        if (i)
            buf_putc(&b, ' ');
        bool plain = argv[i][0] != '\0' && strpbrk(argv[i], " \t\"'\\$") == NULL;
        if (plain) {
            buf_puts(&b, argv[i]);
        } else {
            buf_putc(&b, '\'');
            for (const char *p = argv[i]; *p; p++) {
                if (*p == '\'')
                    buf_puts(&b, "'\\''");
                else
                    buf_putc(&b, *p);
            }
            buf_putc(&b, '\'');
        }
    }
    return buf_take(&b);
}

/* --- directories -------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    if (path)
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tmp_base(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* A name safe in a file name. */
static char *safe_name(const char *name)
{
    char *s = xstrdup(name);
    for (char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_' || *p == '.'))
            *p = '_';
    if (s[0] == '.')
        s[0] = '_';
    return s;
}

static bool dir_error(char **error, const char *what, const char *path)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "%s %s: %s", what, path, strerror(errno));
    *error = buf_take(&b);
    return false;
}

/* An empty data directory at the first boot. Under store_dir it is <store_dir>/<name>, wiped only if
 * syncsim made it; otherwise a new temporary directory. */
static bool prepare_dirs(external *x, char **error)
{
    char *safe = safe_name(x->name);
    buf b;
    buf_init(&b);
    bool ok = false;
    if (x->cfg.store_dir) {
        buf_printf(&b, "%s/%s", x->cfg.store_dir, safe);
        x->data_dir = buf_take(&b);
        buf_printf(&b, "%s/%s.log", x->cfg.store_dir, safe);
        x->owned_log_path = buf_take(&b);
        struct stat st;
        if (stat(x->data_dir, &st) == 0) {
            buf_printf(&b, "%s/" DATA_DIR_MARKER, x->data_dir);
            bool ours = access(b.data, F_OK) == 0;
            buf_clear(&b);
            if (!ours) {
                buf_printf(&b, "%s exists and was not made by syncsim: it will not wipe it for the node's data",
                           x->data_dir);
                *error = buf_take(&b);
                goto out;
            }
            remove_tree(x->data_dir);
        }
        if (mkdir(x->cfg.store_dir, 0777) != 0 && errno != EEXIST) {
            dir_error(error, "cannot create", x->cfg.store_dir);
            goto out;
        }
        if (mkdir(x->data_dir, 0777) != 0) {
            dir_error(error, "cannot create", x->data_dir);
            goto out;
        }
        buf_printf(&b, "%s/" DATA_DIR_MARKER, x->data_dir);
        FILE *marker = fopen(b.data, "w");
        if (marker)
            fclose(marker);
        buf_clear(&b);
        unlink(x->owned_log_path);
    } else {
        buf_printf(&b, "%s/syncsim-%s-XXXXXX", tmp_base(), safe);
        x->dir = buf_take(&b);
        if (!mkdtemp(x->dir)) {
            dir_error(error, "cannot create a temporary directory like", x->dir);
            goto out;
        }
        buf_printf(&b, "%s/data", x->dir);
        x->data_dir = buf_take(&b);
        buf_printf(&b, "%s/%s.log", x->dir, safe);
        x->owned_log_path = buf_take(&b);
        if (mkdir(x->data_dir, 0777) != 0) {
            dir_error(error, "cannot create", x->data_dir);
            goto out;
        }
    }
    ok = true;
out:
    buf_free(&b);
    xfree(safe);
    return ok;
}

static void describe_doing(const external *x, const doing *d, buf *b)
{
    switch (d->kind) {
    case REQ_INIT:
    case REQ_RESET: buf_printf(b, "%s, boot %d", proto_request_name(d->kind), x->boots); break;
    case REQ_OP:
        buf_printf(b, "op %s %s/%s", op_kind_name(d->op->kind), d->op->type, d->op->id);
        break;
    case REQ_DELIVER: buf_printf(b, "deliver from %s", d->from); break;
    case REQ_TIMER: buf_printf(b, "timer %llu", (unsigned long long)d->token); break;
    case REQ_CONTROL:
        buf_printf(b, "control %s", d->control == CTL_SYNC_NOW ? "sync" : d->control == CTL_NET_UP ? "net_up" : "net_down");
        break;
    case REQ_SNAPSHOT:
    case REQ_SHUTDOWN:
    case REQ_POWER_LOSS: buf_puts(b, proto_request_name(d->kind)); break;
    case REQ_STORAGE_FAULT: buf_printf(b, "storage_fault %s", storage_fault_kind_name(d->storage.kind)); break;
    case REQ_REINSTALL:
    case REQ_SIGN_OUT: buf_printf(b, "%s wipe %s", proto_request_name(d->kind), lifecycle_wipe_name(d->wipe)); break;
    case REQ_SWITCH_ACCOUNT:
    case REQ_ACCOUNT: buf_printf(b, "%s to %s", proto_request_name(d->kind), d->user); break;
    }
}

/* --- failures ------------------------------------------------------------------ */

static void quote(buf *b, const char *text, size_t len)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < len && i < QUOTE_BYTES; i++) {
        char c = text[i];
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if ((unsigned char)c < 0x20)
            buf_printf(b, "\\x%02x", (unsigned char)c);
        else
            buf_putc(b, c);
    }
    buf_puts(b, len > QUOTE_BYTES ? "\"..." : "\"");
}

/*
 * The node failed: kill it and tell the host once. problem says what went wrong, expected what the
 * protocol wanted at that point.
 */
static void node_failed_as(external *x, const char *problem, const char *expected, bool closed_output)
{
    if (x->failed)
        return;
    x->failed = true;
    bool had_process = x->proc.pid > 0;
    /* A node that closed its output is usually exiting: give it a moment, so the report can say how. */
    bool exited = had_process && closed_output && child_wait_exit(&x->proc, child_clock_us() + EXIT_WAIT_US);
    child_kill(&x->proc);
    x->running = false;
    buf b;
    buf_init(&b);
    char *cmd = external_command_text(x->cfg.argv);
    buf_printf(&b, "%s (%s) failed while answering request %llu (", x->name, cmd, (unsigned long long)x->seq);
    describe_doing(x, &x->doing, &b);
    buf_printf(&b, "):\n  %s\n", problem);
    if (expected)
        buf_printf(&b, "  expected: %s\n", expected);
    if (exited) {
        buf_puts(&b, "  the process ");
        child_describe_exit(&x->proc, &b);
        buf_putc(&b, '\n');
    } else if (had_process) {
        buf_puts(&b, "  syncsim stopped the process (SIGKILL)\n");
    }
    if (x->log_path) {
        char *tail = file_tail(x->log_path, LOG_TAIL_LINES, LOG_TAIL_BYTES, "    ");
        buf_printf(&b, "  last lines of its log, %s:\n%s\n", x->log_path, tail);
        xfree(tail);
    }
    xfree(cmd);
    x->cfg.host.fail(x->cfg.host.ctx, x->cfg.index, b.data);
    buf_free(&b);
}

static void node_failed(external *x, const char *problem, const char *expected)
{
    node_failed_as(x, problem, expected, false);
}

static void io_failed(external *x, child_io io, bool writing, const char *expected)
{
    buf b;
    buf_init(&b);
    switch (io) {
    case CHILD_EOF:
        buf_puts(&b, writing ? "it exited (or closed its input) before it read the request"
                             : "it exited (or closed its output) before it answered");
        break;
    case CHILD_TIMEOUT:
        buf_printf(&b, "it did not answer within %.3gs of real time (its timeout)", (double)x->cfg.timeout_us / 1e6);
        break;
    case CHILD_TOO_LONG: buf_printf(&b, "it wrote a line longer than %zu bytes", PROTO_LINE_BYTES_MAX); break;
    case CHILD_ERROR: buf_printf(&b, "reading from it failed: %s", strerror(errno)); break;
    case CHILD_OK: break;
    }
    node_failed_as(x, b.data, expected, io == CHILD_EOF);
    buf_free(&b);
}

/* --- one request ---------------------------------------------------------------- */

static void begin(external *x, proto_request_kind kind, int64_t wall_us)
{
    buf_clear(&x->out);
    arena_reset(&x->scratch);
    x->seq++;
    x->wall_us = wall_us;
    x->mono_us = x->cfg.host.mono_now(x->cfg.host.ctx, x->cfg.index);
    proto_request_begin(&x->out, kind, x->seq, x->wall_us, x->mono_us);
}

/* The snapshot and shutdown come after the run, at no instant of their own: the node's clocks read what they read
 * at its last request. */
static void begin_after_run(external *x, proto_request_kind kind)
{
    buf_clear(&x->out);
    arena_reset(&x->scratch);
    x->seq++;
    proto_request_begin(&x->out, kind, x->seq, x->wall_us, x->mono_us);
}

/* A server without the received feature: a write is received when it first shows in its records. */
static void infer_received(external *x, const observation *obs)
{
    for (int i = -2; i < obs->n_writes; i++) {
        write_id w = i == -2 ? obs->record_w : i == -1 ? obs->delete_w : obs->writes[i];
        if (w == WRITE_NONE || u64map_get(&x->received, w) >= 0)
            continue;
        u64map_put(&x->received, w, 1);
        observation got = { .kind = OBS_RECEIVED, .w = w };
        x->cfg.host.observe(x->cfg.host.ctx, x->cfg.index, &got);
    }
}

static void apply_effect(external *x, proto_effect *e)
{
    node_host *h = &x->cfg.host;
    switch (e->kind) {
    case EFF_SEND:
        h->send(h->ctx, x->cfg.index, e->dest, message_of_json(e->body));
        e->body = NULL;
        break;
    case EFF_SET_TIMER:
        h->set_timer(h->ctx, x->cfg.index, e->delay_us, e->token);
        break;
    case EFF_OBSERVE:
        if (x->cfg.index == NODE_SERVER && !(x->features & PROTO_FEATURE_RECEIVED) && e->obs.kind == OBS_RECORD)
            infer_received(x, &e->obs);
        h->observe(h->ctx, x->cfg.index, &e->obs);
        break;
    case EFF_LOG: {
        FILE *f = x->log_path ? fopen(x->log_path, "a") : NULL;
        if (f) {
            fprintf(f, "[log, request %llu] %s\n", (unsigned long long)x->seq, e->text);
            fclose(f);
        }
        break;
    }
    default:
        break;
    }
}

/*
 * Send the request in x->out and read the answer up to its terminator, applying every effect. want is
 * EFF_DONE or EFF_INIT_OK. False when the node failed (reported).
 */
static bool exchange(external *x, proto_effect_kind want)
{
    if (x->failed || !x->running)
        return false;
    /* Lockstep: a node writes nothing between requests. A line now would be taken for part of the next answer. */
    if (child_has_output(&x->proc)) {
        node_failed(x, "it wrote output between requests, after its answer to the one before",
                    "nothing until the next request (the lockstep rule)");
        return false;
    }
    int64_t deadline = child_clock_us() + x->cfg.timeout_us;
    child_io io = child_write(&x->proc, x->out.data, x->out.len, deadline);
    if (io != CHILD_OK) {
        io_failed(x, io, true, want == EFF_INIT_OK ? "effects, then init_ok" : "effects, then done");
        return false;
    }
    const char *expected = want == EFF_INIT_OK ? "effects, then init_ok" : "effects, then done";
    x->refused = false;
    x->refusal = NULL;
    for (;;) {
        const char *line;
        size_t len;
        io = child_read_line(&x->proc, deadline, PROTO_LINE_BYTES_MAX, &line, &len);
        if (io != CHILD_OK) {
            io_failed(x, io, false, expected);
            return false;
        }
        proto_effect e;
        char *why = NULL;
        if (!proto_decode_effect(line, len, x->cfg.roster, x->cfg.index, &x->scratch, &e, &why)) {
            buf b;
            buf_init(&b);
            buf_puts(&b, "it wrote ");
            quote(&b, line, len);
            buf_printf(&b, ", which is not %s: %s", PROTO_VERSION, why);
            xfree(why);
            node_failed(x, b.data, expected);
            buf_free(&b);
            return false;
        }
        if (e.kind < EFF_DONE) {
            apply_effect(x, &e);
            proto_effect_free(&e);
            continue;
        }
        /* A terminator. */
        bool ok = false;
        buf b;
        buf_init(&b);
        if (e.kind == EFF_ERROR) {
            buf_printf(&b, "it answered with error %d: %s", e.code, e.text ? e.text : "(no text)");
        } else if (e.in_reply_to != x->seq) {
            buf_printf(&b, "its %s answers request %llu, not %llu", e.kind == EFF_ERROR ? "error" : "terminator",
                       (unsigned long long)e.in_reply_to, (unsigned long long)x->seq);
        } else if (e.kind != want) {
            buf_printf(&b, "it answered with %s", e.kind == EFF_DONE ? "done" : "init_ok");
        } else if (want == EFF_INIT_OK && strcmp(e.protocol, PROTO_VERSION) != 0) {
            buf_printf(&b, "it speaks \"%.60s\"; this syncsim speaks " PROTO_VERSION, e.protocol);
        } else {
            ok = true;
            x->idle = e.idle;
            if (want == EFF_INIT_OK) {
                x->ops = e.ops;
                x->features = e.features;
            }
            if (e.refused) {
                x->refused = true;
                x->refusal = arena_strdup(&x->reasons, e.text);
            }
            cJSON_Delete(x->snapshot);
            x->snapshot = e.snapshot;
            e.snapshot = NULL;
        }
        proto_effect_free(&e);
        if (!ok)
            node_failed(x, b.data, expected);
        buf_free(&b);
        return ok;
    }
}

/* --- the pool -------------------------------------------------------------------- */

external_pool *external_pool_new(void)
{
    return xcalloc(1, sizeof(external_pool));
}

void external_pool_free(external_pool *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->n; i++) {
        pooled *p = &pool->items[i];
        buf b;
        buf_init(&b);
        proto_request_begin(&b, REQ_SHUTDOWN, ++p->last_seq, 0, 0);
        proto_request_end(&b);
        int64_t deadline = child_clock_us() + SHUTDOWN_GRACE_US;
        if (child_write(&p->proc, b.data, b.len, deadline) == CHILD_OK)
            child_wait_exit(&p->proc, deadline);
        child_free(&p->proc);
        buf_free(&b);
        xfree(p->argv_key);
        xfree(p->log_path);
    }
    xfree(pool->items);
    remove_tree(pool->dir);
    xfree(pool->dir);
    xfree(pool);
}

/* A pooled process for this command, taken out of the pool, or false. */
static bool pool_take(external *x)
{
    external_pool *pool = x->cfg.pool;
    for (size_t i = 0; pool && i < pool->n; i++) {
        pooled *p = &pool->items[i];
        if (strcmp(p->argv_key, x->argv_key) != 0)
            continue;
        x->proc = p->proc;
        x->seq = 0;   /* reset is request 1 of the process's new life, as init is of a new process */
        xfree(x->log_path);
        x->log_path = p->log_path;
        xfree(p->argv_key);
        pool->items[i] = pool->items[--pool->n];
        return true;
    }
    return false;
}

/* Where a new process's stderr goes: the node's own log, or the pool's directory when it may be reused. */
static char *spawn_log_path(external *x)
{
    external_pool *pool = x->cfg.pool;
    if (!pool)
        return xstrdup(x->owned_log_path);
    if (!pool->dir) {
        buf b;
        buf_init(&b);
        buf_printf(&b, "%s/syncsim-pool-XXXXXX", tmp_base());
        pool->dir = buf_take(&b);
        if (!mkdtemp(pool->dir)) {
            xfree(pool->dir);
            pool->dir = NULL;
            return xstrdup(x->owned_log_path);
        }
    }
    char *safe = safe_name(x->name);
    buf b;
    buf_init(&b);
    buf_printf(&b, "%s/%s-%d.log", pool->dir, safe, ++pool->spawned);
    xfree(safe);
    return buf_take(&b);
}

/* --- node_ops --------------------------------------------------------------------- */

static uint64_t boot_seed(const external *x)
{
    uint64_t h = hash64_u64(HASH64_INIT, x->cfg.seed);
    h = hash64_str(h, x->name);
    return hash64_u64(h, (uint64_t)x->boots);
}

static void ext_boot(node *n, int64_t now_us)
{
    external *x = (external *)n;
    if (x->failed)
        return;
    x->boots++;
    /* Only a replica's first start reuses a process: a restart after a crash is a new process, as on a phone. */
    bool reused = !x->running && x->boots == 1 && pool_take(x);
    proto_request_kind kind = reused ? REQ_RESET : REQ_INIT;
    if (!reused) {
        child_free(&x->proc);
        x->seq = 0;
        xfree(x->log_path);
        x->log_path = spawn_log_path(x);
        char *error = NULL;
        if (!child_spawn(&x->proc, x->cfg.argv, x->log_path, &error)) {
            x->doing = (doing){ .kind = REQ_INIT };
            node_failed(x, error, "a process to start");
            xfree(error);
            return;
        }
    }
    x->running = true;
    begin(x, kind, now_us);
    x->doing = (doing){ .kind = kind };
    proto_init init = { .node = x->name, .index = x->cfg.index, .seed = boot_seed(x), .data_dir = x->data_dir,
                        .boot = x->boots };
    proto_put_init(&x->out, x->cfg.roster, &init);
    proto_request_end(&x->out);
    exchange(x, EFF_INIT_OK);
}

static void ext_crash(node *n)
{
    external *x = (external *)n;
    if (x->failed)
        return;
    child_kill(&x->proc);
    x->running = false;
    x->idle = false;
}

/* A power loss: a node that declared the feature puts its data directory back to its last flush and
 * answers done; the world then crashes it (SIGKILL). One that did not declare it is crashed plainly. */
static bool ext_power_loss(node *n, int64_t now_us)
{
    external *x = (external *)n;
    if (x->failed || !x->running || !(x->features & PROTO_FEATURE_POWER_LOSS))
        return false;
    begin(x, REQ_POWER_LOSS, now_us);
    x->doing = (doing){ .kind = REQ_POWER_LOSS };
    proto_request_end(&x->out);
    return exchange(x, EFF_DONE);
}

static bool ext_user_op(node *n, const user_op *op, int64_t now_us, const char **reason)
{
    external *x = (external *)n;
    begin(x, REQ_OP, now_us);
    x->doing = (doing){ .kind = REQ_OP, .op = op };
    proto_put_op(&x->out, x->cfg.roster, op);
    proto_request_end(&x->out);
    if (!exchange(x, EFF_DONE)) {
        *reason = "the node failed";
        return false;
    }
    if (x->refused) {
        *reason = x->refusal;
        return false;
    }
    return true;
}

static void ext_deliver(node *n, int from, message *msg, int64_t now_us)
{
    external *x = (external *)n;
    begin(x, REQ_DELIVER, now_us);
    x->doing = (doing){ .kind = REQ_DELIVER, .from = x->cfg.roster->names[from] };
    proto_put_deliver(&x->out, x->cfg.roster, from, message_json(msg));
    proto_request_end(&x->out);
    exchange(x, EFF_DONE);
}

static void ext_timer(node *n, uint64_t token, int64_t now_us)
{
    external *x = (external *)n;
    begin(x, REQ_TIMER, now_us);
    x->doing = (doing){ .kind = REQ_TIMER, .token = token };
    proto_put_timer(&x->out, token);
    proto_request_end(&x->out);
    exchange(x, EFF_DONE);
}

static void ext_control(node *n, node_control ctl, int64_t now_us)
{
    external *x = (external *)n;
    begin(x, REQ_CONTROL, now_us);
    x->doing = (doing){ .kind = REQ_CONTROL, .control = ctl };
    proto_put_control(&x->out, ctl);
    proto_request_end(&x->out);
    exchange(x, EFF_DONE);
}

/* Only a node that listed storage_faults in its init_ok is asked; the world traces the others as skipped. */
static bool ext_storage_fault(node *n, const storage_fault *fault, int64_t now_us)
{
    external *x = (external *)n;
    if (!(x->features & PROTO_FEATURE_STORAGE_FAULTS) || !x->running || x->failed)
        return false;
    begin(x, REQ_STORAGE_FAULT, now_us);
    x->doing = (doing){ .kind = REQ_STORAGE_FAULT, .storage = *fault };
    proto_put_storage_fault(&x->out, fault);
    proto_request_end(&x->out);
    return exchange(x, EFF_DONE) && !x->refused;
}

/* A reinstall or a sign-out: only a node that listed lifecycle in its init_ok is asked (the world
 * traces the others as unsupported and leaves them as they are); it deletes its local database and
 * answers done, a refusal when it could not. The world then kills it. A switch of accounts (a device's
 * switch_account, the server's account) goes only to a node that listed accounts; after a device's,
 * the world kills it and starts it with an init naming its new user. */
static bool ext_lifecycle(node *n, const lifecycle_call *call, int64_t now_us)
{
    external *x = (external *)n;
    if (call->kind == LIFECYCLE_SWITCH || call->kind == LIFECYCLE_ACCOUNT) {
        if (!(x->features & PROTO_FEATURE_ACCOUNTS) || !x->running || x->failed)
            return false;
        proto_request_kind kind = call->kind == LIFECYCLE_SWITCH ? REQ_SWITCH_ACCOUNT : REQ_ACCOUNT;
        begin(x, kind, now_us);
        x->doing = (doing){ .kind = kind, .wipe = call->wipe, .user = call->user };
        if (kind == REQ_SWITCH_ACCOUNT)
            proto_put_switch_account(&x->out, call->wipe, call->keep_data, call->user);
        else
            proto_put_account(&x->out, x->cfg.roster, call->device, call->user);
        proto_request_end(&x->out);
        return exchange(x, EFF_DONE) && !x->refused;
    }
    if (!(x->features & PROTO_FEATURE_LIFECYCLE) || !x->running || x->failed)
        return false;
    proto_request_kind kind = call->kind == LIFECYCLE_REINSTALL ? REQ_REINSTALL : REQ_SIGN_OUT;
    begin(x, kind, now_us);
    x->doing = (doing){ .kind = kind, .wipe = call->wipe };
    proto_put_lifecycle(&x->out, call->wipe);
    proto_request_end(&x->out);
    return exchange(x, EFF_DONE) && !x->refused;
}

static bool ext_idle(node *n)
{
    external *x = (external *)n;
    return x->running && !x->failed && x->idle;
}

static bool ext_supports(node *n, op_kind op)
{
    external *x = (external *)n;
    return (x->ops & PROTO_OP_BIT(op)) != 0;
}

static cJSON *ext_snapshot(node *n)
{
    external *x = (external *)n;
    if (x->failed || !x->running)
        return NULL;
    /* The snapshot is read at the end of the run: the node's clock reads what it last did. */
    begin_after_run(x, REQ_SNAPSHOT);
    x->doing = (doing){ .kind = REQ_SNAPSHOT };
    proto_request_end(&x->out);
    if (!exchange(x, EFF_DONE))
        return NULL;
    if (!x->snapshot) {
        node_failed(x, "its done carries no \"snapshot\"", "done with \"snapshot\": {\"records\": [...]}");
        return NULL;
    }
    cJSON *s = x->snapshot;
    x->snapshot = NULL;
    return s;
}

/* Put a healthy process that can be reset into the pool instead of stopping it. */
static bool pool_give(external *x)
{
    external_pool *pool = x->cfg.pool;
    if (!pool || !x->running || x->failed || !(x->features & PROTO_FEATURE_RESET) || !x->log_path ||
        !pool->dir || strncmp(x->log_path, pool->dir, strlen(pool->dir)) != 0)
        return false;
    xgrow(&pool->items, &pool->cap, pool->n + 1, sizeof *pool->items);
    pool->items[pool->n++] = (pooled){ .proc = x->proc, .argv_key = xstrdup(x->argv_key), .log_path = x->log_path,
                                      .last_seq = x->seq };
    x->log_path = NULL;
    memset(&x->proc, 0, sizeof x->proc);
    x->proc.to_fd = x->proc.from_fd = -1;
    x->running = false;
    return true;
}

static void ext_destroy(node *n)
{
    external *x = (external *)n;
    if (x->running && !x->failed && !pool_give(x)) {
        /* A polite shutdown; a node that does not leave in time is killed. */
        int64_t deadline = child_clock_us() + SHUTDOWN_GRACE_US;
        begin_after_run(x, REQ_SHUTDOWN);
        proto_request_end(&x->out);
        const char *line;
        size_t len;
        if (child_write(&x->proc, x->out.data, x->out.len, deadline) == CHILD_OK)
            while (child_read_line(&x->proc, deadline, PROTO_LINE_BYTES_MAX, &line, &len) == CHILD_OK)
                ;
        child_wait_exit(&x->proc, deadline);
    }
    child_free(&x->proc);
    if (x->dir && !x->failed)
        remove_tree(x->dir);
    xfree(x->dir);
    xfree(x->data_dir);
    xfree(x->log_path);
    xfree(x->owned_log_path);
    xfree(x->argv_key);
    cJSON_Delete(x->snapshot);
    arena_release(&x->scratch);
    arena_release(&x->reasons);
    buf_free(&x->out);
    u64map_free(&x->received);
    xfree(x);
}

static const node_ops EXTERNAL_OPS = {
    .boot = ext_boot,
    .crash = ext_crash,
    .power_loss = ext_power_loss,
    .user_op = ext_user_op,
    .deliver = ext_deliver,
    .timer = ext_timer,
    .control = ext_control,
    .idle = ext_idle,
    .supports = ext_supports,
    .snapshot = ext_snapshot,
    .destroy = ext_destroy,
    .storage_fault = ext_storage_fault,
    .lifecycle = ext_lifecycle,
};

node *external_node_new(const external_config *cfg, char **error)
{
    external *x = xcalloc(1, sizeof *x);
    x->base.ops = &EXTERNAL_OPS;
    x->cfg = *cfg;
    if (x->cfg.timeout_us <= 0)
        x->cfg.timeout_us = EXTERNAL_TIMEOUT_US_DEFAULT;
    x->name = cfg->roster->names[cfg->index];
    x->proc.to_fd = x->proc.from_fd = -1;
    x->ops = PROTO_OPS_DEFAULT;
    x->argv_key = external_command_text(cfg->argv);
    arena_init(&x->scratch, 64 * 1024);
    arena_init(&x->reasons, 1024);
    buf_init(&x->out);
    u64map_init(&x->received);
    if (!prepare_dirs(x, error)) {
        ext_destroy(&x->base);
        return NULL;
    }
    return &x->base;
}
