/*
 * message: a JSON tree, or native structs that write one (message.h).
 */
#include "engine/message.h"
#include "base/xalloc.h"

#include <assert.h>

static message *message_new(const message_kind *kind, void *body, cJSON *json)
{
    message *m = xmalloc(sizeof *m);
    *m = (message){ .refs = 1, .kind = kind, .body = body, .json = json };
    return m;
}

message *message_of_json(cJSON *json)
{
    assert(json);
    return message_new(NULL, NULL, json);
}

message *message_native(const message_kind *kind, void *body)
{
    assert(kind && kind->write && kind->free_body && body);
    return message_new(kind, body, NULL);
}

const cJSON *message_json(message *m)
{
    if (!m->json) {
        json_out o;
        json_out_tree(&o);
        m->kind->write(m->body, &o);
        m->json = json_out_take(&o);
    }
    return m->json;
}

uint64_t message_hash(const message *m, uint64_t *bytes)
{
    json_out o;
    json_out_hash(&o, 0);
    if (m->kind)
        m->kind->write(m->body, &o);
    else
        jo_tree(&o, m->json);
    return json_out_result(&o, bytes);
}

message *message_ref(message *m)
{
    assert(m->refs > 0);
    m->refs++;
    return m;
}

void message_release(message *m)
{
    if (!m)
        return;
    assert(m->refs > 0);
    if (--m->refs > 0)
        return;
    if (m->kind)
        m->kind->free_body(m->body);
    cJSON_Delete(m->json);
    xfree(m);
}
