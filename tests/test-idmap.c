/*
 * test-idmap: the world's translation between scenario (logical) ids and the
 * ids replicas use under the profile's ids: server (sim/idmap.c): bindings
 * made by creates, the first server id naming a record, a second server id
 * for the same create making a record of its own, a device's rename moving
 * its later writes there, two devices creating one id making two records,
 * and snapshots rewritten in logical ids (reference fields and kept entries
 * included; a copy left under its temporary id beside the server's is one
 * more record).
 */
#include "base/xalloc.h"
#include "sim/idmap.h"
#include "tests/testlib.h"

#include <string.h>

#define SERVER 0
#define PHONE 1
#define TABLET 2

typedef struct op_ids {
    const char *logical;
    const char *told;
} op_ids;

static op_ids op_on(idmap *m, int node, op_kind kind, const char *type, const char *id)
{
    op_ids out;
    idmap_user_op(m, node, node == PHONE ? "phone" : "tablet", kind, type, id, &out.logical, &out.told);
    return out;
}

static void creates_bind_and_server_ids_name(void)
{
    idmap m;
    idmap_init(&m);
    op_ids o = op_on(&m, PHONE, OP_CREATE, "appointment", "a1");
    EXPECT_STR(o.logical, "a1");
    EXPECT_STR(o.told, "a1");
    /* Before the server has named it, another device can only name it as the scenario does. */
    o = op_on(&m, TABLET, OP_UPDATE, "appointment", "a1");
    EXPECT_STR(o.told, "a1");

    idmap_assigned(&m, PHONE, "appointment", "a1", "1");
    EXPECT_STR(idmap_logical(&m, SERVER, "appointment", "1"), "a1");
    EXPECT_STR(idmap_logical(&m, TABLET, "appointment", "1"), "a1");
    EXPECT_STR(idmap_logical(&m, PHONE, "appointment", "a1"), "a1");   /* its temporary copy */
    /* Ids are per type: client 1 is another record. */
    EXPECT_STR(idmap_logical(&m, SERVER, "client", "1"), "1");
    o = op_on(&m, TABLET, OP_UPDATE, "appointment", "a1");
    EXPECT_STR(o.logical, "a1");
    EXPECT_STR(o.told, "1");
    o = op_on(&m, PHONE, OP_UPDATE, "appointment", "a1");
    EXPECT_STR(o.told, "a1");   /* the phone maps its own temporary id */
    EXPECT_STR(idmap_node_id(&m, TABLET, "appointment", "a1"), "1");
    EXPECT_STR(idmap_node_id(&m, PHONE, "appointment", "a1"), "a1");

    /* The answer was lost and the create retried: the server named it again. */
    idmap_assigned(&m, PHONE, "appointment", "a1", "2");
    EXPECT_STR(idmap_logical(&m, SERVER, "appointment", "2"), "a1@2");
    EXPECT_STR(idmap_logical(&m, SERVER, "appointment", "1"), "a1");
    EXPECT_STR(idmap_node_id(&m, TABLET, "appointment", "a1@2"), "2");
    /* The same assignment reported twice changes nothing. */
    idmap_assigned(&m, PHONE, "appointment", "a1", "2");
    EXPECT_STR(idmap_logical(&m, SERVER, "appointment", "2"), "a1@2");

    /* The phone took the second answer: its writes to "a1" land on record 2 from now on. */
    idmap_mapped(&m, PHONE, "appointment", "a1", "2");
    o = op_on(&m, PHONE, OP_UPDATE, "appointment", "a1");
    EXPECT_STR(o.logical, "a1@2");
    EXPECT_STR(o.told, "a1");
    /* Others still reach the first. */
    o = op_on(&m, TABLET, OP_UPDATE, "appointment", "a1");
    EXPECT_STR(o.logical, "a1");
    EXPECT_STR(o.told, "1");
    idmap_free(&m);
}

static void two_creators_make_two_records(void)
{
    idmap m;
    idmap_init(&m);
    op_ids phone = op_on(&m, PHONE, OP_CREATE, "client", "c1");
    op_ids tablet = op_on(&m, TABLET, OP_CREATE, "client", "c1");
    EXPECT_STR(phone.logical, "c1");
    EXPECT_STR(tablet.logical, "c1@tablet");
    EXPECT_STR(tablet.told, "c1");
    idmap_assigned(&m, TABLET, "client", "c1", "7");
    idmap_assigned(&m, PHONE, "client", "c1", "8");
    EXPECT_STR(idmap_logical(&m, SERVER, "client", "7"), "c1@tablet");
    EXPECT_STR(idmap_logical(&m, SERVER, "client", "8"), "c1");
    /* Each device keeps writing to its own. */
    EXPECT_STR(op_on(&m, TABLET, OP_UPDATE, "client", "c1").logical, "c1@tablet");
    EXPECT_STR(op_on(&m, PHONE, OP_UPDATE, "client", "c1").logical, "c1");
    /* A create of a record the server has named re-creates it in place. */
    op_ids again = op_on(&m, 3, OP_CREATE, "client", "c1");
    EXPECT_STR(again.logical, "c1");
    EXPECT_STR(again.told, "8");
    idmap_free(&m);
}

static void snapshots_read_in_logical_ids(void)
{
    idmap m;
    idmap_init(&m);
    profile p;
    profile_defaults(&p);
    p.ids = IDS_SERVER;
    entity_rules *pet = &p.entities[p.n_entities++];
    *pet = p.fallback;
    pet->type = "pet";
    pet->n_refs = 1;
    pet->refs[0] = (ref_field){ .field = "clientId", .type = "client" };

    (void)op_on(&m, PHONE, OP_CREATE, "client", "c1");
    (void)op_on(&m, PHONE, OP_CREATE, "pet", "p1");
    (void)op_on(&m, PHONE, OP_CREATE, "pet", "p2");
    idmap_assigned(&m, PHONE, "client", "c1", "1");
    idmap_assigned(&m, PHONE, "pet", "p1", "2");
    /* The phone holds client 1 (pulled, its answer lost), its own copy still as c1, pet 2 naming
     * its owner by server id, pet p2 (never sent) naming it by the temporary id, and a kept entry. */
    const char *text =
        "{\"records\":["
        "{\"type\":\"client\",\"id\":\"1\",\"deleted\":false,\"fields\":{}},"
        "{\"type\":\"client\",\"id\":\"c1\",\"deleted\":false,\"fields\":{}},"
        "{\"type\":\"pet\",\"id\":\"2\",\"deleted\":false,\"fields\":{\"clientId\":{\"v\":\"1\",\"w\":1}}},"
        "{\"type\":\"pet\",\"id\":\"p2\",\"deleted\":false,\"fields\":{\"clientId\":{\"v\":\"c1\",\"w\":2}}}],"
        "\"kept\":[{\"type\":\"pet\",\"id\":\"2\",\"w\":1}]}";
    cJSON *snap = cJSON_Parse(text);
    idmap_snapshot(&m, PHONE, &p, snap);
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(snap, "records");
    EXPECT_STR(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(recs, 0), "id")->valuestring, "c1");
    EXPECT_STR(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(recs, 1), "id")->valuestring, "c1@temp");
    const cJSON *pet2 = cJSON_GetArrayItem(recs, 2);
    EXPECT_STR(cJSON_GetObjectItemCaseSensitive(pet2, "id")->valuestring, "p1");
    const cJSON *owner = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pet2, "fields"), "clientId");
    EXPECT_STR(cJSON_GetObjectItemCaseSensitive(owner, "v")->valuestring, "c1");
    const cJSON *unsent = cJSON_GetArrayItem(recs, 3);
    EXPECT_STR(cJSON_GetObjectItemCaseSensitive(unsent, "id")->valuestring, "p2");
    owner = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(unsent, "fields"), "clientId");
    EXPECT_STR(cJSON_GetObjectItemCaseSensitive(owner, "v")->valuestring, "c1");
    const cJSON *kept = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(snap, "kept"), 0);
    EXPECT_STR(cJSON_GetObjectItemCaseSensitive(kept, "id")->valuestring, "p1");
    cJSON_Delete(snap);
    idmap_free(&m);
}

int main(void)
{
    xalloc_install_cjson();
    creates_bind_and_server_ids_name();
    two_creators_make_two_records();
    snapshots_read_in_logical_ids();
    return test_exit("idmap");
}
