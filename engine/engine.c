/*
 * engine: construction of replicas and what client and server share.
 */
#include "engine/engine.h"

#include "base/xalloc.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

node *engine_node_new(const engine_config *cfg, char **error)
{
    assert(cfg->profile && cfg->host.send && cfg->host.set_timer && cfg->host.observe);
    store *st = store_open(cfg->store_path, cfg->store_keep, error);
    if (!st)
        return NULL;
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
