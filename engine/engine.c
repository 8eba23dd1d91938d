/*
 * engine: construction of replicas and what client and server share.
 */
#include "engine/engine.h"

#include "base/xalloc.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* The record indexes the replica's queries read by (store_index_records): a server the one its pull
 * cursor orders by, a device pushing what it wrote since a watermark the writer's clock; a device
 * that pushes from its outbox none. */
static void index_records(store *st, const engine_config *cfg)
{
    const profile *p = cfg->profile;
    if (cfg->index == NODE_SERVER) {
        store_index_records(st, p->cursor == CURSOR_SEQ           ? STORE_RECORDS_BY_SEQ
                                : p->cursor == CURSOR_SERVER_TIME ? STORE_RECORDS_BY_SERVER_TIME
                                                                  : STORE_RECORDS_BY_LOCAL_TIME);
    } else if (p->changes == CHANGES_WATERMARK) {
        store_index_records(st, STORE_RECORDS_BY_LOCAL_TIME);
    }
}

node *engine_node_new(const engine_config *cfg, char **error)
{
    assert(cfg->profile && cfg->host.send && cfg->host.set_timer && cfg->host.observe);
    store *st = cfg->store_faultable ? store_open_faultable(cfg->store_path, cfg->store_keep, error)
                                     : store_open(cfg->store_path, cfg->store_keep, error);
    if (!st)
        return NULL;
    index_records(st, cfg);
    if (cfg->store_path)
        store_keep_lock(st);   /* a replica's store file is its own */
    /* A device that flushes in batches keeps a durable copy beside its store: a file next to a file
     * store (it must outlive the process), else in memory. Under flush: commit there is none. */
    if (cfg->index != NODE_SERVER && cfg->profile->flush_every_us > 0) {
        char *path = NULL;
        if (cfg->store_path) {
            size_t n = strlen(cfg->store_path) + sizeof "-durable";
            path = xmalloc(n);
            snprintf(path, n, "%s-durable", cfg->store_path);
        }
        bool ok = store_durable_open(st, path, error);
        xfree(path);
        if (!ok) {
            store_close(st);
            return NULL;
        }
    }
    return cfg->index == NODE_SERVER ? server_new(cfg, st) : client_new(cfg, st);
}

void engine_observe_record(const engine_config *cfg, const record *r, arena *scratch)
{
    observation obs;
    record_observation(r, &obs, scratch);
    cfg->host.observe(cfg->host.ctx, cfg->index, &obs);
}

typedef struct snapshot_ctx {
    cJSON *records;
    cJSON *kept;
} snapshot_ctx;

static void snapshot_record(void *ctx, const record *r)
{
    snapshot_ctx *sc = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", r->type);
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "tenant", r->tenant ? r->tenant : "");
    cJSON_AddBoolToObject(o, "deleted", r->deleted);
    cJSON_AddNumberToObject(o, "version", (double)r->version);
    cJSON_AddNumberToObject(o, "w", (double)r->st.w);
    cJSON_AddNumberToObject(o, "del_w", (double)r->del.w);
    cJSON *fields = cJSON_AddObjectToObject(o, "fields");
    for (int i = 0; i < r->n_fields; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddItemToObject(f, "v", value_to_json(&r->fields[i].v));
        cJSON_AddNumberToObject(f, "w", (double)r->fields[i].st.w);
        cJSON_AddItemToObject(fields, r->fields[i].name, f);
    }
    if (r->n_events) {
        cJSON *events = cJSON_AddArrayToObject(o, "events");
        for (int i = 0; i < r->n_events; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "w", (double)r->events[i].w);
            cJSON_AddItemToArray(events, e);
        }
    }
    cJSON_AddItemToArray(sc->records, o);
}

static void snapshot_kept(void *ctx, const char *type, const char *id, write_id w)
{
    snapshot_ctx *sc = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddNumberToObject(o, "w", (double)w);
    cJSON_AddItemToArray(sc->kept, o);
}

cJSON *engine_snapshot(store *st, arena *scratch)
{
    cJSON *snap = cJSON_CreateObject();
    snapshot_ctx sc = {
        .records = cJSON_AddArrayToObject(snap, "records"),
        .kept = cJSON_AddArrayToObject(snap, "kept"),
    };
    arena_reset(scratch);
    store_records_each(st, scratch, snapshot_record, &sc);
    store_kept_each(st, snapshot_kept, &sc);
    arena_reset(scratch);
    return snap;
}

/* --- holding observations until their transaction commits -------------------- */

static void hold_send(void *ctx, int from, int to, message *msg)
{
    engine_hold *h = ctx;
    h->host.send(h->host.ctx, from, to, msg);
}

static void hold_set_timer(void *ctx, int node, int64_t delay_us, uint64_t token)
{
    engine_hold *h = ctx;
    h->host.set_timer(h->host.ctx, node, delay_us, token);
}

static int64_t hold_mono_now(void *ctx, int node)
{
    engine_hold *h = ctx;
    return h->host.mono_now(h->host.ctx, node);
}

static void hold_fail(void *ctx, int node, const char *message)
{
    engine_hold *h = ctx;
    h->host.fail(h->host.ctx, node, message);
}

static const char *hold_str(engine_hold *h, const char *s)
{
    return s ? arena_strdup(&h->a, s) : NULL;
}

static void hold_observe(void *ctx, int node, const observation *obs)
{
    engine_hold *h = ctx;
    if (!h->holding) {
        h->host.observe(h->host.ctx, node, obs);
        return;
    }
    /* The engine's observations point into its scratch space and stack: copy them whole. */
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->held = xrealloc(h->held, (size_t)h->cap * sizeof *h->held);
    }
    observation *o = &h->held[h->n++];
    *o = *obs;
    o->type = hold_str(h, obs->type);
    o->id = hold_str(h, obs->id);
    o->detail = hold_str(h, obs->detail);
    if (obs->n_writes) {
        write_id *writes = arena_alloc(&h->a, (size_t)obs->n_writes * sizeof *writes);
        memcpy(writes, obs->writes, (size_t)obs->n_writes * sizeof *writes);
        o->writes = writes;
    }
    if (obs->rec) {
        record *r = arena_alloc(&h->a, sizeof *r);
        record_copy(r, obs->rec, &h->a);
        o->rec = r;
    }
    (void)node;
}

void engine_hold_init(engine_hold *h, engine_config *cfg)
{
    memset(h, 0, sizeof *h);
    if (!cfg->store_faultable)
        return;
    h->active = true;
    h->host = cfg->host;
    arena_init(&h->a, 16 * 1024);
    cfg->host = (node_host){ .ctx = h, .send = hold_send, .set_timer = hold_set_timer, .observe = hold_observe,
                             .mono_now = cfg->host.mono_now ? hold_mono_now : NULL,
                             .fail = cfg->host.fail ? hold_fail : NULL };
}

void engine_hold_begin(engine_hold *h)
{
    assert(!h->holding);
    h->holding = h->active;
}

void engine_hold_end(engine_hold *h, bool committed, int node)
{
    h->holding = false;
    for (int i = 0; committed && i < h->n; i++)
        h->host.observe(h->host.ctx, node, &h->held[i]);
    h->n = 0;
    if (h->active)
        arena_reset(&h->a);
}

void engine_hold_release(engine_hold *h)
{
    if (!h->active)
        return;
    xfree(h->held);
    arena_release(&h->a);
}

bool engine_storage_fault(store *st, const storage_fault *fault)
{
    if (!store_is_faultable(st))
        return false;
    switch (fault->kind) {
    case STORAGE_DISK_FULL: store_fault_disk_full(st, true); break;
    case STORAGE_DISK_FREED: store_fault_disk_full(st, false); break;
    case STORAGE_IO_ERROR: store_fault_io_errors(st, fault->writes); break;
    case STORAGE_HEALED:
        store_fault_disk_full(st, false);
        store_fault_io_errors(st, 0);
        break;
    }
    return true;
}
