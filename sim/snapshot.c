/*
 * snapshot: parsing and lookup. Records are re-sorted by key here rather
 * than trusting the replica's order.
 */
#include "sim/snapshot.h"
#include "base/json.h"

#include <stdlib.h>
#include <string.h>

static int compare_records(const void *a, const void *b)
{
    return strcmp(((const snap_record *)a)->key, ((const snap_record *)b)->key);
}

static int compare_fields(const void *a, const void *b)
{
    return strcmp(((const snap_field *)a)->name, ((const snap_field *)b)->name);
}

static bool get_write(const cJSON *o, const char *key, write_id *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j) {
        *out = WRITE_NONE;
        return true;
    }
    int64_t w;
    if (!json_number_int(j, 0, JSON_INT_LIMIT - 1, &w))   /* a cast of a number beyond int64 is undefined */
        return false;
    *out = (write_id)w;
    return true;
}

bool snapshot_parse(const cJSON *j, arena *a, snapshot *out, const char **why)
{
    memset(out, 0, sizeof *out);
    strmap_init(&out->index);
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(j, "records");
    const cJSON *kept = cJSON_GetObjectItemCaseSensitive(j, "kept");
    if (!cJSON_IsArray(records) || (kept && !cJSON_IsArray(kept))) {
        *why = "snapshot needs a records array (and kept, when present, must be an array)";
        return false;
    }
    int n = cJSON_GetArraySize(records);
    out->records = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *out->records);
    const cJSON *r;
    cJSON_ArrayForEach(r, records)
    {
        snap_record *sr = &out->records[out->n_records++];
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        const cJSON *deleted = cJSON_GetObjectItemCaseSensitive(r, "deleted");
        const cJSON *fields = cJSON_GetObjectItemCaseSensitive(r, "fields");
        if (!cJSON_IsString(type) || !cJSON_IsString(id) || !cJSON_IsBool(deleted) || !cJSON_IsObject(fields) ||
            !get_write(r, "w", &sr->w) || !get_write(r, "del_w", &sr->del_w)) {
            *why = "snapshot record needs type, id, deleted and fields";
            return false;
        }
        sr->type = arena_strdup(a, type->valuestring);
        sr->id = arena_strdup(a, id->valuestring);
        const cJSON *tenant = cJSON_GetObjectItemCaseSensitive(r, "tenant");
        if (tenant && !cJSON_IsString(tenant)) {
            *why = "snapshot record tenant must be a string";
            return false;
        }
        sr->tenant = arena_strdup(a, tenant ? tenant->valuestring : "");
        const cJSON *events = cJSON_GetObjectItemCaseSensitive(r, "events");
        if (events && !cJSON_IsArray(events)) {
            *why = "snapshot record events must be an array";
            return false;
        }
        int ne = events ? cJSON_GetArraySize(events) : 0;
        sr->events = arena_alloc(a, (size_t)(ne ? ne : 1) * sizeof *sr->events);
        const cJSON *e;
        if (events) {
            cJSON_ArrayForEach(e, events)
            {
                if (!get_write(e, "w", &sr->events[sr->n_events]) || sr->events[sr->n_events] == WRITE_NONE) {
                    *why = "snapshot event needs a write w";
                    return false;
                }
                sr->n_events++;
            }
        }
        sr->key = arena_printf(a, "%s/%s", sr->type, sr->id);
        sr->deleted = cJSON_IsTrue(deleted);
        int nf = cJSON_GetArraySize(fields);
        sr->fields = arena_alloc(a, (size_t)(nf ? nf : 1) * sizeof *sr->fields);
        const cJSON *f;
        cJSON_ArrayForEach(f, fields)
        {
            snap_field *sf = &sr->fields[sr->n_fields++];
            sf->name = arena_strdup(a, f->string);
            if (!cJSON_IsObject(f) || !value_from_json(cJSON_GetObjectItemCaseSensitive(f, "v"), a, &sf->v) ||
                !get_write(f, "w", &sf->w)) {
                *why = "snapshot field needs a scalar v and a write w";
                return false;
            }
        }
        qsort(sr->fields, (size_t)sr->n_fields, sizeof *sr->fields, compare_fields);
    }
    qsort(out->records, (size_t)out->n_records, sizeof *out->records, compare_records);
    for (int i = 0; i < out->n_records; i++) {
        if (strmap_get(&out->index, out->records[i].key) >= 0) {
            *why = "snapshot lists a record twice";
            return false;
        }
        strmap_put(&out->index, out->records[i].key, i);
    }
    int nk = kept ? cJSON_GetArraySize(kept) : 0;
    out->kept = arena_alloc(a, (size_t)(nk ? nk : 1) * sizeof *out->kept);
    const cJSON *k;
    if (kept) {
        cJSON_ArrayForEach(k, kept)
        {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(k, "type");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(k, "id");
            snap_kept *sk = &out->kept[out->n_kept++];
            if (!cJSON_IsString(type) || !cJSON_IsString(id) || !get_write(k, "w", &sk->w)) {
                *why = "snapshot kept entry needs type, id and w";
                return false;
            }
            sk->key = arena_printf(a, "%s/%s", type->valuestring, id->valuestring);
        }
    }
    return true;
}

void snapshot_free(snapshot *s)
{
    strmap_free(&s->index);
}

const snap_record *snapshot_find(const snapshot *s, const char *key)
{
    int i = strmap_get(&s->index, key);
    return i >= 0 ? &s->records[i] : NULL;
}

const snap_field *snap_record_field(const snap_record *r, const char *name)
{
    int lo = 0, hi = r->n_fields - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(r->fields[mid].name, name);
        if (c == 0)
            return &r->fields[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

bool snapshot_keeps(const snapshot *s, const char *key, write_id w)
{
    for (int i = 0; i < s->n_kept; i++)
        if (s->kept[i].w == w && strcmp(s->kept[i].key, key) == 0)
            return true;
    return false;
}
