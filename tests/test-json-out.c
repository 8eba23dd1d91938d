/*
 * test-json-out: base/json_out's two sinks agree with each other and with the text.
 *
 * One value, written event by event, is built as a tree and hashed without one: the tree's compact
 * text (json_write) is what was written, its length is the hash sink's byte count, and hashing the
 * tree (jo_tree, which the trace hash of a JSON message is) gives the hash sink's hash. Commas,
 * keys with characters to escape, empty containers, nesting and every scalar kind are in it.
 */
#include "base/buf.h"
#include "base/json.h"
#include "base/json_out.h"
#include "tests/testlib.h"

#include <string.h>

static void write_value(json_out *o)
{
    jo_object(o);
    jo_key_literal(o, "type");
    jo_string(o, "push");
    jo_key(o, "quote\"tab\tnl\nctl\x01");
    jo_string(o, "back\\slash \"é\" \x1f");
    jo_key_literal(o, "empty");
    jo_object(o);
    jo_end(o);
    jo_key_literal(o, "list");
    jo_array(o);
    jo_number(o, 0);
    jo_number(o, -1735689600000123.0);
    jo_number(o, 62.5);
    jo_number(o, 1e300);
    jo_bool(o, true);
    jo_bool(o, false);
    jo_null(o);
    jo_array(o);
    jo_end(o);
    jo_array(o);
    jo_object(o);
    jo_key(o, "");
    jo_string(o, "");
    jo_end(o);
    jo_end(o);
    jo_end(o);
    jo_key_literal(o, "last");
    jo_number(o, 9007199254740991.0);
    jo_end(o);
}

static const char EXPECTED[] =
    "{\"type\":\"push\",\"quote\\\"tab\\tnl\\nctl\\u0001\":\"back\\\\slash \\\"é\\\" \\u001f\",\"empty\":{},"
    "\"list\":[0,-1735689600000123,62.5,1e+300,true,false,null,[],[{\"\":\"\"}]],\"last\":9007199254740991}";

int main(void)
{
    json_out tree_out, hash_out;
    json_out_tree(&tree_out);
    write_value(&tree_out);
    cJSON *tree = json_out_take(&tree_out);
    json_out_hash(&hash_out, 0);
    write_value(&hash_out);
    uint64_t bytes = 0;
    uint64_t hash = json_out_result(&hash_out, &bytes);

    buf text;
    buf_init(&text);
    json_write(&text, tree);
    EXPECT_STR(text.data, EXPECTED);
    EXPECT_U64(bytes, text.len);

    /* The tree hashed as the trace hashes a JSON message: the same stream. */
    json_out again;
    json_out_hash(&again, 0);
    jo_tree(&again, tree);
    uint64_t tree_bytes = 0;
    EXPECT_U64(json_out_result(&again, &tree_bytes), hash);
    EXPECT_U64(tree_bytes, bytes);

    /* The chain: another starting hash gives another hash; one member more does too. */
    json_out seeded;
    json_out_hash(&seeded, 1);
    write_value(&seeded);
    EXPECT(json_out_result(&seeded, NULL) != hash);
    json_out shorter;
    json_out_hash(&shorter, 0);
    jo_tree(&shorter, cJSON_GetObjectItemCaseSensitive(tree, "list"));
    EXPECT(json_out_result(&shorter, NULL) != hash);

    buf_free(&text);
    cJSON_Delete(tree);
    return test_exit("test-json-out");
}
